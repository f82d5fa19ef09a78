#!/usr/bin/env bash
# Our libp2p core (TCP + multistream-select + Noise + yamux + ping) against js-libp2p 3.x,
# both directions: js dials us and we dial js; ping; an echo protocol carrying 64 MiB
# byte-exact on one stream and 2 MiB on each of 32 concurrent streams.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
P2P=$AA_BUILD_DIR/aa-p2p
JS=$AA_SOURCE_DIR/tests/interop/p2p_js.mjs
[[ -x $NODE ]] || { not_ok "Node 24 missing: run scripts/install-deps"; t_summary; exit 1; }

# js dials agentanycastd's stack.
spawn "$T_TMP/c.out" "$T_TMP/c.err" "$P2P" --listen /ip4/127.0.0.1/tcp/0 --serve --seconds 300
c_pid=$SPAWNED
wait_for 10 grep -q '^LISTEN_ADDR=' "$T_TMP/c.out"
c_ma=$(grep -m1 '^LISTEN_ADDR=' "$T_TMP/c.out" | cut -d= -f2)
out=$(timeout 120 "$NODE" "$JS" dial "$c_ma" 3 67108864 1 2>&1); st=$?
check "js dials us: connects, pings 3 times" eval '[[ $st == 0 && $(grep -c "^ping rtt_ms=" <<<"$out") == 3 ]]'
check "js dials us: echo 64 MiB byte-exact on one stream" grep -q 'echo ok streams=1 bytes=67108864' <<<"$out"
[[ $st == 0 ]] || echo "$out" | tail -20 >&2
out=$(timeout 120 "$NODE" "$JS" dial "$c_ma" 0 2097152 32 2>&1); st=$?
check "js dials us: echo on 32 concurrent streams" eval '[[ $st == 0 && $out == *"echo ok streams=32"* ]]'
kill -TERM "$c_pid"; wait_exit "$c_pid" 10

# agentanycastd's stack dials js.
spawn "$T_TMP/js.out" "$T_TMP/js.err" "$NODE" "$JS" listen
js_pid=$SPAWNED
wait_for 20 grep -q '^LISTEN_ADDR=' "$T_TMP/js.out"
js_ma=$(grep -m1 '^LISTEN_ADDR=' "$T_TMP/js.out" | cut -d= -f2)
out=$(timeout 60 "$P2P" --dial "$js_ma" --ping 3 --echo-bytes 67108864 --streams 1 2>&1); st=$?
check "we dial js: connects, pings 3 times" eval '[[ $(grep -c "^ping rtt_us=" <<<"$out") == 3 ]]'
check "we dial js: echo 64 MiB byte-exact on one stream" eval '[[ $st == 0 && $out == *"echo ok streams=1 bytes=67108864"* ]]'
out=$(timeout 60 "$P2P" --dial "$js_ma" --echo-bytes 2097152 --streams 32 2>&1); st=$?
check "we dial js: echo on 32 concurrent streams" eval '[[ $st == 0 && $out == *"echo ok streams=32"* ]]'
wrong=${js_ma%/p2p/*}/p2p/12D3KooWLcHoHPLNoGfa1E31mMQAFBYmkQRfusqSpPABNCeSB4SU
out=$(timeout 30 "$P2P" --dial "$wrong" --ping 1 2>&1); st=$?
check "we dial js with a wrong expected PeerID: handshake refused" eval '[[ $st != 0 && $out == *"dial failed"* ]]'
kill -TERM "$js_pid"; wait_exit "$js_pid" 10
t_summary
