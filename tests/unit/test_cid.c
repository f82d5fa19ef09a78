/* Unit tests for base/cid: CIDv1 binary and text forms, using the cid spec's example and
 * the libp2p peer-ids spec's CID-encoded PeerID. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/cid.h"
#include "base/err.h"
#include "base/multihash.h"

/* cid spec README: zb2rhe5P4gXftAwvA4eXQ5HJwsER2owDyS9sKaQRRVQPn93bA is
 * cidv1 - raw - sha2-256-256-6e6ff795…245c95. */
static const uint8_t raw_digest[32] = {
	0x6e, 0x6f, 0xf7, 0x95, 0x0a, 0x36, 0x18, 0x7a, 0x80, 0x16, 0x13, 0x42, 0x6e, 0x85, 0x8d, 0xce,
	0x68, 0x6c, 0xd7, 0xd7, 0xe3, 0xc0, 0xfc, 0x42, 0xee, 0x03, 0x30, 0x07, 0x2d, 0x24, 0x5c, 0x95,
};

/* libp2p peer-ids spec: bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe is the
 * CID form of QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N (sha2-256 multihash). */
static const uint8_t peer_mh[34] = {
	0x12, 0x20, 0x9d, 0xff, 0x3b, 0x17, 0xd7, 0x4c, 0xf4, 0xd3, 0x8a, 0x50, 0xd8, 0xb6,
	0x38, 0x3e, 0x92, 0xd1, 0x81, 0xa1, 0x03, 0x95, 0xa5, 0xe7, 0x3a, 0x72, 0x6d, 0xcc,
	0xcb, 0xd2, 0x1b, 0xf6, 0xf0, 0xb9,
};

static void test_cid_parses_spec_example_base58(void **state)
{
	uint8_t *bytes;
	size_t len;
	struct cid c;
	assert_int_equal(cid_parse_string("zb2rhe5P4gXftAwvA4eXQ5HJwsER2owDyS9sKaQRRVQPn93bA",
					  &bytes, &len, &c), 0);
	assert_int_equal(len, 36);
	assert_true(c.version == 1);
	assert_true(c.codec == CID_CODEC_RAW);
	assert_true(c.hash.code == MULTIHASH_SHA2_256);
	assert_int_equal(c.hash.digest.n, 32);
	assert_memory_equal(c.hash.digest.p, raw_digest, 32);
	assert_ptr_equal(c.hash_bytes.p, bytes + 2);
	assert_int_equal(c.hash_bytes.n, 34);
	free(bytes);
}

static void test_cid_to_string_uses_base32_lower(void **state)
{
	uint8_t mh[34] = { 0x12, 0x20 };
	memcpy(mh + 2, raw_digest, 32);
	char *s = cid_to_string(CID_CODEC_RAW, mh, sizeof mh);
	assert_string_equal(s, "bafkreidon73zkcrwdb5iafqtijxildoonbwnpv7dyd6ef3qdgads2jc4su");
	free(s);
}

static void test_cid_round_trips_peer_id_cid(void **state)
{
	const char *text = "bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe";
	uint8_t *bytes;
	size_t len;
	struct cid c;
	assert_int_equal(cid_parse_string(text, &bytes, &len, &c), 0);
	assert_true(c.codec == CID_CODEC_LIBP2P_KEY);
	assert_int_equal(c.hash_bytes.n, sizeof peer_mh);
	assert_memory_equal(c.hash_bytes.p, peer_mh, sizeof peer_mh);
	char *again = cid_to_string(c.codec, c.hash_bytes.p, c.hash_bytes.n);
	assert_string_equal(again, text);
	free(again);
	free(bytes);
}

static void test_cid_parses_upper_case_base32(void **state)
{
	uint8_t *bytes;
	size_t len;
	struct cid c;
	assert_int_equal(cid_parse_string("BAFZBEIE5745RPV2M6TJYUUGYWY4D5EWRQGQQHFNF445HE3OMZPJBX5XQXE",
					  &bytes, &len, &c), 0);
	assert_memory_equal(c.hash_bytes.p, peer_mh, sizeof peer_mh);
	free(bytes);
}

static void test_cid_encode_v1_prefixes_version_and_codec(void **state)
{
	struct aa_buf b;
	aa_buf_init(&b);
	cid_encode_v1(CID_CODEC_LIBP2P_KEY, peer_mh, sizeof peer_mh, &b);
	assert_int_equal(b.n, 36);
	assert_int_equal(b.p[0], 0x01);
	assert_int_equal(b.p[1], 0x72);
	struct cid c;
	assert_int_equal(cid_decode(b.p, b.n, &c), 0);
	assert_true(c.codec == CID_CODEC_LIBP2P_KEY);
	aa_buf_free(&b);

	/* A codec above 127 takes a two-byte varint. */
	aa_buf_init(&b);
	cid_encode_v1(0x0129 /* dag-json */, peer_mh, sizeof peer_mh, &b);
	assert_memory_equal(b.p, "\x01\xa9\x02", 3);
	assert_int_equal(cid_decode(b.p, b.n, &c), 0);
	assert_true(c.codec == 0x0129);
	aa_buf_free(&b);
}

static void test_cid_decode_rejects_other_versions(void **state)
{
	uint8_t in[36] = { 0x01, 0x72 };
	memcpy(in + 2, peer_mh, sizeof peer_mh);
	struct cid c;
	in[0] = 0x02;
	assert_int_equal(cid_decode(in, sizeof in, &c), AA_ENOTSUP);
	in[0] = 0x00;
	assert_int_equal(cid_decode(in, sizeof in, &c), AA_ENOTSUP);
	/* A bare CIDv0 multihash is not a CIDv1. */
	assert_int_equal(cid_decode(peer_mh, sizeof peer_mh, &c), AA_ENOTSUP);
}

static void test_cid_decode_rejects_malformed_bytes(void **state)
{
	uint8_t in[37] = { 0x01, 0x72 };
	memcpy(in + 2, peer_mh, sizeof peer_mh);
	struct cid c;
	assert_int_equal(cid_decode(in, 0, &c), AA_EINVAL);
	assert_int_equal(cid_decode(in, 1, &c), AA_EINVAL);
	assert_int_equal(cid_decode(in, 2, &c), AA_EINVAL);
	assert_int_equal(cid_decode(in, 35, &c), AA_EINVAL);
	assert_int_equal(cid_decode(in, 37, &c), AA_EINVAL);
	const uint8_t overlong_codec[] = { 0x01, 0xf2, 0x00, 0x00, 0x00 };
	assert_int_equal(cid_decode(overlong_codec, sizeof overlong_codec, &c), AA_EINVAL);
	const uint8_t overlong_version[] = { 0x81, 0x00, 0x72, 0x00, 0x00 };
	assert_int_equal(cid_decode(overlong_version, sizeof overlong_version, &c), AA_EINVAL);
}

static void test_cid_parse_rejects_multibase_cidv0(void **state)
{
	/* cid spec: a multibase string whose first byte is 0x12 is an error. This is
	 * "z" + base58(0x12 0x20 …), i.e. a CIDv0 wrongly given a multibase prefix. */
	uint8_t *bytes = NULL;
	size_t len;
	struct cid c;
	assert_int_equal(cid_parse_string("zQmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N", &bytes,
					  &len, &c), AA_EINVAL);
	assert_null(bytes);
	/* Bare CIDv0 text has no multibase prefix we know. */
	assert_int_equal(cid_parse_string("QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N", &bytes,
					  &len, &c), AA_ENOTSUP);
}

static void test_cid_parse_rejects_bad_text(void **state)
{
	uint8_t *bytes = NULL;
	size_t len;
	struct cid c;
	assert_int_equal(cid_parse_string("", &bytes, &len, &c), AA_EINVAL);
	assert_int_equal(cid_parse_string("b", &bytes, &len, &c), AA_EINVAL);
	assert_int_equal(cid_parse_string("bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqx1",
					  &bytes, &len, &c), AA_EINVAL);
	assert_int_equal(cid_parse_string("bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqx",
					  &bytes, &len, &c), AA_EINVAL);
	assert_int_equal(cid_parse_string("xafzbeie5745", &bytes, &len, &c), AA_ENOTSUP);
	assert_null(bytes);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cid_parses_spec_example_base58),
		cmocka_unit_test(test_cid_to_string_uses_base32_lower),
		cmocka_unit_test(test_cid_round_trips_peer_id_cid),
		cmocka_unit_test(test_cid_parses_upper_case_base32),
		cmocka_unit_test(test_cid_encode_v1_prefixes_version_and_codec),
		cmocka_unit_test(test_cid_decode_rejects_other_versions),
		cmocka_unit_test(test_cid_decode_rejects_malformed_bytes),
		cmocka_unit_test(test_cid_parse_rejects_multibase_cidv0),
		cmocka_unit_test(test_cid_parse_rejects_bad_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
