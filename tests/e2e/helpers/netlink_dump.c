// SPDX-License-Identifier: MIT
/*
 * Holds a netlink socket in the middle of a dump: in a network namespace
 * of its own (needs root), with ADDRS addresses on lo, it asks for all of
 * them (RTM_GETADDR) on a socket with the smallest receive buffer and
 * reads nothing, so the kernel keeps the rest of the reply to send. A
 * checkpoint must refuse it (options.sh): restored, the socket would
 * never get the rest. Told to stop, it reads the whole reply and checks
 * that every address is in it.
 */
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "zdtm.h"

/* Far more than one reply message holds (some 60 addresses). */
#define ADDRS 512

struct addr_req {
	struct nlmsghdr h;
	struct ifaddrmsg a;
	struct rtattr rta;
	uint32_t ip;
};

/* Adds 10.9.x.y/32 number i to lo and waits for the kernel's ack. */
static void add_addr(int s, unsigned i)
{
	struct addr_req r = {
		.h = { .nlmsg_len = sizeof(r),
		       .nlmsg_type = RTM_NEWADDR,
		       .nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK,
		       .nlmsg_seq = i + 1 },
		.a = { .ifa_family = AF_INET,
		       .ifa_prefixlen = 32,
		       .ifa_index = if_nametoindex("lo") },
		.rta = { .rta_len = RTA_LENGTH(sizeof(uint32_t)), .rta_type = IFA_LOCAL },
		.ip = htonl(0x0a090000 | i),
	};
	char buf[256];
	struct nlmsgerr *e = NLMSG_DATA((struct nlmsghdr *)buf);

	if (send(s, &r, sizeof(r), 0) != (ssize_t)sizeof(r) || recv(s, buf, sizeof(buf), 0) <= 0)
		test_fail("adding an address: %m");
	if (((struct nlmsghdr *)buf)->nlmsg_type != NLMSG_ERROR || e->error)
		test_fail("adding an address: error %d", e->error);
}

/* Reads the rest of the dump: how many addresses it listed. */
static int read_dump(int s)
{
	static char buf[1 << 16];
	int n = 0;

	for (;;) {
		ssize_t len = recv(s, buf, sizeof(buf), 0);

		if (len <= 0)
			test_fail("reading the dump: %m");
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len);
		     h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return n;
			if (h->nlmsg_type == NLMSG_ERROR)
				test_fail("the dump ended in an error");
			n += h->nlmsg_type == RTM_NEWADDR;
		}
	}
}

int main(int argc, char **argv)
{
	struct {
		struct nlmsghdr h;
		struct ifaddrmsg a;
	} ask = { .h = { .nlmsg_len = sizeof(ask),
			 .nlmsg_type = RTM_GETADDR,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		  .a = { .ifa_family = AF_INET } };
	int small = 1, cfg, s, n;

	test_init(argc, argv);
	if (unshare(CLONE_NEWNET))
		test_fail("unshare(CLONE_NEWNET): %m");
	cfg = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (cfg < 0 || s < 0)
		test_fail("socket(AF_NETLINK): %m");
	for (unsigned i = 0; i < ADDRS; i++)
		add_addr(cfg, i);
	close(cfg);
	if (setsockopt(s, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)) ||
	    send(s, &ask, sizeof(ask), 0) != (ssize_t)sizeof(ask))
		test_fail("asking for the addresses: %m");
	test_ready();
	test_wait_stop();
	n = read_dump(s);
	if (n != ADDRS)
		test_fail("the dump listed %d addresses, not %d", n, ADDRS);
	test_pass();
}
