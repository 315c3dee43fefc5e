// SPDX-License-Identifier: MIT
/*
 * timerfd: a new timer on the same clock with the time that was left, the
 * same interval, and the expirations not yet read (TFD_IOC_SET_TICKS).
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "fd_restore.h"

/* The clocks a timerfd can use have ids up to CLOCK_TAI. */
#define CLOCKID_MAX CLOCK_TAI

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif

static struct timespec ts(uint64_t ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / 1000000000ULL),
				  .tv_nsec = (long)(ns % 1000000000ULL) };
}

static int fd_timerfd_restore(struct fd_restore_ctx *ctx, const Sc__Fd *e, char *err)
{
	int fd = timerfd_create(e->clockid,
				TFD_CLOEXEC | ((e->flags & O_NONBLOCK) ? TFD_NONBLOCK : 0));
	/* An interval timer whose expiry was not read yet shows no time left:
	 * the kernel re-arms it on read. Arm it for one more interval. */
	uint64_t value = e->value_ns ? e->value_ns : e->interval_ns;
	struct itimerspec its = { .it_value = ts(value), .it_interval = ts(e->interval_ns) };
	uint64_t ticks = e->ticks;

	if (fd < 0 || timerfd_settime(fd, 0, &its, NULL) ||
	    (ticks && ioctl(fd, TFD_IOC_SET_TICKS, &ticks))) {
		sc_err(err, "fd %d: timerfd on clock %d: %m", e->fd, e->clockid);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void fd_timerfd_describe(const Sc__Fd *e, char *buf, size_t len)
{
	snprintf(buf, len, "timerfd, clock %d, next in %llu ns, every %llu ns, %llu unread",
		 e->clockid, (unsigned long long)e->value_ns, (unsigned long long)e->interval_ns,
		 (unsigned long long)e->ticks);
}

int fd_check_timerfd(const struct fd_check_ctx *ctx, const Sc__Fd *f, char *err)
{
	(void)ctx;
	if (!f->has_clockid || f->clockid < 0 || f->clockid > CLOCKID_MAX)
		return sc_err(err, "fd %d: timerfd on clock %d", f->fd, f->clockid);
	return 0;
}

const struct fd_restore_half fd_timerfd_restore_half = {
	.restore = fd_timerfd_restore,
	.describe = fd_timerfd_describe,
};
