/* multiaddr: binary and text codecs for multiaddrs (multiformats/multiaddr) for the
 * protocols this daemon meets: ip4, ip6, tcp, udp, dns, dns4, dns6, dnsaddr, quic-v1, p2p,
 * p2p-circuit, ws, wss, tls, webtransport, certhash, unix. Anything else is rejected with
 * AA_ENOTSUP; malformed input with AA_EINVAL; never a crash. A multiaddr owns its bytes;
 * components returned by multiaddr_next() borrow from it. Pure, any thread. */
#ifndef AA_P2P_MULTIADDR_H
#define AA_P2P_MULTIADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum multiaddr_proto {
	MA_IP4 = 0x04,
	MA_TCP = 0x06,
	MA_DNS = 0x35,
	MA_DNS4 = 0x36,
	MA_DNS6 = 0x37,
	MA_DNSADDR = 0x38,
	MA_IP6 = 0x29,
	MA_UDP = 0x0111,
	MA_UNIX = 0x0190,
	MA_P2P = 0x01a5,
	MA_TLS = 0x01c0,
	MA_QUIC_V1 = 0x01cd, /* 461; 0x01cc (460) is the older draft "quic", not supported */
	MA_WEBTRANSPORT = 0x01d1,
	MA_CERTHASH = 0x01d2,
	MA_WS = 0x01dd,
	MA_WSS = 0x01de,
	MA_P2P_CIRCUIT = 0x0122,
};

/* The longest multiaddr we accept, in binary form. */
#define MULTIADDR_MAX_LEN 1024
/* The longest text we parse. Text takes up to 6.5 characters per binary byte
 * ("/webtransport" is 13 characters for a 2-byte code), so this bound lets the text of
 * every valid binary multiaddr parse back; the binary limit still applies. */
#define MULTIADDR_MAX_TEXT_LEN (8 * MULTIADDR_MAX_LEN)

struct multiaddr {
	uint8_t *bytes; /* binary form, owned */
	size_t len;
};

struct multiaddr_component {
	uint64_t code;
	const char *name;     /* "ip4", "tcp", ... (static) */
	const uint8_t *value; /* borrowed from the multiaddr; NULL when the protocol has none */
	size_t value_len;
};

/* Parses "/ip4/1.2.3.4/tcp/80/p2p/12D3…". On error returns AA_EINVAL/AA_ENOTSUP and, if
 * why is non-NULL, a short static reason ("unknown protocol", "bad port", ...).
 * Text rules: one trailing '/' is ignored; ip6 takes any RFC 4291 form (printed per
 * RFC 5952); p2p takes base58btc ("Qm…", "1…") or a CIDv1 with codec libp2p-key
 * ("bafz…"), and "ipfs" is read as "p2p"; certhash takes any supported multibase (printed
 * as base64url 'u'); unix takes the whole rest of the text as the path, percent-decoded
 * ("%2F" → '/'), and a missing leading '/' is implied (multiaddr protocols/unix.md). */
int multiaddr_parse(const char *text, struct multiaddr *out, const char **why);
/* Validates and copies binary bytes. */
int multiaddr_from_bytes(const uint8_t *p, size_t n, struct multiaddr *out);
/* Text form as a fresh heap string (caller frees); AA_EINVAL only if the bytes are bad.
 * An empty multiaddr prints as "". */
int multiaddr_to_string(const struct multiaddr *ma, char **out);
void multiaddr_free(struct multiaddr *ma);
int multiaddr_copy(const struct multiaddr *src, struct multiaddr *dst);
bool multiaddr_equal(const struct multiaddr *a, const struct multiaddr *b);

/* Iterates components: *offset starts at 0. Returns 1 with *out filled, 0 at the end,
 * AA_EINVAL on malformed bytes. */
int multiaddr_next(const struct multiaddr *ma, size_t *offset, struct multiaddr_component *out);
/* Finds the first component with `code`; returns true and fills *out if present. */
bool multiaddr_find(const struct multiaddr *ma, uint64_t code, struct multiaddr_component *out);
/* Appends b's components to a (a = a/b); AA_ETOOBIG past MULTIADDR_MAX_LEN. */
int multiaddr_encapsulate(struct multiaddr *a, const struct multiaddr *b);
/* Cuts a at the last occurrence of code (a = everything before it); false if absent. */
bool multiaddr_decapsulate_code(struct multiaddr *a, uint64_t code);
/* Name → code (0, or AA_ENOTSUP) and code → name (NULL if unknown) for the supported
 * protocols. */
int multiaddr_proto_by_name(const char *name, uint64_t *code);
const char *multiaddr_proto_name(uint64_t code);

#endif
