#!/bin/bash
# gen_python_stubs.sh OUTDIR: generates the Python protobuf and gRPC stubs of our
# agentanycast.v1 protos (proto/agentanycast/v1/*.proto) into OUTDIR/agentanycast/v1/
# (*_pb2.py, *_pb2_grpc.py), with Debian's python3-grpc-tools, then checks that they import.
# Tests use them as the official Python SDK uses its own stubs generated from the same
# contract (REFERENCE.md D.5), so a wrong name or number would show there.
# Exit status: 0 ok, 1 generation or import failed, 2 usage.
set -euo pipefail

if (($# != 1)); then
	echo "usage: $0 OUTDIR" >&2
	exit 2
fi
out=$1
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/proto
py=/usr/bin/python3

# grpc_tools ships google/protobuf/*.proto (timestamp, struct) under its _proto directory.
wkt=$("$py" -c 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))')

mkdir -p "$out"
(cd "$src" && "$py" -m grpc_tools.protoc -I. -I"$wkt" --python_out="$out" \
	--grpc_python_out="$out" agentanycast/v1/*.proto)
# Regular packages, so that nothing else named agentanycast on sys.path can shadow them.
touch "$out/agentanycast/__init__.py" "$out/agentanycast/v1/__init__.py"

PYTHONPATH="$out" "$py" -c '
import agentanycast.v1.common_pb2, agentanycast.v1.a2a_models_pb2
import agentanycast.v1.agent_card_pb2, agentanycast.v1.streaming_pb2
import agentanycast.v1.node_service_pb2, agentanycast.v1.node_service_pb2_grpc
import agentanycast.v1.registry_service_pb2, agentanycast.v1.registry_service_pb2_grpc
import agentanycast.v1.federation_pb2, agentanycast.v1.federation_pb2_grpc
'
