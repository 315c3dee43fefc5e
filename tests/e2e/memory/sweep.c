// SPDX-License-Identifier: MIT
/*
 * Memory that changes all the time, captured as one instant: the program
 * sweeps a generation number through 32 MiB of pages without a pause,
 * each page expected to hold the previous generation when its turn comes.
 * crdump --leave-running reads the pages from a copy of the process while
 * the original sweeps on (doc/crdump-snapshot.md): any page read later or
 * earlier than the registers and the rest breaks the expectation after
 * restore, in this sweep or the next.
 */
#include <stdlib.h>
#include <sys/mman.h>

#include "zdtm.h"

#define PAGES 8192
#define WORDS (4096 / sizeof(uint64_t))

int main(int argc, char **argv)
{
	uint64_t *mem, gen = 1, sweeps = 0;

	test_init(argc, argv);
	mem = mmap(NULL, PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		   0);
	if (mem == MAP_FAILED)
		test_fail("mmap: %m");
	/* Generation 0 everywhere; the page's index beside it, so that no
	 * page is a zero page and every page differs from the others. */
	for (uint64_t i = 0; i < PAGES; i++)
		mem[i * WORDS + 1] = test_mix(i);
	test_ready();
	while (!test_stopping()) {
		for (uint64_t i = 0; i < PAGES; i++) {
			uint64_t *page = &mem[i * WORDS];

			if (page[0] != gen - 1 || page[1] != test_mix(i))
				test_fail("page %llu holds generation %llu in sweep %llu",
					  (unsigned long long)i, (unsigned long long)page[0],
					  (unsigned long long)gen);
			page[0] = gen;
		}
		gen++;
		sweeps++;
	}
	if (sweeps < 10)
		test_fail("only %llu sweeps", (unsigned long long)sweeps);
	test_pass();
}
