/* metrics: a registry of Prometheus counters, gauges and histograms, rendered in the text
 * exposition format 0.0.4 (prometheus.io/docs/instrumenting/exposition_formats). The
 * registry owns every family and series; callers hold borrowed pointers to them until
 * metrics_registry_free(). Not thread-safe and not locked on purpose: the daemon updates and
 * renders metrics on the libuv loop thread only. The store thread must hand its numbers to
 * the loop (or be read through a scrape-time callback that does its own synchronisation).
 *
 *   struct metrics_family *tasks;
 *   const char *labels[] = { "direction", "status" };
 *   metrics_counter(reg, "agentanycast_tasks_total", "A2A tasks.", labels, 2, &tasks);
 *   const char *vals[] = { "sent", "submitted" };
 *   struct metrics_series *s = metrics_series(tasks, vals);  // keep s; look it up once
 *   metrics_inc(s);
 *
 * Names follow the data model: metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
 * [a-zA-Z_][a-zA-Z0-9_]* and must not start with "__" (reserved); histograms may not use
 * the label "le". Counter names should end in "_total" (promtool lints it) but that is a
 * convention, not enforced here. */
#ifndef AA_METRICS_METRICS_H
#define AA_METRICS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

struct metrics_registry;
struct metrics_family;
struct metrics_series;

/* Default bound on the label combinations of one family (metrics_registry_set_max_series). */
#define METRICS_MAX_SERIES_DEFAULT 1000
/* Longest label value kept, in bytes; longer values are cut at a UTF-8 character boundary. */
#define METRICS_LABEL_VALUE_MAX 128
/* Most labels per family and most bucket bounds per histogram. */
#define METRICS_MAX_LABELS 16
#define METRICS_MAX_BUCKETS 64
/* The label value every label of the overflow series carries. */
#define METRICS_OVERFLOW_VALUE "overflow"

/* The HTTP Content-Type of metrics_render()'s output. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics_registry *metrics_registry_new(void);
/* Frees the registry with every family and series (NULL is fine). */
void metrics_registry_free(struct metrics_registry *reg);
/* Sets the per-family bound on label combinations for families registered afterwards
 * (n >= 1). When a family already holds that many series, every new combination is
 * folded into one extra series whose label values are all "overflow", so a peer that can
 * choose label values (a tool name, a transport) cannot grow memory or the scrape without
 * bound. The fold is visible in the output instead of silently dropping counts. */
void metrics_registry_set_max_series(struct metrics_registry *reg, size_t n);

/* Registers a family. help is any text (escaped on output). label_names[0..n_labels) are
 * copied. Returns 0 and *out, AA_EINVAL for an invalid or reserved name, a label name
 * repeated, too many labels or (histograms) bounds that are not finite and strictly
 * increasing, or AA_EEXIST if the registry already has a family of that name. A trailing
 * +Inf bound is accepted and ignored: the +Inf bucket is always present. */
int metrics_counter(struct metrics_registry *reg, const char *name, const char *help,
		    const char *const *label_names, size_t n_labels, struct metrics_family **out);
int metrics_gauge(struct metrics_registry *reg, const char *name, const char *help,
		  const char *const *label_names, size_t n_labels, struct metrics_family **out);
int metrics_histogram(struct metrics_registry *reg, const char *name, const char *help,
		      const char *const *label_names, size_t n_labels, const double *bounds,
		      size_t n_bounds, struct metrics_family **out);

/* Zero-label conveniences: register the family and return its only series. */
int metrics_counter0(struct metrics_registry *reg, const char *name, const char *help,
		     struct metrics_series **out);
int metrics_gauge0(struct metrics_registry *reg, const char *name, const char *help,
		   struct metrics_series **out);
int metrics_histogram0(struct metrics_registry *reg, const char *name, const char *help,
		       const double *bounds, size_t n_bounds, struct metrics_series **out);

/* A counter or gauge whose value fn(user) computes at render time (connected peers, queue
 * sizes, process_* metrics). fn runs on the rendering thread and must not touch the
 * registry. Same errors as metrics_counter(). */
int metrics_gauge_fn(struct metrics_registry *reg, const char *name, const char *help,
		     double (*fn)(void *user), void *user);
int metrics_counter_fn(struct metrics_registry *reg, const char *name, const char *help,
		       double (*fn)(void *user), void *user);

/* The series of a family for label_values[0..n_labels) (n_labels as registered; a NULL
 * array or element means ""), created with value 0 on first use. Values are copied, cut to
 * METRICS_LABEL_VALUE_MAX bytes and made valid UTF-8 (bad bytes become U+FFFD). Past the
 * bound it returns the overflow series; NULL only for a NULL or callback family. Lookups hash,
 * so callers on hot paths should keep the pointer rather than look it up per event. */
struct metrics_series *metrics_series(struct metrics_family *family,
				      const char *const *label_values);

/* Updates. All accept NULL (no-op) and ignore a call that does not fit the kind: inc/add
 * are for counters and gauges, set for gauges, observe for histograms. Counters only go
 * up: a negative or NaN add is ignored. A NaN observation is ignored (it would make _sum
 * NaN forever). */
void metrics_inc(struct metrics_series *s);
void metrics_add(struct metrics_series *s, double v);
void metrics_set(struct metrics_series *s, double v);
void metrics_observe(struct metrics_series *s, double v);
/* Sets a histogram series from totals kept elsewhere (a module's cumulative stats read at
 * scrape time): bucket_counts[0..n) are per-bucket counts, NOT cumulative, one per bound plus
 * the +Inf bucket (n must be the family's bound count + 1); the count becomes their sum and
 * the sum becomes `sum` (NaN is taken as 0). Replaces what was observed before. Returns 0, or
 * AA_EINVAL for a NULL series or counts, a series that is not a histogram's, or a wrong n
 * (then nothing changes). */
int metrics_histogram_set(struct metrics_series *s, const uint64_t *bucket_counts, size_t n,
			  double sum);
/* The current value of a counter or gauge (the count of a histogram); for tests. */
double metrics_value(const struct metrics_series *s);

/* Appends the exposition of every family to out: families in registration order, each with
 * its HELP line (left out when help is "") and TYPE line, then its series in creation order
 * (so the overflow series comes last). A labelled family with no series yet shows only its
 * metadata. Returns 0. */
int metrics_render(struct metrics_registry *reg, struct aa_buf *out);

/* Appends v the way Prometheus parses it: integers exactly ("42"), other finite values as
 * the shortest decimal that reads back as the same double, and "+Inf", "-Inf", "NaN". */
void metrics_format_double(struct aa_buf *out, double v);

/* Registers the standard process_* metrics read from /proc/self at scrape time (Linux):
 * process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
 * process_open_fds, process_max_fds, process_start_time_seconds. Returns 0 or the first
 * registration error (AA_EEXIST if called twice). */
int metrics_register_process(struct metrics_registry *reg);

#endif
