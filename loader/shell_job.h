/* SPDX-License-Identifier: MIT */
/* crload --shell-job (doc/shell-job.md). */
#ifndef SELFCKPT_SHELL_JOB_H
#define SELFCKPT_SHELL_JOB_H

#include <stdbool.h>
#include <sys/types.h>

#include "image.h"

struct shell_job {
	bool active; /* a shell job, and crload stays with it (not detached) */
	int tty; /* crload's controlling terminal */
	int events[2]; /* namespace mode: init reports the job's stops here */
	int proc; /* crload's /proc, for the job's pid in namespace mode */
	pid_t pgid; /* the job's group, in crload's pid namespace */
};

/*
 * Before any process is created: a shell job needs --shell-job (asked)
 * and a controlling terminal, and a foreground job a crload in the
 * foreground that stays (not detached). 0, or -1 with err set.
 */
int shell_job_preflight(const struct sc_image *img, bool asked, bool detached,
			struct shell_job *job, char *err);
/* In the restored process, before it becomes itself: the job's own group,
 * and the terminal's foreground if it had it. */
int shell_job_enter(const struct sc_image *img, char *err);
/* Init of the namespace: wait() that also reports stops of job to crload. */
pid_t shell_job_reap(const struct shell_job *job, pid_t pid, int *status);
/* crload, the job running: passes job control on until the job ends, then
 * takes the terminal back. Returns crload's exit status. */
int shell_job_wait(struct shell_job *job, pid_t child, bool ns);

/* crload.c: exit status the shell way (128+n when killed by signal n). */
int shell_status(int status);

#endif
