/* bridge: standard A2A over HTTP into this node (see bridge.h). One `struct call` per
 * JSON-RPC request that outlives its handler invocation (blocking sends, streams, sends
 * waiting for their commit); it is reference counted because three things can end it in
 * any order: the engine's callback, the client going away, and the bridge closing. */
#include "http/bridge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/uuid.h"
#include "http/a2a_json.h"
#include "http/server.h"

struct call {
	struct bridge *b;
	struct http_exchange *ex;    /* NULL once answered or gone */
	struct call *prev, *next;
	int refs;
	struct a2a_request req;
	char task_id[A2A_JSON_MAX_ID + 1];
	char context_id[A2A_JSON_MAX_ID + 1];
	struct a2a_sub *sub;
	uv_timer_t timer;            /* blocking deadline or stream heartbeat */
	bool timer_on;
	bool streaming;              /* answer is an SSE stream (counted in b->streams) */
	bool stream_open;            /* the first event went out */
	bool done;                   /* answered; further events are ignored */
};

struct bridge {
	uv_loop_t *loop;
	struct a2a_node *a2a;
	struct node_metrics *metrics;
	struct http_server *http;
	struct bridge_options o;
	char **cors;
	size_t n_cors;
	bool cors_star;              /* the list is exactly ["*"] */
	char card_url[300];
	char *node_name;
	unsigned streams;
	struct call *calls;
	void (*close_cb)(void *user);
	void *close_user;
};

void bridge_options_default(struct bridge_options *o)
{
	static const char *const any[] = { "*" };
	memset(o, 0, sizeof *o);
	o->listen = ":8080";
	o->cors_origins = any;
	o->n_cors_origins = 1;
	o->max_body = 16u * 1024 * 1024;
	o->max_connections = 512;
	o->max_streams = 256;
	o->blocking_timeout_ms = 60000;
	o->heartbeat_ms = 15000;
	o->node_name = "agentanycast node";
}

static bool is_final(Agentanycast__V1__TaskStatus s)
{
	return a2a_json_state_terminal(s) || s == AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_INPUT_REQUIRED;
}

static const Agentanycast__V1__Task *bridge_task(struct bridge *b, const char *id)
{
	const Agentanycast__V1__Task *t = id ? a2a_get_task(b->a2a, id) : NULL;
	return t && strcmp(t->originator_peer_id, BRIDGE_ORIGINATOR) == 0 ? t : NULL;
}

/* ---- CORS (REFERENCE F.1) --------------------------------------------------------------- */

/* Adds the CORS headers when the request's Origin is allowed; true if it was. */
static bool apply_cors(struct bridge *b, struct http_exchange *ex)
{
	const char *origin = http_header(ex, "Origin");
	if (!origin || !b->n_cors)
		return false;
	bool ok = b->cors_star;
	for (size_t i = 0; !ok && i < b->n_cors; i++)
		ok = strcmp(b->cors[i], "*") == 0 || strcmp(b->cors[i], origin) == 0;
	if (!ok)
		return false;
	if (b->cors_star) {
		http_add_header(ex, "Access-Control-Allow-Origin", "*");
	} else {
		http_add_header(ex, "Access-Control-Allow-Origin", origin);
		http_add_header(ex, "Vary", "Origin");
	}
	http_add_header(ex, "Access-Control-Allow-Methods", "GET, POST, OPTIONS");
	/* A2A-Version too: browser clients of A2A v1.0 send it (the reference allowed only
	 * Content-Type, so their preflight failed). */
	http_add_header(ex, "Access-Control-Allow-Headers", "Content-Type, A2A-Version");
	http_add_header(ex, "Access-Control-Max-Age", "86400");
	return true;
}

/* ---- answering -------------------------------------------------------------------------- */

static void count(struct bridge *b, bool ok)
{
	node_metrics_bridge_request(b->metrics, "inbound", ok ? "ok" : "error");
}

/* A JSON-RPC reply goes out with HTTP 200, as A2A-HTTP.md and REFERENCE F.3 say, even for
 * errors; steals body. */
static void reply_json(struct http_exchange *ex, json_t *body)
{
	http_reply_json(ex, 200, body);
}

static void reply_error(struct bridge *b, struct http_exchange *ex, json_t *id, int code, const char *msg)
{
	count(b, false);
	reply_json(ex, a2a_json_error_reply(id ? id : json_null(), code, msg));
}

/* The task as each method returns it. */
static json_t *task_result(const struct a2a_request *r, const Agentanycast__V1__Task *t)
{
	if (r->method == A2A_METHOD_LEGACY_SEND)
		return a2a_json_legacy_task(t);
	json_t *obj = a2a_json_task(t, r->version, r->history_length);
	return a2a_json_wrap(r->version, r->method, "task", obj);
}

/* ---- calls ------------------------------------------------------------------------------- */

static void call_unref(struct call *c)
{
	if (--c->refs > 0)
		return;
	struct bridge *b = c->b;
	if (b) { /* NULL once the bridge itself is gone (bridge_close) */
		if (c->prev)
			c->prev->next = c->next;
		else
			b->calls = c->next;
		if (c->next)
			c->next->prev = c->prev;
	}
	a2a_request_free(&c->req);
	free(c);
}

static void on_timer_closed(uv_handle_t *h)
{
	call_unref(h->data);
}

static void on_call_gone(void *user);

/* The call is over for the client: stop listening to the engine and the clock. */
static void call_finish(struct call *c)
{
	if (c->done)
		return;
	c->done = true;
	if (c->sub) {
		struct a2a_sub *s = c->sub;
		c->sub = NULL;
		a2a_unsubscribe(s);
	}
	if (c->streaming) {
		c->streaming = false;
		c->b->streams--;
	}
	if (c->timer_on) {
		c->timer_on = false;
		uv_close((uv_handle_t *)&c->timer, on_timer_closed);
	} else {
		call_unref(c);
	}
}

static struct call *call_new(struct bridge *b, struct http_exchange *ex, struct a2a_request *req)
{
	struct call *c = aa_calloc(1, sizeof *c);
	c->b = b;
	c->ex = ex;
	c->req = *req;
	memset(req, 0, sizeof *req);
	c->refs = 1; /* released by call_finish */
	c->next = b->calls;
	if (b->calls)
		b->calls->prev = c;
	b->calls = c;
	http_on_gone(ex, on_call_gone, c);
	uv_timer_init(b->loop, &c->timer);
	c->timer.data = c;
	c->timer_on = true;
	return c;
}

static void on_call_gone(void *user)
{
	struct call *c = user;
	c->ex = NULL;
	call_finish(c);
}

static void call_reply(struct call *c, json_t *body, bool ok)
{
	if (c->ex) {
		count(c->b, ok);
		reply_json(c->ex, body);
		c->ex = NULL;
	} else {
		json_decref(body);
	}
	call_finish(c);
}

static void call_reply_task(struct call *c)
{
	const Agentanycast__V1__Task *t = a2a_get_task(c->b->a2a, c->task_id);
	if (!t) {
		call_reply(c, a2a_json_error_reply(c->req.id, A2A_ERR_TASK_NOT_FOUND, "task not found"), false);
		return;
	}
	call_reply(c, a2a_json_result(c->req.id, task_result(&c->req, t)), true);
}

/* ---- SSE ----------------------------------------------------------------------------------- */

static void sse_send(struct call *c, json_t *result)
{
	json_t *reply = a2a_json_result(c->req.id, result);
	char *text = json_dumps(reply, JSON_COMPACT);
	json_decref(reply);
	if (!c->ex || !text) {
		free(text);
		return;
	}
	struct aa_buf frame;
	aa_buf_init(&frame);
	aa_buf_append(&frame, "data: ", 6);
	aa_buf_append(&frame, text, strlen(text));
	aa_buf_append(&frame, "\n\n", 2);
	free(text);
	int rc = http_stream_write(c->ex, frame.p, frame.n);
	aa_buf_free(&frame);
	if (rc < 0) {
		/* The client stopped reading: end it rather than buffer without bound. */
		aa_log(AA_LOG_INFO, "bridge: SSE client not reading, stream ended", "task", c->task_id, NULL);
		http_stream_end(c->ex);
		c->ex = NULL;
		count(c->b, false);
		call_finish(c);
	}
}

static void sse_end(struct call *c, bool ok)
{
	if (c->ex) {
		http_stream_end(c->ex);
		c->ex = NULL;
		count(c->b, ok);
	}
	call_finish(c);
}

static void on_heartbeat(uv_timer_t *t)
{
	struct call *c = t->data;
	if (c->ex && http_stream_write(c->ex, ": keepalive\n\n", 13) < 0)
		sse_end(c, false);
}

/* The task as the first event of a stream. */
static void sse_open(struct call *c, const Agentanycast__V1__Task *t)
{
	http_add_header(c->ex, "Cache-Control", "no-cache");
	http_stream_start(c->ex, 200, "text/event-stream");
	c->stream_open = true;
	sse_send(c, a2a_json_wrap(c->req.version, c->req.method, "task",
				  a2a_json_task(t, c->req.version, -1)));
	if (c->timer_on && c->ex)
		uv_timer_start(&c->timer, on_heartbeat, c->b->o.heartbeat_ms, c->b->o.heartbeat_ms);
}

/* ---- engine events ------------------------------------------------------------------------- */

static void on_update(void *user, const struct a2a_update_event *ev)
{
	struct call *c = user;
	if (c->done)
		return;
	bool final = is_final(ev->status);
	if (!c->streaming) {
		if (final && c->req.blocking)
			call_reply_task(c);
		return;
	}
	if (!c->stream_open)
		return; /* the task event (sent at commit) already shows this state */
	enum a2a_version v = c->req.version;
	for (size_t i = 0; i < ev->nartifacts && c->ex; i++)
		sse_send(c, a2a_json_wrap(v, c->req.method, "artifactUpdate",
					  a2a_json_artifact_event(c->task_id, c->context_id,
								  ev->artifacts[i], v)));
	if (c->ex)
		sse_send(c, a2a_json_wrap(v, c->req.method, "statusUpdate",
					  a2a_json_status_event(c->task_id, c->context_id, ev->status,
								ev->message, final, v)));
	if (final)
		sse_end(c, true);
}

static void on_sub_end(void *user, int err)
{
	struct call *c = user;
	c->sub = NULL;
	if (c->done || !err)
		return;
	/* The engine is closing (or we fell too far behind): say what we know and stop. */
	if (c->streaming)
		sse_end(c, false);
	else
		call_reply_task(c);
}

static const struct a2a_sub_callbacks update_callbacks = {
	.on_update = on_update,
	.on_end = on_sub_end,
};

static void on_blocking_timeout(uv_timer_t *t)
{
	struct call *c = t->data;
	if (!c->done)
		call_reply_task(c); /* A2A allows a non-final task: the client can poll tasks/get */
}

/* The task is committed and announced to the local agent. */
static void on_created(void *user, int err, const Agentanycast__V1__Task *t)
{
	struct call *c = user;
	if (c->done) {
		call_unref(c);
		return;
	}
	if (err) {
		int code = c->req.method == A2A_METHOD_LEGACY_SEND ? A2A_ERR_SERVER : A2A_ERR_INTERNAL;
		char msg[128];
		snprintf(msg, sizeof msg, "internal error: %s", aa_strerror(err));
		call_reply(c, a2a_json_error_reply(c->req.id, code, msg), false);
	} else if (c->streaming) {
		if (c->ex)
			sse_open(c, t);
		if (is_final(t->status))
			sse_end(c, true);
	} else if (!c->req.blocking || is_final(t->status)) {
		call_reply_task(c);
	} else if (c->timer_on) {
		uv_timer_start(&c->timer, on_blocking_timeout, c->b->o.blocking_timeout_ms, 0);
	}
	call_unref(c);
}

/* ---- methods ------------------------------------------------------------------------------ */

static void do_send(struct bridge *b, struct http_exchange *ex, struct a2a_request *req)
{
	bool legacy = req->method == A2A_METHOD_LEGACY_SEND;
	if (!legacy && req->task_id) {
		/* Continuing a task with a follow-up message needs an engine API for adding a
		 * message to an incoming task; say so instead of starting a second task. */
		int code = bridge_task(b, req->task_id) ? A2A_ERR_UNSUPPORTED_OPERATION : A2A_ERR_TASK_NOT_FOUND;
		reply_error(b, ex, req->id, code, code == A2A_ERR_TASK_NOT_FOUND ? "task not found" :
			    "continuing a task with another message is not supported");
		return;
	}
	bool stream = req->method == A2A_METHOD_STREAM;
	if (stream && b->streams >= b->o.max_streams) {
		reply_error(b, ex, req->id, A2A_ERR_INTERNAL, "too many open streams, try again later");
		return;
	}
	if (legacy)
		req->blocking = true; /* F.4 callers read the task from this one reply */
	struct call *c = call_new(b, ex, req);
	if (c->req.task_id)
		snprintf(c->task_id, sizeof c->task_id, "%s", c->req.task_id);
	else
		uuid_v4_string(c->task_id);
	if (c->req.context_id)
		snprintf(c->context_id, sizeof c->context_id, "%s", c->req.context_id);
	else if (!legacy)
		uuid_v4_string(c->context_id);
	c->streaming = stream;
	if (stream)
		b->streams++;
	/* Subscribe before the task exists, so no update can slip between its creation and
	 * our interest in it. */
	if (stream || c->req.blocking)
		c->sub = a2a_subscribe_updates(b->a2a, c->task_id, &update_callbacks, c);
	struct a2a_task_spec spec = {
		.task_id = c->task_id,
		.context_id = c->context_id,
		.skill_id = c->req.skill_id,
		.originator = BRIDGE_ORIGINATOR,
		.message = c->req.message,
		/* A blocking send answers after the outcome's commit, which follows this one. */
		.announce_early = !stream && c->req.blocking,
	};
	c->refs++;
	int rc = a2a_create_task(b->a2a, &spec, on_created, c);
	if (rc < 0) {
		c->refs--;
		int code = rc == AA_EEXIST || rc == AA_EINVAL ? A2A_ERR_INVALID_PARAMS
			: legacy ? A2A_ERR_SERVER : A2A_ERR_INTERNAL;
		char msg[128];
		snprintf(msg, sizeof msg, "%s: %s", code == A2A_ERR_INVALID_PARAMS ? "invalid params"
			 : "internal error", rc == AA_EEXIST ? "task id already in use" : aa_strerror(rc));
		call_reply(c, a2a_json_error_reply(c->req.id, code, msg), false);
	}
}

static void on_canceled(void *user, int err, const Agentanycast__V1__Task *t)
{
	struct call *c = user;
	(void)t;
	if (!c->done) {
		if (err)
			call_reply(c, a2a_json_error_reply(c->req.id, A2A_ERR_INTERNAL, aa_strerror(err)), false);
		else
			call_reply_task(c);
	}
	call_unref(c);
}

static void do_cancel(struct bridge *b, struct http_exchange *ex, struct a2a_request *req)
{
	const Agentanycast__V1__Task *t = bridge_task(b, req->task_id);
	if (!t) {
		reply_error(b, ex, req->id, A2A_ERR_TASK_NOT_FOUND, "task not found");
		return;
	}
	struct call *c = call_new(b, ex, req);
	snprintf(c->task_id, sizeof c->task_id, "%s", t->task_id);
	c->refs++;
	int rc = a2a_cancel_task(b->a2a, c->task_id, on_canceled, c);
	if (rc < 0) {
		c->refs--;
		int code = rc == AA_ESTATE ? A2A_ERR_TASK_NOT_CANCELABLE : A2A_ERR_INTERNAL;
		call_reply(c, a2a_json_error_reply(c->req.id, code, rc == AA_ESTATE ?
			   "task cannot be canceled in its current state" : aa_strerror(rc)), false);
	}
}

static void do_resubscribe(struct bridge *b, struct http_exchange *ex, struct a2a_request *req)
{
	const Agentanycast__V1__Task *t = bridge_task(b, req->task_id);
	if (!t) {
		reply_error(b, ex, req->id, A2A_ERR_TASK_NOT_FOUND, "task not found");
		return;
	}
	if (b->streams >= b->o.max_streams) {
		reply_error(b, ex, req->id, A2A_ERR_INTERNAL, "too many open streams, try again later");
		return;
	}
	struct call *c = call_new(b, ex, req);
	snprintf(c->task_id, sizeof c->task_id, "%s", t->task_id);
	snprintf(c->context_id, sizeof c->context_id, "%s", t->context_id);
	c->streaming = true;
	b->streams++;
	sse_open(c, t);
	if (is_final(t->status))
		sse_end(c, true);
	else if (!c->done)
		c->sub = a2a_subscribe_updates(b->a2a, c->task_id, &update_callbacks, c);
}

static bool is_json_content(const char *ct)
{
	if (!ct)
		return false;
	while (*ct == ' ')
		ct++;
	size_t n = strlen("application/json");
	return strncasecmp(ct, "application/json", n) == 0 && (ct[n] == 0 || ct[n] == ';' || ct[n] == ' ');
}

static void handle_jsonrpc(struct bridge *b, struct http_exchange *ex)
{
	if (!is_json_content(http_header(ex, "Content-Type"))) {
		reply_error(b, ex, NULL, A2A_ERR_CONTENT_TYPE, "Content-Type must be application/json");
		return;
	}
	size_t len;
	const char *body = http_body(ex, &len);
	struct a2a_request req;
	struct a2a_json_error err;
	if (a2a_request_parse(body, len, http_header(ex, "A2A-Version"), &req, &err) < 0) {
		reply_error(b, ex, req.id, err.code, err.message);
		a2a_request_free(&req);
		return;
	}
	switch (req.method) {
	case A2A_METHOD_SEND:
	case A2A_METHOD_STREAM:
	case A2A_METHOD_LEGACY_SEND:
		do_send(b, ex, &req);
		break;
	case A2A_METHOD_GET: {
		const Agentanycast__V1__Task *t = bridge_task(b, req.task_id);
		if (!t) {
			reply_error(b, ex, req.id, A2A_ERR_TASK_NOT_FOUND, "task not found");
		} else {
			count(b, true);
			reply_json(ex, a2a_json_result(req.id, task_result(&req, t)));
		}
		break;
	}
	case A2A_METHOD_CANCEL:
		do_cancel(b, ex, &req);
		break;
	case A2A_METHOD_RESUBSCRIBE:
		do_resubscribe(b, ex, &req);
		break;
	}
	a2a_request_free(&req);
}

static bool is_card_path(const char *p)
{
	return strcmp(p, "/.well-known/agent-card.json") == 0 || strcmp(p, "/.well-known/agent.json") == 0 ||
		strcmp(p, "/.well-known/a2a-agent-card") == 0;
}

static void handle_card(struct bridge *b, struct http_exchange *ex)
{
	const Agentanycast__V1__AgentCard *card = a2a_own_card(b->a2a);
	if (!card) {
		http_reply_text(ex, 404, "no agent card configured\n");
		return;
	}
	const char *hv = http_header(ex, "A2A-Version");
	enum a2a_version v = hv && strcmp(hv, "1.0") == 0 ? A2A_V10 : A2A_V03;
	http_add_header(ex, "Vary", "A2A-Version");
	http_reply_json(ex, 200, a2a_json_card(card, b->card_url, v, b->node_name));
}

static void on_request(void *user, struct http_exchange *ex)
{
	struct bridge *b = user;
	const char *method = http_method(ex);
	bool cors = apply_cors(b, ex);
	if (cors && strcmp(method, "OPTIONS") == 0) {
		http_reply(ex, 204, NULL, "", 0);
		return;
	}
	if (is_card_path(http_path(ex))) {
		if (strcmp(method, "GET") == 0)
			handle_card(b, ex);
		else
			http_reply_text(ex, 405, "method not allowed\n");
		return;
	}
	if (strcmp(method, "POST") != 0) {
		http_reply_text(ex, 405, "method not allowed\n");
		return;
	}
	handle_jsonrpc(b, ex);
}

/* ---- life cycle --------------------------------------------------------------------------- */

/* REFERENCE F.2: http(s):// + the listen address, "localhost" standing in for an empty or
 * wildcard host; the real port when the configuration asked for port 0. */
static void make_card_url(struct bridge *b, const char *listen, const char *bound, bool tls)
{
	const char *colon = strrchr(listen, ':');
	size_t hlen = colon ? (size_t)(colon - listen) : 0;
	char host[256];
	snprintf(host, sizeof host, "%.*s", (int)hlen, listen);
	if (!host[0] || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "[::]") == 0)
		snprintf(host, sizeof host, "localhost");
	const char *port = strrchr(bound, ':');
	snprintf(b->card_url, sizeof b->card_url, "%s://%s:%s/", tls ? "https" : "http", host,
		 port ? port + 1 : "8080");
}

int bridge_new(uv_loop_t *loop, struct a2a_node *a2a, struct node_metrics *metrics,
	       const struct bridge_options *o, struct bridge **out, char *why, size_t why_len)
{
	struct bridge *b = aa_calloc(1, sizeof *b);
	b->loop = loop;
	b->a2a = a2a;
	b->metrics = metrics;
	b->o = *o;
	b->node_name = aa_strdup(o->node_name ? o->node_name : "agentanycast node");
	b->o.node_name = b->node_name;
	b->o.cors_origins = NULL;
	b->n_cors = o->n_cors_origins;
	b->cors = b->n_cors ? aa_calloc(b->n_cors, sizeof *b->cors) : NULL;
	for (size_t i = 0; i < b->n_cors; i++)
		b->cors[i] = aa_strdup(o->cors_origins[i]);
	b->cors_star = b->n_cors == 1 && strcmp(b->cors[0], "*") == 0;
	struct http_server_options ho;
	http_server_options_default(&ho);
	ho.listen = o->listen;
	ho.tls_cert_file = o->tls_cert_file;
	ho.tls_key_file = o->tls_key_file;
	ho.max_body = o->max_body;
	ho.max_connections = o->max_connections;
	ho.name = "bridge";
	int rc = http_server_new(loop, &ho, on_request, b, &b->http, why, why_len);
	if (rc < 0) {
		for (size_t i = 0; i < b->n_cors; i++)
			free(b->cors[i]);
		free(b->cors);
		free(b->node_name);
		free(b);
		return rc;
	}
	make_card_url(b, o->listen, http_server_address(b->http), http_server_is_tls(b->http));
	*out = b;
	return 0;
}

const char *bridge_address(const struct bridge *b)
{
	return http_server_address(b->http);
}

static void on_http_closed(void *user)
{
	struct bridge *b = user;
	/* Calls still waiting for an engine callback keep their memory until it runs; the
	 * engine closes after us and runs them. */
	for (size_t i = 0; i < b->n_cors; i++)
		free(b->cors[i]);
	free(b->cors);
	free(b->node_name);
	void (*cb)(void *) = b->close_cb;
	void *u = b->close_user;
	for (struct call *c = b->calls; c; c = c->next)
		c->b = NULL;
	free(b);
	if (cb)
		cb(u);
}

void bridge_close(struct bridge *b, void (*close_cb)(void *user), void *user)
{
	b->close_cb = close_cb;
	b->close_user = user;
	http_server_close(b->http, on_http_closed, b);
}
