// SPDX-License-Identifier: MIT
/* Regular files, directories and devices: reopened by path at restore. */
#include <string.h>

#include "fd_dump.h"

static bool deleted(const char *target)
{
	static const char tag[] = " (deleted)";
	size_t n = strlen(target);

	return n > sizeof(tag) - 1 && !strcmp(target + n - (sizeof(tag) - 1), tag);
}

bool fd_path_claims(const struct fd_live *l)
{
	if (l->target[0] != '/' || deleted(l->target))
		return false;
	return S_ISREG(l->st.st_mode) || S_ISDIR(l->st.st_mode) || S_ISCHR(l->st.st_mode);
}

int fd_path_dump(struct fd_dump_ctx *ctx, const struct fd_live *l, Sc__Fd *e)
{
	if (S_ISREG(l->st.st_mode)) {
		e->kind = SC__FD_KIND__REG;
		e->has_size = true;
		e->size = (uint64_t)l->st.st_size;
	} else if (S_ISDIR(l->st.st_mode)) {
		e->kind = SC__FD_KIND__DIR;
	} else {
		e->kind = SC__FD_KIND__CHR;
	}
	if (!S_ISCHR(l->st.st_mode)) {
		e->has_pos = true;
		e->pos = l->pos;
	}
	return 0;
}
