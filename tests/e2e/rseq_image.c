// SPDX-License-Identifier: MIT
/*
 * rseq_image DIR: exits 0 if, in every process of the image, the rseq
 * area of every thread that had one registered reads as unregistered
 * (cpu_id -1) in the pages written. The runtime unregisters a thread's
 * area while it is parked and while it checkpoints (runtime/freeze.c,
 * rseq_pause): a registered area may be rewritten by the kernel between
 * the checksum of its page and the write of that page, which leaves an
 * image that does not verify. Otherwise it names the first such thread.
 */
#include <stdio.h>
#include <string.h>

#include "image.h"

/* Offset of cpu_id in struct rseq, and its value while unregistered. */
#define RSEQ_CPU_ID_OFFSET 4
#define RSEQ_CPU_ID_UNINITIALIZED (-1)

int main(int argc, char **argv)
{
	struct sc_image img;
	char err[SC_ERR_LEN];
	int checked = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: rseq_image DIR\n");
		return 2;
	}
	if (sc_image_load(argv[1], &img, err)) {
		fprintf(stderr, "rseq_image: %s\n", err);
		return 1;
	}
	for (size_t p = 0; p < img.nprocs; p++) {
		const struct sc_proc_img *pi = &img.procs[p];
		struct sc_pages pg;

		if (sc_pages_open(&pg, &img, pi, err)) {
			fprintf(stderr, "rseq_image: %s\n", err);
			return 1;
		}
		for (size_t t = 0; t < pi->core->n_threads; t++) {
			const Sc__ThreadCore *tc = pi->core->threads[t];
			uint64_t at = tc->rseq_ptr + RSEQ_CPU_ID_OFFSET;
			const struct sc_run *r;
			int32_t cpu_id;

			if (!tc->rseq_ptr)
				continue;
			r = sc_run_at(pi, at);
			if (!r || sc_pages_read(&pg, r, at, &cpu_id, sizeof(cpu_id))) {
				fprintf(stderr, "rseq_image: thread %d: its rseq area is not in the image\n",
					tc->tid);
				return 1;
			}
			if (cpu_id != RSEQ_CPU_ID_UNINITIALIZED) {
				fprintf(stderr,
					"rseq_image: thread %d: its rseq area was registered while "
					"written (cpu_id %d)\n",
					tc->tid, cpu_id);
				return 1;
			}
			checked++;
		}
		sc_pages_close(&pg);
	}
	printf("%d rseq areas unregistered while written\n", checked);
	sc_image_free(&img);
	return 0;
}
