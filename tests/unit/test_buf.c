/* Unit tests for base/buf, base/err, base/clock (durations). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"

static void test_buf_append_and_consume(void **state)
{
	struct aa_buf b;
	aa_buf_init(&b);
	for (int i = 0; i < 1000; i++)
		aa_buf_append_byte(&b, (uint8_t)i);
	assert_int_equal(b.n, 1000);
	aa_buf_consume(&b, 10);
	assert_int_equal(b.n, 990);
	assert_int_equal(b.p[0], 10);
	aa_buf_append_str(&b, "xyz");
	size_t len;
	uint8_t *p = aa_buf_steal(&b, &len);
	assert_int_equal(len, 993);
	assert_int_equal(p[len], 0);
	assert_null(b.p);
	free(p);
}

static void test_strerror_names_every_code(void **state)
{
	for (int e = 0; e >= AA_EUNAVAIL; e--)
		assert_string_not_equal(aa_strerror(e), "unknown error");
	assert_string_equal(aa_strerror(-999), "unknown error");
}

static void test_duration_parses_go_syntax(void **state)
{
	uint64_t ns;
	assert_int_equal(aa_duration_parse("24h", &ns), 0);
	assert_true(ns == 24ull * 3600 * 1000000000ull);
	assert_int_equal(aa_duration_parse("1h30m", &ns), 0);
	assert_true(ns == 5400ull * 1000000000ull);
	assert_int_equal(aa_duration_parse("1.5s", &ns), 0);
	assert_true(ns == 1500000000ull);
	assert_int_equal(aa_duration_parse("250ms", &ns), 0);
	assert_true(ns == 250000000ull);
	assert_int_equal(aa_duration_parse("0", &ns), 0);
	assert_true(ns == 0);
}

static void test_duration_rejects_garbage(void **state)
{
	uint64_t ns;
	const char *bad[] = { "", "h", "10", "-5s", "5 s", "5x", "1.s.", "s5", "99999999999999999999h" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_true(aa_duration_parse(bad[i], &ns) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_append_and_consume),
		cmocka_unit_test(test_strerror_names_every_code),
		cmocka_unit_test(test_duration_parses_go_syntax),
		cmocka_unit_test(test_duration_rejects_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
