// SPDX-License-Identifier: MIT
/*
 * Files opened with O_NOFOLLOW come back with it, as sqlite3 and Open MPI
 * open theirs: a temporary file unlinked at once (sqlite3's sort files,
 * Open MPI's /dev/shm/open_mpi.0000), one still linked, and an O_PATH
 * descriptor of a directory. Each has its contents, its offset and its
 * flags as F_GETFL reported them before, and is still the file it was
 * (unlinked, or at its path).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtm.h"

#define SIZE 20000

struct file {
	const char *what;
	int fd, flags;
	off_t pos;
	unsigned seed;
};

static void record(struct file *f, const char *what, int fd, off_t pos, unsigned seed)
{
	f->what = what;
	f->fd = fd;
	f->flags = fcntl(fd, F_GETFL);
	f->pos = pos;
	f->seed = seed;
	if (fd < 0 || f->flags < 0 || !(f->flags & O_NOFOLLOW))
		test_fail("%s: setup: fd %d, flags %#x", what, fd, f->flags);
}

/* A file of SIZE bytes of seed's pattern, at offset pos. */
static int make_file(const char *name, int flags, off_t pos, unsigned seed)
{
	unsigned char buf[SIZE];
	int fd = open(name, flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

	test_fill(buf, sizeof(buf), seed);
	if (fd < 0 || write(fd, buf, sizeof(buf)) != sizeof(buf) || lseek(fd, pos, SEEK_SET) != pos)
		test_fail("%s: %m", name);
	return fd;
}

static void check(const struct file *f)
{
	unsigned char buf[SIZE];
	int flags = fcntl(f->fd, F_GETFL);

	if (flags != f->flags)
		test_fail("%s: flags %#x, want %#x", f->what, flags, f->flags);
	if (lseek(f->fd, 0, SEEK_CUR) != f->pos)
		test_fail("%s: offset %lld, want %lld", f->what,
			  (long long)lseek(f->fd, 0, SEEK_CUR), (long long)f->pos);
	if (pread(f->fd, buf, sizeof(buf), 0) != sizeof(buf) ||
	    !test_filled(buf, sizeof(buf), f->seed))
		test_fail("%s: contents differ", f->what);
}

int main(int argc, char **argv)
{
	struct file tmp, kept, dir;
	struct stat st, at;

	test_init(argc, argv);
	/* sqlite3's way: O_RDWR|O_CREAT|O_EXCL|O_NOFOLLOW, then unlink. */
	record(&tmp, "unlinked temporary file", make_file("etilqs_tmp", O_RDWR, 1234, 1), 1234, 1);
	if (unlink("etilqs_tmp"))
		test_fail("unlink: %m");
	record(&kept, "linked file", make_file("kept.dat", O_RDWR | O_APPEND, 777, 2), 777, 2);
	if (mkdir("sub", 0700))
		test_fail("mkdir: %m");
	record(&dir, "O_PATH directory", open("sub", O_PATH | O_DIRECTORY | O_NOFOLLOW), 0, 0);

	test_ready();
	test_wait_stop();

	check(&tmp);
	check(&kept);
	if (fstat(tmp.fd, &st) || st.st_nlink != 0 || !S_ISREG(st.st_mode))
		test_fail("unlinked temporary file: nlink %lu", (unsigned long)st.st_nlink);
	if (fstat(kept.fd, &st) || stat("kept.dat", &at) || st.st_ino != at.st_ino)
		test_fail("linked file: not kept.dat any more");
	/* At the end, wherever the offset was (in leave mode the original
	 * appends to the same file). */
	if (write(kept.fd, "more", 4) != 4 || fstat(kept.fd, &st) ||
	    lseek(kept.fd, 0, SEEK_CUR) != st.st_size || st.st_size < SIZE + 4)
		test_fail("linked file: an O_APPEND write went elsewhere");
	if (fcntl(dir.fd, F_GETFL) != dir.flags)
		test_fail("O_PATH directory: flags %#x, want %#x", fcntl(dir.fd, F_GETFL),
			  dir.flags);
	if (fstat(dir.fd, &st) || stat("sub", &at) || st.st_ino != at.st_ino ||
	    !S_ISDIR(st.st_mode))
		test_fail("O_PATH directory: not sub any more");
	test_pass();
}
