/* a2a/stream: streaming artifacts (REFERENCE.md C.8, DECISIONS.md 6). The executing node
 * feeds StreamStart/Chunk/End events (a2a_stream_feed); they reach SubscribeTaskStream
 * subscribers of this node and, for a task that came from a remote peer, the originator as
 * STREAM_START/CHUNK/END envelopes written in order on ONE a2a stream. The originator
 * delivers them to its own stream subscribers and ACKs each.
 *
 * Backpressure end to end, with bounded memory: a feed is refused with AA_EAGAIN while the
 * previous envelope is not yet wholly handed to the connection, while A2A_STREAM_MAX_UNACKED
 * envelopes wait for their ACK, or while a local stream subscriber is congested; on_ready
 * follows. On the receiving side an inbound stream stops being read (the yamux window then
 * holds the sender back) while a subscriber of the task is congested, and is resumed when
 * it drains (subs.c). */
#include "a2a/a2a_impl.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"

/* The p2p stream of a stream_out: a separate context, because the caller may free the
 * stream_out (a2a_stream_abort) while the p2p stream still closes. */
struct so_stream {
	struct strm_link link;          /* first */
	struct a2a_stream_out *o;       /* NULL once the stream_out is gone */
	struct a2a_peer *peer;
};

struct a2a_stream_out {
	struct a2a_node *node;          /* NULL once the node closed */
	void (*on_ready)(void *user);
	void *user;
	bool want_ready;
	bool session;                   /* between a start and its end */
	char *task_id;                  /* of the current (or last) session */
	bool remote;                    /* bound to a remote originator */
	struct p2p_peer_id peer;
	struct so_stream *ss;
	bool opened, fin_sent;
	struct aa_buf out;              /* the frame not yet handed to the connection */
	size_t out_off;
	char unacked[A2A_STREAM_MAX_UNACKED][37];
	unsigned nunacked;
	int err;
	bool closing, done_pending;
	a2a_done_cb close_cb;
	void *close_user;
	uint64_t last_progress_ns;
	struct a2a_stream_out *prev, *next;
};

struct paused_in {
	struct in_stream *is;
	char *task_id;
	struct paused_in *next;
};

/* ---- helpers ----------------------------------------------------------------------------- */

static bool out_pending(const struct a2a_stream_out *o)
{
	return o->out_off < o->out.n;
}

static bool blocked(const struct a2a_stream_out *o)
{
	return out_pending(o) || o->nunacked >= A2A_STREAM_MAX_UNACKED ||
	       (o->task_id && subs_stream_congested(o->node, o->task_id));
}

static void forget_unacked(struct a2a_stream_out *o)
{
	for (unsigned i = 0; i < o->nunacked; i++)
		router_ack_forget(o->node, o->unacked[i]);
	o->nunacked = 0;
}

static void outs_unlink(struct a2a_node *n, struct a2a_stream_out *o)
{
	if (o->prev)
		o->prev->next = o->next;
	else if (n->outs == o)
		n->outs = o->next;
	if (o->next)
		o->next->prev = o->prev;
	o->prev = o->next = NULL;
}

static void out_free(struct a2a_stream_out *o)
{
	aa_buf_free(&o->out);
	free(o->task_id);
	free(o);
}

/* Everything is handed on (and ACKed, for a remote originator)? */
static bool out_complete(const struct a2a_stream_out *o)
{
	if (out_pending(o))
		return false;
	if (!o->remote || !o->ss)
		return true;
	return o->fin_sent && o->nunacked == 0;
}

static void maybe_fin(struct a2a_stream_out *o)
{
	if (o->closing && o->ss && o->opened && !out_pending(o) && !o->fin_sent) {
		o->fin_sent = true;
		p2p_stream_close_write(o->ss->link.st);
	}
}

/* The close callback goes out from the loop (never inside a call of the caller's). */
static void maybe_done(struct a2a_stream_out *o)
{
	if (!o->closing || o->done_pending || !o->node)
		return;
	if (o->err || out_complete(o)) {
		o->done_pending = true;
		node_defer_kick(o->node);
	}
}

static void check_ready(struct a2a_stream_out *o)
{
	if (!o->want_ready || !o->node)
		return;
	if (!o->err && blocked(o))
		return;
	o->want_ready = false;
	if (o->on_ready)
		o->on_ready(o->user);
}

static void so_flush(struct a2a_stream_out *o)
{
	while (out_pending(o) && o->ss) {
		ssize_t w = p2p_stream_write(o->ss->link.st, o->out.p + o->out_off, o->out.n - o->out_off);
		if (w <= 0)
			return;
		o->out_off += (size_t)w;
		o->last_progress_ns = node_now_ns();
	}
	if (!out_pending(o)) {
		aa_buf_reset(&o->out);
		o->out_off = 0;
	}
	maybe_fin(o);
}

/* The stream to the originator failed: everything fed later fails too. */
static void out_fail(struct a2a_stream_out *o, int err)
{
	if (!o->err)
		o->err = err;
	if (o->ss) {
		o->ss->o = NULL;
		p2p_stream_reset(o->ss->link.st);
		o->ss = NULL;
	}
	forget_unacked(o);
	maybe_done(o);
	check_ready(o);
}

/* ---- the p2p stream ------------------------------------------------------------------------- */

static void ss_on_open(struct p2p_stream *st)
{
	struct so_stream *ss = p2p_stream_user(st);
	if (!ss->link.node || !ss->o)
		return;
	ss->o->opened = true;
	maybe_fin(ss->o);
	maybe_done(ss->o);
}

static void ss_on_writable(struct p2p_stream *st)
{
	struct so_stream *ss = p2p_stream_user(st);
	if (!ss->link.node || !ss->o)
		return;
	struct a2a_stream_out *o = ss->o;
	so_flush(o);
	maybe_done(o);
	check_ready(o);
}

static size_t ss_on_data(struct p2p_stream *st, const uint8_t *p, size_t n)
{
	return n;
}

static void ss_on_close(struct p2p_stream *st, int err)
{
	struct so_stream *ss = p2p_stream_user(st);
	if (ss->link.node) {
		struct a2a_node *n = ss->link.node;
		node_unlink_stream(&ss->link);
		struct a2a_stream_out *o = ss->o;
		if (o) {
			o->ss = NULL;
			/* A clean close after our FIN is fine: the ACKs travel on their own streams. */
			if (err || !o->fin_sent)
				out_fail(o, err ? err : AA_ECLOSED);
		}
		peer_unref(ss->peer);
		router_stream_closed(n, ss->peer);
	}
	free(ss);
}

static const struct p2p_stream_handler so_handler = {
	.on_open = ss_on_open,
	.on_data = ss_on_data,
	.on_writable = ss_on_writable,
	.on_close = ss_on_close,
};

/* ---- the API --------------------------------------------------------------------------------- */

struct a2a_stream_out *a2a_stream_open(struct a2a_node *n, void (*on_ready)(void *user), void *user)
{
	if (!n || n->closing)
		return NULL;
	struct a2a_stream_out *o = aa_calloc(1, sizeof *o);
	o->node = n;
	o->on_ready = on_ready;
	o->user = user;
	aa_buf_init(&o->out);
	o->last_progress_ns = node_now_ns();
	o->next = n->outs;
	if (n->outs)
		n->outs->prev = o;
	n->outs = o;
	return o;
}

/* Binds the stream_out to the originator of a task started now. */
static int bind_target(struct a2a_stream_out *o, const char *task_id)
{
	struct a2a_node *n = o->node;
	struct task_rec *r = engine_find(n, task_id);
	if (!r)
		return AA_ENOENT;
	bool remote;
	const struct p2p_peer_id *peer = engine_task_peer(r, &remote);
	if (!remote || !peer)
		return o->remote ? AA_EINVAL : 0; /* one stream_out serves one originator */
	if (o->remote)
		return p2p_peer_id_equal(&o->peer, peer) ? 0 : AA_EINVAL;
	if (o->closing)
		return AA_EINVAL;
	struct a2a_peer *p = node_peer(n, peer);
	struct so_stream *ss = aa_calloc(1, sizeof *ss);
	struct p2p_stream *st;
	int rc = router_open_stream(n, p, &so_handler, ss, &st);
	if (rc < 0) {
		free(ss);
		if (rc == AA_EAGAIN)
			return rc;
		return AA_EUNAVAIL; /* the originator is not connected */
	}
	ss->o = o;
	ss->peer = p;
	peer_ref(p);
	node_link_stream(n, &ss->link, SL_STREAM_OUT, st);
	o->ss = ss;
	o->remote = true;
	o->peer = *peer;
	return 0;
}

static int send_envelope(struct a2a_stream_out *o, const Agentanycast__V1__StreamStart *start,
			 const Agentanycast__V1__StreamChunk *chunk, const Agentanycast__V1__StreamEnd *end)
{
	struct a2a_node *n = o->node;
	pb_envelope env = AGENTANYCAST__V1__A2_AENVELOPE__INIT;
	if (start) {
		env.type = ENV_STREAM_START;
		env.payload_case = AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_STREAM_START;
		env.stream_start = (Agentanycast__V1__StreamStart *)start;
	} else if (chunk) {
		env.type = ENV_STREAM_CHUNK;
		env.payload_case = AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_STREAM_CHUNK;
		env.stream_chunk = (Agentanycast__V1__StreamChunk *)chunk;
	} else {
		env.type = ENV_STREAM_END;
		env.payload_case = AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_STREAM_END;
		env.stream_end = (Agentanycast__V1__StreamEnd *)end;
	}
	char id[37];
	struct aa_buf packed;
	aa_buf_init(&packed);
	router_envelope_pack(&env, id, &packed);
	if (packed.n > A2A_MAX_FRAME) {
		aa_buf_free(&packed);
		return AA_EINVAL;
	}
	a2a_frame_write(&o->out, aa_slice_make(packed.p, packed.n));
	aa_buf_free(&packed);
	memcpy(o->unacked[o->nunacked++], id, sizeof id);
	router_ack_wait_stream(n, id, o, &o->peer);
	n->stats.envelopes_out++;
	n->stats.envelopes_by_type[A2A_STATS_SENT][env.type]++;
	so_flush(o);
	return 0;
}

int a2a_stream_feed(struct a2a_stream_out *o, const Agentanycast__V1__StreamStart *start,
		    const Agentanycast__V1__StreamChunk *chunk, const Agentanycast__V1__StreamEnd *end)
{
	if (!o || (!!start + !!chunk + !!end) != 1)
		return AA_EINVAL;
	if (!o->node)
		return AA_ECLOSED;
	if (o->err)
		return o->err;
	if (o->closing)
		return AA_EINVAL;
	struct a2a_node *n = o->node;
	if (!start && !o->session)
		return AA_EINVAL; /* REFERENCE C.8: chunk or end without a session */
	const char *task_id = start ? start->task_id : o->task_id;
	if (start && !engine_find(n, task_id))
		return AA_ENOENT;
	/* Backpressure: the previous envelope is not out yet, too many wait for their ACK, or
	 * a subscriber of the task is full. */
	if (out_pending(o) || o->nunacked >= A2A_STREAM_MAX_UNACKED || subs_stream_congested(n, task_id)) {
		o->want_ready = true;
		return AA_EAGAIN;
	}
	if (start) {
		int rc = bind_target(o, task_id);
		if (rc == AA_EAGAIN) {
			o->want_ready = true; /* a stream slot frees up soon: the tick looks again */
			return rc;
		}
		if (rc < 0)
			return rc;
		free(o->task_id);
		o->task_id = aa_strdup(task_id);
		o->session = true;
	}
	struct a2a_stream_event ev = { start, chunk, end };
	subs_emit_stream(n, o->task_id, &ev);
	if (chunk) {
		n->stats.stream_chunks++;
		n->stats.stream_chunks_sent++;
	}
	int rc = 0;
	if (o->remote && o->ss)
		rc = send_envelope(o, start, chunk, end);
	if (end)
		o->session = false; /* StreamEnd ends the session (C.8) */
	return rc;
}

int a2a_stream_close(struct a2a_stream_out *o, a2a_done_cb cb, void *user)
{
	if (!o)
		return AA_EINVAL;
	if (!o->node)
		return AA_ECLOSED;
	if (o->closing)
		return AA_EINVAL;
	o->closing = true;
	o->close_cb = cb;
	o->close_user = user;
	maybe_fin(o);
	maybe_done(o);
	return 0;
}

void a2a_stream_abort(struct a2a_stream_out *o)
{
	if (!o)
		return;
	if (o->node) {
		struct a2a_node *n = o->node;
		if (o->ss) {
			o->ss->o = NULL;
			p2p_stream_reset(o->ss->link.st);
			o->ss = NULL;
		}
		forget_unacked(o);
		outs_unlink(n, o);
	}
	out_free(o);
}

/* ---- events from the node ------------------------------------------------------------------- */

void stream_on_ack(struct a2a_node *n, struct a2a_stream_out *o, const char *envelope_id)
{
	for (unsigned i = 0; i < o->nunacked; i++) {
		if (strcmp(o->unacked[i], envelope_id) != 0)
			continue;
		router_ack_forget(n, envelope_id);
		o->nunacked--;
		if (i != o->nunacked)
			memcpy(o->unacked[i], o->unacked[o->nunacked], sizeof o->unacked[i]);
		o->last_progress_ns = node_now_ns();
		maybe_done(o);
		check_ready(o);
		return;
	}
}

void stream_subs_drained(struct a2a_node *n, const char *task_id)
{
	/* Resumptions run from the loop: this is called from inside deliveries. */
	if (n->paused_ins || n->outs)
		node_defer_kick(n);
}

void stream_on_defer(struct a2a_node *n)
{
	/* Inbound streams whose task drained. */
	struct paused_in *list = n->paused_ins, *keep = NULL;
	n->paused_ins = NULL;
	while (list) {
		struct paused_in *pi = list;
		list = pi->next;
		if (subs_stream_congested(n, pi->task_id)) {
			pi->next = keep;
			keep = pi;
			continue;
		}
		struct in_stream *is = pi->is;
		free(pi->task_id);
		free(pi);
		router_resume_stream(is); /* may pause again, adding to n->paused_ins */
	}
	while (keep) {
		struct paused_in *pi = keep;
		keep = pi->next;
		pi->next = n->paused_ins;
		n->paused_ins = pi;
	}
	/* Producers waiting for room; finished closes. */
	for (struct a2a_stream_out *o = n->outs, *next; o; o = next) {
		next = o->next;
		if (o->done_pending) {
			outs_unlink(n, o);
			int err = o->err;
			a2a_done_cb cb = o->close_cb;
			void *user = o->close_user;
			if (o->ss) {
				o->ss->o = NULL; /* closes on its own after both FINs */
				o->ss = NULL;
			}
			forget_unacked(o);
			out_free(o);
			if (cb)
				cb(user, err);
			continue;
		}
		check_ready(o);
	}
}

void stream_tick(struct a2a_node *n, uint64_t now)
{
	/* on_ready may abort the stream_out it is called for: take the next one first. */
	for (struct a2a_stream_out *o = n->outs, *next; o; o = next) {
		next = o->next;
		/* Three times send_timeout: a receiver ends a subscriber that holds its stream
		 * back for send_timeout (subs.c) and then goes on; only a peer that stops
		 * reading altogether hits this. */
		if (o->ss && (out_pending(o) || o->nunacked) &&
		    now - o->last_progress_ns > 3 * n->cfg.send_timeout_ns) {
			aa_log(AA_LOG_WARN, "a2a: artifact stream stalled", "task",
			       o->task_id ? o->task_id : "", NULL);
			out_fail(o, AA_ETIMEDOUT); /* tells the producer through on_ready */
			continue;
		}
		check_ready(o);
	}
}

void stream_forget_inbound(struct a2a_node *n, struct in_stream *is)
{
	for (struct paused_in **pp = &n->paused_ins; *pp;) {
		struct paused_in *pi = *pp;
		if (pi->is == is) {
			*pp = pi->next;
			free(pi->task_id);
			free(pi);
		} else {
			pp = &pi->next;
		}
	}
}

static const char *stream_task_id(const pb_envelope *env)
{
	switch (env->payload_case) {
	case AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_STREAM_START:
		return env->type == ENV_STREAM_START ? env->stream_start->task_id : NULL;
	case AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_STREAM_CHUNK:
		return env->type == ENV_STREAM_CHUNK ? env->stream_chunk->task_id : NULL;
	case AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_STREAM_END:
		return env->type == ENV_STREAM_END ? env->stream_end->task_id : NULL;
	default:
		return NULL;
	}
}

bool stream_handle_inbound(struct a2a_node *n, struct in_stream *is, struct a2a_peer *from,
			   pb_envelope *env)
{
	const char *task_id = stream_task_id(env);
	struct task_rec *r = task_id ? engine_find(n, task_id) : NULL;
	bool remote = true;
	const struct p2p_peer_id *exec = r ? engine_task_peer(r, &remote) : NULL;
	/* Only the peer we sent the task to may stream its artifacts to us. */
	if (!r || remote || !exec || !p2p_peer_id_equal(exec, &from->id)) {
		aa_log(AA_LOG_WARN, "a2a: artifact stream for a task this peer does not execute",
		       "peer", peer_str(from), "task", task_id ? task_id : "", NULL);
		router_send_ack(n, from, env->envelope_id);
		a2a_pb_free(env);
		return true;
	}
	struct a2a_stream_event ev = {
		env->type == ENV_STREAM_START ? env->stream_start : NULL,
		env->type == ENV_STREAM_CHUNK ? env->stream_chunk : NULL,
		env->type == ENV_STREAM_END ? env->stream_end : NULL,
	};
	subs_emit_stream(n, task_id, &ev);
	if (ev.chunk) {
		n->stats.stream_chunks++;
		n->stats.stream_chunks_received++;
	}
	/* Nothing to persist: handed to the subscribers is handled. */
	router_send_ack(n, from, env->envelope_id);
	bool pause = subs_stream_congested(n, task_id);
	if (pause) {
		struct paused_in *pi = aa_calloc(1, sizeof *pi);
		pi->is = is;
		pi->task_id = aa_strdup(task_id);
		pi->next = n->paused_ins;
		n->paused_ins = pi;
	}
	a2a_pb_free(env);
	return !pause;
}

void stream_close_all(struct a2a_node *n)
{
	while (n->paused_ins) {
		struct paused_in *pi = n->paused_ins;
		n->paused_ins = pi->next;
		free(pi->task_id);
		free(pi);
	}
	while (n->outs) {
		struct a2a_stream_out *o = n->outs;
		outs_unlink(n, o);
		if (o->ss) {
			o->ss->o = NULL; /* reset with the node's other streams */
			o->ss = NULL;
		}
		forget_unacked(o);
		o->err = AA_ECLOSED;
		if (o->closing) {
			a2a_done_cb cb = o->close_cb;
			void *user = o->close_user;
			out_free(o);
			if (cb)
				cb(user, AA_ECLOSED);
			continue;
		}
		o->node = NULL; /* the caller still owns it: feeds fail, abort frees */
	}
}
