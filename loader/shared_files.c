// SPDX-License-Identifier: MIT
/*
 * Shared mappings of files that exist only in the process: anonymous
 * shared memory, memfds and unlinked files. Every VMA and descriptor that
 * was on one such file (same dev and inode in the image) must be on one
 * file again, or a write through one would no longer show through the
 * others. Files mapped by several processes of a tree are made by crload
 * before it forks them (shared_files_of_tree), and inherited.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "restore.h"

bool shared_same_file(const Sc__Vma *v, const Sc__Vma *w)
{
	return w->kind == SC__VMA_KIND__ANON_SHARED && w->has_ino && w->ino == v->ino &&
	       w->dev == v->dev;
}

const Sc__Fd *shared_fd_on(const Sc__Fds *fds, const Sc__Vma *v)
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
		sc_err(err, "shared memory: %s", strerror(errno));
	return nfd;
}

/* A new memfd of size bytes for v's file, kept in sf; its fd, or -1. */
static int add_memfd(struct shared_files *sf, const Sc__Vma *v, uint64_t size, bool filled,
		     char *err)
{
	struct shared_file *more = realloc(sf->files, (sf->n + 1) * sizeof(*more));
	int fd;

	if (!more) {
		sc_err(err, "out of memory");
		return -1;
	}
	sf->files = more;
	fd = memfd_create("selfckpt-shared", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)size)) {
		sc_err(err, "shared memory of %llu bytes: %s", (unsigned long long)size,
		       strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	sf->files[sf->n++] = (struct shared_file){ v->dev, v->ino, fd, filled };
	return fd;
}

/* A memfd for a file several VMAs map, made once and large enough for all. */
static int new_backing(struct shared_files *sf, const Sc__Mm *mm, const Sc__Vma *v, char *err)
{
	uint64_t size = 0, nmaps = 0;
	int fd;

	for (size_t i = 0; i < mm->n_vmas; i++) {
		const Sc__Vma *w = mm->vmas[i];

		if (shared_same_file(v, w)) {
			nmaps++;
			if (w->pgoff + (w->end - w->start) > size)
				size = w->pgoff + (w->end - w->start);
		}
	}
	if (nmaps < 2)
		return -1; /* the only view of its memory: anonymous again */
	fd = add_memfd(sf, v, size, false, err);
	return fd < 0 ? -1 : dup_backing(fd, err);
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
	if ((f = shared_fd_on(p->fds, v))) {
		/* Its descriptor brought the contents back already. Opened
		 * anew: the app's own may be read-only or O_APPEND. */
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f->fd);
		fd = open(proc, ((v->prot & PROT_WRITE) ? O_RDWR : O_RDONLY) | O_CLOEXEC);
		if (fd < 0)
			sc_err(err, "shared mapping of fd %d (%s): %s", f->fd, f->path,
			       strerror(errno));
		*filled = fd >= 0;
		return fd;
	}
	for (size_t i = 0; i < sf->n; i++)
		if (sf->files[i].ino == v->ino && sf->files[i].dev == v->dev) {
			*filled = sf->files[i].filled;
			return dup_backing(sf->files[i].fd, err);
		}
	return new_backing(sf, p->mm, v, err);
}

int shared_fill(int fd, char *mem, const struct sc_image *img, const struct sc_proc_img *p,
		const Sc__Vma *v, char *err)
{
	char why[SC_ERR_LEN] = "out of memory";
	struct sc_pages pg;
	char *buf;
	int ret = 0;

	if (sc_pages_open(&pg, img, p, err))
		return -1;
	buf = malloc(1 << 20);
	ret = buf ? 0 : -1;
	/* Runs never span two VMAs: those ending after v's start are v's. */
	for (size_t i = sc_run_after(p, v->start);
	     i < p->nruns && p->runs[i].vaddr < v->end && !ret; i++) {
		const struct sc_run *r = &p->runs[i];
		uint64_t len = r->nr_pages * SC_PAGE_SIZE;

		for (uint64_t done = 0, n; done < len && !ret; done += n) {
			n = len - done > (1 << 20) ? 1 << 20 : len - done;
			uint64_t to = v->pgoff + r->vaddr - v->start + done;

			ret = sc_pages_get(&pg, NULL, r, r->vaddr + done, mem ? mem + to : buf, n,
					   why);
			if (!ret && !mem && pwrite(fd, buf, n, (off_t)to) != (ssize_t)n)
				ret = sc_err(why, "%s", strerror(errno ? errno : EIO));
		}
	}
	if (ret)
		sc_err(err, "shared memory of pid %d: %s", p->pid, why);
	free(buf);
	sc_pages_close(&pg);
	return ret;
}

/* Whether w, a mapping of the object, lets it be lazy: readable and
 * writable, as lazy private memory is, and inherited by a fork (not
 * MADV_DONTFORK), so that a child's view is its parent's. */
static bool lazy_view(const Sc__Vma *w)
{
	return (w->prot & (PROT_READ | PROT_WRITE)) == (PROT_READ | PROT_WRITE) &&
	       !(w->has_madv && (w->madv & SC__VMA_MADV__VMA_MADV_DONTFORK));
}

bool shared_is_lazy(const struct sc_image *img, const Sc__Vma *v)
{
	bool stored = false;

	/* A SysV segment has an id any process may attach. */
	if (v->kind != SC__VMA_KIND__ANON_SHARED || !v->has_ino || sc_vma_is_sysv(v))
		return false;
	for (size_t q = 0; q < img->nprocs; q++) {
		const struct sc_proc_img *p = &img->procs[q];

		/* read() or a new mmap through a descriptor would not go
		 * through a registered range, and would see a hole. */
		if (shared_fd_on(p->fds, v))
			return false;
		for (size_t k = 0; k < p->mm->n_vmas; k++) {
			const Sc__Vma *w = p->mm->vmas[k];
			size_t i;

			if (!shared_same_file(v, w))
				continue;
			if (!lazy_view(w))
				return false;
			i = sc_run_after(p, w->start);
			stored |= i < p->nruns && p->runs[i].vaddr < w->end;
		}
	}
	return stored;
}

/* Whether another process than p maps the file of v. */
static bool mapped_elsewhere(const struct sc_image *img, const struct sc_proc_img *p,
			     const Sc__Vma *v, uint64_t *size)
{
	bool more = false;

	for (size_t i = 0; i < img->nprocs; i++) {
		const Sc__Mm *mm = img->procs[i].mm;

		for (size_t k = 0; k < mm->n_vmas; k++) {
			const Sc__Vma *w = mm->vmas[k];

			if (!shared_same_file(v, w))
				continue;
			more |= &img->procs[i] != p;
			if (w->pgoff + (w->end - w->start) > *size)
				*size = w->pgoff + (w->end - w->start);
		}
	}
	return more;
}

int shared_files_of_tree(struct shared_files *sf, const struct sc_image *img, bool lazy, char *err)
{
	for (size_t i = 0; i < img->nprocs; i++) {
		const struct sc_proc_img *p = &img->procs[i];

		for (size_t k = 0; k < p->mm->n_vmas; k++) {
			const Sc__Vma *v = p->mm->vmas[k];
			uint64_t size = 0;
			bool known = false;
			int fd;

			/* A SysV segment is made by crload (sysv_shm.c). */
			if (v->kind != SC__VMA_KIND__ANON_SHARED || !v->has_ino ||
			    shared_fd_on(p->fds, v) || sc_sysv_of(p->mm, v))
				continue;
			for (size_t j = 0; j < sf->n; j++)
				known |= sf->files[j].ino == v->ino && sf->files[j].dev == v->dev;
			if (known || !mapped_elsewhere(img, p, v, &size))
				continue;
			fd = add_memfd(sf, v, size, true, err);
			if (fd < 0)
				return -1;
			/* Under --lazy the page server fills it, as its
			 * processes touch it (doc/lazy-restore.md). */
			if (lazy && shared_is_lazy(img, v))
				continue;
			/* Every process saw the same memory, but each stored
			 * only the pages it had mapped (after a fork, shared
			 * pages are mapped again on first touch): all views
			 * together fill it. */
			for (size_t q = 0; q < img->nprocs; q++) {
				const Sc__Mm *mm = img->procs[q].mm;

				for (size_t w = 0; w < mm->n_vmas; w++)
					if (shared_same_file(v, mm->vmas[w]) &&
					    shared_fill(fd, NULL, img, &img->procs[q], mm->vmas[w],
							err))
						return -1;
			}
		}
	}
	return 0;
}

void shared_files_release(struct shared_files *sf)
{
	for (size_t i = 0; i < sf->n; i++)
		close(sf->files[i].fd);
	free(sf->files);
	sf->files = NULL;
	sf->n = 0;
}
