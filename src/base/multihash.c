/* multihash: <varint code><varint length><digest> framing (multiformats/multihash), with
 * identity and sha2-256 (libsodium) as the supported functions. */
#include "base/multihash.h"

#include <sodium.h>

#include "base/err.h"
#include "base/varint.h"

#define SHA2_256_LEN 32

int multihash_sum(uint64_t code, const uint8_t *data, size_t n, struct aa_buf *out)
{
	uint8_t hdr[2 * AA_VARINT_MAX_BYTES];
	int hn;
	switch (code) {
	case MULTIHASH_IDENTITY:
		if (n > AA_VARINT_MAX_VALUE)
			return AA_ERANGE;
		hn = varint_encode(MULTIHASH_IDENTITY, hdr);
		hn += varint_encode(n, hdr + hn);
		aa_buf_append(out, hdr, (size_t)hn);
		aa_buf_append(out, data, n);
		return 0;
	case MULTIHASH_SHA2_256: {
		uint8_t digest[SHA2_256_LEN];
		crypto_hash_sha256(digest, data, n);
		hn = varint_encode(MULTIHASH_SHA2_256, hdr);
		hn += varint_encode(SHA2_256_LEN, hdr + hn);
		aa_buf_append(out, hdr, (size_t)hn);
		aa_buf_append(out, digest, sizeof digest);
		return 0;
	}
	default:
		return AA_ENOTSUP;
	}
}

int multihash_decode_any(const uint8_t *p, size_t n, struct multihash *out)
{
	uint64_t code, len;
	int a = varint_decode(p, n, &code);
	if (a < 0)
		return AA_EINVAL;
	int b = varint_decode(p + a, n - (size_t)a, &len);
	if (b < 0)
		return AA_EINVAL;
	size_t hdr = (size_t)a + (size_t)b;
	/* The digest must fill the rest exactly: no truncation, no trailing bytes. */
	if (len != n - hdr)
		return AA_EINVAL;
	out->code = code;
	out->digest = aa_slice_make(p + hdr, (size_t)len);
	return 0;
}

int multihash_decode(const uint8_t *p, size_t n, struct multihash *out)
{
	struct multihash mh;
	int rc = multihash_decode_any(p, n, &mh);
	if (rc < 0)
		return rc;
	switch (mh.code) {
	case MULTIHASH_IDENTITY:
		break;
	case MULTIHASH_SHA2_256:
		/* The multihash spec allows truncated digests, but nothing we meet uses them
		 * (PeerIDs, CIDs and certhashes carry the full 32 bytes), so fail closed. */
		if (mh.digest.n != SHA2_256_LEN)
			return AA_EINVAL;
		break;
	default:
		return AA_ENOTSUP;
	}
	*out = mh;
	return 0;
}
