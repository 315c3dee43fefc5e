// SPDX-License-Identifier: MIT
/* bench: a process holding N descriptors of mixed kinds (files, pipes,
 * eventfds, socketpairs, timerfds, an epoll watching some), idle. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10000, made = 0, ep;
	unsigned kind = 0; /* the next kind to make, in turn */
	struct rlimit rl = { (rlim_t)n + 64, (rlim_t)n + 64 };

	if (setrlimit(RLIMIT_NOFILE, &rl))
		return 1;
	ep = epoll_create1(0);
	while (made < n) {
		int fds[2], fd;

		switch (kind++ % 5) {
		case 0:
			fd = open("/etc/hostname", O_RDONLY);
			made += fd >= 0;
			break;
		case 1:
			if (pipe(fds) == 0)
				made += 2;
			break;
		case 2:
			fd = eventfd((unsigned)made, 0);
			if (fd >= 0) {
				struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
				epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				made++;
			}
			break;
		case 3:
			if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0)
				made += 2;
			break;
		default:
			made += timerfd_create(CLOCK_MONOTONIC, 0) >= 0;
		}
	}
	close(open("ready", O_WRONLY | O_CREAT, 0644));
	for (;;)
		pause();
}
