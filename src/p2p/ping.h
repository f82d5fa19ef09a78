/* ping: the libp2p ping protocol (/ipfs/ping/1.0.0, libp2p/specs ping/ping.md): the dialer
 * sends 32 random bytes, the listener echoes them, the dialer measures the round trip.
 * Loop thread only. */
#ifndef AA_P2P_PING_H
#define AA_P2P_PING_H

#include <stdint.h>

#include "p2p/host.h"

#define P2P_PING_PROTOCOL_ID "/ipfs/ping/1.0.0"
#define P2P_PING_PAYLOAD 32

/* Serves ping on h. */
int p2p_ping_serve(struct p2p_host *h);

/* Called after each round trip (err 0, rtt_ns) or once with an error (rtt_ns 0); `last` is
 * true on the final call, after which the ping is over. */
typedef void (*p2p_ping_cb)(void *user, int err, uint64_t rtt_ns, bool last);

/* Sends `count` pings one after another on one stream to a connected peer. AA_ENOENT when
 * not connected. */
int p2p_ping(struct p2p_host *h, const struct p2p_peer_id *peer, unsigned count, p2p_ping_cb cb,
	     void *user);

#endif
