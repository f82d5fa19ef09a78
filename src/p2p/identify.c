/* identify: request/response and push on top of identify_msg (the message codec). Each
 * stream gets a small state struct: a reader for what arrives, a buffer for what we still
 * have to send. */
#include "p2p/identify.h"

#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "p2p/identify_msg.h"

struct p2p_identify {
	struct p2p_host *host;
	char *agent_version;
	struct p2p_host_notifiee notifiee;
	p2p_identify_cb cb;
	void *cb_user;
	struct multiaddr observed;
	uint64_t record_seq;
	struct identify_limits limits;
};

struct id_stream {
	struct p2p_identify *idf;
	bool push;          /* inbound push, or outbound push we send */
	bool reading;       /* we expect an identify message on this stream */
	struct identify_reader reader;
	struct aa_buf out;  /* bytes still to write */
	bool close_after_write;
};

/* ---- building our message -------------------------------------------------------------- */

static void build_message(struct p2p_identify *idf, const struct p2p_conn *c, struct aa_buf *out)
{
	struct multiaddr *addrs;
	size_t naddrs;
	p2p_host_listen_addrs(idf->host, &addrs, &naddrs);
	size_t nprotos;
	const char *const *protos = p2p_host_protocols(idf->host, &nprotos);
	/* RFC 0003: a newer record must have a larger seq; wall-clock nanoseconds as go does,
	 * forced to grow even if the clock steps back. */
	uint64_t seq = (uint64_t)aa_clock_wall_ms() * 1000000u;
	idf->record_seq = seq > idf->record_seq ? seq : idf->record_seq + 1;
	struct identify_announce a = {
		.protocol_version = IDENTIFY_PROTOCOL_VERSION,
		.agent_version = idf->agent_version,
		.key = p2p_host_identity(idf->host),
		.signed_record = true,
		.record_seq = idf->record_seq,
		.listen_addrs = addrs,
		.n_listen_addrs = naddrs,
		.observed_addr = c && p2p_conn_remote_addr(c)->len ? p2p_conn_remote_addr(c) : NULL,
		.protocols = protos,
		.n_protocols = nprotos,
	};
	identify_msg_write(&a, out, NULL);
	for (size_t i = 0; i < naddrs; i++)
		multiaddr_free(&addrs[i]);
	free(addrs);
}

/* ---- applying a peer's message --------------------------------------------------------- */

static void apply_info(struct p2p_identify *idf, struct p2p_conn *c, struct identify_info *info, bool push)
{
	const struct p2p_peer_id *peer = p2p_conn_remote_peer(c);
	char peer_text[P2P_PEER_ID_STRING_MAX];
	p2p_peer_id_to_string(peer, peer_text, sizeof peer_text);
	/* The key in the message must be the one the connection authenticated. */
	if (info->public_key && !p2p_peer_id_equal(&info->peer_id, peer)) {
		aa_log(AA_LOG_WARN, "identify: public key does not match the peer", "peer", peer_text, NULL);
		return;
	}
	struct peerstore *ps = p2p_host_peerstore(idf->host);
	uint64_t now = aa_clock_mono_ns();
	if (info->has_protocols)
		peerstore_set_protocols(ps, peer, (const char *const *)info->protocols, info->n_protocols);
	if (info->agent_version)
		peerstore_set_agent_version(ps, peer, info->agent_version);
	if (info->protocol_version)
		peerstore_set_protocol_version(ps, peer, info->protocol_version);
	/* Prefer the signed record's addresses (RFC 0003) when it verified and is new. */
	if (identify_info_has_verified_record(info) &&
	    peerstore_accept_record_seq(ps, peer, info->record.seq) == 0) {
		peerstore_clear_addrs(ps, peer);
		peerstore_add_addrs(ps, peer, info->record.addrs, info->record.n_addrs,
				    PEERSTORE_TTL_PERMANENT, now);
	} else if (info->has_listen_addrs) {
		peerstore_add_addrs(ps, peer, info->listen_addrs, info->n_listen_addrs,
				    PEERSTORE_TTL_PERMANENT, now);
	}
	if (info->has_observed_addr) {
		multiaddr_free(&idf->observed);
		multiaddr_copy(&info->observed_addr, &idf->observed);
	}
	aa_log(AA_LOG_DEBUG, push ? "identify push received" : "peer identified", "peer", peer_text,
	       "agent", info->agent_version ? info->agent_version : "", NULL);
	if (idf->cb)
		idf->cb(idf->cb_user, c, push);
}

/* ---- stream plumbing ------------------------------------------------------------------- */

static void id_flush(struct p2p_stream *st)
{
	struct id_stream *s = p2p_stream_user(st);
	while (s->out.n) {
		ssize_t w = p2p_stream_write(st, s->out.p, s->out.n);
		if (w <= 0)
			return; /* on_writable */
		aa_buf_consume(&s->out, (size_t)w);
	}
	if (s->close_after_write) {
		s->close_after_write = false;
		p2p_stream_close_write(st);
	}
}

static size_t id_on_data(struct p2p_stream *st, const uint8_t *p, size_t n)
{
	struct id_stream *s = p2p_stream_user(st);
	if (!s->reading)
		return n; /* nothing is expected here: discard */
	size_t off = 0;
	while (off < n) {
		size_t used = 0;
		struct aa_slice frame;
		int rc = identify_reader_feed(&s->reader, p + off, n - off, &used, &frame);
		if (rc < 0) {
			aa_log(AA_LOG_DEBUG, "identify: bad message", "error", aa_strerror(rc), NULL);
			p2p_stream_reset(st);
			return n;
		}
		off += used;
		if (used == 0)
			break;
	}
	return n;
}

static void id_on_fin(struct p2p_stream *st)
{
	struct id_stream *s = p2p_stream_user(st);
	if (s->reading) {
		s->reading = false;
		struct aa_slice msg;
		struct identify_info info;
		identify_info_init(&info);
		char why[128] = "";
		if (identify_reader_finish(&s->reader, &msg) == 0 &&
		    identify_msg_decode(msg.p, msg.n, &s->idf->limits, &info, why, sizeof why) == 0)
			apply_info(s->idf, p2p_stream_conn(st), &info, s->push);
		else
			aa_log(AA_LOG_DEBUG, "identify: undecodable message", "error", why, NULL);
		identify_info_free(&info);
	}
	/* Requests we answered, and pushes we received, end with our FIN too. */
	if (!s->out.n && !s->close_after_write)
		p2p_stream_close_write(st);
}

static void id_on_close(struct p2p_stream *st, int err)
{
	struct id_stream *s = p2p_stream_user(st);
	identify_reader_free(&s->reader);
	aa_buf_free(&s->out);
	free(s);
}

static struct id_stream *id_stream_new(struct p2p_identify *idf, bool push, bool reading)
{
	struct id_stream *s = aa_calloc(1, sizeof *s);
	s->idf = idf;
	s->push = push;
	s->reading = reading;
	identify_reader_init(&s->reader, &idf->limits);
	aa_buf_init(&s->out);
	return s;
}

/* Inbound /ipfs/id/1.0.0: answer with our message, then close. */
static void serve_on_open(struct p2p_stream *st)
{
	struct p2p_identify *idf = p2p_stream_user(st);
	struct id_stream *s = id_stream_new(idf, false, false);
	p2p_stream_set_user(st, s);
	build_message(idf, p2p_stream_conn(st), &s->out);
	s->close_after_write = true;
	id_flush(st);
}

/* Inbound /ipfs/id/push/1.0.0: read the message until FIN. */
static void push_on_open(struct p2p_stream *st)
{
	struct p2p_identify *idf = p2p_stream_user(st);
	p2p_stream_set_user(st, id_stream_new(idf, true, true));
}

static const struct p2p_stream_handler serve_handler = {
	.on_open = serve_on_open, .on_data = id_on_data, .on_fin = id_on_fin,
	.on_writable = id_flush, .on_close = id_on_close,
};
static const struct p2p_stream_handler push_handler = {
	.on_open = push_on_open, .on_data = id_on_data, .on_fin = id_on_fin,
	.on_writable = id_flush, .on_close = id_on_close,
};
/* Outbound streams carry their id_stream from the start. */
static const struct p2p_stream_handler outbound_handler = {
	.on_data = id_on_data, .on_fin = id_on_fin, .on_writable = id_flush, .on_close = id_on_close,
};

/* ---- outbound: identify each new connection, push on changes -------------------------- */

static void identify_conn(struct p2p_identify *idf, struct p2p_conn *c)
{
	static const char *const protos[] = { IDENTIFY_PROTOCOL_ID };
	struct id_stream *s = id_stream_new(idf, false, true);
	struct p2p_stream *st;
	if (p2p_conn_open_stream(c, protos, 1, &outbound_handler, s, &st) < 0) {
		identify_reader_free(&s->reader);
		free(s);
		return;
	}
	/* A request carries no data: our FIN asks for the answer. */
	p2p_stream_close_write(st);
}

static void push_conn(struct p2p_identify *idf, struct p2p_conn *c)
{
	static const char *const protos[] = { IDENTIFY_PUSH_PROTOCOL_ID };
	struct id_stream *s = id_stream_new(idf, true, false);
	build_message(idf, c, &s->out);
	s->close_after_write = true;
	struct p2p_stream *st;
	if (p2p_conn_open_stream(c, protos, 1, &outbound_handler, s, &st) < 0) {
		identify_reader_free(&s->reader);
		aa_buf_free(&s->out);
		free(s);
		return;
	}
	id_flush(st);
}

static void on_connected(void *user, struct p2p_conn *c)
{
	identify_conn(user, c);
}


static void on_local_addrs_changed(void *user)
{
	p2p_identify_push_all(user);
}

void p2p_identify_push_all(struct p2p_identify *idf)
{
	struct peerstore *ps = p2p_host_peerstore(idf->host);
	size_t n = peerstore_peer_count(ps);
	if (n == 0)
		return;
	struct p2p_peer_id *peers = aa_calloc(n, sizeof *peers);
	n = peerstore_list_peers(ps, peers, n);
	for (size_t i = 0; i < n; i++) {
		struct p2p_conn *c = p2p_host_conn_to(idf->host, &peers[i]);
		if (c)
			push_conn(idf, c);
	}
	free(peers);
}

int p2p_identify_new(struct p2p_host *h, const char *agent_version, struct p2p_identify **out)
{
	struct p2p_identify *idf = aa_calloc(1, sizeof *idf);
	idf->host = h;
	idf->agent_version = aa_strdup(agent_version);
	identify_limits_default(&idf->limits);
	idf->notifiee = (struct p2p_host_notifiee){
		.on_connected = on_connected,
		.on_local_addrs_changed = on_local_addrs_changed,
		.user = idf,
	};
	p2p_host_set_handler(h, IDENTIFY_PROTOCOL_ID, &serve_handler, idf);
	p2p_host_set_handler(h, IDENTIFY_PUSH_PROTOCOL_ID, &push_handler, idf);
	p2p_host_subscribe(h, &idf->notifiee);
	*out = idf;
	return 0;
}

void p2p_identify_free(struct p2p_identify *idf)
{
	if (!idf)
		return;
	p2p_host_unsubscribe(idf->host, &idf->notifiee);
	p2p_host_remove_handler(idf->host, IDENTIFY_PROTOCOL_ID);
	p2p_host_remove_handler(idf->host, IDENTIFY_PUSH_PROTOCOL_ID);
	multiaddr_free(&idf->observed);
	free(idf->agent_version);
	free(idf);
}

void p2p_identify_set_callback(struct p2p_identify *idf, p2p_identify_cb cb, void *user)
{
	idf->cb = cb;
	idf->cb_user = user;
}

const struct multiaddr *p2p_identify_observed_addr(const struct p2p_identify *idf)
{
	return idf->observed.len ? &idf->observed : NULL;
}
