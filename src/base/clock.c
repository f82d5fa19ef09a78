/* clock: time sources and Go-style duration parsing (the config uses "24h", "30s"). */
#include "base/clock.h"

#include <math.h>
#include <string.h>
#include <time.h>

#include "base/err.h"

uint64_t aa_clock_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t aa_clock_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const struct {
	const char *name;
	double ns;
} duration_units[] = {
	{ "ns", 1 }, { "us", 1e3 }, { "\xc2\xb5s", 1e3 }, { "ms", 1e6 },
	{ "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 },
};

/* Grammar (Go time.ParseDuration, without sign): "0" | (decimal unit)+ */
int aa_duration_parse(const char *s, uint64_t *out_ns)
{
	if (!s || !*s)
		return AA_EINVAL;
	if (strcmp(s, "0") == 0) {
		*out_ns = 0;
		return 0;
	}
	double total = 0;
	const char *p = s;
	while (*p) {
		double whole = 0, frac = 0, scale = 1;
		int digits = 0;
		while (*p >= '0' && *p <= '9') {
			whole = whole * 10 + (*p++ - '0');
			digits++;
		}
		if (*p == '.') {
			p++;
			while (*p >= '0' && *p <= '9') {
				scale /= 10;
				frac += (*p++ - '0') * scale;
				digits++;
			}
		}
		if (digits == 0)
			return AA_EINVAL;
		size_t best = 0;
		double unit = 0;
		for (size_t i = 0; i < sizeof duration_units / sizeof duration_units[0]; i++) {
			size_t l = strlen(duration_units[i].name);
			if (l > best && strncmp(p, duration_units[i].name, l) == 0) {
				best = l;
				unit = duration_units[i].ns;
			}
		}
		if (best == 0)
			return AA_EINVAL;
		p += best;
		total += (whole + frac) * unit;
		if (total > 1.8e19)
			return AA_ERANGE;
	}
	*out_ns = (uint64_t)llround(total);
	return 0;
}
