// SPDX-License-Identifier: MIT
/*
 * crload IMAGE_DIR: restore a checkpointed process (IMAGE_DIR may also be
 * a directory of generations: generations.c).
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
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "cpu.h"
#include "fd_restore.h"
#include "fdkinds.h"
#include "restore.h"
#include "status.h"
#include "shell_job.h"
#include "signame.h"
#include "vdso.h"
#include "xstate.h"

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

/* Waits for every process crload started; the last one's status. */
static int wait_tops(pid_t *tops, size_t ntops)
{
	int status = 0, last = 1 << 8;
	pid_t w;

	while ((w = waitpid(-1, &status, 0)) >= 0 || errno == EINTR)
		if (w > 0 && top_ended(tops, ntops, w, status, &last))
			break;
	return sc_shell_status(last);
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
	case RST_SIGNALS:
		return "queuing pending signals again";
	case RST_RELEASE:
		return "waiting for the rest of the tree";
	case RST_TIMERS:
		return "making the POSIX timers again";
	case RST_GROUPS:
		return "setting the supplementary groups";
	case RST_IDS:
		return "setting the uids and gids";
	case RST_CAPS:
		return "setting the capabilities";
	case RST_SECUREBITS:
		return "setting the securebits";
	case RST_DUMPABLE:
		return "setting no_new_privs or dumpable";
	}
	return "?";
}

/* Reads the child's verdict; 0 when the process runs restored. */
static int read_status(int fd, char *err)
{
	char buf[4 * SC_ERR_LEN]; /* room for notices before the verdict */
	ssize_t n, len = 0;

	while ((n = read(fd, buf + len, sizeof(buf) - 1 - (size_t)len)) > 0)
		len += n;
	buf[len] = '\0';
	/* Notices first: printed, and the verdict follows them. */
	for (char *nl; buf[0] == 'N' && (nl = memchr(buf, '\n', (size_t)len));) {
		fprintf(stderr, "crload: %.*s\n", (int)(nl - buf - 1), buf + 1);
		len -= nl + 1 - buf;
		memmove(buf, nl + 1, (size_t)len + 1);
	}
	if (len >= 1 && buf[0] == 'K')
		return 0;
	if (len >= 1 && buf[0] == 'M') {
		memcpy(err, buf + 1, SC_ERR_LEN - 1);
		err[SC_ERR_LEN - 1] = '\0';
	} else if (len >= (ssize_t)sizeof(struct rst_status) && buf[0] == 'E') {
		struct rst_status st;

		memcpy(&st, buf, sizeof(st));
		sc_err(err, "restorer failed %s (item %u): %s", step_name(st.step), st.tid_index,
		       strerror(st.err));
	} else {
		sc_err(err, "the restored process died before it was restored");
	}
	return -1;
}

/* What crload holds for the restored processes once they are forked:
 * their status pipes' write ends and the pipes they share. */
static void close_loader_fds(struct restore_ctx *ctx)
{
	close(ctx->release_fd);
	for (size_t i = 0; i < ctx->img->nprocs; i++) {
		close(ctx->status_fds[i]);
		if (ctx->lazy_fds)
			close(ctx->lazy_fds[i]);
	}
	for (size_t i = 0; i < ctx->nshared; i++) {
		close(ctx->shared[i].ends[0]);
		close(ctx->shared[i].ends[1]);
	}
	shared_files_release(&ctx->shared_mem);
	for (size_t i = 0; i < ctx->ndesc_fds; i++)
		close(ctx->desc_fds[i]);
}

/* In namespace mode: init of the new pid namespace. Creates the restored
 * root (and the other commands of its job), forwards signals to the root,
 * reaps everything, exits with the status of the last of them. */
static void __attribute__((noreturn))
ns_init(struct restore_ctx *ctx, struct shell_job *job, pid_t *tops)
{
	char err[SC_ERR_LEN];
	int ntops, last = 1 << 8;

	close(ctx->release_wr);
	if (mount_proc_in_ns(err) || (ntops = tree_fork_top(ctx, job, tops, err)) < 0) {
		status_message(ctx->status_fd, err);
		_exit(127);
	}
	close_loader_fds(ctx);
	release_generation();
	/* Outliving a --restore-detached crload, this init must not hold
	 * its caller's output open: $(crload -d ...) would never end. */
	int null = open("/dev/null", O_RDWR);
	for (int fd = 0; fd <= 2 && null >= 0; fd++)
		dup2(null, fd);
	if (null > 2)
		close(null);
	install_forwarding(tops[0]);
	for (;;) {
		int status;
		pid_t w = shell_job_reap(job, tops, (size_t)ntops, &status);

		if (w > 0 && top_ended(tops, (size_t)ntops, w, status, &last))
			_exit(sc_shell_status(last));
		if (w < 0 && errno == ECHILD)
			_exit(1);
	}
}

/* Test aid (doc/faults.md): SELFCKPT_TEST_STOP_AT=STAGE stops crload
 * with SIGSTOP at that stage of a restore, for a test to kill it there. */
static void stop_at(const char *stage)
{
	const char *want = getenv("SELFCKPT_TEST_STOP_AT");

	if (want && !strcmp(want, stage))
		raise(SIGSTOP);
}

/* Every process of the tree is restored: all run on together. */
static int release_tree(struct restore_ctx *ctx, char *err)
{
	char go[256];
	size_t left = ctx->img->nprocs;

	/* Processes that died meanwhile are an error, not a SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	memset(go, 'G', sizeof(go));
	while (left) {
		ssize_t n = write(ctx->release_wr, go, left < sizeof(go) ? left : sizeof(go));

		if (n < 0 && errno != EINTR) {
			sc_err(err, "releasing the restored processes: %s", strerror(errno));
			return -1;
		}
		left -= n > 0 ? (size_t)n : 0;
	}
	close(ctx->release_wr);
	return 0;
}

/* Every process of the image as it will be restored: 0, or -1 with err. */
static int preflight(struct sc_image *img, const struct crload_opts *opts, struct file_cuts *cuts,
		     char *err)
{
	if (tree_preflight(img, err) || creds_preflight(img, err))
		return -1;
	for (size_t i = 0; i < img->nprocs; i++) {
		const struct sc_proc_img *p = &img->procs[i];

		/* A register state the kernel would silently load as FXSAVE
		 * only, or not at all, is never restored (doc/xsave.md). */
		if (sc_xstate_check_core(sc_xstate_this_cpu(), p->core, err, SC_ERR_LEN) ||
		    sc_check_vdso(p->mm, err) ||
		    fd_path_preflight(img, p->pid, p->fds, &opts->inherits,
				      opts->allow_changed_files, cuts, err) ||
		    fd_inet_preflight(p->fds, opts->tcp_established, err))
			return -1;
		/* The restorer makes each timer under its id, which takes a
		 * kernel that lets it choose (Linux 6.15). */
		if (p->core->n_posix_timers && !sc_kernel_restores_timer_ids())
			return sc_err(
				err,
				"process %d has POSIX timers, and this kernel cannot make them "
				"again under their ids (PR_TIMER_CREATE_RESTORE_IDS, Linux 6.15)",
				p->pid);
	}
	return 0;
}

/* Can the program run on this CPU (doc/cpu-check.md)? 0, or -1 with err. */
static int check_cpu(const struct sc_image *img, enum sc_cpu_check mode, char *err, size_t len)
{
	struct sc_cpu was, now;

	if (mode == SC_CPU_CHECK_NONE)
		return 0;
	if (!img->inv->cpu) {
		fprintf(stderr,
			"crload: note: %s does not record its CPU (written before the CPU "
			"check): restored without it\n",
			img->dir);
		return 0;
	}
	sc_cpu_from_msg(img->inv->cpu, &was);
	sc_cpu_this(&now);
	return sc_cpu_compare(&was, &now, mode, err, len);
}

static void describe_fds(const Sc__Fds *fds)
{
	for (size_t i = 0; i < fds->n_fds; i++) {
		const struct fd_restore_half *k = fd_restore_kind(fds->fds[i]->kind);
		char what[SC_ERR_LEN];

		k->describe(fds->fds[i], what, sizeof(what));
		fprintf(stderr, "crload:   fd %d: %s: %s\n", fds->fds[i]->fd,
			sc_fd_kind_name(fds->fds[i]->kind), what);
	}
}

/* A file of /proc, the one crload started with: entering new namespaces
 * mounts the new pid namespace's over it. */
static FILE *proc_file(int proc, const char *fmt, int a, int b)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), fmt, a, b);
	fd = openat(proc, path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? NULL : fdopen(fd, "r");
}

/*
 * The pid, in crload's own pid namespace (proc: its /proc), of the
 * process that has pid inner in the namespace whose init is crload's
 * child init: what --restore-detached prints, the pid a caller can
 * signal. The init itself if that process is gone already (killing the
 * init ends the tree).
 */
static pid_t outer_pid(int proc, pid_t init, pid_t inner)
{
	char buf[4096];
	pid_t found = init;
	FILE *f = proc_file(proc, "%d/task/%d/children", init, init);

	if (!f)
		return init;
	for (int c; fscanf(f, "%d", &c) == 1 && found == init;) {
		FILE *st = proc_file(proc, "%d/status", c, 0);
		char *ns, *last;

		if (!st)
			continue;
		buf[fread(buf, 1, sizeof(buf) - 1, st)] = '\0';
		fclose(st);
		ns = strstr(buf, "\nNSpid:");
		if (!ns)
			continue;
		ns[strcspn(ns + 1, "\n") + 1] = '\0';
		/* The last pid of the line is the one in the innermost. */
		last = strrchr(ns, '\t');
		if (last && atoi(last + 1) == inner)
			found = c;
	}
	fclose(f);
	return found;
}

/* Whole or not at all, for whoever waits for it to appear. */
static int write_pidfile(const char *path, pid_t pid)
{
	char tmp[PATH_MAX];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp-%d", path, (int)getpid()) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "%d\n", (int)pid);
	if (fclose(f) || rename(tmp, path)) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: crload [--restore-detached] [--allow-changed-files] [--tcp-established]\n"
		"              [--shell-job] [--cpu-check=MODE] [--inherit-fd N:PATH]...\n"
		"              [--pidfile FILE] [--flush-dir DIR] [--lazy] [-v] IMAGE_DIR\n"
		"Restores the process checkpointed in IMAGE_DIR and waits for it. Given a\n"
		"directory of generations ckpt-N, restores the newest that verifies.\n"
		"  -d, --restore-detached  print the restored pid and return at once\n"
		"  -F, --allow-changed-files\n"
		"                          restore files as they are now: a file the process\n"
		"                          writes that grew is not cut back, and one that got\n"
		"                          shorter or was replaced does not stop the restore\n"
		"  -T, --tcp-established   restore established TCP connections in TCP_REPAIR\n"
		"                          mode (needs CAP_NET_ADMIN); the peer sees no reset\n"
		"  -j, --shell-job         restore a job of a shell as a job of this terminal\n"
		"  -C, --cpu-check=MODE    what this CPU must have of the image's: features\n"
		"                          (the default: every feature it had), model (those\n"
		"                          and the same vendor, family and model), or none\n"
		"  -I, --inherit-fd N:PATH descriptors on the file PATH take crload's descriptor\n"
		"                          N as it is, unchecked (a batch system's output file)\n"
		"  -p, --pidfile FILE      write the restored pid to FILE once it runs\n"
		"      --flush-dir DIR     the shared tier IMAGE_DIR's generations are flushed\n"
		"                          to: the newest of either that verifies, the local\n"
		"                          one when as new (IMAGE_DIR may be gone)\n"
		"  -L, --lazy              run the processes before their private memory is\n"
		"                          in: pages are served as they touch them, the rest\n"
		"                          filled in the background\n"
		"  -v, --verbose           say how the process is restored\n");
}

/* One restore, carried from phase to phase of main. */
struct crload {
	struct crload_opts opts;
	enum sc_cpu_check cpu_check;
	const char *image_arg; /* as given: an image or a directory of generations */
	const char *flush_dir; /* --flush-dir: the shared tier of image_arg, or NULL */
	char **argv; /* crload's own, to start again with an older generation */
	char image_dir[PATH_MAX]; /* the image chosen */
	struct sc_image img;
	struct pid_plan plan;
	struct restore_ctx ctx;
	struct shell_job job;
	struct file_cuts cuts;
	int *status_rd; /* per process: where it says how its restore went */
	pid_t *tops; /* the processes crload forks and waits for */
	int ntops;
	pid_t first; /* tops[0], or the namespace's init */
	int outer_proc; /* /proc as seen from outside new namespaces, or -1 */
	double t0, t1; /* started, image validated (ms) */
	char err[SC_ERR_LEN];
};

/* -1 to go on, or crload's exit status. */
static int parse_options(int argc, char **argv, struct crload *c)
{
	static const struct option longopts[] = {
		{ "restore-detached", no_argument, NULL, 'd' },
		{ "allow-changed-files", no_argument, NULL, 'F' },
		{ "tcp-established", no_argument, NULL, 'T' },
		{ "shell-job", no_argument, NULL, 'j' },
		{ "cpu-check", required_argument, NULL, 'C' },
		{ "inherit-fd", required_argument, NULL, 'I' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "flush-dir", required_argument, NULL, 'f' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "lazy", no_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct crload_opts *opts = &c->opts;
	int o;

	c->cpu_check = SC_CPU_CHECK_FEATURES;
	while ((o = getopt_long(argc, argv, "dvhFTjLC:I:p:", longopts, NULL)) != -1) {
		switch (o) {
		case 'C':
			if (sc_cpu_check_parse(optarg, &c->cpu_check)) {
				fprintf(stderr, "crload: --cpu-check=%s: features, model or none\n",
					optarg);
				return 2;
			}
			break;
		case 'F':
			opts->allow_changed_files = true;
			break;
		case 'I':
			if (fd_inherit_add(&opts->inherits, optarg, c->err)) {
				fprintf(stderr, "crload: %s\n", c->err);
				return 2;
			}
			break;
		case 'p':
			opts->pidfile = optarg;
			break;
		case 'f':
			c->flush_dir = optarg;
			break;
		case 'T':
			opts->tcp_established = true;
			break;
		case 'j':
			opts->shell_job = true;
			break;
		case 'd':
			opts->detached = true;
			break;
		case 'L':
			opts->lazy = true;
			break;
		case 'v':
			opts->verbose = true;
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
	c->image_arg = argv[optind];
	return -1;
}

/* Before anything is made: the image read and validated, then this
 * machine, the files, the pids and the terminal it needs. 0, or -1 having
 * said why. */
static int check_image(struct crload *c)
{
	const char *tiers[SC_TIERS] = { c->image_arg, c->flush_dir };
	char cpu_err[SC_CPU_ERR_LEN];

	c->t0 = now_ms();
	if (load_image(tiers, &c->img, c->image_dir, c->err, false)) {
		fprintf(stderr, "crload: %s: %s\n", c->image_dir, c->err);
		return -1;
	}
	c->opts.dir = c->image_dir;
	if (c->opts.verbose)
		fprintf(stderr, "crload: restoring %s\n", c->image_dir);
	if (check_cpu(&c->img, c->cpu_check, cpu_err, sizeof(cpu_err))) {
		fprintf(stderr, "crload: %s: %s; --cpu-check=none restores anyway\n", c->opts.dir,
			cpu_err);
		return -1;
	}
	if (preflight(&c->img, &c->opts, &c->cuts, c->err) ||
	    plan_pids(&c->img, &c->plan, c->err) ||
	    shell_job_preflight(&c->img, c->opts.shell_job, c->opts.detached, &c->job, c->err)) {
		fprintf(stderr, "crload: %s: %s\n", c->opts.dir, c->err);
		return -1;
	}
	if (c->opts.lazy)
		c->opts.lazy = lazy_preflight(&c->img, &c->plan, c->opts.verbose);
	c->t1 = now_ms();
	if (!c->opts.verbose)
		return 0;
	fprintf(stderr, "crload: image validated in %.1f ms\n", c->t1 - c->t0);
	for (size_t i = 0; i < c->img.nprocs; i++) {
		const struct sc_proc_img *p = &c->img.procs[i];

		describe_fds(p->fds);
		fprintf(stderr, "crload: restoring pid %d (%zu threads) %s\n", p->pid,
			p->core->n_threads,
			c->plan.new_ns ? (c->plan.user_ns ? "in new user and pid namespaces"
							  : "in a new pid namespace")
				       : "with its own pid");
	}
	return 0;
}

/*
 * A generation whose pages turned out damaged as they were read (their
 * sums in parts are checked as memory is filled, after the fork:
 * doc/checksums.md; shared memory's before it), its tree, if made,
 * killed before anything of it ran: crload DIR of generations starts
 * again, a new program, without it, as if its validation had refused it
 * (doc/faults.md). Not in new namespaces, which crload enters itself.
 * Returns only when it does not.
 */
static void retry_older(struct crload *c, const char *why)
{
	const char *had = getenv(DAMAGED_ENV);
	size_t dir_len = strlen(c->image_dir);
	char list[8192];

	if (!strstr(why, SC_CORRUPTED) || !strcmp(c->image_dir, c->image_arg) || c->plan.new_ns ||
	    (size_t)snprintf(list, sizeof(list), "%s%s%s", had ? had : "", had ? ":" : "",
			     c->image_dir) >= sizeof(list))
		return;
	/* Named as the validation names a file of it. */
	if (!strncmp(why, c->image_dir, dir_len) && why[dir_len] == '/')
		why += dir_len + 1;
	fprintf(stderr, "crload: %s: skipped: %s\n", c->image_dir, why);
	fflush(NULL);
	setenv(DAMAGED_ENV, list, 1);
	execv("/proc/self/exe", c->argv);
	fprintf(stderr, "crload: cannot start again: %s\n", strerror(errno));
	exit(1);
}

/* What the processes share, made in crload before any of them exists:
 * the status pipes, the pipes, files and memory between them. */
static int prepare_tree(struct crload *c)
{
	struct restore_ctx *ctx = &c->ctx;
	size_t n = c->img.nprocs;
	int pipefd[2];

	memset(ctx, 0, sizeof(*ctx));
	ctx->img = &c->img;
	ctx->inherits = &c->opts.inherits;
	ctx->p = &c->img.procs[0];
	ctx->status_fds = calloc(n, sizeof(int));
	c->status_rd = calloc(n, sizeof(int));
	c->tops = calloc(n, sizeof(pid_t));
	if (!ctx->status_fds || !c->status_rd || !c->tops) {
		fprintf(stderr, "crload: out of memory\n");
		return -1;
	}
	for (size_t i = 0; i <= n; i++) {
		if (pipe2(pipefd, O_CLOEXEC)) {
			fprintf(stderr, "crload: %s: %s\n", c->opts.dir, strerror(errno));
			return -1;
		}
		if (i == n)
			break; /* the last one releases the tree */
		c->status_rd[i] = pipefd[0];
		ctx->status_fds[i] = pipefd[1];
	}
	ctx->release_fd = pipefd[0];
	ctx->release_wr = pipefd[1];
	ctx->status_fd = ctx->status_fds[0];
	ctx->lazy_fd = -1;
	if (c->opts.lazy && lazy_sockets(ctx, c->err)) {
		fprintf(stderr, "crload: %s: %s\n", c->opts.dir, c->err);
		return -1;
	}
	if (tree_make_shared(ctx, c->err) || shm_files_make(&c->img, c->err) ||
	    shared_files_of_tree(&ctx->shared_mem, &c->img, c->opts.lazy, c->err) ||
	    tree_open_shared_descs(ctx, c->err)) {
		/* Shared memory is filled from the pages here. */
		retry_older(c, c->err);
		fprintf(stderr, "crload: %s: %s\n", c->opts.dir, c->err);
		return -1;
	}
	fflush(NULL);
	return 0;
}

/* The namespaces entered, the SysV segments made and, last, once nothing
 * can refuse the restore, the files cut back. */
static int enter_and_cut(struct crload *c)
{
	/* In new namespaces, a new IPC namespace too: the SysV segments'
	 * keys and ids are free there, and ours to steer. */
	c->plan.ipc_ns = c->plan.new_ns && sysv_in_image(&c->img);
	c->outer_proc = c->plan.new_ns && (c->opts.detached || c->opts.pidfile)
				? open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
				: -1;
	if (c->plan.new_ns && enter_namespaces(&c->plan, c->err)) {
		fprintf(stderr, "crload: %s\n", c->err);
		return -1;
	}
	if (sysv_make(&c->img, &c->ctx.sysv, c->err) ||
	    file_cuts_apply(&c->cuts, c->img.dir, c->err)) {
		fprintf(stderr, "crload: %s: %s\n", c->opts.dir, c->err);
		sysv_finish(&c->ctx.sysv, false);
		return -1;
	}
	file_cuts_free(&c->cuts);
	return 0;
}

/* The tree forked: its root with its pid (or a namespace's init that
 * forks it), each process then forking its own children. */
static int fork_tree(struct crload *c)
{
	long pid;

	stop_at("fork");
	c->ntops = 1;
	if (c->plan.new_ns) {
		pid = fork();
		if (pid == 0)
			ns_init(&c->ctx, &c->job, c->tops);
		c->tops[0] = (pid_t)pid;
	} else {
		c->err[0] = '\0';
		c->ntops = tree_fork_top(&c->ctx, &c->job, c->tops, c->err);
		pid = c->ntops > 0 ? c->tops[0] : -1;
	}
	if (pid < 0 || c->ntops < 0) {
		fprintf(stderr, "crload: %s\n", c->err[0] ? c->err : strerror(errno));
		sysv_finish(&c->ctx.sysv, false);
		return -1;
	}
	c->first = (pid_t)pid;
	close_loader_fds(&c->ctx);
	install_forwarding(c->first);
	return 0;
}

/* Every process says it is restored, then the tree is let go at once;
 * if one fails, the whole tree is killed. */
static int release(struct crload *c)
{
	const struct sc_image *img = &c->img;
	int failed = 0;

	/* The page server first: the restorer waits for it (lazy.c). */
	if (c->opts.lazy &&
	    lazy_serve(&c->ctx, &c->opts, c->t0, c->plan.new_ns ? c->first : 0, c->err))
		failed = c->ctx.p->pid;
	stop_at("memory");
	for (size_t i = 0; i < img->nprocs && !failed; i++)
		if (read_status(c->status_rd[i], c->err))
			failed = img->procs[i].pid;
	if (!failed)
		stop_at("barrier");
	if (!failed && release_tree(&c->ctx, c->err))
		failed = c->ctx.p->pid;
	if (failed) {
		/* In a namespace its init takes every process with it. */
		for (size_t k = c->plan.new_ns ? img->nprocs : 1; k < img->nprocs; k++)
			kill(img->procs[k].pid, SIGKILL);
		kill(c->first, SIGKILL);
		/* Every child reaped on the way: a namespace's init ends only
		 * once its members are reaped, crload's page server and
		 * watchdog among them. */
		wait_tops(&c->first, 1);
		sysv_finish(&c->ctx.sysv, false);
		retry_older(c, c->err);
		fprintf(stderr, "crload: %s: pid %d: %s\n", c->opts.dir, failed, c->err);
		return -1;
	}
	/* The tree runs: crload waits for it from now on, and its generation
	 * must not outlive newer ones for as long. */
	release_generation();
	/* Every process attaches its segments now: those that were removed
	 * at the checkpoint are removed again (gone with the last detach). */
	sysv_finish(&c->ctx.sysv, true);
	return 0;
}

/* The tree runs: say where, then wait for it (or not, detached). */
static int run_on(struct crload *c)
{
	bool outer = c->plan.new_ns && (c->opts.detached || c->opts.pidfile);
	pid_t restored = outer ? outer_pid(c->outer_proc, c->first, c->ctx.p->pid) : c->ctx.p->pid;

	if (c->opts.verbose)
		fprintf(stderr,
			"crload: process running again after %.1f ms (%.1f ms validating)\n",
			now_ms() - c->t0, c->t1 - c->t0);
	if (c->opts.pidfile && write_pidfile(c->opts.pidfile, restored))
		fprintf(stderr, "crload: %s: %s\n", c->opts.pidfile, strerror(errno));
	if (c->opts.detached) {
		printf("%d\n", restored);
		return 0;
	}
	return c->job.active ? shell_job_wait(&c->job, c->tops, (size_t)c->ntops, c->plan.new_ns)
			     : wait_tops(c->tops, (size_t)c->ntops);
}

int main(int argc, char **argv)
{
	/* Static: the image's records and plans are large for a stack. */
	static struct crload c;
	int status = parse_options(argc, argv, &c);

	c.argv = argv;
	if (status >= 0)
		return status;
	if (check_image(&c) || prepare_tree(&c) || enter_and_cut(&c) || fork_tree(&c) ||
	    release(&c))
		return 1;
	return run_on(&c);
}
