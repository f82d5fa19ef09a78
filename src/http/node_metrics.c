/* node_metrics: the node's metric families (see node_metrics.h for what each one counts),
 * refreshed from the modules' stats at scrape time. Module stats are cumulative totals since
 * the module started; each counter series remembers the total it last saw and adds the
 * growth, so a counter never goes down (a total below the last one means the source
 * restarted from zero, and all of it is new). Histograms kept by a module as bucket counts
 * are copied whole with metrics_histogram_set(). */
#include "http/node_metrics.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "a2a/a2a.h"
#include "a2a/pb.h"
#include "base/err.h"
#include "base/mem.h"
#include "p2p/conn.h"
#include "p2p/host.h"
#include "rpc/grpc.h"
#include "rpc/node_service.h"
#include "store/store.h"

#define NS "agentanycast_"
/* gRPC methods with a row of their own; the node registers about twenty. Beyond, methods
 * share the row "other" (the registry's own series bound is a second guard). */
#define GRPC_METHOD_ROWS 64
#define GRPC_CODES (GRPC_STATUS_UNAUTHENTICATED + 1)

/* A counter series fed from a cumulative total. */
struct delta {
	struct metrics_series *s;
	uint64_t last;
};

enum limit_kind {
	LIMIT_MAX_CONNECTIONS,
	LIMIT_PENDING_HANDSHAKES,
	LIMIT_CONN_RATE,
	LIMIT_STREAMS_PER_CONN,
	LIMIT_STREAM_WINDOW_BUDGET,
	LIMIT_CONN_BUFFER,
	LIMIT_BUFFER_TOTAL,
	LIMIT_COUNT
};

static const char *const limit_names[LIMIT_COUNT] = {
	"max_connections", "max_pending_handshakes", "conn_rate_per_ip", "max_streams_per_conn",
	"stream_window_budget", "max_conn_buffer", "max_buffer_total",
};

static const char *const dir_names[2] = { "sent", "received" }; /* enum a2a_stats_dir */

struct proto_row {
	char protocol[P2P_PROTO_NAME_MAX];
	struct metrics_series *open;
	struct delta opened;
};

struct grpc_row {
	char *method; /* owned; "unknown" and "other" for the shared rows */
	struct delta codes[GRPC_CODES];
};

struct node_metrics {
	struct node_metrics_sources src;
	struct metrics_registry *reg;

	struct metrics_series *connected_peers;
	struct delta connections[2]; /* inbound, outbound */
	struct delta by_transport_tcp;
	struct delta tasks[2][A2A_STATS_TASK_STATUSES];
	struct metrics_series *task_duration[2];
	struct delta routes[3]; /* hit, miss, error */
	struct metrics_series *bridge[2][2]; /* inbound|outbound × ok|error */
	struct delta chunks[2];
	struct metrics_family *messages_f;
	struct delta messages[2][A2A_STATS_ENVELOPE_TYPES];
	struct metrics_series *offline_queue;

	struct metrics_family *streams_open_f, *streams_opened_f;
	struct proto_row protos[P2P_PROTO_STATS_MAX + 1];
	size_t nprotos;
	struct delta bytes[2]; /* in, out */
	struct delta handshake_failures[P2P_HS_FAIL_COUNT];
	struct metrics_series *dial[2]; /* enum p2p_dial_result */
	struct delta limits[LIMIT_COUNT];

	struct metrics_family *grpc_f;
	struct grpc_row *grpc_rows; /* up to GRPC_METHOD_ROWS + "unknown" + "other" */
	size_t ngrpc_rows;
	struct grpc_method_stats *grpc_scratch;
	size_t grpc_scratch_cap;

	struct metrics_series *store_commit;
};

/* ---- helpers ------------------------------------------------------------------------------ */

static void delta_feed(struct delta *d, uint64_t total)
{
	uint64_t grew = total >= d->last ? total - d->last : total;
	d->last = total;
	if (grew)
		metrics_add(d->s, (double)grew);
}

/* The series of a labelled family for up to two label values. */
static struct metrics_series *series2(struct metrics_family *f, const char *a, const char *b)
{
	const char *v[2] = { a, b };
	return metrics_series(f, v);
}

/* "TASK_STATUS_INPUT_REQUIRED" -> "input-required" (the A2A protocol's spelling of task
 * states); "ENVELOPE_TYPE_TASK_COMPLETE" -> "task_complete". */
static void enum_label(const char *proto_name, const char *prefix, char sep, char *out,
		       size_t cap)
{
	size_t plen = strlen(prefix);
	const char *p = strncmp(proto_name, prefix, plen) == 0 ? proto_name + plen : proto_name;
	size_t i = 0;
	for (; p[i] && i + 1 < cap; i++) {
		char c = p[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		else if (c == '_')
			c = sep;
		out[i] = c;
	}
	out[i] = 0;
}

/* ---- registration --------------------------------------------------------------------------- */

struct reg_ctx {
	struct metrics_registry *reg;
	int rc;
};

static struct metrics_family *counter(struct reg_ctx *c, const char *name, const char *help,
				      const char *const *labels, size_t n)
{
	struct metrics_family *f = NULL;
	int rc = metrics_counter(c->reg, name, help, labels, n, &f);
	if (rc < 0 && c->rc == 0)
		c->rc = rc;
	return f;
}

static struct metrics_family *gauge(struct reg_ctx *c, const char *name, const char *help,
				    const char *const *labels, size_t n)
{
	struct metrics_family *f = NULL;
	int rc = metrics_gauge(c->reg, name, help, labels, n, &f);
	if (rc < 0 && c->rc == 0)
		c->rc = rc;
	return f;
}

static struct metrics_family *histogram(struct reg_ctx *c, const char *name, const char *help,
					const char *const *labels, size_t n, const double *bounds,
					size_t nb)
{
	struct metrics_family *f = NULL;
	int rc = metrics_histogram(c->reg, name, help, labels, n, bounds, nb, &f);
	if (rc < 0 && c->rc == 0)
		c->rc = rc;
	return f;
}

static void register_a2a(struct node_metrics *m, struct reg_ctx *c)
{
	static const char *const dir[] = { "direction" };
	static const char *const dir_status[] = { "direction", "status" };
	static const char *const dir_type[] = { "direction", "type" };

	struct metrics_family *f = counter(c, NS "tasks_total",
		"A2A tasks by direction (sent: originated here; received: executed here) and the "
		"status they reached: submitted at creation, then every committed transition.",
		dir_status, 2);
	for (int d = 0; d < 2; d++)
		for (int st = 1; st < A2A_STATS_TASK_STATUSES; st++) {
			char label[40];
			enum_label(a2a_pb_task_status_name(st), "TASK_STATUS_", '-', label, sizeof label);
			m->tasks[d][st].s = series2(f, dir_names[d], label);
		}

	/* REFERENCE.md G.2: exponential from 0.01, factor 2, 15 buckets; the engine counts in
	 * milliseconds against 10 << i, the same bounds. */
	double bounds[A2A_TASK_DURATION_BUCKETS];
	for (int i = 0; i < A2A_TASK_DURATION_BUCKETS; i++)
		bounds[i] = 0.01 * ldexp(1, i);
	f = histogram(c, NS "task_duration_seconds",
		      "Time from an A2A task's creation to its terminal status, in seconds.", dir, 1,
		      bounds, A2A_TASK_DURATION_BUCKETS);
	for (int d = 0; d < 2; d++)
		m->task_duration[d] = metrics_series(f, &dir_names[d]);

	f = counter(c, NS "stream_chunks_total",
		    "Streaming artifact chunks: sent = fed by the local agent, received = from the "
		    "executing peer.", dir, 1);
	for (int d = 0; d < 2; d++)
		m->chunks[d].s = metrics_series(f, &dir_names[d]);

	m->messages_f = counter(c, NS "messages_total",
		"A2A envelopes by direction (sent: written to a stream, retries included; "
		"received: read and decoded) and type.", dir_type, 2);
	for (int d = 0; d < 2; d++)
		for (int t = 1; t < A2A_STATS_ENVELOPE_TYPES; t++) {
			char label[40];
			enum_label(a2a_pb_envelope_type_name(t), "ENVELOPE_TYPE_", '_', label, sizeof label);
			m->messages[d][t].s = series2(m->messages_f, dir_names[d], label);
		}
	/* Type 0 ("unknown") gets its series when it first happens. */

	f = gauge(c, NS "offline_queue_size",
		  "A2A envelopes persisted for delivery and not yet acknowledged.", NULL, 0);
	m->offline_queue = metrics_series(f, NULL);
}

static void register_p2p(struct node_metrics *m, struct reg_ctx *c)
{
	static const char *const dir[] = { "direction" };
	static const char *const transport[] = { "transport" };
	static const char *const protocol[] = { "protocol" };
	static const char *const reason[] = { "reason" };
	static const char *const limit[] = { "limit" };
	static const char *const result[] = { "result" };

	struct metrics_family *f = gauge(c, NS "connected_peers",
		"Distinct peers with an established connection.", NULL, 0);
	m->connected_peers = metrics_series(f, NULL);

	f = counter(c, NS "connections_total",
		    "Connections established (security and muxer upgrade done), by direction.", dir, 1);
	static const char *const conn_dir[] = { "inbound", "outbound" };
	for (int d = 0; d < 2; d++)
		m->connections[d].s = metrics_series(f, &conn_dir[d]);

	/* REFERENCE.md G.2 names it agentanycast_connections_by_transport; promtool rejects a
	 * counter without the _total suffix, and DECISIONS.md 10 wants it to pass. */
	f = counter(c, NS "connections_by_transport_total",
		    "Connections established, by transport.", transport, 1);
	static const char *const tcp[] = { "tcp" };
	m->by_transport_tcp.s = metrics_series(f, tcp);

	m->streams_open_f = gauge(c, NS "streams_open",
				  "Streams open now, by negotiated protocol.", protocol, 1);
	m->streams_opened_f = counter(c, NS "streams_opened_total",
				      "Streams whose protocol negotiation finished, by protocol.",
				      protocol, 1);

	f = counter(c, NS "bytes_total", "Bytes read from (in) and written to (out) peer sockets.",
		    dir, 1);
	static const char *const io[] = { "in", "out" };
	for (int d = 0; d < 2; d++)
		m->bytes[d].s = metrics_series(f, &io[d]);

	f = counter(c, NS "handshake_failures_total",
		    "Connection upgrades (Noise handshake, muxer negotiation) that failed, by reason.",
		    reason, 1);
	for (int r = 1; r < P2P_HS_FAIL_COUNT; r++) {
		const char *name = p2p_handshake_failure_name((enum p2p_handshake_failure)r);
		m->handshake_failures[r].s = metrics_series(f, &name);
	}

	double bounds[P2P_DIAL_BUCKETS];
	for (int i = 0; i < P2P_DIAL_BUCKETS; i++)
		bounds[i] = (double)p2p_dial_bounds_ns[i] / 1e9;
	f = histogram(c, NS "dial_duration_seconds",
		      "Time from starting a dial to the connection (ok) or to the failure of its "
		      "last address (error), in seconds.", result, 1, bounds, P2P_DIAL_BUCKETS);
	static const char *const results[] = { "ok", "error" }; /* enum p2p_dial_result */
	for (int r = 0; r < 2; r++)
		m->dial[r] = metrics_series(f, &results[r]);

	f = counter(c, NS "limit_hits_total",
		    "Connections or streams refused or reset by a resource limit, by limit.", limit, 1);
	for (int l = 0; l < LIMIT_COUNT; l++)
		m->limits[l].s = metrics_series(f, &limit_names[l]);
}

static void register_rest(struct node_metrics *m, struct reg_ctx *c)
{
	static const char *const result[] = { "result" };
	static const char *const dir_status[] = { "direction", "status" };
	static const char *const method_code[] = { "method", "code" };

	struct metrics_family *f = counter(c, NS "route_resolutions_total",
		"Skill route resolutions of SendTask by skill_id, by result.", result, 1);
	static const char *const results[] = { "hit", "miss", "error" };
	for (int r = 0; r < 3; r++)
		m->routes[r].s = metrics_series(f, &results[r]);

	f = counter(c, NS "bridge_requests_total", "HTTP bridge requests, by direction and outcome.",
		    dir_status, 2);
	static const char *const dirs[] = { "inbound", "outbound" }, *const status[] = { "ok", "error" };
	for (int d = 0; d < 2; d++)
		for (int s = 0; s < 2; s++)
			m->bridge[d][s] = series2(f, dirs[d], status[s]);

	m->grpc_f = counter(c, NS "grpc_requests_total",
			    "Finished gRPC calls, by full method name and status code.", method_code, 2);

	/* The store's last bound is UINT64_MAX: that bucket is +Inf. */
	double bounds[STORE_LATENCY_BUCKETS];
	size_t nb = 0;
	for (size_t i = 0; i < STORE_LATENCY_BUCKETS && store_latency_bounds_ns[i] != UINT64_MAX; i++)
		bounds[nb++] = (double)store_latency_bounds_ns[i] / 1e9;
	f = histogram(c, NS "store_commit_duration_seconds",
		      "Time of one store commit round, from taking the batches to the synced "
		      "transaction, in seconds.", NULL, 0, bounds, nb);
	m->store_commit = metrics_series(f, NULL);

	int rc = metrics_register_process(c->reg);
	if (rc < 0 && c->rc == 0)
		c->rc = rc;
}

int node_metrics_new(const struct node_metrics_sources *src, struct node_metrics **out)
{
	if (!src || !out)
		return AA_EINVAL;
	struct node_metrics *m = aa_calloc(1, sizeof *m);
	m->src = *src;
	m->reg = metrics_registry_new();
	struct reg_ctx c = { m->reg, 0 };
	register_p2p(m, &c);
	register_a2a(m, &c);
	register_rest(m, &c);
	if (c.rc < 0) {
		node_metrics_free(m);
		return c.rc;
	}
	*out = m;
	return 0;
}

void node_metrics_free(struct node_metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->ngrpc_rows; i++)
		free(m->grpc_rows[i].method);
	free(m->grpc_rows);
	free(m->grpc_scratch);
	metrics_registry_free(m->reg);
	free(m);
}

void node_metrics_bridge_request(struct node_metrics *m, const char *direction, const char *status)
{
	if (!m || !direction || !status)
		return;
	int d = !strcmp(direction, "inbound") ? 0 : !strcmp(direction, "outbound") ? 1 : -1;
	int s = !strcmp(status, "ok") ? 0 : !strcmp(status, "error") ? 1 : -1;
	if (d >= 0 && s >= 0)
		metrics_inc(m->bridge[d][s]);
}

/* ---- refresh ------------------------------------------------------------------------------ */

static void refresh_host(struct node_metrics *m)
{
	struct p2p_host *h = m->src.host;
	if (!h)
		return;
	struct p2p_host_stats st;
	p2p_host_stats(h, &st);
	metrics_set(m->connected_peers, (double)p2p_host_connected_peers(h, NULL, 0));
	delta_feed(&m->connections[0], st.established_inbound);
	delta_feed(&m->connections[1], st.established_outbound);
	/* TCP is the host's only transport (p2p_host_listen refuses the others). */
	delta_feed(&m->by_transport_tcp, st.established_inbound + st.established_outbound);
	delta_feed(&m->bytes[0], st.bytes_in);
	delta_feed(&m->bytes[1], st.bytes_out);
	for (int r = 1; r < P2P_HS_FAIL_COUNT; r++)
		delta_feed(&m->handshake_failures[r], st.handshake_failures[r]);
	for (int r = 0; r < 2; r++) {
		double sum = (double)st.dial_ns_sum[r] / 1e9;
		metrics_histogram_set(m->dial[r], st.dial_ns_bucket[r], P2P_DIAL_BUCKETS + 1, sum);
	}
	delta_feed(&m->limits[LIMIT_MAX_CONNECTIONS], st.refused_max_connections);
	delta_feed(&m->limits[LIMIT_PENDING_HANDSHAKES], st.refused_pending_handshakes);
	delta_feed(&m->limits[LIMIT_CONN_RATE], st.refused_conn_rate);
	delta_feed(&m->limits[LIMIT_STREAMS_PER_CONN], st.streams_refused_yamux);
	delta_feed(&m->limits[LIMIT_STREAM_WINDOW_BUDGET], st.streams_refused_budget);
	delta_feed(&m->limits[LIMIT_CONN_BUFFER], st.streams_reset_conn_buffer);
	delta_feed(&m->limits[LIMIT_BUFFER_TOTAL],
		   st.streams_reset_buffer_limit - st.streams_reset_conn_buffer);

	size_t n;
	const struct p2p_proto_stats *ps = p2p_host_protocol_stats(h, &n);
	for (size_t i = 0; i < n && i <= P2P_PROTO_STATS_MAX; i++) {
		/* The host's rows only get appended, so row i is ours once we saw it. */
		struct proto_row *row = &m->protos[i];
		if (i >= m->nprotos) {
			memcpy(row->protocol, ps[i].protocol, sizeof row->protocol);
			row->protocol[sizeof row->protocol - 1] = 0;
			const char *v = row->protocol;
			row->open = metrics_series(m->streams_open_f, &v);
			row->opened.s = metrics_series(m->streams_opened_f, &v);
			m->nprotos = i + 1;
		}
		metrics_set(row->open, (double)ps[i].open);
		delta_feed(&row->opened, ps[i].opened);
	}
}

static void refresh_a2a(struct node_metrics *m)
{
	if (!m->src.a2a)
		return;
	struct a2a_stats st;
	a2a_node_stats(m->src.a2a, &st);
	for (int d = 0; d < 2; d++) {
		for (int s = 1; s < A2A_STATS_TASK_STATUSES; s++)
			delta_feed(&m->tasks[d][s], st.tasks_by_status[d][s]);
		for (int t = 0; t < A2A_STATS_ENVELOPE_TYPES; t++) {
			if (!m->messages[d][t].s && st.envelopes_by_type[d][t])
				m->messages[d][t].s = series2(m->messages_f, dir_names[d], "unknown");
			delta_feed(&m->messages[d][t], st.envelopes_by_type[d][t]);
		}
		metrics_histogram_set(m->task_duration[d], st.task_duration_bucket[d],
				      A2A_TASK_DURATION_BUCKETS + 1,
				      (double)st.task_duration_ms_sum[d] / 1000.0);
	}
	delta_feed(&m->chunks[A2A_STATS_SENT], st.stream_chunks_sent);
	delta_feed(&m->chunks[A2A_STATS_RECEIVED], st.stream_chunks_received);
	metrics_set(m->offline_queue, (double)st.offline_queue_size);
}

static void refresh_store(struct node_metrics *m)
{
	if (!m->src.store)
		return;
	struct store_stats st;
	store_stats_get(m->src.store, &st);
	metrics_histogram_set(m->store_commit, st.commit_ns_bucket, STORE_LATENCY_BUCKETS,
			      (double)st.commit_ns_sum / 1e9);
}

static void refresh_routes(struct node_metrics *m)
{
	struct node_service_stats st;
	node_service_stats(&st);
	delta_feed(&m->routes[0], st.route_hit);
	delta_feed(&m->routes[1], st.route_miss);
	delta_feed(&m->routes[2], st.route_error);
}

static struct grpc_row *grpc_row(struct node_metrics *m, const char *method)
{
	for (size_t i = 0; i < m->ngrpc_rows; i++)
		if (!strcmp(m->grpc_rows[i].method, method))
			return &m->grpc_rows[i];
	m->grpc_rows = aa_realloc(m->grpc_rows, (m->ngrpc_rows + 1) * sizeof *m->grpc_rows);
	struct grpc_row *r = &m->grpc_rows[m->ngrpc_rows++];
	memset(r, 0, sizeof *r);
	r->method = aa_strdup(method);
	return r;
}

/* Feeds one row from a total per code; series appear with their first call. */
static void grpc_feed(struct node_metrics *m, const char *method, const uint64_t *by_code)
{
	struct grpc_row *r = NULL;
	for (int code = 0; code < GRPC_CODES; code++) {
		if (!by_code[code])
			continue;
		if (!r)
			r = grpc_row(m, method);
		if (!r->codes[code].s)
			r->codes[code].s = series2(m->grpc_f, method, grpc_status_name(code));
		delta_feed(&r->codes[code], by_code[code]);
	}
}

static void refresh_grpc(struct node_metrics *m)
{
	if (!m->src.grpc)
		return;
	size_t n = grpc_server_method_stats(m->src.grpc, m->grpc_scratch, m->grpc_scratch_cap);
	if (n > m->grpc_scratch_cap) {
		m->grpc_scratch = aa_realloc(m->grpc_scratch, n * sizeof *m->grpc_scratch);
		m->grpc_scratch_cap = n;
		n = grpc_server_method_stats(m->src.grpc, m->grpc_scratch, n);
	}
	/* Rows of their own for the first GRPC_METHOD_ROWS methods that were called; the rest
	 * are summed into "other" (methods are never unregistered, so the sum only grows). */
	uint64_t other[GRPC_CODES] = { 0 };
	size_t own = 0;
	for (size_t i = 0; i < m->ngrpc_rows; i++)
		if (strcmp(m->grpc_rows[i].method, "unknown") && strcmp(m->grpc_rows[i].method, "other"))
			own++;
	for (size_t i = 0; i < n; i++) {
		const struct grpc_method_stats *ms = &m->grpc_scratch[i];
		const char *name = ms->method ? ms->method : "unknown";
		bool known = false;
		for (size_t k = 0; k < m->ngrpc_rows; k++)
			if (!strcmp(m->grpc_rows[k].method, name))
				known = true;
		bool any = false;
		for (int code = 0; code < GRPC_CODES; code++)
			any |= ms->by_code[code] != 0;
		if (!ms->method || known || (any && own < GRPC_METHOD_ROWS)) {
			if (ms->method && !known && any)
				own++;
			grpc_feed(m, name, ms->by_code);
		} else {
			for (int code = 0; code < GRPC_CODES; code++)
				other[code] += ms->by_code[code];
		}
	}
	grpc_feed(m, "other", other);
}

int node_metrics_render(struct node_metrics *m, struct aa_buf *out)
{
	if (!m || !out)
		return AA_EINVAL;
	refresh_host(m);
	refresh_a2a(m);
	refresh_store(m);
	refresh_routes(m);
	refresh_grpc(m);
	return metrics_render(m->reg, out);
}
