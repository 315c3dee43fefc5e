// SPDX-License-Identifier: MIT
/*
 * Restoring a tree of processes (doc/trees.md).
 *
 * Every process of the tree is forked by its own parent with its saved pid,
 * parents before children, in the inventory's order. Each one first takes
 * its session and process group (so that its children inherit them), then
 * forks its children, and only then restores its own descriptors and
 * memory. A zombie is a child that exits at once with the saved status and
 * is left for its parent to reap. Descriptions held by more than one
 * process are made once by crload, the common ancestor of all, and
 * inherited (tree_shared.c; shared memory too: shared_files.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd_restore.h"
#include "restore.h"
#include "shell_job.h"

int tree_session(const struct restore_ctx *ctx, char *err)
{
	const Sc__ProcEntry *pe = ctx->p->entry;
	const Sc__ProcEntry *parent = proc_entry(ctx->img, pe->ppid);
	int r = 0;

	if (ctx->p == ctx->img->procs) {
		/* The root: its own session or group, else crload's; a shell
		 * job's group takes the terminal before any child runs. */
		if (pe->sid == pe->pid)
			setsid();
		else if (pe->pgid == pe->pid)
			setpgid(0, 0);
		return shell_job_enter(ctx->img, err);
	}
	if (!parent) { /* another command of the root's job: its group */
		if (setpgid(0, ctx->img->inv->procs[0]->pid)) {
			sc_err(err, "the job's process group %d: %s", ctx->img->inv->procs[0]->pid,
			       strerror(errno));
			return -1;
		}
		return 0;
	}
	if (pe->sid == pe->pid && pe->sid != parent->sid)
		r = setsid() < 0 ? -1 : 0;
	if (!r && pe->pgid == pe->pid && getpgrp() != pe->pid)
		r = setpgid(0, 0);
	else if (!r && pe->pgid != parent->pgid && pe->pgid != pe->pid)
		r = setpgid(0, pe->pgid);
	if (r)
		sc_err(err, "session %d, process group %d: %s", pe->sid, pe->pgid, strerror(errno));
	return r;
}

/* The child forked for entry pe becomes that process. */
static void __attribute__((noreturn)) become(struct restore_ctx *ctx, const Sc__ProcEntry *pe)
{
	const struct sc_image *img = ctx->img;

	for (size_t k = 0; k < img->nprocs; k++)
		if (img->procs[k].entry == pe)
			ctx->p = &img->procs[k];
	ctx->status_fd = ctx->status_fds[ctx->p - img->procs];
	if (ctx->lazy_fds)
		ctx->lazy_fd = ctx->lazy_fds[ctx->p - img->procs];
	restore_child(ctx);
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
		become(ctx, pe);
	}
	return 0;
}

int tree_fork_top(struct restore_ctx *ctx, const struct shell_job *job, pid_t *tops, char *err)
{
	const Sc__Inventory *inv = ctx->img->inv;
	int n = 0;

	for (size_t i = 0; i < inv->n_procs; i++) {
		long pid;

		if (!sc_top_level(inv, i))
			continue;
		pid = fork_with_pid(inv->procs[i]->pid, err);
		if (pid < 0) {
			while (n > 0)
				kill(tops[--n], SIGKILL);
			return -1;
		}
		if (pid == 0)
			become(ctx, inv->procs[i]);
		/* As a shell does, and before the next command may join. */
		if (n == 0)
			shell_job_foreground(ctx->img, job, (pid_t)pid);
		else
			setpgid((pid_t)pid, tops[0]);
		tops[n++] = (pid_t)pid;
	}
	return n;
}
