/* fuzz_multibase: multibase-decodes the input as text; whatever decodes must re-encode
 * and decode to the same bytes, and is then fed to the CID decoder; the input also goes
 * through cid_parse_string() as a C string. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base58.h"
#include "base/cid.h"
#include "base/err.h"
#include "base/mem.h"
#include "base/multibase.h"

static void check_round_trip(char prefix, const uint8_t *bytes, size_t n)
{
	enum multibase_code base;
	switch (prefix) {
	case 'f':
	case 'F':
		base = MULTIBASE_BASE16;
		break;
	case 'b':
	case 'B':
		base = MULTIBASE_BASE32;
		break;
	case 'z':
		base = MULTIBASE_BASE58BTC;
		break;
	case 'u':
		base = MULTIBASE_BASE64URL;
		break;
	default:
		abort(); /* decode accepted a prefix we cannot encode */
	}
	char *text;
	if (multibase_encode(base, bytes, n, &text) != 0)
		abort();
	uint8_t *again;
	size_t again_len;
	if (multibase_decode(text, strlen(text), &again, &again_len) != 0 || again_len != n ||
	    (n && memcmp(again, bytes, n) != 0))
		abort();
	free(again);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	uint8_t *bytes;
	size_t n;
	if (multibase_decode(s, size, &bytes, &n) == 0) {
		check_round_trip(s[0], bytes, n);
		struct cid c;
		if (cid_decode(bytes, n, &c) == 0) {
			if (c.version != 1 || c.hash_bytes.p < bytes ||
			    c.hash_bytes.p + c.hash_bytes.n != bytes + n)
				abort();
			char *text = cid_to_string(c.codec, c.hash_bytes.p, c.hash_bytes.n);
			free(text);
		}
		free(bytes);
	}

	/* Raw base58 without a prefix, bounded like PeerIDs. */
	uint8_t raw[1100];
	int r = base58_decode(s, size, raw, sizeof raw);
	if (r >= 0) {
		char text[1600];
		int t = base58_encode(raw, (size_t)r, text, sizeof text);
		if (t != (int)size || memcmp(text, s, size) != 0)
			abort();
	}

	char *str = aa_strndup(s, size);
	struct cid c;
	if (cid_parse_string(str, &bytes, &n, &c) == 0) {
		if (c.version != 1)
			abort();
		free(bytes);
	}
	free(str);
	return 0;
}
