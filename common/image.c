// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* libxxhash's XXH3 for this CPU's widest vectors (doc/checksums.md); a
 * state on the stack needs its layout. */
#define XXH_STATIC_LINKING_ONLY
#include <xxh_x86dispatch.h>
#include <zstd.h>

#include "cpu.h"
#include "fd_checks.h"
#include "fdkinds.h"
#include "image.h"
#include "tree_descs.h"
#include "unix_graph.h"
#include "xstate.h"

const ProtobufCMessageDescriptor *sc_img_descriptor(uint32_t type)
{
	switch (type) {
	case SC_IMG_INVENTORY:
		return &sc__inventory__descriptor;
	case SC_IMG_CORE:
		return &sc__proc_core__descriptor;
	case SC_IMG_SIGACTS:
		return &sc__sig_acts__descriptor;
	case SC_IMG_MM:
		return &sc__mm__descriptor;
	case SC_IMG_PAGEMAP:
		return &sc__pagemap__descriptor;
	case SC_IMG_FDS:
		return &sc__fds__descriptor;
	}
	return NULL;
}

ProtobufCMessage *sc_img_unpack(const void *buf, size_t len, uint32_t type, char *err)
{
	struct sc_img_header h;
	ProtobufCMessage *m;

	if (len < sizeof(h)) {
		sc_err(err, "truncated (%zu bytes, no header)", len);
		return NULL;
	}
	memcpy(&h, buf, sizeof(h));
	if (h.magic != SC_IMG_MAGIC) {
		sc_err(err, "not a selfckpt image file (bad magic)");
		return NULL;
	}
	if (h.version != SC_IMAGE_VERSION) {
		sc_err(err, "image format version %u, this crload reads version %u", h.version,
		       SC_IMAGE_VERSION);
		return NULL;
	}
	if (h.type != type || !sc_img_descriptor(type)) {
		sc_err(err, "holds record type %u where type %u belongs", h.type, type);
		return NULL;
	}
	if (h.len != len - sizeof(h)) {
		sc_err(err, "truncated or padded: header says %u bytes, file has %zu", h.len,
		       len - sizeof(h));
		return NULL;
	}
	if (XXH3_64bits((const char *)buf + sizeof(h), h.len) != h.xxh3) {
		sc_err(err, SC_CORRUPTED);
		return NULL;
	}
	m = protobuf_c_message_unpack(sc_img_descriptor(type), NULL, h.len,
				      (const uint8_t *)buf + sizeof(h));
	if (!m)
		sc_err(err, "cannot be decoded (malformed or missing fields)");
	return m;
}

static bool safe_name(const char *n)
{
	return *n && !strchr(n, '/') && strcmp(n, ".") && strcmp(n, "..");
}

static bool has_pid(const Sc__Inventory *inv, int pid)
{
	for (size_t i = 0; i < inv->n_procs; i++)
		if (inv->procs[i]->pid == pid)
			return true;
	return false;
}

bool sc_top_level(const Sc__Inventory *inv, size_t i)
{
	const Sc__ProcEntry *root = inv->procs[0], *p = inv->procs[i];

	return i == 0 || (!p->zombie && p->ppid == root->ppid && root->pgid == root->pid &&
			  p->pgid == root->pid && p->sid == root->sid && !has_pid(inv, p->ppid));
}

/* A shell job (doc/shell-job.md) is one of the image's process groups,
 * in a session whose leader is not in the image. */
static int check_job(const Sc__Inventory *inv, char *err)
{
	bool is_group = false;

	if (!inv->shell_job)
		return inv->job_foreground || inv->has_job_pgid
			       ? sc_err(err, "job fields on an image that is not a shell job")
			       : 0;
	for (size_t i = 0; i < inv->n_procs; i++) {
		if (has_pid(inv, inv->procs[i]->sid))
			return sc_err(err, "a shell job whose session leader %d is in the image",
				      inv->procs[i]->sid);
		is_group |= inv->has_job_pgid && inv->job_pgid > 0 && inv->procs[i]->pgid == inv->job_pgid;
	}
	return is_group ? 0 : sc_err(err, "a shell job without a process group of the image");
}

/* Printable ASCII of at most max characters, as CPUID gives it. */
static bool cpu_string(const char *s, size_t max)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (n == max || s[n] < ' ' || s[n] > '~')
			return false;
	return true;
}

/* The CPU the image was written on (doc/cpu-check.md). */
static int check_cpu(const Sc__Cpu *c, char *err)
{
	/* Family: 4 bits, plus 8 of extended family; model: 8 bits in all. */
	const uint32_t max_family = 0xf + 0xff, max_model = 0xff, max_stepping = 0xf;

	if (!cpu_string(c->vendor, SC_CPU_VENDOR_LEN) ||
	    (c->name && !cpu_string(c->name, SC_CPU_NAME_LEN)))
		return sc_err(err, "CPU vendor or name is not what CPUID gives");
	if (c->family > max_family || c->model > max_model || c->stepping > max_stepping)
		return sc_err(err, "CPU family %u model %u stepping %u", c->family, c->model,
			      c->stepping);
	/* x87 state is always enabled where XCR0 exists. */
	if (c->xcr0 && !(c->xcr0 & 1))
		return sc_err(err, "CPU XCR0 %#llx without x87 state", (unsigned long long)c->xcr0);
	return 0;
}

int sc_check_inventory(const Sc__Inventory *inv, char *err)
{
	if (inv->version != SC_IMAGE_VERSION)
		return sc_err(err, "image version %u, expected %u", inv->version, SC_IMAGE_VERSION);
	if (strcmp(inv->writer, SC_WRITER_RUNTIME) && strcmp(inv->writer, SC_WRITER_CRDUMP))
		return sc_err(err, "unknown writer \"%s\"", inv->writer);
	if (inv->n_procs == 0)
		return sc_err(err, "no process in the image");
	for (size_t i = 0; i < inv->n_procs; i++) {
		const Sc__ProcEntry *p = inv->procs[i];

		if (p->pid <= 0 || p->pid >= (1 << 22) || p->ppid < 0 || p->pgid < 0 || p->sid < 0)
			return sc_err(err, "process %zu has an impossible pid %d", i, p->pid);
		for (size_t j = 0; j < i; j++)
			if (inv->procs[j]->pid == p->pid)
				return sc_err(err, "pid %d listed twice", p->pid);
		if (p->zombie && (i == 0 || !p->has_exit_status))
			return sc_err(err, "zombie %d is the root or has no exit status", p->pid);
		if (!p->zombie && p->has_exit_status)
			return sc_err(err, "process %d is alive but has an exit status", p->pid);
		/* Parents come before their children: crload forks in this order. */
		bool parent_listed = sc_top_level(inv, i);
		for (size_t j = 0; j < i && !parent_listed; j++)
			parent_listed = inv->procs[j]->pid == p->ppid && !inv->procs[j]->zombie;
		if (!parent_listed)
			return sc_err(err, "the parent %d of process %d is not listed before it",
				      p->ppid, p->pid);
		for (size_t k = 0; k < p->n_shared; k++) {
			const Sc__SharedDesc *d = p->shared[k];
			bool first_listed = false;

			for (size_t j = 0; j < i; j++)
				first_listed |=
					inv->procs[j]->pid == d->same_pid && !inv->procs[j]->zombie;
			if (p->zombie || !first_listed || d->fd < 0 || d->same_fd < 0)
				return sc_err(err,
					      "process %d shares fd %d with pid %d fd %d, "
					      "not a process listed before it",
					      p->pid, d->fd, d->same_pid, d->same_fd);
		}
	}
	if (check_job(inv, err))
		return -1;
	if ((inv->kernel && strlen(inv->kernel) > 64) || (inv->hostname && strlen(inv->hostname) > 64))
		return sc_err(err, "kernel or host name longer than uname gives");
	if (inv->has_trigger_signal && (inv->trigger_signal < 1 || inv->trigger_signal > 64))
		return sc_err(err, "trigger signal %u", inv->trigger_signal);
	if (inv->cpu && check_cpu(inv->cpu, err))
		return -1;
	for (size_t i = 0; i < inv->n_files; i++)
		if (!safe_name(inv->files[i]->name))
			return sc_err(err, "file name \"%s\" is not a plain name",
				      inv->files[i]->name);
	/* An incremental image names its parent and the parent's checksum. */
	if (inv->parent && (!inv->parent[0] || !inv->has_parent_inventory_xxh3))
		return sc_err(err, "parent \"%s\" without its inventory checksum", inv->parent);
	if (!inv->parent && inv->has_parent_inventory_xxh3)
		return sc_err(err, "a parent's inventory checksum without a parent");
	return 0;
}

/* Queued signals: whole siginfo_t records of signals 1-64 (not SIGKILL or
 * SIGSTOP, which nobody can have pending across a stop), a bounded number. */
static int check_pending(const ProtobufCBinaryData *s, size_t n, int tid, char *err)
{
	if (n > SC_MAX_PENDING)
		return sc_err(err, "thread %d: %zu signals pending", tid, n);
	for (size_t i = 0; i < n; i++) {
		int32_t signo;

		if (s[i].len != SC_SIGINFO_SIZE)
			return sc_err(err, "thread %d: a pending signal of %zu bytes", tid,
				      s[i].len);
		memcpy(&signo, s[i].data, sizeof(signo));
		if (signo < 1 || signo > 64 || signo == 9 || signo == 19)
			return sc_err(err, "thread %d: pending signal %d", tid, signo);
	}
	return 0;
}

/* Timers the restorer can make again: a clock it can use, a way of
 * telling it knows, a signal, a thread of the process, times in range. */
static int check_posix_timers(const Sc__ProcCore *c, char *err)
{
	if (c->n_posix_timers > SC_MAX_POSIX_TIMERS)
		return sc_err(err, "%zu POSIX timers", c->n_posix_timers);
	for (size_t i = 0; i < c->n_posix_timers; i++) {
		const Sc__PosixTimer *t = c->posix_timers[i];
		uint32_t how = t->notify & ~(uint32_t)SC_SIGEV_THREAD_ID;
		bool to_thread = t->notify & SC_SIGEV_THREAD_ID, known = false;

		if (t->id < 0 || !sc_timer_clock_ok(t->clock))
			return sc_err(err, "POSIX timer %d: clock %d", t->id, t->clock);
		if (how > 2 || (to_thread && how != 0) || to_thread != t->has_tid)
			return sc_err(err, "POSIX timer %d: notify %u", t->id, t->notify);
		if (how != 1 && (t->signo < 1 || t->signo > 64 || t->signo == SIGKILL ||
				 t->signo == SIGSTOP))
			return sc_err(err, "POSIX timer %d: signal %u", t->id, t->signo);
		for (size_t k = 0; to_thread && k < c->n_threads; k++)
			known |= c->threads[k]->tid == t->tid;
		if (to_thread && !known)
			return sc_err(err, "POSIX timer %d: thread %d is not one of the process's",
				      t->id, t->tid);
		if (t->value_ns > SC_TIMER_MAX_NS || t->interval_ns > SC_TIMER_MAX_NS)
			return sc_err(err, "POSIX timer %d: %llu ns every %llu ns", t->id,
				      (unsigned long long)t->value_ns,
				      (unsigned long long)t->interval_ns);
		for (size_t j = 0; j < i; j++)
			if (c->posix_timers[j]->id == t->id)
				return sc_err(err, "POSIX timer %d listed twice", t->id);
	}
	return 0;
}

bool sc_kernel_restores_timer_ids(void)
{
	return prctl(SC_PR_TIMER_CREATE_RESTORE_IDS, 2 /* GET */, 0, 0, 0) >= 0;
}

/* Credentials the kernel could have given a process. Their absence is for
 * crload to refuse (sc_creds_refused): crinfo still reads such images. */
static int check_creds(const Sc__ProcCore *c, char *err)
{
	const Sc__Creds *cr = c->creds;

	if (!cr)
		return 0;
	if (cr->ruid != c->uid || cr->rgid != c->gid)
		return sc_err(err, "credentials of uid %u gid %u, but uid %u gid %u", cr->ruid,
			      cr->rgid, c->uid, c->gid);
	if (cr->n_groups > SC_MAX_GROUPS)
		return sc_err(err, "%zu supplementary groups", cr->n_groups);
	if ((cr->cap_effective & ~cr->cap_permitted) ||
	    (cr->cap_ambient & ~(cr->cap_permitted & cr->cap_inheritable)))
		return sc_err(err,
			      "capabilities %#llx effective and %#llx ambient, beyond %#llx "
			      "permitted and %#llx inheritable",
			      (unsigned long long)cr->cap_effective,
			      (unsigned long long)cr->cap_ambient,
			      (unsigned long long)cr->cap_permitted,
			      (unsigned long long)cr->cap_inheritable);
	if (cr->securebits & ~SC_SECUREBITS_ALL)
		return sc_err(err, "securebits %#x", cr->securebits);
	if (cr->dumpable > SC_SUID_DUMP_ROOT)
		return sc_err(err, "dumpable %u", cr->dumpable);
	return 0;
}

int sc_check_core(const Sc__ProcCore *c, int pid, char *err)
{
	if (c->pid != pid)
		return sc_err(err, "belongs to pid %d, not %d", c->pid, pid);
	if (c->n_threads == 0 || c->n_threads > 32768)
		return sc_err(err, "%zu threads", c->n_threads);
	if (c->threads[0]->tid != pid)
		return sc_err(err, "first thread is %d, not the main thread %d", c->threads[0]->tid,
			      pid);
	if (c->has_tpgid && (c->tpgid < -1 || c->tpgid >= (1 << 22)))
		return sc_err(err, "impossible terminal foreground group %d", c->tpgid);
	if (c->xcomp_perm & ~SC_XFEATURES_DYNAMIC)
		return sc_err(err, "xcomp_perm %#llx names components other than AMX tile data",
			      (unsigned long long)c->xcomp_perm);
	for (size_t i = 0; i < c->n_threads; i++) {
		const Sc__ThreadCore *t = c->threads[i];
		struct sc_fpx_sw_bytes sw;

		if (t->tid <= 0 || t->tid >= (1 << 22))
			return sc_err(err, "thread %zu has an impossible tid %d", i, t->tid);
		for (size_t j = 0; j < i; j++)
			if (c->threads[j]->tid == t->tid)
				return sc_err(err, "tid %d listed twice", t->tid);
		if (t->xsave.len < 512 || t->xsave.len > SC_XSAVE_MAX)
			return sc_err(err, "thread %d: XSAVE area of %zu bytes", t->tid,
				      t->xsave.len);
		if (t->xsave.len > 512) {
			uint64_t xstate_bv;

			/* Legacy area plus the 64-byte XSAVE header at least. */
			if (t->xsave.len < 576)
				return sc_err(err, "thread %d: XSAVE area of %zu bytes", t->tid,
					      t->xsave.len);
			memcpy(&sw, t->xsave.data + SC_FPX_SW_OFFSET, sizeof(sw));
			memcpy(&xstate_bv, t->xsave.data + 512, sizeof(xstate_bv));
			if (sw.magic1 != SC_FP_XSTATE_MAGIC1 || sw.xstate_size != t->xsave.len ||
			    sw.extended_size != t->xsave.len + SC_FP_XSTATE_MAGIC2_SIZE ||
			    sw.xfeatures != t->xfeatures || (xstate_bv & ~t->xfeatures))
				return sc_err(err, "thread %d: XSAVE area header is inconsistent",
					      t->tid);
		}
		if (t->regs->rip >= SC_TASK_SIZE || t->regs->rsp >= SC_TASK_SIZE ||
		    t->regs->rsp < 4096)
			return sc_err(err, "thread %d: rip/rsp outside user space", t->tid);
		if (t->rseq_ptr && (t->rseq_len < 32 || t->rseq_len > 4096 || t->rseq_ptr % 32))
			return sc_err(err, "thread %d: bad rseq area", t->tid);
		if (strlen(t->name) > 15)
			return sc_err(err, "thread %d: name too long", t->tid);
		if (check_pending(t->pending_signals, t->n_pending_signals, t->tid, err))
			return -1;
	}
	if (check_pending(c->shared_pending_signals, c->n_shared_pending_signals, pid, err))
		return -1;
	if (c->n_itimers > 3)
		return sc_err(err, "%zu interval timers", c->n_itimers);
	for (size_t i = 0; i < c->n_itimers; i++) {
		const Sc__Itimer *t = c->itimers[i];

		/* timeval seconds fit a long; a year is far more than any. */
		if (t->which > 2 || (!t->value_us && !t->interval_us) || t->value_us > SC_ITIMER_MAX_US ||
		    t->interval_us > SC_ITIMER_MAX_US)
			return sc_err(err, "interval timer %u: %llu us every %llu us", t->which,
				      (unsigned long long)t->value_us,
				      (unsigned long long)t->interval_us);
		for (size_t j = 0; j < i; j++)
			if (c->itimers[j]->which == t->which)
				return sc_err(err, "interval timer %u listed twice", t->which);
	}
	if (check_posix_timers(c, err))
		return -1;
	if (c->cwd[0] != '/')
		return sc_err(err, "cwd \"%s\" is not absolute", c->cwd);
	if (c->umask > 0777)
		return sc_err(err, "umask %o", c->umask);
	if (check_creds(c, err))
		return -1;
	for (size_t i = 0; i < c->n_rlimits; i++)
		if (c->rlimits[i]->resource >= 16)
			return sc_err(err, "unknown rlimit %u", c->rlimits[i]->resource);
	return 0;
}

int sc_check_sigacts(const Sc__SigActs *a, char *err)
{
	for (size_t i = 0; i < a->n_acts; i++)
		if (a->acts[i]->sig < 1 || a->acts[i]->sig > 64 || a->acts[i]->sig == 9 ||
		    a->acts[i]->sig == 19)
			return sc_err(err, "signal %u cannot have a handler", a->acts[i]->sig);
	return 0;
}

const Sc__SysvShm *sc_sysv_of(const Sc__Mm *mm, const Sc__Vma *v)
{
	if (!sc_vma_is_sysv(v))
		return NULL;
	for (size_t i = 0; i < mm->n_sysv_shm; i++)
		if (mm->sysv_shm[i]->id == v->ino)
			return mm->sysv_shm[i];
	return NULL;
}

/* The most descriptors a process can have: the kernel's ceiling on
 * RLIMIT_NOFILE (fs.nr_open cannot be set higher). */
#define FD_NUMBER_LIMIT (1 << 20)

/*
 * The runtime's tracker (doc/incremental.md), which the restorer arms
 * again: at a descriptor number, over ranges of the process's private
 * anonymous memory, in address order.
 */
static int check_tracker(const Sc__Mm *mm, char *err)
{
	const Sc__Tracker *t = mm->tracker;
	uint64_t prev_end = 0;
	size_t v = 0;

	if (t->fd < 0 || t->fd >= FD_NUMBER_LIMIT)
		return sc_err(err, "the tracker's descriptor %d is out of range", t->fd);
	if (t->n_ranges % 2 || t->n_ranges > 2 * SC_TRACK_MAX_RANGES)
		return sc_err(err, "the tracker has %zu range bounds", t->n_ranges);
	for (size_t i = 0; i < t->n_ranges; i += 2) {
		uint64_t start = t->ranges[i], end = t->ranges[i + 1];

		while (v < mm->n_vmas && mm->vmas[v]->end <= start)
			v++;
		if (start % SC_PAGE_SIZE || end % SC_PAGE_SIZE || start >= end ||
		    start < prev_end || v == mm->n_vmas || mm->vmas[v]->start > start ||
		    mm->vmas[v]->end < end || mm->vmas[v]->kind != SC__VMA_KIND__ANON_PRIVATE)
			return sc_err(err,
				      "tracked range %#llx-%#llx is not private anonymous memory",
				      (unsigned long long)start, (unsigned long long)end);
		prev_end = end;
	}
	return 0;
}

int sc_check_mm(const Sc__Mm *mm, char *err)
{
	uint64_t prev_end = 0;

	if (mm->n_vmas == 0)
		return sc_err(err, "no memory");
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const Sc__Vma *v = mm->vmas[i];

		if (v->start % SC_PAGE_SIZE || v->end % SC_PAGE_SIZE || v->start >= v->end ||
		    v->end > SC_TASK_SIZE || v->start < prev_end)
			return sc_err(err, "VMA %zu (%#llx-%#llx) is misplaced", i,
				      (unsigned long long)v->start, (unsigned long long)v->end);
		if (v->prot & ~(unsigned)(PROT_READ | PROT_WRITE | PROT_EXEC))
			return sc_err(err, "VMA %zu has protection bits %#x", i, v->prot);
		if ((v->flags & ~(unsigned)(MAP_SHARED | MAP_PRIVATE | MAP_GROWSDOWN)) ||
		    !(v->flags & (MAP_SHARED | MAP_PRIVATE)))
			return sc_err(err, "VMA %zu has flags %#x", i, v->flags);
		if (v->has_madv && v->madv & ~31U)
			return sc_err(err, "VMA %zu has unknown madvise bits %#x", i, v->madv);
		if (v->kind < SC__VMA_KIND__ANON_PRIVATE || v->kind > SC__VMA_KIND__VDSO)
			return sc_err(err, "VMA %zu has unknown kind %d", i, v->kind);
		if ((v->kind == SC__VMA_KIND__FILE_PRIVATE || v->kind == SC__VMA_KIND__FILE_SHARED) &&
		    (!v->path || v->path[0] != '/' || !v->has_pgoff || v->pgoff % SC_PAGE_SIZE))
			return sc_err(err, "VMA %zu maps a file without a usable path or offset",
				      i);
		prev_end = v->end;
	}
	for (size_t i = 0; i < mm->n_sysv_shm; i++) {
		const Sc__SysvShm *sh = mm->sysv_shm[i];

		if (!sh->size || sh->size > SC_TASK_SIZE || sh->mode & ~07777U ||
		    sh->id > INT32_MAX)
			return sc_err(err, "SysV segment %u is malformed", sh->id);
		for (size_t k = 0; k < i; k++)
			if (mm->sysv_shm[k]->id == sh->id)
				return sc_err(err, "SysV segment %u is listed twice", sh->id);
		for (size_t k = 0; k < mm->n_vmas; k++) {
			const Sc__Vma *v = mm->vmas[k];

			if (sc_sysv_of(mm, v) == sh &&
			    (v->pgoff % SC_PAGE_SIZE || v->pgoff > SC_TASK_SIZE ||
			     v->pgoff + (v->end - v->start) >
				     (sh->size + SC_PAGE_SIZE - 1) / SC_PAGE_SIZE * SC_PAGE_SIZE))
				return sc_err(err, "VMA %zu lies outside SysV segment %u", k,
					      sh->id);
		}
	}
	if (mm->n_auxv % 2 || mm->n_auxv > 512)
		return sc_err(err, "auxv of %zu words", mm->n_auxv);
	if (mm->start_brk > mm->brk || mm->brk >= SC_TASK_SIZE)
		return sc_err(err, "brk %#llx before its start", (unsigned long long)mm->brk);
	return mm->tracker ? check_tracker(mm, err) : 0;
}

/*
 * How the pages file holds the data (doc/compression.md): raw, or zstd
 * frames of whole pages that add up to the data and, compressed, to the
 * file; no frame larger than zstd could ever make its pages.
 */
static int check_frames(const Sc__Pagemap *pm, uint64_t pages_size, char *err)
{
	uint64_t pages = 0, bytes = 0;

	if (pm->codec == SC__PAGES_CODEC__PAGES_RAW)
		return pm->n_frame_pages || pm->n_frame_bytes
			       ? sc_err(err, "frames in an uncompressed pages file")
			       : 0;
	if (pm->n_frame_pages != pm->n_frame_bytes)
		return sc_err(err, "%zu frame sizes for %zu frames", pm->n_frame_bytes,
			      pm->n_frame_pages);
	for (size_t i = 0; i < pm->n_frame_pages; i++) {
		uint32_t n = pm->frame_pages[i], b = pm->frame_bytes[i];

		if (n == 0 || n > SC_ZFRAME_MAX_PAGES)
			return sc_err(err, "frame %zu holds %u pages (1 to %d)", i, n,
				      SC_ZFRAME_MAX_PAGES);
		if (b == 0 || b > ZSTD_compressBound((size_t)n * SC_PAGE_SIZE))
			return sc_err(err, "frame %zu of %u pages takes %u bytes", i, n, b);
		pages += n;
		bytes += b;
	}
	if (pages * SC_PAGE_SIZE != pm->pages_bytes)
		return sc_err(err, "frames hold %llu bytes of pages, the runs %llu",
			      (unsigned long long)(pages * SC_PAGE_SIZE),
			      (unsigned long long)pm->pages_bytes);
	if (bytes != pages_size)
		return sc_err(err, "frames take %llu bytes, the pages file has %llu",
			      (unsigned long long)bytes, (unsigned long long)pages_size);
	return 0;
}

/*
 * The pages file's sums in parts (doc/checksums.md), where it has them:
 * raw, one for each chunk of chunk_bytes, a power of two from a page to
 * SC_PAGES_CHUNK_MAX, the last chunk what is left; compressed, one for
 * each frame, chunk_bytes 0.
 */
static int check_chunks(const Sc__Pagemap *pm, uint64_t pages_size, char *err)
{
	uint64_t c = pm->chunk_bytes;

	if (!pm->has_chunk_bytes)
		return pm->n_chunk_xxh3 ? sc_err(err, "%zu chunk checksums and no chunk size",
						 pm->n_chunk_xxh3)
					: 0;
	if (pm->codec == SC__PAGES_CODEC__PAGES_ZSTD) {
		if (c)
			return sc_err(err, "chunks of %llu bytes in a compressed pages file",
				      (unsigned long long)c);
		return pm->n_chunk_xxh3 != pm->n_frame_pages
			       ? sc_err(err, "%zu chunk checksums for %zu frames", pm->n_chunk_xxh3,
					pm->n_frame_pages)
			       : 0;
	}
	if (c < SC_PAGE_SIZE || c > SC_PAGES_CHUNK_MAX || (c & (c - 1)))
		return sc_err(err, "chunks of %llu bytes (a power of two from %lu to %u)",
			      (unsigned long long)c, (unsigned long)SC_PAGE_SIZE,
			      SC_PAGES_CHUNK_MAX);
	if (pm->n_chunk_xxh3 != (pages_size + c - 1) / c)
		return sc_err(err, "%zu chunk checksums for %llu bytes in chunks of %llu",
			      pm->n_chunk_xxh3, (unsigned long long)pages_size,
			      (unsigned long long)c);
	return 0;
}

int sc_check_pagemap(const Sc__Pagemap *pm, const Sc__Mm *mm, uint64_t pages_size, bool incremental,
		     char *err)
{
	uint64_t total = 0, prev_end = 0;
	size_t vi = 0;

	if (pm->codec != SC__PAGES_CODEC__PAGES_RAW && pm->codec != SC__PAGES_CODEC__PAGES_ZSTD)
		return sc_err(err, "unknown pages codec %d", (int)pm->codec);
	for (size_t i = 0; i < pm->n_entries; i++) {
		const Sc__PagemapEntry *e = pm->entries[i];
		uint64_t len;

		if (e->vaddr % SC_PAGE_SIZE || e->nr_pages == 0 ||
		    e->nr_pages > SC_TASK_SIZE / SC_PAGE_SIZE)
			return sc_err(err, "entry %zu is malformed", i);
		len = e->nr_pages * SC_PAGE_SIZE;
		if (e->vaddr < prev_end || e->vaddr + len > SC_TASK_SIZE || e->vaddr + len < e->vaddr)
			return sc_err(err, "entry %zu (%#llx) is out of order", i,
				      (unsigned long long)e->vaddr);
		while (vi < mm->n_vmas && mm->vmas[vi]->end <= e->vaddr)
			vi++;
		if (vi == mm->n_vmas || mm->vmas[vi]->start > e->vaddr ||
		    mm->vmas[vi]->end < e->vaddr + len || !sc_vma_stores_pages(mm->vmas[vi]))
			return sc_err(
				err, "entry %zu (%#llx, %llu pages) lies outside stored memory", i,
				(unsigned long long)e->vaddr, (unsigned long long)e->nr_pages);
		if (e->in_parent && !incremental)
			return sc_err(err,
				      "entry %zu (%#llx) is in_parent in an image without a parent",
				      i, (unsigned long long)e->vaddr);
		/* Pages in the parent have no data here. */
		if (!e->in_parent)
			total += len;
		prev_end = e->vaddr + len;
	}
	/* A compressed file's size is checked against its frames. */
	if (pm->codec != SC__PAGES_CODEC__PAGES_ZSTD &&
	    (total != pm->pages_bytes || total != pages_size))
		return sc_err(err, "describes %llu bytes of pages, the pages file has %llu",
			      (unsigned long long)total, (unsigned long long)pages_size);
	if (total != pm->pages_bytes)
		return sc_err(err, "describes %llu bytes of pages, pages_bytes says %llu",
			      (unsigned long long)total, (unsigned long long)pm->pages_bytes);
	return check_frames(pm, pages_size, err) || check_chunks(pm, pages_size, err) ? -1 : 0;
}

static int cmp_fd_number(const void *key, const void *elem)
{
	int fd = *(const int *)key, other = (*(const Sc__Fd *const *)elem)->fd;

	return fd < other ? -1 : fd > other;
}

/* What every descriptor has, then its kind's checks (fd_checks.c).
 * Descriptors come in ascending order, which makes finding one cheap:
 * images with thousands are checked in linear-logarithmic time. */
static int check_fds(const struct fd_check_ctx *ctx, char *err)
{
	const Sc__Fds *fds = ctx->fds;

	for (size_t i = 0; i < fds->n_fds; i++) {
		const Sc__Fd *f = fds->fds[i];

		if (f->fd < 0 || f->fd >= FD_NUMBER_LIMIT)
			return sc_err(err, "fd %d out of range", f->fd);
		if (i && f->fd <= fds->fds[i - 1]->fd)
			return sc_err(err, "fd %d listed twice or out of order", f->fd);
		if (!sc_fd_kind_name(f->kind))
			return sc_err(err, "fd %d has unknown kind %d", f->fd, f->kind);
		if (f->has_dup_of) {
			/* A dup of a lower descriptor that is not a dup itself. */
			Sc__Fd *const *o = bsearch(&f->dup_of, fds->fds, i, sizeof(*fds->fds),
						   cmp_fd_number);

			if (!o || (*o)->has_dup_of)
				return sc_err(err, "fd %d: a dup of fd %d, which is not before it",
					      f->fd, f->dup_of);
		}
		for (size_t j = 0; j < f->n_epoll; j++)
			if (f->epoll[j]->tfd < 0 || f->epoll[j]->tfd >= FD_NUMBER_LIMIT)
				return sc_err(err, "fd %d: watches fd %d", f->fd, f->epoll[j]->tfd);
		for (size_t j = 0; j < f->n_locks; j++) {
			const Sc__FileLock *l = f->locks[j];

			if (l->type < SC__FILE_LOCK__TYPE__POSIX || l->type > SC__FILE_LOCK__TYPE__OFD ||
			    (l->has_end && l->end < l->start) || l->start > INT64_MAX ||
			    (l->has_end && l->end > INT64_MAX))
				return sc_err(err, "fd %d: lock %zu is malformed", f->fd, j);
		}
		if (fd_check_kind(ctx, f, err))
			return -1;
	}
	return 0;
}

int sc_check_fds(const Sc__Fds *fds, char *err)
{
	struct fd_check_ctx ctx;
	int ret = fd_check_ctx_init(&ctx, fds, err);

	if (!ret)
		ret = check_fds(&ctx, err);
	fd_check_ctx_free(&ctx);
	return ret;
}

/* The runtime's tracker is at a number no descriptor of the image has. */
static int check_tracker_fd(const Sc__Mm *mm, const Sc__Fds *fds, char *err)
{
	if (mm->tracker &&
	    bsearch(&mm->tracker->fd, fds->fds, fds->n_fds, sizeof(*fds->fds), cmp_fd_number))
		return sc_err(err, "the tracker's descriptor %d is taken", mm->tracker->fd);
	return 0;
}

/* Reads a whole message file and checks size and checksum against the
 * inventory. */
static void *read_checked(struct sc_image *img, const Sc__FileSum *s, size_t *lenp, char *err)
{
	int fd = openat(img->dirfd, s->name, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf;

	if (fd < 0) {
		sc_err(err, "%s: %s", s->name, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || (uint64_t)st.st_size != s->size || s->size > SC_IMG_MAX_MSG + 64) {
		sc_err(err, "%s: size %lld, the inventory says %llu", s->name,
		       (long long)st.st_size, (unsigned long long)s->size);
		close(fd);
		return NULL;
	}
	buf = malloc(s->size ? s->size : 1);
	if (!buf || pread(fd, buf, s->size, 0) != (ssize_t)s->size) {
		sc_err(err, "%s: cannot read", s->name);
		free(buf);
		close(fd);
		return NULL;
	}
	close(fd);
	if (XXH3_64bits(buf, s->size) != s->xxh3) {
		sc_err(err, "%s: " SC_CORRUPTED, s->name);
		free(buf);
		return NULL;
	}
	*lenp = s->size;
	return buf;
}

/*
 * Streams a large file through XXH3, mapped a window at a time: the page
 * cache is hashed where it is instead of being copied out first (a third
 * of crload's validation of a cached 2 GiB image). Where the file cannot
 * be mapped it is read.
 */
/* The file of s opened, of the size s gives; -1 with err set. */
static int open_sized(const struct sc_image *img, const Sc__FileSum *s, char *err)
{
	int fd = openat(img->dirfd, s->name, O_RDONLY | O_CLOEXEC);
	struct stat sb;

	if (fd < 0)
		return sc_err(err, "%s: %s", s->name, strerror(errno));
	if (fstat(fd, &sb) || (uint64_t)sb.st_size != s->size) {
		close(fd);
		return sc_err(err, "%s: size %lld, the inventory says %llu", s->name,
			      (long long)sb.st_size, (unsigned long long)s->size);
	}
	return fd;
}

int sc_image_check_file(const struct sc_image *img, const Sc__FileSum *s, char *err)
{
	const size_t window = 64 << 20;
	int fd = open_sized(img, s, err);
	XXH3_state_t st;
	uint64_t off = 0;
	char *buf = NULL;

	if (fd < 0)
		return -1;
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	XXH3_64bits_reset(&st);
	while (off < s->size) {
		size_t len = s->size - off < window ? s->size - off : window;
		void *map = buf ? MAP_FAILED
				: mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_POPULATE, fd,
				       (off_t)off);
		ssize_t r;

		if (map != MAP_FAILED) {
			XXH3_64bits_update(&st, map, len);
			munmap(map, len);
			off += len;
			continue;
		}
		if (!buf && (buf = malloc(window)) == NULL)
			break;
		r = pread(fd, buf, window, (off_t)off);
		if (r <= 0)
			break;
		XXH3_64bits_update(&st, buf, (size_t)r);
		off += (uint64_t)r;
	}
	free(buf);
	close(fd);
	if (off != s->size)
		return sc_err(err, "%s: cannot read", s->name);
	if (XXH3_64bits_digest(&st) != s->xxh3)
		return sc_err(err, "%s: " SC_CORRUPTED, s->name);
	return 0;
}

static const Sc__FileSum *find_sum(const Sc__Inventory *inv, const char *name)
{
	for (size_t i = 0; i < inv->n_files; i++)
		if (!strcmp(inv->files[i]->name, name))
			return inv->files[i];
	return NULL;
}

/* Loads "<prefix>-<pid>.img" as a message of type; NULL with err set. */
static ProtobufCMessage *load_msg(struct sc_image *img, const char *prefix, int pid,
				  uint32_t type, char *err)
{
	char name[64], why[SC_ERR_LEN];
	const Sc__FileSum *s;
	ProtobufCMessage *m;
	size_t len;
	void *buf;

	snprintf(name, sizeof(name), "%s-%d.img", prefix, pid);
	s = find_sum(img->inv, name);
	if (!s) {
		sc_err(err, "%s: missing from the inventory", name);
		return NULL;
	}
	buf = read_checked(img, s, &len, err);
	if (!buf)
		return NULL;
	m = sc_img_unpack(buf, len, type, why);
	free(buf);
	if (!m)
		sc_err(err, "%s: %s", name, why);
	return m;
}

/* The runtime's tail, when there is one, is code of the process: crload
 * jumps there. Without it crload uses gadgets (doc/restore.md). */
static int check_tail(const Sc__ProcCore *c, const Sc__Mm *mm, char *err)
{
	for (size_t i = 0; c->restore_tail && i < mm->n_vmas; i++)
		if (mm->vmas[i]->start <= c->restore_tail && c->restore_tail < mm->vmas[i]->end)
			return mm->vmas[i]->prot & PROT_EXEC
				       ? 0
				       : sc_err(err,
						"restore tail %#llx is not in executable memory",
						(unsigned long long)c->restore_tail);
	return c->restore_tail ? sc_err(err, "restore tail %#llx is not in the process's memory",
					(unsigned long long)c->restore_tail)
			       : 0;
}

static int load_proc(struct sc_image *img, struct sc_proc_img *p, char *err)
{
	char why[SC_ERR_LEN];
	const Sc__FileSum *s;

#define LOAD(field, prefix, type)                                                                  \
	if (!(p->field = (void *)load_msg(img, prefix, p->pid, type, err)))                        \
		return -1;
	LOAD(core, SC_CORE_PREFIX, SC_IMG_CORE);
	LOAD(acts, SC_SIGACTS_PREFIX, SC_IMG_SIGACTS);
	LOAD(mm, SC_MM_PREFIX, SC_IMG_MM);
	LOAD(pm, SC_PAGEMAP_PREFIX, SC_IMG_PAGEMAP);
	LOAD(fds, SC_FDS_PREFIX, SC_IMG_FDS);
#undef LOAD
	snprintf(p->pages_name, sizeof(p->pages_name), "%s-%d.img", SC_PAGES_PREFIX, p->pid);
	s = find_sum(img->inv, p->pages_name);
	if (!s)
		return sc_err(err, "%s: missing from the inventory", p->pages_name);
	/* Pages with sums in parts, loaded to be restored, are read once:
	 * their reader checks them as it fills memory (doc/checksums.md). */
	if (img->pages_later && p->pm->has_chunk_bytes) {
		int fd = open_sized(img, s, err);

		if (fd < 0)
			return -1;
		close(fd);
	} else if (sc_image_check_file(img, s, err)) {
		return -1;
	}
	p->pages_size = s->size;

#define CHECK(call, prefix)                                                                        \
	if (call)                                                                                  \
		return sc_err(err, "%s-%d.img: %s", prefix, p->pid, why);
	CHECK(sc_check_core(p->core, p->pid, why), SC_CORE_PREFIX);
	CHECK(sc_check_sigacts(p->acts, why), SC_SIGACTS_PREFIX);
	CHECK(sc_check_mm(p->mm, why), SC_MM_PREFIX);
	CHECK(check_tail(p->core, p->mm, why), SC_CORE_PREFIX);
	CHECK(sc_check_pagemap(p->pm, p->mm, p->pages_size, img->inv->parent != NULL, why),
	      SC_PAGEMAP_PREFIX);
	CHECK(sc_check_fds(p->fds, why), SC_FDS_PREFIX);
	CHECK(check_tracker_fd(p->mm, p->fds, why), SC_MM_PREFIX);
#undef CHECK
	return 0;
}

const Sc__Fd *sc_image_fd(const struct sc_image *img, int pid, int fd)
{
	for (size_t i = 0; i < img->nprocs; i++) {
		const Sc__Fds *fds = img->procs[i].fds;
		Sc__Fd *const *f;

		if (img->procs[i].pid != pid)
			continue;
		/* The reader checked them in ascending order (check_fds). */
		f = bsearch(&fd, fds->fds, fds->n_fds, sizeof(*fds->fds), cmp_fd_number);
		return f ? *f : NULL;
	}
	return NULL;
}

/* Both ends of every shared description are descriptors of the image. */
static int check_shared_descs(const struct sc_image *img, char *err)
{
	for (size_t i = 0; i < img->nprocs; i++) {
		const Sc__ProcEntry *pe = img->procs[i].entry;

		for (size_t k = 0; k < pe->n_shared; k++) {
			const Sc__SharedDesc *d = pe->shared[k];

			if (!sc_image_fd(img, pe->pid, d->fd) ||
			    !sc_image_fd(img, d->same_pid, d->same_fd))
				return sc_err(err,
					      "%s: pid %d fd %d shared with pid %d fd %d: no such "
					      "descriptor",
					      SC_INVENTORY_FILE, pe->pid, d->fd, d->same_pid,
					      d->same_fd);
		}
	}
	return 0;
}

/* A pipe whose bytes another process stores: that process holds it too,
 * and stores them itself. */
static int check_pipe_keepers(const struct sc_image *img, char *err)
{
	struct tree_descs t = { 0 };
	int ret = 0;

	for (size_t i = 0; i < img->nprocs && !ret; i++)
		for (size_t k = 0; k < img->procs[i].fds->n_pipes && !ret; k++) {
			const Sc__Pipe *p = img->procs[i].fds->pipes[k];

			if (!p->has_data_pid)
				continue;
			/* The image's shared descriptions, indexed at the first
			 * such pipe: only a tree's image has one. */
			if (!t.v && sc_image_tree_descs(img, &t))
				ret = sc_err(err, "out of memory");
			else if (p->data_pid == img->procs[i].pid || (p->has_data && p->data.len) ||
				 !tree_descs_keeps_pipe(&t, p->data_pid, p->id))
				ret = sc_err(
					err,
					"pid %d: the bytes of pipe:[%llu] are said to be stored "
					"by pid %d, which does not",
					img->procs[i].pid, (unsigned long long)p->id, p->data_pid);
		}
	free(t.v);
	return ret;
}

/* Socket ino (not a dup) of a process of the image other than the
 * owner-th (img->nprocs: any), or NULL. */
static const Sc__Fd *unix_elsewhere(const struct unix_graph *g, uint32_t owner, uint64_t ino)
{
	size_t count;
	const struct unix_node *n = unix_graph_find(g, ino, &count);

	for (size_t i = 0; i < count; i++)
		if (n[i].owner != owner)
			return n[i].data;
	return NULL;
}

/* End f of a connection through a listener, which the owner-th process
 * holds: its other end is another process's, connected back to it, one
 * of the two accepted; or, without a peer yet, it waits in a listener's
 * queue. */
static bool other_end_ok(const struct unix_graph *g, uint32_t owner, const Sc__Fd *f)
{
	const Sc__Fd *peer;

	if (!f->peer_ino)
		return unix_graph_find(g, f->sock_ino, NULL)->listener != 0;
	peer = unix_elsewhere(g, owner, f->peer_ino);
	return peer && peer->peer_ino == f->sock_ino && peer->sock_type == f->sock_type &&
	       peer->unix_sock->accepted != f->unix_sock->accepted;
}

/*
 * Each half of a socketpair between processes has its other half in
 * another process, connected back to it; so has each end of a connection
 * through a listener, one end accepted and the other not, unless it waits
 * in a listener's queue; a listener's queue holds clients of other
 * processes. g: the image's unix sockets, owned by process number.
 */
static int check_tree_pairs(const struct sc_image *img, const struct unix_graph *g, char *err)
{
	for (size_t i = 0; i < img->nprocs; i++)
		for (size_t k = 0; k < img->procs[i].fds->n_fds; k++) {
			const Sc__Fd *f = img->procs[i].fds->fds[k], *peer;
			const Sc__UnixSocket *u;

			if (f->kind != SC__FD_KIND__UNIX || f->has_dup_of)
				continue;
			u = f->unix_sock;
			for (size_t j = 0; j < u->n_pending; j++) {
				const Sc__Fd *c =
					unix_elsewhere(g, (uint32_t)img->nprocs, u->pending[j]);

				if (!c || !unix_fd_queueable(f, c))
					return sc_err(
						err,
						"pid %d fd %d: connection %zu of its queue is "
						"not restorable",
						img->procs[i].pid, f->fd, j);
			}
			if (!f->peer_in_tree)
				continue;
			if ((u->has_name || u->has_peer_name) && !other_end_ok(g, (uint32_t)i, f))
				return sc_err(err,
					      "pid %d fd %d: its connection's other end is gone",
					      img->procs[i].pid, f->fd);
			if (u->has_name || u->has_peer_name)
				continue;
			peer = unix_elsewhere(g, (uint32_t)i, f->peer_ino);
			if (!peer || peer->peer_ino != f->sock_ino ||
			    peer->sock_type != f->sock_type)
				return sc_err(err,
					      "pid %d fd %d: its socketpair's other half is gone",
					      img->procs[i].pid, f->fd);
		}
	return 0;
}

int sc_image_unix_graph(const struct sc_image *img, bool (*keep)(const Sc__Fd *f),
			struct unix_graph *g)
{
	size_t all = 0;

	for (size_t i = 0; i < img->nprocs; i++)
		all += img->procs[i].fds->n_fds;
	g->n = 0;
	if (!(g->v = malloc((all + 1) * sizeof(*g->v))))
		return -1;
	for (size_t i = 0; i < img->nprocs; i++)
		for (size_t k = 0; k < img->procs[i].fds->n_fds; k++) {
			const Sc__Fd *f = img->procs[i].fds->fds[k];

			if (f->kind == SC__FD_KIND__UNIX && !f->has_dup_of && (!keep || keep(f)))
				unix_node_of_fd(&g->v[g->n++], f, (uint32_t)i);
		}
	unix_graph_index(g);
	return 0;
}

int sc_image_tree_descs(const struct sc_image *img, struct tree_descs *t)
{
	size_t all = 0;

	for (size_t i = 0; i < img->nprocs; i++)
		all += img->procs[i].fds->n_fds + img->procs[i].fds->n_pipes;
	t->n = 0;
	if (!(t->v = malloc((all + 1) * sizeof(*t->v))))
		return -1;
	for (size_t i = 0; i < img->nprocs; i++)
		t->n += tree_descs_of_fds(&t->v[t->n], img->procs[i].fds, (uint32_t)i,
					  img->procs[i].pid);
	tree_descs_index(t);
	return 0;
}

/* check_tree_pairs on the image's unix sockets. */
static int check_tree_sockets(const struct sc_image *img, char *err)
{
	struct unix_graph g;
	int ret;

	if (sc_image_unix_graph(img, NULL, &g))
		return sc_err(err, "out of memory");
	ret = check_tree_pairs(img, &g, err);
	free(g.v);
	return ret;
}

int sc_image_load_one(const char *dir, struct sc_image *img, bool pages_later, char *err)
{
	char why[SC_ERR_LEN];
	struct stat st;
	void *buf;
	int fd;

	memset(img, 0, sizeof(*img));
	img->pages_later = pages_later;
	img->dirfd = -1;
	img->dir = strdup(dir);
	img->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (img->dirfd < 0)
		return sc_err(err, "%s: %s", dir, strerror(errno));

	fd = openat(img->dirfd, SC_INVENTORY_FILE, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sc_err(err, "%s: %s (not a complete image)", SC_INVENTORY_FILE,
			      strerror(errno));
	if (fstat(fd, &st) || st.st_size > SC_IMG_MAX_MSG) {
		close(fd);
		return sc_err(err, "%s: unreadable or too large", SC_INVENTORY_FILE);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf || pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
		free(buf);
		close(fd);
		return sc_err(err, "%s: cannot read", SC_INVENTORY_FILE);
	}
	close(fd);
	img->inv_xxh3 = XXH3_64bits(buf, (size_t)st.st_size);
	img->inv = (Sc__Inventory *)sc_img_unpack(buf, (size_t)st.st_size, SC_IMG_INVENTORY, why);
	free(buf);
	if (!img->inv)
		return sc_err(err, "%s: %s", SC_INVENTORY_FILE, why);
	if (sc_check_inventory(img->inv, why))
		return sc_err(err, "%s: %s", SC_INVENTORY_FILE, why);

	img->procs = calloc(img->inv->n_procs, sizeof(*img->procs));
	if (!img->procs)
		return sc_err(err, "out of memory");
	for (size_t i = 0; i < img->inv->n_procs; i++) {
		struct sc_proc_img *p = &img->procs[img->nprocs];

		if (img->inv->procs[i]->zombie)
			continue;
		img->nprocs++;
		p->pid = img->inv->procs[i]->pid;
		p->entry = img->inv->procs[i];
		if (load_proc(img, p, err))
			return -1;
		/* A shell job's processes have its terminal. */
		if (img->inv->shell_job && img->inv->procs[i]->pgid == img->inv->job_pgid &&
		    !img->procs[i].core->tty_nr)
			return sc_err(err, "%s: pid %d of the shell job has no terminal",
				      SC_INVENTORY_FILE, img->procs[i].pid);
	}
	if (check_shared_descs(img, err) || check_tree_sockets(img, err) ||
	    check_pipe_keepers(img, err))
		return -1;
	return 0;
}

void sc_image_free(struct sc_image *img)
{
	for (size_t i = 0; img->procs && i < img->nprocs; i++) {
		struct sc_proc_img *p = &img->procs[i];

		if (p->core)
			protobuf_c_message_free_unpacked(&p->core->base, NULL);
		if (p->acts)
			protobuf_c_message_free_unpacked(&p->acts->base, NULL);
		if (p->mm)
			protobuf_c_message_free_unpacked(&p->mm->base, NULL);
		if (p->pm)
			protobuf_c_message_free_unpacked(&p->pm->base, NULL);
		if (p->fds)
			protobuf_c_message_free_unpacked(&p->fds->base, NULL);
		free(p->runs);
	}
	free(img->procs);
	if (img->parent) {
		sc_image_free(img->parent);
		free(img->parent);
	}
	if (img->inv)
		protobuf_c_message_free_unpacked(&img->inv->base, NULL);
	if (img->dirfd >= 0)
		close(img->dirfd);
	free(img->dir);
	memset(img, 0, sizeof(*img));
	img->dirfd = -1;
}
