/* Unit tests for p2p/yamux: a client and a server session wired back to back in memory, plus
 * a server fed hand-made frames for the protocol checks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "p2p/yamux.h"

enum { T_DATA = 0, T_WINDOW_UPDATE = 1, T_PING = 2, T_GO_AWAY = 3 };
enum { F_SYN = 1, F_ACK = 2, F_FIN = 4, F_RST = 8 };

#define MAX_TS 2048
#define MS 1000000ull

/* What a test peer knows about one of its streams. */
struct tstream {
	struct yamux_stream *st;
	uint32_t id;
	bool inbound, fin, reset, closed;
	int writable_count;
	uint64_t bytes; /* payload bytes received */
	struct aa_buf data;
};

struct peer;
typedef void (*data_hook)(struct peer *p, struct tstream *ts, const uint8_t *d, size_t n);
typedef void (*stream_hook)(struct peer *p, struct tstream *ts);

struct peer {
	struct yamux_session *s;
	struct tstream ts[MAX_TS];
	size_t nts;
	bool auto_accept, auto_consume, store_data, reset_on_open, free_on_open;
	int go_away_count, rtt_count, closed_count;
	uint32_t go_away_code;
	uint64_t last_rtt;
	data_hook on_data;
	stream_hook on_writable;
	void *ctx;
};

struct pair {
	struct peer c, s;
	uint64_t now, tick;
	size_t chunk; /* largest piece handed to receive() at once */
};

/* ---- callbacks ---------------------------------------------------------------------------- */

static struct tstream *track(struct peer *p, struct yamux_stream *st, bool inbound)
{
	assert_true(p->nts < MAX_TS);
	struct tstream *ts = &p->ts[p->nts++];
	memset(ts, 0, sizeof *ts);
	ts->st = st;
	ts->id = yamux_stream_id(st);
	ts->inbound = inbound;
	aa_buf_init(&ts->data);
	yamux_stream_set_user(st, ts);
	return ts;
}

static void cb_open(void *user, struct yamux_stream *st)
{
	struct peer *p = user;
	assert_true(yamux_stream_is_inbound(st));
	track(p, st, true);
	if (p->free_on_open)
		yamux_session_free(p->s);
	else if (p->reset_on_open)
		assert_int_equal(yamux_stream_reset(st), 0);
	else if (p->auto_accept)
		assert_int_equal(yamux_stream_accept(st), 0);
}

static void cb_data(void *user, struct yamux_stream *st, const uint8_t *d, size_t n)
{
	struct peer *p = user;
	struct tstream *ts = yamux_stream_user(st);
	assert_non_null(ts);
	assert_false(ts->closed);
	if (p->store_data)
		aa_buf_append(&ts->data, d, n);
	ts->bytes += n;
	if (p->on_data)
		p->on_data(p, ts, d, n);
	if (p->auto_consume && ts->st)
		assert_int_equal(yamux_stream_consumed(st, n), 0);
}

static void cb_fin(void *user, struct yamux_stream *st)
{
	struct tstream *ts = yamux_stream_user(st);
	assert_false(ts->fin);
	ts->fin = true;
}

static void cb_reset(void *user, struct yamux_stream *st)
{
	struct tstream *ts = yamux_stream_user(st);
	assert_false(ts->reset);
	ts->reset = true;
}

static void cb_writable(void *user, struct yamux_stream *st)
{
	struct peer *p = user;
	struct tstream *ts = yamux_stream_user(st);
	ts->writable_count++;
	if (p->on_writable)
		p->on_writable(p, ts);
}

static void cb_closed(void *user, struct yamux_stream *st)
{
	struct peer *p = user;
	struct tstream *ts = yamux_stream_user(st);
	assert_false(ts->closed);
	ts->closed = true;
	ts->st = NULL;
	p->closed_count++;
}

static void cb_go_away(void *user, uint32_t code)
{
	struct peer *p = user;
	p->go_away_count++;
	p->go_away_code = code;
}

static void cb_rtt(void *user, uint64_t rtt)
{
	struct peer *p = user;
	p->rtt_count++;
	p->last_rtt = rtt;
}

static const struct yamux_callbacks callbacks = {
	.on_stream_open = cb_open,
	.on_stream_data = cb_data,
	.on_stream_fin = cb_fin,
	.on_stream_reset = cb_reset,
	.on_stream_writable = cb_writable,
	.on_stream_closed = cb_closed,
	.on_go_away = cb_go_away,
	.on_ping_rtt = cb_rtt,
};

/* ---- harness ------------------------------------------------------------------------------ */

static void peer_init(struct peer *p, const struct yamux_config *cfg, uint64_t now)
{
	p->auto_accept = p->auto_consume = p->store_data = true;
	assert_int_equal(yamux_session_new(&p->s, cfg, &callbacks, p, now), 0);
}

static void peer_fini(struct peer *p)
{
	if (p->s)
		yamux_session_free(p->s);
	for (size_t i = 0; i < p->nts; i++)
		aa_buf_free(&p->ts[i].data);
}

static struct pair *pair_new_cfg(const struct yamux_config *ccfg, const struct yamux_config *scfg)
{
	struct pair *pr = calloc(1, sizeof *pr);
	pr->chunk = SIZE_MAX;
	peer_init(&pr->c, ccfg, 0);
	peer_init(&pr->s, scfg, 0);
	return pr;
}

static void config_for_test(struct yamux_config *cfg, bool is_client)
{
	yamux_config_default(cfg, is_client);
	cfg->rtt_probe = false;
}

static struct pair *pair_new(void)
{
	struct yamux_config c, s;
	config_for_test(&c, true);
	config_for_test(&s, false);
	return pair_new_cfg(&c, &s);
}

static void pair_free(struct pair *pr)
{
	peer_fini(&pr->c);
	peer_fini(&pr->s);
	free(pr);
}

/* Moves everything `from` has to send into `to`, in pieces of at most pr->chunk bytes; the
 * clock advances by pr->tick after every receive() call. */
static int transfer(struct pair *pr, struct peer *from, struct peer *to)
{
	struct aa_slice out;
	while (yamux_session_output(from->s, &out) > 0) {
		size_t n = out.n < pr->chunk ? out.n : pr->chunk;
		int rc = yamux_session_receive(to->s, out.p, n, pr->now);
		pr->now += pr->tick;
		assert_int_equal(yamux_session_output_consumed(from->s, n), 0);
		if (rc)
			return rc;
	}
	return 0;
}

/* The same, all at one instant. */
static int transfer_at(struct peer *from, struct peer *to, uint64_t now)
{
	struct aa_slice out;
	while (yamux_session_output(from->s, &out) > 0) {
		int rc = yamux_session_receive(to->s, out.p, out.n, now);
		assert_int_equal(yamux_session_output_consumed(from->s, out.n), 0);
		if (rc)
			return rc;
	}
	return 0;
}

static size_t pending(struct peer *p)
{
	struct aa_slice out;
	return yamux_session_output(p->s, &out);
}

static void pump(struct pair *pr)
{
	for (int round = 0; round < 10000000; round++) {
		if (!pending(&pr->c) && !pending(&pr->s))
			return;
		assert_int_equal(transfer(pr, &pr->c, &pr->s), 0);
		assert_int_equal(transfer(pr, &pr->s, &pr->c), 0);
	}
	fail_msg("pump did not settle");
}

static struct tstream *open_stream(struct peer *p)
{
	struct yamux_stream *st;
	assert_int_equal(yamux_stream_open(p->s, &st), 0);
	return track(p, st, false);
}

static void write_all(struct tstream *ts, const char *text)
{
	size_t n = strlen(text);
	assert_int_equal(yamux_stream_write(ts->st, text, n), (ssize_t)n);
}

static bool data_is(const struct tstream *ts, const char *text)
{
	return ts->data.n == strlen(text) && memcmp(ts->data.p, text, ts->data.n) == 0;
}

/* ---- frames by hand ----------------------------------------------------------------------- */

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

struct tframe {
	uint8_t version, type;
	uint16_t flags;
	uint32_t id, len;
};

static void put_frame(struct aa_buf *b, uint8_t version, uint8_t type, uint16_t flags, uint32_t id,
		      uint32_t len)
{
	uint8_t h[12] = { version, type, (uint8_t)(flags >> 8), (uint8_t)flags,
			  (uint8_t)(id >> 24), (uint8_t)(id >> 16), (uint8_t)(id >> 8),
			  (uint8_t)id, (uint8_t)(len >> 24), (uint8_t)(len >> 16),
			  (uint8_t)(len >> 8), (uint8_t)len };
	aa_buf_append(b, h, sizeof h);
}

static void put_data(struct aa_buf *b, uint16_t flags, uint32_t id, const char *text)
{
	put_frame(b, 0, T_DATA, flags, id, (uint32_t)strlen(text));
	aa_buf_append_str(b, text);
}

/* Drains a session's output and decodes its frame headers (Data payloads skipped). */
static size_t drain_frames(struct yamux_session *s, struct tframe *f, size_t max)
{
	struct aa_buf all;
	aa_buf_init(&all);
	struct aa_slice out;
	while (yamux_session_output(s, &out) > 0) {
		aa_buf_append(&all, out.p, out.n);
		assert_int_equal(yamux_session_output_consumed(s, out.n), 0);
	}
	size_t k = 0, off = 0;
	while (off < all.n) {
		assert_true(all.n - off >= 12);
		const uint8_t *h = all.p + off;
		struct tframe fr = { h[0], h[1], (uint16_t)(h[2] << 8 | h[3]), get_be32(h + 4),
				     get_be32(h + 8) };
		off += 12;
		if (fr.type == T_DATA)
			off += fr.len;
		assert_true(off <= all.n);
		if (k < max)
			f[k] = fr;
		k++;
	}
	aa_buf_free(&all);
	return k;
}

static struct peer *raw_server_cfg(const struct yamux_config *cfg)
{
	struct peer *p = calloc(1, sizeof *p);
	peer_init(p, cfg, 0);
	return p;
}

static struct peer *raw_server(void)
{
	struct yamux_config cfg;
	config_for_test(&cfg, false);
	return raw_server_cfg(&cfg);
}

static void raw_free(struct peer *p)
{
	peer_fini(p);
	free(p);
}

static int feed(struct peer *p, const struct aa_buf *in)
{
	return yamux_session_receive(p->s, in->p, in->n, 0);
}

static bool has_frame(const struct tframe *f, size_t n, uint8_t type, uint16_t flags, uint32_t id,
		      uint32_t len)
{
	for (size_t i = 0; i < n; i++)
		if (f[i].type == type && f[i].flags == flags && f[i].id == id && f[i].len == len)
			return true;
	return false;
}

/* Feeds `in` to a fresh server and checks the session fails closed: AA_EPROTO, a Go Away with
 * the protocol-error code as the last frame, and AA_EPROTO for anything fed later. */
static void expect_violation_with(const struct aa_buf *in, bool consume)
{
	struct peer *p = raw_server();
	p->auto_consume = consume;
	assert_int_equal(feed(p, in), AA_EPROTO);
	assert_non_null(yamux_session_error(p->s));
	struct tframe f[64];
	size_t n = drain_frames(p->s, f, 64);
	assert_true(n >= 1 && n <= 64);
	assert_int_equal(f[n - 1].type, T_GO_AWAY);
	assert_int_equal(f[n - 1].id, 0);
	assert_int_equal(f[n - 1].len, YAMUX_GO_AWAY_PROTOCOL_ERROR);
	uint8_t ping[12] = { 0, T_PING, 0, F_SYN, 0, 0, 0, 0, 0, 0, 0, 1 };
	assert_int_equal(yamux_session_receive(p->s, ping, sizeof ping, 0), AA_EPROTO);
	raw_free(p);
}

static void expect_violation(const struct aa_buf *in)
{
	expect_violation_with(in, true);
}

/* ---- streams ------------------------------------------------------------------------------ */

static void test_yamux_open_accept_and_data_both_directions(void **state)
{
	struct pair *pr = pair_new();
	struct tstream *c = open_stream(&pr->c);
	assert_int_equal(c->id, 1);
	write_all(c, "hello");
	pump(pr);
	assert_int_equal(pr->s.nts, 1);
	struct tstream *s = &pr->s.ts[0];
	assert_true(s->inbound);
	assert_int_equal(s->id, 1);
	assert_true(data_is(s, "hello"));
	write_all(s, "world");
	pump(pr);
	assert_true(data_is(c, "world"));
	struct yamux_stats st;
	yamux_session_stats(pr->s.s, &st);
	assert_int_equal(st.streams_open, 1);
	assert_int_equal(st.unacked_inbound, 0);
	assert_int_equal(st.bytes_in, 5);
	assert_int_equal(st.bytes_out, 5);
	pair_free(pr);
}

static void test_yamux_server_opens_even_stream_ids(void **state)
{
	struct pair *pr = pair_new();
	struct tstream *a = open_stream(&pr->s);
	struct tstream *b = open_stream(&pr->s);
	assert_int_equal(a->id, 2);
	assert_int_equal(b->id, 4);
	write_all(b, "x");
	pump(pr);
	assert_int_equal(pr->c.nts, 2);
	assert_int_equal(pr->c.ts[0].id, 2);
	assert_int_equal(pr->c.ts[1].id, 4);
	assert_true(data_is(&pr->c.ts[1], "x"));
	pair_free(pr);
}

static void test_yamux_open_sends_syn_in_window_update_at_once(void **state)
{
	struct pair *pr = pair_new();
	open_stream(&pr->c);
	struct tframe f[4];
	assert_int_equal(drain_frames(pr->c.s, f, 4), 1);
	assert_int_equal(f[0].type, T_WINDOW_UPDATE);
	assert_int_equal(f[0].flags, F_SYN);
	assert_int_equal(f[0].id, 1);
	assert_int_equal(f[0].len, 0);
	pair_free(pr);
}

static void test_yamux_half_close_keeps_other_direction_open(void **state)
{
	struct pair *pr = pair_new();
	struct tstream *c = open_stream(&pr->c);
	write_all(c, "request");
	assert_int_equal(yamux_stream_close(c->st), 0);
	assert_int_equal(yamux_stream_write(c->st, "x", 1), AA_ECLOSED);
	pump(pr);
	struct tstream *s = &pr->s.ts[0];
	assert_true(data_is(s, "request"));
	assert_true(s->fin);
	assert_false(s->closed);
	write_all(s, "response");
	assert_int_equal(yamux_stream_close(s->st), 0);
	pump(pr);
	assert_true(data_is(c, "response"));
	assert_true(c->fin);
	assert_true(c->closed);
	assert_true(s->closed);
	assert_false(c->reset || s->reset);
	struct yamux_stats st;
	yamux_session_stats(pr->c.s, &st);
	assert_int_equal(st.streams_open, 0);
	yamux_session_stats(pr->s.s, &st);
	assert_int_equal(st.streams_open, 0);
	pair_free(pr);
}

static void test_yamux_reset_reaches_peer(void **state)
{
	struct pair *pr = pair_new();
	struct tstream *c = open_stream(&pr->c);
	write_all(c, "abc");
	pump(pr);
	struct yamux_stream *st = c->st;
	assert_int_equal(yamux_stream_reset(st), 0);
	/* the stream object survives until the output is drained */
	assert_int_equal(yamux_stream_write(st, "x", 1), AA_ECLOSED);
	assert_int_equal(yamux_stream_close(st), AA_ECLOSED);
	assert_int_equal(yamux_stream_reset(st), 0);
	pump(pr);
	assert_true(c->closed);
	assert_false(c->reset); /* on_stream_reset is for resets by the peer */
	struct tstream *s = &pr->s.ts[0];
	assert_true(s->reset);
	assert_true(s->closed);
	pair_free(pr);
}

static void test_yamux_stream_refused_on_open_is_reset_for_opener(void **state)
{
	struct pair *pr = pair_new();
	pr->s.reset_on_open = true;
	struct tstream *c = open_stream(&pr->c);
	write_all(c, "data that nobody reads");
	pump(pr);
	assert_true(c->reset);
	assert_true(c->closed);
	assert_int_equal(pr->s.ts[0].bytes, 0);
	assert_true(pr->s.ts[0].closed);
	pair_free(pr);
}

static void test_yamux_many_concurrent_streams(void **state)
{
	struct pair *pr = pair_new();
	enum { N = 300 };
	struct tstream *c[N];
	for (int i = 0; i < N; i++) {
		c[i] = open_stream(&pr->c);
		if (i % 100 == 99)
			pump(pr); /* stay inside the peer's ACK backlog */
	}
	char text[64];
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++) {
			snprintf(text, sizeof text, "[%d:%d]", i, round);
			write_all(c[i], text);
		}
		pump(pr);
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(yamux_stream_close(c[i]->st), 0);
	pump(pr);
	assert_int_equal(pr->s.nts, N);
	for (int i = 0; i < N; i++) {
		struct tstream *s = &pr->s.ts[i];
		assert_int_equal(s->id, c[i]->id);
		char want[128];
		snprintf(want, sizeof want, "[%d:0][%d:1][%d:2]", i, i, i);
		assert_true(data_is(s, want));
		assert_true(s->fin);
		assert_int_equal(yamux_stream_close(s->st), 0);
	}
	pump(pr);
	assert_int_equal(pr->c.closed_count, N);
	assert_int_equal(pr->s.closed_count, N);
	pair_free(pr);
}

/* ---- flow control ------------------------------------------------------------------------- */

static ssize_t write_until_blocked(struct tstream *ts, size_t limit)
{
	static uint8_t buf[64 * 1024];
	size_t total = 0;
	while (total < limit) {
		size_t n = limit - total < sizeof buf ? limit - total : sizeof buf;
		ssize_t r = yamux_stream_write(ts->st, buf, n);
		assert_true(r >= 0);
		total += (size_t)r;
		if ((size_t)r < n)
			break;
	}
	return (ssize_t)total;
}

static void test_yamux_window_exhaustion_blocks_writer_until_reader_consumes(void **state)
{
	struct pair *pr = pair_new();
	pr->s.auto_consume = false;
	pr->s.store_data = false;
	struct tstream *c = open_stream(&pr->c);
	assert_int_equal(write_until_blocked(c, 1 << 20), YAMUX_SPEC_WINDOW);
	assert_int_equal(yamux_stream_send_window(c->st), 0);
	assert_int_equal(yamux_stream_write(c->st, "x", 1), 0);
	pump(pr);
	struct tstream *s = &pr->s.ts[0];
	assert_int_equal(s->bytes, YAMUX_SPEC_WINDOW);
	assert_int_equal(yamux_stream_write(c->st, "x", 1), 0);
	/* less than half the window consumed: no update yet */
	assert_int_equal(yamux_stream_consumed(s->st, 64 * 1024), 0);
	pump(pr);
	assert_int_equal(c->writable_count, 0);
	assert_int_equal(yamux_stream_send_window(c->st), 0);
	/* half consumed: one update, the writer hears about it */
	assert_int_equal(yamux_stream_consumed(s->st, 64 * 1024), 0);
	pump(pr);
	assert_int_equal(c->writable_count, 1);
	assert_int_equal(yamux_stream_send_window(c->st), 128 * 1024);
	assert_int_equal(write_until_blocked(c, 1 << 20), 128 * 1024);
	pair_free(pr);
}

static void test_yamux_consumed_rejects_more_than_delivered(void **state)
{
	struct pair *pr = pair_new();
	pr->s.auto_consume = false;
	struct tstream *c = open_stream(&pr->c);
	write_all(c, "12345");
	pump(pr);
	assert_int_equal(yamux_stream_consumed(pr->s.ts[0].st, 6), AA_EINVAL);
	assert_int_equal(yamux_stream_consumed(pr->s.ts[0].st, 5), 0);
	pair_free(pr);
}

static void test_yamux_accept_grants_larger_initial_window(void **state)
{
	struct yamux_config c, s;
	config_for_test(&c, true);
	config_for_test(&s, false);
	c.initial_window = 1 << 20;
	s.initial_window = 2 << 20;
	struct pair *pr = pair_new_cfg(&c, &s);
	struct tstream *ct = open_stream(&pr->c);
	pump(pr);
	/* the server's ACK carries 2 MiB - 256 KiB; the client's SYN carried 1 MiB - 256 KiB */
	assert_int_equal(yamux_stream_send_window(ct->st), 2 << 20);
	assert_int_equal(yamux_stream_send_window(pr->s.ts[0].st), 1 << 20);
	pair_free(pr);
}

/* A writer that keeps a stream full with a recognisable byte pattern. */
struct writer {
	struct tstream *ts;
	uint64_t sent, total;
	bool close_at_end;
};

static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(i * 7 + (i >> 8) * 13 + (i >> 16) * 3);
}

static void writer_run(struct writer *w)
{
	static uint8_t buf[100000];
	while (w->ts->st && w->sent < w->total) {
		uint64_t left = w->total - w->sent;
		size_t n = left < sizeof buf ? (size_t)left : sizeof buf;
		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(w->sent + i);
		ssize_t r = yamux_stream_write(w->ts->st, buf, n);
		assert_true(r >= 0);
		if (r == 0)
			return;
		w->sent += (uint64_t)r;
	}
	if (w->ts->st && w->sent == w->total && w->close_at_end)
		assert_int_equal(yamux_stream_close(w->ts->st), 0);
}

static void writer_on_writable(struct peer *p, struct tstream *ts)
{
	writer_run(p->ctx);
}

static void check_pattern(struct peer *p, struct tstream *ts, const uint8_t *d, size_t n)
{
	uint64_t base = ts->bytes - n; /* cb_data already counted these */
	for (size_t i = 0; i < n; i++)
		if (d[i] != pattern(base + i))
			fail_msg("byte %llu differs", (unsigned long long)(base + i));
}

static void run_transfer(struct pair *pr, uint64_t total, bool check)
{
	pr->s.store_data = false;
	if (check)
		pr->s.on_data = check_pattern;
	struct writer w = { .ts = open_stream(&pr->c), .total = total, .close_at_end = true };
	pr->c.ctx = &w;
	pr->c.on_writable = writer_on_writable;
	writer_run(&w);
	pump(pr);
	assert_int_equal(w.sent, total);
	assert_int_equal(pr->s.ts[0].bytes, total);
	assert_true(pr->s.ts[0].fin);
}

static void test_yamux_window_grows_when_consumer_keeps_up(void **state)
{
	struct yamux_config c, s;
	yamux_config_default(&c, true);
	yamux_config_default(&s, false);
	s.max_window = 4 << 20;
	struct pair *pr = pair_new_cfg(&c, &s);
	/* both probes answered 10 ms later */
	assert_int_equal(transfer_at(&pr->c, &pr->s, 0), 0);
	assert_int_equal(transfer_at(&pr->s, &pr->c, 10 * MS), 0);
	assert_int_equal(transfer_at(&pr->c, &pr->s, 10 * MS), 0);
	assert_true(yamux_session_rtt_ns(pr->s.s) == 10 * MS);
	assert_true(yamux_session_rtt_ns(pr->c.s) == 10 * MS);
	pr->now = 10 * MS;
	pr->tick = 1000; /* 1 us per round trip of the pump: a fast consumer */
	run_transfer(pr, 16 << 20, false);
	assert_int_equal(yamux_stream_recv_window(pr->s.ts[0].st), 4 << 20);
	pair_free(pr);
}

static void test_yamux_window_growth_stops_at_the_session_budget(void **state)
{
	struct yamux_config c, s;
	yamux_config_default(&c, true);
	yamux_config_default(&s, false);
	s.max_window = 4 << 20;
	s.growth_budget = 768 * 1024; /* 256 KiB → 512 KiB → 1 MiB, then no further */
	struct pair *pr = pair_new_cfg(&c, &s);
	assert_int_equal(transfer_at(&pr->c, &pr->s, 0), 0);
	assert_int_equal(transfer_at(&pr->s, &pr->c, 10 * MS), 0);
	assert_int_equal(transfer_at(&pr->c, &pr->s, 10 * MS), 0);
	pr->now = 10 * MS;
	pr->tick = 1000;
	run_transfer(pr, 16 << 20, false);
	assert_int_equal(yamux_stream_recv_window(pr->s.ts[0].st), YAMUX_SPEC_WINDOW + 768 * 1024);
	pair_free(pr);
}

static void test_yamux_window_stays_when_consumer_is_slow(void **state)
{
	struct yamux_config c, s;
	yamux_config_default(&c, true);
	yamux_config_default(&s, false);
	struct pair *pr = pair_new_cfg(&c, &s);
	assert_int_equal(transfer_at(&pr->c, &pr->s, 0), 0);
	assert_int_equal(transfer_at(&pr->s, &pr->c, 10 * MS), 0);
	assert_int_equal(transfer_at(&pr->c, &pr->s, 10 * MS), 0);
	pr->now = 10 * MS;
	pr->chunk = 16 * 1024;
	pr->tick = 100 * MS; /* each 16 KiB takes ten RTTs to read */
	run_transfer(pr, 4 << 20, false);
	assert_int_equal(yamux_stream_recv_window(pr->s.ts[0].st), YAMUX_SPEC_WINDOW);
	pair_free(pr);
}

static void test_yamux_window_stays_without_rtt(void **state)
{
	struct pair *pr = pair_new();
	pr->tick = 1;
	run_transfer(pr, 4 << 20, false);
	assert_int_equal(yamux_stream_recv_window(pr->s.ts[0].st), YAMUX_SPEC_WINDOW);
	pair_free(pr);
}

static void test_yamux_transfers_64_mib_byte_exact(void **state)
{
	struct pair *pr = pair_new();
	run_transfer(pr, 64ull << 20, true);
	struct yamux_stats st;
	yamux_session_stats(pr->s.s, &st);
	assert_true(st.bytes_in == 64ull << 20);
	pair_free(pr);
}

static void test_yamux_byte_at_a_time_feeding(void **state)
{
	struct pair *pr = pair_new();
	pr->chunk = 1;
	pr->s.on_data = check_pattern;
	run_transfer(pr, 300 * 1024, true); /* more than one window, so updates flow too */
	struct tstream *s = &pr->s.ts[0];
	for (int i = 0; i < 3; i++)
		write_all(s, "pong");
	assert_int_equal(yamux_stream_close(s->st), 0);
	pump(pr);
	assert_true(data_is(&pr->c.ts[0], "pongpongpong"));
	assert_true(pr->c.ts[0].closed);
	assert_true(s->closed);
	pair_free(pr);
}

/* ---- output ------------------------------------------------------------------------------- */

static void test_yamux_output_chunks_fit_one_noise_message(void **state)
{
	struct pair *pr = pair_new();
	struct tstream *c = open_stream(&pr->c);
	write_all(c, "small");
	assert_int_equal(write_until_blocked(c, 1 << 20), YAMUX_SPEC_WINDOW - 5);
	struct aa_slice iov[16];
	size_t k = yamux_session_output_iov(pr->c.s, iov, 16);
	assert_true(k >= 5);
	size_t sum = 0;
	for (size_t i = 0; i < k; i++) {
		assert_true(iov[i].n <= 65535 - 16);
		/* each chunk holds whole frames */
		size_t off = 0;
		while (off < iov[i].n) {
			const uint8_t *h = iov[i].p + off;
			uint32_t len = get_be32(h + 8);
			off += 12 + (h[1] == T_DATA ? len : 0);
			assert_true(len <= YAMUX_DEFAULT_MAX_FRAME_PAYLOAD || h[1] != T_DATA);
		}
		assert_int_equal(off, iov[i].n);
		sum += iov[i].n;
	}
	struct aa_slice first;
	assert_int_equal(yamux_session_output(pr->c.s, &first), sum);
	assert_ptr_equal(first.p, iov[0].p);
	pair_free(pr);
}

static void test_yamux_output_high_water_blocks_writer(void **state)
{
	struct yamux_config c, s;
	config_for_test(&c, true);
	config_for_test(&s, false);
	c.max_output = 100000;
	struct pair *pr = pair_new_cfg(&c, &s);
	struct tstream *ct = open_stream(&pr->c);
	ssize_t got = write_until_blocked(ct, 200000);
	/* the room below the mark, less the SYN and the data frame headers */
	assert_true(got > 99900 && got < 100000);
	assert_true(yamux_session_output_full(pr->c.s));
	assert_true(pending(&pr->c) >= 100000 && pending(&pr->c) < 100100);
	assert_int_equal(yamux_stream_write(ct->st, "x", 1), 0);
	/* draining to just above the low-water mark (half) says nothing */
	assert_int_equal(yamux_session_output_consumed(pr->c.s, pending(&pr->c) - 51000), 0);
	assert_int_equal(ct->writable_count, 0);
	assert_int_equal(yamux_session_output_consumed(pr->c.s, 2000), 0);
	assert_int_equal(ct->writable_count, 1);
	assert_false(yamux_session_output_full(pr->c.s));
	assert_int_equal(yamux_session_output_consumed(pr->c.s, pending(&pr->c) + 1), AA_EINVAL);
	pair_free(pr);
}

static void test_yamux_frame_size_is_configurable(void **state)
{
	struct yamux_config c, s;
	config_for_test(&c, true);
	config_for_test(&s, false);
	c.max_frame_payload = 1000;
	struct pair *pr = pair_new_cfg(&c, &s);
	struct tstream *ct = open_stream(&pr->c);
	assert_int_equal(write_until_blocked(ct, 5000), 5000);
	struct aa_slice iov[16];
	size_t k = yamux_session_output_iov(pr->c.s, iov, 16);
	for (size_t i = 0; i < k; i++)
		assert_true(iov[i].n <= 1012);
	struct tframe f[16];
	size_t n = drain_frames(pr->c.s, f, 16);
	assert_true(n >= 6 && n <= 16);
	size_t sum = 0;
	for (size_t i = 1; i < n; i++) {
		assert_int_equal(f[i].type, T_DATA);
		assert_true(f[i].len <= 1000);
		sum += f[i].len;
	}
	assert_int_equal(sum, 5000);
	pair_free(pr);
}

/* ---- ping, go away, limits ---------------------------------------------------------------- */

static void test_yamux_ping_reports_rtt(void **state)
{
	struct pair *pr = pair_new();
	assert_int_equal(yamux_session_ping(pr->c.s, 1000), 0);
	assert_int_equal(transfer_at(&pr->c, &pr->s, 1000), 0);
	assert_int_equal(transfer_at(&pr->s, &pr->c, 1000 + 5 * MS), 0);
	assert_int_equal(pr->c.rtt_count, 1);
	assert_true(pr->c.last_rtt == 5 * MS);
	assert_true(yamux_session_rtt_ns(pr->c.s) == 5 * MS);
	assert_int_equal(pr->s.rtt_count, 0);
	pair_free(pr);
}

static void test_yamux_ping_limits_outstanding(void **state)
{
	struct pair *pr = pair_new();
	for (int i = 0; i < 4; i++)
		assert_int_equal(yamux_session_ping(pr->c.s, 0), 0);
	assert_int_equal(yamux_session_ping(pr->c.s, 0), AA_EAGAIN);
	pump(pr);
	assert_int_equal(pr->c.rtt_count, 4);
	assert_int_equal(yamux_session_ping(pr->c.s, 0), 0);
	pair_free(pr);
}

static void test_yamux_go_away_stops_new_streams_only(void **state)
{
	struct pair *pr = pair_new();
	struct tstream *c = open_stream(&pr->c);
	pump(pr);
	assert_int_equal(yamux_session_go_away(pr->s.s, YAMUX_GO_AWAY_NORMAL), 0);
	assert_int_equal(yamux_session_go_away(pr->s.s, YAMUX_GO_AWAY_NORMAL), 0);
	pump(pr);
	assert_int_equal(pr->c.go_away_count, 1);
	assert_int_equal(pr->c.go_away_code, YAMUX_GO_AWAY_NORMAL);
	struct yamux_stream *st;
	assert_int_equal(yamux_stream_open(pr->c.s, &st), AA_ECLOSED);
	assert_int_equal(yamux_stream_open(pr->s.s, &st), AA_ECLOSED);
	write_all(c, "still here");
	pump(pr);
	assert_true(data_is(&pr->s.ts[0], "still here"));
	pair_free(pr);
}

static void test_yamux_syn_after_our_go_away_is_reset(void **state)
{
	struct pair *pr = pair_new();
	assert_int_equal(yamux_session_go_away(pr->s.s, YAMUX_GO_AWAY_NORMAL), 0);
	struct tstream *c = open_stream(&pr->c); /* crosses the Go Away on the wire */
	write_all(c, "late");
	pump(pr);
	assert_int_equal(pr->c.go_away_count, 1);
	assert_true(c->reset);
	assert_int_equal(pr->s.nts, 0);
	pair_free(pr);
}

static void test_yamux_resets_streams_beyond_max_streams(void **state)
{
	struct yamux_config c, s;
	config_for_test(&c, true);
	config_for_test(&s, false);
	s.max_streams = 4;
	struct pair *pr = pair_new_cfg(&c, &s);
	for (int i = 0; i < 6; i++)
		open_stream(&pr->c);
	pump(pr);
	assert_int_equal(pr->s.nts, 4);
	for (int i = 0; i < 6; i++)
		assert_int_equal(pr->c.ts[i].reset, i >= 4);
	struct yamux_stats st;
	yamux_session_stats(pr->s.s, &st);
	assert_int_equal(st.streams_refused, 2);
	assert_int_equal(st.streams_open, 4);
	struct yamux_stream *x;
	assert_int_equal(yamux_stream_open(pr->s.s, &x), AA_ENOMEM);
	pair_free(pr);
}

static void test_yamux_resets_streams_beyond_ack_backlog(void **state)
{
	struct yamux_config c, s;
	config_for_test(&c, true);
	config_for_test(&s, false);
	s.max_unacked_inbound = 8;
	struct pair *pr = pair_new_cfg(&c, &s);
	pr->s.auto_accept = false;
	for (int i = 0; i < 10; i++)
		open_stream(&pr->c);
	pump(pr);
	assert_int_equal(pr->s.nts, 8);
	assert_true(pr->c.ts[8].reset && pr->c.ts[9].reset);
	struct yamux_stats st;
	yamux_session_stats(pr->s.s, &st);
	assert_int_equal(st.unacked_inbound, 8);
	assert_int_equal(yamux_stream_accept(pr->s.ts[0].st), 0);
	struct tstream *more = open_stream(&pr->c);
	pump(pr);
	assert_false(more->reset);
	assert_int_equal(pr->s.nts, 9);
	yamux_session_stats(pr->s.s, &st);
	assert_int_equal(st.unacked_inbound, 8);
	pair_free(pr);
}

static void test_yamux_opener_respects_peer_ack_backlog(void **state)
{
	struct pair *pr = pair_new();
	for (int i = 0; i < YAMUX_SPEC_ACK_BACKLOG; i++)
		open_stream(&pr->c);
	struct yamux_stream *st;
	assert_int_equal(yamux_stream_open(pr->c.s, &st), AA_EAGAIN);
	pump(pr); /* the server accepts them all */
	assert_int_equal(yamux_stream_open(pr->c.s, &st), 0);
	pair_free(pr);
}

static void test_yamux_out_of_order_syns_are_accepted(void **state)
{
	struct peer *p = raw_server();
	struct aa_buf in;
	aa_buf_init(&in);
	put_frame(&in, 0, T_WINDOW_UPDATE, F_SYN, 5, 0);
	put_frame(&in, 0, T_WINDOW_UPDATE, F_SYN, 1, 0);
	put_frame(&in, 0, T_WINDOW_UPDATE, F_SYN, 3, 0);
	assert_int_equal(feed(p, &in), 0);
	assert_int_equal(p->nts, 3);
	aa_buf_free(&in);
	raw_free(p);
}

static void test_yamux_data_on_unknown_stream_gets_rst(void **state)
{
	struct peer *p = raw_server();
	struct aa_buf in;
	aa_buf_init(&in);
	put_data(&in, 0, 7, "who?");   /* never opened by the client */
	put_data(&in, 0, 2, "mine?");  /* a server ID we never opened */
	put_frame(&in, 0, T_WINDOW_UPDATE, F_RST, 9, 0); /* RST for nothing: ignored */
	assert_int_equal(feed(p, &in), 0);
	struct tframe f[8];
	size_t n = drain_frames(p->s, f, 8);
	assert_int_equal(n, 2);
	assert_true(has_frame(f, n, T_WINDOW_UPDATE, F_RST, 7, 0));
	assert_true(has_frame(f, n, T_WINDOW_UPDATE, F_RST, 2, 0));
	assert_int_equal(p->nts, 0);
	aa_buf_free(&in);
	raw_free(p);
}

static void test_yamux_late_frames_on_closed_stream_are_ignored(void **state)
{
	struct peer *p = raw_server();
	struct aa_buf in;
	aa_buf_init(&in);
	put_frame(&in, 0, T_WINDOW_UPDATE, F_SYN, 3, 0);
	put_frame(&in, 0, T_WINDOW_UPDATE, F_RST, 3, 0);
	put_data(&in, 0, 3, "late data");
	put_frame(&in, 0, T_WINDOW_UPDATE, F_FIN, 3, 1000);
	put_data(&in, 0, 1, "skipped id"); /* below the highest ID seen: treated as closed */
	put_frame(&in, 0, T_PING, F_SYN, 0, 42);
	assert_int_equal(feed(p, &in), 0);
	struct tframe f[8];
	size_t n = drain_frames(p->s, f, 8);
	/* the ACK for stream 3, then the pong; no RST */
	assert_int_equal(n, 2);
	assert_true(has_frame(f, n, T_WINDOW_UPDATE, F_ACK, 3, 0));
	assert_true(has_frame(f, n, T_PING, F_ACK, 0, 42));
	assert_true(p->ts[0].reset && p->ts[0].closed);
	assert_int_equal(p->ts[0].bytes, 0);
	aa_buf_free(&in);
	raw_free(p);
}

static void test_yamux_data_after_fin_resets_stream(void **state)
{
	struct peer *p = raw_server();
	struct aa_buf in;
	aa_buf_init(&in);
	put_data(&in, F_SYN | F_FIN, 1, "req");
	put_data(&in, 0, 1, "more");
	assert_int_equal(feed(p, &in), 0);
	assert_true(data_is(&p->ts[0], "req"));
	assert_true(p->ts[0].fin && p->ts[0].reset && p->ts[0].closed);
	struct tframe f[8];
	size_t n = drain_frames(p->s, f, 8);
	assert_true(has_frame(f, n, T_WINDOW_UPDATE, F_RST, 1, 0));
	aa_buf_free(&in);
	raw_free(p);
}

static void test_yamux_rst_length_is_not_a_window_delta(void **state)
{
	struct pair *pr = pair_new();
	struct tstream *c = open_stream(&pr->c);
	pump(pr);
	struct aa_buf in;
	aa_buf_init(&in);
	/* go-yamux puts an error code there */
	put_frame(&in, 0, T_WINDOW_UPDATE, F_RST, 1, 0xffffffff);
	assert_int_equal(yamux_session_receive(pr->c.s, in.p, in.n, 0), 0);
	assert_true(c->reset && c->closed);
	aa_buf_free(&in);
	pair_free(pr);
}

/* ---- protocol violations ------------------------------------------------------------------ */

static void test_yamux_rejects_bad_version(void **state)
{
	struct aa_buf in;
	aa_buf_init(&in);
	put_frame(&in, 1, T_PING, F_SYN, 0, 1);
	expect_violation(&in);
	aa_buf_free(&in);
}

static void test_yamux_rejects_unknown_type(void **state)
{
	struct aa_buf in;
	aa_buf_init(&in);
	put_frame(&in, 0, 4, 0, 1, 0);
	expect_violation(&in);
	aa_buf_free(&in);
}

static void test_yamux_rejects_window_violation_on_open(void **state)
{
	struct aa_buf in;
	aa_buf_init(&in);
	put_frame(&in, 0, T_DATA, F_SYN, 1, YAMUX_SPEC_WINDOW + 1);
	expect_violation(&in);
	aa_buf_free(&in);
}

static void test_yamux_rejects_window_violation_on_open_stream(void **state)
{
	struct aa_buf in;
	aa_buf_init(&in);
	put_frame(&in, 0, T_WINDOW_UPDATE, F_SYN, 1, 0);
	put_frame(&in, 0, T_DATA, 0, 1, YAMUX_SPEC_WINDOW - 10);
	aa_buf_reserve(&in, YAMUX_SPEC_WINDOW - 10);
	memset(in.p + in.n, 'a', YAMUX_SPEC_WINDOW - 10);
	in.n += YAMUX_SPEC_WINDOW - 10;
	put_data(&in, 0, 1, "0123456789X"); /* one byte more than granted */
	expect_violation_with(&in, false);
	aa_buf_free(&in);
}

static void test_yamux_rejects_data_on_stream_zero(void **state)
{
	struct aa_buf in;
	aa_buf_init(&in);
	put_data(&in, 0, 0, "x");
	expect_violation(&in);
	aa_buf_free(&in);
}

static void test_yamux_rejects_syn_with_wrong_parity(void **state)
{
	struct aa_buf in;
	aa_buf_init(&in);
	put_frame(&in, 0, T_WINDOW_UPDATE, F_SYN, 2, 0); /* even: the server's own kind */
	expect_violation(&in);
	aa_buf_free(&in);
}

static void test_yamux_rejects_syn_reusing_live_id(void **state)
{
	struct aa_buf in;
	aa_buf_init(&in);
	put_frame(&in, 0, T_WINDOW_UPDATE, F_SYN, 1, 0);
	put_frame(&in, 0, T_WINDOW_UPDATE, F_SYN, 1, 0);
	expect_violation(&in);
	aa_buf_free(&in);
}

static void test_yamux_rejects_syn_reusing_closed_id(void **state)
{
	struct aa_buf in;
	aa_buf_init(&in);
	put_frame(&in, 0, T_WINDOW_UPDATE, F_SYN, 1, 0);
	put_frame(&in, 0, T_WINDOW_UPDATE, F_RST, 1, 0);
	put_frame(&in, 0, T_WINDOW_UPDATE, F_SYN, 1, 0);
	expect_violation(&in);
	aa_buf_free(&in);
}

static void test_yamux_rejects_syn_far_below_highest_id(void **state)
{
	struct aa_buf in;
	aa_buf_init(&in);
	put_frame(&in, 0, T_WINDOW_UPDATE, F_SYN, 100001, 0);
	put_frame(&in, 0, T_WINDOW_UPDATE, F_SYN, 1, 0);
	expect_violation(&in);
	aa_buf_free(&in);
}

static void test_yamux_rejects_unknown_flags(void **state)
{
	struct aa_buf in;
	aa_buf_init(&in);
	put_frame(&in, 0, T_WINDOW_UPDATE, F_SYN | 0x10, 1, 0);
	expect_violation(&in);
	aa_buf_free(&in);
}

static void test_yamux_rejects_syn_and_ack_together(void **state)
{
	struct aa_buf in;
	aa_buf_init(&in);
	put_frame(&in, 0, T_WINDOW_UPDATE, F_SYN | F_ACK, 1, 0);
	expect_violation(&in);
	aa_buf_free(&in);
}

static void test_yamux_rejects_send_window_overflow(void **state)
{
	struct aa_buf in;
	aa_buf_init(&in);
	put_frame(&in, 0, T_WINDOW_UPDATE, F_SYN, 1, 0);
	put_frame(&in, 0, T_WINDOW_UPDATE, 0, 1, 0xffffffff);
	expect_violation(&in);
	aa_buf_free(&in);
}

static void test_yamux_rejects_send_window_overflow_on_open(void **state)
{
	struct peer *p = raw_server();
	struct aa_buf in;
	aa_buf_init(&in);
	put_frame(&in, 0, T_WINDOW_UPDATE, F_SYN, 1, 0xffffffff);
	assert_int_equal(feed(p, &in), AA_EPROTO);
	assert_int_equal(p->nts, 0); /* never announced, so never reset either */
	struct tframe f[4];
	assert_int_equal(drain_frames(p->s, f, 4), 1);
	assert_int_equal(f[0].type, T_GO_AWAY);
	aa_buf_free(&in);
	raw_free(p);
}

static void test_yamux_remembers_ids_across_gaps(void **state)
{
	struct peer *p = raw_server();
	struct aa_buf in;
	aa_buf_init(&in);
	put_frame(&in, 0, T_WINDOW_UPDATE, F_SYN, 1, 0);
	put_frame(&in, 0, T_WINDOW_UPDATE, F_SYN, 201, 0);
	put_frame(&in, 0, T_WINDOW_UPDATE, F_SYN, 2001, 0);
	put_frame(&in, 0, T_WINDOW_UPDATE, F_SYN, 199, 0); /* skipped earlier: fine now */
	assert_int_equal(feed(p, &in), 0);
	assert_int_equal(p->nts, 4);
	in.n = 0;
	put_frame(&in, 0, T_WINDOW_UPDATE, F_SYN, 1, 0); /* 1000 IDs back, still remembered */
	assert_int_equal(feed(p, &in), AA_EPROTO);
	aa_buf_free(&in);
	raw_free(p);
}

static void test_yamux_rejects_ping_on_stream(void **state)
{
	struct aa_buf in;
	aa_buf_init(&in);
	put_frame(&in, 0, T_PING, F_SYN, 1, 0);
	expect_violation(&in);
	aa_buf_free(&in);
}

static void test_yamux_rejects_ping_without_syn_or_ack(void **state)
{
	struct aa_buf in;
	aa_buf_init(&in);
	put_frame(&in, 0, T_PING, F_FIN, 0, 0);
	expect_violation(&in);
	aa_buf_free(&in);
}

static void test_yamux_rejects_go_away_on_stream(void **state)
{
	struct aa_buf in;
	aa_buf_init(&in);
	put_frame(&in, 0, T_GO_AWAY, 0, 1, 0);
	expect_violation(&in);
	aa_buf_free(&in);
}

static void test_yamux_protocol_error_resets_every_stream(void **state)
{
	struct peer *p = raw_server();
	struct aa_buf in;
	aa_buf_init(&in);
	put_data(&in, F_SYN, 1, "a");
	put_data(&in, F_SYN, 3, "b");
	put_frame(&in, 7, 0, 0, 0, 0);
	assert_int_equal(feed(p, &in), AA_EPROTO);
	assert_int_equal(p->nts, 2);
	for (int i = 0; i < 2; i++)
		assert_true(p->ts[i].reset && p->ts[i].closed);
	struct yamux_stream *st;
	assert_int_equal(yamux_stream_open(p->s, &st), AA_ECLOSED);
	assert_int_equal(yamux_session_ping(p->s, 0), AA_ECLOSED);
	aa_buf_free(&in);
	raw_free(p);
}

/* ---- incremental parsing ------------------------------------------------------------------ */

/* Records what a client session sends for a small but complete conversation. */
static void conversation(struct aa_buf *out)
{
	struct yamux_config cfg;
	config_for_test(&cfg, true);
	struct peer *c = calloc(1, sizeof *c);
	peer_init(c, &cfg, 0);
	struct tstream *a = open_stream(c);
	struct tstream *b = open_stream(c);
	write_all(a, "alpha");
	assert_int_equal(yamux_session_ping(c->s, 0), 0);
	write_all(b, "bravo");
	assert_int_equal(yamux_stream_close(a->st), 0);
	write_all(b, "charlie");
	assert_int_equal(yamux_stream_reset(b->st), 0);
	struct aa_slice sl;
	while (yamux_session_output(c->s, &sl) > 0) {
		aa_buf_append(out, sl.p, sl.n);
		assert_int_equal(yamux_session_output_consumed(c->s, sl.n), 0);
	}
	peer_fini(c);
	free(c);
}

static void check_conversation(struct peer *p)
{
	assert_int_equal(p->nts, 2);
	assert_true(data_is(&p->ts[0], "alpha"));
	assert_true(p->ts[0].fin);
	assert_true(data_is(&p->ts[1], "bravocharlie"));
	assert_true(p->ts[1].reset && p->ts[1].closed);
}

static void test_yamux_frames_split_at_every_byte_boundary(void **state)
{
	struct aa_buf conv;
	aa_buf_init(&conv);
	conversation(&conv);
	for (size_t cut = 0; cut <= conv.n; cut++) {
		struct peer *p = raw_server();
		assert_int_equal(yamux_session_receive(p->s, conv.p, cut, 0), 0);
		assert_int_equal(yamux_session_receive(p->s, conv.p + cut, conv.n - cut, 0), 0);
		check_conversation(p);
		raw_free(p);
	}
	aa_buf_free(&conv);
}

static void test_yamux_truncated_violation_fails_only_when_complete(void **state)
{
	struct aa_buf in;
	aa_buf_init(&in);
	conversation(&in);
	size_t good = in.n;
	put_frame(&in, 0, T_DATA, F_SYN, 2, 0); /* wrong parity */
	for (size_t cut = good; cut < in.n; cut++) {
		struct peer *p = raw_server();
		assert_int_equal(yamux_session_receive(p->s, in.p, cut, 0), 0);
		assert_int_equal(yamux_session_receive(p->s, in.p + cut, in.n - cut, 0), AA_EPROTO);
		struct tframe f[16];
		size_t n = drain_frames(p->s, f, 16);
		assert_int_equal(f[n - 1].type, T_GO_AWAY);
		assert_int_equal(f[n - 1].len, YAMUX_GO_AWAY_PROTOCOL_ERROR);
		raw_free(p);
	}
	aa_buf_free(&in);
}

static void test_yamux_byte_at_a_time_conversation(void **state)
{
	struct aa_buf conv;
	aa_buf_init(&conv);
	conversation(&conv);
	struct peer *p = raw_server();
	for (size_t i = 0; i < conv.n; i++)
		assert_int_equal(yamux_session_receive(p->s, conv.p + i, 1, 0), 0);
	check_conversation(p);
	raw_free(p);
	aa_buf_free(&conv);
}

/* ---- re-entrancy -------------------------------------------------------------------------- */

static void reset_on_first_data(struct peer *p, struct tstream *ts, const uint8_t *d, size_t n)
{
	if (ts->st && ts->bytes == n) {
		assert_int_equal(yamux_stream_reset(ts->st), 0);
		/* still safe to use: freed only after the outermost call returns */
		assert_int_equal(yamux_stream_write(ts->st, "x", 1), AA_ECLOSED);
		assert_int_equal(yamux_stream_consumed(ts->st, n), 0);
		ts->st = NULL;
	}
}

static void test_yamux_callback_may_reset_stream_mid_frame(void **state)
{
	struct peer *p = raw_server();
	p->on_data = reset_on_first_data;
	p->auto_consume = false;
	struct aa_buf in;
	aa_buf_init(&in);
	put_data(&in, F_SYN, 1, "0123456789");
	put_frame(&in, 0, T_PING, F_SYN, 0, 7);
	assert_int_equal(yamux_session_receive(p->s, in.p, 15, 0), 0);
	assert_int_equal(p->ts[0].bytes, 3);
	assert_true(p->ts[0].closed);
	assert_int_equal(yamux_session_receive(p->s, in.p + 15, in.n - 15, 0), 0);
	assert_int_equal(p->ts[0].bytes, 3);
	assert_int_equal(p->closed_count, 1);
	struct tframe f[8];
	size_t n = drain_frames(p->s, f, 8);
	assert_true(has_frame(f, n, T_WINDOW_UPDATE, F_RST, 1, 0));
	assert_true(has_frame(f, n, T_PING, F_ACK, 0, 7));
	aa_buf_free(&in);
	raw_free(p);
}

static void echo_and_close(struct peer *p, struct tstream *ts, const uint8_t *d, size_t n)
{
	assert_int_equal(yamux_stream_write(ts->st, d, n), (ssize_t)n);
	assert_int_equal(yamux_stream_close(ts->st), 0);
	struct tstream *extra = open_stream(p); /* opening from a callback is fine too */
	assert_int_equal(yamux_stream_close(extra->st), 0);
}

static void test_yamux_callback_may_write_close_and_open(void **state)
{
	struct pair *pr = pair_new();
	pr->s.on_data = echo_and_close;
	struct tstream *c = open_stream(&pr->c);
	write_all(c, "echo me");
	assert_int_equal(yamux_stream_close(c->st), 0);
	pump(pr);
	assert_true(data_is(c, "echo me"));
	assert_true(c->fin && c->closed);
	assert_int_equal(pr->c.nts, 2); /* plus the stream the server opened */
	assert_true(pr->c.ts[1].fin);
	pair_free(pr);
}

static void test_yamux_session_close_resets_every_stream(void **state)
{
	struct pair *pr = pair_new();
	for (int i = 0; i < 3; i++)
		open_stream(&pr->c);
	pump(pr);
	yamux_session_close(pr->c.s, YAMUX_GO_AWAY_NORMAL);
	for (int i = 0; i < 3; i++)
		assert_true(pr->c.ts[i].reset && pr->c.ts[i].closed);
	assert_int_equal(yamux_session_receive(pr->c.s, (const uint8_t *)"", 0, 0), AA_ECLOSED);
	struct tframe f[8];
	size_t n = drain_frames(pr->c.s, f, 8);
	assert_true(has_frame(f, n, T_GO_AWAY, 0, 0, YAMUX_GO_AWAY_NORMAL));
	pair_free(pr);
}

static void test_yamux_free_from_callback_is_deferred(void **state)
{
	struct peer *p = raw_server();
	p->free_on_open = true;
	struct aa_buf in;
	aa_buf_init(&in);
	put_data(&in, F_SYN, 1, "x");
	put_data(&in, F_SYN, 3, "y");
	assert_int_equal(feed(p, &in), AA_ECLOSED);
	assert_int_equal(p->nts, 1); /* no callbacks after the free */
	p->s = NULL;
	aa_buf_free(&in);
	raw_free(p);
}

static void test_yamux_config_is_validated(void **state)
{
	struct yamux_config cfg;
	struct yamux_session *s;
	config_for_test(&cfg, true);
	cfg.initial_window = 1000;
	assert_int_equal(yamux_session_new(&s, &cfg, NULL, NULL, 0), AA_EINVAL);
	config_for_test(&cfg, true);
	cfg.max_window = cfg.initial_window - 1;
	assert_int_equal(yamux_session_new(&s, &cfg, NULL, NULL, 0), AA_EINVAL);
	config_for_test(&cfg, true);
	cfg.max_frame_payload = 0;
	assert_int_equal(yamux_session_new(&s, &cfg, NULL, NULL, 0), AA_EINVAL);
	yamux_config_default(&cfg, true);
	assert_int_equal(yamux_session_new(&s, &cfg, NULL, NULL, 0), 0);
	struct tframe f[2];
	assert_int_equal(drain_frames(s, f, 2), 1); /* the RTT probe */
	assert_int_equal(f[0].type, T_PING);
	assert_int_equal(f[0].flags, F_SYN);
	yamux_session_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_yamux_open_accept_and_data_both_directions),
		cmocka_unit_test(test_yamux_server_opens_even_stream_ids),
		cmocka_unit_test(test_yamux_open_sends_syn_in_window_update_at_once),
		cmocka_unit_test(test_yamux_half_close_keeps_other_direction_open),
		cmocka_unit_test(test_yamux_reset_reaches_peer),
		cmocka_unit_test(test_yamux_stream_refused_on_open_is_reset_for_opener),
		cmocka_unit_test(test_yamux_many_concurrent_streams),
		cmocka_unit_test(test_yamux_window_exhaustion_blocks_writer_until_reader_consumes),
		cmocka_unit_test(test_yamux_consumed_rejects_more_than_delivered),
		cmocka_unit_test(test_yamux_accept_grants_larger_initial_window),
		cmocka_unit_test(test_yamux_window_grows_when_consumer_keeps_up),
		cmocka_unit_test(test_yamux_window_growth_stops_at_the_session_budget),
		cmocka_unit_test(test_yamux_window_stays_when_consumer_is_slow),
		cmocka_unit_test(test_yamux_window_stays_without_rtt),
		cmocka_unit_test(test_yamux_transfers_64_mib_byte_exact),
		cmocka_unit_test(test_yamux_byte_at_a_time_feeding),
		cmocka_unit_test(test_yamux_output_chunks_fit_one_noise_message),
		cmocka_unit_test(test_yamux_output_high_water_blocks_writer),
		cmocka_unit_test(test_yamux_frame_size_is_configurable),
		cmocka_unit_test(test_yamux_ping_reports_rtt),
		cmocka_unit_test(test_yamux_ping_limits_outstanding),
		cmocka_unit_test(test_yamux_go_away_stops_new_streams_only),
		cmocka_unit_test(test_yamux_syn_after_our_go_away_is_reset),
		cmocka_unit_test(test_yamux_resets_streams_beyond_max_streams),
		cmocka_unit_test(test_yamux_resets_streams_beyond_ack_backlog),
		cmocka_unit_test(test_yamux_opener_respects_peer_ack_backlog),
		cmocka_unit_test(test_yamux_out_of_order_syns_are_accepted),
		cmocka_unit_test(test_yamux_data_on_unknown_stream_gets_rst),
		cmocka_unit_test(test_yamux_late_frames_on_closed_stream_are_ignored),
		cmocka_unit_test(test_yamux_data_after_fin_resets_stream),
		cmocka_unit_test(test_yamux_rst_length_is_not_a_window_delta),
		cmocka_unit_test(test_yamux_rejects_bad_version),
		cmocka_unit_test(test_yamux_rejects_unknown_type),
		cmocka_unit_test(test_yamux_rejects_window_violation_on_open),
		cmocka_unit_test(test_yamux_rejects_window_violation_on_open_stream),
		cmocka_unit_test(test_yamux_rejects_data_on_stream_zero),
		cmocka_unit_test(test_yamux_rejects_syn_with_wrong_parity),
		cmocka_unit_test(test_yamux_rejects_syn_reusing_live_id),
		cmocka_unit_test(test_yamux_rejects_syn_reusing_closed_id),
		cmocka_unit_test(test_yamux_rejects_syn_far_below_highest_id),
		cmocka_unit_test(test_yamux_rejects_unknown_flags),
		cmocka_unit_test(test_yamux_rejects_syn_and_ack_together),
		cmocka_unit_test(test_yamux_rejects_send_window_overflow),
		cmocka_unit_test(test_yamux_rejects_send_window_overflow_on_open),
		cmocka_unit_test(test_yamux_remembers_ids_across_gaps),
		cmocka_unit_test(test_yamux_rejects_ping_on_stream),
		cmocka_unit_test(test_yamux_rejects_ping_without_syn_or_ack),
		cmocka_unit_test(test_yamux_rejects_go_away_on_stream),
		cmocka_unit_test(test_yamux_protocol_error_resets_every_stream),
		cmocka_unit_test(test_yamux_frames_split_at_every_byte_boundary),
		cmocka_unit_test(test_yamux_truncated_violation_fails_only_when_complete),
		cmocka_unit_test(test_yamux_byte_at_a_time_conversation),
		cmocka_unit_test(test_yamux_callback_may_reset_stream_mid_frame),
		cmocka_unit_test(test_yamux_callback_may_write_close_and_open),
		cmocka_unit_test(test_yamux_session_close_resets_every_stream),
		cmocka_unit_test(test_yamux_free_from_callback_is_deferred),
		cmocka_unit_test(test_yamux_config_is_validated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
