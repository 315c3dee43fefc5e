// SPDX-License-Identifier: MIT
/*
 * crload --shell-job (doc/shell-job.md): the restored job becomes a job
 * of crload's terminal. It is in crload's session already (crload forks
 * it), gets its own process group, and takes the terminal's foreground
 * itself before it runs, so that it never reads from the terminal as a
 * background group. crload waits for it: when it stops (Ctrl-Z) crload
 * takes the terminal back and stops too, so the shell that runs crload
 * regains control; `fg` continues crload, which hands the terminal and a
 * SIGCONT on to the job. When the job ends, crload takes the terminal
 * back and exits with the job's status.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "procparse.h"
#include "shell_job.h"
#include "signame.h"

/* The terminal's name for messages: /proc/PID/stat gives its device. */
static void tty_name(uint32_t tty_nr, char *buf, size_t len)
{
	unsigned maj = major(tty_nr), min = minor(tty_nr);

	if (maj >= 136 && maj <= 143)
		snprintf(buf, len, "/dev/pts/%u", (maj - 136) * 256 + min);
	else
		snprintf(buf, len, "the terminal %u:%u", maj, min);
}

int shell_job_preflight(const struct sc_image *img, bool asked, bool detached,
			struct shell_job *job, char *err)
{
	const Sc__Inventory *inv = img->inv;
	char name[32];

	memset(job, 0, sizeof(*job));
	job->tty = job->proc = job->events[0] = job->events[1] = -1;
	/* --shell-job allows a shell job; other images restore as without it. */
	if (!inv->shell_job)
		return 0;
	tty_name(img->procs[0].core->tty_nr, name, sizeof(name));
	if (!asked)
		return sc_err(
			err,
			"pid %d is a job of a shell on %s (its session's leader is not in the "
			"image): restore it with --shell-job, from a terminal",
			inv->procs[0]->pid, name);
	job->tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (job->tty < 0)
		return sc_err(
			err,
			"--shell-job: crload has no controlling terminal (/dev/tty: %s); run it "
			"from a terminal",
			strerror(errno));
	job->active = !detached;
	if (inv->job_foreground && tcgetpgrp(job->tty) != getpgrp())
		return sc_err(
			err,
			"--shell-job: the job was in the foreground of %s and crload is not in "
			"its terminal's foreground; run crload as a foreground command",
			name);
	if (inv->job_foreground && detached)
		return sc_err(
			err,
			"--shell-job: the job was in the foreground of %s, which needs crload to "
			"stay; restore it without --restore-detached",
			name);
	if (!job->active)
		return 0;
	job->proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (job->proc < 0 || pipe2(job->events, O_CLOEXEC)) {
		sc_err(err, "/proc or a pipe: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* tcsetpgrp from any group: SIGTTOU would stop a background caller. */
static int give_terminal(int fd, pid_t pgrp)
{
	sigset_t ttou, old;
	int r;

	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	sigprocmask(SIG_BLOCK, &ttou, &old);
	r = tcsetpgrp(fd, pgrp);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return r;
}

int shell_job_enter(const struct sc_image *img, char *err)
{
	int fd;

	if (!img->inv->shell_job)
		return 0;
	/* The job is its own group, led by this process; the other commands
	 * of a pipeline join it (tree_fork_top). */
	if (setpgid(0, 0)) {
		sc_err(err, "--shell-job: a process group for the job: %s", strerror(errno));
		return -1;
	}
	if (!img->inv->job_foreground)
		return 0;
	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 || give_terminal(fd, getpgrp())) {
		sc_err(err, "--shell-job: taking the terminal's foreground: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

void shell_job_foreground(const struct sc_image *img, const struct shell_job *job, pid_t leader)
{
	if (!img->inv->shell_job)
		return;
	setpgid(leader, leader);
	if (img->inv->job_foreground)
		give_terminal(job->tty, leader);
}

pid_t shell_job_reap(struct shell_job *job, const pid_t *tops, size_t ntops, int *status)
{
	pid_t w;

	if (!job->active)
		return wait(status);
	if (!job->stopped && !(job->stopped = calloc(ntops, sizeof(bool))))
		return wait(status);
	/* Ctrl-Z stops every command of the job: crload hears of it once,
	 * until the job is continued (by crload, in its namespace). */
	while ((w = waitpid(-1, status, WUNTRACED | WCONTINUED)) > 0 && !WIFEXITED(*status) &&
	       !WIFSIGNALED(*status)) {
		bool any = false;
		size_t i;

		for (i = 0; i < ntops; i++)
			any |= job->stopped[i];
		for (i = 0; i < ntops && tops[i] != w; i++)
			;
		if (i == ntops)
			continue;
		job->stopped[i] = WIFSTOPPED(*status);
		/* Nobody to tell once crload is gone (EPIPE): wait on. */
		if (WIFSTOPPED(*status) && !any && write(job->events[1], "S", 1) < 0)
			continue;
	}
	for (size_t i = 0; w > 0 && i < ntops; i++)
		if (tops[i] == w)
			job->stopped[i] = false;
	return w;
}

/* The job's group in crload's pid namespace, from a child of init pid
 * (every one is a command of the job): the job, restored in a new pid
 * namespace, has other pids here. Read from the /proc opened before: the
 * /proc mounted for the namespace shows its pids. */
static pid_t group_of_child(int proc, pid_t pid)
{
	int dfd = openat(proc, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *e;
	pid_t found = -1;

	while (d && found < 0 && (e = readdir(d))) {
		char path[32], buf[1024];
		struct pp_stat st;
		int fd, p = atoi(e->d_name);
		ssize_t n;

		if (p <= 0)
			continue;
		snprintf(path, sizeof(path), "%d/stat", p);
		fd = openat(proc, path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		close(fd);
		if (n > 0 && !pp_parse_stat(buf, (size_t)n, &st) && st.ppid == pid)
			found = st.pgrp;
	}
	if (d)
		closedir(d);
	else if (dfd >= 0)
		close(dfd);
	return found;
}

/* The job stopped: the terminal back to crload, which stops too (its
 * shell sees a stopped job); once continued in the foreground (`fg`) the
 * job gets the terminal again, and it is continued either way. */
static void job_stopped(struct shell_job *job)
{
	if (tcgetpgrp(job->tty) == job->pgid)
		give_terminal(job->tty, getpgrp());
	kill(getpid(), SIGTSTP);
	if (tcgetpgrp(job->tty) == getpgrp())
		give_terminal(job->tty, job->pgid);
	kill(-job->pgid, SIGCONT);
}

int shell_job_wait(struct shell_job *job, pid_t *tops, size_t ntops, bool ns)
{
	int status = 0, w_status;
	pid_t w;
	char ev;

	close(job->events[1]);
	job->pgid = ns ? group_of_child(job->proc, tops[0]) : tops[0];
	for (;;) {
		if (ns) {
			ssize_t n = read(job->events[0], &ev, 1);

			if (n < 0 && errno == EINTR)
				continue;
			if (n == 1) {
				if (job->pgid <= 0)
					job->pgid = group_of_child(job->proc, tops[0]);
				if (job->pgid > 0)
					job_stopped(job);
				continue;
			}
			/* End of file: init, and so the job, is gone. */
			while (waitpid(tops[0], &status, 0) < 0 && errno == EINTR)
				;
			break;
		}
		/* A Ctrl-Z stops every command: the first stop is the job's. */
		if ((w = waitpid(-1, &w_status, WUNTRACED)) < 0) {
			if (errno == EINTR)
				continue;
			status = 1 << 8;
			break;
		}
		if (WIFSTOPPED(w_status))
			job_stopped(job);
		else if (top_ended(tops, ntops, w, w_status, &status))
			break;
	}
	if (tcgetpgrp(job->tty) == job->pgid)
		give_terminal(job->tty, getpgrp());
	return sc_shell_status(status);
}

bool top_ended(pid_t *tops, size_t ntops, pid_t w, int status, int *last)
{
	bool left = false;

	for (size_t i = 0; i < ntops; i++) {
		if (tops[i] == w) {
			tops[i] = 0;
			if (i == ntops - 1)
				*last = status;
		}
		left |= tops[i] != 0;
	}
	return !left;
}
