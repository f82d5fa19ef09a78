/* p2p/chacha20: the ChaCha20 stream cipher (RFC 8439 §2.3–2.4) for p2p/chachapoly, tuned
 * for the Noise transport's short frames. Stateless and thread-safe; the implementation
 * (portable C, SSSE3, AVX2 or AVX-512) is picked once at load time from the CPU's features.
 *
 * The block counter is RFC 8439's 32-bit word: it runs modulo 2^32 and never carries into
 * the nonce. libsodium's crypto_stream_chacha20_ietf_xor_ic refuses (aborts on) a call
 * whose blocks would pass 2^32 − 1; within the range it accepts, the two agree byte for
 * byte. Past it, keystream repeats, so callers keep counter + blocks ≤ 2^32 (256 GiB): the
 * AEAD's frames here are under 64 KiB, at most 1 + 1024 blocks from counter 0. */
#ifndef AA_P2P_CHACHA20_H
#define AA_P2P_CHACHA20_H

#include <stddef.h>
#include <stdint.h>

#define CHACHA20_KEY_BYTES 32
#define CHACHA20_NONCE_BYTES 12
#define CHACHA20_BLOCK_BYTES 64

/* out[0..n) = in[0..n) XOR the keystream from block `counter` on (§2.4); out == in is
 * allowed, partial overlap is not. */
void chacha20_xor(uint8_t *out, const uint8_t *in, size_t n,
		  const uint8_t key[CHACHA20_KEY_BYTES], const uint8_t nonce[CHACHA20_NONCE_BYTES],
		  uint32_t counter);

/* The ChaCha20 half of the AEAD (RFC 8439 §2.8) in one pass: otk = the first 32 bytes of
 * block 0 (the Poly1305 one-time key, §2.6), out[0..n) = in[0..n) XOR the keystream from
 * block 1 on. Block 0 and the first data blocks share SIMD passes, so a short frame costs
 * about one block function. n == 0 gives just the key. */
void chacha20_aead_xor(uint8_t otk[32], uint8_t *out, const uint8_t *in, size_t n,
		       const uint8_t key[CHACHA20_KEY_BYTES],
		       const uint8_t nonce[CHACHA20_NONCE_BYTES]);

/* ---- For tests only ----------------------------------------------------------------------
 * Every implementation is reachable from a test so each can be checked against the others
 * and against libsodium on the same inputs. */
enum chacha20_impl {
	CHACHA20_IMPL_PORTABLE,
	CHACHA20_IMPL_SSSE3,
	CHACHA20_IMPL_AVX2,
	CHACHA20_IMPL_AVX512, /* AVX-512 F + VL + BW */
	CHACHA20_IMPL_COUNT,
};
/* Makes `impl` the one every call uses (not thread-safe: tests only). Returns 0, or
 * AA_ENOTSUP when this CPU or build cannot run it. */
int chacha20_force_impl(enum chacha20_impl impl);
/* The one picked from the CPU's features, which chacha20_force_impl can restore. */
enum chacha20_impl chacha20_best_impl(void);
/* The one in use now. */
enum chacha20_impl chacha20_current_impl(void);

#endif
