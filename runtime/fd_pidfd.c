// SPDX-License-Identifier: MIT
/* pidfd: the pid of the process it refers to, from fdinfo. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "fd_dump.h"
#include "procparse.h"

static bool fd_pidfd_claims(const struct fd_live *l)
{
	return !strcmp(l->target, "anon_inode:[pidfd]");
}

/* pid is a child of parent: a process (a thread group's leader, which a
 * thread's pidfd may not be) whose parent it is. */
static bool child_of(uint64_t pid, int parent)
{
	char path[64];
	uint64_t tgid, ppid;
	size_t len;
	char *status;

	rt_stpcpy(rt_fmt_u64(rt_stpcpy(path, "/proc/"), pid), "/status");
	status = rt_read_file(path, &len);
	return status && !pp_fdinfo_field(status, len, "Tgid:", 10, &tgid) && tgid == pid &&
	       !pp_fdinfo_field(status, len, "PPid:", 10, &ppid) && ppid == (uint64_t)parent;
}

static int fd_pidfd_dump(struct fd_dump_ctx *ctx, const struct fd_live *l, Sc__Fd *e)
{
	uint64_t pid;

	e->kind = SC__FD_KIND__PIDFD;
	/* "Pid: -1" once the process is reaped, 0 when it is in a pid
	 * namespace this /proc does not see: nothing to open one of again. */
	if (pp_fdinfo_field(l->fdinfo, l->fdinfo_len, "Pid:", 10, &pid) || pid == 0 ||
	    pid > INT32_MAX) {
		rt_stpcpy(fd_why(ctx, e), "a pidfd of a process that is gone");
		return -ESRCH;
	}
	/* The restore opens it of the process as restored: only the process
	 * itself and its children (zombies too) are always in the image, and
	 * exist when its descriptors are made. */
	if (pid != (uint64_t)ctx->pid && !child_of(pid, ctx->pid)) {
		rt_stpcpy(fd_why(ctx, e),
			  "a pidfd of a process that is neither this one nor one of its children");
		return -EOPNOTSUPP;
	}
	e->has_target_pid = true;
	e->target_pid = (int32_t)pid;
	return 0;
}

const struct fd_dump_half fd_pidfd_dump_half = {
	.claims = fd_pidfd_claims,
	.dump = fd_pidfd_dump,
};
