// SPDX-License-Identifier: MIT
/*
 * Interval timers (setitimer; alarm() is ITIMER_REAL) keep running across
 * a restore: a 10 ms ITIMER_REAL and a 20 ms ITIMER_VIRTUAL. After the
 * stop request both still run with their interval, and SIGALRM still
 * comes, at least 10 times in 300 ms. (How fast ITIMER_VIRTUAL fires
 * depends on the VM's CPU time accounting, too coarse here to count on.)
 */
#include <signal.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "zdtm.h"

static volatile sig_atomic_t alarms;

static void on_alrm(int sig)
{
	(void)sig;
	alarms++;
}

/* Only so that SIGVTALRM does not end the program. */
static void on_vtalrm(int sig)
{
	(void)sig;
}

static void burn_cpu(long ms)
{
	struct timespec a, b;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
	do
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
	while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < ms);
}

static void check(int which, long interval_us, const char *name)
{
	struct itimerval v;

	if (getitimer(which, &v))
		test_fail("getitimer %s: %m", name);
	if (v.it_interval.tv_sec != 0 || v.it_interval.tv_usec != interval_us)
		test_fail("%s: interval %ld.%06ld s, expected %ld us", name,
			  (long)v.it_interval.tv_sec, (long)v.it_interval.tv_usec, interval_us);
	if (!v.it_value.tv_sec && !v.it_value.tv_usec)
		test_fail("%s is not running", name);
}

int main(int argc, char **argv)
{
	struct itimerval real = { { 0, 10000 }, { 0, 10000 } }, virt = { { 0, 20000 }, { 0, 20000 } };
	struct sigaction sa = { .sa_flags = SA_RESTART };
	int a0;

	test_init(argc, argv);
	sa.sa_handler = on_alrm;
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = on_vtalrm;
	sigaction(SIGVTALRM, &sa, NULL);
	if (setitimer(ITIMER_REAL, &real, NULL) || setitimer(ITIMER_VIRTUAL, &virt, NULL))
		test_fail("setitimer: %m");
	test_ready();
	while (!test_stopping())
		burn_cpu(5);
	check(ITIMER_REAL, 10000, "ITIMER_REAL");
	check(ITIMER_VIRTUAL, 20000, "ITIMER_VIRTUAL");
	a0 = alarms;
	for (int i = 0; i < 30; i++)
		usleep(10000); /* SIGALRM cuts some short: at least 300 ms */
	if (alarms - a0 < 10)
		test_fail("%d SIGALRMs in 300 ms of a 10 ms timer", alarms - a0);
	test_pass();
}
