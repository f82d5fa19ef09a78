/* a2a/card: Agent Card exchange on /agentanycast/card/1.0 (REFERENCE.md B.3), our own card
 * (SetAgentCard), the cache of peers' cards persisted in STORE_CARDS (C.7), and ConnectPeer,
 * which waits for the exchange so that GetPeerCard right after sees the card.
 *
 * Initiator: write our card as one frame, then read one frame (the peer's card); our FIN
 * goes out only once the remote confirmed the protocol (js-libp2p resets a stream whose FIN
 * arrives with its protocol proposal). Responder: read one frame, store it, answer with our
 * card if we have one, close.
 *
 * Bounds: a card above A2A_MAX_CARD_BYTES is refused (counted as a bad frame); the cache
 * keeps at most A2A_CARD_CACHE_MAX cards and A2A_CARD_CACHE_BYTES bytes, dropping the
 * least recently received (the reference keeps every card forever). */
#include "a2a/a2a_impl.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"

struct card_entry {
	struct p2p_peer_id id;
	pb_card *card;
	size_t bytes;
	uint8_t digest[16];         /* of the bytes received, to skip rewriting the same card */
	struct card_entry *older, *newer;
};

struct card_xchg {
	struct strm_link link;      /* first */
	struct a2a_peer *peer;
	bool initiator;
	struct a2a_frame_reader rd;
	uint8_t *out;
	size_t out_len, out_off;
	bool want_fin, opened, got, fin_sent, finished;
	uint64_t started_ns;
};

struct card_waiter {
	struct a2a_node *n;
	struct p2p_peer_id peer;
	a2a_done_cb cb;
	void *user;
	uint64_t deadline_ns;
	struct card_waiter *prev, *next;
};

static const char SELF_KEY[] = "self";

/* ---- the cache --------------------------------------------------------------------------- */

static void entry_unlink(struct a2a_node *n, struct card_entry *e)
{
	if (e->older)
		e->older->newer = e->newer;
	else
		n->cards_oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		n->cards_newest = e->older;
	e->older = e->newer = NULL;
}

static void entry_append(struct a2a_node *n, struct card_entry *e)
{
	e->older = n->cards_newest;
	e->newer = NULL;
	if (n->cards_newest)
		n->cards_newest->newer = e;
	else
		n->cards_oldest = e;
	n->cards_newest = e;
}

static void entry_drop(struct a2a_node *n, struct card_entry *e)
{
	entry_unlink(n, e);
	map_remove(&n->cards, e->id.bytes, e->id.len);
	n->cards_bytes -= e->bytes;
	a2a_pb_free(e->card);
	free(e);
}

/* Puts card (taken) in the cache as the newest; drops the oldest beyond the bounds, adding
 * their deletion to b when given. */
static void cache_put(struct a2a_node *n, const struct p2p_peer_id *id, pb_card *card, size_t bytes,
		      struct store_batch *b)
{
	struct card_entry *e = map_get(&n->cards, id->bytes, id->len);
	if (e) {
		entry_unlink(n, e);
		n->cards_bytes -= e->bytes;
		a2a_pb_free(e->card);
	} else {
		e = aa_calloc(1, sizeof *e);
		e->id = *id;
		map_put(&n->cards, id->bytes, id->len, e, NULL);
	}
	e->card = card;
	e->bytes = bytes;
	n->cards_bytes += bytes;
	entry_append(n, e);
	while ((map_count(&n->cards) > A2A_CARD_CACHE_MAX || n->cards_bytes > A2A_CARD_CACHE_BYTES) &&
	       n->cards_oldest != e) {
		struct card_entry *old = n->cards_oldest;
		if (b) {
			char s[P2P_PEER_ID_STRING_MAX];
			int len = p2p_peer_id_to_string(&old->id, s, sizeof s);
			if (len > 0)
				store_batch_del(b, STORE_CARDS, aa_slice_make(s, (size_t)len));
		}
		entry_drop(n, old);
	}
}

const pb_card *card_of(const struct a2a_node *n, const struct p2p_peer_id *peer)
{
	struct card_entry *e = map_get(&n->cards, peer->bytes, peer->len);
	return e ? e->card : NULL;
}

const Agentanycast__V1__AgentCard *a2a_peer_card(const struct a2a_node *n,
						 const struct p2p_peer_id *peer)
{
	return n && peer ? card_of(n, peer) : NULL;
}

const Agentanycast__V1__AgentCard *a2a_own_card(const struct a2a_node *n)
{
	return n ? n->own_card : NULL;
}

static void on_card_saved(int status, const struct store_batch *b, void *arg)
{
	if (status < 0)
		aa_log(AA_LOG_ERROR, "a2a: cannot store a peer card", "error", aa_strerror(status), NULL);
}

/* A card frame from peer p. */
static void card_received(struct a2a_node *n, struct a2a_peer *p, struct aa_slice f)
{
	if (f.n > A2A_MAX_CARD_BYTES) {
		n->stats.bad_frames++;
		aa_log(AA_LOG_WARN, "a2a: agent card too large, ignored", "peer", peer_str(p), NULL);
		return;
	}
	char why[160] = "";
	pb_card *card = a2a_pb_card_unpack(f, NULL, NULL, why, sizeof why);
	if (!card) {
		n->stats.bad_frames++;
		aa_log(AA_LOG_WARN, "a2a: undecodable agent card", "peer", peer_str(p), "error", why, NULL);
		return;
	}
	n->stats.cards_received++;
	uint8_t digest[16];
	crypto_generichash(digest, sizeof digest, f.p, f.n, NULL, 0);
	struct card_entry *old = map_get(&n->cards, p->id.bytes, p->id.len);
	/* Every connection exchanges cards again: write only what changed, and never let a
	 * peer that sends cards in a loop pile up writes. */
	bool same = old && memcmp(old->digest, digest, sizeof digest) == 0;
	struct store_batch *b = same || !node_can_submit(n) ? NULL : store_batch_new();
	cache_put(n, &p->id, card, f.n, b);
	struct card_entry *e = map_get(&n->cards, p->id.bytes, p->id.len);
	memcpy(e->digest, digest, sizeof digest);
	if (b) {
		store_batch_put(b, STORE_CARDS, aa_slice_make(p->id_str, p->id_len), f);
		node_submit(n, b, on_card_saved, NULL);
	}
	aa_log(AA_LOG_DEBUG, "a2a: agent card received", "peer", peer_str(p), "name", card->name, NULL);
}

/* ---- ConnectPeer waiters ---------------------------------------------------------------- */

static void waiter_unlink(struct a2a_node *n, struct card_waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		n->waiters = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
}

/* Answers the ConnectPeer calls waiting for peer (all when peer is NULL and due is 0). */
static void waiters_finish(struct a2a_node *n, const struct p2p_peer_id *peer, uint64_t due, int err)
{
	bool again = true;
	while (again) {
		again = false;
		for (struct card_waiter *w = n->waiters; w; w = w->next) {
			bool match = peer ? p2p_peer_id_equal(&w->peer, peer) : w->deadline_ns <= due;
			if (!match)
				continue;
			waiter_unlink(n, w);
			/* The callback may connect again: restart the scan afterwards. */
			w->cb(w->user, err);
			free(w);
			again = true;
			break;
		}
	}
}

/* ---- exchanges ---------------------------------------------------------------------------- */

static void x_finish(struct card_xchg *x)
{
	if (x->finished || !x->link.node)
		return;
	x->finished = true;
	struct a2a_node *n = x->link.node;
	if (x->peer->xchg == x)
		x->peer->xchg = NULL;
	if (x->initiator)
		waiters_finish(n, &x->peer->id, 0, 0);
}

static void x_flush(struct card_xchg *x)
{
	while (x->out_off < x->out_len) {
		ssize_t w = p2p_stream_write(x->link.st, x->out + x->out_off, x->out_len - x->out_off);
		if (w <= 0)
			return;
		x->out_off += (size_t)w;
	}
	if (!x->want_fin || x->fin_sent || (x->initiator && !x->opened))
		return;
	x->fin_sent = true;
	p2p_stream_close_write(x->link.st);
}

static void x_set_out(struct card_xchg *x, const pb_card *card)
{
	struct aa_buf payload, frame;
	aa_buf_init(&payload);
	aa_buf_init(&frame);
	a2a_pb_pack(&card->base, &payload);
	a2a_frame_write(&frame, aa_slice_make(payload.p, payload.n));
	aa_buf_free(&payload);
	x->out = aa_buf_steal(&frame, &x->out_len);
}

static void x_on_open(struct p2p_stream *st)
{
	struct card_xchg *x = p2p_stream_user(st);
	if (!x->link.node)
		return;
	x->opened = true;
	x_flush(x);
}

static void x_on_writable(struct p2p_stream *st)
{
	struct card_xchg *x = p2p_stream_user(st);
	if (x->link.node)
		x_flush(x);
}

/* Reads the one frame of the exchange; true once it is in (or the stream was reset). */
static bool x_read(struct card_xchg *x, struct p2p_stream *st, const uint8_t *p, size_t len)
{
	struct a2a_node *n = x->link.node;
	size_t used;
	struct aa_slice f;
	int rc = a2a_frame_reader_feed(&x->rd, p, len, &used, &f);
	if (rc < 0) {
		n->stats.bad_frames++;
		aa_log(AA_LOG_WARN, "a2a: oversized card frame, stream reset", "peer", peer_str(x->peer), NULL);
		p2p_stream_reset(st);
		x->got = true;
		return true;
	}
	if (rc == 0)
		return false;
	x->got = true;
	card_received(n, x->peer, f);
	return true;
}

static size_t init_on_data(struct p2p_stream *st, const uint8_t *p, size_t len)
{
	struct card_xchg *x = p2p_stream_user(st);
	if (!x->link.node || x->got)
		return len;
	if (x_read(x, st, p, len))
		x_finish(x);
	return len;
}

static void x_on_fin(struct p2p_stream *st)
{
	struct card_xchg *x = p2p_stream_user(st);
	if (!x->link.node)
		return;
	if (!x->got && a2a_frame_reader_partial(&x->rd)) {
		x->link.node->stats.bad_frames++;
		aa_log(AA_LOG_WARN, "a2a: truncated card frame", "peer", peer_str(x->peer), NULL);
	}
	/* REFERENCE B.3: a responder without a card closes without answering. */
	x->got = true;
	if (x->initiator)
		x_finish(x);
	x->want_fin = true;
	x_flush(x);
}

static void x_on_close(struct p2p_stream *st, int err)
{
	struct card_xchg *x = p2p_stream_user(st);
	if (x->link.node) {
		x_finish(x);
		node_unlink_stream(&x->link);
		peer_unref(x->peer);
	}
	a2a_frame_reader_free(&x->rd);
	free(x->out);
	free(x);
}

static const struct p2p_stream_handler initiator_handler = {
	.on_open = x_on_open,
	.on_data = init_on_data,
	.on_fin = x_on_fin,
	.on_writable = x_on_writable,
	.on_close = x_on_close,
};

static void start_exchange(struct a2a_node *n, struct a2a_peer *p)
{
	if (!n->own_card || n->closing)
		return;
	struct card_xchg *x = aa_calloc(1, sizeof *x);
	x->initiator = true;
	x->want_fin = true;
	x->started_ns = node_now_ns();
	a2a_frame_reader_init(&x->rd, A2A_MAX_FRAME);
	x_set_out(x, n->own_card);
	static const char *const protos[] = { A2A_CARD_PROTOCOL_ID };
	struct p2p_stream *st;
	if (p2p_host_new_stream(n->host, &p->id, protos, 1, &initiator_handler, x, &st) < 0) {
		a2a_frame_reader_free(&x->rd);
		free(x->out);
		free(x);
		return;
	}
	x->peer = p;
	peer_ref(p);
	node_link_stream(n, &x->link, SL_CARD, st);
	p->xchg = x;
	/* Lazy negotiation: the frame goes out with the proposal; the FIN waits for on_open. */
	x_flush(x);
}

/* Inbound exchange: read the peer's card, answer with ours. */
static void resp_on_open(struct p2p_stream *st)
{
	struct a2a_node *n = p2p_stream_user(st);
	struct card_xchg *x = aa_calloc(1, sizeof *x);
	x->started_ns = node_now_ns();
	a2a_frame_reader_init(&x->rd, A2A_MAX_FRAME);
	x->peer = node_peer(n, p2p_conn_remote_peer(p2p_stream_conn(st)));
	peer_ref(x->peer);
	node_link_stream(n, &x->link, SL_CARD, st);
	p2p_stream_set_user(st, x);
}

static size_t resp_on_data(struct p2p_stream *st, const uint8_t *p, size_t len)
{
	struct card_xchg *x = p2p_stream_user(st);
	if (!x->link.node || x->got)
		return len; /* one frame per exchange: the rest is ignored */
	if (!x_read(x, st, p, len) || !x->link.node)
		return len;
	struct a2a_node *n = x->link.node;
	if (n->own_card)
		x_set_out(x, n->own_card);
	x->want_fin = true;
	x_flush(x);
	return len;
}

static const struct p2p_stream_handler responder_handler = {
	.on_open = resp_on_open,
	.on_data = resp_on_data,
	.on_fin = x_on_fin,
	.on_writable = x_on_writable,
	.on_close = x_on_close,
};

void card_on_connected(struct a2a_node *n, struct a2a_peer *p)
{
	/* REFERENCE A.7: every new connection, when we have a card. */
	if (!p->xchg)
		start_exchange(n, p);
}

void card_on_disconnected(struct a2a_node *n, struct a2a_peer *p)
{
	/* The exchange's stream closes with the connection and finishes it. */
}

void card_tick(struct a2a_node *n, uint64_t now)
{
	waiters_finish(n, NULL, now, 0);
	struct p2p_stream *dead[32];
	size_t ndead = 0;
	for (struct strm_link *l = n->streams.next; l != &n->streams && ndead < 32; l = l->next) {
		if (l->kind != SL_CARD)
			continue;
		struct card_xchg *x = (struct card_xchg *)l;
		uint64_t limit = x->initiator ? A2A_CARD_EXCHANGE_NS : A2A_READ_IDLE_NS;
		if (now - x->started_ns > limit)
			dead[ndead++] = l->st;
	}
	for (size_t i = 0; i < ndead; i++)
		p2p_stream_reset(dead[i]);
}

/* ---- SetAgentCard --------------------------------------------------------------------------- */

struct set_ctx {
	struct a2a_node *n;
	a2a_done_cb cb;
	void *user;
};

static void push_all(struct a2a_node *n)
{
	struct map_iter it;
	void *v;
	map_iter_init(&it, &n->peers);
	while (map_iter_next(&it, NULL, NULL, &v)) {
		struct a2a_peer *p = v;
		if (p->connected)
			start_exchange(n, p);
	}
}

static void on_self_saved(int status, const struct store_batch *b, void *arg)
{
	struct set_ctx *c = arg;
	/* REFERENCE B.3 (c): pushed to every connected peer. */
	if (status == 0 && !c->n->closing)
		push_all(c->n);
	if (c->cb)
		c->cb(c->user, status < 0 ? AA_EIO : 0);
	free(c);
}

int a2a_set_agent_card(struct a2a_node *n, const Agentanycast__V1__AgentCard *card,
		       a2a_done_cb cb, void *user)
{
	if (!n || !card)
		return AA_EINVAL;
	if (!node_can_submit(n))
		return n->closing ? AA_ECLOSED : AA_ENOMEM;
	/* REFERENCE D.2: p2p_extension is created if absent; peer_id and did_key are ours. */
	Agentanycast__V1__P2PExtension ext = AGENTANYCAST__V1__P2_PEXTENSION__INIT;
	if (card->p2p_extension)
		ext = *card->p2p_extension;
	char did[P2P_DID_KEY_STRING_MAX];
	if (p2p_did_key_from_public_key(n->identity->public_key, did, sizeof did) < 0)
		return AA_EINVAL;
	ext.peer_id = n->self_str;
	ext.did_key = did;
	pb_card c = *card;
	c.p2p_extension = &ext;
	struct aa_buf packed;
	aa_buf_init(&packed);
	a2a_pb_pack(&c.base, &packed);
	if (packed.n > A2A_MAX_CARD_BYTES) {
		aa_buf_free(&packed);
		return AA_EINVAL;
	}
	a2a_pb_free(n->own_card);
	n->own_card = a2a_pb_card_copy(&c);
	struct set_ctx *ctx = aa_malloc(sizeof *ctx);
	ctx->n = n;
	ctx->cb = cb;
	ctx->user = user;
	struct store_batch *b = store_batch_new();
	store_batch_put(b, STORE_CARDS, aa_slice_make(SELF_KEY, strlen(SELF_KEY)),
			aa_slice_make(packed.p, packed.n));
	aa_buf_free(&packed);
	node_submit(n, b, on_self_saved, ctx);
	return 0;
}

/* ---- ConnectPeer ------------------------------------------------------------------------------ */

static void on_connect_dialed(struct a2a_node *n, void *arg, int err)
{
	struct card_waiter *w = arg;
	if (err) {
		w->cb(w->user, err == AA_ECLOSED ? AA_ECLOSED : AA_EUNAVAIL);
		free(w);
		return;
	}
	struct a2a_peer *p = node_peer(n, &w->peer);
	/* An exchange started by the connection event is as good as our own. */
	if (n->own_card && !p->xchg)
		start_exchange(n, p);
	if (!p->xchg || n->cfg.card_exchange_wait_ns == 0) {
		w->cb(w->user, 0);
		free(w);
		return;
	}
	w->deadline_ns = node_now_ns() + n->cfg.card_exchange_wait_ns;
	w->next = n->waiters;
	if (n->waiters)
		n->waiters->prev = w;
	n->waiters = w;
}

int a2a_connect_peer(struct a2a_node *n, const struct p2p_peer_id *peer,
		     const struct multiaddr *addrs, size_t naddrs, a2a_done_cb cb, void *user)
{
	if (!n || !peer || !peer->len || !cb || (naddrs && !addrs))
		return AA_EINVAL;
	if (n->closing)
		return AA_ECLOSED;
	if (p2p_peer_id_equal(peer, &n->self))
		return AA_EINVAL;
	struct card_waiter *w = aa_calloc(1, sizeof *w);
	w->n = n;
	w->peer = *peer;
	w->cb = cb;
	w->user = user;
	int rc = node_dial(n, peer, addrs, naddrs, on_connect_dialed, w);
	if (rc < 0) {
		free(w);
		return rc == AA_EINVAL ? AA_EINVAL : AA_EUNAVAIL;
	}
	return 0;
}

/* ---- life cycle ------------------------------------------------------------------------------- */

static int load_card(struct aa_slice key, struct aa_slice value, void *arg)
{
	struct a2a_node *n = arg;
	char why[160] = "";
	pb_card *card = a2a_pb_card_unpack(value, NULL, NULL, why, sizeof why);
	if (!card) {
		aa_log(AA_LOG_WARN, "a2a: unreadable stored card skipped", "error", why, NULL);
		return 0;
	}
	if (key.n == strlen(SELF_KEY) && memcmp(key.p, SELF_KEY, key.n) == 0) {
		/* REFERENCE C.7: our card is in use before the SDK sets it again. */
		a2a_pb_free(n->own_card);
		n->own_card = card;
		return 0;
	}
	struct p2p_peer_id id;
	if (p2p_peer_id_parse((const char *)key.p, key.n, &id) < 0) {
		a2a_pb_free(card);
		return 0;
	}
	cache_put(n, &id, card, value.n, NULL);
	struct card_entry *e = map_get(&n->cards, id.bytes, id.len);
	crypto_generichash(e->digest, sizeof e->digest, value.p, value.n, NULL, 0);
	return 0;
}

int card_init(struct a2a_node *n)
{
	map_init(&n->cards, 0);
	int rc = store_foreach(n->store, STORE_CARDS, load_card, n);
	if (rc < 0) {
		aa_log(AA_LOG_ERROR, "a2a: cannot read the cards", "error", aa_strerror(rc), NULL);
		return rc;
	}
	return p2p_host_set_handler(n->host, A2A_CARD_PROTOCOL_ID, &responder_handler, n);
}

void card_close(struct a2a_node *n)
{
	p2p_host_remove_handler(n->host, A2A_CARD_PROTOCOL_ID);
	while (n->waiters) {
		struct card_waiter *w = n->waiters;
		waiter_unlink(n, w);
		w->cb(w->user, AA_ECLOSED);
		free(w);
	}
}

void card_free(struct a2a_node *n)
{
	while (n->cards_oldest)
		entry_drop(n, n->cards_oldest);
	map_free(&n->cards);
	a2a_pb_free(n->own_card);
	n->own_card = NULL;
}
