/* fuzz_toml: feeds arbitrary bytes to the TOML parser. On success it walks the whole tree and
 * checks what the header promises (positions are 1-based, strings are NUL-terminated at len,
 * every key can be found again); on failure it checks that the error carries a position and
 * a message. Any crash, leak or sanitizer report is a finding. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/toml.h"

static void check(int ok)
{
	if (!ok)
		abort();
}

static void walk_value(const struct toml_value *v, int depth);

static void walk_table(const struct toml_table *t, int depth)
{
	check(depth <= TOML_MAX_DEPTH);
	for (size_t k = 0; k < t->n; k++) {
		const struct toml_keyval *kv = &t->items[k];
		check(kv->key != NULL && kv->key[kv->keylen] == 0);
		check(kv->pos.line >= 1 && kv->pos.col >= 1);
		/* Keys are unique within a table, so the lookup finds this very entry. */
		check(toml_table_findn(t, kv->key, kv->keylen) == kv);
		walk_value(&kv->val, depth + 1);
	}
}

static void walk_value(const struct toml_value *v, int depth)
{
	check(v->pos.line >= 1 && v->pos.col >= 1);
	switch (v->type) {
	case TOML_STRING:
	case TOML_DATETIME:
		check(v->u.str.s != NULL && v->u.str.s[v->u.str.len] == 0);
		break;
	case TOML_ARRAY:
		check(depth <= TOML_MAX_DEPTH);
		for (size_t k = 0; k < v->u.arr->n; k++) {
			const struct toml_value *item = &v->u.arr->items[k];
			if (toml_array_is_table_array(v->u.arr))
				check(item->type == TOML_TABLE);
			walk_value(item, depth + 1);
		}
		break;
	case TOML_TABLE:
		walk_table(v->u.tab, depth);
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct toml_table *root;
	struct toml_error err;
	int rc = toml_parse((const char *)data, size, &root, &err);
	if (rc == 0) {
		walk_table(root, 0);
		toml_free(root);
	} else {
		check(root == NULL);
		check(err.pos.line >= 1 && err.pos.col >= 1);
		check(err.msg[0] != 0 && memchr(err.msg, 0, sizeof err.msg) != NULL);
	}
	return 0;
}
