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

/* ---- tree.c: one checkpoint of a process tree (doc/trees.md) ---- */
enum { RT_TREE_RESUME, RT_TREE_EXIT, RT_TREE_STOP, RT_TREE_FAILED };
struct rt_tree_files {
	Sc__FileSum **sums;
	size_t n;
	uint64_t bytes;
};
/* The trigger came from the root of a tree checkpoint, not from a user. */
bool rt_tree_request(const siginfo_t *si);
/* Member: reports frozen to the root and waits to be told to write. */
int rt_tree_join(const siginfo_t *si);
bool rt_tree_is_member(void);
/* Member: the root's temporary image directory. */
const char *rt_tree_dir(void);
/* Member: sends its files' sums, returns what the root decided (RT_TREE_*). */
int rt_tree_report(const struct rt_image *im);
/* Root: freezes every descendant; 0 also when there is none. */
int rt_tree_gather(void);
int rt_tree_start_writing(const char *tmpdir);
int rt_tree_collect(struct rt_tree_files *out);
/* Root: the inventory's process list, itself first; the count or -errno. */
int rt_tree_procs(Sc__ProcEntry ***out);
void rt_tree_release(int action);
/* Appends what the checkpoint covered to a log line. */
void rt_tree_describe(char *p);
bool rt_tree_fd(int fd);
void rt_tree_end(void);
void rt_tree_forget(void);

int rt_dump_mm(struct rt_image *img, Sc__Mm *mm, Sc__Pagemap *pm);
/* dump_sysv.c: the SysV segments mm's VMAs attach, into mm->sysv_shm. */
int rt_dump_sysv(Sc__Mm *mm);
int rt_dump_core(Sc__ProcCore *core);
int rt_dump_sigacts(Sc__SigActs *acts);
int rt_dump_fds(struct rt_image *img, Sc__Fds *fds);

#endif
