/* Unit tests for http/sse: the WHATWG event-stream parser. Each test feeds a stream and
 * compares the dispatched events, written as "type=data" lines, with the expected text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "http/sse.h"

struct record {
	struct aa_buf text; /* "type=data\n" per event, data bytes as they came */
	int events;
	int stop_after;     /* return stop_value from the callback for this event number */
	int stop_value;
};

static int on_event(void *user, const char *type, const char *data, size_t len)
{
	struct record *r = user;
	assert_int_equal(data[len], 0);
	aa_buf_append_str(&r->text, type);
	aa_buf_append_byte(&r->text, '=');
	aa_buf_append(&r->text, data, len);
	aa_buf_append_byte(&r->text, '\n');
	r->events++;
	if (r->stop_after && r->events == r->stop_after)
		return r->stop_value;
	return 0;
}

static void record_init(struct record *r)
{
	memset(r, 0, sizeof *r);
	aa_buf_init(&r->text);
}

/* The events as one NUL-terminated string the caller frees. */
static char *record_take(struct record *r)
{
	aa_buf_append_byte(&r->text, 0);
	return (char *)aa_buf_steal(&r->text, NULL);
}

/* Feeds in pieces of `piece` bytes (0: all at once); returns the events or NULL on error. */
static char *parse_in_pieces(const char *in, size_t len, size_t piece, size_t max_event, int *err)
{
	struct record r;
	record_init(&r);
	struct sse_parser p;
	sse_parser_init(&p, max_event, on_event, &r);
	*err = 0;
	size_t step = piece ? piece : (len ? len : 1);
	for (size_t off = 0; off < len && *err == 0; off += step) {
		size_t n = len - off < step ? len - off : step;
		*err = sse_parser_feed(&p, in + off, n);
	}
	sse_parser_free(&p);
	return record_take(&r);
}

static void assert_events(const char *in, const char *want)
{
	int err;
	char *got = parse_in_pieces(in, strlen(in), 0, 1024, &err);
	assert_int_equal(err, 0);
	assert_string_equal(got, want);
	free(got);
}

static void test_sse_joins_multiline_data_with_lf(void **state)
{
	assert_events("data: first\ndata: second\n\n", "message=first\nsecond\n");
}

static void test_sse_accepts_cr_lf_and_crlf_line_ends(void **state)
{
	assert_events("data: a\r\rdata: b\n\ndata: c\r\n\r\ndata: d\r\ndata: e\r\r",
		      "message=a\nmessage=b\nmessage=c\nmessage=d\ne\n");
}

static const char mixed_stream[] =
	"\xEF\xBB\xBF: comment\r\n"
	"event: status\r\n"
	"data: {\"a\":1}\r\n"
	"id: 7\r\n"
	"\r\n"
	"data:line1\rdata:  line2\r\r"
	"retry: 100\n"
	"data\n"
	"data: x\n"
	"\n"
	"event: ignored-without-data\n"
	"\n"
	"data: tail\r\n\r\n";

static const char mixed_events[] =
	"status={\"a\":1}\n"
	"message=line1\n line2\n"
	"message=\nx\n"
	"message=tail\n";

static void test_sse_one_byte_at_a_time_gives_same_events(void **state)
{
	int err;
	char *got = parse_in_pieces(mixed_stream, sizeof mixed_stream - 1, 1, 1024, &err);
	assert_int_equal(err, 0);
	assert_string_equal(got, mixed_events);
	free(got);
}

static void test_sse_split_at_every_boundary_gives_same_events(void **state)
{
	size_t len = sizeof mixed_stream - 1;
	for (size_t cut = 0; cut <= len; cut++) {
		struct record r;
		record_init(&r);
		struct sse_parser p;
		sse_parser_init(&p, 1024, on_event, &r);
		assert_int_equal(sse_parser_feed(&p, mixed_stream, cut), 0);
		assert_int_equal(sse_parser_feed(&p, mixed_stream + cut, len - cut), 0);
		sse_parser_free(&p);
		char *got = record_take(&r);
		assert_string_equal(got, mixed_events);
		free(got);
	}
}

static void test_sse_ignores_comments(void **state)
{
	assert_events(": keepalive\n:\ndata: x\n: inside\n\n: after\n\n", "message=x\n");
}

static void test_sse_reports_event_type_and_resets_it(void **state)
{
	assert_events("event: update\ndata: one\n\ndata: two\n\nevent:\ndata: three\n\n",
		      "update=one\nmessage=two\nmessage=three\n");
}

static void test_sse_last_event_field_wins(void **state)
{
	assert_events("event: a\nevent: b\ndata: x\n\n", "b=x\n");
}

static void test_sse_event_type_is_a_c_string(void **state)
{
	static const char in[] = "event: \0x\ndata: a\n\nevent: t\0x\ndata: b\n\n";
	int err;
	char *got = parse_in_pieces(in, sizeof in - 1, 0, 64, &err);
	assert_int_equal(err, 0);
	assert_string_equal(got, "message=a\nt=b\n");
	free(got);
}

static void test_sse_skips_leading_bom_once(void **state)
{
	assert_events("\xEF\xBB\xBF" "data: x\n\n", "message=x\n");
	/* A second BOM is part of the first field's name, so that line is an unknown field. */
	assert_events("\xEF\xBB\xBF\xEF\xBB\xBF" "data: x\n\ndata: y\n\n", "message=y\n");
	/* A partial BOM is not skipped either. */
	assert_events("\xEF\xBB" "data: x\n\ndata: y\n\n", "message=y\n");
}

static void test_sse_data_without_colon_is_an_empty_line(void **state)
{
	assert_events("data\ndata: x\n\n", "message=\nx\n");
	assert_events("data\n\n", "message=\n");
}

static void test_sse_drops_only_one_space_after_colon(void **state)
{
	assert_events("data:x\n\n", "message=x\n");
	assert_events("data:  x \n\n", "message= x \n");
	assert_events("event:t\ndata:\tx\n\n", "t=\tx\n");
}

static void test_sse_event_without_data_is_not_dispatched(void **state)
{
	assert_events("event: foo\n\nid: 1\n\nretry: 5\n\n: c\n\n\n\n", "");
	/* The type of an undispatched event does not leak into the next. */
	assert_events("event: foo\n\ndata: z\n\n", "message=z\n");
}

static void test_sse_ignores_id_retry_and_unknown_fields(void **state)
{
	assert_events("id: 5\nretry: 100\nfoo: bar\nDATA: no\ndata : no\ndata: yes\n\n", "message=yes\n");
}

static void test_sse_incomplete_event_is_not_dispatched(void **state)
{
	assert_events("data: x\n", "");
	assert_events("data: x", "");
}

static void test_sse_keeps_nul_bytes_in_data(void **state)
{
	static const char in[] = "data: a\0b\n\n";
	int err;
	struct record r;
	record_init(&r);
	struct sse_parser p;
	sse_parser_init(&p, 64, on_event, &r);
	err = sse_parser_feed(&p, in, sizeof in - 1);
	sse_parser_free(&p);
	assert_int_equal(err, 0);
	assert_int_equal(r.events, 1);
	assert_int_equal(r.text.n, strlen("message=") + 3 + 1);
	assert_memory_equal(r.text.p + strlen("message="), "a\0b\n", 4);
	aa_buf_free(&r.text);
}

static void test_sse_accepts_event_of_exactly_max_bytes(void **state)
{
	int err;
	const char *in = "data: 01234\ndata: 6789\n\n"; /* "01234\n6789" is 10 bytes */
	char *got = parse_in_pieces(in, strlen(in), 0, 10, &err);
	assert_int_equal(err, 0);
	assert_string_equal(got, "message=01234\n6789\n");
	free(got);
}

static void test_sse_rejects_oversized_event(void **state)
{
	int err;
	const char *in = "data: 01234\ndata: 56789\n\n"; /* 11 bytes of data */
	char *got = parse_in_pieces(in, strlen(in), 0, 10, &err);
	assert_int_equal(err, AA_ETOOBIG);
	assert_string_equal(got, "");
	free(got);
	in = "data: 0123456789A";
	got = parse_in_pieces(in, strlen(in), 1, 10, &err);
	assert_int_equal(err, AA_ETOOBIG);
	free(got);
	/* Empty data lines count too: each adds a line feed. */
	in = "data: 0123456789\ndata\n\n";
	got = parse_in_pieces(in, strlen(in), 0, 10, &err);
	assert_int_equal(err, AA_ETOOBIG);
	free(got);
}

static void test_sse_rejects_oversized_line(void **state)
{
	char in[64];
	memset(in, 'x', sizeof in);
	in[0] = ':';
	int err;
	char *got = parse_in_pieces(in, sizeof in, 3, 10, &err);
	assert_int_equal(err, AA_ETOOBIG);
	free(got);
	/* A long field name counts as well. */
	got = parse_in_pieces(in + 1, sizeof in - 1, 0, 10, &err);
	assert_int_equal(err, AA_ETOOBIG);
	free(got);
}

static void test_sse_stays_failed_after_error(void **state)
{
	struct record r;
	record_init(&r);
	struct sse_parser p;
	sse_parser_init(&p, 4, on_event, &r);
	assert_int_equal(sse_parser_feed(&p, "data: 12345\n\n", 13), AA_ETOOBIG);
	assert_int_equal(sse_parser_feed(&p, "data: 1\n\n", 9), AA_ETOOBIG);
	assert_int_equal(r.events, 0);
	sse_parser_free(&p);
	aa_buf_free(&r.text);
}

static void test_sse_callback_stop_value_propagates(void **state)
{
	struct record r;
	record_init(&r);
	r.stop_after = 1;
	r.stop_value = -42;
	struct sse_parser p;
	sse_parser_init(&p, 64, on_event, &r);
	const char *in = "data: a\n\ndata: b\n\n";
	assert_int_equal(sse_parser_feed(&p, in, strlen(in)), -42);
	assert_int_equal(sse_parser_feed(&p, in, strlen(in)), -42);
	assert_int_equal(r.events, 1);
	sse_parser_free(&p);
	aa_buf_free(&r.text);
}

static void test_sse_empty_feed_is_harmless(void **state)
{
	struct record r;
	record_init(&r);
	struct sse_parser p;
	sse_parser_init(&p, 64, on_event, &r);
	assert_int_equal(sse_parser_feed(&p, NULL, 0), 0);
	assert_int_equal(sse_parser_feed(&p, "data: a\n\n", 9), 0);
	assert_int_equal(r.events, 1);
	sse_parser_free(&p);
	aa_buf_free(&r.text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sse_joins_multiline_data_with_lf),
		cmocka_unit_test(test_sse_accepts_cr_lf_and_crlf_line_ends),
		cmocka_unit_test(test_sse_one_byte_at_a_time_gives_same_events),
		cmocka_unit_test(test_sse_split_at_every_boundary_gives_same_events),
		cmocka_unit_test(test_sse_ignores_comments),
		cmocka_unit_test(test_sse_reports_event_type_and_resets_it),
		cmocka_unit_test(test_sse_last_event_field_wins),
		cmocka_unit_test(test_sse_event_type_is_a_c_string),
		cmocka_unit_test(test_sse_skips_leading_bom_once),
		cmocka_unit_test(test_sse_data_without_colon_is_an_empty_line),
		cmocka_unit_test(test_sse_drops_only_one_space_after_colon),
		cmocka_unit_test(test_sse_event_without_data_is_not_dispatched),
		cmocka_unit_test(test_sse_ignores_id_retry_and_unknown_fields),
		cmocka_unit_test(test_sse_incomplete_event_is_not_dispatched),
		cmocka_unit_test(test_sse_keeps_nul_bytes_in_data),
		cmocka_unit_test(test_sse_accepts_event_of_exactly_max_bytes),
		cmocka_unit_test(test_sse_rejects_oversized_event),
		cmocka_unit_test(test_sse_rejects_oversized_line),
		cmocka_unit_test(test_sse_stays_failed_after_error),
		cmocka_unit_test(test_sse_callback_stop_value_propagates),
		cmocka_unit_test(test_sse_empty_feed_is_harmless),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
