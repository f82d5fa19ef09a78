/* Unit tests for rpc/grpc_wire: message reassembly, grpc-timeout, content-type and
 * grpc-message percent-encoding (grpc/grpc doc/PROTOCOL-HTTP2.md). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "rpc/grpc_wire.h"

static void push_message(struct aa_buf *b, uint8_t flag, const char *payload)
{
	uint8_t prefix[GRPC_PREFIX_BYTES];
	grpc_msg_prefix(prefix, flag == 1, (uint32_t)strlen(payload));
	prefix[0] = flag;
	aa_buf_append(b, prefix, sizeof prefix);
	aa_buf_append(b, payload, strlen(payload));
}

static void test_grpc_prefix_is_flag_and_big_endian_length(void **state)
{
	uint8_t p[GRPC_PREFIX_BYTES];
	grpc_msg_prefix(p, false, 0x01020304);
	assert_memory_equal(p, "\x00\x01\x02\x03\x04", 5);
	grpc_msg_prefix(p, true, 5);
	assert_memory_equal(p, "\x01\x00\x00\x00\x05", 5);
}

static void test_grpc_reader_reassembles_byte_by_byte(void **state)
{
	struct aa_buf wire;
	aa_buf_init(&wire);
	push_message(&wire, 0, "hello");
	push_message(&wire, 0, "");
	push_message(&wire, 0, "world!");
	struct grpc_msg_reader r;
	grpc_msg_reader_init(&r, 100);
	const char *want[] = { "hello", "", "world!" };
	size_t got = 0;
	for (size_t i = 0; i < wire.n; i++) {
		grpc_msg_reader_push(&r, wire.p + i, 1);
		struct grpc_msg m;
		while (grpc_msg_reader_peek(&r, &m) == 0) {
			assert_true(got < 3);
			assert_int_equal(m.len, strlen(want[got]));
			assert_memory_equal(m.data, want[got], m.len);
			assert_false(m.compressed);
			grpc_msg_reader_pop(&r);
			got++;
		}
	}
	assert_int_equal(got, 3);
	assert_int_equal(grpc_msg_reader_buffered(&r), 0);
	grpc_msg_reader_free(&r);
	aa_buf_free(&wire);
}

static void test_grpc_reader_reports_length_before_payload(void **state)
{
	struct grpc_msg_reader r;
	grpc_msg_reader_init(&r, 1000);
	grpc_msg_reader_push(&r, (const uint8_t *)"\x00\x00\x00\x01", 4);
	struct grpc_msg m;
	assert_int_equal(grpc_msg_reader_peek(&r, &m), AA_EAGAIN);
	assert_int_equal(m.need, 0);
	grpc_msg_reader_push(&r, (const uint8_t *)"\x00" "ab", 3);
	assert_int_equal(grpc_msg_reader_peek(&r, &m), AA_EAGAIN);
	assert_int_equal(m.need, 5 + 256);
	assert_int_equal(m.len, 256);
	grpc_msg_reader_free(&r);
}

static void test_grpc_reader_rejects_oversized_message_at_prefix(void **state)
{
	struct grpc_msg_reader r;
	grpc_msg_reader_init(&r, 16u << 20);
	uint8_t p[GRPC_PREFIX_BYTES];
	grpc_msg_prefix(p, false, (16u << 20) + 1);
	grpc_msg_reader_push(&r, p, sizeof p);
	struct grpc_msg m;
	assert_int_equal(grpc_msg_reader_peek(&r, &m), AA_ETOOBIG);
	assert_int_equal(m.len, (16u << 20) + 1);
	grpc_msg_reader_free(&r);
	/* Exactly the limit is fine. */
	grpc_msg_reader_init(&r, 4);
	grpc_msg_reader_push(&r, (const uint8_t *)"\x00\x00\x00\x00\x04" "abcd", 9);
	assert_int_equal(grpc_msg_reader_peek(&r, &m), 0);
	grpc_msg_reader_free(&r);
}

static void test_grpc_reader_rejects_flag_other_than_0_or_1(void **state)
{
	struct grpc_msg_reader r;
	grpc_msg_reader_init(&r, 100);
	grpc_msg_reader_push(&r, (const uint8_t *)"\x02\x00\x00\x00\x00", 5);
	struct grpc_msg m;
	assert_int_equal(grpc_msg_reader_peek(&r, &m), AA_EPROTO);
	grpc_msg_reader_free(&r);
}

static void test_grpc_reader_reports_compressed_flag(void **state)
{
	struct grpc_msg_reader r;
	grpc_msg_reader_init(&r, 100);
	grpc_msg_reader_push(&r, (const uint8_t *)"\x01\x00\x00\x00\x02", 5);
	struct grpc_msg m;
	assert_int_equal(grpc_msg_reader_peek(&r, &m), AA_EAGAIN);
	assert_true(m.compressed);
	assert_int_equal(m.need, 7);
	grpc_msg_reader_free(&r);
}

static void test_grpc_reader_many_small_messages_in_one_push(void **state)
{
	struct aa_buf wire;
	aa_buf_init(&wire);
	for (int i = 0; i < 10000; i++)
		push_message(&wire, 0, "x");
	struct grpc_msg_reader r;
	grpc_msg_reader_init(&r, 100);
	grpc_msg_reader_push(&r, wire.p, wire.n - 3); /* the last message cut short */
	struct grpc_msg m;
	int n = 0;
	while (grpc_msg_reader_peek(&r, &m) == 0) {
		grpc_msg_reader_pop(&r);
		n++;
	}
	assert_int_equal(n, 9999);
	assert_int_equal(grpc_msg_reader_buffered(&r), 3);
	grpc_msg_reader_push(&r, wire.p + wire.n - 3, 3);
	assert_int_equal(grpc_msg_reader_peek(&r, &m), 0);
	grpc_msg_reader_pop(&r);
	assert_int_equal(grpc_msg_reader_buffered(&r), 0);
	grpc_msg_reader_free(&r);
	aa_buf_free(&wire);
}

static void test_grpc_timeout_parses_every_unit(void **state)
{
	struct {
		const char *s;
		uint64_t ms;
	} ok[] = {
		{ "1H", 3600000 }, { "2M", 120000 }, { "3S", 3000 }, { "250m", 250 },
		{ "1500u", 2 }, { "1000u", 1 }, { "1n", 1 }, { "1000000n", 1 }, { "1000001n", 2 },
		{ "0S", 0 }, { "99999999H", 99999999ull * 3600000 }, { "00000001S", 1000 },
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		uint64_t ms = 12345;
		assert_int_equal(grpc_timeout_parse(ok[i].s, strlen(ok[i].s), &ms), 0);
		assert_true(ms == ok[i].ms);
	}
}

static void test_grpc_timeout_rejects_malformed(void **state)
{
	const char *bad[] = { "", "S", "1", "1s", "1h", "-1S", "1.5S", " 1S", "1S ", "123456789S",
			      "1SS", "1x", "+1S", "0x1S" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint64_t ms;
		assert_int_equal(grpc_timeout_parse(bad[i], strlen(bad[i]), &ms), AA_EINVAL);
	}
}

static void test_grpc_content_type_accepts_grpc_and_subtypes(void **state)
{
	const char *ok[] = { "application/grpc", "application/grpc+proto", "application/grpc+json",
			     "application/grpc;charset=utf-8" };
	const char *bad[] = { "", "application/json", "application/grpcx", "application/grp",
			      "text/plain", "application/grpc-web" };
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		assert_true(grpc_content_type_ok(ok[i], strlen(ok[i])));
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(grpc_content_type_ok(bad[i], strlen(bad[i])));
}

static void test_grpc_percent_encoding_escapes_percent_and_non_ascii(void **state)
{
	struct aa_buf b;
	aa_buf_init(&b);
	const char *in = "50% off\n\xc3\xa9~";
	grpc_percent_encode(&b, in, strlen(in));
	aa_buf_append_byte(&b, 0);
	assert_string_equal((const char *)b.p, "50%25 off%0A%C3%A9~");
	aa_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grpc_prefix_is_flag_and_big_endian_length),
		cmocka_unit_test(test_grpc_reader_reassembles_byte_by_byte),
		cmocka_unit_test(test_grpc_reader_reports_length_before_payload),
		cmocka_unit_test(test_grpc_reader_rejects_oversized_message_at_prefix),
		cmocka_unit_test(test_grpc_reader_rejects_flag_other_than_0_or_1),
		cmocka_unit_test(test_grpc_reader_reports_compressed_flag),
		cmocka_unit_test(test_grpc_reader_many_small_messages_in_one_push),
		cmocka_unit_test(test_grpc_timeout_parses_every_unit),
		cmocka_unit_test(test_grpc_timeout_rejects_malformed),
		cmocka_unit_test(test_grpc_content_type_accepts_grpc_and_subtypes),
		cmocka_unit_test(test_grpc_percent_encoding_escapes_percent_and_non_ascii),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
