// SPDX-License-Identifier: MIT
/*
 * Descriptors on the program's own /proc files, kept open as monitoring
 * code keeps them (psutil, a job's own memory watcher): /proc/self/status
 * and /proc/self/maps, which the image records as /proc/PID/status and
 * /proc/PID/maps. After the restore each must be the restored process's
 * own file, whatever pid the restore gave it: status read again from the
 * start says the pid getpid() says, and maps lists the program's code.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zdtm.h"

#define BUF_SIZE (256 << 10)

/* The whole of the file behind fd, read again from its start. */
static const char *read_again(int fd, const char *what)
{
	static char buf[BUF_SIZE];
	size_t n = 0;
	ssize_t r;

	if (lseek(fd, 0, SEEK_SET))
		test_fail("%s: lseek: %m", what);
	while (n < sizeof(buf) - 1 && (r = read(fd, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	if (r < 0)
		test_fail("%s: read: %m", what);
	buf[n] = '\0';
	return buf;
}

/* status names this process: its Pid line is getpid()'s. */
static void check_status(int fd)
{
	const char *s = strstr(read_again(fd, "status"), "\nPid:\t");

	if (!s || atoi(s + strlen("\nPid:\t")) != getpid())
		test_fail("status is not this process's (pid %d): %.40s", getpid(), s ? s : "no Pid");
}

/* maps lists the mapping that holds this function's code. */
static void check_maps(int fd)
{
	const char *s = read_again(fd, "maps");
	uintptr_t here = (uintptr_t)check_maps;
	unsigned long start, end;
	int used;

	while (sscanf(s, "%lx-%lx %*s%*[^\n]%n", &start, &end, &used) == 2) {
		if (start <= here && here < end)
			return;
		s += used;
		if (*s == '\n')
			s++;
	}
	test_fail("maps has no mapping of this program's code at %#lx", (unsigned long)here);
}

int main(int argc, char **argv)
{
	int status, maps;

	test_init(argc, argv);
	status = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	maps = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (status < 0 || maps < 0)
		test_fail("open: %m");
	check_status(status);
	check_maps(maps);
	test_ready();
	test_wait_stop();
	check_status(status);
	check_maps(maps);
	test_pass();
}
