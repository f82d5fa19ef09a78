/* Unit tests for p2p/chachapoly: RFC 8439 vectors, and libsodium as the reference on
 * random and edge-case inputs (every message length up to 300 bytes, several AD lengths). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include <sodium.h>

#include "base/err.h"
#include "p2p/chachapoly.h"

static void hex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static void mac(const char *key_hex, const uint8_t *m, size_t n, uint8_t tag[16])
{
	uint8_t key[32];
	hex(key_hex, key, 32);
	struct poly1305 p;
	poly1305_init(&p, key);
	poly1305_update(&p, m, n);
	poly1305_final(&p, tag);
}

/* RFC 8439 §2.5.2. */
static void test_poly1305_rfc_example(void **state)
{
	(void)state;
	const char *msg = "Cryptographic Forum Research Group";
	uint8_t tag[16], want[16];
	mac("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b", (const uint8_t *)msg,
	    strlen(msg), tag);
	hex("a8061dc1305136c6c22b8baf0c0127a9", want, 16);
	assert_memory_equal(tag, want, 16);
}

/* RFC 8439 appendix A.3 #5–#9: accumulators that land on or just past 2^130 − 5, where a
 * wrong final reduction shows. */
static void test_poly1305_reduction_edges(void **state)
{
	(void)state;
	uint8_t m[48], tag[16], want[16];

	memset(m, 0xff, 16);
	mac("0200000000000000000000000000000000000000000000000000000000000000", m, 16, tag);
	hex("03000000000000000000000000000000", want, 16);
	assert_memory_equal(tag, want, 16);

	memset(m, 0, 16);
	m[0] = 2;
	mac("02000000000000000000000000000000ffffffffffffffffffffffffffffffff", m, 16, tag);
	hex("03000000000000000000000000000000", want, 16);
	assert_memory_equal(tag, want, 16);

	memset(m, 0xff, 48);
	m[16] = 0xf0;
	memset(m + 32, 0, 16);
	m[32] = 0x11;
	mac("0100000000000000000000000000000000000000000000000000000000000000", m, 48, tag);
	hex("05000000000000000000000000000000", want, 16);
	assert_memory_equal(tag, want, 16);

	memset(m, 0xff, 16);
	m[16] = 0xfb;
	memset(m + 17, 0xfe, 15);
	memset(m + 32, 0x01, 16);
	mac("0100000000000000000000000000000000000000000000000000000000000000", m, 48, tag);
	memset(want, 0, 16);
	assert_memory_equal(tag, want, 16);

	memset(m, 0xff, 16);
	m[0] = 0xfd;
	mac("0200000000000000000000000000000000000000000000000000000000000000", m, 16, tag);
	hex("faffffffffffffffffffffffffffffff", want, 16);
	assert_memory_equal(tag, want, 16);
}

/* Our incremental Poly1305 against libsodium's one-shot, split at every point. */
static void test_poly1305_matches_libsodium(void **state)
{
	(void)state;
	uint8_t key[32], m[200], tag[16], want[16];
	for (int round = 0; round < 40; round++) {
		randombytes_buf(key, sizeof key);
		randombytes_buf(m, sizeof m);
		if (round % 4 == 0) {
			memset(key, 0xff, 16); /* the largest r the clamp allows */
			memset(m, 0xff, sizeof m);
		}
		size_t n = (size_t)round * 5;
		crypto_onetimeauth_poly1305(want, m, n, key);
		for (size_t cut = 0; cut <= n; cut += 7) {
			struct poly1305 p;
			poly1305_init(&p, key);
			poly1305_update(&p, m, cut);
			poly1305_update(&p, m + cut, n - cut);
			poly1305_final(&p, tag);
			assert_memory_equal(tag, want, 16);
		}
	}
}

/* RFC 8439 §2.8.2: the tag, and the ciphertext as libsodium makes it. */
static void test_aead_rfc_example(void **state)
{
	(void)state;
	const char *pt = "Ladies and Gentlemen of the class of '99: If I could offer you only one "
			 "tip for the future, sunscreen would be it.";
	size_t n = strlen(pt);
	uint8_t key[32], nonce[12], ad[12], c[128], tag[16], want_c[128], want_tag[16];
	hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f", key, 32);
	hex("070000004041424344454647", nonce, 12);
	hex("50515253c0c1c2c3c4c5c6c7", ad, 12);
	chachapoly_seal(c, tag, (const uint8_t *)pt, n, ad, sizeof ad, nonce, key);
	hex("1ae10b594f09e26a7e902ecbd0600691", want_tag, 16);
	assert_memory_equal(tag, want_tag, 16);
	hex("d31a8d34648e60db7b86afbc53ef7ec2", want_c, 16);
	assert_memory_equal(c, want_c, 16);
	crypto_aead_chacha20poly1305_ietf_encrypt_detached(want_c, want_tag, NULL, (const uint8_t *)pt,
							   n, ad, sizeof ad, NULL, nonce, key);
	assert_memory_equal(c, want_c, n);

	uint8_t back[128];
	assert_int_equal(chachapoly_open(back, c, n, tag, ad, sizeof ad, nonce, key), 0);
	assert_memory_equal(back, pt, n);
}

/* Seal and open against libsodium both ways, every length 0..300, AD of 0..33 bytes. */
static void test_aead_matches_libsodium(void **state)
{
	(void)state;
	uint8_t key[32], nonce[12], ad[33], m[300], c[300], tag[16], sc[300], stag[16], back[300];
	for (size_t n = 0; n <= sizeof m; n++) {
		size_t adlen = n % (sizeof ad + 1);
		randombytes_buf(key, sizeof key);
		randombytes_buf(nonce, sizeof nonce);
		randombytes_buf(ad, sizeof ad);
		randombytes_buf(m, sizeof m);
		chachapoly_seal(c, tag, m, n, ad, adlen, nonce, key);
		crypto_aead_chacha20poly1305_ietf_encrypt_detached(sc, stag, NULL, m, n, ad, adlen, NULL,
								   nonce, key);
		assert_memory_equal(c, sc, n);
		assert_memory_equal(tag, stag, 16);
		assert_int_equal(chachapoly_open(back, sc, n, stag, ad, adlen, nonce, key), 0);
		assert_memory_equal(back, m, n);
		assert_int_equal(crypto_aead_chacha20poly1305_ietf_decrypt_detached(back, NULL, c, n, tag, ad,
										    adlen, nonce, key), 0);
	}
}

/* In place, as the Noise session uses it. */
static void test_aead_in_place(void **state)
{
	(void)state;
	uint8_t key[32], nonce[12], m[100], buf[100], tag[16];
	randombytes_buf(key, sizeof key);
	randombytes_buf(nonce, sizeof nonce);
	randombytes_buf(m, sizeof m);
	memcpy(buf, m, sizeof buf);
	chachapoly_seal(buf, tag, buf, sizeof buf, NULL, 0, nonce, key);
	assert_memory_not_equal(buf, m, sizeof buf);
	assert_int_equal(chachapoly_open(buf, buf, sizeof buf, tag, NULL, 0, nonce, key), 0);
	assert_memory_equal(buf, m, sizeof buf);
}

/* Any flipped bit of ciphertext, tag or AD fails, and leaves the output untouched. */
static void test_aead_rejects_tampering(void **state)
{
	(void)state;
	uint8_t key[32], nonce[12], ad[8], m[44], c[44], tag[16], out[44];
	randombytes_buf(key, sizeof key);
	randombytes_buf(nonce, sizeof nonce);
	randombytes_buf(ad, sizeof ad);
	randombytes_buf(m, sizeof m);
	chachapoly_seal(c, tag, m, sizeof m, ad, sizeof ad, nonce, key);
	for (size_t bit = 0; bit < 8 * (sizeof c + sizeof tag + sizeof ad); bit++) {
		uint8_t cc[44], tt[16], aa[8];
		memcpy(cc, c, sizeof cc);
		memcpy(tt, tag, sizeof tt);
		memcpy(aa, ad, sizeof aa);
		size_t byte = bit / 8;
		if (byte < sizeof cc)
			cc[byte] ^= (uint8_t)(1u << (bit % 8));
		else if (byte < sizeof cc + sizeof tt)
			tt[byte - sizeof cc] ^= (uint8_t)(1u << (bit % 8));
		else
			aa[byte - sizeof cc - sizeof tt] ^= (uint8_t)(1u << (bit % 8));
		memset(out, 0xa5, sizeof out);
		assert_int_equal(chachapoly_open(out, cc, sizeof cc, tt, aa, sizeof aa, nonce, key),
				 AA_ECRYPTO);
		for (size_t i = 0; i < sizeof out; i++)
			assert_int_equal(out[i], 0xa5);
	}
	nonce[0] ^= 1;
	assert_int_equal(chachapoly_open(out, c, sizeof c, tag, ad, sizeof ad, nonce, key), AA_ECRYPTO);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_poly1305_rfc_example),
		cmocka_unit_test(test_poly1305_reduction_edges),
		cmocka_unit_test(test_poly1305_matches_libsodium),
		cmocka_unit_test(test_aead_rfc_example),
		cmocka_unit_test(test_aead_matches_libsodium),
		cmocka_unit_test(test_aead_in_place),
		cmocka_unit_test(test_aead_rejects_tampering),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
