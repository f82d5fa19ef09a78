/* fuzz_varint: decodes a stream of unsigned varints; every accepted varint must re-encode
 * to exactly the bytes it was read from (minimal encoding), else abort. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/varint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	while (off < size) {
		uint64_t v;
		int n = varint_decode(data + off, size - off, &v);
		if (n < 0) {
			if (n != AA_EINVAL && n != AA_ETRUNC)
				abort();
			/* Truncation is only possible when the input really ran out. */
			if (n == AA_ETRUNC && size - off >= AA_VARINT_MAX_BYTES)
				abort();
			off++;
			continue;
		}
		if (n > AA_VARINT_MAX_BYTES || v > AA_VARINT_MAX_VALUE)
			abort();
		uint8_t enc[AA_VARINT_MAX_BYTES];
		int m = varint_encode(v, enc);
		if (m != n || varint_size(v) != (size_t)n || memcmp(enc, data + off, (size_t)n) != 0)
			abort();
		off += (size_t)n;
	}
	return 0;
}
