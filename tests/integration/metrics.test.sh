#!/usr/bin/env bash
# /metrics and /health of the real daemon (REFERENCE G, DECISIONS 10), in a network namespace:
#  - enabled by --metrics-listen, by AGENTANYCAST_METRICS_LISTEN and by [metrics] enabled;
#  - after known traffic (a peer connecting, bridge requests that succeed and fail, tasks
#    created through the bridge, a gRPC call) the counters say exactly that, and the scrape
#    passes `promtool check metrics` with nothing to lint;
#  - /health: 200 "healthy" with no bootstrap peers or with one connected, 503 "unhealthy"
#    while the only bootstrap peer is unreachable (G.1); 404/405 for other paths and methods.
if [[ -z ${AA_IN_NETNS:-} ]]; then
	if ! unshare -n true 2>/dev/null; then echo "SKIP: unshare -n unavailable"; echo "0 passed, 0 failed"; exit 0; fi
	AA_IN_NETNS=1 exec unshare -n bash "$0" "$@"
fi
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
ip link set lo up
PROMTOOL=${PROMTOOL:-/usr/bin/promtool}
PY=/usr/bin/python3

daemon() { # name args...
	local name=$1; shift
	mkdir -p "$T_TMP/$name"
	spawn "$T_TMP/$name.out" "$T_TMP/$name.err" env HOME="$T_TMP/$name" AGENTANYCAST_ENABLE_MDNS=false \
		"$DAEMON" --key="$T_TMP/$name/key" --grpc-listen="unix://$T_TMP/$name/sock" \
		--store-path="$T_TMP/$name/data" --log-level=info "$@"
	wait_for 10 test -S "$T_TMP/$name/sock"
}
scrape() { curl -s -m 5 "http://$1/metrics"; }
# value ADDR 'series{labels}': the sample's value, or "none"
value() { scrape "$1" | awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print "none" }'; }
rpc() { # rpc ADDR method params-json
	curl -sS -m 5 -H 'Content-Type: application/json' -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$2\",\"params\":$3}" "http://$1/"
}

# 1. Daemon a: metrics by flag, bridge on, no bootstrap peers.
daemon a --listen-addrs=/ip4/127.0.0.1/tcp/14001 --metrics-listen=127.0.0.1:19091 --bridge-listen=127.0.0.1:18081
a=$SPAWNED
wait_for 10 curl -sf -o /dev/null http://127.0.0.1:19091/health
code=$(curl -s -o "$T_TMP/h" -w '%{http_code}' http://127.0.0.1:19091/health)
check "health: 200 healthy with no bootstrap peers" \
	eval "[[ $code == 200 ]] && grep -q '\"status\":\"healthy\"' $T_TMP/h && grep -q '\"uptime_seconds\"' $T_TMP/h && grep -q '\"state\":\"ok\"' $T_TMP/h"

# Known bridge traffic: 4 non-blocking sends (ok), 3 gets of unknown tasks and 2 bad bodies (error).
for i in 1 2 3 4; do
	rpc 127.0.0.1:18081 message/send \
		'{"message":{"kind":"message","messageId":"m'$i'","role":"user","parts":[{"kind":"text","text":"hi"}]},"configuration":{"blocking":false}}' >/dev/null
done
for i in 1 2 3; do rpc 127.0.0.1:18081 tasks/get '{"id":"missing"}' >/dev/null; done
for i in 1 2; do curl -sS -m 5 -H 'Content-Type: application/json' -d '{oops' http://127.0.0.1:18081/ >/dev/null; done

# 2. Daemon b: metrics by environment variable, a as its bootstrap peer → one connection each way.
a_id=$(sed -n 's/^PEER_ID=//p' "$T_TMP/a.out")
mkdir -p "$T_TMP/b"
spawn "$T_TMP/b.out" "$T_TMP/b.err" env HOME="$T_TMP/b" AGENTANYCAST_ENABLE_MDNS=false \
	AGENTANYCAST_METRICS_LISTEN=127.0.0.1:19092 "$DAEMON" --key="$T_TMP/b/key" \
	--grpc-listen="unix://$T_TMP/b/sock" --store-path="$T_TMP/b/data" --log-level=info \
	--listen-addrs=/ip4/127.0.0.1/tcp/0 --bootstrap-peers=/ip4/127.0.0.1/tcp/14001/p2p/$a_id
b=$SPAWNED
wait_for 10 eval '[[ $(value 127.0.0.1:19092 agentanycast_connected_peers) == 1 ]]'
wait_for 10 eval '[[ $(value 127.0.0.1:19091 agentanycast_connected_peers) == 1 ]]'
code=$(curl -s -o "$T_TMP/h" -w '%{http_code}' http://127.0.0.1:19092/health)
check "health: 200 with its bootstrap peer connected" eval "[[ $code == 200 ]] && grep -q '\"connected_peers\":1' $T_TMP/h"

scrape 127.0.0.1:19091 >"$T_TMP/a.prom"
scrape 127.0.0.1:19092 >"$T_TMP/b.prom"
get() { awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print "none" }' "$1"; }
check "a: bridge ok requests = 4" test "$(get "$T_TMP/a.prom" 'agentanycast_bridge_requests_total{direction="inbound",status="ok"}')" = 4
check "a: bridge error requests = 5" test "$(get "$T_TMP/a.prom" 'agentanycast_bridge_requests_total{direction="inbound",status="error"}')" = 5
check "a: received tasks submitted = 4" test "$(get "$T_TMP/a.prom" 'agentanycast_tasks_total{direction="received",status="submitted"}')" = 4
check "a: one inbound connection" test "$(get "$T_TMP/a.prom" 'agentanycast_connections_total{direction="inbound"}')" = 1
check "b: one outbound connection" test "$(get "$T_TMP/b.prom" 'agentanycast_connections_total{direction="outbound"}')" = 1
check "b: connection counted by transport tcp" test "$(get "$T_TMP/b.prom" 'agentanycast_connections_by_transport_total{transport="tcp"}')" = 1
check "a: bytes received > 0" eval "[[ \$(get $T_TMP/a.prom 'agentanycast_bytes_total{direction=\"in\"}') != none && \$(get $T_TMP/a.prom 'agentanycast_bytes_total{direction=\"in\"}') != 0 ]]"
check "a: store commits observed" eval "[[ \$(get $T_TMP/a.prom agentanycast_store_commit_duration_seconds_count) -ge 4 ]]"
check "a: process metrics" grep -q '^process_resident_memory_bytes [1-9]' "$T_TMP/a.prom"
for f in connected_peers connections_total connections_by_transport_total tasks_total task_duration_seconds \
	route_resolutions_total bridge_requests_total stream_chunks_total messages_total offline_queue_size; do
	check "a: family agentanycast_$f has HELP and TYPE" \
		eval "grep -q '^# HELP agentanycast_$f ' $T_TMP/a.prom && grep -q '^# TYPE agentanycast_$f ' $T_TMP/a.prom"
done
if [[ -x $PROMTOOL ]]; then
	for n in a b; do
		"$PROMTOOL" check metrics <"$T_TMP/$n.prom" >"$T_TMP/$n.lint" 2>&1
		check "promtool check metrics passes on $n's scrape with nothing to lint" \
			eval "[[ $? == 0 && ! -s $T_TMP/$n.lint ]]"
	done
else
	not_ok "promtool missing (scripts/install-deps installs prometheus)"
fi

# 3. b loses its only bootstrap peer → unhealthy (REFERENCE G.1).
kill -TERM "$a"; wait_exit "$a" 10
wait_for 10 eval '[[ $(curl -s -o /dev/null -w %{http_code} http://127.0.0.1:19092/health) == 503 ]]'
curl -s http://127.0.0.1:19092/health >"$T_TMP/h"
check "health: 503 unhealthy while the bootstrap peer is gone" grep -q '"status":"unhealthy"' "$T_TMP/h"
code=$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:19092/nope)
check "unknown path → 404" test "$code" = 404
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1:19092/metrics)
check "POST /metrics → 405" test "$code" = 405
kill -TERM "$b"; wait_exit "$b" 10
check "b exits 0" test "$EXIT_STATUS" = 0

# 4. [metrics] enabled in the TOML file.
printf '[metrics]\nenabled = true\nlisten = "127.0.0.1:19093"\n' >"$T_TMP/m.toml"
daemon c --config="$T_TMP/m.toml" --listen-addrs=/ip4/127.0.0.1/tcp/0
wait_for 10 curl -sf -o /dev/null http://127.0.0.1:19093/metrics
scrape 127.0.0.1:19093 >"$T_TMP/c.prom" # (not piped into grep -q: curl would die of SIGPIPE)
check "[metrics] enabled in the file serves /metrics" grep -q '^agentanycast_connected_peers 0' "$T_TMP/c.prom"
t_summary
