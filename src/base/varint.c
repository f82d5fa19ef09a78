/* varint: multiformats unsigned-varint codec (unsigned LEB128, minimal, at most 9 bytes). */
#include "base/varint.h"

#include "base/err.h"

int varint_encode(uint64_t v, uint8_t *out)
{
	if (v > AA_VARINT_MAX_VALUE)
		return AA_ERANGE;
	int n = 0;
	/* Seven bits at a time, least significant first; the high bit says "more follows". */
	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

size_t varint_size(uint64_t v)
{
	if (v > AA_VARINT_MAX_VALUE)
		return AA_VARINT_MAX_BYTES + 1;
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

int varint_decode(const uint8_t *p, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	for (size_t i = 0; i < AA_VARINT_MAX_BYTES; i++) {
		if (i >= n)
			return AA_ETRUNC;
		uint8_t b = p[i];
		x |= (uint64_t)(b & 0x7f) << (7 * i);
		if (b & 0x80)
			continue;
		/* unsigned-varint spec: "The only number that can end in a 0x00 is 0" — a zero
		 * final byte after a continuation means the encoding was not minimal. */
		if (b == 0 && i > 0)
			return AA_EINVAL;
		*v = x;
		return (int)(i + 1);
	}
	/* Nine bytes all with the continuation bit: beyond the spec's practical maximum. */
	return AA_EINVAL;
}
