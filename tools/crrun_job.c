// SPDX-License-Identifier: MIT
/*
 * crrun's job directory, and the program in it: started under the runtime
 * or restored through crload, with the batch system's signals kept from it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
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

#include "crrun.h"
#include "history.h"
#include "restore.h"
#include "selfckpt/launcher.h"
#include "selfckpt/tiers.h"
#include "signame.h"

/* Names in DIR of crrun's own: never taken for a generation. */
#define LOCK_FILE ".crrun.lock"
#define PIDFILE ".crrun.pid"

/* Where crrun looks for the runtime and for crload: beside itself when
 * installed, in the build tree when run from there, then where make
 * install put them. %s is the directory crrun runs from. */
static const char *const library_places[] = { "%s/../runtime/.libs/libselfckpt.so",
					      "%s/../lib/libselfckpt.so",
					      SC_LIBDIR "/libselfckpt.so", NULL };
static const char *const crload_places[] = { "%s/crload", "%s/../loader/crload",
					     SC_BINDIR "/crload", NULL };

static int find_beside(const char *const *places, int mode, char *out)
{
	char self[PATH_MAX], path[PATH_MAX * 2];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n < 0)
		return -1;
	self[n] = '\0';
	if ((slash = strrchr(self, '/')))
		*slash = '\0';
	for (; *places; places++) {
		snprintf(path, sizeof(path), *places, self);
		if (!access(path, mode) && realpath(path, out))
			return 0;
	}
	return -1;
}

static int mkdir_p(const char *dir)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, S_IRWXU) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(path, S_IRWXU) && errno != EEXIST ? -1 : 0;
}

/* dir, made if missing, by its real path into *out: 0, or -1 said why. */
static int open_tier(const char *dir, const char **out)
{
	char real[PATH_MAX];

	if (mkdir_p(dir) || !realpath(dir, real)) {
		fprintf(stderr, "crrun: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	if (!(*out = strdup(real))) {
		fprintf(stderr, "crrun: out of memory\n");
		return -1;
	}
	return 0;
}

int crrun_open_dir(struct crrun *r, const char *dir, const char *flush_dir)
{
	char lock[PATH_MAX + sizeof(LOCK_FILE)];

	if (open_tier(dir, &r->dir) || (flush_dir && open_tier(flush_dir, &r->flush_dir)))
		return -1;
	/* Two crruns of one job would restore it twice. */
	snprintf(lock, sizeof(lock), "%s/%s", r->dir, LOCK_FILE);
	r->lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, S_IRUSR | S_IWUSR);
	if (r->lockfd < 0 || flock(r->lockfd, LOCK_EX | LOCK_NB)) {
		fprintf(stderr, "crrun: %s: %s\n", r->dir,
			errno == EWOULDBLOCK ? "another crrun runs this job" : strerror(errno));
		return -1;
	}
	r->watchfd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (r->watchfd < 0 ||
	    inotify_add_watch(r->watchfd, r->dir, IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
		fprintf(stderr, "crrun: %s: cannot watch it: %s\n", r->dir, strerror(errno));
		return -1;
	}
	return 0;
}

static void add_path(struct crrun_paths *p, const char *path)
{
	char **more;

	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->v[i], path))
			return;
	/* Out of memory: that file is checked at the restore like any other. */
	if (!(more = realloc(p->v, (p->n + 1) * sizeof(*more))))
		return;
	p->v = more;
	if ((p->v[p->n] = strdup(path)))
		p->n++;
}

/* What the runs before this one left: the batch system's output files,
 * and whether the program finished. */
static void on_past(void *arg, const struct sc_history_event *ev)
{
	static const char *const streams[] = { NULL, "stdout", "stderr" };
	struct crrun *r = arg;
	const char *v;

	if (!strcmp(ev->event, SELFCKPT_EV_START) || !strcmp(ev->event, SELFCKPT_EV_RESUME)) {
		r->finished = false;
		for (int s = STDOUT_FILENO; s <= STDERR_FILENO; s++)
			if ((v = sc_history_get(ev, streams[s])))
				add_path(&r->outputs[s], v);
	} else if (!strcmp(ev->event, SELFCKPT_EV_EXIT)) {
		v = sc_history_get(ev, "how");
		r->finished = v && !strcmp(v, "exited");
		v = sc_history_get(ev, "status");
		r->finished_status = v ? atoi(v) : 0;
	}
}

int crrun_read_history(struct crrun *r)
{
	crrun_history_from_shared(r);
	if (sc_history_read(r->dir, 0, &r->history_off, on_past, r) && errno != ENOENT) {
		fprintf(stderr, "crrun: %s/%s: %s\n", r->dir, SELFCKPT_HISTORY_FILE,
			strerror(errno));
		return -1;
	}
	return 0;
}

static void batch_signals(const struct crrun *r, sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, r->warn_sig);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
}

int crrun_signals_setup(struct crrun *r)
{
	sigset_t set;

	batch_signals(r, &set);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) ||
	    (r->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
		fprintf(stderr, "crrun: signals: %s\n", strerror(errno));
		return -1;
	}
	/* What the program leaves behind is crrun's to reap and, after a
	 * final checkpoint, to end. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1)) {
		fprintf(stderr, "crrun: PR_SET_CHILD_SUBREAPER: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

bool crrun_has_generation(const struct crrun *r)
{
	const char *tiers[SC_TIERS] = { r->dir, r->flush_dir };

	return has_generations(tiers);
}

void crrun_history_pairs(const struct crrun *r, const char *event, const char **pairs)
{
	static bool said;

	if (sc_history_append(r->dir, event, pairs) && !said) {
		fprintf(stderr, "crrun: %s/%s: %s\n", r->dir, SELFCKPT_HISTORY_FILE,
			strerror(errno));
		said = true;
	}
	crrun_history_to_shared(r);
}

/* The regular file on fd (the batch system's output), into buf; NULL if
 * it is something else. */
static const char *output_file(int fd, char *buf, size_t len)
{
	char link[32];
	struct stat st;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (n = readlink(link, buf, len - 1)) < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

/* start or resume, with what a later run needs to know. */
static void record_run(const struct crrun *r, const char *event, pid_t pid)
{
	char num[16], host[256] = "", out[PATH_MAX], err[PATH_MAX];

	snprintf(num, sizeof(num), "%d", (int)pid);
	gethostname(host, sizeof(host) - 1);
	crrun_history(r, event, "pid", num, "job", crrun_job_id(), "restarts", crrun_job_restarts(),
		      "host", host, "stdout", output_file(STDOUT_FILENO, out, sizeof(out)),
		      "stderr", output_file(STDERR_FILENO, err, sizeof(err)));
}

/* In the child: the batch signals stay blocked across exec until the
 * runtime ignores them (and the trigger until it can take it). SIGCONT is
 * one of them, though no warning: Slurm sends it to every process of a
 * job before SIGTERM. Blocked or ignored, it still resumes a stopped
 * process. */
static void child_signals(const struct crrun *r)
{
	sigset_t set;

	batch_signals(r, &set);
	sigaddset(&set, SIGCONT);
	sigaddset(&set, r->trigger_sig);
	sigprocmask(SIG_SETMASK, &set, NULL);
}

static int setup_env(const struct crrun *r, const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	char preload[PATH_MAX * 2], sigs[64];

	snprintf(preload, sizeof(preload), "%s%s%s", lib, old && *old ? " " : "", old ? old : "");
	snprintf(sigs, sizeof(sigs), "%d,%d,%d,%d", r->warn_sig, SIGTERM, SIGINT, SIGCONT);
	return setenv("LD_PRELOAD", preload, 1) || setenv("SELFCKPT_DIR", r->dir, 1) ||
	       setenv(SELFCKPT_BATCH_SIGNALS_ENV, sigs, 1) ||
	       (r->flush_dir && setenv(SELFCKPT_FLUSH_DIR_ENV, r->flush_dir, 1));
}

int crrun_start(struct crrun *r)
{
	char lib[PATH_MAX];
	int report[2], e;
	pid_t pid;

	if (find_beside(library_places, R_OK, lib)) {
		fprintf(stderr, "crrun: cannot find libselfckpt.so\n");
		return EXIT_CRRUN_FAILED;
	}
	if (pipe2(report, O_CLOEXEC) || (pid = fork()) < 0) {
		fprintf(stderr, "crrun: %s\n", strerror(errno));
		return EXIT_CRRUN_FAILED;
	}
	if (pid == 0) {
		close(report[0]);
		child_signals(r);
		if (!setup_env(r, lib))
			execvp(r->argv[0], r->argv);
		e = errno;
		if (write(report[1], &e, sizeof(e)) != sizeof(e))
			_exit(EXIT_CANNOT_EXEC);
		_exit(e == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
	}
	close(report[1]);
	/* EOF: the exec took place. */
	if (read(report[0], &e, sizeof(e)) == sizeof(e)) {
		close(report[0]);
		waitpid(pid, NULL, 0);
		fprintf(stderr, "crrun: %s: %s\n", r->argv[0], strerror(e));
		return e == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
	}
	close(report[0]);
	r->child = r->prog = pid;
	r->resumed = false;
	record_run(r, SELFCKPT_EV_START, pid);
	return CRRUN_RUNNING;
}

static void pidfile_path(const struct crrun *r, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", r->dir, PIDFILE);
}

int crrun_resume(struct crrun *r)
{
	char crload[PATH_MAX], pidfile[PATH_MAX + sizeof(PIDFILE)];
	/* crload, its options, two per inherited file, DIR, NULL */
	size_t n = 0, max = 8 + 2 * (r->outputs[1].n + r->outputs[2].n);
	char **argv = calloc(max, sizeof(*argv)), *spec;
	pid_t pid;

	if (!argv || find_beside(crload_places, X_OK, crload)) {
		fprintf(stderr, "crrun: %s\n", argv ? "cannot find crload" : "out of memory");
		return EXIT_CRRUN_FAILED;
	}
	pidfile_path(r, pidfile, sizeof(pidfile));
	unlink(pidfile);
	argv[n++] = crload;
	/* A job's connections are between its own processes. */
	argv[n++] = "--tcp-established";
	argv[n++] = "--pidfile";
	argv[n++] = pidfile;
	/* The batch system made its output files anew: the program writes
	 * on in the ones crrun has now. */
	for (int s = STDOUT_FILENO; s <= STDERR_FILENO; s++)
		for (size_t i = 0; i < r->outputs[s].n; i++) {
			if (asprintf(&spec, "%d:%s", s, r->outputs[s].v[i]) < 0)
				return EXIT_CRRUN_FAILED;
			argv[n++] = "--inherit-fd";
			argv[n++] = spec;
		}
	if (r->flush_dir) {
		argv[n++] = "--flush-dir";
		argv[n++] = (char *)r->flush_dir;
	}
	argv[n++] = (char *)r->dir;
	if ((pid = fork()) < 0) {
		fprintf(stderr, "crrun: %s\n", strerror(errno));
		return EXIT_CRRUN_FAILED;
	}
	if (pid == 0) {
		child_signals(r);
		execv(crload, argv);
		fprintf(stderr, "crrun: %s: %s\n", crload, strerror(errno));
		_exit(EXIT_CRRUN_FAILED);
	}
	r->child = pid;
	r->prog = 0;
	r->resumed = true;
	return CRRUN_RUNNING;
}

bool crrun_learn_pid(struct crrun *r)
{
	char pidfile[PATH_MAX + sizeof(PIDFILE)];
	int pid = 0;
	FILE *f;

	pidfile_path(r, pidfile, sizeof(pidfile));
	if (!(f = fopen(pidfile, "re")))
		return false;
	if (fscanf(f, "%d", &pid) != 1 || pid <= 0)
		pid = 0;
	fclose(f);
	unlink(pidfile);
	if (!pid)
		return false;
	r->prog = pid;
	record_run(r, SELFCKPT_EV_RESUME, pid);
	return true;
}

int crrun_resume_failed(struct crrun *r)
{
	struct sc_image img;
	const char *tiers[SC_TIERS] = { r->dir, r->flush_dir };
	char chosen[PATH_MAX], err[SC_ERR_LEN];
	int none = load_image_whole(tiers, &img, chosen, err, true);

	sc_image_free(&img);
	if (!none) {
		fprintf(stderr, "crrun: crload could not restore %s (above); nothing runs\n",
			r->dir);
		return EXIT_CRRUN_FAILED;
	}
	fprintf(stderr, "crrun: %s: %s; starting %s from the beginning\n", r->dir, err, r->argv[0]);
	return CRRUN_START_OVER;
}

int crrun_ask_final(const struct crrun *r)
{
	union sigval v = { .sival_ptr = (void *)(uintptr_t)SELFCKPT_FINAL_REQUEST };

	return sigqueue(r->prog, r->trigger_sig, v);
}

/* crrun's children now, -1 if none: orphans of the program that it
 * adopted as subreaper. */
static pid_t some_child(void)
{
	char path[64];
	int pid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	if (!(f = fopen(path, "re")))
		return -1;
	if (fscanf(f, "%d", &pid) != 1)
		pid = -1;
	fclose(f);
	return pid;
}

void crrun_kill_leftovers(void)
{
	pid_t pid;

	/* Each one killed may leave children of its own to crrun. */
	while ((pid = some_child()) > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}
