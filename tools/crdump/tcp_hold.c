// SPDX-License-Identifier: MIT
/*
 * The established connections of a tree crdump kills stay open, deaf, in
 * a holder process until crload takes each one over (selfckpt/tcp_hold.h):
 * a peer sending meanwhile sees its segments lost and sends them again,
 * as CRIU's network lock has it, without firewall rules.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crdump.h"
#include "selfckpt/tcp_hold.h"

#define MAX_HELD 4096
#define HOLD_LIMIT_S (15 * 60) /* about when the peer's TCP gives up */

/* Everything crdump had open but the held sockets and keep: a listener
 * or a file held here would stand in crload's way. */
static void close_others(const int *fds, int n, int keep)
{
	DIR *d = opendir("/proc/self/fd");
	int mine = d ? dirfd(d) : -1, *shut = NULL, nshut = 0;
	struct dirent *e;

	while (d && (e = readdir(d))) {
		int fd = atoi(e->d_name), i = 0;
		int *more;

		if (e->d_name[0] == '.' || fd == mine || fd == keep)
			continue;
		while (i < n && fds[i] != fd)
			i++;
		if (i < n || !(more = realloc(shut, sizeof(*shut) * (size_t)(nshut + 1))))
			continue;
		shut = more;
		shut[nshut++] = fd;
	}
	if (d)
		closedir(d);
	for (int i = 0; i < nshut; i++)
		close(shut[i]);
	free(shut);
}

/* The holder: serves each connection's name once, then exits. */
static void __attribute__((noreturn)) hold(const int *fds, int n, int ready)
{
	struct pollfd *p = calloc((size_t)n, sizeof(*p));
	time_t end = time(NULL) + HOLD_LIMIT_S;
	int left = 0;

	setsid();
	close_others(fds, n, ready);
	for (int i = 0; p && i < n; i++) {
		struct sockaddr_storage local, peer;
		socklen_t ll = sizeof(local), pl = sizeof(peer), len;
		struct sockaddr_un sa;
		int l;

		p[i].fd = -1;
		if (getsockname(fds[i], (struct sockaddr *)&local, &ll) ||
		    getpeername(fds[i], (struct sockaddr *)&peer, &pl))
			continue;
		len = sc_tcp_hold_name(&sa, &local, ll, &peer, pl);
		l = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (l < 0 || bind(l, (struct sockaddr *)&sa, len) || listen(l, 1)) {
			if (l >= 0)
				close(l);
			continue;
		}
		p[i].fd = l;
		p[i].events = POLLIN;
		left++;
	}
	if (write(ready, "R", 1) != 1)
		_exit(1);
	close(ready);
	while (left > 0 && time(NULL) < end) {
		if (poll(p, (nfds_t)n, 1000) <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			int c;

			if (p[i].fd < 0 || !(p[i].revents & POLLIN))
				continue;
			c = accept4(p[i].fd, NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				continue;
			close(fds[i]); /* in repair mode: nothing goes out */
			close(p[i].fd);
			p[i].fd = -1;
			left--;
			if (write(c, "k", 1) != 1)
				break;
			close(c);
		}
	}
	_exit(0);
}

int cd_tcp_hold(char *err)
{
	static int fds[MAX_HELD];
	int n = (int)rt_tcp_held(fds, MAX_HELD), pipefd[2];
	pid_t pid;
	char c;

	if (!n)
		return 0;
	if (pipe2(pipefd, O_CLOEXEC)) {
		snprintf(err, CD_ERR_LEN, "holding its connections: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		sigset_t none;

		/* The holder takes signals as any process does; crdump had
		 * blocked its stop signals (crdump.c). */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* A grandchild: nobody need reap it. */
		if (fork() == 0)
			hold(fds, n, pipefd[1]);
		_exit(0);
	}
	close(pipefd[1]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	if (pid < 0 || read(pipefd[0], &c, 1) != 1) {
		close(pipefd[0]);
		snprintf(err, CD_ERR_LEN, "holding its connections: %s",
			 pid < 0 ? strerror(errno) : "the holder died");
		return -1;
	}
	close(pipefd[0]);
	fprintf(stderr,
		"crdump: %d established connection%s held open until crload restores "
		"%s (%d minutes at most)\n",
		n, n == 1 ? "" : "s", n == 1 ? "it" : "them", HOLD_LIMIT_S / 60);
	return 0;
}
