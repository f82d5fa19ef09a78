/* http_server: libmicrohttpd driven by the libuv loop (see server.h). MHD runs in external
 * polling mode with its own epoll set: the epoll fd is one uv_poll, MHD's next timeout one
 * uv_timer, and every MHD_run() happens from those two callbacks — so MHD's callbacks (and
 * with them our handlers) always run on the loop thread and never re-enter MHD_run().
 *
 * libmicrohttpd is not linked: http_server_new loads it (http/mhd_api) the first time a
 * server is wanted, so a daemon with the bridge and metrics off never maps it. */
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "http/mhd_api.h"

struct header {
	char *name, *value;
	struct header *next;
};

enum ex_state {
	EX_READING,   /* headers in, body arriving */
	EX_TOO_BIG,   /* body beyond max_body: discarded, 413 at the end */
	EX_HANDLING,  /* with the handler */
	EX_REPLIED,   /* response queued in MHD */
	EX_STREAMING, /* streamed response queued; the handler writes into it */
};

struct http_exchange {
	struct http_server *s;
	struct MHD_Connection *conn;
	struct http_exchange *prev, *next;
	char *method, *path;
	char peer[INET6_ADDRSTRLEN + 8];
	struct aa_buf body;
	uint64_t body_deadline_ns;
	enum ex_state state;
	bool in_callback;     /* inside our MHD access callback: queue there, don't resume */
	bool suspended;
	bool handler_holds;   /* the handler may still call us: on_gone is owed */
	/* A reply made but not yet handed to MHD. */
	struct MHD_Response *pending;
	unsigned pending_status;
	struct header *headers;
	/* Streamed response. */
	struct aa_buf out;
	size_t out_off;
	bool stream_end;
	void (*on_gone)(void *user);
	void *gone_user;
};

struct http_server {
	uv_loop_t *loop;
	struct MHD_Daemon *mhd;
	uv_poll_t poll;
	uv_timer_t timer;
	struct http_server_options o;
	char name[32];
	char address[INET6_ADDRSTRLEN + 16];
	bool tls;
	char *cert_pem, *key_pem;
	http_handler_fn handler;
	void *user;
	struct http_exchange *live;
	bool running;         /* inside MHD_run() */
	bool closing;
	int handles_open;
	void (*close_cb)(void *user);
	void *close_user;
};

void http_server_options_default(struct http_server_options *o)
{
	memset(o, 0, sizeof *o);
	o->listen = ":8080";
	o->max_body = 16u * 1024 * 1024;
	o->max_connections = 512;
	o->idle_timeout_s = 120;
	o->body_timeout_s = 30;
	o->header_memory = 64 * 1024;
	o->max_stream_buffer = 4u * 1024 * 1024;
	o->name = "http";
}

/* ---- driving MHD from the loop --------------------------------------------------------- */

static void on_timer(uv_timer_t *t);

static void arm_timer(struct http_server *s)
{
	if (s->closing)
		return;
	MHD_UNSIGNED_LONG_LONG ms = 0;
	if (http_mhd.get_timeout(s->mhd, &ms) == MHD_YES)
		uv_timer_start(&s->timer, on_timer, ms, 0);
	else
		uv_timer_stop(&s->timer);
}

static void run_mhd(struct http_server *s)
{
	if (s->running || s->closing)
		return;
	s->running = true;
	http_mhd.run(s->mhd);
	s->running = false;
	arm_timer(s);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
	(void)status;
	(void)events;
	run_mhd(p->data);
}

static void on_timer(uv_timer_t *t)
{
	run_mhd(t->data);
}

/* A change made outside MHD's callbacks (a late reply, stream data) takes effect at the
 * next MHD_run(): ask for one on the next loop turn. */
static void schedule_run(struct http_server *s)
{
	if (!s->closing)
		uv_timer_start(&s->timer, on_timer, 0, 0);
}

/* ---- exchanges --------------------------------------------------------------------------- */

static void free_headers(struct header *h)
{
	while (h) {
		struct header *next = h->next;
		free(h->name);
		free(h->value);
		free(h);
		h = next;
	}
}

static void ex_free(struct http_exchange *ex)
{
	struct http_server *s = ex->s;
	if (ex->prev)
		ex->prev->next = ex->next;
	else
		s->live = ex->next;
	if (ex->next)
		ex->next->prev = ex->prev;
	if (ex->pending)
		http_mhd.destroy_response(ex->pending);
	free_headers(ex->headers);
	aa_buf_free(&ex->body);
	aa_buf_free(&ex->out);
	free(ex->method);
	free(ex->path);
	free(ex);
}

/* The handler is owed exactly one on_gone if it still holds the exchange. */
static void ex_gone(struct http_exchange *ex)
{
	if (!ex->handler_holds)
		return;
	ex->handler_holds = false;
	if (ex->on_gone)
		ex->on_gone(ex->gone_user);
}

static void ex_resume(struct http_exchange *ex)
{
	if (!ex->suspended)
		return;
	ex->suspended = false;
	http_mhd.resume_connection(ex->conn);
	schedule_run(ex->s);
}

static void apply_headers(struct http_exchange *ex, struct MHD_Response *r)
{
	for (struct header *h = ex->headers; h; h = h->next)
		http_mhd.add_response_header(r, h->name, h->value);
}

static struct MHD_Response *text_response(const char *text)
{
	return http_mhd.create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result queue(struct http_exchange *ex, unsigned status, struct MHD_Response *r)
{
	enum MHD_Result rc = http_mhd.queue_response(ex->conn, status, r);
	http_mhd.destroy_response(r);
	return rc;
}

/* MHD asks for the next piece of a streamed response when the socket can take it. With
 * nothing queued we suspend the connection rather than return 0 and be polled again. */
static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	struct http_exchange *ex = cls;
	size_t avail = ex->out.n - ex->out_off;
	if (avail) {
		size_t n = avail < max ? avail : max;
		memcpy(buf, ex->out.p + ex->out_off, n);
		ex->out_off += n;
		if (ex->out_off == ex->out.n) {
			ex->out.n = 0;
			ex->out_off = 0;
		}
		return (ssize_t)n;
	}
	if (ex->stream_end || ex->s->closing)
		return MHD_CONTENT_READER_END_OF_STREAM;
	ex->suspended = true;
	http_mhd.suspend_connection(ex->conn);
	return 0;
}

/* Hands whatever the handler produced to MHD (from inside the access callback). */
static enum MHD_Result queue_answer(struct http_exchange *ex)
{
	struct MHD_Response *r = ex->pending;
	ex->pending = NULL;
	if (ex->state == EX_STREAMING)
		return queue(ex, ex->pending_status, r);
	ex->state = EX_REPLIED;
	ex->handler_holds = false;
	return queue(ex, ex->pending_status, r);
}

static int64_t content_length(struct MHD_Connection *c)
{
	const char *v = http_mhd.lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (!v)
		return -1;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	return errno || end == v ? INT64_MAX : (int64_t)(n > INT64_MAX ? INT64_MAX : n);
}

static void fill_peer(struct http_exchange *ex)
{
	const union MHD_ConnectionInfo *ci =
		http_mhd.get_connection_info(ex->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	if (sa && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ex->peer, sizeof ex->peer);
	else if (sa && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ex->peer, sizeof ex->peer);
	else
		snprintf(ex->peer, sizeof ex->peer, "unknown");
}

static struct http_exchange *ex_new(struct http_server *s, struct MHD_Connection *c,
				    const char *url, const char *method)
{
	struct http_exchange *ex = aa_calloc(1, sizeof *ex);
	ex->s = s;
	ex->conn = c;
	ex->method = aa_strdup(method);
	ex->path = aa_strdup(url);
	aa_buf_init(&ex->body);
	aa_buf_init(&ex->out);
	fill_peer(ex);
	ex->body_deadline_ns = aa_clock_mono_ns() + (uint64_t)s->o.body_timeout_s * 1000000000u;
	ex->next = s->live;
	if (s->live)
		s->live->prev = ex;
	s->live = ex;
	return ex;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
				 const char *method, const char *version, const char *upload_data,
				 size_t *upload_data_size, void **con_cls)
{
	(void)version;
	struct http_server *s = cls;
	struct http_exchange *ex = *con_cls;
	if (!ex) {
		ex = ex_new(s, c, url, method);
		*con_cls = ex;
		int64_t len = content_length(c);
		if (len > (int64_t)s->o.max_body)
			ex->state = EX_TOO_BIG;
		return MHD_YES;
	}
	if (*upload_data_size) {
		/* REFERENCE F.1 truncates silently; we refuse with 413 instead and never hold more
		 * than max_body. A body that trickles in past body_timeout_s loses its connection. */
		if (aa_clock_mono_ns() > ex->body_deadline_ns) {
			aa_log(AA_LOG_INFO, "http: request body too slow, connection closed", "server",
			       s->name, "peer", ex->peer, NULL);
			return MHD_NO;
		}
		if (ex->state == EX_READING && ex->body.n + *upload_data_size > s->o.max_body) {
			ex->state = EX_TOO_BIG;
			aa_buf_free(&ex->body);
			aa_buf_init(&ex->body);
		}
		if (ex->state == EX_READING)
			aa_buf_append(&ex->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	switch (ex->state) {
	case EX_TOO_BIG:
		ex->state = EX_REPLIED;
		return queue(ex, MHD_HTTP_CONTENT_TOO_LARGE, text_response("request body too large\n"));
	case EX_READING:
		aa_buf_append_byte(&ex->body, 0); /* NUL-terminate for http_body() */
		ex->body.n--;
		ex->state = EX_HANDLING;
		ex->handler_holds = true;
		ex->in_callback = true;
		s->handler(s->user, ex);
		ex->in_callback = false;
		break;
	case EX_HANDLING:
	case EX_STREAMING:
		break;
	case EX_REPLIED:
		return MHD_YES;
	}
	if (ex->pending)
		return queue_answer(ex);
	if (ex->state == EX_HANDLING) {
		/* Answered later: park the connection until http_reply / http_stream_start. */
		ex->suspended = true;
		http_mhd.suspend_connection(c);
	}
	return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	struct http_exchange *ex = *con_cls;
	if (!ex)
		return;
	*con_cls = NULL;
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && ex->handler_holds)
		aa_log(AA_LOG_DEBUG, "http: exchange ended early", "server", ex->s->name, "peer",
		       ex->peer, "path", ex->path, NULL);
	ex_gone(ex);
	ex_free(ex);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct http_server *s = cls;
	char line[512];
	vsnprintf(line, sizeof line, fmt, ap);
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = 0;
	aa_log(AA_LOG_DEBUG, "http: libmicrohttpd", "server", s->name, "detail", line, NULL);
}

/* ---- the request ---------------------------------------------------------------------- */

const char *http_method(const struct http_exchange *ex) { return ex->method; }
const char *http_path(const struct http_exchange *ex) { return ex->path; }
const char *http_peer(const struct http_exchange *ex) { return ex->peer; }

const char *http_header(const struct http_exchange *ex, const char *name)
{
	return http_mhd.lookup_connection_value(ex->conn, MHD_HEADER_KIND, name);
}

const char *http_body(const struct http_exchange *ex, size_t *len)
{
	*len = ex->body.n;
	return ex->body.p ? (const char *)ex->body.p : "";
}

void http_on_gone(struct http_exchange *ex, void (*on_gone)(void *user), void *user)
{
	ex->on_gone = on_gone;
	ex->gone_user = user;
}

/* ---- the response --------------------------------------------------------------------- */

void http_add_header(struct http_exchange *ex, const char *name, const char *value)
{
	struct header *h = aa_calloc(1, sizeof *h);
	h->name = aa_strdup(name);
	h->value = aa_strdup(value);
	h->next = ex->headers;
	ex->headers = h;
}

static void set_pending(struct http_exchange *ex, unsigned status, struct MHD_Response *r,
			const char *content_type)
{
	if (content_type)
		http_mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	apply_headers(ex, r);
	ex->pending = r;
	ex->pending_status = status;
	if (!ex->in_callback)
		ex_resume(ex);
}

void http_reply(struct http_exchange *ex, unsigned status, const char *content_type,
		const void *body, size_t len)
{
	if (ex->state != EX_HANDLING || ex->pending)
		return;
	struct MHD_Response *r = http_mhd.create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		abort(); /* MHD fails here only when out of memory (mem.h: OOM aborts) */
	set_pending(ex, status, r, content_type);
}

void http_reply_text(struct http_exchange *ex, unsigned status, const char *text)
{
	http_reply(ex, status, "text/plain; charset=utf-8", text, strlen(text));
}

void http_reply_json(struct http_exchange *ex, unsigned status, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!text) {
		http_reply_text(ex, 500, "cannot encode the reply\n");
		return;
	}
	http_reply(ex, status, "application/json", text, strlen(text));
	free(text);
}

void http_stream_start(struct http_exchange *ex, unsigned status, const char *content_type)
{
	if (ex->state != EX_HANDLING || ex->pending)
		return;
	struct MHD_Response *r = http_mhd.create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024,
								  stream_reader, ex, NULL);
	if (!r)
		abort(); /* MHD fails here only when out of memory (mem.h: OOM aborts) */
	ex->state = EX_STREAMING;
	set_pending(ex, status, r, content_type);
}

int http_stream_write(struct http_exchange *ex, const void *bytes, size_t n)
{
	if (ex->state != EX_STREAMING || ex->stream_end)
		return AA_ESTATE;
	if (ex->out.n - ex->out_off + n > ex->s->o.max_stream_buffer)
		return AA_ENOMEM;
	aa_buf_append(&ex->out, bytes, n);
	if (!ex->pending)
		ex_resume(ex);
	return 0;
}

size_t http_stream_buffered(const struct http_exchange *ex)
{
	return ex->out.n - ex->out_off;
}

void http_stream_end(struct http_exchange *ex)
{
	if (ex->state != EX_STREAMING || ex->stream_end)
		return;
	ex->stream_end = true;
	ex->handler_holds = false;
	if (!ex->pending)
		ex_resume(ex);
}

/* ---- listening -------------------------------------------------------------------------- */

/* HOST:PORT, ":PORT" or "[v6]:PORT" → a bound, listening socket. An empty host means every
 * interface: IPv6 dual-stack when the system has IPv6, else IPv4. */
static int open_listener(const char *listen_addr, int *out_fd, int *family, char *why, size_t why_len)
{
	char host[256] = "";
	const char *colon = strrchr(listen_addr, ':');
	if (!colon || !colon[1]) {
		snprintf(why, why_len, "listen address '%s' is not HOST:PORT", listen_addr);
		return AA_EINVAL;
	}
	const char *port = colon + 1;
	size_t hlen = (size_t)(colon - listen_addr);
	const char *h = listen_addr;
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen >= sizeof host) {
		snprintf(why, why_len, "listen address '%s': host too long", listen_addr);
		return AA_EINVAL;
	}
	memcpy(host, h, hlen);
	host[hlen] = 0;
	char *end;
	unsigned long p = strtoul(port, &end, 10);
	if (*end || p > 65535) {
		snprintf(why, why_len, "listen address '%s': bad port", listen_addr);
		return AA_EINVAL;
	}
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	hints.ai_family = host[0] ? AF_UNSPEC : AF_INET6;
	struct addrinfo *res = NULL;
	int gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (gai != 0 && !host[0]) {
		hints.ai_family = AF_INET;
		gai = getaddrinfo(NULL, port, &hints, &res);
	}
	if (gai != 0) {
		snprintf(why, why_len, "listen address '%s': %s", listen_addr, gai_strerror(gai));
		return AA_EINVAL;
	}
	int fd = -1, err = 0;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0) {
			err = errno;
			continue;
		}
		int one = 1, zero = 0;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (ai->ai_family == AF_INET6 && !host[0])
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 128) == 0) {
			*family = ai->ai_family;
			break;
		}
		err = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(why, why_len, "cannot listen on %s: %s", listen_addr, strerror(err));
		return AA_EIO;
	}
	*out_fd = fd;
	return 0;
}

static void describe_bound(struct http_server *s, int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char ip[INET6_ADDRSTRLEN] = "";
	unsigned port = 0;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
			port = ntohs(a->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
			port = ntohs(a->sin6_port);
		}
	}
	if (ss.ss_family == AF_INET6)
		snprintf(s->address, sizeof s->address, "[%s]:%u", ip, port);
	else
		snprintf(s->address, sizeof s->address, "%s:%u", ip, port);
}

/* A PEM file, NUL-terminated, as MHD's *_MEM_* options want it (at most 1 MiB). */
static int read_pem(const char *path, char **out, char *why, size_t why_len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(why, why_len, "cannot read %s: %s", path, strerror(errno));
		return AA_EIO;
	}
	struct aa_buf b;
	aa_buf_init(&b);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.n <= 1024 * 1024)
		aa_buf_append(&b, chunk, n);
	bool bad = ferror(f) || b.n > 1024 * 1024;
	fclose(f);
	if (bad) {
		snprintf(why, why_len, "cannot read %s: unreadable or larger than 1 MiB", path);
		aa_buf_free(&b);
		return AA_EIO;
	}
	aa_buf_append_byte(&b, 0);
	*out = (char *)b.p;
	return 0;
}

int http_server_new(uv_loop_t *loop, const struct http_server_options *o, http_handler_fn handler,
		    void *user, struct http_server **out, char *why, size_t why_len)
{
	char scratch[8];
	if (!why) {
		why = scratch;
		why_len = sizeof scratch;
	}
	why[0] = 0;
	const char *load_why = "";
	if (http_mhd_load(&load_why) < 0) {
		aa_set_why(why, why_len, "the %s HTTP server needs libmicrohttpd: %s",
			   o->name ? o->name : "http", load_why);
		return AA_EIO;
	}
	struct http_server *s = aa_calloc(1, sizeof *s);
	s->loop = loop;
	s->o = *o;
	snprintf(s->name, sizeof s->name, "%s", o->name ? o->name : "http");
	s->handler = handler;
	s->user = user;
	bool want_tls = o->tls_cert_file && *o->tls_cert_file && o->tls_key_file && *o->tls_key_file;
	int rc = 0;
	if (want_tls && ((rc = read_pem(o->tls_cert_file, &s->cert_pem, why, why_len)) < 0 ||
			 (rc = read_pem(o->tls_key_file, &s->key_pem, why, why_len)) < 0))
		goto fail;
	int fd = -1, family = AF_INET;
	if ((rc = open_listener(o->listen, &fd, &family, why, why_len)) < 0)
		goto fail;
	describe_bound(s, fd);
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	if (family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (want_tls)
		flags |= MHD_USE_TLS;
	struct MHD_OptionItem opts[] = {
		{ MHD_OPTION_LISTEN_SOCKET, fd, NULL },
		{ MHD_OPTION_CONNECTION_LIMIT, o->max_connections, NULL },
		{ MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->max_per_ip, NULL },
		{ MHD_OPTION_CONNECTION_TIMEOUT, o->idle_timeout_s, NULL },
		{ MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)o->header_memory, NULL },
		{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s },
		{ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_log, s },
		{ want_tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, s->cert_pem },
		{ want_tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, s->key_pem },
		{ MHD_OPTION_END, 0, NULL },
	};
	s->mhd = http_mhd.start_daemon(flags, 0, NULL, NULL, on_access, s, MHD_OPTION_ARRAY, opts,
				  MHD_OPTION_END);
	if (!s->mhd) {
		close(fd);
		snprintf(why, why_len, "libmicrohttpd refused to start on %s%s", s->address,
			 want_tls ? " (is the TLS certificate and key valid PEM?)" : "");
		rc = AA_EIO;
		goto fail;
	}
	s->tls = want_tls;
	const union MHD_DaemonInfo *di = http_mhd.get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	uv_poll_init(loop, &s->poll, di->epoll_fd);
	uv_timer_init(loop, &s->timer);
	s->poll.data = s->timer.data = s;
	s->handles_open = 2;
	uv_poll_start(&s->poll, UV_READABLE, on_poll);
	arm_timer(s);
	*out = s;
	return 0;
fail:
	free(s->cert_pem);
	free(s->key_pem);
	free(s);
	return rc;
}

const char *http_server_address(const struct http_server *s) { return s->address; }
bool http_server_is_tls(const struct http_server *s) { return s->tls; }

static void on_handle_closed(uv_handle_t *h)
{
	struct http_server *s = h->data;
	if (--s->handles_open > 0)
		return;
	void (*cb)(void *) = s->close_cb;
	void *u = s->close_user;
	free(s->cert_pem);
	free(s->key_pem);
	free(s);
	if (cb)
		cb(u);
}

void http_server_close(struct http_server *s, void (*close_cb)(void *user), void *user)
{
	s->close_cb = close_cb;
	s->close_user = user;
	/* Tell every handler first, then let MHD see every connection again: stopping a daemon
	 * with suspended connections is not allowed. */
	for (struct http_exchange *ex = s->live; ex; ex = ex->next) {
		ex_gone(ex);
		if (ex->state == EX_HANDLING && !ex->pending) {
			ex->pending = text_response("server shutting down\n");
			ex->pending_status = MHD_HTTP_SERVICE_UNAVAILABLE;
		}
		ex->stream_end = true;
		if (ex->suspended) {
			ex->suspended = false;
			http_mhd.resume_connection(ex->conn);
		}
	}
	s->running = true;
	http_mhd.run(s->mhd);
	s->running = false;
	s->closing = true;
	uv_poll_stop(&s->poll);
	uv_timer_stop(&s->timer);
	http_mhd.stop_daemon(s->mhd);
	s->mhd = NULL;
	uv_close((uv_handle_t *)&s->poll, on_handle_closed);
	uv_close((uv_handle_t *)&s->timer, on_handle_closed);
}
