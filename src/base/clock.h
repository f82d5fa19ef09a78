/* clock: monotonic time for durations and deadlines, wall time for records and logs. */
#ifndef AA_BASE_CLOCK_H
#define AA_BASE_CLOCK_H

#include <stdint.h>

/* Nanoseconds on CLOCK_MONOTONIC: never jumps, meaningless across processes. */
uint64_t aa_clock_mono_ns(void);
/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t aa_clock_wall_ms(void);
/* Parses a Go-style duration ("1h30m", "250ms", "24h", "1.5s", "0"): units ns, us/µs, ms, s,
 * m, h; returns 0 and nanoseconds in *out, or AA_EINVAL. Negative durations are rejected. */
int aa_duration_parse(const char *s, uint64_t *out_ns);

#endif
