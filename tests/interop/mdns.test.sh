#!/usr/bin/env bash
# mdns.test.sh: mDNS peer discovery against js-libp2p (@libp2p/mdns, pinned in package.json)
# in both directions: the js node must discover our PeerID with the addresses we announce,
# and we must discover the js node's PeerID with its listen address. Runs in a private
# network namespace (unshare -n, needs root) with a multicast-capable loopback. Needs
# $AA_BUILD_DIR/aa-mdns (tests/tools) and the pinned Node 24 from `npm ci` in tests/interop.
# Bounded: each side runs at most 30 s; both are killed by PID.
if [[ -z ${AA_MDNS_IN_NETNS:-} ]]; then
	if ! command -v unshare >/dev/null 2>&1 || ! unshare -n true 2>/dev/null; then
		echo "SKIP: cannot create a network namespace (unshare -n needs root)"
		exit 0
	fi
	AA_MDNS_IN_NETNS=1 exec unshare -n bash "$0" "$@"
fi
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

tool=$AA_BUILD_DIR/aa-mdns
script=$AA_SOURCE_DIR/tests/interop/mdns_js.mjs
if [[ ! -x $tool || ! -x $NODE ]]; then
	[[ -x $tool ]] || not_ok "$tool not built (tests/tools/aa-mdns.c)"
	[[ -x $NODE ]] || not_ok "$NODE missing: run 'npm ci' in tests/interop"
	t_summary
	exit
fi

ip link set lo up && ip link set lo multicast on
ip route add 224.0.0.0/4 dev lo 2>/dev/null || true

# Our addresses: loopback ones, since js-libp2p only takes private/loopback addresses from
# mDNS; one per transport we speak, and an IPv6 one.
our_addrs=(/ip4/127.0.0.1/tcp/4001 /ip4/127.0.0.1/udp/4001/quic-v1 /ip6/::1/tcp/4001)
spawn "$T_TMP/c.out" "$T_TMP/c.err" "$tool" --seconds 30 --interval-ms 1000 "${our_addrs[@]}"
pid_c=$SPAWNED
spawn "$T_TMP/js.out" "$T_TMP/js.err" "$NODE" "$script" 30
pid_js=$SPAWNED

self_line() { awk '$1 == "self"' "$T_TMP/$1.out" 2>/dev/null; }
check "aa-mdns starts" wait_for 5 eval '[[ -n $(self_line c) ]]'
check "the js-libp2p node starts" wait_for 20 eval '[[ -n $(self_line js) ]]'
read -r _ id_c _ <<<"$(self_line c)"
read -r _ id_js js_addrs <<<"$(self_line js)"
echo "# ours: $id_c ${our_addrs[*]}"
echo "# js:   $id_js $js_addrs"

check "js-libp2p discovers our PeerID with our addresses" \
	wait_for 15 grep -qxF "discovered $id_c ${our_addrs[*]}" "$T_TMP/js.out"
check "we discover the js-libp2p PeerID with its address" \
	wait_for 15 grep -qxF "discovered $id_js $js_addrs" "$T_TMP/c.out"
check "we report nobody else (not ourselves)" \
	eval "! grep '^discovered' '$T_TMP/c.out' | grep -qv ' $id_js '"

kill -TERM "$pid_c" 2>/dev/null
wait "$pid_c" 2>/dev/null

# The real daemon with default settings and the same js node: both ways, and the daemon
# connects to what it discovers (REFERENCE A.5).
mkdir -p "$T_TMP/home"
spawn "$T_TMP/d.out" "$T_TMP/d.err" env HOME="$T_TMP/home" "$DAEMON" --log-level=debug
pid_d=$SPAWNED
wait_for 10 grep -qs '^PEER_ID=' "$T_TMP/d.out"
id_d=$(sed -n 's/^PEER_ID=//p' "$T_TMP/d.out")
check "js-libp2p discovers the daemon" wait_for 15 grep -qs "^discovered $id_d " "$T_TMP/js.out"
check "the daemon discovers js-libp2p" wait_for 15 grep -qs "\"mdns: peer discovered\",\"peer\":\"$id_js\"" "$T_TMP/d.err"
check "the daemon connects to what it discovered" \
	wait_for 15 grep -qs "\"connection established\",\"peer\":\"$id_js\",\"dir\":\"outbound\"" "$T_TMP/d.err"
kill -TERM "$pid_js" "$pid_d" 2>/dev/null
wait "$pid_js" "$pid_d" 2>/dev/null
if ((T_FAILED > 0)); then
	echo "--- aa-mdns stdout/stderr"; cat "$T_TMP/c.out" "$T_TMP/c.err"
	echo "--- js stdout/stderr"; cat "$T_TMP/js.out" "$T_TMP/js.err"
	echo "--- daemon stderr"; tail -20 "$T_TMP/d.err" 2>/dev/null
fi
t_summary
