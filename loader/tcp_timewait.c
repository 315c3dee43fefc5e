// SPDX-License-Identifier: MIT
/*
 * The original's connections left in TIME_WAIT (doc/tcp.md). A restore
 * that follows a kill on the same machine (a pre-empted job requeued onto
 * its node, a test) finds every connection the original closed first
 * waiting out its 60 s in TIME_WAIT, holding its addresses:
 *
 * - a listener, or a bound socket, cannot take its port again when the
 *   original's socket had SO_REUSEADDR off (bind needs it on both sides,
 *   and a TIME_WAIT socket keeps the one it had);
 * - a connection rebuilt in repair mode with the same four addresses
 *   cannot connect (EADDRNOTAVAIL).
 *
 * They are leftovers of the process being restored, and nothing else can
 * have them: crload destroys them through sock_diag (SOCK_DESTROY, which
 * needs CAP_NET_ADMIN, as TCP_REPAIR does) and tries once more.
 */
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd_restore.h"

#define DUMP_BUF (64 << 10)

/* One IP address and port, in network order, from a saved sockaddr. */
struct endpoint {
	int family;
	uint32_t addr[4];
	uint16_t port;
	bool any; /* the wildcard address: any address of either family */
};

static struct endpoint endpoint_of(const ProtobufCBinaryData *a)
{
	const struct sockaddr_in *in = (const void *)a->data;
	const struct sockaddr_in6 *in6 = (const void *)a->data;
	struct endpoint e = { .family = in->sin_family };

	if (e.family == AF_INET) {
		e.addr[0] = in->sin_addr.s_addr;
		e.port = in->sin_port;
		e.any = in->sin_addr.s_addr == htonl(INADDR_ANY);
	} else {
		memcpy(e.addr, &in6->sin6_addr, sizeof(e.addr));
		e.port = in6->sin6_port;
		e.any = IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr);
	}
	return e;
}

static bool same_endpoint(const struct endpoint *e, int family, const __be32 *addr, __be16 port)
{
	size_t len = family == AF_INET ? sizeof(addr[0]) : sizeof(e->addr);

	return port == e->port && (e->any || (family == e->family && !memcmp(addr, e->addr, len)));
}

/* Sends nl a sock_diag request of type for family's TCP sockets in
 * TIME_WAIT (id: one of them, or NULL); 0 or -errno. */
static int ask(int nl, uint16_t type, uint16_t flags, int family, const struct inet_diag_sockid *id)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} rq = {
		.nlh = { .nlmsg_len = sizeof(rq),
			 .nlmsg_type = type,
			 .nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags) },
		.req = { .sdiag_family = (uint8_t)family,
			 .sdiag_protocol = IPPROTO_TCP,
			 .idiag_states = 1U << TCP_TIME_WAIT },
	};

	if (id)
		rq.req.id = *id;
	return send(nl, &rq, sizeof(rq), 0) == (ssize_t)sizeof(rq) ? 0 : -errno;
}

/* Asks the kernel to destroy the socket id names; 0 or -errno. */
static int destroy(int nl, int family, const struct inet_diag_sockid *id)
{
	struct {
		struct nlmsghdr nlh;
		struct nlmsgerr err;
	} ack;
	int err = ask(nl, SOCK_DESTROY, NLM_F_ACK, family, id);

	if (err)
		return err;
	if (recv(nl, &ack, sizeof(ack), 0) < (ssize_t)sizeof(ack) || ack.nlh.nlmsg_type != NLMSG_ERROR)
		return -EPROTO;
	return ack.err.error;
}

/*
 * Destroys the TIME_WAIT sockets of family whose local end is local and,
 * with peer, whose other end is peer. How many, or -errno (the first
 * error: -EPERM without CAP_NET_ADMIN).
 */
static int clear_family(int nl, int family, const struct endpoint *local,
			const struct endpoint *peer, uint8_t *buf)
{
	struct inet_diag_sockid found[64];
	int n = 0, done = 0, err = ask(nl, SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, family, NULL);

	if (err)
		return err;
	/* The whole dump first: the same socket takes the destroy requests. */
	for (bool end = false; !end;) {
		ssize_t len = recv(nl, buf, DUMP_BUF, 0);

		if (len <= 0)
			return len < 0 ? -errno : -EPROTO;
		for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, (size_t)len);
		     h = NLMSG_NEXT(h, len)) {
			const struct inet_diag_msg *m = NLMSG_DATA(h);

			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
				end = true;
				break;
			}
			if (n < (int)(sizeof(found) / sizeof(found[0])) &&
			    same_endpoint(local, family, m->id.idiag_src, m->id.idiag_sport) &&
			    (!peer ||
			     same_endpoint(peer, family, m->id.idiag_dst, m->id.idiag_dport)))
				found[n++] = m->id;
		}
	}
	for (int i = 0; i < n; i++) {
		int r = destroy(nl, family, &found[i]);

		if (r)
			return r;
		done++;
	}
	return done;
}

int tcp_timewait_clear(const ProtobufCBinaryData *local, const ProtobufCBinaryData *peer)
{
	struct endpoint l = endpoint_of(local), p = peer ? endpoint_of(peer) : (struct endpoint){ 0 };
	int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	uint8_t *buf = malloc(DUMP_BUF);
	int total = 0, r = 0;

	if (nl < 0 || !buf) {
		r = nl < 0 ? -errno : -ENOMEM;
		goto out;
	}
	/* A wildcard address also covers IPv4 connections of an IPv6 socket. */
	for (int k = 0; k < 2 && r >= 0; k++) {
		int family = k ? AF_INET6 : AF_INET;

		if (family != l.family && !l.any)
			continue;
		r = clear_family(nl, family, &l, peer ? &p : NULL, buf);
		total += r > 0 ? r : 0;
	}
out:
	free(buf);
	if (nl >= 0)
		close(nl);
	return r < 0 ? r : total;
}
