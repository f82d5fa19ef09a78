/* err: names for the project's error codes. */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>

void aa_set_why(char *why, size_t why_len, const char *fmt, ...)
{
	if (!why || why_len == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
}

const char *aa_strerror(int err)
{
	switch (err) {
	case AA_OK: return "ok";
	case AA_EINVAL: return "invalid argument";
	case AA_ENOMEM: return "limit reached";
	case AA_EPROTO: return "protocol error";
	case AA_ERANGE: return "value out of range";
	case AA_ENOTSUP: return "not supported";
	case AA_EIO: return "i/o error";
	case AA_ENOENT: return "not found";
	case AA_EPERM: return "permission denied";
	case AA_ETIMEDOUT: return "timed out";
	case AA_ECLOSED: return "closed";
	case AA_EAGAIN: return "try again";
	case AA_EEXIST: return "already exists";
	case AA_ECRYPTO: return "cryptographic check failed";
	case AA_ETOOBIG: return "too big";
	case AA_ETRUNC: return "truncated input";
	case AA_ECANCELED: return "canceled";
	case AA_EUSAGE: return "usage error";
	case AA_ECONFIG: return "configuration error";
	case AA_ESTATE: return "not allowed in this state";
	case AA_EUNAVAIL: return "unavailable";
	}
	return "unknown error";
}
