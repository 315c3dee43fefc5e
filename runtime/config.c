// SPDX-License-Identifier: MIT
/*
 * The runtime's configuration, read from the environment once, by the
 * constructor (init.c), in the app's context: libc is fine here.
 *
 * Environment:
 *   SELFCKPT_DIR       where images go (default: ./selfckpt.PID at start)
 *   SELFCKPT_FLUSH_DIR a durable shared directory each generation is copied
 *                      to in the background once committed (doc/tiers.md)
 *   SELFCKPT_FLUSH_RATE  MiB a second that copy may take at most
 *   SELFCKPT_SIGNAL    trigger signal, name or number (default: USR2)
 *   SELFCKPT_EXIT      1: exit after a successful checkpoint
 *   SELFCKPT_COW       0: hold the program until its pages are written,
 *                      instead of writing them from a copy-on-write copy
 *                      while it runs on (default 1; doc/cow-capture.md)
 *   SELFCKPT_FULL_EVERY  N >= 2: incremental images, a full one every N
 *                      checkpoints (doc/incremental.md); default 1, all full
 *   SELFCKPT_COMPRESS  N: pages files compressed with zstd level N (1-19);
 *                      0 or unset: raw (doc/compression.md)
 *   SELFCKPT_COMPRESS_THREADS  threads that compress (default: the CPUs
 *                      the process may run on, at most 8)
 *   SELFCKPT_STOP      1: stay frozen after a successful checkpoint, until
 *                      killed (TCP connections stay in repair mode, so the
 *                      kill sends nothing to their peers: doc/tcp.md)
 *   SELFCKPT_INTERVAL  also checkpoint every N seconds
 *   SELFCKPT_KEEP      keep the N newest generations (default 2)
 *   SELFCKPT_LOG       append log lines to this file instead of stderr
 *   SELFCKPT_BATCH_SIGNALS  set by crrun: signals the program never sees
 *                      (interpose.c, doc/batch.md)
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dump.h"
#include "signame.h"
#include "selfckpt/launcher.h"

struct rt_config rt_cfg;

/* A list of signals, "TERM,INT,USR1": the mask of those it names. */
static uint64_t parse_signal_list(const char *s)
{
	char name[16];
	uint64_t mask = 0;

	while (*s) {
		size_t n = strcspn(s, ",");
		int sig;

		if (n < sizeof(name)) {
			memcpy(name, s, n);
			name[n] = '\0';
			if ((sig = sc_signal_parse(name)) > 0)
				mask |= 1ULL << (sig - 1);
		}
		s += n;
		s += *s == ',';
	}
	return mask;
}

/* SELFCKPT_KEEP: how many generations the pruner keeps (retention.c). */
static unsigned parse_keep(const char *s)
{
	char msg[96], *end;
	unsigned long v;

	if (!s || !*s)
		return RT_KEEP_DEFAULT;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || !v || v > UINT_MAX) {
		rt_fmt_u64(rt_stpcpy(msg, "SELFCKPT_KEEP is not a number of generations of 1 or "
					  "more; keeping "),
			   RT_KEEP_DEFAULT);
		rt_log(msg);
		return RT_KEEP_DEFAULT;
	}
	return (unsigned)v;
}

/* SELFCKPT_COMPRESS and SELFCKPT_COMPRESS_THREADS, and libzstd loaded
 * for them; what is wrong is said once, and the images are raw. */
static void load_compress(struct rt_compress *c)
{
	const char *s = getenv("SELFCKPT_COMPRESS");
	char why[256];
	int n;

	c->level = 0;
	if (!s || !*s)
		return;
	if (rt_compress_parse(s, 0, RT_ZSTD_LEVEL_MAX, &c->level)) {
		rt_log("SELFCKPT_COMPRESS is not a zstd level of 0 to 19; images are not "
		       "compressed");
		c->level = 0;
		return;
	}
	c->threads = rt_compress_default_threads();
	s = getenv("SELFCKPT_COMPRESS_THREADS");
	if (s && *s) {
		if (rt_compress_parse(s, 1, RT_ZSTD_THREADS_MAX, &n))
			rt_log("SELFCKPT_COMPRESS_THREADS is not a number of 1 to 8; using "
			       "the CPUs the process may run on");
		else
			c->threads = n;
	}
	if (c->level && rt_compress_load(c, why, sizeof(why))) {
		char msg[sizeof(why) + 64];

		rt_stpcpy(rt_stpcpy(msg, "SELFCKPT_COMPRESS: images are not compressed: "), why);
		rt_log(msg);
		c->level = 0;
	}
}

/* A directory named by s, made absolute into out (RT_MAX_PATH): false if
 * there is none. An exec'd program has it absolute already
 * (follow_exec.c): no getcwd. */
static bool absolute(const char *s, char *out)
{
	char cwd[RT_MAX_PATH];

	if (!s || !*s || strlen(s) >= RT_MAX_PATH)
		return false;
	if (*s == '/') {
		strcpy(out, s);
		return true;
	}
	if (!getcwd(cwd, sizeof(cwd)) || strlen(cwd) + strlen(s) + 2 > RT_MAX_PATH)
		return false;
	rt_stpcpy(rt_stpcpy(rt_stpcpy(out, cwd), "/"), s);
	return true;
}

/*
 * crflush, which the runtime starts after each commit (flush.c): in the
 * build tree beside the runtime's library, beside an installed one, then
 * where make install put it. Into out (RT_MAX_PATH), empty if none.
 */
static void find_flush_tool(char *out)
{
	static const char *const places[] = { "/../../tools/crflush", "/../bin/crflush" };
	char lib[RT_MAX_PATH];
	Dl_info info;
	char *slash;

	out[0] = '\0';
	if (dladdr((void *)find_flush_tool, &info) && info.dli_fname &&
	    realpath(info.dli_fname, lib) && (slash = strrchr(lib, '/'))) {
		*slash = '\0';
		for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++)
			if (strlen(lib) + strlen(places[i]) < RT_MAX_PATH) {
				rt_stpcpy(rt_stpcpy(out, lib), places[i]);
				if (!access(out, X_OK))
					return;
			}
	}
	rt_stpcpy(out, SC_BINDIR "/crflush");
	if (access(out, X_OK))
		out[0] = '\0';
}

void rt_config_load(void)
{
	const char *s;
	char cwd[RT_MAX_PATH];

	if ((s = getenv("SELFCKPT_LOG")) && *s)
		rt_log_to(s);
	rt_cfg.trigger_sig = SIGUSR2;
	rt_cfg.suspend_sig = SIGRTMAX;
	if ((s = getenv("SELFCKPT_SIGNAL")) && *s) {
		int sig = sc_signal_parse(s);

		if (sig < 0)
			rt_log("SELFCKPT_SIGNAL is not a usable signal; using USR2");
		else
			rt_cfg.trigger_sig = sig;
	}
	rt_cfg.exit_after = (s = getenv("SELFCKPT_EXIT")) && !strcmp(s, "1");
	rt_cfg.stop_after = (s = getenv("SELFCKPT_STOP")) && !strcmp(s, "1");
	rt_cfg.copy_on_write = !((s = getenv("SELFCKPT_COW")) && !strcmp(s, "0"));
	rt_cfg.full_every = 1;
	if ((s = getenv("SELFCKPT_FULL_EVERY")) && *s)
		rt_cfg.full_every = (unsigned)strtoul(s, NULL, 10);
	if ((s = getenv("SELFCKPT_INTERVAL")) && *s)
		rt_cfg.interval_sec = (unsigned)strtoul(s, NULL, 10);
	if ((s = getenv(SELFCKPT_BATCH_SIGNALS_ENV)))
		rt_cfg.batch_sigs = parse_signal_list(s);
	rt_cfg.keep = parse_keep(getenv("SELFCKPT_KEEP"));
	load_compress(&rt_cfg.compress);

	if (!absolute(getenv("SELFCKPT_DIR"), rt_cfg.dir)) {
		char *p = rt_stpcpy(rt_cfg.dir, getcwd(cwd, sizeof(cwd)) ? cwd : "/tmp");

		p = rt_stpcpy(p, "/selfckpt.");
		rt_fmt_i64(p, getpid());
	}
	if (absolute(getenv(SELFCKPT_FLUSH_DIR_ENV), rt_cfg.flush_dir)) {
		find_flush_tool(rt_cfg.flush_tool);
		/* crflush checks it, and says what is wrong in the log. */
		if ((s = getenv("SELFCKPT_FLUSH_RATE")) && *s &&
		    strlen(s) + sizeof("--rate=") <= sizeof(rt_cfg.flush_rate))
			rt_stpcpy(rt_stpcpy(rt_cfg.flush_rate, "--rate="), s);
		rt_flush_note_floor(&rt_cfg);
	}
}
