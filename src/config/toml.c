/* toml: a TOML 1.0 parser (toml.io/en/v1.0.0) producing a position-annotated tree.
 *
 * One forward pass over the bytes, with a few bytes of lookahead and no separate tokenizer.
 * Scalars are validated where they are read (strings and comments decode UTF-8 and reject
 * control characters; numbers and dates follow the ABNF character by character), so the first
 * error in document order is the one reported, at the byte that caused it.
 *
 * The redefinition rules of TOML 1.0 are kept as one "kind" per table (see enum table_kind)
 * plus a flag on arrays written as [[header]] sections. Duplicate keys are found through one
 * hash index over (table, key) for the whole document, so a table with many keys costs
 * O(1) per key rather than a scan. Nesting (tables and arrays together) is bounded by
 * TOML_MAX_DEPTH, which also bounds the recursion of the value parser and of toml_free(). */
#include "config/toml.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/multibase.h"
#include "base/buf.h"
#include "base/err.h"
#include "base/mem.h"

/* How a table came to exist decides what may still be done to it (TOML 1.0 §Table). */
enum table_kind {
	TABLE_IMPLICIT = 1, /* a parent created by a [a.b] header: one [a] may still define it */
	TABLE_EXPLICIT = 2, /* defined by a [header], an [[array]] element, or the root */
	TABLE_DOTTED = 3,   /* created by a dotted key: no [header] may define it afterwards */
	TABLE_INLINE = 4,   /* an inline table { }: immutable once closed */
};

/* toml_array.flags: the array was built by [[header]] sections and may grow that way. */
#define ARRAY_OF_TABLES 1u

struct key_part {
	char *s; /* owned until moved into the tree */
	size_t len;
	struct toml_pos pos;
};

struct key_path {
	struct key_part *part;
	int n, cap;
};

struct index_slot {
	const struct toml_table *t; /* NULL: empty slot */
	size_t item;
	uint64_t hash;
};

/* Open-addressed map (table, key) -> position in table->items, for duplicate detection. */
struct key_index {
	struct index_slot *slots;
	size_t cap, used;
};

struct parser {
	const char *s;
	size_t len, i;
	int line;
	size_t lstart; /* offset of the first byte of the current line */
	struct toml_error *err;
	struct key_index index;
	struct aa_buf scratch; /* text of the string or number being read */
	struct toml_table *root;
	struct toml_table *cur; /* where `key = value` lines go */
	int cur_depth;
};

/* ---- positions, characters and errors -------------------------------------------------- */

static int peek(const struct parser *p, size_t k)
{
	return p->i + k < p->len ? (unsigned char)p->s[p->i + k] : -1;
}

static struct toml_pos here(const struct parser *p)
{
	struct toml_pos pos = { p->line, (int)(p->i - p->lstart + 1) };
	return pos;
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_bare_key_char(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '_' ||
	       c == '-';
}

static bool is_control(int c)
{
	return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7f;
}

/* Decodes one UTF-8 sequence from s[0..n). Returns its length, or 0 if it is not well-formed
 * (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	if (n == 0)
		return 0;
	unsigned c = s[0];
	size_t len;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		len = 2, v = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3, v = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[k] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

static size_t utf8_at(const struct parser *p, uint32_t *cp)
{
	return utf8_decode((const unsigned char *)p->s + p->i, p->len - p->i, cp);
}

static void put_utf8(struct aa_buf *b, uint32_t cp)
{
	uint8_t u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (uint8_t)cp, n = 1;
	} else if (cp < 0x800) {
		u[0] = (uint8_t)(0xc0 | cp >> 6), u[1] = (uint8_t)(0x80 | (cp & 0x3f)), n = 2;
	} else if (cp < 0x10000) {
		u[0] = (uint8_t)(0xe0 | cp >> 12), u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (uint8_t)(0x80 | (cp & 0x3f)), n = 3;
	} else {
		u[0] = (uint8_t)(0xf0 | cp >> 18), u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f)), u[3] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 4;
	}
	aa_buf_append(b, u, n);
}

static int vfail_at(struct parser *p, struct toml_pos pos, const char *fmt, va_list ap)
{
	p->err->pos = pos;
	vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
	return AA_EINVAL;
}

static int __attribute__((format(printf, 3, 4)))
fail_at(struct parser *p, struct toml_pos pos, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = vfail_at(p, pos, fmt, ap);
	va_end(ap);
	return rc;
}

static int __attribute__((format(printf, 2, 3))) fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = vfail_at(p, here(p), fmt, ap);
	va_end(ap);
	return rc;
}

/* Names the character at the cursor for a message. */
static const char *describe(const struct parser *p, char buf[32])
{
	int c = peek(p, 0);
	uint32_t cp;
	if (c < 0)
		return "end of input";
	if (c == '\n' || (c == '\r' && peek(p, 1) == '\n'))
		return "end of line";
	if (c == '\t')
		return "a tab";
	if (c == ' ')
		return "a space";
	if (c < 0x80 && !is_control(c))
		snprintf(buf, 32, "'%c'", c);
	else if (c < 0x80 || !utf8_at(p, &cp))
		snprintf(buf, 32, "byte 0x%02X", (unsigned)c);
	else
		snprintf(buf, 32, "U+%04X", (unsigned)cp);
	return buf;
}

/* Reports a character that cannot appear here. Characters that TOML forbids everywhere get a
 * message of their own, since "expected X" would hide the real problem. */
static int unexpected(struct parser *p, const char *expected)
{
	char buf[32];
	int c = peek(p, 0);
	uint32_t cp;
	if (c == '\r' && peek(p, 1) != '\n')
		return fail(p, "carriage return not followed by a line feed");
	if (is_control(c) && c != '\n' && c != '\r')
		return fail(p, "control character U+%04X is not allowed", (unsigned)c);
	if (c >= 0x80 && !utf8_at(p, &cp))
		return fail(p, "invalid UTF-8 (byte 0x%02X)", (unsigned)c);
	return fail(p, "expected %s, found %s", expected, describe(p, buf));
}

/* Reports a character that a string or comment may not contain (TOML 1.0: control
 * characters other than tab are not allowed; text must be valid UTF-8). */
static int bad_text_char(struct parser *p, const char *where)
{
	int c = peek(p, 0);
	if (c == '\r')
		return fail(p, "carriage return not followed by a line feed in %s", where);
	if (c >= 0x80)
		return fail(p, "invalid UTF-8 (byte 0x%02X) in %s", (unsigned)c, where);
	return fail(p, "control character U+%04X is not allowed in %s", (unsigned)c, where);
}

/* Quotes a key for a message: printable ASCII as is, other bytes as '?', long keys cut. */
static const char *key_for_msg(const char *s, size_t len, char buf[48])
{
	size_t o = 0;
	for (size_t k = 0; k < len && o < 40; k++) {
		unsigned char c = (unsigned char)s[k];
		buf[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (o == 40 && len > 40) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = 0;
	return buf;
}

static const char *type_article(const struct toml_value *v)
{
	switch (v->type) {
	case TOML_STRING: return "a string";
	case TOML_INTEGER: return "an integer";
	case TOML_FLOAT: return "a float";
	case TOML_BOOL: return "a boolean";
	case TOML_DATETIME: return "a date-time";
	case TOML_ARRAY:
		return (v->u.arr->flags & ARRAY_OF_TABLES) ? "an array of tables" : "an array";
	case TOML_TABLE: return "a table";
	}
	return "a value";
}

/* ---- whitespace, newlines and comments -------------------------------------------------- */

static void skip_ws(struct parser *p)
{
	while (p->i < p->len && (p->s[p->i] == ' ' || p->s[p->i] == '\t'))
		p->i++;
}

/* Consumes LF or CRLF (TOML 1.0 newline) and starts a new line. */
static bool eat_newline(struct parser *p)
{
	int c = peek(p, 0);
	if (c == '\n')
		p->i++;
	else if (c == '\r' && peek(p, 1) == '\n')
		p->i += 2;
	else
		return false;
	p->line++;
	p->lstart = p->i;
	return true;
}

/* comment = "#" *non-eol; non-eol is tab, printable ASCII or non-ASCII UTF-8. Stops before
 * the newline that ends it. */
static int skip_comment(struct parser *p)
{
	if (peek(p, 0) != '#')
		return 0;
	p->i++;
	for (;;) {
		int c = peek(p, 0);
		uint32_t cp;
		size_t n;
		if (c < 0 || c == '\n' || (c == '\r' && peek(p, 1) == '\n'))
			return 0;
		if (c == '\t' || (c >= 0x20 && c < 0x7f))
			p->i++;
		else if (c >= 0x80 && (n = utf8_at(p, &cp)) > 0)
			p->i += n;
		else
			return bad_text_char(p, "a comment");
	}
}

/* Skips whitespace, comments and newlines, as allowed between array elements. */
static int skip_blank(struct parser *p)
{
	for (;;) {
		skip_ws(p);
		if (skip_comment(p))
			return AA_EINVAL;
		if (!eat_newline(p))
			return 0;
	}
}

/* Each expression ends with an optional comment and a newline (or the end of input). */
static int expect_line_end(struct parser *p, const char *after)
{
	skip_ws(p);
	if (skip_comment(p))
		return AA_EINVAL;
	if (p->i >= p->len || eat_newline(p))
		return 0;
	char what[64];
	snprintf(what, sizeof what, "end of line after %s", after);
	return unexpected(p, what);
}

/* ---- the tree --------------------------------------------------------------------------- */

/* Item arrays grow to powers of two (4, 8, 16 ...), so the capacity follows from n. */
static bool full(size_t n)
{
	return n == 0 || (n >= 4 && (n & (n - 1)) == 0);
}

static size_t grown(size_t n)
{
	return n == 0 ? 4 : 2 * n;
}

static struct toml_table *table_new(enum table_kind kind)
{
	struct toml_table *t = aa_calloc(1, sizeof *t);
	t->flags = kind;
	return t;
}

static void table_free(struct toml_table *t);

static void array_free(struct toml_array *a);

/* Recursion here is bounded: the parser builds no tree deeper than TOML_MAX_DEPTH. */
static void value_free(struct toml_value *v)
{
	switch (v->type) {
	case TOML_STRING:
	case TOML_DATETIME:
		free(v->u.str.s);
		break;
	case TOML_ARRAY:
		array_free(v->u.arr);
		break;
	case TOML_TABLE:
		table_free(v->u.tab);
		break;
	default:
		break;
	}
}

static void array_free(struct toml_array *a)
{
	if (!a)
		return;
	for (size_t k = 0; k < a->n; k++)
		value_free(&a->items[k]);
	free(a->items);
	free(a);
}

static void table_free(struct toml_table *t)
{
	if (!t)
		return;
	for (size_t k = 0; k < t->n; k++) {
		free(t->items[k].key);
		value_free(&t->items[k].val);
	}
	free(t->items);
	free(t);
}

static struct toml_value *array_push(struct toml_array *a)
{
	if (full(a->n))
		a->items = aa_realloc(a->items, grown(a->n) * sizeof *a->items);
	struct toml_value *v = &a->items[a->n];
	memset(v, 0, sizeof *v);
	return v;
}

static uint64_t key_hash(const struct toml_table *t, const char *key, size_t len)
{
	/* FNV-1a over the key, seeded with the table's address, then a final avalanche. */
	uint64_t h = 0xcbf29ce484222325ull ^ ((uint64_t)(uintptr_t)t * 0x9e3779b97f4a7c15ull);
	for (size_t k = 0; k < len; k++) {
		h ^= (unsigned char)key[k];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return h;
}

static struct toml_keyval *index_find(const struct key_index *ix, const struct toml_table *t,
				      const char *key, size_t len)
{
	if (ix->cap == 0)
		return NULL;
	uint64_t h = key_hash(t, key, len);
	for (size_t j = h & (ix->cap - 1);; j = (j + 1) & (ix->cap - 1)) {
		const struct index_slot *slot = &ix->slots[j];
		if (!slot->t)
			return NULL;
		if (slot->t == t && slot->hash == h) {
			struct toml_keyval *kv = &t->items[slot->item];
			if (kv->keylen == len && memcmp(kv->key, key, len) == 0)
				return kv;
		}
	}
}

static void index_put(struct key_index *ix, const struct index_slot *in)
{
	size_t j = in->hash & (ix->cap - 1);
	while (ix->slots[j].t)
		j = (j + 1) & (ix->cap - 1);
	ix->slots[j] = *in;
}

static void index_add(struct key_index *ix, const struct toml_table *t, size_t item)
{
	/* Kept at most half full so probe runs stay short. */
	if ((ix->used + 1) * 2 > ix->cap) {
		struct key_index bigger = { NULL, ix->cap ? ix->cap * 2 : 64, ix->used };
		bigger.slots = aa_calloc(bigger.cap, sizeof *bigger.slots);
		for (size_t j = 0; j < ix->cap; j++)
			if (ix->slots[j].t)
				index_put(&bigger, &ix->slots[j]);
		free(ix->slots);
		*ix = bigger;
	}
	const struct toml_keyval *kv = &t->items[item];
	struct index_slot slot = { t, item, key_hash(t, kv->key, kv->keylen) };
	index_put(ix, &slot);
	ix->used++;
}

static struct toml_keyval *table_get(const struct parser *p, const struct toml_table *t,
				     const struct key_part *k)
{
	return index_find(&p->index, t, k->s, k->len);
}

/* Appends key = *v to t, taking ownership of the key's text and of v's contents. The
 * returned pointer is valid until the next append to t. */
static struct toml_keyval *table_add(struct parser *p, struct toml_table *t, struct key_part *k,
				     const struct toml_value *v)
{
	if (full(t->n))
		t->items = aa_realloc(t->items, grown(t->n) * sizeof *t->items);
	struct toml_keyval *kv = &t->items[t->n];
	kv->key = k->s;
	kv->keylen = k->len;
	kv->pos = k->pos;
	kv->val = *v;
	k->s = NULL;
	t->n++;
	index_add(&p->index, t, t->n - 1);
	return kv;
}

/* Adds an empty table of the given kind under key k and returns it. */
static struct toml_table *table_add_table(struct parser *p, struct toml_table *t,
					  struct key_part *k, enum table_kind kind,
					  struct toml_pos pos)
{
	struct toml_value v = { .type = TOML_TABLE, .pos = pos };
	v.u.tab = table_new(kind);
	table_add(p, t, k, &v);
	return v.u.tab;
}

static int too_deep(struct parser *p, struct toml_pos pos)
{
	return fail_at(p, pos, "tables and arrays nest deeper than %d levels", TOML_MAX_DEPTH);
}

/* ---- strings ---------------------------------------------------------------------------- */

/* Reads the escape sequence whose backslash is at the cursor (TOML 1.0 §String: \b \t \n \f
 * \r \" \\ \uXXXX \UXXXXXXXX; the code point must be a Unicode scalar value). */
static int read_escape(struct parser *p, struct aa_buf *b)
{
	struct toml_pos at = here(p);
	int c = peek(p, 1);
	static const char from[] = "btnfr\"\\", to[] = "\b\t\n\f\r\"\\";
	const char *hit = c > 0 ? strchr(from, c) : NULL;
	if (hit) {
		aa_buf_append_byte(b, (uint8_t)to[hit - from]);
		p->i += 2;
		return 0;
	}
	if (c == 'u' || c == 'U') {
		int digits = c == 'u' ? 4 : 8;
		uint32_t cp = 0;
		for (int k = 0; k < digits; k++) {
			int h = base16_digit((unsigned char)peek(p, 2 + (size_t)k));
			if (h < 0)
				return fail_at(p, at, "escape \\%c needs exactly %d hexadecimal digits",
					       c, digits);
			cp = cp << 4 | (uint32_t)h;
		}
		if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return fail_at(p, at, "escape \\%c%.*s is not a Unicode scalar value", c,
				       digits, p->s + p->i + 2);
		put_utf8(b, cp);
		p->i += 2 + (size_t)digits;
		return 0;
	}
	if (c > 0x20 && c < 0x7f)
		return fail_at(p, at, "invalid escape sequence \\%c", c);
	return fail_at(p, at, "invalid escape sequence: backslash at end of line or before a "
			      "space or control character");
}

/* In a multi-line basic string, a backslash that is last on its line (bar whitespace) removes
 * itself, the newline and all whitespace and newlines after it. Returns whether it did. */
static bool line_ending_backslash(struct parser *p)
{
	size_t j = p->i + 1;
	while (j < p->len && (p->s[j] == ' ' || p->s[j] == '\t'))
		j++;
	if (!(j < p->len && (p->s[j] == '\n' || (p->s[j] == '\r' && j + 1 < p->len &&
						  p->s[j + 1] == '\n'))))
		return false;
	p->i = j;
	while (eat_newline(p))
		skip_ws(p);
	return true;
}

/* At a run of delimiter quotes inside a multi-line string: three end the string, and up to two
 * more just before them belong to the content (TOML 1.0: """a"""" is a"). Returns whether
 * the string ended. */
static bool ml_quotes(struct parser *p, struct aa_buf *b, char q)
{
	size_t k = 0;
	while (k < 5 && peek(p, k) == q)
		k++;
	size_t content = k >= 3 ? k - 3 : k;
	for (size_t j = 0; j < content; j++)
		aa_buf_append_byte(b, (uint8_t)q);
	p->i += k;
	return k >= 3;
}

/* Reads a basic ("...") or multi-line basic ("""...""") string into b. */
static int read_basic(struct parser *p, bool ml, struct aa_buf *b)
{
	struct toml_pos open = here(p);
	const char *what = ml ? "a multi-line string" : "a string";
	p->i += ml ? 3 : 1;
	if (ml)
		eat_newline(p); /* a newline right after the opening delimiter is trimmed */
	for (;;) {
		size_t start = p->i;
		while (p->i < p->len) {
			unsigned char c = (unsigned char)p->s[p->i];
			if ((c < 0x20 && c != '\t') || c >= 0x7f || c == '"' || c == '\\')
				break;
			p->i++;
		}
		aa_buf_append(b, p->s + start, p->i - start);
		int c = peek(p, 0);
		uint32_t cp;
		size_t n;
		if (c < 0)
			return fail_at(p, open, "unterminated %s", ml ? "multi-line string" : "string");
		if (c == '"') {
			if (!ml) {
				p->i++;
				return 0;
			}
			if (ml_quotes(p, b, '"'))
				return 0;
		} else if (c == '\\') {
			if (!(ml && line_ending_backslash(p)) && read_escape(p, b))
				return AA_EINVAL;
		} else if (c == '\n' || (c == '\r' && peek(p, 1) == '\n')) {
			if (!ml)
				return fail_at(p, open, "unterminated string (newline before the "
							"closing quote)");
			eat_newline(p);
			aa_buf_append_byte(b, '\n'); /* CRLF is normalized to LF */
		} else if (c >= 0x80 && (n = utf8_at(p, &cp)) > 0) {
			aa_buf_append(b, p->s + p->i, n);
			p->i += n;
		} else {
			return bad_text_char(p, what);
		}
	}
}

/* Reads a literal ('...') or multi-line literal ('''...''') string into b: no escapes. */
static int read_literal(struct parser *p, bool ml, struct aa_buf *b)
{
	struct toml_pos open = here(p);
	const char *what = ml ? "a multi-line literal string" : "a literal string";
	p->i += ml ? 3 : 1;
	if (ml)
		eat_newline(p);
	for (;;) {
		size_t start = p->i;
		while (p->i < p->len) {
			unsigned char c = (unsigned char)p->s[p->i];
			if ((c < 0x20 && c != '\t') || c >= 0x7f || c == '\'')
				break;
			p->i++;
		}
		aa_buf_append(b, p->s + start, p->i - start);
		int c = peek(p, 0);
		uint32_t cp;
		size_t n;
		if (c < 0)
			return fail_at(p, open, "unterminated %s", what + 2);
		if (c == '\'') {
			if (!ml) {
				p->i++;
				return 0;
			}
			if (ml_quotes(p, b, '\''))
				return 0;
		} else if (c == '\n' || (c == '\r' && peek(p, 1) == '\n')) {
			if (!ml)
				return fail_at(p, open, "unterminated literal string (newline before "
							"the closing quote)");
			eat_newline(p);
			aa_buf_append_byte(b, '\n');
		} else if (c >= 0x80 && (n = utf8_at(p, &cp)) > 0) {
			aa_buf_append(b, p->s + p->i, n);
			p->i += n;
		} else {
			return bad_text_char(p, what);
		}
	}
}

/* Copies the scratch buffer into an exactly sized, NUL-terminated heap string. */
static char *scratch_copy(struct parser *p, size_t *len)
{
	char *s = aa_malloc(p->scratch.n + 1);
	if (p->scratch.n)
		memcpy(s, p->scratch.p, p->scratch.n);
	s[p->scratch.n] = 0;
	*len = p->scratch.n;
	return s;
}

static int parse_string(struct parser *p, struct toml_value *v)
{
	char q = p->s[p->i];
	bool ml = peek(p, 1) == q && peek(p, 2) == q;
	aa_buf_reset(&p->scratch);
	int rc = q == '"' ? read_basic(p, ml, &p->scratch) : read_literal(p, ml, &p->scratch);
	if (rc)
		return rc;
	v->type = TOML_STRING;
	v->u.str.s = scratch_copy(p, &v->u.str.len);
	return 0;
}

/* ---- keys ------------------------------------------------------------------------------- */

static void key_path_free(struct key_path *kp)
{
	for (int k = 0; k < kp->n; k++)
		free(kp->part[k].s);
	free(kp->part);
	kp->part = NULL;
	kp->n = kp->cap = 0;
}

/* simple-key = quoted-key / unquoted-key (TOML 1.0 §Keys). */
static int parse_simple_key(struct parser *p, struct key_part *k)
{
	int c = peek(p, 0);
	k->pos = here(p);
	aa_buf_reset(&p->scratch);
	if (c == '"' || c == '\'') {
		if (peek(p, 1) == c && peek(p, 2) == c)
			return fail(p, "a multi-line string cannot be used as a key");
		int rc = c == '"' ? read_basic(p, false, &p->scratch)
				  : read_literal(p, false, &p->scratch);
		if (rc)
			return rc;
	} else if (is_bare_key_char(c)) {
		size_t start = p->i;
		while (is_bare_key_char(peek(p, 0)))
			p->i++;
		aa_buf_append(&p->scratch, p->s + start, p->i - start);
	} else {
		return unexpected(p, "a key");
	}
	k->s = scratch_copy(p, &k->len);
	return 0;
}

/* key = simple-key *( ws "." ws simple-key ). Consumes whitespace after the key. */
static int parse_key(struct parser *p, struct key_path *kp)
{
	for (;;) {
		if (kp->n == TOML_MAX_DEPTH)
			return fail(p, "a key may have at most %d dotted parts", TOML_MAX_DEPTH);
		if (kp->n == kp->cap) {
			kp->cap = kp->cap ? kp->cap * 2 : 4;
			kp->part = aa_realloc(kp->part, (size_t)kp->cap * sizeof *kp->part);
		}
		struct key_part *k = &kp->part[kp->n];
		k->s = NULL;
		int rc = parse_simple_key(p, k);
		if (rc)
			return rc;
		kp->n++;
		skip_ws(p);
		if (peek(p, 0) != '.')
			return 0;
		p->i++;
		skip_ws(p);
	}
}

/* ---- numbers, booleans, dates ------------------------------------------------------------ */

static bool is_radix_digit(int c, int radix)
{
	switch (radix) {
	case 2: return c == '0' || c == '1';
	case 8: return c >= '0' && c <= '7';
	case 10: return is_digit(c);
	default: return base16_digit((unsigned char)c) >= 0;
	}
}

/* Reads digits into the scratch buffer; TOML 1.0 allows an underscore only between two
 * digits. */
static int scan_digits(struct parser *p, int radix, const char *expected)
{
	if (!is_radix_digit(peek(p, 0), radix))
		return unexpected(p, expected);
	for (;;) {
		int c = peek(p, 0);
		if (is_radix_digit(c, radix)) {
			aa_buf_append_byte(&p->scratch, (uint8_t)c);
			p->i++;
		} else if (c == '_') {
			if (!is_radix_digit(peek(p, 1), radix))
				return fail(p, "'_' in a number must stand between two digits");
			p->i++;
		} else {
			return 0;
		}
	}
}

/* A number, boolean or date must be followed by something that can end a value. */
static int check_value_end(struct parser *p, const char *what)
{
	int c = peek(p, 0);
	if (c < 0 || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '#' || c == ',' ||
	    c == ']' || c == '}')
		return 0;
	char buf[32];
	uint32_t cp;
	if (is_control(c) || (c >= 0x80 && !utf8_at(p, &cp)))
		return unexpected(p, "the end of the value");
	return fail(p, "unexpected %s in %s", describe(p, buf), what);
}

/* Converts the digits in scratch (no sign) to an integer bounded by limit. */
static bool digits_to_u64(const struct aa_buf *b, int radix, uint64_t limit, uint64_t *out)
{
	uint64_t v = 0;
	for (size_t k = 0; k < b->n; k++) {
		uint64_t d = (uint64_t)base16_digit((unsigned char)b->p[k]);
		if (v > (limit - d) / (uint64_t)radix)
			return false;
		v = v * (uint64_t)radix + d;
	}
	*out = v;
	return true;
}

static bool match(const struct parser *p, const char *word)
{
	size_t n = strlen(word);
	return p->len - p->i >= n && memcmp(p->s + p->i, word, n) == 0;
}

static int parse_bool(struct parser *p, struct toml_value *v)
{
	bool t = match(p, "true");
	if (!t && !match(p, "false"))
		return unexpected(p, "a value");
	p->i += t ? 4 : 5;
	v->type = TOML_BOOL;
	v->u.b = t;
	return check_value_end(p, "boolean");
}

/* hex-int / oct-int / bin-int: 0x, 0o, 0b prefixes (lowercase), no sign, at most INT64_MAX. */
static int parse_radix_int(struct parser *p, struct toml_value *v, struct toml_pos at)
{
	int pc = peek(p, 1);
	int radix = pc == 'x' ? 16 : pc == 'o' ? 8 : 2;
	const char *name = radix == 16 ? "hexadecimal" : radix == 8 ? "octal" : "binary";
	char expected[40], what[40];
	snprintf(expected, sizeof expected, "%s %s digit", radix == 8 ? "an" : "a", name);
	snprintf(what, sizeof what, "%s integer", name);
	p->i += 2;
	uint64_t u;
	if (scan_digits(p, radix, expected) || check_value_end(p, what))
		return AA_EINVAL;
	if (!digits_to_u64(&p->scratch, radix, INT64_MAX, &u))
		return fail_at(p, at, "integer does not fit in 64 bits");
	v->type = TOML_INTEGER;
	v->u.i = (int64_t)u;
	return 0;
}

/* integer / float (TOML 1.0 §Integer, §Float): decimal with optional sign, no leading zeros,
 * optional fraction and exponent, inf and nan with optional sign. */
static int parse_number(struct parser *p, struct toml_value *v)
{
	struct toml_pos at = here(p);
	aa_buf_reset(&p->scratch);
	int c = peek(p, 0);
	bool neg = c == '-', sign = c == '-' || c == '+';
	if (sign) {
		p->i++;
		c = peek(p, 0);
	}
	if (c == 'i' || c == 'n') {
		bool inf = c == 'i';
		if (!match(p, inf ? "inf" : "nan"))
			return unexpected(p, sign ? "a digit, inf or nan" : "a value");
		p->i += 3;
		v->type = TOML_FLOAT;
		v->u.f = copysign(inf ? INFINITY : NAN, neg ? -1.0 : 1.0);
		return check_value_end(p, "float");
	}
	if (!sign && c == '0' && (peek(p, 1) == 'x' || peek(p, 1) == 'o' || peek(p, 1) == 'b'))
		return parse_radix_int(p, v, at);
	if (c == '0' && (is_digit(peek(p, 1)) || peek(p, 1) == '_'))
		return fail(p, "leading zeros are not allowed in a decimal number");
	if (scan_digits(p, 10, "a digit"))
		return AA_EINVAL;
	size_t int_digits = p->scratch.n;
	bool is_float = false;
	if (peek(p, 0) == '.') {
		is_float = true;
		aa_buf_append_byte(&p->scratch, '.');
		p->i++;
		if (scan_digits(p, 10, "a digit after the decimal point"))
			return AA_EINVAL;
	}
	if (peek(p, 0) == 'e' || peek(p, 0) == 'E') {
		is_float = true;
		aa_buf_append_byte(&p->scratch, 'e');
		p->i++;
		if (peek(p, 0) == '+' || peek(p, 0) == '-')
			aa_buf_append_byte(&p->scratch, (uint8_t)p->s[p->i++]);
		if (scan_digits(p, 10, "a digit in the exponent"))
			return AA_EINVAL;
	}
	if (check_value_end(p, is_float ? "float" : "integer"))
		return AA_EINVAL;
	if (is_float) {
		aa_buf_append_byte(&p->scratch, 0);
		/* The text is plain ASCII digits, '.', 'e' and a sign, which strtod reads fully
		 * in the C numeric locale the daemon runs in; anything less fails closed. */
		char *end;
		double d = strtod((const char *)p->scratch.p, &end);
		if (end != (char *)p->scratch.p + p->scratch.n - 1)
			return fail_at(p, at, "float could not be converted");
		if (isinf(d))
			return fail_at(p, at, "float is out of range for 64-bit floating point");
		v->type = TOML_FLOAT;
		v->u.f = neg ? -d : d;
		return 0;
	}
	uint64_t u;
	p->scratch.n = int_digits;
	if (!digits_to_u64(&p->scratch, 10, neg ? (uint64_t)INT64_MAX + 1 : INT64_MAX, &u))
		return fail_at(p, at, "integer does not fit in 64 bits");
	v->type = TOML_INTEGER;
	v->u.i = neg ? (u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u) : (int64_t)u;
	return 0;
}

/* Reads n digits at the cursor as a number; -1 (and an error) if they are not all digits. */
static int fixed_digits(struct parser *p, int n, const char *expected)
{
	int v = 0;
	for (int k = 0; k < n; k++) {
		int c = peek(p, 0);
		if (!is_digit(c)) {
			unexpected(p, expected);
			return -1;
		}
		v = v * 10 + (c - '0');
		p->i++;
	}
	return v;
}

static int expect_char(struct parser *p, char c, const char *expected)
{
	if (peek(p, 0) != c)
		return unexpected(p, expected);
	p->i++;
	return 0;
}

/* A two-digit field followed by its range check; the error points at the field. */
static int field(struct parser *p, int lo, int hi, const char *name)
{
	struct toml_pos at = here(p);
	char expected[48];
	snprintf(expected, sizeof expected, "two digits for the %s", name);
	int v = fixed_digits(p, 2, expected);
	if (v < 0)
		return -1;
	if (v < lo || v > hi) {
		fail_at(p, at, "%s %02d is out of range (%02d-%02d)", name, v, lo, hi);
		return -1;
	}
	return v;
}

static int days_in_month(int y, int m)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : days[m - 1];
}

/* full-date = YYYY-MM-DD (RFC 3339 §5.6). */
static int read_date(struct parser *p)
{
	int y = fixed_digits(p, 4, "a four-digit year");
	if (y < 0 || expect_char(p, '-', "'-' after the year"))
		return AA_EINVAL;
	int m = field(p, 1, 12, "month");
	if (m < 0 || expect_char(p, '-', "'-' after the month"))
		return AA_EINVAL;
	struct toml_pos at = here(p);
	int d = field(p, 1, 31, "day");
	if (d < 0)
		return AA_EINVAL;
	if (d > days_in_month(y, m))
		return fail_at(p, at, "day %02d does not exist in %04d-%02d", d, y, m);
	return 0;
}

/* partial-time = HH:MM:SS[.fraction]; TOML 1.0 requires the seconds. */
static int read_time(struct parser *p)
{
	if (field(p, 0, 23, "hour") < 0 || expect_char(p, ':', "':' after the hour") ||
	    field(p, 0, 59, "minute") < 0 || expect_char(p, ':', "':' after the minute") ||
	    field(p, 0, 60, "second") < 0) /* 60: RFC 3339 leap second */
		return AA_EINVAL;
	if (peek(p, 0) == '.') {
		p->i++;
		if (!is_digit(peek(p, 0)))
			return unexpected(p, "digits after '.' in the seconds");
		while (is_digit(peek(p, 0)))
			p->i++;
	}
	return 0;
}

/* time-offset = "Z" / ("+" / "-") HH:MM */
static int read_offset(struct parser *p)
{
	int c = peek(p, 0);
	if (c == 'Z' || c == 'z') {
		p->i++;
		return 0;
	}
	p->i++;
	if (field(p, 0, 23, "offset hour") < 0 ||
	    expect_char(p, ':', "':' in the UTC offset") ||
	    field(p, 0, 59, "offset minute") < 0)
		return AA_EINVAL;
	return 0;
}

/* offset date-time, local date-time, local date or local time (TOML 1.0 §Offset Date-Time
 * and after), kept as the source text. The delimiter between date and time may be T, t or a
 * space. */
static int parse_datetime(struct parser *p, struct toml_value *v)
{
	size_t start = p->i;
	const char *what = "date";
	if (peek(p, 2) == ':') {
		what = "time";
		if (read_time(p))
			return AA_EINVAL;
	} else {
		if (read_date(p))
			return AA_EINVAL;
		int c = peek(p, 0);
		if (c == 'T' || c == 't' || (c == ' ' && is_digit(peek(p, 1)))) {
			what = "date-time";
			p->i++;
			if (read_time(p))
				return AA_EINVAL;
			c = peek(p, 0);
			if ((c == 'Z' || c == 'z' || c == '+' || c == '-') && read_offset(p))
				return AA_EINVAL;
		}
	}
	if (check_value_end(p, what))
		return AA_EINVAL;
	v->type = TOML_DATETIME;
	v->u.str.len = p->i - start;
	v->u.str.s = aa_strndup(p->s + start, p->i - start);
	return 0;
}

/* A value starting with a digit is a date if it begins YYYY- and a time if it begins HH:. */
static bool looks_like_datetime(const struct parser *p)
{
	int d = 0;
	while (d < 5 && is_digit(peek(p, (size_t)d)))
		d++;
	return (d == 4 && peek(p, 4) == '-') || (d == 2 && peek(p, 2) == ':');
}

/* ---- values, arrays, inline tables ------------------------------------------------------- */

static int parse_value(struct parser *p, struct toml_value *v, int depth);
static int parse_keyval(struct parser *p, struct toml_table *t, int tdepth);

/* array = "[" values separated by "," with an optional trailing one "]"; whitespace,
 * newlines and comments may appear anywhere between elements. */
static int parse_array(struct parser *p, struct toml_value *v, int depth)
{
	if (depth > TOML_MAX_DEPTH)
		return too_deep(p, here(p));
	struct toml_array *a = aa_calloc(1, sizeof *a);
	p->i++;
	for (;;) {
		if (skip_blank(p))
			goto fail;
		if (peek(p, 0) == ']')
			break;
		if (parse_value(p, array_push(a), depth + 1))
			goto fail;
		a->n++;
		if (skip_blank(p))
			goto fail;
		int c = peek(p, 0);
		if (c == ']')
			break;
		if (c != ',') {
			unexpected(p, "',' or ']' in the array");
			goto fail;
		}
		p->i++;
	}
	p->i++;
	v->type = TOML_ARRAY;
	v->u.arr = a;
	return 0;
fail:
	array_free(a);
	return AA_EINVAL;
}

static bool at_newline(const struct parser *p)
{
	return peek(p, 0) == '\n' || (peek(p, 0) == '\r' && peek(p, 1) == '\n');
}

/* inline-table = "{" [ keyval *( "," keyval ) ] "}" on one line, no trailing comma (TOML
 * 1.0). Dotted keys inside may build sub-tables until the closing brace; then the whole
 * table is immutable. */
static int parse_inline_table(struct parser *p, struct toml_value *v, int depth)
{
	if (depth > TOML_MAX_DEPTH)
		return too_deep(p, here(p));
	struct toml_table *t = table_new(TABLE_DOTTED);
	p->i++;
	skip_ws(p);
	if (peek(p, 0) != '}') {
		for (;;) {
			if (at_newline(p)) {
				fail(p, "newlines are not allowed inside an inline table");
				goto fail;
			}
			if (parse_keyval(p, t, depth))
				goto fail;
			skip_ws(p);
			int c = peek(p, 0);
			if (c == '}')
				break;
			if (at_newline(p)) {
				fail(p, "newlines are not allowed inside an inline table");
				goto fail;
			}
			if (c != ',') {
				unexpected(p, "',' or '}' in the inline table");
				goto fail;
			}
			struct toml_pos comma = here(p);
			p->i++;
			skip_ws(p);
			if (peek(p, 0) == '}') {
				fail_at(p, comma, "a trailing comma is not allowed in an inline table");
				goto fail;
			}
		}
	}
	p->i++;
	t->flags = TABLE_INLINE;
	v->type = TOML_TABLE;
	v->u.tab = t;
	return 0;
fail:
	table_free(t);
	return AA_EINVAL;
}

/* Parses one value into *v, which owns nothing on failure. depth is the nesting level the
 * value would have (the root table is level 0). */
static int parse_value(struct parser *p, struct toml_value *v, int depth)
{
	memset(v, 0, sizeof *v);
	v->type = TOML_BOOL;
	v->pos = here(p);
	int c = peek(p, 0);
	switch (c) {
	case '"':
	case '\'':
		return parse_string(p, v);
	case '[':
		return parse_array(p, v, depth);
	case '{':
		return parse_inline_table(p, v, depth);
	case 't':
	case 'f':
		return parse_bool(p, v);
	case '+':
	case '-':
	case 'i':
	case 'n':
		return parse_number(p, v);
	default:
		if (!is_digit(c))
			return unexpected(p, "a value");
		return looks_like_datetime(p) ? parse_datetime(p, v) : parse_number(p, v);
	}
}

/* ---- key/value pairs and table headers ------------------------------------------------- */

/* Walks the dotted prefix a.b of a key a.b.c = v from table *t, creating tables as needed.
 * Dotted keys may pass through tables that dotted keys made (in this table's section) and
 * through header-implied parents, but not into a table defined by a [header], an inline
 * table, an array or a scalar (TOML 1.0 §Table). */
static int walk_dotted(struct parser *p, struct toml_table **t, int *depth, struct key_path *kp)
{
	char kb[48];
	for (int k = 0; k < kp->n - 1; k++) {
		struct key_part *part = &kp->part[k];
		struct toml_keyval *kv = table_get(p, *t, part);
		const char *name = key_for_msg(part->s, part->len, kb);
		if (!kv) {
			if (*depth + 1 > TOML_MAX_DEPTH)
				return too_deep(p, part->pos);
			*t = table_add_table(p, *t, part, TABLE_DOTTED, part->pos);
		} else if (kv->val.type != TOML_TABLE) {
			return fail_at(p, part->pos, "key '%s' is already %s (line %d, column %d) "
				       "and cannot hold more keys", name, type_article(&kv->val),
				       kv->pos.line, kv->pos.col);
		} else {
			struct toml_table *sub = kv->val.u.tab;
			if (sub->flags == TABLE_INLINE)
				return fail_at(p, part->pos, "inline table '%s' (line %d, column %d) "
					       "cannot be extended", name, kv->val.pos.line,
					       kv->val.pos.col);
			if (sub->flags == TABLE_EXPLICIT)
				return fail_at(p, part->pos, "table '%s' is defined by a header at line "
					       "%d; dotted keys cannot add to it", name,
					       kv->val.pos.line);
			sub->flags = TABLE_DOTTED;
			*t = sub;
		}
		(*depth)++;
	}
	return 0;
}

static int duplicate(struct parser *p, const struct key_part *k, const struct toml_keyval *old)
{
	char kb[48];
	return fail_at(p, k->pos, "duplicate key '%s' (already defined at line %d, column %d)",
		       key_for_msg(k->s, k->len, kb), old->pos.line, old->pos.col);
}

/* keyval = key "=" val, added to table t, which sits at nesting level tdepth. */
static int parse_keyval(struct parser *p, struct toml_table *t, int tdepth)
{
	struct key_path kp = { 0 };
	int depth = tdepth;
	int rc = parse_key(p, &kp);
	if (!rc)
		rc = expect_char(p, '=', "'=' after the key");
	if (!rc)
		rc = walk_dotted(p, &t, &depth, &kp);
	if (!rc) {
		struct key_part *last = &kp.part[kp.n - 1];
		const struct toml_keyval *old = table_get(p, t, last);
		struct toml_value val;
		skip_ws(p);
		if (old)
			rc = duplicate(p, last, old);
		else if (!(rc = parse_value(p, &val, depth + 1)))
			table_add(p, t, last, &val);
	}
	key_path_free(&kp);
	return rc;
}

/* Walks the prefix a.b of a header [a.b.c] or [[a.b.c]] from the root. Missing tables are
 * created as implicit; an array of tables stands for its last element (TOML 1.0 §Array of
 * Tables). */
static int walk_header(struct parser *p, struct key_path *kp, struct toml_table **out,
		       int *depth)
{
	struct toml_table *t = p->root;
	int d = 0;
	char kb[48];
	for (int k = 0; k < kp->n - 1; k++) {
		struct key_part *part = &kp->part[k];
		struct toml_keyval *kv = table_get(p, t, part);
		const char *name = key_for_msg(part->s, part->len, kb);
		if (!kv) {
			if (d + 1 > TOML_MAX_DEPTH)
				return too_deep(p, part->pos);
			t = table_add_table(p, t, part, TABLE_IMPLICIT, part->pos);
			d++;
		} else if (kv->val.type == TOML_TABLE && kv->val.u.tab->flags != TABLE_INLINE) {
			t = kv->val.u.tab;
			d++;
		} else if (kv->val.type == TOML_ARRAY && (kv->val.u.arr->flags & ARRAY_OF_TABLES)) {
			struct toml_array *a = kv->val.u.arr;
			t = a->items[a->n - 1].u.tab;
			d += 2;
		} else if (kv->val.type == TOML_TABLE) {
			return fail_at(p, part->pos, "inline table '%s' (line %d, column %d) cannot "
				       "be extended", name, kv->val.pos.line, kv->val.pos.col);
		} else {
			return fail_at(p, part->pos, "key '%s' is already %s (line %d, column %d), "
				       "not a table", name, type_article(&kv->val), kv->pos.line,
				       kv->pos.col);
		}
	}
	*out = t;
	*depth = d;
	return 0;
}

/* [a.b.c]: defines table c once. An implicit table may be defined now; one made by dotted
 * keys, an inline table or one already defined may not. */
static int open_table(struct parser *p, struct key_path *kp, struct toml_pos at)
{
	struct toml_table *parent;
	int d;
	if (walk_header(p, kp, &parent, &d))
		return AA_EINVAL;
	struct key_part *last = &kp->part[kp->n - 1];
	struct toml_keyval *kv = table_get(p, parent, last);
	char kb[48];
	const char *name = key_for_msg(last->s, last->len, kb);
	if (!kv) {
		if (d + 1 > TOML_MAX_DEPTH)
			return too_deep(p, last->pos);
		p->cur = table_add_table(p, parent, last, TABLE_EXPLICIT, at);
	} else if (kv->val.type == TOML_TABLE && kv->val.u.tab->flags == TABLE_IMPLICIT) {
		kv->val.u.tab->flags = TABLE_EXPLICIT;
		kv->val.pos = at;
		p->cur = kv->val.u.tab;
	} else if (kv->val.type == TOML_TABLE) {
		switch (kv->val.u.tab->flags) {
		case TABLE_DOTTED:
			return fail_at(p, last->pos, "table '%s' was already created by dotted keys "
				       "(line %d, column %d)", name, kv->pos.line, kv->pos.col);
		case TABLE_INLINE:
			return fail_at(p, last->pos, "table '%s' was already defined as an inline "
				       "table (line %d, column %d)", name, kv->val.pos.line,
				       kv->val.pos.col);
		default:
			return fail_at(p, last->pos, "table '%s' is defined twice (first at line "
				       "%d, column %d)", name, kv->val.pos.line, kv->val.pos.col);
		}
	} else {
		return fail_at(p, last->pos, "key '%s' is already %s (line %d, column %d), not a "
			       "table", name, type_article(&kv->val), kv->pos.line, kv->pos.col);
	}
	p->cur_depth = d + 1;
	return 0;
}

/* [[a.b.c]]: appends a new table to the array of tables c, creating it if absent. A static
 * array (c = [ ... ]) cannot be appended to this way. */
static int open_array_table(struct parser *p, struct key_path *kp, struct toml_pos at)
{
	struct toml_table *parent;
	int d;
	if (walk_header(p, kp, &parent, &d))
		return AA_EINVAL;
	struct key_part *last = &kp->part[kp->n - 1];
	struct toml_keyval *kv = table_get(p, parent, last);
	struct toml_array *a;
	char kb[48];
	const char *name = key_for_msg(last->s, last->len, kb);
	if (!kv) {
		if (d + 2 > TOML_MAX_DEPTH)
			return too_deep(p, last->pos);
		struct toml_value v = { .type = TOML_ARRAY, .pos = at };
		v.u.arr = aa_calloc(1, sizeof *v.u.arr);
		v.u.arr->flags = ARRAY_OF_TABLES;
		table_add(p, parent, last, &v);
		a = v.u.arr;
	} else if (kv->val.type == TOML_ARRAY && (kv->val.u.arr->flags & ARRAY_OF_TABLES)) {
		a = kv->val.u.arr;
	} else if (kv->val.type == TOML_ARRAY) {
		return fail_at(p, last->pos, "cannot append to static array '%s' (line %d, column "
			       "%d) with [[...]]", name, kv->pos.line, kv->pos.col);
	} else {
		return fail_at(p, last->pos, "key '%s' is already %s (line %d, column %d), not an "
			       "array of tables", name, type_article(&kv->val), kv->pos.line,
			       kv->pos.col);
	}
	struct toml_value *elem = array_push(a);
	elem->type = TOML_TABLE;
	elem->pos = at;
	elem->u.tab = table_new(TABLE_EXPLICIT);
	a->n++;
	p->cur = elem->u.tab;
	p->cur_depth = d + 2;
	return 0;
}

/* std-table = "[" ws key ws "]" / array-table = "[[" ws key ws "]]" */
static int parse_header(struct parser *p)
{
	struct toml_pos at = here(p);
	bool aot = peek(p, 1) == '[';
	struct key_path kp = { 0 };
	p->i += aot ? 2 : 1;
	skip_ws(p);
	int rc = parse_key(p, &kp);
	/* The closing brackets of [[a]] must be adjacent, as the opening ones must. */
	for (int k = 0; !rc && k < (aot ? 2 : 1); k++) {
		if (peek(p, 0) == ']')
			p->i++;
		else
			rc = unexpected(p, aot ? "']]' to close the header" : "']' to close the header");
	}
	if (!rc)
		rc = aot ? open_array_table(p, &kp, at) : open_table(p, &kp, at);
	key_path_free(&kp);
	return rc;
}

static int parse_document(struct parser *p)
{
	for (;;) {
		skip_ws(p);
		if (p->i >= p->len)
			return 0;
		int c = peek(p, 0);
		const char *after = "the comment";
		if (c == '[') {
			if (parse_header(p))
				return AA_EINVAL;
			after = "the table header";
		} else if (c != '#' && !at_newline(p)) {
			if (parse_keyval(p, p->cur, p->cur_depth))
				return AA_EINVAL;
			after = "the value";
		}
		if (expect_line_end(p, after))
			return AA_EINVAL;
	}
}

/* ---- public ------------------------------------------------------------------------------ */

int toml_parse(const char *text, size_t len, struct toml_table **out, struct toml_error *err)
{
	struct toml_error dummy;
	if (!err)
		err = &dummy;
	memset(err, 0, sizeof *err);
	*out = NULL;
	if (len > TOML_MAX_INPUT) {
		err->pos.line = err->pos.col = 1;
		snprintf(err->msg, sizeof err->msg, "input is larger than %u bytes", TOML_MAX_INPUT);
		return AA_EINVAL;
	}
	if (!text)
		text = "", len = 0;
	/* A UTF-8 byte order mark is allowed at the start and is not part of the document. */
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		text += 3, len -= 3;
	struct parser p = { .s = text, .len = len, .line = 1, .err = err };
	aa_buf_init(&p.scratch);
	p.root = table_new(TABLE_EXPLICIT);
	p.cur = p.root;
	int rc = parse_document(&p);
	free(p.index.slots);
	aa_buf_free(&p.scratch);
	if (rc) {
		table_free(p.root);
		return AA_EINVAL;
	}
	*out = p.root;
	return 0;
}

void toml_free(struct toml_table *root)
{
	table_free(root);
}

const struct toml_keyval *toml_table_findn(const struct toml_table *t, const char *key,
					   size_t len)
{
	if (!t || !key)
		return NULL;
	for (size_t k = 0; k < t->n; k++)
		if (t->items[k].keylen == len && memcmp(t->items[k].key, key, len) == 0)
			return &t->items[k];
	return NULL;
}

const struct toml_keyval *toml_table_find(const struct toml_table *t, const char *key)
{
	return key ? toml_table_findn(t, key, strlen(key)) : NULL;
}

const struct toml_value *toml_table_get_path(const struct toml_table *t, const char *path)
{
	if (!t || !path)
		return NULL;
	for (;;) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);
		const struct toml_keyval *kv = toml_table_findn(t, path, n);
		if (!kv)
			return NULL;
		if (!dot)
			return &kv->val;
		if (kv->val.type != TOML_TABLE)
			return NULL;
		t = kv->val.u.tab;
		path = dot + 1;
	}
}

bool toml_array_is_table_array(const struct toml_array *a)
{
	return a && (a->flags & ARRAY_OF_TABLES);
}

const char *toml_type_name(enum toml_type t)
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
	return "unknown";
}
