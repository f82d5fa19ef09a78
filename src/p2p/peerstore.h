/* peerstore: what this host knows about other peers, keyed by PeerID (the role of
 * go-libp2p's peerstore): their addresses, each with an expiry; the protocols they support;
 * their agent and protocol versions; their Ed25519 public key; their ping latency; and the
 * sequence number of the last signed peer record accepted from them.
 *
 * Everything is bounded: peers (the least recently updated unprotected peer is evicted to
 * make room), addresses and protocols per peer, and the length of every string. Time is
 * passed in as monotonic nanoseconds (now_ns, e.g. from aa_clock_mono_ns()); the peerstore
 * never reads a clock, so tests drive it with any timeline.
 *
 * Ownership: the caller owns the store (peerstore_new / peerstore_free). It copies what it
 * is given. Pointers it hands out (addresses, protocol strings, versions) borrow from it and
 * stay valid until the next call that changes the store; copy them to keep them.
 * Threading: one thread (the loop) at a time. */
#ifndef AA_P2P_PEERSTORE_H
#define AA_P2P_PEERSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2p/keys.h"
#include "p2p/multiaddr.h"
#include "p2p/peerid.h"

/* An address TTL that never expires: for the addresses of connected peers. */
#define PEERSTORE_TTL_PERMANENT UINT64_MAX
/* Longest protocol ID stored: the multistream-select bound on a protocol name. */
#define PEERSTORE_PROTOCOL_MAX_LEN 256
/* Longest agent or protocol version stored. */
#define PEERSTORE_VERSION_MAX_LEN 256
/* Round-trip times above this are recorded as this: nothing real takes an hour, and one
 * absurd sample should not swamp the average for long. */
#define PEERSTORE_LATENCY_MAX_NS (3600ull * 1000000000ull)

struct peerstore;

/* A store for at most max_peers peers, each with at most max_addrs_per_peer addresses and
 * max_protocols_per_peer protocols. Returns NULL if any bound is 0. Size max_peers above
 * the connection limit: connected peers are protected from eviction, and when every stored
 * peer is protected, new peers are refused (AA_ENOMEM). */
struct peerstore *peerstore_new(size_t max_peers, size_t max_addrs_per_peer,
				size_t max_protocols_per_peer);
void peerstore_free(struct peerstore *ps);

/* Common to the functions below:
 * - id must be set (len 1..P2P_PEER_ID_MAX_BYTES), else AA_EINVAL.
 * - Setters (add_addrs, set_protocols, add_protocols, set_*_version, set_public_key,
 *   record_latency, accept_record_seq, protect(true)) create the peer if it is unknown and
 *   count as an update of it. Creating a peer in a full store first evicts the least
 *   recently updated unprotected peer; if every peer is protected they fail with
 *   AA_ENOMEM. A setter that rejects its arguments changes nothing and creates nothing.
 * - Other functions on an unknown peer return AA_ENOENT (int), false, NULL or 0. */

/* --- addresses ---------------------------------------------------------------------------
 * Each address expires at now_ns + ttl_ns (PEERSTORE_TTL_PERMANENT: never). An address is
 * live while now_ns < its expiry; expired ones are dropped lazily, by the next call that
 * passes a now_ns for that peer, and by peerstore_gc(). */

/* Adds addresses with a TTL. Re-adding a known address extends its expiry (never shortens
 * it; use peerstore_set_addrs_ttl for that). ttl_ns 0 does nothing. Each address must be
 * non-empty (AA_EINVAL). When a peer already has max_addrs_per_peer live addresses, a new
 * address replaces the one that expires first if it outlives it, and is dropped otherwise;
 * the call then returns AA_ENOMEM though the other addresses were stored. */
int peerstore_add_addrs(struct peerstore *ps, const struct p2p_peer_id *id,
			const struct multiaddr *addrs, size_t n, uint64_t ttl_ns, uint64_t now_ns);
/* Sets every address of the peer to expire ttl_ns after now_ns (shortening or extending);
 * ttl_ns 0 removes them all. */
int peerstore_set_addrs_ttl(struct peerstore *ps, const struct p2p_peer_id *id, uint64_t ttl_ns,
			    uint64_t now_ns);
/* Like peerstore_set_addrs_ttl, but only for the addresses last added or set with
 * old_ttl_ns (e.g. PEERSTORE_TTL_PERMANENT → a shorter TTL when a peer disconnects). */
int peerstore_update_addrs_ttl(struct peerstore *ps, const struct p2p_peer_id *id,
			       uint64_t old_ttl_ns, uint64_t new_ttl_ns, uint64_t now_ns);
/* Removes every address of the peer. */
int peerstore_clear_addrs(struct peerstore *ps, const struct p2p_peer_id *id);
/* Stores pointers to up to cap live addresses in out (borrowed) and returns how many live
 * addresses the peer has (which may exceed cap). Oldest first. */
size_t peerstore_get_addrs(struct peerstore *ps, const struct p2p_peer_id *id, uint64_t now_ns,
			   const struct multiaddr **out, size_t cap);

/* --- protocols ---------------------------------------------------------------------------
 * Protocol IDs are NUL-terminated, 1..PEERSTORE_PROTOCOL_MAX_LEN bytes (else AA_EINVAL).
 * Duplicates are stored once. A set that would exceed max_protocols_per_peer is refused
 * whole with AA_ETOOBIG. */

/* Replaces the peer's protocols (as identify reports the full list). */
int peerstore_set_protocols(struct peerstore *ps, const struct p2p_peer_id *id,
			    const char *const *protos, size_t n);
/* Adds to the peer's protocols. */
int peerstore_add_protocols(struct peerstore *ps, const struct p2p_peer_id *id,
			    const char *const *protos, size_t n);
/* Removes protocols from the peer's set (absent ones are ignored). */
int peerstore_remove_protocols(struct peerstore *ps, const struct p2p_peer_id *id,
			       const char *const *protos, size_t n);
bool peerstore_supports_protocol(const struct peerstore *ps, const struct p2p_peer_id *id,
				 const char *proto);
/* Stores up to cap protocol IDs (borrowed; sorted bytewise) in out and returns how many the
 * peer has. */
size_t peerstore_get_protocols(const struct peerstore *ps, const struct p2p_peer_id *id,
			       const char **out, size_t cap);

/* --- identify metadata -------------------------------------------------------------------
 * Versions are NUL-terminated, at most PEERSTORE_VERSION_MAX_LEN bytes (else AA_ETOOBIG). */

int peerstore_set_agent_version(struct peerstore *ps, const struct p2p_peer_id *id,
				const char *version);
/* Borrowed; NULL if unknown. */
const char *peerstore_get_agent_version(const struct peerstore *ps, const struct p2p_peer_id *id);
int peerstore_set_protocol_version(struct peerstore *ps, const struct p2p_peer_id *id,
				   const char *version);
const char *peerstore_get_protocol_version(const struct peerstore *ps,
					   const struct p2p_peer_id *id);

/* Stores the peer's Ed25519 public key, which must be the key the PeerID names: for an
 * identity PeerID, p2p_peer_id_from_public_key(key) must equal id; for a sha2-256 PeerID,
 * the multihash of the key's PublicKey protobuf must. AA_ECRYPTO otherwise. */
int peerstore_set_public_key(struct peerstore *ps, const struct p2p_peer_id *id,
			     const uint8_t key[P2P_ED25519_PUBLIC_KEY_BYTES]);
/* True with the peer's key: the stored one or, for an identity PeerID of an Ed25519 key,
 * the key inside the id (even for a peer not in the store). */
bool peerstore_get_public_key(const struct peerstore *ps, const struct p2p_peer_id *id,
			      uint8_t key[P2P_ED25519_PUBLIC_KEY_BYTES]);

/* --- latency -----------------------------------------------------------------------------*/

/* Folds a ping round-trip time into the peer's latency: an exponentially weighted moving
 * average with alpha 0.1 (new = 0.1 * rtt + 0.9 * old); the first sample sets it.
 * rtt_ns is clamped to PEERSTORE_LATENCY_MAX_NS. */
int peerstore_record_latency(struct peerstore *ps, const struct p2p_peer_id *id, uint64_t rtt_ns);
/* True with the average in *ns once a sample was recorded. */
bool peerstore_get_latency(const struct peerstore *ps, const struct p2p_peer_id *id, uint64_t *ns);

/* --- signed peer records -----------------------------------------------------------------*/

/* Records that a signed peer record with sequence number seq was accepted from the peer
 * (call it after verifying the record): 0 if seq is newer than the last accepted one (or
 * the first), AA_EEXIST if not (a replay or a stale record: ignore its contents). */
int peerstore_accept_record_seq(struct peerstore *ps, const struct p2p_peer_id *id, uint64_t seq);
/* True with the last accepted sequence number. */
bool peerstore_get_record_seq(const struct peerstore *ps, const struct p2p_peer_id *id,
			      uint64_t *seq);

/* --- peers -------------------------------------------------------------------------------*/

/* Protected peers (connected ones) are never evicted nor collected by peerstore_gc.
 * Protecting an unknown peer creates it; unprotecting an unknown one does nothing (0). */
int peerstore_protect(struct peerstore *ps, const struct p2p_peer_id *id, bool protect);
bool peerstore_is_protected(const struct peerstore *ps, const struct p2p_peer_id *id);
bool peerstore_has_peer(const struct peerstore *ps, const struct p2p_peer_id *id);
size_t peerstore_peer_count(const struct peerstore *ps);
/* Copies up to cap PeerIDs into out (in no particular order) and returns how many peers
 * there are. */
size_t peerstore_list_peers(const struct peerstore *ps, struct p2p_peer_id *out, size_t cap);
/* Forgets the peer and all it held, protected or not. */
int peerstore_remove_peer(struct peerstore *ps, const struct p2p_peer_id *id);
/* Drops expired addresses and then every unprotected peer left without a live address;
 * returns how many peers it removed. Without an address the peer cannot be dialled, and
 * what else we knew of it (protocols, versions, key, latency, record sequence) is learned
 * again by identify and ping when it next connects, so it is not worth a slot. Forgetting
 * the record sequence (as go-libp2p also does once a peer's addresses expire) lets an old
 * record be accepted again, which can only offer addresses; a dial to them still
 * authenticates the peer. Call it periodically, e.g. every minute. */
size_t peerstore_gc(struct peerstore *ps, uint64_t now_ns);

#endif
