/* Unit tests for p2p/identify_msg and p2p/peer_record: Identify encoding and parsing (hand
 * built bytes, protobuf-c cross-checks), signed peer records (RFC 0002/0003: valid, tampered,
 * wrong domain, type, peer or key), limits, skipped addresses, multi-frame merging, identify
 * push merging, and the varint framing split at every byte. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/varint.h"
#include "libp2p/envelope.pb-c.h"
#include "libp2p/identify.pb-c.h"
#include "libp2p/peer_record.pb-c.h"
#include "p2p/identify_msg.h"
#include "p2p/keys.h"
#include "p2p/multiaddr.h"
#include "p2p/pb_wire.h"
#include "p2p/peer_record.h"
#include "p2p/peerid.h"

/* ---- helpers -------------------------------------------------------------------------- */

static struct p2p_keypair key_from(uint8_t b)
{
	uint8_t seed[32];
	memset(seed, b, sizeof seed);
	struct p2p_keypair kp;
	p2p_keypair_from_seed(seed, &kp);
	return kp;
}

static struct multiaddr ma(const char *text)
{
	struct multiaddr m;
	assert_int_equal(multiaddr_parse(text, &m, NULL), 0);
	return m;
}

static struct identify_limits limits(void)
{
	struct identify_limits l;
	identify_limits_default(&l);
	return l;
}

static int decode(const struct aa_buf *b, struct identify_info *info)
{
	struct identify_limits l = limits();
	return identify_msg_decode(b->p, b->n, &l, info, NULL, 0);
}

static const char *const PROTOCOLS[] = { IDENTIFY_PROTOCOL_ID, IDENTIFY_PUSH_PROTOCOL_ID,
					 "/ipfs/ping/1.0.0" };

/* A full announcement of key `kp` with two listen addresses (freed by free_addrs()). */
struct fixture {
	struct p2p_keypair kp;
	struct multiaddr addrs[2];
	struct multiaddr observed;
	struct identify_announce a;
};

static void fixture_init(struct fixture *fx)
{
	fx->kp = key_from(0x11);
	fx->addrs[0] = ma("/ip4/192.0.2.7/tcp/4001");
	fx->addrs[1] = ma("/ip6/2001:db8::7/udp/4001/quic-v1");
	fx->observed = ma("/ip4/198.51.100.9/tcp/50123");
	fx->a = (struct identify_announce){
		.protocol_version = IDENTIFY_PROTOCOL_VERSION,
		.agent_version = "agentanycastd/0.1.0",
		.key = &fx->kp,
		.signed_record = true,
		.record_seq = 1700000000123456789ull,
		.listen_addrs = fx->addrs,
		.n_listen_addrs = 2,
		.observed_addr = &fx->observed,
		.protocols = PROTOCOLS,
		.n_protocols = 3,
	};
}

static void fixture_free(struct fixture *fx)
{
	multiaddr_free(&fx->addrs[0]);
	multiaddr_free(&fx->addrs[1]);
	multiaddr_free(&fx->observed);
}

/* Feeds p[0..n) in one call per chunk boundary given, collecting completed frames. */
static int feed_all(struct identify_reader *r, const uint8_t *p, size_t n, unsigned *frames)
{
	while (n > 0) {
		size_t used;
		struct aa_slice f;
		int rc = identify_reader_feed(r, p, n, &used, &f);
		if (rc < 0)
			return rc;
		assert_true(used <= n);
		if (rc == 1)
			(*frames)++;
		else
			assert_int_equal(used, n);
		p += used;
		n -= used;
	}
	return 0;
}

/* The frames' payloads concatenated, as the reader should give them back. */
static void unframe(const struct aa_buf *framed, struct aa_buf *out, unsigned *frames)
{
	size_t off = 0;
	*frames = 0;
	while (off < framed->n) {
		uint64_t len;
		int k = varint_decode(framed->p + off, framed->n - off, &len);
		assert_true(k > 0);
		off += (size_t)k;
		assert_true(len <= framed->n - off);
		aa_buf_append(out, framed->p + off, (size_t)len);
		off += (size_t)len;
		(*frames)++;
	}
}

static void frame(struct aa_buf *out, const struct aa_buf *msg)
{
	uint8_t len[9];
	int k = varint_encode(msg->n, len);
	aa_buf_append(out, len, (size_t)k);
	aa_buf_append(out, msg->p, msg->n);
}

/* ---- encoding and parsing ---------------------------------------------------------------- */

static void test_identify_round_trip_keeps_every_field(void **state)
{
	struct fixture fx;
	fixture_init(&fx);
	struct aa_buf b;
	aa_buf_init(&b);
	identify_msg_encode(&fx.a, &b);

	struct identify_info info;
	assert_int_equal(decode(&b, &info), 0);
	assert_string_equal(info.protocol_version, "ipfs/0.1.0");
	assert_string_equal(info.agent_version, "agentanycastd/0.1.0");
	assert_int_equal(info.public_key_len, P2P_ED25519_PUBLIC_KEY_PROTOBUF_BYTES);
	assert_true(info.has_ed25519_key);
	assert_memory_equal(info.ed25519_key, fx.kp.public_key, 32);
	struct p2p_peer_id id;
	p2p_peer_id_from_public_key(fx.kp.public_key, &id);
	assert_true(p2p_peer_id_equal(&info.peer_id, &id));
	assert_true(info.has_listen_addrs);
	assert_int_equal(info.n_listen_addrs, 2);
	assert_true(multiaddr_equal(&info.listen_addrs[0], &fx.addrs[0]));
	assert_true(multiaddr_equal(&info.listen_addrs[1], &fx.addrs[1]));
	assert_true(info.has_observed_addr);
	assert_true(multiaddr_equal(&info.observed_addr, &fx.observed));
	assert_int_equal(info.n_protocols, 3);
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(info.protocols[i], PROTOCOLS[i]);
	assert_non_null(info.signed_record);
	assert_true(identify_info_has_verified_record(&info));
	assert_string_equal(info.record_error, "");
	assert_true(p2p_peer_id_equal(&info.record.peer_id, &id));
	assert_true(info.record.seq == 1700000000123456789ull);
	assert_int_equal(info.record.n_addrs, 2);
	assert_true(multiaddr_equal(&info.record.addrs[1], &fx.addrs[1]));
	identify_info_free(&info);
	aa_buf_free(&b);
	fixture_free(&fx);
}

/* A message written byte by byte from the spec's field numbers: listenAddrs (2), protocols
 * (3), observedAddr (4), protocolVersion (5), agentVersion (6). */
static const uint8_t HAND_BUILT[] = {
	0x12, 0x08, 0x04, 127, 0, 0, 1, 0x06, 0x0f, 0xa1, /* /ip4/127.0.0.1/tcp/4001 */
	0x1a, 0x0e, '/', 'i', 'p', 'f', 's', '/', 'i', 'd', '/', '1', '.', '0', '.', '0',
	0x1a, 0x10, '/', 'i', 'p', 'f', 's', '/', 'p', 'i', 'n', 'g', '/', '1', '.', '0', '.', '0',
	0x22, 0x08, 0x04, 192, 0, 2, 1, 0x06, 0x00, 0x50, /* /ip4/192.0.2.1/tcp/80 */
	0x2a, 0x0a, 'i', 'p', 'f', 's', '/', '0', '.', '1', '.', '0',
	0x32, 0x04, 't', 'e', 's', 't',
};

static void test_identify_decodes_hand_built_bytes(void **state)
{
	struct aa_buf b;
	aa_buf_init(&b);
	aa_buf_append(&b, HAND_BUILT, sizeof HAND_BUILT);
	struct identify_info info;
	assert_int_equal(decode(&b, &info), 0);
	assert_string_equal(info.protocol_version, "ipfs/0.1.0");
	assert_string_equal(info.agent_version, "test");
	assert_null(info.public_key);
	assert_int_equal(info.peer_id.len, 0);
	assert_int_equal(info.n_listen_addrs, 1);
	char *s;
	assert_int_equal(multiaddr_to_string(&info.listen_addrs[0], &s), 0);
	assert_string_equal(s, "/ip4/127.0.0.1/tcp/4001");
	free(s);
	assert_int_equal(multiaddr_to_string(&info.observed_addr, &s), 0);
	assert_string_equal(s, "/ip4/192.0.2.1/tcp/80");
	free(s);
	assert_int_equal(info.n_protocols, 2);
	assert_string_equal(info.protocols[0], "/ipfs/id/1.0.0");
	assert_string_equal(info.protocols[1], "/ipfs/ping/1.0.0");
	assert_null(info.signed_record);
	assert_false(identify_info_has_verified_record(&info));
	identify_info_free(&info);
	aa_buf_free(&b);
}

static void test_identify_encodes_hand_built_bytes_exactly(void **state)
{
	struct multiaddr listen = ma("/ip4/127.0.0.1/tcp/4001");
	struct multiaddr observed = ma("/ip4/192.0.2.1/tcp/80");
	const char *const protos[] = { "/ipfs/id/1.0.0", "/ipfs/ping/1.0.0" };
	struct identify_announce a = {
		.protocol_version = "ipfs/0.1.0", .agent_version = "test",
		.listen_addrs = &listen, .n_listen_addrs = 1, .observed_addr = &observed,
		.protocols = protos, .n_protocols = 2,
	};
	struct aa_buf b;
	aa_buf_init(&b);
	identify_msg_encode(&a, &b);
	assert_int_equal(b.n, sizeof HAND_BUILT);
	assert_memory_equal(b.p, HAND_BUILT, sizeof HAND_BUILT);
	aa_buf_free(&b);
	multiaddr_free(&listen);
	multiaddr_free(&observed);
}

static void test_identify_encoding_parses_with_protobuf_c(void **state)
{
	struct fixture fx;
	fixture_init(&fx);
	struct aa_buf b;
	aa_buf_init(&b);
	identify_msg_encode(&fx.a, &b);
	Libp2p__Identify__Identify *m = libp2p__identify__identify__unpack(NULL, b.n, b.p);
	assert_non_null(m);
	assert_string_equal(m->protocolversion, "ipfs/0.1.0");
	assert_string_equal(m->agentversion, "agentanycastd/0.1.0");
	uint8_t key[36];
	p2p_public_key_marshal(fx.kp.public_key, key);
	assert_true(m->has_publickey);
	assert_int_equal(m->publickey.len, 36);
	assert_memory_equal(m->publickey.data, key, 36);
	assert_int_equal(m->n_listenaddrs, 2);
	assert_memory_equal(m->listenaddrs[1].data, fx.addrs[1].bytes, fx.addrs[1].len);
	assert_true(m->has_observedaddr);
	assert_int_equal(m->n_protocols, 3);
	assert_string_equal(m->protocols[2], "/ipfs/ping/1.0.0");
	assert_true(m->has_signedpeerrecord);

	/* The envelope and the record inside it, field by field (RFC 0002, RFC 0003). */
	Libp2p__Record__Envelope *e = libp2p__record__envelope__unpack(
		NULL, m->signedpeerrecord.len, m->signedpeerrecord.data);
	assert_non_null(e);
	assert_non_null(e->public_key);
	assert_int_equal(e->public_key->type, LIBP2P__CRYPTO__KEY_TYPE__Ed25519);
	assert_memory_equal(e->public_key->data.data, fx.kp.public_key, 32);
	assert_int_equal(e->payload_type.len, 2);
	assert_int_equal(e->payload_type.data[0], 0x03);
	assert_int_equal(e->payload_type.data[1], 0x01);
	assert_int_equal(e->signature.len, 64);
	Libp2p__PeerRecord__PeerRecord *r = libp2p__peer_record__peer_record__unpack(
		NULL, e->payload.len, e->payload.data);
	assert_non_null(r);
	struct p2p_peer_id id;
	p2p_peer_id_from_public_key(fx.kp.public_key, &id);
	assert_int_equal(r->peer_id.len, id.len);
	assert_memory_equal(r->peer_id.data, id.bytes, id.len);
	assert_true(r->seq == 1700000000123456789ull);
	assert_int_equal(r->n_addresses, 2);
	assert_memory_equal(r->addresses[0]->multiaddr.data, fx.addrs[0].bytes, fx.addrs[0].len);

	/* RFC 0002: the signature covers uvarint-prefixed domain, payload type and payload. */
	struct aa_buf u;
	aa_buf_init(&u);
	aa_buf_append_byte(&u, 18);
	aa_buf_append_str(&u, "libp2p-peer-record");
	aa_buf_append_byte(&u, 2);
	aa_buf_append(&u, "\x03\x01", 2);
	uint8_t len[9];
	int k = varint_encode(e->payload.len, len);
	aa_buf_append(&u, len, (size_t)k);
	aa_buf_append(&u, e->payload.data, e->payload.len);
	assert_int_equal(p2p_ed25519_verify(fx.kp.public_key, u.p, u.n, e->signature.data), 0);

	aa_buf_free(&u);
	libp2p__peer_record__peer_record__free_unpacked(r, NULL);
	libp2p__record__envelope__free_unpacked(e, NULL);
	libp2p__identify__identify__free_unpacked(m, NULL);
	aa_buf_free(&b);
	fixture_free(&fx);
}

static void test_identify_decodes_protobuf_c_message(void **state)
{
	struct p2p_keypair kp = key_from(0x22);
	uint8_t key[36];
	p2p_public_key_marshal(kp.public_key, key);
	struct multiaddr a0 = ma("/dns4/example.com/tcp/443/wss");
	ProtobufCBinaryData addrs[] = { { a0.len, a0.bytes } };
	char *protos[] = { "/agentanycast/card/1.0", "/agentanycast/a2a/1.0" };
	Libp2p__Identify__Identify m = LIBP2P__IDENTIFY__IDENTIFY__INIT;
	m.protocolversion = "ipfs/0.1.0";
	m.agentversion = "js-libp2p/3.0.0";
	m.has_publickey = 1;
	m.publickey = (ProtobufCBinaryData){ sizeof key, key };
	m.n_listenaddrs = 1;
	m.listenaddrs = addrs;
	m.n_protocols = 2;
	m.protocols = protos;
	struct aa_buf b;
	aa_buf_init(&b);
	size_t n = libp2p__identify__identify__get_packed_size(&m);
	libp2p__identify__identify__pack(&m, aa_buf_reserve(&b, n));
	b.n = n;

	struct identify_info info;
	assert_int_equal(decode(&b, &info), 0);
	assert_string_equal(info.agent_version, "js-libp2p/3.0.0");
	assert_memory_equal(info.ed25519_key, kp.public_key, 32);
	assert_int_equal(info.n_listen_addrs, 1);
	assert_true(multiaddr_equal(&info.listen_addrs[0], &a0));
	assert_false(info.has_observed_addr);
	assert_int_equal(info.n_protocols, 2);
	assert_string_equal(info.protocols[1], "/agentanycast/a2a/1.0");
	identify_info_free(&info);
	aa_buf_free(&b);
	multiaddr_free(&a0);
}

static void test_identify_skips_unknown_fields(void **state)
{
	struct aa_buf b;
	aa_buf_init(&b);
	pb_put_uint64(&b, 7, 1); /* the retired natStatus */
	pb_put_bytes(&b, 100, "hi", 2);
	pb_put_tag(&b, 9, PB_WIRE_FIXED32);
	aa_buf_append(&b, "\1\2\3\4", 4);
	pb_put_tag(&b, 10, PB_WIRE_FIXED64);
	aa_buf_append(&b, "\1\2\3\4\5\6\7\x8", 8);
	pb_put_bytes(&b, 6, "x/1", 3);
	struct identify_info info;
	assert_int_equal(decode(&b, &info), 0);
	assert_string_equal(info.agent_version, "x/1");
	identify_info_free(&info);
	aa_buf_free(&b);
}

static void test_identify_empty_message_is_valid_and_empty(void **state)
{
	struct identify_limits l = limits();
	struct identify_info info;
	assert_int_equal(identify_msg_decode(NULL, 0, &l, &info, NULL, 0), 0);
	assert_null(info.protocol_version);
	assert_false(info.has_listen_addrs);
	assert_false(info.has_protocols);
	identify_info_free(&info);
}

static void test_identify_accepts_non_ed25519_public_key(void **state)
{
	/* A secp256k1 PublicKey (type 2, 33-byte compressed point): kept, PeerID derived, but
	 * not an Ed25519 key. */
	uint8_t key[37] = { 0x08, 0x02, 0x12, 0x21, 0x02 };
	memset(key + 5, 0x5a, 32);
	struct aa_buf b;
	aa_buf_init(&b);
	pb_put_bytes(&b, 1, key, sizeof key);
	struct identify_info info;
	assert_int_equal(decode(&b, &info), 0);
	assert_non_null(info.public_key);
	assert_false(info.has_ed25519_key);
	assert_int_equal(info.peer_id.len, 2 + sizeof key);
	identify_info_free(&info);
	aa_buf_free(&b);
}

static void test_identify_last_singular_field_wins(void **state)
{
	struct aa_buf b;
	aa_buf_init(&b);
	pb_put_bytes(&b, 6, "first", 5);
	pb_put_bytes(&b, 5, "p/1", 3);
	pb_put_bytes(&b, 6, "second", 6);
	struct identify_info info;
	assert_int_equal(decode(&b, &info), 0);
	assert_string_equal(info.agent_version, "second");
	assert_string_equal(info.protocol_version, "p/1");
	identify_info_free(&info);
	aa_buf_free(&b);
}

/* ---- addresses we cannot parse ------------------------------------------------------------ */

static void test_identify_skips_unparseable_addresses(void **state)
{
	struct multiaddr good = ma("/ip4/10.0.0.1/tcp/4001");
	struct aa_buf b;
	aa_buf_init(&b);
	pb_put_bytes(&b, 2, "\xff\xff\xff", 3);           /* not a multiaddr */
	pb_put_bytes(&b, 2, good.bytes, good.len);
	pb_put_bytes(&b, 2, "", 0);                       /* empty */
	pb_put_bytes(&b, 2, "\x04\x0a\x00", 3);           /* truncated ip4 */
	pb_put_bytes(&b, 2, "\xcc\x03", 2);               /* draft quic: unsupported code */
	pb_put_bytes(&b, 4, "\x06", 1);                   /* observed: truncated */
	struct identify_info info;
	char why[128] = "";
	struct identify_limits l = limits();
	assert_int_equal(identify_msg_decode(b.p, b.n, &l, &info, why, sizeof why), 0);
	assert_true(info.has_listen_addrs);
	assert_int_equal(info.n_listen_addrs, 1);
	assert_true(multiaddr_equal(&info.listen_addrs[0], &good));
	assert_int_equal(info.skipped_listen_addrs, 4);
	assert_false(info.has_observed_addr);
	assert_true(info.skipped_observed_addr);
	identify_info_free(&info);
	aa_buf_free(&b);
	multiaddr_free(&good);
}

static void test_identify_skips_unparseable_record_addresses(void **state)
{
	struct p2p_keypair kp = key_from(0x31);
	struct p2p_peer_id id;
	p2p_peer_id_from_public_key(kp.public_key, &id);
	struct aa_buf rec, env;
	aa_buf_init(&rec);
	aa_buf_init(&env);
	pb_put_bytes(&rec, 1, id.bytes, id.len);
	pb_put_uint64(&rec, 2, 5);
	struct aa_buf info_bytes;
	aa_buf_init(&info_bytes);
	pb_put_bytes(&info_bytes, 1, "\x04\x01\x02\x03\x04\x06\x00\x50", 8);
	pb_put_bytes(&rec, 3, info_bytes.p, info_bytes.n);
	aa_buf_reset(&info_bytes);
	pb_put_bytes(&info_bytes, 1, "\x99", 1);
	pb_put_bytes(&rec, 3, info_bytes.p, info_bytes.n);
	pb_put_bytes(&rec, 3, "", 0); /* AddressInfo without a multiaddr */
	p2p_envelope_seal(&kp, P2P_PEER_RECORD_DOMAIN, aa_slice_make("\x03\x01", 2),
			  aa_slice_make(rec.p, rec.n), &env);
	struct p2p_peer_record r;
	assert_int_equal(p2p_peer_record_open(env.p, env.n, 16, &r, NULL, 0), 0);
	assert_true(r.seq == 5);
	assert_int_equal(r.n_addrs, 1);
	assert_int_equal(r.skipped_addrs, 2);
	p2p_peer_record_free(&r);
	aa_buf_free(&info_bytes);
	aa_buf_free(&rec);
	aa_buf_free(&env);
}

/* ---- signed peer records --------------------------------------------------------------- */

static void seal_fixture_record(struct aa_buf *env, const struct p2p_keypair *kp)
{
	struct multiaddr a = ma("/ip4/192.0.2.7/tcp/4001");
	p2p_peer_record_seal(kp, 9, &a, 1, env);
	multiaddr_free(&a);
}

static void test_peer_record_opens_when_valid(void **state)
{
	struct p2p_keypair kp = key_from(0x41);
	struct aa_buf env;
	aa_buf_init(&env);
	seal_fixture_record(&env, &kp);
	struct p2p_peer_record r;
	char why[96] = "unset";
	assert_int_equal(p2p_peer_record_open(env.p, env.n, 16, &r, why, sizeof why), 0);
	struct p2p_peer_id id;
	p2p_peer_id_from_public_key(kp.public_key, &id);
	assert_true(p2p_peer_id_equal(&r.peer_id, &id));
	assert_true(r.seq == 9);
	assert_int_equal(r.n_addrs, 1);
	p2p_peer_record_free(&r);
	aa_buf_free(&env);
}

static void test_peer_record_rejects_tampered_payload(void **state)
{
	struct p2p_keypair kp = key_from(0x42);
	struct aa_buf env;
	aa_buf_init(&env);
	seal_fixture_record(&env, &kp);
	struct p2p_envelope e;
	assert_int_equal(p2p_envelope_parse(env.p, env.n, &e), 0);
	/* Change the last address byte (the low port byte) inside the signed payload. */
	size_t at = (size_t)(e.payload.p - env.p) + e.payload.n - 1;
	env.p[at] ^= 0x01;
	struct p2p_peer_record r;
	char why[96];
	assert_int_equal(p2p_peer_record_open(env.p, env.n, 16, &r, why, sizeof why), AA_ECRYPTO);
	assert_non_null(strstr(why, "signature"));
	assert_null(r.addrs);
	aa_buf_free(&env);
}

static void test_peer_record_rejects_wrong_domain(void **state)
{
	struct p2p_keypair kp = key_from(0x43);
	struct p2p_peer_id id;
	p2p_peer_id_from_public_key(kp.public_key, &id);
	struct aa_buf rec, env;
	aa_buf_init(&rec);
	aa_buf_init(&env);
	p2p_peer_record_encode(&id, 1, NULL, 0, &rec);
	/* RFC 0003's original domain string, which no implementation uses. */
	p2p_envelope_seal(&kp, "libp2p-routing-state", aa_slice_make("\x03\x01", 2),
			  aa_slice_make(rec.p, rec.n), &env);
	struct p2p_peer_record r;
	assert_int_equal(p2p_peer_record_open(env.p, env.n, 16, &r, NULL, 0), AA_ECRYPTO);
	struct p2p_envelope e;
	assert_int_equal(p2p_envelope_parse(env.p, env.n, &e), 0);
	assert_int_equal(p2p_envelope_verify(&e, "libp2p-routing-state"), 0);
	assert_int_equal(p2p_envelope_verify(&e, P2P_PEER_RECORD_DOMAIN), AA_ECRYPTO);
	aa_buf_free(&rec);
	aa_buf_free(&env);
}

static void test_peer_record_rejects_wrong_payload_type(void **state)
{
	struct p2p_keypair kp = key_from(0x44);
	struct p2p_peer_id id;
	p2p_peer_id_from_public_key(kp.public_key, &id);
	struct aa_buf rec, env;
	aa_buf_init(&rec);
	aa_buf_init(&env);
	p2p_peer_record_encode(&id, 1, NULL, 0, &rec);
	/* 0x0301 as a uvarint: a plausible mistake that go and js would not accept either. */
	p2p_envelope_seal(&kp, P2P_PEER_RECORD_DOMAIN, aa_slice_make("\x81\x06", 2),
			  aa_slice_make(rec.p, rec.n), &env);
	struct p2p_peer_record r;
	char why[96];
	assert_int_equal(p2p_peer_record_open(env.p, env.n, 16, &r, why, sizeof why), AA_EPROTO);
	assert_non_null(strstr(why, "payload type"));
	aa_buf_free(&rec);
	aa_buf_free(&env);
}

static void test_peer_record_rejects_peer_id_not_of_signer(void **state)
{
	struct p2p_keypair signer = key_from(0x45), other = key_from(0x46);
	struct p2p_peer_id other_id;
	p2p_peer_id_from_public_key(other.public_key, &other_id);
	struct aa_buf rec, env;
	aa_buf_init(&rec);
	aa_buf_init(&env);
	p2p_peer_record_encode(&other_id, 1, NULL, 0, &rec);
	p2p_envelope_seal(&signer, P2P_PEER_RECORD_DOMAIN, aa_slice_make("\x03\x01", 2),
			  aa_slice_make(rec.p, rec.n), &env);
	struct p2p_peer_record r;
	char why[96];
	assert_int_equal(p2p_peer_record_open(env.p, env.n, 16, &r, why, sizeof why), AA_EPROTO);
	assert_non_null(strstr(why, "signer"));
	assert_int_equal(r.peer_id.len, 0);
	aa_buf_free(&rec);
	aa_buf_free(&env);
}

static void test_peer_record_rejects_envelope_key_that_did_not_sign(void **state)
{
	struct p2p_keypair signer = key_from(0x47), other = key_from(0x48);
	struct aa_buf env;
	aa_buf_init(&env);
	seal_fixture_record(&env, &signer);
	struct p2p_envelope e;
	assert_int_equal(p2p_envelope_parse(env.p, env.n, &e), 0);
	/* Rebuild the envelope around the other key, keeping the signer's signature. */
	uint8_t key[36];
	p2p_public_key_marshal(other.public_key, key);
	struct aa_buf forged;
	aa_buf_init(&forged);
	pb_put_bytes(&forged, 1, key, sizeof key);
	pb_put_bytes(&forged, 2, e.payload_type.p, e.payload_type.n);
	pb_put_bytes(&forged, 3, e.payload.p, e.payload.n);
	pb_put_bytes(&forged, 5, e.signature.p, e.signature.n);
	struct p2p_peer_record r;
	assert_int_equal(p2p_peer_record_open(forged.p, forged.n, 16, &r, NULL, 0), AA_ECRYPTO);
	aa_buf_free(&forged);
	aa_buf_free(&env);
}

static void test_peer_record_reports_unsupported_signer_key(void **state)
{
	uint8_t key[37] = { 0x08, 0x02, 0x12, 0x21, 0x03 };
	memset(key + 5, 0x77, 32);
	uint8_t sig[64] = { 0 };
	struct aa_buf env;
	aa_buf_init(&env);
	pb_put_bytes(&env, 1, key, sizeof key);
	pb_put_bytes(&env, 2, "\x03\x01", 2);
	pb_put_bytes(&env, 3, "\x0a\x00", 2);
	pb_put_bytes(&env, 5, sig, sizeof sig);
	struct p2p_peer_record r;
	assert_int_equal(p2p_peer_record_open(env.p, env.n, 16, &r, NULL, 0), AA_ENOTSUP);
	aa_buf_free(&env);
}

static void test_envelope_rejects_repeated_or_missing_fields(void **state)
{
	struct p2p_keypair kp = key_from(0x49);
	struct aa_buf env;
	aa_buf_init(&env);
	seal_fixture_record(&env, &kp);
	struct p2p_envelope e;
	/* A second payload after a valid envelope. */
	struct aa_buf twice;
	aa_buf_init(&twice);
	aa_buf_append(&twice, env.p, env.n);
	pb_put_bytes(&twice, 3, "x", 1);
	assert_int_equal(p2p_envelope_parse(twice.p, twice.n, &e), AA_EINVAL);
	/* No signature. */
	assert_int_equal(p2p_envelope_parse(env.p, env.n - 66, &e), AA_EINVAL);
	/* Garbage. */
	assert_int_equal(p2p_envelope_parse((const uint8_t *)"\x0a\x05", 2, &e), AA_EINVAL);
	aa_buf_free(&twice);
	aa_buf_free(&env);
}

static void test_identify_record_for_other_key_is_not_verified(void **state)
{
	/* publicKey says B, the signed record is A's (validly signed by A). */
	struct p2p_keypair a = key_from(0x51), b = key_from(0x52);
	struct aa_buf env, msg;
	aa_buf_init(&env);
	aa_buf_init(&msg);
	seal_fixture_record(&env, &a);
	uint8_t key[36];
	p2p_public_key_marshal(b.public_key, key);
	pb_put_bytes(&msg, 1, key, sizeof key);
	pb_put_bytes(&msg, 8, env.p, env.n);
	struct identify_info info;
	assert_int_equal(decode(&msg, &info), 0);
	assert_non_null(info.signed_record);
	assert_int_equal(info.record_status, AA_EPROTO);
	assert_false(identify_info_has_verified_record(&info));
	assert_non_null(strstr(info.record_error, "another peer"));
	assert_int_equal(info.record.n_addrs, 0);
	identify_info_free(&info);
	aa_buf_free(&env);
	aa_buf_free(&msg);
}

static void test_identify_bad_record_does_not_fail_message(void **state)
{
	struct fixture fx;
	fixture_init(&fx);
	struct aa_buf b;
	aa_buf_init(&b);
	identify_msg_encode(&fx.a, &b);
	b.p[b.n - 1] ^= 0x80; /* last byte of the envelope's signature */
	struct identify_info info;
	assert_int_equal(decode(&b, &info), 0);
	assert_int_equal(info.record_status, AA_ECRYPTO);
	assert_false(identify_info_has_verified_record(&info));
	assert_int_equal(info.n_listen_addrs, 2); /* go falls back to these */
	identify_info_free(&info);
	aa_buf_free(&b);
	fixture_free(&fx);
}

/* ---- limits ---------------------------------------------------------------------------- */

static void test_identify_rejects_message_over_limit(void **state)
{
	struct identify_limits l = limits();
	l.max_total_bytes = 16;
	struct aa_buf b;
	aa_buf_init(&b);
	pb_put_bytes(&b, 6, "0123456789abcdef", 16);
	struct identify_info info;
	char why[96];
	assert_int_equal(identify_msg_decode(b.p, b.n, &l, &info, why, sizeof why), AA_ETOOBIG);
	assert_null(info.agent_version);
	aa_buf_free(&b);
}

static void test_identify_drops_addresses_and_protocols_over_limit(void **state)
{
	struct identify_limits l = limits();
	l.max_addrs = 3;
	l.max_protocols = 2;
	struct aa_buf b;
	aa_buf_init(&b);
	for (int i = 0; i < 5; i++) {
		uint8_t a[] = { 0x04, 10, 0, 0, (uint8_t)i, 0x06, 0x0f, 0xa1 };
		pb_put_bytes(&b, 2, a, sizeof a);
		pb_put_bytes(&b, 3, "/p/1", 4);
	}
	struct identify_info info;
	assert_int_equal(identify_msg_decode(b.p, b.n, &l, &info, NULL, 0), 0);
	assert_int_equal(info.n_listen_addrs, 3);
	assert_int_equal(info.dropped_listen_addrs, 2);
	assert_int_equal(info.listen_addrs[2].bytes[4], 2);
	assert_int_equal(info.n_protocols, 2);
	assert_int_equal(info.dropped_protocols, 3);
	identify_info_free(&info);
	aa_buf_free(&b);
}

static void test_identify_skips_unusable_protocols(void **state)
{
	struct identify_limits l = limits();
	l.max_protocol_bytes = 8;
	struct aa_buf b;
	aa_buf_init(&b);
	pb_put_bytes(&b, 3, "", 0);
	pb_put_bytes(&b, 3, "/toolong/1.0", 12);
	pb_put_bytes(&b, 3, "/a\0b", 4);
	pb_put_bytes(&b, 3, "/ok/1", 5);
	struct identify_info info;
	assert_int_equal(identify_msg_decode(b.p, b.n, &l, &info, NULL, 0), 0);
	assert_int_equal(info.n_protocols, 1);
	assert_string_equal(info.protocols[0], "/ok/1");
	assert_int_equal(info.skipped_protocols, 3);
	identify_info_free(&info);
	aa_buf_free(&b);
}

static void expect_rejected(const struct aa_buf *b, const struct identify_limits *l, int err,
			    const char *why_part)
{
	struct identify_info info;
	char why[128] = "";
	assert_int_equal(identify_msg_decode(b->p, b->n, l, &info, why, sizeof why), err);
	assert_non_null(strstr(why, why_part));
	assert_null(info.protocols);
	assert_null(info.listen_addrs);
}

static void test_identify_rejects_bad_version_strings(void **state)
{
	struct identify_limits l = limits();
	l.max_string_bytes = 10;
	struct aa_buf b;
	aa_buf_init(&b);
	pb_put_bytes(&b, 3, "/p/1", 4);
	pb_put_bytes(&b, 6, "12345678901", 11);
	expect_rejected(&b, &l, AA_EPROTO, "agentVersion");
	aa_buf_reset(&b);
	pb_put_bytes(&b, 3, "/p/1", 4);
	pb_put_bytes(&b, 5, "ipfs\0", 5);
	expect_rejected(&b, &l, AA_EPROTO, "protocolVersion");
	aa_buf_free(&b);
}

static void test_identify_rejects_malformed_protobuf(void **state)
{
	struct identify_limits l = limits();
	struct aa_buf b;
	aa_buf_init(&b);
	pb_put_bytes(&b, 3, "/p/1", 4);
	pb_put_uint64(&b, 6, 5); /* agentVersion as a varint */
	expect_rejected(&b, &l, AA_EPROTO, "wire type");
	aa_buf_reset(&b);
	pb_put_bytes(&b, 3, "/p/1", 4);
	aa_buf_append(&b, "\x1a\x05/p", 4); /* length past the end */
	expect_rejected(&b, &l, AA_EPROTO, "malformed");
	aa_buf_reset(&b);
	aa_buf_append(&b, "\x1b\x00", 2); /* a group */
	expect_rejected(&b, &l, AA_EPROTO, "malformed");
	aa_buf_reset(&b);
	aa_buf_append(&b, "\x02\x00", 2); /* field number 0 */
	expect_rejected(&b, &l, AA_EPROTO, "malformed");
	aa_buf_free(&b);
}

static void test_identify_rejects_bad_public_key(void **state)
{
	struct identify_limits l = limits();
	struct aa_buf b;
	aa_buf_init(&b);
	pb_put_bytes(&b, 1, "\x08\x01\x12\x03" "abc", 7); /* Ed25519 of 3 bytes */
	expect_rejected(&b, &l, AA_EPROTO, "Ed25519");
	aa_buf_reset(&b);
	pb_put_bytes(&b, 1, "junk", 4);
	expect_rejected(&b, &l, AA_EPROTO, "publicKey");
	/* A well-formed key longer than the limit. */
	uint8_t key[37] = { 0x08, 0x02, 0x12, 0x21, 0x02 };
	aa_buf_reset(&b);
	pb_put_bytes(&b, 1, key, sizeof key);
	l.max_public_key_bytes = 36;
	expect_rejected(&b, &l, AA_EPROTO, "publicKey");
	aa_buf_free(&b);
}

/* ---- writing frames -------------------------------------------------------------------- */

static void test_identify_write_small_message_is_one_frame(void **state)
{
	struct fixture fx;
	fixture_init(&fx);
	struct aa_buf framed, payload, expect;
	aa_buf_init(&framed);
	aa_buf_init(&payload);
	aa_buf_init(&expect);
	size_t left_out = 99;
	assert_int_equal(identify_msg_write(&fx.a, &framed, &left_out), 0);
	assert_int_equal(left_out, 0);
	unsigned frames;
	unframe(&framed, &payload, &frames);
	assert_int_equal(frames, 1);
	identify_msg_encode(&fx.a, &expect); /* Ed25519 signatures are deterministic */
	assert_int_equal(payload.n, expect.n);
	assert_memory_equal(payload.p, expect.p, expect.n);
	aa_buf_free(&framed);
	aa_buf_free(&payload);
	aa_buf_free(&expect);
	fixture_free(&fx);
}

static const char *const *many_protocols(size_t n, size_t len)
{
	char **p = calloc(n, sizeof *p);
	for (size_t i = 0; i < n; i++) {
		p[i] = calloc(len + 1, 1);
		snprintf(p[i], len + 1, "/proto-%04zu/", i);
		memset(p[i] + strlen(p[i]), 'x', len - strlen(p[i]));
	}
	return (const char *const *)p;
}

static void free_protocols(const char *const *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((void *)p[i]);
	free((void *)p);
}

static void test_identify_write_puts_record_in_second_frame_when_large(void **state)
{
	struct fixture fx;
	fixture_init(&fx);
	fx.a.protocols = many_protocols(70, 30);
	fx.a.n_protocols = 70;
	struct aa_buf framed, payload;
	aa_buf_init(&framed);
	aa_buf_init(&payload);
	assert_int_equal(identify_msg_write(&fx.a, &framed, NULL), 0);
	unsigned frames;
	unframe(&framed, &payload, &frames);
	assert_int_equal(frames, 2);

	/* The second frame holds only the record; merged, the message is whole. */
	struct identify_info info;
	assert_int_equal(decode(&payload, &info), 0);
	assert_int_equal(info.n_protocols, 70);
	assert_int_equal(info.n_listen_addrs, 2);
	assert_true(identify_info_has_verified_record(&info));
	identify_info_free(&info);
	free_protocols(fx.a.protocols, 70);
	aa_buf_free(&framed);
	aa_buf_free(&payload);
	fixture_free(&fx);
}

static void test_identify_write_trims_addresses_to_frame_limit(void **state)
{
	struct fixture fx;
	fixture_init(&fx);
	enum { N = 400 };
	struct multiaddr *addrs = calloc(N, sizeof *addrs);
	for (int i = 0; i < N; i++) {
		char text[64];
		snprintf(text, sizeof text, "/ip4/10.0.%d.%d/tcp/4001", i / 256, i % 256);
		addrs[i] = ma(text);
	}
	fx.a.listen_addrs = addrs;
	fx.a.n_listen_addrs = N;
	struct aa_buf framed, payload;
	aa_buf_init(&framed);
	aa_buf_init(&payload);
	size_t left_out;
	assert_int_equal(identify_msg_write(&fx.a, &framed, &left_out), 0);
	assert_true(left_out > 0 && left_out < N);

	/* Every frame within the limit, and what remains verifies. */
	size_t off = 0;
	while (off < framed.n) {
		uint64_t len;
		off += (size_t)varint_decode(framed.p + off, framed.n - off, &len);
		assert_true(len <= IDENTIFY_SEND_MAX_FRAME_BYTES);
		off += (size_t)len;
	}
	unsigned frames;
	unframe(&framed, &payload, &frames);
	struct identify_limits l = limits();
	l.max_addrs = N;
	struct identify_info info;
	assert_int_equal(identify_msg_decode(payload.p, payload.n, &l, &info, NULL, 0), 0);
	assert_int_equal(info.n_listen_addrs + left_out, N);
	assert_true(identify_info_has_verified_record(&info));
	assert_int_equal(info.record.n_addrs, info.n_listen_addrs);
	assert_true(multiaddr_equal(&info.listen_addrs[0], &addrs[0]));
	identify_info_free(&info);
	for (int i = 0; i < N; i++)
		multiaddr_free(&addrs[i]);
	free(addrs);
	aa_buf_free(&framed);
	aa_buf_free(&payload);
	fixture_free(&fx);
}

static void test_identify_write_refuses_what_cannot_fit(void **state)
{
	struct fixture fx;
	fixture_init(&fx);
	fx.a.protocols = many_protocols(200, 30);
	fx.a.n_protocols = 200;
	struct aa_buf out;
	aa_buf_init(&out);
	assert_int_equal(identify_msg_write(&fx.a, &out, NULL), AA_ETOOBIG);
	free_protocols(fx.a.protocols, 200);
	fx.a.protocols = PROTOCOLS;
	fx.a.n_protocols = 3;
	fx.a.key = NULL;
	assert_int_equal(identify_msg_write(&fx.a, &out, NULL), AA_EINVAL);
	aa_buf_free(&out);
	fixture_free(&fx);
}

/* ---- reading frames -------------------------------------------------------------------- */

static void check_split_everywhere(const struct aa_buf *framed)
{
	struct aa_buf expect;
	aa_buf_init(&expect);
	unsigned want_frames;
	unframe(framed, &expect, &want_frames);
	struct identify_limits l = limits();
	for (size_t cut = 0; cut <= framed->n; cut++) {
		struct identify_reader r;
		identify_reader_init(&r, &l);
		unsigned frames = 0;
		assert_int_equal(feed_all(&r, framed->p, cut, &frames), 0);
		assert_int_equal(feed_all(&r, framed->p + cut, framed->n - cut, &frames), 0);
		assert_int_equal(frames, want_frames);
		struct aa_slice msg;
		assert_int_equal(identify_reader_finish(&r, &msg), 0);
		assert_int_equal(msg.n, expect.n);
		assert_memory_equal(msg.p, expect.p, expect.n);
		identify_reader_free(&r);
	}
	/* And one byte at a time. */
	struct identify_reader r;
	identify_reader_init(&r, &l);
	unsigned frames = 0;
	for (size_t i = 0; i < framed->n; i++)
		assert_int_equal(feed_all(&r, framed->p + i, 1, &frames), 0);
	assert_int_equal(frames, want_frames);
	struct aa_slice msg;
	assert_int_equal(identify_reader_finish(&r, &msg), 0);
	assert_memory_equal(msg.p, expect.p, expect.n);
	identify_reader_free(&r);
	aa_buf_free(&expect);
}

static void test_identify_reader_reassembles_split_at_every_byte(void **state)
{
	struct fixture fx;
	fixture_init(&fx);
	struct aa_buf framed;
	aa_buf_init(&framed);
	assert_int_equal(identify_msg_write(&fx.a, &framed, NULL), 0);
	check_split_everywhere(&framed);

	/* Two frames, with a length varint of two bytes each. */
	aa_buf_reset(&framed);
	fx.a.protocols = many_protocols(70, 30);
	fx.a.n_protocols = 70;
	assert_int_equal(identify_msg_write(&fx.a, &framed, NULL), 0);
	check_split_everywhere(&framed);
	free_protocols(fx.a.protocols, 70);

	/* Empty frames count as frames. */
	aa_buf_reset(&framed);
	aa_buf_append(&framed, "\x00\x00\x02\x32\x00", 5);
	check_split_everywhere(&framed);
	aa_buf_free(&framed);
	fixture_free(&fx);
}

static void test_identify_reader_returns_each_frame(void **state)
{
	struct identify_limits l = limits();
	struct identify_reader r;
	identify_reader_init(&r, &l);
	const uint8_t in[] = { 0x02, 0x32, 0x00, 0x03, 0x2a, 0x01, 'p', 0x01 };
	size_t used;
	struct aa_slice f;
	assert_int_equal(identify_reader_feed(&r, in, sizeof in, &used, &f), 1);
	assert_int_equal(used, 3);
	assert_int_equal(f.n, 2);
	assert_memory_equal(f.p, "\x32\x00", 2);
	assert_int_equal(identify_reader_feed(&r, in + 3, sizeof in - 3, &used, &f), 1);
	assert_int_equal(used, 4);
	assert_memory_equal(f.p, "\x2a\x01p", 3);
	assert_int_equal(identify_reader_feed(&r, in + 7, 1, &used, &f), 0);
	assert_int_equal(used, 1);
	struct aa_slice msg;
	assert_int_equal(identify_reader_finish(&r, &msg), AA_ETRUNC); /* mid-frame */
	identify_reader_free(&r);
}

static void test_identify_reader_rejects_oversized_length(void **state)
{
	struct identify_limits l = limits();
	l.max_frame_bytes = 300;
	struct identify_reader r;
	identify_reader_init(&r, &l);
	const uint8_t in[] = { 0xad, 0x02 }; /* 301 */
	size_t used;
	assert_int_equal(identify_reader_feed(&r, in, 1, &used, NULL), 0);
	assert_int_equal(identify_reader_feed(&r, in + 1, 1, &used, NULL), AA_ETOOBIG);
	/* Sticky. */
	assert_int_equal(identify_reader_feed(&r, in, 1, &used, NULL), AA_ETOOBIG);
	assert_int_equal(used, 0);
	struct aa_slice msg;
	assert_int_equal(identify_reader_finish(&r, &msg), AA_ETOOBIG);
	identify_reader_free(&r);

	/* Exactly the limit is fine. */
	identify_reader_init(&r, &l);
	const uint8_t ok[] = { 0xac, 0x02 };
	assert_int_equal(identify_reader_feed(&r, ok, 2, &used, NULL), 0);
	identify_reader_free(&r);
}

static void test_identify_reader_rejects_total_over_limit(void **state)
{
	struct identify_limits l = limits();
	l.max_total_bytes = 4;
	struct identify_reader r;
	identify_reader_init(&r, &l);
	unsigned frames = 0;
	assert_int_equal(feed_all(&r, (const uint8_t *)"\x03\x32\x01x", 4, &frames), 0);
	assert_int_equal(feed_all(&r, (const uint8_t *)"\x02", 1, &frames), AA_ETOOBIG);
	identify_reader_free(&r);
}

static void test_identify_reader_rejects_too_many_frames(void **state)
{
	struct identify_limits l = limits();
	struct identify_reader r;
	identify_reader_init(&r, &l);
	uint8_t zeros[11] = { 0 };
	unsigned frames = 0;
	assert_int_equal(feed_all(&r, zeros, 10, &frames), 0);
	assert_int_equal(frames, 10);
	assert_int_equal(feed_all(&r, zeros + 10, 1, &frames), AA_EPROTO);
	identify_reader_free(&r);
}

static void test_identify_reader_rejects_bad_length_varint(void **state)
{
	struct identify_limits l = limits();
	struct identify_reader r;
	identify_reader_init(&r, &l);
	unsigned frames = 0;
	/* Non-minimal (overlong) length, which the unsigned-varint spec forbids. */
	assert_int_equal(feed_all(&r, (const uint8_t *)"\x81\x00", 2, &frames), AA_EPROTO);
	identify_reader_free(&r);
}

static void test_identify_reader_finish_needs_a_frame(void **state)
{
	struct identify_limits l = limits();
	struct identify_reader r;
	identify_reader_init(&r, &l);
	struct aa_slice msg;
	assert_int_equal(identify_reader_finish(&r, &msg), AA_EPROTO);
	size_t used;
	assert_int_equal(identify_reader_feed(&r, (const uint8_t *)"\x80", 1, &used, NULL), 0);
	assert_int_equal(identify_reader_finish(&r, &msg), AA_ETRUNC); /* mid-header */
	identify_reader_free(&r);
}

static void test_identify_frames_merge_like_protobuf(void **state)
{
	struct aa_buf m1, m2, framed;
	aa_buf_init(&m1);
	aa_buf_init(&m2);
	aa_buf_init(&framed);
	pb_put_bytes(&m1, 6, "a/1", 3);
	pb_put_bytes(&m1, 2, "\x04\x0a\x00\x00\x01\x06\x0f\xa1", 8);
	pb_put_bytes(&m1, 3, "/x/1", 4);
	pb_put_bytes(&m2, 6, "b/2", 3);
	pb_put_bytes(&m2, 2, "\x04\x0a\x00\x00\x02\x06\x0f\xa1", 8);
	frame(&framed, &m1);
	frame(&framed, &m2);
	struct identify_limits l = limits();
	struct identify_reader r;
	identify_reader_init(&r, &l);
	unsigned frames = 0;
	assert_int_equal(feed_all(&r, framed.p, framed.n, &frames), 0);
	struct aa_slice msg;
	assert_int_equal(identify_reader_finish(&r, &msg), 0);
	struct identify_info info;
	assert_int_equal(identify_msg_decode(msg.p, msg.n, &l, &info, NULL, 0), 0);
	assert_string_equal(info.agent_version, "b/2");
	assert_int_equal(info.n_listen_addrs, 2);
	assert_int_equal(info.listen_addrs[1].bytes[4], 2);
	assert_int_equal(info.n_protocols, 1);
	identify_info_free(&info);
	identify_reader_free(&r);
	aa_buf_free(&m1);
	aa_buf_free(&m2);
	aa_buf_free(&framed);
}

/* ---- identify push --------------------------------------------------------------------- */

static void decode_announce(const struct identify_announce *a, struct identify_info *info)
{
	struct aa_buf b;
	aa_buf_init(&b);
	identify_msg_encode(a, &b);
	assert_int_equal(decode(&b, info), 0);
	aa_buf_free(&b);
}

static void test_identify_push_replaces_only_present_fields(void **state)
{
	struct fixture fx;
	fixture_init(&fx);
	struct identify_info cur, upd;
	decode_announce(&fx.a, &cur);

	const char *const protos[] = { "/new/1.0.0" };
	struct identify_announce push = { .protocols = protos, .n_protocols = 1 };
	decode_announce(&push, &upd);
	identify_info_merge(&cur, &upd);
	identify_info_free(&upd);
	assert_int_equal(cur.n_protocols, 1);
	assert_string_equal(cur.protocols[0], "/new/1.0.0");
	assert_string_equal(cur.agent_version, "agentanycastd/0.1.0");
	assert_int_equal(cur.n_listen_addrs, 2);
	assert_true(cur.has_observed_addr);
	assert_non_null(cur.public_key);
	assert_true(identify_info_has_verified_record(&cur));

	struct multiaddr one = ma("/ip4/203.0.113.5/tcp/4001");
	struct identify_announce push2 = { .listen_addrs = &one, .n_listen_addrs = 1,
					   .agent_version = "agentanycastd/0.2.0" };
	decode_announce(&push2, &upd);
	identify_info_merge(&cur, &upd);
	identify_info_free(&upd);
	assert_int_equal(cur.n_listen_addrs, 1);
	assert_true(multiaddr_equal(&cur.listen_addrs[0], &one));
	assert_string_equal(cur.agent_version, "agentanycastd/0.2.0");
	assert_int_equal(cur.n_protocols, 1);
	multiaddr_free(&one);
	identify_info_free(&cur);
	fixture_free(&fx);
}

static void test_identify_push_takes_only_newer_verified_records(void **state)
{
	struct fixture fx;
	fixture_init(&fx);
	struct identify_info cur, upd;
	fx.a.record_seq = 100;
	decode_announce(&fx.a, &cur);

	/* Older seq: ignored. */
	fx.a.record_seq = 99;
	fx.a.n_listen_addrs = 1;
	decode_announce(&fx.a, &upd);
	identify_info_merge(&cur, &upd);
	identify_info_free(&upd);
	assert_true(cur.record.seq == 100);
	assert_int_equal(cur.record.n_addrs, 2);

	/* Newer seq but a broken signature: ignored. */
	fx.a.record_seq = 101;
	struct aa_buf b;
	aa_buf_init(&b);
	identify_msg_encode(&fx.a, &b);
	b.p[b.n - 1] ^= 1;
	assert_int_equal(decode(&b, &upd), 0);
	identify_info_merge(&cur, &upd);
	identify_info_free(&upd);
	aa_buf_free(&b);
	assert_true(cur.record.seq == 100);

	/* Newer and valid: taken. */
	decode_announce(&fx.a, &upd);
	identify_info_merge(&cur, &upd);
	identify_info_free(&upd);
	assert_true(cur.record.seq == 101);
	assert_int_equal(cur.record.n_addrs, 1);
	assert_true(identify_info_has_verified_record(&cur));
	identify_info_free(&cur);
	fixture_free(&fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identify_round_trip_keeps_every_field),
		cmocka_unit_test(test_identify_decodes_hand_built_bytes),
		cmocka_unit_test(test_identify_encodes_hand_built_bytes_exactly),
		cmocka_unit_test(test_identify_encoding_parses_with_protobuf_c),
		cmocka_unit_test(test_identify_decodes_protobuf_c_message),
		cmocka_unit_test(test_identify_skips_unknown_fields),
		cmocka_unit_test(test_identify_empty_message_is_valid_and_empty),
		cmocka_unit_test(test_identify_accepts_non_ed25519_public_key),
		cmocka_unit_test(test_identify_last_singular_field_wins),
		cmocka_unit_test(test_identify_skips_unparseable_addresses),
		cmocka_unit_test(test_identify_skips_unparseable_record_addresses),
		cmocka_unit_test(test_peer_record_opens_when_valid),
		cmocka_unit_test(test_peer_record_rejects_tampered_payload),
		cmocka_unit_test(test_peer_record_rejects_wrong_domain),
		cmocka_unit_test(test_peer_record_rejects_wrong_payload_type),
		cmocka_unit_test(test_peer_record_rejects_peer_id_not_of_signer),
		cmocka_unit_test(test_peer_record_rejects_envelope_key_that_did_not_sign),
		cmocka_unit_test(test_peer_record_reports_unsupported_signer_key),
		cmocka_unit_test(test_envelope_rejects_repeated_or_missing_fields),
		cmocka_unit_test(test_identify_record_for_other_key_is_not_verified),
		cmocka_unit_test(test_identify_bad_record_does_not_fail_message),
		cmocka_unit_test(test_identify_rejects_message_over_limit),
		cmocka_unit_test(test_identify_drops_addresses_and_protocols_over_limit),
		cmocka_unit_test(test_identify_skips_unusable_protocols),
		cmocka_unit_test(test_identify_rejects_bad_version_strings),
		cmocka_unit_test(test_identify_rejects_malformed_protobuf),
		cmocka_unit_test(test_identify_rejects_bad_public_key),
		cmocka_unit_test(test_identify_write_small_message_is_one_frame),
		cmocka_unit_test(test_identify_write_puts_record_in_second_frame_when_large),
		cmocka_unit_test(test_identify_write_trims_addresses_to_frame_limit),
		cmocka_unit_test(test_identify_write_refuses_what_cannot_fit),
		cmocka_unit_test(test_identify_reader_reassembles_split_at_every_byte),
		cmocka_unit_test(test_identify_reader_returns_each_frame),
		cmocka_unit_test(test_identify_reader_rejects_oversized_length),
		cmocka_unit_test(test_identify_reader_rejects_total_over_limit),
		cmocka_unit_test(test_identify_reader_rejects_too_many_frames),
		cmocka_unit_test(test_identify_reader_rejects_bad_length_varint),
		cmocka_unit_test(test_identify_reader_finish_needs_a_frame),
		cmocka_unit_test(test_identify_frames_merge_like_protobuf),
		cmocka_unit_test(test_identify_push_replaces_only_present_fields),
		cmocka_unit_test(test_identify_push_takes_only_newer_verified_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
