// SPDX-License-Identifier: MIT
/* Holds an io_uring, which cannot be checkpointed: options.sh checks that
 * the checkpoint fails naming it and that this program runs on unharmed. */
#include <fcntl.h>
#include <linux/io_uring.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtm.h"

int main(int argc, char **argv)
{
	struct io_uring_params p;
	int fd;

	test_init(argc, argv);
	memset(&p, 0, sizeof(p));
	fd = (int)syscall(__NR_io_uring_setup, 4, &p);
	if (fd < 0)
		test_fail("io_uring_setup: %m");
	test_ready();
	test_wait_stop();
	if (fcntl(fd, F_GETFD) < 0)
		test_fail("the io_uring descriptor is gone");
	test_pass();
}
