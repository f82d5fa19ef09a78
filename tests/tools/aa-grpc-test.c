/* aa-grpc-test: a gRPC server built on src/rpc for tests with real clients. It serves
 * grpc.health.v1.Health and the aatest.v1.Test service of tests/rpc/test_service.proto, whose
 * flat messages it encodes and decodes by hand (no generated code):
 *
 *   aa-grpc-test --listen ADDR [--listen ADDR]... [--max-connections N] [--max-streams N]
 *                [--keepalive-ms MS] [--keepalive-timeout-ms MS] [--idle-ms MS]
 *                [--send-queue BYTES] [--max-message BYTES] [--log-level LEVEL]
 *
 * ADDR is unix://PATH, tcp://HOST:PORT or a bare path. It prints "LISTEN=<bound address>" per
 * listener, then "READY" (flushed), and runs until SIGTERM or SIGINT, when it closes the
 * server (removing Unix socket files) and exits 0. Health starts with "" and
 * "aatest.v1.Test" SERVING. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <uv.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "base/mem.h"
#include "p2p/pb_wire.h"
#include "rpc/grpc.h"
#include "rpc/health.h"

#define SERVICE "/aatest.v1.Test/"

static uv_loop_t *loop;
static struct grpc_server *server;
static struct grpc_health *health;
static uv_signal_t sigterm, sigint;

static struct {
	uint64_t cancels, deadline, client, connection, protocol;
} stats;

/* --- message helpers -------------------------------------------------------------------- */

/* Reads varint field `number` (0 if absent) and length-delimited field `lnumber` (empty if
 * absent) of a flat message. Returns false for bytes that are not a message. */
static bool read_fields(const uint8_t *msg, size_t len, uint32_t vnumber, uint64_t *v,
			uint32_t lnumber, struct aa_slice *data)
{
	struct aa_slice in = aa_slice_make(msg, len);
	struct pb_field f;
	int rc;
	if (v)
		*v = 0;
	if (data)
		*data = aa_slice_make(NULL, 0);
	while ((rc = pb_next_field(&in, &f)) == 1) {
		if (v && f.number == vnumber && f.wire == PB_WIRE_VARINT)
			*v = f.varint;
		if (data && f.number == lnumber && f.wire == PB_WIRE_LEN)
			*data = f.data;
	}
	return rc == 0;
}

static void send_and_finish(struct grpc_call *call, const struct aa_buf *b)
{
	if (grpc_call_send(call, b->p ? b->p : (const uint8_t *)"", b->n) != 0)
		grpc_call_finish(call, GRPC_STATUS_INTERNAL, "send failed");
	else
		grpc_call_finish(call, GRPC_STATUS_OK, NULL);
}

static void count_cancel(enum grpc_cancel_reason why)
{
	stats.cancels++;
	switch (why) {
	case GRPC_CANCEL_DEADLINE: stats.deadline++; break;
	case GRPC_CANCEL_CLIENT: stats.client++; break;
	case GRPC_CANCEL_CONNECTION: stats.connection++; break;
	case GRPC_CANCEL_PROTOCOL: stats.protocol++; break;
	default: break;
	}
}

static void on_cancel_count(struct grpc_call *call, enum grpc_cancel_reason why, void *user)
{
	count_cancel(why);
}

/* --- Echo, Hang, Fail, GetStats, SetHealth ------------------------------------------------ */

static void echo_message(struct grpc_call *call, const uint8_t *msg, size_t len, void *user)
{
	/* A Blob request is byte for byte the Blob response. */
	if (grpc_call_send(call, msg, len) != 0)
		grpc_call_finish(call, GRPC_STATUS_INTERNAL, "send failed");
	else
		grpc_call_finish(call, GRPC_STATUS_OK, NULL);
}

static void fail_message(struct grpc_call *call, const uint8_t *msg, size_t len, void *user)
{
	uint64_t code;
	struct aa_slice text;
	if (!read_fields(msg, len, 1, &code, 2, &text)) {
		grpc_call_finish(call, GRPC_STATUS_INVALID_ARGUMENT, "bad FailRequest");
		return;
	}
	char *s = aa_strndup(text.n ? (const char *)text.p : "", text.n);
	if (code == 0)
		grpc_call_send(call, (const uint8_t *)"", 0); /* OK needs a response message */
	grpc_call_finish(call, (int)code, s);
	free(s);
}

static void stats_message(struct grpc_call *call, const uint8_t *msg, size_t len, void *user)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	struct aa_buf b;
	aa_buf_init(&b);
	pb_put_uint64(&b, 1, stats.cancels);
	pb_put_uint64(&b, 2, stats.deadline);
	pb_put_uint64(&b, 3, stats.client);
	pb_put_uint64(&b, 4, stats.connection);
	pb_put_uint64(&b, 5, stats.protocol);
	pb_put_uint64(&b, 6, grpc_server_call_count(server));
	pb_put_uint64(&b, 7, grpc_server_connection_count(server));
	pb_put_uint64(&b, 8, (uint64_t)ru.ru_maxrss);
	send_and_finish(call, &b);
	aa_buf_free(&b);
}

static void set_health_message(struct grpc_call *call, const uint8_t *msg, size_t len, void *user)
{
	uint64_t st;
	struct aa_slice name;
	if (!read_fields(msg, len, 2, &st, 1, &name)) {
		grpc_call_finish(call, GRPC_STATUS_INVALID_ARGUMENT, "bad HealthSet");
		return;
	}
	char *s = aa_strndup(name.n ? (const char *)name.p : "", name.n);
	if (st == 99)
		grpc_health_clear(health, s);
	else
		grpc_health_set(health, s, (enum grpc_health_status)st);
	free(s);
	struct aa_buf b;
	aa_buf_init(&b);
	send_and_finish(call, &b);
}

/* --- Delay: finished later from a timer, or cancelled first -------------------------------- */

struct delay {
	uv_timer_t timer;
	struct grpc_call *call;
};

static void delay_closed(uv_handle_t *h)
{
	free(h->data);
}

static void delay_fired(uv_timer_t *t)
{
	struct delay *d = t->data;
	struct aa_buf b;
	aa_buf_init(&b);
	send_and_finish(d->call, &b);
	uv_close((uv_handle_t *)&d->timer, delay_closed);
}

static void delay_message(struct grpc_call *call, const uint8_t *msg, size_t len, void *user)
{
	uint64_t ms;
	if (!read_fields(msg, len, 1, &ms, 0, NULL)) {
		grpc_call_finish(call, GRPC_STATUS_INVALID_ARGUMENT, "bad DelayRequest");
		return;
	}
	struct delay *d = aa_calloc(1, sizeof *d);
	d->call = call;
	uv_timer_init(loop, &d->timer);
	d->timer.data = d;
	uv_timer_start(&d->timer, delay_fired, ms, 0);
	grpc_call_set_data(call, d);
}

static void delay_cancel(struct grpc_call *call, enum grpc_cancel_reason why, void *user)
{
	count_cancel(why);
	struct delay *d = grpc_call_data(call);
	if (d) {
		uv_timer_stop(&d->timer);
		uv_close((uv_handle_t *)&d->timer, delay_closed);
	}
}

/* --- Download: count Blobs of size bytes, paced by on_writable ------------------------------ */

struct download {
	uint64_t left;
	struct aa_buf blob;
};

static void download_free(struct grpc_call *call)
{
	struct download *d = grpc_call_data(call);
	if (!d)
		return;
	aa_buf_free(&d->blob);
	free(d);
	grpc_call_set_data(call, NULL);
}

static void download_pump(struct grpc_call *call)
{
	struct download *d = grpc_call_data(call);
	while (d->left > 0 && grpc_call_writable(call)) {
		if (grpc_call_send(call, d->blob.p, d->blob.n) != 0) {
			download_free(call);
			grpc_call_finish(call, GRPC_STATUS_INTERNAL, "send failed");
			return;
		}
		d->left--;
	}
	if (d->left == 0) {
		download_free(call);
		grpc_call_finish(call, GRPC_STATUS_OK, NULL);
	}
}

static void download_message(struct grpc_call *call, const uint8_t *msg, size_t len, void *user)
{
	struct aa_slice in = aa_slice_make(msg, len);
	struct pb_field f;
	uint64_t count = 0, size = 0;
	int rc;
	while ((rc = pb_next_field(&in, &f)) == 1) {
		if (f.number == 1 && f.wire == PB_WIRE_VARINT)
			count = f.varint;
		if (f.number == 2 && f.wire == PB_WIRE_VARINT)
			size = f.varint;
	}
	if (rc != 0 || size > (16u << 20) - 16) {
		grpc_call_finish(call, GRPC_STATUS_INVALID_ARGUMENT, "bad StreamRequest");
		return;
	}
	struct download *d = aa_calloc(1, sizeof *d);
	d->left = count;
	aa_buf_init(&d->blob);
	uint8_t *pattern = aa_malloc(size ? size : 1);
	for (uint64_t i = 0; i < size; i++)
		pattern[i] = (uint8_t)(i * 7 + 1);
	pb_put_bytes(&d->blob, 1, pattern, size);
	free(pattern);
	grpc_call_set_data(call, d);
	download_pump(call);
}

static void download_writable(struct grpc_call *call, void *user)
{
	if (grpc_call_data(call))
		download_pump(call);
}

static void download_cancel(struct grpc_call *call, enum grpc_cancel_reason why, void *user)
{
	count_cancel(why);
	download_free(call);
}

/* --- Upload: sums Blob sizes until half-close ------------------------------------------------ */

struct sum {
	uint64_t bytes, messages;
};

static void upload_start(struct grpc_call *call, void *user)
{
	grpc_call_set_data(call, aa_calloc(1, sizeof(struct sum)));
}

static void upload_message(struct grpc_call *call, const uint8_t *msg, size_t len, void *user)
{
	struct sum *s = grpc_call_data(call);
	struct aa_slice data;
	if (!read_fields(msg, len, 0, NULL, 1, &data)) {
		free(s);
		grpc_call_finish(call, GRPC_STATUS_INVALID_ARGUMENT, "bad Blob");
		return;
	}
	s->bytes += data.n;
	s->messages++;
}

static void upload_half_close(struct grpc_call *call, void *user)
{
	struct sum *s = grpc_call_data(call);
	struct aa_buf b;
	aa_buf_init(&b);
	pb_put_uint64(&b, 1, s->bytes);
	pb_put_uint64(&b, 2, s->messages);
	free(s);
	send_and_finish(call, &b);
	aa_buf_free(&b);
}

static void upload_cancel(struct grpc_call *call, enum grpc_cancel_reason why, void *user)
{
	count_cancel(why);
	free(grpc_call_data(call));
}

/* --- EchoStream: bidi echo that pauses reading while its send queue is full ------------------ */

static void echo_stream_message(struct grpc_call *call, const uint8_t *msg, size_t len, void *user)
{
	if (grpc_call_send(call, msg, len) != 0) {
		grpc_call_finish(call, GRPC_STATUS_INTERNAL, "send failed");
		return;
	}
	if (!grpc_call_writable(call))
		grpc_call_pause_recv(call);
}

static void echo_stream_writable(struct grpc_call *call, void *user)
{
	grpc_call_resume_recv(call);
}

static void echo_stream_half_close(struct grpc_call *call, void *user)
{
	grpc_call_finish(call, GRPC_STATUS_OK, NULL);
}

/* --- main --------------------------------------------------------------------------------- */

static void register_all(void)
{
	struct {
		const char *name;
		enum grpc_method_kind kind;
		struct grpc_handler h;
	} methods[] = {
		{ "Echo", GRPC_UNARY, { .on_message = echo_message, .on_cancel = on_cancel_count } },
		{ "Download", GRPC_SERVER_STREAM,
		  { .on_message = download_message, .on_writable = download_writable,
		    .on_cancel = download_cancel } },
		{ "Upload", GRPC_CLIENT_STREAM,
		  { .on_start = upload_start, .on_message = upload_message,
		    .on_half_close = upload_half_close, .on_cancel = upload_cancel } },
		{ "EchoStream", GRPC_BIDI,
		  { .on_message = echo_stream_message, .on_writable = echo_stream_writable,
		    .on_half_close = echo_stream_half_close, .on_cancel = on_cancel_count } },
		{ "Hang", GRPC_UNARY, { .on_cancel = on_cancel_count } },
		{ "Fail", GRPC_UNARY, { .on_message = fail_message, .on_cancel = on_cancel_count } },
		{ "Delay", GRPC_UNARY, { .on_message = delay_message, .on_cancel = delay_cancel } },
		{ "GetStats", GRPC_UNARY, { .on_message = stats_message, .on_cancel = on_cancel_count } },
		{ "SetHealth", GRPC_UNARY, { .on_message = set_health_message, .on_cancel = on_cancel_count } },
	};
	for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		char path[128];
		snprintf(path, sizeof path, SERVICE "%s", methods[i].name);
		if (grpc_server_register(server, path, methods[i].kind, &methods[i].h, NULL) != 0) {
			fprintf(stderr, "register %s failed\n", path);
			exit(1);
		}
	}
}

static void on_signal(uv_signal_t *s, int signum)
{
	grpc_server_close(server, NULL, NULL);
	grpc_health_free(health);
	uv_close((uv_handle_t *)&sigterm, NULL);
	uv_close((uv_handle_t *)&sigint, NULL);
}

static void usage(void)
{
	fprintf(stderr, "usage: aa-grpc-test --listen ADDR [--listen ADDR]... [--max-connections N]\n"
			"  [--max-streams N] [--keepalive-ms MS] [--keepalive-timeout-ms MS] [--idle-ms MS]\n"
			"  [--send-queue BYTES] [--max-message BYTES] [--log-level LEVEL]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct grpc_server_options o;
	grpc_server_options_default(&o);
	const char *listens[8];
	int nlisten = 0;
	enum aa_log_level level = AA_LOG_WARN;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			usage();
		i++;
		if (strcmp(a, "--listen") == 0 && nlisten < 8)
			listens[nlisten++] = v;
		else if (strcmp(a, "--max-connections") == 0)
			o.max_connections = (unsigned)strtoul(v, NULL, 10);
		else if (strcmp(a, "--max-streams") == 0)
			o.max_concurrent_streams = (uint32_t)strtoul(v, NULL, 10);
		else if (strcmp(a, "--keepalive-ms") == 0)
			o.keepalive_ms = strtoull(v, NULL, 10);
		else if (strcmp(a, "--keepalive-timeout-ms") == 0)
			o.keepalive_timeout_ms = strtoull(v, NULL, 10);
		else if (strcmp(a, "--idle-ms") == 0)
			o.idle_ms = strtoull(v, NULL, 10);
		else if (strcmp(a, "--send-queue") == 0)
			o.send_queue_limit = strtoull(v, NULL, 10);
		else if (strcmp(a, "--max-message") == 0)
			o.max_recv_message = strtoull(v, NULL, 10);
		else if (strcmp(a, "--log-level") == 0 && aa_log_level_parse(v) >= 0)
			level = (enum aa_log_level)aa_log_level_parse(v);
		else
			usage();
	}
	if (nlisten == 0)
		usage();
	aa_log_setup(level, AA_LOG_TEXT);
	signal(SIGPIPE, SIG_IGN);
	loop = uv_default_loop();
	server = grpc_server_new(loop, &o);
	health = grpc_health_new(server);
	grpc_health_set(health, "", GRPC_HEALTH_SERVING);
	grpc_health_set(health, "aatest.v1.Test", GRPC_HEALTH_SERVING);
	register_all();
	for (int i = 0; i < nlisten; i++) {
		char bound[512];
		int rc = grpc_server_listen(server, listens[i], bound, sizeof bound);
		if (rc != 0) {
			fprintf(stderr, "listen %s: %s\n", listens[i], aa_strerror(rc));
			return 1;
		}
		printf("LISTEN=%s\n", bound);
	}
	printf("READY\n");
	fflush(stdout);
	uv_signal_init(loop, &sigterm);
	uv_signal_start(&sigterm, on_signal, SIGTERM);
	uv_signal_init(loop, &sigint);
	uv_signal_start(&sigint, on_signal, SIGINT);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_loop_close(loop);
	return 0;
}
