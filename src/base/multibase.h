/* multibase: self-describing base encodings. Supported prefixes: 'z' base58btc,
 * 'b' base32 (RFC 4648 lower case, no padding), 'f' base16 (lower case), 'u' base64url
 * (RFC 4648 §5, no padding; multiaddr /certhash uses it). Decoding also accepts 'B'
 * (base32 upper) and 'F' (base16 upper), and, as the multibase case-insensitivity test
 * vectors require, either case after 'b'/'B'/'f'/'F'. Others → AA_ENOTSUP.
 * The raw base32/base16 codecs are public too (CIDs and DNS labels use them). */
#ifndef AA_BASE_MULTIBASE_H
#define AA_BASE_MULTIBASE_H

#include <stddef.h>
#include <stdint.h>

enum multibase_code {
	MULTIBASE_BASE16 = 'f',
	MULTIBASE_BASE32 = 'b',
	MULTIBASE_BASE58BTC = 'z',
	MULTIBASE_BASE64URL = 'u',
};

/* multibase_decode() refuses longer strings with AA_ETOOBIG. */
#define MULTIBASE_MAX_DECODE_LEN 65536

/* Encodes with the prefix into a fresh heap string (caller frees). AA_ENOTSUP for an
 * unknown base. */
int multibase_encode(enum multibase_code base, const uint8_t *p, size_t n, char **out);
/* Decodes a prefixed string into a fresh heap buffer (*out, *out_len; caller frees).
 * AA_EINVAL for bad characters/padding/trailing bits, AA_ENOTSUP for unknown prefix. */
int multibase_decode(const char *s, size_t len, uint8_t **out, size_t *out_len);

/* RFC 4648 base32, lower-case alphabet, no padding. out must hold base32_encoded_len(n)+1.
 * Encoders return the string length (NUL written), decoders the byte count; AA_ERANGE if
 * out is too small, AA_EINVAL for bad characters, lengths or trailing bits. */
size_t base32_encoded_len(size_t n);
int base32_encode(const uint8_t *p, size_t n, char *out, size_t out_cap);
/* Accepts lower or upper case, no padding; rejects non-zero trailing bits. */
int base32_decode(const char *s, size_t len, uint8_t *out, size_t out_cap);

/* Lower-case hex; out must hold 2n+1. Decoding accepts either case. Both return the
 * output length, AA_EINVAL for bad input, AA_ERANGE if out is too small. */
/* The value of one hexadecimal digit (either case), or -1. Shared by every hex parser. */
int base16_digit(int c);

int base16_encode(const uint8_t *p, size_t n, char *out, size_t out_cap);
int base16_decode(const char *s, size_t len, uint8_t *out, size_t out_cap);

/* RFC 4648 §5 base64url ('-' and '_'), no padding. out must hold base64url_encoded_len(n)+1.
 * Decoding rejects '=', impossible lengths and non-zero trailing bits. */
size_t base64url_encoded_len(size_t n);
int base64url_encode(const uint8_t *p, size_t n, char *out, size_t out_cap);
int base64url_decode(const char *s, size_t len, uint8_t *out, size_t out_cap);

#endif
