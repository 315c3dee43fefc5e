// SPDX-License-Identifier: MIT
/* bench: a process with N MiB of touched, non-zero anonymous memory and
 * T idle threads, in transparent huge pages if the third argument is
 * "huge" (MADV_HUGEPAGE); creates ./ready and sleeps until killed. */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void *idle(void *arg)
{
	for (;;)
		pause();
	return NULL;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
	int threads = argc > 2 ? atoi(argv[2]) : 0;
	size_t len = mib << 20;
	uint64_t *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pthread_t t;

	if (mem == MAP_FAILED)
		return 1;
	if (argc > 3 && !strcmp(argv[3], "huge"))
		madvise(mem, len, MADV_HUGEPAGE);
	for (size_t i = 0; i < len / 8; i++)
		mem[i] = i * 0x9e3779b97f4a7c15ULL + 1;
	for (int i = 0; i < threads; i++)
		pthread_create(&t, NULL, idle, NULL);
	close(open("ready", O_WRONLY | O_CREAT, 0644));
	for (;;)
		pause();
}
