// SPDX-License-Identifier: MIT
/*
 * Holds two NETLINK_ROUTE sockets across the checkpoint: one that listens
 * to link and address events (groups from bind() and from
 * NETLINK_ADD_MEMBERSHIP), and one it asks questions on. After the
 * restore both are still netlink route sockets in the same groups, and
 * an RTM_GETLINK dump asked on the second lists the same interfaces as
 * before.
 */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zdtm.h"

/* The groups the listener joins: by bind() and by setsockopt. */
#define BOUND_GROUPS (RTMGRP_LINK | RTMGRP_IPV4_IFADDR)
#define ADDED_GROUP RTNLGRP_IPV6_IFADDR

/* The interfaces an RTM_GETLINK dump lists, or -1. */
static int count_links(int s)
{
	struct {
		struct nlmsghdr h;
		struct ifinfomsg i;
	} req = { .h = { .nlmsg_len = sizeof(req),
			 .nlmsg_type = RTM_GETLINK,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			 .nlmsg_seq = 1 },
		  .i = { .ifi_family = AF_UNSPEC } };
	static char buf[1 << 16];
	int n = 0;

	if (send(s, &req, sizeof(req), 0) != (ssize_t)sizeof(req))
		return -1;
	for (;;) {
		ssize_t len = recv(s, buf, sizeof(buf), 0);

		if (len <= 0)
			return -1;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len);
		     h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return n;
			if (h->nlmsg_type == NLMSG_ERROR)
				return -1;
			n += h->nlmsg_type == RTM_NEWLINK;
		}
	}
}

/* The groups s is in, as NETLINK_LIST_MEMBERSHIPS' first word. */
static uint32_t groups_of(int s)
{
	uint32_t words[4] = { 0 };
	socklen_t len = sizeof(words);

	if (getsockopt(s, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, words, &len))
		test_fail("NETLINK_LIST_MEMBERSHIPS: %m");
	return words[0];
}

static void check_route_socket(int s, const char *which)
{
	int v;
	socklen_t len = sizeof(v);

	if (getsockopt(s, SOL_SOCKET, SO_DOMAIN, &v, &len) || v != AF_NETLINK)
		test_fail("the %s socket is not a netlink socket", which);
	if (getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &v, &len) || v != NETLINK_ROUTE)
		test_fail("the %s socket is of netlink family %d, not NETLINK_ROUTE", which, v);
	if (getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &len) || v != SOCK_RAW)
		test_fail("the %s socket is of type %d, not SOCK_RAW", which, v);
}

int main(int argc, char **argv)
{
	struct sockaddr_nl a = { .nl_family = AF_NETLINK, .nl_groups = BOUND_GROUPS };
	uint32_t want = BOUND_GROUPS | 1U << (ADDED_GROUP - 1);
	int added = ADDED_GROUP, listener, asker, links;

	test_init(argc, argv);
	listener = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	asker = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	if (listener < 0 || asker < 0)
		test_fail("socket(AF_NETLINK): %m");
	if (bind(listener, (struct sockaddr *)&a, sizeof(a)) ||
	    setsockopt(listener, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &added, sizeof(added)))
		test_fail("joining groups: %m");
	if (groups_of(listener) != want)
		test_fail("the listener is in groups %#x, not %#x", groups_of(listener), want);
	links = count_links(asker);
	if (links < 1)
		test_fail("RTM_GETLINK listed no interface");
	test_ready();
	test_wait_stop();

	check_route_socket(listener, "listening");
	check_route_socket(asker, "asking");
	if (groups_of(listener) != want)
		test_fail("after the restore the listener is in groups %#x, not %#x",
			  groups_of(listener), want);
	if (groups_of(asker))
		test_fail("the asking socket joined groups %#x", groups_of(asker));
	if (count_links(asker) != links)
		test_fail("RTM_GETLINK lists %d interfaces, not %d", count_links(asker), links);
	test_pass();
}
