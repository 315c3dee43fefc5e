// SPDX-License-Identifier: MIT
/*
 * Files that exist only in the process come back: a file unlinked after
 * open (contents, offset, flags, still unlinked) and a memfd (name,
 * contents, offset, seals).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtm.h"

int main(int argc, char **argv)
{
	unsigned char buf[10000], back[10000];
	char link[256];
	struct stat st;
	int ghost, mfd;
	ssize_t n;

	test_init(argc, argv);
	test_fill(buf, sizeof(buf), 3);
	ghost = open("ghost.dat", O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0640);
	if (ghost < 0 || write(ghost, buf, sizeof(buf)) != sizeof(buf) ||
	    lseek(ghost, 5000, SEEK_SET) != 5000 || unlink("ghost.dat"))
		test_fail("ghost setup: %m");
	mfd = memfd_create("selfckpt-test", MFD_ALLOW_SEALING);
	if (mfd < 0 || write(mfd, buf, 3000) != 3000 || lseek(mfd, 1000, SEEK_SET) != 1000 ||
	    fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW))
		test_fail("memfd setup: %m");

	test_ready();
	test_wait_stop();

	if (fstat(ghost, &st) || st.st_nlink != 0 || st.st_size != sizeof(buf) ||
	    (st.st_mode & 0777) != 0640)
		test_fail("unlinked file: nlink %lu, size %lld, mode %o", (unsigned long)st.st_nlink,
			  (long long)st.st_size, st.st_mode & 0777);
	if (lseek(ghost, 0, SEEK_CUR) != 5000)
		test_fail("unlinked file: offset moved");
	if (!(fcntl(ghost, F_GETFL) & O_APPEND))
		test_fail("unlinked file: O_APPEND lost");
	n = pread(ghost, back, sizeof(back), 0);
	if (n != sizeof(back) || memcmp(buf, back, sizeof(buf)))
		test_fail("unlinked file: contents differ");
	if (write(ghost, "end", 3) != 3 || fstat(ghost, &st) || st.st_size != sizeof(buf) + 3)
		test_fail("unlinked file: append failed");

	snprintf(link, sizeof(link), "/proc/self/fd/%d", mfd);
	n = readlink(link, (char *)back, sizeof(back) - 1);
	if (n < 0 || strncmp((char *)back, "/memfd:selfckpt-test", 20))
		test_fail("memfd: name lost");
	if (fcntl(mfd, F_GET_SEALS) != (F_SEAL_SHRINK | F_SEAL_GROW))
		test_fail("memfd: seals %#x", fcntl(mfd, F_GET_SEALS));
	if (ftruncate(mfd, 10) == 0 || errno != EPERM)
		test_fail("memfd: could shrink a sealed memfd");
	if (lseek(mfd, 0, SEEK_CUR) != 1000)
		test_fail("memfd: offset moved");
	if (pread(mfd, back, 3000, 0) != 3000 || memcmp(buf, back, 3000))
		test_fail("memfd: contents differ");
	test_pass();
}
