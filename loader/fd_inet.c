// SPDX-License-Identifier: MIT
/*
 * TCP and UDP sockets: a new socket with the saved options, bound to the
 * same address and port, listening or connected again. Established TCP
 * connections are rebuilt in repair mode (tcp_repair.c), only when crload
 * is given --tcp-established.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd_restore.h"

char *inet_addr_str(const ProtobufCBinaryData *a, char *buf, size_t len)
{
	const struct sockaddr_in *in = (const void *)a->data;
	const struct sockaddr_in6 *in6 = (const void *)a->data;
	char ip[INET6_ADDRSTRLEN];

	if (in->sin_family == AF_INET) {
		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(in->sin_port));
	} else {
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(in6->sin6_port));
	}
	return buf;
}

/* "TCP connection A -> B" */
static char *conn_str(const Sc__InetSocket *in, char *buf, size_t len)
{
	char a[64], b[64];

	snprintf(buf, len, "TCP connection %s -> %s", inet_addr_str(&in->local, a, sizeof(a)),
		 inet_addr_str(&in->peer, b, sizeof(b)));
	return buf;
}

/* Can this crload use TCP_REPAIR? Asked of the kernel on a new socket. */
static bool can_repair(void)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = s >= 0 && !inet_set_int(s, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_ON);

	if (s >= 0)
		close(s);
	return ok;
}

int fd_inet_preflight(const Sc__Fds *fds, bool tcp_established, char *err)
{
	for (size_t i = 0; i < fds->n_fds; i++) {
		const Sc__Fd *e = fds->fds[i];
		char what[160];

		if (e->kind != SC__FD_KIND__INET || !e->inet->tcp || e->has_dup_of)
			continue;
		if (!tcp_established)
			return sc_err(
				err,
				"fd %d holds an established %s: restore it with --tcp-established",
				e->fd, conn_str(e->inet, what, sizeof(what)));
		if (!can_repair())
			return sc_err(
				err,
				"fd %d holds an established %s: restoring it needs CAP_NET_ADMIN "
				"(TCP_REPAIR), which crload does not have",
				e->fd, conn_str(e->inet, what, sizeof(what)));
		return 0;
	}
	return 0;
}

/* The saved size is what the kernel reported: twice what was asked. */
static int set_buf(int s, int opt, int force, uint32_t size)
{
	int half = (int)(size / 2);

	return inet_set_int(s, SOL_SOCKET, force, half) && inet_set_int(s, SOL_SOCKET, opt, half);
}

static void fd_inet_describe(const Sc__Fd *e, char *buf, size_t len)
{
	const Sc__InetSocket *in = e->inet;
	const char *proto = in->type == SOCK_STREAM ? "TCP" : "UDP";
	const char *fam = in->family == AF_INET ? "IPv4" : "IPv6";
	char a[64], b[64], c[160];

	if (in->tcp)
		snprintf(buf, len, "%s established, %zu bytes to send, %zu to read",
			 conn_str(in, c, sizeof(c)), in->tcp->send_queue.len,
			 in->tcp->recv_queue.len);
	else if (!in->has_local)
		snprintf(buf, len, "%s %s socket, not bound", proto, fam);
	else if (in->has_backlog)
		snprintf(buf, len, "%s %s listening (backlog %u)", proto,
			 inet_addr_str(&in->local, a, sizeof(a)), in->backlog);
	else if (in->has_peer)
		snprintf(buf, len, "%s %s connected to %s", proto,
			 inet_addr_str(&in->local, a, sizeof(a)),
			 inet_addr_str(&in->peer, b, sizeof(b)));
	else
		snprintf(buf, len, "%s %s bound", proto, inet_addr_str(&in->local, a, sizeof(a)));
}

/*
 * Binds s to in's address. SO_REUSEADDR does not take a port from the
 * original's connections in TIME_WAIT when the original's socket had it
 * off: those are destroyed (tcp_timewait.c) and the bind tried once more.
 * *step says why it failed.
 */
static int bind_local(int s, const Sc__InetSocket *in, const char **step)
{
	const struct sockaddr *a = (const struct sockaddr *)in->local.data;
	int cleared;

	if (!bind(s, a, (socklen_t)in->local.len))
		return 0;
	if (errno != EADDRINUSE || in->type != SOCK_STREAM)
		return -1;
	cleared = tcp_timewait_clear(&in->local, NULL);
	if (cleared == -EPERM)
		*step = "bind (connections of the original in TIME_WAIT may hold the port for "
			"60 s; ending them needs CAP_NET_ADMIN)";
	errno = EADDRINUSE;
	return cleared > 0 ? bind(s, a, (socklen_t)in->local.len) : -1;
}

static int fd_inet_restore(struct fd_restore_ctx *ctx, const Sc__Fd *e, char *err)
{
	const Sc__InetSocket *in = e->inet;
	const struct linger lg = { 1, (int)in->linger };
	const char *step = "socket";
	int s, fd;

	s = socket((int)in->family, (int)in->type | SOCK_CLOEXEC, 0);
	if (s < 0)
		goto fail;
	step = "setting its options";
	if ((in->has_v6only && inet_set_int(s, IPPROTO_IPV6, IPV6_V6ONLY, in->v6only)) ||
	    inet_set_int(s, SOL_SOCKET, SO_REUSEPORT, in->reuseport) ||
	    inet_set_int(s, SOL_SOCKET, SO_KEEPALIVE, in->keepalive) ||
	    (in->has_nodelay && inet_set_int(s, IPPROTO_TCP, TCP_NODELAY, in->nodelay)) ||
	    (in->has_keepidle && inet_set_int(s, IPPROTO_TCP, TCP_KEEPIDLE, (int)in->keepidle)) ||
	    (in->has_keepintvl && inet_set_int(s, IPPROTO_TCP, TCP_KEEPINTVL, (int)in->keepintvl)) ||
	    (in->has_keepcnt && inet_set_int(s, IPPROTO_TCP, TCP_KEEPCNT, (int)in->keepcnt)) ||
	    (in->has_linger && setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg))) ||
	    (in->has_rcvbuf && set_buf(s, SO_RCVBUF, SO_RCVBUFFORCE, in->rcvbuf)) ||
	    (in->has_sndbuf && set_buf(s, SO_SNDBUF, SO_SNDBUFFORCE, in->sndbuf)))
		goto fail;
	if (in->tcp) {
		char what[160];

		if (tcp_repair_restore(s, in, err)) {
			/* err holds the step; name the connection too */
			char why[SC_ERR_LEN];

			snprintf(why, sizeof(why), "%s", err);
			sc_err(err, "fd %d: %s: %.300s", e->fd, conn_str(in, what, sizeof(what)),
			       why);
			close(s);
			return -1;
		}
	} else {
		/* The port may be in TIME_WAIT after the original's connections:
		 * SO_REUSEADDR for the bind, then the saved value. */
		step = "bind";
		if (in->has_local && (inet_set_int(s, SOL_SOCKET, SO_REUSEADDR,
						   in->reuseaddr || in->type == SOCK_STREAM) ||
				      bind_local(s, in, &step)))
			goto fail;
		step = "listen";
		if (in->has_backlog && listen(s, (int)in->backlog))
			goto fail;
		step = "connect";
		if (in->has_peer &&
		    connect(s, (const struct sockaddr *)in->peer.data, (socklen_t)in->peer.len))
			goto fail;
	}
	step = "setting SO_REUSEADDR";
	if (inet_set_int(s, SOL_SOCKET, SO_REUSEADDR, in->reuseaddr))
		goto fail;
	fd = fd_scratch_dup(ctx, s, e, err);
	close(s);
	return fd;
fail:;
	int saved = errno;
	char desc[200];

	fd_inet_describe(e, desc, sizeof(desc));
	sc_err(err, "fd %d (%s): %s: %s", e->fd, desc, step, strerror(saved));
	if (s >= 0)
		close(s);
	return -1;
}

/* A saved sockaddr of the socket's family. */
static bool good_sockaddr(const ProtobufCBinaryData *a, uint32_t family)
{
	sa_family_t f;

	if (a->len !=
	    (family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)))
		return false;
	memcpy(&f, a->data, sizeof(f));
	return f == family;
}

int fd_check_inet(const struct fd_check_ctx *ctx, const Sc__Fd *f, char *err)
{
	const Sc__InetSocket *in = f->inet;
	const Sc__TcpConnection *t;
	bool stream;

	(void)ctx;
	if (!in)
		return sc_err(err, "fd %d: an IP socket without its fields", f->fd);
	stream = in->type == SOCK_STREAM;
	if ((in->family != AF_INET && in->family != AF_INET6) ||
	    (!stream && in->type != SOCK_DGRAM))
		return sc_err(err, "fd %d: IP socket of family %u, type %u", f->fd, in->family,
			      in->type);
	if ((in->has_local && !good_sockaddr(&in->local, in->family)) ||
	    (in->has_peer && !good_sockaddr(&in->peer, in->family)))
		return sc_err(err, "fd %d: a socket address of the wrong size or family", f->fd);
	if (in->has_backlog &&
	    (!stream || !in->has_local || in->has_peer || in->tcp || in->backlog > (1U << 20)))
		return sc_err(err, "fd %d: an impossible listening socket", f->fd);
	if ((in->has_v6only && in->family != AF_INET6) || (in->has_nodelay && !stream) ||
	    (in->has_keepidle && (!stream || in->keepidle == 0 || in->keepidle > 32767)) ||
	    (in->has_keepintvl && (!stream || in->keepintvl == 0 || in->keepintvl > 32767)) ||
	    (in->has_keepcnt && (!stream || in->keepcnt == 0 || in->keepcnt > 127)) ||
	    (in->has_linger && in->linger > INT32_MAX) ||
	    (in->has_rcvbuf && (in->rcvbuf == 0 || in->rcvbuf > INT32_MAX)) ||
	    (in->has_sndbuf && (in->sndbuf == 0 || in->sndbuf > INT32_MAX)))
		return sc_err(err, "fd %d: socket options that do not fit the socket", f->fd);
	t = in->tcp;
	if (!t)
		return 0;
	if (!stream || !in->has_local || !in->has_peer)
		return sc_err(err, "fd %d: a TCP connection without both addresses", f->fd);
	if (t->mss == 0 || t->mss > 65535 || t->has_snd_wscale != t->has_rcv_wscale ||
	    (t->has_snd_wscale && (t->snd_wscale > 14 || t->rcv_wscale > 14)))
		return sc_err(err, "fd %d: TCP options out of range", f->fd);
	if (t->send_queue.len > SC_TCP_QUEUE_MAX || t->recv_queue.len > SC_TCP_QUEUE_MAX)
		return sc_err(err, "fd %d: TCP queues of %zu and %zu bytes", f->fd,
			      t->send_queue.len, t->recv_queue.len);
	return 0;
}

const struct fd_restore_half fd_inet_restore_half = {
	.restore = fd_inet_restore,
	.describe = fd_inet_describe,
};
