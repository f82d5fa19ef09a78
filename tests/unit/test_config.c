/* Unit tests for config: defaults, file < environment < flags, flag syntax, validation with
 * provenance (REFERENCE.md H, DECISIONS.md 11). Each test runs with HOME pointing at a fresh
 * directory under /tmp and no AGENTANYCAST_* variables set; the directory is removed after. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/err.h"
#include "config/config.h"
#include "tmpdir.h"

#define PEER "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"
#define NS_PER_S 1000000000ull

static char home[64];

static const char *const env_names[] = {
	"AGENTANYCAST_KEY_PATH", "AGENTANYCAST_GRPC_LISTEN", "AGENTANYCAST_LOG_LEVEL",
	"AGENTANYCAST_LOG_FORMAT", "AGENTANYCAST_STORE_PATH", "AGENTANYCAST_BOOTSTRAP_PEERS",
	"AGENTANYCAST_ENABLE_MDNS", "AGENTANYCAST_REGISTRY_ADDRS", "AGENTANYCAST_MCP_LISTEN",
	"AGENTANYCAST_METRICS_LISTEN", "AGENTANYCAST_ANP_LISTEN", "AGENTANYCAST_ANP_ENABLED",
	"AGENTANYCAST_DID_WEB", "AGENTANYCAST_DID_DNS_DOMAIN", "AGENTANYCAST_OTLP_ENDPOINT",
	"AGENTANYCAST_TELEMETRY_ENABLED", "AGENTANYCAST_SAMPLE_RATE", "AGENTANYCAST_NATS_ENABLED",
	"AGENTANYCAST_NATS_BROKER", "AGENTANYCAST_NATS_SUBJECT_PREFIX",
};

static int setup(void **state)
{
	strcpy(home, "/tmp/aa-test-config-XXXXXX");
	if (!mkdtemp(home))
		return -1;
	setenv("HOME", home, 1);
	for (size_t i = 0; i < sizeof env_names / sizeof env_names[0]; i++)
		unsetenv(env_names[i]);
	return 0;
}

static int teardown(void **state)
{
	for (size_t i = 0; i < sizeof env_names / sizeof env_names[0]; i++)
		unsetenv(env_names[i]);
	return test_rm_tree(home);
}

/* Writes text to HOME/name and returns the path (static buffer). */
static const char *write_file(const char *name, const char *text)
{
	static char path[256];
	snprintf(path, sizeof path, "%s/%s", home, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* Loads with argv = {"agentanycastd", args..., NULL}. */
static int load_argv(struct aa_config *cfg, struct aa_config_result *res, int *pos, ...)
{
	char *argv[32];
	int argc = 0;
	argv[argc++] = "agentanycastd";
	va_list ap;
	va_start(ap, pos);
	char *a;
	while ((a = va_arg(ap, char *)) != NULL && argc < 31)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	int p;
	int rc = aa_config_load(cfg, argc, argv, pos ? pos : &p, res);
	return rc;
}

#define LOAD(cfg, res, ...) load_argv(cfg, res, NULL, ##__VA_ARGS__, (char *)NULL)

/* Loads a config file given as text; returns the load's result. */
static int load_text(struct aa_config *cfg, struct aa_config_result *res, const char *toml)
{
	const char *path = write_file("test.toml", toml);
	return LOAD(cfg, res, "--config", (char *)path);
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("text does not contain \"%s\": %.300s", needle, hay);
}

static char *in_home(const char *rest)
{
	static char buf[256];
	snprintf(buf, sizeof buf, "%s%s", home, rest);
	return buf;
}

/* ---- defaults and layering ---------------------------------------------------------------- */

static void test_defaults_match_reference(void **state)
{
	struct aa_config c;
	struct aa_config_result r;
	assert_int_equal(LOAD(&c, &r), 0);
	assert_false(r.exit_now);
	assert_false(c.config_loaded);
	assert_string_equal(c.config_path, in_home("/.agentanycast/config.toml"));
	assert_string_equal(c.key_path, in_home("/.agentanycast/key"));
	assert_int_equal(c.listen_addrs.n, 2);
	assert_string_equal(c.listen_addrs.items[0], "/ip4/0.0.0.0/tcp/0");
	assert_string_equal(c.listen_addrs.items[1], "/ip6/::/tcp/0");
	char sock[256];
	snprintf(sock, sizeof sock, "unix://%s/.agentanycast/daemon.sock", home);
	assert_string_equal(c.grpc_listen, sock);
	assert_int_equal(c.bootstrap_peers.n, 0);
	assert_true(c.enable_relay_client && c.enable_hole_punching && c.enable_quic);
	assert_false(c.enable_webtransport);
	assert_true(c.enable_mdns);
	assert_string_equal(c.store_path, in_home("/.agentanycast/data"));
	assert_true(c.offline_queue_ttl.ns == 24ull * 3600 * NS_PER_S);
	assert_string_equal(c.offline_queue_ttl.text, "24h");
	assert_string_equal(c.log_level, "info");
	assert_string_equal(c.log_format, "json");
	assert_false(c.bridge.enabled);
	assert_string_equal(c.bridge.listen, ":8080");
	assert_int_equal(c.bridge.cors_origins.n, 1);
	assert_string_equal(c.bridge.cors_origins.items[0], "*");
	assert_string_equal(c.anycast.routing_strategy, "random");
	assert_true(c.anycast.cache_ttl.ns == 30 * NS_PER_S);
	assert_true(c.anycast.auto_register);
	assert_false(c.anycast.enable_dht);
	assert_string_equal(c.anycast.dht_mode, "");
	assert_false(c.metrics.enabled);
	assert_string_equal(c.metrics.listen, ":9090");
	assert_string_equal(c.mcp.listen, ":3000");
	assert_string_equal(c.anp.listen, ":8090");
	assert_true(c.telemetry.sample_rate == 1.0);
	assert_true(c.telemetry.insecure);
	assert_false(c.transport.nats.enabled);
	assert_int_equal(c.policy.n_acl, 0);
	assert_int_equal(c.policy.rate_limit.default_rps, 0);
	assert_int_equal(c.limits.max_connections, 1024);
	assert_int_equal(c.limits.max_pending_handshakes, 128);
	assert_int_equal(c.limits.max_streams_per_conn, 1024);
	assert_int_equal(c.limits.max_inbound_streams_pending, 256);
	assert_int_equal(c.limits.conn_rate_per_ip, 0);
	assert_true(c.limits.handshake_timeout.ns == 10 * NS_PER_S);
	assert_true(c.limits.idle_timeout.ns == 300 * NS_PER_S);
	assert_true(c.limits.dial_timeout.ns == 10 * NS_PER_S);
	assert_int_equal(c.limits.yamux_max_window, 16777216);
	assert_int_equal(c.limits.max_message_size, 16777216);
	assert_false(c.cli.mcp_stdio);
	assert_string_equal(c.cli.transport, "");
	assert_string_equal(aa_config_source(&c, "limits.max_connections"), "default");
	assert_null(aa_config_source(&c, "no.such.key"));
	aa_config_free(&c);
	aa_config_free(&c); /* idempotent */
}

static void test_file_overrides_defaults(void **state)
{
	struct aa_config c;
	struct aa_config_result r;
	int rc = load_text(&c, &r,
		"key_path = \"/k\"\n"
		"listen_addrs = [\"/ip4/127.0.0.1/tcp/4001\"]\n"
		"bootstrap_peers = [\"/ip4/10.0.0.1/tcp/4001/p2p/" PEER "\"]\n"
		"enable_mdns = false\n"
		"enable_quic = false\n"
		"offline_queue_ttl = \"1h30m\"\n"
		"log_level = \"debug\"\n"
		"log_format = \"text\"\n"
		"[bridge]\n"
		"enabled = true\n"
		"listen = \"127.0.0.1:8081\"\n"
		"cors_origins = [\"https://a.example\", \"https://b.example\"]\n"
		"[anycast]\n"
		"routing_strategy = \"least-latency\"\n"
		"cache_ttl = \"1m\"\n"
		"registry_addrs = [\"relay:50052\"]\n"
		"enable_dht = true\n"
		"dht_mode = \"server\"\n"
		"[telemetry]\n"
		"sample_rate = 0.25\n"
		"[transport.nats]\n"
		"enabled = true\n"
		"broker = \"nats://localhost:4222\"\n"
		"[policy]\n"
		"audit_log_path = \"/var/log/audit.jsonl\"\n"
		"[[policy.acl]]\n"
		"source = \"did:key:*\"\n"
		"skill = \"translate\"\n"
		"allow = true\n"
		"[[policy.acl]]\n"
		"source = \"*\"\n"
		"skill = \"*\"\n"
		"allow = false\n"
		"[policy.rate_limit]\n"
		"default_rps = 100\n"
		"[[policy.rate_limit.overrides]]\n"
		"source = \"did:key:z6Mkabc\"\n"
		"rps = 5\n"
		"[limits]\n"
		"max_connections = 50\n"
		"conn_rate_per_ip = 10\n"
		"idle_timeout = \"90s\"\n");
	assert_int_equal(rc, 0);
	assert_true(c.config_loaded);
	assert_string_equal(c.key_path, "/k");
	assert_int_equal(c.listen_addrs.n, 1);
	assert_string_equal(c.listen_addrs.items[0], "/ip4/127.0.0.1/tcp/4001");
	assert_int_equal(c.bootstrap_peers.n, 1);
	assert_false(c.enable_mdns);
	assert_false(c.enable_quic);
	assert_true(c.offline_queue_ttl.ns == 5400 * NS_PER_S);
	assert_string_equal(c.log_level, "debug");
	assert_string_equal(c.log_format, "text");
	assert_true(c.bridge.enabled);
	assert_string_equal(c.bridge.listen, "127.0.0.1:8081");
	assert_int_equal(c.bridge.cors_origins.n, 2);
	assert_string_equal(c.bridge.cors_origins.items[1], "https://b.example");
	assert_string_equal(c.anycast.routing_strategy, "least-latency");
	assert_true(c.anycast.cache_ttl.ns == 60 * NS_PER_S);
	assert_int_equal(c.anycast.registry_addrs.n, 1);
	assert_true(c.anycast.enable_dht);
	assert_string_equal(c.anycast.dht_mode, "server");
	assert_true(c.telemetry.sample_rate == 0.25);
	assert_true(c.transport.nats.enabled);
	assert_string_equal(c.policy.audit_log_path, "/var/log/audit.jsonl");
	assert_int_equal(c.policy.n_acl, 2);
	assert_string_equal(c.policy.acl[0].source, "did:key:*");
	assert_string_equal(c.policy.acl[0].skill, "translate");
	assert_true(c.policy.acl[0].allow);
	assert_false(c.policy.acl[1].allow);
	assert_int_equal(c.policy.rate_limit.default_rps, 100);
	assert_int_equal(c.policy.rate_limit.n_overrides, 1);
	assert_string_equal(c.policy.rate_limit.overrides[0].source, "did:key:z6Mkabc");
	assert_int_equal(c.policy.rate_limit.overrides[0].rps, 5);
	assert_int_equal(c.limits.max_connections, 50);
	assert_int_equal(c.limits.conn_rate_per_ip, 10);
	assert_true(c.limits.idle_timeout.ns == 90 * NS_PER_S);
	/* Untouched keys keep their defaults. */
	assert_int_equal(c.limits.max_streams_per_conn, 1024);
	assert_string_equal(c.metrics.listen, ":9090");
	aa_config_free(&c);
}

static void test_default_config_file_is_read_when_present(void **state)
{
	char dir[256];
	snprintf(dir, sizeof dir, "%s/.agentanycast", home);
	assert_int_equal(mkdir(dir, 0700), 0);
	write_file(".agentanycast/config.toml", "log_level = \"warn\"\n");
	struct aa_config c;
	struct aa_config_result r;
	assert_int_equal(LOAD(&c, &r), 0);
	assert_true(c.config_loaded);
	assert_string_equal(c.log_level, "warn");
	aa_config_free(&c);
}

static void test_missing_explicit_config_is_an_error(void **state)
{
	struct aa_config c;
	struct aa_config_result r;
	assert_int_equal(LOAD(&c, &r, "--config", "/tmp/aa-test-config-does-not-exist.toml"),
		AA_ECONFIG);
	assert_contains(r.message, "flag --config");
	assert_contains(r.message, "aa-test-config-does-not-exist.toml");
	assert_null(c.key_path); /* nothing left to free */
}

static void test_env_overrides_file(void **state)
{
	setenv("AGENTANYCAST_LOG_LEVEL", "error", 1);
	setenv("AGENTANYCAST_STORE_PATH", "/env/store", 1);
	setenv("AGENTANYCAST_GRPC_LISTEN", "tcp://127.0.0.1:50051", 1);
	setenv("AGENTANYCAST_KEY_PATH", "", 1); /* empty: no effect */
	struct aa_config c;
	struct aa_config_result r;
	assert_int_equal(load_text(&c, &r,
				 "log_level = \"debug\"\nstore_path = \"/file/store\"\n"
				 "key_path = \"/file/key\"\n"),
		0);
	assert_string_equal(c.log_level, "error");
	assert_string_equal(c.store_path, "/env/store");
	assert_string_equal(c.grpc_listen, "tcp://127.0.0.1:50051");
	assert_string_equal(c.key_path, "/file/key");
	assert_string_equal(aa_config_source(&c, "log_level"), "environment AGENTANYCAST_LOG_LEVEL");
	aa_config_free(&c);
}

static void test_flags_override_env(void **state)
{
	setenv("AGENTANYCAST_LOG_LEVEL", "error", 1);
	setenv("AGENTANYCAST_BOOTSTRAP_PEERS", "/ip4/1.2.3.4/tcp/1/p2p/" PEER, 1);
	struct aa_config c;
	struct aa_config_result r;
	assert_int_equal(LOAD(&c, &r, "--log-level", "warn", "--bootstrap-peers",
				 "/ip4/5.6.7.8/tcp/2/p2p/" PEER),
		0);
	assert_string_equal(c.log_level, "warn");
	assert_int_equal(c.bootstrap_peers.n, 1);
	assert_string_equal(c.bootstrap_peers.items[0], "/ip4/5.6.7.8/tcp/2/p2p/" PEER);
	assert_string_equal(aa_config_source(&c, "log_level"), "flag --log-level");
	aa_config_free(&c);
}

static void test_source_names_file_line_and_column(void **state)
{
	struct aa_config c;
	struct aa_config_result r;
	assert_int_equal(load_text(&c, &r, "\n[limits]\nmax_connections = 7\n"), 0);
	char want[300];
	snprintf(want, sizeof want, "%s/test.toml:3:19", home);
	assert_string_equal(aa_config_source(&c, "limits.max_connections"), want);
	aa_config_free(&c);
}

/* ---- flag syntax -------------------------------------------------------------------------- */

static void test_flag_accepts_every_go_syntax(void **state)
{
	const char *forms[][3] = {
		{ "-key", "/a", NULL },
		{ "--key", "/a", NULL },
		{ "--key=/a", NULL, NULL },
		{ "-key=/a", NULL, NULL },
	};
	for (size_t i = 0; i < 4; i++) {
		struct aa_config c;
		struct aa_config_result r;
		int pos;
		int rc = forms[i][1]
			? load_argv(&c, &r, &pos, forms[i][0], forms[i][1], (char *)NULL)
			: load_argv(&c, &r, &pos, forms[i][0], (char *)NULL);
		assert_int_equal(rc, 0);
		assert_string_equal(c.key_path, "/a");
		assert_int_equal(pos, forms[i][1] ? 3 : 2);
		aa_config_free(&c);
	}
}

static void test_bool_flag_syntaxes(void **state)
{
	struct aa_config c;
	struct aa_config_result r;
	int pos;
	assert_int_equal(LOAD(&c, &r, "--enable-webtransport"), 0);
	assert_true(c.enable_webtransport);
	aa_config_free(&c);
	assert_int_equal(LOAD(&c, &r, "-enable-webtransport=true"), 0);
	assert_true(c.enable_webtransport);
	aa_config_free(&c);
	assert_int_equal(LOAD(&c, &r, "--mcp=1"), 0);
	assert_true(c.cli.mcp_stdio);
	aa_config_free(&c);

	/* An explicit false overrides the file. */
	write_file("wt.toml", "enable_webtransport = true\n");
	char path[256];
	snprintf(path, sizeof path, "%s/wt.toml", home);
	assert_int_equal(LOAD(&c, &r, "--config", path, "--enable-webtransport=false"), 0);
	assert_false(c.enable_webtransport);
	assert_string_equal(aa_config_source(&c, "enable_webtransport"),
		"flag --enable-webtransport");
	aa_config_free(&c);

	/* Go: a bool flag never takes the next argument, which is then positional. */
	assert_int_equal(load_argv(&c, &r, &pos, "--mcp", "false", (char *)NULL), 0);
	assert_true(c.cli.mcp_stdio);
	assert_int_equal(pos, 2);
	aa_config_free(&c);
}

static void test_bool_flag_rejects_bad_value(void **state)
{
	struct aa_config c;
	struct aa_config_result r;
	assert_int_equal(LOAD(&c, &r, "--mcp=yes"), AA_EUSAGE);
	assert_contains(r.message, "--mcp");
	assert_contains(r.message, "yes");
}

static void test_transport_and_namespace_are_accepted(void **state)
{
	struct aa_config c;
	struct aa_config_result r;
	assert_int_equal(LOAD(&c, &r, "--transport", "tcp", "--namespace=team-a"), 0);
	assert_string_equal(c.cli.transport, "tcp");
	assert_string_equal(c.cli.namespace, "team-a");
	assert_string_equal(aa_config_source(&c, "cli.namespace"), "flag --namespace");
	aa_config_free(&c);
}

static void test_positional_arguments_are_returned(void **state)
{
	struct aa_config c;
	struct aa_config_result r;
	int pos;
	assert_int_equal(load_argv(&c, &r, &pos, "--log-level", "debug", "perf",
				 "/ip4/1.2.3.4/tcp/1", "--log-level", "error", (char *)NULL),
		0);
	assert_int_equal(pos, 3); /* "perf"; the flags after it are its own */
	assert_string_equal(c.log_level, "debug");
	aa_config_free(&c);

	assert_int_equal(load_argv(&c, &r, &pos, "--", "--log-level", (char *)NULL), 0);
	assert_int_equal(pos, 2);
	aa_config_free(&c);

	assert_int_equal(load_argv(&c, &r, &pos, (char *)NULL), 0);
	assert_int_equal(pos, 1);
	aa_config_free(&c);
}

static void test_unknown_flag_is_a_usage_error(void **state)
{
	struct aa_config c;
	struct aa_config_result r;
	assert_int_equal(LOAD(&c, &r, "--log-level=info", "--no-such-flag=3"), AA_EUSAGE);
	assert_contains(r.message, "--no-such-flag");
	assert_null(strstr(r.message, "=3"));
	assert_int_equal(LOAD(&c, &r, "---key", "x"), AA_EUSAGE);
	assert_contains(r.message, "---key");
}

static void test_missing_flag_value_is_a_usage_error(void **state)
{
	struct aa_config c;
	struct aa_config_result r;
	assert_int_equal(LOAD(&c, &r, "--grpc-listen"), AA_EUSAGE);
	assert_contains(r.message, "--grpc-listen");
}

static void test_help_and_version_exit_zero(void **state)
{
	struct aa_config c;
	struct aa_config_result r;
	assert_int_equal(LOAD(&c, &r, "-h", "--no-such-flag"), 0);
	assert_true(r.exit_now);
	assert_int_equal(r.exit_status, 0);
	assert_int_equal(LOAD(&c, &r, "--version"), 0);
	assert_true(r.exit_now);
	assert_int_equal(r.exit_status, 0);
	aa_config_free(&c);
}

static void test_help_text_lists_every_flag(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	aa_config_usage(f);
	fclose(f);
	const char *names[] = { "--config", "--key", "--grpc-listen", "--log-level",
		"--bootstrap-peers", "--bridge-listen", "--enable-webtransport", "--anp-listen",
		"--mcp\n", "--mcp-listen", "--mcp-proxy", "--otlp-endpoint", "--nats-broker",
		"--version", "--transport", "--namespace", "--metrics-listen", "--log-format",
		"--store-path", "--listen-addrs", "--help", "-h" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		assert_contains(text, names[i]);
	/* Defaults appear, computed from the real home directory. */
	assert_contains(text, in_home("/.agentanycast/config.toml"));
	assert_contains(text, "(default info)");
	assert_contains(text, "AGENTANYCAST_METRICS_LISTEN");
	free(text);
}

static void test_empty_flag_value_changes_nothing(void **state)
{
	struct aa_config c;
	struct aa_config_result r;
	assert_int_equal(LOAD(&c, &r, "--key=", "--bridge-listen", ""), 0);
	assert_string_equal(c.key_path, in_home("/.agentanycast/key"));
	assert_false(c.bridge.enabled);
	aa_config_free(&c);
}

/* ---- validation --------------------------------------------------------------------------- */

static void test_unknown_key_reports_line_and_column(void **state)
{
	struct aa_config c;
	struct aa_config_result r;
	assert_int_equal(load_text(&c, &r, "log_level = \"info\"\n[bridge]\n  listne = \":1\"\n"),
		AA_ECONFIG);
	char want[300];
	snprintf(want, sizeof want, "%s/test.toml:3:3: unknown key 'bridge.listne'", home);
	assert_string_equal(r.message, want);

	assert_int_equal(load_text(&c, &r, "[bridgee]\nlisten = \":1\"\n"), AA_ECONFIG);
	assert_contains(r.message, "test.toml:1:2: unknown key 'bridgee'");
}

static void test_quoted_dotted_key_is_not_a_path(void **state)
{
	struct aa_config c;
	struct aa_config_result r;
	assert_int_equal(load_text(&c, &r, "\"bridge.listen\" = \":1\"\n"), AA_ECONFIG);
	assert_contains(r.message, "unknown key");
}

static void test_wrong_type_names_expected_and_actual(void **state)
{
	struct aa_config c;
	struct aa_config_result r;
	assert_int_equal(load_text(&c, &r, "[limits]\nmax_connections = \"many\"\n"), AA_ECONFIG);
	char want[300];
	snprintf(want, sizeof want,
		"%s/test.toml:2:19: key 'limits.max_connections': expected integer, got string", home);
	assert_string_equal(r.message, want);

	assert_int_equal(load_text(&c, &r, "enable_mdns = \"false\"\n"), AA_ECONFIG);
	assert_contains(r.message, "key 'enable_mdns': expected boolean, got string");
	assert_int_equal(load_text(&c, &r, "listen_addrs = \"/ip4/0.0.0.0/tcp/0\"\n"), AA_ECONFIG);
	assert_contains(r.message, "expected array of strings, got string");
	assert_int_equal(load_text(&c, &r, "listen_addrs = [\"/ip4/0.0.0.0/tcp/0\", 5]\n"),
		AA_ECONFIG);
	assert_contains(r.message, "test.toml:1:39: key 'listen_addrs': expected string, got integer");
	assert_int_equal(load_text(&c, &r, "bridge = 1\n"), AA_ECONFIG);
	assert_contains(r.message, "key 'bridge': expected table, got integer");
}

static void test_bad_duration_is_rejected(void **state)
{
	struct aa_config c;
	struct aa_config_result r;
	assert_int_equal(load_text(&c, &r, "offline_queue_ttl = \"10 years\"\n"), AA_ECONFIG);
	assert_contains(r.message, "test.toml:1:21: key 'offline_queue_ttl': invalid duration");
	assert_int_equal(load_text(&c, &r, "[limits]\nhandshake_timeout = \"0s\"\n"), AA_ECONFIG);
	assert_contains(r.message, "key 'limits.handshake_timeout'");
}

static void test_bad_multiaddr_is_rejected(void **state)
{
	struct aa_config c;
	struct aa_config_result r;
	assert_int_equal(load_text(&c, &r,
				 "listen_addrs = [\n  \"/ip4/0.0.0.0/tcp/0\",\n  \"/ip4/999.1.1.1/tcp/1\",\n]\n"),
		AA_ECONFIG);
	assert_contains(r.message, "test.toml:3:3: key 'listen_addrs'");
	assert_contains(r.message, "/ip4/999.1.1.1/tcp/1");

	/* Bootstrap peers are dialled by PeerID. */
	assert_int_equal(load_text(&c, &r, "bootstrap_peers = [\"/ip4/1.2.3.4/tcp/4001\"]\n"),
		AA_ECONFIG);
	assert_contains(r.message, "key 'bootstrap_peers'");
	assert_contains(r.message, "/p2p/");

	setenv("AGENTANYCAST_BOOTSTRAP_PEERS", "/ip4/1.2.3.4/tcp/1/p2p/" PEER ", /nonsense", 1);
	assert_int_equal(LOAD(&c, &r), AA_ECONFIG);
	assert_contains(r.message, "environment AGENTANYCAST_BOOTSTRAP_PEERS: key 'bootstrap_peers'");
	unsetenv("AGENTANYCAST_BOOTSTRAP_PEERS");

	assert_int_equal(LOAD(&c, &r, "--listen-addrs", "/ip4/0.0.0.0/tcp/x"), AA_ECONFIG);
	assert_contains(r.message, "flag --listen-addrs: key 'listen_addrs'");
}

static void test_listen_addresses_are_checked(void **state)
{
	const char *good[] = { ":8080", "127.0.0.1:8080", "[::1]:8080", "localhost:0",
		"0.0.0.0:65535" };
	const char *bad[] = { "8080", ":", ":65536", ":80a", "[::1:80", "::1:80", "[::1]",
		"1.2.3.999:80", "a b:80", "[zz]:80" };
	struct aa_config c;
	struct aa_config_result r;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		assert_int_equal(LOAD(&c, &r, "--metrics-listen", (char *)good[i]), 0);
		assert_string_equal(c.metrics.listen, good[i]);
		aa_config_free(&c);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (LOAD(&c, &r, "--bridge-listen", (char *)bad[i]) != AA_ECONFIG)
			fail_msg("bridge listen \"%s\" accepted", bad[i]);
		assert_contains(r.message, "flag --bridge-listen: key 'bridge.listen'");
	}
	assert_int_equal(load_text(&c, &r, "[anp]\nlisten = \"nope\"\n"), AA_ECONFIG);
	assert_contains(r.message, "test.toml:2:10: key 'anp.listen'");
}

static void test_grpc_listen_forms(void **state)
{
	struct aa_config c;
	struct aa_config_result r;
	assert_int_equal(LOAD(&c, &r, "--grpc-listen", "/run/aa.sock"), 0);
	assert_string_equal(c.grpc_listen, "unix:///run/aa.sock");
	aa_config_free(&c);
	assert_int_equal(LOAD(&c, &r, "--grpc-listen", "tcp://[::1]:50051"), 0);
	assert_string_equal(c.grpc_listen, "tcp://[::1]:50051");
	aa_config_free(&c);

	const char *bad[] = { "http://x:1", "unix://", "tcp://nohost", "tcp://:99999" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (LOAD(&c, &r, "--grpc-listen", (char *)bad[i]) != AA_ECONFIG)
			fail_msg("grpc_listen \"%s\" accepted", bad[i]);
		assert_contains(r.message, "flag --grpc-listen: key 'grpc_listen'");
	}
	char longpath[200];
	memset(longpath, 'a', sizeof longpath - 1);
	longpath[0] = '/';
	longpath[sizeof longpath - 1] = '\0';
	assert_int_equal(LOAD(&c, &r, "--grpc-listen", longpath), AA_ECONFIG);
	assert_contains(r.message, "longer than");
}

static void test_enumerated_values_are_checked(void **state)
{
	struct aa_config c;
	struct aa_config_result r;
	setenv("AGENTANYCAST_LOG_LEVEL", "verbose", 1);
	assert_int_equal(LOAD(&c, &r), AA_ECONFIG);
	assert_contains(r.message, "environment AGENTANYCAST_LOG_LEVEL: key 'log_level'");
	assert_contains(r.message, "verbose");
	unsetenv("AGENTANYCAST_LOG_LEVEL");

	assert_int_equal(LOAD(&c, &r, "--log-format", "xml"), AA_ECONFIG);
	assert_contains(r.message, "flag --log-format: key 'log_format'");

	assert_int_equal(load_text(&c, &r, "[anycast]\ndht_mode = \"peer\"\n"), AA_ECONFIG);
	assert_contains(r.message, "key 'anycast.dht_mode'");
	assert_int_equal(load_text(&c, &r, "[anycast]\ndht_mode = \"auto\"\n"), 0);
	aa_config_free(&c);
	assert_int_equal(load_text(&c, &r, "[anycast]\nrouting_strategy = \"fastest\"\n"),
		AA_ECONFIG);
	assert_int_equal(load_text(&c, &r, "[transport.nats]\nbroker = \"http://x\"\n"), AA_ECONFIG);
	assert_contains(r.message, "key 'transport.nats.broker'");
}

static void test_limits_reject_nonsense(void **state)
{
	struct aa_config c;
	struct aa_config_result r;
	assert_int_equal(load_text(&c, &r, "[limits]\nmax_connections = 0\n"), AA_ECONFIG);
	assert_contains(r.message, "key 'limits.max_connections': 0 is out of range");
	assert_int_equal(load_text(&c, &r, "[limits]\nmax_streams_per_conn = -1\n"), AA_ECONFIG);
	assert_int_equal(load_text(&c, &r, "[limits]\nyamux_max_window = 1024\n"), AA_ECONFIG);
	assert_int_equal(load_text(&c, &r, "[limits]\nmax_message_size = 9999999999999\n"),
		AA_ECONFIG);
	assert_int_equal(load_text(&c, &r, "[limits]\nconn_rate_per_ip = 0\n"), 0);
	aa_config_free(&c);
	assert_int_equal(load_text(&c, &r, "[telemetry]\nsample_rate = 1.5\n"), AA_ECONFIG);
	assert_int_equal(load_text(&c, &r, "[telemetry]\nsample_rate = 1\n"), 0);
	aa_config_free(&c);
	assert_int_equal(load_text(&c, &r, "store_path = \"\"\n"), AA_ECONFIG);
	assert_contains(r.message, "key 'store_path': must not be empty");
}

static void test_conflicting_settings_are_rejected(void **state)
{
	struct aa_config c;
	struct aa_config_result r;
	assert_int_equal(load_text(&c, &r,
				 "[bridge]\nenabled = true\nlisten = \":8000\"\n"
				 "[anp]\nenabled = true\nlisten = \":8000\"\n"),
		AA_ECONFIG);
	assert_contains(r.message, "test.toml:6:10: key 'anp.listen'");
	assert_contains(r.message, "bridge.listen");
	/* Disabled servers do not clash, nor do ephemeral ports. */
	assert_int_equal(load_text(&c, &r, "[bridge]\nlisten = \":8000\"\n[anp]\nenabled = true\n"
					   "listen = \":8000\"\n"),
		0);
	aa_config_free(&c);
	assert_int_equal(LOAD(&c, &r, "--bridge-listen", ":9090", "--metrics-listen", ":9090"),
		AA_ECONFIG);
	assert_contains(r.message, "flag --metrics-listen");

	assert_int_equal(load_text(&c, &r, "[bridge]\ntls_cert = \"/c.pem\"\n"), AA_ECONFIG);
	assert_contains(r.message, "test.toml:2:12: key 'bridge.tls_cert': set without bridge.tls_key");
	assert_int_equal(load_text(&c, &r, "[transport.nats]\nenabled = true\n"), AA_ECONFIG);
	assert_contains(r.message, "transport.nats.broker");
}

static void test_policy_tables_are_checked(void **state)
{
	struct aa_config c;
	struct aa_config_result r;
	assert_int_equal(load_text(&c, &r, "[[policy.acl]]\nsource = \"*\"\nskill = \"*\"\n"),
		AA_ECONFIG);
	assert_contains(r.message, "key 'policy.acl[0]': missing 'allow'");
	assert_int_equal(load_text(&c, &r,
				 "[[policy.acl]]\nsource = \"*\"\nskill = \"*\"\nallow = true\nwho = 1\n"),
		AA_ECONFIG);
	assert_contains(r.message, "test.toml:5:1: unknown key 'policy.acl[0].who'");
	assert_int_equal(load_text(&c, &r, "[[policy.rate_limit.overrides]]\nsource = \"x\"\n"
					   "rps = -3\n"),
		AA_ECONFIG);
	assert_contains(r.message, "policy.rate_limit.overrides[0].rps");
}

static void test_toml_syntax_error_reports_position(void **state)
{
	struct aa_config c;
	struct aa_config_result r;
	assert_int_equal(load_text(&c, &r, "log_level = \"info\"\nkey_path = \n"), AA_ECONFIG);
	char want[300];
	snprintf(want, sizeof want, "%s/test.toml:2:", home);
	assert_contains(r.message, want);
}

/* ---- paths and environment semantics ------------------------------------------------------ */

static void test_tilde_is_expanded_in_paths(void **state)
{
	write_file("tilde.toml",
		"key_path = \"~/k\"\n"
		"store_path = \"~\"\n"
		"grpc_listen = \"unix://~/s.sock\"\n"
		"[bridge]\ntls_cert = \"~/c.pem\"\ntls_key = \"~/k.pem\"\n"
		"[policy]\naudit_log_path = \"~/audit.jsonl\"\n");
	struct aa_config c;
	struct aa_config_result r;
	assert_int_equal(LOAD(&c, &r, "--config", "~/tilde.toml"), 0);
	assert_string_equal(c.config_path, in_home("/tilde.toml"));
	assert_string_equal(c.key_path, in_home("/k"));
	assert_string_equal(c.store_path, home);
	char sock[256];
	snprintf(sock, sizeof sock, "unix://%s/s.sock", home);
	assert_string_equal(c.grpc_listen, sock);
	assert_string_equal(c.bridge.tls_cert, in_home("/c.pem"));
	assert_string_equal(c.bridge.tls_key, in_home("/k.pem"));
	assert_string_equal(c.policy.audit_log_path, in_home("/audit.jsonl"));
	aa_config_free(&c);

	/* Flags too, and "~user" is left alone. */
	assert_int_equal(LOAD(&c, &r, "--key=~/x", "--store-path", "~other/data"), 0);
	assert_string_equal(c.key_path, in_home("/x"));
	assert_string_equal(c.store_path, "~other/data");
	aa_config_free(&c);
}

static void test_home_falls_back_to_password_database(void **state)
{
	struct passwd *pw = getpwuid(getuid());
	if (!pw || !pw->pw_dir || !*pw->pw_dir)
		skip();
	unsetenv("HOME");
	struct aa_config c;
	struct aa_config_result r;
	int rc = LOAD(&c, &r, "--key", "~");
	setenv("HOME", home, 1);
	assert_int_equal(rc, 0);
	assert_string_equal(c.key_path, pw->pw_dir);
	char want[512];
	snprintf(want, sizeof want, "%s/.agentanycast/data", pw->pw_dir);
	if (strcmp(pw->pw_dir, "/") != 0)
		assert_string_equal(c.store_path, want);
	aa_config_free(&c);
}

static void test_comma_lists_are_trimmed(void **state)
{
	setenv("AGENTANYCAST_BOOTSTRAP_PEERS",
		" /ip4/1.2.3.4/tcp/1/p2p/" PEER " , ,\t/ip4/1.2.3.5/tcp/1/p2p/" PEER ",", 1);
	setenv("AGENTANYCAST_REGISTRY_ADDRS", "relay-a:50052,  relay-b:50052 ", 1);
	struct aa_config c;
	struct aa_config_result r;
	assert_int_equal(LOAD(&c, &r, "--listen-addrs", " /ip4/0.0.0.0/tcp/4001 ,/ip6/::/tcp/4001"), 0);
	assert_int_equal(c.bootstrap_peers.n, 2);
	assert_string_equal(c.bootstrap_peers.items[0], "/ip4/1.2.3.4/tcp/1/p2p/" PEER);
	assert_string_equal(c.bootstrap_peers.items[1], "/ip4/1.2.3.5/tcp/1/p2p/" PEER);
	assert_int_equal(c.anycast.registry_addrs.n, 2);
	assert_string_equal(c.anycast.registry_addrs.items[1], "relay-b:50052");
	assert_int_equal(c.listen_addrs.n, 2);
	assert_string_equal(c.listen_addrs.items[0], "/ip4/0.0.0.0/tcp/4001");
	aa_config_free(&c);

	/* A list of nothing but separators leaves the configured list alone. */
	setenv("AGENTANYCAST_BOOTSTRAP_PEERS", " , ", 1);
	assert_int_equal(load_text(&c, &r,
				 "bootstrap_peers = [\"/ip4/9.9.9.9/tcp/1/p2p/" PEER "\"]\n"),
		0);
	assert_int_equal(c.bootstrap_peers.n, 1);
	assert_string_equal(c.bootstrap_peers.items[0], "/ip4/9.9.9.9/tcp/1/p2p/" PEER);
	aa_config_free(&c);
}

static void test_env_enable_mdns_only_disables(void **state)
{
	struct aa_config c;
	struct aa_config_result r;
	setenv("AGENTANYCAST_ENABLE_MDNS", "true", 1);
	assert_int_equal(load_text(&c, &r, "enable_mdns = false\n"), 0);
	assert_false(c.enable_mdns);
	aa_config_free(&c);
	const char *off[] = { "false", "0" };
	for (size_t i = 0; i < 2; i++) {
		setenv("AGENTANYCAST_ENABLE_MDNS", off[i], 1);
		assert_int_equal(LOAD(&c, &r), 0);
		assert_false(c.enable_mdns);
		assert_string_equal(aa_config_source(&c, "enable_mdns"),
			"environment AGENTANYCAST_ENABLE_MDNS");
		aa_config_free(&c);
	}
	setenv("AGENTANYCAST_ENABLE_MDNS", "no", 1);
	assert_int_equal(LOAD(&c, &r), 0);
	assert_true(c.enable_mdns);
	assert_contains(r.warnings, "AGENTANYCAST_ENABLE_MDNS");
	aa_config_free(&c);
}

static void test_env_booleans_and_sample_rate(void **state)
{
	struct aa_config c;
	struct aa_config_result r;
	setenv("AGENTANYCAST_ANP_ENABLED", "1", 1);
	setenv("AGENTANYCAST_TELEMETRY_ENABLED", "maybe", 1);
	setenv("AGENTANYCAST_SAMPLE_RATE", "0.5", 1);
	assert_int_equal(LOAD(&c, &r), 0);
	assert_true(c.anp.enabled);
	assert_false(c.telemetry.enabled);
	assert_contains(r.warnings, "AGENTANYCAST_TELEMETRY_ENABLED");
	assert_true(c.telemetry.sample_rate == 0.5);
	aa_config_free(&c);

	setenv("AGENTANYCAST_SAMPLE_RATE", "half", 1);
	assert_int_equal(LOAD(&c, &r), 0);
	assert_true(c.telemetry.sample_rate == 1.0);
	assert_contains(r.warnings, "AGENTANYCAST_SAMPLE_RATE");
	aa_config_free(&c);
}

static void test_listen_env_and_flags_enable_their_server(void **state)
{
	struct aa_config c;
	struct aa_config_result r;
	setenv("AGENTANYCAST_METRICS_LISTEN", "127.0.0.1:9100", 1);
	setenv("AGENTANYCAST_MCP_LISTEN", ":3001", 1);
	setenv("AGENTANYCAST_ANP_LISTEN", ":8091", 1); /* sets the address only */
	assert_int_equal(LOAD(&c, &r), 0);
	assert_true(c.metrics.enabled);
	assert_string_equal(c.metrics.listen, "127.0.0.1:9100");
	assert_true(c.mcp.enabled);
	assert_false(c.anp.enabled);
	assert_string_equal(c.anp.listen, ":8091");
	aa_config_free(&c);
	unsetenv("AGENTANYCAST_METRICS_LISTEN");

	assert_int_equal(LOAD(&c, &r, "--metrics-listen=:9200", "--bridge-listen", ":8181",
				 "--otlp-endpoint", "localhost:4317", "--nats-broker", "nats://n:4222"),
		0);
	assert_true(c.metrics.enabled);
	assert_string_equal(c.metrics.listen, ":9200");
	assert_true(c.bridge.enabled);
	assert_true(c.telemetry.enabled);
	assert_true(c.transport.nats.enabled);
	assert_string_equal(aa_config_source(&c, "bridge.enabled"), "flag --bridge-listen");
	aa_config_free(&c);
}

static void test_dump_masks_secrets(void **state)
{
	struct aa_config c;
	struct aa_config_result r;
	assert_int_equal(load_text(&c, &r, "[transport.nats]\nauth_pass = \"hunter2\"\n"), 0);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	aa_config_dump(&c, f);
	fclose(f);
	assert_null(strstr(text, "hunter2"));
	assert_contains(text, "limits.max_connections = 1024  # default");
	free(text);
	aa_config_free(&c);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_defaults_match_reference),
		T(test_file_overrides_defaults),
		T(test_default_config_file_is_read_when_present),
		T(test_missing_explicit_config_is_an_error),
		T(test_env_overrides_file),
		T(test_flags_override_env),
		T(test_source_names_file_line_and_column),
		T(test_flag_accepts_every_go_syntax),
		T(test_bool_flag_syntaxes),
		T(test_bool_flag_rejects_bad_value),
		T(test_transport_and_namespace_are_accepted),
		T(test_positional_arguments_are_returned),
		T(test_unknown_flag_is_a_usage_error),
		T(test_missing_flag_value_is_a_usage_error),
		T(test_help_and_version_exit_zero),
		T(test_help_text_lists_every_flag),
		T(test_empty_flag_value_changes_nothing),
		T(test_unknown_key_reports_line_and_column),
		T(test_quoted_dotted_key_is_not_a_path),
		T(test_wrong_type_names_expected_and_actual),
		T(test_bad_duration_is_rejected),
		T(test_bad_multiaddr_is_rejected),
		T(test_listen_addresses_are_checked),
		T(test_grpc_listen_forms),
		T(test_enumerated_values_are_checked),
		T(test_limits_reject_nonsense),
		T(test_conflicting_settings_are_rejected),
		T(test_policy_tables_are_checked),
		T(test_toml_syntax_error_reports_position),
		T(test_tilde_is_expanded_in_paths),
		T(test_home_falls_back_to_password_database),
		T(test_comma_lists_are_trimmed),
		T(test_env_enable_mdns_only_disables),
		T(test_env_booleans_and_sample_rate),
		T(test_listen_env_and_flags_enable_their_server),
		T(test_dump_masks_secrets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
