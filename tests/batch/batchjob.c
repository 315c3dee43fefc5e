// SPDX-License-Identifier: MIT
/*
 * A batch job's computation: STEPS steps of a deterministic recurrence,
 * each written to OUTPUT (opened anew, as programs do) and to stdout,
 * STEP_MS apart, and the result at the end. An uninterrupted run and one
 * checkpointed, stopped and restored any number of times write the same
 * OUTPUT. It says on stdout if a signal reaches it: under crrun none of
 * the batch system's may.
 *
 *   batchjob STEPS OUTPUT [STEP_MS] [EXIT_STATUS]
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIX_ROUNDS 100000
#define DEFAULT_STEP_MS 100

static void saw(int sig)
{
	char msg[64];
	int n = snprintf(msg, sizeof(msg), "batchjob saw signal %d\n", sig);

	if (write(STDOUT_FILENO, msg, (size_t)n) < 0)
		_exit(1);
}

int main(int argc, char **argv)
{
	static const int watched[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGCONT };
	uint64_t x = 88172645463325252ULL;
	long steps, step_ms = DEFAULT_STEP_MS;
	FILE *out;

	if (argc < 3 || (steps = atol(argv[1])) <= 0) {
		fprintf(stderr, "usage: batchjob STEPS OUTPUT [STEP_MS] [EXIT_STATUS]\n");
		return 2;
	}
	if (argc > 3)
		step_ms = atol(argv[3]);
	for (size_t i = 0; i < sizeof(watched) / sizeof(watched[0]); i++)
		signal(watched[i], saw);
	if (!(out = fopen(argv[2], "w"))) {
		perror(argv[2]);
		return 2;
	}
	for (long i = 0; i < steps; i++) {
		for (int k = 0; k < MIX_ROUNDS; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
		}
		fprintf(out, "step %ld %016llx\n", i, (unsigned long long)x);
		fflush(out);
		printf("step %ld\n", i);
		fflush(stdout);
		usleep((useconds_t)step_ms * 1000);
	}
	fprintf(out, "result %016llx\n", (unsigned long long)x);
	fclose(out);
	return argc > 4 ? atoi(argv[4]) : 0;
}
