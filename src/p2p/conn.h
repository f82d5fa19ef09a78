/* conn: one libp2p connection over TCP, driven by the libuv loop. It upgrades the raw socket
 * (multistream-select "/noise", the Noise XX handshake, then yamux — chosen early through the
 * Noise extensions or with multistream-select "/yamux/1.0.0"), and then carries streams, each
 * of which negotiates its protocol with multistream-select before reaching its handler.
 *
 * The sans-I/O state machines (mss, noise, yamux) do the protocol work; this module moves
 * bytes between them and the socket and applies backpressure end to end: a stream handler
 * that does not take its bytes stops the remote through the yamux window, and a socket that
 * does not drain stops yamux writers (p2p_stream_write() accepts less, on_writable follows).
 *
 * Ownership: the host creates connections and owns them; a connection owns its socket and its
 * streams. A connection or stream pointer is valid until its close callback has returned.
 * Threading: the loop thread only. */
#ifndef AA_P2P_CONN_H
#define AA_P2P_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "p2p/keys.h"
#include "p2p/multiaddr.h"
#include "p2p/peerid.h"
#include "p2p/yamux.h"

struct p2p_conn;
struct p2p_stream;

/* Why an upgrade failed, for metrics (agentanycast_handshake_failures_total{reason}). */
enum p2p_handshake_failure {
	P2P_HS_FAIL_NONE = 0,
	P2P_HS_FAIL_TIMEOUT,     /* handshake deadline passed */
	P2P_HS_FAIL_NEGOTIATION, /* multistream-select for /noise or the muxer failed */
	P2P_HS_FAIL_CRYPTO,      /* Noise: MAC, signature, or the PeerID was not the expected one */
	P2P_HS_FAIL_PROTOCOL,    /* Noise: malformed messages or payload */
	P2P_HS_FAIL_CLOSED,      /* the peer closed or reset the socket */
	P2P_HS_FAIL_IO,          /* a socket error */
	P2P_HS_FAIL_COUNT
};
const char *p2p_handshake_failure_name(enum p2p_handshake_failure f);

/* What a protocol service implements for its streams. Every callback may be NULL except
 * on_data. */
struct p2p_stream_handler {
	/* Inbound: the remote chose this protocol. Outbound: the remote confirmed it (with a
	 * single proposal the stream is writable before that: negotiation is pipelined). */
	void (*on_open)(struct p2p_stream *st);
	/* Bytes arrived (borrowed). Returns how many the handler took; the rest is kept by the
	 * stream — the remote is held back by the receive window meanwhile — and offered again
	 * after p2p_stream_resume(). */
	size_t (*on_data)(struct p2p_stream *st, const uint8_t *p, size_t n);
	/* The remote closed its side: no more data. */
	void (*on_fin)(struct p2p_stream *st);
	/* A write that came up short can make progress again. */
	void (*on_writable)(struct p2p_stream *st);
	/* The stream is finished: err 0 when both sides closed cleanly, else why (AA_ECLOSED
	 * reset, AA_ENOTSUP protocol refused, AA_EPROTO, …). Freed after this returns. */
	void (*on_close)(struct p2p_stream *st, int err);
};

/* Upward notifications from a connection to its owner (the host). */
struct p2p_conn_events {
	/* Security and muxer are up; the remote identity is known. */
	void (*on_established)(void *owner, struct p2p_conn *c);
	/* The connection is gone (err 0 on a clean local close); freed after this returns. If
	 * it never got established, err says why the upgrade failed. */
	void (*on_closed)(void *owner, struct p2p_conn *c, int err);
	/* Inbound stream protocol lookup: the handler for `proto`, or NULL to answer "na". */
	const struct p2p_stream_handler *(*find_handler)(void *owner, const char *proto,
							 size_t len, void **handler_user);
	/* Optional: the remote reset or failed a stream (for metrics). */
	void (*on_stream_event)(void *owner, struct p2p_conn *c, const char *what);
};

/* Streams by negotiated protocol, for metrics (agentanycast_streams_open{protocol}). The
 * table is bounded: protocols beyond P2P_PROTO_STATS_MAX distinct IDs share one extra row
 * named "other"; IDs are cut to P2P_PROTO_NAME_MAX - 1 bytes. Inbound streams only reach a
 * row for a protocol we have a handler for, so peers cannot grow it. */
#define P2P_PROTO_STATS_MAX 32
#define P2P_PROTO_NAME_MAX 128
struct p2p_proto_stats {
	char protocol[P2P_PROTO_NAME_MAX];
	uint64_t opened; /* streams whose negotiation finished, both directions, since start */
	uint64_t open;   /* of those, not closed yet */
};

/* What every connection of one host shares. Owned by the host; must outlive its conns. */
struct p2p_conn_env {
	uv_loop_t *loop;
	const struct p2p_keypair *identity;
	struct p2p_peer_id local_peer;
	const struct p2p_conn_events *events;
	void *owner;
	struct yamux_config yamux; /* is_client is set per connection */
	uint64_t handshake_timeout_ns;
	/* Protocols listed in answer to multistream "ls" on streams (borrowed). */
	const char *const *protocols;
	size_t protocol_count;
	/* private to conn.c: the deferred-flush machinery and the shared read buffer */
	uv_prepare_t flush_prepare;
	struct p2p_conn *dirty_head;
	uint8_t *read_buf;
	size_t read_buf_len;
	struct aa_buf seal_buf; /* reused for sealing when the kernel takes the bytes at once */
	/* Received bytes held for handlers that did not take them yet (see on_data): a stream
	 * that would push its connection past conn_buffer_limit, or all connections past
	 * buffer_limit, is reset. Windows alone allow streams × 256 KiB per connection. Limits
	 * count payload bytes; with buffer growth the memory used can reach about twice that. */
	size_t conn_buffer_limit;
	size_t buffer_limit;
	size_t buffered_total;
	/* counters for metrics */
	uint64_t bytes_in, bytes_out;
	uint64_t handshakes_ok, handshakes_failed;
	uint64_t streams_reset_buffer_limit;  /* reset for holding too much, both limits */
	uint64_t streams_reset_conn_buffer;   /* of those, for conn_buffer_limit */
	uint64_t streams_refused_budget;      /* refused (inbound) or not opened (outbound)
					       * because their windows would not fit the
					       * connection's buffer budget */
	uint64_t streams_refused_yamux;       /* remote streams yamux answered with RST at its
					       * limits (max_streams, max_unacked_inbound) */
	struct p2p_proto_stats proto_stats[P2P_PROTO_STATS_MAX + 1];
	size_t n_proto_stats;                 /* rows in use (the "other" row included) */
};

/* Sets up the shared part (starts nothing). The yamux growth budget is a quarter of the
 * connection buffer budget unless the caller sets it. env->loop, identity, events and owner must be
 * set by the caller before or after; returns 0. */
int p2p_conn_env_init(struct p2p_conn_env *env, uv_loop_t *loop);
/* Closes the env's handle; call after every connection is closed. */
void p2p_conn_env_close(struct p2p_conn_env *env);

/* Takes over a connected TCP handle (allocated with aa_malloc, initialised on env->loop;
 * the connection frees it) and starts the upgrade. Outbound connections must name the
 * expected remote peer (Noise checks it); inbound pass NULL. remote/local are copied.
 * On failure the handle is closed and freed, and AA_E… returned. */
int p2p_conn_start(struct p2p_conn_env *env, uv_tcp_t *tcp, bool outbound,
		   const struct p2p_peer_id *expected, const struct multiaddr *remote_addr,
		   const struct multiaddr *local_addr, struct p2p_conn **out);

/* Closes the connection: every stream ends (on_close with AA_ECLOSED), a Go Away is sent
 * when possible, then the socket closes and on_closed follows. Safe to repeat. */
void p2p_conn_close(struct p2p_conn *c, int why);

bool p2p_conn_is_established(const struct p2p_conn *c);
bool p2p_conn_is_outbound(const struct p2p_conn *c);
/* The remote identity; valid once established (for outbound: the expected peer before). */
const struct p2p_peer_id *p2p_conn_remote_peer(const struct p2p_conn *c);
const uint8_t *p2p_conn_remote_public_key(const struct p2p_conn *c);
const struct multiaddr *p2p_conn_remote_addr(const struct p2p_conn *c);
const struct multiaddr *p2p_conn_local_addr(const struct p2p_conn *c);
uint32_t p2p_conn_stream_count(const struct p2p_conn *c);
uint64_t p2p_conn_rtt_ns(const struct p2p_conn *c);
void p2p_conn_set_user(struct p2p_conn *c, void *user);
void *p2p_conn_user(const struct p2p_conn *c);
/* Why the upgrade failed, as a category; P2P_HS_FAIL_NONE if it did not. */
enum p2p_handshake_failure p2p_conn_handshake_failure(const struct p2p_conn *c);
/* Why the upgrade failed (a static or conn-owned string), "" if it did not. */
const char *p2p_conn_error(const struct p2p_conn *c);

/* Opens an outbound stream proposing protos in order (copied). With one protocol the
 * negotiation is pipelined: the stream is writable at once. AA_ECLOSED if the connection is
 * not established or closing, AA_ENOMEM/AA_EAGAIN at yamux limits. */
int p2p_conn_open_stream(struct p2p_conn *c, const char *const *protos, size_t n,
			 const struct p2p_stream_handler *h, void *user, struct p2p_stream **out);

/* Queues up to n bytes; returns how many were taken (0 when nothing fits now: on_writable
 * follows), or AA_ECLOSED after close/reset. */
ssize_t p2p_stream_write(struct p2p_stream *st, const void *p, size_t n);
/* Closes our side (FIN). */
int p2p_stream_close_write(struct p2p_stream *st);
/* Resets the stream; on_close follows with AA_ECLOSED. */
void p2p_stream_reset(struct p2p_stream *st);
/* Offers kept bytes to on_data again (see on_data). */
void p2p_stream_resume(struct p2p_stream *st);
const char *p2p_stream_protocol(const struct p2p_stream *st);
struct p2p_conn *p2p_stream_conn(const struct p2p_stream *st);
bool p2p_stream_is_inbound(const struct p2p_stream *st);
void p2p_stream_set_user(struct p2p_stream *st, void *user);
void *p2p_stream_user(const struct p2p_stream *st);

#endif
