// SPDX-License-Identifier: MIT
/*
 * AF_UNIX sockets, all made at the first one restored, in the order the
 * kernel needs: bound and listening first, then connections made again
 * through their listener (accepted ones accepted at once, the rest left
 * waiting in its queue, in order), socketpairs for unnamed pairs, the
 * waiting messages sent again, datagram sockets connected by name, and
 * last the shutdowns and unlinked names.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fd_restore.h"
#include "unix_graph.h"

struct fd_restore_unix {
	const Sc__Fd *e;
	int fd;		/* the new socket, at scratch_min or above; -1: not yet */
	int spare; /* the other end of a connection whose peer was gone */
};

/* Every unix socket of the process, made at the first one restored. */
struct unix_restore {
	struct unix_graph g;
	struct fd_restore_unix *v; /* by inode: v[i] is g.v[i]'s */
};

/* NULL until make_all. */
static struct unix_restore *socks(const struct fd_restore_ctx *ctx)
{
	return ctx->kind_state[FD_RESTORE_SC__FD_KIND__UNIX];
}

typedef ProtobufCBinaryData Name;

static bool same(const Name *a, const Name *b)
{
	return a->len == b->len && !memcmp(a->data, b->data, a->len);
}

static socklen_t make_addr(const Name *n, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, n->data, n->len);
	/* A path name with its NUL; an abstract name is all its bytes. */
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n->len + (n->data[0] != 0));
}

/* The name for messages: "@..." for abstract names. */
static const char *show(const Name *n)
{
	static char buf[2][sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	static int which;
	char *b = buf[which ^= 1];

	sc_unix_name_show(b, n->data, n->len < sizeof(buf[0]) ? n->len : sizeof(buf[0]) - 1);
	return b;
}

static int fail(char *err, const Sc__Fd *e, const char *what, const Name *n)
{
	sc_err(err, "fd %d: %s%s%s: %s", e->fd, what, n ? " " : "", n ? show(n) : "",
	       strerror(errno));
	return -1;
}

/* fd moved to scratch_min or above; -1 (errno set) if fd was -1. */
static int move_high(struct fd_restore_ctx *ctx, int fd)
{
	int high;

	if (fd < 0)
		return -1;
	high = fcntl(fd, F_DUPFD_CLOEXEC, ctx->scratch_min);
	close(fd);
	return high;
}

static struct fd_restore_unix *find(struct fd_restore_ctx *ctx, uint64_t ino)
{
	const struct unix_restore *us = socks(ctx);
	const struct unix_node *n = unix_graph_find(&us->g, ino, NULL);

	return n ? &us->v[n - us->g.v] : NULL;
}

/*
 * Binds fd to n. A path left behind by a socket nobody is bound to any
 * more (the checkpointed process was killed) is removed first; a name a
 * live socket holds (the original still runs) is refused. *existed: the
 * path was there before.
 */
static int bind_name(int fd, const Sc__Fd *e, const Name *n, bool *existed, char *err)
{
	struct sockaddr_un sa;
	socklen_t len = make_addr(n, &sa);
	struct stat st;
	int probe, r;

	*existed = n->data[0] && lstat(sa.sun_path, &st) == 0;
	if (bind(fd, (struct sockaddr *)&sa, len) == 0)
		return 0;
	if (errno != EADDRINUSE || (n->data[0] && !*existed))
		return fail(err, e, "binding", n);
	if (n->data[0] && !S_ISSOCK(st.st_mode)) {
		sc_err(err, "fd %d: %s exists and is not a socket", e->fd, show(n));
		return -1;
	}
	/* Connecting a datagram socket has no effect on a live one: refused
	 * means no socket is bound to the file. An abstract name in use is
	 * always a live socket's. */
	r = 0;
	if (n->data[0]) {
		probe = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		r = connect(probe, (struct sockaddr *)&sa, len) == 0 ? 0 : errno;
		close(probe);
	}
	if (r != ECONNREFUSED)
		return sc_err(
			err,
			"fd %d: %s is bound by a live socket (is the checkpointed process still running?)",
			e->fd, show(n));
	if (unlink(sa.sun_path) || bind(fd, (struct sockaddr *)&sa, len))
		return fail(err, e, "binding", n);
	return 0;
}

/* A buffer size of fd set to saved where it differs from a new socket's,
 * which is asked once (every unix socket starts with the same). */
static void set_buf(int fd, int opt, uint32_t saved, int *fresh)
{
	socklen_t len = sizeof(*fresh);

	if (*fresh < 0 && getsockopt(fd, SOL_SOCKET, opt, fresh, &len))
		*fresh = -1;
	if (*fresh < 0 || (uint32_t)*fresh != saved) {
		int v = (int)(saved / 2); /* the kernel doubles what it is given */

		setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v));
	}
}

/* SO_PASSCRED, and buffer sizes where the app changed them. */
static int set_opts(int fd, const Sc__Fd *e, char *err)
{
	static int fresh_rcv = -1, fresh_snd = -1;
	const Sc__UnixSocket *u = e->unix_sock;
	int on = u->passcred;

	if (on && setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)))
		return fail(err, e, "SO_PASSCRED", NULL);
	set_buf(fd, SO_RCVBUF, u->rcvbuf, &fresh_rcv);
	set_buf(fd, SO_SNDBUF, u->sndbuf, &fresh_snd);
	return 0;
}

static int new_socket(struct fd_restore_ctx *ctx, const Sc__Fd *e, char *err)
{
	int fd = move_high(ctx, socket(AF_UNIX, (int)e->sock_type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));

	if (fd < 0)
		return fail(err, e, "socket", NULL);
	if (set_opts(fd, e, err)) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool is_state(const Sc__Fd *e, Sc__UnixSocket__State st)
{
	return e->unix_sock->state == st;
}

/* The accepted end of a connection whose client has closed. */
static bool is_orphan(const Sc__Fd *e)
{
	const Sc__UnixSocket *u = e->unix_sock;

	return e->sock_type != SOCK_DGRAM && is_state(e, SC__UNIX_SOCKET__STATE__CONNECTED) &&
	       u->has_name && !u->has_peer_name && !e->peer_ino;
}

static int make_pair(struct fd_restore_ctx *ctx, struct fd_restore_unix *s, char *err)
{
	struct fd_restore_unix *peer = s->e->peer_ino ? find(ctx, s->e->peer_ino) : NULL;
	int sv[2];

	if (s->e->peer_ino &&
	    (!peer || !unix_fd_is_pair(peer->e) || peer->e->sock_type != s->e->sock_type)) {
		sc_err(err, "fd %d: the other end of its socketpair is missing", s->e->fd);
		return -1;
	}
	if (socketpair(AF_UNIX, (int)s->e->sock_type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		return fail(err, s->e, "socketpair", NULL);
	s->fd = move_high(ctx, sv[0]);
	sv[1] = move_high(ctx, sv[1]);
	if (peer)
		peer->fd = sv[1];
	else
		s->spare = sv[1];
	if (s->fd < 0 || sv[1] < 0)
		return fail(err, s->e, "socketpair", NULL);
	return set_opts(s->fd, s->e, err) || (peer && set_opts(peer->fd, peer->e, err)) ? -1 : 0;
}

static struct fd_restore_unix *listener_named(struct fd_restore_ctx *ctx, const Sc__Fd *e,
					      const Name *n)
{
	const struct unix_restore *us = socks(ctx);

	for (size_t i = 0; i < us->g.n; i++)
		if (unix_fd_listens_on(us->v[i].e, e->sock_type, n))
			return &us->v[i];
	return NULL;
}

/*
 * Connects cfd to n and accepts the connection on the process's own
 * listener of that name, or on a temporary one when it has closed (its
 * file is removed again unless it was there): the accepted end, or -1.
 */
static int connect_accept(struct fd_restore_ctx *ctx, const Sc__Fd *e, const Name *n, int cfd,
			  char *err)
{
	struct fd_restore_unix *l = listener_named(ctx, e, n);
	int lfd = l ? l->fd : -1, a = -1;
	bool existed = true;
	struct sockaddr_un sa;
	socklen_t len = make_addr(n, &sa);

	if (!l && ((lfd = new_socket(ctx, e, err)) < 0 || bind_name(lfd, e, n, &existed, err)))
		goto out;
	if (!l && listen(lfd, 1))
		fail(err, e, "listening again on", n);
	else if (connect(cfd, (struct sockaddr *)&sa, len))
		fail(err, e, "connecting to", n);
	else if ((a = move_high(ctx, accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC))) < 0)
		fail(err, e, "accepting its connection on", n);
out:
	if (!l && lfd >= 0) {
		close(lfd);
		if (!existed)
			unlink(sa.sun_path);
	}
	return a;
}

/*
 * A connection that came through a listener is made again through it:
 * the client connects to its peer's name and the listener accepts. When
 * one end was closed, a stand-in plays it and is closed after the replay.
 */
static int reconnect(struct fd_restore_ctx *ctx, struct fd_restore_unix *s, char *err)
{
	const Sc__Fd *e = s->e;
	struct fd_restore_unix *peer = e->peer_ino ? find(ctx, e->peer_ino) : NULL;
	int a;

	if (e->peer_ino && (!peer || !peer->e->unix_sock->accepted)) {
		sc_err(err, "fd %d: the accepted end of its connection is missing", e->fd);
		return -1;
	}
	if (!e->unix_sock->has_peer_name) {
		/* The accepted end of a closed client. */
		if ((s->spare = new_socket(ctx, e, err)) < 0 ||
		    (s->fd = connect_accept(ctx, e, &e->unix_sock->name, s->spare, err)) < 0)
			return -1;
		return set_opts(s->fd, e, err);
	}
	if ((a = connect_accept(ctx, e, &e->unix_sock->peer_name, s->fd, err)) < 0)
		return -1;
	if (!peer) {
		s->spare = a;
		return 0;
	}
	peer->fd = a;
	return set_opts(a, peer->e, err);
}

/* The process's datagram socket named n, made already. */
static int sender(struct fd_restore_ctx *ctx, const Name *n)
{
	const struct unix_restore *us = socks(ctx);

	for (size_t i = 0; i < us->g.n; i++) {
		const Sc__UnixSocket *u = us->v[i].e->unix_sock;

		if (us->v[i].e->sock_type == SOCK_DGRAM && u->has_name && same(&u->name, n))
			return us->v[i].fd;
	}
	return -1;
}

/* Sends what waits on s again: from the other end of its connection, or
 * to its name from each message's sender (an unnamed one if it had none). */
static int replay(struct fd_restore_ctx *ctx, const struct fd_restore_unix *s, int from, char *err)
{
	const Sc__Fd *e = s->e;
	const Sc__UnixSocket *u = e->unix_sock;
	struct sockaddr_un sa;
	socklen_t len = 0;

	if (from < 0 && e->n_queue) {
		if (!u->has_name) {
			sc_err(err, "fd %d: messages wait on a socket without a name", e->fd);
			return -1;
		}
		len = make_addr(&u->name, &sa);
	}
	for (size_t i = 0; i < e->n_queue; i++) {
		const ProtobufCBinaryData *q = &e->queue[i];
		bool named = from < 0 && i < u->n_senders && u->senders[i].len;
		int tmp = from >= 0 ? from :
			  named	    ? sender(ctx, &u->senders[i]) :
				      socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		ssize_t n = sendto(tmp, q->data, q->len, MSG_DONTWAIT, len ? (struct sockaddr *)&sa : NULL,
				   len);

		if (from < 0 && !named && tmp >= 0)
			close(tmp);
		if (n != (ssize_t)q->len) {
			sc_err(err, "fd %d: requeueing %zu bytes%s%s: %s", e->fd, q->len,
			       named ? " from " : "", named ? show(&u->senders[i]) : "",
			       tmp < 0 ? "no such socket" : strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* The descriptor at the other end of s's connection, or -1. */
static int other_end(struct fd_restore_ctx *ctx, const struct fd_restore_unix *s)
{
	const struct fd_restore_unix *peer;

	if (s->spare >= 0)
		return s->spare;
	if (!is_state(s->e, SC__UNIX_SOCKET__STATE__CONNECTED) ||
	    (s->e->sock_type == SOCK_DGRAM && s->e->unix_sock->has_peer_name))
		return -1;
	peer = find(ctx, s->e->peer_ino);
	return peer ? peer->fd : -1;
}

static int connect_dgram(int fd, const Sc__Fd *e, char *err)
{
	struct sockaddr_un sa;
	socklen_t len = make_addr(&e->unix_sock->peer_name, &sa);

	if (connect(fd, (struct sockaddr *)&sa, len))
		return fail(err, e, "connecting to", &e->unix_sock->peer_name);
	return 0;
}

/*
 * A connected datagram socket refuses strangers, but takes more than
 * max_dgram_qlen messages from its peer: one whose messages all came from
 * its peer connects before they are sent again, the others after.
 */
static bool connects_first(const Sc__Fd *e)
{
	const Sc__UnixSocket *u = e->unix_sock;

	if (e->sock_type != SOCK_DGRAM || !is_state(e, SC__UNIX_SOCKET__STATE__CONNECTED) ||
	    !u->has_peer_name || !u->n_senders)
		return false;
	for (size_t i = 0; i < u->n_senders; i++)
		if (!same(&u->senders[i], &u->peer_name))
			return false;
	return true;
}

/* crload made the socketpair fd is half of: fd_unix_make_pair(). */
static bool from_tree(const struct fd_restore_ctx *ctx, int fd)
{
	for (size_t i = 0; i < ctx->ntree_fds; i++)
		if (ctx->tree_fds[i] == fd)
			return true;
	return false;
}

static int shut(int fd, const Sc__Fd *e, char *err)
{
	/* RCV_SHUTDOWN 1, SEND_SHUTDOWN 2, both 3: SHUT_RD, _WR, _RDWR + 1 */
	int how = (int)(e->unix_sock->shutdown & 3);

	if (how && is_state(e, SC__UNIX_SOCKET__STATE__CONNECTED) && shutdown(fd, how - 1) &&
	    errno != ENOTCONN)
		return fail(err, e, "shutdown", NULL);
	return 0;
}

int fd_unix_make_pair(const Sc__Fd *a, const Sc__Fd *b, int sv[2], char *err)
{
	struct fd_restore_unix s[2] = { { a, -1, -1 }, { b, -1, -1 } };

	if (socketpair(AF_UNIX, (int)a->sock_type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
		return fail(err, a, "socketpair", NULL);
	for (int i = 0; i < 2; i++)
		if (set_opts(sv[i], s[i].e, err) || replay(NULL, &s[i], sv[!i], err))
			return -1;
	for (int i = 0; i < 2; i++) {
		if (shut(sv[i], s[i].e, err))
			return -1;
		if (fcntl(sv[i], F_SETFL, s[i].e->flags & O_NONBLOCK ? O_NONBLOCK : 0))
			return fail(err, s[i].e, "fcntl", NULL);
	}
	return 0;
}

static int make_all(struct fd_restore_ctx *ctx, char *err)
{
	const Sc__Fds *fds = ctx->fds;
	struct unix_restore *us = fd_restore_state(ctx, FD_RESTORE_SC__FD_KIND__UNIX, sizeof(*us));
	size_t n = 0;

	if (!us || !(us->v = calloc(fds->n_fds + 1, sizeof(*us->v))) ||
	    !(us->g.v = calloc(fds->n_fds + 1, sizeof(*us->g.v)))) {
		sc_err(err, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < fds->n_fds; i++)
		if (fds->fds[i]->kind == SC__FD_KIND__UNIX && !fds->fds[i]->has_dup_of &&
		    !from_tree(ctx, fds->fds[i]->fd))
			unix_node_of_fd(&us->g.v[n++], fds->fds[i], 0);
	us->g.n = n;
	unix_graph_index(&us->g);
	for (size_t i = 0; i < n; i++)
		us->v[i] = (struct fd_restore_unix){ us->g.v[i].data, -1, -1 };
	if (chdir(ctx->cwd)) {
		sc_err(err, "working directory %s: %s", ctx->cwd, strerror(errno));
		return -1;
	}

	/* Sockets, bound and listening; pairs. */
	for (size_t i = 0; i < n; i++) {
		struct fd_restore_unix *s = &us->v[i];
		const Sc__UnixSocket *u = s->e->unix_sock;
		bool existed;

		if (s->fd >= 0 || u->accepted || is_orphan(s->e))
			continue;
		if (unix_fd_is_pair(s->e)) {
			if (make_pair(ctx, s, err))
				return -1;
			continue;
		}
		if ((s->fd = new_socket(ctx, s->e, err)) < 0 ||
		    (u->has_name && bind_name(s->fd, s->e, &u->name, &existed, err)))
			return -1;
		if (is_state(s->e, SC__UNIX_SOCKET__STATE__LISTEN)) {
			if (listen(s->fd, (int)u->backlog))
				return fail(err, s->e, "listen", NULL);
			for (size_t j = 0; j < u->n_pending; j++)
				if (!find(ctx, u->pending[j])) {
					sc_err(err, "fd %d: a connection in its queue is missing",
					       s->e->fd);
					return -1;
				}
		}
	}
	/* Connections to a listener's name, accepted at once (not the ones
	 * waiting in its queue). */
	for (size_t i = 0; i < n; i++) {
		struct fd_restore_unix *s = &us->v[i];

		if (s->e->sock_type != SOCK_DGRAM && !us->g.v[i].listener &&
		    !unix_fd_is_pair(s->e) && is_state(s->e, SC__UNIX_SOCKET__STATE__CONNECTED) &&
		    !s->e->unix_sock->accepted && reconnect(ctx, s, err))
			return -1;
	}
	/* Then the ones waiting in accept queues, oldest first. */
	for (size_t i = 0; i < n; i++) {
		const Sc__Fd *l = us->v[i].e;
		struct sockaddr_un sa;
		socklen_t len;

		if (!is_state(l, SC__UNIX_SOCKET__STATE__LISTEN))
			continue;
		len = make_addr(&l->unix_sock->name, &sa);
		for (size_t j = 0; j < l->unix_sock->n_pending; j++) {
			struct fd_restore_unix *c = find(ctx, l->unix_sock->pending[j]);

			if (connect(c->fd, (struct sockaddr *)&sa, len))
				return fail(err, c->e, "connecting to", &l->unix_sock->name);
		}
	}
	/* Every socket exists: what waited on each is sent again, before a
	 * datagram socket's connect() would refuse strangers. */
	for (size_t i = 0; i < n; i++) {
		struct fd_restore_unix *s = &us->v[i];

		if (s->fd < 0) {
			sc_err(err, "fd %d: the other end of its connection is missing", s->e->fd);
			return -1;
		}
		if ((connects_first(s->e) && connect_dgram(s->fd, s->e, err)) ||
		    replay(ctx, s, other_end(ctx, s), err))
			return -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct fd_restore_unix *s = &us->v[i];
		const Sc__UnixSocket *u = s->e->unix_sock;

		if (s->spare >= 0) {
			close(s->spare);
			s->spare = -1;
		}
		if (s->e->sock_type == SOCK_DGRAM && u->has_peer_name &&
		    is_state(s->e, SC__UNIX_SOCKET__STATE__CONNECTED) && !connects_first(s->e) &&
		    connect_dgram(s->fd, s->e, err))
			return -1;
		if (shut(s->fd, s->e, err))
			return -1;
	}
	/* Names whose paths were unlinked: only now, connections are made. */
	for (size_t i = 0; i < n; i++) {
		const Sc__UnixSocket *u = us->v[i].e->unix_sock;
		struct sockaddr_un sa;

		if (!u->unlinked || u->accepted || !u->has_name)
			continue;
		make_addr(&u->name, &sa);
		if (unlink(sa.sun_path) && errno != ENOENT)
			return fail(err, us->v[i].e, "unlinking", &u->name);
	}
	return 0;
}

static int fd_unix_restore(struct fd_restore_ctx *ctx, const Sc__Fd *e, char *err)
{
	const struct unix_restore *us = socks(ctx);
	struct fd_restore_unix *s;

	if ((!socks(ctx) || !us->v) && make_all(ctx, err))
		return -1;
	s = find(ctx, e->sock_ino);
	return fd_lend(ctx, s->fd, e, err);
}

static void fd_unix_release(struct fd_restore_ctx *ctx)
{
	struct unix_restore *us = socks(ctx);

	for (size_t i = 0; us && i < us->g.n; i++) {
		if (us->v[i].fd >= 0)
			close(us->v[i].fd);
		if (us->v[i].spare >= 0)
			close(us->v[i].spare);
	}
	if (us) {
		free(us->v);
		free(us->g.v);
	}
	free(us);
	ctx->kind_state[FD_RESTORE_SC__FD_KIND__UNIX] = NULL;
}

static void fd_unix_describe(const Sc__Fd *e, char *buf, size_t len)
{
	static const char *const states[] = { "", "unconnected", "listening", "connected" };
	const Sc__UnixSocket *u = e->unix_sock;
	size_t bytes = 0;
	int n;

	for (size_t i = 0; i < e->n_queue; i++)
		bytes += e->queue[i].len;
	n = snprintf(buf, len, "unix %s socket, %s",
		     e->sock_type == SOCK_STREAM ? "stream" :
		     e->sock_type == SOCK_DGRAM	 ? "datagram" :
						   "seqpacket",
		     states[u->state]);
	if (u->has_name && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, ", %s %s", u->accepted ? "accepted on" : "named",
			      show(&u->name));
	if (u->unlinked && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, " (unlinked)");
	if (u->shutdown & 3 && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, ", shut down for %s",
			      (u->shutdown & 3) == 3 ? "both" : u->shutdown & 1 ? "reading" : "writing");
	if (u->has_peer_name && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, ", to %s", show(&u->peer_name));
	else if (e->peer_ino && n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, ", peer socket:[%llu]",
			      (unsigned long long)e->peer_ino);
	if (n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, ", %zu messages (%zu bytes) waiting", e->n_queue, bytes);
}

static bool unix_name_ok(const ProtobufCBinaryData *n)
{
	/* sun_path: an abstract name of up to 107 bytes after its NUL, or a
	 * path of up to 107 bytes without one. */
	return n->len >= 1 && n->len <= 108 &&
	       (n->data[0] ? !memchr(n->data, 0, n->len) && n->len <= 107 : n->len >= 2);
}

/* The process's socket ino (not a dup), or NULL. */
static const Sc__Fd *unix_by_ino(const struct fd_check_ctx *ctx, uint64_t ino)
{
	const struct unix_node *n = unix_graph_find(&ctx->socks, ino, NULL);

	return n ? n->data : NULL;
}

/* UNIX: what loader/fd_unix.c relies on: the sockets it connects exist. */
int fd_check_unix(const struct fd_check_ctx *ctx, const Sc__Fd *f, char *err)
{
	const Sc__UnixSocket *u = f->unix_sock;
	const Sc__Fd *peer;

	if (!f->has_sock_type || !f->has_peer_ino || !f->has_sock_ino || !u ||
	    (f->sock_type != SOCK_STREAM && f->sock_type != SOCK_DGRAM &&
	     f->sock_type != SOCK_SEQPACKET))
		return sc_err(err, "fd %d: a socket without type or peer", f->fd);
	if (u->state < SC__UNIX_SOCKET__STATE__UNCONNECTED ||
	    u->state > SC__UNIX_SOCKET__STATE__CONNECTED)
		return sc_err(err, "fd %d: a socket in unknown state %d", f->fd, u->state);
	if ((u->has_name && !unix_name_ok(&u->name)) ||
	    (u->has_peer_name && !unix_name_ok(&u->peer_name)))
		return sc_err(err, "fd %d: a socket name that cannot be", f->fd);
	if (u->n_senders && (u->n_senders != f->n_queue || f->sock_type != SOCK_DGRAM))
		return sc_err(err, "fd %d: %zu senders for %zu messages", f->fd, u->n_senders,
			      f->n_queue);
	for (size_t i = 0; i < u->n_senders; i++)
		if (u->senders[i].len && !unix_name_ok(&u->senders[i]))
			return sc_err(err, "fd %d: message %zu has a sender name that cannot be",
				      f->fd, i);
	if (f->has_dup_of)
		return 0;
	if (u->state == SC__UNIX_SOCKET__STATE__LISTEN &&
	    (!u->has_name || !u->has_backlog || u->backlog > INT32_MAX ||
	     f->sock_type == SOCK_DGRAM))
		return sc_err(err, "fd %d: a listener without name or backlog", f->fd);
	for (size_t j = 0; j < u->n_pending; j++) {
		const Sc__Fd *c = unix_by_ino(ctx, u->pending[j]);

		/* A client another process holds: check_tree_pairs() (image.c). */
		if (u->state != SC__UNIX_SOCKET__STATE__LISTEN || (c && !unix_fd_queueable(f, c)))
			return sc_err(err, "fd %d: connection %zu of its queue is not restorable",
				      f->fd, j);
		for (size_t k = 0; k < j; k++)
			if (u->pending[k] == u->pending[j])
				return sc_err(err, "fd %d: a connection queued twice", f->fd);
	}
	if (u->state != SC__UNIX_SOCKET__STATE__CONNECTED)
		return u->accepted ? sc_err(err, "fd %d: accepted but not connected", f->fd) : 0;
	/* A datagram socket connected by name needs nothing else here. */
	if (f->sock_type == SOCK_DGRAM && u->has_peer_name)
		return 0;
	peer = f->peer_ino ? unix_by_ino(ctx, f->peer_ino) : NULL;
	/* Its other half or end is another process's: check_tree_pairs().
	 * A connection through a listener may wait in its queue there, with
	 * no peer yet. */
	if (f->peer_in_tree &&
	    (peer || (u->has_name || u->has_peer_name ? f->sock_type == SOCK_DGRAM : !f->peer_ino)))
		return sc_err(err,
			      "fd %d: not half of a socketpair or a connection between processes",
			      f->fd);
	if (f->peer_in_tree)
		return 0;
	if (f->peer_ino && (!peer || peer == f || peer->sock_type != f->sock_type ||
			    peer->unix_sock->state != SC__UNIX_SOCKET__STATE__CONNECTED))
		return sc_err(err, "fd %d: its peer socket:[%llu] is missing", f->fd,
			      (unsigned long long)f->peer_ino);
	if (u->accepted &&
	    (!peer || !u->has_name || peer->unix_sock->accepted || !peer->unix_sock->has_peer_name))
		return sc_err(err, "fd %d: accepted, but its client is missing", f->fd);
	if (!u->has_name && !u->has_peer_name && peer &&
	    (peer->unix_sock->has_name || peer->unix_sock->has_peer_name ||
	     peer->peer_ino != f->sock_ino))
		return sc_err(err, "fd %d: half of a socketpair whose other half is not", f->fd);
	return 0;
}

const struct fd_restore_half fd_unix_restore_half = {
	.restore = fd_unix_restore,
	.describe = fd_unix_describe,
	.release = fd_unix_release,
};
