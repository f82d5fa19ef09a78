/* multiaddr: binary and text codecs for the multiaddr protocols we support
 * (multiformats/multiaddr README and protocols.csv). Binary: (<varint code><value>)+ with
 * fixed-size values or a varint length prefix. Text: (/<name>[/<value>])+. */
#include "p2p/multiaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base58.h"
#include "base/buf.h"
#include "base/cid.h"
#include "base/err.h"
#include "base/mem.h"
#include "base/multibase.h"
#include "base/multihash.h"
#include "base/varint.h"

/* Value sizes in bytes: a fixed size, none, or a varint length prefix. */
#define MA_SIZE_NONE 0
#define MA_SIZE_VAR (-1)

/* DNS names are at most 255 octets on the wire (RFC 1035 §2.3.4); longer names can never
 * resolve, so they are refused rather than carried. */
#define MA_DNS_MAX_LEN 255

enum ma_kind {
	MA_KIND_NONE,
	MA_KIND_IP4,
	MA_KIND_IP6,
	MA_KIND_PORT,
	MA_KIND_DNS,
	MA_KIND_P2P,
	MA_KIND_CERTHASH,
	MA_KIND_UNIX,
};

struct ma_proto {
	uint64_t code;
	const char *name;
	int size;
	enum ma_kind kind;
};

/* Codes, names and sizes from multiaddr protocols.csv. */
static const struct ma_proto ma_protos[] = {
	{ MA_IP4, "ip4", 4, MA_KIND_IP4 },
	{ MA_TCP, "tcp", 2, MA_KIND_PORT },
	{ MA_UDP, "udp", 2, MA_KIND_PORT },
	{ MA_IP6, "ip6", 16, MA_KIND_IP6 },
	{ MA_DNS, "dns", MA_SIZE_VAR, MA_KIND_DNS },
	{ MA_DNS4, "dns4", MA_SIZE_VAR, MA_KIND_DNS },
	{ MA_DNS6, "dns6", MA_SIZE_VAR, MA_KIND_DNS },
	{ MA_DNSADDR, "dnsaddr", MA_SIZE_VAR, MA_KIND_DNS },
	{ MA_UNIX, "unix", MA_SIZE_VAR, MA_KIND_UNIX },
	{ MA_P2P, "p2p", MA_SIZE_VAR, MA_KIND_P2P },
	{ MA_TLS, "tls", MA_SIZE_NONE, MA_KIND_NONE },
	{ MA_QUIC_V1, "quic-v1", MA_SIZE_NONE, MA_KIND_NONE },
	{ MA_WEBTRANSPORT, "webtransport", MA_SIZE_NONE, MA_KIND_NONE },
	{ MA_CERTHASH, "certhash", MA_SIZE_VAR, MA_KIND_CERTHASH },
	{ MA_WS, "ws", MA_SIZE_NONE, MA_KIND_NONE },
	{ MA_WSS, "wss", MA_SIZE_NONE, MA_KIND_NONE },
	{ MA_P2P_CIRCUIT, "p2p-circuit", MA_SIZE_NONE, MA_KIND_NONE },
};

#define MA_NPROTOS (sizeof ma_protos / sizeof ma_protos[0])

static const struct ma_proto *ma_proto_by_code(uint64_t code)
{
	for (size_t i = 0; i < MA_NPROTOS; i++)
		if (ma_protos[i].code == code)
			return &ma_protos[i];
	return NULL;
}

static const struct ma_proto *ma_proto_by_name(const char *name, size_t len)
{
	/* protocols.csv: "ipfs" is the legacy name of p2p, accepted but never printed. */
	if (len == 4 && memcmp(name, "ipfs", 4) == 0)
		return ma_proto_by_code(MA_P2P);
	for (size_t i = 0; i < MA_NPROTOS; i++)
		if (strlen(ma_protos[i].name) == len && memcmp(ma_protos[i].name, name, len) == 0)
			return &ma_protos[i];
	return NULL;
}

int multiaddr_proto_by_name(const char *name, uint64_t *code)
{
	const struct ma_proto *p = ma_proto_by_name(name, strlen(name));
	if (!p)
		return AA_ENOTSUP;
	*code = p->code;
	return 0;
}

const char *multiaddr_proto_name(uint64_t code)
{
	const struct ma_proto *p = ma_proto_by_code(code);
	return p ? p->name : NULL;
}

/* ---- value checks shared by the binary and text paths ---------------------------------- */

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. */
static bool ma_utf8_valid(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = p[i];
		size_t extra;
		uint32_t cp, min;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			extra = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			extra = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			extra = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (n - i <= extra)
			return false;
		for (size_t k = 1; k <= extra; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += extra + 1;
	}
	return true;
}

/* dns, dns4, dns6, dnsaddr: a non-empty UTF-8 name. '/' would split the text form, and
 * control characters have no place in a host name. */
static int ma_check_dns(const uint8_t *p, size_t n)
{
	if (n == 0 || n > MA_DNS_MAX_LEN)
		return AA_EINVAL;
	for (size_t i = 0; i < n; i++)
		if (p[i] == '/' || p[i] < 0x20 || p[i] == 0x7f)
			return AA_EINVAL;
	return ma_utf8_valid(p, n) ? 0 : AA_EINVAL;
}

/* unix: a non-empty path; a NUL byte cannot be part of a socket path. */
static int ma_check_unix(const uint8_t *p, size_t n)
{
	if (n == 0 || memchr(p, 0, n))
		return AA_EINVAL;
	return 0;
}

/* certhash carries a multihash of any function; only its framing is checked here, the
 * WebTransport layer decides which functions it accepts. */
static int ma_check_multihash(const uint8_t *p, size_t n)
{
	struct multihash mh;
	return multihash_decode_any(p, n, &mh) == 0 ? 0 : AA_EINVAL;
}

/* p2p carries a PeerID, which the peer-ids spec defines as an identity or sha2-256
 * multihash only. (That also keeps the text form starting with "1" or "Qm", which is how
 * the parser tells it from a CID.) */
static int ma_check_peer_id(const uint8_t *p, size_t n)
{
	struct multihash mh;
	return multihash_decode(p, n, &mh) == 0 ? 0 : AA_EINVAL;
}

static int ma_check_value(const struct ma_proto *proto, const uint8_t *p, size_t n)
{
	switch (proto->kind) {
	case MA_KIND_DNS:
		return ma_check_dns(p, n);
	case MA_KIND_UNIX:
		return ma_check_unix(p, n);
	case MA_KIND_P2P:
		return ma_check_peer_id(p, n);
	case MA_KIND_CERTHASH:
		return ma_check_multihash(p, n);
	default:
		return 0; /* fixed-size values: every bit pattern is an address or port */
	}
}

/* ---- binary ---------------------------------------------------------------------------- */

/* Reads the component at p[off..n): fills *out and sets *next past it. AA_ENOTSUP for an
 * unknown code, AA_EINVAL for anything malformed or truncated. */
static int ma_read_component(const uint8_t *p, size_t n, size_t off,
			     struct multiaddr_component *out, size_t *next)
{
	uint64_t code;
	int a = varint_decode(p + off, n - off, &code);
	if (a < 0)
		return AA_EINVAL;
	off += (size_t)a;
	const struct ma_proto *proto = ma_proto_by_code(code);
	if (!proto)
		return AA_ENOTSUP;

	size_t len;
	if (proto->size == MA_SIZE_VAR) {
		uint64_t vlen;
		int b = varint_decode(p + off, n - off, &vlen);
		if (b < 0)
			return AA_EINVAL;
		off += (size_t)b;
		if (vlen > n - off)
			return AA_EINVAL;
		len = (size_t)vlen;
	} else {
		len = (size_t)proto->size;
		if (len > n - off)
			return AA_EINVAL;
	}
	int rc = ma_check_value(proto, p + off, len);
	if (rc < 0)
		return rc;

	out->code = code;
	out->name = proto->name;
	out->value = proto->size == MA_SIZE_NONE ? NULL : p + off;
	out->value_len = len;
	*next = off + len;
	return 0;
}

static int ma_validate(const uint8_t *p, size_t n)
{
	if (n == 0 || n > MULTIADDR_MAX_LEN)
		return AA_EINVAL;
	size_t off = 0;
	while (off < n) {
		struct multiaddr_component c;
		int rc = ma_read_component(p, n, off, &c, &off);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int multiaddr_from_bytes(const uint8_t *p, size_t n, struct multiaddr *out)
{
	int rc = ma_validate(p, n);
	if (rc < 0)
		return rc;
	out->bytes = aa_malloc(n);
	memcpy(out->bytes, p, n);
	out->len = n;
	return 0;
}

void multiaddr_free(struct multiaddr *ma)
{
	free(ma->bytes);
	ma->bytes = NULL;
	ma->len = 0;
}

int multiaddr_copy(const struct multiaddr *src, struct multiaddr *dst)
{
	dst->bytes = aa_malloc(src->len);
	if (src->len)
		memcpy(dst->bytes, src->bytes, src->len);
	dst->len = src->len;
	return 0;
}

bool multiaddr_equal(const struct multiaddr *a, const struct multiaddr *b)
{
	/* Binary comparison, as protocols/unix.md asks: text can differ in escaping. */
	return a->len == b->len && (a->len == 0 || memcmp(a->bytes, b->bytes, a->len) == 0);
}

int multiaddr_next(const struct multiaddr *ma, size_t *offset, struct multiaddr_component *out)
{
	if (*offset >= ma->len)
		return 0;
	size_t next;
	if (ma_read_component(ma->bytes, ma->len, *offset, out, &next) < 0)
		return AA_EINVAL;
	*offset = next;
	return 1;
}

bool multiaddr_find(const struct multiaddr *ma, uint64_t code, struct multiaddr_component *out)
{
	size_t off = 0;
	struct multiaddr_component c;
	while (multiaddr_next(ma, &off, &c) == 1) {
		if (c.code == code) {
			*out = c;
			return true;
		}
	}
	return false;
}

int multiaddr_encapsulate(struct multiaddr *a, const struct multiaddr *b)
{
	if (b->len > MULTIADDR_MAX_LEN || a->len > MULTIADDR_MAX_LEN - b->len)
		return AA_ETOOBIG;
	if (b->len == 0)
		return 0;
	a->bytes = aa_realloc(a->bytes, a->len + b->len);
	memcpy(a->bytes + a->len, b->bytes, b->len);
	a->len += b->len;
	return 0;
}

bool multiaddr_decapsulate_code(struct multiaddr *a, uint64_t code)
{
	size_t off = 0, start = 0, cut = 0;
	bool found = false;
	struct multiaddr_component c;
	while (multiaddr_next(a, &off, &c) == 1) {
		if (c.code == code) {
			cut = start;
			found = true;
		}
		start = off;
	}
	if (found)
		a->len = cut;
	return found;
}

/* ---- text output ----------------------------------------------------------------------- */

/* RFC 5952 §4: lower-case hex without leading zeros, the longest run of two or more zero
 * groups (the first on a tie) as "::"; §5: IPv4-mapped addresses in mixed notation. */
static void ma_format_ip6(const uint8_t *b, struct aa_buf *out)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	char tmp[64];
	if (memcmp(b, mapped, sizeof mapped) == 0) {
		snprintf(tmp, sizeof tmp, "::ffff:%u.%u.%u.%u", b[12], b[13], b[14], b[15]);
		aa_buf_append_str(out, tmp);
		return;
	}
	unsigned words[8];
	for (int i = 0; i < 8; i++)
		words[i] = (unsigned)b[2 * i] << 8 | b[2 * i + 1];
	int best = -1, best_len = 0;
	for (int i = 0; i < 8;) {
		if (words[i] != 0) {
			i++;
			continue;
		}
		int j = i;
		while (j < 8 && words[j] == 0)
			j++;
		if (j - i > best_len) {
			best = i;
			best_len = j - i;
		}
		i = j;
	}
	if (best_len < 2)
		best = -1; /* §4.2.2: a single zero group is not shortened */
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			aa_buf_append_str(out, "::");
			i += best_len - 1;
			continue;
		}
		if (i > 0 && i != best + best_len)
			aa_buf_append_byte(out, ':');
		snprintf(tmp, sizeof tmp, "%x", words[i]);
		aa_buf_append_str(out, tmp);
	}
}

static void ma_append_pct(struct aa_buf *out, uint8_t c)
{
	static const char hex[] = "0123456789ABCDEF";
	aa_buf_append_byte(out, '%');
	aa_buf_append_byte(out, (uint8_t)hex[c >> 4]);
	aa_buf_append_byte(out, (uint8_t)hex[c & 15]);
}

/* unix: the path printed so that ma_parse_unix() reads back the same bytes. The leading
 * '/' is implied (protocols/unix.md), so it is dropped, unless the path is "/" itself or
 * starts with "//", where it is kept as "%2F". A trailing '/' is escaped because the
 * parser ignores one trailing '/'. '%', space, control and non-ASCII bytes are escaped;
 * other '/' stay literal, as go-multiaddr prints them. A relative path (possible only in
 * binary from elsewhere) prints as is and reads back absolute. */
static void ma_format_unix(const uint8_t *p, size_t n, struct aa_buf *out)
{
	size_t i = 0;
	if (n >= 2 && p[0] == '/' && p[1] != '/') {
		i = 1;
	} else if (p[0] == '/') {
		ma_append_pct(out, '/');
		i = 1;
	}
	for (; i < n; i++) {
		uint8_t c = p[i];
		if (c == '%' || c <= 0x20 || c >= 0x7f || (c == '/' && i == n - 1))
			ma_append_pct(out, c);
		else
			aa_buf_append_byte(out, c);
	}
}

static int ma_format_value(const struct multiaddr_component *c, struct aa_buf *out)
{
	const struct ma_proto *proto = ma_proto_by_code(c->code);
	const uint8_t *v = c->value;
	char tmp[32];
	char *s;
	switch (proto->kind) {
	case MA_KIND_IP4:
		snprintf(tmp, sizeof tmp, "%u.%u.%u.%u", v[0], v[1], v[2], v[3]);
		aa_buf_append_str(out, tmp);
		return 0;
	case MA_KIND_IP6:
		ma_format_ip6(v, out);
		return 0;
	case MA_KIND_PORT:
		snprintf(tmp, sizeof tmp, "%u", (unsigned)v[0] << 8 | v[1]);
		aa_buf_append_str(out, tmp);
		return 0;
	case MA_KIND_DNS:
		aa_buf_append(out, v, c->value_len);
		return 0;
	case MA_KIND_P2P: {
		/* peer-ids spec: display PeerIDs as bare base58btc multihashes. */
		size_t cap = base58_encoded_max(c->value_len) + 1;
		int n = base58_encode(v, c->value_len, (char *)aa_buf_reserve(out, cap), cap);
		if (n < 0)
			return AA_EINVAL;
		out->n += (size_t)n;
		return 0;
	}
	case MA_KIND_CERTHASH:
		/* go- and js-multiaddr print certhashes as base64url multibase. */
		if (multibase_encode(MULTIBASE_BASE64URL, v, c->value_len, &s) < 0)
			return AA_EINVAL;
		aa_buf_append_str(out, s);
		free(s);
		return 0;
	case MA_KIND_UNIX:
		ma_format_unix(v, c->value_len, out);
		return 0;
	default:
		return 0;
	}
}

int multiaddr_to_string(const struct multiaddr *ma, char **out)
{
	if (ma->len > MULTIADDR_MAX_LEN)
		return AA_EINVAL;
	struct aa_buf b;
	aa_buf_init(&b);
	size_t off = 0;
	struct multiaddr_component c;
	int rc;
	while ((rc = multiaddr_next(ma, &off, &c)) == 1) {
		aa_buf_append_byte(&b, '/');
		aa_buf_append_str(&b, c.name);
		if (!c.value)
			continue;
		aa_buf_append_byte(&b, '/');
		if ((rc = ma_format_value(&c, &b)) < 0)
			break;
	}
	if (rc < 0) {
		aa_buf_free(&b);
		return AA_EINVAL;
	}
	size_t len;
	*out = (char *)aa_buf_steal(&b, &len);
	return 0;
}

/* ---- text input ------------------------------------------------------------------------ */

static int ma_fail(const char **why, int rc, const char *reason)
{
	if (why)
		*why = reason;
	return rc;
}

/* Copies s[0..n) into a NUL-terminated stack buffer for the libc parsers. */
static bool ma_cstr(const char *s, size_t n, char *buf, size_t cap)
{
	if (n >= cap)
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return true;
}

static int ma_parse_ip(int af, const char *s, size_t n, struct aa_buf *val, const char **why)
{
	char buf[INET6_ADDRSTRLEN];
	uint8_t addr[16];
	/* inet_pton takes IPv4 only as four decimal parts without leading zeros, and IPv6 in
	 * every RFC 4291 §2.2 form, including embedded IPv4; zones ("%eth0") are refused. */
	if (!ma_cstr(s, n, buf, sizeof buf) || inet_pton(af, buf, addr) != 1)
		return ma_fail(why, AA_EINVAL, "bad ip address");
	aa_buf_append(val, addr, af == AF_INET ? 4 : 16);
	return 0;
}

static int ma_parse_port(const char *s, size_t n, struct aa_buf *val, const char **why)
{
	unsigned port = 0;
	if (n == 0)
		return ma_fail(why, AA_EINVAL, "bad port");
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return ma_fail(why, AA_EINVAL, "bad port");
		port = port * 10 + (unsigned)(s[i] - '0');
		if (port > 65535)
			return ma_fail(why, AA_EINVAL, "bad port");
	}
	aa_buf_append_byte(val, (uint8_t)(port >> 8));
	aa_buf_append_byte(val, (uint8_t)port);
	return 0;
}

/* p2p: peer-ids spec "Decoding": "1…" and "Qm…" are bare base58btc multihashes, anything
 * else must be a multibase CIDv1 whose codec is libp2p-key. */
static int ma_parse_p2p(const char *s, size_t n, struct aa_buf *val, const char **why)
{
	if (s[0] == '1' || s[0] == 'Q') {
		uint8_t *bytes = aa_buf_reserve(val, n);
		int len = base58_decode(s, n, bytes, n);
		if (len < 0 || ma_check_peer_id(bytes, (size_t)len) < 0)
			return ma_fail(why, AA_EINVAL, "bad peer id");
		val->n += (size_t)len;
		return 0;
	}
	char *str = aa_strndup(s, n);
	uint8_t *bytes;
	size_t len;
	struct cid cid;
	int rc = cid_parse_string(str, &bytes, &len, &cid);
	free(str);
	if (rc < 0)
		return ma_fail(why, AA_EINVAL, "bad peer id");
	if (cid.codec != CID_CODEC_LIBP2P_KEY) {
		free(bytes);
		return ma_fail(why, AA_EINVAL, "peer id cid is not libp2p-key");
	}
	aa_buf_append(val, cid.hash_bytes.p, cid.hash_bytes.n);
	free(bytes);
	return 0;
}

static int ma_parse_certhash(const char *s, size_t n, struct aa_buf *val, const char **why)
{
	uint8_t *bytes;
	size_t len;
	int rc = multibase_decode(s, n, &bytes, &len);
	if (rc == AA_ENOTSUP)
		return ma_fail(why, AA_ENOTSUP, "unsupported multibase");
	if (rc < 0)
		return ma_fail(why, AA_EINVAL, "bad certhash");
	rc = ma_check_multihash(bytes, len);
	if (rc == 0)
		aa_buf_append(val, bytes, len);
	free(bytes);
	return rc < 0 ? ma_fail(why, AA_EINVAL, "bad certhash") : 0;
}

/* unix: multiaddr protocols/unix.md percent-encoding; the value is everything up to the
 * end of the text (go-multiaddr's "path protocol" rule, so "/unix/tmp/x.sock" still
 * works), and a leading '/' is implied when the decoded path lacks one. Raw control
 * bytes must be escaped. */
static int ma_parse_unix(const char *s, size_t n, struct aa_buf *val, const char **why)
{
	size_t start = val->n;
	aa_buf_append_byte(val, '/');
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)s[i];
		if (c == '%') {
			int hi = i + 2 < n ? base16_digit((unsigned char)s[i + 1]) : -1;
			int lo = hi >= 0 ? base16_digit((unsigned char)s[i + 2]) : -1;
			if (lo < 0)
				return ma_fail(why, AA_EINVAL, "bad percent escape");
			c = (uint8_t)(hi << 4 | lo);
			i += 2;
		} else if (c < 0x20 || c == 0x7f) {
			return ma_fail(why, AA_EINVAL, "bad unix path");
		}
		aa_buf_append_byte(val, c);
	}
	/* Drop the implied '/' again if the path brought its own. */
	if (val->n - start >= 2 && val->p[start + 1] == '/') {
		memmove(val->p + start, val->p + start + 1, val->n - start - 1);
		val->n--;
	}
	if (ma_check_unix(val->p + start, val->n - start) < 0)
		return ma_fail(why, AA_EINVAL, "bad unix path");
	return 0;
}

static int ma_parse_value(const struct ma_proto *proto, const char *s, size_t n,
			  struct aa_buf *val, const char **why)
{
	switch (proto->kind) {
	case MA_KIND_IP4:
		return ma_parse_ip(AF_INET, s, n, val, why);
	case MA_KIND_IP6:
		return ma_parse_ip(AF_INET6, s, n, val, why);
	case MA_KIND_PORT:
		return ma_parse_port(s, n, val, why);
	case MA_KIND_DNS:
		if (ma_check_dns((const uint8_t *)s, n) < 0)
			return ma_fail(why, AA_EINVAL, "bad dns name");
		aa_buf_append(val, s, n);
		return 0;
	case MA_KIND_P2P:
		return ma_parse_p2p(s, n, val, why);
	case MA_KIND_CERTHASH:
		return ma_parse_certhash(s, n, val, why);
	case MA_KIND_UNIX:
		return ma_parse_unix(s, n, val, why);
	default:
		return 0;
	}
}

/* Parses text[0..end) (leading '/' checked, trailing '/' removed) into out. */
static int ma_parse_components(const char *text, size_t end, struct aa_buf *out,
			       const char **why)
{
	struct aa_buf val;
	aa_buf_init(&val);
	size_t pos = 1;
	int rc = 0;
	while (pos < end && rc == 0) {
		const char *name = text + pos;
		const char *slash = memchr(name, '/', end - pos);
		size_t name_len = slash ? (size_t)(slash - name) : end - pos;
		if (name_len == 0) {
			rc = ma_fail(why, AA_EINVAL, "empty protocol name");
			break;
		}
		const struct ma_proto *proto = ma_proto_by_name(name, name_len);
		if (!proto) {
			rc = ma_fail(why, AA_ENOTSUP, "unknown protocol");
			break;
		}
		pos += name_len + 1; /* past the name and its '/' (or past the end) */

		uint8_t code[AA_VARINT_MAX_BYTES];
		aa_buf_append(out, code, (size_t)varint_encode(proto->code, code));
		if (proto->size == MA_SIZE_NONE)
			continue;

		if (pos >= end) {
			rc = ma_fail(why, AA_EINVAL, "missing value");
			break;
		}
		const char *v = text + pos;
		size_t vlen;
		if (proto->kind == MA_KIND_UNIX) {
			vlen = end - pos; /* a path takes the rest */
		} else {
			const char *vslash = memchr(v, '/', end - pos);
			vlen = vslash ? (size_t)(vslash - v) : end - pos;
		}
		if (vlen == 0) {
			rc = ma_fail(why, AA_EINVAL, "missing value");
			break;
		}
		pos += vlen + 1;

		aa_buf_reset(&val);
		rc = ma_parse_value(proto, v, vlen, &val, why);
		if (rc < 0)
			break;
		if (proto->size == MA_SIZE_VAR) {
			uint8_t len[AA_VARINT_MAX_BYTES];
			aa_buf_append(out, len, (size_t)varint_encode(val.n, len));
		}
		aa_buf_append(out, val.p, val.n);
		if (out->n > MULTIADDR_MAX_LEN)
			rc = ma_fail(why, AA_EINVAL, "too long");
	}
	aa_buf_free(&val);
	return rc;
}

int multiaddr_parse(const char *text, struct multiaddr *out, const char **why)
{
	if (!text)
		return ma_fail(why, AA_EINVAL, "empty multiaddr");
	size_t end = strnlen(text, MULTIADDR_MAX_TEXT_LEN + 1);
	if (end > MULTIADDR_MAX_TEXT_LEN)
		return ma_fail(why, AA_EINVAL, "too long");
	if (end == 0 || text[0] != '/')
		return ma_fail(why, AA_EINVAL, "must start with '/'");
	/* go-multiaddr ignores a trailing '/'; so do we (one of them). */
	if (end > 1 && text[end - 1] == '/')
		end--;
	if (end <= 1)
		return ma_fail(why, AA_EINVAL, "empty multiaddr");

	struct aa_buf b;
	aa_buf_init(&b);
	int rc = ma_parse_components(text, end, &b, why);
	if (rc < 0) {
		aa_buf_free(&b);
		return rc;
	}
	/* Whatever the text parser produced must also pass the binary checks. */
	rc = ma_validate(b.p, b.n);
	if (rc < 0) {
		aa_buf_free(&b);
		return ma_fail(why, rc, "invalid");
	}
	size_t len;
	out->bytes = aa_buf_steal(&b, &len);
	out->len = len;
	return 0;
}
