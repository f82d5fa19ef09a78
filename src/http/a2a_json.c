/* a2a_json: the standard A2A JSON-RPC wire (A2A-HTTP.md; v0.3 and v1.0 as @a2a-js/sdk 1.3.0
 * speaks them, plus REFERENCE.md F.3's legacy tasks/send) to and from agentanycast.v1
 * protobuf trees, over jansson.
 *
 * Decisions worth knowing (each is also noted where it is made):
 * - Documents are loaded with JSON_REJECT_DUPLICATES: a key given twice is ambiguous (JS
 *   keeps the last, other parsers the first), real clients never send one, so we fail closed.
 * - The nesting limit A2A_JSON_MAX_DEPTH counts from the document root and is checked once
 *   after loading, so every converter below sees bounded input; they still carry a depth
 *   argument and refuse to go deeper, so no recursion depends on that check alone.
 * - A DataPart holds a google.protobuf.Struct, i.e. a JSON object. A v1.0 `data` that is not
 *   an object is wrapped as {"value": …} and the part is marked with the metadata entry
 *   data_part_compat="true" — the very convention the JS SDK uses between v1.0 and v0.3
 *   (its v0.3 side sends {"value": …} plus metadata {"data_part_compat": true}). Rendering
 *   undoes the wrap for v1.0 and shows the boolean flag for v0.3, so values round-trip.
 * - Part metadata is a string map in our proto; string values are kept, others dropped.
 * - v0.3 configuration.blocking absent means blocking (header contract; v1.0's default
 *   returnImmediately=false means the same). */
#include "http/a2a_json.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "a2a/pb.h"
#include "base/clock.h"
#include "base/mem.h"
#include "base/uuid.h"
#include "google/protobuf/struct.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"

#ifndef AA_VERSION
#define AA_VERSION "0.0.0"
#endif

typedef Agentanycast__V1__Task pb_task;
typedef Agentanycast__V1__Message pb_message;
typedef Agentanycast__V1__Part pb_part;
typedef Agentanycast__V1__Artifact pb_artifact;
typedef Agentanycast__V1__TaskStatus pb_state;
typedef Google__Protobuf__Struct pb_struct;
typedef Google__Protobuf__Value pb_value;

#define ROLE_USER AGENTANYCAST__V1__MESSAGE_ROLE__MESSAGE_ROLE_USER
#define ROLE_AGENT AGENTANYCAST__V1__MESSAGE_ROLE__MESSAGE_ROLE_AGENT
#define STATE(x) AGENTANYCAST__V1__TASK_STATUS__TASK_STATUS_##x

/* Rendering walks trees the engine holds. Those came through a2a_pb_unpack (at most 100
 * message levels, about 33 Struct levels) or through our own parsers, so this cap never cuts
 * real data; it only guarantees bounded recursion. Deeper values render as null. */
#define RENDER_MAX_DEPTH (2 * A2A_JSON_MAX_DEPTH)

/* The metadata entry marking a DataPart whose JSON value was not an object (see above). */
#define DATA_COMPAT_KEY "data_part_compat"

/* ---- small helpers ------------------------------------------------------------------- */

static int fail(struct a2a_json_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Fills *err (which may be NULL) and returns code, so callers can `return fail(…)`. */
static int fail(struct a2a_json_error *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		err->code = code;
		vsnprintf(err->message, sizeof err->message, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* How the shared parsers report: inbound requests fail with -32602, replies from remote
 * agents with -32006; v selects the JSON shapes. */
struct pctx {
	enum a2a_version v;
	int code;
	struct a2a_json_error *err;
};

static char *dup_or_empty(const char *s)
{
	return s && *s ? aa_strdup(s) : (char *)protobuf_c_empty_string;
}

static char *dup_or_null(const char *s)
{
	return s ? aa_strdup(s) : NULL;
}

static bool nonempty(const char *s)
{
	return s && *s;
}

/* A JSON string for s. Strings from the engine are not guaranteed to be UTF-8, and jansson
 * refuses those; a reply must stay valid JSON, so the non-ASCII bytes of such a string are
 * replaced by '?' (lossy, but only for input that was already broken). */
static json_t *jstr(const char *s)
{
	if (!s)
		s = "";
	json_t *j = json_string(s);
	if (j)
		return j;
	char *copy = aa_strdup(s);
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

/* Sets obj[key] = value (stolen). A key that is not UTF-8 (a Struct key from the engine)
 * is repaired as jstr() repairs strings. json_object_set_new() would release value on
 * failure, so the value is set with a reference of its own and released once at the end. */
static void put(json_t *obj, const char *key, json_t *value)
{
	if (!value)
		return;
	if (json_object_set(obj, key, value) != 0) {
		char *copy = aa_strdup(key);
		for (char *p = copy; *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
		json_object_set(obj, copy, value);
		free(copy);
	}
	json_decref(value);
}

static void put_str(json_t *obj, const char *key, const char *s)
{
	put(obj, key, jstr(s));
}

/* protobuf-JSON omits fields at their default; so do we, for optional strings. */
static void put_str_nonempty(json_t *obj, const char *key, const char *s)
{
	if (nonempty(s))
		put_str(obj, key, s);
}

/* obj[camel], or in v1.0 also obj[snake] (protobuf-JSON parsers accept both names).
 * JSON null counts as absent, as protobuf-JSON and the SDK's isSet() treat it. */
static json_t *member(const struct pctx *c, const json_t *obj, const char *camel, const char *snake)
{
	json_t *j = json_object_get(obj, camel);
	if (!j && snake && c->v == A2A_V10)
		j = json_object_get(obj, snake);
	return json_is_null(j) ? NULL : j;
}

/* An optional string member into *out (borrowed from the JSON tree; NULL when absent).
 * max > 0 bounds its length in bytes. */
static int get_str(const struct pctx *c, const json_t *obj, const char *camel, const char *snake,
		   size_t max, const char **out)
{
	json_t *j = member(c, obj, camel, snake);
	*out = NULL;
	if (!j)
		return 0;
	if (!json_is_string(j))
		return fail(c->err, c->code, "%s must be a string", camel);
	if (max && json_string_length(j) > max)
		return fail(c->err, c->code, "%s longer than %zu bytes", camel, max);
	*out = json_string_value(j);
	return 0;
}

/* An optional id (task, context, message, artifact): at most A2A_JSON_MAX_ID bytes; the
 * empty string counts as absent (it is protobuf-JSON's default). */
static int get_id(const struct pctx *c, const json_t *obj, const char *camel, const char *snake,
		  const char **out)
{
	int rc = get_str(c, obj, camel, snake, A2A_JSON_MAX_ID, out);
	if (rc == 0 && *out && !**out)
		*out = NULL;
	return rc;
}

static int get_bool(const struct pctx *c, const json_t *obj, const char *camel, const char *snake,
		    bool *out)
{
	json_t *j = member(c, obj, camel, snake);
	if (!j)
		return 0;
	if (!json_is_boolean(j))
		return fail(c->err, c->code, "%s must be a boolean", camel);
	*out = json_is_true(j);
	return 0;
}

/* An optional non-negative count such as historyLength; large values saturate at INT_MAX.
 * An integral real (3.0) is accepted: JSON does not distinguish them. */
static int get_count(const struct pctx *c, const json_t *obj, const char *camel, const char *snake,
		     int *out)
{
	json_t *j = member(c, obj, camel, snake);
	if (!j)
		return 0;
	double d;
	if (json_is_integer(j))
		d = (double)json_integer_value(j);
	else if (json_is_real(j) && json_real_value(j) == floor(json_real_value(j)))
		d = json_real_value(j);
	else
		return fail(c->err, c->code, "%s must be an integer", camel);
	if (d < 0)
		return fail(c->err, c->code, "%s must not be negative", camel);
	*out = d > INT_MAX ? INT_MAX : (int)d;
	return 0;
}

/* An optional object member; anything else but null is a type error. */
static int get_object(const struct pctx *c, const json_t *obj, const char *camel, const char *snake,
		      json_t **out)
{
	json_t *j = member(c, obj, camel, snake);
	*out = NULL;
	if (j && !json_is_object(j))
		return fail(c->err, c->code, "%s must be an object", camel);
	*out = j;
	return 0;
}

/* True when no value in j nests deeper than max levels (j itself is level depth). */
static bool depth_ok(json_t *j, int depth, int max)
{
	if (depth > max)
		return false;
	if (json_is_object(j)) {
		const char *key;
		json_t *v;
		json_object_foreach(j, key, v)
			if (!depth_ok(v, depth + 1, max))
				return false;
	} else if (json_is_array(j)) {
		size_t i;
		json_t *v;
		json_array_foreach(j, i, v)
			if (!depth_ok(v, depth + 1, max))
				return false;
	}
	return true;
}

/* Any JSON text (RFC 8259), so that a valid non-object body is told apart (-32600) from
 * one that is not JSON at all (-32700); duplicate keys are refused (see the top). */
static json_t *load(const char *body, size_t len, json_error_t *jerr)
{
	return json_loadb(body ? body : "", body ? len : 0,
			  JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, jerr);
}

/* ---- task states ----------------------------------------------------------------------- */

static const struct {
	pb_state state;
	const char *v03, *v10;
} state_names[] = {
	{ STATE(SUBMITTED), "submitted", "TASK_STATE_SUBMITTED" },
	{ STATE(WORKING), "working", "TASK_STATE_WORKING" },
	{ STATE(INPUT_REQUIRED), "input-required", "TASK_STATE_INPUT_REQUIRED" },
	{ STATE(COMPLETED), "completed", "TASK_STATE_COMPLETED" },
	{ STATE(FAILED), "failed", "TASK_STATE_FAILED" },
	{ STATE(CANCELED), "canceled", "TASK_STATE_CANCELED" },
	{ STATE(REJECTED), "rejected", "TASK_STATE_REJECTED" },
};
#define N_STATES (sizeof state_names / sizeof state_names[0])

const char *a2a_json_state_name(pb_state s, enum a2a_version v)
{
	for (size_t i = 0; i < N_STATES; i++)
		if (state_names[i].state == s)
			return v == A2A_V10 ? state_names[i].v10 : state_names[i].v03;
	return v == A2A_V10 ? "TASK_STATE_UNSPECIFIED" : "unknown";
}

pb_state a2a_json_state_parse(const char *s)
{
	for (size_t i = 0; s && i < N_STATES; i++)
		if (!strcmp(s, state_names[i].v03) || !strcmp(s, state_names[i].v10))
			return state_names[i].state;
	return STATE(UNSPECIFIED); /* also "auth-required", "unknown", TASK_STATE_AUTH_REQUIRED */
}

/* protobuf-JSON may carry an enum as its number; these are the numbers of the A2A v1.0
 * proto's TaskState (not ours: there COMPLETED is 3 and INPUT_REQUIRED 6). */
static pb_state state_from_a2a_number(json_int_t n)
{
	static const pb_state by_number[] = {
		STATE(UNSPECIFIED), STATE(SUBMITTED), STATE(WORKING),	  STATE(COMPLETED),
		STATE(FAILED),	    STATE(CANCELED),  STATE(INPUT_REQUIRED), STATE(REJECTED),
	};
	if (n < 0 || n >= (json_int_t)(sizeof by_number / sizeof by_number[0]))
		return STATE(UNSPECIFIED);
	return by_number[n];
}

bool a2a_json_state_terminal(pb_state s)
{
	return s == STATE(COMPLETED) || s == STATE(FAILED) || s == STATE(CANCELED) ||
	       s == STATE(REJECTED);
}

/* ---- base64 (protobuf-JSON bytes, v0.3 file bytes) ---------------------------------- */

static char *base64_encode(const uint8_t *p, size_t n)
{
	if (n == 0)
		return aa_strdup("");
	size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *out = aa_malloc(cap);
	sodium_bin2base64(out, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

/* Standard or URL-safe alphabet, padded or not: protobuf-JSON parsers accept all four. */
static int base64_decode(const char *s, size_t len, ProtobufCBinaryData *out)
{
	for (int pad = 0; pad < 2 && len > 0 && s[len - 1] == '='; pad++)
		len--;
	size_t cap = len / 4 * 3 + 3, n = 0;
	uint8_t *buf = aa_malloc(cap);
	if (sodium_base642bin(buf, cap, s, len, NULL, &n, NULL,
			      sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0 &&
	    sodium_base642bin(buf, cap, s, len, NULL, &n, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
		free(buf);
		return -1;
	}
	if (n == 0) {
		free(buf);
		buf = NULL;
	}
	out->data = buf;
	out->len = n;
	return 0;
}

/* ---- JSON <-> google.protobuf.Struct --------------------------------------------------- */

static pb_struct *struct_from_json(json_t *obj, int depth);

/* NULL when the value nests deeper than A2A_JSON_MAX_DEPTH (see the top of the file). */
static pb_value *value_from_json(json_t *j, int depth)
{
	if (depth > A2A_JSON_MAX_DEPTH)
		return NULL;
	pb_value *v = aa_malloc(sizeof *v);
	google__protobuf__value__init(v);
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE;
		v->struct_value = struct_from_json(j, depth);
		if (!v->struct_value)
			goto too_deep;
		break;
	case JSON_ARRAY: {
		Google__Protobuf__ListValue *l = aa_malloc(sizeof *l);
		google__protobuf__list_value__init(l);
		v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE;
		v->list_value = l;
		size_t n = json_array_size(j);
		if (n)
			l->values = aa_calloc(n, sizeof *l->values);
		for (size_t i = 0; i < n; i++) {
			l->values[i] = value_from_json(json_array_get(j, i), depth + 1);
			if (!l->values[i])
				goto too_deep;
			l->n_values++;
		}
		break;
	}
	case JSON_STRING:
		v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE;
		v->string_value = aa_strdup(json_string_value(j));
		break;
	case JSON_INTEGER:
	case JSON_REAL:
		v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE;
		v->number_value = json_number_value(j);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE;
		v->bool_value = json_is_true(j);
		break;
	default:
		v->kind_case = GOOGLE__PROTOBUF__VALUE__KIND_NULL_VALUE;
		v->null_value = GOOGLE__PROTOBUF__NULL_VALUE__NULL_VALUE;
		break;
	}
	return v;
too_deep:
	protobuf_c_message_free_unpacked(&v->base, NULL);
	return NULL;
}

/* obj must be a JSON object; NULL when too deep. */
static pb_struct *struct_from_json(json_t *obj, int depth)
{
	if (depth > A2A_JSON_MAX_DEPTH)
		return NULL;
	pb_struct *s = aa_malloc(sizeof *s);
	google__protobuf__struct__init(s);
	size_t n = json_object_size(obj);
	if (n)
		s->fields = aa_calloc(n, sizeof *s->fields);
	const char *key;
	json_t *val;
	json_object_foreach(obj, key, val) {
		Google__Protobuf__Struct__FieldsEntry *e = aa_malloc(sizeof *e);
		google__protobuf__struct__fields_entry__init(e);
		e->key = dup_or_empty(key);
		s->fields[s->n_fields++] = e;
		e->value = value_from_json(val, depth + 1);
		if (!e->value) {
			protobuf_c_message_free_unpacked(&s->base, NULL);
			return NULL;
		}
	}
	return s;
}

/* JS numbers that are whole print without a fraction; keep that (1, not 1.0) for values
 * a double holds exactly. JSON has no NaN or infinity: those become null. */
static json_t *number_json(double d)
{
	if (!isfinite(d))
		return json_null();
	if (d == floor(d) && fabs(d) <= 9007199254740992.0)
		return json_integer((json_int_t)d);
	return json_real(d);
}

static json_t *struct_to_json(const pb_struct *s, int depth);

static json_t *value_to_json(const pb_value *v, int depth)
{
	if (!v || depth > RENDER_MAX_DEPTH)
		return json_null();
	switch (v->kind_case) {
	case GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE:
		return number_json(v->number_value);
	case GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE:
		return jstr(v->string_value);
	case GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE:
		return json_boolean(v->bool_value);
	case GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE:
		return struct_to_json(v->struct_value, depth);
	case GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE: {
		json_t *a = json_array();
		for (size_t i = 0; v->list_value && i < v->list_value->n_values; i++)
			json_array_append_new(a, value_to_json(v->list_value->values[i], depth + 1));
		return a;
	}
	default:
		return json_null();
	}
}

static json_t *struct_to_json(const pb_struct *s, int depth)
{
	if (depth > RENDER_MAX_DEPTH)
		return json_null();
	json_t *o = json_object();
	for (size_t i = 0; s && i < s->n_fields; i++) {
		const Google__Protobuf__Struct__FieldsEntry *e = s->fields[i];
		if (e && e->key)
			put(o, e->key, value_to_json(e->value, depth + 1));
	}
	return o;
}

/* ---- building parts ------------------------------------------------------------------ */

static pb_part *part_new(void)
{
	pb_part *p = aa_malloc(sizeof *p);
	agentanycast__v1__part__init(p);
	return p;
}

static void part_set_text(pb_part *p, const char *text)
{
	Agentanycast__V1__TextPart *t = aa_malloc(sizeof *t);
	agentanycast__v1__text_part__init(t);
	t->text = dup_or_empty(text);
	p->content_case = AGENTANYCAST__V1__PART__CONTENT_TEXT_PART;
	p->text_part = t;
}

static void part_set_url(pb_part *p, const char *url, const char *filename)
{
	Agentanycast__V1__UrlPart *u = aa_malloc(sizeof *u);
	agentanycast__v1__url_part__init(u);
	u->url = dup_or_empty(url);
	u->filename = dup_or_empty(filename);
	p->content_case = AGENTANYCAST__V1__PART__CONTENT_URL_PART;
	p->url_part = u;
}

static void part_set_raw(pb_part *p, ProtobufCBinaryData data, const char *filename)
{
	Agentanycast__V1__RawPart *r = aa_malloc(sizeof *r);
	agentanycast__v1__raw_part__init(r);
	r->data = data;
	r->filename = dup_or_empty(filename);
	p->content_case = AGENTANYCAST__V1__PART__CONTENT_RAW_PART;
	p->raw_part = r;
}

static Agentanycast__V1__Part__MetadataEntry *metadata_entry(const char *key, const char *value)
{
	Agentanycast__V1__Part__MetadataEntry *e = aa_malloc(sizeof *e);
	agentanycast__v1__part__metadata_entry__init(e);
	e->key = dup_or_empty(key);
	e->value = dup_or_empty(value);
	return e;
}

/* Adds one entry (the compat flag); bulk metadata is sized up front instead, so that a
 * part with many entries costs no repeated reallocation. */
static void part_add_metadata(pb_part *p, const char *key, const char *value)
{
	p->metadata = aa_realloc(p->metadata, (p->n_metadata + 1) * sizeof *p->metadata);
	p->metadata[p->n_metadata++] = metadata_entry(key, value);
}

static const char *part_metadata(const pb_part *p, const char *key)
{
	for (size_t i = 0; i < p->n_metadata; i++)
		if (p->metadata[i] && p->metadata[i]->key && !strcmp(p->metadata[i]->key, key))
			return p->metadata[i]->value;
	return NULL;
}

/* The JSON value of a `data` member as a DataPart: an object is the Struct itself; any other
 * value is wrapped as {"value": …} and *wrapped set (see the top of the file). */
static int part_set_data(const struct pctx *c, pb_part *p, json_t *data, bool *wrapped)
{
	json_t *obj = data;
	*wrapped = !json_is_object(data);
	if (*wrapped) {
		obj = json_object();
		json_object_set(obj, "value", data);
	}
	/* The data value sits at least five levels down any request or reply, so depth 2
	 * here is conservative; the document check has bounded it already. */
	pb_struct *s = struct_from_json(obj, 2);
	if (*wrapped)
		json_decref(obj);
	if (!s)
		return fail(c->err, c->code, "data nested deeper than %d levels",
			    A2A_JSON_MAX_DEPTH);
	Agentanycast__V1__DataPart *d = aa_malloc(sizeof *d);
	agentanycast__v1__data_part__init(d);
	d->data = s;
	p->content_case = AGENTANYCAST__V1__PART__CONTENT_DATA_PART;
	p->data_part = d;
	return 0;
}

/* Part metadata is a free-form object on the wire but a string map in our proto: string
 * values are kept and others dropped. The compat flag is handled by the callers. */
static int part_metadata_from_json(const struct pctx *c, pb_part *p, const json_t *part)
{
	json_t *md;
	int rc = get_object(c, part, "metadata", NULL, &md);
	if (rc || !md)
		return rc;
	const char *key;
	json_t *val;
	size_t n = 0;
	json_object_foreach(md, key, val)
		n += json_is_string(val) && strcmp(key, DATA_COMPAT_KEY) != 0;
	if (n == 0)
		return 0;
	p->metadata = aa_calloc(n, sizeof *p->metadata);
	json_object_foreach(md, key, val)
		if (json_is_string(val) && strcmp(key, DATA_COMPAT_KEY) != 0)
			p->metadata[p->n_metadata++] = metadata_entry(key, json_string_value(val));
	return 0;
}

/* ---- parts from JSON ------------------------------------------------------------------- */

/* v0.3 {"kind":"file","file":{"bytes"|"uri","name"?,"mimeType"?}}. */
static int file_part_from_v03(const struct pctx *c, pb_part *p, const json_t *part)
{
	json_t *file;
	const char *bytes, *uri, *name, *mime;
	int rc = get_object(c, part, "file", NULL, &file);
	if (rc)
		return rc;
	if (!file)
		return fail(c->err, c->code, "file part without file");
	if ((rc = get_str(c, file, "bytes", NULL, 0, &bytes)) ||
	    (rc = get_str(c, file, "uri", NULL, 0, &uri)) ||
	    (rc = get_str(c, file, "name", NULL, 0, &name)) ||
	    (rc = get_str(c, file, "mimeType", NULL, 0, &mime)))
		return rc;
	if (bytes && uri)
		return fail(c->err, c->code, "file has both bytes and uri");
	if (bytes) {
		ProtobufCBinaryData data;
		if (base64_decode(bytes, strlen(bytes), &data) != 0)
			return fail(c->err, c->code, "file.bytes is not base64");
		part_set_raw(p, data, name);
	} else if (uri) {
		part_set_url(p, uri, name);
	} else {
		return fail(c->err, c->code, "file has neither bytes nor uri");
	}
	p->media_type = dup_or_empty(mime);
	return 0;
}

/* v0.3 {"kind":"text"|"file"|"data", …, "metadata"?}. */
static int part_from_v03(const struct pctx *c, pb_part *p, json_t *part)
{
	const char *kind, *text;
	int rc = get_str(c, part, "kind", NULL, 0, &kind);
	if (rc)
		return rc;
	if (!kind)
		return fail(c->err, c->code, "part without kind");
	if ((rc = part_metadata_from_json(c, p, part)))
		return rc;
	if (!strcmp(kind, "text")) {
		if ((rc = get_str(c, part, "text", NULL, 0, &text)))
			return rc;
		if (!text)
			return fail(c->err, c->code, "text part without text");
		part_set_text(p, text);
		return 0;
	}
	if (!strcmp(kind, "file"))
		return file_part_from_v03(c, p, part);
	if (strcmp(kind, "data") != 0)
		return fail(c->err, c->code, "unknown part kind \"%.40s\"", kind);

	json_t *data = json_object_get(part, "data");
	bool wrapped;
	if (!data)
		return fail(c->err, c->code, "data part without data");
	if ((rc = part_set_data(c, p, data, &wrapped)))
		return rc;
	/* The SDK's v0.3 side of the compat convention: {"value": x} + flag true. */
	json_t *md = json_object_get(part, "metadata");
	bool flagged = json_is_true(json_object_get(md, DATA_COMPAT_KEY)) &&
		       json_object_size(data) == 1 && json_object_get(data, "value");
	if (wrapped || flagged)
		part_add_metadata(p, DATA_COMPAT_KEY, "true");
	return 0;
}

/* v1.0 {"text"|"raw"|"url"|"data", "filename"?, "mediaType"?, "metadata"?}: exactly one
 * content member (protobuf-JSON rejects a oneof set twice). */
static int part_from_v10(const struct pctx *c, pb_part *p, json_t *part)
{
	json_t *text = member(c, part, "text", NULL), *raw = member(c, part, "raw", NULL);
	json_t *url = member(c, part, "url", NULL), *data = member(c, part, "data", NULL);
	const char *filename, *media;
	int rc, set = !!text + !!raw + !!url + !!data;
	if (set != 1)
		return fail(c->err, c->code, "part must have exactly one of text, raw, url, data");
	if ((rc = get_str(c, part, "filename", NULL, 0, &filename)) ||
	    (rc = get_str(c, part, "mediaType", "media_type", 0, &media)) ||
	    (rc = part_metadata_from_json(c, p, part)))
		return rc;
	p->media_type = dup_or_empty(media);
	if ((text && !json_is_string(text)) || (raw && !json_is_string(raw)) ||
	    (url && !json_is_string(url)))
		return fail(c->err, c->code, "part text, raw and url must be strings");
	if (text) {
		part_set_text(p, json_string_value(text));
	} else if (url) {
		part_set_url(p, json_string_value(url), filename);
	} else if (raw) {
		ProtobufCBinaryData bytes;
		if (base64_decode(json_string_value(raw), json_string_length(raw), &bytes) != 0)
			return fail(c->err, c->code, "part raw is not base64");
		part_set_raw(p, bytes, filename);
	} else {
		bool wrapped;
		if ((rc = part_set_data(c, p, data, &wrapped)))
			return rc;
		if (wrapped)
			part_add_metadata(p, DATA_COMPAT_KEY, "true");
	}
	return 0;
}

/* REFERENCE F.3: {"type","text"?,"url"?,"filename"?}; "url" → UrlPart, anything else →
 * TextPart with the text field (usually ""), as the Go bridge did. */
static int part_from_legacy(const struct pctx *c, pb_part *p, json_t *part)
{
	const char *type, *text, *url, *filename;
	int rc;
	if ((rc = get_str(c, part, "type", NULL, 0, &type)) ||
	    (rc = get_str(c, part, "text", NULL, 0, &text)) ||
	    (rc = get_str(c, part, "url", NULL, 0, &url)) ||
	    (rc = get_str(c, part, "filename", NULL, 0, &filename)))
		return rc;
	if (type && !strcmp(type, "url"))
		part_set_url(p, url, filename);
	else
		part_set_text(p, text);
	return 0;
}

typedef int (*part_parser)(const struct pctx *c, pb_part *p, json_t *part);

/* Appends the parts of the JSON array parts to (*arr, *n), which the caller's tree owns so
 * that a failure halfway is freed with it. */
static int parts_from_json(const struct pctx *c, json_t *parts, part_parser parse,
			   pb_part ***arr, size_t *n)
{
	if (!json_is_array(parts))
		return fail(c->err, c->code, "parts must be an array");
	size_t count = json_array_size(parts);
	if (count > A2A_JSON_MAX_PARTS)
		return fail(c->err, c->code, "more than %d parts", A2A_JSON_MAX_PARTS);
	if (count)
		*arr = aa_calloc(count, sizeof **arr);
	for (size_t i = 0; i < count; i++) {
		json_t *part = json_array_get(parts, i);
		if (!json_is_object(part))
			return fail(c->err, c->code, "part %zu is not an object", i);
		pb_part *p = part_new();
		(*arr)[(*n)++] = p;
		int rc = parse(c, p, part);
		if (rc)
			return rc;
	}
	return 0;
}

static part_parser part_parser_for(enum a2a_version v)
{
	return v == A2A_V10 ? part_from_v10 : part_from_v03;
}

/* ---- messages and artifacts from JSON --------------------------------------------------- */

static pb_message *message_new(const char *message_id, Agentanycast__V1__MessageRole role)
{
	pb_message *m = aa_malloc(sizeof *m);
	agentanycast__v1__message__init(m);
	if (nonempty(message_id)) {
		m->message_id = aa_strdup(message_id);
	} else {
		m->message_id = aa_malloc(AA_UUID_STR_LEN + 1);
		uuid_v4_string(m->message_id);
	}
	m->role = role;
	m->created_at = a2a_pb_timestamp_new(aa_clock_wall_ms());
	return m;
}

static int role_from_json(const struct pctx *c, const json_t *msg,
			  Agentanycast__V1__MessageRole *out)
{
	json_t *role = member(c, msg, "role", NULL);
	const char *s = json_string_value(role);
	if (c->v == A2A_V03) {
		if (s && !strcmp(s, "user"))
			*out = ROLE_USER;
		else if (s && !strcmp(s, "agent"))
			*out = ROLE_AGENT;
		else
			return fail(c->err, c->code, "message.role must be \"user\" or \"agent\"");
		return 0;
	}
	/* protobuf-JSON: the enum's name, or its number (ROLE_USER = 1, ROLE_AGENT = 2). */
	json_int_t n = json_is_integer(role) ? json_integer_value(role) : 0;
	if ((s && !strcmp(s, "ROLE_USER")) || n == 1)
		*out = ROLE_USER;
	else if ((s && !strcmp(s, "ROLE_AGENT")) || n == 2)
		*out = ROLE_AGENT;
	else
		return fail(c->err, c->code, "message.role must be ROLE_USER or ROLE_AGENT");
	return 0;
}

/* What a message carries besides our proto's fields (borrowed from the JSON tree). */
struct message_extra {
	const char *task_id, *context_id;
	json_t *metadata;
};

/* A v0.3 or v1.0 message. v0.3 requires parts; v1.0 omits an empty list. */
static int message_from_json(const struct pctx *c, json_t *msg, pb_message **out,
			     struct message_extra *x)
{
	const char *mid;
	Agentanycast__V1__MessageRole role = ROLE_USER;
	int rc;
	*out = NULL;
	memset(x, 0, sizeof *x);
	if (!json_is_object(msg))
		return fail(c->err, c->code, "message must be an object");
	if ((rc = get_id(c, msg, "messageId", "message_id", &mid)) ||
	    (rc = get_id(c, msg, "taskId", "task_id", &x->task_id)) ||
	    (rc = get_id(c, msg, "contextId", "context_id", &x->context_id)) ||
	    (rc = get_object(c, msg, "metadata", NULL, &x->metadata)) ||
	    (rc = role_from_json(c, msg, &role)))
		return rc;
	json_t *parts = member(c, msg, "parts", NULL);
	if (!parts && c->v == A2A_V03)
		return fail(c->err, c->code, "message.parts is required");
	pb_message *m = message_new(mid, role);
	if (parts && (rc = parts_from_json(c, parts, part_parser_for(c->v), &m->parts,
					   &m->n_parts))) {
		protobuf_c_message_free_unpacked(&m->base, NULL);
		return rc;
	}
	*out = m;
	return 0;
}

/* {"artifactId","name"?,"parts"} (same names in both versions). */
static int artifact_from_json(const struct pctx *c, json_t *j, pb_artifact **out)
{
	const char *id, *name;
	int rc;
	*out = NULL;
	if (!json_is_object(j))
		return fail(c->err, c->code, "artifact must be an object");
	if ((rc = get_id(c, j, "artifactId", "artifact_id", &id)) ||
	    (rc = get_str(c, j, "name", NULL, 0, &name)))
		return rc;
	json_t *parts = member(c, j, "parts", NULL);
	if (!parts && c->v == A2A_V03)
		return fail(c->err, c->code, "artifact.parts is required");
	pb_artifact *a = aa_malloc(sizeof *a);
	agentanycast__v1__artifact__init(a);
	if (id) {
		a->artifact_id = aa_strdup(id);
	} else {
		a->artifact_id = aa_malloc(AA_UUID_STR_LEN + 1);
		uuid_v4_string(a->artifact_id);
	}
	a->name = dup_or_empty(name);
	if (parts && (rc = parts_from_json(c, parts, part_parser_for(c->v), &a->parts,
					   &a->n_parts))) {
		protobuf_c_message_free_unpacked(&a->base, NULL);
		return rc;
	}
	*out = a;
	return 0;
}

/* ---- rendering parts, messages, artifacts ----------------------------------------------- */

/* Part metadata as a JSON object, or NULL when there is none to show. The compat flag is
 * shown as the boolean the SDK's v0.3 side expects, and only where show_compat says. */
static json_t *part_metadata_json(const pb_part *p, bool show_compat)
{
	json_t *o = NULL;
	for (size_t i = 0; i < p->n_metadata; i++) {
		const Agentanycast__V1__Part__MetadataEntry *e = p->metadata[i];
		if (!e || !e->key)
			continue;
		bool compat = !strcmp(e->key, DATA_COMPAT_KEY);
		if (compat && !show_compat)
			continue;
		if (!o)
			o = json_object();
		put(o, e->key, compat ? json_true() : jstr(e->value));
	}
	return o;
}

/* A DataPart marked as wrapping a non-object value: that value, else NULL. */
static const pb_value *wrapped_data_value(const pb_part *p)
{
	const char *flag = part_metadata(p, DATA_COMPAT_KEY);
	const pb_struct *s = p->data_part ? p->data_part->data : NULL;
	if (!flag || strcmp(flag, "true") != 0 || !s || s->n_fields != 1 || !s->fields[0] ||
	    !s->fields[0]->key || strcmp(s->fields[0]->key, "value") != 0)
		return NULL;
	return s->fields[0]->value;
}

static json_t *part_to_v03(const pb_part *p)
{
	json_t *o = json_object(), *file = NULL;
	bool compat = false;
	switch (p->content_case) {
	case AGENTANYCAST__V1__PART__CONTENT_URL_PART:
		file = json_object();
		put_str(file, "uri", p->url_part->url);
		put_str_nonempty(file, "name", p->url_part->filename);
		break;
	case AGENTANYCAST__V1__PART__CONTENT_RAW_PART: {
		char *b64 = base64_encode(p->raw_part->data.data, p->raw_part->data.len);
		file = json_object();
		put_str(file, "bytes", b64);
		put_str_nonempty(file, "name", p->raw_part->filename);
		free(b64);
		break;
	}
	case AGENTANYCAST__V1__PART__CONTENT_DATA_PART:
		put_str(o, "kind", "data");
		put(o, "data", struct_to_json(p->data_part->data, 1));
		compat = wrapped_data_value(p) != NULL;
		break;
	default:
		/* A part without content cannot be sent as such; v0.3 clients require a kind. */
		put_str(o, "kind", "text");
		put_str(o, "text", p->content_case == AGENTANYCAST__V1__PART__CONTENT_TEXT_PART
					   ? p->text_part->text
					   : "");
		break;
	}
	if (file) {
		put_str_nonempty(file, "mimeType", p->media_type);
		put_str(o, "kind", "file");
		put(o, "file", file);
	}
	json_t *md = part_metadata_json(p, compat);
	if (md)
		put(o, "metadata", md);
	return o;
}

static json_t *part_to_v10(const pb_part *p)
{
	json_t *o = json_object();
	switch (p->content_case) {
	case AGENTANYCAST__V1__PART__CONTENT_URL_PART:
		put_str(o, "url", p->url_part->url);
		put_str_nonempty(o, "filename", p->url_part->filename);
		break;
	case AGENTANYCAST__V1__PART__CONTENT_RAW_PART: {
		char *b64 = base64_encode(p->raw_part->data.data, p->raw_part->data.len);
		put_str(o, "raw", b64);
		put_str_nonempty(o, "filename", p->raw_part->filename);
		free(b64);
		break;
	}
	case AGENTANYCAST__V1__PART__CONTENT_DATA_PART: {
		const pb_value *bare = wrapped_data_value(p);
		put(o, "data", bare ? value_to_json(bare, 1) : struct_to_json(p->data_part->data, 1));
		break;
	}
	default:
		put_str(o, "text", p->content_case == AGENTANYCAST__V1__PART__CONTENT_TEXT_PART
					   ? p->text_part->text
					   : "");
		break;
	}
	put_str_nonempty(o, "mediaType", p->media_type);
	json_t *md = part_metadata_json(p, false);
	if (md)
		put(o, "metadata", md);
	return o;
}

static json_t *parts_json(pb_part *const *parts, size_t n, enum a2a_version v)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		if (parts[i])
			json_array_append_new(a, v == A2A_V10 ? part_to_v10(parts[i])
							      : part_to_v03(parts[i]));
	return a;
}

json_t *a2a_json_message(const pb_message *m, enum a2a_version v, const char *task_id,
			 const char *context_id)
{
	if (!m)
		return json_null();
	json_t *o = json_object();
	if (v == A2A_V03)
		put_str(o, "kind", "message");
	if (nonempty(m->message_id)) {
		put_str(o, "messageId", m->message_id);
	} else {
		/* v0.3 clients reject a message without an id. */
		char id[AA_UUID_STR_LEN + 1];
		uuid_v4_string(id);
		put_str(o, "messageId", id);
	}
	if (v == A2A_V03)
		put_str(o, "role", m->role == ROLE_USER ? "user" : "agent");
	else if (m->role == ROLE_USER || m->role == ROLE_AGENT)
		put_str(o, "role", m->role == ROLE_USER ? "ROLE_USER" : "ROLE_AGENT");
	/* v0.3 requires parts; protobuf-JSON omits an empty list. */
	if (v == A2A_V03 || m->n_parts)
		put(o, "parts", parts_json(m->parts, m->n_parts, v));
	put_str_nonempty(o, "taskId", task_id);
	put_str_nonempty(o, "contextId", context_id);
	return o;
}

static json_t *artifact_json(const pb_artifact *a, enum a2a_version v)
{
	json_t *o = json_object();
	put_str(o, "artifactId", a->artifact_id);
	put_str_nonempty(o, "name", a->name);
	if (v == A2A_V03 || a->n_parts)
		put(o, "parts", parts_json(a->parts, a->n_parts, v));
	return o;
}

/* ---- tasks and events --------------------------------------------------------------- */

#define TIMESTAMP_BUF 64 /* 24 characters are used; room for what the compiler can prove */

/* RFC 3339 UTC with milliseconds ("2026-11-25T10:00:00.123Z"); false when ts is absent or
 * outside years 0000-9999. */
static bool format_timestamp(const Google__Protobuf__Timestamp *ts, char out[TIMESTAMP_BUF])
{
	if (!ts)
		return false;
	int64_t ms = a2a_pb_timestamp_ms(ts);
	int64_t secs = ms / 1000, frac = ms % 1000;
	if (frac < 0) {
		frac += 1000;
		secs--;
	}
	/* Years 0000-9999 span these seconds; it also keeps time_t conversion safe. */
	if (secs < -62167219200LL || secs > 253402300799LL)
		return false;
	time_t t = (time_t)secs;
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		return false;
	snprintf(out, TIMESTAMP_BUF, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
	return true;
}

static json_t *status_json(pb_state state, const pb_message *msg,
			   const Google__Protobuf__Timestamp *ts, const char *task_id,
			   const char *context_id, enum a2a_version v)
{
	json_t *o = json_object();
	char when[TIMESTAMP_BUF];
	put_str(o, "state", a2a_json_state_name(state, v));
	if (msg)
		put(o, "message", a2a_json_message(msg, v, task_id, context_id));
	if (format_timestamp(ts, when))
		put_str(o, "timestamp", when);
	return o;
}

/* The status message: the newest agent message, unless the task was only submitted. */
static const pb_message *status_message(const pb_task *t)
{
	if (t->status == STATE(SUBMITTED))
		return NULL;
	for (size_t i = t->n_messages; i > 0; i--)
		if (t->messages[i - 1] && t->messages[i - 1]->role == ROLE_AGENT)
			return t->messages[i - 1];
	return NULL;
}

json_t *a2a_json_task(const pb_task *t, enum a2a_version v, int history_length)
{
	if (!t)
		return json_null();
	json_t *o = json_object();
	if (v == A2A_V03)
		put_str(o, "kind", "task");
	put_str(o, "id", t->task_id);
	/* v0.3 requires contextId; protobuf-JSON omits it when empty. */
	if (v == A2A_V03)
		put_str(o, "contextId", t->context_id);
	else
		put_str_nonempty(o, "contextId", t->context_id);
	put(o, "status", status_json(t->status, status_message(t), t->updated_at, t->task_id,
				     t->context_id, v));
	size_t first = 0;
	if (history_length >= 0 && t->n_messages > (size_t)history_length)
		first = t->n_messages - (size_t)history_length;
	if (first < t->n_messages) {
		json_t *h = json_array();
		for (size_t i = first; i < t->n_messages; i++)
			if (t->messages[i])
				json_array_append_new(h, a2a_json_message(t->messages[i], v,
									  t->task_id, t->context_id));
		put(o, "history", h);
	}
	if (t->n_artifacts) {
		json_t *a = json_array();
		for (size_t i = 0; i < t->n_artifacts; i++)
			if (t->artifacts[i])
				json_array_append_new(a, artifact_json(t->artifacts[i], v));
		put(o, "artifacts", a);
	}
	return o;
}

json_t *a2a_json_status_event(const char *task_id, const char *context_id, pb_state status,
			      const pb_message *msg, bool final, enum a2a_version v)
{
	json_t *o = json_object();
	Google__Protobuf__Timestamp now = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
	a2a_pb_timestamp_set(&now, aa_clock_wall_ms());
	if (v == A2A_V03)
		put_str(o, "kind", "status-update");
	put_str(o, "taskId", task_id);
	if (v == A2A_V03)
		put_str(o, "contextId", context_id);
	else
		put_str_nonempty(o, "contextId", context_id);
	put(o, "status", status_json(status, msg, &now, task_id, context_id, v));
	if (v == A2A_V03)
		put(o, "final", json_boolean(final));
	return o;
}

json_t *a2a_json_artifact_event(const char *task_id, const char *context_id, const pb_artifact *a,
				enum a2a_version v)
{
	json_t *o = json_object();
	if (v == A2A_V03)
		put_str(o, "kind", "artifact-update");
	put_str(o, "taskId", task_id);
	if (v == A2A_V03)
		put_str(o, "contextId", context_id);
	else
		put_str_nonempty(o, "contextId", context_id);
	if (a)
		put(o, "artifact", artifact_json(a, v));
	put(o, "append", json_false());
	put(o, "lastChunk", json_true());
	return o;
}

json_t *a2a_json_wrap(enum a2a_version v, enum a2a_method m, const char *kind, json_t *obj)
{
	bool bare = v == A2A_V03 || !kind || m == A2A_METHOD_GET || m == A2A_METHOD_CANCEL ||
		    m == A2A_METHOD_LEGACY_SEND;
	if (bare)
		return obj;
	json_t *o = json_object();
	put(o, kind, obj);
	return o;
}

json_t *a2a_json_result(json_t *id, json_t *result)
{
	json_t *o = json_object();
	put_str(o, "jsonrpc", "2.0");
	json_object_set(o, "id", id ? id : json_null());
	put(o, "result", result ? result : json_null());
	return o;
}

json_t *a2a_json_error_reply(json_t *id, int code, const char *message)
{
	json_t *o = json_object(), *e = json_object();
	put_str(o, "jsonrpc", "2.0");
	json_object_set(o, "id", id ? id : json_null());
	put(e, "code", json_integer(code));
	put_str(e, "message", message);
	put(o, "error", e);
	return o;
}

/* ---- legacy tasks/send result (REFERENCE F.3) ------------------------------------------- */

/* Go's encoding with omitempty: {"type":"text","text"?} / {"type":"url","url"?,
 * "filename"?}. F.3 knows no other kinds; data and raw parts are shown in the same spirit
 * ({"type":"data","data"} / {"type":"file","bytes","filename"?}) rather than dropped. */
static json_t *legacy_part_json(const pb_part *p)
{
	json_t *o = json_object();
	switch (p->content_case) {
	case AGENTANYCAST__V1__PART__CONTENT_URL_PART:
		put_str(o, "type", "url");
		put_str_nonempty(o, "url", p->url_part->url);
		put_str_nonempty(o, "filename", p->url_part->filename);
		break;
	case AGENTANYCAST__V1__PART__CONTENT_DATA_PART:
		put_str(o, "type", "data");
		put(o, "data", struct_to_json(p->data_part->data, 1));
		break;
	case AGENTANYCAST__V1__PART__CONTENT_RAW_PART: {
		char *b64 = base64_encode(p->raw_part->data.data, p->raw_part->data.len);
		put_str(o, "type", "file");
		put_str_nonempty(o, "bytes", b64);
		put_str_nonempty(o, "filename", p->raw_part->filename);
		free(b64);
		break;
	}
	default:
		put_str(o, "type", "text");
		if (p->content_case == AGENTANYCAST__V1__PART__CONTENT_TEXT_PART)
			put_str_nonempty(o, "text", p->text_part->text);
		break;
	}
	return o;
}

static json_t *legacy_parts_json(pb_part *const *parts, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		if (parts[i])
			json_array_append_new(a, legacy_part_json(parts[i]));
	return a;
}

static json_t *legacy_messages_json(const pb_task *t)
{
	json_t *a = json_array();
	for (size_t i = 0; i < t->n_messages; i++) {
		const pb_message *m = t->messages[i];
		if (!m)
			continue;
		json_t *o = json_object();
		put_str(o, "role", m->role == ROLE_AGENT ? "agent" : "user");
		put(o, "parts", legacy_parts_json(m->parts, m->n_parts));
		json_array_append_new(a, o);
	}
	return a;
}

static json_t *legacy_artifacts_json(const pb_task *t)
{
	json_t *a = json_array();
	for (size_t i = 0; i < t->n_artifacts; i++) {
		const pb_artifact *art = t->artifacts[i];
		if (!art)
			continue;
		json_t *o = json_object();
		put_str_nonempty(o, "artifact_id", art->artifact_id);
		put_str_nonempty(o, "name", art->name);
		put(o, "parts", legacy_parts_json(art->parts, art->n_parts));
		json_array_append_new(a, o);
	}
	return a;
}

json_t *a2a_json_legacy_task(const pb_task *t)
{
	if (!t)
		return json_null();
	json_t *o = json_object();
	put_str(o, "id", t->task_id);
	put_str(o, "status", a2a_json_state_name(t->status, A2A_V03));
	if (t->n_messages)
		put(o, "messages", legacy_messages_json(t));
	if (t->n_artifacts)
		put(o, "artifacts", legacy_artifacts_json(t));
	return o;
}

/* ---- request parsing -------------------------------------------------------------------- */

enum { VER_03 = 1, VER_10 = 2, VER_ANY = 3 };

static const struct {
	const char *name;
	enum a2a_method method;
	int versions;
} methods[] = {
	{ "message/send", A2A_METHOD_SEND, VER_03 },
	{ "message/stream", A2A_METHOD_STREAM, VER_03 },
	{ "tasks/get", A2A_METHOD_GET, VER_03 },
	{ "tasks/cancel", A2A_METHOD_CANCEL, VER_03 },
	{ "tasks/resubscribe", A2A_METHOD_RESUBSCRIBE, VER_03 },
	{ "SendMessage", A2A_METHOD_SEND, VER_10 },
	{ "SendStreamingMessage", A2A_METHOD_STREAM, VER_10 },
	{ "GetTask", A2A_METHOD_GET, VER_10 },
	{ "CancelTask", A2A_METHOD_CANCEL, VER_10 },
	{ "SubscribeToTask", A2A_METHOD_RESUBSCRIBE, VER_10 },
	{ "tasks/send", A2A_METHOD_LEGACY_SEND, VER_ANY },
};

/* Standard methods we do not offer, answered with the code the A2A spec gives for the
 * missing feature rather than a bare "method not found" (push notifications are off, there
 * is no extended card, and listing tasks is not supported). */
static const struct {
	const char *name;
	int versions;
	int code;
} unsupported[] = {
	{ "tasks/pushNotificationConfig/set", VER_03, A2A_ERR_PUSH_NOT_SUPPORTED },
	{ "tasks/pushNotificationConfig/get", VER_03, A2A_ERR_PUSH_NOT_SUPPORTED },
	{ "tasks/pushNotificationConfig/list", VER_03, A2A_ERR_PUSH_NOT_SUPPORTED },
	{ "tasks/pushNotificationConfig/delete", VER_03, A2A_ERR_PUSH_NOT_SUPPORTED },
	{ "agent/getAuthenticatedExtendedCard", VER_03, A2A_ERR_EXTENDED_CARD },
	{ "CreateTaskPushNotificationConfig", VER_10, A2A_ERR_PUSH_NOT_SUPPORTED },
	{ "GetTaskPushNotificationConfig", VER_10, A2A_ERR_PUSH_NOT_SUPPORTED },
	{ "ListTaskPushNotificationConfigs", VER_10, A2A_ERR_PUSH_NOT_SUPPORTED },
	{ "DeleteTaskPushNotificationConfig", VER_10, A2A_ERR_PUSH_NOT_SUPPORTED },
	{ "GetExtendedAgentCard", VER_10, A2A_ERR_EXTENDED_CARD },
	{ "ListTasks", VER_10, A2A_ERR_UNSUPPORTED_OPERATION },
};

/* A2A-HTTP.md "Versions": exactly "1.0" → v1.0; absent or "0.3" → v0.3. An empty value
 * counts as absent, as the JS SDK server treats it (header || "0.3"); surrounding blanks
 * are not part of an HTTP field value. */
static int version_from_header(const char *h, enum a2a_version *out, struct a2a_json_error *err)
{
	size_t n = h ? strlen(h) : 0;
	while (n && (*h == ' ' || *h == '\t'))
		h++, n--;
	while (n && (h[n - 1] == ' ' || h[n - 1] == '\t'))
		n--;
	if (n == 0 || (n == 3 && !memcmp(h, "0.3", 3))) {
		*out = A2A_V03;
		return 0;
	}
	if (n == 3 && !memcmp(h, "1.0", 3)) {
		*out = A2A_V10;
		return 0;
	}
	return fail(err, A2A_ERR_VERSION_NOT_SUPPORTED, "A2A version \"%.*s\" is not supported",
		    n > 32 ? 32 : (int)n, h);
}

static int method_lookup(const char *name, enum a2a_version v, enum a2a_method *out,
			 struct a2a_json_error *err)
{
	int mask = v == A2A_V10 ? VER_10 : VER_03;
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		if (strcmp(name, methods[i].name) != 0)
			continue;
		if (!(methods[i].versions & mask))
			break; /* a method of the other version: not found (A2A-HTTP.md) */
		*out = methods[i].method;
		return 0;
	}
	for (size_t i = 0; i < sizeof unsupported / sizeof unsupported[0]; i++)
		if (!strcmp(name, unsupported[i].name) && (unsupported[i].versions & mask))
			return fail(err, unsupported[i].code, "%.64s is not supported", name);
	return fail(err, A2A_ERR_METHOD_NOT_FOUND, "method not found: %.128s", name);
}

/* skillId / skill_id in a metadata object (message or params), if a string. */
static int skill_from_metadata(const struct pctx *c, const json_t *md, const char **out)
{
	if (*out || !md)
		return 0;
	struct pctx snake = *c;
	snake.v = A2A_V10; /* both spellings are accepted here, in either version */
	return get_id(&snake, md, "skillId", "skill_id", out);
}

static int parse_send(const struct pctx *c, json_t *params, struct a2a_request *out)
{
	json_t *msg = member(c, params, "message", NULL), *params_md, *cfg;
	struct message_extra x;
	const char *skill = NULL;
	int rc;
	if (!msg)
		return fail(c->err, c->code, "params.message is required");
	if ((rc = get_object(c, params, "metadata", NULL, &params_md)) ||
	    (rc = get_object(c, params, "configuration", NULL, &cfg)) ||
	    (rc = message_from_json(c, msg, &out->message, &x)) ||
	    (rc = skill_from_metadata(c, x.metadata, &skill)) ||
	    (rc = skill_from_metadata(c, params_md, &skill)))
		return rc;
	out->task_id = dup_or_null(x.task_id);
	out->context_id = dup_or_null(x.context_id);
	out->skill_id = dup_or_null(skill);
	if (!cfg)
		return 0;
	if (c->v == A2A_V03) {
		rc = get_bool(c, cfg, "blocking", NULL, &out->blocking);
	} else {
		bool immediately = false;
		rc = get_bool(c, cfg, "returnImmediately", "return_immediately", &immediately);
		out->blocking = !immediately;
	}
	return rc ? rc : get_count(c, cfg, "historyLength", "history_length", &out->history_length);
}

/* GetTask, CancelTask, SubscribeToTask and their v0.3 names: {"id", "historyLength"?}. */
static int parse_task_ref(const struct pctx *c, json_t *params, enum a2a_method m,
			  struct a2a_request *out)
{
	const char *id;
	int rc = get_id(c, params, "id", NULL, &id);
	if (rc)
		return rc;
	if (!id)
		return fail(c->err, c->code, "params.id is required");
	if (m == A2A_METHOD_GET &&
	    (rc = get_count(c, params, "historyLength", "history_length", &out->history_length)))
		return rc;
	out->task_id = aa_strdup(id);
	return 0;
}

/* REFERENCE F.3 params: {"id"?, "message": {"role", "parts"}, "target_skill_id"?,
 * "metadata"?: {str: str}}. Lenient as Go's json.Unmarshal was: missing members are empty,
 * but a member of the wrong type is an error. */
static int parse_legacy(const struct pctx *c, json_t *params, struct a2a_request *out)
{
	const char *id, *skill, *role = NULL;
	json_t *msg, *md, *parts = NULL;
	int rc;
	if ((rc = get_id(c, params, "id", NULL, &id)) ||
	    (rc = get_id(c, params, "target_skill_id", NULL, &skill)) ||
	    (rc = get_object(c, params, "metadata", NULL, &md)) ||
	    (rc = get_object(c, params, "message", NULL, &msg)))
		return rc;
	if (msg && (rc = get_str(c, msg, "role", NULL, 0, &role)))
		return rc;
	const char *key;
	json_t *val;
	json_object_foreach(md, key, val)
		if (!json_is_string(val))
			return fail(c->err, c->code, "metadata values must be strings");
	if ((rc = skill_from_metadata(c, md, &skill)))
		return rc;
	out->message = message_new(NULL, role && !strcmp(role, "agent") ? ROLE_AGENT : ROLE_USER);
	if (msg)
		parts = member(c, msg, "parts", NULL);
	if (parts && (rc = parts_from_json(c, parts, part_from_legacy, &out->message->parts,
					   &out->message->n_parts)))
		return rc;
	out->task_id = dup_or_null(id);
	out->skill_id = dup_or_null(skill);
	return 0;
}

static bool id_usable(const json_t *id)
{
	if (json_is_string(id))
		return json_string_length(id) <= A2A_JSON_MAX_ID;
	return json_is_number(id) || json_is_null(id);
}

static int request_from_json(json_t *root, const char *version_header, struct a2a_request *out,
			     struct a2a_json_error *err)
{
	if (!json_is_object(root))
		return fail(err, A2A_ERR_INVALID_REQUEST, "request must be a JSON object");
	json_t *id = json_object_get(root, "id");
	if (id && !id_usable(id))
		return fail(err, A2A_ERR_INVALID_REQUEST,
			    "id must be a string of at most %d bytes, a number or null",
			    A2A_JSON_MAX_ID);
	if (id) {
		json_decref(out->id);
		out->id = json_incref(id);
	}
	if (!depth_ok(root, 1, A2A_JSON_MAX_DEPTH))
		return fail(err, A2A_ERR_INVALID_REQUEST, "JSON nested deeper than %d levels",
			    A2A_JSON_MAX_DEPTH);
	const char *jsonrpc = json_string_value(json_object_get(root, "jsonrpc"));
	if (!jsonrpc || strcmp(jsonrpc, "2.0") != 0)
		return fail(err, A2A_ERR_INVALID_REQUEST, "jsonrpc must be \"2.0\"");
	const char *method = json_string_value(json_object_get(root, "method"));
	if (!method || !*method)
		return fail(err, A2A_ERR_INVALID_REQUEST, "method must be a non-empty string");
	int rc;
	if ((rc = version_from_header(version_header, &out->version, err)) ||
	    (rc = method_lookup(method, out->version, &out->method, err)))
		return rc;

	json_t *params = json_object_get(root, "params");
	if (!json_is_object(params))
		return fail(err, A2A_ERR_INVALID_PARAMS, "params must be an object");
	struct pctx c = { out->version, A2A_ERR_INVALID_PARAMS, err };
	switch (out->method) {
	case A2A_METHOD_SEND:
	case A2A_METHOD_STREAM:
		return parse_send(&c, params, out);
	case A2A_METHOD_LEGACY_SEND:
		return parse_legacy(&c, params, out);
	default:
		return parse_task_ref(&c, params, out->method, out);
	}
}

/* Frees what a request holds except its id. */
static void request_clear_results(struct a2a_request *r)
{
	a2a_json_free_pb(r->message);
	free(r->task_id);
	free(r->context_id);
	free(r->skill_id);
	r->message = NULL;
	r->task_id = r->context_id = r->skill_id = NULL;
}

int a2a_request_parse(const char *body, size_t len, const char *version_header,
		      struct a2a_request *out, struct a2a_json_error *err)
{
	memset(out, 0, sizeof *out);
	out->id = json_null();
	out->history_length = -1;
	out->blocking = true;
	json_error_t jerr;
	json_t *root = load(body, len, &jerr);
	if (!root)
		return fail(err, A2A_ERR_PARSE, "invalid JSON: %s", jerr.text);
	int rc = request_from_json(root, version_header, out, err);
	json_decref(root);
	if (rc < 0)
		request_clear_results(out);
	return rc;
}

void a2a_request_free(struct a2a_request *r)
{
	if (!r)
		return;
	request_clear_results(r);
	json_decref(r->id);
	r->id = NULL;
}

/* ---- agent cards -------------------------------------------------------------------- */

static json_t *string_array(const char *s)
{
	json_t *a = json_array();
	json_array_append_new(a, jstr(s));
	return a;
}

static json_t *skills_json(const Agentanycast__V1__AgentCard *card)
{
	json_t *a = json_array();
	for (size_t i = 0; card && i < card->n_skills; i++) {
		const Agentanycast__V1__Skill *s = card->skills[i];
		if (!s)
			continue;
		json_t *o = json_object();
		put_str(o, "id", s->id);
		put_str(o, "name", s->id); /* our skills have no separate display name */
		put_str(o, "description", s->description);
		put(o, "tags", json_array());
		json_array_append_new(a, o);
	}
	return a;
}

json_t *a2a_json_card(const Agentanycast__V1__AgentCard *card, const char *url, enum a2a_version v,
		      const char *fallback_name)
{
	json_t *o = json_object(), *caps = json_object(), *iface = json_object();
	json_t *ifaces = json_array();
	const char *name = card && nonempty(card->name) ? card->name : fallback_name;
	const char *version = card && nonempty(card->version) ? card->version : AA_VERSION;
	put_str(o, "name", nonempty(name) ? name : "agentanycast");
	put_str(o, "description", card ? card->description : "");
	put_str(o, "version", version);
	put(caps, "streaming", json_true());
	put(o, "capabilities", caps);
	put(o, "defaultInputModes", string_array("text/plain"));
	put(o, "defaultOutputModes", string_array("text/plain"));
	put(o, "skills", skills_json(card));
	put_str(iface, "url", url);
	put_str(iface, "protocolBinding", "JSONRPC");
	put_str(iface, "protocolVersion", "1.0");
	json_array_append_new(ifaces, iface);
	put(o, "supportedInterfaces", ifaces);
	if (v == A2A_V03) {
		put_str(o, "url", url);
		put_str(o, "preferredTransport", "JSONRPC");
		put_str(o, "protocolVersion", "0.3");
	}
	return o;
}

/* Only absolute http(s) URLs: the outbound client refuses anything else anyway, and a card
 * must not be able to point us at file:// or similar. */
static bool endpoint_url_ok(const char *u)
{
	if (!u || strlen(u) > 2048)
		return false;
	return (!strncasecmp(u, "http://", 7) && u[7]) || (!strncasecmp(u, "https://", 8) && u[8]);
}

/* A JS SDK rule (isLegacyVersion): no version, or one in [0.3, 1.0), is v0.3. */
static enum a2a_version version_of(const char *protocol_version)
{
	if (!nonempty(protocol_version) || !strncmp(protocol_version, "0.", 2))
		return A2A_V03;
	return A2A_V10;
}

/* The v1.0 way: a supportedInterfaces entry with protocolBinding JSONRPC, preferring
 * protocolVersion 1.0 as the SDK's client does. Returns false when there is none. */
static bool card_pick_interface(const struct pctx *c, json_t *card, const char **url,
				enum a2a_version *v)
{
	json_t *ifaces = member(c, card, "supportedInterfaces", "supported_interfaces");
	json_t *entry;
	size_t i;
	bool found = false;
	json_array_foreach(ifaces, i, entry) {
		const char *binding = json_string_value(member(c, entry, "protocolBinding",
							       "protocol_binding"));
		const char *u = json_string_value(json_object_get(entry, "url"));
		const char *pv = json_string_value(member(c, entry, "protocolVersion",
							  "protocol_version"));
		if (!binding || strcasecmp(binding, "JSONRPC") != 0 || !endpoint_url_ok(u))
			continue;
		if (!found || version_of(pv) == A2A_V10) {
			*url = u;
			*v = version_of(pv);
		}
		found = true;
		if (*v == A2A_V10)
			break;
	}
	return found;
}

/* The v0.3 way: top-level url with preferredTransport JSONRPC (the default), else an
 * additionalInterfaces entry {url, transport: "JSONRPC"}. */
static bool card_pick_legacy(json_t *card, const char **url)
{
	const char *pref = json_string_value(json_object_get(card, "preferredTransport"));
	const char *u = json_string_value(json_object_get(card, "url"));
	if ((!pref || !strcasecmp(pref, "JSONRPC")) && endpoint_url_ok(u)) {
		*url = u;
		return true;
	}
	json_t *entry;
	size_t i;
	json_array_foreach(json_object_get(card, "additionalInterfaces"), i, entry) {
		const char *t = json_string_value(json_object_get(entry, "transport"));
		u = json_string_value(json_object_get(entry, "url"));
		if (t && !strcasecmp(t, "JSONRPC") && endpoint_url_ok(u)) {
			*url = u;
			return true;
		}
	}
	return false;
}

int a2a_remote_card_parse(const char *body, size_t len, struct a2a_remote_card *out,
			  struct a2a_json_error *err)
{
	memset(out, 0, sizeof *out);
	json_error_t jerr;
	json_t *card = load(body, len, &jerr);
	if (!card)
		return fail(err, A2A_ERR_INVALID_AGENT_RESPONSE, "agent card is not JSON: %s",
			    jerr.text);
	struct pctx c = { A2A_V10, A2A_ERR_INVALID_AGENT_RESPONSE, err };
	const char *url = NULL;
	int rc = 0;
	if (!json_is_object(card) || !depth_ok(card, 1, A2A_JSON_MAX_DEPTH))
		rc = fail(err, c.code, "agent card is not a JSON object of bounded depth");
	else if (!card_pick_interface(&c, card, &url, &out->version) && !card_pick_legacy(card, &url))
		rc = fail(err, c.code, "agent card has no JSON-RPC interface with an http(s) URL");
	if (rc == 0) {
		out->url = aa_strdup(url);
		json_t *caps = json_object_get(card, "capabilities");
		out->streaming = json_is_true(json_object_get(caps, "streaming"));
	}
	json_decref(card);
	return rc;
}

void a2a_remote_card_free(struct a2a_remote_card *c)
{
	if (!c)
		return;
	free(c->url);
	c->url = NULL;
}

/* ---- outbound requests ---------------------------------------------------------------- */

static json_t *request_json(const char *id, const char *method, json_t *params)
{
	json_t *o = json_object();
	put_str(o, "jsonrpc", "2.0");
	put_str(o, "id", id);
	put_str(o, "method", method);
	put(o, "params", params);
	return o;
}

json_t *a2a_json_send_request(const char *id, const pb_message *m, enum a2a_version v, bool stream,
			      bool blocking)
{
	json_t *params = json_object(), *cfg = json_object();
	const char *method;
	put(params, "message", a2a_json_message(m, v, NULL, NULL));
	if (v == A2A_V03) {
		method = stream ? "message/stream" : "message/send";
		put(cfg, "blocking", json_boolean(blocking));
	} else {
		method = stream ? "SendStreamingMessage" : "SendMessage";
		put(cfg, "returnImmediately", json_boolean(!blocking));
	}
	if (stream)
		json_decref(cfg); /* a stream follows the task whatever "blocking" says */
	else
		put(params, "configuration", cfg);
	return request_json(id, method, params);
}

/* A request whose params are just {"id": task_id}. */
static json_t *task_id_request(const char *id, const char *method, const char *task_id)
{
	json_t *params = json_object();
	put_str(params, "id", task_id);
	return request_json(id, method, params);
}

json_t *a2a_json_get_request(const char *id, const char *task_id, enum a2a_version v)
{
	return task_id_request(id, v == A2A_V10 ? "GetTask" : "tasks/get", task_id);
}

json_t *a2a_json_cancel_request(const char *id, const char *task_id, enum a2a_version v)
{
	return task_id_request(id, v == A2A_V10 ? "CancelTask" : "tasks/cancel", task_id);
}

/* ---- replies from remote agents --------------------------------------------------------- */

/* status {"state", "message"?, …} into the event. */
static int status_from_json(const struct pctx *c, json_t *status, struct a2a_event *out)
{
	struct message_extra x;
	if (!json_is_object(status))
		return fail(c->err, c->code, "status must be an object");
	json_t *state = member(c, status, "state", NULL);
	if (json_is_string(state))
		out->status = a2a_json_state_parse(json_string_value(state));
	else if (json_is_integer(state) && c->v == A2A_V10)
		out->status = state_from_a2a_number(json_integer_value(state));
	else if (state)
		return fail(c->err, c->code, "status.state must be a string");
	json_t *msg = member(c, status, "message", NULL);
	return msg ? message_from_json(c, msg, &out->message, &x) : 0;
}

static int artifacts_from_json(const struct pctx *c, json_t *list, struct a2a_event *out)
{
	if (!json_is_array(list))
		return fail(c->err, c->code, "artifacts must be an array");
	size_t n = json_array_size(list);
	if (n > A2A_JSON_MAX_PARTS)
		return fail(c->err, c->code, "more than %d artifacts", A2A_JSON_MAX_PARTS);
	if (n)
		out->artifacts = aa_calloc(n, sizeof *out->artifacts);
	for (size_t i = 0; i < n; i++) {
		int rc = artifact_from_json(c, json_array_get(list, i), &out->artifacts[i]);
		if (rc)
			return rc;
		out->n_artifacts++;
	}
	return 0;
}

/* The ids every event but a message carries: taskId (or a task's id) and contextId. */
static int event_ids(const struct pctx *c, json_t *j, const char *task_key, struct a2a_event *out)
{
	const char *tid, *cid;
	int rc;
	if ((rc = get_id(c, j, task_key, !strcmp(task_key, "taskId") ? "task_id" : NULL, &tid)) ||
	    (rc = get_id(c, j, "contextId", "context_id", &cid)))
		return rc;
	if (!tid)
		return fail(c->err, c->code, "%s is required", task_key);
	out->task_id = aa_strdup(tid);
	out->context_id = dup_or_null(cid);
	return 0;
}

static int task_event(const struct pctx *c, json_t *j, struct a2a_event *out)
{
	int rc;
	out->kind = A2A_EV_TASK;
	if ((rc = event_ids(c, j, "id", out)))
		return rc;
	json_t *status = member(c, j, "status", NULL), *arts = member(c, j, "artifacts", NULL);
	if (status && (rc = status_from_json(c, status, out)))
		return rc;
	return arts ? artifacts_from_json(c, arts, out) : 0;
}

static int message_event(const struct pctx *c, json_t *j, struct a2a_event *out)
{
	struct message_extra x;
	out->kind = A2A_EV_MESSAGE;
	int rc = message_from_json(c, j, &out->message, &x);
	if (rc)
		return rc;
	out->task_id = dup_or_null(x.task_id);
	out->context_id = dup_or_null(x.context_id);
	return 0;
}

static int status_event(const struct pctx *c, json_t *j, struct a2a_event *out)
{
	int rc;
	out->kind = A2A_EV_STATUS;
	if ((rc = event_ids(c, j, "taskId", out)) ||
	    (rc = get_bool(c, j, "final", NULL, &out->final)))
		return rc;
	json_t *status = member(c, j, "status", NULL);
	if (!status)
		return fail(c->err, c->code, "status-update without status");
	return status_from_json(c, status, out);
}

static int artifact_event(const struct pctx *c, json_t *j, struct a2a_event *out)
{
	int rc;
	out->kind = A2A_EV_ARTIFACT;
	if ((rc = event_ids(c, j, "taskId", out)))
		return rc;
	json_t *art = member(c, j, "artifact", NULL);
	if (!art)
		return fail(c->err, c->code, "artifact-update without artifact");
	out->artifacts = aa_calloc(1, sizeof *out->artifacts);
	if ((rc = artifact_from_json(c, art, &out->artifacts[0])))
		return rc;
	out->n_artifacts = 1;
	return 0;
}

/* v0.3: the bare object, told apart by its kind. */
static int result_v03(struct pctx *c, json_t *result, const char *kind, struct a2a_event *out)
{
	c->v = A2A_V03;
	if (!strcmp(kind, "task"))
		return task_event(c, result, out);
	if (!strcmp(kind, "message"))
		return message_event(c, result, out);
	if (!strcmp(kind, "status-update"))
		return status_event(c, result, out);
	if (!strcmp(kind, "artifact-update"))
		return artifact_event(c, result, out);
	return fail(c->err, c->code, "unknown result kind \"%.40s\"", kind);
}

/* v1.0: exactly one of task/message/statusUpdate/artifactUpdate, or a bare task (GetTask). */
static int result_v10(struct pctx *c, json_t *result, struct a2a_event *out)
{
	c->v = A2A_V10;
	json_t *task = member(c, result, "task", NULL), *msg = member(c, result, "message", NULL);
	json_t *st = member(c, result, "statusUpdate", "status_update");
	json_t *art = member(c, result, "artifactUpdate", "artifact_update");
	int set = !!task + !!msg + !!st + !!art;
	if (set > 1)
		return fail(c->err, c->code, "result holds more than one event");
	if (task)
		return task_event(c, task, out);
	if (msg)
		return message_event(c, msg, out);
	if (st)
		return status_event(c, st, out);
	if (art)
		return artifact_event(c, art, out);
	if (json_object_get(result, "status"))
		return task_event(c, result, out);
	return fail(c->err, c->code, "result holds no task, message or event");
}

/* A JSON-RPC error object: the remote's code and message. */
static int remote_error(json_t *e, struct a2a_json_error *err)
{
	json_t *code = json_object_get(e, "code");
	const char *msg = json_string_value(json_object_get(e, "message"));
	if (!json_is_integer(code) || json_integer_value(code) < INT_MIN ||
	    json_integer_value(code) > INT_MAX)
		return fail(err, A2A_ERR_INVALID_AGENT_RESPONSE, "error reply without an integer code");
	int c = (int)json_integer_value(code);
	if (nonempty(msg))
		fail(err, c, "%s", msg);
	else
		fail(err, c, "remote agent error %d without a message", c);
	return c < 0 ? c : A2A_ERR_INVALID_AGENT_RESPONSE;
}

static int event_from_reply(json_t *root, enum a2a_version v, const char *expect_id,
			    struct a2a_event *out, struct a2a_json_error *err)
{
	struct pctx c = { v, A2A_ERR_INVALID_AGENT_RESPONSE, err };
	if (!json_is_object(root) || !depth_ok(root, 1, A2A_JSON_MAX_DEPTH))
		return fail(err, c.code, "reply is not a JSON object of bounded depth");
	const char *jsonrpc = json_string_value(json_object_get(root, "jsonrpc"));
	if (!jsonrpc || strcmp(jsonrpc, "2.0") != 0)
		return fail(err, c.code, "reply is not JSON-RPC 2.0");
	json_t *id = json_object_get(root, "id"), *e = json_object_get(root, "error");
	bool id_matches = !expect_id || (json_is_string(id) && !strcmp(json_string_value(id),
								      expect_id));
	/* An error may come with a null id (the server could not read ours). */
	if (e && !json_is_null(e) && (id_matches || json_is_null(id) || !id))
		return json_is_object(e) ? remote_error(e, err)
					 : fail(err, c.code, "error member is not an object");
	if (!id_matches)
		return fail(err, c.code, "reply id does not match the request");
	json_t *result = json_object_get(root, "result");
	if (!json_is_object(result))
		return fail(err, c.code, "reply has no result object");
	const char *kind = json_string_value(json_object_get(result, "kind"));
	if (kind)
		return result_v03(&c, result, kind, out);
	if (v == A2A_V10)
		return result_v10(&c, result, out);
	/* A v0.3 result without kind (older servers): judge by its members. */
	c.v = A2A_V03;
	if (json_object_get(result, "status"))
		return task_event(&c, result, out);
	if (json_object_get(result, "parts"))
		return message_event(&c, result, out);
	return fail(err, c.code, "result without kind");
}

int a2a_event_parse(const char *body, size_t len, enum a2a_version v, const char *expect_id,
		    struct a2a_event *out, struct a2a_json_error *err)
{
	memset(out, 0, sizeof *out);
	out->status = STATE(UNSPECIFIED);
	json_error_t jerr;
	json_t *root = load(body, len, &jerr);
	if (!root)
		return fail(err, A2A_ERR_INVALID_AGENT_RESPONSE, "reply is not JSON: %s",
			    jerr.text);
	int rc = event_from_reply(root, v, expect_id, out, err);
	json_decref(root);
	if (rc < 0)
		a2a_event_free(out);
	return rc;
}

void a2a_event_free(struct a2a_event *e)
{
	if (!e)
		return;
	free(e->task_id);
	free(e->context_id);
	a2a_json_free_pb(e->message);
	for (size_t i = 0; i < e->n_artifacts; i++)
		a2a_json_free_pb(e->artifacts[i]);
	free(e->artifacts);
	memset(e, 0, sizeof *e);
}

void a2a_json_free_pb(void *msg)
{
	if (msg)
		protobuf_c_message_free_unpacked(msg, NULL);
}
