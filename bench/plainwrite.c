// SPDX-License-Identifier: MIT
/* bench: the physical limit. Fills N MiB of memory, leaves it idle for
 * IDLE seconds (as the checkpointed process's memory is), then writes it to
 * a new FILE with plain write() calls of 64 MiB, fsyncs, prints the seconds.
 * With "direct", the writes are O_DIRECT and of 4 MiB, as crdump's are:
 * the least a durable image of N MiB can take on this disk. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	size_t len = strtoul(argv[1], NULL, 10) << 20, off = 0;
	bool direct = argc > 4 && !strcmp(argv[4], "direct");
	size_t chunk = direct ? 4 << 20 : 64 << 20;
	uint64_t *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct timespec a, b;
	int fd;

	if (argc < 4 || mem == MAP_FAILED)
		return 2;
	for (size_t i = 0; i < len / 8; i++)
		mem[i] = i * 0x9e3779b97f4a7c15ULL + 1;
	sleep((unsigned)atoi(argv[3]));
	clock_gettime(CLOCK_MONOTONIC, &a);
	fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | (direct ? O_DIRECT : 0), 0600);
	while (fd >= 0 && off < len) {
		ssize_t r = write(fd, (char *)mem + off, len - off < chunk ? len - off : chunk);

		if (r <= 0)
			return 1;
		off += (size_t)r;
	}
	if (fd < 0 || fsync(fd) || close(fd))
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.6f\n", (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
	unlink(argv[2]);
	return 0;
}
