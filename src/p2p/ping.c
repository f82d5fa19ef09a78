/* ping: echo server and round-trip client for /ipfs/ping/1.0.0. */
#include "p2p/ping.h"

#include <sodium.h>
#include <string.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/mem.h"
#include "p2p/chacha20.h"

/* ---- server: echo every byte back --------------------------------------------------- */

static size_t serve_on_data(struct p2p_stream *st, const uint8_t *p, size_t n)
{
	ssize_t w = p2p_stream_write(st, p, n);
	return w > 0 ? (size_t)w : 0; /* the rest waits for on_writable */
}

static void serve_on_writable(struct p2p_stream *st)
{
	p2p_stream_resume(st);
}

static void serve_on_fin(struct p2p_stream *st)
{
	p2p_stream_close_write(st);
}

static const struct p2p_stream_handler ping_server = {
	.on_data = serve_on_data,
	.on_writable = serve_on_writable,
	.on_fin = serve_on_fin,
};

int p2p_ping_serve(struct p2p_host *h)
{
	return p2p_host_set_handler(h, P2P_PING_PROTOCOL_ID, &ping_server, NULL);
}

/* ---- client ---------------------------------------------------------------------------- */

/* Payloads per keystream refill: 8 × 32 bytes = four ChaCha20 blocks. */
#define PING_POOL_PINGS 8

struct ping_client {
	p2p_ping_cb cb;
	void *user;
	unsigned remaining;
	uint8_t sent[P2P_PING_PAYLOAD];
	uint8_t got[P2P_PING_PAYLOAD];
	size_t ngot;
	uint64_t sent_at;
	bool finished;
	/* Payloads come from a ChaCha20 keystream keyed once per stream: unpredictable as the
	 * spec wants, without a getrandom(2) system call on every round trip. The keystream is
	 * made PING_POOL_PINGS payloads at a time: one SIMD pass of the block function yields
	 * four blocks for about the price of one, and a ping needs only half a block. */
	uint8_t key[CHACHA20_KEY_BYTES];
	uint64_t counter;
	uint8_t pool[PING_POOL_PINGS * P2P_PING_PAYLOAD];
	size_t pool_used; /* payloads already taken from pool */
};

static void client_finish(struct ping_client *pc, int err, uint64_t rtt)
{
	if (pc->finished)
		return;
	pc->finished = true;
	pc->cb(pc->user, err, rtt, true);
}

static int client_send(struct p2p_stream *st, struct ping_client *pc)
{
	static const uint8_t zeros[sizeof pc->pool];
	if (pc->pool_used == 0) {
		/* Each refill has its own nonce, so no keystream byte is used twice. */
		uint8_t nonce[CHACHA20_NONCE_BYTES] = { 0 };
		memcpy(nonce, &pc->counter, sizeof pc->counter);
		pc->counter++;
		chacha20_xor(pc->pool, zeros, sizeof pc->pool, pc->key, nonce, 0);
	}
	memcpy(pc->sent, pc->pool + pc->pool_used * P2P_PING_PAYLOAD, sizeof pc->sent);
	pc->pool_used = (pc->pool_used + 1) % PING_POOL_PINGS;
	pc->ngot = 0;
	pc->sent_at = aa_clock_mono_ns();
	/* 32 bytes always fit a fresh stream's window. */
	return p2p_stream_write(st, pc->sent, sizeof pc->sent) == (ssize_t)sizeof pc->sent ? 0 : AA_EIO;
}

static size_t client_on_data(struct p2p_stream *st, const uint8_t *p, size_t n)
{
	struct ping_client *pc = p2p_stream_user(st);
	size_t used = 0;
	while (used < n && !pc->finished) {
		const uint8_t *got;
		if (pc->ngot == 0 && n - used >= P2P_PING_PAYLOAD) {
			/* The whole echo arrived in one piece (the usual case): check it in place. */
			got = p + used;
			used += P2P_PING_PAYLOAD;
		} else {
			size_t take = P2P_PING_PAYLOAD - pc->ngot;
			if (take > n - used)
				take = n - used;
			memcpy(pc->got + pc->ngot, p + used, take);
			pc->ngot += take;
			used += take;
			if (pc->ngot < P2P_PING_PAYLOAD)
				break;
			got = pc->got;
		}
		uint64_t rtt = aa_clock_mono_ns() - pc->sent_at;
		if (memcmp(got, pc->sent, P2P_PING_PAYLOAD) != 0) {
			client_finish(pc, AA_EPROTO, 0);
			p2p_stream_reset(st);
			break;
		}
		if (--pc->remaining == 0) {
			client_finish(pc, 0, rtt);
			p2p_stream_close_write(st);
			break;
		}
		pc->cb(pc->user, 0, rtt, false);
		if (client_send(st, pc) < 0) {
			client_finish(pc, AA_EIO, 0);
			p2p_stream_reset(st);
		}
	}
	return n;
}

static void client_on_close(struct p2p_stream *st, int err)
{
	struct ping_client *pc = p2p_stream_user(st);
	client_finish(pc, err ? err : AA_ECLOSED, 0);
	sodium_memzero(pc->key, sizeof pc->key);
	sodium_memzero(pc->pool, sizeof pc->pool);
	free(pc);
}

static const struct p2p_stream_handler ping_client_handler = {
	.on_data = client_on_data,
	.on_close = client_on_close,
};

int p2p_ping(struct p2p_host *h, const struct p2p_peer_id *peer, unsigned count, p2p_ping_cb cb,
	     void *user)
{
	if (count == 0 || !cb)
		return AA_EINVAL;
	struct ping_client *pc = aa_calloc(1, sizeof *pc);
	pc->cb = cb;
	pc->user = user;
	pc->remaining = count;
	randombytes_buf(pc->key, sizeof pc->key);
	static const char *const protos[] = { P2P_PING_PROTOCOL_ID };
	struct p2p_stream *st;
	int rc = p2p_host_new_stream(h, peer, protos, 1, &ping_client_handler, pc, &st);
	if (rc < 0) {
		free(pc);
		return rc;
	}
	return client_send(st, pc);
}
