#!/usr/bin/env bash
# /perf/1.0.0 (libp2p/specs perf/perf.md) between our stack (tests/tools/aa-p2p) and a
# js-libp2p 3.x node (perf_js.mjs), in both directions and ours against ours: the byte counts
# each client reports must be exactly what it asked for. Correctness only; speed is measured by
# bench/run. Also checks that aa-p2p's benchmark modes (--conn-rate, --ping-loop, --hold-conns)
# run and report.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
P2P=$AA_BUILD_DIR/aa-p2p
JS=$AA_SOURCE_DIR/tests/interop/perf_js.mjs
[[ -x $NODE ]] || { not_ok "Node 24 missing: run scripts/install-deps"; t_summary; exit 1; }
MIB8=8388608

# perf_line_is OUT UP DOWN: OUT has a perf line reporting exactly UP and DOWN bytes.
perf_line_is() {
	grep -Eq "^perf upload_bytes=$2 upload_s=[0-9.]+ upload_MBps=[0-9.]+ download_bytes=$3 download_s=[0-9.]+ download_MBps=[0-9.]+$" <<<"$1"
}

spawn "$T_TMP/aa.out" "$T_TMP/aa.err" "$P2P" --listen /ip4/127.0.0.1/tcp/0 --serve --seconds 300
aa_pid=$SPAWNED
spawn "$T_TMP/js.out" "$T_TMP/js.err" "$NODE" "$JS" listen
js_pid=$SPAWNED
wait_for 10 grep -q '^LISTEN_ADDR=' "$T_TMP/aa.out"
wait_for 20 grep -q '^LISTEN_ADDR=' "$T_TMP/js.out"
aa_ma=$(grep -m1 '^LISTEN_ADDR=' "$T_TMP/aa.out" | cut -d= -f2)
js_ma=$(grep -m1 '^LISTEN_ADDR=' "$T_TMP/js.out" | cut -d= -f2)

# We are the client, js serves.
out=$(timeout 60 "$P2P" --dial "$js_ma" --perf-upload $MIB8 --perf-download $MIB8 2>&1); st=$?
check "we upload 8 MiB to js and download 8 MiB back" eval '[[ $st == 0 ]] && perf_line_is "$out" $MIB8 $MIB8'
[[ $st == 0 ]] || echo "$out" | tail -5 >&2
out=$(timeout 60 "$P2P" --dial "$js_ma" --perf-upload 0 --perf-download 100000 2>&1); st=$?
check "we download from js with an empty upload (FIN right after the size)" eval '[[ $st == 0 ]] && perf_line_is "$out" 0 100000'
out=$(timeout 60 "$P2P" --dial "$js_ma" --perf-upload 0 --perf-download 0 2>&1); st=$?
check "we run an empty exchange with js" eval '[[ $st == 0 ]] && perf_line_is "$out" 0 0'

# js is the client, we serve.
out=$(timeout 60 "$NODE" "$JS" client "$aa_ma" $MIB8 $MIB8 2>&1); st=$?
check "js uploads 8 MiB to us and downloads 8 MiB back" eval '[[ $st == 0 ]] && perf_line_is "$out" $MIB8 $MIB8'
[[ $st == 0 ]] || echo "$out" | tail -5 >&2
out=$(timeout 60 "$NODE" "$JS" client "$aa_ma" 0 0 2>&1); st=$?
check "js runs an empty exchange with us" eval '[[ $st == 0 ]] && perf_line_is "$out" 0 0'

# js against js: the baseline bench/run measures must itself be correct.
out=$(timeout 60 "$NODE" "$JS" client "$js_ma" $MIB8 $MIB8 2>&1); st=$?
check "js client against js server moves 8 MiB each way" eval '[[ $st == 0 ]] && perf_line_is "$out" $MIB8 $MIB8'

# Ours against ours.
out=$(timeout 60 "$P2P" --dial "$aa_ma" --perf-upload $MIB8 --perf-download $MIB8 2>&1); st=$?
check "our client against our server moves 8 MiB each way" eval '[[ $st == 0 ]] && perf_line_is "$out" $MIB8 $MIB8'
out=$(timeout 60 "$P2P" --dial "$aa_ma" --perf-upload 0 --perf-download 1048576 2>&1); st=$?
check "our client against our server: download only" eval '[[ $st == 0 ]] && perf_line_is "$out" 0 1048576'

# The benchmark modes bench/run relies on.
out=$(timeout 60 "$P2P" --dial "$aa_ma" --conn-rate 40 --concurrency 4 2>&1); st=$?
check "--conn-rate opens, pings and closes 40 connections, 4 at a time" \
	eval '[[ $st == 0 && $out =~ conn_rate\ connections=40\ concurrency=4\ failed=0\ .*p99_us=[0-9]+ ]]'
out=$(timeout 60 "$P2P" --dial "$aa_ma" --ping-loop 200 --report-rss 2>&1); st=$?
check "--ping-loop reports percentiles of 200 pings on one stream" \
	eval '[[ $st == 0 && $out =~ ping_loop\ pings=200\ p50_us=[0-9.]+\ p99_us=[0-9.]+ && $out =~ rss_kb=[1-9] ]]'
spawn "$T_TMP/hold.out" "$T_TMP/hold.err" "$P2P" --dial "$aa_ma" --hold-conns 10 --concurrency 5 --seconds 60
hold_pid=$SPAWNED
wait_for 20 grep -q '^held ' "$T_TMP/hold.out"
check "--hold-conns keeps 10 connections open" grep -q '^held connections=10 failed=0' "$T_TMP/hold.out"
kill -TERM "$hold_pid"; wait_exit "$hold_pid" 10
check "--hold-conns exits 0 on SIGTERM" test "$EXIT_STATUS" = 0

kill -TERM "$aa_pid"; wait_exit "$aa_pid" 10
check "our perf server exits cleanly on SIGTERM" test "$EXIT_STATUS" = 0
kill -TERM "$js_pid"; wait_exit "$js_pid" 10
t_summary
