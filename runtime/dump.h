/* SPDX-License-Identifier: MIT */
/* The image being written by one checkpoint (runtime side). */
#ifndef SELFCKPT_RT_DUMP_H
#define SELFCKPT_RT_DUMP_H

#include "core.pb-c.h"
#include "fd.pb-c.h"
#include "inventory.pb-c.h"
#include "mm.pb-c.h"
#include "rt.h"
#include "selfckpt/image.h"

#define RT_MAX_FILES 16

struct rt_image {
	int dirfd;	/* SELFCKPT_DIR */
	int fd;		/* the temporary image directory */
	int pid;
	char tmpname[64];
	char name[64];
	Sc__FileSum *sums[RT_MAX_FILES];
	int fds[RT_MAX_FILES];	/* open until commit fsyncs them */
	size_t nsums;
	uint64_t bytes;
};

/* Creates "<prefix>-<pid>.img" in the temporary directory. */
int rt_image_create(struct rt_image *img, const char *prefix);
/* Records fd's size and checksum; commit fsyncs and closes it. */
int rt_image_finish(struct rt_image *img, int fd, const char *prefix, uint64_t size,
		    uint64_t xxh3);
/* Packs msg behind a header into "<prefix>-<pid>.img" (or "inventory.img"). */
int rt_image_write_msg(struct rt_image *img, const char *prefix, uint32_t type,
		       const ProtobufCMessage *msg);

int rt_dump_mm(struct rt_image *img, Sc__Mm *mm, Sc__Pagemap *pm);
int rt_dump_core(Sc__ProcCore *core);
int rt_dump_sigacts(Sc__SigActs *acts);
int rt_dump_fds(struct rt_image *img, Sc__Fds *fds);

#endif
