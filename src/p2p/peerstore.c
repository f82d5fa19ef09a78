/* peerstore: one heap record per peer in a map keyed by the PeerID's multihash bytes, and
 * an intrusive list of the unprotected peers in order of last update, whose head is the
 * eviction victim when the store is full (see peerstore.h). */
#include "p2p/peerstore.h"

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/map.h"
#include "base/mem.h"
#include "base/multihash.h"

struct peer_addr {
	struct multiaddr ma;
	uint64_t ttl_ns;    /* as last added or set; peerstore_update_addrs_ttl matches on it */
	uint64_t expiry_ns; /* live while now < expiry; UINT64_MAX never expires */
};

struct peer {
	struct p2p_peer_id id;
	struct peer_addr *addrs; /* oldest first */
	size_t n_addrs, cap_addrs;
	char **protocols; /* unique, sorted by strcmp so lookups can bisect */
	size_t n_protocols;
	char *agent_version;
	char *protocol_version;
	uint8_t public_key[P2P_ED25519_PUBLIC_KEY_BYTES];
	bool has_public_key;
	bool has_latency;
	bool has_record_seq;
	bool is_protected;
	double latency_ewma; /* nanoseconds */
	uint64_t record_seq;
	struct peer *lru_prev, *lru_next; /* linked into the store's list while unprotected */
};

struct peerstore {
	struct aa_map peers; /* PeerID bytes → struct peer * */
	size_t max_peers, max_addrs, max_protocols;
	struct peer *lru_head, *lru_tail; /* unprotected peers, least recently updated first */
};

static bool id_valid(const struct p2p_peer_id *id)
{
	return id && id->len >= 1 && id->len <= P2P_PEER_ID_MAX_BYTES;
}

static struct peer *peer_find(const struct peerstore *ps, const struct p2p_peer_id *id)
{
	if (!id_valid(id))
		return NULL;
	return map_get(&ps->peers, id->bytes, id->len);
}

/* --- the update-order list ---------------------------------------------------------------*/

static void lru_unlink(struct peerstore *ps, struct peer *p)
{
	if (p->lru_prev)
		p->lru_prev->lru_next = p->lru_next;
	else
		ps->lru_head = p->lru_next;
	if (p->lru_next)
		p->lru_next->lru_prev = p->lru_prev;
	else
		ps->lru_tail = p->lru_prev;
	p->lru_prev = p->lru_next = NULL;
}

static void lru_append(struct peerstore *ps, struct peer *p)
{
	p->lru_prev = ps->lru_tail;
	p->lru_next = NULL;
	if (ps->lru_tail)
		ps->lru_tail->lru_next = p;
	else
		ps->lru_head = p;
	ps->lru_tail = p;
}

/* Marks p as the most recently updated peer. */
static void peer_touch(struct peerstore *ps, struct peer *p)
{
	if (p->is_protected)
		return;
	lru_unlink(ps, p);
	lru_append(ps, p);
}

/* --- peer records ------------------------------------------------------------------------*/

static void protocols_free(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static void peer_destroy(struct peer *p)
{
	for (size_t i = 0; i < p->n_addrs; i++)
		multiaddr_free(&p->addrs[i].ma);
	free(p->addrs);
	protocols_free(p->protocols, p->n_protocols);
	free(p->agent_version);
	free(p->protocol_version);
	free(p);
}

/* Unlinks and frees a peer already removed from the map. */
static void peer_forget(struct peerstore *ps, struct peer *p)
{
	if (!p->is_protected)
		lru_unlink(ps, p);
	peer_destroy(p);
}

/* The peer's record, created (evicting the least recently updated unprotected peer if the
 * store is full) when unknown; either way it becomes the most recently updated. */
static int peer_obtain(struct peerstore *ps, const struct p2p_peer_id *id, struct peer **out)
{
	struct peer *p = peer_find(ps, id);
	if (p) {
		peer_touch(ps, p);
		*out = p;
		return 0;
	}
	if (map_count(&ps->peers) >= ps->max_peers) {
		struct peer *victim = ps->lru_head;
		if (!victim)
			return AA_ENOMEM; /* every peer is protected */
		map_remove(&ps->peers, victim->id.bytes, victim->id.len);
		peer_forget(ps, victim);
	}
	p = aa_calloc(1, sizeof *p);
	p->id = *id;
	int rc = map_put(&ps->peers, id->bytes, id->len, p, NULL);
	if (rc < 0) {
		peer_destroy(p);
		return rc;
	}
	lru_append(ps, p);
	*out = p;
	return 0;
}

struct peerstore *peerstore_new(size_t max_peers, size_t max_addrs_per_peer,
				size_t max_protocols_per_peer)
{
	if (max_peers == 0 || max_addrs_per_peer == 0 || max_protocols_per_peer == 0)
		return NULL;
	struct peerstore *ps = aa_calloc(1, sizeof *ps);
	map_init(&ps->peers, max_peers);
	ps->max_peers = max_peers;
	ps->max_addrs = max_addrs_per_peer;
	ps->max_protocols = max_protocols_per_peer;
	return ps;
}

void peerstore_free(struct peerstore *ps)
{
	if (!ps)
		return;
	struct map_iter it;
	void *value;
	map_iter_init(&it, &ps->peers);
	while (map_iter_next(&it, NULL, NULL, &value))
		peer_destroy(value);
	map_free(&ps->peers);
	free(ps);
}

/* --- addresses ---------------------------------------------------------------------------*/

static uint64_t expiry_after(uint64_t ttl_ns, uint64_t now_ns)
{
	if (ttl_ns > UINT64_MAX - now_ns)
		return UINT64_MAX; /* PEERSTORE_TTL_PERMANENT, or so far off it makes no difference */
	return now_ns + ttl_ns;
}

static void addr_remove_at(struct peer *p, size_t i)
{
	multiaddr_free(&p->addrs[i].ma);
	memmove(&p->addrs[i], &p->addrs[i + 1], (p->n_addrs - i - 1) * sizeof p->addrs[0]);
	p->n_addrs--;
}

/* Drops the addresses that expired at or before now_ns, keeping the order of the rest. */
static void addrs_expire(struct peer *p, uint64_t now_ns)
{
	size_t kept = 0;
	for (size_t i = 0; i < p->n_addrs; i++) {
		if (p->addrs[i].expiry_ns > now_ns)
			p->addrs[kept++] = p->addrs[i];
		else
			multiaddr_free(&p->addrs[i].ma);
	}
	p->n_addrs = kept;
}

static void addrs_clear(struct peer *p)
{
	for (size_t i = 0; i < p->n_addrs; i++)
		multiaddr_free(&p->addrs[i].ma);
	p->n_addrs = 0;
}

static size_t addr_find(const struct peer *p, const struct multiaddr *ma)
{
	for (size_t i = 0; i < p->n_addrs; i++)
		if (multiaddr_equal(&p->addrs[i].ma, ma))
			return i;
	return SIZE_MAX;
}

/* Adds or extends one address; false when it did not fit. */
static bool addr_add(const struct peerstore *ps, struct peer *p, const struct multiaddr *ma,
		     uint64_t ttl_ns, uint64_t expiry_ns)
{
	size_t i = addr_find(p, ma);
	if (i != SIZE_MAX) {
		if (expiry_ns > p->addrs[i].expiry_ns) {
			p->addrs[i].expiry_ns = expiry_ns;
			p->addrs[i].ttl_ns = ttl_ns;
		}
		return true;
	}
	if (p->n_addrs >= ps->max_addrs) {
		size_t soonest = 0;
		for (size_t j = 1; j < p->n_addrs; j++)
			if (p->addrs[j].expiry_ns < p->addrs[soonest].expiry_ns)
				soonest = j;
		if (p->addrs[soonest].expiry_ns >= expiry_ns)
			return false;
		addr_remove_at(p, soonest);
	}
	if (p->n_addrs == p->cap_addrs) {
		size_t cap = p->cap_addrs ? p->cap_addrs * 2 : 4;
		if (cap > ps->max_addrs)
			cap = ps->max_addrs;
		p->addrs = aa_realloc(p->addrs, cap * sizeof p->addrs[0]);
		p->cap_addrs = cap;
	}
	struct peer_addr *a = &p->addrs[p->n_addrs++];
	multiaddr_copy(ma, &a->ma);
	a->ttl_ns = ttl_ns;
	a->expiry_ns = expiry_ns;
	return true;
}

int peerstore_add_addrs(struct peerstore *ps, const struct p2p_peer_id *id,
			const struct multiaddr *addrs, size_t n, uint64_t ttl_ns, uint64_t now_ns)
{
	if (!id_valid(id) || (n > 0 && !addrs))
		return AA_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (addrs[i].len == 0 || addrs[i].len > MULTIADDR_MAX_LEN || !addrs[i].bytes)
			return AA_EINVAL;
	if (n == 0 || ttl_ns == 0)
		return 0;
	struct peer *p;
	int rc = peer_obtain(ps, id, &p);
	if (rc < 0)
		return rc;
	/* Expired addresses go first so they neither block new ones nor get extended. */
	addrs_expire(p, now_ns);
	uint64_t expiry = expiry_after(ttl_ns, now_ns);
	size_t dropped = 0;
	for (size_t i = 0; i < n; i++)
		if (!addr_add(ps, p, &addrs[i], ttl_ns, expiry))
			dropped++;
	return dropped ? AA_ENOMEM : 0;
}

/* Sets the TTL of the live addresses whose TTL is old_ttl_ns (all of them if match_all). */
static int addrs_retime(struct peerstore *ps, const struct p2p_peer_id *id, bool match_all,
			uint64_t old_ttl_ns, uint64_t new_ttl_ns, uint64_t now_ns)
{
	if (!id_valid(id))
		return AA_EINVAL;
	struct peer *p = peer_find(ps, id);
	if (!p)
		return AA_ENOENT;
	addrs_expire(p, now_ns);
	uint64_t expiry = expiry_after(new_ttl_ns, now_ns);
	for (size_t i = p->n_addrs; i-- > 0;) {
		struct peer_addr *a = &p->addrs[i];
		if (!match_all && a->ttl_ns != old_ttl_ns)
			continue;
		if (new_ttl_ns == 0) {
			addr_remove_at(p, i);
		} else {
			a->ttl_ns = new_ttl_ns;
			a->expiry_ns = expiry;
		}
	}
	peer_touch(ps, p);
	return 0;
}

int peerstore_set_addrs_ttl(struct peerstore *ps, const struct p2p_peer_id *id, uint64_t ttl_ns,
			    uint64_t now_ns)
{
	return addrs_retime(ps, id, true, 0, ttl_ns, now_ns);
}

int peerstore_update_addrs_ttl(struct peerstore *ps, const struct p2p_peer_id *id,
			       uint64_t old_ttl_ns, uint64_t new_ttl_ns, uint64_t now_ns)
{
	return addrs_retime(ps, id, false, old_ttl_ns, new_ttl_ns, now_ns);
}

int peerstore_clear_addrs(struct peerstore *ps, const struct p2p_peer_id *id)
{
	if (!id_valid(id))
		return AA_EINVAL;
	struct peer *p = peer_find(ps, id);
	if (!p)
		return AA_ENOENT;
	addrs_clear(p);
	peer_touch(ps, p);
	return 0;
}

size_t peerstore_get_addrs(struct peerstore *ps, const struct p2p_peer_id *id, uint64_t now_ns,
			   const struct multiaddr **out, size_t cap)
{
	struct peer *p = peer_find(ps, id);
	if (!p)
		return 0;
	addrs_expire(p, now_ns);
	for (size_t i = 0; i < p->n_addrs && i < cap; i++)
		out[i] = &p->addrs[i].ma;
	return p->n_addrs;
}

/* --- protocols ---------------------------------------------------------------------------*/

static int protocols_validate(const char *const *protos, size_t n)
{
	if (n > 0 && !protos)
		return AA_EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!protos[i])
			return AA_EINVAL;
		size_t len = strnlen(protos[i], PEERSTORE_PROTOCOL_MAX_LEN + 1);
		if (len == 0 || len > PEERSTORE_PROTOCOL_MAX_LEN)
			return AA_EINVAL;
	}
	return 0;
}

static int string_pointer_compare(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The sorted, duplicate-free union of two lists, as borrowed pointers in a fresh array;
 * its length goes to *n_out. */
static const char **protocols_union(const char *const *a, size_t na, const char *const *b,
				    size_t nb, size_t *n_out)
{
	size_t n = na + nb;
	const char **all = aa_malloc((n ? n : 1) * sizeof *all);
	if (na)
		memcpy(all, a, na * sizeof *all);
	if (nb)
		memcpy(all + na, b, nb * sizeof *all);
	if (n > 1)
		qsort(all, n, sizeof *all, string_pointer_compare);
	size_t unique = 0;
	for (size_t i = 0; i < n; i++)
		if (unique == 0 || strcmp(all[unique - 1], all[i]) != 0)
			all[unique++] = all[i];
	*n_out = unique;
	return all;
}

/* Makes p's protocol list a copy of list (sorted and unique already). */
static void protocols_replace(struct peer *p, const char *const *list, size_t n)
{
	char **copy = n ? aa_malloc(n * sizeof *copy) : NULL;
	for (size_t i = 0; i < n; i++)
		copy[i] = aa_strdup(list[i]);
	protocols_free(p->protocols, p->n_protocols);
	p->protocols = copy;
	p->n_protocols = n;
}

/* set (replace) or add: the union of the kept list and protos, refused whole if too long. */
static int protocols_store(struct peerstore *ps, const struct p2p_peer_id *id,
			   const char *const *protos, size_t n, bool keep_existing)
{
	if (!id_valid(id))
		return AA_EINVAL;
	int rc = protocols_validate(protos, n);
	if (rc < 0)
		return rc;
	const struct peer *existing = keep_existing ? peer_find(ps, id) : NULL;
	size_t count;
	const char **list = existing
		? protocols_union((const char *const *)existing->protocols,
				  existing->n_protocols, protos, n, &count)
		: protocols_union(NULL, 0, protos, n, &count);
	struct peer *p = NULL;
	if (count > ps->max_protocols)
		rc = AA_ETOOBIG;
	else
		rc = peer_obtain(ps, id, &p);
	if (rc == 0)
		protocols_replace(p, list, count); /* copies list before freeing the old strings */
	free(list);
	return rc;
}

int peerstore_set_protocols(struct peerstore *ps, const struct p2p_peer_id *id,
			    const char *const *protos, size_t n)
{
	return protocols_store(ps, id, protos, n, false);
}

int peerstore_add_protocols(struct peerstore *ps, const struct p2p_peer_id *id,
			    const char *const *protos, size_t n)
{
	return protocols_store(ps, id, protos, n, true);
}

static size_t protocol_index(const struct peer *p, const char *proto)
{
	if (p->n_protocols == 0)
		return SIZE_MAX;
	char **hit = bsearch(&proto, p->protocols, p->n_protocols, sizeof *p->protocols,
			     string_pointer_compare);
	return hit ? (size_t)(hit - p->protocols) : SIZE_MAX;
}

int peerstore_remove_protocols(struct peerstore *ps, const struct p2p_peer_id *id,
			       const char *const *protos, size_t n)
{
	if (!id_valid(id))
		return AA_EINVAL;
	int rc = protocols_validate(protos, n);
	if (rc < 0)
		return rc;
	struct peer *p = peer_find(ps, id);
	if (!p)
		return AA_ENOENT;
	for (size_t i = 0; i < n; i++) {
		size_t at = protocol_index(p, protos[i]);
		if (at == SIZE_MAX)
			continue;
		free(p->protocols[at]);
		memmove(&p->protocols[at], &p->protocols[at + 1],
			(p->n_protocols - at - 1) * sizeof *p->protocols);
		p->n_protocols--;
	}
	peer_touch(ps, p);
	return 0;
}

bool peerstore_supports_protocol(const struct peerstore *ps, const struct p2p_peer_id *id,
				 const char *proto)
{
	const struct peer *p = peer_find(ps, id);
	return p && proto && protocol_index(p, proto) != SIZE_MAX;
}

size_t peerstore_get_protocols(const struct peerstore *ps, const struct p2p_peer_id *id,
			       const char **out, size_t cap)
{
	const struct peer *p = peer_find(ps, id);
	if (!p)
		return 0;
	for (size_t i = 0; i < p->n_protocols && i < cap; i++)
		out[i] = p->protocols[i];
	return p->n_protocols;
}

/* --- identify metadata -------------------------------------------------------------------*/

static int version_check(const struct p2p_peer_id *id, const char *version)
{
	if (!id_valid(id) || !version)
		return AA_EINVAL;
	if (strnlen(version, PEERSTORE_VERSION_MAX_LEN + 1) > PEERSTORE_VERSION_MAX_LEN)
		return AA_ETOOBIG;
	return 0;
}

static void string_replace(char **field, const char *value)
{
	free(*field);
	*field = aa_strdup(value);
}

int peerstore_set_agent_version(struct peerstore *ps, const struct p2p_peer_id *id,
				const char *version)
{
	struct peer *p = NULL;
	int rc = version_check(id, version);
	if (rc == 0)
		rc = peer_obtain(ps, id, &p);
	if (rc == 0)
		string_replace(&p->agent_version, version);
	return rc;
}

const char *peerstore_get_agent_version(const struct peerstore *ps, const struct p2p_peer_id *id)
{
	const struct peer *p = peer_find(ps, id);
	return p ? p->agent_version : NULL;
}

int peerstore_set_protocol_version(struct peerstore *ps, const struct p2p_peer_id *id,
				   const char *version)
{
	struct peer *p = NULL;
	int rc = version_check(id, version);
	if (rc == 0)
		rc = peer_obtain(ps, id, &p);
	if (rc == 0)
		string_replace(&p->protocol_version, version);
	return rc;
}

const char *peerstore_get_protocol_version(const struct peerstore *ps,
					   const struct p2p_peer_id *id)
{
	const struct peer *p = peer_find(ps, id);
	return p ? p->protocol_version : NULL;
}

/* peer-ids spec: the PeerID is the multihash of the PublicKey protobuf, identity for
 * Ed25519 keys; sha2-256 PeerIDs of Ed25519 keys (made by old implementations) are
 * accepted when the hash matches. */
static bool public_key_matches_id(const struct p2p_peer_id *id,
				  const uint8_t key[P2P_ED25519_PUBLIC_KEY_BYTES])
{
	struct p2p_peer_id derived;
	p2p_peer_id_from_public_key(key, &derived);
	if (p2p_peer_id_equal(&derived, id))
		return true;
	struct multihash mh;
	if (multihash_decode(id->bytes, id->len, &mh) != 0 || mh.code != MULTIHASH_SHA2_256)
		return false;
	uint8_t protobuf[P2P_ED25519_PUBLIC_KEY_PROTOBUF_BYTES];
	p2p_public_key_marshal(key, protobuf);
	struct aa_buf hashed;
	aa_buf_init(&hashed);
	bool match = multihash_sum(MULTIHASH_SHA2_256, protobuf, sizeof protobuf, &hashed) == 0 &&
		     hashed.n == id->len && memcmp(hashed.p, id->bytes, id->len) == 0;
	aa_buf_free(&hashed);
	return match;
}

int peerstore_set_public_key(struct peerstore *ps, const struct p2p_peer_id *id,
			     const uint8_t key[P2P_ED25519_PUBLIC_KEY_BYTES])
{
	if (!id_valid(id) || !key)
		return AA_EINVAL;
	if (!public_key_matches_id(id, key))
		return AA_ECRYPTO;
	struct peer *p;
	int rc = peer_obtain(ps, id, &p);
	if (rc < 0)
		return rc;
	memcpy(p->public_key, key, P2P_ED25519_PUBLIC_KEY_BYTES);
	p->has_public_key = true;
	return 0;
}

bool peerstore_get_public_key(const struct peerstore *ps, const struct p2p_peer_id *id,
			      uint8_t key[P2P_ED25519_PUBLIC_KEY_BYTES])
{
	if (!id_valid(id))
		return false;
	const struct peer *p = peer_find(ps, id);
	if (p && p->has_public_key) {
		memcpy(key, p->public_key, P2P_ED25519_PUBLIC_KEY_BYTES);
		return true;
	}
	return p2p_peer_id_ed25519_public_key(id, key) == 0;
}

/* --- latency and records -----------------------------------------------------------------*/

int peerstore_record_latency(struct peerstore *ps, const struct p2p_peer_id *id, uint64_t rtt_ns)
{
	if (!id_valid(id))
		return AA_EINVAL;
	struct peer *p;
	int rc = peer_obtain(ps, id, &p);
	if (rc < 0)
		return rc;
	if (rtt_ns > PEERSTORE_LATENCY_MAX_NS)
		rtt_ns = PEERSTORE_LATENCY_MAX_NS;
	/* In floating point, as go-libp2p's peerstore does: an integer average with rounding
	 * would stall a few nanoseconds short of a steady rtt. Below the clamp every value is
	 * an exact double. */
	if (!p->has_latency)
		p->latency_ewma = (double)rtt_ns;
	else
		p->latency_ewma = 0.9 * p->latency_ewma + 0.1 * (double)rtt_ns;
	p->has_latency = true;
	return 0;
}

bool peerstore_get_latency(const struct peerstore *ps, const struct p2p_peer_id *id, uint64_t *ns)
{
	const struct peer *p = peer_find(ps, id);
	if (!p || !p->has_latency)
		return false;
	*ns = (uint64_t)(p->latency_ewma + 0.5);
	return true;
}

int peerstore_accept_record_seq(struct peerstore *ps, const struct p2p_peer_id *id, uint64_t seq)
{
	if (!id_valid(id))
		return AA_EINVAL;
	const struct peer *known = peer_find(ps, id);
	/* RFC 0003: a record is superseded only by one with a greater seq. */
	if (known && known->has_record_seq && seq <= known->record_seq)
		return AA_EEXIST;
	struct peer *p;
	int rc = peer_obtain(ps, id, &p);
	if (rc < 0)
		return rc;
	p->record_seq = seq;
	p->has_record_seq = true;
	return 0;
}

bool peerstore_get_record_seq(const struct peerstore *ps, const struct p2p_peer_id *id,
			      uint64_t *seq)
{
	const struct peer *p = peer_find(ps, id);
	if (!p || !p->has_record_seq)
		return false;
	*seq = p->record_seq;
	return true;
}

/* --- peers -------------------------------------------------------------------------------*/

int peerstore_protect(struct peerstore *ps, const struct p2p_peer_id *id, bool protect)
{
	if (!id_valid(id))
		return AA_EINVAL;
	struct peer *p;
	if (!protect) {
		p = peer_find(ps, id);
		if (p && p->is_protected) {
			p->is_protected = false;
			lru_append(ps, p); /* most recently updated: it was connected until now */
		}
		return 0;
	}
	int rc = peer_obtain(ps, id, &p);
	if (rc < 0)
		return rc;
	if (!p->is_protected) {
		lru_unlink(ps, p);
		p->is_protected = true;
	}
	return 0;
}

bool peerstore_is_protected(const struct peerstore *ps, const struct p2p_peer_id *id)
{
	const struct peer *p = peer_find(ps, id);
	return p && p->is_protected;
}

bool peerstore_has_peer(const struct peerstore *ps, const struct p2p_peer_id *id)
{
	return peer_find(ps, id) != NULL;
}

size_t peerstore_peer_count(const struct peerstore *ps)
{
	return map_count(&ps->peers);
}

size_t peerstore_list_peers(const struct peerstore *ps, struct p2p_peer_id *out, size_t cap)
{
	struct map_iter it;
	void *value;
	size_t i = 0;
	/* Iterating does not change the map; map_iter_init takes a mutable map only because
	 * an iterator may also remove. */
	map_iter_init(&it, (struct aa_map *)&ps->peers);
	while (i < cap && map_iter_next(&it, NULL, NULL, &value))
		out[i++] = ((const struct peer *)value)->id;
	return map_count(&ps->peers);
}

int peerstore_remove_peer(struct peerstore *ps, const struct p2p_peer_id *id)
{
	if (!id_valid(id))
		return AA_EINVAL;
	struct peer *p = map_remove(&ps->peers, id->bytes, id->len);
	if (!p)
		return AA_ENOENT;
	peer_forget(ps, p);
	return 0;
}

size_t peerstore_gc(struct peerstore *ps, uint64_t now_ns)
{
	struct map_iter it;
	void *value;
	size_t removed = 0;
	map_iter_init(&it, &ps->peers);
	while (map_iter_next(&it, NULL, NULL, &value)) {
		struct peer *p = value;
		addrs_expire(p, now_ns);
		if (p->is_protected || p->n_addrs > 0)
			continue;
		map_iter_remove(&it);
		peer_forget(ps, p);
		removed++;
	}
	return removed;
}
