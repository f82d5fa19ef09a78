/* aa-p2p: a libp2p node built from our host, for tests and benchmarks. It serves ping and
 * an echo protocol (/echo/1.0.0: every byte sent back, FIN answered with FIN) and can act:
 *
 *   aa-p2p [--listen MA]... [--dial MA] [--ping N] [--echo-bytes B] [--streams S]
 *          [--serve] [--seconds T]
 *
 * It prints PEER_ID= and LISTEN_ADDR= lines (flushed), then, after dialling MA: "connected",
 * "ping rtt_us=…" lines, and "echo ok streams=S bytes=B" once S parallel streams have each
 * sent B bytes of a deterministic pattern and received exactly those bytes back. With
 * --serve it runs until SIGTERM/SIGINT (or --seconds). Exit status 0 when every action
 * succeeded. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "p2p/host.h"
#include "p2p/keys.h"
#include "p2p/ping.h"

#define ECHO_PROTOCOL "/echo/1.0.0"

static uv_loop_t *loop;
static struct p2p_host *host;
static struct p2p_keypair identity;
static uv_signal_t sigterm, sigint;
static uv_timer_t deadline;
static int status = 0;
static unsigned ping_count;
static uint64_t echo_bytes;
static unsigned echo_streams = 1;
static unsigned echo_done;
static bool serve;
static struct p2p_peer_id remote;
static bool stopping;

static void stop(int st)
{
	if (stopping)
		return;
	stopping = true;
	if (st)
		status = st;
	uv_close((uv_handle_t *)&sigterm, NULL);
	uv_close((uv_handle_t *)&sigint, NULL);
	uv_close((uv_handle_t *)&deadline, NULL);
	p2p_host_close(host, NULL, NULL);
}

/* The byte at offset i of stream k's pattern. */
static uint8_t pattern(unsigned k, uint64_t i)
{
	uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull ^ ((uint64_t)k << 32);
	return (uint8_t)(x >> 29);
}

/* ---- echo server ----------------------------------------------------------------------- */

static size_t echo_on_data(struct p2p_stream *st, const uint8_t *p, size_t n)
{
	ssize_t w = p2p_stream_write(st, p, n);
	return w > 0 ? (size_t)w : 0;
}
static void echo_on_writable(struct p2p_stream *st) { p2p_stream_resume(st); }
static void echo_on_fin(struct p2p_stream *st) { p2p_stream_close_write(st); }
static const struct p2p_stream_handler echo_server = {
	.on_data = echo_on_data, .on_writable = echo_on_writable, .on_fin = echo_on_fin,
};

/* ---- echo client ----------------------------------------------------------------------- */

struct echo_client {
	unsigned k;
	uint64_t sent, received;
	bool fin_sent, ok;
	uint8_t chunk[65536];
};

static void echo_client_pump(struct p2p_stream *st)
{
	struct echo_client *ec = p2p_stream_user(st);
	while (ec->sent < echo_bytes) {
		size_t n = sizeof ec->chunk;
		if (n > echo_bytes - ec->sent)
			n = (size_t)(echo_bytes - ec->sent);
		for (size_t i = 0; i < n; i++)
			ec->chunk[i] = pattern(ec->k, ec->sent + i);
		ssize_t w = p2p_stream_write(st, ec->chunk, n);
		if (w <= 0)
			return; /* on_writable brings us back */
		ec->sent += (uint64_t)w;
	}
	if (!ec->fin_sent) {
		ec->fin_sent = true;
		p2p_stream_close_write(st);
	}
}

static size_t echo_client_on_data(struct p2p_stream *st, const uint8_t *p, size_t n)
{
	struct echo_client *ec = p2p_stream_user(st);
	for (size_t i = 0; i < n; i++) {
		if (p[i] != pattern(ec->k, ec->received + i)) {
			fprintf(stderr, "echo mismatch stream=%u offset=%llu\n", ec->k,
				(unsigned long long)(ec->received + i));
			p2p_stream_reset(st);
			return n;
		}
	}
	ec->received += n;
	return n;
}

static void echo_client_on_fin(struct p2p_stream *st)
{
	struct echo_client *ec = p2p_stream_user(st);
	ec->ok = ec->received == echo_bytes;
}

static void echo_client_on_close(struct p2p_stream *st, int err)
{
	struct echo_client *ec = p2p_stream_user(st);
	bool ok = ec->ok && err == 0;
	if (!ok)
		fprintf(stderr, "echo stream %u failed: err=%s received=%llu\n", ec->k, aa_strerror(err),
			(unsigned long long)ec->received);
	free(ec);
	if (!ok) {
		stop(1);
		return;
	}
	if (++echo_done == echo_streams) {
		printf("echo ok streams=%u bytes=%llu\n", echo_streams, (unsigned long long)echo_bytes);
		fflush(stdout);
		if (!serve)
			stop(0);
	}
}

static const struct p2p_stream_handler echo_client = {
	.on_open = NULL,
	.on_data = echo_client_on_data,
	.on_fin = echo_client_on_fin,
	.on_writable = echo_client_pump,
	.on_close = echo_client_on_close,
};

static void start_echo(void)
{
	static const char *const protos[] = { ECHO_PROTOCOL };
	for (unsigned k = 0; k < echo_streams; k++) {
		struct echo_client *ec = aa_calloc(1, sizeof *ec);
		ec->k = k;
		struct p2p_stream *st;
		int rc = p2p_host_new_stream(host, &remote, protos, 1, &echo_client, ec, &st);
		if (rc < 0) {
			fprintf(stderr, "open echo stream: %s\n", aa_strerror(rc));
			free(ec);
			stop(1);
			return;
		}
		echo_client_pump(st);
	}
}

/* ---- actions --------------------------------------------------------------------------- */

static void after_pings(void)
{
	if (echo_bytes)
		start_echo();
	else if (!serve)
		stop(0);
}

static void on_ping(void *user, int err, uint64_t rtt_ns, bool last)
{
	if (err) {
		fprintf(stderr, "ping failed: %s\n", aa_strerror(err));
		stop(1);
		return;
	}
	printf("ping rtt_us=%.1f\n", (double)rtt_ns / 1000.0);
	fflush(stdout);
	if (last)
		after_pings();
}

static void on_dialled(void *user, struct p2p_conn *c, int err)
{
	if (!c) {
		fprintf(stderr, "dial failed: %s\n", aa_strerror(err));
		stop(1);
		return;
	}
	printf("connected\n");
	fflush(stdout);
	if (ping_count) {
		int rc = p2p_ping(host, &remote, ping_count, on_ping, NULL);
		if (rc < 0) {
			fprintf(stderr, "ping: %s\n", aa_strerror(rc));
			stop(1);
		}
		return;
	}
	after_pings();
}

static void on_signal(uv_signal_t *s, int signum) { stop(0); }
static void on_deadline(uv_timer_t *t) { fprintf(stderr, "deadline reached\n"); stop(serve ? 0 : 1); }

static void usage(void)
{
	fprintf(stderr, "usage: aa-p2p [--listen MA]... [--dial MA] [--ping N] [--echo-bytes B] "
			"[--streams S] [--serve] [--seconds T]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	aa_log_setup(getenv("AA_LOG_DEBUG") ? AA_LOG_DEBUG : AA_LOG_WARN, AA_LOG_TEXT);
	const char *listens[8];
	int nlisten = 0;
	const char *dial = NULL;
	double seconds = 120;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--serve")) { serve = true; continue; }
		if (!v) usage();
		if (!strcmp(a, "--listen") && nlisten < 8) listens[nlisten++] = v;
		else if (!strcmp(a, "--dial")) dial = v;
		else if (!strcmp(a, "--ping")) ping_count = (unsigned)atoi(v);
		else if (!strcmp(a, "--echo-bytes")) echo_bytes = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--streams")) echo_streams = (unsigned)atoi(v);
		else if (!strcmp(a, "--seconds")) seconds = atof(v);
		else usage();
		i++;
	}
	loop = uv_default_loop();
	p2p_keypair_generate(&identity);
	struct p2p_host_config cfg;
	p2p_host_config_default(&cfg);
	cfg.identity = &identity;
	if (p2p_host_new(loop, &cfg, &host) < 0)
		return 1;
	p2p_ping_serve(host);
	p2p_host_set_handler(host, ECHO_PROTOCOL, &echo_server, NULL);
	for (int i = 0; i < nlisten; i++) {
		struct multiaddr ma;
		if (multiaddr_parse(listens[i], &ma, NULL) < 0 || p2p_host_listen(host, &ma) < 0) {
			fprintf(stderr, "cannot listen on %s\n", listens[i]);
			return 1;
		}
		multiaddr_free(&ma);
	}
	char id[P2P_PEER_ID_STRING_MAX];
	p2p_peer_id_to_string(p2p_host_peer_id(host), id, sizeof id);
	printf("PEER_ID=%s\n", id);
	struct multiaddr *addrs;
	size_t naddrs;
	p2p_host_listen_addrs(host, &addrs, &naddrs);
	for (size_t i = 0; i < naddrs; i++) {
		char *t;
		multiaddr_to_string(&addrs[i], &t);
		printf("LISTEN_ADDR=%s/p2p/%s\n", t, id);
		free(t);
		multiaddr_free(&addrs[i]);
	}
	free(addrs);
	fflush(stdout);

	uv_signal_init(loop, &sigterm);
	uv_signal_start(&sigterm, on_signal, SIGTERM);
	uv_signal_init(loop, &sigint);
	uv_signal_start(&sigint, on_signal, SIGINT);
	uv_timer_init(loop, &deadline);
	uv_timer_start(&deadline, on_deadline, (uint64_t)(seconds * 1000), 0);

	if (dial) {
		struct multiaddr ma;
		struct multiaddr_component p2p;
		if (multiaddr_parse(dial, &ma, NULL) < 0 || !multiaddr_find(&ma, MA_P2P, &p2p) ||
		    p2p_peer_id_from_bytes(p2p.value, p2p.value_len, &remote) < 0) {
			fprintf(stderr, "bad --dial address %s\n", dial);
			return 2;
		}
		int rc = p2p_host_connect(host, &ma, on_dialled, NULL);
		multiaddr_free(&ma);
		if (rc < 0) {
			fprintf(stderr, "dial: %s\n", aa_strerror(rc));
			return 1;
		}
	} else if (!serve) {
		stop(0);
	}
	uv_run(loop, UV_RUN_DEFAULT);
	uv_loop_close(loop);
	p2p_keypair_wipe(&identity);
	return status;
}
