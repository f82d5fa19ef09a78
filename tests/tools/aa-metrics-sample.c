/* aa-metrics-sample: prints a sample Prometheus exposition with every kind of family the
 * daemon exports (the agentanycast_* node families of REFERENCE.md G.2 with a few series
 * each, scrape-time gauges, process metrics, escaping, special values), for
 * tests/integration/metrics_format.test.sh to feed to `promtool check metrics`. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/buf.h"
#include "base/err.h"
#include "metrics/metrics.h"

static double queue_size(void *user)
{
	return 17;
}

static void must(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "aa-metrics-sample: %s: %s\n", what, aa_strerror(rc));
		exit(1);
	}
}

/* Counter family with the given labels and one increment count per row of values. */
static void counter_rows(struct metrics_registry *reg, const char *name, const char *help,
			 const char *const *labels, size_t n_labels, const char *const *values,
			 size_t n_rows)
{
	struct metrics_family *f;
	must(metrics_counter(reg, name, help, labels, n_labels, &f), name);
	for (size_t r = 0; r < n_rows; r++)
		metrics_add(metrics_series(f, values + r * n_labels), (double)(r * 3 + 1));
}

int main(void)
{
	struct metrics_registry *reg = metrics_registry_new();
	struct metrics_series *s;

	must(metrics_gauge0(reg, "agentanycast_connected_peers", "Peers with an open connection.",
			    &s), "connected_peers");
	metrics_set(s, 3);

	static const char *const dir[] = { "direction" };
	static const char *const dir_rows[] = { "inbound", "outbound" };
	counter_rows(reg, "agentanycast_connections_total", "Connections opened, by direction.",
		     dir, 1, dir_rows, 2);

	static const char *const transport[] = { "transport" };
	static const char *const transport_rows[] = { "tcp", "quic", "unknown" };
	counter_rows(reg, "agentanycast_connections_by_transport_total",
		     "Connections opened, by transport.", transport, 1, transport_rows, 3);

	static const char *const dir_status[] = { "direction", "status" };
	static const char *const task_rows[] = { "sent", "submitted", "sent", "error",
						 "received", "submitted" };
	counter_rows(reg, "agentanycast_tasks_total", "A2A tasks sent and received, by outcome.",
		     dir_status, 2, task_rows, 3);

	/* REFERENCE.md G.2: 15 exponential buckets from 0.01, factor 2. */
	double bounds[15];
	for (int i = 0; i < 15; i++)
		bounds[i] = 0.01 * ldexp(1, i);
	struct metrics_family *dur;
	must(metrics_histogram(reg, "agentanycast_task_duration_seconds",
			       "Time to send an A2A task, in seconds.", dir, 1, bounds, 15, &dur),
	     "task_duration_seconds");
	static const char *const sent[] = { "sent" };
	s = metrics_series(dur, sent);
	const double obs[] = { 0.003, 0.05, 0.05, 0.7, 1.28, 3, 400 };
	for (size_t i = 0; i < sizeof obs / sizeof obs[0]; i++)
		metrics_observe(s, obs[i]);
	static const char *const received[] = { "received" };
	metrics_series(dur, received); /* an empty histogram series */

	static const char *const result[] = { "result" };
	static const char *const route_rows[] = { "hit", "miss" };
	counter_rows(reg, "agentanycast_route_resolutions_total",
		     "Skill route resolutions, by result.", result, 1, route_rows, 2);

	static const char *const bridge_rows[] = { "outbound", "ok", "outbound", "error" };
	counter_rows(reg, "agentanycast_bridge_requests_total",
		     "HTTP bridge requests, by direction and outcome.", dir_status, 2, bridge_rows,
		     2);

	static const char *const chunk_rows[] = { "inbound", "outbound" };
	counter_rows(reg, "agentanycast_stream_chunks_total",
		     "Streaming chunks carried, by direction.", dir, 1, chunk_rows, 2);

	static const char *const type[] = { "type" };
	static const char *const msg_rows[] = { "send_task", "ack", "task_complete" };
	counter_rows(reg, "agentanycast_messages_total", "A2A envelopes handled, by type.", type,
		     1, msg_rows, 3);

	must(metrics_gauge_fn(reg, "agentanycast_offline_queue_size",
			      "Envelopes waiting for an offline peer.", queue_size, NULL),
	     "offline_queue_size");

	/* Label values a peer could choose: quotes, backslashes, newlines, non-UTF-8 bytes. */
	static const char *const tool_status[] = { "tool", "status" };
	static const char *const tool_rows[] = { "say \"hi\"\\now\nplease", "ok",
						 "bad\xff\xfe" "bytes", "error" };
	counter_rows(reg, "agentanycast_mcp_tool_calls_total",
		     "MCP tool calls, by tool and outcome.\nTool names come from \\ peers.",
		     tool_status, 2, tool_rows, 2);

	/* Special values. */
	static const char *const which[] = { "which" };
	static const char *const which_rows[] = { "pos", "neg", "nan", "tiny" };
	struct metrics_family *special;
	must(metrics_gauge(reg, "agentanycast_sample_special_values",
			   "Gauge values that need special spelling.", which, 1, &special),
	     "special");
	metrics_set(metrics_series(special, which_rows + 0), INFINITY);
	metrics_set(metrics_series(special, which_rows + 1), -INFINITY);
	metrics_set(metrics_series(special, which_rows + 2), NAN);
	metrics_set(metrics_series(special, which_rows + 3), 1.5e-300);

	must(metrics_register_process(reg), "process");

	struct aa_buf out;
	aa_buf_init(&out);
	must(metrics_render(reg, &out), "render");
	fwrite(out.p, 1, out.n, stdout);
	aa_buf_free(&out);
	metrics_registry_free(reg);
	return fflush(stdout) == 0 ? 0 : 1;
}
