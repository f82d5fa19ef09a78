/* mhd_api: libmicrohttpd loaded on first use (see mhd_api.h). */
#include "http/mhd_api.h"

#include "base/dl.h"

struct http_mhd_api http_mhd;

#define SYM(field) { "MHD_" #field, &http_mhd.field }
static const struct aa_dl_sym mhd_syms[] = {
	SYM(start_daemon),
	SYM(stop_daemon),
	SYM(get_daemon_info),
	SYM(get_timeout),
	SYM(run),
	SYM(get_connection_info),
	SYM(lookup_connection_value),
	SYM(suspend_connection),
	SYM(resume_connection),
	SYM(create_response_from_buffer),
	SYM(create_response_from_callback),
	SYM(add_response_header),
	SYM(queue_response),
	SYM(destroy_response),
};
#undef SYM

static struct aa_dl_lib mhd_lib = AA_DL_LIB(HTTP_MHD_SONAME, mhd_syms, NULL);

int http_mhd_load(const char **why)
{
	return aa_dl_open(&mhd_lib, why);
}
