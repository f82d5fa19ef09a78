#!/usr/bin/env bash
# The HTTP bridge (issue 5, DECISIONS 9) in a network namespace of its own:
#  - @a2a-js/sdk as a real client (v1.0 and its v0.3 transport) against the bridge, served by
#    a gRPC-driven handler on the same daemon; SDK servers as targets of SendTask(url)
#    (tests/interop/bridge.mjs);
#  - HTTPS with a certificate made here, CORS allowed / refused / preflight, and hostile
#    input: oversized, malformed, wrong content type, slow and half-sent requests — after
#    which the daemon still serves;
#  - legacy tasks/send (REFERENCE F.3) answered in its own shape.
if [[ -z ${AA_IN_NETNS:-} ]]; then
	if ! unshare -n true 2>/dev/null; then echo "SKIP: unshare -n unavailable"; echo "0 passed, 0 failed"; exit 0; fi
	AA_IN_NETNS=1 exec unshare -n bash "$0" "$@"
fi
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
ip link set lo up
[[ -x $NODE ]] || { not_ok "Node 24 missing: run scripts/install-deps"; t_summary; exit 1; }
PY=/usr/bin/python3

daemon() { # name args...: a daemon with its own HOME, gRPC socket and store
	local name=$1; shift
	mkdir -p "$T_TMP/$name"
	spawn "$T_TMP/$name.out" "$T_TMP/$name.err" env HOME="$T_TMP/$name" AGENTANYCAST_ENABLE_MDNS=false "$DAEMON" \
		--key="$T_TMP/$name/key" --grpc-listen="unix://$T_TMP/$name/sock" \
		--store-path="$T_TMP/$name/data" --listen-addrs=/ip4/127.0.0.1/tcp/0 \
		--log-level=info "$@"
	wait_for 10 test -S "$T_TMP/$name/sock"
}

# 1. Plain HTTP: the SDK both ways.
daemon plain --bridge-listen=127.0.0.1:18080
plain=$SPAWNED
out=$(timeout 120 "$NODE" "$AA_SOURCE_DIR/tests/interop/bridge.mjs" "$T_TMP/plain/sock" \
	http://127.0.0.1:18080 2>&1 </dev/null); st=$?
echo "$out" | grep -E '^(ok|FAIL) ' | sed 's/^/  /'
check "@a2a-js/sdk against the bridge, both directions ($(echo "$out" | tail -1))" test $st = 0

# Raw HTTP checks: curl for headers and statuses.
URL=http://127.0.0.1:18080
req() { curl -sS -m 10 -o "$T_TMP/body" -D "$T_TMP/hdr" -w '%{http_code}' "$@"; }
code=$(req -X POST -H 'Content-Type: application/json' -d '{"jsonrpc":"2.0","id":7,"method":"nope","params":{}}' $URL/)
check "unknown method → HTTP 200 with -32601 and the id echoed" \
	eval "[[ $code == 200 ]] && grep -q '\"id\":7' $T_TMP/body && grep -q -- '-32601' $T_TMP/body"
code=$(req -X POST -H 'Content-Type: application/json' -d '{"jsonrpc":"2.0","id":"x","method":' $URL/)
check "truncated JSON → -32700" eval "[[ $code == 200 ]] && grep -q -- '-32700' $T_TMP/body"
code=$(req -X POST -H 'Content-Type: text/plain' -d '{}' $URL/a2a)
check "wrong Content-Type → -32005" eval "[[ $code == 200 ]] && grep -q -- '-32005' $T_TMP/body"
code=$(req -X POST -H 'Content-Type: application/json' -H 'A2A-Version: 7.0' \
	-d '{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"x"}}' $URL/)
check "unsupported A2A-Version → -32009" eval "[[ $code == 200 ]] && grep -q -- '-32009' $T_TMP/body"
code=$(req -X POST -H 'Content-Type: application/json' -d '{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"x"}}' $URL/)
check "v1.0 method without the v1.0 header → -32601" eval "[[ $code == 200 ]] && grep -q -- '-32601' $T_TMP/body"
code=$(req -X GET $URL/)
check "GET on the JSON-RPC endpoint → 405" test "$code" = 405
head -c $((17 * 1024 * 1024)) /dev/zero | tr '\0' 'a' >"$T_TMP/big"
code=$(req -X POST -H 'Content-Type: application/json' --data-binary @"$T_TMP/big" $URL/)
check "17 MiB body → 413" test "$code" = 413
for p in agent-card.json agent.json a2a-agent-card; do
	code=$(req $URL/.well-known/$p)
	check "card at /.well-known/$p (Vary: A2A-Version)" \
		eval "[[ $code == 200 ]] && grep -qi '^vary: A2A-Version' $T_TMP/hdr && grep -q '\"bridge-test\"' $T_TMP/body"
done
code=$(req -H 'A2A-Version: 1.0' $URL/.well-known/agent-card.json)
check "v1.0 card: supportedInterfaces JSONRPC 1.0, no top-level url" $PY -c '
import json, sys
c = json.load(open(sys.argv[1]))
i = c["supportedInterfaces"][0]
sys.exit(not ("url" not in c and "preferredTransport" not in c and i["protocolBinding"] == "JSONRPC"
              and i["protocolVersion"] == "1.0" and i["url"].startswith("http://")))' "$T_TMP/body"
code=$(req -X POST $URL/.well-known/agent-card.json)
check "POST on the card → 405" test "$code" = 405

# CORS (REFERENCE F.1): default ["*"].
code=$(req -X OPTIONS -H 'Origin: http://app.example' -H 'Access-Control-Request-Method: POST' $URL/)
check "preflight from any origin → 204 with Allow-Origin *" \
	eval "[[ $code == 204 ]] && grep -qi '^access-control-allow-origin: \*' $T_TMP/hdr && grep -qi '^access-control-max-age: 86400' $T_TMP/hdr"

# Slow and half-sent requests must not stop the bridge from serving others.
$PY - 127.0.0.1 18080 <<'EOF' &
import socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
socks = []
for i in range(50):  # 50 connections that send half a request and stall
    s = socket.create_connection((host, port))
    s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"jsonrpc\"")
    socks.append(s)
time.sleep(8)
EOF
slow=$!
T_PIDS+=("$slow")
sleep 1
code=$(req -X POST -H 'Content-Type: application/json' -d '{"jsonrpc":"2.0","id":9,"method":"tasks/get","params":{"id":"nope"}}' $URL/)
check "serves while 50 clients stall mid-body" eval "[[ $code == 200 ]] && grep -q -- '-32001' $T_TMP/body"
kill "$slow" 2>/dev/null; wait "$slow" 2>/dev/null
check "daemon alive after hostile input" kill -0 "$plain"
kill -TERM "$plain"; wait_exit "$plain" 10
check "daemon exits 0 on SIGTERM with the bridge running" test "$EXIT_STATUS" = 0

# 2. HTTPS with a certificate made here, and a CORS allow-list.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$T_TMP/key.pem" -out "$T_TMP/cert.pem" 2>/dev/null
cat >"$T_TMP/tls.toml" <<EOF
[bridge]
enabled = true
listen = "127.0.0.1:18443"
tls_cert = "$T_TMP/cert.pem"
tls_key = "$T_TMP/key.pem"
cors_origins = ["https://good.example"]
EOF
daemon tls --config="$T_TMP/tls.toml"
tls=$SPAWNED
wait_for 10 eval "curl -s --cacert $T_TMP/cert.pem -o /dev/null https://127.0.0.1:18443/.well-known/agent-card.json"
code=$(req --cacert "$T_TMP/cert.pem" https://127.0.0.1:18443/.well-known/agent-card.json)
check "HTTPS: card served (404 until the agent sets one)" test "$code" = 404
out=$(NODE_EXTRA_CA_CERTS="$T_TMP/cert.pem" timeout 120 "$NODE" "$AA_SOURCE_DIR/tests/interop/bridge.mjs" \
	"$T_TMP/tls/sock" https://127.0.0.1:18443 2>&1 </dev/null); st=$?
echo "$out" | grep -E '^FAIL ' | sed 's/^/  /'
check "@a2a-js/sdk over HTTPS, SSE included ($(echo "$out" | tail -1))" test $st = 0
code=$(req --cacert "$T_TMP/cert.pem" -X POST -H 'Content-Type: application/json' -H 'Origin: https://good.example' \
	-d '{"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{"id":"x"}}' https://127.0.0.1:18443/)
check "HTTPS JSON-RPC; allowed origin echoed" \
	eval "[[ $code == 200 ]] && grep -qi '^access-control-allow-origin: https://good.example' $T_TMP/hdr"
code=$(req --cacert "$T_TMP/cert.pem" -X POST -H 'Content-Type: application/json' -H 'Origin: https://evil.example' \
	-d '{"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{"id":"x"}}' https://127.0.0.1:18443/)
check "refused origin: served without CORS headers" \
	eval "[[ $code == 200 ]] && ! grep -qi '^access-control-allow-origin' $T_TMP/hdr"
code=$(req --cacert "$T_TMP/cert.pem" -X OPTIONS -H 'Origin: https://evil.example' https://127.0.0.1:18443/)
check "refused origin's preflight gets no 204" test "$code" = 405
code=$(req http://127.0.0.1:18443/.well-known/agent-card.json)
check "plain HTTP to the TLS port is refused" test "$code" != 200
kill -TERM "$tls"; wait_exit "$tls" 10
check "TLS daemon exits 0" test "$EXIT_STATUS" = 0

# 3. Bad TLS files stop the daemon with a clear message.
printf '[bridge]\nenabled = true\nlisten = "127.0.0.1:18444"\ntls_cert = "%s/missing.pem"\ntls_key = "%s/key.pem"\n' \
	"$T_TMP" "$T_TMP" >"$T_TMP/badtls.toml"
mkdir -p "$T_TMP/bad"
timeout 10 env HOME="$T_TMP/bad" "$DAEMON" --config="$T_TMP/badtls.toml" --key="$T_TMP/bad/key" \
	--grpc-listen="unix://$T_TMP/bad/sock" --store-path="$T_TMP/bad/data" \
	--listen-addrs=/ip4/127.0.0.1/tcp/0 >"$T_TMP/bad.out" 2>"$T_TMP/bad.err"
st=$?
check "missing TLS certificate → exit 1 naming the file" \
	eval "[[ $st == 1 ]] && grep -q 'missing.pem' $T_TMP/bad.err"
t_summary
