/* http_server: an HTTP/1.1 server (HTTPS when given a certificate) for the bridge and the
 * metrics endpoint — libmicrohttpd in "external polling" mode, driven by our libuv loop:
 * MHD's epoll fd is watched with a uv_poll, its timeout with a uv_timer. Nothing blocks the
 * loop and no thread is created.
 *
 * A request reaches the handler once its headers and body are complete. The handler answers
 * at once (http_reply) or later: an exchange left unanswered is suspended in MHD until
 * http_reply or http_stream_start is called, so long calls (a blocking message/send) cost
 * no thread and no polling. A streamed response (SSE) is written piece by piece with
 * http_stream_write and ended with http_stream_end.
 *
 * Limits (each from the options): connections in total and per IP, request header memory,
 * body size (413 without reading further), connection idle timeout, total time to receive a
 * body, bytes buffered for one streamed response.
 *
 * Ownership: the server owns exchanges. An exchange stays valid until the handler has
 * answered and the response was sent, or until its on_gone callback has run (the client
 * went away, the response failed, or the server is closing) — after on_gone the handler must
 * forget it. Loop thread only. */
#ifndef AA_HTTP_SERVER_H
#define AA_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <stdint.h>
#include <uv.h>

struct http_server;
struct http_exchange;

struct http_server_options {
	const char *listen;          /* HOST:PORT, ":PORT" (all interfaces), "[v6]:PORT" */
	const char *tls_cert_file;   /* PEM; HTTPS when both are set */
	const char *tls_key_file;
	size_t max_body;             /* 16 MiB (REFERENCE F.1); larger → 413 */
	unsigned max_connections;    /* 512 */
	unsigned max_per_ip;         /* 0 = no per-IP bound: 0 */
	unsigned idle_timeout_s;     /* no byte in either direction: 120 (REFERENCE F.1) */
	unsigned body_timeout_s;     /* whole request body after the headers: 30 */
	size_t header_memory;        /* per connection, for headers and MHD's buffers: 64 KiB */
	size_t max_stream_buffer;    /* unsent bytes of one streamed response: 4 MiB */
	const char *name;            /* for logs: "bridge", "metrics" */
};
void http_server_options_default(struct http_server_options *o);

typedef void (*http_handler_fn)(void *user, struct http_exchange *ex);

/* Binds and starts serving. why (optional) receives a reason on failure: a bad listen
 * address (AA_EINVAL), unreadable TLS files (AA_EIO), bind failure (AA_EIO), libmicrohttpd
 * (loaded by the first call) missing (AA_EIO). */
int http_server_new(uv_loop_t *loop, const struct http_server_options *o, http_handler_fn handler,
		    void *user, struct http_server **out, char *why, size_t why_len);
/* The bound address as HOST:PORT (the real port when ":0" was asked). */
const char *http_server_address(const struct http_server *s);
bool http_server_is_tls(const struct http_server *s);
/* Ends every exchange (on_gone runs for those the handler holds), stops listening, and
 * calls close_cb (may be NULL) once every handle is closed and the server is freed. */
void http_server_close(struct http_server *s, void (*close_cb)(void *user), void *user);

/* ---- the request ---------------------------------------------------------------------- */
const char *http_method(const struct http_exchange *ex);
const char *http_path(const struct http_exchange *ex);        /* without the query string */
const char *http_header(const struct http_exchange *ex, const char *name); /* NULL if absent */
const char *http_body(const struct http_exchange *ex, size_t *len);        /* NUL-terminated */
/* The client's address as text (for logs and per-source limits). */
const char *http_peer(const struct http_exchange *ex);

/* Called once if the exchange ends before the handler is done with it (see the top).
 * Set it before returning from the handler when answering later. */
void http_on_gone(struct http_exchange *ex, void (*on_gone)(void *user), void *user);

/* ---- the response --------------------------------------------------------------------- */
/* Adds a response header (copied) for the reply or stream to come. */
void http_add_header(struct http_exchange *ex, const char *name, const char *value);
/* The whole response (body copied). Exactly one of http_reply / http_stream_start. */
void http_reply(struct http_exchange *ex, unsigned status, const char *content_type,
		const void *body, size_t len);
/* http_reply with a text/plain body. */
void http_reply_text(struct http_exchange *ex, unsigned status, const char *text);
/* http_reply with body as compact JSON (application/json); takes the reference to body
 * (NULL is fine: a failed json_pack). 500 if it cannot be encoded. */
void http_reply_json(struct http_exchange *ex, unsigned status, json_t *body);
/* Starts a streamed (chunked) response. */
void http_stream_start(struct http_exchange *ex, unsigned status, const char *content_type);
/* Queues bytes (copied). AA_ENOMEM when the client is not reading and max_stream_buffer is
 * exceeded: the caller should end the stream. */
int http_stream_write(struct http_exchange *ex, const void *bytes, size_t n);
/* Unsent bytes of a streamed response. */
size_t http_stream_buffered(const struct http_exchange *ex);
/* Ends the stream once everything queued is sent. The exchange is freed after that (no
 * on_gone call for a stream the handler ended). */
void http_stream_end(struct http_exchange *ex);

#endif
