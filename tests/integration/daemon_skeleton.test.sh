#!/usr/bin/env bash
# The daemon skeleton as a user and the SDKs meet it: flags, config errors, identity on
# disk, the stdout contract, clean stop on SIGTERM/SIGINT, and no leaks under valgrind.
# It runs in a network namespace of its own, so the defaults (wildcard listens, mDNS) are
# exercised without sending anything beyond it; without unshare, mDNS is switched off.
if [[ -z ${AA_IN_NETNS:-} ]]; then
	if unshare -n true 2>/dev/null; then
		AA_IN_NETNS=1 exec unshare -n bash "$0" "$@"
	fi
	export AGENTANYCAST_ENABLE_MDNS=false
fi
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
[[ -n ${AA_IN_NETNS:-} ]] && ip link set lo up

home=$T_TMP/home
mkdir -p "$home"
run_daemon() { HOME=$home timeout 20 "$DAEMON" "$@"; }

out=$(run_daemon --version); st=$?
check "--version prints the version and exits 0" test "$st" = 0 -a "$out" = "agentanycastd 0.1.0"

out=$(run_daemon --help); st=$?
check "--help exits 0" test "$st" = 0
for f in --config --key --grpc-listen --log-level --bootstrap-peers --bridge-listen \
	--metrics-listen --transport --namespace --store-path --listen-addrs --version; do
	grep -q -- "$f" <<<"$out" || not_ok "--help mentions $f"
done

run_daemon --no-such-flag >/dev/null 2>"$T_TMP/err"; st=$?
check "unknown flag is a usage error (exit 2)" test "$st" = 2
check "usage error names the flag" grep -q -- '--no-such-flag' "$T_TMP/err"

run_daemon --version extra >/dev/null 2>&1; st=$?
check "--version wins over a positional argument" test "$st" = 0
run_daemon frobnicate >/dev/null 2>"$T_TMP/err"; st=$?
check "unknown command is a usage error" test "$st" = 2

printf 'log_level = "info"\n\n[limits]\nmax_connections = "many"\n' >"$T_TMP/bad.toml"
run_daemon --config="$T_TMP/bad.toml" >/dev/null 2>"$T_TMP/err"; st=$?
check "wrong type in config exits 1" test "$st" = 1
check "config error names file:line:col and key" grep -q "bad.toml:4:19: .*max_connections" "$T_TMP/err"

printf 'no_such_key = 1\n' >"$T_TMP/unknown.toml"
run_daemon --config "$T_TMP/unknown.toml" >/dev/null 2>"$T_TMP/err"; st=$?
check "unknown config key exits 1 naming it" eval 'test $st = 1 && grep -q "unknown.toml:1:1: .*no_such_key" "$T_TMP/err"'

AGENTANYCAST_LOG_LEVEL=loud run_daemon >/dev/null 2>"$T_TMP/err"; st=$?
check "bad env value exits 1 naming the variable" eval 'test $st = 1 && grep -q AGENTANYCAST_LOG_LEVEL "$T_TMP/err"'

# First start with defaults: creates ~/.agentanycast (0700), key (0600, 68 bytes), prints PEER_ID.
spawn "$T_TMP/out1" "$T_TMP/err1" env HOME="$home" "$DAEMON"
pid=$SPAWNED
wait_for 10 grep -q '^PEER_ID=' "$T_TMP/out1"
check "prints PEER_ID=12D3KooW… on stdout" grep -Eq '^PEER_ID=12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$' "$T_TMP/out1"
check "state directory is 0700" test "$(stat -c %a "$home/.agentanycast")" = 700
check "key file is 0600" test "$(stat -c %a "$home/.agentanycast/key")" = 600
check "key file is 68 bytes" test "$(stat -c %s "$home/.agentanycast/key")" = 68
check "store directory is 0700" test "$(stat -c %a "$home/.agentanycast/data")" = 700
check "logs are JSON lines on stderr" grep -q '^{"time":".*","level":"info","msg":"identity ready"' "$T_TMP/err1"
kill -TERM "$pid"
wait_exit "$pid" 5
check "SIGTERM exits 0 within 5 s" test "$EXIT_STATUS" = 0

# Second start: same key, same identity; SIGINT also stops cleanly.
spawn "$T_TMP/out2" "$T_TMP/err2" env HOME="$home" "$DAEMON" --log-format=text
pid=$SPAWNED
wait_for 10 grep -q '^PEER_ID=' "$T_TMP/out2"
check "restart keeps the PeerID" test "$(head -1 "$T_TMP/out1")" = "$(head -1 "$T_TMP/out2")"
check "--log-format=text gives text logs" grep -q 'level=info msg="identity ready"' "$T_TMP/err2"
kill -INT "$pid"
wait_exit "$pid" 5
check "SIGINT exits 0" test "$EXIT_STATUS" = 0

# Empty key path in the file: ephemeral identity, nothing written. (An empty --key= flag
# means "not set", as in the reference.)
printf 'key_path = ""\n' >"$T_TMP/ephemeral.toml"
spawn "$T_TMP/out3" "$T_TMP/err3" env HOME="$home" "$DAEMON" --config="$T_TMP/ephemeral.toml"
pid=$SPAWNED
wait_for 10 grep -q '^PEER_ID=' "$T_TMP/out3"
check "empty key path gives a different, ephemeral identity" test "$(head -1 "$T_TMP/out1")" != "$(head -1 "$T_TMP/out3")"
kill -TERM "$pid"; wait_exit "$pid" 5

# Bad key files stop the daemon with status 1 and a reason.
chmod 0644 "$home/.agentanycast/key"
run_daemon >/dev/null 2>"$T_TMP/err"; st=$?
check "world-readable key file is refused (exit 1)" eval 'test $st = 1 && grep -qi "key" "$T_TMP/err"'
head -c 40 /dev/urandom >"$T_TMP/short.key"; chmod 600 "$T_TMP/short.key"
run_daemon --key="$T_TMP/short.key" >/dev/null 2>"$T_TMP/err"; st=$?
check "wrong-size key file is refused (exit 1)" test "$st" = 1
chmod 0600 "$home/.agentanycast/key"

# ~ is expanded in paths given on the command line and in the file.
printf 'store_path = "~/custom-store"\n' >"$T_TMP/tilde.toml"
spawn "$T_TMP/out4" "$T_TMP/err4" env HOME="$home" "$DAEMON" --config="$T_TMP/tilde.toml" --key="~/k2"
pid=$SPAWNED
wait_for 10 grep -q '^PEER_ID=' "$T_TMP/out4"
check "~ expanded in store_path (file) and --key (flag)" test -d "$home/custom-store" -a -f "$home/k2"
kill -TERM "$pid"; wait_exit "$pid" 5

# valgrind: no leaks and no errors over a start and a clean stop.
if ! sanitized_build && command -v valgrind >/dev/null; then
	spawn "$T_TMP/out5" "$T_TMP/vg" env HOME="$home" valgrind --leak-check=full \
		--show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \
		--error-exitcode=99 "$DAEMON"
	pid=$SPAWNED
	wait_for 60 grep -q '^PEER_ID=' "$T_TMP/out5"
	kill -TERM "$pid"
	wait_exit "$pid" 30
	st=$EXIT_STATUS
	check "valgrind: clean start and stop, no leaks (status $st)" test "$st" = 0
	[[ $st == 0 ]] || tail -30 "$T_TMP/vg" >&2
fi

t_summary
