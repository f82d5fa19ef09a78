/* base58: base58btc encode/decode (the Bitcoin alphabet, as in the multibase 'z' and
 * libp2p PeerID text forms). Quadratic big-number conversion; inputs are small. */
#include "base/base58.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"

#define BASE58_MAX_DECODE_CHARS 1024

static const char base58_alphabet[] =
	"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/* Character → digit value, -1 for characters outside the alphabet (0, O, I, l excluded). */
static int base58_digit(unsigned char c)
{
	if (c >= '1' && c <= '9')
		return c - '1';
	if (c >= 'A' && c <= 'H')
		return c - 'A' + 9;
	if (c >= 'J' && c <= 'N')
		return c - 'J' + 17;
	if (c >= 'P' && c <= 'Z')
		return c - 'P' + 22;
	if (c >= 'a' && c <= 'k')
		return c - 'a' + 33;
	if (c >= 'm' && c <= 'z')
		return c - 'm' + 44;
	return -1;
}

size_t base58_encoded_max(size_t n)
{
	/* log(256)/log(58) < 1.38, plus one digit of slack for rounding. */
	return n * 138 / 100 + 1;
}

int base58_encode(const uint8_t *p, size_t n, char *out, size_t out_cap)
{
	/* Each leading zero byte is written as one '1' and takes no part in the number. */
	size_t zeros = 0;
	while (zeros < n && p[zeros] == 0)
		zeros++;

	/* Base-58 digits of the big-endian number p[zeros..n), least significant first. */
	size_t max = base58_encoded_max(n - zeros);
	uint8_t *digits = aa_malloc(max);
	size_t len = 0;
	for (size_t i = zeros; i < n; i++) {
		unsigned carry = p[i];
		for (size_t j = 0; j < len; j++) {
			carry += (unsigned)digits[j] << 8;
			digits[j] = (uint8_t)(carry % 58);
			carry /= 58;
		}
		while (carry) {
			digits[len++] = (uint8_t)(carry % 58);
			carry /= 58;
		}
	}

	size_t total = zeros + len;
	if (total >= out_cap || total > INT_MAX) {
		free(digits);
		return AA_ERANGE;
	}
	if (zeros)
		memset(out, '1', zeros);
	for (size_t j = 0; j < len; j++)
		out[zeros + j] = base58_alphabet[digits[len - 1 - j]];
	out[total] = '\0';
	free(digits);
	return (int)total;
}

int base58_decode(const char *s, size_t len, uint8_t *out, size_t out_cap)
{
	if (len > BASE58_MAX_DECODE_CHARS)
		return AA_ETOOBIG;

	size_t ones = 0;
	while (ones < len && s[ones] == '1')
		ones++;

	/* Bytes of the number, least significant first; every 58 digits fit in < 0.74 bytes
	 * each, so len bytes is always enough room. */
	uint8_t bytes[BASE58_MAX_DECODE_CHARS];
	size_t nbytes = 0;
	for (size_t i = ones; i < len; i++) {
		int d = base58_digit((unsigned char)s[i]);
		if (d < 0)
			return AA_EINVAL;
		unsigned carry = (unsigned)d;
		for (size_t j = 0; j < nbytes; j++) {
			carry += (unsigned)bytes[j] * 58;
			bytes[j] = (uint8_t)carry;
			carry >>= 8;
		}
		while (carry) {
			bytes[nbytes++] = (uint8_t)carry;
			carry >>= 8;
		}
	}

	size_t total = ones + nbytes;
	if (total > out_cap)
		return AA_ERANGE;
	if (ones)
		memset(out, 0, ones);
	for (size_t j = 0; j < nbytes; j++)
		out[ones + j] = bytes[nbytes - 1 - j];
	return (int)total;
}
