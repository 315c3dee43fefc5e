// SPDX-License-Identifier: MIT
/*
 * A session leader with two process groups: the program forks A, which
 * calls setsid() and forks B (leader of a new group), C (in B's group) and
 * D (in A's group). Each of them waits on a pipe until told to check;
 * then it checks its session and group, answers on another pipe, and
 * exits. Both pipes are held by five processes.
 */
#include <sys/wait.h>
#include <unistd.h>

#include "zdtm.h"

static int res[2], go[2];

/* Says it is set up, sits in read() until the program closes go, then
 * checks its session and group and answers. */
static int check(pid_t sid, pid_t pgid)
{
	char c, ok;

	if (write(res[1], "r", 1) != 1)
		return 1;
	while (read(go[0], &c, 1) > 0)
		;
	ok = getsid(0) == sid && getpgrp() == pgid ? '1' : '0';
	return write(res[1], &ok, 1) == 1 ? 0 : 1;
}

/* A member in group pgid (-1: its own new group, 0: its parent's). Both
 * sides set the group, as a shell does, so that neither waits for the
 * other. */
static pid_t spawn(pid_t sid, pid_t pgid)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (pgid)
			setpgid(0, pgid == -1 ? 0 : pgid);
		_exit(check(sid, pgid == -1 ? getpid() : pgid ? pgid : getpgrp()));
	}
	if (pid > 0 && pgid)
		setpgid(pid, pgid == -1 ? pid : pgid);
	return pid;
}

static void __attribute__((noreturn)) leader(void)
{
	pid_t a = setsid(), b = spawn(a, -1), c = spawn(a, b), d = spawn(a, 0);
	int st, bad;

	if (a < 0 || b < 0 || c < 0 || d < 0)
		_exit(2);
	bad = check(a, a);
	while (wait(&st) > 0)
		bad |= !WIFEXITED(st) || WEXITSTATUS(st);
	_exit(bad ? 3 : 0);
}

int main(int argc, char **argv)
{
	char buf[8];
	pid_t a;
	int st, n = 0;

	test_init(argc, argv);
	if (pipe(res) || pipe(go))
		test_fail("pipe");
	a = fork();
	if (a == 0) {
		close(res[0]);
		close(go[1]);
		leader();
	}
	close(res[1]);
	close(go[0]);
	while (n < 4) { /* every member set up */
		ssize_t r = read(res[0], buf, 1);

		if (r != 1 || buf[0] != 'r')
			test_fail("the members did not start");
		n++;
	}
	test_ready();
	test_wait_stop();
	close(go[1]);
	for (n = 0; n < 4; n++)
		if (read(res[0], buf, 1) != 1 || buf[0] != '1')
			test_fail("member %d: wrong session or group (%c)", n, buf[0]);
	if (waitpid(a, &st, 0) != a || !WIFEXITED(st) || WEXITSTATUS(st))
		test_fail("the session leader ended with 0x%x", st);
	test_pass();
}
