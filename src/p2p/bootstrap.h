/* bootstrap: keeps the node connected to its configured bootstrap peers. Each peer is dialled
 * at start; a failed dial, or the loss of the last connection to it, schedules a redial with
 * exponential backoff (1 s doubling to 60 s, with ±20 % jitter), reset once connected.
 * (The reference dials once and gives up.) Loop thread only. */
#ifndef AA_P2P_BOOTSTRAP_H
#define AA_P2P_BOOTSTRAP_H

#include <stddef.h>

#include "p2p/host.h"

struct p2p_bootstrap;

/* addrs: full /…/p2p/<id> multiaddrs (copied). Entries without /p2p are skipped with a log
 * line. Dialling starts at once. */
int p2p_bootstrap_start(struct p2p_host *h, const struct multiaddr *addrs, size_t n,
			struct p2p_bootstrap **out);
/* Stops redialling; frees after its timers closed (no callback needed). */
void p2p_bootstrap_stop(struct p2p_bootstrap *b);
/* How many bootstrap peers are connected now. */
size_t p2p_bootstrap_connected(const struct p2p_bootstrap *b);

#endif
