/* bridge: the inbound HTTP bridge — standard A2A agents (JSON-RPC over HTTP, A2A v0.3 and
 * v1.0, plus the legacy tasks/send of REFERENCE.md F.3) reach the agent behind this node
 * (DECISIONS.md 9; the wire facts are in A2A-HTTP.md).
 *
 *   GET  /.well-known/agent-card.json, /.well-known/agent.json, /.well-known/a2a-agent-card
 *        → the node's card in the standard shapes (Vary: A2A-Version)
 *   POST any other path → JSON-RPC: message/send, message/stream (SSE), tasks/get,
 *        tasks/cancel, tasks/resubscribe (SSE), their v1.0 names, tasks/send
 *   OPTIONS from an allowed Origin → 204 with CORS headers (REFERENCE F.1)
 *
 * An incoming message becomes a task created with a2a_create_task() (originator
 * "http-bridge") and delivered to the local SubscribeIncomingTasks subscribers — no dial to
 * ourselves. Blocking sends wait (suspended, no thread) for a terminal or input-required
 * state, at most blocking_timeout_ms, and answer with the task as it is then. Streams send
 * the task, then a status or artifact event per transition, heartbeats while idle, and end
 * after the final state. tasks/get and tasks/cancel only see tasks that came through the
 * bridge, so HTTP clients cannot read or cancel the node's P2P tasks.
 *
 * Ownership: the bridge borrows the engine and the metrics (may be NULL); close it before
 * either. Loop thread only. */
#ifndef AA_HTTP_BRIDGE_H
#define AA_HTTP_BRIDGE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "a2a/a2a.h"
#include "http/node_metrics.h"

#define BRIDGE_ORIGINATOR "http-bridge"

struct bridge;

struct bridge_options {
	const char *listen;               /* REFERENCE F.1 default ":8080" */
	const char *tls_cert_file, *tls_key_file;
	const char *const *cors_origins;  /* REFERENCE F.1: default ["*"]; n = 0 → no CORS */
	size_t n_cors_origins;
	size_t max_body;                  /* 16 MiB */
	unsigned max_connections;         /* 512 */
	unsigned max_streams;             /* open SSE responses: 256 */
	uint64_t blocking_timeout_ms;     /* a blocking send answers by then: 60000 */
	uint64_t heartbeat_ms;            /* SSE comment while idle: 15000 */
	const char *node_name;            /* card name when the SDK set none */
};
void bridge_options_default(struct bridge_options *o);

int bridge_new(uv_loop_t *loop, struct a2a_node *a2a, struct node_metrics *metrics,
	       const struct bridge_options *o, struct bridge **out, char *why, size_t why_len);
/* HOST:PORT actually bound. */
const char *bridge_address(const struct bridge *b);
/* Ends every exchange (pending sends get 503, streams end), then close_cb. */
void bridge_close(struct bridge *b, void (*close_cb)(void *user), void *user);

#endif
