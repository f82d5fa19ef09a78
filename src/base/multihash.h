/* multihash: <varint code><varint digest length><digest>. Supported functions: identity
 * (0x00) and sha2-256 (0x12). A digest is borrowed from the input when decoding. */
#ifndef AA_BASE_MULTIHASH_H
#define AA_BASE_MULTIHASH_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define MULTIHASH_IDENTITY 0x00
#define MULTIHASH_SHA2_256 0x12
/* Identity multihashes are used for keys up to this size (libp2p peer-ids spec: 42 bytes). */
#define MULTIHASH_IDENTITY_MAX 42

struct multihash {
	uint64_t code;
	struct aa_slice digest; /* borrowed from the decoded input */
};

/* Appends the multihash of data under `code` to out: identity copies, sha2-256 hashes. */
int multihash_sum(uint64_t code, const uint8_t *data, size_t n, struct aa_buf *out);
/* Parses exactly p[0..n) as one multihash. AA_EINVAL on bad varints, a length that does
 * not match, or trailing bytes; AA_ENOTSUP for other hash codes. */
int multihash_decode(const uint8_t *p, size_t n, struct multihash *out);
/* Like multihash_decode() but accepts any hash code: checks only the framing (two minimal
 * varints and a digest of exactly the stated length). For carriers such as multiaddr's
 * /p2p and /certhash that do not interpret the hash. */
int multihash_decode_any(const uint8_t *p, size_t n, struct multihash *out);

#endif
