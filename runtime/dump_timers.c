// SPDX-License-Identifier: MIT
/*
 * The POSIX timers (timer_create(2)) of the process being dumped: which
 * ones, their clock and whom they tell, from <proc>/timers; the time left
 * and the interval from timer_gettime, asked inside the process (crdump:
 * src->timer_gettime). The runtime's own SELFCKPT_INTERVAL timer is not
 * the app's: it is started anew after a restore.
 */
#include <errno.h>
#include <time.h>

#include "dump.h"
#include "procparse.h"

static uint64_t ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000ULL + (uint64_t)ts->tv_nsec;
}

static int gettime(const struct rt_source *src, int id, struct itimerspec *its)
{
	if (src->timer_gettime)
		return src->timer_gettime(src->timer_proc, id, its);
	return (int)sc_sys2(__NR_timer_gettime, id, its);
}

int rt_dump_posix_timers(const struct rt_source *src, Sc__ProcCore *core, char *why)
{
	char path[RT_MAX_PATH], *buf, *p;
	size_t len, pos = 0, cap = 1;
	struct pp_timer t;
	int r;

	buf = rt_read_file(rt_src_path(src, path, "timers"), &len);
	if (!buf)
		return -EIO;
	for (size_t i = 0; i < len; i++)
		cap += buf[i] == '\n';
	core->posix_timers = rt_alloc(sizeof(*core->posix_timers) * (cap / 4 + 1));
	if (!core->posix_timers)
		return -ENOMEM;
	while ((r = pp_next_timer(buf, len, &pos, &t)) > 0) {
		Sc__PosixTimer *pt;
		struct itimerspec its;
		int err;

		if (t.id == src->own_timer)
			continue;
		/* Not a thread's CPU clock (it would count the restorer's
		 * thread), nor another process's. */
		if (!sc_timer_clock_ok(t.clock)) {
			p = rt_stpcpy(why, "POSIX timer ");
			p = rt_fmt_i64(p, t.id);
			p = rt_stpcpy(p, ": on clock ");
			p = rt_fmt_i64(p, t.clock);
			rt_stpcpy(p, ", which a restored process cannot make it on again");
			return -EOPNOTSUPP;
		}
		if ((err = gettime(src, t.id, &its)))
			return err;
		pt = rt_alloc(sizeof(*pt));
		if (!pt)
			return -ENOMEM;
		sc__posix_timer__init(pt);
		pt->id = t.id;
		pt->clock = t.clock;
		pt->notify = t.notify;
		pt->signo = (uint32_t)t.signo;
		pt->sigev_value = t.sigev_value;
		pt->has_tid = (t.notify & SC_SIGEV_THREAD_ID) != 0;
		pt->tid = pt->has_tid ? t.notify_pid : 0;
		pt->value_ns = ts_ns(&its.it_value);
		pt->interval_ns = ts_ns(&its.it_interval);
		core->posix_timers[core->n_posix_timers++] = pt;
	}
	return r < 0 ? -EIO : 0;
}
