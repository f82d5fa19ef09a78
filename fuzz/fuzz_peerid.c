/* fuzz_peerid: PeerID and did:key text parsing, binary PeerIDs, and the key protobuf
 * decoders, with round-trip invariants. The first input byte picks the parser; the rest is
 * its input. Any accepted input must re-encode to something that parses to the same value,
 * and canonical forms (base58 PeerIDs, PublicKey protobufs, did:key) must re-encode to the
 * very same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p2p/keys.h"
#include "p2p/peerid.h"

#define CHECK(cond)                    \
	do {                           \
		if (!(cond))           \
			__builtin_trap(); \
	} while (0)

static void check_id_round_trips(const struct p2p_peer_id *id)
{
	char text[P2P_PEER_ID_STRING_MAX];
	struct p2p_peer_id back;
	int n = p2p_peer_id_to_string(id, text, sizeof text);
	CHECK(n > 0);
	CHECK(p2p_peer_id_parse(text, (size_t)n, &back) == 0 && p2p_peer_id_equal(id, &back));
	n = p2p_peer_id_to_cid_string(id, text, sizeof text);
	CHECK(n > 0);
	CHECK(p2p_peer_id_parse(text, (size_t)n, &back) == 0 && p2p_peer_id_equal(id, &back));
	CHECK(p2p_peer_id_hash(id) == p2p_peer_id_hash(&back));
	uint8_t pub[P2P_ED25519_PUBLIC_KEY_BYTES];
	if (p2p_peer_id_ed25519_public_key(id, pub) == 0) {
		p2p_peer_id_from_public_key(pub, &back);
		CHECK(p2p_peer_id_equal(id, &back));
	}
}

static void fuzz_text(const uint8_t *p, size_t n)
{
	struct p2p_peer_id id;
	if (p2p_peer_id_parse((const char *)p, n, &id) != 0)
		return;
	check_id_round_trips(&id);
	if (p[0] == '1' || p[0] == 'Q') { /* bare base58btc is canonical */
		char text[P2P_PEER_ID_STRING_MAX];
		int len = p2p_peer_id_to_string(&id, text, sizeof text);
		CHECK(len > 0 && (size_t)len == n && memcmp(text, p, n) == 0);
	}
}

static void fuzz_bytes(const uint8_t *p, size_t n)
{
	struct p2p_peer_id id;
	if (p2p_peer_id_from_bytes(p, n, &id) != 0)
		return;
	CHECK(id.len == n && memcmp(id.bytes, p, n) == 0);
	check_id_round_trips(&id);
}

static void fuzz_key_protobufs(const uint8_t *p, size_t n)
{
	enum p2p_key_type type;
	struct aa_slice data;
	if (p2p_key_protobuf_parse(p, n, &type, &data) == 0) {
		CHECK(data.p >= p && data.p + data.n == p + n);
		struct p2p_peer_id id;
		CHECK(p2p_peer_id_from_public_key_protobuf(p, n, &id) == 0);
		check_id_round_trips(&id);
	}
	char why[160];
	uint8_t pub[P2P_ED25519_PUBLIC_KEY_BYTES];
	if (p2p_public_key_unmarshal(p, n, pub, why, sizeof why) == 0) {
		uint8_t again[P2P_ED25519_PUBLIC_KEY_PROTOBUF_BYTES];
		p2p_public_key_marshal(pub, again);
		CHECK(n == sizeof again && memcmp(again, p, n) == 0);
	}
	struct p2p_keypair kp, back;
	if (p2p_private_key_unmarshal(p, n, &kp, why, sizeof why) == 0) {
		uint8_t again[P2P_ED25519_PRIVATE_KEY_PROTOBUF_BYTES];
		p2p_private_key_marshal(&kp, again);
		CHECK(p2p_private_key_unmarshal(again, sizeof again, &back, why, sizeof why) == 0);
		CHECK(memcmp(&kp, &back, sizeof kp) == 0);
		CHECK(n == sizeof again ? memcmp(again, p, n) == 0 : n == sizeof again + 32);
	}
}

static void fuzz_did(const uint8_t *p, size_t n)
{
	uint8_t pub[P2P_ED25519_PUBLIC_KEY_BYTES];
	if (p2p_did_key_parse((const char *)p, n, pub) != 0)
		return;
	char text[P2P_DID_KEY_STRING_MAX];
	int len = p2p_did_key_from_public_key(pub, text, sizeof text);
	CHECK(len > 0 && (size_t)len == n && memcmp(text, p, n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	switch (data[0] % 4) {
	case 0: fuzz_text(p, n); break;
	case 1: fuzz_bytes(p, n); break;
	case 2: fuzz_key_protobufs(p, n); break;
	case 3: fuzz_did(p, n); break;
	}
	return 0;
}
