/* log: structured log lines on stderr. The level and format are process-wide settings (the
 * one piece of global state in base/, set by cmd/ at start); each line is assembled in memory
 * and written with a single write(2) so lines from different threads never interleave. */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"

static enum aa_log_level log_level = AA_LOG_INFO;
static enum aa_log_format log_format = AA_LOG_JSON;

static const char *const level_names[] = { "debug", "info", "warn", "error", "off" };

void aa_log_setup(enum aa_log_level level, enum aa_log_format format)
{
	log_level = level;
	log_format = format;
}

enum aa_log_level aa_log_get_level(void)
{
	return log_level;
}

bool aa_log_enabled(enum aa_log_level level)
{
	return level >= log_level && level != AA_LOG_OFF;
}

int aa_log_level_parse(const char *s)
{
	for (int i = AA_LOG_DEBUG; i <= AA_LOG_ERROR; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	if (strcmp(s, "warning") == 0)
		return AA_LOG_WARN;
	return -1;
}

const char *aa_log_level_name(enum aa_log_level level)
{
	return (unsigned)level <= AA_LOG_OFF ? level_names[level] : "?";
}

/* JSON string body escaping (RFC 8259 §7); also used for text values that need quoting. */
static void append_json_escaped(struct aa_buf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': aa_buf_append_str(b, "\\\""); break;
		case '\\': aa_buf_append_str(b, "\\\\"); break;
		case '\n': aa_buf_append_str(b, "\\n"); break;
		case '\r': aa_buf_append_str(b, "\\r"); break;
		case '\t': aa_buf_append_str(b, "\\t"); break;
		default:
			if (*p < 0x20) {
				char esc[8];
				snprintf(esc, sizeof esc, "\\u%04x", *p);
				aa_buf_append_str(b, esc);
			} else {
				aa_buf_append_byte(b, *p);
			}
		}
	}
}

static bool text_needs_quotes(const char *s)
{
	if (!*s)
		return true;
	for (; *s; s++)
		if (*s == ' ' || *s == '"' || *s == '=' || (unsigned char)*s < 0x20)
			return true;
	return false;
}

static void append_field(struct aa_buf *b, const char *key, const char *val)
{
	if (log_format == AA_LOG_JSON) {
		aa_buf_append_str(b, ",\"");
		append_json_escaped(b, key);
		aa_buf_append_str(b, "\":\"");
		append_json_escaped(b, val ? val : "");
		aa_buf_append_byte(b, '"');
		return;
	}
	aa_buf_append_byte(b, ' ');
	aa_buf_append_str(b, key);
	aa_buf_append_byte(b, '=');
	if (!val)
		val = "";
	if (text_needs_quotes(val)) {
		aa_buf_append_byte(b, '"');
		append_json_escaped(b, val);
		aa_buf_append_byte(b, '"');
	} else {
		aa_buf_append_str(b, val);
	}
}

static void emit(enum aa_log_level level, const char *msg, va_list kv)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char when[40];
	size_t w = strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when + w, sizeof when - w, ".%03ldZ", ts.tv_nsec / 1000000);

	struct aa_buf b;
	aa_buf_init(&b);
	if (log_format == AA_LOG_JSON) {
		aa_buf_append_str(&b, "{\"time\":\"");
		aa_buf_append_str(&b, when);
		aa_buf_append_str(&b, "\",\"level\":\"");
		aa_buf_append_str(&b, level_names[level]);
		aa_buf_append_str(&b, "\",\"msg\":\"");
		append_json_escaped(&b, msg);
		aa_buf_append_byte(&b, '"');
	} else {
		aa_buf_append_str(&b, "time=");
		aa_buf_append_str(&b, when);
		aa_buf_append_str(&b, " level=");
		aa_buf_append_str(&b, level_names[level]);
		append_field(&b, "msg", msg);
	}
	for (;;) {
		const char *key = va_arg(kv, const char *);
		if (!key)
			break;
		const char *val = va_arg(kv, const char *);
		append_field(&b, key, val);
	}
	if (log_format == AA_LOG_JSON)
		aa_buf_append_byte(&b, '}');
	aa_buf_append_byte(&b, '\n');
	/* One write keeps the line whole; a short write to stderr is not worth retrying. */
	ssize_t r = write(STDERR_FILENO, b.p, b.n);
	(void)r;
	aa_buf_free(&b);
}

void aa_log(enum aa_log_level level, const char *msg, ...)
{
	if (!aa_log_enabled(level))
		return;
	va_list ap;
	va_start(ap, msg);
	emit(level, msg, ap);
	va_end(ap);
}

/* A helper with no key/value pairs, so emit() sees an immediate NULL key. */
static void emit_plain(enum aa_log_level level, const char *msg, ...)
{
	va_list ap;
	va_start(ap, msg);
	emit(level, msg, ap);
	va_end(ap);
}

void aa_logf(enum aa_log_level level, const char *fmt, ...)
{
	if (!aa_log_enabled(level))
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	emit_plain(level, msg, (const char *)NULL);
}
