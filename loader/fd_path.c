// SPDX-License-Identifier: MIT
/* Files, directories and devices, reopened by path and seeked. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fd_restore.h"

/* The files an inotify instance watched are still there. */
static int watches_preflight(const Sc__Fd *e, char *err)
{
	for (size_t i = 0; i < e->n_watches; i++) {
		const Sc__InotifyWatch *w = e->watches[i];
		struct stat st;

		if (fstatat(AT_FDCWD, w->path, &st, w->dont_follow ? AT_SYMLINK_NOFOLLOW : 0)) {
			snprintf(err, SC_ERR_LEN, "fd %d: inotify watch %d: %.256s: %s", e->fd,
				 w->wd, w->path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/*
 * Before any process exists: every file reopened by path (or watched by
 * inotify) is still there,
 * and none changed in a way that restoring would lose or corrupt data: a
 * file shorter than the offset the process has read or written up to, or
 * a file it writes that changed size since (someone else wrote it, or the
 * original ran on after the checkpoint).
 */
int fd_path_preflight(const Sc__Fds *fds, bool allow_changed, char *err)
{
	for (size_t i = 0; i < fds->n_fds; i++) {
		const Sc__Fd *e = fds->fds[i];
		bool writer = (e->flags & O_ACCMODE) != O_RDONLY;
		struct stat st;

		if (!e->has_dup_of && e->kind == SC__FD_KIND__INOTIFY && watches_preflight(e, err))
			return -1;
		if (e->has_dup_of || (e->kind != SC__FD_KIND__REG && e->kind != SC__FD_KIND__DIR &&
				      e->kind != SC__FD_KIND__CHR))
			continue;
		if (stat(e->path, &st)) {
			snprintf(err, SC_ERR_LEN, "fd %d: %.256s: %s", e->fd, e->path, strerror(errno));
			return -1;
		}
		if (e->kind != SC__FD_KIND__REG || !e->has_size || allow_changed)
			continue;
		if ((uint64_t)st.st_size < e->pos || (writer && (uint64_t)st.st_size != e->size)) {
			snprintf(err, SC_ERR_LEN,
				 "fd %d: %.256s changed since the checkpoint (%lld bytes, was %llu, "
				 "offset %llu); --allow-changed-files restores anyway",
				 e->fd, e->path, (long long)st.st_size, (unsigned long long)e->size,
				 (unsigned long long)e->pos);
			return -1;
		}
	}
	return 0;
}

int fd_reopen_flags(const Sc__Fd *e, bool through_proc)
{
	int flags = (int)e->flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY);

	if ((flags & O_TMPFILE) == O_TMPFILE)
		flags &= ~O_TMPFILE;
	if (through_proc)
		flags &= ~O_NOFOLLOW;
	return flags | O_CLOEXEC;
}

int fd_path_restore(struct fd_restore_ctx *ctx, const Sc__Fd *e, char *err)
{
	int flags = fd_reopen_flags(e, false);
	int fd = open(e->path, flags);

	if (fd < 0) {
		snprintf(err, SC_ERR_LEN, "fd %d: %s: %s", e->fd, e->path, strerror(errno));
		return -1;
	}
	/* An O_PATH descriptor has no offset to set (EBADF). */
	if (e->has_pos && !(flags & O_PATH) && lseek(fd, (off_t)e->pos, SEEK_SET) < 0) {
		snprintf(err, SC_ERR_LEN, "fd %d: %s: cannot seek to %llu", e->fd, e->path,
			 (unsigned long long)e->pos);
		close(fd);
		return -1;
	}
	return fd;
}

void fd_path_describe(const Sc__Fd *e, char *buf, size_t len)
{
	if (e->has_pos)
		snprintf(buf, len, "%s at offset %llu", e->path, (unsigned long long)e->pos);
	else
		snprintf(buf, len, "%s", e->path);
}
