/* grpc_wire: the sans-I/O pieces of gRPC over HTTP/2 (grpc/grpc doc/PROTOCOL-HTTP2.md):
 * reassembly of Length-Prefixed-Messages (1-byte compressed flag, 4-byte big-endian length,
 * payload) from DATA frames split anywhere, grpc-timeout parsing, content-type matching and
 * grpc-message percent-encoding. A reader owns its buffer; everything else is pure. Any
 * thread, one thread per reader. */
#ifndef AA_RPC_GRPC_WIRE_H
#define AA_RPC_GRPC_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* Compressed-Flag (1 byte) + Message-Length (4 bytes, big endian). */
#define GRPC_PREFIX_BYTES 5

/* Reassembles messages from bytes pushed in arbitrary pieces. Bytes are kept from the first
 * byte of the next unread message on; the caller bounds how many it pushes (HTTP/2 flow
 * control does that in the server). */
struct grpc_msg_reader {
	uint8_t *p;         /* owned; NULL while empty */
	size_t off;         /* first unread byte */
	size_t n;           /* end of the buffered bytes */
	size_t cap;
	size_t max_message; /* largest payload accepted */
};

/* The next message as grpc_msg_reader_peek() sees it. */
struct grpc_msg {
	bool compressed;     /* Compressed-Flag was 1 (valid once need > 0) */
	size_t need;         /* prefix + payload bytes, once the prefix is buffered; else 0 */
	const uint8_t *data; /* the payload, when complete: borrowed until the next push/pop */
	size_t len;          /* payload length (valid once need > 0) */
};

void grpc_msg_reader_init(struct grpc_msg_reader *r, size_t max_message);
void grpc_msg_reader_free(struct grpc_msg_reader *r);
/* Appends received bytes. */
void grpc_msg_reader_push(struct grpc_msg_reader *r, const uint8_t *p, size_t n);
/* Bytes buffered and not yet popped. */
size_t grpc_msg_reader_buffered(const struct grpc_msg_reader *r);
/* Looks at the next message. Returns 0 when it is complete; AA_EAGAIN when more bytes are
 * needed (m->need tells how many in all once the prefix is known); AA_ETOOBIG when the
 * prefix announces a payload above max_message; AA_EPROTO when the flag byte is neither 0
 * nor 1. Errors are reported as soon as the 5-byte prefix is in, before the payload. */
int grpc_msg_reader_peek(struct grpc_msg_reader *r, struct grpc_msg *m);
/* Drops the message the last peek returned complete. */
void grpc_msg_reader_pop(struct grpc_msg_reader *r);

/* Writes the 5-byte prefix for a payload of len bytes. */
void grpc_msg_prefix(uint8_t out[GRPC_PREFIX_BYTES], bool compressed, uint32_t len);

/* Parses a grpc-timeout value: 1 to 8 ASCII digits then one unit of H M S m u n. Returns 0
 * with the timeout in milliseconds, rounded up (so a 1n deadline is 1 ms, never 0 from
 * rounding; "0S" is 0), or AA_EINVAL. */
int grpc_timeout_parse(const char *s, size_t n, uint64_t *ms);

/* True when a content-type value names gRPC: "application/grpc" alone or followed by "+"
 * (a subtype such as +proto or +json) or ";" (parameters). */
bool grpc_content_type_ok(const char *s, size_t n);

/* Appends s percent-encoded for grpc-message: bytes 0x20-0x7E other than '%' as they are,
 * every other byte as %XX (upper-case hex). */
void grpc_percent_encode(struct aa_buf *out, const char *s, size_t n);

#endif
