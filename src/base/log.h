/* log: structured logging to stderr, one line per event, as JSON (default) or text.
 * Configured once by cmd/ before the loop starts; single-threaded use from the loop thread,
 * other threads may log too (each line is written with one write(2)).
 *
 *   aa_log(AA_LOG_INFO, "connection opened", "peer", peer_str, "dir", "inbound", NULL);
 *   aa_logf(AA_LOG_WARN, "dial failed after %d tries", n);
 *
 * Key/value arguments are NUL-terminated strings, terminated by a NULL key. */
#ifndef AA_BASE_LOG_H
#define AA_BASE_LOG_H

#include <stdbool.h>

enum aa_log_level { AA_LOG_DEBUG = 0, AA_LOG_INFO, AA_LOG_WARN, AA_LOG_ERROR, AA_LOG_OFF };
enum aa_log_format { AA_LOG_JSON = 0, AA_LOG_TEXT };

void aa_log_setup(enum aa_log_level level, enum aa_log_format format);
enum aa_log_level aa_log_get_level(void);
bool aa_log_enabled(enum aa_log_level level);
/* Parses "debug"/"info"/"warn"/"error"; returns -1 for anything else. */
int aa_log_level_parse(const char *s);
const char *aa_log_level_name(enum aa_log_level level);

void aa_log(enum aa_log_level level, const char *msg, ...) __attribute__((sentinel));
void aa_logf(enum aa_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
