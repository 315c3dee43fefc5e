// SPDX-License-Identifier: MIT
/* What the whole process has: limits, cwd, umask, credentials (dump_source.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/prctl.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>

#include "dump.h"
#include "xstate.h"
#include "creds.h"
#include "procparse.h"

#define NR_RLIMITS 16

/* The first number after "\nkey" in a status file ("Uid:" lists four). */
static int status_num(const char *s, const char *key, unsigned base, uint32_t *v)
{
	const char *p = strstr(s, key);

	if (!p || p == s || p[-1] != '\n')
		return -EIO;
	for (p += strlen(key); *p == ' ' || *p == '\t'; p++)
		;
	if (*p < '0' || *p > '9')
		return -EIO;
	for (*v = 0; *p >= '0' && *p < (char)('0' + base); p++)
		*v = *v * base + (uint32_t)(*p - '0');
	return 0;
}

/* The ids and umask of another process, from its status file. */
static int remote_ids(const struct rt_source *src, Sc__ProcCore *core)
{
	char path[RT_MAX_PATH];
	size_t len;
	const char *s = rt_read_file(rt_src_path(src, path, "status"), &len);

	if (!s || status_num(s, "Umask:", 8, &core->umask) || status_num(s, "Uid:", 10, &core->uid) ||
	    status_num(s, "Gid:", 10, &core->gid))
		return -EIO;
	return 0;
}

static uint64_t tv_us(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000 + (uint64_t)tv->tv_usec;
}

/* The interval timers that run. One that fired with its signal not taken
 * yet shows no time left until the kernel re-arms it at that moment: it
 * is kept for its interval. */
static int dump_itimers(const struct rt_source *src, Sc__ProcCore *core)
{
	core->itimers = rt_alloc(sizeof(*core->itimers) * 3);
	if (!core->itimers)
		return -ENOMEM;
	for (unsigned which = 0; which < 3; which++) {
		struct itimerval v = src->itimers[which];
		Sc__Itimer *t;

		if (!src->remote && sc_sys2(__NR_getitimer, which, &v))
			continue;
		if (!tv_us(&v.it_value) && !tv_us(&v.it_interval))
			continue;
		t = rt_alloc(sizeof(*t));
		if (!t)
			return -ENOMEM;
		sc__itimer__init(t);
		t->which = which;
		t->value_us = tv_us(&v.it_value);
		t->interval_us = tv_us(&v.it_interval);
		core->itimers[core->n_itimers++] = t;
	}
	return 0;
}

/* The dynamic XSAVE components (AMX tile data) the process was allowed:
 * the restored process asks for them again, or its next tile instruction
 * would kill it (doc/xsave.md). */
static void dump_xcomp_perm(const struct rt_source *src, Sc__ProcCore *core)
{
	uint64_t perm = src->xcomp_perm;

	/* A kernel before 5.16 has no dynamic components. */
	if (!src->remote && sc_sys2(__NR_arch_prctl, SC_ARCH_GET_XCOMP_PERM, &perm))
		perm = 0;
	core->xcomp_perm = perm & SC_XFEATURES_DYNAMIC;
	core->has_xcomp_perm = core->xcomp_perm != 0;
}

/*
 * The credentials of the process (of its main thread: the kernel keeps
 * them per thread, and glibc's set*id calls give every thread the same),
 * from its status file; securebits and dumpable, which it does not show,
 * from prctl, asked inside the process by crdump.
 */
static int dump_creds(const struct rt_source *src, Sc__ProcCore *core)
{
	char path[RT_MAX_PATH];
	size_t len;
	const char *s = rt_read_file(rt_src_path(src, path, "status"), &len);
	Sc__Creds *cr = rt_alloc(sizeof(*cr));
	struct pp_creds pc;

	if (!s || !cr || pp_parse_status_creds(s, len, &pc, NULL, 0))
		return s && cr ? -EIO : -ENOMEM;
	sc__creds__init(cr);
	cr->groups = rt_alloc(sizeof(*cr->groups) * (pc.n_groups ? pc.n_groups : 1));
	if (!cr->groups)
		return -ENOMEM;
	if (pp_parse_status_creds(s, len, &pc, cr->groups, pc.n_groups))
		return -EIO;
	sc_creds_from_status(cr, &pc);
	if (src->remote) {
		cr->securebits = src->securebits;
		cr->dumpable = src->dumpable;
	} else {
		cr->securebits = (uint32_t)sc_sys1(__NR_prctl, PR_GET_SECUREBITS);
		cr->dumpable = (uint32_t)sc_sys1(__NR_prctl, PR_GET_DUMPABLE);
	}
	core->creds = cr;
	return 0;
}

int rt_dump_proc_state(const struct rt_source *src, Sc__ProcCore *core, char *why)
{
	char *cwd, path[RT_MAX_PATH];
	long n;

	core->pid = src->pid;
	core->rlimits = rt_alloc(sizeof(*core->rlimits) * NR_RLIMITS);
	if (!core->rlimits)
		return -ENOMEM;
	for (unsigned res = 0; res < NR_RLIMITS; res++) {
		struct rlimit rl;
		Sc__Rlimit *r;

		if (sc_sys4(__NR_prlimit64, src->remote ? src->pid : 0, res, NULL, &rl))
			continue;
		r = rt_alloc(sizeof(*r));
		if (!r)
			return -ENOMEM;
		sc__rlimit__init(r);
		r->resource = res;
		r->cur = rl.rlim_cur;
		r->max = rl.rlim_max;
		core->rlimits[core->n_rlimits++] = r;
	}

	cwd = rt_alloc(RT_MAX_PATH);
	if (!cwd)
		return -ENOMEM;
	n = sc_sys4(__NR_readlinkat, AT_FDCWD, rt_src_path(src, path, "cwd"), cwd, RT_MAX_PATH - 1);
	if (n <= 0)
		return n < 0 ? (int)n : -EIO;
	cwd[n] = '\0';
	core->cwd = cwd;
	if ((n = dump_itimers(src, core)) || (n = rt_dump_posix_timers(src, core, why)) ||
	    (n = dump_creds(src, core)))
		return (int)n;
	dump_xcomp_perm(src, core);
	if (src->remote)
		return remote_ids(src, core);
	/* Reading the umask means setting it; every other thread is parked. */
	core->umask = (uint32_t)sc_sys1(__NR_umask, 022);
	sc_sys1(__NR_umask, core->umask);
	core->uid = (uint32_t)sc_sys0(__NR_getuid);
	core->gid = (uint32_t)sc_sys0(__NR_getgid);
	return 0;
}

int rt_add_sigaction(Sc__SigActs *acts, unsigned sig, const struct sc_kernel_sigaction *ksa)
{
	Sc__SigAction *a;

	if (ksa->handler == (uint64_t)SIG_DFL && !ksa->flags && !ksa->mask)
		return 0;
	a = rt_alloc(sizeof(*a));
	if (!a)
		return -ENOMEM;
	sc__sig_action__init(a);
	a->sig = sig;
	a->handler = ksa->handler;
	a->flags = ksa->flags;
	a->restorer = ksa->restorer;
	a->mask = ksa->mask;
	acts->acts[acts->n_acts++] = a;
	return 0;
}
