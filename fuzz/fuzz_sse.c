/* fuzz_sse: the event-stream parser must give the same events and the same result whether
 * a stream comes whole or in pieces (the first byte picks the piece size), and every event
 * it reports must respect the size limit and be NUL-terminated; else abort. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "http/sse.h"

#define FUZZ_MAX_EVENT 256

static int record_event(void *user, const char *type, const char *data, size_t len)
{
	struct aa_buf *out = user;
	if (len > FUZZ_MAX_EVENT || data[len] != 0 || type[0] == 0)
		abort();
	/* Length-prefixed so that two different event sequences never record the same. */
	size_t tlen = strlen(type);
	aa_buf_append(out, &tlen, sizeof tlen);
	aa_buf_append(out, type, tlen);
	aa_buf_append(out, &len, sizeof len);
	aa_buf_append(out, data, len);
	return 0;
}

static int parse(const uint8_t *data, size_t size, size_t piece, struct aa_buf *out)
{
	struct sse_parser p;
	sse_parser_init(&p, FUZZ_MAX_EVENT, record_event, out);
	int rc = 0;
	for (size_t off = 0; off < size && rc == 0; off += piece) {
		size_t n = size - off < piece ? size - off : piece;
		rc = sse_parser_feed(&p, data + off, n);
	}
	sse_parser_free(&p);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t piece = (size_t)(data[0] % 17) + 1;
	data++;
	size--;
	struct aa_buf whole, pieces;
	aa_buf_init(&whole);
	aa_buf_init(&pieces);
	int rc_whole = parse(data, size, size ? size : 1, &whole);
	int rc_pieces = parse(data, size, piece, &pieces);
	if (rc_whole != rc_pieces || (rc_whole != 0 && rc_whole != AA_ETOOBIG))
		abort();
	if (whole.n != pieces.n || (whole.n && memcmp(whole.p, pieces.p, whole.n) != 0))
		abort();
	aa_buf_free(&whole);
	aa_buf_free(&pieces);
	return 0;
}
