/* multibase: the prefixed text encodings we speak (multiformats/multibase: 'f'/'F' base16,
 * 'b'/'B' base32, 'z' base58btc, 'u' base64url) and the raw RFC 4648 codecs under them. */
#include "base/multibase.h"

#include <limits.h>
#include <stdlib.h>

#include "base/base58.h"
#include "base/err.h"
#include "base/mem.h"

static const char base32_alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
static const char base64url_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char base16_alphabet[] = "0123456789abcdef";

static int base32_digit(unsigned char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

static int base64url_digit(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int base16_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 4648 encodings without padding are a plain bit stream cut into `bits`-wide digits,
 * most significant first, the last digit filled up with zero bits. */
static size_t bits_encoded_len(size_t n, unsigned bits)
{
	return (n / bits) * 8 + ((n % bits) * 8 + bits - 1) / bits;
}

static int bits_encode(const uint8_t *p, size_t n, char *out, size_t out_cap, unsigned bits,
		       const char *alphabet)
{
	size_t need = bits_encoded_len(n, bits);
	if (need >= out_cap || need > INT_MAX)
		return AA_ERANGE;
	unsigned mask = (1u << bits) - 1;
	uint32_t acc = 0;
	unsigned nbits = 0;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | p[i];
		nbits += 8;
		while (nbits >= bits) {
			out[o++] = alphabet[(acc >> (nbits - bits)) & mask];
			nbits -= bits;
		}
		acc &= (1u << nbits) - 1;
	}
	if (nbits > 0)
		out[o++] = alphabet[(acc << (bits - nbits)) & mask];
	out[o] = '\0';
	return (int)o;
}

static int bits_decode(const char *s, size_t len, uint8_t *out, size_t out_cap, unsigned bits,
		       int (*digit)(unsigned char))
{
	if (len > INT_MAX)
		return AA_ETOOBIG;
	uint32_t acc = 0;
	unsigned nbits = 0;
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		int d = digit((unsigned char)s[i]);
		if (d < 0)
			return AA_EINVAL; /* also rejects '=' padding */
		acc = (acc << bits) | (uint32_t)d;
		nbits += bits;
		if (nbits >= 8) {
			if (o >= out_cap)
				return AA_ERANGE;
			out[o++] = (uint8_t)(acc >> (nbits - 8));
			nbits -= 8;
			acc &= (1u << nbits) - 1;
		}
	}
	/* A whole digit left over cannot come from any byte string (e.g. one base64 char
	 * alone), and the filler bits of the last digit must be zero so that every byte
	 * string has exactly one encoding. */
	if (nbits >= bits || acc != 0)
		return AA_EINVAL;
	return (int)o;
}

size_t base32_encoded_len(size_t n)
{
	return bits_encoded_len(n, 5);
}

int base32_encode(const uint8_t *p, size_t n, char *out, size_t out_cap)
{
	return bits_encode(p, n, out, out_cap, 5, base32_alphabet);
}

int base32_decode(const char *s, size_t len, uint8_t *out, size_t out_cap)
{
	return bits_decode(s, len, out, out_cap, 5, base32_digit);
}

size_t base64url_encoded_len(size_t n)
{
	return bits_encoded_len(n, 6);
}

int base64url_encode(const uint8_t *p, size_t n, char *out, size_t out_cap)
{
	return bits_encode(p, n, out, out_cap, 6, base64url_alphabet);
}

int base64url_decode(const char *s, size_t len, uint8_t *out, size_t out_cap)
{
	return bits_decode(s, len, out, out_cap, 6, base64url_digit);
}

int base16_encode(const uint8_t *p, size_t n, char *out, size_t out_cap)
{
	if (n > INT_MAX / 2 || 2 * n >= out_cap)
		return AA_ERANGE;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = base16_alphabet[p[i] >> 4];
		out[2 * i + 1] = base16_alphabet[p[i] & 15];
	}
	out[2 * n] = '\0';
	return (int)(2 * n);
}

int base16_decode(const char *s, size_t len, uint8_t *out, size_t out_cap)
{
	if (len % 2)
		return AA_EINVAL;
	if (len / 2 > INT_MAX)
		return AA_ETOOBIG;
	if (len / 2 > out_cap)
		return AA_ERANGE;
	for (size_t i = 0; i < len; i += 2) {
		int hi = base16_digit((unsigned char)s[i]);
		int lo = base16_digit((unsigned char)s[i + 1]);
		if (hi < 0 || lo < 0)
			return AA_EINVAL;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(len / 2);
}

int multibase_encode(enum multibase_code base, const uint8_t *p, size_t n, char **out)
{
	size_t cap;
	switch (base) {
	case MULTIBASE_BASE16:
		cap = 2 * n + 2;
		break;
	case MULTIBASE_BASE32:
		cap = base32_encoded_len(n) + 2;
		break;
	case MULTIBASE_BASE58BTC:
		cap = base58_encoded_max(n) + 2;
		break;
	case MULTIBASE_BASE64URL:
		cap = base64url_encoded_len(n) + 2;
		break;
	default:
		return AA_ENOTSUP;
	}
	char *s = aa_malloc(cap);
	s[0] = (char)base;
	int rc;
	switch (base) {
	case MULTIBASE_BASE16:
		rc = base16_encode(p, n, s + 1, cap - 1);
		break;
	case MULTIBASE_BASE32:
		rc = base32_encode(p, n, s + 1, cap - 1);
		break;
	case MULTIBASE_BASE58BTC:
		rc = base58_encode(p, n, s + 1, cap - 1);
		break;
	default:
		rc = base64url_encode(p, n, s + 1, cap - 1);
		break;
	}
	if (rc < 0) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int multibase_decode(const char *s, size_t len, uint8_t **out, size_t *out_len)
{
	if (len == 0)
		return AA_EINVAL;
	if (len > MULTIBASE_MAX_DECODE_LEN)
		return AA_ETOOBIG;
	const char *body = s + 1;
	size_t n = len - 1;
	/* Every supported base needs at most one byte per character. */
	uint8_t *buf = aa_malloc(n + 1);
	int rc;
	switch (s[0]) {
	case 'f':
	case 'F':
		rc = base16_decode(body, n, buf, n + 1);
		break;
	case 'b':
	case 'B':
		rc = base32_decode(body, n, buf, n + 1);
		break;
	case 'z':
		rc = base58_decode(body, n, buf, n + 1);
		break;
	case 'u':
		rc = base64url_decode(body, n, buf, n + 1);
		break;
	default:
		rc = AA_ENOTSUP;
		break;
	}
	if (rc < 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	*out_len = (size_t)rc;
	return 0;
}
