// SPDX-License-Identifier: MIT
/*
 * A known call chain in every thread, for `crinfo bt` (tests/e2e/crinfo.sh):
 * the main thread runs main -> a -> b, each worker thread_main -> a -> b,
 * and b loops until the stop request: worker 1 spinning on clock_gettime()
 * (frozen in b, in libc or in the vDSO, which the image does not hold),
 * the others (and main) sleeping in usleep(), so the unwinder has to get
 * out of libc's syscall wrappers too. Ready once every thread is in b.
 *
 * Built as usual (no frame pointers): the unwinder works from .eh_frame.
 */
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "zdtm.h"

#define NWORKERS 3

static int in_b;
static unsigned long loops[NWORKERS + 1];

/* Keeps the call in a from becoming a jump: the frame stays. */
#define NO_TAIL_CALL() __asm__ volatile("" ::: "memory")

__attribute__((noinline)) static int b(int who)
{
	__atomic_add_fetch(&in_b, 1, __ATOMIC_ACQ_REL);
	while (!test_stopping()) {
		struct timespec ts;

		loops[who]++;
		if (who == 1)
			clock_gettime(CLOCK_MONOTONIC, &ts);
		else
			usleep(100000); /* long: frozen inside the call, as show expects */
	}
	return who;
}

__attribute__((noinline)) static int a(int who)
{
	int r = b(who);

	NO_TAIL_CALL();
	return r + 1;
}

__attribute__((noinline)) static void *thread_main(void *arg)
{
	int r = a((int)(long)arg);

	NO_TAIL_CALL();
	return (void *)(long)r;
}

static void *ready_when_all_in_b(void *unused)
{
	while (__atomic_load_n(&in_b, __ATOMIC_ACQUIRE) < NWORKERS + 1)
		usleep(1000);
	test_ready();
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[NWORKERS];
	pthread_t ready_th;
	int r;

	test_init(argc, argv);
	for (long i = 0; i < NWORKERS; i++)
		if (pthread_create(&th[i], NULL, thread_main, (void *)(i + 1)))
			test_fail("pthread_create");
	/* A fifth thread says ready once the others are all in b, then ends. */
	if (pthread_create(&ready_th, NULL, ready_when_all_in_b, NULL))
		test_fail("pthread_create");
	r = a(0);
	NO_TAIL_CALL();
	for (int i = 0; i < NWORKERS; i++) {
		void *ret;

		if (pthread_join(th[i], &ret) || (long)ret != i + 2)
			test_fail("worker %d ended wrongly", i + 1);
	}
	pthread_join(ready_th, NULL);
	for (int i = 0; i <= NWORKERS; i++)
		if (!loops[i])
			test_fail("thread %d never looped", i);
	if (r != 1)
		test_fail("main's chain returned %d", r);
	test_pass();
}
