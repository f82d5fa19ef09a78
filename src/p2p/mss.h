/* mss: multistream-select 1.0 (/multistream/1.0.0) protocol negotiation as a sans-I/O state
 * machine: the caller feeds received bytes in and drains bytes to send out; no sockets, no
 * timers (the caller owns the negotiation deadline). One `struct mss` per channel (a raw
 * connection being upgraded, or a new stream); the caller allocates it, nothing to free.
 * Not thread-safe: one thread drives one object.
 *
 * Wire format (libp2p connections spec, "Protocol Negotiation"): every message is an unsigned
 * varint length, then UTF-8 text ending in '\n'; the length counts the newline.
 *
 * Driving it:
 *   1. mss_initiator_init() or mss_responder_init().
 *   2. Whenever mss_output() yields bytes, send them and call mss_output_consumed().
 *   3. Feed every received chunk to mss_receive(p, n, &consumed):
 *      - MSS_DONE: a protocol was agreed (mss_selected()); p[consumed..n) is already
 *        application data of that protocol and belongs to the application.
 *      - MSS_AGAIN with consumed == n: wait for more input.
 *      - MSS_AGAIN with consumed < n: the reply buffer is full; drain mss_output() and call
 *        again with p + consumed.
 *      - negative: AA_EPROTO (peer broke the protocol) or AA_ENOTSUP (no proposal accepted);
 *        close the channel. The object stays failed and keeps returning that error.
 *   4. Application data may be sent once mss_can_send_app() is true: after MSS_DONE, or for a
 *      lazy initiator as soon as its proposal has been handed out (spec A.3, go-libp2p's
 *      lazy negotiation). The output must be drained first so negotiation bytes precede it.
 *
 * Size: sizeof(struct mss) is 664 bytes on LP64 (a 257-byte input line buffer and a
 * 320-byte reply buffer), asserted below 1536 in mss.c. The `ls` reply is generated into the
 * reply buffer piecewise, so it needs no buffer of its own. */
#ifndef AA_P2P_MSS_H
#define AA_P2P_MSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define MSS_PROTOCOL_ID "/multistream/1.0.0"
/* Largest message accepted, length prefix excluded, newline included. go-multistream and
 * js-libp2p reject anything above 1024, so nothing larger can interoperate. */
#define MSS_MAX_MESSAGE 1024
/* Longest protocol ID this side proposes, accepts or echoes (newline excluded). Longer
 * proposals from a peer are answered "na" without being buffered: none of ours is longer. */
#define MSS_MAX_PROTO_LEN 256
/* Unsupported proposals plus `ls` requests a responder answers before it gives up on the
 * peer, so a peer cannot keep a stream busy with an endless "na" loop. */
#define MSS_MAX_REJECTS 32
/* Reply buffer: room for the header, one maximal echo and a few pipelined "na". */
#define MSS_OUT_CAP 320

/* mss_receive() results besides negative AA_E… codes. */
enum {
	MSS_AGAIN = 0,
	MSS_DONE = 1,
};

/* Does the responder speak `proto` (len bytes, also NUL-terminated)? Called once per
 * proposal of at most MSS_MAX_PROTO_LEN bytes; "ls" and "na" never reach it. */
typedef bool (*mss_supported_fn)(void *user, const char *proto, size_t len);

struct mss {
	uint8_t role;       /* enum mss_role (mss.c) */
	uint8_t state;      /* enum mss_state (mss.c) */
	uint8_t reader;     /* enum mss_reader (mss.c): where in the current message */
	bool lazy;
	bool ls_active;     /* an `ls` reply is still being generated into out[] */
	uint8_t len_n;      /* length-prefix bytes gathered in len_buf */
	uint8_t len_buf[4];
	uint8_t rejects;    /* "na"/"ls" replies sent (responder) */
	uint16_t msg_len;   /* announced length of the current message, newline included */
	uint16_t msg_got;   /* bytes of it seen so far */
	uint16_t out_n;     /* bytes pending in out[] */
	uint16_t ls_pos;    /* byte offset inside the `ls` entry being generated */
	int err;            /* sticky error once failed */
	size_t next;        /* initiator: proposal in flight; responder: `ls` entry being sent */
	size_t ls_count;    /* responder: list entries that fit in the `ls` reply */
	const char *const *protos; /* borrowed; initiator: proposals, responder: `ls` list */
	size_t nprotos;
	mss_supported_fn supported;
	void *user;
	const char *selected; /* NUL-terminated; into protos[] or in[] */
	uint8_t in[MSS_MAX_PROTO_LEN + 1];
	uint8_t out[MSS_OUT_CAP];
};

/* Initiator (dialer). protos: n >= 1 protocol IDs in order of preference, each 1..
 * MSS_MAX_PROTO_LEN printable UTF-8 bytes; the array and strings are borrowed and must
 * outlive the negotiation (mss_selected() points into them). Queues the header and the first
 * proposal. Eager: on "na" the next proposal follows; AA_ENOTSUP when all are refused.
 * lazy: requires n == 1; the caller may send application data right after the proposal and
 * a "na" answer fails with AA_ENOTSUP. Returns 0 or AA_EINVAL. */
int mss_initiator_init(struct mss *m, const char *const *protos, size_t n, bool lazy);

/* Responder (listener). supported decides each proposal; list (borrowed, may be NULL when
 * `ls` is not offered; then "ls" gets "na") is what an `ls` request reports, truncated to the
 * entries that fit in one MSS_MAX_MESSAGE reply. Returns 0 or AA_EINVAL. */
int mss_responder_init(struct mss *m, mss_supported_fn supported, const char *const *list,
		       size_t list_n, void *user);

/* Feeds received bytes (see the top of this file). consumed is always set. */
int mss_receive(struct mss *m, const uint8_t *p, size_t n, size_t *consumed);

/* Bytes to send now (a view into m, valid until the next call on m; n == 0 if none). */
void mss_output(const struct mss *m, struct aa_slice *out);
/* n bytes of mss_output() were sent (n <= what it returned). */
void mss_output_consumed(struct mss *m, size_t n);

/* True when application bytes may follow on the wire (see step 4 above). */
bool mss_can_send_app(const struct mss *m);
/* The agreed protocol ID after MSS_DONE, else NULL. Borrowed from m or the protos array. */
const char *mss_selected(const struct mss *m);

#endif
