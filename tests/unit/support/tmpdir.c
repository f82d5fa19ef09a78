/* tests/unit/support/tmpdir: see tmpdir.h. */
#include "tmpdir.h"

#include <ftw.h>
#include <stdio.h>

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int test_rm_tree(const char *path)
{
	/* Depth first, so directories are empty when their turn comes; FTW_PHYS: a symlink is
	 * removed, never followed. */
	return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}
