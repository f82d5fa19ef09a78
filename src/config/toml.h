/* toml: a TOML 1.0 parser (toml.io/en/v1.0.0) written for this project, since Debian packages
 * no C TOML library. It builds a tree of tables, arrays and scalar values, each carrying the
 * line and column where it appears, so configuration errors can name file:line:col.
 * The tree owns all its memory; toml_free() releases it. Pure, any thread. */
#ifndef AA_CONFIG_TOML_H
#define AA_CONFIG_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits: larger input is rejected outright; tables and arrays may nest at most this deep
 * (the root table is level 0, so `a = [[1]]` puts the inner array at level 2). */
#define TOML_MAX_INPUT (16u * 1024u * 1024u)
#define TOML_MAX_DEPTH 128

enum toml_type {
	TOML_STRING,
	TOML_INTEGER,
	TOML_FLOAT,
	TOML_BOOL,
	TOML_DATETIME, /* offset/local date-time, local date, local time: kept as source text */
	TOML_ARRAY,
	TOML_TABLE,
};

struct toml_pos {
	int line; /* 1-based */
	int col;  /* 1-based, in bytes (a leading UTF-8 BOM is not counted) */
};

struct toml_table;
struct toml_array;

struct toml_value {
	enum toml_type type;
	struct toml_pos pos; /* where the value starts */
	union {
		struct {
			char *s;    /* NUL-terminated UTF-8 (may contain NUL via \u0000: use len) */
			size_t len;
		} str;          /* TOML_STRING and TOML_DATETIME */
		int64_t i;
		double f;
		bool b;
		struct toml_array *arr;
		struct toml_table *tab;
	} u;
};

struct toml_keyval {
	char *key;           /* one key segment (dotted keys become nested tables) */
	struct toml_pos pos; /* where the key was written (first definition) */
	struct toml_value val;
	size_t keylen;       /* bytes in key: a quoted key may contain NUL via \u0000 */
};

struct toml_table {
	size_t n;
	struct toml_keyval *items; /* in document order */
	/* parser bookkeeping (implicit/explicit/inline/array-of-tables) lives in toml.c */
	unsigned flags;
};

struct toml_array {
	size_t n;
	struct toml_value *items;
	unsigned flags; /* parser bookkeeping: static array or array of tables */
};

struct toml_error {
	struct toml_pos pos;
	char msg[200];
};

/* Parses text[0..len). On success returns 0 and a root table in *out (free with toml_free).
 * On failure returns AA_EINVAL and fills *err with the position and a message; *out is NULL.
 * Input larger than 16 MiB or nested deeper than 128 levels is rejected. */
int toml_parse(const char *text, size_t len, struct toml_table **out, struct toml_error *err);
void toml_free(struct toml_table *root);

/* Looks up a direct child by key; NULL if absent. */
const struct toml_keyval *toml_table_find(const struct toml_table *t, const char *key);
/* The same for a key of len bytes, which may contain NUL. */
const struct toml_keyval *toml_table_findn(const struct toml_table *t, const char *key,
					   size_t len);
/* Follows a dotted path of plain key segments ("policy.rate_limit.default_rps") through
 * nested tables; NULL if a segment is absent or an intermediate value is not a table.
 * Segments are split at every '.', so this cannot name keys that themselves contain dots. */
const struct toml_value *toml_table_get_path(const struct toml_table *t, const char *path);
/* True for an array written as [[header]] sections rather than as an [ ... ] value. */
bool toml_array_is_table_array(const struct toml_array *a);
const char *toml_type_name(enum toml_type t);

#endif
