// SPDX-License-Identifier: MIT
/*
 * AF_UNIX socketpairs: one new pair per saved pair; what was waiting on an
 * end is sent again from the other, message by message.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd_restore.h"

static const Sc__Fd *peer_of(const Sc__Fds *fds, const Sc__Fd *e)
{
	for (size_t i = 0; i < fds->n_fds; i++)
		if (fds->fds[i]->kind == SC__FD_KIND__UNIX_PAIR &&
		    fds->fds[i]->sock_ino == e->peer_ino)
			return fds->fds[i];
	return NULL;
}

/* Sends q (waiting on one end) through the other end. */
static int replay(int from, const Sc__Fd *waiting_on, char *err)
{
	for (size_t i = 0; i < waiting_on->n_queue; i++) {
		const ProtobufCBinaryData *q = &waiting_on->queue[i];

		if (send(from, q->data, q->len, MSG_DONTWAIT) != (ssize_t)q->len) {
			snprintf(err, SC_ERR_LEN, "fd %d: requeueing %zu bytes: %s", waiting_on->fd,
				 q->len, strerror(errno));
			return -1;
		}
	}
	return 0;
}

int fd_unix_restore(struct fd_restore_ctx *ctx, const Sc__Fd *e, char *err)
{
	uint64_t key = e->sock_ino < e->peer_ino ? e->sock_ino : e->peer_ino;
	int end = e->sock_ino < e->peer_ino ? 0 : 1;
	struct fd_restore_pipe *p = NULL;

	for (size_t i = 0; i < ctx->nunix; i++)
		if (ctx->unix_pairs[i].id == key)
			p = &ctx->unix_pairs[i];
	if (!p) {
		const Sc__Fd *peer = peer_of(ctx->fds, e);
		struct fd_restore_pipe *more;
		int sv[2];

		more = realloc(ctx->unix_pairs, (ctx->nunix + 1) * sizeof(*more));
		if (!more || !peer || socketpair(AF_UNIX, (int)e->sock_type | SOCK_CLOEXEC, 0, sv)) {
			snprintf(err, SC_ERR_LEN, "fd %d: socketpair: %s", e->fd,
				 !peer ? "its peer is missing" : strerror(errno));
			return -1;
		}
		ctx->unix_pairs = more;
		p = &ctx->unix_pairs[ctx->nunix++];
		p->id = key;
		for (int i = 0; i < 2; i++) {
			p->ends[i] = fcntl(sv[i], F_DUPFD_CLOEXEC, ctx->scratch_min);
			close(sv[i]);
		}
		if (p->ends[0] < 0 || p->ends[1] < 0) {
			snprintf(err, SC_ERR_LEN, "fd %d: %s", e->fd, strerror(errno));
			return -1;
		}
		/* e waits on ends[end], its peer on the other one. */
		if (replay(p->ends[1 - end], e, err) || replay(p->ends[end], peer, err))
			return -1;
	}
	return fd_scratch_dup(ctx, p->ends[end], e, err);
}

void fd_unix_describe(const Sc__Fd *e, char *buf, size_t len)
{
	size_t bytes = 0;

	for (size_t i = 0; i < e->n_queue; i++)
		bytes += e->queue[i].len;
	snprintf(buf, len, "unix %s socketpair, peer socket:[%llu], %zu messages (%zu bytes) waiting",
		 e->sock_type == SOCK_STREAM ? "stream" : e->sock_type == SOCK_DGRAM ? "datagram" : "seqpacket",
		 (unsigned long long)e->peer_ino, e->n_queue, bytes);
}
