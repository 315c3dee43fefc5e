// SPDX-License-Identifier: MIT
/*
 * bench: N MiB of touched private memory for incremental checkpoints
 * (issue 16, doc/incremental.md), driven by files in its directory:
 *   dirty MIB sparse  after ./ready, each ./go-K makes it write one word
 *                     in 1% of its pages (different ones each time), then
 *                     ./did-K;
 *   dirty MIB triad|random SECONDS
 *                     after ./ready, once ./go-1 appears: a STREAM-like
 *                     triad (a = b + s * c over three thirds of the
 *                     memory) or random single-word updates, for SECONDS;
 *                     then ./rate holds the passes (or updates) a second.
 * bench/run times the first against full checkpoints and the second with
 * tracking armed or not.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096
#define WORDS_PER_PAGE (PAGE / sizeof(uint64_t))
#define SPARSE_SHARE 100 /* one page in this many per round */
#define BATCH 65536

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void touch(const char *fmt, int k)
{
	char name[32];

	snprintf(name, sizeof(name), fmt, k);
	close(open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644));
}

static void wait_file(const char *fmt, int k)
{
	char name[32];

	snprintf(name, sizeof(name), fmt, k);
	while (access(name, F_OK))
		usleep(2000);
}

int main(int argc, char **argv)
{
	size_t len, words, pages;
	uint64_t *mem;
	const char *mode;

	if (argc < 3) {
		fprintf(stderr, "usage: dirty MIB sparse | dirty MIB triad|random SECONDS\n");
		return 2;
	}
	len = strtoul(argv[1], NULL, 10) << 20;
	mode = argv[2];
	words = len / sizeof(uint64_t);
	pages = len / PAGE;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 1;
	for (size_t i = 0; i < words; i++)
		mem[i] = i * 0x9e3779b97f4a7c15ULL + 1;
	touch("ready", 0);
	if (!strcmp(mode, "sparse")) {
		/* Round k writes pages k, k + 100, k + 200...: 1%, never twice. */
		for (int k = 1; k < SPARSE_SHARE; k++) {
			wait_file("go-%d", k);
			for (size_t p = (size_t)k; p < pages; p += SPARSE_SHARE)
				mem[p * WORDS_PER_PAGE] += 1;
			touch("did-%d", k);
		}
		return 0;
	}
	if (argc < 4)
		return 2;
	wait_file("go-%d", 1);
	{
		double secs = strtod(argv[3], NULL), t0 = now(), t;
		uint64_t done = 0, seed = 0x9e3779b97f4a7c15ULL;
		size_t third = words / 3;
		FILE *out;

		do {
			if (!strcmp(mode, "triad")) {
				uint64_t *a = mem, *b = mem + third, *c = mem + 2 * third;

				for (size_t i = 0; i < third; i++)
					a[i] = b[i] + 3 * c[i];
				done++;
			} else {
				for (int i = 0; i < BATCH; i++) {
					seed ^= seed << 13;
					seed ^= seed >> 7;
					seed ^= seed << 17;
					mem[seed % words] += 1;
				}
				done += BATCH;
			}
			t = now();
		} while (t - t0 < secs);
		out = fopen("rate", "w");
		if (!out)
			return 1;
		fprintf(out, "%.6g\n", (double)done / (t - t0));
		return fclose(out) ? 1 : 0;
	}
}
