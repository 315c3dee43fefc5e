// SPDX-License-Identifier: MIT
/*
 * TCP and UDP sockets, IPv4 and IPv6: address and port they are bound to,
 * the peer they are connected to, listen()'s backlog and the options a
 * program sets. Established TCP connections go through tcp_repair.c.
 * Datagrams waiting on a UDP socket are not saved (doc/tcp.md).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#include "fd_dump.h"

static bool fd_inet_claims(const struct fd_live *l)
{
	int domain = fd_socket_domain(l);

	return domain == AF_INET || domain == AF_INET6;
}

static int get_int(int fd, int level, int opt, int *val)
{
	socklen_t len = sizeof(*val);

	*val = 0;
	return (int)sc_sys5(__NR_getsockopt, fd, level, opt, val, &len);
}

/* A bound or peer address; NULL when there is none (port 0). */
static int get_addr(int fd, int nr, ProtobufCBinaryData *out, protobuf_c_boolean *has)
{
	struct sockaddr_in6 sa; /* the larger of the two */
	socklen_t len = sizeof(sa);
	long r;

	memset(&sa, 0, sizeof(sa));
	r = sc_sys3(nr, fd, &sa, &len);
	if (r == -ENOTCONN)
		return 0;
	if (r)
		return (int)r;
	if (sa.sin6_port == 0) /* same offset in sockaddr_in */
		return 0;
	out->data = rt_alloc(len);
	if (!out->data)
		return -ENOMEM;
	memcpy(out->data, &sa, len);
	out->len = len;
	*has = true;
	return 0;
}

/*
 * Receive and send buffer sizes, if the process set them: a new socket of
 * the same family and type shows the defaults. TCP grows the buffers of
 * an established connection by itself; those are left to grow again.
 */
static int dump_buffers(const struct fd_live *l, int family, int type, Sc__InetSocket *s)
{
	int fresh = (int)sc_sys3(__NR_socket, family, type | SOCK_CLOEXEC, 0);
	int cur, def;

	if (fresh < 0)
		return fresh;
	if (!get_int(l->fd, SOL_SOCKET, SO_RCVBUF, &cur) &&
	    !get_int(fresh, SOL_SOCKET, SO_RCVBUF, &def) && cur != def) {
		s->has_rcvbuf = true;
		s->rcvbuf = (uint32_t)cur;
	}
	if (!get_int(l->fd, SOL_SOCKET, SO_SNDBUF, &cur) &&
	    !get_int(fresh, SOL_SOCKET, SO_SNDBUF, &def) && cur != def) {
		s->has_sndbuf = true;
		s->sndbuf = (uint32_t)cur;
	}
	sc_sys1(__NR_close, fresh);
	return 0;
}

static const char *tcp_state_name(int st)
{
	switch (st) {
	case TCP_SYN_SENT:
	case TCP_SYN_RECV:
		return "still connecting";
	case TCP_CLOSE_WAIT:
		return "closed by its peer (CLOSE_WAIT)";
	}
	return "closing";
}

static int fd_inet_dump(struct fd_dump_ctx *ctx, const struct fd_live *l, Sc__Fd *e)
{
	Sc__InetSocket *s = rt_alloc(sizeof(*s));
	int family, type, proto, v, err;
	struct linger lg = { 0, 0 };
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (!s)
		return -ENOMEM;
	sc__inet_socket__init(s);
	e->kind = SC__FD_KIND__INET;
	e->inet = s;
	if (get_int(l->fd, SOL_SOCKET, SO_DOMAIN, &family) ||
	    get_int(l->fd, SOL_SOCKET, SO_TYPE, &type) ||
	    get_int(l->fd, SOL_SOCKET, SO_PROTOCOL, &proto))
		return -EIO;
	if (!(type == SOCK_STREAM && proto == IPPROTO_TCP) &&
	    !(type == SOCK_DGRAM && proto == IPPROTO_UDP)) {
		rt_stpcpy(fd_why(ctx, e), "only TCP and UDP sockets are supported among IP sockets");
		return -EOPNOTSUPP;
	}
	s->family = (uint32_t)family;
	s->type = (uint32_t)type;
	if ((err = get_addr(l->fd, __NR_getsockname, &s->local, &s->has_local)) ||
	    (err = get_addr(l->fd, __NR_getpeername, &s->peer, &s->has_peer)))
		return err;
	get_int(l->fd, SOL_SOCKET, SO_REUSEADDR, &v);
	s->reuseaddr = v;
	get_int(l->fd, SOL_SOCKET, SO_REUSEPORT, &v);
	s->reuseport = v;
	get_int(l->fd, SOL_SOCKET, SO_KEEPALIVE, &v);
	s->keepalive = v;
	if (!sc_sys5(__NR_getsockopt, l->fd, SOL_SOCKET, SO_LINGER, &lg, &(socklen_t){ sizeof(lg) }) &&
	    lg.l_onoff) {
		s->has_linger = true;
		s->linger = (uint32_t)lg.l_linger;
	}
	if (family == AF_INET6) {
		s->has_v6only = true;
		get_int(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &v);
		s->v6only = v;
	}
	if (type == SOCK_DGRAM)
		return dump_buffers(l, family, type, s);

	s->has_nodelay = s->has_keepidle = s->has_keepintvl = s->has_keepcnt = true;
	get_int(l->fd, IPPROTO_TCP, TCP_NODELAY, &v);
	s->nodelay = v;
	get_int(l->fd, IPPROTO_TCP, TCP_KEEPIDLE, &v);
	s->keepidle = (uint32_t)v;
	get_int(l->fd, IPPROTO_TCP, TCP_KEEPINTVL, &v);
	s->keepintvl = (uint32_t)v;
	get_int(l->fd, IPPROTO_TCP, TCP_KEEPCNT, &v);
	s->keepcnt = (uint32_t)v;
	if (sc_sys5(__NR_getsockopt, l->fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return -EIO;
	switch (ti.tcpi_state) {
	case TCP_CLOSE:
		return dump_buffers(l, family, type, s);
	case TCP_LISTEN:
		s->has_backlog = true;
		s->backlog = ti.tcpi_sacked; /* sk_max_ack_backlog, for a listener */
		return dump_buffers(l, family, type, s);
	case TCP_ESTABLISHED:
		if (ctx->src->refuse_tcp) {
			rt_stpcpy(fd_why(ctx, e), "an established TCP connection: dump it with "
						  "--tcp-established");
			return -EOPNOTSUPP;
		}
		/* A dup is restored by duplicating the first descriptor. */
		return e->has_dup_of ? 0 : rt_tcp_dump(ctx, l, e);
	}
	char *p = rt_stpcpy(fd_why(ctx, e), "a TCP socket ");

	p = rt_stpcpy(p, tcp_state_name(ti.tcpi_state));
	rt_stpcpy(p, " cannot be checkpointed by this version");
	return -EOPNOTSUPP;
}

const struct fd_dump_half fd_inet_dump_half = {
	.claims = fd_inet_claims,
	.dump = fd_inet_dump,
};
