// SPDX-License-Identifier: MIT
/*
 * crinfo check: what this machine and user can do for selfckpt, each
 * line "ok" or what is missing and what that costs; and crinfo check DIR:
 * whether that image can be restored here.
 *
 * Every probe does the real thing where it is harmless (a clone3 asking
 * for a pid that is taken, a pid namespace of our own, a socket put in
 * repair mode), since configuration files do not tell what a kernel, a
 * sysctl and a security module allow together.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/userfaultfd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include "cpu.h"
#include "crinfo.h"
#include "restore.h"
#include "selfckpt/pagescan.h"
#include "vdso.h"
#include "xstate.h"

#define PROBE_PID 300 /* asked for inside a fresh pid namespace: always free there */

extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

static int line(FILE *out, bool ok, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int line(FILE *out, bool ok, const char *what, const char *fmt, ...)
{
	va_list ap;

	fprintf(out, "%-8s %s: ", ok ? "ok" : "missing", what);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	return ok ? 0 : 1;
}

/* clone3 with set_tid of our own pid: EEXIST once the kernel let us ask
 * for a pid at all, EPERM without CAP_CHECKPOINT_RESTORE. */
static int set_tid_here(void)
{
	pid_t tid = getpid();
	struct sc_clone_args ca = {
		.exit_signal = SIGCHLD,
		.set_tid = (uint64_t)(uintptr_t)&tid,
		.set_tid_size = 1,
	};
	long r = syscall(SYS_clone3, &ca, sizeof(ca));

	if (r == 0)
		_exit(0);
	if (r > 0) {
		waitpid((pid_t)r, NULL, 0);
		return 0;
	}
	return errno == EEXIST ? 0 : errno;
}

/* In a child: as nobody if asked (and root), make crload's namespaces
 * and ask for PROBE_PID in them, the way crload does. 0, or -1 with err. */
static int ns_child(bool as_nobody, char *err)
{
	struct pid_plan plan = { .new_ns = true };
	pid_t init;
	long pid;
	int st;

	if (as_nobody && geteuid() == 0 &&
	    (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
	     setresuid(65534, 65534, 65534) ||
	     /* A uid change makes /proc/self root's; an unprivileged
	      * user's own process is dumpable. */
	     prctl(PR_SET_DUMPABLE, 1))) {
		sc_err(err, "cannot become user nobody to try: %s", strerror(errno));
		return -1;
	}
	plan.user_ns = geteuid() != 0;
	if (enter_namespaces(&plan, err))
		return -1;
	init = fork();
	if (init == 0) {
		pid = fork_with_pid(PROBE_PID, err);
		if (pid == 0)
			_exit(getpid() == PROBE_PID ? 0 : 1);
		_exit(pid > 0 && waitpid((pid_t)pid, &st, 0) == pid && WIFEXITED(st) &&
				      !WEXITSTATUS(st)
			      ? 0
			      : 1);
	}
	if (init < 0 || waitpid(init, &st, 0) != init || !WIFEXITED(st) || WEXITSTATUS(st)) {
		sc_err(err, "no process got its chosen pid in the new namespaces");
		return -1;
	}
	return 0;
}

/* Can a process (an unprivileged one if as_nobody) make user and pid
 * namespaces and get a chosen pid in them? NULL if so, else why not. */
static const char *probe_namespaces(bool as_nobody)
{
	static char why[SC_ERR_LEN];
	int p[2], st;
	ssize_t n;
	pid_t pid;

	fflush(NULL);
	if (pipe2(p, O_CLOEXEC))
		return "cannot make a pipe to try";
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return "cannot fork to try";
	}
	if (pid == 0) {
		close(p[0]);
		if (ns_child(as_nobody, why))
			_exit(write(p[1], why, strlen(why)) > 0 ? 1 : 2);
		_exit(0);
	}
	close(p[1]);
	n = read(p[0], why, sizeof(why) - 1);
	close(p[0]);
	why[n > 0 ? n : 0] = '\0';
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return "the probe died";
	return WEXITSTATUS(st) ? (why[0] ? why : "the probe failed") : NULL;
}

static int check_uffd(FILE *out)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_WP_ASYNC };
	struct sc_pm_scan_arg scan = { .size = sizeof(scan) };
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY), pm, r;
	const char *cost = "incremental checkpoints fall back to full ones";

	if (fd < 0)
		return line(out, false, "userfaultfd", "%s; %s", strerror(errno), cost);
	r = ioctl(fd, UFFDIO_API, &api);
	close(fd);
	if (r)
		return line(out, false, "userfaultfd write-protect",
			    "no UFFD_FEATURE_WP_ASYNC (Linux 6.7+); %s", cost);
	pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	scan.start = scan.end = (uint64_t)(uintptr_t)&scan & ~(SC_PAGE_SIZE - 1);
	r = pm < 0 ? -1 : ioctl(pm, SC_PAGEMAP_SCAN, &scan);
	if (r < 0 && (pm < 0 || errno == ENOTTY)) {
		if (pm >= 0)
			close(pm);
		return line(out, false, "PAGEMAP_SCAN", "not in this kernel (Linux 6.7+); %s",
			    cost);
	}
	close(pm);
	return line(out, true, "userfaultfd write-protect and PAGEMAP_SCAN",
		    "dirty pages can be tracked for incremental checkpoints");
}

/* The writers load the same libzstd as this one is linked with (by its
 * soname), and need the static contexts of 1.4.5 and later. */
#define ZSTD_WRITERS_NEED 10405

static int check_zstd(FILE *out)
{
	if (ZSTD_versionNumber() < ZSTD_WRITERS_NEED)
		return line(out, false, "zstd",
			    "libzstd %s is older than 1.4.5: images cannot be compressed",
			    ZSTD_versionString());
	return line(out, true, "zstd",
		    "libzstd %s: pages can be compressed (SELFCKPT_COMPRESS, crdump --compress)",
		    ZSTD_versionString());
}

static void vdso_desc(const struct sc_vdso_layout *vd, char *buf, size_t len)
{
	static const char *const names[] = { "[vvar]", "[vvar_vclock]", "[vdso]" };
	size_t n = 0;

	buf[0] = '\0';
	for (int k = 0; k < 3 && n < len; k++)
		if (vd->part[k].end)
			n += (size_t)snprintf(buf + n, len - n, "%s%s %" PRIu64 " KiB",
					      n ? ", " : "", names[k],
					      (vd->part[k].end - vd->part[k].start) >> 10);
}

int crinfo_check(FILE *out)
{
	struct sc_vdso_layout vd;
	struct sc_cpu cpu;
	char buf[256];
	const char *why;
	int bad = 0, e, s;

	e = set_tid_here();
	if (e == EPERM)
		bad += line(out, false, "clone3 set_tid",
			    "not privileged (no CAP_CHECKPOINT_RESTORE): restores go into new user "
			    "and pid namespaces, so outside them the restored pids differ");
	else if (e)
		bad += line(out, false, "clone3 set_tid",
			    "%s: this kernel cannot give restored processes their pids",
			    strerror(e));
	else
		line(out, true, "clone3 set_tid", "restores keep their pids in this pid namespace");
	why = probe_namespaces(true);
	if (why)
		bad += line(out, false, "unprivileged user and pid namespaces",
			    "%s: unprivileged users cannot restore an image whose pids are taken",
			    why);
	else
		line(out, true, "unprivileged user and pid namespaces",
		     "unprivileged users restore into them with their old pids");
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	e = s < 0 || setsockopt(s, IPPROTO_TCP, TCP_REPAIR, &(int){ 1 }, sizeof(int)) ? errno : 0;
	if (s >= 0)
		close(s);
	if (e)
		bad += line(out, false, "TCP_REPAIR",
			    "%s (needs CAP_NET_ADMIN): established TCP connections cannot be "
			    "checkpointed",
			    strerror(e));
	else
		line(out, true, "TCP_REPAIR", "established TCP connections can be checkpointed");
	bad += check_uffd(out);
	bad += check_zstd(out);
	sc_cpu_this(&cpu);
	line(out, true, "CPU",
	     "%s family %u model %u%s%s, %s, %u features: an image from a CPU with "
	     "another feature is refused",
	     cpu.vendor, cpu.family, cpu.model, cpu.name[0] ? ", " : "", cpu.name,
	     sc_cpu_level(&cpu), sc_cpu_feature_count(&cpu));
	if (sc_own_maps(&vd, NULL, NULL) || !vd.part[2].end) {
		bad += line(out, false, "vDSO",
			    "not found in /proc/self/maps: images cannot be "
			    "restored");
	} else {
		vdso_desc(&vd, buf, sizeof(buf));
		line(out, true, "vDSO", "%s; images restore on kernels with this layout", buf);
	}
	if (sc_kernel_restores_timer_ids())
		line(out, true, "POSIX timer ids", "restored timers keep their ids");
	else
		bad += line(out, false, "POSIX timer ids",
			    "no PR_TIMER_CREATE_RESTORE_IDS (Linux 6.15): images with POSIX "
			    "timers cannot be restored here");
	if (syscall(SYS_rseq, NULL, 0, 0, 0) && errno == ENOSYS)
		bad += line(
			out, false, "rseq",
			"not in this kernel: images of threads with rseq cannot be restored here");
	else
		line(out, true, "rseq", "%s",
		     &__rseq_size && __rseq_size
			     ? "glibc registers it for every thread; restored threads register the "
			       "same area again"
			     : "the kernel has it (this glibc does not register it)");
	return bad ? 1 : 0;
}

/* What crload's CPU check says (doc/cpu-check.md), and whether the
 * stricter --cpu-check=model would refuse. */
static int check_cpu(const Sc__Cpu *m, FILE *out)
{
	char err[SC_CPU_ERR_LEN];
	struct sc_cpu was, now;

	if (!m) {
		fprintf(out, "note     the image does not record its CPU (written before the CPU "
			     "check): crload restores it unchecked\n");
		return 0;
	}
	sc_cpu_from_msg(m, &was);
	sc_cpu_this(&now);
	if (sc_cpu_compare(&was, &now, SC_CPU_CHECK_FEATURES, err, sizeof(err)))
		return line(out, false, "CPU", "%s; crload --cpu-check=none restores anyway", err);
	line(out, true, "CPU", "this one has every feature of the image's (%u, %s)",
	     sc_cpu_feature_count(&was), sc_cpu_level(&was));
	if (sc_cpu_compare(&was, &now, SC_CPU_CHECK_MODEL, err, sizeof(err)))
		fprintf(out, "note     CPU: %s (crload --cpu-check=model refuses it)\n", err);
	return 0;
}

int crinfo_check_image(const struct sc_image *img, FILE *out)
{
	const struct sc_xstate_cpu *cpu = sc_xstate_this_cpu();
	struct utsname uts;
	char err[SC_ERR_LEN];
	struct pid_plan plan;
	int bad = 0;

	if (img->inv->kernel && !uname(&uts) && strcmp(uts.release, img->inv->kernel))
		fprintf(out, "note     written under kernel %s, this one is %s\n", img->inv->kernel,
			uts.release);
	bad += check_cpu(img->inv->cpu, out);
	if (creds_check(img, err))
		bad += line(out, false, "credentials", "%s", err);
	else
		line(out, true, "credentials", "each process's, which this user may give it");
	if (tree_preflight(img, err))
		bad += line(out, false, "process tree", "%s", err);
	else if (img->inv->n_procs > 1)
		line(out, true, "process tree", "%zu processes, sessions and groups rebuildable",
		     img->inv->n_procs);
	for (size_t i = 0; i < img->nprocs; i++) {
		const struct sc_proc_img *p = &img->procs[i];
		uint64_t need = 0;

		if (sc_check_vdso(p->mm, err))
			bad += line(out, false, "vDSO", "pid %d: %s", p->pid, err);
		else
			line(out, true, "vDSO", "pid %d: same layout as this kernel's", p->pid);
		for (size_t t = 0; t < p->core->n_threads; t++)
			need |= p->core->threads[t]->xfeatures;
		if (sc_xstate_check_core(cpu, p->core, err, sizeof(err)))
			bad += line(out, false, "xsave features", "pid %d: %s", p->pid, err);
		else
			line(out, true, "xsave features",
			     "pid %d needs %#" PRIx64 ", this CPU has %#" PRIx64
			     " with the same layout",
			     p->pid, need, cpu->features);
		if (p->core->n_posix_timers) {
			bool ok = sc_kernel_restores_timer_ids();

			bad += line(out, ok, "POSIX timer ids", "pid %d has %zu timers%s", p->pid,
				    p->core->n_posix_timers,
				    ok ? "" : ": this kernel cannot make them again");
		}
	}
	if (plan_pids((struct sc_image *)img, &plan, err))
		return bad + line(out, false, "pids", "%s", err);
	if (!plan.new_ns) {
		line(out, true, "pids", "free, and restored as they were");
	} else {
		const char *why = probe_namespaces(false);
		const char *reason =
			plan.user_ns ? "not privileged to choose them" : "some are taken";

		if (why)
			bad += line(out, false, "pids",
				    "%s, and new namespaces cannot be made (%s)", reason, why);
		else
			line(out, true, "pids", "%s: restored inside new %s namespaces", reason,
			     plan.user_ns ? "user and pid" : "pid");
	}
	return bad ? 1 : 0;
}
