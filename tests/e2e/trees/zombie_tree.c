// SPDX-License-Identifier: MIT
/*
 * Two children that ended before the checkpoint and were not reaped: one
 * exited with status 42, one was killed by SIGTERM. After the restore
 * the parent still reaps each, with the same status.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtm.h"

/* Waits until pid has ended, leaving it a zombie. */
static void wait_ended(pid_t pid)
{
	siginfo_t si;

	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT))
		test_fail("waitid %d", pid);
}

int main(int argc, char **argv)
{
	pid_t exited, killed;
	int st;

	test_init(argc, argv);
	exited = fork();
	if (exited == 0)
		_exit(42);
	killed = fork();
	if (killed == 0) {
		signal(SIGTERM, SIG_DFL);
		raise(SIGTERM);
		_exit(1);
	}
	if (exited < 0 || killed < 0)
		test_fail("fork");
	wait_ended(exited);
	wait_ended(killed);
	test_ready();
	test_wait_stop();
	if (waitpid(exited, &st, WNOHANG) != exited || !WIFEXITED(st) || WEXITSTATUS(st) != 42)
		test_fail("child %d: status 0x%x, not exit 42", exited, st);
	if (waitpid(killed, &st, WNOHANG) != killed || !WIFSIGNALED(st) || WTERMSIG(st) != SIGTERM)
		test_fail("child %d: status 0x%x, not killed by SIGTERM", killed, st);
	test_pass();
}
