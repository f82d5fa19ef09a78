/* aa-attack: a hostile libp2p peer for the security tests. It connects to a node (normally
 * `aa-p2p --serve`) and misbehaves in one chosen way at one layer of the upgrade: on the raw
 * socket before multistream-select, inside the Noise handshake, inside yamux after a
 * completed Noise handshake (our own noise module is the initiator, with early muxer
 * negotiation of /yamux/1.0.0), or by flooding the listener with handshakes that never
 * finish. Then it watches the socket and judges the server, which must close that
 * connection (EOF or RST) in time:
 *
 *   fast attacks   within --close-ms (default 3000) of the hostile bytes;
 *   stall attacks  by the handshake timeout: no earlier than 80 % of --handshake-timeout-ms
 *                  (default 10000) after the connect, no later than that plus 3 s;
 *   flood          see run_flood(): pending handshakes capped at --max-pending, the server's
 *                  VmRSS bounded while they are held and back near baseline after.
 *
 *   aa-attack --target /ip4/127.0.0.1/tcp/PORT/p2p/ID --attack NAME [options]
 *   aa-attack --list
 *
 * Prints one line "RESULT attack=NAME verdict=PASS|FAIL …" (flushed) and exits 0 on PASS,
 * 1 on FAIL, 2 on a usage error. Plain blocking sockets with poll() deadlines: the tool is
 * deliberately not an event-loop peer, so it can do what a well-behaved one never would. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/err.h"
#include "base/mem.h"
#include "p2p/keys.h"
#include "p2p/multiaddr.h"
#include "p2p/noise.h"
#include "p2p/peerid.h"
#include "p2p/yamux.h"

/* yamux spec, Framing: the header fields we forge. */
enum { Y_DATA = 0, Y_WINDOW_UPDATE = 1, Y_PING = 2, Y_GO_AWAY = 3 };
enum { Y_SYN = 1, Y_ACK = 2, Y_FIN = 4, Y_RST = 8 };

/* multistream-select 1.0: "/multistream/1.0.0\n" then a proposal, each varint-prefixed. */
#define MSS_HEADER "\x13/multistream/1.0.0\n"
#define MSS_NOISE MSS_HEADER "\x07/noise\n"

#define SEND_TIMEOUT_MS 5000
#define CONNECT_TIMEOUT_MS 3000
#define STALL_SLACK_MS 3000

struct target {
	struct sockaddr_storage ss;
	socklen_t len;
	struct p2p_peer_id peer;
	bool have_peer;
};

struct opts {
	const char *target;
	const char *attack;
	int64_t close_ms;
	int64_t hs_timeout_ms;
	unsigned count, wave, max_pending, syn_count;
	long server_pid;
	unsigned rss_bound_mib, rss_after_mib, rss_growth_mib, rounds, streams;
	size_t partial_bytes;
};

/* What we learn from the server's yamux frames. */
struct ytrack {
	uint32_t stream;      /* the stream whose window we follow */
	uint64_t granted;     /* send window the server granted us on it, in total */
	uint64_t sent;        /* Data payload we sent on it */
	uint32_t rst_in, ack_in;
	bool go_away;
	uint32_t go_away_code;
	uint32_t body_left;   /* parser: payload still to pass of the current Data frame */
	uint32_t body_stream;
	struct aa_buf sdata;  /* the first bytes the server sent on `stream` */
	uint64_t *multi;      /* yamux-hold: window granted per odd stream ID (index id / 2) */
	uint32_t multi_n;
};

struct ctx {
	const struct opts *o;
	const struct target *t;
	int fd;
	int64_t t_connect, t_attack, t_closed; /* ms, monotonic */
	bool attacked;  /* the hostile bytes went out (or, for stalls, the connect) */
	bool closed;
	const char *how; /* eof, rst, rst-on-send */
	size_t bytes_in;
	struct p2p_noise_session *ns;
	bool ns_broken;
	struct aa_buf plain;
	struct ytrack y;
	char detail[256];
};

static int64_t now_ms(void)
{
	return (int64_t)(aa_clock_mono_ns() / 1000000u);
}

/* Deterministic filler (xorshift64), so a failing run can be replayed byte for byte. */
static void fill_pattern(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t x = seed ? seed : 0x9e3779b97f4a7c15ull;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)(x >> 32);
	}
}

/* ---- sockets ---------------------------------------------------------------------------- */

static int parse_target(const char *text, struct target *t)
{
	struct multiaddr ma;
	memset(t, 0, sizeof *t);
	if (multiaddr_parse(text, &ma, NULL) < 0)
		return -1;
	struct multiaddr_component ip, port, p2p;
	size_t off = 0;
	int rc = -1;
	if (multiaddr_next(&ma, &off, &ip) == 1 && multiaddr_next(&ma, &off, &port) == 1 &&
	    port.code == MA_TCP && port.value_len == 2) {
		uint16_t pn = (uint16_t)(port.value[0] << 8 | port.value[1]);
		if (ip.code == MA_IP4 && ip.value_len == 4) {
			struct sockaddr_in *in = (struct sockaddr_in *)&t->ss;
			in->sin_family = AF_INET;
			memcpy(&in->sin_addr, ip.value, 4);
			in->sin_port = htons(pn);
			t->len = sizeof *in;
			rc = 0;
		} else if (ip.code == MA_IP6 && ip.value_len == 16) {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&t->ss;
			in6->sin6_family = AF_INET6;
			memcpy(&in6->sin6_addr, ip.value, 16);
			in6->sin6_port = htons(pn);
			t->len = sizeof *in6;
			rc = 0;
		}
	}
	if (rc == 0 && multiaddr_find(&ma, MA_P2P, &p2p) &&
	    p2p_peer_id_from_bytes(p2p.value, p2p.value_len, &t->peer) == 0)
		t->have_peer = true;
	multiaddr_free(&ma);
	return rc;
}

/* Starts a non-blocking connect; returns the socket or -1. */
static int connect_start(const struct target *t)
{
	int fd = socket(t->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)&t->ss, t->len) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

/* A connected blocking socket whose sends give up after SEND_TIMEOUT_MS, or -1. */
static int tcp_connect(const struct target *t)
{
	int fd = connect_start(t);
	if (fd < 0)
		return -1;
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	int err = 0;
	socklen_t el = sizeof err;
	if (poll(&pfd, 1, CONNECT_TIMEOUT_MS) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err != 0) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	struct timeval tv = { .tv_sec = SEND_TIMEOUT_MS / 1000 };
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	return fd;
}

static void mark_closed(struct ctx *cx, const char *how)
{
	if (cx->closed)
		return;
	cx->closed = true;
	cx->how = how;
	cx->t_closed = now_ms();
}

static void mark_attack(struct ctx *cx)
{
	if (!cx->attacked) {
		cx->attacked = true;
		cx->t_attack = now_ms();
	}
}

/* 0: all sent; 1: the server had closed (reset); -1: another failure (detail set). */
static int send_all(struct ctx *cx, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n > 0) {
		ssize_t w = send(cx->fd, b, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EPIPE || errno == ECONNRESET)) {
			mark_closed(cx, "rst-on-send");
			return 1;
		}
		if (w < 0) {
			snprintf(cx->detail, sizeof cx->detail, "send: %s", strerror(errno));
			return -1;
		}
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

static void yparse(struct ctx *cx);
static long read_rss_kib(long pid);

/* Reads what arrives within timeout_ms (decrypting it after a Noise handshake). Returns the
 * byte count, 0 on timeout, -1 once the server closed. */
static int recv_some(struct ctx *cx, int timeout_ms)
{
	if (cx->closed)
		return -1;
	struct pollfd pfd = { .fd = cx->fd, .events = POLLIN };
	int pr = poll(&pfd, 1, timeout_ms < 0 ? 0 : timeout_ms);
	if (pr <= 0)
		return 0;
	static uint8_t buf[256 * 1024];
	ssize_t r = recv(cx->fd, buf, sizeof buf, MSG_DONTWAIT);
	if (r == 0) {
		mark_closed(cx, "eof");
		return -1;
	}
	if (r < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		mark_closed(cx, errno == ECONNRESET ? "rst" : "error");
		return -1;
	}
	cx->bytes_in += (size_t)r;
	if (cx->ns && !cx->ns_broken) {
		if (p2p_noise_session_decrypt(cx->ns, buf, (size_t)r, &cx->plain) < 0)
			cx->ns_broken = true;
		yparse(cx);
	}
	return (int)r;
}

/* Waits until the server closes, at most until `deadline` (ms, monotonic). */
static void await_close(struct ctx *cx, int64_t deadline)
{
	while (!cx->closed) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return;
		recv_some(cx, (int)(left < 1000 ? left : 1000));
	}
}

/* ---- multistream-select and Noise as the initiator ------------------------------------- */

/* Proposes /noise on the raw socket and waits for the echo. */
static int mss_to_noise(struct ctx *cx)
{
	if (send_all(cx, MSS_NOISE, sizeof MSS_NOISE - 1) != 0)
		return -1;
	uint8_t in[256];
	size_t n = 0;
	int64_t deadline = now_ms() + 3000;
	while (now_ms() < deadline) {
		struct pollfd pfd = { .fd = cx->fd, .events = POLLIN };
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		ssize_t r = recv(cx->fd, in + n, sizeof in - n, MSG_DONTWAIT);
		if (r <= 0) {
			mark_closed(cx, r == 0 ? "eof" : "rst");
			snprintf(cx->detail, sizeof cx->detail, "closed during multistream-select");
			return -1;
		}
		n += (size_t)r;
		cx->bytes_in += (size_t)r;
		/* Messages are short: one-byte varint lengths. */
		size_t off = 0;
		while (off < n && off + 1 + in[off] <= n) {
			size_t len = in[off];
			if (len == 7 && memcmp(in + off + 1, "/noise\n", 7) == 0)
				return 0;
			if (len == 3 && memcmp(in + off + 1, "na\n", 3) == 0)
				break;
			off += 1 + len;
		}
		if (n == sizeof in)
			break;
	}
	snprintf(cx->detail, sizeof cx->detail, "the server did not accept /noise");
	return -1;
}

enum msg3_mode { MSG3_INTACT, MSG3_CORRUPT, MSG3_TRUNCATED };

/* Runs the XX handshake as the initiator. With MSG3_CORRUPT / MSG3_TRUNCATED the third message
 * is damaged on the way out (that is the attack); otherwise cx->ns is the transport session. */
static int noise_handshake(struct ctx *cx, bool early_yamux, enum msg3_mode mode)
{
	static const char *const muxers[] = { YAMUX_PROTOCOL_ID };
	struct p2p_keypair kp;
	p2p_keypair_generate(&kp);
	struct p2p_noise_config cfg = {
		.initiator = true,
		.identity = &kp,
		.expected_peer = cx->t->have_peer ? &cx->t->peer : NULL,
		.muxers = early_yamux ? muxers : NULL,
		.muxer_count = early_yamux ? 1 : 0,
	};
	struct p2p_noise_handshake *hs;
	char why[160];
	if (p2p_noise_handshake_new(&cfg, &hs, why, sizeof why) < 0) {
		snprintf(cx->detail, sizeof cx->detail, "noise setup: %s", why);
		p2p_keypair_wipe(&kp);
		return -1;
	}
	p2p_keypair_wipe(&kp);
	struct aa_buf out;
	aa_buf_init(&out);
	p2p_noise_handshake_take_output(hs, &out);
	int rc = send_all(cx, out.p, out.n) == 0 ? 0 : -1;
	aa_buf_reset(&out);
	int64_t deadline = now_ms() + 3000;
	uint8_t buf[4096];
	while (rc == 0 && !p2p_noise_handshake_is_done(hs)) {
		struct pollfd pfd = { .fd = cx->fd, .events = POLLIN };
		if (now_ms() >= deadline) {
			snprintf(cx->detail, sizeof cx->detail, "no Noise message 2 in time");
			rc = -1;
			break;
		}
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		ssize_t r = recv(cx->fd, buf, sizeof buf, MSG_DONTWAIT);
		if (r <= 0) {
			mark_closed(cx, r == 0 ? "eof" : "rst");
			snprintf(cx->detail, sizeof cx->detail, "closed during the Noise handshake");
			rc = -1;
			break;
		}
		size_t used = 0;
		if (p2p_noise_handshake_feed(hs, buf, (size_t)r, &used) < 0) {
			snprintf(cx->detail, sizeof cx->detail, "noise: %s", p2p_noise_handshake_error(hs));
			rc = -1;
		}
	}
	if (rc == 0) {
		p2p_noise_handshake_take_output(hs, &out); /* message 3, framed */
		if (mode == MSG3_CORRUPT) {
			out.p[out.n / 2] ^= 0x40; /* inside the encrypted static key or payload */
			mark_attack(cx);
		} else if (mode == MSG3_TRUNCATED) {
			/* Declare (and send) a message 10 bytes shorter: the tag no longer checks. */
			size_t len = (size_t)out.p[0] << 8 | out.p[1];
			len -= 10;
			out.p[0] = (uint8_t)(len >> 8);
			out.p[1] = (uint8_t)len;
			out.n -= 10;
			mark_attack(cx);
		}
		if (send_all(cx, out.p, out.n) != 0)
			rc = -1;
	}
	if (rc == 0 && mode == MSG3_INTACT) {
		const char *mux = p2p_noise_handshake_muxer(hs);
		if (early_yamux && (!mux || strcmp(mux, YAMUX_PROTOCOL_ID) != 0)) {
			snprintf(cx->detail, sizeof cx->detail, "yamux was not negotiated early");
			rc = -1;
		} else {
			p2p_noise_handshake_take_session(hs, &cx->ns);
		}
	}
	aa_buf_free(&out);
	p2p_noise_handshake_free(hs);
	return rc;
}

static int setup_noise(struct ctx *cx, bool early_yamux)
{
	if (mss_to_noise(cx) < 0)
		return -1;
	return noise_handshake(cx, early_yamux, MSG3_INTACT);
}

/* ---- yamux, forged and followed --------------------------------------------------------- */

static void yheader(uint8_t *h, uint8_t version, uint8_t type, uint16_t flags, uint32_t id,
		    uint32_t len)
{
	h[0] = version;
	h[1] = type;
	h[2] = (uint8_t)(flags >> 8);
	h[3] = (uint8_t)flags;
	for (int i = 0; i < 4; i++) {
		h[4 + i] = (uint8_t)(id >> (24 - 8 * i));
		h[8 + i] = (uint8_t)(len >> (24 - 8 * i));
	}
}

/* Encrypts plaintext (any length: Noise frames are cut as needed) and sends it. */
static int sec_send(struct ctx *cx, const void *p, size_t n)
{
	struct aa_buf out;
	aa_buf_init(&out);
	if (p2p_noise_session_encrypt(cx->ns, p, n, &out) < 0) {
		aa_buf_free(&out);
		snprintf(cx->detail, sizeof cx->detail, "encrypt failed");
		return -1;
	}
	int rc = send_all(cx, out.p, out.n);
	aa_buf_free(&out);
	return rc;
}

/* Sends one yamux frame: header, then `body_len` payload bytes (the pattern when p is NULL;
 * the header may announce another length). */
static int yframe(struct ctx *cx, uint8_t version, uint8_t type, uint16_t flags, uint32_t id,
		  uint32_t len, const void *p, size_t body_len)
{
	struct aa_buf b;
	aa_buf_init(&b);
	yheader(aa_buf_reserve(&b, YAMUX_HEADER_LEN), version, type, flags, id, len);
	b.n += YAMUX_HEADER_LEN;
	if (body_len) {
		uint8_t *dst = aa_buf_reserve(&b, body_len);
		if (p)
			memcpy(dst, p, body_len);
		else
			fill_pattern(dst, body_len, 7 + body_len);
		b.n += body_len;
	}
	if (type == Y_DATA && id == cx->y.stream)
		cx->y.sent += body_len;
	int rc = sec_send(cx, b.p, b.n);
	aa_buf_free(&b);
	return rc;
}

/* Follows the server's frames: window grants on our stream, resets, Go Away. */
static void yparse(struct ctx *cx)
{
	struct ytrack *y = &cx->y;
	size_t off = 0;
	while (off < cx->plain.n) {
		const uint8_t *p = cx->plain.p + off;
		size_t n = cx->plain.n - off;
		if (y->body_left) {
			size_t take = n < y->body_left ? n : y->body_left;
			if (y->body_stream == y->stream && y->sdata.n < 4096)
				aa_buf_append(&y->sdata, p, take < 4096 - y->sdata.n ? take : 4096 - y->sdata.n);
			y->body_left -= (uint32_t)take;
			off += take;
			continue;
		}
		if (n < YAMUX_HEADER_LEN)
			break;
		uint16_t flags = (uint16_t)(p[2] << 8 | p[3]);
		uint32_t id = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
		uint32_t len = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
		off += YAMUX_HEADER_LEN;
		if (flags & Y_RST)
			y->rst_in++;
		if (flags & Y_ACK && p[1] != Y_PING)
			y->ack_in++;
		switch (p[1]) {
		case Y_DATA:
			y->body_left = len;
			y->body_stream = id;
			break;
		case Y_WINDOW_UPDATE:
			if (id == y->stream && !(flags & Y_RST))
				y->granted += len;
			if ((id & 1) && id / 2 < y->multi_n && !(flags & Y_RST))
				y->multi[id / 2] += len;
			break;
		case Y_GO_AWAY:
			y->go_away = true;
			y->go_away_code = len;
			break;
		default:
			break;
		}
	}
	aa_buf_consume(&cx->plain, off);
}

/* Reads for timeout_ms; returns false when the server closed meanwhile. */
static bool pump(struct ctx *cx, int timeout_ms)
{
	int64_t until = now_ms() + timeout_ms;
	do {
		if (recv_some(cx, (int)(until - now_ms())) < 0)
			return false;
	} while (now_ms() < until);
	return true;
}

static int setup_yamux(struct ctx *cx)
{
	if (setup_noise(cx, true) < 0)
		return -1;
	cx->y.stream = 1;
	cx->y.granted = YAMUX_SPEC_WINDOW; /* yamux spec, Flow Control: the initial window */
	return pump(cx, 50) ? 0 : -1;
}

/* ---- the attacks ------------------------------------------------------------------------ */

/* (a) Not multistream-select at all. */
static int attack_garbage_http(struct ctx *cx)
{
	char req[512];
	snprintf(req, sizeof req,
		 "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: aa-attack/1.0 (hostile peer test, "
		 "this line is long enough to complete any one-byte length prefix)\r\nAccept: */*\r\n"
		 "Connection: keep-alive\r\n\r\n");
	mark_attack(cx);
	return send_all(cx, req, strlen(req)) < 0 ? -1 : 0;
}

static int attack_garbage_random(struct ctx *cx)
{
	static uint8_t junk[8192];
	fill_pattern(junk, sizeof junk, 1);
	mark_attack(cx);
	return send_all(cx, junk, sizeof junk) < 0 ? -1 : 0;
}

static int attack_garbage_ff(struct ctx *cx)
{
	static uint8_t junk[4096];
	memset(junk, 0xff, sizeof junk);
	mark_attack(cx);
	return send_all(cx, junk, sizeof junk) < 0 ? -1 : 0;
}

/* A valid header, then proposals that are all refused, forever. */
static int attack_mss_na_loop(struct ctx *cx)
{
	struct aa_buf b;
	aa_buf_init(&b);
	aa_buf_append(&b, MSS_HEADER, sizeof MSS_HEADER - 1);
	for (int i = 0; i < 64; i++)
		aa_buf_append(&b, "\x0b/bogus/1.0\n", 12);
	mark_attack(cx);
	int rc = send_all(cx, b.p, b.n);
	aa_buf_free(&b);
	return rc < 0 ? -1 : 0;
}

/* (b) /noise is agreed, then the handshake goes wrong. */
static int attack_noise_garbage(struct ctx *cx)
{
	if (mss_to_noise(cx) < 0)
		return -1;
	/* Enough for two complete messages of any length: the second cannot pass its MAC. */
	static uint8_t junk[140 * 1024];
	fill_pattern(junk, sizeof junk, 2);
	mark_attack(cx);
	return send_all(cx, junk, sizeof junk) < 0 ? -1 : 0;
}

static int attack_noise_short(struct ctx *cx)
{
	if (mss_to_noise(cx) < 0)
		return -1;
	/* Message 1 must hold a 32-byte ephemeral key. */
	static const uint8_t msg[] = { 0x00, 0x05, 1, 2, 3, 4, 5 };
	mark_attack(cx);
	return send_all(cx, msg, sizeof msg) < 0 ? -1 : 0;
}

static int attack_noise_zero(struct ctx *cx)
{
	if (mss_to_noise(cx) < 0)
		return -1;
	static const uint8_t msg[] = { 0x00, 0x00 };
	mark_attack(cx);
	return send_all(cx, msg, sizeof msg) < 0 ? -1 : 0;
}

static int attack_noise_msg3_corrupt(struct ctx *cx)
{
	if (mss_to_noise(cx) < 0)
		return -1;
	return noise_handshake(cx, true, MSG3_CORRUPT);
}

static int attack_noise_msg3_truncated(struct ctx *cx)
{
	if (mss_to_noise(cx) < 0)
		return -1;
	return noise_handshake(cx, true, MSG3_TRUNCATED);
}

/* The largest length prefix, then end of stream. */
static int attack_noise_oversize_eof(struct ctx *cx)
{
	if (mss_to_noise(cx) < 0)
		return -1;
	static const uint8_t msg[] = { 0xff, 0xff };
	mark_attack(cx);
	if (send_all(cx, msg, sizeof msg) != 0)
		return -1;
	shutdown(cx->fd, SHUT_WR);
	return 0;
}

/* Two maximal messages of junk: the first passes as message 1 (a key plus an ignored
 * payload), the second fails its MAC. */
static int attack_noise_oversize(struct ctx *cx)
{
	if (mss_to_noise(cx) < 0)
		return -1;
	static uint8_t junk[2 * (2 + 65535)];
	fill_pattern(junk, sizeof junk, 3);
	junk[0] = junk[1] = 0xff;
	junk[2 + 65535] = junk[2 + 65535 + 1] = 0xff;
	mark_attack(cx);
	return send_all(cx, junk, sizeof junk) < 0 ? -1 : 0;
}

/* A truncated message 1, then end of stream. */
static int attack_noise_truncated_eof(struct ctx *cx)
{
	if (mss_to_noise(cx) < 0)
		return -1;
	static const uint8_t msg[] = { 0x00, 0x20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	mark_attack(cx);
	if (send_all(cx, msg, sizeof msg) != 0)
		return -1;
	shutdown(cx->fd, SHUT_WR);
	return 0;
}

/* (c) Stalls: the handshake timeout must end them. The clock runs from the connect. */
static int attack_stall_connect(struct ctx *cx)
{
	return 0;
}

static int attack_stall_mss(struct ctx *cx)
{
	return send_all(cx, MSS_HEADER, 8) < 0 ? -1 : 0;
}

static int attack_stall_prefix(struct ctx *cx)
{
	if (mss_to_noise(cx) < 0)
		return -1;
	static const uint8_t msg[] = { 0x00, 0x20 };
	return send_all(cx, msg, sizeof msg) < 0 ? -1 : 0;
}

static int attack_stall_partial(struct ctx *cx)
{
	if (mss_to_noise(cx) < 0)
		return -1;
	static const uint8_t msg[] = { 0x00, 0x20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	return send_all(cx, msg, sizeof msg) < 0 ? -1 : 0;
}

/* Always making progress, never finishing: one byte of a valid start every 400 ms (the
 * deadline must be absolute, not reset by progress). */
static int attack_stall_trickle(struct ctx *cx)
{
	static uint8_t seq[64];
	memcpy(seq, MSS_NOISE, sizeof MSS_NOISE - 1);
	seq[28] = 0x00;
	seq[29] = 0x20;
	fill_pattern(seq + 30, sizeof seq - 30, 4);
	int64_t deadline = cx->t_connect + cx->o->hs_timeout_ms + STALL_SLACK_MS;
	for (size_t i = 0; i < sizeof seq && !cx->closed && now_ms() < deadline; i++) {
		if (send_all(cx, seq + i, 1) != 0)
			break;
		pump(cx, 400);
	}
	return 0;
}

/* Noise completes without early muxer negotiation; multistream-select for the muxer never
 * starts. */
static int attack_stall_muxer(struct ctx *cx)
{
	return setup_noise(cx, false);
}

/* (d) Hostile yamux inside a completed Noise session. */

/* Data beyond the window, sent as a run of frames each within bounds on its own: an echo
 * stream whose replies we never grant window for stops consuming, so the server's grants
 * stop; then we send the whole remaining credit plus one byte. */
static int attack_yamux_window(struct ctx *cx)
{
	if (setup_yamux(cx) < 0)
		return -1;
	static const char neg[] = MSS_HEADER "\x0c/echo/1.0.0\n";
	if (yframe(cx, 0, Y_DATA, Y_SYN, 1, sizeof neg - 1, neg, sizeof neg - 1) != 0)
		return -1;
	int64_t deadline = now_ms() + 3000;
	while (!cx->y.sdata.n || !memmem(cx->y.sdata.p, cx->y.sdata.n, "/echo/1.0.0\n", 12)) {
		if (now_ms() >= deadline || !pump(cx, 50)) {
			snprintf(cx->detail, sizeof cx->detail, "echo was not negotiated");
			return -1;
		}
	}
	/* Fill within the window until the server stops granting more. */
	while (cx->y.sent < 64u * 1024 * 1024) {
		if (!pump(cx, 0))
			return -1;
		uint64_t avail = cx->y.granted - cx->y.sent;
		if (avail == 0) {
			uint64_t before = cx->y.granted;
			int64_t until = now_ms() + 1000;
			while (cx->y.granted == before && now_ms() < until)
				if (!pump(cx, 20))
					return -1;
			if (cx->y.granted == before)
				break;
			continue;
		}
		size_t n = avail < 60000 ? (size_t)avail : 60000;
		if (yframe(cx, 0, Y_DATA, 0, 1, (uint32_t)n, NULL, n) != 0)
			return -1;
	}
	if (!pump(cx, 500))
		return -1;
	uint64_t avail = cx->y.granted - cx->y.sent;
	snprintf(cx->detail, sizeof cx->detail, "granted=%llu sent=%llu then credit+1",
		 (unsigned long long)cx->y.granted, (unsigned long long)cx->y.sent);
	mark_attack(cx);
	while (avail > 0) {
		size_t n = avail < 60000 ? (size_t)avail : 60000;
		if (yframe(cx, 0, Y_DATA, 0, 1, (uint32_t)n, NULL, n) != 0)
			return 0; /* closed (or failing) already: the judge decides */
		avail -= n;
	}
	yframe(cx, 0, Y_DATA, 0, 1, 1, NULL, 1);
	return 0;
}

/* One frame larger than the whole initial window on a fresh stream. */
static int attack_yamux_window_single(struct ctx *cx)
{
	if (setup_yamux(cx) < 0)
		return -1;
	if (yframe(cx, 0, Y_WINDOW_UPDATE, Y_SYN, 1, 0, NULL, 0) != 0 || !pump(cx, 50))
		return -1;
	mark_attack(cx);
	yframe(cx, 0, Y_DATA, 0, 1, YAMUX_SPEC_WINDOW + 1, NULL, YAMUX_SPEC_WINDOW + 1);
	return 0;
}

static int attack_yamux_type(struct ctx *cx)
{
	if (setup_yamux(cx) < 0)
		return -1;
	mark_attack(cx);
	yframe(cx, 0, 4, 0, 0, 0, NULL, 0);
	return 0;
}

static int attack_yamux_version(struct ctx *cx)
{
	if (setup_yamux(cx) < 0)
		return -1;
	mark_attack(cx);
	yframe(cx, 1, Y_WINDOW_UPDATE, Y_SYN, 1, 0, NULL, 0);
	return 0;
}

/* A Data frame announcing 4 GiB on an open stream. */
static int attack_yamux_bigframe(struct ctx *cx)
{
	if (setup_yamux(cx) < 0)
		return -1;
	if (yframe(cx, 0, Y_WINDOW_UPDATE, Y_SYN, 1, 0, NULL, 0) != 0 || !pump(cx, 50))
		return -1;
	mark_attack(cx);
	yframe(cx, 0, Y_DATA, 0, 1, UINT32_MAX, NULL, 1000);
	return 0;
}

/* The same on a stream ID that was never opened: no window was ever granted for it. */
static int attack_yamux_bigframe_unknown(struct ctx *cx)
{
	if (setup_yamux(cx) < 0)
		return -1;
	mark_attack(cx);
	yframe(cx, 0, Y_DATA, 0, 1001, UINT32_MAX, NULL, 1000);
	return 0;
}

/* SYNs far beyond the stream limit, without ever negotiating a protocol on them. */
static int attack_yamux_synflood(struct ctx *cx)
{
	if (setup_yamux(cx) < 0)
		return -1;
	unsigned n = cx->o->syn_count;
	struct aa_buf b;
	aa_buf_init(&b);
	for (unsigned i = 0; i < n; i++) {
		yheader(aa_buf_reserve(&b, YAMUX_HEADER_LEN), 0, Y_WINDOW_UPDATE, Y_SYN, 2 * i + 1, 0);
		b.n += YAMUX_HEADER_LEN;
	}
	mark_attack(cx);
	sec_send(cx, b.p, b.n);
	aa_buf_free(&b);
	return 0;
}

/* Half a yamux header, then end of stream. */
static int attack_yamux_truncated(struct ctx *cx)
{
	if (setup_yamux(cx) < 0)
		return -1;
	uint8_t h[YAMUX_HEADER_LEN];
	yheader(h, 0, Y_WINDOW_UPDATE, Y_SYN, 1, 0);
	mark_attack(cx);
	if (sec_send(cx, h, 6) != 0)
		return 0;
	shutdown(cx->fd, SHUT_WR);
	return 0;
}

/* A transport frame that fails its MAC. */
static int attack_yamux_badmac(struct ctx *cx)
{
	if (setup_yamux(cx) < 0)
		return -1;
	uint8_t f[2 + 100];
	fill_pattern(f, sizeof f, 5);
	f[0] = 0;
	f[1] = 100;
	mark_attack(cx);
	send_all(cx, f, sizeof f);
	return 0;
}

/* Half a transport frame, then end of stream. */
static int attack_noise_frame_truncated(struct ctx *cx)
{
	if (setup_yamux(cx) < 0)
		return -1;
	uint8_t h[YAMUX_HEADER_LEN];
	yheader(h, 0, Y_WINDOW_UPDATE, Y_SYN, 1, 0);
	struct aa_buf out;
	aa_buf_init(&out);
	p2p_noise_session_encrypt(cx->ns, h, sizeof h, &out);
	mark_attack(cx);
	if (send_all(cx, out.p, out.n / 2) == 0)
		shutdown(cx->fd, SHUT_WR);
	aa_buf_free(&out);
	return 0;
}

/* A memory probe rather than a close test: o->streams echo streams, each first sent a whole
 * window (echoed back into a window we never replenish), then everything the server granted
 * since, which it can neither echo nor drop: it must hold a full receive window per stream.
 * Prints its own RESULT with the server's VmRSS growth; passes under --rss-bound-mib. */
static int attack_yamux_hold(struct ctx *cx)
{
	const struct opts *o = cx->o;
	if (setup_yamux(cx) < 0) {
		printf("RESULT attack=yamux-hold verdict=FAIL why=setup-failed detail=%s\n", cx->detail);
		return 1;
	}
	unsigned n = o->streams;
	cx->y.multi = aa_calloc(n, sizeof *cx->y.multi);
	cx->y.multi_n = n;
	uint64_t *sent = aa_calloc(n, sizeof *sent);
	long rss0 = o->server_pid ? read_rss_kib(o->server_pid) : -1;
	static const char neg[] = MSS_HEADER "\x0c/echo/1.0.0\n";
	static uint8_t frame[YAMUX_HEADER_LEN + 60000];
	fill_pattern(frame, sizeof frame, 8);
	for (unsigned i = 0; i < n && !cx->closed; i++) {
		cx->y.multi[i] = YAMUX_SPEC_WINDOW;
		uint32_t id = 2 * i + 1;
		memcpy(frame + YAMUX_HEADER_LEN, neg, sizeof neg - 1);
		yheader(frame, 0, Y_DATA, Y_SYN, id, 60000);
		sec_send(cx, frame, sizeof frame);
		sent[i] = 60000;
		pump(cx, 0);
	}
	/* Fill every window, twice over (the first fill is echoed and re-granted). */
	for (int pass = 0; pass < 2 && !cx->closed; pass++) {
		pump(cx, 300);
		for (unsigned i = 0; i < n && !cx->closed; i++) {
			uint32_t id = 2 * i + 1;
			while (cx->y.multi[i] > sent[i] && !cx->closed) {
				uint64_t avail = cx->y.multi[i] - sent[i];
				uint32_t len = avail < 60000 ? (uint32_t)avail : 60000;
				yheader(frame, 0, Y_DATA, 0, id, len);
				sec_send(cx, frame, YAMUX_HEADER_LEN + len);
				sent[i] += len;
				pump(cx, 0);
			}
		}
	}
	pump(cx, 1000);
	long rss1 = o->server_pid ? read_rss_kib(o->server_pid) : -1;
	uint64_t total = 0;
	for (unsigned i = 0; i < n; i++)
		total += sent[i];
	free(sent);
	long grew = rss1 - rss0;
	bool ok = !cx->closed && (!o->server_pid || grew <= (long)o->rss_bound_mib * 1024);
	printf("RESULT attack=yamux-hold verdict=%s streams=%u sent_kib=%llu closed=%s "
	       "rss_kib_before=%ld rss_kib_after=%ld grew_kib=%ld per_stream_kib=%ld\n",
	       ok ? "PASS" : "FAIL", n, (unsigned long long)(total / 1024), cx->closed ? cx->how : "no",
	       rss0, rss1, grew, n ? grew / (long)n : 0);
	fflush(stdout);
	return ok ? 0 : 1;
}

enum kind { FAST, STALL, FLOOD, HOLD };

struct attack {
	const char *name;
	enum kind kind;
	int (*fn)(struct ctx *cx);
	const char *what;
};

static const struct attack attacks[] = {
	{ "garbage-http", FAST, attack_garbage_http, "an HTTP request instead of multistream" },
	{ "garbage-random", FAST, attack_garbage_random, "8 KiB of random bytes" },
	{ "garbage-ff", FAST, attack_garbage_ff, "4 KiB of 0xff (endless varint)" },
	{ "mss-na-loop", FAST, attack_mss_na_loop, "64 unsupported security proposals" },
	{ "noise-garbage", FAST, attack_noise_garbage, "/noise, then 140 KiB of random bytes" },
	{ "noise-short", FAST, attack_noise_short, "/noise, then a 5-byte message 1" },
	{ "noise-zero", FAST, attack_noise_zero, "/noise, then an empty message 1" },
	{ "noise-msg3-corrupt", FAST, attack_noise_msg3_corrupt, "message 3 with a flipped bit" },
	{ "noise-msg3-truncated", FAST, attack_noise_msg3_truncated, "message 3 cut by 10 bytes" },
	{ "noise-oversize-eof", FAST, attack_noise_oversize_eof, "length 0xffff, then EOF" },
	{ "noise-oversize", FAST, attack_noise_oversize, "two 65535-byte junk messages" },
	{ "noise-truncated-eof", FAST, attack_noise_truncated_eof, "a partial message 1, then EOF" },
	{ "stall-connect", STALL, attack_stall_connect, "connect and say nothing" },
	{ "stall-mss", STALL, attack_stall_mss, "8 bytes of the multistream header" },
	{ "stall-prefix", STALL, attack_stall_prefix, "/noise and a length prefix, then silence" },
	{ "stall-partial", STALL, attack_stall_partial, "/noise and a partial message 1" },
	{ "stall-trickle", STALL, attack_stall_trickle, "a valid start, one byte per 400 ms" },
	{ "stall-muxer", STALL, attack_stall_muxer, "Noise without early muxer, then silence" },
	{ "yamux-window", FAST, attack_yamux_window, "frames summing to the window plus one" },
	{ "yamux-window-single", FAST, attack_yamux_window_single, "one 256 KiB + 1 frame" },
	{ "yamux-type", FAST, attack_yamux_type, "frame type 4" },
	{ "yamux-version", FAST, attack_yamux_version, "version 1" },
	{ "yamux-bigframe", FAST, attack_yamux_bigframe, "4 GiB Data frame on an open stream" },
	{ "yamux-bigframe-unknown", FAST, attack_yamux_bigframe_unknown,
	  "4 GiB Data frame on a never-opened stream" },
	{ "yamux-synflood", FAST, attack_yamux_synflood, "--syn-count SYNs (default 4096)" },
	{ "yamux-truncated", FAST, attack_yamux_truncated, "half a yamux header, then EOF" },
	{ "yamux-badmac", FAST, attack_yamux_badmac, "a transport frame failing its MAC" },
	{ "noise-frame-truncated", FAST, attack_noise_frame_truncated, "half a transport frame, then EOF" },
	{ "yamux-hold", HOLD, attack_yamux_hold, "--streams echo streams each holding a window" },
	{ "flood", FLOOD, NULL, "--count partial handshakes in waves of --wave (see run_flood)" },
};

/* ---- (e) the flood -------------------------------------------------------------------- */

enum fl_state { FL_CONNECTING, FL_SENDING, FL_HOLDING, FL_CLOSED };

struct fl_conn {
	int fd;
	enum fl_state st;
	size_t off;
	bool replied; /* the server answered multistream: it took the connection on */
	int64_t t_connect, t_closed;
};

static long read_rss_kib(long pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long kib = -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static void fl_close(struct fl_conn *c)
{
	if (c->st == FL_CLOSED)
		return;
	close(c->fd);
	c->fd = -1;
	c->st = FL_CLOSED;
	c->t_closed = now_ms();
}

/* One poll round over every live connection: finish connects, push the payload, drain
 * replies, notice closes. */
static void fl_step(struct fl_conn *cs, size_t n, const uint8_t *payload, size_t plen,
		    int timeout_ms)
{
	struct pollfd *pfd = aa_calloc(n ? n : 1, sizeof *pfd);
	size_t *idx = aa_calloc(n ? n : 1, sizeof *idx);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (cs[i].st == FL_CLOSED)
			continue;
		pfd[k].fd = cs[i].fd;
		pfd[k].events = POLLIN | (cs[i].st == FL_HOLDING ? 0 : POLLOUT);
		idx[k++] = i;
	}
	if (k && poll(pfd, k, timeout_ms) > 0) {
		for (size_t j = 0; j < k; j++) {
			struct fl_conn *c = &cs[idx[j]];
			short ev = pfd[j].revents;
			if (!ev)
				continue;
			if (c->st == FL_CONNECTING && (ev & (POLLOUT | POLLERR | POLLHUP))) {
				int err = 0;
				socklen_t el = sizeof err;
				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
				if (err) {
					fl_close(c);
					continue;
				}
				c->st = FL_SENDING;
			}
			if (c->st == FL_SENDING && (ev & POLLOUT)) {
				ssize_t w = send(c->fd, payload + c->off, plen - c->off,
						 MSG_NOSIGNAL | MSG_DONTWAIT);
				if (w < 0 && errno != EAGAIN && errno != EINTR) {
					fl_close(c);
					continue;
				}
				if (w > 0)
					c->off += (size_t)w;
				if (c->off == plen)
					c->st = FL_HOLDING;
			}
			if (ev & (POLLIN | POLLHUP | POLLERR)) {
				uint8_t buf[4096];
				ssize_t r = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
				if (r > 0)
					c->replied = true;
				else if (r == 0 || (errno != EAGAIN && errno != EINTR))
					fl_close(c);
			}
		}
	}
	free(pfd);
	free(idx);
}

static size_t fl_count(const struct fl_conn *cs, size_t n, enum fl_state st)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += cs[i].st == st;
	return k;
}

struct flood_round {
	size_t held, refused, still_open, early, late;
	int64_t min_life, max_life;
	long rss_before, rss_peak, rss_after;
};

static long rss_sample(const struct opts *o, long *peak)
{
	long r = o->server_pid ? read_rss_kib(o->server_pid) : -1;
	if (peak && r > *peak)
		*peak = r;
	return r;
}

/* One round: o->count connections in waves of o->wave, each sending multistream /noise and a
 * Noise message 1 announced as 65535 bytes of which o->partial_bytes are sent, the most a
 * stalled handshake can make the server buffer. Holds them until the server closes them. */
static void flood_round(const struct opts *o, const struct target *t, const uint8_t *payload,
			size_t plen, unsigned round, struct flood_round *fr)
{
	memset(fr, 0, sizeof *fr);
	fr->min_life = INT64_MAX;
	fr->rss_before = fr->rss_peak = rss_sample(o, NULL);
	struct fl_conn *cs = aa_calloc(o->count, sizeof *cs);
	size_t opened = 0, connect_failed = 0;
	int64_t t0 = now_ms();
	while (opened < o->count) {
		size_t end = opened + o->wave < o->count ? opened + o->wave : o->count;
		for (size_t i = opened; i < end; i++) {
			cs[i].fd = connect_start(t);
			cs[i].t_connect = now_ms();
			if (cs[i].fd < 0) {
				cs[i].st = FL_CLOSED;
				connect_failed++;
			}
		}
		opened = end;
		int64_t until = now_ms() + 3000;
		while (now_ms() < until &&
		       fl_count(cs, opened, FL_CONNECTING) + fl_count(cs, opened, FL_SENDING))
			fl_step(cs, opened, payload, plen, 50);
		rss_sample(o, &fr->rss_peak);
	}
	int64_t t_opened = now_ms();
	/* Let the server read everything it was sent and refuse what it refuses. */
	int64_t settle = now_ms() + 1500;
	while (now_ms() < settle)
		fl_step(cs, o->count, payload, plen, 50);
	fr->held = o->count - fl_count(cs, o->count, FL_CLOSED);
	fr->refused = o->count - fr->held - connect_failed;
	rss_sample(o, &fr->rss_peak);
	printf("FLOOD_HOLDING round=%u open=%zu refused=%zu connect_failed=%zu opened_in_ms=%lld "
	       "rss_kib=%ld\n",
	       round, fr->held, fr->refused, connect_failed, (long long)(t_opened - t0), fr->rss_peak);
	fflush(stdout);

	/* Wait for the handshake timeout to clear them, sampling memory meanwhile. */
	int64_t deadline = now_ms() + o->hs_timeout_ms + STALL_SLACK_MS;
	while (now_ms() < deadline && fl_count(cs, o->count, FL_CLOSED) < o->count) {
		fl_step(cs, o->count, payload, plen, 100);
		rss_sample(o, &fr->rss_peak);
	}
	fr->still_open = o->count - fl_count(cs, o->count, FL_CLOSED);
	for (size_t i = 0; i < o->count; i++) {
		/* Only the connections still held after the settle phase were taken on. */
		if (cs[i].st != FL_CLOSED || cs[i].t_closed < settle)
			continue;
		int64_t life = cs[i].t_closed - cs[i].t_connect;
		if (life < fr->min_life)
			fr->min_life = life;
		if (life > fr->max_life)
			fr->max_life = life;
		if (life < o->hs_timeout_ms * 8 / 10)
			fr->early++;
		if (life > o->hs_timeout_ms + STALL_SLACK_MS)
			fr->late++;
	}
	if (fr->min_life == INT64_MAX)
		fr->min_life = 0;
	for (size_t i = 0; i < o->count; i++)
		if (cs[i].st != FL_CLOSED)
			close(cs[i].fd);
	free(cs);
	usleep(500 * 1000); /* let the server finish closing what the timeout released */
	fr->rss_after = rss_sample(o, &fr->rss_peak);
}

/* (e) o->rounds flood rounds. Passes when in every round
 *  - at most o->max_pending connections were taken on (the rest closed at once), and at
 *    least half that many (so the limit, not something else, did the refusing);
 *  - every one taken on was closed by the handshake timeout (80 %..100 % + 3 s after connect);
 *  - the server's VmRSS peaked at most o->rss_bound_mib above the first baseline;
 * and, over the rounds, later peaks stay within o->rss_growth_mib of the first (the memory
 * is reused, not leaked) and VmRSS ends within o->rss_after_mib of the first baseline. */
static int run_flood(const struct opts *o, const struct target *t)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < o->count + 64) {
		rl.rlim_cur = rl.rlim_max < o->count + 64 ? rl.rlim_max : o->count + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	size_t plen = sizeof MSS_NOISE - 1 + 2 + o->partial_bytes;
	uint8_t *payload = aa_malloc(plen);
	memcpy(payload, MSS_NOISE, sizeof MSS_NOISE - 1);
	payload[sizeof MSS_NOISE - 1] = 0xff;
	payload[sizeof MSS_NOISE] = 0xff;
	fill_pattern(payload + sizeof MSS_NOISE + 1, o->partial_bytes, 6);

	bool ok = true;
	char why[256] = "";
	struct flood_round first = { 0 }, fr;
	for (unsigned round = 1; round <= o->rounds; round++) {
		flood_round(o, t, payload, plen, round, &fr);
		if (round == 1)
			first = fr;
		bool rss = o->server_pid != 0;
		if (fr.held > o->max_pending || fr.held < o->max_pending / 2)
			snprintf(why, sizeof why, "held %zu connections, expected %u..%u", fr.held,
				 o->max_pending / 2, o->max_pending);
		else if (fr.still_open || fr.early || fr.late)
			snprintf(why, sizeof why, "handshake timeout: %zu still open, %zu closed early, %zu late",
				 fr.still_open, fr.early, fr.late);
		else if (rss && (first.rss_before < 0 ||
				 fr.rss_peak - first.rss_before > (long)o->rss_bound_mib * 1024))
			snprintf(why, sizeof why, "VmRSS peaked %ld KiB above baseline (bound %u MiB)",
				 fr.rss_peak - first.rss_before, o->rss_bound_mib);
		else if (rss && fr.rss_peak - first.rss_peak > (long)o->rss_growth_mib * 1024)
			snprintf(why, sizeof why, "VmRSS peak grew by %ld KiB since round 1 (bound %u MiB)",
				 fr.rss_peak - first.rss_peak, o->rss_growth_mib);
		else if (rss && round == o->rounds &&
			 fr.rss_after - first.rss_before > (long)o->rss_after_mib * 1024)
			snprintf(why, sizeof why, "VmRSS ended %ld KiB above baseline (bound %u MiB)",
				 fr.rss_after - first.rss_before, o->rss_after_mib);
		if (why[0])
			ok = false;
		printf("FLOOD_ROUND round=%u count=%u held=%zu refused=%zu still_open=%zu "
		       "held_life_ms=%lld..%lld rss_kib_before=%ld rss_kib_peak=%ld rss_kib_after=%ld\n",
		       round, o->count, fr.held, fr.refused, fr.still_open, (long long)fr.min_life,
		       (long long)fr.max_life, fr.rss_before, fr.rss_peak, fr.rss_after);
		fflush(stdout);
		if (!ok)
			break;
	}
	printf("RESULT attack=flood verdict=%s rounds=%u max_pending=%u%s%s\n", ok ? "PASS" : "FAIL",
	       o->rounds, o->max_pending, why[0] ? " why=" : "", why);
	fflush(stdout);
	free(payload);
	return ok ? 0 : 1;
}

/* ---- main ------------------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr,
		"usage: aa-attack --target MA --attack NAME [--close-ms N] [--handshake-timeout-ms N]\n"
		"                 [--syn-count N] [--count N] [--wave N] [--server-pid PID]\n"
		"                 [--max-pending N] [--rss-bound-mib N] [--rss-after-mib N]\n"
		"                 [--rss-growth-mib N] [--partial-bytes N] [--rounds N] [--streams N]\n"
		"       aa-attack --list\n");
	exit(2);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	struct opts o = {
		.close_ms = 3000,
		.hs_timeout_ms = 10000,
		.count = 2000,
		.wave = 250,
		.max_pending = 128,
		.syn_count = 4096,
		.rss_bound_mib = 64,
		.rss_after_mib = 24,
		.rss_growth_mib = 4,
		.rounds = 1,
		.streams = 64,
		.partial_bytes = 60000,
	};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--list")) {
			for (size_t k = 0; k < sizeof attacks / sizeof attacks[0]; k++)
				printf("%-24s %s\n", attacks[k].name, attacks[k].what);
			return 0;
		}
		const char *v = i + 1 < argc ? argv[++i] : NULL;
		if (!v)
			usage();
		if (!strcmp(a, "--target")) o.target = v;
		else if (!strcmp(a, "--attack")) o.attack = v;
		else if (!strcmp(a, "--close-ms")) o.close_ms = atoll(v);
		else if (!strcmp(a, "--handshake-timeout-ms")) o.hs_timeout_ms = atoll(v);
		else if (!strcmp(a, "--syn-count")) o.syn_count = (unsigned)atoi(v);
		else if (!strcmp(a, "--count")) o.count = (unsigned)atoi(v);
		else if (!strcmp(a, "--wave")) o.wave = (unsigned)atoi(v);
		else if (!strcmp(a, "--server-pid")) o.server_pid = atol(v);
		else if (!strcmp(a, "--max-pending")) o.max_pending = (unsigned)atoi(v);
		else if (!strcmp(a, "--rss-bound-mib")) o.rss_bound_mib = (unsigned)atoi(v);
		else if (!strcmp(a, "--rss-after-mib")) o.rss_after_mib = (unsigned)atoi(v);
		else if (!strcmp(a, "--partial-bytes")) o.partial_bytes = (size_t)atoll(v);
		else if (!strcmp(a, "--rss-growth-mib")) o.rss_growth_mib = (unsigned)atoi(v);
		else if (!strcmp(a, "--rounds")) o.rounds = (unsigned)atoi(v);
		else if (!strcmp(a, "--streams")) o.streams = (unsigned)atoi(v);
		else usage();
	}
	struct target t;
	if (!o.target || !o.attack || parse_target(o.target, &t) < 0 || o.wave == 0 ||
	    o.partial_bytes >= 65535 || o.hs_timeout_ms <= 0 || o.rounds == 0 || o.count == 0)
		usage();
	const struct attack *at = NULL;
	for (size_t k = 0; k < sizeof attacks / sizeof attacks[0]; k++)
		if (!strcmp(attacks[k].name, o.attack))
			at = &attacks[k];
	if (!at)
		usage();
	if (at->kind == FLOOD)
		return run_flood(&o, &t);

	struct ctx cx = { .o = &o, .t = &t, .how = "" };
	aa_buf_init(&cx.plain);
	aa_buf_init(&cx.y.sdata);
	cx.fd = tcp_connect(&t);
	if (cx.fd < 0) {
		printf("RESULT attack=%s verdict=FAIL why=cannot-connect\n", at->name);
		return 1;
	}
	cx.t_connect = now_ms();
	if (at->kind == STALL)
		mark_attack(&cx);
	int rc = at->fn(&cx);
	if (at->kind == HOLD) {
		close(cx.fd);
		p2p_noise_session_free(cx.ns);
		free(cx.y.multi);
		aa_buf_free(&cx.plain);
		aa_buf_free(&cx.y.sdata);
		return rc;
	}
	int64_t min_ms = 0, deadline;
	if (at->kind == STALL) {
		min_ms = o.hs_timeout_ms * 8 / 10;
		deadline = cx.t_connect + o.hs_timeout_ms + STALL_SLACK_MS;
	} else {
		deadline = (cx.attacked ? cx.t_attack : now_ms()) + o.close_ms;
	}
	const char *why = NULL;
	if (rc < 0 && !cx.closed) {
		why = "setup-failed";
	} else if (!cx.attacked) {
		why = cx.closed ? "closed-before-the-attack" : "setup-failed";
	} else {
		await_close(&cx, deadline);
		if (!cx.closed)
			why = "still-open-at-deadline";
		else if (cx.t_closed < cx.t_attack || cx.t_closed - cx.t_attack < min_ms)
			why = "closed-too-early";
	}
	int64_t after = cx.closed && cx.attacked ? cx.t_closed - cx.t_attack : -1;
	printf("RESULT attack=%s verdict=%s closed_after_ms=%lld how=%s bytes_in=%zu goaway=%s%u "
	       "rst_in=%u%s%s%s%s\n",
	       at->name, why ? "FAIL" : "PASS", (long long)after, cx.closed ? cx.how : "-",
	       cx.bytes_in, cx.y.go_away ? "" : "none/", cx.y.go_away_code, cx.y.rst_in,
	       why ? " why=" : "", why ? why : "", cx.detail[0] ? " detail=" : "", cx.detail);
	fflush(stdout);
	if (cx.fd >= 0)
		close(cx.fd);
	p2p_noise_session_free(cx.ns);
	aa_buf_free(&cx.plain);
	aa_buf_free(&cx.y.sdata);
	return why ? 1 : 0;
}
