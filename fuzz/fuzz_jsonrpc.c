/* fuzz_jsonrpc: feeds arbitrary bytes to the A2A JSON-RPC converters of http/a2a_json. The
 * first byte picks the A2A-Version header (absent, "0.3", "1.0" or an unsupported one), the
 * rest is the request body. A request that parses is rendered back in both versions, and
 * its message, rendered in v1.0 and sent again, must parse again (what we produce, we
 * accept). The same bytes also go through the reply parser (both versions) and the remote
 * card parser. Any crash, leak, sanitizer report or broken promise is a finding. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/a2a_json.h"

static void check(int ok)
{
	if (!ok)
		abort();
}

/* Every error leaves a code and a NUL-terminated, non-empty reason. */
static void check_error(int rc, const struct a2a_json_error *err)
{
	check(rc < 0);
	check(err->message[0] != 0 && memchr(err->message, 0, sizeof err->message) != NULL);
}

static void render_and_free(json_t *j)
{
	check(j != NULL);
	char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	check(text != NULL);
	free(text);
	json_decref(j);
}

/* Sends the parsed message again, rendered in v1.0: it must come back with as many parts. */
static void check_message_round_trip(const struct a2a_request *r)
{
	json_t *req = a2a_json_send_request("again", r->message, A2A_V10, false, r->blocking);
	char *body = json_dumps(req, JSON_COMPACT);
	struct a2a_request back;
	struct a2a_json_error err;
	check(a2a_request_parse(body, strlen(body), "1.0", &back, &err) == 0);
	check(back.message->n_parts == r->message->n_parts);
	check(strcmp(back.message->message_id, r->message->message_id) == 0);
	a2a_request_free(&back);
	free(body);
	json_decref(req);
}

static void fuzz_request(const char *body, size_t len, const char *version)
{
	struct a2a_request r;
	struct a2a_json_error err;
	int rc = a2a_request_parse(body, len, version, &r, &err);
	check(r.id != NULL);
	if (rc != 0) {
		check_error(rc, &err);
		check(r.message == NULL && r.task_id == NULL);
		render_and_free(a2a_json_error_reply(r.id, err.code, err.message));
		a2a_request_free(&r);
		return;
	}
	if (r.message) {
		check(r.message->message_id && r.message->message_id[0]);
		check(r.message->n_parts <= A2A_JSON_MAX_PARTS);
		render_and_free(a2a_json_message(r.message, A2A_V03, r.task_id, r.context_id));
		render_and_free(a2a_json_message(r.message, A2A_V10, r.task_id, r.context_id));
		check_message_round_trip(&r);
	} else {
		check(r.task_id != NULL);
	}
	check(!r.task_id || strlen(r.task_id) <= A2A_JSON_MAX_ID);
	render_and_free(a2a_json_result(r.id, json_object()));
	a2a_request_free(&r);
}

static void fuzz_reply(const char *body, size_t len, enum a2a_version v, const char *expect_id)
{
	struct a2a_event e;
	struct a2a_json_error err;
	int rc = a2a_event_parse(body, len, v, expect_id, &e, &err);
	if (rc != 0) {
		check_error(rc, &err);
		check(e.task_id == NULL && e.message == NULL && e.artifacts == NULL);
	} else {
		check(e.kind == A2A_EV_MESSAGE ? e.message != NULL : e.task_id != NULL);
		if (e.message)
			render_and_free(a2a_json_message(e.message, v, e.task_id, e.context_id));
		for (size_t i = 0; i < e.n_artifacts; i++)
			render_and_free(a2a_json_artifact_event(e.task_id, e.context_id,
								e.artifacts[i], v));
	}
	a2a_event_free(&e);
}

static void fuzz_card(const char *body, size_t len)
{
	struct a2a_remote_card c;
	struct a2a_json_error err;
	int rc = a2a_remote_card_parse(body, len, &c, &err);
	if (rc != 0)
		check_error(rc, &err);
	else
		check(c.url != NULL && (c.version == A2A_V03 || c.version == A2A_V10));
	a2a_remote_card_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const versions[] = { NULL, "0.3", "1.0", "2.0" };
	if (size == 0)
		return 0;
	const char *body = (const char *)data + 1;
	size_t len = size - 1;
	fuzz_request(body, len, versions[data[0] & 3]);
	fuzz_reply(body, len, A2A_V03, NULL);
	fuzz_reply(body, len, A2A_V10, "1");
	fuzz_card(body, len);
	return 0;
}
