// SPDX-License-Identifier: MIT
/* signalfd: the signal mask, from fdinfo. */
#include <errno.h>
#include <string.h>

#include "fd_dump.h"
#include "procparse.h"

static bool fd_signalfd_claims(const struct fd_live *l)
{
	return !strcmp(l->target, "anon_inode:[signalfd]");
}

static int fd_signalfd_dump(struct fd_dump_ctx *ctx, const struct fd_live *l, Sc__Fd *e)
{
	e->kind = SC__FD_KIND__SIGNALFD;
	e->has_sigmask = true;
	return pp_fdinfo_field(l->fdinfo, l->fdinfo_len, "sigmask:", 16, &e->sigmask) ? -EIO : 0;
}

const struct fd_dump_half fd_signalfd_dump_half = {
	.claims = fd_signalfd_claims,
	.dump = fd_signalfd_dump,
};
