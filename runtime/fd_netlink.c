// SPDX-License-Identifier: MIT
/*
 * Netlink sockets (NETLINK_ROUTE and the others): the family, type, the
 * multicast groups joined and the port it is connected to, all asked of
 * the socket. Messages waiting on it are not saved, as a UDP socket's are
 * not: a listener loses the events of the instant. A socket whose dump
 * (an RTM_GETLINK reply, say) is still being sent is refused: restored
 * without the rest of it, the program would wait for it forever.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <string.h>
#include <sys/socket.h>

#include "fd_dump.h"
#include "procparse.h"

/* The most groups recorded: NETLINK_LIST_MEMBERSHIPS fills 32 a word. */
#define GROUP_WORDS 32

static bool fd_netlink_claims(const struct fd_live *l)
{
	return fd_socket_domain(l) == AF_NETLINK;
}

static int get_int(int fd, int opt, uint32_t *val)
{
	socklen_t len = sizeof(*val);

	return (int)sc_sys5(__NR_getsockopt, fd, SOL_SOCKET, opt, val, &len);
}

/* Whether socket ino of the dumped process's namespace is sending a dump
 * (the Dump column of /proc/PID/net/netlink). */
static bool dumping(const struct rt_source *src, uint64_t ino)
{
	char path[64];
	size_t len, pos = 0, ll;
	const char *text, *line;
	struct pp_netlink n;

	rt_stpcpy(rt_stpcpy(path, src->proc), "/net/netlink");
	text = rt_read_file(path, &len);
	while (text && (line = pp_next_line(text, len, &pos, &ll)))
		if (!pp_parse_netlink_line(line, ll, &n) && n.ino == ino)
			return n.dumping;
	return false;
}

static int fd_netlink_dump(struct fd_dump_ctx *ctx, const struct fd_live *l, Sc__Fd *e)
{
	Sc__NetlinkSocket *n = rt_alloc(sizeof(*n));
	uint32_t words[GROUP_WORDS], type, proto, *groups;
	struct sockaddr_nl peer = { 0 };
	socklen_t len = sizeof(words), plen = sizeof(peer);
	size_t ng = 0;

	e->kind = SC__FD_KIND__NETLINK;
	if (!n)
		return -ENOMEM;
	sc__netlink_socket__init(n);
	if (get_int(l->fd, SO_TYPE, &type) || get_int(l->fd, SO_PROTOCOL, &proto) ||
	    sc_sys5(__NR_getsockopt, l->fd, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, words, &len) ||
	    sc_sys3(__NR_getpeername, l->fd, &peer, &plen)) {
		rt_stpcpy(fd_why(ctx, e), "its options cannot be read");
		return -EIO;
	}
	if (len > sizeof(words)) {
		rt_stpcpy(fd_why(ctx, e), "a netlink socket in more groups than selfckpt records");
		return -E2BIG;
	}
	if (dumping(ctx->src, l->st.st_ino)) {
		rt_stpcpy(fd_why(ctx, e),
			  "a netlink socket in the middle of a dump, whose rest would be lost");
		return -EBUSY;
	}
	groups = rt_alloc(len / sizeof(*words) * 32 * sizeof(*groups));
	if (len && !groups)
		return -ENOMEM;
	for (size_t w = 0; w < len / sizeof(*words); w++)
		for (unsigned b = 0; b < 32; b++)
			if (words[w] >> b & 1)
				groups[ng++] = (uint32_t)(w * 32 + b + 1);
	n->protocol = proto;
	n->groups = groups;
	n->n_groups = ng;
	if (peer.nl_pid || peer.nl_groups) {
		n->has_peer_portid = n->has_peer_groups = true;
		n->peer_portid = peer.nl_pid;
		n->peer_groups = peer.nl_groups;
	}
	e->has_sock_type = true;
	e->sock_type = type;
	e->netlink = n;
	return 0;
}

const struct fd_dump_half fd_netlink_dump_half = {
	.claims = fd_netlink_claims,
	.dump = fd_netlink_dump,
};
