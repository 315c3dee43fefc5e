// SPDX-License-Identifier: MIT
/*
 * A parent and its child talking through socketpairs made before the
 * fork, one half in each: numbers counted both ways through a stream
 * pair, with several in flight at the checkpoint, and messages queued both
 * ways in a seqpacket pair that nobody reads until after the restore
 * (their boundaries must survive). On stop the parent closes its stream
 * half; the child checks it saw every number and its queued messages, and
 * exits 0; the parent checks the child's queued messages and its status.
 */
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtm.h"

#define IN_FLIGHT 64

static const char *const down_msgs[] = { "p", "pp-two", "ppp-three" };
static const char *const up_msgs[] = { "c-one", "cc" };

/* The messages of want, in order, then nothing more (0: the other half
 * is closed). */
static int read_msgs(int fd, const char *const *want, size_t n)
{
	char buf[64];

	for (size_t i = 0; i < n; i++) {
		ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (r != (ssize_t)strlen(want[i]) || memcmp(buf, want[i], (size_t)r))
			return -1;
	}
	return recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0 ? 0 : -1;
}

static int child(int s, int q)
{
	uint64_t v, want = 0;
	ssize_t n;

	for (size_t i = 0; i < sizeof(up_msgs) / sizeof(*up_msgs); i++)
		if (send(q, up_msgs[i], strlen(up_msgs[i]), 0) != (ssize_t)strlen(up_msgs[i]))
			return 4;
	while ((n = read(s, &v, sizeof(v))) == sizeof(v)) {
		if (v != want)
			return 1;
		want++;
		v = test_mix(v);
		if (write(s, &v, sizeof(v)) != sizeof(v))
			return 2;
	}
	if (read_msgs(q, down_msgs, sizeof(down_msgs) / sizeof(*down_msgs)))
		return 5;
	return n == 0 && want > 1000 ? 0 : 3;
}

int main(int argc, char **argv)
{
	int s[2], q[2], status;
	uint64_t sent = 0, got = 0, v;
	pid_t pid;

	test_init(argc, argv);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, q))
		test_fail("socketpair");
	pid = fork();
	if (pid < 0)
		test_fail("fork");
	if (pid == 0) {
		close(s[0]);
		close(q[0]);
		_exit(child(s[1], q[1]));
	}
	close(s[1]);
	close(q[1]);
	for (size_t i = 0; i < sizeof(down_msgs) / sizeof(*down_msgs); i++)
		if (send(q[0], down_msgs[i], strlen(down_msgs[i]), 0) !=
		    (ssize_t)strlen(down_msgs[i]))
			test_fail("send");
	for (; sent < IN_FLIGHT; sent++)
		if (write(s[0], &sent, sizeof(sent)) != sizeof(sent))
			test_fail("write");
	test_ready();
	while (!test_stopping()) {
		if (read(s[0], &v, sizeof(v)) != sizeof(v))
			test_fail("the child's answers stopped after %llu",
				  (unsigned long long)got);
		if (v != test_mix(got))
			test_fail("answer %llu is wrong", (unsigned long long)got);
		got++;
		if (write(s[0], &sent, sizeof(sent)) != sizeof(sent))
			test_fail("write %llu", (unsigned long long)sent);
		sent++;
		if (got % 64 == 0)
			usleep(1000);
	}
	shutdown(s[0], SHUT_WR);
	while (read(s[0], &v, sizeof(v)) == sizeof(v)) {
		if (v != test_mix(got))
			test_fail("answer %llu is wrong", (unsigned long long)got);
		got++;
	}
	if (got != sent)
		test_fail("sent %llu, %llu answered", (unsigned long long)sent,
			  (unsigned long long)got);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		test_fail("the child ended with status 0x%x", status);
	if (read_msgs(q[0], up_msgs, sizeof(up_msgs) / sizeof(*up_msgs)))
		test_fail("the child's queued messages are not what it sent");
	test_pass();
}
