/* Unit tests for p2p/mdns, the discovery service on a libuv loop: configuration checks, the
 * asynchronous close, and two services on one loop finding each other (and not themselves)
 * over loopback multicast in a private network namespace, when the test may create one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "base/err.h"
#include "p2p/keys.h"
#include "p2p/mdns.h"

struct node {
	char id_text[P2P_PEER_ID_STRING_MAX];
	struct p2p_peer_id id;
	struct multiaddr addr;
	struct mdns_service *mdns;
	struct node *other;
	int found_other, found_self;
	bool addr_ok;
};

static void make_node(struct node *n, uint8_t seed_byte, const char *addr)
{
	memset(n, 0, sizeof *n);
	uint8_t seed[P2P_ED25519_SEED_BYTES] = { seed_byte };
	struct p2p_keypair kp;
	p2p_keypair_from_seed(seed, &kp);
	p2p_peer_id_from_public_key(kp.public_key, &n->id);
	assert_true(p2p_peer_id_to_string(&n->id, n->id_text, sizeof n->id_text) > 0);
	assert_int_equal(multiaddr_parse(addr, &n->addr, NULL), 0);
}

static size_t node_addrs(void *user, const struct multiaddr **addrs)
{
	struct node *n = user;
	*addrs = &n->addr;
	return 1;
}

static void node_found(void *user, const struct p2p_peer_id *peer, const struct multiaddr *addrs,
		       size_t n_addrs)
{
	struct node *n = user;
	if (p2p_peer_id_equal(peer, &n->id)) {
		n->found_self++;
		return;
	}
	if (p2p_peer_id_equal(peer, &n->other->id)) {
		n->found_other++;
		n->addr_ok = n_addrs == 1 && multiaddr_equal(&addrs[0], &n->other->addr);
	}
}

static void count_close(void *arg)
{
	(*(int *)arg)++;
}

static struct mdns_config config_for(struct node *n, bool enabled)
{
	struct mdns_config c = {
		.peer_id = n->id_text,
		.listen_addrs = node_addrs,
		.query_interval_ms = 300,
		.enabled = enabled,
		.ipv6 = true,
	};
	return c;
}

static void test_service_rejects_a_bad_config(void **state)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct node n;
	make_node(&n, 1, "/ip4/127.0.0.1/tcp/1");
	struct mdns_service *s = (struct mdns_service *)&n;
	struct mdns_config c = config_for(&n, true);
	c.peer_id = "not-a-peer-id";
	assert_int_equal(mdns_service_new(&loop, &c, node_found, &n, &s), AA_EINVAL);
	assert_null(s);
	c = config_for(&n, true);
	c.listen_addrs = NULL;
	assert_int_equal(mdns_service_new(&loop, &c, node_found, &n, &s), AA_EINVAL);
	c = config_for(&n, true);
	assert_int_equal(mdns_service_new(&loop, &c, NULL, &n, &s), AA_EINVAL);
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
	multiaddr_free(&n.addr);
}

static void test_disabled_service_opens_nothing_and_closes_asynchronously(void **state)
{
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct node n;
	make_node(&n, 1, "/ip4/127.0.0.1/tcp/1");
	struct mdns_config c = config_for(&n, false);
	c.peer_id = NULL; /* not needed when disabled */
	struct mdns_service *s;
	assert_int_equal(mdns_service_new(&loop, &c, NULL, NULL, &s), 0);
	int closed = 0;
	mdns_service_close(s, count_close, &closed);
	assert_int_equal(closed, 0); /* only once the loop has run the close callbacks */
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(closed, 1);
	assert_int_equal(uv_loop_close(&loop), 0);
	multiaddr_free(&n.addr);
}

/* Moves this test process into a fresh network namespace whose loopback is up and
 * multicast-capable, so the services below talk to nobody else. */
static bool private_multicast_loopback(void)
{
	if (unshare(CLONE_NEWNET) != 0)
		return false;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	bool ok = fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
	ifr.ifr_flags |= IFF_UP | IFF_MULTICAST;
	ok = ok && ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

struct pair {
	struct node *a, *b;
	uv_timer_t timer;
	int ticks;
};

static void on_tick(uv_timer_t *t)
{
	struct pair *p = t->data;
	/* Done when both found each other and heard a few rounds (self-echoes included). */
	if ((p->a->found_other > 1 && p->b->found_other > 1) || ++p->ticks > 100) {
		uv_timer_stop(t);
		uv_close((uv_handle_t *)t, NULL);
		mdns_service_close(p->a->mdns, NULL, NULL);
		mdns_service_close(p->b->mdns, NULL, NULL);
	}
}

static void test_two_services_find_each_other_and_ignore_themselves(void **state)
{
	if (!private_multicast_loopback())
		skip(); /* needs CAP_SYS_ADMIN; integration/mdns covers it with unshare(1) */
	uv_loop_t loop;
	uv_loop_init(&loop);
	struct node a, b;
	make_node(&a, 1, "/ip4/127.0.0.1/tcp/4001");
	make_node(&b, 2, "/ip6/::1/udp/4002/quic-v1");
	a.other = &b;
	b.other = &a;
	struct mdns_config ca = config_for(&a, true), cb = config_for(&b, true);
	assert_int_equal(mdns_service_new(&loop, &ca, node_found, &a, &a.mdns), 0);
	assert_int_equal(mdns_service_new(&loop, &cb, node_found, &b, &b.mdns), 0);
	assert_string_not_equal(mdns_service_instance(a.mdns), mdns_service_instance(b.mdns));
	struct pair p = { .a = &a, .b = &b };
	uv_timer_init(&loop, &p.timer);
	p.timer.data = &p;
	uv_timer_start(&p.timer, on_tick, 50, 50); /* gives up after ~5 s */
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_true(a.found_other > 0 && b.found_other > 0);
	assert_true(a.addr_ok && b.addr_ok);
	assert_int_equal(a.found_self + b.found_self, 0);
	multiaddr_free(&a.addr);
	multiaddr_free(&b.addr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_service_rejects_a_bad_config),
		cmocka_unit_test(test_disabled_service_opens_nothing_and_closes_asynchronously),
		cmocka_unit_test(test_two_services_find_each_other_and_ignore_themselves),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
