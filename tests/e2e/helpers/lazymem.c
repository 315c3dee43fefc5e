// SPDX-License-Identifier: MIT
/*
 * Memory for crload --lazy (tests/e2e/lazy.sh): MB MiB (argv[1], default
 * 256) of pages whose words derive from their index and version, and three
 * small regions mapped before it (above it: filled last by the page
 * server, which goes up from the lowest address). It touches ./ready and
 * waits for ./go, checkpointed meanwhile. ./mutate asks it to write the
 * first eighth again at version 1 (then it touches ./mutated), for an
 * incremental image.
 *
 * Once ./go exists (made before the restore, so the restored program sees
 * it at once), right away:
 *   - MADV_DONTNEED on half of region B: zeros there, its contents in the
 *     other half;
 *   - region C moved by mremap: its contents at the new place;
 *   - read() from a pipe into a page of region D: the bytes read, and the
 *     rest of the page as it was;
 *   - fork: the child checks the whole of the big region, the parent too.
 * Prints "ok" and how many of B's pages were still missing before the
 * madvise, then exits 0; any mismatch prints "FAIL: ..." and exits 1.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define SMALL (16UL << 20)

static uint64_t word(uint64_t region, size_t page, size_t j, uint32_t v)
{
	uint64_t x = (region << 56) ^ ((uint64_t)page << 20) ^ ((uint64_t)v << 48) ^ j;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x | 1; /* never zero: a zero page cannot pass */
}

static void fill(uint8_t *mem, uint64_t region, size_t from, size_t to, uint32_t v)
{
	for (size_t p = from; p < to; p++)
		for (size_t j = 0; j < PAGE / 8; j++)
			((uint64_t *)(mem + p * PAGE))[j] = word(region, p, j, v);
}

static void check(const uint8_t *mem, uint64_t region, size_t from, size_t to,
		  uint32_t (*version)(size_t), const char *what)
{
	for (size_t p = from; p < to; p++)
		for (size_t j = 0; j < PAGE / 8; j++) {
			uint64_t got = ((const uint64_t *)(mem + p * PAGE))[j];
			uint64_t want = word(region, p, j, version(p));

			if (got != want) {
				printf("FAIL: %s: page %zu word %zu: %016" PRIx64
				       ", expected %016" PRIx64 "\n",
				       what, p, j, got, want);
				fflush(stdout);
				exit(1);
			}
		}
}

static size_t big_pages;
static bool mutated;

static uint32_t big_version(size_t p)
{
	return mutated && p < big_pages / 8;
}

static uint32_t zero_version(size_t p)
{
	(void)p;
	return 0;
}

static bool exists(const char *path)
{
	struct stat st;

	return !stat(path, &st);
}

static void touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

	if (fd >= 0)
		close(fd);
}

/* Pages of [p, p + len) not in memory, by mincore. */
static size_t missing(uint8_t *p, size_t len)
{
	unsigned char vec[SMALL / PAGE];
	size_t n = 0;

	if (mincore(p, len, vec))
		return 0;
	for (size_t i = 0; i < len / PAGE; i++)
		n += !(vec[i] & 1);
	return n;
}

static uint8_t *map(size_t len)
{
	uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	return p;
}

int main(int argc, char **argv)
{
	size_t mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 256, b_missing;
	uint8_t *b = map(SMALL), *c = map(SMALL), *d = map(SMALL), *big, *moved;
	struct timespec pause = { 0, 5 * 1000 * 1000 };
	const char msg[] = "read into a page the page server had not filled";
	char *into;
	int pfd[2], status;
	pid_t child;

	big_pages = mb * (1 << 20) / PAGE;
	big = map(big_pages * PAGE);
	fill(b, 1, 0, SMALL / PAGE, 0);
	fill(c, 2, 0, SMALL / PAGE, 0);
	fill(d, 3, 0, SMALL / PAGE, 0);
	fill(big, 4, 0, big_pages, 0);
	touch("ready");
	while (!exists("go")) {
		if (!mutated && exists("mutate")) {
			fill(big, 4, 0, big_pages / 8, 1);
			mutated = true;
			touch("mutated");
		}
		nanosleep(&pause, NULL);
	}

	b_missing = missing(b, SMALL);
	if (madvise(b + SMALL / 2, SMALL / 2, MADV_DONTNEED))
		perror("madvise");
	for (size_t i = SMALL / 2; i < SMALL; i += 8)
		if (*(uint64_t *)(b + i)) {
			printf("FAIL: region B after MADV_DONTNEED: byte %zu is not zero\n", i);
			return 1;
		}
	check(b, 1, 0, SMALL / PAGE / 2, zero_version, "region B's first half");

	moved = mmap(NULL, SMALL, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	moved = mremap(c, SMALL, SMALL, MREMAP_MAYMOVE | MREMAP_FIXED, moved);
	if (moved == MAP_FAILED) {
		perror("mremap");
		return 2;
	}
	check(moved, 2, 0, SMALL / PAGE, zero_version, "region C moved");

	into = (char *)d + SMALL / 2 + 100;
	if (pipe(pfd) || write(pfd[1], msg, sizeof(msg)) != (ssize_t)sizeof(msg) ||
	    read(pfd[0], into, sizeof(msg)) != (ssize_t)sizeof(msg) ||
	    memcmp(into, msg, sizeof(msg))) {
		printf("FAIL: read() into region D\n");
		return 1;
	}
	check(d, 3, 0, SMALL / PAGE / 2, zero_version, "region D");
	check(d, 3, SMALL / PAGE / 2 + 1, SMALL / PAGE, zero_version, "region D");
	for (size_t j = 0; j < PAGE / 8; j++) {
		size_t at = SMALL / 2 + j * 8;

		if ((at + 8 <= SMALL / 2 + 100 || at >= SMALL / 2 + 100 + sizeof(msg)) &&
		    *(uint64_t *)(d + at) != word(3, SMALL / PAGE / 2, j, 0)) {
			printf("FAIL: region D's page read into: word %zu\n", j);
			return 1;
		}
	}

	fflush(stdout);
	child = fork();
	if (child == 0) {
		check(big, 4, 0, big_pages, big_version, "the big region, in a child");
		_exit(0);
	}
	check(big, 4, 0, big_pages, big_version, "the big region");
	if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		printf("FAIL: the child's check\n");
		return 1;
	}
	printf("ok (%zu of region B's %lu pages missing before the madvise)\n", b_missing,
	       SMALL / PAGE);
	return 0;
}
