// SPDX-License-Identifier: MIT
/*
 * crrun DIR -- PROGRAM [ARG...]: the one line of a batch script.
 *
 * Run the first time, it starts PROGRAM under the runtime with its images
 * in DIR; run again (after a requeue, a node failure, a time limit), it
 * restores the newest generation of DIR that verifies, through crload. It
 * stays the parent and turns the batch system's warnings into a final
 * checkpoint and exit status 75, so that a job script can requeue, and
 * records what happened in DIR/history (doc/batch.md), with --flush-dir a
 * copy on the shared tier too (crrun_history.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "crrun.h"
#include "history.h"
#include "selfckpt/launcher.h"
#include "signame.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: crrun [--signal=SIG] [--requeue] [--flush-dir=SHARED] DIR -- PROGRAM "
		"[ARG...]\n"
		"Runs PROGRAM under the selfckpt runtime with its checkpoints in DIR, or, when\n"
		"DIR holds one that verifies, restores the newest. The batch system's warning\n"
		"signal, SIGTERM and SIGINT become a final checkpoint and exit status 75.\n"
		"  -s, --signal=SIG  the batch system's warning signal (default USR2), as in\n"
		"                    sbatch --signal=B:USR2@300 or bsub -wa USR2\n"
		"  -r, --requeue     after the final checkpoint asked by the warning signal,\n"
		"                    requeue the job (Slurm, PBS, LSF)\n"
		"  -f, --flush-dir=SHARED  DIR is a fast local tier: each checkpoint is copied\n"
		"                    to SHARED in the background, and the newest of either\n"
		"                    that verifies is restored (doc/tiers.md)\n"
		"Exit status: the program's (128+N if killed by signal N), 75 once it is\n"
		"checkpointed and stopped, 125 if crrun failed, 126/127 if PROGRAM cannot run.\n");
}

/* Waits for the history, the program and the batch system's signals. */
static int event_loop(struct crrun *r);

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "signal", required_argument, NULL, 's' },
		{ "requeue", no_argument, NULL, 'r' },
		{ "flush-dir", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct crrun r = { .warn_sig = SIGUSR2, .trigger_sig = SIGUSR2 };
	const char *s, *flush_dir = NULL;
	int c, status, dashes = 1;

	/* Options go anywhere before "--": PROGRAM's are its own. */
	while (dashes < argc && strcmp(argv[dashes], "--"))
		dashes++;
	while ((c = getopt_long(dashes, argv, "s:rf:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if ((r.warn_sig = sc_signal_parse(optarg)) < 0) {
				fprintf(stderr,
					"crrun: --signal=%s: not a signal crrun can catch\n",
					optarg);
				return EXIT_CRRUN_FAILED;
			}
			break;
		case 'r':
			r.requeue = true;
			break;
		case 'f':
			flush_dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("crrun %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_CRRUN_FAILED;
		}
	}
	if (dashes - optind != 1 || dashes + 1 >= argc) {
		usage(stderr);
		return EXIT_CRRUN_FAILED;
	}
	r.argv = argv + dashes + 1;
	if ((s = getenv("SELFCKPT_SIGNAL")) && *s && (r.trigger_sig = sc_signal_parse(s)) < 0) {
		fprintf(stderr, "crrun: SELFCKPT_SIGNAL=%s: not a usable signal\n", s);
		return EXIT_CRRUN_FAILED;
	}
	if (crrun_open_dir(&r, argv[optind], flush_dir) || crrun_read_history(&r))
		return EXIT_CRRUN_FAILED;
	if (r.finished) {
		fprintf(stderr,
			"crrun: %s: the program finished already (exit status %d); remove the "
			"directory to run it again\n",
			r.dir, r.finished_status);
		return r.finished_status;
	}
	if (crrun_signals_setup(&r))
		return EXIT_CRRUN_FAILED;
	status = crrun_has_generation(&r) ? crrun_resume(&r) : crrun_start(&r);
	while (status == CRRUN_RUNNING) {
		status = event_loop(&r);
		/* crload found nothing to restore after all. */
		if (status == CRRUN_START_OVER)
			status = crrun_start(&r);
	}
	return status;
}

/* The history since the last look: the program's checkpoints. */
static void on_history(void *arg, const struct sc_history_event *ev)
{
	struct crrun *r = arg;
	const char *then = sc_history_get(ev, "then"), *image = sc_history_get(ev, "image");

	if (!strcmp(ev->event, SELFCKPT_EV_CHECKPOINT) && then && image) {
		if (!strcmp(then, "exit")) {
			r->checkpointed = true;
			snprintf(r->final_image, sizeof(r->final_image), "%s", image);
		} else if (r->final_asked) {
			/* Taken for another request that was under way: the
			 * final one was dropped, so ask again. */
			r->final_asked = false;
			r->final_pending = true;
		}
	} else if (!strcmp(ev->event, SELFCKPT_EV_CHECKPOINT_FAILED) && r->final_asked) {
		/* The runtime said why, on the program's stderr. A later
		 * warning (the time limit's SIGTERM) asks again. */
		fprintf(stderr, "crrun: the final checkpoint failed; the program runs on until "
				"the batch system ends it\n");
		r->final_asked = false;
	}
}

static void ask_final(struct crrun *r)
{
	if (!r->final_pending || r->final_asked || r->prog <= 0)
		return;
	if (crrun_ask_final(r))
		fprintf(stderr, "crrun: cannot ask pid %d for a checkpoint: %s\n", (int)r->prog,
			strerror(errno));
	r->final_pending = false;
	r->final_asked = true;
}

static void on_signal(struct crrun *r, const struct signalfd_siginfo *si)
{
	int sig = (int)si->ssi_signo;

	if (sig == SIGCHLD)
		return;
	if (r->checkpointed || r->final_asked || r->final_pending)
		return; /* one final checkpoint: the rest repeat the warning */
	crrun_history(r, SELFCKPT_EV_WARNING, "signal", sc_signal_name(sig));
	r->final_pending = true;
	r->requeue_after = r->requeue && sig == r->warn_sig;
	ask_final(r);
}

/* Reaps what ended: the child, and orphans crload or the program left
 * to crrun (a subreaper). True once the child is gone. */
static bool reap(struct crrun *r, int *status)
{
	int st;
	pid_t w;

	while ((w = waitpid(-1, &st, WNOHANG)) > 0)
		if (w == r->child) {
			*status = st;
			r->child = 0;
		}
	return r->child == 0;
}

static int finish(struct crrun *r, int status)
{
	char num[16];
	int code;

	crrun_kill_leftovers();
	/* The last lines, written before the child ended, decide. */
	sc_history_read(r->dir, r->history_off, &r->history_off, on_history, r);
	if (r->checkpointed) {
		snprintf(num, sizeof(num), "%d", EXIT_CHECKPOINTED);
		crrun_history(r, SELFCKPT_EV_EXIT, "status", num, "how", "checkpointed", "image",
			      r->final_image);
		fprintf(stderr, "crrun: checkpointed in %s/%s; run again to resume\n", r->dir,
			r->final_image);
		if (r->requeue_after)
			crrun_requeue(r);
		return EXIT_CHECKPOINTED;
	}
	code = sc_shell_status(status);
	snprintf(num, sizeof(num), "%d", code);
	crrun_history(r, SELFCKPT_EV_EXIT, "status", num, "how",
		      WIFEXITED(status) ? "exited" : "killed");
	return code;
}

static int event_loop(struct crrun *r)
{
	struct pollfd pfd[2] = { { .fd = r->sigfd, .events = POLLIN },
				 { .fd = r->watchfd, .events = POLLIN } };
	off_t seen = r->history_off;
	int status = 0;

	for (;;) {
		struct signalfd_siginfo si;
		char buf[4096];

		if (poll(pfd, 2, -1) < 0 && errno != EINTR) {
			perror("crrun: poll");
			return EXIT_CRRUN_FAILED;
		}
		if (pfd[1].revents & POLLIN) {
			while (read(r->watchfd, buf, sizeof(buf)) > 0)
				;
			if (r->resumed && r->prog <= 0)
				crrun_learn_pid(r);
			sc_history_read(r->dir, r->history_off, &r->history_off, on_history, r);
			/* The runtime's new lines (its checkpoints) go to the
			 * shared tier too. */
			if (r->history_off != seen) {
				seen = r->history_off;
				crrun_history_to_shared(r);
			}
		}
		while (read(r->sigfd, &si, sizeof(si)) == sizeof(si))
			on_signal(r, &si);
		ask_final(r);
		if (reap(r, &status))
			break;
	}
	if (r->resumed && r->prog <= 0 && !crrun_learn_pid(r))
		return crrun_resume_failed(r);
	return finish(r, status);
}
