/* mem: allocation that never returns NULL. Out-of-memory is not a condition this daemon can
 * recover from piecemeal, so it aborts here, in one place, with a message (as redis does).
 * Growth driven by peers is bounded by configured limits before it reaches these calls. */
#ifndef AA_BASE_MEM_H
#define AA_BASE_MEM_H

#include <stddef.h>

void *aa_malloc(size_t n);
void *aa_calloc(size_t count, size_t size);
void *aa_realloc(void *p, size_t n);
char *aa_strdup(const char *s);
char *aa_strndup(const char *s, size_t n);
/* Makes libsodium ready (idempotent, thread-safe). It fails only when the system cannot give
 * randomness, which no node can run without, so that aborts here rather than in every caller. */
void aa_require_sodium(void);
/* printf into a fresh heap string. */
char *aa_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
