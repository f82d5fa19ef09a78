/* grpc_wire: Length-Prefixed-Message reassembly, grpc-timeout, content-type and
 * grpc-message encoding (grpc/grpc doc/PROTOCOL-HTTP2.md, "Requests" and "Responses"). */
#include "rpc/grpc_wire.h"

#include <stdlib.h>
#include <string.h>

#include "base/endian.h"
#include "base/err.h"
#include "base/mem.h"

/* An empty reader gives back a buffer larger than this, so an idle stream that once carried
 * a 16 MiB message does not keep 16 MiB. */
#define READER_KEEP_CAP (64u * 1024)

void grpc_msg_reader_init(struct grpc_msg_reader *r, size_t max_message)
{
	memset(r, 0, sizeof *r);
	r->max_message = max_message;
}

void grpc_msg_reader_free(struct grpc_msg_reader *r)
{
	free(r->p);
	r->p = NULL;
	r->off = r->n = r->cap = 0;
}

size_t grpc_msg_reader_buffered(const struct grpc_msg_reader *r)
{
	return r->n - r->off;
}

void grpc_msg_reader_push(struct grpc_msg_reader *r, const uint8_t *p, size_t n)
{
	if (n == 0)
		return;
	size_t have = r->n - r->off;
	/* Move the unread bytes to the front once they are fewer than the consumed ones, so
	 * each byte is moved O(1) times on average. */
	if (r->off > 0 && (have == 0 || r->off >= have)) {
		memmove(r->p, r->p + r->off, have);
		r->off = 0;
		r->n = have;
	}
	if (r->cap - r->n < n) {
		size_t want = r->n + n;
		size_t cap = r->cap ? r->cap : 256;
		while (cap < want)
			cap = cap > SIZE_MAX / 2 ? want : cap * 2;
		r->p = aa_realloc(r->p, cap);
		r->cap = cap;
	}
	memcpy(r->p + r->n, p, n);
	r->n += n;
}

int grpc_msg_reader_peek(struct grpc_msg_reader *r, struct grpc_msg *m)
{
	memset(m, 0, sizeof *m);
	size_t have = r->n - r->off;
	if (have < GRPC_PREFIX_BYTES)
		return AA_EAGAIN;
	const uint8_t *h = r->p + r->off;
	/* PROTOCOL-HTTP2.md: Compressed-Flag is 0 or 1; other values are not a valid stream. */
	if (h[0] > 1)
		return AA_EPROTO;
	uint32_t len = aa_load_be32(h + 1);
	m->compressed = h[0] == 1;
	m->len = len;
	if (len > r->max_message)
		return AA_ETOOBIG;
	m->need = GRPC_PREFIX_BYTES + (size_t)len;
	if (have < m->need)
		return AA_EAGAIN;
	m->data = h + GRPC_PREFIX_BYTES;
	return 0;
}

void grpc_msg_reader_pop(struct grpc_msg_reader *r)
{
	struct grpc_msg m;
	if (grpc_msg_reader_peek(r, &m) != 0)
		return;
	r->off += m.need;
	if (r->off == r->n) {
		r->off = r->n = 0;
		if (r->cap > READER_KEEP_CAP) {
			free(r->p);
			r->p = NULL;
			r->cap = 0;
		}
	}
}

void grpc_msg_prefix(uint8_t out[GRPC_PREFIX_BYTES], bool compressed, uint32_t len)
{
	out[0] = compressed ? 1 : 0;
	aa_store_be32(out + 1, len);
}

int grpc_timeout_parse(const char *s, size_t n, uint64_t *ms)
{
	/* TimeoutValue: at most 8 digits; TimeoutUnit: one character. */
	if (n < 2 || n > 9)
		return AA_EINVAL;
	uint64_t v = 0;
	for (size_t i = 0; i + 1 < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return AA_EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	/* v < 10^8, so none of these products overflow 64 bits. */
	switch (s[n - 1]) {
	case 'H': *ms = v * 3600000u; break;
	case 'M': *ms = v * 60000u; break;
	case 'S': *ms = v * 1000u; break;
	case 'm': *ms = v; break;
	case 'u': *ms = (v + 999u) / 1000u; break;
	case 'n': *ms = (v + 999999u) / 1000000u; break;
	default: return AA_EINVAL;
	}
	return 0;
}

bool grpc_content_type_ok(const char *s, size_t n)
{
	static const char base[] = "application/grpc";
	size_t bn = sizeof base - 1;
	if (n < bn || memcmp(s, base, bn) != 0)
		return false;
	return n == bn || s[bn] == '+' || s[bn] == ';';
}

void grpc_percent_encode(struct aa_buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)s[i];
		if (c >= 0x20 && c <= 0x7e && c != '%') {
			aa_buf_append_byte(out, c);
		} else {
			uint8_t e[3] = { '%', (uint8_t)hex[c >> 4], (uint8_t)hex[c & 15] };
			aa_buf_append(out, e, 3);
		}
	}
}
