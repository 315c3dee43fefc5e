// SPDX-License-Identifier: MIT
/*
 * bench: a program that works on N MiB of private memory without a pause
 * and records its progress, for the downtime of a checkpoint that leaves
 * it running (issue 16, doc/cow-capture.md). The work is one of three
 * loops: "stream" writes every word of the memory in order (a STREAM-like
 * pass), "seq" one word in every page in order (each write a page's first
 * since the snapshot: the worst case of copy-on-write), "rand" single
 * words at random places. Every millisecond or so
 * the loop notes the time and its count of writes; at the end (SECONDS
 * after ./ready) the samples go to OUT, one "ns count" line each, for
 * bench/run to find the stop (the longest gap) and the rates before and
 * after it. PROGRESS_THP=1 asks for the memory in transparent huge pages
 * (MADV_HUGEPAGE), as a program on a machine with THP "always" has it.
 *   bench/progress MIB stream|seq|rand SECONDS OUT
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096
#define WORDS_PER_PAGE (PAGE / sizeof(uint64_t))
/*
 * Writes between two looks at the clock: at most 16 pages' worth, so that
 * the longest gap between samples is the stop and not the stop plus a
 * batch of first writes after it (each a copy-on-write fault of some 3 us
 * once a snapshot was taken: 4096 of them in seq added 12 ms or more to
 * the gap). Stream's 4096 words are 8 pages; a look at the clock (some
 * 20 ns) per 16 writes of seq or rand, each to a page of its own, costs
 * them about 1%.
 */
#define STREAM_BATCH 4096
#define PAGE_BATCH 16
#define SAMPLE_NS 1000000ULL
#define MAX_SAMPLES (1 << 20)

struct sample {
	uint64_t ns, count;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* xorshift64: cheap, and no two runs' addresses differ in kind. */
static uint64_t next_random(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

int main(int argc, char **argv)
{
	size_t len, words, pages, at = 0, n = 0;
	uint64_t *mem, end, last = 0, count = 0, seed = 0x9e3779b97f4a7c15ULL, batch;
	struct sample *samples;
	bool sequential, stream;
	const char *thp;
	FILE *out;

	if (argc != 5 ||
	    (strcmp(argv[2], "stream") && strcmp(argv[2], "seq") && strcmp(argv[2], "rand"))) {
		fprintf(stderr, "usage: progress MIB stream|seq|rand SECONDS OUT\n");
		return 2;
	}
	len = strtoul(argv[1], NULL, 10) << 20;
	words = len / sizeof(uint64_t);
	pages = len / PAGE;
	sequential = !strcmp(argv[2], "seq");
	stream = !strcmp(argv[2], "stream");
	batch = stream ? STREAM_BATCH : PAGE_BATCH;
	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	samples = malloc(sizeof(*samples) * MAX_SAMPLES);
	if (mem == MAP_FAILED || !samples)
		return 1;
	thp = getenv("PROGRESS_THP");
	if (thp && !strcmp(thp, "1") && madvise(mem, len, MADV_HUGEPAGE))
		return 1;
	for (size_t i = 0; i < words; i++)
		mem[i] = i * 0x9e3779b97f4a7c15ULL + 1;
	close(open("ready", O_WRONLY | O_CREAT | O_TRUNC, 0644));
	end = now_ns() + strtoull(argv[3], NULL, 10) * 1000000000ULL;
	for (;;) {
		uint64_t t;

		if (stream) {
			for (uint64_t i = 0; i < batch; i++) {
				mem[at] += 1;
				if (++at == words)
					at = 0;
			}
		} else if (sequential) {
			for (uint64_t i = 0; i < batch; i++) {
				mem[at * WORDS_PER_PAGE] += 1;
				if (++at == pages)
					at = 0;
			}
		} else {
			for (uint64_t i = 0; i < batch; i++)
				mem[next_random(&seed) % words] += 1;
		}
		count += batch;
		t = now_ns();
		if (t - last >= SAMPLE_NS && n < MAX_SAMPLES) {
			samples[n++] = (struct sample){ t, count };
			last = t;
		}
		if (t >= end)
			break;
	}
	out = fopen(argv[4], "w");
	if (!out)
		return 1;
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%llu %llu\n", (unsigned long long)samples[i].ns,
			(unsigned long long)samples[i].count);
	return fclose(out) ? 1 : 0;
}
