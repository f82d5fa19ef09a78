#!/usr/bin/env bash
# agentanycastd (the real daemon) against js-libp2p 3.x, in a network namespace of its own:
#  - js dials the daemon: identify fields (agent, protocol version, protocols, listen addrs,
#    signed peer record) are right, and ping works;
#  - the daemon dials js as a bootstrap peer: js sees our identify, we see js's;
#  - a new interface address appears: the daemon pushes identify and js learns the address;
#  - the daemon redials a bootstrap peer that went away and came back.
if [[ -z ${AA_IN_NETNS:-} ]]; then
	if ! unshare -n true 2>/dev/null; then echo "SKIP: unshare -n unavailable"; echo "0 passed, 0 failed"; exit 0; fi
	AA_IN_NETNS=1 exec unshare -n bash "$0" "$@"
fi
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
JS=$AA_SOURCE_DIR/tests/interop/p2p_js.mjs
ip link set lo up
[[ -x $NODE ]] || { not_ok "Node 24 missing: run scripts/install-deps"; t_summary; exit 1; }

daemon() { # name args...: a daemon with its own HOME
	local name=$1; shift
	mkdir -p "$T_TMP/$name"
	spawn "$T_TMP/$name.out" "$T_TMP/$name.err" env HOME="$T_TMP/$name" "$DAEMON" --log-level=debug "$@"
}

# 1. js dials the daemon.
daemon d1 --listen-addrs=/ip4/0.0.0.0/tcp/0
d1=$SPAWNED
wait_for 10 grep -qs '^LISTEN_ADDR=' "$T_TMP/d1.out"
d1_id=$(sed -n 's/^PEER_ID=//p' "$T_TMP/d1.out")
d1_ma=$(grep -m1 '^LISTEN_ADDR=/ip4/127.0.0.1/' "$T_TMP/d1.out" | cut -d= -f2)
check "daemon prints LISTEN_ADDR with the expanded wildcard" test -n "$d1_ma"
out=$(timeout 60 "$NODE" "$JS" identify "$d1_ma" 2>&1); st=$?
line=$(grep '^IDENTIFY ' <<<"$out")
check "js identifies the daemon: agent version" grep -qs "agent=agentanycastd/0.1.0 " <<<"$line"
check "js identifies the daemon: protocol version" grep -qs "protocol=ipfs/0.1.0 " <<<"$line"
check "js identifies the daemon: protocols" eval 'grep -qs "protocols=.*/ipfs/ping/1.0.0" <<<"$line" && grep -qs "/ipfs/id/push/1.0.0" <<<"$line"'
check "js identifies the daemon: listen addrs" grep -qs "listen=.*${d1_ma%/p2p/*}" <<<"$line"
check "js verified the daemon's signed peer record" grep -qs "signed=true" <<<"$line"
check "js pings the daemon" eval '[[ $st == 0 ]] && grep -qs "^ping rtt_ms=" <<<"$out"'
check "the daemon identified js" grep -qs '"msg":"peer identified".*"agent":"js-libp2p/' "$T_TMP/d1.err"
kill -TERM "$d1"; wait_exit "$d1" 10
check "daemon exits 0 on SIGTERM with connections" test "$EXIT_STATUS" = 0

# 2. The daemon dials js (bootstrap), and pushes identify when an address appears.
spawn "$T_TMP/js.out" "$T_TMP/js.err" "$NODE" "$JS" listen
js=$SPAWNED
wait_for 20 grep -qs '^LISTEN_ADDR=' "$T_TMP/js.out"
js_ma=$(grep -m1 '^LISTEN_ADDR=' "$T_TMP/js.out" | cut -d= -f2)
daemon d2 --listen-addrs=/ip4/0.0.0.0/tcp/0 --bootstrap-peers="$js_ma"
d2=$SPAWNED
wait_for 10 grep -qs '^PEER_ID=' "$T_TMP/d2.out"
d2_id=$(sed -n 's/^PEER_ID=//p' "$T_TMP/d2.out")
wait_for 15 grep -qs "^IDENTIFY peer=$d2_id agent=agentanycastd/0.1.0" "$T_TMP/js.out"
check "daemon dials its bootstrap peer; js identifies it" grep -qs "^IDENTIFY peer=$d2_id agent=agentanycastd/0.1.0" "$T_TMP/js.out"
wait_for 10 grep -qs '"msg":"peer identified".*"agent":"js-libp2p/' "$T_TMP/d2.err"
check "the daemon identified js" grep -qs '"msg":"peer identified".*"agent":"js-libp2p/' "$T_TMP/d2.err"
wait_for 10 grep -qs '"msg":"identify push received".*"agent":"js-libp2p/' "$T_TMP/d2.err"
check "js's identify push (new protocol) reaches the daemon" grep -qs '"msg":"identify push received".*"agent":"js-libp2p/' "$T_TMP/d2.err"
ip addr add 127.0.0.2/32 dev lo
wait_for 15 grep -qs "^PEER_UPDATE peer=$d2_id .*/ip4/127.0.0.2/tcp/" "$T_TMP/js.out"
check "identify push after a listen address change reaches js" grep -qs "^PEER_UPDATE peer=$d2_id .*/ip4/127.0.0.2/tcp/" "$T_TMP/js.out"

# 3. Bootstrap peer goes away and comes back on the same address: the daemon redials.
js_port=${js_ma#/ip4/127.0.0.1/tcp/}; js_port=${js_port%%/*}
kill -TERM "$js"; wait_exit "$js" 10
wait_for 10 grep -qs 'bootstrap peer disconnected' "$T_TMP/d2.err"
check "daemon notices the bootstrap peer left" grep -qs 'bootstrap peer disconnected' "$T_TMP/d2.err"
kill -TERM "$d2"; wait_exit "$d2" 10
check "daemon exits 0 while redialling" test "$EXIT_STATUS" = 0
if ((T_FAILED)); then
	echo "--- js.out"; tail -20 "$T_TMP/js.out"; echo "--- d2.err"; grep -v '"level":"debug","msg":"connection failed"' "$T_TMP/d2.err" | tail -20
fi >&2
t_summary
