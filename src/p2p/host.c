/* host: listeners, dialer, connection table, protocol handler registry and connection
 * limits, on one libuv loop. Connections do their own protocol work (conn.c); the host
 * decides which connections exist. */
#include "p2p/host.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"

#define HOST_SWEEP_MS 1000
#define HOST_RATE_SLOTS 256 /* per-IP rate table size (recently seen IPs) */

#define MS_NS 1000000ull
const uint64_t p2p_dial_bounds_ns[P2P_DIAL_BUCKETS] = {
	1 * MS_NS,    2500000ull,    5 * MS_NS,    10 * MS_NS,   25 * MS_NS,
	50 * MS_NS,   100 * MS_NS,   250 * MS_NS,  500 * MS_NS,  1000 * MS_NS,
	2500 * MS_NS, 5000 * MS_NS,  10000 * MS_NS, 30000 * MS_NS, 60000 * MS_NS,
};

struct host_conn {
	struct p2p_host *host;
	struct p2p_conn *conn;
	struct host_conn *prev, *next;
	struct host_dial *dial; /* the dial this outbound connection serves, if any */
	bool established;
	uint64_t idle_since_ns; /* when the stream count last became 0 */
};

struct dial_waiter {
	p2p_host_dial_cb cb;
	void *user;
	struct dial_waiter *next;
};

struct host_dial {
	struct p2p_host *host;
	struct host_dial *next;
	struct p2p_peer_id peer;
	struct multiaddr *addrs;
	size_t naddrs, index;
	struct dial_waiter *waiters;
	uv_tcp_t *tcp;          /* while connecting */
	uv_connect_t connect_req;
	uv_timer_t timer;       /* per-address deadline */
	uv_getaddrinfo_t gai;
	bool resolving;
	struct host_conn *upgrading;
	int last_err;
	bool done;
	uint64_t started_ns;    /* for the dial duration histogram */
};

struct host_listener {
	struct p2p_host *host;
	uv_tcp_t tcp;
	struct multiaddr requested;
	struct multiaddr bound;
};

struct handler_entry {
	char *proto;
	const struct p2p_stream_handler *handler;
	void *user;
};

struct deferred_cb {
	uv_timer_t timer;
	p2p_host_dial_cb cb;
	void *user;
	struct p2p_conn *conn;
	int err;
};

struct rate_slot {
	uint8_t ip[16];
	uint64_t window_start_ns;
	uint32_t count;
};

struct p2p_host {
	uv_loop_t *loop;
	struct p2p_host_config cfg;
	struct p2p_conn_env env;
	struct p2p_conn_events events;
	struct p2p_peer_id self;
	struct host_conn *conns;
	struct host_dial *dials;
	struct host_listener **listeners;
	size_t nlisteners;
	struct handler_entry *handlers;
	size_t nhandlers;
	const char **protocol_list;
	struct p2p_host_notifiee **notifiees;
	size_t nnotifiees;
	uv_timer_t sweep;
	uint64_t last_addr_check_ns;
	char *addrs_fingerprint; /* the advertised addresses at the last check, as text */
	struct peerstore *peers;
	struct rate_slot rate[HOST_RATE_SLOTS];
	struct p2p_host_stats stats;
	bool closing;
	int open_handles;
	void (*close_cb)(void *user);
	void *close_user;
};

void p2p_host_config_default(struct p2p_host_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->max_connections = 1024;
	cfg->max_pending_handshakes = 128;
	cfg->conn_rate_per_ip = 0;
	cfg->handshake_timeout_ns = 10ull * 1000000000ull;
	cfg->dial_timeout_ns = 10ull * 1000000000ull;
	cfg->idle_timeout_ns = 300ull * 1000000000ull;
	cfg->max_streams_per_conn = 1024;
	cfg->max_inbound_streams_pending = 256;
	cfg->yamux_max_window = 16u * 1024 * 1024;
	cfg->max_peers = 4096;
	cfg->max_conn_buffer = 64u * 1024 * 1024;
	cfg->max_buffer_total = 256u * 1024 * 1024;
	cfg->addr_watch_interval_ns = 2ull * 1000000000ull;
	cfg->disconnected_addr_ttl_ns = 600ull * 1000000000ull;
}

const struct p2p_peer_id *p2p_host_peer_id(const struct p2p_host *h) { return &h->self; }
const struct p2p_keypair *p2p_host_identity(const struct p2p_host *h) { return h->cfg.identity; }
uv_loop_t *p2p_host_loop(const struct p2p_host *h) { return h->loop; }
struct peerstore *p2p_host_peerstore(const struct p2p_host *h) { return h->peers; }

/* ---- addresses ------------------------------------------------------------------------- */

static int multiaddr_from_sockaddr(const struct sockaddr *sa, struct multiaddr *out)
{
	char ip[INET6_ADDRSTRLEN], text[96];
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
		snprintf(text, sizeof text, "/ip4/%s/tcp/%u", ip, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
		snprintf(text, sizeof text, "/ip6/%s/tcp/%u", ip, ntohs(in6->sin6_port));
	} else {
		return AA_ENOTSUP;
	}
	return multiaddr_parse(text, out, NULL);
}

/* The IP and port of an /ip4|ip6/…/tcp/… multiaddr, or AA_ENOTSUP (dns names: see dial). */
static int sockaddr_from_multiaddr(const struct multiaddr *ma, struct sockaddr_storage *ss)
{
	struct multiaddr_component ip, port;
	size_t off = 0;
	if (multiaddr_next(ma, &off, &ip) != 1 || multiaddr_next(ma, &off, &port) != 1 ||
	    port.code != MA_TCP || port.value_len != 2)
		return AA_ENOTSUP;
	uint16_t p = (uint16_t)((port.value[0] << 8) | port.value[1]);
	memset(ss, 0, sizeof *ss);
	if (ip.code == MA_IP4 && ip.value_len == 4) {
		struct sockaddr_in *in = (void *)ss;
		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, ip.value, 4);
		in->sin_port = htons(p);
		return 0;
	}
	if (ip.code == MA_IP6 && ip.value_len == 16) {
		struct sockaddr_in6 *in6 = (void *)ss;
		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, ip.value, 16);
		in6->sin6_port = htons(p);
		return 0;
	}
	return AA_ENOTSUP;
}

/* ---- notifications --------------------------------------------------------------------- */

int p2p_host_subscribe(struct p2p_host *h, const struct p2p_host_notifiee *n)
{
	h->notifiees = aa_realloc(h->notifiees, (h->nnotifiees + 1) * sizeof *h->notifiees);
	h->notifiees[h->nnotifiees++] = (struct p2p_host_notifiee *)n;
	return 0;
}

void p2p_host_unsubscribe(struct p2p_host *h, const struct p2p_host_notifiee *n)
{
	for (size_t i = 0; i < h->nnotifiees; i++) {
		if (h->notifiees[i] == n) {
			memmove(&h->notifiees[i], &h->notifiees[i + 1], (h->nnotifiees - i - 1) * sizeof *h->notifiees);
			h->nnotifiees--;
			return;
		}
	}
}

static bool peer_has_other_conn(const struct p2p_host *h, const struct host_conn *except)
{
	const struct p2p_peer_id *peer = p2p_conn_remote_peer(except->conn);
	for (const struct host_conn *e = h->conns; e; e = e->next)
		if (e != except && e->established && p2p_peer_id_equal(p2p_conn_remote_peer(e->conn), peer))
			return true;
	return false;
}

/* ---- handlers -------------------------------------------------------------------------- */

static void rebuild_protocol_list(struct p2p_host *h)
{
	free(h->protocol_list);
	h->protocol_list = aa_malloc((h->nhandlers + 1) * sizeof *h->protocol_list);
	for (size_t i = 0; i < h->nhandlers; i++)
		h->protocol_list[i] = h->handlers[i].proto;
	h->protocol_list[h->nhandlers] = NULL;
	h->env.protocols = h->protocol_list;
	h->env.protocol_count = h->nhandlers;
}

int p2p_host_set_handler(struct p2p_host *h, const char *proto,
			 const struct p2p_stream_handler *handler, void *user)
{
	if (!proto || !*proto || strlen(proto) > 256 || !handler || !handler->on_data)
		return AA_EINVAL;
	for (size_t i = 0; i < h->nhandlers; i++) {
		if (strcmp(h->handlers[i].proto, proto) == 0) {
			h->handlers[i].handler = handler;
			h->handlers[i].user = user;
			return 0;
		}
	}
	h->handlers = aa_realloc(h->handlers, (h->nhandlers + 1) * sizeof *h->handlers);
	h->handlers[h->nhandlers++] = (struct handler_entry){ aa_strdup(proto), handler, user };
	rebuild_protocol_list(h);
	return 0;
}

void p2p_host_remove_handler(struct p2p_host *h, const char *proto)
{
	for (size_t i = 0; i < h->nhandlers; i++) {
		if (strcmp(h->handlers[i].proto, proto) == 0) {
			free(h->handlers[i].proto);
			memmove(&h->handlers[i], &h->handlers[i + 1], (h->nhandlers - i - 1) * sizeof *h->handlers);
			h->nhandlers--;
			rebuild_protocol_list(h);
			return;
		}
	}
}

const char *const *p2p_host_protocols(const struct p2p_host *h, size_t *n)
{
	*n = h->nhandlers;
	return h->protocol_list;
}

static const struct p2p_stream_handler *host_find_handler(void *owner, const char *proto, size_t len,
							  void **user)
{
	struct p2p_host *h = owner;
	for (size_t i = 0; i < h->nhandlers; i++) {
		if (strlen(h->handlers[i].proto) == len && memcmp(h->handlers[i].proto, proto, len) == 0) {
			*user = h->handlers[i].user;
			return h->handlers[i].handler;
		}
	}
	return NULL;
}

/* ---- dialing --------------------------------------------------------------------------- */

static void dial_try_next(struct host_dial *d);
static void maybe_finish_close(struct p2p_host *h);
static void check_local_addrs(struct p2p_host *h);

static void on_deferred(uv_timer_t *t)
{
	struct deferred_cb *dc = t->data;
	dc->cb(dc->user, dc->conn, dc->err);
	uv_close((uv_handle_t *)t, (uv_close_cb)free);
}

/* Runs cb on a later loop turn (dial callbacks never run inside p2p_host_dial). */
static void defer_dial_cb(struct p2p_host *h, p2p_host_dial_cb cb, void *user, struct p2p_conn *c, int err)
{
	struct deferred_cb *dc = aa_calloc(1, sizeof *dc);
	dc->cb = cb;
	dc->user = user;
	dc->conn = c;
	dc->err = err;
	uv_timer_init(h->loop, &dc->timer);
	dc->timer.data = dc;
	uv_timer_start(&dc->timer, on_deferred, 0, 0);
}

static void dial_timer_closed(uv_handle_t *t)
{
	struct host_dial *d = t->data;
	struct p2p_host *h = d->host;
	for (size_t i = 0; i < d->naddrs; i++)
		multiaddr_free(&d->addrs[i]);
	free(d->addrs);
	free(d);
	h->open_handles--;
	maybe_finish_close(h);
}

static void dial_finish(struct host_dial *d, struct p2p_conn *c, int err)
{
	if (d->done)
		return;
	d->done = true;
	struct p2p_host *h = d->host;
	uint64_t ns = aa_clock_mono_ns() - d->started_ns;
	int result = c ? P2P_DIAL_OK : P2P_DIAL_FAILED;
	size_t bucket = 0;
	while (bucket < P2P_DIAL_BUCKETS && ns > p2p_dial_bounds_ns[bucket])
		bucket++;
	h->stats.dial_ns_bucket[result][bucket]++;
	h->stats.dial_ns_sum[result] += ns;
	for (struct host_dial **pp = &h->dials; *pp; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	}
	uv_timer_stop(&d->timer);
	struct dial_waiter *w = d->waiters;
	d->waiters = NULL;
	while (w) {
		struct dial_waiter *next = w->next;
		w->cb(w->user, c, c ? 0 : err);
		free(w);
		w = next;
	}
	uv_close((uv_handle_t *)&d->timer, dial_timer_closed);
}

static void dial_tcp_closed(uv_handle_t *hd)
{
	free(hd);
}

static void on_dial_timeout(uv_timer_t *t)
{
	struct host_dial *d = t->data;
	d->last_err = AA_ETIMEDOUT;
	if (d->tcp) {
		/* The connect callback follows with UV_ECANCELED and moves on. */
		uv_close((uv_handle_t *)d->tcp, dial_tcp_closed);
		d->tcp = NULL;
	} else if (d->upgrading) {
		p2p_conn_close(d->upgrading->conn, AA_ETIMEDOUT);
	}
}

static struct host_conn *track_conn(struct p2p_host *h, struct p2p_conn *c)
{
	struct host_conn *e = aa_calloc(1, sizeof *e);
	e->host = h;
	e->conn = c;
	e->next = h->conns;
	if (h->conns)
		h->conns->prev = e;
	h->conns = e;
	p2p_conn_set_user(c, e);
	h->stats.pending++;
	h->open_handles++;
	return e;
}

static void on_dial_connect(uv_connect_t *req, int status)
{
	struct host_dial *d = req->data;
	uv_tcp_t *tcp = (uv_tcp_t *)req->handle;
	if (status < 0) {
		if (d->tcp == tcp) {
			uv_close((uv_handle_t *)tcp, dial_tcp_closed);
			d->tcp = NULL;
		}
		if (status != UV_ECANCELED)
			d->last_err = AA_EIO;
		if (!d->done && !d->host->closing)
			dial_try_next(d);
		else if (!d->done)
			dial_finish(d, NULL, AA_ECANCELED);
		return;
	}
	d->tcp = NULL;
	struct p2p_host *h = d->host;
	struct sockaddr_storage ss;
	int len = sizeof ss;
	struct multiaddr local = { 0 };
	if (uv_tcp_getsockname(tcp, (struct sockaddr *)&ss, &len) == 0)
		multiaddr_from_sockaddr((struct sockaddr *)&ss, &local);
	struct p2p_conn *c;
	if (p2p_conn_start(&h->env, tcp, true, &d->peer, &d->addrs[d->index - 1], &local, &c) < 0) {
		multiaddr_free(&local);
		d->last_err = AA_EIO;
		dial_try_next(d);
		return;
	}
	multiaddr_free(&local);
	struct host_conn *e = track_conn(h, c);
	e->dial = d;
	d->upgrading = e;
	h->stats.outbound_total++;
}

static void dial_connect_sockaddr(struct host_dial *d, const struct sockaddr *sa)
{
	struct p2p_host *h = d->host;
	d->tcp = aa_malloc(sizeof *d->tcp);
	uv_tcp_init(h->loop, d->tcp);
	d->connect_req.data = d;
	int rc = uv_tcp_connect(&d->connect_req, d->tcp, sa, on_dial_connect);
	if (rc < 0) {
		uv_close((uv_handle_t *)d->tcp, dial_tcp_closed);
		d->tcp = NULL;
		d->last_err = AA_EIO;
		dial_try_next(d);
	}
}

static void on_dial_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct host_dial *d = req->data;
	d->resolving = false;
	if (status < 0 || !res || d->done || d->host->closing) {
		if (res)
			uv_freeaddrinfo(res);
		d->last_err = AA_ENOENT;
		if (d->host->closing)
			dial_finish(d, NULL, AA_ECANCELED);
		else if (!d->done)
			dial_try_next(d);
		return;
	}
	dial_connect_sockaddr(d, res->ai_addr);
	uv_freeaddrinfo(res);
}

/* dns4/dns6/dns + tcp: resolve with the loop's thread pool, then connect. */
static int dial_resolve(struct host_dial *d, const struct multiaddr *ma)
{
	struct multiaddr_component name, port;
	size_t off = 0;
	if (multiaddr_next(ma, &off, &name) != 1 || multiaddr_next(ma, &off, &port) != 1 ||
	    port.code != MA_TCP || port.value_len != 2)
		return AA_ENOTSUP;
	if (name.code != MA_DNS && name.code != MA_DNS4 && name.code != MA_DNS6)
		return AA_ENOTSUP;
	char host[256], service[8];
	snprintf(host, sizeof host, "%.*s", (int)name.value_len, (const char *)name.value);
	snprintf(service, sizeof service, "%u", (unsigned)((port.value[0] << 8) | port.value[1]));
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	hints.ai_family = name.code == MA_DNS4 ? AF_INET : name.code == MA_DNS6 ? AF_INET6 : AF_UNSPEC;
	d->gai.data = d;
	d->resolving = true;
	if (uv_getaddrinfo(d->host->loop, &d->gai, on_dial_resolved, host, service, &hints) < 0) {
		d->resolving = false;
		return AA_EIO;
	}
	return 0;
}

static void dial_try_next(struct host_dial *d)
{
	struct p2p_host *h = d->host;
	d->upgrading = NULL;
	while (d->index < d->naddrs) {
		const struct multiaddr *ma = &d->addrs[d->index++];
		uint64_t ms = h->cfg.dial_timeout_ns / 1000000;
		uv_timer_start(&d->timer, on_dial_timeout, ms ? ms : 1, 0);
		struct sockaddr_storage ss;
		if (sockaddr_from_multiaddr(ma, &ss) == 0) {
			dial_connect_sockaddr(d, (struct sockaddr *)&ss);
			return;
		}
		if (dial_resolve(d, ma) == 0)
			return;
		d->last_err = AA_ENOTSUP;
	}
	dial_finish(d, NULL, d->last_err ? d->last_err : AA_ENOENT);
}

struct p2p_conn *p2p_host_conn_to(const struct p2p_host *h, const struct p2p_peer_id *peer)
{
	/* The list is newest first, so the first match is the newest connection. */
	for (const struct host_conn *e = h->conns; e; e = e->next)
		if (e->established && p2p_conn_is_established(e->conn) &&
		    p2p_peer_id_equal(p2p_conn_remote_peer(e->conn), peer))
			return e->conn;
	return NULL;
}

int p2p_host_dial(struct p2p_host *h, const struct p2p_peer_id *peer, const struct multiaddr *addrs,
		  size_t n, p2p_host_dial_cb cb, void *user)
{
	if (h->closing)
		return AA_ECLOSED;
	if (p2p_peer_id_equal(peer, &h->self))
		return AA_EINVAL;
	struct p2p_conn *existing = p2p_host_conn_to(h, peer);
	if (existing) {
		defer_dial_cb(h, cb, user, existing, 0);
		return 0;
	}
	struct dial_waiter *w = aa_calloc(1, sizeof *w);
	w->cb = cb;
	w->user = user;
	for (struct host_dial *d = h->dials; d; d = d->next) {
		if (p2p_peer_id_equal(&d->peer, peer)) {
			w->next = d->waiters;
			d->waiters = w;
			return 0;
		}
	}
	if (n == 0) {
		free(w);
		return AA_ENOENT;
	}
	struct host_dial *d = aa_calloc(1, sizeof *d);
	d->host = h;
	d->peer = *peer;
	d->waiters = w;
	d->started_ns = aa_clock_mono_ns();
	d->addrs = aa_calloc(n, sizeof *d->addrs);
	for (size_t i = 0; i < n; i++) {
		multiaddr_copy(&addrs[i], &d->addrs[i]);
		multiaddr_decapsulate_code(&d->addrs[i], MA_P2P);
	}
	d->naddrs = n;
	uv_timer_init(h->loop, &d->timer);
	d->timer.data = d;
	h->open_handles++;
	d->next = h->dials;
	h->dials = d;
	dial_try_next(d);
	return 0;
}

int p2p_host_connect(struct p2p_host *h, const struct multiaddr *ma, p2p_host_dial_cb cb, void *user)
{
	struct multiaddr_component p2p;
	if (!multiaddr_find(ma, MA_P2P, &p2p))
		return AA_EINVAL;
	struct p2p_peer_id peer;
	if (p2p_peer_id_from_bytes(p2p.value, p2p.value_len, &peer) < 0)
		return AA_EINVAL;
	return p2p_host_dial(h, &peer, ma, 1, cb, user);
}

int p2p_host_new_stream(struct p2p_host *h, const struct p2p_peer_id *peer,
			const char *const *protos, size_t n, const struct p2p_stream_handler *handler,
			void *user, struct p2p_stream **out)
{
	struct p2p_conn *c = p2p_host_conn_to(h, peer);
	if (!c)
		return AA_ENOENT;
	return p2p_conn_open_stream(c, protos, n, handler, user, out);
}

size_t p2p_host_connected_peers(const struct p2p_host *h, struct p2p_peer_id *out, size_t cap)
{
	size_t n = 0;
	for (const struct host_conn *e = h->conns; e; e = e->next) {
		if (!e->established || !p2p_conn_is_established(e->conn))
			continue;
		const struct p2p_peer_id *peer = p2p_conn_remote_peer(e->conn);
		bool seen = false;
		for (const struct host_conn *f = h->conns; f != e; f = f->next)
			if (f->established && p2p_conn_is_established(f->conn) &&
			    p2p_peer_id_equal(p2p_conn_remote_peer(f->conn), peer)) {
				seen = true;
				break;
			}
		if (seen)
			continue;
		if (n < cap)
			out[n] = *peer;
		n++;
	}
	return n;
}

void p2p_host_disconnect(struct p2p_host *h, const struct p2p_peer_id *peer)
{
	for (struct host_conn *e = h->conns; e; e = e->next)
		if (p2p_peer_id_equal(p2p_conn_remote_peer(e->conn), peer))
			p2p_conn_close(e->conn, 0);
}

/* ---- connection events ----------------------------------------------------------------- */

static void host_on_established(void *owner, struct p2p_conn *c)
{
	struct p2p_host *h = owner;
	struct host_conn *e = p2p_conn_user(c);
	e->established = true;
	e->idle_since_ns = aa_clock_mono_ns();
	h->stats.pending--;
	h->stats.connections++;
	if (p2p_conn_is_outbound(c))
		h->stats.established_outbound++;
	else
		h->stats.established_inbound++;
	/* While connected, what we know of the peer is kept (and its dialled address is good). */
	const struct p2p_peer_id *peer = p2p_conn_remote_peer(c);
	if (aa_log_enabled(AA_LOG_DEBUG)) {
		char text[P2P_PEER_ID_STRING_MAX];
		p2p_peer_id_to_string(peer, text, sizeof text);
		aa_log(AA_LOG_DEBUG, "connection established", "peer", text,
		       "dir", p2p_conn_is_outbound(c) ? "outbound" : "inbound", NULL);
	}
	peerstore_protect(h->peers, peer, true);
	peerstore_set_public_key(h->peers, peer, p2p_conn_remote_public_key(c));
	if (p2p_conn_is_outbound(c) && p2p_conn_remote_addr(c)->len)
		peerstore_add_addrs(h->peers, peer, p2p_conn_remote_addr(c), 1, PEERSTORE_TTL_PERMANENT,
				    e->idle_since_ns);
	if (e->dial) {
		struct host_dial *d = e->dial;
		e->dial = NULL;
		d->upgrading = NULL;
		dial_finish(d, c, 0);
	}
	for (size_t i = 0; i < h->nnotifiees; i++)
		if (h->notifiees[i]->on_connected)
			h->notifiees[i]->on_connected(h->notifiees[i]->user, c);
}

static void host_on_closed(void *owner, struct p2p_conn *c, int err)
{
	struct p2p_host *h = owner;
	struct host_conn *e = p2p_conn_user(c);
	if (e->prev)
		e->prev->next = e->next;
	else
		h->conns = e->next;
	if (e->next)
		e->next->prev = e->prev;
	if (e->established) {
		h->stats.connections--;
		bool last = !peer_has_other_conn(h, e);
		if (last) {
			const struct p2p_peer_id *peer = p2p_conn_remote_peer(c);
			peerstore_update_addrs_ttl(h->peers, peer, PEERSTORE_TTL_PERMANENT,
						   h->cfg.disconnected_addr_ttl_ns, aa_clock_mono_ns());
			peerstore_protect(h->peers, peer, false);
		}
		for (size_t i = 0; i < h->nnotifiees; i++)
			if (h->notifiees[i]->on_disconnected)
				h->notifiees[i]->on_disconnected(h->notifiees[i]->user, c, last);
	} else {
		h->stats.pending--;
		h->stats.handshakes_failed++;
		h->stats.handshake_failures[p2p_conn_handshake_failure(c)]++;
	}
	if (e->dial) {
		struct host_dial *d = e->dial;
		d->upgrading = NULL;
		d->last_err = err ? err : AA_ECLOSED;
		if (h->closing)
			dial_finish(d, NULL, AA_ECANCELED);
		else
			dial_try_next(d);
	}
	free(e);
	h->open_handles--;
	maybe_finish_close(h);
}

/* ---- listening ------------------------------------------------------------------------- */

/* Fixed-window per-IP counter over a small table: an IP we have not seen recently takes the
 * oldest slot, so memory stays constant however many addresses connect. */
static bool rate_allows(struct p2p_host *h, const struct sockaddr *sa)
{
	if (h->cfg.conn_rate_per_ip == 0)
		return true;
	uint8_t ip[16] = { 0 };
	if (sa->sa_family == AF_INET)
		memcpy(ip, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	else if (sa->sa_family == AF_INET6)
		memcpy(ip, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
	uint64_t now = aa_clock_mono_ns();
	struct rate_slot *slot = NULL, *oldest = &h->rate[0];
	for (size_t i = 0; i < HOST_RATE_SLOTS; i++) {
		if (memcmp(h->rate[i].ip, ip, 16) == 0 && h->rate[i].window_start_ns) {
			slot = &h->rate[i];
			break;
		}
		if (h->rate[i].window_start_ns < oldest->window_start_ns)
			oldest = &h->rate[i];
	}
	if (!slot) {
		slot = oldest;
		memcpy(slot->ip, ip, 16);
		slot->window_start_ns = now;
		slot->count = 0;
	}
	if (now - slot->window_start_ns >= 1000000000ull) {
		slot->window_start_ns = now;
		slot->count = 0;
	}
	return ++slot->count <= h->cfg.conn_rate_per_ip;
}

static void on_inbound(uv_stream_t *server, int status)
{
	struct host_listener *l = server->data;
	struct p2p_host *h = l->host;
	if (status < 0 || h->closing)
		return;
	uv_tcp_t *tcp = aa_malloc(sizeof *tcp);
	uv_tcp_init(h->loop, tcp);
	if (uv_accept(server, (uv_stream_t *)tcp) < 0) {
		uv_close((uv_handle_t *)tcp, dial_tcp_closed);
		return;
	}
	struct sockaddr_storage peer, local;
	int plen = sizeof peer, llen = sizeof local;
	uv_tcp_getpeername(tcp, (struct sockaddr *)&peer, &plen);
	uv_tcp_getsockname(tcp, (struct sockaddr *)&local, &llen);
	const char *refuse = NULL;
	if (h->stats.connections + h->stats.pending >= h->cfg.max_connections) {
		refuse = "max_connections";
		h->stats.refused_max_connections++;
	} else if (h->stats.pending >= h->cfg.max_pending_handshakes) {
		refuse = "max_pending_handshakes";
		h->stats.refused_pending_handshakes++;
	} else if (!rate_allows(h, (struct sockaddr *)&peer)) {
		refuse = "conn_rate_per_ip";
		h->stats.refused_conn_rate++;
	}
	if (refuse) {
		h->stats.refused_limit++;
		aa_log(AA_LOG_DEBUG, "inbound connection refused", "limit", refuse, NULL);
		uv_close((uv_handle_t *)tcp, dial_tcp_closed);
		return;
	}
	struct multiaddr rma = { 0 }, lma = { 0 };
	multiaddr_from_sockaddr((struct sockaddr *)&peer, &rma);
	multiaddr_from_sockaddr((struct sockaddr *)&local, &lma);
	struct p2p_conn *c;
	int rc = p2p_conn_start(&h->env, tcp, false, NULL, &rma, &lma, &c);
	multiaddr_free(&rma);
	multiaddr_free(&lma);
	if (rc < 0)
		return;
	track_conn(h, c);
	h->stats.inbound_total++;
}

int p2p_host_listen(struct p2p_host *h, const struct multiaddr *ma)
{
	struct sockaddr_storage ss;
	if (sockaddr_from_multiaddr(ma, &ss) < 0)
		return AA_ENOTSUP;
	struct host_listener *l = aa_calloc(1, sizeof *l);
	l->host = h;
	uv_tcp_init(h->loop, &l->tcp);
	l->tcp.data = l;
	h->open_handles++;
	h->listeners = aa_realloc(h->listeners, (h->nlisteners + 1) * sizeof *h->listeners);
	h->listeners[h->nlisteners++] = l;
	multiaddr_copy(ma, &l->requested);
	unsigned flags = ss.ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0;
	int rc = uv_tcp_bind(&l->tcp, (struct sockaddr *)&ss, flags);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&l->tcp, 1024, on_inbound);
	if (rc < 0) {
		char *text = NULL;
		multiaddr_to_string(ma, &text);
		aa_log(AA_LOG_ERROR, "cannot listen", "addr", text ? text : "?", "error", uv_strerror(rc), NULL);
		free(text);
		return AA_EIO;
	}
	int len = sizeof ss;
	uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&ss, &len);
	multiaddr_from_sockaddr((struct sockaddr *)&ss, &l->bound);
	check_local_addrs(h);
	return 0;
}

static bool is_wildcard(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ((const struct sockaddr_in *)(const void *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
	const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr;
	return IN6_IS_ADDR_UNSPECIFIED(a);
}

static void push_addr(struct multiaddr **arr, size_t *n, struct multiaddr *ma)
{
	for (size_t i = 0; i < *n; i++) {
		if (multiaddr_equal(&(*arr)[i], ma)) {
			multiaddr_free(ma);
			return;
		}
	}
	*arr = aa_realloc(*arr, (*n + 1) * sizeof **arr);
	(*arr)[(*n)++] = *ma;
}

int p2p_host_listen_addrs(const struct p2p_host *h, struct multiaddr **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	uv_interface_address_t *ifs = NULL;
	int nifs = 0;
	for (size_t i = 0; i < h->nlisteners; i++) {
		const struct host_listener *l = h->listeners[i];
		struct sockaddr_storage ss;
		if (!l->bound.len || sockaddr_from_multiaddr(&l->bound, &ss) < 0)
			continue;
		if (!is_wildcard(&ss)) {
			struct multiaddr copy;
			multiaddr_copy(&l->bound, &copy);
			push_addr(out, n, &copy);
			continue;
		}
		if (!ifs && uv_interface_addresses(&ifs, &nifs) < 0)
			nifs = 0;
		uint16_t port = ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
							: ((struct sockaddr_in6 *)&ss)->sin6_port;
		for (int k = 0; k < nifs; k++) {
			struct sockaddr_storage a;
			memset(&a, 0, sizeof a);
			if (ss.ss_family == AF_INET && ifs[k].address.address4.sin_family == AF_INET) {
				memcpy(&a, &ifs[k].address.address4, sizeof ifs[k].address.address4);
				((struct sockaddr_in *)&a)->sin_port = port;
			} else if (ss.ss_family == AF_INET6 && ifs[k].address.address6.sin6_family == AF_INET6 &&
				   !IN6_IS_ADDR_LINKLOCAL(&ifs[k].address.address6.sin6_addr)) {
				memcpy(&a, &ifs[k].address.address6, sizeof ifs[k].address.address6);
				((struct sockaddr_in6 *)&a)->sin6_port = port;
			} else {
				continue;
			}
			struct multiaddr ma;
			if (multiaddr_from_sockaddr((struct sockaddr *)&a, &ma) == 0)
				push_addr(out, n, &ma);
		}
	}
	if (ifs)
		uv_free_interface_addresses(ifs, nifs);
	return 0;
}

/* ---- idle sweep, stats, lifecycle ------------------------------------------------------ */

/* Re-reads the advertised addresses and tells subscribers when they changed. */
static void check_local_addrs(struct p2p_host *h)
{
	struct multiaddr *addrs;
	size_t n;
	p2p_host_listen_addrs(h, &addrs, &n);
	struct aa_buf fp;
	aa_buf_init(&fp);
	for (size_t i = 0; i < n; i++) {
		char *t = NULL;
		if (multiaddr_to_string(&addrs[i], &t) == 0) {
			aa_buf_append_str(&fp, t);
			aa_buf_append_byte(&fp, '\n');
		}
		free(t);
		multiaddr_free(&addrs[i]);
	}
	free(addrs);
	char *now = (char *)aa_buf_steal(&fp, NULL);
	bool changed = h->addrs_fingerprint && strcmp(now, h->addrs_fingerprint) != 0;
	free(h->addrs_fingerprint);
	h->addrs_fingerprint = now;
	if (!changed)
		return;
	aa_log(AA_LOG_INFO, "listen addresses changed", NULL);
	for (size_t i = 0; i < h->nnotifiees; i++)
		if (h->notifiees[i]->on_local_addrs_changed)
			h->notifiees[i]->on_local_addrs_changed(h->notifiees[i]->user);
}

static void on_sweep(uv_timer_t *t)
{
	struct p2p_host *h = t->data;
	uint64_t now = aa_clock_mono_ns();
	if (h->cfg.addr_watch_interval_ns && now - h->last_addr_check_ns >= h->cfg.addr_watch_interval_ns) {
		h->last_addr_check_ns = now;
		check_local_addrs(h);
	}
	peerstore_gc(h->peers, now);
	for (struct host_conn *e = h->conns; e; e = e->next) {
		if (!e->established)
			continue;
		if (p2p_conn_stream_count(e->conn) > 0) {
			e->idle_since_ns = now;
			continue;
		}
		if (h->cfg.idle_timeout_ns && now - e->idle_since_ns >= h->cfg.idle_timeout_ns)
			p2p_conn_close(e->conn, 0);
	}
}

void p2p_host_stats(const struct p2p_host *h, struct p2p_host_stats *out)
{
	*out = h->stats;
	out->bytes_in = h->env.bytes_in;
	out->bytes_out = h->env.bytes_out;
	out->buffered_bytes = h->env.buffered_total;
	out->streams_reset_buffer_limit = h->env.streams_reset_buffer_limit;
	out->streams_reset_conn_buffer = h->env.streams_reset_conn_buffer;
	out->streams_refused_budget = h->env.streams_refused_budget;
	out->streams_refused_yamux = h->env.streams_refused_yamux;
	out->streams_open = 0;
	for (const struct host_conn *e = h->conns; e; e = e->next)
		out->streams_open += p2p_conn_stream_count(e->conn);
}

const struct p2p_proto_stats *p2p_host_protocol_stats(const struct p2p_host *h, size_t *n)
{
	*n = h->env.n_proto_stats;
	return h->env.proto_stats;
}

int p2p_host_new(uv_loop_t *loop, const struct p2p_host_config *cfg, struct p2p_host **out)
{
	if (!cfg->identity)
		return AA_EINVAL;
	struct p2p_host *h = aa_calloc(1, sizeof *h);
	h->loop = loop;
	h->cfg = *cfg;
	p2p_peer_id_from_public_key(cfg->identity->public_key, &h->self);
	h->peers = peerstore_new(cfg->max_peers ? cfg->max_peers : 4096, 64, 256);
	h->events = (struct p2p_conn_events){
		.on_established = host_on_established,
		.on_closed = host_on_closed,
		.find_handler = host_find_handler,
	};
	p2p_conn_env_init(&h->env, loop);
	h->env.identity = cfg->identity;
	h->env.local_peer = h->self;
	h->env.events = &h->events;
	h->env.owner = h;
	h->env.handshake_timeout_ns = cfg->handshake_timeout_ns;
	if (cfg->max_conn_buffer)
		h->env.conn_buffer_limit = cfg->max_conn_buffer;
	if (cfg->max_buffer_total)
		h->env.buffer_limit = cfg->max_buffer_total;
	/* A quarter of the connection budget may go to windows grown beyond 256 KiB; the rest
	 * admits (budget * 3/4) / 256 KiB streams (192 with the 64 MiB default). */
	h->env.yamux.growth_budget = h->env.conn_buffer_limit / 4;
	h->env.yamux.max_streams = cfg->max_streams_per_conn;
	h->env.yamux.max_unacked_inbound = cfg->max_inbound_streams_pending;
	if (cfg->yamux_max_window >= YAMUX_SPEC_WINDOW)
		h->env.yamux.max_window = cfg->yamux_max_window;
	rebuild_protocol_list(h);
	uv_timer_init(loop, &h->sweep);
	h->sweep.data = h;
	uv_timer_start(&h->sweep, on_sweep, HOST_SWEEP_MS, HOST_SWEEP_MS);
	uv_unref((uv_handle_t *)&h->sweep);
	*out = h;
	return 0;
}

static void host_free(struct p2p_host *h)
{
	for (size_t i = 0; i < h->nhandlers; i++)
		free(h->handlers[i].proto);
	free(h->handlers);
	free(h->protocol_list);
	free(h->listeners);
	free(h->notifiees);
	free(h->addrs_fingerprint);
	peerstore_free(h->peers);
	void (*cb)(void *) = h->close_cb;
	void *user = h->close_user;
	free(h);
	if (cb)
		cb(user);
}

static void on_final_close(uv_handle_t *hd)
{
	struct p2p_host *h = hd->data;
	if (--h->open_handles == 0) {
		/* The env's prepare handle is last; its close callback frees the read buffer. */
		host_free(h);
	}
}

static void maybe_finish_close(struct p2p_host *h)
{
	if (!h->closing || h->open_handles != 0)
		return;
	/* Only the sweep timer and the env remain. */
	h->open_handles = 2;
	uv_close((uv_handle_t *)&h->sweep, on_final_close);
	uv_prepare_stop(&h->env.flush_prepare);
	h->env.flush_prepare.data = h;
	uv_close((uv_handle_t *)&h->env.flush_prepare, on_final_close);
	free(h->env.read_buf);
	h->env.read_buf = NULL;
	aa_buf_free(&h->env.seal_buf);
}

static void on_listener_closed(uv_handle_t *hd)
{
	struct host_listener *l = hd->data;
	struct p2p_host *h = l->host;
	multiaddr_free(&l->requested);
	multiaddr_free(&l->bound);
	free(l);
	h->open_handles--;
	maybe_finish_close(h);
}

void p2p_host_close(struct p2p_host *h, void (*close_cb)(void *user), void *user)
{
	if (h->closing)
		return;
	h->closing = true;
	h->close_cb = close_cb;
	h->close_user = user;
	for (size_t i = 0; i < h->nlisteners; i++)
		uv_close((uv_handle_t *)&h->listeners[i]->tcp, on_listener_closed);
	h->nlisteners = 0;
	/* Dials: cancel pending connects and resolutions; their callbacks finish the dial. */
	for (struct host_dial *d = h->dials, *next; d; d = next) {
		next = d->next;
		if (d->tcp) {
			uv_close((uv_handle_t *)d->tcp, dial_tcp_closed);
			d->tcp = NULL;
		} else if (d->resolving) {
			uv_cancel((uv_req_t *)&d->gai);
		} else if (!d->upgrading) {
			dial_finish(d, NULL, AA_ECANCELED);
		}
	}
	for (struct host_conn *e = h->conns, *next; e; e = next) {
		next = e->next;
		p2p_conn_close(e->conn, 0);
	}
	maybe_finish_close(h);
}
