// SPDX-License-Identifier: MIT
/* eventfd: a new one with the saved counter and mode. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fd_restore.h"

static int fd_eventfd_restore(struct fd_restore_ctx *ctx, const Sc__Fd *e, char *err)
{
	int flags = EFD_CLOEXEC | (e->eventfd_semaphore ? EFD_SEMAPHORE : 0) |
		    ((e->flags & O_NONBLOCK) ? EFD_NONBLOCK : 0);
	int fd = eventfd(0, flags);
	uint64_t count = e->eventfd_count;

	/* write() adds the full 64-bit value; eventfd()'s initval is 32-bit. */
	if (fd < 0 || (count && write(fd, &count, sizeof(count)) != sizeof(count))) {
		sc_err(err, "fd %d: eventfd with count %llu: %m", e->fd, (unsigned long long)count);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void fd_eventfd_describe(const Sc__Fd *e, char *buf, size_t len)
{
	snprintf(buf, len, "eventfd, count %llu%s", (unsigned long long)e->eventfd_count,
		 e->eventfd_semaphore ? ", semaphore" : "");
}

int fd_check_eventfd(const struct fd_check_ctx *ctx, const Sc__Fd *f, char *err)
{
	(void)ctx;
	if (!f->has_eventfd_count || f->eventfd_count == UINT64_MAX)
		return sc_err(err, "fd %d: eventfd without a valid count", f->fd);
	return 0;
}

const struct fd_restore_half fd_eventfd_restore_half = {
	.restore = fd_eventfd_restore,
	.describe = fd_eventfd_describe,
};
