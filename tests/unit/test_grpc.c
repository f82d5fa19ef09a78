/* Unit tests for rpc/grpc: the server behind an in-memory connection, driven by an nghttp2
 * client session in the same process (no sockets), so call ownership, cancellation and
 * flow control can be checked step by step. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <nghttp2/nghttp2.h>
#include <uv.h>

#include "base/buf.h"
#include "base/err.h"
#include "rpc/grpc.h"
#include "rpc/grpc_wire.h"

/* --- a tiny in-memory client ---------------------------------------------------------- */

struct cstream {
	int32_t id;
	struct aa_buf body;  /* request bytes still to send */
	size_t body_off;
	bool end;            /* END_STREAM after the body */
	bool hold;           /* defer: more body will be added */
	char status[8];      /* :status */
	int grpc_status;     /* -1 until seen */
	char grpc_message[256];
	struct aa_buf data;  /* response DATA */
	bool closed;
	uint32_t close_code;
	int header_frames;
};

struct client {
	nghttp2_session *session;
	struct grpc_conn *conn;
	struct aa_buf to_client;
	struct cstream streams[16];
	int nstreams;
	bool consume; /* give window back for response DATA */
};

static struct cstream *cstream_of(struct client *c, int32_t id)
{
	for (int i = 0; i < c->nstreams; i++)
		if (c->streams[i].id == id)
			return &c->streams[i];
	return NULL;
}

static void server_out(void *arg, const uint8_t *p, size_t n)
{
	struct client *c = arg;
	aa_buf_append(&c->to_client, p, n);
}

static int c_on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nl,
		       const uint8_t *value, size_t vl, uint8_t flags, void *user)
{
	struct cstream *st = cstream_of(user, f->hd.stream_id);
	if (!st)
		return 0;
	if (nl == 7 && memcmp(name, ":status", 7) == 0)
		snprintf(st->status, sizeof st->status, "%.*s", (int)vl, value);
	if (nl == 11 && memcmp(name, "grpc-status", 11) == 0)
		st->grpc_status = atoi((const char *)value);
	if (nl == 12 && memcmp(name, "grpc-message", 12) == 0)
		snprintf(st->grpc_message, sizeof st->grpc_message, "%.*s", (int)vl, value);
	return 0;
}

static int c_on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
	struct cstream *st = cstream_of(user, f->hd.stream_id);
	if (st && f->hd.type == NGHTTP2_HEADERS)
		st->header_frames++;
	return 0;
}

static int c_on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *d, size_t n, void *user)
{
	struct client *c = user;
	struct cstream *st = cstream_of(c, id);
	if (st)
		aa_buf_append(&st->data, d, n);
	if (c->consume)
		nghttp2_session_consume(s, id, n);
	return 0;
}

static int c_on_close(nghttp2_session *s, int32_t id, uint32_t code, void *user)
{
	struct cstream *st = cstream_of(user, id);
	if (st) {
		st->closed = true;
		st->close_code = code;
	}
	return 0;
}

static ssize_t c_read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
			   nghttp2_data_source *src, void *user)
{
	struct cstream *st = cstream_of(user, id);
	size_t left = st->body.n - st->body_off;
	size_t k = left < len ? left : len;
	if (k)
		memcpy(buf, st->body.p + st->body_off, k);
	st->body_off += k;
	if (st->body_off == st->body.n) {
		if (st->hold)
			return k ? (ssize_t)k : NGHTTP2_ERR_DEFERRED;
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		if (!st->end)
			*flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
	}
	return (ssize_t)k;
}

/* Moves bytes both ways until neither side has anything to say. */
static void pump(struct client *c)
{
	for (int i = 0; i < 10000; i++) {
		bool moved = false;
		const uint8_t *p;
		ssize_t n;
		while ((n = nghttp2_session_mem_send(c->session, &p)) > 0) {
			grpc_conn_mem_feed(c->conn, p, (size_t)n);
			moved = true;
		}
		grpc_conn_mem_flush(c->conn);
		if (c->to_client.n) {
			size_t len;
			uint8_t *bytes = aa_buf_steal(&c->to_client, &len);
			nghttp2_session_mem_recv(c->session, bytes, len);
			free(bytes);
			moved = true;
		}
		if (!moved)
			return;
	}
	fail_msg("pump did not settle");
}

static void client_open(struct client *c, struct grpc_server *srv)
{
	memset(c, 0, sizeof *c);
	aa_buf_init(&c->to_client);
	c->consume = true;
	nghttp2_session_callbacks *cb;
	nghttp2_session_callbacks_new(&cb);
	nghttp2_session_callbacks_set_on_header_callback(cb, c_on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, c_on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, c_on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, c_on_close);
	nghttp2_option *opt;
	nghttp2_option_new(&opt);
	nghttp2_option_set_no_auto_window_update(opt, 1);
	nghttp2_session_client_new2(&c->session, cb, c, opt);
	nghttp2_option_del(opt);
	nghttp2_session_callbacks_del(cb);
	nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, NULL, 0);
	c->conn = grpc_conn_mem_new(srv, server_out, c);
	pump(c);
}

static void client_close(struct client *c, bool free_conn)
{
	if (free_conn)
		grpc_conn_mem_free(c->conn);
	nghttp2_session_del(c->session);
	for (int i = 0; i < c->nstreams; i++) {
		aa_buf_free(&c->streams[i].body);
		aa_buf_free(&c->streams[i].data);
	}
	aa_buf_free(&c->to_client);
}

static void append_msg(struct aa_buf *b, uint8_t flag, const void *p, size_t n)
{
	uint8_t prefix[GRPC_PREFIX_BYTES];
	grpc_msg_prefix(prefix, false, (uint32_t)n);
	prefix[0] = flag;
	aa_buf_append(b, prefix, sizeof prefix);
	aa_buf_append(b, p, n);
}

/* Starts a request; body (may be NULL) is sent as DATA, END_STREAM after it if end. */
static struct cstream *call(struct client *c, const char *path, const struct aa_buf *body, bool end,
			    const char *timeout)
{
	struct cstream *st = &c->streams[c->nstreams++];
	memset(st, 0, sizeof *st);
	st->grpc_status = -1;
	st->end = end;
	aa_buf_init(&st->body);
	aa_buf_init(&st->data);
	if (body)
		aa_buf_append(&st->body, body->p, body->n);
	nghttp2_nv nv[7];
	int n = 0;
#define NV(a, b) nv[n++] = (nghttp2_nv){ (uint8_t *)(a), (uint8_t *)(b), strlen(a), strlen(b), 0 }
	NV(":method", "POST");
	NV(":scheme", "http");
	NV(":path", path);
	NV(":authority", "test");
	NV("content-type", "application/grpc");
	NV("te", "trailers");
	if (timeout)
		NV("grpc-timeout", timeout);
#undef NV
	nghttp2_data_provider prd = { .read_callback = c_read_body };
	st->id = nghttp2_submit_request(c->session, NULL, nv, (size_t)n, body || end ? &prd : NULL, NULL);
	assert_true(st->id > 0);
	pump(c);
	return st;
}

/* --- the service under test ----------------------------------------------------------- */

static struct {
	struct grpc_call *held;
	int messages, half_closes, cancels, writables, starts;
	enum grpc_cancel_reason last_reason;
	bool pause_on_message;
	size_t bytes;
} ev;

static void h_start(struct grpc_call *call, void *user)
{
	ev.starts++;
	ev.held = call;
}

static void h_echo(struct grpc_call *call, const uint8_t *msg, size_t len, void *user)
{
	ev.messages++;
	assert_int_equal(grpc_call_send(call, msg, len), 0);
	assert_int_equal(grpc_call_finish(call, GRPC_STATUS_OK, NULL), 0);
	ev.held = NULL;
}

static void h_hold(struct grpc_call *call, const uint8_t *msg, size_t len, void *user)
{
	ev.messages++;
	ev.bytes += len;
	ev.held = call;
	if (ev.pause_on_message)
		grpc_call_pause_recv(call);
}

static void h_half_close(struct grpc_call *call, void *user) { ev.half_closes++; }

static void h_cancel(struct grpc_call *call, enum grpc_cancel_reason why, void *user)
{
	ev.cancels++;
	ev.last_reason = why;
	assert_ptr_equal(call, ev.held);
	/* finishing from on_cancel is refused */
	assert_int_equal(grpc_call_finish(call, GRPC_STATUS_OK, NULL), AA_ECLOSED);
	ev.held = NULL;
}

static void h_writable(struct grpc_call *call, void *user) { ev.writables++; }

static uv_loop_t loop;
static struct grpc_server *srv;

static int setup(void **state)
{
	memset(&ev, 0, sizeof ev);
	uv_loop_init(&loop);
	struct grpc_server_options o;
	grpc_server_options_default(&o);
	o.send_queue_limit = 64 * 1024;
	o.stream_window = 65535;
	srv = grpc_server_new(&loop, &o);
	struct grpc_handler echo = { .on_start = h_start, .on_message = h_echo };
	struct grpc_handler hold = { .on_start = h_start, .on_message = h_hold, .on_half_close = h_half_close,
				     .on_cancel = h_cancel, .on_writable = h_writable };
	assert_int_equal(grpc_server_register(srv, "/t.T/Echo", GRPC_UNARY, &echo, NULL), 0);
	assert_int_equal(grpc_server_register(srv, "/t.T/Hold", GRPC_UNARY, &hold, NULL), 0);
	assert_int_equal(grpc_server_register(srv, "/t.T/Bidi", GRPC_BIDI, &hold, NULL), 0);
	assert_int_equal(grpc_server_register(srv, "/t.T/Echo", GRPC_UNARY, &echo, NULL), AA_EEXIST);
	assert_int_equal(grpc_server_register(srv, "t.T/Bad", GRPC_UNARY, &echo, NULL), AA_EINVAL);
	assert_int_equal(grpc_server_register(srv, "/t.T/", GRPC_UNARY, &echo, NULL), AA_EINVAL);
	return 0;
}

static int teardown(void **state)
{
	if (srv)
		grpc_server_close(srv, NULL, NULL);
	srv = NULL;
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	return 0;
}

/* --- tests ------------------------------------------------------------------------------ */

static void test_grpc_unary_echo_roundtrip(void **state)
{
	struct client c;
	client_open(&c, srv);
	struct aa_buf body;
	aa_buf_init(&body);
	append_msg(&body, 0, "ping", 4);
	struct cstream *st = call(&c, "/t.T/Echo", &body, true, NULL);
	assert_true(st->closed);
	assert_string_equal(st->status, "200");
	assert_int_equal(st->grpc_status, 0);
	assert_int_equal(st->data.n, body.n);
	assert_memory_equal(st->data.p, body.p, body.n);
	assert_int_equal(st->header_frames, 2); /* headers, trailers */
	assert_int_equal(grpc_server_call_count(srv), 0);
	aa_buf_free(&body);
	client_close(&c, true);
}

static void test_grpc_unknown_method_is_trailers_only_unimplemented(void **state)
{
	struct client c;
	client_open(&c, srv);
	struct aa_buf body;
	aa_buf_init(&body);
	append_msg(&body, 0, "x", 1);
	struct cstream *st = call(&c, "/t.T/Nope", &body, true, NULL);
	assert_true(st->closed);
	assert_string_equal(st->status, "200");
	assert_int_equal(st->grpc_status, GRPC_STATUS_UNIMPLEMENTED);
	assert_int_equal(st->header_frames, 1);
	assert_int_equal(st->data.n, 0);
	assert_int_equal(ev.starts, 0);
	aa_buf_free(&body);
	client_close(&c, true);
}

static void test_grpc_call_finished_later_outside_callbacks(void **state)
{
	struct client c;
	client_open(&c, srv);
	struct aa_buf body;
	aa_buf_init(&body);
	append_msg(&body, 0, "later", 5);
	struct cstream *st = call(&c, "/t.T/Hold", &body, true, NULL);
	assert_int_equal(ev.messages, 1);
	assert_int_equal(ev.half_closes, 1);
	assert_non_null(ev.held);
	assert_false(st->closed);
	assert_string_equal(grpc_call_method(ev.held), "/t.T/Hold");
	assert_true(grpc_call_deadline_left_ms(ev.held) == UINT64_MAX);
	assert_int_equal(grpc_call_send(ev.held, (const uint8_t *)"r", 1), 0);
	assert_int_equal(grpc_call_finish(ev.held, GRPC_STATUS_NOT_FOUND, "no 100% match"), 0);
	ev.held = NULL;
	pump(&c);
	assert_true(st->closed);
	assert_int_equal(st->grpc_status, GRPC_STATUS_NOT_FOUND);
	assert_string_equal(st->grpc_message, "no 100%25 match");
	assert_int_equal(st->data.n, 6);
	assert_int_equal(ev.cancels, 0);
	aa_buf_free(&body);
	client_close(&c, true);
}

static void test_grpc_client_reset_cancels_call_once(void **state)
{
	struct client c;
	client_open(&c, srv);
	struct cstream *st = call(&c, "/t.T/Bidi", NULL, false, NULL);
	assert_int_equal(ev.starts, 1);
	assert_non_null(ev.held);
	assert_false(st->closed);
	nghttp2_submit_rst_stream(c.session, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_CANCEL);
	pump(&c);
	assert_int_equal(ev.cancels, 1);
	assert_int_equal(ev.last_reason, GRPC_CANCEL_CLIENT);
	assert_int_equal(grpc_server_call_count(srv), 0);
	client_close(&c, true);
	assert_int_equal(ev.cancels, 1);
}

static void test_grpc_connection_loss_cancels_held_calls(void **state)
{
	struct client c;
	client_open(&c, srv);
	struct aa_buf body;
	aa_buf_init(&body);
	append_msg(&body, 0, "a", 1);
	call(&c, "/t.T/Hold", &body, true, NULL);
	assert_non_null(ev.held);
	client_close(&c, true);
	assert_int_equal(ev.cancels, 1);
	assert_int_equal(ev.last_reason, GRPC_CANCEL_CONNECTION);
	assert_null(ev.held);
	aa_buf_free(&body);
}

static void test_grpc_send_queue_backpressure_and_on_writable(void **state)
{
	struct client c;
	client_open(&c, srv);
	c.consume = false; /* the client reads nothing: its window (64 KiB) fills */
	struct aa_buf body;
	aa_buf_init(&body);
	append_msg(&body, 0, "go", 2);
	call(&c, "/t.T/Bidi", &body, false, NULL);
	struct grpc_call *h = ev.held;
	assert_non_null(h);
	static uint8_t chunk[16 * 1024];
	int sent = 0, rc;
	while ((rc = grpc_call_send(h, chunk, sizeof chunk)) == 0 && sent < 1000) {
		sent++;
		pump(&c);
	}
	assert_int_equal(rc, AA_EAGAIN);
	assert_false(grpc_call_writable(h));
	assert_true(grpc_call_send_queued_bytes(h) >= 64 * 1024);
	assert_true(sent < 20); /* bounded: client window + queue limit */
	assert_int_equal(ev.writables, 0);
	/* The client reads everything: the queue drains and on_writable fires. */
	struct cstream *st = &c.streams[0];
	c.consume = true;
	nghttp2_session_consume(c.session, st->id, st->data.n);
	pump(&c);
	assert_true(ev.writables >= 1);
	assert_true(grpc_call_writable(h));
	assert_int_equal(grpc_call_finish(h, GRPC_STATUS_OK, NULL), 0);
	ev.held = NULL;
	pump(&c);
	assert_true(st->closed);
	assert_int_equal(st->grpc_status, 0);
	assert_int_equal(st->data.n, (size_t)(sent) * (sizeof chunk + 5));
	aa_buf_free(&body);
	client_close(&c, true);
}

static void test_grpc_paused_call_holds_back_client(void **state)
{
	struct client c;
	client_open(&c, srv);
	ev.pause_on_message = true;
	struct aa_buf body;
	aa_buf_init(&body);
	static uint8_t chunk[1000];
	for (int i = 0; i < 400; i++) /* 400 KB, far beyond the 64 KiB stream window */
		append_msg(&body, 0, chunk, sizeof chunk);
	struct cstream *st = call(&c, "/t.T/Bidi", &body, true, NULL);
	assert_int_equal(ev.messages, 1);
	assert_true(st->body_off < 100 * 1024); /* the client is held back by flow control */
	int rounds = 0;
	while (ev.messages < 400 && rounds++ < 1000) {
		grpc_call_resume_recv(ev.held);
		pump(&c);
	}
	assert_int_equal(ev.messages, 400);
	assert_int_equal(ev.bytes, 400 * sizeof chunk);
	grpc_call_resume_recv(ev.held);
	pump(&c);
	assert_int_equal(ev.half_closes, 1);
	assert_int_equal(grpc_call_finish(ev.held, GRPC_STATUS_OK, NULL), 0);
	ev.held = NULL;
	pump(&c);
	assert_true(st->closed);
	aa_buf_free(&body);
	client_close(&c, true);
}

static void test_grpc_deadline_cancels_and_resets_stream(void **state)
{
	struct client c;
	client_open(&c, srv);
	struct aa_buf body;
	aa_buf_init(&body);
	append_msg(&body, 0, "slow", 4);
	struct cstream *st = call(&c, "/t.T/Hold", &body, false, "20m");
	assert_non_null(ev.held);
	assert_true(grpc_call_deadline_left_ms(ev.held) <= 20);
	while (ev.cancels == 0)
		uv_run(&loop, UV_RUN_ONCE);
	assert_int_equal(ev.last_reason, GRPC_CANCEL_DEADLINE);
	pump(&c);
	assert_true(st->closed);
	assert_int_equal(st->close_code, NGHTTP2_CANCEL);
	assert_int_equal(grpc_server_call_count(srv), 0);
	aa_buf_free(&body);
	client_close(&c, true);
}

static void test_grpc_unary_protocol_errors_fail_the_call(void **state)
{
	struct client c;
	client_open(&c, srv);
	struct aa_buf body;
	struct {
		uint8_t flag;
		size_t copies;
		bool cut;
		int status;
	} cases[] = {
		{ 1, 1, false, GRPC_STATUS_INTERNAL }, /* compressed without grpc-encoding */
		{ 0, 2, false, GRPC_STATUS_INTERNAL }, /* two messages on a unary call */
		{ 0, 0, false, GRPC_STATUS_INTERNAL }, /* none */
		{ 0, 1, true, GRPC_STATUS_INTERNAL },  /* truncated at END_STREAM */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		aa_buf_init(&body);
		for (size_t k = 0; k < cases[i].copies; k++)
			append_msg(&body, cases[i].flag, "abc", 3);
		if (cases[i].cut)
			body.n -= 1;
		int cancels = ev.cancels;
		struct cstream *st = call(&c, "/t.T/Hold", &body, true, NULL);
		assert_true(st->closed);
		assert_int_equal(st->grpc_status, cases[i].status);
		assert_int_equal(ev.cancels, cancels + 1); /* the handler is told */
		assert_int_equal(ev.last_reason, GRPC_CANCEL_PROTOCOL);
		assert_null(ev.held);
		aa_buf_free(&body);
	}
	client_close(&c, true);
}

static void test_grpc_server_close_cancels_calls(void **state)
{
	struct client c;
	client_open(&c, srv);
	struct aa_buf body;
	aa_buf_init(&body);
	append_msg(&body, 0, "a", 1);
	call(&c, "/t.T/Hold", &body, true, NULL);
	assert_non_null(ev.held);
	grpc_server_close(srv, NULL, NULL); /* also frees the memory connection */
	srv = NULL;
	assert_int_equal(ev.cancels, 1);
	assert_int_equal(ev.last_reason, GRPC_CANCEL_SHUTDOWN);
	client_close(&c, false);
	aa_buf_free(&body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_grpc_unary_echo_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grpc_unknown_method_is_trailers_only_unimplemented, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grpc_call_finished_later_outside_callbacks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grpc_client_reset_cancels_call_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grpc_connection_loss_cancels_held_calls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grpc_send_queue_backpressure_and_on_writable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grpc_paused_call_holds_back_client, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grpc_deadline_cancels_and_resets_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grpc_unary_protocol_errors_fail_the_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grpc_server_close_cancels_calls, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
