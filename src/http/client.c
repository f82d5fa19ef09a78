/* http_client: an asynchronous HTTP/1.1 client, libcurl's multi-socket interface driven by a
 * libuv loop.
 *
 * Loading: libcurl is not linked but loaded by the first transfer (http/curl_api), which
 * also makes the client's multi handle; http_client_new touches no libcurl at all. The
 * daemon makes its client at start while its default configuration never sends over HTTP,
 * and libcurl with the libraries it needs and OpenSSL's libssl initialised costs a few MiB.
 * Without libcurl every transfer fails at http_client_start with AA_EIO (logged once).
 *
 * Driving: curl says through its socket callback which sockets to watch (one uv_poll_t each,
 * keyed to curl's socket entry with curl_multi_assign, never by descriptor number, because
 * curl may reuse a descriptor after CURL_POLL_REMOVE) and through its timer callback when to
 * call it back (one uv_timer_t). Both paths end in client_drive(): curl_multi_socket_action(),
 * then client_flush(), where every user callback except on_event runs.
 *
 * Reentrancy: libcurl forbids multi calls from inside its callbacks, and on_event runs inside
 * the write callback. So while curl runs (in_curl), cancel only flags a transfer, start only
 * queues one and close only flags the client; client_flush() does the work once curl has
 * returned. Outside curl everything is immediate. A done callback may start, cancel or close
 * freely: the finished transfer is unlinked before done runs and freed after it, and every
 * loop over transfers restarts from the list head after a callback. The client itself is
 * freed only in the last uv close callback, so it outlives any stack frame that uses it.
 *
 * Timeouts: buffered transfers use CURLOPT_TIMEOUT_MS. Transfers with on_event use our own
 * deadline (a second uv_timer shared by all transfers): timeout_ms until the response turns
 * out to be text/event-stream, then stream_idle_ms counted from the last byte received.
 *
 * Redirects are not followed: A2A calls are JSON-RPC POSTs, and replaying one at another URL
 * is not something to do behind the caller's back; a 3xx reaches done as a status. */
#include "http/client.h"

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "http/curl_api.h"
#include "http/sse.h"

struct http_socket {
	uv_poll_t poll;
	struct http_client *client;
	curl_socket_t fd;
	struct http_socket *prev, *next;
};

struct http_transfer {
	struct http_client *client;
	struct http_transfer *prev, *next;
	CURL *easy;
	struct curl_slist *headers;
	http_event_cb on_event;
	http_done_cb done;
	void *user;
	bool linked;     /* in client->transfers */
	bool added;      /* the easy handle is in the multi */
	bool cancelled;  /* cancelled while curl ran: the next flush frees it, silently */
	bool finishing;  /* done is running; cancel is a no-op */
	bool streaming;  /* the response is text/event-stream */
	int stop_err;    /* why our write callback stopped curl (AA_ETOOBIG, on_event's value) */
	uint64_t deadline; /* loop time in ms of our own timeout; 0: none (curl's, if any) */
	struct aa_buf body;
	struct sse_parser sse;
	char errbuf[CURL_ERROR_SIZE];
};

struct http_client {
	uv_loop_t *loop;
	CURLM *multi; /* NULL before the first transfer and once closed */
	struct http_client_options opt;
	char *ca_file;
	uv_timer_t curl_timer;
	uv_timer_t deadline_timer;
	struct http_transfer *transfers;
	struct http_socket *sockets;
	size_t n_transfers;
	int in_curl;         /* inside curl_multi_socket_action(): no multi calls allowed */
	bool need_sweep;     /* a transfer was cancelled or started while curl ran */
	bool closing;        /* http_client_close() was called */
	bool close_deferred; /* ...while curl ran: client_flush() closes */
	int open_handles;    /* uv handles whose close callback has not run yet */
	void (*close_cb)(void *user);
	void *close_user;
};

static void client_flush(struct http_client *c);
static void client_on_deadline(uv_timer_t *h);
static int client_start_curl(struct http_client *c);

void http_client_options_default(struct http_client_options *o)
{
	o->max_response = 16u << 20;
	o->timeout_ms = 60000;
	o->stream_idle_ms = 120000;
	o->connect_timeout_ms = 10000;
	o->max_transfers = 256;
	o->ca_file = NULL;
}

/* --- the client's handles ------------------------------------------------------------- */

/* The last handle's close callback frees the client and reports the close; the timers close
 * only in client_close_now(), so the count cannot reach zero earlier. */
static void client_handle_gone(struct http_client *c)
{
	if (--c->open_handles > 0)
		return;
	void (*cb)(void *) = c->close_cb;
	void *user = c->close_user;
	free(c->ca_file);
	free(c);
	if (cb)
		cb(user);
}

static void client_on_timer_closed(uv_handle_t *h)
{
	client_handle_gone(h->data);
}

static void socket_on_closed(uv_handle_t *h)
{
	struct http_socket *s = h->data;
	struct http_client *c = s->client;
	free(s);
	client_handle_gone(c);
}

static void client_drive(struct http_client *c, curl_socket_t fd, int flags)
{
	if (!c->multi)
		return;
	int running;
	c->in_curl++;
	http_curl.multi_socket_action(c->multi, fd, flags, &running);
	c->in_curl--;
	client_flush(c);
}

static void socket_on_poll(uv_poll_t *h, int status, int events)
{
	struct http_socket *s = h->data;
	int flags = 0;
	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	client_drive(s->client, s->fd, flags);
}

static struct http_socket *socket_open(struct http_client *c, curl_socket_t fd)
{
	struct http_socket *s = aa_calloc(1, sizeof *s);
	if (uv_poll_init_socket(c->loop, &s->poll, fd) != 0) {
		free(s);
		return NULL;
	}
	s->poll.data = s;
	s->client = c;
	s->fd = fd;
	s->next = c->sockets;
	if (c->sockets)
		c->sockets->prev = s;
	c->sockets = s;
	c->open_handles++;
	http_curl.multi_assign(c->multi, fd, s);
	return s;
}

/* Closing the poll handle unregisters the descriptor at once (libuv does that inside
 * uv_close), while curl still has it open; only the memory waits for the callback. */
static void socket_close(struct http_client *c, struct http_socket *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		c->sockets = s->next;
	if (s->next)
		s->next->prev = s->prev;
	if (c->multi)
		http_curl.multi_assign(c->multi, s->fd, NULL);
	uv_close((uv_handle_t *)&s->poll, socket_on_closed);
}

static int client_on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct http_client *c = userp;
	struct http_socket *s = socketp;
	if (!c->multi) /* inside curl_multi_cleanup(): every poll handle is already closed */
		return 0;
	if (what == CURL_POLL_REMOVE) {
		if (s)
			socket_close(c, s);
		return 0;
	}
	if (!s && !(s = socket_open(c, fd)))
		return -1;
	int events = 0;
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	return uv_poll_start(&s->poll, events, socket_on_poll) == 0 ? 0 : -1;
}

static void client_on_curl_timer_fired(uv_timer_t *h)
{
	client_drive(h->data, CURL_SOCKET_TIMEOUT, 0);
}

/* curl asks for a call back in timeout_ms (0: as soon as possible, which must still not be
 * from inside this callback) or for none (-1). */
static int client_on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct http_client *c = userp;
	if (timeout_ms < 0)
		uv_timer_stop(&c->curl_timer);
	else
		uv_timer_start(&c->curl_timer, client_on_curl_timer_fired, (uint64_t)timeout_ms, 0);
	return 0;
}

/* --- deadlines of streaming transfers ------------------------------------------------- */

static void client_arm_deadline(struct http_client *c, uint64_t deadline)
{
	if (!c->multi)
		return;
	uint64_t now = uv_now(c->loop);
	uint64_t delay = deadline > now ? deadline - now : 0;
	if (uv_is_active((uv_handle_t *)&c->deadline_timer) &&
	    uv_timer_get_due_in(&c->deadline_timer) <= delay)
		return;
	uv_timer_start(&c->deadline_timer, client_on_deadline, delay, 0);
}

static void transfer_set_deadline(struct http_transfer *t, uint64_t ms)
{
	if (ms == 0) {
		t->deadline = 0;
		return;
	}
	t->deadline = uv_now(t->client->loop) + ms;
	client_arm_deadline(t->client, t->deadline);
}

/* Deadlines only move later as bytes arrive, so the timer may fire early; it then re-arms
 * for the earliest deadline left. */
static void client_rearm_deadlines(struct http_client *c)
{
	uint64_t next = 0;
	for (struct http_transfer *t = c->transfers; t; t = t->next)
		if (!t->cancelled && t->deadline && (next == 0 || t->deadline < next))
			next = t->deadline;
	uv_timer_stop(&c->deadline_timer);
	if (next)
		client_arm_deadline(c, next);
}

/* --- transfers ------------------------------------------------------------------------ */

static void transfer_free(struct http_transfer *t)
{
	http_curl.easy_cleanup(t->easy);
	http_curl.slist_free_all(t->headers);
	aa_buf_free(&t->body);
	sse_parser_free(&t->sse);
	free(t);
}

static int transfer_add(struct http_transfer *t)
{
	if (http_curl.multi_add_handle(t->client->multi, t->easy) != CURLM_OK)
		return AA_EIO;
	t->added = true;
	return 0;
}

/* Unlinks t from the client and takes its easy handle out of the multi. */
static void transfer_detach(struct http_transfer *t)
{
	struct http_client *c = t->client;
	if (t->added && c->multi)
		http_curl.multi_remove_handle(c->multi, t->easy);
	t->added = false;
	if (!t->linked)
		return;
	if (t->prev)
		t->prev->next = t->next;
	else
		c->transfers = t->next;
	if (t->next)
		t->next->prev = t->prev;
	t->linked = false;
	if (--c->n_transfers == 0)
		uv_timer_stop(&c->deadline_timer);
}

static void transfer_response(struct http_transfer *t, struct http_response *resp)
{
	long status = 0;
	char *type = NULL;
	http_curl.easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	http_curl.easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &type);
	resp->status = status;
	resp->content_type = type ? type : "";
	resp->body = "";
	resp->body_len = 0;
	if (!t->streaming && t->body.n > 0) {
		aa_buf_reserve(&t->body, 0);
		t->body.p[t->body.n] = 0;
		resp->body = (const char *)t->body.p;
		resp->body_len = t->body.n;
	}
}

static void transfer_log_failure(struct http_transfer *t, int err)
{
	if (!aa_log_enabled(AA_LOG_DEBUG))
		return;
	char *url = NULL;
	http_curl.easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &url);
	aa_log(AA_LOG_DEBUG, "http transfer failed", "url", url ? url : "", "error",
	       aa_strerror(err), "detail", t->errbuf, NULL);
}

/* Ends t: done (unless cancelled) with err, then frees it. */
static void transfer_finish(struct http_transfer *t, int err)
{
	transfer_detach(t);
	if (!t->cancelled) {
		struct http_response resp;
		t->finishing = true;
		if (err == 0)
			transfer_response(t, &resp);
		else
			transfer_log_failure(t, err);
		t->done(t->user, err, err == 0 ? &resp : NULL);
	}
	transfer_free(t);
}

static int transfer_result(const struct http_transfer *t, CURLcode rc)
{
	if (rc == CURLE_OK)
		return 0;
	if (t->stop_err)
		return t->stop_err;
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return AA_ETIMEDOUT;
	case CURLE_FILESIZE_EXCEEDED:
		return AA_ETOOBIG;
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_USE_SSL_FAILED:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
		return AA_EUNAVAIL;
	default:
		return AA_EIO;
	}
}

/* Runs inside curl's write callback. Events with empty data carry nothing to act on (some
 * servers send them as keep-alives), so they are not delivered. */
static int transfer_on_sse_event(void *user, const char *type, const char *data, size_t len)
{
	struct http_transfer *t = user;
	if (len == 0)
		return 0;
	int rc = t->on_event(t->user, data, len);
	if (t->cancelled || t->client->closing)
		return AA_ECANCELED;
	return rc < 0 ? rc : 0;
}

static bool content_type_is_sse(const char *type)
{
	static const char sse[] = "text/event-stream";
	type += strspn(type, " \t");
	if (strncasecmp(type, sse, sizeof sse - 1) != 0)
		return false;
	char next = type[sizeof sse - 1];
	return next == 0 || next == ';' || next == ' ' || next == '\t';
}

/* At the end of a final (non-1xx) response's headers: is it an event stream? */
static void transfer_check_stream(struct http_transfer *t)
{
	long status = 0;
	char *type = NULL;
	http_curl.easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200)
		return;
	http_curl.easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &type);
	if (!type || !content_type_is_sse(type))
		return;
	t->streaming = true;
	transfer_set_deadline(t, t->client->opt.stream_idle_ms);
}

static size_t transfer_on_header(char *line, size_t size, size_t count, void *user)
{
	struct http_transfer *t = user;
	size_t n = size * count;
	bool blank = n > 0 && n <= 2 && (line[0] == '\r' || line[0] == '\n');
	if (blank && t->on_event && !t->streaming)
		transfer_check_stream(t);
	return n;
}

static size_t transfer_on_body(char *bytes, size_t size, size_t count, void *user)
{
	struct http_transfer *t = user;
	struct http_client *c = t->client;
	size_t n = size * count;
	if (t->cancelled || c->closing)
		return CURL_WRITEFUNC_ERROR;
	if (t->streaming) {
		if (c->opt.stream_idle_ms)
			t->deadline = uv_now(c->loop) + c->opt.stream_idle_ms;
		int rc = sse_parser_feed(&t->sse, bytes, n);
		if (rc < 0) {
			t->stop_err = rc;
			return CURL_WRITEFUNC_ERROR;
		}
		return n;
	}
	if (n > c->opt.max_response - t->body.n) {
		t->stop_err = AA_ETOOBIG;
		return CURL_WRITEFUNC_ERROR;
	}
	aa_buf_append(&t->body, bytes, n);
	return n;
}

static bool http_url_is_valid(const char *url)
{
	CURLU *u = http_curl.url();
	char *scheme = NULL;
	bool ok = u && http_curl.url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
		  http_curl.url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
		  (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0);
	http_curl.free(scheme);
	http_curl.url_cleanup(u);
	return ok;
}

static int transfer_set_headers(struct http_transfer *t, const char *const *headers)
{
	/* Without this curl sends "Expect: 100-continue" for larger bodies and waits up to a
	 * second for servers that never answer it. */
	t->headers = http_curl.slist_append(NULL, "Expect:");
	for (size_t i = 0; headers && headers[i]; i++) {
		if (strpbrk(headers[i], "\r\n"))
			return AA_EINVAL; /* header injection */
		struct curl_slist *l = http_curl.slist_append(t->headers, headers[i]);
		if (!l)
			return AA_EIO;
		t->headers = l;
	}
	return t->headers ? 0 : AA_EIO;
}

static int transfer_set_body(struct http_transfer *t, const struct http_request_spec *req)
{
	CURL *e = t->easy;
	bool bad = http_curl.easy_setopt(e, CURLOPT_POST, 1L) != CURLE_OK;
	bad |= http_curl.easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len) != CURLE_OK;
	bad |= http_curl.easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req->body ? req->body : "") != CURLE_OK;
	return bad ? AA_EIO : 0;
}

static int transfer_setup(struct http_transfer *t, const struct http_request_spec *req, bool post)
{
	struct http_client *c = t->client;
	CURL *e = t->easy;
	int rc = transfer_set_headers(t, req->headers);
	if (rc < 0)
		return rc;
	bool bad = http_curl.easy_setopt(e, CURLOPT_URL, req->url) != CURLE_OK;
	bad |= http_curl.easy_setopt(e, CURLOPT_PRIVATE, (void *)t) != CURLE_OK;
	bad |= http_curl.easy_setopt(e, CURLOPT_HTTPHEADER, t->headers) != CURLE_OK;
	bad |= http_curl.easy_setopt(e, CURLOPT_WRITEFUNCTION, transfer_on_body) != CURLE_OK;
	bad |= http_curl.easy_setopt(e, CURLOPT_WRITEDATA, (void *)t) != CURLE_OK;
	bad |= http_curl.easy_setopt(e, CURLOPT_HEADERFUNCTION, transfer_on_header) != CURLE_OK;
	bad |= http_curl.easy_setopt(e, CURLOPT_HEADERDATA, (void *)t) != CURLE_OK;
	bad |= http_curl.easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf) != CURLE_OK;
	bad |= http_curl.easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= http_curl.easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
	bad |= http_curl.easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK;
	bad |= http_curl.easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	bad |= http_curl.easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) != CURLE_OK;
	bad |= http_curl.easy_setopt(e, CURLOPT_USERAGENT, "agentanycastd/" AA_VERSION) != CURLE_OK;
	bad |= http_curl.easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->opt.connect_timeout_ms) != CURLE_OK;
	if (!t->on_event) {
		/* Streams get our own deadlines instead (see the top of this file). */
		bad |= http_curl.easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->opt.timeout_ms) != CURLE_OK;
		bad |= http_curl.easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
					(curl_off_t)c->opt.max_response) != CURLE_OK;
	}
	if (c->ca_file)
		bad |= http_curl.easy_setopt(e, CURLOPT_CAINFO, c->ca_file) != CURLE_OK;
	if (bad)
		return AA_EIO;
	if (post)
		return transfer_set_body(t, req);
	return http_curl.easy_setopt(e, CURLOPT_HTTPGET, 1L) == CURLE_OK ? 0 : AA_EIO;
}

static int request_check(const struct http_request_spec *req, bool *post)
{
	if (!req || !req->method || !req->url || (req->body_len && !req->body))
		return AA_EINVAL;
	if (strcmp(req->method, "POST") == 0)
		*post = true;
	else if (strcmp(req->method, "GET") == 0 && req->body_len == 0)
		*post = false;
	else
		return AA_EINVAL;
	return http_url_is_valid(req->url) ? 0 : AA_EINVAL;
}

static void client_link(struct http_client *c, struct http_transfer *t)
{
	t->next = c->transfers;
	if (c->transfers)
		c->transfers->prev = t;
	c->transfers = t;
	t->linked = true;
	c->n_transfers++;
}

int http_client_start(struct http_client *c, const struct http_request_spec *req,
		      http_event_cb on_event, http_done_cb done, void *user,
		      struct http_transfer **out)
{
	bool post = false;
	if (out)
		*out = NULL;
	if (!c || !done)
		return AA_EINVAL;
	if (c->closing)
		return AA_ECLOSED;
	int rc = client_start_curl(c);
	if (rc < 0)
		return rc;
	rc = request_check(req, &post);
	if (rc < 0)
		return rc;
	if (c->n_transfers >= c->opt.max_transfers)
		return AA_ENOMEM;
	CURL *easy = http_curl.easy_init();
	if (!easy)
		return AA_EIO;
	struct http_transfer *t = aa_calloc(1, sizeof *t);
	t->client = c;
	t->easy = easy;
	t->on_event = on_event;
	t->done = done;
	t->user = user;
	aa_buf_init(&t->body);
	sse_parser_init(&t->sse, c->opt.max_response, transfer_on_sse_event, t);
	rc = transfer_setup(t, req, post);
	if (rc < 0) {
		transfer_free(t);
		return rc;
	}
	client_link(c, t);
	if (c->in_curl)
		c->need_sweep = true; /* curl_multi_add_handle is not allowed in here */
	else if ((rc = transfer_add(t)) < 0) {
		transfer_detach(t);
		transfer_free(t);
		return rc;
	}
	if (on_event)
		transfer_set_deadline(t, c->opt.timeout_ms);
	if (out)
		*out = t;
	return 0;
}

void http_transfer_cancel(struct http_transfer *t)
{
	if (!t || t->cancelled || t->finishing)
		return;
	t->cancelled = true;
	struct http_client *c = t->client;
	if (c->in_curl) {
		c->need_sweep = true;
		return;
	}
	transfer_detach(t);
	transfer_free(t);
}

/* --- completion, outside curl --------------------------------------------------------- */

static struct http_transfer *client_find_expired(struct http_client *c, uint64_t now)
{
	for (struct http_transfer *t = c->transfers; t; t = t->next)
		if (!t->cancelled && t->deadline && t->deadline <= now)
			return t;
	return NULL;
}

static void client_on_deadline(uv_timer_t *h)
{
	struct http_client *c = h->data;
	struct http_transfer *t;
	while (c->multi && (t = client_find_expired(c, uv_now(c->loop))))
		transfer_finish(t, AA_ETIMEDOUT);
	if (c->multi)
		client_rearm_deadlines(c);
}

static struct http_transfer *client_find_unswept(struct http_client *c)
{
	for (struct http_transfer *t = c->transfers; t; t = t->next)
		if (t->cancelled || !t->added)
			return t;
	return NULL;
}

/* Frees transfers cancelled while curl ran and adds those started while it ran. */
static void client_sweep(struct http_client *c)
{
	struct http_transfer *t;
	if (!c->need_sweep)
		return;
	c->need_sweep = false;
	while (c->multi && (t = client_find_unswept(c))) {
		if (t->cancelled) {
			transfer_detach(t);
			transfer_free(t);
		} else {
			int rc = transfer_add(t);
			if (rc < 0)
				transfer_finish(t, rc);
		}
	}
}

/* One message at a time, and the message is not touched after its transfer's done ran:
 * a done callback may remove other handles, which drops their queued messages. */
static void client_read_messages(struct http_client *c)
{
	CURLMsg *m;
	int left;
	while (c->multi && (m = http_curl.multi_info_read(c->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		CURLcode result = m->data.result;
		void *priv = NULL;
		http_curl.easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		struct http_transfer *t = priv;
		if (t->cancelled) {
			transfer_detach(t);
			transfer_free(t);
			continue;
		}
		transfer_finish(t, transfer_result(t, result));
	}
}

static void client_close_now(struct http_client *c);

static void client_flush(struct http_client *c)
{
	if (c->close_deferred) {
		client_close_now(c);
		return;
	}
	client_sweep(c);
	client_read_messages(c);
}

/* --- lifetime ------------------------------------------------------------------------- */

static int client_setup_multi(struct http_client *c)
{
	CURLM *m = c->multi;
	bool bad = http_curl.multi_setopt(m, CURLMOPT_SOCKETFUNCTION, client_on_curl_socket) != CURLM_OK;
	bad |= http_curl.multi_setopt(m, CURLMOPT_SOCKETDATA, (void *)c) != CURLM_OK;
	bad |= http_curl.multi_setopt(m, CURLMOPT_TIMERFUNCTION, client_on_curl_timer) != CURLM_OK;
	bad |= http_curl.multi_setopt(m, CURLMOPT_TIMERDATA, (void *)c) != CURLM_OK;
	return bad ? AA_EIO : 0;
}

/* The first transfer loads libcurl (once per process: curl_api) and makes the multi handle.
 * It runs on the loop thread, like every http_client_start, so curl_global_init does too.
 * A failed load is final: this and every later transfer fails with AA_EIO. The reason is
 * logged once per process; the callers only see the code. */
static int client_start_curl(struct http_client *c)
{
	static bool load_failure_logged;
	if (c->multi)
		return 0;
	const char *why = "";
	if (http_curl_load(&why) < 0) {
		aa_log(load_failure_logged ? AA_LOG_DEBUG : AA_LOG_ERROR,
		       "http client: libcurl is unavailable, outbound HTTP requests fail", "detail",
		       why, NULL);
		load_failure_logged = true;
		return AA_EIO;
	}
	c->multi = http_curl.multi_init();
	if (!c->multi)
		return AA_EIO;
	if (client_setup_multi(c) < 0) {
		http_curl.multi_cleanup(c->multi);
		c->multi = NULL;
		return AA_EIO;
	}
	return 0;
}

int http_client_new(uv_loop_t *loop, const struct http_client_options *o, struct http_client **out)
{
	struct http_client_options defaults;
	if (!o) {
		http_client_options_default(&defaults);
		o = &defaults;
	}
	if (!loop || !out || o->max_response == 0 || o->max_transfers == 0 ||
	    o->connect_timeout_ms > LONG_MAX || o->timeout_ms > LONG_MAX ||
	    o->stream_idle_ms > LONG_MAX)
		return AA_EINVAL;
	struct http_client *c = aa_calloc(1, sizeof *c);
	c->loop = loop;
	c->opt = *o;
	c->ca_file = o->ca_file ? aa_strdup(o->ca_file) : NULL;
	c->opt.ca_file = c->ca_file;
	uv_timer_init(loop, &c->curl_timer);
	uv_timer_init(loop, &c->deadline_timer);
	c->curl_timer.data = c;
	c->deadline_timer.data = c;
	c->open_handles = 2;
	*out = c;
	return 0;
}

static void client_close_now(struct http_client *c)
{
	c->close_deferred = false;
	struct http_transfer *t;
	while ((t = c->transfers))
		transfer_finish(t, AA_ECLOSED);
	/* Poll handles go first so that each descriptor leaves the loop while curl still holds
	 * it open; curl's REMOVE calls during cleanup then find no context. */
	while (c->sockets)
		socket_close(c, c->sockets);
	CURLM *multi = c->multi;
	c->multi = NULL;
	if (multi) /* NULL when no transfer ever started: libcurl may not even be loaded */
		http_curl.multi_cleanup(multi);
	uv_close((uv_handle_t *)&c->curl_timer, client_on_timer_closed);
	uv_close((uv_handle_t *)&c->deadline_timer, client_on_timer_closed);
}

void http_client_close(struct http_client *c, void (*close_cb)(void *user), void *user)
{
	if (!c || c->closing)
		return;
	c->closing = true;
	c->close_cb = close_cb;
	c->close_user = user;
	if (c->in_curl)
		c->close_deferred = true; /* on_event closed us: client_flush() finishes */
	else
		client_close_now(c);
}
