// SPDX-License-Identifier: MIT
/*
 * Standard streams on a pipe or a socket: the restored process takes
 * crload's own, as a job restarted from a shell would. Standard streams
 * on a terminal end up INHERIT too, through fd_tty.c.
 */
#include "fd_dump.h"

/* A pipe between processes of a tree is theirs, not crload's (tree.c). */
static bool fd_inherit_claims(const struct fd_live *l)
{
	return l->num <= 2 && (S_ISFIFO(l->st.st_mode) || S_ISSOCK(l->st.st_mode)) &&
	       !(S_ISFIFO(l->st.st_mode) && rt_tree_std_pipe(l->st.st_ino));
}

static int fd_inherit_dump(struct fd_dump_ctx *ctx, const struct fd_live *l, Sc__Fd *e)
{
	e->kind = SC__FD_KIND__INHERIT;
	return 0;
}

const struct fd_dump_half fd_inherit_dump_half = {
	.claims = fd_inherit_claims,
	.dump = fd_inherit_dump,
};
