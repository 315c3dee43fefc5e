// SPDX-License-Identifier: MIT
/* eventfd: the counter and semaphore mode, from fdinfo. */
#include <errno.h>
#include <string.h>

#include "fd_dump.h"
#include "procparse.h"

static bool fd_eventfd_claims(const struct fd_live *l)
{
	return !strcmp(l->target, "anon_inode:[eventfd]");
}

static int fd_eventfd_dump(struct fd_dump_ctx *ctx, const struct fd_live *l, Sc__Fd *e)
{
	uint64_t count, sem = 0;

	if (pp_fdinfo_field(l->fdinfo, l->fdinfo_len, "eventfd-count:", 16, &count))
		return -EIO;
	/* Older kernels do not say; they are too old for this runtime anyway. */
	pp_fdinfo_field(l->fdinfo, l->fdinfo_len, "eventfd-semaphore:", 10, &sem);
	e->kind = SC__FD_KIND__EVENTFD;
	e->has_eventfd_count = e->has_eventfd_semaphore = true;
	e->eventfd_count = count;
	e->eventfd_semaphore = sem != 0;
	return 0;
}

const struct fd_dump_half fd_eventfd_dump_half = {
	.claims = fd_eventfd_claims,
	.dump = fd_eventfd_dump,
};
