// SPDX-License-Identifier: MIT
/*
 * fork in a multi-threaded parent and exec from a non-main thread, before
 * and after the checkpoint, exactly as without the runtime. Two threads
 * compute all along. The main thread forks children that compute a known
 * chain and exit with a status derived from it. A third thread forks
 * children that start a thread of their own which execs /bin/echo (a
 * multi-threaded process replaced by exec from a non-main thread); the
 * parent reads the known line back through a pipe. The checkpoint comes
 * while the main thread forks (it may catch a child computing: it is part
 * of the tree); both kinds go on after the restore.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtm.h"

static volatile uint64_t spins[2];
static volatile bool done;
static volatile unsigned long forks_ok, execs_ok;
static volatile int exec_error;

static void *spin(void *arg)
{
	uint64_t x = 1;

	while (!done) {
		for (int i = 0; i < 1000; i++)
			x = test_mix(x);
		spins[(long)arg]++;
	}
	return (void *)(uintptr_t)x;
}

/* What a forked child computes, and the exit status it gives. */
static int chain_status(unsigned n)
{
	uint64_t x = n;

	for (int i = 0; i < 10000; i++)
		x = test_mix(x);
	return (int)(x % 200) + 1;
}

static void fork_compute(unsigned n)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		test_fail("fork");
	if (pid == 0) {
		/* malloc and stdio in the child of a threaded parent */
		char *buf = strdup("child");
		int st = chain_status(n);

		snprintf(buf, 6, "%d", st);
		_exit(atoi(buf) == st ? st : 255);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != chain_status(n))
		test_fail("forked child %u: status 0x%x, expected exit %d", n, status,
			  chain_status(n));
	forks_ok++;
}

static int exec_out;
static char exec_word[32];

static void *exec_thread(void *arg)
{
	char *argv[] = { "echo", "exec from a thread", exec_word, NULL };

	(void)arg;
	dup2(exec_out, 1);
	execv("/bin/echo", argv);
	_exit(127);
}

/* A child with two threads; its second thread execs echo. */
static void fork_thread_exec(unsigned n)
{
	int p[2], status;
	char buf[128], want[128];
	ssize_t got = 0, r;
	pid_t pid;

	if (pipe(p))
		test_fail("pipe");
	snprintf(exec_word, sizeof(exec_word), "%u", n);
	pid = fork();
	if (pid < 0)
		test_fail("fork");
	if (pid == 0) {
		pthread_t t;

		close(p[0]);
		exec_out = p[1];
		if (pthread_create(&t, NULL, exec_thread, NULL))
			_exit(126);
		pthread_join(t, NULL);
		_exit(125);
	}
	close(p[1]);
	while ((r = read(p[0], buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += r;
	close(p[0]);
	buf[got] = '\0';
	snprintf(want, sizeof(want), "exec from a thread %u\n", n);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) ||
	    strcmp(buf, want)) {
		exec_error = status ? status : 1;
		return;
	}
	execs_ok++;
}

static volatile bool ready;

/* Execs only before the checkpoint window: a tree member signalled just
 * as it execs is killed by the pending trigger signal (see the report in
 * doc/trees.md), so the window itself has only forks. */
static void *execer(void *arg)
{
	for (unsigned n = 0; !ready && !exec_error; n++) {
		fork_thread_exec(n);
		usleep(2000);
	}
	return arg;
}

int main(int argc, char **argv)
{
	pthread_t t[3];
	unsigned long forks_at_ready, execs_at_ready, spins_at_ready[2];

	test_init(argc, argv);
	for (long i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, spin, (void *)i))
			test_fail("pthread_create");
	if (pthread_create(&t[2], NULL, execer, NULL))
		test_fail("pthread_create");
	for (unsigned n = 0; n < 20; n++)
		fork_compute(n);
	while (execs_ok < 3 && !exec_error)
		usleep(1000);
	ready = true;
	pthread_join(t[2], NULL);
	forks_at_ready = forks_ok;
	execs_at_ready = execs_ok;
	spins_at_ready[0] = spins[0];
	spins_at_ready[1] = spins[1];
	test_ready();
	for (unsigned n = 20; !test_stopping(); n++) {
		fork_compute(n);
		usleep(2000);
	}
	/* After the restore, while the computing threads still run: a few
	 * more of each, then the counts. */
	for (unsigned n = 0; n < 5; n++) {
		fork_compute(1000 + n);
		fork_thread_exec(1000 + n);
	}
	done = true;
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	if (exec_error)
		test_fail("exec from a thread: status 0x%x or wrong line", exec_error);
	if (forks_ok < forks_at_ready + 5 || execs_ok < execs_at_ready + 5)
		test_fail("forks %lu (%lu at ready), execs %lu (%lu at ready)", forks_ok,
			  forks_at_ready, execs_ok, execs_at_ready);
	if (spins[0] <= spins_at_ready[0] || spins[1] <= spins_at_ready[1])
		test_fail("the computing threads stopped");
	test_pass();
}
