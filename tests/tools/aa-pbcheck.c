/* aa-pbcheck: test tool for tests/interop/proto_compat.test.sh, which checks that the
 * agentanycast.v1 messages as protobuf-c encodes and decodes them (via a2a/pb) agree with
 * the Python stubs generated from the same protos (the official SDK's runtime).
 *
 *   aa-pbcheck cases                 list the sample messages: "CASE TYPE" per line
 *   aa-pbcheck encode CASE FILE      write sample CASE, encoded, to FILE
 *   aa-pbcheck decode TYPE FILE      decode FILE as message TYPE (e.g. A2AEnvelope) with
 *                                    a2a_pb_unpack() and print every field that is set
 *
 * The field listing ("dump") has one line per set field, "path=value": path is the field
 * names from the top message joined by ".", "[i]" for repeated elements and "{key}" for map
 * entries; value is "<msg>" for a present message, decimal for numbers, enums and bools
 * (0/1), %.17g for doubles, "0x" + hex for bytes, and strings with bytes outside printable
 * ASCII (and the backslash) as \xHH. proto3 scalars at their default are left out unless
 * they are a set oneof member. tests/interop/proto_compat.py prints the same form.
 * Exit status: 0 ok, 1 error, 2 usage. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a2a/pb.h"
#include "agentanycast/v1/federation.pb-c.h"
#include "agentanycast/v1/registry_service.pb-c.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"
#include "google/protobuf/struct.pb-c.h"

/* --- the messages this tool knows by name ---------------------------------------------- */

static const ProtobufCMessageDescriptor *const types[] = {
	&agentanycast__v1__a2_aenvelope__descriptor,
	&agentanycast__v1__agent_card__descriptor,
	&agentanycast__v1__task__descriptor,
	&agentanycast__v1__message__descriptor,
	&agentanycast__v1__artifact__descriptor,
	&agentanycast__v1__send_task_request__descriptor,
	&agentanycast__v1__send_task_response__descriptor,
	&agentanycast__v1__subscribe_task_updates_response__descriptor,
	&agentanycast__v1__subscribe_incoming_tasks_response__descriptor,
	&agentanycast__v1__subscribe_task_stream_response__descriptor,
	&agentanycast__v1__send_streaming_artifact_request__descriptor,
	&agentanycast__v1__get_node_info_response__descriptor,
	&agentanycast__v1__connect_peer_response__descriptor,
	&agentanycast__v1__discover_response__descriptor,
	&agentanycast__v1__complete_task_request__descriptor,
	&agentanycast__v1__update_task_status_request__descriptor,
	&agentanycast__v1__start_node_request__descriptor,
	&agentanycast__v1__register_skills_request__descriptor,
	&agentanycast__v1__discover_by_skill_response__descriptor,
	&agentanycast__v1__push_registrations_request__descriptor,
	&agentanycast__v1__error_detail__descriptor,
};

static const ProtobufCMessageDescriptor *type_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (strcmp(types[i]->short_name, name) == 0)
			return types[i];
	return NULL;
}

/* --- dump ------------------------------------------------------------------------------ */

static void print_escaped(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
			putchar(p[i]);
		else
			printf("\\x%02x", p[i]);
	}
}

/* Prints one scalar value held at `at` (a struct member or an array element). */
static void print_scalar(const ProtobufCFieldDescriptor *fd, const void *at)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_ENUM:
		printf("%d", *(const int32_t *)at);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		printf("%u", *(const uint32_t *)at);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		printf("%lld", (long long)*(const int64_t *)at);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		printf("%llu", (unsigned long long)*(const uint64_t *)at);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		printf("%d", *(const protobuf_c_boolean *)at ? 1 : 0);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		printf("%.9g", (double)*(const float *)at);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		printf("%.17g", *(const double *)at);
		break;
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)at;
		print_escaped((const uint8_t *)s, strlen(s));
		break;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = at;
		printf("0x");
		for (size_t i = 0; i < b->len; i++)
			printf("%02x", b->data[i]);
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		break;
	}
}

static bool scalar_is_default(const ProtobufCFieldDescriptor *fd, const void *at)
{
	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return *(const uint64_t *)at == 0;
	case PROTOBUF_C_TYPE_FLOAT:
		return *(const float *)at == 0;
	case PROTOBUF_C_TYPE_DOUBLE:
		return *(const double *)at == 0;
	case PROTOBUF_C_TYPE_STRING:
		return **(char *const *)at == 0;
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *)at)->len == 0;
	case PROTOBUF_C_TYPE_BOOL:
		return *(const protobuf_c_boolean *)at == 0;
	default: /* the 32-bit numbers and enums */
		return *(const uint32_t *)at == 0;
	}
}

static void dump(const ProtobufCMessage *m, const char *prefix);

/* A map field is a repeated message whose type is the synthetic "<Name>Entry" with
 * fields key (1) and value (2). */
static bool is_map(const ProtobufCFieldDescriptor *fd)
{
	if (fd->label != PROTOBUF_C_LABEL_REPEATED || fd->type != PROTOBUF_C_TYPE_MESSAGE)
		return false;
	const ProtobufCMessageDescriptor *d = fd->descriptor;
	size_t n = strlen(d->short_name);
	return d->n_fields == 2 && n > 5 && strcmp(d->short_name + n - 5, "Entry") == 0 &&
	       strcmp(d->fields[0].name, "key") == 0 && strcmp(d->fields[1].name, "value") == 0;
}

static const char *entry_key(const ProtobufCMessage *e)
{
	const ProtobufCFieldDescriptor *k = &e->descriptor->fields[0];
	return *(char *const *)((const char *)e + k->offset);
}

static int cmp_entries(const void *a, const void *b)
{
	return strcmp(entry_key(*(ProtobufCMessage *const *)a),
		      entry_key(*(ProtobufCMessage *const *)b));
}

/* One element (a present message, or a scalar) under path. */
static void dump_value(const ProtobufCFieldDescriptor *fd, const void *at, const char *path)
{
	if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
		printf("%s=<msg>\n", path);
		char *sub = aa_sprintf("%s.", path);
		dump(*(ProtobufCMessage *const *)at, sub);
		free(sub);
		return;
	}
	printf("%s=", path);
	print_scalar(fd, at);
	putchar('\n');
}

static void dump_map(const ProtobufCFieldDescriptor *fd, ProtobufCMessage **entries, size_t n,
		     const char *path)
{
	if (n == 0)
		return;
	ProtobufCMessage **sorted = aa_calloc(n, sizeof *sorted);
	memcpy(sorted, entries, n * sizeof *sorted);
	qsort(sorted, n, sizeof *sorted, cmp_entries);
	const ProtobufCMessageDescriptor *entry = fd->descriptor;
	const ProtobufCFieldDescriptor *vfd = &entry->fields[1];
	for (size_t i = 0; i < n; i++) {
		const char *key = entry_key(sorted[i]);
		/* The key goes through the same escaping as string values. */
		char *kp = NULL;
		size_t kn = 0;
		FILE *f = open_memstream(&kp, &kn);
		for (const char *c = key; *c; c++) {
			uint8_t b = (uint8_t)*c;
			if (b >= 0x20 && b < 0x7f && b != '\\')
				fputc(b, f);
			else
				fprintf(f, "\\x%02x", b);
		}
		fclose(f);
		char *p = aa_sprintf("%s{%s}", path, kp);
		const void *at = (const char *)sorted[i] + vfd->offset;
		if (vfd->type == PROTOBUF_C_TYPE_MESSAGE && !*(ProtobufCMessage *const *)at)
			printf("%s=<msg>\n", p); /* an absent value reads as the empty message */
		else
			dump_value(vfd, at, p);
		free(p);
		free(kp);
	}
	free(sorted);
}

static void dump(const ProtobufCMessage *m, const char *prefix)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[i];
		const char *base = (const char *)m;
		const void *at = base + fd->offset;
		char *path = aa_sprintf("%s%s", prefix, fd->name);
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + fd->quantifier_offset);
			const char *arr = *(char *const *)at;
			if (is_map(fd)) {
				dump_map(fd, (ProtobufCMessage **)arr, n, path);
			} else {
				size_t el = fd->type == PROTOBUF_C_TYPE_MESSAGE ||
						    fd->type == PROTOBUF_C_TYPE_STRING
						    ? sizeof(void *)
					    : fd->type == PROTOBUF_C_TYPE_BYTES
						    ? sizeof(ProtobufCBinaryData)
					    : fd->type == PROTOBUF_C_TYPE_BOOL
						    ? sizeof(protobuf_c_boolean)
					    : fd->type == PROTOBUF_C_TYPE_DOUBLE ||
							    fd->type == PROTOBUF_C_TYPE_INT64 ||
							    fd->type == PROTOBUF_C_TYPE_UINT64 ||
							    fd->type == PROTOBUF_C_TYPE_SINT64 ||
							    fd->type == PROTOBUF_C_TYPE_FIXED64 ||
							    fd->type == PROTOBUF_C_TYPE_SFIXED64
						    ? 8
						    : 4;
				for (size_t k = 0; k < n; k++) {
					char *ep = aa_sprintf("%s[%zu]", path, k);
					dump_value(fd, arr + k * el, ep);
					free(ep);
				}
			}
		} else if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			if (*(const uint32_t *)(base + fd->quantifier_offset) == fd->id)
				dump_value(fd, at, path);
		} else if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
			if (*(ProtobufCMessage *const *)at)
				dump_value(fd, at, path);
		} else if (!scalar_is_default(fd, at)) {
			dump_value(fd, at, path);
		}
		free(path);
	}
}

/* --- sample messages ------------------------------------------------------------------- */

/* Everything a sample allocates, freed in one go at exit (so leak checkers stay quiet). */
static void **arena;
static size_t arena_n;

static void *arena_new(size_t size)
{
	void *p = aa_calloc(1, size);
	arena = aa_realloc(arena, (arena_n + 1) * sizeof *arena);
	arena[arena_n++] = p;
	return p;
}

static void arena_free(void)
{
	for (size_t i = 0; i < arena_n; i++)
		free(arena[i]);
	free(arena);
}

/* A new message of the given C type, initialised from its descriptor. */
static void *new_message(size_t size, const ProtobufCMessageDescriptor *d)
{
	void *m = arena_new(size);
	protobuf_c_message_init(d, m);
	return m;
}

#define NEW(type, desc) ((type *)new_message(sizeof(type), &(desc)))
#define ARRAY(type, n) ((type *)arena_new((n) * sizeof(type)))

static Google__Protobuf__Timestamp *ts_ms(int64_t ms)
{
	Google__Protobuf__Timestamp *t =
		NEW(Google__Protobuf__Timestamp, google__protobuf__timestamp__descriptor);
	a2a_pb_timestamp_set(t, ms);
	return t;
}

static Agentanycast__V1__Part *text_part(const char *text)
{
	Agentanycast__V1__TextPart *t = NEW(Agentanycast__V1__TextPart,
					    agentanycast__v1__text_part__descriptor);
	t->text = (char *)text;
	Agentanycast__V1__Part *p = NEW(Agentanycast__V1__Part, agentanycast__v1__part__descriptor);
	p->content_case = AGENTANYCAST__V1__PART__CONTENT_TEXT_PART;
	p->text_part = t;
	return p;
}

static Google__Protobuf__Value *value_new(void)
{
	return NEW(Google__Protobuf__Value, google__protobuf__value__descriptor);
}

/* {"num": -2.25, "str": "snöw ☃", "flag": true, "none": null, "list": [1, "x"],
 *  "obj": {"deep": false}} */
static Google__Protobuf__Struct *sample_struct(void)
{
	Google__Protobuf__Value *num = value_new(), *str = value_new(), *flag = value_new(),
				*none = value_new(), *list = value_new(), *obj = value_new(),
				*one = value_new(), *x = value_new(), *deep = value_new();
	num->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
	num->number_value = -2.25;
	str->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
	str->string_value = "sn\xc3\xb6w \xe2\x98\x83";
	flag->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE;
	flag->bool_value = 1;
	none->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE;
	one->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
	one->number_value = 1;
	x->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
	x->string_value = "x";
	Google__Protobuf__ListValue *lv = NEW(Google__Protobuf__ListValue,
					      google__protobuf__list_value__descriptor);
	lv->n_values = 2;
	lv->values = ARRAY(Google__Protobuf__Value *, 2);
	lv->values[0] = one;
	lv->values[1] = x;
	list->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE;
	list->list_value = lv;
	deep->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE;
	deep->bool_value = 0;

	Google__Protobuf__Struct *inner = NEW(Google__Protobuf__Struct,
					      google__protobuf__struct__descriptor);
	inner->n_fields = 1;
	inner->fields = ARRAY(Google__Protobuf__Struct__FieldsEntry *, 1);
	inner->fields[0] = NEW(Google__Protobuf__Struct__FieldsEntry,
			       google__protobuf__struct__fields_entry__descriptor);
	inner->fields[0]->key = "deep";
	inner->fields[0]->value = deep;
	obj->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE;
	obj->struct_value = inner;

	const char *keys[] = { "num", "str", "flag", "none", "list", "obj" };
	Google__Protobuf__Value *vals[] = { num, str, flag, none, list, obj };
	Google__Protobuf__Struct *s = NEW(Google__Protobuf__Struct, google__protobuf__struct__descriptor);
	s->n_fields = 6;
	s->fields = ARRAY(Google__Protobuf__Struct__FieldsEntry *, 6);
	for (int i = 0; i < 6; i++) {
		s->fields[i] = NEW(Google__Protobuf__Struct__FieldsEntry,
				   google__protobuf__struct__fields_entry__descriptor);
		s->fields[i]->key = (char *)keys[i];
		s->fields[i]->value = vals[i];
	}
	return s;
}

/* A message with one part of each kind. */
static Agentanycast__V1__Message *sample_message(const char *id)
{
	static uint8_t bin[] = { 0x00, 0x80, 0xff };
	Agentanycast__V1__Part *text = text_part("hello, w\xc3\xb6rld");
	text->media_type = "text/plain";
	text->n_metadata = 2;
	text->metadata = ARRAY(Agentanycast__V1__Part__MetadataEntry *, 2);
	for (int i = 0; i < 2; i++)
		text->metadata[i] = NEW(Agentanycast__V1__Part__MetadataEntry,
					agentanycast__v1__part__metadata_entry__descriptor);
	/* Out of key order on purpose: the dump sorts map entries. */
	text->metadata[0]->key = "z-key";
	text->metadata[0]->value = "last";
	text->metadata[1]->key = "lang";
	text->metadata[1]->value = "en";

	Agentanycast__V1__DataPart *dp = NEW(Agentanycast__V1__DataPart,
					     agentanycast__v1__data_part__descriptor);
	dp->data = sample_struct();
	Agentanycast__V1__Part *data = NEW(Agentanycast__V1__Part, agentanycast__v1__part__descriptor);
	data->content_case = AGENTANYCAST__V1__PART__CONTENT_DATA_PART;
	data->data_part = dp;
	data->media_type = "application/json";

	Agentanycast__V1__UrlPart *up = NEW(Agentanycast__V1__UrlPart,
					    agentanycast__v1__url_part__descriptor);
	up->url = "https://example.com/report.pdf";
	up->filename = "report.pdf";
	Agentanycast__V1__Part *url = NEW(Agentanycast__V1__Part, agentanycast__v1__part__descriptor);
	url->content_case = AGENTANYCAST__V1__PART__CONTENT_URL_PART;
	url->url_part = up;

	Agentanycast__V1__RawPart *rp = NEW(Agentanycast__V1__RawPart,
					    agentanycast__v1__raw_part__descriptor);
	rp->data.data = bin;
	rp->data.len = sizeof bin;
	rp->filename = "blob.bin";
	Agentanycast__V1__Part *raw = NEW(Agentanycast__V1__Part, agentanycast__v1__part__descriptor);
	raw->content_case = AGENTANYCAST__V1__PART__CONTENT_RAW_PART;
	raw->raw_part = rp;

	Agentanycast__V1__Message *m = NEW(Agentanycast__V1__Message,
					   agentanycast__v1__message__descriptor);
	m->message_id = (char *)id;
	m->role = AGENTANYCAST__V1__MESSAGE_ROLE__MESSAGE_ROLE_AGENT;
	m->n_parts = 4;
	m->parts = ARRAY(Agentanycast__V1__Part *, 4);
	m->parts[0] = text;
	m->parts[1] = data;
	m->parts[2] = url;
	m->parts[3] = raw;
	m->created_at = ts_ms(INT64_C(1712345678901));
	return m;
}

static Agentanycast__V1__Artifact *sample_artifact(void)
{
	Agentanycast__V1__Artifact *a = NEW(Agentanycast__V1__Artifact,
					    agentanycast__v1__artifact__descriptor);
	a->artifact_id = "art-1";
	a->name = "result";
	a->n_parts = 1;
	a->parts = ARRAY(Agentanycast__V1__Part *, 1);
	a->parts[0] = text_part("done");
	return a;
}

static Agentanycast__V1__AgentCard *sample_card(void)
{
	static char *transports[] = { "tcp", "quic" };
	static char *relays[] = { "/ip4/203.0.113.7/tcp/4001/p2p/12D3KooWRelay" };
	static char *vcs[] = { "vc-1" };
	Agentanycast__V1__P2PExtension *x = NEW(Agentanycast__V1__P2PExtension,
						agentanycast__v1__p2_pextension__descriptor);
	x->peer_id = "12D3KooWC";
	x->n_supported_transports = 2;
	x->supported_transports = transports;
	x->n_relay_addresses = 1;
	x->relay_addresses = relays;
	x->did_key = "did:key:z6MkC";
	x->did_web = "did:web:c.example";
	x->did_dns = "c.example";
	x->n_verifiable_credentials = 1;
	x->verifiable_credentials = vcs;
	Agentanycast__V1__Skill *s = NEW(Agentanycast__V1__Skill, agentanycast__v1__skill__descriptor);
	s->id = "translate";
	s->description = "Translates text";
	s->input_schema = "{\"type\":\"object\"}";
	s->output_schema = "{\"type\":\"string\"}";
	Agentanycast__V1__AgentCard *c = NEW(Agentanycast__V1__AgentCard,
					     agentanycast__v1__agent_card__descriptor);
	c->name = "c-agent \xe2\x98\x83";
	c->description = "made by C";
	c->version = "1.2.3";
	c->protocol_version = "a2a/0.3";
	c->n_skills = 1;
	c->skills = ARRAY(Agentanycast__V1__Skill *, 1);
	c->skills[0] = s;
	c->p2p_extension = x;
	return c;
}

static Agentanycast__V1__Task *sample_task(void)
{
	Agentanycast__V1__Task *t = NEW(Agentanycast__V1__Task, agentanycast__v1__task__descriptor);
	t->task_id = "c-task-1";
	t->context_id = "ctx-1";
	t->status = AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_REJECTED;
	t->n_messages = 1;
	t->messages = ARRAY(Agentanycast__V1__Message *, 1);
	t->messages[0] = sample_message("c-msg-1");
	t->n_artifacts = 1;
	t->artifacts = ARRAY(Agentanycast__V1__Artifact *, 1);
	t->artifacts[0] = sample_artifact();
	t->created_at = ts_ms(-1500); /* before the epoch: seconds -2, nanos 500000000 */
	t->updated_at = ts_ms(INT64_C(1712345679000));
	t->target_skill_id = "translate";
	t->originator_peer_id = "local";
	return t;
}

static Agentanycast__V1__A2AEnvelope *envelope(Agentanycast__V1__EnvelopeType type)
{
	Agentanycast__V1__A2AEnvelope *e = NEW(Agentanycast__V1__A2AEnvelope,
					       agentanycast__v1__a2_aenvelope__descriptor);
	e->envelope_id = "c-env-1";
	e->type = type;
	e->timestamp = ts_ms(INT64_C(1712345678901));
	return e;
}

static ProtobufCMessage *case_envelope_send_task(void)
{
	Agentanycast__V1__A2AEnvelope *e = envelope(
		AGENTANYCAST__V1__ENVELOPE_TYPE__ENVELOPE_TYPE_SEND_TASK);
	Agentanycast__V1__SendTaskPayload *p = NEW(Agentanycast__V1__SendTaskPayload,
						   agentanycast__v1__send_task_payload__descriptor);
	p->task_id = "c-task-1";
	p->context_id = "ctx-1";
	p->message = sample_message("c-msg-1");
	p->target_skill_id = "translate";
	e->payload_case = AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_SEND_TASK;
	e->send_task = p;
	e->trace_parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
	e->trace_state = "k=v";
	return &e->base;
}

static ProtobufCMessage *case_envelope_ack(void)
{
	Agentanycast__V1__A2AEnvelope *e = envelope(AGENTANYCAST__V1__ENVELOPE_TYPE__ENVELOPE_TYPE_ACK);
	Agentanycast__V1__AckPayload *p = NEW(Agentanycast__V1__AckPayload,
					      agentanycast__v1__ack_payload__descriptor);
	p->acknowledged_envelope_id = "c-env-0";
	e->payload_case = AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_ACK;
	e->ack = p;
	return &e->base;
}

static ProtobufCMessage *case_envelope_task_complete(void)
{
	Agentanycast__V1__A2AEnvelope *e = envelope(
		AGENTANYCAST__V1__ENVELOPE_TYPE__ENVELOPE_TYPE_TASK_COMPLETE);
	Agentanycast__V1__TaskCompletePayload *p = NEW(
		Agentanycast__V1__TaskCompletePayload, agentanycast__v1__task_complete_payload__descriptor);
	p->task_id = "c-task-1";
	p->n_artifacts = 1;
	p->artifacts = ARRAY(Agentanycast__V1__Artifact *, 1);
	p->artifacts[0] = sample_artifact();
	p->message = sample_message("c-msg-2");
	e->payload_case = AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_TASK_COMPLETE;
	e->task_complete = p;
	return &e->base;
}

static ProtobufCMessage *case_envelope_task_fail(void)
{
	Agentanycast__V1__A2AEnvelope *e = envelope(
		AGENTANYCAST__V1__ENVELOPE_TYPE__ENVELOPE_TYPE_TASK_FAIL);
	Agentanycast__V1__TaskFailPayload *p = NEW(Agentanycast__V1__TaskFailPayload,
						   agentanycast__v1__task_fail_payload__descriptor);
	p->task_id = "c-task-1";
	p->error_message = "boom \xe2\x9c\x97";
	e->payload_case = AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_TASK_FAIL;
	e->task_fail = p;
	return &e->base;
}

static ProtobufCMessage *case_envelope_status_update(void)
{
	Agentanycast__V1__A2AEnvelope *e = envelope(
		AGENTANYCAST__V1__ENVELOPE_TYPE__ENVELOPE_TYPE_TASK_STATUS_UPDATE);
	Agentanycast__V1__TaskStatusUpdatePayload *p =
		NEW(Agentanycast__V1__TaskStatusUpdatePayload,
		    agentanycast__v1__task_status_update_payload__descriptor);
	p->task_id = "c-task-1";
	p->status = AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_INPUT_REQUIRED;
	Agentanycast__V1__Message *m = NEW(Agentanycast__V1__Message,
					   agentanycast__v1__message__descriptor);
	m->role = AGENTANYCAST__V1__MESSAGE_ROLE__MESSAGE_ROLE_USER;
	p->message = m;
	e->payload_case = AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_TASK_STATUS_UPDATE;
	e->task_status_update = p;
	return &e->base;
}

static ProtobufCMessage *case_envelope_stream_chunk(void)
{
	static uint8_t data[] = { 0x00, 0x01, 0xfe };
	Agentanycast__V1__A2AEnvelope *e = envelope(
		AGENTANYCAST__V1__ENVELOPE_TYPE__ENVELOPE_TYPE_STREAM_CHUNK);
	Agentanycast__V1__StreamChunk *c = NEW(Agentanycast__V1__StreamChunk,
					       agentanycast__v1__stream_chunk__descriptor);
	c->task_id = "c-task-1";
	c->artifact_id = "art-1";
	c->sequence = -1;
	c->data.data = data;
	c->data.len = sizeof data;
	c->is_last = 1;
	e->payload_case = AGENTANYCAST__V1__A2_AENVELOPE__PAYLOAD_STREAM_CHUNK;
	e->stream_chunk = c;
	return &e->base;
}

static ProtobufCMessage *case_card(void)
{
	return &sample_card()->base;
}

static ProtobufCMessage *case_task(void)
{
	return &sample_task()->base;
}

static Agentanycast__V1__SendTaskRequest *send_request(void)
{
	Agentanycast__V1__SendTaskRequest *r = NEW(Agentanycast__V1__SendTaskRequest,
						   agentanycast__v1__send_task_request__descriptor);
	r->message = sample_message("c-msg-3");
	r->n_metadata = 2;
	r->metadata = ARRAY(Agentanycast__V1__SendTaskRequest__MetadataEntry *, 2);
	for (int i = 0; i < 2; i++)
		r->metadata[i] = NEW(Agentanycast__V1__SendTaskRequest__MetadataEntry,
				     agentanycast__v1__send_task_request__metadata_entry__descriptor);
	r->metadata[0]->key = "priority";
	r->metadata[0]->value = "high";
	r->metadata[1]->key = "a\\b";
	r->metadata[1]->value = "";
	r->transport_hint = "libp2p";
	return r;
}

static ProtobufCMessage *case_send_task_peer(void)
{
	Agentanycast__V1__SendTaskRequest *r = send_request();
	r->target_case = AGENTANYCAST__V1__SEND_TASK_REQUEST__TARGET_PEER_ID;
	r->peer_id = "12D3KooWPeer";
	return &r->base;
}

static ProtobufCMessage *case_send_task_skill(void)
{
	Agentanycast__V1__SendTaskRequest *r = send_request();
	r->target_case = AGENTANYCAST__V1__SEND_TASK_REQUEST__TARGET_SKILL_ID;
	r->skill_id = "translate";
	return &r->base;
}

static ProtobufCMessage *case_send_task_url(void)
{
	Agentanycast__V1__SendTaskRequest *r = send_request();
	r->target_case = AGENTANYCAST__V1__SEND_TASK_REQUEST__TARGET_URL;
	r->url = ""; /* a set but empty oneof member still counts */
	return &r->base;
}

static ProtobufCMessage *case_stream_start(void)
{
	Agentanycast__V1__StreamStart *s = NEW(Agentanycast__V1__StreamStart,
					       agentanycast__v1__stream_start__descriptor);
	s->task_id = "c-task-1";
	s->artifact_id = "art-1";
	s->artifact_name = "out.txt";
	s->media_type = "text/plain";
	s->total_chunks = 7;
	s->n_metadata = 1;
	s->metadata = ARRAY(Agentanycast__V1__StreamStart__MetadataEntry *, 1);
	s->metadata[0] = NEW(Agentanycast__V1__StreamStart__MetadataEntry,
			     agentanycast__v1__stream_start__metadata_entry__descriptor);
	s->metadata[0]->key = "encoding";
	s->metadata[0]->value = "utf-8";
	Agentanycast__V1__SubscribeTaskStreamResponse *r =
		NEW(Agentanycast__V1__SubscribeTaskStreamResponse,
		    agentanycast__v1__subscribe_task_stream_response__descriptor);
	r->event_case = AGENTANYCAST__V1__SUBSCRIBE_TASK_STREAM_RESPONSE__EVENT_STREAM_START;
	r->stream_start = s;
	return &r->base;
}

static ProtobufCMessage *case_stream_end(void)
{
	Agentanycast__V1__StreamEnd *s = NEW(Agentanycast__V1__StreamEnd,
					     agentanycast__v1__stream_end__descriptor);
	s->task_id = "c-task-1";
	s->artifact_id = "art-1";
	s->reason = AGENTANYCAST__V1__STREAM_END_REASON__STREAM_END_REASON_ERROR;
	Agentanycast__V1__SendStreamingArtifactRequest *r =
		NEW(Agentanycast__V1__SendStreamingArtifactRequest,
		    agentanycast__v1__send_streaming_artifact_request__descriptor);
	r->event_case = AGENTANYCAST__V1__SEND_STREAMING_ARTIFACT_REQUEST__EVENT_STREAM_END;
	r->stream_end = s;
	return &r->base;
}

static ProtobufCMessage *case_incoming(void)
{
	Agentanycast__V1__SubscribeIncomingTasksResponse *r =
		NEW(Agentanycast__V1__SubscribeIncomingTasksResponse,
		    agentanycast__v1__subscribe_incoming_tasks_response__descriptor);
	r->task = sample_task();
	r->sender_card = sample_card();
	return &r->base;
}

static ProtobufCMessage *case_updates(void)
{
	Agentanycast__V1__SubscribeTaskUpdatesResponse *r =
		NEW(Agentanycast__V1__SubscribeTaskUpdatesResponse,
		    agentanycast__v1__subscribe_task_updates_response__descriptor);
	r->task_id = "c-task-1";
	r->status = AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_COMPLETED;
	r->message = sample_message("c-msg-4");
	r->n_artifacts = 1;
	r->artifacts = ARRAY(Agentanycast__V1__Artifact *, 1);
	r->artifacts[0] = sample_artifact();
	return &r->base;
}

static Agentanycast__V1__SkillInfo *skill_info(void)
{
	Agentanycast__V1__SkillInfo *s = NEW(Agentanycast__V1__SkillInfo,
					     agentanycast__v1__skill_info__descriptor);
	s->skill_id = "translate";
	s->description = "Translates text";
	s->n_tags = 2;
	s->tags = ARRAY(Agentanycast__V1__SkillInfo__TagsEntry *, 2);
	for (int i = 0; i < 2; i++)
		s->tags[i] = NEW(Agentanycast__V1__SkillInfo__TagsEntry,
				 agentanycast__v1__skill_info__tags_entry__descriptor);
	s->tags[0]->key = "lang";
	s->tags[0]->value = "de";
	s->tags[1]->key = "cost";
	s->tags[1]->value = "free";
	return s;
}

static ProtobufCMessage *case_discover(void)
{
	Agentanycast__V1__DiscoveredAgent *a = NEW(Agentanycast__V1__DiscoveredAgent,
						   agentanycast__v1__discovered_agent__descriptor);
	a->peer_id = "12D3KooWD";
	a->agent_name = "d-agent";
	a->agent_description = "discovered";
	a->n_skills = 1;
	a->skills = ARRAY(Agentanycast__V1__SkillInfo *, 1);
	a->skills[0] = skill_info();
	Agentanycast__V1__DiscoverResponse *r = NEW(Agentanycast__V1__DiscoverResponse,
						    agentanycast__v1__discover_response__descriptor);
	r->n_agents = 1;
	r->agents = ARRAY(Agentanycast__V1__DiscoveredAgent *, 1);
	r->agents[0] = a;
	return &r->base;
}

static ProtobufCMessage *case_node_info(void)
{
	static char *addrs[] = { "/ip4/127.0.0.1/tcp/4001", "/ip6/::1/tcp/4001" };
	Agentanycast__V1__NodeInfo *n = NEW(Agentanycast__V1__NodeInfo,
					    agentanycast__v1__node_info__descriptor);
	n->peer_id = "12D3KooWSelf";
	n->n_listen_addresses = 2;
	n->listen_addresses = addrs;
	n->nat_type = AGENTANYCAST__V1__NATTYPE__NAT_TYPE_PUBLIC;
	n->connected_peers = 3;
	n->started_at = ts_ms(INT64_C(1712345600000));
	n->version = "0.1.0";
	Agentanycast__V1__GetNodeInfoResponse *r = NEW(Agentanycast__V1__GetNodeInfoResponse,
						       agentanycast__v1__get_node_info_response__descriptor);
	r->node_info = n;
	return &r->base;
}

static ProtobufCMessage *case_federated(void)
{
	Agentanycast__V1__FederatedRegistration *f =
		NEW(Agentanycast__V1__FederatedRegistration,
		    agentanycast__v1__federated_registration__descriptor);
	f->peer_id = "12D3KooWF";
	f->origin_relay_id = "relay-a";
	f->n_skills = 1;
	f->skills = ARRAY(Agentanycast__V1__SkillInfo *, 1);
	f->skills[0] = skill_info();
	f->agent_name = "f-agent";
	f->registered_at = ts_ms(1000);
	f->expires_at = ts_ms(31000);
	f->version = UINT64_MAX;
	Agentanycast__V1__PushRegistrationsRequest *r =
		NEW(Agentanycast__V1__PushRegistrationsRequest,
		    agentanycast__v1__push_registrations_request__descriptor);
	r->relay_id = "relay-b";
	r->n_registrations = 1;
	r->registrations = ARRAY(Agentanycast__V1__FederatedRegistration *, 1);
	r->registrations[0] = f;
	return &r->base;
}

static const struct {
	const char *name;
	const char *type;
	ProtobufCMessage *(*build)(void);
} cases[] = {
	{ "envelope_send_task", "A2AEnvelope", case_envelope_send_task },
	{ "envelope_ack", "A2AEnvelope", case_envelope_ack },
	{ "envelope_task_complete", "A2AEnvelope", case_envelope_task_complete },
	{ "envelope_task_fail", "A2AEnvelope", case_envelope_task_fail },
	{ "envelope_status_update", "A2AEnvelope", case_envelope_status_update },
	{ "envelope_stream_chunk", "A2AEnvelope", case_envelope_stream_chunk },
	{ "card", "AgentCard", case_card },
	{ "task", "Task", case_task },
	{ "send_task_peer", "SendTaskRequest", case_send_task_peer },
	{ "send_task_skill", "SendTaskRequest", case_send_task_skill },
	{ "send_task_url", "SendTaskRequest", case_send_task_url },
	{ "stream_start", "SubscribeTaskStreamResponse", case_stream_start },
	{ "stream_end", "SendStreamingArtifactRequest", case_stream_end },
	{ "incoming", "SubscribeIncomingTasksResponse", case_incoming },
	{ "updates", "SubscribeTaskUpdatesResponse", case_updates },
	{ "discover", "DiscoverResponse", case_discover },
	{ "node_info", "GetNodeInfoResponse", case_node_info },
	{ "federated", "PushRegistrationsRequest", case_federated },
};

/* --- commands -------------------------------------------------------------------------- */

static int cmd_encode(const char *name, const char *path)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (strcmp(cases[i].name, name) != 0)
			continue;
		struct aa_buf b;
		aa_buf_init(&b);
		a2a_pb_pack(cases[i].build(), &b);
		FILE *f = fopen(path, "wb");
		int rc = f && fwrite(b.p, 1, b.n, f) == b.n ? 0 : 1;
		if (f && fclose(f) != 0)
			rc = 1;
		if (rc)
			perror(path);
		aa_buf_free(&b);
		arena_free();
		return rc;
	}
	fprintf(stderr, "aa-pbcheck: no case %s\n", name);
	return 2;
}

static int cmd_decode(const char *type, const char *path)
{
	const ProtobufCMessageDescriptor *d = type_by_name(type);
	if (!d) {
		fprintf(stderr, "aa-pbcheck: unknown type %s\n", type);
		return 2;
	}
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return 1;
	}
	struct aa_buf b;
	aa_buf_init(&b);
	uint8_t chunk[4096];
	size_t got;
	while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
		aa_buf_append(&b, chunk, got);
	fclose(f);
	int err;
	char why[160];
	ProtobufCMessage *m = a2a_pb_unpack(d, aa_slice_make(b.p, b.n), NULL, &err, why,
					    sizeof why);
	aa_buf_free(&b);
	if (!m) {
		fprintf(stderr, "aa-pbcheck: %s: %s (%s)\n", path, why, aa_strerror(err));
		return 1;
	}
	dump(m, "");
	a2a_pb_free(m);
	return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "cases") == 0) {
		for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
			printf("%s %s\n", cases[i].name, cases[i].type);
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "encode") == 0)
		return cmd_encode(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "decode") == 0)
		return cmd_decode(argv[2], argv[3]);
	fprintf(stderr, "usage: aa-pbcheck cases | encode CASE FILE | decode TYPE FILE\n");
	return 2;
}
