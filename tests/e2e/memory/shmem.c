// SPDX-License-Identifier: MIT
/*
 * Memory shared between views stays shared: a memfd both mapped and held
 * as a descriptor (and opened a second time), an unlinked file mapped
 * shared through its descriptor, and anonymous shared memory mapped twice
 * (mremap of size 0). A write through one view must show through the
 * others after restore, and the contents from before are intact.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtm.h"

#define LEN (4 * 4096)

/* A write through the mapping reaches the descriptor and back. */
static void check_file_view(const char *what, int fd, unsigned char *map, unsigned seed)
{
	unsigned char b[8];

	if (!test_filled(map, LEN, seed))
		test_fail("%s: contents lost", what);
	map[100] = 0xa5;
	if (pread(fd, b, 1, 100) != 1 || b[0] != 0xa5)
		test_fail("%s: a write through the mapping is not in the file", what);
	if (pwrite(fd, "\x5a", 1, 200) != 1 || map[200] != 0x5a)
		test_fail("%s: a write to the file is not in the mapping", what);
}

int main(int argc, char **argv)
{
	unsigned char *mmfd, *mghost, *anon, *alias;
	unsigned char b;
	char path[64];
	int mfd, mfd2, ghost;

	test_init(argc, argv);
	mfd = memfd_create("shared-view", 0);
	if (mfd < 0 || ftruncate(mfd, LEN))
		test_fail("memfd: %m");
	mmfd = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
	mfd2 = open(path, O_RDONLY);
	ghost = open("ghost.dat", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (ghost < 0 || ftruncate(ghost, LEN) || unlink("ghost.dat"))
		test_fail("unlinked file: %m");
	mghost = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, ghost, 0);
	anon = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mmfd == MAP_FAILED || mfd2 < 0 || mghost == MAP_FAILED || anon == MAP_FAILED)
		test_fail("mmap: %m");
	alias = mremap(anon, 0, LEN, MREMAP_MAYMOVE);
	if (alias == MAP_FAILED)
		test_fail("mremap: %m");
	test_fill(mmfd, LEN, 1);
	test_fill(mghost, LEN, 2);
	test_fill(anon, LEN, 3);

	test_ready();
	test_wait_stop();

	check_file_view("memfd", mfd, mmfd, 1);
	if (pread(mfd2, &b, 1, 100) != 1 || b != 0xa5)
		test_fail("memfd opened twice: not one file any more");
	check_file_view("unlinked file", ghost, mghost, 2);
	if (!test_filled(alias, LEN, 3))
		test_fail("anonymous shared memory: contents lost");
	anon[300] = 0x77;
	if (alias[300] != 0x77)
		test_fail("anonymous shared memory: its two mappings are no longer one");
	test_pass();
}
