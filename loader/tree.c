// SPDX-License-Identifier: MIT
/*
 * Restoring a tree of processes (doc/trees.md).
 *
 * Every process of the tree is forked by its own parent with its saved pid,
 * parents before children, in the inventory's order. Each one first takes
 * its session and process group (so that its children inherit them), then
 * forks its children, and only then restores its own descriptors and
 * memory. A zombie is a child that exits at once with the saved status and
 * is left for its parent to reap. Pipes held by more than one process and
 * regular files' descriptions shared between processes are made once by
 * crload, the common ancestor of all, and inherited (shared memory too:
 * shared_files.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd_restore.h"
#include "restore.h"

int tree_session(const struct restore_ctx *ctx, char *err)
{
	const Sc__ProcEntry *pe = ctx->p->entry;
	const Sc__ProcEntry *parent = proc_entry(ctx->img, pe->ppid);
	int r = 0;

	if (ctx->p == ctx->img->procs) {
		/* The root: its own session or group, else crload's. */
		if (pe->sid == pe->pid)
			setsid();
		else if (pe->pgid == pe->pid)
			setpgid(0, 0);
		return 0;
	}
	if (pe->sid == pe->pid && pe->sid != parent->sid)
		r = setsid() < 0 ? -1 : 0;
	if (!r && pe->pgid == pe->pid && getpgrp() != pe->pid)
		r = setpgid(0, 0);
	else if (!r && pe->pgid != parent->pgid && pe->pgid != pe->pid)
		r = setpgid(0, pe->pgid);
	if (r)
		snprintf(err, SC_ERR_LEN, "session %d, process group %d: %s", pe->sid, pe->pgid,
			 strerror(errno));
	return r;
}

/* A zombie: exits as it did, and its parent reaps it when it wants. */
static void __attribute__((noreturn)) become_zombie(int status)
{
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);
		struct sigaction dfl = { .sa_handler = SIG_DFL };
		struct rlimit none = { 0, 0 };
		sigset_t one;

		/* No core file for a process that already died once. */
		setrlimit(RLIMIT_CORE, &none);
		sigaction(sig, &dfl, NULL);
		sigemptyset(&one);
		sigaddset(&one, sig);
		sigprocmask(SIG_UNBLOCK, &one, NULL);
		kill(getpid(), sig);
	}
	_exit(WEXITSTATUS(status));
}

int tree_fork_children(struct restore_ctx *ctx, char *err)
{
	const struct sc_image *img = ctx->img;
	int self = ctx->p->pid;

	for (size_t i = 0; i < img->inv->n_procs; i++) {
		const Sc__ProcEntry *pe = img->inv->procs[i];
		long pid;

		if (pe->ppid != self || pe == ctx->p->entry)
			continue;
		pid = fork_with_pid(pe->pid, err);
		if (pid < 0)
			return -1;
		if (pid > 0) {
			/* The child joins its group itself too; doing it here
			 * as well, as a shell does, means the group exists
			 * before the next sibling may want to join it. */
			if (!pe->zombie && pe->sid == ctx->p->entry->sid &&
			    pe->pgid != ctx->p->entry->pgid)
				setpgid((pid_t)pid, pe->pgid);
			continue;
		}
		if (pe->zombie)
			become_zombie(pe->exit_status);
		for (size_t k = 0; k < img->nprocs; k++)
			if (img->procs[k].entry == pe)
				ctx->p = &img->procs[k];
		ctx->status_fd = ctx->status_fds[ctx->p - img->procs];
		restore_child(ctx);
	}
	return 0;
}

/* How many processes of the image hold a descriptor of pipe id. */
static size_t pipe_holders(const struct sc_image *img, uint64_t id)
{
	size_t n = 0;

	for (size_t i = 0; i < img->nprocs; i++) {
		const Sc__Fds *fds = img->procs[i].fds;

		for (size_t k = 0; k < fds->n_fds; k++)
			if (fds->fds[k]->kind == SC__FD_KIND__PIPE && fds->fds[k]->pipe_id == id) {
				n++;
				break;
			}
	}
	return n;
}

/* The record of pipe sp that holds its bytes: sp, or the one of the
 * process that stored them for the tree (checked by the image reader). */
static const Sc__Pipe *pipe_with_bytes(const struct sc_image *img, const Sc__Pipe *sp)
{
	for (size_t i = 0; sp->has_data_pid && i < img->nprocs; i++)
		for (size_t k = 0;
		     img->procs[i].pid == sp->data_pid && k < img->procs[i].fds->n_pipes; k++)
			if (img->procs[i].fds->pipes[k]->id == sp->id)
				return img->procs[i].fds->pipes[k];
	return sp;
}

int tree_make_shared(struct restore_ctx *ctx, char *err)
{
	const struct sc_image *img = ctx->img;

	for (size_t i = 0; i < img->nprocs; i++) {
		const Sc__Fds *fds = img->procs[i].fds;

		for (size_t k = 0; k < fds->n_pipes; k++) {
			const Sc__Pipe *sp = pipe_with_bytes(img, fds->pipes[k]);
			struct fd_restore_pipe *p, *more;
			bool known = false;
			int ends[2];

			for (size_t j = 0; j < ctx->nshared; j++)
				known |= ctx->shared[j].id == sp->id;
			if (known || pipe_holders(img, sp->id) < 2)
				continue;
			more = realloc(ctx->shared, (ctx->nshared + 1) * sizeof(*more));
			if (!more || pipe2(ends, O_CLOEXEC)) {
				snprintf(err, SC_ERR_LEN, "pipe:[%llu]: %s",
					 (unsigned long long)sp->id,
					 more ? strerror(errno) : "out of memory");
				return -1;
			}
			ctx->shared = more;
			p = &ctx->shared[ctx->nshared++];
			p->id = sp->id;
			p->ends[0] = ends[0];
			p->ends[1] = ends[1];
			if ((fcntl(ends[1], F_SETPIPE_SZ, sp->size) < 0 && sp->size > 65536) ||
			    (sp->has_data && sp->data.len &&
			     write(ends[1], sp->data.data, sp->data.len) !=
				     (ssize_t)sp->data.len)) {
				snprintf(err, SC_ERR_LEN, "pipe:[%llu] between processes: %s",
					 (unsigned long long)sp->id, strerror(errno));
				return -1;
			}
		}
	}
	return 0;
}

static const Sc__Fd *fd_of(const struct sc_image *img, int pid, int fd)
{
	for (size_t i = 0; i < img->nprocs; i++)
		if (img->procs[i].pid == pid)
			for (size_t k = 0; k < img->procs[i].fds->n_fds; k++)
				if (img->procs[i].fds->fds[k]->fd == fd)
					return img->procs[i].fds->fds[k];
	return NULL;
}

static int add_desc(struct restore_ctx *ctx, int pid, int fd, int *holder)
{
	struct shared_desc *more = realloc(ctx->descs, (ctx->ndescs + 1) * sizeof(*more));

	if (!more)
		return -1;
	ctx->descs = more;
	ctx->descs[ctx->ndescs++] = (struct shared_desc){ pid, fd, holder };
	return 0;
}

static bool is_pair_half(const Sc__Fd *f)
{
	return f->kind == SC__FD_KIND__UNIX && !f->has_dup_of && f->peer_ino &&
	       f->unix_sock->state == SC__UNIX_SOCKET__STATE__CONNECTED &&
	       !f->unix_sock->has_name && !f->unix_sock->has_peer_name;
}

/* How many processes hold socketpair half ino; *rec: one's record of it. */
static size_t half_holders(const struct sc_image *img, uint64_t ino, const Sc__Fd **rec)
{
	size_t n = 0;

	for (size_t i = 0; i < img->nprocs; i++)
		for (size_t k = 0; k < img->procs[i].fds->n_fds; k++)
			if (is_pair_half(img->procs[i].fds->fds[k]) &&
			    img->procs[i].fds->fds[k]->sock_ino == ino) {
				*rec = img->procs[i].fds->fds[k];
				n++;
				break;
			}
	return n;
}

struct pair_half {
	uint64_t ino;
	int *holder;
};

/*
 * A socketpair whose halves are in different processes, or a half held by
 * more than one, is made once by crload and every holder takes a copy:
 * what one sends, the other receives.
 */
static int share_pairs(struct restore_ctx *ctx, struct pair_half *made, char *err)
{
	const struct sc_image *img = ctx->img;
	size_t nmade = 0;

	for (size_t i = 0; i < img->nprocs; i++)
		for (size_t k = 0; k < img->procs[i].fds->n_fds; k++) {
			const Sc__Fd *f = img->procs[i].fds->fds[k], *me, *peer = NULL;
			int *holder = NULL;

			if (!is_pair_half(f) ||
			    (!f->peer_in_tree && half_holders(img, f->sock_ino, &me) < 2 &&
			     half_holders(img, f->peer_ino, &peer) < 2))
				continue;
			for (size_t j = 0; j < nmade && !holder; j++)
				if (made[j].ino == f->sock_ino)
					holder = made[j].holder;
			if (!holder) {
				int *sv = &ctx->desc_fds[ctx->ndesc_fds];

				if (!half_holders(img, f->peer_ino, &peer) ||
				    fd_unix_make_pair(f, peer, sv, err))
					return -1;
				ctx->ndesc_fds += 2;
				made[nmade++] = (struct pair_half){ f->sock_ino, &sv[0] };
				made[nmade++] = (struct pair_half){ f->peer_ino, &sv[1] };
				holder = &sv[0];
			}
			if (add_desc(ctx, img->procs[i].pid, f->fd, holder)) {
				snprintf(err, SC_ERR_LEN, "out of memory");
				return -1;
			}
		}
	return 0;
}

/* Kinds whose description crload opens once for all its holders: files
 * reopened by path, and memfds and unlinked files made again from their
 * contents (so that their holders share one file, and its pages). */
static bool opened_once(const Sc__Fd *f)
{
	return !f->has_dup_of && (f->kind == SC__FD_KIND__REG || f->kind == SC__FD_KIND__MEMFD ||
				  f->kind == SC__FD_KIND__GHOST);
}

/*
 * Each group of holders of one description is opened once, from its first
 * holder's entry, and every holder takes a copy: the offset stays shared.
 * Other kinds stay per process.
 */
int tree_open_shared_descs(struct restore_ctx *ctx, char *err)
{
	const Sc__Inventory *inv = ctx->img->inv;
	size_t n = 0;

	/* Made in crload, where no other descriptor of the image exists. */
	Sc__Fds none = SC__FDS__INIT;
	struct fd_restore_ctx alone = { .fds = &none, .scratch_min = 3 };
	struct pair_half *made;
	int ret;

	for (size_t i = 0; i < inv->n_procs; i++)
		n += inv->procs[i]->n_shared;
	for (size_t i = 0; i < ctx->img->nprocs; i++)
		n += ctx->img->procs[i].fds->n_fds; /* socketpair halves, at most */
	ctx->desc_fds = calloc(n + 1, sizeof(int));
	if (!ctx->desc_fds)
		goto nomem;
	for (size_t i = 0; i < inv->n_procs; i++) {
		const Sc__ProcEntry *pe = inv->procs[i];

		for (size_t k = 0; k < pe->n_shared; k++) {
			const Sc__SharedDesc *d = pe->shared[k];
			const Sc__Fd *first = fd_of(ctx->img, d->same_pid, d->same_fd);
			const Sc__Fd *mine = fd_of(ctx->img, pe->pid, d->fd);
			int *holder = NULL;

			if (!opened_once(first) || !opened_once(mine))
				continue;
			for (size_t j = 0; j < ctx->ndescs; j++)
				if (ctx->descs[j].pid == d->same_pid &&
				    ctx->descs[j].fd == d->same_fd)
					holder = ctx->descs[j].holder;
			if (!holder) {
				holder = &ctx->desc_fds[ctx->ndesc_fds];
				*holder = sc_fd_kind(first->kind)->restore(&alone, first, err);
				if (*holder < 0)
					return -1;
				ctx->ndesc_fds++;
				if (add_desc(ctx, d->same_pid, d->same_fd, holder))
					goto nomem;
			}
			if (add_desc(ctx, pe->pid, d->fd, holder))
				goto nomem;
		}
	}
	made = calloc(n + 1, sizeof(*made));
	if (!made)
		goto nomem;
	ret = share_pairs(ctx, made, err);
	free(made);
	return ret;
nomem:
	snprintf(err, SC_ERR_LEN, "out of memory");
	return -1;
}

int tree_shared_desc(const struct restore_ctx *ctx, int fd)
{
	for (size_t i = 0; i < ctx->ndescs; i++)
		if (ctx->descs[i].pid == ctx->p->pid && ctx->descs[i].fd == fd)
			return *ctx->descs[i].holder;
	return -1;
}
