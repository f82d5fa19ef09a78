/* conn: a libp2p connection on a libuv TCP handle. The upgrade runs as a small state machine
 * (enum conn_state) feeding socket bytes to the sans-I/O protocol objects:
 *
 *   SECURITY  multistream-select on the raw socket, for "/noise"
 *   NOISE     the Noise XX handshake (2-byte framed messages, still raw)
 *   MUXER     multistream-select for "/yamux/1.0.0" inside Noise, when the Noise extensions
 *             did not settle the muxer already
 *   OPEN      yamux inside Noise; each stream runs its own multistream-select first
 *
 * Output is never written from deep inside a callback: producers append to the protocol
 * objects and mark the connection dirty; a uv_prepare handle, which runs before the loop
 * blocks, flushes every dirty connection at once. That batches many small stream writes into
 * one socket write without adding latency. */
#include "p2p/conn.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "p2p/mss.h"
#include "p2p/noise.h"

/* Bytes handed to the socket and not yet written: above this we stop pulling from yamux,
 * whose own queue then fills and makes stream writes come up short (backpressure). */
#define CONN_WRITE_HIGH_WATER (512u * 1024)
/* One socket write gathers at most this many yamux chunks (each one Noise frame). */
#define CONN_CHUNKS_PER_WRITE 8
/* Read buffer shared by every connection of an env (reads are processed synchronously). */
#define CONN_READ_BUF (256u * 1024)
/* How long a closing connection may take to flush its Go Away before the socket closes. */
#define CONN_CLOSE_GRACE_MS 1000
/* Streams refused at the stream limit that we tolerate before closing the connection: as
 * many as the ACK backlog a peer may legitimately have in flight (libp2p yamux spec). */
#define CONN_MAX_REFUSED_STREAMS YAMUX_SPEC_ACK_BACKLOG

enum conn_state { CONN_SECURITY, CONN_NOISE, CONN_MUXER, CONN_OPEN, CONN_CLOSING };

enum stream_state { STREAM_NEGOTIATING, STREAM_OPEN, STREAM_DONE };

struct p2p_stream {
	struct p2p_conn *conn;
	struct yamux_stream *ys;
	enum stream_state state;
	bool inbound;
	bool paused;      /* on_data left bytes in `held`; waiting for p2p_stream_resume() */
	bool fin_pending; /* remote FIN arrived while bytes were held */
	bool delivering;  /* inside on_data: nested resume() calls are folded into the loop */
	int err;
	struct mss *mss;  /* during negotiation only */
	char **protos;    /* outbound proposals, owned (mss borrows them) */
	size_t nprotos;
	char *protocol;   /* the negotiated protocol, owned */
	size_t proto_row; /* its row in env->proto_stats + 1; 0 = not counted */
	const struct p2p_stream_handler *h;
	void *user;
	struct aa_buf held;
	/* Negotiation bytes yamux could not take yet; they go out before any application data.
	 * Never more than a few hundred bytes (multistream messages). */
	struct aa_buf unsent;
};

struct p2p_conn {
	struct p2p_conn_env *env;
	uv_tcp_t *tcp;
	uv_timer_t timer; /* handshake deadline, then close grace */
	uv_shutdown_t shutdown_req;
	enum conn_state state;
	bool outbound;
	bool established;
	bool dirty;
	bool reading;
	int pending_closes;
	int close_err;
	struct p2p_conn *dirty_next;
	struct p2p_peer_id remote_peer;
	uint8_t remote_pubkey[P2P_ED25519_PUBLIC_KEY_BYTES];
	struct multiaddr remote_addr;
	struct multiaddr local_addr;
	struct mss mss;
	struct p2p_noise_handshake *hs;
	struct p2p_noise_session *ns;
	struct yamux_session *ys;
	struct aa_buf raw_out;   /* handshake bytes sent in the clear */
	struct aa_buf plain_out; /* muxer negotiation bytes to encrypt */
	size_t write_queued;
	uint32_t streams;
	size_t buffered; /* bytes held in this connection's streams */
	uint64_t refused_streams; /* inbound streams refused by the buffer budget */
	uint64_t yamux_refused_seen; /* yamux's streams_refused already added to the env */
	void *user;
	enum p2p_handshake_failure failure;
	char error[160];
};

struct conn_write {
	uv_write_t req;
	struct p2p_conn *conn;
	uint8_t *data;
	size_t len;
};

static const char *const noise_protos[] = { P2P_NOISE_PROTOCOL_ID };
static const char *const yamux_protos[] = { YAMUX_PROTOCOL_ID };

static void conn_fail(struct p2p_conn *c, int err, const char *why);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void schedule_flush(struct p2p_conn *c);
static void stream_flush_mss(struct p2p_stream *st);

/* ---- environment --------------------------------------------------------------------- */

static void flush_dirty(uv_prepare_t *h);

int p2p_conn_env_init(struct p2p_conn_env *env, uv_loop_t *loop)
{
	memset(env, 0, sizeof *env);
	env->loop = loop;
	yamux_config_default(&env->yamux, false);
	env->handshake_timeout_ns = 10ull * 1000000000ull;
	env->read_buf_len = CONN_READ_BUF;
	env->read_buf = aa_malloc(env->read_buf_len);
	env->conn_buffer_limit = 64u * 1024 * 1024;
	env->buffer_limit = 256u * 1024 * 1024;
	uv_prepare_init(loop, &env->flush_prepare);
	env->flush_prepare.data = env;
	return 0;
}

static void env_prepare_closed(uv_handle_t *h)
{
	struct p2p_conn_env *env = h->data;
	free(env->read_buf);
	env->read_buf = NULL;
	aa_buf_free(&env->seal_buf);
}

void p2p_conn_env_close(struct p2p_conn_env *env)
{
	uv_prepare_stop(&env->flush_prepare);
	uv_close((uv_handle_t *)&env->flush_prepare, env_prepare_closed);
}

/* ---- accessors ----------------------------------------------------------------------- */

bool p2p_conn_is_established(const struct p2p_conn *c) { return c->established && c->state == CONN_OPEN; }
bool p2p_conn_is_outbound(const struct p2p_conn *c) { return c->outbound; }
const struct p2p_peer_id *p2p_conn_remote_peer(const struct p2p_conn *c) { return &c->remote_peer; }
const uint8_t *p2p_conn_remote_public_key(const struct p2p_conn *c) { return c->remote_pubkey; }
const struct multiaddr *p2p_conn_remote_addr(const struct p2p_conn *c) { return &c->remote_addr; }
const struct multiaddr *p2p_conn_local_addr(const struct p2p_conn *c) { return &c->local_addr; }
uint32_t p2p_conn_stream_count(const struct p2p_conn *c) { return c->streams; }
uint64_t p2p_conn_rtt_ns(const struct p2p_conn *c) { return c->ys ? yamux_session_rtt_ns(c->ys) : 0; }
void p2p_conn_set_user(struct p2p_conn *c, void *user) { c->user = user; }
void *p2p_conn_user(const struct p2p_conn *c) { return c->user; }
const char *p2p_conn_error(const struct p2p_conn *c) { return c->error; }
enum p2p_handshake_failure p2p_conn_handshake_failure(const struct p2p_conn *c) { return c->failure; }

const char *p2p_handshake_failure_name(enum p2p_handshake_failure f)
{
	static const char *const names[P2P_HS_FAIL_COUNT] = {
		"none", "timeout", "negotiation", "crypto", "protocol", "closed", "io",
	};
	return (unsigned)f < P2P_HS_FAIL_COUNT ? names[f] : "unknown";
}

/* Maps an upgrade failure to its metric category from the stage it happened in. */
static enum p2p_handshake_failure classify_failure(const struct p2p_conn *c, int err)
{
	if (err == AA_ETIMEDOUT)
		return P2P_HS_FAIL_TIMEOUT;
	if (err == AA_ECLOSED)
		return P2P_HS_FAIL_CLOSED;
	if (err == AA_EIO)
		return P2P_HS_FAIL_IO;
	if (c->state == CONN_SECURITY || c->state == CONN_MUXER)
		return P2P_HS_FAIL_NEGOTIATION;
	if (err == AA_ECRYPTO || err == AA_ENOTSUP)
		return P2P_HS_FAIL_CRYPTO;
	return P2P_HS_FAIL_PROTOCOL;
}

const char *p2p_stream_protocol(const struct p2p_stream *st) { return st->protocol ? st->protocol : ""; }
struct p2p_conn *p2p_stream_conn(const struct p2p_stream *st) { return st->conn; }
bool p2p_stream_is_inbound(const struct p2p_stream *st) { return st->inbound; }
void p2p_stream_set_user(struct p2p_stream *st, void *user) { st->user = user; }
void *p2p_stream_user(const struct p2p_stream *st) { return st->user; }

/* ---- writing ------------------------------------------------------------------------- */

static void on_write_done(uv_write_t *req, int status)
{
	struct conn_write *w = (struct conn_write *)req;
	struct p2p_conn *c = w->conn;
	c->write_queued -= w->len;
	free(w->data);
	free(w);
	if (status < 0 && status != UV_ECANCELED) {
		conn_fail(c, AA_EIO, uv_strerror(status));
		return;
	}
	/* Room again: pull more from yamux (and let short writers continue). */
	if (c->state != CONN_CLOSING)
		schedule_flush(c);
}

/* Hands the bytes of b to the socket (b is left empty). When nothing is queued ahead, the
 * bytes are first offered to the kernel directly (uv_try_write): for small exchanges such as
 * pings that saves a trip through the loop; only what the kernel does not take is queued. */
static void write_buf(struct p2p_conn *c, struct aa_buf *b)
{
	if (b->n == 0)
		return;
	if (c->pending_closes) {
		aa_buf_reset(b); /* the socket is closing */
		return;
	}
	size_t skip = 0;
	if (c->write_queued == 0) {
		uv_buf_t direct = { .base = (char *)b->p, .len = b->n };
		int w = uv_try_write((uv_stream_t *)c->tcp, &direct, 1);
		if (w > 0) {
			c->env->bytes_out += (uint64_t)w;
			skip = (size_t)w;
		} else if (w < 0 && w != UV_EAGAIN && w != UV_ENOSYS) {
			aa_buf_reset(b);
			conn_fail(c, AA_EIO, uv_strerror(w));
			return;
		}
		if (skip == b->n) {
			aa_buf_reset(b);
			return;
		}
	}
	struct conn_write *w = aa_malloc(sizeof *w);
	w->conn = c;
	aa_buf_consume(b, skip);
	w->data = aa_buf_steal(b, &w->len);
	uv_buf_t ub = uv_buf_init((char *)w->data, (unsigned)w->len);
	c->write_queued += w->len;
	c->env->bytes_out += w->len;
	int rc = uv_write(&w->req, (uv_stream_t *)c->tcp, &ub, 1, on_write_done);
	if (rc < 0) {
		c->write_queued -= w->len;
		free(w->data);
		free(w);
		conn_fail(c, AA_EIO, uv_strerror(rc));
	}
}

/* Stream writes stop at yamux's max_output by themselves (they come up short), so output
 * beyond twice that can only be control frames the peer made us send (pong, RST, window
 * updates). Pausing reads on a merely full queue would deadlock two busy peers that each
 * wait for the other to read; pausing on this overflow only stops a peer that provokes
 * replies without reading them. */
static bool reply_overflow(const struct p2p_conn *c)
{
	return yamux_session_output_pending(c->ys) >= 2 * c->env->yamux.max_output;
}

/* Encrypts whatever the muxer layer has pending and writes it. */
static void return_seal_buf(struct p2p_conn_env *env, struct aa_buf *b)
{
	if (env->seal_buf.p)
		aa_buf_free(b);
	else
		env->seal_buf = *b;
}

static void flush_encrypted(struct p2p_conn *c)
{
	/* The env's scratch buffer: write_buf() either sends it at once and leaves it for reuse,
	 * or steals its bytes for a queued write. A callback run by output_consumed() may close a
	 * connection, which flushes again: that nested flush gets a fresh buffer, and whichever
	 * finishes second frees its own (return_seal_buf). */
	struct aa_buf out = c->env->seal_buf;
	aa_buf_init(&c->env->seal_buf);
	aa_buf_reset(&out);
	if (c->plain_out.n) {
		if (p2p_noise_session_encrypt(c->ns, c->plain_out.p, c->plain_out.n, &out) < 0)
			goto nonce;
		aa_buf_reset(&c->plain_out);
	}
	while (c->ys && c->write_queued + out.n < CONN_WRITE_HIGH_WATER &&
	       yamux_session_output_pending(c->ys) > 0) {
		struct aa_slice iov[CONN_CHUNKS_PER_WRITE];
		size_t k = yamux_session_output_iov(c->ys, iov, CONN_CHUNKS_PER_WRITE);
		if (k == 0)
			break;
		size_t total = 0;
		for (size_t i = 0; i < k; i++) {
			/* One yamux chunk is at most one Noise frame of plaintext. */
			if (p2p_noise_session_encrypt(c->ns, iov[i].p, iov[i].n, &out) < 0)
				goto nonce;
			total += iov[i].n;
		}
		write_buf(c, &out);
		if (c->pending_closes)
			break; /* the socket is closing (a write failed): nothing more goes out */
		/* May run stream callbacks (writable, closed), which may write again. */
		yamux_session_output_consumed(c->ys, total);
	}
	write_buf(c, &out);
	return_seal_buf(c->env, &out);
	/* Reading was paused while replies the peer provoked overflowed (see on_read); resume
	 * once they drained. */
	if (!c->reading && c->state == CONN_OPEN && !reply_overflow(c) &&
	    uv_read_start((uv_stream_t *)c->tcp, on_alloc, on_read) == 0)
		c->reading = true;
	return;
nonce:
	return_seal_buf(c->env, &out);
	conn_fail(c, AA_ERANGE, p2p_noise_session_error(c->ns));
}

static void conn_flush(struct p2p_conn *c)
{
	if (c->raw_out.n)
		write_buf(c, &c->raw_out);
	if (c->ns)
		flush_encrypted(c);
}

static void schedule_flush(struct p2p_conn *c)
{
	if (c->dirty)
		return;
	c->dirty = true;
	c->dirty_next = c->env->dirty_head;
	c->env->dirty_head = c;
	uv_prepare_start(&c->env->flush_prepare, flush_dirty);
}

static void flush_dirty(uv_prepare_t *h)
{
	struct p2p_conn_env *env = h->data;
	/* Flushing may dirty connections again (a writable stream writes more); keep going until
	 * the list is empty: each pass is bounded by the write high-water marks. */
	while (env->dirty_head) {
		struct p2p_conn *c = env->dirty_head;
		env->dirty_head = c->dirty_next;
		c->dirty = false;
		c->dirty_next = NULL;
		conn_flush(c);
	}
	uv_prepare_stop(&env->flush_prepare);
}

static void unlink_dirty(struct p2p_conn *c)
{
	if (!c->dirty)
		return;
	for (struct p2p_conn **pp = &c->env->dirty_head; *pp; pp = &(*pp)->dirty_next) {
		if (*pp == c) {
			*pp = c->dirty_next;
			break;
		}
	}
	c->dirty = false;
}

/* ---- closing ------------------------------------------------------------------------- */

static void conn_free(struct p2p_conn *c)
{
	if (c->ys)
		yamux_session_free(c->ys);
	p2p_noise_handshake_free(c->hs);
	p2p_noise_session_free(c->ns);
	aa_buf_free(&c->raw_out);
	aa_buf_free(&c->plain_out);
	multiaddr_free(&c->remote_addr);
	multiaddr_free(&c->local_addr);
	free(c->tcp);
	free(c);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct p2p_conn *c = h->data;
	if (--c->pending_closes > 0)
		return;
	if (c->env->events && c->env->events->on_closed)
		c->env->events->on_closed(c->env->owner, c, c->close_err);
	conn_free(c);
}

static void close_handles(struct p2p_conn *c)
{
	if (c->pending_closes)
		return;
	c->pending_closes = 2;
	uv_close((uv_handle_t *)c->tcp, on_handle_closed);
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

static void on_shutdown_done(uv_shutdown_t *req, int status)
{
	close_handles(req->data);
}

static void on_close_grace_expired(uv_timer_t *t)
{
	close_handles(t->data);
}

void p2p_conn_close(struct p2p_conn *c, int why)
{
	if (c->state == CONN_CLOSING)
		return;
	bool was_open = c->state == CONN_OPEN;
	c->state = CONN_CLOSING;
	c->close_err = why;
	uv_timer_stop(&c->timer);
	if (c->reading) {
		uv_read_stop((uv_stream_t *)c->tcp);
		c->reading = false;
	}
	if (c->ys) {
		/* Every stream ends with on_close; a Go Away is queued. */
		yamux_session_close(c->ys, why == 0 ? YAMUX_GO_AWAY_NORMAL
				   : why == AA_EPROTO ? YAMUX_GO_AWAY_PROTOCOL_ERROR
						      : YAMUX_GO_AWAY_INTERNAL_ERROR);
	}
	unlink_dirty(c);
	if (was_open && why != AA_EIO) {
		/* Best effort: send the Go Away, then shut the write side down, bounded in time. */
		if (c->ns)
			flush_encrypted(c);
		c->shutdown_req.data = c;
		if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)c->tcp, on_shutdown_done) == 0) {
			c->timer.data = c;
			uv_timer_start(&c->timer, on_close_grace_expired, CONN_CLOSE_GRACE_MS, 0);
			return;
		}
	}
	close_handles(c);
}

static void conn_fail(struct p2p_conn *c, int err, const char *why)
{
	if (c->state == CONN_CLOSING)
		return;
	if (!c->error[0])
		snprintf(c->error, sizeof c->error, "%s", why && *why ? why : aa_strerror(err));
	if (!c->established) {
		c->env->handshakes_failed++;
		c->failure = classify_failure(c, err);
	}
	char peer[P2P_PEER_ID_STRING_MAX] = "";
	if (c->established || c->outbound)
		p2p_peer_id_to_string(&c->remote_peer, peer, sizeof peer);
	aa_log(AA_LOG_DEBUG, "connection failed", "peer", peer, "dir", c->outbound ? "outbound" : "inbound",
	       "stage", c->established ? "open" : "handshake", "error", c->error, NULL);
	p2p_conn_close(c, err);
}

static void on_handshake_timeout(uv_timer_t *t)
{
	conn_fail(t->data, AA_ETIMEDOUT, "handshake timed out");
}

/* ---- streams ------------------------------------------------------------------------- */

/* Keeps bytes the handler did not take, within the connection's and the host's budgets. */
static bool stream_hold(struct p2p_stream *st, const uint8_t *p, size_t n)
{
	struct p2p_conn *c = st->conn;
	struct p2p_conn_env *env = c->env;
	if (c->buffered + n > env->conn_buffer_limit || env->buffered_total + n > env->buffer_limit) {
		env->streams_reset_buffer_limit++;
		if (c->buffered + n > env->conn_buffer_limit)
			env->streams_reset_conn_buffer++;
		aa_log(AA_LOG_WARN, "stream reset: receive buffer limit", "protocol", p2p_stream_protocol(st), NULL);
		return false;
	}
	aa_buf_append(&st->held, p, n);
	c->buffered += n;
	env->buffered_total += n;
	return true;
}

static void stream_unhold(struct p2p_stream *st, size_t n)
{
	aa_buf_consume(&st->held, n);
	st->conn->buffered -= n;
	st->conn->env->buffered_total -= n;
}

static void stream_free(struct p2p_stream *st)
{
	if (st->held.n)
		stream_unhold(st, st->held.n);
	if (st->proto_row)
		st->conn->env->proto_stats[st->proto_row - 1].open--;
	free(st->mss);
	for (size_t i = 0; i < st->nprotos; i++)
		free(st->protos[i]);
	free(st->protos);
	free(st->protocol);
	aa_buf_free(&st->held);
	aa_buf_free(&st->unsent);
	free(st);
}

static void stream_fail(struct p2p_stream *st, int err)
{
	if (st->state == STREAM_DONE)
		return;
	st->err = err;
	st->state = STREAM_DONE;
	yamux_stream_reset(st->ys);
	schedule_flush(st->conn);
}

/* Offers bytes to the handler; keeps what it does not take. */
static void stream_deliver(struct p2p_stream *st, const uint8_t *p, size_t n)
{
	if (n == 0)
		return;
	if (st->paused || st->held.n) {
		if (!stream_hold(st, p, n))
			stream_fail(st, AA_ENOMEM);
		return;
	}
	size_t k = st->h->on_data(st, p, n);
	if (k > n)
		k = n;
	if (st->state == STREAM_DONE)
		return;
	yamux_stream_consumed(st->ys, k);
	if (k < n) {
		if (!stream_hold(st, p + k, n - k)) {
			stream_fail(st, AA_ENOMEM);
			return;
		}
		st->paused = true;
	}
}

void p2p_stream_resume(struct p2p_stream *st)
{
	if (st->state != STREAM_OPEN)
		return;
	st->paused = false;
	if (st->delivering)
		return;
	st->delivering = true;
	while (st->held.n && !st->paused && st->state == STREAM_OPEN) {
		size_t n = st->held.n;
		size_t k = st->h->on_data(st, st->held.p, n);
		if (k > n)
			k = n;
		if (st->state != STREAM_OPEN)
			break;
		yamux_stream_consumed(st->ys, k);
		stream_unhold(st, k);
		if (k < n)
			st->paused = true;
	}
	st->delivering = false;
	if (st->state == STREAM_OPEN && st->fin_pending && st->held.n == 0) {
		st->fin_pending = false;
		if (st->h->on_fin)
			st->h->on_fin(st);
	}
	schedule_flush(st->conn);
}

static bool stream_proto_supported(void *user, const char *proto, size_t len)
{
	struct p2p_stream *st = user;
	struct p2p_conn *c = st->conn;
	void *hu = NULL;
	const struct p2p_stream_handler *h = NULL;
	if (c->env->events && c->env->events->find_handler)
		h = c->env->events->find_handler(c->env->owner, proto, len, &hu);
	if (!h)
		return false;
	st->h = h;
	st->user = hu;
	return true;
}

/* The metrics row of a protocol ID: found, added, or the shared "other" row once the table
 * is full. */
static size_t proto_stats_row(struct p2p_conn_env *env, const char *proto)
{
	char name[P2P_PROTO_NAME_MAX];
	snprintf(name, sizeof name, "%s", proto);
	size_t n = env->n_proto_stats;
	for (size_t i = 0; i < n; i++)
		if (strcmp(env->proto_stats[i].protocol, name) == 0)
			return i;
	if (n < P2P_PROTO_STATS_MAX) {
		memcpy(env->proto_stats[n].protocol, name, sizeof name);
		env->n_proto_stats++;
		return n;
	}
	if (n == P2P_PROTO_STATS_MAX) {
		snprintf(env->proto_stats[n].protocol, P2P_PROTO_NAME_MAX, "other");
		env->n_proto_stats++;
	}
	return P2P_PROTO_STATS_MAX;
}

static void stream_negotiated(struct p2p_stream *st)
{
	st->protocol = aa_strdup(mss_selected(st->mss));
	size_t row = proto_stats_row(st->conn->env, st->protocol);
	st->conn->env->proto_stats[row].opened++;
	st->conn->env->proto_stats[row].open++;
	st->proto_row = row + 1;
	free(st->mss);
	st->mss = NULL;
	st->state = STREAM_OPEN;
	if (st->h->on_open)
		st->h->on_open(st);
}

static void stream_input(struct p2p_stream *st, const uint8_t *p, size_t n)
{
	if (st->state == STREAM_DONE)
		return;
	if (st->state == STREAM_NEGOTIATING) {
		size_t used = 0;
		int rc = mss_receive(st->mss, p, n, &used);
		yamux_stream_consumed(st->ys, used);
		stream_flush_mss(st);
		if (rc < 0) {
			stream_fail(st, rc == AA_ENOTSUP ? AA_ENOTSUP : AA_EPROTO);
			return;
		}
		if (rc == MSS_AGAIN) {
			if (used < n) /* the reply buffer is full: the window holds the rest back */
				stream_fail(st, AA_EPROTO);
			return;
		}
		stream_negotiated(st);
		p += used;
		n -= used;
	}
	if (st->state == STREAM_OPEN)
		stream_deliver(st, p, n);
}

/* Writes the unsent negotiation bytes; true when none are left. */
static bool stream_flush_unsent(struct p2p_stream *st)
{
	if (st->unsent.n == 0)
		return true;
	ssize_t w = yamux_stream_write(st->ys, st->unsent.p, st->unsent.n);
	if (w > 0) {
		aa_buf_consume(&st->unsent, (size_t)w);
		schedule_flush(st->conn);
	}
	return st->unsent.n == 0;
}

/* Moves the negotiation's output to yamux, keeping what does not fit in `unsent` (a short
 * yamux write promises on_stream_writable, which flushes it). */
static void stream_flush_mss(struct p2p_stream *st)
{
	if (!st->mss)
		return;
	struct aa_slice out;
	mss_output(st->mss, &out);
	if (out.n == 0)
		return;
	aa_buf_append(&st->unsent, out.p, out.n);
	mss_output_consumed(st->mss, out.n);
	stream_flush_unsent(st);
}

ssize_t p2p_stream_write(struct p2p_stream *st, const void *p, size_t n)
{
	if (st->state == STREAM_DONE)
		return AA_ECLOSED;
	if (st->state == STREAM_NEGOTIATING && !mss_can_send_app(st->mss))
		return 0; /* on_open follows */
	if (!stream_flush_unsent(st))
		return 0; /* on_writable follows */
	ssize_t w = yamux_stream_write(st->ys, p, n);
	if (w < 0)
		return AA_ECLOSED;
	if (w > 0)
		schedule_flush(st->conn);
	return w;
}

int p2p_stream_close_write(struct p2p_stream *st)
{
	if (st->state == STREAM_DONE)
		return AA_ECLOSED;
	int rc = yamux_stream_close(st->ys);
	schedule_flush(st->conn);
	return rc < 0 ? AA_ECLOSED : 0;
}

void p2p_stream_reset(struct p2p_stream *st)
{
	stream_fail(st, AA_ECLOSED);
}

/* yamux callbacks: the session's user pointer is the connection. */

/* Every stream may be sent up to its receive window before the handler takes anything:
 * admit a new one only while all windows together (initial ones plus what auto-tuning may
 * add) fit the connection's buffer budget. A peer that respects its windows then never hits
 * the hold limit in stream_hold(). */
static bool conn_admits_stream(const struct p2p_conn *c)
{
	uint64_t need = (uint64_t)(c->streams + 1) * c->env->yamux.initial_window + c->env->yamux.growth_budget;
	return need <= c->env->conn_buffer_limit;
}

static void ys_on_stream_open(void *user, struct yamux_stream *ys)
{
	struct p2p_conn *c = user;
	if (!conn_admits_stream(c)) {
		c->env->streams_refused_budget++;
		c->refused_streams++;
		yamux_stream_reset(ys);
		schedule_flush(c);
		return;
	}
	struct p2p_stream *st = aa_calloc(1, sizeof *st);
	st->conn = c;
	st->ys = ys;
	st->inbound = true;
	st->state = STREAM_NEGOTIATING;
	aa_buf_init(&st->held);
	aa_buf_init(&st->unsent);
	st->mss = aa_malloc(sizeof *st->mss);
	mss_responder_init(st->mss, stream_proto_supported, c->env->protocols, c->env->protocol_count, st);
	yamux_stream_set_user(ys, st);
	yamux_stream_accept(ys);
	c->streams++;
	schedule_flush(c);
}

static void ys_on_stream_data(void *user, struct yamux_stream *ys, const uint8_t *p, size_t n)
{
	struct p2p_stream *st = yamux_stream_user(ys);
	if (st)
		stream_input(st, p, n);
}

static void ys_on_stream_fin(void *user, struct yamux_stream *ys)
{
	struct p2p_stream *st = yamux_stream_user(ys);
	if (!st || st->state == STREAM_DONE)
		return;
	if (st->state == STREAM_NEGOTIATING) {
		stream_fail(st, AA_EPROTO);
		return;
	}
	if (st->held.n) {
		st->fin_pending = true;
		return;
	}
	if (st->h->on_fin)
		st->h->on_fin(st);
}

static void ys_on_stream_reset(void *user, struct yamux_stream *ys)
{
	struct p2p_stream *st = yamux_stream_user(ys);
	if (st && st->err == 0)
		st->err = AA_ECLOSED;
}

static void ys_on_stream_writable(void *user, struct yamux_stream *ys)
{
	struct p2p_stream *st = yamux_stream_user(ys);
	if (!st || !stream_flush_unsent(st))
		return;
	bool writable = st->state == STREAM_OPEN ||
			(st->state == STREAM_NEGOTIATING && !st->inbound && mss_can_send_app(st->mss));
	if (writable && st->h->on_writable)
		st->h->on_writable(st);
}

static void ys_on_stream_closed(void *user, struct yamux_stream *ys)
{
	struct p2p_conn *c = user;
	struct p2p_stream *st = yamux_stream_user(ys);
	if (!st)
		return;
	yamux_stream_set_user(ys, NULL);
	c->streams--;
	/* Outbound streams have their handler from the start; inbound ones once negotiated. */
	if (st->h && (st->state == STREAM_OPEN || !st->inbound || st->err)) {
		if (st->h->on_close && (st->inbound ? st->protocol != NULL : true))
			st->h->on_close(st, st->err);
	}
	stream_free(st);
}

static void ys_on_ping_rtt(void *user, uint64_t rtt_ns) { (void)user; (void)rtt_ns; }

static const struct yamux_callbacks conn_yamux_callbacks = {
	.on_stream_open = ys_on_stream_open,
	.on_stream_data = ys_on_stream_data,
	.on_stream_fin = ys_on_stream_fin,
	.on_stream_reset = ys_on_stream_reset,
	.on_stream_writable = ys_on_stream_writable,
	.on_stream_closed = ys_on_stream_closed,
	.on_ping_rtt = ys_on_ping_rtt,
};

int p2p_conn_open_stream(struct p2p_conn *c, const char *const *protos, size_t n,
			 const struct p2p_stream_handler *h, void *user, struct p2p_stream **out)
{
	if (c->state != CONN_OPEN || n == 0)
		return c->state != CONN_OPEN ? AA_ECLOSED : AA_EINVAL;
	if (!conn_admits_stream(c)) {
		c->env->streams_refused_budget++;
		return AA_ENOMEM;
	}
	struct yamux_stream *ys;
	int rc = yamux_stream_open(c->ys, &ys);
	if (rc < 0)
		return rc;
	struct p2p_stream *st = aa_calloc(1, sizeof *st);
	st->conn = c;
	st->ys = ys;
	st->state = STREAM_NEGOTIATING;
	st->h = h;
	st->user = user;
	aa_buf_init(&st->held);
	aa_buf_init(&st->unsent);
	st->protos = aa_malloc(n * sizeof *st->protos);
	for (size_t i = 0; i < n; i++)
		st->protos[i] = aa_strdup(protos[i]);
	st->nprotos = n;
	st->mss = aa_malloc(sizeof *st->mss);
	mss_initiator_init(st->mss, (const char *const *)st->protos, n, n == 1);
	yamux_stream_set_user(ys, st);
	c->streams++;
	stream_flush_mss(st);
	*out = st;
	return 0;
}

/* ---- the upgrade ----------------------------------------------------------------------- */

static void start_yamux(struct p2p_conn *c)
{
	struct yamux_config ycfg = c->env->yamux;
	ycfg.is_client = c->outbound;
	int rc = yamux_session_new(&c->ys, &ycfg, &conn_yamux_callbacks, c, aa_clock_mono_ns());
	if (rc < 0) {
		conn_fail(c, rc, "yamux session setup failed");
		return;
	}
	c->state = CONN_OPEN;
	c->established = true;
	c->env->handshakes_ok++;
	uv_timer_stop(&c->timer);
	schedule_flush(c);
	if (c->env->events && c->env->events->on_established)
		c->env->events->on_established(c->env->owner, c);
}

/* Feeds p[0..n) to a connection-level negotiation and moves its replies to `out` as they come.
 * mss stops taking input while its reply buffer is full (mss.h, "Driving it", step 3), so
 * drain and feed again until it has taken everything, agreed or failed; otherwise the rest of
 * a pipelined read would be dropped and the connection would hang until the handshake
 * timeout. `out` stays small: mss fails after MSS_MAX_REJECTS refusals. */
static int conn_mss_feed(struct mss *m, const uint8_t *p, size_t n, size_t *used, struct aa_buf *out)
{
	*used = 0;
	for (;;) {
		size_t k = 0;
		int rc = mss_receive(m, p + *used, n - *used, &k);
		*used += k;
		struct aa_slice o;
		mss_output(m, &o);
		aa_buf_append(out, o.p, o.n);
		mss_output_consumed(m, o.n);
		if (rc != MSS_AGAIN || *used == n || (k == 0 && o.n == 0))
			return rc;
	}
}

static bool only_yamux(void *user, const char *proto, size_t len)
{
	return len == strlen(YAMUX_PROTOCOL_ID) && memcmp(proto, YAMUX_PROTOCOL_ID, len) == 0;
}

static void noise_done(struct p2p_conn *c)
{
	c->remote_peer = *p2p_noise_handshake_remote_peer_id(c->hs);
	memcpy(c->remote_pubkey, p2p_noise_handshake_remote_public_key(c->hs), sizeof c->remote_pubkey);
	/* The muxer string belongs to the handshake: decide before freeing it. */
	const char *muxer = p2p_noise_handshake_muxer(c->hs);
	bool early_yamux = muxer && strcmp(muxer, YAMUX_PROTOCOL_ID) == 0;
	aa_log(AA_LOG_DEBUG, "noise handshake done", "dir", c->outbound ? "outbound" : "inbound",
	       "muxer", muxer ? muxer : "(multistream)", NULL);
	p2p_noise_handshake_take_session(c->hs, &c->ns);
	p2p_noise_handshake_free(c->hs);
	c->hs = NULL;
	if (early_yamux) {
		start_yamux(c);
		return;
	}
	/* No early muxer agreement: multistream-select inside the secure channel. */
	c->state = CONN_MUXER;
	if (c->outbound) {
		mss_initiator_init(&c->mss, yamux_protos, 1, false);
	} else {
		mss_responder_init(&c->mss, only_yamux, yamux_protos, 1, NULL);
	}
	struct aa_slice out;
	mss_output(&c->mss, &out);
	aa_buf_append(&c->plain_out, out.p, out.n);
	mss_output_consumed(&c->mss, out.n);
}

static bool only_noise(void *user, const char *proto, size_t len)
{
	return len == strlen(P2P_NOISE_PROTOCOL_ID) && memcmp(proto, P2P_NOISE_PROTOCOL_ID, len) == 0;
}

static void start_noise(struct p2p_conn *c)
{
	static const char *const muxers[] = { YAMUX_PROTOCOL_ID };
	struct p2p_noise_config ncfg = {
		.initiator = c->outbound,
		.identity = c->env->identity,
		.expected_peer = c->outbound ? &c->remote_peer : NULL,
		.muxers = muxers,
		.muxer_count = 1,
	};
	char why[160];
	int rc = p2p_noise_handshake_new(&ncfg, &c->hs, why, sizeof why);
	if (rc < 0) {
		conn_fail(c, rc, why);
		return;
	}
	c->state = CONN_NOISE;
	p2p_noise_handshake_take_output(c->hs, &c->raw_out);
}

/* Plaintext from inside Noise: muxer negotiation, then yamux. */
static void input_plaintext(struct p2p_conn *c, const uint8_t *p, size_t n)
{
	if (c->state == CONN_MUXER) {
		size_t used = 0;
		int rc = conn_mss_feed(&c->mss, p, n, &used, &c->plain_out);
		if (rc < 0) {
			conn_fail(c, AA_EPROTO, "muxer negotiation failed");
			return;
		}
		if (rc == MSS_AGAIN)
			return;
		start_yamux(c);
		p += used;
		n -= used;
		if (c->state != CONN_OPEN || n == 0)
			return;
	}
	if (c->state != CONN_OPEN)
		return;
	int rc = yamux_session_receive(c->ys, p, n, aa_clock_mono_ns());
	if (rc < 0) {
		conn_fail(c, rc, yamux_session_error(c->ys));
		return;
	}
	/* yamux answers SYNs beyond max_streams with RST (libp2p yamux spec, "ACK backlog"); a
	 * peer that keeps opening streams regardless is flooding us, not pipelining. */
	uint64_t refused = yamux_session_streams_refused(c->ys);
	c->env->streams_refused_yamux += refused - c->yamux_refused_seen;
	c->yamux_refused_seen = refused;
	if (refused + c->refused_streams > CONN_MAX_REFUSED_STREAMS)
		conn_fail(c, AA_EPROTO, "peer keeps opening streams beyond the limit");
}

static void input_transport(struct p2p_conn *c, uint8_t *p, size_t n)
{
	while (n > 0 && (c->state == CONN_MUXER || c->state == CONN_OPEN)) {
		size_t used = 0;
		struct aa_slice plain;
		int rc = p2p_noise_session_read(c->ns, p, n, &used, &plain);
		if (rc < 0) {
			conn_fail(c, rc, p2p_noise_session_error(c->ns));
			return;
		}
		p += used;
		n -= used;
		if (plain.n)
			input_plaintext(c, plain.p, plain.n);
	}
}

static void input_raw(struct p2p_conn *c, uint8_t *p, size_t n)
{
	if (c->state == CONN_SECURITY) {
		size_t used = 0;
		int rc = conn_mss_feed(&c->mss, p, n, &used, &c->raw_out);
		if (rc < 0) {
			conn_fail(c, AA_EPROTO, "security negotiation failed");
			return;
		}
		if (rc == MSS_AGAIN)
			return;
		start_noise(c);
		p += used;
		n -= used;
	}
	if (c->state == CONN_NOISE && n > 0) {
		size_t used = 0;
		int rc = p2p_noise_handshake_feed(c->hs, p, n, &used);
		p2p_noise_handshake_take_output(c->hs, &c->raw_out);
		if (rc < 0) {
			conn_fail(c, rc, p2p_noise_handshake_error(c->hs));
			return;
		}
		if (!p2p_noise_handshake_is_done(c->hs))
			return;
		noise_done(c);
		p += used;
		n -= used;
	}
	if (n > 0)
		input_transport(c, p, n);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct p2p_conn *c = h->data;
	*buf = (uv_buf_t){ .base = (char *)c->env->read_buf, .len = c->env->read_buf_len };
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct p2p_conn *c = s->data;
	if (nread < 0) {
		conn_fail(c, nread == UV_EOF ? AA_ECLOSED : AA_EIO,
			  nread == UV_EOF ? "closed by peer" : uv_strerror((int)nread));
		return;
	}
	if (nread == 0 || c->state == CONN_CLOSING)
		return;
	c->env->bytes_in += (uint64_t)nread;
	if (c->state == CONN_SECURITY || c->state == CONN_NOISE)
		input_raw(c, (uint8_t *)buf->base, (size_t)nread);
	else
		input_transport(c, (uint8_t *)buf->base, (size_t)nread);
	if (c->state == CONN_CLOSING)
		return;
	/* A peer that provokes replies (pings, window updates, resets) faster than it reads them
	 * would grow our output without bound: stop reading until the output drains. */
	if (c->ys && reply_overflow(c)) {
		uv_read_stop((uv_stream_t *)c->tcp);
		c->reading = false;
	}
	schedule_flush(c);
}

int p2p_conn_start(struct p2p_conn_env *env, uv_tcp_t *tcp, bool outbound,
		   const struct p2p_peer_id *expected, const struct multiaddr *remote_addr,
		   const struct multiaddr *local_addr, struct p2p_conn **out)
{
	struct p2p_conn *c = aa_calloc(1, sizeof *c);
	c->env = env;
	c->tcp = tcp;
	c->outbound = outbound;
	tcp->data = c;
	aa_buf_init(&c->raw_out);
	aa_buf_init(&c->plain_out);
	if (expected)
		c->remote_peer = *expected;
	if (remote_addr)
		multiaddr_copy(remote_addr, &c->remote_addr);
	if (local_addr)
		multiaddr_copy(local_addr, &c->local_addr);
	uv_timer_init(env->loop, &c->timer);
	c->timer.data = c;
	uv_tcp_nodelay(tcp, 1);
	if (outbound)
		mss_initiator_init(&c->mss, noise_protos, 1, false);
	else
		mss_responder_init(&c->mss, only_noise, noise_protos, 1, NULL);
	c->state = CONN_SECURITY;
	struct aa_slice first;
	mss_output(&c->mss, &first);
	aa_buf_append(&c->raw_out, first.p, first.n);
	mss_output_consumed(&c->mss, first.n);

	uint64_t ms = env->handshake_timeout_ns / 1000000;
	uv_timer_start(&c->timer, on_handshake_timeout, ms ? ms : 1, 0);
	int rc = uv_read_start((uv_stream_t *)tcp, on_alloc, on_read);
	if (rc < 0) {
		conn_fail(c, AA_EIO, uv_strerror(rc));
		return AA_EIO;
	}
	c->reading = true;
	schedule_flush(c);
	*out = c;
	return 0;
}
