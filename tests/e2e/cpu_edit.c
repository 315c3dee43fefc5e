// SPDX-License-Identifier: MIT
/*
 * cpu_edit IMAGE_DIR EDIT [VALUE]: rewrites the CPU record of an image's
 * inventory.img, for tests/e2e/cpu.sh. The file's header (length and
 * XXH3) is made right again, so crload sees a sound image from another
 * CPU rather than a damaged one; the inventory's checksums of the other
 * files stay valid, as those files do not change.
 *
 *   feature NAME  the recorded CPU had that feature too (a name crload uses)
 *   model N       it was model N
 *   vendor S      its vendor string was S (any length: the validator's test)
 *   drop          no CPU record, as in images written before the CPU check
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "cpu.h"
#include "image.h"

static void __attribute__((noreturn)) die(const char *what, const char *why)
{
	fprintf(stderr, "cpu_edit: %s: %s\n", what, why);
	exit(1);
}

static Sc__Inventory *load(int dirfd)
{
	char err[SC_ERR_LEN];
	struct stat st;
	Sc__Inventory *inv;
	void *buf;
	int fd = openat(dirfd, SC_INVENTORY_FILE, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st))
		die(SC_INVENTORY_FILE, strerror(errno));
	buf = malloc((size_t)st.st_size);
	if (!buf || read(fd, buf, (size_t)st.st_size) != st.st_size)
		die(SC_INVENTORY_FILE, "cannot read");
	close(fd);
	inv = (Sc__Inventory *)sc_img_unpack(buf, (size_t)st.st_size, SC_IMG_INVENTORY, err);
	if (!inv)
		die(SC_INVENTORY_FILE, err);
	free(buf);
	return inv;
}

/* The message behind a correct header, in place of the old file. */
static void store(int dirfd, const Sc__Inventory *inv)
{
	struct sc_img_header h = { .magic = SC_IMG_MAGIC,
				   .type = SC_IMG_INVENTORY,
				   .version = SC_IMAGE_VERSION };
	size_t len = sc__inventory__get_packed_size(inv);
	uint8_t *buf = malloc(sizeof(h) + len);
	const char *tmp = SC_INVENTORY_FILE ".edit";
	int fd;

	if (!buf)
		die("packing", "out of memory");
	sc__inventory__pack(inv, buf + sizeof(h));
	h.len = (uint32_t)len;
	h.xxh3 = XXH3_64bits(buf + sizeof(h), len);
	memcpy(buf, &h, sizeof(h));
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, buf, sizeof(h) + len) != (ssize_t)(sizeof(h) + len) || close(fd) ||
	    renameat(dirfd, tmp, dirfd, SC_INVENTORY_FILE))
		die(tmp, strerror(errno));
	free(buf);
}

int main(int argc, char **argv)
{
	static struct sc_cpu cpu;
	static Sc__Cpu msg;
	Sc__Inventory *inv;
	const char *edit;
	int dirfd;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: cpu_edit IMAGE_DIR feature NAME|model N|vendor S|drop\n");
		return 2;
	}
	edit = argv[2];
	dirfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		die(argv[1], strerror(errno));
	inv = load(dirfd);
	if (!inv->cpu)
		die(argv[1], "the image does not record its CPU");
	sc_cpu_from_msg(inv->cpu, &cpu);
	if (!strcmp(edit, "feature") && argc == 4) {
		enum sc_cpu_word w;
		unsigned bit;

		if (sc_cpu_feature_bit(argv[3], &w, &bit))
			die(argv[3], "no such feature");
		cpu.word[w] |= 1ULL << bit;
	} else if (!strcmp(edit, "model") && argc == 4) {
		cpu.model = (uint32_t)strtoul(argv[3], NULL, 0);
	} else if (!strcmp(edit, "vendor") && argc == 4) {
		/* Past the record's own bounds, on purpose. */
		inv->cpu->vendor = argv[3];
	} else if (!strcmp(edit, "drop") && argc == 3) {
		inv->cpu = NULL;
	} else {
		die(edit, "unknown edit");
	}
	if (inv->cpu && strcmp(edit, "vendor")) {
		sc_cpu_to_msg(&cpu, &msg);
		inv->cpu = &msg;
	}
	store(dirfd, inv);
	return 0;
}
