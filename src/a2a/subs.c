/* a2a/subs: subscriptions to incoming tasks, to one task's updates and to one task's
 * artifact stream. Events go straight to a ready subscriber's callback; a subscriber that is
 * not ready (or still has older events) gets them queued, up to subscriber_buffer, beyond
 * which it alone is ended with AA_ENOMEM (the others are never slowed down). Queued events
 * are shared between subscribers (reference counted copies).
 *
 * Artifact streams use backpressure instead of overflow: producers (a2a_stream_feed and the
 * inbound STREAM_* envelopes) ask subs_stream_congested() before each event and wait while
 * a stream subscriber holds half its buffer; one that stays congested longer than
 * send_timeout_ns is ended with AA_ETIMEDOUT so it cannot hold the others forever.
 *
 * Re-entrancy: callbacks may subscribe, unsubscribe, change readiness and call the task API.
 * Ended subscriptions stay linked (skipped) until no emission is running, then are freed. */
#include "a2a/a2a_impl.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"

enum sub_kind { SUB_INCOMING, SUB_UPDATES, SUB_STREAM };

struct sub_evt {
	unsigned refs;
	enum sub_kind kind;
	/* incoming */
	pb_task *task;
	pb_card *card;
	/* updates */
	char *task_id;
	pb_status status;
	pb_message *msg;
	pb_artifact **arts;
	size_t narts;
	/* stream: one of the three */
	Agentanycast__V1__StreamStart *start;
	Agentanycast__V1__StreamChunk *chunk;
	Agentanycast__V1__StreamEnd *end;
};

/* An event as the callbacks see it: borrowed views. */
struct evt_view {
	enum sub_kind kind;
	const struct a2a_incoming_event *inc;
	const struct a2a_update_event *upd;
	const struct a2a_stream_event *st;
};

struct sub_list {
	struct a2a_sub *head;
};

struct a2a_sub {
	struct a2a_node *node;
	enum sub_kind kind;
	char *task_id;
	struct a2a_sub_callbacks cb;
	void *user;
	bool ready, ended, delivering, in_grave;
	struct sub_evt **q; /* ring of queued events */
	size_t qhead, qlen, qcap;
	uint64_t congested_since;
	struct a2a_sub *prev, *next;
	struct a2a_sub *grave_next;
};

/* ---- events ------------------------------------------------------------------------------ */

static struct sub_evt *evt_clone(const struct evt_view *v)
{
	struct sub_evt *e = aa_calloc(1, sizeof *e);
	e->refs = 0;
	e->kind = v->kind;
	switch (v->kind) {
	case SUB_INCOMING:
		e->task = a2a_pb_task_copy(v->inc->task);
		e->card = v->inc->sender_card ? a2a_pb_card_copy(v->inc->sender_card) : NULL;
		break;
	case SUB_UPDATES:
		e->task_id = aa_strdup(v->upd->task_id);
		e->status = v->upd->status;
		e->msg = v->upd->message ? a2a_pb_message_copy(v->upd->message) : NULL;
		if (v->upd->nartifacts) {
			e->arts = aa_calloc(v->upd->nartifacts, sizeof *e->arts);
			for (size_t i = 0; i < v->upd->nartifacts; i++)
				e->arts[i] = a2a_pb_artifact_copy(v->upd->artifacts[i]);
			e->narts = v->upd->nartifacts;
		}
		break;
	case SUB_STREAM:
		if (v->st->start)
			e->start = (void *)a2a_pb_copy(&v->st->start->base);
		if (v->st->chunk)
			e->chunk = (void *)a2a_pb_copy(&v->st->chunk->base);
		if (v->st->end)
			e->end = (void *)a2a_pb_copy(&v->st->end->base);
		break;
	}
	return e;
}

static void evt_unref(struct sub_evt *e)
{
	if (--e->refs > 0)
		return;
	a2a_pb_free(e->task);
	a2a_pb_free(e->card);
	free(e->task_id);
	a2a_pb_free(e->msg);
	for (size_t i = 0; i < e->narts; i++)
		a2a_pb_free(e->arts[i]);
	free(e->arts);
	a2a_pb_free(e->start);
	a2a_pb_free(e->chunk);
	a2a_pb_free(e->end);
	free(e);
}

/* A copy made for queueing that no subscriber kept (the one that needed it overflowed). */
static void drop_unused(struct sub_evt *e)
{
	if (e && e->refs == 0) {
		e->refs = 1;
		evt_unref(e);
	}
}

/* Calls the subscriber's callback for an event, owned or borrowed. */
static void sub_call(struct a2a_sub *s, const struct evt_view *v, const struct sub_evt *e)
{
	switch (s->kind) {
	case SUB_INCOMING:
		if (!s->cb.on_incoming)
			return;
		if (e) {
			struct a2a_incoming_event ev = { e->task, e->card };
			s->cb.on_incoming(s->user, &ev);
		} else {
			s->cb.on_incoming(s->user, v->inc);
		}
		break;
	case SUB_UPDATES:
		if (!s->cb.on_update)
			return;
		if (e) {
			struct a2a_update_event ev = { e->task_id, e->status, e->msg, e->arts, e->narts };
			s->cb.on_update(s->user, &ev);
		} else {
			s->cb.on_update(s->user, v->upd);
		}
		break;
	case SUB_STREAM:
		if (!s->cb.on_stream)
			return;
		if (e) {
			struct a2a_stream_event ev = { e->start, e->chunk, e->end };
			s->cb.on_stream(s->user, &ev);
		} else {
			s->cb.on_stream(s->user, v->st);
		}
		break;
	}
}

/* ---- lists ---------------------------------------------------------------------------------- */

static struct aa_map *kind_map(struct a2a_node *n, enum sub_kind k)
{
	return k == SUB_UPDATES ? &n->update_subs : &n->stream_subs;
}

static struct a2a_sub **list_head(struct a2a_node *n, struct a2a_sub *s, bool create)
{
	if (s->kind == SUB_INCOMING)
		return &n->incoming_subs;
	struct aa_map *m = kind_map(n, s->kind);
	size_t len = strlen(s->task_id);
	struct sub_list *l = map_get(m, s->task_id, len);
	if (!l && create) {
		l = aa_calloc(1, sizeof *l);
		map_put(m, s->task_id, len, l, NULL);
	}
	return l ? &l->head : NULL;
}

static void sub_unlink(struct a2a_node *n, struct a2a_sub *s)
{
	struct a2a_sub **head = list_head(n, s, false);
	if (!head)
		return;
	if (s->prev)
		s->prev->next = s->next;
	else
		*head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	if (s->kind != SUB_INCOMING && !*head) {
		struct sub_list *l = map_remove(kind_map(n, s->kind), s->task_id, strlen(s->task_id));
		free(l);
	}
}

static void sub_free(struct a2a_sub *s)
{
	while (s->qlen) {
		evt_unref(s->q[s->qhead]);
		s->qhead = (s->qhead + 1) % s->qcap;
		s->qlen--;
	}
	free(s->q);
	free(s->task_id);
	free(s);
}

static size_t high_mark(const struct a2a_node *n)
{
	size_t h = n->cfg.subscriber_buffer / 2;
	return h ? h : 1;
}

/* Frees the ended subscriptions once nothing is iterating over them. */
static void reap(struct a2a_node *n)
{
	if (n->emit_depth)
		return;
	struct a2a_sub **pp = &n->graveyard;
	while (*pp) {
		struct a2a_sub *s = *pp;
		if (s->delivering) {
			pp = &s->grave_next;
			continue;
		}
		*pp = s->grave_next;
		sub_unlink(n, s);
		sub_free(s);
	}
}

static void sub_end(struct a2a_sub *s, int err)
{
	if (s->ended)
		return;
	struct a2a_node *n = s->node;
	s->ended = true;
	while (s->qlen) {
		evt_unref(s->q[s->qhead]);
		s->qhead = (s->qhead + 1) % s->qcap;
		s->qlen--;
	}
	s->grave_next = n->graveyard;
	n->graveyard = s;
	s->in_grave = true;
	if (s->kind == SUB_STREAM && !n->closing)
		stream_subs_drained(n, s->task_id);
	if (s->cb.on_end)
		s->cb.on_end(s->user, err);
}

static void enqueue(struct a2a_sub *s, struct sub_evt *e)
{
	struct a2a_node *n = s->node;
	if (s->qlen >= n->cfg.subscriber_buffer) {
		aa_log(AA_LOG_WARN, "a2a: subscriber too slow, ended", "task",
		       s->task_id ? s->task_id : "", NULL);
		sub_end(s, AA_ENOMEM);
		return;
	}
	if (s->qlen == s->qcap) {
		size_t cap = s->qcap ? s->qcap * 2 : 8;
		struct sub_evt **q = aa_calloc(cap, sizeof *q);
		for (size_t i = 0; i < s->qlen; i++)
			q[i] = s->q[(s->qhead + i) % s->qcap];
		free(s->q);
		s->q = q;
		s->qcap = cap;
		s->qhead = 0;
	}
	e->refs++;
	s->q[(s->qhead + s->qlen) % s->qcap] = e;
	s->qlen++;
	if (s->qlen == high_mark(n) && !s->congested_since)
		s->congested_since = node_now_ns();
}

static void drain(struct a2a_sub *s)
{
	struct a2a_node *n = s->node;
	if (s->delivering)
		return; /* the loop below, further up the stack, continues */
	s->delivering = true;
	n->emit_depth++;
	while (s->ready && !s->ended && s->qlen) {
		struct sub_evt *e = s->q[s->qhead];
		s->qhead = (s->qhead + 1) % s->qcap;
		s->qlen--;
		sub_call(s, NULL, e);
		evt_unref(e);
	}
	s->delivering = false;
	n->emit_depth--;
	if (s->qlen < high_mark(n))
		s->congested_since = 0;
	if (s->kind == SUB_STREAM && !s->ended && !n->closing && s->qlen < high_mark(n))
		stream_subs_drained(n, s->task_id);
	reap(n);
}

/* Offers one event to every live subscriber of a list, in order. */
static void emit_list(struct a2a_node *n, struct a2a_sub *head, const struct evt_view *v,
		      struct sub_evt **shared)
{
	n->emit_depth++;
	for (struct a2a_sub *s = head; s; s = s->next) {
		if (s->ended)
			continue;
		if (s->ready && s->qlen == 0 && !s->delivering) {
			s->delivering = true;
			sub_call(s, v, NULL);
			s->delivering = false;
			if (!s->ended && s->ready && s->qlen)
				drain(s);
			continue;
		}
		if (!*shared)
			*shared = evt_clone(v);
		enqueue(s, *shared);
	}
	n->emit_depth--;
	reap(n);
}

/* ---- emission ------------------------------------------------------------------------------- */

static bool has_live(const struct a2a_sub *s)
{
	for (; s; s = s->next)
		if (!s->ended)
			return true;
	return false;
}

static void backlog_push(struct a2a_node *n, struct sub_evt *e)
{
	size_t cap = n->cfg.subscriber_buffer;
	if (n->backlog_len >= cap) {
		aa_log(AA_LOG_WARN, "a2a: incoming task dropped: nobody subscribed and backlog full",
		       "task", e->task->task_id, NULL);
		evt_unref(e);
		return;
	}
	if (!n->backlog)
		n->backlog = aa_calloc(cap, sizeof *n->backlog);
	n->backlog[(n->backlog_head + n->backlog_len) % cap] = e;
	n->backlog_len++;
}

void subs_emit_incoming(struct a2a_node *n, const pb_task *task, const pb_card *card)
{
	struct a2a_incoming_event ev = { task, card };
	struct evt_view v = { .kind = SUB_INCOMING, .inc = &ev };
	/* Better than the reference (C.3): kept for the first subscriber when nobody listens,
	 * and queued behind an older backlog so the order holds. */
	if (!has_live(n->incoming_subs) || n->backlog_len) {
		struct sub_evt *e = evt_clone(&v);
		e->refs = 1;
		backlog_push(n, e);
		if (has_live(n->incoming_subs))
			subs_flush_backlog(n);
		return;
	}
	struct sub_evt *shared = NULL;
	emit_list(n, n->incoming_subs, &v, &shared);
	drop_unused(shared);
	engine_announced(n, task->task_id);
}

void subs_flush_backlog(struct a2a_node *n)
{
	size_t cap = n->cfg.subscriber_buffer;
	while (n->backlog_len && has_live(n->incoming_subs)) {
		struct sub_evt *e = n->backlog[n->backlog_head];
		n->backlog_head = (n->backlog_head + 1) % cap;
		n->backlog_len--;
		struct a2a_incoming_event ev = { e->task, e->card };
		struct evt_view v = { .kind = SUB_INCOMING, .inc = &ev };
		struct sub_evt *shared = e;
		emit_list(n, n->incoming_subs, &v, &shared);
		engine_announced(n, e->task->task_id);
		evt_unref(e); /* the backlog's reference */
	}
}

void subs_emit_update(struct a2a_node *n, const struct a2a_update_event *ev)
{
	struct sub_list *l = map_get(&n->update_subs, ev->task_id, strlen(ev->task_id));
	if (!l)
		return;
	struct evt_view v = { .kind = SUB_UPDATES, .upd = ev };
	struct sub_evt *shared = NULL;
	emit_list(n, l->head, &v, &shared);
	drop_unused(shared);
}

void subs_emit_stream(struct a2a_node *n, const char *task_id, const struct a2a_stream_event *ev)
{
	struct sub_list *l = map_get(&n->stream_subs, task_id, strlen(task_id));
	if (!l)
		return;
	struct evt_view v = { .kind = SUB_STREAM, .st = ev };
	struct sub_evt *shared = NULL;
	emit_list(n, l->head, &v, &shared);
	drop_unused(shared);
}

bool subs_stream_congested(struct a2a_node *n, const char *task_id)
{
	struct sub_list *l = map_get(&n->stream_subs, task_id, strlen(task_id));
	if (!l)
		return false;
	size_t high = high_mark(n);
	for (struct a2a_sub *s = l->head; s; s = s->next)
		if (!s->ended && s->qlen >= high)
			return true;
	return false;
}

void subs_tick(struct a2a_node *n, uint64_t now)
{
	size_t high = high_mark(n);
	struct map_iter it;
	void *v;
	n->emit_depth++; /* ending a subscriber must not free list entries under us */
	map_iter_init(&it, &n->stream_subs);
	while (map_iter_next(&it, NULL, NULL, &v)) {
		struct sub_list *l = v;
		for (struct a2a_sub *s = l->head; s; s = s->next) {
			if (s->ended || s->qlen < high) {
				s->congested_since = 0;
				continue;
			}
			if (!s->congested_since)
				s->congested_since = now;
			if (now - s->congested_since >= n->cfg.send_timeout_ns)
				sub_end(s, AA_ETIMEDOUT);
		}
	}
	n->emit_depth--;
	reap(n);
}

/* ---- public API ------------------------------------------------------------------------------ */

static struct a2a_sub *sub_new(struct a2a_node *n, enum sub_kind kind, const char *task_id,
			       const struct a2a_sub_callbacks *cb, void *user)
{
	if (!n || n->closing || !cb || (kind != SUB_INCOMING && (!task_id || !*task_id)))
		return NULL;
	struct a2a_sub *s = aa_calloc(1, sizeof *s);
	s->node = n;
	s->kind = kind;
	s->task_id = task_id ? aa_strdup(task_id) : NULL;
	s->cb = *cb;
	s->user = user;
	s->ready = true;
	/* New subscribers go first: an emission in progress does not reach them. */
	struct a2a_sub **head = list_head(n, s, true);
	s->next = *head;
	if (*head)
		(*head)->prev = s;
	*head = s;
	return s;
}

struct a2a_sub *a2a_subscribe_incoming(struct a2a_node *n, const struct a2a_sub_callbacks *cb,
				       void *user)
{
	struct a2a_sub *s = sub_new(n, SUB_INCOMING, NULL, cb, user);
	/* The backlog goes out from the loop, after the caller has its handle. */
	if (s && n->backlog_len)
		node_defer_kick(n);
	return s;
}

struct a2a_sub *a2a_subscribe_updates(struct a2a_node *n, const char *task_id,
				      const struct a2a_sub_callbacks *cb, void *user)
{
	return sub_new(n, SUB_UPDATES, task_id, cb, user);
}

struct a2a_sub *a2a_subscribe_stream(struct a2a_node *n, const char *task_id,
				     const struct a2a_sub_callbacks *cb, void *user)
{
	return sub_new(n, SUB_STREAM, task_id, cb, user);
}

void a2a_sub_set_ready(struct a2a_sub *s, bool ready)
{
	if (!s || s->ended)
		return;
	s->ready = ready;
	if (ready && s->qlen)
		drain(s);
}

void a2a_unsubscribe(struct a2a_sub *s)
{
	if (!s || s->ended)
		return;
	sub_end(s, 0);
	reap(s->node);
}

/* ---- node life cycle ------------------------------------------------------------------------ */

int subs_init(struct a2a_node *n)
{
	map_init(&n->update_subs, 0);
	map_init(&n->stream_subs, 0);
	return 0;
}

static void end_list(struct a2a_sub *head)
{
	for (struct a2a_sub *s = head; s; s = s->next)
		sub_end(s, AA_ECLOSED);
}

void subs_close(struct a2a_node *n)
{
	n->emit_depth++;
	end_list(n->incoming_subs);
	struct aa_map *maps[2] = { &n->update_subs, &n->stream_subs };
	for (int i = 0; i < 2; i++) {
		struct map_iter it;
		void *v;
		map_iter_init(&it, maps[i]);
		while (map_iter_next(&it, NULL, NULL, &v))
			end_list(((struct sub_list *)v)->head);
	}
	n->emit_depth--;
	reap(n);
}

void subs_free(struct a2a_node *n)
{
	/* Anything left was ended by subs_close; free what a running delivery kept. */
	n->emit_depth = 0;
	while (n->graveyard) {
		struct a2a_sub *s = n->graveyard;
		n->graveyard = s->grave_next;
		sub_unlink(n, s);
		sub_free(s);
	}
	size_t cap = n->cfg.subscriber_buffer;
	while (n->backlog_len) {
		evt_unref(n->backlog[n->backlog_head]);
		n->backlog_head = (n->backlog_head + 1) % cap;
		n->backlog_len--;
	}
	free(n->backlog);
	n->backlog = NULL;
	struct aa_map *maps[2] = { &n->update_subs, &n->stream_subs };
	for (int i = 0; i < 2; i++) {
		struct map_iter it;
		void *v;
		map_iter_init(&it, maps[i]);
		while (map_iter_next(&it, NULL, NULL, &v))
			free(map_iter_remove(&it));
		map_free(maps[i]);
	}
}
