// SPDX-License-Identifier: MIT
/*
 * A named pipe comes back with the bytes that were in it and its ends'
 * flags. (Not run leave-running: the original and the copy would open the
 * very same named pipe and read each other's bytes, as any two processes
 * would.)
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zdtm.h"

int main(int argc, char **argv)
{
	char buf[1024], want[777];
	int r, w;
	ssize_t n;

	test_init(argc, argv);
	for (size_t i = 0; i < sizeof(want); i++)
		want[i] = (char)(i * 7 + 1);
	unlink("named.fifo");
	if (mkfifo("named.fifo", 0600))
		test_fail("mkfifo: %m");
	r = open("named.fifo", O_RDONLY | O_NONBLOCK);
	w = open("named.fifo", O_WRONLY);
	if (r < 0 || w < 0 || write(w, want, sizeof(want)) != sizeof(want))
		test_fail("fifo: %m");

	test_ready();
	test_wait_stop();

	n = read(r, buf, sizeof(buf));
	if (n != sizeof(want) || memcmp(buf, want, sizeof(want)))
		test_fail("named pipe: %zd bytes back, wanted %zu", n, sizeof(want));
	if (write(w, "xyz", 3) != 3 || read(r, buf, sizeof(buf)) != 3 || memcmp(buf, "xyz", 3))
		test_fail("named pipe: no round trip after restore");
	if (!(fcntl(r, F_GETFL) & O_NONBLOCK) || (fcntl(w, F_GETFL) & O_NONBLOCK))
		test_fail("named pipe: O_NONBLOCK changed");
	test_pass();
}
