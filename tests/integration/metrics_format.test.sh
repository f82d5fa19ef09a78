#!/usr/bin/env bash
# metrics_format: the exposition metrics_render() produces, with every kind of family
# (counters, gauges, callback gauges, histograms with and without observations, escaped
# label values, +Inf/-Inf/NaN, process_* metrics), passes `promtool check metrics`
# (Debian package prometheus): it must parse, and the linter must have nothing to say.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"

SAMPLE=$AA_BUILD_DIR/aa-metrics-sample
PROMTOOL=${PROMTOOL:-/usr/bin/promtool}

if [[ ! -x $PROMTOOL ]]; then
	not_ok "promtool not found at $PROMTOOL (scripts/install-deps installs prometheus)"
	t_summary
	exit
fi

"$SAMPLE" >"$T_TMP/metrics.txt" 2>"$T_TMP/sample.err"
check "aa-metrics-sample exits 0" test $? -eq 0
check "aa-metrics-sample writes nothing to stderr" test ! -s "$T_TMP/sample.err"
check "sample is not empty" test -s "$T_TMP/metrics.txt"
check "sample has every kind" \
	grep -q '^# TYPE agentanycast_task_duration_seconds histogram$' "$T_TMP/metrics.txt"
check "sample has process metrics" \
	grep -q '^process_resident_memory_bytes [0-9]' "$T_TMP/metrics.txt"

"$PROMTOOL" check metrics <"$T_TMP/metrics.txt" >"$T_TMP/promtool.out" 2>&1
status=$?
check "promtool check metrics exits 0" test "$status" -eq 0
# promtool prints one line per lint problem; there must be none.
check "promtool has no complaints" test ! -s "$T_TMP/promtool.out"
if [[ -s $T_TMP/promtool.out ]]; then
	sed 's/^/promtool: /' "$T_TMP/promtool.out" >&2
fi

# The checker really checks: a counter without _total and a broken line are reported.
printf '# HELP bad A counter.\n# TYPE bad counter\nbad 1\n' >"$T_TMP/bad.txt"
"$PROMTOOL" check metrics <"$T_TMP/bad.txt" >"$T_TMP/bad.out" 2>&1
check "promtool reports a lint problem" test -s "$T_TMP/bad.out"
printf 'broken{ 1\n' | "$PROMTOOL" check metrics >/dev/null 2>&1
check "promtool rejects a malformed exposition" test $? -ne 0

t_summary
