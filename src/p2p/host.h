/* host: the libp2p node on one libuv loop. It listens on TCP multiaddrs, dials peers (trying
 * their addresses in turn, one dial per peer at a time however many callers ask), keeps the
 * table of connections (several per peer allowed; the newest established one is preferred),
 * routes inbound streams to handlers registered by protocol ID, tells subscribers when peers
 * connect and disconnect, and enforces the connection limits of the configuration.
 *
 * Ownership: the caller owns the host (p2p_host_new / p2p_host_close, which is asynchronous:
 * free nothing the host borrows until its close callback ran). Threading: the loop thread. */
#ifndef AA_P2P_HOST_H
#define AA_P2P_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "p2p/conn.h"
#include "p2p/keys.h"
#include "p2p/multiaddr.h"
#include "p2p/peerid.h"
#include "p2p/peerstore.h"

struct p2p_host;

struct p2p_host_config {
	const struct p2p_keypair *identity; /* borrowed for the host's lifetime */
	uint32_t max_connections;           /* established + pending; beyond: refuse */
	uint32_t max_pending_handshakes;    /* inbound connections still upgrading */
	uint32_t conn_rate_per_ip;          /* new inbound per second per IP; 0 = unlimited */
	uint64_t handshake_timeout_ns;
	uint64_t dial_timeout_ns;           /* per address */
	uint64_t idle_timeout_ns;           /* close connections without streams this long */
	uint32_t max_streams_per_conn;
	uint32_t max_inbound_streams_pending;
	uint32_t yamux_max_window;
	size_t max_conn_buffer;             /* bytes held for slow handlers, per connection */
	size_t max_buffer_total;            /* the same, over all connections */
	uint32_t max_peers;                 /* peerstore bound */
	uint64_t addr_watch_interval_ns;    /* how often interface addresses are re-read */
	uint64_t disconnected_addr_ttl_ns;  /* addresses of a peer kept this long after it left */
};

/* Sensible defaults (the [limits] defaults of the configuration). */
void p2p_host_config_default(struct p2p_host_config *cfg);

/* Peer connection notifications. A subscriber's callbacks run on the loop thread. */
struct p2p_host_notifiee {
	/* Every new established connection (a peer may connect several times). */
	void (*on_connected)(void *user, struct p2p_conn *c);
	/* A connection closed; `last` when the peer has no other connection left. */
	void (*on_disconnected)(void *user, struct p2p_conn *c, bool last);
	/* Our advertised listen addresses changed (a listener was added, or an interface
	 * address appeared or went away under a wildcard listener). */
	void (*on_local_addrs_changed)(void *user);
	void *user;
};

/* Upper bounds (ns, inclusive) of the dial duration histogram buckets (p2p_host_stats
 * dial_ns_bucket); a last bucket takes what is above the last bound. */
#define P2P_DIAL_BUCKETS 15
extern const uint64_t p2p_dial_bounds_ns[P2P_DIAL_BUCKETS];

/* Index of dial_ns_bucket / dial_ns_sum. */
enum p2p_dial_result { P2P_DIAL_OK = 0, P2P_DIAL_FAILED = 1 };

struct p2p_host_stats {
	uint32_t connections;        /* established */
	uint32_t pending;            /* upgrading (both directions) */
	uint64_t inbound_total, outbound_total; /* TCP connections that started an upgrade */
	uint64_t established_inbound, established_outbound; /* upgrades that succeeded */
	uint64_t handshakes_failed;
	uint64_t handshake_failures[P2P_HS_FAIL_COUNT]; /* by enum p2p_handshake_failure */
	uint64_t streams_open;       /* streams on established connections now */
	uint64_t buffered_bytes;     /* held for handlers now */
	uint64_t streams_reset_buffer_limit; /* reset for holding too much (both limits) */
	uint64_t streams_reset_conn_buffer;  /* of those, for max_conn_buffer */
	uint64_t streams_refused_budget;     /* refused or not opened: windows would not fit
					      * max_conn_buffer (see conn.h) */
	uint64_t streams_refused_yamux;      /* remote streams refused at max_streams_per_conn
					      * or max_inbound_streams_pending */
	uint64_t refused_limit;      /* inbound refused by max_connections / pending / rate */
	uint64_t refused_max_connections, refused_pending_handshakes, refused_conn_rate;
	uint64_t bytes_in, bytes_out;
	/* Dials (one per peer however many callers wait on it), from p2p_host_dial() to the
	 * connection or to the failure of its last address: per-bucket counts (not
	 * cumulative, the last one above every bound) and the total time, by result. */
	uint64_t dial_ns_bucket[2][P2P_DIAL_BUCKETS + 1];
	uint64_t dial_ns_sum[2];
};

int p2p_host_new(uv_loop_t *loop, const struct p2p_host_config *cfg, struct p2p_host **out);
/* Closes listeners and every connection; close_cb (may be NULL) runs once all handles are
 * closed and the host is freed. */
void p2p_host_close(struct p2p_host *h, void (*close_cb)(void *user), void *user);

const struct p2p_peer_id *p2p_host_peer_id(const struct p2p_host *h);
const struct p2p_keypair *p2p_host_identity(const struct p2p_host *h);
uv_loop_t *p2p_host_loop(const struct p2p_host *h);
/* What the host knows about peers: addresses (permanent while connected, then
 * disconnected_addr_ttl_ns), public keys, and what identify fills in. Owned by the host. */
struct peerstore *p2p_host_peerstore(const struct p2p_host *h);

/* Listens on a /ip4|ip6/…/tcp/PORT multiaddr (port 0 = any). AA_ENOTSUP for other
 * transports, AA_EIO (detail logged) when the bind fails. */
int p2p_host_listen(struct p2p_host *h, const struct multiaddr *ma);
/* The addresses we listen on, with the bound ports; wildcard addresses are expanded to the
 * interface addresses of that family (loopback included). Fresh copies: free each with
 * multiaddr_free and the array with free(). */
int p2p_host_listen_addrs(const struct p2p_host *h, struct multiaddr **out, size_t *n);

/* Registers the handler for inbound streams of `proto` (copied). Replaces an earlier one. */
int p2p_host_set_handler(struct p2p_host *h, const char *proto,
			 const struct p2p_stream_handler *handler, void *user);
void p2p_host_remove_handler(struct p2p_host *h, const char *proto);
/* The registered protocol IDs (borrowed; valid until handlers change). */
const char *const *p2p_host_protocols(const struct p2p_host *h, size_t *n);

int p2p_host_subscribe(struct p2p_host *h, const struct p2p_host_notifiee *n);
void p2p_host_unsubscribe(struct p2p_host *h, const struct p2p_host_notifiee *n);

/* Connects to `peer` through any of addrs (copied; /p2p components are ignored; tried in
 * order). An existing established connection answers at once. Concurrent calls for one peer
 * share one dial. cb runs exactly once, on the loop, never from inside this call: with the
 * connection, or NULL and the error of the last address (AA_ETIMEDOUT, AA_EIO, AA_ECRYPTO for
 * a peer that is not who we expected, …). */
typedef void (*p2p_host_dial_cb)(void *user, struct p2p_conn *c, int err);
int p2p_host_dial(struct p2p_host *h, const struct p2p_peer_id *peer, const struct multiaddr *addrs,
		  size_t n, p2p_host_dial_cb cb, void *user);
/* Dials a full /…/p2p/<id> multiaddr. AA_EINVAL without a /p2p component. */
int p2p_host_connect(struct p2p_host *h, const struct multiaddr *ma, p2p_host_dial_cb cb, void *user);

/* The preferred established connection to peer, or NULL. */
struct p2p_conn *p2p_host_conn_to(const struct p2p_host *h, const struct p2p_peer_id *peer);
/* Opens a stream to a connected peer. AA_ENOENT when not connected. */
int p2p_host_new_stream(struct p2p_host *h, const struct p2p_peer_id *peer,
			const char *const *protos, size_t n, const struct p2p_stream_handler *handler,
			void *user, struct p2p_stream **out);
/* Fills out[0..cap) with the distinct peers we have an established connection to, newest
 * connection first; returns how many there are (may exceed cap). */
size_t p2p_host_connected_peers(const struct p2p_host *h, struct p2p_peer_id *out, size_t cap);

/* Closes every connection to peer. */
void p2p_host_disconnect(struct p2p_host *h, const struct p2p_peer_id *peer);

void p2p_host_stats(const struct p2p_host *h, struct p2p_host_stats *out);
/* Streams by negotiated protocol (rows [0..*n), see struct p2p_proto_stats); borrowed, valid
 * until the next loop turn. */
const struct p2p_proto_stats *p2p_host_protocol_stats(const struct p2p_host *h, size_t *n);

#endif
