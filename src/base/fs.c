/* fs: recursive private directory creation. */
#include "base/fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/err.h"
#include "base/mem.h"

static int errno_to_aa(int e)
{
	switch (e) {
	case EACCES:
	case EPERM:
	case EROFS: return AA_EPERM;
	case EEXIST:
	case ENOTDIR: return AA_EEXIST;
	case ENOENT: return AA_ENOENT;
	default: return AA_EIO;
	}
}

static int mkdir_one(const char *path, mode_t mode)
{
	if (mkdir(path, mode) == 0)
		return 0;
	int e = errno;
	struct stat st;
	if (e == EEXIST && stat(path, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : AA_EEXIST;
	return errno_to_aa(e);
}

int aa_mkdir_p(const char *path, mode_t mode)
{
	if (!path || !*path)
		return AA_EINVAL;
	char *p = aa_strdup(path);
	int rc = 0;
	/* Walk the path creating each prefix; the first '/' of an absolute path is skipped. */
	for (char *s = p + 1; *s && rc == 0; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		rc = mkdir_one(p, mode);
		*s = '/';
	}
	if (rc == 0)
		rc = mkdir_one(p, mode);
	free(p);
	return rc;
}

int aa_path_dirname(const char *path, char *out, size_t cap)
{
	const char *slash = strrchr(path, '/');
	size_t n;
	if (!slash) {
		path = ".";
		n = 1;
	} else {
		n = (size_t)(slash - path);
		if (n == 0)
			n = 1; /* "/file" -> "/" */
	}
	if (n + 1 > cap)
		return AA_ERANGE;
	memcpy(out, path, n);
	out[n] = '\0';
	return 0;
}
