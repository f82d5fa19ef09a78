/* base/endian: fixed-width integers to and from bytes in a given byte order, for wire
 * formats (yamux and gRPC headers are big-endian, ChaCha20 and Poly1305 little-endian) and
 * for sortable store keys (big-endian). One unaligned load or store each: memcpy plus a byte
 * swap where the host order differs, which compilers turn into mov / movbe / bswap. */
#ifndef AA_BASE_ENDIAN_H
#define AA_BASE_ENDIAN_H

#include <stdint.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || (__BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__ && \
				 __BYTE_ORDER__ != __ORDER_BIG_ENDIAN__)
#error "base/endian.h needs a little- or big-endian host"
#endif
#define AA_HOST_LE (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__)

static inline uint32_t aa_load_le32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof v);
	return AA_HOST_LE ? v : __builtin_bswap32(v);
}

static inline void aa_store_le32(uint8_t *p, uint32_t v)
{
	v = AA_HOST_LE ? v : __builtin_bswap32(v);
	memcpy(p, &v, sizeof v);
}

static inline uint64_t aa_load_le64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof v);
	return AA_HOST_LE ? v : __builtin_bswap64(v);
}

static inline void aa_store_le64(uint8_t *p, uint64_t v)
{
	v = AA_HOST_LE ? v : __builtin_bswap64(v);
	memcpy(p, &v, sizeof v);
}

static inline uint32_t aa_load_be32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof v);
	return AA_HOST_LE ? __builtin_bswap32(v) : v;
}

static inline void aa_store_be32(uint8_t *p, uint32_t v)
{
	v = AA_HOST_LE ? __builtin_bswap32(v) : v;
	memcpy(p, &v, sizeof v);
}

static inline uint64_t aa_load_be64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof v);
	return AA_HOST_LE ? __builtin_bswap64(v) : v;
}

static inline void aa_store_be64(uint8_t *p, uint64_t v)
{
	v = AA_HOST_LE ? __builtin_bswap64(v) : v;
	memcpy(p, &v, sizeof v);
}

#endif
