/* a2a_impl: what the files of src/a2a share — the node struct and the calls between them.
 * Not part of the public API (that is a2a.h).
 *
 *   node.c    life cycle, configuration, stats, connection events, the tick timer, the
 *             ordered submission of store batches, the peer table
 *   card.c    /agentanycast/card/1.0, our card, the peer card cache (STORE_CARDS), ConnectPeer
 *   router.c  /agentanycast/a2a/1.0: inbound frames and the inbound pipeline (dedup, ACK
 *             after commit), the per-peer ordered sender over the durable queue, ACKs, retries
 *   engine.c  task records (STORE_TASKS), the state machine, the task API
 *   subs.c    subscriptions with bounded per-subscriber buffers and flow control
 *   stream.c  streaming artifacts: a2a_stream_* and inbound STREAM_* envelopes
 *
 * Threading: the loop thread only. */
#ifndef AA_A2A_A2A_IMPL_H
#define AA_A2A_A2A_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "a2a/a2a.h"
#include "a2a/frame.h"
#include "a2a/pb.h"
#include "base/buf.h"
#include "base/map.h"

/* Short names for the generated protobuf-c types. */
typedef Agentanycast__V1__Task pb_task;
typedef Agentanycast__V1__Message pb_message;
typedef Agentanycast__V1__Artifact pb_artifact;
typedef Agentanycast__V1__AgentCard pb_card;
typedef Agentanycast__V1__A2AEnvelope pb_envelope;
typedef Agentanycast__V1__TaskStatus pb_status;

#define ST_UNSPECIFIED AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_UNSPECIFIED
#define ST_SUBMITTED AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_SUBMITTED
#define ST_WORKING AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_WORKING
#define ST_INPUT_REQUIRED AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_INPUT_REQUIRED
#define ST_COMPLETED AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_COMPLETED
#define ST_FAILED AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_FAILED
#define ST_CANCELED AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_CANCELED
#define ST_REJECTED AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_REJECTED

#define ENV_SEND_TASK AGENTANYCAST__V1__ENVELOPE_TYPE__ENVELOPE_TYPE_SEND_TASK
#define ENV_STATUS_UPDATE AGENTANYCAST__V1__ENVELOPE_TYPE__ENVELOPE_TYPE_TASK_STATUS_UPDATE
#define ENV_COMPLETE AGENTANYCAST__V1__ENVELOPE_TYPE__ENVELOPE_TYPE_TASK_COMPLETE
#define ENV_FAIL AGENTANYCAST__V1__ENVELOPE_TYPE__ENVELOPE_TYPE_TASK_FAIL
#define ENV_CANCEL AGENTANYCAST__V1__ENVELOPE_TYPE__ENVELOPE_TYPE_TASK_CANCEL
#define ENV_ACK AGENTANYCAST__V1__ENVELOPE_TYPE__ENVELOPE_TYPE_ACK
#define ENV_STREAM_START AGENTANYCAST__V1__ENVELOPE_TYPE__ENVELOPE_TYPE_STREAM_START
#define ENV_STREAM_CHUNK AGENTANYCAST__V1__ENVELOPE_TYPE__ENVELOPE_TYPE_STREAM_CHUNK
#define ENV_STREAM_END AGENTANYCAST__V1__ENVELOPE_TYPE__ENVELOPE_TYPE_STREAM_END

/* ---- bounds (DESIGN.md: everything that grows with peer input is bounded) -------------- */

/* Task ids are keys in STORE_TASKS; ours are 36-character UUIDs, peers' are refused above
 * this length. */
#define A2A_MAX_TASK_ID 128
/* Tracked envelopes sent to one peer and not yet ACKed, and their bytes (one envelope is
 * always allowed, however large). */
#define A2A_OUT_WINDOW 64
#define A2A_OUT_WINDOW_BYTES (8u * 1024 * 1024)
/* a2a streams we keep open to one peer at once (envelopes, ACKs, one per artifact stream):
 * the connection admits about 192 streams in both directions together (p2p/host.c). */
#define A2A_PEER_MAX_STREAMS 32
/* ACKs waiting for a stream slot, per peer; beyond, an ACK is dropped (the sender retries). */
#define A2A_PEER_MAX_ACKS 4096
/* Inbound envelopes of one peer whose commit is pending; beyond, its streams are paused. */
#define A2A_PEER_MAX_INBOUND 256
/* Store batches waiting for room in the store's pipeline before new API calls are refused
 * with AA_ENOMEM. */
#define A2A_MAX_DEFERRED 4096
/* Agent cards we accept and keep: a larger card is refused; the cache of peer cards keeps at
 * most this many cards and bytes, dropping the oldest. */
#define A2A_MAX_CARD_BYTES (1u * 1024 * 1024)
#define A2A_CARD_CACHE_MAX 4096
#define A2A_CARD_CACHE_BYTES (64u * 1024 * 1024)
/* A task keeps at most this many messages and this many packed bytes; beyond, new messages
 * and artifacts still reach subscribers but are not added to the record (a peer cycling
 * WORKING <-> INPUT_REQUIRED must not grow it forever). */
#define A2A_TASK_MAX_MESSAGES 1024
#define A2A_TASK_MAX_BYTES (8u * 1024 * 1024)
/* Artifact-stream envelopes sent and not yet ACKed, per a2a_stream_out. */
#define A2A_STREAM_MAX_UNACKED 64
/* REFERENCE.md B.2/B.8: an inbound stream that sends nothing for this long is reset. */
#define A2A_READ_IDLE_NS (30ull * 1000000000)
/* How long a card exchange we started may take (REFERENCE.md B.8: 5 s). */
#define A2A_CARD_EXCHANGE_NS (5ull * 1000000000)
/* A peer whose retries ran out while still connected is tried again after this long. */
#define A2A_PARK_NS (60ull * 1000000000)
/* Dial back-off for a peer we have envelopes for. */
#define A2A_DIAL_BACKOFF_MIN_NS (1ull * 1000000000)
#define A2A_DIAL_BACKOFF_MAX_NS (60ull * 1000000000)
/* Fields of the stored Task record that are ours, not the contract's (see engine.c): the
 * peer of a task we sent, and whether an incoming task reached a subscriber. */
#define A2A_TASK_PEER_FIELD 1001
#define A2A_TASK_ANNOUNCED_FIELD 1002

/* ---- per-stream contexts ----------------------------------------------------------------
 * Every p2p stream the node uses has a context that starts with this link, so that closing
 * the node can detach and reset them all (their on_close then only frees the context). */
struct a2a_node;
struct a2a_peer;

enum strm_kind { SL_SENTINEL = 0, SL_IN, SL_OUT, SL_CARD, SL_STREAM_OUT };

struct strm_link {
	enum strm_kind kind;
	struct a2a_node *node;      /* NULL once detached by a2a_node_close */
	struct p2p_stream *st;
	struct strm_link *prev, *next;
};

void node_link_stream(struct a2a_node *n, struct strm_link *l, enum strm_kind kind,
		      struct p2p_stream *st);
void node_unlink_stream(struct strm_link *l);

/* ---- peers ------------------------------------------------------------------------------ */

struct out_entry;
struct out_stream;

struct a2a_peer {
	struct a2a_node *node;
	struct p2p_peer_id id;
	char id_str[P2P_PEER_ID_STRING_MAX];
	size_t id_len;
	unsigned refs;              /* contexts pointing here (streams, exchanges, waiters) */
	bool connected;
	/* sender (router.c) */
	struct out_entry *inflight_head, *inflight_tail; /* read from the queue, not ACKed */
	size_t inflight_count, inflight_bytes;
	size_t removing;            /* ACKed, removal from the queue not yet committed */
	struct out_entry *sendq_head, *sendq_tail;       /* waiting for the line */
	struct out_stream *writing; /* the envelope being written (wire order) */
	unsigned out_streams;       /* our open a2a streams to the peer */
	bool parked;                /* retries ran out: wait for a new connection */
	bool queue_loaded;          /* every committed queue entry is in memory (in flight) */
	unsigned unc_plain;         /* queued, uncommitted, and not in memory (not eager) */
	uint64_t parked_until_ns;
	bool filling;
	char **acks;                /* ring of envelope ids to ACK */
	size_t acks_head, acks_len, acks_cap;
	bool dialing;
	uint64_t next_dial_ns, dial_backoff_ns;
	/* inbound (router.c) */
	unsigned in_pending;        /* envelopes submitted, commit pending */
	/* cards (card.c) */
	struct card_xchg *xchg;     /* the latest exchange we started, while it runs */
};

struct a2a_peer *node_peer(struct a2a_node *n, const struct p2p_peer_id *id);
struct a2a_peer *node_peer_find(const struct a2a_node *n, const struct p2p_peer_id *id);
static inline void peer_ref(struct a2a_peer *p) { p->refs++; }
void peer_unref(struct a2a_peer *p);

/* Dials peer with addrs, or with the peerstore's addresses when naddrs is 0. cb runs once,
 * from the loop (AA_ECLOSED when the node closes first). AA_EUNAVAIL when there is no address
 * to try. */
typedef void (*node_dial_cb)(struct a2a_node *n, void *arg, int err);
int node_dial(struct a2a_node *n, const struct p2p_peer_id *peer, const struct multiaddr *addrs,
	      size_t naddrs, node_dial_cb cb, void *arg);

/* ---- store batches ----------------------------------------------------------------------
 * node_submit() hands a batch to the store in call order, holding it back while the store's
 * pipeline is full (so completions keep the order of submission, and with it the order of
 * events and envelopes). It never fails synchronously: a batch the store refuses gets its
 * callback later with the error. node_can_submit() is the admission check for API calls. */
void node_submit(struct a2a_node *n, struct store_batch *b, store_done_cb cb, void *arg);
bool node_can_submit(const struct a2a_node *n);

/* ---- the node ---------------------------------------------------------------------------- */

struct deferred_batch;
struct task_rec;
struct in_stream;
struct fifo_item;
struct card_entry;
struct card_waiter;
struct dial_req;

struct a2a_node {
	uv_loop_t *loop;
	struct p2p_host *host;
	struct store *store;
	const struct p2p_keypair *identity;
	struct a2a_config cfg;
	struct p2p_peer_id self;
	char self_str[P2P_PEER_ID_STRING_MAX];
	struct p2p_host_notifiee notifiee;
	struct a2a_stats stats;
	bool closing;
	bool finishing;             /* handles closing: the struct is freed next */
	void (*close_cb)(void *user);
	void *close_user;

	uv_timer_t tick;            /* retries, deadlines, expiry */
	uint64_t tick_ms;
	uint64_t last_expire_ns;
	uv_timer_t defer;           /* zero-delay work: held batches, incoming backlog */
	unsigned open_handles;

	/* store submission */
	unsigned pending_commits;   /* batches handed to node_submit, callback not yet run */
	struct deferred_batch *deferred_head, *deferred_tail;
	size_t deferred_count;

	struct aa_map peers;        /* peer id bytes -> struct a2a_peer */
	struct dial_req *dials;     /* dials in progress */
	struct strm_link streams;   /* sentinel of every live stream context */

	/* cards */
	pb_card *own_card;
	struct aa_map cards;        /* peer id bytes -> struct card_entry */
	struct card_entry *cards_oldest, *cards_newest;
	size_t cards_bytes;
	struct card_waiter *waiters; /* ConnectPeer calls waiting for a card exchange */

	/* router */
	struct aa_map acks;         /* envelope id -> struct ack_wait */
	struct aa_map inbound_keys; /* dedup keys whose commit is pending */
	struct fifo_item *fifo_head, *fifo_tail; /* envelopes waiting for the pipeline */
	bool draining;

	/* engine */
	struct aa_map tasks;        /* task id -> struct task_rec */
	struct task_rec *term_oldest, *term_newest; /* terminal tasks, eviction order */

	/* subscriptions */
	struct a2a_sub *incoming_subs;
	struct aa_map update_subs;  /* task id -> struct sub_list */
	struct aa_map stream_subs;
	struct sub_evt **backlog;   /* incoming events nobody was subscribed for */
	size_t backlog_head, backlog_len;
	unsigned emit_depth;
	struct a2a_sub *graveyard;

	/* streaming */
	struct a2a_stream_out *outs;
	struct paused_in *paused_ins; /* inbound streams held back by congested subscribers */
};

/* Runs the deferred work (held batches, incoming backlog, drained streams) from the loop
 * soon, outside the current call stack. */
void node_defer_kick(struct a2a_node *n);
/* Loop time helpers. */
uint64_t node_now_ns(void);

/* ---- card.c ---------------------------------------------------------------------------- */
int card_init(struct a2a_node *n);          /* registers the protocol, loads the cards */
void card_close(struct a2a_node *n);        /* waiters get AA_ECLOSED */
void card_free(struct a2a_node *n);
void card_on_connected(struct a2a_node *n, struct a2a_peer *p);
void card_on_disconnected(struct a2a_node *n, struct a2a_peer *p);
void card_tick(struct a2a_node *n, uint64_t now);
/* The card of a peer (decoded), or NULL. */
const pb_card *card_of(const struct a2a_node *n, const struct p2p_peer_id *peer);

/* ---- router.c -------------------------------------------------------------------------- */
int router_init(struct a2a_node *n);
void router_close(struct a2a_node *n);
void router_free(struct a2a_node *n);
void router_on_connected(struct a2a_node *n, struct a2a_peer *p);
void router_on_disconnected(struct a2a_node *n, struct a2a_peer *p);
void router_tick(struct a2a_node *n, uint64_t now);
/* Sends what is queued for peer (dialling it if need be). */
void router_kick(struct a2a_node *n, const struct p2p_peer_id *peer);
/* A fresh envelope id and timestamp in env; packs it into out (no frame header). */
void router_envelope_pack(pb_envelope *env, char id_out[37], struct aa_buf *out);
/* Adds env (packed) to peer's durable queue in batch b. When everything queued for peer
 * before it is already in memory, it also joins the line at once ("eager"), so it can leave
 * before b commits: see the file comment of router.c. The caller must report b's outcome
 * with router_enqueue_done, and may call router_pump once b is submitted. */
int router_batch_enqueue(struct a2a_node *n, struct store_batch *b, const struct p2p_peer_id *peer,
			 const char *envelope_id, struct aa_slice packed);
/* Writes what waits in peer's line (no store read). */
void router_pump(struct a2a_node *n, const struct p2p_peer_id *peer);
/* The batch that queued envelope_id for peer committed (status 0) or failed. */
void router_enqueue_done(struct a2a_node *n, const struct p2p_peer_id *peer,
			 const char *envelope_id, int status);
/* Ensures a connection to peer (dialling with the peerstore's addresses, with back-off). */
void router_dial(struct a2a_node *n, struct a2a_peer *p);
/* An ACK for envelope_id to peer (best effort, untracked). */
void router_send_ack(struct a2a_node *n, struct a2a_peer *p, const char *envelope_id);
/* Resumes an inbound stream that was paused by the artifact stream code. */
void router_resume_stream(struct in_stream *is);
/* ACK waiters for artifact-stream envelopes. */
void router_ack_wait_stream(struct a2a_node *n, const char *envelope_id, struct a2a_stream_out *o,
			    const struct p2p_peer_id *peer);
void router_ack_forget(struct a2a_node *n, const char *envelope_id);
/* Opens an outbound a2a stream to peer, counted in the peer's stream budget. AA_EAGAIN when
 * the budget is spent, AA_ENOENT when not connected. */
int router_open_stream(struct a2a_node *n, struct a2a_peer *p, const struct p2p_stream_handler *h,
		       void *user, struct p2p_stream **out);
void router_stream_closed(struct a2a_node *n, struct a2a_peer *p);

/* ---- engine.c -------------------------------------------------------------------------- */
int engine_init(struct a2a_node *n);        /* loads the tasks */
void engine_trim(struct a2a_node *n);       /* evicts beyond max_tasks (after a restart) */
/* Incoming tasks committed but never handed to a subscriber (the node stopped first) are
 * announced again, oldest first, after a restart. */
void engine_replay_incoming(struct a2a_node *n);
/* An incoming event for task_id reached a live subscriber: remember it (persisted). */
void engine_announced(struct a2a_node *n, const char *task_id);
void engine_free(struct a2a_node *n);
struct task_rec *engine_find(const struct a2a_node *n, const char *task_id);
/* The remote peer of a task: its originator for remote-originated tasks, else the executor.
 * *remote says which. NULL when unknown. */
const struct p2p_peer_id *engine_task_peer(const struct task_rec *r, bool *remote);
const char *engine_task_id(const struct task_rec *r);

/* Inbound task envelopes (router.c). Applies env's effects to memory and adds the writes to
 * b. Returns 0 with *op set (may be NULL: nothing to do after the commit but the ACK), or
 * AA_ENOMEM when the node cannot take the envelope now (no ACK: the sender retries). */
struct eng_op;
int engine_apply_envelope(struct a2a_node *n, struct a2a_peer *from, const pb_envelope *env,
			  struct store_batch *b, struct eng_op **op);
/* Before the batch of engine_apply_envelope is submitted: decides to tell local subscribers
 * what the envelope changed at once (true) instead of after the commit, and makes the batch lazy
 * (store_batch_set_lazy), so neither the agent nor a waiting client sits through an fsync
 * that only the ACK needs. The ACK still follows the commit, so the durability promise to
 * the sender is unchanged. What a crash before the commit can do: the sender, without an
 * ACK, sends again, and a subscriber hears the same task or update a second time — only if
 * nothing done about it was acknowledged (the agent's CompleteTask on the task commits with
 * or after this batch, so its reply comes after this batch is durable). */
bool engine_op_early(struct a2a_node *n, struct eng_op *op, struct store_batch *b);
/* ... and, once b is submitted (so writes it causes queue behind b), tells them. */
void engine_op_emit(struct a2a_node *n, struct eng_op *op);
/* After the batch of engine_apply_envelope: status 0 emits the events; else undoes. */
void engine_op_done(struct a2a_node *n, struct eng_op *op, int status);

/* ---- subs.c ----------------------------------------------------------------------------- */
int subs_init(struct a2a_node *n);
void subs_close(struct a2a_node *n);        /* ends all with AA_ECLOSED */
void subs_free(struct a2a_node *n);
void subs_emit_incoming(struct a2a_node *n, const pb_task *task, const pb_card *card);
void subs_emit_update(struct a2a_node *n, const struct a2a_update_event *ev);
void subs_emit_stream(struct a2a_node *n, const char *task_id, const struct a2a_stream_event *ev);
/* True when a stream subscriber of the task holds so much that producers must wait. */
bool subs_stream_congested(struct a2a_node *n, const char *task_id);
void subs_tick(struct a2a_node *n, uint64_t now);
void subs_flush_backlog(struct a2a_node *n);

/* ---- stream.c --------------------------------------------------------------------------- */
void stream_close_all(struct a2a_node *n);
void stream_on_defer(struct a2a_node *n);
void stream_tick(struct a2a_node *n, uint64_t now);
/* Subscribers of task_id have room again (subs.c). */
void stream_subs_drained(struct a2a_node *n, const char *task_id);
/* An inbound STREAM_* envelope (owned: freed here). Returns false when the stream must pause
 * until the task's subscribers drain (router_resume_stream follows). */
bool stream_handle_inbound(struct a2a_node *n, struct in_stream *is, struct a2a_peer *from,
			   pb_envelope *env);
void stream_on_ack(struct a2a_node *n, struct a2a_stream_out *o, const char *envelope_id);
/* The inbound stream is going away: forget it if paused. */
void stream_forget_inbound(struct a2a_node *n, struct in_stream *is);

/* ---- shared helpers --------------------------------------------------------------------- */
/* A text Message (role agent) carrying s: how FailTask's error reaches subscribers. */
pb_message *a2a_text_message(const char *s);
/* Peer id text for logs. */
const char *peer_str(const struct a2a_peer *p);

#endif
