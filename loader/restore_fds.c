// SPDX-License-Identifier: MIT
/*
 * Descriptors and per-process kernel state of the restored process, set
 * up in the child before its memory is replaced.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include "fd_restore.h"
#include "restore.h"

static bool is_kept(int fd, const int *keep, int nkeep)
{
	for (int i = 0; i < nkeep; i++)
		if (keep[i] == fd)
			return true;
	return false;
}

static bool in_image(const Sc__Fds *fds, int fd)
{
	for (size_t i = 0; i < fds->n_fds; i++)
		if (fds->fds[i]->fd == fd)
			return true;
	return false;
}

int restore_fds(struct restore_ctx *ctx, int *keep, int nkeep, char *err)
{
	const Sc__Fds *fds = ctx->p->fds;
	int max_app = 2;
	DIR *d;

	for (size_t i = 0; i < fds->n_fds; i++)
		if (fds->fds[i]->fd > max_app)
			max_app = fds->fds[i]->fd;
	/* crload's own descriptors move above every app descriptor. */
	for (int i = 0; i < nkeep; i++) {
		if (keep[i] <= max_app || in_image(fds, keep[i])) {
			int nfd = fcntl(keep[i], F_DUPFD_CLOEXEC, max_app + 1);

			if (nfd < 0) {
				sc_err(err, "cannot move descriptor %d: %s", keep[i],
				       strerror(errno));
				return -1;
			}
			close(keep[i]);
			keep[i] = nfd;
		}
	}
	ctx->status_fd = keep[0];
	/* Then the ends of the shared pipes, the shared memory files, the
	 * shared descriptions and the pages files, as restore_child() lists
	 * them. */
	int k = 1;
	for (size_t i = 0; i < ctx->nshared; i++, k += 2)
		memcpy(ctx->shared[i].ends, &keep[k], sizeof(ctx->shared[i].ends));
	for (size_t i = 0; i < ctx->shared_mem.n; i++)
		ctx->shared_mem.files[i].fd = keep[k++];
	for (size_t i = 0; i < ctx->ndesc_fds; i++)
		ctx->desc_fds[i] = keep[k++];
	for (uint32_t g = 0; g < ctx->pages.n; g++)
		if (ctx->pages.fds[g] >= 0)
			ctx->pages.fds[g] = keep[k++];
	ctx->release_fd = keep[k];
	if (ctx->lazy_fd >= 0)
		ctx->lazy_fd = keep[k + 1];

	/* Everything else crload had goes, unless the image inherits it. */
	d = opendir("/proc/self/fd");
	if (!d) {
		sc_err(err, "/proc/self/fd: %s", strerror(errno));
		return -1;
	}
	int dfd = dirfd(d);
	struct dirent *e;
	/* Listed first, closed after: closing while reading the directory
	 * would change what it lists. */
	int *to_close = NULL, n = 0, cap = 0;
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] == '.' || fd == dfd || is_kept(fd, keep, nkeep))
			continue;
		bool inherit = false;
		for (size_t i = 0; i < fds->n_fds; i++)
			if (fds->fds[i]->fd == fd && fds->fds[i]->kind == SC__FD_KIND__INHERIT)
				inherit = true;
		if (inherit)
			continue;
		if (n == cap) {
			int *more = realloc(to_close, (size_t)(cap = cap * 2 + 64) * sizeof(*more));

			if (!more) {
				free(to_close);
				closedir(d);
				sc_err(err, "out of memory");
				return -1;
			}
			to_close = more;
		}
		to_close[n++] = fd;
	}
	closedir(d);
	for (int i = 0; i < n; i++)
		close(to_close[i]);
	free(to_close);

	/* Before any socket binds a port they hold. */
	tcp_take_over_held(fds);

	/* The shared pipes are this process's to use and close. */
	struct fd_restore_ctx rctx = { .fds = fds,
				       .scratch_min = max_app + 1,
				       .cwd = ctx->p->core->cwd,
				       .img = ctx->img,
				       .pid = ctx->p->pid,
				       .shared_pipes = ctx->shared,
				       .nshared_pipes = ctx->nshared };
	int ret = 0, *tree_fds = calloc(ctx->ndescs + 1, sizeof(int));

	if (!tree_fds) {
		sc_err(err, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < ctx->ndescs; i++)
		if (ctx->descs[i].pid == ctx->p->pid)
			tree_fds[rctx.ntree_fds++] = ctx->descs[i].fd;
	rctx.tree_fds = tree_fds;
	ctx->shared = NULL;
	ctx->nshared = 0;
	for (int i = 0; i < nkeep; i++)
		if (keep[i] >= rctx.scratch_min)
			rctx.scratch_min = keep[i] + 1;
	for (size_t i = 0; i < fds->n_fds && !ret; i++) {
		const Sc__Fd *f = fds->fds[i];
		const struct fd_restore_half *k = fd_restore_kind(f->kind);
		int fd;

		int shared = tree_shared_desc(ctx, f->fd);

		rctx.lent = false;
		if (f->has_dup_of || shared >= 0) {
			/* Same description as a lower descriptor already in
			 * place, or as other processes' (opened by crload). */
			fd = f->has_dup_of ? f->dup_of : shared;
			rctx.lent = true;
		} else {
			fd = k ? k->restore(&rctx, f, err) : -1;
		}
		if (fd < 0) {
			if (!f->has_dup_of && !k)
				sc_err(err, "fd %d: kind %d cannot be restored", f->fd, f->kind);
			ret = -1;
			break;
		}
		/* Into place with its close-on-exec flag in one call; what
		 * a kind lent stays open for the next descriptors of it (no
		 * copy to make and close first). */
		if (fd != f->fd) {
			if (dup3(fd, f->fd, f->cloexec ? O_CLOEXEC : 0) < 0) {
				sc_err(err, "fd %d: %s", f->fd, strerror(errno));
				ret = -1;
			}
			if (!rctx.lent)
				close(fd);
		} else if (fcntl(f->fd, F_SETFD, f->cloexec ? FD_CLOEXEC : 0) < 0) {
			sc_err(err, "fd %d: %s", f->fd, strerror(errno));
			ret = -1;
		}
	}
	fd_restore_release(&rctx);
	free(tree_fds);
	for (size_t i = 0; i < ctx->ndesc_fds; i++)
		close(ctx->desc_fds[i]);
	if (!ret)
		ret = fd_restore_finish(fds, err);
	return ret;
}

static int restore_sigactions(const Sc__SigActs *acts, char *err)
{
	struct sc_kernel_sigaction dfl = { 0 };

	for (int sig = 1; sig <= 64; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			syscall(SYS_rt_sigaction, sig, &dfl, NULL, 8);
	for (size_t i = 0; i < acts->n_acts; i++) {
		const Sc__SigAction *a = acts->acts[i];
		struct sc_kernel_sigaction ksa = {
			.handler = a->handler,
			.flags = a->flags,
			.restorer = a->restorer,
			.mask = a->mask,
		};

		/* Raw syscall: glibc's wrapper would replace sa_restorer. */
		if (syscall(SYS_rt_sigaction, a->sig, &ksa, NULL, 8)) {
			sc_err(err, "signal %u: %s", a->sig, strerror(errno));
			return -1;
		}
	}
	return 0;
}

int restore_process_state(struct restore_ctx *ctx, char *err)
{
	const Sc__ProcCore *c = ctx->p->core;

	if (chdir(c->cwd)) {
		sc_err(err, "working directory %s: %s", c->cwd, strerror(errno));
		return -1;
	}
	umask((mode_t)c->umask);
	for (size_t i = 0; i < c->n_rlimits; i++) {
		const Sc__Rlimit *r = c->rlimits[i];
		struct rlimit rl = { .rlim_cur = r->cur, .rlim_max = r->max };

		if (setrlimit((int)r->resource, &rl) && errno != EPERM) {
			sc_err(err, "rlimit %u: %s", r->resource, strerror(errno));
			return -1;
		}
	}
	/* Counting from here: the restore's few milliseconds come off the
	 * time left, and a SIGALRM meanwhile waits, blocked, for the app. A
	 * timer that had fired goes one interval on, as the kernel would
	 * have re-armed it when its signal was taken. */
	for (size_t i = 0; i < c->n_itimers; i++) {
		const Sc__Itimer *t = c->itimers[i];
		uint64_t value = t->value_us ? t->value_us : t->interval_us;
		struct itimerval v = {
			.it_interval = { (time_t)(t->interval_us / 1000000),
					 (suseconds_t)(t->interval_us % 1000000) },
			.it_value = { (time_t)(value / 1000000), (suseconds_t)(value % 1000000) },
		};

		if (setitimer((int)t->which, &v, NULL)) {
			sc_err(err, "interval timer %u: %s", t->which, strerror(errno));
			return -1;
		}
	}
	return restore_sigactions(ctx->p->acts, err);
}
