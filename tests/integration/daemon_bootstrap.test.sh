#!/usr/bin/env bash
# Bootstrap peers (better than the reference, which dials once): the daemon dials its
# bootstrap peer at start, and when that peer goes away and comes back on the same address
# with the same identity, the daemon reconnects by itself (backoff redial).
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

port=$((20000 + RANDOM % 20000))
mkdir -p "$T_TMP/b" "$T_TMP/a"
start_b() {
	spawn "$T_TMP/b.out" "$T_TMP/b.err" env HOME="$T_TMP/b" AGENTANYCAST_ENABLE_MDNS=false \
		"$DAEMON" --log-level=debug --listen-addrs="/ip4/127.0.0.1/tcp/$port"
	b=$SPAWNED
	wait_for 10 grep -qs '^LISTEN_ADDR=' "$T_TMP/b.out"
}
start_b
b_ma=$(grep -m1 '^LISTEN_ADDR=' "$T_TMP/b.out" | cut -d= -f2)
check "b listens on the fixed port" test -n "$b_ma"
b_dns=/dns4/localhost/tcp/$port/p2p/${b_ma##*/p2p/}

spawn "$T_TMP/a.out" "$T_TMP/a.err" env HOME="$T_TMP/a" AGENTANYCAST_ENABLE_MDNS=false \
	"$DAEMON" --log-level=debug --listen-addrs=/ip4/127.0.0.1/tcp/0 --bootstrap-peers="$b_dns"
a=$SPAWNED
check "a connects to its bootstrap peer given as /dns4/localhost" \
	wait_for 10 eval '[[ $(grep -c "bootstrap peer connected" "$T_TMP/a.err") == 1 ]]'

kill -TERM "$b"; wait_exit "$b" 10
check "a notices the bootstrap peer left" wait_for 10 grep -qs 'bootstrap peer disconnected' "$T_TMP/a.err"
sleep 1
start_b
check "a reconnects by itself once the peer is back" \
	wait_for 20 eval '[[ $(grep -c "bootstrap peer connected" "$T_TMP/a.err") -ge 2 ]]'

kill -TERM "$a" "$b"
wait_exit "$a" 10; check "a exits 0" test "$EXIT_STATUS" = 0
wait_exit "$b" 10; check "b exits 0" test "$EXIT_STATUS" = 0
t_summary
