// SPDX-License-Identifier: MIT
/*
 * Descriptors other than files come back as they were: pipes with the
 * bytes buffered in them (one of 200 KiB in an enlarged pipe), a dup'ed
 * end and a dup'ed file still sharing their description (and offset) while
 * a file opened twice does not, non-blocking flags, eventfds
 * with their counter and semaphore mode, and /dev/null, /dev/zero,
 * /dev/urandom.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "zdtm.h"

#define BIG (200 << 10)

static unsigned char pattern(size_t i, unsigned seed)
{
	return (unsigned char)(i * 31 + seed);
}

static void write_pattern(int fd, size_t len, unsigned seed)
{
	unsigned char buf[4096];

	for (size_t off = 0; off < len;) {
		size_t n = len - off < sizeof(buf) ? len - off : sizeof(buf);

		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(off + i, seed);
		if (write(fd, buf, n) != (ssize_t)n)
			test_fail("write to pipe: %m");
		off += n;
	}
}

static void expect_pattern(int fd, size_t from, size_t len, unsigned seed, const char *what)
{
	unsigned char buf[4096];

	for (size_t off = 0; off < len;) {
		size_t want = len - off < sizeof(buf) ? len - off : sizeof(buf);
		ssize_t n = read(fd, buf, want);

		if (n <= 0)
			test_fail("%s: read after %zu of %zu bytes: %s", what, off, len,
				  n ? strerror(errno) : "EOF");
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pattern(from + off + (size_t)i, seed))
				test_fail("%s: byte %zu differs", what, from + off + (size_t)i);
		off += (size_t)n;
	}
}

int main(int argc, char **argv)
{
	int a[2], b[2], c[2], a_dup, ev, sem, devnull, devzero, urandom, file, file_dup, file_alone;
	uint64_t v;
	unsigned char buf[64];

	test_init(argc, argv);
	if (pipe(a) || pipe2(b, O_NONBLOCK) || pipe(c))
		test_fail("pipe: %m");
	write_pattern(a[1], 3000, 1);
	expect_pattern(a[0], 0, 1000, 1, "pipe a before");
	a_dup = dup(a[0]);
	if (fcntl(c[1], F_SETPIPE_SZ, 256 << 10) < 0)
		test_fail("F_SETPIPE_SZ: %m");
	write_pattern(c[1], BIG, 2);
	ev = eventfd(5, EFD_CLOEXEC);
	sem = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
	devnull = open("/dev/null", O_WRONLY);
	devzero = open("/dev/zero", O_RDONLY);
	urandom = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (ev < 0 || sem < 0 || devnull < 0 || devzero < 0 || urandom < 0)
		test_fail("setup: %m");
	/* A file through two descriptors of one description, and a third
	 * opened on its own: only the first two share an offset. */
	file = open("shared.dat", O_RDWR | O_CREAT | O_TRUNC, 0644);
	file_dup = dup(file);
	file_alone = open("shared.dat", O_RDWR);
	if (file < 0 || file_dup < 0 || file_alone < 0 || write(file, "0123456789", 10) != 10)
		test_fail("shared file: %m");

	test_ready();
	test_wait_stop();

	/* 2000 bytes still buffered, read through the dup, then the rest of
	 * the same description through the original: 500 + 1500. */
	expect_pattern(a_dup, 1000, 500, 1, "pipe a (dup)");
	expect_pattern(a[0], 1500, 1500, 1, "pipe a");
	write_pattern(a[1], 10, 9);
	expect_pattern(a[0], 0, 10, 9, "pipe a after restore");
	if (!(fcntl(b[0], F_GETFL) & O_NONBLOCK) || read(b[0], buf, 1) != -1 || errno != EAGAIN)
		test_fail("pipe b: not an empty non-blocking pipe any more");
	if (fcntl(a[0], F_GETFL) & O_NONBLOCK)
		test_fail("pipe a became non-blocking");
	if (fcntl(c[1], F_GETPIPE_SZ) < (256 << 10))
		test_fail("pipe c lost its size");
	expect_pattern(c[0], 0, BIG, 2, "pipe c");
	if (read(ev, &v, 8) != 8 || v != 5)
		test_fail("eventfd: count %llu, expected 5", (unsigned long long)v);
	for (int i = 0; i < 3; i++)
		if (read(sem, &v, 8) != 8 || v != 1)
			test_fail("semaphore eventfd: read %d gave %llu", i, (unsigned long long)v);
	if (read(sem, &v, 8) != -1 || errno != EAGAIN)
		test_fail("semaphore eventfd: not empty (or blocking) after 3 reads");
	if (lseek(file_dup, 0, SEEK_CUR) != 10 || lseek(file_alone, 0, SEEK_CUR) != 0)
		test_fail("shared file: offsets %lld and %lld, expected 10 and 0",
			  (long long)lseek(file_dup, 0, SEEK_CUR), (long long)lseek(file_alone, 0, SEEK_CUR));
	if (write(file, "ab", 2) != 2 || lseek(file_dup, 0, SEEK_CUR) != 12 ||
	    lseek(file_alone, 0, SEEK_CUR) != 0)
		test_fail("shared file: the dup no longer shares the offset");
	if (!(fcntl(urandom, F_GETFD) & FD_CLOEXEC) || (fcntl(devnull, F_GETFD) & FD_CLOEXEC))
		test_fail("close-on-exec flags changed");
	if (write(devnull, buf, sizeof(buf)) != sizeof(buf) || read(devzero, buf, 8) != 8 ||
	    buf[0] | buf[7] || read(urandom, buf, 16) != 16)
		test_fail("devices: %m");
	test_pass();
}
