// SPDX-License-Identifier: MIT
/* Files, directories and devices, reopened by path and seeked. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fd_restore.h"

int fd_path_restore(struct fd_restore_ctx *ctx, const Sc__Fd *e, char *err)
{
	int flags = (int)e->flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY);
	int fd;

	if (e->kind == SC__FD_KIND__DIR)
		flags = O_RDONLY | O_DIRECTORY;
	fd = open(e->path, flags | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, SC_ERR_LEN, "fd %d: %s: %s", e->fd, e->path, strerror(errno));
		return -1;
	}
	if (e->kind == SC__FD_KIND__REG && e->has_size) {
		struct stat st;

		/* Data written past the saved offset by the original run is
		 * rewritten by the restored one; a file that became shorter
		 * than the offset lost data the process already counts on. */
		if (fstat(fd, &st) == 0 && (uint64_t)st.st_size < e->pos) {
			snprintf(err, SC_ERR_LEN,
				 "fd %d: %s is now %lld bytes, shorter than the saved offset %llu",
				 e->fd, e->path, (long long)st.st_size, (unsigned long long)e->pos);
			close(fd);
			return -1;
		}
	}
	if (e->has_pos && lseek(fd, (off_t)e->pos, SEEK_SET) < 0) {
		snprintf(err, SC_ERR_LEN, "fd %d: %s: cannot seek to %llu", e->fd, e->path,
			 (unsigned long long)e->pos);
		close(fd);
		return -1;
	}
	return fd;
}

void fd_path_describe(const Sc__Fd *e, char *buf, size_t len)
{
	if (e->has_pos)
		snprintf(buf, len, "%s at offset %llu", e->path, (unsigned long long)e->pos);
	else
		snprintf(buf, len, "%s", e->path);
}
