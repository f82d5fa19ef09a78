/* Unit tests for http/node_metrics: two real nodes (p2p host on 127.0.0.1, LMDB store in a
 * temporary directory, a2a node) on one libuv loop, node A with the NodeService on a gRPC
 * server reached through an in-memory HTTP/2 connection. Real traffic (a dial that fails,
 * a connection, a task sent and completed, gRPC calls, a refused connection) and then the
 * exposition is checked value by value, and with `promtool check metrics` when promtool is
 * on PATH. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "a2a/a2a.h"
#include "a2a/pb.h"
#include "agentanycast/v1/node_service.pb-c.h"
#include "base/buf.h"
#include "base/err.h"
#include "http/node_metrics.h"
#include "p2p/host.h"
#include "rpc/grpc.h"
#include "rpc/node_service.h"
#include "tmpdir.h"

/* ---- fixture ------------------------------------------------------------------------------ */

struct node_fx {
	struct p2p_keypair key;
	struct p2p_peer_id id;
	struct p2p_host *host;
	struct store *store;
	struct a2a_node *a2a;
	struct multiaddr addr;
	char path[128];
};

static struct {
	uv_loop_t loop;
	char dir[64];
	struct node_fx n[2];
	struct grpc_server *grpc;
	struct node_service *ns;
	int closed;
} *F;

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

static bool int_reached(void *arg)
{
	const int *const *p = arg;
	return *p[0] >= *p[1];
}

static bool run_until(const int *v, int want, unsigned ms)
{
	const int *args[2] = { v, &want };
	return run_pred(int_reached, args, ms);
}

static void node_start(int i, uint32_t max_connections)
{
	struct node_fx *x = &F->n[i];
	p2p_keypair_generate(&x->key);
	p2p_peer_id_from_public_key(x->key.public_key, &x->id);
	struct p2p_host_config hc;
	p2p_host_config_default(&hc);
	hc.identity = &x->key;
	hc.max_connections = max_connections;
	assert_int_equal(p2p_host_new(&F->loop, &hc, &x->host), 0);
	struct multiaddr ma;
	assert_int_equal(multiaddr_parse("/ip4/127.0.0.1/tcp/0", &ma, NULL), 0);
	assert_int_equal(p2p_host_listen(x->host, &ma), 0);
	multiaddr_free(&ma);
	struct multiaddr *addrs;
	size_t na;
	assert_int_equal(p2p_host_listen_addrs(x->host, &addrs, &na), 0);
	assert_int_equal(na, 1);
	x->addr = addrs[0];
	free(addrs);
	snprintf(x->path, sizeof x->path, "%s/node%d", F->dir, i);
	struct store_options so;
	store_options_default(&so);
	so.path = x->path;
	so.lock_wait_ms = 0;
	char err[256];
	assert_int_equal(store_open(&F->loop, &so, &x->store, err, sizeof err), 0);
	struct a2a_config cfg;
	a2a_config_default(&cfg);
	cfg.retry_first_ms = 60000; /* no retries: envelope counts stay exact */
	assert_int_equal(a2a_node_new(&F->loop, x->host, x->store, &x->key, &cfg, &x->a2a), 0);
}

static void on_closed(void *u) { F->closed++; }

static int setup(void **state)
{
	F = calloc(1, sizeof *F);
	assert_int_equal(uv_loop_init(&F->loop), 0);
	snprintf(F->dir, sizeof F->dir, "/tmp/test_node_metrics-XXXXXX");
	assert_non_null(mkdtemp(F->dir));
	node_start(0, 1024);
	node_start(1, 1); /* B takes one connection: the next one hits max_connections */
	F->grpc = grpc_server_new(&F->loop, NULL);
	assert_non_null(F->grpc);
	struct node_service_info info = { .version = "0.1.0", .started_at_ms = 1 };
	assert_int_equal(node_service_new(F->grpc, F->n[0].a2a, F->n[0].host, &info, &F->ns), 0);
	return 0;
}

static int teardown(void **state)
{
	int before = F->closed;
	grpc_server_close(F->grpc, on_closed, NULL);
	assert_true(run_until(&F->closed, before + 1, 5000));
	node_service_free(F->ns);
	for (int i = 0; i < 2; i++) {
		before = F->closed;
		a2a_node_close(F->n[i].a2a, on_closed, NULL);
		assert_true(run_until(&F->closed, before + 1, 5000));
		store_close(F->n[i].store, on_closed, NULL);
		p2p_host_close(F->n[i].host, on_closed, NULL);
		assert_true(run_until(&F->closed, before + 3, 5000));
		multiaddr_free(&F->n[i].addr);
	}
	uv_run(&F->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&F->loop), 0);
	test_rm_tree(F->dir);
	free(F);
	F = NULL;
	return 0;
}

/* ---- exposition helpers ------------------------------------------------------------------- */

static char *render(struct node_metrics *m)
{
	struct aa_buf out;
	aa_buf_init(&out);
	assert_int_equal(node_metrics_render(m, &out), 0);
	aa_buf_append_byte(&out, 0);
	return (char *)aa_buf_steal(&out, NULL);
}

/* The value of the sample line `series value`, NAN when there is none. */
static double sample(const char *text, const char *series)
{
	size_t n = strlen(series);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	}
	return NAN;
}

static void assert_sample(const char *text, const char *series, double want)
{
	double got = sample(text, series);
	if (got != want)
		fail_msg("%s: got %g, want %g", series, got, want);
}

static void assert_sample_min(const char *text, const char *series, double min)
{
	double got = sample(text, series);
	if (!(got >= min))
		fail_msg("%s: got %g, want at least %g", series, got, min);
}

static bool have_promtool(void)
{
	return system("command -v promtool >/dev/null 2>&1") == 0;
}

/* promtool must parse the text and have no lint complaint at all. */
static void check_promtool(const char *text)
{
	if (getenv("AA_METRICS_DUMP"))
		fputs(text, stderr);
	if (!have_promtool()) {
		print_message("promtool not on PATH: skipping its check\n");
		return;
	}
	char in[128], out[128], cmd[400];
	snprintf(in, sizeof in, "%s/metrics.txt", F->dir);
	snprintf(out, sizeof out, "%s/promtool.out", F->dir);
	FILE *f = fopen(in, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	snprintf(cmd, sizeof cmd, "promtool check metrics <%s >%s 2>&1", in, out);
	int rc = system(cmd);
	struct stat st;
	assert_int_equal(stat(out, &st), 0);
	if (rc != 0 || st.st_size != 0) {
		char buf[2048] = "";
		f = fopen(out, "r");
		if (f) {
			size_t k = fread(buf, 1, sizeof buf - 1, f);
			buf[k] = 0;
			fclose(f);
		}
		fail_msg("promtool check metrics: status %d: %s", rc, buf);
	}
}

/* ---- a tiny HTTP/2 gRPC client over the in-memory connection ------------------------------ */

struct h2c {
	nghttp2_session *s;
	struct grpc_conn *conn;
	struct aa_buf in;        /* server -> client */
	struct aa_buf body;      /* the request being sent */
	size_t body_off;
	int grpc_status;         /* of the latest response, -1 until seen */
};

static void h2_server_out(void *arg, const uint8_t *p, size_t n)
{
	struct h2c *c = arg;
	aa_buf_append(&c->in, p, n);
}

static int h2_on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
			size_t nl, const uint8_t *value, size_t vl, uint8_t flags, void *user)
{
	struct h2c *c = user;
	if (nl == 11 && !memcmp(name, "grpc-status", 11)) {
		char v[8] = "";
		memcpy(v, value, vl < 7 ? vl : 7);
		c->grpc_status = atoi(v);
	}
	return 0;
}

static int h2_on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *d, size_t n,
		      void *user)
{
	return 0;
}

static ssize_t h2_read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len,
			    uint32_t *flags, nghttp2_data_source *src, void *user)
{
	struct h2c *c = user;
	size_t left = c->body.n - c->body_off;
	size_t k = left < len ? left : len;
	memcpy(buf, c->body.p + c->body_off, k);
	c->body_off += k;
	if (c->body_off == c->body.n)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)k;
}

/* Moves bytes both ways until neither side has anything to say. */
static void h2_pump(struct h2c *c)
{
	for (int round = 0; round < 64; round++) {
		bool any = false;
		const uint8_t *p;
		ssize_t n;
		while ((n = nghttp2_session_mem_send(c->s, &p)) > 0) {
			grpc_conn_mem_feed(c->conn, p, (size_t)n);
			any = true;
		}
		if (c->in.n) {
			struct aa_buf take = c->in;
			aa_buf_init(&c->in);
			assert_true(nghttp2_session_mem_recv(c->s, take.p, take.n) == (ssize_t)take.n);
			aa_buf_free(&take);
			any = true;
		}
		if (!any)
			return;
	}
}

static void h2_open(struct h2c *c)
{
	memset(c, 0, sizeof *c);
	aa_buf_init(&c->in);
	aa_buf_init(&c->body);
	nghttp2_session_callbacks *cbs;
	nghttp2_session_callbacks_new(&cbs);
	nghttp2_session_callbacks_set_on_header_callback(cbs, h2_on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, h2_on_data);
	assert_int_equal(nghttp2_session_client_new(&c->s, cbs, c), 0);
	nghttp2_session_callbacks_del(cbs);
	nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, NULL, 0);
	c->conn = grpc_conn_mem_new(F->grpc, h2_server_out, c);
	assert_non_null(c->conn);
	h2_pump(c);
}

static void h2_close(struct h2c *c)
{
	grpc_conn_mem_free(c->conn);
	nghttp2_session_del(c->s);
	aa_buf_free(&c->in);
	aa_buf_free(&c->body);
}

#define NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE }

/* One unary call with the packed request msg; returns the grpc-status of the answer. */
static int h2_unary(struct h2c *c, const char *path, const ProtobufCMessage *msg)
{
	aa_buf_reset(&c->body);
	c->body_off = 0;
	size_t len = msg ? protobuf_c_message_get_packed_size(msg) : 0;
	uint8_t prefix[5] = { 0, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
			      (uint8_t)len };
	aa_buf_append(&c->body, prefix, 5);
	if (msg)
		a2a_pb_pack(msg, &c->body);
	nghttp2_nv nva[] = {
		NV(":method", "POST"), NV(":scheme", "http"), NV(":path", path),
		NV(":authority", "localhost"), NV("content-type", "application/grpc"),
		NV("te", "trailers"),
	};
	nghttp2_data_provider prd = { .read_callback = h2_read_body };
	c->grpc_status = -1;
	assert_true(nghttp2_submit_request(c->s, NULL, nva, sizeof nva / sizeof nva[0], &prd, c) > 0);
	h2_pump(c);
	return c->grpc_status;
}

/* ---- traffic ------------------------------------------------------------------------------ */

static int dial_done, dial_err;

static void on_dial(void *user, struct p2p_conn *c, int err)
{
	dial_done++;
	dial_err = err;
}

static int connect_done, connect_err;

static void on_connect(void *user, int err)
{
	connect_done++;
	connect_err = err;
}

static int sent_done;
static char sent_id[64];

static void on_sent(void *user, int err, const Agentanycast__V1__Task *task)
{
	assert_int_equal(err, 0);
	snprintf(sent_id, sizeof sent_id, "%s", task->task_id);
	sent_done++;
}

static int incoming;
static char incoming_id[64];

static void on_incoming(void *user, const struct a2a_incoming_event *ev)
{
	snprintf(incoming_id, sizeof incoming_id, "%s", ev->task->task_id);
	incoming++;
}

static int updates_seen, last_status;

static void on_update(void *user, const struct a2a_update_event *ev)
{
	updates_seen++;
	last_status = ev->status;
}

static void on_end(void *user, int err) {}

static const struct a2a_sub_callbacks sub_cbs = {
	.on_incoming = on_incoming,
	.on_update = on_update,
	.on_end = on_end,
};

static int done_count;

static void on_done(void *user, int err)
{
	assert_int_equal(err, 0);
	done_count++;
}

static bool host_idle(void *arg)
{
	struct p2p_host_stats st;
	p2p_host_stats(arg, &st);
	return st.pending == 0;
}

static bool settled(void *arg)
{
	struct a2a_stats sa, sb;
	a2a_node_stats(F->n[0].a2a, &sa);
	a2a_node_stats(F->n[1].a2a, &sb);
	return sa.acks_out >= 2 && sb.acks_in >= 2 && sb.acks_out >= 1 && sa.acks_in >= 1 &&
	       sa.offline_queue_size == 0 && sb.offline_queue_size == 0;
}

static void text_message(Agentanycast__V1__Message *m, Agentanycast__V1__Part *part,
			 Agentanycast__V1__Part **parts, Agentanycast__V1__TextPart *text)
{
	Agentanycast__V1__Message mi = AGENTANYCAST__V1__MESSAGE__INIT;
	Agentanycast__V1__Part pi = AGENTANYCAST__V1__PART__INIT;
	Agentanycast__V1__TextPart ti = AGENTANYCAST__V1__TEXT_PART__INIT;
	*m = mi;
	*part = pi;
	*text = ti;
	text->text = (char *)"hello";
	part->content_case = AGENTANYCAST__V1__PART__CONTENT_TEXT_PART;
	part->text_part = text;
	parts[0] = part;
	m->message_id = (char *)"m-1";
	m->role = AGENTANYCAST__V1__MESSAGE_ROLE__MESSAGE_ROLE_USER;
	m->n_parts = 1;
	m->parts = parts;
}

/* A dials B expecting somebody else: Noise tells it B is not that peer. */
static void dial_wrong_peer(void)
{
	struct p2p_keypair other;
	struct p2p_peer_id other_id;
	p2p_keypair_generate(&other);
	p2p_peer_id_from_public_key(other.public_key, &other_id);
	int before = dial_done;
	assert_int_equal(p2p_host_dial(F->n[0].host, &other_id, &F->n[1].addr, 1, on_dial, NULL), 0);
	assert_true(run_until(&dial_done, before + 1, 5000));
	assert_true(dial_err < 0);
	assert_true(run_pred(host_idle, F->n[1].host, 3000));
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_fresh_node_renders_every_family_at_zero(void **state)
{
	struct node_metrics_sources src = { F->n[0].host, F->n[0].a2a, F->n[0].store, F->grpc };
	struct node_metrics *m;
	assert_int_equal(node_metrics_new(&src, &m), 0);
	char *t = render(m);
	static const char *const families[] = {
		"agentanycast_connected_peers gauge",
		"agentanycast_connections_total counter",
		"agentanycast_connections_by_transport_total counter",
		"agentanycast_streams_open gauge",
		"agentanycast_streams_opened_total counter",
		"agentanycast_bytes_total counter",
		"agentanycast_handshake_failures_total counter",
		"agentanycast_dial_duration_seconds histogram",
		"agentanycast_limit_hits_total counter",
		"agentanycast_tasks_total counter",
		"agentanycast_task_duration_seconds histogram",
		"agentanycast_stream_chunks_total counter",
		"agentanycast_messages_total counter",
		"agentanycast_offline_queue_size gauge",
		"agentanycast_route_resolutions_total counter",
		"agentanycast_bridge_requests_total counter",
		"agentanycast_grpc_requests_total counter",
		"agentanycast_store_commit_duration_seconds histogram",
		"process_resident_memory_bytes gauge",
	};
	for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
		char line[128];
		snprintf(line, sizeof line, "# TYPE %s\n", families[i]);
		if (!strstr(t, line))
			fail_msg("missing %s", line);
		const char *name_end = strchr(families[i], ' ');
		char help[128];
		snprintf(help, sizeof help, "# HELP %.*s ", (int)(name_end - families[i]), families[i]);
		if (!strstr(t, help))
			fail_msg("missing %s", help);
	}
	assert_sample(t, "agentanycast_connected_peers", 0);
	assert_sample(t, "agentanycast_connections_total{direction=\"inbound\"}", 0);
	assert_sample(t, "agentanycast_tasks_total{direction=\"sent\",status=\"input-required\"}", 0);
	assert_sample(t, "agentanycast_messages_total{direction=\"received\",type=\"task_complete\"}", 0);
	assert_sample(t, "agentanycast_limit_hits_total{limit=\"max_connections\"}", 0);
	assert_sample(t, "agentanycast_handshake_failures_total{reason=\"crypto\"}", 0);
	assert_sample(t, "agentanycast_task_duration_seconds_bucket{direction=\"sent\",le=\"0.01\"}", 0);
	assert_sample(t, "agentanycast_task_duration_seconds_bucket{direction=\"sent\",le=\"163.84\"}", 0);
	assert_sample(t, "agentanycast_task_duration_seconds_bucket{direction=\"sent\",le=\"+Inf\"}", 0);
	assert_sample(t, "agentanycast_store_commit_duration_seconds_bucket{le=\"+Inf\"}",
		      sample(t, "agentanycast_store_commit_duration_seconds_count"));
	check_promtool(t);
	free(t);
	node_metrics_free(m);
}

static void test_bridge_requests_count_known_labels_only(void **state)
{
	struct node_metrics_sources src = { 0 };
	struct node_metrics *m;
	assert_int_equal(node_metrics_new(&src, &m), 0);
	node_metrics_bridge_request(m, "inbound", "ok");
	node_metrics_bridge_request(m, "inbound", "ok");
	node_metrics_bridge_request(m, "outbound", "error");
	node_metrics_bridge_request(m, "sideways", "ok");
	node_metrics_bridge_request(m, "inbound", "maybe");
	node_metrics_bridge_request(NULL, "inbound", "ok");
	char *t = render(m);
	assert_sample(t, "agentanycast_bridge_requests_total{direction=\"inbound\",status=\"ok\"}", 2);
	assert_sample(t, "agentanycast_bridge_requests_total{direction=\"inbound\",status=\"error\"}", 0);
	assert_sample(t, "agentanycast_bridge_requests_total{direction=\"outbound\",status=\"error\"}", 1);
	assert_null(strstr(t, "sideways"));
	assert_null(strstr(t, "maybe"));
	free(t);
	node_metrics_free(m);
}

static void test_real_traffic_shows_in_every_family(void **state)
{
	struct node_metrics_sources sa = { F->n[0].host, F->n[0].a2a, F->n[0].store, F->grpc };
	struct node_metrics_sources sb = { F->n[1].host, F->n[1].a2a, F->n[1].store, NULL };
	struct node_metrics *ma, *mb;
	assert_int_equal(node_metrics_new(&sa, &ma), 0);
	assert_int_equal(node_metrics_new(&sb, &mb), 0);
	struct node_service_stats routes0;
	node_service_stats(&routes0);

	/* 1. A dial that fails: B is not the peer A expects. */
	dial_wrong_peer();

	/* 2. A connects to B and sends it a task, which B completes. */
	struct a2a_sub *sub = a2a_subscribe_incoming(F->n[1].a2a, &sub_cbs, NULL);
	assert_int_equal(a2a_connect_peer(F->n[0].a2a, &F->n[1].id, &F->n[1].addr, 1, on_connect,
					  NULL), 0);
	assert_true(run_until(&connect_done, 1, 5000));
	assert_int_equal(connect_err, 0);
	Agentanycast__V1__Message msg;
	Agentanycast__V1__Part part, *parts[1];
	Agentanycast__V1__TextPart text;
	text_message(&msg, &part, parts, &text);
	assert_int_equal(a2a_send_task(F->n[0].a2a, &F->n[1].id, NULL, &msg, on_sent, NULL), 0);
	assert_true(run_until(&sent_done, 1, 5000));
	struct a2a_sub *upd = a2a_subscribe_updates(F->n[0].a2a, sent_id, &sub_cbs, NULL);
	assert_true(run_until(&incoming, 1, 5000));
	assert_string_equal(incoming_id, sent_id);
	assert_int_equal(a2a_complete_task(F->n[1].a2a, incoming_id, NULL, 0, NULL, on_done, NULL), 0);
	assert_true(run_until(&done_count, 1, 5000));
	/* A sees WORKING then COMPLETED. */
	assert_true(run_until(&updates_seen, 2, 5000));
	assert_int_equal(last_status, AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_COMPLETED);
	/* Every ACK landed and both outboxes are empty. */
	assert_true(run_pred(settled, NULL, 5000));

	/* 3. gRPC on A: SendTask by skill (no router: UNAVAILABLE, a route miss), GetNodeInfo,
	 * and a path nobody registered. */
	struct h2c c;
	h2_open(&c);
	Agentanycast__V1__SendTaskRequest req = AGENTANYCAST__V1__SEND_TASK_REQUEST__INIT;
	req.message = &msg;
	req.target_case = AGENTANYCAST__V1__SEND_TASK_REQUEST__TARGET_SKILL_ID;
	req.skill_id = (char *)"translate";
	assert_int_equal(h2_unary(&c, "/agentanycast.v1.NodeService/SendTask", &req.base),
			 GRPC_STATUS_UNAVAILABLE);
	Agentanycast__V1__GetNodeInfoRequest info = AGENTANYCAST__V1__GET_NODE_INFO_REQUEST__INIT;
	assert_int_equal(h2_unary(&c, "/agentanycast.v1.NodeService/GetNodeInfo", &info.base),
			 GRPC_STATUS_OK);
	assert_int_equal(h2_unary(&c, "/nobody.Svc/Nothing", NULL), GRPC_STATUS_UNIMPLEMENTED);
	h2_close(&c);

	/* 4. B holds its one connection: another one hits max_connections. */
	dial_wrong_peer();

	char *a = render(ma);
	char *b = render(mb);

	/* Connections: established ones only (the failed dials are handshake failures). */
	assert_sample(a, "agentanycast_connected_peers", 1);
	assert_sample(b, "agentanycast_connected_peers", 1);
	assert_sample(a, "agentanycast_connections_total{direction=\"outbound\"}", 1);
	assert_sample(a, "agentanycast_connections_total{direction=\"inbound\"}", 0);
	assert_sample(b, "agentanycast_connections_total{direction=\"inbound\"}", 1);
	assert_sample(b, "agentanycast_connections_total{direction=\"outbound\"}", 0);
	assert_sample(a, "agentanycast_connections_by_transport_total{transport=\"tcp\"}", 1);
	assert_sample(a, "agentanycast_handshake_failures_total{reason=\"crypto\"}", 1);
	assert_sample_min(a, "agentanycast_handshake_failures_total{reason=\"closed\"}", 0);
	assert_sample(a, "agentanycast_dial_duration_seconds_count{result=\"ok\"}", 1);
	assert_sample(a, "agentanycast_dial_duration_seconds_count{result=\"error\"}", 2);
	assert_sample(a, "agentanycast_dial_duration_seconds_bucket{result=\"error\",le=\"+Inf\"}", 2);
	assert_true(sample(a, "agentanycast_dial_duration_seconds_sum{result=\"ok\"}") > 0);
	assert_sample(b, "agentanycast_limit_hits_total{limit=\"max_connections\"}", 1);
	assert_sample(b, "agentanycast_limit_hits_total{limit=\"conn_rate_per_ip\"}", 0);
	assert_true(sample(a, "agentanycast_bytes_total{direction=\"in\"}") > 0);
	assert_true(sample(a, "agentanycast_bytes_total{direction=\"out\"}") > 0);
	/* Six a2a streams (one envelope each), three opened by each side; each side counts at
	 * least the ones it accepted. */
	assert_sample_min(a, "agentanycast_streams_opened_total{protocol=\"/agentanycast/a2a/1.0\"}", 3);
	assert_sample_min(b, "agentanycast_streams_opened_total{protocol=\"/agentanycast/a2a/1.0\"}", 3);
	assert_sample_min(a, "agentanycast_streams_open{protocol=\"/agentanycast/a2a/1.0\"}", 0);

	/* Tasks: A sent one, B received it; both saw submitted, working, completed. */
	static const char *const st[] = { "submitted", "working", "completed" };
	for (int i = 0; i < 3; i++) {
		char s[128];
		snprintf(s, sizeof s, "agentanycast_tasks_total{direction=\"sent\",status=\"%s\"}", st[i]);
		assert_sample(a, s, 1);
		assert_sample(b, s, 0);
		snprintf(s, sizeof s, "agentanycast_tasks_total{direction=\"received\",status=\"%s\"}", st[i]);
		assert_sample(b, s, 1);
		assert_sample(a, s, 0);
	}
	assert_sample(a, "agentanycast_tasks_total{direction=\"sent\",status=\"failed\"}", 0);
	assert_sample(a, "agentanycast_task_duration_seconds_count{direction=\"sent\"}", 1);
	assert_sample(a, "agentanycast_task_duration_seconds_bucket{direction=\"sent\",le=\"+Inf\"}", 1);
	assert_sample(a, "agentanycast_task_duration_seconds_bucket{direction=\"sent\",le=\"163.84\"}", 1);
	assert_sample(b, "agentanycast_task_duration_seconds_count{direction=\"received\"}", 1);

	/* Envelopes: SEND_TASK one way, STATUS_UPDATE + COMPLETE back, an ACK for each. */
	assert_sample(a, "agentanycast_messages_total{direction=\"sent\",type=\"send_task\"}", 1);
	assert_sample(b, "agentanycast_messages_total{direction=\"received\",type=\"send_task\"}", 1);
	assert_sample(b, "agentanycast_messages_total{direction=\"sent\",type=\"task_status_update\"}", 1);
	assert_sample(b, "agentanycast_messages_total{direction=\"sent\",type=\"task_complete\"}", 1);
	assert_sample(a, "agentanycast_messages_total{direction=\"received\",type=\"task_status_update\"}", 1);
	assert_sample(a, "agentanycast_messages_total{direction=\"received\",type=\"task_complete\"}", 1);
	assert_sample(a, "agentanycast_messages_total{direction=\"sent\",type=\"ack\"}", 2);
	assert_sample(b, "agentanycast_messages_total{direction=\"sent\",type=\"ack\"}", 1);
	assert_sample(a, "agentanycast_messages_total{direction=\"received\",type=\"ack\"}", 1);
	assert_sample(a, "agentanycast_offline_queue_size", 0);
	assert_sample(a, "agentanycast_stream_chunks_total{direction=\"sent\"}", 0);

	/* gRPC and routing. */
	assert_sample(a, "agentanycast_grpc_requests_total{method=\"/agentanycast.v1.NodeService/SendTask\",code=\"UNAVAILABLE\"}", 1);
	assert_sample(a, "agentanycast_grpc_requests_total{method=\"/agentanycast.v1.NodeService/GetNodeInfo\",code=\"OK\"}", 1);
	assert_sample(a, "agentanycast_grpc_requests_total{method=\"unknown\",code=\"UNIMPLEMENTED\"}", 1);
	assert_null(strstr(a, "nobody.Svc"));
	/* Route counts are process-wide (both node_metrics see them). */
	assert_sample(a, "agentanycast_route_resolutions_total{result=\"miss\"}",
		      (double)routes0.route_miss + 1);
	assert_sample(a, "agentanycast_route_resolutions_total{result=\"hit\"}", 0);

	/* The store committed: the task, the queue, the dedup marks. */
	assert_sample_min(a, "agentanycast_store_commit_duration_seconds_count", 1);
	assert_sample(a, "agentanycast_store_commit_duration_seconds_bucket{le=\"+Inf\"}",
		      sample(a, "agentanycast_store_commit_duration_seconds_count"));

	check_promtool(a);
	check_promtool(b);

	/* A second scrape adds nothing that did not happen. */
	char *a2 = render(ma);
	assert_sample(a2, "agentanycast_connections_total{direction=\"outbound\"}", 1);
	assert_sample(a2, "agentanycast_tasks_total{direction=\"sent\",status=\"completed\"}", 1);
	assert_sample(a2, "agentanycast_dial_duration_seconds_count{result=\"error\"}", 2);
	assert_sample(a2, "agentanycast_grpc_requests_total{method=\"unknown\",code=\"UNIMPLEMENTED\"}", 1);
	free(a2);

	free(a);
	free(b);
	a2a_unsubscribe(upd);
	a2a_unsubscribe(sub);
	node_metrics_free(ma);
	node_metrics_free(mb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fresh_node_renders_every_family_at_zero, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bridge_requests_count_known_labels_only, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_real_traffic_shows_in_every_family, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
