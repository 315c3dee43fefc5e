// SPDX-License-Identifier: MIT
/* signalfd: the signal mask, from fdinfo. */
#include <errno.h>
#include <string.h>

#include "fd_dump.h"
#include "procparse.h"

bool fd_signalfd_claims(const struct fd_live *l)
{
	return !strcmp(l->target, "anon_inode:[signalfd]");
}

int fd_signalfd_dump(struct fd_dump_ctx *ctx, const struct fd_live *l, Sc__Fd *e)
{
	e->kind = SC__FD_KIND__SIGNALFD;
	e->has_sigmask = true;
	return pp_fdinfo_field(l->fdinfo, l->fdinfo_len, "sigmask:", 16, &e->sigmask) ? -EIO : 0;
}
