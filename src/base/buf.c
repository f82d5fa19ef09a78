/* buf: growable byte buffers. */
#include "base/buf.h"

#include <stdlib.h>
#include <string.h>

#include "base/mem.h"

void aa_buf_free(struct aa_buf *b)
{
	free(b->p);
	aa_buf_init(b);
}

uint8_t *aa_buf_reserve(struct aa_buf *b, size_t extra)
{
	/* +1 keeps room for the NUL that aa_buf_steal() adds. */
	if (b->cap - b->n < extra + 1) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap - b->n < extra + 1)
			cap *= 2;
		b->p = aa_realloc(b->p, cap);
		b->cap = cap;
	}
	return b->p + b->n;
}

void aa_buf_append(struct aa_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	memcpy(aa_buf_reserve(b, n), p, n);
	b->n += n;
}

void aa_buf_append_byte(struct aa_buf *b, uint8_t c)
{
	*aa_buf_reserve(b, 1) = c;
	b->n++;
}

void aa_buf_append_str(struct aa_buf *b, const char *s)
{
	aa_buf_append(b, s, strlen(s));
}

void aa_buf_consume(struct aa_buf *b, size_t n)
{
	if (n >= b->n) {
		b->n = 0;
		return;
	}
	memmove(b->p, b->p + n, b->n - n);
	b->n -= n;
}

uint8_t *aa_buf_steal(struct aa_buf *b, size_t *len)
{
	aa_buf_reserve(b, 0);
	b->p[b->n] = 0;
	uint8_t *p = b->p;
	if (len)
		*len = b->n;
	aa_buf_init(b);
	return p;
}
