/* SPDX-License-Identifier: MIT */
/* The loader halves of the descriptor kinds (see common/fdkinds.h). */
#ifndef SELFCKPT_FD_RESTORE_H
#define SELFCKPT_FD_RESTORE_H

#include <stdlib.h>

#include "fd_checks.h"
#include "fdkinds.h"
#include "image.h"
#include "selfckpt/restorer.h"

/* A kind's restore half (common/fdkinds.h), defined in its file as
 * PREFIX_restore_half beside the kind's image check. */
struct fd_restore_half {
	/* a descriptor like e, at any number; -1 with err set */
	int (*restore)(struct fd_restore_ctx *ctx, const Sc__Fd *e, char *err);
	/* a few words for people: "pipe:[123] read end, 5 bytes buffered" */
	void (*describe)(const Sc__Fd *e, char *buf, size_t len);
	/* Or NULL: once every descriptor of a process is in place, what the
	 * kind made and kept to hand out is closed. */
	void (*release)(struct fd_restore_ctx *ctx);
	/* Or NULL: then what refers to other descriptors by number (epoll's
	 * interest lists) is set; 0, or -1 with err set. */
	int (*finish)(const Sc__Fds *fds, char *err);
};
#define FD_RESTORE_HALF(k, name, dump, restore, check)                                             \
	extern const struct fd_restore_half restore##_restore_half;
SC_FD_KINDS(FD_RESTORE_HALF)
#undef FD_RESTORE_HALF

/* kind's restore half (fd_kinds.c); NULL for a kind this version lacks,
 * which the image reader refuses before anyone asks. */
const struct fd_restore_half *fd_restore_kind(Sc__FdKind kind);
/* Each half's release, once, in SC_FD_KINDS's order (fd_kinds.c). */
void fd_restore_release(struct fd_restore_ctx *ctx);
/* Each half's finish, once: 0, or -1 with err set. */
int fd_restore_finish(const Sc__Fds *fds, char *err);

struct fd_restore_pipe {
	uint64_t id;
	int ends[2]; /* read, write: kept until every fd is in place */
};

/* A slot for each kind's own state in the restore of one process. */
#define FD_RESTORE_SLOT(k, name, dump, restore, check) FD_RESTORE_##k,
enum fd_restore_slot { SC_FD_KINDS(FD_RESTORE_SLOT) FD_RESTORE_SLOTS };
#undef FD_RESTORE_SLOT

struct fd_restore_ctx {
	const Sc__Fds *fds;
	int scratch_min;	/* temporaries go at or above this number */
	const char *cwd;	/* the process's: relative socket names resolve from it */
	const struct sc_image *img; /* the image: files in memory its processes map */
	int pid; /* the process's in the image, 0 for crload's own descriptors */
	/* The pipes crload made for the tree (tree_shared.c), this
	 * process's to use and close: the pipe kind starts from them. */
	struct fd_restore_pipe *shared_pipes;
	size_t nshared_pipes;
	/* Each kind's own, made by fd_restore_state and freed by the kind's
	 * release: what it keeps across descriptors is its business. */
	void *kind_state[FD_RESTORE_SLOTS];
	const int *tree_fds; /* descriptors crload made, shared with other processes */
	size_t ntree_fds;
	/* Set by a kind's restore: the descriptor it returned is a holder it
	 * keeps (a pipe's end, a socket), to be copied into place. */
	bool lent;
};

/* A regular file processes of the image write: cut back to its size at
 * the checkpoint before the restore if it grew since (doc/restore.md). */
struct file_cut {
	const char *path; /* the image's */
	dev_t dev; /* the file as the preflight found it */
	ino_t ino;
	uint64_t size; /* at the checkpoint: the largest any descriptor recorded */
	uint64_t now; /* at the preflight */
};
struct file_cuts {
	struct file_cut *v;
	size_t n;
};

/*
 * crload --inherit-fd N:PATH: every descriptor of the image on the regular
 * file PATH takes crload's descriptor N instead, as it is (the batch
 * system's output file, which it made anew for the requeued job, and
 * whose size says nothing about the checkpoint: doc/batch.md).
 */
struct fd_inherit {
	int fd;
	const char *path;
};
struct fd_inherits {
	struct fd_inherit *v;
	size_t n;
};

/* Parses "N:PATH" into in: 0, or -1 with err set (fd_inherit.c). */
int fd_inherit_add(struct fd_inherits *in, const char *arg, char *err);
/* Which of in e takes crload's descriptor from, or -1. */
int fd_inherit_index(const struct fd_inherits *in, const Sc__Fd *e);

static inline bool file_cut_grew(const struct file_cut *c)
{
	return c->now > c->size;
}

/* Before forking: paths still there, files the process can go on with;
 * the ones it writes are added to cuts (fd_path.c). img: the image the
 * descriptors are of, for the files in memory crload makes again; pid:
 * the process's in it, whose own /proc files exist only once it does. */
int fd_path_preflight(const struct sc_image *img, int pid, const Sc__Fds *fds,
		      const struct fd_inherits *inherits, bool allow_changed,
		      struct file_cuts *cuts, char *err);
void file_cuts_free(struct file_cuts *cuts);
/* Keeps the bytes each file grew by beside image_dir, saying where on
 * stderr, then cuts every file back: 0, or -1 with err set, nothing cut
 * if they could not be kept (file_cut.c, crload only). */
int file_cuts_apply(const struct file_cuts *cuts, const char *image_dir, char *err);

/*
 * The flags to open e's description again with: the status flags it had
 * (what F_GETFL reports), without those that acted once, when it was
 * opened (O_CREAT, O_EXCL, O_TRUNC, O_NOCTTY, O_TMPFILE), and, through a
 * magic link of /proc/self/fd, without O_NOFOLLOW, which the kernel
 * refuses there (ELOOP). Close-on-exec: restore_fds sets the app's.
 */
int fd_reopen_flags(const Sc__Fd *e, bool through_proc);

/* Before forking: established TCP connections need --tcp-established. */
int fd_inet_preflight(const Sc__Fds *fds, bool tcp_established, char *err);
/* "1.2.3.4:80" or "[::1]:80" from a saved sockaddr */
char *inet_addr_str(const ProtobufCBinaryData *a, char *buf, size_t len);
int inet_set_int(int s, int level, int opt, int val);
/* Rebuilds in s the established connection of in; -1 with err set. */
int tcp_repair_restore(int s, const Sc__InetSocket *in, char *err);
/* The connections of fds crdump's holder keeps open are let go by it. */
void tcp_take_over_held(const Sc__Fds *fds);
/* The connections that leave repair mode once the tree is restored, into
 * out (NULL: only counted); their number. */
size_t tcp_repair_list(const Sc__Fds *fds, struct rst_tcp *out);
/* Destroys the original's connections left in TIME_WAIT whose local end is
 * local and, given peer, whose other end is peer (tcp_timewait.c): how
 * many, or -errno (-EPERM: crload lacks CAP_NET_ADMIN). */
int tcp_timewait_clear(const ProtobufCBinaryData *local, const ProtobufCBinaryData *peer);

/* The state of slot, size bytes made zero the first time it is asked
 * for; NULL if out of memory. */
static inline void *fd_restore_state(struct fd_restore_ctx *ctx, enum fd_restore_slot slot,
				     size_t size)
{
	if (!ctx->kind_state[slot])
		ctx->kind_state[slot] = calloc(1, size);
	return ctx->kind_state[slot];
}

/* A copy of fd at scratch_min or above with e's O_NONBLOCK; -1 with err set. */
int fd_scratch_dup(struct fd_restore_ctx *ctx, int fd, const Sc__Fd *e, char *err);
/* holder, given e's O_NONBLOCK and lent (ctx->lent): what a kind that keeps
 * one description for several descriptors returns. */
int fd_lend(struct fd_restore_ctx *ctx, int holder, const Sc__Fd *e, char *err);
/* e restored by its kind into a descriptor of the caller's own, a copy
 * (at scratch_min or above) if the kind lent one; -1 with err set. */
int fd_restore_owned(struct fd_restore_ctx *ctx, const Sc__Fd *e, char *err);
/* A new pipe like sp (its size, refilled with its bytes), both ends at
 * scratch_min or above: 0, or -1 with err set. */
int fd_pipe_make(const Sc__Pipe *sp, int scratch_min, int ends[2], char *err);
/* In crload: the socketpair of a and its peer b, with their options and
 * queues, for processes of a tree holding its halves; -1 with err set. */
int fd_unix_make_pair(const Sc__Fd *a, const Sc__Fd *b, int sv[2], char *err);
/* In crload: a new pty pair for the master m of one process and the
 * terminal descriptor s of another on its slave, with m's settings; the
 * master in fds[0], the slave in fds[1]. -1 with err set. */
int fd_pty_make_tree_pair(const Sc__Fd *m, const Sc__Fd *s, int fds[2], char *err);
/* Last of all, before the restorer: the locks held through descriptors. */
int fd_locks_restore(const Sc__Fds *fds, char *err);

#endif
