/* Unit tests for base/map: lookups, replacement, key copying, the entry bound, iteration
 * with removal, and a long randomized run checked against a plain array. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/map.h"

/* Deterministic xorshift64* so failures reproduce. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

#define KEY_BUF 80

/* Key number k as bytes: 4 bytes of k, then a filler, 4 to 79 bytes in all, so both
 * inline and heap-allocated keys occur. Distinct k give distinct keys. */
static size_t key_of(uint32_t k, uint8_t out[KEY_BUF])
{
	size_t len = 4 + k % (KEY_BUF - 4);
	memcpy(out, &k, 4);
	for (size_t i = 4; i < len; i++)
		out[i] = (uint8_t)(k * 31 + i);
	return len;
}

static void *value_of(uint32_t k, uint32_t generation)
{
	return (void *)(uintptr_t)(((uint64_t)generation << 32 | k) + 1);
}

static void test_map_put_get_remove(void **state)
{
	struct aa_map m;
	map_init(&m, 0);
	assert_null(map_get(&m, "a", 1));
	assert_int_equal(map_put(&m, "a", 1, (void *)1, NULL), 0);
	assert_int_equal(map_put(&m, "bb", 2, (void *)2, NULL), 0);
	assert_ptr_equal(map_get(&m, "a", 1), (void *)1);
	assert_ptr_equal(map_get(&m, "bb", 2), (void *)2);
	assert_null(map_get(&m, "b", 1));
	assert_int_equal(map_count(&m), 2);
	assert_ptr_equal(map_remove(&m, "a", 1), (void *)1);
	assert_null(map_remove(&m, "a", 1));
	assert_null(map_get(&m, "a", 1));
	assert_int_equal(map_count(&m), 1);
	map_free(&m);
}

static void test_map_put_replaces_and_returns_old_value(void **state)
{
	struct aa_map m;
	map_init(&m, 0);
	void *old = (void *)99;
	assert_int_equal(map_put(&m, "k", 1, (void *)1, &old), 0);
	assert_null(old);
	assert_int_equal(map_put(&m, "k", 1, (void *)2, &old), 0);
	assert_ptr_equal(old, (void *)1);
	assert_int_equal(map_count(&m), 1);
	assert_ptr_equal(map_get(&m, "k", 1), (void *)2);
	map_free(&m);
}

static void test_map_find_distinguishes_null_value_from_absent(void **state)
{
	struct aa_map m;
	map_init(&m, 0);
	assert_int_equal(map_put(&m, "k", 1, NULL, NULL), 0);
	void *v = (void *)1;
	assert_true(map_find(&m, "k", 1, &v));
	assert_null(v);
	assert_false(map_find(&m, "x", 1, &v));
	map_free(&m);
}

static void test_map_copies_keys(void **state)
{
	struct aa_map m;
	map_init(&m, 0);
	uint8_t shortkey[8] = "shortke";
	uint8_t longkey[200];
	memset(longkey, 'L', sizeof longkey);
	assert_int_equal(map_put(&m, shortkey, sizeof shortkey, (void *)1, NULL), 0);
	assert_int_equal(map_put(&m, longkey, sizeof longkey, (void *)2, NULL), 0);
	uint8_t shortcopy[8], longcopy[200];
	memcpy(shortcopy, shortkey, sizeof shortkey);
	memcpy(longcopy, longkey, sizeof longkey);
	memset(shortkey, 0, sizeof shortkey);
	memset(longkey, 0, sizeof longkey);
	assert_ptr_equal(map_get(&m, shortcopy, sizeof shortcopy), (void *)1);
	assert_ptr_equal(map_get(&m, longcopy, sizeof longcopy), (void *)2);
	assert_null(map_get(&m, longkey, sizeof longkey));
	map_free(&m);
}

static void test_map_keys_differ_by_length_and_may_be_empty(void **state)
{
	struct aa_map m;
	map_init(&m, 0);
	const uint8_t zeros[MAP_INLINE_KEY_MAX + 2] = { 0 };
	assert_int_equal(map_put(&m, NULL, 0, (void *)100, NULL), 0);
	for (size_t n = 1; n <= sizeof zeros; n++)
		assert_int_equal(map_put(&m, zeros, n, (void *)n, NULL), 0);
	assert_int_equal(map_count(&m), sizeof zeros + 1);
	assert_ptr_equal(map_get(&m, "", 0), (void *)100);
	for (size_t n = 1; n <= sizeof zeros; n++)
		assert_ptr_equal(map_get(&m, zeros, n), (void *)n);
	assert_ptr_equal(map_remove(&m, NULL, 0), (void *)100);
	assert_false(map_find(&m, NULL, 0, NULL));
	map_free(&m);
}

static void test_map_bound_rejects_new_keys_only(void **state)
{
	struct aa_map m;
	map_init(&m, 3);
	uint8_t key[KEY_BUF];
	for (uint32_t k = 0; k < 3; k++)
		assert_int_equal(map_put(&m, key, key_of(k, key), value_of(k, 0), NULL), 0);
	assert_int_equal(map_put(&m, key, key_of(3, key), value_of(3, 0), NULL), AA_ENOMEM);
	assert_false(map_find(&m, key, key_of(3, key), NULL));
	assert_int_equal(map_count(&m), 3);
	/* Replacing a present key is always allowed at the bound. */
	void *old;
	assert_int_equal(map_put(&m, key, key_of(1, key), value_of(1, 1), &old), 0);
	assert_ptr_equal(old, value_of(1, 0));
	/* Removing one makes room again. */
	assert_ptr_equal(map_remove(&m, key, key_of(0, key)), value_of(0, 0));
	assert_int_equal(map_put(&m, key, key_of(3, key), value_of(3, 0), NULL), 0);
	assert_int_equal(map_count(&m), 3);
	map_free(&m);
}

static void test_map_gives_memory_back_after_mass_removal(void **state)
{
	struct aa_map m;
	map_init(&m, 0);
	uint8_t key[KEY_BUF];
	for (uint32_t k = 0; k < 10000; k++)
		assert_int_equal(map_put(&m, key, key_of(k, key), value_of(k, 0), NULL), 0);
	size_t big = m.cap;
	for (uint32_t k = 0; k < 10000; k++)
		assert_ptr_equal(map_remove(&m, key, key_of(k, key)), value_of(k, 0));
	assert_int_equal(map_count(&m), 0);
	assert_int_equal(map_put(&m, key, key_of(1, key), value_of(1, 0), NULL), 0);
	assert_true(m.cap < big / 100);
	assert_ptr_equal(map_get(&m, key, key_of(1, key)), value_of(1, 0));
	map_free(&m);
}

/* Iterates m, checking each key is present in `expect` (indexed by key number, k < n)
 * exactly once; returns the number visited. */
static size_t iterate_and_check(struct aa_map *m, void **expect, uint32_t n)
{
	uint8_t *seen = calloc(n, 1);
	struct map_iter it;
	const uint8_t *key;
	size_t keylen, visited = 0;
	void *value;
	map_iter_init(&it, m);
	while (map_iter_next(&it, &key, &keylen, &value)) {
		uint32_t k;
		assert_true(keylen >= 4);
		memcpy(&k, key, 4);
		assert_true(k < n);
		assert_false(seen[k]);
		seen[k] = 1;
		assert_ptr_equal(value, expect[k]);
		uint8_t want[KEY_BUF];
		assert_int_equal(keylen, key_of(k, want));
		assert_memory_equal(key, want, keylen);
		visited++;
	}
	for (uint32_t k = 0; k < n; k++)
		assert_int_equal(seen[k], expect[k] != NULL);
	free(seen);
	return visited;
}

static void test_map_matches_reference_under_random_operations(void **state)
{
	enum { KEYS = 5000, OPS = 1000000 };
	void **ref = calloc(KEYS, sizeof *ref);
	size_t ref_count = 0;
	struct aa_map m;
	map_init(&m, 0);
	rng_state = 0x9E3779B97F4A7C15ull;
	uint8_t key[KEY_BUF];
	for (uint32_t op = 0; op < OPS; op++) {
		uint64_t r = rng_next();
		uint32_t k = (uint32_t)(r % KEYS);
		size_t len = key_of(k, key);
		switch ((r >> 32) % 8) {
		case 0:
		case 1:
		case 2: { /* insert or replace */
			void *old;
			assert_int_equal(map_put(&m, key, len, value_of(k, op), &old), 0);
			assert_ptr_equal(old, ref[k]);
			if (!ref[k])
				ref_count++;
			ref[k] = value_of(k, op);
			break;
		}
		case 3:
		case 4:
		case 5: /* remove */
			assert_ptr_equal(map_remove(&m, key, len), ref[k]);
			if (ref[k])
				ref_count--;
			ref[k] = NULL;
			break;
		default: /* look up */
			assert_ptr_equal(map_get(&m, key, len), ref[k]);
			break;
		}
		assert_int_equal(map_count(&m), ref_count);
		if (op % 100000 == 0)
			assert_int_equal(iterate_and_check(&m, ref, KEYS), ref_count);
	}
	assert_int_equal(iterate_and_check(&m, ref, KEYS), ref_count);
	map_free(&m);
	free(ref);
}

static void test_map_iteration_visits_every_entry_once(void **state)
{
	enum { N = 3000 };
	void *expect[N] = { 0 };
	struct aa_map m;
	map_init(&m, 0);
	assert_int_equal(iterate_and_check(&m, expect, N), 0);
	uint8_t key[KEY_BUF];
	for (uint32_t k = 0; k < N; k += 3) {
		expect[k] = value_of(k, 7);
		assert_int_equal(map_put(&m, key, key_of(k, key), expect[k], NULL), 0);
	}
	assert_int_equal(iterate_and_check(&m, expect, N), map_count(&m));
	map_free(&m);
}

static void test_map_iteration_allows_removing_current_entry(void **state)
{
	rng_state = 12345;
	/* Many small tables, so runs wrap around the end of the slot array. */
	for (int round = 0; round < 2000; round++) {
		enum { N = 64 };
		void *expect[N] = { 0 };
		uint32_t n = (uint32_t)(rng_next() % N) + 1;
		struct aa_map m;
		map_init(&m, 0);
		uint8_t key[KEY_BUF];
		for (uint32_t k = 0; k < n; k++) {
			if (rng_next() % 4 == 0)
				continue;
			expect[k] = value_of(k, 0);
			assert_int_equal(map_put(&m, key, key_of(k, key), expect[k], NULL), 0);
		}
		uint8_t seen[N] = { 0 };
		struct map_iter it;
		const uint8_t *kp;
		size_t kl;
		void *value;
		map_iter_init(&it, &m);
		while (map_iter_next(&it, &kp, &kl, &value)) {
			uint32_t k;
			memcpy(&k, kp, 4);
			assert_false(seen[k]);
			seen[k] = 1;
			assert_ptr_equal(value, expect[k]);
			switch (rng_next() % 3) {
			case 0:
				assert_ptr_equal(map_iter_remove(&it), expect[k]);
				assert_null(map_iter_remove(&it));
				expect[k] = NULL;
				break;
			case 1: {
				uint8_t copy[KEY_BUF];
				memcpy(copy, kp, kl);
				assert_ptr_equal(map_remove(&m, copy, kl), expect[k]);
				expect[k] = NULL;
				break;
			}
			default: /* keep, but replace the value: allowed while iterating */
				expect[k] = value_of(k, 1);
				assert_int_equal(map_put(&m, kp, kl, expect[k], NULL), 0);
				break;
			}
		}
		for (uint32_t k = 0; k < n; k++)
			assert_int_equal(seen[k] || expect[k] == NULL, 1);
		assert_int_equal(iterate_and_check(&m, expect, N), map_count(&m));
		map_free(&m);
	}
}

static void test_map_iteration_allows_removing_visited_entries(void **state)
{
	rng_state = 777;
	for (int round = 0; round < 2000; round++) {
		enum { N = 64 };
		void *expect[N] = { 0 };
		struct aa_map m;
		map_init(&m, 0);
		uint8_t key[KEY_BUF];
		uint32_t n = (uint32_t)(rng_next() % N) + 1;
		for (uint32_t k = 0; k < n; k++) {
			expect[k] = value_of(k, 0);
			assert_int_equal(map_put(&m, key, key_of(k, key), expect[k], NULL), 0);
		}
		uint32_t visited[N];
		size_t nvisited = 0;
		uint8_t seen[N] = { 0 };
		struct map_iter it;
		const uint8_t *kp;
		map_iter_init(&it, &m);
		while (map_iter_next(&it, &kp, NULL, NULL)) {
			uint32_t k;
			memcpy(&k, kp, 4);
			assert_false(seen[k]);
			seen[k] = 1;
			visited[nvisited++] = k;
			/* Remove a random earlier-visited entry that is still present. */
			uint32_t pick = visited[rng_next() % nvisited];
			if (expect[pick] && rng_next() % 2) {
				assert_ptr_equal(map_remove(&m, key, key_of(pick, key)), expect[pick]);
				expect[pick] = NULL;
			}
		}
		assert_int_equal(nvisited, n);
		assert_int_equal(iterate_and_check(&m, expect, N), map_count(&m));
		map_free(&m);
	}
}

static void test_map_iteration_can_empty_the_map(void **state)
{
	enum { N = 1000 };
	struct aa_map m;
	map_init(&m, 0);
	uint8_t key[KEY_BUF];
	for (uint32_t k = 0; k < N; k++)
		assert_int_equal(map_put(&m, key, key_of(k, key), value_of(k, 0), NULL), 0);
	struct map_iter it;
	size_t removed = 0;
	map_iter_init(&it, &m);
	assert_null(map_iter_remove(&it)); /* nothing returned yet */
	while (map_iter_next(&it, NULL, NULL, NULL)) {
		assert_non_null(map_iter_remove(&it));
		removed++;
	}
	assert_int_equal(removed, N);
	assert_int_equal(map_count(&m), 0);
	map_free(&m);
}

static void test_map_seeds_differ_between_maps(void **state)
{
	struct aa_map a, b;
	map_init(&a, 0);
	map_init(&b, 0);
	assert_memory_not_equal(a.seed, b.seed, sizeof a.seed);
	map_free(&a);
	map_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_put_get_remove),
		cmocka_unit_test(test_map_put_replaces_and_returns_old_value),
		cmocka_unit_test(test_map_find_distinguishes_null_value_from_absent),
		cmocka_unit_test(test_map_copies_keys),
		cmocka_unit_test(test_map_keys_differ_by_length_and_may_be_empty),
		cmocka_unit_test(test_map_bound_rejects_new_keys_only),
		cmocka_unit_test(test_map_gives_memory_back_after_mass_removal),
		cmocka_unit_test(test_map_matches_reference_under_random_operations),
		cmocka_unit_test(test_map_iteration_visits_every_entry_once),
		cmocka_unit_test(test_map_iteration_allows_removing_current_entry),
		cmocka_unit_test(test_map_iteration_allows_removing_visited_entries),
		cmocka_unit_test(test_map_iteration_can_empty_the_map),
		cmocka_unit_test(test_map_seeds_differ_between_maps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
