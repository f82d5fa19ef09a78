/* ops: the operator's HTTP endpoint (REFERENCE.md G.1, DECISIONS.md 10) —
 *   GET /metrics  Prometheus text format 0.0.4 from node_metrics
 *   GET /health   {"status","version","uptime_seconds","connected_peers","store":{…}}:
 *                 200 "healthy" when the node has a connected peer or no bootstrap peers
 *                 are configured (G.1) and the store commits; 503 "unhealthy" otherwise.
 * Anything else is 404, other methods 405. Loop thread only; borrows everything. */
#ifndef AA_HTTP_OPS_H
#define AA_HTTP_OPS_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "http/node_metrics.h"
#include "p2p/host.h"
#include "store/store.h"

struct ops_server;

struct ops_sources {
	struct node_metrics *metrics;
	struct p2p_host *host;
	struct store *store;
	const char *version;
	uint64_t started_mono_ns;
	bool has_bootstrap_peers;
};

int ops_server_new(uv_loop_t *loop, const char *listen, const struct ops_sources *src,
		   struct ops_server **out, char *why, size_t why_len);
const char *ops_server_address(const struct ops_server *s);
void ops_server_close(struct ops_server *s, void (*close_cb)(void *user), void *user);

#endif
