/* identify: the libp2p identify service (/ipfs/id/1.0.0) and identify push
 * (/ipfs/id/push/1.0.0) on a host. It answers identify requests with our protocol and agent
 * versions, public key, listen addresses, the address we see the peer at, our protocols and
 * a signed peer record; it identifies every newly connected peer and records the answer in
 * the host's peerstore; it pushes our new state to connected peers when our addresses or
 * protocols change, and applies the pushes it receives. Loop thread only. */
#ifndef AA_P2P_IDENTIFY_H
#define AA_P2P_IDENTIFY_H

#include "p2p/host.h"

struct p2p_identify;

/* A peer was identified (or sent a push). The peerstore holds the result. */
typedef void (*p2p_identify_cb)(void *user, struct p2p_conn *c, bool push);

/* Registers the handlers on h and subscribes to its connections. agent_version is copied
 * (e.g. "agentanycastd/0.1.0"). */
int p2p_identify_new(struct p2p_host *h, const char *agent_version, struct p2p_identify **out);
/* Unregisters and frees (call before closing the host, or after it closed). */
void p2p_identify_free(struct p2p_identify *idf);
/* Sets the one callback for identified peers (NULL to clear). */
void p2p_identify_set_callback(struct p2p_identify *idf, p2p_identify_cb cb, void *user);
/* Sends an identify push to every connected peer (handlers changed, say). Address changes
 * trigger it by themselves. */
void p2p_identify_push_all(struct p2p_identify *idf);
/* The most recent address a peer reported seeing us at (NULL if none). Borrowed. */
const struct multiaddr *p2p_identify_observed_addr(const struct p2p_identify *idf);

#endif
