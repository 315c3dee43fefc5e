/* SPDX-License-Identifier: MIT */
/* What the trees of tests/e2e/lazy.sh (lazytree.c, lazyshm.c) share: their
 * known words, the files they meet by, and the parent's reaping. */
#ifndef SELFCKPT_LAZY_TREE_H
#define SELFCKPT_LAZY_TREE_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
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
