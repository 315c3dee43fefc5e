/* SPDX-License-Identifier: MIT */
/* crrun's parts: crrun.c waits and decides, crrun_job.c starts and
 * restores the program, crrun_batch.c knows the batch systems. */
#ifndef SELFCKPT_CRRUN_H
#define SELFCKPT_CRRUN_H

#include <stdbool.h>
#include <sys/types.h>

/* Exit statuses of crrun's own (crrun(1)); otherwise the program's. */
#define EXIT_CHECKPOINTED 75 /* EX_TEMPFAIL: the job is in DIR, run again */
#define EXIT_CRRUN_FAILED 125
#define EXIT_CANNOT_EXEC 126
#define EXIT_NOT_FOUND 127
/* Not exit statuses: what crrun_start and crrun_resume return while the
 * program runs, and the event loop when it must start it after all. */
#define CRRUN_RUNNING (-1)
#define CRRUN_START_OVER (-2)

/* The batch system's output files of earlier runs, by stream (1, 2). */
struct crrun_paths {
	char **v;
	size_t n;
};

struct crrun {
	const char *dir; /* absolute */
	const char *flush_dir; /* --flush-dir, absolute; NULL: none */
	char **argv; /* PROGRAM ARG... */
	int warn_sig; /* --signal */
	int trigger_sig; /* the program's SELFCKPT_SIGNAL */
	bool requeue; /* --requeue */
	int sigfd; /* crrun's signals, blocked */
	int watchfd; /* inotify on dir: history, crload's pidfile */
	int lockfd; /* one crrun per dir */
	pid_t child; /* the program, or crload restoring it */
	pid_t prog; /* the program, once known */
	bool resumed; /* child is crload */
	off_t history_off;
	/* The history of earlier runs. */
	bool finished;
	int finished_status;
	struct crrun_paths outputs[3];
	/* The final checkpoint. */
	bool final_pending, final_asked, checkpointed, requeue_after;
	char final_image[64];
};

/* crrun_job.c */
int crrun_open_dir(struct crrun *r, const char *dir, const char *flush_dir);
int crrun_read_history(struct crrun *r);
int crrun_signals_setup(struct crrun *r);
bool crrun_has_generation(const struct crrun *r);
int crrun_start(struct crrun *r);
int crrun_resume(struct crrun *r);
bool crrun_learn_pid(struct crrun *r);
int crrun_resume_failed(struct crrun *r);
int crrun_ask_final(const struct crrun *r);
void crrun_kill_leftovers(void);
/* Appends event with the pairs key, value... up to a NULL key. */
#define crrun_history(r, event, ...)                                                               \
	crrun_history_pairs(r, event, (const char *[]){ __VA_ARGS__, NULL })
void crrun_history_pairs(const struct crrun *r, const char *event, const char **pairs);

/* crrun_history.c: with --flush-dir, the history on the shared tier too */
/* DIR's history replaced by the shared tier's when that one is longer
 * (DIR's was lost with its node, or is an earlier run's). */
void crrun_history_from_shared(const struct crrun *r);
/* The shared tier's history made a copy of DIR's. */
void crrun_history_to_shared(const struct crrun *r);

/* crrun_batch.c */
/* "slurm:1234" for the job crrun runs in, or NULL outside a batch job. */
const char *crrun_job_id(void);
/* How many times the batch system started this job before, or NULL. */
const char *crrun_job_restarts(void);
/* Requeues the job through its batch system: 0, or -1 having said why. */
int crrun_requeue(const struct crrun *r);

#endif
