/* ops: /metrics and /health on their own small HTTP server (see ops.h). */
#include "http/ops.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/mem.h"
#include "http/server.h"
#include "metrics/metrics.h"

/* A commit failure makes /health unhealthy for this long after it was seen. */
#define STORE_FAILURE_WINDOW_NS (60ull * 1000000000ull)

struct ops_server {
	struct http_server *http;
	struct ops_sources src;
	char *version;
	uint64_t seen_commit_errors;
	uint64_t last_failure_ns;     /* 0: none seen */
	void (*close_cb)(void *user);
	void *close_user;
};

static void serve_metrics(struct ops_server *s, struct http_exchange *ex)
{
	struct aa_buf out;
	aa_buf_init(&out);
	node_metrics_render(s->src.metrics, &out);
	http_reply(ex, 200, METRICS_CONTENT_TYPE, out.p ? (const char *)out.p : "", out.n);
	aa_buf_free(&out);
}

/* The store is failing if a commit failed within the last minute (a full disk, an I/O
 * error): tasks accepted now might not be durable. */
static const char *store_state(struct ops_server *s, struct store_stats *st)
{
	store_stats_get(s->src.store, st);
	uint64_t now = aa_clock_mono_ns();
	if (st->commit_errors > s->seen_commit_errors) {
		s->seen_commit_errors = st->commit_errors;
		s->last_failure_ns = now;
	}
	return s->last_failure_ns && now - s->last_failure_ns < STORE_FAILURE_WINDOW_NS ? "failing" : "ok";
}

static void serve_health(struct ops_server *s, struct http_exchange *ex)
{
	struct p2p_host_stats hs;
	p2p_host_stats(s->src.host, &hs);
	size_t peers = p2p_host_connected_peers(s->src.host, NULL, 0);
	struct store_stats st;
	const char *store = s->src.store ? store_state(s, &st) : "none";
	bool net_ok = peers > 0 || !s->src.has_bootstrap_peers; /* REFERENCE G.1 */
	bool healthy = net_ok && strcmp(store, "failing") != 0;
	double uptime = (double)(aa_clock_mono_ns() - s->src.started_mono_ns) / 1e9;
	json_t *j = json_pack("{s:s, s:s, s:f, s:I, s:I, s:{s:s, s:I}}",
			      "status", healthy ? "healthy" : "unhealthy",
			      "version", s->version,
			      "uptime_seconds", uptime,
			      "connected_peers", (json_int_t)peers,
			      "connections", (json_int_t)hs.connections,
			      "store", "state", store,
			      "commit_errors", (json_int_t)(s->src.store ? st.commit_errors : 0));
	http_reply_json(ex, healthy ? 200 : 503, j);
}

static void on_request(void *user, struct http_exchange *ex)
{
	struct ops_server *s = user;
	const char *path = http_path(ex);
	bool metrics = strcmp(path, "/metrics") == 0, health = strcmp(path, "/health") == 0;
	if (!metrics && !health) {
		http_reply_text(ex, 404, "not found\n");
		return;
	}
	if (strcmp(http_method(ex), "GET") != 0 && strcmp(http_method(ex), "HEAD") != 0) {
		http_add_header(ex, "Allow", "GET, HEAD");
		http_reply_text(ex, 405, "method not allowed\n");
		return;
	}
	if (metrics)
		serve_metrics(s, ex);
	else
		serve_health(s, ex);
}

int ops_server_new(uv_loop_t *loop, const char *listen, const struct ops_sources *src,
		   struct ops_server **out, char *why, size_t why_len)
{
	struct ops_server *s = aa_calloc(1, sizeof *s);
	s->src = *src;
	s->version = aa_strdup(src->version ? src->version : "dev");
	s->src.version = s->version;
	struct http_server_options ho;
	http_server_options_default(&ho);
	ho.listen = listen;
	ho.max_body = 64 * 1024;
	ho.max_connections = 64;
	/* REFERENCE G.1: read 5 s / write 10 s. */
	ho.idle_timeout_s = 10;
	ho.body_timeout_s = 5;
	ho.name = "metrics";
	int rc = http_server_new(loop, &ho, on_request, s, &s->http, why, why_len);
	if (rc < 0) {
		free(s->version);
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

const char *ops_server_address(const struct ops_server *s)
{
	return http_server_address(s->http);
}

static void on_closed(void *user)
{
	struct ops_server *s = user;
	void (*cb)(void *) = s->close_cb;
	void *u = s->close_user;
	free(s->version);
	free(s);
	if (cb)
		cb(u);
}

void ops_server_close(struct ops_server *s, void (*close_cb)(void *user), void *user)
{
	s->close_cb = close_cb;
	s->close_user = user;
	http_server_close(s->http, on_closed, s);
}
