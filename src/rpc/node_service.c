/* node_service: agentanycast.v1.NodeService on our gRPC server. One `struct rpc` per call
 * carries the call across asynchronous engine callbacks: it is reference counted (the gRPC
 * hold, each pending engine callback, a subscription, a stream) so a call cancelled by the
 * client while the engine still works is freed only when the last callback has run. */
#include "rpc/node_service.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a2a/pb.h"
#include "agentanycast/v1/node_service.pb-c.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "rpc/health.h"

#define SERVICE "agentanycast.v1.NodeService"

struct node_service;
struct method;

struct rpc {
	struct node_service *ns;
	const struct method *m;
	struct grpc_call *call;     /* NULL once finished or cancelled */
	int refs;
	bool handled;               /* the (single) request of a unary/server-stream call came */
	struct a2a_sub *sub;
	struct a2a_stream_out *out;
	struct aa_buf held;         /* responses gRPC could not queue yet: u32 length + bytes */
	/* SendStreamingArtifact: an event the engine could not take yet (AA_EAGAIN); it is fed
	 * again when the stream is ready, and the client is not read meanwhile. */
	Agentanycast__V1__SendStreamingArtifactRequest *pending_event;
	bool half_closed;          /* the client finished while an event was pending */
	bool end_when_sent;        /* SubscribeTaskUpdates: terminal update sent; OK once flushed */
	struct p2p_peer_id peer;   /* ConnectPeer: the peer being connected */
};

typedef void (*method_fn)(struct rpc *rc, ProtobufCMessage *req);

struct method {
	const char *name;
	enum grpc_method_kind kind;
	const ProtobufCMessageDescriptor *request;
	method_fn handle;
};

struct node_service {
	struct grpc_server *grpc;
	struct grpc_health *health;
	struct a2a_node *a2a;
	struct p2p_host *host;
	struct node_service_info info;
	struct a2a_pb_limits limits;
};

int node_service_status_for(int err)
{
	switch (err) {
	case 0: return GRPC_STATUS_OK;
	case AA_EINVAL: return GRPC_STATUS_INVALID_ARGUMENT;
	case AA_ENOENT: return GRPC_STATUS_NOT_FOUND;
	case AA_ESTATE: return GRPC_STATUS_FAILED_PRECONDITION;
	case AA_EUNAVAIL: return GRPC_STATUS_UNAVAILABLE;
	case AA_ENOMEM:
	case AA_ETOOBIG: return GRPC_STATUS_RESOURCE_EXHAUSTED;
	case AA_ETIMEDOUT: return GRPC_STATUS_DEADLINE_EXCEEDED;
	case AA_ENOTSUP: return GRPC_STATUS_UNIMPLEMENTED;
	case AA_ECANCELED: return GRPC_STATUS_CANCELLED;
	default: return GRPC_STATUS_INTERNAL;
	}
}

/* ---- call lifetime ----------------------------------------------------------------------- */

static void rc_ref(struct rpc *rc) { rc->refs++; }

static void rc_unref(struct rpc *rc)
{
	if (--rc->refs > 0)
		return;
	aa_buf_free(&rc->held);
	a2a_pb_free(rc->pending_event);
	free(rc);
}

/* Drops the subscription / outgoing stream of a call that is ending. */
static void rc_detach(struct rpc *rc)
{
	if (rc->sub) {
		struct a2a_sub *s = rc->sub;
		rc->sub = NULL;
		a2a_unsubscribe(s); /* its on_end releases the subscription's reference */
	}
	if (rc->out) {
		struct a2a_stream_out *o = rc->out;
		rc->out = NULL;
		a2a_stream_abort(o);
		/* The stream's reference; never the last one here: both callers still hold the
		 * gRPC reference. */
		rc->refs--;
	}
}

static void rc_finish(struct rpc *rc, int status, const char *msg)
{
	if (!rc->call)
		return;
	struct grpc_call *c = rc->call;
	rc->call = NULL;
	grpc_call_set_data(c, NULL);
	rc_detach(rc);
	grpc_call_finish(c, status, msg);
	rc_unref(rc); /* the gRPC hold */
}

static void rc_fail(struct rpc *rc, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void rc_fail(struct rpc *rc, int status, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	rc_finish(rc, status, msg);
}

static void rc_fail_err(struct rpc *rc, int err, const char *what)
{
	rc_fail(rc, node_service_status_for(err), "%s: %s", what, aa_strerror(err));
}

/* Unary reply: the response, then OK. */
static void rc_reply(struct rpc *rc, const ProtobufCMessage *resp)
{
	if (!rc->call)
		return;
	struct aa_buf b;
	aa_buf_init(&b);
	a2a_pb_pack(resp, &b);
	int rc_send = grpc_call_send(rc->call, b.p, b.n);
	aa_buf_free(&b);
	if (rc_send < 0) {
		rc_fail(rc, GRPC_STATUS_INTERNAL, "cannot send the response: %s", aa_strerror(rc_send));
		return;
	}
	rc_finish(rc, GRPC_STATUS_OK, NULL);
}

/* Server-stream message; what gRPC cannot queue now waits in `held` and the subscription is
 * paused until on_writable. */
static void rc_stream_send(struct rpc *rc, const ProtobufCMessage *m)
{
	if (!rc->call)
		return;
	struct aa_buf b;
	aa_buf_init(&b);
	a2a_pb_pack(m, &b);
	int st = rc->held.n ? AA_EAGAIN : grpc_call_send(rc->call, b.p, b.n);
	if (st == AA_EAGAIN) {
		uint32_t len = (uint32_t)b.n;
		aa_buf_append(&rc->held, &len, sizeof len);
		aa_buf_append(&rc->held, b.p, b.n);
		if (rc->sub)
			a2a_sub_set_ready(rc->sub, false);
	} else if (st < 0) {
		rc_fail(rc, GRPC_STATUS_INTERNAL, "cannot send: %s", aa_strerror(st));
	}
	aa_buf_free(&b);
}

static void on_call_writable(struct grpc_call *call, void *user)
{
	struct rpc *rc = grpc_call_data(call);
	if (!rc)
		return;
	while (rc->held.n >= sizeof(uint32_t) && rc->call) {
		uint32_t len;
		memcpy(&len, rc->held.p, sizeof len);
		int st = grpc_call_send(rc->call, rc->held.p + sizeof len, len);
		if (st == AA_EAGAIN)
			return;
		aa_buf_consume(&rc->held, sizeof len + len);
		if (st < 0) {
			rc_fail(rc, GRPC_STATUS_INTERNAL, "cannot send: %s", aa_strerror(st));
			return;
		}
	}
	if (rc->end_when_sent) {
		rc_finish(rc, GRPC_STATUS_OK, NULL);
		return;
	}
	if (rc->sub)
		a2a_sub_set_ready(rc->sub, true);
}

/* ---- helpers ------------------------------------------------------------------------------ */

static bool parse_peer(struct rpc *rc, const char *text, struct p2p_peer_id *out)
{
	if (!text || !*text) {
		rc_fail(rc, GRPC_STATUS_INVALID_ARGUMENT, "peer_id is required");
		return false;
	}
	if (p2p_peer_id_parse(text, strlen(text), out) < 0) {
		rc_fail(rc, GRPC_STATUS_INVALID_ARGUMENT, "invalid peer_id");
		return false;
	}
	return true;
}

static bool require_task_id(struct rpc *rc, const char *id)
{
	if (id && *id)
		return true;
	rc_fail(rc, GRPC_STATUS_INVALID_ARGUMENT, "task_id is required");
	return false;
}

static char *peer_text(const struct p2p_peer_id *id)
{
	char buf[P2P_PEER_ID_STRING_MAX];
	p2p_peer_id_to_string(id, buf, sizeof buf);
	return aa_strdup(buf);
}

/* ---- unary RPCs ----------------------------------------------------------------------------- */

static void do_get_node_info(struct rpc *rc, ProtobufCMessage *req)
{
	struct node_service *ns = rc->ns;
	Agentanycast__V1__NodeInfo info = AGENTANYCAST__V1__NODE_INFO__INIT;
	Google__Protobuf__Timestamp started = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	a2a_pb_timestamp_set(&started, ns->info.started_at_ms);
	info.peer_id = peer_text(p2p_host_peer_id(ns->host));
	struct multiaddr *addrs;
	size_t n;
	p2p_host_listen_addrs(ns->host, &addrs, &n);
	info.listen_addresses = aa_calloc(n ? n : 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		char *t = NULL;
		if (multiaddr_to_string(&addrs[i], &t) == 0)
			info.listen_addresses[info.n_listen_addresses++] = t;
		multiaddr_free(&addrs[i]);
	}
	free(addrs);
	info.connected_peers = (int32_t)p2p_host_connected_peers(ns->host, NULL, 0);
	info.started_at = &started;
	info.version = (char *)ns->info.version;
	Agentanycast__V1__GetNodeInfoResponse resp = AGENTANYCAST__V1__GET_NODE_INFO_RESPONSE__INIT;
	resp.node_info = &info;
	rc_reply(rc, &resp.base);
	for (size_t i = 0; i < info.n_listen_addresses; i++)
		free(info.listen_addresses[i]);
	free(info.listen_addresses);
	free(info.peer_id);
}

static void empty_reply_cb(void *user, int err)
{
	struct rpc *rc = user;
	if (err) {
		/* REFERENCE D.2: an unknown task is FAILED_PRECONDITION for these three RPCs. */
		int st = err == AA_ENOENT ? GRPC_STATUS_FAILED_PRECONDITION : node_service_status_for(err);
		rc_fail(rc, st, "%s: %s", rc->m->name, aa_strerror(err));
	} else {
		/* Every empty response message encodes to zero bytes. */
		if (rc->call) {
			grpc_call_send(rc->call, (const uint8_t *)"", 0);
			rc_finish(rc, GRPC_STATUS_OK, NULL);
		}
	}
	rc_unref(rc);
}

static void do_set_agent_card(struct rpc *rc, ProtobufCMessage *req)
{
	Agentanycast__V1__SetAgentCardRequest *r = (void *)req;
	if (!r->card) {
		rc_fail(rc, GRPC_STATUS_INVALID_ARGUMENT, "card is required");
		return;
	}
	rc_ref(rc);
	int err = a2a_set_agent_card(rc->ns->a2a, r->card, empty_reply_cb, rc);
	if (err < 0) {
		rc_fail_err(rc, err, "set agent card");
		rc_unref(rc);
	}
}

static void connect_cb(void *user, int err)
{
	struct rpc *rc = user;
	if (err) {
		rc_fail(rc, GRPC_STATUS_UNAVAILABLE, "connect: %s", aa_strerror(err));
	} else if (rc->call) {
		Agentanycast__V1__PeerInfo pi = AGENTANYCAST__V1__PEER_INFO__INIT;
		Google__Protobuf__Timestamp now = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
		a2a_pb_timestamp_set(&now, aa_clock_wall_ms());
		pi.peer_id = peer_text(&rc->peer);
		pi.connected_at = &now;
		Agentanycast__V1__ConnectPeerResponse resp = AGENTANYCAST__V1__CONNECT_PEER_RESPONSE__INIT;
		resp.peer_info = &pi;
		rc_reply(rc, &resp.base);
		free(pi.peer_id);
	}
	rc_unref(rc);
}

static void do_connect_peer(struct rpc *rc, ProtobufCMessage *req)
{
	Agentanycast__V1__ConnectPeerRequest *r = (void *)req;
	struct p2p_peer_id peer;
	if (!parse_peer(rc, r->peer_id, &peer))
		return;
	/* REFERENCE D.2: unparsable addresses are skipped. */
	struct multiaddr *addrs = aa_calloc(r->n_addresses ? r->n_addresses : 1, sizeof *addrs);
	size_t n = 0;
	for (size_t i = 0; i < r->n_addresses; i++)
		if (multiaddr_parse(r->addresses[i], &addrs[n], NULL) == 0)
			n++;
	rc->peer = peer;
	rc_ref(rc);
	int err = a2a_connect_peer(rc->ns->a2a, &peer, addrs, n, connect_cb, rc);
	for (size_t i = 0; i < n; i++)
		multiaddr_free(&addrs[i]);
	free(addrs);
	if (err < 0) {
		rc_fail(rc, GRPC_STATUS_UNAVAILABLE, "connect: %s", aa_strerror(err));
		rc_unref(rc);
	}
}

static void do_list_peers(struct rpc *rc, ProtobufCMessage *req)
{
	struct node_service *ns = rc->ns;
	size_t n = p2p_host_connected_peers(ns->host, NULL, 0);
	struct p2p_peer_id *ids = aa_calloc(n ? n : 1, sizeof *ids);
	n = p2p_host_connected_peers(ns->host, ids, n);
	Agentanycast__V1__PeerInfo *infos = aa_calloc(n ? n : 1, sizeof *infos);
	Agentanycast__V1__PeerInfo **ptrs = aa_calloc(n ? n : 1, sizeof *ptrs);
	char **addr_text = aa_calloc(n ? n : 1, sizeof *addr_text);
	for (size_t i = 0; i < n; i++) {
		Agentanycast__V1__PeerInfo init = AGENTANYCAST__V1__PEER_INFO__INIT;
		infos[i] = init;
		infos[i].peer_id = peer_text(&ids[i]);
		struct p2p_conn *c = p2p_host_conn_to(ns->host, &ids[i]);
		if (c && p2p_conn_remote_addr(c)->len && multiaddr_to_string(p2p_conn_remote_addr(c), &addr_text[i]) == 0) {
			infos[i].addresses = &addr_text[i];
			infos[i].n_addresses = 1;
		}
		ptrs[i] = &infos[i];
	}
	Agentanycast__V1__ListPeersResponse resp = AGENTANYCAST__V1__LIST_PEERS_RESPONSE__INIT;
	resp.peers = ptrs;
	resp.n_peers = n;
	rc_reply(rc, &resp.base);
	for (size_t i = 0; i < n; i++) {
		free(infos[i].peer_id);
		free(addr_text[i]);
	}
	free(addr_text);
	free(ptrs);
	free(infos);
	free(ids);
}

static void do_get_peer_card(struct rpc *rc, ProtobufCMessage *req)
{
	Agentanycast__V1__GetPeerCardRequest *r = (void *)req;
	struct p2p_peer_id peer;
	if (!parse_peer(rc, r->peer_id, &peer))
		return;
	const Agentanycast__V1__AgentCard *card = a2a_peer_card(rc->ns->a2a, &peer);
	if (!card) {
		rc_fail(rc, GRPC_STATUS_NOT_FOUND, "no card for peer %s", r->peer_id);
		return;
	}
	Agentanycast__V1__GetPeerCardResponse resp = AGENTANYCAST__V1__GET_PEER_CARD_RESPONSE__INIT;
	resp.card = (Agentanycast__V1__AgentCard *)card;
	rc_reply(rc, &resp.base);
}

static void task_reply_cb(void *user, int err, const Agentanycast__V1__Task *task)
{
	struct rpc *rc = user;
	if (err) {
		rc_fail_err(rc, err, rc->m->name);
	} else if (rc->call) {
		/* SendTaskResponse, GetTaskResponse and CancelTaskResponse all are { Task task = 1; }. */
		Agentanycast__V1__SendTaskResponse resp = AGENTANYCAST__V1__SEND_TASK_RESPONSE__INIT;
		resp.task = (Agentanycast__V1__Task *)task;
		rc_reply(rc, &resp.base);
	}
	rc_unref(rc);
}

/* Process-wide: the metrics module reads them without a service pointer. */
static struct node_service_stats route_stats;

void node_service_stats(struct node_service_stats *out)
{
	*out = route_stats;
}

static void url_reply_cb(void *user, int err, const char *why, const Agentanycast__V1__Task *task)
{
	struct rpc *rc = user;
	if (err && rc->call) {
		/* An error the remote agent itself returned is UNKNOWN to us, as gRPC advises
		 * for errors from another address space. */
		int code = err == AA_EPROTO ? GRPC_STATUS_UNKNOWN : node_service_status_for(err);
		rc_fail(rc, code, "%s", why ? why : aa_strerror(err));
	} else if (rc->call) {
		Agentanycast__V1__SendTaskResponse resp = AGENTANYCAST__V1__SEND_TASK_RESPONSE__INIT;
		resp.task = (Agentanycast__V1__Task *)task;
		rc_reply(rc, &resp.base);
	}
	rc_unref(rc);
}

/* DECISIONS 9: a standard HTTP A2A agent, followed to completion by the bridge. */
static void do_send_to_url(struct rpc *rc, const Agentanycast__V1__SendTaskRequest *r)
{
	const struct node_service_info *info = &rc->ns->info;
	if (!info->send_to_url) {
		rc_fail(rc, GRPC_STATUS_UNIMPLEMENTED, "the HTTP bridge is not available on this node");
		return;
	}
	rc_ref(rc);
	int err = info->send_to_url(info->send_to_url_ctx, r->url, r->message, url_reply_cb, rc);
	if (err < 0) {
		rc_fail(rc, node_service_status_for(err), "%s",
			err == AA_EINVAL ? "url must be http:// or https://" : aa_strerror(err));
		rc_unref(rc);
	}
}

static void do_send_task(struct rpc *rc, ProtobufCMessage *req)
{
	Agentanycast__V1__SendTaskRequest *r = (void *)req;
	/* REFERENCE D.2: the message is checked first. */
	if (!r->message) {
		rc_fail(rc, GRPC_STATUS_INVALID_ARGUMENT, "message is required");
		return;
	}
	switch (r->target_case) {
	case AGENTANYCAST__V1__SEND_TASK_REQUEST__TARGET_PEER_ID: {
		if (!r->peer_id || !*r->peer_id)
			break;
		struct p2p_peer_id peer;
		if (p2p_peer_id_parse(r->peer_id, strlen(r->peer_id), &peer) < 0) {
			rc_fail(rc, GRPC_STATUS_INVALID_ARGUMENT, "invalid peer_id");
			return;
		}
		rc_ref(rc);
		int err = a2a_send_task(rc->ns->a2a, &peer, NULL, r->message, task_reply_cb, rc);
		if (err < 0) {
			rc_fail_err(rc, err, "send task");
			rc_unref(rc);
		}
		return;
	}
	case AGENTANYCAST__V1__SEND_TASK_REQUEST__TARGET_SKILL_ID:
		if (!r->skill_id || !*r->skill_id)
			break;
		/* REFERENCE D.3: no anycast router → UNAVAILABLE (the SDKs map it to PeerNotFound).
		 * No route was found: a miss (REFERENCE G.2 route_resolutions_total). */
		route_stats.route_miss++;
		rc_fail(rc, GRPC_STATUS_UNAVAILABLE, "anycast routing is not configured");
		return;
	case AGENTANYCAST__V1__SEND_TASK_REQUEST__TARGET_URL:
		if (!r->url || !*r->url)
			break;
		do_send_to_url(rc, r);
		return;
	default:
		break;
	}
	rc_fail(rc, GRPC_STATUS_INVALID_ARGUMENT, "target (peer_id, skill_id, or url) is required");
}

static void do_get_task(struct rpc *rc, ProtobufCMessage *req)
{
	Agentanycast__V1__GetTaskRequest *r = (void *)req;
	if (!require_task_id(rc, r->task_id))
		return;
	const Agentanycast__V1__Task *t = a2a_get_task(rc->ns->a2a, r->task_id);
	if (!t) {
		rc_fail(rc, GRPC_STATUS_NOT_FOUND, "task %s not found", r->task_id);
		return;
	}
	Agentanycast__V1__GetTaskResponse resp = AGENTANYCAST__V1__GET_TASK_RESPONSE__INIT;
	resp.task = (Agentanycast__V1__Task *)t;
	rc_reply(rc, &resp.base);
}

static void do_cancel_task(struct rpc *rc, ProtobufCMessage *req)
{
	Agentanycast__V1__CancelTaskRequest *r = (void *)req;
	if (!require_task_id(rc, r->task_id))
		return;
	/* Read now: rc belongs to the reply callback once the cancel is accepted. */
	const struct node_service_info *info = &rc->ns->info;
	rc_ref(rc);
	int err = a2a_cancel_task(rc->ns->a2a, r->task_id, task_reply_cb, rc);
	if (err < 0) {
		rc_fail_err(rc, err, "cancel task");
		rc_unref(rc);
		return;
	}
	/* Better than the reference: a task sent to an HTTP agent is cancelled there too. */
	if (info->cancel_url_task)
		info->cancel_url_task(info->send_to_url_ctx, r->task_id);
}

static void transition_started(struct rpc *rc, int err)
{
	if (err >= 0)
		return;
	int st = err == AA_ENOENT ? GRPC_STATUS_FAILED_PRECONDITION : node_service_status_for(err);
	rc_fail(rc, st, "%s: %s", rc->m->name, aa_strerror(err));
	rc_unref(rc);
}

static void do_update_task_status(struct rpc *rc, ProtobufCMessage *req)
{
	Agentanycast__V1__UpdateTaskStatusRequest *r = (void *)req;
	if (!require_task_id(rc, r->task_id))
		return;
	rc_ref(rc);
	transition_started(rc, a2a_update_task_status(rc->ns->a2a, r->task_id, r->status, r->message,
						      empty_reply_cb, rc));
}

static void do_complete_task(struct rpc *rc, ProtobufCMessage *req)
{
	Agentanycast__V1__CompleteTaskRequest *r = (void *)req;
	if (!require_task_id(rc, r->task_id))
		return;
	rc_ref(rc);
	transition_started(rc, a2a_complete_task(rc->ns->a2a, r->task_id, r->artifacts, r->n_artifacts,
						 r->message, empty_reply_cb, rc));
}

static void do_fail_task(struct rpc *rc, ProtobufCMessage *req)
{
	Agentanycast__V1__FailTaskRequest *r = (void *)req;
	if (!require_task_id(rc, r->task_id))
		return;
	rc_ref(rc);
	transition_started(rc, a2a_fail_task(rc->ns->a2a, r->task_id, r->error_message, empty_reply_cb, rc));
}

static void do_discover(struct rpc *rc, ProtobufCMessage *req)
{
	Agentanycast__V1__DiscoverRequest *r = (void *)req;
	if (!r->skill_id || !*r->skill_id) {
		rc_fail(rc, GRPC_STATUS_INVALID_ARGUMENT, "skill_id is required");
		return;
	}
	rc_fail(rc, GRPC_STATUS_UNAVAILABLE, "anycast routing is not configured");
}

/* ---- subscriptions ------------------------------------------------------------------------ */

static void sub_on_incoming(void *user, const struct a2a_incoming_event *ev)
{
	Agentanycast__V1__SubscribeIncomingTasksResponse m = AGENTANYCAST__V1__SUBSCRIBE_INCOMING_TASKS_RESPONSE__INIT;
	m.task = (Agentanycast__V1__Task *)ev->task;
	m.sender_card = (Agentanycast__V1__AgentCard *)ev->sender_card;
	rc_stream_send(user, &m.base);
}

/* Better than the reference (C.4, where the stream never ends): after a terminal update no
 * other can follow, so the stream ends with OK once that update is sent. Clients then need
 * not cancel it (SDKs do, which nghttp2 counts as "rapid reset" abuse). */
static void send_update(struct rpc *rc, const struct a2a_update_event *ev)
{
	Agentanycast__V1__SubscribeTaskUpdatesResponse m = AGENTANYCAST__V1__SUBSCRIBE_TASK_UPDATES_RESPONSE__INIT;
	m.task_id = (char *)ev->task_id;
	m.status = ev->status;
	m.message = (Agentanycast__V1__Message *)ev->message;
	m.artifacts = (Agentanycast__V1__Artifact **)ev->artifacts;
	m.n_artifacts = ev->nartifacts;
	rc_stream_send(rc, &m.base);
	if (!rc->call || !a2a_task_status_terminal(ev->status))
		return;
	if (rc->held.n)
		rc->end_when_sent = true; /* on_call_writable finishes */
	else
		rc_finish(rc, GRPC_STATUS_OK, NULL);
}

static void sub_on_update(void *user, const struct a2a_update_event *ev)
{
	send_update(user, ev);
}

static void sub_on_stream(void *user, const struct a2a_stream_event *ev)
{
	Agentanycast__V1__SubscribeTaskStreamResponse m = AGENTANYCAST__V1__SUBSCRIBE_TASK_STREAM_RESPONSE__INIT;
	if (ev->start) {
		m.event_case = AGENTANYCAST__V1__SUBSCRIBE_TASK_STREAM_RESPONSE__EVENT_STREAM_START;
		m.stream_start = (Agentanycast__V1__StreamStart *)ev->start;
	} else if (ev->chunk) {
		m.event_case = AGENTANYCAST__V1__SUBSCRIBE_TASK_STREAM_RESPONSE__EVENT_STREAM_CHUNK;
		m.stream_chunk = (Agentanycast__V1__StreamChunk *)ev->chunk;
	} else if (ev->end) {
		m.event_case = AGENTANYCAST__V1__SUBSCRIBE_TASK_STREAM_RESPONSE__EVENT_STREAM_END;
		m.stream_end = (Agentanycast__V1__StreamEnd *)ev->end;
	} else {
		return;
	}
	rc_stream_send(user, &m.base);
}

static void sub_on_end(void *user, int err)
{
	struct rpc *rc = user;
	rc->sub = NULL;
	if (rc->call) {
		if (err == AA_ENOMEM)
			rc_fail(rc, GRPC_STATUS_RESOURCE_EXHAUSTED, "subscriber too slow: events dropped");
		else
			rc_fail(rc, GRPC_STATUS_UNAVAILABLE, "node is shutting down");
	}
	rc_unref(rc);
}

static const struct a2a_sub_callbacks sub_callbacks = {
	.on_incoming = sub_on_incoming,
	.on_update = sub_on_update,
	.on_stream = sub_on_stream,
	.on_end = sub_on_end,
};

static void start_sub(struct rpc *rc, struct a2a_sub *sub)
{
	if (!sub) {
		rc_fail(rc, GRPC_STATUS_UNAVAILABLE, "cannot subscribe");
		rc_unref(rc);
		return;
	}
	if (!rc->call) {
		/* on_end already ran during subscribe (node closing): nothing to keep */
		return;
	}
	rc->sub = sub;
	/* Response headers now, so clients see the stream is live before the first event. */
}

static void do_subscribe_incoming(struct rpc *rc, ProtobufCMessage *req)
{
	rc_ref(rc);
	start_sub(rc, a2a_subscribe_incoming(rc->ns->a2a, &sub_callbacks, rc));
}

/* Better than the reference (C.4: events before the subscription are lost): a task that
 * is already over gets its final state at once, so a client that subscribes after a fast
 * completion (the SDK subscribes only once SendTask answered) is not left waiting. A task
 * whose change is still committing is left to the update event that follows. */
static void replay_settled(struct rpc *rc, const char *task_id)
{
	const Agentanycast__V1__Task *t = a2a_get_settled_task(rc->ns->a2a, task_id);
	if (!rc->call || !t || !a2a_task_status_terminal(t->status))
		return;
	/* The status message is the agent's last word (FailTask's error text, DECISIONS 2). */
	Agentanycast__V1__Message *last = t->n_messages ? t->messages[t->n_messages - 1] : NULL;
	struct a2a_update_event ev = {
		.task_id = t->task_id,
		.status = t->status,
		.message = last && last->role == AGENTANYCAST__V1__MESSAGE_ROLE__MESSAGE_ROLE_AGENT ? last : NULL,
		.artifacts = t->artifacts,
		.nartifacts = t->n_artifacts,
	};
	send_update(rc, &ev);
}

static void do_subscribe_updates(struct rpc *rc, ProtobufCMessage *req)
{
	Agentanycast__V1__SubscribeTaskUpdatesRequest *r = (void *)req;
	if (!require_task_id(rc, r->task_id))
		return;
	rc_ref(rc); /* the subscription's */
	rc_ref(rc); /* ours: start_sub may end the call */
	start_sub(rc, a2a_subscribe_updates(rc->ns->a2a, r->task_id, &sub_callbacks, rc));
	replay_settled(rc, r->task_id);
	rc_unref(rc);
}

static void do_subscribe_stream(struct rpc *rc, ProtobufCMessage *req)
{
	Agentanycast__V1__SubscribeTaskStreamRequest *r = (void *)req;
	if (!require_task_id(rc, r->task_id))
		return;
	rc_ref(rc);
	start_sub(rc, a2a_subscribe_stream(rc->ns->a2a, r->task_id, &sub_callbacks, rc));
}

/* ---- SendStreamingArtifact (client streaming) -------------------------------------------- */

static void stream_close(struct rpc *rc);

/* Hands one event to the engine: 0 taken, AA_EAGAIN not taken (feed it again on ready),
 * or an error that ends the call. */
static int stream_feed(struct rpc *rc, const Agentanycast__V1__SendStreamingArtifactRequest *r)
{
	switch (r->event_case) {
	case AGENTANYCAST__V1__SEND_STREAMING_ARTIFACT_REQUEST__EVENT_STREAM_START:
		return a2a_stream_feed(rc->out, r->stream_start, NULL, NULL);
	case AGENTANYCAST__V1__SEND_STREAMING_ARTIFACT_REQUEST__EVENT_STREAM_CHUNK:
		return a2a_stream_feed(rc->out, NULL, r->stream_chunk, NULL);
	case AGENTANYCAST__V1__SEND_STREAMING_ARTIFACT_REQUEST__EVENT_STREAM_END:
		return a2a_stream_feed(rc->out, NULL, NULL, r->stream_end);
	default:
		return AA_EINVAL;
	}
}

static void stream_feed_failed(struct rpc *rc, int err)
{
	/* REFERENCE D.2: a chunk or end without a session is INTERNAL. */
	int st = err == AA_ENOENT ? GRPC_STATUS_NOT_FOUND
		 : err == AA_EUNAVAIL ? GRPC_STATUS_UNAVAILABLE
		 : err == AA_ETIMEDOUT ? GRPC_STATUS_DEADLINE_EXCEEDED
				       : GRPC_STATUS_INTERNAL;
	rc_fail(rc, st, "stream: %s", aa_strerror(err));
}

static void stream_ready(void *user)
{
	struct rpc *rc = user;
	if (!rc->call || !rc->pending_event)
		return;
	int err = stream_feed(rc, rc->pending_event);
	if (err == AA_EAGAIN)
		return; /* on_ready comes again */
	a2a_pb_free(rc->pending_event);
	rc->pending_event = NULL;
	if (err < 0) {
		stream_feed_failed(rc, err);
		return;
	}
	if (rc->half_closed)
		stream_close(rc);
	else
		grpc_call_resume_recv(rc->call);
}

static void do_stream_message(struct rpc *rc, ProtobufCMessage *req)
{
	Agentanycast__V1__SendStreamingArtifactRequest *r = (void *)req;
	if (r->event_case == AGENTANYCAST__V1__SEND_STREAMING_ARTIFACT_REQUEST__EVENT__NOT_SET) {
		rc_fail(rc, GRPC_STATUS_INVALID_ARGUMENT, "event is required");
		return;
	}
	if (!rc->out) {
		rc_ref(rc);
		rc->out = a2a_stream_open(rc->ns->a2a, stream_ready, rc);
		if (!rc->out) {
			rc_fail(rc, GRPC_STATUS_UNAVAILABLE, "streaming is not available");
			rc_unref(rc);
			return;
		}
	}
	int err = stream_feed(rc, r);
	if (err == AA_EAGAIN) {
		/* Not taken: keep it (the request is freed by our caller), stop reading the client. */
		struct aa_buf b;
		aa_buf_init(&b);
		a2a_pb_pack(req, &b);
		rc->pending_event = (Agentanycast__V1__SendStreamingArtifactRequest *)protobuf_c_message_unpack(
			&agentanycast__v1__send_streaming_artifact_request__descriptor, NULL, b.n, b.p);
		aa_buf_free(&b);
		grpc_call_pause_recv(rc->call);
		return;
	}
	if (err < 0)
		stream_feed_failed(rc, err);
}

static void stream_closed_cb(void *user, int err)
{
	struct rpc *rc = user;
	if (err)
		rc_fail_err(rc, err, "stream");
	else if (rc->call) {
		grpc_call_send(rc->call, (const uint8_t *)"", 0);
		rc_finish(rc, GRPC_STATUS_OK, NULL);
	}
	rc_unref(rc);
}

static void stream_close(struct rpc *rc)
{
	struct a2a_stream_out *o = rc->out;
	rc->out = NULL; /* the close callback takes over the stream's reference */
	int err = a2a_stream_close(o, stream_closed_cb, rc);
	if (err < 0) {
		rc_fail_err(rc, err, "stream");
		rc_unref(rc);
	}
}

/* ---- dispatch ----------------------------------------------------------------------------- */

static const struct method methods[] = {
	{ "GetNodeInfo", GRPC_UNARY, &agentanycast__v1__get_node_info_request__descriptor, do_get_node_info },
	{ "SetAgentCard", GRPC_UNARY, &agentanycast__v1__set_agent_card_request__descriptor, do_set_agent_card },
	{ "ConnectPeer", GRPC_UNARY, &agentanycast__v1__connect_peer_request__descriptor, do_connect_peer },
	{ "ListPeers", GRPC_UNARY, &agentanycast__v1__list_peers_request__descriptor, do_list_peers },
	{ "GetPeerCard", GRPC_UNARY, &agentanycast__v1__get_peer_card_request__descriptor, do_get_peer_card },
	{ "SendTask", GRPC_UNARY, &agentanycast__v1__send_task_request__descriptor, do_send_task },
	{ "GetTask", GRPC_UNARY, &agentanycast__v1__get_task_request__descriptor, do_get_task },
	{ "CancelTask", GRPC_UNARY, &agentanycast__v1__cancel_task_request__descriptor, do_cancel_task },
	{ "SubscribeTaskUpdates", GRPC_SERVER_STREAM, &agentanycast__v1__subscribe_task_updates_request__descriptor, do_subscribe_updates },
	{ "SubscribeIncomingTasks", GRPC_SERVER_STREAM, &agentanycast__v1__subscribe_incoming_tasks_request__descriptor, do_subscribe_incoming },
	{ "UpdateTaskStatus", GRPC_UNARY, &agentanycast__v1__update_task_status_request__descriptor, do_update_task_status },
	{ "CompleteTask", GRPC_UNARY, &agentanycast__v1__complete_task_request__descriptor, do_complete_task },
	{ "FailTask", GRPC_UNARY, &agentanycast__v1__fail_task_request__descriptor, do_fail_task },
	{ "SubscribeTaskStream", GRPC_SERVER_STREAM, &agentanycast__v1__subscribe_task_stream_request__descriptor, do_subscribe_stream },
	{ "SendStreamingArtifact", GRPC_CLIENT_STREAM, &agentanycast__v1__send_streaming_artifact_request__descriptor, do_stream_message },
	{ "Discover", GRPC_UNARY, &agentanycast__v1__discover_request__descriptor, do_discover },
};
#define NMETHODS (sizeof methods / sizeof methods[0])

struct method_binding {
	struct node_service *ns;
	const struct method *m;
};


static void on_start(struct grpc_call *call, void *user)
{
	struct method_binding *b = user;
	struct rpc *rc = aa_calloc(1, sizeof *rc);
	rc->ns = b->ns;
	rc->m = b->m;
	rc->call = call;
	rc->refs = 1; /* the gRPC hold */
	aa_buf_init(&rc->held);
	grpc_call_set_data(call, rc);
}

static void on_message(struct grpc_call *call, const uint8_t *msg, size_t len, void *user)
{
	struct rpc *rc = grpc_call_data(call);
	if (!rc)
		return;
	if (rc->m->kind != GRPC_CLIENT_STREAM) {
		if (rc->handled) {
			rc_fail(rc, GRPC_STATUS_INVALID_ARGUMENT, "exactly one request message is expected");
			return;
		}
		rc->handled = true;
	}
	int err = 0;
	char why[128] = "";
	ProtobufCMessage *req = a2a_pb_unpack(rc->m->request, aa_slice_make(msg, len), &rc->ns->limits,
					      &err, why, sizeof why);
	if (!req) {
		rc_fail(rc, GRPC_STATUS_INVALID_ARGUMENT, "malformed %s request: %s", rc->m->name, why);
		return;
	}
	rc_ref(rc); /* the handler may finish the call */
	rc->m->handle(rc, req);
	a2a_pb_free(req);
	rc_unref(rc);
}

static void on_half_close(struct grpc_call *call, void *user)
{
	struct rpc *rc = grpc_call_data(call);
	if (!rc)
		return;
	if (rc->m->kind == GRPC_CLIENT_STREAM) {
		if (!rc->out) {
			/* No event at all: nothing to stream, nothing to fail. */
			grpc_call_send(rc->call, (const uint8_t *)"", 0);
			rc_finish(rc, GRPC_STATUS_OK, NULL);
			return;
		}
		if (rc->pending_event) {
			rc->half_closed = true; /* stream_ready closes after feeding it */
			return;
		}
		stream_close(rc);
		return;
	}
	if (!rc->handled)
		rc_fail(rc, GRPC_STATUS_INVALID_ARGUMENT, "a request message is required");
}

static void on_cancel(struct grpc_call *call, enum grpc_cancel_reason why, void *user)
{
	struct rpc *rc = grpc_call_data(call);
	if (!rc)
		return;
	grpc_call_set_data(call, NULL);
	rc->call = NULL;
	rc_detach(rc);
	rc_unref(rc); /* the gRPC hold */
}

static const struct grpc_handler handler = {
	.on_start = on_start,
	.on_message = on_message,
	.on_half_close = on_half_close,
	.on_cancel = on_cancel,
	.on_writable = on_call_writable,
};

struct node_service_impl {
	struct node_service ns;
	struct method_binding bindings[NMETHODS];
};

int node_service_new(struct grpc_server *grpc, struct a2a_node *a2a, struct p2p_host *host,
		     const struct node_service_info *info, struct node_service **out)
{
	struct node_service_impl *impl = aa_calloc(1, sizeof *impl);
	struct node_service *ns = &impl->ns;
	ns->grpc = grpc;
	ns->a2a = a2a;
	ns->host = host;
	ns->info = *info;
	a2a_pb_limits_default(&ns->limits);
	if (info->max_message_size)
		ns->limits.max_bytes = info->max_message_size;
	for (size_t i = 0; i < NMETHODS; i++) {
		impl->bindings[i] = (struct method_binding){ ns, &methods[i] };
		char path[96];
		snprintf(path, sizeof path, "/" SERVICE "/%s", methods[i].name);
		int rc = grpc_server_register(grpc, path, methods[i].kind, &handler, &impl->bindings[i]);
		if (rc < 0) {
			free(impl);
			return rc;
		}
	}
	ns->health = grpc_health_new(grpc);
	grpc_health_set(ns->health, "", GRPC_HEALTH_SERVING);
	grpc_health_set(ns->health, SERVICE, GRPC_HEALTH_SERVING);
	*out = ns;
	return 0;
}

void node_service_free(struct node_service *ns)
{
	if (!ns)
		return;
	grpc_health_free(ns->health);
	free((struct node_service_impl *)ns);
}
