// SPDX-License-Identifier: MIT
/*
 * SELFCKPT_INTERVAL: a POSIX timer of the process that sends the trigger
 * signal every N seconds, with a value of its own so that its ticks are
 * told apart from a user's trigger (they are not passed on to an app
 * handler). The dump leaves the timer out of the image: a restored
 * process starts one anew.
 */
#include <signal.h>
#include <string.h>
#include <time.h>

#include "rt.h"

#define INTERVAL_COOKIE 0x5e1fc6bd
static int interval_timer = -1; /* the kernel's timer id */
static int interval_pid; /* whose: a forked child has none */

bool rt_interval_tick(const siginfo_t *si)
{
	return si && si->si_code == SI_TIMER && si->si_value.sival_int == INTERVAL_COOKIE;
}

/*
 * /proc/PID/timers shows each POSIX timer's value as "signal: SIG/VALUE",
 * VALUE in 16 hex digits: the runtime's timer is the one whose value ends
 * in INTERVAL_COOKIE's (the union's upper half is not ours to rely on).
 */
bool rt_interval_ticks_in(int pid)
{
	char path[64], cookie[16], *p;
	const char *text;

	rt_stpcpy(rt_fmt_i64(rt_stpcpy(path, "/proc/"), pid), "/timers");
	text = rt_read_file(path, NULL);
	p = rt_fmt_hex(cookie, INTERVAL_COOKIE);
	rt_stpcpy(p, "\n");
	for (const char *at = text; at && (at = strstr(at, "signal: ")); at += 8) {
		const char *end = strchr(at, '\n'), *hit = strstr(at, cookie);

		if (end && hit && hit + strlen(cookie) == end + 1)
			return true;
	}
	return false;
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
