// SPDX-License-Identifier: MIT
/*
 * crload IMAGE_DIR: restore a checkpointed process.
 *
 * The whole image is validated before any process is created. crload then
 * forks the process with its saved pid (directly, or inside new pid and
 * user namespaces when the pid is taken or crload is unprivileged), the
 * child becomes the restored process, and crload waits for it and exits
 * with its status, forwarding the usual termination signals, unless
 * --restore-detached asks it to return at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "fd_restore.h"
#include "fdkinds.h"
#include "restore.h"
#include "vdso.h"

static volatile pid_t forward_to;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void forward_signal(int sig)
{
	if (forward_to > 0)
		kill(forward_to, sig);
}

static void install_forwarding(pid_t pid)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2 };
	struct sigaction sa;

	forward_to = pid;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward_signal;
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* Exit status the shell way: 128+n for a process killed by signal n. */
static int shell_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

static int wait_for(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	return shell_status(status);
}

static const char *step_name(int step)
{
	switch (step) {
	case RST_UNMAP:
		return "unmapping the loader";
	case RST_VDSO:
		return "moving the vDSO";
	case RST_MREMAP:
		return "moving memory into place";
	case RST_XCOMP:
		return "enabling AMX state";
	case RST_CLONE:
		return "creating a thread";
	case RST_THREAD:
		return "setting thread state";
	}
	return "?";
}

/* Reads the child's verdict; 0 when the process runs restored. */
static int read_status(int fd, char *err)
{
	char buf[SC_ERR_LEN];
	ssize_t n, len = 0;

	while ((n = read(fd, buf + len, sizeof(buf) - 1 - (size_t)len)) > 0)
		len += n;
	buf[len] = '\0';
	if (len >= 1 && buf[0] == 'K')
		return 0;
	if (len >= 1 && buf[0] == 'M') {
		memcpy(err, buf + 1, (size_t)len);
		err[SC_ERR_LEN - 1] = '\0';
	} else if (len >= (ssize_t)sizeof(struct rst_status) && buf[0] == 'E') {
		struct rst_status st;

		memcpy(&st, buf, sizeof(st));
		snprintf(err, SC_ERR_LEN, "restorer failed %s (item %u): %s", step_name(st.step),
			 st.tid_index, strerror(st.err));
	} else {
		snprintf(err, SC_ERR_LEN, "the restored process died before it was restored");
	}
	return -1;
}

/* In namespace mode: init of the new pid namespace. Creates the restored
 * process, forwards signals to it, reaps everything, exits with its status. */
static void __attribute__((noreturn)) ns_init(struct restore_ctx *ctx)
{
	char err[SC_ERR_LEN];
	long pid;

	if (mount_proc_in_ns(err)) {
		status_message(ctx->status_fd, err);
		_exit(127);
	}
	pid = fork_with_pid(ctx->p->pid, err);
	if (pid < 0) {
		status_message(ctx->status_fd, err);
		_exit(127);
	}
	if (pid == 0)
		restore_child(ctx);
	close(ctx->status_fd);
	close(ctx->pages_fd);
	/* Outliving a --restore-detached crload, this init must not hold
	 * its caller's output open: $(crload -d ...) would never end. */
	int null = open("/dev/null", O_RDWR);
	for (int fd = 0; fd <= 2 && null >= 0; fd++)
		dup2(null, fd);
	if (null > 2)
		close(null);
	install_forwarding((pid_t)pid);
	for (;;) {
		int status;
		pid_t w = wait(&status);

		if (w == pid)
			_exit(shell_status(status));
		if (w < 0 && errno == ECHILD)
			_exit(1);
	}
}

static void describe_fds(const Sc__Fds *fds)
{
	for (size_t i = 0; i < fds->n_fds; i++) {
		const struct fd_kind *k = sc_fd_kind(fds->fds[i]->kind);
		char what[SC_ERR_LEN];

		k->describe(fds->fds[i], what, sizeof(what));
		fprintf(stderr, "crload:   fd %d: %s: %s\n", fds->fds[i]->fd, k->name, what);
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: crload [--restore-detached] [--allow-changed-files] [--tcp-established]\n"
		   "              [-v] IMAGE_DIR\n"
		   "Restores the process checkpointed in IMAGE_DIR and waits for it.\n"
		   "  -d, --restore-detached  print the restored pid and return at once\n"
		   "  -F, --allow-changed-files\n"
		   "                          restore even if a file the process writes changed\n"
		   "                          size, or one it reads got shorter than its offset\n"
		   "  -T, --tcp-established   restore established TCP connections in TCP_REPAIR\n"
		   "                          mode (needs CAP_NET_ADMIN); the peer sees no reset\n"
		   "  -v, --verbose           say how the process is restored\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "restore-detached", no_argument, NULL, 'd' },
		{ "allow-changed-files", no_argument, NULL, 'F' },
		{ "tcp-established", no_argument, NULL, 'T' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct crload_opts opts = { 0 };
	struct sc_image img;
	struct pid_plan plan;
	struct restore_ctx ctx;
	char err[SC_ERR_LEN];
	int pipefd[2], c;
	long pid;

	while ((c = getopt_long(argc, argv, "dvhFT", longopts, NULL)) != -1) {
		switch (c) {
		case 'F':
			opts.allow_changed_files = true;
			break;
		case 'T':
			opts.tcp_established = true;
			break;
		case 'd':
			opts.detached = true;
			break;
		case 'v':
			opts.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("crload %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	opts.dir = argv[optind];

	double t0 = now_ms();
	if (sc_image_load(opts.dir, &img, err)) {
		fprintf(stderr, "crload: %s: %s\n", opts.dir, err);
		return 1;
	}
	if (img.inv->n_procs != 1) {
		fprintf(stderr, "crload: %s: images of %zu processes need process-tree support\n",
			opts.dir, img.inv->n_procs);
		return 1;
	}
	if (sc_check_vdso(img.procs[0].mm, err) || plan_pids(&img, &plan, err) ||
	    fd_path_preflight(img.procs[0].fds, opts.allow_changed_files, err) ||
	    fd_inet_preflight(img.procs[0].fds, opts.tcp_established, err)) {
		fprintf(stderr, "crload: %s: %s\n", opts.dir, err);
		return 1;
	}
	double t1 = now_ms();
	if (opts.verbose)
		fprintf(stderr, "crload: image validated in %.1f ms\n", t1 - t0);
	if (opts.verbose)
		describe_fds(img.procs[0].fds);
	if (opts.verbose)
		fprintf(stderr, "crload: restoring pid %d (%zu threads) %s\n", img.procs[0].pid,
			img.procs[0].core->n_threads,
			plan.new_ns ? (plan.user_ns ? "in new user and pid namespaces"
						    : "in a new pid namespace")
				    : "with its own pid");

	memset(&ctx, 0, sizeof(ctx));
	ctx.img = &img;
	ctx.p = &img.procs[0];
	ctx.pages_fd = openat(img.dirfd, ctx.p->pages_name, O_RDONLY | O_CLOEXEC);
	if (ctx.pages_fd < 0 || pipe2(pipefd, O_CLOEXEC)) {
		fprintf(stderr, "crload: %s: %s: %s\n", opts.dir, ctx.p->pages_name, strerror(errno));
		return 1;
	}
	ctx.status_fd = pipefd[1];
	fflush(NULL);

	if (plan.new_ns) {
		if (enter_namespaces(&plan, err)) {
			fprintf(stderr, "crload: %s\n", err);
			return 1;
		}
		pid = fork();
		if (pid == 0)
			ns_init(&ctx);
	} else {
		pid = fork_with_pid(ctx.p->pid, err);
		if (pid == 0)
			restore_child(&ctx);
	}
	if (pid < 0) {
		fprintf(stderr, "crload: %s\n", pid == -1 && err[0] ? err : strerror(errno));
		return 1;
	}
	close(pipefd[1]);
	close(ctx.pages_fd);
	install_forwarding((pid_t)pid);
	if (read_status(pipefd[0], err)) {
		fprintf(stderr, "crload: %s: %s\n", opts.dir, err);
		kill((pid_t)pid, SIGKILL);
		wait_for((pid_t)pid);
		return 1;
	}
	close(pipefd[0]);
	if (opts.verbose)
		fprintf(stderr, "crload: process running again after %.1f ms (%.1f ms validating)\n",
			now_ms() - t0, t1 - t0);
	if (opts.detached) {
		printf("%d\n", ctx.p->pid);
		return 0;
	}
	return wait_for((pid_t)pid);
}
