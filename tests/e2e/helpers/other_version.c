// SPDX-License-Identifier: MIT
/*
 * other_version LIB: a process that passes for one running another
 * version of the runtime, for tree.sh's other_version case. It maps LIB
 * (a file whose name holds "/libselfckpt"), as the tree's scan looks for,
 * and takes SIGUSR2 with a handler; asked to join a tree's checkpoint, it
 * connects to the root's socket as the runtime does (runtime/tree.c:
 * the request's value holds the root's pid and the checkpoint's number)
 * and sends a message of another length than this version's. It writes
 * ./other.pid once ready, ./other.joined once it sent the message, and
 * runs until killed.
 */
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* As runtime/tree.c makes a join request's value. */
#define COOKIE_MAGIC 0x5c7eULL
#define COOKIE_MAGIC_SHIFT 48
#define COOKIE_GEN_SHIFT 32
#define COOKIE_GEN_MASK 0xffffULL
/* Shorter than any version's message. */
#define OLD_MESSAGE_BYTES 24

static void touch(const char *name, long value)
{
	FILE *f = fopen(name, "w");

	if (f) {
		fprintf(f, "%ld\n", value);
		fclose(f);
	}
}

static void never_runs(int sig)
{
	(void)sig;
}

static void join(uint64_t cookie)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	unsigned char msg[OLD_MESSAGE_BYTES] = { 1 };
	int n, fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	n = snprintf(a.sun_path + 1, sizeof(a.sun_path) - 1, "selfckpt-tree-%u-%u",
		     (unsigned)(uint32_t)cookie,
		     (unsigned)(cookie >> COOKIE_GEN_SHIFT & COOKIE_GEN_MASK));
	if (fd < 0 ||
	    connect(fd, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)) ||
	    send(fd, msg, sizeof(msg), MSG_NOSIGNAL) != sizeof(msg)) {
		perror("other_version: joining");
		return;
	}
	touch("other.joined", 1);
	/* Held open: the root's answer, if any, is never read. */
}

int main(int argc, char **argv)
{
	sigset_t usr2;
	siginfo_t si;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: other_version LIB\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED) {
		perror(argv[1]);
		return 1;
	}
	/* Caught, as /proc/PID/status tells (SigCgt is how the root sees a
	 * runtime that is ready), but blocked and taken with sigwaitinfo. */
	signal(SIGUSR2, never_runs);
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	sigprocmask(SIG_BLOCK, &usr2, NULL);
	touch("other.pid", (long)getpid());
	for (;;) {
		if (sigwaitinfo(&usr2, &si) != SIGUSR2 || si.si_code != SI_QUEUE)
			continue;
		uint64_t cookie = (uint64_t)(uintptr_t)si.si_value.sival_ptr;

		if (cookie >> COOKIE_MAGIC_SHIFT == COOKIE_MAGIC)
			join(cookie);
	}
}
