// SPDX-License-Identifier: MIT
/*
 * A big anonymous mapping (E2E_BIGMEM_MB MiB, default 1024) across a
 * checkpoint. Every page holds data derived from its index and a version
 * number; the main loop keeps rewriting pages (so some are dirty at the
 * checkpoint) and keeps a running checksum. After the stop request:
 *   - every page must hold exactly what was last written to it, and the
 *     checksum must match;
 *   - the mapping must still be anonymous memory: /proc/self/maps shows no
 *     file behind it, and MADV_DONTNEED on a range must read back zeros
 *     (a restore that maps the image file privately would bring back the
 *     old contents instead);
 *   - malloc/free churn, small and mmap-sized, still works.
 */
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "zdtm.h"

#define PAGE 4096UL
#define WORDS (PAGE / sizeof(uint64_t))

static uint8_t *mem;
static size_t npages;
static uint32_t *version;

static uint64_t page_key(size_t p, uint32_t v)
{
	return test_mix(((uint64_t)p << 20) ^ ((uint64_t)v << 52) ^ 0x5a5aULL);
}

static uint64_t word_at(uint64_t key, size_t j)
{
	return key ^ (j * 0x9e3779b97f4a7c15ULL);
}

/* Writes page p at version v and returns the sum of its words. */
static uint64_t fill_page(size_t p, uint32_t v)
{
	uint64_t *w = (uint64_t *)(mem + p * PAGE), key = page_key(p, v), sum = 0;

	for (size_t j = 0; j < WORDS; j++) {
		w[j] = word_at(key, j);
		sum += w[j];
	}
	return sum;
}

static uint64_t page_sum(size_t p, uint32_t v)
{
	uint64_t key = page_key(p, v), sum = 0;

	for (size_t j = 0; j < WORDS; j++)
		sum += word_at(key, j);
	return sum;
}

/* Checks that every VMA overlapping [start, end) is anonymous. */
static void check_anonymous(uintptr_t start, uintptr_t end)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	int seen = 0;

	if (!f)
		test_fail("cannot open /proc/self/maps");
	while (fgets(line, sizeof(line), f)) {
		uintptr_t lo, hi;
		unsigned long inode;
		char path[256] = "";

		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %*s %*s %*s %lu %255s", &lo, &hi,
			   &inode, path) < 3)
			continue;
		if (hi <= start || lo >= end)
			continue;
		seen++;
		if (inode || path[0])
			test_fail("the big mapping is not anonymous any more: %s", line);
	}
	fclose(f);
	if (!seen)
		test_fail("the big mapping is gone from /proc/self/maps");
}

static void malloc_churn(void)
{
	enum { SLOTS = 256 };
	void *slot[SLOTS] = { 0 };
	size_t size[SLOTS] = { 0 };
	uint64_t rnd = 12345;

	for (int i = 0; i < 20000; i++) {
		int s;

		rnd = test_mix(rnd);
		s = (int)(rnd % SLOTS);
		if (slot[s]) {
			unsigned char *b = slot[s];

			for (size_t k = 0; k < size[s]; k += 97)
				if (b[k] != (unsigned char)(s + k))
					test_fail("malloc block %d damaged at %zu", s, k);
			free(b);
			slot[s] = NULL;
			continue;
		}
		size[s] = (rnd >> 16) % 8 == 0 ? 128 * 1024 + (rnd >> 24) % (512 * 1024)
					     : 1 + (rnd >> 24) % 4096;
		slot[s] = malloc(size[s]);
		if (!slot[s])
			test_fail("malloc(%zu) failed after restore", size[s]);
		for (size_t k = 0; k < size[s]; k++)
			((unsigned char *)slot[s])[k] = (unsigned char)(s + k);
	}
	for (int s = 0; s < SLOTS; s++)
		free(slot[s]);
	malloc_trim(0);
}

int main(int argc, char **argv)
{
	const char *env = getenv("E2E_BIGMEM_MB");
	size_t mb = env ? strtoul(env, NULL, 10) : 1024, cursor = 0;
	uint64_t checksum = 0, sum = 0, rewrites = 0;
	size_t lo, hi;

	test_init(argc, argv);
	if (mb < 16)
		mb = 16;
	npages = (mb << 20) / PAGE;
	mem = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	version = calloc(npages, sizeof(*version));
	if (mem == MAP_FAILED || !version)
		test_fail("cannot allocate %zu MiB", mb);
	for (size_t p = 0; p < npages; p++)
		checksum += fill_page(p, 0);
	printf("%zu MiB filled\n", mb);
	test_ready();

	while (!test_stopping()) {
		/* 256 pages (1 MiB) a step, in an order that visits all. */
		for (int i = 0; i < 256; i++) {
			cursor = (cursor + 7919) % npages;
			checksum -= page_sum(cursor, version[cursor]);
			checksum += fill_page(cursor, ++version[cursor]);
		}
		rewrites += 256;
		usleep(2000);
	}

	for (size_t p = 0; p < npages; p++) {
		const uint64_t *w = (const uint64_t *)(mem + p * PAGE);
		uint64_t key = page_key(p, version[p]);

		for (size_t j = 0; j < WORDS; j++) {
			if (w[j] != word_at(key, j))
				test_fail("page %zu (version %u) word %zu: %016" PRIx64
					  ", expected %016" PRIx64,
					  p, version[p], j, w[j], word_at(key, j));
			sum += w[j];
		}
	}
	if (sum != checksum)
		test_fail("checksum %016" PRIx64 ", expected %016" PRIx64, sum, checksum);
	check_anonymous((uintptr_t)mem, (uintptr_t)(mem + npages * PAGE));

	/* A 10 MiB hole a third of the way in (and one of the edges). */
	lo = npages / 3;
	hi = lo + (10UL << 20) / PAGE;
	if (madvise(mem + lo * PAGE, (hi - lo) * PAGE, MADV_DONTNEED))
		test_fail("madvise(MADV_DONTNEED): %m");
	if (madvise(mem, PAGE, MADV_DONTNEED))
		test_fail("madvise(MADV_DONTNEED) of the first page: %m");
	for (size_t p = lo - 1; p <= hi; p++) { /* and the pages either side */
		const uint64_t *w = (const uint64_t *)(mem + p * PAGE);
		bool hole = p >= lo && p < hi;

		for (size_t j = 0; j < WORDS; j++) {
			uint64_t want = hole ? 0 : word_at(page_key(p, version[p]), j);

			if (w[j] != want)
				test_fail("after MADV_DONTNEED, page %zu word %zu: %016" PRIx64
					  ", expected %016" PRIx64,
					  p, j, w[j], want);
		}
	}
	for (size_t j = 0; j < WORDS; j++)
		if (((const uint64_t *)mem)[j])
			test_fail("after MADV_DONTNEED, page 0 word %zu is not zero", j);
	/* Still writable, and stays what was written. */
	fill_page(lo, 1000);
	for (size_t j = 0; j < WORDS; j++)
		if (((const uint64_t *)(mem + lo * PAGE))[j] != word_at(page_key(lo, 1000), j))
			test_fail("page %zu did not keep what was written after MADV_DONTNEED", lo);

	malloc_churn();
	if (munmap(mem, npages * PAGE))
		test_fail("munmap: %m");
	printf("%zu MiB verified, %" PRIu64 " page rewrites\n", mb, rewrites);
	test_pass();
}
