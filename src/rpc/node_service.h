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
	/* SendTask with url (DECISIONS 9), provided by the HTTP bridge's outbound side; NULL →
	 * UNIMPLEMENTED. Same contract as outbound_send_task (src/http/outbound.h): AA_EINVAL
	 * bad URL; cb once, with the registered task or an error and its reason (AA_EUNAVAIL,
	 * AA_ETIMEDOUT, AA_EPROTO = the remote agent refused or answered garbage). */
	int (*send_to_url)(void *ctx, const char *url, const Agentanycast__V1__Message *msg,
			   void (*cb)(void *user, int err, const char *why, const Agentanycast__V1__Task *task),
			   void *user);
	/* A task was cancelled by CancelTask: if it was sent with url, tell the remote agent
	 * (outbound_cancel). May be NULL. */
	void (*cancel_url_task)(void *ctx, const char *task_id);
	void *send_to_url_ctx; /* for both */
};

int node_service_new(struct grpc_server *grpc, struct a2a_node *a2a, struct p2p_host *host,
		     const struct node_service_info *info, struct node_service **out);
/* Frees the service (and its health service); only after the gRPC server has closed. */
void node_service_free(struct node_service *ns);

/* Skill routing outcomes of SendTask(skill_id), process-wide (every service of the process
 * adds to the same counts), for agentanycast_route_resolutions_total{result}. Without an
 * anycast router every skill SendTask is answered UNAVAILABLE and counts as a miss. Loop
 * thread only. */
struct node_service_stats {
	uint64_t route_hit, route_miss, route_error;
};
void node_service_stats(struct node_service_stats *out);

/* The gRPC status for an AA_E… code, as the header of a2a.h lists. */
int node_service_status_for(int err);

#endif
