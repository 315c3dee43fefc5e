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
/* What a reader says of a file whose bytes are not those it was summed
 * with: damage, which crload takes an older generation for. */
#define SC_CORRUPTED "checksum mismatch: the file is corrupted"

/* Bytes of one TCP queue in an image: more than any socket buffer holds. */
#define SC_TCP_QUEUE_MAX (256U << 20)

/*
 * A run of pages to restore and where the chain of images stores it
 * (doc/incremental.md): the generation holding it, 0 for the image itself,
 * 1 for its parent and so on, and its offset in that generation's pages
 * file of the same process.
 */
struct sc_run {
	uint64_t vaddr, nr_pages;
	uint32_t gen;
	uint64_t off;
};

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
	/* The pages to restore, in address order, resolved through the
	 * chain: pages no image of it stores have no run (zero, or the
	 * mapped file's). */
	struct sc_run *runs;
	size_t nruns;
};

struct sc_image {
	char *dir;
	int dirfd;
	Sc__Inventory *inv;
	struct sc_proc_img *procs; /* live processes, root first; zombies have no files */
	size_t nprocs;
	uint64_t inv_xxh3; /* of its inventory.img, which a child names */
	struct sc_image *parent; /* an incremental image's, loaded with it */
	/* Its pages files that have sums in parts were checked for their
	 * size only: their readers check the chunks (sc_pages_check_rest). */
	bool pages_later;
};

/* Images a chain may have, the newest included. */
#define SC_CHAIN_MAX 64

/* Loads the image in dir with the chain of its parents, every file and
 * record checked, every link of the chain too (chain.c); 0, or -1 with
 * err set to "FILE: problem", or "parent image DIR: ..." for a parent's.
 * The image's processes' runs are resolved through the chain. */
int sc_image_load(const char *dir, struct sc_image *img, char *err);
/* sc_image_load for a restore, which reads every page once
 * (doc/checksums.md): a pages file with sums in parts is checked for its
 * size only, and sc_pages_* check its chunks as they read them;
 * sc_pages_check_rest then checks those they did not read whole. */
int sc_image_load_to_fill(const char *dir, struct sc_image *img, char *err);
/* The same for the image alone, its parent not loaded and its runs not
 * resolved: chain.c's part. */
int sc_image_load_one(const char *dir, struct sc_image *img, bool pages_later, char *err);
void sc_image_free(struct sc_image *img);

/* Generation gen of img's chain (0: img itself), or NULL. */
const struct sc_image *sc_image_gen(const struct sc_image *img, uint32_t gen);
/* Images in img's chain, img included. */
uint32_t sc_image_ngens(const struct sc_image *img);
/* The live process pid of img, or NULL. */
const struct sc_proc_img *sc_image_proc(const struct sc_image *img, int pid);
/* p's runs (p->runs, p->nruns) resolved through img's chain, the parent's
 * processes resolved already; 0, or -1 with err set. */
int sc_proc_resolve(const struct sc_image *img, struct sc_proc_img *p, char *err);
/* The index of the first run of p that ends after addr, or p->nruns. */
size_t sc_run_after(const struct sc_proc_img *p, uint64_t addr);
/* The run of p holding addr, or NULL where no image of the chain stores it. */
const struct sc_run *sc_run_at(const struct sc_proc_img *p, uint64_t addr);

/*
 * The pages files of one process through the chain, each opened once:
 * fds[gen], or -1 for a generation that holds none of its runs. A
 * compressed generation (doc/compression.md) has its frames indexed in
 * z[gen]: frame i holds the data from data[i] to data[i + 1] and lies in
 * the file from file[i] to file[i + 1]; a raw one has z[gen].n == 0.
 */
struct sc_zindex {
	size_t n;
	uint64_t *data, *file;
};
struct sc_pages_cur;
/*
 * The sums in parts of a pages file loaded to fill (doc/checksums.md):
 * sum[i] is chunk i's, the bytes bytes from i * bytes of the file's
 * size bytes, or frame i's (bytes 0); done[i] is set once chunk i was
 * read whole and matched. n == 0 where the loader checked the file.
 */
struct sc_chunks {
	const uint64_t *sum;
	size_t n;
	uint64_t bytes, size;
	uint8_t *done;
};
struct sc_pages {
	int *fds;
	uint32_t n;
	struct sc_zindex *z;
	const struct sc_image *img; /* for the files' names */
	const char *name;
	/* The largest compressed frame and the most data in one frame. */
	size_t in_max, out_max;
	/* sc_pages_read's cursor and its lock, where a generation is
	 * compressed; NULL else. */
	struct sc_pages_own *own;
	/* Each generation's chunks to check, and room to read one. */
	struct sc_chunks *ck;
	char *ck_buf;
};
/* 0, or -1 with err set to "DIR/pages-PID.img: why". */
int sc_pages_open(struct sc_pages *pg, const struct sc_image *img, const struct sc_proc_img *p,
		  char *err);
void sc_pages_close(struct sc_pages *pg);
/* Whether a generation of pg is compressed. */
bool sc_pages_compressed(const struct sc_pages *pg);
/*
 * A reader of pg's compressed pages: a zstd context and room for one
 * frame, and the last frame it decompressed, which it keeps so that
 * reading on through a frame decompresses it once. It is one thread's at
 * a time, and allocates nothing more once made (crload makes its own
 * before it premaps). NULL with err set when out of memory.
 */
struct sc_pages_cur *sc_pages_cur_new(const struct sc_pages *pg, char *err);
void sc_pages_cur_free(struct sc_pages_cur *cur);
/* Reads [addr, addr+len), which lies in run r, through cur (NULL: pg's
 * own, taken under its lock); a frame the range covers whole is
 * decompressed straight into buf. 0, or -1 with err set to
 * "DIR/pages-PID.img: why" (the frame and zstd's reason for a bad one). */
int sc_pages_get(const struct sc_pages *pg, struct sc_pages_cur *cur, const struct sc_run *r,
		 uint64_t addr, void *buf, size_t len, char *err);
/* sc_pages_get through pg's own cursor, safe from several threads at
 * once; 0, or -1 with errno set (EBADMSG for a bad frame). */
int sc_pages_read(const struct sc_pages *pg, const struct sc_run *r, uint64_t addr, void *buf,
		  size_t len);
/* Where the chunk of generation gen's raw pages file that holds byte off
 * ends: a reader that reads up to there, from the chunk's start, has it
 * checked by sc_pages_check_read. UINT64_MAX where gen has no chunks to
 * check. */
uint64_t sc_pages_chunk_end(const struct sc_pages *pg, uint32_t gen, uint64_t off);
struct iovec;
/* Bytes of generation gen's raw pages file from off, just read into
 * iov[0..n): if they are one whole chunk to check, it is checked now.
 * 0, or -1 with err set to "DIR/pages-PID.img: chunk I (bytes A to B):
 * checksum mismatch: the file is corrupted". */
int sc_pages_check_read(const struct sc_pages *pg, uint32_t gen, uint64_t off,
			const struct iovec *iov, int n, char *err);
/* Chunk (or frame) i of generation gen's pages file read whole into buf
 * and checked against its sum. 0, or -1 with err set as by
 * sc_pages_check_read, or to "DIR/pages-PID.img: why" where it cannot be
 * read. */
int sc_pages_read_chunk(const struct sc_pages *pg, uint32_t gen, size_t i, char *buf, char *err);
/* Every chunk to check that was not read whole, read and checked: after
 * it, all of every pages file pg reads from matches its sums. 0, or -1
 * with err set as by sc_pages_check_read. */
int sc_pages_check_rest(const struct sc_pages *pg, char *err);
/* The same for the chunks holding run r alone, for a restore that reads
 * some runs later (crload --lazy, doc/lazy-restore.md). */
int sc_pages_check_span(const struct sc_pages *pg, const struct sc_run *r, char *err);
/* Every chunk of pages file fd, of size bytes, against pm's sums in parts
 * (checked): 0, or -1 with err set to "chunk I (bytes A to B): why" or
 * "frame I (at byte B): why" for the first bad one. */
int sc_pages_check_chunks(int fd, const Sc__Pagemap *pm, uint64_t size, char *err);
/* Decompresses every frame of the compressed pages file fd, as pm
 * describes it (checked); 0, or -1 with err set to "frame I (at byte
 * OFF): why" for the first bad one. */
int sc_pages_check_frames(int fd, const Sc__Pagemap *pm, char *err);

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
/* incremental: the image has a parent, so runs may be in_parent. */
int sc_check_pagemap(const Sc__Pagemap *pm, const Sc__Mm *mm, uint64_t pages_size, bool incremental,
		     char *err);
int sc_check_fds(const Sc__Fds *fds, char *err);

#endif
