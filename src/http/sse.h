/* sse: an incremental parser of Server-Sent Events streams (WHATWG HTML "Server-sent
 * events", the event-stream format), for the outbound bridge following a remote A2A
 * agent's message/stream. Bytes arrive in arbitrary pieces; every complete event's data
 * (its `data:` lines joined with "\n") is handed to a callback. Comment lines (": …"),
 * `event:`, `id:` and `retry:` fields are accepted and ignored except that an event's type
 * is reported. CR, LF and CRLF line ends are all accepted; a leading UTF-8 BOM is skipped.
 *
 * Bytes are passed through as they are (no U+FFFD replacement of invalid UTF-8); consumers
 * parse the data as JSON, which validates it. An incomplete event at the end of the stream
 * is never dispatched (as the standard says).
 *
 * Bounded: an event whose data grows beyond max_event bytes, or a line longer than
 * max_event + 16 bytes (room for the field name), makes sse_parser_feed() fail with
 * AA_ETOOBIG and the parser stays failed (as it does after a callback's stop value). The
 * parser never buffers a whole line, only the event's data and type. No I/O; loop thread. */
#ifndef AA_HTTP_SSE_H
#define AA_HTTP_SSE_H

#include <stddef.h>

#include "base/buf.h"

/* Called for each dispatched event; event_type is "message" unless an `event:` field named
 * another (reported up to its first NUL byte, if it has one); data is NUL-terminated too and may be empty (a bare `data:` line). Both are
 * borrowed until the callback returns, which must not free the parser. Return < 0 to stop
 * parsing (feed returns that value). */
typedef int (*sse_event_cb)(void *user, const char *event_type, const char *data, size_t len);

struct sse_parser {
	size_t max_event;
	sse_event_cb cb;
	void *user;
	/* private */
	struct aa_buf line, data, type;
	size_t line_len; /* bytes of the current line so far (line holds only a field name) */
	int state;
	int error;
};

void sse_parser_init(struct sse_parser *p, size_t max_event, sse_event_cb cb, void *user);
/* 0, AA_ETOOBIG, or the callback's negative value. */
int sse_parser_feed(struct sse_parser *p, const void *bytes, size_t n);
void sse_parser_free(struct sse_parser *p);

#endif
