// SPDX-License-Identifier: MIT
/*
 * SELFCKPT_INTERVAL: a POSIX timer of the process that sends the trigger
 * signal every N seconds, with a value of its own so that its ticks are
 * told apart from a user's trigger (they are not passed on to an app
 * handler). The dump leaves the timer out of the image: a restored
 * process starts one anew.
 */
#include <signal.h>
#include <time.h>

#include "rt.h"

#define INTERVAL_COOKIE 0x5e1fc6bd
static int interval_timer = -1; /* the kernel's timer id */
static int interval_pid; /* whose: a forked child has none */

bool rt_interval_tick(const siginfo_t *si)
{
	return si && si->si_code == SI_TIMER && si->si_value.sival_int == INTERVAL_COOKIE;
}

int rt_interval_timer(void)
{
	return interval_pid == (int)sc_sys0(__NR_getpid) ? interval_timer : -1;
}

/* SELFCKPT_INTERVAL: a timer of this process (a forked child has none). */
void rt_start_interval(const struct rt_config *cfg)
{
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL,
			       .sigev_signo = cfg->trigger_sig,
			       .sigev_value.sival_int = INTERVAL_COOKIE };
	struct itimerspec its = { .it_interval.tv_sec = cfg->interval_sec,
				  .it_value.tv_sec = cfg->interval_sec };

	if (!cfg->interval_sec)
		return;
	if (sc_sys3(__NR_timer_create, CLOCK_MONOTONIC, &ev, &interval_timer) ||
	    sc_sys4(__NR_timer_settime, (long)interval_timer, 0, &its, NULL)) {
		rt_log("cannot start the SELFCKPT_INTERVAL timer; checkpoints on signal only");
		return;
	}
	interval_pid = (int)sc_sys0(__NR_getpid);
}
