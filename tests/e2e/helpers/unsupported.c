// SPDX-License-Identifier: MIT
/*
 * Holds one descriptor that cannot be checkpointed, of the kind named by
 * its argument: "uring" (an io_uring), "perf" (a perf event counting this
 * thread's task clock) or "device" (/dev/loop-control, a device whose
 * state a reopen would lose). options.sh checks that the checkpoint fails
 * naming it and that this program runs on unharmed.
 */
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/perf_event.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtm.h"

static int open_kind(const char *kind)
{
	if (!strcmp(kind, "uring")) {
		struct io_uring_params p;

		memset(&p, 0, sizeof(p));
		return (int)syscall(__NR_io_uring_setup, 4, &p);
	}
	if (!strcmp(kind, "perf")) {
		struct perf_event_attr a;

		memset(&a, 0, sizeof(a));
		a.size = sizeof(a);
		a.type = PERF_TYPE_SOFTWARE;
		a.config = PERF_COUNT_SW_TASK_CLOCK;
		return (int)syscall(__NR_perf_event_open, &a, 0, -1, -1, 0);
	}
	if (!strcmp(kind, "device"))
		return open("/dev/loop-control", O_RDWR);
	return -1;
}

int main(int argc, char **argv)
{
	const char *kind = argc > 1 ? argv[1] : "uring";
	int fd;

	test_init(argc, argv);
	fd = open_kind(kind);
	if (fd < 0)
		test_fail("%s: %m", kind);
	test_ready();
	test_wait_stop();
	if (fcntl(fd, F_GETFD) < 0)
		test_fail("the %s descriptor is gone", kind);
	test_pass();
}
