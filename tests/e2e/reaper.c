// SPDX-License-Identifier: MIT
/*
 * reaper CMD [ARGS...]: runs CMD as a child subreaper, so that every
 * process the tests start, restored ones included, is reaped here and not
 * left to a PID 1 that does not reap. When CMD ends, whatever it left
 * behind is killed by pid and reaped. Exits with CMD's status.
 *
 * CMD runs in a session of its own, without the terminal make may run on:
 * a program checkpointed on that terminal would be a shell job, which
 * crload restores only with --shell-job (doc/shell-job.md). Ctrl-C, which
 * reaches only the reaper then, ends CMD and everything it left.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
	interrupted = sig;
}

/* Kills every process whose parent is us (orphans were reparented here). */
static int kill_children(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[64], buf[512], *p;
		FILE *f;
		int pid = atoi(e->d_name), ppid = 0;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
			sscanf(p + 2, "%*c %d", &ppid);
		fclose(f);
		if (ppid == getpid()) {
			kill(pid, SIGKILL);
			n++;
		}
	}
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_interrupt };
	int status = 0, cmd_status = 1;
	pid_t cmd;

	if (argc < 2) {
		fprintf(stderr, "usage: reaper CMD [ARGS...]\n");
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1)) {
		perror("reaper: PR_SET_CHILD_SUBREAPER");
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	cmd = fork();
	if (cmd == 0) {
		setsid();
		execvp(argv[1], argv + 1);
		perror(argv[1]);
		_exit(127);
	}
	for (;;) {
		pid_t w = wait(&status);

		if (w == cmd) {
			cmd_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			break;
		}
		if (w < 0 && errno == ECHILD)
			break;
		if (interrupted)
			kill(cmd, SIGKILL);
	}
	/* Each death may hand us its orphans: kill those too. */
	kill_children();
	while (wait(&status) > 0)
		kill_children();
	return cmd_status;
}
