/* noise: the libp2p Noise secure channel (libp2p noise spec, protocol ID "/noise"):
 * Noise_XX_25519_ChaChaPoly_SHA256 (Noise Protocol Framework rev 34) carrying libp2p's signed
 * static-key payload and early stream-muxer negotiation (libp2p connections spec,
 * "inlined-muxer-negotiation"). Everything here is sans-I/O: the caller feeds received bytes
 * and sends the bytes it takes out; there are no sockets and no timers (the caller owns the
 * handshake deadline).
 *
 * Three objects, each owned by whoever created it and used from one thread at a time:
 *  - struct p2p_noise_xx: the bare Noise XX HandshakeState (noise spec §5.3), unframed. The
 *    libp2p handshake is built on it; the unit tests drive it with published test vectors.
 *  - struct p2p_noise_handshake: the libp2p handshake, initiator or responder, over
 *    2-byte big-endian length-prefixed messages. On success it yields the remote identity,
 *    the negotiated muxer and a transport session.
 *  - struct p2p_noise_session: the two transport CipherStates; seals plaintext into frames
 *    (2-byte length ‖ ciphertext ‖ 16-byte tag) and opens frames fed in arbitrary pieces.
 *
 * Crypto: libsodium for X25519, SHA-256, HMAC-SHA-256 and the handshake AEAD; OpenSSL 3
 * libcrypto (one EVP_CIPHER_CTX per direction, keyed once) for the transport AEAD.
 *
 * Errors are negative AA_E… codes with a one-line reason (a `why` buffer, or the object's
 * error getter). A failed object stays failed: every later call returns the same code. */
#ifndef AA_P2P_NOISE_H
#define AA_P2P_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "p2p/keys.h"
#include "p2p/peerid.h"

#define P2P_NOISE_PROTOCOL_ID "/noise"
#define P2P_NOISE_PROTOCOL_NAME "Noise_XX_25519_ChaChaPoly_SHA256"

#define P2P_NOISE_DH_BYTES 32     /* X25519 keys and outputs (DHLEN) */
#define P2P_NOISE_HASH_BYTES 32   /* SHA-256 (HASHLEN) */
#define P2P_NOISE_TAG_BYTES 16    /* Poly1305 tag */
#define P2P_NOISE_LENGTH_BYTES 2  /* libp2p wire format: u16 big-endian length prefix */
/* noise spec §3: every Noise message is at most 65535 bytes. */
#define P2P_NOISE_MAX_MESSAGE 65535
/* Largest plaintext one transport frame carries. */
#define P2P_NOISE_MAX_PLAINTEXT (P2P_NOISE_MAX_MESSAGE - P2P_NOISE_TAG_BYTES)

/* Bounds on the stream-muxer lists (ours from config, the remote's from its payload). */
#define P2P_NOISE_MAX_MUXERS 16
#define P2P_NOISE_MAX_MUXER_NAME 256
#define P2P_NOISE_MAX_REMOTE_MUXERS 64

struct p2p_noise_session;

/* ---- Bare Noise XX (no framing, no libp2p payload) ------------------------------------ */

struct p2p_noise_xx;

/* A new XX HandshakeState with the given prologue (libp2p uses an empty one).
 * static_secret: our X25519 static private key, or NULL for a fresh random one.
 * ephemeral_secret: TESTS ONLY — a fixed ephemeral private key so published test vectors
 * can be reproduced; production code passes NULL (a fresh random key per handshake).
 * Both secrets are copied. */
struct p2p_noise_xx *p2p_noise_xx_new(bool initiator, const uint8_t *prologue, size_t prologue_len,
				      const uint8_t *static_secret, const uint8_t *ephemeral_secret);
void p2p_noise_xx_free(struct p2p_noise_xx *xx);

/* WriteMessage(): appends the next handshake message carrying payload to out. AA_EINVAL if
 * it is not our turn or the handshake is over, AA_ETOOBIG if the message would exceed 65535
 * bytes. */
int p2p_noise_xx_write_message(struct p2p_noise_xx *xx, const uint8_t *payload, size_t n,
			       struct aa_buf *out, char *why, size_t why_len);
/* ReadMessage(): processes the next handshake message msg[0..n) and appends its payload to
 * payload_out. AA_EPROTO for a wrong-sized message, AA_ECRYPTO for a MAC failure or an
 * X25519 output of all zeros (a low-order remote key), AA_EINVAL if it is not their turn. */
int p2p_noise_xx_read_message(struct p2p_noise_xx *xx, const uint8_t *msg, size_t n,
			      struct aa_buf *payload_out, char *why, size_t why_len);
/* True once all three messages were processed. */
bool p2p_noise_xx_is_done(const struct p2p_noise_xx *xx);
/* Our static public key (always available). */
const uint8_t *p2p_noise_xx_local_static(const struct p2p_noise_xx *xx);
/* The remote static public key once received, else NULL. */
const uint8_t *p2p_noise_xx_remote_static(const struct p2p_noise_xx *xx);
/* The handshake hash h (noise spec §11.2 channel binding); meaningful once done. */
void p2p_noise_xx_handshake_hash(const struct p2p_noise_xx *xx, uint8_t h[P2P_NOISE_HASH_BYTES]);
/* Split(): once done, creates the transport session (sending with the initiator→responder
 * key on the initiator, and vice versa) and wipes the keys from xx; only once.
 * *out is owned by the caller (p2p_noise_session_free). AA_EINVAL if not done or already
 * split, AA_ECRYPTO if OpenSSL cannot provide ChaCha20-Poly1305. */
int p2p_noise_xx_split(struct p2p_noise_xx *xx, struct p2p_noise_session **out, char *why,
		       size_t why_len);

/* ---- The libp2p handshake -------------------------------------------------------------- */

struct p2p_noise_config {
	bool initiator;
	/* Our libp2p identity; copied (and wiped on free). */
	const struct p2p_keypair *identity;
	/* If set, the remote's PeerID must equal it (normally the dialled peer); copied. */
	const struct p2p_peer_id *expected_peer;
	/* Our stream muxer protocol IDs, most preferred first, sent as early data; copied.
	 * Zero muxers: no early negotiation, the caller runs multistream-select afterwards. */
	const char *const *muxers;
	size_t muxer_count;
	/* TESTS ONLY: fixed X25519 private keys instead of fresh random ones (see
	 * p2p_noise_xx_new). NULL in production. */
	const uint8_t *test_static_secret;
	const uint8_t *test_ephemeral_secret;
};

struct p2p_noise_handshake;

/* A handshake in its initial state. An initiator queues its first message at once, so take
 * the output right after creating it. AA_EINVAL for a bad config (no identity, too many or
 * over-long muxer names). */
int p2p_noise_handshake_new(const struct p2p_noise_config *cfg, struct p2p_noise_handshake **out,
			    char *why, size_t why_len);
/* Wipes all secrets and frees. NULL is fine. */
void p2p_noise_handshake_free(struct p2p_noise_handshake *hs);

/* Feeds bytes received from the remote, in pieces of any size. *consumed tells how many
 * were used: all of them while the handshake is running; when a message completes the
 * handshake, the bytes after it are left unconsumed — they are transport frames (an
 * initiator may pipeline data right behind its last message) for the session.
 * Returns 0 (progress, possibly waiting for more) or a negative code; then the reason is
 * p2p_noise_handshake_error(). Errors: AA_EPROTO (malformed message or payload, missing
 * field), AA_ECRYPTO (MAC failure, low-order key, bad signature, PeerID mismatch),
 * AA_ENOTSUP (non-Ed25519 identity key, or muxer lists without a common entry),
 * AA_ETOOBIG (too many remote muxers). */
int p2p_noise_handshake_feed(struct p2p_noise_handshake *hs, const uint8_t *p, size_t n,
			     size_t *consumed);
/* Moves the bytes queued for sending (framed handshake messages) to the end of out. */
void p2p_noise_handshake_take_output(struct p2p_noise_handshake *hs, struct aa_buf *out);
/* True once the handshake succeeded (its last output may still need taking). */
bool p2p_noise_handshake_is_done(const struct p2p_noise_handshake *hs);
/* 0 while running or done, the failure code otherwise. */
int p2p_noise_handshake_status(const struct p2p_noise_handshake *hs);
/* The failure reason, or "" if there is none. */
const char *p2p_noise_handshake_error(const struct p2p_noise_handshake *hs);

/* Results, available only once done (NULL / 0 before, as the spec forbids using early data
 * of an unfinished handshake). All borrowed from hs. */
const uint8_t *p2p_noise_handshake_remote_public_key(const struct p2p_noise_handshake *hs);
const struct p2p_peer_id *p2p_noise_handshake_remote_peer_id(const struct p2p_noise_handshake *hs);
size_t p2p_noise_handshake_remote_muxer_count(const struct p2p_noise_handshake *hs);
/* The i-th muxer the remote listed (not NUL-terminated; any bytes). */
struct aa_slice p2p_noise_handshake_remote_muxer(const struct p2p_noise_handshake *hs, size_t i);
/* The negotiated muxer (one of ours), or NULL: the caller then negotiates one with
 * multistream-select. Rule (inlined-muxer-negotiation spec): the first muxer of the
 * initiator's list that the responder also lists; none if either list is empty; the
 * handshake fails (AA_ENOTSUP) if both lists are non-empty and share nothing. */
const char *p2p_noise_handshake_muxer(const struct p2p_noise_handshake *hs);
/* Hands the transport session to the caller (only once, only when done). */
int p2p_noise_handshake_take_session(struct p2p_noise_handshake *hs,
				     struct p2p_noise_session **out);

/* ---- Transport session ----------------------------------------------------------------- */

void p2p_noise_session_free(struct p2p_noise_session *s);

/* Seals p[0..n) into frames of at most P2P_NOISE_MAX_PLAINTEXT plaintext bytes each and
 * appends them to out. n == 0 appends nothing. AA_ERANGE if the send nonce would run out
 * (nothing is appended then; the session cannot send any more). */
int p2p_noise_session_encrypt(struct p2p_noise_session *s, const uint8_t *p, size_t n,
			      struct aa_buf *out);

/* Opens frames from bytes received in pieces of any size, without copying when a frame lies
 * whole inside p: it is decrypted in place there. Each call consumes some of p[0..n)
 * (*consumed > 0 whenever n > 0) and yields at most one frame's plaintext in *plain
 * (plain->n == 0 when the frame is still incomplete, or was empty). *plain points into p or
 * into the session and stays valid until the next call. Call again with the rest until all
 * of p is consumed. p is modified: frames are overwritten with their plaintext, and on a MAC
 * failure with bytes that must not be used.
 * Errors (the session can receive no more): AA_EPROTO for a frame shorter than the tag,
 * AA_ECRYPTO for a MAC failure, AA_ERANGE when the receive nonce runs out. */
int p2p_noise_session_read(struct p2p_noise_session *s, uint8_t *p, size_t n, size_t *consumed,
			   struct aa_slice *plain);
/* Convenience form: consumes all of p[0..n) and appends every completed frame's plaintext
 * to out. Same errors; on error out may already hold the plaintext of earlier frames. */
int p2p_noise_session_decrypt(struct p2p_noise_session *s, const uint8_t *p, size_t n,
			      struct aa_buf *out);
/* Reason for the last failure, or "". */
const char *p2p_noise_session_error(const struct p2p_noise_session *s);

/* TESTS ONLY: sets the next send and receive nonces (to exercise nonce exhaustion). */
void p2p_noise_session_set_nonces_for_test(struct p2p_noise_session *s, uint64_t send_nonce,
					   uint64_t recv_nonce);

#endif
