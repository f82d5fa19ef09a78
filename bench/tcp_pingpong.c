/* tcp_pingpong: the raw-TCP baseline for ping latency. A 1-byte (or SIZE-byte) ping-pong over
 * one loopback TCP connection with TCP_NODELAY and blocking sockets, no framing, no crypto:
 * what a round trip costs the kernel alone. bench/run compares it with our libp2p ping on an
 * open stream, both measured in the same run, with the same CPU pinning.
 *
 *   bench_tcp_pingpong server            listens on 127.0.0.1:0, prints "PORT=<n>", echoes
 *                                        one connection until it closes, then exits
 *   bench_tcp_pingpong client PORT N [SIZE]
 *                                        N round trips; prints "tcp_pingpong pings=N size=…
 *                                        p50_us=… p99_us=… min_us=… mean_us=…" */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"

#define PINGPONG_MAX_SIZE 4096
#define PINGPONG_MAX_COUNT 10000000u

static int full_io(int fd, uint8_t *p, size_t n, int writing)
{
	size_t done = 0;
	while (done < n) {
		ssize_t k = writing ? write(fd, p + done, n - done) : read(fd, p + done, n - done);
		if (k <= 0)
			return -1;
		done += (size_t)k;
	}
	return 0;
}

static void set_nodelay(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static int serve(void)
{
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 1) < 0 ||
	    getsockname(ls, (struct sockaddr *)&a, &len) < 0) {
		perror("tcp_pingpong server");
		return 1;
	}
	printf("PORT=%u\n", ntohs(a.sin_port));
	fflush(stdout);
	int fd = accept(ls, NULL, NULL);
	close(ls);
	if (fd < 0)
		return 1;
	set_nodelay(fd);
	uint8_t buf[PINGPONG_MAX_SIZE];
	for (;;) {
		ssize_t k = read(fd, buf, sizeof buf);
		if (k <= 0)
			break;
		if (full_io(fd, buf, (size_t)k, 1) < 0)
			break;
	}
	close(fd);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double pct_us(const uint64_t *s, size_t n, unsigned pct)
{
	size_t rank = ((size_t)pct * n + 99) / 100;
	return (double)s[rank ? rank - 1 : 0] / 1000.0;
}

static int client(unsigned port, unsigned count, unsigned size)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		perror("tcp_pingpong client");
		return 1;
	}
	set_nodelay(fd);
	uint64_t *rtt = calloc(count, sizeof *rtt);
	uint8_t buf[PINGPONG_MAX_SIZE];
	memset(buf, 0x5a, size);
	for (unsigned i = 0; i < count; i++) {
		uint64_t t0 = aa_clock_mono_ns();
		if (full_io(fd, buf, size, 1) < 0 || full_io(fd, buf, size, 0) < 0) {
			fprintf(stderr, "tcp_pingpong: connection lost after %u pings\n", i);
			free(rtt);
			return 1;
		}
		rtt[i] = aa_clock_mono_ns() - t0;
	}
	close(fd);
	uint64_t sum = 0;
	for (unsigned i = 0; i < count; i++)
		sum += rtt[i];
	qsort(rtt, count, sizeof *rtt, cmp_u64);
	printf("tcp_pingpong pings=%u size=%u p50_us=%.1f p99_us=%.1f min_us=%.1f mean_us=%.1f\n", count,
	       size, pct_us(rtt, count, 50), pct_us(rtt, count, 99), (double)rtt[0] / 1000.0,
	       (double)sum / count / 1000.0);
	free(rtt);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "server") == 0)
		return serve();
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "client") == 0) {
		unsigned port = (unsigned)strtoul(argv[2], NULL, 10);
		unsigned long count = strtoul(argv[3], NULL, 10);
		unsigned long size = argc == 5 ? strtoul(argv[4], NULL, 10) : 1;
		if (port == 0 || port > 65535 || count == 0 || count > PINGPONG_MAX_COUNT || size == 0 ||
		    size > PINGPONG_MAX_SIZE) {
			fprintf(stderr, "tcp_pingpong: bad arguments\n");
			return 2;
		}
		return client(port, (unsigned)count, (unsigned)size);
	}
	fprintf(stderr, "usage: bench_tcp_pingpong server | client PORT N [SIZE]\n");
	return 2;
}
