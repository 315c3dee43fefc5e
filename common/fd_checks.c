// SPDX-License-Identifier: MIT
/* The image checks of each descriptor kind, and their table, expanded
 * from the one list (fdkinds.h) so that a kind without its check does not
 * build. */
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include "fd_checks.h"
#include "fdkinds.h"
#include "image.h"

/* The clocks a timerfd can use have ids up to CLOCK_TAI. */
#define CLOCKID_MAX CLOCK_TAI

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The image's pipe ids, sorted; NULL with err set if one is listed twice. */
static uint64_t *sorted_pipe_ids(const Sc__Fds *fds, char *err)
{
	uint64_t *ids = malloc((fds->n_pipes + 1) * sizeof(*ids));

	if (!ids) {
		sc_err(err, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < fds->n_pipes; i++)
		ids[i] = fds->pipes[i]->id;
	qsort(ids, fds->n_pipes, sizeof(*ids), cmp_u64);
	for (size_t i = 1; i < fds->n_pipes; i++)
		if (ids[i] == ids[i - 1]) {
			sc_err(err, "pipe %llu listed twice", (unsigned long long)ids[i]);
			free(ids);
			return NULL;
		}
	return ids;
}

int fd_check_ctx_init(struct fd_check_ctx *ctx, const Sc__Fds *fds, char *err)
{
	const struct unix_node *twice;
	int ret = 0;

	*ctx = (struct fd_check_ctx){ .fds = fds,
				      .socks.v = calloc(fds->n_fds + 1, sizeof(*ctx->socks.v)) };
	for (size_t i = 0; i < fds->n_pipes; i++) {
		const Sc__Pipe *p = fds->pipes[i];

		if (p->size < 4096 || p->size > (1U << 30) ||
		    (p->has_data && p->data.len > p->size))
			ret = sc_err(err, "pipe %llu: %zu bytes in a pipe of %u",
				     (unsigned long long)p->id, p->has_data ? p->data.len : 0,
				     p->size);
	}
	if (!ctx->socks.v)
		ret = sc_err(err, "out of memory");
	/* A socket's checks look at its peer's UnixSocket: all must have one. */
	for (size_t i = 0; i < fds->n_fds && !ret; i++) {
		const Sc__Fd *f = fds->fds[i];

		if (f->kind != SC__FD_KIND__UNIX)
			continue;
		if (!f->unix_sock)
			ret = sc_err(err, "fd %d: a socket without type or peer", f->fd);
		else if (!f->has_dup_of)
			unix_node_of_fd(&ctx->socks.v[ctx->socks.n++], f, 0);
	}
	unix_graph_index(&ctx->socks);
	if (!ret && (twice = unix_graph_repeated(&ctx->socks)))
		ret = sc_err(err, "fd %d: socket:[%llu] listed twice",
			     ((const Sc__Fd *)twice->data)->fd, (unsigned long long)twice->ino);
	if (!ret && !(ctx->pipe_ids = sorted_pipe_ids(fds, err)))
		ret = -1;
	return ret;
}

void fd_check_ctx_free(struct fd_check_ctx *ctx)
{
	free(ctx->socks.v);
	free(ctx->pipe_ids);
}

/* INHERIT, TTY, SIGNALFD, EPOLL: what every descriptor has is all. */
static int fd_check_nothing(const struct fd_check_ctx *ctx, const Sc__Fd *f, char *err)
{
	(void)ctx, (void)f, (void)err;
	return 0;
}

/* DIR, CHR: a path to open again. */
static int fd_check_path(const struct fd_check_ctx *ctx, const Sc__Fd *f, char *err)
{
	(void)ctx;
	if (!f->path || f->path[0] != '/')
		return sc_err(err, "fd %d has no path", f->fd);
	return 0;
}

/* REG: a path; crload compares its identity with the file and cuts it
 * back to size. */
static int fd_check_file(const struct fd_check_ctx *ctx, const Sc__Fd *f, char *err)
{
	if (fd_check_path(ctx, f, err))
		return -1;
	if (f->has_dev != f->has_ino || (f->has_size && f->size > INT64_MAX) ||
	    (f->has_pos && f->pos > INT64_MAX))
		return sc_err(err, "fd %d: file identity, size or offset malformed", f->fd);
	return 0;
}

/* PIPE: its pipe is in the image's list. */
static int fd_check_pipe(const struct fd_check_ctx *ctx, const Sc__Fd *f, char *err)
{
	if (!f->has_pipe_id || !bsearch(&f->pipe_id, ctx->pipe_ids, ctx->fds->n_pipes,
					sizeof(*ctx->pipe_ids), cmp_u64))
		return sc_err(err, "fd %d: its pipe is missing", f->fd);
	return 0;
}

/* FIFO: a pipe that has a path too. */
static int fd_check_fifo(const struct fd_check_ctx *ctx, const Sc__Fd *f, char *err)
{
	return fd_check_pipe(ctx, f, err) || fd_check_path(ctx, f, err) ? -1 : 0;
}

static int fd_check_timerfd(const struct fd_check_ctx *ctx, const Sc__Fd *f, char *err)
{
	(void)ctx;
	if (!f->has_clockid || f->clockid < 0 || f->clockid > CLOCKID_MAX)
		return sc_err(err, "fd %d: timerfd on clock %d", f->fd, f->clockid);
	return 0;
}

/* GHOST, MEMFD: a name, and the contents whole. */
static int fd_check_contents(const struct fd_check_ctx *ctx, const Sc__Fd *f, char *err)
{
	(void)ctx;
	if (!f->path || f->path[0] != '/' || !f->has_contents || !f->has_size ||
	    f->contents.len != f->size)
		return sc_err(err, "fd %d: file contents missing or cut", f->fd);
	return 0;
}

static int fd_check_eventfd(const struct fd_check_ctx *ctx, const Sc__Fd *f, char *err)
{
	(void)ctx;
	if (!f->has_eventfd_count || f->eventfd_count == UINT64_MAX)
		return sc_err(err, "fd %d: eventfd without a valid count", f->fd);
	return 0;
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
static int fd_check_unix(const struct fd_check_ctx *ctx, const Sc__Fd *f, char *err)
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

static int fd_check_inet(const struct fd_check_ctx *ctx, const Sc__Fd *f, char *err)
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

/* INOTIFY: watches in ascending wd order, each restorable. */
static int fd_check_inotify(const struct fd_check_ctx *ctx, const Sc__Fd *f, char *err)
{
	const uint32_t flags = IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK;

	(void)ctx;
	for (size_t j = 0; j < f->n_watches; j++) {
		const Sc__InotifyWatch *w = f->watches[j];

		if (w->wd <= 0 || (j && w->wd <= f->watches[j - 1]->wd) || !w->path ||
		    w->path[0] != '/' || (w->mask & ~flags) || !(w->mask & IN_ALL_EVENTS))
			return sc_err(err, "fd %d: inotify watch %zu is malformed", f->fd, j);
	}
	return 0;
}

/* PTY_MASTER: one per pair, its settings whole; PTY_SLAVE: its master
 * in the image. */
static int fd_check_pty(const struct fd_check_ctx *ctx, const Sc__Fd *f, char *err)
{
	const Sc__Pty *p = f->pty;
	bool master = false;

	if (!f->has_pty_id)
		return sc_err(err, "fd %d: a pty without its pair", f->fd);
	for (size_t j = 0; j < ctx->fds->n_fds; j++) {
		const Sc__Fd *o = ctx->fds->fds[j];

		if (o != f && o->kind == SC__FD_KIND__PTY_MASTER && !o->has_dup_of &&
		    o->has_pty_id && o->pty_id == f->pty_id) {
			if (f->kind == SC__FD_KIND__PTY_MASTER && !f->has_dup_of)
				return sc_err(err, "fd %d: two pty masters of one pair", f->fd);
			master = true;
		}
	}
	if (f->kind == SC__FD_KIND__PTY_SLAVE && !master)
		return sc_err(err, "fd %d: a pty slave without its master", f->fd);
	if (f->kind == SC__FD_KIND__PTY_SLAVE || f->has_dup_of)
		return 0;
	if (!p || p->termios->cc.len != 19 || p->rows > 0xffff || p->cols > 0xffff ||
	    p->xpixel > 0xffff || p->ypixel > 0xffff ||
	    (p->has_to_master && p->to_master.len > 65536) ||
	    (p->has_to_slave && p->to_slave.len > 65536))
		return sc_err(err, "fd %d: pty settings missing or malformed", f->fd);
	return 0;
}

/* PIDFD: a process to open it of again. */
static int fd_check_pidfd(const struct fd_check_ctx *ctx, const Sc__Fd *f, char *err)
{
	(void)ctx;
	if (!f->has_target_pid || f->target_pid <= 0)
		return sc_err(err, "fd %d: a pidfd without its process", f->fd);
	return 0;
}

#define CHECK_ROW(k, name, dump, restore, check) [k] = check,
static int (*const kind_checks[])(const struct fd_check_ctx *ctx, const Sc__Fd *f,
				  char *err) = { SC_FD_KINDS(CHECK_ROW) };
#undef CHECK_ROW

int fd_check_kind(const struct fd_check_ctx *ctx, const Sc__Fd *f, char *err)
{
	return kind_checks[f->kind](ctx, f, err);
}
