/* SPDX-License-Identifier: MIT */
/* What the helpers of tests/e2e/lazy.sh (lazytree.c, lazyshm.c,
 * lazyrace.c) share: their known words, the files they meet by, and the
 * parent's reaping. */
#ifndef SELFCKPT_LAZY_TREE_H
#define SELFCKPT_LAZY_TREE_H

#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* x mixed into a word that is never zero: a zero page cannot pass. */
static inline uint64_t lazy_word(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x | 1;
}

/* Word j of page p of rank's memory is not what it should be: said in
 * out, which is closed, and the process exits 1. */
static inline void __attribute__((noreturn))
lazy_mismatch(FILE *out, unsigned rank, size_t p, size_t j, uint64_t got, uint64_t want)
{
	fprintf(out, "FAIL: rank %u: page %zu word %zu: %016" PRIx64 ", expected %016" PRIx64 "\n",
		rank, p, j, got, want);
	fclose(out);
	exit(1);
}

/* ./NAME holding this process's pid. */
static inline void lazy_touch(const char *name)
{
	int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd >= 0) {
		dprintf(fd, "%d\n", (int)getpid());
		close(fd);
	}
}

static inline void lazy_sleep_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

/* Until ./NAME exists. */
static inline void lazy_wait_for(const char *name)
{
	while (access(name, F_OK))
		lazy_sleep_ms(10);
}

/* The parent, once ./WHAT-1 to ./WHAT-n exist (its children are ready):
 * ./ready touched, then until ./go exists (checkpointed meanwhile). */
static inline void lazy_ready(const char *what, unsigned n)
{
	for (unsigned k = 1; k <= n; k++) {
		char name[64];

		snprintf(name, sizeof(name), "%s-%u", what, k);
		lazy_wait_for(name);
	}
	lazy_touch("ready");
	lazy_wait_for("go");
}

/* n children forked, their pids in pids[]: in each, its rank (1 to n);
 * in the parent, 0. A failed fork exits 2. */
static inline unsigned lazy_fork_children(pid_t *pids, unsigned n)
{
	for (unsigned k = 1; k <= n; k++) {
		pids[k - 1] = fork();
		if (pids[k - 1] < 0) {
			perror("fork");
			exit(2);
		}
		if (pids[k - 1] == 0)
			return k;
	}
	return 0;
}

/* Child forker forks a grandchild of rank grank: the rank the caller goes
 * on as (grank in the grandchild), and in *grandchild the pid of the one
 * it forked (-1 when the fork failed), else 0. */
static inline unsigned lazy_grandchild(unsigned rank, unsigned forker, unsigned grank,
				       pid_t *grandchild)
{
	*grandchild = 0;
	if (rank != forker)
		return rank;
	*grandchild = fork();
	return *grandchild == 0 ? grank : rank;
}

/* A child (or grandchild) after its part: 0, or with a grandchild, that
 * one's status once it ended (2 when the fork failed). */
static inline void __attribute__((noreturn)) lazy_exit_after(pid_t grandchild)
{
	int status = 0;

	if (!grandchild)
		exit(0);
	if (grandchild < 0 || waitpid(grandchild, &status, 0) != grandchild)
		exit(2);
	exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

/* The n children pids[] reaped, each that did not exit 0 said on stdout;
 * whether all did. */
static inline bool lazy_reap(const pid_t *pids, unsigned n)
{
	bool good = true;

	for (unsigned k = 1; k <= n; k++) {
		int status;

		if (waitpid(pids[k - 1], &status, 0) != pids[k - 1] || !WIFEXITED(status) ||
		    WEXITSTATUS(status)) {
			printf("child %u ended with status %#x\n", k, status);
			good = false;
		}
	}
	return good;
}

#endif
