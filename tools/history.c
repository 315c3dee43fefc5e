// SPDX-License-Identifier: MIT
/*
 * crinfo history DIR: what happened to a job crrun ran, across its
 * requeues (DIR/history, selfckpt/launcher.h), and how long its
 * checkpoints take: what the batch system's warning must leave them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crinfo.h"
#include "history.h"
#include "selfckpt/launcher.h"

struct tally {
	FILE *out;
	unsigned runs, checkpoints, finals;
	double max_stopped_ms; /* of any checkpoint */
	double warned_at; /* the last warning's time, 0 after its checkpoint */
	double max_final_s; /* from a warning to its checkpoint on disk */
};

static const char *field(const struct sc_history_event *ev, const char *key)
{
	const char *v = sc_history_get(ev, key);

	return v ? v : "?";
}

static void print_run(FILE *out, const struct sc_history_event *ev, const char *what)
{
	const char *job = sc_history_get(ev, "job"), *restarts = sc_history_get(ev, "restarts");
	const char *stdout_file = sc_history_get(ev, "stdout");

	fprintf(out, "%s pid %s on %s", what, field(ev, "pid"), field(ev, "host"));
	if (job)
		fprintf(out, ", job %s%s%s", job, restarts ? " restart " : "",
			restarts ? restarts : "");
	if (stdout_file)
		fprintf(out, ", output %s", stdout_file);
}

static void print_event(void *arg, const struct sc_history_event *ev)
{
	struct tally *t = arg;
	time_t secs = (time_t)ev->time;
	char when[32];

	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&secs));
	fprintf(t->out, "%s  ", when);
	if (!strcmp(ev->event, SELFCKPT_EV_START)) {
		t->runs++;
		print_run(t->out, ev, "started");
	} else if (!strcmp(ev->event, SELFCKPT_EV_RESUME)) {
		t->runs++;
		print_run(t->out, ev, "resumed");
	} else if (!strcmp(ev->event, SELFCKPT_EV_RESTORED)) {
		fprintf(t->out, "restored from %s", field(ev, "image"));
	} else if (!strcmp(ev->event, SELFCKPT_EV_WARNING)) {
		fprintf(t->out, "warning: SIG%s", field(ev, "signal"));
		t->warned_at = ev->time;
	} else if (!strcmp(ev->event, SELFCKPT_EV_CHECKPOINT)) {
		double stopped = atof(field(ev, "stopped_ms"));
		double mib = atof(field(ev, "bytes")) / (1 << 20);

		t->checkpoints++;
		if (stopped > t->max_stopped_ms)
			t->max_stopped_ms = stopped;
		fprintf(t->out, "checkpoint %s: %s process(es), %.1f MiB, stopped %.1f ms, then %s",
			field(ev, "image"), field(ev, "procs"), mib, stopped, field(ev, "then"));
		if (t->warned_at > 0) {
			double took = ev->time - t->warned_at;

			t->finals++;
			if (took > t->max_final_s)
				t->max_final_s = took;
			fprintf(t->out, " (%.3f s after the warning)", took);
			t->warned_at = 0;
		}
	} else if (!strcmp(ev->event, SELFCKPT_EV_CHECKPOINT_FAILED)) {
		fprintf(t->out, "checkpoint failed: %s", field(ev, "why"));
	} else if (!strcmp(ev->event, SELFCKPT_EV_REQUEUE)) {
		fprintf(t->out, "requeue of %s: exit status %s", field(ev, "job"),
			field(ev, "status"));
	} else if (!strcmp(ev->event, SELFCKPT_EV_EXIT)) {
		fprintf(t->out, "exit status %s (%s", field(ev, "status"), field(ev, "how"));
		if (sc_history_get(ev, "image"))
			fprintf(t->out, " in %s", field(ev, "image"));
		fputc(')', t->out);
	} else {
		fprintf(t->out, "%s", ev->event);
	}
	fputc('\n', t->out);
}

int crinfo_history(const char *dir, FILE *out)
{
	struct tally t = { .out = out };
	off_t end;

	if (sc_history_read(dir, 0, &end, print_event, &t)) {
		fprintf(stderr, "crinfo: %s: %s\n", dir,
			errno == ENOENT ? "no history: not a directory crrun ran a job in"
					: strerror(errno));
		return 1;
	}
	fprintf(out, "%u run(s), %u checkpoint(s)", t.runs, t.checkpoints);
	if (t.checkpoints)
		fprintf(out, ", the longest stopped the program %.1f ms", t.max_stopped_ms);
	if (t.finals)
		fprintf(out, "; the slowest final checkpoint was on disk %.3f s after its warning",
			t.max_final_s);
	fprintf(out, "\n");
	return 0;
}
