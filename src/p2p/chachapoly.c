/* p2p/chachapoly: ChaCha20-Poly1305 for short messages (see chachapoly.h for why).
 *
 * Poly1305 (RFC 8439 §2.5) in radix 2^64: the accumulator is h = h0 + h1·2^64 + h2·2^128
 * with h2 a few bits, the clamped key r = r0 + r1·2^64 with r0, r1 < 2^60 and r1 a multiple
 * of 4 (the clamp of §2.5.1). Since 2^130 ≡ 5 (mod p = 2^130 − 5), a term at 2^128 times r1
 * is r1/4 · 2^130 ≡ 5·(r1/4) = r1 + r1/4 =: s1, so one block is four 64×64→128-bit products
 * and two small ones:
 *
 *   h·r ≡ (h0·r0 + h1·s1) + (h0·r1 + h1·r0 + h2·s1)·2^64 + (h2·r0)·2^128     (mod p)
 *
 * and the bits at and above 2^130 fold back times 5. That leaves h2 ≤ 4, so h < 2p and the
 * final reduction is one conditional subtraction. */
#include "p2p/chachapoly.h"

#include <stdbool.h>
#include <string.h>

#include <sodium.h>

#include "base/endian.h"
#include "base/err.h"
#include "p2p/chacha20.h"

typedef unsigned __int128 u128;

void poly1305_init(struct poly1305 *p, const uint8_t key[32])
{
	p->r[0] = aa_load_le64(key) & 0x0ffffffc0fffffffull;
	p->r[1] = aa_load_le64(key + 8) & 0x0ffffffc0ffffffcull;
	p->h[0] = p->h[1] = p->h[2] = 0;
	p->s[0] = aa_load_le64(key + 16);
	p->s[1] = aa_load_le64(key + 24);
	p->used = 0;
}

/* h = (h + block) · r mod p, partly reduced, for each 16-byte block of m (n a multiple of
 * 16); hibit is the 2^128 bit a full block gets (§2.5.1), 0 for the padded last one. */
static void blocks(struct poly1305 *p, const uint8_t *m, size_t n, uint64_t hibit)
{
	const uint64_t r0 = p->r[0], r1 = p->r[1], s1 = r1 + (r1 >> 2);
	uint64_t h0 = p->h[0], h1 = p->h[1], h2 = p->h[2];
	for (; n >= 16; m += 16, n -= 16) {
		/* Carries by comparison, in 64-bit words: GCC makes add/adc of these, where
		 * 128-bit sums went through the stack. */
		uint64_t m0 = aa_load_le64(m), m1 = aa_load_le64(m + 8), c;
		h0 += m0;
		c = h0 < m0;
		h1 += c;
		c = h1 < c;
		h1 += m1;
		c += h1 < m1;
		h2 += c + hibit; /* ≤ 6 */
		/* d0, d1 < 2^126; h2·s1 and h2·r0 < 2^64. */
		u128 d0 = (u128)h0 * r0 + (u128)h1 * s1;
		u128 d1 = (u128)h0 * r1 + (u128)h1 * r0 + h2 * s1;
		uint64_t d2 = h2 * r0;
		h0 = (uint64_t)d0;
		d1 += (uint64_t)(d0 >> 64);
		h1 = (uint64_t)d1;
		d2 += (uint64_t)(d1 >> 64);
		/* d2 holds bits 128 and up: keep two, fold the rest (·2^130 ≡ ·5) into h0. */
		h2 = d2 & 3;
		uint64_t fold = (d2 & ~3ull) + (d2 >> 2);
		h0 += fold;
		c = h0 < fold;
		h1 += c;
		h2 += h1 < c;
	}
	p->h[0] = h0;
	p->h[1] = h1;
	p->h[2] = h2;
}

void poly1305_update(struct poly1305 *p, const uint8_t *m, size_t n)
{
	if (p->used) {
		size_t take = 16 - p->used < n ? 16 - p->used : n;
		memcpy(p->buf + p->used, m, take);
		p->used += take;
		m += take;
		n -= take;
		if (p->used < 16)
			return;
		blocks(p, p->buf, 16, 1);
		p->used = 0;
	}
	size_t full = n & ~(size_t)15;
	if (full) {
		blocks(p, m, full, 1);
		m += full;
		n -= full;
	}
	if (n) {
		memcpy(p->buf, m, n);
		p->used = n;
	}
}

void poly1305_final(struct poly1305 *p, uint8_t tag[16])
{
	if (p->used) {
		/* The last partial block gets a 1 byte after it instead of the 2^128 bit. */
		p->buf[p->used++] = 1;
		memset(p->buf + p->used, 0, 16 - p->used);
		blocks(p, p->buf, 16, 0);
	}
	uint64_t h0 = p->h[0], h1 = p->h[1], h2 = p->h[2];
	/* h < 2p: h − p = h + 5 − 2^130 is the answer when it does not borrow, that is when
	 * h + 5 reaches 2^130. Chosen without a branch. */
	u128 t = (u128)h0 + 5;
	uint64_t g0 = (uint64_t)t;
	t = (u128)h1 + (uint64_t)(t >> 64);
	uint64_t g1 = (uint64_t)t;
	uint64_t g2 = h2 + (uint64_t)(t >> 64);
	uint64_t take_g = 0 - (g2 >> 2); /* all ones when h ≥ p */
	h0 = (h0 & ~take_g) | (g0 & take_g);
	h1 = (h1 & ~take_g) | (g1 & take_g);
	/* tag = (h + s) mod 2^128 */
	t = (u128)h0 + p->s[0];
	aa_store_le64(tag, (uint64_t)t);
	aa_store_le64(tag + 8, h1 + p->s[1] + (uint64_t)(t >> 64));
	explicit_bzero(p, sizeof *p);
}

/* The AEAD's tag (§2.8): Poly1305 keyed by otk, the first 32 bytes of ChaCha20 block 0,
 * over ad ‖ pad16 ‖ c ‖ pad16 ‖ le64(|ad|) ‖ le64(|c|). */
static void aead_tag(uint8_t tag[16], const uint8_t *ad, size_t adlen, const uint8_t *c, size_t n,
		     const uint8_t otk[32])
{
	/* Whole blocks straight from the input; the zero-padded tails and the lengths from a
	 * small buffer: two or three block runs per frame instead of a buffered update per
	 * piece (a third of a ping's Poly1305 instructions went to that bookkeeping). */
	struct poly1305 p;
	poly1305_init(&p, otk);
	uint8_t tail[48] = { 0 };
	size_t full = adlen & ~(size_t)15;
	if (full)
		blocks(&p, ad, full, 1);
	if (adlen > full) {
		memcpy(tail, ad + full, adlen - full);
		blocks(&p, tail, 16, 1);
		memset(tail, 0, 16);
	}
	full = n & ~(size_t)15;
	if (full)
		blocks(&p, c, full, 1);
	size_t t = 0;
	if (n > full) {
		memcpy(tail, c + full, n - full);
		t = 16;
	}
	aa_store_le64(tail + t, adlen);
	aa_store_le64(tail + t + 8, n);
	blocks(&p, tail, t + 16, 1);
	poly1305_final(&p, tag);
}

/* Frames up to this size are opened through a stack buffer, so that block 0 (the one-time
 * key) and the keystream come out of the same SIMD passes while the tag is still unchecked;
 * noise.c sends nothing larger this way. Longer messages take block 0 alone first. */
#define OPEN_BUFFER_MAX 2048

void chachapoly_seal(uint8_t *c, uint8_t tag[CHACHAPOLY_TAG_BYTES], const uint8_t *m, size_t n,
		     const uint8_t *ad, size_t adlen, const uint8_t nonce[CHACHAPOLY_NONCE_BYTES],
		     const uint8_t key[CHACHAPOLY_KEY_BYTES])
{
	uint8_t otk[32];
	chacha20_aead_xor(otk, c, m, n, key, nonce);
	aead_tag(tag, ad, adlen, c, n, otk);
	explicit_bzero(otk, sizeof otk);
}

int chachapoly_open(uint8_t *m, const uint8_t *c, size_t n, const uint8_t tag[CHACHAPOLY_TAG_BYTES],
		    const uint8_t *ad, size_t adlen, const uint8_t nonce[CHACHAPOLY_NONCE_BYTES],
		    const uint8_t key[CHACHAPOLY_KEY_BYTES])
{
	/* §2.8: the tag is over the ciphertext, and m is written only once it checks out. */
	uint8_t otk[32], want[CHACHAPOLY_TAG_BYTES], work[OPEN_BUFFER_MAX];
	bool buffered = n <= OPEN_BUFFER_MAX;
	chacha20_aead_xor(otk, work, c, buffered ? n : 0, key, nonce);
	aead_tag(want, ad, adlen, c, n, otk);
	explicit_bzero(otk, sizeof otk);
	if (crypto_verify_16(want, tag) != 0) {
		/* work holds c XOR keystream, the would-be plaintext of a forged frame: wipe it. */
		if (buffered)
			explicit_bzero(work, n);
		return AA_ECRYPTO;
	}
	if (buffered)
		memcpy(m, work, n);
	else
		chacha20_xor(m, c, n, key, nonce, 1);
	return 0;
}
