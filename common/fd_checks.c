// SPDX-License-Identifier: MIT
/* What the image checks of the descriptor kinds share: the lookups of a
 * process's pipes and sockets, made once for all of its descriptors. Each
 * kind's check is in its restore half (loader/fd_KIND.c), beside the code
 * that relies on it, and loader/fd_kinds.c has their table. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fd_checks.h"
#include "fdkinds.h"
#include "image.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_ino(const void *a, const void *b)
{
	uint64_t x = (*(const Sc__Fd *const *)a)->sock_ino,
		 y = (*(const Sc__Fd *const *)b)->sock_ino;

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
	int ret = 0;

	*ctx = (struct fd_check_ctx){ .fds = fds,
				      .by_ino = calloc(fds->n_fds + 1, sizeof(*ctx->by_ino)) };
	for (size_t i = 0; i < fds->n_pipes; i++) {
		const Sc__Pipe *p = fds->pipes[i];

		if (p->size < 4096 || p->size > (1U << 30) ||
		    (p->has_data && p->data.len > p->size))
			ret = sc_err(err, "pipe %llu: %zu bytes in a pipe of %u",
				     (unsigned long long)p->id, p->has_data ? p->data.len : 0,
				     p->size);
	}
	if (!ctx->by_ino)
		ret = sc_err(err, "out of memory");
	/* A socket's checks look at its peer's UnixSocket: all must have one. */
	for (size_t i = 0; i < fds->n_fds && !ret; i++) {
		const Sc__Fd *f = fds->fds[i];

		if (f->kind != SC__FD_KIND__UNIX)
			continue;
		if (!f->unix_sock)
			ret = sc_err(err, "fd %d: a socket without type or peer", f->fd);
		else if (!f->has_dup_of)
			ctx->by_ino[ctx->n_unix++] = f;
	}
	qsort(ctx->by_ino, ctx->n_unix, sizeof(*ctx->by_ino), cmp_ino);
	for (size_t i = 1; i < ctx->n_unix && !ret; i++)
		if (ctx->by_ino[i]->sock_ino == ctx->by_ino[i - 1]->sock_ino)
			ret = sc_err(err, "fd %d: socket:[%llu] listed twice", ctx->by_ino[i]->fd,
				     (unsigned long long)ctx->by_ino[i]->sock_ino);
	if (!ret && !(ctx->pipe_ids = sorted_pipe_ids(fds, err)))
		ret = -1;
	return ret;
}

void fd_check_ctx_free(struct fd_check_ctx *ctx)
{
	free(ctx->by_ino);
	free(ctx->pipe_ids);
}

bool fd_check_has_pipe(const struct fd_check_ctx *ctx, uint64_t id)
{
	return bsearch(&id, ctx->pipe_ids, ctx->fds->n_pipes, sizeof(*ctx->pipe_ids), cmp_u64);
}

static bool unix_name_ok(const ProtobufCBinaryData *n)
{
	/* sun_path: an abstract name of up to 107 bytes after its NUL, or a
	 * path of up to 107 bytes without one. */
	return n->len >= 1 && n->len <= 108 &&
	       (n->data[0] ? !memchr(n->data, 0, n->len) && n->len <= 107 : n->len >= 2);
}

static const Sc__Fd *unix_by_ino(const struct fd_check_ctx *ctx, uint64_t ino)
{
	Sc__Fd key = { .sock_ino = ino };
	const Sc__Fd *kp = &key,
		     **found = bsearch(&kp, ctx->by_ino, ctx->n_unix, sizeof(kp), cmp_ino);

	return found ? *found : NULL;
}

bool fd_unix_queueable(const Sc__Fd *l, const Sc__Fd *c)
{
	return c->sock_type == l->sock_type &&
	       c->unix_sock->state == SC__UNIX_SOCKET__STATE__CONNECTED &&
	       c->unix_sock->has_peer_name && !c->unix_sock->accepted;
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
		if (u->state != SC__UNIX_SOCKET__STATE__LISTEN || (c && !fd_unix_queueable(f, c)))
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
