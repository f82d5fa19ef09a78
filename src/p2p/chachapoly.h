/* p2p/chachapoly: ChaCha20-Poly1305 AEAD (RFC 8439 §2.8) tuned for short messages, for the
 * Noise transport's small frames (a ping is 44 bytes).
 *
 * Why not libsodium's: its Poly1305 picks an SSE2 implementation built for long inputs, whose
 * set-up (powers of r) costs more than the 3–4 blocks of a small frame; that set-up was a
 * third of a ping's instructions (callgrind). Here Poly1305 is the plain evaluation of
 * RFC 8439 §2.5 in radix 2^64 (four 64×64→128-bit products a block). ChaCha20 is ours too
 * (p2p/chacha20): a frame needs block 0 (the Poly1305 key) and one or two data blocks, which
 * libsodium made in ~1300 instructions per ping frame (callgrind) and ours makes in one SIMD
 * pass of ~470 (AVX2) or ~370 (AVX-512). Same algorithm, same bytes on the wire; tested
 * against the RFC vectors and against libsodium on random inputs of every length up to 600
 * bytes, through each ChaCha20 implementation. */
#ifndef AA_P2P_CHACHAPOLY_H
#define AA_P2P_CHACHAPOLY_H

#include <stddef.h>
#include <stdint.h>

#define CHACHAPOLY_KEY_BYTES 32
#define CHACHAPOLY_NONCE_BYTES 12
#define CHACHAPOLY_TAG_BYTES 16

/* Poly1305 one-time authenticator (RFC 8439 §2.5), incremental. */
struct poly1305 {
	uint64_t r[2], h[3], s[2];
	uint8_t buf[16];
	size_t used;
};
void poly1305_init(struct poly1305 *p, const uint8_t key[32]);
void poly1305_update(struct poly1305 *p, const uint8_t *m, size_t n);
/* Writes the tag and wipes the state. */
void poly1305_final(struct poly1305 *p, uint8_t tag[16]);

/* Encrypts m[0..n) into c (c == m allowed) and writes the tag over ad[0..adlen) and c. */
void chachapoly_seal(uint8_t *c, uint8_t tag[CHACHAPOLY_TAG_BYTES], const uint8_t *m, size_t n,
		     const uint8_t *ad, size_t adlen, const uint8_t nonce[CHACHAPOLY_NONCE_BYTES],
		     const uint8_t key[CHACHAPOLY_KEY_BYTES]);
/* Checks the tag (in constant time), then decrypts c[0..n) into m (m == c allowed). Returns
 * 0, or AA_ECRYPTO with m untouched when the tag does not match. */
int chachapoly_open(uint8_t *m, const uint8_t *c, size_t n, const uint8_t tag[CHACHAPOLY_TAG_BYTES],
		    const uint8_t *ad, size_t adlen, const uint8_t nonce[CHACHAPOLY_NONCE_BYTES],
		    const uint8_t key[CHACHAPOLY_KEY_BYTES]);

#endif
