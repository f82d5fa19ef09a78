/* dl: optional shared libraries loaded on first use (see dl.h). */
#include "base/dl.h"

#include <dlfcn.h>
#include <string.h>

#include "base/err.h"

/* POSIX guarantees that a dlsym() result converts to a function pointer of the same size;
 * copying the bytes says so without ISO C's object-to-function pointer conversion. */
static void slot_set(const struct aa_dl_sym *s, void *value)
{
	memcpy(s->slot, &value, sizeof value);
}

static void slots_clear(const struct aa_dl_lib *lib)
{
	for (size_t i = 0; i < lib->n_syms; i++)
		slot_set(&lib->syms[i], NULL);
}

static const char *dl_error_text(void)
{
	const char *e = dlerror();
	return e ? e : "unknown error";
}

static int dl_load(struct aa_dl_lib *lib)
{
	void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		aa_set_why(lib->why, sizeof lib->why, "cannot load %s: %s", lib->soname,
			   dl_error_text());
		return AA_EIO;
	}
	for (size_t i = 0; i < lib->n_syms; i++) {
		dlerror(); /* a symbol may legitimately be NULL: only dlerror() tells failure */
		void *sym = dlsym(h, lib->syms[i].name);
		const char *e = dlerror();
		if (e || !sym) {
			aa_set_why(lib->why, sizeof lib->why, "%s lacks %s: %s", lib->soname,
				   lib->syms[i].name, e ? e : "symbol is NULL");
			slots_clear(lib);
			dlclose(h);
			return AA_EIO;
		}
		slot_set(&lib->syms[i], sym);
	}
	if (lib->on_load) {
		char why[256] = "";
		int rc = lib->on_load(why, sizeof why);
		if (rc < 0) {
			aa_set_why(lib->why, sizeof lib->why, "%s: initialisation failed: %s",
				   lib->soname, why[0] ? why : aa_strerror(rc));
			slots_clear(lib);
			/* Not unloaded: a half-initialised library may have left handlers behind. */
			return AA_EIO;
		}
	}
	return 0;
}

int aa_dl_open(struct aa_dl_lib *lib, const char **why)
{
	pthread_mutex_lock(&lib->mu);
	if (lib->state == 0) {
		int rc = dl_load(lib);
		lib->state = rc < 0 ? rc : 1;
	}
	int state = lib->state;
	pthread_mutex_unlock(&lib->mu);
	if (why)
		*why = state < 0 ? lib->why : "";
	return state < 0 ? state : 0;
}
