// SPDX-License-Identifier: MIT
/*
 * Files in memory whose pages the image holds (doc/shm-files.md): the
 * tmpfs files a process of the image mapped shared and writable, such as
 * Open MPI's segments in /dev/shm. crload makes those that are gone
 * before it forks (shm_files_make), so that every process finds them,
 * whichever maps them first and however (a rank may map read-only what
 * mpirun writes); each process writing the pages then opens its own
 * (shm_file_open) in premap.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "restore.h"

/* path opened read-write, made if gone, at least size bytes: its fd, or
 * -1 with err set. */
static int open_grown(const char *path, uint64_t size, char *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, SC_FILE_IN_MEMORY_MODE);
	struct stat st;

	if (fd < 0 || fstat(fd, &st) ||
	    ((uint64_t)st.st_size < size && ftruncate(fd, (off_t)size))) {
		sc_err(err, "shared memory file %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int shm_files_make(const struct sc_image *img, char *err)
{
	for (size_t i = 0; i < img->nprocs; i++) {
		const Sc__Mm *mm = img->procs[i].mm;

		for (size_t k = 0; k < mm->n_vmas; k++) {
			const Sc__Vma *v = mm->vmas[k];
			int fd;

			if (!sc_vma_is_file_in_memory(v) || !access(v->path, F_OK))
				continue;
			fd = open_grown(v->path, v->pgoff + (v->end - v->start), err);
			if (fd < 0)
				return -1;
			close(fd);
		}
	}
	return 0;
}

int shm_file_open(const Sc__Vma *v, char *err)
{
	uint64_t len = v->end - v->start;
	int fd = open_grown(v->path, v->pgoff + len, err);

	/* Whatever the original wrote there since, v's part is the image's:
	 * cleared here, its stored pages written next. */
	if (fd >= 0 && fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)v->pgoff,
				 (off_t)len)) {
		sc_err(err, "shared memory file %s: %s", v->path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}
