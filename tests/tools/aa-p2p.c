/* aa-p2p: a libp2p node built from our host, for tests and benchmarks. It serves ping, perf
 * (/perf/1.0.0) and an echo protocol (/echo/1.0.0: every byte sent back, FIN answered with
 * FIN), and can act:
 *
 *   aa-p2p [--listen MA]... [--dial MA] [--ping N] [--ping-loop N] [--echo-bytes B]
 *          [--streams S] [--perf-upload B] [--perf-download B]
 *          [--conn-rate N] [--hold-conns N] [--concurrency C] [--report-rss]
 *          [--serve] [--seconds T]
 *
 * It prints PEER_ID= and LISTEN_ADDR= lines (flushed), then, after dialling MA, in this order:
 *   "connected";
 *   --ping N        "ping rtt_us=…" per ping (N pings on one stream);
 *   --ping-loop N   N pings on one stream: "ping_loop pings=N p50_us=… p99_us=…";
 *   --echo-bytes B  "echo ok streams=S bytes=B" once S parallel streams have each sent B bytes
 *                   of a deterministic pattern and received exactly those bytes back;
 *   --perf-*        one perf exchange: "perf upload_bytes=… upload_s=… upload_MBps=…
 *                   download_bytes=… download_s=… download_MBps=…" (MB = 10^6 bytes);
 *   --report-rss    "rss_kb=…" of this process.
 * Instead of that single connection, --conn-rate N opens N full connections (TCP + Noise +
 * yamux) to MA, each followed by one ping and then closed, C at a time (--concurrency), and
 * prints "conn_rate connections=… conns_per_s=… p50_us=… p99_us=…" (connect + ping latency);
 * --hold-conns N opens N connections (C at a time), pings each once, prints "held
 * connections=N" and keeps them open until SIGTERM/SIGINT or --seconds. Several connections
 * to one peer need one host each (a host shares one connection per peer), all with the same
 * identity. With --serve it runs until SIGTERM/SIGINT (or --seconds). Exit status 0 when every
 * action succeeded. */
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
#include "p2p/perf.h"
#include "p2p/identify.h"
#include "p2p/ping.h"

#define ECHO_PROTOCOL "/echo/1.0.0"

static uv_loop_t *loop;
static struct p2p_host *host;
static struct p2p_identify *identify;
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
static bool perf_requested;
static uint64_t perf_upload, perf_download;
static unsigned ping_loop_count;
static uint64_t *ping_loop_rtts;
static unsigned ping_loop_got;
static bool report_rss;
static unsigned conn_rate_count, hold_count, concurrency = 1;
static struct multiaddr dial_ma;

static void workers_close(void);

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
	workers_close();
	p2p_identify_free(identify);
	identify = NULL;
	p2p_host_close(host, NULL, NULL);
}

/* The byte at offset i of stream k's pattern. */
static uint8_t pattern(unsigned k, uint64_t i)
{
	uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull ^ ((uint64_t)k << 32);
	return (uint8_t)(x >> 29);
}

static void next_action(void);

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
		next_action();
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

/* ---- measurements ------------------------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of n sorted values, in microseconds. */
static double percentile_us(const uint64_t *sorted, size_t n, unsigned pct)
{
	if (n == 0)
		return 0;
	size_t rank = ((size_t)pct * n + 99) / 100;
	return (double)sorted[rank ? rank - 1 : 0] / 1000.0;
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	char line[256];
	long kb = -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static double mb_per_s(uint64_t bytes, uint64_t ns)
{
	return ns ? (double)bytes / 1e6 / ((double)ns / 1e9) : 0;
}

/* ---- actions on the one dialled connection ------------------------------------------------ */

enum step { STEP_PING, STEP_PING_LOOP, STEP_ECHO, STEP_PERF, STEP_DONE };
static enum step step;

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
		next_action();
}

static void on_ping_loop(void *user, int err, uint64_t rtt_ns, bool last)
{
	if (err) {
		fprintf(stderr, "ping loop failed after %u pings: %s\n", ping_loop_got, aa_strerror(err));
		stop(1);
		return;
	}
	if (ping_loop_got < ping_loop_count)
		ping_loop_rtts[ping_loop_got++] = rtt_ns;
	if (!last)
		return;
	qsort(ping_loop_rtts, ping_loop_got, sizeof *ping_loop_rtts, cmp_u64);
	uint64_t sum = 0;
	for (unsigned i = 0; i < ping_loop_got; i++)
		sum += ping_loop_rtts[i];
	printf("ping_loop pings=%u p50_us=%.1f p99_us=%.1f min_us=%.1f mean_us=%.1f\n", ping_loop_got,
	       percentile_us(ping_loop_rtts, ping_loop_got, 50), percentile_us(ping_loop_rtts, ping_loop_got, 99),
	       (double)ping_loop_rtts[0] / 1000.0, (double)sum / ping_loop_got / 1000.0);
	fflush(stdout);
	free(ping_loop_rtts);
	ping_loop_rtts = NULL;
	next_action();
}

static void on_perf(void *user, int err, const struct p2p_perf_result *r)
{
	if (err) {
		fprintf(stderr, "perf failed: %s\n", aa_strerror(err));
		stop(1);
		return;
	}
	printf("perf upload_bytes=%llu upload_s=%.6f upload_MBps=%.1f download_bytes=%llu "
	       "download_s=%.6f download_MBps=%.1f\n",
	       (unsigned long long)r->upload_bytes, (double)r->upload_ns / 1e9,
	       mb_per_s(r->upload_bytes, r->upload_ns), (unsigned long long)r->download_bytes,
	       (double)r->download_ns / 1e9, mb_per_s(r->download_bytes, r->download_ns));
	fflush(stdout);
	next_action();
}

/* Starts the next requested action on the dialled connection; stops when none is left
 * (unless --serve). */
static void next_action(void)
{
	int rc = 0;
	while (!stopping && rc == 0) {
		switch (step++) {
		case STEP_PING:
			if (!ping_count)
				continue;
			rc = p2p_ping(host, &remote, ping_count, on_ping, NULL);
			break;
		case STEP_PING_LOOP:
			if (!ping_loop_count)
				continue;
			ping_loop_rtts = aa_calloc(ping_loop_count, sizeof *ping_loop_rtts);
			rc = p2p_ping(host, &remote, ping_loop_count, on_ping_loop, NULL);
			break;
		case STEP_ECHO:
			if (!echo_bytes)
				continue;
			start_echo();
			return;
		case STEP_PERF:
			if (!perf_requested)
				continue;
			rc = p2p_perf_run(host, &remote, perf_upload, perf_download, on_perf, NULL);
			break;
		case STEP_DONE:
		default:
			if (report_rss) {
				printf("rss_kb=%ld\n", rss_kb());
				fflush(stdout);
			}
			if (!serve)
				stop(0);
			return;
		}
		if (rc == 0)
			return; /* its callback calls us again */
	}
	fprintf(stderr, "action failed: %s\n", aa_strerror(rc));
	stop(1);
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
	next_action();
}

/* ---- many connections: --conn-rate and --hold-conns -------------------------------------- */

struct worker {
	struct p2p_host *host;
	uv_timer_t timer; /* defers the disconnect out of the ping's stream callback */
	uint64_t started_ns;
};

static struct worker *workers;
static unsigned nworkers;
static unsigned launched, completed, failed;
static uint64_t *conn_latencies;
static uint64_t conn_rate_start_ns;

static void worker_start(struct worker *w);

static void workers_report(void)
{
	if (hold_count) {
		printf("held connections=%u failed=%u\n", completed - failed, failed);
	} else {
		double secs = (double)(aa_clock_mono_ns() - conn_rate_start_ns) / 1e9;
		unsigned ok = completed - failed;
		qsort(conn_latencies, ok, sizeof *conn_latencies, cmp_u64);
		printf("conn_rate connections=%u concurrency=%u failed=%u seconds=%.3f conns_per_s=%.0f "
		       "p50_us=%.0f p99_us=%.0f\n", ok, concurrency, failed, secs, secs > 0 ? ok / secs : 0,
		       percentile_us(conn_latencies, ok, 50), percentile_us(conn_latencies, ok, 99));
	}
	if (report_rss)
		printf("rss_kb=%ld\n", rss_kb());
	fflush(stdout);
	if (failed)
		status = 1;
	if (!hold_count)
		stop(failed ? 1 : 0);
}

/* One connection finished its ping (ok) or failed; start the next one. */
static void worker_next(uv_timer_t *t)
{
	struct worker *w = t->data;
	if (stopping)
		return;
	if (hold_count) {
		if (launched < hold_count)
			worker_start(&workers[launched]);
	} else {
		p2p_host_disconnect(w->host, &remote);
		if (launched < conn_rate_count)
			worker_start(w);
	}
	if (completed == (hold_count ? hold_count : conn_rate_count))
		workers_report();
}

static void worker_done(struct worker *w, bool ok)
{
	if (stopping)
		return; /* closing down: the timer is closing too */
	if (ok) {
		if (conn_latencies)
			conn_latencies[completed - failed] = aa_clock_mono_ns() - w->started_ns;
	} else {
		failed++;
	}
	completed++;
	uv_timer_start(&w->timer, worker_next, 0, 0);
}

static void worker_on_ping(void *user, int err, uint64_t rtt_ns, bool last)
{
	if (!last)
		return;
	if (err && !stopping)
		fprintf(stderr, "worker ping failed: %s\n", aa_strerror(err));
	worker_done(user, err == 0);
}

static void worker_on_conn(void *user, struct p2p_conn *c, int err)
{
	struct worker *w = user;
	if (!c) {
		if (!stopping)
			fprintf(stderr, "worker dial failed: %s\n", aa_strerror(err));
		worker_done(w, false);
		return;
	}
	int rc = p2p_ping(w->host, &remote, 1, worker_on_ping, w);
	if (rc < 0) {
		fprintf(stderr, "worker ping: %s\n", aa_strerror(rc));
		worker_done(w, false);
	}
}

static void worker_start(struct worker *w)
{
	launched++;
	w->started_ns = aa_clock_mono_ns();
	int rc = p2p_host_connect(w->host, &dial_ma, worker_on_conn, w);
	if (rc < 0) {
		fprintf(stderr, "worker connect: %s\n", aa_strerror(rc));
		worker_done(w, false);
	}
}

static int workers_start(void)
{
	nworkers = hold_count ? hold_count : concurrency;
	workers = aa_calloc(nworkers, sizeof *workers);
	if (!hold_count)
		conn_latencies = aa_calloc(conn_rate_count, sizeof *conn_latencies);
	struct p2p_host_config cfg;
	p2p_host_config_default(&cfg);
	cfg.identity = &identity;
	for (unsigned i = 0; i < nworkers; i++) {
		if (p2p_host_new(loop, &cfg, &workers[i].host) < 0)
			return AA_EIO;
		uv_timer_init(loop, &workers[i].timer);
		workers[i].timer.data = &workers[i];
	}
	conn_rate_start_ns = aa_clock_mono_ns();
	unsigned first = concurrency < nworkers ? concurrency : nworkers;
	if (!hold_count && first > conn_rate_count)
		first = conn_rate_count;
	for (unsigned i = 0; i < first; i++)
		worker_start(&workers[i]);
	return 0;
}

static void workers_close(void)
{
	for (unsigned i = 0; i < nworkers; i++) {
		uv_close((uv_handle_t *)&workers[i].timer, NULL);
		p2p_host_close(workers[i].host, NULL, NULL);
	}
	nworkers = 0;
}

static void on_signal(uv_signal_t *s, int signum) { stop(0); }
static void on_deadline(uv_timer_t *t) { fprintf(stderr, "deadline reached\n"); stop(serve ? 0 : 1); }

static void usage(void)
{
	fprintf(stderr, "usage: aa-p2p [--listen MA]... [--dial MA] [--ping N] [--ping-loop N] "
			"[--echo-bytes B] [--streams S] [--perf-upload B] [--perf-download B] "
			"[--conn-rate N] [--hold-conns N] [--concurrency C] [--report-rss] "
			"[--serve] [--seconds T]\n");
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
		if (!strcmp(a, "--report-rss")) { report_rss = true; continue; }
		if (!v) usage();
		if (!strcmp(a, "--listen") && nlisten < 8) listens[nlisten++] = v;
		else if (!strcmp(a, "--dial")) dial = v;
		else if (!strcmp(a, "--ping")) ping_count = (unsigned)atoi(v);
		else if (!strcmp(a, "--echo-bytes")) echo_bytes = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--streams")) echo_streams = (unsigned)atoi(v);
		else if (!strcmp(a, "--seconds")) seconds = atof(v);
		else if (!strcmp(a, "--ping-loop")) ping_loop_count = (unsigned)atoi(v);
		else if (!strcmp(a, "--perf-upload")) { perf_upload = strtoull(v, NULL, 10); perf_requested = true; }
		else if (!strcmp(a, "--perf-download")) { perf_download = strtoull(v, NULL, 10); perf_requested = true; }
		else if (!strcmp(a, "--conn-rate")) conn_rate_count = (unsigned)atoi(v);
		else if (!strcmp(a, "--hold-conns")) hold_count = (unsigned)atoi(v);
		else if (!strcmp(a, "--concurrency")) concurrency = (unsigned)atoi(v);
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
	/* Like the daemon: identify runs on every connection, so the connection benchmarks count
	 * the full establishment (TCP + Noise + yamux + identify). */
	p2p_identify_new(host, "aa-p2p/" AA_VERSION, &identify);
	p2p_perf_serve(host);
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

	if (concurrency == 0 || ((conn_rate_count || hold_count) && !dial))
		usage();
	if (dial) {
		struct multiaddr_component p2p;
		if (multiaddr_parse(dial, &dial_ma, NULL) < 0 || !multiaddr_find(&dial_ma, MA_P2P, &p2p) ||
		    p2p_peer_id_from_bytes(p2p.value, p2p.value_len, &remote) < 0) {
			fprintf(stderr, "bad --dial address %s\n", dial);
			return 2;
		}
		int rc;
		if (conn_rate_count || hold_count) {
			/* A held set of connections stays up like a server until told to stop. */
			if (hold_count)
				serve = true;
			rc = workers_start();
		} else {
			rc = p2p_host_connect(host, &dial_ma, on_dialled, NULL);
		}
		if (rc < 0) {
			fprintf(stderr, "dial: %s\n", aa_strerror(rc));
			return 1;
		}
	} else if (!serve) {
		stop(0);
	}
	uv_run(loop, UV_RUN_DEFAULT);
	uv_loop_close(loop);
	multiaddr_free(&dial_ma);
	free(workers);
	free(conn_latencies);
	free(ping_loop_rtts);
	p2p_keypair_wipe(&identity);
	return status;
}
