/* mem: allocation wrappers that abort on out-of-memory. */
#include "base/mem.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void aa__oom(size_t n)
{
	fprintf(stderr, "agentanycast: out of memory allocating %zu bytes\n", n);
	abort();
}

void aa_require_sodium(void)
{
	if (sodium_init() < 0) {
		fputs("agentanycast: libsodium cannot initialise (no system randomness)\n", stderr);
		abort();
	}
}

void *aa_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		aa__oom(n);
	return p;
}

void *aa_calloc(size_t count, size_t size)
{
	void *p = calloc(count ? count : 1, size ? size : 1);
	if (!p)
		aa__oom(count * size);
	return p;
}

void *aa_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		aa__oom(n);
	return q;
}

char *aa_strndup(const char *s, size_t n)
{
	char *d = aa_malloc(n + 1);
	if (n)
		memcpy(d, s, n); /* s may be NULL when n is 0 */
	d[n] = '\0';
	return d;
}

char *aa_strdup(const char *s)
{
	return aa_strndup(s, strlen(s));
}

char *aa_sprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	char *s = aa_malloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}
