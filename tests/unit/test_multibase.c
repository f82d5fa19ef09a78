/* Unit tests for base/multibase and the raw base16/base32/base64url codecs, using the
 * multibase repository's test vectors (basic, leading zeros, case insensitivity). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/multibase.h"

struct mb_vector {
	enum multibase_code base;
	const char *text;
};

static void check_vector(const void *data, size_t n, enum multibase_code base, const char *text)
{
	char *enc = NULL;
	assert_int_equal(multibase_encode(base, data, n, &enc), 0);
	assert_string_equal(enc, text);
	free(enc);

	uint8_t *dec = NULL;
	size_t len = 0;
	assert_int_equal(multibase_decode(text, strlen(text), &dec, &len), 0);
	assert_int_equal(len, n);
	if (n)
		assert_memory_equal(dec, data, n);
	free(dec);
}

static void test_multibase_matches_basic_vectors(void **state)
{
	/* multibase tests/basic.csv: "yes mani !" */
	const char *in = "yes mani !";
	check_vector(in, 10, MULTIBASE_BASE16, "f796573206d616e692021");
	check_vector(in, 10, MULTIBASE_BASE32, "bpfsxgidnmfxgsibb");
	check_vector(in, 10, MULTIBASE_BASE58BTC, "z7paNL19xttacUY");
	check_vector(in, 10, MULTIBASE_BASE64URL, "ueWVzIG1hbmkgIQ");
}

static void test_multibase_matches_leading_zero_vectors(void **state)
{
	/* multibase tests/leading_zero.csv and two_leading_zeros.csv */
	check_vector("\0yes mani !", 11, MULTIBASE_BASE16, "f00796573206d616e692021");
	check_vector("\0yes mani !", 11, MULTIBASE_BASE32, "bab4wk4zanvqw42jaee");
	check_vector("\0yes mani !", 11, MULTIBASE_BASE58BTC, "z17paNL19xttacUY");
	check_vector("\0yes mani !", 11, MULTIBASE_BASE64URL, "uAHllcyBtYW5pICE");
	check_vector("\0\0yes mani !", 12, MULTIBASE_BASE16, "f0000796573206d616e692021");
	check_vector("\0\0yes mani !", 12, MULTIBASE_BASE32, "baaahszltebwwc3tjeaqq");
	check_vector("\0\0yes mani !", 12, MULTIBASE_BASE58BTC, "z117paNL19xttacUY");
	check_vector("\0\0yes mani !", 12, MULTIBASE_BASE64URL, "uAAB5ZXMgbWFuaSAh");
}

static void check_decodes(const char *text, const void *want, size_t n)
{
	uint8_t *dec = NULL;
	size_t len = 0;
	assert_int_equal(multibase_decode(text, strlen(text), &dec, &len), 0);
	assert_int_equal(len, n);
	assert_memory_equal(dec, want, n);
	free(dec);
}

static void test_multibase_decodes_upper_case_prefixes(void **state)
{
	/* multibase tests/basic.csv: base16upper and base32upper */
	check_decodes("F796573206D616E692021", "yes mani !", 10);
	check_decodes("BPFSXGIDNMFXGSIBB", "yes mani !", 10);
	check_decodes("BAB4WK4ZANVQW42JAEE", "\0yes mani !", 11);
}

static void test_multibase_decodes_mixed_case(void **state)
{
	/* multibase tests/case_insensitivity.csv: "hello world" */
	check_decodes("f68656c6c6f20776F726C64", "hello world", 11);
	check_decodes("F68656c6c6f20776F726C64", "hello world", 11);
	check_decodes("bnbswy3dpeB3W64TMMQ", "hello world", 11);
	check_decodes("Bnbswy3dpeB3W64TMMQ", "hello world", 11);
}

static void test_multibase_round_trips_empty_input(void **state)
{
	check_vector("", 0, MULTIBASE_BASE16, "f");
	check_vector("", 0, MULTIBASE_BASE32, "b");
	check_vector("", 0, MULTIBASE_BASE58BTC, "z");
	check_vector("", 0, MULTIBASE_BASE64URL, "u");
}

static void test_multibase_rejects_unknown_prefix(void **state)
{
	uint8_t *dec = NULL;
	size_t len;
	/* base64 'm', base36 'k', padded base32 'c', reserved '/' and a CIDv0 'Q' */
	const char *texts[] = { "meWVzIG1hbmkgIQ", "k2lcpzo5yikidynfl", "cpfsxgidnmfxgsibb",
				"/abc", "QmYyQ", "\x01" "abc" };
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
		assert_int_equal(multibase_decode(texts[i], strlen(texts[i]), &dec, &len), AA_ENOTSUP);
	assert_null(dec);
	char *enc = NULL;
	assert_int_equal(multibase_encode((enum multibase_code)'k', (const uint8_t *)"x", 1, &enc),
			 AA_ENOTSUP);
	assert_null(enc);
}

static void test_multibase_rejects_empty_string(void **state)
{
	uint8_t *dec = NULL;
	size_t len;
	assert_int_equal(multibase_decode("", 0, &dec, &len), AA_EINVAL);
}

static void test_multibase_rejects_bad_characters(void **state)
{
	uint8_t *dec = NULL;
	size_t len;
	const char *texts[] = { "f7g", "f796", "f79 6", "bpfsxgidnmfxgsib1", "bpfsxgidnmfxgsibb=",
				"z7paNL19xttacU0", "ueWVzIG1hbmkgIQ=", "ueWVzIG1hbmkg+Q", "ueWVzIG1hbmkg/Q" };
	for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
		assert_int_equal(multibase_decode(texts[i], strlen(texts[i]), &dec, &len), AA_EINVAL);
	/* An embedded NUL is a bad character, not an end. */
	assert_int_equal(multibase_decode("f79\0" "65", 6, &dec, &len), AA_EINVAL);
	assert_null(dec);
}

static void test_base32_rejects_impossible_lengths(void **state)
{
	uint8_t out[16];
	/* 1, 3 and 6 characters (mod 8) leave a whole unused digit. */
	assert_int_equal(base32_decode("a", 1, out, sizeof out), AA_EINVAL);
	assert_int_equal(base32_decode("aaa", 3, out, sizeof out), AA_EINVAL);
	assert_int_equal(base32_decode("aaaaaa", 6, out, sizeof out), AA_EINVAL);
	assert_int_equal(base32_decode("aaaaaaaaa", 9, out, sizeof out), AA_EINVAL);
	assert_int_equal(base32_decode("aa", 2, out, sizeof out), 1);
	assert_int_equal(base32_decode("aaaa", 4, out, sizeof out), 2);
	assert_int_equal(base32_decode("aaaaa", 5, out, sizeof out), 3);
	assert_int_equal(base32_decode("aaaaaaa", 7, out, sizeof out), 4);
	assert_int_equal(base32_decode("aaaaaaaa", 8, out, sizeof out), 5);
}

static void test_base32_rejects_nonzero_trailing_bits(void **state)
{
	uint8_t out[4];
	/* "ma" is 0x60 with two zero filler bits; "mb" sets a filler bit. */
	assert_int_equal(base32_decode("ma", 2, out, sizeof out), 1);
	assert_int_equal(out[0], 0x60);
	assert_int_equal(base32_decode("mb", 2, out, sizeof out), AA_EINVAL);
}

static void test_base64url_rejects_bad_lengths_and_trailing_bits(void **state)
{
	uint8_t out[8];
	assert_int_equal(base64url_decode("A", 1, out, sizeof out), AA_EINVAL);
	assert_int_equal(base64url_decode("AAAAA", 5, out, sizeof out), AA_EINVAL);
	assert_int_equal(base64url_decode("AA", 2, out, sizeof out), 1);
	assert_int_equal(base64url_decode("AB", 2, out, sizeof out), AA_EINVAL);
	assert_int_equal(base64url_decode("AAA", 3, out, sizeof out), 2);
	assert_int_equal(base64url_decode("AAB", 3, out, sizeof out), AA_EINVAL);
	assert_int_equal(base64url_decode("-_8", 3, out, sizeof out), 2);
	assert_int_equal(out[0], 0xfb);
	assert_int_equal(out[1], 0xff);
}

static void test_base16_rejects_odd_length(void **state)
{
	uint8_t out[4];
	assert_int_equal(base16_decode("abc", 3, out, sizeof out), AA_EINVAL);
	assert_int_equal(base16_decode("aBcD", 4, out, sizeof out), 2);
	assert_int_equal(out[0], 0xab);
	assert_int_equal(out[1], 0xcd);
}

static void test_raw_codecs_report_small_buffers(void **state)
{
	char text[8];
	uint8_t bytes[2];
	const uint8_t in[5] = { 1, 2, 3, 4, 5 };
	assert_int_equal(base32_encoded_len(5), 8);
	assert_int_equal(base32_encode(in, 5, text, 8), AA_ERANGE); /* no room for NUL */
	assert_int_equal(base16_encode(in, 4, text, 8), AA_ERANGE);
	assert_int_equal(base16_encode(in, 3, text, 8), 6);
	assert_string_equal(text, "010203");
	assert_int_equal(base64url_encoded_len(5), 7);
	assert_int_equal(base64url_encode(in, 5, text, 7), AA_ERANGE);
	assert_int_equal(base64url_encode(in, 5, text, 8), 7);
	assert_int_equal(base32_decode("aaaaa", 5, bytes, sizeof bytes), AA_ERANGE);
	assert_int_equal(base16_decode("010203", 6, bytes, sizeof bytes), AA_ERANGE);
	assert_int_equal(base64url_decode("AAAA", 4, bytes, sizeof bytes), AA_ERANGE);
}

static void test_multibase_round_trips_all_lengths(void **state)
{
	const enum multibase_code bases[] = { MULTIBASE_BASE16, MULTIBASE_BASE32,
					      MULTIBASE_BASE58BTC, MULTIBASE_BASE64URL };
	uint8_t data[40];
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)(i * 37 + 11);
	for (size_t b = 0; b < 4; b++) {
		for (size_t n = 0; n <= sizeof data; n++) {
			char *enc;
			assert_int_equal(multibase_encode(bases[b], data, n, &enc), 0);
			uint8_t *dec;
			size_t len;
			assert_int_equal(multibase_decode(enc, strlen(enc), &dec, &len), 0);
			assert_int_equal(len, n);
			if (n)
				assert_memory_equal(dec, data, n);
			free(dec);
			free(enc);
		}
	}
}

static void test_multibase_rejects_oversized_input(void **state)
{
	size_t n = MULTIBASE_MAX_DECODE_LEN + 1;
	char *s = malloc(n);
	memset(s, 'a', n);
	s[0] = 'f';
	uint8_t *dec = NULL;
	size_t len;
	assert_int_equal(multibase_decode(s, n, &dec, &len), AA_ETOOBIG);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_multibase_matches_basic_vectors),
		cmocka_unit_test(test_multibase_matches_leading_zero_vectors),
		cmocka_unit_test(test_multibase_decodes_upper_case_prefixes),
		cmocka_unit_test(test_multibase_decodes_mixed_case),
		cmocka_unit_test(test_multibase_round_trips_empty_input),
		cmocka_unit_test(test_multibase_rejects_unknown_prefix),
		cmocka_unit_test(test_multibase_rejects_empty_string),
		cmocka_unit_test(test_multibase_rejects_bad_characters),
		cmocka_unit_test(test_base32_rejects_impossible_lengths),
		cmocka_unit_test(test_base32_rejects_nonzero_trailing_bits),
		cmocka_unit_test(test_base64url_rejects_bad_lengths_and_trailing_bits),
		cmocka_unit_test(test_base16_rejects_odd_length),
		cmocka_unit_test(test_raw_codecs_report_small_buffers),
		cmocka_unit_test(test_multibase_round_trips_all_lengths),
		cmocka_unit_test(test_multibase_rejects_oversized_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
