/* Unit tests for http/a2a_json: the A2A JSON-RPC wire (A2A-HTTP.md, v0.3 and v1.0) and the
 * legacy tasks/send (REFERENCE.md F.3) to and from agentanycast.v1 protobuf trees.
 *
 * The request and reply fixtures are what @a2a-js/sdk 1.3.0 actually put on the wire: its
 * client (v1.0 JsonRpcTransport and v0.3 LegacyJsonRpcTransport) and its express server with
 * legacyCompat, captured once with a throwaway script. Rendered JSON is compared as text
 * after json_dumps(JSON_SORT_KEYS | JSON_COMPACT) of both sides. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "a2a/pb.h"
#include "base/mem.h"
#include "google/protobuf/struct.pb-c.h"
#include "http/a2a_json.h"

/* JSON text without backslash soup: J({"a":"b"}) is the string "{\"a\":\"b\"}". */
#define J(...) #__VA_ARGS__

#define ROLE_USER AGENTANYCAST__V1__MESSAGE_ROLE__MESSAGE_ROLE_USER
#define ROLE_AGENT AGENTANYCAST__V1__MESSAGE_ROLE__MESSAGE_ROLE_AGENT
#define STATE(x) AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_##x
#define CONTENT(x) AGENTANYCAST__V1__PART__CONTENT_##x

/* ---- fixtures captured from the SDK -------------------------------------------------- */

/* v1.0 client, SendMessage with returnImmediately and every part kind. */
static const char sdk_v10_send[] = J({"jsonrpc":"2.0","method":"SendMessage","params":{
	"message":{"messageId":"m1","contextId":"c1","role":"ROLE_USER","parts":[
	{"text":"hello"},
	{"raw":"YWJj","filename":"f.bin","mediaType":"application/octet-stream"},
	{"url":"http://x/y","filename":"y.txt","mediaType":"text/plain"},
	{"data":{"a":1,"b":[true,null]}},
	{"data":42}],
	"metadata":{"skillId":"echo"}},
	"configuration":{"returnImmediately":true}},"id":1});

/* v0.3 client, the same message through message/send. */
static const char sdk_v03_send[] = J({"id":1,"jsonrpc":"2.0","method":"message/send","params":{
	"message":{"kind":"message","messageId":"m1","role":"user","parts":[
	{"kind":"text","text":"hello"},
	{"kind":"file","file":{"bytes":"YWJj","mimeType":"application/octet-stream","name":"f.bin"}},
	{"kind":"file","file":{"uri":"http://x/y","mimeType":"text/plain","name":"y.txt"}},
	{"kind":"data","data":{"a":1,"b":[true,null]}},
	{"kind":"data","data":{"value":42},"metadata":{"data_part_compat":true}}],
	"contextId":"c1","metadata":{"skillId":"echo"}},
	"configuration":{"blocking":true,"acceptedOutputModes":[]}}});

/* SDK server, v1.0 SendMessage reply (ids shortened). */
static const char sdk_v10_send_reply[] = J({"jsonrpc":"2.0","id":1,"result":{"task":{
	"id":"t1","contextId":"c1","status":{"state":"TASK_STATE_COMPLETED","message":{
	"messageId":"am2","contextId":"c1","taskId":"t1","role":"ROLE_AGENT",
	"parts":[{"text":"done"}]},"timestamp":"2026-11-25T10:00:00.123Z"},
	"artifacts":[{"artifactId":"a1","name":"out","parts":[{"text":"hi"},{"data":7},
	{"url":"http://x/y","filename":"y","mediaType":"text/plain"}]}],
	"history":[{"messageId":"m1","contextId":"c1","taskId":"t1","role":"ROLE_USER",
	"parts":[{"text":"hello"},{"data":5}]}]}}});

/* SDK server, v0.3 message/send reply. */
static const char sdk_v03_send_reply[] = J({"jsonrpc":"2.0","id":"x1","result":{"kind":"task",
	"id":"t1","contextId":"c1","status":{"state":"completed","message":{"kind":"message",
	"messageId":"am2","role":"agent","parts":[{"kind":"text","text":"done"}],"contextId":"c1",
	"taskId":"t1"},"timestamp":"2026-11-25T10:00:00.123Z"},"history":[{"kind":"message",
	"messageId":"m2","role":"user","parts":[{"kind":"text","text":"hello"}],"contextId":"c1",
	"taskId":"t1"}],"artifacts":[{"artifactId":"a1","parts":[{"kind":"text","text":"hi"},
	{"kind":"data","data":{"value":7},"metadata":{"data_part_compat":true}},
	{"kind":"file","file":{"uri":"http://x/y","mimeType":"text/plain","name":"y"}}],
	"name":"out"}]}});

/* SDK server SSE events (the data of each), v1.0 then v0.3. */
static const char sdk_v10_status[] = J({"jsonrpc":"2.0","id":2,"result":{"statusUpdate":{
	"taskId":"t1","contextId":"c1","status":{"state":"TASK_STATE_WORKING","message":{
	"messageId":"am1","contextId":"c1","taskId":"t1","role":"ROLE_AGENT",
	"parts":[{"text":"working"}]},"timestamp":"2026-11-25T10:00:00.123Z"}}}});
static const char sdk_v10_artifact[] = J({"jsonrpc":"2.0","id":2,"result":{"artifactUpdate":{
	"taskId":"t1","contextId":"c1","artifact":{"artifactId":"a1","name":"out","parts":[
	{"text":"hi"},{"data":7},{"url":"http://x/y","filename":"y","mediaType":"text/plain"}]},
	"lastChunk":true}}});
static const char sdk_v03_status_final[] = J({"id":3,"jsonrpc":"2.0","result":{
	"kind":"status-update","taskId":"t1","contextId":"c1","status":{"state":"completed",
	"message":{"kind":"message","messageId":"am2","role":"agent","parts":[{"kind":"text",
	"text":"done"}],"contextId":"c1","taskId":"t1"},"timestamp":"2026-11-25T10:00:00.123Z"},
	"final":true}});
static const char sdk_v03_artifact[] = J({"id":3,"jsonrpc":"2.0","result":{
	"kind":"artifact-update","taskId":"t1","contextId":"c1","artifact":{"artifactId":"a1",
	"parts":[{"kind":"text","text":"hi"},{"kind":"data","data":{"value":7},
	"metadata":{"data_part_compat":true}},{"kind":"file","file":{"uri":"http://x/y",
	"mimeType":"text/plain","name":"y"}}],"name":"out"},"append":false,"lastChunk":true}});

/* SDK server agent cards: with A2A-Version 1.0, and without (v0.3 plus the v1 interfaces). */
static const char sdk_card_v10[] = J({"name":"echo","description":"echo agent","version":"1.2.3",
	"supportedInterfaces":[{"url":"http://127.0.0.1:18555/a2a","protocolBinding":"JSONRPC",
	"protocolVersion":"1.0","tenant":""},{"url":"http://127.0.0.1:18555/a2a",
	"protocolBinding":"JSONRPC","protocolVersion":"0.3","tenant":""}],
	"capabilities":{"streaming":true,"pushNotifications":false,"extensions":[]},
	"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain"],
	"skills":[{"id":"echo","name":"echo","description":"echoes","tags":[]}]});
static const char sdk_card_v03_only[] = J({"name":"echo","description":"echo agent",
	"version":"1.2.3","url":"http://127.0.0.1:18555/a2a","preferredTransport":"JSONRPC",
	"protocolVersion":"0.3","capabilities":{"streaming":false},
	"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain"],
	"skills":[{"id":"echo","name":"echo","description":"echoes","tags":[]}]});

/* ---- helpers ------------------------------------------------------------------------ */

/* Compares j (consumed) with the expected JSON text, both dumped sorted and compact. */
static void assert_json_eq(json_t *j, const char *want)
{
	json_error_t e;
	json_t *w = json_loads(want, JSON_DECODE_ANY, &e);
	if (!w)
		print_error("bad expected JSON: %s\n", e.text);
	assert_non_null(w);
	assert_non_null(j);
	char *got = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
	char *exp = json_dumps(w, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
	if (strcmp(got, exp) != 0)
		print_error("got:  %s\nwant: %s\n", got, exp);
	assert_string_equal(got, exp);
	free(got);
	free(exp);
	json_decref(w);
	json_decref(j);
}

static int parse(const char *body, const char *version, struct a2a_request *r,
		 struct a2a_json_error *err)
{
	return a2a_request_parse(body, strlen(body), version, r, err);
}

/* Parses a body that must fail with code; the id echoed must be want_id (JSON text). */
static void assert_request_fails(const char *body, const char *version, int code,
				 const char *want_id)
{
	struct a2a_request r;
	struct a2a_json_error err = { 0 };
	int rc = parse(body, version, &r, &err);
	if (rc != code)
		print_error("%s: got %d (%s), want %d\n", body, rc, err.message, code);
	assert_int_equal(rc, code);
	assert_int_equal(err.code, code);
	assert_true(err.message[0] != 0);
	assert_null(r.message);
	assert_null(r.task_id);
	assert_json_eq(json_incref(r.id), want_id);
	a2a_request_free(&r);
}

static void assert_request_ok(const char *body, const char *version, struct a2a_request *r)
{
	struct a2a_json_error err = { 0 };
	int rc = parse(body, version, r, &err);
	if (rc != 0)
		print_error("%s: %d %s\n", body, rc, err.message);
	assert_int_equal(rc, 0);
}

static Agentanycast__V1__Part *text_part(const char *text)
{
	Agentanycast__V1__Part *p = aa_malloc(sizeof *p);
	agentanycast__v1__part__init(p);
	Agentanycast__V1__TextPart *t = aa_malloc(sizeof *t);
	agentanycast__v1__text_part__init(t);
	t->text = aa_strdup(text);
	p->content_case = CONTENT(TEXT_PART);
	p->text_part = t;
	return p;
}

static Agentanycast__V1__Part *url_part(const char *url, const char *filename, const char *media)
{
	Agentanycast__V1__Part *p = aa_malloc(sizeof *p);
	agentanycast__v1__part__init(p);
	Agentanycast__V1__UrlPart *u = aa_malloc(sizeof *u);
	agentanycast__v1__url_part__init(u);
	u->url = aa_strdup(url);
	u->filename = aa_strdup(filename);
	p->content_case = CONTENT(URL_PART);
	p->url_part = u;
	p->media_type = aa_strdup(media);
	return p;
}

static Agentanycast__V1__Part *raw_part(const char *bytes, const char *filename, const char *media)
{
	Agentanycast__V1__Part *p = aa_malloc(sizeof *p);
	agentanycast__v1__part__init(p);
	Agentanycast__V1__RawPart *r = aa_malloc(sizeof *r);
	agentanycast__v1__raw_part__init(r);
	r->data.len = strlen(bytes);
	r->data.data = (uint8_t *)aa_strdup(bytes);
	r->filename = aa_strdup(filename);
	p->content_case = CONTENT(RAW_PART);
	p->raw_part = r;
	p->media_type = aa_strdup(media);
	return p;
}

static Google__Protobuf__Value *number_value(double d)
{
	Google__Protobuf__Value *v = aa_malloc(sizeof *v);
	google__protobuf__value__init(v);
	v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
	v->number_value = d;
	return v;
}

/* A DataPart holding {key: number}. */
static Agentanycast__V1__Part *data_part(const char *key, double d)
{
	Agentanycast__V1__Part *p = aa_malloc(sizeof *p);
	agentanycast__v1__part__init(p);
	Agentanycast__V1__DataPart *dp = aa_malloc(sizeof *dp);
	agentanycast__v1__data_part__init(dp);
	Google__Protobuf__Struct *s = aa_malloc(sizeof *s);
	google__protobuf__struct__init(s);
	Google__Protobuf__Struct__FieldsEntry *e = aa_malloc(sizeof *e);
	google__protobuf__struct__fields_entry__init(e);
	e->key = aa_strdup(key);
	e->value = number_value(d);
	s->n_fields = 1;
	s->fields = aa_calloc(1, sizeof *s->fields);
	s->fields[0] = e;
	dp->data = s;
	p->content_case = CONTENT(DATA_PART);
	p->data_part = dp;
	return p;
}

static void add_metadata(Agentanycast__V1__Part *p, const char *key, const char *value)
{
	Agentanycast__V1__Part__MetadataEntry *e = aa_malloc(sizeof *e);
	agentanycast__v1__part__metadata_entry__init(e);
	e->key = aa_strdup(key);
	e->value = aa_strdup(value);
	p->metadata = aa_realloc(p->metadata, (p->n_metadata + 1) * sizeof *p->metadata);
	p->metadata[p->n_metadata++] = e;
}

static Agentanycast__V1__Message *message(const char *id, Agentanycast__V1__MessageRole role,
					  Agentanycast__V1__Part *part)
{
	Agentanycast__V1__Message *m = aa_malloc(sizeof *m);
	agentanycast__v1__message__init(m);
	m->message_id = aa_strdup(id);
	m->role = role;
	if (part) {
		m->n_parts = 1;
		m->parts = aa_calloc(1, sizeof *m->parts);
		m->parts[0] = part;
	}
	return m;
}

static void add_part(Agentanycast__V1__Message *m, Agentanycast__V1__Part *p)
{
	m->parts = aa_realloc(m->parts, (m->n_parts + 1) * sizeof *m->parts);
	m->parts[m->n_parts++] = p;
}

static Agentanycast__V1__Artifact *artifact(const char *id, const char *name,
					    Agentanycast__V1__Part *part)
{
	Agentanycast__V1__Artifact *a = aa_malloc(sizeof *a);
	agentanycast__v1__artifact__init(a);
	a->artifact_id = aa_strdup(id);
	a->name = aa_strdup(name);
	a->n_parts = 1;
	a->parts = aa_calloc(1, sizeof *a->parts);
	a->parts[0] = part;
	return a;
}

/* Task t1/c1, COMPLETED at 2026-11-25T10:00:00.123Z: user "hello", agent "working", agent
 * "done", artifact a1 "out" with text "hi". */
static Agentanycast__V1__Task *sample_task(void)
{
	Agentanycast__V1__Task *t = aa_malloc(sizeof *t);
	agentanycast__v1__task__init(t);
	t->task_id = aa_strdup("t1");
	t->context_id = aa_strdup("c1");
	t->status = STATE(COMPLETED);
	t->updated_at = a2a_pb_timestamp_new(1795600800123LL);
	t->n_messages = 3;
	t->messages = aa_calloc(3, sizeof *t->messages);
	t->messages[0] = message("m1", ROLE_USER, text_part("hello"));
	t->messages[1] = message("am1", ROLE_AGENT, text_part("working"));
	t->messages[2] = message("am2", ROLE_AGENT, text_part("done"));
	t->n_artifacts = 1;
	t->artifacts = aa_calloc(1, sizeof *t->artifacts);
	t->artifacts[0] = artifact("a1", "out", text_part("hi"));
	return t;
}

/* ---- requests: the SDK's sends -------------------------------------------------------- */

/* What both SDK sends carry, whichever version. */
static void assert_sdk_message(const struct a2a_request *r)
{
	const Agentanycast__V1__Message *m = r->message;
	assert_non_null(m);
	assert_string_equal(m->message_id, "m1");
	assert_int_equal(m->role, ROLE_USER);
	assert_non_null(m->created_at);
	assert_true(m->created_at->seconds > 1700000000);
	assert_string_equal(r->context_id, "c1");
	assert_null(r->task_id);
	assert_string_equal(r->skill_id, "echo");
	assert_int_equal(m->n_parts, 5);

	assert_int_equal(m->parts[0]->content_case, CONTENT(TEXT_PART));
	assert_string_equal(m->parts[0]->text_part->text, "hello");

	assert_int_equal(m->parts[1]->content_case, CONTENT(RAW_PART));
	assert_int_equal(m->parts[1]->raw_part->data.len, 3);
	assert_memory_equal(m->parts[1]->raw_part->data.data, "abc", 3);
	assert_string_equal(m->parts[1]->raw_part->filename, "f.bin");
	assert_string_equal(m->parts[1]->media_type, "application/octet-stream");

	assert_int_equal(m->parts[2]->content_case, CONTENT(URL_PART));
	assert_string_equal(m->parts[2]->url_part->url, "http://x/y");
	assert_string_equal(m->parts[2]->url_part->filename, "y.txt");
	assert_string_equal(m->parts[2]->media_type, "text/plain");

	assert_int_equal(m->parts[3]->content_case, CONTENT(DATA_PART));
	const Google__Protobuf__Struct *s = m->parts[3]->data_part->data;
	assert_int_equal(s->n_fields, 2);
	assert_string_equal(s->fields[0]->key, "a");
	assert_true(s->fields[0]->value->number_value == 1.0);
	const Google__Protobuf__ListValue *l = s->fields[1]->value->list_value;
	assert_int_equal(l->n_values, 2);
	assert_int_equal(l->values[0]->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE);
	assert_true(l->values[0]->bool_value);
	assert_int_equal(l->values[1]->kind_case, GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE);

	/* 42 is not an object: {"value": 42} marked data_part_compat, in both versions. */
	const Agentanycast__V1__Part *wrapped = m->parts[4];
	assert_int_equal(wrapped->content_case, CONTENT(DATA_PART));
	assert_int_equal(wrapped->data_part->data->n_fields, 1);
	assert_string_equal(wrapped->data_part->data->fields[0]->key, "value");
	assert_true(wrapped->data_part->data->fields[0]->value->number_value == 42.0);
	assert_int_equal(wrapped->n_metadata, 1);
	assert_string_equal(wrapped->metadata[0]->key, "data_part_compat");
	assert_string_equal(wrapped->metadata[0]->value, "true");
}

static void test_request_parses_sdk_v10_send_message(void **state)
{
	struct a2a_request r;
	assert_request_ok(sdk_v10_send, "1.0", &r);
	assert_int_equal(r.version, A2A_V10);
	assert_int_equal(r.method, A2A_METHOD_SEND);
	assert_json_eq(json_incref(r.id), "1");
	assert_false(r.blocking); /* returnImmediately: true */
	assert_sdk_message(&r);
	a2a_request_free(&r);
}

static void test_request_parses_sdk_v03_message_send(void **state)
{
	struct a2a_request r;
	assert_request_ok(sdk_v03_send, NULL, &r);
	assert_int_equal(r.version, A2A_V03);
	assert_int_equal(r.method, A2A_METHOD_SEND);
	assert_true(r.blocking);
	assert_sdk_message(&r);
	a2a_request_free(&r);
	/* The SDK's Client sends the header explicitly for v0.3. */
	assert_request_ok(sdk_v03_send, "0.3", &r);
	assert_int_equal(r.version, A2A_V03);
	a2a_request_free(&r);
}

static void test_request_send_blocking_defaults_and_flags(void **state)
{
	struct a2a_request r;
	assert_request_ok(J({"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{
		"role":"ROLE_USER","parts":[{"text":"x"}]},"configuration":{}}}), "1.0", &r);
	assert_true(r.blocking);
	assert_int_equal(r.history_length, -1);
	a2a_request_free(&r);
	assert_request_ok(J({"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{
		"role":"user","parts":[]},"configuration":{"blocking":false,"historyLength":2}}}),
			  NULL, &r);
	assert_false(r.blocking);
	assert_int_equal(r.history_length, 2);
	a2a_request_free(&r);
	assert_request_ok(J({"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{
		"role":"user","parts":[]}}}), NULL, &r);
	assert_true(r.blocking);
	a2a_request_free(&r);
}

static void test_request_send_gives_missing_message_id_a_uuid(void **state)
{
	struct a2a_request r;
	assert_request_ok(J({"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{
		"role":"ROLE_AGENT","taskId":"t9","parts":[{"text":"x"}]}}}), "1.0", &r);
	assert_int_equal(strlen(r.message->message_id), 36);
	assert_int_equal(r.message->role, ROLE_AGENT);
	assert_string_equal(r.task_id, "t9");
	assert_null(r.context_id);
	assert_null(r.skill_id);
	a2a_request_free(&r);
}

static void test_request_skill_id_from_params_metadata(void **state)
{
	struct a2a_request r;
	assert_request_ok(J({"jsonrpc":"2.0","id":1,"method":"message/stream","params":{"message":{
		"role":"user","parts":[]},"metadata":{"skill_id":"s2"}}}), NULL, &r);
	assert_int_equal(r.method, A2A_METHOD_STREAM);
	assert_string_equal(r.skill_id, "s2");
	a2a_request_free(&r);
	assert_request_ok(J({"jsonrpc":"2.0","id":1,"method":"SendStreamingMessage","params":{
		"message":{"role":"ROLE_USER","metadata":{"skillId":"s1"}},
		"metadata":{"skillId":"s2"}}}), "1.0", &r);
	assert_int_equal(r.method, A2A_METHOD_STREAM);
	assert_string_equal(r.skill_id, "s1"); /* the message's own wins */
	assert_int_equal(r.message->n_parts, 0);
	a2a_request_free(&r);
}

/* ---- requests: get, cancel, resubscribe, legacy ----------------------------------------- */

static void test_request_get_in_both_versions(void **state)
{
	struct a2a_request r;
	assert_request_ok(J({"jsonrpc":"2.0","method":"GetTask","params":{"id":"t1",
		"historyLength":3},"id":3}), "1.0", &r);
	assert_int_equal(r.method, A2A_METHOD_GET);
	assert_string_equal(r.task_id, "t1");
	assert_int_equal(r.history_length, 3);
	assert_null(r.message);
	a2a_request_free(&r);
	assert_request_ok(J({"id":3,"jsonrpc":"2.0","method":"tasks/get","params":{"id":"t1"}}),
			  NULL, &r);
	assert_int_equal(r.method, A2A_METHOD_GET);
	assert_string_equal(r.task_id, "t1");
	assert_int_equal(r.history_length, -1);
	a2a_request_free(&r);
}

static void test_request_cancel_and_resubscribe_in_both_versions(void **state)
{
	static const struct {
		const char *method, *version;
		enum a2a_method want;
	} cases[] = {
		{ "CancelTask", "1.0", A2A_METHOD_CANCEL },
		{ "tasks/cancel", "0.3", A2A_METHOD_CANCEL },
		{ "SubscribeToTask", "1.0", A2A_METHOD_RESUBSCRIBE },
		{ "tasks/resubscribe", NULL, A2A_METHOD_RESUBSCRIBE },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char body[256];
		snprintf(body, sizeof body,
			 J({"jsonrpc":"2.0","id":"r%zu","method":"%s","params":{"id":"t7"}}), i,
			 cases[i].method);
		struct a2a_request r;
		assert_request_ok(body, cases[i].version, &r);
		assert_int_equal(r.method, cases[i].want);
		assert_string_equal(r.task_id, "t7");
		assert_true(json_is_string(r.id));
		a2a_request_free(&r);
	}
}

static void test_request_legacy_tasks_send_under_either_version(void **state)
{
	static const char body[] = J({"jsonrpc":"2.0","id":null,"method":"tasks/send","params":{
		"id":"t5","target_skill_id":"translate","message":{"role":"agent","parts":[
		{"type":"text","text":"hi"},{"type":"url","url":"http://x/f","filename":"f"},
		{"type":"data","data":{"k":1}}]},"metadata":{"a":"b"}}});
	const char *versions[] = { NULL, "1.0" };
	for (int i = 0; i < 2; i++) {
		struct a2a_request r;
		assert_request_ok(body, versions[i], &r);
		assert_int_equal(r.method, A2A_METHOD_LEGACY_SEND);
		assert_string_equal(r.task_id, "t5");
		assert_string_equal(r.skill_id, "translate");
		assert_int_equal(r.message->role, ROLE_AGENT);
		assert_int_equal(strlen(r.message->message_id), 36);
		assert_int_equal(r.message->n_parts, 3);
		assert_string_equal(r.message->parts[0]->text_part->text, "hi");
		assert_string_equal(r.message->parts[1]->url_part->url, "http://x/f");
		assert_string_equal(r.message->parts[1]->url_part->filename, "f");
		/* F.3: any other type becomes a TextPart with the (absent) text. */
		assert_int_equal(r.message->parts[2]->content_case, CONTENT(TEXT_PART));
		assert_string_equal(r.message->parts[2]->text_part->text, "");
		assert_true(json_is_null(r.id));
		a2a_request_free(&r);
	}
}

static void test_request_legacy_role_other_than_agent_is_user(void **state)
{
	struct a2a_request r;
	assert_request_ok(J({"jsonrpc":"2.0","id":1,"method":"tasks/send","params":{"message":{
		"role":"robot","parts":[]}}}), NULL, &r);
	assert_int_equal(r.message->role, ROLE_USER);
	assert_null(r.task_id);
	a2a_request_free(&r);
	assert_request_fails(J({"jsonrpc":"2.0","id":1,"method":"tasks/send","params":{"message":{
		"role":7}}}), NULL, A2A_ERR_INVALID_PARAMS, "1");
}

/* ---- requests: refusals --------------------------------------------------------------- */

static void test_request_rejects_method_of_the_other_version(void **state)
{
	assert_request_fails(J({"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{}}),
			     NULL, A2A_ERR_METHOD_NOT_FOUND, "1");
	assert_request_fails(J({"jsonrpc":"2.0","id":1,"method":"GetTask","params":{}}), "0.3",
			     A2A_ERR_METHOD_NOT_FOUND, "1");
	assert_request_fails(J({"jsonrpc":"2.0","id":"a","method":"message/send","params":{}}),
			     "1.0", A2A_ERR_METHOD_NOT_FOUND, J("a"));
	assert_request_fails(J({"jsonrpc":"2.0","id":1,"method":"tasks/nope","params":{}}), NULL,
			     A2A_ERR_METHOD_NOT_FOUND, "1");
}

static void test_request_answers_unoffered_standard_methods_with_their_codes(void **state)
{
	assert_request_fails(J({"jsonrpc":"2.0","id":1,"method":"tasks/pushNotificationConfig/set",
		"params":{}}), NULL, A2A_ERR_PUSH_NOT_SUPPORTED, "1");
	assert_request_fails(J({"jsonrpc":"2.0","id":1,"method":"GetExtendedAgentCard"}), "1.0",
			     A2A_ERR_EXTENDED_CARD, "1");
	assert_request_fails(J({"jsonrpc":"2.0","id":1,"method":"ListTasks","params":{}}), "1.0",
			     A2A_ERR_UNSUPPORTED_OPERATION, "1");
	assert_request_fails(J({"jsonrpc":"2.0","id":1,"method":"ListTasks","params":{}}), "0.3",
			     A2A_ERR_METHOD_NOT_FOUND, "1");
}

static void test_request_rejects_unknown_version_but_echoes_id(void **state)
{
	const char *bad[] = { "2.0", "1", "0.2", "1.0.0", "v1.0" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_request_fails(J({"jsonrpc":"2.0","id":7,"method":"GetTask","params":{"id":"x"}}),
				     bad[i], A2A_ERR_VERSION_NOT_SUPPORTED, "7");
}

static void test_request_empty_or_padded_version_header(void **state)
{
	struct a2a_request r;
	assert_request_ok(J({"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{"id":"t"}}), "",
			  &r);
	assert_int_equal(r.version, A2A_V03);
	a2a_request_free(&r);
	assert_request_ok(J({"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"t"}}),
			  " 1.0 ", &r);
	assert_int_equal(r.version, A2A_V10);
	a2a_request_free(&r);
}

static void test_request_rejects_what_is_not_a_request_object(void **state)
{
	assert_request_fails("", NULL, A2A_ERR_PARSE, "null");
	assert_request_fails("{\"jsonrpc\":", NULL, A2A_ERR_PARSE, "null");
	assert_request_fails("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tasks/get\"}]", NULL,
			     A2A_ERR_INVALID_REQUEST, "null");
	assert_request_fails(J("tasks/get"), NULL, A2A_ERR_INVALID_REQUEST, "null");
	assert_request_fails(J({"id":1,"method":"tasks/get","params":{"id":"t"}}), NULL,
			     A2A_ERR_INVALID_REQUEST, "1");
	assert_request_fails(J({"jsonrpc":"1.0","id":1,"method":"tasks/get","params":{"id":"t"}}),
			     NULL, A2A_ERR_INVALID_REQUEST, "1");
	assert_request_fails(J({"jsonrpc":"2.0","id":1,"method":5,"params":{"id":"t"}}), NULL,
			     A2A_ERR_INVALID_REQUEST, "1");
	assert_request_fails(J({"jsonrpc":"2.0","id":true,"method":"tasks/get","params":{"id":"t"}}),
			     NULL, A2A_ERR_INVALID_REQUEST, "null");
	assert_request_fails(J({"jsonrpc":"2.0","id":{"a":1},"method":"tasks/get"}), NULL,
			     A2A_ERR_INVALID_REQUEST, "null");
}

static void test_request_rejects_duplicate_keys(void **state)
{
	assert_request_fails(J({"jsonrpc":"2.0","id":1,"method":"tasks/get","method":"tasks/cancel",
		"params":{"id":"t"}}), NULL, A2A_ERR_PARSE, "null");
}

static void test_request_ids_echo_exactly(void **state)
{
	struct a2a_request r;
	assert_request_ok(J({"jsonrpc":"2.0","method":"tasks/get","params":{"id":"t"}}), NULL, &r);
	assert_true(json_is_null(r.id)); /* a notification */
	a2a_request_free(&r);
	assert_request_ok(J({"jsonrpc":"2.0","id":1.5,"method":"tasks/get","params":{"id":"t"}}),
			  NULL, &r);
	assert_json_eq(a2a_json_result(r.id, json_object()), J({"jsonrpc":"2.0","id":1.5,"result":{}}));
	a2a_request_free(&r);
	assert_request_ok(J({"jsonrpc":"2.0","id":"abc","method":"tasks/get","params":{"id":"t"}}),
			  NULL, &r);
	assert_json_eq(a2a_json_error_reply(r.id, -32001, "Task not found"),
		       J({"jsonrpc":"2.0","id":"abc","error":{"code":-32001,"message":"Task not found"}}));
	a2a_request_free(&r);
}

/* A body whose member `key` holds a string of n 'x'. */
static char *body_with_long(const char *fmt, size_t n)
{
	char *s = aa_malloc(n + 1);
	memset(s, 'x', n);
	s[n] = 0;
	char *body = aa_sprintf(fmt, s);
	free(s);
	return body;
}

static void test_request_bounds_id_lengths(void **state)
{
	const char *rpc_id = J({"jsonrpc":"2.0","id":"%s","method":"tasks/get","params":{"id":"t"}});
	const char *task_id = J({"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{"id":"%s"}});
	const char *msg_id = J({"jsonrpc":"2.0","id":1,"method":"message/send","params":{
		"message":{"messageId":"%s","role":"user","parts":[]}}});
	const char *ctx_id = J({"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{
		"message":{"contextId":"%s","role":"ROLE_USER"}}});
	const char *fmts[] = { rpc_id, task_id, msg_id, ctx_id };
	for (size_t i = 0; i < 4; i++) {
		struct a2a_request r;
		struct a2a_json_error err;
		const char *version = i == 3 ? "1.0" : NULL;
		char *ok = body_with_long(fmts[i], A2A_JSON_MAX_ID);
		assert_int_equal(parse(ok, version, &r, &err), 0);
		a2a_request_free(&r);
		char *bad = body_with_long(fmts[i], A2A_JSON_MAX_ID + 1);
		assert_request_fails(bad, version, i == 0 ? A2A_ERR_INVALID_REQUEST
							 : A2A_ERR_INVALID_PARAMS,
				     i == 0 ? "null" : "1");
		free(ok);
		free(bad);
	}
}

/* {"jsonrpc":…,"params":{"message":{…,"parts":[{"data": <depth levels of {"a":…}> }]}}} */
static char *deep_send(int depth)
{
	char *body = aa_malloc((size_t)depth * 8 + 256);
	size_t n = (size_t)sprintf(body, "%s", J({"jsonrpc":"2.0","id":1,"method":"SendMessage",
		"params":{"message":{"role":"ROLE_USER","parts":[{"data":));
	for (int i = 0; i < depth; i++)
		n += (size_t)sprintf(body + n, "{\"a\":");
	n += (size_t)sprintf(body + n, "1");
	for (int i = 0; i < depth; i++)
		body[n++] = '}';
	sprintf(body + n, "}]}}}");
	return body;
}

static void test_request_bounds_nesting_depth(void **state)
{
	/* root, params, message, parts, part: the data value starts at level 6. */
	char *ok = deep_send(A2A_JSON_MAX_DEPTH - 6);
	struct a2a_request r;
	assert_request_ok(ok, "1.0", &r);
	assert_int_equal(r.message->parts[0]->content_case, CONTENT(DATA_PART));
	a2a_request_free(&r);
	free(ok);
	char *bad = deep_send(A2A_JSON_MAX_DEPTH - 5);
	assert_request_fails(bad, "1.0", A2A_ERR_INVALID_REQUEST, "1");
	free(bad);
	/* Far beyond: jansson's own limit refuses it before we see it. */
	char *huge = deep_send(5000);
	assert_request_fails(huge, "1.0", A2A_ERR_PARSE, "null");
	free(huge);
}

static char *many_parts(size_t n)
{
	char *body = aa_malloc(n * 32 + 256);
	size_t len = (size_t)sprintf(body, "%s", J({"jsonrpc":"2.0","id":1,"method":"message/send",
		"params":{"message":{"role":"user","parts":[));
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(body + len, "%s{\"kind\":\"text\",\"text\":\"\"}",
				       i ? "," : "");
	sprintf(body + len, "]}}}");
	return body;
}

static void test_request_bounds_part_count(void **state)
{
	char *ok = many_parts(A2A_JSON_MAX_PARTS);
	struct a2a_request r;
	assert_request_ok(ok, NULL, &r);
	assert_int_equal(r.message->n_parts, A2A_JSON_MAX_PARTS);
	a2a_request_free(&r);
	free(ok);
	char *bad = many_parts(A2A_JSON_MAX_PARTS + 1);
	assert_request_fails(bad, NULL, A2A_ERR_INVALID_PARAMS, "1");
	free(bad);
}

static void test_request_rejects_bad_params(void **state)
{
	static const struct {
		const char *version, *body;
	} cases[] = {
		{ NULL, J({"jsonrpc":"2.0","id":1,"method":"tasks/get"}) },
		{ NULL, J({"jsonrpc":"2.0","id":1,"method":"tasks/get","params":[]}) },
		{ NULL, J({"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{}}) },
		{ NULL, J({"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{"id":5}}) },
		{ NULL, J({"jsonrpc":"2.0","id":1,"method":"tasks/get","params":{"id":"t",
			"historyLength":-1}}) },
		{ "1.0", J({"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"t",
			"historyLength":"x"}}) },
		{ NULL, J({"jsonrpc":"2.0","id":1,"method":"message/send","params":{}}) },
		{ NULL, J({"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":[]}}) },
		{ NULL, J({"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{
			"role":"ROLE_USER","parts":[]}}}) },
		{ "1.0", J({"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{
			"role":"user"}}}) },
		{ "1.0", J({"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{}}}) },
		{ NULL, J({"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{
			"role":"user"}}}) },
		{ NULL, J({"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{
			"role":"user","parts":{}}}}) },
		{ NULL, J({"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{
			"role":"user","parts":[{"kind":"image"}]}}}) },
		{ NULL, J({"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{
			"role":"user","parts":[{"text":"no kind"}]}}}) },
		{ NULL, J({"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{
			"role":"user","parts":["text"]}}}) },
		{ NULL, J({"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{
			"role":"user","parts":[{"kind":"text","text":1}]}}}) },
		{ NULL, J({"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{
			"role":"user","parts":[{"kind":"file","file":{"name":"x"}}]}}}) },
		{ NULL, J({"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{
			"role":"user","parts":[{"kind":"file","file":{"bytes":"***"}}]}}}) },
		{ NULL, J({"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{
			"role":"user","parts":[{"kind":"data"}]}}}) },
		{ NULL, J({"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{
			"role":"user","parts":[]},"configuration":{"blocking":"yes"}}}) },
		{ NULL, J({"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{
			"role":"user","parts":[]},"configuration":true}}) },
		{ NULL, J({"jsonrpc":"2.0","id":1,"method":"message/send","params":{"message":{
			"role":"user","parts":[],"metadata":"x"}}}) },
		{ "1.0", J({"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{
			"role":"ROLE_USER","parts":[{"text":"a","url":"http://x"}]}}}) },
		{ "1.0", J({"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{
			"role":"ROLE_USER","parts":[{"mediaType":"text/plain"}]}}}) },
		{ "1.0", J({"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{
			"role":"ROLE_USER","parts":[{"raw":"%%%"}]}}}) },
		{ "1.0", J({"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{
			"role":"ROLE_USER","parts":[{"url":7}]}}}) },
		{ "1.0", J({"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{
			"role":"ROLE_USER"},"configuration":{"returnImmediately":1}}}) },
		{ "1.0", J({"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{
			"role":"ROLE_USER","metadata":{"skillId":3}}}}) },
		{ NULL, J({"jsonrpc":"2.0","id":1,"method":"tasks/send","params":{"message":[]}}) },
		{ NULL, J({"jsonrpc":"2.0","id":1,"method":"tasks/send","params":{"id":1}}) },
		{ NULL, J({"jsonrpc":"2.0","id":1,"method":"tasks/send","params":{"metadata":{"a":1}}}) },
		{ NULL, J({"jsonrpc":"2.0","id":1,"method":"tasks/send","params":{"message":{
			"parts":[{"type":"text","text":5}]}}}) },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		assert_request_fails(cases[i].body, cases[i].version, A2A_ERR_INVALID_PARAMS, "1");
}

static void test_request_accepts_base64_variants_and_v10_aliases(void **state)
{
	struct a2a_request r;
	/* "/+8=" standard, "_-8" URL-safe unpadded: both are the bytes ff ef. */
	assert_request_ok(J({"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{
		"message_id":"m","context_id":"c","role":2,"parts":[{"raw":"/+8="},{"raw":"_-8"},
		{"raw":""},{"text":"t","media_type":"text/plain","metadata":{"k":"v","n":1}}]}}}),
			  "1.0", &r);
	const Agentanycast__V1__Message *m = r.message;
	assert_string_equal(m->message_id, "m");
	assert_string_equal(r.context_id, "c");
	assert_int_equal(m->role, ROLE_AGENT);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(m->parts[i]->raw_part->data.len, 2);
		assert_memory_equal(m->parts[i]->raw_part->data.data, "\xff\xef", 2);
	}
	assert_int_equal(m->parts[2]->raw_part->data.len, 0);
	assert_string_equal(m->parts[3]->media_type, "text/plain");
	assert_int_equal(m->parts[3]->n_metadata, 1); /* only string values are kept */
	assert_string_equal(m->parts[3]->metadata[0]->key, "k");
	assert_string_equal(m->parts[3]->metadata[0]->value, "v");
	a2a_request_free(&r);
}

/* ---- rendering ------------------------------------------------------------------------ */

/* A message with one part of each kind (the SDK fixture's, built by hand). */
static Agentanycast__V1__Message *all_kinds_message(void)
{
	Agentanycast__V1__Message *m = message("m1", ROLE_USER, text_part("hello"));
	add_part(m, raw_part("abc", "f.bin", "application/octet-stream"));
	add_part(m, url_part("http://x/y", "y.txt", "text/plain"));
	add_part(m, data_part("a", 1));
	Agentanycast__V1__Part *wrapped = data_part("value", 42);
	add_metadata(wrapped, "data_part_compat", "true");
	add_part(m, wrapped);
	return m;
}

static void test_message_renders_every_part_kind_in_v10(void **state)
{
	Agentanycast__V1__Message *m = all_kinds_message();
	add_metadata(m->parts[0], "k", "v");
	assert_json_eq(a2a_json_message(m, A2A_V10, NULL, "c1"), J({"messageId":"m1",
		"contextId":"c1","role":"ROLE_USER","parts":[{"text":"hello","metadata":{"k":"v"}},
		{"raw":"YWJj","filename":"f.bin","mediaType":"application/octet-stream"},
		{"url":"http://x/y","filename":"y.txt","mediaType":"text/plain"},
		{"data":{"a":1}},{"data":42}]}));
	a2a_json_free_pb(m);
}

static void test_message_renders_every_part_kind_in_v03(void **state)
{
	Agentanycast__V1__Message *m = all_kinds_message();
	assert_json_eq(a2a_json_message(m, A2A_V03, "t1", NULL), J({"kind":"message",
		"messageId":"m1","role":"user","taskId":"t1","parts":[{"kind":"text","text":"hello"},
		{"kind":"file","file":{"bytes":"YWJj","mimeType":"application/octet-stream",
		"name":"f.bin"}},
		{"kind":"file","file":{"uri":"http://x/y","mimeType":"text/plain","name":"y.txt"}},
		{"kind":"data","data":{"a":1}},
		{"kind":"data","data":{"value":42},"metadata":{"data_part_compat":true}}]}));
	a2a_json_free_pb(m);
}

/* Renders m in v, wraps it in a send request of v, parses that: the parts must agree. */
static void assert_parts_round_trip(enum a2a_version v)
{
	Agentanycast__V1__Message *m = all_kinds_message();
	json_t *req = a2a_json_send_request("r1", m, v, false, true);
	char *body = json_dumps(req, JSON_COMPACT);
	struct a2a_request r;
	assert_request_ok(body, v == A2A_V10 ? "1.0" : NULL, &r);
	assert_int_equal(r.message->n_parts, m->n_parts);
	for (size_t i = 0; i < m->n_parts; i++) {
		/* Equal protobuf encodings mean equal parts. */
		size_t a = protobuf_c_message_get_packed_size(&m->parts[i]->base);
		size_t b = protobuf_c_message_get_packed_size(&r.message->parts[i]->base);
		assert_int_equal(a, b);
		uint8_t *pa = aa_malloc(a), *pb = aa_malloc(b);
		protobuf_c_message_pack(&m->parts[i]->base, pa);
		protobuf_c_message_pack(&r.message->parts[i]->base, pb);
		assert_memory_equal(pa, pb, a);
		free(pa);
		free(pb);
	}
	assert_string_equal(r.message->message_id, "m1");
	a2a_request_free(&r);
	free(body);
	json_decref(req);
	a2a_json_free_pb(m);
}

static void test_parts_round_trip_through_v10(void **state)
{
	assert_parts_round_trip(A2A_V10);
}

static void test_parts_round_trip_through_v03(void **state)
{
	assert_parts_round_trip(A2A_V03);
}

static void test_task_renders_in_v10(void **state)
{
	Agentanycast__V1__Task *t = sample_task();
	assert_json_eq(a2a_json_task(t, A2A_V10, -1), J({"id":"t1","contextId":"c1",
		"status":{"state":"TASK_STATE_COMPLETED","message":{"messageId":"am2",
		"contextId":"c1","taskId":"t1","role":"ROLE_AGENT","parts":[{"text":"done"}]},
		"timestamp":"2026-11-25T10:00:00.123Z"},
		"history":[
		{"messageId":"m1","contextId":"c1","taskId":"t1","role":"ROLE_USER",
		 "parts":[{"text":"hello"}]},
		{"messageId":"am1","contextId":"c1","taskId":"t1","role":"ROLE_AGENT",
		 "parts":[{"text":"working"}]},
		{"messageId":"am2","contextId":"c1","taskId":"t1","role":"ROLE_AGENT",
		 "parts":[{"text":"done"}]}],
		"artifacts":[{"artifactId":"a1","name":"out","parts":[{"text":"hi"}]}]}));
	a2a_json_free_pb(t);
}

static void test_task_renders_in_v03(void **state)
{
	Agentanycast__V1__Task *t = sample_task();
	assert_json_eq(a2a_json_task(t, A2A_V03, 1), J({"kind":"task","id":"t1","contextId":"c1",
		"status":{"state":"completed","message":{"kind":"message","messageId":"am2",
		"role":"agent","parts":[{"kind":"text","text":"done"}],"contextId":"c1",
		"taskId":"t1"},"timestamp":"2026-11-25T10:00:00.123Z"},
		"history":[{"kind":"message","messageId":"am2","role":"agent","parts":[{"kind":"text",
		"text":"done"}],"contextId":"c1","taskId":"t1"}],
		"artifacts":[{"artifactId":"a1","name":"out","parts":[{"kind":"text","text":"hi"}]}]}));
	a2a_json_free_pb(t);
}

static void test_task_submitted_has_no_status_message_and_empty_lists_vanish(void **state)
{
	Agentanycast__V1__Task *t = aa_malloc(sizeof *t);
	agentanycast__v1__task__init(t);
	t->task_id = aa_strdup("t2");
	t->status = STATE(SUBMITTED);
	t->n_messages = 1;
	t->messages = aa_calloc(1, sizeof *t->messages);
	t->messages[0] = message("am", ROLE_AGENT, NULL);
	assert_json_eq(a2a_json_task(t, A2A_V10, 0), J({"id":"t2","status":{
		"state":"TASK_STATE_SUBMITTED"}}));
	assert_json_eq(a2a_json_task(t, A2A_V03, -1), J({"kind":"task","id":"t2","contextId":"",
		"status":{"state":"submitted"},"history":[{"kind":"message","messageId":"am",
		"role":"agent","parts":[],"taskId":"t2"}]}));
	t->status = STATE(UNSPECIFIED);
	json_t *v10 = a2a_json_task(t, A2A_V10, 0), *v03 = a2a_json_task(t, A2A_V03, 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(v10, "status"),
							      "state")),
			    "TASK_STATE_UNSPECIFIED");
	assert_string_equal(json_string_value(json_object_get(json_object_get(v03, "status"),
							      "state")),
			    "unknown");
	json_decref(v10);
	json_decref(v03);
	a2a_json_free_pb(t);
}

/* Status events carry "now" as their timestamp: check its shape, then drop it. */
static json_t *without_timestamp(json_t *event)
{
	json_t *status = json_object_get(event, "status");
	const char *ts = json_string_value(json_object_get(status, "timestamp"));
	assert_non_null(ts);
	assert_int_equal(strlen(ts), 24);
	assert_true(ts[4] == '-' && ts[10] == 'T' && ts[19] == '.' && ts[23] == 'Z');
	json_object_del(status, "timestamp");
	return event;
}

static void test_status_event_renders_in_both_versions(void **state)
{
	Agentanycast__V1__Message *m = message("am", ROLE_AGENT, text_part("need input"));
	assert_json_eq(without_timestamp(a2a_json_status_event("t1", "c1",
			       STATE(INPUT_REQUIRED), m, true, A2A_V03)),
		       J({"kind":"status-update","taskId":"t1","contextId":"c1","final":true,
		       "status":{"state":"input-required","message":{"kind":"message",
		       "messageId":"am","role":"agent","parts":[{"kind":"text","text":"need input"}],
		       "taskId":"t1","contextId":"c1"}}}));
	assert_json_eq(without_timestamp(a2a_json_status_event("t1", "c1", STATE(WORKING), NULL,
							       false, A2A_V10)),
		       J({"taskId":"t1","contextId":"c1","status":{"state":"TASK_STATE_WORKING"}}));
	a2a_json_free_pb(m);
}

static void test_artifact_event_renders_in_both_versions(void **state)
{
	Agentanycast__V1__Artifact *a = artifact("a1", "", url_part("http://x/r", "", ""));
	assert_json_eq(a2a_json_artifact_event("t1", "c1", a, A2A_V03), J({
		"kind":"artifact-update","taskId":"t1","contextId":"c1","artifact":{"artifactId":"a1",
		"parts":[{"kind":"file","file":{"uri":"http://x/r"}}]},"append":false,
		"lastChunk":true}));
	assert_json_eq(a2a_json_artifact_event("t1", "c1", a, A2A_V10), J({"taskId":"t1",
		"contextId":"c1","artifact":{"artifactId":"a1","parts":[{"url":"http://x/r"}]},
		"append":false,"lastChunk":true}));
	a2a_json_free_pb(a);
}

static void test_wrap_follows_each_version_and_method(void **state)
{
	assert_json_eq(a2a_json_wrap(A2A_V10, A2A_METHOD_SEND, "task", json_object()),
		       J({"task":{}}));
	assert_json_eq(a2a_json_wrap(A2A_V10, A2A_METHOD_STREAM, "statusUpdate", json_object()),
		       J({"statusUpdate":{}}));
	assert_json_eq(a2a_json_wrap(A2A_V10, A2A_METHOD_RESUBSCRIBE, "artifactUpdate",
				     json_object()),
		       J({"artifactUpdate":{}}));
	assert_json_eq(a2a_json_wrap(A2A_V10, A2A_METHOD_GET, "task", json_object()), "{}");
	assert_json_eq(a2a_json_wrap(A2A_V10, A2A_METHOD_CANCEL, "task", json_object()), "{}");
	assert_json_eq(a2a_json_wrap(A2A_V03, A2A_METHOD_SEND, "message", json_object()), "{}");
	assert_json_eq(a2a_json_wrap(A2A_V10, A2A_METHOD_LEGACY_SEND, "task", json_object()), "{}");
}

static void test_legacy_task_renders_reference_f3_shape(void **state)
{
	Agentanycast__V1__Task *t = sample_task();
	a2a_json_free_pb(t->artifacts[0]->parts[0]);
	t->artifacts[0]->parts[0] = url_part("http://x/o", "o.txt", "text/plain");
	add_part(t->messages[0], text_part(""));
	assert_json_eq(a2a_json_legacy_task(t), J({"id":"t1","status":"completed",
		"messages":[{"role":"user","parts":[{"type":"text","text":"hello"},{"type":"text"}]},
		{"role":"agent","parts":[{"type":"text","text":"working"}]},
		{"role":"agent","parts":[{"type":"text","text":"done"}]}],
		"artifacts":[{"artifact_id":"a1","name":"out","parts":[{"type":"url",
		"url":"http://x/o","filename":"o.txt"}]}]}));
	a2a_json_free_pb(t);
}

static void test_states_name_and_parse(void **state)
{
	assert_string_equal(a2a_json_state_name(STATE(INPUT_REQUIRED), A2A_V03), "input-required");
	assert_string_equal(a2a_json_state_name(STATE(CANCELED), A2A_V10), "TASK_STATE_CANCELED");
	assert_string_equal(a2a_json_state_name((Agentanycast__V1__TaskStatus)99, A2A_V03),
			    "unknown");
	for (int s = STATE(SUBMITTED); s <= STATE(REJECTED); s++) {
		assert_int_equal(a2a_json_state_parse(a2a_json_state_name(s, A2A_V03)), s);
		assert_int_equal(a2a_json_state_parse(a2a_json_state_name(s, A2A_V10)), s);
	}
	assert_int_equal(a2a_json_state_parse("auth-required"), STATE(UNSPECIFIED));
	assert_int_equal(a2a_json_state_parse("TASK_STATE_AUTH_REQUIRED"), STATE(UNSPECIFIED));
	assert_int_equal(a2a_json_state_parse(NULL), STATE(UNSPECIFIED));
	assert_true(a2a_json_state_terminal(STATE(REJECTED)));
	assert_true(a2a_json_state_terminal(STATE(COMPLETED)));
	assert_false(a2a_json_state_terminal(STATE(INPUT_REQUIRED)));
	assert_false(a2a_json_state_terminal(STATE(WORKING)));
}

static void test_engine_strings_that_are_not_utf8_still_render(void **state)
{
	Agentanycast__V1__Message *m = message("m\xff", ROLE_USER, text_part("a\xc3("));
	assert_json_eq(a2a_json_message(m, A2A_V10, NULL, NULL), J({"messageId":"m?",
		"role":"ROLE_USER","parts":[{"text":"a?("}]}));
	a2a_json_free_pb(m);
}

/* ---- cards ------------------------------------------------------------------------------ */

static Agentanycast__V1__AgentCard *sample_card(void)
{
	Agentanycast__V1__AgentCard *c = aa_malloc(sizeof *c);
	agentanycast__v1__agent_card__init(c);
	c->name = aa_strdup("echo");
	c->version = aa_strdup("1.2.3");
	c->n_skills = 1;
	c->skills = aa_calloc(1, sizeof *c->skills);
	c->skills[0] = aa_malloc(sizeof *c->skills[0]);
	agentanycast__v1__skill__init(c->skills[0]);
	c->skills[0]->id = aa_strdup("translate");
	c->skills[0]->description = aa_strdup("Translates text");
	return c;
}

static void test_card_renders_v10_shape(void **state)
{
	Agentanycast__V1__AgentCard *c = sample_card();
	assert_json_eq(a2a_json_card(c, "http://h:8080/", A2A_V10, "node"), J({"name":"echo",
		"description":"","version":"1.2.3","capabilities":{"streaming":true},
		"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain"],
		"skills":[{"id":"translate","name":"translate","description":"Translates text",
		"tags":[]}],"supportedInterfaces":[{"url":"http://h:8080/","protocolBinding":"JSONRPC",
		"protocolVersion":"1.0"}]}));
	a2a_json_free_pb(c);
}

static void test_card_renders_v03_shape_with_v10_interfaces(void **state)
{
	json_t *card = a2a_json_card(NULL, "http://h:8080/", A2A_V03, "12D3KooWnode");
	json_object_del(card, "version"); /* the daemon's own version */
	assert_json_eq(card, J({"name":"12D3KooWnode","description":"",
		"capabilities":{"streaming":true},
		"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain"],"skills":[],
		"supportedInterfaces":[{"url":"http://h:8080/","protocolBinding":"JSONRPC",
		"protocolVersion":"1.0"}],"url":"http://h:8080/","preferredTransport":"JSONRPC",
		"protocolVersion":"0.3"}));
}

static void test_our_cards_parse_as_remote_cards(void **state)
{
	enum a2a_version versions[] = { A2A_V03, A2A_V10 };
	for (int i = 0; i < 2; i++) {
		json_t *card = a2a_json_card(NULL, "https://me/a2a", versions[i], "n");
		char *text = json_dumps(card, 0);
		struct a2a_remote_card rc;
		struct a2a_json_error err;
		assert_int_equal(a2a_remote_card_parse(text, strlen(text), &rc, &err), 0);
		assert_string_equal(rc.url, "https://me/a2a");
		assert_int_equal(rc.version, A2A_V10);
		assert_true(rc.streaming);
		a2a_remote_card_free(&rc);
		free(text);
		json_decref(card);
	}
}

static void test_remote_card_parses_sdk_v10_card(void **state)
{
	struct a2a_remote_card rc;
	struct a2a_json_error err;
	assert_int_equal(a2a_remote_card_parse(sdk_card_v10, strlen(sdk_card_v10), &rc, &err), 0);
	assert_string_equal(rc.url, "http://127.0.0.1:18555/a2a");
	assert_int_equal(rc.version, A2A_V10);
	assert_true(rc.streaming);
	a2a_remote_card_free(&rc);
}

static void test_remote_card_parses_sdk_v03_card(void **state)
{
	struct a2a_remote_card rc;
	struct a2a_json_error err;
	assert_int_equal(a2a_remote_card_parse(sdk_card_v03_only, strlen(sdk_card_v03_only), &rc,
					       &err),
			 0);
	assert_string_equal(rc.url, "http://127.0.0.1:18555/a2a");
	assert_int_equal(rc.version, A2A_V03);
	assert_false(rc.streaming);
	a2a_remote_card_free(&rc);
}

static void test_remote_card_finds_legacy_additional_interface(void **state)
{
	static const char card[] = J({"name":"x","url":"http://h/grpc","preferredTransport":"GRPC",
		"additionalInterfaces":[{"url":"http://h/rest","transport":"HTTP+JSON"},
		{"url":"http://h/rpc","transport":"JSONRPC"}]});
	static const char v03_interface[] = J({"supportedInterfaces":[{"url":"http://h/old",
		"protocolBinding":"jsonrpc","protocolVersion":"0.3"}]});
	struct a2a_remote_card rc;
	struct a2a_json_error err;
	assert_int_equal(a2a_remote_card_parse(card, strlen(card), &rc, &err), 0);
	assert_string_equal(rc.url, "http://h/rpc");
	assert_int_equal(rc.version, A2A_V03);
	a2a_remote_card_free(&rc);
	assert_int_equal(a2a_remote_card_parse(v03_interface, strlen(v03_interface), &rc, &err), 0);
	assert_string_equal(rc.url, "http://h/old");
	assert_int_equal(rc.version, A2A_V03);
	a2a_remote_card_free(&rc);
}

static void test_remote_card_rejects_cards_without_usable_jsonrpc_url(void **state)
{
	const char *bad[] = {
		"not json",
		J([1, 2]),
		J({"name":"x"}),
		J({"url":"file:///etc/passwd"}),
		J({"url":"http://"}),
		J({"url":"http://h/","preferredTransport":"GRPC"}),
		J({"supportedInterfaces":[{"url":"http://h/","protocolBinding":"GRPC",
			"protocolVersion":"1.0"}]}),
		J({"supportedInterfaces":[{"url":7,"protocolBinding":"JSONRPC"}]}),
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct a2a_remote_card rc;
		struct a2a_json_error err = { 0 };
		assert_int_equal(a2a_remote_card_parse(bad[i], strlen(bad[i]), &rc, &err),
				 A2A_ERR_INVALID_AGENT_RESPONSE);
		assert_int_equal(err.code, A2A_ERR_INVALID_AGENT_RESPONSE);
		assert_null(rc.url);
		a2a_remote_card_free(&rc);
	}
}

/* ---- outbound requests ------------------------------------------------------------------ */

static void test_send_request_in_both_versions(void **state)
{
	Agentanycast__V1__Message *m = message("m1", ROLE_USER, text_part("hi"));
	assert_json_eq(a2a_json_send_request("r1", m, A2A_V03, false, true), J({"jsonrpc":"2.0",
		"id":"r1","method":"message/send","params":{"message":{"kind":"message",
		"messageId":"m1","role":"user","parts":[{"kind":"text","text":"hi"}]},
		"configuration":{"blocking":true}}}));
	assert_json_eq(a2a_json_send_request("r2", m, A2A_V10, false, false), J({"jsonrpc":"2.0",
		"id":"r2","method":"SendMessage","params":{"message":{"messageId":"m1",
		"role":"ROLE_USER","parts":[{"text":"hi"}]},"configuration":{
		"returnImmediately":true}}}));
	assert_json_eq(a2a_json_send_request("r3", m, A2A_V03, true, true), J({"jsonrpc":"2.0",
		"id":"r3","method":"message/stream","params":{"message":{"kind":"message",
		"messageId":"m1","role":"user","parts":[{"kind":"text","text":"hi"}]}}}));
	assert_json_eq(a2a_json_send_request("r4", m, A2A_V10, true, true), J({"jsonrpc":"2.0",
		"id":"r4","method":"SendStreamingMessage","params":{"message":{"messageId":"m1",
		"role":"ROLE_USER","parts":[{"text":"hi"}]}}}));
	a2a_json_free_pb(m);
}

static void test_get_request_in_both_versions(void **state)
{
	assert_json_eq(a2a_json_get_request("g1", "t1", A2A_V03), J({"jsonrpc":"2.0","id":"g1",
		"method":"tasks/get","params":{"id":"t1"}}));
	assert_json_eq(a2a_json_get_request("g2", "t1", A2A_V10), J({"jsonrpc":"2.0","id":"g2",
		"method":"GetTask","params":{"id":"t1"}}));
}

static void test_cancel_request_in_both_versions(void **state)
{
	assert_json_eq(a2a_json_cancel_request("c1", "t1", A2A_V03), J({"jsonrpc":"2.0","id":"c1",
		"method":"tasks/cancel","params":{"id":"t1"}}));
	assert_json_eq(a2a_json_cancel_request("c2", "t1", A2A_V10), J({"jsonrpc":"2.0","id":"c2",
		"method":"CancelTask","params":{"id":"t1"}}));
}

/* ---- replies from remote agents -------------------------------------------------------- */

static void parse_event_ok(const char *body, enum a2a_version v, const char *expect_id,
			   struct a2a_event *e)
{
	struct a2a_json_error err = { 0 };
	int rc = a2a_event_parse(body, strlen(body), v, expect_id, e, &err);
	if (rc != 0)
		print_error("%s: %d %s\n", body, rc, err.message);
	assert_int_equal(rc, 0);
}

/* Both SDK send replies describe the same completed task t1/c1. */
static void assert_sdk_reply_task(const struct a2a_event *e)
{
	assert_int_equal(e->kind, A2A_EV_TASK);
	assert_string_equal(e->task_id, "t1");
	assert_string_equal(e->context_id, "c1");
	assert_int_equal(e->status, STATE(COMPLETED));
	assert_non_null(e->message);
	assert_string_equal(e->message->message_id, "am2");
	assert_int_equal(e->message->role, ROLE_AGENT);
	assert_string_equal(e->message->parts[0]->text_part->text, "done");
	assert_int_equal(e->n_artifacts, 1);
	const Agentanycast__V1__Artifact *a = e->artifacts[0];
	assert_string_equal(a->artifact_id, "a1");
	assert_string_equal(a->name, "out");
	assert_int_equal(a->n_parts, 3);
	assert_string_equal(a->parts[0]->text_part->text, "hi");
	assert_int_equal(a->parts[1]->content_case, CONTENT(DATA_PART));
	assert_true(a->parts[1]->data_part->data->fields[0]->value->number_value == 7.0);
	assert_string_equal(a->parts[2]->url_part->url, "http://x/y");
	assert_string_equal(a->parts[2]->url_part->filename, "y");
	assert_string_equal(a->parts[2]->media_type, "text/plain");
}

static void test_event_parses_sdk_v10_send_reply(void **state)
{
	struct a2a_event e;
	parse_event_ok(sdk_v10_send_reply, A2A_V10, NULL, &e);
	assert_sdk_reply_task(&e);
	a2a_event_free(&e);
}

static void test_event_parses_sdk_v03_send_reply(void **state)
{
	struct a2a_event e;
	parse_event_ok(sdk_v03_send_reply, A2A_V03, "x1", &e);
	assert_sdk_reply_task(&e);
	a2a_event_free(&e);
}

static void test_event_parses_sdk_stream_events(void **state)
{
	struct a2a_event e;
	parse_event_ok(sdk_v10_status, A2A_V10, NULL, &e);
	assert_int_equal(e.kind, A2A_EV_STATUS);
	assert_string_equal(e.task_id, "t1");
	assert_int_equal(e.status, STATE(WORKING));
	assert_string_equal(e.message->parts[0]->text_part->text, "working");
	assert_false(e.final);
	a2a_event_free(&e);

	parse_event_ok(sdk_v03_status_final, A2A_V03, NULL, &e);
	assert_int_equal(e.kind, A2A_EV_STATUS);
	assert_int_equal(e.status, STATE(COMPLETED));
	assert_true(e.final);
	a2a_event_free(&e);

	const char *artifacts[] = { sdk_v10_artifact, sdk_v03_artifact };
	for (int i = 0; i < 2; i++) {
		parse_event_ok(artifacts[i], i ? A2A_V03 : A2A_V10, NULL, &e);
		assert_int_equal(e.kind, A2A_EV_ARTIFACT);
		assert_string_equal(e.task_id, "t1");
		assert_string_equal(e.context_id, "c1");
		assert_int_equal(e.n_artifacts, 1);
		assert_int_equal(e.artifacts[0]->n_parts, 3);
		assert_null(e.message);
		a2a_event_free(&e);
	}
}

static void test_event_parses_messages_and_bare_tasks(void **state)
{
	struct a2a_event e;
	parse_event_ok(J({"jsonrpc":"2.0","id":"q","result":{"message":{"messageId":"x",
		"role":"ROLE_AGENT","parts":[{"text":"hi"}]}}}), A2A_V10, "q", &e);
	assert_int_equal(e.kind, A2A_EV_MESSAGE);
	assert_null(e.task_id);
	assert_string_equal(e.message->parts[0]->text_part->text, "hi");
	a2a_event_free(&e);
	parse_event_ok(J({"jsonrpc":"2.0","id":"q","result":{"kind":"message","messageId":"x",
		"role":"agent","taskId":"t3","parts":[]}}), A2A_V03, NULL, &e);
	assert_int_equal(e.kind, A2A_EV_MESSAGE);
	assert_string_equal(e.task_id, "t3");
	a2a_event_free(&e);
	/* GetTask answers a bare task; a numeric state is the A2A proto's (3 = COMPLETED). */
	parse_event_ok(J({"jsonrpc":"2.0","id":"q","result":{"id":"t4","status":{"state":3}}}),
		       A2A_V10, NULL, &e);
	assert_int_equal(e.kind, A2A_EV_TASK);
	assert_string_equal(e.task_id, "t4");
	assert_int_equal(e.status, STATE(COMPLETED));
	a2a_event_free(&e);
	/* Our own renderings read back. */
	Agentanycast__V1__Task *t = sample_task();
	json_t *reply = a2a_json_result(json_null(), a2a_json_wrap(A2A_V10, A2A_METHOD_SEND, "task",
								  a2a_json_task(t, A2A_V10, -1)));
	char *text = json_dumps(reply, 0);
	parse_event_ok(text, A2A_V10, NULL, &e);
	assert_int_equal(e.kind, A2A_EV_TASK);
	assert_int_equal(e.status, STATE(COMPLETED));
	assert_string_equal(e.message->message_id, "am2");
	a2a_event_free(&e);
	free(text);
	json_decref(reply);
	a2a_json_free_pb(t);
}

static void test_event_reports_remote_errors(void **state)
{
	static const char v10_err[] = J({"jsonrpc":"2.0","id":5,"error":{"code":-32001,
		"message":"Task not found: nope","data":[{"reason":"TASK_NOT_FOUND"}]}});
	static const char null_id_err[] = J({"jsonrpc":"2.0","id":null,"error":{"code":-32700,
		"message":"Parse error"}});
	struct a2a_event e;
	struct a2a_json_error err;
	assert_int_equal(a2a_event_parse(v10_err, strlen(v10_err), A2A_V10, NULL, &e, &err),
			 -32001);
	assert_int_equal(err.code, -32001);
	assert_string_equal(err.message, "Task not found: nope");
	assert_null(e.task_id);
	a2a_event_free(&e);
	assert_int_equal(a2a_event_parse(null_id_err, strlen(null_id_err), A2A_V03, "r1", &e, &err),
			 -32700);
	assert_string_equal(err.message, "Parse error");
	a2a_event_free(&e);
}

static void test_event_rejects_malformed_replies(void **state)
{
	const char *bad[] = {
		"",
		"[]",
		J({"id":"r1","result":{"kind":"task","id":"t"}}),
		J({"jsonrpc":"2.0","id":"other","result":{"kind":"task","id":"t"}}),
		J({"jsonrpc":"2.0","id":1,"result":{"kind":"task","id":"t"}}),
		J({"jsonrpc":"2.0","id":"r1","result":[]}),
		J({"jsonrpc":"2.0","id":"r1"}),
		J({"jsonrpc":"2.0","id":"r1","result":{"kind":"weird"}}),
		J({"jsonrpc":"2.0","id":"r1","result":{"kind":"task"}}),
		J({"jsonrpc":"2.0","id":"r1","result":{"kind":"status-update","taskId":"t"}}),
		J({"jsonrpc":"2.0","id":"r1","result":{"kind":"artifact-update","taskId":"t"}}),
		J({"jsonrpc":"2.0","id":"r1","result":{"kind":"message","role":"bot","parts":[]}}),
		J({"jsonrpc":"2.0","id":"r1","result":{"task":{"id":"t"},"message":{}}}),
		J({"jsonrpc":"2.0","id":"r1","result":{"nothing":1}}),
		J({"jsonrpc":"2.0","id":"r1","error":{"code":"x","message":"m"}}),
		J({"jsonrpc":"2.0","id":"r1","error":"boom"}),
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct a2a_event e;
		struct a2a_json_error err = { 0 };
		int rc = a2a_event_parse(bad[i], strlen(bad[i]), A2A_V10, "r1", &e, &err);
		if (rc != A2A_ERR_INVALID_AGENT_RESPONSE)
			print_error("case %zu: %d %s\n", i, rc, err.message);
		assert_int_equal(rc, A2A_ERR_INVALID_AGENT_RESPONSE);
		assert_null(e.task_id);
		assert_null(e.message);
		assert_null(e.artifacts);
		a2a_event_free(&e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_parses_sdk_v10_send_message),
		cmocka_unit_test(test_request_parses_sdk_v03_message_send),
		cmocka_unit_test(test_request_send_blocking_defaults_and_flags),
		cmocka_unit_test(test_request_send_gives_missing_message_id_a_uuid),
		cmocka_unit_test(test_request_skill_id_from_params_metadata),
		cmocka_unit_test(test_request_get_in_both_versions),
		cmocka_unit_test(test_request_cancel_and_resubscribe_in_both_versions),
		cmocka_unit_test(test_request_legacy_tasks_send_under_either_version),
		cmocka_unit_test(test_request_legacy_role_other_than_agent_is_user),
		cmocka_unit_test(test_request_rejects_method_of_the_other_version),
		cmocka_unit_test(test_request_answers_unoffered_standard_methods_with_their_codes),
		cmocka_unit_test(test_request_rejects_unknown_version_but_echoes_id),
		cmocka_unit_test(test_request_empty_or_padded_version_header),
		cmocka_unit_test(test_request_rejects_what_is_not_a_request_object),
		cmocka_unit_test(test_request_rejects_duplicate_keys),
		cmocka_unit_test(test_request_ids_echo_exactly),
		cmocka_unit_test(test_request_bounds_id_lengths),
		cmocka_unit_test(test_request_bounds_nesting_depth),
		cmocka_unit_test(test_request_bounds_part_count),
		cmocka_unit_test(test_request_rejects_bad_params),
		cmocka_unit_test(test_request_accepts_base64_variants_and_v10_aliases),
		cmocka_unit_test(test_message_renders_every_part_kind_in_v10),
		cmocka_unit_test(test_message_renders_every_part_kind_in_v03),
		cmocka_unit_test(test_parts_round_trip_through_v10),
		cmocka_unit_test(test_parts_round_trip_through_v03),
		cmocka_unit_test(test_task_renders_in_v10),
		cmocka_unit_test(test_task_renders_in_v03),
		cmocka_unit_test(test_task_submitted_has_no_status_message_and_empty_lists_vanish),
		cmocka_unit_test(test_status_event_renders_in_both_versions),
		cmocka_unit_test(test_artifact_event_renders_in_both_versions),
		cmocka_unit_test(test_wrap_follows_each_version_and_method),
		cmocka_unit_test(test_legacy_task_renders_reference_f3_shape),
		cmocka_unit_test(test_states_name_and_parse),
		cmocka_unit_test(test_engine_strings_that_are_not_utf8_still_render),
		cmocka_unit_test(test_card_renders_v10_shape),
		cmocka_unit_test(test_card_renders_v03_shape_with_v10_interfaces),
		cmocka_unit_test(test_our_cards_parse_as_remote_cards),
		cmocka_unit_test(test_remote_card_parses_sdk_v10_card),
		cmocka_unit_test(test_remote_card_parses_sdk_v03_card),
		cmocka_unit_test(test_remote_card_finds_legacy_additional_interface),
		cmocka_unit_test(test_remote_card_rejects_cards_without_usable_jsonrpc_url),
		cmocka_unit_test(test_send_request_in_both_versions),
		cmocka_unit_test(test_get_request_in_both_versions),
		cmocka_unit_test(test_cancel_request_in_both_versions),
		cmocka_unit_test(test_event_parses_sdk_v10_send_reply),
		cmocka_unit_test(test_event_parses_sdk_v03_send_reply),
		cmocka_unit_test(test_event_parses_sdk_stream_events),
		cmocka_unit_test(test_event_parses_messages_and_bare_tasks),
		cmocka_unit_test(test_event_reports_remote_errors),
		cmocka_unit_test(test_event_rejects_malformed_replies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
