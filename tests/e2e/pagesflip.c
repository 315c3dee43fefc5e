// SPDX-License-Identifier: MIT
/*
 * pagesflip DIR PID OFFSET: flips a byte of DIR/pages-PID.img at OFFSET
 * and writes the inventory's checksum of the whole file again, so that
 * only the file's sums in parts tell (doc/checksums.md): crload, which
 * checks them as it fills memory, must stop before the restored program
 * runs, and crinfo verify must name the chunk.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "imgfile.h"

int main(int argc, char **argv)
{
	char name[80], buf[1 << 16];
	Sc__Inventory *inv;
	uint64_t size, xxh3, off;
	XXH3_state_t st;
	uint32_t type;
	unsigned char c;
	int dirfd, fd;
	ssize_t n;

	if (argc != 4) {
		fprintf(stderr, "usage: pagesflip IMAGE_DIR PID OFFSET\n");
		return 2;
	}
	snprintf(name, sizeof(name), "%s-%s.img", SC_PAGES_PREFIX, argv[2]);
	off = strtoull(argv[3], NULL, 10);
	dirfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fd = dirfd < 0 ? -1 : openat(dirfd, name, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		imgfile_die(name, strerror(errno));
	if (pread(fd, &c, 1, (off_t)off) != 1)
		imgfile_die(name, "no such byte");
	c ^= 0x40;
	if (pwrite(fd, &c, 1, (off_t)off) != 1)
		imgfile_die(name, strerror(errno));
	XXH3_64bits_reset(&st);
	for (size = 0; (n = pread(fd, buf, sizeof(buf), (off_t)size)) > 0; size += (uint64_t)n)
		XXH3_64bits_update(&st, buf, (size_t)n);
	if (n < 0 || fsync(fd) || close(fd))
		imgfile_die(name, strerror(errno));
	inv = (Sc__Inventory *)imgfile_read(dirfd, SC_INVENTORY_FILE, &type);
	for (size_t i = 0; i < inv->n_files; i++)
		if (!strcmp(inv->files[i]->name, name))
			inv->files[i]->xxh3 = XXH3_64bits_digest(&st);
	imgfile_write(dirfd, SC_INVENTORY_FILE, type, &inv->base, &size, &xxh3);
	return 0;
}
