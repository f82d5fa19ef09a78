/* fuzz_yamux: arbitrary bytes into a server yamux session. The upper layer accepts every
 * stream (resetting a few), consumes all data, echoes some of it, closes on FIN, and pings;
 * the output is drained only partly so the high-water paths run too.
 *
 * Input layout: byte 0 picks the config (limits small enough to reach), byte 1 seeds how the
 * rest is cut into receive() calls; the rest is the yamux byte stream. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/err.h"
#include "p2p/yamux.h"

struct fuzz_state {
	struct yamux_session *s;
	uint32_t events;
};

/* Every stream the upper layer hears about must have been announced (on_stream_open, or
 * opened by us) first: the user pointer marks that. */
static char announced;

static void check_announced(struct yamux_stream *st)
{
	if (yamux_stream_user(st) != &announced)
		__builtin_trap();
}

static void write_some(struct yamux_stream *st, const uint8_t *p, size_t n)
{
	ssize_t r = yamux_stream_write(st, p, n);
	if (r > (ssize_t)n || (r < 0 && r != AA_ECLOSED))
		__builtin_trap();
}

static void on_open(void *user, struct yamux_stream *st)
{
	struct fuzz_state *f = user;
	if (yamux_stream_user(st) != NULL)
		__builtin_trap(); /* announced twice */
	yamux_stream_set_user(st, &announced);
	if (++f->events % 7 == 0)
		yamux_stream_reset(st);
	else
		yamux_stream_accept(st);
}

static void on_data(void *user, struct yamux_stream *st, const uint8_t *p, size_t n)
{
	struct fuzz_state *f = user;
	check_announced(st);
	if (yamux_stream_consumed(st, n) != 0)
		__builtin_trap(); /* we consume exactly what was delivered */
	static const uint8_t bulk[3000];
	f->events++;
	if (f->events % 3 == 0)
		write_some(st, p, n < 300 ? n : 300);
	if (f->events % 4 == 0)
		write_some(st, bulk, sizeof bulk); /* comes up short with a small max_output */
	if (f->events % 11 == 0)
		yamux_stream_close(st);
	if (f->events % 29 == 0)
		yamux_stream_reset(st);
}

static void on_fin(void *user, struct yamux_stream *st)
{
	struct fuzz_state *f = user;
	check_announced(st);
	write_some(st, (const uint8_t *)"bye", 3);
	if (++f->events % 2 == 0)
		yamux_stream_close(st); /* else leave it half-open: the peer may misbehave */
}

/* What on_writable may still write for the current input: a peer may grant windows of up
 * to 4 GiB, which the session rightly lets us fill, but 1 KiB at a time that is hours. */
static size_t writable_budget;

static void on_writable(void *user, struct yamux_stream *st)
{
	static const uint8_t more[1024];
	check_announced(st);
	if (writable_budget < sizeof more)
		return;
	writable_budget -= sizeof more;
	write_some(st, more, sizeof more);
}

static void on_reset(void *user, struct yamux_stream *st)
{
	check_announced(st);
}

static void on_closed(void *user, struct yamux_stream *st)
{
	check_announced(st);
	yamux_stream_set_user(st, NULL);
}

static const struct yamux_callbacks fuzz_callbacks = {
	.on_stream_open = on_open,
	.on_stream_data = on_data,
	.on_stream_fin = on_fin,
	.on_stream_reset = on_reset,
	.on_stream_writable = on_writable,
	.on_stream_closed = on_closed,
};

static void configure(struct yamux_config *cfg, uint8_t sel)
{
	yamux_config_default(cfg, false);
	cfg->rtt_probe = sel & 1;
	cfg->max_streams = (sel & 2) ? 8 : 64;
	cfg->max_unacked_inbound = (sel & 4) ? 2 : 16;
	cfg->max_output = (sel & 8) ? 700 : 64 * 1024;
	cfg->max_frame_payload = (sel & 16) ? 100 : YAMUX_DEFAULT_MAX_FRAME_PAYLOAD;
	if (sel & 32)
		cfg->initial_window = 1024 * 1024;
	if (sel & 64)
		cfg->max_window = cfg->initial_window;
}

/* Drains part of the output, like a socket that takes what it can. */
static void drain(struct yamux_session *s, uint32_t budget)
{
	struct aa_slice out, iov[4];
	struct yamux_stats stats;
	yamux_session_stats(s, &stats);
	size_t k = yamux_session_output_iov(s, iov, 4), sum = 0;
	for (size_t i = 0; i < k; i++)
		sum += iov[i].n;
	if (sum > stats.output_pending || (k > 0 && iov[0].n == 0))
		__builtin_trap();
	while (budget > 0 && yamux_session_output(s, &out) > 0) {
		size_t n = out.n < budget ? out.n : budget;
		if (yamux_session_output_consumed(s, n) != 0)
			__builtin_trap();
		budget -= (uint32_t)n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	struct yamux_config cfg;
	configure(&cfg, data[0]);
	uint32_t rng = data[1] * 2654435761u + 1;
	data += 2;
	size -= 2;

	struct fuzz_state f = { 0 };
	uint64_t now = 1000;
	writable_budget = 1u << 20;
	if (yamux_session_new(&f.s, &cfg, &fuzz_callbacks, &f, now) != 0)
		__builtin_trap();
	struct yamux_stream *mine; /* an outbound stream too; not touched again (may be freed) */
	if (yamux_stream_open(f.s, &mine) == 0) {
		yamux_stream_set_user(mine, &announced);
		write_some(mine, (const uint8_t *)"hello", 5);
	}
	while (size > 0) {
		rng = rng * 1103515245u + 12345;
		size_t piece = 1 + (rng >> 16) % 97;
		if (piece > size)
			piece = size;
		now += (rng >> 8) % 5000000;
		int rc = yamux_session_receive(f.s, data, piece, now);
		data += piece;
		size -= piece;
		if (rc != 0) {
			if (rc != AA_EPROTO)
				__builtin_trap();
			break;
		}
		if ((rng >> 4) % 5 == 0)
			yamux_session_ping(f.s, now);
		drain(f.s, (rng >> 20) % 2 ? UINT32_MAX : 1000);
	}
	yamux_session_close(f.s, YAMUX_GO_AWAY_NORMAL);
	drain(f.s, UINT32_MAX);
	yamux_session_free(f.s);
	return 0;
}
