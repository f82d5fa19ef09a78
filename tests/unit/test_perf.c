/* Unit tests for p2p/perf: a perf client host and a perf server host on one libuv loop,
 * talking over real loopback TCP (TCP + Noise + yamux). Each test runs the loop until its
 * condition holds, bounded by a deadline timer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <uv.h>

#include "base/err.h"
#include "p2p/host.h"
#include "p2p/perf.h"

struct fixture {
	uv_loop_t loop;
	struct p2p_keypair ks, kc;
	struct p2p_host *server, *client;
	int connected;
	int done;
	int err;
	struct p2p_perf_result r;
	int closed;
	/* raw streams opened by the tests themselves */
	int raw_closed, raw_err;
	uint64_t lie_extra; /* the lying server sends this many bytes too many (or too few) */
	bool lie_short;
};

static struct fixture *F;

static void on_deadline(uv_timer_t *t) { uv_stop(t->loop); }

/* Runs the loop until *flag >= want or 10 s pass; returns whether the flag got there. */
static bool run_until(int *flag, int want)
{
	uv_timer_t deadline;
	uv_timer_init(&F->loop, &deadline);
	uv_timer_start(&deadline, on_deadline, 10000, 0);
	while (*flag < want && uv_timer_get_due_in(&deadline) > 0)
		uv_run(&F->loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&deadline, NULL);
	uv_run(&F->loop, UV_RUN_NOWAIT);
	return *flag >= want;
}

static struct p2p_host *make_host(struct p2p_keypair *k)
{
	struct p2p_host_config cfg;
	p2p_host_config_default(&cfg);
	p2p_keypair_generate(k);
	cfg.identity = k;
	struct p2p_host *h;
	assert_int_equal(p2p_host_new(&F->loop, &cfg, &h), 0);
	return h;
}

static void on_connected(void *user, struct p2p_conn *c, int err)
{
	assert_non_null(c);
	F->connected++;
}

/* A perf server and a client connected to it. */
static void setup(void)
{
	F = calloc(1, sizeof *F);
	uv_loop_init(&F->loop);
	F->server = make_host(&F->ks);
	F->client = make_host(&F->kc);
	assert_int_equal(p2p_perf_serve(F->server), 0);
	struct multiaddr ma;
	assert_int_equal(multiaddr_parse("/ip4/127.0.0.1/tcp/0", &ma, NULL), 0);
	assert_int_equal(p2p_host_listen(F->server, &ma), 0);
	multiaddr_free(&ma);
	struct multiaddr *addrs;
	size_t n;
	p2p_host_listen_addrs(F->server, &addrs, &n);
	assert_int_equal(n, 1);
	assert_int_equal(p2p_host_dial(F->client, p2p_host_peer_id(F->server), addrs, 1, on_connected, NULL), 0);
	multiaddr_free(&addrs[0]);
	free(addrs);
	assert_true(run_until(&F->connected, 1));
}

static void on_host_closed(void *u) { F->closed++; }

static void teardown(void)
{
	p2p_host_close(F->server, on_host_closed, NULL);
	p2p_host_close(F->client, on_host_closed, NULL);
	assert_true(run_until(&F->closed, 2));
	uv_run(&F->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&F->loop), 0);
	free(F);
	F = NULL;
}

static void on_perf(void *user, int err, const struct p2p_perf_result *r)
{
	F->err = err;
	if (r)
		F->r = *r;
	else
		assert_int_not_equal(err, 0);
	F->done++;
}

static void run_perf(uint64_t up, uint64_t down)
{
	assert_int_equal(p2p_perf_run(F->client, p2p_host_peer_id(F->server), up, down, on_perf, NULL), 0);
	assert_int_equal(F->done, 0); /* the callback never runs inside p2p_perf_run */
	assert_true(run_until(&F->done, 1));
	assert_int_equal(F->done, 1);
}

static void test_perf_reports_exact_byte_counts_both_ways(void **state)
{
	setup();
	run_perf(3u << 20, 5u << 20);
	assert_int_equal(F->err, 0);
	assert_int_equal(F->r.upload_bytes, 3u << 20);
	assert_int_equal(F->r.download_bytes, 5u << 20);
	assert_true(F->r.upload_ns > 0);
	assert_true(F->r.download_ns > 0);
	teardown();
}

static void test_perf_accepts_zero_upload_and_zero_download(void **state)
{
	setup();
	run_perf(0, 0);
	assert_int_equal(F->err, 0);
	assert_int_equal(F->r.upload_bytes, 0);
	assert_int_equal(F->r.download_bytes, 0);
	assert_int_equal(F->r.download_ns, 0);
	teardown();
}

static void test_perf_download_only(void **state)
{
	setup();
	run_perf(0, 100000);
	assert_int_equal(F->err, 0);
	assert_int_equal(F->r.download_bytes, 100000);
	teardown();
}

static void test_perf_runs_several_exchanges_at_once(void **state)
{
	setup();
	const struct p2p_peer_id *s = p2p_host_peer_id(F->server);
	for (int i = 0; i < 4; i++)
		assert_int_equal(p2p_perf_run(F->client, s, 70000u * (unsigned)i, 90000, on_perf, NULL), 0);
	assert_true(run_until(&F->done, 4));
	assert_int_equal(F->err, 0);
	teardown();
}

static void test_perf_run_without_connection_is_enoent(void **state)
{
	setup();
	struct p2p_keypair other;
	p2p_keypair_generate(&other);
	struct p2p_peer_id stranger;
	p2p_peer_id_from_public_key(other.public_key, &stranger);
	assert_int_equal(p2p_perf_run(F->client, &stranger, 1, 1, on_perf, NULL), AA_ENOENT);
	assert_int_equal(p2p_perf_run(F->client, p2p_host_peer_id(F->server), 1, 1, NULL, NULL), AA_EINVAL);
	p2p_keypair_wipe(&other);
	teardown();
}

/* ---- a raw client that breaks the protocol --------------------------------------------- */

static size_t raw_data(struct p2p_stream *st, const uint8_t *p, size_t n) { return n; }
static void raw_close(struct p2p_stream *st, int err)
{
	F->raw_err = err;
	F->raw_closed++;
}
static const struct p2p_stream_handler raw_client = { .on_data = raw_data, .on_close = raw_close };

static void test_perf_server_resets_a_stream_without_the_size(void **state)
{
	setup();
	static const char *const protos[] = { P2P_PERF_PROTOCOL_ID };
	struct p2p_stream *st;
	assert_int_equal(p2p_host_new_stream(F->client, p2p_host_peer_id(F->server), protos, 1, &raw_client,
					     NULL, &st), 0);
	static const uint8_t three[3] = { 0, 0, 1 };
	assert_int_equal(p2p_stream_write(st, three, sizeof three), 3);
	assert_int_equal(p2p_stream_close_write(st), 0);
	assert_true(run_until(&F->raw_closed, 1));
	assert_int_equal(F->raw_err, AA_ECLOSED);
	teardown();
}

/* ---- a server that sends the wrong amount ------------------------------------------------ */

struct liar {
	uint8_t header[8];
	size_t have;
	uint64_t left;
};

static size_t liar_data(struct p2p_stream *st, const uint8_t *p, size_t n)
{
	struct liar *l = p2p_stream_user(st);
	if (!l) {
		l = calloc(1, sizeof *l);
		p2p_stream_set_user(st, l);
	}
	for (size_t i = 0; i < n && l->have < 8; i++)
		l->header[l->have++] = p[i];
	return n;
}

static void liar_pump(struct p2p_stream *st)
{
	static const uint8_t zeros[4096];
	struct liar *l = p2p_stream_user(st);
	while (l->left > 0) {
		ssize_t w = p2p_stream_write(st, zeros, l->left < sizeof zeros ? (size_t)l->left : sizeof zeros);
		if (w <= 0)
			return;
		l->left -= (uint64_t)w;
	}
	p2p_stream_close_write(st);
}

static void liar_fin(struct p2p_stream *st)
{
	struct liar *l = p2p_stream_user(st);
	uint64_t want = 0;
	for (int i = 0; i < 8; i++)
		want = want << 8 | l->header[i];
	l->left = F->lie_short ? want - F->lie_extra : want + F->lie_extra;
	liar_pump(st);
}

static void liar_close(struct p2p_stream *st, int err) { free(p2p_stream_user(st)); }

static const struct p2p_stream_handler liar_server = {
	.on_data = liar_data, .on_fin = liar_fin, .on_writable = liar_pump, .on_close = liar_close,
};

static void test_perf_client_rejects_more_bytes_than_asked(void **state)
{
	setup();
	p2p_host_set_handler(F->server, P2P_PERF_PROTOCOL_ID, &liar_server, NULL);
	F->lie_extra = 10;
	run_perf(1000, 50000);
	assert_int_equal(F->err, AA_EPROTO);
	teardown();
}

static void test_perf_client_rejects_fewer_bytes_than_asked(void **state)
{
	setup();
	p2p_host_set_handler(F->server, P2P_PERF_PROTOCOL_ID, &liar_server, NULL);
	F->lie_extra = 1;
	F->lie_short = true;
	run_perf(0, 50000);
	assert_int_equal(F->err, AA_EPROTO);
	teardown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_perf_reports_exact_byte_counts_both_ways),
		cmocka_unit_test(test_perf_accepts_zero_upload_and_zero_download),
		cmocka_unit_test(test_perf_download_only),
		cmocka_unit_test(test_perf_runs_several_exchanges_at_once),
		cmocka_unit_test(test_perf_run_without_connection_is_enoent),
		cmocka_unit_test(test_perf_server_resets_a_stream_without_the_size),
		cmocka_unit_test(test_perf_client_rejects_more_bytes_than_asked),
		cmocka_unit_test(test_perf_client_rejects_fewer_bytes_than_asked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
