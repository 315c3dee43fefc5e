// SPDX-License-Identifier: MIT
/*
 * AF_UNIX socketpairs whose both ends the process holds: type, which end
 * is which (the peer's inode, from sock_diag), and the messages waiting on
 * each end, peeked without being consumed (SO_PEEK_OFF walks past each).
 */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <string.h>
#include <sys/socket.h>

#include "fd_dump.h"

#define PEEK_BUF (256 << 10)
#define MAX_MESSAGES 65536

bool fd_unix_claims(const struct fd_live *l)
{
	int domain = 0;
	socklen_t len = sizeof(domain);

	return S_ISSOCK(l->st.st_mode) &&
	       sc_sys5(__NR_getsockopt, l->fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 &&
	       domain == AF_UNIX;
}

struct unix_entry {
	uint32_t ino, peer;
	bool named;
	bool ours; /* dumped from one of our descriptors */
};

/* Open-addressing table of every unix socket of the system, by inode. */
struct unix_table {
	struct unix_entry *slot;
	uint32_t mask;
};

static struct unix_entry *table_slot(struct unix_table *t, uint32_t ino)
{
	uint32_t i = (ino * 2654435761U) & t->mask;

	while (t->slot[i].ino && t->slot[i].ino != ino)
		i = (i + 1) & t->mask;
	return &t->slot[i];
}

/*
 * One NETLINK_SOCK_DIAG dump of all unix sockets (peer, name), per
 * checkpoint: a lookup by inode scans every socket in the kernel, so
 * thousands of lookups would cost thousands of scans.
 */
static int load_unix_table(struct fd_dump_ctx *ctx)
{
	struct {
		struct nlmsghdr nlh;
		struct unix_diag_req req;
	} rq = {
		.nlh = { .nlmsg_len = sizeof(rq), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.req = { .sdiag_family = AF_UNIX, .udiag_states = ~0U,
			 .udiag_show = UDIAG_SHOW_PEER | UDIAG_SHOW_NAME },
	};
	struct unix_table *t = rt_alloc(sizeof(*t));
	char *buf = rt_alloc(1 << 16);
	int nl, err = 0;
	bool done = false;

	if (!t || !buf)
		return -ENOMEM;
	t->mask = (1U << 20) - 1; /* room for a million sockets; untouched pages cost nothing */
	t->slot = rt_alloc(sizeof(*t->slot) * (t->mask + 1));
	if (!t->slot)
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
			struct unix_entry *e = table_slot(t, m->udiag_ino);
			char *attr = (char *)(m + 1), *end = (char *)h + h->nlmsg_len;

			e->ino = m->udiag_ino;
			while (attr + sizeof(struct nlattr) <= end) {
				struct nlattr *a = (struct nlattr *)attr;

				if (a->nla_len < sizeof(*a) || attr + a->nla_len > end)
					break;
				if (a->nla_type == UNIX_DIAG_PEER && a->nla_len >= sizeof(*a) + 4)
					memcpy(&e->peer, a + 1, 4);
				if (a->nla_type == UNIX_DIAG_NAME)
					e->named = true;
				attr += NLA_ALIGN(a->nla_len);
			}
		}
	}
	sc_sys1(__NR_close, nl);
	ctx->unix_table = t;
	return err;
}

/* The inode of the socket connected to ino (0: none), and whether ino has
 * a name. */
static int unix_peer(struct fd_dump_ctx *ctx, uint64_t ino, uint64_t *peer, bool *named)
{
	struct unix_entry *e;
	int err;

	if (!ctx->unix_table && (err = load_unix_table(ctx)))
		return err;
	e = table_slot(ctx->unix_table, (uint32_t)ino);
	*peer = e->ino ? e->peer : 0;
	*named = e->ino && e->named;
	if (!e->ino)
		return -ENOENT;
	e->ours = true;
	return 0;
}

/* Every message waiting on fd, peeked; SCM_RIGHTS in flight is refused. */
static int peek_queue(struct fd_dump_ctx *ctx, int fd, Sc__Fd *e)
{
	int orig = -1, zero = 0, err = 0;
	socklen_t len = sizeof(orig);
	size_t cap = 0;
	union {
		struct cmsghdr c;
		char space[CMSG_SPACE(sizeof(int) * 64)];
	} ctl;

	/* One peek buffer for all sockets of this checkpoint. */
	if (!ctx->peek_buf && !(ctx->peek_buf = rt_alloc(PEEK_BUF)))
		return -ENOMEM;
	char *buf = ctx->peek_buf;
	sc_sys5(__NR_getsockopt, fd, SOL_SOCKET, SO_PEEK_OFF, &orig, &len);
	if (sc_sys5(__NR_setsockopt, fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)))
		return -EOPNOTSUPP;
	while (e->n_queue < MAX_MESSAGES) {
		struct iovec iov = { buf, PEEK_BUF };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl,
				     .msg_controllen = sizeof(ctl) };
		long n = sc_sys3(__NR_recvmsg, fd, &mh, MSG_PEEK | MSG_DONTWAIT);

		if (n < 0) {
			err = n == -EAGAIN ? 0 : (int)n;
			break;
		}
		if (mh.msg_controllen) {
			/* Peeking installed the descriptors in flight: drop them. */
			for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
				if (c->cmsg_type == SCM_RIGHTS)
					for (int *p = (int *)CMSG_DATA(c);
					     (char *)p < (char *)c + c->cmsg_len; p++)
						sc_sys1(__NR_close, *p);
			rt_stpcpy(fd_why(ctx, e), "descriptors in flight (SCM_RIGHTS) cannot be checkpointed");
			err = -EOPNOTSUPP;
			break;
		}
		if (mh.msg_flags & MSG_TRUNC) {
			rt_stpcpy(fd_why(ctx, e), "a queued message is larger than 256 KiB");
			err = -EFBIG;
			break;
		}
		if (n == 0 && e->sock_type == SOCK_STREAM)
			break; /* the peer shut down writing */
		if (e->n_queue == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			ProtobufCBinaryData *more = rt_alloc(sizeof(*more) * ncap);

			if (!more) {
				err = -ENOMEM;
				break;
			}
			if (cap)
				memcpy(more, e->queue, sizeof(*more) * cap);
			e->queue = more;
			cap = ncap;
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
	return err;
}

int fd_unix_dump(struct fd_dump_ctx *ctx, const struct fd_live *l, Sc__Fd *e)
{
	int type = 0;
	socklen_t len = sizeof(type);
	uint64_t peer;
	bool named;

	e->kind = SC__FD_KIND__UNIX_PAIR;
	if (sc_sys5(__NR_getsockopt, l->fd, SOL_SOCKET, SO_TYPE, &type, &len))
		return -EIO;
	e->has_sock_type = e->has_sock_ino = e->has_peer_ino = true;
	e->sock_type = (uint32_t)type;
	e->sock_ino = l->st.st_ino;
	if (unix_peer(ctx, e->sock_ino, &peer, &named) || !peer || named) {
		rt_stpcpy(fd_why(ctx, e), "only unnamed socketpairs are supported among unix sockets");
		return -EOPNOTSUPP;
	}
	e->peer_ino = peer;
	return peek_queue(ctx, l->fd, e);
}

/* Both ends of every pair must be in the image. */
int fd_unix_check_peers(struct fd_dump_ctx *ctx)
{
	const Sc__Fds *fds = ctx->fds;

	for (size_t i = 0; i < fds->n_fds; i++) {
		const Sc__Fd *e = fds->fds[i];

		const struct unix_entry *peer;

		if (e->kind != SC__FD_KIND__UNIX_PAIR)
			continue;
		peer = table_slot(ctx->unix_table, (uint32_t)e->peer_ino);
		if (peer->ino && peer->ours)
			continue;
		rt_stpcpy(fd_why(ctx, e), "the other end of this socket is outside the process");
		return -EOPNOTSUPP;
	}
	return 0;
}
