// SPDX-License-Identifier: MIT
/* The runtime's table of descriptor kinds: the dump halves, expanded from
 * the one list (common/fdkinds.h) so that each must exist to link, and the
 * passes over them all. */
#include <errno.h>

#include "fd_dump.h"

/* The pty kinds have no dump half of their own: fd_tty claims them. */
static bool fd_none_claims(const struct fd_live *l)
{
	(void)l;
	return false;
}

static int fd_none_dump(struct fd_dump_ctx *ctx, const struct fd_live *l, Sc__Fd *e)
{
	(void)ctx, (void)l, (void)e;
	return -EINVAL;
}

const struct fd_dump_half fd_none_dump_half = {
	.claims = fd_none_claims,
	.dump = fd_none_dump,
};

/* In the order the kinds are asked whether they claim a descriptor. */
#define DUMP_ROW(k, name, dump, restore, check) &dump##_dump_half,
static const struct fd_dump_half *const halves[] = { SC_FD_KINDS(DUMP_ROW) };
#undef DUMP_ROW

#define NR_HALVES (sizeof(halves) / sizeof(halves[0]))

const struct fd_dump_half *fd_dump_half_of(const struct fd_live *l)
{
	for (size_t i = 0; i < NR_HALVES; i++)
		if (halves[i]->claims(l))
			return halves[i];
	return NULL;
}

/* Whether row i is the first of its half: a half serves several kinds
 * (files, directories and devices are all fd_path's). */
static bool first_row(size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (halves[j] == halves[i])
			return false;
	return true;
}

int fd_dump_after_all(struct fd_dump_ctx *ctx)
{
	for (size_t i = 0; i < NR_HALVES; i++) {
		int err = halves[i]->after_all && first_row(i) ? halves[i]->after_all(ctx) : 0;

		if (err)
			return err;
	}
	return 0;
}
