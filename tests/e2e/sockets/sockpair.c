// SPDX-License-Identifier: MIT
/*
 * AF_UNIX socketpairs of every type come back connected to each other with
 * the data waiting on each end: bytes in order for a stream, messages with
 * their boundaries for datagram and seqpacket pairs.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zdtm.h"

static void expect_msg(int fd, const char *want, size_t len, const char *what)
{
	char buf[8192];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n != (ssize_t)len || memcmp(buf, want, len))
		test_fail("%s: got %zd bytes, wanted %zu \"%.*s\"", what, n, len, (int)len, want);
}

int main(int argc, char **argv)
{
	int st[2], dg[2], sp[2];
	char big[3000];

	test_init(argc, argv);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, st) || socketpair(AF_UNIX, SOCK_DGRAM, 0, dg) ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sp))
		test_fail("socketpair: %m");
	/* Waiting on st[1]: 3000 bytes in two writes; on st[0]: "pong". */
	if (send(st[0], big, 1000, 0) != 1000 || send(st[0], big + 1000, 2000, 0) != 2000 ||
	    send(st[1], "pong", 4, 0) != 4)
		test_fail("stream send: %m");
	if (send(dg[0], "one", 3, 0) != 3 || send(dg[0], "three33", 7, 0) != 7 ||
	    send(dg[0], "", 0, 0) != 0 || send(dg[1], "back", 4, 0) != 4)
		test_fail("dgram send: %m");
	if (send(sp[1], "first", 5, 0) != 5 || send(sp[1], "second!", 7, 0) != 7)
		test_fail("seqpacket send: %m");

	test_ready();
	test_wait_stop();

	char buf[4096];
	size_t got = 0;
	while (got < sizeof(big)) {
		ssize_t n = recv(st[1], buf + got, sizeof(buf) - got, MSG_DONTWAIT);

		if (n <= 0)
			test_fail("stream: %zu of 3000 bytes, then %s", got, n ? strerror(errno) : "EOF");
		got += (size_t)n;
	}
	if (memcmp(buf, big, sizeof(big)))
		test_fail("stream: bytes differ");
	expect_msg(st[0], "pong", 4, "stream, other way");
	expect_msg(dg[1], "one", 3, "datagram 1");
	expect_msg(dg[1], "three33", 7, "datagram 2");
	expect_msg(dg[1], "", 0, "datagram 3 (empty)");
	expect_msg(dg[0], "back", 4, "datagram, other way");
	expect_msg(sp[0], "first", 5, "seqpacket 1");
	expect_msg(sp[0], "second!", 7, "seqpacket 2");
	if (!(fcntl(sp[0], F_GETFL) & O_NONBLOCK) || (fcntl(st[0], F_GETFL) & O_NONBLOCK))
		test_fail("O_NONBLOCK changed");
	/* Still a pair: a round trip each way. */
	if (send(st[0], "ping", 4, 0) != 4)
		test_fail("send: %m");
	expect_msg(st[1], "ping", 4, "stream after restore");
	if (recv(sp[0], buf, 1, 0) != -1 || errno != EAGAIN)
		test_fail("seqpacket: more queued than was sent");
	test_pass();
}
