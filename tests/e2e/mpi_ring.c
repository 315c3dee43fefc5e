// SPDX-License-Identifier: MIT
/*
 * An MPI job the way HPC codes are written: each rank updates its own
 * block of numbers, exchanges a boundary value with its neighbours on a
 * ring (MPI_Sendrecv) and agrees with every rank on a global sum
 * (MPI_Allreduce), step after step. Rank 0 writes the sum of every
 * hundredth step to the file named by its argument, so a restored run
 * can be compared with an uninterrupted one byte for byte. Built by
 * tests/e2e/programs/mpi.sh with mpicc.
 */
#include <inttypes.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define STEPS 3000
#define CELLS 4096
#define REPORT_EVERY 100
/* The steps are slowed down so that the job runs long enough for a
 * checkpoint in the middle: 2 ms each, 6 s in all. */
#define STEP_NS 2000000L

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x + 0x9e3779b97f4a7c15ULL;
}

int main(int argc, char **argv)
{
	static uint64_t cells[CELLS];
	const struct timespec pause = { 0, STEP_NS };
	int rank, size, left, right;
	FILE *out = NULL;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	if (argc != 2) {
		if (!rank)
			fprintf(stderr, "usage: mpi_ring OUTPUT\n");
		MPI_Abort(MPI_COMM_WORLD, 2);
	}
	if (!rank) {
		out = fopen(argv[1], "w");
		if (!out) {
			perror(argv[1]);
			MPI_Abort(MPI_COMM_WORLD, 1);
		}
		setvbuf(out, NULL, _IOLBF, 0);
	}
	left = (rank + size - 1) % size;
	right = (rank + 1) % size;
	for (int i = 0; i < CELLS; i++)
		cells[i] = mix((uint64_t)rank * CELLS + (uint64_t)i);
	for (int step = 0; step < STEPS; step++) {
		uint64_t edge = cells[CELLS - 1], from_left, local = 0, total;

		MPI_Sendrecv(&edge, 1, MPI_UINT64_T, right, step, &from_left, 1, MPI_UINT64_T, left,
			     step, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		cells[0] = mix(cells[0] ^ from_left);
		for (int i = 1; i < CELLS; i++)
			cells[i] = mix(cells[i] + cells[i - 1]);
		for (int i = 0; i < CELLS; i++)
			local += cells[i] >> 8;
		MPI_Allreduce(&local, &total, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
		cells[step % CELLS] ^= total;
		if (!rank && step == 0)
			printf("computing on %d ranks\n", size);
		if (!rank && step % REPORT_EVERY == 0)
			fprintf(out, "step %d: %016" PRIx64 "\n", step, total);
		fflush(stdout);
		nanosleep(&pause, NULL);
	}
	if (!rank) {
		fprintf(out, "done: %d steps on %d ranks\n", STEPS, size);
		fclose(out);
	}
	MPI_Finalize();
	return 0;
}
