/* map: Robin Hood open addressing with backward-shift deletion.
 *
 * Every entry sits at or after its home slot (hash & mask); its distance is how far after.
 * Insertion keeps the Robin Hood invariant: walking a probe sequence, an entry never
 * follows one that is closer to its home than it is to its own, so a lookup can stop as
 * soon as it meets such an entry (or an empty slot). Deletion shifts the following run of
 * displaced entries back by one slot instead of leaving a tombstone, so the table never
 * fills with dead slots and lookups stay short after heavy churn.
 *
 * Iteration walks slots backwards, starting just below an empty slot. A backward shift
 * only moves entries that lie between the removed slot and the next empty slot, i.e.
 * (walking backwards) entries already visited; that is why removing visited entries is
 * safe while iterating. */
#include "base/map.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"

_Static_assert(sizeof(((struct aa_map *)0)->seed) == crypto_shorthash_KEYBYTES,
	       "map seed must be a SipHash key");

struct map_slot {
	uint64_t hash; /* 0 marks an empty slot; stored hashes are never 0 */
	void *value;
	uint32_t keylen;
	/* The key itself when keylen <= MAP_INLINE_KEY_MAX, else a uint8_t * to a heap copy. */
	uint8_t key[MAP_INLINE_KEY_MAX];
};

#define MAP_MIN_CAP 8

static uint64_t map_hash(const struct aa_map *m, const void *key, size_t keylen)
{
	static const uint8_t nothing;
	unsigned char out[crypto_shorthash_BYTES];
	crypto_shorthash(out, keylen ? key : &nothing, keylen, m->seed);
	uint64_t h;
	memcpy(&h, out, sizeof h);
	return h ? h : 1;
}

static const uint8_t *slot_key(const struct map_slot *s)
{
	if (s->keylen <= MAP_INLINE_KEY_MAX)
		return s->key;
	const uint8_t *p;
	memcpy(&p, s->key, sizeof p);
	return p;
}

static void slot_free_key(struct map_slot *s)
{
	if (s->keylen > MAP_INLINE_KEY_MAX)
		free((void *)slot_key(s));
}

/* How far slot i is from the home slot of an entry with this hash. */
static size_t slot_distance(const struct aa_map *m, size_t i, uint64_t hash)
{
	return (i - (size_t)hash) & (m->cap - 1);
}

static bool slot_matches(const struct map_slot *s, uint64_t h, const void *key, size_t keylen)
{
	return s->hash == h && s->keylen == keylen &&
	       (keylen == 0 || memcmp(slot_key(s), key, keylen) == 0);
}

/* The slot holding key, or SIZE_MAX. Terminates because the table always has an empty
 * slot (the load factor stays below 1). */
static size_t map_lookup(const struct aa_map *m, uint64_t h, const void *key, size_t keylen)
{
	if (m->count == 0)
		return SIZE_MAX;
	size_t mask = m->cap - 1;
	size_t i = (size_t)h & mask;
	for (size_t d = 0;; d++, i = (i + 1) & mask) {
		const struct map_slot *s = &m->slots[i];
		if (s->hash == 0 || slot_distance(m, i, s->hash) < d)
			return SIZE_MAX;
		if (slot_matches(s, h, key, keylen))
			return i;
	}
}

/* Places an entry known to be absent, into a table known to have room: whenever the
 * carried entry is farther from home than the resident, they swap. */
static void map_place(struct aa_map *m, struct map_slot carry)
{
	size_t mask = m->cap - 1;
	size_t i = (size_t)carry.hash & mask;
	for (size_t d = 0;; d++, i = (i + 1) & mask) {
		struct map_slot *s = &m->slots[i];
		if (s->hash == 0) {
			*s = carry;
			return;
		}
		size_t resident = slot_distance(m, i, s->hash);
		if (resident < d) {
			struct map_slot t = *s;
			*s = carry;
			carry = t;
			d = resident;
		}
	}
}

static void map_resize(struct aa_map *m, size_t cap)
{
	struct map_slot *old = m->slots;
	size_t old_cap = m->cap;
	m->slots = aa_calloc(cap, sizeof *m->slots);
	m->cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].hash != 0)
			map_place(m, old[i]);
	free(old);
}

/* Largest count a table of cap slots holds: a load factor of 7/8, which Robin Hood
 * probing tolerates with short probe sequences. */
static size_t map_capacity_limit(size_t cap)
{
	return cap - cap / 8;
}

/* Makes room for one more entry: doubles a full table, and halves (repeatedly) a table
 * whose load fell below 1/8 so a map that once held many entries gives the memory back.
 * Only called when inserting a new key, never when removing, so that removal during
 * iteration moves nothing but the shifted run. */
static void map_make_room(struct aa_map *m)
{
	size_t need = m->count + 1;
	if (m->cap == 0) {
		map_resize(m, MAP_MIN_CAP);
	} else if (need > map_capacity_limit(m->cap)) {
		if (m->cap > SIZE_MAX / 2 / sizeof(struct map_slot)) {
			fprintf(stderr, "fatal: map too large\n");
			abort();
		}
		map_resize(m, m->cap * 2);
	} else if (m->cap > MAP_MIN_CAP && need < m->cap / 8) {
		size_t cap = m->cap;
		while (cap > MAP_MIN_CAP && need * 2 <= cap / 2)
			cap /= 2;
		map_resize(m, cap); /* load now in (1/4, 1/2] or the minimum table */
	}
}

void map_init(struct aa_map *m, size_t max_entries)
{
	aa_require_sodium();
	memset(m, 0, sizeof *m);
	m->max_entries = max_entries;
	crypto_shorthash_keygen(m->seed);
}

void map_free(struct aa_map *m)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].hash != 0)
			slot_free_key(&m->slots[i]);
	free(m->slots);
	m->slots = NULL;
	m->cap = 0;
	m->count = 0;
}

bool map_find(const struct aa_map *m, const void *key, size_t keylen, void **value)
{
	if (m->count == 0 || keylen > MAP_KEY_MAX)
		return false;
	size_t i = map_lookup(m, map_hash(m, key, keylen), key, keylen);
	if (i == SIZE_MAX)
		return false;
	if (value)
		*value = m->slots[i].value;
	return true;
}

void *map_get(const struct aa_map *m, const void *key, size_t keylen)
{
	void *value = NULL;
	map_find(m, key, keylen, &value);
	return value;
}

int map_put(struct aa_map *m, const void *key, size_t keylen, void *value, void **old)
{
	if (old)
		*old = NULL;
	if (keylen > MAP_KEY_MAX)
		return AA_EINVAL;
	uint64_t h = map_hash(m, key, keylen);
	size_t i = map_lookup(m, h, key, keylen);
	if (i != SIZE_MAX) {
		if (old)
			*old = m->slots[i].value;
		m->slots[i].value = value;
		return 0;
	}
	if (m->max_entries != 0 && m->count >= m->max_entries)
		return AA_ENOMEM;
	map_make_room(m);

	struct map_slot s = { .hash = h, .value = value, .keylen = (uint32_t)keylen };
	if (keylen <= MAP_INLINE_KEY_MAX) {
		if (keylen)
			memcpy(s.key, key, keylen);
	} else {
		uint8_t *copy = aa_malloc(keylen);
		memcpy(copy, key, keylen);
		memcpy(s.key, &copy, sizeof copy);
	}
	map_place(m, s);
	m->count++;
	return 0;
}

/* Empties slot i and shifts the run after it back by one, up to the next empty slot or
 * the next entry already in its home slot. */
static void map_remove_at(struct aa_map *m, size_t i)
{
	size_t mask = m->cap - 1;
	slot_free_key(&m->slots[i]);
	for (;;) {
		size_t next = (i + 1) & mask;
		const struct map_slot *n = &m->slots[next];
		if (n->hash == 0 || slot_distance(m, next, n->hash) == 0)
			break;
		m->slots[i] = *n;
		i = next;
	}
	memset(&m->slots[i], 0, sizeof m->slots[i]);
	m->count--;
}

void *map_remove(struct aa_map *m, const void *key, size_t keylen)
{
	if (m->count == 0 || keylen > MAP_KEY_MAX)
		return NULL;
	size_t i = map_lookup(m, map_hash(m, key, keylen), key, keylen);
	if (i == SIZE_MAX)
		return NULL;
	void *value = m->slots[i].value;
	map_remove_at(m, i);
	return value;
}

size_t map_count(const struct aa_map *m)
{
	return m->count;
}

void map_iter_init(struct map_iter *it, struct aa_map *m)
{
	memset(it, 0, sizeof *it);
	it->map = m;
	if (m->count == 0)
		return;
	/* Start at an empty slot (one exists: load < 1) so that no run of entries straddles
	 * the start of the walk; see the comment at the top of the file. */
	size_t empty = 0;
	while (m->slots[empty].hash != 0)
		empty++;
	it->pos = empty;
	it->left = m->cap - 1;
}

bool map_iter_next(struct map_iter *it, const uint8_t **key, size_t *keylen, void **value)
{
	struct aa_map *m = it->map;
	while (it->left > 0) {
		it->left--;
		it->pos = (it->pos - 1) & (m->cap - 1);
		const struct map_slot *s = &m->slots[it->pos];
		if (s->hash == 0)
			continue;
		it->last = it->pos;
		it->has_last = true;
		if (key)
			*key = slot_key(s);
		if (keylen)
			*keylen = s->keylen;
		if (value)
			*value = s->value;
		return true;
	}
	it->has_last = false;
	return false;
}

void *map_iter_remove(struct map_iter *it)
{
	if (!it->has_last)
		return NULL;
	it->has_last = false;
	struct aa_map *m = it->map;
	/* Cheap guards so that misuse after an invalidating change stays memory-safe. */
	if (it->last >= m->cap || m->slots[it->last].hash == 0)
		return NULL;
	void *value = m->slots[it->last].value;
	map_remove_at(m, it->last);
	return value;
}
