/* SPDX-License-Identifier: MIT */
/* crload internals (libc world). */
#ifndef SELFCKPT_RESTORE_H
#define SELFCKPT_RESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fd_restore.h"
#include "image.h"
#include "selfckpt/restorer.h"

struct crload_opts {
	bool detached;
	bool verbose;
	bool allow_changed_files;
	bool tcp_established;
	bool shell_job;
	bool lazy; /* --lazy (doc/lazy-restore.md) */
	const char *dir;
	struct fd_inherits inherits; /* --inherit-fd */
	const char *pidfile;
};

/* shared_files.c: shared mappings of files that exist only in the process */
struct shared_file {
	uint64_t dev, ino;
	int fd;
	bool filled; /* holds the contents already (a tree's, made by crload) */
};
struct shared_files {
	struct shared_file *files;
	size_t n;
};
struct fd_restore_pipe;
struct shell_job;

/* A file description several processes share: opened once by crload. */
struct shared_desc {
	int pid, fd; /* one holder */
	int *holder; /* crload's descriptor, shared by every holder's entry */
};

/* SysV shared memory segments made by crload (sysv_shm.c). */
struct sysv_made {
	uint32_t *dest; /* ids to mark removed (SHM_DEST) once all attach */
	size_t ndest;
	uint32_t *made; /* ids crload created, removed if the restore fails */
	size_t nmade;
};

/* What the restored process needs from crload before it becomes itself. */
struct restore_ctx {
	struct sc_image *img;
	const struct fd_inherits *inherits; /* crload's descriptors the image takes */
	struct sc_proc_img *p;
	int status_fd; /* write end: "N"+notice+"\n"..., then "K", "E"+rst_status or "M"+message */
	struct sc_pages pages; /* its pages files through the chain */
	int *status_fds; /* per img->procs[i]: its status_fd */
	/* Every restored process reads a byte from release_fd before it runs
	 * on; crload writes them through release_wr once all are restored. */
	int release_fd, release_wr;
	/* Pipes held by more than one process, made by crload (tree.c). */
	struct fd_restore_pipe *shared;
	size_t nshared;
	/* Memory shared between processes, made by crload (shared_files.c). */
	struct shared_files shared_mem;
	/* Regular files' descriptions shared between processes (tree.c). */
	struct shared_desc *descs;
	size_t ndescs;
	int *desc_fds; /* the distinct holders */
	size_t ndesc_fds;
	struct sysv_made sysv; /* SysV segments (sysv_shm.c) */
	/* --lazy: per img->procs[i], the end of the socket its restorer
	 * sends its userfaultfd over (lazy_fds) and crload's (lazy_rds);
	 * lazy_fd is this process's. NULL and -1 without. */
	int *lazy_fds, *lazy_rds;
	int lazy_fd;
};

/* generations.c: tiers[0] is an image, or a directory of generations
 * ckpt-N, and tiers[1] the shared tier it is flushed to (doc/tiers.md)
 * or NULL: the newest generation of either that loads is loaded, the
 * local copy first when as new (the others skipped, each named on stderr
 * with why unless quiet). chosen (PATH_MAX bytes): the image's directory.
 * 0, or -1 with err set. */
#define SC_TIERS 2
int load_image(const char *const tiers[SC_TIERS], struct sc_image *img, char *chosen, char *err,
	       bool quiet);
/* The same with every pages file checked whole first, as the restore would
 * find it as it fills memory: whether any generation verifies at all. */
int load_image_whole(const char *const tiers[SC_TIERS], struct sc_image *img, char *chosen,
		     char *err, bool quiet);
/* Where a crload that found a generation damaged as it filled memory
 * names it by its path ("DIR/ckpt-3", then "DIR/ckpt-3:DIR/ckpt-2") for
 * the crload it starts again: load_image() skips them without a word,
 * that one said why. */
#define DAMAGED_ENV "SELFCKPT_CRLOAD_DAMAGED"
/* The tiers hold generations ckpt-N. */
bool has_generations(const char *const tiers[SC_TIERS]);
/* Lets checkpoints prune the generation load_image() chose (doc/retention.md). */
void release_generation(void);

/* pids.c */
struct pid_plan {
	bool new_ns;	 /* restore inside new pid (+user) namespaces */
	bool user_ns;	 /* ... including a user namespace (unprivileged) */
	bool ipc_ns;	 /* ... and an IPC namespace: the image has SysV segments */
};
int plan_pids(struct sc_image *img, struct pid_plan *plan, char *err);
/* Forks the process to restore with its saved pid (set_tid). Returns the
 * pid in the caller's namespace, 0 in the child, -1 with err set. */
long fork_with_pid(int pid, char *err);
int enter_namespaces(const struct pid_plan *plan, char *err);
int mount_proc_in_ns(char *err);
const Sc__ProcEntry *proc_entry(const struct sc_image *img, int pid);
/* Before any process exists: every session and group can be rebuilt. */
int tree_preflight(const struct sc_image *img, char *err);

/* creds.c */
/* Whether the image's files are its owner's, and crload, run by this user,
 * may give every process its recorded credentials (doc/credentials.md). */
int creds_check(const struct sc_image *img, char *err);
/* The same before any process exists; then a process whose image records
 * no credentials takes crload's, and, as root restoring a user's image,
 * crload takes the owner's file access for what it opens. */
int creds_preflight(struct sc_image *img, char *err);
/* What the restorer's threads take: cr, its groups copied to groups_at. */
void creds_fill(struct rst_creds *rc, const Sc__Creds *cr, uint64_t groups_at);

/* restore_fds.c */
int restore_fds(struct restore_ctx *ctx, int *keep, int nkeep, char *err);
int restore_process_state(struct restore_ctx *ctx, char *err);

/* premap.c */
/* Premaps the image's memory, prepares the restorer and enters it. Only
 * returns on error. */
int premap_and_restore(struct restore_ctx *ctx, char *err);

/* shared_files.c: shared mappings of files that exist only in the process */
/* Whether w maps the same anonymous shared memory as v. */
bool shared_same_file(const Sc__Vma *v, const Sc__Vma *w);
/* The image's descriptor on v's file, already in place, or NULL. */
const Sc__Fd *shared_fd_on(const Sc__Fds *fds, const Sc__Vma *v);
/*
 * The file to map shared VMA v from so that it shares pages with every
 * other VMA and descriptor on its file: a descriptor the caller closes
 * (*filled: it holds the contents already), or -1: with err empty, v is
 * the only view of its memory and stays anonymous; else err is set.
 */
int shared_backing(struct shared_files *sf, const struct sc_proc_img *p, const Sc__Vma *v,
		   bool *filled, char *err);
void shared_files_release(struct shared_files *sf);
/* Copies the stored pages of p's VMA v, at v's offset in its file, into
 * fd, or into mem (the file mapped) when mem is not NULL. */
int shared_fill(int fd, char *mem, const struct sc_image *img, const struct sc_proc_img *p,
		const Sc__Vma *v, char *err);
/* Whether the anonymous shared memory v maps is left empty by crload
 * --lazy and served by its page server too: only mappings reach it, in
 * every process of img, and some of its pages are stored. */
bool shared_is_lazy(const struct sc_image *img, const Sc__Vma *v);
/* In crload: a filled memfd for every file mapped by more than one process;
 * lazy: empty where the page server fills it (shared_is_lazy). */
int shared_files_of_tree(struct shared_files *sf, const struct sc_image *img, bool lazy, char *err);

/* shm_files.c: files in memory whose pages the image holds */
/* In crload, before forking: every such file that is gone made again. */
int shm_files_make(const struct sc_image *img, char *err);
/* The file VMA v maps, made if gone, grown to cover v, v's part cleared
 * for its stored pages: a descriptor, or -1 with err set. */
int shm_file_open(const Sc__Vma *v, char *err);

/* sysv_shm.c */
bool sysv_in_image(const struct sc_image *img);
/* Every segment of the image with its id, key, size, mode and contents. */
int sysv_make(const struct sc_image *img, struct sysv_made *sm, char *err);
/* After the restore: removed (ok) the segments that were; else the new ones. */
void sysv_finish(struct sysv_made *sm, bool ok);

/* tree_shared.c: descriptions shared between processes */
/* In crload: the pipes shared between processes, made once. */
int tree_make_shared(struct restore_ctx *ctx, char *err);
/* In crload: the other descriptions shared between processes. */
int tree_open_shared_descs(struct restore_ctx *ctx, char *err);
/* The shared description to take for fd of this process, or -1. */
int tree_shared_desc(const struct restore_ctx *ctx, int fd);

/* tree.c: processes of a tree */
/* In each restored process, before its children: session and group. */
int tree_session(const struct restore_ctx *ctx, char *err);
/* Forks the process's children (zombies too) with their pids. */
int tree_fork_children(struct restore_ctx *ctx, char *err);
/*
 * crload (or its namespace's init), standing for the shell: forks the
 * root and the other commands of its job, each into the root's group
 * (the terminal handed to it first if the job had it). tops: their pids
 * here, in inventory order. Returns how many, or -1 with err set.
 */
int tree_fork_top(struct restore_ctx *ctx, const struct shell_job *job, pid_t *tops, char *err);

/* lazy.c: crload --lazy (doc/lazy-restore.md) */
/* Whether p's VMA v is left empty and served by the page server. */
bool lazy_vma(const struct sc_proc_img *p, const Sc__Vma *v);
/* Before the fork: whether this image and kernel allow --lazy; if not,
 * says why on stderr, and the restore is eager. */
bool lazy_preflight(const struct sc_image *img, const struct pid_plan *plan, bool verbose);
/* A socket pair per process of the tree, ctx->lazy_fds and lazy_rds: 0,
 * or -1 with err set. */
int lazy_sockets(struct restore_ctx *ctx, char *err);
/* After the fork: the userfaultfds taken from the restored processes and
 * one page server for all of them started, with a watchdog that kills the
 * tree if the server dies before every page is in. 0 also when nothing
 * came (the restores failed: their status says why), -1 with err set.
 * t0: when crload started, for -v's time until every page is in; ns_init:
 * the init of the pid namespace crload made for the tree, or 0. */
int lazy_serve(struct restore_ctx *ctx, const struct crload_opts *opts, double t0, pid_t ns_init,
	       char *err);

/* direct_read.c: cold pages files read with O_DIRECT (doc/direct-io.md) */
/* Per generation of pg, a descriptor of its file for direct reads where
 * it is raw and mostly not in the page cache, else -1; NULL if out of
 * memory (every read then goes through the page cache). */
int *direct_open(const struct sc_pages *pg);
void direct_close(int *fds, uint32_t n);

/* restore.c */
void restore_child(struct restore_ctx *ctx) __attribute__((noreturn));

#endif
