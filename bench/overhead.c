// SPDX-License-Identifier: MIT
/* bench: the runtime's overhead on calls it could slow down. Prints
 * "name nanoseconds-per-iteration" for each loop, or only for the loops
 * named as arguments; bench/run runs it natively and preloaded. */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void *nothing(void *arg)
{
	return arg;
}

/* With names on the command line, only those loops run. */
static int nwanted;
static char **wanted;

static bool want(const char *name)
{
	for (int i = 0; i < nwanted; i++)
		if (!strcmp(wanted[i], name))
			return true;
	return !nwanted;
}

#define TIME(name, n, body)                                                                        \
	do {                                                                                       \
		if (!want(name))                                                                   \
			break;                                                                     \
		double t0 = now();                                                                 \
		for (long i_ = 0; i_ < (n); i_++) {                                                \
			body;                                                                      \
		}                                                                                  \
		printf("%s %.1f\n", name, (now() - t0) / (double)(n));                             \
	} while (0)

int main(int argc, char **argv)
{
	char *argv_true[] = { "true", NULL };
	sigset_t set;

	nwanted = argc - 1;
	wanted = argv + 1;
	TIME("open_close", 200000, close(open("/dev/null", O_RDONLY)));
	TIME("pthread_create_join", 5000, {
		pthread_t t;
		pthread_create(&t, NULL, nothing, NULL);
		pthread_join(t, NULL);
	});
	TIME("fork_wait", 1000, {
		pid_t p = fork();
		if (p == 0)
			_exit(0);
		waitpid(p, NULL, 0);
	});
	/* Under the runtime the exec'd program runs the runtime's constructor
	 * too: this is what a shell or make pays per command. */
	TIME("fork_exec_wait", 300, {
		pid_t p = fork();
		if (p == 0) {
			execve("/bin/true", argv_true, environ);
			_exit(127);
		}
		waitpid(p, NULL, 0);
	});
	TIME("malloc_free", 5000000, {
		void *volatile p = malloc(64 + (size_t)(i_ & 1023));
		free(p);
	});
	sigemptyset(&set);
	TIME("sigprocmask", 1000000, sigprocmask(SIG_BLOCK, &set, NULL));
	return 0;
}
