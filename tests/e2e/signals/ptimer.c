// SPDX-License-Identifier: MIT
/*
 * POSIX timers live on across a restore, under their ids: a periodic
 * process-wide timer (2 ms, SIGRTMIN+1, si_value 7), a periodic timer
 * that tells one thread (SIGEV_THREAD_ID, 3 ms, SIGRTMIN+2), an hour-long
 * one-shot that tells nobody (SIGEV_NONE) on the process's CPU clock, and
 * a disarmed one on CLOCK_BOOTTIME. After restore /proc/self/timers lists
 * the same ids with the clocks and ways of telling it listed before,
 * timer_gettime
 * gives each its interval and a time left in range, the periodic ones
 * keep firing, and every signal names its timer and value.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "zdtm.h"

#define MS 1000000L

static int id_proc, id_thread, id_none, id_off;
static volatile int ticks_proc, ticks_thread, bad, thread_tid;

static int make(clockid_t clock, int notify, int sig, int value, int tid, long value_ns,
		long interval_ns)
{
	struct sigevent ev;
	struct itimerspec its = { { interval_ns / 1000000000, interval_ns % 1000000000 },
				  { value_ns / 1000000000, value_ns % 1000000000 } };
	int id;

	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = notify;
	ev.sigev_signo = sig;
	ev.sigev_value.sival_int = value;
	ev._sigev_un._tid = tid;
	if (syscall(SYS_timer_create, clock, &ev, &id) ||
	    (value_ns && syscall(SYS_timer_settime, id, 0, &its, NULL)))
		test_fail("timer_create: %m");
	return id;
}

static void on_tick(int sig, siginfo_t *si, void *uc)
{
	if (si->si_code != SI_TIMER || si->si_timerid != id_proc || si->si_value.sival_int != 7)
		bad = 1;
	ticks_proc++;
}

static void *waiter(void *arg)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 2);
	thread_tid = (int)syscall(SYS_gettid);
	for (;;) {
		siginfo_t si;

		if (sigwaitinfo(&set, &si) < 0)
			continue;
		if (si.si_code != SI_TIMER || si.si_timerid != id_thread ||
		    si.si_value.sival_int != 9 || syscall(SYS_gettid) != thread_tid)
			bad = 1;
		ticks_thread++;
	}
	return NULL;
}

/* What /proc/self/timers says of timer id: "ClockID" and "notify". */
static void listed(int id, int *clock, char *notify, size_t len)
{
	char line[128], want[32];
	bool in = false;
	FILE *f = fopen("/proc/self/timers", "re");

	*clock = -100;
	notify[0] = '\0';
	snprintf(want, sizeof(want), "ID: %d\n", id);
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "ID:", 3))
			in = !strcmp(line, want);
		else if (in && !strncmp(line, "notify: ", 8))
			snprintf(notify, len, "%.*s", (int)strcspn(line + 8, "/"), line + 8);
		else if (in && !strncmp(line, "ClockID: ", 9))
			*clock = atoi(line + 9);
	}
	if (f)
		fclose(f);
}

struct listing {
	int clock;
	char notify[32];
};

static void check(int id, const struct listing *before, long interval_ns, long max_left_ns)
{
	struct itimerspec its;
	struct listing now;
	long left;

	listed(id, &now.clock, now.notify, sizeof(now.notify));
	if (now.clock != before->clock || strcmp(now.notify, before->notify))
		test_fail("timer %d: clock %d notify '%s', before %d '%s'", id, now.clock,
			  now.notify, before->clock, before->notify);
	if (syscall(SYS_timer_gettime, id, &its))
		test_fail("timer %d: timer_gettime: %m", id);
	left = its.it_value.tv_sec * 1000000000L + its.it_value.tv_nsec;
	if (its.it_interval.tv_sec * 1000000000L + its.it_interval.tv_nsec != interval_ns ||
	    left > max_left_ns || (max_left_ns && left <= 0))
		test_fail("timer %d: %ld ns left every %ld ns", id, left,
			  (long)(its.it_interval.tv_sec * 1000000000L + its.it_interval.tv_nsec));
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_sigaction = on_tick, .sa_flags = SA_SIGINFO | SA_RESTART };
	struct listing before[4];
	const int *ids[4] = { &id_off, &id_proc, &id_thread, &id_none };
	sigset_t set;
	pthread_t t;
	int p, th;

	test_init(argc, argv);
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sigaction(SIGRTMIN + 1, &sa, NULL);
	pthread_create(&t, NULL, waiter, NULL);
	while (!thread_tid)
		usleep(1000);
	id_off = make(CLOCK_BOOTTIME, SIGEV_SIGNAL, SIGRTMIN + 1, 7, 0, 0, 0);
	id_proc = make(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGRTMIN + 1, 7, 0, 2 * MS, 2 * MS);
	id_thread = make(CLOCK_MONOTONIC, SIGEV_THREAD_ID | SIGEV_SIGNAL, SIGRTMIN + 2, 9,
			 thread_tid, 3 * MS, 3 * MS);
	id_none = make(CLOCK_PROCESS_CPUTIME_ID, SIGEV_NONE, 0, 0, 0, 3600000 * MS, 0);
	for (int i = 0; i < 4; i++)
		listed(*ids[i], &before[i].clock, before[i].notify, sizeof(before[i].notify));
	if (strcmp(before[3].notify, "none") || before[1].clock != CLOCK_MONOTONIC)
		test_fail("/proc/self/timers does not read as expected");
	test_ready();
	while (!test_stopping())
		usleep(1000);

	check(id_off, &before[0], 0, 0);
	check(id_proc, &before[1], 2 * MS, 2 * MS);
	check(id_thread, &before[2], 3 * MS, 3 * MS);
	check(id_none, &before[3], 0, 3600000 * MS);
	p = ticks_proc, th = ticks_thread;
	for (int i = 0; i < 100 && (ticks_proc < p + 5 || ticks_thread < th + 5); i++)
		usleep(10000);
	if (ticks_proc < p + 5 || ticks_thread < th + 5)
		test_fail("the timers stopped: %d and %d ticks in a second", ticks_proc - p,
			  ticks_thread - th);
	if (bad)
		test_fail("a timer's signal named the wrong timer, value or thread");
	test_pass();
}
