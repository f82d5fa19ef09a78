/* Unit tests for p2p/peerid: PeerIDs from keys, their text forms (peer-ids spec examples
 * and test vectors), validation of untrusted forms, hashing, and did:key. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include <sodium.h>

#include "base/base58.h"
#include "base/buf.h"
#include "base/cid.h"
#include "base/err.h"
#include "base/multibase.h"
#include "p2p/keys.h"
#include "p2p/peerid.h"

/* peer-ids spec, "Test vectors": the Ed25519 public key. */
static const char SPEC_ED25519_PUBLIC[] =
	"080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e";
/* Its PeerID, CID text and did:key (as js-libp2p and multiformats render them). */
static const char SPEC_ED25519_PEER_ID[] = "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq";
static const char SPEC_ED25519_CID[] =
	"bafzaajaiaejcahwr5d5ofrfbis4l5d6uwr57hu5tjodrypfm6yaq6dsc2r2pzyt6";
static const char SPEC_ED25519_DID[] = "did:key:z6MkgXZvRh65tcAdLJTKdEvyqEv7ZBhn9C5BM68jw4cESKtH";
/* peer-ids spec, "Decoding" examples: one sha2-256 PeerID in both forms, one Ed25519. */
static const char SPEC_SHA256_CID[] = "bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe";
static const char SPEC_SHA256_QM[] = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N";
static const char SPEC_EXAMPLE_ED25519[] = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
static const char SPEC_EXAMPLE_ED25519_HEX[] =
	"0024080112202ffa35a99d3a3cfbb17bb7c1dc5561b18a8dcca4df38dc613ea859c37eb1336b";
/* peer-ids spec, "Test vectors": Secp256k1 (37-byte protobuf → identity) and ECDSA
 * (93 bytes → sha2-256) public keys. */
static const char SPEC_SECP256K1_PUBLIC[] =
	"08021221037777e994e452c21604f91de093ce415f5432f701dd8cd1a7a6fea0e630bfca99";
static const char SPEC_SECP256K1_PEER_ID[] = "16Uiu2HAmLhLvBoYaoZfaMUKuibM6ac163GwKY74c5kiSLg5KvLpY";
static const char SPEC_ECDSA_PUBLIC[] =
	"0803125b3059301306072a8648ce3d020106082a8648ce3d03010703420004de3d300fa36ae0e8f5d53089"
	"9d83abab44abf3161f162a4bc901d8e6ecda020e8b6d5f8da30525e71d6851510c098e5c47c646a597fb"
	"4dcec034e9f77c409e62";
static const char SPEC_ECDSA_SHA256[] =
	"68362c312e155f4f7290b67f5cd094a22a0a4fbf20efd8c287934419350d36f7";

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex) / 2;
	assert_true(n <= cap);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

static struct p2p_peer_id parse_ok(const char *s)
{
	struct p2p_peer_id id;
	assert_int_equal(p2p_peer_id_parse(s, strlen(s), &id), 0);
	return id;
}

static void spec_public_key(uint8_t pub[32])
{
	uint8_t pb[64];
	unhex(SPEC_ED25519_PUBLIC, pb, sizeof pb);
	memcpy(pub, pb + 4, 32);
}

static void test_peer_id_of_spec_ed25519_key(void **state)
{
	uint8_t pub[32];
	spec_public_key(pub);
	struct p2p_peer_id id;
	p2p_peer_id_from_public_key(pub, &id);
	assert_int_equal(id.len, 38);
	assert_int_equal(id.bytes[0], 0x00);
	assert_int_equal(id.bytes[1], 0x24);
	char text[P2P_PEER_ID_STRING_MAX];
	assert_int_equal(p2p_peer_id_to_string(&id, text, sizeof text), strlen(SPEC_ED25519_PEER_ID));
	assert_string_equal(text, SPEC_ED25519_PEER_ID);
	assert_int_equal(p2p_peer_id_to_cid_string(&id, text, sizeof text), strlen(SPEC_ED25519_CID));
	assert_string_equal(text, SPEC_ED25519_CID);
}

static void test_peer_id_from_protobuf_equals_from_raw_key(void **state)
{
	uint8_t pb[64], pub[32];
	size_t n = unhex(SPEC_ED25519_PUBLIC, pb, sizeof pb);
	spec_public_key(pub);
	struct p2p_peer_id a, b;
	p2p_peer_id_from_public_key(pub, &a);
	assert_int_equal(p2p_peer_id_from_public_key_protobuf(pb, n, &b), 0);
	assert_true(p2p_peer_id_equal(&a, &b));
}

static void test_peer_id_inlines_keys_up_to_42_bytes(void **state)
{
	uint8_t pb[64];
	size_t n = unhex(SPEC_SECP256K1_PUBLIC, pb, sizeof pb);
	struct p2p_peer_id id;
	assert_int_equal(p2p_peer_id_from_public_key_protobuf(pb, n, &id), 0);
	assert_int_equal(id.len, 2 + n);
	assert_int_equal(id.bytes[0], 0x00);
	assert_memory_equal(id.bytes + 2, pb, n);
	char text[P2P_PEER_ID_STRING_MAX];
	assert_true(p2p_peer_id_to_string(&id, text, sizeof text) > 0);
	assert_string_equal(text, SPEC_SECP256K1_PEER_ID);
}

static void test_peer_id_hashes_keys_over_42_bytes(void **state)
{
	uint8_t pb[128], digest[32];
	size_t n = unhex(SPEC_ECDSA_PUBLIC, pb, sizeof pb);
	unhex(SPEC_ECDSA_SHA256, digest, sizeof digest);
	struct p2p_peer_id id;
	assert_int_equal(p2p_peer_id_from_public_key_protobuf(pb, n, &id), 0);
	assert_int_equal(id.len, 34);
	assert_int_equal(id.bytes[0], 0x12);
	assert_int_equal(id.bytes[1], 0x20);
	assert_memory_equal(id.bytes + 2, digest, 32);
	char text[P2P_PEER_ID_STRING_MAX];
	assert_true(p2p_peer_id_to_string(&id, text, sizeof text) > 0);
	assert_int_equal(strncmp(text, "Qm", 2), 0);
}

static void test_peer_id_parses_spec_ed25519_example(void **state)
{
	struct p2p_peer_id id = parse_ok(SPEC_EXAMPLE_ED25519);
	uint8_t expect[64];
	size_t n = unhex(SPEC_EXAMPLE_ED25519_HEX, expect, sizeof expect);
	assert_int_equal(id.len, n);
	assert_memory_equal(id.bytes, expect, n);
	char text[P2P_PEER_ID_STRING_MAX];
	assert_true(p2p_peer_id_to_string(&id, text, sizeof text) > 0);
	assert_string_equal(text, SPEC_EXAMPLE_ED25519);
}

static void test_peer_id_sha256_forms_are_the_same_peer(void **state)
{
	struct p2p_peer_id qm = parse_ok(SPEC_SHA256_QM);
	struct p2p_peer_id cid = parse_ok(SPEC_SHA256_CID);
	assert_true(p2p_peer_id_equal(&qm, &cid));
	char text[P2P_PEER_ID_STRING_MAX];
	assert_true(p2p_peer_id_to_string(&cid, text, sizeof text) > 0);
	assert_string_equal(text, SPEC_SHA256_QM);
	assert_true(p2p_peer_id_to_cid_string(&qm, text, sizeof text) > 0);
	assert_string_equal(text, SPEC_SHA256_CID);
}

static void test_peer_id_parses_cid_in_every_multibase(void **state)
{
	struct p2p_peer_id want = parse_ok(SPEC_ED25519_PEER_ID);
	struct aa_buf cid;
	aa_buf_init(&cid);
	cid_encode_v1(CID_CODEC_LIBP2P_KEY, want.bytes, want.len, &cid);
	const enum multibase_code bases[] = { MULTIBASE_BASE32, MULTIBASE_BASE58BTC,
					      MULTIBASE_BASE16 };
	for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
		char *text = NULL;
		assert_int_equal(multibase_encode(bases[i], cid.p, cid.n, &text), 0);
		struct p2p_peer_id got = parse_ok(text);
		assert_true(p2p_peer_id_equal(&got, &want));
		for (char *c = text; *c; c++) /* upper-case multibase too ('B…', 'F…') */
			if (bases[i] != MULTIBASE_BASE58BTC && *c >= 'a' && *c <= 'z')
				*c = (char)(*c - 'a' + 'A');
		if (bases[i] != MULTIBASE_BASE58BTC) {
			got = parse_ok(text);
			assert_true(p2p_peer_id_equal(&got, &want));
		}
		free(text);
	}
	aa_buf_free(&cid);
}

static void test_peer_id_text_round_trips_for_random_keys(void **state)
{
	for (int i = 0; i < 50; i++) {
		struct p2p_keypair kp;
		p2p_keypair_generate(&kp);
		struct p2p_peer_id id, back;
		p2p_peer_id_from_public_key(kp.public_key, &id);
		char text[P2P_PEER_ID_STRING_MAX];
		int n = p2p_peer_id_to_string(&id, text, sizeof text);
		assert_int_equal(strncmp(text, "12D3KooW", 8), 0);
		assert_int_equal(p2p_peer_id_parse(text, (size_t)n, &back), 0);
		assert_true(p2p_peer_id_equal(&id, &back));
		n = p2p_peer_id_to_cid_string(&id, text, sizeof text);
		assert_int_equal(strncmp(text, "bafz", 4), 0);
		assert_int_equal(p2p_peer_id_parse(text, (size_t)n, &back), 0);
		assert_true(p2p_peer_id_equal(&id, &back));
	}
}

static void test_peer_id_parse_takes_length_not_nul(void **state)
{
	char text[128];
	snprintf(text, sizeof text, "%sXYZ", SPEC_ED25519_PEER_ID);
	struct p2p_peer_id id;
	assert_int_equal(p2p_peer_id_parse(text, strlen(SPEC_ED25519_PEER_ID), &id), 0);
	snprintf(text, sizeof text, "%sXYZ", SPEC_ED25519_CID);
	assert_int_equal(p2p_peer_id_parse(text, strlen(SPEC_ED25519_CID), &id), 0);
}

static void test_peer_id_parse_rejects_malformed_text(void **state)
{
	char long_text[300];
	memset(long_text, 'Q', sizeof long_text - 1);
	long_text[sizeof long_text - 1] = '\0';
	const char *bad[] = {
		"",
		"12D3KooW",                                              /* truncated */
		"12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pqq", /* extra char */
		"12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3p0",  /* '0' not base58 */
		"QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5",         /* short digest */
		"bafzaajaiaejcahwr5d5ofrfbis4l5d6uwr57hu5tjodrypfm6yaq6dsc2r2pzyt",
		/* a dag-pb CIDv1 is not a peer (peer-ids spec: codec must be libp2p-key) */
		"bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi",
		"hello",
		"mAXIAJAgBEiAe0ej64sShRLi+j9S0e/PTs0uHHDys9gEPDkLUdPzifg", /* base64: unsupported */
		" 12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq",
		long_text,
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct p2p_peer_id id;
		assert_int_equal(p2p_peer_id_parse(bad[i], strlen(bad[i]), &id), AA_EINVAL);
	}
	struct p2p_peer_id id;
	assert_int_equal(p2p_peer_id_parse("12D3\0KooW", 9, &id), AA_EINVAL);
}

static void test_peer_id_from_bytes_validates_multihash(void **state)
{
	uint8_t ok[64];
	size_t n = unhex(SPEC_EXAMPLE_ED25519_HEX, ok, sizeof ok);
	struct p2p_peer_id id;
	assert_int_equal(p2p_peer_id_from_bytes(ok, n, &id), 0);
	assert_int_equal(p2p_peer_id_from_bytes(ok, n - 1, &id), AA_EINVAL); /* length mismatch */
	assert_int_equal(p2p_peer_id_from_bytes(ok, 0, &id), AA_EINVAL);

	uint8_t not_a_key[] = { 0x00, 0x04, 'a', 'b', 'c', 'd' };
	assert_int_equal(p2p_peer_id_from_bytes(not_a_key, sizeof not_a_key, &id), AA_EINVAL);

	/* identity over 42 bytes: must have been hashed (peer-ids spec). */
	uint8_t big[2 + 43] = { 0x00, 43, 0x08, 0x01, 0x12, 39 };
	assert_int_equal(p2p_peer_id_from_bytes(big, sizeof big, &id), AA_EINVAL);

	uint8_t short_sha[2 + 20] = { 0x12, 20 };
	assert_int_equal(p2p_peer_id_from_bytes(short_sha, sizeof short_sha, &id), AA_EINVAL);

	uint8_t sha512[2 + 32] = { 0x13, 32 };
	assert_true(p2p_peer_id_from_bytes(sha512, sizeof sha512, &id) < 0);
}

static void test_peer_id_equal_and_hash_agree(void **state)
{
	struct p2p_peer_id a = parse_ok(SPEC_ED25519_PEER_ID);
	struct p2p_peer_id b = parse_ok(SPEC_ED25519_CID);
	struct p2p_peer_id c = parse_ok(SPEC_EXAMPLE_ED25519);
	struct p2p_peer_id d = parse_ok(SPEC_SHA256_QM);
	assert_true(p2p_peer_id_equal(&a, &b));
	assert_false(p2p_peer_id_equal(&a, &c));
	assert_false(p2p_peer_id_equal(&a, &d));
	assert_true(p2p_peer_id_hash(&a) == p2p_peer_id_hash(&b));
	assert_true(p2p_peer_id_hash(&a) != p2p_peer_id_hash(&c));
	assert_true(p2p_peer_id_hash(&a) != p2p_peer_id_hash(&d));
}

static void test_peer_id_yields_its_ed25519_key(void **state)
{
	uint8_t pub[32], got[32];
	spec_public_key(pub);
	struct p2p_peer_id id = parse_ok(SPEC_ED25519_PEER_ID);
	assert_int_equal(p2p_peer_id_ed25519_public_key(&id, got), 0);
	assert_memory_equal(got, pub, 32);
}

static void test_peer_id_without_ed25519_key_is_unsupported(void **state)
{
	uint8_t got[32];
	struct p2p_peer_id sha = parse_ok(SPEC_SHA256_QM);
	assert_int_equal(p2p_peer_id_ed25519_public_key(&sha, got), AA_ENOTSUP);
	struct p2p_peer_id secp = parse_ok(SPEC_SECP256K1_PEER_ID);
	assert_int_equal(p2p_peer_id_ed25519_public_key(&secp, got), AA_ENOTSUP);
	struct p2p_peer_id unset = { 0 };
	assert_int_equal(p2p_peer_id_ed25519_public_key(&unset, got), AA_EINVAL);
}

static void test_peer_id_to_string_reports_small_buffer(void **state)
{
	struct p2p_peer_id id = parse_ok(SPEC_ED25519_PEER_ID);
	char small[20];
	assert_int_equal(p2p_peer_id_to_string(&id, small, sizeof small), AA_ERANGE);
	assert_int_equal(p2p_peer_id_to_cid_string(&id, small, sizeof small), AA_ERANGE);
	struct p2p_peer_id unset = { 0 };
	char text[P2P_PEER_ID_STRING_MAX];
	assert_int_equal(p2p_peer_id_to_string(&unset, text, sizeof text), AA_EINVAL);
}

static void test_did_key_of_spec_key(void **state)
{
	uint8_t pub[32], back[32];
	spec_public_key(pub);
	char did[P2P_DID_KEY_STRING_MAX];
	assert_int_equal(p2p_did_key_from_public_key(pub, did, sizeof did), strlen(SPEC_ED25519_DID));
	assert_string_equal(did, SPEC_ED25519_DID);
	assert_int_equal(p2p_did_key_parse(did, strlen(did), back), 0);
	assert_memory_equal(back, pub, 32);
}

static void test_did_key_round_trips_for_random_keys(void **state)
{
	for (int i = 0; i < 50; i++) {
		struct p2p_keypair kp;
		p2p_keypair_generate(&kp);
		char did[P2P_DID_KEY_STRING_MAX];
		int n = p2p_did_key_from_public_key(kp.public_key, did, sizeof did);
		assert_true(n > 0);
		assert_int_equal(strncmp(did, "did:key:z6Mk", 12), 0);
		uint8_t back[32];
		assert_int_equal(p2p_did_key_parse(did, (size_t)n, back), 0);
		assert_memory_equal(back, kp.public_key, 32);
	}
}

static void test_did_key_parse_rejects_bad_input(void **state)
{
	uint8_t pub[32];
	const char *invalid[] = {
		"",
		"did:key:",
		"did:key:z",
		"did:web:z6MkgXZvRh65tcAdLJTKdEvyqEv7ZBhn9C5BM68jw4cESKtH",
		"did:key:z6MkgXZvRh65tcAdLJTKdEvyqEv7ZBhn9C5BM68jw4cESKt0",  /* '0' */
		"did:key:z6MkgXZvRh65tcAdLJTKdEvyqEv7ZBhn9C5BM68jw4cESKtH#z6Mk",
	};
	for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
		assert_int_equal(p2p_did_key_parse(invalid[i], strlen(invalid[i]), pub), AA_EINVAL);

	/* ed25519-pub with a 31- or 33-byte key. (Truncating the text instead would change
	 * the leading bytes too: base58 is one big number.) */
	for (size_t key_len = 31; key_len <= 33; key_len += 2) {
		uint8_t raw[2 + 33] = { 0xed, 0x01, 0x07 };
		char text[80] = "did:key:z";
		assert_true(base58_encode(raw, 2 + key_len, text + 9, sizeof text - 9) > 0);
		assert_int_equal(p2p_did_key_parse(text, strlen(text), pub), AA_EINVAL);
	}

	/* A secp256k1-pub (0xe7) did:key and a non-base58 multibase are valid DIDs we do not
	 * handle. */
	uint8_t raw[35] = { 0xe7, 0x01, 0x02 };
	char text[80] = "did:key:z";
	assert_true(base58_encode(raw, sizeof raw, text + 9, sizeof text - 9) > 0);
	assert_int_equal(p2p_did_key_parse(text, strlen(text), pub), AA_ENOTSUP);
	const char *b32 = "did:key:bfaaqaaaa";
	assert_int_equal(p2p_did_key_parse(b32, strlen(b32), pub), AA_ENOTSUP);
}

static void test_did_key_reports_small_buffer(void **state)
{
	uint8_t pub[32];
	spec_public_key(pub);
	char small[30];
	assert_int_equal(p2p_did_key_from_public_key(pub, small, sizeof small), AA_ERANGE);
	assert_int_equal(p2p_did_key_from_public_key(pub, small, 5), AA_ERANGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peer_id_of_spec_ed25519_key),
		cmocka_unit_test(test_peer_id_from_protobuf_equals_from_raw_key),
		cmocka_unit_test(test_peer_id_inlines_keys_up_to_42_bytes),
		cmocka_unit_test(test_peer_id_hashes_keys_over_42_bytes),
		cmocka_unit_test(test_peer_id_parses_spec_ed25519_example),
		cmocka_unit_test(test_peer_id_sha256_forms_are_the_same_peer),
		cmocka_unit_test(test_peer_id_parses_cid_in_every_multibase),
		cmocka_unit_test(test_peer_id_text_round_trips_for_random_keys),
		cmocka_unit_test(test_peer_id_parse_takes_length_not_nul),
		cmocka_unit_test(test_peer_id_parse_rejects_malformed_text),
		cmocka_unit_test(test_peer_id_from_bytes_validates_multihash),
		cmocka_unit_test(test_peer_id_equal_and_hash_agree),
		cmocka_unit_test(test_peer_id_yields_its_ed25519_key),
		cmocka_unit_test(test_peer_id_without_ed25519_key_is_unsupported),
		cmocka_unit_test(test_peer_id_to_string_reports_small_buffer),
		cmocka_unit_test(test_did_key_of_spec_key),
		cmocka_unit_test(test_did_key_round_trips_for_random_keys),
		cmocka_unit_test(test_did_key_parse_rejects_bad_input),
		cmocka_unit_test(test_did_key_reports_small_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
