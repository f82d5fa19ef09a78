/* http_client: an asynchronous HTTP/1.1 client for outbound A2A calls (DECISIONS 9) —
 * libcurl's multi-socket interface driven by our libuv loop (uv_poll per socket, one
 * uv_timer for curl's timeouts). HTTPS verifies peers against the system CAs (or ca_file).
 *
 * Every transfer has a total timeout and a response size limit; a response beyond the limit
 * ends the transfer with AA_ETOOBIG. Streaming transfers (text/event-stream) hand each SSE
 * event to a callback as it arrives instead of buffering the body.
 *
 * Ownership: the client owns its transfers. A transfer's done callback runs exactly once
 * (unless the transfer was cancelled), after which the transfer is freed. Closing the client
 * ends every transfer with AA_ECLOSED, then calls close_cb. Loop thread only. */
#ifndef AA_HTTP_CLIENT_H
#define AA_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct http_client;
struct http_transfer;

/* A timeout of 0 disables it (connect: curl's default of 300 s applies). */
struct http_client_options {
	size_t max_response;          /* bytes of body (or of one SSE event): 16 MiB */
	uint64_t timeout_ms;          /* whole transfer; streams: until their headers: 60000 */
	uint64_t stream_idle_ms;      /* streams: longest silence before AA_ETIMEDOUT: 120000 */
	uint64_t connect_timeout_ms;  /* 10000 */
	size_t max_transfers;         /* concurrent; more → AA_ENOMEM: 256 */
	const char *ca_file;          /* PEM bundle to trust instead of the system CAs (tests) */
};
void http_client_options_default(struct http_client_options *o);

/* o NULL: the defaults; o->ca_file is copied. Loads nothing: libcurl (libcurl.so.4) is
 * loaded and initialised by the process's first http_client_start, on the loop thread. */
int http_client_new(uv_loop_t *loop, const struct http_client_options *o, struct http_client **out);
/* Ends every transfer (done gets AA_ECLOSED; starting more fails with AA_ECLOSED), then calls
 * close_cb (may be NULL) once the loop has closed the client's handles; c is freed then.
 * Allowed from any callback of this client; a second call is ignored. */
void http_client_close(struct http_client *c, void (*close_cb)(void *user), void *user);

/* Redirects are not followed: a 3xx reaches done as a status. Header lines must not
 * contain CR or LF (AA_EINVAL). */
struct http_request_spec {
	const char *method;              /* "GET" or "POST" (no body with GET) */
	const char *url;                 /* http:// or https:// only (else AA_EINVAL) */
	const char *const *headers;      /* NULL-terminated "Name: value" lines, or NULL */
	const void *body;                /* POST body (copied), may be NULL */
	size_t body_len;
};

struct http_response {
	long status;                     /* HTTP status code */
	const char *content_type;        /* "" when absent */
	const char *body;                /* the whole body, NUL-terminated (empty for a stream
					  * that delivered events) */
	size_t body_len;
};

/* err: 0, or AA_ETIMEDOUT, AA_EUNAVAIL (cannot connect / resolve / TLS failure), AA_ETOOBIG,
 * AA_EIO (broken transfer), AA_ECLOSED (client closed), AA_EPROTO (bad SSE framing). resp is
 * set when err == 0 and is borrowed for the duration of the callback. */
typedef void (*http_done_cb)(void *user, int err, const struct http_response *resp);
/* One SSE event's data (events of every type; events with empty data are skipped); return
 * < 0 to end the transfer (done runs with that value). It may start, cancel or close. */
typedef int (*http_event_cb)(void *user, const char *data, size_t len);

/* Starts a transfer. on_event NULL: the body is buffered and handed to done. on_event set:
 * if the response is text/event-stream its events go to on_event as they arrive and done
 * runs at the end of the stream (stream_idle_ms applies instead of timeout_ms); any other
 * content type is buffered as usual (e.g. a JSON-RPC error reply). *out (optional) lets the
 * caller cancel. AA_EIO when libcurl cannot be loaded (the reason is logged), for this and
 * every later transfer. */
int http_client_start(struct http_client *c, const struct http_request_spec *req,
		      http_event_cb on_event, http_done_cb done, void *user,
		      struct http_transfer **out);
/* Aborts a transfer; its done callback is not called. A no-op from inside its own done. */
void http_transfer_cancel(struct http_transfer *t);

#endif
