/* p2p/chachapoly: ChaCha20-Poly1305 for short messages (see chachapoly.h for why).
 *
 * Poly1305 (RFC 8439 §2.5): the accumulator h and the clamped key r are numbers below
 * 2^130, each held as three limbs of 44, 44 and 42 bits, so a limb product fits in 128 bits
 * with room for the sums. Since 2^130 ≡ 5 (mod 2^130 − 5), a product term that lands at or
 * above 2^130 folds back multiplied by 5; the precomputed s1 = 20·r1 and s2 = 20·r2 are
 * those folds (20 = 5·4: the limbs of r1 and r2 sit 2 bits past 2^130 when they wrap). */
#include "p2p/chachapoly.h"

#include <stdbool.h>
#include <string.h>

#include <sodium.h>

#include "base/err.h"
#include "p2p/chacha20.h"

typedef unsigned __int128 u128;

#define M44 0xfffffffffffull
#define M42 0x3ffffffffffull
/* The 2^128 bit every full 16-byte block gets (§2.5.1), at its place in the top limb. */
#define HIBIT (1ull << 40)

static inline uint64_t load64(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
	       (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	       (uint64_t)p[7] << 56;
}

static inline void store64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void poly1305_init(struct poly1305 *p, const uint8_t key[32])
{
	uint64_t t0 = load64(key), t1 = load64(key + 8);
	/* r with the clamp of §2.5.1 (r &= 0x0ffffffc0ffffffc0ffffffc0fffffff) folded into the
	 * limb masks. */
	p->r[0] = t0 & 0xffc0fffffffull;
	p->r[1] = ((t0 >> 44) | (t1 << 20)) & 0xfffffc0ffffull;
	p->r[2] = (t1 >> 24) & 0x00ffffffc0full;
	p->h[0] = p->h[1] = p->h[2] = 0;
	p->s[0] = load64(key + 16);
	p->s[1] = load64(key + 24);
	p->used = 0;
}

/* h = (h + block) · r mod 2^130 − 5 for each 16-byte block of m (n a multiple of 16). */
static void blocks(struct poly1305 *p, const uint8_t *m, size_t n, uint64_t hibit)
{
	const uint64_t r0 = p->r[0], r1 = p->r[1], r2 = p->r[2];
	const uint64_t s1 = r1 * 20, s2 = r2 * 20;
	uint64_t h0 = p->h[0], h1 = p->h[1], h2 = p->h[2];
	for (; n >= 16; m += 16, n -= 16) {
		uint64_t t0 = load64(m), t1 = load64(m + 8);
		h0 += t0 & M44;
		h1 += ((t0 >> 44) | (t1 << 20)) & M44;
		h2 += ((t1 >> 24) & M42) | hibit;
		u128 d0 = (u128)h0 * r0 + (u128)h1 * s2 + (u128)h2 * s1;
		u128 d1 = (u128)h0 * r1 + (u128)h1 * r0 + (u128)h2 * s2;
		u128 d2 = (u128)h0 * r2 + (u128)h1 * r1 + (u128)h2 * r0;
		/* Partial carry: limbs back under their widths, bar a small excess in h1 that
		 * the next round's products absorb. */
		uint64_t c = (uint64_t)(d0 >> 44);
		h0 = (uint64_t)d0 & M44;
		d1 += c;
		c = (uint64_t)(d1 >> 44);
		h1 = (uint64_t)d1 & M44;
		d2 += c;
		c = (uint64_t)(d2 >> 42);
		h2 = (uint64_t)d2 & M42;
		h0 += c * 5;
		c = h0 >> 44;
		h0 &= M44;
		h1 += c;
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
		blocks(p, p->buf, 16, HIBIT);
		p->used = 0;
	}
	size_t full = n & ~(size_t)15;
	if (full) {
		blocks(p, m, full, HIBIT);
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
	uint64_t h0 = p->h[0], h1 = p->h[1], h2 = p->h[2], c;
	/* Full carry, twice around, so h < 2^130 in canonical limbs... */
	for (int round = 0; round < 2; round++) {
		c = h1 >> 44;
		h1 &= M44;
		h2 += c;
		c = h2 >> 42;
		h2 &= M42;
		h0 += c * 5;
		c = h0 >> 44;
		h0 &= M44;
		h1 += c;
	}
	/* ... then h − p = h + 5 − 2^130, taken (without branching) when it does not borrow. */
	uint64_t g0 = h0 + 5;
	c = g0 >> 44;
	g0 &= M44;
	uint64_t g1 = h1 + c;
	c = g1 >> 44;
	g1 &= M44;
	uint64_t g2 = h2 + c - (1ull << 42);
	uint64_t take_g = (g2 >> 63) - 1; /* all ones when no borrow */
	h0 = (h0 & ~take_g) | (g0 & take_g);
	h1 = (h1 & ~take_g) | (g1 & take_g);
	h2 = (h2 & ~take_g) | (g2 & take_g);
	/* tag = (h + s) mod 2^128 */
	uint64_t lo = h0 + (h1 << 44), hi = (h1 >> 20) + (h2 << 24);
	lo += p->s[0];
	hi += p->s[1] + (lo < p->s[0]);
	store64(tag, lo);
	store64(tag + 8, hi);
	sodium_memzero(p, sizeof *p);
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
		blocks(&p, ad, full, HIBIT);
	if (adlen > full) {
		memcpy(tail, ad + full, adlen - full);
		blocks(&p, tail, 16, HIBIT);
		memset(tail, 0, 16);
	}
	full = n & ~(size_t)15;
	if (full)
		blocks(&p, c, full, HIBIT);
	size_t t = 0;
	if (n > full) {
		memcpy(tail, c + full, n - full);
		t = 16;
	}
	store64(tail + t, adlen);
	store64(tail + t + 8, n);
	blocks(&p, tail, t + 16, HIBIT);
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
	sodium_memzero(otk, sizeof otk);
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
	sodium_memzero(otk, sizeof otk);
	if (crypto_verify_16(want, tag) != 0) {
		/* work holds c XOR keystream, the would-be plaintext of a forged frame: wipe it. */
		if (buffered)
			sodium_memzero(work, n);
		return AA_ECRYPTO;
	}
	if (buffered)
		memcpy(m, work, n);
	else
		chacha20_xor(m, c, n, key, nonce, 1);
	return 0;
}
