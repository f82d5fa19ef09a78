/* Unit tests for p2p/peerstore: address TTLs and their extension, bounds and eviction,
 * protocols, public keys checked against the PeerID, latency EWMA, record sequence
 * numbers and garbage collection. Time is a plain counter in seconds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/multihash.h"
#include "p2p/keys.h"
#include "p2p/multiaddr.h"
#include "p2p/peerid.h"
#include "p2p/peerstore.h"

#define SEC 1000000000ull

/* The identity PeerID of the Ed25519 key derived from a seed of byte n. */
static struct p2p_peer_id peer_n(uint8_t n, uint8_t public_key[P2P_ED25519_PUBLIC_KEY_BYTES])
{
	uint8_t seed[P2P_ED25519_SEED_BYTES];
	memset(seed, n, sizeof seed);
	struct p2p_keypair kp;
	p2p_keypair_from_seed(seed, &kp);
	struct p2p_peer_id id;
	p2p_peer_id_from_public_key(kp.public_key, &id);
	if (public_key)
		memcpy(public_key, kp.public_key, P2P_ED25519_PUBLIC_KEY_BYTES);
	p2p_keypair_wipe(&kp);
	return id;
}

static struct multiaddr addr(const char *text)
{
	struct multiaddr ma;
	assert_int_equal(multiaddr_parse(text, &ma, NULL), 0);
	return ma;
}

/* Number of live addresses of id at time t (seconds). */
static size_t live(struct peerstore *ps, const struct p2p_peer_id *id, uint64_t t)
{
	return peerstore_get_addrs(ps, id, t * SEC, NULL, 0);
}

/* Whether `text` is among the live addresses of id at time t. */
static bool has_addr(struct peerstore *ps, const struct p2p_peer_id *id, uint64_t t,
		     const char *text)
{
	const struct multiaddr *out[16];
	struct multiaddr want = addr(text);
	size_t n = peerstore_get_addrs(ps, id, t * SEC, out, 16);
	bool found = false;
	for (size_t i = 0; i < n && i < 16; i++)
		found |= multiaddr_equal(out[i], &want);
	multiaddr_free(&want);
	return found;
}

static int add_one(struct peerstore *ps, const struct p2p_peer_id *id, const char *text,
		   uint64_t ttl_ns, uint64_t t)
{
	struct multiaddr ma = addr(text);
	int rc = peerstore_add_addrs(ps, id, &ma, 1, ttl_ns, t * SEC);
	multiaddr_free(&ma);
	return rc;
}

static void test_peerstore_new_rejects_zero_bounds(void **state)
{
	assert_null(peerstore_new(0, 1, 1));
	assert_null(peerstore_new(1, 0, 1));
	assert_null(peerstore_new(1, 1, 0));
	peerstore_free(NULL);
}

static void test_peerstore_addrs_expire_after_ttl(void **state)
{
	struct peerstore *ps = peerstore_new(10, 8, 8);
	struct p2p_peer_id id = peer_n(1, NULL);
	assert_int_equal(add_one(ps, &id, "/ip4/10.0.0.1/tcp/4001", 10 * SEC, 0), 0);
	assert_int_equal(add_one(ps, &id, "/ip4/10.0.0.2/tcp/4001", 20 * SEC, 0), 0);
	assert_int_equal(live(ps, &id, 9), 2);
	/* Live while now < expiry: at exactly t = 10 s the first has expired. */
	assert_int_equal(live(ps, &id, 10), 1);
	assert_true(has_addr(ps, &id, 10, "/ip4/10.0.0.2/tcp/4001"));
	assert_int_equal(live(ps, &id, 20), 0);
	assert_true(peerstore_has_peer(ps, &id)); /* dropping addresses keeps the peer */
	peerstore_free(ps);
}

static void test_peerstore_readding_addr_extends_but_never_shortens(void **state)
{
	struct peerstore *ps = peerstore_new(10, 8, 8);
	struct p2p_peer_id id = peer_n(1, NULL);
	const char *a = "/ip4/10.0.0.1/tcp/4001";
	assert_int_equal(add_one(ps, &id, a, 10 * SEC, 0), 0);
	assert_int_equal(add_one(ps, &id, a, 10 * SEC, 8), 0); /* now expires at 18 */
	assert_int_equal(live(ps, &id, 15), 1);
	assert_int_equal(add_one(ps, &id, a, 1 * SEC, 16), 0); /* 17 < 18: ignored */
	assert_int_equal(live(ps, &id, 17), 1);
	assert_int_equal(live(ps, &id, 18), 0);
	/* An expired address comes back when re-added. */
	assert_int_equal(add_one(ps, &id, a, 5 * SEC, 30), 0);
	assert_int_equal(live(ps, &id, 34), 1);
	assert_int_equal(live(ps, &id, 35), 0);
	peerstore_free(ps);
}

static void test_peerstore_duplicate_addrs_stored_once(void **state)
{
	struct peerstore *ps = peerstore_new(10, 8, 8);
	struct p2p_peer_id id = peer_n(1, NULL);
	struct multiaddr two[2] = { addr("/ip4/1.2.3.4/tcp/1"), addr("/ip4/1.2.3.4/tcp/1") };
	assert_int_equal(peerstore_add_addrs(ps, &id, two, 2, 10 * SEC, 0), 0);
	assert_int_equal(live(ps, &id, 0), 1);
	multiaddr_free(&two[0]);
	multiaddr_free(&two[1]);
	peerstore_free(ps);
}

static void test_peerstore_permanent_addrs_retimed_on_disconnect(void **state)
{
	struct peerstore *ps = peerstore_new(10, 8, 8);
	struct p2p_peer_id id = peer_n(1, NULL);
	assert_int_equal(add_one(ps, &id, "/ip4/10.0.0.1/tcp/1", PEERSTORE_TTL_PERMANENT, 0), 0);
	assert_int_equal(add_one(ps, &id, "/ip4/10.0.0.2/tcp/2", 1000 * SEC, 0), 0);
	assert_int_equal(live(ps, &id, 999), 2);
	assert_int_equal(live(ps, &id, 1000000000), 1); /* only the permanent one is left */
	/* Re-adding a permanent address with a TTL does not shorten it. */
	assert_int_equal(add_one(ps, &id, "/ip4/10.0.0.1/tcp/1", 5 * SEC, 0), 0);
	assert_int_equal(add_one(ps, &id, "/ip4/10.0.0.2/tcp/2", 1000 * SEC, 0), 0);
	/* Disconnect: permanent addresses get a 20 s TTL, others keep theirs. */
	assert_int_equal(peerstore_update_addrs_ttl(ps, &id, PEERSTORE_TTL_PERMANENT, 20 * SEC,
						    5 * SEC), 0);
	assert_true(has_addr(ps, &id, 24, "/ip4/10.0.0.1/tcp/1"));
	assert_false(has_addr(ps, &id, 25, "/ip4/10.0.0.1/tcp/1"));
	assert_true(has_addr(ps, &id, 500, "/ip4/10.0.0.2/tcp/2"));
	struct p2p_peer_id other = peer_n(2, NULL);
	assert_int_equal(peerstore_update_addrs_ttl(ps, &other, 1, 2, 0), AA_ENOENT);
	peerstore_free(ps);
}

static void test_peerstore_set_addrs_ttl_and_clear(void **state)
{
	struct peerstore *ps = peerstore_new(10, 8, 8);
	struct p2p_peer_id id = peer_n(1, NULL);
	assert_int_equal(add_one(ps, &id, "/ip4/10.0.0.1/tcp/1", 100 * SEC, 0), 0);
	assert_int_equal(add_one(ps, &id, "/ip4/10.0.0.2/tcp/2", PEERSTORE_TTL_PERMANENT, 0), 0);
	/* Shortens as well as extends. */
	assert_int_equal(peerstore_set_addrs_ttl(ps, &id, 10 * SEC, 0), 0);
	assert_int_equal(live(ps, &id, 9), 2);
	assert_int_equal(live(ps, &id, 10), 0);
	assert_int_equal(add_one(ps, &id, "/ip4/10.0.0.1/tcp/1", 100 * SEC, 20), 0);
	assert_int_equal(peerstore_set_addrs_ttl(ps, &id, 0, 20 * SEC), 0); /* 0 removes */
	assert_int_equal(live(ps, &id, 20), 0);
	assert_int_equal(add_one(ps, &id, "/ip4/10.0.0.1/tcp/1", 100 * SEC, 30), 0);
	assert_int_equal(peerstore_clear_addrs(ps, &id), 0);
	assert_int_equal(live(ps, &id, 30), 0);
	struct p2p_peer_id other = peer_n(2, NULL);
	assert_int_equal(peerstore_clear_addrs(ps, &other), AA_ENOENT);
	assert_int_equal(peerstore_set_addrs_ttl(ps, &other, 1, 0), AA_ENOENT);
	peerstore_free(ps);
}

static void test_peerstore_zero_ttl_add_does_nothing(void **state)
{
	struct peerstore *ps = peerstore_new(10, 8, 8);
	struct p2p_peer_id id = peer_n(1, NULL);
	assert_int_equal(add_one(ps, &id, "/ip4/10.0.0.1/tcp/1", 0, 0), 0);
	assert_false(peerstore_has_peer(ps, &id));
	peerstore_free(ps);
}

static void test_peerstore_addr_limit_keeps_longest_lived(void **state)
{
	struct peerstore *ps = peerstore_new(10, 2, 8);
	struct p2p_peer_id id = peer_n(1, NULL);
	assert_int_equal(add_one(ps, &id, "/ip4/10.0.0.1/tcp/1", 10 * SEC, 0), 0);
	assert_int_equal(add_one(ps, &id, "/ip4/10.0.0.2/tcp/2", 20 * SEC, 0), 0);
	/* Full: a longer-lived address replaces the one expiring first... */
	assert_int_equal(add_one(ps, &id, "/ip4/10.0.0.3/tcp/3", 30 * SEC, 0), 0);
	assert_int_equal(live(ps, &id, 0), 2);
	assert_false(has_addr(ps, &id, 0, "/ip4/10.0.0.1/tcp/1"));
	/* ...a shorter-lived one is dropped and reported. */
	assert_int_equal(add_one(ps, &id, "/ip4/10.0.0.4/tcp/4", 5 * SEC, 0), AA_ENOMEM);
	assert_false(has_addr(ps, &id, 0, "/ip4/10.0.0.4/tcp/4"));
	assert_true(has_addr(ps, &id, 0, "/ip4/10.0.0.2/tcp/2"));
	assert_true(has_addr(ps, &id, 0, "/ip4/10.0.0.3/tcp/3"));
	/* Expired addresses make room. */
	assert_int_equal(add_one(ps, &id, "/ip4/10.0.0.4/tcp/4", 5 * SEC, 25), 0);
	assert_int_equal(live(ps, &id, 25), 2);
	/* A batch of many addresses never exceeds the bound. */
	struct multiaddr many[20];
	for (int i = 0; i < 20; i++) {
		char text[64];
		snprintf(text, sizeof text, "/ip4/10.1.0.%d/tcp/%d", i, 1000 + i);
		many[i] = addr(text);
	}
	assert_int_equal(peerstore_add_addrs(ps, &id, many, 20, PEERSTORE_TTL_PERMANENT, 26 * SEC),
			 AA_ENOMEM);
	assert_int_equal(live(ps, &id, 26), 2);
	for (int i = 0; i < 20; i++)
		multiaddr_free(&many[i]);
	peerstore_free(ps);
}

static void test_peerstore_add_addrs_rejects_empty_addr(void **state)
{
	struct peerstore *ps = peerstore_new(10, 8, 8);
	struct p2p_peer_id id = peer_n(1, NULL);
	struct multiaddr two[2] = { addr("/ip4/1.2.3.4/tcp/1"), { NULL, 0 } };
	assert_int_equal(peerstore_add_addrs(ps, &id, two, 2, 10 * SEC, 0), AA_EINVAL);
	assert_false(peerstore_has_peer(ps, &id));
	multiaddr_free(&two[0]);
	peerstore_free(ps);
}

static void test_peerstore_rejects_unset_peer_id(void **state)
{
	struct peerstore *ps = peerstore_new(10, 8, 8);
	struct p2p_peer_id unset = { 0 };
	const char *proto = "/ipfs/ping/1.0.0";
	struct multiaddr ma = addr("/ip4/1.2.3.4/tcp/1");
	assert_int_equal(peerstore_add_addrs(ps, &unset, &ma, 1, SEC, 0), AA_EINVAL);
	assert_int_equal(peerstore_set_protocols(ps, &unset, &proto, 1), AA_EINVAL);
	assert_int_equal(peerstore_set_agent_version(ps, &unset, "x"), AA_EINVAL);
	assert_int_equal(peerstore_record_latency(ps, &unset, 1), AA_EINVAL);
	assert_int_equal(peerstore_protect(ps, &unset, true), AA_EINVAL);
	assert_int_equal(peerstore_remove_peer(ps, &unset), AA_EINVAL);
	assert_int_equal(peerstore_peer_count(ps), 0);
	multiaddr_free(&ma);
	peerstore_free(ps);
}

static void test_peerstore_evicts_least_recently_updated_peer(void **state)
{
	struct peerstore *ps = peerstore_new(3, 8, 8);
	struct p2p_peer_id p1 = peer_n(1, NULL), p2 = peer_n(2, NULL), p3 = peer_n(3, NULL),
			   p4 = peer_n(4, NULL);
	assert_int_equal(add_one(ps, &p1, "/ip4/10.0.0.1/tcp/1", 100 * SEC, 0), 0);
	assert_int_equal(add_one(ps, &p2, "/ip4/10.0.0.2/tcp/1", 100 * SEC, 0), 0);
	assert_int_equal(add_one(ps, &p3, "/ip4/10.0.0.3/tcp/1", 100 * SEC, 0), 0);
	/* An update makes p1 the most recent; reads do not count. */
	assert_int_equal(peerstore_set_agent_version(ps, &p1, "go-libp2p"), 0);
	assert_int_equal(live(ps, &p2, 1), 1);
	assert_int_equal(peerstore_record_latency(ps, &p4, 1000), 0);
	assert_int_equal(peerstore_peer_count(ps), 3);
	assert_false(peerstore_has_peer(ps, &p2));
	assert_true(peerstore_has_peer(ps, &p1));
	assert_true(peerstore_has_peer(ps, &p3));
	assert_true(peerstore_has_peer(ps, &p4));
	/* Next victim is p3. */
	assert_int_equal(add_one(ps, &p2, "/ip4/10.0.0.2/tcp/1", 100 * SEC, 0), 0);
	assert_false(peerstore_has_peer(ps, &p3));
	peerstore_free(ps);
}

static void test_peerstore_protected_peers_are_never_evicted(void **state)
{
	struct peerstore *ps = peerstore_new(2, 8, 8);
	struct p2p_peer_id p1 = peer_n(1, NULL), p2 = peer_n(2, NULL), p3 = peer_n(3, NULL),
			   p4 = peer_n(4, NULL);
	assert_int_equal(peerstore_protect(ps, &p1, true), 0); /* creates p1 */
	assert_true(peerstore_is_protected(ps, &p1));
	assert_int_equal(peerstore_set_agent_version(ps, &p2, "a"), 0);
	assert_int_equal(peerstore_set_agent_version(ps, &p3, "b"), 0); /* evicts p2, not p1 */
	assert_false(peerstore_has_peer(ps, &p2));
	assert_int_equal(peerstore_protect(ps, &p3, true), 0);
	/* Everything is protected: a new peer is refused and nothing changes. */
	assert_int_equal(peerstore_set_agent_version(ps, &p4, "c"), AA_ENOMEM);
	assert_int_equal(peerstore_protect(ps, &p4, true), AA_ENOMEM);
	assert_false(peerstore_has_peer(ps, &p4));
	assert_int_equal(peerstore_peer_count(ps), 2);
	/* Unprotecting an unknown peer is a no-op. */
	assert_int_equal(peerstore_protect(ps, &p4, false), 0);
	assert_false(peerstore_has_peer(ps, &p4));
	/* Once unprotected, p1 is evictable again. */
	assert_int_equal(peerstore_protect(ps, &p1, false), 0);
	assert_false(peerstore_is_protected(ps, &p1));
	assert_int_equal(peerstore_set_agent_version(ps, &p4, "c"), 0);
	assert_false(peerstore_has_peer(ps, &p1));
	assert_true(peerstore_has_peer(ps, &p3));
	/* Explicit removal works on protected peers too. */
	assert_int_equal(peerstore_remove_peer(ps, &p3), 0);
	assert_int_equal(peerstore_remove_peer(ps, &p3), AA_ENOENT);
	assert_int_equal(peerstore_peer_count(ps), 1);
	peerstore_free(ps);
}

static void test_peerstore_many_peers_stay_within_bound(void **state)
{
	struct peerstore *ps = peerstore_new(50, 4, 4);
	for (int i = 0; i < 250; i++) {
		struct p2p_peer_id id = peer_n((uint8_t)i, NULL);
		assert_int_equal(add_one(ps, &id, "/ip4/10.0.0.1/tcp/1", 100 * SEC, 0), 0);
		if (i % 10 == 0)
			assert_int_equal(peerstore_protect(ps, &id, true), 0);
		assert_true(peerstore_peer_count(ps) <= 50);
	}
	/* The 25 protected peers survived; the rest are the most recent. */
	for (int i = 0; i < 250; i += 10) {
		struct p2p_peer_id id = peer_n((uint8_t)i, NULL);
		assert_true(peerstore_has_peer(ps, &id));
	}
	for (int i = 225; i < 250; i++) {
		struct p2p_peer_id id = peer_n((uint8_t)i, NULL);
		assert_true(peerstore_has_peer(ps, &id));
	}
	peerstore_free(ps);
}

static void test_peerstore_protocols_set_add_remove(void **state)
{
	struct peerstore *ps = peerstore_new(10, 8, 8);
	struct p2p_peer_id id = peer_n(1, NULL);
	const char *first[] = { "/ipfs/id/1.0.0", "/ipfs/ping/1.0.0", "/ipfs/id/1.0.0" };
	assert_int_equal(peerstore_set_protocols(ps, &id, first, 3), 0);
	const char *out[8];
	assert_int_equal(peerstore_get_protocols(ps, &id, out, 8), 2);
	assert_string_equal(out[0], "/ipfs/id/1.0.0");
	assert_string_equal(out[1], "/ipfs/ping/1.0.0");
	assert_true(peerstore_supports_protocol(ps, &id, "/ipfs/ping/1.0.0"));
	assert_false(peerstore_supports_protocol(ps, &id, "/ipfs/ping/1.0"));
	const char *more[] = { "/agentanycast/a2a/1.0", "/ipfs/ping/1.0.0" };
	assert_int_equal(peerstore_add_protocols(ps, &id, more, 2), 0);
	assert_int_equal(peerstore_get_protocols(ps, &id, out, 8), 3);
	assert_true(peerstore_supports_protocol(ps, &id, "/agentanycast/a2a/1.0"));
	/* Set replaces. */
	const char *only[] = { "/yamux/1.0.0" };
	assert_int_equal(peerstore_set_protocols(ps, &id, only, 1), 0);
	assert_int_equal(peerstore_get_protocols(ps, &id, out, 8), 1);
	assert_false(peerstore_supports_protocol(ps, &id, "/ipfs/id/1.0.0"));
	const char *gone[] = { "/yamux/1.0.0", "/not/there" };
	assert_int_equal(peerstore_remove_protocols(ps, &id, gone, 2), 0);
	assert_int_equal(peerstore_get_protocols(ps, &id, out, 8), 0);
	assert_false(peerstore_supports_protocol(ps, &id, "/yamux/1.0.0"));
	/* Unknown peer. */
	struct p2p_peer_id other = peer_n(2, NULL);
	assert_false(peerstore_supports_protocol(ps, &other, "/yamux/1.0.0"));
	assert_int_equal(peerstore_get_protocols(ps, &other, out, 8), 0);
	assert_int_equal(peerstore_remove_protocols(ps, &other, gone, 2), AA_ENOENT);
	peerstore_free(ps);
}

static void test_peerstore_protocol_limit_refuses_whole_set(void **state)
{
	struct peerstore *ps = peerstore_new(10, 8, 3);
	struct p2p_peer_id id = peer_n(1, NULL);
	const char *four[] = { "/a", "/b", "/c", "/d" };
	assert_int_equal(peerstore_set_protocols(ps, &id, four, 4), AA_ETOOBIG);
	assert_false(peerstore_has_peer(ps, &id)); /* nothing created */
	const char *three_with_dup[] = { "/a", "/b", "/c", "/a" };
	assert_int_equal(peerstore_set_protocols(ps, &id, three_with_dup, 4), 0);
	assert_int_equal(peerstore_add_protocols(ps, &id, &four[3], 1), AA_ETOOBIG);
	assert_false(peerstore_supports_protocol(ps, &id, "/d"));
	assert_int_equal(peerstore_get_protocols(ps, &id, NULL, 0), 3);
	assert_int_equal(peerstore_add_protocols(ps, &id, &four[1], 1), 0); /* already there */
	assert_int_equal(peerstore_get_protocols(ps, &id, NULL, 0), 3);
	peerstore_free(ps);
}

static void test_peerstore_rejects_bad_protocol_ids(void **state)
{
	struct peerstore *ps = peerstore_new(10, 8, 8);
	struct p2p_peer_id id = peer_n(1, NULL);
	char longest[PEERSTORE_PROTOCOL_MAX_LEN + 2];
	memset(longest, 'p', sizeof longest);
	longest[0] = '/';
	longest[PEERSTORE_PROTOCOL_MAX_LEN + 1] = '\0';
	const char *too_long[] = { longest };
	const char *empty[] = { "/ok", "" };
	const char *null[] = { "/ok", NULL };
	assert_int_equal(peerstore_set_protocols(ps, &id, too_long, 1), AA_EINVAL);
	assert_int_equal(peerstore_set_protocols(ps, &id, empty, 2), AA_EINVAL);
	assert_int_equal(peerstore_add_protocols(ps, &id, null, 2), AA_EINVAL);
	assert_false(peerstore_has_peer(ps, &id));
	longest[PEERSTORE_PROTOCOL_MAX_LEN] = '\0';
	assert_int_equal(peerstore_set_protocols(ps, &id, too_long, 1), 0);
	assert_true(peerstore_supports_protocol(ps, &id, longest));
	peerstore_free(ps);
}

static void test_peerstore_versions(void **state)
{
	struct peerstore *ps = peerstore_new(10, 8, 8);
	struct p2p_peer_id id = peer_n(1, NULL);
	assert_null(peerstore_get_agent_version(ps, &id));
	assert_int_equal(peerstore_set_agent_version(ps, &id, "agentanycastd/0.1.0"), 0);
	assert_int_equal(peerstore_set_protocol_version(ps, &id, "ipfs/0.1.0"), 0);
	assert_string_equal(peerstore_get_agent_version(ps, &id), "agentanycastd/0.1.0");
	assert_string_equal(peerstore_get_protocol_version(ps, &id), "ipfs/0.1.0");
	assert_int_equal(peerstore_set_agent_version(ps, &id, "js-libp2p/3.0.0"), 0);
	assert_string_equal(peerstore_get_agent_version(ps, &id), "js-libp2p/3.0.0");
	char big[PEERSTORE_VERSION_MAX_LEN + 2];
	memset(big, 'v', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(peerstore_set_agent_version(ps, &id, big), AA_ETOOBIG);
	assert_string_equal(peerstore_get_agent_version(ps, &id), "js-libp2p/3.0.0");
	assert_int_equal(peerstore_set_protocol_version(ps, &id, NULL), AA_EINVAL);
	peerstore_free(ps);
}

static void test_peerstore_public_key_mismatch_rejected(void **state)
{
	struct peerstore *ps = peerstore_new(10, 8, 8);
	uint8_t key1[32], key2[32], got[32];
	struct p2p_peer_id id1 = peer_n(1, key1);
	peer_n(2, key2);
	assert_int_equal(peerstore_set_public_key(ps, &id1, key2), AA_ECRYPTO);
	assert_false(peerstore_has_peer(ps, &id1));
	assert_int_equal(peerstore_set_public_key(ps, &id1, key1), 0);
	assert_true(peerstore_has_peer(ps, &id1));
	assert_true(peerstore_get_public_key(ps, &id1, got));
	assert_memory_equal(got, key1, 32);
	/* An identity PeerID carries its key even when the store never saw the peer. */
	struct p2p_peer_id id2 = peer_n(2, NULL);
	assert_true(peerstore_get_public_key(ps, &id2, got));
	assert_memory_equal(got, key2, 32);
	assert_false(peerstore_has_peer(ps, &id2));
	peerstore_free(ps);
}

static void test_peerstore_public_key_checked_against_sha256_peer_id(void **state)
{
	struct peerstore *ps = peerstore_new(10, 8, 8);
	uint8_t key1[32], key2[32], got[32];
	peer_n(1, key1);
	peer_n(2, key2);
	/* The hashed form of key1's PeerID, as old implementations made for every key. */
	uint8_t protobuf[P2P_ED25519_PUBLIC_KEY_PROTOBUF_BYTES];
	p2p_public_key_marshal(key1, protobuf);
	struct aa_buf mh;
	aa_buf_init(&mh);
	assert_int_equal(multihash_sum(MULTIHASH_SHA2_256, protobuf, sizeof protobuf, &mh), 0);
	struct p2p_peer_id id;
	assert_int_equal(p2p_peer_id_from_bytes(mh.p, mh.n, &id), 0);
	aa_buf_free(&mh);
	assert_false(peerstore_get_public_key(ps, &id, got)); /* a hash hides the key */
	assert_int_equal(peerstore_set_public_key(ps, &id, key2), AA_ECRYPTO);
	assert_int_equal(peerstore_set_public_key(ps, &id, key1), 0);
	assert_true(peerstore_get_public_key(ps, &id, got));
	assert_memory_equal(got, key1, 32);
	peerstore_free(ps);
}

static void test_peerstore_latency_is_ewma(void **state)
{
	struct peerstore *ps = peerstore_new(10, 8, 8);
	struct p2p_peer_id id = peer_n(1, NULL);
	uint64_t ns;
	assert_false(peerstore_get_latency(ps, &id, &ns));
	assert_int_equal(peerstore_record_latency(ps, &id, 100000), 0);
	assert_true(peerstore_get_latency(ps, &id, &ns));
	assert_true(ns == 100000); /* the first sample sets it */
	assert_int_equal(peerstore_record_latency(ps, &id, 200000), 0);
	assert_true(peerstore_get_latency(ps, &id, &ns));
	assert_true(ns == 110000); /* 0.9 * 100000 + 0.1 * 200000 */
	assert_int_equal(peerstore_record_latency(ps, &id, 200000), 0);
	assert_true(peerstore_get_latency(ps, &id, &ns));
	assert_true(ns == 119000);
	/* A steady rtt is a fixed point; absurd samples are clamped. */
	for (int i = 0; i < 500; i++)
		assert_int_equal(peerstore_record_latency(ps, &id, 200000), 0);
	assert_true(peerstore_get_latency(ps, &id, &ns));
	assert_true(ns == 200000);
	for (int i = 0; i < 500; i++)
		assert_int_equal(peerstore_record_latency(ps, &id, UINT64_MAX), 0);
	assert_true(peerstore_get_latency(ps, &id, &ns));
	assert_true(ns <= PEERSTORE_LATENCY_MAX_NS && ns > PEERSTORE_LATENCY_MAX_NS / 2);
	peerstore_free(ps);
}

static void test_peerstore_record_seq_only_increases(void **state)
{
	struct peerstore *ps = peerstore_new(10, 8, 8);
	struct p2p_peer_id id = peer_n(1, NULL);
	uint64_t seq;
	assert_false(peerstore_get_record_seq(ps, &id, &seq));
	assert_int_equal(peerstore_accept_record_seq(ps, &id, 5), 0);
	assert_int_equal(peerstore_accept_record_seq(ps, &id, 5), AA_EEXIST);
	assert_int_equal(peerstore_accept_record_seq(ps, &id, 4), AA_EEXIST);
	assert_true(peerstore_get_record_seq(ps, &id, &seq));
	assert_true(seq == 5);
	assert_int_equal(peerstore_accept_record_seq(ps, &id, 6), 0);
	assert_true(peerstore_get_record_seq(ps, &id, &seq));
	assert_true(seq == 6);
	peerstore_free(ps);
}

static void test_peerstore_gc_removes_unreachable_unprotected_peers(void **state)
{
	struct peerstore *ps = peerstore_new(10, 8, 8);
	struct p2p_peer_id p1 = peer_n(1, NULL), p2 = peer_n(2, NULL), p3 = peer_n(3, NULL),
			   p4 = peer_n(4, NULL), p5 = peer_n(5, NULL);
	const char *proto = "/ipfs/ping/1.0.0";
	assert_int_equal(add_one(ps, &p1, "/ip4/10.0.0.1/tcp/1", 10 * SEC, 0), 0);
	assert_int_equal(add_one(ps, &p2, "/ip4/10.0.0.2/tcp/1", 100 * SEC, 0), 0);
	assert_int_equal(peerstore_set_protocols(ps, &p3, &proto, 1), 0); /* no address */
	assert_int_equal(peerstore_protect(ps, &p4, true), 0);            /* connected */
	assert_int_equal(add_one(ps, &p5, "/ip4/10.0.0.5/tcp/1", 10 * SEC, 0), 0);
	assert_int_equal(peerstore_protect(ps, &p5, true), 0);
	assert_int_equal(peerstore_gc(ps, 5 * SEC), 1); /* only p3 */
	assert_int_equal(peerstore_gc(ps, 50 * SEC), 1); /* p1's address expired */
	assert_false(peerstore_has_peer(ps, &p1));
	assert_true(peerstore_has_peer(ps, &p2));
	assert_false(peerstore_has_peer(ps, &p3));
	assert_true(peerstore_has_peer(ps, &p4));
	assert_true(peerstore_has_peer(ps, &p5));
	assert_int_equal(live(ps, &p5, 50), 0); /* gc dropped the expired address */
	assert_int_equal(peerstore_gc(ps, 200 * SEC), 1); /* p2 */
	assert_int_equal(peerstore_peer_count(ps), 2);
	peerstore_free(ps);
}

static void test_peerstore_lists_peers(void **state)
{
	struct peerstore *ps = peerstore_new(10, 8, 8);
	struct p2p_peer_id ids[5];
	for (int i = 0; i < 5; i++) {
		ids[i] = peer_n((uint8_t)(i + 1), NULL);
		assert_int_equal(peerstore_record_latency(ps, &ids[i], 1), 0);
	}
	struct p2p_peer_id out[8];
	assert_int_equal(peerstore_list_peers(ps, out, 2), 5);
	assert_int_equal(peerstore_list_peers(ps, out, 8), 5);
	for (int i = 0; i < 5; i++) {
		int found = 0;
		for (int j = 0; j < 5; j++)
			found += p2p_peer_id_equal(&ids[i], &out[j]);
		assert_int_equal(found, 1);
	}
	peerstore_free(ps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peerstore_new_rejects_zero_bounds),
		cmocka_unit_test(test_peerstore_addrs_expire_after_ttl),
		cmocka_unit_test(test_peerstore_readding_addr_extends_but_never_shortens),
		cmocka_unit_test(test_peerstore_duplicate_addrs_stored_once),
		cmocka_unit_test(test_peerstore_permanent_addrs_retimed_on_disconnect),
		cmocka_unit_test(test_peerstore_set_addrs_ttl_and_clear),
		cmocka_unit_test(test_peerstore_zero_ttl_add_does_nothing),
		cmocka_unit_test(test_peerstore_addr_limit_keeps_longest_lived),
		cmocka_unit_test(test_peerstore_add_addrs_rejects_empty_addr),
		cmocka_unit_test(test_peerstore_rejects_unset_peer_id),
		cmocka_unit_test(test_peerstore_evicts_least_recently_updated_peer),
		cmocka_unit_test(test_peerstore_protected_peers_are_never_evicted),
		cmocka_unit_test(test_peerstore_many_peers_stay_within_bound),
		cmocka_unit_test(test_peerstore_protocols_set_add_remove),
		cmocka_unit_test(test_peerstore_protocol_limit_refuses_whole_set),
		cmocka_unit_test(test_peerstore_rejects_bad_protocol_ids),
		cmocka_unit_test(test_peerstore_versions),
		cmocka_unit_test(test_peerstore_public_key_mismatch_rejected),
		cmocka_unit_test(test_peerstore_public_key_checked_against_sha256_peer_id),
		cmocka_unit_test(test_peerstore_latency_is_ewma),
		cmocka_unit_test(test_peerstore_record_seq_only_increases),
		cmocka_unit_test(test_peerstore_gc_removes_unreachable_unprotected_peers),
		cmocka_unit_test(test_peerstore_lists_peers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
