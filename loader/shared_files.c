// SPDX-License-Identifier: MIT
/*
 * Shared mappings of files that exist only in the process: anonymous
 * shared memory, memfds and unlinked files. Every VMA and descriptor that
 * was on one such file (same dev and inode in the image) must be on one
 * file again, or a write through one would no longer show through the
 * others.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "restore.h"

static bool same_file(const Sc__Vma *v, const Sc__Vma *w)
{
	return w->kind == SC__VMA_KIND__ANON_SHARED && w->has_ino && w->ino == v->ino &&
	       w->dev == v->dev;
}

/* The image's descriptor on v's file, already in place, or NULL. */
static const Sc__Fd *fd_on(const Sc__Fds *fds, const Sc__Vma *v)
{
	for (size_t i = 0; i < fds->n_fds; i++) {
		const Sc__Fd *f = fds->fds[i];

		if (f->has_ino && f->ino == v->ino && f->dev == v->dev && !f->has_dup_of)
			return f;
	}
	return NULL;
}

static int dup_backing(int fd, char *err)
{
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	if (nfd < 0)
		snprintf(err, SC_ERR_LEN, "shared memory: %s", strerror(errno));
	return nfd;
}

/* A memfd for a file several VMAs map, made once and large enough for all. */
static int new_backing(struct shared_files *sf, const Sc__Mm *mm, const Sc__Vma *v, char *err)
{
	uint64_t size = 0, nmaps = 0;
	struct shared_file *more;
	int fd;

	for (size_t i = 0; i < mm->n_vmas; i++) {
		const Sc__Vma *w = mm->vmas[i];

		if (same_file(v, w)) {
			nmaps++;
			if (w->pgoff + (w->end - w->start) > size)
				size = w->pgoff + (w->end - w->start);
		}
	}
	if (nmaps < 2)
		return -1; /* the only view of its memory: anonymous again */
	more = realloc(sf->files, (sf->n + 1) * sizeof(*more));
	if (!more) {
		snprintf(err, SC_ERR_LEN, "out of memory");
		return -1;
	}
	sf->files = more;
	fd = memfd_create("selfckpt-shared", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)size)) {
		snprintf(err, SC_ERR_LEN, "shared memory of %llu bytes: %s",
			 (unsigned long long)size, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	sf->files[sf->n++] = (struct shared_file){ v->dev, v->ino, fd };
	return dup_backing(fd, err);
}

int shared_backing(struct shared_files *sf, const struct sc_proc_img *p, const Sc__Vma *v,
		   bool *filled, char *err)
{
	const Sc__Fd *f;
	char proc[64];
	int fd;

	*filled = false;
	err[0] = '\0';
	if (v->kind != SC__VMA_KIND__ANON_SHARED || !v->has_ino)
		return -1;
	if ((f = fd_on(p->fds, v))) {
		/* Its descriptor brought the contents back already. Opened
		 * anew: the app's own may be read-only or O_APPEND. */
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f->fd);
		fd = open(proc, ((v->prot & PROT_WRITE) ? O_RDWR : O_RDONLY) | O_CLOEXEC);
		if (fd < 0)
			snprintf(err, SC_ERR_LEN, "shared mapping of fd %d (%s): %s", f->fd,
				 f->path, strerror(errno));
		*filled = fd >= 0;
		return fd;
	}
	for (size_t i = 0; i < sf->n; i++)
		if (sf->files[i].ino == v->ino && sf->files[i].dev == v->dev)
			return dup_backing(sf->files[i].fd, err);
	return new_backing(sf, p->mm, v, err);
}

void shared_files_release(struct shared_files *sf)
{
	for (size_t i = 0; i < sf->n; i++)
		close(sf->files[i].fd);
	free(sf->files);
	sf->files = NULL;
	sf->n = 0;
}
