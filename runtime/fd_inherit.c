// SPDX-License-Identifier: MIT
/*
 * Standard streams on a terminal, a pipe or a socket: the restored process
 * takes crload's own, as a job restarted from a shell would.
 */
#include "fd_dump.h"

/* Terminals: /dev/tty*, /dev/console, ptys (majors 4, 5, 136-143). */
static bool is_terminal(const struct stat *st)
{
	unsigned major = (unsigned)(st->st_rdev >> 8) & 0xfff;

	return S_ISCHR(st->st_mode) && (major == 4 || major == 5 || (major >= 136 && major <= 143));
}

bool fd_inherit_claims(const struct fd_live *l)
{
	return l->fd <= 2 &&
	       (is_terminal(&l->st) || S_ISFIFO(l->st.st_mode) || S_ISSOCK(l->st.st_mode));
}

int fd_inherit_dump(struct fd_dump_ctx *ctx, const struct fd_live *l, Sc__Fd *e)
{
	e->kind = SC__FD_KIND__INHERIT;
	return 0;
}
