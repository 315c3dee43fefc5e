// SPDX-License-Identifier: MIT
/*
 * POSIX shared memory (shm_open: a file in /dev/shm, a tmpfs), as Open
 * MPI's shared-memory transport keeps its message queues there, rewritten
 * without a pause beside private memory (doc/shm-files.md):
 *
 * - the image holds the file's pages, one instant with the private memory:
 *   the restored program finds them as they were at the checkpoint,
 *   although the original ran on and rewrote them before it was killed;
 * - the file is made again when it is gone, as on the node a job is
 *   requeued onto (the original removes it when it ends);
 * - two mappings of the file, at different offsets, and the descriptor
 *   the program keeps on it (as Python's SharedMemory does) stay one
 *   object.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtm.h"

#define PAGE TEST_GEN_PAGE
#define WORDS (PAGE / sizeof(uint64_t))
#define PRIVATE_PAGES 2048 /* 8 MiB */
#define SHM_PAGES 1024 /* 4 MiB */
#define VIEW_PAGES 256 /* the file's last MiB, mapped a second time */
#define MIN_SWEEPS 10

static uint64_t *map(int fd, size_t pages, int prot, size_t first_page)
{
	int flags = fd < 0 ? MAP_PRIVATE | MAP_ANONYMOUS : MAP_SHARED;
	uint64_t *p = mmap(NULL, pages * PAGE, prot, flags, fd, (off_t)(first_page * PAGE));

	if (p == MAP_FAILED)
		test_fail("mmap: %m");
	return p;
}

int main(int argc, char **argv)
{
	uint64_t *priv, *shm, *view, word, gen = 1, sweeps = 0;
	char name[64];
	int fd;

	test_init(argc, argv);
	snprintf(name, sizeof(name), "/selfckpt-e2e-shm_file.%d", (int)getpid());
	fd = shm_open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, SHM_PAGES * PAGE))
		test_fail("shm_open %s: %m", name);
	shm = map(fd, SHM_PAGES, PROT_READ | PROT_WRITE, 0);
	view = map(fd, VIEW_PAGES, PROT_READ, SHM_PAGES - VIEW_PAGES);
	priv = map(-1, PRIVATE_PAGES, PROT_READ | PROT_WRITE, 0);
	test_gen_label(shm, SHM_PAGES, PRIVATE_PAGES);
	test_gen_label(priv, PRIVATE_PAGES, 0);
	test_ready();
	while (!test_stopping()) {
		test_gen_sweep(shm, SHM_PAGES, PRIVATE_PAGES, gen);
		test_gen_sweep(priv, PRIVATE_PAGES, 0, gen);
		for (size_t i = 0; i < VIEW_PAGES; i++)
			if (view[i * WORDS] != gen)
				test_fail("the second mapping of the file is another object: "
					  "page %zu holds generation %llu, the first %llu",
					  i, (unsigned long long)view[i * WORDS],
					  (unsigned long long)gen);
		if (pread(fd, &word, sizeof(word), 0) != sizeof(word) || word != gen)
			test_fail("the descriptor is not on the mapped file: %llu in it, "
				  "generation %llu mapped",
				  (unsigned long long)word, (unsigned long long)gen);
		gen++;
		sweeps++;
	}
	if (shm_unlink(name))
		test_fail("shm_unlink %s: %m", name);
	if (sweeps < MIN_SWEEPS)
		test_fail("only %llu sweeps", (unsigned long long)sweeps);
	test_pass();
}
