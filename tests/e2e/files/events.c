// SPDX-License-Identifier: MIT
/*
 * An event loop's descriptors come back working: an epoll watching a
 * signalfd, a timerfd, an eventfd and a pipe (each with its own data
 * cookie and events), the signalfd's mask, the timer's clock and interval.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "zdtm.h"

#define SIG (SIGRTMIN + 3)
#define PERIOD_NS 50000000L

enum { COOKIE_SIG = 0x5151, COOKIE_TIMER = 0x7171, COOKIE_EV = 0xe0e0, COOKIE_PIPE = 0x9090 };

/* Waits for one epoll event and returns its cookie. */
static uint64_t next_event(int ep, int timeout_ms)
{
	struct epoll_event ev;
	int n;

	do
		n = epoll_wait(ep, &ev, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		test_fail("epoll_wait: %d events (%s)", n, n < 0 ? strerror(errno) : "timeout");
	return ev.data.u64;
}

int main(int argc, char **argv)
{
	struct itimerspec its = { .it_interval = { 0, PERIOD_NS }, .it_value = { 0, PERIOD_NS } };
	struct epoll_event ev;
	sigset_t set;
	int ep, sfd, tfd, efd, p[2];
	uint64_t v;

	test_init(argc, argv);
	sigemptyset(&set);
	sigaddset(&set, SIG);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		test_fail("sigprocmask: %m");
	sfd = signalfd(-1, &set, SFD_NONBLOCK);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	efd = eventfd(0, EFD_NONBLOCK);
	ep = epoll_create1(0);
	if (sfd < 0 || tfd < 0 || efd < 0 || ep < 0 || pipe(p))
		test_fail("setup: %m");
	ev = (struct epoll_event){ .events = EPOLLIN, .data.u64 = COOKIE_SIG };
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	ev = (struct epoll_event){ .events = EPOLLIN, .data.u64 = COOKIE_TIMER };
	epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
	ev = (struct epoll_event){ .events = EPOLLIN, .data.u64 = COOKIE_EV };
	epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
	ev = (struct epoll_event){ .events = EPOLLIN | EPOLLET, .data.u64 = COOKIE_PIPE };
	if (epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev))
		test_fail("epoll_ctl: %m");
	if (timerfd_settime(tfd, 0, &its, NULL))
		test_fail("timerfd_settime: %m");

	test_ready();
	test_wait_stop();

	/* The timer keeps firing every period, through the epoll. */
	if (next_event(ep, 2000) != COOKIE_TIMER)
		test_fail("first event is not the timer");
	if (read(tfd, &v, 8) != 8 || v < 1)
		test_fail("timerfd read: %m");
	if (timerfd_settime(tfd, 0, &(struct itimerspec){ 0 }, &its) ||
	    its.it_interval.tv_sec != 0 || its.it_interval.tv_nsec != PERIOD_NS)
		test_fail("timerfd interval is %ld.%09ld s", its.it_interval.tv_sec,
			  its.it_interval.tv_nsec);
	/* Disarmed now; drain a tick that raced in. */
	while (read(tfd, &v, 8) == 8)
		;

	v = 7;
	if (write(efd, &v, 8) != 8 || next_event(ep, 1000) != COOKIE_EV)
		test_fail("eventfd did not wake the epoll with its cookie");
	if (read(efd, &v, 8) != 8 || v != 7)
		test_fail("eventfd count %llu", (unsigned long long)v);

	if (write(p[1], "x", 1) != 1 || next_event(ep, 1000) != COOKIE_PIPE)
		test_fail("the pipe did not wake the epoll with its cookie");
	/* Edge-triggered: no second event for the same unread byte. */
	if (epoll_wait(ep, &ev, 1, 100) != 0)
		test_fail("EPOLLET was lost: the pipe fired twice");

	if (raise(SIG) || next_event(ep, 1000) != COOKIE_SIG)
		test_fail("the signal did not wake the epoll through the signalfd");
	struct signalfd_siginfo si;
	if (read(sfd, &si, sizeof(si)) != sizeof(si) || (int)si.ssi_signo != SIG)
		test_fail("signalfd read the wrong signal");
	test_pass();
}
