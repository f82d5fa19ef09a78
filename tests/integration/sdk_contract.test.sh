#!/usr/bin/env bash
# The SDK contract (REFERENCE D.4) with a real gRPC client (Debian python3-grpcio, stubs from
# our protos): daemons spawned as the SDKs spawn them, readiness = socket file + GetNodeInfo,
# two daemons exchanging cards and tasks both ways, documented status codes for bad input,
# durability across a stopped receiver and across SIGKILL, SIGTERM exits within 5 s and
# removes the socket.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
PY=/usr/bin/python3
STUBS=$T_TMP/stubs
bash "$AA_SOURCE_DIR/tests/rpc/gen_python_stubs.sh" "$STUBS" >/dev/null 2>&1 ||
	{ not_ok "generating Python stubs"; t_summary; exit 1; }
export PYTHONPATH=$STUBS
CONTRACT="$PY $AA_SOURCE_DIR/tests/rpc/sdk_contract.py"

# sdk_spawn NAME [extra args]: as the Python SDK does: --key, --grpc-listen=unix://,
# --log-level, AGENTANYCAST_STORE_PATH; plus a loopback listen address and no mDNS (tests).
sdk_spawn() {
	local name=$1; shift
	local home=$T_TMP/$name
	mkdir -p "$home/logs"
	spawn "$home/stdout" "$home/logs/daemon.log" env AGENTANYCAST_STORE_PATH="$home/data" \
		AGENTANYCAST_ENABLE_MDNS=false "$DAEMON" --key="$home/key" \
		--grpc-listen="unix://$home/daemon.sock" --log-level=info \
		--listen-addrs=/ip4/127.0.0.1/tcp/0 --transport=p2p --namespace=test "$@"
	eval "pid_$name=$SPAWNED"
	wait_for 10 test -S "$home/daemon.sock"
}
peer_of() { sed -n 's/^PEER_ID=//p' "$T_TMP/$1/stdout"; }
sock_of() { echo "$T_TMP/$1/daemon.sock"; }
stop() { # name: SIGTERM, must exit 0 within 5 s and remove its socket
	local pid_var=pid_$1
	kill -TERM "${!pid_var}"
	wait_exit "${!pid_var}" 5
	check "$1 exits 0 within 5 s of SIGTERM" test "$EXIT_STATUS" = 0
	check "$1 removed its socket" test ! -e "$(sock_of "$1")"
}

sdk_spawn a
sdk_spawn b
check "socket files appear (0600)" eval '[[ $(stat -c %a "$(sock_of a)") == 600 && -S $(sock_of b) ]]'
timeout 300 $CONTRACT two "$(sock_of a)" "$(sock_of b)" >"$T_TMP/two.log" 2>&1
check "two daemons: cards and tasks both ways ($(tail -1 "$T_TMP/two.log"))" test $? = 0
grep -E '^(ok|FAIL):' "$T_TMP/two.log"
timeout 300 $CONTRACT stream "$(sock_of a)" "$(sock_of b)" "$pid_a" "$pid_b" >"$T_TMP/stream.log" 2>&1
check "streaming across peers: 64 MiB B → A ($(tail -1 "$T_TMP/stream.log"))" test $? = 0
grep -E '^(ok|FAIL):|stream error' "$T_TMP/stream.log"
timeout 120 $CONTRACT badinput "$(sock_of a)" >"$T_TMP/bad.log" 2>&1
check "bad input gets the documented status codes ($(tail -1 "$T_TMP/bad.log"))" test $? = 0
grep -E '^FAIL:' "$T_TMP/bad.log"

# Durability 1: b stopped, a sends 100 tasks (queued), b restarted → all delivered once, in order.
b_peer=$(peer_of b)
stop b
timeout 120 $CONTRACT send "$(sock_of a)" "$b_peer" 100 "$T_TMP/sent.txt"
check "100 SendTask calls to a stopped peer succeed (queued)" test "$(wc -l <"$T_TMP/sent.txt")" = 100
sdk_spawn b
$CONTRACT card "$(sock_of b)" beta
# b does not know a's address any more: a redials b on reconnect? a knows b's old address,
# but b has a new port, so b dials a (the SDK would use a bootstrap peer here).
a_addr=$(grep -m1 '^LISTEN_ADDR=' "$T_TMP/a/stdout" | cut -d= -f2)
$PY - "$(sock_of b)" "$a_addr" <<'EOF'
import sys, grpc
from agentanycast.v1 import node_service_pb2 as ns, node_service_pb2_grpc as nsg
s = nsg.NodeServiceStub(grpc.insecure_channel("unix://" + sys.argv[1]))
ma = sys.argv[2]
s.ConnectPeer(ns.ConnectPeerRequest(peer_id=ma.split("/p2p/")[1], addresses=[ma.split("/p2p/")[0]]), timeout=10)
EOF
timeout 120 $CONTRACT serve "$(sock_of b)" 100 "$T_TMP/served.txt" 60 >/dev/null 2>&1
served_ids=$(cut -d' ' -f1 "$T_TMP/served.txt")
check "after restart, all 100 delivered" test "$(wc -l <"$T_TMP/served.txt")" = 100
check "delivered exactly once, in send order" test "$served_ids" = "$(cat "$T_TMP/sent.txt")"

# Durability 2: a killed with SIGKILL in the middle of 1000 sends while b's handler serves;
# after a's restart every task the RPC acknowledged is delivered (or still queued: here the
# reconnect drains the queue), and none twice to the handler.
: >"$T_TMP/served2.txt"
timeout 300 $CONTRACT serve "$(sock_of b)" 1000 "$T_TMP/served2.txt" 120 >/dev/null 2>&1 &
server=$!
T_PIDS+=("$server")
sleep 0.5
timeout 300 $CONTRACT send "$(sock_of a)" "$b_peer" 1000 "$T_TMP/sent2.txt" >/dev/null 2>&1 &
sender=$!
T_PIDS+=("$sender")
wait_for 30 eval '[[ $(cat "$T_TMP/sent2.txt" 2>/dev/null | wc -l) -ge 300 ]]'
kill -KILL "$pid_a"
wait "$pid_a" 2>/dev/null
wait "$sender" 2>/dev/null
acked=$(wc -l <"$T_TMP/sent2.txt")
check "SIGKILL landed mid-way ($acked of 1000 acknowledged)" eval '[[ $acked -ge 300 && $acked -lt 1000 ]]'
rm -f "$(sock_of a)" # the SDK removes a stale socket of a daemon it killed
sdk_spawn a
$PY - "$(sock_of a)" "$(grep -m1 '^LISTEN_ADDR=' "$T_TMP/b/stdout" | cut -d= -f2)" <<'EOF2'
import sys, grpc
from agentanycast.v1 import node_service_pb2 as ns, node_service_pb2_grpc as nsg
s = nsg.NodeServiceStub(grpc.insecure_channel("unix://" + sys.argv[1]))
ma = sys.argv[2]
s.ConnectPeer(ns.ConnectPeerRequest(peer_id=ma.split("/p2p/")[1], addresses=[ma.split("/p2p/")[0]]), timeout=10)
EOF2
missing_now() { comm -23 <(sort "$T_TMP/sent2.txt") <(cut -d' ' -f1 "$T_TMP/served2.txt" | sort) | grep -c .; }
wait_for 60 eval '[[ $(missing_now) == 0 ]]'
kill -TERM "$server" 2>/dev/null; wait "$server" 2>/dev/null
delivered=$(cut -d' ' -f1 "$T_TMP/served2.txt" | sort)
dups=$(echo "$delivered" | uniq -d)
check "every acknowledged task was delivered after the restart ($(missing_now) missing)" test "$(missing_now)" = 0
check "no task delivered twice to the handler" test -z "$dups"

stop a
stop b
t_summary
