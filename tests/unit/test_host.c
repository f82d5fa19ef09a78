/* Unit tests for p2p/host (and p2p/conn under it): two hosts on one libuv loop talking over
 * real loopback TCP sockets. Each test runs the loop until its condition holds, bounded by a
 * deadline timer. */
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
#include "p2p/ping.h"

struct pair {
	uv_loop_t loop;
	struct p2p_keypair ka, kb;
	struct p2p_host *a, *b;
	struct multiaddr a_addr; /* a's listen address */
	int dial_done, dial_ok;
	struct p2p_conn *dialled[4];
	int connected_a, connected_b, disconnected_b, last_b;
	int pings;
	int closed;
};

static struct pair *P;

static void on_deadline(uv_timer_t *t) { uv_stop(t->loop); }

/* Runs the loop until *flag >= want or 5 s pass; returns whether the flag got there. */
static bool run_until(uv_loop_t *loop, int *flag, int want)
{
	uv_timer_t deadline;
	uv_timer_init(loop, &deadline);
	uv_timer_start(&deadline, on_deadline, 5000, 0);
	while (*flag < want && uv_timer_get_due_in(&deadline) > 0)
		uv_run(loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&deadline, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
	return *flag >= want;
}

static void a_connected(void *u, struct p2p_conn *c) { P->connected_a++; }
static void b_connected(void *u, struct p2p_conn *c) { P->connected_b++; }
static void b_disconnected(void *u, struct p2p_conn *c, bool last) { P->disconnected_b++; P->last_b += last; }
static struct p2p_host_notifiee notif_a = { .on_connected = a_connected };
static struct p2p_host_notifiee notif_b = { .on_connected = b_connected, .on_disconnected = b_disconnected };

static struct p2p_host *make_host(struct p2p_keypair *k, struct p2p_host_config *override)
{
	struct p2p_host_config cfg;
	p2p_host_config_default(&cfg);
	if (override)
		cfg = *override;
	p2p_keypair_generate(k);
	cfg.identity = k;
	struct p2p_host *h;
	assert_int_equal(p2p_host_new(&P->loop, &cfg, &h), 0);
	p2p_ping_serve(h);
	return h;
}

static void setup_pair(struct p2p_host_config *a_cfg)
{
	P = calloc(1, sizeof *P);
	uv_loop_init(&P->loop);
	P->a = make_host(&P->ka, a_cfg);
	P->b = make_host(&P->kb, NULL);
	p2p_host_subscribe(P->a, &notif_a);
	p2p_host_subscribe(P->b, &notif_b);
	struct multiaddr ma;
	assert_int_equal(multiaddr_parse("/ip4/127.0.0.1/tcp/0", &ma, NULL), 0);
	assert_int_equal(p2p_host_listen(P->a, &ma), 0);
	multiaddr_free(&ma);
	struct multiaddr *addrs;
	size_t n;
	p2p_host_listen_addrs(P->a, &addrs, &n);
	assert_int_equal(n, 1);
	P->a_addr = addrs[0];
	free(addrs);
}

static void on_closed(void *u) { P->closed++; }

static void teardown_pair(void)
{
	p2p_host_close(P->a, on_closed, NULL);
	p2p_host_close(P->b, on_closed, NULL);
	assert_true(run_until(&P->loop, &P->closed, 2));
	uv_run(&P->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&P->loop), 0);
	multiaddr_free(&P->a_addr);
	free(P);
	P = NULL;
}

static void on_dialled(void *user, struct p2p_conn *c, int err)
{
	if (c)
		P->dialled[P->dial_ok++ % 4] = c;
	P->dial_done++;
}

static void test_host_concurrent_dials_share_one_connection(void **state)
{
	setup_pair(NULL);
	const struct p2p_peer_id *a_id = p2p_host_peer_id(P->a);
	assert_int_equal(p2p_host_dial(P->b, a_id, &P->a_addr, 1, on_dialled, NULL), 0);
	assert_int_equal(p2p_host_dial(P->b, a_id, &P->a_addr, 1, on_dialled, NULL), 0);
	assert_int_equal(P->dial_done, 0); /* callbacks never run inside p2p_host_dial */
	assert_true(run_until(&P->loop, &P->dial_done, 2));
	assert_int_equal(P->dial_ok, 2);
	assert_ptr_equal(P->dialled[0], P->dialled[1]);
	assert_true(run_until(&P->loop, &P->connected_a, 1));
	struct p2p_host_stats st;
	p2p_host_stats(P->b, &st);
	assert_int_equal(st.outbound_total, 1);
	assert_int_equal(st.connections, 1);
	/* A later dial is answered by the existing connection. */
	assert_int_equal(p2p_host_dial(P->b, a_id, &P->a_addr, 1, on_dialled, NULL), 0);
	assert_true(run_until(&P->loop, &P->dial_done, 3));
	assert_ptr_equal(P->dialled[2], P->dialled[0]);
	p2p_host_stats(P->b, &st);
	assert_int_equal(st.outbound_total, 1);
	teardown_pair();
}

static void test_host_dial_falls_back_to_the_next_address(void **state)
{
	setup_pair(NULL);
	struct multiaddr addrs[2];
	/* Port 1 on loopback refuses; the second address is the real one. */
	assert_int_equal(multiaddr_parse("/ip4/127.0.0.1/tcp/1", &addrs[0], NULL), 0);
	multiaddr_copy(&P->a_addr, &addrs[1]);
	assert_int_equal(p2p_host_dial(P->b, p2p_host_peer_id(P->a), addrs, 2, on_dialled, NULL), 0);
	assert_true(run_until(&P->loop, &P->dial_done, 1));
	assert_int_equal(P->dial_ok, 1);
	multiaddr_free(&addrs[0]);
	multiaddr_free(&addrs[1]);
	teardown_pair();
}

static void test_host_dial_to_wrong_peer_fails_with_crypto_error(void **state)
{
	setup_pair(NULL);
	struct p2p_keypair other;
	p2p_keypair_generate(&other);
	struct p2p_peer_id wrong;
	p2p_peer_id_from_public_key(other.public_key, &wrong);
	assert_int_equal(p2p_host_dial(P->b, &wrong, &P->a_addr, 1, on_dialled, NULL), 0);
	assert_true(run_until(&P->loop, &P->dial_done, 1));
	assert_int_equal(P->dial_ok, 0);
	struct p2p_host_stats st;
	p2p_host_stats(P->b, &st);
	assert_int_equal(st.handshakes_failed, 1);
	assert_int_equal(st.handshake_failures[P2P_HS_FAIL_CRYPTO], 1);
	assert_int_equal(st.connections, 0);
	teardown_pair();
}

static void on_ping(void *user, int err, uint64_t rtt, bool last)
{
	if (err == 0)
		P->pings++;
}

static void test_host_ping_and_disconnect_notifications(void **state)
{
	setup_pair(NULL);
	const struct p2p_peer_id *a_id = p2p_host_peer_id(P->a);
	assert_int_equal(p2p_host_dial(P->b, a_id, &P->a_addr, 1, on_dialled, NULL), 0);
	assert_true(run_until(&P->loop, &P->dial_ok, 1));
	assert_int_equal(p2p_ping(P->b, a_id, 3, on_ping, NULL), 0);
	assert_true(run_until(&P->loop, &P->pings, 3));
	assert_true(run_until(&P->loop, &P->connected_b, 1));
	/* The peerstore learned a's key and dialled address while connected. */
	struct peerstore *ps = p2p_host_peerstore(P->b);
	assert_true(peerstore_is_protected(ps, a_id));
	p2p_host_disconnect(P->b, a_id);
	assert_true(run_until(&P->loop, &P->disconnected_b, 1));
	assert_int_equal(P->last_b, 1);
	assert_false(peerstore_is_protected(ps, a_id));
	assert_null(p2p_host_conn_to(P->b, a_id));
	teardown_pair();
}

static void test_host_refuses_beyond_max_connections(void **state)
{
	struct p2p_host_config cfg;
	p2p_host_config_default(&cfg);
	cfg.max_connections = 0; /* refuse every inbound connection */
	setup_pair(&cfg);
	assert_int_equal(p2p_host_dial(P->b, p2p_host_peer_id(P->a), &P->a_addr, 1, on_dialled, NULL), 0);
	assert_true(run_until(&P->loop, &P->dial_done, 1));
	assert_int_equal(P->dial_ok, 0);
	struct p2p_host_stats st;
	p2p_host_stats(P->a, &st);
	assert_int_equal(st.refused_limit, 1);
	teardown_pair();
}

static void test_host_closes_idle_connections(void **state)
{
	struct p2p_host_config cfg;
	p2p_host_config_default(&cfg);
	cfg.idle_timeout_ns = 1; /* any connection without streams at the next sweep */
	setup_pair(&cfg);
	assert_int_equal(p2p_host_dial(P->b, p2p_host_peer_id(P->a), &P->a_addr, 1, on_dialled, NULL), 0);
	assert_true(run_until(&P->loop, &P->dial_ok, 1));
	assert_true(run_until(&P->loop, &P->disconnected_b, 1));
	teardown_pair();
}

/* ---- bulk echo on many streams: both directions busy at once ---------------------------- */

#define ECHO_STREAMS 32
#define ECHO_BYTES (2u * 1024 * 1024)

static size_t echo_data(struct p2p_stream *st, const uint8_t *p, size_t n)
{
	ssize_t w = p2p_stream_write(st, p, n);
	return w > 0 ? (size_t)w : 0;
}
static void echo_writable(struct p2p_stream *st) { p2p_stream_resume(st); }
static void echo_fin(struct p2p_stream *st) { p2p_stream_close_write(st); }
static const struct p2p_stream_handler echo_server = {
	.on_data = echo_data, .on_writable = echo_writable, .on_fin = echo_fin,
};

struct bulk {
	size_t sent, received;
	bool fin_sent;
};
static int bulk_done;
static uint8_t bulk_chunk[65536];

static void bulk_pump(struct p2p_stream *st)
{
	struct bulk *b = p2p_stream_user(st);
	while (b->sent < ECHO_BYTES) {
		size_t n = ECHO_BYTES - b->sent < sizeof bulk_chunk ? ECHO_BYTES - b->sent : sizeof bulk_chunk;
		ssize_t w = p2p_stream_write(st, bulk_chunk, n);
		if (w <= 0)
			return;
		b->sent += (size_t)w;
	}
	if (!b->fin_sent) {
		b->fin_sent = true;
		p2p_stream_close_write(st);
	}
}
static size_t bulk_data(struct p2p_stream *st, const uint8_t *p, size_t n)
{
	((struct bulk *)p2p_stream_user(st))->received += n;
	return n;
}
static void bulk_close(struct p2p_stream *st, int err)
{
	struct bulk *b = p2p_stream_user(st);
	if (err == 0 && b->received == ECHO_BYTES)
		bulk_done++;
	free(b);
}
static const struct p2p_stream_handler bulk_client = {
	.on_data = bulk_data, .on_writable = bulk_pump, .on_close = bulk_close,
};

/* 32 streams of 2 MiB each echoed through one connection, both directions busy at once.
 * (The read-pause deadlock fixed in conn.c needed two processes racing and does not show
 * up in one loop; tests/integration/p2p_echo covers that shape across processes.) */
static void test_host_echo_on_32_streams(void **state)
{
	setup_pair(NULL);
	assert_int_equal(p2p_host_set_handler(P->a, "/echo/1.0.0", &echo_server, NULL), 0);
	const struct p2p_peer_id *a_id = p2p_host_peer_id(P->a);
	assert_int_equal(p2p_host_dial(P->b, a_id, &P->a_addr, 1, on_dialled, NULL), 0);
	assert_true(run_until(&P->loop, &P->dial_ok, 1));
	bulk_done = 0;
	static const char *const protos[] = { "/echo/1.0.0" };
	for (int i = 0; i < ECHO_STREAMS; i++) {
		struct p2p_stream *st;
		assert_int_equal(p2p_host_new_stream(P->b, a_id, protos, 1, &bulk_client,
						     calloc(1, sizeof(struct bulk)), &st), 0);
		bulk_pump(st);
	}
	assert_true(run_until(&P->loop, &bulk_done, ECHO_STREAMS));
	teardown_pair();
}

static size_t nop_data(struct p2p_stream *st, const uint8_t *p, size_t n) { return n; }
static const struct p2p_stream_handler nop = { .on_data = nop_data };

static void test_host_handler_registry(void **state)
{
	setup_pair(NULL);
	size_t n;
	const char *const *protos = p2p_host_protocols(P->a, &n);
	assert_int_equal(n, 1);
	assert_string_equal(protos[0], P2P_PING_PROTOCOL_ID);
	assert_int_equal(p2p_host_set_handler(P->a, "/x/1", &nop, NULL), 0);
	assert_int_equal(p2p_host_set_handler(P->a, "/x/1", &nop, NULL), 0); /* replaces */
	protos = p2p_host_protocols(P->a, &n);
	assert_int_equal(n, 2);
	assert_int_equal(p2p_host_set_handler(P->a, "", &nop, NULL), AA_EINVAL);
	p2p_host_remove_handler(P->a, "/x/1");
	p2p_host_protocols(P->a, &n);
	assert_int_equal(n, 1);
	teardown_pair();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_concurrent_dials_share_one_connection),
		cmocka_unit_test(test_host_dial_falls_back_to_the_next_address),
		cmocka_unit_test(test_host_dial_to_wrong_peer_fails_with_crypto_error),
		cmocka_unit_test(test_host_ping_and_disconnect_notifications),
		cmocka_unit_test(test_host_refuses_beyond_max_connections),
		cmocka_unit_test(test_host_closes_idle_connections),
		cmocka_unit_test(test_host_handler_registry),
		cmocka_unit_test(test_host_echo_on_32_streams),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
