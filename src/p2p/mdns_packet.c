/* mdns_packet: builds and parses libp2p mDNS discovery messages with ldns (see the header
 * for the record layout and why it looks the way it does). Names from the wire are compared
 * in ldns's uncompressed wire form, ignoring ASCII case (RFC 6762 §16). */
#include "p2p/mdns_packet.h"

#include <ldns/ldns.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "base/mem.h"

/* Wire forms of the names we match; each string literal's NUL is the root label. */
static const uint8_t service_wire[] = "\x04_p2p\x04_udp\x05local";
static const uint8_t meta_wire[] = "\x09_services\x07_dns-sd\x04_udp\x05local";
static const uint8_t local_wire[] = "\x05local";

#define DNSADDR_PREFIX "dnsaddr="
#define DNSADDR_PREFIX_LEN (sizeof DNSADDR_PREFIX - 1)
/* RFC 6762 §10.2: the top bit of rrclass in a response is the cache-flush bit, and §18.12:
 * in a question it asks for a unicast reply. */
#define CLASS_TOP_BIT 0x8000u
/* SRV needs a port; go-libp2p uses 4001 when it has none to offer, so do we. */
#define FALLBACK_SRV_PORT 4001

/* ldns reports out-of-memory as NULL; like aa_malloc, we do not limp on without memory. */
static void *must(void *p)
{
	if (!p) {
		fputs("mdns_packet: ldns out of memory\n", stderr);
		abort();
	}
	return p;
}

void mdns_instance_name_generate(char out[MDNS_INSTANCE_MAX_LEN + 1])
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	aa_require_sodium();
	size_t len = MDNS_INSTANCE_MIN_LEN +
		     randombytes_uniform(MDNS_INSTANCE_MAX_LEN - MDNS_INSTANCE_MIN_LEN + 1);
	for (size_t i = 0; i < len; i++)
		out[i] = alphabet[randombytes_uniform(sizeof alphabet - 1)];
	out[len] = '\0';
}

bool mdns_instance_name_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > MDNS_INSTANCE_MAX_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* ---- addresses ------------------------------------------------------------------------ */

static bool ends_with_local(const uint8_t *name, size_t n)
{
	static const char suffix[] = ".local";
	size_t k = sizeof suffix - 1;
	if (n > 0 && name[n - 1] == '.') /* a fully qualified "foo.local." */
		n--;
	return n > k && strncasecmp((const char *)name + n - k, suffix, k) == 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

bool mdns_addr_is_advertisable(const struct multiaddr *ma)
{
	size_t off = 0;
	struct multiaddr_component c;
	if (multiaddr_next(ma, &off, &c) != 1)
		return false;
	switch (c.code) {
	case MA_IP4:
	case MA_IP6:
		if (all_zero(c.value, c.value_len)) /* 0.0.0.0 and :: are not dialable */
			return false;
		break;
	case MA_DNS:
	case MA_DNS4:
	case MA_DNS6:
	case MA_DNSADDR:
		/* Only .local names resolve on the link without unicast DNS (RFC 6762 §3). */
		if (!ends_with_local(c.value, c.value_len))
			return false;
		break;
	default:
		return false;
	}
	int rc;
	while ((rc = multiaddr_next(ma, &off, &c)) == 1) {
		switch (c.code) {
		case MA_P2P_CIRCUIT: /* needs a relay, not the link */
		case MA_WS:
		case MA_WSS:
		case MA_WEBTRANSPORT: /* browser transports do not use mDNS */
			return false;
		default:
			break;
		}
	}
	return rc == 0;
}

/* The last component of ma, or false if it has none or is malformed. */
static bool last_component(const struct multiaddr *ma, struct multiaddr_component *last)
{
	size_t off = 0;
	struct multiaddr_component c;
	bool any = false;
	int rc;
	while ((rc = multiaddr_next(ma, &off, &c)) == 1) {
		*last = c;
		any = true;
	}
	return rc == 0 && any;
}

/* ---- building ------------------------------------------------------------------------- */

static ldns_rr *new_rr(ldns_rr_type type, const char *owner, uint32_t ttl, bool cache_flush)
{
	ldns_rr *rr = must(ldns_rr_new());
	ldns_rr_set_owner(rr, must(ldns_dname_new_frm_str(owner)));
	ldns_rr_set_type(rr, type);
	unsigned rrclass = LDNS_RR_CLASS_IN | (cache_flush ? CLASS_TOP_BIT : 0);
	ldns_rr_set_class(rr, (ldns_rr_class)rrclass);
	ldns_rr_set_ttl(rr, ttl);
	return rr;
}

static void push_rdf(ldns_rr *rr, ldns_rdf *rdf)
{
	if (!ldns_rr_push_rdf(rr, must(rdf))) {
		fputs("mdns_packet: ldns cannot add rdata\n", stderr);
		abort();
	}
}

static void push_rr(ldns_pkt *pkt, ldns_pkt_section section, ldns_rr *rr)
{
	if (!ldns_pkt_push_rr(pkt, section, rr)) {
		fputs("mdns_packet: ldns cannot add a record\n", stderr);
		abort();
	}
}

static int finish(ldns_pkt *pkt, uint8_t **out, size_t *out_len)
{
	uint8_t *wire = NULL;
	size_t size = 0;
	ldns_status st = ldns_pkt2wire(&wire, pkt, &size);
	ldns_pkt_free(pkt);
	if (st != LDNS_STATUS_OK || !wire) {
		free(wire);
		return AA_EINVAL;
	}
	if (size > MDNS_MAX_PACKET) { /* cannot happen within our bounds; never send it */
		free(wire);
		return AA_ETOOBIG;
	}
	*out = wire;
	*out_len = size;
	return 0;
}

static void push_question(ldns_pkt *pkt, const char *name)
{
	ldns_rr *q = new_rr(LDNS_RR_TYPE_PTR, name, 0, false);
	ldns_rr_set_question(q, true);
	push_rr(pkt, LDNS_SECTION_QUESTION, q);
}

int mdns_packet_build_query(uint8_t **out, size_t *out_len)
{
	/* RFC 6762 §18.1: multicast queries use ID 0; §18.2-18.11: all flags zero. */
	ldns_pkt *pkt = must(ldns_pkt_new());
	ldns_pkt_set_id(pkt, 0);
	push_question(pkt, MDNS_SERVICE_NAME ".");
	return finish(pkt, out, out_len);
}

/* What we advertise, distilled from the listen addresses. */
struct advert {
	size_t n_txt;
	char txt[MDNS_MAX_ADVERTISED_ADDRS][MDNS_TXT_STRING_MAX + 1];
	bool has_ip4, has_ip6;
	uint8_t ip4[4], ip6[16];
	uint16_t port; /* 0 until found */
};

/* Remembers the first IPv4, IPv6 address and TCP/UDP port of an advertised address. */
static void note_ip_and_port(struct advert *ad, const struct multiaddr *ma)
{
	size_t off = 0;
	struct multiaddr_component c;
	while (multiaddr_next(ma, &off, &c) == 1) {
		if (c.code == MA_IP4 && c.value_len == 4 && !ad->has_ip4) {
			memcpy(ad->ip4, c.value, 4);
			ad->has_ip4 = true;
		} else if (c.code == MA_IP6 && c.value_len == 16 && !ad->has_ip6) {
			memcpy(ad->ip6, c.value, 16);
			ad->has_ip6 = true;
		} else if ((c.code == MA_TCP || c.code == MA_UDP) && c.value_len == 2 &&
			   !ad->port) {
			ad->port = (uint16_t)(c.value[0] << 8 | c.value[1]);
		}
	}
}

/* Adds "dnsaddr=<ma>/p2p/<id>" for one listen address if it qualifies. */
static void add_address(struct advert *ad, const struct multiaddr *addr,
			const struct p2p_peer_id *peer, const char *peer_text)
{
	if (ad->n_txt >= MDNS_MAX_ADVERTISED_ADDRS || !mdns_addr_is_advertisable(addr))
		return;
	struct multiaddr ma;
	if (multiaddr_copy(addr, &ma) != 0)
		return;
	struct multiaddr_component last = { 0 };
	if (last_component(&ma, &last) && last.code == MA_P2P) {
		/* Our own /p2p suffix may already be there; someone else's means a relay path
		 * or a mistake, and either way not our address. */
		if (last.value_len != peer->len ||
		    memcmp(last.value, peer->bytes, peer->len) != 0) {
			multiaddr_free(&ma);
			return;
		}
		multiaddr_decapsulate_code(&ma, MA_P2P);
	}
	char *text = NULL;
	if (ma.len > 0 && multiaddr_to_string(&ma, &text) == 0) {
		char *slot = ad->txt[ad->n_txt];
		int n = snprintf(slot, MDNS_TXT_STRING_MAX + 1, DNSADDR_PREFIX "%s/p2p/%s", text,
				 peer_text);
		bool duplicate = false;
		for (size_t i = 0; i < ad->n_txt; i++)
			duplicate = duplicate || strcmp(ad->txt[i], slot) == 0;
		if (n > 0 && n <= MDNS_TXT_STRING_MAX && !duplicate) {
			ad->n_txt++;
			note_ip_and_port(ad, &ma);
		}
	}
	free(text);
	multiaddr_free(&ma);
}

static ldns_rdf *txt_string(const char *s)
{
	uint8_t buf[MDNS_TXT_STRING_MAX + 1];
	size_t n = strlen(s); /* ≤ 255, checked by add_address */
	buf[0] = (uint8_t)n;
	memcpy(buf + 1, s, n);
	return ldns_rdf_new_frm_data(LDNS_RDF_TYPE_STR, n + 1, buf);
}

/* The records that describe our instance: TXT, SRV and the host's A/AAAA. */
static void push_instance_records(ldns_pkt *pkt, ldns_pkt_section section,
				  const struct advert *ad, const char *instance_name,
				  const char *host_name, uint32_t ttl, bool flush)
{
	/* mdns.md "Response": the TXT strings are what libp2p peers read. */
	ldns_rr *txt = new_rr(LDNS_RR_TYPE_TXT, instance_name, ttl, flush);
	for (size_t i = 0; i < ad->n_txt; i++)
		push_rdf(txt, txt_string(ad->txt[i]));
	push_rr(pkt, section, txt);

	/* mdns.md "Find All Response": SRV and address records for DNS-SD tools, and for
	 * zeroconf, which needs an address record to accept the instance at all. */
	ldns_rr *srv = new_rr(LDNS_RR_TYPE_SRV, instance_name, ttl, flush);
	push_rdf(srv, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, 0)); /* priority */
	push_rdf(srv, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, 0)); /* weight */
	push_rdf(srv, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16,
					    ad->port ? ad->port : FALLBACK_SRV_PORT));
	push_rdf(srv, ldns_dname_new_frm_str(host_name));
	push_rr(pkt, section, srv);
	if (ad->has_ip4) {
		ldns_rr *a = new_rr(LDNS_RR_TYPE_A, host_name, ttl, flush);
		push_rdf(a, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, 4, ad->ip4));
		push_rr(pkt, section, a);
	}
	if (ad->has_ip6) {
		ldns_rr *aaaa = new_rr(LDNS_RR_TYPE_AAAA, host_name, ttl, flush);
		push_rdf(aaaa, ldns_rdf_new_frm_data(LDNS_RDF_TYPE_AAAA, 16, ad->ip6));
		push_rr(pkt, section, aaaa);
	}
}

int mdns_packet_build_response(const struct mdns_response_params *params, uint8_t **out,
			       size_t *out_len)
{
	if (!params || !mdns_instance_name_valid(params->instance) || !params->peer ||
	    params->peer->len == 0 || (params->n_addrs > 0 && !params->addrs))
		return AA_EINVAL;
	char peer_text[P2P_PEER_ID_STRING_MAX];
	if (p2p_peer_id_to_string(params->peer, peer_text, sizeof peer_text) < 0)
		return AA_EINVAL;
	struct advert *ad = aa_calloc(1, sizeof *ad);
	for (size_t i = 0; i < params->n_addrs; i++)
		add_address(ad, &params->addrs[i], params->peer, peer_text);
	if (ad->n_txt == 0) {
		free(ad);
		return AA_ENOENT;
	}

	char instance_name[MDNS_INSTANCE_MAX_LEN + sizeof "." MDNS_SERVICE_NAME "."];
	char host_name[MDNS_INSTANCE_MAX_LEN + sizeof ".local."];
	snprintf(instance_name, sizeof instance_name, "%s." MDNS_SERVICE_NAME ".",
		 params->instance);
	snprintf(host_name, sizeof host_name, "%s.local.", params->instance);
	bool legacy = params->legacy_unicast;
	uint32_t ttl = legacy ? MDNS_LEGACY_TTL : MDNS_TTL;

	ldns_pkt *pkt = must(ldns_pkt_new());
	ldns_pkt_set_id(pkt, params->id);
	ldns_pkt_set_qr(pkt, true);
	ldns_pkt_set_aa(pkt, true); /* RFC 6762 §18.4: responses set AA */
	if (legacy)                 /* §6.7: repeat the question for legacy resolvers */
		push_question(pkt, MDNS_SERVICE_NAME ".");
	ldns_rr *ptr = new_rr(LDNS_RR_TYPE_PTR, MDNS_SERVICE_NAME ".", ttl, false);
	push_rdf(ptr, ldns_dname_new_frm_str(instance_name));
	push_rr(pkt, LDNS_SECTION_ANSWER, ptr);
	if (params->answer_meta) {
		ldns_rr *meta =
			new_rr(LDNS_RR_TYPE_PTR, "_services._dns-sd._udp.local.", ttl, false);
		push_rdf(meta, ldns_dname_new_frm_str(MDNS_SERVICE_NAME "."));
		push_rr(pkt, LDNS_SECTION_ANSWER, meta);
	}
	/* RFC 6762 §10.2: unique records carry the cache-flush bit, except in legacy unicast
	 * answers (§6.7); the PTR records above are shared and never do. */
	ldns_pkt_section section =
		params->all_answers ? LDNS_SECTION_ANSWER : LDNS_SECTION_ADDITIONAL;
	push_instance_records(pkt, section, ad, instance_name, host_name, ttl, !legacy);
	free(ad);
	return finish(pkt, out, out_len);
}

/* ---- parsing -------------------------------------------------------------------------- */

static uint16_t read16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static bool bytes_equal_nocase(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t x = a[i], y = b[i];
		if (x >= 'A' && x <= 'Z')
			x = (uint8_t)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (uint8_t)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

/* A dname rdf as ldns left it: uncompressed wire form ending in the root label. */
static bool name_is(const ldns_rdf *name, const uint8_t *wire, size_t wire_len)
{
	return name && ldns_rdf_get_type(name) == LDNS_RDF_TYPE_DNAME &&
	       ldns_rdf_size(name) == wire_len &&
	       bytes_equal_nocase(ldns_rdf_data(name), wire, wire_len);
}

/* True if name is <label>.<suffix>; label and label_len then point into it. */
static bool name_is_child_of(const ldns_rdf *name, const uint8_t *suffix, size_t suffix_len,
			     const uint8_t **label, size_t *label_len)
{
	if (!name || ldns_rdf_get_type(name) != LDNS_RDF_TYPE_DNAME)
		return false;
	const uint8_t *p = ldns_rdf_data(name);
	size_t n = ldns_rdf_size(name);
	if (n < 1 || p[0] == 0 || p[0] > 63 || n != 1 + (size_t)p[0] + suffix_len)
		return false;
	if (!bytes_equal_nocase(p + 1 + p[0], suffix, suffix_len))
		return false;
	*label = p + 1;
	*label_len = p[0];
	return true;
}

static bool name_is_self(const ldns_rdf *name, const uint8_t *suffix, size_t suffix_len,
			 const char *self)
{
	const uint8_t *label;
	size_t len;
	return self && name_is_child_of(name, suffix, suffix_len, &label, &len) &&
	       len == strlen(self) && bytes_equal_nocase(label, (const uint8_t *)self, len);
}

static bool class_is_in(uint16_t rrclass)
{
	uint16_t c = rrclass & (uint16_t)~CLASS_TOP_BIT;
	return c == LDNS_RR_CLASS_IN || c == LDNS_RR_CLASS_ANY;
}

static bool type_in(ldns_rr_type t, ldns_rr_type a, ldns_rr_type b)
{
	return t == a || t == b || t == LDNS_RR_TYPE_ANY;
}

static void read_questions(const ldns_pkt *pkt, const char *self, struct mdns_message *out)
{
	const ldns_rr_list *qs = ldns_pkt_question(pkt);
	for (size_t i = 0; i < ldns_rr_list_rr_count(qs); i++) {
		const ldns_rr *q = ldns_rr_list_rr(qs, i);
		uint16_t rrclass = (uint16_t)ldns_rr_get_class(q);
		if (!class_is_in(rrclass))
			continue;
		ldns_rr_type t = ldns_rr_get_type(q);
		const ldns_rdf *name = ldns_rr_owner(q);
		bool ours = false;
		if (type_in(t, LDNS_RR_TYPE_PTR, LDNS_RR_TYPE_PTR) &&
		    name_is(name, service_wire, sizeof service_wire))
			ours = out->asks_peers = true;
		else if (type_in(t, LDNS_RR_TYPE_PTR, LDNS_RR_TYPE_PTR) &&
			 name_is(name, meta_wire, sizeof meta_wire))
			ours = out->asks_meta = true;
		else if ((type_in(t, LDNS_RR_TYPE_SRV, LDNS_RR_TYPE_TXT) &&
			  name_is_self(name, service_wire, sizeof service_wire, self)) ||
			 (type_in(t, LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA) &&
			  name_is_self(name, local_wire, sizeof local_wire, self)))
			ours = out->asks_self = true;
		if (ours && (rrclass & CLASS_TOP_BIT))
			out->wants_unicast = true;
	}
}

/* RFC 6762 §7.1: a query may list answers it already holds; ours among them, with at least
 * half its TTL left, means we need not answer. */
static void read_known_answers(const ldns_pkt *pkt, const char *self, struct mdns_message *out)
{
	const ldns_rr_list *an = ldns_pkt_answer(pkt);
	for (size_t i = 0; self && i < ldns_rr_list_rr_count(an); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_PTR && ldns_rr_rd_count(rr) >= 1 &&
		    ldns_rr_ttl(rr) >= MDNS_TTL / 2 &&
		    name_is(ldns_rr_owner(rr), service_wire, sizeof service_wire) &&
		    name_is_self(ldns_rr_rdf(rr, 0), service_wire, sizeof service_wire, self))
			out->knows_self = true;
	}
}

static struct mdns_peer_info *peer_slot(struct mdns_message *out, const struct p2p_peer_id *id)
{
	for (size_t i = 0; i < out->n_peers; i++)
		if (p2p_peer_id_equal(&out->peers[i].id, id))
			return &out->peers[i];
	if (out->n_peers >= MDNS_MAX_PEERS_PER_PACKET)
		return NULL;
	struct mdns_peer_info *slot = &out->peers[out->n_peers++];
	slot->id = *id;
	slot->n_addrs = 0;
	return slot;
}

/* Adds ma (ownership passes) to the peer's list, or frees it if it is a repeat or over the
 * bound. Returns false if it was dropped for the bound. */
static bool peer_add_addr(struct mdns_peer_info *peer, struct multiaddr *ma)
{
	for (size_t i = 0; i < peer->n_addrs; i++) {
		if (multiaddr_equal(&peer->addrs[i], ma)) {
			multiaddr_free(ma);
			return true;
		}
	}
	if (peer->n_addrs >= MDNS_MAX_ADDRS_PER_PEER) {
		multiaddr_free(ma);
		return false;
	}
	peer->addrs[peer->n_addrs++] = *ma;
	return true;
}

/* One TXT string: "dnsaddr=<multiaddr ending in /p2p/<id>>" (mdns.md "Response"). Other
 * keys are someone else's business and ignored; bad dnsaddr values are counted. */
static void read_txt_string(const uint8_t *s, size_t n, struct mdns_message *out)
{
	if (n < DNSADDR_PREFIX_LEN ||
	    !bytes_equal_nocase(s, (const uint8_t *)DNSADDR_PREFIX, DNSADDR_PREFIX_LEN))
		return;
	s += DNSADDR_PREFIX_LEN;
	n -= DNSADDR_PREFIX_LEN;
	char text[MDNS_TXT_STRING_MAX + 1];
	struct multiaddr ma;
	struct multiaddr_component last = { 0 };
	struct p2p_peer_id id;
	if (n == 0 || memchr(s, '\0', n)) { /* a NUL would cut the text short unseen */
		out->n_skipped++;
		return;
	}
	memcpy(text, s, n); /* n ≤ 255 - 8: one TXT string */
	text[n] = '\0';
	if (multiaddr_parse(text, &ma, NULL) != 0) {
		out->n_skipped++;
		return;
	}
	if (!last_component(&ma, &last) || last.code != MA_P2P ||
	    p2p_peer_id_from_bytes(last.value, last.value_len, &id) != 0 ||
	    !multiaddr_decapsulate_code(&ma, MA_P2P) || ma.len == 0 ||
	    (last_component(&ma, &last) && last.code == MA_P2P)) { /* "/p2p/A/p2p/B" */
		multiaddr_free(&ma);
		out->n_skipped++;
		return;
	}
	struct mdns_peer_info *peer = peer_slot(out, &id);
	if (!peer) {
		multiaddr_free(&ma);
		out->n_skipped++;
		return;
	}
	if (!peer_add_addr(peer, &ma))
		out->n_skipped++;
}

static void read_txt_records(const ldns_rr_list *list, struct mdns_message *out)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(list); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(list, i);
		const uint8_t *label;
		size_t label_len;
		/* TTL 0 is a goodbye (RFC 6762 §10.1): the peer is leaving, not arriving. */
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_TXT || ldns_rr_ttl(rr) == 0 ||
		    !class_is_in((uint16_t)ldns_rr_get_class(rr)) ||
		    !name_is_child_of(ldns_rr_owner(rr), service_wire, sizeof service_wire, &label,
				      &label_len))
			continue;
		for (size_t k = 0; k < ldns_rr_rd_count(rr); k++) {
			const ldns_rdf *rdf = ldns_rr_rdf(rr, k);
			if (!rdf || ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_STR)
				continue;
			const uint8_t *p = ldns_rdf_data(rdf);
			size_t n = ldns_rdf_size(rdf);
			/* ldns keeps the length byte in front of a character-string. */
			if (n < 1 || p[0] != n - 1)
				continue;
			read_txt_string(p + 1, n - 1, out);
		}
	}
}

int mdns_packet_parse(const uint8_t *p, size_t n, const char *self_instance,
		      struct mdns_message *out)
{
	memset(out, 0, sizeof *out);
	if (!p || n < LDNS_HEADER_SIZE)
		return AA_ETRUNC;
	if (n > MDNS_MAX_PACKET)
		return AA_ETOOBIG;
	/* Bound ldns's work before it starts: the four section counts of RFC 1035 §4.1.1. */
	size_t records = (size_t)read16(p + 4) + read16(p + 6) + read16(p + 8) + read16(p + 10);
	if (records > MDNS_MAX_RECORDS)
		return AA_ETOOBIG;
	ldns_pkt *pkt = NULL;
	if (ldns_wire2pkt(&pkt, p, n) != LDNS_STATUS_OK || !pkt)
		return AA_EINVAL;
	if (ldns_pkt_get_opcode(pkt) != LDNS_PACKET_QUERY ||
	    ldns_pkt_get_rcode(pkt) != LDNS_RCODE_NOERROR) {
		ldns_pkt_free(pkt);
		return AA_ENOTSUP;
	}
	out->id = ldns_pkt_id(pkt);
	out->is_response = ldns_pkt_qr(pkt);
	if (out->is_response) {
		read_txt_records(ldns_pkt_answer(pkt), out);
		read_txt_records(ldns_pkt_authority(pkt), out);
		read_txt_records(ldns_pkt_additional(pkt), out);
	} else {
		read_questions(pkt, self_instance, out);
		read_known_answers(pkt, self_instance, out);
	}
	ldns_pkt_free(pkt);
	return 0;
}

void mdns_message_free(struct mdns_message *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_peers; i++) {
		for (size_t k = 0; k < m->peers[i].n_addrs; k++)
			multiaddr_free(&m->peers[i].addrs[k]);
		m->peers[i].n_addrs = 0;
	}
	m->n_peers = 0;
}
