// SPDX-License-Identifier: MIT
/* The README demo: a job that computes step after step and says so. */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

int main(void)
{
	uint64_t x = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (unsigned step = 1; step <= 30; step++) {
		for (int i = 0; i < 1000000; i++)
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		printf("step %2u  value %016llx  (pid %d)\n", step, (unsigned long long)x, getpid());
		usleep(200000);
	}
	printf("done: %016llx\n", (unsigned long long)x);
	return 0;
}
