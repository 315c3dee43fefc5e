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
	bool *stopped; /* init: which of the job's commands are stopped */
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
/* In the process that forks the job's leader, right after: the job's
 * group, and the terminal's foreground if it had it (the leader does the
 * same itself; whichever is first, no command runs in the background). */
void shell_job_foreground(const struct sc_image *img, const struct shell_job *job, pid_t leader);
/* Init of the namespace: wait() that also reports stops of the job's
 * commands (tops) to crload. */
pid_t shell_job_reap(struct shell_job *job, const pid_t *tops, size_t ntops, int *status);
/* crload, the job running: passes job control on until the job (its
 * commands: tops, or the namespace's init) ends, then takes the terminal
 * back. Returns crload's exit status. */
int shell_job_wait(struct shell_job *job, pid_t *tops, size_t ntops, bool ns);

/* w, one of the processes crload started (tops), ended with
 * status. True once every one has; *last is then the status of the last
 * of them, a pipeline's status as a shell gives it. */
bool top_ended(pid_t *tops, size_t ntops, pid_t w, int status, int *last);

#endif
