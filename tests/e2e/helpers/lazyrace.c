// SPDX-License-Identifier: MIT
/*
 * Changes of the map racing the page server's two fillers
 * (tests/e2e/lazy.sh, doc/lazy-restore.md): MB MiB (argv[1], default 512)
 * of pages whose words derive from their index. It touches ./ready and
 * waits for ./go, checkpointed meanwhile.
 *
 * Once ./go exists (made before the restore), while the server is still
 * filling, for as long as ROUNDS changes take: at random places of the
 * region, half of them just above the lowest page not in yet (where the
 * server's second filler is most likely at work), MADV_DONTNEED on 64 KiB (zeros there from then on, checked at
 * once), a MiB moved away by mremap and back (its contents checked at both
 * places), or a page read and checked. Halfway, a child is forked that
 * checks the whole region as its parent left it. At the end the parent
 * checks the whole region too. Prints "ok (N of M changes hit pages not
 * in yet)", or "WHAT: FAIL: ..." and exits 1.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lazy_tree.h"

#define PAGE 4096UL
#define DROP (64UL << 10)
#define MOVE (1UL << 20)
#define ROUNDS 4000

static uint64_t word(size_t page, size_t j)
{
	return lazy_word(((uint64_t)page << 20) ^ j);
}

static uint8_t *mem;
static bool *dropped; /* per page: zeros expected */

static void check(const uint8_t *at, size_t from, size_t to, const char *what)
{
	for (size_t p = from; p < to; p++)
		for (size_t j = 0; j < PAGE / 8; j++) {
			uint64_t got = ((const uint64_t *)(at + (p - from) * PAGE))[j];
			uint64_t want = dropped[p] ? 0 : word(p, j);

			if (got != want) {
				printf("%s: ", what);
				lazy_mismatch(stdout, 0, p, j, got, want);
			}
		}
}

/* Where the server is filling: the offset of the lowest page of the
 * region not in memory yet, or SIZE_MAX once every page is in. */
static size_t front(size_t pages)
{
	static unsigned char *vec;

	if (!vec && !(vec = malloc(pages)))
		return SIZE_MAX;
	if (mincore(mem, pages * PAGE, vec))
		return SIZE_MAX;
	for (size_t p = 0; p < pages; p++)
		if (!(vec[p] & 1))
			return p * PAGE;
	return SIZE_MAX;
}

/* Where a change of len bytes goes: every other one within 8 MiB above
 * the front (where the server's helper most likely fills), the others
 * anywhere. */
static size_t place_change(uint64_t seed, size_t pages, size_t len)
{
	size_t at = SIZE_MAX;

	if (seed & 1 << 4)
		at = front(pages);
	if (at == SIZE_MAX)
		return (seed >> 8) % (pages * PAGE / len) * len;
	at = (at + (seed >> 8) % (8UL << 20)) / len * len;
	return at + len <= pages * PAGE ? at : pages * PAGE - len;
}

/* Whether any page of [p, p + len) is not in memory yet. */
static bool any_missing(const uint8_t *p, size_t len)
{
	unsigned char vec[MOVE / PAGE];

	if (mincore((void *)p, len, vec))
		return false;
	for (size_t i = 0; i < len / PAGE; i++)
		if (!(vec[i] & 1))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	size_t mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 512, pages = mb * (1 << 20) / PAGE;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	size_t hits = 0, changes = 0;
	uint8_t *spare;
	pid_t child = -1;
	int status;

	mem = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	spare = mmap(NULL, MOVE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	dropped = calloc(pages, sizeof(*dropped));
	if (mem == MAP_FAILED || spare == MAP_FAILED || !dropped) {
		perror("lazyrace");
		return 2;
	}
	for (size_t p = 0; p < pages; p++)
		for (size_t j = 0; j < PAGE / 8; j++)
			((uint64_t *)(mem + p * PAGE))[j] = word(p, j);
	lazy_touch("ready");
	lazy_wait_for("go");

	for (size_t round = 0; round < ROUNDS; round++) {
		size_t at;

		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		switch (seed % 3) {
		case 0: /* dropped */
			at = place_change(seed, pages, DROP);
			hits += any_missing(mem + at, DROP);
			changes++;
			if (madvise(mem + at, DROP, MADV_DONTNEED)) {
				perror("madvise");
				return 2;
			}
			for (size_t p = at / PAGE; p < (at + DROP) / PAGE; p++)
				dropped[p] = true;
			check(mem + at, at / PAGE, (at + DROP) / PAGE, "dropped");
			break;
		case 1: /* moved away and back */
			at = place_change(seed, pages, MOVE);
			hits += any_missing(mem + at, MOVE);
			changes++;
			if (mremap(mem + at, MOVE, MOVE, MREMAP_MAYMOVE | MREMAP_FIXED, spare) !=
			    spare) {
				perror("mremap");
				return 2;
			}
			check(spare, at / PAGE, (at + MOVE) / PAGE, "moved away");
			if (mremap(spare, MOVE, MOVE, MREMAP_MAYMOVE | MREMAP_FIXED, mem + at) !=
			    mem + at) {
				perror("mremap");
				return 2;
			}
			check(mem + at, at / PAGE, (at + MOVE) / PAGE, "moved back");
			break;
		default: /* read */
			at = (seed >> 8) % pages;
			check(mem + at * PAGE, at, at + 1, "read");
		}
		if (round == ROUNDS / 2) {
			fflush(stdout);
			if (!(child = fork())) {
				check(mem, 0, pages, "the region, in a child");
				_exit(0);
			}
		}
	}
	check(mem, 0, pages, "the region");
	if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		printf("FAIL: the child's check\n");
		return 1;
	}
	printf("ok (%zu of %zu changes hit pages not in yet)\n", hits, changes);
	return 0;
}
