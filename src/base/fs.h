/* fs: small filesystem helpers the daemon needs at start: private directories and checks.
 * Blocking calls; use them before the loop runs or from the store thread. */
#ifndef AA_BASE_FS_H
#define AA_BASE_FS_H

#include <sys/types.h>

/* Creates path and any missing parents with `mode` (like mkdir -p). An existing directory is
 * fine; its mode is left as it is. Returns 0, AA_EPERM, AA_EEXIST (not a directory), AA_EIO. */
int aa_mkdir_p(const char *path, mode_t mode);
/* Writes the parent directory of path into out (capacity cap); "." when there is none. */
int aa_path_dirname(const char *path, char *out, size_t cap);

#endif
