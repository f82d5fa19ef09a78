/* p2p/chacha20: ChaCha20 (RFC 8439 §2.3–2.4), written for short messages.
 *
 * The state is a 4×4 matrix of words; row r holds words 4r..4r+3 (constants, key, key,
 * counter ‖ nonce). The SIMD cores are "row-wise": a block's four rows sit in four vector
 * registers, so one vector quarter round is the whole column round, and rotating the words
 * of three rows against the fourth lines the diagonals up as columns for the diagonal round
 * (§2.3: QUARTERROUND(0,5,10,15) and so on), then back. A 256-bit register holds the same
 * row of two consecutive blocks (one per 128-bit lane), a 512-bit one of four, so the
 * AEAD's block 0 (the Poly1305 key) and its first data block come out of the same 20
 * rounds: a ping frame costs one block function instead of two, and there is no per-call
 * set-up beyond four register loads. Longer runs interleave two independent states so the
 * serial chain of each round overlaps with the other's.
 *
 * Nothing here branches on or indexes by secret data; only lengths steer the code. */
#include "p2p/chacha20.h"

#include <string.h>

#include <sodium.h>

#include "base/endian.h"
#include "base/err.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CHACHA20_X86 1
#include <immintrin.h>
#endif

/* The per-block helpers are small and sit on the hot path of every frame: no calls there. */
#define INLINE static inline __attribute__((always_inline))

/* "expand 32-byte k" as four little-endian words (§2.3). */
#define C0 0x61707865u
#define C1 0x3320646eu
#define C2 0x79622d32u
#define C3 0x6b206574u

typedef void core_fn(uint8_t *otk, uint8_t *out, const uint8_t *in, size_t n, const uint8_t *key,
		     const uint8_t *nonce, uint32_t counter);

/* ---- Portable C (§2.1–2.3 as written) ---------------------------------------------------- */

#define ROTL32(v, c) ((uint32_t)((v) << (c)) | ((v) >> (32 - (c))))
#define QUARTER(a, b, c, d)                 \
	do {                                \
		a += b, d ^= a;             \
		d = ROTL32(d, 16);          \
		c += d, b ^= c;             \
		b = ROTL32(b, 12);          \
		a += b, d ^= a;             \
		d = ROTL32(d, 8);           \
		c += d, b ^= c;             \
		b = ROTL32(b, 7);           \
	} while (0)

/* ks = the block function of st (§2.3): 20 rounds, then the input added back. */
static void block_portable(uint32_t ks[16], const uint32_t st[16])
{
	uint32_t x[16];
	memcpy(x, st, sizeof x);
	for (int i = 0; i < 10; i++) {
		QUARTER(x[0], x[4], x[8], x[12]);
		QUARTER(x[1], x[5], x[9], x[13]);
		QUARTER(x[2], x[6], x[10], x[14]);
		QUARTER(x[3], x[7], x[11], x[15]);
		QUARTER(x[0], x[5], x[10], x[15]);
		QUARTER(x[1], x[6], x[11], x[12]);
		QUARTER(x[2], x[7], x[8], x[13]);
		QUARTER(x[3], x[4], x[9], x[14]);
	}
	for (int i = 0; i < 16; i++)
		ks[i] = x[i] + st[i];
	sodium_memzero(x, sizeof x);
}

static void core_portable(uint8_t *otk, uint8_t *out, const uint8_t *in, size_t n,
			  const uint8_t *key, const uint8_t *nonce, uint32_t counter)
{
	uint32_t st[16], ks[16];
	uint8_t tail[64];
	st[0] = C0, st[1] = C1, st[2] = C2, st[3] = C3;
	for (int i = 0; i < 8; i++)
		st[4 + i] = aa_load_le32(key + 4 * i);
	st[12] = counter;
	for (int i = 0; i < 3; i++)
		st[13 + i] = aa_load_le32(nonce + 4 * i);
	if (otk) {
		block_portable(ks, st);
		for (int i = 0; i < 8; i++)
			aa_store_le32(otk + 4 * i, ks[i]);
		st[12]++;
	}
	for (; n >= 64; n -= 64, in += 64, out += 64) {
		block_portable(ks, st);
		for (int i = 0; i < 16; i++)
			aa_store_le32(out + 4 * i, aa_load_le32(in + 4 * i) ^ ks[i]);
		st[12]++; /* wraps modulo 2^32 (see chacha20.h) */
	}
	if (n) {
		block_portable(ks, st);
		for (int i = 0; i < 16; i++)
			aa_store_le32(tail + 4 * i, ks[i]);
		for (size_t i = 0; i < n; i++)
			out[i] = in[i] ^ tail[i];
	}
	sodium_memzero(st, sizeof st);
	sodium_memzero(ks, sizeof ks);
	sodium_memzero(tail, sizeof tail);
}

#ifdef CHACHA20_X86

/* out[0..n) = in[0..n) XOR ks[0..n), n < 16, a few wide moves instead of a byte loop. */
INLINE void xor_small(uint8_t *out, const uint8_t *in, const uint8_t *ks, size_t n)
{
	if (n & 8) {
		uint64_t a, b;
		memcpy(&a, in, 8);
		memcpy(&b, ks, 8);
		a ^= b;
		memcpy(out, &a, 8);
		out += 8, in += 8, ks += 8;
	}
	if (n & 4) {
		uint32_t a, b;
		memcpy(&a, in, 4);
		memcpy(&b, ks, 4);
		a ^= b;
		memcpy(out, &a, 4);
		out += 4, in += 4, ks += 4;
	}
	if (n & 2) {
		uint16_t a, b;
		memcpy(&a, in, 2);
		memcpy(&b, ks, 2);
		a ^= b;
		memcpy(out, &a, 2);
		out += 2, in += 2, ks += 2;
	}
	if (n & 1)
		*out = *in ^ *ks;
}

/* Where a core's keystream goes, block by block: while otk is set, the next block's first
 * 32 bytes go there (the AEAD's block 0); after that, out[0..n) = in[0..n) XOR the blocks. */
struct job {
	uint8_t *otk;
	uint8_t *out;
	const uint8_t *in;
	size_t n;
};

INLINE void job_advance(struct job *j, size_t k)
{
	j->out += k;
	j->in += k;
	j->n -= k;
}

/* Blocks a job needs. */
static inline size_t job_blocks(const struct job *j)
{
	return (j->otk != NULL) + j->n / 64 + (j->n % 64 != 0);
}

/* One double round (§2.3: a column round, then a diagonal round) on the rows a, b, c, d of
 * a row-wise state, in terms of the vector operations of one instruction set. LANES1..3
 * rotate the words of each 128-bit lane left by one, two and three places. For the
 * diagonal round, rows a, c and d move (by −1, +1, +2) rather than b, c and d: only the
 * alignment of the rows to one another matters, and b is the row the next round's first
 * addition waits for, so this keeps the lane moves off the round's serial dependency
 * chain. */
#define DOUBLE_ROUND(a, b, c, d)                                                   \
	do {                                                                       \
		a = ADD(a, b), d = ROL16(XOR(d, a));                               \
		c = ADD(c, d), b = ROL12(XOR(b, c));                               \
		a = ADD(a, b), d = ROL8(XOR(d, a));                                \
		c = ADD(c, d), b = ROL7(XOR(b, c));                                \
		a = LANES3(a), c = LANES1(c), d = LANES2(d);                       \
		a = ADD(a, b), d = ROL16(XOR(d, a));                               \
		c = ADD(c, d), b = ROL12(XOR(b, c));                               \
		a = ADD(a, b), d = ROL8(XOR(d, a));                                \
		c = ADD(c, d), b = ROL7(XOR(b, c));                                \
		a = LANES1(a), c = LANES3(c), d = LANES2(d);                       \
	} while (0)

/* The last (or only) pass of a short message: straight-line rounds, no loop-carried register
 * copies. */
#define UNROLL_ROUNDS _Pragma("GCC unroll 10")

/* _MM_SHUFFLE(0,3,2,1), (1,0,3,2), (2,1,0,3): lane i takes word i+1, i+2, i+3 (mod 4). */
#define SHUF1 0x39
#define SHUF2 0x4e
#define SHUF3 0x93

/* Row 3 of block `counter`: the counter word, then the nonce (§2.3). */
static inline uint32_t nonce_word(const uint8_t *nonce, int i)
{
	return aa_load_le32(nonce + 4 * i);
}

/* ---- SSSE3: one block per 128-bit state, two states in flight ------------------------------ */

#define TARGET_SSSE3 __attribute__((target("ssse3")))

TARGET_SSSE3 INLINE void xor16_x(uint8_t *out, const uint8_t *in, __m128i k)
{
	_mm_storeu_si128((__m128i *)out, _mm_xor_si128(_mm_loadu_si128((const __m128i *)in), k));
}

/* Emits one block given as four 16-byte rows. */
TARGET_SSSE3 INLINE void emit_x(struct job *j, __m128i k0, __m128i k1, __m128i k2,
				       __m128i k3)
{
	if (j->otk) {
		_mm_storeu_si128((__m128i *)j->otk, k0);
		_mm_storeu_si128((__m128i *)(j->otk + 16), k1);
		j->otk = NULL;
		return;
	}
	if (j->n >= 64) {
		xor16_x(j->out, j->in, k0);
		xor16_x(j->out + 16, j->in + 16, k1);
		xor16_x(j->out + 32, j->in + 32, k2);
		xor16_x(j->out + 48, j->in + 48, k3);
		job_advance(j, 64);
		return;
	}
	__m128i k[4] = { k0, k1, k2, k3 };
	int i = 0;
	for (; j->n >= 16; i++) {
		xor16_x(j->out, j->in, k[i]);
		job_advance(j, 16);
	}
	if (j->n) {
		uint8_t ks[16];
		_mm_storeu_si128((__m128i *)ks, k[i]);
		xor_small(j->out, j->in, ks, j->n);
		job_advance(j, j->n);
	}
}

TARGET_SSSE3 static void core_ssse3(uint8_t *otk, uint8_t *out, const uint8_t *in, size_t n,
				    const uint8_t *key, const uint8_t *nonce, uint32_t counter)
{
#define ADD _mm_add_epi32
#define XOR _mm_xor_si128
#define ROL16(v) _mm_shuffle_epi8(v, rot16)
#define ROL12(v) _mm_or_si128(_mm_slli_epi32(v, 12), _mm_srli_epi32(v, 20))
#define ROL8(v) _mm_shuffle_epi8(v, rot8)
#define ROL7(v) _mm_or_si128(_mm_slli_epi32(v, 7), _mm_srli_epi32(v, 25))
#define LANES1(v) _mm_shuffle_epi32(v, SHUF1)
#define LANES2(v) _mm_shuffle_epi32(v, SHUF2)
#define LANES3(v) _mm_shuffle_epi32(v, SHUF3)
	/* Byte moves that rotate each word left by 16 and by 8. */
	const __m128i rot16 = _mm_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
	const __m128i rot8 = _mm_setr_epi8(3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14);
	struct job j = { otk, out, in, n };
	size_t blocks = job_blocks(&j);
	const __m128i r0 = _mm_setr_epi32((int)C0, (int)C1, (int)C2, (int)C3);
	const __m128i r1 = _mm_loadu_si128((const __m128i *)key);
	const __m128i r2 = _mm_loadu_si128((const __m128i *)(key + 16));
	__m128i r3 = _mm_setr_epi32((int)counter, (int)nonce_word(nonce, 0),
				    (int)nonce_word(nonce, 1), (int)nonce_word(nonce, 2));
	const __m128i one = _mm_setr_epi32(1, 0, 0, 0);
	for (; blocks >= 2; blocks -= 2) {
		__m128i s3 = _mm_add_epi32(r3, one);
		__m128i a = r0, b = r1, c = r2, d = r3;
		__m128i e = r0, f = r1, g = r2, h = s3;
		for (int i = 0; i < 10; i++) {
			DOUBLE_ROUND(a, b, c, d);
			DOUBLE_ROUND(e, f, g, h);
		}
		emit_x(&j, ADD(a, r0), ADD(b, r1), ADD(c, r2), ADD(d, r3));
		emit_x(&j, ADD(e, r0), ADD(f, r1), ADD(g, r2), ADD(h, s3));
		r3 = _mm_add_epi32(s3, one);
	}
	if (blocks) {
		__m128i a = r0, b = r1, c = r2, d = r3;
		UNROLL_ROUNDS
		for (int i = 0; i < 10; i++)
			DOUBLE_ROUND(a, b, c, d);
		emit_x(&j, ADD(a, r0), ADD(b, r1), ADD(c, r2), ADD(d, r3));
	}
#undef ADD
#undef XOR
#undef ROL16
#undef ROL12
#undef ROL8
#undef ROL7
#undef LANES1
#undef LANES2
#undef LANES3
}

/* ---- AVX2: two blocks per 256-bit state (one per lane), two states in flight ---------------- */

#define TARGET_AVX2 __attribute__((target("avx2")))

TARGET_AVX2 INLINE void xor32_y(uint8_t *out, const uint8_t *in, __m256i k)
{
	_mm256_storeu_si256((__m256i *)out,
			    _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)in), k));
}

/* Emits one block given as its bytes 0..31 and 32..63. */
TARGET_AVX2 INLINE void emit_y(struct job *j, __m256i lo, __m256i hi)
{
	if (j->otk) {
		_mm256_storeu_si256((__m256i *)j->otk, lo);
		j->otk = NULL;
		return;
	}
	if (j->n >= 64) {
		xor32_y(j->out, j->in, lo);
		xor32_y(j->out + 32, j->in + 32, hi);
		job_advance(j, 64);
		return;
	}
	if (j->n >= 32) {
		xor32_y(j->out, j->in, lo);
		job_advance(j, 32);
		lo = hi;
	}
	__m128i x = _mm256_castsi256_si128(lo);
	if (j->n >= 16) {
		_mm_storeu_si128((__m128i *)j->out,
				 _mm_xor_si128(_mm_loadu_si128((const __m128i *)j->in), x));
		job_advance(j, 16);
		x = _mm256_extracti128_si256(lo, 1);
	}
	if (j->n) {
		uint8_t ks[16];
		_mm_storeu_si128((__m128i *)ks, x);
		xor_small(j->out, j->in, ks, j->n);
		job_advance(j, j->n);
	}
}

/* Emits the two blocks of a finished 256-bit state (rows a..d, low lanes first). */
TARGET_AVX2 INLINE void emit2_y(struct job *j, __m256i a, __m256i b, __m256i c, __m256i d)
{
	emit_y(j, _mm256_permute2x128_si256(a, b, 0x20), _mm256_permute2x128_si256(c, d, 0x20));
	if (j->n)
		emit_y(j, _mm256_permute2x128_si256(a, b, 0x31),
		       _mm256_permute2x128_si256(c, d, 0x31));
}

TARGET_AVX2 static void core_avx2(uint8_t *otk, uint8_t *out, const uint8_t *in, size_t n,
				  const uint8_t *key, const uint8_t *nonce, uint32_t counter)
{
#define ADD _mm256_add_epi32
#define XOR _mm256_xor_si256
#define ROL16(v) _mm256_shuffle_epi8(v, rot16)
#define ROL12(v) _mm256_or_si256(_mm256_slli_epi32(v, 12), _mm256_srli_epi32(v, 20))
#define ROL8(v) _mm256_shuffle_epi8(v, rot8)
#define ROL7(v) _mm256_or_si256(_mm256_slli_epi32(v, 7), _mm256_srli_epi32(v, 25))
#define LANES1(v) _mm256_shuffle_epi32(v, SHUF1)
#define LANES2(v) _mm256_shuffle_epi32(v, SHUF2)
#define LANES3(v) _mm256_shuffle_epi32(v, SHUF3)
	const __m256i rot16 = _mm256_setr_epi8(2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13,
					       2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
	const __m256i rot8 = _mm256_setr_epi8(3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14,
					      3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14);
	struct job j = { otk, out, in, n };
	size_t blocks = job_blocks(&j);
	const __m256i r0 = _mm256_setr_epi32((int)C0, (int)C1, (int)C2, (int)C3, (int)C0, (int)C1,
					     (int)C2, (int)C3);
	const __m256i r1 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)key));
	const __m256i r2 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(key + 16)));
	/* Lanes: blocks counter and counter + 1. */
	__m256i r3 = _mm256_setr_epi32((int)counter, (int)nonce_word(nonce, 0),
				       (int)nonce_word(nonce, 1), (int)nonce_word(nonce, 2),
				       (int)(counter + 1), (int)nonce_word(nonce, 0),
				       (int)nonce_word(nonce, 1), (int)nonce_word(nonce, 2));
	const __m256i two = _mm256_setr_epi32(2, 0, 0, 0, 2, 0, 0, 0);
	for (; blocks > 2; blocks -= blocks < 4 ? blocks : 4) {
		__m256i s3 = _mm256_add_epi32(r3, two);
		__m256i a = r0, b = r1, c = r2, d = r3;
		__m256i e = r0, f = r1, g = r2, h = s3;
		for (int i = 0; i < 10; i++) {
			DOUBLE_ROUND(a, b, c, d);
			DOUBLE_ROUND(e, f, g, h);
		}
		emit2_y(&j, ADD(a, r0), ADD(b, r1), ADD(c, r2), ADD(d, r3));
		emit2_y(&j, ADD(e, r0), ADD(f, r1), ADD(g, r2), ADD(h, s3));
		r3 = _mm256_add_epi32(s3, two);
	}
	if (blocks) {
		__m256i a = r0, b = r1, c = r2, d = r3;
		UNROLL_ROUNDS
		for (int i = 0; i < 10; i++)
			DOUBLE_ROUND(a, b, c, d);
		emit2_y(&j, ADD(a, r0), ADD(b, r1), ADD(c, r2), ADD(d, r3));
	}
#undef ADD
#undef XOR
#undef ROL16
#undef ROL12
#undef ROL8
#undef ROL7
#undef LANES1
#undef LANES2
#undef LANES3
}

/* ---- AVX-512: vprold rotations; 2 blocks per 256-bit state for the shortest messages, 4 per
 * 512-bit state otherwise, two of those in flight for longer runs; byte-masked loads and
 * stores for the last partial block --------------------------------------------------------- */

#define TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw")))

/* Emits one block held whole in a 512-bit register. */
TARGET_AVX512 INLINE void emit_z(struct job *j, __m512i k)
{
	if (j->otk) {
		_mm256_storeu_si256((__m256i *)j->otk, _mm512_castsi512_si256(k));
		j->otk = NULL;
		return;
	}
	if (j->n >= 64) {
		_mm512_storeu_si512(j->out, _mm512_xor_si512(_mm512_loadu_si512(j->in), k));
		job_advance(j, 64);
		return;
	}
	if (j->n) {
		/* The mask covers exactly the n bytes left: nothing past them is read or written. */
		__mmask64 m = ((uint64_t)1 << j->n) - 1;
		_mm512_mask_storeu_epi8(j->out, m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, j->in), k));
		job_advance(j, j->n);
	}
}

/* Emits the four blocks of a finished 512-bit state: block i is lane i of each row. */
TARGET_AVX512 INLINE void emit4_z(struct job *j, __m512i a, __m512i b, __m512i c, __m512i d)
{
	__m512i ab01 = _mm512_shuffle_i32x4(a, b, 0x44); /* a0 a1 b0 b1 */
	__m512i cd01 = _mm512_shuffle_i32x4(c, d, 0x44);
	__m512i ab23 = _mm512_shuffle_i32x4(a, b, 0xee); /* a2 a3 b2 b3 */
	__m512i cd23 = _mm512_shuffle_i32x4(c, d, 0xee);
	emit_z(j, _mm512_shuffle_i32x4(ab01, cd01, 0x88)); /* a0 b0 c0 d0 */
	if (!j->n)
		return;
	emit_z(j, _mm512_shuffle_i32x4(ab01, cd01, 0xdd)); /* a1 b1 c1 d1 */
	if (!j->n)
		return;
	emit_z(j, _mm512_shuffle_i32x4(ab23, cd23, 0x88));
	if (!j->n)
		return;
	emit_z(j, _mm512_shuffle_i32x4(ab23, cd23, 0xdd));
}

/* Emits one block given as its bytes 0..31 and 32..63, in 256-bit registers only: the short
 * path stays off 512-bit instructions, which some CPUs (Skylake-SP) answer with a lower clock
 * for a while. */
TARGET_AVX512 INLINE void emit_y512(struct job *j, __m256i lo, __m256i hi)
{
	if (j->otk) {
		_mm256_storeu_si256((__m256i *)j->otk, lo);
		j->otk = NULL;
		return;
	}
	if (j->n >= 32) {
		_mm256_storeu_si256((__m256i *)j->out,
				    _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)j->in), lo));
		job_advance(j, 32);
		lo = hi;
		if (j->n >= 32) {
			_mm256_storeu_si256(
				(__m256i *)j->out,
				_mm256_xor_si256(_mm256_loadu_si256((const __m256i *)j->in), lo));
			job_advance(j, 32);
			return;
		}
	}
	if (j->n) {
		__mmask32 m = ((uint32_t)1 << j->n) - 1; /* n < 32 here */
		_mm256_mask_storeu_epi8(j->out, m,
					_mm256_xor_si256(_mm256_maskz_loadu_epi8(m, j->in), lo));
		job_advance(j, j->n);
	}
}

/* Emits the two blocks of a finished 256-bit state. */
TARGET_AVX512 INLINE void emit2_y512(struct job *j, __m256i a, __m256i b, __m256i c, __m256i d)
{
	emit_y512(j, _mm256_permute2x128_si256(a, b, 0x20), _mm256_permute2x128_si256(c, d, 0x20));
	if (j->n)
		emit_y512(j, _mm256_permute2x128_si256(a, b, 0x31),
			  _mm256_permute2x128_si256(c, d, 0x31));
}

/* One or two blocks (a ping frame and its Poly1305 key): a single 256-bit state. */
TARGET_AVX512 static void short_avx512(struct job *j, const uint8_t *key, const uint8_t *nonce,
				       uint32_t counter)
{
#define ADD _mm256_add_epi32
#define XOR _mm256_xor_si256
#define ROL16(v) _mm256_rol_epi32(v, 16)
#define ROL12(v) _mm256_rol_epi32(v, 12)
#define ROL8(v) _mm256_rol_epi32(v, 8)
#define ROL7(v) _mm256_rol_epi32(v, 7)
#define LANES1(v) _mm256_shuffle_epi32(v, SHUF1)
#define LANES2(v) _mm256_shuffle_epi32(v, SHUF2)
#define LANES3(v) _mm256_shuffle_epi32(v, SHUF3)
	const __m256i r0 = _mm256_setr_epi32((int)C0, (int)C1, (int)C2, (int)C3, (int)C0, (int)C1,
					     (int)C2, (int)C3);
	const __m256i r1 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)key));
	const __m256i r2 = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(key + 16)));
	const __m256i r3 = _mm256_setr_epi32((int)counter, (int)nonce_word(nonce, 0),
					     (int)nonce_word(nonce, 1), (int)nonce_word(nonce, 2),
					     (int)(counter + 1), (int)nonce_word(nonce, 0),
					     (int)nonce_word(nonce, 1), (int)nonce_word(nonce, 2));
	__m256i a = r0, b = r1, c = r2, d = r3;
	UNROLL_ROUNDS
	for (int i = 0; i < 10; i++)
		DOUBLE_ROUND(a, b, c, d);
	emit2_y512(j, ADD(a, r0), ADD(b, r1), ADD(c, r2), ADD(d, r3));
#undef ADD
#undef XOR
#undef ROL16
#undef ROL12
#undef ROL8
#undef ROL7
#undef LANES1
#undef LANES2
#undef LANES3
}

TARGET_AVX512 static void core_avx512(uint8_t *otk, uint8_t *out, const uint8_t *in, size_t n,
				      const uint8_t *key, const uint8_t *nonce, uint32_t counter)
{
	struct job j = { otk, out, in, n };
	size_t blocks = job_blocks(&j);
	if (blocks <= 2) {
		short_avx512(&j, key, nonce, counter);
		return;
	}
#define ADD _mm512_add_epi32
#define XOR _mm512_xor_si512
#define ROL16(v) _mm512_rol_epi32(v, 16)
#define ROL12(v) _mm512_rol_epi32(v, 12)
#define ROL8(v) _mm512_rol_epi32(v, 8)
#define ROL7(v) _mm512_rol_epi32(v, 7)
#define LANES1(v) _mm512_shuffle_epi32(v, (_MM_PERM_ENUM)SHUF1)
#define LANES2(v) _mm512_shuffle_epi32(v, (_MM_PERM_ENUM)SHUF2)
#define LANES3(v) _mm512_shuffle_epi32(v, (_MM_PERM_ENUM)SHUF3)
	const __m512i r0 = _mm512_broadcast_i32x4(_mm_setr_epi32((int)C0, (int)C1, (int)C2, (int)C3));
	const __m512i r1 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)key));
	const __m512i r2 = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(key + 16)));
	/* Lanes: blocks counter .. counter + 3 (32-bit adds: the counter wraps, see header). */
	__m512i r3 = _mm512_add_epi32(
		_mm512_broadcast_i32x4(_mm_setr_epi32((int)counter, (int)nonce_word(nonce, 0),
						      (int)nonce_word(nonce, 1),
						      (int)nonce_word(nonce, 2))),
		_mm512_setr_epi32(0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0));
	const __m512i four = _mm512_setr_epi32(4, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0);
	for (; blocks > 4; blocks -= blocks < 8 ? blocks : 8) {
		__m512i s3 = _mm512_add_epi32(r3, four);
		__m512i a = r0, b = r1, c = r2, d = r3;
		__m512i e = r0, f = r1, g = r2, h = s3;
		for (int i = 0; i < 10; i++) {
			DOUBLE_ROUND(a, b, c, d);
			DOUBLE_ROUND(e, f, g, h);
		}
		emit4_z(&j, ADD(a, r0), ADD(b, r1), ADD(c, r2), ADD(d, r3));
		if (j.n)
			emit4_z(&j, ADD(e, r0), ADD(f, r1), ADD(g, r2), ADD(h, s3));
		r3 = _mm512_add_epi32(s3, four);
	}
	if (blocks) {
		__m512i a = r0, b = r1, c = r2, d = r3;
		UNROLL_ROUNDS
		for (int i = 0; i < 10; i++)
			DOUBLE_ROUND(a, b, c, d);
		emit4_z(&j, ADD(a, r0), ADD(b, r1), ADD(c, r2), ADD(d, r3));
	}
#undef ADD
#undef XOR
#undef ROL16
#undef ROL12
#undef ROL8
#undef ROL7
#undef LANES1
#undef LANES2
#undef LANES3
}

#endif /* CHACHA20_X86 */

/* ---- Dispatch ------------------------------------------------------------------------------ */

static core_fn *const cores[CHACHA20_IMPL_COUNT] = {
	[CHACHA20_IMPL_PORTABLE] = core_portable,
#ifdef CHACHA20_X86
	[CHACHA20_IMPL_SSSE3] = core_ssse3,
	[CHACHA20_IMPL_AVX2] = core_avx2,
	[CHACHA20_IMPL_AVX512] = core_avx512,
#endif
};

static enum chacha20_impl best = CHACHA20_IMPL_PORTABLE;
static enum chacha20_impl current = CHACHA20_IMPL_PORTABLE;
static core_fn *core = core_portable;

static int cpu_runs(enum chacha20_impl impl)
{
	if (!cores[impl])
		return 0;
#ifdef CHACHA20_X86
	switch (impl) {
	case CHACHA20_IMPL_SSSE3:
		return __builtin_cpu_supports("ssse3");
	case CHACHA20_IMPL_AVX2:
		return __builtin_cpu_supports("avx2");
	case CHACHA20_IMPL_AVX512:
		return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
		       __builtin_cpu_supports("avx512bw");
	default:
		break;
	}
#endif
	return impl == CHACHA20_IMPL_PORTABLE;
}

/* Picked before main, while single-threaded, so calls need no synchronisation. (A call from
 * an earlier constructor just gets the portable core.) */
__attribute__((constructor)) static void pick_impl(void)
{
#ifdef CHACHA20_X86
	__builtin_cpu_init(); /* the feature bits may not be set yet in a constructor */
#endif
	for (int i = CHACHA20_IMPL_COUNT - 1; i >= 0; i--) {
		if (cpu_runs((enum chacha20_impl)i)) {
			best = (enum chacha20_impl)i;
			break;
		}
	}
	current = best;
	core = cores[best];
}

void chacha20_xor(uint8_t *out, const uint8_t *in, size_t n,
		  const uint8_t key[CHACHA20_KEY_BYTES], const uint8_t nonce[CHACHA20_NONCE_BYTES],
		  uint32_t counter)
{
	if (n)
		core(NULL, out, in, n, key, nonce, counter);
}

void chacha20_aead_xor(uint8_t otk[32], uint8_t *out, const uint8_t *in, size_t n,
		       const uint8_t key[CHACHA20_KEY_BYTES],
		       const uint8_t nonce[CHACHA20_NONCE_BYTES])
{
	core(otk, out, in, n, key, nonce, 0);
}

int chacha20_force_impl(enum chacha20_impl impl)
{
	if ((unsigned)impl >= CHACHA20_IMPL_COUNT || !cpu_runs(impl))
		return AA_ENOTSUP;
	current = impl;
	core = cores[impl];
	return 0;
}

enum chacha20_impl chacha20_best_impl(void)
{
	return best;
}

enum chacha20_impl chacha20_current_impl(void)
{
	return current;
}
