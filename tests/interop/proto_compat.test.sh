#!/usr/bin/env bash
# proto_compat.test.sh: the agentanycast.v1 wire contract (REFERENCE.md D.5) as protobuf-c
# compiles it, against the Python protobuf runtime the official SDK uses, fed by stubs
# generated from the same protos (tests/rpc/gen_python_stubs.sh).
#   Python -> C: proto_compat.py encodes samples (envelopes of several types, card, task,
#     SendTaskRequest with each target, stream events, RPC messages); aa-pbcheck decodes
#     each with a2a_pb_unpack() and must list exactly the fields Python set.
#   C -> Python: aa-pbcheck encodes its samples; Python decodes them, asserts the values
#     field by field, and must list exactly the fields protobuf-c decodes.
# Needs $AA_BUILD_DIR/aa-pbcheck (tests/tools) and Debian's python3-grpc-tools.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

tool=$AA_BUILD_DIR/aa-pbcheck
py=/usr/bin/python3
script=$AA_SOURCE_DIR/tests/interop/proto_compat.py

[[ -x $tool ]] || { not_ok "$tool not built (tests/tools/aa-pbcheck.c)"; t_summary; exit; }

stubs=$T_TMP/stubs
if timeout 120 bash "$AA_SOURCE_DIR/tests/rpc/gen_python_stubs.sh" "$stubs"; then
	ok "Python stubs generate from our protos and import"
else
	not_ok "gen_python_stubs.sh failed"
	t_summary
	exit
fi
export PYTHONPATH=$stubs

# The gRPC stubs have every NodeService RPC with its streaming shape.
shapes=$(timeout 30 "$py" - <<'EOF'
import sys
from agentanycast.v1 import node_service_pb2 as ns
for m in ns.DESCRIPTOR.services_by_name["NodeService"].methods:
    kind = {(False, False): "unary", (False, True): "server-stream",
            (True, False): "client-stream", (True, True): "bidi"}[
        (m.client_streaming, m.server_streaming)]
    print(m.name, m.input_type.name, m.output_type.name, kind)
EOF
)
want_shapes="GetNodeInfo GetNodeInfoRequest GetNodeInfoResponse unary
SetAgentCard SetAgentCardRequest SetAgentCardResponse unary
ConnectPeer ConnectPeerRequest ConnectPeerResponse unary
ListPeers ListPeersRequest ListPeersResponse unary
GetPeerCard GetPeerCardRequest GetPeerCardResponse unary
SendTask SendTaskRequest SendTaskResponse unary
GetTask GetTaskRequest GetTaskResponse unary
CancelTask CancelTaskRequest CancelTaskResponse unary
SubscribeTaskUpdates SubscribeTaskUpdatesRequest SubscribeTaskUpdatesResponse server-stream
SubscribeIncomingTasks SubscribeIncomingTasksRequest SubscribeIncomingTasksResponse server-stream
UpdateTaskStatus UpdateTaskStatusRequest UpdateTaskStatusResponse unary
CompleteTask CompleteTaskRequest CompleteTaskResponse unary
FailTask FailTaskRequest FailTaskResponse unary
SubscribeTaskStream SubscribeTaskStreamRequest SubscribeTaskStreamResponse server-stream
SendStreamingArtifact SendStreamingArtifactRequest SendStreamingArtifactResponse client-stream
Discover DiscoverRequest DiscoverResponse unary"
if [[ $shapes == "$want_shapes" ]]; then
	ok "NodeService has the 16 RPCs of D.5 with their streaming shapes"
else
	not_ok "NodeService RPCs differ: $(diff <(echo "$want_shapes") <(echo "$shapes"))"
fi

# --- Python encodes, C decodes ------------------------------------------------------------
pydir=$T_TMP/py
mkdir -p "$pydir"
if ! cases=$(timeout 60 "$py" "$script" encode "$pydir"); then
	not_ok "proto_compat.py encode failed"
	t_summary
	exit
fi
n=0
while read -r name type; do
	n=$((n + 1))
	if ! timeout 30 "$tool" decode "$type" "$pydir/py_$name.bin" >"$pydir/c_$name.dump"; then
		not_ok "py->c $name: aa-pbcheck cannot decode it"
		continue
	fi
	if diff <(LC_ALL=C sort "$pydir/py_$name.dump") <(LC_ALL=C sort "$pydir/c_$name.dump") \
		>"$pydir/$name.diff"; then
		ok "py->c $name ($type): protobuf-c reads every field Python set"
	else
		not_ok "py->c $name ($type): field listings differ (< python, > protobuf-c):
$(cat "$pydir/$name.diff")"
	fi
done <<<"$cases"
((n >= 20)) || not_ok "only $n Python samples"

# Spot checks written from D.5, independent of both generators' field listings.
has() { grep -qxF -- "$2" "$pydir/c_$1.dump" || { echo "missing in $1: $2" >&2; return 1; }; }
check "py->c envelope: SEND_TASK (1) carries send_task, trace_parent is field 30" \
	eval 'has envelope_send_task "type=1" && has envelope_send_task "send_task.task_id=py-task-1" &&
	has envelope_send_task "trace_parent=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" &&
	has envelope_send_task "send_task.message.parts[3].raw_part.data=0x00336699ccff"'
check "py->c envelope: ACK (8), TASK_CANCEL (5), GET_TASK_RESPONSE (7), STREAM_START/END (9/11)" \
	eval 'has envelope_ack "type=8" && has envelope_ack "ack.acknowledged_envelope_id=c-env-1" &&
	has envelope_task_cancel "type=5" && has envelope_get_task_response "type=7" &&
	has envelope_get_task_response "get_task_response.task.status=2" &&
	has envelope_stream_start "stream_start.total_chunks=2" && has envelope_stream_end "type=11" &&
	has envelope_stream_end "stream_end.reason=1"'
check "py->c SendTaskRequest: each target of the oneof arrives as itself" \
	eval 'has send_task_peer "peer_id=12D3KooWTarget" && has send_task_skill "skill_id=summarize" &&
	has send_task_url "url=https://agent.example/a2a" && has send_task_url "metadata{trace}=on" &&
	has send_task_url "transport_hint=auto"'
check "py->c card: p2p_extension (10) with every field" \
	eval 'has card "p2p_extension.did_key=did:key:z6MkPy" &&
	has card "p2p_extension.supported_transports[2]=webtransport" &&
	has card "p2p_extension.verifiable_credentials[1]=vc-b" && has card "skills[0].id=summarize"'
check "py->c StartNodeRequest transport (10) and namespace (11); PeerInfo RELAY (2)" \
	eval 'has start_node "transport=nats://h:4222" && has start_node "namespace=team-a" &&
	has connect_peer "peer_info.connection_type=2" && has node_info "node_info.nat_type=2"'
check "py->c stream chunk: int32 sequence, bytes data, is_last false left out" \
	eval 'has stream_chunk "stream_chunk.sequence=2147483647" &&
	has stream_chunk "stream_chunk.data=0xff006368756e6b" && ! grep -q is_last "$pydir/c_stream_chunk.dump"'

# --- C encodes, Python decodes ------------------------------------------------------------
cdir=$T_TMP/c
mkdir -p "$cdir"
n=0
while read -r name type; do
	n=$((n + 1))
	if ! timeout 30 "$tool" encode "$name" "$cdir/$name.bin" ||
		! timeout 30 "$tool" decode "$type" "$cdir/$name.bin" >"$cdir/$name.dump"; then
		not_ok "c->py $name: aa-pbcheck failed"
		continue
	fi
	if out=$(timeout 60 "$py" "$script" check "$name" "$type" "$cdir/$name.bin" \
		"$cdir/$name.dump" 2>&1); then
		ok "c->py $name ($type): Python decodes the values we set"
	else
		not_ok "c->py $name ($type): $out"
	fi
done < <(timeout 10 "$tool" cases)
((n >= 18)) || not_ok "only $n C samples"

t_summary
