/* cid: CIDv1 binary and text codecs (multiformats/cid): <0x01><codec><multihash>, text in
 * multibase (base32 lower, prefix 'b', when we write it). */
#include "base/cid.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "base/multibase.h"
#include "base/varint.h"

#define CID_VERSION_1 1
/* A CIDv0 is a bare sha2-256 multihash, whose first byte is 0x12 (cid spec, "Decoding
 * Algorithm"): a multibase string decoding to that is an error, never "CIDv18". */
#define CID_V0_FIRST_BYTE 0x12

void cid_encode_v1(uint64_t codec, const uint8_t *mh, size_t mh_len, struct aa_buf *out)
{
	uint8_t hdr[2 * AA_VARINT_MAX_BYTES];
	int n = varint_encode(CID_VERSION_1, hdr);
	int m = varint_encode(codec, hdr + n);
	/* Codecs come from our own constants; one beyond 2^63 is a programming error. */
	if (m < 0)
		abort();
	aa_buf_append(out, hdr, (size_t)(n + m));
	aa_buf_append(out, mh, mh_len);
}

int cid_decode(const uint8_t *p, size_t n, struct cid *out)
{
	uint64_t version, codec;
	int a = varint_decode(p, n, &version);
	if (a < 0)
		return AA_EINVAL;
	if (version != CID_VERSION_1)
		return AA_ENOTSUP;
	int b = varint_decode(p + a, n - (size_t)a, &codec);
	if (b < 0)
		return AA_EINVAL;
	size_t off = (size_t)a + (size_t)b;
	struct multihash mh;
	int rc = multihash_decode(p + off, n - off, &mh);
	if (rc < 0)
		return rc;
	out->version = version;
	out->codec = codec;
	out->hash = mh;
	out->hash_bytes = aa_slice_make(p + off, n - off);
	return 0;
}

int cid_parse_string(const char *s, uint8_t **bytes, size_t *len, struct cid *out)
{
	uint8_t *b;
	size_t n;
	size_t slen = strnlen(s, CID_MAX_STRING_LEN + 1);
	if (slen > CID_MAX_STRING_LEN)
		return AA_ETOOBIG;
	int rc = multibase_decode(s, slen, &b, &n);
	if (rc < 0)
		return rc;
	if (n > 0 && b[0] == CID_V0_FIRST_BYTE) {
		free(b);
		return AA_EINVAL;
	}
	rc = cid_decode(b, n, out);
	if (rc < 0) {
		free(b);
		return rc;
	}
	*bytes = b;
	*len = n;
	return 0;
}

char *cid_to_string(uint64_t codec, const uint8_t *mh, size_t mh_len)
{
	struct aa_buf buf;
	aa_buf_init(&buf);
	cid_encode_v1(codec, mh, mh_len, &buf);
	char *s = NULL;
	if (multibase_encode(MULTIBASE_BASE32, buf.p, buf.n, &s) < 0)
		abort(); /* base32 is always supported */
	aa_buf_free(&buf);
	return s;
}
