/* tests/unit/support/tmpdir: what the unit tests share for their temporary directories. */
#ifndef AA_TEST_TMPDIR_H
#define AA_TEST_TMPDIR_H

/* Removes path and everything below it (files, directories, symlinks themselves, not their
 * targets). 0, or -1 with errno from the first entry that could not be removed. */
int test_rm_tree(const char *path);

#endif
