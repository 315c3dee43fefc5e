// SPDX-License-Identifier: MIT
/*
 * No process of a restored tree runs before every process of it is
 * restored (doc/trees.md, "Restore"). The parent has little memory and
 * restores fast; its children each have 64 MiB to fill and restore
 * slowly. The parent looks at its children every millisecond: each must
 * be running as itself (its own name in /proc/PID/comm, never crload's)
 * whenever the parent runs, and answer a ping through a pipe at once. On
 * stop the children check their memory, the parent reaps them.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtm.h"

#define KIDS 3
#define BIG (64UL << 20)

static int child(int in, int out, unsigned seed)
{
	unsigned char *mem =
		mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char c;

	if (mem == MAP_FAILED)
		return 2;
	test_fill(mem, BIG, seed);
	prctl(PR_SET_NAME, "tb-child");
	if (write(out, "r", 1) != 1)
		return 3;
	/* Every ping gets its answer; EOF ends the child. */
	while (read(in, &c, 1) == 1)
		if (write(out, &c, 1) != 1)
			return 4;
	return test_filled(mem, BIG, seed) ? 0 : 5;
}

/* The name pid runs under now, without the newline. */
static void comm_of(pid_t pid, char *name, size_t len)
{
	char path[64];
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		n = read(fd, name, len - 1);
		close(fd);
	}
	if (n <= 0)
		n = snprintf(name, len, "(unreadable)");
	name[n] = '\0';
	name[strcspn(name, "\n")] = '\0';
}

int main(int argc, char **argv)
{
	int down[KIDS], up[KIDS], st;
	pid_t kids[KIDS];
	unsigned long rounds = 0;
	char c, name[32];

	test_init(argc, argv);
	for (int i = 0; i < KIDS; i++) {
		int d[2], u[2];

		if (pipe(d) || pipe(u))
			test_fail("pipe");
		kids[i] = fork();
		if (kids[i] < 0)
			test_fail("fork");
		if (kids[i] == 0) {
			/* Only its parent may hold its pipes' other ends. */
			for (int j = 0; j < i; j++) {
				close(down[j]);
				close(up[j]);
			}
			close(d[1]);
			close(u[0]);
			_exit(child(d[0], u[1], 77 + (unsigned)i));
		}
		close(d[0]);
		close(u[1]);
		down[i] = d[1];
		up[i] = u[0];
		if (read(up[i], &c, 1) != 1 || c != 'r')
			test_fail("child %d never became ready", kids[i]);
	}
	test_ready();
	while (!test_stopping()) {
		for (int i = 0; i < KIDS; i++) {
			comm_of(kids[i], name, sizeof(name));
			if (strcmp(name, "tb-child"))
				test_fail("after %lu rounds, child %d runs as \"%s\" while its "
					  "parent runs",
					  rounds, kids[i], name);
			c = (char)rounds;
			if (write(down[i], &c, 1) != 1 || read(up[i], &c, 1) != 1 ||
			    c != (char)rounds)
				test_fail("child %d does not answer after %lu rounds", kids[i],
					  rounds);
		}
		rounds++;
		usleep(1000);
	}
	for (int i = 0; i < KIDS; i++) {
		close(down[i]);
		if (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st) || WEXITSTATUS(st))
			test_fail("child %d ended with status 0x%x", kids[i], st);
	}
	test_pass();
}
