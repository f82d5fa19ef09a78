/* bootstrap: one entry per bootstrap peer, each with its own backoff timer. */
#include "p2p/bootstrap.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"

#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 60000

struct boot_peer {
	struct p2p_bootstrap *b;
	struct multiaddr addr;
	struct p2p_peer_id peer;
	char text[MULTIADDR_MAX_LEN];
	uv_timer_t timer;
	uint64_t backoff_ms;
	bool dialling;
	bool connected;
};

struct p2p_bootstrap {
	struct p2p_host *host;
	struct p2p_host_notifiee notifiee;
	struct boot_peer *peers;
	size_t n;
	bool stopping;
	size_t open_timers;
	size_t dials_in_flight; /* the struct lives until these callbacks came back too */
};

static void maybe_free(struct p2p_bootstrap *b)
{
	if (!b->stopping || b->open_timers || b->dials_in_flight)
		return;
	for (size_t i = 0; i < b->n; i++)
		multiaddr_free(&b->peers[i].addr);
	free(b->peers);
	free(b);
}

static void dial_peer(struct boot_peer *p);

static void on_retry(uv_timer_t *t)
{
	dial_peer(t->data);
}

static void schedule_retry(struct boot_peer *p)
{
	if (p->b->stopping)
		return;
	/* ±20 % jitter so a restarted fleet does not redial in lockstep. */
	uint64_t jitter = p->backoff_ms / 5;
	uint64_t delay = p->backoff_ms - jitter + (jitter ? randombytes_uniform((uint32_t)(2 * jitter + 1)) : 0);
	uv_timer_start(&p->timer, on_retry, delay, 0);
	p->backoff_ms = p->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : p->backoff_ms * 2;
}

static void on_dialled(void *user, struct p2p_conn *c, int err)
{
	struct boot_peer *p = user;
	p->dialling = false;
	p->b->dials_in_flight--;
	if (p->b->stopping) {
		maybe_free(p->b);
		return;
	}
	if (!c) {
		aa_log(AA_LOG_WARN, "bootstrap dial failed", "addr", p->text, "error", aa_strerror(err), NULL);
		schedule_retry(p);
		return;
	}
	p->connected = true;
	p->backoff_ms = BACKOFF_MIN_MS;
	aa_log(AA_LOG_INFO, "bootstrap peer connected", "addr", p->text, NULL);
}

static void dial_peer(struct boot_peer *p)
{
	if (p->dialling || p->b->stopping)
		return;
	p->dialling = true;
	p->b->dials_in_flight++;
	if (p2p_host_dial(p->b->host, &p->peer, &p->addr, 1, on_dialled, p) < 0) {
		p->dialling = false;
		p->b->dials_in_flight--;
		schedule_retry(p);
	}
}

static struct boot_peer *find_peer(struct p2p_bootstrap *b, const struct p2p_peer_id *id)
{
	for (size_t i = 0; i < b->n; i++)
		if (p2p_peer_id_equal(&b->peers[i].peer, id))
			return &b->peers[i];
	return NULL;
}

static void on_connected(void *user, struct p2p_conn *c)
{
	struct boot_peer *p = find_peer(user, p2p_conn_remote_peer(c));
	if (p) {
		p->connected = true;
		p->backoff_ms = BACKOFF_MIN_MS;
		uv_timer_stop(&p->timer);
	}
}

static void on_disconnected(void *user, struct p2p_conn *c, bool last)
{
	struct boot_peer *p = find_peer(user, p2p_conn_remote_peer(c));
	if (!p || !last)
		return;
	p->connected = false;
	aa_log(AA_LOG_INFO, "bootstrap peer disconnected; will redial", "addr", p->text, NULL);
	schedule_retry(p);
}

int p2p_bootstrap_start(struct p2p_host *h, const struct multiaddr *addrs, size_t n,
			struct p2p_bootstrap **out)
{
	struct p2p_bootstrap *b = aa_calloc(1, sizeof *b);
	b->host = h;
	b->peers = aa_calloc(n ? n : 1, sizeof *b->peers);
	for (size_t i = 0; i < n; i++) {
		struct boot_peer *p = &b->peers[b->n];
		struct multiaddr_component c;
		char *text = NULL;
		multiaddr_to_string(&addrs[i], &text);
		if (!multiaddr_find(&addrs[i], MA_P2P, &c) ||
		    p2p_peer_id_from_bytes(c.value, c.value_len, &p->peer) < 0 ||
		    p2p_peer_id_equal(&p->peer, p2p_host_peer_id(h))) {
			aa_log(AA_LOG_WARN, "bootstrap address skipped (needs another peer's /p2p/<id>)",
			       "addr", text ? text : "?", NULL);
			free(text);
			continue;
		}
		snprintf(p->text, sizeof p->text, "%s", text ? text : "?");
		free(text);
		multiaddr_copy(&addrs[i], &p->addr);
		p->b = b;
		p->backoff_ms = BACKOFF_MIN_MS;
		uv_timer_init(p2p_host_loop(h), &p->timer);
		p->timer.data = p;
		b->open_timers++;
		b->n++;
	}
	b->notifiee = (struct p2p_host_notifiee){
		.on_connected = on_connected, .on_disconnected = on_disconnected, .user = b,
	};
	p2p_host_subscribe(h, &b->notifiee);
	for (size_t i = 0; i < b->n; i++)
		dial_peer(&b->peers[i]);
	*out = b;
	return 0;
}

static void on_timer_closed(uv_handle_t *t)
{
	struct boot_peer *p = t->data;
	struct p2p_bootstrap *b = p->b;
	b->open_timers--;
	maybe_free(b);
}

void p2p_bootstrap_stop(struct p2p_bootstrap *b)
{
	if (!b || b->stopping)
		return;
	b->stopping = true;
	p2p_host_unsubscribe(b->host, &b->notifiee);
	if (b->n == 0) {
		maybe_free(b);
		return;
	}
	/* Dials still in flight call on_dialled later (the host's close cancels them); the
	 * entries stay allocated until those and every timer close came back. */
	for (size_t i = 0; i < b->n; i++)
		uv_close((uv_handle_t *)&b->peers[i].timer, on_timer_closed);
}

size_t p2p_bootstrap_connected(const struct p2p_bootstrap *b)
{
	size_t k = 0;
	for (size_t i = 0; i < b->n; i++)
		k += b->peers[i].connected;
	return k;
}
