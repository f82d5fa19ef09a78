/* a2a/frame: the framing of /agentanycast/card/1.0 and /agentanycast/a2a/1.0 (REFERENCE.md
 * B.2): a 4-byte unsigned big-endian length, then exactly that many payload bytes. A
 * sans-I/O reader that takes bytes in any split and hands out whole payloads, and a writer.
 *
 * The reader never allocates ahead of the bytes that arrived: an announced length only sets
 * how far the payload buffer may grow (at most twice what was received, never past the
 * announced length), so a peer that announces 16 MiB and sends one byte costs one byte.
 * Ownership: the caller owns the reader (init/free). Any thread, one at a time. */
#ifndef AA_A2A_FRAME_H
#define AA_A2A_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define A2A_FRAME_HEADER 4u

struct a2a_frame_reader {
	size_t max;          /* largest payload accepted */
	uint8_t hdr[A2A_FRAME_HEADER];
	size_t hdr_n;        /* header bytes held */
	size_t want;         /* payload length, once the header is complete */
	uint8_t *buf;        /* payload bytes held (partial frame) */
	size_t buf_n, buf_cap;
	bool failed;         /* an oversized length was announced: nothing more is read */
};

void a2a_frame_reader_init(struct a2a_frame_reader *r, size_t max_payload);
void a2a_frame_reader_free(struct a2a_frame_reader *r);

/* Takes bytes from p[0..n) up to the end of the next complete frame. *used says how many
 * were taken. Returns 1 with *frame set to the payload (borrowed: valid until the next call
 * or free; it may point into p), 0 when every byte was taken and no frame is complete yet,
 * AA_ETOOBIG when a length above max was announced (the reader then refuses all input). */
int a2a_frame_reader_feed(struct a2a_frame_reader *r, const uint8_t *p, size_t n, size_t *used,
			  struct aa_slice *frame);
/* True when part of a frame has been read: at the end of the stream that means truncation. */
bool a2a_frame_reader_partial(const struct a2a_frame_reader *r);
/* Payload bytes held for the frame in progress. */
size_t a2a_frame_reader_buffered(const struct a2a_frame_reader *r);

/* Appends header + payload to out. payload.n must fit in 32 bits (callers keep it at or below
 * A2A_MAX_FRAME). */
void a2a_frame_write(struct aa_buf *out, struct aa_slice payload);

#endif
