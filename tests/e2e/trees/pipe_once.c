// SPDX-License-Identifier: MIT
/*
 * A pipe full of bytes held by four processes (doc/trees.md, "Pipes
 * between processes"): the parent fills it with 48 KiB and forks three
 * children that keep both ends and do not read. A tree checkpoint stores
 * the bytes once (pipe_once_image.sh checks the image's size); after the
 * restore, on stop, each child in turn reads a third of them and checks
 * they are the pattern in order, and the parent checks the pipe is empty.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtm.h"

#define KIDS 3
#define PART (16 << 10)

static int child(int rd, int turn_rd, int turn_wr, int i)
{
	unsigned char buf[PART];
	char c;
	size_t got = 0;
	ssize_t n;

	/* Its turn comes through its own pipe, once the parent is stopped. */
	if (read(turn_rd, &c, 1) != 1)
		return 2;
	while (got < PART && (n = read(rd, buf + got, PART - got)) > 0)
		got += (size_t)n;
	if (got != PART)
		return 3;
	if (!test_filled(buf, PART, 100 + (unsigned)i))
		return 4;
	return write(turn_wr, "d", 1) == 1 ? 0 : 5;
}

int main(int argc, char **argv)
{
	static unsigned char data[KIDS * PART];
	int p[2], turn[KIDS][2], done[2], st, left = -1;
	pid_t kids[KIDS];
	char c;

	test_init(argc, argv);
	if (pipe(p) || pipe(done) || fcntl(p[1], F_SETPIPE_SZ, 65536) < 65536)
		test_fail("pipe");
	for (int i = 0; i < KIDS; i++)
		test_fill(data + i * PART, PART, 100 + (unsigned)i);
	if (write(p[1], data, sizeof(data)) != (ssize_t)sizeof(data))
		test_fail("filling the pipe");
	for (int i = 0; i < KIDS; i++) {
		if (pipe(turn[i]))
			test_fail("pipe");
		kids[i] = fork();
		if (kids[i] < 0)
			test_fail("fork");
		if (kids[i] == 0)
			_exit(child(p[0], turn[i][0], done[1], i));
		close(turn[i][0]);
	}
	test_ready();
	test_wait_stop();
	for (int i = 0; i < KIDS; i++) {
		if (write(turn[i][1], "t", 1) != 1 || read(done[0], &c, 1) != 1)
			test_fail("child %d did not read its part", kids[i]);
		if (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st) || WEXITSTATUS(st))
			test_fail("child %d ended with status 0x%x", kids[i], st);
	}
	if (ioctl(p[0], FIONREAD, &left) || left)
		test_fail("%d bytes left in the pipe", left);
	test_pass();
}
