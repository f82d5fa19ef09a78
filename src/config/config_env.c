/* config_env: AGENTANYCAST_* environment variables, with the reference's semantics
 * (REFERENCE.md H.3): an unset or empty variable changes nothing; comma lists are trimmed,
 * empty entries dropped, and replace the configured list only when something remains;
 * AGENTANYCAST_ENABLE_MDNS can only disable; boolean variables take true/1/false/0 and ignore
 * anything else; AGENTANYCAST_SAMPLE_RATE is ignored when it is not a number. We add
 * AGENTANYCAST_METRICS_LISTEN (documented by the reference, never implemented there) and
 * AGENTANYCAST_LOG_FORMAT. Values that are taken are validated like any other. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "config/config_impl.h"

enum env_action {
	ENV_SET,            /* text setting */
	ENV_LIST,           /* comma list */
	ENV_SET_AND_ENABLE, /* text setting, and its table's `enabled` becomes true */
	ENV_BOOL,           /* true/1 or false/0 */
	ENV_DISABLE_ONLY,   /* false/0 sets false; nothing sets true */
	ENV_FLOAT,          /* a number, ignored when unparsable */
};

static const struct env_var {
	const char *name;
	enum env_action action;
	const char *key;
	const char *enable_key;
} env_vars[] = {
	{ "AGENTANYCAST_KEY_PATH", ENV_SET, "key_path", NULL },
	{ "AGENTANYCAST_GRPC_LISTEN", ENV_SET, "grpc_listen", NULL },
	{ "AGENTANYCAST_LOG_LEVEL", ENV_SET, "log_level", NULL },
	{ "AGENTANYCAST_LOG_FORMAT", ENV_SET, "log_format", NULL },
	{ "AGENTANYCAST_STORE_PATH", ENV_SET, "store_path", NULL },
	{ "AGENTANYCAST_BOOTSTRAP_PEERS", ENV_LIST, "bootstrap_peers", NULL },
	{ "AGENTANYCAST_ENABLE_MDNS", ENV_DISABLE_ONLY, "enable_mdns", NULL },
	{ "AGENTANYCAST_REGISTRY_ADDRS", ENV_LIST, "anycast.registry_addrs", NULL },
	{ "AGENTANYCAST_MCP_LISTEN", ENV_SET_AND_ENABLE, "mcp.listen", "mcp.enabled" },
	{ "AGENTANYCAST_METRICS_LISTEN", ENV_SET_AND_ENABLE, "metrics.listen", "metrics.enabled" },
	{ "AGENTANYCAST_ANP_LISTEN", ENV_SET, "anp.listen", NULL },
	{ "AGENTANYCAST_ANP_ENABLED", ENV_BOOL, "anp.enabled", NULL },
	{ "AGENTANYCAST_DID_WEB", ENV_SET, "identity.did_web", NULL },
	{ "AGENTANYCAST_DID_DNS_DOMAIN", ENV_SET, "identity.did_dns_domain", NULL },
	{ "AGENTANYCAST_OTLP_ENDPOINT", ENV_SET, "telemetry.otlp_endpoint", NULL },
	{ "AGENTANYCAST_TELEMETRY_ENABLED", ENV_BOOL, "telemetry.enabled", NULL },
	{ "AGENTANYCAST_SAMPLE_RATE", ENV_FLOAT, "telemetry.sample_rate", NULL },
	{ "AGENTANYCAST_NATS_ENABLED", ENV_BOOL, "transport.nats.enabled", NULL },
	{ "AGENTANYCAST_NATS_BROKER", ENV_SET, "transport.nats.broker", NULL },
	{ "AGENTANYCAST_NATS_SUBJECT_PREFIX", ENV_SET, "transport.nats.subject_prefix", NULL },
};

static int apply_one(struct aa_config *cfg, const struct env_var *e, const char *v,
	struct aa_config_result *res)
{
	struct aa_config__origin o = { CFG_FROM_ENV, e->name, { 0, 0 } };
	int key = aa_config__key_find(e->key);
	int rc = 0;
	switch (e->action) {
	case ENV_SET:
		return aa_config__set_text(cfg, key, v, &o, res);
	case ENV_SET_AND_ENABLE:
		rc = aa_config__set_text(cfg, key, v, &o, res);
		if (rc == 0)
			aa_config__set_bool(cfg, aa_config__key_find(e->enable_key), true, &o);
		return rc;
	case ENV_LIST: {
		char **items;
		size_t n = aa_config__split_list(v, &items);
		if (n > 0)
			rc = aa_config__set_list(cfg, key, (const char *const *)items, NULL, n, &o, res);
		aa_config__free_strv(items, n);
		return rc;
	}
	case ENV_BOOL:
		if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
			return aa_config__set_bool(cfg, key, true, &o);
		if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
			return aa_config__set_bool(cfg, key, false, &o);
		aa_config__warn(res, "environment %s: ignoring \"%.100s\" (want true, 1, false or 0)",
			e->name, v);
		return 0;
	case ENV_DISABLE_ONLY:
		if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
			return aa_config__set_bool(cfg, key, false, &o);
		if (strcmp(v, "true") != 0 && strcmp(v, "1") != 0)
			aa_config__warn(res, "environment %s: ignoring \"%.100s\" (only false or 0 "
				"have an effect)", e->name, v);
		return 0;
	case ENV_FLOAT: {
		char *end;
		double d = strtod(v, &end);
		if (end == v || *end != '\0' || !isfinite(d)) {
			aa_config__warn(res, "environment %s: ignoring \"%.100s\" (not a number)",
				e->name, v);
			return 0;
		}
		return aa_config__set_float(cfg, key, d, &o, res);
	}
	}
	return 0;
}

int aa_config__apply_env(struct aa_config *cfg, struct aa_config_result *res)
{
	for (size_t i = 0; i < sizeof env_vars / sizeof env_vars[0]; i++) {
		const char *v = getenv(env_vars[i].name);
		if (!v || !*v)
			continue;
		int rc = apply_one(cfg, &env_vars[i], v, res);
		if (rc < 0)
			return rc;
	}
	return 0;
}

const char *aa_config__env_name(size_t i, const char **key)
{
	if (i >= sizeof env_vars / sizeof env_vars[0])
		return NULL;
	*key = env_vars[i].key;
	return env_vars[i].name;
}
