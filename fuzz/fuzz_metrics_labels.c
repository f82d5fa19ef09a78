/* fuzz_metrics_labels: label values from peers (tool names, transports, message types) go
 * through metrics_series() and metrics_render(). Whatever the bytes, the exposition must stay
 * valid UTF-8, every sample line must parse (labels quoted, only \\ \" \n escapes, value
 * after one space), and the series count must stay within the configured bound. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "metrics/metrics.h"

#define MAX_SERIES 4

/* Length of a valid UTF-8 sequence at p, or 0 (same rules as RFC 3629). */
static size_t utf8_len(const uint8_t *p, size_t left)
{
	uint8_t c = p[0];
	if (c < 0x80)
		return 1;
	size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
		 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
	if (n == 0 || left < n)
		return 0;
	uint8_t lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
	uint8_t hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	return n;
}

/* Checks one sample line "name{l="v",...} value" (p..end, no newline). */
static void check_sample(const uint8_t *p, const uint8_t *end)
{
	while (p < end && *p != '{' && *p != ' ')
		p++;
	if (p < end && *p == '{') {
		p++;
		while (p < end && *p != '}') {
			while (p < end && *p != '=')
				p++;
			if (end - p < 2 || p[1] != '"')
				abort();
			p += 2;
			while (p < end && *p != '"') {
				if (*p == '\\') {
					if (p + 1 >= end || !strchr("\\\"n", p[1]))
						abort();
					p++;
				}
				p++;
			}
			if (p >= end)
				abort();
			p++;
			if (p < end && *p == ',')
				p++;
		}
		if (p >= end)
			abort();
		p++;
	}
	if (p >= end || *p != ' ' || p + 1 >= end)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct metrics_registry *reg = metrics_registry_new();
	metrics_registry_set_max_series(reg, MAX_SERIES);
	struct metrics_family *calls, *dur;
	const char *names[] = { "tool", "status" };
	const double bounds[] = { 0.1, 1, 10 };
	if (metrics_counter(reg, "calls_total", "Calls.", names, 2, &calls) != 0 ||
	    metrics_histogram(reg, "dur_seconds", "D.", names, 1, bounds, 3, &dur) != 0)
		abort();
	/* The input, NUL-separated, is a sequence of label values taken two at a time. */
	char *copy = malloc(size + 1);
	memcpy(copy, data, size);
	copy[size] = 0;
	const char *vals[2] = { "", "" };
	size_t k = 0;
	for (char *p = copy; p <= copy + size; p += strlen(p) + 1) {
		vals[k++ % 2] = p;
		if (k % 2 == 0) {
			metrics_inc(metrics_series(calls, vals));
			metrics_observe(metrics_series(dur, vals), (double)strlen(vals[0]) / 10);
		}
	}
	struct aa_buf out;
	aa_buf_init(&out);
	metrics_render(reg, &out);
	size_t samples = 0;
	for (size_t i = 0; i < out.n;) {
		size_t n = utf8_len(out.p + i, out.n - i);
		if (n == 0)
			abort();
		i += n;
	}
	const uint8_t *line = out.p, *end = out.p + out.n;
	while (line < end) {
		const uint8_t *nl = memchr(line, '\n', (size_t)(end - line));
		if (!nl)
			abort(); /* the last line must end with a newline too */
		if (*line != '#') {
			check_sample(line, nl);
			samples++;
		}
		line = nl + 1;
	}
	/* calls: <= MAX_SERIES + overflow; dur: (+1 each) 3 buckets + Inf + sum + count. */
	if (samples > (MAX_SERIES + 1) * (1 + 6))
		abort();
	aa_buf_free(&out);
	free(copy);
	metrics_registry_free(reg);
	return 0;
}
