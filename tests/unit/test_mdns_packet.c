/* Unit tests for p2p/mdns_packet: the libp2p mDNS query and response on the wire (libp2p
 * specs discovery/mdns.md, RFC 6762), what go-libp2p/zeroconf and js-libp2p need to find us,
 * parsing of what they send (a packet captured from js-libp2p @libp2p/mdns is in the fuzz
 * corpus), and the bounds on untrusted packets. Test packets are written as zone-file text
 * and encoded with ldns. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>
#include <ldns/ldns.h>

#include "base/err.h"
#include "p2p/keys.h"
#include "p2p/mdns_packet.h"

#define INSTANCE "abcdefghijklmnopqrstuvwxyz012345"
#define PEER_ED "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"
#define PEER_QM "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"

/* ---- helpers ------------------------------------------------------------------------ */

static struct p2p_peer_id our_id(char text[P2P_PEER_ID_STRING_MAX])
{
	uint8_t seed[P2P_ED25519_SEED_BYTES] = { 42 };
	struct p2p_keypair kp;
	p2p_keypair_from_seed(seed, &kp);
	struct p2p_peer_id id;
	p2p_peer_id_from_public_key(kp.public_key, &id);
	if (text)
		assert_true(p2p_peer_id_to_string(&id, text, P2P_PEER_ID_STRING_MAX) > 0);
	return id;
}

static struct multiaddr ma(const char *text)
{
	struct multiaddr m;
	if (multiaddr_parse(text, &m, NULL) != 0)
		fail_msg("bad test multiaddr %s", text);
	return m;
}

static void free_addrs(struct multiaddr *addrs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		multiaddr_free(&addrs[i]);
}

static void push_text_rrs(ldns_pkt *pkt, ldns_pkt_section section, const char *const *rrs)
{
	for (; rrs && *rrs; rrs++) {
		ldns_rr *rr = NULL;
		ldns_status st = section == LDNS_SECTION_QUESTION
					 ? ldns_rr_new_question_frm_str(&rr, *rrs, NULL, NULL)
					 : ldns_rr_new_frm_str(&rr, *rrs, MDNS_TTL, NULL, NULL);
		if (st != LDNS_STATUS_OK)
			fail_msg("bad test record %s", *rrs);
		assert_true(ldns_pkt_push_rr(pkt, section, rr));
	}
}

/* A packet from zone-file text: questions, answers, additionals (NULL-terminated lists). */
static uint8_t *packet(bool response, const char *const *qs, const char *const *an,
		       const char *const *ar, size_t *n)
{
	ldns_pkt *pkt = ldns_pkt_new();
	ldns_pkt_set_id(pkt, 0);
	ldns_pkt_set_qr(pkt, response);
	push_text_rrs(pkt, LDNS_SECTION_QUESTION, qs);
	push_text_rrs(pkt, LDNS_SECTION_ANSWER, an);
	push_text_rrs(pkt, LDNS_SECTION_ADDITIONAL, ar);
	uint8_t *wire = NULL;
	assert_int_equal(ldns_pkt2wire(&wire, pkt, n), LDNS_STATUS_OK);
	ldns_pkt_free(pkt);
	return wire;
}

static uint8_t *our_response(const struct multiaddr *addrs, size_t n_addrs, size_t *len)
{
	struct p2p_peer_id id = our_id(NULL);
	struct mdns_response_params p = {
		.instance = INSTANCE, .peer = &id, .addrs = addrs, .n_addrs = n_addrs
	};
	uint8_t *wire = NULL;
	assert_int_equal(mdns_packet_build_response(&p, &wire, len), 0);
	return wire;
}

static ldns_pkt *decode(const uint8_t *wire, size_t len)
{
	ldns_pkt *pkt = NULL;
	assert_int_equal(ldns_wire2pkt(&pkt, wire, len), LDNS_STATUS_OK);
	return pkt;
}

static char *rdf_text(const ldns_rdf *rdf)
{
	char *s = ldns_rdf2str(rdf);
	assert_non_null(s);
	return s;
}

static void assert_addr(const struct multiaddr *m, const char *want)
{
	char *s = NULL;
	assert_int_equal(multiaddr_to_string(m, &s), 0);
	assert_string_equal(s, want);
	free(s);
}

static uint8_t *read_corpus(const char *name, size_t *n)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/fuzz/corpus/fuzz_mdns/%s", AA_SOURCE_DIR, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	uint8_t *buf = malloc(MDNS_MAX_PACKET);
	*n = fread(buf, 1, MDNS_MAX_PACKET, f);
	fclose(f);
	return buf;
}

/* ---- instance names ----------------------------------------------------------------- */

static void test_instance_name_is_32_to_63_lowercase_alphanumerics(void **state)
{
	size_t shortest = 64, longest = 0;
	for (int i = 0; i < 500; i++) {
		char name[MDNS_INSTANCE_MAX_LEN + 1];
		mdns_instance_name_generate(name);
		size_t n = strlen(name);
		shortest = n < shortest ? n : shortest;
		longest = n > longest ? n : longest;
		assert_int_equal(strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789"), n);
		assert_true(mdns_instance_name_valid(name));
	}
	assert_true(shortest >= MDNS_INSTANCE_MIN_LEN && longest <= MDNS_INSTANCE_MAX_LEN);
	assert_true(longest > shortest); /* the length varies, as in go-libp2p */
}

static void test_instance_name_validation_rejects_non_labels(void **state)
{
	assert_false(mdns_instance_name_valid(""));
	assert_false(mdns_instance_name_valid("has.dot"));
	assert_false(mdns_instance_name_valid("UPPER"));
	assert_false(mdns_instance_name_valid(
		"0123456789012345678901234567890123456789012345678901234567890123")); /* 64 */
}

/* ---- query -------------------------------------------------------------------------- */

static void test_query_is_one_ptr_question_for_p2p_service(void **state)
{
	/* mdns.md "Request" on RFC 6762 §18: ID 0, no flags, _p2p._udp.local PTR IN. This is
	 * byte for byte what js-libp2p sends (fuzz corpus js_query). */
	static const uint8_t want[] = "\0\0\0\0\0\x01\0\0\0\0\0\0"
				      "\x04_p2p\x04_udp\x05local\0"
				      "\0\x0c\0\x01";
	uint8_t *wire = NULL;
	size_t len = 0;
	assert_int_equal(mdns_packet_build_query(&wire, &len), 0);
	assert_int_equal(len, sizeof want - 1);
	assert_memory_equal(wire, want, len);
	size_t js_len;
	uint8_t *js = read_corpus("js_query", &js_len);
	assert_int_equal(js_len, len);
	assert_memory_equal(js, wire, len);
	free(js);
	free(wire);
}

static void test_parse_recognises_a_peer_query(void **state)
{
	uint8_t *wire;
	size_t len;
	assert_int_equal(mdns_packet_build_query(&wire, &len), 0);
	struct mdns_message m;
	assert_int_equal(mdns_packet_parse(wire, len, INSTANCE, &m), 0);
	assert_false(m.is_response);
	assert_true(m.asks_peers);
	assert_false(m.asks_meta || m.asks_self || m.knows_self || m.wants_unicast);
	mdns_message_free(&m);
	free(wire);
}

static void test_parse_query_name_ignores_case_and_accepts_any_type(void **state)
{
	const char *qs[] = { "_P2P._UDP.Local. IN ANY", NULL };
	size_t len;
	uint8_t *wire = packet(false, qs, NULL, NULL, &len);
	struct mdns_message m;
	assert_int_equal(mdns_packet_parse(wire, len, NULL, &m), 0);
	assert_true(m.asks_peers);
	free(wire);
}

static void test_parse_ignores_questions_for_other_services(void **state)
{
	const char *qs[] = { "_http._tcp.local. IN PTR", "_p2p._udp.local. IN A",
			     "x._p2p._udp.local. IN PTR", NULL };
	size_t len;
	uint8_t *wire = packet(false, qs, NULL, NULL, &len);
	struct mdns_message m;
	assert_int_equal(mdns_packet_parse(wire, len, INSTANCE, &m), 0);
	assert_false(m.asks_peers || m.asks_meta || m.asks_self);
	free(wire);
}

static void test_parse_recognises_meta_and_self_lookups(void **state)
{
	const char *meta[] = { "_services._dns-sd._udp.local. IN PTR", NULL };
	const char *srv[] = { INSTANCE "._p2p._udp.local. IN SRV", NULL };
	const char *host[] = { INSTANCE ".local. IN AAAA", NULL };
	const char *other[] = { "someoneelse0123456789012345678901._p2p._udp.local. IN TXT", NULL };
	const char *const *cases[] = { meta, srv, host, other };
	bool want_meta[] = { true, false, false, false };
	bool want_self[] = { false, true, true, false };
	for (size_t i = 0; i < 4; i++) {
		size_t len;
		uint8_t *wire = packet(false, cases[i], NULL, NULL, &len);
		struct mdns_message m;
		assert_int_equal(mdns_packet_parse(wire, len, INSTANCE, &m), 0);
		assert_int_equal(m.asks_meta, want_meta[i]);
		assert_int_equal(m.asks_self, want_self[i]);
		assert_false(m.asks_peers);
		free(wire);
	}
}

static void test_parse_sees_the_unicast_response_bit(void **state)
{
	uint8_t *wire;
	size_t len;
	assert_int_equal(mdns_packet_build_query(&wire, &len), 0);
	wire[len - 2] |= 0x80; /* RFC 6762 §5.4: top bit of qclass = QU */
	struct mdns_message m;
	assert_int_equal(mdns_packet_parse(wire, len, NULL, &m), 0);
	assert_true(m.asks_peers && m.wants_unicast);
	free(wire);
}

static void test_parse_sees_our_answer_in_the_known_answers(void **state)
{
	/* RFC 6762 §7.1: with at least half the TTL left we need not answer... */
	const char *qs[] = { "_p2p._udp.local. IN PTR", NULL };
	const char *fresh[] = { "_p2p._udp.local. 100 IN PTR " INSTANCE "._p2p._udp.local.", NULL };
	size_t len;
	uint8_t *wire = packet(false, qs, fresh, NULL, &len);
	struct mdns_message m;
	assert_int_equal(mdns_packet_parse(wire, len, INSTANCE, &m), 0);
	assert_true(m.asks_peers && m.knows_self);
	free(wire);
	/* ...with less, or for someone else, we must. */
	const char *stale[] = { "_p2p._udp.local. 59 IN PTR " INSTANCE "._p2p._udp.local.",
				"_p2p._udp.local. 120 IN PTR other._p2p._udp.local.", NULL };
	wire = packet(false, qs, stale, NULL, &len);
	assert_int_equal(mdns_packet_parse(wire, len, INSTANCE, &m), 0);
	assert_true(m.asks_peers);
	assert_false(m.knows_self);
	free(wire);
}

/* ---- response: what we send --------------------------------------------------------- */

static void test_response_has_ptr_answer_and_txt_srv_a_aaaa_additionals(void **state)
{
	char id_text[P2P_PEER_ID_STRING_MAX];
	our_id(id_text);
	struct multiaddr addrs[] = { ma("/ip4/192.168.1.5/tcp/4001"),
				     ma("/ip6/fe80::1/udp/4002/quic-v1") };
	size_t len;
	uint8_t *wire = our_response(addrs, 2, &len);
	ldns_pkt *pkt = decode(wire, len);
	/* RFC 6762 §18: ID 0, QR and AA set, no questions. */
	assert_int_equal(ldns_pkt_id(pkt), 0);
	assert_true(ldns_pkt_qr(pkt) && ldns_pkt_aa(pkt));
	assert_int_equal(ldns_pkt_qdcount(pkt), 0);
	assert_int_equal(ldns_pkt_ancount(pkt), 1);
	assert_int_equal(ldns_pkt_arcount(pkt), 4);

	const ldns_rr *ptr = ldns_rr_list_rr(ldns_pkt_answer(pkt), 0);
	assert_int_equal(ldns_rr_get_type(ptr), LDNS_RR_TYPE_PTR);
	assert_int_equal(ldns_rr_get_class(ptr), LDNS_RR_CLASS_IN); /* shared: no cache-flush */
	assert_int_equal(ldns_rr_ttl(ptr), MDNS_TTL);
	char *s = rdf_text(ldns_rr_owner(ptr));
	assert_string_equal(s, "_p2p._udp.local.");
	free(s);
	s = rdf_text(ldns_rr_rdf(ptr, 0));
	assert_string_equal(s, INSTANCE "._p2p._udp.local.");
	free(s);

	const ldns_rr_list *ar = ldns_pkt_additional(pkt);
	const ldns_rr *txt = ldns_rr_list_rr(ar, 0);
	assert_int_equal(ldns_rr_get_type(txt), LDNS_RR_TYPE_TXT);
	assert_int_equal(ldns_rr_get_class(txt), LDNS_RR_CLASS_IN | 0x8000); /* cache-flush */
	s = rdf_text(ldns_rr_owner(txt));
	assert_string_equal(s, INSTANCE "._p2p._udp.local.");
	free(s);
	/* Both addresses as strings of ONE record (zeroconf keeps only the last TXT record). */
	assert_int_equal(ldns_rr_rd_count(txt), 2);
	char want[512];
	snprintf(want, sizeof want, "\"dnsaddr=/ip4/192.168.1.5/tcp/4001/p2p/%s\"", id_text);
	s = rdf_text(ldns_rr_rdf(txt, 0));
	assert_string_equal(s, want);
	free(s);
	snprintf(want, sizeof want, "\"dnsaddr=/ip6/fe80::1/udp/4002/quic-v1/p2p/%s\"", id_text);
	s = rdf_text(ldns_rr_rdf(txt, 1));
	assert_string_equal(s, want);
	free(s);

	/* SRV to <instance>.local with the first port; A/AAAA for that host (zeroconf needs
	 * one of them to accept the instance). */
	const ldns_rr *srv = ldns_rr_list_rr(ar, 1);
	assert_int_equal(ldns_rr_get_type(srv), LDNS_RR_TYPE_SRV);
	assert_int_equal(ldns_rdf2native_int16(ldns_rr_rdf(srv, 2)), 4001);
	s = rdf_text(ldns_rr_rdf(srv, 3));
	assert_string_equal(s, INSTANCE ".local.");
	free(s);
	const ldns_rr *a = ldns_rr_list_rr(ar, 2);
	assert_int_equal(ldns_rr_get_type(a), LDNS_RR_TYPE_A);
	s = rdf_text(ldns_rr_owner(a));
	assert_string_equal(s, INSTANCE ".local.");
	free(s);
	s = rdf_text(ldns_rr_rdf(a, 0));
	assert_string_equal(s, "192.168.1.5");
	free(s);
	const ldns_rr *aaaa = ldns_rr_list_rr(ar, 3);
	assert_int_equal(ldns_rr_get_type(aaaa), LDNS_RR_TYPE_AAAA);
	s = rdf_text(ldns_rr_rdf(aaaa, 0));
	assert_string_equal(s, "fe80::1");
	free(s);

	ldns_pkt_free(pkt);
	free(wire);
	free_addrs(addrs, 2);
}

static void test_response_round_trips_through_parse(void **state)
{
	struct p2p_peer_id id = our_id(NULL);
	struct multiaddr addrs[] = { ma("/ip4/10.0.0.7/tcp/4001"), ma("/ip6/::1/tcp/4001"),
				     ma("/dns4/printer.local/tcp/9") };
	size_t len;
	uint8_t *wire = our_response(addrs, 3, &len);
	struct mdns_message m;
	assert_int_equal(mdns_packet_parse(wire, len, INSTANCE, &m), 0);
	assert_true(m.is_response);
	assert_int_equal(m.n_peers, 1);
	assert_int_equal(m.n_skipped, 0);
	assert_true(p2p_peer_id_equal(&m.peers[0].id, &id));
	assert_int_equal(m.peers[0].n_addrs, 3);
	for (size_t i = 0; i < 3; i++)
		assert_true(multiaddr_equal(&m.peers[0].addrs[i], &addrs[i]));
	mdns_message_free(&m);
	free(wire);
	free_addrs(addrs, 3);
}

static void test_response_leaves_out_addresses_useless_on_the_link(void **state)
{
	char id_text[P2P_PEER_ID_STRING_MAX];
	our_id(id_text);
	struct multiaddr addrs[] = {
		ma("/ip4/0.0.0.0/tcp/4001"),		     /* unspecified */
		ma("/ip6/::/tcp/4001"),			     /* unspecified */
		ma("/ip4/10.0.0.1/tcp/4001/ws"),	     /* browser transport */
		ma("/ip4/10.0.0.1/udp/1/quic-v1/webtransport"),
		ma("/dns4/example.com/tcp/4001"),	     /* needs unicast DNS */
		ma("/ip4/10.0.0.2/tcp/1/p2p/" PEER_ED "/p2p-circuit"), /* needs a relay */
		ma("/ip4/10.0.0.3/tcp/1/p2p/" PEER_QM),      /* someone else's */
		ma("/ip4/10.0.0.4/tcp/4001"),		     /* the one that stays */
	};
	size_t n = sizeof addrs / sizeof addrs[0];
	size_t len;
	uint8_t *wire = our_response(addrs, n, &len);
	struct mdns_message m;
	assert_int_equal(mdns_packet_parse(wire, len, NULL, &m), 0);
	assert_int_equal(m.n_peers, 1);
	assert_int_equal(m.peers[0].n_addrs, 1);
	assert_addr(&m.peers[0].addrs[0], "/ip4/10.0.0.4/tcp/4001");
	mdns_message_free(&m);
	free(wire);
	free_addrs(addrs, n);
}

static void test_response_accepts_addresses_that_already_end_in_our_id(void **state)
{
	char id_text[P2P_PEER_ID_STRING_MAX], text[256];
	our_id(id_text);
	snprintf(text, sizeof text, "/ip4/10.0.0.1/tcp/4001/p2p/%s", id_text);
	struct multiaddr addrs[] = { ma(text), ma("/ip4/10.0.0.1/tcp/4001") };
	size_t len;
	uint8_t *wire = our_response(addrs, 2, &len);
	ldns_pkt *pkt = decode(wire, len);
	/* The same address twice is announced once, with one /p2p suffix. */
	const ldns_rr *txt = ldns_rr_list_rr(ldns_pkt_additional(pkt), 0);
	assert_int_equal(ldns_rr_rd_count(txt), 1);
	char *s = rdf_text(ldns_rr_rdf(txt, 0));
	char want[300];
	snprintf(want, sizeof want, "\"dnsaddr=%s\"", text);
	assert_string_equal(s, want);
	free(s);
	ldns_pkt_free(pkt);
	free(wire);
	free_addrs(addrs, 2);
}

static void test_response_skips_addresses_whose_txt_string_exceeds_255_bytes(void **state)
{
	/* "dnsaddr=" + "/dns4/<name>.local/tcp/1" + "/p2p/" + id is 8 + 18 + 5 bytes plus the
	 * name and the id: size the name to land on exactly 255, then one more. */
	char id_text[P2P_PEER_ID_STRING_MAX];
	our_id(id_text);
	size_t name_len = 255 - 31 - strlen(id_text);
	char name[256], fits[300], too_long[300];
	memset(name, 'a', name_len + 1);
	name[name_len + 1] = '\0';
	snprintf(too_long, sizeof too_long, "/dns4/%s.local/tcp/1", name);
	name[name_len] = '\0';
	snprintf(fits, sizeof fits, "/dns4/%s.local/tcp/1", name);
	struct multiaddr addrs[] = { ma(too_long), ma(fits) };
	size_t len;
	uint8_t *wire = our_response(addrs, 2, &len);
	ldns_pkt *pkt = decode(wire, len);
	const ldns_rr *txt = ldns_rr_list_rr(ldns_pkt_additional(pkt), 0);
	assert_int_equal(ldns_rr_rd_count(txt), 1);
	assert_int_equal(ldns_rdf_size(ldns_rr_rdf(txt, 0)), 1 + 255);
	/* Without an IP address there is no A/AAAA record, just PTR, TXT and SRV. */
	assert_int_equal(ldns_pkt_arcount(pkt), 2);
	ldns_pkt_free(pkt);
	free(wire);
	free_addrs(addrs, 2);
}

static void test_response_caps_the_number_of_addresses(void **state)
{
	struct multiaddr addrs[40];
	for (int i = 0; i < 40; i++) {
		char text[64];
		snprintf(text, sizeof text, "/ip6/2001:db8::%x/udp/%d/quic-v1", i + 1, 4000 + i);
		addrs[i] = ma(text);
	}
	size_t len;
	uint8_t *wire = our_response(addrs, 40, &len);
	assert_true(len <= MDNS_MAX_PACKET);
	ldns_pkt *pkt = decode(wire, len);
	assert_int_equal(ldns_rr_rd_count(ldns_rr_list_rr(ldns_pkt_additional(pkt), 0)),
			 MDNS_MAX_ADVERTISED_ADDRS);
	ldns_pkt_free(pkt);
	free(wire);
	free_addrs(addrs, 40);
}

static void test_response_without_usable_address_is_enoent(void **state)
{
	struct p2p_peer_id id = our_id(NULL);
	struct multiaddr addrs[] = { ma("/ip4/0.0.0.0/tcp/1") };
	struct mdns_response_params p = { .instance = INSTANCE, .peer = &id, .addrs = addrs,
					  .n_addrs = 1 };
	uint8_t *wire = NULL;
	size_t len;
	assert_int_equal(mdns_packet_build_response(&p, &wire, &len), AA_ENOENT);
	p.n_addrs = 0;
	assert_int_equal(mdns_packet_build_response(&p, &wire, &len), AA_ENOENT);
	p.n_addrs = 1;
	p.instance = "Bad.Name";
	assert_int_equal(mdns_packet_build_response(&p, &wire, &len), AA_EINVAL);
	assert_null(wire);
	free_addrs(addrs, 1);
}

static void test_legacy_response_repeats_id_and_question_with_short_ttl(void **state)
{
	/* RFC 6762 §6.7 */
	struct p2p_peer_id id = our_id(NULL);
	struct multiaddr addrs[] = { ma("/ip4/10.0.0.1/tcp/1") };
	struct mdns_response_params p = { .instance = INSTANCE, .peer = &id, .addrs = addrs,
					  .n_addrs = 1, .id = 0xbeef, .legacy_unicast = true };
	uint8_t *wire;
	size_t len;
	assert_int_equal(mdns_packet_build_response(&p, &wire, &len), 0);
	ldns_pkt *pkt = decode(wire, len);
	assert_int_equal(ldns_pkt_id(pkt), 0xbeef);
	assert_int_equal(ldns_pkt_qdcount(pkt), 1);
	const ldns_rr *txt = ldns_rr_list_rr(ldns_pkt_additional(pkt), 0);
	assert_int_equal(ldns_rr_ttl(txt), MDNS_LEGACY_TTL);
	assert_int_equal(ldns_rr_get_class(txt), LDNS_RR_CLASS_IN); /* no cache-flush bit */
	ldns_pkt_free(pkt);
	free(wire);
	free_addrs(addrs, 1);
}

static void test_lookup_and_meta_answers_go_in_the_answer_section(void **state)
{
	struct p2p_peer_id id = our_id(NULL);
	struct multiaddr addrs[] = { ma("/ip4/10.0.0.1/tcp/1") };
	struct mdns_response_params p = { .instance = INSTANCE, .peer = &id, .addrs = addrs,
					  .n_addrs = 1, .all_answers = true, .answer_meta = true };
	uint8_t *wire;
	size_t len;
	assert_int_equal(mdns_packet_build_response(&p, &wire, &len), 0);
	ldns_pkt *pkt = decode(wire, len);
	/* PTR, meta PTR, TXT, SRV, A */
	assert_int_equal(ldns_pkt_ancount(pkt), 5);
	assert_int_equal(ldns_pkt_arcount(pkt), 0);
	const ldns_rr *meta = ldns_rr_list_rr(ldns_pkt_answer(pkt), 1);
	char *s = rdf_text(ldns_rr_owner(meta));
	assert_string_equal(s, "_services._dns-sd._udp.local.");
	free(s);
	s = rdf_text(ldns_rr_rdf(meta, 0));
	assert_string_equal(s, "_p2p._udp.local.");
	free(s);
	ldns_pkt_free(pkt);
	free(wire);
	free_addrs(addrs, 1);
}

/* ---- response: what we read --------------------------------------------------------- */

static void test_parse_reads_a_js_libp2p_response(void **state)
{
	/* Captured from @libp2p/mdns 12.0.32: PTR and one TXT record per address, all in the
	 * answer section, no cache-flush bits. */
	size_t len;
	uint8_t *wire = read_corpus("js_response", &len);
	struct mdns_message m;
	assert_int_equal(mdns_packet_parse(wire, len, INSTANCE, &m), 0);
	assert_true(m.is_response);
	assert_int_equal(m.n_peers, 1);
	char id[P2P_PEER_ID_STRING_MAX];
	assert_true(p2p_peer_id_to_string(&m.peers[0].id, id, sizeof id) > 0);
	assert_string_equal(id, "12D3KooWRXnCELfXq79DSuoe9HTwHo1nc8Hk7DrWcM5J2MVQpkNP");
	assert_int_equal(m.peers[0].n_addrs, 1);
	assert_addr(&m.peers[0].addrs[0], "/ip4/127.0.0.1/tcp/35247");
	mdns_message_free(&m);
	free(wire);
}

static void test_parse_groups_addresses_by_peer_across_records_and_sections(void **state)
{
	/* go-libp2p groups a TXT record's addresses by their /p2p suffix; so do we, over
	 * every record of the packet. */
	const char *an[] = {
		"_p2p._udp.local. IN PTR aaaa._p2p._udp.local.",
		"aaaa._p2p._udp.local. IN TXT \"dnsaddr=/ip4/10.0.0.1/tcp/1/p2p/" PEER_ED "\" "
		"\"dnsaddr=/ip4/10.0.0.2/tcp/2/p2p/" PEER_QM "\"",
		NULL
	};
	const char *ar[] = {
		"aaaa._p2p._udp.local. IN TXT \"DNSADDR=/ip4/10.0.0.3/tcp/3/p2p/" PEER_ED "\" "
		"\"dnsaddr=/ip4/10.0.0.1/tcp/1/p2p/" PEER_ED "\"",
		NULL
	};
	size_t len;
	uint8_t *wire = packet(true, NULL, an, ar, &len);
	struct mdns_message m;
	assert_int_equal(mdns_packet_parse(wire, len, NULL, &m), 0);
	assert_int_equal(m.n_peers, 2);
	assert_int_equal(m.n_skipped, 0);
	char id[P2P_PEER_ID_STRING_MAX];
	p2p_peer_id_to_string(&m.peers[0].id, id, sizeof id);
	assert_string_equal(id, PEER_ED);
	assert_int_equal(m.peers[0].n_addrs, 2); /* the repeat is dropped */
	assert_addr(&m.peers[0].addrs[0], "/ip4/10.0.0.1/tcp/1");
	assert_addr(&m.peers[0].addrs[1], "/ip4/10.0.0.3/tcp/3");
	p2p_peer_id_to_string(&m.peers[1].id, id, sizeof id);
	assert_string_equal(id, PEER_QM);
	assert_addr(&m.peers[1].addrs[0], "/ip4/10.0.0.2/tcp/2");
	mdns_message_free(&m);
	free(wire);
}

static void test_parse_counts_and_skips_bad_dnsaddr_values(void **state)
{
	const char *an[] = {
		"aaaa._p2p._udp.local. IN TXT "
		"\"dnsaddr=/ip4/10.0.0.1/tcp/1\" "		      /* no /p2p: whose is it? */
		"\"dnsaddr=/ip4/999.0.0.1/tcp/1/p2p/" PEER_ED "\" " /* not a multiaddr */
		"\"dnsaddr=/p2p/" PEER_ED "\" "			      /* nothing to dial */
		"\"dnsaddr=/ip4/10.0.0.1/tcp/1/p2p/" PEER_QM "/p2p/" PEER_ED "\" "
		"\"dnsaddr=/ip4/10.0.0.1/tcp/1/p2p/" PEER_ED "\\000x\" " /* embedded NUL */
		"\"dnsaddr=\" "
		"\"txtvers=1\" \"\" "				      /* not ours: ignored */
		"\"dnsaddr=/ip4/10.0.0.9/tcp/9/p2p/" PEER_ED "\"",
		NULL
	};
	size_t len;
	uint8_t *wire = packet(true, NULL, an, NULL, &len);
	struct mdns_message m;
	assert_int_equal(mdns_packet_parse(wire, len, NULL, &m), 0);
	assert_int_equal(m.n_skipped, 6);
	assert_int_equal(m.n_peers, 1);
	assert_int_equal(m.peers[0].n_addrs, 1);
	assert_addr(&m.peers[0].addrs[0], "/ip4/10.0.0.9/tcp/9");
	mdns_message_free(&m);
	free(wire);
}

static void test_parse_ignores_txt_records_of_other_names_and_goodbyes(void **state)
{
	const char *an[] = {
		/* not under _p2p._udp.local */
		"aaaa._http._tcp.local. IN TXT \"dnsaddr=/ip4/10.0.0.1/tcp/1/p2p/" PEER_ED "\"",
		/* the service name itself, not an instance under it */
		"_p2p._udp.local. IN TXT \"dnsaddr=/ip4/10.0.0.1/tcp/1/p2p/" PEER_ED "\"",
		/* RFC 6762 §10.1: TTL 0 says the peer is leaving */
		"bbbb._p2p._udp.local. 0 IN TXT \"dnsaddr=/ip4/10.0.0.1/tcp/1/p2p/" PEER_ED "\"",
		NULL
	};
	size_t len;
	uint8_t *wire = packet(true, NULL, an, NULL, &len);
	struct mdns_message m;
	assert_int_equal(mdns_packet_parse(wire, len, NULL, &m), 0);
	assert_int_equal(m.n_peers, 0);
	free(wire);
}

static void test_parse_ignores_txt_records_in_queries(void **state)
{
	const char *qs[] = { "_p2p._udp.local. IN PTR", NULL };
	const char *an[] = {
		"aaaa._p2p._udp.local. IN TXT \"dnsaddr=/ip4/10.0.0.1/tcp/1/p2p/" PEER_ED "\"", NULL
	};
	size_t len;
	uint8_t *wire = packet(false, qs, an, NULL, &len);
	struct mdns_message m;
	assert_int_equal(mdns_packet_parse(wire, len, NULL, &m), 0);
	assert_int_equal(m.n_peers, 0);
	free(wire);
}

static void test_parse_bounds_addresses_per_peer_and_peers_per_packet(void **state)
{
	struct p2p_keypair kp;
	char records[MDNS_MAX_PEERS_PER_PACKET + 2][4096];
	const char *an[MDNS_MAX_PEERS_PER_PACKET + 3];
	for (int p = 0; p < MDNS_MAX_PEERS_PER_PACKET + 2; p++) {
		uint8_t seed[P2P_ED25519_SEED_BYTES] = { (uint8_t)(p + 1) };
		p2p_keypair_from_seed(seed, &kp);
		struct p2p_peer_id id;
		p2p_peer_id_from_public_key(kp.public_key, &id);
		char id_text[P2P_PEER_ID_STRING_MAX];
		p2p_peer_id_to_string(&id, id_text, sizeof id_text);
		int off = snprintf(records[p], sizeof records[p], "i%d._p2p._udp.local. IN TXT", p);
		int n_addrs = p == 0 ? MDNS_MAX_ADDRS_PER_PEER + 4 : 1;
		for (int a = 0; a < n_addrs; a++)
			off += snprintf(records[p] + off, sizeof records[p] - (size_t)off,
					" \"dnsaddr=/ip4/10.0.%d.%d/tcp/1/p2p/%s\"", p, a, id_text);
		an[p] = records[p];
	}
	an[MDNS_MAX_PEERS_PER_PACKET + 2] = NULL;
	size_t len;
	uint8_t *wire = packet(true, NULL, an, NULL, &len);
	struct mdns_message m;
	assert_int_equal(mdns_packet_parse(wire, len, NULL, &m), 0);
	assert_int_equal(m.n_peers, MDNS_MAX_PEERS_PER_PACKET);
	assert_int_equal(m.peers[0].n_addrs, MDNS_MAX_ADDRS_PER_PEER);
	assert_int_equal(m.n_skipped, 4 + 2);
	mdns_message_free(&m);
	free(wire);
}

/* ---- malformed input ---------------------------------------------------------------- */

static void test_parse_rejects_short_oversized_and_overcounted_packets(void **state)
{
	struct mdns_message m;
	uint8_t buf[MDNS_MAX_PACKET + 1] = { 0 };
	assert_int_equal(mdns_packet_parse(buf, 11, NULL, &m), AA_ETRUNC);
	assert_int_equal(mdns_packet_parse(NULL, 0, NULL, &m), AA_ETRUNC);
	assert_int_equal(mdns_packet_parse(buf, sizeof buf, NULL, &m), AA_ETOOBIG);
	buf[6] = 0x01; /* ANCOUNT 256, refused before ldns looks */
	assert_int_equal(mdns_packet_parse(buf, 12, NULL, &m), AA_ETOOBIG);
	buf[6] = 0;
	assert_int_equal(mdns_packet_parse(buf, 12, NULL, &m), 0); /* an empty message is fine */
	assert_int_equal(m.n_peers, 0);
}

static void test_parse_rejects_truncated_and_looping_records(void **state)
{
	struct mdns_message m;
	size_t len;
	uint8_t *wire = read_corpus("js_response", &len);
	for (size_t cut = 12; cut < len; cut++)
		assert_int_equal(mdns_packet_parse(wire, cut, NULL, &m), AA_EINVAL);
	free(wire);
	/* An answer whose name is a compression pointer to itself. */
	static const uint8_t loop[] = { 0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0,
					0xc0, 0x0c, 0, 12, 0, 1, 0, 0, 0, 120, 0, 2, 0xc0, 0x0c };
	assert_int_equal(mdns_packet_parse(loop, sizeof loop, NULL, &m), AA_EINVAL);
}

static void test_parse_ignores_nonzero_opcode_and_rcode(void **state)
{
	/* RFC 6762 §18.3 and §18.11 */
	struct mdns_message m;
	uint8_t *wire;
	size_t len;
	assert_int_equal(mdns_packet_build_query(&wire, &len), 0);
	wire[2] = 0x28; /* opcode 5 (UPDATE) */
	assert_int_equal(mdns_packet_parse(wire, len, NULL, &m), AA_ENOTSUP);
	wire[2] = 0;
	wire[3] = 0x03; /* NXDOMAIN */
	assert_int_equal(mdns_packet_parse(wire, len, NULL, &m), AA_ENOTSUP);
	free(wire);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_instance_name_is_32_to_63_lowercase_alphanumerics),
		cmocka_unit_test(test_instance_name_validation_rejects_non_labels),
		cmocka_unit_test(test_query_is_one_ptr_question_for_p2p_service),
		cmocka_unit_test(test_parse_recognises_a_peer_query),
		cmocka_unit_test(test_parse_query_name_ignores_case_and_accepts_any_type),
		cmocka_unit_test(test_parse_ignores_questions_for_other_services),
		cmocka_unit_test(test_parse_recognises_meta_and_self_lookups),
		cmocka_unit_test(test_parse_sees_the_unicast_response_bit),
		cmocka_unit_test(test_parse_sees_our_answer_in_the_known_answers),
		cmocka_unit_test(test_response_has_ptr_answer_and_txt_srv_a_aaaa_additionals),
		cmocka_unit_test(test_response_round_trips_through_parse),
		cmocka_unit_test(test_response_leaves_out_addresses_useless_on_the_link),
		cmocka_unit_test(test_response_accepts_addresses_that_already_end_in_our_id),
		cmocka_unit_test(test_response_skips_addresses_whose_txt_string_exceeds_255_bytes),
		cmocka_unit_test(test_response_caps_the_number_of_addresses),
		cmocka_unit_test(test_response_without_usable_address_is_enoent),
		cmocka_unit_test(test_legacy_response_repeats_id_and_question_with_short_ttl),
		cmocka_unit_test(test_lookup_and_meta_answers_go_in_the_answer_section),
		cmocka_unit_test(test_parse_reads_a_js_libp2p_response),
		cmocka_unit_test(test_parse_groups_addresses_by_peer_across_records_and_sections),
		cmocka_unit_test(test_parse_counts_and_skips_bad_dnsaddr_values),
		cmocka_unit_test(test_parse_ignores_txt_records_of_other_names_and_goodbyes),
		cmocka_unit_test(test_parse_ignores_txt_records_in_queries),
		cmocka_unit_test(test_parse_bounds_addresses_per_peer_and_peers_per_packet),
		cmocka_unit_test(test_parse_rejects_short_oversized_and_overcounted_packets),
		cmocka_unit_test(test_parse_rejects_truncated_and_looping_records),
		cmocka_unit_test(test_parse_ignores_nonzero_opcode_and_rcode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
