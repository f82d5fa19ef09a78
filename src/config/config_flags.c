/* config_flags: command-line flags with Go `flag` package semantics (REFERENCE.md H.4):
 * -name and --name are the same; values as --name=value or --name value; boolean flags only
 * as --name or --name=BOOL; "--" ends the flags and so does the first argument that is not
 * a flag (the rest are positional: subcommands). As in the reference, an empty value for a
 * text flag changes nothing. Also the --help text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "config/config_impl.h"

enum flag_action {
	F_CONFIG,     /* names the file: used before the file is read */
	F_SET,        /* a text setting */
	F_LIST,       /* a comma list replacing a list setting */
	F_SET_ENABLE, /* a text setting, and `enable_key` becomes true */
	F_BOOL,       /* a boolean setting */
	F_HELP,
	F_VERSION,
};

static const struct flag_def {
	const char *name;
	enum flag_action action;
	const char *key;        /* setting written (NULL for config/help/version) */
	const char *enable_key; /* F_SET_ENABLE */
	const char *arg;        /* placeholder in the help text */
	const char *help;
	/* How the help shows the default: NULL prints the key's built-in value; otherwise a
	 * printf format whose one %s receives that value ("" prints no default). */
	const char *default_fmt;
} flags[] = {
	{ "config", F_CONFIG, NULL, NULL, "PATH",
		"TOML configuration file; when named here it must exist", NULL },
	{ "key", F_SET, "key_path", NULL, "PATH",
		"Ed25519 identity key file, created (0600) when missing", NULL },
	{ "grpc-listen", F_SET, "grpc_listen", NULL, "ADDR",
		"gRPC API address for the SDKs: unix://PATH, tcp://HOST:PORT or a socket path", NULL },
	{ "log-level", F_SET, "log_level", NULL, "LEVEL",
		"least severe log level written to stderr: debug, info, warn or error", NULL },
	{ "log-format", F_SET, "log_format", NULL, "FORMAT", "log line format: json or text", NULL },
	{ "store-path", F_SET, "store_path", NULL, "DIR",
		"directory of the task, card and offline-queue store", NULL },
	{ "listen-addrs", F_LIST, "listen_addrs", NULL, "MADDRS",
		"comma-separated libp2p listen multiaddrs, replacing the configured list", NULL },
	{ "bootstrap-peers", F_LIST, "bootstrap_peers", NULL, "MADDRS",
		"comma-separated /.../p2p/<PeerID> multiaddrs dialled once at startup", "none" },
	{ "bridge-listen", F_SET_ENABLE, "bridge.listen", "bridge.enabled", "HOST:PORT",
		"enable the A2A HTTP bridge on HOST:PORT",
		"off; [bridge] listen is %s" },
	{ "enable-webtransport", F_BOOL, "enable_webtransport", NULL, NULL,
		"enable the WebTransport transport; accepted, not implemented yet", NULL },
	{ "anp-listen", F_SET_ENABLE, "anp.listen", "anp.enabled", "HOST:PORT",
		"enable the ANP bridge on HOST:PORT; accepted, not implemented yet",
		"off; [anp] listen is %s" },
	{ "mcp", F_BOOL, "cli.mcp_stdio", NULL, NULL,
		"serve MCP over stdio; stdout is then reserved for JSON-RPC; not implemented yet",
		NULL },
	{ "mcp-listen", F_SET_ENABLE, "mcp.listen", "mcp.enabled", "HOST:PORT",
		"enable MCP Streamable HTTP on HOST:PORT; not implemented yet",
		"off; [mcp] listen is %s" },
	{ "mcp-proxy", F_SET, "cli.mcp_proxy", NULL, "CMD",
		"wrap an MCP server command line as P2P skills; not implemented yet", "none" },
	{ "otlp-endpoint", F_SET_ENABLE, "telemetry.otlp_endpoint", "telemetry.enabled",
		"HOST:PORT", "enable OpenTelemetry tracing to this OTLP endpoint; not implemented yet",
		"off" },
	{ "nats-broker", F_SET_ENABLE, "transport.nats.broker", "transport.nats.enabled", "URL",
		"enable the NATS transport with this nats:// or tls:// broker; not implemented yet",
		"off" },
	{ "metrics-listen", F_SET_ENABLE, "metrics.listen", "metrics.enabled", "HOST:PORT",
		"enable the Prometheus /metrics and /health server on HOST:PORT",
		"off; [metrics] listen is %s" },
	{ "transport", F_SET, "cli.transport", NULL, "NAME",
		"transport name passed by the SDKs (accepted and recorded)", "none" },
	{ "namespace", F_SET, "cli.namespace", NULL, "NAME",
		"namespace passed by the SDKs (accepted and recorded)", "none" },
	{ "version", F_VERSION, NULL, NULL, NULL, "print \"agentanycastd <version>\" and exit", "" },
	{ "help", F_HELP, NULL, NULL, NULL, "print this help and exit (also -h)", "" },
	{ "h", F_HELP, NULL, NULL, NULL, NULL, "" },
};
#define NFLAGS (sizeof flags / sizeof flags[0])

static bool is_bool_flag(const struct flag_def *d)
{
	return d->action == F_BOOL || d->action == F_HELP || d->action == F_VERSION;
}

static int find_flag(const char *name, size_t len)
{
	for (size_t i = 0; i < NFLAGS; i++)
		if (strlen(flags[i].name) == len && memcmp(flags[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

/* Go's strconv.ParseBool, which the flag package uses. */
static bool parse_bool(const char *s, bool *out)
{
	static const char *const t[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const f[] = { "0", "f", "F", "FALSE", "false", "False" };
	for (size_t i = 0; i < 6; i++) {
		if (strcmp(s, t[i]) == 0) {
			*out = true;
			return true;
		}
		if (strcmp(s, f[i]) == 0) {
			*out = false;
			return true;
		}
	}
	return false;
}

static int usage_error(struct aa_config_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int usage_error(struct aa_config_result *res, const char *fmt, ...)
{
	char why[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	snprintf(res->message, sizeof res->message, "%s (see agentanycastd --help)", why);
	return AA_EUSAGE;
}

int aa_config__parse_argv(int argc, char **argv, struct aa_config__argv *out,
	struct aa_config_result *res)
{
	memset(out, 0, sizeof *out);
	out->uses = aa_calloc(argc > 0 ? (size_t)argc : 1, sizeof *out->uses);
	int i = 1;
	while (i < argc) {
		const char *s = argv[i];
		if (s[0] != '-' || s[1] == '\0')
			break; /* the first positional argument ("-" alone is one, as in Go) */
		const char *name = s + 1;
		if (*name == '-') {
			name++;
			if (*name == '\0') {
				i++; /* "--" ends the flags and is consumed */
				break;
			}
		}
		if (*name == '-' || *name == '=') {
			aa_config__argv_free(out);
			return usage_error(res, "bad flag syntax: %.200s", s);
		}
		i++;
		const char *eq = strchr(name, '=');
		size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
		int written = (int)((size_t)(name - s) + nlen);
		if (written > 200)
			written = 200;
		int f = find_flag(name, nlen);
		if (f < 0) {
			aa_config__argv_free(out);
			return usage_error(res, "unknown flag %.*s", written, s);
		}
		const struct flag_def *d = &flags[f];
		const char *value = eq ? eq + 1 : NULL;
		bool b = true;
		if (is_bool_flag(d)) {
			/* Go: a boolean flag never takes the next argument as its value. */
			if (value && !parse_bool(value, &b)) {
				aa_config__argv_free(out);
				return usage_error(res, "invalid boolean value \"%.100s\" for flag %.*s",
					value, written, s);
			}
		} else if (!value) {
			if (i >= argc) {
				aa_config__argv_free(out);
				return usage_error(res, "flag %.*s needs a value", written, s);
			}
			value = argv[i++];
		}
		switch (d->action) {
		case F_HELP:
			if (b) {
				/* Go stops at -h and ignores what follows. */
				out->help = true;
				out->first_positional = i;
				return 0;
			}
			continue;
		case F_VERSION:
			out->version = b;
			continue;
		case F_CONFIG:
			out->config_path = value;
			continue;
		default:
			break;
		}
		struct aa_config__flag_use *u = &out->uses[out->n++];
		u->flag = f;
		u->value = value;
	}
	out->first_positional = i;
	return 0;
}

void aa_config__argv_free(struct aa_config__argv *a)
{
	free(a->uses);
	a->uses = NULL;
	a->n = 0;
}

int aa_config__apply_flags(struct aa_config *cfg, const struct aa_config__argv *a,
	struct aa_config_result *res)
{
	for (size_t i = 0; i < a->n; i++) {
		const struct aa_config__flag_use *u = &a->uses[i];
		const struct flag_def *d = &flags[u->flag];
		struct aa_config__origin o = { CFG_FROM_FLAG, d->name, { 0, 0 } };
		int key = d->key ? aa_config__key_find(d->key) : -1;
		int rc = 0;
		switch (d->action) {
		case F_SET:
			if (*u->value)
				rc = aa_config__set_text(cfg, key, u->value, &o, res);
			break;
		case F_SET_ENABLE:
			if (*u->value) {
				rc = aa_config__set_text(cfg, key, u->value, &o, res);
				if (rc == 0)
					aa_config__set_bool(cfg, aa_config__key_find(d->enable_key), true,
						&o);
			}
			break;
		case F_LIST: {
			char **items;
			size_t n = aa_config__split_list(u->value, &items);
			if (n > 0)
				rc = aa_config__set_list(cfg, key, (const char *const *)items, NULL, n,
					&o, res);
			aa_config__free_strv(items, n);
			break;
		}
		case F_BOOL: {
			bool b = true;
			if (u->value)
				parse_bool(u->value, &b); /* checked while parsing */
			aa_config__set_bool(cfg, key, b, &o);
			break;
		}
		case F_CONFIG:
		case F_HELP:
		case F_VERSION:
			break;
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void print_flag(FILE *out, const struct flag_def *d, const struct aa_config *defaults)
{
	if (!d->help)
		return;
	if (d->arg)
		fprintf(out, "  --%s %s\n", d->name, d->arg);
	else
		fprintf(out, "  --%s\n", d->name);
	char *dv;
	if (d->action == F_CONFIG)
		dv = aa_strdup(defaults->config_path ? defaults->config_path
						     : "~/.agentanycast/config.toml");
	else if (d->key)
		dv = aa_config__value_text(defaults, aa_config__key_find(d->key));
	else
		dv = aa_strdup("");
	fprintf(out, "        %s", d->help);
	if (!d->default_fmt) {
		fprintf(out, " (default %s)\n", *dv ? dv : "\"\"");
	} else if (*d->default_fmt) {
		fputs(" (default ", out);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		fprintf(out, d->default_fmt, dv);
#pragma GCC diagnostic pop
		fputs(")\n", out);
	} else {
		fputc('\n', out);
	}
	free(dv);
}

void aa_config_usage(FILE *out)
{
	struct aa_config defaults;
	struct aa_config_result res;
	memset(&res, 0, sizeof res);
	if (aa_config_defaults(&defaults, &res) < 0)
		memset(&defaults, 0, sizeof defaults);

	fputs("Usage: agentanycastd [flags] [command [args...]]\n"
	      "\n"
	      "Runs the AgentAnycast node: a libp2p host with the A2A task engine, the gRPC API\n"
	      "used by the SDKs, and optionally the A2A HTTP bridge and a metrics server.\n"
	      "Settings come from built-in defaults, then the TOML file, then AGENTANYCAST_*\n"
	      "environment variables, then these flags; later sources win. \"~\" at the start of\n"
	      "a path means the home directory.\n"
	      "\n"
	      "Flags (-name and --name are the same; values as --name=VALUE or --name VALUE;\n"
	      "boolean flags as --name or --name=true|false; \"--\" ends the flags; an empty\n"
	      "value for a text flag changes nothing):\n",
		out);
	for (size_t i = 0; i < NFLAGS; i++)
		print_flag(out, &flags[i], &defaults);

	fputs("\nEnvironment variables:\n", out);
	const char *key;
	for (size_t i = 0; aa_config__env_name(i, &key); i++)
		fprintf(out, "  %-34s %s\n", aa_config__env_name(i, &key), key);
	fputs("Comma lists are trimmed and empty entries dropped; AGENTANYCAST_ENABLE_MDNS\n"
	      "only disables (false or 0); AGENTANYCAST_MCP_LISTEN and\n"
	      "AGENTANYCAST_METRICS_LISTEN also enable their server.\n"
	      "\n"
	      "Commands:\n"
	      "  (none)                             run the node until SIGINT or SIGTERM\n"
	      "  perf [--upload=BYTES] [--download=BYTES] MULTIADDR\n"
	      "                                     measure throughput to a libp2p peer over\n"
	      "                                     /perf/1.0.0 (defaults: upload 0, download\n"
	      "                                     100000000 bytes); MULTIADDR ends in /p2p/<id>\n"
	      "\n"
	      "Exit status: 0 on a clean stop, 1 for a configuration or startup error, 2 for a\n"
	      "command-line usage error.\n",
		out);
	aa_config_free(&defaults);
}
