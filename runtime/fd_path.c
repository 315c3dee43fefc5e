// SPDX-License-Identifier: MIT
/*
 * Regular files, directories and the devices that hold no state of the
 * descriptor's (/dev/null, zero, full, random, urandom): reopened by path
 * at restore. Any other device (kvm, tun, fuse, a GPU...) keeps state a
 * reopen would lose, so no kind claims it and the checkpoint fails.
 */
#include <string.h>
#include <sys/sysmacros.h>

#include "fd_dump.h"

static bool deleted(const char *target)
{
	static const char tag[] = " (deleted)";
	size_t n = strlen(target);

	return n > sizeof(tag) - 1 && !strcmp(target + n - (sizeof(tag) - 1), tag);
}

/* The memory devices (major 1) a reopen gives back whole. */
static bool stateless_device(dev_t rdev)
{
	unsigned minor_nr = minor(rdev);

	return major(rdev) == 1 &&
	       (minor_nr == 3 || minor_nr == 5 || minor_nr == 7 || minor_nr == 8 || minor_nr == 9);
}

static bool fd_path_claims(const struct fd_live *l)
{
	if (l->target[0] != '/' || deleted(l->target))
		return false;
	return S_ISREG(l->st.st_mode) || S_ISDIR(l->st.st_mode) ||
	       (S_ISCHR(l->st.st_mode) && stateless_device(l->st.st_rdev));
}

static int fd_path_dump(struct fd_dump_ctx *ctx, const struct fd_live *l, Sc__Fd *e)
{
	if (S_ISREG(l->st.st_mode)) {
		e->kind = SC__FD_KIND__REG;
		e->has_size = e->has_dev = e->has_ino = true;
		e->size = (uint64_t)l->st.st_size;
		/* crload refuses a path that leads to another file by then. */
		e->dev = (uint64_t)major(l->st.st_dev) << 32 | minor(l->st.st_dev);
		e->ino = l->st.st_ino;
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

const struct fd_dump_half fd_path_dump_half = {
	.claims = fd_path_claims,
	.dump = fd_path_dump,
};
