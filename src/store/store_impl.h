/* store_impl: what the files of the store module share. store.c owns open/close, the store
 * thread and submission; store_ops.c applies ops inside a write transaction and holds the
 * key and value layouts; store_read.c serves the loop thread's reads. Include only from
 * src/store/.
 *
 * Layout (schema 1), one named LMDB database each:
 *   meta       "magic" -> STORE_MAGIC; "schema" -> u32 BE; "queue_seq" (next sequence),
 *              "queue_total", "dedup_count" -> u64 BE
 *   tasks      task id -> bytes
 *   cards      "self" | peer id -> bytes
 *   queue      peer ‖ 0x00 ‖ seq (u64 BE) -> expiry (u64 BE wall ms) ‖ id_len (u8) ‖
 *              envelope id ‖ envelope bytes. The id is kept beside the bytes so expiry can
 *              clean the id index without decoding the (opaque) envelope.
 *   queue_ids  envelope id -> queue key           (remove on ACK)
 *   queue_exp  expiry (u64 BE) ‖ queue key -> ""  (expire in time order)
 *   queue_cnt  peer -> u64 BE entries             (per-peer bound without a scan)
 *   dedup      envelope id -> first seen (u64 BE wall ms)
 *   dedup_age  first seen (u64 BE) ‖ envelope id -> ""  (prune oldest first)
 * Peer ids never contain 0x00, so "peer ‖ 0x00" is an exact prefix of one peer's queue and
 * LMDB's byte order makes that range FIFO. */
#ifndef AA_STORE_STORE_IMPL_H
#define AA_STORE_STORE_IMPL_H

#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "base/buf.h"
#include "base/endian.h"
#include "store/store.h"

#define STORE_MAGIC "agentanycastd store"

enum store_dbi {
	DBI_META = 0,
	DBI_TASKS,
	DBI_CARDS,
	DBI_QUEUE,
	DBI_QUEUE_IDS,
	DBI_QUEUE_EXP,
	DBI_QUEUE_CNT,
	DBI_DEDUP,
	DBI_DEDUP_AGE,
	DBI_COUNT,
};

extern const char *const store__dbi_names[DBI_COUNT];

enum store_op_kind {
	OP_PUT,
	OP_DEL,
	OP_QUEUE_PUSH,
	OP_QUEUE_REMOVE,
	OP_QUEUE_EXPIRE,
	OP_DEDUP_INSERT,
};

/* One op; its byte arguments live in the batch's data buffer (offsets survive growth). */
struct store_op {
	enum store_op_kind kind;
	enum store_table table; /* OP_PUT, OP_DEL */
	size_t a_off, a_len;    /* key (put, del), peer (push), envelope id (remove, dedup) */
	size_t b_off, b_len;    /* value (put), envelope id (push) */
	size_t c_off, c_len;    /* envelope (push) */
	int64_t when_ms;        /* expiry (push), now (expire, dedup) */
	int status;
	uint64_t result;
};

struct store_batch {
	struct store_batch *next;
	struct store_op *ops;
	size_t n, cap;
	struct aa_buf data;
	store_done_cb cb;
	void *arg;
	int status;
	bool lazy;                   /* store_batch_set_lazy */
	size_t acct_ops, acct_bytes; /* what it counts against the pending bounds */
};

/* Limits the store thread applies inside transactions. */
struct store_limits {
	uint64_t queue_max_per_peer;
	uint64_t queue_max_total;
	uint64_t dedup_max;
	int64_t dedup_ttl_ms;
};

struct store {
	uv_loop_t *loop;
	MDB_env *env;
	MDB_dbi dbi[DBI_COUNT];
	int lock_fd;               /* the data file, flock()ed: one process per store */
	struct store_limits lim;
	size_t map_size_max;
	size_t max_pending_ops, max_pending_bytes, max_value_bytes;
	uint64_t lazy_linger_ns;
	uv_thread_t thread;
	uv_async_t async;          /* store thread -> loop: completions are ready */
	uv_mutex_t mu;
	uv_cond_t cv;
	/* Read transactions hold it shared; the store thread holds it exclusively while it
	 * remaps a grown map (LMDB: no transaction may be live during mdb_env_set_mapsize). */
	uv_rwlock_t maplock;

	/* Loop thread only. */
	MDB_txn *rtxn;             /* reused read transaction (MDB_NOTLS: not tied to a thread) */
	bool reading;
	bool closed;
	bool async_ref;
	size_t pending_ops, pending_bytes;
	struct store_batch *ready_head, *ready_tail; /* completions being delivered */
	void (*close_cb)(void *arg);
	void *close_arg;

	/* Store thread only. */
	size_t map_size;

	/* Under mu. */
	struct store_batch *in_head, *in_tail;     /* submitted, not yet taken */
	size_t in_urgent;                          /* ... of which not lazy */
	uint64_t in_since_ns;                      /* when in_head was submitted */
	struct store_batch *done_head, *done_tail; /* committed or failed, not yet delivered */
	bool stopping;
	bool held;                                 /* store_hold */
	struct store_stats tstats;                 /* the store thread's counters */
	/* Under mu and maplock (written by the store thread holding both): the map could not be
	 * remapped, so the environment must not be touched again. */
	bool failed;
};

/* Most dedup ids dropped by one commit's prune, so lowering dedup_max between runs cannot
 * turn one commit into a long stall; the rest go in the following commits. */
#define STORE_PRUNE_MAX_PER_COMMIT 10000u

/* LMDB return code -> AA_E… (MDB_MAP_FULL -> AA_ENOMEM, damage -> AA_EIO, ...). */
int store__map_err(int mdb_rc);
/* True for errors a smaller transaction or a bigger map could avoid. */
static inline bool store__is_resource_err(int mdb_rc)
{
	return mdb_rc == MDB_MAP_FULL || mdb_rc == MDB_TXN_FULL;
}

/* --- store_ops.c: everything below runs inside a write transaction. Each returns an LMDB
 * code (0 or an error that dooms the transaction); logical outcomes go to op->status/result. */

/* Applies op; a logical failure (a bound) changes nothing and sets op->status. */
int store__apply_op(MDB_txn *txn, const MDB_dbi *dbi, const struct store_limits *lim,
		    const struct store_batch *b, struct store_op *op);
/* Drops dedup ids beyond lim->dedup_max or older than lim->dedup_ttl_ms at now_ms. */
int store__dedup_prune(MDB_txn *txn, const MDB_dbi *dbi, const struct store_limits *lim,
		       int64_t now_ms);
/* Removes queue entries expiring at or before now_ms; *removed gets their number. */
int store__queue_expire(MDB_txn *txn, const MDB_dbi *dbi, int64_t now_ms, uint64_t *removed);
/* Reads a u64 counter from meta (absent: 0). */
int store__meta_get_u64(MDB_txn *txn, const MDB_dbi *dbi, const char *name, uint64_t *out);
/* Decodes a queue value; -1 if it is malformed. */
int store__queue_value_decode(const MDB_val *v, int64_t *expires, struct aa_slice *id,
			      struct aa_slice *envelope);

#endif
