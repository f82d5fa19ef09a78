/* err: the project's error codes. Functions return 0 on success or a negative AA_E… code;
 * aa_strerror() names one for people. There is no global error state. */
#ifndef AA_BASE_ERR_H
#define AA_BASE_ERR_H

#include <stddef.h>

enum aa_err {
	AA_OK = 0,
	AA_EINVAL = -1,      /* malformed or out-of-range argument or input */
	AA_ENOMEM = -2,      /* a configured bound was reached (true OOM aborts) */
	AA_EPROTO = -3,      /* peer violated a protocol */
	AA_ERANGE = -4,      /* value does not fit */
	AA_ENOTSUP = -5,     /* valid but unsupported (e.g. an unknown multicodec) */
	AA_EIO = -6,         /* I/O failed; errno logged where it happened */
	AA_ENOENT = -7,      /* no such file, key or entry */
	AA_EPERM = -8,       /* permissions wrong or refused */
	AA_ETIMEDOUT = -9,   /* deadline passed */
	AA_ECLOSED = -10,    /* the object or the peer is closed */
	AA_EAGAIN = -11,     /* try again later (would block, rate limited) */
	AA_EEXIST = -12,     /* already exists */
	AA_ECRYPTO = -13,    /* signature, MAC or key check failed */
	AA_ETOOBIG = -14,    /* input larger than the configured limit */
	AA_ETRUNC = -15,     /* input ended before a complete item */
	AA_ECANCELED = -16,  /* operation was cancelled */
	AA_EUSAGE = -17,     /* command-line usage error (exit status 2) */
	AA_ECONFIG = -18,    /* configuration invalid (exit status 1) */
	AA_ESTATE = -19,     /* not allowed in the current state (gRPC FAILED_PRECONDITION) */
	AA_EUNAVAIL = -20,   /* the peer or service cannot be reached now (gRPC UNAVAILABLE) */
};

/* Returns a static, human-readable name for an AA_E… code (or "unknown error"). */
const char *aa_strerror(int err);

/* Writes a one-line reason into a caller's buffer (the `char *why, size_t why_len` pair of
 * functions whose failures a person must read). why may be NULL or why_len 0: nothing. */
void aa_set_why(char *why, size_t why_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
