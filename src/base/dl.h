/* dl: loading an optional shared library on first use, the way systemd loads its optional
 * dependencies. A library the default configuration never uses (libcurl, libmicrohttpd) is
 * not a link-time dependency: dlopen()ing it when first needed keeps it, and the dozens of
 * libraries it drags in, out of an idle daemon's memory.
 *
 * A caller describes the library once, statically, as an aa_dl_lib: its versioned soname
 * (the runtime package's file, so the -dev package's unversioned .so is not needed) and a
 * table of {symbol, address of a function pointer}. aa_dl_open() loads it on the first call
 * and gives every later call the same answer, success or failure; it is thread-safe.
 *
 *   static CURL *(*easy_init)(void);
 *   static const struct aa_dl_sym syms[] = { { "curl_easy_init", &easy_init } };
 *   static struct aa_dl_lib lib = AA_DL_LIB("libcurl.so.4", syms, NULL);
 *   const char *why;
 *   if (aa_dl_open(&lib, &why) < 0) aa_log(AA_LOG_ERROR, why, NULL);
 *
 * The library stays loaded until the process exits. */
#ifndef AA_BASE_DL_H
#define AA_BASE_DL_H

#include <pthread.h>
#include <stddef.h>

struct aa_dl_sym {
	const char *name; /* the exported symbol */
	void *slot;       /* the address of the function pointer that receives it */
};

struct aa_dl_lib {
	const char *soname;
	const struct aa_dl_sym *syms;
	size_t n_syms;
	/* Optional: runs once, under the lock, after every symbol resolved (a library's global
	 * initialisation). Returns 0, or < 0 with a reason in why. */
	int (*on_load)(char *why, size_t why_len);
	/* Private, set by AA_DL_LIB. */
	pthread_mutex_t mu;
	int state; /* 0: not tried yet; 1: loaded; < 0: failed with that code */
	char why[320];
};

#define AA_DL_LIB(soname_, syms_, on_load_)                                            \
	{ .soname = (soname_), .syms = (syms_), .n_syms = sizeof(syms_) / sizeof((syms_)[0]), \
	  .on_load = (on_load_), .mu = PTHREAD_MUTEX_INITIALIZER }

/* Loads lib (RTLD_NOW | RTLD_LOCAL) and fills every slot, once. 0 when loaded; AA_EIO when
 * the library cannot be loaded, lacks a symbol, or on_load failed — then every slot is NULL
 * and *why (optional) points to a reason naming the library and dlerror()'s text, valid for
 * the life of lib. The first attempt's outcome is final: later calls do not retry. */
int aa_dl_open(struct aa_dl_lib *lib, const char **why);

#endif
