/* curl_api: libcurl's functions as http/client uses them, from libcurl.so.4 loaded on first
 * use (base/dl) instead of linked: an idle daemon, whose default configuration sends nothing
 * over HTTP, then carries neither libcurl nor the ~30 libraries it needs (TLS, Kerberos,
 * LDAP, SSH), nor OpenSSL's libssl initialised by curl_global_init.
 *
 * <curl/curl.h> still gives the types and constants; each member has the exact type of the
 * function it stands for. Call as http_curl.easy_init() and so on, after http_curl_load(). */
#ifndef AA_HTTP_CURL_API_H
#define AA_HTTP_CURL_API_H

#include <curl/curl.h>

#define HTTP_CURL_SONAME "libcurl.so.4"

struct http_curl_api {
	__typeof__(curl_easy_init) *easy_init;
	__typeof__(curl_easy_setopt) *easy_setopt;
	__typeof__(curl_easy_getinfo) *easy_getinfo;
	__typeof__(curl_easy_cleanup) *easy_cleanup;
	__typeof__(curl_multi_init) *multi_init;
	__typeof__(curl_multi_setopt) *multi_setopt;
	__typeof__(curl_multi_add_handle) *multi_add_handle;
	__typeof__(curl_multi_remove_handle) *multi_remove_handle;
	__typeof__(curl_multi_socket_action) *multi_socket_action;
	__typeof__(curl_multi_assign) *multi_assign;
	__typeof__(curl_multi_info_read) *multi_info_read;
	__typeof__(curl_multi_cleanup) *multi_cleanup;
	__typeof__(curl_slist_append) *slist_append;
	__typeof__(curl_slist_free_all) *slist_free_all;
	__typeof__(curl_url) *url;
	__typeof__(curl_url_set) *url_set;
	__typeof__(curl_url_get) *url_get;
	__typeof__(curl_url_cleanup) *url_cleanup;
	__typeof__(curl_free) *free;
	__typeof__(curl_global_init) *global_init;
};

/* Filled by the first successful http_curl_load(); all NULL before (and after a failure). */
extern struct http_curl_api http_curl;

/* Loads libcurl and runs curl_global_init(CURL_GLOBAL_DEFAULT), once per process
 * (thread-safe). 0, or AA_EIO with *why (optional, static) naming the library and the
 * reason; a failure is final, later calls fail the same way. */
int http_curl_load(const char **why);

#endif
