/* Unit tests for p2p/chacha20 and p2p/chachapoly: RFC 8439 vectors, and libsodium as the
 * reference on random and edge-case inputs (every message length up to 600 bytes, several
 * AD lengths, counters up to the 2^32 wrap), each through every ChaCha20 implementation
 * this CPU runs (portable C, SSSE3, AVX2, AVX-512), forced in turn. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "base/err.h"
#include "p2p/chacha20.h"
#include "p2p/chachapoly.h"

static void hex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static const char *const impl_names[CHACHA20_IMPL_COUNT] = { "portable", "ssse3", "avx2",
							      "avx512" };

/* Forces implementation i; false (with a note, once) when this CPU cannot run it. */
static bool use_impl(int i)
{
	static bool noted[CHACHA20_IMPL_COUNT];
	if (chacha20_force_impl((enum chacha20_impl)i) == 0)
		return true;
	if (!noted[i])
		print_message("chacha20 %s: not supported here, skipped\n", impl_names[i]);
	noted[i] = true;
	return false;
}

static void restore_impl(void)
{
	assert_int_equal(chacha20_force_impl(chacha20_best_impl()), 0);
}

/* ChaCha20 keystream from libsodium, for comparisons. */
static void sodium_stream(uint8_t *out, const uint8_t *in, size_t n, const uint8_t key[32],
			  const uint8_t nonce[12], uint32_t counter)
{
	crypto_stream_chacha20_ietf_xor_ic(out, in, n, nonce, counter, key);
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

/* The accumulator's top limb at its largest, for many blocks: the largest r and s, and
 * blocks of all ones (each adds 2^129 − 1), and near-maximal random ones. */
static void test_poly1305_long_extreme_inputs_match_libsodium(void **state)
{
	(void)state;
	static uint8_t m[4096];
	uint8_t key[32], tag[16], want[16];
	for (int round = 0; round < 6; round++) {
		memset(key, 0xff, sizeof key);
		memset(m, 0xff, sizeof m);
		if (round & 1)
			randombytes_buf(key + 16, 16);
		if (round >= 2)
			for (size_t i = 0; i < sizeof m; i++)
				m[i] |= (uint8_t)randombytes_uniform(256) | 0xf0;
		if (round >= 4)
			randombytes_buf(key, 16);
		for (size_t n = 4096 - 33; n <= 4096; n += 11) {
			crypto_onetimeauth_poly1305(want, m, n, key);
			struct poly1305 p;
			poly1305_init(&p, key);
			poly1305_update(&p, m, n);
			poly1305_final(&p, tag);
			assert_memory_equal(tag, want, 16);
		}
	}
}

/* ---- ChaCha20 ---------------------------------------------------------------------------- */

/* One block of keystream per implementation, against an RFC vector. */
static void check_block(const char *key_hex, const char *nonce_hex, uint32_t counter,
			const char *want_hex)
{
	uint8_t key[32], nonce[12], want[64], zero[64] = { 0 }, got[64];
	hex(key_hex, key, 32);
	hex(nonce_hex, nonce, 12);
	hex(want_hex, want, 64);
	for (int i = 0; i < CHACHA20_IMPL_COUNT; i++) {
		if (!use_impl(i))
			continue;
		chacha20_xor(got, zero, sizeof got, key, nonce, counter);
		assert_memory_equal(got, want, 64);
	}
	restore_impl();
}

static const char rfc_key_00_1f[] =
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/* RFC 8439 §2.3.2: the serialized block for key 00..1f, nonce 0:0:0:09:0:0:0:4a:0:0:0:0,
 * counter 1. */
static void test_chacha20_block_rfc_2_3_2(void **state)
{
	(void)state;
	check_block(rfc_key_00_1f, "000000090000004a00000000", 1,
		    "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
		    "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e");
}

/* RFC 8439 appendix A.1, vectors #1–#5: zero and one-bit keys, counters 0–2, a nonce bit. */
static void test_chacha20_blocks_rfc_a_1(void **state)
{
	(void)state;
	static const char zero_key[] =
		"0000000000000000000000000000000000000000000000000000000000000000";
	static const char zero_nonce[] = "000000000000000000000000";
	check_block(zero_key, zero_nonce, 0,
		    "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
		    "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586");
	check_block(zero_key, zero_nonce, 1,
		    "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed"
		    "29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f");
	check_block("0000000000000000000000000000000000000000000000000000000000000001", zero_nonce,
		    1,
		    "3aeb5224ecf849929b9d828db1ced4dd832025e8018b8160b82284f3c949aa5a"
		    "8eca00bbb4a73bdad192b5c42f73f2fd4e273644c8b36125a64addeb006c13a0");
	check_block("00ff000000000000000000000000000000000000000000000000000000000000", zero_nonce,
		    2,
		    "72d54dfbf12ec44b362692df94137f328fea8da73990265ec1bbbea1ae9af0ca"
		    "13b25aa26cb4a648cb9b9d1be65b2c0924a66c54d545ec1b7374f4872e99f096");
	check_block(zero_key, "000000000000000000000002", 0,
		    "c2c64d378cd536374ae204b9ef933fcd1a8b2288b3dfa49672ab765b54ee27c7"
		    "8a970e0e955c14f3a88e741b97c286f75f8fc299e8148362fa198a39531bed6d");
}

/* Encrypts pt with every implementation, whole and in place, and compares with want. */
static void check_encryption(const uint8_t key[32], const uint8_t nonce[12], uint32_t counter,
			     const uint8_t *pt, size_t n, const uint8_t *want)
{
	uint8_t got[128];
	assert_true(n <= sizeof got);
	for (int i = 0; i < CHACHA20_IMPL_COUNT; i++) {
		if (!use_impl(i))
			continue;
		chacha20_xor(got, pt, n, key, nonce, counter);
		assert_memory_equal(got, want, n);
		chacha20_xor(got, got, n, key, nonce, counter);
		assert_memory_equal(got, pt, n);
	}
	restore_impl();
}

/* RFC 8439 §2.4.2: the "sunscreen" text, counter 1, two blocks and a 50-byte tail. */
static void test_chacha20_encryption_rfc_2_4_2(void **state)
{
	(void)state;
	const char *pt = "Ladies and Gentlemen of the class of '99: If I could offer you only one "
			 "tip for the future, sunscreen would be it.";
	uint8_t key[32], nonce[12], want[114];
	assert_int_equal(strlen(pt), sizeof want);
	hex(rfc_key_00_1f, key, 32);
	hex("000000000000004a00000000", nonce, 12);
	hex("6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b"
	    "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8"
	    "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736"
	    "5af90bbf74a35be6b40b8eedf2785e42874d",
	    want, sizeof want);
	check_encryption(key, nonce, 1, (const uint8_t *)pt, sizeof want, want);
}

/* RFC 8439 appendix A.2 #1 (zero key, counter 0) and #3 ("Jabberwocky", counter 42). */
static void test_chacha20_encryption_rfc_a_2(void **state)
{
	(void)state;
	uint8_t key[32] = { 0 }, nonce[12] = { 0 }, zeros[64] = { 0 }, want[127];
	hex("76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
	    "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586",
	    want, 64);
	check_encryption(key, nonce, 0, zeros, 64, want);

	const char *pt = "'Twas brillig, and the slithy toves\nDid gyre and gimble in the wabe:\n"
			 "All mimsy were the borogoves,\nAnd the mome raths outgrabe.";
	assert_int_equal(strlen(pt), sizeof want);
	hex("1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0", key, 32);
	hex("000000000000000000000002", nonce, 12);
	hex("62e6347f95ed87a45ffae7426f27a1df5fb69110044c0d73118effa95b01e5cf"
	    "166d3df2d721caf9b21e5fb14c616871fd84c54f9d65b283196c7fe4f60553eb"
	    "f39c6402c42234e32a356b3e764312a61a5532055716ead6962568f87d3f3f77"
	    "04c6a8d1bcd1bf4d50d6154b6da731b187b58dfd728afa36757a797ac188d1",
	    want, sizeof want);
	check_encryption(key, nonce, 42, (const uint8_t *)pt, sizeof want, want);
}

/* RFC 8439 §2.6.2: block 0's first 32 bytes are the Poly1305 key; and chacha20_aead_xor's
 * data part is the keystream from block 1 (§2.8), as libsodium's. */
static void test_chacha20_aead_key_rfc_2_6_2(void **state)
{
	(void)state;
	uint8_t key[32], nonce[12], want[32], otk[32];
	for (size_t i = 0; i < 32; i++)
		key[i] = (uint8_t)(0x80 + i);
	hex("000000000001020304050607", nonce, 12);
	hex("8ad5a08b905f81cc815040274ab29471a833b637e3fd0da508dbb8e2fdd1a646", want, 32);
	for (int i = 0; i < CHACHA20_IMPL_COUNT; i++) {
		if (!use_impl(i))
			continue;
		memset(otk, 0, sizeof otk);
		chacha20_aead_xor(otk, NULL, NULL, 0, key, nonce);
		assert_memory_equal(otk, want, 32);
		uint8_t m[100], c[100], sc[100];
		randombytes_buf(m, sizeof m);
		chacha20_aead_xor(otk, c, m, sizeof m, key, nonce);
		assert_memory_equal(otk, want, 32);
		sodium_stream(sc, m, sizeof m, key, nonce, 1);
		assert_memory_equal(c, sc, sizeof m);
	}
	restore_impl();
}

/* Every implementation, every length 0..600 at a random key, nonce and counter (kept clear
 * of the wrap), against libsodium and the portable core: in exact-size heap buffers (so
 * ASan sees any overrun), in place, and from an odd address; bytes past the end stay. */
static void test_chacha20_every_length_matches_libsodium(void **state)
{
	(void)state;
	enum { MAX = 600 };
	for (size_t n = 0; n <= MAX; n++) {
		uint8_t key[32], nonce[12], want[MAX], ref[MAX + 1], canary[MAX + 9];
		uint32_t counter;
		randombytes_buf(key, sizeof key);
		randombytes_buf(nonce, sizeof nonce);
		counter = randombytes_random() % (UINT32_MAX - 16);
		uint8_t *in = malloc(n + 1), *out = malloc(n + 1);
		randombytes_buf(in, n + 1);
		sodium_stream(want, in, n, key, nonce, counter);
		assert_int_equal(chacha20_force_impl(CHACHA20_IMPL_PORTABLE), 0);
		chacha20_xor(ref, in, n, key, nonce, counter);
		assert_memory_equal(ref, want, n);
		for (int i = 0; i < CHACHA20_IMPL_COUNT; i++) {
			if (!use_impl(i))
				continue;
			memset(out, 0xa5, n + 1);
			chacha20_xor(out, in, n, key, nonce, counter);
			assert_memory_equal(out, want, n);
			assert_int_equal(out[n], 0xa5);
			memcpy(canary, in, n);
			memset(canary + n, 0x5a, 9);
			chacha20_xor(canary, canary, n, key, nonce, counter);
			assert_memory_equal(canary, want, n);
			for (size_t k = n; k < n + 9; k++)
				assert_int_equal(canary[k], 0x5a);
			/* Odd alignment of both sides. */
			memcpy(out + 1, in, n);
			chacha20_xor(out + 1, out + 1, n, key, nonce, counter);
			assert_memory_equal(out + 1, want, n);
		}
		free(in);
		free(out);
	}
	restore_impl();
}

/* chacha20_aead_xor at every length 0..600, every implementation: the key is libsodium's
 * block 0, the data its stream from block 1. */
static void test_chacha20_aead_xor_every_length_matches_libsodium(void **state)
{
	(void)state;
	enum { MAX = 600 };
	for (size_t n = 0; n <= MAX; n++) {
		uint8_t key[32], nonce[12], want[MAX], want_otk[64] = { 0 }, otk[32];
		randombytes_buf(key, sizeof key);
		randombytes_buf(nonce, sizeof nonce);
		uint8_t *in = malloc(n + 1), *out = malloc(n + 1);
		randombytes_buf(in, n + 1);
		sodium_stream(want_otk, want_otk, sizeof want_otk, key, nonce, 0);
		sodium_stream(want, in, n, key, nonce, 1);
		for (int i = 0; i < CHACHA20_IMPL_COUNT; i++) {
			if (!use_impl(i))
				continue;
			out[n] = 0xa5;
			chacha20_aead_xor(otk, out, in, n, key, nonce);
			assert_memory_equal(otk, want_otk, 32);
			assert_memory_equal(out, want, n);
			assert_int_equal(out[n], 0xa5);
		}
		free(in);
		free(out);
	}
	restore_impl();
}

/* Counters up to the last block before 2^32, where libsodium's _ic still answers (it aborts
 * on a call that would pass 2^32 − 1): every implementation agrees with it. */
static void test_chacha20_counter_near_wrap_matches_libsodium(void **state)
{
	(void)state;
	uint8_t key[32], nonce[12], in[12 * 64], want[12 * 64], got[12 * 64];
	randombytes_buf(key, sizeof key);
	randombytes_buf(nonce, sizeof nonce);
	randombytes_buf(in, sizeof in);
	for (uint32_t left = 1; left <= 12; left++) {
		uint32_t counter = (uint32_t)(UINT32_MAX - left + 1); /* `left` blocks to the end */
		for (size_t n = 1; n <= 64 * left; n += 7) {
			sodium_stream(want, in, n, key, nonce, counter);
			for (int i = 0; i < CHACHA20_IMPL_COUNT; i++) {
				if (!use_impl(i))
					continue;
				chacha20_xor(got, in, n, key, nonce, counter);
				assert_memory_equal(got, want, n);
			}
		}
	}
	restore_impl();
}

/* Past 2^32 − 1 the counter wraps to 0 (RFC 8439's counter is one 32-bit word, never
 * carrying into the nonce), the same in every implementation: a run crossing the wrap is
 * the blocks before it then those from counter 0. */
static void test_chacha20_counter_wraps_modulo_2_32(void **state)
{
	(void)state;
	uint8_t key[32], nonce[12], in[10 * 64], want[10 * 64], got[10 * 64];
	randombytes_buf(key, sizeof key);
	randombytes_buf(nonce, sizeof nonce);
	randombytes_buf(in, sizeof in);
	for (uint32_t before = 1; before <= 9; before++) {
		uint32_t counter = (uint32_t)(UINT32_MAX - before + 1);
		sodium_stream(want, in, 64 * before, key, nonce, counter);
		sodium_stream(want + 64 * before, in + 64 * before, sizeof in - 64 * before, key,
			      nonce, 0);
		for (int i = 0; i < CHACHA20_IMPL_COUNT; i++) {
			if (!use_impl(i))
				continue;
			for (size_t n = 64 * before + 1; n <= sizeof in; n += 13) {
				chacha20_xor(got, in, n, key, nonce, counter);
				assert_memory_equal(got, want, n);
			}
		}
	}
	restore_impl();
}

/* The dispatcher picks an implementation this CPU runs, and refuses unknown ones. */
static void test_chacha20_dispatch(void **state)
{
	(void)state;
	enum chacha20_impl best = chacha20_best_impl();
	assert_true(best < CHACHA20_IMPL_COUNT);
	assert_int_equal(chacha20_current_impl(), best);
	print_message("chacha20: best implementation here is %s\n", impl_names[best]);
	assert_int_equal(chacha20_force_impl(CHACHA20_IMPL_PORTABLE), 0);
	assert_int_equal(chacha20_current_impl(), CHACHA20_IMPL_PORTABLE);
	assert_int_equal(chacha20_force_impl(CHACHA20_IMPL_COUNT), AA_ENOTSUP);
	assert_int_equal(chacha20_force_impl((enum chacha20_impl)-1), AA_ENOTSUP);
	assert_int_equal(chacha20_current_impl(), CHACHA20_IMPL_PORTABLE);
	/* The instruction sets nest (AVX-512 CPUs have AVX2, those have SSSE3). */
	for (int i = 0; i <= (int)best; i++)
		assert_int_equal(chacha20_force_impl((enum chacha20_impl)i), 0);
	restore_impl();
	assert_int_equal(chacha20_current_impl(), best);
}

/* ---- The AEAD ------------------------------------------------------------------------------ */

/* RFC 8439 §2.8.2: the tag, and the ciphertext as libsodium makes it. */
static void test_aead_rfc_example(void **state)
{
	(void)state;
	const char *pt = "Ladies and Gentlemen of the class of '99: If I could offer you only one "
			 "tip for the future, sunscreen would be it.";
	size_t n = strlen(pt);
	uint8_t key[32], nonce[12], ad[12], c[128], tag[16], want_c[128], want_tag[16], back[128];
	hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f", key, 32);
	hex("070000004041424344454647", nonce, 12);
	hex("50515253c0c1c2c3c4c5c6c7", ad, 12);
	for (int i = 0; i < CHACHA20_IMPL_COUNT; i++) {
		if (!use_impl(i))
			continue;
		chachapoly_seal(c, tag, (const uint8_t *)pt, n, ad, sizeof ad, nonce, key);
		hex("1ae10b594f09e26a7e902ecbd0600691", want_tag, 16);
		assert_memory_equal(tag, want_tag, 16);
		hex("d31a8d34648e60db7b86afbc53ef7ec2", want_c, 16);
		assert_memory_equal(c, want_c, 16);
		crypto_aead_chacha20poly1305_ietf_encrypt_detached(
			want_c, want_tag, NULL, (const uint8_t *)pt, n, ad, sizeof ad, NULL, nonce, key);
		assert_memory_equal(c, want_c, n);
		assert_int_equal(chachapoly_open(back, c, n, tag, ad, sizeof ad, nonce, key), 0);
		assert_memory_equal(back, pt, n);
	}
	restore_impl();
}

/* Seal and open against libsodium both ways, every implementation, every length 0..600
 * (past the 2 KiB buffer of open too), AD of 0..33 bytes. */
static void test_aead_matches_libsodium(void **state)
{
	(void)state;
	enum { MAX = 600 };
	static const size_t big[] = { 2047, 2048, 2049, 3000 };
	uint8_t key[32], nonce[12], ad[33], m[3000], c[3000], tag[16], sc[3000], stag[16],
		back[3000];
	for (int i = 0; i < CHACHA20_IMPL_COUNT; i++) {
		if (!use_impl(i))
			continue;
		for (size_t k = 0; k <= MAX + sizeof big / sizeof big[0]; k++) {
			size_t n = k <= MAX ? k : big[k - MAX - 1];
			size_t adlen = n % (sizeof ad + 1);
			randombytes_buf(key, sizeof key);
			randombytes_buf(nonce, sizeof nonce);
			randombytes_buf(ad, sizeof ad);
			randombytes_buf(m, n);
			chachapoly_seal(c, tag, m, n, ad, adlen, nonce, key);
			crypto_aead_chacha20poly1305_ietf_encrypt_detached(sc, stag, NULL, m, n, ad,
									   adlen, NULL, nonce, key);
			assert_memory_equal(c, sc, n);
			assert_memory_equal(tag, stag, 16);
			assert_int_equal(chachapoly_open(back, sc, n, stag, ad, adlen, nonce, key), 0);
			assert_memory_equal(back, m, n);
			assert_int_equal(crypto_aead_chacha20poly1305_ietf_decrypt_detached(
						 back, NULL, c, n, tag, ad, adlen, nonce, key),
					 0);
		}
	}
	restore_impl();
}

/* In place, as the Noise session uses it, short and past the open buffer. */
static void test_aead_in_place(void **state)
{
	(void)state;
	static const size_t lens[] = { 44, 100, 3000 };
	uint8_t key[32], nonce[12], m[3000], buf[3000], tag[16];
	for (int i = 0; i < CHACHA20_IMPL_COUNT; i++) {
		if (!use_impl(i))
			continue;
		for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
			size_t n = lens[k];
			randombytes_buf(key, sizeof key);
			randombytes_buf(nonce, sizeof nonce);
			randombytes_buf(m, n);
			memcpy(buf, m, n);
			chachapoly_seal(buf, tag, buf, n, NULL, 0, nonce, key);
			assert_memory_not_equal(buf, m, n);
			assert_int_equal(chachapoly_open(buf, buf, n, tag, NULL, 0, nonce, key), 0);
			assert_memory_equal(buf, m, n);
		}
	}
	restore_impl();
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

/* A long message's tag is checked before any of it is decrypted, too. */
static void test_aead_rejects_tampering_long(void **state)
{
	(void)state;
	enum { N = 3000 };
	static uint8_t m[N], c[N], out[N];
	uint8_t key[32], nonce[12], tag[16];
	randombytes_buf(key, sizeof key);
	randombytes_buf(nonce, sizeof nonce);
	randombytes_buf(m, sizeof m);
	chachapoly_seal(c, tag, m, N, NULL, 0, nonce, key);
	c[N - 1] ^= 0x80;
	memset(out, 0xa5, sizeof out);
	assert_int_equal(chachapoly_open(out, c, N, tag, NULL, 0, nonce, key), AA_ECRYPTO);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(out[i], 0xa5);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_poly1305_rfc_example),
		cmocka_unit_test(test_poly1305_reduction_edges),
		cmocka_unit_test(test_poly1305_matches_libsodium),
		cmocka_unit_test(test_poly1305_long_extreme_inputs_match_libsodium),
		cmocka_unit_test(test_chacha20_block_rfc_2_3_2),
		cmocka_unit_test(test_chacha20_blocks_rfc_a_1),
		cmocka_unit_test(test_chacha20_encryption_rfc_2_4_2),
		cmocka_unit_test(test_chacha20_encryption_rfc_a_2),
		cmocka_unit_test(test_chacha20_aead_key_rfc_2_6_2),
		cmocka_unit_test(test_chacha20_every_length_matches_libsodium),
		cmocka_unit_test(test_chacha20_aead_xor_every_length_matches_libsodium),
		cmocka_unit_test(test_chacha20_counter_near_wrap_matches_libsodium),
		cmocka_unit_test(test_chacha20_counter_wraps_modulo_2_32),
		cmocka_unit_test(test_chacha20_dispatch),
		cmocka_unit_test(test_aead_rfc_example),
		cmocka_unit_test(test_aead_matches_libsodium),
		cmocka_unit_test(test_aead_in_place),
		cmocka_unit_test(test_aead_rejects_tampering),
		cmocka_unit_test(test_aead_rejects_tampering_long),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
