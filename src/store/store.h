/* store: the daemon's durable state in one LMDB file, <store_path>/agentanycast.lmdb: tasks,
 * agent cards, the offline queue (FIFO per peer, with a TTL) and the envelope dedup set
 * (DECISIONS.md 3, 4, 5; REFERENCE.md C.6, C.7 for what the reference keeps). Values are
 * opaque bytes: the A2A layer encodes them, the store never looks inside.
 *
 * Threading (DESIGN.md "Shape of the system"): every function here is called from the loop
 * thread. Writes are queued as batches for the store thread, which drains everything pending
 * into ONE durable write transaction (group commit: one fsync for many batches) and hands the
 * completions back to the loop with uv_async; completion callbacks run on the loop thread, in
 * submission order, only after the transaction that holds their writes has been committed and
 * synced. Reads are synchronous, on the loop thread, in a read-only snapshot taken at the call
 * (LMDB readers never wait for the writer); a read sees every write whose completion callback
 * has already run.
 *
 * Ownership: the caller owns the store (store_open / store_close). A batch belongs to its
 * builder until store_submit() accepts it; from then on to the store, which frees it right
 * after its completion callback returns. Everything the store is given is copied. Slices a read
 * callback receives point into the database map and are valid only during that callback. */
#ifndef AA_STORE_STORE_H
#define AA_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "base/buf.h"

/* The data file inside store_path; LMDB keeps its lock table beside it in "<file>-lock". */
#define STORE_FILE_NAME "agentanycast.lmdb"
/* The on-disk layout this code writes. A store with a higher number was written by a newer
 * daemon and is refused rather than misread. */
#define STORE_SCHEMA_VERSION 1u
/* Longest key of a task or card (LMDB's default key limit). */
#define STORE_KEY_MAX 511u
/* Longest peer id or envelope id used in the offline queue and the dedup set. */
#define STORE_ID_MAX 255u

/* The plain key/value tables. The queue and the dedup set have their own calls below. */
enum store_table {
	STORE_TASKS = 0, /* task id -> task record */
	STORE_CARDS,     /* "self" or a peer id string -> agent card */
	STORE_TABLE_COUNT,
};

struct store_options {
	const char *path;          /* store_path: created 0700 with its parents if missing */
	size_t map_size;           /* initial LMDB map size in bytes (default 1 GiB) */
	size_t map_size_max;       /* the map doubles on MDB_MAP_FULL up to this (default 16 GiB);
				      beyond it writes fail with AA_ENOMEM */
	size_t max_pending_ops;    /* ops submitted but not yet completed (default 65536) */
	size_t max_pending_bytes;  /* bytes of those ops (default 64 MiB) */
	size_t max_value_bytes;    /* largest value or queued envelope (default 16 MiB) */
	uint64_t queue_max_per_peer; /* offline queue entries per peer (default 10000) */
	uint64_t queue_max_total;    /* offline queue entries in all (default 100000) */
	uint64_t dedup_max;          /* envelope ids remembered (default 100000) */
	int64_t dedup_ttl_ms;        /* and for how long (default 7 days) */
	uint32_t lock_wait_ms;     /* wait this long for another process to let go of the store
				      (default 5000, as the reference waits 5 s; 0: do not wait) */
	uint32_t lazy_linger_ms;   /* see store_batch_set_lazy (default STORE_LAZY_LINGER_MS) */
};

/* Fills o with the defaults above; o->path is NULL and must be set. */
void store_options_default(struct store_options *o);

struct store;
struct store_batch;

/* Runs on the loop thread once the batch's transaction has committed (status 0) or failed.
 * status is the batch's status (store_batch_status). The batch is freed when this returns. */
typedef void (*store_done_cb)(int status, const struct store_batch *b, void *arg);

/* Opens (creating if needed) the store under o->path and starts its thread; the loop must be
 * the one every later call comes from. At open, expired queue entries and aged dedup ids are
 * dropped. On failure returns the code and writes a sentence for people into errbuf (may be
 * NULL): AA_ECONFIG for a file that is not an LMDB file, not an agentanycastd store, damaged,
 * or of a newer schema; AA_EAGAIN when another process holds the store; AA_EPERM for
 * permissions; AA_EIO for I/O errors; AA_EINVAL for bad options. */
int store_open(uv_loop_t *loop, const struct store_options *o, struct store **out,
	       char *errbuf, size_t errcap);

/* Stops accepting writes (later submissions fail with AA_ECLOSED), commits everything already
 * submitted, joins the store thread and closes the file. Callbacks of batches still pending
 * run inside this call, AFTER their commit, with their real status (nothing is cancelled).
 * The file is closed when this returns (the store can be reopened at once); the struct itself
 * is freed, and close_cb (may be NULL) called, once the loop has run the close of the store's
 * uv_async handle, so run the loop (uv_run) before uv_loop_close(). Do not call it from inside
 * a read callback. */
void store_close(struct store *s, void (*close_cb)(void *arg), void *arg);

/* hold true: the store thread starts no new commit (batches are still accepted and wait);
 * false lets them go. store_close commits regardless. For tests that need a commit to be
 * slow, to see what may and may not happen before it. */
void store_hold(struct store *s, bool hold);

/* --- writes ----------------------------------------------------------------------------------
 * A batch is a list of ops applied atomically: all of them or none. If one op fails, the batch
 * is rolled back, that op's status is its error and the others' AA_ECANCELED; other batches of
 * the same commit are unaffected. An op that finds nothing to do is not a failure: its result
 * says what happened. Builders check their arguments at once (AA_EINVAL: empty or too-long key
 * or id, a peer id containing 0x00, negative time) and leave the batch unchanged; values above
 * max_value_bytes are refused by store_submit (AA_ETOOBIG). */

struct store_batch *store_batch_new(void);
/* Frees a batch that was never accepted by store_submit. */
void store_batch_free(struct store_batch *b);

/* Sets key to value in a table. Result 0. */
int store_batch_put(struct store_batch *b, enum store_table t, struct aa_slice key,
		    struct aa_slice value);
/* Deletes key from a table. Result 1 if it existed, else 0. */
int store_batch_del(struct store_batch *b, enum store_table t, struct aa_slice key);

/* Appends an envelope to peer's offline queue, to be dropped at wall time expires_at_ms
 * (aa_clock_wall_ms() + ttl). Result: its sequence number, which orders a peer's queue (FIFO).
 * If envelope_id is already queued, nothing changes and the result is the existing entry's
 * sequence. Fails with AA_ENOMEM when the peer's queue or the whole queue is at its bound. */
int store_batch_queue_push(struct store_batch *b, struct aa_slice peer,
			   struct aa_slice envelope_id, struct aa_slice envelope,
			   int64_t expires_at_ms);
/* Removes the queued envelope with this id (on its ACK). Result 1 if it was queued, else 0. */
int store_batch_queue_remove(struct store_batch *b, struct aa_slice envelope_id);
/* Removes every queue entry whose expiry is <= now_ms. Result: how many were removed. */
int store_batch_queue_expire(struct store_batch *b, int64_t now_ms);
/* Remembers envelope_id as seen at now_ms unless it is already remembered (seen less than
 * dedup_ttl_ms before now_ms). Result 1 if it was inserted (new), 0 if it was known. Put it in
 * the same batch as the writes of the envelope's effects so both survive a crash or neither. */
int store_batch_dedup_insert(struct store_batch *b, struct aa_slice envelope_id, int64_t now_ms);

/* Marks b as not urgent: nobody waits on its durability soon (say, the removal of an
 * acknowledged envelope, which a crash would only make the peer dedup once more). The store
 * thread starts no commit for lazy batches alone until lazy_linger_ms after the oldest was
 * submitted; any other batch takes them along in its commit, in submission order. So a
 * bookkeeping write costs no fsync of its own and does not hold up the next urgent commit. */
#define STORE_LAZY_LINGER_MS 20u
void store_batch_set_lazy(struct store_batch *b);

size_t store_batch_count(const struct store_batch *b);
/* 0 if the batch committed, else the first failing op's status (or the commit's error). */
int store_batch_status(const struct store_batch *b);
/* Status and result of op i (in the order added); meaningful in the completion callback. */
int store_batch_op_status(const struct store_batch *b, size_t i);
uint64_t store_batch_op_result(const struct store_batch *b, size_t i);

/* Queues the batch for the next commit; cb (may be NULL) runs after it. On success the store
 * owns b. On failure the caller still owns b: AA_EAGAIN when the pending bounds are reached
 * (try again after some completions), AA_ETOOBIG when b alone exceeds them or holds a value
 * above max_value_bytes, AA_ECLOSED after
 * store_close, AA_EIO when the store has failed for good (its map could not be remapped). An
 * empty batch is allowed: its callback runs once everything submitted before it is durable. */
int store_submit(struct store *s, struct store_batch *b, store_done_cb cb, void *arg);

/* One-op shorthands: build, submit, and free the batch on failure. The result is
 * store_batch_op_result(b, 0) in the callback. */
int store_put(struct store *s, enum store_table t, struct aa_slice key, struct aa_slice value,
	      store_done_cb cb, void *arg);
int store_del(struct store *s, enum store_table t, struct aa_slice key, store_done_cb cb,
	      void *arg);
int store_queue_push(struct store *s, struct aa_slice peer, struct aa_slice envelope_id,
		     struct aa_slice envelope, int64_t expires_at_ms, store_done_cb cb, void *arg);
int store_queue_remove(struct store *s, struct aa_slice envelope_id, store_done_cb cb,
		       void *arg);
int store_queue_expire(struct store *s, int64_t now_ms, store_done_cb cb, void *arg);
int store_dedup_insert(struct store *s, struct aa_slice envelope_id, int64_t now_ms,
		       store_done_cb cb, void *arg);

/* --- reads -----------------------------------------------------------------------------------
 * Synchronous, loop thread only. A callback returning non-zero stops the iteration and that
 * value is returned. Callbacks may submit writes but must not call the read functions (they
 * return AA_EINVAL if nested) nor store_close. AA_EIO means the file is damaged. */

typedef int (*store_each_cb)(struct aa_slice key, struct aa_slice value, void *arg);

struct store_queue_entry {
	uint64_t seq;                /* FIFO order within the peer */
	int64_t expires_at_ms;
	struct aa_slice envelope_id;
	struct aa_slice envelope;
};
typedef int (*store_queue_cb)(const struct store_queue_entry *e, void *arg);
typedef int (*store_queue_peer_cb)(struct aa_slice peer, uint64_t count, void *arg);

/* Copies the value of key into out (replacing its contents). AA_ENOENT if absent. */
int store_get(struct store *s, enum store_table t, struct aa_slice key, struct aa_buf *out);
/* Every entry of a table, in key byte order (startup recovery, REFERENCE.md C.7). */
int store_foreach(struct store *s, enum store_table t, store_each_cb cb, void *arg);

/* peer's queued envelopes in FIFO order, skipping those expired at now_ms, at most max of
 * them (0: no limit). */
int store_queue_list(struct store *s, struct aa_slice peer, int64_t now_ms, size_t max,
		     store_queue_cb cb, void *arg);
/* Entries queued for peer (peer.n == 0: for all peers), expired ones not yet removed
 * included. */
int store_queue_count(struct store *s, struct aa_slice peer, uint64_t *out);
/* Every peer with a non-empty queue and its entry count, in peer byte order. */
int store_queue_peers(struct store *s, store_queue_peer_cb cb, void *arg);
/* Whether envelope_id was seen less than dedup_ttl_ms before now_ms. */
int store_dedup_contains(struct store *s, struct aa_slice envelope_id, int64_t now_ms,
			 bool *out);

/* --- metrics ---------------------------------------------------------------------------------- */

/* Upper bounds (ns, inclusive) of the commit latency histogram buckets; the last is
 * UINT64_MAX. Buckets are not cumulative. One sample per commit round: the time from taking
 * the pending batches to having their transaction synced (a round is one transaction unless
 * the map was full at its cap and the round was split). */
#define STORE_LATENCY_BUCKETS 12
extern const uint64_t store_latency_bounds_ns[STORE_LATENCY_BUCKETS];

struct store_stats {
	uint64_t commits;            /* write transactions committed */
	uint64_t commit_errors;      /* write transactions that failed */
	uint64_t batches;            /* batches completed (any status) */
	uint64_t ops;                /* ops completed (any status) */
	uint64_t ops_last_commit;    /* ops in the latest commit */
	uint64_t ops_max_commit;     /* most ops in one commit */
	uint64_t commit_ns_sum;      /* time spent applying, committing and syncing */
	uint64_t commit_ns_max;
	uint64_t commit_ns_bucket[STORE_LATENCY_BUCKETS];
	uint64_t map_size;           /* current LMDB map size, bytes */
	uint64_t map_resizes;
	uint64_t pending_ops;        /* submitted, callback not yet run */
	uint64_t pending_bytes;
	uint64_t queue_total;        /* offline queue entries after the latest commit */
	uint64_t dedup_count;        /* dedup ids after the latest commit */
};

void store_stats_get(struct store *s, struct store_stats *out);

#endif
