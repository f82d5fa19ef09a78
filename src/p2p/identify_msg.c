/* identify_msg: Identify messages (libp2p identify spec, "The Identify Message", plus field 8
 * signedPeerRecord as go-libp2p and js-libp2p define it), their varint framing, and identify
 * push merging.
 *
 * The Identify protobuf (proto/libp2p/identify.proto) is encoded and parsed by hand with
 * p2p/pb_wire.h rather than with protobuf-c: the parser bounds the repeated fields before
 * allocating for them (protobuf-c would allocate an array for however many entries the
 * message holds), skips unusable entries one by one instead of failing the message, and
 * keeps protocol IDs with an embedded NUL out of our C strings. Singular fields follow
 * protobuf's merge rule (the last occurrence wins), because a multi-frame identify is the
 * concatenation of its frames. The unit tests cross-check both directions against the
 * protobuf-c code generated from the .proto file. */
#include "p2p/identify_msg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "base/varint.h"
#include "p2p/pb_wire.h"

/* identify spec, "The Identify Message"; 8 from go-libp2p/js-libp2p identify.proto. */
#define ID_PUBLIC_KEY 1
#define ID_LISTEN_ADDRS 2
#define ID_PROTOCOLS 3
#define ID_OBSERVED_ADDR 4
#define ID_PROTOCOL_VERSION 5
#define ID_AGENT_VERSION 6
#define ID_SIGNED_PEER_RECORD 8
#define ID_FIELD_SLOTS 9

void identify_limits_default(struct identify_limits *l)
{
	l->max_frame_bytes = 64 * 1024;
	l->max_total_bytes = 64 * 1024;
	l->max_frames = 10;
	l->max_addrs = 128;
	l->max_protocols = 1024;
	l->max_protocol_bytes = 1024;
	l->max_string_bytes = 1024;
	l->max_public_key_bytes = 2048;
}

void identify_info_init(struct identify_info *info)
{
	memset(info, 0, sizeof *info);
}

static void free_listen_addrs(struct identify_info *info)
{
	for (size_t i = 0; i < info->n_listen_addrs; i++)
		multiaddr_free(&info->listen_addrs[i]);
	free(info->listen_addrs);
	info->listen_addrs = NULL;
	info->n_listen_addrs = 0;
}

static void free_protocols(struct identify_info *info)
{
	for (size_t i = 0; i < info->n_protocols; i++)
		free(info->protocols[i]);
	free(info->protocols);
	info->protocols = NULL;
	info->n_protocols = 0;
}

void identify_info_free(struct identify_info *info)
{
	free(info->protocol_version);
	free(info->agent_version);
	free(info->public_key);
	free_listen_addrs(info);
	if (info->has_observed_addr)
		multiaddr_free(&info->observed_addr);
	free_protocols(info);
	free(info->signed_record);
	p2p_peer_record_free(&info->record);
	identify_info_init(info);
}

bool identify_info_has_verified_record(const struct identify_info *info)
{
	return info->signed_record && info->record_status == 0;
}

/* ---- decoding -------------------------------------------------------------------------- */

/* Grows an array of `size`-byte items holding n so that one more fits, never beyond max. */
static void *grow(void *arr, size_t n, size_t *cap, size_t max, size_t size)
{
	if (n < *cap)
		return arr;
	*cap = *cap ? 2 * *cap : 8;
	if (*cap > max)
		*cap = max;
	return aa_realloc(arr, *cap * size);
}

struct decode_state {
	const struct identify_limits *limits;
	struct aa_slice last[ID_FIELD_SLOTS]; /* singular fields: the last occurrence */
	bool seen[ID_FIELD_SLOTS];
	size_t addrs_cap;
	size_t protocols_cap;
};

static void add_listen_addr(struct decode_state *st, struct identify_info *info,
			    struct aa_slice bytes)
{
	info->has_listen_addrs = true;
	struct multiaddr ma;
	if (multiaddr_from_bytes(bytes.p, bytes.n, &ma) != 0) {
		info->skipped_listen_addrs++;
		return;
	}
	if (info->n_listen_addrs >= st->limits->max_addrs) {
		multiaddr_free(&ma);
		info->dropped_listen_addrs++;
		return;
	}
	info->listen_addrs = grow(info->listen_addrs, info->n_listen_addrs, &st->addrs_cap,
				  st->limits->max_addrs, sizeof *info->listen_addrs);
	info->listen_addrs[info->n_listen_addrs++] = ma;
}

static char *copy_string(struct aa_slice s)
{
	char *out = aa_malloc(s.n + 1);
	if (s.n)
		memcpy(out, s.p, s.n);
	out[s.n] = 0;
	return out;
}

static void add_protocol(struct decode_state *st, struct identify_info *info, struct aa_slice s)
{
	info->has_protocols = true;
	if (s.n == 0 || s.n > st->limits->max_protocol_bytes || memchr(s.p, 0, s.n)) {
		info->skipped_protocols++;
		return;
	}
	if (info->n_protocols >= st->limits->max_protocols) {
		info->dropped_protocols++;
		return;
	}
	info->protocols = grow(info->protocols, info->n_protocols, &st->protocols_cap,
			       st->limits->max_protocols, sizeof *info->protocols);
	info->protocols[info->n_protocols++] = copy_string(s);
}

/* One pass over the fields: repeated fields are taken as they come, singular ones are
 * remembered (last wins) and taken afterwards. */
static int walk_fields(struct decode_state *st, struct aa_slice in, struct identify_info *info,
		       char *why, size_t why_len)
{
	struct pb_field f;
	int rc;
	while ((rc = pb_next_field(&in, &f)) > 0) {
		switch (f.number) {
		case ID_PUBLIC_KEY:
		case ID_LISTEN_ADDRS:
		case ID_PROTOCOLS:
		case ID_OBSERVED_ADDR:
		case ID_PROTOCOL_VERSION:
		case ID_AGENT_VERSION:
		case ID_SIGNED_PEER_RECORD:
			break;
		default:
			continue; /* unknown or retired (7 was a NAT status): skip */
		}
		if (f.wire != PB_WIRE_LEN) {
			aa_set_why(why, why_len, "identify: field %u has wire type %u", f.number,
				(unsigned)f.wire);
			return AA_EPROTO;
		}
		if (f.number == ID_LISTEN_ADDRS) {
			add_listen_addr(st, info, f.data);
		} else if (f.number == ID_PROTOCOLS) {
			add_protocol(st, info, f.data);
		} else {
			st->last[f.number] = f.data;
			st->seen[f.number] = true;
		}
	}
	if (rc < 0) {
		aa_set_why(why, why_len, "identify: malformed protobuf");
		return AA_EPROTO;
	}
	return 0;
}

static int take_string(const struct decode_state *st, unsigned field, const char *name,
		       char **out, char *why, size_t why_len)
{
	if (!st->seen[field])
		return 0;
	struct aa_slice s = st->last[field];
	if (s.n > st->limits->max_string_bytes || memchr(s.p, 0, s.n)) {
		aa_set_why(why, why_len, "identify: %s too long or holding a NUL", name);
		return AA_EPROTO;
	}
	*out = copy_string(s);
	return 0;
}

static int take_public_key(const struct decode_state *st, struct identify_info *info, char *why,
			   size_t why_len)
{
	if (!st->seen[ID_PUBLIC_KEY])
		return 0;
	struct aa_slice k = st->last[ID_PUBLIC_KEY];
	if (k.n > st->limits->max_public_key_bytes ||
	    p2p_peer_id_from_public_key_protobuf(k.p, k.n, &info->peer_id) != 0) {
		aa_set_why(why, why_len, "identify: publicKey is not a valid PublicKey");
		return AA_EPROTO;
	}
	int rc = p2p_public_key_unmarshal(k.p, k.n, info->ed25519_key, NULL, 0);
	if (rc != 0 && rc != AA_ENOTSUP) {
		aa_set_why(why, why_len, "identify: malformed Ed25519 publicKey");
		return AA_EPROTO;
	}
	info->has_ed25519_key = rc == 0;
	info->public_key = aa_malloc(k.n);
	memcpy(info->public_key, k.p, k.n);
	info->public_key_len = k.n;
	return 0;
}

static void take_observed_addr(const struct decode_state *st, struct identify_info *info)
{
	if (!st->seen[ID_OBSERVED_ADDR])
		return;
	struct aa_slice a = st->last[ID_OBSERVED_ADDR];
	if (multiaddr_from_bytes(a.p, a.n, &info->observed_addr) == 0)
		info->has_observed_addr = true;
	else
		info->skipped_observed_addr = true;
}

/* Keeps the envelope and verifies it (RFC 0003 "Certification / Verification"); the record
 * must also be for the key this message carries, when it carries one. */
static void take_signed_record(const struct decode_state *st, struct identify_info *info)
{
	if (!st->seen[ID_SIGNED_PEER_RECORD])
		return;
	struct aa_slice env = st->last[ID_SIGNED_PEER_RECORD];
	info->signed_record = aa_malloc(env.n ? env.n : 1);
	if (env.n)
		memcpy(info->signed_record, env.p, env.n);
	info->signed_record_len = env.n;
	info->record_status = p2p_peer_record_open(env.p, env.n, st->limits->max_addrs,
						   &info->record, info->record_error,
						   sizeof info->record_error);
	if (info->record_status == 0 && info->public_key &&
	    !p2p_peer_id_equal(&info->record.peer_id, &info->peer_id)) {
		p2p_peer_record_free(&info->record);
		info->record_status = AA_EPROTO;
		aa_set_why(info->record_error, sizeof info->record_error,
			"signed peer record is for another peer than publicKey");
	}
	if (info->record_status == 0)
		info->record_error[0] = 0;
}

int identify_msg_decode(const uint8_t *p, size_t n, const struct identify_limits *limits,
			struct identify_info *info, char *why, size_t why_len)
{
	identify_info_init(info);
	if (n > limits->max_total_bytes) {
		aa_set_why(why, why_len, "identify: message of %zu bytes exceeds %zu", n,
			limits->max_total_bytes);
		return AA_ETOOBIG;
	}
	struct decode_state st = { .limits = limits };
	int rc = walk_fields(&st, aa_slice_make(p, n), info, why, why_len);
	if (rc == 0)
		rc = take_string(&st, ID_PROTOCOL_VERSION, "protocolVersion",
				 &info->protocol_version, why, why_len);
	if (rc == 0)
		rc = take_string(&st, ID_AGENT_VERSION, "agentVersion", &info->agent_version, why,
				 why_len);
	if (rc == 0)
		rc = take_public_key(&st, info, why, why_len);
	if (rc != 0) {
		identify_info_free(info);
		return rc;
	}
	take_observed_addr(&st, info);
	take_signed_record(&st, info);
	return 0;
}

/* ---- encoding -------------------------------------------------------------------------- */

/* The message without its signed record, keeping the first n_addrs listen addresses. Fields
 * go in field-number order, as protobuf encoders write them. */
static void encode_fields(const struct identify_announce *a, size_t n_addrs, struct aa_buf *out)
{
	if (a->key) {
		uint8_t key[P2P_ED25519_PUBLIC_KEY_PROTOBUF_BYTES];
		p2p_public_key_marshal(a->key->public_key, key);
		pb_put_bytes(out, ID_PUBLIC_KEY, key, sizeof key);
	}
	for (size_t i = 0; i < n_addrs; i++)
		pb_put_bytes(out, ID_LISTEN_ADDRS, a->listen_addrs[i].bytes, a->listen_addrs[i].len);
	for (size_t i = 0; i < a->n_protocols; i++)
		pb_put_bytes(out, ID_PROTOCOLS, a->protocols[i], strlen(a->protocols[i]));
	if (a->observed_addr)
		pb_put_bytes(out, ID_OBSERVED_ADDR, a->observed_addr->bytes, a->observed_addr->len);
	if (a->protocol_version)
		pb_put_bytes(out, ID_PROTOCOL_VERSION, a->protocol_version,
			     strlen(a->protocol_version));
	if (a->agent_version)
		pb_put_bytes(out, ID_AGENT_VERSION, a->agent_version, strlen(a->agent_version));
}

static bool wants_record(const struct identify_announce *a)
{
	return a->signed_record && a->key;
}

void identify_msg_encode(const struct identify_announce *a, struct aa_buf *out)
{
	encode_fields(a, a->n_listen_addrs, out);
	if (!wants_record(a))
		return;
	struct aa_buf env;
	aa_buf_init(&env);
	p2p_peer_record_seal(a->key, a->record_seq, a->listen_addrs, a->n_listen_addrs, &env);
	pb_put_bytes(out, ID_SIGNED_PEER_RECORD, env.p, env.n);
	aa_buf_free(&env);
}

/* Size of the envelope p2p_peer_record_seal() would produce for the first n_addrs addresses,
 * worked out without signing. */
static size_t sealed_record_size(const struct identify_announce *a, size_t n_addrs)
{
	struct p2p_peer_id id;
	p2p_peer_id_from_public_key(a->key->public_key, &id);
	struct aa_buf rec;
	aa_buf_init(&rec);
	p2p_peer_record_encode(&id, a->record_seq, a->listen_addrs, n_addrs, &rec);
	size_t n = pb_bytes_field_size(P2P_ED25519_PUBLIC_KEY_PROTOBUF_BYTES) +
		   pb_bytes_field_size(P2P_PEER_RECORD_PAYLOAD_TYPE_BYTES) +
		   (rec.n ? pb_bytes_field_size(rec.n) : 0) +
		   pb_bytes_field_size(P2P_ED25519_SIGNATURE_BYTES);
	aa_buf_free(&rec);
	return n;
}

static void put_frame(struct aa_buf *out, const uint8_t *p, size_t n)
{
	uint8_t len[AA_VARINT_MAX_BYTES];
	int k = varint_encode(n, len);
	aa_buf_append(out, len, (size_t)k);
	aa_buf_append(out, p, n);
}

int identify_msg_write(const struct identify_announce *a, struct aa_buf *out,
		       size_t *addrs_left_out)
{
	if (a->signed_record && !a->key)
		return AA_EINVAL;
	struct aa_buf body;
	aa_buf_init(&body);
	size_t keep = a->n_listen_addrs;
	size_t record_field = 0;
	for (;;) {
		aa_buf_reset(&body);
		encode_fields(a, keep, &body);
		record_field = wants_record(a) ? pb_bytes_field_size(sealed_record_size(a, keep)) : 0;
		if (body.n <= IDENTIFY_SEND_MAX_FRAME_BYTES &&
		    record_field <= IDENTIFY_SEND_MAX_FRAME_BYTES)
			break;
		if (keep == 0) {
			aa_buf_free(&body);
			return AA_ETOOBIG;
		}
		keep--;
	}
	struct aa_buf rec;
	aa_buf_init(&rec);
	if (record_field) {
		struct aa_buf env;
		aa_buf_init(&env);
		p2p_peer_record_seal(a->key, a->record_seq, a->listen_addrs, keep, &env);
		pb_put_bytes(&rec, ID_SIGNED_PEER_RECORD, env.p, env.n);
		aa_buf_free(&env);
	}
	/* go-libp2p writeChunkedIdentifyMsg: one frame while it stays small, else the record
	 * alone in a second frame. */
	if (body.n + rec.n <= IDENTIFY_SEND_SPLIT_BYTES) {
		aa_buf_append(&body, rec.p, rec.n);
		put_frame(out, body.p, body.n);
	} else {
		put_frame(out, body.p, body.n);
		if (rec.n)
			put_frame(out, rec.p, rec.n);
	}
	aa_buf_free(&rec);
	aa_buf_free(&body);
	if (addrs_left_out)
		*addrs_left_out = a->n_listen_addrs - keep;
	return 0;
}

/* ---- identify push --------------------------------------------------------------------- */

static void move_string(char **dst, char **src)
{
	if (!*src)
		return;
	free(*dst);
	*dst = *src;
	*src = NULL;
}

static void merge_record(struct identify_info *cur, struct identify_info *upd)
{
	if (!identify_info_has_verified_record(upd))
		return; /* an unverifiable record never replaces anything */
	if (identify_info_has_verified_record(cur) && upd->record.seq <= cur->record.seq)
		return;
	free(cur->signed_record);
	p2p_peer_record_free(&cur->record);
	cur->signed_record = upd->signed_record;
	cur->signed_record_len = upd->signed_record_len;
	cur->record_status = 0;
	cur->record_error[0] = 0;
	cur->record = upd->record;
	upd->signed_record = NULL;
	upd->signed_record_len = 0;
	memset(&upd->record, 0, sizeof upd->record);
}

void identify_info_merge(struct identify_info *cur, struct identify_info *upd)
{
	move_string(&cur->protocol_version, &upd->protocol_version);
	move_string(&cur->agent_version, &upd->agent_version);
	if (upd->public_key) {
		free(cur->public_key);
		cur->public_key = upd->public_key;
		cur->public_key_len = upd->public_key_len;
		cur->peer_id = upd->peer_id;
		cur->has_ed25519_key = upd->has_ed25519_key;
		memcpy(cur->ed25519_key, upd->ed25519_key, sizeof cur->ed25519_key);
		upd->public_key = NULL;
		upd->public_key_len = 0;
	}
	if (upd->has_listen_addrs) {
		free_listen_addrs(cur);
		cur->has_listen_addrs = true;
		cur->listen_addrs = upd->listen_addrs;
		cur->n_listen_addrs = upd->n_listen_addrs;
		cur->skipped_listen_addrs = upd->skipped_listen_addrs;
		cur->dropped_listen_addrs = upd->dropped_listen_addrs;
		upd->listen_addrs = NULL;
		upd->n_listen_addrs = 0;
	}
	if (upd->has_observed_addr) {
		if (cur->has_observed_addr)
			multiaddr_free(&cur->observed_addr);
		cur->observed_addr = upd->observed_addr;
		cur->has_observed_addr = true;
		cur->skipped_observed_addr = false;
		upd->has_observed_addr = false;
		memset(&upd->observed_addr, 0, sizeof upd->observed_addr);
	}
	if (upd->has_protocols) {
		free_protocols(cur);
		cur->has_protocols = true;
		cur->protocols = upd->protocols;
		cur->n_protocols = upd->n_protocols;
		cur->skipped_protocols = upd->skipped_protocols;
		cur->dropped_protocols = upd->dropped_protocols;
		upd->protocols = NULL;
		upd->n_protocols = 0;
	}
	merge_record(cur, upd);
}

/* ---- framing --------------------------------------------------------------------------- */

void identify_reader_init(struct identify_reader *r, const struct identify_limits *limits)
{
	memset(r, 0, sizeof *r);
	r->limits = *limits;
	aa_buf_init(&r->merged);
}

void identify_reader_free(struct identify_reader *r)
{
	aa_buf_free(&r->merged);
	memset(r, 0, sizeof *r);
}

static int reader_fail(struct identify_reader *r, int err)
{
	r->error = err;
	return err;
}

/* Takes one byte of a frame header; returns 0, or a negative code. */
static int reader_header_byte(struct identify_reader *r, uint8_t byte)
{
	if (r->frames >= r->limits.max_frames)
		return AA_EPROTO;
	r->header[r->header_n++] = byte;
	uint64_t len;
	int k = varint_decode(r->header, r->header_n, &len);
	if (k == AA_ETRUNC)
		return r->header_n < sizeof r->header ? 0 : AA_EPROTO;
	if (k < 0)
		return AA_EPROTO;
	if (len > r->limits.max_frame_bytes || len > r->limits.max_total_bytes - r->merged.n)
		return AA_ETOOBIG;
	r->frame_len = len;
	r->frame_start = r->merged.n;
	r->header_n = 0;
	r->in_body = true;
	return 0;
}

int identify_reader_feed(struct identify_reader *r, const uint8_t *p, size_t n, size_t *consumed,
			 struct aa_slice *frame)
{
	*consumed = 0;
	if (r->error)
		return r->error;
	size_t off = 0;
	while (off < n) {
		if (!r->in_body) {
			int rc = reader_header_byte(r, p[off++]);
			if (rc < 0)
				return reader_fail(r, rc);
		} else {
			size_t have = r->merged.n - r->frame_start;
			size_t take = (size_t)r->frame_len - have;
			if (take > n - off)
				take = n - off;
			aa_buf_append(&r->merged, p + off, take);
			off += take;
		}
		if (r->in_body && r->merged.n - r->frame_start == r->frame_len) {
			r->in_body = false;
			r->frames++;
			if (frame)
				*frame = aa_slice_make(r->merged.p ? r->merged.p + r->frame_start : NULL,
						       (size_t)r->frame_len);
			*consumed = off;
			return 1;
		}
	}
	*consumed = off;
	return 0;
}

int identify_reader_finish(struct identify_reader *r, struct aa_slice *msg)
{
	if (r->error)
		return r->error;
	if (r->in_body || r->header_n)
		return AA_ETRUNC;
	if (r->frames == 0)
		return AA_EPROTO;
	*msg = aa_slice_make(r->merged.p, r->merged.n);
	return 0;
}
