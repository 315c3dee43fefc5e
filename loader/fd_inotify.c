// SPDX-License-Identifier: MIT
/*
 * inotify: a new instance with every watch at its old wd. The kernel hands
 * out wds cyclically (the lowest free one from just after the last given),
 * so a scratch watch added and removed moves the next wd on by one; the
 * IN_IGNORED events those removals queue are read away before the app
 * gets the descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "fd_restore.h"

/* Reads every queued event away; the descriptor is non-blocking here. */
static void drain(int fd)
{
	char buf[64 * 1024];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* Moves the next wd of fd on to want; *next is the one it would give. */
static int advance(int fd, int scratch, int *next, int want, const Sc__Fd *e, char *err)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", scratch);
	while (*next < want) {
		int t = inotify_add_watch(fd, path, IN_DELETE_SELF);

		if (t != *next || inotify_rm_watch(fd, t)) {
			sc_err(err, "fd %d: moving to wd %d: got %d (%s)", e->fd, want, t,
			       t < 0 ? strerror(errno) : "not the next");
			return -1;
		}
		*next = t + 1;
		/* The queue holds 16384 events by default. */
		if (!(t % 8192))
			drain(fd);
	}
	return 0;
}

static int fd_inotify_restore(struct fd_restore_ctx *ctx, const Sc__Fd *e, char *err)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC), scratch[2] = { -1, -1 }, next = 1;
	int ret = -1;

	if (fd < 0 || pipe2(scratch, O_CLOEXEC)) {
		sc_err(err, "fd %d: inotify: %s", e->fd, strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < e->n_watches; i++) {
		const Sc__InotifyWatch *w = e->watches[i];
		uint32_t mask = w->mask | (w->dont_follow ? IN_DONT_FOLLOW : 0);
		int wd;

		if (advance(fd, scratch[0], &next, w->wd, e, err))
			goto out;
		wd = inotify_add_watch(fd, w->path, mask);
		if (wd < 0) {
			sc_err(err, "fd %d: inotify watch %d: %.256s: %s", e->fd, w->wd, w->path,
			       strerror(errno));
			goto out;
		}
		if (wd != w->wd) {
			sc_err(err, "fd %d: inotify watch %d: %.256s is now the file of watch %d",
			       e->fd, w->wd, w->path, wd);
			goto out;
		}
		next = wd + 1;
	}
	drain(fd);
	if (fcntl(fd, F_SETFL, (int)e->flags & O_NONBLOCK) < 0) {
		sc_err(err, "fd %d: %s", e->fd, strerror(errno));
		goto out;
	}
	ret = fd;
out:
	if (scratch[0] >= 0) {
		close(scratch[0]);
		close(scratch[1]);
	}
	if (ret < 0 && fd >= 0)
		close(fd);
	return ret;
}

static void fd_inotify_describe(const Sc__Fd *e, char *buf, size_t len)
{
	int n = snprintf(buf, len, "inotify, %zu watch%s", e->n_watches,
			 e->n_watches == 1 ? "" : "es");

	for (size_t i = 0; i < e->n_watches && n > 0 && (size_t)n < len; i++)
		n += snprintf(buf + n, len - (size_t)n, "%s wd %d %s (mask %#x%s)", i ? "," : ":",
			      e->watches[i]->wd, e->watches[i]->path, e->watches[i]->mask,
			      e->watches[i]->dont_follow ? ", the symlink itself" : "");
}

/* INOTIFY: watches in ascending wd order, each restorable. */
int fd_check_inotify(const struct fd_check_ctx *ctx, const Sc__Fd *f, char *err)
{
	const uint32_t flags = IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK;

	(void)ctx;
	for (size_t j = 0; j < f->n_watches; j++) {
		const Sc__InotifyWatch *w = f->watches[j];

		if (w->wd <= 0 || (j && w->wd <= f->watches[j - 1]->wd) || !w->path ||
		    w->path[0] != '/' || (w->mask & ~flags) || !(w->mask & IN_ALL_EVENTS))
			return sc_err(err, "fd %d: inotify watch %zu is malformed", f->fd, j);
	}
	return 0;
}

const struct fd_restore_half fd_inotify_restore_half = {
	.restore = fd_inotify_restore,
	.describe = fd_inotify_describe,
};
