// SPDX-License-Identifier: MIT
/*
 * File descriptors, their offsets and flags across a checkpoint, and a
 * batch job's output.
 *
 * seq.txt is opened O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC (no O_APPEND) and
 * moved to fd 17; log.txt is opened O_WRONLY|O_CREAT|O_APPEND and moved to
 * fd 23 (no FD_CLOEXEC). Both, and stdout, get numbered fixed-width lines.
 * After the stop request:
 *   - fd 17 and fd 23 are still those files, with the same access mode,
 *     O_APPEND only on fd 23, FD_CLOEXEC only on fd 17;
 *   - fd 17's offset is exactly where this process's own count of lines
 *     says, and seq.txt holds lines 1..M in order, no gap, no duplicate
 *     (a restore that reopened it with O_TRUNC, or at the wrong offset,
 *     leaves a hole of zeros or a misplaced line);
 *   - with no other writer M equals our count, both offsets equal the
 *     file sizes, and log.txt and stdout (when it is a file) hold exactly
 *     lines 1..M too: what an uninterrupted run writes.
 *
 * In kill-then-restore the original may write a few lines past the
 * checkpoint before it dies; crload cuts the files back to their size at
 * the checkpoint and the restored process writes those lines again.
 * In leave-running the original and the copy write the same files side by
 * side, and the copy's crload cuts them back under the original's feet:
 * seq.txt may hold more lines than one of them wrote, and holes (zeros)
 * where the original wrote past the cut and the copy has not caught up
 * yet. The "no other writer" checks are skipped, and log.txt and stdout
 * (two sequences appended together) are not read, when another process
 * has seq.txt open (the original, while the copy runs) or when we are the
 * copy (restored beside the original, in a new pid namespace).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtm.h"

#define SEQ_FD 17
#define LOG_FD 23
#define LINE 16 /* "%015llu\n" */

static int open_at(const char *path, int flags, int want_fd)
{
	int fd = open(path, flags, 0644);

	if (fd < 0)
		test_fail("open %s: %m", path);
	if (dup3(fd, want_fd, flags & O_CLOEXEC) != want_fd)
		test_fail("dup3 to %d: %m", want_fd);
	close(fd);
	return want_fd;
}

static void write_line(int fd, unsigned long long n)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%015llu\n", n);
	if (write(fd, buf, LINE) != LINE)
		test_fail("write to fd %d: %m", fd);
}

/* Does a process other than us have a descriptor on (dev, ino)? */
static bool other_writer(dev_t dev, ino_t ino)
{
	char self[32] = "", path[600];
	DIR *proc = opendir("/proc");
	struct dirent *p;
	bool found = false;
	ssize_t n = readlink("/proc/self", self, sizeof(self) - 1);

	if (n > 0)
		self[n] = 0;
	if (!proc)
		return false;
	while (!found && (p = readdir(proc))) {
		DIR *fds;
		struct dirent *f;

		if (p->d_name[0] < '0' || p->d_name[0] > '9' || !strcmp(p->d_name, self))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fd", p->d_name);
		fds = opendir(path);
		if (!fds)
			continue;
		while (!found && (f = readdir(fds))) {
			struct stat st;

			snprintf(path, sizeof(path), "/proc/%s/fd/%s", p->d_name, f->d_name);
			if (f->d_name[0] != '.' && !stat(path, &st) && st.st_dev == dev &&
			    st.st_ino == ino)
				found = true;
		}
		closedir(fds);
	}
	closedir(proc);
	return found;
}

/* Lines 1..m of name (read through path), in order; with another writer
 * a line may be a hole it has not written yet. */
static void check_lines(const char *name, const char *path, unsigned long long m, bool alone)
{
	static const char hole[LINE];
	char *buf = malloc(LINE * m + 1);
	FILE *f = fopen(path, "re");

	if (!buf || !f || fread(buf, 1, LINE * m, f) != LINE * m)
		test_fail("cannot read %s back", name);
	fclose(f);
	for (unsigned long long i = 0; i < m; i++) {
		char want[32];

		snprintf(want, sizeof(want), "%015llu\n", i + 1);
		if (memcmp(buf + i * LINE, want, LINE) &&
		    (alone || memcmp(buf + i * LINE, hole, LINE)))
			test_fail("%s line %llu is \"%.*s\", expected %llu", name, i + 1, LINE - 1,
				  buf + i * LINE, i + 1);
	}
	free(buf);
}

/* Alone: what an uninterrupted run writes, lines 1..n and nothing more. */
static void check_exactly(const char *name, const char *path, off_t size, unsigned long long n)
{
	if (size != (off_t)(n * LINE))
		test_fail("%s has %lld bytes, not the %llu lines written", name, (long long)size,
			  n);
	check_lines(name, path, n, true);
}

static void pidns(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/ns/pid", buf, len - 1);

	buf[n > 0 ? n : 0] = 0;
}

static void check_fd(int fd, const char *path, bool append, bool cloexec)
{
	struct stat a, b;
	int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);

	if (fl < 0 || fdfl < 0)
		test_fail("fd %d is gone: %m", fd);
	if (fstat(fd, &a) || stat(path, &b))
		test_fail("stat %s: %m", path);
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		test_fail("fd %d is not %s any more", fd, path);
	if ((fl & O_ACCMODE) != O_WRONLY)
		test_fail("fd %d: access mode %#o, expected O_WRONLY", fd, fl & O_ACCMODE);
	if (!!(fl & O_APPEND) != append)
		test_fail("fd %d: O_APPEND is %s", fd, append ? "lost" : "set");
	if (!!(fdfl & FD_CLOEXEC) != cloexec)
		test_fail("fd %d: FD_CLOEXEC is %s", fd, cloexec ? "lost" : "set");
}

int main(int argc, char **argv)
{
	unsigned long long n = 0, m;
	struct stat st;
	off_t off;
	char ns_before[64], ns_after[64];
	bool alone;

	test_init(argc, argv);
	pidns(ns_before, sizeof(ns_before));
	open_at("seq.txt", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, SEQ_FD);
	open_at("log.txt", O_WRONLY | O_CREAT | O_APPEND, LOG_FD);
	check_fd(SEQ_FD, "seq.txt", false, true);
	check_fd(LOG_FD, "log.txt", true, false);
	for (int i = 0; i < 10; i++) {
		write_line(SEQ_FD, ++n);
		write_line(LOG_FD, n);
		write_line(STDOUT_FILENO, n);
	}
	test_ready();
	while (!test_stopping()) {
		write_line(SEQ_FD, ++n);
		write_line(LOG_FD, n);
		write_line(STDOUT_FILENO, n);
		usleep(2000);
	}

	check_fd(SEQ_FD, "seq.txt", false, true);
	check_fd(LOG_FD, "log.txt", true, false);
	off = lseek(SEQ_FD, 0, SEEK_CUR);
	if (off != (off_t)(n * LINE))
		test_fail("seq.txt offset %lld, expected %llu after %llu lines", (long long)off,
			  n * LINE, n);
	if (fstat(SEQ_FD, &st))
		test_fail("fstat: %m");
	pidns(ns_after, sizeof(ns_after));
	alone = !strcmp(ns_before, ns_after) && !other_writer(st.st_dev, st.st_ino);
	if (st.st_size % LINE)
		test_fail("seq.txt size %lld is not a whole number of lines",
			  (long long)st.st_size);
	m = (unsigned long long)st.st_size / LINE;
	if (m < n || (alone && m != n))
		test_fail("seq.txt holds %llu lines, we wrote %llu%s", m, n,
			  alone ? " and nobody else has it open" : "");

	check_lines("seq.txt", "seq.txt", m, alone);
	/* The O_APPEND descriptor writes at the end, whatever its offset was. */
	if (fstat(LOG_FD, &st))
		test_fail("fstat: %m");
	off = lseek(LOG_FD, 0, SEEK_CUR);
	if (alone && off != st.st_size)
		test_fail("log.txt offset %lld, size %lld", (long long)off, (long long)st.st_size);
	if (st.st_size < (off_t)(n * LINE))
		test_fail("log.txt has %lld bytes, fewer than the %llu lines written",
			  (long long)st.st_size, n);
	if (alone)
		check_exactly("log.txt", "log.txt", st.st_size, n);
	if (alone && !fstat(STDOUT_FILENO, &st) && S_ISREG(st.st_mode))
		check_exactly("stdout", "/proc/self/fd/1", st.st_size, n);
	printf("%llu lines, %s\n", n, alone ? "sole writer" : "another writer present");
	test_pass();
}
