/* mhd_api: libmicrohttpd's functions as http/server uses them, from libmicrohttpd.so.12
 * loaded on first use (base/dl) instead of linked: only the bridge and the metrics endpoint
 * serve HTTP, both off by default, and an idle daemon should not carry libmicrohttpd and
 * GnuTLS with its dependencies.
 *
 * <microhttpd.h> still gives the types and constants; each member has the exact type of the
 * function it stands for. Call as http_mhd.run(d) and so on, after http_mhd_load(). */
#ifndef AA_HTTP_MHD_API_H
#define AA_HTTP_MHD_API_H

#include <stdarg.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <microhttpd.h>

#define HTTP_MHD_SONAME "libmicrohttpd.so.12"

struct http_mhd_api {
	__typeof__(MHD_start_daemon) *start_daemon;
	__typeof__(MHD_stop_daemon) *stop_daemon;
	__typeof__(MHD_get_daemon_info) *get_daemon_info;
	__typeof__(MHD_get_timeout) *get_timeout;
	__typeof__(MHD_run) *run;
	__typeof__(MHD_get_connection_info) *get_connection_info;
	__typeof__(MHD_lookup_connection_value) *lookup_connection_value;
	__typeof__(MHD_suspend_connection) *suspend_connection;
	__typeof__(MHD_resume_connection) *resume_connection;
	__typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
	__typeof__(MHD_create_response_from_callback) *create_response_from_callback;
	__typeof__(MHD_add_response_header) *add_response_header;
	__typeof__(MHD_queue_response) *queue_response;
	__typeof__(MHD_destroy_response) *destroy_response;
};

/* Filled by the first successful http_mhd_load(); all NULL before (and after a failure). */
extern struct http_mhd_api http_mhd;

/* Loads libmicrohttpd once per process (thread-safe). 0, or AA_EIO with *why (optional,
 * static) naming the library and the reason; a failure is final. */
int http_mhd_load(const char **why);

#endif
