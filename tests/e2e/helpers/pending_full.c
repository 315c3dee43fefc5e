// SPDX-License-Identifier: MIT
/*
 * More signals pending than an image keeps (1024 a thread or process):
 * 1100 instances of one real-time signal, blocked, each with its number as
 * value. A checkpoint must fail and leave them all queued: after the stop
 * request the program unblocks the signal and receives every one, once,
 * in order.
 */
#include <signal.h>
#include <string.h>

#include "zdtm.h"

#define QUEUED 1100

static volatile int next, out_of_order = -1;

static void on_sig(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)uc;
	if (si->si_value.sival_int != next && out_of_order < 0)
		out_of_order = next;
	next++;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	sigset_t s;

	test_init(argc, argv);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sig;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGRTMIN + 1, &sa, NULL);
	sigemptyset(&s);
	sigaddset(&s, SIGRTMIN + 1);
	sigprocmask(SIG_BLOCK, &s, NULL);
	for (int i = 0; i < QUEUED; i++)
		if (sigqueue(getpid(), SIGRTMIN + 1, (union sigval){ .sival_int = i }))
			test_fail("sigqueue #%d: %m", i);
	test_ready();
	test_wait_stop();

	sigprocmask(SIG_UNBLOCK, &s, NULL);
	if (next != QUEUED)
		test_fail("%d signals delivered, %d were queued", next, QUEUED);
	if (out_of_order >= 0)
		test_fail("signal #%d came out of order", out_of_order);
	test_pass();
}
