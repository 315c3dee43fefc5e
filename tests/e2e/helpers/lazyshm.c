// SPDX-License-Identifier: MIT
/*
 * A tree sharing anonymous memory, for crload --lazy (tests/e2e/lazy.sh).
 * The parent maps MB MiB (argv[1], default 64) and a page of counters,
 * both MAP_SHARED | MAP_ANONYMOUS, and forks three children, which share
 * them. Child 1 fills the first three quarters of the memory with words
 * derived from the page and the word; the last quarter is never written
 * (zeros). Child 3 unmaps its view of the first two MiB: its image maps
 * the memory from an offset, and child 2's pages are the ones restored
 * there. Each process writes its pid to ./pid-RANK, the parent touches
 * ./ready once the memory is filled, and every process waits for ./go,
 * checkpointed meanwhile.
 *
 * Once ./go exists, before anything reads the memory: the parent drops
 * the last MiB of what child 1 wrote with MADV_DONTNEED (shared memory
 * keeps its contents), child 1 moves its view of the second MiB elsewhere
 * with mremap, child 2 unmaps its view of the first MiB (the others still
 * map it), and child 3 forks a grandchild that shares the memory too.
 * Each process then checks every page it maps, adding up its words, and
 * adds ROUNDS ones to the shared total; once all have, each writes its
 * rank into a page of the last quarter, and once all have, each writes
 * "rank R: N pages, sum HEX, total T, ranks ..." to ./out-RANK: what an
 * uninterrupted run writes too. The parent waits for its children and
 * prints "ok" if all exited 0. A mismatch writes "FAIL: ..." instead and
 * exits 1.
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
#define MIB (1UL << 20)
#define KIDS 3
/* The grandchild's rank, after every child's; the processes in all. */
#define GRANDCHILD (KIDS + 1)
#define PROCS (KIDS + 2)
/* Ones each process adds to the total. */
#define ROUNDS 1000

struct counters {
	uint64_t filled; /* child 1 filled the memory */
	uint64_t total; /* ROUNDS from every process */
	uint64_t checked; /* processes that checked their views and counted */
	uint64_t done; /* processes that wrote their rank too */
};

static uint64_t word(size_t page, size_t j)
{
	return lazy_word(((uint64_t)page << 20) ^ j);
}

static FILE *out_of(unsigned rank)
{
	char name[64];
	FILE *out;

	snprintf(name, sizeof(name), "out-%u", rank);
	out = fopen(name, "w");
	if (!out)
		exit(2);
	return out;
}

/*
 * Pages [from, to) of the memory, seen at view (which maps page from),
 * checked and summed into *sum; a mismatch written to out, exit 1.
 */
static void check(FILE *out, unsigned rank, const uint64_t *view, size_t from, size_t to,
		  size_t filled, uint64_t *sum)
{
	for (size_t p = from; p < to; p++)
		for (size_t j = 0; j < WORDS; j++) {
			uint64_t got = view[(p - from) * WORDS + j];
			uint64_t want = p < filled ? word(p, j) : 0;

			if (got != want)
				lazy_mismatch(out, rank, p, j, got, want);
			*sum += got;
		}
}

/* One more process at the barrier, which waits for all of them. */
static void arrive(uint64_t *count)
{
	__atomic_fetch_add(count, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(count, __ATOMIC_SEQ_CST) < PROCS)
		lazy_sleep_ms(1);
}

/* What every process does after the restore: its views checked, the
 * counting, its rank written, and its line once all have. */
static void run(unsigned rank, uint64_t *mem, size_t pages, struct counters *c)
{
	size_t filled = pages / 4 * 3, mib = MIB / PAGE;
	/* The first page this process maps once the views are changed. */
	size_t first = rank >= KIDS ? 2 * mib : rank == 2 ? mib : 0;
	uint64_t sum = 0, *moved = NULL;
	FILE *out = out_of(rank);

	/* The last the page server's background would reach. */
	if (rank == 0 && madvise(mem + (filled - mib) * WORDS, MIB, MADV_DONTNEED))
		exit(2);
	if (rank == 1) {
		moved = mmap(NULL, MIB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (moved == MAP_FAILED || mremap(mem + mib * WORDS, MIB, MIB,
						  MREMAP_MAYMOVE | MREMAP_FIXED, moved) != moved)
			exit(2);
	}
	if (rank == 2 && munmap(mem, MIB))
		exit(2);
	if (!first)
		check(out, rank, mem, 0, mib, filled, &sum);
	if (rank == 1)
		check(out, rank, moved, mib, 2 * mib, filled, &sum);
	else if (first <= mib)
		check(out, rank, mem + mib * WORDS, mib, 2 * mib, filled, &sum);
	check(out, rank, mem + 2 * mib * WORDS, 2 * mib, pages, filled, &sum);
	for (unsigned i = 0; i < ROUNDS; i++)
		__atomic_fetch_add(&c->total, 1, __ATOMIC_SEQ_CST);
	/* The last quarter is written once every process checked it. */
	arrive(&c->checked);
	mem[(filled + rank) * WORDS] = rank + 1;
	arrive(&c->done);
	fprintf(out, "rank %u: %zu pages, sum %016" PRIx64 ", total %" PRIu64 ", ranks", rank,
		pages - first, sum, __atomic_load_n(&c->total, __ATOMIC_SEQ_CST));
	for (unsigned r = 0; r < PROCS; r++)
		fprintf(out, " %" PRIu64, mem[(filled + r) * WORDS]);
	fprintf(out, "\n");
	fclose(out);
}

/* A child: child 1 fills the memory; every one waits, then runs (child
 * KIDS with a grandchild forked after the restore). */
static void __attribute__((noreturn))
child(unsigned rank, uint64_t *mem, size_t pages, struct counters *c)
{
	char name[64];
	pid_t grandchild;

	if (rank == 1) {
		for (size_t p = 0; p < pages / 4 * 3; p++)
			for (size_t j = 0; j < WORDS; j++)
				mem[p * WORDS + j] = word(p, j);
		__atomic_store_n(&c->filled, 1, __ATOMIC_SEQ_CST);
	}
	if (rank == KIDS && munmap(mem, 2 * MIB))
		exit(2);
	snprintf(name, sizeof(name), "pid-%u", rank);
	lazy_touch(name);
	while (!__atomic_load_n(&c->filled, __ATOMIC_SEQ_CST))
		lazy_sleep_ms(10);
	lazy_wait_for("go");
	run(lazy_grandchild(rank, KIDS, GRANDCHILD, &grandchild), mem, pages, c);
	lazy_exit_after(grandchild);
}

int main(int argc, char **argv)
{
	size_t mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
	size_t pages = (mb << 20) / PAGE;
	pid_t pids[KIDS];
	unsigned rank;
	struct counters *c;
	uint64_t *mem;

	if (mb < 4) {
		fprintf(stderr, "lazyshm: at least 4 MiB\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	mem = mmap(NULL, mb << 20, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	c = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED || c == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	rank = lazy_fork_children(pids, KIDS);
	if (rank)
		child(rank, mem, pages, c);
	lazy_touch("pid-0");
	while (!__atomic_load_n(&c->filled, __ATOMIC_SEQ_CST))
		lazy_sleep_ms(10);
	lazy_ready("pid", KIDS);
	run(0, mem, pages, c);
	if (!lazy_reap(pids, KIDS))
		return 1;
	printf("ok\n");
	return 0;
}
