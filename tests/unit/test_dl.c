/* Unit tests for base/dl: loading optional libraries with dlopen. libm.so.6 stands in for a
 * real optional library (every glibc system has it); made-up sonames and symbols for the
 * failures. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>

#include "base/dl.h"
#include "base/err.h"

#define MISSING_SONAME "libagentanycast-no-such-library.so.99"

static void test_dl_open_resolves_every_symbol(void **state)
{
	double (*cos_fn)(double) = NULL;
	double (*sqrt_fn)(double) = NULL;
	const struct aa_dl_sym syms[] = { { "cos", &cos_fn }, { "sqrt", &sqrt_fn } };
	struct aa_dl_lib lib = AA_DL_LIB("libm.so.6", syms, NULL);
	const char *why = NULL;
	assert_int_equal(aa_dl_open(&lib, &why), 0);
	assert_string_equal(why, "");
	assert_non_null(cos_fn);
	assert_non_null(sqrt_fn);
	assert_true(cos_fn(0.0) == 1.0);
	assert_true(sqrt_fn(16.0) == 4.0);
}

static void test_dl_open_fails_cleanly_on_missing_library(void **state)
{
	void (*fn)(void) = NULL;
	const struct aa_dl_sym syms[] = { { "anything", &fn } };
	struct aa_dl_lib lib = AA_DL_LIB(MISSING_SONAME, syms, NULL);
	const char *why = NULL;
	assert_int_equal(aa_dl_open(&lib, &why), AA_EIO);
	assert_non_null(strstr(why, "cannot load " MISSING_SONAME ": "));
	/* dlerror()'s text follows, which names the file too. */
	assert_non_null(strstr(why + strlen("cannot load " MISSING_SONAME ": "), MISSING_SONAME));
	assert_null(fn);
}

static void test_dl_open_fails_cleanly_on_missing_symbol(void **state)
{
	double (*cos_fn)(double) = NULL;
	void (*missing)(void) = NULL;
	const struct aa_dl_sym syms[] = { { "cos", &cos_fn }, { "aa_no_such_symbol", &missing } };
	struct aa_dl_lib lib = AA_DL_LIB("libm.so.6", syms, NULL);
	const char *why = NULL;
	assert_int_equal(aa_dl_open(&lib, &why), AA_EIO);
	assert_non_null(strstr(why, "libm.so.6 lacks aa_no_such_symbol: "));
	/* Symbols resolved before the missing one are not left behind. */
	assert_null(cos_fn);
	assert_null(missing);
}

static void test_dl_open_failure_is_final(void **state)
{
	void (*fn)(void) = NULL;
	const struct aa_dl_sym syms[] = { { "anything", &fn } };
	struct aa_dl_lib lib = AA_DL_LIB(MISSING_SONAME, syms, NULL);
	const char *first = NULL, *second = NULL;
	assert_int_equal(aa_dl_open(&lib, &first), AA_EIO);
	char copy[sizeof lib.why];
	snprintf(copy, sizeof copy, "%s", first);
	assert_int_equal(aa_dl_open(&lib, &second), AA_EIO);
	assert_string_equal(second, copy);
	assert_int_equal(aa_dl_open(&lib, NULL), AA_EIO);
}

static int on_load_calls;

static int count_on_load(char *why, size_t why_len)
{
	on_load_calls++;
	return 0;
}

static int failing_on_load(char *why, size_t why_len)
{
	aa_set_why(why, why_len, "init said no");
	return AA_EIO;
}

static void test_dl_open_runs_on_load_once(void **state)
{
	double (*cos_fn)(double) = NULL;
	const struct aa_dl_sym syms[] = { { "cos", &cos_fn } };
	struct aa_dl_lib lib = AA_DL_LIB("libm.so.6", syms, count_on_load);
	on_load_calls = 0;
	assert_int_equal(aa_dl_open(&lib, NULL), 0);
	assert_int_equal(aa_dl_open(&lib, NULL), 0);
	assert_int_equal(on_load_calls, 1);
	assert_non_null(cos_fn);
}

static void test_dl_open_fails_when_on_load_fails(void **state)
{
	double (*cos_fn)(double) = NULL;
	const struct aa_dl_sym syms[] = { { "cos", &cos_fn } };
	struct aa_dl_lib lib = AA_DL_LIB("libm.so.6", syms, failing_on_load);
	const char *why = NULL;
	assert_int_equal(aa_dl_open(&lib, &why), AA_EIO);
	assert_non_null(strstr(why, "libm.so.6"));
	assert_non_null(strstr(why, "init said no"));
	assert_null(cos_fn);
	assert_int_equal(aa_dl_open(&lib, NULL), AA_EIO);
}

/* Threads racing for the first load: one load, one on_load, every caller sees success. */
static double (*race_cos)(double);
static const struct aa_dl_sym race_syms[] = { { "cos", &race_cos } };
static struct aa_dl_lib race_lib = AA_DL_LIB("libm.so.6", race_syms, count_on_load);

static void *race_main(void *arg)
{
	int *rc = arg;
	*rc = aa_dl_open(&race_lib, NULL);
	if (*rc == 0 && race_cos(0.0) != 1.0)
		*rc = -100;
	return NULL;
}

static void test_dl_open_is_once_across_threads(void **state)
{
	enum { N = 8 };
	pthread_t th[N];
	int rc[N];
	on_load_calls = 0;
	for (int i = 0; i < N; i++)
		assert_int_equal(pthread_create(&th[i], NULL, race_main, &rc[i]), 0);
	for (int i = 0; i < N; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(rc[i], 0);
	}
	assert_int_equal(on_load_calls, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dl_open_resolves_every_symbol),
		cmocka_unit_test(test_dl_open_fails_cleanly_on_missing_library),
		cmocka_unit_test(test_dl_open_fails_cleanly_on_missing_symbol),
		cmocka_unit_test(test_dl_open_failure_is_final),
		cmocka_unit_test(test_dl_open_runs_on_load_once),
		cmocka_unit_test(test_dl_open_fails_when_on_load_fails),
		cmocka_unit_test(test_dl_open_is_once_across_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
