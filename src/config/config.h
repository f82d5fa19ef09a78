/* config: the daemon's settings. aa_config_load() starts from built-in defaults, then applies
 * the TOML file, then AGENTANYCAST_* environment variables, then command-line flags
 * (REFERENCE.md H.1–H.4), validating every value as it arrives and the combination at the end
 * (DECISIONS.md 11). Each value remembers where it came from (file:line:col, variable, flag)
 * so errors and logs can cite it. A struct aa_config owns all its strings and arrays;
 * aa_config_free() releases them. Loading reads the environment and the file system: call it
 * once from main before the loop starts; afterwards the struct is read-only and any thread
 * may read it. */
#ifndef AA_CONFIG_CONFIG_H
#define AA_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A Go-style duration ("24h", "1m30s"): the parsed value and the text it was written as. */
struct aa_config_duration {
	uint64_t ns;
	char *text;
};

/* An owned array of owned strings. */
struct aa_config_list {
	char **items;
	size_t n;
};

/* [[policy.acl]]: rules are tried in order, the first match wins; when rules exist and none
 * matches, access is denied (REFERENCE.md H.2). */
struct aa_config_acl_rule {
	char *source; /* glob over the caller's did:key or PeerID */
	char *skill;  /* glob over the skill id */
	bool allow;
};

/* [[policy.rate_limit.overrides]] */
struct aa_config_rate_override {
	char *source;
	int64_t rps;
};

struct aa_config {
	char *config_path;  /* the file read (or looked for, when the default path is absent) */
	bool config_loaded; /* false when the default file did not exist */

	/* Top level (REFERENCE.md H.2, plus offline_queue_ttl from DECISIONS.md 4). */
	char *key_path;                    /* "" = ephemeral key, never saved (REFERENCE.md A.1) */
	struct aa_config_list listen_addrs; /* multiaddrs */
	char *grpc_listen;                 /* unix://PATH or tcp://HOST:PORT; a bare path becomes unix:// */
	struct aa_config_list bootstrap_peers; /* multiaddrs ending in /p2p/<id> */
	bool enable_relay_client;
	bool enable_hole_punching;
	bool enable_quic; /* accepted and kept; no QUIC transport yet */
	bool enable_webtransport;
	bool enable_mdns;
	char *store_path;
	struct aa_config_duration offline_queue_ttl;
	char *log_level;  /* debug, info, warn or error */
	char *log_format; /* json or text */

	struct {
		bool enabled;
		char *listen; /* HOST:PORT */
		char *tls_cert;
		char *tls_key;
		struct aa_config_list cors_origins;
	} bridge;

	struct {
		char *routing_strategy; /* random, round-robin or least-latency */
		struct aa_config_duration cache_ttl;
		bool auto_register;
		char *registry_addr;
		struct aa_config_list registry_addrs;
		bool enable_dht;
		char *dht_mode; /* "", auto, server or client */
	} anycast;

	struct {
		bool enabled;
		char *listen;
	} metrics, mcp, anp;

	struct {
		char *did_web;
		char *did_dns_domain;
	} identity;

	struct {
		bool enabled;
		char *otlp_endpoint;
		double sample_rate; /* 0.0 .. 1.0 */
		bool insecure;
	} telemetry;

	struct {
		struct {
			bool enabled;
			char *broker; /* nats://… or tls://… */
			char *subject_prefix;
			char *auth_user;
			char *auth_pass;
			bool tls_enabled;
			char *tls_cert_file;
			char *tls_key_file;
		} nats;
	} transport;

	struct {
		char *audit_log_path;
		struct aa_config_acl_rule *acl;
		size_t n_acl;
		struct {
			int64_t default_rps; /* 0 = no rate limit */
			struct aa_config_rate_override *overrides;
			size_t n_overrides;
		} rate_limit;
	} policy;

	/* [limits]: our own table (DECISIONS.md 12). All positive; conn_rate_per_ip 0 = unlimited. */
	struct {
		int64_t max_connections;
		int64_t max_pending_handshakes;
		int64_t max_streams_per_conn;
		int64_t max_inbound_streams_pending; /* inbound yamux streams not yet acknowledged */
		int64_t conn_rate_per_ip;            /* new connections per second per remote IP */
		struct aa_config_duration handshake_timeout;
		struct aa_config_duration idle_timeout;
		struct aa_config_duration dial_timeout;
		int64_t yamux_max_window; /* bytes */
		int64_t max_message_size; /* bytes */
		/* Received bytes a connection's stream handlers have not taken yet: per connection,
		 * and over all connections. A stream that would go beyond is reset. */
		int64_t max_conn_buffer;  /* bytes */
		int64_t max_buffer_total; /* bytes */
	} limits;

	/* Settings that exist only on the command line. */
	struct {
		bool mcp_stdio;  /* --mcp: stdout belongs to MCP JSON-RPC; no PEER_ID lines */
		char *mcp_proxy; /* --mcp-proxy command line, "" if none */
		char *transport; /* --transport, passed by the SDKs; stored, not interpreted */
		char *namespace; /* --namespace, likewise */
	} cli;

	char **origins_; /* private: where each value came from */
};

/* What aa_config_load() wants its caller to do besides reading the config. */
struct aa_config_result {
	bool exit_now;   /* --help or --version was printed to stdout: exit with exit_status */
	int exit_status; /* 0 then */
	/* On error: the complete message for stderr (no trailing newline), e.g.
	 * "/etc/a.toml:3:19: key 'limits.max_connections': expected integer, got string". */
	char message[1024];
	/* Newline-separated notices for the log once it is set up ("" if none), e.g. an
	 * environment value ignored as the reference ignores it. */
	char warnings[1024];
};

/* Builds the configuration from defaults, file, environment and argv[1..argc) (Go `flag`
 * syntax: -name, --name, --name=value, --name value; parsing stops at `--` or the first
 * argument that is not a flag). *first_positional receives the index of the first
 * positional argument (argc if none) so main can run subcommands.
 * Returns 0 with *cfg filled; 0 with res->exit_now set and *cfg empty after --help/--version
 * (already printed to stdout); AA_EUSAGE for a command-line mistake (exit 2); AA_ECONFIG for
 * a bad file or value (exit 1). On error nothing is printed: res->message says what and
 * where, and *cfg holds nothing to free. Typical use in main:
 *
 *   int rc = aa_config_load(&cfg, argc, argv, &pos, &res);
 *   if (rc < 0) {
 *           fprintf(stderr, "agentanycastd: %s\n", res.message);
 *           return rc == AA_EUSAGE ? 2 : 1;
 *   }
 *   if (res.exit_now)
 *           return res.exit_status;
 *   ... set up logging, then log each line of res.warnings ...
 */
int aa_config_load(struct aa_config *cfg, int argc, char **argv, int *first_positional,
	struct aa_config_result *res);

/* Fills *cfg with the built-in defaults only (paths under the real home directory).
 * Returns 0 or AA_ECONFIG (no home directory), with the reason in res->message. */
int aa_config_defaults(struct aa_config *cfg, struct aa_config_result *res);

/* Releases everything *cfg owns and zeroes it. Safe on a zeroed or already freed struct. */
void aa_config_free(struct aa_config *cfg);

/* Where the current value of `key` (dotted TOML name: "limits.max_connections", or
 * "cli.transport" etc.) came from: "default", "FILE:LINE:COL", "environment NAME" or
 * "flag --name". Borrowed from cfg; NULL if there is no such key. */
const char *aa_config_source(const struct aa_config *cfg, const char *key);

/* Writes the full --help text (every flag, its meaning and default) to out. */
void aa_config_usage(FILE *out);

/* Writes every setting as `key = value  # source`, secrets masked, for debugging. */
void aa_config_dump(const struct aa_config *cfg, FILE *out);

#endif
