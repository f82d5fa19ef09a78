/* Unit tests for p2p/multiaddr: spec examples, canonical text, every supported protocol,
 * rejection of malformed text and bytes, and the component helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "base/err.h"
#include "p2p/multiaddr.h"

#define PEER_QM "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"
#define PEER_CID "bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe"
#define PEER_ED "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"
/* sha2-256 multihash of "hello world" as base64url, base16 and base58btc multibase. */
#define CERT_U "uEiC5TSe5k00-CKUuUtfafav6xITv43pTgO6QiPes4u_N6Q"
#define CERT_F "f1220b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
#define CERT_Z "zQmaozNR7DZHQK1ZcU9p7QdrshMvXqWK6gpu5rmrkPdT3L4"

/* Parses text, checks it prints as want, and that the printed form parses to the same
 * bytes. */
static void check_text(const char *text, const char *want)
{
	struct multiaddr ma;
	const char *why = NULL;
	int rc = multiaddr_parse(text, &ma, &why);
	if (rc != 0)
		fail_msg("parse %s: %d (%s)", text, rc, why ? why : "");
	char *s = NULL;
	assert_int_equal(multiaddr_to_string(&ma, &s), 0);
	assert_string_equal(s, want);
	struct multiaddr again;
	assert_int_equal(multiaddr_parse(s, &again, NULL), 0);
	assert_true(multiaddr_equal(&ma, &again));
	free(s);
	multiaddr_free(&again);
	multiaddr_free(&ma);
}

static void check_bytes(const char *text, const uint8_t *want, size_t n)
{
	struct multiaddr ma;
	assert_int_equal(multiaddr_parse(text, &ma, NULL), 0);
	assert_int_equal(ma.len, n);
	assert_memory_equal(ma.bytes, want, n);
	multiaddr_free(&ma);
}

static void check_rejects(const char *text, int want)
{
	struct multiaddr ma = { NULL, 0 };
	const char *why = NULL;
	int rc = multiaddr_parse(text, &ma, &why);
	if (rc != want)
		fail_msg("parse %s: got %d, want %d", text, rc, want);
	assert_non_null(why);
	assert_null(ma.bytes);
}

static void check_rejects_bytes(const uint8_t *p, size_t n, int want)
{
	struct multiaddr ma = { NULL, 0 };
	assert_int_equal(multiaddr_from_bytes(p, n, &ma), want);
	assert_null(ma.bytes);
}

static void test_multiaddr_matches_spec_examples(void **state)
{
	/* multiaddr test/multiaddr.feature and README. */
	const uint8_t tcp[] = { 0x04, 0xc0, 0x00, 0x02, 0x2a, 0x06, 0x01, 0xbb };
	check_bytes("/ip4/192.0.2.42/tcp/443", tcp, sizeof tcp);
	const uint8_t udp[] = { 0x04, 0x7f, 0x00, 0x00, 0x01, 0x91, 0x02, 0x04, 0xd2 };
	check_bytes("/ip4/127.0.0.1/udp/1234", udp, sizeof udp);

	struct multiaddr ma;
	assert_int_equal(multiaddr_from_bytes(tcp, sizeof tcp, &ma), 0);
	char *s;
	assert_int_equal(multiaddr_to_string(&ma, &s), 0);
	assert_string_equal(s, "/ip4/192.0.2.42/tcp/443");
	free(s);
	multiaddr_free(&ma);
}

static void test_multiaddr_prints_ip6_per_rfc5952(void **state)
{
	/* RFC 5952 §4.1 leading zeros, §4.2.1 longest run, §4.2.2 no single-group "::",
	 * §4.2.3 first of equal runs, §4.3 lower case, §5 IPv4-mapped. */
	check_text("/ip6/2001:0db8:0000:0000:0000:0000:0002:0001", "/ip6/2001:db8::2:1");
	check_text("/ip6/2001:db8:0:1:1:1:1:1", "/ip6/2001:db8:0:1:1:1:1:1");
	check_text("/ip6/2001:0:0:1:0:0:0:1", "/ip6/2001:0:0:1::1");
	check_text("/ip6/2001:db8:0:0:1:0:0:1", "/ip6/2001:db8::1:0:0:1");
	check_text("/ip6/2001:DB8::ABCD", "/ip6/2001:db8::abcd");
	check_text("/ip6/0:0:0:0:0:0:0:0", "/ip6/::");
	check_text("/ip6/::1", "/ip6/::1");
	check_text("/ip6/1::", "/ip6/1::");
	check_text("/ip6/1:0:0:0:0:0:0:0", "/ip6/1::");
	check_text("/ip6/fe80::1ff:fe23:4567:890a/udp/1234", "/ip6/fe80::1ff:fe23:4567:890a/udp/1234");
	check_text("/ip6/1:2:3:4:5:6:7:8", "/ip6/1:2:3:4:5:6:7:8");
	check_text("/ip6/1:2:3:4:5:6:0:0", "/ip6/1:2:3:4:5:6::");
}

static void test_multiaddr_accepts_embedded_ipv4_in_ip6(void **state)
{
	check_text("/ip6/::ffff:192.0.2.1/tcp/1", "/ip6/::ffff:192.0.2.1/tcp/1");
	check_text("/ip6/::ffff:c000:201", "/ip6/::ffff:192.0.2.1");
	check_text("/ip6/64:ff9b::192.0.2.33", "/ip6/64:ff9b::c000:221");
	const uint8_t loop[] = { 0x29, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	check_bytes("/ip6/::1", loop, sizeof loop);
}

static void test_multiaddr_parses_ports_at_the_bounds(void **state)
{
	check_text("/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/tcp/0");
	check_text("/ip4/255.255.255.255/udp/65535", "/ip4/255.255.255.255/udp/65535");
	check_text("/ip4/1.2.3.4/tcp/0080", "/ip4/1.2.3.4/tcp/80");
}

static void test_multiaddr_rejects_bad_ports(void **state)
{
	const char *bad[] = { "/ip4/1.2.3.4/tcp/65536", "/ip4/1.2.3.4/tcp/-1",
			      "/ip4/1.2.3.4/tcp/+80", "/ip4/1.2.3.4/tcp/80a",
			      "/ip4/1.2.3.4/udp/ 80", "/ip4/1.2.3.4/tcp/99999999999999999999",
			      "/ip4/1.2.3.4/tcp/0x50" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		check_rejects(bad[i], AA_EINVAL);
}

static void test_multiaddr_rejects_bad_ip(void **state)
{
	const char *bad[] = { "/ip4/256.0.0.1", "/ip4/1.2.3", "/ip4/1.2.3.4.5", "/ip4/01.2.3.4",
			      "/ip4/1.2.3.4 ", "/ip4/::1", "/ip4/localhost", "/ip6/1:2",
			      "/ip6/1.2.3.4", "/ip6/fe80::1%eth0", "/ip6/1:2:3:4:5:6:7:8:9",
			      "/ip6/::g", "/ip6/1::2::3",
			      "/ip6/0000:0000:0000:0000:0000:ffff:255.255.255.255:1" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		check_rejects(bad[i], AA_EINVAL);
}

static void test_multiaddr_parses_dns_family(void **state)
{
	check_text("/dns4/example.com/tcp/443/wss", "/dns4/example.com/tcp/443/wss");
	check_text("/dns6/example.com/tcp/443/tls/ws", "/dns6/example.com/tcp/443/tls/ws");
	check_text("/dns/b\xc3\xbc" "cher.example/udp/1/quic-v1",
		   "/dns/b\xc3\xbc" "cher.example/udp/1/quic-v1");
	check_text("/dnsaddr/bootstrap.libp2p.io", "/dnsaddr/bootstrap.libp2p.io");
	const uint8_t want[] = { 0x36, 0x0b, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm' };
	check_bytes("/dns4/example.com", want, sizeof want);
}

static void test_multiaddr_rejects_bad_dns(void **state)
{
	check_rejects("/dns4//tcp/1", AA_EINVAL);
	check_rejects("/dns4", AA_EINVAL);
	check_rejects("/dns/a\x01" "b", AA_EINVAL);
	check_rejects("/dns/\xff\xfe", AA_EINVAL);
	check_rejects("/dns/\xc0\xaf", AA_EINVAL); /* overlong UTF-8 for '/' */
	char long_name[300] = "/dns/";
	memset(long_name + 5, 'a', 256);
	long_name[261] = '\0';
	check_rejects(long_name, AA_EINVAL);
	/* Binary: a '/' inside the name, and an empty name. */
	const uint8_t slash[] = { 0x35, 0x03, 'a', '/', 'b' };
	check_rejects_bytes(slash, sizeof slash, AA_EINVAL);
	const uint8_t empty[] = { 0x35, 0x00 };
	check_rejects_bytes(empty, sizeof empty, AA_EINVAL);
}

static void test_multiaddr_parses_p2p_in_every_form(void **state)
{
	check_text("/ip4/1.2.3.4/tcp/4001/p2p/" PEER_QM, "/ip4/1.2.3.4/tcp/4001/p2p/" PEER_QM);
	check_text("/ip4/1.2.3.4/tcp/4001/p2p/" PEER_CID, "/ip4/1.2.3.4/tcp/4001/p2p/" PEER_QM);
	check_text("/ip4/1.2.3.4/tcp/4001/ipfs/" PEER_QM, "/ip4/1.2.3.4/tcp/4001/p2p/" PEER_QM);
	check_text("/p2p/" PEER_ED, "/p2p/" PEER_ED);
	check_text("/ip4/1.2.3.4/tcp/1/p2p/" PEER_QM "/p2p-circuit/p2p/" PEER_ED,
		   "/ip4/1.2.3.4/tcp/1/p2p/" PEER_QM "/p2p-circuit/p2p/" PEER_ED);

	uint8_t want[3 + 34] = { 0xa5, 0x03, 0x22, 0x12, 0x20, 0x9d, 0xff, 0x3b, 0x17 };
	struct multiaddr ma;
	assert_int_equal(multiaddr_parse("/p2p/" PEER_CID, &ma, NULL), 0);
	assert_int_equal(ma.len, sizeof want);
	assert_memory_equal(ma.bytes, want, 9);
	multiaddr_free(&ma);
}

static void test_multiaddr_rejects_bad_peer_ids(void **state)
{
	check_rejects("/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5", AA_EINVAL);
	check_rejects("/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx50", AA_EINVAL);
	check_rejects("/p2p/1", AA_EINVAL);
	check_rejects("/p2p/Q", AA_EINVAL);
	/* A CID with the raw codec is not a PeerID (peer-ids spec: must be libp2p-key). */
	check_rejects("/p2p/bafkreidon73zkcrwdb5iafqtijxildoonbwnpv7dyd6ef3qdgads2jc4su", AA_EINVAL);
	check_rejects("/p2p/xyz", AA_EINVAL);
	check_rejects("/p2p", AA_EINVAL);
	/* Binary: the multihash length disagrees with the component length. */
	const uint8_t bad_mh[] = { 0xa5, 0x03, 0x04, 0x12, 0x20, 0xaa, 0xbb };
	check_rejects_bytes(bad_mh, sizeof bad_mh, AA_EINVAL);
	/* A PeerID is an identity or sha2-256 multihash, nothing else (here sha2-512). */
	const uint8_t other_hash[] = { 0xa5, 0x03, 0x04, 0x13, 0x02, 0xaa, 0xbb };
	check_rejects_bytes(other_hash, sizeof other_hash, AA_EINVAL);
	const uint8_t short_sha[] = { 0xa5, 0x03, 0x04, 0x12, 0x02, 0xaa, 0xbb };
	check_rejects_bytes(short_sha, sizeof short_sha, AA_EINVAL);
}

static void test_multiaddr_prints_certhash_as_base64url(void **state)
{
	const char *prefix = "/ip4/1.2.3.4/udp/443/quic-v1/webtransport/certhash/";
	char in[256], want[256];
	snprintf(want, sizeof want, "%s%s", prefix, CERT_U);
	snprintf(in, sizeof in, "%s%s", prefix, CERT_U);
	check_text(in, want);
	snprintf(in, sizeof in, "%s%s", prefix, CERT_F);
	check_text(in, want);
	snprintf(in, sizeof in, "%s%s", prefix, CERT_Z);
	check_text(in, want);
	snprintf(in, sizeof in, "%s%s/certhash/%s", prefix, CERT_Z, CERT_F);
	snprintf(want, sizeof want, "%s%s/certhash/%s", prefix, CERT_U, CERT_U);
	check_text(in, want);
}

static void test_multiaddr_rejects_bad_certhash(void **state)
{
	check_rejects("/certhash/kabc", AA_ENOTSUP);
	check_rejects("/certhash/f1220", AA_EINVAL);
	check_rejects("/certhash/u!!", AA_EINVAL);
	check_rejects("/certhash/f", AA_EINVAL);
}

static void test_multiaddr_percent_decodes_unix_paths(void **state)
{
	/* multiaddr protocols/unix.md examples. */
	check_text("/unix/%2F", "/unix/%2F");
	check_text("/unix/file.socket", "/unix/file.socket");
	check_text("/unix/dir%2Ffile.socket", "/unix/dir/file.socket");
	check_text("/unix/tmp%2Ffoo%2F..%2Fbar", "/unix/tmp/foo/../bar");
	check_text("/unix/%252F", "/unix/%252F");
	const uint8_t want[] = { 0x90, 0x03, 0x10, '/', 'd', 'i', 'r', '/', 'f', 'i', 'l', 'e',
				 '.', 's', 'o', 'c', 'k', 'e', 't' };
	check_bytes("/unix/dir%2Ffile.socket", want, sizeof want);
	const uint8_t root[] = { 0x90, 0x03, 0x01, '/' };
	check_bytes("/unix/%2F", root, sizeof root);
}

static void test_multiaddr_unix_takes_rest_of_text(void **state)
{
	/* go-multiaddr's path form: everything after /unix/ is the path. */
	check_text("/unix/tmp/agent.sock", "/unix/tmp/agent.sock");
	check_text("/unix/%2Ftmp%2Fagent.sock", "/unix/tmp/agent.sock");
	check_text("/unix/a/tcp/80", "/unix/a/tcp/80");
	check_text("/ip4/1.2.3.4/unix/x", "/ip4/1.2.3.4/unix/x");
	check_text("/unix/a%20b%25c", "/unix/a%20b%25c");
	check_text("/unix/a%2F", "/unix/a%2F");   /* a trailing '/' stays escaped */
	check_text("/unix/%2F%2Fx", "/unix/%2F/x"); /* "//x" keeps both slashes */
	const uint8_t want[] = { 0x90, 0x03, 0x06, '/', 'a', '/', 't', 'c', 'p' };
	check_bytes("/unix/a/tcp", want, sizeof want);
}

static void test_multiaddr_rejects_bad_unix_paths(void **state)
{
	check_rejects("/unix", AA_EINVAL);
	check_rejects("/unix/", AA_EINVAL);
	check_rejects("/unix/a%2", AA_EINVAL);
	check_rejects("/unix/a%zz", AA_EINVAL);
	check_rejects("/unix/a%00b", AA_EINVAL);
	check_rejects("/unix/a\tb", AA_EINVAL);
	const uint8_t nul[] = { 0x90, 0x03, 0x02, 'a', 0 };
	check_rejects_bytes(nul, sizeof nul, AA_EINVAL);
}

static void test_multiaddr_rejects_unknown_protocols(void **state)
{
	check_rejects("/ip4/1.2.3.4/sctp/80", AA_ENOTSUP);
	check_rejects("/quic", AA_ENOTSUP);
	check_rejects("/ip4/1.2.3.4/udp/1/quic/webtransport", AA_ENOTSUP);
	check_rejects("/IP4/1.2.3.4", AA_ENOTSUP);
	/* dccp (33) in binary */
	const uint8_t dccp[] = { 0x21, 0x00, 0x50 };
	check_rejects_bytes(dccp, sizeof dccp, AA_ENOTSUP);
	/* quic (460) is not quic-v1 (461) */
	const uint8_t quic[] = { 0xcc, 0x03 };
	check_rejects_bytes(quic, sizeof quic, AA_ENOTSUP);
	const uint8_t quic_v1[] = { 0xcd, 0x03 };
	struct multiaddr ma;
	assert_int_equal(multiaddr_from_bytes(quic_v1, sizeof quic_v1, &ma), 0);
	multiaddr_free(&ma);
}

static void test_multiaddr_rejects_malformed_text(void **state)
{
	check_rejects("", AA_EINVAL);
	check_rejects("/", AA_EINVAL);
	check_rejects("//", AA_EINVAL);
	check_rejects("ip4/1.2.3.4", AA_EINVAL);
	check_rejects("//ip4/1.2.3.4", AA_EINVAL);
	check_rejects("/ip4/1.2.3.4//tcp/1", AA_EINVAL);
	check_rejects("/ip4", AA_EINVAL);
	check_rejects("/ip4/", AA_EINVAL);
}

static void test_multiaddr_ignores_one_trailing_slash(void **state)
{
	check_text("/ip4/1.2.3.4/tcp/80/", "/ip4/1.2.3.4/tcp/80");
	check_text("/ip4/1.2.3.4/ws/", "/ip4/1.2.3.4/ws");
}

static void test_multiaddr_rejects_truncated_binary(void **state)
{
	const uint8_t full[] = { 0x04, 0xc0, 0x00, 0x02, 0x2a, 0x06, 0x01, 0xbb };
	for (size_t n = 1; n < sizeof full; n++)
		if (n != 5)
			check_rejects_bytes(full, n, AA_EINVAL);
	check_rejects_bytes(full, 0, AA_EINVAL);
	/* A length prefix that runs past the end, and one that is itself cut off. */
	const uint8_t dns[] = { 0x35, 0x05, 'a', 'b' };
	check_rejects_bytes(dns, sizeof dns, AA_EINVAL);
	const uint8_t dns_len[] = { 0x35, 0x85 };
	check_rejects_bytes(dns_len, sizeof dns_len, AA_EINVAL);
	/* A code varint cut off, and an overlong one. */
	const uint8_t code[] = { 0x91 };
	check_rejects_bytes(code, sizeof code, AA_EINVAL);
	const uint8_t overlong[] = { 0x84, 0x00, 1, 2, 3, 4 };
	check_rejects_bytes(overlong, sizeof overlong, AA_EINVAL);
	const uint8_t overlong_len[] = { 0x35, 0x81, 0x00, 'a' };
	check_rejects_bytes(overlong_len, sizeof overlong_len, AA_EINVAL);
}

static void test_multiaddr_enforces_max_length(void **state)
{
	/* Binary beyond MULTIADDR_MAX_LEN. */
	size_t n = MULTIADDR_MAX_LEN + 3;
	uint8_t *big = calloc(1, n);
	for (size_t i = 0; i + 3 <= n; i += 3) {
		big[i] = 0x06; /* tcp/0 */
	}
	assert_int_equal(n % 3, 1);
	check_rejects_bytes(big, n - 1, AA_EINVAL);
	struct multiaddr ma;
	assert_int_equal(multiaddr_from_bytes(big, MULTIADDR_MAX_LEN - 1, &ma), 0);
	multiaddr_free(&ma);
	free(big);

	/* Text beyond MULTIADDR_MAX_TEXT_LEN, and short text whose binary is too long:
	 * "/ip6/::" is 7 characters but 17 bytes. */
	char *text = malloc(MULTIADDR_MAX_TEXT_LEN + 2);
	memset(text, 'a', MULTIADDR_MAX_TEXT_LEN + 1);
	text[0] = '/';
	text[MULTIADDR_MAX_TEXT_LEN + 1] = '\0';
	check_rejects(text, AA_EINVAL);
	text[0] = '\0';
	for (int i = 0; i < 61; i++)
		strcat(text, "/ip6/::");
	check_rejects(text, AA_EINVAL);
	text[7 * 60] = '\0';
	assert_int_equal(multiaddr_parse(text, &ma, NULL), 0);
	assert_int_equal(ma.len, 17 * 60);
	multiaddr_free(&ma);
	free(text);
}

static void test_multiaddr_next_walks_components(void **state)
{
	struct multiaddr ma;
	assert_int_equal(multiaddr_parse("/ip4/1.2.3.4/tcp/80/ws/p2p/" PEER_QM, &ma, NULL), 0);
	size_t off = 0;
	struct multiaddr_component c;
	const uint64_t codes[] = { MA_IP4, MA_TCP, MA_WS, MA_P2P };
	const char *names[] = { "ip4", "tcp", "ws", "p2p" };
	const size_t lens[] = { 4, 2, 0, 34 };
	for (int i = 0; i < 4; i++) {
		assert_int_equal(multiaddr_next(&ma, &off, &c), 1);
		assert_true(c.code == codes[i]);
		assert_string_equal(c.name, names[i]);
		assert_int_equal(c.value_len, lens[i]);
		if (lens[i])
			assert_non_null(c.value);
		else
			assert_null(c.value);
	}
	assert_int_equal(multiaddr_next(&ma, &off, &c), 0);
	assert_int_equal(off, ma.len);

	assert_true(multiaddr_find(&ma, MA_TCP, &c));
	assert_int_equal(c.value[0] << 8 | c.value[1], 80);
	assert_false(multiaddr_find(&ma, MA_UDP, &c));
	multiaddr_free(&ma);
}

static void test_multiaddr_next_reports_bad_bytes(void **state)
{
	uint8_t bytes[] = { 0x04, 1, 2, 3 };
	struct multiaddr ma = { bytes, sizeof bytes };
	size_t off = 0;
	struct multiaddr_component c;
	assert_int_equal(multiaddr_next(&ma, &off, &c), AA_EINVAL);
	char *s = NULL;
	assert_int_equal(multiaddr_to_string(&ma, &s), AA_EINVAL);
	assert_null(s);
}

static void test_multiaddr_encapsulates_and_decapsulates(void **state)
{
	struct multiaddr a, b;
	assert_int_equal(multiaddr_parse("/ip4/1.2.3.4/tcp/1/p2p/" PEER_QM, &a, NULL), 0);
	assert_int_equal(multiaddr_parse("/p2p-circuit/p2p/" PEER_ED, &b, NULL), 0);
	assert_int_equal(multiaddr_encapsulate(&a, &b), 0);
	char *s;
	assert_int_equal(multiaddr_to_string(&a, &s), 0);
	assert_string_equal(s, "/ip4/1.2.3.4/tcp/1/p2p/" PEER_QM "/p2p-circuit/p2p/" PEER_ED);
	free(s);

	/* Cuts at the last /p2p. */
	assert_true(multiaddr_decapsulate_code(&a, MA_P2P));
	assert_int_equal(multiaddr_to_string(&a, &s), 0);
	assert_string_equal(s, "/ip4/1.2.3.4/tcp/1/p2p/" PEER_QM "/p2p-circuit");
	free(s);
	assert_false(multiaddr_decapsulate_code(&a, MA_UDP));
	assert_true(multiaddr_decapsulate_code(&a, MA_IP4));
	assert_int_equal(a.len, 0);
	assert_int_equal(multiaddr_to_string(&a, &s), 0);
	assert_string_equal(s, "");
	free(s);
	multiaddr_free(&a);
	multiaddr_free(&b);
}

static void test_multiaddr_encapsulate_refuses_oversize(void **state)
{
	uint8_t *big = calloc(1, 1020);
	for (size_t i = 0; i < 1020; i += 3)
		big[i] = 0x06;
	struct multiaddr a, b;
	assert_int_equal(multiaddr_from_bytes(big, 1020, &a), 0);
	assert_int_equal(multiaddr_from_bytes(big, 6, &b), 0);
	assert_int_equal(multiaddr_encapsulate(&a, &b), AA_ETOOBIG);
	assert_int_equal(a.len, 1020);
	multiaddr_free(&a);
	multiaddr_free(&b);
	free(big);
}

static void test_multiaddr_copy_and_equal(void **state)
{
	struct multiaddr a, b, c;
	assert_int_equal(multiaddr_parse("/ip4/1.2.3.4/tcp/1", &a, NULL), 0);
	assert_int_equal(multiaddr_copy(&a, &b), 0);
	assert_ptr_not_equal(a.bytes, b.bytes);
	assert_true(multiaddr_equal(&a, &b));
	assert_int_equal(multiaddr_parse("/ip4/1.2.3.4/tcp/2", &c, NULL), 0);
	assert_false(multiaddr_equal(&a, &c));
	multiaddr_free(&a);
	multiaddr_free(&b);
	multiaddr_free(&c);
	assert_null(c.bytes);
	multiaddr_free(&c); /* twice is harmless */
}

static void test_multiaddr_maps_names_and_codes(void **state)
{
	uint64_t code;
	assert_int_equal(multiaddr_proto_by_name("quic-v1", &code), 0);
	assert_true(code == 461);
	assert_int_equal(multiaddr_proto_by_name("ipfs", &code), 0);
	assert_true(code == MA_P2P);
	assert_int_equal(multiaddr_proto_by_name("p2p-circuit", &code), 0);
	assert_true(code == 290);
	assert_int_equal(multiaddr_proto_by_name("quic", &code), AA_ENOTSUP);
	assert_int_equal(multiaddr_proto_by_name("", &code), AA_ENOTSUP);
	assert_string_equal(multiaddr_proto_name(MA_CERTHASH), "certhash");
	assert_string_equal(multiaddr_proto_name(MA_P2P), "p2p");
	assert_string_equal(multiaddr_proto_name(478), "wss");
	assert_null(multiaddr_proto_name(0x21));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_multiaddr_matches_spec_examples),
		cmocka_unit_test(test_multiaddr_prints_ip6_per_rfc5952),
		cmocka_unit_test(test_multiaddr_accepts_embedded_ipv4_in_ip6),
		cmocka_unit_test(test_multiaddr_parses_ports_at_the_bounds),
		cmocka_unit_test(test_multiaddr_rejects_bad_ports),
		cmocka_unit_test(test_multiaddr_rejects_bad_ip),
		cmocka_unit_test(test_multiaddr_parses_dns_family),
		cmocka_unit_test(test_multiaddr_rejects_bad_dns),
		cmocka_unit_test(test_multiaddr_parses_p2p_in_every_form),
		cmocka_unit_test(test_multiaddr_rejects_bad_peer_ids),
		cmocka_unit_test(test_multiaddr_prints_certhash_as_base64url),
		cmocka_unit_test(test_multiaddr_rejects_bad_certhash),
		cmocka_unit_test(test_multiaddr_percent_decodes_unix_paths),
		cmocka_unit_test(test_multiaddr_unix_takes_rest_of_text),
		cmocka_unit_test(test_multiaddr_rejects_bad_unix_paths),
		cmocka_unit_test(test_multiaddr_rejects_unknown_protocols),
		cmocka_unit_test(test_multiaddr_rejects_malformed_text),
		cmocka_unit_test(test_multiaddr_ignores_one_trailing_slash),
		cmocka_unit_test(test_multiaddr_rejects_truncated_binary),
		cmocka_unit_test(test_multiaddr_enforces_max_length),
		cmocka_unit_test(test_multiaddr_next_walks_components),
		cmocka_unit_test(test_multiaddr_next_reports_bad_bytes),
		cmocka_unit_test(test_multiaddr_encapsulates_and_decapsulates),
		cmocka_unit_test(test_multiaddr_encapsulate_refuses_oversize),
		cmocka_unit_test(test_multiaddr_copy_and_equal),
		cmocka_unit_test(test_multiaddr_maps_names_and_codes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
