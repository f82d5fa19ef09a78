/* Unit tests for base/multihash: identity and sha2-256 sums, framing checks on decode. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/multihash.h"

/* SHA-256("hello world"). */
static const uint8_t hello_sha256[32] = {
	0xb9, 0x4d, 0x27, 0xb9, 0x93, 0x4d, 0x3e, 0x08, 0xa5, 0x2e, 0x52, 0xd7, 0xda, 0x7d, 0xab, 0xfa,
	0xc4, 0x84, 0xef, 0xe3, 0x7a, 0x53, 0x80, 0xee, 0x90, 0x88, 0xf7, 0xac, 0xe2, 0xef, 0xcd, 0xe9,
};

static void test_multihash_sha256_sum_has_header_and_digest(void **state)
{
	struct aa_buf b;
	aa_buf_init(&b);
	assert_int_equal(multihash_sum(MULTIHASH_SHA2_256, (const uint8_t *)"hello world", 11, &b), 0);
	assert_int_equal(b.n, 34);
	assert_int_equal(b.p[0], 0x12);
	assert_int_equal(b.p[1], 0x20);
	assert_memory_equal(b.p + 2, hello_sha256, 32);
	aa_buf_free(&b);
}

static void test_multihash_identity_sum_copies_input(void **state)
{
	struct aa_buf b;
	aa_buf_init(&b);
	assert_int_equal(multihash_sum(MULTIHASH_IDENTITY, (const uint8_t *)"abc", 3, &b), 0);
	assert_int_equal(b.n, 5);
	assert_memory_equal(b.p, "\x00\x03" "abc", 5);
	aa_buf_free(&b);
}

static void test_multihash_identity_of_large_input_uses_varint_length(void **state)
{
	uint8_t data[200];
	memset(data, 7, sizeof data);
	struct aa_buf b;
	aa_buf_init(&b);
	assert_int_equal(multihash_sum(MULTIHASH_IDENTITY, data, sizeof data, &b), 0);
	assert_int_equal(b.n, 203);
	assert_memory_equal(b.p, "\x00\xc8\x01", 3);
	struct multihash mh;
	assert_int_equal(multihash_decode(b.p, b.n, &mh), 0);
	assert_int_equal(mh.digest.n, 200);
	aa_buf_free(&b);
}

static void test_multihash_sum_rejects_unknown_function(void **state)
{
	struct aa_buf b;
	aa_buf_init(&b);
	assert_int_equal(multihash_sum(0x13 /* sha2-512 */, (const uint8_t *)"x", 1, &b), AA_ENOTSUP);
	assert_int_equal(b.n, 0);
	aa_buf_free(&b);
}

static void test_multihash_decode_borrows_digest(void **state)
{
	uint8_t in[34] = { 0x12, 0x20 };
	memcpy(in + 2, hello_sha256, 32);
	struct multihash mh;
	assert_int_equal(multihash_decode(in, sizeof in, &mh), 0);
	assert_true(mh.code == MULTIHASH_SHA2_256);
	assert_ptr_equal(mh.digest.p, in + 2);
	assert_int_equal(mh.digest.n, 32);
}

static void test_multihash_decode_rejects_length_mismatch(void **state)
{
	uint8_t in[35] = { 0x12, 0x20 };
	struct multihash mh;
	/* Trailing byte, one byte short, and a length varint that runs off the end. */
	assert_int_equal(multihash_decode(in, 35, &mh), AA_EINVAL);
	assert_int_equal(multihash_decode(in, 33, &mh), AA_EINVAL);
	assert_int_equal(multihash_decode((const uint8_t *)"\x00\x80", 2, &mh), AA_EINVAL);
	assert_int_equal(multihash_decode((const uint8_t *)"\x00", 1, &mh), AA_EINVAL);
	assert_int_equal(multihash_decode(in, 0, &mh), AA_EINVAL);
}

static void test_multihash_decode_rejects_truncated_sha256(void **state)
{
	const uint8_t in[] = { 0x12, 0x04, 1, 2, 3, 4 };
	struct multihash mh;
	assert_int_equal(multihash_decode(in, sizeof in, &mh), AA_EINVAL);
	assert_int_equal(multihash_decode_any(in, sizeof in, &mh), 0);
}

static void test_multihash_decode_rejects_overlong_varints(void **state)
{
	const uint8_t code[] = { 0x92, 0x00, 0x01, 0xaa };
	const uint8_t len[] = { 0x00, 0x81, 0x00, 0xaa };
	struct multihash mh;
	assert_int_equal(multihash_decode(code, sizeof code, &mh), AA_EINVAL);
	assert_int_equal(multihash_decode(len, sizeof len, &mh), AA_EINVAL);
}

static void test_multihash_decode_reports_unknown_function(void **state)
{
	const uint8_t in[] = { 0x13, 0x02, 0xaa, 0xbb };
	struct multihash mh;
	assert_int_equal(multihash_decode(in, sizeof in, &mh), AA_ENOTSUP);
	assert_int_equal(multihash_decode_any(in, sizeof in, &mh), 0);
	assert_true(mh.code == 0x13);
	assert_int_equal(mh.digest.n, 2);
}

static void test_multihash_decode_accepts_empty_identity(void **state)
{
	struct multihash mh;
	assert_int_equal(multihash_decode((const uint8_t *)"\x00\x00", 2, &mh), 0);
	assert_int_equal(mh.digest.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_multihash_sha256_sum_has_header_and_digest),
		cmocka_unit_test(test_multihash_identity_sum_copies_input),
		cmocka_unit_test(test_multihash_identity_of_large_input_uses_varint_length),
		cmocka_unit_test(test_multihash_sum_rejects_unknown_function),
		cmocka_unit_test(test_multihash_decode_borrows_digest),
		cmocka_unit_test(test_multihash_decode_rejects_length_mismatch),
		cmocka_unit_test(test_multihash_decode_rejects_truncated_sha256),
		cmocka_unit_test(test_multihash_decode_rejects_overlong_varints),
		cmocka_unit_test(test_multihash_decode_reports_unknown_function),
		cmocka_unit_test(test_multihash_decode_accepts_empty_identity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
