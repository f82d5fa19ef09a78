/* map: a hash map from byte-string keys to void * values (Robin Hood open addressing with
 * backward-shift deletion, so there are no tombstones). Keys are copied into the map; the
 * map never owns, frees or dereferences values. Each map hashes with SipHash-2-4 under its
 * own random key, so a peer that chooses keys cannot predict collisions or the order of
 * iteration. Not thread-safe: one thread (the loop) uses a map at a time. */
#ifndef AA_BASE_MAP_H
#define AA_BASE_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Keys up to this many bytes live inside the slot; longer ones get their own allocation.
 * 44 is the largest libp2p PeerID, so peer-keyed maps never allocate per key. */
#define MAP_INLINE_KEY_MAX 44
/* Longest key accepted (map_put returns AA_EINVAL above it). */
#define MAP_KEY_MAX UINT32_MAX

struct map_slot; /* private to map.c */

struct aa_map {
	struct map_slot *slots; /* NULL until the first insert */
	size_t cap;             /* number of slots: 0 or a power of two */
	size_t count;           /* entries in use */
	size_t max_entries;     /* bound on count; 0 = unbounded */
	uint8_t seed[16];       /* SipHash-2-4 key */
};

/* An iterator; see map_iter_init(). */
struct map_iter {
	struct aa_map *map;
	size_t pos;       /* next slot to examine */
	size_t left;      /* slots left to examine */
	size_t last;      /* slot of the entry last returned */
	bool has_last;    /* whether `last` is valid (cleared by map_iter_remove) */
};

/* Initialises an empty map holding at most max_entries entries. max_entries 0 means
 * unbounded: only for maps whose growth the caller bounds some other way, never for maps
 * filled from peer input. Allocates nothing until the first insert. */
void map_init(struct aa_map *m, size_t max_entries);
/* Frees the slots and the copied keys. Values are the caller's: free them first (e.g. by
 * iterating with map_iter_remove()). The map may be reused after map_init(). */
void map_free(struct aa_map *m);

/* The value stored under key, or NULL if absent (use map_find() when NULL is a value). */
void *map_get(const struct aa_map *m, const void *key, size_t keylen);
/* True and *value (if value is non-NULL) set when key is present. */
bool map_find(const struct aa_map *m, const void *key, size_t keylen, void **value);
/* Stores value under key (copying the key). If the key was present its value is replaced
 * and the previous value returned in *old; otherwise *old is set to NULL (old may be NULL).
 * Returns 0, AA_ENOMEM if the key is new and the map already holds max_entries entries
 * (nothing changes), or AA_EINVAL if keylen > MAP_KEY_MAX. Inserting a new key may move
 * every entry; replacing the value of an existing key moves nothing. */
int map_put(struct aa_map *m, const void *key, size_t keylen, void *value, void **old);
/* Removes key and returns its value, or NULL if absent. Never reallocates. */
void *map_remove(struct aa_map *m, const void *key, size_t keylen);
size_t map_count(const struct aa_map *m);

/* Iteration visits every entry once, in an order that depends on the map's random seed.
 *
 *   struct map_iter it;
 *   const uint8_t *key; size_t keylen; void *value;
 *   map_iter_init(&it, m);
 *   while (map_iter_next(&it, &key, &keylen, &value))
 *           if (done_with(value)) free(map_iter_remove(&it));
 *
 * While iterating, the map may be changed only in these ways, and the iteration still
 * visits every remaining entry exactly once:
 *   - removing the entry last returned (map_iter_remove(), or map_remove() of its key);
 *   - removing any entry already returned (map_remove());
 *   - replacing the value of an existing key (map_put() of a present key).
 * Inserting a new key, or removing an entry not yet returned, invalidates the iterator
 * (entries may then be skipped or repeated; memory stays safe as long as the map itself
 * has not been freed). After removing the entry last returned with map_remove(), do not
 * call map_iter_remove() before the next map_iter_next(). The key pointer borrows from the
 * map and is valid only until the map is next changed: copy it before removing its entry. */
void map_iter_init(struct map_iter *it, struct aa_map *m);
/* Returns true with the next entry (any out pointer may be NULL), false at the end. */
bool map_iter_next(struct map_iter *it, const uint8_t **key, size_t *keylen, void **value);
/* Removes the entry last returned by map_iter_next() and returns its value; NULL if there
 * is none (nothing returned yet, or already removed). */
void *map_iter_remove(struct map_iter *it);

#endif
