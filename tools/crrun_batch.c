// SPDX-License-Identifier: MIT
/*
 * The batch systems crrun knows: how to name the job it runs in, and how
 * to requeue it (doc/batch.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crrun.h"
#include "selfckpt/launcher.h"

struct batch_system {
	const char *name;
	const char *job_env; /* the job's id */
	const char *restarts_env; /* how many times it ran before, or NULL */
	const char *requeue; /* the command that requeues job_env's id */
};

static const struct batch_system systems[] = {
	{ "slurm", "SLURM_JOB_ID", "SLURM_RESTART_COUNT", "scontrol requeue" },
	{ "pbs", "PBS_JOBID", NULL, "qrerun" },
	{ "lsf", "LSB_JOBID", NULL, "brequeue" },
};

static const struct batch_system *this_system(const char **id)
{
	for (size_t i = 0; i < sizeof(systems) / sizeof(systems[0]); i++)
		if ((*id = getenv(systems[i].job_env)) && **id)
			return &systems[i];
	return NULL;
}

const char *crrun_job_id(void)
{
	static char buf[128];
	const char *id;
	const struct batch_system *b = this_system(&id);

	if (!b)
		return NULL;
	snprintf(buf, sizeof(buf), "%s:%s", b->name, id);
	return buf;
}

const char *crrun_job_restarts(void)
{
	const char *id;
	const struct batch_system *b = this_system(&id);

	return b && b->restarts_env ? getenv(b->restarts_env) : NULL;
}

int crrun_requeue(const struct crrun *r)
{
	const char *id;
	const struct batch_system *b = this_system(&id);
	char cmd[64], num[16], *argv[4], *save;
	int status = 0, argc = 0;
	pid_t pid;

	if (!b) {
		fprintf(stderr, "crrun: --requeue: not in a Slurm, PBS or LSF job; not requeued\n");
		return -1;
	}
	snprintf(cmd, sizeof(cmd), "%s", b->requeue);
	for (char *w = strtok_r(cmd, " ", &save); w && argc < 2; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	argv[argc++] = (char *)id;
	argv[argc] = NULL;
	fflush(NULL);
	if ((pid = fork()) == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "crrun: %s: %s\n", argv[0], strerror(errno));
		_exit(EXIT_NOT_FOUND);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		status = EXIT_CRRUN_FAILED << 8;
	snprintf(num, sizeof(num), "%d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	crrun_history(r, SELFCKPT_EV_REQUEUE, "job", crrun_job_id(), "status", num);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "crrun: %s %s failed; the job is not requeued\n", b->requeue, id);
		return -1;
	}
	return 0;
}
