// SPDX-License-Identifier: MIT
/*
 * A tree for crload --lazy (tests/e2e/lazy.sh): a parent and KIDS
 * children (argv[2], default 3), each with MB MiB (argv[1], default 64)
 * of private pages whose words derive from the process's rank, the page
 * and the word. Each process writes its pid to ./pid-RANK and, once its
 * memory is filled, touches ./filled-RANK; the parent touches ./ready
 * when all are, and every process waits for ./go, checkpointed meanwhile.
 *
 * Once ./go exists, each process checks its memory page by page, adding
 * up its words (the sum an uninterrupted run computes too), and child 1
 * forks a grandchild that checks the memory it inherits as well. Each
 * writes "rank R: N pages, sum HEX" to ./out-RANK and exits 0; the parent
 * waits for its children and prints "ok" if all of them exited 0. A
 * mismatch writes "FAIL: ..." instead and exits 1.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lazy_tree.h"

#define PAGE 4096UL
#define WORDS (PAGE / sizeof(uint64_t))
/* The grandchild's rank, after every child's. */
#define GRANDCHILD 99

static uint64_t word(unsigned rank, size_t page, size_t j)
{
	return lazy_word(((uint64_t)rank << 56) ^ ((uint64_t)page << 20) ^ j);
}

/* ./WHAT-RANK holding this process's pid. */
static void touch_ranked(const char *what, unsigned rank)
{
	char name[64];

	snprintf(name, sizeof(name), "%s-%u", what, rank);
	lazy_touch(name);
}

/* The memory of rank (filled as rank fill), checked and summed; the
 * result in ./out-RANK. Exits 1 on a mismatch. */
static void check(const uint64_t *mem, size_t pages, unsigned fill, unsigned rank)
{
	char name[64];
	uint64_t sum = 0;
	FILE *out;

	snprintf(name, sizeof(name), "out-%u", rank);
	out = fopen(name, "w");
	if (!out)
		exit(2);
	for (size_t p = 0; p < pages; p++)
		for (size_t j = 0; j < WORDS; j++) {
			uint64_t got = mem[p * WORDS + j], want = word(fill, p, j);

			if (got != want)
				lazy_mismatch(out, rank, p, j, got, want);
			sum += got;
		}
	fprintf(out, "rank %u: %zu pages, sum %016" PRIx64 "\n", rank, pages, sum);
	fclose(out);
}

static uint64_t *filled(size_t pages, unsigned rank)
{
	uint64_t *mem = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (mem == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	for (size_t p = 0; p < pages; p++)
		for (size_t j = 0; j < WORDS; j++)
			mem[p * WORDS + j] = word(rank, p, j);
	return mem;
}

/* A child: its memory, then the wait, then the check (child 1 with a
 * grandchild forked after the restore, sharing its pages until written). */
static void __attribute__((noreturn)) child(size_t pages, unsigned rank)
{
	uint64_t *mem = filled(pages, rank);
	pid_t grandchild;

	touch_ranked("pid", rank);
	touch_ranked("filled", rank);
	lazy_wait_for("go");
	check(mem, pages, rank, lazy_grandchild(rank, 1, GRANDCHILD, &grandchild));
	lazy_exit_after(grandchild);
}

int main(int argc, char **argv)
{
	size_t mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
	unsigned kids = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 3;
	size_t pages = (mb << 20) / PAGE;
	pid_t pids[16];
	unsigned rank;
	uint64_t *mem;

	if (!kids || kids > sizeof(pids) / sizeof(pids[0]) || kids >= GRANDCHILD) {
		fprintf(stderr, "lazytree: 1 to %zu children\n", sizeof(pids) / sizeof(pids[0]));
		return 2;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	rank = lazy_fork_children(pids, kids);
	if (rank)
		child(pages / 2, rank);
	mem = filled(pages, 0);
	touch_ranked("pid", 0);
	lazy_ready("filled", kids);
	check(mem, pages, 0, 0);
	if (!lazy_reap(pids, kids))
		return 1;
	printf("ok\n");
	return 0;
}
