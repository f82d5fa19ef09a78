/* node_metrics: every metric family of the node (DECISIONS.md 10; REFERENCE.md G.2 plus the
 * libp2p-level, gRPC, store and process families), registered once and refreshed from the
 * modules' own stats at scrape time, then rendered in the Prometheus text format for
 * GET /metrics. The modules keep plain counters; counters here add what the module's total
 * grew by since the previous scrape, so they never go down.
 *
 * Families (all agentanycast_* unless noted; "counts" is what one increment means):
 *   connected_peers                       gauge: distinct peers with an established connection
 *   connections_total{direction}          inbound|outbound: connections whose upgrade
 *                                         (Noise + yamux) succeeded
 *   connections_by_transport_total{transport}  the same by transport (tcp: the only one the
 *                                         host has). The reference name has no _total;
 *                                         `promtool check metrics` rejects a counter without
 *                                         it, so the suffix is added.
 *   tasks_total{direction,status}         sent (this node originated the task) | received
 *                                         (this node executes it); status = the status the
 *                                         task reached: submitted at creation, then every
 *                                         committed transition (working, input-required,
 *                                         completed, failed, canceled, rejected; the implicit
 *                                         WORKING before a COMPLETE/FAIL from SUBMITTED too)
 *   task_duration_seconds{direction}      histogram: creation to the commit of the terminal
 *                                         status; buckets 0.01 s × 2^i, 15 (REFERENCE G.2)
 *   route_resolutions_total{result}       hit|miss|error: SendTask by skill_id (no anycast
 *                                         router yet: every one is a miss)
 *   bridge_requests_total{direction,status}  inbound|outbound × ok|error, from the HTTP
 *                                         bridge through node_metrics_bridge_request()
 *   stream_chunks_total{direction}        sent: chunks the local agent fed; received: chunks
 *                                         from the executing peer
 *   messages_total{direction,type}        A2A envelopes: sent = written to a stream (a retry
 *                                         counts again), received = read and decoded; type =
 *                                         the EnvelopeType proto name without its prefix,
 *                                         lower case (send_task, task_status_update,
 *                                         task_complete, task_fail, task_cancel, ack,
 *                                         stream_start, stream_chunk, stream_end, …; unknown
 *                                         for values outside the contract)
 *   offline_queue_size                    gauge: envelopes persisted and not yet ACKed
 *   streams_open{protocol}                gauge: negotiated streams open now
 *   streams_opened_total{protocol}        streams whose protocol negotiation finished
 *   bytes_total{direction}                in|out: bytes read from / written to peer sockets
 *   handshake_failures_total{reason}      upgrades that failed: timeout, negotiation, crypto,
 *                                         protocol, closed, io
 *   dial_duration_seconds{result}         histogram: p2p_host_dial() to the connection (ok)
 *                                         or to the failure of the last address (error)
 *   limit_hits_total{limit}               max_connections, max_pending_handshakes,
 *                                         conn_rate_per_ip (inbound connections refused),
 *                                         max_streams_per_conn (remote streams refused by
 *                                         yamux at max_streams_per_conn or
 *                                         max_inbound_streams_pending), stream_window_budget
 *                                         (streams refused or not opened: their windows would
 *                                         not fit max_conn_buffer), max_conn_buffer and
 *                                         max_buffer_total (streams reset for holding more)
 *   grpc_requests_total{method,code}      finished gRPC calls by full method name ("unknown"
 *                                         for unregistered paths) and status name ("OK", …)
 *   store_commit_duration_seconds         histogram: one store commit round, taking the
 *                                         batches to the synced transaction
 *   process_*                             standard process metrics
 *
 * Threading: the loop thread only. */
#ifndef AA_HTTP_NODE_METRICS_H
#define AA_HTTP_NODE_METRICS_H

#include "base/buf.h"
#include "metrics/metrics.h"

struct p2p_host;
struct a2a_node;
struct store;
struct grpc_server;

struct node_metrics;

/* What the metrics are read from; borrowed, must outlive the node_metrics. Any may be NULL:
 * its families then stay at zero. */
struct node_metrics_sources {
	struct p2p_host *host;     /* p2p/host.h */
	struct a2a_node *a2a;      /* a2a/a2a.h */
	struct store *store;       /* store/store.h */
	struct grpc_server *grpc;  /* rpc/grpc.h; may be NULL */
};

/* Registers every family. Returns 0, or AA_EINVAL for NULL arguments. */
int node_metrics_new(const struct node_metrics_sources *src, struct node_metrics **out);
/* NULL is fine. */
void node_metrics_free(struct node_metrics *m);
/* Refreshes every family from the modules' stats, then appends the whole exposition
 * (METRICS_CONTENT_TYPE) to out. Loop thread. */
int node_metrics_render(struct node_metrics *m, struct aa_buf *out);
/* agentanycast_bridge_requests_total{direction="inbound"|"outbound",status="ok"|"error"}:
 * the HTTP bridge calls this per request (m may be NULL: no-op; other values are ignored). */
void node_metrics_bridge_request(struct node_metrics *m, const char *direction, const char *status);

#endif
