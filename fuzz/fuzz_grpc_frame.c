/* fuzz_grpc_frame: the gRPC Length-Prefixed-Message reader fed in arbitrary pieces must see
 * exactly what a one-shot parse of the same bytes sees (messages, flags, the size limit,
 * the first error), and never hold more than what was pushed; plus grpc-timeout parsing,
 * content-type matching and percent-encoding on the raw input.
 *
 * Input layout: byte 0 picks max_message (small, so the limit is reached), byte 1 seeds the
 * cut points; the rest is the byte stream. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "rpc/grpc_wire.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

/* The reference: parses a whole buffer at once, message by message. Returns the terminal
 * code (AA_EAGAIN for a clean or partial end, AA_ETOOBIG, AA_EPROTO) and the number of
 * complete messages before it; hashes their contents into *h. */
static int reference(const uint8_t *p, size_t n, size_t max, size_t *count, uint64_t *h)
{
	size_t off = 0;
	*count = 0;
	*h = 1469598103934665603ull;
	for (;;) {
		if (n - off < GRPC_PREFIX_BYTES)
			return AA_EAGAIN;
		if (p[off] > 1)
			return AA_EPROTO;
		size_t len = (size_t)p[off + 1] << 24 | (size_t)p[off + 2] << 16 | (size_t)p[off + 3] << 8 | p[off + 4];
		if (len > max)
			return AA_ETOOBIG;
		if (n - off - GRPC_PREFIX_BYTES < len)
			return AA_EAGAIN;
		*h = (*h ^ (p[off] + 1)) * 1099511628211ull;
		for (size_t i = 0; i < len; i++)
			*h = (*h ^ p[off + GRPC_PREFIX_BYTES + i]) * 1099511628211ull;
		*h = (*h ^ len) * 1099511628211ull;
		off += GRPC_PREFIX_BYTES + len;
		(*count)++;
	}
}

static void check_timeout(const uint8_t *data, size_t size)
{
	uint64_t ms = 0;
	size_t n = size < 12 ? size : 12;
	int rc = grpc_timeout_parse((const char *)data, n, &ms);
	if (rc == 0) {
		CHECK(n >= 2 && n <= 9);
		for (size_t i = 0; i + 1 < n; i++)
			CHECK(data[i] >= '0' && data[i] <= '9');
		CHECK(ms <= 99999999ull * 3600000ull);
	} else {
		CHECK(rc == AA_EINVAL);
	}
}

static void check_percent(const uint8_t *data, size_t size)
{
	size_t n = size < 256 ? size : 256;
	struct aa_buf b;
	aa_buf_init(&b);
	grpc_percent_encode(&b, (const char *)data, n);
	/* Decoding gives the input back and the output is all printable ASCII. */
	size_t j = 0;
	for (size_t i = 0; i < b.n; i++, j++) {
		CHECK(b.p[i] >= 0x20 && b.p[i] <= 0x7e);
		uint8_t c = b.p[i];
		if (c == '%') {
			CHECK(i + 2 < b.n);
			unsigned v = 0;
			for (int k = 1; k <= 2; k++) {
				uint8_t x = b.p[i + k];
				v = v * 16 + (x <= '9' ? x - '0' : x - 'A' + 10);
			}
			c = (uint8_t)v;
			i += 2;
		}
		CHECK(j < n && c == data[j]);
	}
	CHECK(j == n);
	aa_buf_free(&b);
	(void)grpc_content_type_ok((const char *)data, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_timeout(data, size);
	check_percent(data, size);
	if (size < 2)
		return 0;
	size_t max = (size_t)data[0] * 4;
	uint32_t seed = data[1] * 2654435761u + 1;
	const uint8_t *p = data + 2;
	size_t n = size - 2;

	size_t want_count;
	uint64_t want_hash;
	int want_rc = reference(p, n, max, &want_count, &want_hash);

	struct grpc_msg_reader r;
	grpc_msg_reader_init(&r, max);
	size_t off = 0, count = 0, pushed = 0, popped = 0;
	uint64_t h = 1469598103934665603ull;
	int rc = AA_EAGAIN;
	while (off < n) {
		seed = seed * 1103515245u + 12345u;
		size_t k = 1 + (seed >> 16) % 64;
		if (k > n - off)
			k = n - off;
		grpc_msg_reader_push(&r, p + off, k);
		off += k;
		pushed += k;
		struct grpc_msg m;
		while ((rc = grpc_msg_reader_peek(&r, &m)) == 0) {
			h = (h ^ ((m.compressed ? 1 : 0) + 1)) * 1099511628211ull;
			for (size_t i = 0; i < m.len; i++)
				h = (h ^ m.data[i]) * 1099511628211ull;
			h = (h ^ m.len) * 1099511628211ull;
			CHECK(m.need == GRPC_PREFIX_BYTES + m.len && m.len <= max);
			popped += m.need;
			grpc_msg_reader_pop(&r);
			count++;
		}
		CHECK(grpc_msg_reader_buffered(&r) == pushed - popped);
		if (rc != AA_EAGAIN)
			break;
		/* An incomplete message is always reported with its size once the prefix is in. */
		if (grpc_msg_reader_buffered(&r) >= GRPC_PREFIX_BYTES)
			CHECK(m.need > grpc_msg_reader_buffered(&r));
	}
	CHECK(rc == want_rc);
	CHECK(count == want_count);
	CHECK(h == want_hash);
	grpc_msg_reader_free(&r);
	return 0;
}
