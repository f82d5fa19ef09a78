/* a2a: the A2A engine of the node — agent cards (/agentanycast/card/1.0), task envelopes
 * (/agentanycast/a2a/1.0: 4-byte big-endian length + A2AEnvelope protobuf), the task state
 * machine, ACK tracking with retries, the durable offline queue, de-duplication that
 * survives restarts, and streaming artifacts across peers. REFERENCE.md B and C describe
 * the wire and the reference behaviour; DECISIONS.md 1–6 say where we do better and win.
 *
 * This header is the whole public face used by the gRPC NodeService (src/rpc) and, later,
 * the HTTP bridge. Protobuf types are the protoc-c ones of proto/agentanycast/v1.
 *
 * Durability: every operation that changes state commits to the store (src/store) before
 * its completion callback runs, and before any ACK for it goes out; a caller that answers
 * an RPC from the callback therefore promises only what is on disk.
 *
 * Errors (negative AA_E…, mapped to gRPC codes by the RPC layer):
 *   AA_EINVAL  → INVALID_ARGUMENT     AA_ENOENT → NOT_FOUND
 *   AA_ESTATE  → FAILED_PRECONDITION  AA_EUNAVAIL → UNAVAILABLE
 *   AA_ENOMEM  → RESOURCE_EXHAUSTED   anything else → INTERNAL
 *
 * Reads (GetTask, cards) see a change as soon as the call that made it returned; events,
 * callbacks and envelopes to peers follow its commit, in call order.
 *
 * A call that returns an error does not call its callback; a call that returns 0 calls it
 * exactly once. Closing the node lets pending commits finish (their callbacks get their
 * real status); what waits for the network (ConnectPeer, a2a_stream_close) ends with
 * AA_ECLOSED.
 *
 * Ownership: protobuf messages passed in are borrowed for the duration of the call (the
 * engine copies what it keeps); messages handed to callbacks are borrowed for the duration
 * of the callback. Threading: the loop thread only. */
#ifndef AA_A2A_A2A_H
#define AA_A2A_A2A_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "agentanycast/v1/a2a_models.pb-c.h"
#include "agentanycast/v1/agent_card.pb-c.h"
#include "agentanycast/v1/streaming.pb-c.h"
#include "p2p/host.h"
#include "p2p/keys.h"
#include "p2p/peerid.h"
#include "store/store.h"

#define A2A_CARD_PROTOCOL_ID "/agentanycast/card/1.0"
#define A2A_PROTOCOL_ID "/agentanycast/a2a/1.0"
/* REFERENCE B.2: larger announced frame lengths end the stream. */
#define A2A_MAX_FRAME (16u * 1024 * 1024)
/* REFERENCE B.5: tasks created by SendTask on this node have this originator. */
#define A2A_ORIGINATOR_LOCAL "local"

struct a2a_node;

struct a2a_config {
	uint64_t offline_queue_ttl_ns;   /* DECISIONS 4: default 24 h */
	uint32_t retry_first_ms;         /* REFERENCE B.7: 2000; then doubling */
	uint32_t max_retries;            /* REFERENCE B.7: 3, then the offline queue */
	uint32_t subscriber_buffer;      /* events buffered per slow subscriber before it is
					  * dropped (not the others): default 256 */
	uint64_t card_exchange_wait_ns;  /* ConnectPeer waits this long for the card: 3 s */
	uint64_t send_timeout_ns;        /* one envelope write: 10 s (REFERENCE B.8) */
	size_t max_tasks;                /* in memory and on disk; oldest terminal ones are
					  * evicted beyond it: default 100000 */
};
void a2a_config_default(struct a2a_config *cfg);

/* Registers both protocols on host, subscribes to its connections (card exchange and
 * offline-queue flush on every new connection, REFERENCE A.7), and recovers tasks, cards,
 * the offline queue and the dedup set from the store. Borrowed: loop, host, store, identity
 * (must outlive the node). */
int a2a_node_new(uv_loop_t *loop, struct p2p_host *host, struct store *store,
		 const struct p2p_keypair *identity, const struct a2a_config *cfg,
		 struct a2a_node **out);
/* Stops timers, unregisters, ends every subscription (their end callbacks run with
 * AA_ECLOSED), waits for pending commits, then calls close_cb. */
void a2a_node_close(struct a2a_node *n, void (*close_cb)(void *user), void *user);

typedef void (*a2a_done_cb)(void *user, int err);
typedef void (*a2a_task_cb)(void *user, int err, const Agentanycast__V1__Task *task);

/* ---- cards (REFERENCE B.3) ------------------------------------------------------------- */

/* Sets our card: p2p_extension is created if absent and its peer_id and did_key are set to
 * ours; persisted as "self"; pushed to every connected peer. cb after the commit. */
int a2a_set_agent_card(struct a2a_node *n, const Agentanycast__V1__AgentCard *card,
		       a2a_done_cb cb, void *user);
/* Our card (NULL before the first SetAgentCard on a fresh store). Borrowed. */
const Agentanycast__V1__AgentCard *a2a_own_card(const struct a2a_node *n);
/* The last card a peer gave us, or NULL. Borrowed until the next event loop turn. */
const Agentanycast__V1__AgentCard *a2a_peer_card(const struct a2a_node *n,
						 const struct p2p_peer_id *peer);

/* Connects to peer (addresses optional: the peerstore's are used when n == 0); cb runs once
 * the connection is up and, when we have a card to exchange, once the card exchange has
 * finished or card_exchange_wait_ns passed — so GetPeerCard right after sees the card
 * (DECISIONS, issue 4). AA_EUNAVAIL when the dial fails. */
int a2a_connect_peer(struct a2a_node *n, const struct p2p_peer_id *peer,
		     const struct multiaddr *addrs, size_t naddrs, a2a_done_cb cb, void *user);

/* ---- tasks (REFERENCE C, DECISIONS 1–5) ------------------------------------------------- */

/* Creates a local task (originator "local", status SUBMITTED, messages = [msg]) and a
 * SEND_TASK envelope to peer; both are committed before cb runs (the envelope goes to the
 * offline queue if the peer cannot be reached now, to be sent in order when it connects).
 * skill_id may be NULL. cb gets the task as the SendTask RPC returns it. */
int a2a_send_task(struct a2a_node *n, const struct p2p_peer_id *peer, const char *skill_id,
		  const Agentanycast__V1__Message *msg, a2a_task_cb cb, void *user);

/* A task with an end outside the P2P network (DECISIONS 9), never the subject of an
 * envelope:
 * - originator = an outside source's label (e.g. "http-bridge"): the task is executed here
 *   and announced to SubscribeIncomingTasks like one from a peer (the HTTP bridge inbound);
 * - originator = A2A_ORIGINATOR_LOCAL: a task this node sent to an outside agent (SendTask
 *   with url); the caller then drives its state with the transition calls below as it
 *   learns it from that agent.
 * task_id NULL or "": a fresh UUID; AA_EEXIST when the id is taken; AA_EINVAL for ids,
 * labels or a message over the limits. cb after the commit, with the task. */
struct a2a_task_spec {
	const char *task_id;
	const char *context_id;  /* may be NULL */
	const char *skill_id;    /* may be NULL */
	const char *originator;
	const Agentanycast__V1__Message *message;
	/* Outside originator only: announce the task to SubscribeIncomingTasks at once instead
	 * of after its commit, so the agent's work overlaps the disk write. For a source that
	 * hears nothing before the task's outcome is committed anyway (a blocking HTTP send):
	 * if the commit fails, the task is forgotten and the agent's calls on it get AA_ENOENT,
	 * and the source gets the error. */
	bool announce_early;
};
int a2a_create_task(struct a2a_node *n, const struct a2a_task_spec *spec, a2a_task_cb cb, void *user);

/* The task with its messages and artifacts (DECISIONS 3), or NULL. Borrowed until the next
 * event loop turn. */
const Agentanycast__V1__Task *a2a_get_task(const struct a2a_node *n, const char *task_id);

/* a2a_get_task, but NULL while a change of the task whose update event has not gone out
 * yet is being committed: what a new subscriber may be told without racing that event.
 * (A change from a peer is told before its commit, so it does not hold this back.) */
const Agentanycast__V1__Task *a2a_get_settled_task(const struct a2a_node *n, const char *task_id);

/* COMPLETED, FAILED, CANCELED or REJECTED: no transition leaves it (REFERENCE C.1). */
bool a2a_task_status_terminal(int status);

/* Transitions (REFERENCE C.1 + DECISIONS 1: Complete/Fail on SUBMITTED first go through
 * WORKING, whose update reaches a remote originator first). Each one is committed, then
 * emitted to update subscribers as one event carrying its message and artifacts
 * (DECISIONS 2), then sent to a remote originator in order. AA_ENOENT unknown task (the RPC
 * layer maps that to FAILED_PRECONDITION for Update/Complete/Fail as the reference does),
 * AA_ESTATE invalid transition. */
int a2a_update_task_status(struct a2a_node *n, const char *task_id,
			   Agentanycast__V1__TaskStatus status, const Agentanycast__V1__Message *msg,
			   a2a_done_cb cb, void *user);
int a2a_complete_task(struct a2a_node *n, const char *task_id,
		      Agentanycast__V1__Artifact *const *artifacts, size_t nartifacts,
		      const Agentanycast__V1__Message *msg, a2a_done_cb cb, void *user);
/* The error text reaches the originator's subscribers as the status message (DECISIONS 2). */
int a2a_fail_task(struct a2a_node *n, const char *task_id, const char *error_message,
		  a2a_done_cb cb, void *user);
/* REFERENCE C.5: remote-originated → TASK_FAIL "canceled by local node" to the originator;
 * locally originated → TASK_CANCEL to the executing peer (better than the reference, which
 * sends nothing); then CANCELED locally. cb gets the updated task. */
int a2a_cancel_task(struct a2a_node *n, const char *task_id, a2a_task_cb cb, void *user);

/* ---- subscriptions ---------------------------------------------------------------------
 * Events are delivered by callback in order. A subscriber that cannot keep up (its consumer,
 * e.g. a gRPC stream, reports it is full via a2a_sub_set_ready(sub, false)) gets events
 * buffered up to subscriber_buffer; beyond that it is ended with AA_ENOMEM, and the others
 * are never slowed down. on_end runs exactly once (unsubscribe, overflow, node close),
 * after which the subscription is freed. */
struct a2a_sub;

struct a2a_incoming_event {
	const Agentanycast__V1__Task *task;               /* SUBMITTED, with its message */
	const Agentanycast__V1__AgentCard *sender_card;   /* NULL when unknown */
};
struct a2a_update_event {
	const char *task_id;
	Agentanycast__V1__TaskStatus status;
	const Agentanycast__V1__Message *message;         /* NULL if none */
	Agentanycast__V1__Artifact *const *artifacts;
	size_t nartifacts;
};
/* One of stream_start / stream_chunk / stream_end is set. */
struct a2a_stream_event {
	const Agentanycast__V1__StreamStart *start;
	const Agentanycast__V1__StreamChunk *chunk;
	const Agentanycast__V1__StreamEnd *end;
};

struct a2a_sub_callbacks {
	void (*on_incoming)(void *user, const struct a2a_incoming_event *ev);
	void (*on_update)(void *user, const struct a2a_update_event *ev);
	void (*on_stream)(void *user, const struct a2a_stream_event *ev);
	void (*on_end)(void *user, int err);
};

/* Every incoming task (REFERENCE C.3, fan-out to all). Incoming tasks that arrive while
 * nobody is subscribed are kept and delivered to the first subscriber (better than the
 * reference, which drops them), bounded by subscriber_buffer. */
struct a2a_sub *a2a_subscribe_incoming(struct a2a_node *n, const struct a2a_sub_callbacks *cb,
				       void *user);
/* Updates of one task (REFERENCE C.4); no existence check. */
struct a2a_sub *a2a_subscribe_updates(struct a2a_node *n, const char *task_id,
				      const struct a2a_sub_callbacks *cb, void *user);
/* Streaming artifacts of one task, local or arriving from the executing peer (DECISIONS 6).
 * These hold their producers back instead of overflowing: while a stream subscriber holds
 * half of subscriber_buffer, a2a_stream_feed() answers AA_EAGAIN and an inbound stream from
 * the executing peer is not read. One that stays that full for send_timeout_ns is ended
 * with AA_ETIMEDOUT, so the others go on. */
struct a2a_sub *a2a_subscribe_stream(struct a2a_node *n, const char *task_id,
				     const struct a2a_sub_callbacks *cb, void *user);
/* Flow control from the consumer: false = hold events (buffer), true = deliver again. */
void a2a_sub_set_ready(struct a2a_sub *s, bool ready);
void a2a_unsubscribe(struct a2a_sub *s);

/* ---- streaming artifacts (DECISIONS 6) ---------------------------------------------------
 * The executing node feeds events for a task; they reach local SubscribeTaskStream
 * subscribers and, for a remote-originated task, the originator as STREAM_START / CHUNK /
 * END envelopes on one a2a stream, in order. Backpressure: a2a_stream_feed() returns
 * AA_EAGAIN when the peer (or a local subscriber) is not keeping up; the caller stops reading
 * its source (the gRPC client stream) until on_ready runs. */
struct a2a_stream_out;
struct a2a_stream_out *a2a_stream_open(struct a2a_node *n, void (*on_ready)(void *user), void *user);
/* Exactly one of start/chunk/end set, as in SendStreamingArtifactRequest. AA_EINVAL chunk or
 * end without a start ("no session"), or a start for a task of another originator than the
 * earlier ones; AA_ENOENT unknown task. AA_EAGAIN: the event was NOT taken — feed the same
 * event again once on_ready has run. AA_EUNAVAIL: the originator is not connected. After the
 * stream to the originator failed (AA_ECLOSED, AA_ETIMEDOUT) every feed returns that error. */
int a2a_stream_feed(struct a2a_stream_out *o, const Agentanycast__V1__StreamStart *start,
		    const Agentanycast__V1__StreamChunk *chunk, const Agentanycast__V1__StreamEnd *end);
/* The client finished; cb after everything fed was handed on (and ACKed by the peer, for a
 * remote originator), or with the error that ended the stream. The stream_out is freed once
 * cb returns. On an error return (AA_ECLOSED after the node closed) it is still the
 * caller's: a2a_stream_abort() it. */
int a2a_stream_close(struct a2a_stream_out *o, a2a_done_cb cb, void *user);
/* Frees the stream_out at once (resetting its stream to the originator); a pending close
 * callback is not called. Also the way to free one whose node has closed. */
void a2a_stream_abort(struct a2a_stream_out *o);

/* ---- numbers for metrics and GetNodeInfo ------------------------------------------------ */

/* First index of the per-direction arrays below. A task is "sent" when this node originated
 * it (SendTask to a peer or to a url), "received" when it executes it (from a peer or an
 * outside source such as the HTTP bridge). Envelopes and chunks: written / read. */
enum a2a_stats_dir { A2A_STATS_SENT = 0, A2A_STATS_RECEIVED = 1 };
/* Second index of tasks_by_status: the TaskStatus value (1..7; 0 unused). */
#define A2A_STATS_TASK_STATUSES 8
/* Second index of envelopes_by_type: the EnvelopeType value (1..11); 0 takes UNSPECIFIED and
 * values the contract does not define. */
#define A2A_STATS_ENVELOPE_TYPES 12
/* Task duration buckets (REFERENCE G.2): upper bounds 10 ms × 2^i, i = 0..14, inclusive,
 * then one bucket above 163.84 s. */
#define A2A_TASK_DURATION_BUCKETS 15

struct a2a_stats {
	uint64_t tasks_sent, tasks_received;
	uint64_t envelopes_in, envelopes_out, acks_in, acks_out, retries, duplicates_dropped;
	uint64_t bad_frames;            /* undecodable, oversized or unknown-type input */
	uint64_t offline_queue_size;    /* DECISIONS 4: agentanycast_offline_queue_size: tracked
					 * envelopes persisted and not yet ACKed (the queue is
					 * also the outbox of connected peers) */
	uint64_t stream_chunks;         /* stream_chunks_sent + stream_chunks_received */
	uint64_t stream_chunks_sent;    /* chunks the local agent fed (a2a_stream_feed) */
	uint64_t stream_chunks_received; /* chunks from the executing peer, accepted */
	uint64_t cards_received;
	/* Committed task transitions: creation counts as SUBMITTED, then every status the task
	 * reached (an implicit WORKING before COMPLETED/FAILED included), each once, after its
	 * commit. */
	uint64_t tasks_by_status[2][A2A_STATS_TASK_STATUSES];
	/* Envelopes written to a stream (every attempt: a retry counts again) and envelopes
	 * read and decoded (duplicates included), by type. */
	uint64_t envelopes_by_type[2][A2A_STATS_ENVELOPE_TYPES];
	/* Time from a task's creation (its created_at) to the commit of its terminal status:
	 * per-bucket counts (not cumulative) and the total in milliseconds. */
	uint64_t task_duration_bucket[2][A2A_TASK_DURATION_BUCKETS + 1];
	uint64_t task_duration_ms_sum[2];
};
void a2a_node_stats(const struct a2a_node *n, struct a2a_stats *out);

#endif
