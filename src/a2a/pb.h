/* a2a/pb: glue around the protobuf-c code generated from proto/agentanycast/v1 (the wire
 * contract of REFERENCE.md D.5): decoding untrusted bytes safely, deep copies, packing into
 * an aa_buf, google.protobuf.Timestamp <-> wall-clock milliseconds, and enum names.
 *
 * Ownership: every message returned here is heap-allocated with malloc and freed with
 * a2a_pb_free() (equivalently the generated *__free_unpacked(m, NULL)); it owns all it
 * points to. Nothing here keeps state: any thread may call anything. */
#ifndef AA_A2A_PB_H
#define AA_A2A_PB_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "agentanycast/v1/a2a_models.pb-c.h"
#include "agentanycast/v1/agent_card.pb-c.h"
#include "agentanycast/v1/common.pb-c.h"
#include "agentanycast/v1/node_service.pb-c.h"
#include "agentanycast/v1/streaming.pb-c.h"
#include "base/buf.h"
#include "google/protobuf/timestamp.pb-c.h"

/* REFERENCE.md B.2: the largest frame /agentanycast/{card,a2a}/1.0 accept. */
#define A2A_PB_MAX_FRAME_BYTES (16u * 1024 * 1024)
/* Nesting of messages accepted in one input. upb and protobuf C++ (the runtimes under the
 * official Python SDK) stop at 100, so deeper input could not reach the SDK anyway. A JSON
 * level inside a DataPart's google.protobuf.Struct costs two or three message levels. */
#define A2A_PB_MAX_DEPTH 100

/* Bounds on one decode. */
struct a2a_pb_limits {
	size_t max_bytes;      /* longer input: AA_ETOOBIG */
	size_t max_heap_bytes; /* live heap the decoder may hold at once (decoded message
				* included): beyond it, AA_ENOMEM. 0 = 16 x input + 4 MiB */
	unsigned max_depth;    /* message nesting, the top message being depth 1 */
};

/* max_bytes = A2A_PB_MAX_FRAME_BYTES, max_heap_bytes = 0, max_depth = A2A_PB_MAX_DEPTH. */
void a2a_pb_limits_default(struct a2a_pb_limits *l);

/* Decodes untrusted bytes as a message of type desc. Returns the message, or NULL with
 * *err (may be NULL) set and a reason in why[why_len] (may be NULL): AA_ETOOBIG when longer
 * than max_bytes; AA_EPROTO when not well-formed protobuf for desc, nested deeper than
 * max_depth, or holding a string field that is not UTF-8 (proto3 requires it; Go and the
 * SDKs reject such input too) or that holds a NUL (our C strings would silently cut it);
 * AA_ENOMEM when decoding needs more than max_heap_bytes. Never crashes on any input.
 * limits NULL = defaults. Unknown fields are kept (and re-emitted by pack). */
ProtobufCMessage *a2a_pb_unpack(const ProtobufCMessageDescriptor *desc, struct aa_slice in,
				const struct a2a_pb_limits *limits, int *err, char *why,
				size_t why_len);

/* Typed a2a_pb_unpack() for what arrives from peers and clients. */
Agentanycast__V1__A2AEnvelope *a2a_pb_envelope_unpack(struct aa_slice in,
						      const struct a2a_pb_limits *limits,
						      int *err, char *why, size_t why_len);
Agentanycast__V1__AgentCard *a2a_pb_card_unpack(struct aa_slice in,
						const struct a2a_pb_limits *limits, int *err,
						char *why, size_t why_len);
Agentanycast__V1__Message *a2a_pb_message_unpack(struct aa_slice in,
						 const struct a2a_pb_limits *limits, int *err,
						 char *why, size_t why_len);
Agentanycast__V1__Task *a2a_pb_task_unpack(struct aa_slice in, const struct a2a_pb_limits *limits,
					   int *err, char *why, size_t why_len);

/* Frees a message from this module or from protobuf-c's unpack (NULL is fine). */
void a2a_pb_free(void *msg);

/* Appends the encoding of m to out. */
void a2a_pb_pack(const ProtobufCMessage *m, struct aa_buf *out);

/* Deep copies (an encode/decode round trip: unknown fields are copied too). m must be a
 * well-formed message (string fields non-NULL, as the generated INIT macros leave them);
 * NULL gives NULL. Aborts on out-of-memory like aa_malloc. */
ProtobufCMessage *a2a_pb_copy(const ProtobufCMessage *m);
Agentanycast__V1__Message *a2a_pb_message_copy(const Agentanycast__V1__Message *m);
Agentanycast__V1__Artifact *a2a_pb_artifact_copy(const Agentanycast__V1__Artifact *a);
Agentanycast__V1__AgentCard *a2a_pb_card_copy(const Agentanycast__V1__AgentCard *c);
Agentanycast__V1__Task *a2a_pb_task_copy(const Agentanycast__V1__Task *t);

/* google.protobuf.Timestamp <-> milliseconds since the Unix epoch (wall clock). */
void a2a_pb_timestamp_set(Google__Protobuf__Timestamp *ts, int64_t wall_ms);
/* A new Timestamp (free with a2a_pb_free(), or with the message it is put in). */
Google__Protobuf__Timestamp *a2a_pb_timestamp_new(int64_t wall_ms);
/* Milliseconds of ts, rounded down (towards the past); NULL (absent) gives 0. nanos outside
 * [0, 1e9) are taken as they add up, and results beyond int64 saturate, so hostile input
 * cannot overflow. */
int64_t a2a_pb_timestamp_ms(const Google__Protobuf__Timestamp *ts);

/* The proto name of a TaskStatus ("TASK_STATUS_WORKING"), or "TASK_STATUS_UNKNOWN" for a
 * value the contract does not define (proto3 enums are open: peers may send any). */
const char *a2a_pb_task_status_name(int status);
/* The proto name of an EnvelopeType, or "ENVELOPE_TYPE_UNKNOWN". */
const char *a2a_pb_envelope_type_name(int type);

#endif
