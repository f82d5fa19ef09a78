/* node_service: the agentanycast.v1.NodeService gRPC API the official SDKs use (all 16 RPCs,
 * REFERENCE.md D.2–D.4 with DECISIONS.md 1–6), plus grpc.health.v1.Health reporting
 * SERVING for "" and "agentanycast.v1.NodeService". It decodes requests, validates them
 * with the reference's status codes, and drives the A2A engine (src/a2a/a2a.h); replies that
 * promise durability are sent from the engine's completion callbacks, i.e. after the commit.
 *
 * Ownership: the caller owns the gRPC server, the engine and the host. The server keeps
 * pointers to the service's handlers, so shut down in this order: grpc_server_close() (which
 * cancels every call: subscriptions end, streams abort), then in its callback
 * node_service_free(), then close the engine and the host. Loop thread only. */
#ifndef AA_RPC_NODE_SERVICE_H
#define AA_RPC_NODE_SERVICE_H

#include "a2a/a2a.h"
#include "p2p/host.h"
#include "rpc/grpc.h"

struct node_service;

struct node_service_info {
	const char *version; /* REFERENCE D.2: GetNodeInfo reports "0.1.0" */
	int64_t started_at_ms;
	size_t max_message_size; /* request decode limit */
};

int node_service_new(struct grpc_server *grpc, struct a2a_node *a2a, struct p2p_host *host,
		     const struct node_service_info *info, struct node_service **out);
/* Frees the service (and its health service); only after the gRPC server has closed. */
void node_service_free(struct node_service *ns);

/* The gRPC status for an AA_E… code, as the header of a2a.h lists. */
int node_service_status_for(int err);

#endif
