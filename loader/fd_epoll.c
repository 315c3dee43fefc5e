// SPDX-License-Identifier: MIT
/*
 * epoll: created empty with the other descriptors, filled by
 * fd_epoll_attach() once every descriptor it watches is at its number.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

#include "fd_restore.h"

static int fd_epoll_restore(struct fd_restore_ctx *ctx, const Sc__Fd *e, char *err)
{
	int fd = epoll_create1(EPOLL_CLOEXEC);

	if (fd < 0)
		sc_err(err, "fd %d: epoll_create1: %m", e->fd);
	return fd;
}

static int fd_epoll_attach(const Sc__Fds *fds, char *err)
{
	for (size_t i = 0; i < fds->n_fds; i++) {
		const Sc__Fd *e = fds->fds[i];

		if (e->kind != SC__FD_KIND__EPOLL)
			continue;
		for (size_t j = 0; j < e->n_epoll; j++) {
			const Sc__EpollTarget *t = e->epoll[j];
			struct epoll_event ev = { .events = t->events, .data.u64 = t->data };

			if (epoll_ctl(e->fd, EPOLL_CTL_ADD, t->tfd, &ev)) {
				sc_err(err, "fd %d: watching fd %d: %s", e->fd, t->tfd,
				       strerror(errno));
				return -1;
			}
		}
	}
	return 0;
}

static void fd_epoll_describe(const Sc__Fd *e, char *buf, size_t len)
{
	int n = snprintf(buf, len, "epoll watching");

	for (size_t j = 0; j < e->n_epoll && n > 0 && (size_t)n < len; j++)
		n += snprintf(buf + n, len - (size_t)n, " %d", e->epoll[j]->tfd);
	if (!e->n_epoll)
		snprintf(buf, len, "epoll watching nothing");
}

const struct fd_restore_half fd_epoll_restore_half = {
	.restore = fd_epoll_restore,
	.describe = fd_epoll_describe,
	.finish = fd_epoll_attach,
};
