// SPDX-License-Identifier: MIT
/*
 * bench: a program that works on a tenth of its memory right after a
 * restore, for crload --lazy (doc/lazy-restore.md). It fills MIB MiB of
 * private memory, touches ./ready and waits for ./go, which bench/run
 * makes right before it starts crload: the restored program starts at
 * once. Then it goes again and again over the middle tenth of its
 * memory, adding a word of each page and writing it back, until SECONDS
 * after ./go was made (the restore's time counts), and prints how many
 * pages it went over.
 *   bench/lazytouch MIB SECONDS
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096
#define WORDS (PAGE / sizeof(uint64_t))

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	size_t pages = (argc > 1 ? strtoul(argv[1], NULL, 10) : 64) << 20 >> 12;
	double seconds = argc > 2 ? atof(argv[2]) : 1, end;
	uint64_t *mem = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct timespec pause = { 0, 1000 * 1000 };
	struct stat st;
	uint64_t sum = 0, done = 0;
	FILE *f;

	if (mem == MAP_FAILED)
		return 1;
	for (size_t i = 0; i < pages * WORDS; i++)
		mem[i] = i * 0x9e3779b97f4a7c15ULL;
	f = fopen("ready", "w");
	if (f)
		fclose(f);
	while (stat("go", &st))
		nanosleep(&pause, NULL);
	end = (double)st.st_mtim.tv_sec + (double)st.st_mtim.tv_nsec / 1e9 + seconds;
	while (now_s() < end)
		for (size_t p = pages / 20 * 9; p < pages / 20 * 11 && now_s() < end; p += 64)
			for (size_t k = p; k < p + 64; k++, done++) {
				uint64_t *w = mem + k * WORDS;

				sum += w[done % WORDS];
				w[0] = sum;
			}
	printf("%llu\n", (unsigned long long)done);
	return 0;
}
