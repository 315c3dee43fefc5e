// SPDX-License-Identifier: MIT
/*
 * Unix datagram sockets: a receiver bound at a path with datagrams
 * waiting from an unnamed sender and from a named one, one bound to an
 * abstract name with a socket of the process connected to it, two named
 * sockets connected to each other with more messages waiting than a
 * stranger may queue, and a socket connected to a receiver outside the
 * process (unixdgram-echo.sh, at ./echo.sock, which answers to the
 * sender's name): all come back with their names, their messages (and
 * who sent them) and their connections, which still carry data.
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

/* The next message, sent by the socket named want (NULL: unnamed). */
static void expect_from(int fd, const char *data, const struct sockaddr_un *want, socklen_t wlen,
			const char *what)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);
	char buf[256];
	ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&sa, &len);

	if (n != (ssize_t)strlen(data) || memcmp(buf, data, strlen(data)))
		test_fail("%s: got %zd bytes, wanted \"%s\"", what, n, data);
	if (want ? len != wlen || memcmp(&sa, want, len) : len > sizeof(sa_family_t))
		test_fail("%s: \"%s\" came from another sender", what, data);
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
	struct sockaddr_un rname, aname, echo, me, nname, sname, pname;
	socklen_t rlen, alen, elen, mlen, nlen, slen, plen;
	char abs_name[64], msg[16];
	int r, u, a, c, x, named, s, p;

	test_init(argc, argv);
	snprintf(abs_name, sizeof(abs_name), "selfckpt-unixdgram-%d", getpid());
	rlen = set_name(&rname, "dgram.sock", false);
	/* An abstract name has no NUL at the end. */
	alen = set_name(&aname, abs_name, true);
	elen = set_name(&echo, "echo.sock", false);
	mlen = set_name(&me, "client.sock", false);

	r = bound(&rname, rlen, "receiver");
	u = socket(AF_UNIX, SOCK_DGRAM, 0);
	nlen = set_name(&nname, "named-sender.sock", false);
	named = bound(&nname, nlen, "named sender");
	if (sendto(u, "one", 3, 0, (struct sockaddr *)&rname, rlen) != 3 ||
	    sendto(named, "named", 5, 0, (struct sockaddr *)&rname, rlen) != 5 ||
	    sendto(u, "two!", 4, 0, (struct sockaddr *)&rname, rlen) != 4)
		test_fail("sendto: %m");
	/* A pair of named sockets connected to each other: a peer may queue
	 * more than max_dgram_qlen (10 by default) messages. */
	slen = set_name(&sname, "s.sock", false);
	plen = set_name(&pname, "p.sock", false);
	s = bound(&sname, slen, "s");
	p = bound(&pname, plen, "p");
	if (connect(s, (struct sockaddr *)&pname, plen) || connect(p, (struct sockaddr *)&sname, slen))
		test_fail("connecting s and p: %m");
	for (int i = 0; i < 20; i++) {
		snprintf(msg, sizeof(msg), "m%d", i);
		if (send(s, msg, strlen(msg), 0) != (ssize_t)strlen(msg))
			test_fail("send %s: %m", msg);
	}
	if (send(p, "back", 4, 0) != 4)
		test_fail("send back: %m");
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

	expect_from(r, "one", NULL, 0, "receiver 1");
	expect_from(r, "named", &nname, nlen, "receiver 2");
	expect_from(r, "two!", NULL, 0, "receiver 3");
	for (int i = 0; i < 20; i++) {
		snprintf(msg, sizeof(msg), "m%d", i);
		expect_from(p, msg, &sname, slen, "from its peer");
	}
	expect_from(s, "back", &pname, plen, "back from its peer");
	expect_peer(s, &pname, plen, "s connected to p");
	expect_peer(p, &sname, slen, "p connected to s");
	if (send(s, "more", 4, 0) != 4)
		test_fail("s to p after restore: %m");
	expect_from(p, "more", &sname, slen, "after restore");
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
