/* buf: byte slices (borrowed views) and growable byte buffers (owned).
 * A slice never owns its bytes; a buf owns its bytes and frees them in aa_buf_free(). */
#ifndef AA_BASE_BUF_H
#define AA_BASE_BUF_H

#include <stddef.h>
#include <stdint.h>

struct aa_slice {
	const uint8_t *p;
	size_t n;
};

struct aa_buf {
	uint8_t *p;
	size_t n;   /* bytes in use */
	size_t cap; /* bytes allocated */
};

static inline struct aa_slice aa_slice_make(const void *p, size_t n)
{
	struct aa_slice s = { (const uint8_t *)p, n };
	return s;
}

/* Inline: both run on every packet of the connection code. */
static inline void aa_buf_init(struct aa_buf *b)
{
	b->p = NULL;
	b->n = 0;
	b->cap = 0;
}

/* Empties b, keeping its memory. */
static inline void aa_buf_reset(struct aa_buf *b)
{
	b->n = 0;
}

void aa_buf_free(struct aa_buf *b);
/* Ensures room for `extra` more bytes; returns a pointer to the first free byte. */
uint8_t *aa_buf_reserve(struct aa_buf *b, size_t extra);
void aa_buf_append(struct aa_buf *b, const void *p, size_t n);
void aa_buf_append_byte(struct aa_buf *b, uint8_t c);
void aa_buf_append_str(struct aa_buf *b, const char *s);
/* Removes the first n bytes (n <= b->n). */
void aa_buf_consume(struct aa_buf *b, size_t n);
/* Hands the bytes to the caller (NUL-terminated for convenience) and leaves b empty. */
uint8_t *aa_buf_steal(struct aa_buf *b, size_t *len);

#endif
