// SPDX-License-Identifier: MIT
/* The runtime's table of descriptor kinds: the dump halves, expanded from
 * the one list (common/fdkinds.h) so that each must exist to link; and the
 * kinds' checks once every descriptor is dumped. */
#include <errno.h>

#include "fd_dump.h"

/* The pty kinds have no dump half of their own: fd_tty claims them. */
bool fd_none_claims(const struct fd_live *l)
{
	(void)l;
	return false;
}

int fd_none_dump(struct fd_dump_ctx *ctx, const struct fd_live *l, Sc__Fd *e)
{
	(void)ctx, (void)l, (void)e;
	return -EINVAL;
}

#define DUMP_ROW(k, name, dump, restore, check) { dump##_claims, dump##_dump },
const struct fd_dump_kind rt_fd_dump_kinds[] = { SC_FD_KINDS(DUMP_ROW) };
#undef DUMP_ROW

const size_t rt_nr_fd_dump_kinds = sizeof(rt_fd_dump_kinds) / sizeof(rt_fd_dump_kinds[0]);

int (*const rt_fd_dump_checks[])(struct fd_dump_ctx *ctx) = {
	fd_pipe_check_ends,  /* both ends of a pipe are in the process (or tree) */
	fd_tty_check_pairs,  /* which pty slaves are of its own masters */
	fd_unix_check_peers, /* a socket's peer is in it too */
};

const size_t rt_nr_fd_dump_checks = sizeof(rt_fd_dump_checks) / sizeof(rt_fd_dump_checks[0]);
