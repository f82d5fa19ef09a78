/* Unit tests for base/varint: the unsigned-varint spec examples, the 9-byte maximum and
 * the rejection of non-minimal encodings. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/varint.h"

struct varint_vector {
	uint64_t value;
	uint8_t bytes[10];
	size_t len;
};

/* The examples table of multiformats/unsigned-varint README, plus 0. */
static const struct varint_vector spec_vectors[] = {
	{ 0, { 0x00 }, 1 },
	{ 1, { 0x01 }, 1 },
	{ 127, { 0x7f }, 1 },
	{ 128, { 0x80, 0x01 }, 2 },
	{ 255, { 0xff, 0x01 }, 2 },
	{ 300, { 0xac, 0x02 }, 2 },
	{ 16384, { 0x80, 0x80, 0x01 }, 3 },
};

static void test_varint_encodes_spec_examples(void **state)
{
	for (size_t i = 0; i < sizeof spec_vectors / sizeof spec_vectors[0]; i++) {
		uint8_t out[AA_VARINT_MAX_BYTES];
		int n = varint_encode(spec_vectors[i].value, out);
		assert_int_equal(n, spec_vectors[i].len);
		assert_memory_equal(out, spec_vectors[i].bytes, spec_vectors[i].len);
		assert_int_equal(varint_size(spec_vectors[i].value), spec_vectors[i].len);
	}
}

static void test_varint_decodes_spec_examples(void **state)
{
	for (size_t i = 0; i < sizeof spec_vectors / sizeof spec_vectors[0]; i++) {
		uint64_t v = 12345;
		int n = varint_decode(spec_vectors[i].bytes, spec_vectors[i].len, &v);
		assert_int_equal(n, spec_vectors[i].len);
		assert_true(v == spec_vectors[i].value);
	}
}

static void test_varint_decode_stops_at_last_byte(void **state)
{
	const uint8_t in[] = { 0xac, 0x02, 0xff, 0xff };
	uint64_t v;
	assert_int_equal(varint_decode(in, sizeof in, &v), 2);
	assert_true(v == 300);
}

static void test_varint_round_trips_every_width(void **state)
{
	for (int bits = 0; bits <= 63; bits++) {
		uint64_t values[3] = { bits ? (UINT64_C(1) << (bits - 1)) : 0,
				       bits ? (UINT64_C(1) << bits) - 1 : 0,
				       bits > 1 ? (UINT64_C(1) << (bits - 1)) + 1 : 1 };
		for (int k = 0; k < 3; k++) {
			uint8_t out[AA_VARINT_MAX_BYTES];
			int n = varint_encode(values[k], out);
			assert_true(n >= 1 && n <= AA_VARINT_MAX_BYTES);
			assert_int_equal((size_t)n, varint_size(values[k]));
			uint64_t back;
			assert_int_equal(varint_decode(out, (size_t)n, &back), n);
			assert_true(back == values[k]);
		}
	}
}

static void test_varint_accepts_max_value_in_nine_bytes(void **state)
{
	uint8_t out[AA_VARINT_MAX_BYTES];
	assert_int_equal(varint_encode(AA_VARINT_MAX_VALUE, out), 9);
	for (int i = 0; i < 8; i++)
		assert_int_equal(out[i], 0xff);
	assert_int_equal(out[8], 0x7f);
	uint64_t v;
	assert_int_equal(varint_decode(out, 9, &v), 9);
	assert_true(v == AA_VARINT_MAX_VALUE);
}

static void test_varint_encode_rejects_values_beyond_63_bits(void **state)
{
	uint8_t out[AA_VARINT_MAX_BYTES];
	assert_int_equal(varint_encode(UINT64_C(1) << 63, out), AA_ERANGE);
	assert_int_equal(varint_encode(UINT64_MAX, out), AA_ERANGE);
	assert_int_equal(varint_size(UINT64_MAX), AA_VARINT_MAX_BYTES + 1);
}

static void test_varint_rejects_overlong(void **state)
{
	/* The README's own example: 0x81 0x00 is a valid Go varint for 1, but not minimal. */
	const uint8_t a[] = { 0x81, 0x00 };
	const uint8_t b[] = { 0x80, 0x00 };
	const uint8_t c[] = { 0xff, 0x80, 0x00 };
	uint64_t v;
	assert_int_equal(varint_decode(a, sizeof a, &v), AA_EINVAL);
	assert_int_equal(varint_decode(b, sizeof b, &v), AA_EINVAL);
	assert_int_equal(varint_decode(c, sizeof c, &v), AA_EINVAL);
}

static void test_varint_rejects_more_than_nine_bytes(void **state)
{
	/* 2^63 would need a tenth byte; nine continuation bytes are refused outright. */
	const uint8_t ten[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 };
	uint64_t v;
	assert_int_equal(varint_decode(ten, sizeof ten, &v), AA_EINVAL);
	assert_int_equal(varint_decode(ten, 9, &v), AA_EINVAL);
}

static void test_varint_reports_truncation(void **state)
{
	const uint8_t in[] = { 0x80, 0x80, 0x80 };
	uint64_t v;
	assert_int_equal(varint_decode(in, 0, &v), AA_ETRUNC);
	assert_int_equal(varint_decode(in, 1, &v), AA_ETRUNC);
	assert_int_equal(varint_decode(in, 3, &v), AA_ETRUNC);
	assert_int_equal(varint_decode(NULL, 0, &v), AA_ETRUNC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_varint_encodes_spec_examples),
		cmocka_unit_test(test_varint_decodes_spec_examples),
		cmocka_unit_test(test_varint_decode_stops_at_last_byte),
		cmocka_unit_test(test_varint_round_trips_every_width),
		cmocka_unit_test(test_varint_accepts_max_value_in_nine_bytes),
		cmocka_unit_test(test_varint_encode_rejects_values_beyond_63_bits),
		cmocka_unit_test(test_varint_rejects_overlong),
		cmocka_unit_test(test_varint_rejects_more_than_nine_bytes),
		cmocka_unit_test(test_varint_reports_truncation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
