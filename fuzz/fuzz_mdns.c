/* fuzz_mdns: arbitrary bytes as a received mDNS packet (mdns_packet_parse). Invariants:
 * a parsed message respects every bound and holds only valid multiaddrs; a query never
 * yields peers; and each peer found, announced again with our own builder, parses back to
 * the same PeerID with exactly the addresses the builder kept. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "p2p/mdns_packet.h"

#define CHECK(cond)                       \
	do {                              \
		if (!(cond))              \
			__builtin_trap(); \
	} while (0)

/* An instance name the fuzzer can hit: seeds built for it ask about "self". */
static const char self_instance[] = "fuzzselfinstancefuzzselfinstance";

static bool text_fits(const struct multiaddr *ma, const struct p2p_peer_id *id)
{
	char *text;
	char peer[P2P_PEER_ID_STRING_MAX];
	CHECK(multiaddr_to_string(ma, &text) == 0);
	CHECK(p2p_peer_id_to_string(id, peer, sizeof peer) > 0);
	size_t n = strlen("dnsaddr=") + strlen(text) + strlen("/p2p/") + strlen(peer);
	free(text);
	return n <= MDNS_TXT_STRING_MAX;
}

static void check_round_trip(const struct mdns_peer_info *peer)
{
	struct multiaddr kept[MDNS_MAX_ADDRS_PER_PEER];
	size_t n_kept = 0;
	for (size_t i = 0; i < peer->n_addrs && n_kept < MDNS_MAX_ADVERTISED_ADDRS; i++)
		if (mdns_addr_is_advertisable(&peer->addrs[i]) &&
		    text_fits(&peer->addrs[i], &peer->id))
			kept[n_kept++] = peer->addrs[i];
	struct mdns_response_params params = {
		.instance = self_instance,
		.peer = &peer->id,
		.addrs = peer->addrs,
		.n_addrs = peer->n_addrs,
	};
	uint8_t *wire;
	size_t len;
	int rc = mdns_packet_build_response(&params, &wire, &len);
	if (n_kept == 0) {
		CHECK(rc == AA_ENOENT);
		return;
	}
	CHECK(rc == 0);
	struct mdns_message again;
	CHECK(mdns_packet_parse(wire, len, NULL, &again) == 0);
	CHECK(again.is_response && again.n_peers == 1 && again.n_skipped == 0);
	CHECK(p2p_peer_id_equal(&again.peers[0].id, &peer->id));
	CHECK(again.peers[0].n_addrs == n_kept);
	for (size_t i = 0; i < n_kept; i++)
		CHECK(multiaddr_equal(&again.peers[0].addrs[i], &kept[i]));
	mdns_message_free(&again);
	free(wire);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mdns_message msg;
	int rc = mdns_packet_parse(data, size, self_instance, &msg);
	if (rc != 0) {
		CHECK(rc == AA_ETRUNC || rc == AA_ETOOBIG || rc == AA_ENOTSUP || rc == AA_EINVAL);
		CHECK(msg.n_peers == 0);
		return 0;
	}
	CHECK(msg.n_peers <= MDNS_MAX_PEERS_PER_PACKET);
	if (!msg.is_response)
		CHECK(msg.n_peers == 0 && msg.n_skipped == 0);
	for (size_t i = 0; i < msg.n_peers; i++) {
		const struct mdns_peer_info *peer = &msg.peers[i];
		CHECK(peer->n_addrs >= 1 && peer->n_addrs <= MDNS_MAX_ADDRS_PER_PEER);
		for (size_t k = 0; k < peer->n_addrs; k++) {
			char *text;
			CHECK(peer->addrs[k].len > 0);
			CHECK(multiaddr_to_string(&peer->addrs[k], &text) == 0);
			free(text);
		}
		check_round_trip(peer);
	}
	mdns_message_free(&msg);
	return 0;
}
