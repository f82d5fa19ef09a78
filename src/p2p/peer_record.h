/* peer_record: libp2p signed envelopes (RFC 0002) and the peer records they carry (RFC 0003),
 * the "signedPeerRecord" of identify. A peer record lists a peer's addresses under a sequence
 * number; the envelope signs it with the peer's identity key under the domain
 * "libp2p-peer-record" and payload type 0x0301, as go-libp2p and js-libp2p do (RFC 0003 still
 * names an older domain and type that no implementation uses).
 *
 * Parsed envelopes borrow from the caller's bytes; a decoded struct p2p_peer_record owns its
 * addresses and is released with p2p_peer_record_free(). Only Ed25519 signatures are
 * verified (the only key type this daemon meets in practice); other key types are reported
 * as AA_ENOTSUP, never as valid. Pure functions, any thread. */
#ifndef AA_P2P_PEER_RECORD_H
#define AA_P2P_PEER_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "p2p/keys.h"
#include "p2p/multiaddr.h"
#include "p2p/peerid.h"

/* go-libp2p core/peer PeerRecordEnvelopeDomain. */
#define P2P_PEER_RECORD_DOMAIN "libp2p-peer-record"
/* The multicodec libp2p-peer-record (0x0301) written as the two bytes 03 01 (not as a
 * uvarint, which would be 81 06): what go-libp2p and js-libp2p put in payload_type. */
#define P2P_PEER_RECORD_PAYLOAD_TYPE "\x03\x01"
#define P2P_PEER_RECORD_PAYLOAD_TYPE_BYTES 2

/* A parsed Envelope: views into the bytes it was parsed from. */
struct p2p_envelope {
	struct aa_slice public_key;   /* PublicKey protobuf (peer-ids spec) */
	struct aa_slice payload_type;
	struct aa_slice payload;
	struct aa_slice signature;
};

struct p2p_peer_record {
	struct p2p_peer_id peer_id;
	uint64_t seq;
	struct multiaddr *addrs; /* owned, n_addrs entries */
	size_t n_addrs;
	size_t skipped_addrs;    /* empty or unparseable entries left out (as go and js do) */
	size_t dropped_addrs;    /* valid entries past the caller's max_addrs, left out */
};

/* RFC 0002 "Signature Production": signs uvarint(len) ‖ field for domain, payload_type and
 * payload with kp and appends the Envelope protobuf to out. */
void p2p_envelope_seal(const struct p2p_keypair *kp, const char *domain,
		       struct aa_slice payload_type, struct aa_slice payload, struct aa_buf *out);
/* Structural parse of an Envelope: fields 1, 2, 3 and 5 length-delimited and each at most
 * once, a well-formed PublicKey and a signature present; unknown fields are skipped (proto3
 * forward compatibility). Nothing is verified. 0 or AA_EINVAL. */
int p2p_envelope_parse(const uint8_t *p, size_t n, struct p2p_envelope *env);
/* RFC 0002 "Verification" of env's signature under domain: 0, AA_ECRYPTO (bad signature),
 * AA_ENOTSUP (signer key is not Ed25519) or AA_EINVAL (malformed Ed25519 key). */
int p2p_envelope_verify(const struct p2p_envelope *env, const char *domain);

/* The PeerRecord protobuf (the envelope's payload). Empty multiaddrs are left out, as
 * go-libp2p does, because peers reject them. */
void p2p_peer_record_encode(const struct p2p_peer_id *id, uint64_t seq,
			    const struct multiaddr *addrs, size_t n_addrs, struct aa_buf *out);
/* Parses a PeerRecord protobuf. peer_id must be a valid PeerID; addresses that are empty or
 * not parseable by multiaddr_from_bytes() are skipped and counted, and at most max_addrs are
 * kept. AA_EINVAL if malformed (*r is then left empty). */
int p2p_peer_record_decode(const uint8_t *p, size_t n, size_t max_addrs,
			   struct p2p_peer_record *r, char *why, size_t why_len);
void p2p_peer_record_free(struct p2p_peer_record *r);

/* Builds our signed peer record: a PeerRecord for kp's PeerID wrapped in an Envelope signed
 * by kp (domain and payload type above), appended to out. */
void p2p_peer_record_seal(const struct p2p_keypair *kp, uint64_t seq,
			  const struct multiaddr *addrs, size_t n_addrs, struct aa_buf *out);
/* Opens a signed peer record, in the order RFC 0003 "Certification / Verification" asks:
 * parse the envelope (AA_EINVAL), check the payload type (AA_EPROTO), verify the signature
 * under P2P_PEER_RECORD_DOMAIN (AA_ECRYPTO, AA_ENOTSUP), only then parse the record
 * (AA_EINVAL), and check that its peer_id is the PeerID of the envelope's key (AA_EPROTO).
 * On success *r is filled (free it); on failure *r is empty and why says what failed. */
int p2p_peer_record_open(const uint8_t *p, size_t n, size_t max_addrs, struct p2p_peer_record *r,
			 char *why, size_t why_len);

#endif
