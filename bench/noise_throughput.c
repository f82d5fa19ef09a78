/* noise_throughput: single-core throughput of the Noise transport AEAD, sealing and opening
 * full 64 KiB frames (65519 plaintext bytes, 65535 on the wire) through p2p_noise_session,
 * i.e. OpenSSL EVP ChaCha20-Poly1305 with one context per direction keyed once. For scale it
 * also times libsodium's ChaCha20-Poly1305 (IETF) on the same frame size.
 *
 *   noise_throughput [seconds-per-measurement]     (default 2)
 *
 * Prints one line per measurement: name, MB/s (10^6 bytes of plaintext per second). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "base/buf.h"
#include "p2p/keys.h"
#include "p2p/noise.h"

#define BATCH 64 /* frames sealed before they are opened, so opens use real frames */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct p2p_noise_handshake *make_hs(bool initiator, uint8_t b)
{
	uint8_t seed[32];
	memset(seed, b, sizeof seed);
	struct p2p_keypair kp;
	p2p_keypair_from_seed(seed, &kp);
	struct p2p_noise_config cfg = { .initiator = initiator, .identity = &kp };
	struct p2p_noise_handshake *hs;
	if (p2p_noise_handshake_new(&cfg, &hs, NULL, 0) != 0)
		abort();
	return hs;
}

static void session_pair(struct p2p_noise_session **si, struct p2p_noise_session **sr)
{
	struct p2p_noise_handshake *i = make_hs(true, 1), *r = make_hs(false, 2);
	struct aa_buf b;
	aa_buf_init(&b);
	for (int m = 0; m < 3; m++) {
		struct p2p_noise_handshake *from = m == 1 ? r : i, *to = m == 1 ? i : r;
		size_t used;
		aa_buf_reset(&b);
		p2p_noise_handshake_take_output(from, &b);
		if (p2p_noise_handshake_feed(to, b.p, b.n, &used) != 0)
			abort();
	}
	if (p2p_noise_handshake_take_session(i, si) || p2p_noise_handshake_take_session(r, sr))
		abort();
	aa_buf_free(&b);
	p2p_noise_handshake_free(i);
	p2p_noise_handshake_free(r);
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2.0;
	const size_t frame = P2P_NOISE_MAX_PLAINTEXT;
	uint8_t *plain = malloc(frame);
	memset(plain, 0xa5, frame);
	struct p2p_noise_session *si, *sr;
	session_pair(&si, &sr);

	struct aa_buf wire;
	aa_buf_init(&wire);
	double seal_t = 0, open_t = 0;
	size_t frames = 0;
	while (seal_t < secs || open_t < secs) {
		aa_buf_reset(&wire);
		double t0 = now();
		for (int k = 0; k < BATCH; k++)
			if (p2p_noise_session_encrypt(si, plain, frame, &wire) != 0)
				abort();
		double t1 = now();
		size_t off = 0;
		while (off < wire.n) {
			size_t used;
			struct aa_slice pt;
			if (p2p_noise_session_read(sr, wire.p + off, wire.n - off, &used, &pt) != 0)
				abort();
			off += used;
		}
		double t2 = now();
		seal_t += t1 - t0;
		open_t += t2 - t1;
		frames += BATCH;
	}
	printf("noise_session_seal_64k  %8.0f MB/s\n", (double)frames * frame / seal_t / 1e6);
	printf("noise_session_open_64k  %8.0f MB/s  (in place)\n",
	       (double)frames * frame / open_t / 1e6);

	/* Reference: libsodium on the same frame size. */
	if (sodium_init() < 0)
		abort();
	uint8_t key[32], nonce[12] = { 0 };
	randombytes_buf(key, sizeof key);
	uint8_t *ct = malloc(frame + 16);
	size_t n = 0;
	double t0 = now(), t;
	do {
		for (int k = 0; k < BATCH; k++, n++) {
			memcpy(nonce + 4, &n, sizeof n);
			crypto_aead_chacha20poly1305_ietf_encrypt(ct, NULL, plain, frame, NULL, 0, NULL,
								  nonce, key);
		}
		t = now() - t0;
	} while (t < secs);
	printf("libsodium_seal_64k      %8.0f MB/s  (reference)\n", (double)n * frame / t / 1e6);

	free(ct);
	free(plain);
	aa_buf_free(&wire);
	p2p_noise_session_free(si);
	p2p_noise_session_free(sr);
	return 0;
}
