/* grpc: a gRPC server (grpc/grpc doc/PROTOCOL-HTTP2.md) on nghttp2, driven by one libuv loop,
 * generic over services. Callers register full method names with handler callbacks and get
 * raw message bytes; protobuf encoding is theirs. Listens on unix://PATH, tcp://HOST:PORT or
 * a bare path. Everything runs on the loop thread: no function here may be called from
 * another thread.
 *
 * Call ownership, exactly:
 *   - The server owns every struct grpc_call. A call is handed to its method's handler when
 *     its request headers have been accepted (on_start, whether or not the handler sets
 *     that callback); from then on the handler may keep the pointer and use it from any
 *     later loop callback, e.g. to finish it asynchronously.
 *   - The handler's hold ends in exactly one of two ways:
 *       (a) the handler calls grpc_call_finish(): the pointer is invalid as soon as that
 *           returns, and no callback for that call follows;
 *       (b) the server calls on_cancel (client RST_STREAM, connection loss, deadline
 *           expiry, a protocol error by the client on that call, or server close): the
 *           pointer stays valid during on_cancel and is invalid after it returns.
 *           grpc_call_finish() must not be called from on_cancel.
 *   - In both cases the server frees the call when it is done with the stream.
 * Callbacks may call any grpc_call_* function on any call the handler holds, and
 * grpc_server_register/grpc_health_set; they must not call grpc_server_close(). */
#ifndef AA_RPC_GRPC_H
#define AA_RPC_GRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* gRPC status codes (grpc/grpc doc/statuscodes.md). */
enum grpc_status_code {
	GRPC_STATUS_OK = 0,
	GRPC_STATUS_CANCELLED = 1,
	GRPC_STATUS_UNKNOWN = 2,
	GRPC_STATUS_INVALID_ARGUMENT = 3,
	GRPC_STATUS_DEADLINE_EXCEEDED = 4,
	GRPC_STATUS_NOT_FOUND = 5,
	GRPC_STATUS_ALREADY_EXISTS = 6,
	GRPC_STATUS_PERMISSION_DENIED = 7,
	GRPC_STATUS_RESOURCE_EXHAUSTED = 8,
	GRPC_STATUS_FAILED_PRECONDITION = 9,
	GRPC_STATUS_ABORTED = 10,
	GRPC_STATUS_OUT_OF_RANGE = 11,
	GRPC_STATUS_UNIMPLEMENTED = 12,
	GRPC_STATUS_INTERNAL = 13,
	GRPC_STATUS_UNAVAILABLE = 14,
	GRPC_STATUS_DATA_LOSS = 15,
	GRPC_STATUS_UNAUTHENTICATED = 16,
};

/* Returns the canonical name ("OK", "DEADLINE_EXCEEDED", ...) or "UNKNOWN". */
const char *grpc_status_name(int code);

enum grpc_method_kind {
	GRPC_UNARY,         /* exactly one request message, one response (finish after it) */
	GRPC_SERVER_STREAM, /* exactly one request message, any number of responses */
	GRPC_CLIENT_STREAM, /* any number of request messages, one response */
	GRPC_BIDI,          /* any number both ways */
};

/* Why on_cancel was called. */
enum grpc_cancel_reason {
	GRPC_CANCEL_CLIENT,     /* the client reset the stream (RST_STREAM) */
	GRPC_CANCEL_DEADLINE,   /* grpc-timeout expired; the stream is reset with CANCEL */
	GRPC_CANCEL_CONNECTION, /* the connection closed (EOF, error, keepalive, GOAWAY) */
	GRPC_CANCEL_PROTOCOL,   /* the client broke the call (e.g. an oversized or truncated
	                           message); the server has sent the error status itself */
	GRPC_CANCEL_SHUTDOWN,   /* grpc_server_close() */
};

struct grpc_server;
struct grpc_call;

/* Handler callbacks; any may be NULL. `user` is the pointer given to grpc_server_register.
 * For GRPC_UNARY and GRPC_SERVER_STREAM the server checks that exactly one request message
 * arrives (else INTERNAL, as grpc-java and grpc-go do) and then calls on_message once and
 * on_half_close once. Messages are delivered in order; `msg` is borrowed for the call. */
struct grpc_handler {
	void (*on_start)(struct grpc_call *call, void *user);
	void (*on_message)(struct grpc_call *call, const uint8_t *msg, size_t len, void *user);
	/* The client sent END_STREAM after its last message (delivered after every message). */
	void (*on_half_close)(struct grpc_call *call, void *user);
	void (*on_cancel)(struct grpc_call *call, enum grpc_cancel_reason why, void *user);
	/* The send queue dropped below its limit after grpc_call_send() filled it or refused. */
	void (*on_writable)(struct grpc_call *call, void *user);
};

struct grpc_server_options {
	unsigned max_connections;        /* further connections are closed at accept (64) */
	uint32_t max_concurrent_streams; /* SETTINGS_MAX_CONCURRENT_STREAMS (100) */
	size_t max_recv_message;         /* larger requests: RESOURCE_EXHAUSTED (16 MiB) */
	size_t max_send_message;         /* grpc_call_send refuses larger (16 MiB) */
	size_t send_queue_limit;         /* per-call queued response bytes before AA_EAGAIN (1 MiB) */
	uint32_t stream_window;          /* SETTINGS_INITIAL_WINDOW_SIZE (256 KiB) */
	uint32_t connection_window;      /* connection receive window (16 MiB) */
	/* Bytes of partly received messages one connection may hold; at least
	 * max_recv_message + 5 (default 2 * that). Streams wait (flow control) for room. */
	size_t recv_budget;
	uint32_t max_header_list;        /* SETTINGS_MAX_HEADER_LIST_SIZE; larger: reset (16 KiB) */
	uint64_t keepalive_ms;           /* PING after this long without input; 0 = never (60 s) */
	uint64_t keepalive_timeout_ms;   /* close when nothing arrives this long after (20 s) */
	uint64_t idle_ms;                /* GOAWAY after this long with no call; 0 = never (0) */
};

void grpc_server_options_default(struct grpc_server_options *o);

/* Creates a server on loop (options copied; NULL = defaults). */
struct grpc_server *grpc_server_new(uv_loop_t *loop, const struct grpc_server_options *o);

/* Registers a full method name, "/package.Service/Method" (case-sensitive). The handler
 * struct is copied. Returns 0, AA_EINVAL for a malformed name, AA_EEXIST if registered. */
int grpc_server_register(struct grpc_server *s, const char *path, enum grpc_method_kind kind,
			 const struct grpc_handler *h, void *user);

/* Starts listening on addr: "unix://PATH", "tcp://HOST:PORT" (HOST a name, an IPv4 address,
 * "[IPv6]" or empty for all interfaces; PORT may be 0), or a bare PATH (= unix://PATH).
 * For Unix sockets a stale socket file is removed first (a live one, or a file that is not
 * a socket, is left alone: AA_EEXIST); the socket is bound under a temporary name in the same
 * directory, made 0600, put into listening state and only then renamed to PATH, so the file
 * appears only when the server can answer; it is unlinked on close. On success writes the
 * bound address ("unix:///abs/or/rel/path", "tcp://127.0.0.1:40123", "tcp://[::1]:40123")
 * into bound if non-NULL. Returns 0 or AA_EINVAL / AA_EEXIST / AA_EIO / AA_ERANGE. */
int grpc_server_listen(struct grpc_server *s, const char *addr, char *bound, size_t boundlen);

/* Stops listening (unlinking Unix socket files at once), cancels every call (on_cancel with
 * GRPC_CANCEL_SHUTDOWN), closes every connection after a GOAWAY, and frees the server once
 * its handles have closed; then calls on_closed(arg) if given. The loop must run for that.
 * The server pointer is invalid after this call. */
void grpc_server_close(struct grpc_server *s, void (*on_closed)(void *arg), void *arg);

/* Counts for tests and metrics. */
size_t grpc_server_connection_count(const struct grpc_server *s);
size_t grpc_server_call_count(const struct grpc_server *s);

/* Finished calls of one method by final status code (agentanycast_grpc_requests_total). A
 * call counts once, when the server lets go of it: with the status it finished with (by the
 * handler, or by the server for a broken or rejected request); a call cancelled without a
 * status counts as DEADLINE_EXCEEDED when its deadline passed, else CANCELLED (client reset,
 * connection loss, shutdown). Requests for a path that is not registered count under
 * method NULL, so the table is bounded by the registrations. */
struct grpc_method_stats {
	const char *method; /* full name (borrowed from the registry), NULL: unregistered paths */
	uint64_t by_code[GRPC_STATUS_UNAUTHENTICATED + 1];
};
/* Fills out[0..cap) with one row per registered method and a last row for unregistered
 * paths; returns how many rows there are (may exceed cap). Method rows are valid until the
 * next grpc_server_register. */
size_t grpc_server_method_stats(const struct grpc_server *s, struct grpc_method_stats *out,
				size_t cap);

/* --- calls (valid only while the handler holds them, see above) ------------------------ */

/* Queues one response message (copied). Sends the response headers first if needed.
 * Returns 0 when queued; AA_EAGAIN, queueing nothing, when send_queue_limit bytes or more
 * are already queued (on_writable follows once the queue drains below the limit);
 * AA_ETOOBIG above max_send_message; AA_ECLOSED when the stream can no longer carry data. */
int grpc_call_send(struct grpc_call *call, const uint8_t *msg, size_t len);
/* Bytes (prefixes included) queued in the call and not yet handed to HTTP/2. */
size_t grpc_call_send_queued_bytes(const struct grpc_call *call);
/* True when grpc_call_send would queue (the queue is below its limit). */
bool grpc_call_writable(const struct grpc_call *call);

/* Ends the call: any queued messages go out, then trailers with grpc-status and, if msg is
 * non-empty, grpc-message (percent-encoded); a call that has sent nothing gets one
 * Trailers-Only HEADERS frame. The handler's hold ends here (see above). Returns 0, or
 * AA_EINVAL for a status outside 0-16 (the call is then finished with UNKNOWN). */
int grpc_call_finish(struct grpc_call *call, int status, const char *msg);

/* Stops delivering request messages (and stops returning flow-control window for them, so
 * the client is held back) until grpc_call_resume_recv(); half-close waits too. */
void grpc_call_pause_recv(struct grpc_call *call);
void grpc_call_resume_recv(struct grpc_call *call);

/* Per-call pointer for the handler (NULL until set). */
void grpc_call_set_data(struct grpc_call *call, void *data);
void *grpc_call_data(const struct grpc_call *call);
/* The full method name of the call (borrowed from the registry). */
const char *grpc_call_method(const struct grpc_call *call);
/* Milliseconds left before the client's deadline (UINT64_MAX when it sent none). */
uint64_t grpc_call_deadline_left_ms(const struct grpc_call *call);

/* --- in-memory connections, for the fuzzer and unit tests --------------------------------
 * A connection without a socket: bytes from the client are fed in, bytes the server would
 * send go to out(). Keepalive and idle timers are not used. Freed by grpc_conn_mem_free or
 * by grpc_server_close. */
struct grpc_conn;
struct grpc_conn *grpc_conn_mem_new(struct grpc_server *s,
				    void (*out)(void *arg, const uint8_t *p, size_t n), void *arg);
/* Feeds client bytes and flushes the server's answer to out(). Returns 0, or AA_ECLOSED once
 * the server has ended the connection (further feeds do nothing). */
int grpc_conn_mem_feed(struct grpc_conn *c, const uint8_t *p, size_t n);
/* Runs the work grpc_call_* calls from outside callbacks left pending (as the loop would). */
void grpc_conn_mem_flush(struct grpc_conn *c);
void grpc_conn_mem_free(struct grpc_conn *c);

#endif
