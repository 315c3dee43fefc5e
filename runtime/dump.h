/* SPDX-License-Identifier: MIT */
/* The image being written by one checkpoint (runtime side). */
#ifndef SELFCKPT_RT_DUMP_H
#define SELFCKPT_RT_DUMP_H

#include "core.pb-c.h"
#include "fd.pb-c.h"
#include "inventory.pb-c.h"
#include "mm.pb-c.h"
#include "dump_source.h"
#include "ranges.h"
#include "rt.h"
#include "selfckpt/image.h"
#include "selfckpt/tiers.h"

struct rt_compress;

#define RT_MAX_FILES 16
#define RT_IMAGE_DIR_MODE 0700 /* images are their owner's only (doc/credentials.md) */
#define RT_IMAGE_FILE_MODE 0600
#define RT_IMG_SUFFIX ".img" /* every file of an image ends so */

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
	/* Pages files as zstd frames (compress.h); NULL: raw. */
	const struct rt_compress *compress;
	/* Asked between two batches of pages: true stops the writing with
	 * -ECANCELED (a tree's member copy, once the checkpoint failed
	 * elsewhere). NULL: never. */
	bool (*cancelled)(void);
};

/* Creates "<prefix>-<pid>.img" in the temporary directory. */
int rt_image_create(struct rt_image *img, const char *prefix);
/* Records fd's size and checksum; commit fsyncs and closes it. */
int rt_image_finish(struct rt_image *img, int fd, const char *prefix, uint64_t size,
		    uint64_t xxh3);
/* Packs msg behind a header into "<prefix>-<pid>.img" (or "inventory.img"). */
int rt_image_write_msg(struct rt_image *img, const char *prefix, uint32_t type,
		       const ProtobufCMessage *msg);

/* One process's state, as its five files hold it. */
struct rt_proc_files {
	Sc__Fds fds;
	Sc__Mm mm;
	Sc__Pagemap pm;
	Sc__ProcCore core;
	Sc__SigActs acts;
};
/* Writes them; *what names the step that failed. */
int rt_image_write_proc(struct rt_image *img, struct rt_proc_files *f, const char **what);
/* fsyncs and closes every file written. */
int rt_image_sync(struct rt_image *img);
/* ...and the directory, then renames tmpname to name in dirfd. */
int rt_image_commit(struct rt_image *img);
/* The program's part once its copy writes the image (snapshot.c): closes
 * its descriptors of the image's files and directory; the copy has its
 * own, and the lock. */
void rt_image_hand_over(struct rt_image *im);
/* Removes this process's files; or everything and the directory. */
void rt_image_discard_own(struct rt_image *img);
void rt_image_discard(struct rt_image *img);
/*
 * An image is written into ".NAME" RT_TMP_MARK "PID" beside its final
 * NAME, locked (flock) by its writer as long as it writes. A writer
 * killed half way leaves it: the next checkpoint into the same directory
 * removes every such leftover whose writer is dead (doc/faults.md).
 */
#define RT_TMP_MARK SC_TMP_MARK
/* Writes the temporary name of NAME into buf; returns its end. */
char *rt_image_tmpname(char *buf, const char *name);
/* Takes the writer's lock of the temporary directory fd: 0 or -errno. */
int rt_image_lock(int fd);
/* Makes im->tmpname in im->dirfd, owner's only, opened into im->fd and
 * locked: 0, or -errno and nothing made. */
int rt_image_make_tmp(struct rt_image *im);
/*
 * A generation being pruned is renamed ".NAME" RT_DEL_MARK "PID" first
 * (doc/retention.md): what a pruner killed half way leaves is a leftover
 * too, removed the same way once that PID is dead.
 */
#define RT_DEL_MARK SC_DEL_MARK
/* Removes the leftovers of dead writers in dirfd, image files only. */
void rt_image_remove_leftovers(int dirfd);
/* Unlinks the *.img files of fd, directory name in dirfd, then name:
 * 0 or -errno of that last step (anything else in it keeps it). */
int rt_image_remove_dir(int dirfd, const char *name, int fd);
/* Directory fd holds *.img files only (and is read from its start again
 * after). */
bool rt_image_dir_only_images(int fd);
/* Calls fn(arg, fd, name) for every entry of directory fd from its
 * current offset. */
void rt_dir_each(int fd, void (*fn)(void *, int, const char *), void *arg);

/* ---- flush.c: the shared tier (doc/tiers.md) ---- */
/* Notes the highest generation the shared tier holds: at start and after
 * a restore, never in the freeze path. */
void rt_flush_note_floor(const struct rt_config *cfg);
/* That generation: the next one is numbered above it. */
unsigned rt_flush_floor(void);
/* Starts crflush for the generation res committed (nothing if it failed;
 * a tree's root only): detached, or waited for when the program is to
 * exit right after. */
void rt_flush_start(const struct rt_config *cfg, const struct rt_dump_result *res, bool wait);

/* ---- image_read.c: images read back (the tracker, the pruner) ---- */
/* The message of type in file path of dirfd, its header and checksum
 * checked, unpacked into the arena; the whole file's XXH3 into
 * *file_xxh3 (if not NULL). NULL if it is not such a file. */
void *rt_read_msg(int dirfd, const char *path, uint32_t type,
		  const ProtobufCMessageDescriptor *desc, uint64_t *file_xxh3);
/* An inventory of checksum file_xxh3 is the one a child names by named:
 * as it is, or in a form it had before a merge (same_as). */
bool rt_inventory_is(const Sc__Inventory *inv, uint64_t file_xxh3, uint64_t named);

/* ---- merge.c: a generation made whole, its parents merged into it ---- */
/*
 * Generation name of dirfd, when incremental, rewritten in place with its
 * parents' pages it needs, raw, and no parent (doc/retention.md); its
 * compressed pages and its parents' are read with z's libzstd (z->level
 * 0: not loaded). 0: merged, or full already; else -errno with why set:
 * -EBUSY, a crload holds it; -ENOPKG, compressed pages and no libzstd.
 * It stays as it was then.
 */
int rt_merge_generation(int dirfd, const char *name, const struct rt_compress *z, const char **why);

/* ---- retention.c: SELFCKPT_KEEP (doc/retention.md) ---- */
/* The troubles the pruner logs once per process, as bits. */
enum { RT_SAID_KEPT = 1, RT_SAID_FAILED = 2, RT_SAID_NOT_MERGED = 4, RT_SAID_NO_ZSTD = 8 };
unsigned rt_retention_said(void);
void rt_retention_note_said(unsigned what);
/* Generations kept when SELFCKPT_KEEP says nothing usable. */
#define RT_KEEP_DEFAULT 2
/* N of a generation's name "ckpt-N", or 0 for any other name. */
unsigned rt_generation_of(const char *name);
/* Generation n's name ("ckpt-0003") into buf; returns its end. */
char *rt_generation_name(char *buf, unsigned n);
/* The highest generation in dirfd, leftovers of writers included; 0 if
 * none. */
unsigned rt_highest_generation(int dirfd);
/* After a checkpoint this process committed (res tells): removes the
 * generations older than the cfg->keep newest; nothing in any other case. */
void rt_prune_generations(const struct rt_config *cfg, const struct rt_dump_result *res);

/* ---- tree.c: one checkpoint of a process tree (doc/trees.md) ---- */
struct rt_track_plan;
enum { RT_TREE_RESUME, RT_TREE_EXIT, RT_TREE_STOP, RT_TREE_FAILED };
struct rt_tree_files {
	Sc__FileSum **sums;
	size_t n;
	uint64_t bytes;
	bool in_parent; /* a member left pages to the parent image */
};
/* The trigger came from the root of a tree checkpoint, not from a user. */
bool rt_tree_request(const siginfo_t *si);
/* Member: reports frozen to the root and waits to be told to write; the
 * root's image into res, or what failed and why. */
int rt_tree_join(const siginfo_t *si, struct rt_dump_result *res);
bool rt_tree_is_member(void);
/* How many processes the last checkpoint of this root covered. */
int rt_tree_size(void);
/* Member: the root's temporary image directory. */
const char *rt_tree_dir(void);
/* Member: the root runs on after the checkpoint; this process may leave
 * its pages to a copy (snapshot.c). */
bool rt_tree_copies(void);
/* Member: the tracking plan of the root's checkpoint (track.c). */
void rt_tree_track_plan(struct rt_track_plan *plan);
/* Member, or its copy: sends its files' sums, or res's failure, and
 * whether its pages build on the parent (res->incremental); 0 or -errno. */
int rt_tree_report(const struct rt_image *im, const struct rt_dump_result *res);
/* Member: says it has its copy, which reports once it has written. */
int rt_tree_captured(void);
/* Member's copy: the root gave up on the checkpoint (it failed in another
 * process), so there is no use writing on. */
bool rt_tree_cancelled(void);
/* Member: what the root decided (RT_TREE_*), once it says. */
int rt_tree_wait_done(void);
/* Root: freezes every descendant (asking them with cfg's trigger signal);
 * 0 also when there is none. These three say in res what failed and why. */
int rt_tree_gather(const struct rt_config *cfg, struct rt_dump_result *res);
/* Root: has the members write into tmpdir, the image to be res->image,
 * leaving their pages to copies if copies (the root runs on) and the
 * copies of the tree fit together, tracking as plan says. *copy_self:
 * whether the root may have a copy too (res->held_why says why not). */
int rt_tree_start_writing(const char *tmpdir, bool copies, const struct rt_track_plan *plan,
			  bool *copy_self, struct rt_dump_result *res);
/*
 * Root: hears from every member, into out (its sums added to those of
 * earlier calls), until each has its snapshot (a copy writes its files)
 * or has written them, or with all, until each has written them. It hears
 * from all even after a failure: the first is the one returned and said.
 */
int rt_tree_collect(struct rt_tree_files *out, bool all, struct rt_dump_result *res);
/* Root, once the checkpoint failed: the members' copies still writing
 * stop (rt_tree_cancelled), and answer all the same. */
void rt_tree_cancel(void);
/* Root: how many members' copies wrote their pages, and how many members
 * wrote them held when copies were asked. */
void rt_tree_copied(int *copies, int *held);
/* The connections of the checkpoint under way into fds (NULL: counted
 * only): a member's to its root, the root's to every member; how many. */
int rt_tree_conns(int *fds);
/* Root: the inventory's process list, itself first; the count or -errno. */
int rt_tree_procs(Sc__ProcEntry ***out);
/* Root: tells every member what to do now (RT_TREE_*), once. */
void rt_tree_release(int action);
/* Appends what the checkpoint covered to a log line. */
void rt_tree_describe(char *p);
bool rt_tree_fd(int fd);
void rt_tree_end(void);
void rt_tree_forget(void);
/*
 * Jobs (doc/shell-job.md): the leader of a process group checkpoints the
 * commands of its pipeline with it. A user's trigger to another command
 * of it goes to the leader: rt_tree_job_leader() is the leader's pid when
 * this process is such a command (else 0); rt_tree_job_request() then
 * fills si to join the leader's checkpoint under way (true), or asks the
 * leader for one (false; rt_tree_forwarded() tells such a request).
 * rt_tree_served(): a trigger to drop, a checkpoint done since having
 * served it (a request older than the leader's last checkpoint, a root's
 * signal for a checkpoint this member joined already).
 */
int rt_tree_job_leader(const struct rt_config *cfg);
bool rt_tree_job_request(const struct rt_config *cfg, int leader, siginfo_t *si);
bool rt_tree_forwarded(const siginfo_t *si);
bool rt_tree_served(const siginfo_t *si);
/*
 * A program that handles the trigger signal may pass it on to its
 * children (mpirun does, to its ranks) once the tree's checkpoint is
 * done: rt_tree_joined_end() notes when this member went on after one,
 * and rt_tree_passed_on() tells a trigger from its parent right then, not
 * a request of its own (doc/trees.md, "Open MPI").
 */
void rt_tree_joined_end(void);
bool rt_tree_passed_on(const siginfo_t *si);

struct pp_stat;

/* ---- tree_scan.c: the whole frozen tree, seen from outside ---- */
/* Checks the pipes, socketpairs and SysV segments between processes
 * pids[0..n) (the root first) and finds shared descriptions; 0, or
 * -errno with res saying what and why. */
int rt_tree_scan(const int *pids, int n, struct rt_dump_result *res);
/* The pipes on standard streams with every end in the tree. */
int rt_tree_std_pipes(const uint64_t **ids);
/* A member: the root's list of them. */
int rt_tree_set_std_pipes(const uint64_t *ids, int n);
/* A pipe several processes of the tree hold: only pid stores its bytes. */
struct rt_pipe_keeper {
	uint64_t id;
	int32_t pid, pad;
};
/* Who stores each shared pipe's bytes (found by rt_tree_scan); a member
 * sets the root's list. */
int rt_tree_kept_pipes(const struct rt_pipe_keeper **kept);
int rt_tree_set_kept_pipes(const struct rt_pipe_keeper *kept, int n);
/* pe's descriptors that are a description of a process listed before. */
int rt_tree_attach_descs(Sc__ProcEntry *pe);
/* "pid N (comm) why" into res->detail, what into res->what. */
void rt_tree_fail(struct rt_dump_result *res, const char *what, int pid, const char *comm,
		  const char *why);
/* Appends the children of every thread of pid to list[*n] (at most cap
 * in all); 0, or -E2BIG. */
int rt_tree_children(int pid, int *list, int *n, int cap);
/* /proc/PID/stat; comm (17 bytes) may be NULL. */
bool rt_tree_read_stat(int pid, struct pp_stat *st, char *comm);

/* ---- track.c: pages written since the last checkpoint (doc/incremental.md) ---- */
struct sc_page_region;
struct rt_written {
	bool scanned; /* tracking ran: this checkpoint is what the next builds on */
	bool incremental; /* the image may mark pages in_parent */
	/* The parts of VMAs tracked since the parent (registered then: a VMA
	 * grown since is tracked in part), and the pages written in them
	 * since, in address order (PAGEMAP_SCAN's regions). */
	struct rt_range *tracked;
	struct sc_page_region *runs;
	size_t ntracked, n, cap;
};
/*
 * What one checkpoint's tracking does, decided by the process that writes
 * the inventory (a lone one, a tree's root) and told to a tree's members
 * (tree.c): each process leaves pages to the parent only if its own
 * protection dates from the checkpoint that wrote the parent.
 */
struct rt_track_plan {
	uint64_t token; /* this checkpoint's; 0: nothing is tracked */
	uint64_t parent_token; /* the parent's checkpoint's; 0: the image is full */
	char parent[64]; /* the parent image's name, beside this one */
	uint64_t parent_xxh3; /* its inventory's checksum */
};
/* The plan of a checkpoint this process writes the inventory of. */
void rt_track_plan(const struct rt_config *cfg, struct rt_track_plan *plan);
/* While the threads are parked, the last thing before the pages are
 * taken: scans the tracked memory, protecting it again, and arms what is
 * not tracked yet, into w (arena memory). own: an address in the
 * runtime's memory, never tracked. 0, or -errno (the pages go whole then). */
int rt_track_scan(const struct rt_config *cfg, const Sc__Mm *mm, uint64_t own,
		  const struct rt_track_plan *plan, struct rt_written *w);
/* At most how many bytes of pages an image with w takes. */
uint64_t rt_written_bytes(const Sc__Mm *mm, const struct rt_written *w);
/* The checkpoint that scanned was committed as name, its inventory's
 * checksum inventory_xxh3: the next one may build on it. */
void rt_track_committed(bool incremental, const char *name, uint64_t inventory_xxh3);
/* ...or it failed: the next image is full. */
void rt_track_failed(void);
/* Nothing is tracked from now on: the next image is full. */
void rt_track_forget(void);
/* The tracker as this capture leaves it, for the image (arena memory);
 * NULL when it is off. */
Sc__Tracker *rt_track_record(void);
/* A restored process, restored from res's image (a tree's member or not):
 * takes up the tracker crload armed again, if adopt, and builds its next
 * image on that one; else, or if anything is off, forgets it
 * (rt_track_forget). */
void rt_track_restored(const struct rt_dump_result *res, bool member, bool adopt);
/* The program's own userfaultfd is about to register [start, start+len):
 * the tracker lets go of it (interpose.c). */
void rt_track_yield(uint64_t start, uint64_t len);
/* The tracker's descriptor: the runtime's, not the program's. */
bool rt_track_fd(int fd);

int rt_dump_mm(const struct rt_source *src, struct rt_image *img, Sc__Mm *mm, Sc__Pagemap *pm);
/* The pagemap entries of pages [base, base + n pages) of VMA v into pme
 * (pmfd: src's pagemap), shared memory's resident pages counted present
 * (resident: room for n); 0 or -errno. */
int rt_pagemap_of(const struct rt_source *src, int pmfd, const Sc__Vma *v, uint64_t base,
		  uint64_t n, uint64_t *pme, uint8_t *resident);
/* Whether that entry of v holds data only memory has: a page to store. */
bool rt_page_held(const Sc__Vma *v, uint64_t pme);
/* rt_dump_mm in two: the VMAs and mm fields, then the pages of those VMAs
 * (crdump reads them from a copy of the process: doc/crdump-snapshot.md). */
int rt_dump_mm_layout(const struct rt_source *src, Sc__Mm *mm);
/* written: the pages written since the parent image in the VMAs tracked
 * since (rt_track_scan), the others in_parent; NULL: all pages stored. */
int rt_dump_mm_pages(const struct rt_source *src, struct rt_image *img, Sc__Mm *mm, Sc__Pagemap *pm,
		     const struct rt_written *written);
/* Limits, cwd, umask and ids of the process being dumped (dump_source.h);
 * why: room for the reason when more than an errno (RT_MAX_PATH + 128). */
int rt_dump_proc_state(const struct rt_source *src, Sc__ProcCore *core, char *why);
/* Appends sig's disposition to acts (room for 64) unless it is the
 * default one; 0 or -ENOMEM. */
struct sc_kernel_sigaction;
int rt_add_sigaction(Sc__SigActs *acts, unsigned sig, const struct sc_kernel_sigaction *ksa);
/* dump_sysv.c: the SysV segments mm's VMAs attach, into mm->sysv_shm. */
int rt_dump_sysv(Sc__Mm *mm);
/* dump_timers.c: the POSIX timers into core->posix_timers; why as above. */
int rt_dump_posix_timers(const struct rt_source *src, Sc__ProcCore *core, char *why);
/* The process state, its pending signals and its threads, those frz
 * parked; why as above. */
int rt_dump_core(const struct rt_source *src, const struct rt_freeze *frz, Sc__ProcCore *core,
		 char *why);
int rt_dump_sigacts(Sc__SigActs *acts);
/* pending.c: the signals taken from owner's queue (a thread slot or
 * RT_SHARED), as siginfo_t bytes; -E2BIG when more than an image keeps. */
int rt_pending_of(int owner, ProtobufCBinaryData **out, size_t *n);
/* why: room for the reason when a descriptor is refused */
struct rt_fd_tree; /* fd_dump.h */
int rt_dump_fds(const struct rt_source *src, struct rt_image *img, Sc__Fds *fds,
		const struct rt_fd_tree *tree, char *why);

#endif
