// SPDX-License-Identifier: MIT
/*
 * Locks held at checkpoint time, taken again through the same descriptors.
 * This runs last, once crload has closed every file it opened for the
 * restore: closing any descriptor of a file drops the process's POSIX
 * locks on it. A lock someone else holds now is a clear error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>

#include "fd_restore.h"

static int take(const Sc__Fd *e, const Sc__FileLock *l)
{
	struct flock fl = {
		.l_type = l->write ? F_WRLCK : F_RDLCK,
		.l_whence = SEEK_SET,
		.l_start = (off_t)l->start,
		.l_len = l->has_end ? (off_t)(l->end - l->start + 1) : 0,
	};

	switch (l->type) {
	case SC__FILE_LOCK__TYPE__POSIX:
		return fcntl(e->fd, F_SETLK, &fl);
	case SC__FILE_LOCK__TYPE__OFD:
		return fcntl(e->fd, F_OFD_SETLK, &fl);
	case SC__FILE_LOCK__TYPE__FLOCK:
		return flock(e->fd, (l->write ? LOCK_EX : LOCK_SH) | LOCK_NB);
	default:
		errno = EINVAL;
		return -1;
	}
}

int fd_locks_restore(const Sc__Fds *fds, char *err)
{
	for (size_t i = 0; i < fds->n_fds; i++) {
		const Sc__Fd *e = fds->fds[i];

		for (size_t j = 0; j < e->n_locks; j++) {
			if (take(e, e->locks[j]) == 0)
				continue;
			sc_err(err, "fd %d: cannot lock %.256s again: %s", e->fd,
			       e->path ? e->path : "?",
			       errno == EAGAIN || errno == EACCES || errno == EWOULDBLOCK
				       ? "another process holds a conflicting lock"
				       : strerror(errno));
			return -1;
		}
	}
	return 0;
}
