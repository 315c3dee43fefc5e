// SPDX-License-Identifier: MIT
/*
 * Cold pages files read around the page cache (doc/direct-io.md). A
 * restore after a requeue finds its image on disk, not in memory: read
 * through the page cache, every page is first put in a fresh page cache
 * page (expensive on the project's VMs, doc/direct-io.md) and then
 * copied into the process's memory. With O_DIRECT the device writes into
 * the process's memory itself, which crload faults in anyway. A file
 * mostly in the page cache already is read from there: from memory it
 * is faster than any disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "restore.h"

/* cachestat(2), Linux 6.5, which the C library and the kernel headers
 * of Debian 12 do not know yet. */
#ifndef __NR_cachestat
#define __NR_cachestat 451
#endif
struct cr_cachestat_range {
	uint64_t off, len;
};
struct cr_cachestat {
	uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};

/* Whether fd's file is mostly not in the page cache. A kernel without
 * cachestat(2) says nothing: the page cache is used, as before. */
static bool mostly_cold(int fd)
{
	struct cr_cachestat_range all = { 0, 0 }; /* len 0: to the end */
	struct cr_cachestat cs;
	struct stat st;
	uint64_t pages;

	if (fstat(fd, &st) || syscall(__NR_cachestat, fd, &all, &cs, 0))
		return false;
	pages = ((uint64_t)st.st_size + SC_PAGE_SIZE - 1) / SC_PAGE_SIZE;
	return cs.nr_cache * 2 < pages;
}

int *direct_open(const struct sc_pages *pg)
{
	int *fds = malloc(pg->n * sizeof(int));

	for (uint32_t g = 0; fds && g < pg->n; g++) {
		char path[64];

		fds[g] = -1;
		/* A compressed file is read into buffers of the pages' own,
		 * never straight into memory. */
		if (pg->fds[g] < 0 || pg->z[g].n || !mostly_cold(pg->fds[g]))
			continue;
		/* Its own description: O_DIRECT on the shared one would hold
		 * the image reader's buffers to the same alignment. A file
		 * system without direct I/O refuses it here. */
		snprintf(path, sizeof(path), "/proc/self/fd/%d", pg->fds[g]);
		fds[g] = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	}
	return fds;
}

void direct_close(int *fds, uint32_t n)
{
	for (uint32_t g = 0; fds && g < n; g++)
		if (fds[g] >= 0)
			close(fds[g]);
	free(fds);
}
