/* mdns_packet: the DNS messages of libp2p mDNS peer discovery (libp2p specs
 * discovery/mdns.md on RFC 6762/6763), built and parsed with ldns. No I/O: bytes in, bytes
 * or a struct out. Built packets are heap buffers the caller frees; a parsed message owns
 * its multiaddrs until mdns_message_free(). Pure functions, any thread.
 *
 * What goes on the wire (checked against go-libp2p/zeroconf and js-libp2p @libp2p/mdns):
 *   query:    one question  _p2p._udp.local PTR IN
 *   response: answer        _p2p._udp.local PTR <instance>._p2p._udp.local
 *             additional    <instance>._p2p._udp.local TXT "dnsaddr=<ma>/p2p/<id>" ...
 *                           <instance>._p2p._udp.local SRV 0 0 <port> <instance>.local
 *                           <instance>.local A / AAAA (first IPv4 / IPv6 address advertised)
 * All dnsaddr strings go in ONE TXT record: zeroconf keeps only the last TXT record it sees
 * per instance, while js-libp2p reads every string of every TXT record. zeroconf also drops
 * an instance unless the same packet carries an A or AAAA record for the SRV target, which
 * is why SRV/A/AAAA are sent although libp2p itself reads only the TXT strings. */
#ifndef AA_P2P_MDNS_PACKET_H
#define AA_P2P_MDNS_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2p/multiaddr.h"
#include "p2p/peerid.h"

#define MDNS_PORT 5353
#define MDNS_IPV4_GROUP "224.0.0.251"
#define MDNS_IPV6_GROUP "ff02::fb"
/* The libp2p service name (mdns.md "Definitions"), as the DNS name queried. */
#define MDNS_SERVICE_NAME "_p2p._udp.local"
/* RFC 6762 §17: a Multicast DNS packet, headers excluded, is at most 9000 bytes. */
#define MDNS_MAX_PACKET 9000
/* Questions plus records a packet may declare before we refuse it unparsed. */
#define MDNS_MAX_RECORDS 128
/* Peers and addresses taken from one packet; more are skipped (counted in n_skipped). */
#define MDNS_MAX_PEERS_PER_PACKET 8
#define MDNS_MAX_ADDRS_PER_PEER 16
/* Addresses we put in one response: 24 strings of at most 255 bytes keep it under 9000. */
#define MDNS_MAX_ADVERTISED_ADDRS 24
/* RFC 6763 §6.1: one TXT string is at most 255 bytes. */
#define MDNS_TXT_STRING_MAX 255
/* mdns.md: the peer-name is a random lower-case alphanumeric string of at least 32 and
 * (one DNS label) at most 63 characters. */
#define MDNS_INSTANCE_MIN_LEN 32
#define MDNS_INSTANCE_MAX_LEN 63
/* TTL of every record we send (RFC 6762 §10 recommends 120 s for host records; js-libp2p
 * uses 120 s for all). Legacy unicast answers use at most 10 s (RFC 6762 §6.7). */
#define MDNS_TTL 120
#define MDNS_LEGACY_TTL 10

/* Fills out with a fresh random instance name of 32–63 characters [a-z0-9], NUL-terminated. */
void mdns_instance_name_generate(char out[MDNS_INSTANCE_MAX_LEN + 1]);
/* True if s is 1–63 characters of [a-z0-9-] (what we are willing to put in a label). */
bool mdns_instance_name_valid(const char *s);

/* True if a listen address is worth advertising on the local link (as go-libp2p decides):
 * it starts with /ip4 or /ip6 (not the unspecified address) or a /dns* name under .local,
 * and has no relay, WebSocket or WebTransport component. */
bool mdns_addr_is_advertisable(const struct multiaddr *ma);

/* The "find all peers" query (mdns.md "Request"): ID 0, one question _p2p._udp.local PTR
 * IN. *out is a heap buffer the caller frees. */
int mdns_packet_build_query(uint8_t **out, size_t *out_len);

struct mdns_response_params {
	const char *instance;          /* our peer-name (mdns_instance_name_valid) */
	const struct p2p_peer_id *peer; /* our PeerID, appended to each address as /p2p/<id> */
	const struct multiaddr *addrs; /* listen addresses, borrowed; a trailing /p2p/<our id>
					  is accepted, any other /p2p suffix is skipped */
	size_t n_addrs;
	uint16_t id;         /* message ID: 0 for multicast, the query's ID for legacy unicast */
	bool legacy_unicast; /* RFC 6762 §6.7: repeat the question, TTL ≤ 10 s, no cache-flush */
	bool all_answers;    /* put SRV/TXT/A/AAAA in the answer section (a direct lookup of
				our instance or host name) instead of the additional section */
	bool answer_meta;    /* add _services._dns-sd._udp.local PTR _p2p._udp.local (RFC 6763
				§9), for a service-type enumeration query */
};

/* Our response (mdns.md "Response"). Addresses that are not advertisable or whose TXT string
 * would exceed 255 bytes are left out; at most MDNS_MAX_ADVERTISED_ADDRS are used.
 * Returns 0, AA_ENOENT if no address is left (there is nothing to announce), or AA_EINVAL
 * for bad parameters. */
int mdns_packet_build_response(const struct mdns_response_params *params, uint8_t **out,
			       size_t *out_len);

/* One peer found in a response: its addresses without the /p2p/<id> suffix. */
struct mdns_peer_info {
	struct p2p_peer_id id;
	size_t n_addrs;
	struct multiaddr addrs[MDNS_MAX_ADDRS_PER_PEER];
};

struct mdns_message {
	uint16_t id;
	bool is_response;
	/* Queries (QR = 0). */
	bool asks_peers;     /* a question _p2p._udp.local PTR (or ANY) */
	bool asks_meta;      /* a question _services._dns-sd._udp.local PTR (or ANY) */
	bool asks_self;      /* a question for our instance (SRV/TXT/ANY) or host (A/AAAA/ANY) */
	bool knows_self;     /* RFC 6762 §7.1: the known answers list our PTR with at least half
				our TTL left, so we need not answer */
	bool wants_unicast;  /* the QU bit on a question we answer (RFC 6762 §5.4) */
	/* Responses (QR = 1): every "dnsaddr=" TXT string of every record named
	 * <instance>._p2p._udp.local, in any section, grouped by the PeerID that ends it. */
	size_t n_peers;
	struct mdns_peer_info peers[MDNS_MAX_PEERS_PER_PACKET];
	size_t n_skipped; /* dnsaddr strings left out: unparsable, no /p2p suffix, over a bound */
};

/* Parses one received packet. self_instance (may be NULL) is our instance name, to
 * recognise questions about us. Returns 0 with *out filled (free it with
 * mdns_message_free), or without touching ownership: AA_ETRUNC (shorter than a header),
 * AA_ETOOBIG (over MDNS_MAX_PACKET bytes or MDNS_MAX_RECORDS records), AA_ENOTSUP (opcode or
 * rcode not 0: RFC 6762 §18.3, §18.11 say to ignore it), AA_EINVAL (malformed). */
int mdns_packet_parse(const uint8_t *p, size_t n, const char *self_instance,
		      struct mdns_message *out);
void mdns_message_free(struct mdns_message *m);

#endif
