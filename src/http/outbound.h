/* outbound: SendTask with `url` — this node's agent calling a standard HTTP A2A agent
 * (DECISIONS.md 9; wire facts in A2A-HTTP.md). For each call:
 *   1. fetch the agent card (<url>/.well-known/agent-card.json, then the origin's
 *      agent-card.json, agent.json, a2a-agent-card) for the JSON-RPC URL, version, streaming;
 *   2. send the message: message/stream (SSE) when the card says it streams, else
 *      message/send without blocking (SendStreamingMessage / SendMessage for v1.0 cards);
 *   3. register the task locally (a2a_create_task, originator "local", the remote task id
 *      when free) and answer the caller with it;
 *   4. follow it to a final state — the rest of the SSE stream, else tasks/get polling with
 *      backoff — applying each state, message and artifact to the local task, so GetTask
 *      and SubscribeTaskUpdates see it as if a peer executed it;
 *   5. when the local task is cancelled (outbound_cancel), tell the remote agent.
 * Failures before step 3 reach the caller (AA_EUNAVAIL cannot reach / no card, AA_ETIMEDOUT,
 * AA_EPROTO the agent answered with an error or garbage, with a reason); after it, they fail
 * the local task with the reason.
 *
 * Ownership: borrows the engine and metrics; owns its HTTP client. Loop thread only. */
#ifndef AA_HTTP_OUTBOUND_H
#define AA_HTTP_OUTBOUND_H

#include <stdint.h>
#include <uv.h>

#include "a2a/a2a.h"
#include "http/node_metrics.h"

struct outbound;

struct outbound_options {
	uint64_t request_timeout_ms;  /* one HTTP call: 60000 (REFERENCE F.4) */
	uint64_t poll_first_ms;       /* first tasks/get after: 200, doubling */
	uint64_t poll_max_ms;         /* backoff cap: 5000 */
	uint64_t follow_limit_ms;     /* stop following (task FAILED "lost track"): 1 h */
	size_t max_response;          /* body or SSE event: 16 MiB */
	unsigned max_jobs;            /* tasks followed at once: 1024 */
	const char *ca_file;          /* extra trust for HTTPS (tests); NULL: system CAs */
};
void outbound_options_default(struct outbound_options *o);

int outbound_new(uv_loop_t *loop, struct a2a_node *a2a, struct node_metrics *metrics,
		 const struct outbound_options *o, struct outbound **out);
/* Stops following every task (their pending callers get AA_ECLOSED), then close_cb. */
void outbound_close(struct outbound *ob, void (*close_cb)(void *user), void *user);

/* why: a short reason for err (NULL when err == 0); task: the registered task. */
typedef void (*outbound_cb)(void *user, int err, const char *why, const Agentanycast__V1__Task *task);
/* AA_EINVAL for a URL that is not http(s)://, AA_ENOMEM beyond max_jobs. */
int outbound_send_task(struct outbound *ob, const char *url, const Agentanycast__V1__Message *msg,
		       outbound_cb cb, void *user);
/* The local task task_id was cancelled here. If a job still follows it: stop following and
 * ask the remote agent to cancel its task too (tasks/cancel or CancelTask, one try, best
 * effort: its answer is only logged). 0 then; AA_ENOENT when no job follows task_id. */
int outbound_cancel(struct outbound *ob, const char *task_id);

#endif
