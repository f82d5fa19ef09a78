/* config_keys: every setting the daemon knows (REFERENCE.md H.2 plus our own), with its type,
 * bounds and value check. Checks run on each value as it arrives from the file, the
 * environment or a flag, so an error can name exactly where the bad value came from. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"
#include "config/config_impl.h"
#include "p2p/multiaddr.h"

/* sun_path holds 108 bytes including the terminating NUL (unix(7)). */
#define UNIX_PATH_MAX_LEN 107

/* ---- value checks ------------------------------------------------------------------------- */

static int check_nonempty(char **v, char *why, size_t n)
{
	if (**v == '\0') {
		snprintf(why, n, "must not be empty");
		return AA_EINVAL;
	}
	return 0;
}

static int check_one_of(const char *v, const char *const *allowed, const char *list, char *why,
	size_t n)
{
	for (size_t i = 0; allowed[i]; i++)
		if (strcmp(v, allowed[i]) == 0)
			return 0;
	snprintf(why, n, "invalid value \"%s\" (want %s)", v, list);
	return AA_EINVAL;
}

static int check_log_level(char **v, char *why, size_t n)
{
	static const char *const ok[] = { "debug", "info", "warn", "error", NULL };
	return check_one_of(*v, ok, "debug, info, warn or error", why, n);
}

static int check_log_format(char **v, char *why, size_t n)
{
	static const char *const ok[] = { "json", "text", NULL };
	return check_one_of(*v, ok, "json or text", why, n);
}

static int check_dht_mode(char **v, char *why, size_t n)
{
	/* REFERENCE.md A.6: "" behaves as auto. */
	static const char *const ok[] = { "", "auto", "server", "client", NULL };
	return check_one_of(*v, ok, "auto, server or client", why, n);
}

static int check_routing_strategy(char **v, char *why, size_t n)
{
	/* DECISIONS.md 7 names the strategies we implement. */
	static const char *const ok[] = { "random", "round-robin", "least-latency", NULL };
	return check_one_of(*v, ok, "random, round-robin or least-latency", why, n);
}

static int check_nats_broker(char **v, char *why, size_t n)
{
	if (**v == '\0' || strncmp(*v, "nats://", 7) == 0 || strncmp(*v, "tls://", 6) == 0)
		return 0;
	snprintf(why, n, "invalid broker \"%s\" (want nats://HOST:PORT or tls://HOST:PORT)", *v);
	return AA_EINVAL;
}

static int check_multiaddr(const char *v, bool need_p2p, char *why, size_t n)
{
	struct multiaddr ma;
	const char *reason = NULL;
	if (multiaddr_parse(v, &ma, &reason) < 0) {
		snprintf(why, n, "\"%s\" is not a valid multiaddr (%s)", v,
			reason ? reason : "malformed");
		return AA_EINVAL;
	}
	int rc = 0;
	struct multiaddr_component c;
	if (need_p2p && !multiaddr_find(&ma, MA_P2P, &c)) {
		/* REFERENCE.md A.7: bootstrap peers are dialled by PeerID. */
		snprintf(why, n, "\"%s\" has no /p2p/<PeerID> component", v);
		rc = AA_EINVAL;
	}
	multiaddr_free(&ma);
	return rc;
}

static int check_listen_multiaddr(char **v, char *why, size_t n)
{
	return check_multiaddr(*v, false, why, n);
}

static int check_peer_multiaddr(char **v, char *why, size_t n)
{
	return check_multiaddr(*v, true, why, n);
}

/* HOST:PORT as Go's net.Listen takes it: ":8080", "127.0.0.1:8080", "[::1]:8080",
 * "localhost:8080". The port is decimal 0..65535. */
static int check_hostport_text(const char *v, char *why, size_t n)
{
	const char *port;
	if (v[0] == '[') {
		const char *close = strchr(v, ']');
		if (!close) {
			snprintf(why, n, "\"%s\": missing ']' after the IPv6 address", v);
			return AA_EINVAL;
		}
		char host[INET6_ADDRSTRLEN + 1];
		size_t hl = (size_t)(close - v - 1);
		struct in6_addr a6;
		if (hl >= sizeof host) {
			snprintf(why, n, "\"%s\": bad IPv6 address", v);
			return AA_EINVAL;
		}
		memcpy(host, v + 1, hl);
		host[hl] = '\0';
		if (inet_pton(AF_INET6, host, &a6) != 1) {
			snprintf(why, n, "\"%s\": bad IPv6 address", v);
			return AA_EINVAL;
		}
		if (close[1] != ':') {
			snprintf(why, n, "\"%s\": want HOST:PORT, e.g. [::1]:8080", v);
			return AA_EINVAL;
		}
		port = close + 2;
	} else {
		const char *colon = strrchr(v, ':');
		if (!colon) {
			snprintf(why, n, "\"%s\": want HOST:PORT, e.g. :8080 or 127.0.0.1:8080", v);
			return AA_EINVAL;
		}
		size_t hl = (size_t)(colon - v);
		if (memchr(v, ':', hl)) {
			snprintf(why, n, "\"%s\": an IPv6 host must be in brackets, e.g. [::1]:8080", v);
			return AA_EINVAL;
		}
		bool numeric = hl > 0;
		for (size_t i = 0; i < hl; i++) {
			char c = v[i];
			bool digit = c >= '0' && c <= '9';
			bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
			if (!digit && !alpha && c != '.' && c != '-' && c != '_') {
				snprintf(why, n, "\"%s\": bad host name", v);
				return AA_EINVAL;
			}
			if (!digit && c != '.')
				numeric = false;
		}
		if (numeric) {
			char host[INET_ADDRSTRLEN + 1];
			struct in_addr a4;
			if (hl >= sizeof host) {
				snprintf(why, n, "\"%s\": bad IPv4 address", v);
				return AA_EINVAL;
			}
			memcpy(host, v, hl);
			host[hl] = '\0';
			if (inet_pton(AF_INET, host, &a4) != 1) {
				snprintf(why, n, "\"%s\": bad IPv4 address", v);
				return AA_EINVAL;
			}
		}
		port = colon + 1;
	}
	size_t pl = strlen(port);
	long val = 0;
	if (pl == 0 || pl > 5 || strspn(port, "0123456789") != pl) {
		snprintf(why, n, "\"%s\": bad port (want 0..65535)", v);
		return AA_EINVAL;
	}
	val = strtol(port, NULL, 10);
	if (val > 65535) {
		snprintf(why, n, "\"%s\": port %ld out of range 0..65535", v, val);
		return AA_EINVAL;
	}
	return 0;
}

static int check_hostport(char **v, char *why, size_t n)
{
	return check_hostport_text(*v, why, n);
}

/* grpc_listen: unix://PATH, tcp://HOST:PORT, or a bare socket path (DECISIONS.md "must stay
 * identical"). A bare path is rewritten as unix://PATH; "~" is expanded in the path. */
static int check_grpc_listen(char **v, char *why, size_t n)
{
	const char *s = *v;
	if (*s == '\0') {
		snprintf(why, n, "must not be empty");
		return AA_EINVAL;
	}
	if (strncmp(s, "tcp://", 6) == 0)
		return check_hostport_text(s + 6, why, n);
	const char *path = s;
	if (strncmp(s, "unix://", 7) == 0)
		path = s + 7;
	else if (strstr(s, "://")) {
		snprintf(why, n, "\"%s\": unsupported scheme (want unix://PATH or tcp://HOST:PORT)", s);
		return AA_EINVAL;
	}
	if (*path == '\0') {
		snprintf(why, n, "\"%s\": empty socket path", s);
		return AA_EINVAL;
	}
	char *expanded;
	if (aa_config__expand_home(path, &expanded) < 0) {
		snprintf(why, n, "cannot expand \"~\": no home directory (set HOME)");
		return AA_EINVAL;
	}
	if (strlen(expanded) > UNIX_PATH_MAX_LEN) {
		snprintf(why, n, "socket path \"%s\" is longer than %d bytes", expanded,
			UNIX_PATH_MAX_LEN);
		free(expanded);
		return AA_EINVAL;
	}
	char *out = aa_sprintf("unix://%s", expanded);
	free(expanded);
	free(*v);
	*v = out;
	return 0;
}

/* ---- the key table ------------------------------------------------------------------------ */

#define OFF(f) offsetof(struct aa_config, f)
#define I32MAX INT64_C(2147483647)

const struct aa_config__key aa_config__keys[] = {
	{ "key_path", CFG_PATH, OFF(key_path), true, 0, 0, NULL },
	{ "listen_addrs", CFG_LIST, OFF(listen_addrs), true, 0, 0, check_listen_multiaddr },
	{ "grpc_listen", CFG_STRING, OFF(grpc_listen), true, 0, 0, check_grpc_listen },
	{ "bootstrap_peers", CFG_LIST, OFF(bootstrap_peers), true, 0, 0, check_peer_multiaddr },
	{ "enable_relay_client", CFG_BOOL, OFF(enable_relay_client), true, 0, 0, NULL },
	{ "enable_hole_punching", CFG_BOOL, OFF(enable_hole_punching), true, 0, 0, NULL },
	{ "enable_quic", CFG_BOOL, OFF(enable_quic), true, 0, 0, NULL },
	{ "enable_webtransport", CFG_BOOL, OFF(enable_webtransport), true, 0, 0, NULL },
	{ "enable_mdns", CFG_BOOL, OFF(enable_mdns), true, 0, 0, NULL },
	{ "store_path", CFG_PATH, OFF(store_path), true, 0, 0, check_nonempty },
	{ "offline_queue_ttl", CFG_DURATION, OFF(offline_queue_ttl), true, 1, 0, NULL },
	{ "log_level", CFG_STRING, OFF(log_level), true, 0, 0, check_log_level },
	{ "log_format", CFG_STRING, OFF(log_format), true, 0, 0, check_log_format },

	{ "bridge.enabled", CFG_BOOL, OFF(bridge.enabled), true, 0, 0, NULL },
	{ "bridge.listen", CFG_STRING, OFF(bridge.listen), true, 0, 0, check_hostport },
	{ "bridge.tls_cert", CFG_PATH, OFF(bridge.tls_cert), true, 0, 0, NULL },
	{ "bridge.tls_key", CFG_PATH, OFF(bridge.tls_key), true, 0, 0, NULL },
	{ "bridge.cors_origins", CFG_LIST, OFF(bridge.cors_origins), true, 0, 0, NULL },

	{ "anycast.routing_strategy", CFG_STRING, OFF(anycast.routing_strategy), true, 0, 0,
		check_routing_strategy },
	{ "anycast.cache_ttl", CFG_DURATION, OFF(anycast.cache_ttl), true, 0, 0, NULL },
	{ "anycast.auto_register", CFG_BOOL, OFF(anycast.auto_register), true, 0, 0, NULL },
	{ "anycast.registry_addr", CFG_STRING, OFF(anycast.registry_addr), true, 0, 0, NULL },
	{ "anycast.registry_addrs", CFG_LIST, OFF(anycast.registry_addrs), true, 0, 0, NULL },
	{ "anycast.enable_dht", CFG_BOOL, OFF(anycast.enable_dht), true, 0, 0, NULL },
	{ "anycast.dht_mode", CFG_STRING, OFF(anycast.dht_mode), true, 0, 0, check_dht_mode },

	{ "metrics.enabled", CFG_BOOL, OFF(metrics.enabled), true, 0, 0, NULL },
	{ "metrics.listen", CFG_STRING, OFF(metrics.listen), true, 0, 0, check_hostport },
	{ "mcp.enabled", CFG_BOOL, OFF(mcp.enabled), true, 0, 0, NULL },
	{ "mcp.listen", CFG_STRING, OFF(mcp.listen), true, 0, 0, check_hostport },
	{ "anp.enabled", CFG_BOOL, OFF(anp.enabled), true, 0, 0, NULL },
	{ "anp.listen", CFG_STRING, OFF(anp.listen), true, 0, 0, check_hostport },

	{ "identity.did_web", CFG_STRING, OFF(identity.did_web), true, 0, 0, NULL },
	{ "identity.did_dns_domain", CFG_STRING, OFF(identity.did_dns_domain), true, 0, 0, NULL },

	{ "telemetry.enabled", CFG_BOOL, OFF(telemetry.enabled), true, 0, 0, NULL },
	{ "telemetry.otlp_endpoint", CFG_STRING, OFF(telemetry.otlp_endpoint), true, 0, 0, NULL },
	{ "telemetry.sample_rate", CFG_FLOAT, OFF(telemetry.sample_rate), true, 0, 0, NULL },
	{ "telemetry.insecure", CFG_BOOL, OFF(telemetry.insecure), true, 0, 0, NULL },

	{ "transport.nats.enabled", CFG_BOOL, OFF(transport.nats.enabled), true, 0, 0, NULL },
	{ "transport.nats.broker", CFG_STRING, OFF(transport.nats.broker), true, 0, 0,
		check_nats_broker },
	{ "transport.nats.subject_prefix", CFG_STRING, OFF(transport.nats.subject_prefix), true, 0,
		0, NULL },
	{ "transport.nats.auth_user", CFG_STRING, OFF(transport.nats.auth_user), true, 0, 0, NULL },
	{ "transport.nats.auth_pass", CFG_STRING, OFF(transport.nats.auth_pass), true, 0, 0, NULL },
	{ "transport.nats.tls_enabled", CFG_BOOL, OFF(transport.nats.tls_enabled), true, 0, 0, NULL },
	{ "transport.nats.tls_cert_file", CFG_PATH, OFF(transport.nats.tls_cert_file), true, 0, 0,
		NULL },
	{ "transport.nats.tls_key_file", CFG_PATH, OFF(transport.nats.tls_key_file), true, 0, 0,
		NULL },

	{ "policy.audit_log_path", CFG_PATH, OFF(policy.audit_log_path), true, 0, 0, NULL },
	{ "policy.acl", CFG_ACL, OFF(policy.acl), true, 0, 0, NULL },
	{ "policy.rate_limit.default_rps", CFG_INT, OFF(policy.rate_limit.default_rps), true, 0,
		I32MAX, NULL },
	{ "policy.rate_limit.overrides", CFG_OVERRIDES, OFF(policy.rate_limit.overrides), true, 0, 0,
		NULL },

	{ "limits.max_connections", CFG_INT, OFF(limits.max_connections), true, 1, I32MAX, NULL },
	{ "limits.max_pending_handshakes", CFG_INT, OFF(limits.max_pending_handshakes), true, 1,
		I32MAX, NULL },
	{ "limits.max_streams_per_conn", CFG_INT, OFF(limits.max_streams_per_conn), true, 1, I32MAX,
		NULL },
	{ "limits.max_inbound_streams_pending", CFG_INT, OFF(limits.max_inbound_streams_pending),
		true, 1, I32MAX, NULL },
	{ "limits.conn_rate_per_ip", CFG_INT, OFF(limits.conn_rate_per_ip), true, 0, I32MAX, NULL },
	{ "limits.handshake_timeout", CFG_DURATION, OFF(limits.handshake_timeout), true, 1, 0, NULL },
	{ "limits.idle_timeout", CFG_DURATION, OFF(limits.idle_timeout), true, 1, 0, NULL },
	{ "limits.dial_timeout", CFG_DURATION, OFF(limits.dial_timeout), true, 1, 0, NULL },
	/* yamux spec: the initial window is 256 KiB, so a smaller maximum cannot work; windows
	 * are 32-bit. */
	{ "limits.yamux_max_window", CFG_INT, OFF(limits.yamux_max_window), true, 262144, I32MAX,
		NULL },
	{ "limits.max_message_size", CFG_INT, OFF(limits.max_message_size), true, 1, I32MAX, NULL },
	{ "limits.max_conn_buffer", CFG_INT, OFF(limits.max_conn_buffer), true, 262144, I32MAX, NULL },
	{ "limits.max_buffer_total", CFG_INT, OFF(limits.max_buffer_total), true, 262144, INT64_MAX, NULL },

	{ "cli.mcp_stdio", CFG_BOOL, OFF(cli.mcp_stdio), false, 0, 0, NULL },
	{ "cli.mcp_proxy", CFG_STRING, OFF(cli.mcp_proxy), false, 0, 0, NULL },
	{ "cli.transport", CFG_STRING, OFF(cli.transport), false, 0, 0, NULL },
	{ "cli.namespace", CFG_STRING, OFF(cli.namespace), false, 0, 0, NULL },
};
const size_t aa_config__nkeys = sizeof aa_config__keys / sizeof aa_config__keys[0];

static const char *const table_names[] = {
	"bridge", "anycast", "metrics", "mcp", "anp", "identity", "telemetry", "transport",
	"transport.nats", "policy", "policy.rate_limit", "limits",
};

int aa_config__key_find(const char *name)
{
	for (size_t i = 0; i < aa_config__nkeys; i++)
		if (strcmp(aa_config__keys[i].name, name) == 0)
			return (int)i;
	return -1;
}

bool aa_config__is_table(const char *name)
{
	for (size_t i = 0; i < sizeof table_names / sizeof table_names[0]; i++)
		if (strcmp(table_names[i], name) == 0)
			return true;
	return false;
}
