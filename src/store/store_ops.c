/* store_ops: how each write op changes the databases, inside the store thread's write
 * transaction. Layouts are described in store_impl.h. Every op checks its bounds before it
 * writes anything, so an op that fails for a logical reason leaves the transaction as it was;
 * an LMDB error is returned and dooms the transaction (the caller aborts it). */
#include <errno.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "store/store_impl.h"

/* peer (<= STORE_ID_MAX) ‖ 0x00 ‖ seq */
#define QKEY_MAX (STORE_ID_MAX + 9)
/* expiry or first-seen time ‖ queue key or envelope id */
#define TKEY_MAX (8 + QKEY_MAX)

static MDB_val mval(const void *p, size_t n)
{
	MDB_val v = { n, (void *)p };
	return v;
}

static struct aa_slice op_arg(const struct store_batch *b, size_t off, size_t len)
{
	/* An empty argument of a batch with no data must not offset a NULL pointer. */
	return len ? aa_slice_make(b->data.p + off, len) : aa_slice_make("", 0);
}

int store__map_err(int rc)
{
	switch (rc) {
	case 0: return 0;
	case MDB_NOTFOUND:
	case ENOENT: return AA_ENOENT;
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
	case MDB_READERS_FULL:
	case MDB_DBS_FULL:
	case ENOMEM: return AA_ENOMEM;
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
	case MDB_INCOMPATIBLE: return AA_ECONFIG;
	case EACCES:
	case EPERM:
	case EROFS: return AA_EPERM;
	case EAGAIN:
	case EBUSY: return AA_EAGAIN;
	case MDB_BAD_VALSIZE:
	case EINVAL: return AA_EINVAL;
	default: return AA_EIO; /* MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_PANIC, EIO, ENOSPC... */
	}
}

/* --- meta counters --------------------------------------------------------------------------- */

/* A big-endian u64 value under key in one table: 0 when absent, MDB_CORRUPTED when the value
 * is not 8 bytes. */
static int get_u64(MDB_txn *txn, MDB_dbi dbi, MDB_val k, uint64_t *out)
{
	MDB_val v;
	int rc = mdb_get(txn, dbi, &k, &v);
	*out = 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return rc;
	if (v.mv_size != 8)
		return MDB_CORRUPTED;
	*out = aa_load_be64(v.mv_data);
	return 0;
}

int store__meta_get_u64(MDB_txn *txn, const MDB_dbi *dbi, const char *name, uint64_t *out)
{
	return get_u64(txn, dbi[DBI_META], mval(name, strlen(name)), out);
}

static int meta_put_u64(MDB_txn *txn, const MDB_dbi *dbi, const char *name, uint64_t value)
{
	uint8_t raw[8];
	aa_store_be64(raw, value);
	MDB_val k = mval(name, strlen(name)), v = mval(raw, 8);
	return mdb_put(txn, dbi[DBI_META], &k, &v, 0);
}

/* Adds delta (+1 or -1) to a meta counter; it never goes below zero. */
static int meta_add(MDB_txn *txn, const MDB_dbi *dbi, const char *name, int delta)
{
	uint64_t n;
	int rc = store__meta_get_u64(txn, dbi, name, &n);
	if (rc)
		return rc;
	if (delta < 0 && n == 0)
		return 0;
	return meta_put_u64(txn, dbi, name, delta < 0 ? n - 1 : n + 1);
}

/* --- offline queue ------------------------------------------------------------------------- */

static size_t qkey_make(uint8_t *out, struct aa_slice peer, uint64_t seq)
{
	memcpy(out, peer.p, peer.n);
	out[peer.n] = 0;
	aa_store_be64(out + peer.n + 1, seq);
	return peer.n + 9;
}

/* A queue key is well formed when it ends in 0x00 ‖ seq after a non-empty peer. */
static bool qkey_valid(const uint8_t *k, size_t n)
{
	return n >= 10 && n <= QKEY_MAX && k[n - 9] == 0;
}

int store__queue_value_decode(const MDB_val *v, int64_t *expires, struct aa_slice *id,
			      struct aa_slice *envelope)
{
	const uint8_t *p = v->mv_data;
	if (v->mv_size < 10)
		return -1;
	size_t idlen = p[8];
	if (idlen == 0 || 9 + idlen > v->mv_size)
		return -1;
	uint64_t exp = aa_load_be64(p);
	if (exp > INT64_MAX)
		return -1;
	*expires = (int64_t)exp;
	*id = aa_slice_make(p + 9, idlen);
	*envelope = aa_slice_make(p + 9 + idlen, v->mv_size - 9 - idlen);
	return 0;
}

static int qcnt_get(MDB_txn *txn, const MDB_dbi *dbi, struct aa_slice peer, uint64_t *out)
{
	return get_u64(txn, dbi[DBI_QUEUE_CNT], mval(peer.p, peer.n), out);
}

static int qcnt_put(MDB_txn *txn, const MDB_dbi *dbi, struct aa_slice peer, uint64_t n)
{
	MDB_val k = mval(peer.p, peer.n);
	if (n == 0) {
		int rc = mdb_del(txn, dbi[DBI_QUEUE_CNT], &k, NULL);
		return rc == MDB_NOTFOUND ? 0 : rc;
	}
	uint8_t raw[8];
	aa_store_be64(raw, n);
	MDB_val v = mval(raw, 8);
	return mdb_put(txn, dbi[DBI_QUEUE_CNT], &k, &v, 0);
}

static int del_if_present(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t n)
{
	MDB_val k = mval(key, n);
	int rc = mdb_del(txn, dbi, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int queue_push(MDB_txn *txn, const MDB_dbi *dbi, const struct store_limits *lim,
		      struct aa_slice peer, struct aa_slice id, struct aa_slice env,
		      int64_t expires, struct store_op *op)
{
	/* An envelope already queued stays where it is: its place in the FIFO is its first
	 * enqueue, and a retry of the same envelope must not duplicate it. */
	MDB_val k = mval(id.p, id.n), v;
	int rc = mdb_get(txn, dbi[DBI_QUEUE_IDS], &k, &v);
	if (rc == 0) {
		if (!qkey_valid(v.mv_data, v.mv_size))
			return MDB_CORRUPTED;
		op->result = aa_load_be64((const uint8_t *)v.mv_data + v.mv_size - 8);
		return 0;
	}
	if (rc != MDB_NOTFOUND)
		return rc;

	uint64_t count, total, seq;
	if ((rc = qcnt_get(txn, dbi, peer, &count)) ||
	    (rc = store__meta_get_u64(txn, dbi, "queue_total", &total)) ||
	    (rc = store__meta_get_u64(txn, dbi, "queue_seq", &seq)))
		return rc;
	if (count >= lim->queue_max_per_peer || total >= lim->queue_max_total) {
		op->status = AA_ENOMEM;
		return 0;
	}
	if (seq == 0)
		seq = 1;

	uint8_t qkey[QKEY_MAX], tkey[TKEY_MAX];
	size_t qlen = qkey_make(qkey, peer, seq);
	MDB_val qk = mval(qkey, qlen), qv = mval(NULL, 9 + id.n + env.n);
	if ((rc = mdb_put(txn, dbi[DBI_QUEUE], &qk, &qv, MDB_RESERVE)))
		return rc;
	uint8_t *p = qv.mv_data;
	aa_store_be64(p, (uint64_t)expires);
	p[8] = (uint8_t)id.n;
	memcpy(p + 9, id.p, id.n);
	if (env.n)
		memcpy(p + 9 + id.n, env.p, env.n);

	MDB_val ik = mval(id.p, id.n), iv = mval(qkey, qlen);
	if ((rc = mdb_put(txn, dbi[DBI_QUEUE_IDS], &ik, &iv, 0)))
		return rc;
	aa_store_be64(tkey, (uint64_t)expires);
	memcpy(tkey + 8, qkey, qlen);
	MDB_val tk = mval(tkey, 8 + qlen), tv = mval("", 0);
	if ((rc = mdb_put(txn, dbi[DBI_QUEUE_EXP], &tk, &tv, 0)) ||
	    (rc = qcnt_put(txn, dbi, peer, count + 1)) ||
	    (rc = meta_put_u64(txn, dbi, "queue_total", total + 1)) ||
	    (rc = meta_put_u64(txn, dbi, "queue_seq", seq + 1)))
		return rc;
	op->result = seq;
	return 0;
}

/* Deletes the queue entry at qkey (which must not point into the map) with its index
 * entries and counts. MDB_NOTFOUND if there is no such entry. */
static int queue_unlink(MDB_txn *txn, const MDB_dbi *dbi, const uint8_t *qkey, size_t qlen)
{
	MDB_val k = mval(qkey, qlen), v;
	int rc = mdb_get(txn, dbi[DBI_QUEUE], &k, &v);
	if (rc)
		return rc;
	int64_t expires;
	struct aa_slice id, env;
	if (store__queue_value_decode(&v, &expires, &id, &env) < 0)
		return MDB_CORRUPTED;
	/* v points into a page the deletes below may free: copy what is still needed. */
	uint8_t idcopy[STORE_ID_MAX];
	size_t idlen = id.n;
	memcpy(idcopy, id.p, idlen);
	if ((rc = mdb_del(txn, dbi[DBI_QUEUE], &k, NULL)))
		return rc;

	/* The id index may already point elsewhere only if the file was edited; then it is
	 * left alone. */
	MDB_val ik = mval(idcopy, idlen), iv;
	rc = mdb_get(txn, dbi[DBI_QUEUE_IDS], &ik, &iv);
	if (rc == 0 && iv.mv_size == qlen && memcmp(iv.mv_data, qkey, qlen) == 0)
		rc = mdb_del(txn, dbi[DBI_QUEUE_IDS], &ik, NULL);
	if (rc && rc != MDB_NOTFOUND)
		return rc;

	uint8_t tkey[TKEY_MAX];
	aa_store_be64(tkey, (uint64_t)expires);
	memcpy(tkey + 8, qkey, qlen);
	if ((rc = del_if_present(txn, dbi[DBI_QUEUE_EXP], tkey, 8 + qlen)))
		return rc;

	struct aa_slice peer = aa_slice_make(qkey, qlen - 9);
	uint64_t count;
	if ((rc = qcnt_get(txn, dbi, peer, &count)) ||
	    (rc = qcnt_put(txn, dbi, peer, count ? count - 1 : 0)))
		return rc;
	return meta_add(txn, dbi, "queue_total", -1);
}

static int queue_remove(MDB_txn *txn, const MDB_dbi *dbi, struct aa_slice id,
			struct store_op *op)
{
	MDB_val k = mval(id.p, id.n), v;
	int rc = mdb_get(txn, dbi[DBI_QUEUE_IDS], &k, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return rc;
	if (!qkey_valid(v.mv_data, v.mv_size))
		return MDB_CORRUPTED;
	uint8_t qkey[QKEY_MAX];
	size_t qlen = v.mv_size;
	memcpy(qkey, v.mv_data, qlen);
	rc = queue_unlink(txn, dbi, qkey, qlen);
	if (rc == MDB_NOTFOUND) /* a dangling index entry: drop it */
		return mdb_del(txn, dbi[DBI_QUEUE_IDS], &k, NULL);
	if (rc)
		return rc;
	op->result = 1;
	return 0;
}

int store__queue_expire(MDB_txn *txn, const MDB_dbi *dbi, int64_t now_ms, uint64_t *removed)
{
	MDB_cursor *c;
	int rc = mdb_cursor_open(txn, dbi[DBI_QUEUE_EXP], &c);
	if (rc)
		return rc;
	*removed = 0;
	/* Always restart from the first (earliest) entry: the deletes below move pages under
	 * any position held across them. */
	for (;;) {
		MDB_val k, v;
		rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
		if (rc == MDB_NOTFOUND) {
			rc = 0;
			break;
		}
		if (rc)
			break;
		const uint8_t *p = k.mv_data;
		if (k.mv_size < 8 || !qkey_valid(p + 8, k.mv_size - 8)) {
			rc = MDB_CORRUPTED;
			break;
		}
		if (aa_load_be64(p) > (uint64_t)now_ms)
			break;
		uint8_t tkey[TKEY_MAX];
		size_t tlen = k.mv_size;
		memcpy(tkey, p, tlen);
		rc = queue_unlink(txn, dbi, tkey + 8, tlen - 8);
		if (rc == MDB_NOTFOUND) /* an index entry without its entry */
			rc = del_if_present(txn, dbi[DBI_QUEUE_EXP], tkey, tlen);
		else if (rc == 0)
			(*removed)++;
		if (rc)
			break;
	}
	mdb_cursor_close(c);
	return rc;
}

/* --- dedup ----------------------------------------------------------------------------------- */

static size_t tkey_make(uint8_t *out, int64_t t, struct aa_slice id)
{
	aa_store_be64(out, (uint64_t)t);
	memcpy(out + 8, id.p, id.n);
	return 8 + id.n;
}

static int dedup_insert(MDB_txn *txn, const MDB_dbi *dbi, const struct store_limits *lim,
			struct aa_slice id, int64_t now, struct store_op *op)
{
	MDB_val k = mval(id.p, id.n), v;
	uint8_t tkey[8 + STORE_ID_MAX];
	bool refresh = false;
	int rc = mdb_get(txn, dbi[DBI_DEDUP], &k, &v);
	if (rc == 0) {
		if (v.mv_size != 8)
			return MDB_CORRUPTED;
		int64_t seen = (int64_t)aa_load_be64(v.mv_data);
		if (seen > now - lim->dedup_ttl_ms)
			return 0; /* known: result 0 */
		/* Aged out but not yet pruned: it counts as new, with a fresh time. */
		if ((rc = del_if_present(txn, dbi[DBI_DEDUP_AGE], tkey, tkey_make(tkey, seen, id))))
			return rc;
		refresh = true;
	} else if (rc != MDB_NOTFOUND) {
		return rc;
	}
	uint8_t raw[8];
	aa_store_be64(raw, (uint64_t)now);
	MDB_val nv = mval(raw, 8);
	MDB_val tk = mval(tkey, tkey_make(tkey, now, id)), tv = mval("", 0);
	if ((rc = mdb_put(txn, dbi[DBI_DEDUP], &k, &nv, 0)) ||
	    (rc = mdb_put(txn, dbi[DBI_DEDUP_AGE], &tk, &tv, 0)))
		return rc;
	if (!refresh && (rc = meta_add(txn, dbi, "dedup_count", +1)))
		return rc;
	op->result = 1;
	return 0;
}

int store__dedup_prune(MDB_txn *txn, const MDB_dbi *dbi, const struct store_limits *lim,
		       int64_t now_ms)
{
	uint64_t count, dropped = 0;
	int rc = store__meta_get_u64(txn, dbi, "dedup_count", &count);
	if (rc)
		return rc;
	MDB_cursor *c;
	if ((rc = mdb_cursor_open(txn, dbi[DBI_DEDUP_AGE], &c)))
		return rc;
	while (dropped < STORE_PRUNE_MAX_PER_COMMIT) {
		MDB_val k, v;
		rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
		if (rc == MDB_NOTFOUND) {
			rc = 0;
			break;
		}
		if (rc)
			break;
		if (k.mv_size < 9 || k.mv_size > 8 + STORE_ID_MAX) {
			rc = MDB_CORRUPTED;
			break;
		}
		int64_t seen = (int64_t)aa_load_be64(k.mv_data);
		if (count <= lim->dedup_max && seen > now_ms - lim->dedup_ttl_ms)
			break; /* the oldest is young enough and the set is within its bound */
		uint8_t id[STORE_ID_MAX];
		size_t idlen = k.mv_size - 8;
		memcpy(id, (const uint8_t *)k.mv_data + 8, idlen);
		if ((rc = mdb_cursor_del(c, 0)))
			break;
		/* Delete the id only if this age entry is its current one. */
		MDB_val ik = mval(id, idlen), iv;
		rc = mdb_get(txn, dbi[DBI_DEDUP], &ik, &iv);
		if (rc == 0 && iv.mv_size == 8 && (int64_t)aa_load_be64(iv.mv_data) == seen) {
			if ((rc = mdb_del(txn, dbi[DBI_DEDUP], &ik, NULL)))
				break;
			if (count)
				count--;
		} else if (rc && rc != MDB_NOTFOUND) {
			break;
		}
		rc = 0;
		dropped++;
	}
	mdb_cursor_close(c);
	if (rc == 0 && dropped)
		rc = meta_put_u64(txn, dbi, "dedup_count", count);
	return rc;
}

/* --- dispatch -------------------------------------------------------------------------------- */

static MDB_dbi table_dbi(const MDB_dbi *dbi, enum store_table t)
{
	return t == STORE_TASKS ? dbi[DBI_TASKS] : dbi[DBI_CARDS];
}

int store__apply_op(MDB_txn *txn, const MDB_dbi *dbi, const struct store_limits *lim,
		    const struct store_batch *b, struct store_op *op)
{
	struct aa_slice a = op_arg(b, op->a_off, op->a_len);
	struct aa_slice bb = op_arg(b, op->b_off, op->b_len);
	MDB_val k = mval(a.p, a.n);
	int rc;
	op->status = 0;
	op->result = 0;
	switch (op->kind) {
	case OP_PUT: {
		MDB_val v = mval(bb.p, bb.n);
		return mdb_put(txn, table_dbi(dbi, op->table), &k, &v, 0);
	}
	case OP_DEL:
		rc = mdb_del(txn, table_dbi(dbi, op->table), &k, NULL);
		if (rc == MDB_NOTFOUND)
			return 0;
		if (rc == 0)
			op->result = 1;
		return rc;
	case OP_QUEUE_PUSH:
		return queue_push(txn, dbi, lim, a, bb, op_arg(b, op->c_off, op->c_len),
				  op->when_ms, op);
	case OP_QUEUE_REMOVE:
		return queue_remove(txn, dbi, a, op);
	case OP_QUEUE_EXPIRE:
		return store__queue_expire(txn, dbi, op->when_ms, &op->result);
	case OP_DEDUP_INSERT:
		return dedup_insert(txn, dbi, lim, a, op->when_ms, op);
	}
	return EINVAL;
}
