/* config_impl: what the files of the config module share (config_keys.c owns the key table
 * and value checks, config.c the defaults, setters and the load sequence; config_file.c,
 * config_env.c and config_flags.c feed values in). Not part of the module's public face:
 * include only from src/config/. */
#ifndef AA_CONFIG_CONFIG_IMPL_H
#define AA_CONFIG_CONFIG_IMPL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "config/toml.h"

enum aa_config__kind {
	CFG_STRING,
	CFG_PATH, /* a string in which a leading "~" or "~/" is expanded (DECISIONS.md 11) */
	CFG_BOOL,
	CFG_INT,
	CFG_FLOAT,
	CFG_DURATION,
	CFG_LIST,      /* array of strings */
	CFG_ACL,       /* [[policy.acl]] */
	CFG_OVERRIDES, /* [[policy.rate_limit.overrides]] */
};

/* Checks (and may rewrite) one string value; on failure writes the reason into why. */
typedef int (*aa_config__check_fn)(char **value, char *why, size_t why_len);

struct aa_config__key {
	const char *name; /* dotted TOML name */
	enum aa_config__kind kind;
	size_t offset; /* into struct aa_config */
	bool in_file;  /* may be written in the TOML file (false: command line only) */
	int64_t min;   /* CFG_INT, CFG_DURATION (ns): smallest allowed */
	int64_t max;   /* CFG_INT: largest allowed */
	aa_config__check_fn check; /* CFG_STRING, CFG_PATH, and each CFG_LIST item; may be NULL */
};

extern const struct aa_config__key aa_config__keys[];
extern const size_t aa_config__nkeys;

/* Where one value came from. */
enum aa_config__from { CFG_FROM_FILE, CFG_FROM_ENV, CFG_FROM_FLAG };
struct aa_config__origin {
	enum aa_config__from from;
	const char *name;    /* file path, variable name, or the flag as written ("--key") */
	struct toml_pos pos; /* CFG_FROM_FILE only */
};

/* Index of a key in aa_config__keys, or -1. */
int aa_config__key_find(const char *name);
/* True for the names of the known tables ("bridge", "transport.nats", ...). */
bool aa_config__is_table(const char *name);

/* Setters: validate, store (replacing the old value), record the origin. Each returns 0, or
 * AA_ECONFIG with res->message "WHERE: key 'NAME': reason". */
int aa_config__set_text(struct aa_config *cfg, int key, const char *text,
	const struct aa_config__origin *o, struct aa_config_result *res);
int aa_config__set_bool(struct aa_config *cfg, int key, bool v, const struct aa_config__origin *o);
int aa_config__set_int(struct aa_config *cfg, int key, int64_t v,
	const struct aa_config__origin *o, struct aa_config_result *res);
int aa_config__set_float(struct aa_config *cfg, int key, double v,
	const struct aa_config__origin *o, struct aa_config_result *res);
/* items[i] is validated with item_pos[i] as its position when o is a file origin (item_pos
 * may be NULL). The strings are copied. */
int aa_config__set_list(struct aa_config *cfg, int key, const char *const *items,
	const struct toml_pos *item_pos, size_t n, const struct aa_config__origin *o,
	struct aa_config_result *res);
/* Records an origin for a key set by hand (policy tables). */
void aa_config__set_origin(struct aa_config *cfg, int key, const struct aa_config__origin *o);

/* Formats "WHERE: key 'NAME': reason" into res->message; returns AA_ECONFIG. key may be NULL
 * ("WHERE: reason"). o NULL means the built-in default. */
int aa_config__fail(struct aa_config_result *res, const struct aa_config__origin *o,
	const char *key, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Appends one line to res->warnings (dropped when full). */
void aa_config__warn(struct aa_config_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "~" or "~/rest" → home + rest; anything else copied. AA_ECONFIG when no home is known. */
int aa_config__expand_home(const char *in, char **out);
/* The built-in default of one key as text ("" for empty, "a, b" for lists). Caller frees. */
char *aa_config__value_text(const struct aa_config *cfg, int key);

/* The layers, in precedence order. */
int aa_config__apply_file(struct aa_config *cfg, const struct toml_table *root, const char *path,
	struct aa_config_result *res);
int aa_config__apply_env(struct aa_config *cfg, struct aa_config_result *res);
/* The i-th environment variable and the key it sets (for the usage text); NULL past the end. */
const char *aa_config__env_name(size_t i, const char **key);

/* Command-line flags are parsed first (they may name the file and ask for --help) and applied
 * last. */
struct aa_config__flag_use {
	int flag;          /* index into the flag table of config_flags.c */
	const char *value; /* borrowed from argv; NULL for a bool flag given without =value */
};
struct aa_config__argv {
	struct aa_config__flag_use *uses;
	size_t n;
	bool help;
	bool version;
	const char *config_path; /* --config value (borrowed), NULL if absent */
	int first_positional;
};
int aa_config__parse_argv(int argc, char **argv, struct aa_config__argv *out,
	struct aa_config_result *res);
int aa_config__apply_flags(struct aa_config *cfg, const struct aa_config__argv *a,
	struct aa_config_result *res);
void aa_config__argv_free(struct aa_config__argv *a);

/* Splits a comma list, trimming spaces and dropping empty entries (REFERENCE.md H.3). */
size_t aa_config__split_list(const char *s, char ***out);
void aa_config__free_strv(char **v, size_t n);
void aa_config__free_acl(struct aa_config_acl_rule *r, size_t n);
void aa_config__free_overrides(struct aa_config_rate_override *o, size_t n);

#endif
