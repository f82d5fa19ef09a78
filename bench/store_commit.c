/* store_commit: durable commit throughput and latency of the store (src/store), against the
 * baseline of the same filesystem: one 4 KiB pwrite + fdatasync, what a single durable write
 * costs the kernel and the disk alone. Latency is submit -> completion callback on the loop.
 *
 *   bench_store_commit [DIR] [VALUE_BYTES]
 *
 * DIR (default: a fresh directory under $TMPDIR or /tmp, removed afterwards) must be on the
 * filesystem to measure. Modes, each on a fresh store:
 *   serial     one single-op batch at a time (each waits for the previous completion)
 *   window     single-op batches with 256 in flight: group commit shares each fsync
 *   window3    3-op batches (atomic, so each runs in a nested transaction), 256 in flight
 *   batch100   batches of 100 ops, one at a time
 * Each prints "store_commit mode=… ops=… commits=… ops_per_s=… commits_per_s=…
 * ops_per_commit=… p50_us=… p99_us=…"; the baseline prints p50/p99 per sync. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "base/clock.h"
#include "store/store.h"

#define SERIAL_OPS 2000
#define WINDOW_OPS 50000
#define WINDOW 256
#define BATCH_SIZE 100
#define BATCHES 300

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double pct_us(uint64_t *v, size_t n, double p)
{
	qsort(v, n, sizeof *v, cmp_u64);
	size_t i = (size_t)(p * (double)(n - 1));
	return (double)v[i] / 1000.0;
}

static void baseline(const char *dir)
{
	char path[4096];
	if ((size_t)snprintf(path, sizeof path, "%s/baseline.dat", dir) >= sizeof path)
		exit(2);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		perror(path);
		exit(1);
	}
	static uint8_t page[4096];
	enum { N = 2000 };
	static uint64_t lat[N];
	uint64_t t0 = aa_clock_mono_ns();
	for (int i = 0; i < N; i++) {
		uint64_t a = aa_clock_mono_ns();
		page[0] = (uint8_t)i;
		if (pwrite(fd, page, sizeof page, (off_t)(i % 64) * 4096) != (ssize_t)sizeof page ||
		    fdatasync(fd) != 0) {
			perror("baseline write");
			exit(1);
		}
		lat[i] = aa_clock_mono_ns() - a;
	}
	double secs = (double)(aa_clock_mono_ns() - t0) / 1e9;
	close(fd);
	unlink(path);
	printf("baseline mode=pwrite4k+fdatasync syncs=%d syncs_per_s=%.0f p50_us=%.1f p99_us=%.1f\n",
	       N, N / secs, pct_us(lat, N, 0.50), pct_us(lat, N, 0.99));
}

struct run {
	struct store *s;
	const char *name;
	size_t value_bytes;
	uint8_t *value;
	size_t ops_per_batch;
	size_t total_batches;
	size_t window;
	size_t submitted, completed;
	uint64_t *lat;   /* per batch */
	uint64_t *start; /* per batch */
	int failed;
};

struct tag {
	struct run *r;
	size_t i;
};

static void submit_next(struct run *r);

static void on_done(int status, const struct store_batch *b, void *arg)
{
	struct tag *t = arg;
	struct run *r = t->r;
	if (status != 0)
		r->failed = status;
	r->lat[t->i] = aa_clock_mono_ns() - r->start[t->i];
	r->completed++;
	free(t);
	if (r->submitted < r->total_batches)
		submit_next(r);
}

static void submit_next(struct run *r)
{
	size_t i = r->submitted++;
	struct store_batch *b = store_batch_new();
	for (size_t k = 0; k < r->ops_per_batch; k++) {
		char key[48];
		snprintf(key, sizeof key, "task-%zu-%zu", i, k);
		store_batch_put(b, STORE_TASKS, aa_slice_make(key, strlen(key)),
				aa_slice_make(r->value, r->value_bytes));
	}
	struct tag *t = malloc(sizeof *t);
	t->r = r;
	t->i = i;
	r->start[i] = aa_clock_mono_ns();
	int rc = store_submit(r->s, b, on_done, t);
	if (rc) {
		fprintf(stderr, "submit failed: %d\n", rc);
		exit(1);
	}
}

static void run_mode(const char *dir, const char *name, size_t value_bytes, size_t ops_per_batch,
		     size_t batches, size_t window)
{
	char path[4096];
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
		exit(2);
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct store_options o;
	store_options_default(&o);
	o.path = path;
	struct run r = { 0 };
	char err[512];
	if (store_open(&loop, &o, &r.s, err, sizeof err)) {
		fprintf(stderr, "store_open: %s\n", err);
		exit(1);
	}
	r.name = name;
	r.value_bytes = value_bytes;
	r.value = malloc(value_bytes ? value_bytes : 1);
	memset(r.value, 0x42, value_bytes);
	r.ops_per_batch = ops_per_batch;
	r.total_batches = batches;
	r.window = window;
	r.lat = calloc(batches, sizeof *r.lat);
	r.start = calloc(batches, sizeof *r.start);

	struct store_stats before, after;
	store_stats_get(r.s, &before);
	uint64_t t0 = aa_clock_mono_ns();
	for (size_t i = 0; i < window && r.submitted < batches; i++)
		submit_next(&r);
	uv_run(&loop, UV_RUN_DEFAULT);
	double secs = (double)(aa_clock_mono_ns() - t0) / 1e9;
	store_stats_get(r.s, &after);
	if (r.failed || r.completed != batches) {
		fprintf(stderr, "%s: %zu of %zu completed, status %d\n", name, r.completed, batches,
			r.failed);
		exit(1);
	}
	uint64_t commits = after.commits - before.commits;
	size_t ops = batches * ops_per_batch;
	printf("store_commit mode=%s value_bytes=%zu ops=%zu batches=%zu commits=%llu "
	       "ops_per_s=%.0f commits_per_s=%.0f ops_per_commit=%.1f p50_us=%.1f p99_us=%.1f "
	       "commit_mean_us=%.1f\n",
	       name, value_bytes, ops, batches, (unsigned long long)commits, ops / secs,
	       commits / secs, commits ? (double)ops / (double)commits : 0.0,
	       pct_us(r.lat, batches, 0.50), pct_us(r.lat, batches, 0.99),
	       commits ? (double)(after.commit_ns_sum - before.commit_ns_sum) / commits / 1000.0
		       : 0.0);
	store_close(r.s, NULL, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	free(r.value);
	free(r.lat);
	free(r.start);
	char cmd[4200];
	if ((size_t)snprintf(cmd, sizeof cmd, "rm -rf '%s'", path) >= sizeof cmd || system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", path);
}

int main(int argc, char **argv)
{
	char tmpl[4096];
	const char *dir;
	bool own = argc < 2;
	if (own) {
		const char *t = getenv("TMPDIR");
		if ((size_t)snprintf(tmpl, sizeof tmpl, "%s/bench_store-XXXXXX",
				     t && *t ? t : "/tmp") >= sizeof tmpl || !mkdtemp(tmpl)) {
			perror("mkdtemp");
			return 1;
		}
		dir = tmpl;
	} else {
		dir = argv[1];
	}
	size_t value_bytes = argc > 2 ? strtoul(argv[2], NULL, 10) : 256;
	if (value_bytes > 1024 * 1024) {
		fprintf(stderr, "VALUE_BYTES at most 1 MiB\n");
		return 2;
	}
	baseline(dir);
	run_mode(dir, "serial", value_bytes, 1, SERIAL_OPS, 1);
	run_mode(dir, "window", value_bytes, 1, WINDOW_OPS, WINDOW);
	run_mode(dir, "window3", value_bytes, 3, WINDOW_OPS / 3, WINDOW);
	run_mode(dir, "batch100", value_bytes, BATCH_SIZE, BATCHES, 1);
	if (own)
		rmdir(dir);
	return 0;
}
