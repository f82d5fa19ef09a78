/* curl_api: libcurl loaded on first use (see curl_api.h). */
#include "http/curl_api.h"

#include "base/dl.h"
#include "base/err.h"

struct http_curl_api http_curl;

#define SYM(field) { "curl_" #field, &http_curl.field }
static const struct aa_dl_sym curl_syms[] = {
	SYM(easy_init),        SYM(easy_setopt),         SYM(easy_getinfo),
	SYM(easy_cleanup),     SYM(multi_init),          SYM(multi_setopt),
	SYM(multi_add_handle), SYM(multi_remove_handle), SYM(multi_socket_action),
	SYM(multi_assign),     SYM(multi_info_read),     SYM(multi_cleanup),
	SYM(slist_append),     SYM(slist_free_all),      SYM(url),
	SYM(url_set),          SYM(url_get),             SYM(url_cleanup),
	SYM(free),             SYM(global_init),
};
#undef SYM

/* Under the loader's lock, so at most once and never concurrently: curl_global_init is not
 * thread-safe in every libcurl build. curl_global_cleanup is left to process exit. */
static int curl_on_load(char *why, size_t why_len)
{
	CURLcode rc = http_curl.global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK) {
		aa_set_why(why, why_len, "curl_global_init returned %d", (int)rc);
		return AA_EIO;
	}
	return 0;
}

static struct aa_dl_lib curl_lib = AA_DL_LIB(HTTP_CURL_SONAME, curl_syms, curl_on_load);

int http_curl_load(const char **why)
{
	return aa_dl_open(&curl_lib, why);
}
