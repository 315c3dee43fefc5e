// SPDX-License-Identifier: MIT
/*
 * An inotify instance comes back with its watches at the same wds (some
 * added and removed first, so they are not 1, 2, 3), on the same files
 * with the same masks: a watch on a directory, one on a file renamed
 * since (its recorded path is stale: found by file handle), one added
 * with the raw syscall (never recorded), one on a symlink itself
 * (IN_DONT_FOLLOW). After restore, events arrive with the right wd and
 * mask, and no IN_IGNORED from the restore's scratch watches shows up.
 * Leave-running, the original's own events reach the copy too: those are
 * fine as long as their wd is one of ours.
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "zdtm.h"

static int wd_dir, wd_file, wd_raw, wd_link;

static void touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);

	if (fd < 0 || write(fd, "x", 1) != 1 || close(fd))
		test_fail("%s: %m", path);
}

/* Reads events until one on wd with mask (and name, if given) arrives;
 * what came after it in the same read is kept for the next call. */
static void expect_event(int ifd, int wd, uint32_t mask, const char *name)
{
	static char buf[4096] __attribute__((aligned(8)));
	static ssize_t len, pos;
	struct pollfd p = { .fd = ifd, .events = POLLIN };

	for (;;) {
		if (pos == len) {
			if (poll(&p, 1, 3000) != 1)
				test_fail("no event %#x on wd %d%s%s", mask, wd, name ? " for " : "",
					  name ? name : "");
			len = read(ifd, buf, sizeof(buf));
			pos = 0;
			if (len <= 0)
				test_fail("inotify read: %m");
		}
		const struct inotify_event *ev = (const void *)(buf + pos);

		pos += (ssize_t)(sizeof(*ev) + ev->len);
		if (ev->mask & (IN_IGNORED | IN_Q_OVERFLOW))
			test_fail("unexpected event %#x on wd %d", ev->mask, ev->wd);
		if (ev->wd != wd_dir && ev->wd != wd_file && ev->wd != wd_raw && ev->wd != wd_link)
			test_fail("event %#x on unknown wd %d", ev->mask, ev->wd);
		if (ev->wd == wd && (ev->mask & mask) &&
		    (!name || (ev->len && !strcmp(ev->name, name))))
			return;
	}
}

int main(int argc, char **argv)
{
	char name[64], path[96];
	int ifd, tmp;

	test_init(argc, argv);
	mkdir("watched.d", 0700);
	mkdir("extra.d", 0700);
	touch("watched.f");
	touch("raw.f");
	unlink("link");
	if (symlink("raw.f", "link"))
		test_fail("symlink: %m");
	ifd = inotify_init1(IN_NONBLOCK);
	if (ifd < 0)
		test_fail("inotify_init1: %m");
	/* wd 1 and 4 come and go: the kept ones are 2, 3, 5 and 6. */
	tmp = inotify_add_watch(ifd, "extra.d", IN_CREATE);
	wd_file = inotify_add_watch(ifd, "watched.f", IN_MODIFY | IN_CLOSE_WRITE | IN_MOVE_SELF);
	inotify_rm_watch(ifd, tmp);
	wd_dir = inotify_add_watch(ifd, "watched.d", IN_CREATE | IN_DELETE | IN_MOVED_TO);
	tmp = inotify_add_watch(ifd, "extra.d", IN_CREATE);
	inotify_rm_watch(ifd, tmp);
	wd_raw = (int)syscall(SYS_inotify_add_watch, ifd, "raw.f", IN_MODIFY);
	wd_link = inotify_add_watch(ifd, "link", IN_ATTRIB | IN_DONT_FOLLOW);
	if (wd_file != 2 || wd_dir != 3 || wd_raw != 5 || wd_link != 6)
		test_fail("wds %d %d %d %d, wanted 2 3 5 6", wd_file, wd_dir, wd_raw, wd_link);
	/* The IN_IGNORED of the two removed watches: read away. */
	while (read(ifd, path, sizeof(path)) > 0)
		;
	if (rename("watched.f", "moved.f"))
		test_fail("rename: %m");
	expect_event(ifd, wd_file, IN_MOVE_SELF, NULL);

	test_ready();
	test_wait_stop();

	/* A name of our own: leave-running, the original acts here too. */
	snprintf(name, sizeof(name), "new.%lx", (long)time(NULL) ^ (long)clock());
	snprintf(path, sizeof(path), "watched.d/%s", name);
	touch(path);
	expect_event(ifd, wd_dir, IN_CREATE, name);
	touch("moved.f");
	expect_event(ifd, wd_file, IN_MODIFY, NULL);
	expect_event(ifd, wd_file, IN_CLOSE_WRITE, NULL);
	touch("raw.f");
	expect_event(ifd, wd_raw, IN_MODIFY, NULL);
	if (utimensat(AT_FDCWD, "link", NULL, AT_SYMLINK_NOFOLLOW))
		test_fail("utimensat: %m");
	expect_event(ifd, wd_link, IN_ATTRIB, NULL);
	if (!(fcntl(ifd, F_GETFL) & O_NONBLOCK))
		test_fail("O_NONBLOCK lost");
	unlink(path);
	test_pass();
}
