// SPDX-License-Identifier: MIT
/*
 * The thread the trigger signal reaches carries on as if it had not come:
 * a single-threaded program sleeping in nanosleep and epoll_wait (calls
 * a handled signal cuts short with EINTR, SA_RESTART or not) never sees
 * EINTR from a checkpoint, before or after restore. Only the stop signal
 * of the test protocol may interrupt it.
 */
#include <errno.h>
#include <sys/epoll.h>
#include <time.h>

#include "zdtm.h"

int main(int argc, char **argv)
{
	struct timespec nap = { 0, 40 * 1000 * 1000 };
	struct epoll_event ev;
	int ep;

	test_init(argc, argv);
	ep = epoll_create1(0);
	if (ep < 0)
		test_fail("epoll_create1: %m");
	test_ready();
	for (;;) {
		if (nanosleep(&nap, NULL) && (errno != EINTR || !test_stopping()))
			test_fail("nanosleep: %m");
		if (test_stopping())
			break;
		if (epoll_wait(ep, &ev, 1, 40) < 0 && (errno != EINTR || !test_stopping()))
			test_fail("epoll_wait: %m");
		if (test_stopping())
			break;
	}
	test_pass();
}
