/* mdns: libp2p mDNS peer discovery (libp2p specs discovery/mdns.md) on a libuv loop.
 * The service queries 224.0.0.251:5353 (and ff02::fb) for _p2p._udp.local on every up,
 * multicast-capable interface at start and then every query interval, answers such queries
 * with our listen addresses, and reports every peer it hears of. It shares port 5353 with
 * other responders on the host (SO_REUSEADDR + SO_REUSEPORT) and keeps multicast loopback
 * on, so daemons on one host find each other.
 *
 * Ownership: mdns_service_new() allocates the service; mdns_service_close() starts an
 * asynchronous close and the memory is freed after the last libuv handle has closed, just
 * before on_closed runs. Loop thread only. */
#ifndef AA_P2P_MDNS_H
#define AA_P2P_MDNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "p2p/multiaddr.h"
#include "p2p/peerid.h"

/* js-libp2p's default; go-libp2p (zeroconf) starts at 4 s and backs off to 60 s. */
#define MDNS_DEFAULT_QUERY_INTERVAL_MS 10000
/* RFC 6762 §6: a record is multicast at most once per second per interface. */
#define MDNS_MIN_RESPONSE_INTERVAL_MS 1000

struct mdns_service;

/* Our current listen addresses, asked for each time we answer. Sets *addrs to an array
 * borrowed until the function's caller returns to the loop; returns its length. */
typedef size_t (*mdns_listen_addrs_fn)(void *user, const struct multiaddr **addrs);

/* A peer other than us answered: its addresses without the /p2p suffix (n ≥ 1), borrowed
 * for the call. Called for every response heard, so the same peer comes back each time it
 * answers anyone's query; deduplicate in the caller. */
typedef void (*mdns_peer_fn)(void *user, const struct p2p_peer_id *peer,
			     const struct multiaddr *addrs, size_t n_addrs);

struct mdns_config {
	const char *peer_id;               /* our PeerID, text form */
	mdns_listen_addrs_fn listen_addrs; /* required when enabled */
	uint64_t query_interval_ms;        /* 0: MDNS_DEFAULT_QUERY_INTERVAL_MS */
	bool enabled;                      /* false: a service that does nothing (REFERENCE A.5) */
	bool ipv6;                         /* also use ff02::fb (failure to set it up is logged,
					      not fatal) */
};

/* Creates and starts the service (first query after 20–120 ms). user is passed to both
 * callbacks. Returns 0, AA_EINVAL for a bad config (peer id, missing callback), or AA_EIO if
 * no socket could be set up (logged; what was set up is freed as the loop runs on). A
 * disabled service opens no socket but must still be closed. */
int mdns_service_new(uv_loop_t *loop, const struct mdns_config *config, mdns_peer_fn on_peer,
		     void *user, struct mdns_service **out);

/* Sends our response on every interface now (subject to the once-per-second limit), e.g.
 * after the listen addresses changed. */
void mdns_service_announce(struct mdns_service *s);

/* Our instance name (the random peer-name label), for logs and tests. */
const char *mdns_service_instance(const struct mdns_service *s);

/* Stops everything; no callback runs after this call except on_closed (may be NULL), which
 * runs once the service is freed. */
void mdns_service_close(struct mdns_service *s, void (*on_closed)(void *arg), void *arg);

#endif
