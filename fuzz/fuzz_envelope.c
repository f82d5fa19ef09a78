/* fuzz_envelope: hostile bytes as they arrive on /agentanycast/a2a/1.0 and
 * /agentanycast/card/1.0 (REFERENCE.md B.3, B.4), decoded with a2a_pb_unpack() as
 * A2AEnvelope, AgentCard, Task and Message, under the default limits and under tiny ones.
 * What decodes must re-pack, decode again and re-pack to the same bytes, deep-copy to an
 * equal message, and survive the timestamp and enum-name helpers. abort() on any broken
 * invariant; ASan/UBSan catch the rest. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "a2a/pb.h"
#include "base/buf.h"
#include "base/err.h"

#define CHECK(c) do { if (!(c)) abort(); } while (0)

static void check_stable(const ProtobufCMessage *m)
{
	struct aa_buf once, twice;
	aa_buf_init(&once);
	aa_buf_init(&twice);
	a2a_pb_pack(m, &once);
	/* The same content decoded again: the heap budget is relative to the input size, and
	 * the re-encoding may be shorter (merged duplicates, minimal varints), so lift it. */
	struct a2a_pb_limits l;
	a2a_pb_limits_default(&l);
	l.max_bytes = SIZE_MAX;
	l.max_heap_bytes = SIZE_MAX;
	int err;
	ProtobufCMessage *again = a2a_pb_unpack(m->descriptor, aa_slice_make(once.p, once.n), &l,
						&err, NULL, 0);
	CHECK(again != NULL && err == 0);
	a2a_pb_pack(again, &twice);
	CHECK(once.n == twice.n && (once.n == 0 || memcmp(once.p, twice.p, once.n) == 0));
	a2a_pb_free(again);

	ProtobufCMessage *copy = a2a_pb_copy(m);
	aa_buf_reset(&twice);
	a2a_pb_pack(copy, &twice);
	CHECK(once.n == twice.n && (once.n == 0 || memcmp(once.p, twice.p, once.n) == 0));
	a2a_pb_free(copy);
	aa_buf_free(&once);
	aa_buf_free(&twice);
}

static void use_envelope(const Agentanycast__V1__A2AEnvelope *e)
{
	CHECK(a2a_pb_envelope_type_name(e->type) != NULL);
	(void)a2a_pb_timestamp_ms(e->timestamp);
	if (e->payload_case == AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_TASK_STATUS_UPDATE)
		CHECK(a2a_pb_task_status_name(e->task_status_update->status) != NULL);
	if (e->payload_case == AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_SEND_TASK &&
	    e->send_task->message) {
		Agentanycast__V1__Message *m = a2a_pb_message_copy(e->send_task->message);
		(void)a2a_pb_timestamp_ms(m->created_at);
		a2a_pb_free(m);
	}
}

static void decode_as(const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n,
		      const struct a2a_pb_limits *l)
{
	int err = 1;
	char why[128];
	ProtobufCMessage *m = a2a_pb_unpack(d, aa_slice_make(p, n), l, &err, why, sizeof why);
	if (!m) {
		CHECK(err == AA_EPROTO || err == AA_ETOOBIG || err == AA_ENOMEM);
		return;
	}
	CHECK(err == 0);
	if (d == &agentanycast__v1__a2_aenvelope__descriptor)
		use_envelope((Agentanycast__V1__A2AEnvelope *)m);
	check_stable(m);
	a2a_pb_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const ProtobufCMessageDescriptor *const types[] = {
		&agentanycast__v1__a2_aenvelope__descriptor,
		&agentanycast__v1__agent_card__descriptor,
		&agentanycast__v1__task__descriptor,
		&agentanycast__v1__message__descriptor,
	};
	struct a2a_pb_limits def, tiny = { .max_bytes = 4096, .max_heap_bytes = 2048,
					   .max_depth = 4 };
	a2a_pb_limits_default(&def);
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		decode_as(types[i], data, size, &def);
		decode_as(types[i], data, size, &tiny);
	}
	return 0;
}
