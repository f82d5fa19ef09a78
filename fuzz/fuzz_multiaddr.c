/* fuzz_multiaddr: the input as binary (multiaddr_from_bytes) and as text
 * (multiaddr_parse). Invariants, abort() on breach: valid bytes always print; text that
 * parses is stable: text → bin → text → bin gives the same bin and text; and bytes
 * without a /unix component (whose text form may be lossy) survive bin → text → bin. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/mem.h"
#include "p2p/multiaddr.h"

static void walk(const struct multiaddr *ma)
{
	size_t off = 0;
	struct multiaddr_component c;
	int rc;
	while ((rc = multiaddr_next(ma, &off, &c)) == 1)
		if (!multiaddr_proto_name(c.code))
			abort();
	if (rc != 0 || off != ma->len)
		abort();
}

static void fuzz_binary(const uint8_t *data, size_t size)
{
	struct multiaddr ma;
	if (multiaddr_from_bytes(data, size, &ma) != 0)
		return;
	walk(&ma);
	char *text;
	if (multiaddr_to_string(&ma, &text) != 0)
		abort();
	struct multiaddr_component c;
	struct multiaddr again;
	if (multiaddr_parse(text, &again, NULL) == 0) {
		if (!multiaddr_find(&ma, MA_UNIX, &c) && !multiaddr_equal(&ma, &again))
			abort();
		multiaddr_free(&again);
	} else if (!multiaddr_find(&ma, MA_UNIX, &c)) {
		abort();
	}
	free(text);

	struct multiaddr copy;
	multiaddr_copy(&ma, &copy);
	if (multiaddr_encapsulate(&copy, &ma) == 0 && copy.len != 2 * ma.len)
		abort();
	multiaddr_decapsulate_code(&copy, MA_P2P);
	multiaddr_free(&copy);
	multiaddr_free(&ma);
}

static void fuzz_text(const uint8_t *data, size_t size)
{
	char *s = aa_strndup((const char *)data, size);
	struct multiaddr bin1, bin2;
	const char *why = NULL;
	if (multiaddr_parse(s, &bin1, &why) != 0) {
		if (!why)
			abort();
		free(s);
		return;
	}
	walk(&bin1);
	char *text1, *text2;
	if (multiaddr_to_string(&bin1, &text1) != 0)
		abort();
	if (multiaddr_parse(text1, &bin2, NULL) != 0)
		abort();
	if (!multiaddr_equal(&bin1, &bin2))
		abort();
	if (multiaddr_to_string(&bin2, &text2) != 0 || strcmp(text1, text2) != 0)
		abort();
	free(text1);
	free(text2);
	multiaddr_free(&bin1);
	multiaddr_free(&bin2);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_binary(data, size);
	fuzz_text(data, size);
	return 0;
}
