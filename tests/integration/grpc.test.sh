#!/usr/bin/env bash
# The gRPC server (src/rpc) driven by real clients: Debian's grpcio for every call type,
# deadlines, cancellation, size limits, 64 MiB streams both ways with bounded server memory,
# unknown methods and grpc.health.v1; raw HTTP/2 (python3-h2 over a plain socket) for what
# grpcio never sends: wrong content-type, broken gRPC framing, garbage, truncated frames,
# keepalive, idle and connection limits. Over unix:// and tcp:// (IPv4 and IPv6), plus the
# Unix socket file rules the SDKs rely on (REFERENCE.md D.1, D.4).
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
PY=/usr/bin/python3 # Debian's python, which has python3-grpcio and python3-h2
TOOL=$AA_BUILD_DIR/aa-grpc-test
CLIENT=$AA_SOURCE_DIR/tests/rpc/grpc_client.py
STUBS=$T_TMP/stubs

if ! "$PY" -c 'import grpc, grpc_tools, h2' 2>/dev/null; then
	not_ok "python3-grpcio, python3-grpc-tools and python3-h2 are installed (scripts/install-deps)"
	t_summary
	exit 1
fi

# Stubs for the test service and for Health. health.proto is generated under another file
# name: a module path grpc/health/... would shadow the grpc package itself.
mkdir -p "$STUBS"
cp "$AA_SOURCE_DIR/proto/grpc/health/v1/health.proto" "$STUBS/aahealth.proto"
"$PY" -m grpc_tools.protoc -I"$STUBS" -I"$AA_SOURCE_DIR/tests/rpc" --python_out="$STUBS" \
	--grpc_python_out="$STUBS" aahealth.proto test_service.proto

# Peak server RSS allowed while 64 MiB pass through it: far below the stream size.
# Sanitizers' shadow memory and quarantine inflate RSS, so their builds get more room.
RSS_LIMIT_KB=40000
sanitized_build && RSS_LIMIT_KB=400000

client() { timeout 300 "$PY" "$CLIENT" "$STUBS" "$@"; }

# start NAME ARGS...: runs the test server, waits for READY, sets $SRV (pid) and $OUT.
start() {
	local name=$1
	shift
	OUT=$T_TMP/$name.out
	spawn "$OUT" "$T_TMP/$name.err" "$TOOL" "$@"
	SRV=$SPAWNED
	wait_for 10 grep -q '^READY' "$OUT"
}

# stop PID [NAME]: SIGTERM; with NAME, checks for a clean exit (status 0: sanitizer builds
# exit non-zero on a leak or error).
stop() {
	kill -TERM "$1"
	wait_exit "$1" 10
	[[ -z ${2:-} ]] || check "$2 server exits 0 on SIGTERM" test "$EXIT_STATUS" = 0
}

sock=$T_TMP/grpc.sock
start main --listen "unix://$sock" --listen tcp://127.0.0.1:0 --listen 'tcp://[::1]:0' --max-streams 16
main=$SRV
tcp4=$(grep -m1 '^LISTEN=tcp://127' "$OUT" | sed 's|^LISTEN=tcp://||')
tcp6=$(grep -m1 '^LISTEN=tcp://\[' "$OUT" | sed 's|^LISTEN=tcp://||')
check "listening on unix, tcp4 and the bound port is reported" test -S "$sock" -a -n "$tcp4"
check "socket file mode is 0600" test "$(stat -c %a "$sock")" = 600

for target in "unix://$sock" "$tcp4"; do
	for c in unary server_stream client_stream bidi concurrent async_finish deadline cancel \
		unimplemented fail health raw_protocol raw_deadline raw_garbage; do
		check "$c over $target" client "$target" "$c"
	done
	check "raw_settings over $target" client "$target" raw_settings 16
done
if [[ -n $tcp6 ]]; then
	check "unary over IPv6 $tcp6" client "$tcp6" unary
	check "raw_protocol over IPv6" client "$tcp6" raw_protocol
fi
check "16 MiB + 1 request is RESOURCE_EXHAUSTED, 16 MiB passes" client "unix://$sock" too_big
check "main server survived everything" client "$tcp4" unary

# SIGTERM with calls in progress: clients see UNAVAILABLE, the socket file goes away.
client "unix://$sock" hold_watch >"$T_TMP/hold.out" 2>&1 &
holder=$!
wait_for 10 grep -q holding "$T_TMP/hold.out"
stop "$main"
check "SIGTERM with calls in progress exits 0" test "$EXIT_STATUS" = 0
check "the socket file is removed on SIGTERM" test ! -e "$sock"
wait "$holder"
check "held calls end UNAVAILABLE on shutdown" test $? = 0

# 64 MiB in 1 MiB messages each way, on a fresh server so the peak RSS is this test's.
start big --listen "unix://$sock"
check "64 MiB down, up and echoed in 1 MiB messages; peak RSS < $RSS_LIMIT_KB KiB" \
	client "unix://$sock" stream_64mib "$RSS_LIMIT_KB"
check "slow reader of 64 MiB holds server memory down" client "unix://$sock" slow_reader "$RSS_LIMIT_KB"
stop "$SRV" "64 MiB unix"

start big6 --listen tcp://127.0.0.1:0
tcp=$(grep -m1 '^LISTEN=tcp://' "$OUT" | sed 's|^LISTEN=tcp://||')
check "64 MiB each way over tcp" client "$tcp" stream_64mib "$RSS_LIMIT_KB"
stop "$SRV" "64 MiB tcp"

# The socket appears only once it answers, is 0600, and goes on SIGTERM (5 rounds).
check "socket file appears only when the server answers" client "unix://$sock" appear "$TOOL" "$sock"

# A stale socket file (nobody listening) is replaced; a live one and a regular file are not.
"$PY" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$sock"
start stale --listen "$sock" # a bare path means unix://
check "a stale socket file is replaced (bare path form)" client "unix://$sock" unary
first=$SRV
timeout 10 "$TOOL" --listen "unix://$sock" >/dev/null 2>&1
check "a second server refuses a live socket" test $? = 1
check "the first server still serves" client "unix://$sock" ready
stop "$first" "stale-socket"
: >"$T_TMP/regular"
timeout 10 "$TOOL" --listen "unix://$T_TMP/regular" >/dev/null 2>&1
check "a regular file at the socket path is left alone" test $? = 1 -a -f "$T_TMP/regular"

# Keepalive, idle timeout and the connection limit.
start keep --listen "unix://$sock" --keepalive-ms 300 --keepalive-timeout-ms 500
check "keepalive pings; a client that never answers is closed" client "unix://$sock" raw_keepalive
stop "$SRV" keepalive
start idle --listen "unix://$sock" --idle-ms 400
check "idle connections get GOAWAY; grpcio reconnects" client "unix://$sock" raw_idle
stop "$SRV" idle
start limit --listen "unix://$sock" --max-connections 3
check "connections over the limit are closed at once" client "unix://$sock" raw_max_connections 3
stop "$SRV" "connection-limit"
t_summary
