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

#include "base/err.h"
#include "base/fs.h"
#include "base/log.h"
#include "config/config.h"
#include "p2p/keys.h"
#include "p2p/peerid.h"

struct daemon {
	struct aa_config cfg;
	uv_loop_t loop;
	uv_signal_t sigint;
	uv_signal_t sigterm;
	struct p2p_keypair identity;
	struct p2p_peer_id peer_id;
	char peer_id_text[P2P_PEER_ID_STRING_MAX];
	int exit_status;
};

static void on_stop_signal(uv_signal_t *sig, int signum)
{
	struct daemon *d = sig->data;
	aa_log(AA_LOG_INFO, "shutting down", "signal", signum == SIGINT ? "SIGINT" : "SIGTERM", NULL);
	/* Closing the last handles lets uv_run() return on its own: a clean stop, no uv_stop(). */
	uv_close((uv_handle_t *)&d->sigint, NULL);
	uv_close((uv_handle_t *)&d->sigterm, NULL);
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
	fflush(stdout);
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

	announce(d);
	aa_log(AA_LOG_INFO, "agentanycastd running", "version", AA_VERSION, "peer_id",
	       d->peer_id_text, NULL);
	uv_run(&d->loop, UV_RUN_DEFAULT);

	int rc = uv_loop_close(&d->loop);
	if (rc != 0)
		aa_log(AA_LOG_WARN, "event loop closed with open handles", "error", uv_strerror(rc), NULL);
	aa_log(AA_LOG_INFO, "stopped", NULL);
	return 0;
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
