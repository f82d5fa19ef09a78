/* Unit tests for base/base58 (base58btc): multibase test vectors without their 'z'
 * prefix, leading zeros, alphabet and bounds checks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "base/base58.h"
#include "base/err.h"

static void check_encodes(const void *in, size_t n, const char *want)
{
	char out[256];
	int len = base58_encode(in, n, out, sizeof out);
	assert_int_equal(len, strlen(want));
	assert_string_equal(out, want);
	assert_true((size_t)len <= base58_encoded_max(n));

	uint8_t back[256];
	assert_int_equal(base58_decode(want, strlen(want), back, sizeof back), n);
	if (n)
		assert_memory_equal(back, in, n);
}

static void test_base58_matches_multibase_vectors(void **state)
{
	/* multibase tests/basic.csv, leading_zero.csv, two_leading_zeros.csv (base58btc). */
	check_encodes("yes mani !", 10, "7paNL19xttacUY");
	check_encodes("\0yes mani !", 11, "17paNL19xttacUY");
	check_encodes("\0\0yes mani !", 12, "117paNL19xttacUY");
}

static void test_base58_encodes_peer_id(void **state)
{
	/* libp2p peer-ids spec example: an identity-multihash Ed25519 PeerID. */
	const uint8_t mh[] = { 0x00, 0x24, 0x08, 0x01, 0x12, 0x20, 0x2f, 0xfa, 0x35, 0xa9,
			       0x9d, 0x3a, 0x3c, 0xfb, 0xb1, 0x7b, 0xb7, 0xc1, 0xdc, 0x55,
			       0x61, 0xb1, 0x8a, 0x8d, 0xcc, 0xa4, 0xdf, 0x38, 0xdc, 0x61,
			       0x3e, 0xa8, 0x59, 0xc3, 0x7e, 0xb1, 0x33, 0x6b };
	check_encodes(mh, sizeof mh, "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA");
}

static void test_base58_handles_empty_and_all_zero(void **state)
{
	check_encodes("", 0, "");
	check_encodes("\0", 1, "1");
	check_encodes("\0\0\0", 3, "111");
	check_encodes("\x01", 1, "2");
	check_encodes("\xff", 1, "5Q");
}

static void test_base58_rejects_characters_outside_alphabet(void **state)
{
	uint8_t out[64];
	const char *bad[] = { "0", "O", "I", "l", "abc+", "ab c", "12D3KooW\xc3\xa9" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(base58_decode(bad[i], strlen(bad[i]), out, sizeof out), AA_EINVAL);
	assert_int_equal(base58_decode("2\0", 2, out, sizeof out), AA_EINVAL);
}

static void test_base58_reports_small_output_buffers(void **state)
{
	char text[8];
	assert_int_equal(base58_encode((const uint8_t *)"yes mani !", 10, text, sizeof text),
			 AA_ERANGE);
	/* The NUL needs room too. */
	char exact[14];
	assert_int_equal(base58_encode((const uint8_t *)"yes mani !", 10, exact, sizeof exact),
			 AA_ERANGE);
	uint8_t bytes[9];
	assert_int_equal(base58_decode("7paNL19xttacUY", 14, bytes, sizeof bytes), AA_ERANGE);
	assert_int_equal(base58_decode("111", 3, bytes, 2), AA_ERANGE);
}

static void test_base58_rejects_input_over_1024_chars(void **state)
{
	char *s = malloc(1025);
	memset(s, '2', 1025);
	uint8_t out[1100];
	assert_int_equal(base58_decode(s, 1025, out, sizeof out), AA_ETOOBIG);
	assert_true(base58_decode(s, 1024, out, sizeof out) > 0);
	free(s);
}

static void test_base58_round_trips_random_bytes(void **state)
{
	uint32_t x = 12345;
	for (int round = 0; round < 200; round++) {
		uint8_t in[64];
		size_t n = (size_t)round % sizeof in;
		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			in[i] = (round % 7 == 0 && i < 3) ? 0 : (uint8_t)(x >> 16);
		}
		char text[128];
		int len = base58_encode(in, n, text, sizeof text);
		assert_true(len >= 0);
		uint8_t back[64];
		assert_int_equal(base58_decode(text, (size_t)len, back, sizeof back), n);
		if (n)
			assert_memory_equal(back, in, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base58_matches_multibase_vectors),
		cmocka_unit_test(test_base58_encodes_peer_id),
		cmocka_unit_test(test_base58_handles_empty_and_all_zero),
		cmocka_unit_test(test_base58_rejects_characters_outside_alphabet),
		cmocka_unit_test(test_base58_reports_small_output_buffers),
		cmocka_unit_test(test_base58_rejects_input_over_1024_chars),
		cmocka_unit_test(test_base58_round_trips_random_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
