/* noise: libp2p's Noise secure channel — Noise_XX_25519_ChaChaPoly_SHA256 (Noise Protocol
 * Framework rev 34), the libp2p signed handshake payload and the 2-byte length-prefixed wire
 * format (libp2p noise spec), as sans-I/O state machines.
 *
 * The NoiseHandshakePayload protobuf (proto/libp2p/noise.proto) is encoded and parsed by hand
 * rather than with protobuf-c. The parser works on the decrypted message in place and
 * allocates nothing; it bounds the repeated fields (protobuf-c would allocate an array for
 * however many muxer strings 64 KiB can hold), rejects a repeated singular field instead of
 * silently keeping the last one (a payload naming two identity keys is never honest), and
 * skips unknown fields as protobuf requires, since the spec's extension registry may add
 * fields. Nothing is signed over the payload encoding itself (the signature covers only the
 * Noise static key), so our encoding needs only be valid protobuf; it is the canonical one
 * (fields in order, minimal varints). The unit tests cross-check both directions against the
 * protobuf-c code generated from the .proto file. */
#include "p2p/noise.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "base/endian.h"
#include "base/err.h"
#include "base/mem.h"
#include "base/varint.h"
#include "p2p/chachapoly.h"

/* noise spec §5.2 InitializeSymmetric(): a name of exactly HASHLEN bytes is used as h
 * as it is (no padding, no hashing). */
_Static_assert(sizeof(P2P_NOISE_PROTOCOL_NAME) - 1 == P2P_NOISE_HASH_BYTES,
	       "protocol name is HASHLEN bytes");

#define KEY_BYTES 32
#define NONCE_BYTES 12
/* noise spec §5.1: the nonce value 2^64-1 is reserved; reaching it ends the CipherState. */
#define NONCE_LIMIT UINT64_MAX
/* libp2p noise spec, "The libp2p Handshake Payload": the signed prefix. */
#define SIG_PREFIX "noise-libp2p-static-key:"
#define SIG_PREFIX_BYTES (sizeof(SIG_PREFIX) - 1)
#define WHY_BYTES 192

/* Sizes of the three XX messages without their payload (noise spec §3):
 * e; e + encrypted s + tag; encrypted s + tag. Each payload adds a tag once keys exist. */
#define MSG1_FIXED P2P_NOISE_DH_BYTES
#define MSG2_FIXED (2 * P2P_NOISE_DH_BYTES + P2P_NOISE_TAG_BYTES)
#define MSG3_FIXED (P2P_NOISE_DH_BYTES + P2P_NOISE_TAG_BYTES)

/* Protobuf field numbers (libp2p noise spec). */
#define PAYLOAD_IDENTITY_KEY 1
#define PAYLOAD_IDENTITY_SIG 2
#define PAYLOAD_EXTENSIONS 4
#define EXT_WEBTRANSPORT_CERTHASHES 1
#define EXT_STREAM_MUXERS 2
#define PB_WIRE_VARINT 0
#define PB_WIRE_FIXED64 1
#define PB_WIRE_LEN 2
#define PB_WIRE_FIXED32 5

/* noise spec §12.3: 32 bits of zeros, then the counter little-endian. */
static void make_nonce(uint64_t n, uint8_t out[NONCE_BYTES])
{
	memset(out, 0, 4);
	aa_store_le64(out + 4, n);
}

/* ---- SymmetricState (noise spec §5.2) ---------------------------------------------------- */

struct cipher_state {
	uint8_t k[KEY_BYTES];
	uint64_t n;
	bool has_key;
};

struct symmetric_state {
	struct cipher_state cs;
	uint8_t ck[P2P_NOISE_HASH_BYTES];
	uint8_t h[P2P_NOISE_HASH_BYTES];
};

static void ss_init(struct symmetric_state *ss)
{
	memcpy(ss->h, P2P_NOISE_PROTOCOL_NAME, P2P_NOISE_HASH_BYTES);
	memcpy(ss->ck, ss->h, P2P_NOISE_HASH_BYTES);
	sodium_memzero(&ss->cs, sizeof ss->cs);
}

static void mix_hash(struct symmetric_state *ss, const uint8_t *data, size_t n)
{
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, ss->h, sizeof ss->h);
	if (n > 0)
		crypto_hash_sha256_update(&st, data, n);
	crypto_hash_sha256_final(&st, ss->h);
}

/* HMAC-SHA256(key, a ‖ b). */
static void hmac2(const uint8_t key[P2P_NOISE_HASH_BYTES], const uint8_t *a, size_t an,
		  const uint8_t *b, size_t bn, uint8_t out[P2P_NOISE_HASH_BYTES])
{
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, key, P2P_NOISE_HASH_BYTES);
	if (an > 0)
		crypto_auth_hmacsha256_update(&st, a, an);
	if (bn > 0)
		crypto_auth_hmacsha256_update(&st, b, bn);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof st);
}

/* noise spec §4.3 HKDF() with two outputs (the only form XX needs). */
static void hkdf2(const uint8_t ck[P2P_NOISE_HASH_BYTES], const uint8_t *ikm, size_t ikm_len,
		  uint8_t out1[P2P_NOISE_HASH_BYTES], uint8_t out2[P2P_NOISE_HASH_BYTES])
{
	static const uint8_t one = 0x01, two = 0x02;
	uint8_t temp_key[P2P_NOISE_HASH_BYTES], o1[P2P_NOISE_HASH_BYTES];
	hmac2(ck, ikm, ikm_len, NULL, 0, temp_key);
	hmac2(temp_key, &one, 1, NULL, 0, o1);
	hmac2(temp_key, o1, sizeof o1, &two, 1, out2);
	memcpy(out1, o1, sizeof o1);
	sodium_memzero(temp_key, sizeof temp_key);
	sodium_memzero(o1, sizeof o1);
}

static void mix_key(struct symmetric_state *ss, const uint8_t ikm[P2P_NOISE_DH_BYTES])
{
	uint8_t ck[P2P_NOISE_HASH_BYTES];
	hkdf2(ss->ck, ikm, P2P_NOISE_DH_BYTES, ck, ss->cs.k);
	memcpy(ss->ck, ck, sizeof ck);
	ss->cs.n = 0;
	ss->cs.has_key = true;
	sodium_memzero(ck, sizeof ck);
}

/* EncryptAndHash(): ct receives n bytes, or n + 16 once a key exists. The handshake AEAD is
 * libsodium's; the transport AEAD (the hot path) is OpenSSL's. */
static int encrypt_and_hash(struct symmetric_state *ss, const uint8_t *pt, size_t n, uint8_t *ct)
{
	if (!ss->cs.has_key) {
		if (n > 0)
			memmove(ct, pt, n);
	} else {
		if (ss->cs.n == NONCE_LIMIT)
			return AA_ERANGE;
		uint8_t nonce[NONCE_BYTES];
		make_nonce(ss->cs.n, nonce);
		crypto_aead_chacha20poly1305_ietf_encrypt(ct, NULL, pt, n, ss->h, sizeof ss->h, NULL,
							  nonce, ss->cs.k);
		ss->cs.n++;
		n += P2P_NOISE_TAG_BYTES;
	}
	mix_hash(ss, ct, n);
	return 0;
}

/* DecryptAndHash(): pt receives n bytes, or n - 16 once a key exists. */
static int decrypt_and_hash(struct symmetric_state *ss, const uint8_t *ct, size_t n, uint8_t *pt)
{
	if (!ss->cs.has_key) {
		if (n > 0)
			memmove(pt, ct, n);
	} else {
		if (n < P2P_NOISE_TAG_BYTES)
			return AA_EPROTO;
		if (ss->cs.n == NONCE_LIMIT)
			return AA_ERANGE;
		uint8_t nonce[NONCE_BYTES];
		make_nonce(ss->cs.n, nonce);
		if (crypto_aead_chacha20poly1305_ietf_decrypt(pt, NULL, NULL, ct, n, ss->h,
							      sizeof ss->h, nonce, ss->cs.k) != 0)
			return AA_ECRYPTO;
		ss->cs.n++;
	}
	mix_hash(ss, ct, n);
	return 0;
}

/* ---- HandshakeState for XX (noise spec §5.3, §7.5) ---------------------------------------- */

struct p2p_noise_xx {
	struct symmetric_state ss;
	bool initiator;
	bool failed;
	bool split_done;
	bool e_fixed; /* tests: the ephemeral key was given */
	unsigned step; /* messages processed so far: 0..3 */
	uint8_t s_sec[P2P_NOISE_DH_BYTES], s_pub[P2P_NOISE_DH_BYTES];
	uint8_t e_sec[P2P_NOISE_DH_BYTES], e_pub[P2P_NOISE_DH_BYTES];
	uint8_t re[P2P_NOISE_DH_BYTES], rs[P2P_NOISE_DH_BYTES];
	bool have_rs;
	uint8_t k1[KEY_BYTES], k2[KEY_BYTES]; /* Split() outputs, until handed to a session */
};

/* A clamped X25519 scalar times the base point is never the identity, so this cannot fail;
 * libsodium still reports a status, and ignoring it silently would hide a broken library. */
static void x25519_public(uint8_t pub[P2P_NOISE_DH_BYTES], const uint8_t sec[P2P_NOISE_DH_BYTES])
{
	if (crypto_scalarmult_curve25519_base(pub, sec) != 0) {
		fprintf(stderr, "fatal: X25519 base-point multiplication failed\n");
		abort();
	}
}

static void xx_init(struct p2p_noise_xx *xx, bool initiator, const uint8_t *prologue,
		    size_t prologue_len, const uint8_t *static_secret,
		    const uint8_t *ephemeral_secret)
{
	aa_require_sodium();
	memset(xx, 0, sizeof *xx);
	xx->initiator = initiator;
	ss_init(&xx->ss);
	/* XX has no pre-messages, so the prologue is the only thing hashed before message 1. */
	mix_hash(&xx->ss, prologue, prologue_len);
	/* libp2p noise spec, "Static Key Authentication": a fresh static key per session is
	 * allowed, and it is never stored; the libp2p identity key vouches for it. */
	if (static_secret)
		memcpy(xx->s_sec, static_secret, sizeof xx->s_sec);
	else
		randombytes_buf(xx->s_sec, sizeof xx->s_sec);
	x25519_public(xx->s_pub, xx->s_sec);
	if (ephemeral_secret) {
		memcpy(xx->e_sec, ephemeral_secret, sizeof xx->e_sec);
		xx->e_fixed = true;
	}
}

struct p2p_noise_xx *p2p_noise_xx_new(bool initiator, const uint8_t *prologue, size_t prologue_len,
				      const uint8_t *static_secret, const uint8_t *ephemeral_secret)
{
	struct p2p_noise_xx *xx = aa_malloc(sizeof *xx);
	xx_init(xx, initiator, prologue, prologue_len, static_secret, ephemeral_secret);
	return xx;
}

void p2p_noise_xx_free(struct p2p_noise_xx *xx)
{
	if (!xx)
		return;
	sodium_memzero(xx, sizeof *xx);
	free(xx);
}

/* noise spec §5: a HandshakeState that saw an error is deleted; here it keeps only the
 * fact that it failed. */
static int xx_fail(struct p2p_noise_xx *xx, int rc)
{
	bool initiator = xx->initiator;
	unsigned step = xx->step;
	sodium_memzero(xx, sizeof *xx);
	xx->initiator = initiator;
	xx->step = step;
	xx->failed = true;
	return rc;
}

/* DH() for the ee/es/se tokens, then MixKey(). noise spec §12.1 allows signalling an error
 * for an all-zero output instead of using it; we do (libp2p peers never send such keys, and
 * a channel keyed by a public constant is not worth completing). */
static int mix_dh(struct p2p_noise_xx *xx, const uint8_t sec[P2P_NOISE_DH_BYTES],
		  const uint8_t pub[P2P_NOISE_DH_BYTES], char *why, size_t why_len)
{
	uint8_t shared[P2P_NOISE_DH_BYTES];
	if (crypto_scalarmult_curve25519(shared, sec, pub) != 0) {
		aa_set_why(why, why_len, "X25519 output is all zeros (the remote sent a low-order key)");
		return AA_ECRYPTO;
	}
	mix_key(&xx->ss, shared);
	sodium_memzero(shared, sizeof shared);
	return 0;
}

static bool xx_our_turn(const struct p2p_noise_xx *xx)
{
	/* XX: the initiator writes messages 1 and 3, the responder message 2. */
	return (xx->step % 2 == 0) == xx->initiator;
}

static void xx_split(struct p2p_noise_xx *xx)
{
	hkdf2(xx->ss.ck, NULL, 0, xx->k1, xx->k2);
	/* Handshake secrets are no longer needed; only h (channel binding) and k1/k2 stay. */
	sodium_memzero(xx->s_sec, sizeof xx->s_sec);
	sodium_memzero(xx->e_sec, sizeof xx->e_sec);
	sodium_memzero(xx->ss.ck, sizeof xx->ss.ck);
	sodium_memzero(&xx->ss.cs, sizeof xx->ss.cs);
}

/* Appends e (token "e"): a fresh ephemeral key unless tests fixed one. */
static void write_e(struct p2p_noise_xx *xx, uint8_t *dst)
{
	if (!xx->e_fixed)
		randombytes_buf(xx->e_sec, sizeof xx->e_sec);
	x25519_public(xx->e_pub, xx->e_sec);
	memcpy(dst, xx->e_pub, P2P_NOISE_DH_BYTES);
	mix_hash(&xx->ss, xx->e_pub, P2P_NOISE_DH_BYTES);
}

int p2p_noise_xx_write_message(struct p2p_noise_xx *xx, const uint8_t *payload, size_t n,
			       struct aa_buf *out, char *why, size_t why_len)
{
	if (xx->failed) {
		aa_set_why(why, why_len, "the handshake already failed");
		return AA_EINVAL;
	}
	if (xx->step >= 3 || !xx_our_turn(xx)) {
		aa_set_why(why, why_len, "not our turn to write (message %u)", xx->step + 1);
		return AA_EINVAL;
	}
	static const size_t fixed[3] = { MSG1_FIXED, MSG2_FIXED, MSG3_FIXED };
	size_t overhead = fixed[xx->step] + (xx->step > 0 ? P2P_NOISE_TAG_BYTES : 0);
	if (n > P2P_NOISE_MAX_MESSAGE - overhead) {
		aa_set_why(why, why_len, "handshake payload of %zu bytes does not fit one message", n);
		return AA_ETOOBIG;
	}
	uint8_t *dst = aa_buf_reserve(out, overhead + n);
	uint8_t *w = dst;
	int rc = 0;
	switch (xx->step) {
	case 0: /* -> e */
		write_e(xx, w);
		w += P2P_NOISE_DH_BYTES;
		break;
	case 1: /* <- e, ee, s, es */
		write_e(xx, w);
		w += P2P_NOISE_DH_BYTES;
		rc = mix_dh(xx, xx->e_sec, xx->re, why, why_len);
		if (rc == 0)
			rc = encrypt_and_hash(&xx->ss, xx->s_pub, P2P_NOISE_DH_BYTES, w);
		w += P2P_NOISE_DH_BYTES + P2P_NOISE_TAG_BYTES;
		if (rc == 0)
			rc = mix_dh(xx, xx->s_sec, xx->re, why, why_len);
		break;
	default: /* -> s, se */
		rc = encrypt_and_hash(&xx->ss, xx->s_pub, P2P_NOISE_DH_BYTES, w);
		w += P2P_NOISE_DH_BYTES + P2P_NOISE_TAG_BYTES;
		if (rc == 0)
			rc = mix_dh(xx, xx->s_sec, xx->re, why, why_len);
		break;
	}
	if (rc == 0)
		rc = encrypt_and_hash(&xx->ss, payload, n, w);
	if (rc != 0) {
		if (rc == AA_ERANGE)
			aa_set_why(why, why_len, "handshake nonce exhausted");
		return xx_fail(xx, rc);
	}
	out->n += overhead + n;
	if (++xx->step == 3)
		xx_split(xx);
	return 0;
}

/* Reads a 32-byte encrypted-or-not static key (token "s") into rs. */
static int read_s(struct p2p_noise_xx *xx, const uint8_t *p, char *why, size_t why_len)
{
	int rc = decrypt_and_hash(&xx->ss, p, P2P_NOISE_DH_BYTES + P2P_NOISE_TAG_BYTES, xx->rs);
	if (rc != 0) {
		aa_set_why(why, why_len, "cannot decrypt the remote static key (MAC check failed)");
		return rc;
	}
	xx->have_rs = true;
	return 0;
}

int p2p_noise_xx_read_message(struct p2p_noise_xx *xx, const uint8_t *msg, size_t n,
			      struct aa_buf *payload_out, char *why, size_t why_len)
{
	if (xx->failed) {
		aa_set_why(why, why_len, "the handshake already failed");
		return AA_EINVAL;
	}
	if (xx->step >= 3 || xx_our_turn(xx)) {
		aa_set_why(why, why_len, "not the remote's turn to write (message %u)", xx->step + 1);
		return AA_EINVAL;
	}
	static const size_t fixed[3] = { MSG1_FIXED, MSG2_FIXED, MSG3_FIXED };
	size_t need = fixed[xx->step] + (xx->step > 0 ? P2P_NOISE_TAG_BYTES : 0);
	if (n < need || n > P2P_NOISE_MAX_MESSAGE) {
		aa_set_why(why, why_len, "handshake message %u is %zu bytes, needs %zu to %d",
			xx->step + 1, n, need, P2P_NOISE_MAX_MESSAGE);
		return xx_fail(xx, AA_EPROTO);
	}
	const uint8_t *r = msg;
	int rc = 0;
	if (xx->step <= 1) { /* token "e" starts messages 1 and 2 */
		memcpy(xx->re, r, P2P_NOISE_DH_BYTES);
		mix_hash(&xx->ss, xx->re, P2P_NOISE_DH_BYTES);
		r += P2P_NOISE_DH_BYTES;
	}
	if (xx->step == 1) { /* <- e, ee, s, es */
		rc = mix_dh(xx, xx->e_sec, xx->re, why, why_len);
		if (rc == 0)
			rc = read_s(xx, r, why, why_len);
		r += P2P_NOISE_DH_BYTES + P2P_NOISE_TAG_BYTES;
		if (rc == 0)
			rc = mix_dh(xx, xx->e_sec, xx->rs, why, why_len);
	} else if (xx->step == 2) { /* -> s, se */
		rc = read_s(xx, r, why, why_len);
		r += P2P_NOISE_DH_BYTES + P2P_NOISE_TAG_BYTES;
		if (rc == 0)
			rc = mix_dh(xx, xx->e_sec, xx->rs, why, why_len);
	}
	if (rc == 0) {
		size_t left = n - (size_t)(r - msg);
		size_t plain = xx->ss.cs.has_key ? left - P2P_NOISE_TAG_BYTES : left;
		uint8_t *dst = aa_buf_reserve(payload_out, plain);
		rc = decrypt_and_hash(&xx->ss, r, left, dst);
		if (rc == 0)
			payload_out->n += plain;
		else
			aa_set_why(why, why_len, "cannot decrypt handshake message %u (MAC check failed)",
				xx->step + 1);
	}
	if (rc != 0)
		return xx_fail(xx, rc);
	if (++xx->step == 3)
		xx_split(xx);
	return 0;
}

bool p2p_noise_xx_is_done(const struct p2p_noise_xx *xx)
{
	return !xx->failed && xx->step == 3;
}

const uint8_t *p2p_noise_xx_local_static(const struct p2p_noise_xx *xx)
{
	return xx->s_pub;
}

const uint8_t *p2p_noise_xx_remote_static(const struct p2p_noise_xx *xx)
{
	return xx->have_rs ? xx->rs : NULL;
}

void p2p_noise_xx_handshake_hash(const struct p2p_noise_xx *xx, uint8_t h[P2P_NOISE_HASH_BYTES])
{
	memcpy(h, xx->ss.h, P2P_NOISE_HASH_BYTES);
}

/* ---- Transport session (OpenSSL EVP ChaCha20-Poly1305) ------------------------------------ */

/* Frames up to this many plaintext bytes use p2p/chachapoly (same AEAD, same bytes on the
 * wire), whose per-frame set-up is cheaper than OpenSSL's. */
#define SMALL_FRAME_BYTES 2048

struct p2p_noise_session {
	/* One context per direction, keyed once; each frame only sets a new IV. */
	EVP_CIPHER_CTX *send_ctx;
	EVP_CIPHER_CTX *recv_ctx;
	/* The same keys for chachapoly, which wins on small frames: OpenSSL's per-frame set-up
	 * (re-init, tag control calls) dominates below a couple of KiB (measured: ping RTT
	 * 9.9 µs → 7.5 µs with libsodium, → see docs/PERFORMANCE.md with chachapoly). Wiped on
	 * free. */
	uint8_t send_key[KEY_BYTES];
	uint8_t recv_key[KEY_BYTES];
	uint64_t send_n;
	uint64_t recv_n;
	int send_err;
	int recv_err;
	/* A frame that straddles reads: its length prefix and body, gathered here. Allocated on
	 * first need, then kept (bounded by the largest frame). */
	uint8_t *rx;
	size_t rx_n;
	char why[WHY_BYTES];
};

static int session_new(const uint8_t send_key[KEY_BYTES], const uint8_t recv_key[KEY_BYTES],
		       struct p2p_noise_session **out, char *why, size_t why_len)
{
	struct p2p_noise_session *s = aa_calloc(1, sizeof *s);
	s->send_ctx = EVP_CIPHER_CTX_new();
	s->recv_ctx = EVP_CIPHER_CTX_new();
	if (!s->send_ctx || !s->recv_ctx) {
		fprintf(stderr, "fatal: out of memory creating cipher contexts\n");
		abort();
	}
	memcpy(s->send_key, send_key, KEY_BYTES);
	memcpy(s->recv_key, recv_key, KEY_BYTES);
	uint8_t iv[NONCE_BYTES];
	make_nonce(0, iv);
	const EVP_CIPHER *aead = EVP_chacha20_poly1305();
	if (!aead || EVP_EncryptInit_ex(s->send_ctx, aead, NULL, send_key, iv) != 1 ||
	    EVP_DecryptInit_ex(s->recv_ctx, aead, NULL, recv_key, iv) != 1) {
		aa_set_why(why, why_len, "OpenSSL cannot provide ChaCha20-Poly1305");
		p2p_noise_session_free(s);
		return AA_ECRYPTO;
	}
	*out = s;
	return 0;
}

void p2p_noise_session_free(struct p2p_noise_session *s)
{
	if (!s)
		return;
	sodium_memzero(s->send_key, sizeof s->send_key);
	sodium_memzero(s->recv_key, sizeof s->recv_key);
	EVP_CIPHER_CTX_free(s->send_ctx); /* also cleanses the key schedule */
	EVP_CIPHER_CTX_free(s->recv_ctx);
	if (s->rx) {
		OPENSSL_cleanse(s->rx, P2P_NOISE_LENGTH_BYTES + P2P_NOISE_MAX_MESSAGE);
		free(s->rx);
	}
	free(s);
}

int p2p_noise_xx_split(struct p2p_noise_xx *xx, struct p2p_noise_session **out, char *why,
		       size_t why_len)
{
	if (!p2p_noise_xx_is_done(xx) || xx->split_done) {
		aa_set_why(why, why_len, "the handshake is not finished, or was split already");
		return AA_EINVAL;
	}
	/* noise spec §5.2 Split(): k1 protects initiator→responder, k2 the reverse. */
	const uint8_t *send = xx->initiator ? xx->k1 : xx->k2;
	const uint8_t *recv = xx->initiator ? xx->k2 : xx->k1;
	int rc = session_new(send, recv, out, why, why_len);
	sodium_memzero(xx->k1, sizeof xx->k1);
	sodium_memzero(xx->k2, sizeof xx->k2);
	xx->split_done = true;
	return rc;
}

static int session_fail(struct p2p_noise_session *s, int *dir_err, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int session_fail(struct p2p_noise_session *s, int *dir_err, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof s->why, fmt, ap);
	va_end(ap);
	*dir_err = rc;
	return rc;
}

/* Seals pt[0..n) (n <= P2P_NOISE_MAX_PLAINTEXT) into dst: length ‖ ciphertext ‖ tag. */
static int seal_frame(struct p2p_noise_session *s, const uint8_t *pt, size_t n, uint8_t *dst)
{
	uint8_t iv[NONCE_BYTES];
	make_nonce(s->send_n, iv);
	uint8_t *ct = dst + P2P_NOISE_LENGTH_BYTES;
	int len;
	if (n <= SMALL_FRAME_BYTES) {
		chachapoly_seal(ct, ct + n, pt, n, NULL, 0, iv, s->send_key);
	} else if (EVP_EncryptInit_ex(s->send_ctx, NULL, NULL, NULL, iv) != 1 ||
	    (n > 0 && EVP_EncryptUpdate(s->send_ctx, ct, &len, pt, (int)n) != 1) ||
	    EVP_EncryptFinal_ex(s->send_ctx, ct + n, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(s->send_ctx, EVP_CTRL_AEAD_GET_TAG, P2P_NOISE_TAG_BYTES, ct + n) != 1)
		return session_fail(s, &s->send_err, AA_ECRYPTO, "OpenSSL encryption failed");
	size_t wire = n + P2P_NOISE_TAG_BYTES;
	dst[0] = (uint8_t)(wire >> 8);
	dst[1] = (uint8_t)wire;
	s->send_n++;
	return 0;
}

int p2p_noise_session_encrypt(struct p2p_noise_session *s, const uint8_t *p, size_t n,
			      struct aa_buf *out)
{
	if (s->send_err)
		return s->send_err;
	if (n == 0)
		return 0;
	/* Most writes fit one frame: skip the division then. */
	size_t frames = n <= P2P_NOISE_MAX_PLAINTEXT ? 1
		: n / P2P_NOISE_MAX_PLAINTEXT + (n % P2P_NOISE_MAX_PLAINTEXT != 0);
	/* noise spec §5.1 / libp2p noise spec: nonces up to 2^64-2 may be used; a write that
	 * would need 2^64-1 is refused whole, and the session can send no more. */
	if ((uint64_t)frames > NONCE_LIMIT - s->send_n)
		return session_fail(s, &s->send_err, AA_ERANGE,
				    "send nonce exhausted after %llu frames",
				    (unsigned long long)s->send_n);
	size_t start = out->n;
	uint8_t *dst = aa_buf_reserve(out, n + frames * (P2P_NOISE_LENGTH_BYTES + P2P_NOISE_TAG_BYTES));
	while (n > 0) {
		size_t chunk = n < P2P_NOISE_MAX_PLAINTEXT ? n : P2P_NOISE_MAX_PLAINTEXT;
		int rc = seal_frame(s, p, chunk, dst);
		if (rc != 0) {
			out->n = start;
			return rc;
		}
		dst += P2P_NOISE_LENGTH_BYTES + chunk + P2P_NOISE_TAG_BYTES;
		out->n += P2P_NOISE_LENGTH_BYTES + chunk + P2P_NOISE_TAG_BYTES;
		p += chunk;
		n -= chunk;
	}
	return 0;
}

/* Opens one frame body ct[0..len) (ciphertext ‖ tag, len >= 16) into dst (len - 16 bytes;
 * dst == ct is allowed: ChaCha20 is a stream cipher and OpenSSL supports in-place use). */
static int open_frame(struct p2p_noise_session *s, const uint8_t *ct, size_t len, uint8_t *dst)
{
	if (s->recv_n == NONCE_LIMIT)
		return session_fail(s, &s->recv_err, AA_ERANGE, "receive nonce exhausted");
	uint8_t iv[NONCE_BYTES], tag[P2P_NOISE_TAG_BYTES];
	make_nonce(s->recv_n, iv);
	size_t n = len - P2P_NOISE_TAG_BYTES;
	int out_len;
	if (n <= SMALL_FRAME_BYTES) {
		/* chachapoly_open checks the tag before it writes dst[0..n), which ends where the
		 * tag begins, so the tag can be read in place. */
		if (chachapoly_open(dst, ct, n, ct + n, NULL, 0, iv, s->recv_key) != 0)
			return session_fail(s, &s->recv_err, AA_ECRYPTO,
					    "transport frame %llu failed its MAC check",
					    (unsigned long long)s->recv_n);
		s->recv_n++;
		return 0;
	}
	memcpy(tag, ct + n, sizeof tag);
	if (EVP_DecryptInit_ex(s->recv_ctx, NULL, NULL, NULL, iv) != 1 ||
	    EVP_CIPHER_CTX_ctrl(s->recv_ctx, EVP_CTRL_AEAD_SET_TAG, sizeof tag, tag) != 1 ||
	    (n > 0 && EVP_DecryptUpdate(s->recv_ctx, dst, &out_len, ct, (int)n) != 1))
		return session_fail(s, &s->recv_err, AA_ECRYPTO, "OpenSSL decryption failed");
	if (EVP_DecryptFinal_ex(s->recv_ctx, dst + n, &out_len) != 1)
		return session_fail(s, &s->recv_err, AA_ECRYPTO,
				    "transport frame %llu failed its MAC check",
				    (unsigned long long)s->recv_n);
	s->recv_n++;
	return 0;
}

static int frame_length(struct p2p_noise_session *s, const uint8_t hdr[2], size_t *len)
{
	*len = (size_t)hdr[0] << 8 | hdr[1];
	if (*len < P2P_NOISE_TAG_BYTES)
		return session_fail(s, &s->recv_err, AA_EPROTO,
				    "transport frame of %zu bytes is shorter than its tag", *len);
	return 0;
}

/* Gathers a straddling frame from p[0..n) into s->rx. *used: bytes taken; *body_len: the
 * frame's body length once complete, else 0. */
static int gather(struct p2p_noise_session *s, const uint8_t *p, size_t n, size_t *used,
		  size_t *body_len)
{
	*used = 0;
	*body_len = 0;
	if (!s->rx)
		s->rx = aa_malloc(P2P_NOISE_LENGTH_BYTES + P2P_NOISE_MAX_MESSAGE);
	if (s->rx_n < P2P_NOISE_LENGTH_BYTES) {
		size_t take = P2P_NOISE_LENGTH_BYTES - s->rx_n;
		if (take > n)
			take = n;
		memcpy(s->rx + s->rx_n, p, take);
		s->rx_n += take;
		*used = take;
		if (s->rx_n < P2P_NOISE_LENGTH_BYTES)
			return 0;
	}
	size_t len;
	int rc = frame_length(s, s->rx, &len);
	if (rc != 0)
		return rc;
	size_t take = P2P_NOISE_LENGTH_BYTES + len - s->rx_n;
	if (take > n - *used)
		take = n - *used;
	memcpy(s->rx + s->rx_n, p + *used, take);
	s->rx_n += take;
	*used += take;
	if (s->rx_n == P2P_NOISE_LENGTH_BYTES + len)
		*body_len = len;
	return 0;
}

int p2p_noise_session_read(struct p2p_noise_session *s, uint8_t *p, size_t n, size_t *consumed,
			   struct aa_slice *plain)
{
	*consumed = 0;
	*plain = aa_slice_make(NULL, 0);
	if (s->recv_err)
		return s->recv_err;
	if (n == 0)
		return 0;
	int rc;
	if (s->rx_n == 0 && n >= P2P_NOISE_LENGTH_BYTES) {
		size_t len;
		if ((rc = frame_length(s, p, &len)) != 0)
			return rc;
		if (n >= P2P_NOISE_LENGTH_BYTES + len) {
			/* The whole frame is here: open it where it lies. */
			uint8_t *body = p + P2P_NOISE_LENGTH_BYTES;
			if ((rc = open_frame(s, body, len, body)) != 0)
				return rc;
			*consumed = P2P_NOISE_LENGTH_BYTES + len;
			*plain = aa_slice_make(body, len - P2P_NOISE_TAG_BYTES);
			return 0;
		}
	}
	size_t body_len;
	rc = gather(s, p, n, consumed, &body_len);
	if (rc != 0 || body_len == 0)
		return rc;
	uint8_t *body = s->rx + P2P_NOISE_LENGTH_BYTES;
	s->rx_n = 0;
	if ((rc = open_frame(s, body, body_len, body)) != 0)
		return rc;
	*plain = aa_slice_make(body, body_len - P2P_NOISE_TAG_BYTES);
	return 0;
}

int p2p_noise_session_decrypt(struct p2p_noise_session *s, const uint8_t *p, size_t n,
			      struct aa_buf *out)
{
	if (s->recv_err)
		return s->recv_err;
	size_t off = 0;
	int rc;
	while (off < n) {
		const uint8_t *body = NULL;
		size_t len = 0;
		if (s->rx_n == 0 && n - off >= P2P_NOISE_LENGTH_BYTES) {
			if ((rc = frame_length(s, p + off, &len)) != 0)
				return rc;
			if (n - off >= P2P_NOISE_LENGTH_BYTES + len) {
				body = p + off + P2P_NOISE_LENGTH_BYTES;
				off += P2P_NOISE_LENGTH_BYTES + len;
			}
		}
		if (!body) {
			size_t used;
			if ((rc = gather(s, p + off, n - off, &used, &len)) != 0)
				return rc;
			off += used;
			if (len == 0)
				continue;
			body = s->rx + P2P_NOISE_LENGTH_BYTES;
			s->rx_n = 0;
		}
		uint8_t *dst = aa_buf_reserve(out, len - P2P_NOISE_TAG_BYTES);
		if ((rc = open_frame(s, body, len, dst)) != 0)
			return rc;
		out->n += len - P2P_NOISE_TAG_BYTES;
	}
	return 0;
}

const char *p2p_noise_session_error(const struct p2p_noise_session *s)
{
	return s->why;
}

void p2p_noise_session_set_nonces_for_test(struct p2p_noise_session *s, uint64_t send_nonce,
					   uint64_t recv_nonce)
{
	s->send_n = send_nonce;
	s->recv_n = recv_nonce;
}

/* ---- Handshake payload protobuf ---------------------------------------------------------- */

struct pb_reader {
	const uint8_t *p;
	size_t n;
	size_t off;
};

/* A protobuf varint: up to 10 bytes, value within 64 bits. Non-minimal encodings are valid
 * protobuf, so they are accepted here (the payload is not signed byte for byte). */
static int pb_varint(struct pb_reader *r, uint64_t *v)
{
	uint64_t x = 0;
	for (unsigned i = 0; i < 10; i++) {
		if (r->off >= r->n)
			return AA_EPROTO;
		uint8_t b = r->p[r->off++];
		if (i == 9 && b > 1)
			return AA_EPROTO;
		x |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return AA_EPROTO;
}

/* Reads the next field: its number, wire type, and for length-delimited fields the bytes.
 * Other wire types are skipped over; groups (deprecated, wire types 3/4) are refused. */
static int pb_next(struct pb_reader *r, uint64_t *field, unsigned *wire, struct aa_slice *val)
{
	uint64_t tag, v;
	if (pb_varint(r, &tag) != 0 || (tag >> 3) == 0 || (tag >> 3) > 0x1fffffff)
		return AA_EPROTO;
	*field = tag >> 3;
	*wire = (unsigned)(tag & 7);
	*val = aa_slice_make(NULL, 0);
	switch (*wire) {
	case PB_WIRE_VARINT:
		return pb_varint(r, &v);
	case PB_WIRE_FIXED64:
	case PB_WIRE_FIXED32: {
		size_t w = *wire == PB_WIRE_FIXED64 ? 8 : 4;
		if (r->n - r->off < w)
			return AA_EPROTO;
		r->off += w;
		return 0;
	}
	case PB_WIRE_LEN:
		if (pb_varint(r, &v) != 0 || v > r->n - r->off)
			return AA_EPROTO;
		*val = aa_slice_make(r->p + r->off, (size_t)v);
		r->off += (size_t)v;
		return 0;
	default:
		return AA_EPROTO;
	}
}

struct payload {
	struct aa_slice identity_key, identity_sig, extensions;
	bool has_key, has_sig, has_ext;
};

static int payload_field(struct aa_slice *dst, bool *seen, struct aa_slice val, unsigned wire,
			 const char *name, char *why, size_t why_len)
{
	if (wire != PB_WIRE_LEN) {
		aa_set_why(why, why_len, "NoiseHandshakePayload.%s has wire type %u", name, wire);
		return AA_EPROTO;
	}
	if (*seen) {
		aa_set_why(why, why_len, "NoiseHandshakePayload.%s appears twice", name);
		return AA_EPROTO;
	}
	*dst = val;
	*seen = true;
	return 0;
}

static int payload_parse(const uint8_t *p, size_t n, struct payload *pl, char *why,
			 size_t why_len)
{
	memset(pl, 0, sizeof *pl);
	struct pb_reader r = { p, n, 0 };
	while (r.off < r.n) {
		uint64_t field;
		unsigned wire;
		struct aa_slice val;
		if (pb_next(&r, &field, &wire, &val) != 0) {
			aa_set_why(why, why_len, "malformed NoiseHandshakePayload protobuf");
			return AA_EPROTO;
		}
		int rc = 0;
		if (field == PAYLOAD_IDENTITY_KEY)
			rc = payload_field(&pl->identity_key, &pl->has_key, val, wire, "identity_key",
					   why, why_len);
		else if (field == PAYLOAD_IDENTITY_SIG)
			rc = payload_field(&pl->identity_sig, &pl->has_sig, val, wire, "identity_sig",
					   why, why_len);
		else if (field == PAYLOAD_EXTENSIONS)
			rc = payload_field(&pl->extensions, &pl->has_ext, val, wire, "extensions",
					   why, why_len);
		/* Other fields: protobuf says skip; the spec's registry may define more. */
		if (rc != 0)
			return rc;
	}
	if (!pl->has_key || pl->identity_key.n == 0) {
		aa_set_why(why, why_len, "NoiseHandshakePayload has no identity_key");
		return AA_EPROTO;
	}
	if (!pl->has_sig || pl->identity_sig.n == 0) {
		aa_set_why(why, why_len, "NoiseHandshakePayload has no identity_sig");
		return AA_EPROTO;
	}
	return 0;
}

/* NoiseExtensions: collects stream_muxers (bounded); webtransport_certhashes mean nothing
 * over TCP and are skipped like unknown fields. */
static int extensions_parse(struct aa_slice ext, struct aa_slice *muxers, size_t *count,
			    char *why, size_t why_len)
{
	*count = 0;
	struct pb_reader r = { ext.p, ext.n, 0 };
	while (r.off < r.n) {
		uint64_t field;
		unsigned wire;
		struct aa_slice val;
		if (pb_next(&r, &field, &wire, &val) != 0) {
			aa_set_why(why, why_len, "malformed NoiseExtensions protobuf");
			return AA_EPROTO;
		}
		if ((field == EXT_STREAM_MUXERS || field == EXT_WEBTRANSPORT_CERTHASHES) &&
		    wire != PB_WIRE_LEN) {
			aa_set_why(why, why_len, "NoiseExtensions field %llu has wire type %u",
				(unsigned long long)field, wire);
			return AA_EPROTO;
		}
		if (field != EXT_STREAM_MUXERS)
			continue;
		if (*count == P2P_NOISE_MAX_REMOTE_MUXERS) {
			aa_set_why(why, why_len, "the remote lists more than %d stream muxers",
				P2P_NOISE_MAX_REMOTE_MUXERS);
			return AA_ETOOBIG;
		}
		muxers[(*count)++] = val;
	}
	return 0;
}

static void pb_put_len_field(struct aa_buf *b, unsigned field, const void *p, size_t n)
{
	uint8_t hdr[1 + AA_VARINT_MAX_BYTES];
	hdr[0] = (uint8_t)(field << 3 | PB_WIRE_LEN); /* field numbers here are < 16 */
	int used = varint_encode(n, hdr + 1);
	aa_buf_append(b, hdr, 1 + (size_t)used);
	aa_buf_append(b, p, n);
}

/* ---- The libp2p handshake ----------------------------------------------------------------- */

enum hs_state {
	HS_READ_MSG1, /* responder, waiting for -> e */
	HS_READ_MSG2, /* initiator, waiting for <- e, ee, s, es */
	HS_READ_MSG3, /* responder, waiting for -> s, se */
	HS_DONE,
	HS_FAILED,
};

struct p2p_noise_handshake {
	struct p2p_noise_xx xx;
	enum hs_state state;
	int err;
	bool initiator;
	struct p2p_keypair identity;
	bool have_expected;
	struct p2p_peer_id expected;
	char *muxers[P2P_NOISE_MAX_MUXERS];
	size_t muxer_lens[P2P_NOISE_MAX_MUXERS];
	size_t muxer_count;
	struct aa_buf rx;  /* incoming message being gathered: length prefix ‖ body */
	struct aa_buf out; /* framed messages waiting to be sent */
	/* The remote's verified payload; the muxer slices point into it. */
	struct aa_buf remote_payload;
	struct aa_slice remote_muxers[P2P_NOISE_MAX_REMOTE_MUXERS];
	size_t remote_muxer_count;
	uint8_t remote_key[P2P_ED25519_PUBLIC_KEY_BYTES];
	struct p2p_peer_id remote_id;
	const char *muxer;
	bool session_taken;
	char why[WHY_BYTES];
};

static int hs_fail(struct p2p_noise_handshake *hs, int rc)
{
	/* libp2p noise spec: on failure, early data is discarded at once. */
	hs->state = HS_FAILED;
	hs->err = rc;
	sodium_memzero(&hs->xx, sizeof hs->xx);
	hs->xx.failed = true;
	aa_buf_free(&hs->remote_payload);
	hs->remote_muxer_count = 0;
	hs->muxer = NULL;
	aa_buf_free(&hs->out);
	return rc;
}

int p2p_noise_handshake_new(const struct p2p_noise_config *cfg, struct p2p_noise_handshake **out,
			    char *why, size_t why_len)
{
	*out = NULL;
	if (!cfg->identity) {
		aa_set_why(why, why_len, "no identity key");
		return AA_EINVAL;
	}
	if (cfg->muxer_count > P2P_NOISE_MAX_MUXERS || (cfg->muxer_count && !cfg->muxers)) {
		aa_set_why(why, why_len, "at most %d stream muxers", P2P_NOISE_MAX_MUXERS);
		return AA_EINVAL;
	}
	for (size_t i = 0; i < cfg->muxer_count; i++) {
		size_t len = cfg->muxers[i] ? strnlen(cfg->muxers[i], P2P_NOISE_MAX_MUXER_NAME + 1) : 0;
		if (len == 0 || len > P2P_NOISE_MAX_MUXER_NAME) {
			aa_set_why(why, why_len, "stream muxer %zu: name must be 1..%d bytes", i,
				P2P_NOISE_MAX_MUXER_NAME);
			return AA_EINVAL;
		}
	}
	struct p2p_noise_handshake *hs = aa_calloc(1, sizeof *hs);
	hs->initiator = cfg->initiator;
	hs->identity = *cfg->identity;
	if (cfg->expected_peer) {
		hs->have_expected = true;
		hs->expected = *cfg->expected_peer;
	}
	for (size_t i = 0; i < cfg->muxer_count; i++) {
		hs->muxers[i] = aa_strdup(cfg->muxers[i]);
		hs->muxer_lens[i] = strlen(hs->muxers[i]);
	}
	hs->muxer_count = cfg->muxer_count;
	aa_buf_init(&hs->rx);
	aa_buf_init(&hs->out);
	aa_buf_init(&hs->remote_payload);
	/* libp2p noise spec: the prologue is empty. */
	xx_init(&hs->xx, cfg->initiator, NULL, 0, cfg->test_static_secret,
		cfg->test_ephemeral_secret);
	if (cfg->initiator) {
		/* Message 1 carries no payload: it is not encrypted, and the spec forbids early
		 * data before secrecy is established. */
		size_t start = hs->out.n;
		aa_buf_append(&hs->out, "\0", P2P_NOISE_LENGTH_BYTES);
		int rc = p2p_noise_xx_write_message(&hs->xx, NULL, 0, &hs->out, hs->why,
						    sizeof hs->why);
		if (rc != 0) { /* cannot happen for an empty payload; fail tidily all the same */
			aa_set_why(why, why_len, "%s", hs->why);
			p2p_noise_handshake_free(hs);
			return rc;
		}
		size_t len = hs->out.n - start - P2P_NOISE_LENGTH_BYTES;
		hs->out.p[start] = (uint8_t)(len >> 8);
		hs->out.p[start + 1] = (uint8_t)len;
		hs->state = HS_READ_MSG2;
	} else {
		hs->state = HS_READ_MSG1;
	}
	*out = hs;
	return 0;
}

void p2p_noise_handshake_free(struct p2p_noise_handshake *hs)
{
	if (!hs)
		return;
	sodium_memzero(&hs->xx, sizeof hs->xx);
	p2p_keypair_wipe(&hs->identity);
	for (size_t i = 0; i < hs->muxer_count; i++)
		free(hs->muxers[i]);
	aa_buf_free(&hs->rx);
	aa_buf_free(&hs->out);
	aa_buf_free(&hs->remote_payload);
	free(hs);
}

/* Our NoiseHandshakePayload: identity key, signature over the Noise static key, and (in our
 * only encrypted-and-secret message: 2 for the responder, 3 for the initiator) the muxers. */
static void build_payload(struct p2p_noise_handshake *hs, struct aa_buf *b)
{
	uint8_t key_pb[P2P_ED25519_PUBLIC_KEY_PROTOBUF_BYTES];
	p2p_public_key_marshal(hs->identity.public_key, key_pb);
	uint8_t msg[SIG_PREFIX_BYTES + P2P_NOISE_DH_BYTES];
	memcpy(msg, SIG_PREFIX, SIG_PREFIX_BYTES);
	memcpy(msg + SIG_PREFIX_BYTES, p2p_noise_xx_local_static(&hs->xx), P2P_NOISE_DH_BYTES);
	uint8_t sig[P2P_ED25519_SIGNATURE_BYTES];
	p2p_keypair_sign(&hs->identity, msg, sizeof msg, sig);
	pb_put_len_field(b, PAYLOAD_IDENTITY_KEY, key_pb, sizeof key_pb);
	pb_put_len_field(b, PAYLOAD_IDENTITY_SIG, sig, sizeof sig);
	if (hs->muxer_count == 0)
		return;
	struct aa_buf ext;
	aa_buf_init(&ext);
	for (size_t i = 0; i < hs->muxer_count; i++)
		pb_put_len_field(&ext, EXT_STREAM_MUXERS, hs->muxers[i], hs->muxer_lens[i]);
	pb_put_len_field(b, PAYLOAD_EXTENSIONS, ext.p, ext.n);
	aa_buf_free(&ext);
}

/* Frames and queues our next handshake message with our payload. */
static int send_message(struct p2p_noise_handshake *hs)
{
	struct aa_buf payload;
	aa_buf_init(&payload);
	build_payload(hs, &payload);
	size_t start = hs->out.n;
	aa_buf_append(&hs->out, "\0", P2P_NOISE_LENGTH_BYTES);
	int rc = p2p_noise_xx_write_message(&hs->xx, payload.p, payload.n, &hs->out, hs->why,
					    sizeof hs->why);
	aa_buf_free(&payload);
	if (rc != 0) {
		hs->out.n = start;
		return rc;
	}
	size_t len = hs->out.n - start - P2P_NOISE_LENGTH_BYTES;
	hs->out.p[start] = (uint8_t)(len >> 8);
	hs->out.p[start + 1] = (uint8_t)len;
	return 0;
}

/* libp2p noise spec, "The libp2p Handshake Payload": decode the identity key, check it is
 * the expected peer, and verify its signature over the Noise static key just received. */
static int verify_remote(struct p2p_noise_handshake *hs)
{
	struct payload pl;
	int rc = payload_parse(hs->remote_payload.p, hs->remote_payload.n, &pl, hs->why,
			       sizeof hs->why);
	if (rc != 0)
		return rc;
	char kwhy[128] = "";
	rc = p2p_public_key_unmarshal(pl.identity_key.p, pl.identity_key.n, hs->remote_key, kwhy,
				      sizeof kwhy);
	if (rc != 0) {
		aa_set_why(hs->why, sizeof hs->why, "remote identity key: %s", kwhy);
		return rc == AA_ENOTSUP ? AA_ENOTSUP : AA_EPROTO;
	}
	p2p_peer_id_from_public_key(hs->remote_key, &hs->remote_id);
	if (hs->have_expected && !p2p_peer_id_equal(&hs->expected, &hs->remote_id)) {
		char want[P2P_PEER_ID_STRING_MAX] = "?", got[P2P_PEER_ID_STRING_MAX] = "?";
		p2p_peer_id_to_string(&hs->expected, want, sizeof want);
		p2p_peer_id_to_string(&hs->remote_id, got, sizeof got);
		aa_set_why(hs->why, sizeof hs->why, "peer ID mismatch: dialled %s, remote is %s", want,
			got);
		return AA_ECRYPTO;
	}
	if (pl.identity_sig.n != P2P_ED25519_SIGNATURE_BYTES) {
		aa_set_why(hs->why, sizeof hs->why, "identity_sig is %zu bytes, Ed25519 signs in %d",
			pl.identity_sig.n, P2P_ED25519_SIGNATURE_BYTES);
		return AA_ECRYPTO;
	}
	uint8_t msg[SIG_PREFIX_BYTES + P2P_NOISE_DH_BYTES];
	memcpy(msg, SIG_PREFIX, SIG_PREFIX_BYTES);
	memcpy(msg + SIG_PREFIX_BYTES, p2p_noise_xx_remote_static(&hs->xx), P2P_NOISE_DH_BYTES);
	if (p2p_ed25519_verify(hs->remote_key, msg, sizeof msg, pl.identity_sig.p) != 0) {
		aa_set_why(hs->why, sizeof hs->why,
			"identity_sig does not verify: the remote's Noise key is not vouched for");
		return AA_ECRYPTO;
	}
	hs->remote_muxer_count = 0;
	if (pl.has_ext)
		return extensions_parse(pl.extensions, hs->remote_muxers, &hs->remote_muxer_count,
					hs->why, sizeof hs->why);
	return 0;
}

static bool muxer_eq(const struct p2p_noise_handshake *hs, size_t ours, struct aa_slice theirs)
{
	return hs->muxer_lens[ours] == theirs.n &&
	       memcmp(hs->muxers[ours], theirs.p, theirs.n) == 0;
}

/* connections spec, "Multiplexer Negotiation over Noise": the first entry of the initiator's
 * list that both support. An empty list on either side means "not negotiating early" and
 * leaves the choice to multistream-select; two non-empty lists without overlap fail the
 * handshake, as the spec requires. (go-libp2p iterates the responder's list instead and
 * falls back on no overlap; js-libp2p's initiator iterates the responder's list too. With a
 * single common muxer, as between us and either, every reading agrees.) */
static int negotiate_muxer(struct p2p_noise_handshake *hs)
{
	hs->muxer = NULL;
	if (hs->muxer_count == 0 || hs->remote_muxer_count == 0)
		return 0;
	if (hs->initiator) {
		for (size_t i = 0; i < hs->muxer_count; i++)
			for (size_t j = 0; j < hs->remote_muxer_count; j++)
				if (muxer_eq(hs, i, hs->remote_muxers[j])) {
					hs->muxer = hs->muxers[i];
					return 0;
				}
	} else {
		for (size_t j = 0; j < hs->remote_muxer_count; j++)
			for (size_t i = 0; i < hs->muxer_count; i++)
				if (muxer_eq(hs, i, hs->remote_muxers[j])) {
					hs->muxer = hs->muxers[i];
					return 0;
				}
	}
	aa_set_why(hs->why, sizeof hs->why,
		"no stream muxer in common: we offer %zu (first %s), the remote %zu others",
		hs->muxer_count, hs->muxers[0], hs->remote_muxer_count);
	return AA_ENOTSUP;
}

/* Handles one complete incoming handshake message. */
static int process_message(struct p2p_noise_handshake *hs, const uint8_t *msg, size_t n)
{
	int rc;
	switch (hs->state) {
	case HS_READ_MSG1: {
		/* Any cleartext payload in message 1 is ignored: libp2p puts nothing there. */
		struct aa_buf ignored;
		aa_buf_init(&ignored);
		rc = p2p_noise_xx_read_message(&hs->xx, msg, n, &ignored, hs->why, sizeof hs->why);
		aa_buf_free(&ignored);
		if (rc == 0)
			rc = send_message(hs);
		if (rc == 0)
			hs->state = HS_READ_MSG3;
		return rc;
	}
	case HS_READ_MSG2:
	case HS_READ_MSG3:
		aa_buf_reset(&hs->remote_payload);
		rc = p2p_noise_xx_read_message(&hs->xx, msg, n, &hs->remote_payload, hs->why,
					       sizeof hs->why);
		if (rc == 0)
			rc = verify_remote(hs);
		if (rc == 0)
			rc = negotiate_muxer(hs);
		if (rc == 0 && hs->state == HS_READ_MSG2)
			rc = send_message(hs);
		if (rc == 0)
			hs->state = HS_DONE;
		return rc;
	default:
		return AA_EINVAL;
	}
}

int p2p_noise_handshake_feed(struct p2p_noise_handshake *hs, const uint8_t *p, size_t n,
			     size_t *consumed)
{
	*consumed = 0;
	if (hs->state == HS_FAILED)
		return hs->err;
	size_t off = 0;
	while (off < n && hs->state != HS_DONE) {
		/* libp2p noise spec, "Wire Format": u16 big-endian length, then the message. */
		if (hs->rx.n < P2P_NOISE_LENGTH_BYTES) {
			size_t take = P2P_NOISE_LENGTH_BYTES - hs->rx.n;
			if (take > n - off)
				take = n - off;
			aa_buf_append(&hs->rx, p + off, take);
			off += take;
			if (hs->rx.n < P2P_NOISE_LENGTH_BYTES)
				break;
		}
		size_t len = (size_t)hs->rx.p[0] << 8 | hs->rx.p[1];
		size_t take = P2P_NOISE_LENGTH_BYTES + len - hs->rx.n;
		if (take > n - off)
			take = n - off;
		aa_buf_append(&hs->rx, p + off, take);
		off += take;
		if (hs->rx.n < P2P_NOISE_LENGTH_BYTES + len)
			break;
		int rc = process_message(hs, hs->rx.p + P2P_NOISE_LENGTH_BYTES, len);
		aa_buf_free(&hs->rx);
		if (rc != 0) {
			*consumed = off;
			return hs_fail(hs, rc);
		}
	}
	*consumed = off;
	return 0;
}

void p2p_noise_handshake_take_output(struct p2p_noise_handshake *hs, struct aa_buf *out)
{
	aa_buf_append(out, hs->out.p, hs->out.n);
	aa_buf_reset(&hs->out);
}

bool p2p_noise_handshake_is_done(const struct p2p_noise_handshake *hs)
{
	return hs->state == HS_DONE;
}

int p2p_noise_handshake_status(const struct p2p_noise_handshake *hs)
{
	return hs->state == HS_FAILED ? hs->err : 0;
}

const char *p2p_noise_handshake_error(const struct p2p_noise_handshake *hs)
{
	return hs->state == HS_FAILED ? hs->why : "";
}

const uint8_t *p2p_noise_handshake_remote_public_key(const struct p2p_noise_handshake *hs)
{
	return hs->state == HS_DONE ? hs->remote_key : NULL;
}

const struct p2p_peer_id *p2p_noise_handshake_remote_peer_id(const struct p2p_noise_handshake *hs)
{
	return hs->state == HS_DONE ? &hs->remote_id : NULL;
}

size_t p2p_noise_handshake_remote_muxer_count(const struct p2p_noise_handshake *hs)
{
	return hs->state == HS_DONE ? hs->remote_muxer_count : 0;
}

struct aa_slice p2p_noise_handshake_remote_muxer(const struct p2p_noise_handshake *hs, size_t i)
{
	if (hs->state != HS_DONE || i >= hs->remote_muxer_count)
		return aa_slice_make(NULL, 0);
	return hs->remote_muxers[i];
}

const char *p2p_noise_handshake_muxer(const struct p2p_noise_handshake *hs)
{
	return hs->state == HS_DONE ? hs->muxer : NULL;
}

int p2p_noise_handshake_take_session(struct p2p_noise_handshake *hs,
				     struct p2p_noise_session **out)
{
	*out = NULL;
	if (hs->state != HS_DONE || hs->session_taken)
		return AA_EINVAL;
	hs->session_taken = true;
	return p2p_noise_xx_split(&hs->xx, out, hs->why, sizeof hs->why);
}
