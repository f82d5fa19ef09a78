/* a2a/node: the node's life cycle (new, recovery, close), configuration defaults, stats,
 * connection events from the host, the tick timer that drives retries and deadlines, the
 * peer table, and node_submit(): store batches handed over in call order. */
#include "a2a/a2a_impl.h"

#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/uuid.h"

void a2a_config_default(struct a2a_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->offline_queue_ttl_ns = 24ull * 3600 * 1000000000;
	cfg->retry_first_ms = 2000;
	cfg->max_retries = 3;
	cfg->subscriber_buffer = 256;
	cfg->card_exchange_wait_ns = 3ull * 1000000000;
	cfg->send_timeout_ns = 10ull * 1000000000;
	cfg->max_tasks = 100000;
}

uint64_t node_now_ns(void)
{
	return aa_clock_mono_ns();
}

const char *peer_str(const struct a2a_peer *p)
{
	return p->id_str;
}

pb_message *a2a_text_message(const char *s)
{
	char id[37];
	uuid_v4_string(id);
	Agentanycast__V1__TextPart text = AGENTANYCAST__V1__TEXT_PART__INIT;
	text.text = (char *)s;
	Agentanycast__V1__Part part = AGENTANYCAST__V1__PART__INIT;
	part.content_case = AGENTANYCAST__V1__PART__CONTENT_TEXT_PART;
	part.text_part = &text;
	Agentanycast__V1__Part *parts[1] = { &part };
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	a2a_pb_timestamp_set(&ts, aa_clock_wall_ms());
	pb_message m = AGENTANYCAST__V1__MESSAGE__INIT;
	m.message_id = id;
	m.role = AGENTANYCAST__V1__MESSAGE_ROLE__MESSAGE_ROLE_AGENT;
	m.n_parts = 1;
	m.parts = parts;
	m.created_at = &ts;
	return a2a_pb_message_copy(&m);
}

/* ---- stream contexts ------------------------------------------------------------------- */

void node_link_stream(struct a2a_node *n, struct strm_link *l, enum strm_kind kind,
		      struct p2p_stream *st)
{
	l->kind = kind;
	l->node = n;
	l->st = st;
	l->next = n->streams.next;
	l->prev = &n->streams;
	n->streams.next->prev = l;
	n->streams.next = l;
}

void node_unlink_stream(struct strm_link *l)
{
	if (!l->prev)
		return;
	l->prev->next = l->next;
	l->next->prev = l->prev;
	l->prev = l->next = NULL;
}

/* ---- peers ---------------------------------------------------------------------------- */

struct a2a_peer *node_peer_find(const struct a2a_node *n, const struct p2p_peer_id *id)
{
	return map_get(&n->peers, id->bytes, id->len);
}

struct a2a_peer *node_peer(struct a2a_node *n, const struct p2p_peer_id *id)
{
	struct a2a_peer *p = node_peer_find(n, id);
	if (p)
		return p;
	p = aa_calloc(1, sizeof *p);
	p->node = n;
	p->id = *id;
	int len = p2p_peer_id_to_string(id, p->id_str, sizeof p->id_str);
	p->id_len = len > 0 ? (size_t)len : 0;
	p->connected = p2p_host_conn_to(n->host, id) != NULL;
	/* The table is bounded by what references peers: connections (bounded by the host),
	 * and work queued for them; idle entries are swept by the tick. */
	map_put(&n->peers, id->bytes, id->len, p, NULL);
	return p;
}

void peer_unref(struct a2a_peer *p)
{
	if (p->refs)
		p->refs--;
}

static bool peer_idle(const struct a2a_peer *p)
{
	return p->refs == 0 && !p->connected && p->inflight_count == 0 && p->removing == 0 &&
	       !p->sendq_head && !p->writing && p->out_streams == 0 && p->acks_len == 0 &&
	       !p->dialing && p->in_pending == 0 && !p->xchg;
}

static void peer_free(struct a2a_peer *p)
{
	for (size_t i = 0; i < p->acks_len; i++)
		free(p->acks[(p->acks_head + i) % p->acks_cap]);
	free(p->acks);
	free(p);
}

static void sweep_peers(struct a2a_node *n, bool all)
{
	struct map_iter it;
	void *v;
	map_iter_init(&it, &n->peers);
	while (map_iter_next(&it, NULL, NULL, &v)) {
		struct a2a_peer *p = v;
		if (all || (peer_idle(p) && p->next_dial_ns <= node_now_ns())) {
			map_iter_remove(&it);
			peer_free(p);
		}
	}
}

/* ---- dials ------------------------------------------------------------------------------ */

struct dial_req {
	struct a2a_node *n; /* NULL once the node closed: the host still calls back */
	node_dial_cb cb;
	void *arg;
	struct dial_req *prev, *next;
};

static void dial_unlink(struct a2a_node *n, struct dial_req *d)
{
	if (d->prev)
		d->prev->next = d->next;
	else
		n->dials = d->next;
	if (d->next)
		d->next->prev = d->prev;
	d->prev = d->next = NULL;
}

static void on_host_dial(void *user, struct p2p_conn *c, int err)
{
	struct dial_req *d = user;
	struct a2a_node *n = d->n;
	if (n) {
		dial_unlink(n, d);
		d->cb(n, d->arg, c ? 0 : (err ? err : AA_EUNAVAIL));
	}
	free(d);
}

#define DIAL_MAX_ADDRS 16

int node_dial(struct a2a_node *n, const struct p2p_peer_id *peer, const struct multiaddr *addrs,
	      size_t naddrs, node_dial_cb cb, void *arg)
{
	struct multiaddr known[DIAL_MAX_ADDRS];
	if (naddrs == 0) {
		const struct multiaddr *ptrs[DIAL_MAX_ADDRS];
		size_t k = peerstore_get_addrs(p2p_host_peerstore(n->host), peer, node_now_ns(), ptrs,
					       DIAL_MAX_ADDRS);
		if (k > DIAL_MAX_ADDRS)
			k = DIAL_MAX_ADDRS;
		for (size_t i = 0; i < k; i++)
			known[i] = *ptrs[i]; /* shallow: p2p_host_dial copies */
		addrs = known;
		naddrs = k;
	}
	struct dial_req *d = aa_calloc(1, sizeof *d);
	d->n = n;
	d->cb = cb;
	d->arg = arg;
	int rc = p2p_host_dial(n->host, peer, addrs, naddrs, on_host_dial, d);
	if (rc < 0) {
		free(d);
		return rc == AA_ENOENT ? AA_EUNAVAIL : rc;
	}
	d->next = n->dials;
	if (n->dials)
		n->dials->prev = d;
	n->dials = d;
	return 0;
}

static void dials_close(struct a2a_node *n)
{
	while (n->dials) {
		struct dial_req *d = n->dials;
		dial_unlink(n, d);
		d->cb(n, d->arg, AA_ECLOSED);
		d->n = NULL;
	}
}

/* ---- store submission ------------------------------------------------------------------- */

struct commit_ctx {
	struct a2a_node *n;
	store_done_cb cb;
	void *arg;
};

struct deferred_batch {
	struct store_batch *b;
	struct commit_ctx *c;
	int err; /* a refusal other than "full": reported through the callback */
	struct deferred_batch *next;
};

static void maybe_finish_close(struct a2a_node *n);
static void submit_deferred(struct a2a_node *n);
static void on_defer(uv_timer_t *t);

static void on_commit(int status, const struct store_batch *b, void *arg)
{
	struct commit_ctx *c = arg;
	struct a2a_node *n = c->n;
	if (c->cb)
		c->cb(status, b, c->arg);
	free(c);
	n->pending_commits--;
	submit_deferred(n);
	maybe_finish_close(n);
}

static void defer_append(struct a2a_node *n, struct store_batch *b, struct commit_ctx *c, int err)
{
	struct deferred_batch *d = aa_calloc(1, sizeof *d);
	d->b = b;
	d->c = c;
	d->err = err;
	if (n->deferred_tail)
		n->deferred_tail->next = d;
	else
		n->deferred_head = d;
	n->deferred_tail = d;
	n->deferred_count++;
	/* The store may be full of other modules' batches: look again soon in any case. */
	if (!uv_is_active((uv_handle_t *)&n->defer))
		uv_timer_start(&n->defer, on_defer, err ? 0 : 5, 0);
}

void node_submit(struct a2a_node *n, struct store_batch *b, store_done_cb cb, void *arg)
{
	struct commit_ctx *c = aa_malloc(sizeof *c);
	c->n = n;
	c->cb = cb;
	c->arg = arg;
	n->pending_commits++;
	if (n->deferred_head) {
		defer_append(n, b, c, 0);
		return;
	}
	int rc = store_submit(n->store, b, on_commit, c);
	if (rc == 0)
		return;
	defer_append(n, b, c, rc == AA_EAGAIN ? 0 : rc);
}

bool node_can_submit(const struct a2a_node *n)
{
	return !n->closing && n->deferred_count < A2A_MAX_DEFERRED;
}

/* Hands held batches to the store in order; reports refused ones through their callback.
 * Runs from completions and the defer timer only, never inside an API call. */
static void submit_deferred(struct a2a_node *n)
{
	while (n->deferred_head) {
		struct deferred_batch *d = n->deferred_head;
		if (d->err == 0) {
			int rc = store_submit(n->store, d->b, on_commit, d->c);
			if (rc == AA_EAGAIN)
				break;
			if (rc != 0) {
				d->err = rc;
			} else {
				n->deferred_head = d->next;
				if (!n->deferred_head)
					n->deferred_tail = NULL;
				n->deferred_count--;
				free(d);
				continue;
			}
		}
		n->deferred_head = d->next;
		if (!n->deferred_head)
			n->deferred_tail = NULL;
		n->deferred_count--;
		aa_log(AA_LOG_ERROR, "a2a: store refused a batch", "error", aa_strerror(d->err), NULL);
		if (d->c->cb)
			d->c->cb(d->err, d->b, d->c->arg);
		store_batch_free(d->b);
		free(d->c);
		free(d);
		n->pending_commits--;
	}
}

static void on_defer(uv_timer_t *t)
{
	struct a2a_node *n = t->data;
	submit_deferred(n);
	if (n->deferred_head)
		uv_timer_start(&n->defer, on_defer, 5, 0);
	if (!n->closing) {
		subs_flush_backlog(n);
		stream_on_defer(n);
	}
	maybe_finish_close(n);
}

void node_defer_kick(struct a2a_node *n)
{
	if (!n->finishing && !uv_is_active((uv_handle_t *)&n->defer))
		uv_timer_start(&n->defer, on_defer, 0, 0);
}

/* ---- connection events ------------------------------------------------------------------ */

static void on_connected(void *user, struct p2p_conn *c)
{
	struct a2a_node *n = user;
	if (n->closing)
		return;
	struct a2a_peer *p = node_peer(n, p2p_conn_remote_peer(c));
	p->connected = true;
	p->dial_backoff_ns = 0;
	p->next_dial_ns = 0;
	/* REFERENCE.md A.7: every new connection: card exchange, then the offline queue. */
	card_on_connected(n, p);
	router_on_connected(n, p);
}

static void on_disconnected(void *user, struct p2p_conn *c, bool last)
{
	struct a2a_node *n = user;
	if (n->closing || !last)
		return;
	struct a2a_peer *p = node_peer_find(n, p2p_conn_remote_peer(c));
	if (!p)
		return;
	p->connected = false;
	router_on_disconnected(n, p);
	card_on_disconnected(n, p);
}

/* ---- tick -------------------------------------------------------------------------------- */

static void on_expired(int status, const struct store_batch *b, void *arg)
{
	if (status == 0 && store_batch_op_result(b, 0) > 0)
		aa_logf(AA_LOG_INFO, "a2a: %llu offline envelopes expired",
			(unsigned long long)store_batch_op_result(b, 0));
}

static void on_tick(uv_timer_t *t)
{
	struct a2a_node *n = t->data;
	if (n->closing)
		return;
	uint64_t now = node_now_ns();
	router_tick(n, now);
	card_tick(n, now);
	subs_tick(n, now);
	stream_tick(n, now);
	/* DECISIONS.md 4: a real TTL. The store drops expired entries at open; while running
	 * they are removed once a minute. */
	if (now - n->last_expire_ns >= 60ull * 1000000000) {
		n->last_expire_ns = now;
		struct store_batch *b = store_batch_new();
		store_batch_queue_expire(b, aa_clock_wall_ms());
		node_submit(n, b, on_expired, NULL);
	}
	sweep_peers(n, false);
}

/* ---- life cycle ------------------------------------------------------------------------- */

static void free_node(struct a2a_node *n)
{
	router_free(n);
	card_free(n);
	engine_free(n);
	subs_free(n);
	sweep_peers(n, true);
	map_free(&n->peers);
	void (*cb)(void *) = n->close_cb;
	void *user = n->close_user;
	free(n);
	if (cb)
		cb(user);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct a2a_node *n = h->data;
	if (--n->open_handles == 0)
		free_node(n);
}

static void maybe_finish_close(struct a2a_node *n)
{
	if (!n->closing || n->finishing || n->pending_commits)
		return;
	n->finishing = true;
	uv_timer_stop(&n->tick);
	uv_timer_stop(&n->defer);
	uv_close((uv_handle_t *)&n->tick, on_handle_closed);
	uv_close((uv_handle_t *)&n->defer, on_handle_closed);
}

int a2a_node_new(uv_loop_t *loop, struct p2p_host *host, struct store *store,
		 const struct p2p_keypair *identity, const struct a2a_config *cfg,
		 struct a2a_node **out)
{
	if (!loop || !host || !store || !identity || !out)
		return AA_EINVAL;
	struct a2a_node *n = aa_calloc(1, sizeof *n);
	n->loop = loop;
	n->host = host;
	n->store = store;
	n->identity = identity;
	if (cfg)
		n->cfg = *cfg;
	else
		a2a_config_default(&n->cfg);
	struct a2a_config def;
	a2a_config_default(&def);
	if (!n->cfg.retry_first_ms)
		n->cfg.retry_first_ms = def.retry_first_ms;
	if (!n->cfg.subscriber_buffer)
		n->cfg.subscriber_buffer = def.subscriber_buffer;
	if (!n->cfg.offline_queue_ttl_ns)
		n->cfg.offline_queue_ttl_ns = def.offline_queue_ttl_ns;
	if (!n->cfg.send_timeout_ns)
		n->cfg.send_timeout_ns = def.send_timeout_ns;
	if (!n->cfg.max_tasks)
		n->cfg.max_tasks = def.max_tasks;
	p2p_peer_id_from_public_key(identity->public_key, &n->self);
	p2p_peer_id_to_string(&n->self, n->self_str, sizeof n->self_str);
	n->streams.next = n->streams.prev = &n->streams;
	map_init(&n->peers, 0);

	int rc;
	if ((rc = subs_init(n)) < 0 || (rc = engine_init(n)) < 0 || (rc = card_init(n)) < 0 ||
	    (rc = router_init(n)) < 0) {
		router_close(n);
		p2p_host_remove_handler(host, A2A_CARD_PROTOCOL_ID);
		router_free(n);
		card_free(n);
		engine_free(n);
		subs_free(n);
		map_free(&n->peers);
		free(n);
		return rc;
	}

	/* The tick is fine enough for the retry schedule (a quarter of the first delay) and
	 * never slower than 250 ms, for deadlines. */
	n->tick_ms = n->cfg.retry_first_ms / 4;
	if (n->tick_ms > 250)
		n->tick_ms = 250;
	if (n->tick_ms < 10)
		n->tick_ms = 10;
	uv_timer_init(loop, &n->tick);
	n->tick.data = n;
	uv_timer_start(&n->tick, on_tick, n->tick_ms, n->tick_ms);
	uv_timer_init(loop, &n->defer);
	n->defer.data = n;
	n->open_handles = 2;
	n->last_expire_ns = node_now_ns();

	n->notifiee = (struct p2p_host_notifiee){
		.on_connected = on_connected,
		.on_disconnected = on_disconnected,
		.user = n,
	};
	p2p_host_subscribe(host, &n->notifiee);
	engine_trim(n);
	engine_replay_incoming(n);
	*out = n;
	return 0;
}

void a2a_node_close(struct a2a_node *n, void (*close_cb)(void *user), void *user)
{
	if (!n || n->closing)
		return;
	n->closing = true;
	n->close_cb = close_cb;
	n->close_user = user;
	uv_timer_stop(&n->tick);
	p2p_host_unsubscribe(n->host, &n->notifiee);
	router_close(n);
	card_close(n);
	dials_close(n);
	stream_close_all(n);
	subs_close(n);
	/* Detach every stream context and reset its stream: the host owns the streams and
	 * outlives us; their on_close only frees the context from now on. */
	while (n->streams.next != &n->streams) {
		struct strm_link *l = n->streams.next;
		node_unlink_stream(l);
		l->node = NULL;
		if (l->st)
			p2p_stream_reset(l->st);
	}
	/* Pending commits still complete (their callbacks see `closing`); the handles close
	 * after the last one. */
	uv_timer_start(&n->defer, on_defer, 0, 0);
}

void a2a_node_stats(const struct a2a_node *n, struct a2a_stats *out)
{
	*out = n->stats;
	struct store_stats ss;
	store_stats_get(n->store, &ss);
	out->offline_queue_size = ss.queue_total;
}
