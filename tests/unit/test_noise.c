/* Unit tests for p2p/noise: Noise XX test vectors, the libp2p handshake (identity payload,
 * PeerID check, early muxer negotiation, tampering), and the transport session (framing,
 * split reads, MAC failures, nonce exhaustion). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "base/buf.h"
#include "base/err.h"
#include "libp2p/noise.pb-c.h"
#include "p2p/keys.h"
#include "p2p/noise.h"
#include "p2p/peerid.h"

/* ---- helpers -------------------------------------------------------------------------- */

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex) / 2;
	assert_true(n <= cap);
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

static void assert_hex_equal(const uint8_t *p, size_t n, const char *hex)
{
	uint8_t want[1024];
	size_t wn = unhex(hex, want, sizeof want);
	assert_int_equal(n, wn);
	assert_memory_equal(p, want, n);
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	for (size_t k = 0; k < n; k++) {
		seed = seed * 1103515245u + 12345u;
		p[k] = (uint8_t)(seed >> 16);
	}
}

static const char *const YAMUX[] = { "/yamux/1.0.0" };

/* A handshake whose identity comes from seed_byte. With `fixed`, its X25519 keys are fixed
 * too, so two runs produce identical bytes and identical session keys. */
static struct p2p_noise_handshake *make_hs(bool initiator, uint8_t seed_byte,
					   const struct p2p_peer_id *expected,
					   const char *const *muxers, size_t nmux, bool fixed)
{
	uint8_t seed[32], s_sec[32], e_sec[32];
	memset(seed, seed_byte, sizeof seed);
	memset(s_sec, seed_byte ^ 0x55, sizeof s_sec);
	memset(e_sec, seed_byte ^ 0xaa, sizeof e_sec);
	struct p2p_keypair kp;
	p2p_keypair_from_seed(seed, &kp);
	struct p2p_noise_config cfg = {
		.initiator = initiator,
		.identity = &kp,
		.expected_peer = expected,
		.muxers = muxers,
		.muxer_count = nmux,
		.test_static_secret = fixed ? s_sec : NULL,
		.test_ephemeral_secret = fixed ? e_sec : NULL,
	};
	struct p2p_noise_handshake *hs;
	char why[128];
	assert_int_equal(p2p_noise_handshake_new(&cfg, &hs, why, sizeof why), 0);
	return hs;
}

static void peer_id_of_seed(uint8_t seed_byte, struct p2p_peer_id *id)
{
	uint8_t seed[32];
	memset(seed, seed_byte, sizeof seed);
	struct p2p_keypair kp;
	p2p_keypair_from_seed(seed, &kp);
	p2p_peer_id_from_public_key(kp.public_key, id);
}

/* Moves `from`'s pending output into `to`; returns to's feed result. */
static int pass(struct p2p_noise_handshake *from, struct p2p_noise_handshake *to)
{
	struct aa_buf b;
	aa_buf_init(&b);
	p2p_noise_handshake_take_output(from, &b);
	size_t used = 0;
	int rc = 0;
	if (b.n > 0)
		rc = p2p_noise_handshake_feed(to, b.p, b.n, &used);
	if (rc == 0)
		assert_int_equal(used, b.n);
	aa_buf_free(&b);
	return rc;
}

/* Runs all three messages; returns the first failure (or 0). */
static int run_handshake(struct p2p_noise_handshake *i, struct p2p_noise_handshake *r)
{
	int rc = pass(i, r);
	if (rc == 0)
		rc = pass(r, i);
	if (rc == 0)
		rc = pass(i, r);
	return rc;
}

static void session_pair(struct p2p_noise_session **si, struct p2p_noise_session **sr)
{
	struct p2p_noise_handshake *i = make_hs(true, 0x11, NULL, YAMUX, 1, true);
	struct p2p_noise_handshake *r = make_hs(false, 0x22, NULL, YAMUX, 1, true);
	assert_int_equal(run_handshake(i, r), 0);
	assert_int_equal(p2p_noise_handshake_take_session(i, si), 0);
	assert_int_equal(p2p_noise_handshake_take_session(r, sr), 0);
	p2p_noise_handshake_free(i);
	p2p_noise_handshake_free(r);
}

/* ---- Noise XX test vectors -------------------------------------------------------------- */

/* Published Noise_XX_25519_ChaChaPoly_SHA256 vectors (cacophony's and snow's vector files):
 * fixed keys and prologue, six messages — three handshake, three transport. */
struct xx_vector {
	const char *prologue, *init_static, *init_ephemeral, *resp_static, *resp_ephemeral;
	const char *handshake_hash; /* NULL when the file gives none */
	const char *payload[6], *ciphertext[6];
};

static const struct xx_vector CACOPHONY = {
	.prologue = "4a6f686e2047616c74",
	.init_static = "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1",
	.init_ephemeral = "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a",
	.resp_static = "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893",
	.resp_ephemeral = "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b",
	.handshake_hash = "c8e5f64e846193be2a834104c2a009868d6c9f3bd3c186299888b488b2f1f58e",
	.payload = {
		"4c756477696720766f6e204d69736573",
		"4d757272617920526f746862617264",
		"462e20412e20486179656b",
		"4361726c204d656e676572",
		"4a65616e2d426170746973746520536179",
		"457567656e2042f6686d20766f6e2042617765726b",
	},
	.ciphertext = {
		"ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944"
		"4c756477696720766f6e204d69736573",
		"95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843"
		"81cbad1f276e038c48378ffce2b65285e08d6b68aaa3629a5a8639392490e5b9"
		"bd5269c2f1e4f488ed8831161f19b7815528f8982ffe09be9b5c412f8a0db50f"
		"8814c7194e83f23dbd8d162c9326ad",
		"c7195ffacac1307ff99046f219750fc47693e23c3cb08b89c2af808b444850a8"
		"0ae475b9df0f169ae80a89be0865b57f58c9fea0d4ec82a286427402f113e4b6"
		"ae769a1d95941d49b25030",
		"96763ed773f8e47bb3712f0e29b3060ffc956ffc146cee53d5e1df",
		"3e40f15f6f3a46ae446b253bf8b1d9ffb6ed9b174d272328ff91a7e2e5c79c07f5",
		"eb3f3515110702e047a6c9da4478b6ead94873c11c0f2d710ddb3f09fce024b3a58502ae3f",
	},
};

static const struct xx_vector SNOW = {
	.prologue = "5468657265206973206e6f20726967687420616e642077726f6e672e2054686572"
		    "652773206f6e6c792066756e20616e6420626f72696e672e",
	.init_static = "7dec208517a3b81a2861d7a71266d5d6dc944c5a8816634a86fe63198a0148ee",
	.init_ephemeral = "a32daf21e93c0131495ce1d903181fde81cc46937daaeb990bae7c992709421e",
	.resp_static = "4d0aed5098e3b4ef20357e9f686ce66204c792b358da2e475017d6c485304881",
	.resp_ephemeral = "4eece0f195d026db035ff987597c429d3ad3bcc2944df37d649528951b2a27c5",
	.handshake_hash = NULL,
	.payload = {
		"d03c489139e645d0711a3c9e810d776b46a84912463fafa87b884eebf242dc34",
		"d8190a92f7dc0c93dbea9118ba8055751fb7c6590c416ffbd419964132b99a85",
		"77891b19dcb92ef7c055b672c4a5aa7fdf1c84146b8b303459022729473ce254",
		"d7efdf988072881941db045a42882433817555128fbf5663e56081712ec7d212",
		"dd7bf01a588bafb52c6cfba952e5d8fe35cc2b3f92b4730ae2474615157345ce",
		NULL,
	},
	.ciphertext = {
		"f9fa868ba97ab8a2686deccfaad5a484ee10a5bb85e3d1dce015a84797f92818"
		"d03c489139e645d0711a3c9e810d776b46a84912463fafa87b884eebf242dc34",
		"8c4e6fdb7d09d501a86f7eca5c234522751706ed409182c05cdf5f827d4dae47"
		"b81c6c5f43b025692c24391eefee725c17d8cb0fbe3e4abb8aedf42c4fd2592d"
		"4ea48ac08989d6ae8b4adae08b2c34087c808c7aa55a63c02b0fab9e93061233"
		"6bd43eaea04d3c670a0a146691aa9cc9d357872320dc735dbc48580cffb553db",
		"933ca6b5ed60df3df66121f0ab49a09e49efa45c613a86a3cecbf4c535cef2f8"
		"3f72b42837b18e3572f2fdc2b74c331e2368a545cef54bdca081678ab0e9dd53"
		"48122459e0c034c851984d88ce610963d43cde6cfe73a67fbd5a63e8bfca96d0",
		"54ef0ff0629e1aaa7685a2806ab111cba76b52331f2642276736f415868eacb6"
		"9ab2577f3bda0cbf72f879685f6ed25f",
		"356be70f110306d5c699bb834bb9d58d909e325924dfbec972e406e6f294dc63"
		"e1daebefe8a62a334facc8048ab4ad66",
		NULL,
	},
};

static void run_vector(const struct xx_vector *v)
{
	uint8_t prologue[128], is[32], ie[32], rs[32], re[32], buf[1024];
	size_t plen = unhex(v->prologue, prologue, sizeof prologue);
	unhex(v->init_static, is, 32);
	unhex(v->init_ephemeral, ie, 32);
	unhex(v->resp_static, rs, 32);
	unhex(v->resp_ephemeral, re, 32);
	struct p2p_noise_xx *xi = p2p_noise_xx_new(true, prologue, plen, is, ie);
	struct p2p_noise_xx *xr = p2p_noise_xx_new(false, prologue, plen, rs, re);
	char why[128];
	/* Handshake: messages 1..3 alternate initiator, responder, initiator. */
	for (int m = 0; m < 3; m++) {
		struct p2p_noise_xx *tx = m % 2 == 0 ? xi : xr, *rx = m % 2 == 0 ? xr : xi;
		size_t n = unhex(v->payload[m], buf, sizeof buf);
		struct aa_buf msg, pl;
		aa_buf_init(&msg);
		aa_buf_init(&pl);
		assert_int_equal(p2p_noise_xx_write_message(tx, buf, n, &msg, why, sizeof why), 0);
		assert_hex_equal(msg.p, msg.n, v->ciphertext[m]);
		assert_int_equal(p2p_noise_xx_read_message(rx, msg.p, msg.n, &pl, why, sizeof why), 0);
		assert_int_equal(pl.n, n);
		assert_memory_equal(pl.p, buf, n);
		aa_buf_free(&msg);
		aa_buf_free(&pl);
	}
	assert_true(p2p_noise_xx_is_done(xi));
	assert_true(p2p_noise_xx_is_done(xr));
	uint8_t hi[32], hr[32];
	p2p_noise_xx_handshake_hash(xi, hi);
	p2p_noise_xx_handshake_hash(xr, hr);
	assert_memory_equal(hi, hr, 32);
	if (v->handshake_hash)
		assert_hex_equal(hi, 32, v->handshake_hash);
	/* Transport: continue alternating — message 4 is the responder's (k2, n=0), 5 the
	 * initiator's (k1, n=0), 6 the responder's (k2, n=1). The session adds the libp2p
	 * length prefix in front of the Noise ciphertext. */
	struct p2p_noise_session *si, *sr;
	assert_int_equal(p2p_noise_xx_split(xi, &si, why, sizeof why), 0);
	assert_int_equal(p2p_noise_xx_split(xr, &sr, why, sizeof why), 0);
	assert_int_equal(p2p_noise_xx_split(xi, &si, why, sizeof why), AA_EINVAL);
	for (int m = 3; m < 6 && v->payload[m]; m++) {
		struct p2p_noise_session *tx = m % 2 == 0 ? si : sr, *rx = m % 2 == 0 ? sr : si;
		size_t n = unhex(v->payload[m], buf, sizeof buf);
		struct aa_buf wire, pl;
		aa_buf_init(&wire);
		aa_buf_init(&pl);
		assert_int_equal(p2p_noise_session_encrypt(tx, buf, n, &wire), 0);
		assert_int_equal(wire.n, 2 + n + 16);
		assert_int_equal(wire.p[0] << 8 | wire.p[1], n + 16);
		assert_hex_equal(wire.p + 2, wire.n - 2, v->ciphertext[m]);
		assert_int_equal(p2p_noise_session_decrypt(rx, wire.p, wire.n, &pl), 0);
		assert_int_equal(pl.n, n);
		assert_memory_equal(pl.p, buf, n);
		aa_buf_free(&wire);
		aa_buf_free(&pl);
	}
	p2p_noise_session_free(si);
	p2p_noise_session_free(sr);
	p2p_noise_xx_free(xi);
	p2p_noise_xx_free(xr);
}

static void test_noise_xx_matches_cacophony_vector(void **state)
{
	run_vector(&CACOPHONY);
}

static void test_noise_xx_matches_snow_vector(void **state)
{
	run_vector(&SNOW);
}

static void test_noise_xx_refuses_out_of_turn_calls(void **state)
{
	struct p2p_noise_xx *xr = p2p_noise_xx_new(false, NULL, 0, NULL, NULL);
	struct aa_buf b;
	aa_buf_init(&b);
	char why[128];
	assert_int_equal(p2p_noise_xx_write_message(xr, NULL, 0, &b, why, sizeof why), AA_EINVAL);
	assert_int_equal(b.n, 0);
	struct p2p_noise_session *s;
	assert_int_equal(p2p_noise_xx_split(xr, &s, why, sizeof why), AA_EINVAL);
	aa_buf_free(&b);
	p2p_noise_xx_free(xr);
}

static void test_noise_xx_rejects_payload_beyond_message_limit(void **state)
{
	struct p2p_noise_xx *xi = p2p_noise_xx_new(true, NULL, 0, NULL, NULL);
	uint8_t *big = calloc(1, P2P_NOISE_MAX_MESSAGE);
	struct aa_buf b;
	aa_buf_init(&b);
	char why[128];
	/* Message 1 is e (32 bytes) plus the cleartext payload: 65503 fits, 65504 does not. */
	assert_int_equal(p2p_noise_xx_write_message(xi, big, P2P_NOISE_MAX_MESSAGE - 31, &b, why,
						    sizeof why), AA_ETOOBIG);
	assert_int_equal(b.n, 0);
	assert_int_equal(p2p_noise_xx_write_message(xi, big, P2P_NOISE_MAX_MESSAGE - 32, &b, why,
						    sizeof why), 0);
	assert_int_equal(b.n, P2P_NOISE_MAX_MESSAGE);
	free(big);
	aa_buf_free(&b);
	p2p_noise_xx_free(xi);
}

/* ---- the libp2p handshake ---------------------------------------------------------------- */

static void test_noise_handshake_completes_in_memory(void **state)
{
	struct p2p_peer_id id_i, id_r;
	peer_id_of_seed(0x11, &id_i);
	peer_id_of_seed(0x22, &id_r);
	struct p2p_noise_handshake *i = make_hs(true, 0x11, &id_r, YAMUX, 1, false);
	struct p2p_noise_handshake *r = make_hs(false, 0x22, NULL, YAMUX, 1, false);
	/* Results are withheld until the handshake is done. */
	assert_null(p2p_noise_handshake_remote_peer_id(i));
	assert_null(p2p_noise_handshake_remote_public_key(r));
	assert_int_equal(run_handshake(i, r), 0);
	assert_true(p2p_noise_handshake_is_done(i));
	assert_true(p2p_noise_handshake_is_done(r));
	assert_true(p2p_peer_id_equal(p2p_noise_handshake_remote_peer_id(i), &id_r));
	assert_true(p2p_peer_id_equal(p2p_noise_handshake_remote_peer_id(r), &id_i));
	uint8_t seed[32];
	struct p2p_keypair kp;
	memset(seed, 0x22, 32);
	p2p_keypair_from_seed(seed, &kp);
	assert_memory_equal(p2p_noise_handshake_remote_public_key(i), kp.public_key, 32);
	assert_string_equal(p2p_noise_handshake_muxer(i), "/yamux/1.0.0");
	assert_string_equal(p2p_noise_handshake_muxer(r), "/yamux/1.0.0");
	assert_string_equal(p2p_noise_handshake_error(i), "");

	struct p2p_noise_session *si, *sr;
	assert_int_equal(p2p_noise_handshake_take_session(i, &si), 0);
	assert_int_equal(p2p_noise_handshake_take_session(r, &sr), 0);
	struct p2p_noise_session *again;
	assert_int_equal(p2p_noise_handshake_take_session(r, &again), AA_EINVAL);
	assert_null(again);
	struct aa_buf wire, pl;
	aa_buf_init(&wire);
	aa_buf_init(&pl);
	assert_int_equal(p2p_noise_session_encrypt(si, (const uint8_t *)"ping", 4, &wire), 0);
	assert_int_equal(p2p_noise_session_decrypt(sr, wire.p, wire.n, &pl), 0);
	assert_int_equal(pl.n, 4);
	assert_memory_equal(pl.p, "ping", 4);
	aa_buf_reset(&wire);
	aa_buf_reset(&pl);
	assert_int_equal(p2p_noise_session_encrypt(sr, (const uint8_t *)"pong!", 5, &wire), 0);
	assert_int_equal(p2p_noise_session_decrypt(si, wire.p, wire.n, &pl), 0);
	assert_int_equal(pl.n, 5);
	assert_memory_equal(pl.p, "pong!", 5);
	aa_buf_free(&wire);
	aa_buf_free(&pl);
	p2p_noise_session_free(si);
	p2p_noise_session_free(sr);
	p2p_noise_handshake_free(i);
	p2p_noise_handshake_free(r);
}

static void test_noise_handshake_accepts_input_byte_by_byte(void **state)
{
	struct p2p_noise_handshake *i = make_hs(true, 0x11, NULL, YAMUX, 1, false);
	struct p2p_noise_handshake *r = make_hs(false, 0x22, NULL, YAMUX, 1, false);
	struct p2p_noise_handshake *order[3][2] = { { i, r }, { r, i }, { i, r } };
	for (int m = 0; m < 3; m++) {
		struct aa_buf b;
		aa_buf_init(&b);
		p2p_noise_handshake_take_output(order[m][0], &b);
		assert_true(b.n > 2);
		for (size_t k = 0; k < b.n; k++) {
			size_t used;
			assert_int_equal(p2p_noise_handshake_feed(order[m][1], b.p + k, 1, &used), 0);
			assert_int_equal(used, 1);
			/* Done only once the last byte of the last message is in. */
			if (m == 2)
				assert_int_equal(p2p_noise_handshake_is_done(r), k == b.n - 1);
		}
		aa_buf_free(&b);
	}
	assert_true(p2p_noise_handshake_is_done(i));
	assert_true(p2p_noise_handshake_is_done(r));
	p2p_noise_handshake_free(i);
	p2p_noise_handshake_free(r);
}

static void test_noise_handshake_leaves_pipelined_transport_data(void **state)
{
	struct p2p_noise_handshake *i = make_hs(true, 0x11, NULL, YAMUX, 1, false);
	struct p2p_noise_handshake *r = make_hs(false, 0x22, NULL, YAMUX, 1, false);
	assert_int_equal(pass(i, r), 0);
	assert_int_equal(pass(r, i), 0);
	/* The initiator sends message 3 and, without waiting, its first data frame. */
	struct aa_buf wire, pl;
	aa_buf_init(&wire);
	aa_buf_init(&pl);
	p2p_noise_handshake_take_output(i, &wire);
	size_t msg3 = wire.n;
	struct p2p_noise_session *si, *sr;
	assert_int_equal(p2p_noise_handshake_take_session(i, &si), 0);
	assert_int_equal(p2p_noise_session_encrypt(si, (const uint8_t *)"early", 5, &wire), 0);
	size_t used;
	assert_int_equal(p2p_noise_handshake_feed(r, wire.p, wire.n, &used), 0);
	assert_int_equal(used, msg3);
	assert_true(p2p_noise_handshake_is_done(r));
	/* Once done, the handshake takes nothing more. */
	assert_int_equal(p2p_noise_handshake_feed(r, wire.p + used, wire.n - used, &used), 0);
	assert_int_equal(used, 0);
	assert_int_equal(p2p_noise_handshake_take_session(r, &sr), 0);
	assert_int_equal(p2p_noise_session_decrypt(sr, wire.p + msg3, wire.n - msg3, &pl), 0);
	assert_int_equal(pl.n, 5);
	assert_memory_equal(pl.p, "early", 5);
	aa_buf_free(&wire);
	aa_buf_free(&pl);
	p2p_noise_session_free(si);
	p2p_noise_session_free(sr);
	p2p_noise_handshake_free(i);
	p2p_noise_handshake_free(r);
}

static void test_noise_handshake_is_deterministic_with_fixed_keys(void **state)
{
	/* The tests-only key injection makes runs reproducible (used below to replay one wire
	 * stream into fresh sessions). */
	struct aa_buf a, b;
	aa_buf_init(&a);
	aa_buf_init(&b);
	for (int run = 0; run < 2; run++) {
		struct p2p_noise_handshake *i = make_hs(true, 0x11, NULL, YAMUX, 1, true);
		struct p2p_noise_handshake *r = make_hs(false, 0x22, NULL, YAMUX, 1, true);
		struct aa_buf *dst = run == 0 ? &a : &b;
		p2p_noise_handshake_take_output(i, dst);
		size_t used;
		assert_int_equal(p2p_noise_handshake_feed(r, dst->p, dst->n, &used), 0);
		p2p_noise_handshake_take_output(r, dst);
		p2p_noise_handshake_free(i);
		p2p_noise_handshake_free(r);
	}
	assert_int_equal(a.n, b.n);
	assert_memory_equal(a.p, b.p, a.n);
	aa_buf_free(&a);
	aa_buf_free(&b);
}

static void test_noise_handshake_rejects_peer_id_mismatch(void **state)
{
	struct p2p_peer_id someone_else;
	peer_id_of_seed(0x33, &someone_else);
	struct p2p_noise_handshake *i = make_hs(true, 0x11, &someone_else, YAMUX, 1, false);
	struct p2p_noise_handshake *r = make_hs(false, 0x22, NULL, YAMUX, 1, false);
	assert_int_equal(pass(i, r), 0);
	assert_int_equal(pass(r, i), AA_ECRYPTO);
	assert_false(p2p_noise_handshake_is_done(i));
	assert_int_equal(p2p_noise_handshake_status(i), AA_ECRYPTO);
	assert_non_null(strstr(p2p_noise_handshake_error(i), "peer ID mismatch"));
	/* No third message goes out, and the failure is sticky. */
	struct aa_buf b;
	aa_buf_init(&b);
	p2p_noise_handshake_take_output(i, &b);
	assert_int_equal(b.n, 0);
	size_t used;
	assert_int_equal(p2p_noise_handshake_feed(i, (const uint8_t *)"x", 1, &used), AA_ECRYPTO);
	assert_null(p2p_noise_handshake_remote_peer_id(i));
	struct p2p_noise_session *s;
	assert_int_equal(p2p_noise_handshake_take_session(i, &s), AA_EINVAL);
	aa_buf_free(&b);
	p2p_noise_handshake_free(i);
	p2p_noise_handshake_free(r);
}

static void test_noise_handshake_rejects_bad_config(void **state)
{
	struct p2p_noise_handshake *hs;
	char why[128];
	struct p2p_noise_config cfg = { .initiator = true };
	assert_int_equal(p2p_noise_handshake_new(&cfg, &hs, why, sizeof why), AA_EINVAL);
	struct p2p_keypair kp;
	p2p_keypair_generate(&kp);
	const char *const empty_name[] = { "" };
	cfg.identity = &kp;
	cfg.muxers = empty_name;
	cfg.muxer_count = 1;
	assert_int_equal(p2p_noise_handshake_new(&cfg, &hs, why, sizeof why), AA_EINVAL);
	cfg.muxer_count = P2P_NOISE_MAX_MUXERS + 1;
	assert_int_equal(p2p_noise_handshake_new(&cfg, &hs, why, sizeof why), AA_EINVAL);
}

/* ---- early muxer negotiation ------------------------------------------------------------- */

static void negotiate(const char *const *im, size_t in, const char *const *rm, size_t rn,
		      int want_rc, const char *want)
{
	struct p2p_noise_handshake *i = make_hs(true, 0x11, NULL, im, in, false);
	struct p2p_noise_handshake *r = make_hs(false, 0x22, NULL, rm, rn, false);
	assert_int_equal(run_handshake(i, r), want_rc);
	if (want_rc == 0) {
		if (want) {
			assert_string_equal(p2p_noise_handshake_muxer(i), want);
			assert_string_equal(p2p_noise_handshake_muxer(r), want);
		} else {
			assert_null(p2p_noise_handshake_muxer(i));
			assert_null(p2p_noise_handshake_muxer(r));
		}
		/* Each side sees the other's list as sent. */
		assert_int_equal(p2p_noise_handshake_remote_muxer_count(i), rn);
		assert_int_equal(p2p_noise_handshake_remote_muxer_count(r), in);
		for (size_t k = 0; k < rn; k++) {
			struct aa_slice m = p2p_noise_handshake_remote_muxer(i, k);
			assert_int_equal(m.n, strlen(rm[k]));
			assert_memory_equal(m.p, rm[k], m.n);
		}
	}
	p2p_noise_handshake_free(i);
	p2p_noise_handshake_free(r);
}

static void test_noise_muxer_same_single_muxer(void **state)
{
	negotiate(YAMUX, 1, YAMUX, 1, 0, "/yamux/1.0.0");
}

static void test_noise_muxer_follows_initiator_preference(void **state)
{
	/* The spec's example: the client prefers one, the server the other; the client wins. */
	const char *const client[] = { "/yamux/1.0.0", "/mplex/6.7.0" };
	const char *const server[] = { "/mplex/6.7.0", "/yamux/1.0.0" };
	negotiate(client, 2, server, 2, 0, "/yamux/1.0.0");
	negotiate(server, 2, client, 2, 0, "/mplex/6.7.0");
}

static void test_noise_muxer_skips_unsupported_entries(void **state)
{
	const char *const client[] = { "/quux/9", "/mplex/6.7.0", "/yamux/1.0.0" };
	negotiate(client, 3, YAMUX, 1, 0, "/yamux/1.0.0");
	negotiate(YAMUX, 1, client, 3, 0, "/yamux/1.0.0");
}

static void test_noise_muxer_none_when_a_side_lists_none(void **state)
{
	negotiate(NULL, 0, YAMUX, 1, 0, NULL);
	negotiate(YAMUX, 1, NULL, 0, 0, NULL);
	negotiate(NULL, 0, NULL, 0, 0, NULL);
}

static void test_noise_muxer_disjoint_lists_fail(void **state)
{
	const char *const mplex[] = { "/mplex/6.7.0" };
	/* The initiator learns the responder's list first and gives up before message 3. */
	negotiate(YAMUX, 1, mplex, 1, AA_ENOTSUP, NULL);
}

/* ---- hand-made peers (the bare XX engine plus a protobuf-c payload) ---------------------- */

struct fake_payload {
	const struct p2p_keypair *kp;
	bool omit_key, omit_sig, empty_sig_key, sign_other_static, short_sig;
	int key_type; /* 1 = Ed25519; others produce a key protobuf of that type */
	const char *const *muxers;
	size_t nmux;
	size_t certhashes;
	const uint8_t *trailer; /* raw bytes appended after the packed message */
	size_t trailer_len;
};

static void build_fake(const struct fake_payload *f, const uint8_t static_pub[32],
		       struct aa_buf *out)
{
	uint8_t key_pb[P2P_ED25519_PUBLIC_KEY_PROTOBUF_BYTES];
	p2p_public_key_marshal(f->kp->public_key, key_pb);
	if (f->key_type != 1) {
		key_pb[1] = (uint8_t)f->key_type;
	}
	uint8_t msg[24 + 32], sig[64];
	memcpy(msg, "noise-libp2p-static-key:", 24);
	memcpy(msg + 24, static_pub, 32);
	if (f->sign_other_static)
		msg[30] ^= 1;
	p2p_keypair_sign(f->kp, msg, sizeof msg, sig);

	Libp2p__Noise__NoiseHandshakePayload pl = LIBP2P__NOISE__NOISE_HANDSHAKE_PAYLOAD__INIT;
	Libp2p__Noise__NoiseExtensions ext = LIBP2P__NOISE__NOISE_EXTENSIONS__INIT;
	ProtobufCBinaryData hashes[4];
	pl.has_identity_key = !f->omit_key;
	pl.identity_key.data = key_pb;
	pl.identity_key.len = sizeof key_pb;
	pl.has_identity_sig = !f->omit_sig;
	pl.identity_sig.data = sig;
	pl.identity_sig.len = f->short_sig ? 63 : 64;
	if (f->nmux || f->certhashes) {
		ext.n_stream_muxers = f->nmux;
		ext.stream_muxers = (char **)f->muxers;
		for (size_t k = 0; k < f->certhashes && k < 4; k++) {
			hashes[k].data = (uint8_t *)"\x12\x20hash";
			hashes[k].len = 6;
		}
		ext.n_webtransport_certhashes = f->certhashes;
		ext.webtransport_certhashes = hashes;
		pl.extensions = &ext;
	}
	size_t n = libp2p__noise__noise_handshake_payload__get_packed_size(&pl);
	uint8_t *dst = aa_buf_reserve(out, n);
	libp2p__noise__noise_handshake_payload__pack(&pl, dst);
	out->n += n;
	if (f->trailer_len)
		aa_buf_append(out, f->trailer, f->trailer_len);
}

/* A real initiator against a hand-made responder whose message 2 carries the fake payload;
 * returns the initiator's feed result. */
static int initiator_vs_fake(const struct fake_payload *f, struct p2p_noise_handshake **out)
{
	struct p2p_noise_handshake *i = make_hs(true, 0x11, NULL, YAMUX, 1, false);
	struct aa_buf m1, ignored, payload, m2;
	aa_buf_init(&m1);
	aa_buf_init(&ignored);
	aa_buf_init(&payload);
	aa_buf_init(&m2);
	char why[128];
	p2p_noise_handshake_take_output(i, &m1);
	assert_int_equal(m1.n, 2 + 32);
	assert_int_equal(m1.p[0] << 8 | m1.p[1], 32);
	struct p2p_noise_xx *xr = p2p_noise_xx_new(false, NULL, 0, NULL, NULL);
	assert_int_equal(p2p_noise_xx_read_message(xr, m1.p + 2, m1.n - 2, &ignored, why,
						   sizeof why), 0);
	build_fake(f, p2p_noise_xx_local_static(xr), &payload);
	aa_buf_append(&m2, "\0", 2);
	assert_int_equal(p2p_noise_xx_write_message(xr, payload.p, payload.n, &m2, why, sizeof why),
			 0);
	m2.p[0] = (uint8_t)((m2.n - 2) >> 8);
	m2.p[1] = (uint8_t)(m2.n - 2);
	size_t used;
	int rc = p2p_noise_handshake_feed(i, m2.p, m2.n, &used);
	p2p_noise_xx_free(xr);
	aa_buf_free(&m1);
	aa_buf_free(&ignored);
	aa_buf_free(&payload);
	aa_buf_free(&m2);
	if (out)
		*out = i;
	else
		p2p_noise_handshake_free(i);
	return rc;
}

static struct p2p_keypair fake_key(void)
{
	uint8_t seed[32];
	memset(seed, 0x44, sizeof seed);
	struct p2p_keypair kp;
	p2p_keypair_from_seed(seed, &kp);
	return kp;
}

static void test_noise_handshake_accepts_protobuf_c_payload(void **state)
{
	struct p2p_keypair kp = fake_key();
	const char *const muxers[] = { "/mplex/6.7.0", "/yamux/1.0.0" };
	struct fake_payload f = { .kp = &kp, .key_type = 1, .muxers = muxers, .nmux = 2 };
	struct p2p_noise_handshake *i;
	assert_int_equal(initiator_vs_fake(&f, &i), 0);
	assert_true(p2p_noise_handshake_is_done(i));
	assert_memory_equal(p2p_noise_handshake_remote_public_key(i), kp.public_key, 32);
	assert_string_equal(p2p_noise_handshake_muxer(i), "/yamux/1.0.0");
	assert_int_equal(p2p_noise_handshake_remote_muxer_count(i), 2);
	p2p_noise_handshake_free(i);
}

static void test_noise_handshake_skips_unknown_payload_fields(void **state)
{
	struct p2p_keypair kp = fake_key();
	/* field 3 varint 5; field 100 bytes "hi"; field 9 fixed32; field 10 fixed64. */
	static const uint8_t trailer[] = { 0x18, 0x05, 0xa2, 0x06, 0x02, 'h', 'i',
					   0x4d, 1, 2, 3, 4, 0x51, 1, 2, 3, 4, 5, 6, 7, 8 };
	struct fake_payload f = { .kp = &kp, .key_type = 1, .muxers = YAMUX, .nmux = 1,
				  .certhashes = 2, .trailer = trailer, .trailer_len = sizeof trailer };
	assert_int_equal(initiator_vs_fake(&f, NULL), 0);
}

static void test_noise_handshake_rejects_bad_signature(void **state)
{
	struct p2p_keypair kp = fake_key();
	struct fake_payload f = { .kp = &kp, .key_type = 1, .sign_other_static = true };
	struct p2p_noise_handshake *i;
	assert_int_equal(initiator_vs_fake(&f, &i), AA_ECRYPTO);
	assert_non_null(strstr(p2p_noise_handshake_error(i), "identity_sig"));
	p2p_noise_handshake_free(i);
	f.sign_other_static = false;
	f.short_sig = true;
	assert_int_equal(initiator_vs_fake(&f, NULL), AA_ECRYPTO);
}

static void test_noise_handshake_rejects_non_ed25519_key(void **state)
{
	struct p2p_keypair kp = fake_key();
	struct fake_payload f = { .kp = &kp, .key_type = 2 /* Secp256k1 */ };
	struct p2p_noise_handshake *i;
	assert_int_equal(initiator_vs_fake(&f, &i), AA_ENOTSUP);
	assert_non_null(strstr(p2p_noise_handshake_error(i), "Secp256k1"));
	p2p_noise_handshake_free(i);
	f.key_type = 0; /* RSA */
	assert_int_equal(initiator_vs_fake(&f, NULL), AA_ENOTSUP);
}

static void test_noise_handshake_rejects_missing_fields(void **state)
{
	struct p2p_keypair kp = fake_key();
	struct fake_payload f = { .kp = &kp, .key_type = 1, .omit_key = true };
	struct p2p_noise_handshake *i;
	assert_int_equal(initiator_vs_fake(&f, &i), AA_EPROTO);
	assert_non_null(strstr(p2p_noise_handshake_error(i), "identity_key"));
	p2p_noise_handshake_free(i);
	f.omit_key = false;
	f.omit_sig = true;
	assert_int_equal(initiator_vs_fake(&f, NULL), AA_EPROTO);
}

static void test_noise_handshake_rejects_malformed_payload(void **state)
{
	struct p2p_keypair kp = fake_key();
	static const uint8_t truncated[] = { 0x22, 0x05, 0x12 };       /* extensions runs short */
	static const uint8_t dup_key[] = { 0x0a, 0x00 };               /* identity_key again */
	static const uint8_t group[] = { 0x1b };                       /* wire type 3 */
	static const uint8_t wrong_wire[] = { 0x10, 0x01 };            /* identity_sig as varint */
	static const uint8_t bad_ext[] = { 0x22, 0x02, 0x10, 0x01 };   /* stream_muxers as varint */
	static const uint8_t long_varint[] = { 0x18, 0xff, 0xff, 0xff, 0xff, 0xff,
					       0xff, 0xff, 0xff, 0xff, 0x02 };
	struct { const uint8_t *p; size_t n; } cases[] = {
		{ truncated, sizeof truncated }, { dup_key, sizeof dup_key },
		{ group, sizeof group },	 { wrong_wire, sizeof wrong_wire },
		{ bad_ext, sizeof bad_ext },	 { long_varint, sizeof long_varint },
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		struct fake_payload f = { .kp = &kp, .key_type = 1, .trailer = cases[k].p,
					  .trailer_len = cases[k].n };
		assert_int_equal(initiator_vs_fake(&f, NULL), AA_EPROTO);
	}
}

static void test_noise_handshake_rejects_too_many_remote_muxers(void **state)
{
	struct p2p_keypair kp = fake_key();
	const char *many[P2P_NOISE_MAX_REMOTE_MUXERS + 1];
	for (size_t k = 0; k < P2P_NOISE_MAX_REMOTE_MUXERS + 1; k++)
		many[k] = "/m";
	struct fake_payload f = { .kp = &kp, .key_type = 1, .muxers = many,
				  .nmux = P2P_NOISE_MAX_REMOTE_MUXERS + 1 };
	assert_int_equal(initiator_vs_fake(&f, NULL), AA_ETOOBIG);
	f.nmux = P2P_NOISE_MAX_REMOTE_MUXERS;
	assert_int_equal(initiator_vs_fake(&f, NULL), AA_ENOTSUP); /* none is ours */
}

static void test_noise_payload_we_send_parses_with_protobuf_c(void **state)
{
	/* A hand-made initiator reads a real responder's message 2 and checks the payload. */
	const char *const muxers[] = { "/yamux/1.0.0", "/mplex/6.7.0" };
	struct p2p_noise_handshake *r = make_hs(false, 0x22, NULL, muxers, 2, false);
	struct p2p_noise_xx *xi = p2p_noise_xx_new(true, NULL, 0, NULL, NULL);
	struct aa_buf m1, m2, pl;
	aa_buf_init(&m1);
	aa_buf_init(&m2);
	aa_buf_init(&pl);
	char why[128];
	aa_buf_append(&m1, "\0\x20", 2);
	assert_int_equal(p2p_noise_xx_write_message(xi, NULL, 0, &m1, why, sizeof why), 0);
	size_t used;
	assert_int_equal(p2p_noise_handshake_feed(r, m1.p, m1.n, &used), 0);
	p2p_noise_handshake_take_output(r, &m2);
	assert_int_equal(m2.p[0] << 8 | m2.p[1], m2.n - 2);
	assert_int_equal(p2p_noise_xx_read_message(xi, m2.p + 2, m2.n - 2, &pl, why, sizeof why), 0);

	Libp2p__Noise__NoiseHandshakePayload *msg =
		libp2p__noise__noise_handshake_payload__unpack(NULL, pl.n, pl.p);
	assert_non_null(msg);
	uint8_t seed[32], key_pb[36];
	memset(seed, 0x22, 32);
	struct p2p_keypair kp;
	p2p_keypair_from_seed(seed, &kp);
	p2p_public_key_marshal(kp.public_key, key_pb);
	assert_true(msg->has_identity_key);
	assert_int_equal(msg->identity_key.len, 36);
	assert_memory_equal(msg->identity_key.data, key_pb, 36);
	assert_true(msg->has_identity_sig);
	assert_int_equal(msg->identity_sig.len, 64);
	uint8_t signed_msg[56];
	memcpy(signed_msg, "noise-libp2p-static-key:", 24);
	memcpy(signed_msg + 24, p2p_noise_xx_remote_static(xi), 32);
	assert_int_equal(p2p_ed25519_verify(kp.public_key, signed_msg, 56, msg->identity_sig.data),
			 0);
	assert_non_null(msg->extensions);
	assert_int_equal(msg->extensions->n_stream_muxers, 2);
	assert_string_equal(msg->extensions->stream_muxers[0], "/yamux/1.0.0");
	assert_string_equal(msg->extensions->stream_muxers[1], "/mplex/6.7.0");
	assert_int_equal(msg->extensions->n_webtransport_certhashes, 0);
	/* Our encoding is the canonical one: protobuf-c re-encodes it byte for byte. */
	size_t n = libp2p__noise__noise_handshake_payload__get_packed_size(msg);
	assert_int_equal(n, pl.n);
	uint8_t *again = malloc(n);
	libp2p__noise__noise_handshake_payload__pack(msg, again);
	assert_memory_equal(again, pl.p, n);
	free(again);
	libp2p__noise__noise_handshake_payload__free_unpacked(msg, NULL);
	p2p_noise_xx_free(xi);
	p2p_noise_handshake_free(r);
	aa_buf_free(&m1);
	aa_buf_free(&m2);
	aa_buf_free(&pl);
}

static void test_noise_handshake_responder_rejects_bad_signature(void **state)
{
	/* A hand-made initiator whose message 3 signs the wrong static key. */
	struct p2p_noise_handshake *r = make_hs(false, 0x22, NULL, YAMUX, 1, false);
	struct p2p_noise_xx *xi = p2p_noise_xx_new(true, NULL, 0, NULL, NULL);
	struct aa_buf m, pl;
	aa_buf_init(&m);
	aa_buf_init(&pl);
	char why[128];
	size_t used;
	aa_buf_append(&m, "\0\x20", 2);
	assert_int_equal(p2p_noise_xx_write_message(xi, NULL, 0, &m, why, sizeof why), 0);
	assert_int_equal(p2p_noise_handshake_feed(r, m.p, m.n, &used), 0);
	aa_buf_reset(&m);
	p2p_noise_handshake_take_output(r, &m);
	assert_int_equal(p2p_noise_xx_read_message(xi, m.p + 2, m.n - 2, &pl, why, sizeof why), 0);
	struct p2p_keypair kp = fake_key();
	struct fake_payload f = { .kp = &kp, .key_type = 1, .sign_other_static = true };
	aa_buf_reset(&pl);
	build_fake(&f, p2p_noise_xx_local_static(xi), &pl);
	aa_buf_reset(&m);
	aa_buf_append(&m, "\0", 2);
	assert_int_equal(p2p_noise_xx_write_message(xi, pl.p, pl.n, &m, why, sizeof why), 0);
	m.p[0] = (uint8_t)((m.n - 2) >> 8);
	m.p[1] = (uint8_t)(m.n - 2);
	assert_int_equal(p2p_noise_handshake_feed(r, m.p, m.n, &used), AA_ECRYPTO);
	assert_false(p2p_noise_handshake_is_done(r));
	p2p_noise_xx_free(xi);
	p2p_noise_handshake_free(r);
	aa_buf_free(&m);
	aa_buf_free(&pl);
}

static void test_noise_handshake_rejects_low_order_ephemeral(void **state)
{
	/* Message 1 with an all-zero X25519 key: DH(e, re) would be all zeros. */
	struct p2p_noise_handshake *r = make_hs(false, 0x22, NULL, YAMUX, 1, false);
	uint8_t m1[2 + 32] = { 0, 32 };
	size_t used;
	assert_int_equal(p2p_noise_handshake_feed(r, m1, sizeof m1, &used), AA_ECRYPTO);
	assert_non_null(strstr(p2p_noise_handshake_error(r), "low-order"));
	p2p_noise_handshake_free(r);
}

static void test_noise_handshake_rejects_short_messages(void **state)
{
	struct p2p_noise_handshake *r = make_hs(false, 0x22, NULL, YAMUX, 1, false);
	uint8_t m1[2 + 31] = { 0, 31 };
	size_t used;
	assert_int_equal(p2p_noise_handshake_feed(r, m1, sizeof m1, &used), AA_EPROTO);
	p2p_noise_handshake_free(r);
	struct p2p_noise_handshake *i = make_hs(true, 0x11, NULL, YAMUX, 1, false);
	uint8_t m2[2 + 95] = { 0, 95 };
	assert_int_equal(p2p_noise_handshake_feed(i, m2, sizeof m2, &used), AA_EPROTO);
	p2p_noise_handshake_free(i);
	/* An empty message is short too. */
	r = make_hs(false, 0x22, NULL, YAMUX, 1, false);
	assert_int_equal(p2p_noise_handshake_feed(r, (const uint8_t *)"\0\0", 2, &used), AA_EPROTO);
	p2p_noise_handshake_free(r);
}

static void test_noise_handshake_rejects_max_length_garbage(void **state)
{
	/* The largest message the length prefix allows is gathered (bounded) and fails its MAC. */
	struct p2p_noise_handshake *i = make_hs(true, 0x11, NULL, YAMUX, 1, false);
	size_t n = 2 + P2P_NOISE_MAX_MESSAGE;
	uint8_t *m = malloc(n);
	fill(m, n, 3);
	m[0] = 0xff;
	m[1] = 0xff;
	size_t used;
	assert_int_equal(p2p_noise_handshake_feed(i, m, n, &used), AA_ECRYPTO);
	assert_int_equal(used, n);
	free(m);
	p2p_noise_handshake_free(i);
}

/* Flips each byte of message `which` (2 or 3, length prefix included) in turn; the receiver
 * must never complete: it fails, or (a grown length) keeps waiting for bytes. */
static void flip_each_byte(int which)
{
	for (size_t k = 0;; k++) {
		struct p2p_noise_handshake *i = make_hs(true, 0x11, NULL, YAMUX, 1, true);
		struct p2p_noise_handshake *r = make_hs(false, 0x22, NULL, YAMUX, 1, true);
		assert_int_equal(pass(i, r), 0);
		if (which == 3)
			assert_int_equal(pass(r, i), 0);
		struct p2p_noise_handshake *from = which == 2 ? r : i, *to = which == 2 ? i : r;
		struct aa_buf b;
		aa_buf_init(&b);
		p2p_noise_handshake_take_output(from, &b);
		bool last = k + 1 >= b.n;
		b.p[k] ^= 0x01;
		size_t used;
		int rc = p2p_noise_handshake_feed(to, b.p, b.n, &used);
		assert_false(p2p_noise_handshake_is_done(to));
		if (k >= 2)
			assert_true(rc < 0);
		aa_buf_free(&b);
		p2p_noise_handshake_free(i);
		p2p_noise_handshake_free(r);
		if (last)
			break;
	}
}

static void test_noise_handshake_rejects_tampered_message2(void **state)
{
	flip_each_byte(2);
}

static void test_noise_handshake_rejects_tampered_message3(void **state)
{
	flip_each_byte(3);
}

static void test_noise_handshake_rejects_tampered_message1(void **state)
{
	/* A changed ephemeral key in message 1 goes unnoticed until the initiator finds that
	 * message 2 does not decrypt: the transcripts differ. */
	struct aa_buf b;
	aa_buf_init(&b);
	for (size_t k = 2; k < 2 + 32; k++) {
		struct p2p_noise_handshake *i = make_hs(true, 0x11, NULL, YAMUX, 1, true);
		struct p2p_noise_handshake *r = make_hs(false, 0x22, NULL, YAMUX, 1, true);
		aa_buf_reset(&b);
		p2p_noise_handshake_take_output(i, &b);
		b.p[k] ^= 0x80;
		size_t used;
		int rc = p2p_noise_handshake_feed(r, b.p, b.n, &used);
		if (rc == 0)
			rc = pass(r, i);
		assert_true(rc < 0);
		assert_false(p2p_noise_handshake_is_done(i));
		p2p_noise_handshake_free(i);
		p2p_noise_handshake_free(r);
	}
	aa_buf_free(&b);
}

/* ---- transport session -------------------------------------------------------------------- */

/* Reads all of wire[0..n) with p2p_noise_session_read and appends the plaintext to out. */
static int read_all(struct p2p_noise_session *s, uint8_t *wire, size_t n, struct aa_buf *out)
{
	size_t off = 0;
	while (off < n) {
		size_t used;
		struct aa_slice plain;
		int rc = p2p_noise_session_read(s, wire + off, n - off, &used, &plain);
		if (rc != 0)
			return rc;
		assert_true(used > 0);
		off += used;
		aa_buf_append(out, plain.p, plain.n);
	}
	return 0;
}

static void test_noise_session_round_trips_split_at_every_boundary(void **state)
{
	/* One reference stream of three frames, replayed into fresh (identically keyed)
	 * sessions, cut in two at every byte offset, through both reading interfaces. */
	static const size_t sizes[] = { 1, 37, 5 };
	uint8_t plain[64];
	struct aa_buf wire;
	aa_buf_init(&wire);
	struct p2p_noise_session *si, *sr;
	session_pair(&si, &sr);
	size_t total = 0;
	for (size_t k = 0; k < 3; k++) {
		fill(plain + total, sizes[k], (uint32_t)k);
		assert_int_equal(p2p_noise_session_encrypt(si, plain + total, sizes[k], &wire), 0);
		total += sizes[k];
	}
	p2p_noise_session_free(si);
	p2p_noise_session_free(sr);
	assert_int_equal(wire.n, total + 3 * 18);
	uint8_t *copy = malloc(wire.n);
	for (size_t cut = 0; cut <= wire.n; cut++) {
		for (int api = 0; api < 2; api++) {
			session_pair(&si, &sr);
			struct aa_buf out;
			aa_buf_init(&out);
			memcpy(copy, wire.p, wire.n);
			if (api == 0) {
				assert_int_equal(read_all(sr, copy, cut, &out), 0);
				assert_int_equal(read_all(sr, copy + cut, wire.n - cut, &out), 0);
			} else {
				assert_int_equal(p2p_noise_session_decrypt(sr, copy, cut, &out), 0);
				assert_int_equal(p2p_noise_session_decrypt(sr, copy + cut, wire.n - cut,
									   &out), 0);
			}
			assert_int_equal(out.n, total);
			assert_memory_equal(out.p, plain, total);
			aa_buf_free(&out);
			p2p_noise_session_free(si);
			p2p_noise_session_free(sr);
		}
	}
	/* And one byte at a time. */
	session_pair(&si, &sr);
	struct aa_buf out;
	aa_buf_init(&out);
	memcpy(copy, wire.p, wire.n);
	for (size_t k = 0; k < wire.n; k++)
		assert_int_equal(read_all(sr, copy + k, 1, &out), 0);
	assert_int_equal(out.n, total);
	assert_memory_equal(out.p, plain, total);
	aa_buf_free(&out);
	p2p_noise_session_free(si);
	p2p_noise_session_free(sr);
	free(copy);
	aa_buf_free(&wire);
}

static void test_noise_session_reads_whole_frames_in_place(void **state)
{
	struct p2p_noise_session *si, *sr;
	session_pair(&si, &sr);
	struct aa_buf wire;
	aa_buf_init(&wire);
	assert_int_equal(p2p_noise_session_encrypt(si, (const uint8_t *)"zero-copy", 9, &wire), 0);
	size_t used;
	struct aa_slice plain;
	assert_int_equal(p2p_noise_session_read(sr, wire.p, wire.n, &used, &plain), 0);
	assert_int_equal(used, wire.n);
	assert_ptr_equal(plain.p, wire.p + 2);
	assert_int_equal(plain.n, 9);
	assert_memory_equal(plain.p, "zero-copy", 9);
	aa_buf_free(&wire);
	p2p_noise_session_free(si);
	p2p_noise_session_free(sr);
}

static void test_noise_session_splits_large_writes_into_max_frames(void **state)
{
	struct p2p_noise_session *si, *sr;
	session_pair(&si, &sr);
	size_t n = 2 * P2P_NOISE_MAX_PLAINTEXT + 1;
	uint8_t *plain = malloc(n);
	fill(plain, n, 7);
	struct aa_buf wire, out;
	aa_buf_init(&wire);
	aa_buf_init(&out);
	assert_int_equal(p2p_noise_session_encrypt(si, plain, n, &wire), 0);
	/* Two full frames (length field 65535, the maximum) and a 1-byte one. */
	assert_int_equal(wire.n, n + 3 * 18);
	assert_int_equal(wire.p[0] << 8 | wire.p[1], 65535);
	size_t second = 2 + 65535;
	assert_int_equal(wire.p[second] << 8 | wire.p[second + 1], 65535);
	assert_int_equal(wire.p[2 * second] << 8 | wire.p[2 * second + 1], 17);
	/* Read back in awkward pieces. */
	size_t off = 0, step = 1;
	while (off < wire.n) {
		size_t take = step < wire.n - off ? step : wire.n - off;
		assert_int_equal(read_all(sr, wire.p + off, take, &out), 0);
		off += take;
		step = step * 7 + 3;
	}
	assert_int_equal(out.n, n);
	assert_memory_equal(out.p, plain, n);
	free(plain);
	aa_buf_free(&wire);
	aa_buf_free(&out);
	p2p_noise_session_free(si);
	p2p_noise_session_free(sr);
}

static void test_noise_session_rejects_frames_shorter_than_tag(void **state)
{
	struct p2p_noise_session *si, *sr;
	session_pair(&si, &sr);
	uint8_t frame[2 + 15] = { 0, 15 };
	struct aa_buf out;
	aa_buf_init(&out);
	assert_int_equal(p2p_noise_session_decrypt(sr, frame, sizeof frame, &out), AA_EPROTO);
	assert_non_null(strstr(p2p_noise_session_error(sr), "shorter than its tag"));
	/* The receive side is dead from now on; sending still works. */
	assert_int_equal(p2p_noise_session_decrypt(sr, frame, 1, &out), AA_EPROTO);
	assert_int_equal(p2p_noise_session_encrypt(sr, (const uint8_t *)"x", 1, &out), 0);
	p2p_noise_session_free(si);
	p2p_noise_session_free(sr);
	/* Split across reads, and through the in-place reader. */
	session_pair(&si, &sr);
	size_t used;
	struct aa_slice plain;
	uint8_t zero[2] = { 0, 0 };
	assert_int_equal(p2p_noise_session_read(sr, zero, 1, &used, &plain), 0);
	assert_int_equal(p2p_noise_session_read(sr, zero + 1, 1, &used, &plain), AA_EPROTO);
	aa_buf_free(&out);
	p2p_noise_session_free(si);
	p2p_noise_session_free(sr);
}

static void test_noise_session_rejects_tampered_frames(void **state)
{
	struct p2p_noise_session *si, *sr;
	session_pair(&si, &sr);
	struct aa_buf wire;
	aa_buf_init(&wire);
	assert_int_equal(p2p_noise_session_encrypt(si, (const uint8_t *)"attack at dawn", 14, &wire),
			 0);
	p2p_noise_session_free(si);
	p2p_noise_session_free(sr);
	for (size_t k = 0; k < wire.n; k++) {
		session_pair(&si, &sr);
		uint8_t copy[64];
		memcpy(copy, wire.p, wire.n);
		copy[k] ^= 0x04;
		struct aa_buf out;
		aa_buf_init(&out);
		int rc = p2p_noise_session_decrypt(sr, copy, wire.n, &out);
		/* A grown length just waits for more; anything else fails the MAC. */
		size_t was = (size_t)wire.p[0] << 8 | wire.p[1], now = (size_t)copy[0] << 8 | copy[1];
		assert_int_equal(rc, now > was ? 0 : now < 16 ? AA_EPROTO : AA_ECRYPTO);
		assert_int_equal(out.n, 0);
		aa_buf_free(&out);
		p2p_noise_session_free(si);
		p2p_noise_session_free(sr);
	}
	aa_buf_free(&wire);
}

static void test_noise_session_mac_failure_is_sticky(void **state)
{
	struct p2p_noise_session *si, *sr;
	session_pair(&si, &sr);
	struct aa_buf a, b, out;
	aa_buf_init(&a);
	aa_buf_init(&b);
	aa_buf_init(&out);
	assert_int_equal(p2p_noise_session_encrypt(si, (const uint8_t *)"one", 3, &a), 0);
	assert_int_equal(p2p_noise_session_encrypt(si, (const uint8_t *)"two", 3, &b), 0);
	/* Frame two arrives first: wrong nonce, so the MAC fails; then nothing is accepted. */
	assert_int_equal(p2p_noise_session_decrypt(sr, b.p, b.n, &out), AA_ECRYPTO);
	assert_int_equal(p2p_noise_session_decrypt(sr, a.p, a.n, &out), AA_ECRYPTO);
	assert_non_null(strstr(p2p_noise_session_error(sr), "MAC"));
	aa_buf_free(&a);
	aa_buf_free(&b);
	aa_buf_free(&out);
	p2p_noise_session_free(si);
	p2p_noise_session_free(sr);
}

static void test_noise_session_stops_before_nonce_exhaustion(void **state)
{
	struct p2p_noise_session *si, *sr;
	session_pair(&si, &sr);
	/* noise spec §5.1: 2^64-1 is never used; 2^64-2 is the last nonce. */
	p2p_noise_session_set_nonces_for_test(si, UINT64_MAX - 1, 0);
	p2p_noise_session_set_nonces_for_test(sr, 0, UINT64_MAX - 1);
	struct aa_buf wire, out;
	aa_buf_init(&wire);
	aa_buf_init(&out);
	assert_int_equal(p2p_noise_session_encrypt(si, (const uint8_t *)"last", 4, &wire), 0);
	assert_int_equal(p2p_noise_session_decrypt(sr, wire.p, wire.n, &out), 0);
	assert_int_equal(out.n, 4);
	assert_memory_equal(out.p, "last", 4);
	size_t before = wire.n;
	assert_int_equal(p2p_noise_session_encrypt(si, (const uint8_t *)"more", 4, &wire), AA_ERANGE);
	assert_int_equal(wire.n, before);
	/* The receiver refuses a frame that would need nonce 2^64-1. */
	assert_int_equal(p2p_noise_session_decrypt(sr, wire.p, wire.n, &out), AA_ERANGE);
	p2p_noise_session_free(si);
	p2p_noise_session_free(sr);

	/* A write that needs more nonces than remain is refused whole. */
	session_pair(&si, &sr);
	p2p_noise_session_set_nonces_for_test(si, UINT64_MAX - 1, 0);
	size_t n = P2P_NOISE_MAX_PLAINTEXT + 1;
	uint8_t *big = calloc(1, n);
	aa_buf_reset(&wire);
	assert_int_equal(p2p_noise_session_encrypt(si, big, n, &wire), AA_ERANGE);
	assert_int_equal(wire.n, 0);
	free(big);
	aa_buf_free(&wire);
	aa_buf_free(&out);
	p2p_noise_session_free(si);
	p2p_noise_session_free(sr);
}

static void test_noise_session_encrypts_nothing_for_empty_writes(void **state)
{
	struct p2p_noise_session *si, *sr;
	session_pair(&si, &sr);
	struct aa_buf wire;
	aa_buf_init(&wire);
	assert_int_equal(p2p_noise_session_encrypt(si, NULL, 0, &wire), 0);
	assert_int_equal(wire.n, 0);
	aa_buf_free(&wire);
	p2p_noise_session_free(si);
	p2p_noise_session_free(sr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_noise_xx_matches_cacophony_vector),
		cmocka_unit_test(test_noise_xx_matches_snow_vector),
		cmocka_unit_test(test_noise_xx_refuses_out_of_turn_calls),
		cmocka_unit_test(test_noise_xx_rejects_payload_beyond_message_limit),
		cmocka_unit_test(test_noise_handshake_completes_in_memory),
		cmocka_unit_test(test_noise_handshake_accepts_input_byte_by_byte),
		cmocka_unit_test(test_noise_handshake_leaves_pipelined_transport_data),
		cmocka_unit_test(test_noise_handshake_is_deterministic_with_fixed_keys),
		cmocka_unit_test(test_noise_handshake_rejects_peer_id_mismatch),
		cmocka_unit_test(test_noise_handshake_rejects_bad_config),
		cmocka_unit_test(test_noise_muxer_same_single_muxer),
		cmocka_unit_test(test_noise_muxer_follows_initiator_preference),
		cmocka_unit_test(test_noise_muxer_skips_unsupported_entries),
		cmocka_unit_test(test_noise_muxer_none_when_a_side_lists_none),
		cmocka_unit_test(test_noise_muxer_disjoint_lists_fail),
		cmocka_unit_test(test_noise_handshake_accepts_protobuf_c_payload),
		cmocka_unit_test(test_noise_handshake_skips_unknown_payload_fields),
		cmocka_unit_test(test_noise_handshake_rejects_bad_signature),
		cmocka_unit_test(test_noise_handshake_rejects_non_ed25519_key),
		cmocka_unit_test(test_noise_handshake_rejects_missing_fields),
		cmocka_unit_test(test_noise_handshake_rejects_malformed_payload),
		cmocka_unit_test(test_noise_handshake_rejects_too_many_remote_muxers),
		cmocka_unit_test(test_noise_payload_we_send_parses_with_protobuf_c),
		cmocka_unit_test(test_noise_handshake_responder_rejects_bad_signature),
		cmocka_unit_test(test_noise_handshake_rejects_low_order_ephemeral),
		cmocka_unit_test(test_noise_handshake_rejects_short_messages),
		cmocka_unit_test(test_noise_handshake_rejects_max_length_garbage),
		cmocka_unit_test(test_noise_handshake_rejects_tampered_message1),
		cmocka_unit_test(test_noise_handshake_rejects_tampered_message2),
		cmocka_unit_test(test_noise_handshake_rejects_tampered_message3),
		cmocka_unit_test(test_noise_session_round_trips_split_at_every_boundary),
		cmocka_unit_test(test_noise_session_reads_whole_frames_in_place),
		cmocka_unit_test(test_noise_session_splits_large_writes_into_max_frames),
		cmocka_unit_test(test_noise_session_rejects_frames_shorter_than_tag),
		cmocka_unit_test(test_noise_session_rejects_tampered_frames),
		cmocka_unit_test(test_noise_session_mac_failure_is_sticky),
		cmocka_unit_test(test_noise_session_stops_before_nonce_exhaustion),
		cmocka_unit_test(test_noise_session_encrypts_nothing_for_empty_writes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
