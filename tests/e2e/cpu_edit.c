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

#include "cpu.h"
#include "imgfile.h"

int main(int argc, char **argv)
{
	static struct sc_cpu cpu;
	static Sc__Cpu msg;
	Sc__Inventory *inv;
	uint64_t size, xxh3;
	uint32_t type;
	const char *edit;
	int dirfd;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: cpu_edit IMAGE_DIR feature NAME|model N|vendor S|drop\n");
		return 2;
	}
	edit = argv[2];
	dirfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		imgfile_die(argv[1], strerror(errno));
	inv = (Sc__Inventory *)imgfile_read(dirfd, SC_INVENTORY_FILE, &type);
	if (!inv->cpu)
		imgfile_die(argv[1], "the image does not record its CPU");
	sc_cpu_from_msg(inv->cpu, &cpu);
	if (!strcmp(edit, "feature") && argc == 4) {
		enum sc_cpu_word w;
		unsigned bit;

		if (sc_cpu_feature_bit(argv[3], &w, &bit))
			imgfile_die(argv[3], "no such feature");
		cpu.word[w] |= 1ULL << bit;
	} else if (!strcmp(edit, "model") && argc == 4) {
		cpu.model = (uint32_t)strtoul(argv[3], NULL, 0);
	} else if (!strcmp(edit, "vendor") && argc == 4) {
		/* Past the record's own bounds, on purpose. */
		inv->cpu->vendor = argv[3];
	} else if (!strcmp(edit, "drop") && argc == 3) {
		inv->cpu = NULL;
	} else {
		imgfile_die(edit, "unknown edit");
	}
	if (inv->cpu && strcmp(edit, "vendor")) {
		sc_cpu_to_msg(&cpu, &msg);
		inv->cpu = &msg;
	}
	imgfile_write(dirfd, SC_INVENTORY_FILE, type, &inv->base, &size, &xxh3);
	return 0;
}
