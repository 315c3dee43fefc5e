// SPDX-License-Identifier: MIT
/*
 * AF_UNIX sockets: type, state, names, options and the messages waiting
 * on each, peeked without being consumed (SO_PEEK_OFF walks past each).
 * What only the kernel's view of every socket tells (peers, listeners'
 * accept queues, shutdown, the inode a path name is bound to) comes from
 * one NETLINK_SOCK_DIAG dump per checkpoint. A connection or stream to a
 * socket outside the process cannot be restored and fails the checkpoint.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "fd_dump.h"
#include "unix_graph.h"

#define PEEK_BUF (256 << 10)
#define MAX_MESSAGES 65536

/* sk_state values sock_diag reports (include/net/tcp_states.h). */
enum { UNIX_ESTABLISHED = 1, UNIX_LISTEN = 10 };

static bool fd_unix_claims(const struct fd_live *l)
{
	return fd_socket_domain(l) == AF_UNIX;
}

/* What sock_diag says of a socket besides its place in the graph (its
 * node: inode, type, name, peer, accept queue). */
struct unix_entry {
	uint32_t vfs_ino;	/* the inode its path name is bound to, 0: none */
	uint32_t rqueue;	/* bytes waiting (a datagram socket: in the first one) */
	uint32_t wqueue; /* a listener's backlog; else bytes its peer has not read */
	Sc__Fd *fd;		/* dumped from this descriptor of ours, or NULL */
	uint8_t state, shutdown;
	bool moved;		/* ours: its path name leads to another file now */
};

/*
 * Every unix socket of the system: the graph's nodes by inode, each with
 * its entry, both in large reservations touched only as far as they are
 * used. A fixed table big enough for any system touched a page per
 * socket.
 */
#define MAX_UNIX_SOCKETS (1U << 20)

struct unix_table {
	struct unix_graph g;
	struct unix_entry *ent; /* in the order sock_diag gives them */
};

static void diag_attr(struct unix_node *n, struct unix_entry *e, const struct nlattr *a)
{
	const void *v = a + 1;
	size_t len = a->nla_len - sizeof(*a);
	uint32_t ino;

	switch (a->nla_type) {
	case UNIX_DIAG_NAME:
		n->named = len > 0;
		break;
	case UNIX_DIAG_PEER:
		if (len >= 4) {
			memcpy(&ino, v, 4);
			n->peer = ino;
		}
		break;
	case UNIX_DIAG_VFS:
		if (len >= sizeof(struct unix_diag_vfs))
			memcpy(&e->vfs_ino, v, 4);
		break;
	case UNIX_DIAG_RQLEN:
		if (len >= sizeof(struct unix_diag_rqlen)) {
			const struct unix_diag_rqlen *r = v;

			e->rqueue = r->udiag_rqueue;
			e->wqueue = r->udiag_wqueue;
		}
		break;
	case UNIX_DIAG_SHUTDOWN:
		if (len >= 1)
			e->shutdown = *(const uint8_t *)v;
		break;
	case UNIX_DIAG_ICONS: {
		uint64_t *queue = len >= 4 ? rt_alloc(len * 2) : NULL;

		if (queue) {
			for (size_t i = 0; i < len / 4; i++) {
				memcpy(&ino, (const char *)v + 4 * i, 4);
				queue[i] = ino;
			}
			n->queue = queue;
			n->nqueue = len / 4;
		}
		break;
	}
	}
}

/* What the unix socket kind keeps across a process's descriptors. */
struct unix_dump {
	struct unix_table *table; /* every unix socket's peer, loaded once */
	char *peek_buf;		  /* one buffer for the queues of all sockets */
};

static struct unix_dump *unix_state(struct fd_dump_ctx *ctx)
{
	return fd_kind_state(ctx, FD_STATE_SC__FD_KIND__UNIX, sizeof(struct unix_dump));
}

/*
 * One NETLINK_SOCK_DIAG dump of all unix sockets, per checkpoint: a
 * lookup by inode scans every socket in the kernel, so thousands of
 * lookups would cost thousands of scans.
 */
static int load_unix_table(struct fd_dump_ctx *ctx, struct unix_dump *us)
{
	struct {
		struct nlmsghdr nlh;
		struct unix_diag_req req;
	} rq = {
		.nlh = { .nlmsg_len = sizeof(rq), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.req = { .sdiag_family = AF_UNIX, .udiag_states = ~0U,
			 .udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_VFS |
				       UDIAG_SHOW_ICONS | UDIAG_SHOW_RQLEN },
	};
	struct unix_table *t = rt_alloc(sizeof(*t));
	char *buf = rt_alloc(1 << 16);
	int nl, err = 0;
	bool done = false;

	if (!t || !buf)
		return -ENOMEM;
	t->g.n = 0;
	t->g.v = rt_alloc(sizeof(*t->g.v) * MAX_UNIX_SOCKETS);
	t->ent = rt_alloc(sizeof(*t->ent) * MAX_UNIX_SOCKETS);
	if (!t->g.v || !t->ent)
		return -ENOMEM;
	nl = (int)sc_sys3(__NR_socket, AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0)
		return nl;
	if (sc_sys4(__NR_sendto, nl, &rq, sizeof(rq), 0) != (long)sizeof(rq))
		err = -EIO;
	while (!err && !done) {
		long n = sc_sys4(__NR_recvfrom, nl, buf, 1 << 16, 0);

		if (n <= 0) {
			err = n ? (int)n : -EIO;
			break;
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE) {
				done = true;
				break;
			}
			if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY) {
				err = -EIO;
				break;
			}
			struct unix_diag_msg *m = NLMSG_DATA(h);
			struct unix_node *n = &t->g.v[t->g.n];
			struct unix_entry *e = &t->ent[t->g.n];
			char *attr = (char *)(m + 1), *end = (char *)h + h->nlmsg_len;

			if (t->g.n == MAX_UNIX_SOCKETS) {
				err = -ENOSPC;
				break;
			}
			t->g.n++;
			*e = (struct unix_entry){ .state = m->udiag_state };
			*n = (struct unix_node){ .ino = m->udiag_ino,
						 .data = e,
						 .type = m->udiag_type,
						 .listening = m->udiag_state == UNIX_LISTEN };
			while (attr + sizeof(struct nlattr) <= end) {
				struct nlattr *a = (struct nlattr *)attr;

				if (a->nla_len < sizeof(*a) || attr + a->nla_len > end)
					break;
				diag_attr(n, e, a);
				attr += NLA_ALIGN(a->nla_len);
			}
		}
	}
	sc_sys1(__NR_close, nl);
	/* A waiting client's peer is the listener's embryo socket, which
	 * sock_diag shows as inode 0, as it does a closed peer: the queues
	 * tell them apart (the graph links it to its listener). */
	unix_graph_index(&t->g);
	us->table = t;
	return err;
}

/* The table, loaded the first time it is needed; 0 or -errno. */
static int need_table(struct fd_dump_ctx *ctx)
{
	struct unix_dump *us = unix_state(ctx);

	if (!us)
		return -ENOMEM;
	return us->table ? 0 : load_unix_table(ctx, us);
}

/* After need_table: socket ino's node, or NULL. */
static const struct unix_node *sock_node(struct fd_dump_ctx *ctx, uint64_t ino)
{
	return unix_graph_find(&unix_state(ctx)->table->g, ino, NULL);
}

static struct unix_entry *entry_of(const struct unix_node *n)
{
	return (struct unix_entry *)n->data;
}

/* "@name" (abstract, unprintable bytes as '?'), a path, or "an unnamed
 * socket", appended at p. */
static char *fmt_name(char *p, const ProtobufCBinaryData *n, bool has)
{
	if (!has)
		return rt_stpcpy(p, "an unnamed socket");
	return sc_unix_name_show(p, n->data, n->len < 108 ? n->len : 108);
}

/* A socket name as stored: path bytes without their terminating NUL, or
 * an abstract name with its leading NUL; len 0: unnamed. */
static int copy_name(const struct sockaddr_un *sa, socklen_t len, ProtobufCBinaryData *out)
{
	size_t n;

	out->len = 0;
	if (len <= offsetof(struct sockaddr_un, sun_path))
		return 0;
	n = len - offsetof(struct sockaddr_un, sun_path);
	if (n > sizeof(sa->sun_path))
		n = sizeof(sa->sun_path);
	if (sa->sun_path[0])
		n = strnlen(sa->sun_path, n);
	out->data = rt_alloc(n + 1);
	if (!out->data)
		return -ENOMEM;
	memcpy(out->data, sa->sun_path, n);
	out->len = n;
	return 0;
}

/* getsockname or getpeername (nr). */
static int get_name(int fd, int nr, ProtobufCBinaryData *out, protobuf_c_boolean *has)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);
	long r = sc_sys3(nr, fd, &sa, &len);

	if (r)
		return (int)r;
	r = copy_name(&sa, len, out);
	*has = out->len != 0;
	return (int)r;
}

/* A copy of arr (n elements of size) with room for cap. */
static void *grow(const void *arr, size_t n, size_t cap, size_t size)
{
	void *more = rt_alloc(size * cap);

	if (more && n)
		memcpy(more, arr, size * n);
	return more;
}

/*
 * Whether a path name still leads to the socket bound to vfs_ino: 1 yes,
 * 0 the path is gone (unlinked), -1 it leads elsewhere. Relative names
 * resolve from the working directory, as they will at restore.
 */
static int path_leads_to(const ProtobufCBinaryData *n, uint32_t vfs_ino)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	struct stat st;
	long r;

	memcpy(path, n->data, n->len);
	path[n->len] = '\0';
	r = sc_sys4(__NR_newfstatat, AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW);
	if (r == -ENOENT)
		return 0;
	return !r && S_ISSOCK(st.st_mode) && (uint32_t)st.st_ino == vfs_ino ? 1 : -1;
}

/* Every message waiting on fd, peeked, and for a datagram its sender's
 * name; SCM_RIGHTS in flight is refused. */
static int peek_queue(struct fd_dump_ctx *ctx, int fd, Sc__Fd *e)
{
	Sc__UnixSocket *u = e->unix_sock;
	int orig = -1, zero = 0, err = 0;
	socklen_t len = sizeof(orig);
	size_t cap = 0;
	bool named = false;
	union {
		struct cmsghdr c;
		char space[CMSG_SPACE(sizeof(int) * 64)];
	} ctl;
	struct sockaddr_un from;

	struct unix_dump *us = unix_state(ctx);

	/* One peek buffer for all sockets of this checkpoint. */
	if (!us)
		return -ENOMEM;
	if (!us->peek_buf && !(us->peek_buf = rt_alloc(PEEK_BUF)))
		return -ENOMEM;
	char *buf = us->peek_buf;
	sc_sys5(__NR_getsockopt, fd, SOL_SOCKET, SO_PEEK_OFF, &orig, &len);
	if (sc_sys5(__NR_setsockopt, fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)))
		return -EOPNOTSUPP;
	while (e->n_queue < MAX_MESSAGES) {
		struct iovec iov = { buf, PEEK_BUF };
		struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from),
				     .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl,
				     .msg_controllen = sizeof(ctl) };
		long n = sc_sys3(__NR_recvmsg, fd, &mh, MSG_PEEK | MSG_DONTWAIT);

		if (n < 0) {
			err = n == -EAGAIN ? 0 : (int)n;
			break;
		}
		/* Peeking installed the descriptors in flight: drop them.
		 * Credentials (SO_PASSCRED) are not kept: the replayed
		 * message carries crload's. */
		bool rights = mh.msg_flags & MSG_CTRUNC;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_type != SCM_RIGHTS)
				continue;
			rights = true;
			for (int *p = (int *)CMSG_DATA(c); (char *)p < (char *)c + c->cmsg_len; p++)
				sc_sys1(__NR_close, *p);
		}
		if (rights) {
			rt_stpcpy(fd_why(ctx, e),
				  "descriptors in flight (SCM_RIGHTS) cannot be checkpointed");
			err = -EOPNOTSUPP;
			break;
		}
		if (mh.msg_flags & MSG_TRUNC) {
			rt_stpcpy(fd_why(ctx, e), "a queued message is larger than 256 KiB");
			err = -EFBIG;
			break;
		}
		/* The peer shut down writing. A seqpacket socket shut down for
		 * reading cannot tell EOF from an empty message: EOF wins. */
		if (n == 0 && (e->sock_type == SOCK_STREAM ||
			       (e->sock_type == SOCK_SEQPACKET && e->unix_sock->shutdown & 1)))
			break;
		if (e->n_queue == cap) {
			cap = cap ? cap * 2 : 8;
			e->queue = grow(e->queue, e->n_queue, cap, sizeof(*e->queue));
			if (e->sock_type == SOCK_DGRAM)
				u->senders = grow(u->senders, e->n_queue, cap, sizeof(*u->senders));
			if (!e->queue || (e->sock_type == SOCK_DGRAM && !u->senders)) {
				err = -ENOMEM;
				break;
			}
		}
		if (e->sock_type == SOCK_DGRAM) {
			if ((err = copy_name(&from, mh.msg_namelen, &u->senders[e->n_queue])))
				break;
			named |= u->senders[e->n_queue].len != 0;
		}
		ProtobufCBinaryData *q = &e->queue[e->n_queue++];
		q->len = (size_t)n;
		q->data = rt_alloc(n ? (size_t)n : 1);
		if (!q->data) {
			err = -ENOMEM;
			break;
		}
		memcpy(q->data, buf, (size_t)n);
		if (n == 0)
			break; /* an empty datagram cannot advance the peek offset */
	}
	sc_sys5(__NR_setsockopt, fd, SOL_SOCKET, SO_PEEK_OFF, &orig, sizeof(orig));
	/* Senders are kept only when one has a name. */
	u->n_senders = named ? e->n_queue : 0;
	return err;
}

static uint32_t sockopt(int fd, int opt)
{
	int v = 0;
	socklen_t len = sizeof(v);

	sc_sys5(__NR_getsockopt, fd, SOL_SOCKET, opt, &v, &len);
	return (uint32_t)v;
}

static int fd_unix_dump(struct fd_dump_ctx *ctx, const struct fd_live *l, Sc__Fd *e)
{
	Sc__UnixSocket *u = rt_alloc(sizeof(*u));
	const struct unix_node *n;
	struct unix_entry *t;
	int err;

	if (!u)
		return -ENOMEM;
	sc__unix_socket__init(u);
	e->kind = SC__FD_KIND__UNIX;
	e->unix_sock = u;
	e->has_sock_type = e->has_sock_ino = e->has_peer_ino = true;
	e->sock_type = sockopt(l->fd, SO_TYPE);
	e->sock_ino = l->st.st_ino;
	if ((err = need_table(ctx)))
		return err;
	n = sock_node(ctx, e->sock_ino);
	if (!n) {
		rt_stpcpy(fd_why(ctx, e), "the socket is missing from sock_diag");
		return -ENOENT;
	}
	t = entry_of(n);
	if (!t->fd)
		t->fd = e;
	e->peer_ino = n->peer;
	if ((err = get_name(l->fd, __NR_getsockname, &u->name, &u->has_name)))
		return err;
	/* A datagram socket's peer may be gone from sock_diag: getpeername
	 * still knows it is connected. */
	if (get_name(l->fd, __NR_getpeername, &u->peer_name, &u->has_peer_name) == 0 &&
	    (e->sock_type == SOCK_DGRAM || t->state == UNIX_ESTABLISHED))
		u->state = SC__UNIX_SOCKET__STATE__CONNECTED;
	else if (t->state == UNIX_LISTEN)
		u->state = SC__UNIX_SOCKET__STATE__LISTEN;
	else
		u->state = SC__UNIX_SOCKET__STATE__UNCONNECTED;
	u->has_shutdown = u->has_passcred = u->has_rcvbuf = u->has_sndbuf = true;
	u->shutdown = t->shutdown;
	u->passcred = sockopt(l->fd, SO_PASSCRED) != 0;
	u->rcvbuf = sockopt(l->fd, SO_RCVBUF);
	u->sndbuf = sockopt(l->fd, SO_SNDBUF);
	if (u->has_name && u->name.data[0] && t->vfs_ino) {
		int leads = path_leads_to(&u->name, t->vfs_ino);

		/* Fails the checkpoint only if it is bound to it again (not
		 * an accepted end): fd_unix_check_peers() knows. */
		t->moved = leads < 0;
		u->has_unlinked = true;
		u->unlinked = !leads;
	}
	if (u->state == SC__UNIX_SOCKET__STATE__LISTEN) {
		u->has_backlog = true;
		u->backlog = t->wqueue;
	}
	/* A stream socket reads only once connected; an empty one need not
	 * be peeked (a message-based one may hold empty messages). */
	if ((e->sock_type != SOCK_DGRAM && u->state != SC__UNIX_SOCKET__STATE__CONNECTED) ||
	    (e->sock_type == SOCK_STREAM && !t->rqueue))
		return 0;
	return peek_queue(ctx, l->fd, e);
}

/* Fails with why = "fd N (...): <what> <name><tail>". */
static int refuse(struct fd_dump_ctx *ctx, const Sc__Fd *e, const char *what,
		  const ProtobufCBinaryData *n, bool has, const char *tail)
{
	char *p = rt_stpcpy(fd_why(ctx, e), what);

	rt_stpcpy(fmt_name(p, n, has), tail);
	return -EOPNOTSUPP;
}

static const char *type_word(const Sc__Fd *e)
{
	return e->sock_type == SOCK_STREAM ? "a unix stream socket connected to " :
	       e->sock_type == SOCK_DGRAM  ? "a unix datagram socket connected to " :
					     "a unix seqpacket socket connected to ";
}

static bool same_name(const Sc__UnixSocket *a, const ProtobufCBinaryData *n)
{
	return a->has_name && a->name.len == n->len && !memcmp(a->name.data, n->data, n->len);
}

/* One of the process's listeners has this name. */
static bool listening_on(struct fd_dump_ctx *ctx, const ProtobufCBinaryData *n)
{
	for (size_t i = 0; i < ctx->fds->n_fds; i++) {
		const Sc__Fd *f = ctx->fds->fds[i];

		if (f->kind == SC__FD_KIND__UNIX &&
		    f->unix_sock->state == SC__UNIX_SOCKET__STATE__LISTEN && same_name(f->unix_sock, n))
			return true;
	}
	return false;
}

/*
 * Some socket of this type is bound to this name (an accepted socket
 * shares its listener's name without being bound to it). A path: a
 * datagram connect() to it is refused only if no socket is bound to the
 * file, and has no effect on one that is. An abstract name (one space per
 * type): binding it fails if it is taken, else frees it again at once.
 */
static bool name_bound(const ProtobufCBinaryData *n, uint32_t type)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	bool path = n->data[0] != 0;
	int probe = (int)sc_sys3(__NR_socket, AF_UNIX, (path ? SOCK_DGRAM : type) | SOCK_CLOEXEC, 0);
	size_t len = offsetof(struct sockaddr_un, sun_path) + n->len + path;
	long r;

	if (probe < 0)
		return true; /* cannot tell: the caller refuses */
	memcpy(sa.sun_path, n->data, n->len);
	r = path ? sc_sys3(__NR_connect, probe, &sa, len) : sc_sys3(__NR_bind, probe, &sa, len);
	sc_sys1(__NR_close, probe);
	return path ? r != -ECONNREFUSED : r != 0;
}

/* A listener's accept queue: connections from our own sockets come back
 * (the client connects again), others cannot. */
static int check_listener(struct fd_dump_ctx *ctx, Sc__Fd *e, const struct unix_node *t)
{
	Sc__UnixSocket *u = e->unix_sock;

	u->pending = rt_alloc(sizeof(*u->pending) * (t->nqueue + 1));
	if (!u->pending)
		return -ENOMEM;
	for (size_t i = 0; i < t->nqueue; i++) {
		const struct unix_node *client = sock_node(ctx, t->queue[i]);

		if (!t->queue[i])
			return refuse(ctx, e,
				      "a connection whose client has closed waits in the accept queue of ",
				      &u->name, u->has_name, "");
		/* A client another process of a tree holds: the root checks
		 * that one of the tree does (tree.c). */
		if (!client || (!entry_of(client)->fd && !ctx->tree->several))
			return refuse(ctx, e,
				      "a connection from outside the process waits in the accept queue of ",
				      &u->name, u->has_name, "");
		if (entry_of(client)->wqueue)
			return refuse(ctx, e, "a connection waiting in the accept queue of ", &u->name,
				      u->has_name, " has data the process has not read");
		u->pending[u->n_pending++] = client->ino;
	}
	return 0;
}

uint64_t fd_unix_pair_peer(struct fd_dump_ctx *ctx, uint64_t ino)
{
	return need_table(ctx) ? 0 : unix_graph_pair_peer(&unix_state(ctx)->table->g, ino);
}

int fd_unix_tree_links(struct fd_dump_ctx *ctx, uint64_t ino, uint64_t *out, int max)
{
	return need_table(ctx)
		       ? 0
		       : (int)unix_graph_links(&unix_state(ctx)->table->g, ino, out, (size_t)max);
}

/* Connected sockets: the other end must come back too. */
static int check_connected(struct fd_dump_ctx *ctx, Sc__Fd *e, const struct unix_node *t)
{
	Sc__UnixSocket *u = e->unix_sock;
	const struct unix_node *pt = e->peer_ino ? sock_node(ctx, e->peer_ino) : NULL;
	const Sc__Fd *peer = pt ? entry_of(pt)->fd : NULL;

	/* Half of a socketpair whose other half another process holds: the
	 * root checks that one of the tree does (tree.c). */
	if (ctx->tree->several && pt && !peer && fd_unix_pair_peer(ctx, e->sock_ino)) {
		e->has_peer_in_tree = e->peer_in_tree = true;
		return 0;
	}
	/*
	 * A connection through a listener whose other end (accepted, or its
	 * listener, the connection waiting in its queue) another process
	 * holds: in a tree, the root checks that one of the tree does, and
	 * crload makes the connection once for both. The accepted end is the
	 * named one; when both are named, which it is cannot be told here.
	 */
	if (ctx->tree->several && e->sock_type != SOCK_DGRAM &&
	    (t->listener ? !entry_of(sock_node(ctx, t->listener))->fd : pt && !peer)) {
		if (u->has_name && pt && pt->named)
			return refuse(ctx, e,
				      "cannot tell which end of a connection between processes "
				      "was accepted: ",
				      &u->name, true, "");
		e->has_peer_in_tree = e->peer_in_tree = true;
		u->has_accepted = u->accepted = u->has_name;
		return 0;
	}
	if (e->sock_type == SOCK_DGRAM) {
		/* A named peer, anywhere, is connected to again by name; a
		 * socketpair end bound afterwards is not. */
		if (!u->has_peer_name && u->has_name)
			return refuse(ctx, e, "half of a socketpair, bound afterwards to ", &u->name,
				      true, "");
		if (!pt)
			return refuse(ctx, e, type_word(e), &u->peer_name, u->has_peer_name,
				      " which has been closed");
		if (u->has_peer_name && u->peer_name.data[0] &&
		    path_leads_to(&u->peer_name, entry_of(pt)->vfs_ino) != 1)
			return refuse(ctx, e, type_word(e), &u->peer_name, true,
				      ", a path that no longer leads to it");
		if (!u->has_peer_name && (!peer || peer->peer_ino != e->sock_ino))
			return refuse(ctx, e, type_word(e), NULL, false,
				      " that is not connected back");
		return 0;
	}
	if (t->listener) {
		const struct unix_node *l = sock_node(ctx, t->listener);

		return entry_of(l)->fd
			       ? 0
			       : refuse(ctx, e, type_word(e), &u->peer_name, u->has_peer_name,
					" outside the process, which has not accepted it yet");
	}
	if (e->peer_ino && !peer)
		return refuse(ctx, e, type_word(e), &u->peer_name, u->has_peer_name,
			      " outside the process, which cannot be restored");
	/* The end that came from accept() took its listener's name; the
	 * client's name, if bound, is its own and still bound to it. */
	if (peer && u->has_name) {
		const Sc__UnixSocket *pu = peer->unix_sock;

		u->has_accepted = true;
		u->accepted = !pu->has_name || listening_on(ctx, &u->name) ||
			      (!listening_on(ctx, &pu->name) && !name_bound(&u->name, e->sock_type));
	}
	return 0;
}

/* A datagram waiting from a named socket is sent again from the process's
 * own socket of that name: the sender must be one. */
static int check_senders(struct fd_dump_ctx *ctx, const Sc__Fd *e)
{
	const Sc__UnixSocket *u = e->unix_sock;
	const ProtobufCBinaryData *known = NULL;

	for (size_t i = 0; i < u->n_senders; i++) {
		const ProtobufCBinaryData *n = &u->senders[i];
		bool ours = !n->len || (known && known->len == n->len &&
					!memcmp(known->data, n->data, n->len));

		for (size_t j = 0; j < ctx->fds->n_fds && !ours; j++) {
			const Sc__Fd *f = ctx->fds->fds[j];

			ours = f->kind == SC__FD_KIND__UNIX && !f->has_dup_of &&
			       f->sock_type == SOCK_DGRAM && same_name(f->unix_sock, n);
		}
		if (!ours)
			return refuse(ctx, e, "a datagram waiting from ", n, true,
				      ", outside the process, would lose its sender");
		if (n->len)
			known = n;
	}
	return 0;
}

/* After every descriptor is dumped: connections and accept queues. */
static int fd_unix_check_peers(struct fd_dump_ctx *ctx)
{
	const Sc__Fds *fds = ctx->fds;
	int err = 0;

	/* Listeners first: they mark the clients waiting in their queues. */
	for (int pass = 0; pass < 2 && !err; pass++)
		for (size_t i = 0; i < fds->n_fds && !err; i++) {
			Sc__Fd *e = fds->fds[i];
			const struct unix_node *t;
			bool listen;

			if (e->kind != SC__FD_KIND__UNIX || e->has_dup_of)
				continue;
			t = sock_node(ctx, e->sock_ino);
			listen = e->unix_sock->state == SC__UNIX_SOCKET__STATE__LISTEN;
			if (pass == 0 && listen)
				err = check_listener(ctx, e, t);
			else if (pass == 1 && e->unix_sock->state == SC__UNIX_SOCKET__STATE__CONNECTED)
				err = check_connected(ctx, e, t);
			else if (pass == 1 && !listen && e->n_queue && !e->unix_sock->has_name)
				err = refuse(ctx, e, "data waits on ", NULL, false,
					     " that nothing can send to any more");
			if (!err && pass == 1)
				err = check_senders(ctx, e);
			if (!err && pass == 1 && entry_of(t)->moved && !e->unix_sock->accepted)
				err = refuse(ctx, e, "its name ", &e->unix_sock->name, true,
					     " now leads to another file");
		}
	/* Of two named ends of a connection, exactly one came from accept(). */
	for (size_t i = 0; i < fds->n_fds && !err; i++) {
		const Sc__Fd *e = fds->fds[i], *peer;

		if (e->kind != SC__FD_KIND__UNIX || e->has_dup_of || !e->unix_sock->has_accepted ||
		    e->peer_in_tree)
			continue;
		peer = entry_of(sock_node(ctx, e->peer_ino))->fd;
		if (peer->unix_sock->has_accepted &&
		    peer->unix_sock->accepted == e->unix_sock->accepted)
			err = refuse(ctx, e, "cannot tell which end of a connection was accepted: ",
				     &e->unix_sock->name, true, "");
	}
	return err;
}

const struct fd_dump_half fd_unix_dump_half = {
	.claims = fd_unix_claims,
	.dump = fd_unix_dump,
	.after_all = fd_unix_check_peers,
};
