/* agentanycastd: the node daemon's main. It reads the configuration, sets up logging, loads
 * (or creates) the node identity and the state directories, then runs one libuv loop until
 * SIGINT or SIGTERM, and exits 0 after closing every handle.
 *
 * This file is the only place with process-wide state: the `daemon` struct below, which
 * owns every module the process runs. Modules receive what they need from it. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "a2a/a2a.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/fs.h"
#include "base/log.h"
#include "config/config.h"
#include "http/bridge.h"
#include "http/node_metrics.h"
#include "http/ops.h"
#include "http/outbound.h"
#include "p2p/bootstrap.h"
#include "p2p/host.h"
#include "p2p/identify.h"
#include "p2p/keys.h"
#include "p2p/mdns.h"
#include "p2p/multiaddr.h"
#include "p2p/peerid.h"
#include "p2p/perf.h"
#include "p2p/ping.h"
#include "rpc/grpc.h"
#include "rpc/node_service.h"
#include "store/store.h"

struct daemon {
	struct aa_config cfg;
	uv_loop_t loop;
	uv_signal_t sigint;
	uv_signal_t sigterm;
	struct p2p_keypair identity;
	struct p2p_peer_id peer_id;
	char peer_id_text[P2P_PEER_ID_STRING_MAX];
	struct p2p_host *host;
	struct p2p_identify *identify;
	struct p2p_bootstrap *bootstrap;
	struct mdns_service *mdns;
	struct p2p_host_notifiee addr_watch;
	struct store *store;
	struct a2a_node *a2a;
	struct grpc_server *grpc;
	struct node_service *node_service;
	struct node_metrics *metrics;
	struct outbound *outbound;
	struct bridge *bridge;
	struct ops_server *ops;
	int64_t started_at_ms;
	uint64_t started_mono_ns;
	struct multiaddr *advertised; /* our listen addresses as mDNS announces them */
	size_t n_advertised;
	bool stopping;
	int exit_status;
};

/* Shutdown runs as a chain of asynchronous closes, each step in the callback of the one
 * before, from the outside in: gRPC (cancels SDK calls) → A2A engine → mDNS → host → store
 * → signal handles. Then uv_run() returns because nothing is left. */
static void on_store_closed(void *user)
{
	struct daemon *d = user;
	d->store = NULL;
	uv_close((uv_handle_t *)&d->sigint, NULL);
	uv_close((uv_handle_t *)&d->sigterm, NULL);
}

static void on_host_closed(void *user)
{
	struct daemon *d = user;
	d->host = NULL;
	if (d->store)
		store_close(d->store, on_store_closed, d);
	else
		on_store_closed(d);
}

static void free_advertised(struct daemon *d)
{
	for (size_t i = 0; i < d->n_advertised; i++)
		multiaddr_free(&d->advertised[i]);
	free(d->advertised);
	d->advertised = NULL;
	d->n_advertised = 0;
}

/* mDNS is closed (or never ran); now the host. */
static void close_host(void *user)
{
	struct daemon *d = user;
	d->mdns = NULL;
	free_advertised(d);
	if (d->host) {
		p2p_host_unsubscribe(d->host, &d->addr_watch);
		p2p_host_close(d->host, on_host_closed, d);
	} else {
		on_host_closed(d);
	}
}

static void on_a2a_closed(void *user)
{
	struct daemon *d = user;
	d->a2a = NULL;
	p2p_bootstrap_stop(d->bootstrap);
	d->bootstrap = NULL;
	p2p_identify_free(d->identify);
	d->identify = NULL;
	if (d->mdns)
		mdns_service_close(d->mdns, close_host, d);
	else
		close_host(d);
}

static void on_outbound_closed(void *user)
{
	struct daemon *d = user;
	d->outbound = NULL;
	/* Everything that counted into the metrics is closed. */
	node_metrics_free(d->metrics);
	d->metrics = NULL;
	if (d->a2a)
		a2a_node_close(d->a2a, on_a2a_closed, d);
	else
		on_a2a_closed(d);
}

static void on_grpc_closed(void *user)
{
	struct daemon *d = user;
	d->grpc = NULL;
	node_service_free(d->node_service);
	d->node_service = NULL;
	if (d->outbound)
		outbound_close(d->outbound, on_outbound_closed, d);
	else
		on_outbound_closed(d);
}

static void on_bridge_closed(void *user)
{
	struct daemon *d = user;
	d->bridge = NULL;
	if (d->grpc)
		grpc_server_close(d->grpc, on_grpc_closed, d);
	else
		on_grpc_closed(d);
}

static void on_ops_closed(void *user)
{
	struct daemon *d = user;
	d->ops = NULL;
	if (d->bridge)
		bridge_close(d->bridge, on_bridge_closed, d);
	else
		on_bridge_closed(d);
}

/* From the outside in: the HTTP faces (metrics, bridge), gRPC (cancels SDK calls), the
 * outbound HTTP client, then the engine and below. */
static void stop_daemon(struct daemon *d)
{
	if (d->stopping)
		return;
	d->stopping = true;
	if (d->ops)
		ops_server_close(d->ops, on_ops_closed, d);
	else
		on_ops_closed(d);
}

static void on_stop_signal(uv_signal_t *sig, int signum)
{
	struct daemon *d = sig->data;
	aa_log(AA_LOG_INFO, "shutting down", "signal", signum == SIGINT ? "SIGINT" : "SIGTERM", NULL);
	stop_daemon(d);
}

/* The socket path of a unix:// gRPC address, or NULL for tcp://. */
static const char *grpc_unix_path(const char *listen)
{
	if (strncmp(listen, "unix://", 7) == 0)
		return listen + 7;
	return NULL;
}

/* Private state directories (REFERENCE H.5): the store and the gRPC socket's directory,
 * both 0700. With the defaults this creates ~/.agentanycast itself. */
static int make_state_dirs(const struct aa_config *cfg)
{
	int rc = aa_mkdir_p(cfg->store_path, 0700);
	if (rc < 0) {
		aa_log(AA_LOG_ERROR, "cannot create store directory", "path", cfg->store_path,
		       "error", aa_strerror(rc), "detail", strerror(errno), NULL);
		return rc;
	}
	const char *sock = grpc_unix_path(cfg->grpc_listen);
	if (sock) {
		char dir[4096];
		if (aa_path_dirname(sock, dir, sizeof dir) == 0 && (rc = aa_mkdir_p(dir, 0700)) < 0) {
			aa_log(AA_LOG_ERROR, "cannot create socket directory", "path", dir,
			       "error", aa_strerror(rc), NULL);
			return rc;
		}
	}
	return 0;
}

static int load_identity(struct daemon *d)
{
	char why[256] = "";
	enum p2p_key_origin origin;
	int rc = p2p_key_load_or_create(d->cfg.key_path, &d->identity, &origin, why, sizeof why);
	if (rc < 0) {
		aa_log(AA_LOG_ERROR, "cannot load identity key", "path", d->cfg.key_path,
		       "error", why[0] ? why : aa_strerror(rc), NULL);
		return rc;
	}
	p2p_peer_id_from_public_key(d->identity.public_key, &d->peer_id);
	p2p_peer_id_to_string(&d->peer_id, d->peer_id_text, sizeof d->peer_id_text);
	static const char *const origin_names[] = { "loaded", "created", "ephemeral" };
	aa_log(AA_LOG_INFO, "identity ready", "peer_id", d->peer_id_text,
	       "key", origin_names[origin], "path", d->cfg.key_path, NULL);
	return 0;
}

/* stdout contract (REFERENCE H.4): PEER_ID= first, then LISTEN_ADDR= lines, flushed, since
 * the SDKs read it through a pipe. */
static void announce(const struct daemon *d)
{
	if (d->cfg.cli.mcp_stdio)
		return;
	printf("PEER_ID=%s\n", d->peer_id_text);
	struct multiaddr *addrs;
	size_t n;
	p2p_host_listen_addrs(d->host, &addrs, &n);
	for (size_t i = 0; i < n; i++) {
		char *text = NULL;
		if (multiaddr_to_string(&addrs[i], &text) == 0)
			printf("LISTEN_ADDR=%s/p2p/%s\n", text, d->peer_id_text);
		free(text);
		multiaddr_free(&addrs[i]);
	}
	free(addrs);
	fflush(stdout);
}

static void host_config_from(const struct aa_config *cfg, const struct p2p_keypair *id,
			     struct p2p_host_config *hc)
{
	p2p_host_config_default(hc);
	hc->identity = id;
	hc->max_connections = (uint32_t)cfg->limits.max_connections;
	hc->max_pending_handshakes = (uint32_t)cfg->limits.max_pending_handshakes;
	hc->conn_rate_per_ip = (uint32_t)cfg->limits.conn_rate_per_ip;
	hc->handshake_timeout_ns = cfg->limits.handshake_timeout.ns;
	hc->dial_timeout_ns = cfg->limits.dial_timeout.ns;
	hc->idle_timeout_ns = cfg->limits.idle_timeout.ns;
	hc->max_streams_per_conn = (uint32_t)cfg->limits.max_streams_per_conn;
	hc->max_inbound_streams_pending = (uint32_t)cfg->limits.max_inbound_streams_pending;
	hc->yamux_max_window = (uint32_t)cfg->limits.yamux_max_window;
	hc->max_conn_buffer = (size_t)cfg->limits.max_conn_buffer;
	hc->max_buffer_total = (size_t)cfg->limits.max_buffer_total;
}

/* Listens on every configured address. An address that cannot be bound is logged and
 * skipped (an IPv6 wildcard on a host without IPv6, say); none at all is fatal. */
static int start_listening(struct daemon *d)
{
	size_t ok = 0;
	for (size_t i = 0; i < d->cfg.listen_addrs.n; i++) {
		const char *text = d->cfg.listen_addrs.items[i];
		struct multiaddr ma;
		const char *why = NULL;
		if (multiaddr_parse(text, &ma, &why) < 0) {
			aa_log(AA_LOG_ERROR, "bad listen address", "addr", text, "error", why ? why : "", NULL);
			continue;
		}
		int rc = p2p_host_listen(d->host, &ma);
		multiaddr_free(&ma);
		if (rc == AA_ENOTSUP)
			aa_log(AA_LOG_WARN, "listen address not supported yet; skipped", "addr", text, NULL);
		else if (rc == 0)
			ok++;
	}
	if (ok == 0) {
		aa_log(AA_LOG_ERROR, "could not listen on any address", NULL);
		return AA_EIO;
	}
	return 0;
}

static void start_bootstrap(struct daemon *d)
{
	size_t n = d->cfg.bootstrap_peers.n;
	struct multiaddr *addrs = calloc(n ? n : 1, sizeof *addrs);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (multiaddr_parse(d->cfg.bootstrap_peers.items[i], &addrs[k], NULL) == 0)
			k++;
	p2p_bootstrap_start(d->host, addrs, k, &d->bootstrap);
	for (size_t i = 0; i < k; i++)
		multiaddr_free(&addrs[i]);
	free(addrs);
}

/* mDNS asks for our addresses when it answers; they are refreshed when they change. */
static size_t mdns_addrs(void *user, const struct multiaddr **addrs)
{
	struct daemon *d = user;
	*addrs = d->advertised;
	return d->n_advertised;
}

static void refresh_advertised(struct daemon *d)
{
	free_advertised(d);
	p2p_host_listen_addrs(d->host, &d->advertised, &d->n_advertised);
}

static void on_local_addrs_changed(void *user)
{
	struct daemon *d = user;
	refresh_advertised(d);
	if (d->mdns)
		mdns_service_announce(d->mdns);
}

static void on_mdns_dialled(void *user, struct p2p_conn *c, int err)
{
	if (!c)
		aa_log(AA_LOG_DEBUG, "mdns: dial failed", "error", aa_strerror(err), NULL);
}

/* REFERENCE A.5: a peer found on the LAN is dialled at once; failure is only logged. */
static void on_mdns_peer(void *user, const struct p2p_peer_id *peer, const struct multiaddr *addrs,
			 size_t n)
{
	struct daemon *d = user;
	if (d->stopping || !d->host || p2p_host_conn_to(d->host, peer))
		return;
	char text[P2P_PEER_ID_STRING_MAX];
	p2p_peer_id_to_string(peer, text, sizeof text);
	aa_log(AA_LOG_INFO, "mdns: peer discovered", "peer", text, NULL);
	p2p_host_dial(d->host, peer, addrs, n, on_mdns_dialled, d);
}

static int start_mdns(struct daemon *d)
{
	if (!d->cfg.enable_mdns)
		return 0;
	refresh_advertised(d);
	struct mdns_config mc = {
		.peer_id = d->peer_id_text,
		.listen_addrs = mdns_addrs,
		.enabled = true,
		.ipv6 = true,
	};
	int rc = mdns_service_new(&d->loop, &mc, on_mdns_peer, d, &d->mdns);
	if (rc < 0) {
		/* A LAN feature: without it the node still works through bootstrap peers. */
		aa_log(AA_LOG_WARN, "mdns unavailable", "error", aa_strerror(rc), NULL);
		d->mdns = NULL;
	}
	return 0;
}

static int start_p2p(struct daemon *d)
{
	struct p2p_host_config hc;
	host_config_from(&d->cfg, &d->identity, &hc);
	if (p2p_host_new(&d->loop, &hc, &d->host) < 0)
		return AA_EINVAL;
	p2p_ping_serve(d->host);
	p2p_perf_serve(d->host);
	p2p_identify_new(d->host, "agentanycastd/" AA_VERSION, &d->identify);
	if (start_listening(d) < 0)
		return AA_EIO;
	d->addr_watch = (struct p2p_host_notifiee){ .on_local_addrs_changed = on_local_addrs_changed,
						    .user = d };
	p2p_host_subscribe(d->host, &d->addr_watch);
	return start_mdns(d);
}

static void log_config_warnings(const char *warnings)
{
	const char *p = warnings;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char line[1024];
		snprintf(line, sizeof line, "%.*s", (int)n, p);
		aa_log(AA_LOG_WARN, "configuration notice", "detail", line, NULL);
		p += n + (nl ? 1 : 0);
	}
}

/* The durable store (REFERENCE C.7, DECISIONS 3–5); a corrupt or foreign file stops the
 * daemon with the store's own explanation. */
static int start_store(struct daemon *d)
{
	struct store_options o;
	store_options_default(&o);
	o.path = d->cfg.store_path;
	char why[256] = "";
	int rc = store_open(&d->loop, &o, &d->store, why, sizeof why);
	if (rc < 0) {
		aa_log(AA_LOG_ERROR, "cannot open the store", "path", d->cfg.store_path,
		       "error", why[0] ? why : aa_strerror(rc), NULL);
		d->store = NULL;
	}
	return rc;
}

static int start_a2a(struct daemon *d)
{
	struct a2a_config ac;
	a2a_config_default(&ac);
	ac.offline_queue_ttl_ns = d->cfg.offline_queue_ttl.ns;
	int rc = a2a_node_new(&d->loop, d->host, d->store, &d->identity, &ac, &d->a2a);
	if (rc < 0) {
		aa_log(AA_LOG_ERROR, "cannot start the A2A engine", "error", aa_strerror(rc), NULL);
		d->a2a = NULL;
	}
	return rc;
}

static int send_to_url(void *ctx, const char *url, const Agentanycast__V1__Message *msg,
		       void (*cb)(void *user, int err, const char *why, const Agentanycast__V1__Task *task),
		       void *user)
{
	return outbound_send_task(ctx, url, msg, cb, user);
}

static void cancel_url_task(void *ctx, const char *task_id)
{
	outbound_cancel(ctx, task_id); /* AA_ENOENT: not a task followed over HTTP */
}

/* REFERENCE D.1: the gRPC server starts after the host, the store, the engine and the
 * stdout lines; with unix:// the socket file appears only once it can answer. */
static int start_grpc(struct daemon *d)
{
	struct grpc_server_options go;
	grpc_server_options_default(&go);
	go.max_recv_message = (size_t)d->cfg.limits.max_message_size;
	go.max_send_message = (size_t)d->cfg.limits.max_message_size;
	d->grpc = grpc_server_new(&d->loop, &go);
	if (!d->grpc)
		return AA_EIO;
	struct node_metrics_sources ms = { .host = d->host, .a2a = d->a2a, .store = d->store, .grpc = d->grpc };
	if (node_metrics_new(&ms, &d->metrics) < 0)
		return AA_EIO;
	struct outbound_options oo;
	outbound_options_default(&oo);
	oo.max_response = (size_t)d->cfg.limits.max_message_size;
	if (outbound_new(&d->loop, d->a2a, d->metrics, &oo, &d->outbound) < 0) {
		aa_log(AA_LOG_ERROR, "cannot start the outbound HTTP client", NULL);
		return AA_EIO;
	}
	struct node_service_info info = {
		.version = "0.1.0",
		.started_at_ms = d->started_at_ms,
		.max_message_size = (size_t)d->cfg.limits.max_message_size,
		.send_to_url = send_to_url,
		.cancel_url_task = cancel_url_task,
		.send_to_url_ctx = d->outbound,
	};
	int rc = node_service_new(d->grpc, d->a2a, d->host, &info, &d->node_service);
	if (rc == 0) {
		char bound[512] = "";
		rc = grpc_server_listen(d->grpc, d->cfg.grpc_listen, bound, sizeof bound);
		if (rc == 0)
			aa_log(AA_LOG_INFO, "gRPC API listening", "addr", bound, NULL);
	}
	if (rc < 0)
		aa_log(AA_LOG_ERROR, "cannot serve the gRPC API", "addr", d->cfg.grpc_listen,
		       "error", aa_strerror(rc), NULL);
	return rc;
}

/* [bridge] (REFERENCE F.1, DECISIONS 9): standard A2A agents reach ours over HTTP. */
static int start_bridge(struct daemon *d)
{
	if (!d->cfg.bridge.enabled)
		return 0;
	struct bridge_options bo;
	bridge_options_default(&bo);
	bo.listen = d->cfg.bridge.listen;
	bo.tls_cert_file = d->cfg.bridge.tls_cert;
	bo.tls_key_file = d->cfg.bridge.tls_key;
	bo.cors_origins = (const char *const *)d->cfg.bridge.cors_origins.items;
	bo.n_cors_origins = d->cfg.bridge.cors_origins.n;
	bo.node_name = d->peer_id_text;
	char why[300] = "";
	int rc = bridge_new(&d->loop, d->a2a, d->metrics, &bo, &d->bridge, why, sizeof why);
	if (rc < 0) {
		aa_log(AA_LOG_ERROR, "cannot start the HTTP bridge", "addr", bo.listen, "error", why, NULL);
		d->bridge = NULL;
		return rc;
	}
	aa_log(AA_LOG_INFO, "HTTP bridge listening", "addr", bridge_address(d->bridge), "tls",
	       bo.tls_cert_file && *bo.tls_cert_file ? "yes" : "no", NULL);
	return 0;
}

/* [metrics] (REFERENCE G.1, DECISIONS 10): /metrics and /health. */
static int start_ops(struct daemon *d)
{
	if (!d->cfg.metrics.enabled)
		return 0;
	struct ops_sources src = {
		.metrics = d->metrics,
		.host = d->host,
		.store = d->store,
		.version = AA_VERSION,
		.started_mono_ns = d->started_mono_ns,
		.has_bootstrap_peers = d->cfg.bootstrap_peers.n > 0,
	};
	char why[300] = "";
	int rc = ops_server_new(&d->loop, d->cfg.metrics.listen, &src, &d->ops, why, sizeof why);
	if (rc < 0) {
		aa_log(AA_LOG_ERROR, "cannot start the metrics server", "addr", d->cfg.metrics.listen,
		       "error", why, NULL);
		d->ops = NULL;
		return rc;
	}
	aa_log(AA_LOG_INFO, "metrics listening", "addr", ops_server_address(d->ops), NULL);
	return 0;
}

static int run(struct daemon *d)
{
	if (make_state_dirs(&d->cfg) < 0 || load_identity(d) < 0)
		return 1;
	if (uv_loop_init(&d->loop) != 0)
		return 1;
	uv_signal_init(&d->loop, &d->sigint);
	uv_signal_init(&d->loop, &d->sigterm);
	d->sigint.data = d->sigterm.data = d;
	uv_signal_start(&d->sigint, on_stop_signal, SIGINT);
	uv_signal_start(&d->sigterm, on_stop_signal, SIGTERM);

	d->started_at_ms = aa_clock_wall_ms();
	d->started_mono_ns = aa_clock_mono_ns();
	bool ok = start_store(d) == 0 && start_p2p(d) == 0 && start_a2a(d) == 0;
	if (ok)
		announce(d);
	if (!ok || start_grpc(d) < 0 || start_bridge(d) < 0 || start_ops(d) < 0) {
		/* Close whatever did start, in order, then report the failure. */
		stop_daemon(d);
		uv_run(&d->loop, UV_RUN_DEFAULT);
		uv_loop_close(&d->loop);
		return 1;
	}
	start_bootstrap(d);
	aa_log(AA_LOG_INFO, "agentanycastd running", "version", AA_VERSION, "peer_id",
	       d->peer_id_text, NULL);
	uv_run(&d->loop, UV_RUN_DEFAULT);

	int rc = uv_loop_close(&d->loop);
	if (rc != 0)
		aa_log(AA_LOG_WARN, "event loop closed with open handles", "error", uv_strerror(rc), NULL);
	aa_log(AA_LOG_INFO, "stopped", NULL);
	return 0;
}

/* ---- `agentanycastd perf [--upload=BYTES] [--download=BYTES] MULTIADDR` -----------------
 * A /perf/1.0.0 client (libp2p perf spec) against any libp2p peer, with an ephemeral
 * identity so it never collides with a running daemon's. */

struct perf_cmd {
	uv_loop_t loop;
	struct p2p_keypair identity;
	struct p2p_host *host;
	struct p2p_peer_id peer;
	uint64_t upload, download;
	int status;
};

static void perf_host_closed(void *user) { (void)user; }

static void perf_done(void *user, int err, const struct p2p_perf_result *r)
{
	struct perf_cmd *pc = user;
	if (err) {
		fprintf(stderr, "agentanycastd perf: %s\n", aa_strerror(err));
		pc->status = 1;
	} else {
		double up_s = (double)r->upload_ns / 1e9, down_s = (double)r->download_ns / 1e9;
		printf("perf upload_bytes=%llu upload_s=%.3f upload_MBps=%.1f download_bytes=%llu "
		       "download_s=%.3f download_MBps=%.1f\n",
		       (unsigned long long)r->upload_bytes, up_s,
		       up_s > 0 ? (double)r->upload_bytes / 1e6 / up_s : 0.0,
		       (unsigned long long)r->download_bytes, down_s,
		       down_s > 0 ? (double)r->download_bytes / 1e6 / down_s : 0.0);
		fflush(stdout);
	}
	p2p_host_close(pc->host, perf_host_closed, pc);
}

static void perf_connected(void *user, struct p2p_conn *c, int err)
{
	struct perf_cmd *pc = user;
	int rc = c ? p2p_perf_run(pc->host, &pc->peer, pc->upload, pc->download, perf_done, pc) : err;
	if (rc < 0) {
		fprintf(stderr, "agentanycastd perf: cannot reach peer: %s\n", aa_strerror(rc));
		pc->status = 1;
		p2p_host_close(pc->host, perf_host_closed, pc);
	}
}

static int parse_bytes_arg(const char *arg, const char *name, uint64_t *out)
{
	size_t n = strlen(name);
	if (strncmp(arg, name, n) != 0 || arg[n] != '=')
		return 0;
	char *end;
	unsigned long long v = strtoull(arg + n + 1, &end, 10);
	if (end == arg + n + 1 || *end) {
		fprintf(stderr, "agentanycastd perf: %s wants a byte count\n", name);
		return -1;
	}
	*out = v;
	return 1;
}

static int run_perf_command(const struct aa_config *cfg, int argc, char **argv)
{
	static struct perf_cmd pc;
	pc.upload = 0;
	pc.download = 100u * 1000 * 1000;
	const char *target = NULL;
	for (int i = 0; i < argc; i++) {
		int r1 = parse_bytes_arg(argv[i], "--upload", &pc.upload);
		int r2 = r1 ? 0 : parse_bytes_arg(argv[i], "--download", &pc.download);
		if (r1 < 0 || r2 < 0)
			return 2;
		if (r1 || r2)
			continue;
		if (argv[i][0] == '-' || target) {
			fprintf(stderr, "usage: agentanycastd perf [--upload=BYTES] [--download=BYTES] MULTIADDR\n");
			return 2;
		}
		target = argv[i];
	}
	struct multiaddr ma;
	struct multiaddr_component p2p;
	const char *why = NULL;
	if (!target || multiaddr_parse(target, &ma, &why) < 0 || !multiaddr_find(&ma, MA_P2P, &p2p) ||
	    p2p_peer_id_from_bytes(p2p.value, p2p.value_len, &pc.peer) < 0) {
		fprintf(stderr, "agentanycastd perf: need a /…/p2p/<PeerID> multiaddr%s%s\n",
			why ? ": " : "", why ? why : "");
		if (target)
			multiaddr_free(&ma);
		return 2;
	}
	uv_loop_init(&pc.loop);
	p2p_keypair_generate(&pc.identity);
	struct p2p_host_config hc;
	host_config_from(cfg, &pc.identity, &hc);
	p2p_host_new(&pc.loop, &hc, &pc.host);
	int rc = p2p_host_connect(pc.host, &ma, perf_connected, &pc);
	multiaddr_free(&ma);
	if (rc < 0) {
		fprintf(stderr, "agentanycastd perf: %s\n", aa_strerror(rc));
		pc.status = 1;
		p2p_host_close(pc.host, perf_host_closed, &pc);
	}
	uv_run(&pc.loop, UV_RUN_DEFAULT);
	uv_loop_close(&pc.loop);
	p2p_keypair_wipe(&pc.identity);
	return pc.status;
}

int main(int argc, char **argv)
{
	/* A peer closing a socket must not kill the process; writes report EPIPE instead. */
	signal(SIGPIPE, SIG_IGN);

	static struct daemon d;
	struct aa_config_result res;
	int first_positional = argc;
	int rc = aa_config_load(&d.cfg, argc, argv, &first_positional, &res);
	if (rc == AA_EUSAGE) {
		fprintf(stderr, "agentanycastd: %s\nRun 'agentanycastd --help' for usage.\n", res.message);
		return 2;
	}
	if (rc < 0) {
		fprintf(stderr, "agentanycastd: %s\n", res.message);
		return 1;
	}
	if (res.exit_now) {
		aa_config_free(&d.cfg);
		return res.exit_status;
	}
	if (first_positional < argc && strcmp(argv[first_positional], "perf") == 0) {
		int level = aa_log_level_parse(d.cfg.log_level);
		aa_log_setup(level < 0 ? AA_LOG_WARN : (enum aa_log_level)level, AA_LOG_TEXT);
		int st = run_perf_command(&d.cfg, argc - first_positional - 1, argv + first_positional + 1);
		aa_config_free(&d.cfg);
		return st;
	}
	if (first_positional < argc) {
		fprintf(stderr, "agentanycastd: unknown command '%s'\nRun 'agentanycastd --help' for usage.\n",
			argv[first_positional]);
		aa_config_free(&d.cfg);
		return 2;
	}

	int level = aa_log_level_parse(d.cfg.log_level);
	aa_log_setup(level < 0 ? AA_LOG_INFO : (enum aa_log_level)level,
		     strcmp(d.cfg.log_format, "text") == 0 ? AA_LOG_TEXT : AA_LOG_JSON);
	log_config_warnings(res.warnings);

	int status = run(&d);
	p2p_keypair_wipe(&d.identity);
	aa_config_free(&d.cfg);
	return status;
}
