/* a2a_json: the standard A2A JSON-RPC wire of the HTTP bridge (A2A-HTTP.md: A2A v0.3 and
 * v1.0 as @a2a-js/sdk 1.3.0 speaks them, plus the legacy `tasks/send` of REFERENCE.md F.3)
 * converted to and from the engine's protobuf types (proto/agentanycast/v1). Pure functions
 * over jansson: no I/O, no engine, no globals — the bridge (inbound) and the outbound client
 * both use them, and fuzz_jsonrpc drives the request parser.
 *
 * Untrusted input: every parser checks types and lengths, bounds nesting depth
 * (A2A_JSON_MAX_DEPTH) and counts (A2A_JSON_MAX_PARTS), and fails closed with an A2A error
 * code and a short human-readable reason; nothing here aborts on bad input.
 *
 * Ownership: json_t results are new references the caller json_decref()s; protobuf results
 * are heap trees freed with a2a_json_free_pb() (protobuf_c_message_free_unpacked with the
 * system allocator). Inputs are borrowed. */
#ifndef AA_HTTP_A2A_JSON_H
#define AA_HTTP_A2A_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "agentanycast/v1/a2a_models.pb-c.h"
#include "agentanycast/v1/agent_card.pb-c.h"

/* JSON-RPC 2.0 and A2A error codes (A2A-HTTP.md "Errors"). */
enum {
	A2A_ERR_PARSE = -32700,
	A2A_ERR_INVALID_REQUEST = -32600,
	A2A_ERR_METHOD_NOT_FOUND = -32601,
	A2A_ERR_INVALID_PARAMS = -32602,
	A2A_ERR_INTERNAL = -32603,
	A2A_ERR_SERVER = -32000, /* REFERENCE F.3: legacy tasks/send processing failure */
	A2A_ERR_TASK_NOT_FOUND = -32001,
	A2A_ERR_TASK_NOT_CANCELABLE = -32002,
	A2A_ERR_PUSH_NOT_SUPPORTED = -32003,
	A2A_ERR_UNSUPPORTED_OPERATION = -32004,
	A2A_ERR_CONTENT_TYPE = -32005,
	A2A_ERR_INVALID_AGENT_RESPONSE = -32006,
	A2A_ERR_EXTENDED_CARD = -32007,
	A2A_ERR_EXTENSION_REQUIRED = -32008,
	A2A_ERR_VERSION_NOT_SUPPORTED = -32009,
};

/* Nesting of a whole JSON document, its root being level 1 (a DataPart's value therefore
 * gets about 26 levels). Counted from the root so that what we hand the engine stays well
 * inside the 100 protobuf message levels peers accept (each JSON level inside a Struct
 * costs up to three). */
#define A2A_JSON_MAX_DEPTH 32
#define A2A_JSON_MAX_PARTS 1024  /* parts per message or artifact */
#define A2A_JSON_MAX_ID 128      /* task, context and message ids (engine limit) */

enum a2a_version {
	A2A_V03, /* A2A-Version absent or "0.3": `kind` fields, lower-case states */
	A2A_V10, /* A2A-Version "1.0": protobuf-JSON, enum strings, no `kind` */
};

enum a2a_method {
	A2A_METHOD_SEND,        /* message/send, SendMessage */
	A2A_METHOD_STREAM,      /* message/stream, SendStreamingMessage (SSE) */
	A2A_METHOD_GET,         /* tasks/get, GetTask */
	A2A_METHOD_CANCEL,      /* tasks/cancel, CancelTask */
	A2A_METHOD_RESUBSCRIBE, /* tasks/resubscribe, SubscribeToTask (SSE) */
	A2A_METHOD_LEGACY_SEND, /* tasks/send (REFERENCE F.3; answered in the F.3 result shape) */
};

/* An error to answer with: code + message (static text or text in `buf`). */
struct a2a_json_error {
	int code;
	char message[256];
};

/* A parsed JSON-RPC request. */
struct a2a_request {
	json_t *id;               /* owned reference: string, number or null (json_null() when
				   * absent or unusable) — echoed verbatim in every reply */
	enum a2a_version version; /* from the A2A-Version header */
	enum a2a_method method;
	/* SEND / STREAM / LEGACY_SEND */
	Agentanycast__V1__Message *message; /* owned; role, parts, message_id (fresh UUID if the
					     * client gave none), created_at = now */
	char *task_id;            /* owned or NULL: message.taskId (send), params.id (get,
				   * cancel, resubscribe, legacy send) */
	char *context_id;         /* owned or NULL: message.contextId */
	char *skill_id;           /* owned or NULL: legacy target_skill_id, or
				   * metadata.skillId / metadata.skill_id of the message/params */
	bool blocking;            /* SEND: wait for a terminal or interrupted state.
				   * v0.3: configuration.blocking (absent → true, as the JS SDK
				   * server does); v1.0: !configuration.returnImmediately */
	int history_length;       /* GET: historyLength (SEND: configuration.historyLength),
				   * -1 when absent */
};

/* Parses one JSON-RPC request body. version_header is the A2A-Version header's value or NULL
 * when absent. Returns 0 and fills *out, or a negative value with *err set (-32700 bad JSON,
 * -32600 not a JSON-RPC 2.0 request object, an unusable id or nesting beyond
 * A2A_JSON_MAX_DEPTH, -32601 unknown method or a method of the other version, -32003 /
 * -32007 / -32004 for the standard push-notification, extended-card and ListTasks methods
 * we do not offer, -32602 bad params, -32009 unsupported version; an empty A2A-Version
 * counts as absent, as in the JS SDK). On error out->id still holds the
 * request's id when one could be read (else json null), so the error reply echoes it; call
 * a2a_request_free() in both cases. */
int a2a_request_parse(const char *body, size_t len, const char *version_header,
		      struct a2a_request *out, struct a2a_json_error *err);
void a2a_request_free(struct a2a_request *r);

/* ---- replies ---------------------------------------------------------------------------- */

/* {"jsonrpc":"2.0","id":id,"result":result} — steals the reference to result, not to id. */
json_t *a2a_json_result(json_t *id, json_t *result);
/* {"jsonrpc":"2.0","id":id,"error":{"code","message"}}. */
json_t *a2a_json_error_reply(json_t *id, int code, const char *message);

/* The task in the version's shape: v0.3 {"kind":"task","id","contextId","status":{"state",
 * "message"?,"timestamp"},"history":[…],"artifacts":[…]}; v1.0 the same without kind, enum
 * state strings and v1.0 parts. history_length >= 0 keeps only the last N messages. The
 * status message is the newest message with role AGENT, if the status is not SUBMITTED. */
json_t *a2a_json_task(const Agentanycast__V1__Task *t, enum a2a_version v, int history_length);
/* One message (v0.3 with "kind":"message"), with taskId/contextId when given. */
json_t *a2a_json_message(const Agentanycast__V1__Message *m, enum a2a_version v,
			 const char *task_id, const char *context_id);
/* A status-update event: v0.3 {"kind":"status-update","taskId","contextId","status":{…},
 * "final":bool}; v1.0 {"taskId","contextId","status":{…}} (`final` is not a v1.0 field). */
json_t *a2a_json_status_event(const char *task_id, const char *context_id,
			      Agentanycast__V1__TaskStatus status,
			      const Agentanycast__V1__Message *msg, bool final, enum a2a_version v);
/* An artifact-update event: v0.3 {"kind":"artifact-update","taskId","contextId",
 * "artifact":{…},"append":false,"lastChunk":true}; v1.0 the same minus kind. */
json_t *a2a_json_artifact_event(const char *task_id, const char *context_id,
				const Agentanycast__V1__Artifact *a, enum a2a_version v);

/* What goes in "result" for each method, per version: v0.3 the bare object (task, message
 * or event); v1.0 wrapped — SendMessage {"task":…} or {"message":…}, streaming events
 * {"task"|"message"|"statusUpdate"|"artifactUpdate":…}; GetTask/CancelTask the bare task.
 * kind is "task", "message", "statusUpdate" or "artifactUpdate"; steals obj. */
json_t *a2a_json_wrap(enum a2a_version v, enum a2a_method m, const char *kind, json_t *obj);

/* REFERENCE F.3 result shape for legacy tasks/send: {"id","status":"completed"…,
 * "messages"?:[{"role","parts"}],"artifacts"?:[{"artifact_id","name","parts"}]} with parts
 * {"type":"text","text"} / {"type":"url","url","filename"}. */
json_t *a2a_json_legacy_task(const Agentanycast__V1__Task *t);

/* The agent card served at the well-known paths (A2A-HTTP.md "Agent card discovery"),
 * built from the SDK's card: name, description, version, capabilities {streaming: true},
 * defaultInputModes/defaultOutputModes ["text/plain"], skills [{id, name (= id),
 * description, tags []}], supportedInterfaces [{url, protocolBinding "JSONRPC",
 * protocolVersion "1.0"}]; for v0.3 also url, preferredTransport "JSONRPC",
 * protocolVersion "0.3". card may be NULL (a minimal card named after the node is built
 * from fallback_name). */
json_t *a2a_json_card(const Agentanycast__V1__AgentCard *card, const char *url,
		      enum a2a_version v, const char *fallback_name);

/* ---- outbound (SendTask with url) --------------------------------------------------------- */

/* What we need of a remote agent card. */
struct a2a_remote_card {
	char *url;               /* owned: the JSON-RPC endpoint (v1.0: the supportedInterfaces
				  * entry with protocolBinding JSONRPC; v0.3: url) */
	enum a2a_version version; /* 1.0 when that interface says protocolVersion 1.0 */
	bool streaming;          /* capabilities.streaming */
};
/* Parses a fetched card body. -32006 with a reason when it has no usable JSON-RPC URL. */
int a2a_remote_card_parse(const char *body, size_t len, struct a2a_remote_card *out,
			  struct a2a_json_error *err);
void a2a_remote_card_free(struct a2a_remote_card *c);

/* The request body of a send to a remote agent: message/send (v0.3, with
 * "configuration":{"blocking":blocking}) or SendMessage (v1.0, "returnImmediately":
 * !blocking), or message/stream / SendStreamingMessage when stream is set. id is the
 * JSON-RPC id to use. */
json_t *a2a_json_send_request(const char *id, const Agentanycast__V1__Message *m,
			      enum a2a_version v, bool stream, bool blocking);
/* tasks/get or GetTask {id} request. */
json_t *a2a_json_get_request(const char *id, const char *task_id, enum a2a_version v);
/* tasks/cancel or CancelTask {id} request. */
json_t *a2a_json_cancel_request(const char *id, const char *task_id, enum a2a_version v);

/* One thing a remote agent told us: a reply's result or one SSE event. */
enum a2a_event_kind { A2A_EV_TASK, A2A_EV_MESSAGE, A2A_EV_STATUS, A2A_EV_ARTIFACT };
struct a2a_event {
	enum a2a_event_kind kind;
	char *task_id;                        /* owned; NULL for a bare message */
	char *context_id;                     /* owned or NULL */
	Agentanycast__V1__TaskStatus status;  /* TASK, STATUS (UNSPECIFIED when unknown) */
	Agentanycast__V1__Message *message;   /* owned or NULL: MESSAGE, or the status message */
	Agentanycast__V1__Artifact **artifacts; /* owned: TASK (all), ARTIFACT (one) */
	size_t n_artifacts;
	bool final;                           /* v0.3 final flag of a status event */
};
/* Parses a JSON-RPC reply (or one SSE data payload, which is a JSON-RPC reply) from a remote
 * agent speaking version v. A JSON-RPC error object in the reply: returns negative with the
 * remote's code and message in *err (message cut to fit; the return value is that code when
 * negative, else -32006). Malformed or unexpected replies: A2A_ERR_INVALID_AGENT_RESPONSE
 * with a reason. expect_id, when not NULL, must equal the reply's id (a string); an error
 * reply with a null id is still reported as the remote's error. A result carrying `kind` is
 * read as v0.3 whatever v says (servers are not always consistent); final is the event's
 * "final" member when present, in either version. */
int a2a_event_parse(const char *body, size_t len, enum a2a_version v, const char *expect_id,
		    struct a2a_event *out, struct a2a_json_error *err);
void a2a_event_free(struct a2a_event *e);

/* ---- helpers -------------------------------------------------------------------------- */

/* State strings both ways. v0.3: "submitted", "working", "input-required", "completed",
 * "failed", "canceled", "rejected" ("auth-required", "unknown" → UNSPECIFIED on parse);
 * v1.0: "TASK_STATE_SUBMITTED"… ; legacy F.3 uses the v0.3 strings. */
const char *a2a_json_state_name(Agentanycast__V1__TaskStatus s, enum a2a_version v);
Agentanycast__V1__TaskStatus a2a_json_state_parse(const char *s);
/* True for COMPLETED, FAILED, CANCELED, REJECTED. */
bool a2a_json_state_terminal(Agentanycast__V1__TaskStatus s);

/* Frees a protobuf tree made by this module (NULL is fine). */
void a2a_json_free_pb(void *msg);

#endif
