// SPDX-License-Identifier: MIT
/*
 * A root that exits and leaves a child running: the child ignores the
 * usual termination signals and never exits by itself. On stop the root
 * checks that its child still runs and exits without reaping it, with
 * the status written in ./exit_code (0 without the file). crload exits
 * with that status. Restored in a new pid namespace, nothing of the tree
 * may outlive the root (tests/e2e/tree_ns_exit.sh checks; doc/trees.md).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "zdtm.h"

int main(int argc, char **argv)
{
	int code = 0;
	FILE *f;
	pid_t pid;

	test_init(argc, argv);
	pid = fork();
	if (pid < 0)
		test_fail("fork");
	if (pid == 0) {
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		for (;;)
			pause();
	}
	test_ready();
	test_wait_stop();
	if (kill(pid, 0))
		test_fail("the child %d is gone", pid);
	f = fopen("exit_code", "r");
	if (f && fscanf(f, "%d", &code) != 1)
		test_fail("exit_code holds no number");
	if (f)
		fclose(f);
	if (!code)
		test_pass();
	exit(code);
}
