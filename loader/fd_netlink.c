// SPDX-License-Identifier: MIT
/* Netlink sockets: a new socket of the same family and type, in the same
 * multicast groups, connected again where it was. */
#include <errno.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd_restore.h"

/* The netlink families a socket can have (MAX_LINKS in the kernel). */
#define NETLINK_FAMILIES 32
/* The groups fd_netlink.c records at most. */
#define NETLINK_GROUPS_MAX 1024

static int fd_netlink_restore(struct fd_restore_ctx *ctx, const Sc__Fd *e, char *err)
{
	const Sc__NetlinkSocket *n = e->netlink;
	const char *step = "socket";
	int s, fd;

	s = socket(AF_NETLINK, (int)e->sock_type | SOCK_CLOEXEC, (int)n->protocol);
	if (s < 0)
		goto fail;
	/* The kernel gives it a port, this process's pid when it is free, as
	 * it did the first time. */
	step = "joining a multicast group";
	for (size_t i = 0; i < n->n_groups; i++)
		if (setsockopt(s, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &n->groups[i],
			       sizeof(n->groups[i])))
			goto fail;
	if (n->has_peer_portid) {
		struct sockaddr_nl a = { .nl_family = AF_NETLINK,
					 .nl_pid = n->peer_portid,
					 .nl_groups = n->peer_groups };

		step = "connect";
		if (connect(s, (const struct sockaddr *)&a, sizeof(a)))
			goto fail;
	}
	fd = fd_scratch_dup(ctx, s, e, err);
	close(s);
	return fd;
fail:
	sc_err(err, "fd %d (netlink socket of family %u): %s: %s", e->fd, n->protocol, step,
	       strerror(errno));
	if (s >= 0)
		close(s);
	return -1;
}

static void fd_netlink_describe(const Sc__Fd *e, char *buf, size_t len)
{
	const Sc__NetlinkSocket *n = e->netlink;

	snprintf(buf, len, "netlink family %u, %zu multicast groups%s", n->protocol, n->n_groups,
		 n->has_peer_portid ? ", connected" : "");
}

/* NETLINK: a family and type a socket can have, groups in ascending
 * order. */
int fd_check_netlink(const struct fd_check_ctx *ctx, const Sc__Fd *f, char *err)
{
	const Sc__NetlinkSocket *n = f->netlink;

	(void)ctx;
	if (!n || !f->has_sock_type || n->protocol >= NETLINK_FAMILIES ||
	    (f->sock_type != SOCK_RAW && f->sock_type != SOCK_DGRAM) ||
	    n->has_peer_portid != n->has_peer_groups)
		return sc_err(err, "fd %d: a netlink socket without a family or type it can have",
			      f->fd);
	for (size_t i = 0; i < n->n_groups; i++)
		if (n->groups[i] == 0 || n->groups[i] > NETLINK_GROUPS_MAX ||
		    (i && n->groups[i] <= n->groups[i - 1]))
			return sc_err(err, "fd %d: netlink group %zu is malformed", f->fd, i);
	return 0;
}

const struct fd_restore_half fd_netlink_restore_half = {
	.restore = fd_netlink_restore,
	.describe = fd_netlink_describe,
};
