/* Unit tests for store/: the LMDB store, its thread and group commit, the offline queue and
 * the dedup set. Every test uses a real LMDB file in a fresh temporary directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <lmdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "store/store.h"
#include "tmpdir.h"

struct fx {
	char dir[64];   /* the temporary directory */
	char path[96];  /* store_path inside it, created by the store */
	char file[128]; /* the LMDB data file */
	uv_loop_t loop;
	struct store *s;
	struct store_options o;
	char err[512];
};

static struct aa_slice S(const char *s)
{
	return aa_slice_make(s, strlen(s));
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	umask(022);
	snprintf(f->dir, sizeof f->dir, "/tmp/test_store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/data", f->dir);
	snprintf(f->file, sizeof f->file, "%s/%s", f->path, STORE_FILE_NAME);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	store_options_default(&f->o);
	f->o.path = f->path;
	f->o.lock_wait_ms = 0;
	*state = f;
	return 0;
}

static void close_store(struct fx *f)
{
	if (f->s) {
		store_close(f->s, NULL, NULL);
		f->s = NULL;
		uv_run(&f->loop, UV_RUN_DEFAULT); /* lets the async handle close and free */
	}
}

static int teardown(void **state)
{
	struct fx *f = *state;
	close_store(f);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	test_rm_tree(f->dir);
	free(f);
	return 0;
}

static int open_store(struct fx *f)
{
	return store_open(&f->loop, &f->o, &f->s, f->err, sizeof f->err);
}

static void reopen(struct fx *f)
{
	close_store(f);
	assert_int_equal(open_store(f), 0);
}

/* Completions, recorded in the order they ran. */
#define REC_MAX 4096
struct rec {
	int n;
	int tag[REC_MAX];
	int status[REC_MAX];
	uint64_t result[REC_MAX];
	int op_status[REC_MAX][4];
	struct store *s;
	struct aa_slice check_key; /* if set: read it back inside the callback */
	int check_rc;
};

struct rec_arg {
	struct rec *r;
	int tag;
};

static struct rec_arg args[REC_MAX];

static void on_done(int status, const struct store_batch *b, void *arg)
{
	struct rec_arg *a = arg;
	struct rec *r = a->r;
	assert_true(r->n < REC_MAX);
	r->tag[r->n] = a->tag;
	r->status[r->n] = status;
	r->result[r->n] = store_batch_count(b) ? store_batch_op_result(b, 0) : 0;
	for (size_t i = 0; i < 4 && i < store_batch_count(b); i++)
		r->op_status[r->n][i] = store_batch_op_status(b, i);
	if (r->check_key.n) {
		struct aa_buf v;
		aa_buf_init(&v);
		r->check_rc = store_get(r->s, STORE_TASKS, r->check_key, &v);
		aa_buf_free(&v);
	}
	r->n++;
}

static void *tag(struct rec *r, int t)
{
	args[t].r = r;
	args[t].tag = t;
	return &args[t];
}

/* Submits one push and waits for it; returns the completion's status, result in *seq. */
static int push_wait(struct fx *f, const char *peer, const char *id, const char *body,
		     int64_t expires, uint64_t *seq)
{
	struct rec r = { 0 };
	assert_int_equal(store_queue_push(f->s, S(peer), S(id), S(body), expires, on_done,
					  tag(&r, 0)), 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(r.n, 1);
	if (seq)
		*seq = r.result[0];
	return r.status[0];
}

static uint64_t wait_result(struct fx *f, struct rec *r, int expect_status)
{
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(r->n, 1);
	assert_int_equal(r->status[0], expect_status);
	return r->result[0];
}

static int64_t far_future(void)
{
	return aa_clock_wall_ms() + 3600 * 1000;
}

/* --- open, files, checks --------------------------------------------------------------------- */

static void test_store_open_creates_private_dir_and_files(void **state)
{
	struct fx *f = *state;
	assert_int_equal(open_store(f), 0);
	struct stat st;
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(f->file, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	char lock[160];
	snprintf(lock, sizeof lock, "%s-lock", f->file);
	assert_int_equal(stat(lock, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_store_reopen_keeps_tasks_and_cards(void **state)
{
	struct fx *f = *state;
	assert_int_equal(open_store(f), 0);
	struct rec r = { 0 };
	struct store_batch *b = store_batch_new();
	assert_int_equal(store_batch_put(b, STORE_TASKS, S("task-1"), S("one")), 0);
	assert_int_equal(store_batch_put(b, STORE_TASKS, S("task-2"), S("two")), 0);
	assert_int_equal(store_batch_put(b, STORE_CARDS, S("self"), S("my card")), 0);
	assert_int_equal(store_batch_put(b, STORE_CARDS, S("12D3KooWpeer"), S("their card")), 0);
	assert_int_equal(store_submit(f->s, b, on_done, tag(&r, 0)), 0);
	wait_result(f, &r, 0);

	reopen(f);
	struct aa_buf v;
	aa_buf_init(&v);
	assert_int_equal(store_get(f->s, STORE_TASKS, S("task-2"), &v), 0);
	assert_int_equal(v.n, 3);
	assert_memory_equal(v.p, "two", 3);
	assert_int_equal(store_get(f->s, STORE_CARDS, S("self"), &v), 0);
	assert_memory_equal(v.p, "my card", 7);
	assert_int_equal(store_get(f->s, STORE_TASKS, S("task-3"), &v), AA_ENOENT);
	assert_int_equal(store_get(f->s, STORE_CARDS, S("task-1"), &v), AA_ENOENT);
	aa_buf_free(&v);
}

static int count_cb(struct aa_slice key, struct aa_slice value, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

static void test_store_foreach_visits_table_in_key_order(void **state)
{
	struct fx *f = *state;
	assert_int_equal(open_store(f), 0);
	struct rec r = { 0 };
	struct store_batch *b = store_batch_new();
	const char *keys[] = { "c", "a", "b" };
	for (int i = 0; i < 3; i++)
		assert_int_equal(store_batch_put(b, STORE_TASKS, S(keys[i]), S(keys[i])), 0);
	assert_int_equal(store_batch_put(b, STORE_CARDS, S("self"), S("x")), 0);
	assert_int_equal(store_submit(f->s, b, on_done, tag(&r, 0)), 0);
	wait_result(f, &r, 0);
	int n = 0;
	assert_int_equal(store_foreach(f->s, STORE_TASKS, count_cb, &n), 0);
	assert_int_equal(n, 3);
	n = 0;
	assert_int_equal(store_foreach(f->s, STORE_CARDS, count_cb, &n), 0);
	assert_int_equal(n, 1);
}

static void test_store_delete_reports_whether_key_existed(void **state)
{
	struct fx *f = *state;
	assert_int_equal(open_store(f), 0);
	struct rec r1 = { 0 }, r2 = { 0 }, r3 = { 0 };
	assert_int_equal(store_put(f->s, STORE_TASKS, S("t"), S("v"), on_done, tag(&r1, 0)), 0);
	wait_result(f, &r1, 0);
	assert_int_equal(store_del(f->s, STORE_TASKS, S("t"), on_done, tag(&r2, 1)), 0);
	assert_int_equal(wait_result(f, &r2, 0), 1);
	assert_int_equal(store_del(f->s, STORE_TASKS, S("t"), on_done, tag(&r3, 2)), 0);
	assert_int_equal(wait_result(f, &r3, 0), 0);
	struct aa_buf v;
	aa_buf_init(&v);
	assert_int_equal(store_get(f->s, STORE_TASKS, S("t"), &v), AA_ENOENT);
	aa_buf_free(&v);
}

static void make_raw_lmdb(const char *file, const char *db, const char *key, const char *val)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
	assert_int_equal(mdb_env_open(env, file, MDB_NOSUBDIR, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, db, MDB_CREATE, &dbi), 0);
	MDB_val k = { strlen(key), (void *)key }, v = { strlen(val), (void *)val };
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void test_store_rejects_foreign_lmdb_file(void **state)
{
	struct fx *f = *state;
	assert_int_equal(mkdir(f->path, 0700), 0);
	make_raw_lmdb(f->file, "somebody_else", "k", "v");
	assert_int_equal(open_store(f), AA_ECONFIG);
	assert_null(f->s);
	assert_non_null(strstr(f->err, "not an agentanycastd store"));
}

static void test_store_rejects_lmdb_file_with_foreign_meta(void **state)
{
	struct fx *f = *state;
	assert_int_equal(mkdir(f->path, 0700), 0);
	make_raw_lmdb(f->file, "meta", "magic", "some other program");
	assert_int_equal(open_store(f), AA_ECONFIG);
	assert_non_null(strstr(f->err, "not an agentanycastd store"));
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, n), (ssize_t)n);
	close(fd);
}

static void test_store_rejects_garbage_file(void **state)
{
	struct fx *f = *state;
	assert_int_equal(mkdir(f->path, 0700), 0);
	static uint8_t junk[16384];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (uint8_t)(i * 7 + 13);
	write_file(f->file, junk, sizeof junk);
	assert_int_equal(open_store(f), AA_ECONFIG);
	assert_non_null(strstr(f->err, "not an agentanycastd store"));
	/* A file shorter than an LMDB header too. */
	write_file(f->file, junk, 100);
	assert_int_equal(open_store(f), AA_ECONFIG);
}

static void set_schema(const char *file, uint32_t ver)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
	assert_int_equal(mdb_env_open(env, file, MDB_NOSUBDIR, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	uint8_t raw[4] = { ver >> 24, ver >> 16, ver >> 8, ver };
	MDB_val k = { 6, "schema" }, v = { 4, raw };
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

static void test_store_refuses_newer_schema(void **state)
{
	struct fx *f = *state;
	assert_int_equal(open_store(f), 0);
	close_store(f);
	set_schema(f->file, STORE_SCHEMA_VERSION + 1);
	assert_int_equal(open_store(f), AA_ECONFIG);
	assert_non_null(strstr(f->err, "newer"));
	set_schema(f->file, 0);
	assert_int_equal(open_store(f), AA_ECONFIG);
	assert_non_null(strstr(f->err, "damaged"));
	set_schema(f->file, STORE_SCHEMA_VERSION);
	assert_int_equal(open_store(f), 0);
}

static void test_store_refuses_second_opener(void **state)
{
	struct fx *f = *state;
	assert_int_equal(open_store(f), 0);
	struct store *second = NULL;
	char err[256];
	assert_int_equal(store_open(&f->loop, &f->o, &second, err, sizeof err), AA_EAGAIN);
	assert_null(second);
	assert_non_null(strstr(err, "in use"));
}

static void test_store_rejects_bad_arguments(void **state)
{
	struct fx *f = *state;
	f->o.max_value_bytes = 16;
	assert_int_equal(open_store(f), 0);
	struct store_batch *b = store_batch_new();
	char longid[STORE_ID_MAX + 2];
	memset(longid, 'x', sizeof longid - 1);
	longid[sizeof longid - 1] = 0;
	assert_int_equal(store_batch_queue_push(b, aa_slice_make("a\0b", 3), S("e"), S("x"), 1),
			 AA_EINVAL);
	assert_int_equal(store_batch_queue_push(b, S("p"), S(longid), S("x"), 1), AA_EINVAL);
	assert_int_equal(store_batch_queue_push(b, S("p"), S("e"), S("x"), -1), AA_EINVAL);
	assert_int_equal(store_batch_put(b, STORE_TASKS, S(""), S("x")), AA_EINVAL);
	assert_int_equal(store_batch_put(b, STORE_TABLE_COUNT, S("k"), S("x")), AA_EINVAL);
	assert_int_equal(store_batch_dedup_insert(b, S(""), 1), AA_EINVAL);
	assert_int_equal(store_batch_count(b), 0);
	assert_int_equal(store_batch_put(b, STORE_TASKS, S("k"), S("seventeen bytes!!")), 0);
	assert_int_equal(store_submit(f->s, b, NULL, NULL), AA_ETOOBIG);
	store_batch_free(b);
}

/* --- group commit and durability ------------------------------------------------------------- */

static void test_store_group_commits_in_submission_order(void **state)
{
	struct fx *f = *state;
	assert_int_equal(open_store(f), 0);
	static struct rec r;
	memset(&r, 0, sizeof r);
	/* 1000 submissions without running the loop in between: the store thread takes
	 * whatever piled up during each fsync, so there are far fewer commits than ops. */
	for (int i = 0; i < 1000; i++) {
		char key[16];
		snprintf(key, sizeof key, "k%04d", i);
		assert_int_equal(store_put(f->s, STORE_TASKS, S(key), S(key), on_done, tag(&r, i)),
				 0);
	}
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(r.n, 1000);
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(r.tag[i], i);
		assert_int_equal(r.status[i], 0);
	}
	struct store_stats st;
	store_stats_get(f->s, &st);
	assert_true(st.commits >= 1);
	assert_true(st.commits < 1000);
	assert_int_equal(st.ops, 1000);
	assert_true(st.ops_max_commit > 1);
	assert_int_equal(st.pending_ops, 0);
	uint64_t in_buckets = 0;
	for (int i = 0; i < STORE_LATENCY_BUCKETS; i++)
		in_buckets += st.commit_ns_bucket[i];
	assert_true(in_buckets == st.commits + st.commit_errors);
}

/* Submits a one-put batch, lazy or not. */
static void submit_put(struct fx *f, const char *key, bool lazy, void *arg)
{
	struct store_batch *b = store_batch_new();
	assert_int_equal(store_batch_put(b, STORE_TASKS, S(key), S(key)), 0);
	if (lazy)
		store_batch_set_lazy(b);
	assert_int_equal(store_submit(f->s, b, on_done, arg), 0);
}

static void test_store_lazy_batch_rides_in_the_next_urgent_commit(void **state)
{
	struct fx *f = *state;
	f->o.lazy_linger_ms = 60000; /* only the urgent batch can start the commit */
	assert_int_equal(open_store(f), 0);
	static struct rec r;
	memset(&r, 0, sizeof r);
	submit_put(f, "lazy1", true, tag(&r, 0));
	submit_put(f, "lazy2", true, tag(&r, 1));
	submit_put(f, "urgent", false, tag(&r, 2));
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(r.n, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(r.tag[i], i);
		assert_int_equal(r.status[i], 0);
	}
	struct store_stats st;
	store_stats_get(f->s, &st);
	assert_int_equal(st.commits, 1);
	assert_int_equal(st.ops, 3);
}

static void test_store_lazy_batch_alone_commits_after_its_linger(void **state)
{
	struct fx *f = *state;
	f->o.lazy_linger_ms = 30;
	assert_int_equal(open_store(f), 0);
	static struct rec r;
	memset(&r, 0, sizeof r);
	submit_put(f, "alone", true, tag(&r, 0));
	uv_run(&f->loop, UV_RUN_DEFAULT); /* returns once the completion ran */
	assert_int_equal(r.n, 1);
	assert_int_equal(r.status[0], 0);
	reopen(f);
	struct aa_buf v;
	aa_buf_init(&v);
	assert_int_equal(store_get(f->s, STORE_TASKS, S("alone"), &v), 0);
	aa_buf_free(&v);
}

static void test_store_close_commits_a_lingering_lazy_batch(void **state)
{
	struct fx *f = *state;
	f->o.lazy_linger_ms = 60000;
	assert_int_equal(open_store(f), 0);
	static struct rec r;
	memset(&r, 0, sizeof r);
	submit_put(f, "late", true, tag(&r, 0));
	reopen(f); /* close: the thread commits what is pending at once */
	assert_int_equal(r.n, 1);
	assert_int_equal(r.status[0], 0);
	struct aa_buf v;
	aa_buf_init(&v);
	assert_int_equal(store_get(f->s, STORE_TASKS, S("late"), &v), 0);
	aa_buf_free(&v);
}

static void test_store_completion_means_readable_and_durable(void **state)
{
	struct fx *f = *state;
	assert_int_equal(open_store(f), 0);
	struct rec r = { 0 };
	r.s = f->s;
	r.check_key = S("durable");
	r.check_rc = -999;
	assert_int_equal(store_put(f->s, STORE_TASKS, S("durable"), S("yes"), on_done, tag(&r, 0)),
			 0);
	wait_result(f, &r, 0);
	assert_int_equal(r.check_rc, 0); /* the read inside the completion saw it */
	reopen(f);
	struct aa_buf v;
	aa_buf_init(&v);
	assert_int_equal(store_get(f->s, STORE_TASKS, S("durable"), &v), 0);
	assert_memory_equal(v.p, "yes", 3);
	aa_buf_free(&v);
}

static void test_store_close_commits_pending_batches(void **state)
{
	struct fx *f = *state;
	assert_int_equal(open_store(f), 0);
	static struct rec r;
	memset(&r, 0, sizeof r);
	for (int i = 0; i < 100; i++) {
		char key[16];
		snprintf(key, sizeof key, "c%03d", i);
		assert_int_equal(store_put(f->s, STORE_TASKS, S(key), S("v"), on_done, tag(&r, i)), 0);
	}
	store_close(f->s, NULL, NULL); /* no loop run: close itself delivers, after commit */
	f->s = NULL;
	assert_int_equal(r.n, 100);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(r.tag[i], i);
		assert_int_equal(r.status[i], 0);
	}
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(open_store(f), 0);
	int n = 0;
	assert_int_equal(store_foreach(f->s, STORE_TASKS, count_cb, &n), 0);
	assert_int_equal(n, 100);
}

struct close_in_cb {
	struct rec *r;
	struct store *s;
	int closes_at;
	int close_cb_runs;
};

static void close_cb_count(void *arg)
{
	((struct close_in_cb *)arg)->close_cb_runs++;
}

static struct close_in_cb cic;

static void on_done_then_close(int status, const struct store_batch *b, void *arg)
{
	on_done(status, b, arg);
	if (cic.r->n == cic.closes_at)
		store_close(cic.s, close_cb_count, &cic);
}

static void test_store_close_from_completion_callback_keeps_order(void **state)
{
	struct fx *f = *state;
	assert_int_equal(open_store(f), 0);
	static struct rec r;
	memset(&r, 0, sizeof r);
	cic = (struct close_in_cb){ &r, f->s, 3, 0 };
	for (int i = 0; i < 50; i++) {
		char key[16];
		snprintf(key, sizeof key, "k%d", i);
		assert_int_equal(store_put(f->s, STORE_TASKS, S(key), S("v"), on_done_then_close,
					   tag(&r, i)), 0);
	}
	f->s = NULL; /* closed by the callback */
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(r.n, 50);
	for (int i = 0; i < 50; i++) {
		assert_int_equal(r.tag[i], i);
		assert_int_equal(r.status[i], 0);
	}
	assert_int_equal(cic.close_cb_runs, 1);
	assert_int_equal(open_store(f), 0);
	int n = 0;
	assert_int_equal(store_foreach(f->s, STORE_TASKS, count_cb, &n), 0);
	assert_int_equal(n, 50);
}

static void test_store_submit_after_close_fails(void **state)
{
	struct fx *f = *state;
	assert_int_equal(open_store(f), 0);
	store_close(f->s, NULL, NULL);
	struct store_batch *b = store_batch_new();
	assert_int_equal(store_submit(f->s, b, NULL, NULL), AA_ECLOSED);
	store_batch_free(b);
	f->s = NULL;
	uv_run(&f->loop, UV_RUN_DEFAULT);
}

static void test_store_pending_bound_returns_eagain(void **state)
{
	struct fx *f = *state;
	f->o.max_pending_ops = 4;
	assert_int_equal(open_store(f), 0);
	struct rec r = { 0 };
	for (int i = 0; i < 4; i++)
		assert_int_equal(store_put(f->s, STORE_TASKS, S("k"), S("v"), on_done, tag(&r, i)), 0);
	struct store_batch *b = store_batch_new();
	assert_int_equal(store_batch_put(b, STORE_TASKS, S("k"), S("v")), 0);
	assert_int_equal(store_submit(f->s, b, NULL, NULL), AA_EAGAIN);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(r.n, 4);
	assert_int_equal(store_submit(f->s, b, on_done, tag(&r, 4)), 0); /* room again */
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(r.n, 5);
	/* A batch bigger than the bound can never go in. */
	b = store_batch_new();
	for (int i = 0; i < 5; i++)
		assert_int_equal(store_batch_put(b, STORE_TASKS, S("k"), S("v")), 0);
	assert_int_equal(store_submit(f->s, b, NULL, NULL), AA_ETOOBIG);
	store_batch_free(b);
}

static void test_store_empty_batch_is_a_barrier(void **state)
{
	struct fx *f = *state;
	assert_int_equal(open_store(f), 0);
	struct rec r = { 0 };
	assert_int_equal(store_put(f->s, STORE_TASKS, S("a"), S("1"), on_done, tag(&r, 0)), 0);
	assert_int_equal(store_submit(f->s, store_batch_new(), on_done, tag(&r, 1)), 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.tag[1], 1);
	assert_int_equal(r.status[1], 0);
}

static void test_store_failed_batch_rolls_back_alone(void **state)
{
	struct fx *f = *state;
	f->o.queue_max_per_peer = 1;
	assert_int_equal(open_store(f), 0);
	struct rec r = { 0 };
	int64_t exp = far_future();
	/* Three batches in one commit: the middle one fails on the queue bound. */
	struct store_batch *b1 = store_batch_new(), *b2 = store_batch_new(), *b3 = store_batch_new();
	assert_int_equal(store_batch_queue_push(b1, S("peer"), S("e1"), S("x"), exp), 0);
	assert_int_equal(store_batch_put(b2, STORE_TASKS, S("t2"), S("v")), 0);
	assert_int_equal(store_batch_dedup_insert(b2, S("e2"), aa_clock_wall_ms()), 0);
	assert_int_equal(store_batch_queue_push(b2, S("peer"), S("e2"), S("x"), exp), 0);
	assert_int_equal(store_batch_put(b3, STORE_TASKS, S("t3"), S("v")), 0);
	assert_int_equal(store_submit(f->s, b1, on_done, tag(&r, 0)), 0);
	assert_int_equal(store_submit(f->s, b2, on_done, tag(&r, 1)), 0);
	assert_int_equal(store_submit(f->s, b3, on_done, tag(&r, 2)), 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.status[0], 0);
	assert_int_equal(r.status[1], AA_ENOMEM);
	assert_int_equal(r.op_status[1][0], AA_ECANCELED);
	assert_int_equal(r.op_status[1][1], AA_ECANCELED);
	assert_int_equal(r.op_status[1][2], AA_ENOMEM);
	assert_int_equal(r.status[2], 0);
	struct aa_buf v;
	aa_buf_init(&v);
	assert_int_equal(store_get(f->s, STORE_TASKS, S("t2"), &v), AA_ENOENT);
	assert_int_equal(store_get(f->s, STORE_TASKS, S("t3"), &v), 0);
	aa_buf_free(&v);
	bool seen = true;
	assert_int_equal(store_dedup_contains(f->s, S("e2"), aa_clock_wall_ms(), &seen), 0);
	assert_false(seen);
}

static void test_store_map_grows_then_fails_cleanly_at_cap(void **state)
{
	struct fx *f = *state;
	f->o.map_size = 128 * 1024;
	f->o.map_size_max = 2 * 1024 * 1024;
	f->o.max_value_bytes = 4 * 1024 * 1024;
	assert_int_equal(open_store(f), 0);
	static uint8_t big[3 * 1024 * 1024];
	memset(big, 0x5a, sizeof big);
	struct rec r = { 0 };
	/* 600 KiB needs several doublings of a 128 KiB map. */
	assert_int_equal(store_put(f->s, STORE_TASKS, S("big"), aa_slice_make(big, 600 * 1024),
				   on_done, tag(&r, 0)), 0);
	wait_result(f, &r, 0);
	struct store_stats st;
	store_stats_get(f->s, &st);
	assert_true(st.map_resizes >= 2);
	assert_true(st.map_size > 128 * 1024 && st.map_size <= 2 * 1024 * 1024);
	/* 3 MiB cannot fit under a 2 MiB cap. */
	struct rec r2 = { 0 };
	assert_int_equal(store_put(f->s, STORE_TASKS, S("huge"), aa_slice_make(big, sizeof big),
				   on_done, tag(&r2, 1)), 0);
	wait_result(f, &r2, AA_ENOMEM);
	/* The store still works, and the earlier value is intact. */
	struct rec r3 = { 0 };
	assert_int_equal(store_put(f->s, STORE_TASKS, S("small"), S("ok"), on_done, tag(&r3, 2)),
			 0);
	wait_result(f, &r3, 0);
	struct aa_buf v;
	aa_buf_init(&v);
	assert_int_equal(store_get(f->s, STORE_TASKS, S("big"), &v), 0);
	assert_int_equal(v.n, 600 * 1024);
	assert_int_equal(store_get(f->s, STORE_TASKS, S("huge"), &v), AA_ENOENT);
	aa_buf_free(&v);
	/* The grown size is remembered by the file. */
	reopen(f);
	store_stats_get(f->s, &st);
	assert_true(st.map_size > 128 * 1024);
}

static int nested_read_cb(struct aa_slice key, struct aa_slice value, void *arg)
{
	struct fx *f = arg;
	struct aa_buf v;
	aa_buf_init(&v);
	int rc = store_get(f->s, STORE_TASKS, key, &v);
	aa_buf_free(&v);
	return rc == AA_EINVAL ? 7 : 8;
}

static void test_store_refuses_read_inside_read_callback(void **state)
{
	struct fx *f = *state;
	assert_int_equal(open_store(f), 0);
	struct rec r = { 0 };
	assert_int_equal(store_put(f->s, STORE_TASKS, S("a"), S("1"), on_done, tag(&r, 0)), 0);
	wait_result(f, &r, 0);
	assert_int_equal(store_foreach(f->s, STORE_TASKS, nested_read_cb, f), 7);
	/* And the store reads normally afterwards. */
	int n = 0;
	assert_int_equal(store_foreach(f->s, STORE_TASKS, count_cb, &n), 0);
	assert_int_equal(n, 1);
}

/* --- offline queue ---------------------------------------------------------------------------- */

struct qlist {
	int n;
	uint64_t seq[64];
	char id[64][32];
	char body[64][32];
};

static int qlist_cb(const struct store_queue_entry *e, void *arg)
{
	struct qlist *l = arg;
	assert_true(l->n < 64);
	l->seq[l->n] = e->seq;
	snprintf(l->id[l->n], 32, "%.*s", (int)e->envelope_id.n, (const char *)e->envelope_id.p);
	snprintf(l->body[l->n], 32, "%.*s", (int)e->envelope.n, (const char *)e->envelope.p);
	l->n++;
	return 0;
}

static void list_queue(struct fx *f, const char *peer, int64_t now, struct qlist *l)
{
	memset(l, 0, sizeof *l);
	assert_int_equal(store_queue_list(f->s, S(peer), now, 0, qlist_cb, l), 0);
}

static uint64_t qcount(struct fx *f, const char *peer)
{
	uint64_t n = 99;
	assert_int_equal(store_queue_count(f->s, S(peer), &n), 0);
	return n;
}

static void test_store_queue_is_fifo_per_peer_across_restart(void **state)
{
	struct fx *f = *state;
	assert_int_equal(open_store(f), 0);
	int64_t exp = far_future();
	/* Envelope ids in reverse byte order: the FIFO must follow enqueue order, not ids
	 * (the reference's BoltDB order, REFERENCE.md C.6). */
	const char *peers[] = { "peerA", "peerB", "peerA", "peerAB", "peerA", "peerB" };
	const char *ids[] = { "z9", "y8", "x7", "w6", "v5", "u4" };
	uint64_t last = 0;
	for (int i = 0; i < 6; i++) {
		uint64_t seq;
		assert_int_equal(push_wait(f, peers[i], ids[i], ids[i], exp, &seq), 0);
		assert_true(seq > last);
		last = seq;
	}
	reopen(f);
	struct qlist l;
	list_queue(f, "peerA", aa_clock_wall_ms(), &l);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.id[0], "z9");
	assert_string_equal(l.id[1], "x7");
	assert_string_equal(l.id[2], "v5");
	assert_string_equal(l.body[2], "v5");
	assert_true(l.seq[0] < l.seq[1] && l.seq[1] < l.seq[2]);
	list_queue(f, "peerB", aa_clock_wall_ms(), &l);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.id[0], "y8");
	list_queue(f, "peerAB", aa_clock_wall_ms(), &l);
	assert_int_equal(l.n, 1);
	assert_int_equal(qcount(f, "peerA"), 3);
	assert_int_equal(qcount(f, ""), 6);
	/* Sequence numbers keep growing after a restart. */
	uint64_t seq;
	assert_int_equal(push_wait(f, "peerA", "a0", "late", exp, &seq), 0);
	assert_true(seq > last);
	list_queue(f, "peerA", aa_clock_wall_ms(), &l);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.id[3], "a0");
	/* A limit stops the listing early. */
	memset(&l, 0, sizeof l);
	assert_int_equal(store_queue_list(f->s, S("peerA"), aa_clock_wall_ms(), 2, qlist_cb, &l), 0);
	assert_int_equal(l.n, 2);
}

static int peers_cb(struct aa_slice peer, uint64_t count, void *arg)
{
	uint64_t *sum = arg;
	sum[0]++;
	sum[1] += count;
	return 0;
}

static void test_store_queue_remove_by_envelope_id(void **state)
{
	struct fx *f = *state;
	assert_int_equal(open_store(f), 0);
	int64_t exp = far_future();
	assert_int_equal(push_wait(f, "p", "e1", "one", exp, NULL), 0);
	assert_int_equal(push_wait(f, "p", "e2", "two", exp, NULL), 0);
	assert_int_equal(push_wait(f, "q", "e3", "three", exp, NULL), 0);
	struct rec r1 = { 0 }, r2 = { 0 };
	assert_int_equal(store_queue_remove(f->s, S("e1"), on_done, tag(&r1, 0)), 0);
	assert_int_equal(wait_result(f, &r1, 0), 1);
	assert_int_equal(store_queue_remove(f->s, S("e1"), on_done, tag(&r2, 1)), 0);
	assert_int_equal(wait_result(f, &r2, 0), 0); /* nothing to remove is not an error */
	struct qlist l;
	list_queue(f, "p", aa_clock_wall_ms(), &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.id[0], "e2");
	assert_int_equal(qcount(f, "p"), 1);
	assert_int_equal(qcount(f, ""), 2);
	uint64_t sum[2] = { 0, 0 };
	assert_int_equal(store_queue_peers(f->s, peers_cb, sum), 0);
	assert_int_equal(sum[0], 2);
	assert_int_equal(sum[1], 2);
	/* The last entry of a peer removes the peer from the count table. */
	struct rec r3 = { 0 };
	assert_int_equal(store_queue_remove(f->s, S("e3"), on_done, tag(&r3, 2)), 0);
	wait_result(f, &r3, 0);
	assert_int_equal(qcount(f, "q"), 0);
	sum[0] = sum[1] = 0;
	assert_int_equal(store_queue_peers(f->s, peers_cb, sum), 0);
	assert_int_equal(sum[0], 1);
}

static void test_store_queue_push_of_queued_id_keeps_its_place(void **state)
{
	struct fx *f = *state;
	assert_int_equal(open_store(f), 0);
	int64_t exp = far_future();
	uint64_t s1, s2, s3;
	assert_int_equal(push_wait(f, "p", "e1", "first", exp, &s1), 0);
	assert_int_equal(push_wait(f, "p", "e2", "second", exp, &s2), 0);
	assert_int_equal(push_wait(f, "p", "e1", "retry", exp, &s3), 0);
	assert_int_equal(s3, s1);
	struct qlist l;
	list_queue(f, "p", aa_clock_wall_ms(), &l);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.body[0], "first");
	assert_int_equal(qcount(f, ""), 2);
}

static void test_store_queue_entries_expire(void **state)
{
	struct fx *f = *state;
	assert_int_equal(open_store(f), 0);
	int64_t now = aa_clock_wall_ms();
	assert_int_equal(push_wait(f, "p", "old", "x", now + 1000, NULL), 0);
	assert_int_equal(push_wait(f, "p", "new", "y", now + 100000, NULL), 0);
	assert_int_equal(push_wait(f, "p", "older", "z", now + 500, NULL), 0);
	struct qlist l;
	/* At now+1000 "old" and "older" are expired: listing skips them. */
	list_queue(f, "p", now + 1000, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.id[0], "new");
	assert_int_equal(qcount(f, "p"), 3); /* still stored until an expire op */
	struct rec r = { 0 };
	assert_int_equal(store_queue_expire(f->s, now + 1000, on_done, tag(&r, 0)), 0);
	assert_int_equal(wait_result(f, &r, 0), 2);
	assert_int_equal(qcount(f, "p"), 1);
	assert_int_equal(qcount(f, ""), 1);
	struct rec r2 = { 0 };
	assert_int_equal(store_queue_remove(f->s, S("old"), on_done, tag(&r2, 1)), 0);
	assert_int_equal(wait_result(f, &r2, 0), 0); /* its id index went with it */
	struct store_stats st;
	store_stats_get(f->s, &st);
	assert_int_equal(st.queue_total, 1);
}

static void test_store_queue_expires_at_open(void **state)
{
	struct fx *f = *state;
	assert_int_equal(open_store(f), 0);
	int64_t now = aa_clock_wall_ms();
	assert_int_equal(push_wait(f, "p", "gone", "x", now - 1, NULL), 0);
	assert_int_equal(push_wait(f, "p", "kept", "y", now + 100000, NULL), 0);
	assert_int_equal(qcount(f, "p"), 2);
	reopen(f);
	assert_int_equal(qcount(f, "p"), 1);
	struct qlist l;
	list_queue(f, "p", aa_clock_wall_ms(), &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.id[0], "kept");
}

static void test_store_queue_bounds_per_peer_and_total(void **state)
{
	struct fx *f = *state;
	f->o.queue_max_per_peer = 3;
	f->o.queue_max_total = 5;
	assert_int_equal(open_store(f), 0);
	int64_t exp = far_future();
	char id[16];
	for (int i = 0; i < 3; i++) {
		snprintf(id, sizeof id, "a%d", i);
		assert_int_equal(push_wait(f, "A", id, "x", exp, NULL), 0);
	}
	assert_int_equal(push_wait(f, "A", "a3", "x", exp, NULL), AA_ENOMEM);
	assert_int_equal(push_wait(f, "B", "b0", "x", exp, NULL), 0);
	assert_int_equal(push_wait(f, "B", "b1", "x", exp, NULL), 0);
	assert_int_equal(push_wait(f, "C", "c0", "x", exp, NULL), AA_ENOMEM); /* total 5 */
	assert_int_equal(qcount(f, ""), 5);
	assert_int_equal(qcount(f, "C"), 0);
	struct rec r = { 0 };
	assert_int_equal(store_queue_remove(f->s, S("a0"), on_done, tag(&r, 0)), 0);
	wait_result(f, &r, 0);
	assert_int_equal(push_wait(f, "C", "c0", "x", exp, NULL), 0);
}

/* --- dedup ------------------------------------------------------------------------------------ */

static uint64_t dedup_wait(struct fx *f, const char *id, int64_t now)
{
	struct rec r = { 0 };
	assert_int_equal(store_dedup_insert(f->s, S(id), now, on_done, tag(&r, 0)), 0);
	return wait_result(f, &r, 0);
}

static bool dedup_has(struct fx *f, const char *id)
{
	bool b = false;
	assert_int_equal(store_dedup_contains(f->s, S(id), aa_clock_wall_ms(), &b), 0);
	return b;
}

static void test_store_dedup_inserts_only_if_absent(void **state)
{
	struct fx *f = *state;
	assert_int_equal(open_store(f), 0);
	int64_t now = aa_clock_wall_ms();
	assert_false(dedup_has(f, "env-1"));
	assert_int_equal(dedup_wait(f, "env-1", now), 1);
	assert_int_equal(dedup_wait(f, "env-1", now + 5), 0);
	assert_true(dedup_has(f, "env-1"));
	/* Two inserts of one id in a single batch: the second sees the first. */
	struct rec r = { 0 };
	struct store_batch *b = store_batch_new();
	assert_int_equal(store_batch_dedup_insert(b, S("env-2"), now), 0);
	assert_int_equal(store_batch_dedup_insert(b, S("env-2"), now), 0);
	assert_int_equal(store_submit(f->s, b, on_done, tag(&r, 0)), 0);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(r.status[0], 0);
	reopen(f);
	assert_true(dedup_has(f, "env-1"));
	assert_true(dedup_has(f, "env-2"));
	assert_int_equal(dedup_wait(f, "env-1", aa_clock_wall_ms()), 0);
	struct store_stats st;
	store_stats_get(f->s, &st);
	assert_int_equal(st.dedup_count, 2);
}

static void test_store_dedup_prunes_oldest_beyond_max(void **state)
{
	struct fx *f = *state;
	f->o.dedup_max = 10;
	assert_int_equal(open_store(f), 0);
	int64_t base = aa_clock_wall_ms() - 1000;
	static struct rec r;
	memset(&r, 0, sizeof r);
	for (int i = 0; i < 25; i++) {
		char id[16];
		snprintf(id, sizeof id, "d%02d", i);
		assert_int_equal(store_dedup_insert(f->s, S(id), base + i, on_done, tag(&r, i)), 0);
	}
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(r.n, 25);
	struct store_stats st;
	store_stats_get(f->s, &st);
	assert_int_equal(st.dedup_count, 10);
	assert_false(dedup_has(f, "d00"));
	assert_false(dedup_has(f, "d14"));
	assert_true(dedup_has(f, "d15"));
	assert_true(dedup_has(f, "d24"));
}

static void test_store_dedup_forgets_ids_older_than_ttl(void **state)
{
	struct fx *f = *state;
	f->o.dedup_ttl_ms = 60 * 1000;
	assert_int_equal(open_store(f), 0);
	int64_t now = aa_clock_wall_ms();
	assert_int_equal(dedup_wait(f, "fresh", now), 1);
	/* Seen two minutes ago: inserted, then dropped by the same commit's prune. */
	assert_int_equal(dedup_wait(f, "stale", now - 120 * 1000), 1);
	assert_false(dedup_has(f, "stale"));
	assert_true(dedup_has(f, "fresh"));
	struct store_stats st;
	store_stats_get(f->s, &st);
	assert_int_equal(st.dedup_count, 1);
	/* contains() applies the TTL itself, whatever the prune has done. */
	bool b = true;
	assert_int_equal(store_dedup_contains(f->s, S("fresh"), now + 61 * 1000, &b), 0);
	assert_false(b);
}

/* --- crash safety ----------------------------------------------------------------------------- */

struct child_ctx {
	struct store *s;
	int fd;
	uint32_t next;
};

static void child_submit_one(struct child_ctx *c, uint32_t i);

struct child_tag {
	struct child_ctx *c;
	uint32_t i;
};

static void child_tagged_done(int status, const struct store_batch *b, void *arg)
{
	struct child_tag *t = arg;
	if (status != 0)
		_exit(3);
	if (write(t->c->fd, &t->i, sizeof t->i) != sizeof t->i)
		_exit(4);
	struct child_ctx *c = t->c;
	free(t);
	child_submit_one(c, c->next++);
}

static void child_submit_one(struct child_ctx *c, uint32_t i)
{
	char task[32], id[32];
	snprintf(task, sizeof task, "t%u", i);
	snprintf(id, sizeof id, "e%u", i);
	struct store_batch *b = store_batch_new();
	if (store_batch_put(b, STORE_TASKS, S(task), S(task)) ||
	    store_batch_queue_push(b, S("crash-peer"), S(id), S(task), INT64_MAX / 2) ||
	    store_batch_dedup_insert(b, S(id), aa_clock_wall_ms()))
		_exit(5);
	struct child_tag *t = malloc(sizeof *t);
	t->c = c;
	t->i = i;
	if (store_submit(c->s, b, child_tagged_done, t))
		_exit(6);
}

static void crash_child(const char *path, int fd)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct store_options o;
	store_options_default(&o);
	o.path = path;
	o.queue_max_per_peer = 1000000;
	o.queue_max_total = 1000000;
	struct child_ctx c = { NULL, fd, 0 };
	if (store_open(&loop, &o, &c.s, NULL, 0))
		_exit(2);
	/* Keep 32 batches in flight; each completion reports and submits the next. */
	for (int i = 0; i < 32; i++)
		child_submit_one(&c, c.next++);
	for (;;)
		uv_run(&loop, UV_RUN_DEFAULT);
}

static void test_store_keeps_every_reported_commit_after_sigkill(void **state)
{
	struct fx *f = *state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		crash_child(f->path, p[1]);
		_exit(1);
	}
	close(p[1]);
	enum { MAX_IDS = 1 << 20 };
	uint8_t *reported = calloc(MAX_IDS, 1);
	uint32_t count = 0, hi = 0;
	bool killed = false;
	uint8_t buf[4096];
	size_t have = 0;
	uint64_t deadline = aa_clock_mono_ns() + 60ull * 1000000000ull;
	for (;;) {
		if (!killed && (count >= 400 || aa_clock_mono_ns() > deadline)) {
			kill(pid, SIGKILL); /* mid-stream: batches are in flight */
			killed = true;
		}
		struct pollfd pf = { p[0], POLLIN, 0 };
		poll(&pf, 1, 1000);
		ssize_t k = read(p[0], buf + have, sizeof buf - have);
		if (k == 0)
			break;
		if (k < 0)
			continue;
		have += (size_t)k;
		size_t i = 0;
		for (; i + 4 <= have; i += 4) {
			uint32_t id;
			memcpy(&id, buf + i, 4);
			assert_true(id < MAX_IDS);
			reported[id] = 1;
			count++;
			if (id + 1 > hi)
				hi = id + 1;
		}
		memmove(buf, buf + i, have - i);
		have -= i;
	}
	close(p[0]);
	int wst;
	assert_int_equal(waitpid(pid, &wst, 0), pid);
	assert_true(WIFSIGNALED(wst) && WTERMSIG(wst) == SIGKILL);
	assert_true(count >= 400);

	/* The store opens cleanly and holds every batch the child was told was durable. */
	f->o.queue_max_per_peer = 1000000;
	f->o.queue_max_total = 1000000;
	assert_int_equal(open_store(f), 0);
	struct aa_buf v;
	aa_buf_init(&v);
	for (uint32_t i = 0; i < hi; i++) {
		if (!reported[i])
			continue;
		char task[32], id[32];
		snprintf(task, sizeof task, "t%u", i);
		snprintf(id, sizeof id, "e%u", i);
		assert_int_equal(store_get(f->s, STORE_TASKS, S(task), &v), 0);
		assert_int_equal(v.n, strlen(task));
		bool seen = false;
		assert_int_equal(store_dedup_contains(f->s, S(id), aa_clock_wall_ms(), &seen), 0);
		assert_true(seen);
	}
	aa_buf_free(&v);
	/* Each committed batch was whole: the queue count matches tasks and the listing. */
	uint64_t queued = qcount(f, "crash-peer"), tasks = 0;
	int n = 0;
	assert_int_equal(store_foreach(f->s, STORE_TASKS, count_cb, &n), 0);
	tasks = (uint64_t)n;
	assert_int_equal(queued, tasks);
	assert_true(tasks >= count);
	assert_int_equal(qcount(f, ""), queued);
	free(reported);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_store_open_creates_private_dir_and_files),
		T(test_store_reopen_keeps_tasks_and_cards),
		T(test_store_foreach_visits_table_in_key_order),
		T(test_store_delete_reports_whether_key_existed),
		T(test_store_rejects_foreign_lmdb_file),
		T(test_store_rejects_lmdb_file_with_foreign_meta),
		T(test_store_rejects_garbage_file),
		T(test_store_refuses_newer_schema),
		T(test_store_refuses_second_opener),
		T(test_store_rejects_bad_arguments),
		T(test_store_group_commits_in_submission_order),
		T(test_store_lazy_batch_rides_in_the_next_urgent_commit),
		T(test_store_lazy_batch_alone_commits_after_its_linger),
		T(test_store_close_commits_a_lingering_lazy_batch),
		T(test_store_completion_means_readable_and_durable),
		T(test_store_close_commits_pending_batches),
		T(test_store_close_from_completion_callback_keeps_order),
		T(test_store_submit_after_close_fails),
		T(test_store_pending_bound_returns_eagain),
		T(test_store_empty_batch_is_a_barrier),
		T(test_store_failed_batch_rolls_back_alone),
		T(test_store_map_grows_then_fails_cleanly_at_cap),
		T(test_store_refuses_read_inside_read_callback),
		T(test_store_queue_is_fifo_per_peer_across_restart),
		T(test_store_queue_remove_by_envelope_id),
		T(test_store_queue_push_of_queued_id_keeps_its_place),
		T(test_store_queue_entries_expire),
		T(test_store_queue_expires_at_open),
		T(test_store_queue_bounds_per_peer_and_total),
		T(test_store_dedup_inserts_only_if_absent),
		T(test_store_dedup_prunes_oldest_beyond_max),
		T(test_store_dedup_forgets_ids_older_than_ttl),
		T(test_store_keeps_every_reported_commit_after_sigkill),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
