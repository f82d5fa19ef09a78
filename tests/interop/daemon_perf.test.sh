#!/usr/bin/env bash
# `agentanycastd perf MULTIADDR` and the daemon's always-on /perf/1.0.0 server: against
# another daemon, against a js-libp2p perf server, and a js perf client against the daemon.
# Byte counts are checked, not speed (speed is `make bench`).
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
JS=$AA_SOURCE_DIR/tests/interop/perf_js.mjs
mkdir -p "$T_TMP/d"
spawn "$T_TMP/d.out" "$T_TMP/d.err" env HOME="$T_TMP/d" AGENTANYCAST_ENABLE_MDNS=false "$DAEMON" --listen-addrs=/ip4/127.0.0.1/tcp/0
d=$SPAWNED
wait_for 10 grep -qs '^LISTEN_ADDR=' "$T_TMP/d.out"
d_ma=$(grep -m1 '^LISTEN_ADDR=' "$T_TMP/d.out" | cut -d= -f2)

out=$(HOME="$T_TMP/d" timeout 60 "$DAEMON" perf --upload=8388608 --download=16777216 "$d_ma" 2>&1); st=$?
check "agentanycastd perf against a daemon moves the bytes asked for" \
	eval '[[ $st == 0 && $out == *"upload_bytes=8388608 "* && $out == *"download_bytes=16777216 "* ]]'

out=$(HOME="$T_TMP/d" timeout 30 "$DAEMON" perf 2>&1); st=$?
check "agentanycastd perf without a target is a usage error" test "$st" = 2

if [[ -x $NODE ]]; then
	spawn "$T_TMP/js.out" "$T_TMP/js.err" "$NODE" "$JS" listen
	js=$SPAWNED
	wait_for 20 grep -qs '^LISTEN_ADDR=' "$T_TMP/js.out"
	js_ma=$(grep -m1 '^LISTEN_ADDR=' "$T_TMP/js.out" | cut -d= -f2)
	out=$(HOME="$T_TMP/d" timeout 60 "$DAEMON" perf --upload=4194304 --download=8388608 "$js_ma" 2>&1); st=$?
	check "agentanycastd perf against a js-libp2p perf server" \
		eval '[[ $st == 0 && $out == *"upload_bytes=4194304 "* && $out == *"download_bytes=8388608 "* ]]'
	kill -TERM "$js"; wait_exit "$js" 10
	out=$(timeout 60 "$NODE" "$JS" client "$d_ma" 4194304 8388608 2>&1); st=$?
	check "a js-libp2p perf client against the daemon" \
		eval '[[ $st == 0 && $out == *"upload_bytes=4194304"* && $out == *"download_bytes=8388608"* ]]'
	[[ $st == 0 ]] || echo "$out" | tail -5 >&2
else
	not_ok "Node 24 missing: run scripts/install-deps"
fi
kill -TERM "$d"; wait_exit "$d" 10
check "daemon exits 0" test "$EXIT_STATUS" = 0
t_summary
