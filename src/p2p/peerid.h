/* peerid: libp2p PeerIDs (peer-ids spec, "Peer Ids") and did:key identifiers.
 * A PeerID is a multihash of the peer's PublicKey protobuf: identity for keys that marshal
 * to at most 42 bytes (Ed25519: always), sha2-256 otherwise. struct p2p_peer_id holds those
 * multihash bytes inline, so it is a plain value: copy it, compare it, use it as a hash key.
 * Pure functions, any thread. */
#ifndef AA_P2P_PEERID_H
#define AA_P2P_PEERID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2p/keys.h"

/* Largest valid PeerID: identity multihash (00 2a) of a 42-byte key. */
#define P2P_PEER_ID_MAX_BYTES 44
/* Room (with NUL) for either text form: base58btc (≤ 61 chars) or base32 CID (≤ 75). */
#define P2P_PEER_ID_STRING_MAX 80
/* Room (with NUL) for "did:key:z" + base58btc(ed 01 ‖ 32-byte key) (≤ 57 chars). */
#define P2P_DID_KEY_STRING_MAX 64

struct p2p_peer_id {
	uint8_t len; /* 0 for an unset id */
	uint8_t bytes[P2P_PEER_ID_MAX_BYTES];
};

/* PeerID of an Ed25519 public key (identity multihash of its 36-byte PublicKey protobuf). */
void p2p_peer_id_from_public_key(const uint8_t public_key[P2P_ED25519_PUBLIC_KEY_BYTES],
				 struct p2p_peer_id *id);
/* PeerID of any key given as a PublicKey protobuf (as Noise and identify carry it):
 * identity multihash up to 42 bytes, sha2-256 above. AA_EINVAL if not a canonical key
 * protobuf. The key material itself is not checked. */
int p2p_peer_id_from_public_key_protobuf(const uint8_t *p, size_t n, struct p2p_peer_id *id);
/* PeerID from its binary multihash (a /p2p/ multiaddr component, a DHT record…). Accepts
 * an identity multihash (≤ 42 bytes) of a canonical key protobuf, or a 32-byte sha2-256
 * multihash. AA_EINVAL otherwise, AA_ENOTSUP for other hash functions. */
int p2p_peer_id_from_bytes(const uint8_t *p, size_t n, struct p2p_peer_id *id);

/* Parses text (peer-ids spec, "Decoding"): a bare base58btc multihash ("12D3KooW…",
 * "Qm…", starting with '1' or 'Q'), or a CIDv1 with codec libp2p-key (0x72) in any
 * supported multibase ("bafz…"). s need not be NUL-terminated. */
int p2p_peer_id_parse(const char *s, size_t len, struct p2p_peer_id *id);
/* base58btc text into out (P2P_PEER_ID_STRING_MAX is enough); returns the length or
 * AA_ERANGE / AA_EINVAL (unset id). */
int p2p_peer_id_to_string(const struct p2p_peer_id *id, char *out, size_t out_cap);
/* CIDv1 text, libp2p-key codec, base32 ("bafz…"); same return convention. */
int p2p_peer_id_to_cid_string(const struct p2p_peer_id *id, char *out, size_t out_cap);

bool p2p_peer_id_equal(const struct p2p_peer_id *a, const struct p2p_peer_id *b);
/* Keyed hash (SipHash-2-4 with a per-process random key) so peers cannot choose IDs that
 * collide in our hash tables. */
uint64_t p2p_peer_id_hash(const struct p2p_peer_id *id);

/* The Ed25519 public key inside an identity PeerID. AA_ENOTSUP if the id is a sha2-256
 * hash or holds another key type, AA_EINVAL if malformed. */
int p2p_peer_id_ed25519_public_key(const struct p2p_peer_id *id,
				   uint8_t public_key[P2P_ED25519_PUBLIC_KEY_BYTES]);

/* "did:key:z" + base58btc(multicodec ed25519-pub 0xed ‖ key), i.e. "did:key:z6Mk…".
 * Returns the length or AA_ERANGE. */
int p2p_did_key_from_public_key(const uint8_t public_key[P2P_ED25519_PUBLIC_KEY_BYTES], char *out,
				size_t out_cap);
/* Parses a did:key back to the Ed25519 public key. AA_EINVAL if malformed, AA_ENOTSUP for
 * another multibase or key type. s need not be NUL-terminated. */
int p2p_did_key_parse(const char *s, size_t len, uint8_t public_key[P2P_ED25519_PUBLIC_KEY_BYTES]);

#endif
