/* yamux: the /yamux/1.0.0 stream multiplexer (libp2p/specs yamux/README.md, a copy of
 * hashicorp/yamux spec.md) as a sans-I/O state machine. The session never touches sockets,
 * timers or clocks: the connection layer feeds received plaintext to yamux_session_receive(),
 * drains outgoing frames with yamux_session_output() / yamux_session_output_consumed(), and
 * passes the monotonic time in. Events come back through struct yamux_callbacks.
 *
 * Ownership: the caller owns the session (yamux_session_new / yamux_session_free); the session
 * owns its streams. A stream pointer stays valid until on_stream_closed has returned for it.
 * Threading: none; one thread (the loop) makes every call, and callbacks run on that thread.
 *
 * Re-entrancy: callbacks run only from inside yamux_session_receive(),
 * yamux_session_output_consumed() and yamux_session_close(). From a callback the upper layer
 * may call any stream or session function (write, close, reset, accept, consumed, open, ping,
 * go_away, close, even free). Streams are never freed while a callback runs: a stream that
 * finishes is marked closed at once (further calls on it return AA_ECLOSED or do nothing) and
 * is handed to on_stream_closed and freed when the outermost of the three calls above
 * returns. A stream reset or closed by the upper layer outside any callback is likewise
 * reported and freed by the next of those calls (its RST/FIN frame makes the connection layer
 * call yamux_session_output_consumed() soon). */
#ifndef AA_P2P_YAMUX_H
#define AA_P2P_YAMUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/buf.h"

#define YAMUX_PROTOCOL_ID "/yamux/1.0.0"

/* yamux spec, Flow Control: every stream starts with a 256 KiB window on both sides. */
#define YAMUX_SPEC_WINDOW (256u * 1024)
/* libp2p yamux spec, ACK backlog: at most 256 streams opened and not yet acknowledged. */
#define YAMUX_SPEC_ACK_BACKLOG 256
#define YAMUX_HEADER_LEN 12
/* One frame (12-byte header + payload) fits one Noise transport message: 65535 bytes minus
 * the 16-byte ChaChaPoly tag leaves 65519 bytes of plaintext. */
#define YAMUX_DEFAULT_MAX_FRAME_PAYLOAD (65535u - 16u - YAMUX_HEADER_LEN)

/* yamux spec, Session termination: the Go Away length field. */
enum yamux_go_away_code {
	YAMUX_GO_AWAY_NORMAL = 0,
	YAMUX_GO_AWAY_PROTOCOL_ERROR = 1,
	YAMUX_GO_AWAY_INTERNAL_ERROR = 2,
};

struct yamux_config {
	bool is_client;             /* client opens odd stream IDs, server even */
	uint32_t initial_window;    /* receive window per stream; >= YAMUX_SPEC_WINDOW */
	uint32_t max_window;        /* auto-tuning grows the receive window up to this */
	uint32_t max_streams;       /* live streams per session, both directions */
	uint32_t max_unacked_inbound; /* remote-opened streams not yet accepted; more are RST */
	size_t max_output;          /* output high-water mark: writes stop filling above it */
	size_t max_frame_payload;   /* largest Data payload we send (>= 1) */
	bool rtt_probe;             /* send one ping from yamux_session_new() to learn the RTT */
	/* Auto-tuning may grow the session's streams' receive windows beyond initial_window by
	 * at most this many bytes in total (0 = no session-wide bound), so what one peer can
	 * make us buffer stays bounded however many streams it opens. */
	uint64_t growth_budget;
};

/* Defaults: 256 KiB initial window, 16 MiB max window, 1024 streams, 256 unacked inbound,
 * 1 MiB output high-water mark, YAMUX_DEFAULT_MAX_FRAME_PAYLOAD, rtt_probe on. */
void yamux_config_default(struct yamux_config *cfg, bool is_client);

struct yamux_session;
struct yamux_stream;

/* Every callback may be NULL. `user` is the pointer given to yamux_session_new(). */
struct yamux_callbacks {
	/* The remote opened a stream. Accept it with yamux_stream_accept() (now or later; any
	 * frame we send on it accepts it too) or refuse it with yamux_stream_reset(). Until then
	 * it counts toward max_unacked_inbound. Data of the opening frame follows. */
	void (*on_stream_open)(void *user, struct yamux_stream *st);
	/* Bytes arrived, borrowed for the duration of the call. They stay charged to the receive
	 * window until the upper layer calls yamux_stream_consumed(): that is the backpressure. */
	void (*on_stream_data)(void *user, struct yamux_stream *st, const uint8_t *p, size_t n);
	/* The remote half-closed: no more data will arrive. */
	void (*on_stream_fin)(void *user, struct yamux_stream *st);
	/* The remote reset the stream, or the whole session failed or was closed. */
	void (*on_stream_reset)(void *user, struct yamux_stream *st);
	/* A write that came up short (returned less than asked) can make progress again. */
	void (*on_stream_writable)(void *user, struct yamux_stream *st);
	/* The stream is finished and is freed when this returns: drop every pointer to it. */
	void (*on_stream_closed)(void *user, struct yamux_stream *st);
	/* The remote sent Go Away (code: enum yamux_go_away_code or unknown): it accepts no new
	 * streams; existing ones carry on. */
	void (*on_go_away)(void *user, uint32_t code);
	/* One of our pings was answered after rtt_ns. */
	void (*on_ping_rtt)(void *user, uint64_t rtt_ns);
};

struct yamux_stats {
	uint32_t streams_open;        /* live streams now */
	uint32_t unacked_inbound;     /* remote-opened, not yet accepted */
	uint64_t streams_opened;      /* streams created, both directions, since start */
	uint64_t streams_refused;     /* remote SYNs answered with RST because of limits */
	uint64_t bytes_in;            /* Data payload bytes received */
	uint64_t bytes_out;           /* Data payload bytes queued for sending */
	size_t output_pending;        /* bytes waiting in the output queue */
};

/* Creates a session; the config and callbacks are copied. With cfg->rtt_probe a ping is
 * queued at once (now_ns is its send time). AA_EINVAL for an inconsistent config. */
int yamux_session_new(struct yamux_session **out, const struct yamux_config *cfg,
		      const struct yamux_callbacks *cb, void *user, uint64_t now_ns);
/* Frees the session and every stream without calling any callback (use yamux_session_close
 * first to let the upper layer see every stream end). Called from inside a callback, the free
 * is deferred until the outermost session call returns and no more callbacks are made;
 * either way the caller must not touch the session or its streams afterwards. */
void yamux_session_free(struct yamux_session *s);

/* Feeds n received bytes (any split: partial headers and bodies are kept across calls) at
 * time now_ns. Returns 0; AA_EPROTO when the peer broke the protocol (a Go Away with the
 * protocol-error code is queued, every stream is reset, later calls return AA_EPROTO: flush
 * the output and close the connection); AA_ECLOSED after yamux_session_close(). Memory does
 * not grow with n: Data payloads are handed to on_stream_data straight from p. AA_EINVAL if
 * called from a callback. */
int yamux_session_receive(struct yamux_session *s, const uint8_t *p, size_t n, uint64_t now_ns);

/* Output. Frames are laid out in chunks of at most max_frame_payload + 12 bytes (65519 by
 * default), each holding whole frames, so one chunk is exactly one Noise message and the
 * connection layer encrypts chunk by chunk with no gathering copy. Returns the total number of
 * pending bytes and sets *out to the first chunk ({NULL, 0} when nothing is pending). The
 * bytes stay valid, unchanged, until consumed. */
size_t yamux_session_output(struct yamux_session *s, struct aa_slice *out);
/* Fills up to max slices with the pending chunks in order (for writev); returns how many. */
size_t yamux_session_output_iov(struct yamux_session *s, struct aa_slice *iov, size_t max);
/* Marks n pending bytes as sent (n may end mid-chunk). May call on_stream_writable and
 * on_stream_closed. AA_EINVAL if n exceeds what is pending. */
int yamux_session_output_consumed(struct yamux_session *s, size_t n);
/* True when the output queue is at or above max_output: the connection layer should stop
 * reading from the socket until it has drained some, so that replies the peer provokes (pings,
 * RSTs, window updates) cannot pile up without bound. */
bool yamux_session_output_full(const struct yamux_session *s);

/* Sends a ping (SYN) whose answer reports the RTT through on_ping_rtt. AA_EAGAIN when four
 * are already outstanding, AA_ECLOSED when the session is failed or closed. */
int yamux_session_ping(struct yamux_session *s, uint64_t now_ns);
/* Sends Go Away once (later calls do nothing): no new streams either way, existing streams
 * carry on; inbound SYNs are answered with RST from now on. */
int yamux_session_go_away(struct yamux_session *s, uint32_t code);
/* Abortive close: sends Go Away with `code` if none was sent, then resets every stream with
 * on_stream_reset and on_stream_closed (before returning, unless called from a callback).
 * Afterwards only output draining and yamux_session_free make sense. */
void yamux_session_close(struct yamux_session *s, uint32_t code);

void yamux_session_stats(const struct yamux_session *s, struct yamux_stats *out);
/* Single fields of the stats, for per-frame checks that do not need the whole copy:
 * output_pending and streams_refused. */
size_t yamux_session_output_pending(const struct yamux_session *s);
uint64_t yamux_session_streams_refused(const struct yamux_session *s);
/* The latest RTT measured by a ping, 0 if none yet. */
uint64_t yamux_session_rtt_ns(const struct yamux_session *s);
/* Why the session failed (a static string), or NULL. */
const char *yamux_session_error(const struct yamux_session *s);
void *yamux_session_user(const struct yamux_session *s);

/* Opens an outbound stream; its SYN goes out at once in a window update (which also grants
 * any window above 256 KiB). AA_ECLOSED after Go Away either way or when IDs ran out,
 * AA_ENOMEM at max_streams, AA_EAGAIN while 256 of our streams are unacknowledged. */
int yamux_stream_open(struct yamux_session *s, struct yamux_stream **out);
/* Accepts an inbound stream: sends its ACK in a window update. 0 if already accepted. */
int yamux_stream_accept(struct yamux_stream *st);
/* Queues up to n bytes as Data frames (copied once, into the output queue). Returns the
 * number accepted, bounded by the send window and by the room below max_output; 0 when
 * nothing fits now. Whenever it returns less than n, on_stream_writable follows once more can
 * be written. AA_ECLOSED after our FIN, a reset, or session failure. */
ssize_t yamux_stream_write(struct yamux_stream *st, const void *p, size_t n);
/* Half-closes our side (FIN). Safe to repeat. AA_ECLOSED if the stream was reset. */
int yamux_stream_close(struct yamux_stream *st);
/* Resets the stream (RST); on_stream_closed follows (not on_stream_reset). Safe to repeat. */
int yamux_stream_reset(struct yamux_stream *st);
/* The upper layer has used n more delivered bytes; the window update goes out once half the
 * receive window is free again. AA_EINVAL if n exceeds the delivered, unconsumed bytes. */
int yamux_stream_consumed(struct yamux_stream *st, size_t n);

uint32_t yamux_stream_id(const struct yamux_stream *st);
bool yamux_stream_is_inbound(const struct yamux_stream *st);
void yamux_stream_set_user(struct yamux_stream *st, void *user);
void *yamux_stream_user(const struct yamux_stream *st);
struct yamux_session *yamux_stream_session(const struct yamux_stream *st);
/* Bytes we may still send before the remote grants more. */
uint32_t yamux_stream_send_window(const struct yamux_stream *st);
/* The current (auto-tuned) receive window size. */
uint32_t yamux_stream_recv_window(const struct yamux_stream *st);

#endif
