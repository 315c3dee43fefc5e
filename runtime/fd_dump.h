/* SPDX-License-Identifier: MIT */
/* The runtime halves of the descriptor kinds (see common/fdkinds.h). */
#ifndef SELFCKPT_FD_DUMP_H
#define SELFCKPT_FD_DUMP_H

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "dump_source.h"
#include "fdkinds.h"
#include "rt.h"

/* What the descriptor dump needs to know of the tree being checkpointed:
 * the runtime's (tree.c) or crdump's. */
struct rt_fd_tree {
	/* Other processes are dumped into the same image: pipe ends and
	 * socket peers may be theirs, and are checked across the tree. */
	bool several;
	/* Whether a descriptor is the tree's own (its sockets between the
	 * processes' runtimes), not the app's; NULL: none is. */
	bool (*owns)(int fd);
};
/* A slot for each kind's own state in the dump of one process. */
#define FD_STATE_SLOT(k, name, dump, restore, check) FD_STATE_##k,
enum fd_state_slot { SC_FD_KINDS(FD_STATE_SLOT) FD_STATE_SLOTS };
#undef FD_STATE_SLOT
/* Descriptors the kinds open for the dump itself (a scratch pipe). */
#define FD_OWN_MAX 4

struct fd_dump_ctx {
	const struct rt_source *src; /* whose descriptors */
	Sc__Fds *fds;
	int pid;
	const struct rt_fd_tree *tree;
	char *why; /* set with the reason when a dump half refuses */
	/* Each kind's own, made by fd_kind_state: what it keeps across the
	 * descriptors of the process is its business, not this struct's. */
	void *kind_state[FD_STATE_SLOTS];
	int own_fds[FD_OWN_MAX]; /* fd_dump_own: not the app's, closed at the end */
	int n_own;
	struct lock_inode *locked; /* inodes we may hold locks on */
	size_t nlocked;
	bool locks_loaded;
	unsigned dumped; /* descriptors so far, counted until locks_loaded */
	struct desc_table *descs; /* fd_descriptions.c */
	uint64_t pipefs_dev;	/* st_dev of pipes, once one was seen */
	bool pipefs_known;
	/* /proc/PID/fdinfo, and /proc/self/fd for readlink of our copies:
	 * one lookup per descriptor instead of a walk of the whole path. */
	int info_dir, link_dir;
};

/* The state of slot, size bytes made zero the first time it is asked for;
 * NULL if the arena is full. */
static inline void *fd_kind_state(struct fd_dump_ctx *ctx, enum fd_state_slot slot, size_t size)
{
	if (!ctx->kind_state[slot] && (ctx->kind_state[slot] = rt_alloc(size)))
		memset(ctx->kind_state[slot], 0, size);
	return ctx->kind_state[slot];
}

/* fd was opened for the dump: it is left out of the image and closed at
 * the end of the process's dump. 0 or -EMFILE. */
static inline int fd_dump_own(struct fd_dump_ctx *ctx, int fd)
{
	if (ctx->n_own == FD_OWN_MAX)
		return -EMFILE;
	ctx->own_fds[ctx->n_own++] = fd;
	return 0;
}

/* A kind's dump half (common/fdkinds.h), defined in its file as
 * PREFIX_dump_half. */
struct fd_dump_half {
	/* whether l is of this kind */
	bool (*claims)(const struct fd_live *l);
	/* kind-specific fields of e; 0 or -errno (with ctx->why) */
	int (*dump)(struct fd_dump_ctx *ctx, const struct fd_live *l, Sc__Fd *e);
	/* Or NULL: once every descriptor of the process is dumped, what the
	 * kind needs of the others (a pipe's other end, a socket's peer);
	 * 0 or -errno (with ctx->why). */
	int (*after_all)(struct fd_dump_ctx *ctx);
};
#define FD_DUMP_HALF(k, name, dump, restore, check)                                                \
	extern const struct fd_dump_half dump##_dump_half;
SC_FD_KINDS(FD_DUMP_HALF)
#undef FD_DUMP_HALF

/* The kind of descriptor l: the first half in SC_FD_KINDS's order that
 * claims it, or NULL (fd_kinds.c). */
const struct fd_dump_half *fd_dump_half_of(const struct fd_live *l);
/* Each half's after_all, once: 0 or the first -errno (fd_kinds.c). */
int fd_dump_after_all(struct fd_dump_ctx *ctx);

/* The other end of socket ino when the two are a socketpair (connected
 * to each other, neither named), else 0. Loads ctx's sock_diag table. */
uint64_t fd_unix_pair_peer(struct fd_dump_ctx *ctx, uint64_t ino);
/* Root of a tree: the sockets a stream or seqpacket unix socket is joined
 * to (its peer, the listener it waits in, a listener's waiting clients),
 * which must be in the tree too; how many were put in out. */
int fd_unix_tree_links(struct fd_dump_ctx *ctx, uint64_t ino, uint64_t *out, int max);

/* The lowest descriptor on the same open file description as l (-1:
 * none), given its status flags; 0 or -errno. */
int fd_same_description(struct fd_dump_ctx *ctx, const struct fd_live *l, uint32_t flags,
			int *orig);

/* An established TCP connection (tcp_repair.c), left in repair mode. */
int rt_tcp_dump(struct fd_dump_ctx *ctx, const struct fd_live *l, Sc__Fd *e);

/* l's socket domain (AF_UNIX, AF_INET ...), or -1 if it is no socket. */
static inline int fd_socket_domain(const struct fd_live *l)
{
	int domain = -1;
	socklen_t len = sizeof(domain);

	if (!S_ISSOCK(l->st.st_mode) ||
	    sc_sys5(__NR_getsockopt, l->fd, SOL_SOCKET, SO_DOMAIN, &domain, &len))
		return -1;
	return domain;
}

/* Formats "fd N (target): " into why and returns the end. */
static inline char *fd_why(struct fd_dump_ctx *ctx, const Sc__Fd *e)
{
	char *p = rt_stpcpy(ctx->why, "fd ");

	p = rt_fmt_i64(p, e->fd);
	p = rt_stpcpy(p, " (");
	p = rt_stpcpy(p, e->path);
	return rt_stpcpy(p, "): ");
}

#endif
