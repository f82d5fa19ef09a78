/* a2a/engine: task records and the task state machine (REFERENCE.md C.1, C.2, C.5 with
 * DECISIONS.md 1–3). A record is the Task as GetTask returns it — with its messages and
 * artifacts (DECISIONS 3) — plus the peer at the other end: the originator of a
 * remote-originated task (its originator_peer_id), or the executor of a task we sent.
 *
 * Records are stored in STORE_TASKS as packed Task protobufs. Two facts have no Task field
 * and are appended as fields of our own, which any Task reader skips as unknown fields and
 * which we strip on loading: the executor of a task we sent (A2A_TASK_PEER_FIELD, its PeerID
 * as a string), and, for an incoming task, that it reached a subscriber
 * (A2A_TASK_ANNOUNCED_FIELD, varint 1) — one that did not when the node stopped is
 * announced again after the restart, so a committed and ACKed task is never lost to the
 * local agent.
 *
 * Every change is applied to memory at once (so later calls see it) and written in one
 * store batch with its envelopes to the peer (router_batch_enqueue) and, for inbound
 * envelopes, the dedup mark (router.c). Events, callbacks and sends follow the commit, in
 * commit order, which is call order (node_submit). */
#include "a2a/a2a_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "base/uuid.h"
#include "base/varint.h"

struct task_rec {
	pb_task *task;
	bool remote;               /* the originator is a remote peer */
	struct p2p_peer_id peer;   /* that originator, or the executor of our task (len 0: none) */
	bool announced;            /* incoming: handed to a subscriber */
	unsigned pending;          /* batches in flight that write this record */
	unsigned unemitted;        /* of those, ones whose events subscribers have not heard */
	size_t bytes;              /* packed size, roughly */
	bool listed;               /* in the terminal list */
	struct task_rec *older, *newer;
};

struct eng_ev {
	pb_status status;
	pb_message *msg;
	pb_artifact **arts;
	size_t narts;
};

struct eng_op {
	struct a2a_node *node;
	struct task_rec *rec;
	bool created;               /* undo = forget the record */
	bool incoming;              /* emit an incoming event (a SEND_TASK from from) */
	struct p2p_peer_id from;
	pb_message *incoming_msg;   /* the message, when too large for the record */
	bool sent_task, received_task;
	struct eng_ev ev[2];
	int nev;
	bool emitted;               /* engine_op_early told the subscribers already */
	/* Envelopes the batch queues for `queued_to` (WORKING and a final one at most). */
	struct p2p_peer_id queued_to;
	char queued[2][37];
	int nqueued;
	a2a_done_cb done_cb;
	a2a_task_cb task_cb;
	void *user;
};

static const char CANCELED_TEXT[] = "canceled by local node";

/* ---- state machine (REFERENCE.md C.1) ----------------------------------------------------- */

static bool is_terminal(pb_status s)
{
	return s == ST_COMPLETED || s == ST_FAILED || s == ST_CANCELED || s == ST_REJECTED;
}

bool a2a_task_status_terminal(int status)
{
	return is_terminal((pb_status)status);
}

static bool transition_ok(pb_status from, pb_status to)
{
	switch (from) {
	case ST_SUBMITTED:
		return to == ST_WORKING || to == ST_REJECTED || to == ST_CANCELED;
	case ST_WORKING:
		return to == ST_COMPLETED || to == ST_FAILED || to == ST_CANCELED || to == ST_INPUT_REQUIRED;
	case ST_INPUT_REQUIRED:
		return to == ST_WORKING || to == ST_CANCELED;
	default:
		return false;
	}
}

/* ---- records -------------------------------------------------------------------------------- */

struct task_rec *engine_find(const struct a2a_node *n, const char *task_id)
{
	if (!task_id || !*task_id)
		return NULL;
	return map_get(&n->tasks, task_id, strlen(task_id));
}

const struct p2p_peer_id *engine_task_peer(const struct task_rec *r, bool *remote)
{
	*remote = r->remote;
	return r->peer.len ? &r->peer : NULL;
}

const char *engine_task_id(const struct task_rec *r)
{
	return r->task->task_id;
}

const Agentanycast__V1__Task *a2a_get_task(const struct a2a_node *n, const char *task_id)
{
	struct task_rec *r = n ? engine_find(n, task_id) : NULL;
	return r ? r->task : NULL;
}

const Agentanycast__V1__Task *a2a_get_settled_task(const struct a2a_node *n, const char *task_id)
{
	struct task_rec *r = n ? engine_find(n, task_id) : NULL;
	return r && r->unemitted == 0 ? r->task : NULL;
}

static void term_unlink(struct a2a_node *n, struct task_rec *r)
{
	if (!r->listed)
		return;
	if (r->older)
		r->older->newer = r->newer;
	else
		n->term_oldest = r->newer;
	if (r->newer)
		r->newer->older = r->older;
	else
		n->term_newest = r->older;
	r->older = r->newer = NULL;
	r->listed = false;
}

static void term_append(struct a2a_node *n, struct task_rec *r)
{
	if (r->listed)
		return;
	r->older = n->term_newest;
	r->newer = NULL;
	if (n->term_newest)
		n->term_newest->newer = r;
	else
		n->term_oldest = r;
	n->term_newest = r;
	r->listed = true;
}

static struct task_rec *rec_new(struct a2a_node *n, pb_task *task, bool remote,
				const struct p2p_peer_id *peer)
{
	struct task_rec *r = aa_calloc(1, sizeof *r);
	r->task = task;
	r->remote = remote;
	if (peer)
		r->peer = *peer;
	r->bytes = protobuf_c_message_get_packed_size(&task->base);
	map_put(&n->tasks, task->task_id, strlen(task->task_id), r, NULL);
	if (is_terminal(task->status))
		term_append(n, r);
	return r;
}

static void rec_free(struct task_rec *r)
{
	a2a_pb_free(r->task);
	free(r);
}

static void rec_remove(struct a2a_node *n, struct task_rec *r)
{
	term_unlink(n, r);
	map_remove(&n->tasks, r->task->task_id, strlen(r->task->task_id));
	rec_free(r);
}

static void rec_pack(const struct task_rec *r, struct aa_buf *out)
{
	a2a_pb_pack(&r->task->base, out);
	uint8_t v[AA_VARINT_MAX_BYTES];
	if (r->remote && r->announced) {
		int k = varint_encode((uint64_t)A2A_TASK_ANNOUNCED_FIELD << 3 | PROTOBUF_C_WIRE_TYPE_VARINT, v);
		aa_buf_append(out, v, (size_t)k);
		aa_buf_append_byte(out, 1);
	}
	if (r->remote || !r->peer.len)
		return;
	char s[P2P_PEER_ID_STRING_MAX];
	int len = p2p_peer_id_to_string(&r->peer, s, sizeof s);
	if (len <= 0)
		return;
	int k = varint_encode(((uint64_t)A2A_TASK_PEER_FIELD << 3) | PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED, v);
	aa_buf_append(out, v, (size_t)k);
	k = varint_encode((uint64_t)len, v);
	aa_buf_append(out, v, (size_t)k);
	aa_buf_append(out, s, (size_t)len);
}

static void rec_persist(const struct task_rec *r, struct store_batch *b)
{
	struct aa_buf buf;
	aa_buf_init(&buf);
	rec_pack(r, &buf);
	const char *id = r->task->task_id;
	store_batch_put(b, STORE_TASKS, aa_slice_make(id, strlen(id)), aa_slice_make(buf.p, buf.n));
	aa_buf_free(&buf);
}

/* Reads our fields back out of the unknown fields and drops them all, so the Task we hand
 * out is exactly the contract's. */
static void take_private_fields(pb_task *t, struct p2p_peer_id *peer, bool *announced)
{
	for (unsigned i = 0; i < t->base.n_unknown_fields; i++) {
		ProtobufCMessageUnknownField *f = &t->base.unknown_fields[i];
		if (f->tag == A2A_TASK_ANNOUNCED_FIELD && f->wire_type == PROTOBUF_C_WIRE_TYPE_VARINT &&
		    f->len == 1 && f->data[0] == 1)
			*announced = true;
		if (f->tag == A2A_TASK_PEER_FIELD && f->wire_type == PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED) {
			/* protobuf-c keeps the length prefix in data. */
			uint64_t len;
			int k = varint_decode(f->data, f->len, &len);
			if (k > 0 && len == f->len - (size_t)k)
				p2p_peer_id_parse((const char *)f->data + k, (size_t)len, peer);
		}
		free(f->data);
	}
	free(t->base.unknown_fields);
	t->base.unknown_fields = NULL;
	t->base.n_unknown_fields = 0;
}

/* Evicts the oldest terminal task that nothing is writing when the table is full. */
static int make_room(struct a2a_node *n, struct store_batch *b)
{
	if (map_count(&n->tasks) < n->cfg.max_tasks)
		return 0;
	for (struct task_rec *r = n->term_oldest; r; r = r->newer) {
		if (r->pending)
			continue;
		const char *id = r->task->task_id;
		store_batch_del(b, STORE_TASKS, aa_slice_make(id, strlen(id)));
		rec_remove(n, r);
		return 0;
	}
	aa_log(AA_LOG_WARN, "a2a: task table full of unfinished tasks", NULL);
	return AA_ENOMEM;
}

static void set_timestamp(Google__Protobuf__Timestamp **ts, int64_t ms)
{
	if (*ts)
		a2a_pb_timestamp_set(*ts, ms);
	else
		*ts = a2a_pb_timestamp_new(ms);
}

static void rec_set_status(struct a2a_node *n, struct task_rec *r, pb_status st)
{
	r->task->status = st;
	set_timestamp(&r->task->updated_at, aa_clock_wall_ms());
	if (is_terminal(st))
		term_append(n, r);
}

/* Adds a copy of msg to the record unless that would grow it past its bounds. */
static bool rec_add_message(struct task_rec *r, const pb_message *msg)
{
	size_t sz = protobuf_c_message_get_packed_size(&msg->base) + 8;
	if (r->task->n_messages >= A2A_TASK_MAX_MESSAGES || r->bytes + sz > A2A_TASK_MAX_BYTES) {
		aa_log(AA_LOG_WARN, "a2a: task record full, message not kept", "task", r->task->task_id, NULL);
		return false;
	}
	pb_task *t = r->task;
	t->messages = aa_realloc(t->messages, (t->n_messages + 1) * sizeof *t->messages);
	t->messages[t->n_messages++] = a2a_pb_message_copy(msg);
	r->bytes += sz;
	return true;
}

static void rec_add_artifacts(struct task_rec *r, pb_artifact *const *arts, size_t narts)
{
	size_t sz = 0;
	for (size_t i = 0; i < narts; i++)
		sz += protobuf_c_message_get_packed_size(&arts[i]->base) + 8;
	if (r->bytes + sz > A2A_TASK_MAX_BYTES) {
		aa_log(AA_LOG_WARN, "a2a: task record full, artifacts not kept", "task", r->task->task_id, NULL);
		return;
	}
	pb_task *t = r->task;
	t->artifacts = aa_realloc(t->artifacts, (t->n_artifacts + narts) * sizeof *t->artifacts);
	for (size_t i = 0; i < narts; i++)
		t->artifacts[t->n_artifacts++] = a2a_pb_artifact_copy(arts[i]);
	r->bytes += sz;
}

/* ---- operations --------------------------------------------------------------------------- */

static struct eng_op *op_new(struct a2a_node *n, struct task_rec *r)
{
	struct eng_op *op = aa_calloc(1, sizeof *op);
	op->node = n;
	op->rec = r;
	r->pending++;
	r->unemitted++;
	return op;
}

static void on_op_commit(int status, const struct store_batch *b, void *arg);

/* op's batch queues envelope_id for peer (router_batch_enqueue succeeded: a failed push
 * fails the batch, and router.c counted nothing for it). */
static void op_queued(struct eng_op *op, const struct p2p_peer_id *peer, const char *envelope_id)
{
	if (op->nqueued == (int)(sizeof op->queued / sizeof op->queued[0]))
		abort(); /* a bug: no change queues more */
	op->queued_to = *peer;
	snprintf(op->queued[op->nqueued++], sizeof op->queued[0], "%s", envelope_id);
}

/* Hands op's batch to the store; an envelope it queues may leave at once (router.c). */
static void op_submit(struct a2a_node *n, struct store_batch *b, struct eng_op *op)
{
	node_submit(n, b, on_op_commit, op);
	if (op->nqueued)
		router_pump(n, &op->queued_to);
}

static void op_free(struct eng_op *op)
{
	for (int i = 0; i < op->nev; i++) {
		a2a_pb_free(op->ev[i].msg);
		for (size_t k = 0; k < op->ev[i].narts; k++)
			a2a_pb_free(op->ev[i].arts[k]);
		free(op->ev[i].arts);
	}
	a2a_pb_free(op->incoming_msg);
	free(op);
}

/* One transition: the record, the event for subscribers after the commit (DECISIONS 2: one
 * per transition with its message and artifacts). */
static void apply_step(struct a2a_node *n, struct task_rec *r, struct eng_op *op, pb_status to,
		       const pb_message *msg, pb_artifact *const *arts, size_t narts)
{
	rec_set_status(n, r, to);
	if (msg)
		rec_add_message(r, msg);
	if (narts)
		rec_add_artifacts(r, arts, narts);
	struct eng_ev *ev = &op->ev[op->nev++];
	ev->status = to;
	ev->msg = msg ? a2a_pb_message_copy(msg) : NULL;
	if (narts) {
		ev->arts = aa_calloc(narts, sizeof *ev->arts);
		for (size_t i = 0; i < narts; i++)
			ev->arts[i] = a2a_pb_artifact_copy(arts[i]);
		ev->narts = narts;
	}
}

/* Queues an envelope about r for its peer in b (DECISIONS 1: in order, in the same commit). */
static void enqueue_envelope(struct a2a_node *n, struct task_rec *r, struct eng_op *op,
			     struct store_batch *b, int type, pb_status status, const pb_message *msg,
			     pb_artifact *const *arts, size_t narts, const char *error_text)
{
	if (!r->peer.len)
		return;
	pb_envelope env = AGENTANYCAST__V1__A2_AENVELOPE__INIT;
	env.type = type;
	Agentanycast__V1__TaskStatusUpdatePayload up = AGENTANYCAST__V1__TASK_STATUS_UPDATE_PAYLOAD__INIT;
	Agentanycast__V1__TaskCompletePayload done = AGENTANYCAST__V1__TASK_COMPLETE_PAYLOAD__INIT;
	Agentanycast__V1__TaskFailPayload fail = AGENTANYCAST__V1__TASK_FAIL_PAYLOAD__INIT;
	Agentanycast__V1__TaskCancelPayload cancel = AGENTANYCAST__V1__TASK_CANCEL_PAYLOAD__INIT;
	char *id = r->task->task_id;
	switch (type) {
	case ENV_STATUS_UPDATE:
		up.task_id = id;
		up.status = status;
		up.message = (pb_message *)msg;
		env.payload_case = AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_TASK_STATUS_UPDATE;
		env.task_status_update = &up;
		break;
	case ENV_COMPLETE:
		done.task_id = id;
		done.n_artifacts = narts;
		done.artifacts = (pb_artifact **)arts;
		done.message = (pb_message *)msg;
		env.payload_case = AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_TASK_COMPLETE;
		env.task_complete = &done;
		break;
	case ENV_FAIL:
		fail.task_id = id;
		fail.error_message = (char *)(error_text ? error_text : "");
		fail.message = (pb_message *)msg;
		env.payload_case = AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_TASK_FAIL;
		env.task_fail = &fail;
		break;
	case ENV_CANCEL:
		cancel.task_id = id;
		env.payload_case = AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_TASK_CANCEL;
		env.task_cancel = &cancel;
		break;
	default:
		return;
	}
	char env_id[37];
	struct aa_buf packed;
	aa_buf_init(&packed);
	router_envelope_pack(&env, env_id, &packed);
	int rc = router_batch_enqueue(n, b, &r->peer, env_id, aa_slice_make(packed.p, packed.n));
	aa_buf_free(&packed);
	if (rc == 0)
		op_queued(op, &r->peer, env_id);
}

static void on_op_commit(int status, const struct store_batch *b, void *arg)
{
	struct eng_op *op = arg;
	engine_op_done(op->node, op, status);
}

/* After a failed commit the record in memory may be ahead of the disk: read it back. */
static void rec_reload(struct a2a_node *n, struct task_rec *r)
{
	struct aa_buf buf;
	aa_buf_init(&buf);
	const char *id = r->task->task_id;
	int rc = store_get(n->store, STORE_TASKS, aa_slice_make(id, strlen(id)), &buf);
	pb_task *t = NULL;
	if (rc == 0) {
		struct a2a_pb_limits l;
		a2a_pb_limits_default(&l);
		t = a2a_pb_task_unpack(aa_slice_make(buf.p, buf.n), &l, NULL, NULL, 0);
	}
	aa_buf_free(&buf);
	if (!t) {
		rec_remove(n, r);
		return;
	}
	struct p2p_peer_id ignored = { 0 };
	bool announced = false;
	take_private_fields(t, &ignored, &announced);
	r->announced = announced;
	term_unlink(n, r);
	a2a_pb_free(r->task);
	r->task = t;
	r->bytes = protobuf_c_message_get_packed_size(&t->base);
	if (is_terminal(t->status))
		term_append(n, r);
}

/* Metrics (a2a_stats): the committed transitions of op, and the duration of a task that
 * reached a terminal status. */
static void stats_count_op(struct a2a_node *n, const struct eng_op *op)
{
	const struct task_rec *r = op->rec;
	int dir = r->remote ? A2A_STATS_RECEIVED : A2A_STATS_SENT;
	if (op->received_task || op->sent_task)
		n->stats.tasks_by_status[dir][ST_SUBMITTED]++;
	for (int i = 0; i < op->nev; i++) {
		pb_status st = op->ev[i].status;
		if (st > 0 && st < A2A_STATS_TASK_STATUSES)
			n->stats.tasks_by_status[dir][st]++;
		if (!is_terminal(st))
			continue;
		/* Wall clock: the creation may be from before a restart. A clock that went back
		 * (or a missing created_at) gives 0 rather than a wrap. */
		int64_t now = aa_clock_wall_ms(), created = a2a_pb_timestamp_ms(r->task->created_at);
		uint64_t d = created > 0 && created < now ? (uint64_t)(now - created) : 0;
		size_t b = 0;
		while (b < A2A_TASK_DURATION_BUCKETS && d > (10ull << b))
			b++;
		n->stats.task_duration_bucket[dir][b]++;
		n->stats.task_duration_ms_sum[dir] += d;
	}
}

/* Tells the subscribers what op did: the incoming task, then one update per transition. */
void engine_op_emit(struct a2a_node *n, struct eng_op *op)
{
	struct task_rec *r = op->rec;
	if (op->incoming && !n->closing) {
		/* REFERENCE C.3: the task as it arrived, SUBMITTED, with its message. */
		pb_task view = *r->task;
		pb_message *first = op->incoming_msg ? op->incoming_msg
			: (r->task->n_messages ? r->task->messages[0] : NULL);
		view.status = ST_SUBMITTED;
		view.n_messages = first ? 1 : 0;
		view.messages = first ? &first : NULL;
		view.n_artifacts = 0;
		view.artifacts = NULL;
		subs_emit_incoming(n, &view, op->from.len ? card_of(n, &op->from) : NULL);
	}
	for (int i = 0; i < op->nev && !n->closing; i++) {
		struct a2a_update_event ev = {
			.task_id = r->task->task_id,
			.status = op->ev[i].status,
			.message = op->ev[i].msg,
			.artifacts = op->ev[i].arts,
			.nartifacts = op->ev[i].narts,
		};
		subs_emit_update(n, &ev);
	}
}

bool engine_op_early(struct a2a_node *n, struct eng_op *op, struct store_batch *b)
{
	if (!op || n->closing)
		return false;
	op->emitted = true;
	op->rec->unemitted--;
	store_batch_set_lazy(b);
	return true;
}

void engine_op_done(struct a2a_node *n, struct eng_op *op, int status)
{
	struct task_rec *r = op->rec;
	r->pending--;
	if (!op->emitted)
		r->unemitted--;
	for (int i = 0; i < op->nqueued; i++)
		router_enqueue_done(n, &op->queued_to, op->queued[i], status);
	if (status == 0) {
		if (op->received_task)
			n->stats.tasks_received++;
		if (op->sent_task)
			n->stats.tasks_sent++;
		stats_count_op(n, op);
		if (!op->emitted)
			engine_op_emit(n, op);
		if (op->done_cb)
			op->done_cb(op->user, 0);
		if (op->task_cb)
			op->task_cb(op->user, 0, r->task);
	} else {
		aa_log(AA_LOG_ERROR, "a2a: task change not committed", "task", r->task->task_id,
		       "error", aa_strerror(status), NULL);
		int err = status == AA_ENOMEM ? AA_ENOMEM : AA_EIO;
		if (r->pending == 0) {
			if (op->created)
				rec_remove(n, r);
			else
				rec_reload(n, r);
		}
		if (op->done_cb)
			op->done_cb(op->user, err);
		if (op->task_cb)
			op->task_cb(op->user, err, NULL);
	}
	op_free(op);
}

/* ---- the task API ------------------------------------------------------------------------- */

static size_t payload_size(const pb_message *msg, pb_artifact *const *arts, size_t narts)
{
	size_t sz = msg ? protobuf_c_message_get_packed_size(&msg->base) : 0;
	for (size_t i = 0; i < narts; i++)
		sz += protobuf_c_message_get_packed_size(&arts[i]->base) + 8;
	return sz;
}

/* What an envelope may carry: a frame, less room for the envelope around it. */
#define PAYLOAD_MAX (A2A_MAX_FRAME - 64 * 1024)

/* Admission of a new task carrying msg: it fits an envelope, the node takes work and the
 * task table has room. Returns the batch that will carry the task, or NULL with *err. */
static struct store_batch *admit_new_task(struct a2a_node *n, const pb_message *msg, int *err)
{
	if (payload_size(msg, NULL, 0) > PAYLOAD_MAX) {
		*err = AA_EINVAL;
		return NULL;
	}
	if (!node_can_submit(n)) {
		*err = n->closing ? AA_ECLOSED : AA_ENOMEM;
		return NULL;
	}
	struct store_batch *b = store_batch_new();
	if (make_room(n, b) < 0) {
		store_batch_free(b);
		*err = AA_ENOMEM;
		return NULL;
	}
	return b;
}

/* A SUBMITTED task holding msg, created now, as a record persisted in b, with the operation
 * that reports its commit. */
static struct eng_op *new_task_op(struct a2a_node *n, struct store_batch *b, const char *task_id,
				  const char *context_id, const char *skill_id, const char *originator,
				  const pb_message *msg, bool remote, const struct p2p_peer_id *peer)
{
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	a2a_pb_timestamp_set(&ts, aa_clock_wall_ms());
	pb_message *msgs[1] = { (pb_message *)msg };
	pb_task t = AGENTANYCAST__V1__TASK__INIT;
	t.task_id = (char *)task_id;
	t.context_id = (char *)context_id;
	t.status = ST_SUBMITTED;
	t.n_messages = 1;
	t.messages = msgs;
	t.created_at = &ts;
	t.updated_at = &ts;
	t.target_skill_id = (char *)skill_id;
	t.originator_peer_id = (char *)originator;
	struct task_rec *r = rec_new(n, a2a_pb_task_copy(&t), remote, peer);
	struct eng_op *op = op_new(n, r);
	op->created = true;
	rec_persist(r, b);
	return op;
}

int a2a_send_task(struct a2a_node *n, const struct p2p_peer_id *peer, const char *skill_id,
		  const Agentanycast__V1__Message *msg, a2a_task_cb cb, void *user)
{
	if (!n || !peer || !peer->len || !msg)
		return AA_EINVAL;
	if (p2p_peer_id_equal(peer, &n->self))
		return AA_EINVAL;
	int err;
	struct store_batch *b = admit_new_task(n, msg, &err);
	if (!b)
		return err;
	char id[37];
	uuid_v4_string(id);
	const char *skill = skill_id ? skill_id : "";
	struct eng_op *op = new_task_op(n, b, id, "", skill, A2A_ORIGINATOR_LOCAL, msg, false, peer);
	op->sent_task = true;
	op->task_cb = cb;
	op->user = user;

	/* REFERENCE B.5: SEND_TASK {task_id, context_id "", message, target_skill_id}. */
	Agentanycast__V1__SendTaskPayload st = AGENTANYCAST__V1__SEND_TASK_PAYLOAD__INIT;
	st.task_id = id;
	st.message = (pb_message *)msg;
	st.target_skill_id = (char *)skill;
	pb_envelope env = AGENTANYCAST__V1__A2_AENVELOPE__INIT;
	env.type = ENV_SEND_TASK;
	env.payload_case = AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_SEND_TASK;
	env.send_task = &st;
	char env_id[37];
	struct aa_buf packed;
	aa_buf_init(&packed);
	router_envelope_pack(&env, env_id, &packed);
	int rc = router_batch_enqueue(n, b, peer, env_id, aa_slice_make(packed.p, packed.n));
	aa_buf_free(&packed);
	if (rc == 0)
		op_queued(op, peer, env_id);
	op_submit(n, b, op);
	return 0;
}

int a2a_create_task(struct a2a_node *n, const struct a2a_task_spec *spec, a2a_task_cb cb, void *user)
{
	if (!n || !spec || !spec->message || !spec->originator || !*spec->originator)
		return AA_EINVAL;
	bool ours = strcmp(spec->originator, A2A_ORIGINATOR_LOCAL) == 0;
	const char *context = spec->context_id ? spec->context_id : "";
	const char *skill = spec->skill_id ? spec->skill_id : "";
	if (strlen(spec->originator) > A2A_MAX_TASK_ID || strlen(context) > A2A_MAX_TASK_ID ||
	    strlen(skill) > A2A_MAX_TASK_ID)
		return AA_EINVAL;
	char id[37];
	const char *task_id = spec->task_id;
	if (!task_id || !*task_id) {
		uuid_v4_string(id);
		task_id = id;
	} else if (strlen(task_id) > A2A_MAX_TASK_ID) {
		return AA_EINVAL;
	} else if (engine_find(n, task_id)) {
		return AA_EEXIST;
	}
	int err;
	struct store_batch *b = admit_new_task(n, spec->message, &err);
	if (!b)
		return err;
	/* No peer on either side: enqueue_envelope() never sends anything about it. An outside
	 * originator counts as remote, so the task is announced (and announced again after a
	 * restart) like one that came from a peer. */
	struct eng_op *op = new_task_op(n, b, task_id, context, skill, spec->originator,
					spec->message, !ours, NULL);
	op->incoming = !ours && !spec->announce_early;
	op->received_task = !ours;
	op->sent_task = ours;
	op->task_cb = cb;
	op->user = user;
	struct task_rec *r = op->rec; /* op is the commit callback's from here on */
	op_submit(n, b, op);
	if (!ours && spec->announce_early && !n->closing) {
		/* The agent works while the commit runs; see a2a_task_spec.announce_early. */
		pb_task view = *r->task;
		view.n_artifacts = 0;
		view.artifacts = NULL;
		subs_emit_incoming(n, &view, NULL);
	}
	return 0;
}

/* Common checks of the transition calls. */
static int lookup_for_change(struct a2a_node *n, const char *task_id, struct task_rec **out)
{
	if (!n || !task_id || !*task_id)
		return AA_EINVAL;
	struct task_rec *r = engine_find(n, task_id);
	if (!r)
		return AA_ENOENT;
	if (!node_can_submit(n))
		return n->closing ? AA_ECLOSED : AA_ENOMEM;
	*out = r;
	return 0;
}

int a2a_update_task_status(struct a2a_node *n, const char *task_id, pb_status status,
			   const Agentanycast__V1__Message *msg, a2a_done_cb cb, void *user)
{
	struct task_rec *r;
	int rc = lookup_for_change(n, task_id, &r);
	if (rc < 0)
		return rc;
	if (!transition_ok(r->task->status, status))
		return AA_ESTATE;
	if (payload_size(msg, NULL, 0) > PAYLOAD_MAX)
		return AA_EINVAL;
	struct store_batch *b = store_batch_new();
	struct eng_op *op = op_new(n, r);
	op->done_cb = cb;
	op->user = user;
	apply_step(n, r, op, status, msg, NULL, 0);
	/* REFERENCE B.5: the status as given, to a remote originator. */
	if (r->remote)
		enqueue_envelope(n, r, op, b, ENV_STATUS_UPDATE, status, msg, NULL, 0, NULL);
	rec_persist(r, b);
	op_submit(n, b, op);
	return 0;
}

/* DECISIONS 1: Complete/Fail on SUBMITTED first go through WORKING, whose update reaches a
 * remote originator first. */
static void implicit_working(struct a2a_node *n, struct task_rec *r, struct eng_op *op,
			     struct store_batch *b)
{
	if (r->task->status != ST_SUBMITTED)
		return;
	apply_step(n, r, op, ST_WORKING, NULL, NULL, 0);
	if (r->remote)
		enqueue_envelope(n, r, op, b, ENV_STATUS_UPDATE, ST_WORKING, NULL, NULL, 0, NULL);
}

static bool can_finish(pb_status from, pb_status to)
{
	return from == ST_SUBMITTED || transition_ok(from, to);
}

int a2a_complete_task(struct a2a_node *n, const char *task_id,
		      Agentanycast__V1__Artifact *const *artifacts, size_t nartifacts,
		      const Agentanycast__V1__Message *msg, a2a_done_cb cb, void *user)
{
	struct task_rec *r;
	int rc = lookup_for_change(n, task_id, &r);
	if (rc < 0)
		return rc;
	if (nartifacts && !artifacts)
		return AA_EINVAL;
	if (!can_finish(r->task->status, ST_COMPLETED))
		return AA_ESTATE;
	if (payload_size(msg, artifacts, nartifacts) > PAYLOAD_MAX)
		return AA_EINVAL;
	struct store_batch *b = store_batch_new();
	struct eng_op *op = op_new(n, r);
	op->done_cb = cb;
	op->user = user;
	implicit_working(n, r, op, b);
	apply_step(n, r, op, ST_COMPLETED, msg, artifacts, nartifacts);
	if (r->remote)
		enqueue_envelope(n, r, op, b, ENV_COMPLETE, ST_COMPLETED, msg, artifacts, nartifacts, NULL);
	rec_persist(r, b);
	op_submit(n, b, op);
	return 0;
}

int a2a_fail_task(struct a2a_node *n, const char *task_id, const char *error_message,
		  a2a_done_cb cb, void *user)
{
	struct task_rec *r;
	int rc = lookup_for_change(n, task_id, &r);
	if (rc < 0)
		return rc;
	if (!can_finish(r->task->status, ST_FAILED))
		return AA_ESTATE;
	const char *text = error_message ? error_message : "";
	if (strlen(text) > PAYLOAD_MAX / 2)
		return AA_EINVAL;
	/* DECISIONS 2: the error text is the status message, here and at the originator (the
	 * envelope carries it in error_message, as Go reads it, and as the message). */
	pb_message *m = a2a_text_message(text);
	struct store_batch *b = store_batch_new();
	struct eng_op *op = op_new(n, r);
	op->done_cb = cb;
	op->user = user;
	implicit_working(n, r, op, b);
	apply_step(n, r, op, ST_FAILED, m, NULL, 0);
	if (r->remote)
		enqueue_envelope(n, r, op, b, ENV_FAIL, ST_FAILED, m, NULL, 0, text);
	rec_persist(r, b);
	a2a_pb_free(m);
	op_submit(n, b, op);
	return 0;
}

int a2a_cancel_task(struct a2a_node *n, const char *task_id, a2a_task_cb cb, void *user)
{
	struct task_rec *r;
	int rc = lookup_for_change(n, task_id, &r);
	if (rc < 0)
		return rc;
	/* Checked before anything is sent (the reference dispatched TASK_FAIL first). */
	if (!transition_ok(r->task->status, ST_CANCELED))
		return AA_ESTATE;
	struct store_batch *b = store_batch_new();
	struct eng_op *op = op_new(n, r);
	op->task_cb = cb;
	op->user = user;
	if (r->remote) {
		/* REFERENCE C.5: the originator learns it as a failure. */
		pb_message *m = a2a_text_message(CANCELED_TEXT);
		enqueue_envelope(n, r, op, b, ENV_FAIL, ST_FAILED, m, NULL, 0, CANCELED_TEXT);
		a2a_pb_free(m);
	} else {
		/* Better than the reference: the executing peer hears of it. */
		enqueue_envelope(n, r, op, b, ENV_CANCEL, ST_CANCELED, NULL, NULL, 0, NULL);
	}
	apply_step(n, r, op, ST_CANCELED, NULL, NULL, 0);
	rec_persist(r, b);
	op_submit(n, b, op);
	return 0;
}

/* ---- inbound envelopes (REFERENCE.md B.6 step 5) ------------------------------------------ */

static int apply_send_task(struct a2a_node *n, struct a2a_peer *from, const pb_envelope *env,
			   struct store_batch *b, struct eng_op **out)
{
	if (env->payload_case != AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_SEND_TASK) {
		aa_log(AA_LOG_WARN, "a2a: SEND_TASK without payload", "peer", peer_str(from), NULL);
		return 0;
	}
	const Agentanycast__V1__SendTaskPayload *pl = env->send_task;
	char fresh[37];
	const char *id = pl->task_id;
	if (!*id) {
		uuid_v4_string(fresh);
		id = fresh;
	}
	if (strlen(id) > A2A_MAX_TASK_ID) {
		aa_log(AA_LOG_WARN, "a2a: SEND_TASK with an overlong task id", "peer", peer_str(from), NULL);
		return 0;
	}
	if (engine_find(n, id)) {
		/* Never let a peer take over a task id we know (ours or another peer's). */
		aa_log(AA_LOG_WARN, "a2a: SEND_TASK for a known task id", "peer", peer_str(from),
		       "task", id, NULL);
		return 0;
	}
	if (make_room(n, b) < 0)
		return AA_ENOMEM;
	int64_t now = aa_clock_wall_ms();
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	a2a_pb_timestamp_set(&ts, now);
	bool keep_msg = pl->message && protobuf_c_message_get_packed_size(&pl->message->base) + 8 <=
		A2A_TASK_MAX_BYTES;
	pb_message *msgs[1] = { pl->message };
	pb_task t = AGENTANYCAST__V1__TASK__INIT;
	t.task_id = (char *)id;
	t.context_id = pl->context_id;
	t.status = ST_SUBMITTED;
	t.n_messages = keep_msg ? 1 : 0;
	t.messages = keep_msg ? msgs : NULL;
	t.created_at = &ts;
	t.updated_at = &ts;
	t.target_skill_id = pl->target_skill_id;
	t.originator_peer_id = (char *)peer_str(from);
	struct task_rec *r = rec_new(n, a2a_pb_task_copy(&t), true, &from->id);
	struct eng_op *op = op_new(n, r);
	op->created = true;
	op->incoming = true;
	op->received_task = true;
	op->from = from->id;
	if (pl->message && !keep_msg)
		op->incoming_msg = a2a_pb_message_copy(pl->message);
	rec_persist(r, b);
	*out = op;
	return 0;
}

static int apply_remote_update(struct a2a_node *n, struct a2a_peer *from, const pb_envelope *env,
			       struct store_batch *b, struct eng_op **out)
{
	const char *task_id = NULL, *error_text = NULL;
	pb_status to = ST_UNSPECIFIED;
	const pb_message *msg = NULL;
	pb_artifact *const *arts = NULL;
	size_t narts = 0;
	switch (env->payload_case) {
	case AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_TASK_STATUS_UPDATE:
		if (env->type != ENV_STATUS_UPDATE)
			break;
		task_id = env->task_status_update->task_id;
		to = env->task_status_update->status;
		msg = env->task_status_update->message;
		break;
	case AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_TASK_COMPLETE:
		if (env->type != ENV_COMPLETE)
			break;
		task_id = env->task_complete->task_id;
		to = ST_COMPLETED;
		msg = env->task_complete->message;
		arts = env->task_complete->artifacts;
		narts = env->task_complete->n_artifacts;
		break;
	case AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_TASK_FAIL:
		if (env->type != ENV_FAIL)
			break;
		task_id = env->task_fail->task_id;
		to = ST_FAILED;
		msg = env->task_fail->message;
		error_text = env->task_fail->error_message;
		break;
	default:
		break;
	}
	if (!task_id) {
		aa_log(AA_LOG_WARN, "a2a: task envelope without its payload", "peer", peer_str(from), NULL);
		return 0;
	}
	struct task_rec *r = engine_find(n, task_id);
	/* Only the peer we sent the task to may drive it. */
	if (!r || r->remote || !p2p_peer_id_equal(&r->peer, &from->id)) {
		aa_log(AA_LOG_WARN, "a2a: update for a task this peer does not execute", "peer",
		       peer_str(from), "task", task_id, NULL);
		return 0;
	}
	pb_status cur = r->task->status;
	bool finish = to == ST_COMPLETED || to == ST_FAILED;
	if (!(finish ? can_finish(cur, to) : transition_ok(cur, to))) {
		aa_log(AA_LOG_INFO, "a2a: invalid transition from peer ignored", "task", task_id,
		       "from", a2a_pb_task_status_name(cur), "to", a2a_pb_task_status_name(to), NULL);
		return 0;
	}
	struct eng_op *op = op_new(n, r);
	/* Peers that complete straight from SUBMITTED (the reference's SDKs) still give our
	 * subscribers WORKING first (DECISIONS 1). */
	if (finish && cur == ST_SUBMITTED)
		apply_step(n, r, op, ST_WORKING, NULL, NULL, 0);
	pb_message *text = NULL;
	if (to == ST_FAILED && !msg) {
		/* DECISIONS 2: the error text reaches subscribers as the status message. */
		text = a2a_text_message(error_text ? error_text : "");
		msg = text;
	}
	apply_step(n, r, op, to, msg, arts, narts);
	a2a_pb_free(text);
	rec_persist(r, b);
	*out = op;
	return 0;
}

static int apply_remote_cancel(struct a2a_node *n, struct a2a_peer *from, const pb_envelope *env,
			       struct store_batch *b, struct eng_op **out)
{
	if (env->payload_case != AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_TASK_CANCEL)
		return 0;
	const char *task_id = env->task_cancel->task_id;
	struct task_rec *r = engine_find(n, task_id);
	/* Only the originator may cancel. */
	if (!r || !r->remote || !p2p_peer_id_equal(&r->peer, &from->id)) {
		aa_log(AA_LOG_WARN, "a2a: cancel for a task this peer did not send", "peer",
		       peer_str(from), "task", task_id, NULL);
		return 0;
	}
	if (!transition_ok(r->task->status, ST_CANCELED)) {
		aa_log(AA_LOG_INFO, "a2a: cancel of a finished task ignored", "task", task_id, NULL);
		return 0;
	}
	struct eng_op *op = op_new(n, r);
	apply_step(n, r, op, ST_CANCELED, NULL, NULL, 0);
	rec_persist(r, b);
	*out = op;
	return 0;
}

int engine_apply_envelope(struct a2a_node *n, struct a2a_peer *from, const pb_envelope *env,
			  struct store_batch *b, struct eng_op **op)
{
	*op = NULL;
	switch (env->type) {
	case ENV_SEND_TASK:
		return apply_send_task(n, from, env, b, op);
	case ENV_STATUS_UPDATE:
	case ENV_COMPLETE:
	case ENV_FAIL:
		return apply_remote_update(n, from, env, b, op);
	case ENV_CANCEL:
		return apply_remote_cancel(n, from, env, b, op);
	default:
		return 0;
	}
}

/* ---- recovery (REFERENCE.md C.7) ---------------------------------------------------------- */

static int load_one(struct aa_slice key, struct aa_slice value, void *arg)
{
	struct a2a_node *n = arg;
	struct a2a_pb_limits l;
	a2a_pb_limits_default(&l);
	char why[128] = "";
	pb_task *t = a2a_pb_task_unpack(value, &l, NULL, why, sizeof why);
	if (!t || strlen(t->task_id) != key.n || memcmp(t->task_id, key.p, key.n) != 0 ||
	    engine_find(n, t->task_id)) {
		aa_log(AA_LOG_WARN, "a2a: unreadable task record skipped", "error", why, NULL);
		a2a_pb_free(t);
		return 0;
	}
	struct p2p_peer_id peer = { 0 };
	bool announced = false;
	take_private_fields(t, &peer, &announced);
	bool remote = strcmp(t->originator_peer_id, A2A_ORIGINATOR_LOCAL) != 0;
	if (remote) {
		memset(&peer, 0, sizeof peer);
		if (p2p_peer_id_parse(t->originator_peer_id, strlen(t->originator_peer_id), &peer) < 0)
			memset(&peer, 0, sizeof peer);
	}
	struct task_rec *r = rec_new(n, t, remote, &peer);
	r->announced = announced;
	return 0;
}

static int cmp_updated(const void *a, const void *b)
{
	const struct task_rec *x = *(struct task_rec *const *)a, *y = *(struct task_rec *const *)b;
	int64_t tx = a2a_pb_timestamp_ms(x->task->updated_at), ty = a2a_pb_timestamp_ms(y->task->updated_at);
	return tx < ty ? -1 : tx > ty;
}

static void on_evicted(int status, const struct store_batch *b, void *arg)
{
}

int engine_init(struct a2a_node *n)
{
	map_init(&n->tasks, 0);
	int rc = store_foreach(n->store, STORE_TASKS, load_one, n);
	if (rc < 0) {
		aa_log(AA_LOG_ERROR, "a2a: cannot read the tasks", "error", aa_strerror(rc), NULL);
		return rc;
	}
	/* Terminal tasks in the order they finished, for eviction. */
	size_t count = 0;
	for (struct task_rec *r = n->term_oldest; r; r = r->newer)
		count++;
	if (count > 1) {
		struct task_rec **v = aa_malloc(count * sizeof *v);
		size_t i = 0;
		for (struct task_rec *r = n->term_oldest; r; r = r->newer)
			v[i++] = r;
		qsort(v, count, sizeof *v, cmp_updated);
		n->term_oldest = n->term_newest = NULL;
		for (i = 0; i < count; i++) {
			v[i]->listed = false;
			term_append(n, v[i]);
		}
		free(v);
	}
	return 0;
}

void engine_trim(struct a2a_node *n)
{
	/* A lowered max_tasks takes effect at once. */
	if (map_count(&n->tasks) <= n->cfg.max_tasks)
		return;
	struct store_batch *b = store_batch_new();
	while (map_count(&n->tasks) > n->cfg.max_tasks && n->term_oldest) {
		struct task_rec *r = n->term_oldest;
		store_batch_del(b, STORE_TASKS, aa_slice_make(r->task->task_id, strlen(r->task->task_id)));
		rec_remove(n, r);
	}
	node_submit(n, b, on_evicted, NULL);
}

static int cmp_created(const void *a, const void *b)
{
	const struct task_rec *x = *(struct task_rec *const *)a, *y = *(struct task_rec *const *)b;
	int64_t tx = a2a_pb_timestamp_ms(x->task->created_at), ty = a2a_pb_timestamp_ms(y->task->created_at);
	return tx < ty ? -1 : tx > ty;
}

void engine_replay_incoming(struct a2a_node *n)
{
	size_t count = 0, cap = 0;
	struct task_rec **v = NULL;
	struct map_iter it;
	void *val;
	map_iter_init(&it, &n->tasks);
	while (map_iter_next(&it, NULL, NULL, &val)) {
		struct task_rec *r = val;
		if (!r->remote || r->announced || r->task->status != ST_SUBMITTED)
			continue;
		if (count == cap) {
			cap = cap ? cap * 2 : 16;
			v = aa_realloc(v, cap * sizeof *v);
		}
		v[count++] = r;
	}
	if (count > 1)
		qsort(v, count, sizeof *v, cmp_created);
	for (size_t i = 0; i < count; i++) {
		pb_task view = *v[i]->task;
		view.n_messages = view.n_messages ? 1 : 0;
		view.n_artifacts = 0;
		view.artifacts = NULL;
		subs_emit_incoming(n, &view, v[i]->peer.len ? card_of(n, &v[i]->peer) : NULL);
	}
	if (count)
		aa_logf(AA_LOG_INFO, "a2a: %zu incoming tasks announced again after restart", count);
	free(v);
}

static void on_announced(int status, const struct store_batch *b, void *arg)
{
}

void engine_announced(struct a2a_node *n, const char *task_id)
{
	struct task_rec *r = engine_find(n, task_id);
	if (!r || !r->remote || r->announced || n->closing)
		return;
	r->announced = true;
	struct store_batch *b = store_batch_new();
	rec_persist(r, b);
	/* A lost flag only means announcing the task again after a restart (at least once). */
	store_batch_set_lazy(b);
	node_submit(n, b, on_announced, NULL);
}

void engine_free(struct a2a_node *n)
{
	struct map_iter it;
	void *v;
	map_iter_init(&it, &n->tasks);
	while (map_iter_next(&it, NULL, NULL, &v)) {
		map_iter_remove(&it);
		rec_free(v);
	}
	map_free(&n->tasks);
	n->term_oldest = n->term_newest = NULL;
}
