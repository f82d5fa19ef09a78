/* cid: CIDv1 = <varint 0x01><varint codec><multihash>. Text form is multibase (base32 'b'
 * by default). CIDv0 (bare base58 sha2-256 multihash "Qm…") is recognised by cid_decode
 * of bytes only where noted. Decoded views borrow from the input. */
#ifndef AA_BASE_CID_H
#define AA_BASE_CID_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/multihash.h"

#define CID_CODEC_RAW 0x55
#define CID_CODEC_DAG_PB 0x70
#define CID_CODEC_LIBP2P_KEY 0x72
/* cid_parse_string() refuses longer strings (AA_ETOOBIG); real CIDs are < 100 chars. */
#define CID_MAX_STRING_LEN 4096

struct cid {
	uint64_t version; /* always 1 from cid_decode */
	uint64_t codec;
	struct multihash hash; /* borrows from the input bytes */
	struct aa_slice hash_bytes; /* the whole multihash, borrowed */
};

/* Appends the binary CIDv1 of (codec, multihash bytes) to out. */
void cid_encode_v1(uint64_t codec, const uint8_t *mh, size_t mh_len, struct aa_buf *out);
/* Parses binary CIDv1 bytes exactly. AA_EINVAL if malformed, AA_ENOTSUP for version != 1. */
int cid_decode(const uint8_t *p, size_t n, struct cid *out);
/* Text: multibase-decodes s into *bytes (caller frees) and parses it into *out (which
 * borrows from *bytes). A multibase string that decodes to a CIDv0 (first byte 0x12) is
 * AA_EINVAL, as the cid spec requires; errors of multibase_decode/cid_decode pass through. */
int cid_parse_string(const char *s, uint8_t **bytes, size_t *len, struct cid *out);
/* Text form, base32 lower with 'b' prefix, fresh heap string. */
char *cid_to_string(uint64_t codec, const uint8_t *mh, size_t mh_len);

#endif
