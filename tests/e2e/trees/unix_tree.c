// SPDX-License-Identifier: MIT
/*
 * Named unix listeners between processes of a tree. The parent listens on
 * a path (stream) and on an abstract name (seqpacket); its child, which
 * inherits both listeners, connects to them three times and leaves a
 * fourth connection waiting in the path listener's queue. The parent
 * accepts the first two and keeps them, with a greeting and messages
 * queued both ways, and hands the third to a worker it forks (an accepted
 * connection in a third process), which answers the numbers the child
 * keeps sending through it, across the checkpoint. On stop the parent
 * reads what was queued, accepts the waiting connection and tells the
 * child to finish over the first one; the child checks its queued
 * messages and every answer, then connects to both names again through
 * the inherited listeners, which must still be the parent's.
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtm.h"

#define IN_FLIGHT 16

static struct sockaddr_un path_addr, abs_addr;
static socklen_t path_len, abs_len;

static int sock(int type, const struct sockaddr_un *a, socklen_t len, bool listener)
{
	int s = socket(AF_UNIX, type, 0);

	if (s < 0 || (listener ? bind(s, (const struct sockaddr *)a, len) || listen(s, 8)
			       : connect(s, (const struct sockaddr *)a, len)))
		test_fail("%s %s: %m", listener ? "listening on" : "connecting to",
			  a->sun_path[0] ? a->sun_path : a->sun_path + 1);
	return s;
}

/* The next message on s is exactly want. */
static bool got(int s, const char *want)
{
	char buf[64];
	ssize_t n = recv(s, buf, sizeof(buf), 0);

	return n == (ssize_t)strlen(want) && !memcmp(buf, want, (size_t)n);
}

static void put(int s, const char *msg)
{
	if (send(s, msg, strlen(msg), 0) != (ssize_t)strlen(msg))
		test_fail("send %s: %m", msg);
}

/* The worker: answers every number on a with its mix, until EOF. */
static int worker(int a)
{
	uint64_t v, n = 0;

	while (read(a, &v, sizeof(v)) == sizeof(v)) {
		if (v != n++)
			return 1;
		v = test_mix(v);
		if (write(a, &v, sizeof(v)) != sizeof(v))
			return 2;
	}
	return n > IN_FLIGHT ? 0 : 3;
}

static int child(void)
{
	int c1 = sock(SOCK_STREAM, &path_addr, path_len, false);
	int c2 = sock(SOCK_SEQPACKET, &abs_addr, abs_len, false);
	int c3 = sock(SOCK_STREAM, &path_addr, path_len, false);
	int c4 = sock(SOCK_STREAM, &path_addr, path_len, false);
	uint64_t sent = 0, answered = 0, v;

	put(c2, "up");
	put(c1, "hello"); /* last: the parent's sign that all is set up */
	for (; sent < IN_FLIGHT; sent++)
		if (write(c3, &sent, sizeof(sent)) != sizeof(sent))
			return 10;
	for (;;) {
		struct pollfd p = { .fd = c1, .events = POLLIN };

		if (answered % 64 == 0) {
			if (poll(&p, 1, 0) > 0)
				break;
			usleep(1000);
		}
		if (read(c3, &v, sizeof(v)) != sizeof(v) || v != test_mix(answered))
			return 11;
		answered++;
		if (write(c3, &sent, sizeof(sent)) != sizeof(sent))
			return 12;
		sent++;
	}
	if (!got(c1, "go"))
		return 13;
	if (!got(c2, "m-one") || !got(c2, "m-two"))
		return 14;
	if (!got(c4, "pending-ok"))
		return 15;
	shutdown(c3, SHUT_WR);
	while (read(c3, &v, sizeof(v)) == sizeof(v)) {
		if (v != test_mix(answered))
			return 16;
		answered++;
	}
	if (answered != sent || answered < 1000)
		return 17;
	put(sock(SOCK_STREAM, &path_addr, path_len, false), "five");
	put(sock(SOCK_SEQPACKET, &abs_addr, abs_len, false), "six");
	return 0;
}

int main(int argc, char **argv)
{
	int l1, l2, a1, a2, a3, a4, status;
	pid_t kid, work;

	test_init(argc, argv);
	path_addr.sun_family = abs_addr.sun_family = AF_UNIX;
	strcpy(path_addr.sun_path, "srv.sock");
	path_len = sizeof(path_addr);
	abs_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			      (size_t)snprintf(abs_addr.sun_path + 1, sizeof(abs_addr.sun_path) - 1,
					       "selfckpt-unix-tree-%d", (int)getpid()));
	unlink("srv.sock");
	l1 = sock(SOCK_STREAM, &path_addr, path_len, true);
	l2 = sock(SOCK_SEQPACKET, &abs_addr, abs_len, true);
	kid = fork();
	if (kid < 0)
		test_fail("fork");
	if (kid == 0)
		_exit(child());
	a1 = accept(l1, NULL, NULL);
	a2 = accept(l2, NULL, NULL);
	a3 = accept(l1, NULL, NULL);
	if (a1 < 0 || a2 < 0 || a3 < 0)
		test_fail("accept: %m");
	put(a2, "m-one");
	put(a2, "m-two");
	work = fork();
	if (work < 0)
		test_fail("fork");
	if (work == 0) {
		close(a1);
		close(a2);
		close(l2);
		_exit(worker(a3));
	}
	close(a3);
	struct pollfd p = { .fd = a1, .events = POLLIN };
	if (poll(&p, 1, 10000) != 1)
		test_fail("the child did not greet");
	test_ready();
	test_wait_stop();

	if (!got(a1, "hello") || !got(a2, "up"))
		test_fail("the messages queued before the checkpoint are not what was sent");
	if ((a4 = accept(l1, NULL, NULL)) < 0)
		test_fail("accepting the waiting connection: %m");
	put(a4, "pending-ok");
	put(a1, "go");
	if (!got(accept(l1, NULL, NULL), "five") || !got(accept(l2, NULL, NULL), "six"))
		test_fail("new connections through the listeners did not arrive");
	if (waitpid(kid, &status, 0) != kid || !WIFEXITED(status) || WEXITSTATUS(status))
		test_fail("the child ended with status 0x%x", status);
	if (waitpid(work, &status, 0) != work || !WIFEXITED(status) || WEXITSTATUS(status))
		test_fail("the worker ended with status 0x%x", status);
	test_pass();
}
