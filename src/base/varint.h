/* varint: unsigned LEB128 as multiformats uses it (unsigned-varint spec): at most 9 bytes
 * (63 bits), minimal encoding required — a trailing 0x00 continuation byte ("overlong") is
 * rejected. Pure functions, any thread. */
#ifndef AA_BASE_VARINT_H
#define AA_BASE_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define AA_VARINT_MAX_BYTES 9
#define AA_VARINT_MAX_VALUE ((UINT64_C(1) << 63) - 1)

/* Encodes v (<= AA_VARINT_MAX_VALUE) into out (>= 9 bytes); returns the byte count,
 * or AA_ERANGE if v is too large. */
int varint_encode(uint64_t v, uint8_t *out);
/* Bytes varint_encode() would use for v (1..9; 10 if v is too large). */
size_t varint_size(uint64_t v);
/* Decodes from p[0..n). Returns the number of bytes consumed (> 0) and sets *v;
 * AA_ETRUNC if the input ends mid-varint (more bytes may complete it);
 * AA_EINVAL if it is overlong/non-minimal or longer than 9 bytes. */
int varint_decode(const uint8_t *p, size_t n, uint64_t *v);

#endif
