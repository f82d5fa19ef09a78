/* fuzz_noise: the libp2p Noise handshake and transport session fed hostile bytes.
 * The first input byte picks a mode:
 *   0  responder: the rest is raw wire input (message 1 onwards), fed in pieces
 *   1  initiator: the rest is raw wire input after its message 1, fed in pieces
 *   2  initiator: a well-behaved hand-made responder encrypts the rest as its message-2
 *      payload, so the fuzzer reaches the payload parser and the signature/muxer checks
 *   3  responder: the same through a hand-made initiator's message 3
 *   4  transport: after a real in-process handshake, the rest is fed as received frames,
 *      and is also sealed and reopened in pieces (the plaintext must survive unchanged)
 * In modes 2 and 3 the second byte's low bit asks the harness to start the payload with a
 * correctly signed identity key and signature, so that the rest (extensions, unknown or
 * repeated fields) is judged after authentication succeeds. All keys are fixed, so every
 * input replays identically. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "p2p/keys.h"
#include "p2p/noise.h"

static const char *const MUXERS[] = { "/yamux/1.0.0", "/mplex/6.7.0" };

static struct p2p_keypair keypair(uint8_t b)
{
	uint8_t seed[32];
	memset(seed, b, sizeof seed);
	struct p2p_keypair kp;
	p2p_keypair_from_seed(seed, &kp);
	return kp;
}

static struct p2p_noise_handshake *make_hs(bool initiator, uint8_t b)
{
	uint8_t s_sec[32], e_sec[32];
	memset(s_sec, b ^ 0x55, sizeof s_sec);
	memset(e_sec, b ^ 0xaa, sizeof e_sec);
	struct p2p_keypair kp = keypair(b);
	struct p2p_noise_config cfg = {
		.initiator = initiator,
		.identity = &kp,
		.muxers = MUXERS,
		.muxer_count = 2,
		.test_static_secret = s_sec,
		.test_ephemeral_secret = e_sec,
	};
	struct p2p_noise_handshake *hs;
	if (p2p_noise_handshake_new(&cfg, &hs, NULL, 0) != 0)
		abort();
	return hs;
}

/* Feeds p[0..n) in pieces of 1..step bytes, stopping at the first error. */
static void feed_pieces(struct p2p_noise_handshake *hs, const uint8_t *p, size_t n, size_t step)
{
	size_t off = 0, k = 0;
	while (off < n) {
		size_t take = 1 + (k++ * 7) % step;
		if (take > n - off)
			take = n - off;
		size_t used;
		if (p2p_noise_handshake_feed(hs, p + off, take, &used) != 0)
			return;
		if (used < take)
			return; /* done: the rest would be transport data */
		off += take;
	}
}

static void fuzz_raw(bool initiator, const uint8_t *p, size_t n)
{
	if (n < 1)
		return;
	struct p2p_noise_handshake *hs = make_hs(initiator, 0x22);
	struct aa_buf out;
	aa_buf_init(&out);
	p2p_noise_handshake_take_output(hs, &out);
	feed_pieces(hs, p + 1, n - 1, 1 + p[0]);
	p2p_noise_handshake_take_output(hs, &out);
	aa_buf_free(&out);
	p2p_noise_handshake_free(hs);
}

static void fake_payload(const uint8_t *static_pub, bool signed_prefix, const uint8_t *p,
			 size_t n, struct aa_buf *pl)
{
	if (signed_prefix) {
		struct p2p_keypair kp = keypair(0x44);
		uint8_t key_pb[P2P_ED25519_PUBLIC_KEY_PROTOBUF_BYTES], msg[24 + 32], sig[64];
		p2p_public_key_marshal(kp.public_key, key_pb);
		memcpy(msg, "noise-libp2p-static-key:", 24);
		memcpy(msg + 24, static_pub, 32);
		p2p_keypair_sign(&kp, msg, sizeof msg, sig);
		aa_buf_append(pl, "\x0a\x24", 2);
		aa_buf_append(pl, key_pb, sizeof key_pb);
		aa_buf_append(pl, "\x12\x40", 2);
		aa_buf_append(pl, sig, sizeof sig);
	}
	aa_buf_append(pl, p, n);
}

/* Writes the hand-made side's next message with the fuzzed payload, framed. */
static int write_framed(struct p2p_noise_xx *xx, const uint8_t *p, size_t n, bool signed_prefix,
			struct aa_buf *wire)
{
	struct aa_buf pl;
	aa_buf_init(&pl);
	fake_payload(p2p_noise_xx_local_static(xx), signed_prefix, p, n, &pl);
	aa_buf_reset(wire);
	aa_buf_append(wire, "\0", 2);
	int rc = p2p_noise_xx_write_message(xx, pl.p, pl.n, wire, NULL, 0);
	aa_buf_free(&pl);
	if (rc == 0) {
		wire->p[0] = (uint8_t)((wire->n - 2) >> 8);
		wire->p[1] = (uint8_t)(wire->n - 2);
	}
	return rc;
}

static void fuzz_payload(bool to_initiator, const uint8_t *p, size_t n)
{
	if (n < 1)
		return;
	bool signed_prefix = p[0] & 1;
	p++, n--;
	uint8_t s_sec[32], e_sec[32];
	memset(s_sec, 0x66, sizeof s_sec);
	memset(e_sec, 0x77, sizeof e_sec);
	struct p2p_noise_handshake *hs = make_hs(to_initiator, 0x22);
	struct p2p_noise_xx *xx = p2p_noise_xx_new(!to_initiator, NULL, 0, s_sec, e_sec);
	struct aa_buf wire, ignored;
	aa_buf_init(&wire);
	aa_buf_init(&ignored);
	size_t used;
	if (to_initiator) {
		p2p_noise_handshake_take_output(hs, &wire);
		if (p2p_noise_xx_read_message(xx, wire.p + 2, wire.n - 2, &ignored, NULL, 0) == 0 &&
		    write_framed(xx, p, n, signed_prefix, &wire) == 0)
			p2p_noise_handshake_feed(hs, wire.p, wire.n, &used);
	} else {
		aa_buf_append(&wire, "\0\x20", 2);
		if (p2p_noise_xx_write_message(xx, NULL, 0, &wire, NULL, 0) == 0 &&
		    p2p_noise_handshake_feed(hs, wire.p, wire.n, &used) == 0) {
			aa_buf_reset(&wire);
			p2p_noise_handshake_take_output(hs, &wire);
			if (p2p_noise_xx_read_message(xx, wire.p + 2, wire.n - 2, &ignored, NULL, 0) ==
				    0 &&
			    write_framed(xx, p, n, signed_prefix, &wire) == 0)
				p2p_noise_handshake_feed(hs, wire.p, wire.n, &used);
		}
	}
	if (p2p_noise_handshake_is_done(hs)) {
		/* Touch every result the caller would read. */
		size_t count = p2p_noise_handshake_remote_muxer_count(hs);
		for (size_t k = 0; k < count; k++) {
			struct aa_slice m = p2p_noise_handshake_remote_muxer(hs, k);
			if (m.n > 0 && m.p[m.n - 1] == 0xff)
				ignored.n = 0;
		}
		struct p2p_noise_session *s;
		if (p2p_noise_handshake_take_session(hs, &s) == 0)
			p2p_noise_session_free(s);
	}
	aa_buf_free(&wire);
	aa_buf_free(&ignored);
	p2p_noise_xx_free(xx);
	p2p_noise_handshake_free(hs);
}

static void session_pair(struct p2p_noise_session **si, struct p2p_noise_session **sr)
{
	struct p2p_noise_handshake *i = make_hs(true, 0x11), *r = make_hs(false, 0x22);
	struct aa_buf b;
	aa_buf_init(&b);
	size_t used;
	for (int m = 0; m < 3; m++) {
		struct p2p_noise_handshake *from = m == 1 ? r : i, *to = m == 1 ? i : r;
		aa_buf_reset(&b);
		p2p_noise_handshake_take_output(from, &b);
		if (p2p_noise_handshake_feed(to, b.p, b.n, &used) != 0)
			abort();
	}
	if (p2p_noise_handshake_take_session(i, si) != 0 ||
	    p2p_noise_handshake_take_session(r, sr) != 0)
		abort();
	aa_buf_free(&b);
	p2p_noise_handshake_free(i);
	p2p_noise_handshake_free(r);
}

static void fuzz_transport(const uint8_t *p, size_t n)
{
	if (n < 1)
		return;
	size_t step = 1 + p[0];
	p++, n--;
	struct p2p_noise_session *si, *sr;
	session_pair(&si, &sr);

	/* Hostile frames through the in-place reader, in pieces. */
	uint8_t *copy = malloc(n ? n : 1);
	memcpy(copy, p, n);
	size_t off = 0;
	while (off < n) {
		size_t take = step < n - off ? step : n - off, used;
		struct aa_slice plain;
		if (p2p_noise_session_read(sr, copy + off, take, &used, &plain) != 0)
			break;
		if (used == 0 || used > take || plain.n > P2P_NOISE_MAX_PLAINTEXT)
			abort();
		off += used;
	}
	free(copy);
	p2p_noise_session_free(si);
	p2p_noise_session_free(sr);

	/* The input as plaintext: sealed, reopened in pieces, must come back unchanged. */
	session_pair(&si, &sr);
	struct aa_buf wire, out;
	aa_buf_init(&wire);
	aa_buf_init(&out);
	if (p2p_noise_session_encrypt(si, p, n, &wire) != 0)
		abort();
	for (off = 0; off < wire.n;) {
		size_t take = step < wire.n - off ? step : wire.n - off;
		if (p2p_noise_session_decrypt(sr, wire.p + off, take, &out) != 0)
			abort();
		off += take;
	}
	if (out.n != n || (n > 0 && memcmp(out.p, p, n) != 0))
		abort();
	aa_buf_free(&wire);
	aa_buf_free(&out);
	p2p_noise_session_free(si);
	p2p_noise_session_free(sr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	switch (data[0] % 5) {
	case 0: fuzz_raw(false, p, n); break;
	case 1: fuzz_raw(true, p, n); break;
	case 2: fuzz_payload(true, p, n); break;
	case 3: fuzz_payload(false, p, n); break;
	default: fuzz_transport(p, n); break;
	}
	return 0;
}
