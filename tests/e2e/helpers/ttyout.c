// SPDX-License-Identifier: MIT
/*
 * For tty.sh: a program on a terminal. Without arguments it holds its
 * terminal as stdin/stdout/stderr, as fd /dev/tty, as the /dev/pts/N path
 * it runs on, and as a dup, and after restore writes through each of them
 * (tty.sh looks for the lines on the terminal crload ran in). With a path
 * argument it holds that terminal instead (a checkpoint must refuse it).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "zdtm.h"

static void say(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		test_fail("write to fd %d: %m", fd);
}

int main(int argc, char **argv)
{
	struct termios t;
	int tty, path, dup_fd;

	test_init(argc, argv);
	if (argc > 1) {
		if (open(argv[1], O_RDWR | O_NOCTTY | O_NONBLOCK) < 0)
			test_fail("%s: %m", argv[1]);
		test_ready();
		test_wait_stop();
		test_pass();
	}
	tty = open("/dev/tty", O_RDWR);
	path = ttyname(1) ? open(ttyname(1), O_WRONLY | O_NOCTTY) : -1;
	dup_fd = dup(tty);
	if (tty < 0 || path < 0 || dup_fd < 0)
		test_fail("terminal: %m");
	printf("before: on %s\n", ttyname(1));
	test_ready();
	test_wait_stop();

	if (!isatty(0) || !isatty(1) || !isatty(2) || tcgetattr(tty, &t))
		test_fail("not on a terminal after restore");
	printf("after: stdout\n");
	say(tty, "after: /dev/tty\n");
	say(path, "after: the pts path\n");
	say(dup_fd, "after: a dup\n");
	test_pass();
}
