/* base58: base58btc (Bitcoin alphabet), as used by PeerIDs and multibase 'z'. Leading zero
 * bytes map to leading '1's. Pure functions, any thread. */
#ifndef AA_BASE_BASE58_H
#define AA_BASE_BASE58_H

#include <stddef.h>
#include <stdint.h>

/* Upper bound of the encoded length (without NUL) for n input bytes. */
size_t base58_encoded_max(size_t n);
/* Encodes p[0..n) into out (capacity out_cap, must include room for a NUL).
 * Returns the string length, or AA_ERANGE if out is too small. */
int base58_encode(const uint8_t *p, size_t n, char *out, size_t out_cap);
/* Decodes s[0..len) into out (capacity out_cap). Returns the byte count, AA_EINVAL on a
 * character outside the alphabet, AA_ERANGE if out is too small. Input longer than
 * 1024 characters is rejected with AA_ETOOBIG (the quadratic algorithm must stay bounded). */
int base58_decode(const char *s, size_t len, uint8_t *out, size_t out_cap);

#endif
