// SPDX-License-Identifier: MIT
/*
 * Unix stream and seqpacket listeners, by path (relative and absolute)
 * and by abstract name, come back bound and listening: connections the
 * process accepted are connected again with the data waiting both ways,
 * the ones still in the accept queue are still there in order, a client
 * shut down for writing is seen at EOF, options are kept, and a new
 * client can connect after the restore.
 *
 * options.sh checks states that must fail the checkpoint: with
 * E2E_UNIX_CONNECT=PATH it only connects a stream socket to the listener
 * at PATH (outside the process); with E2E_UNIX_REFUSE=queued a client
 * waiting in the accept queue has sent data; with E2E_UNIX_REFUSE=sender
 * it binds a datagram socket at ./refused.sock for a named socket
 * outside the process to send to.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "zdtm.h"

struct name {
	struct sockaddr_un sa;
	socklen_t len;
	const char *show;
};

struct case_ {
	int type;
	struct name name;
	int l, c1, s1, c2, c3, c5, s5, c6, s7;
	int rcvbuf;
};

static void set_name(struct name *n, const char *s, bool abstract)
{
	memset(&n->sa, 0, sizeof(n->sa));
	n->sa.sun_family = AF_UNIX;
	if (abstract) {
		strcpy(n->sa.sun_path + 1, s);
		n->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(s));
	} else {
		strcpy(n->sa.sun_path, s);
		n->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(s) + 1);
	}
	n->show = s;
}

static int client(const struct case_ *c, const char *what)
{
	int fd = socket(AF_UNIX, c->type, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&c->name.sa, c->name.len))
		test_fail("%s: connecting to %s: %m", what, c->name.show);
	return fd;
}

static int accept_one(const struct case_ *c, const char *what)
{
	struct pollfd p = { .fd = c->l, .events = POLLIN };
	int fd;

	if (poll(&p, 1, 5000) != 1 || (fd = accept(c->l, NULL, NULL)) < 0)
		test_fail("%s: accept on %s: %m", what, c->name.show);
	return fd;
}

static void send_str(int fd, const char *s, const char *what)
{
	if (send(fd, s, strlen(s), 0) != (ssize_t)strlen(s))
		test_fail("%s: send: %m", what);
}

/* The next message (or, for a stream, the next strlen(want) bytes). */
static void expect(int fd, const char *want, const char *what)
{
	char buf[256];
	size_t len = strlen(want);
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n != (ssize_t)len || memcmp(buf, want, len))
		test_fail("%s: got %zd bytes \"%.*s\", wanted \"%s\" (%s)", what, n, n > 0 ? (int)n : 0,
			  buf, want, n < 0 ? strerror(errno) : "");
}

static void expect_name(int fd, bool peer, const struct name *want, const char *what)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);
	int r = peer ? getpeername(fd, (struct sockaddr *)&sa, &len) :
		       getsockname(fd, (struct sockaddr *)&sa, &len);

	if (r)
		test_fail("%s: %m", what);
	if (!want) {
		if (len != sizeof(sa_family_t))
			test_fail("%s: named, expected unnamed", what);
		return;
	}
	if (len != want->len || memcmp(&sa, &want->sa, len))
		test_fail("%s: not %s", what, want->show);
}

static void setup(struct case_ *c)
{
	int on = 1, buf = 50000;
	socklen_t len = sizeof(c->rcvbuf);

	c->l = socket(AF_UNIX, c->type, 0);
	if (c->l < 0 || bind(c->l, (struct sockaddr *)&c->name.sa, c->name.len) || listen(c->l, 5))
		test_fail("listener %s: %m", c->name.show);
	/* An accepted connection with data waiting both ways. */
	c->c1 = client(c, "c1");
	c->s1 = accept_one(c, "s1");
	send_str(c->c1, "from-client", "c1");
	send_str(c->c1, "again", "c1");
	send_str(c->s1, "from-server", "s1");
	if (fcntl(c->s1, F_SETFL, O_NONBLOCK) || fcntl(c->c1, F_SETFD, FD_CLOEXEC) ||
	    setsockopt(c->s1, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) ||
	    setsockopt(c->c1, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf)) ||
	    getsockopt(c->c1, SOL_SOCKET, SO_RCVBUF, &c->rcvbuf, &len))
		test_fail("options: %m");
	/* A client that said all it had to say. */
	c->c5 = client(c, "c5");
	c->s5 = accept_one(c, "s5");
	send_str(c->c5, "bye", "c5");
	if (shutdown(c->c5, SHUT_WR))
		test_fail("shutdown: %m");
	/* A client whose accepted end said its last words and closed. */
	c->c6 = client(c, "c6");
	int s6 = accept_one(c, "s6");
	send_str(s6, "gone", "s6");
	close(s6);
	/* An accepted end whose client said its last words and closed. */
	int c7 = client(c, "c7");
	c->s7 = accept_one(c, "s7");
	send_str(c7, "c7 out", "c7");
	close(c7);
	/* Two connections left waiting in the accept queue. */
	c->c2 = client(c, "c2");
	c->c3 = client(c, "c3");
}

static void verify(struct case_ *c)
{
	char what[64];
	int on = 0, buf = 0, n;
	socklen_t len = sizeof(on);

	snprintf(what, sizeof(what), "%s %s", c->type == SOCK_STREAM ? "stream" : "seqpacket",
		 c->name.show);
	expect_name(c->l, false, &c->name, "listener name");
	expect_name(c->s1, false, &c->name, "accepted name");
	expect_name(c->c1, true, &c->name, "client's peer name");
	expect_name(c->c1, false, NULL, "client name");
	if (c->type == SOCK_STREAM) {
		expect(c->s1, "from-clientagain", what);
	} else {
		expect(c->s1, "from-client", what);
		expect(c->s1, "again", what);
	}
	expect(c->c1, "from-server", what);
	if (!(fcntl(c->s1, F_GETFL) & O_NONBLOCK) || (fcntl(c->c1, F_GETFL) & O_NONBLOCK) ||
	    !(fcntl(c->c1, F_GETFD) & FD_CLOEXEC) || (fcntl(c->s1, F_GETFD) & FD_CLOEXEC))
		test_fail("%s: descriptor flags changed", what);
	if (getsockopt(c->s1, SOL_SOCKET, SO_PASSCRED, &on, &len) || !on)
		test_fail("%s: SO_PASSCRED lost", what);
	len = sizeof(buf);
	if (getsockopt(c->c1, SOL_SOCKET, SO_RCVBUF, &buf, &len) || buf != c->rcvbuf)
		test_fail("%s: SO_RCVBUF %d, was %d", what, buf, c->rcvbuf);
	/* Still connected to each other. */
	send_str(c->c1, "ping", what);
	expect(c->s1, "ping", what);
	send_str(c->s1, "pong", what);
	expect(c->c1, "pong", what);
	/* The shut-down client: its last words, then EOF; it still reads. */
	expect(c->s5, "bye", what);
	if ((n = (int)recv(c->s5, &buf, 1, MSG_DONTWAIT)) != 0)
		test_fail("%s: no EOF after the peer's shutdown (%d, %m)", what, n);
	send_str(c->s5, "ok", what);
	expect(c->c5, "ok", what);
	/* The closed peer: its last words, EOF, and no one to write to. */
	expect_name(c->c6, true, &c->name, "peer name of a closed peer");
	expect(c->c6, "gone", what);
	if ((n = (int)recv(c->c6, &buf, 1, MSG_DONTWAIT)) != 0)
		test_fail("%s: no EOF from a closed peer (%d, %m)", what, n);
	if (send(c->c6, "x", 1, MSG_NOSIGNAL) != -1 || errno != EPIPE)
		test_fail("%s: writing to a closed peer: %m, not EPIPE", what);
	expect_name(c->s7, false, &c->name, "name of an orphaned accepted end");
	expect(c->s7, "c7 out", what);
	if ((n = (int)recv(c->s7, &buf, 1, MSG_DONTWAIT)) != 0)
		test_fail("%s: no EOF from a closed client (%d, %m)", what, n);
	/* The queue, oldest first, then a brand new client. */
	send_str(c->c2, "c2", what);
	send_str(c->c3, "c3", what);
	int a2 = accept_one(c, what), a3 = accept_one(c, what);
	usleep(1000);
	expect(a2, "c2", what);
	expect(a3, "c3", what);
	int c4 = client(c, what), a4 = accept_one(c, what);
	send_str(c4, "new", what);
	usleep(1000);
	expect(a4, "new", what);
}

int main(int argc, char **argv)
{
	const char *outside = getenv("E2E_UNIX_CONNECT"), *refuse = getenv("E2E_UNIX_REFUSE");
	char cwd[200], abs_path[300], abs_name[64], abs2[64];
	struct case_ cases[4] = { { .type = SOCK_STREAM }, { .type = SOCK_SEQPACKET },
				  { .type = SOCK_STREAM }, { .type = SOCK_SEQPACKET } };

	test_init(argc, argv);
	if (outside || refuse) {
		bool dgram = refuse && !strcmp(refuse, "sender");
		struct case_ o = { .type = dgram ? SOCK_DGRAM : SOCK_STREAM };

		set_name(&o.name, outside ? outside : "refused.sock", false);
		if (!outside) {
			o.l = socket(AF_UNIX, o.type, 0);
			if (bind(o.l, (struct sockaddr *)&o.name.sa, o.name.len) ||
			    (o.type == SOCK_STREAM && listen(o.l, 1)))
				test_fail("refused.sock: %m");
		}
		/* A datagram receiver waits for options.sh to send to it. */
		if (o.type == SOCK_STREAM) {
			int fd = client(&o, "client");

			if (refuse)
				send_str(fd, "unread", "client");
		}
		test_ready();
		test_wait_stop();
		test_pass();
	}
	if (!getcwd(cwd, sizeof(cwd)))
		test_fail("getcwd: %m");
	snprintf(abs_path, sizeof(abs_path), "%s/seqpacket.sock", cwd);
	snprintf(abs_name, sizeof(abs_name), "selfckpt-unixsock-%d-stream", getpid());
	snprintf(abs2, sizeof(abs2), "selfckpt-unixsock-%d-seqpacket", getpid());
	set_name(&cases[0].name, "stream.sock", false); /* relative to the cwd */
	set_name(&cases[1].name, abs_path, false);
	set_name(&cases[2].name, abs_name, true);
	set_name(&cases[3].name, abs2, true);
	for (int i = 0; i < 4; i++)
		setup(&cases[i]);
	/* A listener whose path was unlinked: bound, listening, no file. */
	struct case_ gone = { .type = SOCK_STREAM };
	set_name(&gone.name, "unlinked.sock", false);
	gone.l = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(gone.l, (struct sockaddr *)&gone.name.sa, gone.name.len) || listen(gone.l, 1) ||
	    unlink("unlinked.sock"))
		test_fail("unlinked listener: %m");
	/* A connection whose listener has closed since, from a client with a
	 * name of its own (autobound by SO_PASSCRED). */
	struct case_ closed = { .type = SOCK_STREAM };
	int on = 1;
	set_name(&closed.name, "closed.sock", false);
	closed.l = socket(AF_UNIX, SOCK_STREAM, 0);
	closed.c1 = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(closed.l, (struct sockaddr *)&closed.name.sa, closed.name.len) ||
	    listen(closed.l, 1) ||
	    setsockopt(closed.c1, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) ||
	    connect(closed.c1, (struct sockaddr *)&closed.name.sa, closed.name.len))
		test_fail("closed.sock: %m");
	closed.s1 = accept_one(&closed, "closed.sock");
	close(closed.l);
	send_str(closed.c1, "to-server", "closed.sock");
	send_str(closed.s1, "to-client", "closed.sock");
	struct name autobound;
	autobound.len = sizeof(autobound.sa);
	if (getsockname(closed.c1, (struct sockaddr *)&autobound.sa, &autobound.len) ||
	    autobound.len <= sizeof(sa_family_t) || autobound.sa.sun_path[0])
		test_fail("closed.sock: the client is not autobound");
	autobound.show = "an autobound name";
	/* A server that made a new listener at the same path, unlinking the
	 * old one's file, while a connection to the old one goes on. */
	struct case_ restart = { .type = SOCK_SEQPACKET };
	set_name(&restart.name, "restart.sock", false);
	restart.l = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (bind(restart.l, (struct sockaddr *)&restart.name.sa, restart.name.len) ||
	    listen(restart.l, 1))
		test_fail("restart.sock: %m");
	restart.c1 = client(&restart, "restart.sock");
	restart.s1 = accept_one(&restart, "restart.sock");
	close(restart.l);
	restart.l = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (unlink("restart.sock") ||
	    bind(restart.l, (struct sockaddr *)&restart.name.sa, restart.name.len) ||
	    listen(restart.l, 1))
		test_fail("restart.sock again: %m");
	send_str(restart.c1, "old", "restart.sock");
	/* Unconnected stream sockets: one bound, one not. */
	struct name bound_name;
	set_name(&bound_name, "bound.sock", false);
	int bound = socket(AF_UNIX, SOCK_STREAM, 0), lone = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(bound, (struct sockaddr *)&bound_name.sa, bound_name.len))
		test_fail("bound.sock: %m");
	/* A socketpair whose other end sent and closed. */
	int half[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, half) || send(half[1], "last", 4, 0) != 4)
		test_fail("socketpair: %m");
	close(half[1]);

	test_ready();
	test_wait_stop();

	for (int i = 0; i < 4; i++)
		verify(&cases[i]);
	expect_name(gone.l, false, &gone.name, "unlinked listener's name");
	if (access("unlinked.sock", F_OK) == 0 || errno != ENOENT)
		test_fail("unlinked.sock is back on disk");
	expect_name(closed.s1, false, &closed.name, "accepted from a closed listener");
	expect_name(closed.c1, true, &closed.name, "client of a closed listener");
	expect_name(closed.c1, false, &autobound, "autobound client");
	expect_name(closed.s1, true, &autobound, "peer of the accepted end");
	expect(closed.s1, "to-server", "closed listener");
	expect(closed.c1, "to-client", "closed listener");
	send_str(closed.s1, "still", "closed listener");
	expect(closed.c1, "still", "closed listener");
	expect_name(restart.s1, false, &restart.name, "accepted from a replaced listener");
	expect(restart.s1, "old", "replaced listener");
	send_str(restart.s1, "reply", "replaced listener");
	expect(restart.c1, "reply", "replaced listener");
	int c10 = client(&restart, "new listener"), a10 = accept_one(&restart, "new listener");
	send_str(c10, "new", "new listener");
	usleep(1000);
	expect(a10, "new", "new listener");
	expect_name(bound, false, &bound_name, "bound, unconnected");
	expect_name(lone, false, NULL, "unbound, unconnected");
	if (listen(bound, 1) || connect(lone, (struct sockaddr *)&bound_name.sa, bound_name.len))
		test_fail("unconnected sockets after restore: %m");
	expect(half[0], "last", "half a socketpair");
	if (recv(half[0], abs_name, 1, MSG_DONTWAIT) != 0)
		test_fail("half a socketpair: no EOF: %m");
	test_pass();
}
