// SPDX-License-Identifier: MIT
/*
 * The shared tier (doc/tiers.md): once a checkpoint is committed to the
 * local SELFCKPT_DIR, crflush copies it to SELFCKPT_FLUSH_DIR while the
 * program runs on. The runtime only starts it, where the pruner runs (in
 * the copy when there is one, else in the trigger handler once the
 * threads run again), so it makes raw system calls only.
 *
 * crflush is started without copying the program's page tables: a
 * CLONE_VM|CLONE_VFORK child on a stack of its own execs it at once. Its
 * exit signal is none, so wait(), waitpid(-1) and SIGCHLD never report it
 * to the program; the runtime reaps it by its pid. With --detach,
 * crflush's first process exits as soon as it has forked the one that
 * copies, which belongs to nobody in the program: a flush never holds up
 * the program, nor the next checkpoint.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "dump.h"

#define SPAWN_STACK (64UL << 10)
#define LOG_ENV "SELFCKPT_LOG="

/* The highest generation the shared tier held when last looked at. */
static unsigned floor_gen;

void rt_flush_note_floor(const struct rt_config *cfg)
{
	int fd;

	if (!cfg->flush_dir[0])
		return;
	fd = (int)sc_sys4(__NR_openat, AT_FDCWD, cfg->flush_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC,
			  0);
	if (fd < 0)
		return;
	floor_gen = rt_highest_generation(fd);
	sc_sys1(__NR_close, fd);
}

unsigned rt_flush_floor(void)
{
	return floor_gen;
}

struct spawn {
	const char *path;
	char *const *argv, *const *envp;
};

/* The child: nothing of the program's but stdin, stdout and stderr, and
 * every signal still blocked (a handler of the program's would run on
 * memory the child shares with it) until crflush runs. */
static void exec_tool(void *arg)
{
	const struct spawn *s = arg;

	sc_sys3(__NR_close_range, 3, ~0U, 0);
	sc_sys3(__NR_execve, s->path, s->argv, s->envp);
	sc_sys1(__NR_exit_group, 127);
}

static void not_flushed(const struct rt_config *cfg, const char *why)
{
	char msg[RT_MAX_PATH + 64];

	rt_stpcpy(rt_stpcpy(rt_stpcpy(rt_stpcpy(msg, "not flushed to "), cfg->flush_dir), ": "),
		  why);
	rt_log(msg);
}

void rt_flush_start(const struct rt_config *cfg, const struct rt_dump_result *res, bool wait)
{
	char *stack = rt_alloc(SPAWN_STACK), *log = NULL;
	char *argv[7] = { (char *)cfg->flush_tool }, keep[32];
	int argc = 1;
	char *envp[] = { NULL, NULL };
	struct spawn s = { cfg->flush_tool, argv, envp };
	uint64_t all = ~0ULL, mask;
	siginfo_t si;
	long pid, r;

	if (!cfg->flush_dir[0] || res->err)
		return;
	if (!cfg->flush_tool[0] || !stack) {
		not_flushed(cfg, stack ? "crflush was not found" : "out of memory");
		return;
	}
	/* crflush [--detach] [--rate=MIB] --keep=N SELFCKPT_DIR SELFCKPT_FLUSH_DIR */
	if (!wait)
		argv[argc++] = "--detach";
	if (cfg->flush_rate[0])
		argv[argc++] = (char *)cfg->flush_rate;
	/* The shared tier keeps as many as the local one, and their chains. */
	rt_fmt_u64(rt_stpcpy(keep, "--keep="), cfg->keep);
	argv[argc++] = keep;
	argv[argc++] = (char *)cfg->dir;
	argv[argc] = (char *)cfg->flush_dir;
	if (rt_log_path()[0] && (log = rt_alloc(sizeof(LOG_ENV) + strlen(rt_log_path())))) {
		rt_stpcpy(rt_stpcpy(log, LOG_ENV), rt_log_path());
		envp[0] = log;
	}
	sc_sys4(__NR_rt_sigprocmask, SIG_SETMASK, &all, &mask, sizeof(mask));
	pid = rt_zclone(CLONE_VM | CLONE_VFORK, stack + SPAWN_STACK, NULL, exec_tool, &s);
	sc_sys4(__NR_rt_sigprocmask, SIG_SETMASK, &mask, NULL, sizeof(mask));
	if (pid < 0) {
		not_flushed(cfg, "crflush could not be started");
		return;
	}
	memset(&si, 0, sizeof(si));
	do
		r = sc_sys5(__NR_waitid, P_PID, pid, &si, WEXITED | __WALL, NULL);
	while (r == -EINTR);
	if (!r && si.si_code == CLD_EXITED && si.si_status == 127)
		not_flushed(cfg, "crflush could not be run");
}
