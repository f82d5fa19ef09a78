/* Unit tests for a2a/pb and the agentanycast.v1 protos (REFERENCE.md D.5) as protoc-c
 * compiles them: exact encodings worked out by hand from the D.5 field tables (a wrong field
 * number, type or label changes the bytes), round trips of the main messages, the safe
 * decoder's refusals, deep copies, timestamps and enum names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "a2a/pb.h"
#include "agentanycast/v1/federation.pb-c.h"
#include "agentanycast/v1/registry_service.pb-c.h"
#include "base/buf.h"
#include "base/err.h"
#include "google/protobuf/struct.pb-c.h"

/* Packs m and compares with the expected bytes, printing both on a mismatch. */
static void assert_packs_to(const ProtobufCMessage *m, const uint8_t *want, size_t want_n)
{
	struct aa_buf b;
	aa_buf_init(&b);
	a2a_pb_pack(m, &b);
	if (b.n != want_n || memcmp(b.p, want, want_n) != 0) {
		print_error("%s packed to:\n", m->descriptor->name);
		for (size_t i = 0; i < b.n; i++)
			print_error("%02x ", b.p[i]);
		print_error("\nexpected:\n");
		for (size_t i = 0; i < want_n; i++)
			print_error("%02x ", want[i]);
		print_error("\n");
		fail();
	}
	aa_buf_free(&b);
}

/* Packs m, decodes it with the safe decoder, packs the result: the bytes must agree. */
static ProtobufCMessage *round_trip(const ProtobufCMessage *m)
{
	struct aa_buf a, b;
	aa_buf_init(&a);
	aa_buf_init(&b);
	a2a_pb_pack(m, &a);
	int err = 1;
	char why[128];
	ProtobufCMessage *back = a2a_pb_unpack(m->descriptor, aa_slice_make(a.p, a.n), NULL,
					       &err, why, sizeof why);
	if (!back)
		print_error("%s: %s\n", m->descriptor->name, why);
	assert_non_null(back);
	assert_int_equal(err, 0);
	a2a_pb_pack(back, &b);
	assert_int_equal(a.n, b.n);
	assert_memory_equal(a.p, b.p, a.n);
	aa_buf_free(&a);
	aa_buf_free(&b);
	return back;
}

static ProtobufCMessage *unpack_bytes(const ProtobufCMessageDescriptor *d, const uint8_t *p,
				      size_t n, const struct a2a_pb_limits *l, int *err)
{
	return a2a_pb_unpack(d, aa_slice_make(p, n), l, err, NULL, 0);
}

/* --- exact encodings ------------------------------------------------------------------- */

static void test_envelope_send_task_encodes_to_hand_computed_bytes(void **state)
{
	/* A2AEnvelope: envelope_id 1, type 2 (SEND_TASK = 1), timestamp 3, send_task 10 (oneof
	 * payload), trace_parent 30. SendTaskPayload: task_id 1, message 3, target_skill_id
	 * 4. Message: message_id 1, role 2 (USER = 1), parts 3. Part.text_part 1, TextPart.text
	 * 1. Timestamp: seconds 1, nanos 2. */
	static const uint8_t want[] = {
		0x0a, 0x02, 'e', '1',                                  /* envelope_id */
		0x10, 0x01,                                            /* type */
		0x1a, 0x0b, 0x08, 0x80, 0xe2, 0xcf, 0xaa, 0x06,        /* timestamp.seconds */
		0x10, 0xc0, 0x96, 0xb1, 0x02,                          /* timestamp.nanos */
		0x52, 0x17,                                            /* send_task */
		0x0a, 0x02, 't', '1',                                  /*  task_id */
		0x1a, 0x0e,                                            /*  message */
		0x0a, 0x02, 'm', '1',                                  /*   message_id */
		0x10, 0x01,                                            /*   role */
		0x1a, 0x06, 0x0a, 0x04, 0x0a, 0x02, 'h', 'i',          /*   parts[0].text_part */
		0x22, 0x01, 's',                                       /*  target_skill_id */
		0xf2, 0x01, 0x03, 'a', 'b', 'c',                       /* trace_parent */
	};
	Agentanycast__V1__TextPart text = AGENTANYCAST__V1__TEXT_PART__INIT;
	text.text = "hi";
	Agentanycast__V1__Part part = AGENTANYCAST__V1__PART__INIT;
	part.content_case = AGENTANYCAST__V1__PART__CONTENT_TEXT_PART;
	part.text_part = &text;
	Agentanycast__V1__Part *parts[] = { &part };
	Agentanycast__V1__Message msg = AGENTANYCAST__V1__MESSAGE__INIT;
	msg.message_id = "m1";
	msg.role = AGENTANYCAST__V1__MESSAGE_ROLE__MESSAGE_ROLE_USER;
	msg.n_parts = 1;
	msg.parts = parts;
	Agentanycast__V1__SendTaskPayload st = AGENTANYCAST__V1__SEND_TASK_PAYLOAD__INIT;
	st.task_id = "t1";
	st.message = &msg;
	st.target_skill_id = "s";
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	a2a_pb_timestamp_set(&ts, INT64_C(1700000000005));
	Agentanycast__V1__A2AEnvelope env = AGENTANYCAST__V1__A2_AENVELOPE__INIT;
	env.envelope_id = "e1";
	env.type = AGENTANYCAST__V1__ENVELOPE_TYPE__ENVELOPE_TYPE_SEND_TASK;
	env.timestamp = &ts;
	env.payload_case = AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_SEND_TASK;
	env.send_task = &st;
	env.trace_parent = "abc";
	assert_packs_to(&env.base, want, sizeof want);

	int err;
	Agentanycast__V1__A2AEnvelope *back =
		a2a_pb_envelope_unpack(aa_slice_make(want, sizeof want), NULL, &err, NULL, 0);
	assert_non_null(back);
	assert_string_equal(back->envelope_id, "e1");
	assert_int_equal(back->payload_case, AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_SEND_TASK);
	assert_string_equal(back->send_task->message->parts[0]->text_part->text, "hi");
	assert_true(a2a_pb_timestamp_ms(back->timestamp) == INT64_C(1700000000005));
	assert_string_equal(back->trace_parent, "abc");
	assert_string_equal(back->trace_state, "");
	a2a_pb_free(back);
}

static void test_envelope_ack_and_stream_payloads_use_fields_17_to_20(void **state)
{
	static const uint8_t ack_want[] = { 0x10, 0x08, 0x8a, 0x01, 0x03, 0x0a, 0x01, 'x' };
	Agentanycast__V1__AckPayload ack = AGENTANYCAST__V1__ACK_PAYLOAD__INIT;
	ack.acknowledged_envelope_id = "x";
	Agentanycast__V1__A2AEnvelope env = AGENTANYCAST__V1__A2_AENVELOPE__INIT;
	env.type = AGENTANYCAST__V1__ENVELOPE_TYPE__ENVELOPE_TYPE_ACK;
	env.payload_case = AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_ACK;
	env.ack = &ack;
	assert_packs_to(&env.base, ack_want, sizeof ack_want);

	/* stream_end (20, tag 0xa2 0x01) with reason 3 (ERROR); type STREAM_END = 11. */
	static const uint8_t end_want[] = { 0x10, 0x0b, 0xa2, 0x01, 0x02, 0x18, 0x03 };
	Agentanycast__V1__StreamEnd end = AGENTANYCAST__V1__STREAM_END__INIT;
	end.reason = AGENTANYCAST__V1__STREAM_END_REASON__STREAM_END_REASON_ERROR;
	env.type = AGENTANYCAST__V1__ENVELOPE_TYPE__ENVELOPE_TYPE_STREAM_END;
	env.payload_case = AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_STREAM_END;
	env.stream_end = &end;
	assert_packs_to(&env.base, end_want, sizeof end_want);
}

static void test_agent_card_with_p2p_extension_encodes_to_hand_computed_bytes(void **state)
{
	/* AgentCard: name 1, skills 5, p2p_extension 10. Skill.id 1. P2PExtension: peer_id
	 * 1, supported_transports 2 (repeated string), did_key 4. */
	static const uint8_t want[] = {
		0x0a, 0x01, 'a',
		0x2a, 0x04, 0x0a, 0x02, 's', '1',
		0x52, 0x19,
		0x0a, 0x01, 'p',
		0x12, 0x03, 't', 'c', 'p',
		0x12, 0x04, 'q', 'u', 'i', 'c',
		0x22, 0x09, 'd', 'i', 'd', ':', 'k', 'e', 'y', ':', 'z',
	};
	Agentanycast__V1__Skill skill = AGENTANYCAST__V1__SKILL__INIT;
	skill.id = "s1";
	Agentanycast__V1__Skill *skills[] = { &skill };
	char *transports[] = { "tcp", "quic" };
	Agentanycast__V1__P2PExtension ext = AGENTANYCAST__V1__P2_PEXTENSION__INIT;
	ext.peer_id = "p";
	ext.n_supported_transports = 2;
	ext.supported_transports = transports;
	ext.did_key = "did:key:z";
	Agentanycast__V1__AgentCard card = AGENTANYCAST__V1__AGENT_CARD__INIT;
	card.name = "a";
	card.n_skills = 1;
	card.skills = skills;
	card.p2p_extension = &ext;
	assert_packs_to(&card.base, want, sizeof want);

	int err;
	Agentanycast__V1__AgentCard *back =
		a2a_pb_card_unpack(aa_slice_make(want, sizeof want), NULL, &err, NULL, 0);
	assert_non_null(back);
	assert_int_equal(back->p2p_extension->n_supported_transports, 2);
	assert_string_equal(back->p2p_extension->supported_transports[1], "quic");
	assert_string_equal(back->p2p_extension->did_key, "did:key:z");
	assert_int_equal(back->p2p_extension->n_relay_addresses, 0);
	a2a_pb_free(back);
}

static void test_task_with_status_and_timestamps_encodes_to_hand_computed_bytes(void **state)
{
	/* Task: task_id 1, status 3 (WORKING = 2), artifacts 5, created_at 6, updated_at 7,
	 * target_skill_id 8, originator_peer_id 9. Artifact: artifact_id 1, parts 3.
	 * Part: raw_part 4, media_type 10. RawPart.data 1 (bytes). */
	static const uint8_t want[] = {
		0x0a, 0x01, 't',
		0x18, 0x02,
		0x2a, 0x0e, 0x0a, 0x01, 'a',
		0x1a, 0x09, 0x22, 0x04, 0x0a, 0x02, 0x00, 0xff, 0x52, 0x01, 'b',
		0x32, 0x02, 0x08, 0x01,
		0x3a, 0x04, 0x08, 0x02, 0x10, 0x03,
		0x42, 0x01, 'x',
		0x4a, 0x05, 'l', 'o', 'c', 'a', 'l',
	};
	static const uint8_t raw_bytes[] = { 0x00, 0xff };
	Agentanycast__V1__RawPart raw = AGENTANYCAST__V1__RAW_PART__INIT;
	raw.data.data = (uint8_t *)raw_bytes;
	raw.data.len = sizeof raw_bytes;
	Agentanycast__V1__Part part = AGENTANYCAST__V1__PART__INIT;
	part.content_case = AGENTANYCAST__V1__PART__CONTENT_RAW_PART;
	part.raw_part = &raw;
	part.media_type = "b";
	Agentanycast__V1__Part *parts[] = { &part };
	Agentanycast__V1__Artifact art = AGENTANYCAST__V1__ARTIFACT__INIT;
	art.artifact_id = "a";
	art.n_parts = 1;
	art.parts = parts;
	Agentanycast__V1__Artifact *arts[] = { &art };
	Google__Protobuf__Timestamp created = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	created.seconds = 1;
	Google__Protobuf__Timestamp updated = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	updated.seconds = 2;
	updated.nanos = 3;
	Agentanycast__V1__Task task = AGENTANYCAST__V1__TASK__INIT;
	task.task_id = "t";
	task.status = AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_WORKING;
	task.n_artifacts = 1;
	task.artifacts = arts;
	task.created_at = &created;
	task.updated_at = &updated;
	task.target_skill_id = "x";
	task.originator_peer_id = "local";
	assert_packs_to(&task.base, want, sizeof want);

	int err;
	Agentanycast__V1__Task *back =
		a2a_pb_task_unpack(aa_slice_make(want, sizeof want), NULL, &err, NULL, 0);
	assert_non_null(back);
	assert_int_equal(back->status, AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_WORKING);
	assert_int_equal(a2a_pb_timestamp_ms(back->created_at), 1000);
	assert_int_equal(a2a_pb_timestamp_ms(back->updated_at), 2000);
	assert_int_equal(back->artifacts[0]->parts[0]->raw_part->data.len, 2);
	assert_string_equal(back->artifacts[0]->parts[0]->media_type, "b");
	assert_int_equal(back->n_messages, 0);
	a2a_pb_free(back);
}

static void test_send_task_request_url_target_and_metadata_map_encode(void **state)
{
	/* SendTaskRequest: url 3 (oneof target), message 10, metadata 11 (map entry: key 1,
	 * value 2), transport_hint 12. An empty but present message is still sent. */
	static const uint8_t want[] = {
		0x1a, 0x08, 'h', 't', 't', 'p', ':', '/', '/', 'x',
		0x52, 0x00,
		0x5a, 0x06, 0x0a, 0x01, 'k', 0x12, 0x01, 'v',
		0x62, 0x01, 'h',
	};
	Agentanycast__V1__Message msg = AGENTANYCAST__V1__MESSAGE__INIT;
	Agentanycast__V1__SendTaskRequest__MetadataEntry kv =
		AGENTANYCAST__V1__SEND_TASK_REQUEST__METADATA_ENTRY__INIT;
	kv.key = "k";
	kv.value = "v";
	Agentanycast__V1__SendTaskRequest__MetadataEntry *md[] = { &kv };
	Agentanycast__V1__SendTaskRequest req = AGENTANYCAST__V1__SEND_TASK_REQUEST__INIT;
	req.target_case = AGENTANYCAST__V1__SEND_TASK_REQUEST__TARGET_URL;
	req.url = "http://x";
	req.message = &msg;
	req.n_metadata = 1;
	req.metadata = md;
	req.transport_hint = "h";
	assert_packs_to(&req.base, want, sizeof want);

	/* peer_id 1 and skill_id 2, even when empty: a set oneof member is always sent. */
	static const uint8_t peer_want[] = { 0x0a, 0x00 };
	Agentanycast__V1__SendTaskRequest peer = AGENTANYCAST__V1__SEND_TASK_REQUEST__INIT;
	peer.target_case = AGENTANYCAST__V1__SEND_TASK_REQUEST__TARGET_PEER_ID;
	peer.peer_id = "";
	assert_packs_to(&peer.base, peer_want, sizeof peer_want);
	static const uint8_t skill_want[] = { 0x12, 0x02, 'a', 'b' };
	Agentanycast__V1__SendTaskRequest skill = AGENTANYCAST__V1__SEND_TASK_REQUEST__INIT;
	skill.target_case = AGENTANYCAST__V1__SEND_TASK_REQUEST__TARGET_SKILL_ID;
	skill.skill_id = "ab";
	assert_packs_to(&skill.base, skill_want, sizeof skill_want);
}

static void test_stream_chunk_sequence_is_int32_not_sint32(void **state)
{
	/* StreamChunk: task_id 1, sequence 3 (int32: -1 takes ten bytes), data 4, is_last 5. */
	static const uint8_t want[] = {
		0x0a, 0x01, 't',
		0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
		0x22, 0x01, 0x01,
		0x28, 0x01,
	};
	static uint8_t one[] = { 1 };
	Agentanycast__V1__StreamChunk chunk = AGENTANYCAST__V1__STREAM_CHUNK__INIT;
	chunk.task_id = "t";
	chunk.sequence = -1;
	chunk.data.data = one;
	chunk.data.len = 1;
	chunk.is_last = 1;
	assert_packs_to(&chunk.base, want, sizeof want);
}

static void test_data_part_struct_and_federated_version_encode(void **state)
{
	/* DataPart.data 1 = google.protobuf.Struct{fields 1: map<string, Value>};
	 * Value.number_value 2 (double). */
	static const uint8_t want[] = {
		0x0a, 0x10, 0x0a, 0x0e, 0x0a, 0x01, 'n',
		0x12, 0x09, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0x3f,
	};
	Google__Protobuf__Value v = GOOGLE__PROTOBUF__VALUE__INIT;
	v.kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
	v.number_value = 1.5;
	Google__Protobuf__Struct__FieldsEntry fe = GOOGLE__PROTOBUF__STRUCT__FIELDS_ENTRY__INIT;
	fe.key = "n";
	fe.value = &v;
	Google__Protobuf__Struct__FieldsEntry *fes[] = { &fe };
	Google__Protobuf__Struct st = GOOGLE__PROTOBUF__STRUCT__INIT;
	st.n_fields = 1;
	st.fields = fes;
	Agentanycast__V1__DataPart dp = AGENTANYCAST__V1__DATA_PART__INIT;
	dp.data = &st;
	assert_packs_to(&dp.base, want, sizeof want);

	/* FederatedRegistration.version 8 is uint64. */
	static const uint8_t fed_want[] = { 0x40, 0x85, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
					    0x80, 0x01 };
	Agentanycast__V1__FederatedRegistration fr =
		AGENTANYCAST__V1__FEDERATED_REGISTRATION__INIT;
	fr.version = (UINT64_C(1) << 63) + 5;
	assert_packs_to(&fr.base, fed_want, sizeof fed_want);
}

static void test_node_info_and_subscribe_updates_field_numbers(void **state)
{
	/* NodeInfo: peer_id 1, listen_addresses 2, nat_type 3 (PRIVATE = 2), connected_peers
	 * 4 (int32), started_at 5, version 6. */
	static const uint8_t want[] = {
		0x0a, 0x01, 'p', 0x12, 0x01, 'a', 0x18, 0x02, 0x20, 0x07,
		0x2a, 0x02, 0x08, 0x09, 0x32, 0x05, '0', '.', '1', '.', '0',
	};
	char *addrs[] = { "a" };
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	ts.seconds = 9;
	Agentanycast__V1__NodeInfo ni = AGENTANYCAST__V1__NODE_INFO__INIT;
	ni.peer_id = "p";
	ni.n_listen_addresses = 1;
	ni.listen_addresses = addrs;
	ni.nat_type = AGENTANYCAST__V1__NATTYPE__NAT_TYPE_PRIVATE;
	ni.connected_peers = 7;
	ni.started_at = &ts;
	ni.version = "0.1.0";
	assert_packs_to(&ni.base, want, sizeof want);

	/* SubscribeTaskUpdatesResponse: task_id 1, status 2 (COMPLETED = 4), message 3,
	 * artifacts 4. */
	static const uint8_t up_want[] = { 0x0a, 0x01, 't', 0x10, 0x04, 0x1a, 0x00, 0x22, 0x00 };
	Agentanycast__V1__Message msg = AGENTANYCAST__V1__MESSAGE__INIT;
	Agentanycast__V1__Artifact art = AGENTANYCAST__V1__ARTIFACT__INIT;
	Agentanycast__V1__Artifact *arts[] = { &art };
	Agentanycast__V1__SubscribeTaskUpdatesResponse up =
		AGENTANYCAST__V1__SUBSCRIBE_TASK_UPDATES_RESPONSE__INIT;
	up.task_id = "t";
	up.status = AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_COMPLETED;
	up.message = &msg;
	up.n_artifacts = 1;
	up.artifacts = arts;
	assert_packs_to(&up.base, up_want, sizeof up_want);
}

static void test_services_have_every_rpc_in_contract_order(void **state)
{
	static const char *const node_rpcs[] = {
		"GetNodeInfo", "SetAgentCard", "ConnectPeer", "ListPeers", "GetPeerCard",
		"SendTask", "GetTask", "CancelTask", "SubscribeTaskUpdates",
		"SubscribeIncomingTasks", "UpdateTaskStatus", "CompleteTask", "FailTask",
		"SubscribeTaskStream", "SendStreamingArtifact", "Discover",
	};
	const ProtobufCServiceDescriptor *sd = &agentanycast__v1__node_service__descriptor;
	assert_string_equal(sd->name, "agentanycast.v1.NodeService");
	assert_int_equal(sd->n_methods, sizeof node_rpcs / sizeof node_rpcs[0]);
	for (unsigned i = 0; i < sd->n_methods; i++)
		assert_string_equal(sd->methods[i].name, node_rpcs[i]);
	assert_ptr_equal(sd->methods[5].input, &agentanycast__v1__send_task_request__descriptor);
	assert_ptr_equal(sd->methods[15].output, &agentanycast__v1__discover_response__descriptor);
	assert_string_equal(agentanycast__v1__registry_service__descriptor.name,
			    "agentanycast.v1.RegistryService");
	assert_int_equal(agentanycast__v1__registry_service__descriptor.n_methods, 4);
	assert_int_equal(agentanycast__v1__federation_service__descriptor.n_methods, 2);
}

/* --- round trips ----------------------------------------------------------------------- */

/* A message using every kind of Part, with metadata. Owned by the caller's stack. */
struct sample_message {
	Agentanycast__V1__TextPart text;
	Google__Protobuf__Value num, str, flag, null;
	Google__Protobuf__Struct__FieldsEntry e_num, e_str, e_flag, e_null;
	Google__Protobuf__Struct__FieldsEntry *entries[4];
	Google__Protobuf__Struct st;
	Agentanycast__V1__DataPart data;
	Agentanycast__V1__UrlPart url;
	Agentanycast__V1__RawPart raw;
	Agentanycast__V1__Part p_text, p_data, p_url, p_raw;
	Agentanycast__V1__Part__MetadataEntry md;
	Agentanycast__V1__Part__MetadataEntry *mds[1];
	Agentanycast__V1__Part *parts[4];
	Google__Protobuf__Timestamp ts;
	Agentanycast__V1__Message msg;
};

static void sample_message_init(struct sample_message *s)
{
	static uint8_t bin[] = { 0x00, 0x80, 0xff };
	memset(s, 0, sizeof *s);
	google__protobuf__value__init(&s->num);
	s->num.kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
	s->num.number_value = -2.25;
	google__protobuf__value__init(&s->str);
	s->str.kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
	s->str.string_value = "sn\xc3\xb6w \xe2\x98\x83";
	google__protobuf__value__init(&s->flag);
	s->flag.kind_case = GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE;
	s->flag.bool_value = 1;
	google__protobuf__value__init(&s->null);
	s->null.kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE;
	Google__Protobuf__Struct__FieldsEntry *es[] = { &s->e_num, &s->e_str, &s->e_flag,
							&s->e_null };
	Google__Protobuf__Value *vs[] = { &s->num, &s->str, &s->flag, &s->null };
	const char *keys[] = { "num", "str", "flag", "null" };
	for (int i = 0; i < 4; i++) {
		google__protobuf__struct__fields_entry__init(es[i]);
		es[i]->key = (char *)keys[i];
		es[i]->value = vs[i];
		s->entries[i] = es[i];
	}
	google__protobuf__struct__init(&s->st);
	s->st.n_fields = 4;
	s->st.fields = s->entries;

	agentanycast__v1__text_part__init(&s->text);
	s->text.text = "hello";
	agentanycast__v1__data_part__init(&s->data);
	s->data.data = &s->st;
	agentanycast__v1__url_part__init(&s->url);
	s->url.url = "https://example.com/f.txt";
	s->url.filename = "f.txt";
	agentanycast__v1__raw_part__init(&s->raw);
	s->raw.data.data = bin;
	s->raw.data.len = sizeof bin;
	s->raw.filename = "b.bin";

	Agentanycast__V1__Part *ps[] = { &s->p_text, &s->p_data, &s->p_url, &s->p_raw };
	for (int i = 0; i < 4; i++) {
		agentanycast__v1__part__init(ps[i]);
		s->parts[i] = ps[i];
	}
	s->p_text.content_case = AGENTANYCAST__V1__PART__CONTENT_TEXT_PART;
	s->p_text.text_part = &s->text;
	s->p_text.media_type = "text/plain";
	agentanycast__v1__part__metadata_entry__init(&s->md);
	s->md.key = "lang";
	s->md.value = "en";
	s->mds[0] = &s->md;
	s->p_text.n_metadata = 1;
	s->p_text.metadata = s->mds;
	s->p_data.content_case = AGENTANYCAST__V1__PART__CONTENT_DATA_PART;
	s->p_data.data_part = &s->data;
	s->p_url.content_case = AGENTANYCAST__V1__PART__CONTENT_URL_PART;
	s->p_url.url_part = &s->url;
	s->p_raw.content_case = AGENTANYCAST__V1__PART__CONTENT_RAW_PART;
	s->p_raw.raw_part = &s->raw;

	google__protobuf__timestamp__init(&s->ts);
	a2a_pb_timestamp_set(&s->ts, INT64_C(1711111111111));
	agentanycast__v1__message__init(&s->msg);
	s->msg.message_id = "msg-1";
	s->msg.role = AGENTANYCAST__V1__MESSAGE_ROLE__MESSAGE_ROLE_AGENT;
	s->msg.n_parts = 4;
	s->msg.parts = s->parts;
	s->msg.created_at = &s->ts;
}

static void test_message_with_every_part_kind_round_trips(void **state)
{
	struct sample_message s;
	sample_message_init(&s);
	Agentanycast__V1__Message *back = (Agentanycast__V1__Message *)round_trip(&s.msg.base);
	assert_int_equal(back->n_parts, 4);
	assert_int_equal(back->parts[0]->content_case, AGENTANYCAST__V1__PART__CONTENT_TEXT_PART);
	assert_string_equal(back->parts[0]->metadata[0]->value, "en");
	Google__Protobuf__Struct *st = back->parts[1]->data_part->data;
	assert_int_equal(st->n_fields, 4);
	assert_true(st->fields[0]->value->number_value == -2.25);
	assert_string_equal(st->fields[1]->value->string_value, "sn\xc3\xb6w \xe2\x98\x83");
	assert_int_equal(st->fields[3]->value->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE);
	assert_string_equal(back->parts[2]->url_part->filename, "f.txt");
	assert_memory_equal(back->parts[3]->raw_part->data.data, "\x00\x80\xff", 3);
	assert_true(a2a_pb_timestamp_ms(back->created_at) == INT64_C(1711111111111));
	a2a_pb_free(back);
}

static void test_every_envelope_payload_round_trips(void **state)
{
	struct sample_message s;
	sample_message_init(&s);
	Agentanycast__V1__Artifact art = AGENTANYCAST__V1__ARTIFACT__INIT;
	art.artifact_id = "art-1";
	art.name = "result";
	art.n_parts = 1;
	art.parts = &s.parts[0];
	Agentanycast__V1__Artifact *arts[] = { &art };
	Agentanycast__V1__SendTaskPayload st = AGENTANYCAST__V1__SEND_TASK_PAYLOAD__INIT;
	st.task_id = "t";
	st.context_id = "c";
	st.message = &s.msg;
	st.target_skill_id = "skill";
	Agentanycast__V1__TaskStatusUpdatePayload su =
		AGENTANYCAST__V1__TASK_STATUS_UPDATE_PAYLOAD__INIT;
	su.task_id = "t";
	su.status = AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_INPUT_REQUIRED;
	su.message = &s.msg;
	Agentanycast__V1__TaskCompletePayload tc = AGENTANYCAST__V1__TASK_COMPLETE_PAYLOAD__INIT;
	tc.task_id = "t";
	tc.n_artifacts = 1;
	tc.artifacts = arts;
	tc.message = &s.msg;
	Agentanycast__V1__TaskFailPayload tf = AGENTANYCAST__V1__TASK_FAIL_PAYLOAD__INIT;
	tf.task_id = "t";
	tf.error_message = "boom";
	Agentanycast__V1__TaskCancelPayload tcl = AGENTANYCAST__V1__TASK_CANCEL_PAYLOAD__INIT;
	tcl.task_id = "t";
	Agentanycast__V1__GetTaskPayload gt = AGENTANYCAST__V1__GET_TASK_PAYLOAD__INIT;
	gt.task_id = "t";
	Agentanycast__V1__Task task = AGENTANYCAST__V1__TASK__INIT;
	task.task_id = "t";
	task.status = AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_COMPLETED;
	Agentanycast__V1__GetTaskResponsePayload gr =
		AGENTANYCAST__V1__GET_TASK_RESPONSE_PAYLOAD__INIT;
	gr.task = &task;
	Agentanycast__V1__AckPayload ack = AGENTANYCAST__V1__ACK_PAYLOAD__INIT;
	ack.acknowledged_envelope_id = "e0";
	Agentanycast__V1__StreamStart ss = AGENTANYCAST__V1__STREAM_START__INIT;
	ss.task_id = "t";
	ss.total_chunks = 3;
	Agentanycast__V1__StreamChunk sc = AGENTANYCAST__V1__STREAM_CHUNK__INIT;
	sc.sequence = 2;
	Agentanycast__V1__StreamEnd se = AGENTANYCAST__V1__STREAM_END__INIT;
	se.reason = AGENTANYCAST__V1__STREAM_END_REASON__STREAM_END_REASON_CANCELED;

	struct {
		Agentanycast__V1__A2AEnvelope__PayloadCase pc;
		void *payload;
	} cases[] = {
		{ AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_SEND_TASK, &st },
		{ AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_TASK_STATUS_UPDATE, &su },
		{ AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_TASK_COMPLETE, &tc },
		{ AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_TASK_FAIL, &tf },
		{ AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_TASK_CANCEL, &tcl },
		{ AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_GET_TASK, &gt },
		{ AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_GET_TASK_RESPONSE, &gr },
		{ AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_ACK, &ack },
		{ AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_STREAM_START, &ss },
		{ AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_STREAM_CHUNK, &sc },
		{ AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_STREAM_END, &se },
	};
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	ts.seconds = 5;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		Agentanycast__V1__A2AEnvelope env = AGENTANYCAST__V1__A2_AENVELOPE__INIT;
		env.envelope_id = "0b8f5c2e-5b7a-4d38-9d0c-6f1e7c1a2b3c";
		env.type = (Agentanycast__V1__EnvelopeType)(i + 1); /* cases follow the enum */
		env.timestamp = &ts;
		env.payload_case = cases[i].pc;
		env.send_task = cases[i].payload; /* all union members are pointers */
		env.trace_state = "k=v";
		Agentanycast__V1__A2AEnvelope *back =
			(Agentanycast__V1__A2AEnvelope *)round_trip(&env.base);
		assert_int_equal(back->payload_case, cases[i].pc);
		assert_int_equal(back->type, (int)i + 1);
		assert_non_null(back->send_task);
		a2a_pb_free(back);
	}
}

static void test_card_task_and_rpc_messages_round_trip(void **state)
{
	struct sample_message s;
	sample_message_init(&s);
	char *urls[] = { "/ip4/1.2.3.4/tcp/4001/p2p/12D3KooWxyz/p2p-circuit" };
	char *vcs[] = { "vc1", "vc2" };
	Agentanycast__V1__P2PExtension ext = AGENTANYCAST__V1__P2_PEXTENSION__INIT;
	ext.peer_id = "12D3KooWabc";
	ext.n_relay_addresses = 1;
	ext.relay_addresses = urls;
	ext.did_web = "did:web:example.com";
	ext.did_dns = "example.com";
	ext.n_verifiable_credentials = 2;
	ext.verifiable_credentials = vcs;
	Agentanycast__V1__Skill sk = AGENTANYCAST__V1__SKILL__INIT;
	sk.id = "translate";
	sk.input_schema = "{\"type\":\"object\"}";
	sk.output_schema = "{}";
	Agentanycast__V1__Skill *sks[] = { &sk };
	Agentanycast__V1__AgentCard card = AGENTANYCAST__V1__AGENT_CARD__INIT;
	card.name = "agent";
	card.version = "1.0";
	card.protocol_version = "a2a/0.3";
	card.n_skills = 1;
	card.skills = sks;
	card.p2p_extension = &ext;
	a2a_pb_free(round_trip(&card.base));

	Agentanycast__V1__Message *msgs[] = { &s.msg, &s.msg };
	Agentanycast__V1__Task task = AGENTANYCAST__V1__TASK__INIT;
	task.task_id = "t";
	task.context_id = "ctx";
	task.n_messages = 2;
	task.messages = msgs;
	task.created_at = &s.ts;
	Agentanycast__V1__Task *tb = (Agentanycast__V1__Task *)round_trip(&task.base);
	assert_int_equal(tb->n_messages, 2);
	a2a_pb_free(tb);

	Agentanycast__V1__SubscribeIncomingTasksResponse inc =
		AGENTANYCAST__V1__SUBSCRIBE_INCOMING_TASKS_RESPONSE__INIT;
	inc.task = &task;
	inc.sender_card = &card;
	a2a_pb_free(round_trip(&inc.base));

	Agentanycast__V1__SkillInfo__TagsEntry tag = AGENTANYCAST__V1__SKILL_INFO__TAGS_ENTRY__INIT;
	tag.key = "lang";
	tag.value = "de";
	Agentanycast__V1__SkillInfo__TagsEntry *tags[] = { &tag };
	Agentanycast__V1__SkillInfo si = AGENTANYCAST__V1__SKILL_INFO__INIT;
	si.skill_id = "translate";
	si.n_tags = 1;
	si.tags = tags;
	Agentanycast__V1__SkillInfo *sis[] = { &si };
	Agentanycast__V1__DiscoveredAgent da = AGENTANYCAST__V1__DISCOVERED_AGENT__INIT;
	da.peer_id = "p";
	da.agent_name = "n";
	da.n_skills = 1;
	da.skills = sis;
	Agentanycast__V1__DiscoveredAgent *das[] = { &da };
	Agentanycast__V1__DiscoverResponse dr = AGENTANYCAST__V1__DISCOVER_RESPONSE__INIT;
	dr.n_agents = 1;
	dr.agents = das;
	a2a_pb_free(round_trip(&dr.base));

	Agentanycast__V1__SkillRegistration reg = AGENTANYCAST__V1__SKILL_REGISTRATION__INIT;
	reg.peer_id = "p";
	reg.n_skills = 1;
	reg.skills = sis;
	reg.expires_at = &s.ts;
	a2a_pb_free(round_trip(&reg.base));

	Agentanycast__V1__FederatedRegistration fr =
		AGENTANYCAST__V1__FEDERATED_REGISTRATION__INIT;
	fr.origin_relay_id = "relay-a";
	fr.n_skills = 1;
	fr.skills = sis;
	fr.version = UINT64_MAX;
	Agentanycast__V1__FederatedRegistration *fb =
		(Agentanycast__V1__FederatedRegistration *)round_trip(&fr.base);
	assert_true(fb->version == UINT64_MAX);
	a2a_pb_free(fb);

	Agentanycast__V1__SendStreamingArtifactRequest ssa =
		AGENTANYCAST__V1__SEND_STREAMING_ARTIFACT_REQUEST__INIT;
	Agentanycast__V1__StreamStart start = AGENTANYCAST__V1__STREAM_START__INIT;
	start.artifact_name = "out";
	start.media_type = "text/plain";
	ssa.event_case = AGENTANYCAST__V1__SEND_STREAMING_ARTIFACT_REQUEST__EVENT_STREAM_START;
	ssa.stream_start = &start;
	a2a_pb_free(round_trip(&ssa.base));
}

/* --- the safe decoder ------------------------------------------------------------------ */

static void test_unpack_rejects_input_over_the_size_limit(void **state)
{
	static const uint8_t bytes[] = { 0x0a, 0x02, 'e', '1' };
	struct a2a_pb_limits l;
	a2a_pb_limits_default(&l);
	l.max_bytes = 3;
	int err = 0;
	char why[128];
	assert_null(a2a_pb_envelope_unpack(aa_slice_make(bytes, sizeof bytes), &l, &err, why,
					   sizeof why));
	assert_int_equal(err, AA_ETOOBIG);
	assert_true(strlen(why) > 0);
	l.max_bytes = 4;
	Agentanycast__V1__A2AEnvelope *e =
		a2a_pb_envelope_unpack(aa_slice_make(bytes, sizeof bytes), &l, &err, NULL, 0);
	assert_non_null(e);
	assert_int_equal(err, 0);
	a2a_pb_free(e);
}

static void test_unpack_rejects_truncated_and_malformed_bytes(void **state)
{
	static const uint8_t truncated[] = { 0x0a, 0x05, 'e', '1' };
	static const uint8_t bad_varint[] = { 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					      0xff, 0xff, 0xff, 0x01 };
	static const uint8_t field_zero[] = { 0x02, 0x00 };
	static const uint8_t group[] = { 0x0b, 0x0c };
	/* type (2) is an enum: a length-delimited value is the wrong wire type. */
	static const uint8_t wrong_wire[] = { 0x12, 0x01, 0x01 };
	/* send_task whose inner message length runs past its parent. */
	static const uint8_t inner_overrun[] = { 0x52, 0x02, 0x1a, 0x05 };
	const struct { const uint8_t *p; size_t n; } cases[] = {
		{ truncated, sizeof truncated }, { bad_varint, sizeof bad_varint },
		{ field_zero, sizeof field_zero }, { group, sizeof group },
		{ wrong_wire, sizeof wrong_wire }, { inner_overrun, sizeof inner_overrun },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int err = 0;
		assert_null(unpack_bytes(&agentanycast__v1__a2_aenvelope__descriptor, cases[i].p,
					 cases[i].n, NULL, &err));
		assert_int_equal(err, AA_EPROTO);
	}
}

static void test_unpack_rejects_strings_that_are_not_utf8_or_hold_nul(void **state)
{
	static const uint8_t bad[][6] = {
		{ 0x0a, 0x02, 0xc0, 0x80 },             /* overlong NUL */
		{ 0x0a, 0x03, 0xed, 0xa0, 0x80 },       /* surrogate U+D800 */
		{ 0x0a, 0x04, 0xf4, 0x90, 0x80, 0x80 }, /* above U+10FFFF */
		{ 0x0a, 0x01, 0xff },
		{ 0x0a, 0x02, 0xe2, 0x98 },             /* cut short */
		{ 0x0a, 0x03, 'a', 0x00, 'b' },         /* NUL */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int err = 0;
		char why[128];
		assert_null(a2a_pb_card_unpack(aa_slice_make(bad[i], 2 + bad[i][1]), NULL, &err,
					       why, sizeof why));
		assert_int_equal(err, AA_EPROTO);
		assert_non_null(strstr(why, "AgentCard.name"));
	}
	/* The same bytes are fine in a bytes field (RawPart.data) ... */
	static const uint8_t raw[] = { 0x22, 0x03, 0x0a, 0x01, 0xff };
	int err;
	void *m = unpack_bytes(&agentanycast__v1__part__descriptor, raw, sizeof raw, NULL, &err);
	assert_non_null(m);
	a2a_pb_free(m);
	/* ... and valid multi-byte UTF-8 passes in a string nested in a map entry. */
	static const uint8_t ok[] = { 0x5a, 0x07, 0x0a, 0x01, 'k', 0x12, 0x02, 0xc3, 0xb6 };
	m = unpack_bytes(&agentanycast__v1__part__descriptor, ok, sizeof ok, NULL, &err);
	assert_non_null(m);
	assert_string_equal(((Agentanycast__V1__Part *)m)->metadata[0]->value, "\xc3\xb6");
	a2a_pb_free(m);
	/* A bad string deep inside an envelope is found too. */
	static const uint8_t deep[] = { 0x52, 0x07, 0x1a, 0x05, 0x0a, 0x03, 'a', 0xfe, 'b' };
	assert_null(unpack_bytes(&agentanycast__v1__a2_aenvelope__descriptor, deep, sizeof deep,
				 NULL, &err));
	assert_int_equal(err, AA_EPROTO);
}

static size_t varint_len(size_t v)
{
	size_t n = 1;
	for (; v >= 0x80; v >>= 7)
		n++;
	return n;
}

static void put_varint(struct aa_buf *b, size_t v)
{
	for (; v >= 0x80; v >>= 7)
		aa_buf_append_byte(b, (uint8_t)(v | 0x80));
	aa_buf_append_byte(b, (uint8_t)v);
}

/* A Value nested `levels` ListValues deep: Value{list_value 6: ListValue{values 1: ...}},
 * the innermost Value being null_value. Sizes are worked out inside-out first, so that the
 * bytes can be written outside-in in one pass. */
static void build_nested_value(struct aa_buf *out, int levels)
{
	size_t *value_size = calloc((size_t)levels + 1, sizeof *value_size);
	size_t *list_size = calloc((size_t)levels + 1, sizeof *list_size);
	assert_non_null(value_size);
	assert_non_null(list_size);
	value_size[0] = 2;
	for (int i = 1; i <= levels; i++) {
		list_size[i] = 1 + varint_len(value_size[i - 1]) + value_size[i - 1];
		value_size[i] = 1 + varint_len(list_size[i]) + list_size[i];
	}
	aa_buf_init(out);
	for (int i = levels; i >= 1; i--) {
		aa_buf_append_byte(out, 0x32); /* Value.list_value */
		put_varint(out, list_size[i]);
		aa_buf_append_byte(out, 0x0a); /* ListValue.values */
		put_varint(out, value_size[i - 1]);
	}
	aa_buf_append(out, "\x08\x00", 2); /* Value.null_value */
	assert_int_equal(out->n, value_size[levels]);
	free(value_size);
	free(list_size);
}

static void test_unpack_bounds_nesting_depth(void **state)
{
	/* Each level is Value -> ListValue: two messages. 49 levels plus the innermost
	 * Value are 99 messages; 50 levels are 101. */
	struct aa_buf ok, deep, huge;
	build_nested_value(&ok, 49);
	build_nested_value(&deep, 50);
	int err = 1;
	void *m = unpack_bytes(&google__protobuf__value__descriptor, ok.p, ok.n, NULL, &err);
	assert_non_null(m);
	assert_int_equal(err, 0);
	a2a_pb_free(m);
	char why[128];
	assert_null(a2a_pb_unpack(&google__protobuf__value__descriptor,
				  aa_slice_make(deep.p, deep.n), NULL, &err, why, sizeof why));
	assert_int_equal(err, AA_EPROTO);
	assert_non_null(strstr(why, "nested"));
	/* A hundred thousand levels (a stack overflow for a plain recursive decoder). */
	build_nested_value(&huge, 100000);
	assert_null(unpack_bytes(&google__protobuf__value__descriptor, huge.p, huge.n, NULL,
				 &err));
	assert_int_equal(err, AA_EPROTO);
	struct a2a_pb_limits l;
	a2a_pb_limits_default(&l);
	l.max_depth = 0;
	assert_null(unpack_bytes(&google__protobuf__value__descriptor, ok.p, ok.n, &l, &err));
	aa_buf_free(&ok);
	aa_buf_free(&deep);
	aa_buf_free(&huge);
}

static void test_unpack_bounds_the_heap_it_uses(void **state)
{
	/* 20000 empty Parts: 40 KB of input, far more as structs. */
	struct aa_buf b;
	aa_buf_init(&b);
	for (int i = 0; i < 20000; i++)
		aa_buf_append(&b, "\x1a\x00", 2);
	struct a2a_pb_limits l;
	a2a_pb_limits_default(&l);
	l.max_heap_bytes = 256 * 1024;
	int err = 0;
	char why[128];
	assert_null(a2a_pb_unpack(&agentanycast__v1__message__descriptor,
				  aa_slice_make(b.p, b.n), &l, &err, why, sizeof why));
	assert_int_equal(err, AA_ENOMEM);
	assert_non_null(strstr(why, "heap"));
	/* The default budget (16 x input + 4 MiB) has room for it. */
	Agentanycast__V1__Message *m =
		a2a_pb_message_unpack(aa_slice_make(b.p, b.n), NULL, &err, NULL, 0);
	assert_non_null(m);
	assert_int_equal(m->n_parts, 20000);
	a2a_pb_free(m);
	aa_buf_free(&b);
}

static void test_unpack_keeps_unknown_fields_and_accepts_empty_input(void **state)
{
	/* envelope_id "e", then unknown field 99 (varint 7) and unknown field 100 (bytes). */
	static const uint8_t bytes[] = { 0x0a, 0x01, 'e', 0x98, 0x06, 0x07,
					 0xa2, 0x06, 0x02, 0xff, 0x00 };
	int err;
	Agentanycast__V1__A2AEnvelope *e =
		a2a_pb_envelope_unpack(aa_slice_make(bytes, sizeof bytes), NULL, &err, NULL, 0);
	assert_non_null(e);
	assert_int_equal(e->base.n_unknown_fields, 2);
	struct aa_buf b;
	aa_buf_init(&b);
	a2a_pb_pack(&e->base, &b);
	assert_int_equal(b.n, sizeof bytes);
	assert_memory_equal(b.p, bytes, sizeof bytes);
	aa_buf_free(&b);
	a2a_pb_free(e);

	e = a2a_pb_envelope_unpack(aa_slice_make(NULL, 0), NULL, &err, NULL, 0);
	assert_non_null(e);
	assert_int_equal(err, 0);
	assert_int_equal(e->payload_case, AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD__NOT_SET);
	assert_null(e->timestamp);
	assert_string_equal(e->envelope_id, "");
	a2a_pb_free(e);
}

static void test_unpack_merges_repeated_singular_messages_like_protobuf(void **state)
{
	/* SendTaskPayload.message twice: the two merge (protobuf encoding guide, "Last One
	 * Wins": scalars are replaced, embedded messages merged). protobuf-c replaces rather
	 * than merges a repeated member of a oneof (A2AEnvelope.send_task); senders never
	 * split a message that way. */
	static const uint8_t bytes[] = { 0x1a, 0x03, 0x0a, 0x01, 'a', 0x1a, 0x02, 0x10, 0x01 };
	int err;
	Agentanycast__V1__SendTaskPayload *p = (Agentanycast__V1__SendTaskPayload *)unpack_bytes(
		&agentanycast__v1__send_task_payload__descriptor, bytes, sizeof bytes, NULL, &err);
	assert_non_null(p);
	assert_string_equal(p->message->message_id, "a");
	assert_int_equal(p->message->role, AGENTANYCAST__V1__MESSAGE_ROLE__MESSAGE_ROLE_USER);
	a2a_pb_free(p);
}

/* --- copies ---------------------------------------------------------------------------- */

static void assert_same_encoding(const ProtobufCMessage *a, const ProtobufCMessage *b)
{
	struct aa_buf x, y;
	aa_buf_init(&x);
	aa_buf_init(&y);
	a2a_pb_pack(a, &x);
	a2a_pb_pack(b, &y);
	assert_int_equal(x.n, y.n);
	assert_memory_equal(x.p, y.p, x.n);
	aa_buf_free(&x);
	aa_buf_free(&y);
}

static void test_copies_are_deep_and_equal(void **state)
{
	struct sample_message s;
	sample_message_init(&s);
	Agentanycast__V1__Message *m = a2a_pb_message_copy(&s.msg);
	assert_ptr_not_equal(m, &s.msg);
	assert_ptr_not_equal(m->parts[0]->text_part->text, s.text.text);
	assert_same_encoding(&m->base, &s.msg.base);

	/* A copy of a copy outlives its source. */
	Agentanycast__V1__Message *m2 = a2a_pb_message_copy(m);
	a2a_pb_free(m);
	assert_same_encoding(&m2->base, &s.msg.base);
	a2a_pb_free(m2);

	Agentanycast__V1__Artifact art = AGENTANYCAST__V1__ARTIFACT__INIT;
	art.artifact_id = "a";
	art.n_parts = 4;
	art.parts = s.parts;
	Agentanycast__V1__Artifact *ac = a2a_pb_artifact_copy(&art);
	assert_int_equal(ac->n_parts, 4);
	assert_same_encoding(&ac->base, &art.base);
	a2a_pb_free(ac);

	Agentanycast__V1__P2PExtension ext = AGENTANYCAST__V1__P2_PEXTENSION__INIT;
	ext.did_key = "did:key:z6Mk";
	Agentanycast__V1__AgentCard card = AGENTANYCAST__V1__AGENT_CARD__INIT;
	card.name = "n";
	card.p2p_extension = &ext;
	Agentanycast__V1__AgentCard *cc = a2a_pb_card_copy(&card);
	assert_string_equal(cc->p2p_extension->did_key, "did:key:z6Mk");
	assert_same_encoding(&cc->base, &card.base);
	a2a_pb_free(cc);

	Agentanycast__V1__Task task = AGENTANYCAST__V1__TASK__INIT;
	task.task_id = "t";
	Agentanycast__V1__Task *tc = a2a_pb_task_copy(&task);
	assert_string_equal(tc->task_id, "t");
	a2a_pb_free(tc);

	assert_null(a2a_pb_message_copy(NULL));
	assert_null(a2a_pb_card_copy(NULL));
	a2a_pb_free(NULL);
}

/* --- timestamps and names -------------------------------------------------------------- */

static void test_timestamp_round_trips_wall_ms(void **state)
{
	const int64_t cases[] = { 0, 1, 999, 1000, INT64_C(1700000000123), -1, -999, -1000,
				  -1001, INT64_MAX, INT64_MIN };
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		Google__Protobuf__Timestamp *ts = a2a_pb_timestamp_new(cases[i]);
		assert_true(ts->nanos >= 0 && ts->nanos < 1000000000);
		assert_int_equal(ts->nanos % 1000000, 0);
		assert_true(a2a_pb_timestamp_ms(ts) == cases[i]);
		a2a_pb_free(ts);
	}
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	a2a_pb_timestamp_set(&ts, -1);
	assert_true(ts.seconds == -1);
	assert_int_equal(ts.nanos, 999000000);
	assert_int_equal(a2a_pb_timestamp_ms(NULL), 0);
}

static void test_timestamp_ms_saturates_and_floors_hostile_values(void **state)
{
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	ts.seconds = INT64_MAX;
	assert_true(a2a_pb_timestamp_ms(&ts) == INT64_MAX);
	ts.seconds = INT64_MIN;
	ts.nanos = -1;
	assert_true(a2a_pb_timestamp_ms(&ts) == INT64_MIN);
	ts.seconds = 0;
	ts.nanos = 1999999; /* sub-millisecond nanos round down */
	assert_int_equal(a2a_pb_timestamp_ms(&ts), 1);
	ts.nanos = -1; /* out of range, taken as it adds up: 1 ns before the epoch */
	assert_int_equal(a2a_pb_timestamp_ms(&ts), -1);
	ts.seconds = 1;
	ts.nanos = 2000000000;
	assert_int_equal(a2a_pb_timestamp_ms(&ts), 3000);
}

static void test_enum_names_are_the_proto_names(void **state)
{
	static const char *const status[] = {
		"TASK_STATUS_UNSPECIFIED", "TASK_STATUS_SUBMITTED", "TASK_STATUS_WORKING",
		"TASK_STATUS_INPUT_REQUIRED", "TASK_STATUS_COMPLETED", "TASK_STATUS_FAILED",
		"TASK_STATUS_CANCELED", "TASK_STATUS_REJECTED",
	};
	for (int i = 0; i < 8; i++)
		assert_string_equal(a2a_pb_task_status_name(i), status[i]);
	assert_string_equal(a2a_pb_task_status_name(8), "TASK_STATUS_UNKNOWN");
	assert_string_equal(a2a_pb_task_status_name(-1), "TASK_STATUS_UNKNOWN");
	assert_string_equal(a2a_pb_envelope_type_name(8), "ENVELOPE_TYPE_ACK");
	assert_string_equal(a2a_pb_envelope_type_name(11), "ENVELOPE_TYPE_STREAM_END");
	assert_string_equal(a2a_pb_envelope_type_name(12), "ENVELOPE_TYPE_UNKNOWN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_envelope_send_task_encodes_to_hand_computed_bytes),
		cmocka_unit_test(test_envelope_ack_and_stream_payloads_use_fields_17_to_20),
		cmocka_unit_test(test_agent_card_with_p2p_extension_encodes_to_hand_computed_bytes),
		cmocka_unit_test(test_task_with_status_and_timestamps_encodes_to_hand_computed_bytes),
		cmocka_unit_test(test_send_task_request_url_target_and_metadata_map_encode),
		cmocka_unit_test(test_stream_chunk_sequence_is_int32_not_sint32),
		cmocka_unit_test(test_data_part_struct_and_federated_version_encode),
		cmocka_unit_test(test_node_info_and_subscribe_updates_field_numbers),
		cmocka_unit_test(test_services_have_every_rpc_in_contract_order),
		cmocka_unit_test(test_message_with_every_part_kind_round_trips),
		cmocka_unit_test(test_every_envelope_payload_round_trips),
		cmocka_unit_test(test_card_task_and_rpc_messages_round_trip),
		cmocka_unit_test(test_unpack_rejects_input_over_the_size_limit),
		cmocka_unit_test(test_unpack_rejects_truncated_and_malformed_bytes),
		cmocka_unit_test(test_unpack_rejects_strings_that_are_not_utf8_or_hold_nul),
		cmocka_unit_test(test_unpack_bounds_nesting_depth),
		cmocka_unit_test(test_unpack_bounds_the_heap_it_uses),
		cmocka_unit_test(test_unpack_keeps_unknown_fields_and_accepts_empty_input),
		cmocka_unit_test(test_unpack_merges_repeated_singular_messages_like_protobuf),
		cmocka_unit_test(test_copies_are_deep_and_equal),
		cmocka_unit_test(test_timestamp_round_trips_wall_ms),
		cmocka_unit_test(test_timestamp_ms_saturates_and_floors_hostile_values),
		cmocka_unit_test(test_enum_names_are_the_proto_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
