/* Unit tests for config/toml: TOML 1.0 (toml.io/en/v1.0.0). Table-driven documents that must
 * parse or must fail at a given line:column, then checks of the trees that valid documents
 * produce (types, values, positions, document order). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <math.h>
#include <cmocka.h>

#include "base/err.h"
#include "config/toml.h"

struct tcase {
	const char *doc;
	size_t len; /* 0: strlen(doc) */
	bool ok;
	int line, col;   /* where the error must be reported */
	const char *msg; /* a part of the error message */
};

#define OK(d) { d, 0, true, 0, 0, NULL }
#define BAD(d, l, c, m) { d, 0, false, l, c, m }
/* For documents with an embedded NUL byte. */
#define BADN(d, l, c, m) { d, sizeof(d) - 1, false, l, c, m }

/* Runs every case and reports all mismatches before failing, so one run shows them all. */
static void run_cases(const struct tcase *cases, size_t n)
{
	int bad = 0;
	for (size_t k = 0; k < n; k++) {
		const struct tcase *c = &cases[k];
		size_t len = c->len ? c->len : strlen(c->doc);
		struct toml_table *root = (struct toml_table *)1;
		struct toml_error err;
		int rc = toml_parse(c->doc, len, &root, &err);
		if (c->ok && rc != 0) {
			print_message("case %zu should parse: %s\n  got %d:%d: %s\n", k, c->doc,
				      err.pos.line, err.pos.col, err.msg);
			bad++;
		} else if (!c->ok && rc == 0) {
			print_message("case %zu should fail: %s\n", k, c->doc);
			bad++;
		} else if (!c->ok && (rc != AA_EINVAL || root != NULL || err.pos.line != c->line ||
				      err.pos.col != c->col || !strstr(err.msg, c->msg))) {
			print_message("case %zu: %s\n  want %d:%d: ...%s...\n  got  %d:%d: %s\n", k,
				      c->doc, c->line, c->col, c->msg, err.pos.line, err.pos.col,
				      err.msg);
			bad++;
		}
		if (rc == 0)
			toml_free(root);
	}
	assert_int_equal(bad, 0);
}

#define RUN(cases) run_cases(cases, sizeof cases / sizeof cases[0])

/* Parses a document that must be valid. */
static struct toml_table *parse_ok(const char *doc, size_t len)
{
	struct toml_table *root = NULL;
	struct toml_error err;
	int rc = toml_parse(doc, len ? len : strlen(doc), &root, &err);
	if (rc != 0)
		print_message("unexpected error %d:%d: %s\n", err.pos.line, err.pos.col, err.msg);
	assert_int_equal(rc, 0);
	assert_non_null(root);
	return root;
}

static const struct toml_value *get(const struct toml_table *t, const char *path,
				    enum toml_type type)
{
	const struct toml_value *v = toml_table_get_path(t, path);
	if (!v)
		print_message("missing %s\n", path);
	assert_non_null(v);
	assert_int_equal(v->type, type);
	return v;
}

static void assert_pos(struct toml_pos pos, int line, int col)
{
	assert_int_equal(pos.line, line);
	assert_int_equal(pos.col, col);
}

/* ---- table-driven: accept or reject at line:col -------------------------------------- */

static void test_strings_valid_and_invalid_forms(void **state)
{
	static const struct tcase cases[] = {
		OK("a = \"\""),
		OK("a = ''"),
		OK("a = \"\"\"\"\"\""),
		OK("a = \"\"\"\"\"\"\"\""),
		OK("a = '''a'''''"),
		OK("a = \"tab\tinside\""),
		OK("a = \"caf\xC3\xA9 \xF0\x9F\x98\x80\""),
		OK("a = \"\\u00e9\\U0001F600\\uE000\\U0010FFFF\\uD7FF\""),
		OK("a = 'C:\\path\\no\\escapes'"),
		OK("a = \"\"\"\nline\\\n    continued\\   \n\n  here\"\"\""),
		OK("a = '''\r\nwindows\r\nlines'''"),
		OK("a = \"\"\"quote \"\" inside\"\"\""),
		BAD("a = \"abc", 1, 5, "unterminated string"),
		BAD("a = \"abc\nb = 1", 1, 5, "unterminated string"),
		BAD("a = 'abc\nb = 1", 1, 5, "unterminated literal string"),
		BAD("a = \"\\q\"", 1, 6, "invalid escape sequence \\q"),
		BAD("a = \"\\x41\"", 1, 6, "invalid escape sequence \\x"),
		BAD("a = \"\\e\"", 1, 6, "invalid escape sequence \\e"),
		BAD("a = \"ok\\ \"", 1, 8, "invalid escape"),
		BAD("a = \"\\uD800\"", 1, 6, "not a Unicode scalar value"),
		BAD("a = \"\\uDFFF\"", 1, 6, "not a Unicode scalar value"),
		BAD("a = \"\\U00110000\"", 1, 6, "not a Unicode scalar value"),
		BAD("a = \"\\u12\"", 1, 6, "exactly 4 hexadecimal digits"),
		BAD("a = \"\\U1234567\"", 1, 6, "exactly 8 hexadecimal digits"),
		BAD("a = \"tab\x01\"", 1, 9, "control character U+0001"),
		BAD("a = \"del\x7F\"", 1, 9, "control character U+007F"),
		BADN("a = 'lit\x00'", 1, 9, "control character U+0000"),
		BAD("a = \"x\ry\"", 1, 7, "carriage return"),
		BAD("a = \"\"\"\nabc", 1, 5, "unterminated multi-line string"),
		BAD("a = '''abc", 1, 5, "unterminated multi-line literal string"),
		BAD("a = \"\"\"a\\ b\"\"\"", 1, 9, "invalid escape"),
		BAD("a = \"\"\"x\"\"\"\"\"\"", 1, 14, "end of line after the value"),
		BAD("a = '''x''''''", 1, 14, "end of line after the value"),
		BAD("a = \"\"\"\nline\r\"\"\"", 2, 5, "carriage return"),
		BAD("a = '''\n\x1F'''", 2, 1, "control character U+001F"),
		BAD("a = \"x\" \"y\"", 1, 9, "end of line after the value"),
		BAD("\"\"\"a\"\"\" = 1", 1, 1, "multi-line string cannot be used as a key"),
	};
	RUN(cases);
}

static void test_utf8_and_control_characters(void **state)
{
	static const struct tcase cases[] = {
		OK("\xEF\xBB\xBF"),
		OK("\xEF\xBB\xBF" "a = 1"),
		OK("# comment with \t tab and \xE2\x82\xAC\na = 1"),
		OK("a = 1\r\nb = 2\r\n"),
		BAD("a = \"\xC3\x28\"", 1, 6, "invalid UTF-8"),
		BAD("a = \"\xC0\xAF\"", 1, 6, "invalid UTF-8"),          /* overlong */
		BAD("a = \"\xED\xA0\x80\"", 1, 6, "invalid UTF-8"),      /* surrogate */
		BAD("a = \"\xF4\x90\x80\x80\"", 1, 6, "invalid UTF-8"),  /* > U+10FFFF */
		BAD("a = \"\xE2\x82", 1, 6, "invalid UTF-8"),            /* cut short */
		BAD("# \xFF", 1, 3, "invalid UTF-8 (byte 0xFF) in a comment"),
		BAD("a = 1 # \x07", 1, 9, "U+0007 is not allowed in a comment"),
		BAD("a = 1 # x\ry", 1, 10, "carriage return"),
		BAD("a = 1\rb = 2", 1, 6, "carriage return not followed by a line feed"),
		BAD("\x0C" "a = 1", 1, 1, "control character U+000C"),
		BADN("a = 1\x00", 1, 6, "control character U+0000"),
		BAD("a = 1\n\xEF\xBB\xBF" "b = 2", 2, 1, "expected a key, found U+FEFF"),
		BAD("\xFE\xFF", 1, 1, "invalid UTF-8"),
		BAD("a = \"x\"\n\xC3", 2, 1, "invalid UTF-8"),
		BAD("\xC3\xA4 = 1", 1, 1, "expected a key, found U+00E4"),
	};
	RUN(cases);
}

static void test_integers_and_floats_valid_and_invalid_forms(void **state)
{
	static const struct tcase cases[] = {
		OK("a = +1"),
		OK("a = -0"),
		OK("a = 1_000_000"),
		OK("a = 0xDEAD_beef"),
		OK("a = 0x00ff"),
		OK("a = 0o0"),
		OK("a = 0b0"),
		OK("a = 9_223_372_036_854_775_807"),
		OK("a = -9223372036854775808"),
		OK("a = 0x7FFFFFFFFFFFFFFF"),
		OK("a = 1e05"),
		OK("a = 1E+5"),
		OK("a = 0e0"),
		OK("a = -0.0"),
		OK("a = 6.626e-34"),
		OK("a = 1e-400"), /* underflows to zero, which is representable */
		OK("a = +inf"),
		OK("a = -nan"),
		BAD("a = 01", 1, 5, "leading zeros"),
		BAD("a = -01", 1, 6, "leading zeros"),
		BAD("a = 0_1", 1, 5, "leading zeros"),
		BAD("a = 01.5", 1, 5, "leading zeros"),
		BAD("a = 1__0", 1, 6, "between two digits"),
		BAD("a = 1_", 1, 6, "between two digits"),
		BAD("a = _1", 1, 5, "expected a value"),
		BAD("a = 1_.5", 1, 6, "between two digits"),
		BAD("a = 1._5", 1, 7, "digit after the decimal point"),
		BAD("a = 1e_5", 1, 7, "digit in the exponent"),
		BAD("a = 9223372036854775808", 1, 5, "does not fit in 64 bits"),
		BAD("a = -9223372036854775809", 1, 5, "does not fit in 64 bits"),
		BAD("a = 0x8000000000000000", 1, 5, "does not fit in 64 bits"),
		BAD("a = 0x", 1, 7, "expected a hexadecimal digit"),
		BAD("a = 0xG", 1, 7, "expected a hexadecimal digit"),
		BAD("a = 0x_1", 1, 7, "expected a hexadecimal digit"),
		BAD("a = 0X10", 1, 6, "unexpected 'X' in integer"),
		BAD("a = +0x10", 1, 7, "unexpected 'x' in integer"),
		BAD("a = 0o8", 1, 7, "expected an octal digit"),
		BAD("a = 0b102", 1, 9, "unexpected '2' in binary integer"),
		BAD("a = 1.", 1, 7, "digit after the decimal point"),
		BAD("a = .5", 1, 5, "expected a value"),
		BAD("a = 1.e5", 1, 7, "digit after the decimal point"),
		BAD("a = 1e", 1, 7, "digit in the exponent"),
		BAD("a = 1e+", 1, 8, "digit in the exponent"),
		BAD("a = 1.5.3", 1, 8, "unexpected '.' in float"),
		BAD("a = 1e400", 1, 5, "out of range"),
		BAD("a = -1e400", 1, 5, "out of range"),
		BAD("a = Inf", 1, 5, "expected a value"),
		BAD("a = +in", 1, 6, "expected a digit, inf or nan"),
		BAD("a = nan1", 1, 8, "unexpected '1' in float"),
		BAD("a = 1x", 1, 6, "unexpected 'x' in integer"),
		BAD("a = --1", 1, 6, "expected a digit"),
		BAD("a = 12 34", 1, 8, "end of line after the value"),
		BAD("a = 1\xD9\xA0", 1, 6, "unexpected U+0660 in integer"),
	};
	RUN(cases);
}

static void test_booleans_and_datetimes_valid_and_invalid_forms(void **state)
{
	static const struct tcase cases[] = {
		OK("a = true\nb = false"),
		OK("a = 1979-05-27T07:32:00Z"),
		OK("a = 1979-05-27t07:32:00z"),
		OK("a = 1979-05-27 07:32:00-07:00"),
		OK("a = 1979-05-27T00:32:00.999999+05:30"),
		OK("a = 1979-05-27T07:32:00"),
		OK("a = 1979-05-27"),
		OK("a = 07:32:00"),
		OK("a = 00:32:00.5"),
		OK("a = 2000-02-29"),
		OK("a = 1990-12-31T23:59:60Z"),
		OK("a = 1979-05-27 # a comment, not a time"),
		OK("a = [1979-05-27,07:32:00]"),
		BAD("a = True", 1, 5, "expected a value"),
		BAD("a = truee", 1, 9, "unexpected 'e' in boolean"),
		BAD("a = fals", 1, 5, "expected a value"),
		BAD("a = 2021-13-01", 1, 10, "month 13 is out of range"),
		BAD("a = 2021-00-01", 1, 10, "month 00 is out of range"),
		BAD("a = 2021-02-29", 1, 13, "day 29 does not exist in 2021-02"),
		BAD("a = 2100-02-29", 1, 13, "does not exist"),
		BAD("a = 2021-04-31", 1, 13, "does not exist"),
		BAD("a = 2021-01-32", 1, 13, "day 32 is out of range"),
		BAD("a = 2021-1-01", 1, 11, "two digits for the month"),
		BAD("a = 24:00:00", 1, 5, "hour 24 is out of range"),
		BAD("a = 12:60:00", 1, 8, "minute 60 is out of range"),
		BAD("a = 12:00:61", 1, 11, "second 61 is out of range"),
		BAD("a = 12:00", 1, 10, "':' after the minute"),
		BAD("a = 12:00:00.", 1, 14, "digits after '.'"),
		BAD("a = 2021-01-01T12:00:00+24:00", 1, 25, "offset hour 24"),
		BAD("a = 2021-01-01T12:00:00+05", 1, 27, "':' in the UTC offset"),
		BAD("a = 2021-01-01T12:00:00+05:60", 1, 28, "offset minute 60"),
		BAD("a = 12:00:00Z", 1, 13, "unexpected 'Z' in time"),
		BAD("a = 2021-01-01X", 1, 15, "unexpected 'X' in date"),
		BAD("a = 2021-01-01T", 1, 16, "two digits for the hour"),
		BAD("a = 2021-01-01 12:00", 1, 21, "':' after the minute"),
		BAD("a = 202-01-01", 1, 8, "unexpected '-' in integer"),
	};
	RUN(cases);
}

static void test_arrays_and_inline_tables_valid_and_invalid_forms(void **state)
{
	static const struct tcase cases[] = {
		OK("a = []"),
		OK("a = [ ]"),
		OK("a = [1,]"),
		OK("a = [1, 'a', 1.5, true, [2], {b = 3}, 1979-05-27]"),
		OK("a = [\n  # c\n  1, # c\n\n  2 # c\n  , # c\n]"),
		OK("a = [[1, 2], [3]]"),
		OK("a = {}"),
		OK("a = { }"),
		OK("a = {b = 1, c.d = 2, c.e = 3}"),
		OK("a = {b = [1,\n2]}"),
		OK("a = [{b.c = 1}, {b.c = 2}]"),
		BAD("a = [1,,2]", 1, 8, "expected a value, found ','"),
		BAD("a = [,]", 1, 6, "expected a value, found ','"),
		BAD("a = [1 2]", 1, 8, "',' or ']'"),
		BAD("a = [1,\n2", 2, 2, "',' or ']' in the array, found end of input"),
		BAD("a = [\n  1, # c\n  2 # c\n", 4, 1, "found end of input"),
		BAD("a = [1] 2", 1, 9, "end of line after the value"),
		BAD("a = {b = 1,}", 1, 11, "trailing comma"),
		BAD("a = {b = 1\n}", 1, 11, "newlines are not allowed inside an inline table"),
		BAD("a = {\nb = 1}", 1, 6, "newlines are not allowed inside an inline table"),
		BAD("a = {b = 1 c = 2}", 1, 12, "',' or '}'"),
		BAD("a = {b = 1, b = 2}", 1, 13, "duplicate key 'b'"),
		BAD("a = {b = 1 # c\n}", 1, 12, "',' or '}'"),
		BAD("a = {,}", 1, 6, "expected a key"),
		BAD("a = {b = {c = 1}, b.d = 2}", 1, 19, "inline table 'b'"),
		BAD("a = {b.c = 1, b = 2}", 1, 15, "duplicate key 'b'"),
		BAD("a = {b = 1}\na.c = 2", 2, 1, "inline table 'a' (line 1, column 5) cannot be "
						  "extended"),
		BAD("a = {b = 1}\n[a]", 2, 2, "already defined as an inline table"),
		BAD("a = {b = 1}\n[a.c]", 2, 2, "inline table 'a'"),
		BAD("a = {b = {}}\n[[a.b]]", 2, 3, "inline table 'a'"),
	};
	RUN(cases);
}

static void test_keys_valid_and_invalid_forms(void **state)
{
	static const struct tcase cases[] = {
		OK("1234 = 1"),
		OK("true = 1\ninf = 2\nnan = 3"),
		OK("-_- = 1"),
		OK("\"\" = 1"),
		OK("'' = 1\nx.\"\" = 2"),
		OK("a . b . c = 1"),
		OK("\"a.b\" = 1\na.b = 2"),
		OK("3.14 = 1"),
		OK("\t a\t=\t1\t"),
		OK("a=1"),
		OK("\"\\u0000\" = 1\n'\\u0000' = 2"),
		BAD("= 1", 1, 1, "expected a key, found '='"),
		BAD("a b = 1", 1, 3, "expected '=' after the key, found 'b'"),
		BAD("a. = 1", 1, 4, "expected a key, found '='"),
		BAD(".a = 1", 1, 1, "expected a key"),
		BAD("a..b = 1", 1, 3, "expected a key, found '.'"),
		BAD("a = 1\na = 2", 2, 1, "duplicate key 'a' (already defined at line 1, column 1)"),
		BAD("a = 1\n\"a\" = 2", 2, 1, "duplicate key 'a'"),
		BAD("a = 1\n'a' = 2", 2, 1, "duplicate key 'a'"),
		BAD("a.b = 1\na.b = 2", 2, 3, "duplicate key 'b'"),
		BAD("a = 1\na.b = 2", 2, 1, "key 'a' is already an integer"),
		BAD("a.b = 1\na.b.c = 2", 2, 3, "key 'b' is already an integer"),
		BAD("a = 1 b = 2", 1, 7, "end of line after the value"),
		BAD("a", 1, 2, "expected '=' after the key, found end of input"),
		BAD("a =", 1, 4, "expected a value, found end of input"),
		BAD("a = # c", 1, 5, "expected a value, found '#'"),
		BAD("\"a\nb\" = 1", 1, 1, "unterminated string"),
		BAD("a = 1\n\n  \"\" = 1\n\"\" = 2", 4, 1, "duplicate key '' (already defined at line "
						       "3, column 3)"),
	};
	RUN(cases);
}

static void test_tables_and_redefinition_rules(void **state)
{
	static const struct tcase cases[] = {
		OK("[a]\n[b]\n[a.c]"),
		OK("[ a . b ]\n[ \"a b\" . 'c' ]"),
		OK("[a.b]\n[a]"),
		OK("[[a.b]]\n[a]"),
		OK("a.b = 1\n[a.c]"),
		OK("[fruit]\napple.color = 1\n[fruit.apple.texture]\nsmooth = true"),
		OK("[a.b.c]\n[a]\nb.d = 1"), /* a.b was only implied by the header */
		OK("[[a]]\n[[a]]\n[a.b]\n[[a.c]]\n[[a]]\n[a.b]"),
		OK("[a] # c\nb = 1 # c"),
		OK("[[a]] # c"),
		BAD("[a]\n[a]", 2, 2, "table 'a' is defined twice (first at line 1, column 1)"),
		BAD("[a.b]\n[a]\n[a]", 3, 2, "defined twice (first at line 2, column 1)"),
		BAD("[a]\n[b]\n[a]", 3, 2, "defined twice"),
		BAD("[a.\"b\"]\n[a.b]", 2, 4, "defined twice"),
		BAD("[a.'']\n[a.\"\"]", 2, 4, "defined twice"),
		BAD("[a]\nb = 1\n[a.b]", 3, 4, "key 'b' is already an integer (line 2, column 1)"),
		BAD("a = 1\n[a.b]", 2, 2, "key 'a' is already an integer"),
		BAD("a.b = 1\n[a]", 2, 2, "created by dotted keys (line 1, column 1)"),
		BAD("[x]\na.b.c = 1\n[x.a.b]", 3, 6, "table 'b' was already created by dotted keys"),
		BAD("[a.b.c]\n[a]\nb.c.d = 1", 3, 3, "table 'c' is defined by a header at line 1"),
		BAD("[a.b]\nc = 1\n[a]\nb.d = 2", 4, 1, "dotted keys cannot add to it"),
		BAD("[a.b.c]\n[a]\nb.e = 1\n[a.b]", 4, 4, "created by dotted keys"),
		BAD("[]", 1, 2, "expected a key, found ']'"),
		BAD("[a", 1, 3, "expected ']' to close the header, found end of input"),
		BAD("[a]]", 1, 4, "end of line after the table header"),
		BAD("[a] b = 1", 1, 5, "end of line after the table header"),
		BAD("[a.]", 1, 4, "expected a key"),
		BAD("[a\n]", 1, 3, "expected ']'"),
		BAD("[[a]\n", 1, 5, "expected ']]' to close the header, found end of line"),
		BAD("[[a] ]", 1, 5, "found a space"),
		BAD("[ [a]]", 1, 3, "expected a key, found '['"),
		BAD("a = []\n[[a]]", 2, 3, "cannot append to static array 'a' (line 1, column 1)"),
		BAD("a = [{b = 1}]\n[a.c]", 2, 2, "key 'a' is already an array"),
		BAD("[a]\n[[a]]", 2, 3, "key 'a' is already a table"),
		BAD("[[a]]\n[a]", 2, 2, "key 'a' is already an array of tables"),
		BAD("[[a.b]]\n[a]\nb.c = 1", 3, 1, "key 'b' is already an array of tables"),
		BAD("[[a]]\nb = 1\n[[a]]\nb = 1\nb = 2", 5, 1, "duplicate key 'b' (already defined at "
							       "line 4, column 1)"),
		BAD("a = true\n[[a]]", 2, 3, "key 'a' is already a boolean"),
	};
	RUN(cases);
}

/* ---- trees ----------------------------------------------------------------------------- */

static void test_basic_string_escapes_decode_to_utf8(void **state)
{
	struct toml_table *t = parse_ok("s = \"\\b\\t\\n\\f\\r\\\"\\\\\\u00E9\\U0001F600\"", 0);
	const struct toml_value *v = get(t, "s", TOML_STRING);
	static const char want[] = "\b\t\n\f\r\"\\\xC3\xA9\xF0\x9F\x98\x80";
	assert_int_equal(v->u.str.len, sizeof want - 1);
	assert_memory_equal(v->u.str.s, want, sizeof want);
	toml_free(t);
}

static void test_escaped_nul_is_kept_with_its_length(void **state)
{
	struct toml_table *t = parse_ok("\"k\\u0000x\" = \"a\\u0000b\"", 0);
	assert_int_equal(t->n, 1);
	assert_int_equal(t->items[0].keylen, 3);
	assert_memory_equal(t->items[0].key, "k\0x", 4);
	const struct toml_keyval *kv = toml_table_findn(t, "k\0x", 3);
	assert_non_null(kv);
	assert_null(toml_table_find(t, "k"));
	assert_int_equal(kv->val.u.str.len, 3);
	assert_memory_equal(kv->val.u.str.s, "a\0b", 4);
	toml_free(t);
}

static void test_multiline_basic_trims_first_newline_and_escaped_line_ends(void **state)
{
	struct toml_table *t = parse_ok("a = \"\"\"\nThe quick \\\n\n   brown \\   \n  fox.\"\"\"\n"
					"b = \"\"\"\nline one\nline two\n\"\"\"\n"
					"c = \"\"\"\"quoted\"\"\"\"\"\n",
					0);
	assert_string_equal(get(t, "a", TOML_STRING)->u.str.s, "The quick brown fox.");
	assert_string_equal(get(t, "b", TOML_STRING)->u.str.s, "line one\nline two\n");
	assert_string_equal(get(t, "c", TOML_STRING)->u.str.s, "\"quoted\"\"");
	toml_free(t);
}

static void test_literal_strings_keep_backslashes_and_crlf_becomes_lf(void **state)
{
	struct toml_table *t = parse_ok("a = 'C:\\Users\\x'\r\n"
					"b = '''\r\nfirst\r\n  \\n second'''\r\n"
					"c = ''''one quote' and two'''''\r\n",
					0);
	assert_string_equal(get(t, "a", TOML_STRING)->u.str.s, "C:\\Users\\x");
	assert_string_equal(get(t, "b", TOML_STRING)->u.str.s, "first\n  \\n second");
	assert_string_equal(get(t, "c", TOML_STRING)->u.str.s, "'one quote' and two''");
	toml_free(t);
}

static void test_integers_in_every_radix_and_at_the_limits(void **state)
{
	struct toml_table *t = parse_ok("a = +99\nb = -17\nc = 1_000\nd = 0xDEADbeef\n"
					"e = 0o755\nf = 0b1101_0110\ng = 9223372036854775807\n"
					"h = -9223372036854775808\ni = -0\nj = 0x7fff_ffff_ffff_ffff\n",
					0);
	assert_int_equal(get(t, "a", TOML_INTEGER)->u.i, 99);
	assert_int_equal(get(t, "b", TOML_INTEGER)->u.i, -17);
	assert_int_equal(get(t, "c", TOML_INTEGER)->u.i, 1000);
	assert_int_equal(get(t, "d", TOML_INTEGER)->u.i, 0xDEADBEEF);
	assert_int_equal(get(t, "e", TOML_INTEGER)->u.i, 0755);
	assert_int_equal(get(t, "f", TOML_INTEGER)->u.i, 0xD6);
	assert_true(get(t, "g", TOML_INTEGER)->u.i == INT64_MAX);
	assert_true(get(t, "h", TOML_INTEGER)->u.i == INT64_MIN);
	assert_int_equal(get(t, "i", TOML_INTEGER)->u.i, 0);
	assert_true(get(t, "j", TOML_INTEGER)->u.i == INT64_MAX);
	toml_free(t);
}

static void test_floats_with_fraction_exponent_and_specials(void **state)
{
	struct toml_table *t = parse_ok("a = 3.1415\nb = -0.01\nc = 5e+22\nd = 1e06\n"
					"e = -2E-2\nf = 6.626e-34\ng = 224_617.445_991\n"
					"h = inf\ni = -inf\nj = +nan\nk = -0.0\nl = 0e0\n",
					0);
	assert_true(get(t, "a", TOML_FLOAT)->u.f == 3.1415);
	assert_true(get(t, "b", TOML_FLOAT)->u.f == -0.01);
	assert_true(get(t, "c", TOML_FLOAT)->u.f == 5e22);
	assert_true(get(t, "d", TOML_FLOAT)->u.f == 1e6);
	assert_true(get(t, "e", TOML_FLOAT)->u.f == -2e-2);
	assert_true(get(t, "f", TOML_FLOAT)->u.f == 6.626e-34);
	assert_true(get(t, "g", TOML_FLOAT)->u.f == 224617.445991);
	assert_true(isinf(get(t, "h", TOML_FLOAT)->u.f) && get(t, "h", TOML_FLOAT)->u.f > 0);
	assert_true(isinf(get(t, "i", TOML_FLOAT)->u.f) && get(t, "i", TOML_FLOAT)->u.f < 0);
	assert_true(isnan(get(t, "j", TOML_FLOAT)->u.f));
	const struct toml_value *k = get(t, "k", TOML_FLOAT);
	assert_true(k->u.f == 0.0 && signbit(k->u.f));
	assert_true(get(t, "l", TOML_FLOAT)->u.f == 0.0);
	toml_free(t);
}

static void test_booleans_and_datetimes_keep_source_text(void **state)
{
	struct toml_table *t = parse_ok("t = true\nf = false\n"
					"odt = 1979-05-27T07:32:00Z\n"
					"odt2 = 1979-05-27 00:32:00.999999-07:00\n"
					"ldt = 1979-05-27t07:32:00\n"
					"ld = 1979-05-27\n"
					"lt = 07:32:00.25 # comment\n",
					0);
	assert_true(get(t, "t", TOML_BOOL)->u.b);
	assert_false(get(t, "f", TOML_BOOL)->u.b);
	assert_string_equal(get(t, "odt", TOML_DATETIME)->u.str.s, "1979-05-27T07:32:00Z");
	assert_string_equal(get(t, "odt2", TOML_DATETIME)->u.str.s,
			    "1979-05-27 00:32:00.999999-07:00");
	assert_string_equal(get(t, "ldt", TOML_DATETIME)->u.str.s, "1979-05-27t07:32:00");
	const struct toml_value *ld = get(t, "ld", TOML_DATETIME);
	assert_string_equal(ld->u.str.s, "1979-05-27");
	assert_int_equal(ld->u.str.len, 10);
	assert_string_equal(get(t, "lt", TOML_DATETIME)->u.str.s, "07:32:00.25");
	toml_free(t);
}

static void test_arrays_hold_mixed_types_and_nest(void **state)
{
	struct toml_table *t = parse_ok("a = [ 1, 'two', 3.0, [4, [5]], {six = 6}, # c\n"
					"  1979-05-27, ] # done\n",
					0);
	const struct toml_value *a = get(t, "a", TOML_ARRAY);
	assert_false(toml_array_is_table_array(a->u.arr));
	assert_int_equal(a->u.arr->n, 6);
	const struct toml_value *it = a->u.arr->items;
	assert_int_equal(it[0].type, TOML_INTEGER);
	assert_int_equal(it[1].type, TOML_STRING);
	assert_int_equal(it[2].type, TOML_FLOAT);
	assert_int_equal(it[3].type, TOML_ARRAY);
	assert_int_equal(it[3].u.arr->n, 2);
	assert_int_equal(it[3].u.arr->items[1].u.arr->items[0].u.i, 5);
	assert_int_equal(it[4].type, TOML_TABLE);
	assert_int_equal(get(it[4].u.tab, "six", TOML_INTEGER)->u.i, 6);
	assert_int_equal(it[5].type, TOML_DATETIME);
	assert_pos(it[5].pos, 2, 3);
	toml_free(t);
}

static void test_inline_table_dotted_keys_build_subtables(void **state)
{
	struct toml_table *t = parse_ok("p = { name.first = 'Tom', name.last = 'P', age = 3 }", 0);
	const struct toml_value *p = get(t, "p", TOML_TABLE);
	assert_int_equal(p->u.tab->n, 2);
	assert_string_equal(get(t, "p.name.first", TOML_STRING)->u.str.s, "Tom");
	assert_string_equal(get(t, "p.name.last", TOML_STRING)->u.str.s, "P");
	assert_int_equal(get(t, "p.age", TOML_INTEGER)->u.i, 3);
	toml_free(t);
}

static void test_tables_keep_document_order_and_implicit_parents(void **state)
{
	struct toml_table *t = parse_ok("z = 1\n[x.y.z]\nw = 2\n[a]\nb = 3\n[x]\nv = 4\n", 0);
	assert_int_equal(t->n, 3);
	assert_string_equal(t->items[0].key, "z");
	assert_string_equal(t->items[1].key, "x");
	assert_string_equal(t->items[2].key, "a");
	const struct toml_value *x = get(t, "x", TOML_TABLE);
	assert_int_equal(x->u.tab->n, 2); /* y (implicit), then v */
	assert_string_equal(x->u.tab->items[0].key, "y");
	assert_string_equal(x->u.tab->items[1].key, "v");
	assert_int_equal(get(t, "x.y.z.w", TOML_INTEGER)->u.i, 2);
	/* x's key was first written in [x.y.z]; the table itself is defined by [x]. */
	assert_pos(t->items[1].pos, 2, 2);
	assert_pos(x->pos, 6, 1);
	toml_free(t);
}

static void test_array_of_tables_headers_refer_to_the_last_element(void **state)
{
	struct toml_table *t = parse_ok("[[fruit]]\nname = 'apple'\n[fruit.physical]\ncolor = 'red'\n"
					"[[fruit.variety]]\nname = 'red delicious'\n"
					"[[fruit.variety]]\nname = 'granny smith'\n"
					"[[fruit]]\nname = 'banana'\n[[fruit.variety]]\nname = 'plantain'\n",
					0);
	const struct toml_value *f = get(t, "fruit", TOML_ARRAY);
	assert_true(toml_array_is_table_array(f->u.arr));
	assert_int_equal(f->u.arr->n, 2);
	const struct toml_table *apple = f->u.arr->items[0].u.tab;
	const struct toml_table *banana = f->u.arr->items[1].u.tab;
	assert_string_equal(get(apple, "physical.color", TOML_STRING)->u.str.s, "red");
	assert_int_equal(get(apple, "variety", TOML_ARRAY)->u.arr->n, 2);
	const struct toml_value *bv = get(banana, "variety", TOML_ARRAY);
	assert_int_equal(bv->u.arr->n, 1);
	assert_string_equal(get(bv->u.arr->items[0].u.tab, "name", TOML_STRING)->u.str.s,
			    "plantain");
	assert_pos(f->pos, 1, 1);
	assert_pos(f->u.arr->items[1].pos, 9, 1);
	toml_free(t);
}

static void test_dotted_keys_create_nested_tables(void **state)
{
	struct toml_table *t = parse_ok("site.\"google.com\" = true\na.b.c = 1\na.b.d = 2\n"
					"[tbl]\nx.y = 'z'\n",
					0);
	const struct toml_value *site = get(t, "site", TOML_TABLE);
	assert_non_null(toml_table_find(site->u.tab, "google.com"));
	assert_int_equal(get(t, "a.b", TOML_TABLE)->u.tab->n, 2);
	assert_int_equal(get(t, "a.b.d", TOML_INTEGER)->u.i, 2);
	assert_string_equal(get(t, "tbl.x.y", TOML_STRING)->u.str.s, "z");
	toml_free(t);
}

static void test_keys_and_values_record_their_positions(void **state)
{
	struct toml_table *t = parse_ok("# header\n"
					"name = \"x\"\n"
					"  [srv]  \n"
					"\tport.num   =   8080\n"
					"list = [\n  1,\n    2]\n"
					"'q k' = { a = 1 }\n",
					0);
	const struct toml_keyval *name = toml_table_find(t, "name");
	assert_pos(name->pos, 2, 1);
	assert_pos(name->val.pos, 2, 8);
	const struct toml_keyval *srv = toml_table_find(t, "srv");
	assert_pos(srv->pos, 3, 4);
	assert_pos(srv->val.pos, 3, 3);
	const struct toml_keyval *port = toml_table_find(srv->val.u.tab, "port");
	assert_pos(port->pos, 4, 2);
	const struct toml_keyval *num = toml_table_find(port->val.u.tab, "num");
	assert_pos(num->pos, 4, 7);
	assert_pos(num->val.pos, 4, 17);
	const struct toml_keyval *list = toml_table_find(srv->val.u.tab, "list");
	assert_pos(list->val.pos, 5, 8);
	assert_pos(list->val.u.arr->items[0].pos, 6, 3);
	assert_pos(list->val.u.arr->items[1].pos, 7, 5);
	const struct toml_keyval *qk = toml_table_find(srv->val.u.tab, "q k");
	assert_pos(qk->pos, 8, 1);
	assert_pos(qk->val.pos, 8, 9);
	assert_pos(toml_table_find(qk->val.u.tab, "a")->pos, 8, 11);
	toml_free(t);
}

static void test_positions_count_crlf_lines_and_skip_the_bom(void **state)
{
	struct toml_table *t = parse_ok("\xEF\xBB\xBF" "a = 1\r\n\r\nb = '''\r\nx\r\ny'''\r\nc = 2", 0);
	assert_pos(toml_table_find(t, "a")->pos, 1, 1);
	assert_pos(toml_table_find(t, "b")->pos, 3, 1);
	assert_pos(toml_table_find(t, "c")->pos, 6, 1);
	assert_pos(toml_table_find(t, "c")->val.pos, 6, 5);
	toml_free(t);

	struct toml_error err;
	struct toml_table *root;
	const char *doc = "a = \"\"\"\r\nfine\r\n\\q\"\"\"";
	assert_int_equal(toml_parse(doc, strlen(doc), &root, &err), AA_EINVAL);
	assert_pos(err.pos, 3, 1);
	assert_null(root);
}

static void test_lookup_helpers(void **state)
{
	struct toml_table *t = parse_ok("[policy.rate_limit]\ndefault_rps = 100\n[bridge]\nx = 1", 0);
	assert_int_equal(get(t, "policy.rate_limit.default_rps", TOML_INTEGER)->u.i, 100);
	assert_null(toml_table_get_path(t, "policy.missing"));
	assert_null(toml_table_get_path(t, "bridge.x.y")); /* x is not a table */
	assert_null(toml_table_get_path(t, ""));
	assert_null(toml_table_get_path(NULL, "a"));
	assert_non_null(toml_table_find(t, "bridge"));
	assert_null(toml_table_find(t, "bridg"));
	assert_null(toml_table_find(NULL, "bridge"));
	assert_string_equal(toml_type_name(TOML_STRING), "string");
	assert_string_equal(toml_type_name(TOML_INTEGER), "integer");
	assert_string_equal(toml_type_name(TOML_FLOAT), "float");
	assert_string_equal(toml_type_name(TOML_BOOL), "boolean");
	assert_string_equal(toml_type_name(TOML_DATETIME), "datetime");
	assert_string_equal(toml_type_name(TOML_ARRAY), "array");
	assert_string_equal(toml_type_name(TOML_TABLE), "table");
	toml_free(t);
	toml_free(NULL);
}

static void test_empty_input_is_an_empty_table(void **state)
{
	struct toml_table *t = parse_ok("", 0);
	assert_int_equal(t->n, 0);
	toml_free(t);
	struct toml_error err;
	assert_int_equal(toml_parse(NULL, 0, &t, &err), 0);
	assert_int_equal(t->n, 0);
	toml_free(t);
	t = parse_ok("\n\n# only comments\n   \t\n", 0);
	assert_int_equal(t->n, 0);
	toml_free(t);
}

static void test_nesting_of_128_levels_is_accepted_and_129_rejected(void **state)
{
	char doc[600];
	struct toml_table *t;
	struct toml_error err;
	/* a = [[...]]: the outermost array is level 1. */
	for (int levels = 128; levels <= 129; levels++) {
		size_t n = 0;
		n += (size_t)sprintf(doc, "a = ");
		memset(doc + n, '[', (size_t)levels), n += (size_t)levels;
		memset(doc + n, ']', (size_t)levels), n += (size_t)levels;
		int rc = toml_parse(doc, n, &t, &err);
		if (levels == 128) {
			assert_int_equal(rc, 0);
			toml_free(t);
		} else {
			assert_int_equal(rc, AA_EINVAL);
			assert_pos(err.pos, 1, 4 + 129);
			assert_non_null(strstr(err.msg, "deeper than 128"));
		}
	}
	/* The same limit holds for inline tables and for tables made by keys. */
	size_t n = (size_t)sprintf(doc, "a = ");
	for (int k = 0; k < 129; k++)
		n += (size_t)sprintf(doc + n, "{b=");
	n += (size_t)sprintf(doc + n, "1");
	for (int k = 0; k < 129; k++)
		doc[n++] = '}';
	assert_int_equal(toml_parse(doc, n, &t, &err), AA_EINVAL);
	assert_non_null(strstr(err.msg, "deeper than 128"));

	n = 0;
	doc[n++] = '[';
	for (int k = 0; k < 128; k++)
		n += (size_t)sprintf(doc + n, k ? ".k" : "k");
	n += (size_t)sprintf(doc + n, "]\nx = 1\n");
	assert_int_equal(toml_parse(doc, n, &t, &err), 0);
	toml_free(t);
	n += (size_t)sprintf(doc + n, "y.z = 1\n"); /* y would be a table at level 129 */
	assert_int_equal(toml_parse(doc, n, &t, &err), AA_EINVAL);
	assert_pos(err.pos, 3, 1);
}

static void test_input_over_16_mib_is_rejected(void **state)
{
	size_t len = TOML_MAX_INPUT + 1;
	char *doc = malloc(len);
	assert_non_null(doc);
	memset(doc, '\n', len);
	struct toml_table *t = (struct toml_table *)1;
	struct toml_error err;
	assert_int_equal(toml_parse(doc, len, &t, &err), AA_EINVAL);
	assert_null(t);
	assert_non_null(strstr(err.msg, "larger than"));
	assert_int_equal(toml_parse(doc, len - 1, &t, &err), 0);
	toml_free(t);
	free(doc);
}

static void test_many_keys_in_one_table_still_find_duplicates(void **state)
{
	enum { KEYS = 20000 };
	size_t cap = KEYS * 24 + 64, n = 0;
	char *doc = malloc(cap);
	assert_non_null(doc);
	for (int k = 0; k < KEYS; k++)
		n += (size_t)sprintf(doc + n, "key%d = %d\n", k, k);
	struct toml_table *t = parse_ok(doc, n);
	assert_int_equal(t->n, KEYS);
	assert_int_equal(get(t, "key12345", TOML_INTEGER)->u.i, 12345);
	assert_pos(toml_table_find(t, "key12345")->pos, 12346, 1);
	toml_free(t);
	n += (size_t)sprintf(doc + n, "key777 = 0\n");
	struct toml_error err;
	assert_int_equal(toml_parse(doc, n, &t, &err), AA_EINVAL);
	assert_pos(err.pos, KEYS + 1, 1);
	assert_non_null(strstr(err.msg, "line 778, column 1"));
	free(doc);
}

static void test_realistic_daemon_config(void **state)
{
	static const char doc[] =
		"# agentanycast configuration\n"
		"key_path = \"/var/lib/agentanycast/key\"\n"
		"listen_addrs = [\n"
		"  \"/ip4/0.0.0.0/tcp/4001\",\n"
		"  \"/ip4/0.0.0.0/udp/4001/quic-v1\",\n"
		"]\n"
		"enable_mdns = false\n"
		"offline_queue_ttl = \"24h\"\n"
		"\n"
		"[bridge]\n"
		"enabled = true\n"
		"listen = \":8080\"\n"
		"cors_origins = [\"*\"]\n"
		"\n"
		"[telemetry]\n"
		"sample_rate = 0.25\n"
		"\n"
		"[transport.nats]\n"
		"enabled = true\n"
		"broker = 'nats://127.0.0.1:4222'\n"
		"\n"
		"[[policy.acl]]\n"
		"source = \"12D3KooW*\"\n"
		"skill = \"translate\"\n"
		"allow = true\n"
		"\n"
		"[[policy.acl]]\n"
		"source = \"*\"\n"
		"allow = false\n"
		"\n"
		"[policy.rate_limit]\n"
		"default_rps = 100\n"
		"[[policy.rate_limit.overrides]]\n"
		"source = \"12D3KooWabc\"\n"
		"rps = 5\n";
	struct toml_table *t = parse_ok(doc, sizeof doc - 1);
	assert_int_equal(get(t, "listen_addrs", TOML_ARRAY)->u.arr->n, 2);
	assert_false(get(t, "enable_mdns", TOML_BOOL)->u.b);
	assert_string_equal(get(t, "bridge.listen", TOML_STRING)->u.str.s, ":8080");
	assert_true(get(t, "telemetry.sample_rate", TOML_FLOAT)->u.f == 0.25);
	assert_string_equal(get(t, "transport.nats.broker", TOML_STRING)->u.str.s,
			    "nats://127.0.0.1:4222");
	const struct toml_value *acl = get(t, "policy.acl", TOML_ARRAY);
	assert_int_equal(acl->u.arr->n, 2);
	assert_false(get(acl->u.arr->items[1].u.tab, "allow", TOML_BOOL)->u.b);
	assert_int_equal(get(t, "policy.rate_limit.default_rps", TOML_INTEGER)->u.i, 100);
	const struct toml_value *ov = get(t, "policy.rate_limit.overrides", TOML_ARRAY);
	assert_int_equal(get(ov->u.arr->items[0].u.tab, "rps", TOML_INTEGER)->u.i, 5);
	assert_pos(toml_table_find(get(t, "telemetry", TOML_TABLE)->u.tab, "sample_rate")->val.pos,
		   16, 15);
	toml_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strings_valid_and_invalid_forms),
		cmocka_unit_test(test_utf8_and_control_characters),
		cmocka_unit_test(test_integers_and_floats_valid_and_invalid_forms),
		cmocka_unit_test(test_booleans_and_datetimes_valid_and_invalid_forms),
		cmocka_unit_test(test_arrays_and_inline_tables_valid_and_invalid_forms),
		cmocka_unit_test(test_keys_valid_and_invalid_forms),
		cmocka_unit_test(test_tables_and_redefinition_rules),
		cmocka_unit_test(test_basic_string_escapes_decode_to_utf8),
		cmocka_unit_test(test_escaped_nul_is_kept_with_its_length),
		cmocka_unit_test(test_multiline_basic_trims_first_newline_and_escaped_line_ends),
		cmocka_unit_test(test_literal_strings_keep_backslashes_and_crlf_becomes_lf),
		cmocka_unit_test(test_integers_in_every_radix_and_at_the_limits),
		cmocka_unit_test(test_floats_with_fraction_exponent_and_specials),
		cmocka_unit_test(test_booleans_and_datetimes_keep_source_text),
		cmocka_unit_test(test_arrays_hold_mixed_types_and_nest),
		cmocka_unit_test(test_inline_table_dotted_keys_build_subtables),
		cmocka_unit_test(test_tables_keep_document_order_and_implicit_parents),
		cmocka_unit_test(test_array_of_tables_headers_refer_to_the_last_element),
		cmocka_unit_test(test_dotted_keys_create_nested_tables),
		cmocka_unit_test(test_keys_and_values_record_their_positions),
		cmocka_unit_test(test_positions_count_crlf_lines_and_skip_the_bom),
		cmocka_unit_test(test_lookup_helpers),
		cmocka_unit_test(test_empty_input_is_an_empty_table),
		cmocka_unit_test(test_nesting_of_128_levels_is_accepted_and_129_rejected),
		cmocka_unit_test(test_input_over_16_mib_is_rejected),
		cmocka_unit_test(test_many_keys_in_one_table_still_find_duplicates),
		cmocka_unit_test(test_realistic_daemon_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
