// SPDX-License-Identifier: MIT
/*
 * The peer of tcp_established, never checkpointed: listens on 127.0.0.1
 * and [::1] (ports written to ./peer.port), accepts one connection on
 * each, sends TO_APP_BYTES on each and reads nothing until ./go exists
 * (the app creates it once it has been restored and told to finish).
 * Then it reads every byte the app sends, checks each, answers "pong"
 * and expects a clean end of stream. Any reset, early end of stream or
 * wrong byte fails it; its exit status is the verdict.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tcp_stream.h"

static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tcp_peer: FAIL: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static int listener(int family, int *port)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = family == AF_INET ? sizeof(a4) : sizeof(a6);
	struct sockaddr *a = family == AF_INET ? (struct sockaddr *)&a4 : (struct sockaddr *)&a6;
	int s = socket(family, SOCK_STREAM, 0), small = 4096;

	/* A small window: the app's bytes pile up in its own send queue. */
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)) ||
	    bind(s, a, len) || listen(s, 1) || getsockname(s, a, &len))
		fail("listen: %m");
	*port = ntohs(family == AF_INET ? a4.sin_port : a6.sin6_port);
	return s;
}

static void read_all(int c, unsigned seed, size_t total, const char *name)
{
	static uint8_t buf[65536];
	size_t got = 0;

	while (got < total) {
		size_t want = total - got < sizeof(buf) ? total - got : sizeof(buf);
		ssize_t n = recv(c, buf, want, 0);

		if (n <= 0)
			fail("%s: %s after %zu of %zu bytes", name, n ? strerror(errno) : "end of stream",
			     got, total);
		size_t bad = stream_check(seed, got, buf, (size_t)n);
		if (bad != (size_t)n)
			fail("%s: byte %zu differs", name, got + bad);
		got += (size_t)n;
	}
}

int main(void)
{
	int p4, p6, l4 = listener(AF_INET, &p4), l6 = listener(AF_INET6, &p6), c[2];
	static uint8_t out[TO_APP_BYTES];
	FILE *f = fopen("peer.port.tmp", "w");

	alarm(300);
	if (!f || fprintf(f, "%d %d\n", p4, p6) < 0 || fclose(f) || rename("peer.port.tmp", "peer.port"))
		fail("peer.port: %m");
	c[0] = accept(l4, NULL, NULL);
	c[1] = accept(l6, NULL, NULL);
	if (c[0] < 0 || c[1] < 0)
		fail("accept: %m");
	for (int i = 0; i < 2; i++) {
		stream_fill(10 + (unsigned)i, 0, out, sizeof(out));
		if (send(c[i], out, sizeof(out), 0) != (ssize_t)sizeof(out))
			fail("send: %m");
	}
	while (access("go", F_OK))
		usleep(20000);
	for (int i = 0; i < 2; i++) {
		const char *name = i ? "IPv6 connection" : "IPv4 connection";
		char end;

		read_all(c[i], 20 + (unsigned)i, TO_PEER_BYTES, name);
		if (send(c[i], "pong", 4, 0) != 4)
			fail("%s: send: %m", name);
		ssize_t n = recv(c[i], &end, 1, 0);
		if (n != 0)
			fail("%s: %s instead of the end of stream", name, n < 0 ? strerror(errno) : "more bytes");
	}
	printf("tcp_peer: PASS\n");
	return 0;
}
