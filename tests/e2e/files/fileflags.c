// SPDX-License-Identifier: MIT
/*
 * Regular files come back with their status flags and where they are
 * now: O_DIRECT and O_NONBLOCK on files, a file renamed after it was
 * opened, and a file whose directory was renamed. Each still reads the
 * bytes written before the checkpoint at its saved offset, and a write
 * through it lands in the renamed file.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtm.h"

#define BLOCK 4096

static void want_flags(int fd, int flags, const char *what)
{
	int got = fcntl(fd, F_GETFL);

	if (got < 0 || (got & flags) != flags)
		test_fail("%s: flags %#x, want %#x set", what, got, flags);
}

/* The file behind fd is at path (by inode) and holds seed's pattern. */
static void want_file(int fd, const char *path, off_t pos, unsigned seed, const char *what)
{
	unsigned char buf[BLOCK] __attribute__((aligned(BLOCK))); /* O_DIRECT reads */
	struct stat a, b;

	if (fstat(fd, &a) || stat(path, &b) || a.st_ino != b.st_ino || a.st_dev != b.st_dev)
		test_fail("%s: not the file at %s any more", what, path);
	if (lseek(fd, 0, SEEK_CUR) != pos)
		test_fail("%s: offset %lld, want %lld", what, (long long)lseek(fd, 0, SEEK_CUR),
			  (long long)pos);
	if (pread(fd, buf, sizeof(buf), 0) != sizeof(buf) || !test_filled(buf, sizeof(buf), seed))
		test_fail("%s: contents differ", what);
}

int main(int argc, char **argv)
{
	unsigned char *block;
	int direct, nonblock, renamed, indir;

	test_init(argc, argv);
	if (posix_memalign((void **)&block, BLOCK, BLOCK))
		test_fail("posix_memalign");
	test_fill(block, BLOCK, 1);
	direct = open("direct.dat", O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0600);
	if (direct < 0 || write(direct, block, BLOCK) != BLOCK)
		test_fail("O_DIRECT file: %m");
	test_fill(block, BLOCK, 2);
	nonblock = open("nonblock.dat", O_RDWR | O_CREAT | O_TRUNC | O_NONBLOCK, 0600);
	if (nonblock < 0 || write(nonblock, block, BLOCK) != BLOCK ||
	    lseek(nonblock, 100, SEEK_SET) != 100)
		test_fail("O_NONBLOCK file: %m");
	test_fill(block, BLOCK, 3);
	renamed = open("before.dat", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (renamed < 0 || write(renamed, block, BLOCK) != BLOCK ||
	    rename("before.dat", "after.dat"))
		test_fail("renamed file: %m");
	test_fill(block, BLOCK, 4);
	if (mkdir("olddir", 0700))
		test_fail("mkdir: %m");
	indir = open("olddir/inside.dat", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (indir < 0 || write(indir, block, BLOCK) != BLOCK || lseek(indir, 7, SEEK_SET) != 7 ||
	    rename("olddir", "newdir"))
		test_fail("file in a renamed directory: %m");

	test_ready();
	test_wait_stop();

	want_flags(direct, O_DIRECT | O_RDWR, "O_DIRECT file");
	want_file(direct, "direct.dat", BLOCK, 1, "O_DIRECT file");
	want_flags(nonblock, O_NONBLOCK | O_RDWR, "O_NONBLOCK file");
	want_file(nonblock, "nonblock.dat", 100, 2, "O_NONBLOCK file");
	want_file(renamed, "after.dat", BLOCK, 3, "renamed file");
	want_file(indir, "newdir/inside.dat", 7, 4, "file in a renamed directory");
	if (access("before.dat", F_OK) == 0 || access("olddir", F_OK) == 0)
		test_fail("a renamed file came back under its old name");
	/* Direct I/O still works: aligned buffer, aligned offset. */
	test_fill(block, BLOCK, 5);
	if (pwrite(direct, block, BLOCK, BLOCK) != BLOCK)
		test_fail("O_DIRECT write after restore: %m");
	test_pass();
}
