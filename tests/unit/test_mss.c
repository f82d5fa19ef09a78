/* Unit tests for p2p/mss: multistream-select 1.0 negotiation, both roles, in memory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "p2p/mss.h"

/* "\x13/multistream/1.0.0\n": 0x13 = 19 = 18 characters + newline (connections spec). */
#define HDR "\x13/multistream/1.0.0\n"
#define NA "\x03na\n"

static const char *const responder_protos[] = { "/ipfs/id/1.0.0", "/ipfs/ping/1.0.0",
						"/noise" };

static bool supports(void *user, const char *proto, size_t len)
{
	(void)user;
	assert_int_equal(strlen(proto), len);
	for (size_t i = 0; i < 3; i++)
		if (strcmp(proto, responder_protos[i]) == 0)
			return true;
	return false;
}

static void responder_setup(struct mss *m)
{
	assert_int_equal(mss_responder_init(m, supports, responder_protos, 3, NULL), 0);
}

/* Moves everything m wants to send onto the end of wire. */
static void drain(struct mss *m, struct aa_buf *wire)
{
	struct aa_slice s;
	mss_output(m, &s);
	aa_buf_append(wire, s.p, s.n);
	mss_output_consumed(m, s.n);
}

static void assert_output(struct mss *m, const char *want, size_t want_n)
{
	struct aa_buf b;
	aa_buf_init(&b);
	drain(m, &b);
	assert_int_equal(b.n, want_n);
	assert_memory_equal(b.p, want, want_n);
	aa_buf_free(&b);
}

static int feed_all(struct mss *m, const char *p, size_t n, size_t *consumed)
{
	return mss_receive(m, (const uint8_t *)p, n, consumed);
}

/* Feeds a complete input to a fresh responder; returns the result. */
static int responder_feed(const char *p, size_t n)
{
	struct mss m;
	responder_setup(&m);
	size_t used;
	return feed_all(&m, p, n, &used);
}

static void test_mss_initiator_sends_header_and_proposal_together(void **state)
{
	(void)state;
	const char *protos[] = { "/noise" };
	struct mss m;
	assert_int_equal(mss_initiator_init(&m, protos, 1, false), 0);
	static const char want[] = HDR "\x07/noise\n";
	assert_output(&m, want, sizeof want - 1);
	assert_false(mss_can_send_app(&m));
	assert_null(mss_selected(&m));
}

static void test_mss_responder_echoes_header_and_proposal_exactly(void **state)
{
	(void)state;
	struct mss m;
	responder_setup(&m);
	static const char in[] = HDR "\x07/noise\n";
	size_t used;
	assert_int_equal(feed_all(&m, in, sizeof in - 1, &used), MSS_DONE);
	assert_int_equal(used, sizeof in - 1);
	assert_output(&m, in, sizeof in - 1);
	assert_string_equal(mss_selected(&m), "/noise");
	assert_true(mss_can_send_app(&m));
}

static void test_mss_responder_says_na_in_spec_bytes(void **state)
{
	(void)state;
	struct mss m;
	responder_setup(&m);
	static const char in[] = HDR "\x05/tls\n";
	size_t used;
	assert_int_equal(feed_all(&m, in, sizeof in - 1, &used), MSS_AGAIN);
	assert_int_equal(used, sizeof in - 1);
	/* connections spec: "na" is 0x036e610a. */
	static const char want[] = HDR "\x03\x6e\x61\x0a";
	assert_output(&m, want, sizeof want - 1);
	assert_null(mss_selected(&m));
}

/* Runs both sides against each other until both finish or one fails. Bytes each side
 * receives after finishing are application data and are collected. */
static void converse(struct mss *ini, struct mss *rsp, int *ini_rc, int *rsp_rc,
		     struct aa_buf *ini_app, struct aa_buf *rsp_app, const char *ini_extra,
		     const char *rsp_extra)
{
	struct aa_buf to_rsp, to_ini;
	aa_buf_init(&to_rsp);
	aa_buf_init(&to_ini);
	*ini_rc = *rsp_rc = MSS_AGAIN;
	bool ini_extra_sent = false, rsp_extra_sent = false;
	for (int round = 0; round < 100; round++) {
		if (*ini_rc >= 0)
			drain(ini, &to_rsp);
		if (*rsp_rc >= 0)
			drain(rsp, &to_ini);
		if (ini_extra && !ini_extra_sent && mss_can_send_app(ini)) {
			aa_buf_append_str(&to_rsp, ini_extra);
			ini_extra_sent = true;
		}
		if (rsp_extra && !rsp_extra_sent && mss_can_send_app(rsp)) {
			aa_buf_append_str(&to_ini, rsp_extra);
			rsp_extra_sent = true;
		}
		size_t used;
		if (*rsp_rc == MSS_AGAIN && to_rsp.n > 0) {
			*rsp_rc = mss_receive(rsp, to_rsp.p, to_rsp.n, &used);
			aa_buf_consume(&to_rsp, used);
		}
		if (*rsp_rc == MSS_DONE) {
			aa_buf_append(rsp_app, to_rsp.p, to_rsp.n);
			aa_buf_reset(&to_rsp);
		}
		if (*ini_rc == MSS_AGAIN && to_ini.n > 0) {
			*ini_rc = mss_receive(ini, to_ini.p, to_ini.n, &used);
			aa_buf_consume(&to_ini, used);
		}
		if (*ini_rc == MSS_DONE) {
			aa_buf_append(ini_app, to_ini.p, to_ini.n);
			aa_buf_reset(&to_ini);
		}
		if (*ini_rc != MSS_AGAIN && *rsp_rc != MSS_AGAIN &&
		    (!ini_extra || ini_extra_sent) && (!rsp_extra || rsp_extra_sent) &&
		    to_ini.n == 0 && to_rsp.n == 0)
			break;
		if (*ini_rc < 0 && to_rsp.n == 0)
			break;
	}
	aa_buf_free(&to_rsp);
	aa_buf_free(&to_ini);
}

static void test_mss_eager_negotiation_agrees(void **state)
{
	(void)state;
	const char *protos[] = { "/ipfs/ping/1.0.0" };
	struct mss ini, rsp;
	assert_int_equal(mss_initiator_init(&ini, protos, 1, false), 0);
	responder_setup(&rsp);
	struct aa_buf ia, ra;
	aa_buf_init(&ia);
	aa_buf_init(&ra);
	int irc, rrc;
	converse(&ini, &rsp, &irc, &rrc, &ia, &ra, "ping!", "pong!");
	assert_int_equal(irc, MSS_DONE);
	assert_int_equal(rrc, MSS_DONE);
	assert_string_equal(mss_selected(&ini), "/ipfs/ping/1.0.0");
	assert_string_equal(mss_selected(&rsp), "/ipfs/ping/1.0.0");
	assert_int_equal(ra.n, 5);
	assert_memory_equal(ra.p, "ping!", 5);
	assert_int_equal(ia.n, 5);
	assert_memory_equal(ia.p, "pong!", 5);
	aa_buf_free(&ia);
	aa_buf_free(&ra);
}

static void test_mss_na_falls_through_to_second_proposal(void **state)
{
	(void)state;
	const char *protos[] = { "/yamux/2.0.0", "/tls/1.0.0", "/noise" };
	struct mss ini, rsp;
	assert_int_equal(mss_initiator_init(&ini, protos, 3, false), 0);
	responder_setup(&rsp);
	struct aa_buf ia, ra;
	aa_buf_init(&ia);
	aa_buf_init(&ra);
	int irc, rrc;
	converse(&ini, &rsp, &irc, &rrc, &ia, &ra, NULL, NULL);
	assert_int_equal(irc, MSS_DONE);
	assert_int_equal(rrc, MSS_DONE);
	assert_string_equal(mss_selected(&ini), "/noise");
	assert_string_equal(mss_selected(&rsp), "/noise");
	aa_buf_free(&ia);
	aa_buf_free(&ra);
}

static void test_mss_initiator_sends_next_proposal_alone_after_na(void **state)
{
	(void)state;
	const char *protos[] = { "/tls/1.0.0", "/noise" };
	struct mss m;
	assert_int_equal(mss_initiator_init(&m, protos, 2, false), 0);
	struct aa_buf b;
	aa_buf_init(&b);
	drain(&m, &b);
	aa_buf_free(&b);
	size_t used;
	assert_int_equal(feed_all(&m, HDR NA, 24, &used), MSS_AGAIN);
	assert_int_equal(used, 24);
	assert_output(&m, "\x07/noise\n", 8);
	assert_int_equal(feed_all(&m, "\x07/noise\nDATA", 12, &used), MSS_DONE);
	assert_int_equal(used, 8);
	assert_string_equal(mss_selected(&m), "/noise");
}

static void test_mss_all_proposals_rejected_is_enotsup(void **state)
{
	(void)state;
	const char *protos[] = { "/a/1", "/b/1" };
	struct mss ini, rsp;
	assert_int_equal(mss_initiator_init(&ini, protos, 2, false), 0);
	responder_setup(&rsp);
	struct aa_buf ia, ra;
	aa_buf_init(&ia);
	aa_buf_init(&ra);
	int irc, rrc;
	converse(&ini, &rsp, &irc, &rrc, &ia, &ra, NULL, NULL);
	assert_int_equal(irc, AA_ENOTSUP);
	assert_int_equal(rrc, MSS_AGAIN);
	assert_null(mss_selected(&ini));
	/* The failure is sticky. */
	size_t used;
	assert_int_equal(feed_all(&ini, NA, 4, &used), AA_ENOTSUP);
	assert_int_equal(used, 0);
	aa_buf_free(&ia);
	aa_buf_free(&ra);
}

static void test_mss_lazy_initiator_pipelines_app_data(void **state)
{
	(void)state;
	const char *protos[] = { "/ipfs/id/1.0.0" };
	struct mss ini, rsp;
	assert_int_equal(mss_initiator_init(&ini, protos, 1, true), 0);
	responder_setup(&rsp);
	/* Nothing received yet, but once the proposal is out, data may follow (spec A.3). */
	assert_false(mss_can_send_app(&ini));
	struct aa_buf wire;
	aa_buf_init(&wire);
	drain(&ini, &wire);
	assert_true(mss_can_send_app(&ini));
	aa_buf_append_str(&wire, "first-frame");

	size_t used;
	assert_int_equal(mss_receive(&rsp, wire.p, wire.n, &used), MSS_DONE);
	assert_int_equal(wire.n - used, 11);
	assert_memory_equal(wire.p + used, "first-frame", 11);
	assert_string_equal(mss_selected(&rsp), "/ipfs/id/1.0.0");

	aa_buf_reset(&wire);
	drain(&rsp, &wire);
	aa_buf_append_str(&wire, "reply");
	/* Byte at a time: the initiator must eat header and echo and stop right before "reply". */
	size_t off = 0;
	int rc = MSS_AGAIN;
	while (rc == MSS_AGAIN && off < wire.n) {
		rc = mss_receive(&ini, wire.p + off, 1, &used);
		off += used;
	}
	assert_int_equal(rc, MSS_DONE);
	assert_int_equal(wire.n - off, 5);
	assert_memory_equal(wire.p + off, "reply", 5);
	assert_string_equal(mss_selected(&ini), "/ipfs/id/1.0.0");
	aa_buf_free(&wire);
}

static void test_mss_lazy_initiator_fails_on_na(void **state)
{
	(void)state;
	const char *protos[] = { "/unknown/1.0.0" };
	struct mss m;
	assert_int_equal(mss_initiator_init(&m, protos, 1, true), 0);
	size_t used;
	assert_int_equal(feed_all(&m, HDR NA, 24, &used), AA_ENOTSUP);
	assert_false(mss_can_send_app(&m));
	assert_null(mss_selected(&m));
}

static void test_mss_responder_accepts_input_byte_at_a_time(void **state)
{
	(void)state;
	static const char in[] = HDR "\x05/tls\n" "\x0f/ipfs/id/1.0.0\n" "APPDATA";
	const size_t n = sizeof in - 1;
	struct mss m;
	responder_setup(&m);
	struct aa_buf out;
	aa_buf_init(&out);
	size_t off = 0;
	int rc = MSS_AGAIN;
	while (rc == MSS_AGAIN && off < n) {
		size_t used;
		rc = mss_receive(&m, (const uint8_t *)in + off, 1, &used);
		assert_int_equal(used, 1);
		off += used;
		drain(&m, &out);
	}
	assert_int_equal(rc, MSS_DONE);
	assert_int_equal(n - off, 7);
	assert_memory_equal(in + off, "APPDATA", 7);
	static const char want[] = HDR NA "\x0f/ipfs/id/1.0.0\n";
	assert_int_equal(out.n, sizeof want - 1);
	assert_memory_equal(out.p, want, sizeof want - 1);
	aa_buf_free(&out);
}

static void test_mss_responder_returns_app_data_after_every_split(void **state)
{
	(void)state;
	static const char in[] = HDR "\x11/ipfs/ping/1.0.0\n" "0123456789";
	const size_t n = sizeof in - 1;
	for (size_t split = 0; split <= n; split++) {
		struct mss m;
		responder_setup(&m);
		size_t used;
		int rc = mss_receive(&m, (const uint8_t *)in, split, &used);
		size_t off = used;
		if (rc == MSS_AGAIN) {
			assert_int_equal(used, split);
			rc = mss_receive(&m, (const uint8_t *)in + off, n - off, &used);
			off += used;
		}
		assert_int_equal(rc, MSS_DONE);
		assert_int_equal(off, n - 10);
		assert_string_equal(mss_selected(&m), "/ipfs/ping/1.0.0");
	}
}

static void test_mss_ls_lists_protocols_in_nested_format(void **state)
{
	(void)state;
	static const char *const list[] = { "/a", "/bc" };
	struct mss m;
	assert_int_equal(mss_responder_init(&m, supports, list, 2, NULL), 0);
	size_t used;
	assert_int_equal(feed_all(&m, HDR "\x03ls\n", 24, &used), MSS_AGAIN);
	/* multistream-select README "ls example in detail": outer length, each ID as its own
	 * length-prefixed line, then a final newline; 4 + 5 + 1 = 10 bytes. */
	static const char want[] = HDR "\x0a" "\x03/a\n" "\x04/bc\n" "\n";
	assert_output(&m, want, sizeof want - 1);
	/* Negotiation goes on after ls. */
	assert_int_equal(feed_all(&m, "\x07/noise\n", 8, &used), MSS_DONE);
}

/* Decodes a 1- or 2-byte varint (all these tests need). */
static size_t small_varint(const uint8_t *p, size_t *v)
{
	if (p[0] < 0x80) {
		*v = p[0];
		return 1;
	}
	*v = (size_t)(p[0] & 0x7f) | ((size_t)p[1] << 7);
	return 2;
}

static void test_mss_ls_reply_is_streamed_and_capped(void **state)
{
	(void)state;
	/* Twenty 100-character IDs need ~2 KiB; only what fits in 1024 bytes is listed. */
	static char names[20][101];
	const char *list[20];
	for (int i = 0; i < 20; i++) {
		memset(names[i], 'a' + i, 100);
		names[i][0] = '/';
		names[i][100] = '\0';
		list[i] = names[i];
	}
	struct mss m;
	assert_int_equal(mss_responder_init(&m, supports, list, 20, NULL), 0);
	size_t used;
	assert_int_equal(feed_all(&m, HDR "\x03ls\n", 24, &used), MSS_AGAIN);
	/* Drain in odd-sized pieces while the reply is generated behind. */
	struct aa_buf out;
	aa_buf_init(&out);
	for (;;) {
		struct aa_slice s;
		mss_output(&m, &s);
		if (s.n == 0)
			break;
		size_t take = s.n < 77 ? s.n : 77;
		aa_buf_append(&out, s.p, take);
		mss_output_consumed(&m, take);
	}
	assert_memory_equal(out.p, HDR, 20);
	size_t body;
	size_t off = 20 + small_varint(out.p + 20, &body);
	assert_true(body <= MSS_MAX_MESSAGE);
	assert_int_equal(out.n, off + body);
	size_t count = 0;
	size_t end = off + body - 1;
	while (off < end) {
		size_t len;
		off += small_varint(out.p + off, &len);
		assert_int_equal(len, 101);
		assert_memory_equal(out.p + off, list[count], 100);
		assert_int_equal(out.p[off + 100], '\n');
		off += len;
		count++;
	}
	assert_int_equal(off, end);
	assert_int_equal(out.p[end], '\n');
	/* Each entry is 1 + 100 + 1 bytes: ten make 1 + 1020 = 1021, an eleventh would not fit. */
	assert_int_equal(count, 10);
	aa_buf_free(&out);
}

static void test_mss_ls_without_list_gets_na(void **state)
{
	(void)state;
	struct mss m;
	assert_int_equal(mss_responder_init(&m, supports, NULL, 0, NULL), 0);
	size_t used;
	assert_int_equal(feed_all(&m, HDR "\x03ls\n", 24, &used), MSS_AGAIN);
	assert_output(&m, HDR NA, 24);
}

static void test_mss_rejects_message_without_newline(void **state)
{
	(void)state;
	assert_int_equal(responder_feed(HDR "\x06/noise", 27), AA_EPROTO);
	assert_int_equal(responder_feed("\x13/multistream/1.0.0x", 20), AA_EPROTO);
}

static void test_mss_rejects_oversized_length(void **state)
{
	(void)state;
	/* 1025 = 0x81 0x08: one past the customary limit. */
	assert_int_equal(responder_feed(HDR "\x81\x08", 22), AA_EPROTO);
	/* A three-byte prefix is refused before it completes. */
	assert_int_equal(responder_feed(HDR "\x80\x80", 22), AA_EPROTO);
}

static void test_mss_accepts_overlong_proposal_as_na(void **state)
{
	(void)state;
	/* 1024 bytes: legal message, longer than any protocol ID we use. */
	static uint8_t in[20 + 2 + 1024 + 8];
	memcpy(in, HDR, 20);
	in[20] = 0x80;
	in[21] = 0x08;
	in[22] = '/';
	memset(in + 23, 'x', 1022);
	in[22 + 1023] = '\n';
	memcpy(in + 22 + 1024, "\x07/noise\n", 8);
	struct mss m;
	responder_setup(&m);
	size_t used;
	assert_int_equal(mss_receive(&m, in, sizeof in, &used), MSS_DONE);
	assert_int_equal(used, sizeof in);
	static const char want[] = HDR NA "\x07/noise\n";
	assert_output(&m, want, sizeof want - 1);
}

static void test_mss_checks_overlong_proposal_it_skips(void **state)
{
	(void)state;
	static uint8_t in[20 + 2 + 300];
	memcpy(in, HDR, 20);
	in[20] = 0xac; /* 300 */
	in[21] = 0x02;
	memset(in + 22, 'x', 300);
	in[22 + 150] = '\t';
	in[22 + 299] = '\n';
	struct mss m;
	responder_setup(&m);
	size_t used;
	assert_int_equal(mss_receive(&m, in, sizeof in, &used), AA_EPROTO);
	in[22 + 150] = 'x';
	in[22 + 299] = 'x'; /* no newline at the end */
	responder_setup(&m);
	assert_int_equal(mss_receive(&m, in, sizeof in, &used), AA_EPROTO);
	in[22 + 299] = '\n';
	responder_setup(&m);
	assert_int_equal(mss_receive(&m, in, sizeof in, &used), MSS_AGAIN);
	assert_int_equal(used, sizeof in);
}

static void test_mss_rejects_non_minimal_varint(void **state)
{
	(void)state;
	/* 0x87 0x00 encodes 7 in two bytes (unsigned-varint spec: minimal encoding only). */
	assert_int_equal(responder_feed(HDR "\x87\x00/noise\n", 29), AA_EPROTO);
}

static void test_mss_rejects_empty_message_and_empty_line(void **state)
{
	(void)state;
	assert_int_equal(responder_feed(HDR "\x00", 21), AA_EPROTO);
	assert_int_equal(responder_feed(HDR "\x01\n", 22), AA_EPROTO);
}

static void test_mss_rejects_wrong_header(void **state)
{
	(void)state;
	assert_int_equal(responder_feed("\x13/multistream/2.0.0\n", 20), AA_EPROTO);
	assert_int_equal(responder_feed("\x07/noise\n", 8), AA_EPROTO);
	/* The old 0.3.0 header has another length: refused from its prefix alone. */
	assert_int_equal(responder_feed("\x1a", 1), AA_EPROTO);
	const char *protos[] = { "/noise" };
	struct mss m;
	assert_int_equal(mss_initiator_init(&m, protos, 1, false), 0);
	size_t used;
	assert_int_equal(feed_all(&m, "\x07/noise\n", 8, &used), AA_EPROTO);
}

static void test_mss_rejects_control_chars_and_bad_utf8(void **state)
{
	(void)state;
	assert_int_equal(responder_feed(HDR "\x07/no\tse\n", 28), AA_EPROTO);
	assert_int_equal(responder_feed(HDR "\x07/no\nse\n", 28), AA_EPROTO);
	assert_int_equal(responder_feed(HDR "\x07/no\x7fse\n", 28), AA_EPROTO);
	assert_int_equal(responder_feed(HDR "\x07/no\xffse\n", 28), AA_EPROTO);
	/* "\xc0\xaf" is an overlong '/'. */
	assert_int_equal(responder_feed(HDR "\x07/n\xc0\xafse\n", 28), AA_EPROTO);
	/* Valid UTF-8 that we do not speak is simply refused. */
	assert_int_equal(responder_feed(HDR "\x08/h\xc3\xa9llo\n", 29), MSS_AGAIN);
}

static void test_mss_rejects_too_many_proposals(void **state)
{
	(void)state;
	struct mss m;
	responder_setup(&m);
	size_t used;
	assert_int_equal(feed_all(&m, HDR, 20, &used), MSS_AGAIN);
	for (int i = 0; i < MSS_MAX_REJECTS; i++) {
		assert_int_equal(feed_all(&m, "\x05/tls\n", 6, &used), MSS_AGAIN);
		struct aa_buf b;
		aa_buf_init(&b);
		drain(&m, &b);
		aa_buf_free(&b);
	}
	assert_int_equal(feed_all(&m, "\x05/tls\n", 6, &used), AA_EPROTO);
	assert_int_equal(feed_all(&m, "\x07/noise\n", 8, &used), AA_EPROTO);
}

static void test_mss_initiator_rejects_foreign_answer(void **state)
{
	(void)state;
	const char *protos[] = { "/noise" };
	struct mss m;
	assert_int_equal(mss_initiator_init(&m, protos, 1, false), 0);
	size_t used;
	assert_int_equal(feed_all(&m, HDR "\x05/tls\n", 26, &used), AA_EPROTO);
	assert_int_equal(mss_initiator_init(&m, protos, 1, false), 0);
	/* Longer than any proposal: refused from the prefix. */
	assert_int_equal(feed_all(&m, HDR "\x80\x04", 22, &used), AA_EPROTO);
}

static void test_mss_responder_stalls_when_replies_are_not_drained(void **state)
{
	(void)state;
	/* Header, 20 refused proposals and an accepted one, all in one chunk. */
	struct aa_buf in;
	aa_buf_init(&in);
	aa_buf_append(&in, HDR, 20);
	for (int i = 0; i < 20; i++)
		aa_buf_append(&in, "\x05/tls\n", 6);
	aa_buf_append(&in, "\x07/noise\nXY", 10);
	struct mss m;
	responder_setup(&m);
	struct aa_buf out;
	aa_buf_init(&out);
	size_t off = 0;
	int rc = MSS_AGAIN;
	int calls = 0;
	while (rc == MSS_AGAIN) {
		size_t used;
		rc = mss_receive(&m, in.p + off, in.n - off, &used);
		off += used;
		calls++;
		assert_true(calls < 10);
		if (rc == MSS_AGAIN)
			assert_true(used < in.n);
		drain(&m, &out);
	}
	assert_true(calls > 1); /* it did stall at least once */
	assert_int_equal(rc, MSS_DONE);
	assert_int_equal(in.n - off, 2);
	assert_int_equal(out.n, 20 + 20 * 4 + 8);
	aa_buf_free(&in);
	aa_buf_free(&out);
}

static void test_mss_init_rejects_bad_arguments(void **state)
{
	(void)state;
	struct mss m;
	const char *two[] = { "/a", "/b" };
	const char *na[] = { "na" };
	const char *empty[] = { "" };
	const char *ctl[] = { "/a\n" };
	static char longid[MSS_MAX_PROTO_LEN + 2];
	memset(longid, 'x', sizeof longid - 1);
	const char *toolong[] = { longid };
	assert_int_equal(mss_initiator_init(&m, two, 0, false), AA_EINVAL);
	assert_int_equal(mss_initiator_init(&m, two, 2, true), AA_EINVAL);
	assert_int_equal(mss_initiator_init(&m, na, 1, false), AA_EINVAL);
	assert_int_equal(mss_initiator_init(&m, empty, 1, false), AA_EINVAL);
	assert_int_equal(mss_initiator_init(&m, ctl, 1, false), AA_EINVAL);
	assert_int_equal(mss_initiator_init(&m, toolong, 1, false), AA_EINVAL);
	size_t used;
	assert_int_equal(feed_all(&m, HDR, 20, &used), AA_EINVAL);
	assert_int_equal(mss_responder_init(&m, NULL, NULL, 0, NULL), AA_EINVAL);
	assert_int_equal(mss_responder_init(&m, supports, toolong, 1, NULL), AA_EINVAL);
	longid[MSS_MAX_PROTO_LEN] = '\0';
	assert_int_equal(mss_initiator_init(&m, toolong, 1, false), 0);
}

static void test_mss_state_stays_small(void **state)
{
	(void)state;
	assert_true(sizeof(struct mss) < 1536);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mss_initiator_sends_header_and_proposal_together),
		cmocka_unit_test(test_mss_responder_echoes_header_and_proposal_exactly),
		cmocka_unit_test(test_mss_responder_says_na_in_spec_bytes),
		cmocka_unit_test(test_mss_eager_negotiation_agrees),
		cmocka_unit_test(test_mss_na_falls_through_to_second_proposal),
		cmocka_unit_test(test_mss_initiator_sends_next_proposal_alone_after_na),
		cmocka_unit_test(test_mss_all_proposals_rejected_is_enotsup),
		cmocka_unit_test(test_mss_lazy_initiator_pipelines_app_data),
		cmocka_unit_test(test_mss_lazy_initiator_fails_on_na),
		cmocka_unit_test(test_mss_responder_accepts_input_byte_at_a_time),
		cmocka_unit_test(test_mss_responder_returns_app_data_after_every_split),
		cmocka_unit_test(test_mss_ls_lists_protocols_in_nested_format),
		cmocka_unit_test(test_mss_ls_reply_is_streamed_and_capped),
		cmocka_unit_test(test_mss_ls_without_list_gets_na),
		cmocka_unit_test(test_mss_rejects_message_without_newline),
		cmocka_unit_test(test_mss_rejects_oversized_length),
		cmocka_unit_test(test_mss_accepts_overlong_proposal_as_na),
		cmocka_unit_test(test_mss_checks_overlong_proposal_it_skips),
		cmocka_unit_test(test_mss_rejects_non_minimal_varint),
		cmocka_unit_test(test_mss_rejects_empty_message_and_empty_line),
		cmocka_unit_test(test_mss_rejects_wrong_header),
		cmocka_unit_test(test_mss_rejects_control_chars_and_bad_utf8),
		cmocka_unit_test(test_mss_rejects_too_many_proposals),
		cmocka_unit_test(test_mss_initiator_rejects_foreign_answer),
		cmocka_unit_test(test_mss_responder_stalls_when_replies_are_not_drained),
		cmocka_unit_test(test_mss_init_rejects_bad_arguments),
		cmocka_unit_test(test_mss_state_stays_small),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
