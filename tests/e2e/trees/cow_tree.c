// SPDX-License-Identifier: MIT
/*
 * A parent and two children that rewrite their private memory without a
 * pause while the tree's checkpoint leaves them running (each process's
 * pages written by a copy of it, doc/cow-capture.md), and count in turns
 * through shared memory meanwhile:
 *
 * - every page holds the previous generation when its turn comes, after
 *   restore too: each process's memory is one instant;
 * - no process sees a child it did not make: the children never get
 *   SIGCHLD and waitpid(-1) finds them no child; the parent's finds no
 *   child that ended (its own run until told to stop) and it gets no
 *   SIGCHLD before then;
 * - the count in the shared page moves in turns, one instant for all.
 *
 * E2E_TREE_MB="ROOT CHILD1 CHILD2": MiB of private memory of each process
 * (default 16 each), e.g. one big child to be held for want of room.
 * E2E_TREE_EVERY=N: a sweep rewrites one page in N (default every page),
 * and the others must keep what they were filled with: most of the
 * memory is then left to the parent of an incremental image.
 * E2E_TREE_PAUSE=FILE: no process sweeps while FILE exists, so that a
 * test can tell what was written between two instants.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtm.h"

#define PAGE 4096
#define WORDS (PAGE / sizeof(uint64_t))
#define KIDS 2

struct shared {
	uint64_t count; /* the process whose turn it is: count % (KIDS + 1) */
	uint32_t ready; /* children whose memory is filled */
	uint32_t stop;
};

static volatile sig_atomic_t sigchld_seen;

static void on_sigchld(int sig)
{
	(void)sig;
	sigchld_seen = 1;
}

static size_t every = 1; /* E2E_TREE_EVERY */
static const char *pause_file; /* E2E_TREE_PAUSE */

static bool paused(void)
{
	return pause_file && access(pause_file, F_OK) == 0;
}

/* Every page of mem the sweeps rewrite holds generation gen - 1, then
 * gen; the others hold generation 0. */
static const char *sweep(uint64_t *mem, size_t pages, uint64_t gen)
{
	for (size_t i = 0; i < pages; i++) {
		uint64_t *page = &mem[i * WORDS];
		bool rewritten = i % every == 0;

		if (page[0] != (rewritten ? gen - 1 : 0) || page[1] != test_mix(i))
			return "a page holds another generation";
		if (rewritten)
			page[0] = gen;
	}
	return NULL;
}

static uint64_t *private_memory(size_t mb)
{
	size_t pages = mb << 8;
	uint64_t *p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			   -1, 0);

	if (p == MAP_FAILED)
		test_fail("mmap: %m");
	for (size_t i = 0; i < pages; i++)
		p[i * WORDS + 1] = test_mix(i);
	return p;
}

/* Its turn in the shared count (false once stopped). */
static bool take_turn(struct shared *s, unsigned me)
{
	uint64_t c = __atomic_load_n(&s->count, __ATOMIC_ACQUIRE);

	if (c % (KIDS + 1) != me)
		return false;
	__atomic_store_n(&s->count, c + 1, __ATOMIC_RELEASE);
	return true;
}

/* A child: sweeps and counts until told to stop; its exit status says
 * what went wrong (0: nothing). */
static int child(struct shared *s, unsigned me, size_t mb)
{
	uint64_t *mem = private_memory(mb), gen = 1;
	const char *bad;
	int status;

	__atomic_fetch_add(&s->ready, 1, __ATOMIC_RELEASE);

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
		if (!paused() && (bad = sweep(mem, mb << 8, gen++))) {
			fprintf(stderr, "child %u: %s\n", me, bad);
			return 2;
		}
		take_turn(s, me);
		if (waitpid(-1, &status, WNOHANG) != -1 || errno != ECHILD) {
			fprintf(stderr, "child %u: waitpid(-1) found a child\n", me);
			return 3;
		}
		if (sigchld_seen) {
			fprintf(stderr, "child %u: SIGCHLD, and it has no child\n", me);
			return 4;
		}
		usleep(100);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct shared *s =
		mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	size_t mb[KIDS + 1] = { 16, 16, 16 };
	const char *env = getenv("E2E_TREE_MB"), *env_every = getenv("E2E_TREE_EVERY");
	uint64_t *mem, gen = 1, turns = 0;
	pid_t kids[KIDS];
	int status;

	test_init(argc, argv);
	if (s == MAP_FAILED)
		test_fail("mmap: %m");
	if (env && sscanf(env, "%zu %zu %zu", &mb[0], &mb[1], &mb[2]) != 3)
		test_fail("E2E_TREE_MB: three numbers of MiB, not \"%s\"", env);
	if (env_every && (sscanf(env_every, "%zu", &every) != 1 || !every))
		test_fail("E2E_TREE_EVERY: a number of pages, not \"%s\"", env_every);
	pause_file = getenv("E2E_TREE_PAUSE");
	signal(SIGCHLD, on_sigchld);
	for (unsigned k = 0; k < KIDS; k++) {
		kids[k] = fork();
		if (kids[k] < 0)
			test_fail("fork: %m");
		if (kids[k] == 0)
			_exit(child(s, k + 1, mb[k + 1]));
	}
	mem = private_memory(mb[0]);
	while (__atomic_load_n(&s->ready, __ATOMIC_ACQUIRE) < KIDS) {
		if (waitpid(-1, &status, WNOHANG) > 0)
			test_fail("a child ended before its memory was filled (0x%x)", status);
		usleep(1000);
	}
	test_ready();
	while (!test_stopping()) {
		const char *bad = paused() ? NULL : sweep(mem, mb[0] << 8, gen++);
		pid_t pid;

		if (bad)
			test_fail("%s", bad);
		turns += take_turn(s, 0);
		pid = waitpid(-1, &status, WNOHANG);
		if (pid != 0)
			test_fail("waitpid(-1) found %d, and no child of its own ended (%m)",
				  (int)pid);
		if (sigchld_seen)
			test_fail("SIGCHLD, and no child of its own ended");
		usleep(100);
	}
	/* The count still moves through every process. */
	for (uint64_t want = turns + 20; turns < want;) {
		uint64_t before = turns;

		for (int i = 0; i < 50000 && turns == before; i++) {
			turns += take_turn(s, 0);
			usleep(100);
		}
		if (turns == before)
			test_fail("the children no longer count through the shared memory");
	}
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
	for (unsigned k = 0; k < KIDS; k++)
		if (waitpid(kids[k], &status, 0) != kids[k] || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			test_fail("child %u ended with 0x%x", k + 1, status);
	test_pass();
}
