/* SPDX-License-Identifier: MIT */
/*
 * Blocking calls a checkpoint may cut short with EINTR that are safe to
 * issue again with the same registers: the runtime rewinds them in the
 * thread the trigger interrupted (runtime/freeze.c), crdump in the
 * threads it stopped (tools/crdump/ptrace.c).
 */
#ifndef SELFCKPT_REISSUE_H
#define SELFCKPT_REISSUE_H

#include <stdbool.h>
#include <stddef.h>

#define SC_NR_nanosleep 35
#define SC_NR_clock_nanosleep 230
#define SC_NR_restart_syscall 219

static inline bool sc_reissuable(long nr)
{
	static const long calls[] = {
		7 /* poll */,		 23 /* select */,	  34 /* pause */,
		SC_NR_nanosleep,	 130 /* rt_sigsuspend */, 202 /* futex */,
		SC_NR_clock_nanosleep,	 232 /* epoll_wait */,	  270 /* pselect6 */,
		271 /* ppoll */,	 281 /* epoll_pwait */,	  441 /* epoll_pwait2 */,
	};

	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		if (calls[i] == nr)
			return true;
	return false;
}

#endif
