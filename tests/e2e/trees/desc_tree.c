// SPDX-License-Identifier: MIT
/*
 * A file opened before a fork is one open file description in parent and
 * child: one offset. Both write numbered records to it, without O_APPEND,
 * before and after the restore; at the end the file holds every record of
 * both, none overwritten, which it would not if each process had got its
 * own offset back.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtm.h"

#define REC 16

static void put(int fd, char who, unsigned long n)
{
	char rec[REC + 1];

	snprintf(rec, sizeof(rec), "%c %013lu\n", who, n);
	if (write(fd, rec, REC) != REC)
		_exit(3);
}

int main(int argc, char **argv)
{
	int fd, stop[2], done[2], st;
	unsigned long mine = 0, theirs = 0, seen[2] = { 0, 0 };
	char rec[REC];
	pid_t pid;

	test_init(argc, argv);
	fd = open("shared.out", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || pipe(stop) || pipe(done))
		test_fail("setup");
	pid = fork();
	if (pid == 0) {
		char c;

		close(stop[1]);
		close(done[0]);
		fcntl(stop[0], F_SETFL, O_NONBLOCK);
		while (read(stop[0], &c, 1) < 0) {
			put(fd, 'C', mine++);
			usleep(2000);
		}
		_exit(write(done[1], &mine, sizeof(mine)) == sizeof(mine) ? 0 : 1);
	}
	close(stop[0]);
	close(done[1]);
	test_ready();
	while (!test_stopping()) {
		put(fd, 'P', mine++);
		usleep(2000);
	}
	close(stop[1]);
	if (read(done[0], &theirs, sizeof(theirs)) != sizeof(theirs))
		test_fail("the child did not say how many it wrote");
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		test_fail("the child ended with 0x%x", st);
	close(fd);
	fd = open("shared.out", O_RDONLY);
	while (read(fd, rec, REC) == REC) {
		int k = rec[0] == 'C';

		if ((rec[0] != 'P' && !k) || strtoul(rec + 2, NULL, 10) != seen[k])
			test_fail("record %lu of %c is damaged or out of order", seen[k], rec[0]);
		seen[k]++;
	}
	if (seen[0] != mine || seen[1] != theirs)
		test_fail("%lu of the parent's %lu and %lu of the child's %lu records are there",
			  seen[0], mine, seen[1], theirs);
	test_pass();
}
