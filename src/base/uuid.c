/* uuid: version 4 (random) UUIDs per RFC 9562 §5.4, from libsodium's CSPRNG (which reads
 * getrandom(2)), and their canonical 8-4-4-4-12 text form. */
#include "base/multibase.h"
#include "base/uuid.h"

#include <sodium.h>
#include <string.h>

#include "base/err.h"

static const char uuid_hex[] = "0123456789abcdef";

void uuid_v4(uint8_t out[16])
{
	randombytes_buf(out, 16);
	/* RFC 9562 §5.4: version 0b0100 in the high nibble of octet 6, variant 0b10 in the
	 * top two bits of octet 8; the other 122 bits stay random. */
	out[6] = (uint8_t)((out[6] & 0x0f) | 0x40);
	out[8] = (uint8_t)((out[8] & 0x3f) | 0x80);
}

/* Hyphens sit before octets 4, 6, 8 and 10 (RFC 9562 §4). */
static bool uuid_hyphen_before(int octet)
{
	return octet == 4 || octet == 6 || octet == 8 || octet == 10;
}

void uuid_format(const uint8_t id[16], char out[AA_UUID_STR_LEN + 1])
{
	int o = 0;
	for (int i = 0; i < 16; i++) {
		if (uuid_hyphen_before(i))
			out[o++] = '-';
		out[o++] = uuid_hex[id[i] >> 4];
		out[o++] = uuid_hex[id[i] & 15];
	}
	out[o] = '\0';
}

void uuid_v4_string(char out[AA_UUID_STR_LEN + 1])
{
	uint8_t id[16];
	uuid_v4(id);
	uuid_format(id, out);
}

int uuid_parse(const char *s, uint8_t out[16])
{
	/* Exactly 36 characters: stop looking one past so a longer string is refused. */
	if (strnlen(s, AA_UUID_STR_LEN + 1) != AA_UUID_STR_LEN)
		return AA_EINVAL;
	uint8_t id[16];
	int p = 0;
	for (int i = 0; i < 16; i++) {
		if (uuid_hyphen_before(i) && s[p++] != '-')
			return AA_EINVAL;
		int hi = base16_digit((unsigned char)s[p]);
		int lo = base16_digit((unsigned char)s[p + 1]);
		if (hi < 0 || lo < 0)
			return AA_EINVAL;
		id[i] = (uint8_t)(hi << 4 | lo);
		p += 2;
	}
	memcpy(out, id, 16);
	return 0;
}

bool uuid_is_valid_string(const char *s)
{
	uint8_t id[16];
	return uuid_parse(s, id) == 0;
}
