/* yamux: the /yamux/1.0.0 session state machine (see yamux.h). Frames are parsed
 * incrementally from whatever byte runs the connection layer hands in; Data payloads are
 * passed to the upper layer straight from the input, so nothing is buffered on the receive
 * side. Outgoing frames are written once into fixed-size chunks that each fit one Noise
 * message. Spec references are to libp2p/specs yamux/README.md ("spec"). */
#include "p2p/yamux.h"

#include <stdlib.h>
#include <string.h>

#include "base/endian.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"

/* spec, Framing / Type Field / Flag Field. */
#define YAMUX_VERSION 0
enum frame_type { TYPE_DATA = 0, TYPE_WINDOW_UPDATE = 1, TYPE_PING = 2, TYPE_GO_AWAY = 3 };
enum frame_flag { FLAG_SYN = 1, FLAG_ACK = 2, FLAG_FIN = 4, FLAG_RST = 8 };
#define FLAG_ALL (FLAG_SYN | FLAG_ACK | FLAG_FIN | FLAG_RST)

/* How many remote stream IDs below the highest one seen we remember individually. Peers may
 * send SYNs slightly out of order (go-yamux allocates the ID and sends the SYN without one
 * lock), so "must increase" would be wrong; this window tells a reused ID from a late one. */
#define ID_WINDOW 1024
#define MAX_PINGS 4
/* A data frame is not started in the tail chunk unless this much payload fits there, so
 * chunks do not end in a run of tiny frames. */
#define MIN_TAIL_PAYLOAD 512
#define MAX_FRAME_PAYLOAD_LIMIT (16u * 1024 * 1024)

enum stream_state {
	STREAM_OPEN,       /* data may flow both ways */
	STREAM_LOCAL_FIN,  /* we sent FIN; the remote may still send */
	STREAM_REMOTE_FIN, /* the remote sent FIN; we may still send */
	STREAM_CLOSED,     /* both FINs or a reset: out of the ID table, waiting to be reaped */
};

enum session_state {
	SESSION_OPEN,
	SESSION_FAILED, /* the peer broke the protocol; Go Away(protocol error) is queued */
	SESSION_CLOSED, /* yamux_session_close() was called */
};

struct yamux_stream {
	struct yamux_session *session;
	struct yamux_stream *prev, *next; /* every stream until freed, oldest first */
	void *user;
	uint32_t id;
	enum stream_state state;
	bool inbound;
	bool ack_pending;   /* inbound, not accepted yet: our next frame carries ACK */
	bool awaiting_ack;  /* outbound, the remote has not ACKed yet */
	bool write_blocked; /* a write came up short: on_stream_writable is owed */
	bool was_reset;
	uint32_t send_window;     /* bytes we may still send */
	uint32_t recv_credit;     /* bytes the remote may still send */
	uint32_t recv_unconsumed; /* delivered to the upper layer, not yet consumed */
	uint32_t recv_window;     /* target receive window, grown by auto-tuning */
	uint64_t epoch_ns;        /* when we last granted window */
};

/* One output chunk: whole frames, at most block_cap bytes; head..tail is pending. */
struct out_block {
	struct out_block *next;
	size_t head, tail;
	uint8_t data[];
};

struct pending_ping {
	bool used;
	uint32_t opaque;
	uint64_t sent_ns;
};

struct yamux_session {
	struct yamux_config cfg;
	uint64_t grown_total; /* sum over live streams of recv_window - initial_window */
	struct yamux_callbacks cb;
	void *user;
	enum session_state state;
	const char *error;
	uint64_t now_ns;     /* the latest time the caller told us */
	unsigned depth;      /* nesting of calls that may run callbacks */
	bool free_deferred;  /* yamux_session_free() called from a callback */
	bool go_away_sent, go_away_received;

	/* Streams: a list for iteration, an open-addressing table for lookup by ID. */
	struct yamux_stream *first, *last;
	struct yamux_stream **table;
	size_t table_cap, table_used;
	/* The stream last found by ID (NULL or in the table): frames mostly come in runs on one
	 * stream (a ping: header, then body), so this saves most hash probes. */
	struct yamux_stream *hot;
	uint64_t next_id; /* our next stream ID; above UINT32_MAX once IDs ran out */
	uint32_t live, unacked_in, unacked_out, closed_pending, blocked;

	/* Remote IDs seen, as k = id >> 1: bit d of remote_bits is k = remote_max_k - d. */
	bool remote_any;
	uint32_t remote_max_k;
	uint64_t remote_bits[ID_WINDOW / 64];

	/* Frame parser. */
	uint8_t hdr[YAMUX_HEADER_LEN];
	size_t hdr_have;
	bool in_body;
	bool body_deliver;
	uint16_t body_flags;
	uint32_t body_id;
	uint32_t body_left;

	/* Output queue. */
	struct out_block *out_head, *out_tail, *out_spare;
	size_t out_bytes, block_cap, low_water;

	struct pending_ping pings[MAX_PINGS];
	uint32_t next_ping;
	uint64_t rtt_ns;

	struct yamux_stats stats;
};

/* Callbacks are suppressed once a deferred free is pending. */
#define NOTIFY(s, fn, ...)                                        \
	do {                                                      \
		if (!(s)->free_deferred && (s)->cb.fn)            \
			(s)->cb.fn((s)->user, __VA_ARGS__);       \
	} while (0)

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

static bool session_live(const struct yamux_session *s)
{
	return s->state == SESSION_OPEN && !s->free_deferred;
}

static bool stream_readable(const struct yamux_stream *st)
{
	return st->state == STREAM_OPEN || st->state == STREAM_LOCAL_FIN;
}

static bool stream_writable(const struct yamux_stream *st)
{
	return st->state == STREAM_OPEN || st->state == STREAM_REMOTE_FIN;
}

static bool id_is_ours(const struct yamux_session *s, uint32_t id)
{
	/* spec, StreamID Field: the client uses odd IDs, the server even. */
	return ((id & 1) != 0) == s->cfg.is_client;
}

/* ---- output queue --------------------------------------------------------------------- */

static struct out_block *block_get(struct yamux_session *s)
{
	struct out_block *b = s->out_spare;
	if (b)
		s->out_spare = NULL;
	else
		b = aa_malloc(sizeof *b + s->block_cap);
	b->next = NULL;
	b->head = b->tail = 0;
	return b;
}

/* Keeps one drained chunk for reuse so steady traffic does not allocate. */
static void block_put(struct yamux_session *s, struct out_block *b)
{
	if (!s->out_spare)
		s->out_spare = b;
	else
		free(b);
}

/* Returns the free space of the tail chunk, opening a new chunk unless `min` bytes fit. */
static uint8_t *out_reserve(struct yamux_session *s, size_t min, size_t *room)
{
	struct out_block *b = s->out_tail;
	if (!b || s->block_cap - b->tail < min) {
		b = block_get(s);
		if (s->out_tail)
			s->out_tail->next = b;
		else
			s->out_head = b;
		s->out_tail = b;
	}
	*room = s->block_cap - b->tail;
	return b->data + b->tail;
}

static void out_commit(struct yamux_session *s, size_t n)
{
	s->out_tail->tail += n;
	s->out_bytes += n;
}

static void put_header(uint8_t *h, uint8_t type, uint16_t flags, uint32_t id, uint32_t len)
{
	/* version, type, then the 16-bit flags: one big-endian word */
	aa_store_be32(h, (uint32_t)YAMUX_VERSION << 24 | (uint32_t)type << 16 | flags);
	aa_store_be32(h + 4, id);
	aa_store_be32(h + 8, len);
}

static void queue_frame(struct yamux_session *s, uint8_t type, uint16_t flags, uint32_t id,
			uint32_t len)
{
	size_t room;
	put_header(out_reserve(s, YAMUX_HEADER_LEN, &room), type, flags, id, len);
	out_commit(s, YAMUX_HEADER_LEN);
}

/* Copies n payload bytes into Data frames of at most max_frame_payload, filling chunks. */
static void queue_data(struct yamux_session *s, uint32_t id, uint16_t flags, const uint8_t *p,
		       size_t n)
{
	while (n > 0) {
		size_t room;
		size_t want = YAMUX_HEADER_LEN + min_size(n, MIN_TAIL_PAYLOAD);
		uint8_t *dst = out_reserve(s, want, &room);
		size_t chunk = min_size(n, room - YAMUX_HEADER_LEN);
		chunk = min_size(chunk, s->cfg.max_frame_payload);
		put_header(dst, TYPE_DATA, flags, id, (uint32_t)chunk);
		memcpy(dst + YAMUX_HEADER_LEN, p, chunk);
		out_commit(s, YAMUX_HEADER_LEN + chunk);
		p += chunk;
		n -= chunk;
		flags = 0; /* ACK rides on the first frame only */
	}
}

/* ---- stream table --------------------------------------------------------------------- */

static size_t hash_id(uint32_t x)
{
	/* murmur3 finalizer: remote-chosen IDs must not all land in one probe run */
	x ^= x >> 16;
	x *= 0x85ebca6bu;
	x ^= x >> 13;
	x *= 0xc2b2ae35u;
	x ^= x >> 16;
	return x;
}

static struct yamux_stream *table_find(struct yamux_session *s, uint32_t id)
{
	if (s->hot && s->hot->id == id)
		return s->hot;
	size_t mask = s->table_cap - 1;
	for (size_t i = hash_id(id) & mask; s->table[i]; i = (i + 1) & mask)
		if (s->table[i]->id == id)
			return s->hot = s->table[i];
	return NULL;
}

static void table_place(struct yamux_stream **table, size_t cap, struct yamux_stream *st)
{
	size_t i = hash_id(st->id) & (cap - 1);
	while (table[i])
		i = (i + 1) & (cap - 1);
	table[i] = st;
}

static void table_insert(struct yamux_session *s, struct yamux_stream *st)
{
	if ((s->table_used + 1) * 2 > s->table_cap) {
		size_t cap = s->table_cap * 2;
		struct yamux_stream **t = aa_calloc(cap, sizeof *t);
		for (size_t i = 0; i < s->table_cap; i++)
			if (s->table[i])
				table_place(t, cap, s->table[i]);
		free(s->table);
		s->table = t;
		s->table_cap = cap;
	}
	table_place(s->table, s->table_cap, st);
	s->table_used++;
}

/* Linear probing with backward-shift deletion, so no tombstones accumulate. */
static void table_remove(struct yamux_session *s, uint32_t id)
{
	if (s->hot && s->hot->id == id)
		s->hot = NULL;
	size_t mask = s->table_cap - 1;
	size_t i = hash_id(id) & mask;
	while (s->table[i] && s->table[i]->id != id)
		i = (i + 1) & mask;
	if (!s->table[i])
		return;
	s->table[i] = NULL;
	s->table_used--;
	for (size_t j = (i + 1) & mask; s->table[j]; j = (j + 1) & mask) {
		size_t home = hash_id(s->table[j]->id) & mask;
		bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
		if (!stays) {
			s->table[i] = s->table[j];
			s->table[j] = NULL;
			i = j;
		}
	}
}

/* ---- remote ID window ----------------------------------------------------------------- */

static bool remote_id_seen(const struct yamux_session *s, uint32_t k)
{
	if (!s->remote_any || k > s->remote_max_k)
		return false;
	uint32_t d = s->remote_max_k - k;
	if (d >= ID_WINDOW)
		return true; /* too old to tell apart: treat as reused */
	return (s->remote_bits[d / 64] >> (d % 64)) & 1;
}

static void remote_id_mark(struct yamux_session *s, uint32_t k)
{
	if (!s->remote_any) {
		s->remote_any = true;
		s->remote_max_k = k;
		memset(s->remote_bits, 0, sizeof s->remote_bits);
	} else if (k > s->remote_max_k) {
		uint32_t shift = k - s->remote_max_k;
		size_t words = ID_WINDOW / 64;
		if (shift >= ID_WINDOW) {
			memset(s->remote_bits, 0, sizeof s->remote_bits);
		} else {
			size_t ws = shift / 64, bs = shift % 64;
			for (size_t i = words; i-- > 0;) {
				uint64_t v = 0;
				if (i >= ws) {
					v = s->remote_bits[i - ws] << bs;
					if (bs && i > ws)
						v |= s->remote_bits[i - ws - 1] >> (64 - bs);
				}
				s->remote_bits[i] = v;
			}
		}
		s->remote_max_k = k;
	}
	uint32_t d = s->remote_max_k - k;
	s->remote_bits[d / 64] |= (uint64_t)1 << (d % 64);
}

/* ---- stream lifecycle ----------------------------------------------------------------- */

static struct yamux_stream *stream_new(struct yamux_session *s, uint32_t id, bool inbound)
{
	struct yamux_stream *st = aa_calloc(1, sizeof *st);
	st->session = s;
	st->id = id;
	st->inbound = inbound;
	st->state = STREAM_OPEN;
	/* spec, Flow Control: both sides assume 256 KiB until a window update says more. */
	st->send_window = YAMUX_SPEC_WINDOW;
	st->recv_credit = YAMUX_SPEC_WINDOW;
	st->recv_window = s->cfg.initial_window;
	st->epoch_ns = s->now_ns;
	st->prev = s->last;
	if (s->last)
		s->last->next = st;
	else
		s->first = st;
	s->last = st;
	table_insert(s, st);
	s->live++;
	s->stats.streams_opened++;
	return st;
}

/* The one way into STREAM_CLOSED: the stream leaves the ID table (later frames for its ID are
 * "late" and ignored) and waits in the list for reap(). */
static void stream_set_closed(struct yamux_session *s, struct yamux_stream *st)
{
	if (st->state == STREAM_CLOSED)
		return;
	st->state = STREAM_CLOSED;
	table_remove(s, st->id);
	s->live--;
	s->closed_pending++;
	if (st->ack_pending) {
		st->ack_pending = false;
		s->unacked_in--;
	}
	if (st->awaiting_ack) {
		st->awaiting_ack = false;
		s->unacked_out--;
	}
	if (st->write_blocked) {
		st->write_blocked = false;
		s->blocked--;
	}
}

/* Returns FLAG_ACK if this inbound stream still owes its ACK (and settles the debt). */
static uint16_t stream_take_ack(struct yamux_session *s, struct yamux_stream *st)
{
	if (!st->ack_pending)
		return 0;
	st->ack_pending = false;
	s->unacked_in--;
	return FLAG_ACK;
}

/* Auto-tuning: if half a window was consumed within two RTTs of the previous grant, the
 * window, not the consumer, limits throughput, so double it (up to max_window). */
static uint64_t stream_autotune(struct yamux_session *s, struct yamux_stream *st)
{
	if (s->rtt_ns == 0 || st->recv_window >= s->cfg.max_window)
		return 0;
	uint64_t elapsed = s->now_ns > st->epoch_ns ? s->now_ns - st->epoch_ns : 0;
	if (elapsed >= 2 * s->rtt_ns)
		return 0;
	uint64_t grown = (uint64_t)st->recv_window * 2;
	if (grown > s->cfg.max_window)
		grown = s->cfg.max_window;
	uint64_t extra = grown - st->recv_window;
	if (s->cfg.growth_budget) {
		uint64_t room = s->cfg.growth_budget > s->grown_total ? s->cfg.growth_budget - s->grown_total : 0;
		if (extra > room)
			extra = room;
		if (extra == 0)
			return 0;
	}
	st->recv_window += (uint32_t)extra;
	s->grown_total += extra;
	return extra;
}

/* Grants the remote the free part of the receive window. Without `force` this waits until
 * half the window is free, so updates stay rare; with it (SYN, ACK) a frame always goes. */
static void stream_flush_window(struct yamux_session *s, struct yamux_stream *st, uint16_t flags,
				bool force)
{
	uint64_t outstanding = (uint64_t)st->recv_credit + st->recv_unconsumed;
	uint64_t grant = 0;
	if (stream_readable(st) && st->recv_window > outstanding)
		grant = st->recv_window - outstanding;
	if (!force) {
		if (!stream_readable(st) || grant == 0 || grant < st->recv_window / 2)
			return;
		grant += stream_autotune(s, st);
	}
	st->epoch_ns = s->now_ns;
	flags |= stream_take_ack(s, st);
	queue_frame(s, TYPE_WINDOW_UPDATE, flags, st->id, (uint32_t)grant);
	st->recv_credit += (uint32_t)grant;
}

static void stream_mark_blocked(struct yamux_session *s, struct yamux_stream *st)
{
	if (!st->write_blocked) {
		st->write_blocked = true;
		s->blocked++;
	}
}

/* Tells a blocked writer it can go on, once its window is open and the output is below the
 * low-water mark (the output side notices the crossing and calls this for every stream). */
static void stream_notify_writable(struct yamux_session *s, struct yamux_stream *st)
{
	if (!st->write_blocked || !stream_writable(st) || st->send_window == 0 ||
	    s->out_bytes >= s->low_water)
		return;
	st->write_blocked = false;
	s->blocked--;
	NOTIFY(s, on_stream_writable, st);
}

static void stream_remote_fin(struct yamux_session *s, struct yamux_stream *st)
{
	switch (st->state) {
	case STREAM_OPEN:
		st->state = STREAM_REMOTE_FIN;
		break;
	case STREAM_LOCAL_FIN:
		/* spec, Closing a stream: once both sides have closed, the stream is closed. */
		stream_set_closed(s, st);
		break;
	case STREAM_REMOTE_FIN:
	case STREAM_CLOSED:
		return; /* a repeated FIN changes nothing */
	}
	NOTIFY(s, on_stream_fin, st);
}

static void stream_remote_reset(struct yamux_session *s, struct yamux_stream *st)
{
	if (st->state == STREAM_CLOSED)
		return;
	stream_set_closed(s, st);
	st->was_reset = true;
	NOTIFY(s, on_stream_reset, st);
}

/* A stream-level violation: reset the stream towards the peer and tell the upper layer. */
static void stream_abort(struct yamux_session *s, struct yamux_stream *st)
{
	queue_frame(s, TYPE_WINDOW_UPDATE, FLAG_RST, st->id, 0);
	stream_remote_reset(s, st);
}

static void apply_end_flags(struct yamux_session *s, struct yamux_stream *st, uint16_t flags)
{
	if (flags & FLAG_RST)
		stream_remote_reset(s, st);
	else if (flags & FLAG_FIN)
		stream_remote_fin(s, st);
}

/* Resets every live stream, telling the upper layer (session failure or close). */
static void reset_all(struct yamux_session *s)
{
	for (struct yamux_stream *st = s->first; st; st = st->next)
		stream_remote_reset(s, st);
}

/* Hands finished streams to on_stream_closed and frees them. Runs only when the outermost
 * call returns, so no stream is freed under a caller's feet; streams closed by the callbacks
 * it runs are picked up by the next pass. */
static void reap(struct yamux_session *s)
{
	while (s->closed_pending > 0) {
		struct yamux_stream *st = s->first;
		while (st) {
			struct yamux_stream *next = st->next;
			if (st->state == STREAM_CLOSED) {
				s->closed_pending--;
				NOTIFY(s, on_stream_closed, st);
				if (st->prev)
					st->prev->next = st->next;
				else
					s->first = st->next;
				if (st->next)
					st->next->prev = st->prev;
				else
					s->last = st->prev;
				next = st->next;
				s->grown_total -= st->recv_window - s->cfg.initial_window;
				free(st);
			}
			st = next;
		}
	}
}

static void session_destroy(struct yamux_session *s)
{
	struct yamux_stream *st = s->first;
	while (st) {
		struct yamux_stream *next = st->next;
		free(st);
		st = next;
	}
	struct out_block *b = s->out_head;
	while (b) {
		struct out_block *next = b->next;
		free(b);
		b = next;
	}
	free(s->out_spare);
	free(s->table);
	free(s);
}

static void enter(struct yamux_session *s)
{
	s->depth++;
}

/* Leaves a call that may have run callbacks; the outermost one reaps and, if asked, frees. */
static int leave(struct yamux_session *s, int rc)
{
	if (s->depth == 1 && !s->free_deferred)
		reap(s);
	if (--s->depth == 0 && s->free_deferred) {
		session_destroy(s);
		return rc ? rc : AA_ECLOSED;
	}
	return rc;
}

/* A fatal violation: queue Go Away(protocol error), reset every stream, refuse all input. */
static int fail(struct yamux_session *s, const char *why)
{
	if (s->state != SESSION_OPEN)
		return AA_EPROTO;
	s->error = why;
	aa_log(AA_LOG_DEBUG, "yamux protocol error", "reason", why, NULL);
	queue_frame(s, TYPE_GO_AWAY, 0, 0, YAMUX_GO_AWAY_PROTOCOL_ERROR);
	s->go_away_sent = true;
	s->state = SESSION_FAILED;
	reset_all(s);
	return AA_EPROTO;
}

/* ---- receive path --------------------------------------------------------------------- */

/* Data of a frame nobody will read is still on the wire and must be skipped. */
static int skip_body(struct yamux_session *s, uint8_t type, uint32_t len)
{
	if (type == TYPE_DATA && len > 0) {
		s->in_body = true;
		s->body_deliver = false;
		s->body_id = 0;
		s->body_flags = 0;
		s->body_left = len;
	}
	return 0;
}

/* A frame (without SYN) for an ID not in the table. An ID that was used before, or that lies
 * below the highest one used (skipped or closed), gets late frames after a close or reset:
 * those are ignored. An ID never opened means the peer is confused; answer with RST. */
static int on_unknown_stream(struct yamux_session *s, uint8_t type, uint16_t flags, uint32_t id,
			     uint32_t len)
{
	/* No stream was ever granted more than max_window, so no late frame can be longer: a
	 * Data frame beyond that is not a straggler but a peer making us skip gigabytes. */
	if (type == TYPE_DATA && len > s->cfg.max_window)
		return fail(s, "data beyond any window on an unknown stream");
	bool never_opened;
	if (id_is_ours(s, id))
		never_opened = id >= s->next_id;
	else
		never_opened = !s->remote_any || (id >> 1) > s->remote_max_k;
	if (never_opened && !(flags & FLAG_RST))
		queue_frame(s, TYPE_WINDOW_UPDATE, FLAG_RST, id, 0);
	return skip_body(s, type, len);
}

/* A SYN: validates it and creates the stream (announced by the caller once the frame's
 * window is applied). *out stays NULL when the stream is refused. */
static int open_inbound(struct yamux_session *s, uint8_t type, uint16_t flags, uint32_t id,
			uint32_t len, struct yamux_stream **out)
{
	*out = NULL;
	if (id_is_ours(s, id))
		return fail(s, "SYN with our own stream ID parity");
	if (table_find(s, id) || remote_id_seen(s, id >> 1))
		return fail(s, "SYN reuses a stream ID");
	/* Checked before the stream exists, so the upper layer never hears of a stream it was
	 * not told about. */
	if (type == TYPE_DATA && len > YAMUX_SPEC_WINDOW)
		return fail(s, "data beyond the receive window");
	if (type == TYPE_WINDOW_UPDATE && !(flags & FLAG_RST) &&
	    (uint64_t)YAMUX_SPEC_WINDOW + len > UINT32_MAX)
		return fail(s, "send window overflow");
	remote_id_mark(s, id >> 1);
	if (flags & FLAG_RST)
		return skip_body(s, type, len); /* opened and reset at once: nothing to do */
	/* libp2p spec, ACK backlog: beyond the limits the new stream is reset, not the session. */
	if (s->go_away_sent || s->live >= s->cfg.max_streams ||
	    s->unacked_in >= s->cfg.max_unacked_inbound) {
		s->stats.streams_refused++;
		queue_frame(s, TYPE_WINDOW_UPDATE, FLAG_RST, id, 0);
		return skip_body(s, type, len);
	}
	struct yamux_stream *st = stream_new(s, id, true);
	st->ack_pending = true;
	s->unacked_in++;
	*out = st;
	return 0;
}

static int on_window_update(struct yamux_session *s, struct yamux_stream *st, uint16_t flags,
			    uint32_t delta, bool opened)
{
	/* go-yamux puts an error code, not a delta, in the length of an RST frame. */
	if (!(flags & FLAG_RST)) {
		if ((uint64_t)st->send_window + delta > UINT32_MAX)
			return fail(s, "send window overflow");
		st->send_window += delta;
	}
	if (opened)
		NOTIFY(s, on_stream_open, st);
	if (!session_live(s))
		return 0;
	apply_end_flags(s, st, flags);
	if (session_live(s))
		stream_notify_writable(s, st);
	return 0;
}

static int on_data_header(struct yamux_session *s, struct yamux_stream *st, uint16_t flags,
			  uint32_t len, bool opened)
{
	/* spec, Flow Control: data beyond the window we granted is a session error. */
	if (len > st->recv_credit)
		return fail(s, "data beyond the receive window");
	st->recv_credit -= len;
	s->stats.bytes_in += len;
	if (opened)
		NOTIFY(s, on_stream_open, st);
	if (!session_live(s))
		return 0;
	if (len > 0 && st->state == STREAM_REMOTE_FIN)
		stream_abort(s, st); /* data after the peer's own FIN */
	if (len == 0) {
		apply_end_flags(s, st, flags);
		return 0;
	}
	s->in_body = true;
	s->body_deliver = stream_readable(st);
	s->body_id = st->id;
	s->body_flags = flags & (FLAG_FIN | FLAG_RST);
	s->body_left = len;
	return 0;
}

static int on_stream_frame(struct yamux_session *s, uint8_t type, uint16_t flags, uint32_t id,
			   uint32_t len)
{
	/* spec, StreamID Field: 0 is the session; Data and Window Update address streams. */
	if (id == 0)
		return fail(s, "data or window update on stream 0");
	if (flags & ~FLAG_ALL)
		return fail(s, "unknown flag");
	if ((flags & FLAG_SYN) && (flags & FLAG_ACK))
		return fail(s, "SYN and ACK on one frame");
	struct yamux_stream *st;
	bool opened = false;
	if (flags & FLAG_SYN) {
		int rc = open_inbound(s, type, flags, id, len, &st);
		if (rc < 0 || !st)
			return rc;
		opened = true;
	} else {
		st = table_find(s, id);
		if (!st)
			return on_unknown_stream(s, type, flags, id, len);
		/* spec, Opening a stream: the receiver's ACK accepts it. */
		if ((flags & FLAG_ACK) && st->awaiting_ack) {
			st->awaiting_ack = false;
			s->unacked_out--;
		}
	}
	if (type == TYPE_WINDOW_UPDATE)
		return on_window_update(s, st, flags, len, opened);
	return on_data_header(s, st, flags, len, opened);
}

static int on_ping(struct yamux_session *s, uint16_t flags, uint32_t id, uint32_t opaque)
{
	if (id != 0)
		return fail(s, "ping on a stream");
	/* spec, Flag Field: SYN marks a ping, ACK its answer, which echoes the opaque value. */
	if (flags == FLAG_SYN) {
		queue_frame(s, TYPE_PING, FLAG_ACK, 0, opaque);
		return 0;
	}
	if (flags != FLAG_ACK)
		return fail(s, "ping flags are neither SYN nor ACK");
	for (size_t i = 0; i < MAX_PINGS; i++) {
		struct pending_ping *pp = &s->pings[i];
		if (!pp->used || pp->opaque != opaque)
			continue;
		pp->used = false;
		uint64_t rtt = s->now_ns > pp->sent_ns ? s->now_ns - pp->sent_ns : 0;
		s->rtt_ns = rtt ? rtt : 1;
		NOTIFY(s, on_ping_rtt, rtt);
		break;
	}
	return 0; /* an answer to no ping of ours is harmless */
}

static int on_go_away(struct yamux_session *s, uint16_t flags, uint32_t id, uint32_t code)
{
	if (id != 0)
		return fail(s, "go away on a stream");
	if (flags != 0)
		return fail(s, "go away with flags");
	if (s->go_away_received)
		return 0;
	s->go_away_received = true;
	NOTIFY(s, on_go_away, code);
	return 0;
}

static int on_header(struct yamux_session *s, const uint8_t *h)
{
	uint16_t flags = (uint16_t)(h[2] << 8 | h[3]);
	uint32_t id = aa_load_be32(h + 4), len = aa_load_be32(h + 8);
	if (h[0] != YAMUX_VERSION)
		return fail(s, "unsupported version");
	switch (h[1]) {
	case TYPE_DATA:
	case TYPE_WINDOW_UPDATE:
		return on_stream_frame(s, h[1], flags, id, len);
	case TYPE_PING:
		return on_ping(s, flags, id, len);
	case TYPE_GO_AWAY:
		return on_go_away(s, flags, id, len);
	default:
		return fail(s, "unknown frame type");
	}
}

/* Passes a run of Data payload to the stream (if it still wants it); returns bytes used. */
static size_t on_body(struct yamux_session *s, const uint8_t *p, size_t n)
{
	size_t take = min_size(n, s->body_left);
	if (s->body_deliver) {
		struct yamux_stream *st = table_find(s, s->body_id);
		if (st && stream_readable(st)) {
			st->recv_unconsumed += (uint32_t)take;
			NOTIFY(s, on_stream_data, st, p, take);
		}
	}
	s->body_left -= (uint32_t)take;
	if (s->body_left == 0) {
		s->in_body = false;
		/* apply_end_flags() does nothing without FIN or RST: skip the lookup then. */
		struct yamux_stream *st =
			s->body_deliver && s->body_flags ? table_find(s, s->body_id) : NULL;
		if (st && session_live(s))
			apply_end_flags(s, st, s->body_flags);
	}
	return take;
}

int yamux_session_receive(struct yamux_session *s, const uint8_t *p, size_t n, uint64_t now_ns)
{
	if (s->state == SESSION_FAILED)
		return AA_EPROTO;
	if (s->state == SESSION_CLOSED)
		return AA_ECLOSED;
	if (s->depth > 0)
		return AA_EINVAL; /* from a callback: the outer call is mid-frame */
	s->now_ns = now_ns;
	enter(s);
	while (n > 0 && session_live(s)) {
		size_t used;
		if (s->in_body) {
			used = on_body(s, p, n);
		} else if (s->hdr_have == 0 && n >= YAMUX_HEADER_LEN) {
			/* A whole header lies in the input: parse it where it is. */
			used = YAMUX_HEADER_LEN;
			on_header(s, p);
		} else {
			used = min_size(n, YAMUX_HEADER_LEN - s->hdr_have);
			memcpy(s->hdr + s->hdr_have, p, used);
			s->hdr_have += used;
			if (s->hdr_have == YAMUX_HEADER_LEN) {
				s->hdr_have = 0;
				on_header(s, s->hdr);
			}
		}
		p += used;
		n -= used;
	}
	int rc = 0;
	if (s->state == SESSION_FAILED)
		rc = AA_EPROTO;
	else if (s->state == SESSION_CLOSED || s->free_deferred)
		rc = AA_ECLOSED;
	return leave(s, rc);
}

/* ---- output --------------------------------------------------------------------------- */

size_t yamux_session_output(struct yamux_session *s, struct aa_slice *out)
{
	struct out_block *b = s->out_head;
	if (!b) {
		*out = aa_slice_make(NULL, 0);
		return 0;
	}
	*out = aa_slice_make(b->data + b->head, b->tail - b->head);
	return s->out_bytes;
}

size_t yamux_session_output_iov(struct yamux_session *s, struct aa_slice *iov, size_t max)
{
	size_t k = 0;
	for (struct out_block *b = s->out_head; b && k < max; b = b->next)
		iov[k++] = aa_slice_make(b->data + b->head, b->tail - b->head);
	return k;
}

int yamux_session_output_consumed(struct yamux_session *s, size_t n)
{
	if (n > s->out_bytes)
		return AA_EINVAL;
	bool was_above = s->out_bytes >= s->low_water;
	while (n > 0) {
		struct out_block *b = s->out_head;
		size_t take = min_size(n, b->tail - b->head);
		b->head += take;
		n -= take;
		s->out_bytes -= take;
		if (b->head == b->tail) {
			/* the queue never holds a drained chunk */
			s->out_head = b->next;
			if (!s->out_head)
				s->out_tail = NULL;
			block_put(s, b);
		}
	}
	/* Nothing to report (no writer to wake, no stream to reap): skip the callback frame. */
	if (!(was_above && s->out_bytes < s->low_water) && s->closed_pending == 0)
		return 0;
	enter(s);
	if (was_above && s->out_bytes < s->low_water)
		for (struct yamux_stream *st = s->first; st && s->blocked > 0 && !s->free_deferred;
		     st = st->next)
			stream_notify_writable(s, st);
	return leave(s, 0);
}

bool yamux_session_output_full(const struct yamux_session *s)
{
	return s->out_bytes >= s->cfg.max_output;
}

/* ---- session -------------------------------------------------------------------------- */

void yamux_config_default(struct yamux_config *cfg, bool is_client)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->is_client = is_client;
	cfg->initial_window = YAMUX_SPEC_WINDOW;
	cfg->max_window = 16u * 1024 * 1024;
	cfg->max_streams = 1024;
	cfg->max_unacked_inbound = YAMUX_SPEC_ACK_BACKLOG;
	cfg->max_output = 1024 * 1024;
	cfg->max_frame_payload = YAMUX_DEFAULT_MAX_FRAME_PAYLOAD;
	cfg->rtt_probe = true;
}

int yamux_session_new(struct yamux_session **out, const struct yamux_config *cfg,
		      const struct yamux_callbacks *cb, void *user, uint64_t now_ns)
{
	*out = NULL;
	/* The remote assumes 256 KiB from the start, so we cannot promise less. */
	if (cfg->initial_window < YAMUX_SPEC_WINDOW || cfg->max_window < cfg->initial_window ||
	    cfg->max_streams == 0 || cfg->max_output == 0 || cfg->max_frame_payload == 0 ||
	    cfg->max_frame_payload > MAX_FRAME_PAYLOAD_LIMIT)
		return AA_EINVAL;
	struct yamux_session *s = aa_calloc(1, sizeof *s);
	s->cfg = *cfg;
	if (cb)
		s->cb = *cb;
	s->user = user;
	s->now_ns = now_ns;
	s->next_id = cfg->is_client ? 1 : 2;
	s->table_cap = 16;
	s->table = aa_calloc(s->table_cap, sizeof *s->table);
	s->block_cap = cfg->max_frame_payload + YAMUX_HEADER_LEN;
	s->low_water = (cfg->max_output + 1) / 2;
	if (cfg->rtt_probe)
		yamux_session_ping(s, now_ns);
	*out = s;
	return 0;
}

void yamux_session_free(struct yamux_session *s)
{
	if (!s)
		return;
	if (s->depth > 0) {
		s->free_deferred = true;
		return;
	}
	session_destroy(s);
}

int yamux_session_ping(struct yamux_session *s, uint64_t now_ns)
{
	if (!session_live(s))
		return AA_ECLOSED;
	s->now_ns = now_ns;
	for (size_t i = 0; i < MAX_PINGS; i++) {
		struct pending_ping *pp = &s->pings[i];
		if (pp->used)
			continue;
		pp->used = true;
		pp->opaque = s->next_ping++;
		pp->sent_ns = now_ns;
		queue_frame(s, TYPE_PING, FLAG_SYN, 0, pp->opaque);
		return 0;
	}
	return AA_EAGAIN;
}

int yamux_session_go_away(struct yamux_session *s, uint32_t code)
{
	if (!session_live(s))
		return AA_ECLOSED;
	if (!s->go_away_sent) {
		queue_frame(s, TYPE_GO_AWAY, 0, 0, code);
		s->go_away_sent = true;
	}
	return 0;
}

void yamux_session_close(struct yamux_session *s, uint32_t code)
{
	if (!session_live(s))
		return;
	enter(s);
	yamux_session_go_away(s, code);
	s->state = SESSION_CLOSED;
	reset_all(s);
	leave(s, 0);
}

size_t yamux_session_output_pending(const struct yamux_session *s)
{
	return s->out_bytes;
}

uint64_t yamux_session_streams_refused(const struct yamux_session *s)
{
	return s->stats.streams_refused;
}

void yamux_session_stats(const struct yamux_session *s, struct yamux_stats *out)
{
	*out = s->stats;
	out->streams_open = s->live;
	out->unacked_inbound = s->unacked_in;
	out->output_pending = s->out_bytes;
}

uint64_t yamux_session_rtt_ns(const struct yamux_session *s)
{
	return s->rtt_ns;
}

const char *yamux_session_error(const struct yamux_session *s)
{
	return s->error;
}

void *yamux_session_user(const struct yamux_session *s)
{
	return s->user;
}

/* ---- streams -------------------------------------------------------------------------- */

int yamux_stream_open(struct yamux_session *s, struct yamux_stream **out)
{
	*out = NULL;
	if (!session_live(s) || s->go_away_sent || s->go_away_received || s->next_id > UINT32_MAX)
		return AA_ECLOSED;
	if (s->live >= s->cfg.max_streams)
		return AA_ENOMEM;
	/* Respect the peer's ACK backlog (libp2p spec) rather than have it reset our streams. */
	if (s->unacked_out >= YAMUX_SPEC_ACK_BACKLOG)
		return AA_EAGAIN;
	struct yamux_stream *st = stream_new(s, (uint32_t)s->next_id, false);
	s->next_id += 2;
	st->awaiting_ack = true;
	s->unacked_out++;
	/* spec, Opening a stream: SYN in a window update, which also grants any extra window. */
	stream_flush_window(s, st, FLAG_SYN, true);
	*out = st;
	return 0;
}

int yamux_stream_accept(struct yamux_stream *st)
{
	struct yamux_session *s = st->session;
	if (st->state == STREAM_CLOSED)
		return AA_ECLOSED;
	if (!st->ack_pending)
		return 0;
	stream_flush_window(s, st, 0, true);
	return 0;
}

ssize_t yamux_stream_write(struct yamux_stream *st, const void *p, size_t n)
{
	struct yamux_session *s = st->session;
	if (!stream_writable(st) || !session_live(s))
		return AA_ECLOSED;
	if (n == 0)
		return 0;
	size_t room = s->out_bytes < s->cfg.max_output ? s->cfg.max_output - s->out_bytes : 0;
	size_t take = min_size(min_size(n, st->send_window), room);
	if (take < n)
		stream_mark_blocked(s, st);
	if (take == 0)
		return 0;
	queue_data(s, st->id, stream_take_ack(s, st), p, take);
	st->send_window -= (uint32_t)take;
	s->stats.bytes_out += take;
	return (ssize_t)take;
}

int yamux_stream_close(struct yamux_stream *st)
{
	struct yamux_session *s = st->session;
	switch (st->state) {
	case STREAM_CLOSED:
		return st->was_reset ? AA_ECLOSED : 0;
	case STREAM_LOCAL_FIN:
		return 0;
	case STREAM_OPEN:
	case STREAM_REMOTE_FIN:
		break;
	}
	/* spec, Closing a stream: FIN in a window update half-closes our side. */
	queue_frame(s, TYPE_WINDOW_UPDATE, FLAG_FIN | stream_take_ack(s, st), st->id, 0);
	if (st->state == STREAM_REMOTE_FIN)
		stream_set_closed(s, st);
	else
		st->state = STREAM_LOCAL_FIN;
	if (st->write_blocked) {
		st->write_blocked = false;
		s->blocked--;
	}
	return 0;
}

int yamux_stream_reset(struct yamux_stream *st)
{
	struct yamux_session *s = st->session;
	if (st->state == STREAM_CLOSED)
		return 0;
	/* An RST without ACK also refuses a stream not yet accepted (spec, Opening a stream). */
	queue_frame(s, TYPE_WINDOW_UPDATE, FLAG_RST, st->id, 0);
	stream_set_closed(s, st);
	st->was_reset = true;
	return 0;
}

int yamux_stream_consumed(struct yamux_stream *st, size_t n)
{
	if (n > st->recv_unconsumed)
		return AA_EINVAL;
	st->recv_unconsumed -= (uint32_t)n;
	if (stream_readable(st) && session_live(st->session))
		stream_flush_window(st->session, st, 0, false);
	return 0;
}

uint32_t yamux_stream_id(const struct yamux_stream *st)
{
	return st->id;
}

bool yamux_stream_is_inbound(const struct yamux_stream *st)
{
	return st->inbound;
}

void yamux_stream_set_user(struct yamux_stream *st, void *user)
{
	st->user = user;
}

void *yamux_stream_user(const struct yamux_stream *st)
{
	return st->user;
}

struct yamux_session *yamux_stream_session(const struct yamux_stream *st)
{
	return st->session;
}

uint32_t yamux_stream_send_window(const struct yamux_stream *st)
{
	return st->send_window;
}

uint32_t yamux_stream_recv_window(const struct yamux_stream *st)
{
	return st->recv_window;
}
