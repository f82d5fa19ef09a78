/* sse: an incremental parser of the WHATWG event-stream format (HTML Living Standard,
 * "Server-sent events", sections "Parsing an event stream" and "Interpreting an event
 * stream"). A byte-driven state machine: field names are matched as they arrive and values
 * go straight into the event's data or type buffer, so no whole line is ever held. */
#include "http/sse.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "base/err.h"

enum sse_state {
	SSE_BOM,        /* stream start: matching the optional UTF-8 BOM (line holds it) */
	SSE_FIELD,      /* reading a field name; line holds its first SSE_NAME_MAX bytes */
	SSE_DATA_SPACE, /* just after "data:", where one space is dropped */
	SSE_DATA,       /* appending a data value */
	SSE_TYPE_SPACE, /* just after "event:" */
	SSE_TYPE,       /* appending an event type */
	SSE_IGNORE,     /* rest of a comment, an id or retry value, or an unknown field */
	SSE_AFTER_CR,   /* a line just ended in CR: an LF right after it belongs to that end */
};

/* Room a line may take beyond max_event: the field name, the colon and the space. */
#define SSE_LINE_SLACK 16
/* Known field names are at most 5 bytes; longer ones need not be stored to be ignored. */
#define SSE_NAME_MAX 8

static const uint8_t sse_bom[3] = { 0xEF, 0xBB, 0xBF };

void sse_parser_init(struct sse_parser *p, size_t max_event, sse_event_cb cb, void *user)
{
	p->max_event = max_event;
	p->cb = cb;
	p->user = user;
	aa_buf_init(&p->line);
	aa_buf_init(&p->data);
	aa_buf_init(&p->type);
	p->line_len = 0;
	p->state = SSE_BOM;
	p->error = 0;
}

void sse_parser_free(struct sse_parser *p)
{
	aa_buf_free(&p->line);
	aa_buf_free(&p->data);
	aa_buf_free(&p->type);
}

static size_t sse_line_limit(const struct sse_parser *p)
{
	return p->max_event > SIZE_MAX - SSE_LINE_SLACK ? SIZE_MAX : p->max_event + SSE_LINE_SLACK;
}

/* Counts n more bytes of the current line against the line limit. */
static int sse_count_line(struct sse_parser *p, size_t n)
{
	if (n > sse_line_limit(p) - p->line_len)
		return AA_ETOOBIG;
	p->line_len += n;
	return 0;
}

static bool sse_name_is(const struct sse_parser *p, const char *name)
{
	size_t n = strlen(name);
	return p->line_len == n && p->line.n == n && memcmp(p->line.p, name, n) == 0;
}

/* The data buffer keeps a trailing LF per data line; the last one is dropped at dispatch, so
 * the buffer may reach max_event + 1 bytes, and only after a line end. */
static int sse_append_data(struct sse_parser *p, const uint8_t *s, size_t n)
{
	if (p->data.n > p->max_event || n > p->max_event - p->data.n)
		return AA_ETOOBIG;
	aa_buf_append(&p->data, s, n);
	return 0;
}

static int sse_append_data_lf(struct sse_parser *p)
{
	if (p->data.n > p->max_event)
		return AA_ETOOBIG;
	aa_buf_append_byte(&p->data, '\n');
	return 0;
}

/* "Dispatch the event": nothing when no data line came; else drop the last LF and report. */
static int sse_dispatch(struct sse_parser *p)
{
	if (p->data.n == 0) {
		aa_buf_reset(&p->type);
		return 0;
	}
	p->data.n--;
	p->data.p[p->data.n] = 0;
	/* The type is a C string: one with a NUL byte ends there, and an empty one (also
	 * "event:" with no value) means the default. */
	const char *type = "message";
	if (p->type.n > 0 && p->type.p[0] != 0) {
		aa_buf_reserve(&p->type, 0);
		p->type.p[p->type.n] = 0;
		type = (const char *)p->type.p;
	}
	int rc = p->cb(p->user, type, (const char *)p->data.p, p->data.n);
	aa_buf_reset(&p->data);
	aa_buf_reset(&p->type);
	return rc < 0 ? rc : 0;
}

/* A colon ended the field name: pick where the value goes. An empty name is a comment. */
static enum sse_state sse_state_for_field(struct sse_parser *p)
{
	if (sse_name_is(p, "data"))
		return SSE_DATA_SPACE;
	if (sse_name_is(p, "event")) {
		aa_buf_reset(&p->type);
		return SSE_TYPE_SPACE;
	}
	return SSE_IGNORE;
}

/* A line ended (CR or LF). A line without a colon is a field with an empty value. */
static int sse_end_line(struct sse_parser *p, uint8_t c)
{
	int rc = 0;
	switch (p->state) {
	case SSE_FIELD:
		if (p->line_len == 0)
			rc = sse_dispatch(p);
		else if (sse_name_is(p, "data"))
			rc = sse_append_data_lf(p);
		else if (sse_name_is(p, "event"))
			aa_buf_reset(&p->type);
		break;
	case SSE_DATA_SPACE:
	case SSE_DATA:
		rc = sse_append_data_lf(p);
		break;
	default:
		break;
	}
	aa_buf_reset(&p->line);
	p->line_len = 0;
	p->state = c == '\r' ? SSE_AFTER_CR : SSE_FIELD;
	return rc;
}

/* Bytes up to the next CR or LF (or the end of the piece). */
static size_t sse_run_length(const uint8_t *s, const uint8_t *end)
{
	const uint8_t *q = s;
	while (q < end && *q != '\r' && *q != '\n')
		q++;
	return (size_t)(q - s);
}

/* Consumes a run of value bytes (or a line end) in the DATA, TYPE and IGNORE states. */
static int sse_step_value(struct sse_parser *p, const uint8_t **sp, const uint8_t *end)
{
	const uint8_t *s = *sp;
	size_t n = sse_run_length(s, end);
	if (n == 0) {
		*sp = s + 1;
		return sse_end_line(p, *s);
	}
	int rc = sse_count_line(p, n);
	if (rc == 0 && p->state == SSE_DATA)
		rc = sse_append_data(p, s, n);
	else if (rc == 0 && p->state == SSE_TYPE)
		aa_buf_append(&p->type, s, n);
	*sp = s + n;
	return rc;
}

static int sse_step_field(struct sse_parser *p, uint8_t c)
{
	if (c == '\r' || c == '\n')
		return sse_end_line(p, c);
	if (c == ':') {
		p->state = sse_state_for_field(p);
		return sse_count_line(p, 1);
	}
	int rc = sse_count_line(p, 1);
	if (rc == 0 && p->line.n < SSE_NAME_MAX)
		aa_buf_append_byte(&p->line, c);
	return rc;
}

/* One step of the state machine; always consumes at least one byte or leaves a state that
 * will (BOM mismatch and CR-without-LF move to SSE_FIELD without consuming). */
static int sse_step(struct sse_parser *p, const uint8_t **sp, const uint8_t *end)
{
	const uint8_t *s = *sp;
	switch (p->state) {
	case SSE_BOM:
		if (*s != sse_bom[p->line.n]) {
			/* Not a BOM: the bytes matched so far begin the first field name. */
			p->state = SSE_FIELD;
			return 0;
		}
		aa_buf_append_byte(&p->line, *s);
		p->line_len++;
		*sp = s + 1;
		if (p->line.n == sizeof sse_bom) {
			aa_buf_reset(&p->line);
			p->line_len = 0;
			p->state = SSE_FIELD;
		}
		return 0;
	case SSE_AFTER_CR:
		p->state = SSE_FIELD;
		if (*s == '\n')
			*sp = s + 1;
		return 0;
	case SSE_FIELD:
		*sp = s + 1;
		return sse_step_field(p, *s);
	case SSE_DATA_SPACE:
	case SSE_TYPE_SPACE:
		p->state = p->state == SSE_DATA_SPACE ? SSE_DATA : SSE_TYPE;
		if (*s != ' ')
			return 0;
		*sp = s + 1;
		return sse_count_line(p, 1);
	default:
		return sse_step_value(p, sp, end);
	}
}

int sse_parser_feed(struct sse_parser *p, const void *bytes, size_t n)
{
	if (p->error)
		return p->error;
	if (n == 0)
		return 0;
	const uint8_t *s = bytes, *end = s + n;
	while (s < end) {
		int rc = sse_step(p, &s, end);
		if (rc < 0) {
			p->error = rc;
			return rc;
		}
	}
	return 0;
}
