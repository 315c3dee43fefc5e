// SPDX-License-Identifier: MIT
/*
 * Established TCP connections (IPv4 and IPv6) to a peer that is not
 * checkpointed (tcp_peer, started by the driver), with bytes in flight
 * both ways at checkpoint time: the peer's TO_APP_BYTES wait unread in
 * our receive queue, and part of our TO_PEER_BYTES waits in our send
 * queue behind the peer's closed window. After the restore the
 * conversation goes on: every byte arrives once and in order on both
 * sides, and the peer never sees a reset or an early end of stream.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tcp_stream.h"
#include "zdtm.h"

static int connect_to(int family, int port)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT,
				   .sin6_port = htons((uint16_t)port) };
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				  .sin_port = htons((uint16_t)port) };
	int s = socket(family, SOCK_STREAM, 0);

	if (s < 0 || (family == AF_INET ? connect(s, (struct sockaddr *)&a4, sizeof(a4))
					: connect(s, (struct sockaddr *)&a6, sizeof(a6))))
		test_fail("connect to port %d: %m", port);
	return s;
}

static void wait_for(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	if (poll(&p, 1, 60000) != 1)
		test_fail("connection stuck for 60 s (events %#x)", p.revents);
}

/* Sends stream bytes from *sent up to `upto`; stops at EAGAIN if `once`. */
static void send_stream(int c, unsigned seed, size_t *sent, bool once)
{
	static uint8_t buf[65536];

	while (*sent < TO_PEER_BYTES) {
		size_t n = TO_PEER_BYTES - *sent < sizeof(buf) ? TO_PEER_BYTES - *sent : sizeof(buf);
		ssize_t r;

		stream_fill(seed, *sent, buf, n);
		r = send(c, buf, n, MSG_DONTWAIT);
		if (r < 0 && errno == EAGAIN) {
			if (once)
				return;
			wait_for(c, POLLOUT);
			continue;
		}
		if (r <= 0)
			test_fail("send after %zu bytes: %m", *sent);
		*sent += (size_t)r;
	}
}

static void recv_exact(int c, unsigned seed, size_t total, const char *what)
{
	static uint8_t buf[65536];
	size_t got = 0;

	while (got < total) {
		size_t want = total - got < sizeof(buf) ? total - got : sizeof(buf);
		ssize_t n = recv(c, buf, want, MSG_DONTWAIT);

		if (n < 0 && errno == EAGAIN) {
			wait_for(c, POLLIN);
			continue;
		}
		if (n <= 0)
			test_fail("%s: %s after %zu of %zu bytes", what,
				  n ? strerror(errno) : "end of stream", got, total);
		if (stream_check(seed, got, buf, (size_t)n) != (size_t)n)
			test_fail("%s: wrong bytes at %zu", what, got);
		got += (size_t)n;
	}
}

int main(int argc, char **argv)
{
	int p4, p6, c[2], inq = 0;
	size_t sent[2] = { 0, 0 };
	FILE *f;

	test_init(argc, argv);
	f = fopen("peer.port", "r");
	if (!f || fscanf(f, "%d %d", &p4, &p6) != 2)
		test_fail("peer.port: %m");
	fclose(f);
	c[0] = connect_to(AF_INET, p4);
	c[1] = connect_to(AF_INET6, p6);
	if (setsockopt(c[1], IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int)) ||
	    fcntl(c[1], F_SETFL, O_NONBLOCK))
		test_fail("options: %m");
	for (int i = 0; i < 2; i++) {
		send_stream(c[i], 20 + (unsigned)i, &sent[i], true);
		/* The peer's bytes all arrive, and stay unread. */
		for (int t = 0; t < 1000 && inq < TO_APP_BYTES; t++) {
			ioctl(c[i], FIONREAD, &inq);
			usleep(5000);
		}
		if (inq != TO_APP_BYTES)
			test_fail("only %d of the peer's bytes arrived", inq);
		inq = 0;
	}
	printf("in flight to the peer: %zu and %zu bytes sent of %d\n", sent[0], sent[1],
	       TO_PEER_BYTES);

	test_ready();
	test_wait_stop();

	if (close(open("go", O_WRONLY | O_CREAT, 0644)))
		test_fail("cannot create ./go");
	if (!(fcntl(c[1], F_GETFL) & O_NONBLOCK) || (fcntl(c[0], F_GETFL) & O_NONBLOCK))
		test_fail("O_NONBLOCK changed");
	int nodelay = 0;
	socklen_t len = sizeof(nodelay);
	if (getsockopt(c[1], IPPROTO_TCP, TCP_NODELAY, &nodelay, &len) || !nodelay)
		test_fail("TCP_NODELAY lost");
	for (int i = 0; i < 2; i++) {
		const char *what = i ? "IPv6 connection" : "IPv4 connection";
		char pong[4];
		ssize_t n;

		recv_exact(c[i], 10 + (unsigned)i, TO_APP_BYTES, what);
		send_stream(c[i], 20 + (unsigned)i, &sent[i], false);
		wait_for(c[i], POLLIN);
		n = recv(c[i], pong, sizeof(pong), MSG_WAITALL);
		if (n != 4 || memcmp(pong, "pong", 4))
			test_fail("%s: no pong (%zd: %m)", what, n);
		close(c[i]);
	}
	test_pass();
}
