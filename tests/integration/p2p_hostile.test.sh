#!/usr/bin/env bash
# Hostile peers against our libp2p listener (aa-p2p --serve, default limits: 10 s handshake
# timeout, 128 pending handshakes). Each attack (tests/tools/aa-attack.c) must end with the
# server closing the offending connection in time, and a fresh `aa-p2p --dial … --ping 1`
# must succeed during and after the attacks:
#  (a) garbage instead of multistream-select;
#  (b) /noise agreed, then garbage, short, empty, corrupt, truncated and oversized handshake
#      messages;
#  (c) stalled handshakes (silent, partial, trickling, stuck before the muxer), closed by the
#      handshake timeout; they run in parallel in the background while (a), (b), (d) run;
#  (d) hostile yamux inside a completed Noise session (window violations, unknown type, bad
#      version, huge lengths, a SYN flood, truncation, a bad MAC);
#  (e) 2000 connections with partial handshakes, twice: at most 128 held, all closed by the
#      timeout, VmRSS bounded and reused; a legitimate dial succeeds afterwards.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
P2P=$AA_BUILD_DIR/aa-p2p
ATTACK=$AA_BUILD_DIR/aa-attack

spawn "$T_TMP/srv.out" "$T_TMP/srv.err" "$P2P" --listen /ip4/127.0.0.1/tcp/0 --serve --seconds 300
srv=$SPAWNED
wait_for 10 grep -q '^LISTEN_ADDR=/ip4/' "$T_TMP/srv.out"
ma=$(grep -m1 '^LISTEN_ADDR=/ip4/' "$T_TMP/srv.out" | cut -d= -f2)

ping_ok() { timeout 20 "$P2P" --dial "$ma" --ping 1 >/dev/null 2>&1; }
check "a fresh dial and ping succeed before any attack" ping_ok

# (c) first, in the background: the 10 s timeout dominates the run time.
stalls=(stall-connect stall-mss stall-prefix stall-partial stall-trickle stall-muxer)
stall_pids=()
for a in "${stalls[@]}"; do
	spawn "$T_TMP/$a.out" "$T_TMP/$a.err" "$ATTACK" --target "$ma" --attack "$a"
	stall_pids+=("$SPAWNED")
done
sleep 0.5
check "a fresh dial succeeds while ${#stalls[@]} stalled handshakes are held" ping_ok

# attack NAME [ARGS...]: one attack; the server must close that connection in time and keep
# serving others.
attack() {
	local a=$1 out st
	shift
	out=$(timeout 60 "$ATTACK" --target "$ma" --attack "$a" "$@" 2>&1); st=$?
	grep '^RESULT' <<<"$out" || echo "$out"
	check "$a: the server closes the offending connection" test "$st" = 0
	check "$a: a fresh dial still succeeds" ping_ok
}

# (a) not multistream-select
attack garbage-http
attack garbage-random
attack garbage-ff
attack mss-na-loop
# (b) /noise, then a broken handshake
attack noise-garbage
attack noise-short
attack noise-zero
attack noise-msg3-corrupt
attack noise-msg3-truncated
attack noise-oversize-eof
attack noise-oversize
attack noise-truncated-eof
# (d) hostile yamux after a completed handshake
attack yamux-window
attack yamux-window-single
attack yamux-type
attack yamux-version
attack yamux-bigframe
attack yamux-bigframe-unknown
attack yamux-synflood --syn-count 4096
attack yamux-truncated
attack yamux-badmac
attack noise-frame-truncated

# (c) the stalls end by the handshake timeout (80 %..100 % + 3 s after their connect).
for i in "${!stalls[@]}"; do
	wait_exit "${stall_pids[$i]}" 20
	grep '^RESULT' "$T_TMP/${stalls[$i]}.out"
	check "${stalls[$i]}: closed by the handshake timeout" test "$EXIT_STATUS" = 0
done
check "a fresh dial succeeds after the stalled handshakes" ping_ok

# (e) the flood. The bound: 128 pending handshakes × (64 KiB, the most a partial Noise
# message can make us buffer, + a few KiB of connection and Noise state) ≈ 9 MiB; refused
# connections are closed at accept and keep nothing. 32 MiB leaves room for allocator and
# libuv overhead. glibc keeps freed heap for reuse, so "back near baseline" is checked as:
# a second flood peaks within 4 MiB of the first (reused, not leaked) and VmRSS ends within
# 24 MiB of the baseline. Sanitizer builds (redzones, quarantine) skip the memory bounds.
rss_args=(--server-pid "$srv" --rss-bound-mib 32 --rss-growth-mib 4 --rss-after-mib 24)
if sanitized_build; then
	rss_args=()
	echo "note: sanitized build, VmRSS bounds not checked"
fi
spawn "$T_TMP/flood.out" "$T_TMP/flood.err" "$ATTACK" --target "$ma" --attack flood \
	--count 2000 --wave 250 --rounds 2 --max-pending 128 --partial-bytes 65000 "${rss_args[@]}"
flood=$SPAWNED
if wait_for 20 grep -q '^FLOOD_HOLDING round=1' "$T_TMP/flood.out"; then
	# All 128 handshake slots are taken: a legitimate dial is refused now (by design; the
	# limit is what keeps memory bounded). Reported, not checked.
	if ping_ok; then echo "note: a dial during the flood succeeded"
	else echo "note: a dial during the flood was refused (pending handshakes at the limit)"; fi
fi
wait_exit "$flood" 60
grep -E '^(FLOOD_|RESULT)' "$T_TMP/flood.out"
check "flood: at most 128 pending, all closed by the timeout, memory bounded and reused" \
	test "$EXIT_STATUS" = 0
check "a fresh dial succeeds after the flood" ping_ok

alive() { local st; st=$(proc_state "$srv"); [[ -n $st && $st != Z ]]; }
check "the server survived every attack" alive
kill -TERM "$srv"
wait_exit "$srv" 10
check "the server exits 0 on SIGTERM" test "$EXIT_STATUS" = 0
check "the server reported no sanitizer error" \
	eval '! grep -qE "AddressSanitizer|LeakSanitizer|runtime error" "$T_TMP/srv.err"'
t_summary
