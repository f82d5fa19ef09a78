/* fuzz_a2a_frame: the length-prefixed framing of /agentanycast/{card,a2a}/1.0 (REFERENCE.md
 * B.2) fed hostile bytes in arbitrary splits. The first input byte picks a small frame limit
 * (or the real 16 MiB one) and the next bytes the sizes of the pieces; the rest is the
 * stream. The frames read piece by piece must equal the frames read in one go, the reader
 * must stop for good at an oversized length, and it must never hold more than the limit.
 * abort() on any broken invariant; ASan/UBSan catch the rest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "a2a/a2a.h"
#include "a2a/frame.h"
#include "base/err.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)
#define MAX_FRAMES 4096

struct result {
	size_t nframes;
	size_t lens[MAX_FRAMES];
	uint64_t sums[MAX_FRAMES];
	int end;          /* 0 or AA_ETOOBIG */
	bool partial;
};

static uint64_t sum(struct aa_slice s)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < s.n; i++)
		h = (h ^ s.p[i]) * 1099511628211ull;
	return h;
}

/* Reads data in pieces whose sizes cycle through splits (0 = the rest at once). */
static void run(const uint8_t *data, size_t n, size_t max, const uint8_t *splits, size_t nsplits,
		struct result *out)
{
	struct a2a_frame_reader r;
	a2a_frame_reader_init(&r, max);
	memset(out, 0, sizeof *out);
	size_t off = 0, k = 0;
	while (off < n && out->end == 0) {
		size_t piece = nsplits ? splits[k++ % nsplits] : 0;
		if (piece == 0 || piece > n - off)
			piece = n - off;
		const uint8_t *p = data + off;
		size_t left = piece;
		while (left) {
			size_t used = 0;
			struct aa_slice f;
			int rc = a2a_frame_reader_feed(&r, p, left, &used, &f);
			CHECK(used <= left);
			CHECK(a2a_frame_reader_buffered(&r) <= max);
			if (rc < 0) {
				CHECK(rc == AA_ETOOBIG);
				out->end = rc;
				/* Refused for good. */
				CHECK(a2a_frame_reader_feed(&r, p, left, &used, &f) == AA_ETOOBIG);
				break;
			}
			p += used;
			left -= used;
			if (rc == 1) {
				CHECK(f.n <= max);
				if (out->nframes < MAX_FRAMES) {
					out->lens[out->nframes] = f.n;
					out->sums[out->nframes] = sum(f);
				}
				out->nframes++;
			} else {
				CHECK(left == 0);
			}
		}
		off += piece;
	}
	out->partial = a2a_frame_reader_partial(&r);
	a2a_frame_reader_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	static const size_t limits[] = { 0, 1, 7, 300, 65536, A2A_MAX_FRAME };
	size_t max = limits[data[0] % (sizeof limits / sizeof limits[0])];
	size_t nsplits = data[1] % 8;
	if (size < 2 + nsplits)
		return 0;
	const uint8_t *splits = data + 2;
	const uint8_t *body = data + 2 + nsplits;
	size_t n = size - 2 - nsplits;

	static struct result whole, pieces;
	run(body, n, max, NULL, 0, &whole);
	run(body, n, max, splits, nsplits, &pieces);
	CHECK(whole.nframes == pieces.nframes);
	CHECK(whole.end == pieces.end);
	CHECK(whole.partial == pieces.partial);
	for (size_t i = 0; i < whole.nframes && i < MAX_FRAMES; i++)
		CHECK(whole.lens[i] == pieces.lens[i] && whole.sums[i] == pieces.sums[i]);

	/* What the writer produces reads back as the same payload. */
	struct aa_buf w;
	aa_buf_init(&w);
	a2a_frame_write(&w, aa_slice_make(body, n));
	struct a2a_frame_reader r;
	a2a_frame_reader_init(&r, A2A_MAX_FRAME);
	size_t used;
	struct aa_slice f;
	CHECK(a2a_frame_reader_feed(&r, w.p, w.n, &used, &f) == 1);
	CHECK(used == w.n && f.n == n && (n == 0 || memcmp(f.p, body, n) == 0));
	a2a_frame_reader_free(&r);
	aa_buf_free(&w);
	return 0;
}
