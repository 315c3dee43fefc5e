// SPDX-License-Identifier: MIT
/*
 * crinfo show: an image for people. What wrote it, when and how; the
 * process tree; per process its threads and where they stopped, its
 * memory map, its descriptors (described by each kind's own loader half,
 * through the table in common/fdkinds.c) and its signal handlers.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "cpu.h"
#include "crinfo.h"
#include "fd_restore.h"
#include "fdkinds.h"
#include "vdso.h"

static const char *human(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 4)
		v /= 1024, u++;
	if (u == 0)
		snprintf(buf, len, "%" PRIu64 " B", n);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

static const char *sig_name(unsigned sig, char *buf, size_t len)
{
	const char *abbrev = sig < 32 ? sigabbrev_np((int)sig) : NULL;

	if (abbrev)
		snprintf(buf, len, "SIG%s", abbrev);
	else if (sig >= 34 && sig <= 64) /* glibc keeps 32 and 33 for itself */
		snprintf(buf, len, "SIGRTMIN+%u", sig - 34);
	else
		snprintf(buf, len, "signal %u", sig);
	return buf;
}

const char *cr_syscall_name(uint64_t nr)
{
	static const struct {
		unsigned nr;
		const char *name;
	} calls[] = {
		{ 0, "read" },
		{ 1, "write" },
		{ 7, "poll" },
		{ 17, "pread64" },
		{ 18, "pwrite64" },
		{ 19, "readv" },
		{ 20, "writev" },
		{ 23, "select" },
		{ 24, "sched_yield" },
		{ 34, "pause" },
		{ 35, "nanosleep" },
		{ 42, "connect" },
		{ 43, "accept" },
		{ 44, "sendto" },
		{ 45, "recvfrom" },
		{ 46, "sendmsg" },
		{ 47, "recvmsg" },
		{ 61, "wait4" },
		{ 72, "fcntl" },
		{ 73, "flock" },
		{ 74, "fsync" },
		{ 128, "rt_sigtimedwait" },
		{ 130, "rt_sigsuspend" },
		{ 202, "futex" },
		{ 230, "clock_nanosleep" },
		{ 232, "epoll_wait" },
		{ 247, "waitid" },
		{ 270, "pselect6" },
		{ 271, "ppoll" },
		{ 281, "epoll_pwait" },
		{ 288, "accept4" },
		{ 426, "io_uring_enter" },
		{ 441, "epoll_pwait2" },
	};

	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		if (calls[i].nr == nr)
			return calls[i].name;
	return NULL;
}

static void show_tree(const Sc__Inventory *inv, size_t i, int depth, bool *seen, FILE *out)
{
	const Sc__ProcEntry *p = inv->procs[i];

	seen[i] = true;
	fprintf(out, "  %*s%d (ppid %d, pgid %d, sid %d", depth * 2, "", p->pid, p->ppid, p->pgid,
		p->sid);
	if (p->zombie)
		fprintf(out, ", zombie, wait status 0x%x", (unsigned)p->exit_status);
	for (size_t k = 0; k < p->n_shared; k++)
		fprintf(out, ", fd %d is pid %d's fd %d", p->shared[k]->fd, p->shared[k]->same_pid,
			p->shared[k]->same_fd);
	fprintf(out, ")\n");
	for (size_t k = 0; k < inv->n_procs; k++)
		if (!seen[k] && inv->procs[k]->ppid == p->pid)
			show_tree(inv, k, depth + 1, seen, out);
}

/* The CPU it was written on: which one, the x86-64 level its features
 * make, and the register state the kernel had enabled. */
static void show_cpu(const Sc__Cpu *m, FILE *out)
{
	char state[SC_CPU_ERR_LEN];
	struct sc_cpu c;

	sc_cpu_from_msg(m, &c);
	sc_cpu_state_names(&c, state, sizeof(state));
	fprintf(out, "  CPU: %s family %u model %u stepping %u%s%s\n", c.vendor, c.family, c.model,
		c.stepping, c.name[0] ? ": " : "", c.name);
	fprintf(out,
		"    %s, %u features checked at restore; register state %s (XCR0 %#" PRIx64 ")\n",
		sc_cpu_level(&c), sc_cpu_feature_count(&c),
		state[0] ? state : "not recorded (no XSAVE)", c.word[SC_CPU_XCR0]);
}

struct cr_gen_bytes *cr_chain_bytes(const struct sc_image *img)
{
	struct cr_gen_bytes *gens = calloc(sc_image_ngens(img), sizeof(*gens));
	uint32_t g = 0;

	if (!gens)
		return NULL;
	for (const struct sc_image *gi = img; gi; gi = gi->parent, g++)
		for (size_t i = 0; i < gi->nprocs; i++)
			gens[g].stored += gi->procs[i].pages_size;
	for (size_t i = 0; i < img->nprocs; i++)
		for (size_t k = 0; k < img->procs[i].nruns; k++)
			gens[img->procs[i].runs[k].gen].restored +=
				img->procs[i].runs[k].nr_pages * SC_PAGE_SIZE;
	return gens;
}

void cr_pages_stored_add(struct cr_pages_stored *s, const struct sc_proc_img *p)
{
	s->data += p->pm->pages_bytes;
	s->size += p->pages_size;
	s->files++;
	if (p->pm->codec != SC__PAGES_CODEC__PAGES_ZSTD)
		return;
	s->levels_differ |= s->compressed && p->pm->level != s->level;
	s->level = p->pm->level;
	s->compressed++;
}

/* "812.0 MiB of data in 201.3 MiB (zstd level 1, ratio 4.03)". */
static void show_pages_stored(const struct cr_pages_stored *s, FILE *out)
{
	char a[32], b[32], level[32] = "";

	fprintf(out, "  pages: %s of data", human(s->data, a, sizeof(a)));
	if (!s->compressed) {
		fprintf(out, ", uncompressed\n");
		return;
	}
	if (!s->levels_differ)
		snprintf(level, sizeof(level), " level %u", s->level);
	fprintf(out, " in %s (zstd%s", human(s->size, b, sizeof(b)), level);
	if (s->compressed < s->files)
		fprintf(out, " in %zu of %zu pages files", s->compressed, s->files);
	if (s->size)
		fprintf(out, ", ratio %.2f", (double)s->data / (double)s->size);
	fprintf(out, ")\n");
}

/* Each generation of the chain, newest first: what it is, what it stores
 * and its share of the pages a restore reads. */
static void show_chain(const struct sc_image *img, FILE *out)
{
	struct cr_gen_bytes *gens;
	uint64_t restored = 0;
	char a[32], b[32];
	uint32_t g = 0;

	if (!img->inv->parent) {
		fprintf(out, "  full image (no parent)\n");
		return;
	}
	if (!(gens = cr_chain_bytes(img)))
		return;
	for (uint32_t k = 0; k < sc_image_ngens(img); k++)
		restored += gens[k].restored;
	fprintf(out, "  incremental, a chain of %u images, newest first (%s of pages restored):\n",
		sc_image_ngens(img), human(restored, a, sizeof(a)));
	for (const struct sc_image *gi = img; gi; gi = gi->parent, g++) {
		fprintf(out, "    %u %s\n      %s%s%s, stores %s, restores %s (%.1f%%)\n", g,
			gi->dir, gi->inv->parent ? "incremental, parent " : "full",
			gi->inv->parent ? gi->inv->parent : "",
			gi->inv->parent ? " (inventory checksum verified)" : "",
			human(gens[g].stored, a, sizeof(a)), human(gens[g].restored, b, sizeof(b)),
			restored ? 100.0 * (double)gens[g].restored / (double)restored : 0.0);
	}
	free(gens);
}

/* Where the generation is complete, of a job with two tiers. */
static void show_tiers(const struct cr_tiers *t, FILE *out)
{
	char line[CR_TIERS_SUMMARY_LEN];

	if (t && t->gen)
		fprintf(out, "  tiers: %s\n", cr_tiers_summary(t, line, sizeof(line)));
}

static void show_inventory(const struct sc_image *img, const struct cr_tiers *tiers, FILE *out)
{
	const Sc__Inventory *inv = img->inv;
	time_t secs = (time_t)(inv->time_ns / 1000000000ULL);
	char when[64] = "?", sz[32];
	struct cr_pages_stored stored = { 0 };
	uint64_t total = 0;
	struct tm tm;
	bool *seen;

	for (size_t i = 0; i < img->nprocs; i++)
		cr_pages_stored_add(&stored, &img->procs[i]);

	if (gmtime_r(&secs, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	fprintf(out, "image %s (format version %u)\n", img->dir, inv->version);
	fprintf(out, "  written by the %s %s at %s", inv->writer, inv->writer_version, when);
	if (inv->hostname)
		fprintf(out, " on %s", inv->hostname);
	if (inv->kernel)
		fprintf(out, " (kernel %s)", inv->kernel);
	fputc('\n', out);
	if (inv->cpu)
		show_cpu(inv->cpu, out);
	else
		fprintf(out, "  CPU: not recorded (written before the CPU check)\n");
	fprintf(out, "  options:");
	if (inv->has_trigger_signal)
		fprintf(out, " trigger %s,", sig_name(inv->trigger_signal, sz, sizeof(sz)));
	if (inv->has_interval_sec)
		inv->interval_sec ? fprintf(out, " every %u s,", inv->interval_sec)
				  : fprintf(out, " no interval,");
	fprintf(out, " %s after the checkpoint\n",
		inv->has_exit_after && inv->exit_after ? "exit" : "run on");
	if (inv->has_freeze_ns)
		fprintf(out, "  threads parked for %.3f ms\n", (double)inv->freeze_ns / 1e6);
	if (inv->shell_job)
		fprintf(out, "  a job of a shell (process group %d, %s): crload --shell-job\n",
			inv->job_pgid,
			inv->job_foreground ? "in its terminal's foreground" : "in the background");
	show_chain(img, out);
	show_tiers(tiers, out);
	show_pages_stored(&stored, out);
	for (size_t i = 0; i < inv->n_files; i++)
		total += inv->files[i]->size;
	fprintf(out, "  %s in %zu files besides the inventory:\n", human(total, sz, sizeof(sz)),
		inv->n_files);
	for (size_t i = 0; i < inv->n_files; i++)
		fprintf(out, "    %-24s %12s  xxh3 %016" PRIx64 "\n", inv->files[i]->name,
			human(inv->files[i]->size, sz, sizeof(sz)), inv->files[i]->xxh3);

	fprintf(out, "\nprocess tree:\n");
	seen = calloc(inv->n_procs, sizeof(*seen));
	if (!seen)
		return;
	for (size_t i = 0; i < inv->n_procs; i++)
		if (!seen[i])
			show_tree(inv, i, 0, seen, out);
	free(seen);
}

static void show_threads(const Sc__ProcCore *c, struct cr_mem *mem, struct cr_syms *syms, FILE *out)
{
	fprintf(out, "  threads (%zu):\n", c->n_threads);
	for (size_t i = 0; i < c->n_threads; i++) {
		const Sc__ThreadCore *t = c->threads[i];
		char state[64], where[4200];
		struct cr_sym sym;

		cr_symbolize(syms, t->regs->rip, &sym);
		fprintf(out, "    %-7d %-16s %-26s at %s%s\n", t->tid, t->name,
			cr_thread_state(mem, t, state, sizeof(state)),
			cr_sym_format(&sym, t->regs->rip, where, sizeof(where)),
			t->runtime_thread ? " [took the checkpoint]" : "");
	}
}

/* The pages a restore reads, through the chain: the runs. */
static void show_memory(const struct sc_proc_img *p, FILE *out)
{
	const Sc__Mm *mm = p->mm;
	uint64_t mapped = 0, stored = 0;
	char a[32], b[32], c[32];
	size_t r = 0;

	for (size_t i = 0; i < mm->n_vmas; i++)
		mapped += mm->vmas[i]->end - mm->vmas[i]->start;
	for (size_t i = 0; i < p->nruns; i++)
		stored += p->runs[i].nr_pages * SC_PAGE_SIZE;
	fprintf(out, "  memory: %zu VMAs, %s mapped, %s stored", mm->n_vmas,
		human(mapped, a, sizeof(a)), human(stored, b, sizeof(b)));
	if (stored != p->pages_size)
		fprintf(out, " (%s in this image)", human(p->pages_size, c, sizeof(c)));
	fprintf(out, "%s%s\n", mm->exe ? ", exe " : "", mm->exe ? mm->exe : "");
	if (mm->tracker) {
		uint64_t tracked = 0;

		for (size_t i = 0; i + 1 < mm->tracker->n_ranges; i += 2)
			tracked += mm->tracker->ranges[i + 1] - mm->tracker->ranges[i];
		fprintf(out, "  dirty-page tracker: %zu ranges, %s, armed again at descriptor %d\n",
			mm->tracker->n_ranges / 2, human(tracked, a, sizeof(a)), mm->tracker->fd);
	}
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const Sc__Vma *v = mm->vmas[i];
		const ProtobufCEnumValue *k =
			protobuf_c_enum_descriptor_get_value(&sc__vma_kind__descriptor, v->kind);
		uint64_t here = 0;

		/* Runs are sorted and never span two VMAs. */
		while (r < p->nruns && p->runs[r].vaddr < v->end) {
			if (p->runs[r].vaddr >= v->start)
				here += p->runs[r].nr_pages * SC_PAGE_SIZE;
			r++;
		}
		fprintf(out, "    %012" PRIx64 "-%012" PRIx64 " %c%c%c%c %-13s %10s ", v->start,
			v->end, v->prot & PROT_READ ? 'r' : '-', v->prot & PROT_WRITE ? 'w' : '-',
			v->prot & PROT_EXEC ? 'x' : '-', v->flags & MAP_SHARED ? 's' : 'p',
			k ? k->name : "?", here ? human(here, a, sizeof(a)) : "-");
		if (v->path)
			fprintf(out, "%s+%#" PRIx64 "%s", v->path, v->has_pgoff ? v->pgoff : 0,
				sc_vma_is_file_in_memory(v) ? " (in memory: pages stored)" : "");
		else if (v->name)
			fputs(v->name, out);
		fputc('\n', out);
	}
}

static void show_fds(const Sc__Fds *fds, FILE *out)
{
	fprintf(out, "  descriptors (%zu):\n", fds->n_fds);
	for (size_t i = 0; i < fds->n_fds; i++) {
		const Sc__Fd *f = fds->fds[i];
		const struct fd_restore_half *k = fd_restore_kind(f->kind);
		char what[SC_ERR_LEN] = "";

		if (k)
			k->describe(f, what, sizeof(what));
		fprintf(out, "    fd %-4d %s: %s", f->fd, k ? sc_fd_kind_name(f->kind) : "?", what);
		if (f->has_dup_of)
			fprintf(out, " (shares its file with fd %d)", f->dup_of);
		if (f->n_locks)
			fprintf(out, " (%zu lock%s)", f->n_locks, f->n_locks > 1 ? "s" : "");
		fprintf(out, "%s\n", f->cloexec ? " [cloexec]" : "");
	}
}

static void show_sigacts(const Sc__SigActs *acts, struct cr_syms *syms, FILE *out)
{
	static const struct {
		uint64_t bit;
		const char *name;
	} flags[] = {
		{ SA_SIGINFO, "SIGINFO" },     { SA_RESTART, "RESTART" },
		{ SA_ONSTACK, "ONSTACK" },     { SA_NODEFER, "NODEFER" },
		{ SA_RESETHAND, "RESETHAND" }, { SA_NOCLDSTOP, "NOCLDSTOP" },
		{ SA_NOCLDWAIT, "NOCLDWAIT" },
	};

	fprintf(out, "  signal handlers (%zu):\n", acts->n_acts);
	for (size_t i = 0; i < acts->n_acts; i++) {
		const Sc__SigAction *a = acts->acts[i];
		char name[32], where[4200];
		struct cr_sym sym;

		if (a->handler == (uint64_t)(uintptr_t)SIG_DFL)
			snprintf(where, sizeof(where), "default");
		else if (a->handler == (uint64_t)(uintptr_t)SIG_IGN)
			snprintf(where, sizeof(where), "ignored");
		else {
			cr_symbolize(syms, a->handler, &sym);
			cr_sym_format(&sym, a->handler, where, sizeof(where));
		}
		fprintf(out, "    %-12s %s", sig_name(a->sig, name, sizeof(name)), where);
		for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++)
			if (a->flags & flags[k].bit)
				fprintf(out, " SA_%s", flags[k].name);
		if (a->mask)
			fprintf(out, ", blocks %#" PRIx64, a->mask);
		fputc('\n', out);
	}
}

static void ns_text(uint64_t ns, char *buf, size_t len)
{
	snprintf(buf, len, "%.3f s", (double)ns / 1e9);
}

/* Interval timers and POSIX timers, when it has any. */
static void show_timers(const Sc__ProcCore *c, FILE *out)
{
	static const char *const itimer[] = { "ITIMER_REAL", "ITIMER_VIRTUAL", "ITIMER_PROF" };
	static const char *const how[] = { "signal", "none", "thread" };
	char a[32], b[32], sig[32];

	if (!c->n_itimers && !c->n_posix_timers)
		return;
	fprintf(out, "  timers (%zu):\n", c->n_itimers + c->n_posix_timers);
	for (size_t i = 0; i < c->n_itimers; i++) {
		const Sc__Itimer *t = c->itimers[i];

		ns_text(t->value_us * 1000, a, sizeof(a));
		ns_text(t->interval_us * 1000, b, sizeof(b));
		fprintf(out, "    %-14s in %s, every %s\n", itimer[t->which % 3], a, b);
	}
	for (size_t i = 0; i < c->n_posix_timers; i++) {
		const Sc__PosixTimer *t = c->posix_timers[i];

		ns_text(t->value_ns, a, sizeof(a));
		ns_text(t->interval_ns, b, sizeof(b));
		fprintf(out, "    POSIX id %-5d clock %d, %s", t->id, t->clock,
			t->value_ns ? "in " : "disarmed");
		if (t->value_ns)
			fprintf(out, "%s, every %s", a, b);
		if (t->notify != 1)
			fprintf(out, ", %s %s", sig_name(t->signo, sig, sizeof(sig)),
				how[(t->notify & 3) % 3]);
		if (t->has_tid)
			fprintf(out, " to thread %d", t->tid);
		fputc('\n', out);
	}
}

/* Real, effective, saved and filesystem ids, then the rest, in one line
 * each (doc/credentials.md). */
static void show_creds(const Sc__Creds *cr, FILE *out)
{
	if (!cr) {
		fprintf(out, "  credentials: not recorded (an older selfckpt wrote it): its owner "
			     "restores it as themself, root only if it is root's\n");
		return;
	}
	fprintf(out, "  uids %u %u %u %u, gids %u %u %u %u (real, effective, saved, fs), groups",
		cr->ruid, cr->euid, cr->suid, cr->fsuid, cr->rgid, cr->egid, cr->sgid, cr->fsgid);
	for (size_t i = 0; i < cr->n_groups; i++)
		fprintf(out, " %u", cr->groups[i]);
	fprintf(out, "%s\n", cr->n_groups ? "" : " none");
	fprintf(out,
		"  capabilities: permitted %#llx, effective %#llx, inheritable %#llx, bounding "
		"%#llx, ambient %#llx; securebits %#x, no_new_privs %d, dumpable %u\n",
		(unsigned long long)cr->cap_permitted, (unsigned long long)cr->cap_effective,
		(unsigned long long)cr->cap_inheritable, (unsigned long long)cr->cap_bounding,
		(unsigned long long)cr->cap_ambient, cr->securebits, cr->no_new_privs,
		cr->dumpable);
}

void crinfo_show_proc(const struct sc_proc_img *p, struct cr_mem *mem, struct cr_syms *syms,
		      FILE *out)
{
	const Sc__ProcCore *c = p->core;
	struct cr_pages_stored stored = { 0 };

	cr_pages_stored_add(&stored, p);
	fprintf(out, "\nprocess %d: cwd %s, uid %u, gid %u, umask %03o\n", p->pid, c->cwd, c->uid,
		c->gid, c->umask);
	show_creds(c->creds, out);
	show_threads(c, mem, syms, out);
	show_timers(c, out);
	show_memory(p, out);
	show_pages_stored(&stored, out);
	show_fds(p->fds, out);
	show_sigacts(p->acts, syms, out);
}

int crinfo_show(const struct sc_image *img, const struct cr_tiers *tiers, FILE *out)
{
	show_inventory(img, tiers, out);
	for (size_t i = 0; i < img->nprocs; i++) {
		const struct sc_proc_img *p = &img->procs[i];
		struct cr_syms *syms = cr_syms_new(p->mm, img->inv->kernel);
		struct cr_mem *mem = syms ? cr_mem_open(img, p, syms) : NULL;

		if (!mem) {
			cr_syms_free(syms);
			fprintf(stderr, "crinfo: %s: %s: cannot be read\n", img->dir,
				p->pages_name);
			return -1;
		}
		crinfo_show_proc(p, mem, syms, out);
		cr_mem_close(mem);
		cr_syms_free(syms);
	}
	return 0;
}
