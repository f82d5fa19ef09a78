/* a2a/router: the /agentanycast/a2a/1.0 protocol (REFERENCE.md B.4–B.7, C.6 with
 * DECISIONS.md 4 and 5).
 *
 * Sending. Every tracked envelope (task, status, complete, fail, cancel) is first put in
 * the peer's durable FIFO queue in the store, in the same batch as the change it reports
 * (engine.c); the queue is the outbox. The sender of a peer keeps the queue's head in memory
 * (the in-flight list, at most A2A_OUT_WINDOW envelopes unacknowledged) while the peer is
 * connected, and writes them one per new stream ("one envelope per stream"), each stream only
 * after the previous frame was wholly handed to the connection, so envelopes reach the peer
 * in queue order. An envelope leaves the queue when its ACK arrives. Retries resend the same
 * bytes after 2 s, 4 s, 8 s (retry_first_ms doubling); when they run out the peer is
 * "parked": what is queued waits for the next connection (REFERENCE C.6 flush), or
 * A2A_PARK_NS if the connection stays up. A disconnect parks it too. So: an envelope whose
 * commit completed is delivered at least once until its TTL, in order; with the receiver's
 * dedup, exactly once.
 *
 * Eager sending. A new envelope does not wait for its batch's commit when the whole queue
 * is already in memory (queue_loaded, and no earlier envelope still committing outside it):
 * it joins the in-flight list at once, behind everything queued before it, so the order is
 * the queue's. This takes one fsync off every hop of a task's round trip. The promises are
 * unchanged — the RPC that made the change still answers after the commit, and the queue
 * entry is only removed after both the commit and the ACK (the removal batch follows the
 * push in commit order). What a crash before the commit can do: the peer has an envelope
 * about a change we then do not have (a task its client never saw accepted, or a second
 * COMPLETE after the agent completes the task again); if the commit fails, the entry is
 * dropped from memory, the same. Envelopes that were not sent eagerly (unc_plain) stop it
 * until they are committed and read back from the queue.
 *
 * Receiving. Frames are read (16 MiB limit) and decoded; ACKs and artifact-stream envelopes
 * are handled at once, task envelopes go through the pipeline: dedup (the in-flight set,
 * then the store's persisted set), the engine's effects and the dedup mark in ONE batch, and
 * the ACK only after that commit (DESIGN.md durability rule); local subscribers hear of the
 * effects before it (engine_op_early), and that batch is lazy. A duplicate of an envelope
 * already committed is ACKed again (its first ACK may have been lost) but has no effect.
 * Undecodable frames and unknown types are counted and dropped without an ACK; a framing
 * error (oversized length, truncated frame) resets the stream. A peer with
 * A2A_PEER_MAX_INBOUND envelopes awaiting commit has its streams paused. */
#include "a2a/a2a_impl.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/uuid.h"
#include "base/varint.h"

enum ack_kind { AW_OUTBOX = 1, AW_STREAM };

/* What an envelope id in n->acks waits for. */
struct ack_wait {
	enum ack_kind kind;
	struct p2p_peer_id peer;       /* only this peer may acknowledge it */
	struct out_entry *e;
	struct a2a_stream_out *o;
};

enum out_state { OE_WAITING, OE_SENT, OE_ACKED };

struct out_entry {
	struct ack_wait aw;
	struct a2a_peer *peer;
	char id[STORE_ID_MAX + 1];
	uint8_t *frame;                /* header + envelope */
	size_t len;
	enum out_state state;
	unsigned attempts;             /* sends so far */
	uint64_t due_ns;               /* next retry */
	bool in_sendq;
	bool uncommitted;              /* eager: its queue push is not committed yet */
	struct out_entry *prev, *next; /* the peer's in-flight list */
	struct out_entry *sq_next;
	struct out_stream *stream;     /* writing it now */
};

struct out_stream {
	struct strm_link link;         /* first */
	struct a2a_peer *peer;
	struct out_entry *entry;       /* the tracked envelope being written, if any */
	uint8_t *buf;
	size_t len, off;
	bool opened, fin;
	uint64_t started_ns;
};

struct fifo_item {
	struct a2a_peer *peer;
	pb_envelope *env;
	struct in_stream *is;          /* to resume, NULL once the stream is gone */
	struct fifo_item *next;
};

struct in_stream {
	struct strm_link link;         /* first */
	struct a2a_peer *peer;
	struct a2a_frame_reader rd;
	struct fifo_item *waiting;     /* its envelope waits in the FIFO: paused */
	bool stream_paused;            /* paused by artifact-stream backpressure */
	uint64_t last_ns;
};

static void pump(struct a2a_peer *p);
static void fill(struct a2a_peer *p);

/* ---- envelopes ---------------------------------------------------------------------------- */

void router_envelope_pack(pb_envelope *env, char id_out[37], struct aa_buf *out)
{
	uuid_v4_string(id_out);
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	a2a_pb_timestamp_set(&ts, aa_clock_wall_ms());
	env->envelope_id = id_out;
	env->timestamp = &ts;
	a2a_pb_pack(&env->base, out);
	env->timestamp = NULL;
}

static struct out_entry *entry_add(struct a2a_peer *p, struct aa_slice id, struct aa_slice envelope);

/* True when an envelope queued for p now may join the line before its commit. */
static bool eager_ok(const struct a2a_peer *p, size_t envelope_len)
{
	return !p->node->closing && p->connected && !p->parked && p->queue_loaded &&
	       p->unc_plain == 0 && p->inflight_count < A2A_OUT_WINDOW &&
	       p->inflight_bytes < A2A_OUT_WINDOW_BYTES && envelope_len <= A2A_MAX_FRAME;
}

int router_batch_enqueue(struct a2a_node *n, struct store_batch *b, const struct p2p_peer_id *peer,
			 const char *envelope_id, struct aa_slice packed)
{
	char ps[P2P_PEER_ID_STRING_MAX];
	int len = p2p_peer_id_to_string(peer, ps, sizeof ps);
	size_t idlen = strlen(envelope_id);
	if (len <= 0 || idlen > STORE_ID_MAX)
		return AA_EINVAL;
	int64_t expires = aa_clock_wall_ms() + (int64_t)(n->cfg.offline_queue_ttl_ns / 1000000);
	int rc = store_batch_queue_push(b, aa_slice_make(ps, (size_t)len),
					aa_slice_make(envelope_id, idlen), packed, expires);
	if (rc < 0)
		return rc;
	struct a2a_peer *p = node_peer(n, peer);
	if (!eager_ok(p, packed.n)) {
		p->unc_plain++;
		return 0;
	}
	struct out_entry *e = entry_add(p, aa_slice_make(envelope_id, idlen), packed);
	e->uncommitted = true;
	return 0;
}

static uint8_t *make_frame(struct aa_slice payload, size_t *len)
{
	struct aa_buf b;
	aa_buf_init(&b);
	a2a_frame_write(&b, payload);
	return aa_buf_steal(&b, len);
}

/* ---- outbound streams ---------------------------------------------------------------------- */

int router_open_stream(struct a2a_node *n, struct a2a_peer *p, const struct p2p_stream_handler *h,
		       void *user, struct p2p_stream **out)
{
	if (p->out_streams >= A2A_PEER_MAX_STREAMS)
		return AA_EAGAIN;
	static const char *const protos[] = { A2A_PROTOCOL_ID };
	int rc = p2p_host_new_stream(n->host, &p->id, protos, 1, h, user, out);
	if (rc == AA_ENOMEM || rc == AA_EAGAIN)
		return AA_EAGAIN; /* the connection's stream budget: later */
	if (rc < 0)
		return AA_ENOENT;
	p->out_streams++;
	return 0;
}

void router_stream_closed(struct a2a_node *n, struct a2a_peer *p)
{
	if (p->out_streams)
		p->out_streams--;
	pump(p);
}

static uint64_t retry_delay_ns(const struct a2a_node *n, unsigned attempts)
{
	unsigned shift = attempts ? attempts - 1 : 0;
	if (shift > 20)
		shift = 20;
	return (uint64_t)n->cfg.retry_first_ms * 1000000ull << shift;
}

/* The entry's frame was wholly handed to the connection (or its stream failed): wait for
 * the ACK until the retry is due. */
static void entry_written(struct out_entry *e)
{
	struct a2a_node *n = e->peer->node;
	if (e->stream) {
		e->stream->entry = NULL;
		e->stream = NULL;
	}
	e->state = OE_SENT;
	e->due_ns = node_now_ns() + retry_delay_ns(n, e->attempts);
}

static void os_maybe_fin(struct out_stream *os)
{
	/* js-libp2p resets a stream whose FIN comes with its protocol proposal: FIN only once
	 * the remote confirmed the protocol (on_open), and only after the whole frame. */
	if (os->opened && os->off == os->len && !os->fin) {
		os->fin = true;
		p2p_stream_close_write(os->link.st);
	}
}

/* Writes what the connection takes; true when the frame is wholly written. */
static bool os_flush(struct out_stream *os)
{
	while (os->off < os->len) {
		ssize_t w = p2p_stream_write(os->link.st, os->buf + os->off, os->len - os->off);
		if (w <= 0)
			return false; /* on_writable, or on_close after a reset */
		os->off += (size_t)w;
	}
	os_maybe_fin(os);
	return true;
}

static void os_written(struct out_stream *os)
{
	struct a2a_peer *p = os->peer;
	if (p->writing == os)
		p->writing = NULL;
	if (os->entry)
		entry_written(os->entry);
}

static void os_on_open(struct p2p_stream *st)
{
	struct out_stream *os = p2p_stream_user(st);
	if (!os->link.node)
		return;
	os->opened = true;
	os_maybe_fin(os);
}

static void os_on_writable(struct p2p_stream *st)
{
	struct out_stream *os = p2p_stream_user(st);
	if (!os->link.node || os->off == os->len)
		return;
	if (os_flush(os)) {
		os_written(os);
		pump(os->peer);
	}
}

static size_t os_on_data(struct p2p_stream *st, const uint8_t *p, size_t n)
{
	return n; /* REFERENCE B.4: nothing is read on a sending stream */
}

static void os_on_close(struct p2p_stream *st, int err)
{
	struct out_stream *os = p2p_stream_user(st);
	if (os->link.node) {
		struct a2a_node *n = os->link.node;
		node_unlink_stream(&os->link);
		struct a2a_peer *p = os->peer;
		if (p->writing == os)
			p->writing = NULL;
		/* A stream that failed before its frame was out counts as an attempt; the ACK
		 * timer will send it again. */
		if (os->entry)
			entry_written(os->entry);
		peer_unref(p);
		router_stream_closed(n, p);
	}
	free(os->buf);
	free(os);
}

static const struct p2p_stream_handler out_handler = {
	.on_open = os_on_open,
	.on_data = os_on_data,
	.on_writable = os_on_writable,
	.on_close = os_on_close,
};

/* Opens a stream for one frame (buf is taken). AA_EAGAIN: no stream slot now. */
static int os_start(struct a2a_node *n, struct a2a_peer *p, uint8_t *buf, size_t len,
		    struct out_entry *e, struct out_stream **out)
{
	struct out_stream *os = aa_calloc(1, sizeof *os);
	os->peer = p;
	os->buf = buf;
	os->len = len;
	os->entry = e;
	os->started_ns = node_now_ns();
	struct p2p_stream *st;
	int rc = router_open_stream(n, p, &out_handler, os, &st);
	if (rc < 0) {
		free(os);
		return rc;
	}
	peer_ref(p);
	node_link_stream(n, &os->link, SL_OUT, st);
	if (e)
		e->stream = os;
	n->stats.envelopes_out++;
	*out = os;
	return 0;
}

/* ---- the line: tracked envelopes, one at a time, in order --------------------------------- */

static void sendq_push(struct a2a_peer *p, struct out_entry *e, bool front)
{
	if (e->in_sendq)
		return;
	e->in_sendq = true;
	if (front) {
		e->sq_next = p->sendq_head;
		p->sendq_head = e;
		if (!p->sendq_tail)
			p->sendq_tail = e;
		return;
	}
	e->sq_next = NULL;
	if (p->sendq_tail)
		p->sendq_tail->sq_next = e;
	else
		p->sendq_head = e;
	p->sendq_tail = e;
}

static struct out_entry *sendq_pop(struct a2a_peer *p)
{
	struct out_entry *e = p->sendq_head;
	if (!e)
		return NULL;
	p->sendq_head = e->sq_next;
	if (!p->sendq_head)
		p->sendq_tail = NULL;
	e->sq_next = NULL;
	e->in_sendq = false;
	return e;
}

static void sendq_remove(struct a2a_peer *p, struct out_entry *e)
{
	if (!e->in_sendq)
		return;
	struct out_entry **pp = &p->sendq_head, *prev = NULL;
	while (*pp && *pp != e) {
		prev = *pp;
		pp = &(*pp)->sq_next;
	}
	if (*pp) {
		*pp = e->sq_next;
		if (p->sendq_tail == e)
			p->sendq_tail = prev;
	}
	e->sq_next = NULL;
	e->in_sendq = false;
}

/* The stats slot of an envelope type (a2a_stats envelopes_by_type). */
static int stats_type(int type)
{
	return type > 0 && type < A2A_STATS_ENVELOPE_TYPES ? type : 0;
}

/* The type (field 2) of the envelope in a frame we made, for the stats: protobuf-c writes
 * fields in number order, so it comes right after the envelope id. 0 if not found. */
static int frame_envelope_type(const uint8_t *frame, size_t len)
{
	size_t off = A2A_FRAME_HEADER;
	for (int field = 0; field < 4 && off < len; field++) {
		uint64_t tag, v;
		int k = varint_decode(frame + off, len - off, &tag);
		if (k <= 0)
			return 0;
		off += (size_t)k;
		if ((tag & 7) == PROTOBUF_C_WIRE_TYPE_VARINT || (tag & 7) == PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED) {
			k = varint_decode(frame + off, len - off, &v);
			if (k <= 0)
				return 0;
			off += (size_t)k;
		} else {
			return 0;
		}
		if ((tag >> 3) == 2 && (tag & 7) == PROTOBUF_C_WIRE_TYPE_VARINT)
			return v < A2A_STATS_ENVELOPE_TYPES ? (int)v : 0;
		if ((tag & 7) == PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED) {
			if (v > len - off)
				return 0;
			off += (size_t)v;
		}
	}
	return 0;
}

/* Starts writing e. AA_EAGAIN: no stream slot now (e is not consumed). */
static int line_start(struct a2a_node *n, struct a2a_peer *p, struct out_entry *e)
{
	uint8_t *copy = aa_malloc(e->len);
	memcpy(copy, e->frame, e->len);
	struct out_stream *os;
	int rc = os_start(n, p, copy, e->len, e, &os);
	if (rc == AA_EAGAIN) {
		free(copy);
		return rc;
	}
	e->attempts++;
	if (e->attempts > 1)
		n->stats.retries++;
	if (rc == 0)
		n->stats.envelopes_by_type[A2A_STATS_SENT][frame_envelope_type(e->frame, e->len)]++;
	if (rc < 0) {
		free(copy);
		entry_written(e); /* not connected after all: the retry timer takes it */
		return 0;
	}
	if (os_flush(os))
		os_written(os);
	else
		p->writing = os;
	return 0;
}

static int ack_start(struct a2a_node *n, struct a2a_peer *p, const char *acked)
{
	pb_envelope env = AGENTANYCAST__V1__A2_AENVELOPE__INIT;
	Agentanycast__V1__AckPayload ack = AGENTANYCAST__V1__ACK_PAYLOAD__INIT;
	ack.acknowledged_envelope_id = (char *)acked;
	env.type = ENV_ACK;
	env.payload_case = AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_ACK;
	env.ack = &ack;
	char id[37];
	struct aa_buf b;
	aa_buf_init(&b);
	router_envelope_pack(&env, id, &b);
	size_t len;
	uint8_t *frame = make_frame(aa_slice_make(b.p, b.n), &len);
	aa_buf_free(&b);
	struct out_stream *os;
	int rc = os_start(n, p, frame, len, NULL, &os);
	if (rc < 0) {
		free(frame);
		return rc;
	}
	n->stats.acks_out++;
	n->stats.envelopes_by_type[A2A_STATS_SENT][ENV_ACK]++;
	os_flush(os);
	return 0;
}

static char *acks_pop(struct a2a_peer *p)
{
	char *id = p->acks[p->acks_head];
	p->acks_head = (p->acks_head + 1) % p->acks_cap;
	p->acks_len--;
	return id;
}

static void acks_clear(struct a2a_peer *p)
{
	while (p->acks_len)
		free(acks_pop(p));
}

/* Sends what waits: ACKs first (cheap, unordered), then the line. */
static void pump(struct a2a_peer *p)
{
	struct a2a_node *n = p->node;
	if (n->closing || !p->connected)
		return;
	while (p->acks_len && p->out_streams < A2A_PEER_MAX_STREAMS) {
		char *id = p->acks[p->acks_head];
		int rc = ack_start(n, p, id);
		if (rc == AA_EAGAIN)
			break;
		free(acks_pop(p));
	}
	while (!p->writing && p->sendq_head && p->out_streams < A2A_PEER_MAX_STREAMS) {
		struct out_entry *e = sendq_pop(p);
		if (line_start(n, p, e) == AA_EAGAIN) {
			sendq_push(p, e, true);
			break;
		}
	}
}

void router_send_ack(struct a2a_node *n, struct a2a_peer *p, const char *envelope_id)
{
	if (n->closing || !p->connected)
		return; /* the sender retries; its retry is ACKed then */
	if (p->acks_len >= A2A_PEER_MAX_ACKS) {
		aa_log(AA_LOG_WARN, "a2a: ACK dropped, too many waiting", "peer", peer_str(p), NULL);
		return;
	}
	if (p->acks_len == p->acks_cap) {
		size_t cap = p->acks_cap ? p->acks_cap * 2 : 16;
		char **v = aa_calloc(cap, sizeof *v);
		for (size_t i = 0; i < p->acks_len; i++)
			v[i] = p->acks[(p->acks_head + i) % p->acks_cap];
		free(p->acks);
		p->acks = v;
		p->acks_cap = cap;
		p->acks_head = 0;
	}
	p->acks[(p->acks_head + p->acks_len) % p->acks_cap] = aa_strdup(envelope_id);
	p->acks_len++;
	pump(p);
}

/* ---- the window: reading the durable queue ------------------------------------------------ */

/* A new in-flight entry at the tail of p's line, waiting to be written. */
static struct out_entry *entry_add(struct a2a_peer *p, struct aa_slice id, struct aa_slice envelope)
{
	struct a2a_node *n = p->node;
	struct out_entry *e = aa_calloc(1, sizeof *e);
	e->aw.kind = AW_OUTBOX;
	e->aw.peer = p->id;
	e->aw.e = e;
	e->peer = p;
	memcpy(e->id, id.p, id.n);
	e->frame = make_frame(envelope, &e->len);
	e->state = OE_WAITING;
	e->prev = p->inflight_tail;
	if (p->inflight_tail)
		p->inflight_tail->next = e;
	else
		p->inflight_head = e;
	p->inflight_tail = e;
	p->inflight_count++;
	p->inflight_bytes += e->len;
	map_put(&n->acks, e->id, id.n, &e->aw, NULL);
	sendq_push(p, e, false);
	return e;
}

struct fill_ctx {
	struct a2a_node *n;
	struct a2a_peer *p;
	size_t room;
	size_t seen;
	bool stopped;
};

static int fill_one(const struct store_queue_entry *qe, void *arg)
{
	struct fill_ctx *f = arg;
	struct a2a_node *n = f->n;
	struct a2a_peer *p = f->p;
	if (f->room == 0 || p->inflight_bytes >= A2A_OUT_WINDOW_BYTES) {
		f->stopped = true;
		return 1;
	}
	f->seen++;
	/* Already in flight, or ACKed and being removed. */
	if (map_get(&n->acks, qe->envelope_id.p, qe->envelope_id.n))
		return 0;
	if (qe->envelope_id.n > STORE_ID_MAX || qe->envelope.n > A2A_MAX_FRAME)
		return 0;
	entry_add(p, qe->envelope_id, qe->envelope);
	f->room--;
	return 0;
}

static void fill(struct a2a_peer *p)
{
	struct a2a_node *n = p->node;
	if (n->closing || !p->connected || p->parked || p->filling)
		return;
	if (p->inflight_count < A2A_OUT_WINDOW && p->inflight_bytes < A2A_OUT_WINDOW_BYTES) {
		struct fill_ctx f = { n, p, A2A_OUT_WINDOW - p->inflight_count, 0, false };
		p->filling = true;
		/* Entries ahead of new ones are those in flight or being removed. */
		size_t limit = p->inflight_count + p->removing + f.room;
		int rc = store_queue_list(n->store, aa_slice_make(p->id_str, p->id_len), aa_clock_wall_ms(),
					  limit, fill_one, &f);
		p->filling = false;
		if (rc < 0)
			aa_log(AA_LOG_ERROR, "a2a: cannot read the offline queue", "error", aa_strerror(rc), NULL);
		/* Read to its end: every committed entry is now in memory (or skipped for good). */
		p->queue_loaded = rc == 0 && !f.stopped && f.seen < limit;
	}
	pump(p);
}

static void inflight_unlink(struct a2a_peer *p, struct out_entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		p->inflight_head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		p->inflight_tail = e->prev;
	e->prev = e->next = NULL;
	p->inflight_count--;
	p->inflight_bytes -= e->len;
	sendq_remove(p, e);
	if (e->stream) {
		e->stream->entry = NULL;
		e->stream = NULL;
	}
}

static void entry_free(struct out_entry *e)
{
	free(e->frame);
	free(e);
}

/* Forgets what is in flight (it stays queued in the store) and stops the line. */
static void drop_inflight(struct a2a_node *n, struct a2a_peer *p)
{
	p->queue_loaded = false;
	while (p->inflight_head) {
		struct out_entry *e = p->inflight_head;
		/* An eager one still committing now waits for its commit like any other. */
		if (e->uncommitted)
			p->unc_plain++;
		inflight_unlink(p, e);
		map_remove(&n->acks, e->id, strlen(e->id));
		entry_free(e);
	}
	p->sendq_head = p->sendq_tail = NULL;
}

static void park(struct a2a_node *n, struct a2a_peer *p)
{
	aa_log(AA_LOG_WARN, "a2a: peer does not acknowledge, envelopes stay queued", "peer",
	       peer_str(p), NULL);
	drop_inflight(n, p);
	p->parked = true;
	p->parked_until_ns = node_now_ns() + A2A_PARK_NS;
}

void router_kick(struct a2a_node *n, const struct p2p_peer_id *peer)
{
	if (n->closing)
		return;
	struct a2a_peer *p = node_peer(n, peer);
	if (p->connected)
		fill(p);
	else
		router_dial(n, p);
}

void router_pump(struct a2a_node *n, const struct p2p_peer_id *peer)
{
	struct a2a_peer *p = node_peer_find(n, peer);
	if (p)
		pump(p);
}

void router_enqueue_done(struct a2a_node *n, const struct p2p_peer_id *peer,
			 const char *envelope_id, int status)
{
	if (n->closing)
		return;
	struct a2a_peer *p = node_peer(n, peer);
	struct ack_wait *aw = map_get(&n->acks, envelope_id, strlen(envelope_id));
	struct out_entry *e = aw && aw->kind == AW_OUTBOX ? aw->e : NULL;
	if (e && e->uncommitted) {
		e->uncommitted = false;
		/* Not in the queue after all: forget it (an ACKed one goes with its removal). */
		if (status < 0 && e->state != OE_ACKED) {
			inflight_unlink(p, e);
			map_remove(&n->acks, e->id, strlen(e->id));
			entry_free(e);
			fill(p);
		}
		return;
	}
	if (p->unc_plain)
		p->unc_plain--;
	if (status < 0)
		return;
	p->queue_loaded = false; /* it is in the queue and not in memory */
	router_kick(n, peer);
}

void router_on_connected(struct a2a_node *n, struct a2a_peer *p)
{
	/* REFERENCE C.6: a new connection flushes the queue (in FIFO order, DECISIONS 4). */
	p->parked = false;
	fill(p);
}

void router_on_disconnected(struct a2a_node *n, struct a2a_peer *p)
{
	drop_inflight(n, p);
	acks_clear(p);
}

/* ---- dialling -------------------------------------------------------------------------------- */

static void dial_backoff(struct a2a_peer *p)
{
	uint64_t b = p->dial_backoff_ns ? p->dial_backoff_ns * 2 : A2A_DIAL_BACKOFF_MIN_NS;
	if (b > A2A_DIAL_BACKOFF_MAX_NS)
		b = A2A_DIAL_BACKOFF_MAX_NS;
	p->dial_backoff_ns = b;
	p->next_dial_ns = node_now_ns() + b;
}

static void on_router_dial(struct a2a_node *n, void *arg, int err)
{
	struct a2a_peer *p = arg;
	p->dialing = false;
	peer_unref(p);
	if (err && err != AA_ECLOSED)
		dial_backoff(p);
}

void router_dial(struct a2a_node *n, struct a2a_peer *p)
{
	if (n->closing || p->dialing || p->connected || node_now_ns() < p->next_dial_ns)
		return;
	int rc = node_dial(n, &p->id, NULL, 0, on_router_dial, p);
	if (rc < 0) {
		dial_backoff(p);
		return;
	}
	p->dialing = true;
	peer_ref(p);
}

/* ---- ACKs received --------------------------------------------------------------------------- */

void router_ack_wait_stream(struct a2a_node *n, const char *envelope_id, struct a2a_stream_out *o,
			    const struct p2p_peer_id *peer)
{
	struct ack_wait *aw = aa_calloc(1, sizeof *aw);
	aw->kind = AW_STREAM;
	aw->peer = *peer;
	aw->o = o;
	void *old = NULL;
	map_put(&n->acks, envelope_id, strlen(envelope_id), aw, &old);
	free(old); /* a fresh UUID never collides; be safe anyway */
}

void router_ack_forget(struct a2a_node *n, const char *envelope_id)
{
	struct ack_wait *aw = map_get(&n->acks, envelope_id, strlen(envelope_id));
	if (aw && aw->kind == AW_STREAM) {
		map_remove(&n->acks, envelope_id, strlen(envelope_id));
		free(aw);
	}
}

static void on_removed(int status, const struct store_batch *b, void *arg)
{
	struct out_entry *e = arg;
	struct a2a_peer *p = e->peer;
	struct a2a_node *n = p->node;
	if (status < 0)
		aa_log(AA_LOG_ERROR, "a2a: cannot remove an acknowledged envelope", "error",
		       aa_strerror(status), NULL);
	map_remove(&n->acks, e->id, strlen(e->id));
	p->removing--;
	entry_free(e);
	fill(p);
}

static void handle_ack(struct a2a_node *n, struct a2a_peer *from, const pb_envelope *env)
{
	n->stats.acks_in++;
	if (env->payload_case != AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_ACK)
		return;
	const char *id = env->ack->acknowledged_envelope_id;
	struct ack_wait *aw = map_get(&n->acks, id, strlen(id));
	/* Unknown ids are ignored (REFERENCE B.6); only the peer we sent to may ACK. */
	if (!aw || !p2p_peer_id_equal(&aw->peer, &from->id))
		return;
	if (aw->kind == AW_STREAM) {
		stream_on_ack(n, aw->o, id);
		return;
	}
	struct out_entry *e = aw->e;
	if (e->state == OE_ACKED)
		return;
	struct a2a_peer *p = e->peer;
	inflight_unlink(p, e);
	e->state = OE_ACKED;
	p->removing++;
	struct store_batch *b = store_batch_new();
	store_batch_queue_remove(b, aa_slice_make(e->id, strlen(e->id)));
	/* Should a crash undo the removal, the envelope goes out again and the peer's dedup
	 * ACKs it without effect: no fsync of its own for it. */
	store_batch_set_lazy(b);
	node_submit(n, b, on_removed, e);
	/* The window has room again; the removal's commit refills too. */
	fill(p);
}

/* ---- the inbound pipeline (REFERENCE B.6 with DECISIONS 5) ------------------------------- */

/* The dedup key: the sender's PeerID and its envelope id, so one peer cannot shadow
 * another's envelopes; ids too long for the store are hashed. 0 for an empty id (the
 * reference does not dedup those either). */
static size_t dedup_key(const struct a2a_peer *p, const char *id, char out[STORE_ID_MAX + 1])
{
	size_t idl = strlen(id);
	if (idl == 0 || p->id_len == 0)
		return 0;
	memcpy(out, p->id_str, p->id_len);
	out[p->id_len] = '/';
	size_t k = p->id_len + 1;
	if (k + idl <= STORE_ID_MAX) {
		memcpy(out + k, id, idl);
		k += idl;
	} else {
		uint8_t h[16];
		crypto_generichash(h, sizeof h, (const uint8_t *)id, idl, NULL, 0);
		out[k++] = '#';
		sodium_bin2hex(out + k, STORE_ID_MAX + 1 - k, h, sizeof h);
		k += 2 * sizeof h;
	}
	out[k] = 0;
	return k;
}

struct inbound {
	struct a2a_node *n;
	struct a2a_peer *peer;
	pb_envelope *env;
	struct eng_op *op;
	char key[STORE_ID_MAX + 1];
	size_t keylen;
};

static void drain_fifo(struct a2a_node *n);

static void on_inbound_commit(int status, const struct store_batch *b, void *arg)
{
	struct inbound *in = arg;
	struct a2a_node *n = in->n;
	struct a2a_peer *p = in->peer;
	if (in->keylen)
		map_remove(&n->inbound_keys, in->key, in->keylen);
	p->in_pending--;
	if (in->op)
		engine_op_done(n, in->op, status);
	if (status == 0)
		router_send_ack(n, p, in->env->envelope_id); /* only now: the effects are durable */
	else
		aa_log(AA_LOG_ERROR, "a2a: inbound envelope not committed, no ACK", "peer",
		       peer_str(p), "error", aa_strerror(status), NULL);
	peer_unref(p);
	a2a_pb_free(in->env);
	free(in);
	drain_fifo(n);
}

static bool admits(const struct a2a_node *n, const struct a2a_peer *p)
{
	return p->in_pending < A2A_PEER_MAX_INBOUND && n->deferred_count < A2A_MAX_DEFERRED;
}

/* Takes env. */
static void pipeline(struct a2a_node *n, struct a2a_peer *p, pb_envelope *env)
{
	char key[STORE_ID_MAX + 1];
	size_t keylen = dedup_key(p, env->envelope_id, key);
	int64_t now = aa_clock_wall_ms();
	if (keylen && map_get(&n->inbound_keys, key, keylen)) {
		/* The same envelope is being committed; its ACK follows that commit. */
		n->stats.duplicates_dropped++;
		a2a_pb_free(env);
		return;
	}
	if (keylen) {
		bool seen = false;
		int rc = store_dedup_contains(n->store, aa_slice_make(key, keylen), now, &seen);
		if (rc == 0 && seen) {
			/* Handled before (maybe before a restart): no effect, but ACK again, as its
			 * first ACK may be what was lost. */
			n->stats.duplicates_dropped++;
			router_send_ack(n, p, env->envelope_id);
			a2a_pb_free(env);
			return;
		}
	}
	struct store_batch *b = store_batch_new();
	struct eng_op *op = NULL;
	if (engine_apply_envelope(n, p, env, b, &op) < 0) {
		/* Cannot take it now: no ACK, the sender retries. */
		store_batch_free(b);
		a2a_pb_free(env);
		return;
	}
	struct inbound *in = aa_calloc(1, sizeof *in);
	in->n = n;
	in->peer = p;
	in->env = env;
	in->op = op;
	if (keylen) {
		store_batch_dedup_insert(b, aa_slice_make(key, keylen), now);
		memcpy(in->key, key, keylen + 1);
		in->keylen = keylen;
		map_put(&n->inbound_keys, key, keylen, in, NULL);
	}
	peer_ref(p);
	p->in_pending++;
	bool early = engine_op_early(n, op, b);
	node_submit(n, b, on_inbound_commit, in);
	if (early)
		engine_op_emit(n, op); /* op lives until on_inbound_commit, never before a turn */
}

static void fifo_push(struct a2a_node *n, struct in_stream *is, pb_envelope *env)
{
	struct fifo_item *it = aa_calloc(1, sizeof *it);
	it->peer = is->peer;
	peer_ref(it->peer);
	it->env = env;
	it->is = is;
	is->waiting = it;
	if (n->fifo_tail)
		n->fifo_tail->next = it;
	else
		n->fifo_head = it;
	n->fifo_tail = it;
}

static void drain_fifo(struct a2a_node *n)
{
	if (n->draining || n->closing)
		return;
	n->draining = true;
	while (n->fifo_head && admits(n, n->fifo_head->peer)) {
		struct fifo_item *it = n->fifo_head;
		n->fifo_head = it->next;
		if (!n->fifo_head)
			n->fifo_tail = NULL;
		struct in_stream *is = it->is;
		if (is)
			is->waiting = NULL;
		pipeline(n, it->peer, it->env);
		peer_unref(it->peer);
		free(it);
		if (is && is->link.node && !is->stream_paused)
			p2p_stream_resume(is->link.st);
	}
	n->draining = false;
}

/* ---- inbound streams ------------------------------------------------------------------------- */

/* One frame; false when the stream must pause. */
static bool in_frame(struct a2a_node *n, struct in_stream *is, struct aa_slice f)
{
	char why[160] = "";
	int err = 0;
	pb_envelope *env = a2a_pb_envelope_unpack(f, NULL, &err, why, sizeof why);
	if (!env) {
		n->stats.bad_frames++;
		aa_log(AA_LOG_WARN, "a2a: undecodable envelope dropped", "peer", peer_str(is->peer),
		       "error", why, NULL);
		return true;
	}
	n->stats.envelopes_in++;
	n->stats.envelopes_by_type[A2A_STATS_RECEIVED][stats_type(env->type)]++;
	switch (env->type) {
	case ENV_ACK:
		handle_ack(n, is->peer, env);
		a2a_pb_free(env);
		return true;
	case ENV_STREAM_START:
	case ENV_STREAM_CHUNK:
	case ENV_STREAM_END:
		if (!stream_handle_inbound(n, is, is->peer, env)) {
			is->stream_paused = true;
			return false;
		}
		return true;
	case ENV_SEND_TASK:
	case ENV_STATUS_UPDATE:
	case ENV_COMPLETE:
	case ENV_FAIL:
	case ENV_CANCEL:
		if (n->fifo_head || !admits(n, is->peer)) {
			fifo_push(n, is, env);
			return false;
		}
		pipeline(n, is->peer, env);
		return true;
	default:
		/* REFERENCE B.6: unknown types are logged and dropped without an ACK. */
		n->stats.bad_frames++;
		aa_log(AA_LOG_WARN, "a2a: envelope of unknown type dropped", "peer", peer_str(is->peer),
		       "type", a2a_pb_envelope_type_name(env->type), NULL);
		a2a_pb_free(env);
		return true;
	}
}

static void in_on_open(struct p2p_stream *st)
{
	struct a2a_node *n = p2p_stream_user(st);
	struct in_stream *is = aa_calloc(1, sizeof *is);
	is->peer = node_peer(n, p2p_conn_remote_peer(p2p_stream_conn(st)));
	peer_ref(is->peer);
	a2a_frame_reader_init(&is->rd, A2A_MAX_FRAME);
	is->last_ns = node_now_ns();
	node_link_stream(n, &is->link, SL_IN, st);
	p2p_stream_set_user(st, is);
}

static size_t in_on_data(struct p2p_stream *st, const uint8_t *p, size_t len)
{
	struct in_stream *is = p2p_stream_user(st);
	struct a2a_node *n = is->link.node;
	if (!n)
		return len;
	is->last_ns = node_now_ns();
	if (is->waiting || is->stream_paused)
		return 0;
	size_t off = 0;
	while (off < len) {
		size_t used = 0;
		struct aa_slice f;
		int rc = a2a_frame_reader_feed(&is->rd, p + off, len - off, &used, &f);
		off += used;
		if (rc < 0) {
			/* REFERENCE B.2: a larger announced length ends the stream. */
			n->stats.bad_frames++;
			aa_log(AA_LOG_WARN, "a2a: oversized frame, stream reset", "peer", peer_str(is->peer), NULL);
			p2p_stream_reset(st);
			return len;
		}
		if (rc == 0)
			break;
		if (!in_frame(n, is, f))
			return off;
		if (!is->link.node)
			return len;
	}
	return len;
}

static void in_on_fin(struct p2p_stream *st)
{
	struct in_stream *is = p2p_stream_user(st);
	if (is->link.node && a2a_frame_reader_partial(&is->rd)) {
		is->link.node->stats.bad_frames++;
		aa_log(AA_LOG_WARN, "a2a: truncated frame at end of stream", "peer", peer_str(is->peer), NULL);
	}
	/* REFERENCE B.4: read until EOF, then close. */
	p2p_stream_close_write(st);
}

static void in_on_close(struct p2p_stream *st, int err)
{
	struct in_stream *is = p2p_stream_user(st);
	if (is->link.node) {
		struct a2a_node *n = is->link.node;
		node_unlink_stream(&is->link);
		if (is->waiting)
			is->waiting->is = NULL; /* the envelope still goes through the pipeline */
		stream_forget_inbound(n, is);
		peer_unref(is->peer);
	}
	a2a_frame_reader_free(&is->rd);
	free(is);
}

static const struct p2p_stream_handler in_handler = {
	.on_open = in_on_open,
	.on_data = in_on_data,
	.on_fin = in_on_fin,
	.on_close = in_on_close,
};

void router_resume_stream(struct in_stream *is)
{
	if (!is->stream_paused)
		return;
	is->stream_paused = false;
	if (is->link.node && !is->waiting)
		p2p_stream_resume(is->link.st);
}

/* ---- tick ---------------------------------------------------------------------------------- */

static void peer_tick(struct a2a_node *n, struct a2a_peer *p, uint64_t now)
{
	if (p->parked && p->connected && now >= p->parked_until_ns) {
		p->parked = false;
		fill(p);
	}
	for (struct out_entry *e = p->inflight_head; e; e = e->next) {
		if (e->state != OE_SENT || e->in_sendq || e->stream || e->due_ns > now)
			continue;
		if (e->attempts > n->cfg.max_retries) {
			/* REFERENCE B.7: retries exhausted: the envelope stays in the offline queue. */
			park(n, p);
			return;
		}
		sendq_push(p, e, false);
	}
	pump(p);
}

void router_tick(struct a2a_node *n, uint64_t now)
{
	struct map_iter it;
	void *v;
	map_iter_init(&it, &n->peers);
	while (map_iter_next(&it, NULL, NULL, &v))
		peer_tick(n, v, now);

	/* Deadlines of streams (REFERENCE B.8): inbound ones idle for 30 s, and outbound ones
	 * not finished within send_timeout. Collected first: a reset may close at once. */
	struct p2p_stream *dead[64];
	size_t ndead = 0;
	for (struct strm_link *l = n->streams.next; l != &n->streams && ndead < 64; l = l->next) {
		if (l->kind == SL_IN) {
			struct in_stream *is = (struct in_stream *)l;
			if (!is->waiting && !is->stream_paused && now - is->last_ns > A2A_READ_IDLE_NS)
				dead[ndead++] = l->st;
		} else if (l->kind == SL_OUT) {
			struct out_stream *os = (struct out_stream *)l;
			if (now - os->started_ns > n->cfg.send_timeout_ns)
				dead[ndead++] = l->st;
		}
	}
	for (size_t i = 0; i < ndead; i++)
		p2p_stream_reset(dead[i]);
}

/* ---- life cycle ------------------------------------------------------------------------------ */

int router_init(struct a2a_node *n)
{
	map_init(&n->acks, 0);
	map_init(&n->inbound_keys, 0);
	return p2p_host_set_handler(n->host, A2A_PROTOCOL_ID, &in_handler, n);
}

void router_close(struct a2a_node *n)
{
	p2p_host_remove_handler(n->host, A2A_PROTOCOL_ID);
}

void router_free(struct a2a_node *n)
{
	while (n->fifo_head) {
		struct fifo_item *it = n->fifo_head;
		n->fifo_head = it->next;
		a2a_pb_free(it->env);
		free(it);
	}
	n->fifo_tail = NULL;
	struct map_iter it;
	void *v;
	map_iter_init(&it, &n->acks);
	while (map_iter_next(&it, NULL, NULL, &v)) {
		struct ack_wait *aw = v;
		map_iter_remove(&it);
		if (aw->kind == AW_OUTBOX)
			entry_free(aw->e);
		else
			free(aw);
	}
	map_free(&n->acks);
	map_free(&n->inbound_keys);
	map_iter_init(&it, &n->peers);
	while (map_iter_next(&it, NULL, NULL, &v)) {
		struct a2a_peer *p = v;
		p->inflight_head = p->inflight_tail = NULL;
		p->sendq_head = p->sendq_tail = NULL;
		p->writing = NULL;
		p->inflight_count = p->removing = 0;
	}
}
