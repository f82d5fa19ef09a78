/* grpc: the gRPC server. nghttp2 does HTTP/2 (framing, HPACK, stream states, flow-control
 * accounting); this file maps HTTP/2 streams to gRPC calls (grpc/grpc doc/PROTOCOL-HTTP2.md)
 * and drives nghttp2 from libuv without threads.
 *
 * Input: socket bytes go straight into nghttp2_session_mem_recv(); its callbacks create a
 * call per request HEADERS, validate the headers, and append DATA to the call's message
 * reader, which hands complete messages to the handler at once. Automatic WINDOW_UPDATE is
 * off: connection-level window is returned as bytes arrive (so one stalled stream cannot
 * block the others), stream-level window only as messages are delivered, or while the call
 * holds a reservation from the connection's receive budget for the message it is
 * assembling. A paused call returns none, so the client is held back by HTTP/2 flow control
 * and memory stays bounded: per stream by its window, per connection by the budget.
 *
 * Output: handlers queue messages on the call; a deferred nghttp2 data provider copies them
 * into DATA frames and, when the call is finished, sends the trailers. Nothing is written
 * from deep inside a callback: a connection with work is marked dirty and a uv_prepare
 * handle (which runs before the loop blocks) flushes it, or the read/write callback that
 * caused the work flushes at its end. Socket writes stop at a high-water mark, so a client
 * that does not read fills its call's queue, and grpc_call_send() then says AA_EAGAIN. */
#include "rpc/grpc.h"

#include <errno.h>
#include <netdb.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/map.h"
#include "base/mem.h"
#include "rpc/grpc_wire.h"

/* Bytes handed to the socket and not yet written: above this nghttp2 is not asked for more
 * output, so DATA waits in the calls' queues (backpressure to grpc_call_send). */
#define WRITE_HIGH_WATER (512u * 1024)
/* One socket write gathers at most about this many bytes of frames. */
#define WRITE_CHUNK (64u * 1024)
/* Read buffer shared by all connections of a server (reads are processed synchronously). */
#define READ_BUF (64u * 1024)
/* How long a connection that sent GOAWAY may take to flush it before the socket closes. */
#define CLOSE_GRACE_MS 1000
/* Longest :path looked up; longer ones are unknown methods. */
#define PATH_MAX_BYTES 1024
/* Longest grpc-message sent (before percent-encoding), well inside clients' 8 KiB limit. */
#define STATUS_MESSAGE_MAX 1024
#define LISTEN_BACKLOG 128
/* Rounds of pump/send/on_writable per flush before the rest waits for the next one. */
#define FLUSH_ROUNDS 8

struct grpc_method {
	char *path;
	enum grpc_method_kind kind;
	struct grpc_handler h;
	void *user;
	uint64_t finished[GRPC_STATUS_UNAUTHENTICATED + 1]; /* calls by final status */
};

union io_handle {
	uv_handle_t handle;
	uv_stream_t stream;
	uv_tcp_t tcp;
	uv_pipe_t pipe;
};

struct listener {
	struct grpc_server *server;
	struct listener *next;
	union io_handle io;
	char *unix_path; /* the public socket path, unlinked on close; NULL for TCP */
	dev_t dev;
	ino_t ino;
};

/* One queued response message: prefix and payload in one block. */
struct out_msg {
	struct out_msg *next;
	size_t len;
	size_t off;
	uint8_t bytes[];
};

/* HEADERS: request headers arriving; REJECTED: the server answered an error before any
 * handler saw the call; ACTIVE: the handler holds it; DONE: the handler's hold ended
 * (finish or on_cancel) and the stream is winding down. */
enum call_state { CALL_HEADERS, CALL_REJECTED, CALL_ACTIVE, CALL_DONE };

struct grpc_call {
	struct grpc_conn *conn;
	struct grpc_call *prev, *next; /* conn->calls */
	struct grpc_call *wait_next;   /* conn's receive-budget queue */
	int32_t stream_id;
	enum call_state state;
	const struct grpc_method *method;
	void *data;

	/* Request headers as they arrive. */
	char *path;
	size_t header_bytes;
	bool post, te_trailers, content_type_ok, timeout_bad, has_timeout, encoding_other;
	uint64_t timeout_ms;

	/* Receiving. */
	struct grpc_msg_reader in;
	size_t released_in_buf; /* leading buffered bytes whose stream window went back */
	size_t reserved;        /* receive budget held for the message being assembled */
	size_t wait_need;       /* what the call waits for in the budget queue */
	unsigned messages;
	bool remote_closed, paused, pumping, repump, pump_pending, half_close_delivered;
	bool waiting_budget;
	bool stop_recv_pending; /* call_stop_recv waits for the pump (a message is lent out) */

	/* Sending. */
	struct out_msg *out_head, *out_tail;
	size_t out_bytes;
	bool response_started, deferred, trailers_pending, want_writable, writable_pending;
	int status;
	char *status_msg;

	uv_timer_t *deadline;
	uint64_t deadline_at; /* uv_now() ms; UINT64_MAX without a deadline */
	int cancel_code;      /* for the stats: the status a cancelled call counts as; 0 none */
};

struct grpc_conn {
	struct grpc_server *server;
	struct grpc_conn *prev, *next; /* server->conns */
	struct grpc_conn *dirty_next;
	bool dirty;
	nghttp2_session *session;
	/* Socket connections; memory connections have neither and use mem_out instead. */
	bool has_io;
	union io_handle io;
	uv_timer_t timer; /* keepalive and idle checks, then the GOAWAY grace period */
	int pending_closes;
	void (*mem_out)(void *arg, const uint8_t *p, size_t n);
	void *mem_arg;

	struct grpc_call *calls;
	size_t ncalls;
	struct grpc_call *wait_head, *wait_tail;
	size_t budget_used;

	struct aa_buf wbuf;
	size_t write_pending;
	bool flushing;
	bool goaway;   /* GOAWAY submitted: read nothing more, close once it is written */
	bool draining; /* idle GOAWAY submitted: close when the client does, or on the timer */
	bool lingering; /* GOAWAY written and FIN sent: waiting for the client's EOF */
	uv_shutdown_t shutdown_req;
	bool closed; /* torn down: no session, no calls */
	bool fatal;  /* nghttp2 failed while sending: tear down after this flush */
	uint64_t last_read, idle_since, ping_sent;
	bool ping_outstanding;
};

struct write_req {
	uv_write_t req;
	struct grpc_conn *conn;
	uint8_t *p;
	size_t n;
};

struct grpc_server {
	uv_loop_t *loop;
	struct grpc_server_options o;
	struct aa_map methods;
	struct listener *listeners;
	struct grpc_conn *conns;
	size_t nconns; /* live (not torn down) connections */
	size_t ncalls;
	struct grpc_conn *dirty;
	uv_prepare_t prepare;
	nghttp2_session_callbacks *cbs;
	nghttp2_option *h2opt;
	bool closing;
	int pending_closes;
	uint64_t unknown_finished[GRPC_STATUS_UNAUTHENTICATED + 1]; /* unregistered paths */
	void (*on_closed)(void *arg);
	void *on_closed_arg;
	uint8_t readbuf[READ_BUF];
};

static void conn_flush(struct grpc_conn *c);
static void conn_teardown(struct grpc_conn *c, enum grpc_cancel_reason why);
static void conn_mark_dirty(struct grpc_conn *c);
static void conn_timer_cb(uv_timer_t *t);
static void call_pump(struct grpc_call *call);
static void server_maybe_free(struct grpc_server *s);

static const char *const status_names[] = {
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
	"UNAUTHENTICATED",
};

const char *grpc_status_name(int code)
{
	if (code < 0 || code > GRPC_STATUS_UNAUTHENTICATED)
		return "UNKNOWN";
	return status_names[code];
}

void grpc_server_options_default(struct grpc_server_options *o)
{
	memset(o, 0, sizeof *o);
	o->max_connections = 64;
	o->max_concurrent_streams = 100;
	o->max_recv_message = 16u << 20;
	o->max_send_message = 16u << 20;
	o->send_queue_limit = 1u << 20;
	o->stream_window = 256u * 1024;
	o->connection_window = 16u << 20;
	o->recv_budget = 0; /* computed from max_recv_message */
	o->max_header_list = 16u * 1024;
	o->keepalive_ms = 60000;
	o->keepalive_timeout_ms = 20000;
	o->idle_ms = 0;
}

/* --- small helpers ----------------------------------------------------------------------- */

static uint64_t server_now(const struct grpc_server *s)
{
	return uv_now(s->loop);
}

static bool single_request(const struct grpc_call *call)
{
	return call->method->kind == GRPC_UNARY || call->method->kind == GRPC_SERVER_STREAM;
}

static nghttp2_nv make_nv(const char *name, const char *value, size_t valuelen)
{
	nghttp2_nv nv = { (uint8_t *)name, (uint8_t *)value, strlen(name), valuelen,
			  NGHTTP2_NV_FLAG_NONE };
	return nv;
}

static nghttp2_nv nv_str(const char *name, const char *value)
{
	return make_nv(name, value, strlen(value));
}

/* --- receive budget ---------------------------------------------------------------------- */

static void budget_grant_waiters(struct grpc_conn *c)
{
	size_t cap = c->server->o.recv_budget;
	while (c->wait_head && c->budget_used + c->wait_head->wait_need <= cap) {
		struct grpc_call *w = c->wait_head;
		c->wait_head = w->wait_next;
		if (!c->wait_head)
			c->wait_tail = NULL;
		w->wait_next = NULL;
		w->waiting_budget = false;
		w->reserved = w->wait_need;
		c->budget_used += w->reserved;
		w->pump_pending = true;
		conn_mark_dirty(c);
	}
}

/* Asks for room to assemble a message of `need` bytes. First come, first served, so a large
 * message is not starved by a stream of small ones. */
static void budget_request(struct grpc_call *call, size_t need)
{
	struct grpc_conn *c = call->conn;
	if (!c->wait_head && c->budget_used + need <= c->server->o.recv_budget) {
		call->reserved = need;
		c->budget_used += need;
		return;
	}
	call->waiting_budget = true;
	call->wait_need = need;
	call->wait_next = NULL;
	if (c->wait_tail)
		c->wait_tail->wait_next = call;
	else
		c->wait_head = call;
	c->wait_tail = call;
}

static void budget_cancel(struct grpc_call *call)
{
	struct grpc_conn *c = call->conn;
	if (call->waiting_budget) {
		struct grpc_call **pp = &c->wait_head, *prev = NULL;
		while (*pp && *pp != call) {
			prev = *pp;
			pp = &(*pp)->wait_next;
		}
		if (*pp) {
			*pp = call->wait_next;
			if (c->wait_tail == call)
				c->wait_tail = prev;
		}
		call->waiting_budget = false;
		call->wait_next = NULL;
	}
	if (call->reserved) {
		c->budget_used -= call->reserved;
		call->reserved = 0;
	}
	/* Freed room, or a large head of the queue gone: the next waiters may fit now. */
	budget_grant_waiters(c);
}

/* --- sending ----------------------------------------------------------------------------- */

static void out_free_all(struct grpc_call *call)
{
	struct out_msg *m = call->out_head;
	while (m) {
		struct out_msg *next = m->next;
		free(m);
		m = next;
	}
	call->out_head = call->out_tail = NULL;
	call->out_bytes = 0;
}

static void call_build_trailers(struct grpc_call *call, nghttp2_nv *nv, size_t *n,
				char *code, size_t codelen, struct aa_buf *msg)
{
	snprintf(code, codelen, "%d", call->status);
	nv[(*n)++] = nv_str("grpc-status", code);
	if (call->status_msg && call->status_msg[0]) {
		size_t len = strlen(call->status_msg);
		grpc_percent_encode(msg, call->status_msg, len > STATUS_MESSAGE_MAX ? STATUS_MESSAGE_MAX : len);
		nv[(*n)++] = make_nv("grpc-message", (const char *)msg->p, msg->n);
	}
}

/* nghttp2 data provider: copies queued messages into DATA frames; defers while the queue is
 * empty; after the last byte of a finished call, ends the data without END_STREAM and
 * submits the trailers (allowed from inside this callback, see nghttp2.h). The call is found
 * through the stream, not the source pointer, so a call dropped at shutdown is never read. */
static ssize_t call_data_read(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
			      size_t length, uint32_t *data_flags, nghttp2_data_source *source,
			      void *user)
{
	struct grpc_call *call = nghttp2_session_get_stream_user_data(session, stream_id);
	if (!call)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	size_t done = 0;
	while (done < length && call->out_head) {
		struct out_msg *m = call->out_head;
		size_t k = m->len - m->off;
		if (k > length - done)
			k = length - done;
		memcpy(buf + done, m->bytes + m->off, k);
		m->off += k;
		done += k;
		if (m->off == m->len) {
			call->out_head = m->next;
			if (!call->out_head)
				call->out_tail = NULL;
			free(m);
		}
	}
	call->out_bytes -= done;
	if (call->want_writable && call->out_bytes < call->conn->server->o.send_queue_limit) {
		call->want_writable = false;
		call->writable_pending = true;
		conn_mark_dirty(call->conn);
	}
	if (call->out_head)
		return (ssize_t)done;
	if (!call->trailers_pending) {
		if (done > 0)
			return (ssize_t)done;
		call->deferred = true;
		return NGHTTP2_ERR_DEFERRED;
	}
	*data_flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
	call->trailers_pending = false;
	nghttp2_nv nv[2];
	size_t n = 0;
	char code[16];
	struct aa_buf msg;
	aa_buf_init(&msg);
	call_build_trailers(call, nv, &n, code, sizeof code, &msg);
	int rv = nghttp2_submit_trailer(session, stream_id, nv, n);
	aa_buf_free(&msg);
	if (rv != 0)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	return (ssize_t)done;
}

static int call_start_response(struct grpc_call *call)
{
	nghttp2_nv nv[] = {
		nv_str(":status", "200"),
		nv_str("content-type", "application/grpc"),
		nv_str("grpc-accept-encoding", "identity"),
	};
	nghttp2_data_provider prd;
	prd.source.ptr = call;
	prd.read_callback = call_data_read;
	call->response_started = true;
	int rv = nghttp2_submit_response(call->conn->session, call->stream_id, nv, 3, &prd);
	return rv == 0 ? 0 : AA_EIO;
}

/* A response that is only a HEADERS frame with END_STREAM: Trailers-Only for gRPC errors
 * (http_status 200), or an HTTP error for requests that are not gRPC at all. */
static void call_respond_headers_only(struct grpc_call *call, const char *http_status)
{
	nghttp2_nv nv[5];
	size_t n = 0;
	nv[n++] = nv_str(":status", http_status);
	nv[n++] = nv_str("content-type", "application/grpc");
	nv[n++] = nv_str("grpc-accept-encoding", "identity");
	char code[16];
	struct aa_buf msg;
	aa_buf_init(&msg);
	call_build_trailers(call, nv, &n, code, sizeof code, &msg);
	call->response_started = true;
	if (nghttp2_submit_response(call->conn->session, call->stream_id, nv, n, NULL) != 0)
		nghttp2_submit_rst_stream(call->conn->session, NGHTTP2_FLAG_NONE, call->stream_id,
					  NGHTTP2_INTERNAL_ERROR);
	aa_buf_free(&msg);
}

/* Queues the end of the response: trailers after any queued messages. */
static void call_end(struct grpc_call *call, int status, const char *msg, const char *http_status)
{
	struct grpc_conn *c = call->conn;
	if (c->closed || call->trailers_pending || call->status >= 0)
		return;
	call->status = status;
	call->status_msg = aa_strdup(msg ? msg : "");
	if (!call->response_started) {
		call_respond_headers_only(call, http_status);
	} else {
		call->trailers_pending = true;
		if (call->deferred) {
			call->deferred = false;
			nghttp2_session_resume_data(c->session, call->stream_id);
		}
	}
	conn_mark_dirty(c);
}

/* --- receiving ----------------------------------------------------------------------------- */

static void call_consume_stream(struct grpc_call *call, size_t n)
{
	if (n > 0 && !call->conn->closed)
		nghttp2_session_consume_stream(call->conn->session, call->stream_id, n);
}

/* Drops buffered input and gives its window back: the call no longer reads. While the pump
 * runs, a handler may still be reading a message from the buffer, so the pump does it. */
static void call_stop_recv(struct grpc_call *call)
{
	if (call->pumping) {
		call->stop_recv_pending = true;
		return;
	}
	call->stop_recv_pending = false;
	size_t buffered = grpc_msg_reader_buffered(&call->in);
	call_consume_stream(call, buffered - call->released_in_buf);
	call->released_in_buf = 0;
	grpc_msg_reader_free(&call->in);
	budget_cancel(call);
}

/* Returns stream window for what the call may hold: the message it has a reservation for. */
static void call_release_window(struct grpc_call *call)
{
	if (call->state != CALL_ACTIVE || call->paused || !call->reserved)
		return;
	size_t buffered = grpc_msg_reader_buffered(&call->in);
	size_t target = buffered < call->reserved ? buffered : call->reserved;
	if (target > call->released_in_buf) {
		call_consume_stream(call, target - call->released_in_buf);
		call->released_in_buf = target;
	}
}

/* Hands the call back from the handler: on_cancel, once. */
static void call_cancel_handler(struct grpc_call *call, enum grpc_cancel_reason why)
{
	if (call->state != CALL_ACTIVE)
		return;
	call->state = CALL_DONE;
	call->cancel_code = why == GRPC_CANCEL_DEADLINE ? GRPC_STATUS_DEADLINE_EXCEEDED
							: GRPC_STATUS_CANCELLED;
	call_stop_recv(call);
	if (call->method->h.on_cancel)
		call->method->h.on_cancel(call, why, call->method->user);
}

/* The client broke the call: answer with the status and take the call from the handler. */
static void call_fail(struct grpc_call *call, int status, const char *msg)
{
	aa_log(AA_LOG_DEBUG, "grpc call failed", "method", call->method->path, "status",
	       grpc_status_name(status), "reason", msg, NULL);
	call_end(call, status, msg, "200");
	call_cancel_handler(call, GRPC_CANCEL_PROTOCOL);
}

/* Delivers what can be delivered: complete messages, then half-close. */
static void call_pump_once(struct grpc_call *call)
{
	const struct grpc_method *m = call->method;
	while (call->state == CALL_ACTIVE && !call->paused) {
		struct grpc_msg msg;
		int rc = grpc_msg_reader_peek(&call->in, &msg);
		if (rc == AA_ETOOBIG) {
			char text[128];
			snprintf(text, sizeof text, "received message larger than max (%zu vs. %zu)",
				 msg.len, call->conn->server->o.max_recv_message);
			call_fail(call, GRPC_STATUS_RESOURCE_EXHAUSTED, text);
			return;
		}
		if (rc == AA_EPROTO) {
			call_fail(call, GRPC_STATUS_INTERNAL, "invalid message compression flag");
			return;
		}
		/* PROTOCOL-HTTP2.md "Compressed-Flag"; compression.md: a message compressed with
		 * an encoding the server lacks is UNIMPLEMENTED, a compressed message without any
		 * grpc-encoding is INTERNAL. We support only identity. */
		if (msg.need > 0 && msg.compressed) {
			if (call->encoding_other)
				call_fail(call, GRPC_STATUS_UNIMPLEMENTED,
					  "compressed messages are not supported (grpc-encoding)");
			else
				call_fail(call, GRPC_STATUS_INTERNAL,
					  "compressed flag set without grpc-encoding");
			return;
		}
		if (rc == AA_EAGAIN) {
			if (msg.need > 0 && !call->reserved && !call->waiting_budget)
				budget_request(call, msg.need);
			break;
		}
		if (call->messages >= 1 && single_request(call)) {
			call_fail(call, GRPC_STATUS_INTERNAL,
				  "more than one request message for a unary or server-streaming call");
			return;
		}
		call->messages++;
		if (m->h.on_message)
			m->h.on_message(call, msg.data, msg.len, m->user);
		if (call->state != CALL_ACTIVE)
			return; /* finished or cancelled inside: call_pump drops the input */
		size_t need = msg.need;
		grpc_msg_reader_pop(&call->in);
		size_t rel = call->released_in_buf < need ? call->released_in_buf : need;
		call_consume_stream(call, need - rel);
		call->released_in_buf -= rel;
		/* The reservation was for this message (or the wait for one, if it completed
		 * within the stream window anyway). */
		budget_cancel(call);
	}
	if (call->state != CALL_ACTIVE || call->paused || !call->remote_closed ||
	    call->half_close_delivered)
		return;
	if (grpc_msg_reader_buffered(&call->in) > 0) {
		call_fail(call, GRPC_STATUS_INTERNAL, "truncated message at end of stream");
		return;
	}
	if (single_request(call) && call->messages == 0) {
		call_fail(call, GRPC_STATUS_INTERNAL, "missing request message");
		return;
	}
	call->half_close_delivered = true;
	if (m->h.on_half_close)
		m->h.on_half_close(call, m->user);
}

static void call_pump(struct grpc_call *call)
{
	if (call->pumping) {
		call->repump = true;
		return;
	}
	call->pumping = true;
	do {
		call->repump = false;
		call_pump_once(call);
	} while (call->repump && call->state == CALL_ACTIVE);
	call->pumping = false;
	if (call->stop_recv_pending)
		call_stop_recv(call);
	call_release_window(call);
}

/* --- call lifecycle ------------------------------------------------------------------------ */

static void deadline_closed(uv_handle_t *h)
{
	free(h);
}

/* Counts a call the server lets go of (see grpc_server_method_stats). A stream reset before
 * its request headers were complete never became a call and is not counted. */
static void call_count(struct grpc_call *call)
{
	int code;
	if (call->status >= 0 && call->status <= GRPC_STATUS_UNAUTHENTICATED)
		code = call->status;
	else if (call->cancel_code)
		code = call->cancel_code;
	else if (call->state == CALL_HEADERS)
		return;
	else
		code = GRPC_STATUS_CANCELLED;
	struct grpc_server *s = call->conn->server;
	struct grpc_method *m = (struct grpc_method *)call->method;
	if (!m && call->path)
		m = map_get(&s->methods, call->path, strlen(call->path));
	if (m)
		m->finished[code]++;
	else
		s->unknown_finished[code]++;
}

static void call_free(struct grpc_call *call)
{
	struct grpc_conn *c = call->conn;
	call_count(call);
	budget_cancel(call);
	if (call->prev)
		call->prev->next = call->next;
	else
		c->calls = call->next;
	if (call->next)
		call->next->prev = call->prev;
	c->ncalls--;
	c->server->ncalls--;
	if (c->ncalls == 0)
		c->idle_since = server_now(c->server);
	if (call->deadline) {
		call->deadline->data = NULL;
		uv_close((uv_handle_t *)call->deadline, deadline_closed);
	}
	grpc_msg_reader_free(&call->in);
	out_free_all(call);
	free(call->path);
	free(call->status_msg);
	free(call);
}

/* Drops a call whose stream lives on in nghttp2 (shutdown): the handler is told, the stream
 * forgets the call. */
static void call_drop(struct grpc_call *call, enum grpc_cancel_reason why)
{
	struct grpc_conn *c = call->conn;
	call_cancel_handler(call, why);
	if (!c->closed)
		nghttp2_session_set_stream_user_data(c->session, call->stream_id, NULL);
	call_free(call);
}

static void deadline_fired(uv_timer_t *t)
{
	struct grpc_call *call = t->data;
	if (!call)
		return;
	/* PROTOCOL-HTTP2.md "Client Cancellation": when the deadline passes the server cancels
	 * the RPC locally and sends RST_STREAM with CANCEL. */
	call_cancel_handler(call, GRPC_CANCEL_DEADLINE);
	if (!call->conn->closed) {
		nghttp2_submit_rst_stream(call->conn->session, NGHTTP2_FLAG_NONE, call->stream_id,
					  NGHTTP2_CANCEL);
		conn_flush(call->conn);
	}
}

static void call_reject(struct grpc_call *call, const char *http_status, int status, const char *msg)
{
	aa_log(AA_LOG_DEBUG, "grpc request rejected", "path", call->path ? call->path : "",
	       "status", grpc_status_name(status), "reason", msg, NULL);
	call->state = CALL_REJECTED;
	call_end(call, status, msg, http_status);
}

/* The request headers are complete: check them (PROTOCOL-HTTP2.md "Requests") and hand the
 * call to its method's handler. */
static void call_headers_done(struct grpc_call *call)
{
	struct grpc_server *s = call->conn->server;
	if (call->state != CALL_HEADERS)
		return;
	if (!call->post) {
		call_reject(call, "405", GRPC_STATUS_INTERNAL, "gRPC requires method POST");
		return;
	}
	/* "If Content-Type does not begin with application/grpc, gRPC servers SHOULD respond
	 * with HTTP status of 415 (Unsupported Media Type)." */
	if (!call->content_type_ok) {
		call_reject(call, "415", GRPC_STATUS_INTERNAL, "invalid gRPC request content-type");
		return;
	}
	if (!call->te_trailers) {
		call_reject(call, "400", GRPC_STATUS_INTERNAL, "gRPC requires te: trailers");
		return;
	}
	if (call->timeout_bad) {
		call_reject(call, "200", GRPC_STATUS_INTERNAL, "malformed grpc-timeout");
		return;
	}
	const struct grpc_method *m = call->path ? map_get(&s->methods, call->path, strlen(call->path)) : NULL;
	if (!m || s->closing) {
		char text[PATH_MAX_BYTES + 32];
		snprintf(text, sizeof text, "unknown method %s", call->path ? call->path : "");
		call_reject(call, "200", s->closing ? GRPC_STATUS_UNAVAILABLE : GRPC_STATUS_UNIMPLEMENTED,
			    s->closing ? "server shutting down" : text);
		return;
	}
	call->method = m;
	call->state = CALL_ACTIVE;
	grpc_msg_reader_init(&call->in, s->o.max_recv_message);
	if (call->has_timeout) {
		/* The client's clock started before it sent the request, so its own deadline
		 * should fire first and it reports DEADLINE_EXCEEDED; our RST_STREAM(CANCEL)
		 * arriving first would make it report CANCELLED. So: measure from now, not from
		 * the loop's cached time (stale by the time headers are parsed), plus 1 ms for
		 * uv_now's millisecond truncation. */
		uv_update_time(s->loop);
		call->deadline_at = server_now(s) + call->timeout_ms; /* what handlers are told */
		call->deadline = aa_malloc(sizeof *call->deadline);
		uv_timer_init(s->loop, call->deadline);
		call->deadline->data = call;
		uv_timer_start(call->deadline, deadline_fired, call->timeout_ms + 1, 0);
	}
	if (m->h.on_start)
		m->h.on_start(call, m->user);
}

static void call_remote_end(struct grpc_call *call)
{
	call->remote_closed = true;
	if (call->state == CALL_ACTIVE)
		call_pump(call);
}

/* --- nghttp2 callbacks ---------------------------------------------------------------------- */

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user)
{
	struct grpc_conn *c = user;
	if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	struct grpc_call *call = aa_calloc(1, sizeof *call);
	call->conn = c;
	call->stream_id = frame->hd.stream_id;
	call->state = CALL_HEADERS;
	call->status = -1;
	call->deadline_at = UINT64_MAX;
	call->next = c->calls;
	if (c->calls)
		c->calls->prev = call;
	c->calls = call;
	c->ncalls++;
	c->server->ncalls++;
	nghttp2_session_set_stream_user_data(session, call->stream_id, call);
	return 0;
}

static bool header_is(const uint8_t *name, size_t namelen, const char *want)
{
	size_t n = strlen(want);
	return namelen == n && memcmp(name, want, n) == 0;
}

static bool value_is(const uint8_t *v, size_t n, const char *want)
{
	return header_is(v, n, want);
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
		     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *user)
{
	struct grpc_conn *c = user;
	if (frame->hd.type != NGHTTP2_HEADERS)
		return 0;
	struct grpc_call *call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
	if (!call)
		return 0;
	/* Header list size as SETTINGS_MAX_HEADER_LIST_SIZE counts it (RFC 9113 6.5.2). Over
	 * the limit the stream is reset (nghttp2 sends RST_STREAM INTERNAL_ERROR). */
	call->header_bytes += namelen + valuelen + 32;
	if (call->header_bytes > c->server->o.max_header_list)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	if (frame->headers.cat != NGHTTP2_HCAT_REQUEST || call->state != CALL_HEADERS)
		return 0; /* request trailers carry nothing gRPC uses */
	if (header_is(name, namelen, ":method")) {
		call->post = value_is(value, valuelen, "POST");
	} else if (header_is(name, namelen, ":path")) {
		free(call->path);
		call->path = valuelen <= PATH_MAX_BYTES ? aa_strndup((const char *)value, valuelen) : NULL;
	} else if (header_is(name, namelen, "content-type")) {
		call->content_type_ok = grpc_content_type_ok((const char *)value, valuelen);
	} else if (header_is(name, namelen, "te")) {
		call->te_trailers = value_is(value, valuelen, "trailers");
	} else if (header_is(name, namelen, "grpc-timeout")) {
		uint64_t ms;
		if (grpc_timeout_parse((const char *)value, valuelen, &ms) == 0) {
			call->has_timeout = true;
			call->timeout_ms = ms;
		} else {
			call->timeout_bad = true;
		}
	} else if (header_is(name, namelen, "grpc-encoding")) {
		call->encoding_other = !value_is(value, valuelen, "identity");
	}
	return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user)
{
	struct grpc_conn *c = user;
	struct grpc_call *call = NULL;
	switch (frame->hd.type) {
	case NGHTTP2_HEADERS:
		call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
		if (!call)
			break;
		if (frame->headers.cat == NGHTTP2_HCAT_REQUEST)
			call_headers_done(call);
		if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
			call_remote_end(call);
		break;
	case NGHTTP2_DATA:
		call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
		if (call && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
			call_remote_end(call);
		break;
	case NGHTTP2_PING:
		if (frame->hd.flags & NGHTTP2_FLAG_ACK)
			c->ping_outstanding = false;
		break;
	default:
		break;
	}
	return 0;
}

static int on_data_chunk_recv(nghttp2_session *session, uint8_t flags, int32_t stream_id,
			      const uint8_t *data, size_t len, void *user)
{
	/* Connection-level window goes back at once; stream-level window is what bounds
	 * memory per call (see the file comment). */
	nghttp2_session_consume_connection(session, len);
	struct grpc_call *call = nghttp2_session_get_stream_user_data(session, stream_id);
	if (!call || call->state != CALL_ACTIVE) {
		nghttp2_session_consume_stream(session, stream_id, len);
		return 0;
	}
	grpc_msg_reader_push(&call->in, data, len);
	call_pump(call);
	return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code, void *user)
{
	struct grpc_call *call = nghttp2_session_get_stream_user_data(session, stream_id);
	if (!call)
		return 0;
	/* A stream that closes while the handler still holds the call was reset: by the client,
	 * or by nghttp2 for a stream-level protocol error. */
	call_cancel_handler(call, GRPC_CANCEL_CLIENT);
	nghttp2_session_set_stream_user_data(session, stream_id, NULL);
	call_free(call);
	return 0;
}

static int on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *user)
{
	if (frame->hd.type != NGHTTP2_HEADERS || !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
		return 0;
	struct grpc_call *call = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
	/* PROTOCOL-HTTP2.md "Early Server Closure": trailers sent before the client's
	 * END_STREAM are followed by RST_STREAM NO_ERROR so the stream can be deallocated. */
	if (call && !call->remote_closed)
		nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
	return 0;
}

/* --- connections ---------------------------------------------------------------------------- */

static void conn_mark_dirty(struct grpc_conn *c)
{
	if (c->dirty || c->closed)
		return;
	c->dirty = true;
	c->dirty_next = c->server->dirty;
	c->server->dirty = c;
}

static void conn_unmark_dirty(struct grpc_conn *c)
{
	if (!c->dirty)
		return;
	struct grpc_conn **pp = &c->server->dirty;
	while (*pp && *pp != c)
		pp = &(*pp)->dirty_next;
	if (*pp)
		*pp = c->dirty_next;
	c->dirty = false;
	c->dirty_next = NULL;
}

static void write_done(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)req;
	struct grpc_conn *c = w->conn;
	c->write_pending -= w->n;
	free(w->p);
	free(w);
	if (c->closed)
		return;
	if (status < 0) {
		aa_log(AA_LOG_DEBUG, "grpc write failed", "error", uv_strerror(status), NULL);
		conn_teardown(c, GRPC_CANCEL_CONNECTION);
		return;
	}
	conn_flush(c);
}

static void conn_write(struct grpc_conn *c)
{
	if (c->wbuf.n == 0)
		return;
	struct write_req *w = aa_malloc(sizeof *w);
	w->conn = c;
	w->p = aa_buf_steal(&c->wbuf, &w->n);
	uv_buf_t b = uv_buf_init((char *)w->p, (unsigned)w->n);
	c->write_pending += w->n;
	int rc = uv_write(&w->req, &c->io.stream, &b, 1, write_done);
	if (rc < 0) {
		c->write_pending -= w->n;
		free(w->p);
		free(w);
		c->fatal = true;
	}
}

/* Moves nghttp2's output to the socket (or the memory sink), up to the high-water mark. */
static void conn_send(struct grpc_conn *c)
{
	while (c->write_pending + c->wbuf.n < WRITE_HIGH_WATER) {
		const uint8_t *p;
		ssize_t n = nghttp2_session_mem_send(c->session, &p);
		if (n < 0) {
			aa_log(AA_LOG_DEBUG, "grpc session send failed", "error", nghttp2_strerror((int)n), NULL);
			c->fatal = true;
			return;
		}
		if (n == 0)
			break;
		if (!c->has_io) {
			if (c->mem_out)
				c->mem_out(c->mem_arg, p, (size_t)n);
			continue;
		}
		aa_buf_append(&c->wbuf, p, (size_t)n);
		if (c->wbuf.n >= WRITE_CHUNK)
			conn_write(c);
	}
	if (c->has_io)
		conn_write(c);
}

static void conn_shutdown_done(uv_shutdown_t *req, int status)
{
	/* Nothing to do: the read side waits for the client's EOF or the grace timer. */
}

/* After our GOAWAY is written: send FIN and keep reading (and discarding) until the client
 * closes or the grace timer fires. Closing at once would reset a connection whose client
 * still had bytes in flight, and the reset can destroy the GOAWAY before it is read. */
static void conn_linger(struct grpc_conn *c)
{
	if (c->lingering)
		return;
	c->lingering = true;
	if (!c->goaway) {
		/* nghttp2 ended the session itself (a connection error it answered with GOAWAY). */
		c->goaway = true;
		uv_timer_stop(&c->timer);
		uv_timer_start(&c->timer, conn_timer_cb, CLOSE_GRACE_MS, 0);
	}
	if (uv_shutdown(&c->shutdown_req, &c->io.stream, conn_shutdown_done) != 0)
		conn_teardown(c, GRPC_CANCEL_CONNECTION);
}

static void conn_flush(struct grpc_conn *c)
{
	if (c->closed || c->flushing)
		return;
	c->flushing = true;
	conn_unmark_dirty(c);
	for (int round = 0; round < FLUSH_ROUNDS && !c->fatal; round++) {
		/* Deferred work first: resumed calls and budget grants (no nghttp2 I/O runs here,
		 * so no call is freed while we walk the list). */
		for (struct grpc_call *call = c->calls; call; call = call->next) {
			if (call->pump_pending) {
				call->pump_pending = false;
				if (call->state == CALL_ACTIVE)
					call_pump(call);
			}
		}
		conn_unmark_dirty(c);
		conn_send(c);
		if (c->fatal)
			break;
		bool again = false;
		for (struct grpc_call *call = c->calls; call; call = call->next) {
			if (!call->writable_pending)
				continue;
			call->writable_pending = false;
			if (call->state == CALL_ACTIVE && call->method->h.on_writable)
				call->method->h.on_writable(call, call->method->user);
			again = true;
		}
		if (!again && !c->dirty)
			break;
	}
	c->flushing = false;
	if (c->fatal) {
		conn_teardown(c, GRPC_CANCEL_CONNECTION);
		return;
	}
	if (!nghttp2_session_want_read(c->session) && !nghttp2_session_want_write(c->session) &&
	    c->write_pending == 0 && c->wbuf.n == 0 && !c->draining) {
		if (c->has_io) {
			conn_linger(c);
			return;
		}
		conn_teardown(c, GRPC_CANCEL_CONNECTION);
		return;
	}
	/* Work added during the last round waits for the loop's next prepare phase. */
	for (struct grpc_call *call = c->calls; call; call = call->next)
		if (call->pump_pending || call->writable_pending)
			conn_mark_dirty(c);
}

/* Ends the connection with GOAWAY: at once after a protocol error or at shutdown (the
 * session is terminated and the socket closes once the frame is written). */
static void conn_goaway(struct grpc_conn *c, uint32_t code, const char *why)
{
	if (c->goaway || c->closed)
		return;
	aa_log(AA_LOG_DEBUG, "grpc connection closing", "reason", why, NULL);
	c->goaway = true;
	if (nghttp2_session_terminate_session(c->session, code) != 0) {
		conn_teardown(c, GRPC_CANCEL_CONNECTION);
		return;
	}
	if (c->has_io) {
		uv_timer_stop(&c->timer);
		uv_timer_start(&c->timer, conn_timer_cb, CLOSE_GRACE_MS, 0);
	}
	conn_mark_dirty(c);
}

/* Idle close: GOAWAY NO_ERROR, then keep reading until the client closes or the grace period
 * ends. Closing right after the GOAWAY would race a request the client is already sending
 * (it would see a broken pipe instead of the GOAWAY that tells it to retry elsewhere). */
static void conn_drain(struct grpc_conn *c)
{
	if (c->goaway || c->draining || c->closed)
		return;
	aa_log(AA_LOG_DEBUG, "grpc connection closing", "reason", "idle", NULL);
	c->draining = true;
	nghttp2_submit_goaway(c->session, NGHTTP2_FLAG_NONE,
			      nghttp2_session_get_last_proc_stream_id(c->session), NGHTTP2_NO_ERROR,
			      NULL, 0);
	if (c->has_io) {
		uv_timer_stop(&c->timer);
		uv_timer_start(&c->timer, conn_timer_cb, CLOSE_GRACE_MS, 0);
	}
	conn_mark_dirty(c);
}

static void conn_free(struct grpc_conn *c)
{
	struct grpc_server *s = c->server;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	aa_buf_free(&c->wbuf);
	free(c);
	server_maybe_free(s);
}

static void conn_handle_closed(uv_handle_t *h)
{
	struct grpc_conn *c = h->data;
	if (--c->pending_closes == 0)
		conn_free(c);
}

/* Ends the connection at once: every call is cancelled and freed, the session deleted, the
 * handles closed (memory connections wait for grpc_conn_mem_free). */
static void conn_teardown(struct grpc_conn *c, enum grpc_cancel_reason why)
{
	if (c->closed)
		return;
	/* Set first: handlers told below may call grpc_call_* on other calls of this
	 * connection, which then touch no session. */
	c->closed = true;
	c->server->nconns--;
	conn_unmark_dirty(c);
	while (c->calls) {
		struct grpc_call *call = c->calls;
		call_cancel_handler(call, why);
		call_free(call);
	}
	nghttp2_session_del(c->session);
	c->session = NULL;
	if (!c->has_io)
		return;
	uv_read_stop(&c->io.stream);
	c->pending_closes = 2;
	uv_close(&c->io.handle, conn_handle_closed);
	uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
}

static void conn_timer_cb(uv_timer_t *t)
{
	struct grpc_conn *c = t->data;
	const struct grpc_server_options *o = &c->server->o;
	if (c->closed)
		return;
	if (c->goaway || c->draining) {
		conn_teardown(c, GRPC_CANCEL_CONNECTION); /* the GOAWAY grace period is over */
		return;
	}
	uint64_t now = server_now(c->server), next = UINT64_MAX;
	if (o->keepalive_ms) {
		if (c->ping_outstanding) {
			if (now >= c->ping_sent + o->keepalive_timeout_ms) {
				aa_log(AA_LOG_INFO, "grpc client did not answer keepalive ping", NULL);
				conn_teardown(c, GRPC_CANCEL_CONNECTION);
				return;
			}
			next = c->ping_sent + o->keepalive_timeout_ms;
		} else if (now >= c->last_read + o->keepalive_ms) {
			nghttp2_submit_ping(c->session, NGHTTP2_FLAG_NONE, NULL);
			c->ping_outstanding = true;
			c->ping_sent = now;
			next = now + o->keepalive_timeout_ms;
			conn_mark_dirty(c);
		} else {
			next = c->last_read + o->keepalive_ms;
		}
	}
	if (o->idle_ms) {
		uint64_t due = c->ncalls == 0 ? c->idle_since + o->idle_ms : now + o->idle_ms;
		if (c->ncalls == 0 && now >= due) {
			conn_drain(c);
			conn_flush(c);
			return;
		}
		if (due < next)
			next = due;
	}
	if (next != UINT64_MAX)
		uv_timer_start(t, conn_timer_cb, next > now ? next - now : 1, 0);
	conn_flush(c);
}

static void conn_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct grpc_conn *c = h->data;
	*buf = uv_buf_init((char *)c->server->readbuf, READ_BUF);
}

/* Feeds client bytes to nghttp2; a malformed connection gets GOAWAY (nghttp2 usually queues
 * it itself; terminate_session covers the rest) and is closed once that is written. */
static void conn_recv(struct grpc_conn *c, const uint8_t *p, size_t n)
{
	if (c->closed || c->goaway)
		return;
	c->last_read = server_now(c->server);
	c->ping_outstanding = false; /* any input shows the client is alive */
	ssize_t rv = nghttp2_session_mem_recv(c->session, p, n);
	if (rv < 0) {
		aa_log(AA_LOG_DEBUG, "grpc connection error", "error", nghttp2_strerror((int)rv), NULL);
		if (rv == NGHTTP2_ERR_FLOODED || rv == NGHTTP2_ERR_NOMEM) {
			conn_teardown(c, GRPC_CANCEL_CONNECTION);
			return;
		}
		conn_goaway(c, NGHTTP2_PROTOCOL_ERROR, "protocol error");
	}
}

static void conn_read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct grpc_conn *c = stream->data;
	if (c->closed)
		return;
	if (nread < 0) {
		conn_teardown(c, GRPC_CANCEL_CONNECTION);
		return;
	}
	if (nread == 0)
		return;
	conn_recv(c, (const uint8_t *)buf->base, (size_t)nread);
	conn_flush(c);
}

static int conn_start_session(struct grpc_conn *c)
{
	struct grpc_server *s = c->server;
	if (nghttp2_session_server_new2(&c->session, s->cbs, c, s->h2opt) != 0)
		return AA_EIO;
	nghttp2_settings_entry iv[] = {
		{ NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, s->o.max_concurrent_streams },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, s->o.stream_window },
		{ NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, s->o.max_header_list },
	};
	if (nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, iv, 3) != 0 ||
	    nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0,
						  (int32_t)s->o.connection_window) != 0) {
		nghttp2_session_del(c->session);
		c->session = NULL;
		return AA_EIO;
	}
	c->last_read = c->idle_since = server_now(s);
	return 0;
}

static struct grpc_conn *conn_new(struct grpc_server *s)
{
	struct grpc_conn *c = aa_calloc(1, sizeof *c);
	c->server = s;
	aa_buf_init(&c->wbuf);
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	return c;
}

/* Close callback for a handle allocated alone whose data points at the allocation. */
static void discard_closed(uv_handle_t *h)
{
	free(h->data);
}

static void listener_on_connection(uv_stream_t *ls, int status)
{
	struct listener *l = ls->data;
	struct grpc_server *s = l->server;
	if (status < 0) {
		aa_log(AA_LOG_WARN, "grpc accept failed", "error", uv_strerror(status), NULL);
		return;
	}
	if (s->closing || s->nconns >= s->o.max_connections) {
		/* Accept and close at once: leaving it in the backlog would stall the listener. */
		union io_handle *tmp = aa_malloc(sizeof *tmp);
		if (l->unix_path)
			uv_pipe_init(s->loop, &tmp->pipe, 0);
		else
			uv_tcp_init(s->loop, &tmp->tcp);
		tmp->handle.data = tmp;
		uv_accept(ls, &tmp->stream);
		uv_close(&tmp->handle, discard_closed);
		if (!s->closing)
			aa_log(AA_LOG_WARN, "grpc connection refused: connection limit reached", NULL);
		return;
	}
	struct grpc_conn *c = conn_new(s);
	c->has_io = true;
	if (l->unix_path)
		uv_pipe_init(s->loop, &c->io.pipe, 0);
	else
		uv_tcp_init(s->loop, &c->io.tcp);
	c->io.handle.data = c;
	uv_timer_init(s->loop, &c->timer);
	c->timer.data = c;
	int rc = uv_accept(ls, &c->io.stream);
	if (rc == 0 && !l->unix_path)
		uv_tcp_nodelay(&c->io.tcp, 1);
	if (rc != 0 || conn_start_session(c) != 0) {
		s->nconns--;
		c->closed = true;
		c->pending_closes = 2;
		uv_close(&c->io.handle, conn_handle_closed);
		uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
		return;
	}
	if (s->o.keepalive_ms || s->o.idle_ms) {
		uint64_t first = s->o.keepalive_ms ? s->o.keepalive_ms : s->o.idle_ms;
		if (s->o.idle_ms && s->o.idle_ms < first)
			first = s->o.idle_ms;
		uv_timer_start(&c->timer, conn_timer_cb, first, 0);
	}
	uv_read_start(&c->io.stream, conn_alloc_cb, conn_read_cb);
	conn_flush(c);
}

/* --- server ----------------------------------------------------------------------------------- */

static void server_prepare_cb(uv_prepare_t *p)
{
	struct grpc_server *s = p->data;
	/* conn_flush unlinks the connection; new dirt lands at the head and waits a turn. */
	struct grpc_conn *list = s->dirty;
	s->dirty = NULL;
	while (list) {
		struct grpc_conn *c = list;
		list = c->dirty_next;
		c->dirty = false;
		c->dirty_next = NULL;
		conn_flush(c);
	}
}

struct grpc_server *grpc_server_new(uv_loop_t *loop, const struct grpc_server_options *o)
{
	struct grpc_server *s = aa_calloc(1, sizeof *s);
	s->loop = loop;
	if (o)
		s->o = *o;
	else
		grpc_server_options_default(&s->o);
	size_t min_budget = s->o.max_recv_message + GRPC_PREFIX_BYTES;
	if (s->o.recv_budget < min_budget)
		s->o.recv_budget = s->o.recv_budget ? min_budget : 2 * min_budget;
	if (s->o.stream_window < 1024 || s->o.stream_window > NGHTTP2_MAX_WINDOW_SIZE)
		s->o.stream_window = 256u * 1024;
	if (s->o.connection_window < s->o.stream_window || s->o.connection_window > NGHTTP2_MAX_WINDOW_SIZE)
		s->o.connection_window = NGHTTP2_MAX_WINDOW_SIZE;
	if (s->o.max_header_list == 0)
		s->o.max_header_list = 16u * 1024;
	if (s->o.keepalive_ms && !s->o.keepalive_timeout_ms)
		s->o.keepalive_timeout_ms = 20000;
	map_init(&s->methods, 0);
	uv_prepare_init(loop, &s->prepare);
	s->prepare.data = s;
	uv_prepare_start(&s->prepare, server_prepare_cb);
	uv_unref((uv_handle_t *)&s->prepare);

	nghttp2_session_callbacks_new(&s->cbs);
	nghttp2_session_callbacks_set_on_begin_headers_callback(s->cbs, on_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(s->cbs, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(s->cbs, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(s->cbs, on_data_chunk_recv);
	nghttp2_session_callbacks_set_on_stream_close_callback(s->cbs, on_stream_close);
	nghttp2_session_callbacks_set_on_frame_send_callback(s->cbs, on_frame_send);
	nghttp2_option_new(&s->h2opt);
	nghttp2_option_set_no_auto_window_update(s->h2opt, 1);
	nghttp2_option_set_no_closed_streams(s->h2opt, 1);
	/* nghttp2's "rapid reset" guard (1000 resets, then 33/s) would GOAWAY a legitimate SDK:
	 * it cancels its SubscribeTaskUpdates stream after every terminal status, which a busy
	 * client does hundreds of times a second. Streams stay bounded by
	 * max_concurrent_streams, so allow a much higher reset rate. */
	nghttp2_option_set_stream_reset_rate_limit(s->h2opt, 100000, 100000);
	return s;
}

static bool method_name_ok(const char *path)
{
	/* "/" Service-Name "/" method, both non-empty, printable ASCII without spaces. */
	size_t n = strlen(path);
	if (n < 4 || n > PATH_MAX_BYTES || path[0] != '/')
		return false;
	const char *slash = strchr(path + 1, '/');
	if (!slash || slash == path + 1 || slash[1] == '\0' || strchr(slash + 1, '/'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (path[i] <= 0x20 || path[i] >= 0x7f)
			return false;
	return true;
}

int grpc_server_register(struct grpc_server *s, const char *path, enum grpc_method_kind kind,
			 const struct grpc_handler *h, void *user)
{
	if (!method_name_ok(path) || kind < GRPC_UNARY || kind > GRPC_BIDI)
		return AA_EINVAL;
	if (map_get(&s->methods, path, strlen(path)))
		return AA_EEXIST;
	struct grpc_method *m = aa_calloc(1, sizeof *m);
	m->path = aa_strdup(path);
	m->kind = kind;
	if (h)
		m->h = *h;
	m->user = user;
	map_put(&s->methods, m->path, strlen(m->path), m, NULL);
	return 0;
}

size_t grpc_server_connection_count(const struct grpc_server *s)
{
	return s->nconns;
}

size_t grpc_server_call_count(const struct grpc_server *s)
{
	return s->ncalls;
}

size_t grpc_server_method_stats(const struct grpc_server *s, struct grpc_method_stats *out,
				size_t cap)
{
	size_t n = 0;
	struct map_iter it;
	void *v;
	map_iter_init(&it, (struct aa_map *)&s->methods);
	while (map_iter_next(&it, NULL, NULL, &v)) {
		const struct grpc_method *m = v;
		if (n < cap) {
			out[n].method = m->path;
			memcpy(out[n].by_code, m->finished, sizeof out[n].by_code);
		}
		n++;
	}
	if (n < cap) {
		out[n].method = NULL;
		memcpy(out[n].by_code, s->unknown_finished, sizeof out[n].by_code);
	}
	return n + 1;
}

/* --- listening --------------------------------------------------------------------------------- */

static void format_sockaddr(const struct sockaddr *sa, char *out, size_t outlen)
{
	char host[64] = "";
	int port = 0;
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
		uv_ip6_name(a, host, sizeof host);
		port = ntohs(a->sin6_port);
		snprintf(out, outlen, "tcp://[%s]:%d", host, port);
	} else {
		const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
		uv_ip4_name(a, host, sizeof host);
		port = ntohs(a->sin_port);
		snprintf(out, outlen, "tcp://%s:%d", host, port);
	}
}

static int parse_hostport(const char *hp, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *colon;
	if (hp[0] == '[') {
		const char *end = strchr(hp, ']');
		if (!end || end[1] != ':')
			return AA_EINVAL;
		if ((size_t)(end - hp - 1) >= hostlen)
			return AA_ERANGE;
		memcpy(host, hp + 1, (size_t)(end - hp - 1));
		host[end - hp - 1] = '\0';
		colon = end + 1;
	} else {
		colon = strrchr(hp, ':');
		if (!colon)
			return AA_EINVAL;
		if ((size_t)(colon - hp) >= hostlen)
			return AA_ERANGE;
		memcpy(host, hp, (size_t)(colon - hp));
		host[colon - hp] = '\0';
		if (strchr(host, ':'))
			return AA_EINVAL; /* IPv6 addresses need brackets */
	}
	const char *p = colon + 1;
	size_t n = strlen(p);
	if (n == 0 || n > 5 || n >= portlen)
		return AA_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (p[i] < '0' || p[i] > '9')
			return AA_EINVAL;
	if (atoi(p) > 65535)
		return AA_EINVAL;
	memcpy(port, p, n + 1);
	return 0;
}

static struct listener *listener_new(struct grpc_server *s)
{
	struct listener *l = aa_calloc(1, sizeof *l);
	l->server = s;
	return l;
}

static void listener_add(struct grpc_server *s, struct listener *l)
{
	l->io.handle.data = l;
	l->next = s->listeners;
	s->listeners = l;
}

static void listener_free_closed(uv_handle_t *h)
{
	struct listener *l = h->data;
	struct grpc_server *s = l->server;
	free(l->unix_path);
	free(l);
	s->pending_closes--;
	server_maybe_free(s);
}

static int tcp_bind_listen(struct grpc_server *s, const struct sockaddr *sa, char *bound, size_t boundlen)
{
	struct listener *l = listener_new(s);
	uv_tcp_init(s->loop, &l->io.tcp);
	l->io.handle.data = l;
	int rc = uv_tcp_bind(&l->io.tcp, sa, 0);
	if (rc == 0)
		rc = uv_listen(&l->io.stream, LISTEN_BACKLOG, listener_on_connection);
	if (rc != 0) {
		uv_close(&l->io.handle, discard_closed);
		return rc;
	}
	struct sockaddr_storage ss;
	int len = sizeof ss;
	uv_tcp_getsockname(&l->io.tcp, (struct sockaddr *)&ss, &len);
	char text[96];
	format_sockaddr((const struct sockaddr *)&ss, text, sizeof text);
	if (bound && boundlen)
		snprintf(bound, boundlen, "%s", text);
	listener_add(s, l);
	aa_log(AA_LOG_INFO, "grpc listening", "addr", text, NULL);
	return 0;
}

static int listen_tcp(struct grpc_server *s, const char *hp, char *bound, size_t boundlen)
{
	char host[256], port[8];
	int rc = parse_hostport(hp, host, sizeof host, port, sizeof port);
	if (rc != 0)
		return rc;
	if (host[0] == '\0') {
		/* All interfaces: IPv6 wildcard, dual-stack where the system allows. */
		struct sockaddr_in6 a6;
		struct sockaddr_in a4;
		uv_ip6_addr("::", atoi(port), &a6);
		if (tcp_bind_listen(s, (const struct sockaddr *)&a6, bound, boundlen) == 0)
			return 0;
		uv_ip4_addr("0.0.0.0", atoi(port), &a4);
		return tcp_bind_listen(s, (const struct sockaddr *)&a4, bound, boundlen) == 0 ? 0 : AA_EIO;
	}
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	if (getaddrinfo(host, port, &hints, &res) != 0 || !res) {
		aa_log(AA_LOG_ERROR, "grpc listen: cannot resolve host", "host", host, NULL);
		return AA_EINVAL;
	}
	int last = UV_EINVAL;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		last = tcp_bind_listen(s, ai->ai_addr, bound, boundlen);
		if (last == 0)
			break;
	}
	freeaddrinfo(res);
	if (last != 0) {
		aa_log(AA_LOG_ERROR, "grpc listen failed", "addr", hp, "error", uv_strerror(last), NULL);
		return last == UV_EADDRINUSE ? AA_EEXIST : AA_EIO;
	}
	return 0;
}

/* An existing file at the socket path: a stale socket (nobody accepts) is removed; a live
 * one or anything that is not a socket is left alone. */
static int unix_clear_stale(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : AA_EIO;
	if (!S_ISSOCK(st.st_mode)) {
		aa_log(AA_LOG_ERROR, "grpc listen: path exists and is not a socket", "path", path, NULL);
		return AA_EEXIST;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return AA_EIO;
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	int rc = connect(fd, (struct sockaddr *)&sun, sizeof sun);
	int err = errno;
	close(fd);
	if (rc == 0 || err == EAGAIN) {
		aa_log(AA_LOG_ERROR, "grpc listen: another server answers on the socket", "path", path, NULL);
		return AA_EEXIST;
	}
	if (err != ECONNREFUSED && err != ENOENT)
		return AA_EIO;
	if (unlink(path) != 0 && errno != ENOENT)
		return AA_EIO;
	return 0;
}

static int listen_unix(struct grpc_server *s, const char *path, char *bound, size_t boundlen)
{
	struct sockaddr_un sun;
	size_t len = strlen(path);
	if (len == 0)
		return AA_EINVAL;
	if (len >= sizeof sun.sun_path)
		return AA_ERANGE;
	int rc = unix_clear_stale(path);
	if (rc != 0)
		return rc;
	/* The temporary name sits in the same directory (rename is atomic only within one file
	 * system) and is hidden; if it would not fit in sun_path, bind the final name directly,
	 * which leaves a moment between bind and listen when the file exists but refuses. */
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash ? (size_t)(slash - path + 1) : 0;
	char *tmp = aa_sprintf("%.*s.grpc-%ld.tmp", (int)dirlen, path, (long)getpid());
	bool direct = strlen(tmp) >= sizeof sun.sun_path;
	const char *bindpath = direct ? path : tmp;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		free(tmp);
		return AA_EIO;
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, bindpath, strlen(bindpath));
	unlink(tmp);
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0) {
		aa_log(AA_LOG_ERROR, "grpc listen: bind failed", "path", bindpath, "error", strerror(errno), NULL);
		close(fd);
		free(tmp);
		return AA_EIO;
	}
	struct listener *l = listener_new(s);
	uv_pipe_init(s->loop, &l->io.pipe, 0);
	l->io.handle.data = l;
	rc = chmod(bindpath, 0600) != 0 ? UV_EPERM : uv_pipe_open(&l->io.pipe, fd);
	if (rc == 0)
		rc = uv_listen(&l->io.stream, LISTEN_BACKLOG, listener_on_connection);
	if (rc == 0 && !direct && rename(tmp, path) != 0)
		rc = UV_EIO;
	struct stat st;
	if (rc == 0 && stat(path, &st) != 0)
		rc = UV_EIO;
	if (rc != 0) {
		aa_log(AA_LOG_ERROR, "grpc listen failed", "path", path, "error", uv_strerror(rc), NULL);
		unlink(bindpath);
		if (uv_fileno(&l->io.handle, &(uv_os_fd_t){ 0 }) != 0)
			close(fd);
		uv_close(&l->io.handle, discard_closed);
		free(tmp);
		return AA_EIO;
	}
	free(tmp);
	l->unix_path = aa_strdup(path);
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	listener_add(s, l);
	if (bound && boundlen)
		snprintf(bound, boundlen, "unix://%s", path);
	aa_log(AA_LOG_INFO, "grpc listening", "addr", path, NULL);
	return 0;
}

int grpc_server_listen(struct grpc_server *s, const char *addr, char *bound, size_t boundlen)
{
	if (s->closing)
		return AA_ECLOSED;
	if (strncmp(addr, "unix://", 7) == 0)
		return listen_unix(s, addr + 7, bound, boundlen);
	if (strncmp(addr, "tcp://", 6) == 0)
		return listen_tcp(s, addr + 6, bound, boundlen);
	return listen_unix(s, addr, bound, boundlen);
}

/* --- closing ---------------------------------------------------------------------------------- */

static void server_prepare_closed(uv_handle_t *h)
{
	struct grpc_server *s = h->data;
	s->pending_closes--;
	server_maybe_free(s);
}

static void server_maybe_free(struct grpc_server *s)
{
	if (!s->closing || s->pending_closes > 0 || s->conns)
		return;
	struct map_iter it;
	void *v;
	map_iter_init(&it, &s->methods);
	while (map_iter_next(&it, NULL, NULL, &v)) {
		struct grpc_method *m = map_iter_remove(&it);
		free(m->path);
		free(m);
	}
	map_free(&s->methods);
	nghttp2_session_callbacks_del(s->cbs);
	nghttp2_option_del(s->h2opt);
	void (*cb)(void *) = s->on_closed;
	void *arg = s->on_closed_arg;
	free(s);
	if (cb)
		cb(arg);
}

void grpc_server_close(struct grpc_server *s, void (*on_closed)(void *arg), void *arg)
{
	if (s->closing)
		return;
	s->closing = true;
	s->on_closed = on_closed;
	s->on_closed_arg = arg;
	s->pending_closes = 1; /* held until the end of this function */
	while (s->listeners) {
		struct listener *l = s->listeners;
		s->listeners = l->next;
		if (l->unix_path) {
			/* Unlink only our own socket: another server may have replaced it. */
			struct stat st;
			if (lstat(l->unix_path, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino)
				unlink(l->unix_path);
		}
		s->pending_closes++;
		uv_close(&l->io.handle, listener_free_closed);
	}
	s->pending_closes++;
	uv_close((uv_handle_t *)&s->prepare, server_prepare_closed);
	struct grpc_conn *c = s->conns;
	while (c) {
		struct grpc_conn *next = c->next;
		if (!c->has_io) {
			conn_teardown(c, GRPC_CANCEL_SHUTDOWN);
			conn_free(c);
		} else if (!c->closed) {
			while (c->calls)
				call_drop(c->calls, GRPC_CANCEL_SHUTDOWN);
			conn_goaway(c, NGHTTP2_NO_ERROR, "server shutdown");
			conn_flush(c);
		}
		c = next;
	}
	s->pending_closes--;
	server_maybe_free(s);
}

/* --- call API ---------------------------------------------------------------------------------- */

int grpc_call_send(struct grpc_call *call, const uint8_t *msg, size_t len)
{
	struct grpc_conn *c = call->conn;
	const struct grpc_server_options *o = &c->server->o;
	if (call->state != CALL_ACTIVE || c->closed || c->goaway || call->status >= 0)
		return AA_ECLOSED;
	if (len > o->max_send_message || len > UINT32_MAX)
		return AA_ETOOBIG;
	if (call->out_bytes >= o->send_queue_limit) {
		call->want_writable = true;
		return AA_EAGAIN;
	}
	struct out_msg *m = aa_malloc(sizeof *m + GRPC_PREFIX_BYTES + len);
	m->next = NULL;
	m->len = GRPC_PREFIX_BYTES + len;
	m->off = 0;
	grpc_msg_prefix(m->bytes, false, (uint32_t)len);
	if (len)
		memcpy(m->bytes + GRPC_PREFIX_BYTES, msg, len);
	if (call->out_tail)
		call->out_tail->next = m;
	else
		call->out_head = m;
	call->out_tail = m;
	call->out_bytes += m->len;
	if (call->out_bytes >= o->send_queue_limit)
		call->want_writable = true;
	if (!call->response_started) {
		if (call_start_response(call) != 0)
			return AA_ECLOSED;
	} else if (call->deferred) {
		call->deferred = false;
		nghttp2_session_resume_data(c->session, call->stream_id);
	}
	conn_mark_dirty(c);
	return 0;
}

size_t grpc_call_send_queued_bytes(const struct grpc_call *call)
{
	return call->out_bytes;
}

bool grpc_call_writable(const struct grpc_call *call)
{
	return call->out_bytes < call->conn->server->o.send_queue_limit;
}

int grpc_call_finish(struct grpc_call *call, int status, const char *msg)
{
	if (call->state != CALL_ACTIVE)
		return AA_ECLOSED;
	int rc = 0;
	if (status < 0 || status > GRPC_STATUS_UNAUTHENTICATED) {
		status = GRPC_STATUS_UNKNOWN;
		rc = AA_EINVAL;
	}
	call->state = CALL_DONE;
	call_stop_recv(call);
	call_end(call, status, msg, "200");
	return rc;
}

void grpc_call_pause_recv(struct grpc_call *call)
{
	call->paused = true;
}

void grpc_call_resume_recv(struct grpc_call *call)
{
	if (!call->paused)
		return;
	call->paused = false;
	if (call->pumping) {
		call->repump = true;
	} else if (call->state == CALL_ACTIVE) {
		call->pump_pending = true;
		conn_mark_dirty(call->conn);
	}
}

void grpc_call_set_data(struct grpc_call *call, void *data)
{
	call->data = data;
}

void *grpc_call_data(const struct grpc_call *call)
{
	return call->data;
}

const char *grpc_call_method(const struct grpc_call *call)
{
	return call->method ? call->method->path : "";
}

uint64_t grpc_call_deadline_left_ms(const struct grpc_call *call)
{
	if (call->deadline_at == UINT64_MAX)
		return UINT64_MAX;
	uint64_t now = server_now(call->conn->server);
	return call->deadline_at > now ? call->deadline_at - now : 0;
}

/* --- memory connections ------------------------------------------------------------------------ */

struct grpc_conn *grpc_conn_mem_new(struct grpc_server *s,
				    void (*out)(void *arg, const uint8_t *p, size_t n), void *arg)
{
	struct grpc_conn *c = conn_new(s);
	c->mem_out = out;
	c->mem_arg = arg;
	if (conn_start_session(c) != 0) {
		c->closed = true;
		s->nconns--;
		return c;
	}
	conn_flush(c);
	return c;
}

int grpc_conn_mem_feed(struct grpc_conn *c, const uint8_t *p, size_t n)
{
	if (c->closed)
		return AA_ECLOSED;
	conn_recv(c, p, n);
	conn_flush(c);
	return c->closed ? AA_ECLOSED : 0;
}

void grpc_conn_mem_flush(struct grpc_conn *c)
{
	conn_flush(c);
}

void grpc_conn_mem_free(struct grpc_conn *c)
{
	conn_teardown(c, GRPC_CANCEL_CONNECTION);
	conn_free(c);
}
