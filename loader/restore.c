// SPDX-License-Identifier: MIT
/*
 * The child side of crload: the process that becomes the restored one.
 * It reports to crload on the status pipe (status.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fd_restore.h"
#include "restore.h"
#include "status.h"

/* glibc registered rseq for crload's thread; the kernel would keep
 * writing to that area after it is unmapped. */
static void unregister_rseq(void)
{
	if (__rseq_size > 0) {
		void *area = (char *)__builtin_thread_pointer() + __rseq_offset;

		syscall(SYS_rseq, area, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG);
	}
}

void restore_child(struct restore_ctx *ctx)
{
	char err[SC_ERR_LEN];
	int nkeep = 2 + 2 * (int)ctx->nshared + (int)ctx->shared_mem.n + (int)ctx->ndesc_fds +
		    (ctx->lazy_fd >= 0),
	    k;
	int *keep = NULL;
	sigset_t all;

	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	/* Only crload may release the tree. */
	close(ctx->release_wr);
	if (sc_pages_open(&ctx->pages, ctx->img, ctx->p, err))
		goto fail;
	for (uint32_t g = 0; g < ctx->pages.n; g++)
		nkeep += ctx->pages.fds[g] >= 0;
	keep = malloc(sizeof(int) * (size_t)nkeep);
	if (!keep) {
		sc_err(err, "out of memory");
		goto fail;
	}
	/* Children inherit the session, the group and the shared pipes. */
	if (tree_session(ctx, err) || tree_fork_children(ctx, err))
		goto fail;
	/* In the order restore_fds() takes them back. */
	keep[0] = ctx->status_fd;
	k = 1;
	for (size_t i = 0; i < ctx->nshared; i++, k += 2)
		memcpy(&keep[k], ctx->shared[i].ends, sizeof(ctx->shared[i].ends));
	for (size_t i = 0; i < ctx->shared_mem.n; i++)
		keep[k++] = ctx->shared_mem.files[i].fd;
	for (size_t i = 0; i < ctx->ndesc_fds; i++)
		keep[k++] = ctx->desc_fds[i];
	for (uint32_t g = 0; g < ctx->pages.n; g++)
		if (ctx->pages.fds[g] >= 0)
			keep[k++] = ctx->pages.fds[g];
	keep[k] = ctx->release_fd;
	if (ctx->lazy_fd >= 0)
		keep[k + 1] = ctx->lazy_fd;
	if (restore_fds(ctx, keep, nkeep, err) || restore_process_state(ctx, err))
		goto fail;
	unregister_rseq();
	premap_and_restore(ctx, err);
fail:
	status_message(ctx->status_fd, err);
	_exit(127);
}
