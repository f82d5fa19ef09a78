/* config: defaults, validating setters, provenance, checks of the whole, and the load
 * sequence (REFERENCE.md H, DECISIONS.md 11). The key table and per-value checks live in
 * config_keys.c; the layers in config_file.c, config_env.c and config_flags.c. */
#include "config/config.h"

#include <errno.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/mem.h"
#include "config/config_impl.h"

/* toml_parse refuses more too; a bigger file is rejected before it is parsed. */
#define CONFIG_FILE_MAX (16u << 20)

static void *field(struct aa_config *cfg, int key)
{
	return (char *)cfg + aa_config__keys[key].offset;
}

static const void *cfield(const struct aa_config *cfg, int key)
{
	return (const char *)cfg + aa_config__keys[key].offset;
}

/* ---- home directory and ~ ----------------------------------------------------------------- */

/* $HOME when set and non-empty, else the password database, as Go's os.UserHomeDir and
 * the shell do. */
static const char *home_dir(void)
{
	const char *h = getenv("HOME");
	if (h && *h)
		return h;
	struct passwd *pw = getpwuid(getuid());
	if (pw && pw->pw_dir && *pw->pw_dir)
		return pw->pw_dir;
	return NULL;
}

int aa_config__expand_home(const char *in, char **out)
{
	/* Only "~" and "~/rest" (DECISIONS.md 11); "~user" forms are left alone. */
	if (in[0] == '~' && (in[1] == '\0' || in[1] == '/')) {
		const char *h = home_dir();
		if (!h)
			return AA_ECONFIG;
		size_t hl = strlen(h);
		/* A home of "/" must not give "//x"; "~" alone then still means "/". */
		while (hl > 0 && h[hl - 1] == '/')
			hl--;
		if (hl == 0 && in[1] == '\0')
			*out = aa_strdup("/");
		else
			*out = aa_sprintf("%.*s%s", (int)hl, h, in + 1);
		return 0;
	}
	*out = aa_strdup(in);
	return 0;
}

/* ---- origins and messages ----------------------------------------------------------------- */

static char *origin_text(const struct aa_config__origin *o)
{
	if (!o)
		return aa_strdup("built-in default");
	switch (o->from) {
	case CFG_FROM_FILE:
		return aa_sprintf("%s:%d:%d", o->name, o->pos.line, o->pos.col);
	case CFG_FROM_ENV:
		return aa_sprintf("environment %s", o->name);
	case CFG_FROM_FLAG:
		return aa_sprintf("flag --%s", o->name);
	}
	return aa_strdup("?");
}

void aa_config__set_origin(struct aa_config *cfg, int key, const struct aa_config__origin *o)
{
	if (!cfg->origins_)
		return;
	free(cfg->origins_[key]);
	cfg->origins_[key] = o ? origin_text(o) : NULL;
}

static int fail_at(struct aa_config_result *res, const char *where, const char *key,
	const char *fmt, va_list ap)
{
	char why[768];
	vsnprintf(why, sizeof why, fmt, ap);
	if (key)
		snprintf(res->message, sizeof res->message, "%s: key '%s': %s", where, key, why);
	else
		snprintf(res->message, sizeof res->message, "%s: %s", where, why);
	return AA_ECONFIG;
}

int aa_config__fail(struct aa_config_result *res, const struct aa_config__origin *o,
	const char *key, const char *fmt, ...)
{
	char *where = origin_text(o);
	va_list ap;
	va_start(ap, fmt);
	int rc = fail_at(res, where, key, fmt, ap);
	va_end(ap);
	free(where);
	return rc;
}

/* For checks of the final combination: cite the origin recorded for `key`. */
static int fail_key(const struct aa_config *cfg, struct aa_config_result *res, const char *key,
	const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail_key(const struct aa_config *cfg, struct aa_config_result *res, const char *key,
	const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = fail_at(res, aa_config_source(cfg, key), key, fmt, ap);
	va_end(ap);
	return rc;
}

void aa_config__warn(struct aa_config_result *res, const char *fmt, ...)
{
	size_t used = strlen(res->warnings);
	if (used + 2 >= sizeof res->warnings)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	size_t ll = strlen(line);
	if (used + (used ? 1 : 0) + ll >= sizeof res->warnings)
		return; /* a cut line would mislead more than a missing one */
	if (used)
		res->warnings[used++] = '\n';
	memcpy(res->warnings + used, line, ll + 1);
}

/* ---- setters ------------------------------------------------------------------------------ */

static void free_duration(struct aa_config_duration *d)
{
	free(d->text);
	d->text = NULL;
	d->ns = 0;
}

void aa_config__free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void free_list(struct aa_config_list *l)
{
	aa_config__free_strv(l->items, l->n);
	l->items = NULL;
	l->n = 0;
}

int aa_config__set_text(struct aa_config *cfg, int key, const char *text,
	const struct aa_config__origin *o, struct aa_config_result *res)
{
	const struct aa_config__key *k = &aa_config__keys[key];
	char why[768];
	why[0] = '\0';

	if (k->kind == CFG_DURATION) {
		uint64_t ns;
		if (aa_duration_parse(text, &ns) < 0)
			return aa_config__fail(res, o, k->name,
				"invalid duration \"%s\" (want e.g. \"30s\", \"5m\", \"24h\")", text);
		if (ns < (uint64_t)k->min)
			return aa_config__fail(res, o, k->name, "duration must be greater than 0");
		struct aa_config_duration *d = field(cfg, key);
		free_duration(d);
		d->ns = ns;
		d->text = aa_strdup(text);
		aa_config__set_origin(cfg, key, o);
		return 0;
	}
	if (k->kind != CFG_STRING && k->kind != CFG_PATH)
		return aa_config__fail(res, o, k->name, "internal error: not a text setting");

	char *v;
	if (k->kind == CFG_PATH) {
		if (aa_config__expand_home(text, &v) < 0)
			return aa_config__fail(res, o, k->name,
				"cannot expand \"~\": no home directory (set HOME)");
	} else {
		v = aa_strdup(text);
	}
	if (k->check && k->check(&v, why, sizeof why) < 0) {
		free(v);
		return aa_config__fail(res, o, k->name, "%s", why);
	}
	char **slot = field(cfg, key);
	free(*slot);
	*slot = v;
	aa_config__set_origin(cfg, key, o);
	return 0;
}

int aa_config__set_bool(struct aa_config *cfg, int key, bool v, const struct aa_config__origin *o)
{
	*(bool *)field(cfg, key) = v;
	aa_config__set_origin(cfg, key, o);
	return 0;
}

int aa_config__set_int(struct aa_config *cfg, int key, int64_t v,
	const struct aa_config__origin *o, struct aa_config_result *res)
{
	const struct aa_config__key *k = &aa_config__keys[key];
	if (v < k->min || v > k->max)
		return aa_config__fail(res, o, k->name, "%lld is out of range %lld..%lld",
			(long long)v, (long long)k->min, (long long)k->max);
	*(int64_t *)field(cfg, key) = v;
	aa_config__set_origin(cfg, key, o);
	return 0;
}

int aa_config__set_float(struct aa_config *cfg, int key, double v,
	const struct aa_config__origin *o, struct aa_config_result *res)
{
	const struct aa_config__key *k = &aa_config__keys[key];
	/* The only float setting is telemetry.sample_rate, a probability. */
	if (!isfinite(v) || v < 0.0 || v > 1.0)
		return aa_config__fail(res, o, k->name, "%g is out of range 0.0..1.0", v);
	*(double *)field(cfg, key) = v;
	aa_config__set_origin(cfg, key, o);
	return 0;
}

int aa_config__set_list(struct aa_config *cfg, int key, const char *const *items,
	const struct toml_pos *item_pos, size_t n, const struct aa_config__origin *o,
	struct aa_config_result *res)
{
	const struct aa_config__key *k = &aa_config__keys[key];
	char **copy = aa_calloc(n ? n : 1, sizeof *copy);
	char why[768];
	for (size_t i = 0; i < n; i++) {
		copy[i] = aa_strdup(items[i]);
		if (k->check && k->check(&copy[i], why, sizeof why) < 0) {
			struct aa_config__origin io = *o;
			if (o->from == CFG_FROM_FILE && item_pos)
				io.pos = item_pos[i];
			aa_config__free_strv(copy, i + 1);
			return aa_config__fail(res, &io, k->name, "%s", why);
		}
	}
	struct aa_config_list *l = field(cfg, key);
	free_list(l);
	l->items = copy;
	l->n = n;
	aa_config__set_origin(cfg, key, o);
	return 0;
}

size_t aa_config__split_list(const char *s, char ***out)
{
	size_t cap = 1;
	for (const char *p = s; *p; p++)
		cap += *p == ',';
	char **v = aa_calloc(cap, sizeof *v);
	size_t n = 0;
	const char *p = s;
	for (;;) {
		const char *end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		const char *a = p, *b = end;
		while (a < b && (*a == ' ' || *a == '\t' || *a == '\n' || *a == '\r'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\n' || b[-1] == '\r'))
			b--;
		if (b > a)
			v[n++] = aa_strndup(a, (size_t)(b - a));
		if (*end == '\0')
			break;
		p = end + 1;
	}
	*out = v;
	return n;
}

/* ---- defaults, free ----------------------------------------------------------------------- */

static void set_list_literal(struct aa_config_list *l, const char *const *items, size_t n)
{
	l->items = aa_calloc(n ? n : 1, sizeof *l->items);
	for (size_t i = 0; i < n; i++)
		l->items[i] = aa_strdup(items[i]);
	l->n = n;
}

static void set_duration_literal(struct aa_config_duration *d, const char *text)
{
	/* Literals below are known-good; a parse failure here is a programming error. */
	if (aa_duration_parse(text, &d->ns) < 0)
		abort();
	d->text = aa_strdup(text);
}

int aa_config_defaults(struct aa_config *cfg, struct aa_config_result *res)
{
	memset(cfg, 0, sizeof *cfg);
	const char *home = home_dir();
	if (!home) {
		snprintf(res->message, sizeof res->message,
			"cannot determine the home directory for default paths (set HOME)");
		return AA_ECONFIG;
	}
	cfg->origins_ = aa_calloc(aa_config__nkeys, sizeof *cfg->origins_);
	char *base;
	if (aa_config__expand_home("~/.agentanycast", &base) < 0)
		abort(); /* home_dir() just answered */

	/* REFERENCE.md H.2, except listen_addrs: TCP on IPv4 and IPv6, no QUIC yet. */
	cfg->config_path = aa_sprintf("%s/config.toml", base);
	cfg->key_path = aa_sprintf("%s/key", base);
	static const char *const listen[] = { "/ip4/0.0.0.0/tcp/0", "/ip6/::/tcp/0" };
	set_list_literal(&cfg->listen_addrs, listen, 2);
	cfg->grpc_listen = aa_sprintf("unix://%s/daemon.sock", base);
	set_list_literal(&cfg->bootstrap_peers, NULL, 0);
	cfg->enable_relay_client = true;
	cfg->enable_hole_punching = true;
	cfg->enable_quic = true;
	cfg->enable_webtransport = false;
	cfg->enable_mdns = true;
	cfg->store_path = aa_sprintf("%s/data", base);
	set_duration_literal(&cfg->offline_queue_ttl, "24h"); /* DECISIONS.md 4 */
	cfg->log_level = aa_strdup("info");
	cfg->log_format = aa_strdup("json");

	cfg->bridge.listen = aa_strdup(":8080");
	cfg->bridge.tls_cert = aa_strdup("");
	cfg->bridge.tls_key = aa_strdup("");
	static const char *const cors[] = { "*" };
	set_list_literal(&cfg->bridge.cors_origins, cors, 1);

	cfg->anycast.routing_strategy = aa_strdup("random");
	set_duration_literal(&cfg->anycast.cache_ttl, "30s");
	cfg->anycast.auto_register = true;
	cfg->anycast.registry_addr = aa_strdup("");
	set_list_literal(&cfg->anycast.registry_addrs, NULL, 0);
	cfg->anycast.dht_mode = aa_strdup("");

	cfg->metrics.listen = aa_strdup(":9090");
	cfg->mcp.listen = aa_strdup(":3000");
	cfg->anp.listen = aa_strdup(":8090");
	cfg->identity.did_web = aa_strdup("");
	cfg->identity.did_dns_domain = aa_strdup("");

	cfg->telemetry.otlp_endpoint = aa_strdup("");
	cfg->telemetry.sample_rate = 1.0;
	cfg->telemetry.insecure = true;

	cfg->transport.nats.broker = aa_strdup("");
	cfg->transport.nats.subject_prefix = aa_strdup("");
	cfg->transport.nats.auth_user = aa_strdup("");
	cfg->transport.nats.auth_pass = aa_strdup("");
	cfg->transport.nats.tls_cert_file = aa_strdup("");
	cfg->transport.nats.tls_key_file = aa_strdup("");

	cfg->policy.audit_log_path = aa_strdup("");
	cfg->policy.rate_limit.default_rps = 0; /* the reference's code default (H.2) */

	cfg->limits.max_connections = 1024;
	cfg->limits.max_pending_handshakes = 128;
	cfg->limits.max_streams_per_conn = 1024;
	cfg->limits.max_inbound_streams_pending = 256;
	cfg->limits.conn_rate_per_ip = 0;
	set_duration_literal(&cfg->limits.handshake_timeout, "10s");
	set_duration_literal(&cfg->limits.idle_timeout, "5m");
	set_duration_literal(&cfg->limits.dial_timeout, "10s");
	cfg->limits.yamux_max_window = 16777216;
	cfg->limits.max_message_size = 16777216;
	cfg->limits.max_conn_buffer = 64 * 1024 * 1024;
	cfg->limits.max_buffer_total = 256 * 1024 * 1024;

	cfg->cli.mcp_proxy = aa_strdup("");
	cfg->cli.transport = aa_strdup("");
	cfg->cli.namespace = aa_strdup("");
	free(base);
	return 0;
}

void aa_config__free_acl(struct aa_config_acl_rule *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(r[i].source);
		free(r[i].skill);
	}
	free(r);
}

void aa_config__free_overrides(struct aa_config_rate_override *o, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(o[i].source);
	free(o);
}

void aa_config_free(struct aa_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < aa_config__nkeys; i++) {
		int key = (int)i;
		switch (aa_config__keys[i].kind) {
		case CFG_STRING:
		case CFG_PATH:
			free(*(char **)field(cfg, key));
			break;
		case CFG_DURATION:
			free_duration(field(cfg, key));
			break;
		case CFG_LIST:
			free_list(field(cfg, key));
			break;
		case CFG_ACL:
			aa_config__free_acl(cfg->policy.acl, cfg->policy.n_acl);
			break;
		case CFG_OVERRIDES:
			aa_config__free_overrides(cfg->policy.rate_limit.overrides,
				cfg->policy.rate_limit.n_overrides);
			break;
		case CFG_BOOL:
		case CFG_INT:
		case CFG_FLOAT:
			break;
		}
	}
	if (cfg->origins_)
		aa_config__free_strv(cfg->origins_, aa_config__nkeys);
	free(cfg->config_path);
	memset(cfg, 0, sizeof *cfg);
}

/* ---- reporting ---------------------------------------------------------------------------- */

const char *aa_config_source(const struct aa_config *cfg, const char *key)
{
	int k = aa_config__key_find(key);
	if (k < 0)
		return NULL;
	if (cfg->origins_ && cfg->origins_[k])
		return cfg->origins_[k];
	return "default";
}

char *aa_config__value_text(const struct aa_config *cfg, int key)
{
	const void *f = cfield(cfg, key);
	switch (aa_config__keys[key].kind) {
	case CFG_STRING:
	case CFG_PATH: {
		const char *s = *(char *const *)f;
		return aa_strdup(s ? s : "");
	}
	case CFG_BOOL:
		return aa_strdup(*(const bool *)f ? "true" : "false");
	case CFG_INT:
		return aa_sprintf("%lld", (long long)*(const int64_t *)f);
	case CFG_FLOAT:
		return aa_sprintf("%g", *(const double *)f);
	case CFG_DURATION: {
		const struct aa_config_duration *d = f;
		return aa_strdup(d->text ? d->text : "");
	}
	case CFG_LIST: {
		const struct aa_config_list *l = f;
		size_t len = 1;
		for (size_t i = 0; i < l->n; i++)
			len += strlen(l->items[i]) + 2;
		char *s = aa_malloc(len);
		s[0] = '\0';
		for (size_t i = 0; i < l->n; i++) {
			if (i)
				strcat(s, ", ");
			strcat(s, l->items[i]);
		}
		return s;
	}
	case CFG_ACL:
		return aa_sprintf("%zu rule(s)", cfg->policy.n_acl);
	case CFG_OVERRIDES:
		return aa_sprintf("%zu override(s)", cfg->policy.rate_limit.n_overrides);
	}
	return aa_strdup("");
}

void aa_config_dump(const struct aa_config *cfg, FILE *out)
{
	fprintf(out, "# config file: %s (%s)\n", cfg->config_path ? cfg->config_path : "",
		cfg->config_loaded ? "read" : "absent");
	for (size_t i = 0; i < aa_config__nkeys; i++) {
		int key = (int)i;
		char *v = aa_config__value_text(cfg, key);
		/* Secrets stay out of logs and terminals. */
		if (strcmp(aa_config__keys[i].name, "transport.nats.auth_pass") == 0 && *v) {
			free(v);
			v = aa_strdup("********");
		}
		fprintf(out, "%s = %s  # %s\n", aa_config__keys[i].name, v,
			aa_config_source(cfg, aa_config__keys[i].name));
		free(v);
	}
	for (size_t i = 0; i < cfg->policy.n_acl; i++)
		fprintf(out, "policy.acl[%zu] = source %s, skill %s, %s\n", i,
			cfg->policy.acl[i].source, cfg->policy.acl[i].skill,
			cfg->policy.acl[i].allow ? "allow" : "deny");
	for (size_t i = 0; i < cfg->policy.rate_limit.n_overrides; i++)
		fprintf(out, "policy.rate_limit.overrides[%zu] = source %s, rps %lld\n", i,
			cfg->policy.rate_limit.overrides[i].source,
			(long long)cfg->policy.rate_limit.overrides[i].rps);
}

/* ---- checks of the combination ------------------------------------------------------------ */

/* Splits a validated HOST:PORT into its host (brackets kept) and port. */
static void split_hostport(const char *s, char *host, size_t host_cap, long *port)
{
	const char *colon = strrchr(s, ':');
	size_t hl = colon ? (size_t)(colon - s) : 0;
	if (hl >= host_cap)
		hl = host_cap - 1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	*port = colon ? strtol(colon + 1, NULL, 10) : 0;
}

static bool is_wildcard_host(const char *h)
{
	return !*h || strcmp(h, "0.0.0.0") == 0 || strcmp(h, "[::]") == 0;
}

/* Two enabled HTTP listeners on the same port where either listens on all addresses (or
 * both on the same host) cannot both bind. Port 0 picks a free port, so it never clashes.
 * The reference checks only bridge vs ANP (REFERENCE.md H.1); we check every pair. */
static bool listeners_clash(const char *a, const char *b)
{
	char ha[300], hb[300];
	long pa, pb;
	split_hostport(a, ha, sizeof ha, &pa);
	split_hostport(b, hb, sizeof hb, &pb);
	if (pa == 0 || pa != pb)
		return false;
	return strcmp(ha, hb) == 0 || is_wildcard_host(ha) || is_wildcard_host(hb);
}

static int check_combination(const struct aa_config *cfg, struct aa_config_result *res)
{
	if (*cfg->bridge.tls_cert && !*cfg->bridge.tls_key)
		return fail_key(cfg, res, "bridge.tls_cert", "set without bridge.tls_key");
	if (*cfg->bridge.tls_key && !*cfg->bridge.tls_cert)
		return fail_key(cfg, res, "bridge.tls_key", "set without bridge.tls_cert");
	const struct aa_config *c = cfg;
	if (*c->transport.nats.tls_cert_file && !*c->transport.nats.tls_key_file)
		return fail_key(cfg, res, "transport.nats.tls_cert_file",
			"set without transport.nats.tls_key_file");
	if (*c->transport.nats.tls_key_file && !*c->transport.nats.tls_cert_file)
		return fail_key(cfg, res, "transport.nats.tls_key_file",
			"set without transport.nats.tls_cert_file");
	if (c->transport.nats.enabled && !*c->transport.nats.broker)
		return fail_key(cfg, res, "transport.nats.enabled",
			"NATS transport enabled without transport.nats.broker");

	const struct {
		const char *name;
		bool enabled;
		const char *listen;
	} http[] = {
		{ "bridge.listen", c->bridge.enabled, c->bridge.listen },
		{ "anp.listen", c->anp.enabled, c->anp.listen },
		{ "mcp.listen", c->mcp.enabled, c->mcp.listen },
		{ "metrics.listen", c->metrics.enabled, c->metrics.listen },
	};
	size_t nh = sizeof http / sizeof http[0];
	for (size_t i = 0; i < nh; i++)
		for (size_t j = i + 1; j < nh; j++) {
			if (!http[i].enabled || !http[j].enabled)
				continue;
			if (listeners_clash(http[i].listen, http[j].listen))
				return fail_key(cfg, res, http[j].name,
					"\"%s\" clashes with %s \"%s\" (from %s); both are enabled",
					http[j].listen, http[i].name, http[i].listen,
					aa_config_source(cfg, http[i].name));
		}
	return 0;
}

/* ---- loading ------------------------------------------------------------------------------ */

/* Reads the whole file; AA_ENOENT when it does not exist, AA_ETOOBIG past CONFIG_FILE_MAX,
 * AA_EIO with errno otherwise. */
static int read_file(const char *path, char **text, size_t *len, int *err)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		*err = errno;
		return errno == ENOENT ? AA_ENOENT : AA_EIO;
	}
	size_t cap = 4096, n = 0;
	char *buf = aa_malloc(cap + 1);
	int rc = 0;
	for (;;) {
		if (n == cap) {
			if (cap > CONFIG_FILE_MAX) {
				rc = AA_ETOOBIG;
				break;
			}
			cap = cap * 2 > CONFIG_FILE_MAX ? CONFIG_FILE_MAX + 1 : cap * 2;
			buf = aa_realloc(buf, cap + 1);
		}
		size_t got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (got == 0)
			break;
	}
	if (rc == 0 && ferror(f)) {
		*err = errno ? errno : EIO;
		rc = AA_EIO;
	}
	fclose(f);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

static int load_file(struct aa_config *cfg, const struct aa_config__argv *a,
	struct aa_config_result *res)
{
	bool explicit = a->config_path != NULL;
	if (explicit) {
		char *p;
		struct aa_config__origin o = { CFG_FROM_FLAG, "config", { 0, 0 } };
		if (*a->config_path == '\0')
			return aa_config__fail(res, &o, NULL, "empty configuration file path");
		if (aa_config__expand_home(a->config_path, &p) < 0)
			return aa_config__fail(res, &o, NULL,
				"cannot expand \"~\": no home directory (set HOME)");
		free(cfg->config_path);
		cfg->config_path = p;
	}
	char *text = NULL;
	size_t len = 0;
	int err = 0;
	int rc = read_file(cfg->config_path, &text, &len, &err);
	if (rc == AA_ENOENT && !explicit)
		return 0; /* REFERENCE.md H.1: a missing default file is fine */
	if (rc == AA_ETOOBIG) {
		snprintf(res->message, sizeof res->message, "%s: larger than %u bytes",
			cfg->config_path, CONFIG_FILE_MAX);
		return AA_ECONFIG;
	}
	if (rc < 0) {
		if (explicit)
			snprintf(res->message, sizeof res->message, "flag --config: cannot read %s: %s",
				cfg->config_path, strerror(err));
		else
			snprintf(res->message, sizeof res->message, "%s: cannot read: %s",
				cfg->config_path, strerror(err));
		return AA_ECONFIG;
	}
	struct toml_table *root = NULL;
	struct toml_error terr;
	memset(&terr, 0, sizeof terr);
	rc = toml_parse(text, len, &root, &terr);
	free(text);
	if (rc < 0) {
		snprintf(res->message, sizeof res->message, "%s:%d:%d: %s", cfg->config_path,
			terr.pos.line, terr.pos.col, terr.msg);
		return AA_ECONFIG;
	}
	cfg->config_loaded = true;
	rc = aa_config__apply_file(cfg, root, cfg->config_path, res);
	toml_free(root);
	return rc;
}

int aa_config_load(struct aa_config *cfg, int argc, char **argv, int *first_positional,
	struct aa_config_result *res)
{
	memset(res, 0, sizeof *res);
	memset(cfg, 0, sizeof *cfg);
	struct aa_config__argv a;
	int rc = aa_config__parse_argv(argc, argv, &a, res);
	if (first_positional)
		*first_positional = rc == 0 ? a.first_positional : argc;
	if (rc < 0)
		return rc;
	if (a.help) {
		aa_config_usage(stdout);
		fflush(stdout);
		res->exit_now = true;
		aa_config__argv_free(&a);
		return 0;
	}
	if (a.version) {
		printf("agentanycastd %s\n", AA_VERSION);
		fflush(stdout);
		res->exit_now = true;
		aa_config__argv_free(&a);
		return 0;
	}
	rc = aa_config_defaults(cfg, res);
	if (rc == 0)
		rc = load_file(cfg, &a, res);
	if (rc == 0)
		rc = aa_config__apply_env(cfg, res);
	if (rc == 0)
		rc = aa_config__apply_flags(cfg, &a, res);
	if (rc == 0)
		rc = check_combination(cfg, res);
	aa_config__argv_free(&a);
	if (rc < 0)
		aa_config_free(cfg);
	return rc;
}
