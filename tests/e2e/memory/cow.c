// SPDX-License-Identifier: MIT
/*
 * What the runtime's copy-on-write checkpoint (doc/cow-capture.md) must get
 * right while the program runs on beside the copy that writes its image:
 *
 * - private and shared anonymous memory rewritten without a pause are
 *   captured as one instant: every page holds the previous generation when
 *   its turn comes, after restore too (the copy makes the shared memory its
 *   own while the program is still parked);
 * - MADV_DONTFORK and MADV_WIPEONFORK memory (missing from, or zero in, a
 *   plain fork) is in the image, and keeps its advice, in the program and
 *   once restored;
 * - the copy is no child of the program's: no SIGCHLD, and waitpid(-1)
 *   finds no child at any moment.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "zdtm.h"

#define PAGE TEST_GEN_PAGE
#define PRIVATE_PAGES 16384 /* 64 MiB */
#define SHARED_PAGES 4096 /* 16 MiB */
#define ADVISED_LEN (1 << 20)
#define DONTFORK_SEED 17
#define WIPEONFORK_SEED 23

static volatile sig_atomic_t sigchld_seen;

static void on_sigchld(int sig)
{
	(void)sig;
	sigchld_seen = 1;
}

static uint64_t *map(size_t pages, int flags)
{
	uint64_t *p =
		mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		test_fail("mmap: %m");
	test_gen_label(p, pages, flags & MAP_SHARED ? PRIVATE_PAGES : 0);
	return p;
}

static unsigned char *advised(int advice, unsigned seed)
{
	unsigned char *p =
		mmap(NULL, ADVISED_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		test_fail("mmap: %m");
	test_fill(p, ADVISED_LEN, seed);
	if (madvise(p, ADVISED_LEN, advice))
		test_fail("madvise %d: %m", advice);
	return p;
}

/* The VmFlags line of the mapping at addr in /proc/self/smaps has flag. */
static bool vmflag(const void *addr, const char *flag)
{
	char line[512], want[32];
	bool in = false, found = false;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		test_fail("smaps: %m");
	snprintf(want, sizeof(want), " %s", flag);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in = (uintptr_t)addr >= lo && (uintptr_t)addr < hi;
			continue;
		}
		if (in && !strncmp(line, "VmFlags:", 8))
			found = strstr(line, want) != NULL;
	}
	fclose(f);
	return found;
}

int main(int argc, char **argv)
{
	uint64_t *priv, *shared, gen = 1, sweeps = 0;
	unsigned char *dontfork, *wipeonfork;
	int status;
	pid_t pid;

	test_init(argc, argv);
	signal(SIGCHLD, on_sigchld);
	priv = map(PRIVATE_PAGES, MAP_PRIVATE);
	shared = map(SHARED_PAGES, MAP_SHARED);
	dontfork = advised(MADV_DONTFORK, DONTFORK_SEED);
	wipeonfork = advised(MADV_WIPEONFORK, WIPEONFORK_SEED);
	test_ready();
	while (!test_stopping()) {
		test_gen_sweep(shared, SHARED_PAGES, PRIVATE_PAGES, gen);
		test_gen_sweep(priv, PRIVATE_PAGES, 0, gen);
		gen++;
		sweeps++;
		pid = waitpid(-1, &status, WNOHANG);
		if (pid != -1 || errno != ECHILD)
			test_fail("waitpid(-1) found a child: %d (%m)", (int)pid);
		if (sigchld_seen)
			test_fail("SIGCHLD, and the program has no child");
	}
	if (!test_filled(dontfork, ADVISED_LEN, DONTFORK_SEED))
		test_fail("the MADV_DONTFORK memory changed");
	if (!test_filled(wipeonfork, ADVISED_LEN, WIPEONFORK_SEED))
		test_fail("the MADV_WIPEONFORK memory changed");
	if (!vmflag(dontfork, "dc") || !vmflag(wipeonfork, "wf"))
		test_fail("the fork advice is gone");
	if (sweeps < 10)
		test_fail("only %llu sweeps", (unsigned long long)sweeps);
	test_pass();
}
