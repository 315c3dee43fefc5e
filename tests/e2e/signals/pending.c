// SPDX-License-Identifier: MIT
/*
 * Signals queued and not yet delivered are still queued after restore,
 * with their siginfo: blocked in both threads, the process holds a
 * real-time signal queued twice with two values and SIGHUP (shared), and
 * the second thread SIGWINCH and a real-time signal of its own (tgkill,
 * sigqueue'd to it), the main thread one of its own. After the stop
 * request the second thread unblocks its signals and must receive exactly
 * those, once each, with their values; then the main thread its own.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtm.h"

#define MAIN_SIG (SIGRTMIN + 7) /* queued to the main thread only */

struct got {
	int sig, value;
	pid_t tid;
};
static struct got got[16];
static volatile int ngot;
static pthread_t worker;
static volatile pid_t worker_tid;

static void on_sig(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (ngot < 16)
		got[ngot++] = (struct got){ sig, si->si_value.sival_int, (pid_t)syscall(SYS_gettid) };
}

/* SIG_BLOCK or SIG_UNBLOCK the test's signals in the calling thread. */
static void mask_ours(int how)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGHUP);
	sigaddset(&s, SIGWINCH);
	sigaddset(&s, SIGRTMIN + 2);
	sigaddset(&s, SIGRTMIN + 5);
	sigaddset(&s, MAIN_SIG);
	pthread_sigmask(how, &s, NULL);
}

static volatile int worker_go;

static void *work(void *arg)
{
	(void)arg;
	worker_tid = (pid_t)syscall(SYS_gettid);
	while (!worker_go)
		usleep(1000);
	/* Only this thread unblocks now: its own signals and, since the main
	 * thread keeps them blocked, the process's too come to it. */
	mask_ours(SIG_UNBLOCK);
	return NULL;
}

static void queue_to_thread(pid_t tid, int sig, int value)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	si.si_signo = sig;
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_int = value;
	if (syscall(SYS_rt_tgsigqueueinfo, getpid(), tid, sig, &si))
		test_fail("rt_tgsigqueueinfo: %m");
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	int sigs[] = { SIGHUP, SIGWINCH, SIGRTMIN + 2, SIGRTMIN + 5, MAIN_SIG };

	test_init(argc, argv);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sig;
	sa.sa_flags = SA_SIGINFO;
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	mask_ours(SIG_BLOCK); /* inherited by the worker */
	if (pthread_create(&worker, NULL, work, NULL))
		test_fail("pthread_create");
	while (!worker_tid)
		usleep(1000);
	sigqueue(getpid(), SIGRTMIN + 2, (union sigval){ .sival_int = 11 });
	sigqueue(getpid(), SIGRTMIN + 2, (union sigval){ .sival_int = 22 });
	kill(getpid(), SIGHUP);
	queue_to_thread(worker_tid, SIGRTMIN + 5, 55);
	syscall(SYS_tgkill, getpid(), worker_tid, SIGWINCH);
	queue_to_thread(getpid(), MAIN_SIG, 77);
	test_ready();
	test_wait_stop();

	worker_go = 1;
	pthread_join(worker, NULL);
	/* Every one exactly once, to the worker (the main thread keeps them
	 * blocked); the kernel picks the order, but a real-time signal's
	 * instances come in the order they were queued. */
	struct got want[] = {
		{ SIGHUP, 0, 0 }, { SIGWINCH, 0, 0 }, { SIGRTMIN + 2, 11, 0 },
		{ SIGRTMIN + 2, 22, 0 }, { SIGRTMIN + 5, 55, 0 },
	};
	int n = (int)(sizeof(want) / sizeof(want[0])), last22 = -1, first11 = -1;

	for (int i = 0; getenv("PENDING_DEBUG") && i < ngot; i++)
		fprintf(stderr, "got %d value %d tid %d\n", got[i].sig, got[i].value, got[i].tid);
	if (ngot != n)
		test_fail("%d signals delivered after restore, expected %d", ngot, n);
	for (int w = 0; w < n; w++) {
		int found = 0;

		for (int i = 0; i < ngot; i++) {
			bool rt = got[i].sig >= SIGRTMIN;

			if (got[i].sig != want[w].sig || (rt && got[i].value != want[w].value))
				continue;
			found++;
			if (got[i].tid != worker_tid)
				test_fail("signal %d went to thread %d, not the worker %d",
					  got[i].sig, got[i].tid, worker_tid);
			if (want[w].value == 11)
				first11 = i;
			if (want[w].value == 22)
				last22 = i;
		}
		if (found != 1)
			test_fail("signal %d (value %d) delivered %d times", want[w].sig,
				  want[w].value, found);
	}
	if (first11 > last22)
		test_fail("the queued real-time signals came out of order");

	sigset_t own;

	sigemptyset(&own);
	sigaddset(&own, MAIN_SIG);
	pthread_sigmask(SIG_UNBLOCK, &own, NULL);
	if (ngot != n + 1 || got[n].sig != MAIN_SIG || got[n].value != 77 ||
	    got[n].tid != getpid())
		test_fail("the main thread's own signal: %d signals in all, expected %d", ngot,
			  n + 1);
	test_pass();
}
