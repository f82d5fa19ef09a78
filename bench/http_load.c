/* http_load: a small HTTP/1.1 load generator for bench/run section 7 — the A2A v1.0
 * SendMessage (blocking) round trip against any JSON-RPC A2A server. The Node SDK client
 * spends ~250 us of CPU per request, more than either server, so on a 2-core machine it would
 * measure itself; this one spends a few microseconds and leaves the cores to the servers.
 *
 *   bench_http_load HOST PORT PATH N_LAT N_THR CONCURRENCY
 *
 * Keep-alive connections; each request is the same SendMessage with a fresh messageId; a
 * reply counts only if it is HTTP 200 with a COMPLETED task carrying the artifact "a1" (the
 * work both servers do). N_LAT round trips on one connection give latency percentiles, then
 * N_THR with CONCURRENCY connections in flight give the rate. Prints one line:
 *   http_load n_lat=… p50_us=… p99_us=… n=… concurrency=… req_per_s=… secs=… */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONC 256
#define RESP_MAX (1 << 20)

struct conn {
	int fd;
	char *resp;
	size_t have;
	uint64_t started_ns;
	int busy;
};

static const char *g_host, *g_path;
static int g_port;
static unsigned long g_seq;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "http_load: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int connect_one(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)g_port) };
	if (inet_pton(AF_INET, g_host, &a.sin_addr) != 1) {
		fprintf(stderr, "http_load: HOST must be an IPv4 address\n");
		exit(2);
	}
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0)
		die("connect");
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static void send_request(struct conn *c)
{
	char body[512], req[1024];
	int bn = snprintf(body, sizeof body,
			  "{\"jsonrpc\":\"2.0\",\"id\":%lu,\"method\":\"SendMessage\",\"params\":{\"message\":"
			  "{\"messageId\":\"bench-%lu\",\"role\":\"ROLE_USER\",\"parts\":[{\"text\":\"hello\"}]},"
			  "\"configuration\":{\"acceptedOutputModes\":[\"text/plain\"]}}}",
			  g_seq, g_seq);
	g_seq++;
	int n = snprintf(req, sizeof req,
			 "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
			 "A2A-Version: 1.0\r\nContent-Length: %d\r\n\r\n%s",
			 g_path, g_host, g_port, bn, body);
	c->have = 0;
	c->busy = 1;
	c->started_ns = now_ns();
	for (int off = 0; off < n;) {
		ssize_t w = write(c->fd, req + off, (size_t)(n - off));
		if (w < 0)
			die("write");
		off += (int)w;
	}
}

/* 1 when a whole response is in; exits on a wrong one. */
static int response_done(struct conn *c)
{
	c->resp[c->have] = 0;
	char *end = strstr(c->resp, "\r\n\r\n");
	if (!end)
		return 0;
	char *cl = strcasestr(c->resp, "\r\ncontent-length:");
	if (!cl || cl > end) {
		fprintf(stderr, "http_load: response without Content-Length\n");
		exit(1);
	}
	size_t len = strtoul(cl + 17, NULL, 10);
	size_t total = (size_t)(end + 4 - c->resp) + len;
	if (c->have < total)
		return 0;
	if (strncmp(c->resp, "HTTP/1.1 200", 12) != 0 || !strstr(end, "TASK_STATE_COMPLETED") ||
	    !strstr(end, "\"a1\"")) {
		fprintf(stderr, "http_load: unexpected response: %.300s\n", c->resp);
		exit(1);
	}
	if (c->have != total) {
		fprintf(stderr, "http_load: pipelined bytes after the response\n");
		exit(1);
	}
	return 1;
}

/* Reads what is there; 1 when the response completed. */
static int pump(struct conn *c)
{
	ssize_t r = read(c->fd, c->resp + c->have, RESP_MAX - 1 - c->have);
	if (r <= 0) {
		fprintf(stderr, "http_load: connection closed by the server\n");
		exit(1);
	}
	c->have += (size_t)r;
	return response_done(c);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: bench_http_load HOST PORT PATH N_LAT N_THR CONCURRENCY\n");
		return 2;
	}
	g_host = argv[1];
	g_port = atoi(argv[2]);
	g_path = argv[3];
	long n_lat = atol(argv[4]), n_thr = atol(argv[5]);
	int conc = atoi(argv[6]);
	if (conc < 1 || conc > MAX_CONC || n_lat < 1 || n_thr < 1) {
		fprintf(stderr, "http_load: bad numbers\n");
		return 2;
	}
	static struct conn cs[MAX_CONC];
	for (int i = 0; i < conc; i++) {
		cs[i].fd = connect_one();
		cs[i].resp = malloc(RESP_MAX);
	}
	/* Warm-up, then latency: one request at a time on the first connection. */
	uint64_t *lat = calloc((size_t)n_lat, sizeof *lat);
	for (long i = -200; i < n_lat; i++) {
		send_request(&cs[0]);
		while (!pump(&cs[0]))
			;
		if (i >= 0)
			lat[i] = (now_ns() - cs[0].started_ns) / 1000;
	}
	qsort(lat, (size_t)n_lat, sizeof *lat, cmp_u64);
	/* Rate: every connection keeps one request in flight. */
	struct pollfd pf[MAX_CONC];
	long sent = 0, done = 0;
	uint64_t *load_lat = calloc((size_t)n_thr, sizeof *load_lat);
	uint64_t t0 = now_ns();
	for (int i = 0; i < conc && sent < n_thr; i++, sent++)
		send_request(&cs[i]);
	while (done < n_thr) {
		for (int i = 0; i < conc; i++) {
			pf[i].fd = cs[i].fd;
			pf[i].events = cs[i].busy ? POLLIN : 0;
		}
		if (poll(pf, (nfds_t)conc, 30000) <= 0) {
			fprintf(stderr, "http_load: no progress for 30 s\n");
			return 1;
		}
		for (int i = 0; i < conc; i++) {
			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)) || !pump(&cs[i]))
				continue;
			cs[i].busy = 0;
			load_lat[done++] = (now_ns() - cs[i].started_ns) / 1000;
			if (sent < n_thr) {
				send_request(&cs[i]);
				sent++;
			}
		}
	}
	double secs = (double)(now_ns() - t0) / 1e9;
	qsort(load_lat, (size_t)n_thr, sizeof *load_lat, cmp_u64);
	printf("http_load n_lat=%ld p50_us=%llu p99_us=%llu n=%ld concurrency=%d req_per_s=%.0f "
	       "load_p50_us=%llu load_p99_us=%llu secs=%.2f\n",
	       n_lat, (unsigned long long)lat[n_lat / 2], (unsigned long long)lat[n_lat * 99 / 100],
	       n_thr, conc, (double)n_thr / secs, (unsigned long long)load_lat[n_thr / 2],
	       (unsigned long long)load_lat[n_thr * 99 / 100], secs);
	return 0;
}
