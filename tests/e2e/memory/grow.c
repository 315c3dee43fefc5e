// SPDX-License-Identifier: MIT
/*
 * Memory that grows between incremental checkpoints (doc/incremental.md,
 * "Sub-VMA tracking"), as an allocating program's does, in four regions
 * of 8 MiB written at start:
 *   heap   grown with sbrk, a chunk at a time;
 *   below  anonymous mappings made right below it, a chunk at a time
 *          (each a VMA of its own beside the tracked one);
 *   grown  grown in place with mremap: the VMA the tracker registered
 *          becomes a larger one, whose old part is tracked and whose new
 *          part is not. The new part first takes the place of a read-only
 *          mapping full of data (in the full image, never tracked), which
 *          is unmapped when growing begins: none of its pages may come
 *          back, the new part's unwritten pages read zero;
 *   over   grown the same way over a writable mapping full of data, a VMA
 *          of its own (PROT_EXEC sets it apart) that the tracker
 *          registered too: the ranges registered then cover the new part,
 *          which must not be taken for the old one.
 * Growing begins once the first image exists (./img/latest): the second
 * image, incremental, holds what grew and the few pages written, and
 * tests/e2e/run checks it is small beside the first. Each step writes the
 * first page of its new chunks and rewrites one old page of each region;
 * every page's generation follows from the step count alone, so the
 * program, restored or not, checks every page of every region against
 * what the steps it did wrote (and zero where none did).
 * GROW_STEPS=N stops growing after N steps, and says so with ./grown;
 * GROW_WHOLE=1 writes every page of each new chunk (tracking.sh).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "zdtm.h"

#define PAGE 4096UL
#define BASE_PAGES 2048UL /* 8 MiB per region at start */
#define CHUNK_PAGES 16UL /* what each step adds to each region */
#define OLD_PAGES 256UL /* the mappings that grown and over replace */
#define MAX_STEPS 200
#define STEP_NS 20000000L /* 20 ms */

enum region { HEAP, BELOW, GROWN, OVER, NREGIONS };

/* Where each region's base and chunks are; chunk 0 is the base. */
static unsigned char *chunk[NREGIONS][MAX_STEPS + 1];
/* The mappings grown and over grow over. */
static unsigned char *old_mapping[NREGIONS];
static int steps; /* steps done */
static int max_steps = MAX_STEPS;
static bool whole_chunks;

static size_t chunk_pages(int c)
{
	return c ? CHUNK_PAGES : BASE_PAGES;
}

static unsigned seed(int r, int c, size_t p, int gen)
{
	return (unsigned)(r * 1000003 + c * 7919 + (int)p * 101 + gen * 31);
}

static void write_page(int r, int c, size_t p, int gen)
{
	test_fill(chunk[r][c] + p * PAGE, PAGE, seed(r, c, p, gen));
}

/* The one old page of region r that step s rewrites: in its base. */
static size_t rewritten(int r, int s)
{
	return ((size_t)s * 389 + (size_t)r * 97) % BASE_PAGES;
}

/* The generation page p of chunk c of region r holds after `done` steps:
 * the last step that wrote it, 0 (zero) if none; a base page starts at
 * generation 1 (written at start). */
static int expected(int r, int c, size_t p, int done)
{
	if (c)
		return p == 0 || whole_chunks ? c : 0;
	for (int s = done; s >= 1; s--)
		if (rewritten(r, s) == p)
			return s + 1;
	return 1;
}

static bool holds(int r, int c, size_t p, int gen)
{
	static const unsigned char zero[PAGE];
	const unsigned char *page = chunk[r][c] + p * PAGE;

	return gen ? test_filled(page, PAGE, seed(r, c, p, gen)) : !memcmp(page, zero, PAGE);
}

static void *map_at(void *addr, size_t len, int prot)
{
	void *m = mmap(addr, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (m != addr)
		test_fail("mmap at %p: %m", addr);
	return m;
}

/* Region r at at, grown in place over a mapping of data right above it,
 * left with prot. */
static void set_up_growing(int r, unsigned char *at, int prot)
{
	chunk[r][0] = map_at(at, BASE_PAGES * PAGE, PROT_READ | PROT_WRITE);
	old_mapping[r] = map_at(at + BASE_PAGES * PAGE, OLD_PAGES * PAGE, PROT_READ | PROT_WRITE);
	memset(old_mapping[r], 0x5a, OLD_PAGES * PAGE);
	if (mprotect(old_mapping[r], OLD_PAGES * PAGE, prot))
		test_fail("mprotect: %m");
}

/*
 * The regions in a part of the address space nothing else maps into (far
 * below the shared libraries, far above the heap), so that the growing
 * ones have room above them, with room for every chunk on either side.
 */
static void set_up(void)
{
	size_t room = (MAX_STEPS + 1) * CHUNK_PAGES * PAGE + BASE_PAGES * PAGE;
	unsigned char *at = (unsigned char *)0x100000000000UL;

	chunk[HEAP][0] = sbrk((intptr_t)(BASE_PAGES * PAGE));
	if (chunk[HEAP][0] == (void *)-1)
		test_fail("sbrk: %m");
	chunk[BELOW][0] = map_at(at + room, BASE_PAGES * PAGE, PROT_READ | PROT_WRITE);
	set_up_growing(GROWN, at + 2 * room, PROT_READ);
	set_up_growing(OVER, at + 3 * room, PROT_READ | PROT_WRITE | PROT_EXEC);
	for (int r = 0; r < NREGIONS; r++)
		for (size_t p = 0; p < BASE_PAGES; p++)
			write_page(r, 0, p, 1);
}

/* One step: each region grows by a chunk, whose first page is written,
 * and one old page of each is written again. */
static void step(void)
{
	int s = steps + 1;
	size_t len = CHUNK_PAGES * PAGE, grown = (BASE_PAGES + (size_t)steps * CHUNK_PAGES) * PAGE;

	chunk[HEAP][s] = sbrk((intptr_t)len);
	if (chunk[HEAP][s] == (void *)-1)
		test_fail("sbrk: %m");
	chunk[BELOW][s] = map_at(chunk[BELOW][s - 1] - len, len, PROT_READ | PROT_WRITE);
	for (int r = GROWN; r <= OVER; r++) {
		if (s == 1 && munmap(old_mapping[r], OLD_PAGES * PAGE))
			test_fail("munmap: %m");
		if (mremap(chunk[r][0], grown, grown + len, 0) != chunk[r][0])
			test_fail("mremap in place, step %d: %m", s);
		chunk[r][s] = chunk[r][0] + grown;
	}
	for (int r = 0; r < NREGIONS; r++) {
		for (size_t p = 0; p < (whole_chunks ? CHUNK_PAGES : 1); p++)
			write_page(r, s, p, s);
		write_page(r, 0, rewritten(r, s), s + 1);
	}
	steps = s;
}

static void check(void)
{
	for (int r = 0; r < NREGIONS; r++)
		for (int c = 0; c <= steps; c++)
			for (size_t p = 0; p < chunk_pages(c); p++)
				if (!holds(r, c, p, expected(r, c, p, steps)))
					test_fail("region %d chunk %d page %zu: not generation %d",
						  r, c, p, expected(r, c, p, steps));
}

int main(int argc, char **argv)
{
	struct timespec pause = { 0, STEP_NS };

	test_init(argc, argv);
	if (getenv("GROW_STEPS"))
		max_steps = atoi(getenv("GROW_STEPS"));
	if (max_steps < 1 || max_steps > MAX_STEPS)
		test_fail("GROW_STEPS: 1 to %d", MAX_STEPS);
	whole_chunks = getenv("GROW_WHOLE");
	set_up();
	test_ready();
	while (!test_stopping()) {
		nanosleep(&pause, NULL);
		if (steps == max_steps || (!steps && access("img/latest", F_OK)))
			continue;
		step();
		if (steps == max_steps)
			close(open("grown", O_WRONLY | O_CREAT, 0644));
	}
	if (!steps)
		test_fail("never grew");
	check();
	test_pass();
}
