// SPDX-License-Identifier: MIT
/*
 * Holds two pidfds of its child, one of them nonblocking, across the
 * checkpoint. After the restore both still refer to the child: neither is
 * readable while it runs, waitid on the nonblocking one says so at once,
 * and once the child is told to exit the other becomes readable and
 * waitid(P_PIDFD) reaps the child with its exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtm.h"

#define STATUS 42

static int pidfd_open(pid_t pid, unsigned flags)
{
	return (int)syscall(SYS_pidfd_open, pid, flags);
}

int main(int argc, char **argv)
{
	int go[2], fd, nb;
	struct pollfd p[2];
	siginfo_t si = { 0 };
	pid_t pid;
	char c;

	test_init(argc, argv);
	if (pipe(go))
		test_fail("pipe: %m");
	pid = fork();
	if (pid < 0)
		test_fail("fork: %m");
	if (pid == 0) {
		close(go[1]);
		/* A byte: exit with STATUS; end of file: the parent is gone. */
		while (read(go[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(STATUS);
	}
	close(go[0]);
	fd = pidfd_open(pid, 0);
	nb = pidfd_open(pid, O_NONBLOCK);
	if (fd < 0 || nb < 0)
		test_fail("pidfd_open: %m");
	test_ready();
	test_wait_stop();

	p[0] = (struct pollfd){ .fd = fd, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = nb, .events = POLLIN };
	if (poll(p, 2, 0) != 0)
		test_fail("a pidfd is readable (%#x, %#x) while the child runs", p[0].revents,
			  p[1].revents);
	if ((fcntl(fd, F_GETFL) & O_NONBLOCK) || !(fcntl(nb, F_GETFL) & O_NONBLOCK))
		test_fail("the pidfds' O_NONBLOCK was not kept");
	if (waitid(P_PIDFD, (id_t)nb, &si, WEXITED) != -1 || errno != EAGAIN)
		test_fail("waitid on the nonblocking pidfd of a running child: %m");
	if (write(go[1], "x", 1) != 1)
		test_fail("write: %m");
	if (poll(p, 1, 10000) != 1 || !(p[0].revents & POLLIN))
		test_fail("the pidfd did not become readable when the child exited");
	if (waitid(P_PIDFD, (id_t)fd, &si, WEXITED))
		test_fail("waitid(P_PIDFD): %m");
	if (si.si_pid != pid || si.si_code != CLD_EXITED || si.si_status != STATUS)
		test_fail("waitid: pid %d code %d status %d, not pid %d exited with %d",
			  (int)si.si_pid, si.si_code, si.si_status, (int)pid, STATUS);
	test_pass();
}
