// SPDX-License-Identifier: MIT
/* pidfd: opened again of the process it referred to, which is this one
 * or one of its children, each restored with its own pid and forked
 * before the descriptors are made. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd_restore.h"

/* pidfd_open's flags as fdinfo shows them: PIDFD_NONBLOCK is O_NONBLOCK,
 * PIDFD_THREAD (Linux 6.9) is O_EXCL. */
#define PIDFD_FLAGS (O_NONBLOCK | O_EXCL)

static int fd_pidfd_restore(struct fd_restore_ctx *ctx, const Sc__Fd *e, char *err)
{
	siginfo_t si;
	int fd;

	(void)ctx;
	fd = (int)syscall(SYS_pidfd_open, e->target_pid, e->flags & PIDFD_FLAGS);
	if (fd < 0) {
		sc_err(err, "fd %d: pidfd of pid %d: %m", e->fd, e->target_pid);
		return -1;
	}
	/* Only its parent may wait for a child: another process that took
	 * the pid is refused, and a child cannot be reaped and its pid
	 * taken between the open and this check, as no one else waits. */
	if (e->target_pid != getpid() &&
	    waitid(P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG | WNOWAIT)) {
		sc_err(err, "fd %d: pid %d is neither this process nor one of its children", e->fd,
		       e->target_pid);
		close(fd);
		return -1;
	}
	return fd;
}

static void fd_pidfd_describe(const Sc__Fd *e, char *buf, size_t len)
{
	snprintf(buf, len, "pidfd of pid %d%s", e->target_pid, e->flags & O_EXCL ? ", thread" : "");
}

/* PIDFD: a process to open it of again. */
int fd_check_pidfd(const struct fd_check_ctx *ctx, const Sc__Fd *f, char *err)
{
	(void)ctx;
	if (!f->has_target_pid || f->target_pid <= 0)
		return sc_err(err, "fd %d: a pidfd without its process", f->fd);
	return 0;
}

const struct fd_restore_half fd_pidfd_restore_half = {
	.restore = fd_pidfd_restore,
	.describe = fd_pidfd_describe,
};
