// SPDX-License-Identifier: MIT
/*
 * TCP and UDP sockets, IPv4 and IPv6, that are not connections: listening
 * sockets, a bound TCP socket, bound and connected UDP sockets. After the
 * restore each has its address, port and options again, a new client
 * connects to each listener and exchanges data, and datagrams sent after
 * the restore arrive, with the right source. A datagram that waited on a
 * UDP socket at checkpoint time may be dropped (doc/tcp.md). A listener
 * whose port still holds a connection in TIME_WAIT takes it again.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zdtm.h"

struct sock {
	const char *name;
	int fd;
	struct sockaddr_in6 addr; /* getsockname at setup */
	socklen_t len;
};

static void opt(int fd, int level, int name, int val)
{
	if (setsockopt(fd, level, name, &val, sizeof(val)))
		test_fail("setsockopt %d/%d: %m", level, name);
}

static int get(int fd, int level, int name)
{
	int val = -1;
	socklen_t len = sizeof(val);

	if (getsockopt(fd, level, name, &val, &len))
		test_fail("getsockopt %d/%d: %m", level, name);
	return val;
}

static void bind_to(struct sock *s, int family, const char *ip)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in a4 = { .sin_family = AF_INET };
	int r;

	if (family == AF_INET) {
		inet_pton(AF_INET, ip, &a4.sin_addr);
		r = bind(s->fd, (struct sockaddr *)&a4, sizeof(a4));
	} else {
		inet_pton(AF_INET6, ip, &a6.sin6_addr);
		r = bind(s->fd, (struct sockaddr *)&a6, sizeof(a6));
	}
	s->len = sizeof(s->addr);
	if (r || getsockname(s->fd, (struct sockaddr *)&s->addr, &s->len))
		test_fail("%s: bind %s: %m", s->name, ip);
}

static void same_name(const struct sock *s)
{
	struct sockaddr_in6 now;
	socklen_t len = sizeof(now);

	if (getsockname(s->fd, (struct sockaddr *)&now, &len) || len != s->len ||
	    memcmp(&now, &s->addr, len))
		test_fail("%s: bound to another address or port after restore", s->name);
}

static void wait_readable(int fd, const char *what)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, 5000) != 1)
		test_fail("%s: nothing to read within 5 s", what);
}

static void expect(int fd, const char *want, const char *what)
{
	char buf[64];
	ssize_t n;

	wait_readable(fd, what);
	n = recv(fd, buf, sizeof(buf), 0);
	if (n != (ssize_t)strlen(want) || memcmp(buf, want, (size_t)n))
		test_fail("%s: got %zd bytes, wanted \"%s\"", what, n, want);
}

/* A new client on the listener's address (the loopback one for a
 * wildcard): data both ways, then the client closes first, so that the
 * listening port is left with no TIME_WAIT, or with time_wait, the
 * listener's side, which leaves the connection in TIME_WAIT on its port
 * for 60 s. */
static void talk_to(const struct sock *l, int family, bool time_wait)
{
	struct sockaddr_in6 to = l->addr;
	int c = socket(family, SOCK_STREAM, 0), a;

	if (family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&to.sin6_addr))
		to.sin6_addr = in6addr_loopback;
	if (c < 0 || connect(c, (struct sockaddr *)&to, l->len))
		test_fail("%s: connect: %m", l->name);
	wait_readable(l->fd, l->name);
	a = accept(l->fd, NULL, NULL);
	if (a < 0)
		test_fail("%s: accept: %m", l->name);
	if (send(c, "hello", 5, 0) != 5 || send(a, "hi back", 7, 0) != 7)
		test_fail("%s: send: %m", l->name);
	expect(a, "hello", l->name);
	expect(c, "hi back", l->name);
	if (time_wait) {
		int t = a;

		a = c;
		c = t;
	}
	close(c);
	wait_readable(a, l->name);
	if (recv(a, (char[1]){ 0 }, 1, 0) != 0)
		test_fail("%s: no EOF from the other side", l->name);
	close(a);
}

/* from sends msg to the socket at `to`, which must see from's address. */
static void datagram(const struct sock *from, const struct sock *to, const char *msg)
{
	struct sockaddr_in6 src;
	socklen_t len = sizeof(src);
	char buf[64];
	ssize_t n;

	if (sendto(from->fd, msg, strlen(msg), 0, (struct sockaddr *)&to->addr, to->len) < 0)
		test_fail("%s -> %s: sendto: %m", from->name, to->name);
	wait_readable(to->fd, to->name);
	n = recvfrom(to->fd, buf, sizeof(buf), 0, (struct sockaddr *)&src, &len);
	if (n != (ssize_t)strlen(msg) || memcmp(buf, msg, (size_t)n))
		test_fail("%s: got %zd bytes, wanted \"%s\"", to->name, n, msg);
	if (len != from->len || memcmp(&src, &from->addr, len))
		test_fail("%s: the datagram came from another address", to->name);
}

int main(int argc, char **argv)
{
	struct sock t4 = { .name = "tcp4 listener" }, t6 = { .name = "tcp6 v6only listener" };
	struct sock t6d = { .name = "tcp6 dual listener" }, tb = { .name = "tcp4 bound" };
	struct sock tw = { .name = "tcp4 listener with a connection in TIME_WAIT" };
	struct sock u4 = { .name = "udp4" }, u4c = { .name = "udp4 connected" };
	struct sock u6 = { .name = "udp6" }, u6c = { .name = "udp6 connected" };
	int rcvbuf, unbound;

	test_init(argc, argv);
	t4.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	t6.fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	t6d.fd = socket(AF_INET6, SOCK_STREAM, 0);
	tb.fd = socket(AF_INET, SOCK_STREAM, 0);
	tw.fd = socket(AF_INET, SOCK_STREAM, 0);
	u4.fd = socket(AF_INET, SOCK_DGRAM, 0);
	u4c.fd = socket(AF_INET, SOCK_DGRAM, 0);
	u6.fd = socket(AF_INET6, SOCK_DGRAM, 0);
	u6c.fd = socket(AF_INET6, SOCK_DGRAM, 0);
	unbound = socket(AF_INET6, SOCK_STREAM, 0);
	if (t4.fd < 0 || t6.fd < 0 || t6d.fd < 0 || tb.fd < 0 || tw.fd < 0 || u4.fd < 0 ||
	    u4c.fd < 0 || u6.fd < 0 || u6c.fd < 0 || unbound < 0)
		test_fail("socket: %m");

	opt(t4.fd, SOL_SOCKET, SO_REUSEADDR, 1);
	opt(t4.fd, IPPROTO_TCP, TCP_NODELAY, 1);
	opt(t4.fd, IPPROTO_TCP, TCP_KEEPIDLE, 77);
	opt(t4.fd, IPPROTO_TCP, TCP_KEEPCNT, 3);
	if (setsockopt(tb.fd, SOL_SOCKET, SO_LINGER, &(struct linger){ 1, 5 }, sizeof(struct linger)))
		test_fail("SO_LINGER: %m");
	bind_to(&t4, AF_INET, "127.0.0.1");
	opt(t6.fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
	opt(t6.fd, SOL_SOCKET, SO_KEEPALIVE, 1);
	opt(t6.fd, SOL_SOCKET, SO_RCVBUF, 50000);
	rcvbuf = get(t6.fd, SOL_SOCKET, SO_RCVBUF);
	bind_to(&t6, AF_INET6, "::");
	opt(t6d.fd, IPPROTO_IPV6, IPV6_V6ONLY, 0);
	opt(t6d.fd, SOL_SOCKET, SO_REUSEPORT, 1);
	bind_to(&t6d, AF_INET6, "::");
	bind_to(&tb, AF_INET, "127.0.0.1");
	bind_to(&tw, AF_INET, "127.0.0.1");
	if (listen(t4.fd, 16) || listen(t6.fd, 5) || listen(t6d.fd, SOMAXCONN) || listen(tw.fd, 4))
		test_fail("listen: %m");
	/* Its port still holds that connection when it is restored (a kill,
	 * then crload at once), and it has SO_REUSEADDR off, as the
	 * connection had: a bind fails on it (doc/tcp.md). */
	talk_to(&tw, AF_INET, true);
	opt(u4.fd, SOL_SOCKET, SO_REUSEADDR, 1);
	bind_to(&u4, AF_INET, "127.0.0.1");
	bind_to(&u4c, AF_INET, "127.0.0.1");
	bind_to(&u6, AF_INET6, "::1");
	bind_to(&u6c, AF_INET6, "::1");
	if (connect(u4c.fd, (struct sockaddr *)&u4.addr, u4.len) ||
	    connect(u6c.fd, (struct sockaddr *)&u6.addr, u6.len))
		test_fail("connect: %m");
	/* Waits on u6 at checkpoint time: restored or dropped, never garbled. */
	if (send(u6c.fd, "old", 3, 0) != 3)
		test_fail("send: %m");

	test_ready();
	test_wait_stop();

	struct sock *all[] = { &t4, &t6, &t6d, &tb, &tw, &u4, &u4c, &u6, &u6c };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		same_name(all[i]);
	if (get(t4.fd, SOL_SOCKET, SO_REUSEADDR) != 1 || get(tb.fd, SOL_SOCKET, SO_REUSEADDR) != 0 ||
	    get(u4.fd, SOL_SOCKET, SO_REUSEADDR) != 1 || get(t6d.fd, SOL_SOCKET, SO_REUSEPORT) != 1 ||
	    get(t6.fd, SOL_SOCKET, SO_REUSEPORT) != 0)
		test_fail("SO_REUSEADDR/SO_REUSEPORT changed");
	if (get(t6.fd, SOL_SOCKET, SO_KEEPALIVE) != 1 || get(t4.fd, SOL_SOCKET, SO_KEEPALIVE) != 0 ||
	    get(t4.fd, IPPROTO_TCP, TCP_NODELAY) != 1 || get(t6d.fd, IPPROTO_TCP, TCP_NODELAY) != 0)
		test_fail("SO_KEEPALIVE/TCP_NODELAY changed");
	struct linger lg = { 0, 0 };
	socklen_t lglen = sizeof(lg);
	if (get(t4.fd, IPPROTO_TCP, TCP_KEEPIDLE) != 77 || get(t4.fd, IPPROTO_TCP, TCP_KEEPCNT) != 3 ||
	    getsockopt(tb.fd, SOL_SOCKET, SO_LINGER, &lg, &lglen) || !lg.l_onoff || lg.l_linger != 5)
		test_fail("TCP_KEEPIDLE/TCP_KEEPCNT/SO_LINGER changed");
	if (get(t6.fd, IPPROTO_IPV6, IPV6_V6ONLY) != 1 || get(t6d.fd, IPPROTO_IPV6, IPV6_V6ONLY) != 0)
		test_fail("IPV6_V6ONLY changed");
	if (get(t6.fd, SOL_SOCKET, SO_RCVBUF) != rcvbuf)
		test_fail("SO_RCVBUF %d, was %d", get(t6.fd, SOL_SOCKET, SO_RCVBUF), rcvbuf);
	if (!(fcntl(t4.fd, F_GETFL) & O_NONBLOCK) || (fcntl(t6.fd, F_GETFL) & O_NONBLOCK) ||
	    !(fcntl(t6.fd, F_GETFD) & FD_CLOEXEC) || (fcntl(t4.fd, F_GETFD) & FD_CLOEXEC))
		test_fail("descriptor flags changed");
	if (get(t4.fd, SOL_SOCKET, SO_ACCEPTCONN) != 1 || get(tb.fd, SOL_SOCKET, SO_ACCEPTCONN) != 0 ||
	    get(unbound, SOL_SOCKET, SO_TYPE) != SOCK_STREAM)
		test_fail("listening state or type changed");

	talk_to(&t4, AF_INET, false);
	talk_to(&t6, AF_INET6, false);
	talk_to(&t6d, AF_INET6, false);
	talk_to(&tw, AF_INET, false);
	/* A dual-stack listener takes IPv4 clients too. */
	struct sock t6d_v4 = t6d;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&t6d_v4.addr;
	a4->sin_family = AF_INET;
	a4->sin_port = t6d.addr.sin6_port;
	a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	t6d_v4.len = sizeof(*a4);
	talk_to(&t6d_v4, AF_INET, false);
	/* The bound socket still owns its port: it can listen on it. */
	if (listen(tb.fd, 4))
		test_fail("tcp4 bound: listen: %m");
	talk_to(&tb, AF_INET, false);

	/* "old" may still wait on u6 (the original kept it): skip it. */
	char buf[8];
	while (recv(u6.fd, buf, sizeof(buf), MSG_DONTWAIT) == 3 && !memcmp(buf, "old", 3))
		;
	datagram(&u4c, &u4, "four");
	datagram(&u4, &u4c, "back4");
	datagram(&u6c, &u6, "six");
	datagram(&u6, &u6c, "back6");
	test_pass();
}
