/* Unit tests for http/client. A real HTTP server on 127.0.0.1 runs in a helper thread with
 * plain blocking sockets: it serves one connection at a time, records the request and
 * answers from a script of pieces (each after a delay, optionally framed as a chunk), then
 * closes or holds the connection until the client drops it. The client runs on a libuv loop
 * in the test thread; every test is bounded by a guard timer. HTTPS is served by
 * `openssl s_server -WWW` with a self-signed certificate made at test time.
 *
 * libcurl is loaded with dlopen by the first transfer, and this program does not link it,
 * so whether it is loaded can be asked with RTLD_NOLOAD. Those tests run in child processes
 * (earlier tests have loaded it in this one); the one without libcurl re-executes this
 * program with a broken libcurl.so.4 first on LD_LIBRARY_PATH. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "http/client.h"

#define LIBCURL_SONAME "libcurl.so.4"
#define CHILD_WITHOUT_LIBCURL "--child-without-libcurl"

/* --- the scripted server ---------------------------------------------------------------- */

struct piece {
	const char *bytes;
	int delay_ms; /* before these bytes */
	bool chunk;   /* send as one chunk of a chunked body */
};

struct server {
	int fd, port;
	int stop[2];
	pthread_t thread;
	const struct piece *pieces; /* ended by a NULL bytes */
	bool hold;                  /* after the pieces, wait for the client to close */
	pthread_mutex_t mu;
	char request[16384];        /* the last request, headers and body */
	int connections;
};

/* 1: fd readable, 0: timeout, -1: told to stop. fd < 0 just sleeps. */
static int server_wait(struct server *s, int fd, int ms)
{
	struct pollfd p[2] = { { s->stop[0], POLLIN, 0 }, { fd, POLLIN, 0 } };
	int n = poll(p, fd < 0 ? 1 : 2, ms);
	if (n > 0 && p[0].revents)
		return -1;
	return n > 0 ? 1 : 0;
}

static bool request_complete(const char *req, size_t n)
{
	const char *end = strstr(req, "\r\n\r\n");
	if (!end)
		return false;
	size_t body = 0;
	const char *cl = strcasestr(req, "\r\ncontent-length:");
	if (cl && cl < end)
		body = strtoul(cl + 17, NULL, 10);
	return n >= (size_t)(end + 4 - req) + body;
}

static void server_send(int conn, const struct piece *p)
{
	char head[32];
	size_t n = strlen(p->bytes);
	if (p->chunk) {
		int h = snprintf(head, sizeof head, "%zx\r\n", n);
		send(conn, head, (size_t)h, MSG_NOSIGNAL);
	}
	send(conn, p->bytes, n, MSG_NOSIGNAL);
	if (p->chunk)
		send(conn, "\r\n", 2, MSG_NOSIGNAL);
}

static void server_serve(struct server *s, int conn)
{
	char req[sizeof s->request];
	size_t n = 0;
	while (n < sizeof req - 1) {
		if (server_wait(s, conn, 2000) <= 0)
			return;
		ssize_t r = recv(conn, req + n, sizeof req - 1 - n, 0);
		if (r <= 0)
			return;
		n += (size_t)r;
		req[n] = 0;
		if (request_complete(req, n))
			break;
	}
	pthread_mutex_lock(&s->mu);
	memcpy(s->request, req, n + 1);
	s->connections++;
	pthread_mutex_unlock(&s->mu);
	for (const struct piece *p = s->pieces; p && p->bytes; p++) {
		if (p->delay_ms && server_wait(s, -1, p->delay_ms) < 0)
			return;
		server_send(conn, p);
	}
	char sink[512];
	while (s->hold && server_wait(s, conn, -1) == 1 && recv(conn, sink, sizeof sink, 0) > 0)
		;
}

static void *server_main(void *arg)
{
	struct server *s = arg;
	for (;;) {
		int w = server_wait(s, s->fd, -1);
		if (w < 0)
			break;
		int conn = accept(s->fd, NULL, NULL);
		if (conn < 0)
			continue;
		server_serve(s, conn);
		close(conn);
	}
	return NULL;
}

/* A socket bound to a free loopback port; listening or not. */
static int bound_socket(bool listening, int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	if (listening)
		assert_int_equal(listen(fd, 16), 0);
	socklen_t len = sizeof a;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static struct server *server_start(const struct piece *pieces, bool hold)
{
	struct server *s = aa_calloc(1, sizeof *s);
	s->fd = bound_socket(true, &s->port);
	assert_int_equal(pipe(s->stop), 0);
	s->pieces = pieces;
	s->hold = hold;
	pthread_mutex_init(&s->mu, NULL);
	assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
	return s;
}

static void server_stop(struct server *s)
{
	assert_int_equal(write(s->stop[1], "x", 1), 1);
	pthread_join(s->thread, NULL);
	close(s->fd);
	close(s->stop[0]);
	close(s->stop[1]);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static char *server_url(struct server *s, const char *path)
{
	return aa_sprintf("http://127.0.0.1:%d%s", s->port, path);
}

/* A copy of the last request, for assertions; the caller frees it. */
static char *server_request(struct server *s)
{
	pthread_mutex_lock(&s->mu);
	char *copy = aa_strdup(s->request);
	pthread_mutex_unlock(&s->mu);
	return copy;
}

static int server_connections(struct server *s)
{
	pthread_mutex_lock(&s->mu);
	int n = s->connections;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* --- canned responses ------------------------------------------------------------------- */

static const struct piece json_ok[] = {
	{ "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n"
	  "Connection: close\r\n\r\n{\"ok\":true}", 0, false },
	{ NULL, 0, false },
};

static const struct piece not_found[] = {
	{ "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n"
	  "Connection: close\r\n\r\nnot found", 0, false },
	{ NULL, 0, false },
};

#define SSE_HEAD "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n" \
		 "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"

/* Events split across chunks, with comments, another event type and pauses between. */
static const struct piece sse_stream[] = {
	{ SSE_HEAD, 0, false },
	{ "data: one\n\n", 0, true },
	{ "data: tw", 30, true },
	{ "o\ndata: 2\n", 30, true },
	{ "\n: ping\n\nevent: x\ndata: three\n\n", 30, true },
	{ "", 0, true }, /* the last chunk */
	{ NULL, 0, false },
};

/* One event, then silence with the connection open. */
static const struct piece sse_then_silence[] = {
	{ SSE_HEAD, 0, false },
	{ "data: one\n\n", 0, true },
	{ NULL, 0, false },
};

/* --- the client side -------------------------------------------------------------------- */

struct ctx {
	uv_loop_t loop;
	uv_timer_t guard, later;
	bool timed_out;
	struct http_client *client;
	struct http_transfer *transfer;
	struct server *srv;
	char *url;
	int done_calls, last_err;
	long status;
	char content_type[128];
	struct aa_buf body, events; /* events: each event's data followed by '|' */
	int event_calls;
	int event_return;           /* on_event returns this */
	bool cancel_in_event, close_in_event, start_in_done, close_in_done, cancel_in_done;
	struct http_transfer *other; /* the transfer a done callback cancels */
	bool closed;
	int start_after_close;
};

static void on_guard(uv_timer_t *t)
{
	struct ctx *x = t->data;
	x->timed_out = true;
	uv_stop(&x->loop);
}

static void ctx_init(struct ctx *x, const struct http_client_options *o)
{
	memset(x, 0, sizeof *x);
	aa_buf_init(&x->body);
	aa_buf_init(&x->events);
	assert_int_equal(uv_loop_init(&x->loop), 0);
	uv_timer_init(&x->loop, &x->guard);
	uv_timer_init(&x->loop, &x->later);
	x->guard.data = x;
	x->later.data = x;
	uv_timer_start(&x->guard, on_guard, 1900, 0);
	struct http_client_options def;
	if (!o) {
		http_client_options_default(&def);
		o = &def;
	}
	assert_int_equal(http_client_new(&x->loop, o, &x->client), 0);
}

static void on_closed(void *user)
{
	struct ctx *x = user;
	x->closed = true;
}

/* Runs the loop until *flag reaches want (or the guard fires). */
static void ctx_run_until(struct ctx *x, int *flag, int want)
{
	while (*flag < want && !x->timed_out)
		uv_run(&x->loop, UV_RUN_ONCE);
	assert_false(x->timed_out);
}

static void on_later(uv_timer_t *t)
{
	struct ctx *x = t->data;
	uv_stop(&x->loop);
}

/* Runs the loop for ms milliseconds. */
static void ctx_run_for(struct ctx *x, int ms)
{
	uv_timer_start(&x->later, on_later, (uint64_t)ms, 0);
	uv_run(&x->loop, UV_RUN_DEFAULT);
	assert_false(x->timed_out);
}

/* Closes the client (unless a callback did), checks close_cb ran and nothing is left. */
static void ctx_finish(struct ctx *x)
{
	if (x->client && !x->closed)
		http_client_close(x->client, on_closed, x);
	while (!x->closed && !x->timed_out)
		uv_run(&x->loop, UV_RUN_ONCE);
	assert_true(x->closed);
	uv_close((uv_handle_t *)&x->guard, NULL);
	uv_close((uv_handle_t *)&x->later, NULL);
	uv_run(&x->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&x->loop), 0);
	if (x->srv)
		server_stop(x->srv);
	free(x->url);
	aa_buf_free(&x->body);
	aa_buf_free(&x->events);
}

static int start(struct ctx *x, const struct http_request_spec *req, bool stream);

static void on_done(void *user, int err, const struct http_response *resp)
{
	struct ctx *x = user;
	x->done_calls++;
	x->last_err = err;
	x->transfer = NULL;
	if (err == 0) {
		assert_non_null(resp);
		x->status = resp->status;
		snprintf(x->content_type, sizeof x->content_type, "%s", resp->content_type);
		assert_int_equal(resp->body[resp->body_len], 0);
		aa_buf_append(&x->body, resp->body, resp->body_len);
	} else {
		assert_null(resp);
	}
	if (x->cancel_in_done && x->done_calls == 1)
		http_transfer_cancel(x->other);
	if (x->close_in_done && x->done_calls == 1)
		http_client_close(x->client, on_closed, x);
	if (x->start_in_done && x->done_calls == 1) {
		struct http_request_spec req = { .method = "GET", .url = x->url };
		assert_int_equal(start(x, &req, false), 0);
	}
}

static int on_event(void *user, const char *data, size_t len)
{
	struct ctx *x = user;
	x->event_calls++;
	aa_buf_append(&x->events, data, len);
	aa_buf_append_byte(&x->events, '|');
	if (x->cancel_in_event)
		http_transfer_cancel(x->transfer);
	if (x->close_in_event)
		http_client_close(x->client, on_closed, x);
	return x->event_return;
}

static int start(struct ctx *x, const struct http_request_spec *req, bool stream)
{
	return http_client_start(x->client, req, stream ? on_event : NULL, on_done, x, &x->transfer);
}

static void get(struct ctx *x, const char *path, bool stream)
{
	free(x->url);
	x->url = server_url(x->srv, path);
	struct http_request_spec req = { .method = "GET", .url = x->url };
	assert_int_equal(start(x, &req, stream), 0);
}

static void assert_text(const struct aa_buf *b, const char *want)
{
	assert_int_equal(b->n, strlen(want));
	assert_memory_equal(b->p, want, b->n);
}

/* --- tests: plain requests -------------------------------------------------------------- */

static void test_http_get_delivers_status_type_and_body(void **state)
{
	struct ctx x;
	ctx_init(&x, NULL);
	x.srv = server_start(json_ok, false);
	get(&x, "/card?x=1", false);
	ctx_run_until(&x, &x.done_calls, 1);
	assert_int_equal(x.last_err, 0);
	assert_int_equal(x.status, 200);
	assert_string_equal(x.content_type, "application/json");
	assert_text(&x.body, "{\"ok\":true}");
	char *req = server_request(x.srv);
	assert_true(strncmp(req, "GET /card?x=1 HTTP/1.1\r\n", 24) == 0);
	free(req);
	ctx_finish(&x);
}

static void test_http_post_sends_body_and_headers(void **state)
{
	struct ctx x;
	ctx_init(&x, NULL);
	x.srv = server_start(json_ok, false);
	x.url = server_url(x.srv, "/rpc");
	const char *headers[] = { "Content-Type: application/json", "X-Test: yes", NULL };
	struct http_request_spec req = { .method = "POST", .url = x.url, .headers = headers,
					 .body = "{\"a\":1}", .body_len = 7 };
	assert_int_equal(start(&x, &req, false), 0);
	ctx_run_until(&x, &x.done_calls, 1);
	assert_int_equal(x.last_err, 0);
	assert_int_equal(x.status, 200);
	char *got = server_request(x.srv);
	assert_true(strncmp(got, "POST /rpc HTTP/1.1\r\n", 20) == 0);
	assert_non_null(strstr(got, "\r\nX-Test: yes\r\n"));
	assert_non_null(strstr(got, "\r\nContent-Type: application/json\r\n"));
	assert_non_null(strstr(got, "\r\nContent-Length: 7\r\n"));
	assert_null(strcasestr(got, "\r\nExpect:"));
	assert_string_equal(strstr(got, "\r\n\r\n") + 4, "{\"a\":1}");
	free(got);
	ctx_finish(&x);
}

static void test_http_error_status_is_a_response(void **state)
{
	struct ctx x;
	ctx_init(&x, NULL);
	x.srv = server_start(not_found, false);
	get(&x, "/missing", false);
	ctx_run_until(&x, &x.done_calls, 1);
	assert_int_equal(x.last_err, 0);
	assert_int_equal(x.status, 404);
	assert_text(&x.body, "not found");
	ctx_finish(&x);
}

static void test_http_body_over_limit_is_too_big(void **state)
{
	static char big[1200];
	static struct piece with_length[2], chunked[4];
	snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n");
	memset(big + strlen(big), 'a', 1000);
	with_length[0] = (struct piece){ big, 0, false };
	chunked[0] = (struct piece){ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 0, false };
	chunked[1] = (struct piece){ big + strlen(big) - 600, 0, true }; /* 600 bytes of 'a' */
	chunked[2] = (struct piece){ "", 0, true };
	struct http_client_options o;
	http_client_options_default(&o);
	o.max_response = 100;
	const struct piece *scripts[] = { with_length, chunked };
	for (int i = 0; i < 2; i++) {
		struct ctx x;
		ctx_init(&x, &o);
		x.srv = server_start(scripts[i], false);
		get(&x, "/big", false);
		ctx_run_until(&x, &x.done_calls, 1);
		assert_int_equal(x.last_err, AA_ETOOBIG);
		ctx_finish(&x);
	}
}

static void test_http_silent_server_times_out(void **state)
{
	struct http_client_options o;
	http_client_options_default(&o);
	o.timeout_ms = 200;
	struct ctx x;
	ctx_init(&x, &o);
	x.srv = server_start(NULL, true);
	uint64_t t0 = uv_now(&x.loop);
	get(&x, "/slow", false);
	ctx_run_until(&x, &x.done_calls, 1);
	assert_int_equal(x.last_err, AA_ETIMEDOUT);
	assert_true(uv_now(&x.loop) - t0 >= 190);
	ctx_finish(&x);
}

static void test_http_stream_request_times_out_before_headers(void **state)
{
	struct http_client_options o;
	http_client_options_default(&o);
	o.timeout_ms = 200;
	struct ctx x;
	ctx_init(&x, &o);
	x.srv = server_start(NULL, true);
	get(&x, "/slow", true);
	ctx_run_until(&x, &x.done_calls, 1);
	assert_int_equal(x.last_err, AA_ETIMEDOUT);
	ctx_finish(&x);
}

static void test_http_refused_connection_is_unavailable(void **state)
{
	int port;
	int fd = bound_socket(false, &port); /* bound, not listening: connect is refused */
	struct ctx x;
	ctx_init(&x, NULL);
	x.url = aa_sprintf("http://127.0.0.1:%d/", port);
	struct http_request_spec req = { .method = "GET", .url = x.url };
	assert_int_equal(start(&x, &req, false), 0);
	ctx_run_until(&x, &x.done_calls, 1);
	assert_int_equal(x.last_err, AA_EUNAVAIL);
	ctx_finish(&x);
	close(fd);
}

static void test_http_start_rejects_bad_requests(void **state)
{
	struct ctx x;
	ctx_init(&x, NULL);
	const char *bad_header[] = { "X-A: 1\r\nX-B: 2", NULL };
	struct http_request_spec reqs[] = {
		{ .method = "GET", .url = "ftp://127.0.0.1/x" },
		{ .method = "GET", .url = "file:///etc/passwd" },
		{ .method = "GET", .url = "not a url" },
		{ .method = "PUT", .url = "http://127.0.0.1/x" },
		{ .method = "GET", .url = "http://127.0.0.1/x", .body = "b", .body_len = 1 },
		{ .method = "POST", .url = "http://127.0.0.1/x", .body_len = 3 },
		{ .method = "GET", .url = "http://127.0.0.1/x", .headers = bad_header },
	};
	for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++)
		assert_int_equal(start(&x, &reqs[i], false), AA_EINVAL);
	assert_null(x.transfer);
	ctx_finish(&x);
	assert_int_equal(x.done_calls, 0);
}

static void test_http_start_refuses_beyond_max_transfers(void **state)
{
	struct http_client_options o;
	http_client_options_default(&o);
	o.max_transfers = 2;
	struct ctx x;
	ctx_init(&x, &o);
	x.srv = server_start(NULL, true);
	get(&x, "/a", false);
	get(&x, "/b", false);
	struct http_request_spec req = { .method = "GET", .url = x.url };
	assert_int_equal(start(&x, &req, false), AA_ENOMEM);
	ctx_finish(&x);
	assert_int_equal(x.done_calls, 2);
	assert_int_equal(x.last_err, AA_ECLOSED);
}

/* --- tests: event streams --------------------------------------------------------------- */

static void test_http_sse_delivers_events_then_done(void **state)
{
	struct ctx x;
	ctx_init(&x, NULL);
	x.srv = server_start(sse_stream, false);
	get(&x, "/stream", true);
	ctx_run_until(&x, &x.done_calls, 1);
	assert_int_equal(x.last_err, 0);
	assert_int_equal(x.status, 200);
	assert_int_equal(x.event_calls, 3);
	assert_text(&x.events, "one|two\n2|three|");
	assert_int_equal(x.body.n, 0);
	assert_string_equal(x.content_type, "text/event-stream; charset=utf-8");
	ctx_finish(&x);
}

static void test_http_stream_request_with_json_reply_is_buffered(void **state)
{
	struct ctx x;
	ctx_init(&x, NULL);
	x.srv = server_start(json_ok, false);
	get(&x, "/stream", true);
	ctx_run_until(&x, &x.done_calls, 1);
	assert_int_equal(x.last_err, 0);
	assert_int_equal(x.event_calls, 0);
	assert_text(&x.body, "{\"ok\":true}");
	ctx_finish(&x);
}

static void test_http_sse_idle_stream_times_out(void **state)
{
	struct http_client_options o;
	http_client_options_default(&o);
	o.stream_idle_ms = 200;
	struct ctx x;
	ctx_init(&x, &o);
	x.srv = server_start(sse_then_silence, true);
	uint64_t t0 = uv_now(&x.loop);
	get(&x, "/stream", true);
	ctx_run_until(&x, &x.done_calls, 1);
	assert_int_equal(x.event_calls, 1);
	assert_int_equal(x.last_err, AA_ETIMEDOUT);
	assert_true(uv_now(&x.loop) - t0 >= 190);
	ctx_finish(&x);
}

static void test_http_sse_event_over_limit_is_too_big(void **state)
{
	static const struct piece script[] = {
		{ SSE_HEAD, 0, false },
		{ "data: short\n\ndata: this one is longer than the limit\n\n", 0, true },
		{ "", 0, true },
		{ NULL, 0, false },
	};
	struct http_client_options o;
	http_client_options_default(&o);
	o.max_response = 16;
	struct ctx x;
	ctx_init(&x, &o);
	x.srv = server_start(script, false);
	get(&x, "/stream", true);
	ctx_run_until(&x, &x.done_calls, 1);
	assert_text(&x.events, "short|");
	assert_int_equal(x.last_err, AA_ETOOBIG);
	ctx_finish(&x);
}

static void test_http_event_callback_stop_value_reaches_done(void **state)
{
	struct ctx x;
	ctx_init(&x, NULL);
	x.srv = server_start(sse_stream, false);
	x.event_return = -77;
	get(&x, "/stream", true);
	ctx_run_until(&x, &x.done_calls, 1);
	assert_int_equal(x.event_calls, 1);
	assert_int_equal(x.last_err, -77);
	ctx_finish(&x);
}

/* --- tests: cancel, close and reentrancy ------------------------------------------------ */

static void test_http_cancel_before_loop_runs(void **state)
{
	struct ctx x;
	ctx_init(&x, NULL);
	x.srv = server_start(json_ok, false);
	get(&x, "/", false);
	http_transfer_cancel(x.transfer);
	ctx_run_for(&x, 100);
	assert_int_equal(x.done_calls, 0);
	ctx_finish(&x);
	assert_int_equal(x.done_calls, 0);
}

static void cancel_later(uv_timer_t *t)
{
	struct ctx *x = t->data;
	http_transfer_cancel(x->transfer);
	uv_stop(&x->loop);
}

static void test_http_cancel_in_flight_skips_done(void **state)
{
	struct ctx x;
	ctx_init(&x, NULL);
	x.srv = server_start(NULL, true);
	get(&x, "/", false);
	uv_timer_start(&x.later, cancel_later, 100, 0);
	uv_run(&x.loop, UV_RUN_DEFAULT);
	ctx_run_for(&x, 50);
	assert_int_equal(x.done_calls, 0);
	ctx_finish(&x);
	assert_int_equal(x.done_calls, 0);
}

static void test_http_cancel_from_event_callback_skips_done(void **state)
{
	struct ctx x;
	ctx_init(&x, NULL);
	x.srv = server_start(sse_stream, false);
	x.cancel_in_event = true;
	get(&x, "/stream", true);
	ctx_run_until(&x, &x.event_calls, 1);
	ctx_run_for(&x, 150);
	assert_int_equal(x.event_calls, 1);
	assert_int_equal(x.done_calls, 0);
	ctx_finish(&x);
	assert_int_equal(x.done_calls, 0);
}

static void close_later(uv_timer_t *t)
{
	struct ctx *x = t->data;
	http_client_close(x->client, on_closed, x);
	/* The client lives until its handles have closed; until then starting is refused. */
	struct http_request_spec req = { .method = "GET", .url = x->url };
	x->start_after_close = start(x, &req, false);
}

static void test_http_close_ends_transfers_in_flight(void **state)
{
	struct ctx x;
	ctx_init(&x, NULL);
	x.srv = server_start(NULL, true);
	get(&x, "/a", false);
	get(&x, "/b", true);
	uv_timer_start(&x.later, close_later, 100, 0);
	ctx_run_until(&x, &x.done_calls, 2);
	assert_int_equal(x.last_err, AA_ECLOSED);
	assert_int_equal(x.start_after_close, AA_ECLOSED);
	ctx_finish(&x);
	assert_int_equal(x.done_calls, 2);
}

static void test_http_close_from_event_callback(void **state)
{
	struct ctx x;
	ctx_init(&x, NULL);
	x.srv = server_start(sse_stream, false);
	x.close_in_event = true;
	get(&x, "/stream", true);
	ctx_run_until(&x, &x.done_calls, 1);
	assert_int_equal(x.event_calls, 1);
	assert_int_equal(x.last_err, AA_ECLOSED);
	ctx_finish(&x);
	assert_int_equal(x.done_calls, 1);
}

static void test_http_done_callback_starts_another_transfer(void **state)
{
	struct ctx x;
	ctx_init(&x, NULL);
	x.srv = server_start(json_ok, false);
	x.start_in_done = true;
	get(&x, "/first", false);
	ctx_run_until(&x, &x.done_calls, 2);
	assert_int_equal(x.last_err, 0);
	assert_int_equal(server_connections(x.srv), 2);
	assert_text(&x.body, "{\"ok\":true}{\"ok\":true}");
	ctx_finish(&x);
}

/* The first transfer's done acts on a second one, held open by another server. */
static void start_pair(struct ctx *x, struct server **holder)
{
	*holder = server_start(NULL, true);
	char *url = server_url(*holder, "/held");
	struct http_request_spec req = { .method = "GET", .url = url };
	assert_int_equal(start(x, &req, true), 0);
	x->other = x->transfer;
	free(url);
	get(x, "/first", false);
}

static void test_http_done_callback_closes_the_client(void **state)
{
	struct ctx x;
	struct server *holder;
	ctx_init(&x, NULL);
	x.srv = server_start(json_ok, false);
	x.close_in_done = true;
	start_pair(&x, &holder);
	ctx_run_until(&x, &x.done_calls, 2);
	assert_int_equal(x.status, 200);
	assert_int_equal(x.last_err, AA_ECLOSED);
	ctx_finish(&x);
	assert_int_equal(x.done_calls, 2);
	server_stop(holder);
}

static void test_http_done_callback_cancels_another_transfer(void **state)
{
	struct ctx x;
	struct server *holder;
	ctx_init(&x, NULL);
	x.srv = server_start(json_ok, false);
	x.cancel_in_done = true;
	start_pair(&x, &holder);
	ctx_run_until(&x, &x.done_calls, 1);
	ctx_run_for(&x, 50);
	assert_int_equal(x.last_err, 0);
	ctx_finish(&x);
	assert_int_equal(x.done_calls, 1);
	server_stop(holder);
}

/* --- tests: HTTPS ----------------------------------------------------------------------- */

struct tls_server {
	char dir[64];
	pid_t pid;
	int port;
	FILE *out; /* s_server's output, open until it stops so that it never gets SIGPIPE */
};

static void tls_server_start(struct tls_server *s)
{
	snprintf(s->dir, sizeof s->dir, "/tmp/aa-http-test-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	char *cmd = aa_sprintf(
		"cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		"-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -days 2 "
		"-keyout key.pem -out cert.pem >/dev/null 2>&1 && printf 'hello over tls' > hello.txt",
		s->dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	int out[2];
	assert_int_equal(pipe(out), 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		dup2(out[1], 1);
		dup2(out[1], 2);
		close(out[0]);
		if (chdir(s->dir) != 0)
			_exit(127);
		execlp("openssl", "openssl", "s_server", "-accept", "127.0.0.1:0", "-cert",
		       "cert.pem", "-key", "key.pem", "-WWW", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	/* s_server prints "ACCEPT 127.0.0.1:<port>" once it listens. */
	s->out = fdopen(out[0], "r");
	char line[256];
	s->port = 0;
	while (s->port == 0 && fgets(line, sizeof line, s->out)) {
		char *p = strstr(line, "ACCEPT ");
		char *colon = p ? strrchr(p, ':') : NULL;
		if (colon)
			s->port = atoi(colon + 1);
	}
	assert_true(s->port > 0);
}

static void tls_server_stop(struct tls_server *s)
{
	kill(s->pid, SIGTERM);
	waitpid(s->pid, NULL, 0);
	fclose(s->out);
	char *cmd = aa_sprintf("rm -rf %s", s->dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static void test_https_verifies_against_ca_file(void **state)
{
	struct tls_server tls;
	tls_server_start(&tls);
	struct http_client_options o;
	http_client_options_default(&o);
	char *ca = aa_sprintf("%s/cert.pem", tls.dir);
	o.ca_file = ca;
	struct ctx x;
	ctx_init(&x, &o);
	free(ca); /* the client keeps its own copy */
	x.url = aa_sprintf("https://127.0.0.1:%d/hello.txt", tls.port);
	struct http_request_spec req = { .method = "GET", .url = x.url };
	assert_int_equal(start(&x, &req, false), 0);
	ctx_run_until(&x, &x.done_calls, 1);
	assert_int_equal(x.last_err, 0);
	assert_int_equal(x.status, 200);
	assert_text(&x.body, "hello over tls");
	ctx_finish(&x);

	/* Without the CA the self-signed certificate is refused. */
	ctx_init(&x, NULL);
	x.url = aa_sprintf("https://127.0.0.1:%d/hello.txt", tls.port);
	req.url = x.url;
	assert_int_equal(start(&x, &req, false), 0);
	ctx_run_until(&x, &x.done_calls, 1);
	assert_int_equal(x.last_err, AA_EUNAVAIL);
	ctx_finish(&x);
	tls_server_stop(&tls);
}

/* --- tests: loading libcurl ------------------------------------------------------------ */

/* Whether libcurl is in this process, without loading it. */
static bool libcurl_loaded(void)
{
	void *h = dlopen(LIBCURL_SONAME, RTLD_NOW | RTLD_NOLOAD);
	if (h)
		dlclose(h);
	return h != NULL;
}

static void child_on_done(void *user, int err, const struct http_response *resp)
{
	*(int *)user = err;
}

static void child_on_closed(void *user)
{
	*(bool *)user = true;
}

static int child_on_event(void *user, const char *data, size_t len)
{
	return 0;
}

/* Runs in a forked child (no cmocka asserts there): 0, or the number of the failed check. */
static int child_client_loads_libcurl_on_first_transfer(void)
{
	if (libcurl_loaded())
		return 1; /* the test binary links libcurl: this test cannot tell anything */
	uv_loop_t loop;
	struct http_client *c;
	if (uv_loop_init(&loop) != 0 || http_client_new(&loop, NULL, &c) != 0)
		return 2;
	if (libcurl_loaded())
		return 3;
	int err = 1;
	bool closed = false;
	struct http_request_spec req = { .method = "GET", .url = "http://127.0.0.1:9/" };
	if (http_client_start(c, &req, NULL, child_on_done, &err, NULL) != 0)
		return 4;
	if (!libcurl_loaded())
		return 5;
	http_client_close(c, child_on_closed, &closed);
	uv_run(&loop, UV_RUN_DEFAULT);
	if (!closed || err != AA_ECLOSED)
		return 6;
	return uv_loop_close(&loop) == 0 ? 0 : 7;
}

static void test_http_client_new_does_not_load_libcurl(void **state)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_client_loads_libcurl_on_first_transfer());
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* The re-executed child of the next test: libcurl.so.4 resolves to an empty file. */
static int child_without_libcurl(void)
{
	uv_loop_t loop;
	struct http_client *c;
	if (uv_loop_init(&loop) != 0 || http_client_new(&loop, NULL, &c) != 0)
		return 2;
	int err = 1;
	bool closed = false;
	struct http_request_spec get_req = { .method = "GET", .url = "http://127.0.0.1:9/" };
	struct http_request_spec post_req = { .method = "POST", .url = "http://127.0.0.1:9/",
					      .body = "{}", .body_len = 2 };
	struct http_transfer *t = (struct http_transfer *)&err;
	if (http_client_start(c, &get_req, NULL, child_on_done, &err, &t) != AA_EIO || t)
		return 3;
	/* Not retried: later transfers fail the same way, streaming or not. */
	if (http_client_start(c, &post_req, child_on_event, child_on_done, &err, NULL) != AA_EIO)
		return 4;
	if (http_client_start(c, &get_req, NULL, child_on_done, &err, NULL) != AA_EIO)
		return 5;
	http_client_close(c, child_on_closed, &closed);
	uv_run(&loop, UV_RUN_DEFAULT);
	if (!closed || err != 1) /* done never runs for a transfer that did not start */
		return 6;
	return uv_loop_close(&loop) == 0 ? 0 : 7;
}

static char *read_small_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *text = aa_calloc(1, 65536);
	size_t n = fread(text, 1, 65535, f);
	text[n] = 0;
	fclose(f);
	return text;
}

static void test_http_transfers_fail_cleanly_without_libcurl(void **state)
{
	char dir[] = "/tmp/aa-test-nocurl.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *lib = aa_sprintf("%s/%s", dir, LIBCURL_SONAME);
	char *log = aa_sprintf("%s/stderr", dir);
	int fd = open(lib, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	close(fd);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int lfd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (lfd < 0 || dup2(lfd, 2) < 0 || setenv("LD_LIBRARY_PATH", dir, 1) != 0)
			_exit(126);
		execl("/proc/self/exe", "test_http_client", CHILD_WITHOUT_LIBCURL, (char *)NULL);
		_exit(127);
	}
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	char *text = read_small_file(log);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		print_message("child stderr:\n%s\n", text);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* One error line naming the library and why it could not be loaded. */
	assert_non_null(strstr(text, "libcurl is unavailable"));
	assert_non_null(strstr(text, "cannot load " LIBCURL_SONAME));
	assert_null(strstr(strstr(text, "libcurl is unavailable") + 1, "libcurl is unavailable"));
	free(text);
	unlink(log);
	unlink(lib);
	rmdir(dir);
	free(log);
	free(lib);
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], CHILD_WITHOUT_LIBCURL) == 0)
		return child_without_libcurl();
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_client_new_does_not_load_libcurl),
		cmocka_unit_test(test_http_transfers_fail_cleanly_without_libcurl),
		cmocka_unit_test(test_http_get_delivers_status_type_and_body),
		cmocka_unit_test(test_http_post_sends_body_and_headers),
		cmocka_unit_test(test_http_error_status_is_a_response),
		cmocka_unit_test(test_http_body_over_limit_is_too_big),
		cmocka_unit_test(test_http_silent_server_times_out),
		cmocka_unit_test(test_http_stream_request_times_out_before_headers),
		cmocka_unit_test(test_http_refused_connection_is_unavailable),
		cmocka_unit_test(test_http_start_rejects_bad_requests),
		cmocka_unit_test(test_http_start_refuses_beyond_max_transfers),
		cmocka_unit_test(test_http_sse_delivers_events_then_done),
		cmocka_unit_test(test_http_stream_request_with_json_reply_is_buffered),
		cmocka_unit_test(test_http_sse_idle_stream_times_out),
		cmocka_unit_test(test_http_sse_event_over_limit_is_too_big),
		cmocka_unit_test(test_http_event_callback_stop_value_reaches_done),
		cmocka_unit_test(test_http_cancel_before_loop_runs),
		cmocka_unit_test(test_http_cancel_in_flight_skips_done),
		cmocka_unit_test(test_http_cancel_from_event_callback_skips_done),
		cmocka_unit_test(test_http_close_ends_transfers_in_flight),
		cmocka_unit_test(test_http_close_from_event_callback),
		cmocka_unit_test(test_http_done_callback_starts_another_transfer),
		cmocka_unit_test(test_http_done_callback_closes_the_client),
		cmocka_unit_test(test_http_done_callback_cancels_another_transfer),
		cmocka_unit_test(test_https_verifies_against_ca_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
