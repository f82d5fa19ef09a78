/* grpc_load: a lean gRPC client for the benchmarks that talk to agentanycastd's NodeService
 * (bench/run section 6, issue 4). @grpc/grpc-js spends ~150 us of CPU per call, which on a
 * 2-core machine is more than the daemons it is meant to measure; this client is one thread,
 * one poll loop and an nghttp2 client session per Unix-socket connection, a few us per call.
 *
 *   bench_grpc_load handler SOCK
 *       The agent behind a daemon: SubscribeIncomingTasks, then CompleteTask with one text
 *       artifact for every task that arrives. Prints READY once the subscription is live
 *       (its response HEADERS came, or a PING sent after it was answered), and
 *       "handled=N errors=M" when SIGTERM or SIGINT ends it (exit 0).
 *   bench_grpc_load roundtrip SOCK_A SOCK_B N_LAT N_THR CONCURRENCY
 *       The A2A round trip through two running daemons, as bench/a2a_roundtrip.mjs does it:
 *       SendTask on A -> the handler above on B -> CompleteTask -> A's SubscribeTaskUpdates
 *       sees COMPLETED. Connects A to B, warms up (300 one at a time, 1000 at CONCURRENCY),
 *       then N_LAT one at a time (latency percentiles) and N_THR with CONCURRENCY in flight
 *       (tasks/s). Prints one "a2a_grpc ..." line; the CPU this process spent per task goes to
 *       stderr.
 *
 * SOCK is unix://PATH or PATH. Every unary call and every round trip has a 30 s deadline; any
 * failure exits 1 with a message on stderr. gRPC over HTTP/2 as in grpc/grpc
 * doc/PROTOCOL-HTTP2.md: POST with te: trailers, each message a 5-byte prefix (compressed
 * flag, 4-byte big-endian length) and the protobuf bytes, grpc-status in the trailers (or in
 * the only HEADERS of a trailers-only reply). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <nghttp2/nghttp2.h>

#include "agentanycast/v1/node_service.pb-c.h"
#include "base/mem.h"

#define SERVICE_PATH "/agentanycast.v1.NodeService/"
#define SEC_NS 1000000000ull
#define CALL_TIMEOUT_NS (30 * SEC_NS)  /* any unary call, and a whole round trip */
#define LATE_POLL_NS (1 * SEC_NS)      /* GetTask safety net this long after subscribing */
#define TICK_NS (50 * 1000000ull)      /* how often deadlines and polls are looked at */
#define DRAIN_NS (2 * SEC_NS)          /* at the end: how long closing streams may take */
#define MAX_MESSAGE (4u << 20)         /* largest response message accepted */
#define OUT_HIGH_WATER (256u << 10)    /* frames buffered for the socket before we stop */
/* Receive windows far above anything in flight, so the daemon never waits for a
 * WINDOW_UPDATE; nghttp2 sends those by itself once half a window is consumed. */
#define STREAM_WINDOW (16 << 20)
#define CONN_WINDOW (256 << 20)
#define MAX_CONC 1024
#define MAX_N 10000000L
#define ERRORS_SHOWN 5

/* gRPC status codes (grpc/grpc doc/statuscodes.md) this client produces itself. */
#define GRPC_OK 0
#define GRPC_CANCELLED 1
#define GRPC_UNKNOWN 2
#define GRPC_UNAVAILABLE 14

/* ---- basics -------------------------------------------------------------------------------- */

static _Noreturn void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("bench_grpc_load: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SEC_NS + (uint64_t)ts.tv_nsec;
}

static double cpu_secs(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool task_terminal(int status)
{
	/* REFERENCE.md C.1: the four terminal states. */
	return status == AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_COMPLETED ||
	       status == AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_FAILED ||
	       status == AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_CANCELED ||
	       status == AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_REJECTED;
}

static const char *task_status_name(int status)
{
	const ProtobufCEnumValue *v =
		protobuf_c_enum_descriptor_get_value(&agentanycast__v1__task_status__descriptor, status);
	return v ? v->name : "(unknown status)";
}

/* ---- connections and calls ----------------------------------------------------------------- */

struct call;

/* One HTTP/2 connection to a daemon's gRPC socket. */
struct conn {
	const char *name;       /* "A", "B" or "daemon", for messages */
	int fd;
	nghttp2_session *h2;
	uint8_t *out;           /* frames nghttp2 produced that the socket has not taken yet */
	size_t out_len, out_cap;
	struct call *calls;     /* every call whose stream is not closed yet */
	size_t ncalls;
	size_t cancels;         /* calls in that list still waiting for their RST_STREAM */
};

/* What the owner of a call hears. All optional; none runs once the call is detached. */
struct call_ops {
	void (*on_request_sent)(struct call *c); /* our last DATA frame (END_STREAM) went out */
	void (*on_headers)(struct call *c);  /* response HEADERS of a live stream arrived */
	void (*on_message)(struct call *c);  /* c->reply holds a new response message */
	void (*on_done)(struct call *c);     /* the stream closed: c->status, c->message */
};

/* One RPC: an HTTP/2 stream. The connection owns it and frees it when the stream closes, so
 * an owner that loses interest detaches (call_detach) instead of freeing. */
struct call {
	struct conn *conn;
	struct call *prev, *next;
	int32_t stream_id;
	const char *method;
	const ProtobufCMessageDescriptor *reply_desc;
	const struct call_ops *ops;  /* NULL once detached */
	void *user;
	uint64_t deadline;           /* 0: none (subscriptions bounded by their owner) */
	uint8_t *req;                /* the one request message, framed; freed once sent */
	size_t req_len, req_off;
	uint8_t *rx;                 /* a response message split across DATA frames */
	size_t rx_len, rx_cap;
	ProtobufCMessage *reply;     /* newest response message, owned by the call */
	int status;                  /* grpc-status, -1 until known */
	int http_status;
	char message[160];           /* grpc-message (still percent-encoded), truncated */
	bool headers_sent;           /* our HEADERS went out: the stream exists on the wire */
	bool cancel;                 /* detached by an owner that wants the stream reset */
	bool rst_sent;
};

static struct conn *g_conns[2];
static int g_nconns;
static nghttp2_session_callbacks *g_h2_callbacks;
static uint64_t g_next_tick;
static const sigset_t *g_wait_mask; /* signals ppoll lets through (handler mode), or NULL */
static volatile sig_atomic_t g_stop;

static void call_free(struct call *c)
{
	struct conn *cn = c->conn;
	if (c->prev)
		c->prev->next = c->next;
	else
		cn->calls = c->next;
	if (c->next)
		c->next->prev = c->prev;
	cn->ncalls--;
	if (c->cancel && !c->rst_sent)
		cn->cancels--;
	if (c->reply)
		protobuf_c_message_free_unpacked(c->reply, NULL);
	free(c->req);
	free(c->rx);
	free(c);
}

/* The owner stops listening. With cancel, the stream is reset (RST_STREAM CANCEL) unless it
 * closes by itself first: the reset is sent after the input at hand has been processed, so a
 * stream whose trailers are already in that input ends cleanly instead. */
static void call_detach(struct call *c, bool cancel)
{
	c->ops = NULL;
	c->user = NULL;
	if (cancel && !c->cancel) {
		c->cancel = true;
		c->conn->cancels++;
	}
}

static ssize_t call_read_request(nghttp2_session *h2, int32_t stream_id, uint8_t *buf,
				 size_t len, uint32_t *flags, nghttp2_data_source *src, void *conn)
{
	struct call *c = src->ptr;
	size_t n = c->req_len - c->req_off;
	if (n > len)
		n = len;
	memcpy(buf, c->req + c->req_off, n);
	c->req_off += n;
	if (c->req_off == c->req_len) {
		*flags |= NGHTTP2_DATA_FLAG_EOF; /* one request message per call: half-close */
		free(c->req);
		c->req = NULL;
	}
	return (ssize_t)n;
}

#define NV_STATIC(n, v)                                                                     \
	{ (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, sizeof(v) - 1,                      \
	  NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE }

/* Starts METHOD with one request message. timeout_ns 0 means no deadline of its own. */
static struct call *call_start(struct conn *cn, const char *method, const ProtobufCMessage *req,
			       const ProtobufCMessageDescriptor *reply_desc,
			       const struct call_ops *ops, void *user, uint64_t timeout_ns)
{
	struct call *c = aa_calloc(1, sizeof *c);
	c->conn = cn;
	c->method = method;
	c->reply_desc = reply_desc;
	c->ops = ops;
	c->user = user;
	c->status = -1;
	c->deadline = timeout_ns ? now_ns() + timeout_ns : 0;
	size_t n = protobuf_c_message_get_packed_size(req);
	if (n > MAX_MESSAGE)
		fail("%s: request too large", method);
	c->req_len = 5 + n;
	c->req = aa_malloc(c->req_len);
	c->req[0] = 0; /* not compressed */
	c->req[1] = (uint8_t)(n >> 24);
	c->req[2] = (uint8_t)(n >> 16);
	c->req[3] = (uint8_t)(n >> 8);
	c->req[4] = (uint8_t)n;
	protobuf_c_message_pack(req, c->req + 5);

	char path[96];
	int pn = snprintf(path, sizeof path, SERVICE_PATH "%s", method);
	if (pn < 0 || (size_t)pn >= sizeof path)
		fail("%s: method name too long", method);
	nghttp2_nv nva[] = {
		NV_STATIC(":method", "POST"),
		NV_STATIC(":scheme", "http"),
		{ (uint8_t *)":path", (uint8_t *)path, 5, (size_t)pn, NGHTTP2_NV_FLAG_NO_COPY_NAME },
		NV_STATIC(":authority", "localhost"),
		NV_STATIC("content-type", "application/grpc"),
		NV_STATIC("te", "trailers"),
	};
	nghttp2_data_provider body = { .source.ptr = c, .read_callback = call_read_request };
	int32_t id = nghttp2_submit_request(cn->h2, NULL, nva, sizeof nva / sizeof nva[0], &body, c);
	if (id < 0)
		fail("%s on %s: cannot start a stream: %s", method, cn->name, nghttp2_strerror(id));
	c->stream_id = id;
	c->next = cn->calls;
	if (cn->calls)
		cn->calls->prev = c;
	cn->calls = c;
	cn->ncalls++;
	return c;
}

/* One whole response message: unpack it and tell the owner. */
static void call_deliver(struct call *c, const uint8_t *p, size_t n)
{
	if (!c->ops)
		return; /* detached: nobody reads it, so do not even unpack it */
	ProtobufCMessage *m = protobuf_c_message_unpack(c->reply_desc, NULL, n, p);
	if (!m)
		fail("%s on %s: undecodable %zu-byte response", c->method, c->conn->name, n);
	if (c->reply)
		protobuf_c_message_free_unpacked(c->reply, NULL);
	c->reply = m;
	if (c->ops->on_message)
		c->ops->on_message(c);
}

/* Takes the gRPC length prefix of a message: its length, checked. */
static size_t frame_length(const struct call *c, const uint8_t *prefix)
{
	if (prefix[0] != 0)
		fail("%s on %s: compressed response (we asked for none)", c->method, c->conn->name);
	uint32_t len = get_be32(prefix + 1);
	if (len > MAX_MESSAGE)
		fail("%s on %s: %u-byte response message", c->method, c->conn->name, len);
	return len;
}

/* DATA payload: gRPC messages, which may be split across DATA frames or share one. A message
 * wholly inside the chunk is unpacked in place; only split ones are copied to c->rx. */
static void call_on_data(struct call *c, const uint8_t *p, size_t len)
{
	while (len > 0) {
		if (c->rx_len == 0 && len >= 5) {
			size_t mlen = frame_length(c, p);
			if (len - 5 >= mlen) {
				call_deliver(c, p + 5, mlen);
				p += 5 + mlen;
				len -= 5 + mlen;
				continue;
			}
		}
		size_t want = 5;
		if (c->rx_len >= 5)
			want = 5 + frame_length(c, c->rx);
		size_t take = want - c->rx_len < len ? want - c->rx_len : len;
		if (c->rx_cap < want) {
			c->rx_cap = want < 64 ? 64 : want;
			c->rx = aa_realloc(c->rx, c->rx_cap);
		}
		memcpy(c->rx + c->rx_len, p, take);
		c->rx_len += take;
		p += take;
		len -= take;
		/* With the prefix just completed, the next round sizes the buffer for the body
		 * (an empty message is complete right here). */
		if (c->rx_len >= 5 && c->rx_len == 5 + frame_length(c, c->rx)) {
			c->rx_len = 0;
			call_deliver(c, c->rx + 5, get_be32(c->rx + 1));
		}
	}
}

/* The stream closed: settle the status and tell the owner. */
static void call_on_close(struct call *c, uint32_t h2_error)
{
	if (c->status < 0) {
		if (h2_error != NGHTTP2_NO_ERROR) {
			c->status = h2_error == NGHTTP2_REFUSED_STREAM ? GRPC_UNAVAILABLE
				    : c->cancel		       ? GRPC_CANCELLED
								       : GRPC_UNKNOWN;
			snprintf(c->message, sizeof c->message, "stream reset: %s",
				 nghttp2_http2_strerror(h2_error));
		} else {
			c->status = GRPC_UNKNOWN;
			snprintf(c->message, sizeof c->message, "HTTP status %d without grpc-status",
				 c->http_status);
		}
	} else if (c->status == GRPC_OK && c->rx_len != 0) {
		c->status = GRPC_UNKNOWN;
		snprintf(c->message, sizeof c->message, "stream ended inside a message");
	}
	if (c->ops && c->ops->on_done)
		c->ops->on_done(c);
	call_free(c);
}

/* ---- nghttp2 callbacks --------------------------------------------------------------------- */

static struct call *stream_call(nghttp2_session *h2, int32_t stream_id)
{
	return nghttp2_session_get_stream_user_data(h2, stream_id);
}

static int h2_on_frame_send(nghttp2_session *h2, const nghttp2_frame *frame, void *conn)
{
	if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
		return 0;
	struct call *c = stream_call(h2, frame->hd.stream_id);
	if (!c)
		return 0;
	if (frame->hd.type == NGHTTP2_HEADERS)
		c->headers_sent = true;
	else if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && c->ops && c->ops->on_request_sent)
		c->ops->on_request_sent(c);
	return 0;
}

static int parse_small_int(const uint8_t *v, size_t n)
{
	int x = 0;
	if (n == 0 || n > 4)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (v[i] - '0');
	}
	return x;
}

static int h2_on_header(nghttp2_session *h2, const nghttp2_frame *frame, const uint8_t *name,
			size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
			void *conn)
{
	struct call *c = stream_call(h2, frame->hd.stream_id);
	if (!c)
		return 0;
	if (namelen == 7 && memcmp(name, ":status", 7) == 0) {
		c->http_status = parse_small_int(value, valuelen);
	} else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0) {
		c->status = parse_small_int(value, valuelen);
		if (c->status < 0)
			c->status = GRPC_UNKNOWN; /* a malformed status is not OK */
	} else if (namelen == 12 && memcmp(name, "grpc-message", 12) == 0) {
		size_t n = valuelen < sizeof c->message - 1 ? valuelen : sizeof c->message - 1;
		memcpy(c->message, value, n);
		c->message[n] = 0;
	}
	return 0;
}

static void handler_ping_acked(struct conn *cn, const uint8_t *opaque);

static int h2_on_frame_recv(nghttp2_session *h2, const nghttp2_frame *frame, void *conn_)
{
	struct conn *cn = conn_;
	if (frame->hd.type == NGHTTP2_GOAWAY)
		fail("%s: the daemon sent GOAWAY (%s)", cn->name,
		     nghttp2_http2_strerror(frame->goaway.error_code));
	if (frame->hd.type == NGHTTP2_PING && (frame->hd.flags & NGHTTP2_FLAG_ACK))
		handler_ping_acked(cn, frame->ping.opaque_data);
	/* Response HEADERS without END_STREAM: the call is live. With END_STREAM it is a
	 * trailers-only reply (an error, usually), which on_stream_close reports. */
	if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_RESPONSE ||
	    (frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
		return 0;
	struct call *c = stream_call(h2, frame->hd.stream_id);
	if (c && c->ops && c->ops->on_headers)
		c->ops->on_headers(c);
	return 0;
}

static int h2_on_data_chunk(nghttp2_session *h2, uint8_t flags, int32_t stream_id,
			    const uint8_t *data, size_t len, void *conn)
{
	struct call *c = stream_call(h2, stream_id);
	if (c)
		call_on_data(c, data, len);
	return 0;
}

static int h2_on_stream_close(nghttp2_session *h2, int32_t stream_id, uint32_t error_code,
			      void *conn)
{
	struct call *c = stream_call(h2, stream_id);
	if (c)
		call_on_close(c, error_code);
	return 0;
}

static void h2_callbacks_init(void)
{
	if (nghttp2_session_callbacks_new(&g_h2_callbacks) != 0)
		fail("out of memory");
	nghttp2_session_callbacks_set_on_frame_send_callback(g_h2_callbacks, h2_on_frame_send);
	nghttp2_session_callbacks_set_on_header_callback(g_h2_callbacks, h2_on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(g_h2_callbacks, h2_on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(g_h2_callbacks, h2_on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(g_h2_callbacks, h2_on_stream_close);
}

/* ---- connection I/O ------------------------------------------------------------------------- */

static struct conn *conn_open(const char *name, const char *sock)
{
	const char *path = sock;
	if (strncmp(path, "unix://", 7) == 0)
		path += 7;
	else if (strncmp(path, "unix:", 5) == 0)
		path += 5;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path)
		fail("%s: socket path too long: %s", name, path);
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fail("socket: %s", strerror(errno));
	/* A blocking connect: a Unix socket accepts or refuses at once. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		fail("%s: connect %s: %s", name, path, strerror(errno));
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		fail("fcntl: %s", strerror(errno));

	struct conn *cn = aa_calloc(1, sizeof *cn);
	cn->name = name;
	cn->fd = fd;
	nghttp2_option *opt;
	if (nghttp2_option_new(&opt) != 0)
		fail("out of memory");
	/* Until the daemon's SETTINGS arrive, assume its limit (100) rather than nghttp2's
	 * "unlimited", so an early burst is queued here instead of refused there. */
	nghttp2_option_set_peer_max_concurrent_streams(opt, 100);
	int rv = nghttp2_session_client_new2(&cn->h2, g_h2_callbacks, cn, opt);
	nghttp2_option_del(opt);
	if (rv != 0)
		fail("nghttp2_session_client_new2: %s", nghttp2_strerror(rv));
	nghttp2_settings_entry settings[] = {
		{ NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
		{ NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW },
	};
	rv = nghttp2_submit_settings(cn->h2, NGHTTP2_FLAG_NONE, settings, 2);
	if (rv == 0)
		rv = nghttp2_session_set_local_window_size(cn->h2, NGHTTP2_FLAG_NONE, 0, CONN_WINDOW);
	if (rv != 0)
		fail("%s: HTTP/2 settings: %s", name, nghttp2_strerror(rv));
	g_conns[g_nconns++] = cn;
	return cn;
}

static void conn_close(struct conn *cn)
{
	/* nghttp2_session_del runs no callbacks: the calls still open are freed here. */
	nghttp2_session_del(cn->h2);
	while (cn->calls)
		call_free(cn->calls);
	close(cn->fd);
	free(cn->out);
	free(cn);
}

/* RST_STREAM for detached calls whose owner asked for it, once their HEADERS are out (a
 * reset for a stream still queued behind MAX_CONCURRENT_STREAMS would refer to an idle one;
 * it goes out on a later round). */
static void conn_send_cancels(struct conn *cn)
{
	if (cn->cancels == 0)
		return;
	for (struct call *c = cn->calls; c; c = c->next) {
		if (!c->cancel || c->rst_sent || !c->headers_sent)
			continue;
		int rv = nghttp2_submit_rst_stream(cn->h2, NGHTTP2_FLAG_NONE, c->stream_id, NGHTTP2_CANCEL);
		if (rv != 0)
			fail("%s: RST_STREAM: %s", cn->name, nghttp2_strerror(rv));
		c->rst_sent = true;
		cn->cancels--;
	}
}

/* Moves frames from nghttp2 to the socket until either has nothing more to give or take.
 * Frames are gathered first so one write carries many of them. */
static void conn_flush(struct conn *cn)
{
	conn_send_cancels(cn);
	for (;;) {
		while (cn->out_len < OUT_HIGH_WATER) {
			const uint8_t *p;
			ssize_t n = nghttp2_session_mem_send(cn->h2, &p);
			if (n < 0)
				fail("%s: nghttp2_session_mem_send: %s", cn->name, nghttp2_strerror((int)n));
			if (n == 0)
				break;
			if (cn->out_cap - cn->out_len < (size_t)n) {
				while (cn->out_cap - cn->out_len < (size_t)n)
					cn->out_cap = cn->out_cap ? cn->out_cap * 2 : 16384;
				cn->out = aa_realloc(cn->out, cn->out_cap);
			}
			memcpy(cn->out + cn->out_len, p, (size_t)n);
			cn->out_len += (size_t)n;
		}
		if (cn->out_len == 0)
			return;
		ssize_t w = send(cn->fd, cn->out, cn->out_len, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return; /* POLLOUT brings us back */
			fail("%s: send: %s", cn->name, strerror(errno));
		}
		bool all = (size_t)w == cn->out_len;
		memmove(cn->out, cn->out + w, cn->out_len - (size_t)w);
		cn->out_len -= (size_t)w;
		if (!all)
			return; /* the socket is full */
	}
}

/* Feeds what the socket has to nghttp2 (which runs the callbacks), a bounded number of reads
 * so one busy connection cannot starve the other, then sends what that produced. */
static void conn_read(struct conn *cn)
{
	static uint8_t buf[65536];
	for (int i = 0; i < 16; i++) {
		ssize_t r = read(cn->fd, buf, sizeof buf);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			fail("%s: read: %s", cn->name, strerror(errno));
		}
		if (r == 0)
			fail("%s: the daemon closed the connection", cn->name);
		ssize_t n = nghttp2_session_mem_recv(cn->h2, buf, (size_t)r);
		if (n < 0)
			fail("%s: HTTP/2 error: %s", cn->name, nghttp2_strerror((int)n));
		if ((size_t)r < sizeof buf)
			break; /* drained */
	}
	conn_flush(cn);
}

/* ---- the loop -------------------------------------------------------------------------------- */

static void roundtrips_tick(uint64_t now);

/* Fails any call past its deadline; drives the round trips' timers. */
static void tick(uint64_t now)
{
	for (int i = 0; i < g_nconns; i++)
		for (struct call *c = g_conns[i]->calls; c; c = c->next)
			if (c->deadline && now > c->deadline && c->ops)
				fail("%s on %s: no answer within %llu s", c->method, g_conns[i]->name,
				     (unsigned long long)(CALL_TIMEOUT_NS / SEC_NS));
	roundtrips_tick(now);
}

/* One round of the loop: waits for I/O (at most until the next tick), handles it. Returns
 * early on a signal let through by g_wait_mask. */
static void loop_once(void)
{
	struct pollfd pf[2];
	for (int i = 0; i < g_nconns; i++) {
		conn_flush(g_conns[i]);
		pf[i].fd = g_conns[i]->fd;
		pf[i].events = POLLIN | (g_conns[i]->out_len ? POLLOUT : 0);
		pf[i].revents = 0;
	}
	uint64_t now = now_ns();
	uint64_t wait = g_next_tick > now ? g_next_tick - now : 0;
	struct timespec ts = { .tv_sec = (time_t)(wait / SEC_NS), .tv_nsec = (long)(wait % SEC_NS) };
	int n = ppoll(pf, (nfds_t)g_nconns, &ts, g_wait_mask);
	if (n < 0) {
		if (errno == EINTR)
			return;
		fail("poll: %s", strerror(errno));
	}
	for (int i = 0; n > 0 && i < g_nconns; i++) {
		if (pf[i].revents & (POLLIN | POLLHUP | POLLERR))
			conn_read(g_conns[i]);
		if (pf[i].revents & POLLOUT)
			conn_flush(g_conns[i]);
	}
	now = now_ns();
	if (now >= g_next_tick) {
		g_next_tick = now + TICK_NS;
		tick(now);
	}
}

/* Runs the loop until *flag, or fails as WHAT after timeout_ns. */
static void loop_until(const bool *flag, uint64_t timeout_ns, const char *what)
{
	uint64_t end = now_ns() + timeout_ns;
	while (!*flag) {
		if (now_ns() > end)
			fail("%s: nothing within %llu s", what, (unsigned long long)(timeout_ns / SEC_NS));
		loop_once();
	}
}

/* Runs the loop until every stream has closed (resets sent, last replies in), at most
 * DRAIN_NS: at the end, so nothing is cut off mid-call. */
static void loop_drain(void)
{
	uint64_t end = now_ns() + DRAIN_NS;
	for (;;) {
		size_t open = 0;
		for (int i = 0; i < g_nconns; i++)
			open += g_conns[i]->ncalls + g_conns[i]->out_len;
		if (open == 0 || now_ns() > end)
			return;
		loop_once();
	}
}

/* ---- unary calls during set-up --------------------------------------------------------------- */

struct unary_wait {
	bool done;
	int status;
	char message[160];
	ProtobufCMessage *reply;
};

static void unary_done(struct call *c)
{
	struct unary_wait *w = c->user;
	w->done = true;
	w->status = c->status;
	memcpy(w->message, c->message, sizeof w->message);
	w->reply = c->reply; /* taken over */
	c->reply = NULL;
}

static const struct call_ops unary_ops = { .on_done = unary_done };

/* Calls METHOD and waits for its reply (the caller frees it); fails on any other outcome. */
static void *unary(struct conn *cn, const char *method, const ProtobufCMessage *req,
		   const ProtobufCMessageDescriptor *reply_desc)
{
	struct unary_wait w = { 0 };
	call_start(cn, method, req, reply_desc, &unary_ops, &w, CALL_TIMEOUT_NS);
	loop_until(&w.done, CALL_TIMEOUT_NS + SEC_NS, method); /* the call's deadline fires first */
	if (w.status != GRPC_OK) {
		if (w.reply)
			protobuf_c_message_free_unpacked(w.reply, NULL);
		fail("%s on %s: grpc-status %d: %s", method, cn->name, w.status, w.message);
	}
	if (!w.reply)
		fail("%s on %s: OK without a response message", method, cn->name);
	return w.reply;
}

/* ---- the agent: handle incoming tasks -------------------------------------------------------- */

struct handler {
	struct call *sub;  /* SubscribeIncomingTasks, NULL once stopped */
	bool ready;        /* the daemon routes tasks to us (see incoming_request_sent) */
	long handled, errors;
};

/* Opaque data of the PING that follows the subscription request. */
static const uint8_t handler_ping[8] = { 'a', 'a', '-', 's', 'u', 'b', 'o', 'k' };

static struct handler g_handler;

static void handler_error(struct handler *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void handler_error(struct handler *h, const char *fmt, ...)
{
	if (++h->errors > ERRORS_SHOWN)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("bench_grpc_load: handler: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void complete_done(struct call *c)
{
	if (c->status != GRPC_OK)
		handler_error(c->user, "CompleteTask: grpc-status %d: %s", c->status, c->message);
}

static const struct call_ops complete_ops = { .on_done = complete_done };

/* The subscription is live once its response HEADERS arrive. The daemon may send those only
 * with the first task, though, so the request is also followed by a PING: the daemon
 * handles a request as soon as it has read it (src/rpc/grpc.c delivers messages from inside
 * nghttp2's input processing), and nghttp2 acknowledges PINGs in the order it reads them, so
 * the ACK means the subscription exists. The PING waits for our last DATA frame because
 * nghttp2 sends PINGs ahead of queued stream frames. */
static void incoming_headers(struct call *c)
{
	((struct handler *)c->user)->ready = true;
}

static void incoming_request_sent(struct call *c)
{
	int rv = nghttp2_submit_ping(c->conn->h2, NGHTTP2_FLAG_NONE, handler_ping);
	if (rv != 0)
		fail("%s: PING: %s", c->conn->name, nghttp2_strerror(rv));
}

static void handler_ping_acked(struct conn *cn, const uint8_t *opaque)
{
	if (g_handler.sub && g_handler.sub->conn == cn &&
	    memcmp(opaque, handler_ping, sizeof handler_ping) == 0)
		g_handler.ready = true;
}

/* A task for us: do the "work" (one text artifact) and complete it. */
static void incoming_task(struct call *c)
{
	struct handler *h = c->user;
	const Agentanycast__V1__SubscribeIncomingTasksResponse *ev = (void *)c->reply;
	h->handled++;
	if (!ev->task || !ev->task->task_id || !*ev->task->task_id) {
		handler_error(h, "incoming task without a task_id");
		return;
	}
	Agentanycast__V1__TextPart text = AGENTANYCAST__V1__TEXT_PART__INIT;
	text.text = "done!";
	Agentanycast__V1__Part part = AGENTANYCAST__V1__PART__INIT;
	part.content_case = AGENTANYCAST__V1__PART__CONTENT_TEXT_PART;
	part.text_part = &text;
	Agentanycast__V1__Part *parts[] = { &part };
	Agentanycast__V1__Artifact art = AGENTANYCAST__V1__ARTIFACT__INIT;
	art.artifact_id = "a1";
	art.name = "result";
	art.n_parts = 1;
	art.parts = parts;
	Agentanycast__V1__Artifact *arts[] = { &art };
	Agentanycast__V1__CompleteTaskRequest req = AGENTANYCAST__V1__COMPLETE_TASK_REQUEST__INIT;
	req.task_id = ev->task->task_id;
	req.n_artifacts = 1;
	req.artifacts = arts;
	call_start(c->conn, "CompleteTask", &req.base, &agentanycast__v1__complete_task_response__descriptor,
		   &complete_ops, h, CALL_TIMEOUT_NS);
}

static void incoming_done(struct call *c)
{
	struct handler *h = c->user;
	h->sub = NULL;
	/* Only the daemon ends it (we detach before cancelling): there is no agent any more. */
	fail("SubscribeIncomingTasks on %s ended: grpc-status %d: %s", c->conn->name, c->status,
	     c->message);
}

static const struct call_ops incoming_ops = {
	.on_request_sent = incoming_request_sent,
	.on_headers = incoming_headers,
	.on_message = incoming_task,
	.on_done = incoming_done,
};

static void handler_start(struct handler *h, struct conn *cn)
{
	Agentanycast__V1__SubscribeIncomingTasksRequest req =
		AGENTANYCAST__V1__SUBSCRIBE_INCOMING_TASKS_REQUEST__INIT;
	h->sub = call_start(cn, "SubscribeIncomingTasks", &req.base,
			    &agentanycast__v1__subscribe_incoming_tasks_response__descriptor,
			    &incoming_ops, h, 0);
	loop_until(&h->ready, CALL_TIMEOUT_NS, "SubscribeIncomingTasks");
}

static void handler_stop(struct handler *h)
{
	if (h->sub)
		call_detach(h->sub, true);
	h->sub = NULL;
}

/* ---- the client: round trips ------------------------------------------------------------------ */

/* One round trip in flight: SendTask, then SubscribeTaskUpdates on the task (plus GetTask
 * when nothing terminal came for a second). */
struct roundtrip {
	struct roundtrip *prev, *next;
	uint64_t t0, deadline;
	uint64_t poll_at;   /* when GetTask is due; 0: not due */
	char *task_id;
	struct call *send, *sub, *get;
};

/* A phase: TARGET round trips, at most CONC in flight. */
struct bench {
	struct conn *a;
	char *peer_b;
	int pid;            /* with seq, makes message ids unique across runs */
	unsigned long seq;
	long target, started, finished, late;
	long in_answer;     /* round trips whose SendTask answer was already terminal */
	int conc, in_flight;
	uint64_t *lat;      /* per-round-trip latency in us, or NULL when not recorded */
	struct roundtrip *live;
};

static struct bench g_bench;

static void bench_fill(struct bench *b);

static void rt_finish(struct roundtrip *rt, int status, size_t nartifacts, const char *how)
{
	struct bench *b = &g_bench;
	if (status != AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_COMPLETED || nartifacts != 1)
		fail("task %s ended %s with %zu artifacts (%s)", rt->task_id, task_status_name(status),
		     nartifacts, how);
	if (b->lat)
		b->lat[b->finished] = (now_ns() - rt->t0) / 1000;
	b->finished++;
	b->in_flight--;
	/* Daemons without terminal replay keep the update stream open after the terminal
	 * status; newer ones close it, and then no reset goes out (call_detach). */
	if (rt->sub)
		call_detach(rt->sub, true);
	if (rt->get)
		call_detach(rt->get, false); /* unary: let it end by itself */
	if (rt->prev)
		rt->prev->next = rt->next;
	else
		b->live = rt->next;
	if (rt->next)
		rt->next->prev = rt->prev;
	free(rt->task_id);
	free(rt);
	bench_fill(b);
}

static void rt_update(struct call *c)
{
	const Agentanycast__V1__SubscribeTaskUpdatesResponse *u = (void *)c->reply;
	if (task_terminal(u->status))
		rt_finish(c->user, u->status, u->n_artifacts, "update");
}

static void rt_sub_done(struct call *c)
{
	struct roundtrip *rt = c->user;
	rt->sub = NULL;
	if (c->status != GRPC_OK)
		fail("SubscribeTaskUpdates %s: grpc-status %d: %s", rt->task_id, c->status, c->message);
	/* Ended OK without a terminal update: the GetTask poll settles it. */
}

static const struct call_ops rt_sub_ops = { .on_message = rt_update, .on_done = rt_sub_done };

static void rt_get_done(struct call *c)
{
	struct roundtrip *rt = c->user;
	rt->get = NULL;
	if (c->status != GRPC_OK)
		fail("GetTask %s: grpc-status %d: %s", rt->task_id, c->status, c->message);
	const Agentanycast__V1__GetTaskResponse *r = (void *)c->reply;
	if (!r || !r->task)
		fail("GetTask %s: no task in the reply", rt->task_id);
	if (task_terminal(r->task->status)) {
		g_bench.late++;
		rt_finish(rt, r->task->status, r->task->n_artifacts, "GetTask after 1 s");
		return;
	}
	rt->poll_at = now_ns() + LATE_POLL_NS;
}

static const struct call_ops rt_get_ops = { .on_done = rt_get_done };

/* SendTask answered: follow the task. */
static void rt_sent(struct call *c)
{
	struct roundtrip *rt = c->user;
	rt->send = NULL;
	if (c->status != GRPC_OK)
		fail("SendTask: grpc-status %d: %s", c->status, c->message);
	const Agentanycast__V1__SendTaskResponse *r = (void *)c->reply;
	if (!r || !r->task || !r->task->task_id || !*r->task->task_id)
		fail("SendTask: no task id in the reply");
	rt->task_id = aa_strdup(r->task->task_id);
	/* As the SDKs do (REFERENCE.md D, the SDKs' task handle): a task already over when SendTask answers needs no
	 * subscription. */
	if (task_terminal(r->task->status)) {
		g_bench.in_answer++;
		rt_finish(rt, r->task->status, r->task->n_artifacts, "SendTask");
		return;
	}
	Agentanycast__V1__SubscribeTaskUpdatesRequest req = AGENTANYCAST__V1__SUBSCRIBE_TASK_UPDATES_REQUEST__INIT;
	req.task_id = rt->task_id;
	/* No deadline of its own: the round trip's covers it. */
	rt->sub = call_start(c->conn, "SubscribeTaskUpdates", &req.base,
			     &agentanycast__v1__subscribe_task_updates_response__descriptor, &rt_sub_ops, rt, 0);
	rt->poll_at = now_ns() + LATE_POLL_NS;
}

static const struct call_ops rt_send_ops = { .on_done = rt_sent };

static void rt_start(struct bench *b)
{
	struct roundtrip *rt = aa_calloc(1, sizeof *rt);
	rt->t0 = now_ns();
	rt->deadline = rt->t0 + CALL_TIMEOUT_NS;
	rt->next = b->live;
	if (b->live)
		b->live->prev = rt;
	b->live = rt;
	b->started++;
	b->in_flight++;

	char message_id[48];
	snprintf(message_id, sizeof message_id, "bench-%d-%lu", b->pid, ++b->seq);
	Agentanycast__V1__TextPart text = AGENTANYCAST__V1__TEXT_PART__INIT;
	text.text = "hello";
	Agentanycast__V1__Part part = AGENTANYCAST__V1__PART__INIT;
	part.content_case = AGENTANYCAST__V1__PART__CONTENT_TEXT_PART;
	part.text_part = &text;
	Agentanycast__V1__Part *parts[] = { &part };
	Agentanycast__V1__Message msg = AGENTANYCAST__V1__MESSAGE__INIT;
	msg.message_id = message_id;
	msg.role = AGENTANYCAST__V1__MESSAGE_ROLE__MESSAGE_ROLE_USER;
	msg.n_parts = 1;
	msg.parts = parts;
	Agentanycast__V1__SendTaskRequest req = AGENTANYCAST__V1__SEND_TASK_REQUEST__INIT;
	req.target_case = AGENTANYCAST__V1__SEND_TASK_REQUEST__TARGET_PEER_ID;
	req.peer_id = b->peer_b;
	req.message = &msg;
	rt->send = call_start(b->a, "SendTask", &req.base, &agentanycast__v1__send_task_response__descriptor,
			      &rt_send_ops, rt, CALL_TIMEOUT_NS);
}

static void rt_poll(struct roundtrip *rt)
{
	Agentanycast__V1__GetTaskRequest req = AGENTANYCAST__V1__GET_TASK_REQUEST__INIT;
	req.task_id = rt->task_id;
	rt->poll_at = 0;
	rt->get = call_start(g_bench.a, "GetTask", &req.base, &agentanycast__v1__get_task_response__descriptor,
			     &rt_get_ops, rt, CALL_TIMEOUT_NS);
}

static void roundtrips_tick(uint64_t now)
{
	for (struct roundtrip *rt = g_bench.live; rt; rt = rt->next) {
		if (now > rt->deadline)
			fail("task %s: no terminal status within %llu s", rt->task_id ? rt->task_id : "(unsent)",
			     (unsigned long long)(CALL_TIMEOUT_NS / SEC_NS));
		if (rt->poll_at && now >= rt->poll_at && !rt->get)
			rt_poll(rt);
	}
}

static void bench_fill(struct bench *b)
{
	while (b->in_flight < b->conc && b->started < b->target)
		rt_start(b);
}

/* N round trips, CONC at a time; LAT (N entries) gets their latencies when not NULL. */
static void bench_phase(struct bench *b, long n, int conc, uint64_t *lat)
{
	b->target = n;
	b->started = b->finished = 0;
	b->conc = conc;
	b->lat = lat;
	bench_fill(b);
	while (b->finished < b->target)
		loop_once(); /* bounded: every round trip has a deadline (roundtrips_tick) */
	b->lat = NULL;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
	return a < b ? -1 : a > b;
}

/* The same rank as a2a_roundtrip.mjs: sorted[min(n - 1, floor(p / 100 * n))]. */
static uint64_t percentile(const uint64_t *sorted, long n, int p)
{
	long i = (long)((double)p / 100.0 * (double)n);
	return sorted[i < n - 1 ? i : n - 1];
}

/* Connects A to B: names both agents, dials B from A on B's loopback addresses. Returns B's
 * peer id (caller frees). */
static char *setup_peers(struct conn *a, struct conn *b)
{
	Agentanycast__V1__GetNodeInfoRequest ni = AGENTANYCAST__V1__GET_NODE_INFO_REQUEST__INIT;
	Agentanycast__V1__GetNodeInfoResponse *ia =
		unary(a, "GetNodeInfo", &ni.base, &agentanycast__v1__get_node_info_response__descriptor);
	Agentanycast__V1__GetNodeInfoResponse *ib =
		unary(b, "GetNodeInfo", &ni.base, &agentanycast__v1__get_node_info_response__descriptor);
	if (!ia->node_info || !ib->node_info || !ib->node_info->peer_id || !*ib->node_info->peer_id)
		fail("GetNodeInfo: no node info");

	const char *names[2] = { "alpha", "beta" }, *descs[2] = { "bench client", "bench handler" };
	struct conn *cs[2] = { a, b };
	for (int i = 0; i < 2; i++) {
		Agentanycast__V1__AgentCard card = AGENTANYCAST__V1__AGENT_CARD__INIT;
		card.name = (char *)names[i];
		card.description = (char *)descs[i];
		card.version = "1.0";
		Agentanycast__V1__SetAgentCardRequest req = AGENTANYCAST__V1__SET_AGENT_CARD_REQUEST__INIT;
		req.card = &card;
		protobuf_c_message_free_unpacked(
			unary(cs[i], "SetAgentCard", &req.base, &agentanycast__v1__set_agent_card_response__descriptor),
			NULL);
	}

	/* B's loopback addresses without the /p2p/<id> suffix: ConnectPeer takes the id apart. */
	const Agentanycast__V1__NodeInfo *nb = ib->node_info;
	char **addrs = aa_calloc(nb->n_listen_addresses + 1, sizeof *addrs);
	size_t naddrs = 0;
	for (size_t i = 0; i < nb->n_listen_addresses; i++) {
		const char *ma = nb->listen_addresses[i];
		if (!ma || !strstr(ma, "/ip4/127.0.0.1/"))
			continue;
		const char *p2p = strstr(ma, "/p2p/");
		addrs[naddrs++] = p2p ? aa_strndup(ma, (size_t)(p2p - ma)) : aa_strdup(ma);
	}
	if (naddrs == 0)
		fail("B has no /ip4/127.0.0.1/ listen address");
	Agentanycast__V1__ConnectPeerRequest cp = AGENTANYCAST__V1__CONNECT_PEER_REQUEST__INIT;
	cp.peer_id = nb->peer_id;
	cp.n_addresses = naddrs;
	cp.addresses = addrs;
	protobuf_c_message_free_unpacked(
		unary(a, "ConnectPeer", &cp.base, &agentanycast__v1__connect_peer_response__descriptor), NULL);
	for (size_t i = 0; i < naddrs; i++)
		free(addrs[i]);
	free(addrs);

	char *peer_b = aa_strdup(nb->peer_id);
	protobuf_c_message_free_unpacked(&ia->base, NULL);
	protobuf_c_message_free_unpacked(&ib->base, NULL);
	return peer_b;
}

static long parse_count(const char *s, long lo, long hi, const char *what)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		fail("%s must be a number in [%ld, %ld], not \"%s\"", what, lo, hi, s);
	return v;
}

static int run_roundtrip(char **argv)
{
	long n_lat = parse_count(argv[4], 1, MAX_N, "N_LAT");
	long n_thr = parse_count(argv[5], 1, MAX_N, "N_THR");
	int conc = (int)parse_count(argv[6], 1, MAX_CONC, "CONCURRENCY");
	struct conn *a = conn_open("A", argv[2]);
	struct conn *b = conn_open("B", argv[3]);
	struct bench *bn = &g_bench;
	bn->a = a;
	bn->pid = (int)getpid();
	bn->peer_b = setup_peers(a, b);
	handler_start(&g_handler, b);

	bench_phase(bn, 300, 1, NULL); /* warm-up: store pages, allocator, connections */
	bench_phase(bn, 1000, conc, NULL);

	uint64_t *lat = aa_calloc((size_t)n_lat, sizeof *lat);
	double cpu0 = cpu_secs();
	bench_phase(bn, n_lat, 1, lat);
	double cpu_lat = cpu_secs() - cpu0;
	qsort(lat, (size_t)n_lat, sizeof *lat, cmp_u64);

	cpu0 = cpu_secs();
	uint64_t t0 = now_ns();
	bench_phase(bn, n_thr, conc, NULL);
	double secs = (double)(now_ns() - t0) / 1e9;
	double cpu_thr = cpu_secs() - cpu0;

	handler_stop(&g_handler);
	loop_drain();
	printf("a2a_grpc n_lat=%ld p50_us=%llu p90_us=%llu p99_us=%llu n=%ld concurrency=%d "
	       "tasks_per_s=%.0f secs=%.2f handled=%ld handler_errors=%ld late=%ld in_answer=%ld\n",
	       n_lat, (unsigned long long)percentile(lat, n_lat, 50),
	       (unsigned long long)percentile(lat, n_lat, 90),
	       (unsigned long long)percentile(lat, n_lat, 99), n_thr, conc, (double)n_thr / secs, secs,
	       g_handler.handled, g_handler.errors, bn->late, bn->in_answer);
	fflush(stdout);
	/* Client and handler together, as one process plays both (so did the Node version). */
	fprintf(stderr, "bench_grpc_load: client CPU %.1f us/task one at a time, %.1f us/task at %d in flight\n",
		cpu_lat * 1e6 / (double)n_lat, cpu_thr * 1e6 / (double)n_thr, conc);
	free(lat);
	free(bn->peer_b);
	return 0;
}

static void on_signal(int sig)
{
	g_stop = 1;
}

static int run_handler(char **argv)
{
	/* SIGTERM/SIGINT stay blocked except inside ppoll, so one that arrives between the
	 * g_stop test and the wait still ends the wait. */
	static sigset_t wait_mask;
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	sigdelset(&wait_mask, SIGTERM);
	sigdelset(&wait_mask, SIGINT);
	g_wait_mask = &wait_mask;
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	struct conn *cn = conn_open("daemon", argv[2]);
	handler_start(&g_handler, cn);
	printf("READY\n");
	fflush(stdout);
	while (!g_stop)
		loop_once();
	handler_stop(&g_handler);
	loop_drain(); /* CompleteTask calls in flight get their answers */
	printf("handled=%ld errors=%ld\n", g_handler.handled, g_handler.errors);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	int rc;
	h2_callbacks_init();
	g_next_tick = now_ns() + TICK_NS;
	if (argc == 3 && strcmp(argv[1], "handler") == 0) {
		rc = run_handler(argv);
	} else if (argc == 7 && strcmp(argv[1], "roundtrip") == 0) {
		rc = run_roundtrip(argv);
	} else {
		fprintf(stderr, "usage: bench_grpc_load handler SOCK\n"
				"       bench_grpc_load roundtrip SOCK_A SOCK_B N_LAT N_THR CONCURRENCY\n");
		return 2;
	}
	for (int i = 0; i < g_nconns; i++)
		conn_close(g_conns[i]);
	nghttp2_session_callbacks_del(g_h2_callbacks);
	return rc;
}
