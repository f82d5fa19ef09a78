#!/usr/bin/env bash
# mdns.test.sh: mDNS peer discovery between processes on one host (p2p/mdns through
# tests/tools/aa-mdns). Runs in a private network namespace (unshare -n, needs root) whose
# loopback is up and multicast-capable, so nothing leaves the test and nothing else answers.
# Two instances must find each other with the addresses each announces, never report
# themselves, and a third one started later must find and be found by both. Every wait is
# bounded; every process is killed by PID.
if [[ -z ${AA_MDNS_IN_NETNS:-} ]]; then
	if ! command -v unshare >/dev/null 2>&1 || ! unshare -n true 2>/dev/null; then
		echo "SKIP: cannot create a network namespace (unshare -n needs root)"
		exit 0
	fi
	AA_MDNS_IN_NETNS=1 exec unshare -n bash "$0" "$@"
fi
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

tool=$AA_BUILD_DIR/aa-mdns
if [[ ! -x $tool ]]; then
	not_ok "$tool not built (tests/tools/aa-mdns.c)"
	t_summary
	exit
fi

ip link set lo up && ip link set lo multicast on
check "loopback is up and multicast-capable in the namespace" \
	eval 'ip link show lo | grep -q "MULTICAST.*UP\|UP.*MULTICAST"'
ip route add 224.0.0.0/4 dev lo 2>/dev/null || true

# start NAME ARGS...: runs aa-mdns (bounded by --seconds) and records its PID in PID_<NAME>.
start() {
	local name=$1
	shift
	spawn "$T_TMP/$name.out" "$T_TMP/$name.err" "$tool" --seconds 40 --interval-ms 1000 "$@"
	printf -v "PID_$name" '%s' "$SPAWNED"
}
self_id() { awk '$1 == "self" { print $2 }' "$T_TMP/$1.out" 2>/dev/null; }
# found WHO PEER ADDRS...: WHO printed exactly this discovery line.
found() {
	local who=$1
	shift
	grep -qxF "discovered $*" "$T_TMP/$who.out"
}

start a /ip4/127.0.0.1/tcp/4001 /ip6/::1/tcp/4001
start b --ipv6 /ip4/127.0.0.1/tcp/4002 /ip4/127.0.0.1/udp/4002/quic-v1
check "both instances start and print their PeerID" \
	wait_for 5 eval '[[ -n $(self_id a) && -n $(self_id b) ]]'
id_a=$(self_id a)
id_b=$(self_id b)

check "a discovers b with b's addresses" \
	wait_for 10 found a "$id_b" /ip4/127.0.0.1/tcp/4002 /ip4/127.0.0.1/udp/4002/quic-v1
check "b discovers a with a's addresses" \
	wait_for 10 found b "$id_a" /ip4/127.0.0.1/tcp/4001 /ip6/::1/tcp/4001

# A late arrival is answered by both (they respond to its query) and heard by both.
start c /ip4/127.0.0.1/tcp/4003
check "c starts" wait_for 5 eval '[[ -n $(self_id c) ]]'
id_c=$(self_id c)
check "late c discovers a" wait_for 10 found c "$id_a" /ip4/127.0.0.1/tcp/4001 /ip6/::1/tcp/4001
check "late c discovers b" \
	wait_for 10 found c "$id_b" /ip4/127.0.0.1/tcp/4002 /ip4/127.0.0.1/udp/4002/quic-v1
check "a discovers late c" wait_for 10 found a "$id_c" /ip4/127.0.0.1/tcp/4003

# Let a few query rounds pass, then check nobody reported itself or an address not announced.
sleep 2
for n in a b c; do
	id=$(self_id "$n")
	check "$n never reports itself" eval "! grep -q 'discovered $id' '$T_TMP/$n.out'"
	check "$n reports only announced addresses" awk -v bad=0 '
		$1 == "discovered" { for (i = 3; i <= NF; i++)
			if ($i !~ /^\/ip[46]\/(127\.0\.0\.1|::1)\/(tcp|udp)\/400[123](\/quic-v1)?$/) bad = 1 }
		END { exit bad }' "$T_TMP/$n.out"
done

for n in a b c; do
	pid_var=PID_$n
	kill -TERM "${!pid_var}" 2>/dev/null
	wait "${!pid_var}" 2>/dev/null
done

# The tool stops by itself after --seconds and exits 0 (clean close of the service).
spawn "$T_TMP/d.out" "$T_TMP/d.err" "$tool" --seconds 1 /ip4/127.0.0.1/tcp/4004
wait_exit "$SPAWNED" 10
check "aa-mdns exits 0 after --seconds" test "$EXIT_STATUS" = 0

t_summary
