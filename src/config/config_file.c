/* config_file: applies a parsed TOML document to the configuration (REFERENCE.md H.2).
 * Every key must be known and of the right type; errors cite FILE:LINE:COL of the offending
 * key or value (DECISIONS.md 11). Recursion follows only the known tables, so its depth is
 * bounded by the schema (three levels), whatever the document's nesting. */
#include <string.h>
#include <stdlib.h>

#include "base/err.h"
#include "base/mem.h"
#include "config/config_impl.h"

#define MAX_TABLE_DEPTH 4

struct file_ctx {
	struct aa_config *cfg;
	const char *path;
	struct aa_config_result *res;
};

static const char *type_name(enum toml_type t)
{
	switch (t) {
	case TOML_STRING: return "string";
	case TOML_INTEGER: return "integer";
	case TOML_FLOAT: return "float";
	case TOML_BOOL: return "boolean";
	case TOML_DATETIME: return "datetime";
	case TOML_ARRAY: return "array";
	case TOML_TABLE: return "table";
	}
	return "value";
}

static struct aa_config__origin at(const struct file_ctx *c, struct toml_pos pos)
{
	struct aa_config__origin o = { CFG_FROM_FILE, c->path, pos };
	return o;
}

static int type_error(const struct file_ctx *c, const char *key, const struct toml_value *v,
	const char *want)
{
	struct aa_config__origin o = at(c, v->pos);
	return aa_config__fail(c->res, &o, key, "expected %s, got %s", want, type_name(v->type));
}

/* A TOML string may hold U+0000; none of our settings can. */
static int string_value(const struct file_ctx *c, const char *key, const struct toml_value *v,
	const char **out)
{
	if (v->type != TOML_STRING)
		return type_error(c, key, v, "string");
	if (strlen(v->u.str.s) != v->u.str.len) {
		struct aa_config__origin o = at(c, v->pos);
		return aa_config__fail(c->res, &o, key, "string contains a NUL character");
	}
	*out = v->u.str.s;
	return 0;
}

static int apply_list(const struct file_ctx *c, int key, const char *name,
	const struct toml_value *v)
{
	if (v->type != TOML_ARRAY)
		return type_error(c, name, v, "array of strings");
	const struct toml_array *arr = v->u.arr;
	size_t n = arr->n;
	const char **items = aa_calloc(n ? n : 1, sizeof *items);
	struct toml_pos *pos = aa_calloc(n ? n : 1, sizeof *pos);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = string_value(c, name, &arr->items[i], &items[i]);
		pos[i] = arr->items[i].pos;
	}
	if (rc == 0) {
		struct aa_config__origin o = at(c, v->pos);
		rc = aa_config__set_list(c->cfg, key, items, pos, n, &o, c->res);
	}
	free(items);
	free(pos);
	return rc;
}

/* One [[policy.acl]] entry: source, skill and allow are all required, because a rule with a
 * missing field would silently match nothing or deny. */
static int acl_entry(const struct file_ctx *c, size_t idx, const struct toml_value *v,
	struct aa_config_acl_rule *r)
{
	char name[64];
	snprintf(name, sizeof name, "policy.acl[%zu]", idx);
	if (v->type != TOML_TABLE)
		return type_error(c, name, v, "table");
	bool have_allow = false;
	const struct toml_table *t = v->u.tab;
	for (size_t i = 0; i < t->n; i++) {
		const struct toml_keyval *kv = &t->items[i];
		char full[128];
		snprintf(full, sizeof full, "%s.%.40s", name, kv->key);
		const char *s;
		int rc;
		if (strcmp(kv->key, "source") == 0 || strcmp(kv->key, "skill") == 0) {
			rc = string_value(c, full, &kv->val, &s);
			if (rc < 0)
				return rc;
			char **slot = strcmp(kv->key, "source") == 0 ? &r->source : &r->skill;
			free(*slot);
			*slot = aa_strdup(s);
		} else if (strcmp(kv->key, "allow") == 0) {
			if (kv->val.type != TOML_BOOL)
				return type_error(c, full, &kv->val, "boolean");
			r->allow = kv->val.u.b;
			have_allow = true;
		} else {
			struct aa_config__origin o = at(c, kv->pos);
			return aa_config__fail(c->res, &o, NULL, "unknown key '%s'", full);
		}
	}
	const char *missing = !r->source ? "source" : !r->skill ? "skill" : !have_allow ? "allow" : NULL;
	if (missing) {
		struct aa_config__origin o = at(c, v->pos);
		return aa_config__fail(c->res, &o, name, "missing '%s'", missing);
	}
	return 0;
}

static int apply_acl(const struct file_ctx *c, int key, const char *name,
	const struct toml_value *v)
{
	if (v->type != TOML_ARRAY)
		return type_error(c, name, v, "array of tables");
	size_t n = v->u.arr->n;
	struct aa_config_acl_rule *rules = aa_calloc(n ? n : 1, sizeof *rules);
	for (size_t i = 0; i < n; i++) {
		int rc = acl_entry(c, i, &v->u.arr->items[i], &rules[i]);
		if (rc < 0) {
			aa_config__free_acl(rules, n);
			return rc;
		}
	}
	aa_config__free_acl(c->cfg->policy.acl, c->cfg->policy.n_acl);
	c->cfg->policy.acl = rules;
	c->cfg->policy.n_acl = n;
	struct aa_config__origin o = at(c, v->pos);
	aa_config__set_origin(c->cfg, key, &o);
	return 0;
}

/* One [[policy.rate_limit.overrides]] entry: source (string) and rps (integer >= 0). */
static int override_entry(const struct file_ctx *c, size_t idx, const struct toml_value *v,
	struct aa_config_rate_override *r)
{
	char name[64];
	snprintf(name, sizeof name, "policy.rate_limit.overrides[%zu]", idx);
	if (v->type != TOML_TABLE)
		return type_error(c, name, v, "table");
	bool have_rps = false;
	const struct toml_table *t = v->u.tab;
	for (size_t i = 0; i < t->n; i++) {
		const struct toml_keyval *kv = &t->items[i];
		char full[128];
		snprintf(full, sizeof full, "%s.%.40s", name, kv->key);
		if (strcmp(kv->key, "source") == 0) {
			const char *s;
			int rc = string_value(c, full, &kv->val, &s);
			if (rc < 0)
				return rc;
			free(r->source);
			r->source = aa_strdup(s);
		} else if (strcmp(kv->key, "rps") == 0) {
			if (kv->val.type != TOML_INTEGER)
				return type_error(c, full, &kv->val, "integer");
			if (kv->val.u.i < 0 || kv->val.u.i > INT64_C(2147483647)) {
				struct aa_config__origin o = at(c, kv->val.pos);
				return aa_config__fail(c->res, &o, full,
					"%lld is out of range 0..2147483647", (long long)kv->val.u.i);
			}
			r->rps = kv->val.u.i;
			have_rps = true;
		} else {
			struct aa_config__origin o = at(c, kv->pos);
			return aa_config__fail(c->res, &o, NULL, "unknown key '%s'", full);
		}
	}
	const char *missing = !r->source ? "source" : !have_rps ? "rps" : NULL;
	if (missing) {
		struct aa_config__origin o = at(c, v->pos);
		return aa_config__fail(c->res, &o, name, "missing '%s'", missing);
	}
	return 0;
}

static int apply_overrides(const struct file_ctx *c, int key, const char *name,
	const struct toml_value *v)
{
	if (v->type != TOML_ARRAY)
		return type_error(c, name, v, "array of tables");
	size_t n = v->u.arr->n;
	struct aa_config_rate_override *ov = aa_calloc(n ? n : 1, sizeof *ov);
	for (size_t i = 0; i < n; i++) {
		int rc = override_entry(c, i, &v->u.arr->items[i], &ov[i]);
		if (rc < 0) {
			aa_config__free_overrides(ov, n);
			return rc;
		}
	}
	struct aa_config *cfg = c->cfg;
	aa_config__free_overrides(cfg->policy.rate_limit.overrides, cfg->policy.rate_limit.n_overrides);
	cfg->policy.rate_limit.overrides = ov;
	cfg->policy.rate_limit.n_overrides = n;
	struct aa_config__origin o = at(c, v->pos);
	aa_config__set_origin(cfg, key, &o);
	return 0;
}

static int apply_value(const struct file_ctx *c, int key, const struct toml_value *v)
{
	const char *name = aa_config__keys[key].name;
	struct aa_config__origin o = at(c, v->pos);
	const char *s;
	int rc;
	switch (aa_config__keys[key].kind) {
	case CFG_STRING:
	case CFG_PATH:
	case CFG_DURATION:
		rc = string_value(c, name, v, &s);
		return rc < 0 ? rc : aa_config__set_text(c->cfg, key, s, &o, c->res);
	case CFG_BOOL:
		if (v->type != TOML_BOOL)
			return type_error(c, name, v, "boolean");
		return aa_config__set_bool(c->cfg, key, v->u.b, &o);
	case CFG_INT:
		if (v->type != TOML_INTEGER)
			return type_error(c, name, v, "integer");
		return aa_config__set_int(c->cfg, key, v->u.i, &o, c->res);
	case CFG_FLOAT:
		/* TOML tells 1 from 1.0; a person writing sample_rate = 1 means the same. */
		if (v->type == TOML_INTEGER)
			return aa_config__set_float(c->cfg, key, (double)v->u.i, &o, c->res);
		if (v->type != TOML_FLOAT)
			return type_error(c, name, v, "float");
		return aa_config__set_float(c->cfg, key, v->u.f, &o, c->res);
	case CFG_LIST:
		return apply_list(c, key, name, v);
	case CFG_ACL:
		return apply_acl(c, key, name, v);
	case CFG_OVERRIDES:
		return apply_overrides(c, key, name, v);
	}
	return aa_config__fail(c->res, &o, name, "internal error: unhandled kind");
}

static int apply_table(const struct file_ctx *c, const struct toml_table *t, const char *prefix,
	int depth)
{
	if (depth > MAX_TABLE_DEPTH)
		return AA_ECONFIG; /* unreachable: only known tables are entered */
	for (size_t i = 0; i < t->n; i++) {
		const struct toml_keyval *kv = &t->items[i];
		/* A quoted key holding a dot ("bridge.listen" = …) is one segment in TOML, not a
		 * path: it must not pass for the nested key. */
		bool plain = strchr(kv->key, '.') == NULL && strlen(kv->key) < 64;
		char *name = prefix ? aa_sprintf("%s.%s", prefix, kv->key) : aa_strdup(kv->key);
		int key = plain ? aa_config__key_find(name) : -1;
		int rc = 0;
		if (key >= 0 && aa_config__keys[key].in_file) {
			rc = apply_value(c, key, &kv->val);
		} else if (plain && aa_config__is_table(name)) {
			if (kv->val.type != TOML_TABLE)
				rc = type_error(c, name, &kv->val, "table");
			else
				rc = apply_table(c, kv->val.u.tab, name, depth + 1);
		} else {
			struct aa_config__origin o = at(c, kv->pos);
			rc = aa_config__fail(c->res, &o, NULL, "unknown key '%.200s'", name);
		}
		free(name);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int aa_config__apply_file(struct aa_config *cfg, const struct toml_table *root, const char *path,
	struct aa_config_result *res)
{
	struct file_ctx c = { cfg, path, res };
	return apply_table(&c, root, NULL, 0);
}
