/* fuzz_grpc_server: arbitrary bytes as the client side of an HTTP/2 connection into the whole
 * gRPC server (nghttp2 session, call state machine, message reassembly, flow control,
 * send queues, trailers), in memory through grpc_conn_mem_*. The services answer at once,
 * stream, sum, echo both ways with pause/resume, or hold calls and finish them after the
 * input; Health is registered too. Limits are small so they are reached. After each input
 * every call must be gone and every held call either finished or cancelled exactly once.
 *
 * Input layout: byte 0 seeds how the rest is cut into feeds; the rest follows the client
 * connection preface, which the target sends itself. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <uv.h>

#include "base/err.h"
#include "base/log.h"
#include "rpc/grpc.h"
#include "rpc/health.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)
#define MAX_HELD 256

static uv_loop_t loop;
static struct grpc_server *server;
static struct grpc_call *held[MAX_HELD];
static size_t nheld;
static size_t out_bytes;

static void hold(struct grpc_call *call)
{
	CHECK(grpc_call_data(call) == NULL);
	if (nheld == MAX_HELD) {
		grpc_call_finish(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "too many");
		return;
	}
	held[nheld++] = call;
	grpc_call_set_data(call, held);
}

static void release(struct grpc_call *call)
{
	for (size_t i = 0; i < nheld; i++) {
		if (held[i] == call) {
			held[i] = held[--nheld];
			grpc_call_set_data(call, NULL);
			return;
		}
	}
}

static void on_cancel(struct grpc_call *call, enum grpc_cancel_reason why, void *user)
{
	release(call);
}

static void echo(struct grpc_call *call, const uint8_t *msg, size_t len, void *user)
{
	release(call);
	grpc_call_send(call, msg, len);
	grpc_call_finish(call, GRPC_STATUS_OK, NULL);
}

static void start_hold(struct grpc_call *call, void *user)
{
	hold(call);
}

static void stream_out(struct grpc_call *call, const uint8_t *msg, size_t len, void *user)
{
	for (int i = 0; i < 3; i++)
		if (grpc_call_send(call, msg, len) != 0)
			break;
	release(call);
	grpc_call_finish(call, len % 17, "stream done \xff%");
}

static void bidi_message(struct grpc_call *call, const uint8_t *msg, size_t len, void *user)
{
	if (grpc_call_send(call, msg, len) == AA_EAGAIN || !grpc_call_writable(call))
		grpc_call_pause_recv(call);
	if (len == 3 && memcmp(msg, "end", 3) == 0) {
		release(call);
		grpc_call_finish(call, GRPC_STATUS_ABORTED, "asked to end");
	}
}

static void bidi_writable(struct grpc_call *call, void *user)
{
	grpc_call_resume_recv(call);
}

static void finish_ok(struct grpc_call *call, void *user)
{
	release(call);
	grpc_call_send(call, (const uint8_t *)"\x08\x01", 2);
	grpc_call_finish(call, GRPC_STATUS_OK, NULL);
}

static void out(void *arg, const uint8_t *p, size_t n)
{
	out_bytes += n;
}

static void init(void)
{
	aa_log_setup(AA_LOG_OFF, AA_LOG_TEXT);
	uv_loop_init(&loop);
	struct grpc_server_options o;
	grpc_server_options_default(&o);
	o.max_concurrent_streams = 16;
	o.max_recv_message = 1024;
	o.max_send_message = 4096;
	o.send_queue_limit = 600;
	o.stream_window = 1024;
	o.connection_window = 4096;
	o.max_header_list = 2048;
	o.keepalive_ms = 0;
	server = grpc_server_new(&loop, &o);
	struct grpc_handler h_echo = { .on_start = start_hold, .on_message = echo, .on_cancel = on_cancel };
	struct grpc_handler h_stream = { .on_start = start_hold, .on_message = stream_out, .on_cancel = on_cancel };
	struct grpc_handler h_sum = { .on_start = start_hold, .on_half_close = finish_ok, .on_cancel = on_cancel };
	struct grpc_handler h_bidi = { .on_start = start_hold, .on_message = bidi_message,
				       .on_writable = bidi_writable, .on_half_close = finish_ok,
				       .on_cancel = on_cancel };
	struct grpc_handler h_hold = { .on_start = start_hold, .on_cancel = on_cancel };
	grpc_server_register(server, "/f.F/Echo", GRPC_UNARY, &h_echo, NULL);
	grpc_server_register(server, "/f.F/Stream", GRPC_SERVER_STREAM, &h_stream, NULL);
	grpc_server_register(server, "/f.F/Sum", GRPC_CLIENT_STREAM, &h_sum, NULL);
	grpc_server_register(server, "/f.F/Bidi", GRPC_BIDI, &h_bidi, NULL);
	grpc_server_register(server, "/f.F/Hold", GRPC_BIDI, &h_hold, NULL);
	struct grpc_health *health = grpc_health_new(server);
	grpc_health_set(health, "", GRPC_HEALTH_SERVING);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		init();
		ready = true;
	}
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	struct grpc_conn *c = grpc_conn_mem_new(server, out, NULL);
	grpc_conn_mem_feed(c, (const uint8_t *)preface, sizeof preface - 1);
	uint32_t seed = size ? data[0] * 2654435761u + 7 : 7;
	size_t off = size ? 1 : 0;
	while (off < size) {
		seed = seed * 1103515245u + 12345u;
		size_t k = 1 + (seed >> 16) % 512;
		if (k > size - off)
			k = size - off;
		if (grpc_conn_mem_feed(c, data + off, k) != 0)
			break;
		off += k;
	}
	/* Finish every other held call from outside any callback, as an engine would. */
	struct grpc_call *snapshot[MAX_HELD];
	size_t n = nheld;
	memcpy(snapshot, held, n * sizeof *snapshot);
	for (size_t i = 0; i < n; i += 2) {
		release(snapshot[i]);
		grpc_call_send(snapshot[i], (const uint8_t *)"late", 4);
		grpc_call_finish(snapshot[i], GRPC_STATUS_UNAVAILABLE, "later");
	}
	grpc_conn_mem_flush(c);
	grpc_conn_mem_free(c);
	CHECK(nheld == 0);
	CHECK(grpc_server_call_count(server) == 0);
	CHECK(grpc_server_connection_count(server) == 0);
	uv_run(&loop, UV_RUN_NOWAIT);
	return 0;
}
