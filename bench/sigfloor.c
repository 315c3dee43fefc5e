// SPDX-License-Identifier: MIT
/*
 * bench: the floor under freezing a process. N idle threads each get one
 * signal with tgkill; the handler counts itself in and waits. Prints the
 * median time from the first tgkill until all N have counted in: what
 * any in-process freeze of N idle threads pays on this machine, before
 * saving a single register. usage: sigfloor [N [IDLE_SECONDS]]; the
 * threads idle that long before each round, as bench/run leaves the
 * checkpointed process idle.
 */
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 1024
#define ROUNDS 5

static int tids[MAX_THREADS];
static unsigned arrived, released;

static void futex(unsigned *addr, int op, unsigned val)
{
	syscall(SYS_futex, addr, op, val, NULL);
}

static void on_signal(int sig)
{
	__atomic_add_fetch(&arrived, 1, __ATOMIC_ACQ_REL);
	futex(&arrived, FUTEX_WAKE_PRIVATE, 1);
	while (!__atomic_load_n(&released, __ATOMIC_ACQUIRE))
		futex(&released, FUTEX_WAIT_PRIVATE, 0);
}

static void *idle(void *arg)
{
	__atomic_store_n(&tids[(long)arg], gettid(), __ATOMIC_RELEASE);
	for (;;)
		pause();
	return NULL;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 64;
	unsigned idle_s = argc > 2 ? (unsigned)atoi(argv[2]) : 0;
	double took[ROUNDS];
	pthread_t t;

	if (n < 1 || n > MAX_THREADS)
		return 2;
	signal(SIGUSR1, on_signal);
	for (long i = 0; i < n; i++)
		if (pthread_create(&t, NULL, idle, (void *)i))
			return 1;
	for (int i = 0; i < n; i++)
		while (!__atomic_load_n(&tids[i], __ATOMIC_ACQUIRE))
			usleep(1000);
	usleep(200000);
	for (int r = 0; r < ROUNDS; r++) {
		unsigned c;
		double t0;

		sleep(idle_s);
		arrived = released = 0;
		t0 = now_ms();
		for (int i = 0; i < n; i++)
			syscall(SYS_tgkill, getpid(), tids[i], SIGUSR1);
		while ((c = __atomic_load_n(&arrived, __ATOMIC_ACQUIRE)) < (unsigned)n)
			futex(&arrived, FUTEX_WAIT_PRIVATE, c);
		took[r] = now_ms() - t0;
		__atomic_store_n(&released, 1, __ATOMIC_RELEASE);
		futex(&released, FUTEX_WAKE_PRIVATE, n);
		usleep(100000);
	}
	qsort(took, ROUNDS, sizeof(took[0]), cmp);
	printf("%.3f\n", took[ROUNDS / 2]);
	return 0;
}
