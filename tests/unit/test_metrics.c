/* Unit tests for metrics: the registry and the Prometheus text exposition format 0.0.4. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "metrics/metrics.h"

/* Renders reg and checks the text is exactly `want`. */
static void assert_render(struct metrics_registry *reg, const char *want)
{
	struct aa_buf out;
	aa_buf_init(&out);
	assert_int_equal(metrics_render(reg, &out), 0);
	aa_buf_append_byte(&out, 0);
	assert_string_equal((const char *)out.p, want);
	aa_buf_free(&out);
}

static char *render(struct metrics_registry *reg)
{
	struct aa_buf out;
	aa_buf_init(&out);
	assert_int_equal(metrics_render(reg, &out), 0);
	return (char *)aa_buf_steal(&out, NULL);
}

static void test_counter_without_labels_renders_exactly(void **state)
{
	struct metrics_registry *reg = metrics_registry_new();
	struct metrics_series *s;
	assert_int_equal(metrics_counter0(reg, "jobs_total", "Jobs done.", &s), 0);
	assert_render(reg, "# HELP jobs_total Jobs done.\n# TYPE jobs_total counter\njobs_total 0\n");
	metrics_inc(s);
	metrics_add(s, 2.5);
	assert_render(reg,
		      "# HELP jobs_total Jobs done.\n# TYPE jobs_total counter\njobs_total 3.5\n");
	metrics_registry_free(reg);
}

static void test_counter_with_labels_renders_series_in_creation_order(void **state)
{
	struct metrics_registry *reg = metrics_registry_new();
	struct metrics_family *f;
	const char *names[] = { "direction", "status" };
	assert_int_equal(metrics_counter(reg, "tasks_total", "Tasks.", names, 2, &f), 0);
	const char *a[] = { "sent", "ok" }, *b[] = { "recv", "error" };
	metrics_inc(metrics_series(f, b));
	metrics_add(metrics_series(f, a), 7);
	metrics_inc(metrics_series(f, b));
	assert_render(reg, "# HELP tasks_total Tasks.\n"
			   "# TYPE tasks_total counter\n"
			   "tasks_total{direction=\"recv\",status=\"error\"} 2\n"
			   "tasks_total{direction=\"sent\",status=\"ok\"} 7\n");
	metrics_registry_free(reg);
}

static void test_series_lookup_returns_the_same_series(void **state)
{
	struct metrics_registry *reg = metrics_registry_new();
	struct metrics_family *f;
	const char *names[] = { "peer" };
	assert_int_equal(metrics_gauge(reg, "g", "", names, 1, &f), 0);
	const char *v1[] = { "x" };
	char copy[] = "x";
	const char *v2[] = { copy };
	assert_ptr_equal(metrics_series(f, v1), metrics_series(f, v2));
	metrics_registry_free(reg);
}

static void test_labelled_family_without_series_shows_only_metadata(void **state)
{
	struct metrics_registry *reg = metrics_registry_new();
	struct metrics_family *f;
	const char *names[] = { "type" };
	assert_int_equal(metrics_counter(reg, "messages_total", "Messages.", names, 1, &f), 0);
	assert_render(reg, "# HELP messages_total Messages.\n# TYPE messages_total counter\n");
	metrics_registry_free(reg);
}

static void test_gauge_sets_adds_and_goes_down(void **state)
{
	struct metrics_registry *reg = metrics_registry_new();
	struct metrics_series *s;
	assert_int_equal(metrics_gauge0(reg, "peers", "Connected peers.", &s), 0);
	metrics_set(s, 10);
	metrics_add(s, -3);
	metrics_inc(s);
	assert_true(metrics_value(s) == 8);
	assert_render(reg, "# HELP peers Connected peers.\n# TYPE peers gauge\npeers 8\n");
	metrics_registry_free(reg);
}

static double forty_two(void *user)
{
	(*(int *)user)++;
	return 42;
}

static void test_callback_gauge_is_computed_at_render(void **state)
{
	struct metrics_registry *reg = metrics_registry_new();
	int calls = 0;
	assert_int_equal(metrics_gauge_fn(reg, "queue_size", "Queued.", forty_two, &calls), 0);
	assert_int_equal(calls, 0);
	assert_render(reg, "# HELP queue_size Queued.\n# TYPE queue_size gauge\nqueue_size 42\n");
	assert_int_equal(calls, 1);
	assert_int_equal(metrics_gauge_fn(reg, "q2", "", NULL, NULL), AA_EINVAL);
	metrics_registry_free(reg);
}

static void test_histogram_without_labels_is_cumulative_with_inf_sum_count(void **state)
{
	struct metrics_registry *reg = metrics_registry_new();
	struct metrics_series *s;
	const double bounds[] = { 0.1, 1, 10 };
	assert_int_equal(metrics_histogram0(reg, "latency_seconds", "Latency.", bounds, 3, &s), 0);
	metrics_observe(s, 0.05);
	metrics_observe(s, 0.1); /* le is inclusive */
	metrics_observe(s, 5);
	metrics_observe(s, 50);
	metrics_observe(s, NAN); /* ignored */
	assert_render(reg, "# HELP latency_seconds Latency.\n"
			   "# TYPE latency_seconds histogram\n"
			   "latency_seconds_bucket{le=\"0.1\"} 2\n"
			   "latency_seconds_bucket{le=\"1\"} 2\n"
			   "latency_seconds_bucket{le=\"10\"} 3\n"
			   "latency_seconds_bucket{le=\"+Inf\"} 4\n"
			   "latency_seconds_sum 55.15\n"
			   "latency_seconds_count 4\n");
	metrics_registry_free(reg);
}

static void test_histogram_with_labels_puts_le_last(void **state)
{
	struct metrics_registry *reg = metrics_registry_new();
	struct metrics_family *f;
	const char *names[] = { "direction" };
	const double bounds[] = { 0.5, INFINITY }; /* explicit +Inf is accepted and folded */
	assert_int_equal(metrics_histogram(reg, "d_seconds", "D.", names, 1, bounds, 2, &f), 0);
	const char *v[] = { "sent" };
	metrics_observe(metrics_series(f, v), 0.25);
	metrics_observe(metrics_series(f, v), 2);
	assert_render(reg, "# HELP d_seconds D.\n"
			   "# TYPE d_seconds histogram\n"
			   "d_seconds_bucket{direction=\"sent\",le=\"0.5\"} 1\n"
			   "d_seconds_bucket{direction=\"sent\",le=\"+Inf\"} 2\n"
			   "d_seconds_sum{direction=\"sent\"} 2.25\n"
			   "d_seconds_count{direction=\"sent\"} 2\n");
	metrics_registry_free(reg);
}

static void test_histogram_set_takes_per_bucket_counts_and_sum(void **state)
{
	struct metrics_registry *reg = metrics_registry_new();
	struct metrics_series *s;
	const double bounds[] = { 0.1, 1 };
	assert_int_equal(metrics_histogram0(reg, "commit_seconds", "C.", bounds, 2, &s), 0);
	metrics_observe(s, 0.5); /* replaced by the set below */
	const uint64_t counts[] = { 2, 0, 3 };
	assert_int_equal(metrics_histogram_set(s, counts, 3, 12.25), 0);
	assert_true(metrics_value(s) == 5);
	assert_render(reg, "# HELP commit_seconds C.\n"
			   "# TYPE commit_seconds histogram\n"
			   "commit_seconds_bucket{le=\"0.1\"} 2\n"
			   "commit_seconds_bucket{le=\"1\"} 2\n"
			   "commit_seconds_bucket{le=\"+Inf\"} 5\n"
			   "commit_seconds_sum 12.25\n"
			   "commit_seconds_count 5\n");
	/* Observations after a set add to it. */
	metrics_observe(s, 0.5);
	assert_true(metrics_value(s) == 6);
	metrics_registry_free(reg);
}

static void test_histogram_set_rejects_wrong_size_and_kind(void **state)
{
	struct metrics_registry *reg = metrics_registry_new();
	struct metrics_series *h, *c;
	const double bounds[] = { 1 };
	assert_int_equal(metrics_histogram0(reg, "h_seconds", "", bounds, 1, &h), 0);
	assert_int_equal(metrics_counter0(reg, "c_total", "", &c), 0);
	const uint64_t counts[] = { 1, 2, 3 };
	assert_int_equal(metrics_histogram_set(h, counts, 3, 1), AA_EINVAL);
	assert_int_equal(metrics_histogram_set(h, counts, 1, 1), AA_EINVAL);
	assert_int_equal(metrics_histogram_set(h, NULL, 2, 1), AA_EINVAL);
	assert_int_equal(metrics_histogram_set(NULL, counts, 2, 1), AA_EINVAL);
	assert_int_equal(metrics_histogram_set(c, counts, 1, 1), AA_EINVAL);
	assert_true(metrics_value(h) == 0);
	assert_true(metrics_value(c) == 0);
	/* NaN sums are taken as 0 (they would poison _sum for good). */
	assert_int_equal(metrics_histogram_set(h, counts, 2, NAN), 0);
	char *text = render(reg);
	assert_non_null(strstr(text, "h_seconds_sum 0\n"));
	assert_non_null(strstr(text, "h_seconds_count 3\n"));
	free(text);
	metrics_registry_free(reg);
}

static void test_histogram_rejects_bad_bounds_and_le_label(void **state)
{
	struct metrics_registry *reg = metrics_registry_new();
	struct metrics_family *f;
	const double down[] = { 1, 0.5 }, same[] = { 1, 1 }, nan[] = { NAN }, ninf[] = { -INFINITY };
	assert_int_equal(metrics_histogram(reg, "h", "", NULL, 0, down, 2, &f), AA_EINVAL);
	assert_int_equal(metrics_histogram(reg, "h", "", NULL, 0, same, 2, &f), AA_EINVAL);
	assert_int_equal(metrics_histogram(reg, "h", "", NULL, 0, nan, 1, &f), AA_EINVAL);
	assert_int_equal(metrics_histogram(reg, "h", "", NULL, 0, ninf, 1, &f), AA_EINVAL);
	const char *le[] = { "le" };
	const double ok[] = { 1 };
	assert_int_equal(metrics_histogram(reg, "h", "", le, 1, ok, 1, &f), AA_EINVAL);
	/* No bounds at all: only the +Inf bucket. */
	struct metrics_series *s;
	assert_int_equal(metrics_histogram0(reg, "h", "", NULL, 0, &s), 0);
	metrics_observe(s, 3);
	assert_render(reg, "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 3\n"
			   "h_count 1\n");
	metrics_registry_free(reg);
}

static void test_label_values_escape_backslash_quote_newline(void **state)
{
	struct metrics_registry *reg = metrics_registry_new();
	struct metrics_family *f;
	const char *names[] = { "tool" };
	assert_int_equal(metrics_counter(reg, "calls_total", "Calls.", names, 1, &f), 0);
	const char *v[] = { "a\\b\"c\nd" };
	metrics_inc(metrics_series(f, v));
	assert_render(reg, "# HELP calls_total Calls.\n# TYPE calls_total counter\n"
			   "calls_total{tool=\"a\\\\b\\\"c\\nd\"} 1\n");
	metrics_registry_free(reg);
}

static void test_help_escapes_backslash_and_newline_not_quote(void **state)
{
	struct metrics_registry *reg = metrics_registry_new();
	struct metrics_series *s;
	assert_int_equal(metrics_gauge0(reg, "g", "say \"x\"\\y\nz", &s), 0);
	assert_render(reg, "# HELP g say \"x\"\\\\y\\nz\n# TYPE g gauge\ng 0\n");
	metrics_registry_free(reg);
}

static void test_label_values_made_valid_utf8_and_bounded(void **state)
{
	struct metrics_registry *reg = metrics_registry_new();
	struct metrics_family *f;
	const char *names[] = { "v" };
	assert_int_equal(metrics_gauge(reg, "g", "", names, 1, &f), 0);
	/* A stray byte, an overlong '/', a surrogate; a good 2-byte character survives. */
	const char *bad[] = { "a\xff" "b\xc0\xaf" "c\xed\xa0\x80" "d\xc3\xa9" };
	metrics_set(metrics_series(f, bad), 1);
	/* 200 'x' then 'é': cut at 128 bytes; a 2-byte character straddling the cut goes. */
	char longv[260];
	memset(longv, 'x', 127);
	strcpy(longv + 127, "\xc3\xa9yyyy");
	const char *lv[] = { longv };
	metrics_set(metrics_series(f, lv), 2);
	char *text = render(reg);
	assert_non_null(strstr(text, "g{v=\"a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd"
				     "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "d\xc3\xa9\"} 1\n"));
	char want[200];
	memset(want, 0, sizeof want);
	strcpy(want, "g{v=\"");
	memset(want + 5, 'x', 127);
	strcat(want, "\"} 2\n");
	assert_non_null(strstr(text, want));
	free(text);
	metrics_registry_free(reg);
}

static void test_values_format_integers_shortest_and_specials(void **state)
{
	static const struct {
		double v;
		const char *text;
	} cases[] = {
		{ 0, "0" },		{ 42, "42" },		  { -7, "-7" },
		{ 0.1, "0.1" },		{ 1.5e-300, "1.5e-300" }, { 1e20, "1e+20" },
		{ 9007199254740991.0, "9007199254740991" },	  { 1.0 / 3, "0.3333333333333333" },
		{ INFINITY, "+Inf" },	{ -INFINITY, "-Inf" },	  { NAN, "NaN" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct aa_buf b;
		aa_buf_init(&b);
		metrics_format_double(&b, cases[i].v);
		aa_buf_append_byte(&b, 0);
		assert_string_equal((const char *)b.p, cases[i].text);
		aa_buf_free(&b);
	}
}

static void test_gauge_renders_inf_and_nan(void **state)
{
	struct metrics_registry *reg = metrics_registry_new();
	struct metrics_family *f;
	const char *names[] = { "k" };
	assert_int_equal(metrics_gauge(reg, "g", "G.", names, 1, &f), 0);
	const char *a[] = { "a" }, *b[] = { "b" }, *c[] = { "c" };
	metrics_set(metrics_series(f, a), INFINITY);
	metrics_set(metrics_series(f, b), -INFINITY);
	metrics_set(metrics_series(f, c), NAN);
	assert_render(reg, "# HELP g G.\n# TYPE g gauge\n"
			   "g{k=\"a\"} +Inf\ng{k=\"b\"} -Inf\ng{k=\"c\"} NaN\n");
	metrics_registry_free(reg);
}

static void test_counter_ignores_negative_nan_and_wrong_kind_updates(void **state)
{
	struct metrics_registry *reg = metrics_registry_new();
	struct metrics_series *s;
	assert_int_equal(metrics_counter0(reg, "c_total", "", &s), 0);
	metrics_add(s, 5);
	metrics_add(s, -1);
	metrics_add(s, NAN);
	metrics_set(s, 100);    /* counters cannot be set */
	metrics_observe(s, 1);  /* nor observed */
	assert_true(metrics_value(s) == 5);
	metrics_inc(NULL);      /* NULL is a no-op */
	metrics_observe(NULL, 1);
	metrics_registry_free(reg);
}

static void test_series_beyond_bound_fold_into_overflow(void **state)
{
	struct metrics_registry *reg = metrics_registry_new();
	metrics_registry_set_max_series(reg, 2);
	struct metrics_family *f;
	const char *names[] = { "tool", "status" };
	assert_int_equal(metrics_counter(reg, "t_total", "T.", names, 2, &f), 0);
	const char *a[] = { "a", "ok" }, *b[] = { "b", "ok" }, *c[] = { "c", "ok" },
		   *d[] = { "d", "error" };
	struct metrics_series *sa = metrics_series(f, a);
	metrics_inc(sa);
	metrics_inc(metrics_series(f, b));
	struct metrics_series *sc = metrics_series(f, c);
	assert_non_null(sc);
	assert_ptr_equal(sc, metrics_series(f, d));
	metrics_inc(sc);
	metrics_add(metrics_series(f, d), 2);
	/* Existing combinations still resolve to their own series. */
	assert_ptr_equal(metrics_series(f, a), sa);
	assert_render(reg, "# HELP t_total T.\n# TYPE t_total counter\n"
			   "t_total{tool=\"a\",status=\"ok\"} 1\n"
			   "t_total{tool=\"b\",status=\"ok\"} 1\n"
			   "t_total{tool=\"overflow\",status=\"overflow\"} 3\n");
	metrics_registry_free(reg);
}

static void test_default_bound_is_1000_series(void **state)
{
	struct metrics_registry *reg = metrics_registry_new();
	struct metrics_family *f;
	const char *names[] = { "n" };
	assert_int_equal(metrics_gauge(reg, "g", "", names, 1, &f), 0);
	struct metrics_series *seen[METRICS_MAX_SERIES_DEFAULT];
	for (int i = 0; i < METRICS_MAX_SERIES_DEFAULT; i++) {
		char v[16];
		snprintf(v, sizeof v, "%d", i);
		const char *vals[] = { v };
		seen[i] = metrics_series(f, vals);
		for (int j = 0; j < i; j += 97)
			assert_ptr_not_equal(seen[i], seen[j]);
	}
	const char *more[] = { "one more" };
	struct metrics_series *o = metrics_series(f, more);
	const char *ov[] = { METRICS_OVERFLOW_VALUE };
	assert_ptr_equal(o, metrics_series(f, ov));
	metrics_registry_free(reg);
}

static void test_invalid_names_are_rejected(void **state)
{
	struct metrics_registry *reg = metrics_registry_new();
	struct metrics_family *f;
	const char *bad_metric[] = { "", "1abc", "a-b", "a b", "é", "a.b" };
	for (size_t i = 0; i < sizeof bad_metric / sizeof bad_metric[0]; i++)
		assert_int_equal(metrics_counter(reg, bad_metric[i], "", NULL, 0, &f), AA_EINVAL);
	assert_int_equal(metrics_counter(reg, NULL, "", NULL, 0, &f), AA_EINVAL);
	const char *bad_label[][1] = { { "" }, { "1a" }, { "a:b" }, { "__reserved" }, { "x-y" } };
	for (size_t i = 0; i < sizeof bad_label / sizeof bad_label[0]; i++)
		assert_int_equal(metrics_gauge(reg, "ok", "", bad_label[i], 1, &f), AA_EINVAL);
	const char *twice[] = { "a", "a" };
	assert_int_equal(metrics_gauge(reg, "ok", "", twice, 2, &f), AA_EINVAL);
	/* Valid by the data model: colons in metric names, leading underscores, digits. */
	assert_int_equal(metrics_gauge(reg, "ns:sub_1:rate", "", NULL, 0, &f), 0);
	const char *fine[] = { "_x", "B2" };
	assert_int_equal(metrics_gauge(reg, "_ok", "", fine, 2, &f), 0);
	metrics_registry_free(reg);
}

static void test_duplicate_names_are_rejected(void **state)
{
	struct metrics_registry *reg = metrics_registry_new();
	struct metrics_family *f;
	assert_int_equal(metrics_counter(reg, "x_total", "", NULL, 0, &f), 0);
	assert_int_equal(metrics_gauge(reg, "x_total", "", NULL, 0, &f), AA_EEXIST);
	assert_int_equal(metrics_gauge_fn(reg, "x_total", "", forty_two, NULL), AA_EEXIST);
	/* A histogram owns name_bucket, name_sum and name_count, both ways round. */
	assert_int_equal(metrics_histogram(reg, "lat", "", NULL, 0, NULL, 0, &f), 0);
	assert_int_equal(metrics_gauge(reg, "lat_sum", "", NULL, 0, &f), AA_EEXIST);
	assert_int_equal(metrics_gauge(reg, "lat_count", "", NULL, 0, &f), AA_EEXIST);
	assert_int_equal(metrics_gauge(reg, "lat_bucket", "", NULL, 0, &f), AA_EEXIST);
	assert_int_equal(metrics_gauge(reg, "lat_max", "", NULL, 0, &f), 0);
	assert_int_equal(metrics_gauge(reg, "req_count", "", NULL, 0, &f), 0);
	assert_int_equal(metrics_histogram(reg, "req", "", NULL, 0, NULL, 0, &f), AA_EEXIST);
	metrics_registry_free(reg);
}

static void test_families_render_in_registration_order(void **state)
{
	struct metrics_registry *reg = metrics_registry_new();
	struct metrics_series *s;
	assert_int_equal(metrics_gauge0(reg, "zeta", "Z.", &s), 0);
	assert_int_equal(metrics_counter0(reg, "alpha_total", "A.", &s), 0);
	assert_render(reg, "# HELP zeta Z.\n# TYPE zeta gauge\nzeta 0\n"
			   "# HELP alpha_total A.\n# TYPE alpha_total counter\nalpha_total 0\n");
	metrics_registry_free(reg);
}

/* The value on the sample line of `name` in text (NAN if absent). */
static double sample_value(const char *text, const char *name)
{
	char key[128];
	snprintf(key, sizeof key, "\n%s ", name);
	const char *p = strstr(text, key);
	return p ? strtod(p + strlen(key), NULL) : NAN;
}

static void test_process_metrics_present_and_plausible(void **state)
{
	struct metrics_registry *reg = metrics_registry_new();
	assert_int_equal(metrics_register_process(reg), 0);
	assert_int_equal(metrics_register_process(reg), AA_EEXIST);
	/* Burn a little CPU so the counter has something to count. */
	volatile double x = 0;
	for (long i = 0; i < 20000000; i++)
		x += (double)i;
	char *text = render(reg);
	assert_non_null(strstr(text, "# TYPE process_cpu_seconds_total counter\n"));
	assert_non_null(strstr(text, "# TYPE process_resident_memory_bytes gauge\n"));
	double cpu = sample_value(text, "process_cpu_seconds_total");
	double rss = sample_value(text, "process_resident_memory_bytes");
	double vsz = sample_value(text, "process_virtual_memory_bytes");
	double fds = sample_value(text, "process_open_fds");
	double maxfds = sample_value(text, "process_max_fds");
	double start = sample_value(text, "process_start_time_seconds");
	assert_true(cpu >= 0 && cpu < 3600);
	assert_true(rss > 100000 && rss < 64e9);
	assert_true(vsz >= rss);
	assert_true(fds >= 3 && fds <= maxfds);
	assert_true(maxfds >= 64);
	double now = (double)time(NULL);
	assert_true(start > now - 600 && start <= now + 1);
	free(text);
	metrics_registry_free(reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_without_labels_renders_exactly),
		cmocka_unit_test(test_counter_with_labels_renders_series_in_creation_order),
		cmocka_unit_test(test_series_lookup_returns_the_same_series),
		cmocka_unit_test(test_labelled_family_without_series_shows_only_metadata),
		cmocka_unit_test(test_gauge_sets_adds_and_goes_down),
		cmocka_unit_test(test_callback_gauge_is_computed_at_render),
		cmocka_unit_test(test_histogram_without_labels_is_cumulative_with_inf_sum_count),
		cmocka_unit_test(test_histogram_with_labels_puts_le_last),
		cmocka_unit_test(test_histogram_set_takes_per_bucket_counts_and_sum),
		cmocka_unit_test(test_histogram_set_rejects_wrong_size_and_kind),
		cmocka_unit_test(test_histogram_rejects_bad_bounds_and_le_label),
		cmocka_unit_test(test_label_values_escape_backslash_quote_newline),
		cmocka_unit_test(test_help_escapes_backslash_and_newline_not_quote),
		cmocka_unit_test(test_label_values_made_valid_utf8_and_bounded),
		cmocka_unit_test(test_values_format_integers_shortest_and_specials),
		cmocka_unit_test(test_gauge_renders_inf_and_nan),
		cmocka_unit_test(test_counter_ignores_negative_nan_and_wrong_kind_updates),
		cmocka_unit_test(test_series_beyond_bound_fold_into_overflow),
		cmocka_unit_test(test_default_bound_is_1000_series),
		cmocka_unit_test(test_invalid_names_are_rejected),
		cmocka_unit_test(test_duplicate_names_are_rejected),
		cmocka_unit_test(test_families_render_in_registration_order),
		cmocka_unit_test(test_process_metrics_present_and_plausible),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
