/* store_read: the loop thread's synchronous reads. Each call renews the one reusable read
 * transaction, so it sees the latest commit (every commit whose completion has run), and
 * resets it before returning so no snapshot pins old pages between calls. */
#include <string.h>

#include "base/err.h"
#include "store/store_impl.h"

static MDB_val mval(const void *p, size_t n)
{
	MDB_val v = { n, (void *)p };
	return v;
}

static int read_begin(struct store *s)
{
	if (s->closed)
		return AA_ECLOSED;
	if (s->reading)
		return AA_EINVAL; /* a read from inside a read callback */
	uv_rwlock_rdlock(&s->maplock);
	if (s->failed) {
		uv_rwlock_rdunlock(&s->maplock);
		return AA_EIO;
	}
	int rc = mdb_txn_renew(s->rtxn);
	if (rc) {
		uv_rwlock_rdunlock(&s->maplock);
		return store__map_err(rc);
	}
	s->reading = true;
	return 0;
}

static void read_end(struct store *s)
{
	mdb_txn_reset(s->rtxn);
	uv_rwlock_rdunlock(&s->maplock);
	s->reading = false;
}

static MDB_dbi table_dbi(const struct store *s, enum store_table t)
{
	return t == STORE_TASKS ? s->dbi[DBI_TASKS] : s->dbi[DBI_CARDS];
}

int store_get(struct store *s, enum store_table t, struct aa_slice key, struct aa_buf *out)
{
	if ((unsigned)t >= STORE_TABLE_COUNT || key.n == 0 || key.n > STORE_KEY_MAX)
		return AA_EINVAL;
	int rc = read_begin(s);
	if (rc)
		return rc;
	MDB_val k = mval(key.p, key.n), v;
	rc = mdb_get(s->rtxn, table_dbi(s, t), &k, &v);
	if (rc == 0) {
		aa_buf_reset(out);
		aa_buf_append(out, v.mv_data, v.mv_size);
	}
	read_end(s);
	return store__map_err(rc);
}

/* Walks dbi from the first key >= start (all keys when start.n == 0) while each key begins
 * with prefix; each is passed to fn. */
typedef int (*walk_fn)(const MDB_val *k, const MDB_val *v, void *arg);

static int walk(struct store *s, MDB_dbi dbi, struct aa_slice prefix, walk_fn fn, void *arg)
{
	int rc = read_begin(s);
	if (rc)
		return rc;
	MDB_cursor *c;
	if ((rc = mdb_cursor_open(s->rtxn, dbi, &c))) {
		read_end(s);
		return store__map_err(rc);
	}
	MDB_val k = mval(prefix.p, prefix.n), v;
	rc = mdb_cursor_get(c, &k, &v, prefix.n ? MDB_SET_RANGE : MDB_FIRST);
	int ret = 0;
	while (rc == 0) {
		if (prefix.n &&
		    (k.mv_size < prefix.n || memcmp(k.mv_data, prefix.p, prefix.n) != 0))
			break;
		if ((ret = fn(&k, &v, arg)))
			break;
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(c);
	read_end(s);
	if (ret)
		return ret;
	return rc == MDB_NOTFOUND || rc == 0 ? 0 : store__map_err(rc);
}

struct each_ctx {
	store_each_cb cb;
	void *arg;
};

static int each_fn(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct each_ctx *e = arg;
	return e->cb(aa_slice_make(k->mv_data, k->mv_size), aa_slice_make(v->mv_data, v->mv_size),
		     e->arg);
}

int store_foreach(struct store *s, enum store_table t, store_each_cb cb, void *arg)
{
	if ((unsigned)t >= STORE_TABLE_COUNT)
		return AA_EINVAL;
	struct each_ctx e = { cb, arg };
	return walk(s, table_dbi(s, t), aa_slice_make(NULL, 0), each_fn, &e);
}

struct list_ctx {
	size_t prefix_len;
	int64_t now;
	size_t max, seen;
	store_queue_cb cb;
	void *arg;
};

static int list_fn(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct list_ctx *l = arg;
	/* The prefix "peer ‖ 0x00" already matched; a key of another length is damage. */
	if (k->mv_size != l->prefix_len + 8)
		return AA_EIO;
	struct store_queue_entry e;
	if (store__queue_value_decode(v, &e.expires_at_ms, &e.envelope_id, &e.envelope) < 0)
		return AA_EIO;
	if (e.expires_at_ms <= l->now)
		return 0; /* expired: the next expire op removes it */
	e.seq = aa_load_be64((const uint8_t *)k->mv_data + l->prefix_len);
	int rc = l->cb(&e, l->arg);
	if (rc)
		return rc;
	if (l->max && ++l->seen >= l->max)
		return 1; /* stop, not an error: turned into 0 below */
	return 0;
}

int store_queue_list(struct store *s, struct aa_slice peer, int64_t now_ms, size_t max,
		     store_queue_cb cb, void *arg)
{
	if (peer.n == 0 || peer.n > STORE_ID_MAX || memchr(peer.p, 0, peer.n))
		return AA_EINVAL;
	uint8_t prefix[STORE_ID_MAX + 1];
	memcpy(prefix, peer.p, peer.n);
	prefix[peer.n] = 0;
	struct list_ctx l = { peer.n + 1, now_ms, max, 0, cb, arg };
	int rc = walk(s, s->dbi[DBI_QUEUE], aa_slice_make(prefix, peer.n + 1), list_fn, &l);
	/* The limit stops the walk with 1; a callback's own non-zero value is passed up. */
	if (rc == 1 && l.max && l.seen >= l.max)
		return 0;
	return rc;
}

int store_queue_count(struct store *s, struct aa_slice peer, uint64_t *out)
{
	*out = 0;
	if (peer.n > STORE_ID_MAX)
		return AA_EINVAL;
	int rc = read_begin(s);
	if (rc)
		return rc;
	MDB_val k, v;
	if (peer.n == 0) {
		k = mval("queue_total", strlen("queue_total"));
		rc = mdb_get(s->rtxn, s->dbi[DBI_META], &k, &v);
	} else {
		k = mval(peer.p, peer.n);
		rc = mdb_get(s->rtxn, s->dbi[DBI_QUEUE_CNT], &k, &v);
	}
	if (rc == 0 && v.mv_size != 8)
		rc = MDB_CORRUPTED;
	if (rc == 0)
		*out = aa_load_be64(v.mv_data);
	read_end(s);
	return rc == MDB_NOTFOUND ? 0 : store__map_err(rc);
}

struct peers_ctx {
	store_queue_peer_cb cb;
	void *arg;
};

static int peers_fn(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct peers_ctx *p = arg;
	if (v->mv_size != 8)
		return AA_EIO;
	return p->cb(aa_slice_make(k->mv_data, k->mv_size), aa_load_be64(v->mv_data), p->arg);
}

int store_queue_peers(struct store *s, store_queue_peer_cb cb, void *arg)
{
	struct peers_ctx p = { cb, arg };
	return walk(s, s->dbi[DBI_QUEUE_CNT], aa_slice_make(NULL, 0), peers_fn, &p);
}

int store_dedup_contains(struct store *s, struct aa_slice envelope_id, int64_t now_ms,
			 bool *out)
{
	*out = false;
	if (envelope_id.n == 0 || envelope_id.n > STORE_ID_MAX)
		return AA_EINVAL;
	int rc = read_begin(s);
	if (rc)
		return rc;
	MDB_val k = mval(envelope_id.p, envelope_id.n), v;
	rc = mdb_get(s->rtxn, s->dbi[DBI_DEDUP], &k, &v);
	if (rc == 0 && v.mv_size != 8)
		rc = MDB_CORRUPTED;
	if (rc == 0)
		*out = (int64_t)aa_load_be64(v.mv_data) > now_ms - s->lim.dedup_ttl_ms;
	read_end(s);
	return rc == MDB_NOTFOUND ? 0 : store__map_err(rc);
}
