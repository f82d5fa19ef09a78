/* Unit tests for base/uuid: RFC 9562 version-4 layout, canonical text, strict parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include "base/err.h"
#include "base/uuid.h"

static void test_uuid_v4_sets_version_and_variant(void **state)
{
	for (int i = 0; i < 100; i++) {
		uint8_t id[16];
		uuid_v4(id);
		assert_int_equal(id[6] >> 4, 4);
		assert_int_equal(id[8] >> 6, 2);
	}
}

static void test_uuid_v4_string_is_canonical_lower_case(void **state)
{
	char s[AA_UUID_STR_LEN + 1];
	uuid_v4_string(s);
	assert_int_equal(strlen(s), 36);
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			assert_int_equal(s[i], '-');
		else
			assert_true((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'));
	}
	assert_int_equal(s[14], '4');
	assert_true(strchr("89ab", s[19]) != NULL);
	assert_true(uuid_is_valid_string(s));
}

static void test_uuid_v4_strings_differ(void **state)
{
	char a[AA_UUID_STR_LEN + 1], b[AA_UUID_STR_LEN + 1];
	uuid_v4_string(a);
	uuid_v4_string(b);
	assert_string_not_equal(a, b);
}

static void test_uuid_formats_known_value(void **state)
{
	/* A version-4 UUID value (version nibble 4, variant bits 10). */
	const uint8_t id[16] = { 0x91, 0x91, 0x08, 0xf7, 0x52, 0xd1, 0x43, 0x20,
				 0x9b, 0xac, 0xf8, 0x47, 0xdb, 0x41, 0x48, 0xa8 };
	char s[AA_UUID_STR_LEN + 1];
	uuid_format(id, s);
	assert_string_equal(s, "919108f7-52d1-4320-9bac-f847db4148a8");
	uint8_t back[16];
	assert_int_equal(uuid_parse(s, back), 0);
	assert_memory_equal(back, id, 16);
}

static void test_uuid_parse_accepts_upper_case(void **state)
{
	uint8_t id[16];
	assert_int_equal(uuid_parse("919108F7-52D1-4320-9BAC-F847DB4148A8", id), 0);
	assert_int_equal(id[0], 0x91);
	assert_int_equal(id[15], 0xa8);
}

static void test_uuid_parse_rejects_malformed_text(void **state)
{
	const char *bad[] = {
		"",
		"919108f7-52d1-4320-9bac-f847db4148a",
		"919108f7-52d1-4320-9bac-f847db4148a80",
		"919108f7052d1-4320-9bac-f847db4148a8",
		"919108f7-52d1-4320-9bac_f847db4148a8",
		"919108f752d143209bacf847db4148a8",
		"{919108f7-52d1-4320-9bac-f847db4148a}",
		"919108g7-52d1-4320-9bac-f847db4148a8",
		"919108f7-52d1-4320-9bac-f847db4148 8",
		"919108f7-52d-14320-9bac-f847db4148a8",
	};
	uint8_t id[16];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(uuid_parse(bad[i], id), AA_EINVAL);
		assert_false(uuid_is_valid_string(bad[i]));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uuid_v4_sets_version_and_variant),
		cmocka_unit_test(test_uuid_v4_string_is_canonical_lower_case),
		cmocka_unit_test(test_uuid_v4_strings_differ),
		cmocka_unit_test(test_uuid_formats_known_value),
		cmocka_unit_test(test_uuid_parse_accepts_upper_case),
		cmocka_unit_test(test_uuid_parse_rejects_malformed_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
