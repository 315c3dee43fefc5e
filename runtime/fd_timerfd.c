// SPDX-License-Identifier: MIT
/* timerfd: clock, pending expirations, time left and interval. */
#include <errno.h>
#include <string.h>

#include "fd_dump.h"
#include "procparse.h"

static bool fd_timerfd_claims(const struct fd_live *l)
{
	return !strcmp(l->target, "anon_inode:[timerfd]");
}

static int fd_timerfd_dump(struct fd_dump_ctx *ctx, const struct fd_live *l, Sc__Fd *e)
{
	uint64_t clockid, value[2], interval[2];

	if (pp_fdinfo_field(l->fdinfo, l->fdinfo_len, "clockid:", 10, &clockid) ||
	    pp_fdinfo_field(l->fdinfo, l->fdinfo_len, "ticks:", 10, &e->ticks) ||
	    pp_fdinfo_pair(l->fdinfo, l->fdinfo_len, "it_value:", value) ||
	    pp_fdinfo_pair(l->fdinfo, l->fdinfo_len, "it_interval:", interval))
		return -EIO;
	e->kind = SC__FD_KIND__TIMERFD;
	e->has_clockid = e->has_ticks = e->has_value_ns = e->has_interval_ns = true;
	e->clockid = (int32_t)clockid;
	e->value_ns = value[0] * 1000000000ULL + value[1];
	e->interval_ns = interval[0] * 1000000000ULL + interval[1];
	return 0;
}

const struct fd_dump_half fd_timerfd_dump_half = {
	.claims = fd_timerfd_claims,
	.dump = fd_timerfd_dump,
};
