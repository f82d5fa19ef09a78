/* metrics: the registry of families and series, and the Prometheus text exposition format
 * 0.0.4 (prometheus.io/docs/instrumenting/exposition_formats, "Text format details"). */
#include "metrics/metrics.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/map.h"
#include "base/mem.h"

/* Longest metric or label name accepted; real names are far shorter. */
#define NAME_MAX_LEN 200

enum metrics_kind { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM };

struct metrics_series {
	struct metrics_family *family;
	struct metrics_series *next; /* creation order */
	char *labels;                /* rendered `a="x",b="y"` (escaped); "" without labels */
	double value;                /* counter, gauge */
	double sum;                  /* histogram */
	uint64_t count;              /* histogram */
	uint64_t *buckets;           /* histogram: n_bounds + 1 per-bucket (not cumulative) */
};

struct metrics_family {
	struct metrics_family *next; /* registration order */
	enum metrics_kind kind;
	char *name;
	char *help;
	char **label_names;
	size_t n_labels;
	double *bounds;
	size_t n_bounds;
	double (*fn)(void *user); /* set for scrape-time families, which have no series */
	void *user;
	struct aa_map by_labels; /* rendered labels -> series */
	struct metrics_series *first, *last;
	size_t n_series;   /* ordinary series (the overflow series not counted) */
	size_t max_series;
};

struct metrics_registry {
	struct metrics_family *first, *last;
	size_t max_series;
};

static const char *const kind_names[] = { "counter", "gauge", "histogram" };

struct metrics_registry *metrics_registry_new(void)
{
	struct metrics_registry *reg = aa_calloc(1, sizeof *reg);
	reg->max_series = METRICS_MAX_SERIES_DEFAULT;
	return reg;
}

static void series_free(struct metrics_series *s)
{
	free(s->labels);
	free(s->buckets);
	free(s);
}

static void family_free(struct metrics_family *f)
{
	struct metrics_series *s = f->first;
	while (s) {
		struct metrics_series *next = s->next;
		series_free(s);
		s = next;
	}
	map_free(&f->by_labels);
	for (size_t i = 0; i < f->n_labels; i++)
		free(f->label_names[i]);
	free(f->label_names);
	free(f->bounds);
	free(f->name);
	free(f->help);
	free(f);
}

void metrics_registry_free(struct metrics_registry *reg)
{
	if (!reg)
		return;
	struct metrics_family *f = reg->first;
	while (f) {
		struct metrics_family *next = f->next;
		family_free(f);
		f = next;
	}
	free(reg);
}

void metrics_registry_set_max_series(struct metrics_registry *reg, size_t n)
{
	reg->max_series = n ? n : 1;
}

/* --- names ----------------------------------------------------------------------------- */

static bool is_alpha_(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Data model: metric names match [a-zA-Z_:][a-zA-Z0-9_:]*. */
static bool metric_name_valid(const char *s)
{
	if (!s || !*s || strlen(s) > NAME_MAX_LEN)
		return false;
	for (size_t i = 0; s[i]; i++)
		if (!is_alpha_(s[i]) && s[i] != ':' && !(i > 0 && is_digit(s[i])))
			return false;
	return true;
}

/* Data model: label names match [a-zA-Z_][a-zA-Z0-9_]*; those starting "__" are reserved
 * for Prometheus itself. */
static bool label_name_valid(const char *s)
{
	if (!s || !*s || strlen(s) > NAME_MAX_LEN || (s[0] == '_' && s[1] == '_'))
		return false;
	for (size_t i = 0; s[i]; i++)
		if (!is_alpha_(s[i]) && !(i > 0 && is_digit(s[i])))
			return false;
	return true;
}

/* True if a histogram called hist writes a sample named other (hist_bucket, _sum, _count). */
static bool histogram_owns(const char *hist, const char *other)
{
	size_t n = strlen(hist);
	if (strncmp(hist, other, n) != 0)
		return false;
	const char *tail = other + n;
	return !strcmp(tail, "_bucket") || !strcmp(tail, "_sum") || !strcmp(tail, "_count");
}

static bool name_taken(const struct metrics_registry *reg, const char *name,
		       enum metrics_kind kind)
{
	for (const struct metrics_family *f = reg->first; f; f = f->next) {
		if (!strcmp(f->name, name))
			return true;
		if (f->kind == KIND_HISTOGRAM && histogram_owns(f->name, name))
			return true;
		if (kind == KIND_HISTOGRAM && histogram_owns(name, f->name))
			return true;
	}
	return false;
}

/* --- text ------------------------------------------------------------------------------ */

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF), or 0 if the bytes there are not one. */
static size_t utf8_seq_len(const unsigned char *p, size_t left)
{
	unsigned char c = p[0];
	size_t n;
	unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		if (c == 0xE0)
			lo = 0xA0;
		if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		if (c == 0xF0)
			lo = 0x90;
		if (c == 0xF4)
			hi = 0x8F;
	} else
		return 0;
	if (left < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return n;
}

/* Appends s made valid UTF-8 (each bad byte becomes U+FFFD) and escaped: backslash and
 * newline always, the double quote too when quote is set (label values; HELP text leaves
 * quotes alone, per the format). At most max bytes of s's cleaned form are kept, cut at a
 * character boundary, so the work is bounded however long s is. */
static void append_escaped(struct aa_buf *out, const char *s, size_t max, bool quote)
{
	static const unsigned char replacement[] = { 0xEF, 0xBF, 0xBD };
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s), kept = 0;
	while (left > 0) {
		size_t n = utf8_seq_len(p, left);
		const unsigned char *bytes = n ? p : replacement;
		size_t len = n ? n : 3;
		if (kept + len > max)
			break;
		kept += len;
		if (len == 1 && *bytes == '\\')
			aa_buf_append_str(out, "\\\\");
		else if (len == 1 && *bytes == '\n')
			aa_buf_append_str(out, "\\n");
		else if (len == 1 && *bytes == '"' && quote)
			aa_buf_append_str(out, "\\\"");
		else
			aa_buf_append(out, bytes, len);
		p += n ? n : 1;
		left -= n ? n : 1;
	}
}

void metrics_format_double(struct aa_buf *out, double v)
{
	char tmp[40];
	if (isnan(v)) {
		aa_buf_append_str(out, "NaN");
		return;
	}
	if (isinf(v)) {
		aa_buf_append_str(out, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* Whole numbers below 2^53 print exactly, which keeps counters readable. */
	if (v == trunc(v) && fabs(v) < 9007199254740992.0) {
		snprintf(tmp, sizeof tmp, "%.0f", v);
	} else {
		/* Shortest %g that reads back as the same double (17 digits always does). */
		for (int prec = 1; prec <= 17; prec++) {
			snprintf(tmp, sizeof tmp, "%.*g", prec, v);
			if (strtod(tmp, NULL) == v)
				break;
		}
	}
	aa_buf_append_str(out, tmp);
}

/* --- registration ---------------------------------------------------------------------- */

static int family_add(struct metrics_registry *reg, enum metrics_kind kind, const char *name,
		      const char *help, const char *const *label_names, size_t n_labels,
		      const double *bounds, size_t n_bounds, struct metrics_family **out)
{
	if (!reg || !metric_name_valid(name) || n_labels > METRICS_MAX_LABELS ||
	    (n_labels && !label_names))
		return AA_EINVAL;
	for (size_t i = 0; i < n_labels; i++) {
		if (!label_name_valid(label_names[i]))
			return AA_EINVAL;
		/* The histogram's own bucket label cannot also be a user label. */
		if (kind == KIND_HISTOGRAM && !strcmp(label_names[i], "le"))
			return AA_EINVAL;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(label_names[i], label_names[j]))
				return AA_EINVAL;
	}
	if (kind == KIND_HISTOGRAM) {
		if (n_bounds && !bounds)
			return AA_EINVAL;
		/* +Inf is implicit; a caller spelling it out at the end is fine. */
		if (n_bounds && isinf(bounds[n_bounds - 1]) && bounds[n_bounds - 1] > 0)
			n_bounds--;
		if (n_bounds > METRICS_MAX_BUCKETS)
			return AA_EINVAL;
		for (size_t i = 0; i < n_bounds; i++)
			if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1])))
				return AA_EINVAL;
	} else {
		n_bounds = 0;
	}
	if (name_taken(reg, name, kind))
		return AA_EEXIST;

	struct metrics_family *f = aa_calloc(1, sizeof *f);
	f->kind = kind;
	f->name = aa_strdup(name);
	struct aa_buf h;
	aa_buf_init(&h);
	append_escaped(&h, help ? help : "", SIZE_MAX, false);
	f->help = (char *)aa_buf_steal(&h, NULL);
	if (!f->help)
		f->help = aa_strdup("");
	f->n_labels = n_labels;
	if (n_labels) {
		f->label_names = aa_calloc(n_labels, sizeof *f->label_names);
		for (size_t i = 0; i < n_labels; i++)
			f->label_names[i] = aa_strdup(label_names[i]);
	}
	f->n_bounds = n_bounds;
	if (n_bounds) {
		f->bounds = aa_calloc(n_bounds, sizeof *f->bounds);
		memcpy(f->bounds, bounds, n_bounds * sizeof *bounds);
	}
	f->max_series = reg->max_series;
	/* +1 leaves room for the overflow series. */
	map_init(&f->by_labels, f->max_series + 1);
	if (reg->last)
		reg->last->next = f;
	else
		reg->first = f;
	reg->last = f;
	*out = f;
	return 0;
}

int metrics_counter(struct metrics_registry *reg, const char *name, const char *help,
		    const char *const *label_names, size_t n_labels, struct metrics_family **out)
{
	return family_add(reg, KIND_COUNTER, name, help, label_names, n_labels, NULL, 0, out);
}

int metrics_gauge(struct metrics_registry *reg, const char *name, const char *help,
		  const char *const *label_names, size_t n_labels, struct metrics_family **out)
{
	return family_add(reg, KIND_GAUGE, name, help, label_names, n_labels, NULL, 0, out);
}

int metrics_histogram(struct metrics_registry *reg, const char *name, const char *help,
		      const char *const *label_names, size_t n_labels, const double *bounds,
		      size_t n_bounds, struct metrics_family **out)
{
	return family_add(reg, KIND_HISTOGRAM, name, help, label_names, n_labels, bounds,
			  n_bounds, out);
}

/* A zero-label family shows its single series (value 0) from the start, as clients do. */
static int single(int rc, struct metrics_family *const *f, struct metrics_series **out)
{
	if (rc == 0)
		*out = metrics_series(*f, NULL);
	return rc;
}

int metrics_counter0(struct metrics_registry *reg, const char *name, const char *help,
		     struct metrics_series **out)
{
	struct metrics_family *f = NULL;
	return single(metrics_counter(reg, name, help, NULL, 0, &f), &f, out);
}

int metrics_gauge0(struct metrics_registry *reg, const char *name, const char *help,
		   struct metrics_series **out)
{
	struct metrics_family *f = NULL;
	return single(metrics_gauge(reg, name, help, NULL, 0, &f), &f, out);
}

int metrics_histogram0(struct metrics_registry *reg, const char *name, const char *help,
		       const double *bounds, size_t n_bounds, struct metrics_series **out)
{
	struct metrics_family *f = NULL;
	return single(metrics_histogram(reg, name, help, NULL, 0, bounds, n_bounds, &f), &f, out);
}

static int fn_add(struct metrics_registry *reg, enum metrics_kind kind, const char *name,
		  const char *help, double (*fn)(void *user), void *user)
{
	if (!fn)
		return AA_EINVAL;
	struct metrics_family *f;
	int rc = family_add(reg, kind, name, help, NULL, 0, NULL, 0, &f);
	if (rc == 0) {
		f->fn = fn;
		f->user = user;
	}
	return rc;
}

int metrics_gauge_fn(struct metrics_registry *reg, const char *name, const char *help,
		     double (*fn)(void *user), void *user)
{
	return fn_add(reg, KIND_GAUGE, name, help, fn, user);
}

int metrics_counter_fn(struct metrics_registry *reg, const char *name, const char *help,
		       double (*fn)(void *user), void *user)
{
	return fn_add(reg, KIND_COUNTER, name, help, fn, user);
}

/* --- series ---------------------------------------------------------------------------- */

/* Renders the label set `a="x",b="y"` into out; a NULL values array stands for all "". */
static void render_labels(const struct metrics_family *f, const char *const *values,
			  struct aa_buf *out)
{
	for (size_t i = 0; i < f->n_labels; i++) {
		const char *v = values && values[i] ? values[i] : "";
		if (i)
			aa_buf_append_byte(out, ',');
		aa_buf_append_str(out, f->label_names[i]);
		aa_buf_append_str(out, "=\"");
		append_escaped(out, v, METRICS_LABEL_VALUE_MAX, true);
		aa_buf_append_byte(out, '"');
	}
}

static struct metrics_series *series_create(struct metrics_family *f, struct aa_buf *key)
{
	struct metrics_series *s = aa_calloc(1, sizeof *s);
	s->family = f;
	size_t len = key->n;
	s->labels = (char *)aa_buf_steal(key, &len);
	if (!s->labels)
		s->labels = aa_strdup("");
	if (f->kind == KIND_HISTOGRAM)
		s->buckets = aa_calloc(f->n_bounds + 1, sizeof *s->buckets);
	/* The map holds at most max_series + 1 keys and callers check first, so this fits. */
	if (map_put(&f->by_labels, s->labels, len, s, NULL) != 0)
		abort();
	if (f->last)
		f->last->next = s;
	else
		f->first = s;
	f->last = s;
	return s;
}

static struct metrics_series *overflow_series(struct metrics_family *f)
{
	const char *vals[METRICS_MAX_LABELS];
	for (size_t i = 0; i < f->n_labels; i++)
		vals[i] = METRICS_OVERFLOW_VALUE;
	struct aa_buf key;
	aa_buf_init(&key);
	render_labels(f, vals, &key);
	struct metrics_series *s = map_get(&f->by_labels, key.p ? (void *)key.p : "", key.n);
	if (!s)
		s = series_create(f, &key);
	aa_buf_free(&key);
	return s;
}

struct metrics_series *metrics_series(struct metrics_family *f, const char *const *values)
{
	if (!f || f->fn)
		return NULL;
	struct aa_buf key;
	aa_buf_init(&key);
	render_labels(f, values, &key);
	struct metrics_series *s = map_get(&f->by_labels, key.p ? (void *)key.p : "", key.n);
	if (!s) {
		if (f->n_series < f->max_series) {
			s = series_create(f, &key);
			f->n_series++;
		} else {
			s = overflow_series(f);
		}
	}
	aa_buf_free(&key);
	return s;
}

/* --- updates --------------------------------------------------------------------------- */

void metrics_add(struct metrics_series *s, double v)
{
	if (!s || s->family->kind == KIND_HISTOGRAM)
		return;
	if (s->family->kind == KIND_COUNTER && !(v >= 0))
		return; /* counters are monotonic; this also drops NaN */
	s->value += v;
}

void metrics_inc(struct metrics_series *s)
{
	metrics_add(s, 1);
}

void metrics_set(struct metrics_series *s, double v)
{
	if (s && s->family->kind == KIND_GAUGE)
		s->value = v;
}

void metrics_observe(struct metrics_series *s, double v)
{
	if (!s || s->family->kind != KIND_HISTOGRAM || isnan(v))
		return;
	const struct metrics_family *f = s->family;
	/* Buckets are upper-inclusive ("le"): the first bound >= v. Binary search. */
	size_t lo = 0, hi = f->n_bounds;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->bounds[mid] >= v)
			hi = mid;
		else
			lo = mid + 1;
	}
	s->buckets[lo]++;
	s->count++;
	s->sum += v;
}

int metrics_histogram_set(struct metrics_series *s, const uint64_t *bucket_counts, size_t n,
			  double sum)
{
	if (!s || !bucket_counts || s->family->kind != KIND_HISTOGRAM ||
	    n != s->family->n_bounds + 1)
		return AA_EINVAL;
	uint64_t count = 0;
	for (size_t i = 0; i < n; i++) {
		s->buckets[i] = bucket_counts[i];
		count += bucket_counts[i];
	}
	s->count = count;
	s->sum = isnan(sum) ? 0 : sum;
	return 0;
}

double metrics_value(const struct metrics_series *s)
{
	if (!s)
		return NAN;
	return s->family->kind == KIND_HISTOGRAM ? (double)s->count : s->value;
}

/* --- rendering ------------------------------------------------------------------------- */

/* One sample line: name+suffix{labels[,extra]} value. */
static void render_sample(struct aa_buf *out, const char *name, const char *suffix,
			  const char *labels, const char *extra, double v)
{
	aa_buf_append_str(out, name);
	aa_buf_append_str(out, suffix);
	bool have = labels && *labels;
	if (have || extra) {
		aa_buf_append_byte(out, '{');
		if (have)
			aa_buf_append_str(out, labels);
		if (have && extra)
			aa_buf_append_byte(out, ',');
		if (extra)
			aa_buf_append_str(out, extra);
		aa_buf_append_byte(out, '}');
	}
	aa_buf_append_byte(out, ' ');
	metrics_format_double(out, v);
	aa_buf_append_byte(out, '\n');
}

/* Histogram series: cumulative _bucket lines ending with le="+Inf" (equal to _count), then
 * _sum and _count, as the format requires. */
static void render_histogram(struct aa_buf *out, const struct metrics_family *f,
			     const struct metrics_series *s)
{
	struct aa_buf le;
	aa_buf_init(&le);
	uint64_t cumulative = 0;
	for (size_t i = 0; i <= f->n_bounds; i++) {
		cumulative += s->buckets[i];
		aa_buf_reset(&le);
		aa_buf_append_str(&le, "le=\"");
		metrics_format_double(&le, i < f->n_bounds ? f->bounds[i] : INFINITY);
		aa_buf_append_byte(&le, '"');
		aa_buf_append_byte(&le, 0);
		render_sample(out, f->name, "_bucket", s->labels, (const char *)le.p,
			      (double)cumulative);
	}
	aa_buf_free(&le);
	render_sample(out, f->name, "_sum", s->labels, NULL, s->sum);
	render_sample(out, f->name, "_count", s->labels, NULL, (double)s->count);
}

int metrics_render(struct metrics_registry *reg, struct aa_buf *out)
{
	for (const struct metrics_family *f = reg->first; f; f = f->next) {
		/* An empty HELP is left out rather than written with a dangling space. */
		if (*f->help) {
			aa_buf_append_str(out, "# HELP ");
			aa_buf_append_str(out, f->name);
			aa_buf_append_byte(out, ' ');
			aa_buf_append_str(out, f->help);
			aa_buf_append_byte(out, '\n');
		}
		aa_buf_append_str(out, "# TYPE ");
		aa_buf_append_str(out, f->name);
		aa_buf_append_byte(out, ' ');
		aa_buf_append_str(out, kind_names[f->kind]);
		aa_buf_append_byte(out, '\n');
		if (f->fn) {
			render_sample(out, f->name, "", NULL, NULL, f->fn(f->user));
			continue;
		}
		for (const struct metrics_series *s = f->first; s; s = s->next) {
			if (f->kind == KIND_HISTOGRAM)
				render_histogram(out, f, s);
			else
				render_sample(out, f->name, "", s->labels, NULL, s->value);
		}
	}
	return 0;
}
