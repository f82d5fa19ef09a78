/* Unit tests for a2a/: two or three nodes on one libuv loop, each with its own p2p host
 * listening on 127.0.0.1 and its own LMDB store in a temporary directory, talking over real
 * loopback connections. Each test runs the loop until its condition holds, bounded by a
 * deadline. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "a2a/a2a.h"
#include "a2a/frame.h"
#include "a2a/pb.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "p2p/host.h"
#include "store/store.h"
#include "tmpdir.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#define NNODES 3
#define MAX_IDS 512

struct node_fx {
	bool up;
	struct p2p_keypair key;
	struct p2p_peer_id id;
	struct p2p_host *host;
	struct store *store;
	struct a2a_node *a2a;
	char path[128];
	struct multiaddr addr;
	bool have_addr;
};

struct fx {
	uv_loop_t loop;
	char dir[64];
	struct a2a_config cfg;
	struct node_fx n[NNODES];
	int closed;
	uint64_t queue_max_per_peer; /* for the stores of nodes started from now on; 0: default */
};

static struct fx *F;

/* ---- loop helpers ------------------------------------------------------------------------ */

static void on_deadline(uv_timer_t *t) { uv_stop(t->loop); }

typedef bool (*pred_fn)(void *arg);

static bool run_pred(pred_fn pred, void *arg, unsigned ms)
{
	uv_timer_t deadline;
	uv_timer_init(&F->loop, &deadline);
	uv_timer_start(&deadline, on_deadline, ms, 0);
	while (!pred(arg) && uv_timer_get_due_in(&deadline) > 0)
		uv_run(&F->loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&deadline, NULL);
	uv_run(&F->loop, UV_RUN_NOWAIT);
	return pred(arg);
}

struct count_goal {
	const int *v;
	int want;
};

static bool count_reached(void *arg)
{
	struct count_goal *g = arg;
	return *g->v >= g->want;
}

static bool run_until(const int *v, int want, unsigned ms)
{
	struct count_goal g = { v, want };
	return run_pred(count_reached, &g, ms);
}

static bool never(void *arg) { return false; }

/* Runs the loop for ms whatever happens. */
static void run_for(unsigned ms)
{
	run_pred(never, NULL, ms);
}

/* ---- nodes ---------------------------------------------------------------------------------- */

static void node_start(int i)
{
	struct node_fx *x = &F->n[i];
	struct p2p_host_config hc;
	p2p_host_config_default(&hc);
	hc.identity = &x->key;
	assert_int_equal(p2p_host_new(&F->loop, &hc, &x->host), 0);
	struct multiaddr ma;
	assert_int_equal(multiaddr_parse("/ip4/127.0.0.1/tcp/0", &ma, NULL), 0);
	assert_int_equal(p2p_host_listen(x->host, &ma), 0);
	multiaddr_free(&ma);
	struct multiaddr *addrs;
	size_t na;
	assert_int_equal(p2p_host_listen_addrs(x->host, &addrs, &na), 0);
	assert_int_equal(na, 1);
	if (x->have_addr)
		multiaddr_free(&x->addr);
	x->addr = addrs[0];
	x->have_addr = true;
	free(addrs);

	struct store_options so;
	store_options_default(&so);
	so.path = x->path;
	so.lock_wait_ms = 0;
	if (F->queue_max_per_peer)
		so.queue_max_per_peer = F->queue_max_per_peer;
	char err[256];
	assert_int_equal(store_open(&F->loop, &so, &x->store, err, sizeof err), 0);
	assert_int_equal(a2a_node_new(&F->loop, x->host, x->store, &x->key, &F->cfg, &x->a2a), 0);
	x->up = true;
}

static void on_closed(void *u) { F->closed++; }

static void node_stop(int i)
{
	struct node_fx *x = &F->n[i];
	if (!x->up)
		return;
	int before = F->closed;
	a2a_node_close(x->a2a, on_closed, NULL);
	assert_true(run_until(&F->closed, before + 1, 5000));
	store_close(x->store, on_closed, NULL);
	p2p_host_close(x->host, on_closed, NULL);
	assert_true(run_until(&F->closed, before + 3, 5000));
	x->up = false;
	x->a2a = NULL;
}

static void setup_nodes(int count, const struct a2a_config *cfg)
{
	F = calloc(1, sizeof *F);
	assert_int_equal(uv_loop_init(&F->loop), 0);
	snprintf(F->dir, sizeof F->dir, "/tmp/test_a2a-XXXXXX");
	assert_non_null(mkdtemp(F->dir));
	if (cfg)
		F->cfg = *cfg;
	else
		a2a_config_default(&F->cfg);
	for (int i = 0; i < count; i++) {
		p2p_keypair_generate(&F->n[i].key);
		p2p_peer_id_from_public_key(F->n[i].key.public_key, &F->n[i].id);
		snprintf(F->n[i].path, sizeof F->n[i].path, "%s/node%d", F->dir, i);
		node_start(i);
	}
}

static void teardown_nodes(void)
{
	for (int i = 0; i < NNODES; i++)
		node_stop(i);
	uv_run(&F->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&F->loop), 0);
	for (int i = 0; i < NNODES; i++)
		if (F->n[i].have_addr)
			multiaddr_free(&F->n[i].addr);
	test_rm_tree(F->dir);
	free(F);
	F = NULL;
}

#define A (F->n[0].a2a)
#define B (F->n[1].a2a)

/* ---- messages and cards ------------------------------------------------------------------- */

struct tmsg {
	Agentanycast__V1__Message m;
	Agentanycast__V1__Part part;
	Agentanycast__V1__Part *parts[1];
	Agentanycast__V1__TextPart text;
};

static const Agentanycast__V1__Message *text_msg(struct tmsg *t, const char *s)
{
	Agentanycast__V1__Message m = AGENTANYCAST__V1__MESSAGE__INIT;
	Agentanycast__V1__Part part = AGENTANYCAST__V1__PART__INIT;
	Agentanycast__V1__TextPart text = AGENTANYCAST__V1__TEXT_PART__INIT;
	t->m = m;
	t->part = part;
	t->text = text;
	t->text.text = (char *)s;
	t->part.content_case = AGENTANYCAST__V1__PART__CONTENT_TEXT_PART;
	t->part.text_part = &t->text;
	t->parts[0] = &t->part;
	t->m.message_id = (char *)"m-1";
	t->m.role = AGENTANYCAST__V1__MESSAGE_ROLE__MESSAGE_ROLE_USER;
	t->m.n_parts = 1;
	t->m.parts = t->parts;
	return &t->m;
}

static const char *msg_text(const Agentanycast__V1__Message *m)
{
	if (!m || m->n_parts == 0 || m->parts[0]->content_case != AGENTANYCAST__V1__PART__CONTENT_TEXT_PART)
		return NULL;
	return m->parts[0]->text_part->text;
}

static int done_count, done_err;

static void on_done(void *user, int err)
{
	done_count++;
	if (err)
		done_err = err;
}

static void set_card(int i, const char *name)
{
	Agentanycast__V1__AgentCard c = AGENTANYCAST__V1__AGENT_CARD__INIT;
	c.name = (char *)name;
	c.description = (char *)"test agent";
	c.version = (char *)"1.0";
	int before = done_count;
	assert_int_equal(a2a_set_agent_card(F->n[i].a2a, &c, on_done, NULL), 0);
	assert_true(run_until(&done_count, before + 1, 5000));
	assert_int_equal(done_err, 0);
}

static int connected_count, connect_err;
static bool card_seen_in_cb;
static int connect_from, connect_to;

static void on_connected_peer(void *user, int err)
{
	connected_count++;
	connect_err = err;
	card_seen_in_cb = a2a_peer_card(F->n[connect_from].a2a, &F->n[connect_to].id) != NULL;
}

static void connect_nodes(int i, int j)
{
	int before = connected_count;
	connect_from = i;
	connect_to = j;
	assert_int_equal(a2a_connect_peer(F->n[i].a2a, &F->n[j].id, &F->n[j].addr, 1,
					  on_connected_peer, NULL), 0);
	assert_true(run_until(&connected_count, before + 1, 5000));
	assert_int_equal(connect_err, 0);
}

struct card_goal {
	int i, j;
	const char *name;
};

static bool has_card(void *arg)
{
	struct card_goal *g = arg;
	const Agentanycast__V1__AgentCard *c = a2a_peer_card(F->n[g->i].a2a, &F->n[g->j].id);
	return c && strcmp(c->name, g->name) == 0;
}

static bool wait_card(int i, int j, const char *name)
{
	struct card_goal g = { i, j, name };
	return run_pred(has_card, &g, 5000);
}

/* ---- subscription recorders ---------------------------------------------------------------- */

struct recorder {
	int incoming;
	char *incoming_ids[MAX_IDS];
	char *incoming_text[MAX_IDS];
	char *incoming_card[MAX_IDS];
	int updates;
	int statuses[64];
	char *update_text[64];
	size_t update_artifacts[64];
	int ended, end_err;
	/* on incoming: what to do */
	struct a2a_node *autocomplete;
};

static void rec_clear(struct recorder *r)
{
	for (int i = 0; i < r->incoming && i < MAX_IDS; i++) {
		free(r->incoming_ids[i]);
		free(r->incoming_text[i]);
		free(r->incoming_card[i]);
	}
	for (int i = 0; i < r->updates && i < 64; i++)
		free(r->update_text[i]);
	memset(r, 0, sizeof *r);
}

static void rec_incoming(void *user, const struct a2a_incoming_event *ev)
{
	struct recorder *r = user;
	if (r->incoming < MAX_IDS) {
		r->incoming_ids[r->incoming] = strdup(ev->task->task_id);
		const char *t = ev->task->n_messages ? msg_text(ev->task->messages[0]) : NULL;
		r->incoming_text[r->incoming] = t ? strdup(t) : NULL;
		r->incoming_card[r->incoming] = ev->sender_card ? strdup(ev->sender_card->name) : NULL;
	}
	assert_int_equal(ev->task->status, AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_SUBMITTED);
	r->incoming++;
	if (r->autocomplete)
		assert_int_equal(a2a_complete_task(r->autocomplete, ev->task->task_id, NULL, 0, NULL, NULL, NULL), 0);
}

static void rec_update(void *user, const struct a2a_update_event *ev)
{
	struct recorder *r = user;
	if (r->updates < 64) {
		r->statuses[r->updates] = ev->status;
		const char *t = msg_text(ev->message);
		r->update_text[r->updates] = t ? strdup(t) : NULL;
		r->update_artifacts[r->updates] = ev->nartifacts;
	}
	r->updates++;
}

static void rec_end(void *user, int err)
{
	struct recorder *r = user;
	r->ended++;
	r->end_err = err;
}

static const struct a2a_sub_callbacks rec_cbs = {
	.on_incoming = rec_incoming,
	.on_update = rec_update,
	.on_end = rec_end,
};

/* ---- sending ---------------------------------------------------------------------------------- */

struct sent {
	int count, err;
	char ids[MAX_IDS][40];
};

static void on_sent(void *user, int err, const Agentanycast__V1__Task *t)
{
	struct sent *s = user;
	if (err) {
		s->err = err;
	} else {
		/* SUBMITTED, or already further: the envelope leaves before the creation commits
		 * (router.c, eager sending), so a fast peer may have answered by then. */
		assert_true(t->status != AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_UNSPECIFIED);
		assert_string_equal(t->originator_peer_id, A2A_ORIGINATOR_LOCAL);
		if (s->count < MAX_IDS)
			snprintf(s->ids[s->count], sizeof s->ids[0], "%s", t->task_id);
	}
	s->count++;
}

/* A sends one task to B and waits for its commit; returns the task id. */
static const char *send_one(int from, int to, const char *text, struct sent *s)
{
	struct tmsg t;
	int before = s->count;
	assert_int_equal(a2a_send_task(F->n[from].a2a, &F->n[to].id, NULL, text_msg(&t, text), on_sent, s), 0);
	assert_true(run_until(&s->count, before + 1, 5000));
	assert_int_equal(s->err, 0);
	return s->ids[before];
}

static int status_of(struct a2a_node *n, const char *id)
{
	const Agentanycast__V1__Task *t = a2a_get_task(n, id);
	return t ? (int)t->status : -1;
}

struct status_goal {
	struct a2a_node *n;
	const char *id;
	int status;
};

static bool status_is(void *arg)
{
	struct status_goal *g = arg;
	return status_of(g->n, g->id) == g->status;
}

static bool wait_status(struct a2a_node *n, const char *id, int status)
{
	struct status_goal g = { n, id, status };
	return run_pred(status_is, &g, 5000);
}

/* ---- raw streams (hostile input) ------------------------------------------------------------ */

struct raw {
	uint8_t *buf;
	size_t len, off;
	bool opened, fin;
	int closed, close_err;
};

static void raw_flush(struct p2p_stream *st)
{
	struct raw *r = p2p_stream_user(st);
	while (r->off < r->len) {
		ssize_t w = p2p_stream_write(st, r->buf + r->off, r->len - r->off);
		if (w <= 0)
			return;
		r->off += (size_t)w;
	}
	if (r->opened && !r->fin) {
		r->fin = true;
		p2p_stream_close_write(st);
	}
}

static void raw_open(struct p2p_stream *st)
{
	struct raw *r = p2p_stream_user(st);
	r->opened = true;
	raw_flush(st);
}

static size_t raw_data(struct p2p_stream *st, const uint8_t *p, size_t n) { return n; }

static void raw_close(struct p2p_stream *st, int err)
{
	struct raw *r = p2p_stream_user(st);
	r->closed++;
	r->close_err = err;
}

static const struct p2p_stream_handler raw_handler = {
	.on_open = raw_open, .on_data = raw_data, .on_writable = raw_flush, .on_close = raw_close,
};

/* Writes bytes on a new stream of proto from node i to node j; waits for the stream's end. */
static int raw_send(int i, int j, const char *proto, const void *bytes, size_t len)
{
	struct raw r = { 0 };
	r.buf = malloc(len ? len : 1);
	memcpy(r.buf, bytes, len);
	r.len = len;
	const char *protos[1] = { proto };
	struct p2p_stream *st;
	assert_int_equal(p2p_host_new_stream(F->n[i].host, &F->n[j].id, protos, 1, &raw_handler, &r, &st), 0);
	raw_flush(st);
	assert_true(run_until(&r.closed, 1, 5000));
	free(r.buf);
	return r.close_err;
}

static void frame_bytes(struct aa_buf *out, const ProtobufCMessage *m)
{
	struct aa_buf payload;
	aa_buf_init(&payload);
	a2a_pb_pack(m, &payload);
	a2a_frame_write(out, aa_slice_make(payload.p, payload.n));
	aa_buf_free(&payload);
}

static struct a2a_stats stats_of(struct a2a_node *n)
{
	struct a2a_stats s;
	a2a_node_stats(n, &s);
	return s;
}

struct stat_goal {
	struct a2a_node *n;
	size_t offset;
	uint64_t want;
};

static bool stat_reached(void *arg)
{
	struct stat_goal *g = arg;
	struct a2a_stats s = stats_of(g->n);
	return *(uint64_t *)((char *)&s + g->offset) >= g->want;
}

#define WAIT_STAT(node, field, value)                                                        \
	do {                                                                                 \
		struct stat_goal g_ = { (node), offsetof(struct a2a_stats, field), (value) }; \
		assert_true(run_pred(stat_reached, &g_, 5000));                              \
	} while (0)

/* ---- cards ------------------------------------------------------------------------------------ */

static void test_a2a_cards_are_exchanged_both_ways_on_connect(void **state)
{
	setup_nodes(2, NULL);
	set_card(0, "alice");
	set_card(1, "bob");
	connect_nodes(0, 1);
	/* ConnectPeer returns only once the card is in (DECISIONS, issue 4). */
	assert_true(card_seen_in_cb);
	const Agentanycast__V1__AgentCard *c = a2a_peer_card(A, &F->n[1].id);
	assert_string_equal(c->name, "bob");
	char idtext[P2P_PEER_ID_STRING_MAX];
	p2p_peer_id_to_string(&F->n[1].id, idtext, sizeof idtext);
	assert_non_null(c->p2p_extension);
	assert_string_equal(c->p2p_extension->peer_id, idtext);
	assert_memory_equal(c->p2p_extension->did_key, "did:key:z6Mk", 12);
	assert_true(wait_card(1, 0, "alice"));
	assert_true(stats_of(A).cards_received >= 1);
	teardown_nodes();
}

static void test_a2a_set_agent_card_is_pushed_to_connected_peers(void **state)
{
	setup_nodes(2, NULL);
	connect_nodes(0, 1); /* no cards yet: nothing to exchange */
	assert_null(a2a_peer_card(A, &F->n[1].id));
	assert_null(a2a_own_card(B));
	set_card(1, "bob");
	assert_non_null(a2a_own_card(B));
	assert_true(wait_card(0, 1, "bob"));
	set_card(1, "bob v2");
	assert_true(wait_card(0, 1, "bob v2"));
	set_card(0, "alice");
	assert_true(wait_card(1, 0, "alice"));
	teardown_nodes();
}

static void test_a2a_cards_survive_restart(void **state)
{
	setup_nodes(2, NULL);
	set_card(0, "alice");
	set_card(1, "bob");
	connect_nodes(0, 1);
	assert_true(wait_card(1, 0, "alice"));
	node_stop(1);
	node_start(1);
	assert_string_equal(a2a_own_card(B)->name, "bob");
	assert_string_equal(a2a_peer_card(B, &F->n[0].id)->name, "alice");
	teardown_nodes();
}

/* ---- tasks ------------------------------------------------------------------------------------ */

static void test_a2a_sent_task_reaches_incoming_subscriber_with_sender_card(void **state)
{
	setup_nodes(2, NULL);
	set_card(0, "alice");
	set_card(1, "bob");
	connect_nodes(0, 1);
	assert_true(wait_card(1, 0, "alice"));
	struct recorder rb = { 0 };
	struct a2a_sub *sb = a2a_subscribe_incoming(B, &rec_cbs, &rb);
	assert_non_null(sb);
	struct sent s = { 0 };
	const char *id = send_one(0, 1, "hello bob", &s);
	assert_true(run_until(&rb.incoming, 1, 5000));
	assert_string_equal(rb.incoming_ids[0], id);
	assert_string_equal(rb.incoming_text[0], "hello bob");
	assert_string_equal(rb.incoming_card[0], "alice");
	/* Both ends track the task under the same id (REFERENCE C.2). */
	const Agentanycast__V1__Task *tb = a2a_get_task(B, id);
	assert_non_null(tb);
	char idtext[P2P_PEER_ID_STRING_MAX];
	p2p_peer_id_to_string(&F->n[0].id, idtext, sizeof idtext);
	assert_string_equal(tb->originator_peer_id, idtext);
	assert_int_equal(a2a_get_task(A, id)->n_messages, 1);
	WAIT_STAT(A, acks_in, 1);
	struct a2a_stats sa = stats_of(A), sbs = stats_of(B);
	assert_int_equal(sa.tasks_sent, 1);
	assert_int_equal(sbs.tasks_received, 1);
	a2a_unsubscribe(sb);
	assert_int_equal(rb.ended, 1);
	teardown_nodes();
	rec_clear(&rb);
}

static void test_a2a_complete_from_submitted_gives_working_then_completed_with_artifact(void **state)
{
	setup_nodes(2, NULL);
	connect_nodes(0, 1);
	struct recorder rb = { 0 }, ra = { 0 };
	a2a_subscribe_incoming(B, &rec_cbs, &rb);
	struct sent s = { 0 };
	const char *id = send_one(0, 1, "work please", &s);
	a2a_subscribe_updates(A, id, &rec_cbs, &ra);
	assert_true(run_until(&rb.incoming, 1, 5000));

	Agentanycast__V1__TextPart text = AGENTANYCAST__V1__TEXT_PART__INIT;
	text.text = (char *)"the result";
	Agentanycast__V1__Part part = AGENTANYCAST__V1__PART__INIT;
	part.content_case = AGENTANYCAST__V1__PART__CONTENT_TEXT_PART;
	part.text_part = &text;
	Agentanycast__V1__Part *parts[1] = { &part };
	Agentanycast__V1__Artifact art = AGENTANYCAST__V1__ARTIFACT__INIT;
	art.artifact_id = (char *)"art-1";
	art.name = (char *)"result";
	art.n_parts = 1;
	art.parts = parts;
	Agentanycast__V1__Artifact *arts[1] = { &art };
	int before = done_count;
	assert_int_equal(a2a_complete_task(B, id, arts, 1, NULL, on_done, NULL), 0);
	assert_true(run_until(&done_count, before + 1, 5000));
	assert_int_equal(done_err, 0);
	assert_int_equal(status_of(B, id), AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_COMPLETED);

	/* DECISIONS 1 and 2: WORKING first, then COMPLETED carrying the artifact. */
	assert_true(run_until(&ra.updates, 2, 5000));
	assert_int_equal(ra.statuses[0], AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_WORKING);
	assert_int_equal(ra.statuses[1], AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_COMPLETED);
	assert_int_equal(ra.update_artifacts[1], 1);
	/* DECISIONS 3: GetTask keeps messages and artifacts. */
	const Agentanycast__V1__Task *t = a2a_get_task(A, id);
	assert_int_equal(t->status, AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_COMPLETED);
	assert_int_equal(t->n_messages, 1);
	assert_int_equal(t->n_artifacts, 1);
	assert_string_equal(t->artifacts[0]->artifact_id, "art-1");
	assert_int_equal(a2a_get_task(B, id)->n_artifacts, 1);
	run_for(100);
	assert_int_equal(ra.updates, 2); /* one event per transition */
	teardown_nodes();
	rec_clear(&ra);
	rec_clear(&rb);
}

static void test_a2a_fail_task_error_text_reaches_originator(void **state)
{
	setup_nodes(2, NULL);
	connect_nodes(0, 1);
	struct recorder ra = { 0 };
	struct sent s = { 0 };
	const char *id = send_one(0, 1, "fail please", &s);
	a2a_subscribe_updates(A, id, &rec_cbs, &ra);
	assert_true(wait_status(B, id, AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_SUBMITTED));
	assert_int_equal(a2a_fail_task(B, id, "boom: disk on fire", NULL, NULL), 0);
	assert_true(run_until(&ra.updates, 2, 5000));
	assert_int_equal(ra.statuses[0], AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_WORKING);
	assert_int_equal(ra.statuses[1], AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_FAILED);
	assert_string_equal(ra.update_text[1], "boom: disk on fire");
	assert_int_equal(status_of(A, id), AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_FAILED);
	teardown_nodes();
	rec_clear(&ra);
}

static struct {
	int count, err, status;
} cancel_res;

static void on_canceled(void *user, int err, const Agentanycast__V1__Task *t)
{
	cancel_res.count++;
	cancel_res.err = err;
	cancel_res.status = t ? (int)t->status : -1;
}

static void test_a2a_cancel_by_originator_reaches_executor(void **state)
{
	setup_nodes(2, NULL);
	connect_nodes(0, 1);
	struct recorder rb = { 0 };
	struct sent s = { 0 };
	const char *id = send_one(0, 1, "cancel me", &s);
	assert_true(wait_status(B, id, AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_SUBMITTED));
	a2a_subscribe_updates(B, id, &rec_cbs, &rb);
	memset(&cancel_res, 0, sizeof cancel_res);
	assert_int_equal(a2a_cancel_task(A, id, on_canceled, NULL), 0);
	assert_true(run_until(&cancel_res.count, 1, 5000));
	assert_int_equal(cancel_res.err, 0);
	assert_int_equal(cancel_res.status, AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_CANCELED);
	assert_true(run_until(&rb.updates, 1, 5000));
	assert_int_equal(rb.statuses[0], AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_CANCELED);
	assert_int_equal(status_of(B, id), AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_CANCELED);
	/* Terminal: a second cancel is refused. */
	assert_int_equal(a2a_cancel_task(A, id, on_canceled, NULL), AA_ESTATE);
	teardown_nodes();
	rec_clear(&rb);
}

static void test_a2a_cancel_by_executor_fails_task_at_originator(void **state)
{
	setup_nodes(2, NULL);
	connect_nodes(0, 1);
	struct recorder ra = { 0 };
	struct sent s = { 0 };
	const char *id = send_one(0, 1, "will be canceled", &s);
	a2a_subscribe_updates(A, id, &rec_cbs, &ra);
	assert_true(wait_status(B, id, AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_SUBMITTED));
	assert_int_equal(a2a_update_task_status(B, id, AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_WORKING,
						NULL, NULL, NULL), 0);
	memset(&cancel_res, 0, sizeof cancel_res);
	assert_int_equal(a2a_cancel_task(B, id, on_canceled, NULL), 0);
	assert_true(run_until(&cancel_res.count, 1, 5000));
	assert_int_equal(cancel_res.status, AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_CANCELED);
	/* REFERENCE C.5: the originator sees a failure "canceled by local node". */
	assert_true(run_until(&ra.updates, 2, 5000));
	assert_int_equal(ra.statuses[0], AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_WORKING);
	assert_int_equal(ra.statuses[1], AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_FAILED);
	assert_string_equal(ra.update_text[1], "canceled by local node");
	teardown_nodes();
	rec_clear(&ra);
}

static void test_a2a_input_required_then_working_then_completed(void **state)
{
	setup_nodes(2, NULL);
	connect_nodes(0, 1);
	struct recorder ra = { 0 };
	struct sent s = { 0 };
	const char *id = send_one(0, 1, "need input", &s);
	a2a_subscribe_updates(A, id, &rec_cbs, &ra);
	assert_true(wait_status(B, id, AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_SUBMITTED));
	struct tmsg q, m;
	assert_int_equal(a2a_update_task_status(B, id, AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_WORKING, NULL, NULL, NULL), 0);
	assert_int_equal(a2a_update_task_status(B, id, AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_INPUT_REQUIRED,
						text_msg(&q, "which colour?"), NULL, NULL), 0);
	assert_int_equal(a2a_update_task_status(B, id, AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_WORKING, NULL, NULL, NULL), 0);
	assert_int_equal(a2a_complete_task(B, id, NULL, 0, text_msg(&m, "done"), NULL, NULL), 0);
	assert_true(run_until(&ra.updates, 4, 5000));
	assert_int_equal(ra.statuses[0], AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_WORKING);
	assert_int_equal(ra.statuses[1], AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_INPUT_REQUIRED);
	assert_string_equal(ra.update_text[1], "which colour?");
	assert_int_equal(ra.statuses[2], AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_WORKING);
	assert_int_equal(ra.statuses[3], AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_COMPLETED);
	assert_string_equal(ra.update_text[3], "done");
	/* The originator's record holds the request and both agent messages. */
	assert_int_equal(a2a_get_task(A, id)->n_messages, 3);
	teardown_nodes();
	rec_clear(&ra);
}

static void test_a2a_invalid_transitions_are_refused(void **state)
{
	setup_nodes(2, NULL);
	connect_nodes(0, 1);
	struct sent s = { 0 };
	const char *id = send_one(0, 1, "x", &s);
	assert_true(wait_status(B, id, AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_SUBMITTED));
	assert_int_equal(a2a_update_task_status(B, "no-such-task", AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_WORKING,
						NULL, NULL, NULL), AA_ENOENT);
	assert_int_equal(a2a_update_task_status(B, id, AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_INPUT_REQUIRED,
						NULL, NULL, NULL), AA_ESTATE);
	assert_int_equal(a2a_complete_task(B, id, NULL, 0, NULL, NULL, NULL), 0);
	assert_int_equal(a2a_fail_task(B, id, "late", NULL, NULL), AA_ESTATE);
	assert_int_equal(a2a_update_task_status(B, id, AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_WORKING,
						NULL, NULL, NULL), AA_ESTATE);
	assert_int_equal(a2a_cancel_task(B, "", on_canceled, NULL), AA_EINVAL);
	assert_null(a2a_get_task(A, "no-such-task"));
	struct tmsg t;
	assert_int_equal(a2a_send_task(A, &F->n[0].id, NULL, text_msg(&t, "self"), on_sent, &s), AA_EINVAL);
	assert_int_equal(a2a_send_task(A, &F->n[1].id, NULL, NULL, on_sent, &s), AA_EINVAL);
	teardown_nodes();
}

static void test_a2a_incoming_tasks_wait_for_the_first_subscriber(void **state)
{
	setup_nodes(2, NULL);
	connect_nodes(0, 1);
	struct sent s = { 0 };
	const char *id = send_one(0, 1, "early", &s);
	WAIT_STAT(A, acks_in, 1);
	struct recorder rb = { 0 };
	a2a_subscribe_incoming(B, &rec_cbs, &rb);
	assert_int_equal(rb.incoming, 0); /* delivered from the loop, after we have the handle */
	assert_true(run_until(&rb.incoming, 1, 5000));
	assert_string_equal(rb.incoming_ids[0], id);
	teardown_nodes();
	rec_clear(&rb);
}

struct pair_goal {
	struct sent *sa, *sb;
	int want;
};

static int completed_count(struct a2a_node *n, struct sent *s)
{
	int c = 0;
	for (int i = 0; i < s->count && i < MAX_IDS; i++)
		c += status_of(n, s->ids[i]) == AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_COMPLETED;
	return c;
}

static bool all_completed(void *arg)
{
	struct pair_goal *g = arg;
	return g->sa->count == g->want && g->sb->count == g->want &&
	       completed_count(A, g->sa) == g->want && completed_count(B, g->sb) == g->want;
}

static void test_a2a_200_tasks_each_way_all_complete(void **state)
{
	setup_nodes(2, NULL);
	connect_nodes(0, 1);
	struct recorder ra = { 0 }, rb = { 0 };
	ra.autocomplete = A;
	rb.autocomplete = B;
	a2a_subscribe_incoming(A, &rec_cbs, &ra);
	a2a_subscribe_incoming(B, &rec_cbs, &rb);
	static struct sent sa, sb;
	memset(&sa, 0, sizeof sa);
	memset(&sb, 0, sizeof sb);
	enum { N = 200 };
	for (int i = 0; i < N; i++) {
		struct tmsg t;
		char text[32];
		snprintf(text, sizeof text, "task %d", i);
		assert_int_equal(a2a_send_task(A, &F->n[1].id, "skill", text_msg(&t, text), on_sent, &sa), 0);
		assert_int_equal(a2a_send_task(B, &F->n[0].id, NULL, text_msg(&t, text), on_sent, &sb), 0);
	}
	struct pair_goal g = { &sa, &sb, N };
	assert_true(run_pred(all_completed, &g, 60000));
	assert_int_equal(sa.err, 0);
	assert_int_equal(sb.err, 0);
	assert_int_equal(ra.incoming, N);
	assert_int_equal(rb.incoming, N);
	/* Sent in order, received in order. */
	for (int i = 0; i < N; i++)
		assert_string_equal(rb.incoming_ids[i], sa.ids[i]);
	/* Every queued envelope is acknowledged and leaves the queue. */
	struct stat_goal q = { A, offsetof(struct a2a_stats, acks_in), 3 * N };
	assert_true(run_pred(stat_reached, &q, 10000));
	teardown_nodes();
	rec_clear(&ra);
	rec_clear(&rb);
}

/* ---- durability ---------------------------------------------------------------------------- */

static bool queue_empty(void *arg)
{
	return stats_of(arg).offline_queue_size == 0;
}

static void test_a2a_offline_queue_survives_restart_and_delivers_in_order(void **state)
{
	setup_nodes(2, NULL);
	set_card(0, "alice");
	connect_nodes(0, 1);
	node_stop(1);
	static struct sent s;
	memset(&s, 0, sizeof s);
	enum { N = 20 };
	for (int i = 0; i < N; i++) {
		struct tmsg t;
		char text[32];
		snprintf(text, sizeof text, "queued %d", i);
		assert_int_equal(a2a_send_task(A, &F->n[1].id, NULL, text_msg(&t, text), on_sent, &s), 0);
	}
	/* Committed (and answered) though the peer is gone. */
	assert_true(run_until(&s.count, N, 5000));
	assert_int_equal(s.err, 0);
	assert_int_equal(stats_of(A).offline_queue_size, N);

	node_start(1); /* same key, same store, a new port */
	struct recorder rb = { 0 };
	a2a_subscribe_incoming(B, &rec_cbs, &rb);
	connect_nodes(1, 0);
	assert_true(run_until(&rb.incoming, N, 10000));
	for (int i = 0; i < N; i++) {
		char want[32];
		snprintf(want, sizeof want, "queued %d", i);
		assert_string_equal(rb.incoming_ids[i], s.ids[i]);
		assert_string_equal(rb.incoming_text[i], want);
		assert_string_equal(rb.incoming_card[i], "alice"); /* the card came back from the store */
	}
	assert_true(run_pred(queue_empty, A, 5000));
	run_for(300);
	assert_int_equal(rb.incoming, N); /* exactly once */
	teardown_nodes();
	rec_clear(&rb);
}

/* Eager sending (router.c): with A's commits held, the first window of envelopes reaches B
 * at once, though no SendTask has been answered; the rest wait for their commit and follow
 * in queue order; every task arrives exactly once and the queue empties. */
static void test_a2a_envelopes_leave_before_their_commit_in_queue_order(void **state)
{
	setup_nodes(2, NULL);
	connect_nodes(0, 1);
	struct recorder rb = { 0 };
	a2a_subscribe_incoming(B, &rec_cbs, &rb);
	static struct sent s;
	memset(&s, 0, sizeof s);
	enum { N = 100, WINDOW = 64 /* A2A_OUT_WINDOW */ };
	store_hold(F->n[0].store, true);
	for (int i = 0; i < N; i++) {
		struct tmsg t;
		char text[32];
		snprintf(text, sizeof text, "eager %d", i);
		assert_int_equal(a2a_send_task(A, &F->n[1].id, NULL, text_msg(&t, text), on_sent, &s), 0);
	}
	assert_true(run_until(&rb.incoming, WINDOW, 5000));
	run_for(200);
	assert_int_equal(rb.incoming, WINDOW); /* the others are not sent before their commit */
	assert_int_equal(s.count, 0);          /* and no answer comes before the commit */
	for (int i = 0; i < WINDOW; i++) {
		char want[32];
		snprintf(want, sizeof want, "eager %d", i);
		assert_string_equal(rb.incoming_text[i], want);
	}
	store_hold(F->n[0].store, false);
	assert_true(run_until(&s.count, N, 5000));
	assert_int_equal(s.err, 0);
	assert_true(run_until(&rb.incoming, N, 10000));
	for (int i = 0; i < N; i++)
		assert_string_equal(rb.incoming_ids[i], s.ids[i]);
	assert_true(run_pred(queue_empty, A, 5000));
	run_for(300);
	assert_int_equal(rb.incoming, N); /* exactly once */
	teardown_nodes();
	rec_clear(&rb);
}

/* The peer's answer may come back before the task's creation commits: SendTask then
 * answers with the outcome, and a subscriber that comes after the answer gets it too. */
static void test_a2a_answer_before_the_creation_commits_is_settled_with_it(void **state)
{
	setup_nodes(2, NULL);
	connect_nodes(0, 1);
	struct recorder rb = { 0 };
	rb.autocomplete = B;
	a2a_subscribe_incoming(B, &rec_cbs, &rb);
	static struct sent s;
	memset(&s, 0, sizeof s);
	store_hold(F->n[0].store, true);
	struct tmsg t;
	assert_int_equal(a2a_send_task(A, &F->n[1].id, NULL, text_msg(&t, "quick"), on_sent, &s), 0);
	assert_true(run_until(&rb.incoming, 1, 5000));
	const char *id = rb.incoming_ids[0];
	assert_true(wait_status(A, id, AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_COMPLETED));
	/* The creation is not committed: nothing is settled, nothing answered. */
	assert_null(a2a_get_settled_task(A, id));
	assert_int_equal(s.count, 0);
	store_hold(F->n[0].store, false);
	assert_true(run_until(&s.count, 1, 5000));
	assert_int_equal(s.err, 0);
	assert_string_equal(s.ids[0], id);
	const Agentanycast__V1__Task *settled = a2a_get_settled_task(A, id);
	assert_non_null(settled);
	assert_int_equal(settled->status, AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_COMPLETED);
	teardown_nodes();
	rec_clear(&rb);
}

/* Completing a SUBMITTED task queues two envelopes in one batch (WORKING, COMPLETED). When
 * both wait for a commit (A is away), both are counted off at that commit: once A is back,
 * B sends eagerly again — its answer reaches A while B's commits are held. */
static void test_a2a_answers_leave_before_the_executors_commit(void **state)
{
	setup_nodes(2, NULL);
	connect_nodes(0, 1);
	struct recorder rb = { 0 };
	a2a_subscribe_incoming(B, &rec_cbs, &rb);
	static struct sent s;
	memset(&s, 0, sizeof s);
	const char *first = send_one(0, 1, "answered while A is away", &s);
	assert_true(run_until(&rb.incoming, 1, 5000));
	node_stop(0);
	int before = done_count;
	assert_int_equal(a2a_complete_task(B, first, NULL, 0, NULL, on_done, NULL), 0);
	assert_true(run_until(&done_count, before + 1, 5000));
	node_start(0);
	connect_nodes(0, 1);
	assert_true(wait_status(A, first, AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_COMPLETED));

	rb.autocomplete = B;
	store_hold(F->n[1].store, true);
	const char *id = send_one(0, 1, "while B holds", &s);
	assert_true(wait_status(A, id, AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_COMPLETED));
	store_hold(F->n[1].store, false);
	assert_true(run_pred(queue_empty, B, 5000));
	teardown_nodes();
	rec_clear(&rb);
}

/* An envelope sent eagerly whose commit then fails (here: the peer's offline queue is full)
 * is dropped from the line; the SendTask fails, the peer's ACK for it is ignored, and later
 * sends still go out at once. */
static void test_a2a_eager_envelope_whose_commit_fails_is_dropped(void **state)
{
	setup_nodes(2, NULL);
	node_stop(0);
	F->queue_max_per_peer = 2;
	node_start(0);
	connect_nodes(0, 1);
	struct recorder rb = { 0 };
	a2a_subscribe_incoming(B, &rec_cbs, &rb);
	static struct sent s;
	memset(&s, 0, sizeof s);
	store_hold(F->n[0].store, true);
	for (int i = 0; i < 3; i++) {
		struct tmsg t;
		assert_int_equal(a2a_send_task(A, &F->n[1].id, NULL, text_msg(&t, "over the bound"), on_sent, &s), 0);
	}
	assert_true(run_until(&rb.incoming, 3, 5000)); /* all three left before any commit */
	store_hold(F->n[0].store, false);
	assert_true(run_until(&s.count, 3, 5000));
	assert_int_equal(s.err, AA_ENOMEM);           /* the third did not fit the queue */
	assert_null(a2a_get_task(A, rb.incoming_ids[2]));
	assert_true(run_pred(queue_empty, A, 5000));   /* the two others were ACKed */
	run_for(300);                                  /* B's ACK of the third: ignored */
	/* Eager sending still works: the next task reaches B while A's commits are held. */
	store_hold(F->n[0].store, true);
	struct tmsg t;
	assert_int_equal(a2a_send_task(A, &F->n[1].id, NULL, text_msg(&t, "after"), on_sent, &s), 0);
	assert_true(run_until(&rb.incoming, 4, 5000));
	store_hold(F->n[0].store, false);
	assert_true(run_until(&s.count, 4, 5000));
	assert_true(run_pred(queue_empty, A, 5000));
	teardown_nodes();
	rec_clear(&rb);
}

static void build_send_task(struct aa_buf *out, const char *env_id, const char *task_id, const char *text)
{
	struct tmsg t;
	Agentanycast__V1__SendTaskPayload st = AGENTANYCAST__V1__SEND_TASK_PAYLOAD__INIT;
	st.task_id = (char *)task_id;
	st.message = (Agentanycast__V1__Message *)text_msg(&t, text);
	Agentanycast__V1__A2AEnvelope env = AGENTANYCAST__V1__A2_AENVELOPE__INIT;
	env.envelope_id = (char *)env_id;
	env.type = AGENTANYCAST__V1__ENVELOPE_TYPE__ENVELOPE_TYPE_SEND_TASK;
	env.payload_case = AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_SEND_TASK;
	env.send_task = &st;
	frame_bytes(out, &env.base);
}

static void test_a2a_dedup_survives_restart_and_duplicates_are_acked(void **state)
{
	setup_nodes(2, NULL);
	connect_nodes(0, 1);
	struct recorder rb = { 0 };
	a2a_subscribe_incoming(B, &rec_cbs, &rb);
	struct aa_buf frame;
	aa_buf_init(&frame);
	build_send_task(&frame, "0b7e3a4c-1111-4222-8333-444455556666", "dup-task-1", "only once");
	assert_int_equal(raw_send(0, 1, A2A_PROTOCOL_ID, frame.p, frame.n), 0);
	assert_true(run_until(&rb.incoming, 1, 5000));
	WAIT_STAT(A, acks_in, 1); /* B's ACK reached A's a2a handler */
	/* Sent again at once: dropped, ACKed again. */
	assert_int_equal(raw_send(0, 1, A2A_PROTOCOL_ID, frame.p, frame.n), 0);
	WAIT_STAT(A, acks_in, 2);
	rec_clear(&rb);

	node_stop(1);
	node_start(1);
	a2a_subscribe_incoming(B, &rec_cbs, &rb);
	connect_nodes(0, 1);
	uint64_t acks = stats_of(A).acks_in;
	assert_int_equal(raw_send(0, 1, A2A_PROTOCOL_ID, frame.p, frame.n), 0);
	WAIT_STAT(A, acks_in, acks + 1);
	WAIT_STAT(B, duplicates_dropped, 1);
	run_for(200);
	assert_int_equal(rb.incoming, 0); /* DECISIONS 5: no second delivery after the restart */
	assert_non_null(a2a_get_task(B, "dup-task-1"));
	aa_buf_free(&frame);
	teardown_nodes();
	rec_clear(&rb);
}


static void test_a2a_incoming_task_not_yet_announced_survives_restart(void **state)
{
	setup_nodes(2, NULL);
	set_card(0, "alice");
	connect_nodes(0, 1);
	struct sent s = { 0 };
	const char *id = send_one(0, 1, "nobody listens yet", &s);
	WAIT_STAT(A, acks_in, 1); /* committed at B and acknowledged */
	node_stop(1);             /* before any subscriber saw it */
	node_start(1);
	struct recorder rb = { 0 };
	a2a_subscribe_incoming(B, &rec_cbs, &rb);
	assert_true(run_until(&rb.incoming, 1, 5000));
	assert_string_equal(rb.incoming_ids[0], id);
	assert_string_equal(rb.incoming_text[0], "nobody listens yet");
	assert_string_equal(rb.incoming_card[0], "alice");
	rec_clear(&rb);
	/* Seen once: not announced a second time. */
	node_stop(1);
	node_start(1);
	a2a_subscribe_incoming(B, &rec_cbs, &rb);
	run_for(200);
	assert_int_equal(rb.incoming, 0);
	teardown_nodes();
	rec_clear(&rb);
}

/* ---- retries, eviction, restarts ----------------------------------------------------------- */

/* Stops and restarts only the a2a layer of node i (its host and store stay up). */
static void a2a_only_stop(int i)
{
	int before = F->closed;
	a2a_node_close(F->n[i].a2a, on_closed, NULL);
	assert_true(run_until(&F->closed, before + 1, 5000));
	F->n[i].a2a = NULL;
}

static void a2a_only_start(int i)
{
	struct node_fx *x = &F->n[i];
	assert_int_equal(a2a_node_new(&F->loop, x->host, x->store, &x->key, &F->cfg, &x->a2a), 0);
}

static void test_a2a_retries_run_out_then_the_envelope_waits_for_a_new_connection(void **state)
{
	struct a2a_config cfg;
	a2a_config_default(&cfg);
	cfg.retry_first_ms = 40; /* 40, 80, 160 ms, then 320 ms before giving up */
	setup_nodes(2, &cfg);
	connect_nodes(0, 1);
	a2a_only_stop(1); /* B's host refuses the a2a protocol now */
	struct sent s = { 0 };
	const char *id = send_one(0, 1, "are you there", &s);
	WAIT_STAT(A, retries, 3);
	run_for(800);
	struct a2a_stats st = stats_of(A);
	assert_int_equal(st.retries, 3); /* REFERENCE B.7: 3 retries, then the queue */
	assert_int_equal(st.offline_queue_size, 1);

	a2a_only_start(1);
	struct recorder rb = { 0 };
	a2a_subscribe_incoming(B, &rec_cbs, &rb);
	run_for(300);
	assert_int_equal(rb.incoming, 0); /* parked until the next connection */
	p2p_host_disconnect(F->n[0].host, &F->n[1].id);
	run_for(100);
	connect_nodes(0, 1);
	assert_true(run_until(&rb.incoming, 1, 5000));
	assert_string_equal(rb.incoming_ids[0], id);
	assert_true(run_pred(queue_empty, A, 5000));
	teardown_nodes();
	rec_clear(&rb);
}

static void test_a2a_task_table_evicts_the_oldest_finished_task(void **state)
{
	struct a2a_config cfg;
	a2a_config_default(&cfg);
	cfg.max_tasks = 2;
	setup_nodes(2, &cfg);
	connect_nodes(0, 1);
	struct recorder rb = { 0 };
	rb.autocomplete = B;
	a2a_subscribe_incoming(B, &rec_cbs, &rb);
	static struct sent s;
	memset(&s, 0, sizeof s);
	send_one(0, 1, "one", &s);
	assert_true(wait_status(A, s.ids[0], AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_COMPLETED));
	rb.autocomplete = NULL;
	send_one(0, 1, "two", &s);
	send_one(0, 1, "three", &s); /* evicts "one", finished */
	assert_null(a2a_get_task(A, s.ids[0]));
	assert_non_null(a2a_get_task(A, s.ids[1]));
	assert_non_null(a2a_get_task(A, s.ids[2]));
	/* Two unfinished tasks fill the table. */
	struct tmsg t;
	assert_int_equal(a2a_send_task(A, &F->n[1].id, NULL, text_msg(&t, "four"), on_sent, &s), AA_ENOMEM);
	/* Evicted for good: not back after a restart. */
	node_stop(0);
	node_start(0);
	assert_null(a2a_get_task(A, s.ids[0]));
	assert_non_null(a2a_get_task(A, s.ids[2]));
	teardown_nodes();
	rec_clear(&rb);
}

static void test_a2a_tasks_survive_restart_with_their_peer(void **state)
{
	setup_nodes(2, NULL);
	connect_nodes(0, 1);
	struct recorder rb = { 0 };
	rb.autocomplete = B;
	a2a_subscribe_incoming(B, &rec_cbs, &rb);
	static struct sent s;
	memset(&s, 0, sizeof s);
	send_one(0, 1, "done before restart", &s);
	assert_true(wait_status(A, s.ids[0], AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_COMPLETED));
	rb.autocomplete = NULL;
	send_one(0, 1, "canceled after restart", &s);
	assert_true(wait_status(B, s.ids[1], AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_SUBMITTED));
	node_stop(0);
	node_start(0);
	const Agentanycast__V1__Task *t = a2a_get_task(A, s.ids[0]);
	assert_non_null(t);
	assert_int_equal(t->status, AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_COMPLETED);
	assert_int_equal(t->n_messages, 1);
	assert_string_equal(msg_text(t->messages[0]), "done before restart");
	assert_string_equal(t->originator_peer_id, A2A_ORIGINATOR_LOCAL);
	assert_int_equal(t->base.n_unknown_fields, 0); /* our peer field is not handed out */
	/* The executor was remembered: the cancel reaches it. */
	connect_nodes(0, 1);
	memset(&cancel_res, 0, sizeof cancel_res);
	assert_int_equal(a2a_cancel_task(A, s.ids[1], on_canceled, NULL), 0);
	assert_true(wait_status(B, s.ids[1], AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_CANCELED));
	teardown_nodes();
	rec_clear(&rb);
}

static struct a2a_sub *self_unsub;
static int self_unsub_events;

static void unsub_on_update(void *user, const struct a2a_update_event *ev)
{
	self_unsub_events++;
	a2a_unsubscribe(self_unsub);
}

static void test_a2a_subscriber_may_unsubscribe_inside_its_callback(void **state)
{
	setup_nodes(2, NULL);
	connect_nodes(0, 1);
	struct sent s = { 0 };
	const char *id = send_one(0, 1, "x", &s);
	struct recorder r = { 0 }, other = { 0 };
	struct a2a_sub_callbacks cbs = { .on_update = unsub_on_update, .on_end = rec_end };
	self_unsub_events = 0;
	self_unsub = a2a_subscribe_updates(A, id, &cbs, &r);
	a2a_subscribe_updates(A, id, &rec_cbs, &other);
	assert_true(wait_status(B, id, AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_SUBMITTED));
	assert_int_equal(a2a_complete_task(B, id, NULL, 0, NULL, NULL, NULL), 0);
	assert_true(run_until(&other.updates, 2, 5000));
	assert_int_equal(self_unsub_events, 1);
	assert_int_equal(r.ended, 1);
	assert_int_equal(r.end_err, 0);
	teardown_nodes();
	rec_clear(&other);
}

/* ---- hostile input -------------------------------------------------------------------------- */

static void test_a2a_bad_frames_are_dropped_and_the_node_keeps_working(void **state)
{
	setup_nodes(2, NULL);
	set_card(1, "bob");
	connect_nodes(0, 1);
	uint64_t bad = stats_of(B).bad_frames;

	/* A frame that is not an envelope. */
	static const uint8_t garbage[] = { 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0xff };
	raw_send(0, 1, A2A_PROTOCOL_ID, garbage, sizeof garbage);
	WAIT_STAT(B, bad_frames, bad + 1);

	/* A well-formed envelope of a type nobody handles. */
	Agentanycast__V1__A2AEnvelope env = AGENTANYCAST__V1__A2_AENVELOPE__INIT;
	env.envelope_id = (char *)"e-unknown";
	env.type = 99;
	struct aa_buf f;
	aa_buf_init(&f);
	frame_bytes(&f, &env.base);
	raw_send(0, 1, A2A_PROTOCOL_ID, f.p, f.n);
	WAIT_STAT(B, bad_frames, bad + 2);
	aa_buf_reset(&f);
	env.type = AGENTANYCAST__V1__ENVELOPE_TYPE__ENVELOPE_TYPE_GET_TASK;
	frame_bytes(&f, &env.base);
	raw_send(0, 1, A2A_PROTOCOL_ID, f.p, f.n);
	WAIT_STAT(B, bad_frames, bad + 3);
	aa_buf_free(&f);

	/* An announced length above 16 MiB: the stream is reset. */
	static const uint8_t oversized[] = { 0x01, 0x00, 0x00, 0x01, 1, 2, 3 };
	assert_int_not_equal(raw_send(0, 1, A2A_PROTOCOL_ID, oversized, sizeof oversized), 0);
	WAIT_STAT(B, bad_frames, bad + 4);

	/* A frame cut short by the end of the stream. */
	static const uint8_t truncated[] = { 0, 0, 0, 100, 1, 2, 3 };
	raw_send(0, 1, A2A_PROTOCOL_ID, truncated, sizeof truncated);
	WAIT_STAT(B, bad_frames, bad + 5);

	/* The card protocol: garbage, then an oversized length. */
	raw_send(0, 1, A2A_CARD_PROTOCOL_ID, garbage, sizeof garbage);
	WAIT_STAT(B, bad_frames, bad + 6);
	assert_int_not_equal(raw_send(0, 1, A2A_CARD_PROTOCOL_ID, oversized, sizeof oversized), 0);
	WAIT_STAT(B, bad_frames, bad + 7);

	/* Nothing of that reached subscribers; real work still flows. */
	struct recorder rb = { 0 };
	a2a_subscribe_incoming(B, &rec_cbs, &rb);
	struct sent s = { 0 };
	const char *id = send_one(0, 1, "still alive", &s);
	assert_true(run_until(&rb.incoming, 1, 5000));
	assert_string_equal(rb.incoming_ids[0], id);
	teardown_nodes();
	rec_clear(&rb);
}

static void test_a2a_updates_from_a_stranger_are_ignored(void **state)
{
	setup_nodes(3, NULL);
	connect_nodes(0, 1);
	connect_nodes(2, 0);
	struct recorder ra = { 0 };
	struct sent s = { 0 };
	const char *id = send_one(0, 1, "mine", &s);
	a2a_subscribe_updates(A, id, &rec_cbs, &ra);
	/* Node 2 claims to complete a task it was never given. */
	Agentanycast__V1__TaskCompletePayload done = AGENTANYCAST__V1__TASK_COMPLETE_PAYLOAD__INIT;
	done.task_id = (char *)id;
	Agentanycast__V1__A2AEnvelope env = AGENTANYCAST__V1__A2_AENVELOPE__INIT;
	env.envelope_id = (char *)"stranger-1";
	env.type = AGENTANYCAST__V1__ENVELOPE_TYPE__ENVELOPE_TYPE_TASK_COMPLETE;
	env.payload_case = AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_TASK_COMPLETE;
	env.task_complete = &done;
	struct aa_buf f;
	aa_buf_init(&f);
	frame_bytes(&f, &env.base);
	uint64_t acks = stats_of(F->n[2].a2a).acks_in;
	raw_send(2, 0, A2A_PROTOCOL_ID, f.p, f.n);
	WAIT_STAT(F->n[2].a2a, acks_in, acks + 1); /* handled (ACKed), without effect */
	aa_buf_free(&f);
	assert_int_equal(status_of(A, id), AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_SUBMITTED);
	assert_int_equal(ra.updates, 0);
	teardown_nodes();
	rec_clear(&ra);
}

/* ---- subscribers ----------------------------------------------------------------------------- */

static void test_a2a_slow_subscriber_overflow_ends_only_that_subscriber(void **state)
{
	struct a2a_config cfg;
	a2a_config_default(&cfg);
	cfg.subscriber_buffer = 8;
	setup_nodes(2, &cfg);
	connect_nodes(0, 1);
	struct sent s = { 0 };
	const char *id = send_one(0, 1, "chatty", &s);
	struct recorder fast = { 0 }, slow = { 0 };
	a2a_subscribe_updates(A, id, &rec_cbs, &fast);
	struct a2a_sub *ss = a2a_subscribe_updates(A, id, &rec_cbs, &slow);
	a2a_sub_set_ready(ss, false);
	assert_true(wait_status(B, id, AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_SUBMITTED));
	/* 1 + 2 * 6 + 1 = 14 transitions, more than the slow one may hold. */
	assert_int_equal(a2a_update_task_status(B, id, AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_WORKING, NULL, NULL, NULL), 0);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(a2a_update_task_status(B, id, AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_INPUT_REQUIRED, NULL, NULL, NULL), 0);
		assert_int_equal(a2a_update_task_status(B, id, AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_WORKING, NULL, NULL, NULL), 0);
	}
	assert_int_equal(a2a_complete_task(B, id, NULL, 0, NULL, NULL, NULL), 0);
	assert_true(run_until(&fast.updates, 14, 5000));
	assert_int_equal(fast.statuses[13], AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_COMPLETED);
	assert_int_equal(fast.ended, 0);
	assert_int_equal(slow.ended, 1);
	assert_int_equal(slow.end_err, AA_ENOMEM);
	assert_int_equal(slow.updates, 0);
	teardown_nodes();
	rec_clear(&fast);
	rec_clear(&slow);
}

static void test_a2a_not_ready_subscriber_gets_its_events_later_in_order(void **state)
{
	setup_nodes(2, NULL);
	connect_nodes(0, 1);
	struct sent s = { 0 };
	const char *id = send_one(0, 1, "later", &s);
	struct recorder r = { 0 }, other = { 0 };
	struct a2a_sub *sub = a2a_subscribe_updates(A, id, &rec_cbs, &r);
	a2a_subscribe_updates(A, id, &rec_cbs, &other);
	a2a_sub_set_ready(sub, false);
	assert_true(wait_status(B, id, AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_SUBMITTED));
	assert_int_equal(a2a_complete_task(B, id, NULL, 0, NULL, NULL, NULL), 0);
	assert_true(run_until(&other.updates, 2, 5000));
	assert_int_equal(r.updates, 0);
	a2a_sub_set_ready(sub, true);
	assert_int_equal(r.updates, 2);
	assert_int_equal(r.statuses[0], AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_WORKING);
	assert_int_equal(r.statuses[1], AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_COMPLETED);
	teardown_nodes();
	rec_clear(&r);
	rec_clear(&other);
}

static void test_a2a_node_close_ends_subscriptions(void **state)
{
	setup_nodes(2, NULL);
	struct recorder r1 = { 0 }, r2 = { 0 };
	a2a_subscribe_incoming(A, &rec_cbs, &r1);
	a2a_subscribe_updates(A, "some-task", &rec_cbs, &r2);
	node_stop(0);
	assert_int_equal(r1.ended, 1);
	assert_int_equal(r1.end_err, AA_ECLOSED);
	assert_int_equal(r2.ended, 1);
	assert_int_equal(r2.end_err, AA_ECLOSED);
	teardown_nodes();
}

/* ---- streaming ------------------------------------------------------------------------------ */

static uint8_t pattern(uint64_t i)
{
	return (uint8_t)((i ^ (i >> 9) ^ (i >> 17)) * 167u + 13u);
}

struct streamer {
	struct a2a_node *node;
	struct a2a_stream_out *o;
	const char *task_id;
	size_t chunk, nchunks, sent;
	int phase; /* 0 start, 1 chunks, 2 end, 3 closing */
	uint8_t *buf;
	int closed, close_err, eagain;
	bool pumping;
};

static void streamer_closed(void *user, int err)
{
	struct streamer *s = user;
	s->closed++;
	s->close_err = err;
}

static void streamer_pump(void *user)
{
	struct streamer *s = user;
	if (s->pumping)
		return;
	s->pumping = true;
	while (s->phase < 3) {
		int rc;
		if (s->phase == 0) {
			Agentanycast__V1__StreamStart st = AGENTANYCAST__V1__STREAM_START__INIT;
			st.task_id = (char *)s->task_id;
			st.artifact_id = (char *)"big";
			st.total_chunks = (int32_t)s->nchunks;
			rc = a2a_stream_feed(s->o, &st, NULL, NULL);
		} else if (s->phase == 1) {
			uint64_t base = (uint64_t)s->sent * s->chunk;
			for (size_t i = 0; i < s->chunk; i++)
				s->buf[i] = pattern(base + i);
			Agentanycast__V1__StreamChunk c = AGENTANYCAST__V1__STREAM_CHUNK__INIT;
			c.task_id = (char *)s->task_id;
			c.artifact_id = (char *)"big";
			c.sequence = (int32_t)s->sent;
			c.data.data = s->buf;
			c.data.len = s->chunk;
			c.is_last = s->sent + 1 == s->nchunks;
			rc = a2a_stream_feed(s->o, NULL, &c, NULL);
		} else {
			Agentanycast__V1__StreamEnd e = AGENTANYCAST__V1__STREAM_END__INIT;
			e.task_id = (char *)s->task_id;
			e.artifact_id = (char *)"big";
			e.reason = AGENTANYCAST__V1__STREAM_END_REASON__STREAM_END_REASON_COMPLETE;
			rc = a2a_stream_feed(s->o, NULL, NULL, &e);
		}
		if (rc == AA_EAGAIN) {
			s->eagain++;
			break; /* on_ready calls us again */
		}
		assert_int_equal(rc, 0);
		if (s->phase == 1 && ++s->sent < s->nchunks)
			continue;
		s->phase++;
		if (s->phase == 3)
			assert_int_equal(a2a_stream_close(s->o, streamer_closed, s), 0);
	}
	s->pumping = false;
}

struct stream_sink {
	struct a2a_sub *sub;
	int starts, ends, chunks;
	uint64_t bytes;
	int32_t next_seq;
	bool corrupt;
	int pauses;
	uv_timer_t resume;
	bool timer_init;
	size_t rss_max_kb;
	bool never_ready;
	int ended, end_err;
};

static size_t rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t kb = 0;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %zu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static void sink_resume(uv_timer_t *t)
{
	struct stream_sink *k = t->data;
	a2a_sub_set_ready(k->sub, true);
}

static void sink_stream(void *user, const struct a2a_stream_event *ev)
{
	struct stream_sink *k = user;
	if (ev->start)
		k->starts++;
	if (ev->end)
		k->ends++;
	if (!ev->chunk)
		return;
	const Agentanycast__V1__StreamChunk *c = ev->chunk;
	if (c->sequence != k->next_seq)
		k->corrupt = true;
	k->next_seq++;
	for (size_t i = 0; i < c->data.len; i++)
		if (c->data.data[i] != pattern(k->bytes + i)) {
			k->corrupt = true;
			break;
		}
	k->bytes += c->data.len;
	k->chunks++;
	if (k->chunks % 64 == 0) {
		size_t rss = rss_kb();
		if (rss > k->rss_max_kb)
			k->rss_max_kb = rss;
	}
	/* A consumer that is full now and then (a gRPC stream whose window is closed). */
	if (k->timer_init && k->chunks % 50 == 0) {
		k->pauses++;
		a2a_sub_set_ready(k->sub, false);
		uv_timer_start(&k->resume, sink_resume, 20, 0);
	}
}

static void sink_end(void *user, int err)
{
	struct stream_sink *k = user;
	k->ended++;
	k->end_err = err;
}

static const struct a2a_sub_callbacks sink_cbs = { .on_stream = sink_stream, .on_end = sink_end };

static void test_a2a_streams_64_mib_across_peers_in_order_with_bounded_memory(void **state)
{
	/* A small subscriber buffer: the pauses below would overflow it if the network were
	 * not held back while the subscriber is full. */
	struct a2a_config cfg;
	a2a_config_default(&cfg);
	cfg.subscriber_buffer = 16;
	setup_nodes(2, &cfg);
	connect_nodes(0, 1);
	struct sent s = { 0 };
	const char *id = send_one(0, 1, "stream it", &s);
	assert_true(wait_status(B, id, AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_SUBMITTED));
	assert_int_equal(a2a_update_task_status(B, id, AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_WORKING, NULL, NULL, NULL), 0);

	static struct stream_sink ka, kb;
	memset(&ka, 0, sizeof ka);
	memset(&kb, 0, sizeof kb);
	ka.sub = a2a_subscribe_stream(A, id, &sink_cbs, &ka);
	uv_timer_init(&F->loop, &ka.resume);
	ka.resume.data = &ka;
	ka.timer_init = true;
	kb.sub = a2a_subscribe_stream(B, id, &sink_cbs, &kb); /* the executing end sees it too */

	static struct streamer st;
	memset(&st, 0, sizeof st);
	st.node = B;
	st.task_id = id;
	st.chunk = 64 * 1024;
	st.nchunks = 1024; /* 64 MiB */
	st.buf = malloc(st.chunk);
	size_t rss_before = rss_kb();
	st.o = a2a_stream_open(B, streamer_pump, &st);
	assert_non_null(st.o);
	streamer_pump(&st);
	assert_true(run_until(&st.closed, 1, 120000));
	assert_int_equal(st.close_err, 0);
	assert_true(run_until(&ka.ends, 1, 5000));
	assert_false(ka.corrupt);
	assert_int_equal(ka.starts, 1);
	assert_int_equal(ka.chunks, 1024);
	assert_int_equal(ka.bytes, 64ull * 1024 * 1024);
	assert_true(ka.pauses >= 20);
	assert_false(kb.corrupt);
	assert_int_equal(kb.bytes, 64ull * 1024 * 1024);
	assert_true(st.eagain > 0); /* the producer was held back */
	assert_int_equal(ka.ended, 0);
	assert_true(stats_of(A).stream_chunks >= 1024);
	size_t grown = ka.rss_max_kb > rss_before ? ka.rss_max_kb - rss_before : 0;
	print_message("stream: 64 MiB, %d pauses, %d EAGAIN, RSS %zu kB before, peak +%zu kB\n",
		      ka.pauses, st.eagain, rss_before, grown);
	if (!UNDER_ASAN)
		assert_true(grown < 48 * 1024); /* far below the 64 MiB that went through */
	uv_close((uv_handle_t *)&ka.resume, NULL);
	free(st.buf);
	teardown_nodes();
}

static void test_a2a_stalled_stream_subscriber_is_ended_and_the_others_continue(void **state)
{
	struct a2a_config cfg;
	a2a_config_default(&cfg);
	cfg.subscriber_buffer = 8;
	cfg.send_timeout_ns = 300ull * 1000000;
	setup_nodes(2, &cfg);
	connect_nodes(0, 1);
	struct sent s = { 0 };
	const char *id = send_one(0, 1, "stream it", &s);
	assert_true(wait_status(B, id, AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_SUBMITTED));
	static struct stream_sink good, stuck;
	memset(&good, 0, sizeof good);
	memset(&stuck, 0, sizeof stuck);
	good.sub = a2a_subscribe_stream(A, id, &sink_cbs, &good);
	stuck.sub = a2a_subscribe_stream(A, id, &sink_cbs, &stuck);
	a2a_sub_set_ready(stuck.sub, false);
	static struct streamer st;
	memset(&st, 0, sizeof st);
	st.task_id = id;
	st.chunk = 1024;
	st.nchunks = 200;
	st.buf = malloc(st.chunk);
	st.o = a2a_stream_open(B, streamer_pump, &st);
	streamer_pump(&st);
	assert_true(run_until(&st.closed, 1, 10000));
	assert_int_equal(st.close_err, 0);
	assert_true(run_until(&good.ends, 1, 5000));
	assert_int_equal(good.chunks, 200);
	assert_false(good.corrupt);
	assert_int_equal(stuck.ended, 1);
	assert_int_equal(stuck.end_err, AA_ETIMEDOUT);
	free(st.buf);
	teardown_nodes();
}

static void test_a2a_stream_feed_checks_its_session(void **state)
{
	setup_nodes(2, NULL);
	struct a2a_stream_out *o = a2a_stream_open(A, NULL, NULL);
	Agentanycast__V1__StreamChunk c = AGENTANYCAST__V1__STREAM_CHUNK__INIT;
	c.task_id = (char *)"t";
	assert_int_equal(a2a_stream_feed(o, NULL, &c, NULL), AA_EINVAL); /* no session */
	Agentanycast__V1__StreamStart st = AGENTANYCAST__V1__STREAM_START__INIT;
	st.task_id = (char *)"unknown";
	assert_int_equal(a2a_stream_feed(o, &st, NULL, NULL), AA_ENOENT);
	assert_int_equal(a2a_stream_feed(o, &st, &c, NULL), AA_EINVAL);
	a2a_stream_abort(o);
	teardown_nodes();
}

int main(void)
{
	/* As the daemon does: a peer closing its socket must not kill the process. */
	signal(SIGPIPE, SIG_IGN);
	aa_log_setup(getenv("A2A_TEST_DEBUG") ? AA_LOG_DEBUG : AA_LOG_ERROR, AA_LOG_TEXT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a2a_cards_are_exchanged_both_ways_on_connect),
		cmocka_unit_test(test_a2a_set_agent_card_is_pushed_to_connected_peers),
		cmocka_unit_test(test_a2a_cards_survive_restart),
		cmocka_unit_test(test_a2a_sent_task_reaches_incoming_subscriber_with_sender_card),
		cmocka_unit_test(test_a2a_complete_from_submitted_gives_working_then_completed_with_artifact),
		cmocka_unit_test(test_a2a_fail_task_error_text_reaches_originator),
		cmocka_unit_test(test_a2a_cancel_by_originator_reaches_executor),
		cmocka_unit_test(test_a2a_cancel_by_executor_fails_task_at_originator),
		cmocka_unit_test(test_a2a_input_required_then_working_then_completed),
		cmocka_unit_test(test_a2a_invalid_transitions_are_refused),
		cmocka_unit_test(test_a2a_incoming_tasks_wait_for_the_first_subscriber),
		cmocka_unit_test(test_a2a_200_tasks_each_way_all_complete),
		cmocka_unit_test(test_a2a_envelopes_leave_before_their_commit_in_queue_order),
		cmocka_unit_test(test_a2a_answer_before_the_creation_commits_is_settled_with_it),
		cmocka_unit_test(test_a2a_answers_leave_before_the_executors_commit),
		cmocka_unit_test(test_a2a_eager_envelope_whose_commit_fails_is_dropped),
		cmocka_unit_test(test_a2a_offline_queue_survives_restart_and_delivers_in_order),
		cmocka_unit_test(test_a2a_dedup_survives_restart_and_duplicates_are_acked),
		cmocka_unit_test(test_a2a_incoming_task_not_yet_announced_survives_restart),
		cmocka_unit_test(test_a2a_retries_run_out_then_the_envelope_waits_for_a_new_connection),
		cmocka_unit_test(test_a2a_task_table_evicts_the_oldest_finished_task),
		cmocka_unit_test(test_a2a_tasks_survive_restart_with_their_peer),
		cmocka_unit_test(test_a2a_subscriber_may_unsubscribe_inside_its_callback),
		cmocka_unit_test(test_a2a_bad_frames_are_dropped_and_the_node_keeps_working),
		cmocka_unit_test(test_a2a_updates_from_a_stranger_are_ignored),
		cmocka_unit_test(test_a2a_slow_subscriber_overflow_ends_only_that_subscriber),
		cmocka_unit_test(test_a2a_not_ready_subscriber_gets_its_events_later_in_order),
		cmocka_unit_test(test_a2a_node_close_ends_subscriptions),
		cmocka_unit_test(test_a2a_streams_64_mib_across_peers_in_order_with_bounded_memory),
		cmocka_unit_test(test_a2a_stalled_stream_subscriber_is_ended_and_the_others_continue),
		cmocka_unit_test(test_a2a_stream_feed_checks_its_session),
	};
	/* A2A_TEST_FILTER=pattern runs only the matching tests (cmocka's glob). */
	if (getenv("A2A_TEST_FILTER"))
		cmocka_set_test_filter(getenv("A2A_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
