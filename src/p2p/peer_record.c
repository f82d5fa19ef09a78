/* peer_record: libp2p signed envelopes (RFC 0002) and peer records (RFC 0003).
 *
 * Both protobufs (proto/libp2p/envelope.proto, peer_record.proto) are encoded and parsed by
 * hand with p2p/pb_wire.h: the parser works in place on untrusted bytes, bounds the address
 * list before allocating, and rejects a repeated singular field in these signed structures
 * (no honest signer writes two payloads or two peer IDs, and picking one silently would let
 * us and another implementation disagree on what was signed). Nothing is signed over the
 * envelope encoding itself, and the record we sign is exactly the bytes we send, so our
 * encoding needs only be valid protobuf; it is the canonical one (fields in order, proto3
 * defaults left out). The unit tests cross-check both against protobuf-c. */
#include "p2p/peer_record.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "base/varint.h"
#include "p2p/pb_wire.h"

/* RFC 0002 "Wire Format" field numbers. */
#define ENVELOPE_PUBLIC_KEY 1
#define ENVELOPE_PAYLOAD_TYPE 2
#define ENVELOPE_PAYLOAD 3
#define ENVELOPE_SIGNATURE 5
/* RFC 0003 "Address Record Format" field numbers. */
#define RECORD_PEER_ID 1
#define RECORD_SEQ 2
#define RECORD_ADDRESSES 3
#define ADDRESS_INFO_MULTIADDR 1

/* RFC 0002 "Signature Production / Verification": the buffer that is signed. */
static void envelope_unsigned(const char *domain, struct aa_slice payload_type,
			      struct aa_slice payload, struct aa_buf *out)
{
	const struct aa_slice parts[3] = { aa_slice_make(domain, strlen(domain)), payload_type,
					   payload };
	for (size_t i = 0; i < 3; i++) {
		uint8_t len[AA_VARINT_MAX_BYTES];
		/* Every part is in memory, so its length is far below 2^63. */
		int k = varint_encode(parts[i].n, len);
		aa_buf_append(out, len, (size_t)k);
		aa_buf_append(out, parts[i].p, parts[i].n);
	}
}

void p2p_envelope_seal(const struct p2p_keypair *kp, const char *domain,
		       struct aa_slice payload_type, struct aa_slice payload, struct aa_buf *out)
{
	struct aa_buf msg;
	aa_buf_init(&msg);
	envelope_unsigned(domain, payload_type, payload, &msg);
	uint8_t sig[P2P_ED25519_SIGNATURE_BYTES];
	p2p_keypair_sign(kp, msg.p, msg.n, sig);
	aa_buf_free(&msg);

	uint8_t key[P2P_ED25519_PUBLIC_KEY_PROTOBUF_BYTES];
	p2p_public_key_marshal(kp->public_key, key);
	pb_put_bytes(out, ENVELOPE_PUBLIC_KEY, key, sizeof key);
	if (payload_type.n)
		pb_put_bytes(out, ENVELOPE_PAYLOAD_TYPE, payload_type.p, payload_type.n);
	if (payload.n)
		pb_put_bytes(out, ENVELOPE_PAYLOAD, payload.p, payload.n);
	pb_put_bytes(out, ENVELOPE_SIGNATURE, sig, sizeof sig);
}

int p2p_envelope_parse(const uint8_t *p, size_t n, struct p2p_envelope *env)
{
	memset(env, 0, sizeof *env);
	struct aa_slice in = aa_slice_make(p, n);
	bool seen[ENVELOPE_SIGNATURE + 1] = { false };
	struct pb_field f;
	int rc;
	while ((rc = pb_next_field(&in, &f)) > 0) {
		struct aa_slice *dst;
		switch (f.number) {
		case ENVELOPE_PUBLIC_KEY: dst = &env->public_key; break;
		case ENVELOPE_PAYLOAD_TYPE: dst = &env->payload_type; break;
		case ENVELOPE_PAYLOAD: dst = &env->payload; break;
		case ENVELOPE_SIGNATURE: dst = &env->signature; break;
		default: continue; /* unknown field: proto3 says skip it */
		}
		if (f.wire != PB_WIRE_LEN || seen[f.number])
			return AA_EINVAL;
		seen[f.number] = true;
		*dst = f.data;
	}
	if (rc < 0)
		return AA_EINVAL;
	enum p2p_key_type type;
	struct aa_slice key_data;
	if (!seen[ENVELOPE_PUBLIC_KEY] || !seen[ENVELOPE_SIGNATURE] ||
	    p2p_key_protobuf_parse(env->public_key.p, env->public_key.n, &type, &key_data) != 0)
		return AA_EINVAL;
	return 0;
}

int p2p_envelope_verify(const struct p2p_envelope *env, const char *domain)
{
	uint8_t key[P2P_ED25519_PUBLIC_KEY_BYTES];
	int rc = p2p_public_key_unmarshal(env->public_key.p, env->public_key.n, key, NULL, 0);
	if (rc != 0)
		return rc;
	if (env->signature.n != P2P_ED25519_SIGNATURE_BYTES)
		return AA_ECRYPTO;
	struct aa_buf msg;
	aa_buf_init(&msg);
	envelope_unsigned(domain, env->payload_type, env->payload, &msg);
	rc = p2p_ed25519_verify(key, msg.p, msg.n, env->signature.p);
	aa_buf_free(&msg);
	return rc;
}

void p2p_peer_record_encode(const struct p2p_peer_id *id, uint64_t seq,
			    const struct multiaddr *addrs, size_t n_addrs, struct aa_buf *out)
{
	pb_put_bytes(out, RECORD_PEER_ID, id->bytes, id->len);
	if (seq)
		pb_put_uint64(out, RECORD_SEQ, seq);
	for (size_t i = 0; i < n_addrs; i++) {
		if (addrs[i].len == 0)
			continue;
		/* AddressInfo { bytes multiaddr = 1; } as a nested message. */
		pb_put_tag(out, RECORD_ADDRESSES, PB_WIRE_LEN);
		pb_put_varint(out, pb_bytes_field_size(addrs[i].len));
		pb_put_bytes(out, ADDRESS_INFO_MULTIADDR, addrs[i].bytes, addrs[i].len);
	}
}

void p2p_peer_record_free(struct p2p_peer_record *r)
{
	for (size_t i = 0; i < r->n_addrs; i++)
		multiaddr_free(&r->addrs[i]);
	free(r->addrs);
	memset(r, 0, sizeof *r);
}

/* One AddressInfo: its multiaddr field (absent means empty), or AA_EINVAL if malformed. */
static int address_info_parse(struct aa_slice in, struct aa_slice *maddr)
{
	*maddr = aa_slice_make(NULL, 0);
	bool seen = false;
	struct pb_field f;
	int rc;
	while ((rc = pb_next_field(&in, &f)) > 0) {
		if (f.number != ADDRESS_INFO_MULTIADDR)
			continue; /* per-address metadata RFC 0003 leaves room for */
		if (f.wire != PB_WIRE_LEN || seen)
			return AA_EINVAL;
		seen = true;
		*maddr = f.data;
	}
	return rc < 0 ? AA_EINVAL : 0;
}

static void record_add_addr(struct p2p_peer_record *r, struct aa_slice maddr, size_t max_addrs,
			    size_t *cap)
{
	struct multiaddr ma;
	if (multiaddr_from_bytes(maddr.p, maddr.n, &ma) != 0) {
		r->skipped_addrs++;
		return;
	}
	if (r->n_addrs >= max_addrs) {
		multiaddr_free(&ma);
		r->dropped_addrs++;
		return;
	}
	if (r->n_addrs == *cap) {
		*cap = *cap ? 2 * *cap : 4;
		if (*cap > max_addrs)
			*cap = max_addrs;
		r->addrs = aa_realloc(r->addrs, *cap * sizeof *r->addrs);
	}
	r->addrs[r->n_addrs++] = ma;
}

static int record_field(struct p2p_peer_record *r, const struct pb_field *f, bool *seen,
			size_t max_addrs, size_t *cap, char *why, size_t why_len)
{
	switch (f->number) {
	case RECORD_PEER_ID:
		if (f->wire != PB_WIRE_LEN || seen[RECORD_PEER_ID]) {
			aa_set_why(why, why_len, "peer record: bad or repeated peer_id field");
			return AA_EINVAL;
		}
		seen[RECORD_PEER_ID] = true;
		if (p2p_peer_id_from_bytes(f->data.p, f->data.n, &r->peer_id) != 0) {
			aa_set_why(why, why_len, "peer record: peer_id is not a valid PeerID");
			return AA_EINVAL;
		}
		return 0;
	case RECORD_SEQ:
		if (f->wire != PB_WIRE_VARINT || seen[RECORD_SEQ]) {
			aa_set_why(why, why_len, "peer record: bad or repeated seq field");
			return AA_EINVAL;
		}
		seen[RECORD_SEQ] = true;
		r->seq = f->varint;
		return 0;
	case RECORD_ADDRESSES: {
		struct aa_slice maddr;
		if (f->wire != PB_WIRE_LEN || address_info_parse(f->data, &maddr) != 0) {
			aa_set_why(why, why_len, "peer record: malformed AddressInfo");
			return AA_EINVAL;
		}
		record_add_addr(r, maddr, max_addrs, cap);
		return 0;
	}
	default:
		return 0; /* future record fields (RFC 0003 "Future Work") */
	}
}

int p2p_peer_record_decode(const uint8_t *p, size_t n, size_t max_addrs,
			   struct p2p_peer_record *r, char *why, size_t why_len)
{
	memset(r, 0, sizeof *r);
	struct aa_slice in = aa_slice_make(p, n);
	bool seen[RECORD_ADDRESSES + 1] = { false };
	size_t cap = 0;
	struct pb_field f;
	int rc;
	while ((rc = pb_next_field(&in, &f)) > 0) {
		if (record_field(r, &f, seen, max_addrs, &cap, why, why_len) != 0)
			goto fail;
	}
	if (rc < 0) {
		aa_set_why(why, why_len, "peer record: malformed protobuf");
		goto fail;
	}
	if (!seen[RECORD_PEER_ID]) {
		aa_set_why(why, why_len, "peer record: no peer_id");
		goto fail;
	}
	return 0;
fail:
	p2p_peer_record_free(r);
	return AA_EINVAL;
}

void p2p_peer_record_seal(const struct p2p_keypair *kp, uint64_t seq,
			  const struct multiaddr *addrs, size_t n_addrs, struct aa_buf *out)
{
	struct p2p_peer_id id;
	p2p_peer_id_from_public_key(kp->public_key, &id);
	struct aa_buf rec;
	aa_buf_init(&rec);
	p2p_peer_record_encode(&id, seq, addrs, n_addrs, &rec);
	p2p_envelope_seal(kp, P2P_PEER_RECORD_DOMAIN,
			  aa_slice_make(P2P_PEER_RECORD_PAYLOAD_TYPE,
					P2P_PEER_RECORD_PAYLOAD_TYPE_BYTES),
			  aa_slice_make(rec.p, rec.n), out);
	aa_buf_free(&rec);
}

int p2p_peer_record_open(const uint8_t *p, size_t n, size_t max_addrs, struct p2p_peer_record *r,
			 char *why, size_t why_len)
{
	memset(r, 0, sizeof *r);
	struct p2p_envelope env;
	if (p2p_envelope_parse(p, n, &env) != 0) {
		aa_set_why(why, why_len, "signed peer record: malformed envelope");
		return AA_EINVAL;
	}
	if (env.payload_type.n != P2P_PEER_RECORD_PAYLOAD_TYPE_BYTES ||
	    memcmp(env.payload_type.p, P2P_PEER_RECORD_PAYLOAD_TYPE,
		   P2P_PEER_RECORD_PAYLOAD_TYPE_BYTES) != 0) {
		aa_set_why(why, why_len, "signed peer record: payload type is not libp2p-peer-record");
		return AA_EPROTO;
	}
	int rc = p2p_envelope_verify(&env, P2P_PEER_RECORD_DOMAIN);
	if (rc == AA_ENOTSUP) {
		aa_set_why(why, why_len, "signed peer record: signer key type not supported");
		return rc;
	}
	if (rc != 0) {
		aa_set_why(why, why_len, "signed peer record: bad signature");
		return rc == AA_EINVAL ? AA_EINVAL : AA_ECRYPTO;
	}
	rc = p2p_peer_record_decode(env.payload.p, env.payload.n, max_addrs, r, why, why_len);
	if (rc != 0)
		return rc;
	struct p2p_peer_id signer;
	if (p2p_peer_id_from_public_key_protobuf(env.public_key.p, env.public_key.n, &signer) != 0 ||
	    !p2p_peer_id_equal(&signer, &r->peer_id)) {
		aa_set_why(why, why_len, "signed peer record: peer_id is not the signer's");
		p2p_peer_record_free(r);
		return AA_EPROTO;
	}
	return 0;
}
