// SPDX-License-Identifier: MIT
/*
 * A parent and its child counting through two pipes, with several numbers
 * in flight, so that the pipes hold bytes at the checkpoint: the parent
 * sends 0, 1, 2..., the child answers test_mix of each, and both check
 * that nothing was lost, repeated or reordered across the restore. On
 * stop the parent closes its end; the child checks it saw every number
 * and exits 0; the parent reaps it and checks its status.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtm.h"

#define IN_FLIGHT 64

static int child(int in, int out)
{
	uint64_t v, want = 0;
	ssize_t n;

	while ((n = read(in, &v, sizeof(v))) == sizeof(v)) {
		if (v != want)
			return 1;
		want++;
		v = test_mix(v);
		if (write(out, &v, sizeof(v)) != sizeof(v))
			return 2;
	}
	return n == 0 && want > 1000 ? 0 : 3;
}

int main(int argc, char **argv)
{
	int down[2], up[2], status;
	uint64_t sent = 0, got = 0, v;
	pid_t pid;

	test_init(argc, argv);
	if (pipe(down) || pipe(up))
		test_fail("pipe");
	pid = fork();
	if (pid < 0)
		test_fail("fork");
	if (pid == 0) {
		close(down[1]);
		close(up[0]);
		_exit(child(down[0], up[1]));
	}
	close(down[0]);
	close(up[1]);
	for (; sent < IN_FLIGHT; sent++)
		if (write(down[1], &sent, sizeof(sent)) != sizeof(sent))
			test_fail("write");
	test_ready();
	while (!test_stopping()) {
		if (read(up[0], &v, sizeof(v)) != sizeof(v))
			test_fail("the child's answers stopped after %llu",
				  (unsigned long long)got);
		if (v != test_mix(got))
			test_fail("answer %llu is wrong", (unsigned long long)got);
		got++;
		if (write(down[1], &sent, sizeof(sent)) != sizeof(sent))
			test_fail("write %llu", (unsigned long long)sent);
		sent++;
		if (got % 64 == 0)
			usleep(1000);
	}
	close(down[1]);
	while (read(up[0], &v, sizeof(v)) == sizeof(v)) {
		if (v != test_mix(got))
			test_fail("answer %llu is wrong", (unsigned long long)got);
		got++;
	}
	if (got != sent)
		test_fail("sent %llu, %llu answered", (unsigned long long)sent,
			  (unsigned long long)got);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		test_fail("the child ended with status 0x%x", status);
	test_pass();
}
