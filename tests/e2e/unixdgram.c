// SPDX-License-Identifier: MIT
/*
 * Unix datagram sockets: a receiver bound at a path with datagrams
 * waiting from an unnamed sender, one bound to an abstract name with a
 * socket of the process connected to it, and a socket connected to a
 * receiver outside the process (unixdgram-echo.sh, at ./echo.sock, which
 * answers to the sender's name): all come back with their names, their
 * messages and their connections, which still carry data.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "zdtm.h"

static socklen_t set_name(struct sockaddr_un *sa, const char *s, bool abstract)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	strcpy(sa->sun_path + abstract, s);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(s) + 1);
}

static int bound(const struct sockaddr_un *sa, socklen_t len, const char *what)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	if (fd < 0 || bind(fd, (const struct sockaddr *)sa, len))
		test_fail("%s: bind: %m", what);
	return fd;
}

static void expect(int fd, const char *want, int wait_ms, const char *what)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[256];
	ssize_t n;

	if (wait_ms && poll(&p, 1, wait_ms) != 1)
		test_fail("%s: nothing came within %d ms", what, wait_ms);
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n != (ssize_t)strlen(want) || memcmp(buf, want, strlen(want)))
		test_fail("%s: got %zd bytes \"%.*s\", wanted \"%s\"", what, n, n > 0 ? (int)n : 0, buf,
			  want);
}

static void expect_peer(int fd, const struct sockaddr_un *want, socklen_t wlen, const char *what)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);

	if (getpeername(fd, (struct sockaddr *)&sa, &len) || len != wlen || memcmp(&sa, want, len))
		test_fail("%s: not connected to its peer any more", what);
}

int main(int argc, char **argv)
{
	struct sockaddr_un rname, aname, echo, me;
	socklen_t rlen, alen, elen, mlen;
	char abs_name[64];
	int r, u, a, c, x;

	test_init(argc, argv);
	snprintf(abs_name, sizeof(abs_name), "selfckpt-unixdgram-%d", getpid());
	rlen = set_name(&rname, "dgram.sock", false);
	/* An abstract name has no NUL at the end. */
	alen = set_name(&aname, abs_name, true);
	elen = set_name(&echo, "echo.sock", false);
	mlen = set_name(&me, "client.sock", false);

	r = bound(&rname, rlen, "receiver");
	u = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (sendto(u, "one", 3, 0, (struct sockaddr *)&rname, rlen) != 3 ||
	    sendto(u, "two!", 4, 0, (struct sockaddr *)&rname, rlen) != 4)
		test_fail("sendto: %m");
	a = bound(&aname, alen, "abstract");
	c = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (connect(c, (struct sockaddr *)&aname, alen) || send(c, "via-connect", 11, 0) != 11)
		test_fail("connected send: %m");
	/* Outside: a round trip before, another after. */
	x = bound(&me, mlen, "client");
	if (connect(x, (struct sockaddr *)&echo, elen) || send(x, "hello", 5, 0) != 5)
		test_fail("echo: %m");
	expect(x, "echo:hello", 5000, "echo before");

	test_ready();
	test_wait_stop();

	expect(r, "one", 0, "receiver 1");
	expect(r, "two!", 0, "receiver 2");
	if (sendto(u, "three", 5, 0, (struct sockaddr *)&rname, rlen) != 5)
		test_fail("sendto after restore: %m");
	expect(r, "three", 0, "receiver 3");
	expect(a, "via-connect", 0, "abstract");
	expect_peer(c, &aname, alen, "connected to the abstract name");
	if (send(c, "still", 5, 0) != 5)
		test_fail("connected send after restore: %m");
	expect(a, "still", 0, "abstract after restore");
	expect_peer(x, &echo, elen, "connected to echo.sock");
	if (send(x, "again", 5, 0) != 5)
		test_fail("echo after restore: %m");
	expect(x, "echo:again", 5000, "echo after");
	test_pass();
}
