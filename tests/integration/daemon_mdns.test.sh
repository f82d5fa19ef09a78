#!/usr/bin/env bash
# Two agentanycastd with default settings in a private network namespace (multicast on lo)
# find each other by mDNS and connect with no configuration; with enable_mdns = false (or
# AGENTANYCAST_ENABLE_MDNS=false) a third stays silent.
if [[ -z ${AA_IN_NETNS:-} ]]; then
	if ! unshare -n true 2>/dev/null; then echo "SKIP: unshare -n unavailable"; echo "0 passed, 0 failed"; exit 0; fi
	AA_IN_NETNS=1 exec unshare -n bash "$0" "$@"
fi
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
ip link set lo up && ip link set lo multicast on
ip route add 224.0.0.0/4 dev lo 2>/dev/null || true

daemon() {
	local name=$1; shift
	mkdir -p "$T_TMP/$name"
	spawn "$T_TMP/$name.out" "$T_TMP/$name.err" env HOME="$T_TMP/$name" "$@" "$DAEMON" --log-level=debug
}
daemon a; a=$SPAWNED
daemon b; b=$SPAWNED
wait_for 10 grep -qs '^PEER_ID=' "$T_TMP/a.out"
wait_for 10 grep -qs '^PEER_ID=' "$T_TMP/b.out"
a_id=$(sed -n 's/^PEER_ID=//p' "$T_TMP/a.out")
b_id=$(sed -n 's/^PEER_ID=//p' "$T_TMP/b.out")
wait_for 15 grep -qs "\"msg\":\"peer identified\",\"peer\":\"$b_id\",\"agent\":\"agentanycastd/" "$T_TMP/a.err"
check "a discovers b by mDNS, connects and identifies it" grep -qs "\"msg\":\"peer identified\",\"peer\":\"$b_id\",\"agent\":\"agentanycastd/" "$T_TMP/a.err"
wait_for 15 grep -qs "\"msg\":\"peer identified\",\"peer\":\"$a_id\"" "$T_TMP/b.err"
check "b identifies a over the same or its own connection" grep -qs "\"msg\":\"peer identified\",\"peer\":\"$a_id\"" "$T_TMP/b.err"
check "a never discovers itself" eval '! grep -qs "mdns: peer discovered\",\"peer\":\"$a_id\"" "$T_TMP/a.err"'

daemon c AGENTANYCAST_ENABLE_MDNS=false; c=$SPAWNED
wait_for 10 grep -qs '^PEER_ID=' "$T_TMP/c.out"
c_id=$(sed -n 's/^PEER_ID=//p' "$T_TMP/c.out")
sleep 3
check "AGENTANYCAST_ENABLE_MDNS=false: c discovers nobody" eval '! grep -qs "mdns: peer discovered" "$T_TMP/c.err"'
check "AGENTANYCAST_ENABLE_MDNS=false: nobody discovers c" eval '! grep -qs "$c_id" "$T_TMP/a.err" "$T_TMP/b.err"'
for p in $a $b $c; do kill -TERM "$p"; wait_exit "$p" 10; check "daemon $p exits 0" test "$EXIT_STATUS" = 0; done
t_summary
