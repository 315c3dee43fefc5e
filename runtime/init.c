// SPDX-License-Identifier: MIT
/*
 * libselfckpt: preloaded into an app, it checkpoints the app on a signal.
 *
 * The constructor reads the configuration, installs the trigger handler
 * and starts the checkpoint thread. The trigger handler only wakes that
 * thread; the thread parks all others, writes the image and resumes them
 * (or exits, with SELFCKPT_EXIT=1).
 *
 * Environment:
 *   SELFCKPT_DIR       where images go (default: ./selfckpt.PID at start)
 *   SELFCKPT_SIGNAL    trigger signal, name or number (default: USR2)
 *   SELFCKPT_EXIT      1: exit after a successful checkpoint
 *   SELFCKPT_STOP      1: stay frozen after a successful checkpoint, until
 *                      killed (TCP connections stay in repair mode, so the
 *                      kill sends nothing to their peers: doc/tcp.md)
 *   SELFCKPT_INTERVAL  also checkpoint every N seconds
 *   SELFCKPT_LOG       append log lines to this file instead of stderr
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "rt.h"

struct rt_config rt_cfg;

static unsigned trigger_count;

static const struct {
	const char *name;
	int sig;
} sig_names[] = {
	{ "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "HUP", SIGHUP },	 { "INT", SIGINT },
	{ "TERM", SIGTERM }, { "QUIT", SIGQUIT }, { "ALRM", SIGALRM }, { "XCPU", SIGXCPU },
	{ "URG", SIGURG },   { "PWR", SIGPWR },	  { "WINCH", SIGWINCH },
};

static int parse_signal(const char *s)
{
	char *end;
	long v;

	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < sizeof(sig_names) / sizeof(sig_names[0]); i++)
		if (!strcasecmp(s, sig_names[i].name))
			return sig_names[i].sig;
	v = strtol(s, &end, 10);
	if (*end || v <= 0 || v >= SIGRTMAX || v == SIGKILL || v == SIGSTOP)
		return -1;
	return (int)v;
}

static void load_config(void)
{
	const char *s;
	char cwd[RT_MAX_PATH];

	rt_cfg.trigger_sig = SIGUSR2;
	rt_cfg.suspend_sig = SIGRTMAX;
	if ((s = getenv("SELFCKPT_SIGNAL")) && *s) {
		int sig = parse_signal(s);

		if (sig < 0)
			rt_log("SELFCKPT_SIGNAL is not a usable signal; using USR2");
		else
			rt_cfg.trigger_sig = sig;
	}
	rt_cfg.exit_after = (s = getenv("SELFCKPT_EXIT")) && !strcmp(s, "1");
	rt_cfg.stop_after = (s = getenv("SELFCKPT_STOP")) && !strcmp(s, "1");
	if ((s = getenv("SELFCKPT_INTERVAL")) && *s)
		rt_cfg.interval_sec = (unsigned)strtoul(s, NULL, 10);
	if ((s = getenv("SELFCKPT_LOG")) && *s && strlen(s) < RT_MAX_PATH)
		strcpy(rt_cfg.log_path, s);

	if (!getcwd(cwd, sizeof(cwd)))
		strcpy(cwd, "/tmp");
	s = getenv("SELFCKPT_DIR");
	if (s && *s == '/' && strlen(s) < RT_MAX_PATH) {
		strcpy(rt_cfg.dir, s);
	} else if (s && *s && strlen(cwd) + strlen(s) + 2 < RT_MAX_PATH) {
		char *p = rt_stpcpy(rt_cfg.dir, cwd);

		*p++ = '/';
		strcpy(p, s);
	} else {
		char *p = rt_stpcpy(rt_cfg.dir, cwd);

		p = rt_stpcpy(p, "/selfckpt.");
		rt_fmt_i64(p, getpid());
	}
}

static void trigger_handler(int sig, siginfo_t *si, void *uc)
{
	int saved_errno = errno;
	struct sigaction *app = &rt_app_trigger_action;

	__atomic_add_fetch(&trigger_count, 1, __ATOMIC_ACQ_REL);
	sc_sys3(__NR_futex, &trigger_count, FUTEX_WAKE_PRIVATE, 1);
	errno = saved_errno;

	/* The app asked for this signal too: give it what it asked for. */
	if (app->sa_flags & SA_SIGINFO) {
		if (app->sa_sigaction)
			app->sa_sigaction(sig, si, uc);
	} else if (app->sa_handler != SIG_DFL && app->sa_handler != SIG_IGN) {
		app->sa_handler(sig);
	}
}

static void log_result(uint64_t started, uint64_t ended)
{
	char msg[RT_MAX_PATH + 256], *p;

	if (rt_dump_res.err) {
		p = rt_stpcpy(msg, "checkpoint failed (");
		p = rt_stpcpy(p, rt_dump_res.what ? rt_dump_res.what : "?");
		p = rt_stpcpy(p, "): ");
		if (rt_dump_res.detail[0])
			p = rt_stpcpy(p, rt_dump_res.detail);
		else
			p = rt_stpcpy(p, strerror(-rt_dump_res.err));
		rt_stpcpy(p, "; the program keeps running");
		rt_log(msg);
		return;
	}
	p = rt_stpcpy(msg, "checkpoint ");
	p = rt_stpcpy(p, rt_dump_res.image);
	p = rt_stpcpy(p, ": ");
	p = rt_fmt_fixed(p, rt_dump_res.bytes, 1 << 20, 1);
	p = rt_stpcpy(p, " MiB, threads parked in ");
	p = rt_fmt_fixed(p, rt_frz.frozen_at_ns - rt_frz.stop_begin_ns, 1000000, 3);
	p = rt_stpcpy(p, " ms, stopped ");
	p = rt_fmt_fixed(p, ended - started, 1000000, 1);
	rt_stpcpy(p, rt_cfg.exit_after	 ? " ms; exiting"
		     : rt_cfg.stop_after ? " ms; stopped until killed"
					 : " ms");
	rt_log(msg);
}

static void after_restore(void)
{
	char msg[RT_MAX_PATH + 64];

	rt_arena_forget();
	rt_tcp_forget();
	rt_freeze_reset_after_restore();
	rt_rseq_resume();
	rt_stpcpy(rt_stpcpy(msg, "restored from "), rt_dump_res.image);
	rt_log(msg);
}

static void checkpoint_once(void)
{
	uint64_t started = rt_now_ns(CLOCK_MONOTONIC);
	int err = rt_arena_init();

	rt_rseq_pause();
	if (!err)
		err = rt_freeze_all();
	if (err) {
		rt_resume_all();
		rt_rseq_resume();
		rt_arena_drop();
		rt_dump_res.err = err;
		rt_dump_res.what = "stopping threads";
		log_result(started, started);
		return;
	}
	if (rt_capture_self_and_dump() == 1) {
		after_restore();
		return;
	}
	if (!rt_dump_res.err && rt_cfg.exit_after) {
		log_result(started, rt_now_ns(CLOCK_MONOTONIC));
		sc_sys1(__NR_exit_group, 0);
	}
	if (!rt_dump_res.err && rt_cfg.stop_after) {
		log_result(started, rt_now_ns(CLOCK_MONOTONIC));
		for (;;) /* every other thread stays parked */
			sc_sys0(__NR_pause);
	}
	rt_tcp_release();
	rt_resume_all();
	rt_rseq_resume();
	log_result(started, rt_now_ns(CLOCK_MONOTONIC));
	rt_arena_drop();
}

static void *checkpoint_thread(void *arg)
{
	sigset_t all;

	/* Process-directed signals go to app threads, never here; the
	 * suspend signal stays open for capturing this thread itself. */
	sigfillset(&all);
	sigdelset(&all, rt_cfg.suspend_sig);
	rt_real_sigmask(SIG_SETMASK, &all, NULL);
	prctl(PR_SET_NAME, "selfckpt");
	if (rt_freeze_init()) {
		rt_log("cannot install the suspend handler; checkpoints are off");
		return NULL;
	}
	for (;;) {
		unsigned seen = __atomic_load_n(&trigger_count, __ATOMIC_ACQUIRE);
		struct timespec ts = { .tv_sec = rt_cfg.interval_sec };
		long r = sc_sys4(__NR_futex, &trigger_count, FUTEX_WAIT_PRIVATE, seen,
				 rt_cfg.interval_sec ? &ts : NULL);

		if (r == -ETIMEDOUT || __atomic_load_n(&trigger_count, __ATOMIC_ACQUIRE) != seen)
			checkpoint_once();
	}
	return NULL;
}

__attribute__((constructor)) static void selfckpt_init(void)
{
	struct sigaction sa;
	pthread_attr_t attr;
	pthread_t th;

	load_config();
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = trigger_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	if (rt_real_sigaction(rt_cfg.trigger_sig, &sa, NULL)) {
		rt_log("cannot install the trigger handler; checkpoints are off");
		return;
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 << 10);
	if (pthread_create(&th, &attr, checkpoint_thread, NULL))
		rt_log("cannot start the checkpoint thread; checkpoints are off");
	pthread_attr_destroy(&attr);
}
