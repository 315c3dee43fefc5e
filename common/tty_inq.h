/* SPDX-License-Identifier: MIT */
/* Shared by the runtime (async-signal-safe: raw syscalls) and crload. */
#ifndef SELFCKPT_TTY_INQ_H
#define SELFCKPT_TTY_INQ_H

#include <time.h>
#include <asm/ioctls.h>

#include "selfckpt/syscall.h"

/* A terminal processes its input in a kernel worker after write() returns:
 * waits (up to a second) until fd has want bytes to read. */
static inline void sc_tty_wait_inq(int fd, int want)
{
	struct timespec ms = { 0, 1000000 };
	int n = 0;

	for (int i = 0; i < 1000; i++) {
		if (sc_sys3(__NR_ioctl, fd, TIOCINQ, &n) || n >= want)
			return;
		sc_sys2(__NR_nanosleep, &ms, NULL);
	}
}

#endif
