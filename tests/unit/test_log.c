/* Unit tests for base/log (structured lines on stderr) and base/fs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "base/err.h"
#include "base/fs.h"
#include "base/log.h"

/* Runs fn with stderr redirected to a temporary file and returns what was written. */
static char *capture_stderr(void (*fn)(void))
{
	char path[] = "/tmp/aa-test-log-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	int saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	fn();
	dup2(saved, STDERR_FILENO);
	close(saved);
	off_t n = lseek(fd, 0, SEEK_END);
	char *out = calloc(1, (size_t)n + 1);
	assert_int_equal(pread(fd, out, (size_t)n, 0), n);
	close(fd);
	unlink(path);
	return out;
}

static void log_json_event(void)
{
	aa_log_setup(AA_LOG_INFO, AA_LOG_JSON);
	aa_log(AA_LOG_INFO, "connection \"opened\"", "peer", "12D3KooWabc", "note", "tab\there\n", NULL);
	aa_log(AA_LOG_DEBUG, "hidden at info level", NULL);
}

static void test_log_json_lines_are_valid_json(void **state)
{
	char *out = capture_stderr(log_json_event);
	char *nl = strchr(out, '\n');
	assert_non_null(nl);
	assert_string_equal(nl + 1, ""); /* exactly one line: debug was filtered */
	json_error_t jerr;
	json_t *obj = json_loadb(out, (size_t)(nl - out), 0, &jerr);
	assert_non_null(obj);
	assert_string_equal(json_string_value(json_object_get(obj, "level")), "info");
	assert_string_equal(json_string_value(json_object_get(obj, "msg")), "connection \"opened\"");
	assert_string_equal(json_string_value(json_object_get(obj, "peer")), "12D3KooWabc");
	assert_string_equal(json_string_value(json_object_get(obj, "note")), "tab\there\n");
	assert_non_null(json_object_get(obj, "time"));
	json_decref(obj);
	free(out);
}

static void log_text_event(void)
{
	aa_log_setup(AA_LOG_DEBUG, AA_LOG_TEXT);
	aa_log(AA_LOG_WARN, "dial failed", "peer", "p1", "reason", "connection refused", NULL);
	aa_logf(AA_LOG_ERROR, "tries=%d", 3);
}

static void test_log_text_quotes_values_with_spaces(void **state)
{
	char *out = capture_stderr(log_text_event);
	assert_non_null(strstr(out, " level=warn msg=\"dial failed\" peer=p1 reason=\"connection refused\"\n"));
	assert_non_null(strstr(out, " level=error msg=\"tries=3\"\n"));
	free(out);
}

static void test_log_level_parse(void **state)
{
	assert_int_equal(aa_log_level_parse("debug"), AA_LOG_DEBUG);
	assert_int_equal(aa_log_level_parse("error"), AA_LOG_ERROR);
	assert_int_equal(aa_log_level_parse("loud"), -1);
}

static void test_mkdir_p_creates_private_parents(void **state)
{
	char base[] = "/tmp/aa-test-fs-XXXXXX";
	assert_non_null(mkdtemp(base));
	char path[256];
	snprintf(path, sizeof path, "%s/a/b/c", base);
	assert_int_equal(aa_mkdir_p(path, 0700), 0);
	assert_int_equal(aa_mkdir_p(path, 0700), 0); /* existing is fine */
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	char file[300];
	snprintf(file, sizeof file, "%s/a/f", base);
	FILE *f = fopen(file, "w");
	fclose(f);
	snprintf(path, sizeof path, "%s/a/f/g", base);
	assert_int_equal(aa_mkdir_p(path, 0700), AA_EEXIST);
	char dir[300];
	assert_int_equal(aa_path_dirname(file, dir, sizeof dir), 0);
	snprintf(path, sizeof path, "%s/a", base);
	assert_string_equal(dir, path);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", base);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_json_lines_are_valid_json),
		cmocka_unit_test(test_log_text_quotes_values_with_spaces),
		cmocka_unit_test(test_log_level_parse),
		cmocka_unit_test(test_mkdir_p_creates_private_parents),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
