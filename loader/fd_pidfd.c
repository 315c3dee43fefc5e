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

int fd_pidfd_restore(struct fd_restore_ctx *ctx, const Sc__Fd *e, char *err)
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

void fd_pidfd_describe(const Sc__Fd *e, char *buf, size_t len)
{
	snprintf(buf, len, "pidfd of pid %d%s", e->target_pid, e->flags & O_EXCL ? ", thread" : "");
}
