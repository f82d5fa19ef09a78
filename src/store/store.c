/* store: opening and checking the LMDB file, the store thread and its group commit, batch
 * building and submission, completion delivery on the loop, close, and stats. */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/mem.h"
#include "store/store_impl.h"

const char *const store__dbi_names[DBI_COUNT] = {
	[DBI_META] = "meta",
	[DBI_TASKS] = "tasks",
	[DBI_CARDS] = "cards",
	[DBI_QUEUE] = "queue",
	[DBI_QUEUE_IDS] = "queue_ids",
	[DBI_QUEUE_EXP] = "queue_exp",
	[DBI_QUEUE_CNT] = "queue_cnt",
	[DBI_DEDUP] = "dedup",
	[DBI_DEDUP_AGE] = "dedup_age",
};

const uint64_t store_latency_bounds_ns[STORE_LATENCY_BUCKETS] = {
	100000ull,    250000ull,    500000ull,     1000000ull,   2500000ull,  5000000ull,
	10000000ull,  25000000ull,  50000000ull,   100000000ull, 1000000000ull, UINT64_MAX,
};

#define MIB (1024ull * 1024ull)
/* A TTL longer than this is a configuration mistake, and bounding it keeps the time
 * arithmetic (now - ttl) far from overflow. */
#define DEDUP_TTL_MAX_MS (100ll * 365 * 24 * 3600 * 1000)

void store_options_default(struct store_options *o)
{
	memset(o, 0, sizeof *o);
	o->map_size = 1024 * MIB;
	o->map_size_max = 16384 * MIB;
	o->max_pending_ops = 65536;
	o->max_pending_bytes = 64 * MIB;
	o->max_value_bytes = 16 * MIB;
	o->queue_max_per_peer = 10000;
	o->queue_max_total = 100000;
	o->dedup_max = 100000;
	o->dedup_ttl_ms = 7ll * 24 * 3600 * 1000;
	o->lock_wait_ms = 5000;
	o->lazy_linger_ms = STORE_LAZY_LINGER_MS;
}

/* --- batches ----------------------------------------------------------------------------------- */

struct store_batch *store_batch_new(void)
{
	return aa_calloc(1, sizeof(struct store_batch));
}

void store_batch_free(struct store_batch *b)
{
	if (!b)
		return;
	aa_buf_free(&b->data);
	free(b->ops);
	free(b);
}

static size_t batch_copy(struct store_batch *b, struct aa_slice s)
{
	size_t off = b->data.n;
	aa_buf_append(&b->data, s.p, s.n);
	return off;
}

static struct store_op *batch_add(struct store_batch *b, enum store_op_kind kind)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 4;
		b->ops = aa_realloc(b->ops, b->cap * sizeof *b->ops);
	}
	struct store_op *op = &b->ops[b->n++];
	memset(op, 0, sizeof *op);
	op->kind = kind;
	return op;
}

static bool key_ok(struct aa_slice k)
{
	return k.n >= 1 && k.n <= STORE_KEY_MAX && k.p;
}

static bool id_ok(struct aa_slice id)
{
	return id.n >= 1 && id.n <= STORE_ID_MAX && id.p;
}

/* A peer id delimits its queue range with a 0x00 byte, so it must not contain one. */
static bool peer_ok(struct aa_slice peer)
{
	return id_ok(peer) && !memchr(peer.p, 0, peer.n);
}

static bool bytes_ok(struct aa_slice v)
{
	return v.n == 0 || v.p;
}

int store_batch_put(struct store_batch *b, enum store_table t, struct aa_slice key,
		    struct aa_slice value)
{
	if ((unsigned)t >= STORE_TABLE_COUNT || !key_ok(key) || !bytes_ok(value))
		return AA_EINVAL;
	struct store_op *op = batch_add(b, OP_PUT);
	op->table = t;
	op->a_len = key.n;
	op->a_off = batch_copy(b, key);
	op->b_len = value.n;
	op->b_off = batch_copy(b, value);
	return 0;
}

int store_batch_del(struct store_batch *b, enum store_table t, struct aa_slice key)
{
	if ((unsigned)t >= STORE_TABLE_COUNT || !key_ok(key))
		return AA_EINVAL;
	struct store_op *op = batch_add(b, OP_DEL);
	op->table = t;
	op->a_len = key.n;
	op->a_off = batch_copy(b, key);
	return 0;
}

int store_batch_queue_push(struct store_batch *b, struct aa_slice peer,
			   struct aa_slice envelope_id, struct aa_slice envelope,
			   int64_t expires_at_ms)
{
	if (!peer_ok(peer) || !id_ok(envelope_id) || !bytes_ok(envelope) || expires_at_ms < 0)
		return AA_EINVAL;
	struct store_op *op = batch_add(b, OP_QUEUE_PUSH);
	op->a_len = peer.n;
	op->a_off = batch_copy(b, peer);
	op->b_len = envelope_id.n;
	op->b_off = batch_copy(b, envelope_id);
	op->c_len = envelope.n;
	op->c_off = batch_copy(b, envelope);
	op->when_ms = expires_at_ms;
	return 0;
}

int store_batch_queue_remove(struct store_batch *b, struct aa_slice envelope_id)
{
	if (!id_ok(envelope_id))
		return AA_EINVAL;
	struct store_op *op = batch_add(b, OP_QUEUE_REMOVE);
	op->a_len = envelope_id.n;
	op->a_off = batch_copy(b, envelope_id);
	return 0;
}

int store_batch_queue_expire(struct store_batch *b, int64_t now_ms)
{
	if (now_ms < 0)
		return AA_EINVAL;
	batch_add(b, OP_QUEUE_EXPIRE)->when_ms = now_ms;
	return 0;
}

int store_batch_dedup_insert(struct store_batch *b, struct aa_slice envelope_id, int64_t now_ms)
{
	if (!id_ok(envelope_id) || now_ms < 0)
		return AA_EINVAL;
	struct store_op *op = batch_add(b, OP_DEDUP_INSERT);
	op->a_len = envelope_id.n;
	op->a_off = batch_copy(b, envelope_id);
	op->when_ms = now_ms;
	return 0;
}

void store_batch_set_lazy(struct store_batch *b)
{
	b->lazy = true;
}

size_t store_batch_count(const struct store_batch *b)
{
	return b->n;
}

int store_batch_status(const struct store_batch *b)
{
	return b->status;
}

int store_batch_op_status(const struct store_batch *b, size_t i)
{
	return i < b->n ? b->ops[i].status : AA_EINVAL;
}

uint64_t store_batch_op_result(const struct store_batch *b, size_t i)
{
	return i < b->n ? b->ops[i].result : 0;
}

/* --- the store thread -------------------------------------------------------------------------- */

/* What one round (one or, after a split, several transactions) did, for the stats. */
struct round_result {
	uint64_t commits, errors;
	bool have_counts;
	uint64_t queue_total, dedup_count;
};

static void fail_batch(struct store_batch *b, int err)
{
	b->status = err;
	for (size_t i = 0; i < b->n; i++) {
		b->ops[i].status = err;
		b->ops[i].result = 0;
	}
}

/* Applies one batch atomically: a batch of several ops runs in a nested transaction, so a
 * failing op rolls back the ones before it without touching the other batches. A single op
 * needs none (ops change nothing when they fail logically). Returns an LMDB error that dooms
 * the whole transaction, or 0 (with b->status telling the batch's fate). */
static int apply_batch(struct store *s, MDB_txn *parent, struct store_batch *b)
{
	MDB_txn *txn = parent, *child = NULL;
	int rc;
	b->status = 0;
	if (b->n > 1) {
		if ((rc = mdb_txn_begin(s->env, parent, 0, &child)))
			return rc;
		txn = child;
	}
	for (size_t i = 0; i < b->n; i++) {
		if ((rc = store__apply_op(txn, s->dbi, &s->lim, b, &b->ops[i]))) {
			if (child)
				mdb_txn_abort(child);
			return rc;
		}
		if (b->ops[i].status < 0) {
			b->status = b->ops[i].status;
			for (size_t j = 0; j < b->n; j++) {
				if (j != i) {
					b->ops[j].status = AA_ECANCELED;
					b->ops[j].result = 0;
				}
			}
			if (child)
				mdb_txn_abort(child);
			return 0;
		}
	}
	return child ? mdb_txn_commit(child) : 0;
}

/* One write transaction over the whole list; returns its LMDB code (0: committed). */
static int try_round(struct store *s, struct store_batch *list, struct round_result *res)
{
	if (s->failed)
		return MDB_PANIC;
	MDB_txn *txn;
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc)
		return rc;
	for (struct store_batch *b = list; b; b = b->next)
		if ((rc = apply_batch(s, txn, b)))
			goto abort;
	uint64_t qt, dc;
	if ((rc = store__dedup_prune(txn, s->dbi, &s->lim, aa_clock_wall_ms())) ||
	    (rc = store__meta_get_u64(txn, s->dbi, "queue_total", &qt)) ||
	    (rc = store__meta_get_u64(txn, s->dbi, "dedup_count", &dc)))
		goto abort;
	/* Durable commit: the environment has no MDB_NOSYNC/MDB_NOMETASYNC, so this returns
	 * after the data and meta pages are on disk. That is what the completions promise. */
	if ((rc = mdb_txn_commit(txn)))
		return rc;
	res->have_counts = true;
	res->queue_total = qt;
	res->dedup_count = dc;
	return 0;
abort:
	mdb_txn_abort(txn);
	return rc;
}

/* Doubles the map (up to the cap) with every reader kept out; 0 if it grew. */
static int grow_map(struct store *s)
{
	if (s->map_size >= s->map_size_max)
		return MDB_MAP_FULL;
	size_t next = s->map_size > s->map_size_max / 2 ? s->map_size_max : s->map_size * 2;
	uv_rwlock_wrlock(&s->maplock);
	int rc = mdb_env_set_mapsize(s->env, next);
	if (rc) {
		/* LMDB unmapped the old map first: the environment is unusable from here on. */
		uv_mutex_lock(&s->mu);
		s->failed = true;
		uv_mutex_unlock(&s->mu);
	}
	uv_rwlock_wrunlock(&s->maplock);
	if (rc) {
		aa_log(AA_LOG_ERROR, "store map resize failed; store disabled", "error",
		       mdb_strerror(rc), NULL);
		return rc;
	}
	s->map_size = next;
	char size[32];
	snprintf(size, sizeof size, "%zu", next);
	aa_log(AA_LOG_INFO, "store map grown", "map_size", size, NULL);
	uv_mutex_lock(&s->mu);
	s->tstats.map_size = next;
	s->tstats.map_resizes++;
	uv_mutex_unlock(&s->mu);
	return 0;
}

/* Commits the list, growing the map when it is full. When a transaction cannot fit even at
 * the cap, the batches are retried one transaction each so only those that do not fit fail. */
static void commit_round(struct store *s, struct store_batch *list, bool may_split,
			 struct round_result *res)
{
	for (;;) {
		int rc = try_round(s, list, res);
		if (rc == 0) {
			res->commits++;
			return;
		}
		if (rc == MDB_MAP_FULL && grow_map(s) == 0)
			continue;
		if (store__is_resource_err(rc) && may_split && list->next) {
			for (struct store_batch *b = list; b;) {
				struct store_batch *next = b->next;
				b->next = NULL;
				commit_round(s, b, false, res);
				b->next = next;
				b = next;
			}
			return;
		}
		res->errors++;
		aa_log(AA_LOG_ERROR, "store commit failed", "error", mdb_strerror(rc), NULL);
		for (struct store_batch *b = list; b; b = b->next)
			fail_batch(b, store__map_err(rc));
		return;
	}
}

static void stats_add_commit(struct store_stats *st, uint64_t ns, uint64_t ops,
			     const struct round_result *res)
{
	st->commits += res->commits;
	st->commit_errors += res->errors;
	st->ops_last_commit = ops;
	if (ops > st->ops_max_commit)
		st->ops_max_commit = ops;
	st->commit_ns_sum += ns;
	if (ns > st->commit_ns_max)
		st->commit_ns_max = ns;
	for (int i = 0; i < STORE_LATENCY_BUCKETS; i++) {
		if (ns <= store_latency_bounds_ns[i]) {
			st->commit_ns_bucket[i]++;
			break;
		}
	}
	if (res->have_counts) {
		st->queue_total = res->queue_total;
		st->dedup_count = res->dedup_count;
	}
}

static void store_thread_main(void *arg)
{
	struct store *s = arg;
	uv_mutex_lock(&s->mu);
	for (;;) {
		while ((!s->in_head || s->held) && !s->stopping)
			uv_cond_wait(&s->cv, &s->mu);
		if (!s->in_head)
			break; /* stopping, and everything submitted has been committed */
		/* Only lazy batches: they wait for an urgent one or their linger time, also when
		 * they piled up during a commit. Committing them at once would make the next
		 * urgent batch (a client waiting) sit through a round of bookkeeping: that cost a
		 * third of the A2A round trip's latency one task at a time. */
		while (!s->in_urgent && !s->stopping) {
			uint64_t now = aa_clock_mono_ns();
			uint64_t due = s->in_since_ns + s->lazy_linger_ns;
			if (now >= due || uv_cond_timedwait(&s->cv, &s->mu, due - now) == UV_ETIMEDOUT)
				break;
		}
		/* Group commit: take everything pending, whatever arrived during the last fsync. */
		struct store_batch *list = s->in_head, *tail = s->in_tail;
		s->in_head = s->in_tail = NULL;
		s->in_urgent = 0;
		uv_mutex_unlock(&s->mu);

		uint64_t ops = 0, batches = 0;
		for (struct store_batch *b = list; b; b = b->next) {
			ops += b->n;
			batches++;
		}
		struct round_result res = { 0 };
		uint64_t t0 = aa_clock_mono_ns();
		commit_round(s, list, true, &res);
		uint64_t ns = aa_clock_mono_ns() - t0;

		uv_mutex_lock(&s->mu);
		stats_add_commit(&s->tstats, ns, ops, &res);
		s->tstats.batches += batches;
		s->tstats.ops += ops;
		if (s->done_tail)
			s->done_tail->next = list;
		else
			s->done_head = list;
		s->done_tail = tail;
		uv_async_send(&s->async);
	}
	uv_mutex_unlock(&s->mu);
}

/* --- completions on the loop --------------------------------------------------------------------- */

static void update_ref(struct store *s)
{
	/* The handle keeps the loop alive only while completions are owed, so uv_run returns
	 * once the store is idle. */
	bool want = s->pending_ops > 0;
	if (want && !s->async_ref)
		uv_ref((uv_handle_t *)&s->async);
	else if (!want && s->async_ref)
		uv_unref((uv_handle_t *)&s->async);
	s->async_ref = want;
}

/* Runs ready completions in order. The list lives in the store, not on the stack, so a
 * callback that calls store_close (which delivers the rest) keeps the order. */
static void deliver(struct store *s)
{
	for (;;) {
		if (!s->ready_head) {
			uv_mutex_lock(&s->mu);
			s->ready_head = s->done_head;
			s->ready_tail = s->done_tail;
			s->done_head = s->done_tail = NULL;
			uv_mutex_unlock(&s->mu);
			if (!s->ready_head)
				break;
		}
		struct store_batch *b = s->ready_head;
		s->ready_head = b->next;
		if (!s->ready_head)
			s->ready_tail = NULL;
		s->pending_ops -= b->acct_ops;
		s->pending_bytes -= b->acct_bytes;
		if (b->cb)
			b->cb(b->status, b, b->arg);
		store_batch_free(b);
	}
	update_ref(s);
}

static void on_async(uv_async_t *h)
{
	deliver(h->data);
}

int store_submit(struct store *s, struct store_batch *b, store_done_cb cb, void *arg)
{
	if (s->closed)
		return AA_ECLOSED;
	for (size_t i = 0; i < b->n; i++) {
		const struct store_op *op = &b->ops[i];
		if ((op->kind == OP_PUT && op->b_len > s->max_value_bytes) ||
		    (op->kind == OP_QUEUE_PUSH && op->c_len > s->max_value_bytes))
			return AA_ETOOBIG;
	}
	/* An empty batch still occupies a place in the pipeline. */
	size_t ops = b->n ? b->n : 1;
	size_t bytes = b->data.n + b->n * sizeof(struct store_op) + sizeof *b;
	if (ops > s->max_pending_ops || bytes > s->max_pending_bytes)
		return AA_ETOOBIG;
	if (s->pending_ops + ops > s->max_pending_ops ||
	    s->pending_bytes + bytes > s->max_pending_bytes)
		return AA_EAGAIN;
	b->cb = cb;
	b->arg = arg;
	b->next = NULL;
	b->status = 0;
	b->acct_ops = ops;
	b->acct_bytes = bytes;

	uv_mutex_lock(&s->mu);
	if (s->failed) {
		uv_mutex_unlock(&s->mu);
		return AA_EIO;
	}
	if (s->in_tail) {
		s->in_tail->next = b;
	} else {
		s->in_head = b;
		s->in_since_ns = aa_clock_mono_ns();
	}
	s->in_tail = b;
	if (!b->lazy)
		s->in_urgent++;
	/* A lazy batch behind others changes nothing the thread waits for. */
	if (!b->lazy || s->in_head == b)
		uv_cond_signal(&s->cv);
	uv_mutex_unlock(&s->mu);

	s->pending_ops += ops;
	s->pending_bytes += bytes;
	update_ref(s);
	return 0;
}

static int submit_one(struct store *s, struct store_batch *b, int rc, store_done_cb cb,
		      void *arg)
{
	if (rc == 0)
		rc = store_submit(s, b, cb, arg);
	if (rc)
		store_batch_free(b);
	return rc;
}

int store_put(struct store *s, enum store_table t, struct aa_slice key, struct aa_slice value,
	      store_done_cb cb, void *arg)
{
	struct store_batch *b = store_batch_new();
	return submit_one(s, b, store_batch_put(b, t, key, value), cb, arg);
}

int store_del(struct store *s, enum store_table t, struct aa_slice key, store_done_cb cb,
	      void *arg)
{
	struct store_batch *b = store_batch_new();
	return submit_one(s, b, store_batch_del(b, t, key), cb, arg);
}

int store_queue_push(struct store *s, struct aa_slice peer, struct aa_slice envelope_id,
		     struct aa_slice envelope, int64_t expires_at_ms, store_done_cb cb, void *arg)
{
	struct store_batch *b = store_batch_new();
	return submit_one(s, b,
			  store_batch_queue_push(b, peer, envelope_id, envelope, expires_at_ms),
			  cb, arg);
}

int store_queue_remove(struct store *s, struct aa_slice envelope_id, store_done_cb cb,
		       void *arg)
{
	struct store_batch *b = store_batch_new();
	return submit_one(s, b, store_batch_queue_remove(b, envelope_id), cb, arg);
}

int store_queue_expire(struct store *s, int64_t now_ms, store_done_cb cb, void *arg)
{
	struct store_batch *b = store_batch_new();
	return submit_one(s, b, store_batch_queue_expire(b, now_ms), cb, arg);
}

int store_dedup_insert(struct store *s, struct aa_slice envelope_id, int64_t now_ms,
		       store_done_cb cb, void *arg)
{
	struct store_batch *b = store_batch_new();
	return submit_one(s, b, store_batch_dedup_insert(b, envelope_id, now_ms), cb, arg);
}

void store_stats_get(struct store *s, struct store_stats *out)
{
	uv_mutex_lock(&s->mu);
	*out = s->tstats;
	uv_mutex_unlock(&s->mu);
	out->pending_ops = s->pending_ops;
	out->pending_bytes = s->pending_bytes;
}

/* --- open ------------------------------------------------------------------------------------ */

static int open_fail(char *errbuf, size_t errcap, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The sentence goes to the caller, who reports it; it is logged here only if nobody asked. */
static int open_fail(char *errbuf, size_t errcap, int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (errbuf && errcap)
		snprintf(errbuf, errcap, "%s", msg);
	else
		aa_log(AA_LOG_ERROR, "store open failed", "reason", msg, NULL);
	return code;
}

static int check_options(const struct store_options *o)
{
	if (!o->path || !*o->path || o->map_size == 0 || o->max_pending_ops == 0 ||
	    o->max_pending_bytes == 0 || o->max_value_bytes == 0 ||
	    o->queue_max_per_peer == 0 || o->queue_max_total == 0 || o->dedup_max == 0 ||
	    o->dedup_ttl_ms <= 0 || o->dedup_ttl_ms > DEDUP_TTL_MAX_MS)
		return AA_EINVAL;
	return 0;
}

/* Takes an exclusive flock on the data file, waiting up to wait_ms. LMDB itself would let a
 * second process in; two daemons draining one queue would deliver twice. */
static int lock_file(int fd, uint32_t wait_ms)
{
	uint64_t deadline = aa_clock_mono_ns() + (uint64_t)wait_ms * 1000000u;
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return AA_EIO;
		if (aa_clock_mono_ns() >= deadline)
			return AA_EAGAIN;
		usleep(20000);
	}
}

/* Checks that the environment is ours and of a schema we read, creating the layout in a
 * fresh file; opens every database handle. */
static int init_layout(struct store *s, MDB_txn *txn, const char *file, char *errbuf,
		       size_t errcap)
{
	MDB_dbi meta;
	int rc = mdb_dbi_open(txn, store__dbi_names[DBI_META], 0, &meta);
	if (rc == MDB_INCOMPATIBLE)
		return open_fail(errbuf, errcap, AA_ECONFIG,
				 "%s: not an agentanycastd store (a foreign LMDB file)", file);
	if (rc == MDB_NOTFOUND) {
		/* No meta database: a fresh file, unless something else already wrote to it. */
		MDB_dbi main_dbi;
		MDB_cursor *c;
		MDB_val k, v;
		if ((rc = mdb_dbi_open(txn, NULL, 0, &main_dbi)) ||
		    (rc = mdb_cursor_open(txn, main_dbi, &c)))
			goto lmdb_err;
		rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
		mdb_cursor_close(c);
		if (rc == 0)
			return open_fail(errbuf, errcap, AA_ECONFIG,
					 "%s: not an agentanycastd store (a foreign LMDB file)",
					 file);
		if (rc != MDB_NOTFOUND)
			goto lmdb_err;
		if ((rc = mdb_dbi_open(txn, store__dbi_names[DBI_META], MDB_CREATE, &meta)))
			goto lmdb_err;
		uint8_t ver[4];
		aa_store_be32(ver, STORE_SCHEMA_VERSION);
		MDB_val mk = { 5, "magic" }, mv = { strlen(STORE_MAGIC), STORE_MAGIC };
		MDB_val sk = { 6, "schema" }, sv = { 4, ver };
		if ((rc = mdb_put(txn, meta, &mk, &mv, 0)) || (rc = mdb_put(txn, meta, &sk, &sv, 0)))
			goto lmdb_err;
	} else if (rc) {
		goto lmdb_err;
	} else {
		MDB_val mk = { 5, "magic" }, mv, sk = { 6, "schema" }, sv;
		rc = mdb_get(txn, meta, &mk, &mv);
		if (rc == MDB_NOTFOUND || (rc == 0 && (mv.mv_size != strlen(STORE_MAGIC) ||
				memcmp(mv.mv_data, STORE_MAGIC, mv.mv_size) != 0)))
			return open_fail(errbuf, errcap, AA_ECONFIG,
					 "%s: not an agentanycastd store (no store magic)", file);
		if (rc)
			goto lmdb_err;
		rc = mdb_get(txn, meta, &sk, &sv);
		if (rc && rc != MDB_NOTFOUND)
			goto lmdb_err;
		if (rc == MDB_NOTFOUND || sv.mv_size != 4)
			return open_fail(errbuf, errcap, AA_ECONFIG,
					 "%s: damaged store (schema version missing)", file);
		uint32_t ver = aa_load_be32(sv.mv_data);
		if (ver > STORE_SCHEMA_VERSION)
			return open_fail(errbuf, errcap, AA_ECONFIG,
					 "%s: store schema %u was written by a newer agentanycastd "
					 "(this one reads up to %u); refusing to open it",
					 file, ver, STORE_SCHEMA_VERSION);
		if (ver == 0)
			return open_fail(errbuf, errcap, AA_ECONFIG,
					 "%s: damaged store (schema version 0)", file);
		/* Older schemas would be migrated here; version 1 is the first. */
	}
	s->dbi[DBI_META] = meta;
	for (int i = DBI_META + 1; i < DBI_COUNT; i++) {
		rc = mdb_dbi_open(txn, store__dbi_names[i], MDB_CREATE, &s->dbi[i]);
		if (rc == MDB_INCOMPATIBLE)
			return open_fail(errbuf, errcap, AA_ECONFIG,
					 "%s: damaged store (database '%s' has the wrong kind)", file,
					 store__dbi_names[i]);
		if (rc)
			goto lmdb_err;
	}
	return 0;
lmdb_err:
	return open_fail(errbuf, errcap, store__map_err(rc) == AA_ENOMEM ? AA_ENOMEM : AA_EIO,
			 "%s: cannot read the store: %s", file, mdb_strerror(rc));
}

/* Sets up the layout and drops what expired while the daemon was down. */
static int open_txn(struct store *s, const char *file, char *errbuf, size_t errcap)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc)
		return open_fail(errbuf, errcap, store__map_err(rc) == AA_EPERM ? AA_EPERM : AA_EIO,
				 "%s: cannot start a transaction: %s", file, mdb_strerror(rc));
	int err = init_layout(s, txn, file, errbuf, errcap);
	if (err) {
		mdb_txn_abort(txn);
		return err;
	}
	uint64_t expired = 0, qt = 0, dc = 0;
	int64_t now = aa_clock_wall_ms();
	if ((rc = store__queue_expire(txn, s->dbi, now, &expired)) ||
	    (rc = store__dedup_prune(txn, s->dbi, &s->lim, now)) ||
	    (rc = store__meta_get_u64(txn, s->dbi, "queue_total", &qt)) ||
	    (rc = store__meta_get_u64(txn, s->dbi, "dedup_count", &dc))) {
		mdb_txn_abort(txn);
		return open_fail(errbuf, errcap, AA_EIO, "%s: cannot read the store: %s", file,
				 mdb_strerror(rc));
	}
	if ((rc = mdb_txn_commit(txn)))
		return open_fail(errbuf, errcap, store__map_err(rc) == AA_ENOMEM ? AA_ENOMEM : AA_EIO,
				 "%s: cannot commit: %s", file, mdb_strerror(rc));
	s->tstats.queue_total = qt;
	s->tstats.dedup_count = dc;
	if (expired) {
		char n[24];
		snprintf(n, sizeof n, "%llu", (unsigned long long)expired);
		aa_log(AA_LOG_INFO, "offline queue entries expired at start", "count", n, NULL);
	}
	return 0;
}

static int open_env(struct store *s, const struct store_options *o, const char *file,
		    char *errbuf, size_t errcap)
{
	int rc;
	if ((rc = mdb_env_create(&s->env)))
		return open_fail(errbuf, errcap, AA_EIO, "lmdb: %s", mdb_strerror(rc));
	if ((rc = mdb_env_set_maxdbs(s->env, DBI_COUNT)) ||
	    (rc = mdb_env_set_mapsize(s->env, o->map_size)))
		return open_fail(errbuf, errcap, AA_EINVAL, "lmdb: %s", mdb_strerror(rc));
	/* NOSUBDIR: one file (plus "-lock") named by us. NOTLS: the loop's read transaction
	 * is not bound to a thread's slot, so it can be reset and renewed freely. */
	rc = mdb_env_open(s->env, file, MDB_NOSUBDIR | MDB_NOTLS, 0600);
	if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
		return open_fail(errbuf, errcap, AA_ECONFIG,
				 "%s: not an agentanycastd store (not a readable LMDB file: %s)",
				 file, mdb_strerror(rc));
	if (rc)
		return open_fail(errbuf, errcap, store__map_err(rc) == AA_EPERM ? AA_EPERM : AA_EIO,
				 "%s: cannot open: %s", file, mdb_strerror(rc));
	MDB_envinfo info;
	mdb_env_info(s->env, &info);
	/* The file remembers a map grown in an earlier run; that size wins. */
	s->map_size = info.me_mapsize;
	if (s->map_size_max < s->map_size)
		s->map_size_max = s->map_size;
	s->tstats.map_size = s->map_size;
	return 0;
}

static void free_early(struct store *s)
{
	if (s->rtxn)
		mdb_txn_abort(s->rtxn);
	if (s->env)
		mdb_env_close(s->env);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	free(s);
}

int store_open(uv_loop_t *loop, const struct store_options *o, struct store **out,
	       char *errbuf, size_t errcap)
{
	*out = NULL;
	if (errbuf && errcap)
		errbuf[0] = '\0';
	if (check_options(o))
		return open_fail(errbuf, errcap, AA_EINVAL, "store: invalid options");
	int rc = aa_mkdir_p(o->path, 0700);
	if (rc)
		return open_fail(errbuf, errcap, rc, "%s: cannot create the store directory: %s",
				 o->path, aa_strerror(rc));
	struct stat st;
	if (stat(o->path, &st) == 0 && (st.st_mode & 077))
		aa_log(AA_LOG_WARN, "store directory is accessible by other users", "path", o->path,
		       NULL);

	struct store *s = aa_calloc(1, sizeof *s);
	s->loop = loop;
	s->lock_fd = -1;
	s->lim.queue_max_per_peer = o->queue_max_per_peer;
	s->lim.queue_max_total = o->queue_max_total;
	s->lim.dedup_max = o->dedup_max;
	s->lim.dedup_ttl_ms = o->dedup_ttl_ms;
	s->map_size_max = o->map_size_max;
	s->max_pending_ops = o->max_pending_ops;
	s->max_pending_bytes = o->max_pending_bytes;
	s->max_value_bytes = o->max_value_bytes;
	s->lazy_linger_ns = (uint64_t)o->lazy_linger_ms * 1000000u;

	char *file = aa_sprintf("%s/%s", o->path, STORE_FILE_NAME);
	s->lock_fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0) {
		int e = errno;
		rc = open_fail(errbuf, errcap, e == EACCES || e == EPERM || e == EROFS ? AA_EPERM
			       : e == EISDIR ? AA_ECONFIG : AA_EIO,
			       "%s: cannot open: %s", file, strerror(e));
		goto fail;
	}
	if (fstat(s->lock_fd, &st) == 0 && !S_ISREG(st.st_mode)) {
		rc = open_fail(errbuf, errcap, AA_ECONFIG, "%s: not a regular file", file);
		goto fail;
	}
	if ((rc = lock_file(s->lock_fd, o->lock_wait_ms))) {
		rc = open_fail(errbuf, errcap, rc, "%s: %s", file,
			       rc == AA_EAGAIN ? "in use by another process"
					       : "cannot lock the store file");
		goto fail;
	}
	if ((rc = open_env(s, o, file, errbuf, errcap)) ||
	    (rc = open_txn(s, file, errbuf, errcap)))
		goto fail;
	if ((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &s->rtxn))) {
		rc = open_fail(errbuf, errcap, AA_EIO, "%s: cannot start a read transaction: %s",
			       file, mdb_strerror(rc));
		goto fail;
	}
	mdb_txn_reset(s->rtxn);

	if (uv_mutex_init(&s->mu) || uv_cond_init(&s->cv) || uv_rwlock_init(&s->maplock) ||
	    uv_async_init(loop, &s->async, on_async)) {
		/* These fail only when the system is out of resources; nothing to unwind well. */
		aa_log(AA_LOG_ERROR, "store: cannot create thread primitives", NULL);
		abort();
	}
	s->async.data = s;
	uv_unref((uv_handle_t *)&s->async);
	if (uv_thread_create(&s->thread, store_thread_main, s)) {
		aa_log(AA_LOG_ERROR, "store: cannot start the store thread", NULL);
		abort();
	}
	free(file);
	*out = s;
	return 0;
fail:
	free(file);
	free_early(s);
	return rc;
}

/* --- close ------------------------------------------------------------------------------------- */

static void on_async_closed(uv_handle_t *h)
{
	struct store *s = h->data;
	uv_mutex_destroy(&s->mu);
	uv_cond_destroy(&s->cv);
	uv_rwlock_destroy(&s->maplock);
	void (*cb)(void *) = s->close_cb;
	void *arg = s->close_arg;
	free(s);
	if (cb)
		cb(arg);
}

void store_hold(struct store *s, bool hold)
{
	uv_mutex_lock(&s->mu);
	s->held = hold;
	uv_cond_signal(&s->cv);
	uv_mutex_unlock(&s->mu);
}

void store_close(struct store *s, void (*close_cb)(void *arg), void *arg)
{
	if (!s || s->closed)
		return;
	s->closed = true;
	s->close_cb = close_cb;
	s->close_arg = arg;
	uv_mutex_lock(&s->mu);
	s->stopping = true;
	uv_cond_signal(&s->cv);
	uv_mutex_unlock(&s->mu);
	/* The thread commits everything submitted before it sees stopping with nothing left. */
	uv_thread_join(&s->thread);
	deliver(s);
	mdb_txn_abort(s->rtxn);
	s->rtxn = NULL;
	mdb_env_close(s->env);
	s->env = NULL;
	close(s->lock_fd);
	s->lock_fd = -1;
	uv_close((uv_handle_t *)&s->async, on_async_closed);
}
