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

/* The inode of the socket connected to ino (0: none), and whether ino has
 * a name, through one NETLINK_SOCK_DIAG request. */
static int unix_peer(uint64_t ino, uint64_t *peer, bool *named)
{
	struct {
		struct nlmsghdr nlh;
		struct unix_diag_req req;
	} rq = {
		.nlh = { .nlmsg_len = sizeof(rq), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST },
		.req = { .sdiag_family = AF_UNIX, .udiag_states = ~0U, .udiag_ino = (uint32_t)ino,
			 .udiag_show = UDIAG_SHOW_PEER | UDIAG_SHOW_NAME,
			 .udiag_cookie = { ~0U, ~0U } },
	};
	char buf[1024];
	long n;
	int nl = (int)sc_sys3(__NR_socket, AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	*peer = 0;
	*named = false;
	if (nl < 0)
		return nl;
	n = sc_sys4(__NR_sendto, nl, &rq, sizeof(rq), 0);
	if (n == (long)sizeof(rq))
		n = sc_sys4(__NR_recvfrom, nl, buf, sizeof(buf), 0);
	sc_sys1(__NR_close, nl);
	if (n < (long)(sizeof(struct nlmsghdr) + sizeof(struct unix_diag_msg)))
		return n < 0 ? (int)n : -EIO;
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len > (unsigned)n)
		return -EIO;
	struct unix_diag_msg *m = NLMSG_DATA(h);
	char *attr = (char *)(m + 1), *end = buf + h->nlmsg_len;
	while (attr + sizeof(struct nlattr) <= end) {
		struct nlattr *a = (struct nlattr *)attr;

		if (a->nla_len < sizeof(*a) || attr + a->nla_len > end)
			break;
		if (a->nla_type == UNIX_DIAG_PEER && a->nla_len >= sizeof(*a) + 4)
			*peer = *(uint32_t *)(a + 1);
		if (a->nla_type == UNIX_DIAG_NAME)
			*named = true;
		attr += NLA_ALIGN(a->nla_len);
	}
	return 0;
}

/* Every message waiting on fd, peeked; SCM_RIGHTS in flight is refused. */
static int peek_queue(struct fd_dump_ctx *ctx, int fd, Sc__Fd *e)
{
	int orig = -1, zero = 0, err = 0;
	socklen_t len = sizeof(orig);
	char *buf = rt_alloc(PEEK_BUF);
	union {
		struct cmsghdr c;
		char space[CMSG_SPACE(sizeof(int) * 64)];
	} ctl;

	e->queue = rt_alloc(sizeof(*e->queue) * MAX_MESSAGES);
	if (!buf || !e->queue)
		return -ENOMEM;
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
	if (unix_peer(e->sock_ino, &peer, &named) || !peer || named) {
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
		bool found = false;

		if (e->kind != SC__FD_KIND__UNIX_PAIR)
			continue;
		for (size_t j = 0; j < fds->n_fds && !found; j++)
			found = fds->fds[j]->kind == SC__FD_KIND__UNIX_PAIR &&
				fds->fds[j]->sock_ino == e->peer_ino;
		if (!found) {
			rt_stpcpy(fd_why(ctx, e), "the other end of this socket is outside the process");
			return -EOPNOTSUPP;
		}
	}
	return 0;
}
