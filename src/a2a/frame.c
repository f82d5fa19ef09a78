/* a2a/frame: 4-byte big-endian length framing (REFERENCE.md B.2), reader and writer. */
#include "a2a/frame.h"

#include <stdlib.h>
#include <string.h>

#include "base/endian.h"
#include "base/err.h"
#include "base/mem.h"

/* Payload buffers above this size are given back between frames, so a stream that once
 * carried a large frame does not keep its memory while idle. */
#define FRAME_KEEP_CAP (64u * 1024)

void a2a_frame_reader_init(struct a2a_frame_reader *r, size_t max_payload)
{
	memset(r, 0, sizeof *r);
	r->max = max_payload;
}

void a2a_frame_reader_free(struct a2a_frame_reader *r)
{
	free(r->buf);
	r->buf = NULL;
	r->buf_n = r->buf_cap = 0;
}

bool a2a_frame_reader_partial(const struct a2a_frame_reader *r)
{
	return r->hdr_n > 0;
}

size_t a2a_frame_reader_buffered(const struct a2a_frame_reader *r)
{
	return r->buf_n;
}

static void frame_done(struct a2a_frame_reader *r)
{
	r->hdr_n = 0;
	r->want = 0;
	r->buf_n = 0;
}

/* Grows the payload buffer to hold `need` bytes: doubling, but never past the announced
 * length, so what is allocated stays within twice what has arrived. */
static void buf_grow(struct a2a_frame_reader *r, size_t need)
{
	if (need <= r->buf_cap)
		return;
	size_t cap = r->buf_cap ? r->buf_cap * 2 : 4096;
	if (cap < need)
		cap = need;
	if (cap > r->want)
		cap = r->want;
	r->buf = aa_realloc(r->buf, cap);
	r->buf_cap = cap;
}

int a2a_frame_reader_feed(struct a2a_frame_reader *r, const uint8_t *p, size_t n, size_t *used,
			  struct aa_slice *frame)
{
	*used = 0;
	if (r->failed)
		return AA_ETOOBIG;
	/* The previous frame's payload was handed out; drop a large buffer before the next. */
	if (r->hdr_n == 0 && r->buf_cap > FRAME_KEEP_CAP) {
		free(r->buf);
		r->buf = NULL;
		r->buf_cap = 0;
	}
	size_t off = 0;
	while (r->hdr_n < A2A_FRAME_HEADER) {
		if (off == n) {
			*used = off;
			return 0;
		}
		r->hdr[r->hdr_n++] = p[off++];
		if (r->hdr_n == A2A_FRAME_HEADER) {
			uint32_t len = aa_load_be32(r->hdr);
			if (len > r->max) {
				r->failed = true;
				*used = off;
				return AA_ETOOBIG;
			}
			r->want = len;
			r->buf_n = 0;
		}
	}
	size_t left = r->want - r->buf_n;
	size_t avail = n - off;
	/* Zero copy when the whole payload is in this input and nothing is held. */
	if (r->buf_n == 0 && avail >= left) {
		*frame = aa_slice_make(p + off, left);
		*used = off + left;
		frame_done(r);
		return 1;
	}
	size_t take = avail < left ? avail : left;
	if (take) {
		buf_grow(r, r->buf_n + take);
		memcpy(r->buf + r->buf_n, p + off, take);
		r->buf_n += take;
		off += take;
	}
	*used = off;
	if (r->buf_n < r->want)
		return 0;
	*frame = aa_slice_make(r->buf, r->buf_n);
	frame_done(r);
	return 1;
}

void a2a_frame_write(struct aa_buf *out, struct aa_slice payload)
{
	uint32_t len = (uint32_t)payload.n;
	uint8_t hdr[A2A_FRAME_HEADER];
	aa_store_be32(hdr, len);
	aa_buf_append(out, hdr, sizeof hdr);
	if (payload.n)
		aa_buf_append(out, payload.p, payload.n);
}
