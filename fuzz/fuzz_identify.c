/* fuzz_identify: identify messages, their framing and signed peer records fed hostile bytes.
 * The first input byte picks a mode (modulo 5):
 *   0  identify_msg_decode() of the rest, under default and under tiny limits; what parses
 *      must respect the limits, and re-encoding it must parse back to the same fields
 *   1  the rest as stream bytes for identify_reader, fed in pieces whose sizes come from the
 *      input; the frames it returns, concatenated, must equal what finish() gives, which is
 *      then decoded
 *   2  p2p_peer_record_open() and p2p_envelope_parse() of the rest
 *   3  identify push: the rest split in two at a point given by the second byte, both halves
 *      decoded and merged
 *   4  the rest as a PeerRecord payload inside a correctly signed envelope, so that the
 *      record parser and the peer-id check are reached behind the signature check
 * abort() on any broken invariant. Keys are fixed, so every input replays identically. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "p2p/identify_msg.h"
#include "p2p/keys.h"
#include "p2p/multiaddr.h"
#include "p2p/peer_record.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void check_info(const struct identify_info *info, const struct identify_limits *l)
{
	CHECK(info->n_listen_addrs <= l->max_addrs);
	CHECK(info->n_protocols <= l->max_protocols);
	for (size_t i = 0; i < info->n_listen_addrs; i++) {
		struct multiaddr copy;
		CHECK(multiaddr_from_bytes(info->listen_addrs[i].bytes, info->listen_addrs[i].len,
					   &copy) == 0);
		multiaddr_free(&copy);
	}
	for (size_t i = 0; i < info->n_protocols; i++) {
		size_t n = strlen(info->protocols[i]);
		CHECK(n > 0 && n <= l->max_protocol_bytes);
	}
	CHECK(!info->protocol_version || strlen(info->protocol_version) <= l->max_string_bytes);
	CHECK(!info->agent_version || strlen(info->agent_version) <= l->max_string_bytes);
	CHECK((info->public_key != NULL) == (info->peer_id.len > 0));
	if (identify_info_has_verified_record(info)) {
		CHECK(info->record.n_addrs <= l->max_addrs);
		if (info->public_key)
			CHECK(p2p_peer_id_equal(&info->record.peer_id, &info->peer_id));
	} else {
		CHECK(info->record.n_addrs == 0 && info->record.addrs == NULL);
	}
}

/* Re-encodes the parsed fields (without key and record) and checks they parse back. */
static void check_reencode(const struct identify_info *info, const struct identify_limits *l)
{
	struct identify_announce a = {
		.protocol_version = info->protocol_version,
		.agent_version = info->agent_version,
		.listen_addrs = info->listen_addrs,
		.n_listen_addrs = info->n_listen_addrs,
		.observed_addr = info->has_observed_addr ? &info->observed_addr : NULL,
		.protocols = (const char *const *)info->protocols,
		.n_protocols = info->n_protocols,
	};
	struct aa_buf b;
	aa_buf_init(&b);
	identify_msg_encode(&a, &b);
	struct identify_info back;
	struct identify_limits big = *l;
	big.max_total_bytes = SIZE_MAX;
	CHECK(identify_msg_decode(b.p, b.n, &big, &back, NULL, 0) == 0);
	CHECK(back.n_listen_addrs == info->n_listen_addrs);
	for (size_t i = 0; i < back.n_listen_addrs; i++)
		CHECK(multiaddr_equal(&back.listen_addrs[i], &info->listen_addrs[i]));
	CHECK(back.n_protocols == info->n_protocols);
	for (size_t i = 0; i < back.n_protocols; i++)
		CHECK(strcmp(back.protocols[i], info->protocols[i]) == 0);
	CHECK((back.agent_version == NULL) == (info->agent_version == NULL));
	CHECK(!back.agent_version || strcmp(back.agent_version, info->agent_version) == 0);
	CHECK(back.has_observed_addr == info->has_observed_addr);
	identify_info_free(&back);
	aa_buf_free(&b);
}

static void decode_under(const uint8_t *p, size_t n, const struct identify_limits *l)
{
	struct identify_info info;
	char why[128];
	if (identify_msg_decode(p, n, l, &info, why, sizeof why) != 0) {
		CHECK(info.protocols == NULL && info.listen_addrs == NULL);
		return;
	}
	check_info(&info, l);
	check_reencode(&info, l);
	identify_info_free(&info);
}

static void fuzz_decode(const uint8_t *p, size_t n)
{
	struct identify_limits l;
	identify_limits_default(&l);
	decode_under(p, n, &l);
	struct identify_limits tiny = { .max_frame_bytes = 64, .max_total_bytes = 256,
					.max_frames = 2, .max_addrs = 2, .max_protocols = 2,
					.max_protocol_bytes = 8, .max_string_bytes = 8,
					.max_public_key_bytes = 40 };
	decode_under(p, n, &tiny);
}

static void fuzz_reader(const uint8_t *p, size_t n)
{
	struct identify_limits l;
	identify_limits_default(&l);
	if (n > 0 && (p[0] & 1)) {
		l.max_frame_bytes = 100;
		l.max_total_bytes = 150;
		l.max_frames = 3;
	}
	struct identify_reader r;
	identify_reader_init(&r, &l);
	struct aa_buf frames;
	aa_buf_init(&frames);
	size_t off = 0, step = 0;
	int rc = 0;
	while (off < n && rc >= 0) {
		/* Piece sizes 1..16 taken from the input itself. */
		size_t piece = (size_t)(p[step++ % n] & 15) + 1;
		if (piece > n - off)
			piece = n - off;
		size_t used;
		struct aa_slice f;
		rc = identify_reader_feed(&r, p + off, piece, &used, &f);
		CHECK(used <= piece);
		if (rc == 1) {
			CHECK(f.n <= l.max_frame_bytes);
			aa_buf_append(&frames, f.p, f.n);
		} else if (rc == 0) {
			CHECK(used == piece);
		}
		off += used;
	}
	struct aa_slice msg;
	if (identify_reader_finish(&r, &msg) == 0) {
		CHECK(msg.n == frames.n && msg.n <= l.max_total_bytes);
		CHECK(msg.n == 0 || memcmp(msg.p, frames.p, msg.n) == 0);
		CHECK(r.frames <= l.max_frames);
		decode_under(msg.p, msg.n, &l);
	}
	aa_buf_free(&frames);
	identify_reader_free(&r);
}

static void fuzz_record(const uint8_t *p, size_t n)
{
	struct p2p_peer_record rec;
	char why[96];
	if (p2p_peer_record_open(p, n, 8, &rec, why, sizeof why) == 0) {
		CHECK(rec.n_addrs <= 8);
		p2p_peer_record_free(&rec);
	} else {
		CHECK(rec.addrs == NULL && rec.n_addrs == 0);
	}
	struct p2p_envelope env;
	if (p2p_envelope_parse(p, n, &env) == 0) {
		(void)p2p_envelope_verify(&env, P2P_PEER_RECORD_DOMAIN);
		CHECK(env.signature.p >= p && env.signature.p + env.signature.n <= p + n);
	}
	if (p2p_peer_record_decode(p, n, 4, &rec, why, sizeof why) == 0) {
		CHECK(rec.n_addrs <= 4);
		p2p_peer_record_free(&rec);
	}
}

static void fuzz_push(const uint8_t *p, size_t n)
{
	if (n == 0)
		return;
	size_t cut = (size_t)p[0] * (n - 1) / 255 + 1;
	struct identify_limits l;
	identify_limits_default(&l);
	struct identify_info cur, upd;
	if (identify_msg_decode(p + 1, cut - 1, &l, &cur, NULL, 0) != 0)
		return;
	if (identify_msg_decode(p + cut, n - cut, &l, &upd, NULL, 0) == 0) {
		identify_info_merge(&cur, &upd);
		identify_info_free(&upd);
		check_info(&cur, &l);
	}
	identify_info_free(&cur);
}

static void fuzz_signed_payload(const uint8_t *p, size_t n)
{
	uint8_t seed[32];
	memset(seed, 0x5e, sizeof seed);
	struct p2p_keypair kp;
	p2p_keypair_from_seed(seed, &kp);
	struct aa_buf env;
	aa_buf_init(&env);
	p2p_envelope_seal(&kp, P2P_PEER_RECORD_DOMAIN,
			  aa_slice_make(P2P_PEER_RECORD_PAYLOAD_TYPE, P2P_PEER_RECORD_PAYLOAD_TYPE_BYTES),
			  aa_slice_make(p, n), &env);
	struct p2p_peer_record rec;
	if (p2p_peer_record_open(env.p, env.n, 8, &rec, NULL, 0) == 0) {
		struct p2p_peer_id id;
		p2p_peer_id_from_public_key(kp.public_key, &id);
		CHECK(p2p_peer_id_equal(&rec.peer_id, &id));
		p2p_peer_record_free(&rec);
	}
	aa_buf_free(&env);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	switch (data[0] % 5) {
	case 0: fuzz_decode(p, n); break;
	case 1: fuzz_reader(p, n); break;
	case 2: fuzz_record(p, n); break;
	case 3: fuzz_push(p, n); break;
	default: fuzz_signed_payload(p, n); break;
	}
	return 0;
}
