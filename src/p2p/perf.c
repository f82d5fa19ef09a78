/* perf: server and client of /perf/1.0.0 (libp2p/specs perf/perf.md, "Protocol"). Both sides
 * write from one static zero buffer until p2p_stream_write() comes up short, then wait for
 * on_writable: the yamux window and the connection's write queue bound what is in flight. */
#include "p2p/perf.h"

#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/mem.h"

#define PERF_HEADER_LEN 8
/* One write offers this much; yamux cuts it into frames and takes what fits. */
#define PERF_CHUNK (256u * 1024)

static const uint8_t perf_zeros[PERF_CHUNK];

/* Writes up to *remaining zero bytes; returns true when all are queued, false when the stream
 * is full (on_writable follows) or closed (on_close follows). */
static bool perf_send_zeros(struct p2p_stream *st, uint64_t *remaining)
{
	while (*remaining > 0) {
		size_t n = *remaining < PERF_CHUNK ? (size_t)*remaining : PERF_CHUNK;
		ssize_t w = p2p_stream_write(st, perf_zeros, n);
		if (w <= 0)
			return false;
		*remaining -= (uint64_t)w;
	}
	return true;
}

/* ---- server ------------------------------------------------------------------------------ */

enum perf_server_state { PERF_SRV_HEADER, PERF_SRV_DRAIN, PERF_SRV_SEND, PERF_SRV_DONE };

struct perf_server {
	enum perf_server_state state;
	uint8_t header[PERF_HEADER_LEN];
	size_t header_len;
	uint64_t to_send;
};

static struct perf_server *server_of(struct p2p_stream *st)
{
	struct perf_server *ps = p2p_stream_user(st);
	if (!ps) {
		/* Handlers are registered with a NULL user: the state is per stream. */
		ps = aa_calloc(1, sizeof *ps);
		p2p_stream_set_user(st, ps);
	}
	return ps;
}

static void server_open(struct p2p_stream *st)
{
	server_of(st);
}

static size_t server_data(struct p2p_stream *st, const uint8_t *p, size_t n)
{
	struct perf_server *ps = server_of(st);
	if (ps->state == PERF_SRV_HEADER) {
		size_t take = PERF_HEADER_LEN - ps->header_len;
		if (take > n)
			take = n;
		memcpy(ps->header + ps->header_len, p, take);
		ps->header_len += take;
		if (ps->header_len == PERF_HEADER_LEN) {
			uint64_t v = 0;
			for (size_t i = 0; i < PERF_HEADER_LEN; i++)
				v = v << 8 | ps->header[i];
			ps->to_send = v;
			ps->state = PERF_SRV_DRAIN;
		}
	}
	/* Upload bytes (and anything after the header) are discarded: taking them all keeps the
	 * window open. Nothing can follow the client's FIN, so SEND never sees data. */
	return n;
}

static void server_pump(struct p2p_stream *st)
{
	struct perf_server *ps = server_of(st);
	if (ps->state != PERF_SRV_SEND)
		return;
	if (!perf_send_zeros(st, &ps->to_send))
		return;
	ps->state = PERF_SRV_DONE;
	p2p_stream_close_write(st);
}

static void server_fin(struct p2p_stream *st)
{
	struct perf_server *ps = server_of(st);
	if (ps->state != PERF_SRV_DRAIN) {
		/* perf.md, Server step 1: the stream must start with the 8-byte size. */
		ps->state = PERF_SRV_DONE;
		p2p_stream_reset(st);
		return;
	}
	/* perf.md, Server step 3: send only once the upload has ended. */
	ps->state = PERF_SRV_SEND;
	server_pump(st);
}

static void server_close(struct p2p_stream *st, int err)
{
	free(p2p_stream_user(st));
	p2p_stream_set_user(st, NULL);
}

static const struct p2p_stream_handler perf_server_handler = {
	.on_open = server_open,
	.on_data = server_data,
	.on_fin = server_fin,
	.on_writable = server_pump,
	.on_close = server_close,
};

int p2p_perf_serve(struct p2p_host *h)
{
	return p2p_host_set_handler(h, P2P_PERF_PROTOCOL_ID, &perf_server_handler, NULL);
}

/* ---- client ------------------------------------------------------------------------------ */

struct perf_client {
	p2p_perf_cb cb;
	void *user;
	uint8_t header[PERF_HEADER_LEN];
	size_t header_sent;
	uint64_t upload_left;
	uint64_t download_wanted;
	bool confirmed; /* the server accepted /perf/1.0.0 */
	bool fin_sent;
	bool got_fin;
	bool finished;
	uint64_t start_ns, upload_done_ns, end_ns;
	struct p2p_perf_result r;
};

static void client_pump(struct p2p_stream *st)
{
	struct perf_client *pc = p2p_stream_user(st);
	if (pc->fin_sent || pc->finished)
		return;
	while (pc->header_sent < PERF_HEADER_LEN) {
		ssize_t w = p2p_stream_write(st, pc->header + pc->header_sent,
					     PERF_HEADER_LEN - pc->header_sent);
		if (w <= 0)
			return;
		pc->header_sent += (size_t)w;
	}
	if (!perf_send_zeros(st, &pc->upload_left))
		return;
	/* Data goes out before the server confirms the protocol (pipelined negotiation), but the
	 * FIN waits for that confirmation: js-libp2p 3.x drops a stream whose FIN arrives together
	 * with its protocol proposal and early data ("Cannot push data onto a stream that is
	 * closed"). This costs at most one round trip, and only when the upload is that short. */
	if (!pc->confirmed)
		return;
	pc->fin_sent = true;
	p2p_stream_close_write(st);
}

static void client_open(struct p2p_stream *st)
{
	struct perf_client *pc = p2p_stream_user(st);
	pc->confirmed = true;
	client_pump(st);
}

static void client_finish(struct perf_client *pc, int err)
{
	if (pc->finished)
		return;
	pc->finished = true;
	pc->cb(pc->user, err, err ? NULL : &pc->r);
}

static void client_mark_upload_done(struct perf_client *pc)
{
	if (pc->upload_done_ns == 0)
		pc->upload_done_ns = aa_clock_mono_ns();
}

static size_t client_data(struct p2p_stream *st, const uint8_t *p, size_t n)
{
	struct perf_client *pc = p2p_stream_user(st);
	if (pc->finished)
		return n;
	/* The server sends only after our FIN reached it: the first byte ends the upload. */
	client_mark_upload_done(pc);
	if (n > pc->download_wanted - pc->r.download_bytes) {
		/* More than asked for: the server is broken; stop it now. */
		client_finish(pc, AA_EPROTO);
		p2p_stream_reset(st);
		return n;
	}
	pc->r.download_bytes += n;
	return n;
}

static void client_fin(struct p2p_stream *st)
{
	struct perf_client *pc = p2p_stream_user(st);
	pc->end_ns = aa_clock_mono_ns();
	if (pc->upload_done_ns == 0)
		pc->upload_done_ns = pc->end_ns; /* nothing was downloaded */
	pc->got_fin = true;
}

static void client_close(struct p2p_stream *st, int err)
{
	struct perf_client *pc = p2p_stream_user(st);
	if (err == 0 && !pc->got_fin)
		err = AA_ECLOSED;
	/* perf.md, Client step 5: exactly the number of bytes we asked for. */
	if (err == 0 && (pc->r.download_bytes != pc->download_wanted || pc->upload_left != 0))
		err = AA_EPROTO;
	if (err == 0) {
		pc->r.upload_ns = pc->upload_done_ns - pc->start_ns;
		pc->r.download_ns = pc->end_ns - pc->upload_done_ns;
	}
	client_finish(pc, err);
	free(pc);
}

static const struct p2p_stream_handler perf_client_handler = {
	.on_open = client_open,
	.on_data = client_data,
	.on_fin = client_fin,
	.on_writable = client_pump,
	.on_close = client_close,
};

int p2p_perf_run(struct p2p_host *h, const struct p2p_peer_id *peer, uint64_t upload_bytes,
		 uint64_t download_bytes, p2p_perf_cb cb, void *user)
{
	if (!cb)
		return AA_EINVAL;
	struct perf_client *pc = aa_calloc(1, sizeof *pc);
	pc->cb = cb;
	pc->user = user;
	for (size_t i = 0; i < PERF_HEADER_LEN; i++)
		pc->header[i] = (uint8_t)(download_bytes >> (8 * (PERF_HEADER_LEN - 1 - i)));
	pc->upload_left = upload_bytes;
	pc->r.upload_bytes = upload_bytes;
	pc->download_wanted = download_bytes;
	static const char *const protos[] = { P2P_PERF_PROTOCOL_ID };
	struct p2p_stream *st;
	pc->start_ns = aa_clock_mono_ns();
	int rc = p2p_host_new_stream(h, peer, protos, 1, &perf_client_handler, pc, &st);
	if (rc < 0) {
		free(pc);
		return rc;
	}
	client_pump(st);
	return 0;
}
