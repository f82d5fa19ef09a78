/* fuzz_mss: feeds arbitrary bytes to a multistream-select responder or initiator, in
 * fuzzer-chosen chunk sizes, draining replies eagerly or only when the machine stalls, and
 * checks that everything it sends is a sequence of well-formed messages.
 * Input: byte 0 = mode (bits 0-1 role, bits 2-4 chunk size, bit 5 lazy draining), rest = the
 * bytes received from the peer. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/varint.h"
#include "p2p/mss.h"

static const char *const protos[] = { "/noise", "/yamux/1.0.0", "/ipfs/id/1.0.0",
				      "/ipfs/ping/1.0.0" };

static bool supports(void *user, const char *proto, size_t len)
{
	(void)user;
	if (strlen(proto) != len)
		abort();
	for (size_t i = 0; i < sizeof protos / sizeof protos[0]; i++)
		if (strcmp(proto, protos[i]) == 0)
			return true;
	return false;
}

/* Everything a side sends must split into complete messages (varint length, then that many
 * bytes ending in '\n'); any reply fits the message limit. */
static void check_messages(const uint8_t *p, size_t n)
{
	size_t off = 0;
	while (off < n) {
		uint64_t len;
		int k = varint_decode(p + off, n - off, &len);
		if (k <= 0 || len < 2 || len > MSS_MAX_MESSAGE || len > n - off - (size_t)k)
			abort();
		off += (size_t)k + len;
		if (p[off - 1] != '\n')
			abort();
	}
}

/* Everything sent so far: at most the header, 32 refusals of ~1 KiB and an echo. */
static uint8_t sent[1 << 16];
static size_t sent_n;

static void drain(struct mss *m)
{
	for (;;) {
		struct aa_slice s;
		mss_output(m, &s);
		if (s.n == 0)
			return;
		if (s.n > MSS_OUT_CAP || s.n > sizeof sent - sent_n)
			abort();
		memcpy(sent + sent_n, s.p, s.n);
		sent_n += s.n;
		mss_output_consumed(m, s.n);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	data++;
	size--;

	struct mss m;
	int role = mode & 3;
	size_t chunk = (size_t)1 << ((mode >> 2) & 7); /* 1 .. 128 bytes */
	bool lazy_drain = mode & 0x20;
	int rc;
	if (role == 0)
		rc = mss_responder_init(&m, supports, protos, 4, NULL);
	else if (role == 1)
		rc = mss_responder_init(&m, supports, NULL, 0, NULL);
	else if (role == 2)
		rc = mss_initiator_init(&m, protos + 1, 3, false);
	else
		rc = mss_initiator_init(&m, protos, 1, true);
	if (rc != 0)
		abort();

	size_t off = 0;
	int result = MSS_AGAIN;
	sent_n = 0;
	for (;;) {
		if (!lazy_drain)
			drain(&m);
		if (result != MSS_AGAIN || off == size)
			break;
		size_t n = size - off < chunk ? size - off : chunk;
		size_t used = (size_t)-1;
		result = mss_receive(&m, data + off, n, &used);
		if (used > n)
			abort();
		off += used;
		if (result == MSS_AGAIN && used < n) {
			/* A stall must be caused by pending output, or it would never end. */
			struct aa_slice s;
			mss_output(&m, &s);
			if (s.n == 0)
				abort();
			drain(&m);
		}
	}
	drain(&m);
	if (result == MSS_DONE) {
		const char *sel = mss_selected(&m);
		if (sel == NULL || !supports(NULL, sel, strlen(sel)))
			abort();
	} else if (mss_selected(&m) != NULL) {
		abort();
	}
	if (result >= 0)
		check_messages(sent, sent_n);
	return 0;
}
