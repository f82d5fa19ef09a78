/* outbound: one `struct job` per SendTask(url) — card → send → register → follow (see
 * outbound.h). A job lives until the remote task is final (or the follow limit passed) and
 * the engine has answered its registration; its uv_timer paces polls and is closed last. */
#include "http/outbound.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/uuid.h"
#include "http/a2a_json.h"
#include "http/client.h"

typedef Agentanycast__V1__TaskStatus pb_status;
#define ST(x) AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_##x

#define MAX_CARD_URLS 4

struct job {
	struct outbound *ob;
	struct job *prev, *next;
	Agentanycast__V1__Message *msg;
	char *card_urls[MAX_CARD_URLS];
	int n_card_urls, card_at;
	struct a2a_remote_card card;
	bool have_card;
	char rpc_id[37];
	struct http_transfer *xfer;
	uv_timer_t timer;
	uint64_t poll_ms;
	uint64_t deadline_ns;
	char local_id[A2A_JSON_MAX_ID + 1];
	char remote_id[A2A_JSON_MAX_ID + 1];
	bool registered;         /* a2a_create_task accepted it */
	bool answered;           /* the caller got its callback */
	bool creating;           /* the engine's create callback is pending */
	bool final;              /* nothing more to follow */
	bool closing;
	Agentanycast__V1__Artifact **arts; /* artifact events so far, handed over at completion */
	size_t n_arts;
	char why[300];
	outbound_cb cb;
	void *user;
};

struct outbound {
	uv_loop_t *loop;
	struct a2a_node *a2a;
	struct node_metrics *metrics;
	struct http_client *http;
	struct outbound_options o;
	struct job *jobs;
	unsigned n_jobs;
	bool closing;
	void (*close_cb)(void *user);
	void *close_user;
};

void outbound_options_default(struct outbound_options *o)
{
	memset(o, 0, sizeof *o);
	o->request_timeout_ms = 60000;
	o->poll_first_ms = 200;
	o->poll_max_ms = 5000;
	o->follow_limit_ms = 3600 * 1000;
	o->max_response = 16u * 1024 * 1024;
	o->max_jobs = 1024;
}

/* ---- job life cycle ---------------------------------------------------------------------- */

static void job_free(struct job *j)
{
	struct outbound *ob = j->ob;
	if (j->prev)
		j->prev->next = j->next;
	else
		ob->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	ob->n_jobs--;
	for (int i = 0; i < j->n_card_urls; i++)
		free(j->card_urls[i]);
	a2a_remote_card_free(&j->card);
	a2a_json_free_pb(j->msg);
	for (size_t i = 0; i < j->n_arts; i++)
		a2a_json_free_pb(j->arts[i]);
	free(j->arts);
	free(j);
	if (ob->closing && !ob->jobs) {
		http_client_close(ob->http, ob->close_cb, ob->close_user);
		free(ob);
	}
}

static void on_timer_closed(uv_handle_t *h)
{
	job_free(h->data);
}

/* Frees the job once nothing refers to it any more. */
static void job_maybe_free(struct job *j)
{
	if (!j->final || j->creating || j->xfer || j->closing)
		return;
	j->closing = true;
	uv_close((uv_handle_t *)&j->timer, on_timer_closed);
}

static void answer(struct job *j, int err, const char *why, const Agentanycast__V1__Task *t)
{
	if (j->answered)
		return;
	j->answered = true;
	node_metrics_bridge_request(j->ob->metrics, "outbound", err ? "error" : "ok");
	if (err)
		aa_log(AA_LOG_INFO, "outbound: SendTask to an HTTP agent failed", "error", why, NULL);
	j->cb(j->user, err, why, t);
}

/* Ends the job before anything was registered: the caller learns why. */
static void fail_early(struct job *j, int err, const char *why)
{
	snprintf(j->why, sizeof j->why, "%s", why);
	j->final = true;
	answer(j, err, j->why, NULL);
	job_maybe_free(j);
}

static void ignore_done(void *user, int err)
{
	(void)user;
	(void)err;
}

static void ignore_task(void *user, int err, const Agentanycast__V1__Task *t)
{
	(void)user;
	(void)err;
	(void)t;
}

/* Ends the job after registration: the local task fails with the reason. */
static void fail_late(struct job *j, const char *why)
{
	const Agentanycast__V1__Task *t = a2a_get_task(j->ob->a2a, j->local_id);
	if (t && !a2a_json_state_terminal(t->status))
		a2a_fail_task(j->ob->a2a, j->local_id, why, ignore_done, NULL);
	aa_log(AA_LOG_INFO, "outbound: stopped following an HTTP task", "task", j->local_id,
	       "error", why, NULL);
	j->final = true;
	job_maybe_free(j);
}

/* ---- applying what the remote agent says -------------------------------------------------- */

static char *message_text(const Agentanycast__V1__Message *m)
{
	struct aa_buf b;
	aa_buf_init(&b);
	for (size_t i = 0; m && i < m->n_parts; i++)
		if (m->parts[i]->content_case == AGENTANYCAST__V1__PART__CONTENT_TEXT_PART) {
			if (b.n)
				aa_buf_append_byte(&b, '\n');
			const char *s = m->parts[i]->text_part->text;
			aa_buf_append(&b, s, strlen(s));
		}
	aa_buf_append_byte(&b, 0);
	return (char *)b.p;
}

static void take_artifacts(struct job *j, struct a2a_event *ev, bool replace)
{
	if (replace) {
		for (size_t i = 0; i < j->n_arts; i++)
			a2a_json_free_pb(j->arts[i]);
		j->n_arts = 0;
	}
	if (!ev->n_artifacts)
		return;
	j->arts = aa_realloc(j->arts, (j->n_arts + ev->n_artifacts) * sizeof *j->arts);
	for (size_t i = 0; i < ev->n_artifacts; i++)
		j->arts[j->n_arts++] = ev->artifacts[i];
	ev->n_artifacts = 0; /* moved */
}

/* Moves the local task to `to` along our state machine (REFERENCE C.1), stepping through
 * WORKING where the remote skipped it. */
static void apply_status(struct job *j, pb_status to, const Agentanycast__V1__Message *msg)
{
	struct a2a_node *n = j->ob->a2a;
	const Agentanycast__V1__Task *t = a2a_get_task(n, j->local_id);
	if (!t || to == ST(UNSPECIFIED) || to == ST(SUBMITTED) || a2a_json_state_terminal(t->status))
		return;
	pb_status cur = t->status;
	if (to == cur)
		return;
	if (cur == ST(INPUT_REQUIRED) && to != ST(CANCELED))
		a2a_update_task_status(n, j->local_id, ST(WORKING), NULL, ignore_done, NULL);
	switch (to) {
	case ST(WORKING):
		if (cur == ST(SUBMITTED))
			a2a_update_task_status(n, j->local_id, ST(WORKING), msg, ignore_done, NULL);
		break;
	case ST(INPUT_REQUIRED):
		if (cur == ST(SUBMITTED))
			a2a_update_task_status(n, j->local_id, ST(WORKING), NULL, ignore_done, NULL);
		a2a_update_task_status(n, j->local_id, ST(INPUT_REQUIRED), msg, ignore_done, NULL);
		break;
	case ST(COMPLETED):
		a2a_complete_task(n, j->local_id, j->arts, j->n_arts, msg, ignore_done, NULL);
		break;
	case ST(FAILED): {
		char *text = message_text(msg);
		a2a_fail_task(n, j->local_id, *text ? text : "the remote agent failed the task",
			      ignore_done, NULL);
		free(text);
		break;
	}
	case ST(CANCELED):
		a2a_cancel_task(n, j->local_id, ignore_task, NULL);
		break;
	case ST(REJECTED):
		if (cur == ST(SUBMITTED))
			a2a_update_task_status(n, j->local_id, ST(REJECTED), msg, ignore_done, NULL);
		else
			a2a_fail_task(n, j->local_id, "the remote agent rejected the task", ignore_done, NULL);
		break;
	default:
		break;
	}
}

static void on_registered(void *user, int err, const Agentanycast__V1__Task *t)
{
	struct job *j = user;
	j->creating = false;
	if (err) {
		snprintf(j->why, sizeof j->why, "cannot register the task: %s", aa_strerror(err));
		answer(j, err, j->why, NULL);
		j->final = true;
		if (j->xfer) {
			http_transfer_cancel(j->xfer);
			j->xfer = NULL;
		}
	} else {
		/* The task as it is now: the first states may already be applied. */
		const Agentanycast__V1__Task *now = a2a_get_task(j->ob->a2a, j->local_id);
		answer(j, 0, NULL, now ? now : t);
	}
	job_maybe_free(j);
}

static int register_task(struct job *j, const char *remote_id, const char *context_id)
{
	struct a2a_node *n = j->ob->a2a;
	snprintf(j->remote_id, sizeof j->remote_id, "%s", remote_id ? remote_id : "");
	/* The remote id reads best in logs and SDKs; a fresh one when it is taken. */
	bool reuse = remote_id && *remote_id && strlen(remote_id) <= A2A_JSON_MAX_ID && !a2a_get_task(n, remote_id);
	if (reuse)
		snprintf(j->local_id, sizeof j->local_id, "%s", remote_id);
	else
		uuid_v4_string(j->local_id);
	struct a2a_task_spec spec = {
		.task_id = j->local_id,
		.context_id = context_id,
		.originator = A2A_ORIGINATOR_LOCAL,
		.message = j->msg,
	};
	int rc = a2a_create_task(n, &spec, on_registered, j);
	if (rc < 0)
		return rc;
	j->registered = true;
	j->creating = true;
	return 0;
}

/* One reply or SSE event from the remote agent. Returns < 0 to stop following. */
static int handle_event(struct job *j, struct a2a_event *ev)
{
	if (!j->registered) {
		const char *id = ev->kind == A2A_EV_MESSAGE ? NULL : ev->task_id;
		int rc = register_task(j, id, ev->context_id);
		if (rc < 0) {
			fail_early(j, rc, "cannot register the task");
			return rc;
		}
	} else if (ev->task_id && strcmp(ev->task_id, j->remote_id) != 0) {
		return 0; /* about another task: not ours to apply */
	}
	switch (ev->kind) {
	case A2A_EV_MESSAGE:
		/* A direct answer instead of a task: the work is done. */
		apply_status(j, ST(COMPLETED), ev->message);
		j->final = true;
		break;
	case A2A_EV_TASK:
		take_artifacts(j, ev, true);
		apply_status(j, ev->status, ev->message);
		break;
	case A2A_EV_ARTIFACT:
		take_artifacts(j, ev, false);
		break;
	case A2A_EV_STATUS:
		apply_status(j, ev->status, ev->message);
		break;
	}
	if (a2a_json_state_terminal(ev->status) || ev->status == ST(INPUT_REQUIRED))
		j->final = true; /* input-required: nobody here can answer it (no follow-up API) */
	return 0;
}

/* ---- HTTP calls ---------------------------------------------------------------------------- */

static void start_poll(struct job *j);

static void on_poll_timer(uv_timer_t *t)
{
	start_poll(t->data);
}

static void schedule_poll(struct job *j)
{
	if (j->final || j->closing)
		return;
	if (aa_clock_mono_ns() > j->deadline_ns) {
		fail_late(j, "lost track of the remote task: no final state within the follow limit");
		return;
	}
	uv_timer_start(&j->timer, on_poll_timer, j->poll_ms, 0);
	j->poll_ms = j->poll_ms * 2 > j->ob->o.poll_max_ms ? j->ob->o.poll_max_ms : j->poll_ms * 2;
}

static int post_json(struct job *j, json_t *body, bool stream, http_event_cb on_event, http_done_cb done)
{
	char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (!text)
		return AA_ENOMEM;
	const char *headers[] = {
		"Content-Type: application/json",
		stream ? "Accept: text/event-stream" : "Accept: application/json",
		j->card.version == A2A_V10 ? "A2A-Version: 1.0" : NULL,
		NULL,
	};
	struct http_request_spec req = {
		.method = "POST",
		.url = j->card.url,
		.headers = headers,
		.body = text,
		.body_len = strlen(text),
	};
	int rc = http_client_start(j->ob->http, &req, on_event, done, j, &j->xfer);
	free(text);
	return rc;
}

/* One JSON-RPC reply or SSE payload from the remote agent, applied to the job. < 0 when
 * it was an error reply (its code in *code, the reason in j->why) or not understood. */
static int apply_reply(struct job *j, const char *body, size_t len, int *code)
{
	struct a2a_event ev = { 0 };
	struct a2a_json_error e = { 0 };
	int rc = a2a_event_parse(body, len, j->card.version, j->rpc_id, &ev, &e);
	if (rc == 0)
		rc = handle_event(j, &ev);
	else
		snprintf(j->why, sizeof j->why, "remote agent: %d %s", e.code, e.message);
	a2a_event_free(&ev);
	if (code)
		*code = e.code;
	return rc < 0 ? AA_EPROTO : 0;
}

/* After a reply: done, or ask again later. */
static void keep_following(struct job *j)
{
	if (j->final)
		job_maybe_free(j);
	else
		schedule_poll(j);
}

static void on_poll_done(void *user, int err, const struct http_response *resp)
{
	struct job *j = user;
	j->xfer = NULL;
	int code = 0;
	if (err == 0 && resp->status == 200 && apply_reply(j, resp->body, resp->body_len, &code) < 0 &&
	    code == A2A_ERR_TASK_NOT_FOUND)
		fail_late(j, "the remote agent no longer knows the task");
	/* Transient trouble (a restart, a timeout) is retried until the follow limit. */
	keep_following(j);
}

static void start_poll(struct job *j)
{
	uuid_v4_string(j->rpc_id);
	int rc = post_json(j, a2a_json_get_request(j->rpc_id, j->remote_id, j->card.version), false,
			   NULL, on_poll_done);
	if (rc < 0)
		schedule_poll(j);
}

static int on_stream_event(void *user, const char *data, size_t len)
{
	struct job *j = user;
	if (apply_reply(j, data, len, NULL) < 0)
		return AA_EPROTO;
	return j->final ? AA_ECANCELED : 0; /* a final state: we need no more of this stream */
}

static int transport_error(int err, char *why, size_t n, const char *what, const char *url)
{
	snprintf(why, n, "%s %s: %s", what, url, aa_strerror(err));
	return err == AA_ETIMEDOUT ? AA_ETIMEDOUT : err == AA_ETOOBIG ? AA_EPROTO : AA_EUNAVAIL;
}

static void on_send_done(void *user, int err, const struct http_response *resp)
{
	struct job *j = user;
	j->xfer = NULL;
	if (err == AA_ECANCELED || (err == 0 && j->final)) {
		job_maybe_free(j);
		return;
	}
	if (err == 0 && resp->body_len) {
		/* A plain JSON reply: message/send's answer, or an error instead of a stream. */
		err = apply_reply(j, resp->body, resp->body_len, NULL);
	} else if (err == 0 && resp->status != 200) {
		snprintf(j->why, sizeof j->why, "remote agent answered HTTP %ld", resp->status);
		err = AA_EPROTO;
	} else if (err && err != AA_EPROTO) {
		err = transport_error(err, j->why, sizeof j->why, "cannot reach", j->card.url);
	}
	if (!j->registered) {
		fail_early(j, err ? err : AA_EPROTO, j->why[0] ? j->why : "the remote agent sent no task");
		return;
	}
	if (err)
		aa_log(AA_LOG_INFO, "outbound: stream from HTTP agent broke, polling", "task", j->local_id,
		       "error", j->why, NULL);
	/* Not final yet (or the stream broke): poll until it is. */
	keep_following(j);
}

static void send_message(struct job *j)
{
	uuid_v4_string(j->rpc_id);
	bool stream = j->card.streaming;
	json_t *body = a2a_json_send_request(j->rpc_id, j->msg, j->card.version, stream, false);
	int rc = post_json(j, body, stream, stream ? on_stream_event : NULL, on_send_done);
	if (rc < 0)
		fail_early(j, rc, "cannot start the HTTP request");
}

static void fetch_card(struct job *j);

static void on_card(void *user, int err, const struct http_response *resp)
{
	struct job *j = user;
	j->xfer = NULL;
	struct a2a_json_error e = { 0 };
	if (err == 0 && resp->status == 200 &&
	    a2a_remote_card_parse(resp->body, resp->body_len, &j->card, &e) == 0) {
		j->have_card = true;
		send_message(j);
		return;
	}
	if (err && err != AA_ETOOBIG && err != AA_EPROTO) {
		/* The host itself cannot be reached: other paths on it will not do better. */
		char why[300];
		int code = transport_error(err, why, sizeof why, "cannot fetch the agent card from",
					   j->card_urls[j->card_at]);
		fail_early(j, code, why);
		return;
	}
	if (++j->card_at < j->n_card_urls) {
		fetch_card(j);
		return;
	}
	char why[300];
	snprintf(why, sizeof why, "no A2A agent card found for %s%s%s", j->card_urls[0],
		 e.message[0] ? ": " : "", e.message);
	fail_early(j, AA_EUNAVAIL, why);
}

static void fetch_card(struct job *j)
{
	struct http_request_spec req = { .method = "GET", .url = j->card_urls[j->card_at] };
	int rc = http_client_start(j->ob->http, &req, NULL, on_card, j, &j->xfer);
	if (rc < 0)
		fail_early(j, rc, "cannot start the HTTP request");
}

/* <url>/.well-known/agent-card.json first (an agent mounted below a path), then the
 * origin's three well-known paths, without repeats. */
static int plan_card_urls(struct job *j, const char *url)
{
	const char *scheme_end = strstr(url, "://");
	if (!scheme_end || !(strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0))
		return AA_EINVAL;
	const char *host = scheme_end + 3;
	size_t origin_len = (size_t)(host - url) + strcspn(host, "/?#");
	if (origin_len == (size_t)(host - url))
		return AA_EINVAL;
	size_t base_len = strcspn(url, "?#");
	while (base_len > origin_len && url[base_len - 1] == '/')
		base_len--;
	static const char *const paths[] = { "/.well-known/agent-card.json", "/.well-known/agent.json",
					     "/.well-known/a2a-agent-card" };
	if (base_len > origin_len)
		j->card_urls[j->n_card_urls++] = aa_sprintf("%.*s%s", (int)base_len, url, paths[0]);
	for (size_t i = 0; i < 3; i++)
		j->card_urls[j->n_card_urls++] = aa_sprintf("%.*s%s", (int)origin_len, url, paths[i]);
	return 0;
}

static Agentanycast__V1__Message *copy_message(const Agentanycast__V1__Message *m)
{
	size_t n = protobuf_c_message_get_packed_size(&m->base);
	uint8_t *buf = aa_malloc(n ? n : 1);
	protobuf_c_message_pack(&m->base, buf);
	Agentanycast__V1__Message *c = agentanycast__v1__message__unpack(NULL, n, buf);
	free(buf);
	return c;
}

int outbound_send_task(struct outbound *ob, const char *url, const Agentanycast__V1__Message *msg,
		       outbound_cb cb, void *user)
{
	if (ob->closing)
		return AA_ECLOSED;
	if (!url || !msg || !cb)
		return AA_EINVAL;
	if (ob->n_jobs >= ob->o.max_jobs)
		return AA_ENOMEM;
	struct job *j = aa_calloc(1, sizeof *j);
	if (plan_card_urls(j, url) < 0) {
		for (int i = 0; i < j->n_card_urls; i++)
			free(j->card_urls[i]);
		free(j);
		return AA_EINVAL;
	}
	j->msg = copy_message(msg);
	if (!j->msg) {
		for (int i = 0; i < j->n_card_urls; i++)
			free(j->card_urls[i]);
		free(j);
		return AA_EINVAL;
	}
	j->ob = ob;
	j->cb = cb;
	j->user = user;
	j->poll_ms = ob->o.poll_first_ms;
	j->deadline_ns = aa_clock_mono_ns() + ob->o.follow_limit_ms * 1000000ull;
	uv_timer_init(ob->loop, &j->timer);
	j->timer.data = j;
	j->next = ob->jobs;
	if (ob->jobs)
		ob->jobs->prev = j;
	ob->jobs = j;
	ob->n_jobs++;
	fetch_card(j);
	return 0;
}

/* ---- cancel ---------------------------------------------------------------------------------- */

static void on_cancel_done(void *user, int err, const struct http_response *resp)
{
	struct job *j = user;
	j->xfer = NULL;
	if (err)
		aa_log(AA_LOG_INFO, "outbound: cannot tell the HTTP agent of the cancel", "task",
		       j->local_id, "error", aa_strerror(err), NULL);
	else if (resp->status != 200 || apply_reply(j, resp->body, resp->body_len, NULL) < 0)
		aa_log(AA_LOG_INFO, "outbound: the HTTP agent did not cancel its task", "task",
		       j->local_id, "reason", j->why[0] ? j->why : "an HTTP error status", NULL);
	job_maybe_free(j);
}

int outbound_cancel(struct outbound *ob, const char *task_id)
{
	struct job *j = ob->jobs;
	while (j && !(j->registered && strcmp(j->local_id, task_id) == 0))
		j = j->next;
	if (!j || j->final || j->closing)
		return AA_ENOENT;
	/* The local task is over: what the remote does from here is not applied any more. */
	j->final = true;
	uv_timer_stop(&j->timer);
	if (j->xfer) {
		http_transfer_cancel(j->xfer);
		j->xfer = NULL;
	}
	j->why[0] = 0;
	uuid_v4_string(j->rpc_id);
	int rc = post_json(j, a2a_json_cancel_request(j->rpc_id, j->remote_id, j->card.version),
			   false, NULL, on_cancel_done);
	if (rc < 0) {
		aa_log(AA_LOG_INFO, "outbound: cannot tell the HTTP agent of the cancel", "task",
		       j->local_id, "error", aa_strerror(rc), NULL);
		job_maybe_free(j);
	}
	return 0;
}

/* ---- life cycle ---------------------------------------------------------------------------- */

int outbound_new(uv_loop_t *loop, struct a2a_node *a2a, struct node_metrics *metrics,
		 const struct outbound_options *o, struct outbound **out)
{
	struct outbound *ob = aa_calloc(1, sizeof *ob);
	ob->loop = loop;
	ob->a2a = a2a;
	ob->metrics = metrics;
	ob->o = *o;
	struct http_client_options co;
	http_client_options_default(&co);
	co.timeout_ms = o->request_timeout_ms;
	co.max_response = o->max_response;
	co.ca_file = o->ca_file;
	int rc = http_client_new(loop, &co, &ob->http);
	if (rc < 0) {
		free(ob);
		return rc;
	}
	*out = ob;
	return 0;
}

void outbound_close(struct outbound *ob, void (*close_cb)(void *user), void *user)
{
	ob->closing = true;
	ob->close_cb = close_cb;
	ob->close_user = user;
	if (!ob->jobs) {
		http_client_close(ob->http, close_cb, user);
		free(ob);
		return;
	}
	/* Every job ends now; the last one to be freed closes the client (job_free). */
	for (struct job *j = ob->jobs, *next; j; j = next) {
		next = j->next;
		if (j->xfer) {
			http_transfer_cancel(j->xfer);
			j->xfer = NULL;
		}
		uv_timer_stop(&j->timer);
		answer(j, AA_ECLOSED, "the node is shutting down", NULL);
		j->final = true;
		/* A job whose registration is being committed waits for that callback (the store
		 * answers within a commit round); the engine closes after us. */
		job_maybe_free(j);
	}
}
