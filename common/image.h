/* SPDX-License-Identifier: MIT */
/*
 * Reading an image directory (libc world): every file is checked against
 * the inventory's size and XXH3 checksum, every message is decoded and
 * every length, offset, count and address validated before anything
 * uses it. A bad image yields one line naming the file and the problem.
 */
#ifndef SELFCKPT_IMAGE_READ_H
#define SELFCKPT_IMAGE_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.pb-c.h"
#include "err.h"
#include "fd.pb-c.h"
#include "inventory.pb-c.h"
#include "mm.pb-c.h"
#include "selfckpt/image.h"
#include "selfckpt/kernel.h"
#include "vmakind.h"

#define SC_TASK_SIZE 0x7ffffffff000ULL
/* Bytes of one TCP queue in an image: more than any socket buffer holds. */
#define SC_TCP_QUEUE_MAX (256U << 20)

struct sc_proc_img {
	int pid;
	const Sc__ProcEntry *entry; /* its line in the inventory */
	Sc__ProcCore *core;
	Sc__SigActs *acts;
	Sc__Mm *mm;
	Sc__Pagemap *pm;
	Sc__Fds *fds;
	char pages_name[64];
	uint64_t pages_size;
};

struct sc_image {
	char *dir;
	int dirfd;
	Sc__Inventory *inv;
	struct sc_proc_img *procs; /* live processes, root first; zombies have no files */
	size_t nprocs;
};

/* 0, or -1 with err set to "FILE: problem". */
int sc_image_load(const char *dir, struct sc_image *img, char *err);
void sc_image_free(struct sc_image *img);

struct unix_graph;
/* The unix sockets of img that keep wants (NULL: all; never dups), each node owned
 * by its holder's number in img->procs, indexed (common/unix_graph.h);
 * g->v is the caller's to free. 0, or -1 when out of memory. */
int sc_image_unix_graph(const struct sc_image *img, bool (*keep)(const Sc__Fd *f),
			struct unix_graph *g);

struct tree_descs;
/* The pipes and ptys of img's descriptors and records, each node owned by
 * its holder's number in img->procs, indexed (common/tree_descs.h);
 * t->v is the caller's to free. 0, or -1 when out of memory. */
int sc_image_tree_descs(const struct sc_image *img, struct tree_descs *t);

/* The record of descriptor fd of process pid of img, or NULL. */
const Sc__Fd *sc_image_fd(const struct sc_image *img, int pid, int fd);

/* Size and XXH3 of one file of the image against the inventory's sum;
 * 0 or -1 with err set to "FILE: problem". */
int sc_image_check_file(const struct sc_image *img, const Sc__FileSum *s, char *err);

/* The message type stored in image files of the given type, or NULL. */
const ProtobufCMessageDescriptor *sc_img_descriptor(uint32_t type);

/* Decodes one message file (header included) of the given type. */
ProtobufCMessage *sc_img_unpack(const void *buf, size_t len, uint32_t type, char *err);

/* Structural checks of decoded messages; 0 or -1 with err set. */
int sc_check_inventory(const Sc__Inventory *inv, char *err);
/* Whether process i of the inventory is started by crload like the root:
 * the root, or another command of its job (a shell pipeline): a sibling
 * of the root, in the group the root leads, whose parent is not in the
 * image (doc/shell-job.md). */
bool sc_top_level(const Sc__Inventory *inv, size_t i);
int sc_check_core(const Sc__ProcCore *c, int pid, char *err);
/* Whether this kernel lets a process choose its next POSIX timer's id
 * (PR_TIMER_CREATE_RESTORE_IDS, Linux 6.15): restored timers need it. */
bool sc_kernel_restores_timer_ids(void);
int sc_check_sigacts(const Sc__SigActs *a, char *err);
int sc_check_mm(const Sc__Mm *mm, char *err);
/* The SysV segment VMA v attaches ("/SYSV" path, ino its id), or NULL. */
const Sc__SysvShm *sc_sysv_of(const Sc__Mm *mm, const Sc__Vma *v);
int sc_check_pagemap(const Sc__Pagemap *pm, const Sc__Mm *mm, uint64_t pages_size, char *err);
int sc_check_fds(const Sc__Fds *fds, char *err);

#endif
