/* perf: the libp2p benchmarking protocol /perf/1.0.0 (libp2p/specs perf/perf.md). The client
 * opens a stream, sends the number of bytes it wants back as a big-endian u64, uploads any
 * amount of data and closes its write side; the server drains the upload until that FIN, then
 * sends the requested number of bytes and closes. Payload bytes are zeros (the spec allows any
 * fixed pattern), sent from a static buffer: no per-byte work on either side.
 *
 * The spec says perf SHOULD NOT be enabled by default: a client can make the server send up
 * to 2^64 - 1 bytes. Only tools and benchmarks call p2p_perf_serve().
 * Loop thread only. Memory per stream is a small fixed struct, whatever the sizes. */
#ifndef AA_P2P_PERF_H
#define AA_P2P_PERF_H

#include <stdint.h>

#include "p2p/host.h"

#define P2P_PERF_PROTOCOL_ID "/perf/1.0.0"

/* Serves /perf/1.0.0 on h. */
int p2p_perf_serve(struct p2p_host *h);

struct p2p_perf_result {
	uint64_t upload_bytes;   /* bytes we sent after the 8-byte header */
	uint64_t download_bytes; /* bytes the server sent back */
	/* From stream open until the server had our whole upload: the first response byte, or
	 * the server's FIN when no download was asked for. */
	uint64_t upload_ns;
	/* From the end of the upload until the server's FIN. */
	uint64_t download_ns;
};

/* Called once: err 0 with the result, or an AA_E… code (AA_EPROTO when the server sent a
 * different number of bytes than asked; AA_ECLOSED when the stream was reset) and NULL. */
typedef void (*p2p_perf_cb)(void *user, int err, const struct p2p_perf_result *r);

/* Runs one perf exchange on a new stream to a connected peer. AA_ENOENT when not connected,
 * AA_EINVAL without cb; on such an error cb is not called. Otherwise cb runs exactly once,
 * never from inside this call. */
int p2p_perf_run(struct p2p_host *h, const struct p2p_peer_id *peer, uint64_t upload_bytes,
		 uint64_t download_bytes, p2p_perf_cb cb, void *user);

#endif
