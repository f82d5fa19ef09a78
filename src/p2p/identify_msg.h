/* identify_msg: the message layer of libp2p identify (/ipfs/id/1.0.0) and identify push
 * (/ipfs/id/push/1.0.0), sans-I/O: building our Identify message with its signed peer record,
 * framing it, reassembling frames from stream bytes, parsing a peer's message under limits
 * and verifying its signed peer record. The stream service on top feeds bytes in and takes
 * bytes out; nothing here does I/O, keeps time or logs.
 *
 * On the wire (identify spec; go-libp2p and js-libp2p): each Identify protobuf is preceded by
 * its length as an unsigned varint. A stream may carry several such frames (at most 10 in go
 * and js): go-libp2p sends its signed peer record in a second frame when the message would
 * exceed 2 KiB. The receiver merges the frames the protobuf way — singular fields: the last
 * one wins; repeated fields: appended — which is what concatenating the frames' payloads and
 * parsing the result once does. identify_reader does that concatenation.
 *
 * Ownership: struct identify_info owns everything it points to (identify_info_free());
 * struct identify_announce only borrows. Readers own their buffer (identify_reader_free()).
 * Pure functions and caller-owned objects: any thread, one thread per object. */
#ifndef AA_P2P_IDENTIFY_MSG_H
#define AA_P2P_IDENTIFY_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "p2p/keys.h"
#include "p2p/multiaddr.h"
#include "p2p/peer_record.h"
#include "p2p/peerid.h"

#define IDENTIFY_PROTOCOL_ID "/ipfs/id/1.0.0"
#define IDENTIFY_PUSH_PROTOCOL_ID "/ipfs/id/push/1.0.0"
/* REFERENCE A.4: the protocolVersion a go-libp2p host sends. */
#define IDENTIFY_PROTOCOL_VERSION "ipfs/0.1.0"

/* What we send: every frame at most 4 KiB (go-libp2p maxOwnIdentifyMsgSize, chosen so that
 * rust-libp2p accepts it), and the signed peer record in a frame of its own when one frame
 * would exceed 2 KiB (go-libp2p legacyIDSize, for older receivers). */
#define IDENTIFY_SEND_MAX_FRAME_BYTES 4096
#define IDENTIFY_SEND_SPLIT_BYTES 2048

/* Bounds on what we accept from a peer. The frame and frame-count bounds are at least what
 * go-libp2p (signedIDSize 8 KiB, maxMessages 10) and js-libp2p @libp2p/identify
 * (maxMessageSize 8 KiB, MAX_IDENTIFY_MESSAGES 10) accept, so anything they send passes. */
struct identify_limits {
	size_t max_frame_bytes;      /* one frame's payload (default 64 KiB) */
	size_t max_total_bytes;      /* all frames of one stream together (default 64 KiB) */
	unsigned max_frames;         /* frames on one stream (default 10) */
	size_t max_addrs;            /* listen addrs kept, and signed record addrs (128) */
	size_t max_protocols;        /* protocol IDs kept (1024, go's maxPeerProtocols) */
	size_t max_protocol_bytes;   /* longer protocol IDs are skipped (1024) */
	size_t max_string_bytes;     /* protocolVersion, agentVersion (1024) */
	size_t max_public_key_bytes; /* PublicKey protobuf (2048: RSA-8192 fits) */
};

void identify_limits_default(struct identify_limits *l);

/* A peer's Identify message, parsed. Absent fields are NULL / false / 0. Entries that cannot
 * be used are left out and counted rather than failing the message, as go-libp2p and
 * js-libp2p do: "skipped" = empty or unparseable, "dropped" = beyond the limits. */
struct identify_info {
	char *protocol_version; /* NUL-terminated; NULL if absent */
	char *agent_version;    /* NUL-terminated; NULL if absent */

	uint8_t *public_key;         /* PublicKey protobuf; NULL if absent */
	size_t public_key_len;
	struct p2p_peer_id peer_id;  /* PeerID of public_key (len 0 if absent). The caller must
				      * check it against the connection's remote peer. */
	bool has_ed25519_key;
	uint8_t ed25519_key[P2P_ED25519_PUBLIC_KEY_BYTES];

	bool has_listen_addrs;       /* the field occurred at least once */
	struct multiaddr *listen_addrs;
	size_t n_listen_addrs;
	size_t skipped_listen_addrs;
	size_t dropped_listen_addrs;

	bool has_observed_addr;      /* present and parseable */
	struct multiaddr observed_addr;
	bool skipped_observed_addr;  /* present but unparseable */

	bool has_protocols;          /* the field occurred at least once */
	char **protocols;            /* NUL-terminated strings */
	size_t n_protocols;
	size_t skipped_protocols;    /* empty, longer than the limit, or holding a NUL */
	size_t dropped_protocols;

	/* signedPeerRecord: the raw envelope (kept so it can be stored and passed on, RFC 0003
	 * "Peer Store APIs"), the outcome of verifying it, and the record when it verified. */
	uint8_t *signed_record;      /* NULL if absent */
	size_t signed_record_len;
	int record_status;           /* 0 = verified; else the AA_E… of p2p_peer_record_open(),
				      * or AA_EPROTO if it names another peer than public_key */
	char record_error[96];       /* why it was not verified ("" when it was) */
	struct p2p_peer_record record; /* filled only when record_status == 0 */
};

void identify_info_init(struct identify_info *info);
void identify_info_free(struct identify_info *info);
/* True if info carries a signed peer record that verified. */
bool identify_info_has_verified_record(const struct identify_info *info);

/* Parses one Identify message (or several frames' payloads concatenated, which protobuf
 * defines as their merge). Fails, leaving *info empty, only when the message as a whole
 * cannot be trusted: longer than max_total_bytes (AA_ETOOBIG); not well-formed protobuf, a
 * known field with the wrong wire type, a version string too long or holding a NUL, or a
 * publicKey that is too long or not a PublicKey protobuf (AA_EPROTO). Unusable addresses and
 * protocols are skipped and counted. A signed peer record that fails verification does not
 * fail the message (go-libp2p then falls back to listenAddrs); see record_status. */
int identify_msg_decode(const uint8_t *p, size_t n, const struct identify_limits *limits,
			struct identify_info *info, char *why, size_t why_len);

/* What we say about ourselves, borrowed from the caller. NULL / 0 fields are left out, so a
 * push carrying only what changed is the same struct with fewer fields. */
struct identify_announce {
	const char *protocol_version;
	const char *agent_version;
	/* Our identity key: sets publicKey and signs the peer record. NULL: neither is sent. */
	const struct p2p_keypair *key;
	bool signed_record;              /* send a signed peer record of listen_addrs (needs key) */
	uint64_t record_seq;             /* its seq: must grow with every new record (RFC 0003);
					  * go-libp2p uses the time in Unix nanoseconds */
	const struct multiaddr *listen_addrs; /* in order of preference */
	size_t n_listen_addrs;
	const struct multiaddr *observed_addr; /* the peer's address as we see it, or NULL */
	const char *const *protocols;
	size_t n_protocols;
};

/* The Identify protobuf of a, unframed, appended to out (no size limit; for tests and for
 * callers that frame it themselves). */
void identify_msg_encode(const struct identify_announce *a, struct aa_buf *out);
/* What to write on an identify or push stream, appended to out: the varint-framed message,
 * with the signed peer record in a second frame when one frame would exceed
 * IDENTIFY_SEND_SPLIT_BYTES. When the frames would exceed IDENTIFY_SEND_MAX_FRAME_BYTES,
 * listen addresses are left out from the end of the list (as go-libp2p trims its own);
 * *addrs_left_out (may be NULL) says how many. AA_ETOOBIG if it does not fit even without
 * addresses (too many protocols), AA_EINVAL if signed_record is set without a key. */
int identify_msg_write(const struct identify_announce *a, struct aa_buf *out,
		       size_t *addrs_left_out);

/* identify push (identify spec, "identify/push"): peers may send only the fields that
 * changed, and missing fields must be ignored. So every field present in *update replaces
 * the one in *current — a repeated field as a whole list, since it counts as present when it
 * occurred at least once — and absent fields leave *current alone. A signed record replaces
 * the current one only if it verified and its seq is greater than that of a verified current
 * record (RFC 0003: newer records have a greater seq). The taken parts move from *update to
 * *current; free *update afterwards as usual. Both must describe the same peer: the caller
 * checks update->peer_id when it is set. */
void identify_info_merge(struct identify_info *current, struct identify_info *update);

/* Reassembles the frames of one identify or push stream from stream bytes. */
struct identify_reader {
	struct identify_limits limits;
	struct aa_buf merged;   /* payloads of the frames so far, concatenated */
	size_t frame_start;     /* offset in merged of the frame being read */
	uint64_t frame_len;     /* its length, once the header is complete */
	uint8_t header[9];      /* the length varint as it arrives */
	size_t header_n;
	bool in_body;
	unsigned frames;        /* completed frames */
	int error;              /* sticky, once a feed failed */
};

void identify_reader_init(struct identify_reader *r, const struct identify_limits *limits);
void identify_reader_free(struct identify_reader *r);
/* Takes stream bytes p[0..n). Returns 1 when a frame completed, with *consumed the bytes used
 * (call again with the rest) and *frame (may be NULL) its payload, borrowed until the next
 * call; 0 when all n bytes were taken and no frame completed; or a negative code, after which
 * the stream must be reset and every later call fails the same way: AA_ETOOBIG if a frame
 * announces more than max_frame_bytes or the frames together exceed max_total_bytes,
 * AA_EPROTO for a malformed length or a frame beyond max_frames. */
int identify_reader_feed(struct identify_reader *r, const uint8_t *p, size_t n, size_t *consumed,
			 struct aa_slice *frame);
/* At the end of the stream: 0 and *msg (borrowed from r) = every frame's payload
 * concatenated, ready for identify_msg_decode(); AA_ETRUNC if the stream ended inside a
 * frame, AA_EPROTO if it carried no frame, or the sticky error. */
int identify_reader_finish(struct identify_reader *r, struct aa_slice *msg);

#endif
