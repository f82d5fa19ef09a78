/* peerid: PeerIDs as multihash bytes, their base58btc and CID text forms, and did:key. */
#include "p2p/peerid.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/mem.h"
#include "base/base58.h"
#include "base/cid.h"
#include "base/err.h"
#include "base/multihash.h"
#include "base/varint.h"

/* Longest text we try to parse; every valid form is far shorter (≤ 75 chars), so this only
 * bounds work on hostile input. */
#define PEER_ID_TEXT_MAX 128
/* multicodec table: ed25519-pub. Its varint form is ed 01. */
#define MULTICODEC_ED25519_PUB 0xed
#define DID_KEY_PREFIX "did:key:"
#define DID_KEY_TEXT_MAX 128

void p2p_peer_id_from_public_key(const uint8_t public_key[P2P_ED25519_PUBLIC_KEY_BYTES],
				 struct p2p_peer_id *id)
{
	/* peer-ids spec: 36 bytes ≤ 42, so the identity multihash: 00 24 ‖ protobuf. */
	id->bytes[0] = MULTIHASH_IDENTITY;
	id->bytes[1] = P2P_ED25519_PUBLIC_KEY_PROTOBUF_BYTES;
	p2p_public_key_marshal(public_key, id->bytes + 2);
	id->len = 2 + P2P_ED25519_PUBLIC_KEY_PROTOBUF_BYTES;
}

int p2p_peer_id_from_public_key_protobuf(const uint8_t *p, size_t n, struct p2p_peer_id *id)
{
	enum p2p_key_type type;
	struct aa_slice data;
	if (p2p_key_protobuf_parse(p, n, &type, &data) != 0)
		return AA_EINVAL;
	if (n <= MULTIHASH_IDENTITY_MAX) {
		/* n ≤ 42 < 128, so the length varint is one byte. */
		id->bytes[0] = MULTIHASH_IDENTITY;
		id->bytes[1] = (uint8_t)n;
		memcpy(id->bytes + 2, p, n);
		id->len = (uint8_t)(2 + n);
	} else {
		id->bytes[0] = MULTIHASH_SHA2_256;
		id->bytes[1] = crypto_hash_sha256_BYTES;
		crypto_hash_sha256(id->bytes + 2, p, n);
		id->len = 2 + crypto_hash_sha256_BYTES;
	}
	return 0;
}

int p2p_peer_id_from_bytes(const uint8_t *p, size_t n, struct p2p_peer_id *id)
{
	if (n == 0 || n > P2P_PEER_ID_MAX_BYTES)
		return AA_EINVAL;
	struct multihash mh;
	int rc = multihash_decode(p, n, &mh);
	if (rc != 0)
		return rc;
	enum p2p_key_type type;
	struct aa_slice data;
	switch (mh.code) {
	case MULTIHASH_IDENTITY:
		/* peer-ids spec: only keys of at most 42 bytes are inlined, and what is inlined
		 * must be a key protobuf (so the public key can be extracted later). */
		if (mh.digest.n > MULTIHASH_IDENTITY_MAX ||
		    p2p_key_protobuf_parse(mh.digest.p, mh.digest.n, &type, &data) != 0)
			return AA_EINVAL;
		break;
	case MULTIHASH_SHA2_256:
		if (mh.digest.n != crypto_hash_sha256_BYTES)
			return AA_EINVAL;
		break;
	default:
		return AA_ENOTSUP;
	}
	memcpy(id->bytes, p, n);
	id->len = (uint8_t)n;
	return 0;
}

static int parse_cid_text(const char *s, struct p2p_peer_id *id)
{
	uint8_t *bytes = NULL;
	size_t len = 0;
	struct cid cid;
	int rc = cid_parse_string(s, &bytes, &len, &cid);
	if (rc == 0) {
		/* peer-ids spec, "Decoding": the CID's codec must be libp2p-key. */
		if (cid.version != 1 || cid.codec != CID_CODEC_LIBP2P_KEY)
			rc = AA_EINVAL;
		else
			rc = p2p_peer_id_from_bytes(cid.hash_bytes.p, cid.hash_bytes.n, id);
	}
	free(bytes);
	return rc == 0 ? 0 : AA_EINVAL;
}

int p2p_peer_id_parse(const char *s, size_t len, struct p2p_peer_id *id)
{
	if (len == 0 || len > PEER_ID_TEXT_MAX || memchr(s, '\0', len))
		return AA_EINVAL;
	/* peer-ids spec, "Decoding": '1…' or 'Qm…' is a bare base58btc multihash; anything
	 * else must be a multibase-prefixed CID. */
	if (s[0] == '1' || s[0] == 'Q') {
		uint8_t buf[P2P_PEER_ID_MAX_BYTES];
		int n = base58_decode(s, len, buf, sizeof buf);
		if (n <= 0)
			return AA_EINVAL;
		return p2p_peer_id_from_bytes(buf, (size_t)n, id) == 0 ? 0 : AA_EINVAL;
	}
	char text[PEER_ID_TEXT_MAX + 1];
	memcpy(text, s, len);
	text[len] = '\0';
	return parse_cid_text(text, id);
}

int p2p_peer_id_to_string(const struct p2p_peer_id *id, char *out, size_t out_cap)
{
	if (id->len == 0)
		return AA_EINVAL;
	return base58_encode(id->bytes, id->len, out, out_cap);
}

int p2p_peer_id_to_cid_string(const struct p2p_peer_id *id, char *out, size_t out_cap)
{
	if (id->len == 0)
		return AA_EINVAL;
	char *text = cid_to_string(CID_CODEC_LIBP2P_KEY, id->bytes, id->len);
	size_t n = strlen(text);
	int rc = AA_ERANGE;
	if (n < out_cap) {
		memcpy(out, text, n + 1);
		rc = (int)n;
	}
	free(text);
	return rc;
}

bool p2p_peer_id_equal(const struct p2p_peer_id *a, const struct p2p_peer_id *b)
{
	return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

static pthread_once_t hash_key_once = PTHREAD_ONCE_INIT;
static unsigned char hash_key[crypto_shorthash_KEYBYTES];

static void hash_key_init(void)
{
	aa_require_sodium();
	crypto_shorthash_keygen(hash_key);
}

uint64_t p2p_peer_id_hash(const struct p2p_peer_id *id)
{
	pthread_once(&hash_key_once, hash_key_init);
	unsigned char out[crypto_shorthash_BYTES];
	crypto_shorthash(out, id->bytes, id->len, hash_key);
	uint64_t h;
	memcpy(&h, out, sizeof h);
	return h;
}

int p2p_peer_id_ed25519_public_key(const struct p2p_peer_id *id,
				   uint8_t public_key[P2P_ED25519_PUBLIC_KEY_BYTES])
{
	struct multihash mh;
	if (id->len == 0 || multihash_decode(id->bytes, id->len, &mh) != 0)
		return AA_EINVAL;
	if (mh.code != MULTIHASH_IDENTITY)
		return AA_ENOTSUP; /* a hash cannot be turned back into a key */
	return p2p_public_key_unmarshal(mh.digest.p, mh.digest.n, public_key, NULL, 0);
}

int p2p_did_key_from_public_key(const uint8_t public_key[P2P_ED25519_PUBLIC_KEY_BYTES], char *out,
				size_t out_cap)
{
	/* did:key method: multibase base58btc of the multicodec-prefixed raw public key. */
	uint8_t raw[2 + P2P_ED25519_PUBLIC_KEY_BYTES] = { MULTICODEC_ED25519_PUB, 0x01 };
	memcpy(raw + 2, public_key, P2P_ED25519_PUBLIC_KEY_BYTES);
	size_t prefix = strlen(DID_KEY_PREFIX) + 1;
	if (out_cap <= prefix)
		return AA_ERANGE;
	memcpy(out, DID_KEY_PREFIX "z", prefix);
	int n = base58_encode(raw, sizeof raw, out + prefix, out_cap - prefix);
	return n < 0 ? n : (int)prefix + n;
}

int p2p_did_key_parse(const char *s, size_t len, uint8_t public_key[P2P_ED25519_PUBLIC_KEY_BYTES])
{
	size_t prefix = strlen(DID_KEY_PREFIX);
	if (len <= prefix + 1 || len > DID_KEY_TEXT_MAX || memcmp(s, DID_KEY_PREFIX, prefix) != 0 ||
	    memchr(s, '\0', len))
		return AA_EINVAL;
	/* did:key method: the method-specific id is a base58btc ('z') multibase value. */
	if (s[prefix] != 'z')
		return AA_ENOTSUP;
	uint8_t raw[64];
	int n = base58_decode(s + prefix + 1, len - prefix - 1, raw, sizeof raw);
	if (n <= 0)
		return AA_EINVAL;
	uint64_t codec;
	int used = varint_decode(raw, (size_t)n, &codec);
	if (used <= 0)
		return AA_EINVAL;
	if (codec != MULTICODEC_ED25519_PUB)
		return AA_ENOTSUP;
	if ((size_t)(n - used) != P2P_ED25519_PUBLIC_KEY_BYTES)
		return AA_EINVAL;
	memcpy(public_key, raw + used, P2P_ED25519_PUBLIC_KEY_BYTES);
	return 0;
}
