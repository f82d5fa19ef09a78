#!/usr/bin/env bash
# Our libp2p stack against itself on loopback (TCP + Noise + yamux + multistream-select):
# connect, ping, an echo protocol carrying 64 MiB byte-exact on one stream and 2 MiB on each
# of 32 concurrent streams, a wrong expected PeerID, and garbage on the listener.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
P2P=$AA_BUILD_DIR/aa-p2p

spawn "$T_TMP/srv.out" "$T_TMP/srv.err" "$P2P" --listen /ip4/127.0.0.1/tcp/0 --listen /ip6/::1/tcp/0 --serve --seconds 120
srv=$SPAWNED
wait_for 10 grep -q '^LISTEN_ADDR=/ip4/' "$T_TMP/srv.out"
ma4=$(grep -m1 '^LISTEN_ADDR=/ip4/' "$T_TMP/srv.out" | cut -d= -f2)
ma6=$(grep -m1 '^LISTEN_ADDR=/ip6/' "$T_TMP/srv.out" | cut -d= -f2)

out=$(timeout 30 "$P2P" --dial "$ma4" --ping 3 2>&1); st=$?
check "dial over IPv4 and ping 3 times" eval '[[ $st == 0 && $(grep -c "^ping rtt_us=" <<<"$out") == 3 ]]'

if [[ -n $ma6 ]]; then
	out=$(timeout 30 "$P2P" --dial "$ma6" --ping 1 2>&1); st=$?
	check "dial over IPv6 and ping" test "$st" = 0
fi

out=$(timeout 60 "$P2P" --dial "$ma4" --echo-bytes 67108864 --streams 1 2>&1); st=$?
check "echo 64 MiB byte-exact on one stream" eval '[[ $st == 0 && $out == *"echo ok streams=1 bytes=67108864"* ]]'

out=$(timeout 60 "$P2P" --dial "$ma4" --echo-bytes 2097152 --streams 32 2>&1); st=$?
check "echo 2 MiB on each of 32 concurrent streams" eval '[[ $st == 0 && $out == *"echo ok streams=32"* ]]'

# The right address with somebody else's PeerID: Noise must refuse the handshake.
other=12D3KooWLcHoHPLNoGfa1E31mMQAFBYmkQRfusqSpPABNCeSB4SU
wrong=${ma4%/p2p/*}/p2p/$other
out=$(timeout 30 "$P2P" --dial "$wrong" --ping 1 2>&1); st=$?
check "dialling with a wrong expected PeerID fails" eval '[[ $st != 0 && $out == *"dial failed"* ]]'

# Garbage and a stalled handshake do not disturb the listener.
port=${ma4#/ip4/127.0.0.1/tcp/}; port=${port%%/*}
head -c 4096 /dev/urandom >/dev/tcp/127.0.0.1/"$port" 2>/dev/null || true
exec 7<>/dev/tcp/127.0.0.1/"$port"   # connects and says nothing
out=$(timeout 30 "$P2P" --dial "$ma4" --ping 1 2>&1); st=$?
check "listener still serves after garbage and with a stalled peer" test "$st" = 0
exec 7>&-

kill -TERM "$srv"
wait_exit "$srv" 10
check "listener exits 0 on SIGTERM" test "$EXIT_STATUS" = 0
t_summary
