/* uuid: random (version 4, RFC 9562) UUIDs from the OS CSPRNG, in canonical lower-case
 * text form "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx". */
#ifndef AA_BASE_UUID_H
#define AA_BASE_UUID_H

#include <stdbool.h>
#include <stdint.h>

#define AA_UUID_STR_LEN 36

void uuid_v4(uint8_t out[16]);
/* Writes 36 characters plus NUL into out. */
void uuid_format(const uint8_t id[16], char out[AA_UUID_STR_LEN + 1]);
/* Convenience: a new v4 UUID as text. */
void uuid_v4_string(char out[AA_UUID_STR_LEN + 1]);
/* Parses canonical text (either case); returns 0 or AA_EINVAL. */
int uuid_parse(const char *s, uint8_t out[16]);
bool uuid_is_valid_string(const char *s);

#endif
