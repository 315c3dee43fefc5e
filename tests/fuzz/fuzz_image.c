// SPDX-License-Identifier: MIT
/*
 * Fuzz target for the image reader (common/image.c).
 *
 * One input is used three ways, so that both the header checks and what
 * lies behind the checksum get exercised:
 *  1. as a whole record file (header + payload), unpacked as every record
 *     type;
 *  2. as the payload of a record behind a correct header (length and XXH3
 *     fixed up), for every type: this is what reaches the protobuf decoder
 *     and the sc_check_* functions, which a random input would almost never
 *     do through a matching checksum;
 *  3. as an mm payload and a pagemap payload (the first two bytes, little
 *     endian, give the mm's length): when the mm passes sc_check_mm, the
 *     pagemap is checked against it, as sc_image_load() does;
 *  4. as a compressed pages file (doc/compression.md): its zstd frames
 *     indexed in a pagemap, which is checked, then decompressed as
 *     crinfo verify does and read as crload does, whole and in pieces,
 *     each frame checked against its sum in parts (doc/checksums.md),
 *     one of them wrong when the input says so;
 *  5. as a raw pages file with sums in parts, in chunks of a size the
 *     input gives, one sum wrong when it says so: read in batches cut
 *     where chunks end as crload's fill does, then the rest checked, and
 *     checked as crinfo verify does; both fail exactly for a wrong sum.
 *
 * Nothing may crash, every failure must come with an error message, and
 * what a check accepts must satisfy the invariants the loader relies on
 * (checked here independently): a violation aborts like a crash.
 *
 * What is accepted is then shown the ways crinfo shows it: as JSON (which
 * must be well-formed, checked by a parser of its own here) and as the
 * summary of a process (threads, memory map, descriptors through each
 * kind's describe half, signal handlers) with the other records fixed;
 * an accepted core is also unwound as crinfo bt does, through a stack of
 * made-up words.
 *
 * fuzz_image_mutate() is a structure-aware mutator for these inputs
 * (pbmutate.c): the standalone driver uses it, and the libFuzzer build
 * installs it as LLVMFuzzerCustomMutator for half of its mutations.
 *
 * Built two ways (tests/Makefile.inc): as a libFuzzer binary with clang
 * (tests/fuzz/fuzz_image, -DFUZZ_LIBFUZZER), and with the standalone driver
 * fuzz_main.c.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>
#include <zstd.h>

#include "cpu.h"
#include "crinfo.h"
#include "fuzz_image.h"
#include "fdkinds.h"
#include "image.h"
#include "json.h"
#include "pbmutate.h"

unsigned long fuzz_stat_decoded[SC_IMG_FDS + 1], fuzz_stat_accepted[SC_IMG_FDS + 1];

#define FUZZ_ASSERT(cond, ...)                                                                     \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_image: invariant broken at %s:%d: %s: ", __FILE__,   \
				__LINE__, #cond);                                                  \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static const uint32_t types[] = {SC_IMG_INVENTORY, SC_IMG_CORE,	   SC_IMG_SIGACTS,
				 SC_IMG_MM,	   SC_IMG_PAGEMAP, SC_IMG_FDS};

/* A valid address space to check decoded pagemaps against: text, heap, a
 * shared file, vdso and stack. */
static const Sc__Mm *fixed_mm(void)
{
	static Sc__Vma v[5];
	static Sc__Vma *vp[5];
	static Sc__Mm mm;
	static int done;

	if (done)
		return &mm;
	for (int i = 0; i < 5; i++) {
		sc__vma__init(&v[i]);
		v[i].flags = MAP_PRIVATE;
		v[i].prot = PROT_READ | PROT_WRITE;
		v[i].kind = SC__VMA_KIND__ANON_PRIVATE;
		vp[i] = &v[i];
	}
	v[0].start = 0x400000;
	v[0].end = 0x410000;
	v[0].prot = PROT_READ | PROT_EXEC;
	v[0].kind = SC__VMA_KIND__FILE_PRIVATE;
	v[0].path = "/usr/bin/prog";
	v[0].has_pgoff = 1;
	v[1].start = 0x600000;
	v[1].end = 0x700000;
	v[2].start = 0x7f0000000000ULL;
	v[2].end = 0x7f0000010000ULL;
	v[2].flags = MAP_SHARED;
	v[2].kind = SC__VMA_KIND__FILE_SHARED;
	v[2].path = "/dev/shm/x";
	v[2].has_pgoff = 1;
	v[3].start = 0x7ffff7fc0000ULL;
	v[3].end = 0x7ffff7fc2000ULL;
	v[3].kind = SC__VMA_KIND__VDSO;
	v[4].start = 0x7ffffffde000ULL;
	v[4].end = SC_TASK_SIZE;
	v[4].flags = MAP_PRIVATE | MAP_GROWSDOWN;
	sc__mm__init(&mm);
	mm.vmas = vp;
	mm.n_vmas = 5;
	mm.start_brk = 0x600000;
	mm.brk = 0x700000;
	done = 1;
	return &mm;
}

static void ck_err(const char *err)
{
	FUZZ_ASSERT(memchr(err, '\0', SC_ERR_LEN) != NULL, "error message not terminated");
	FUZZ_ASSERT(err[0] != '\0', "failure without an error message");
}

/* ---- crinfo's views of accepted records --------------------------------- */

/* A JSON value at *p (RFC 8259, no whitespace rules beyond blanks and
 * newlines): 0 when well-formed, the position after it in *p. */
static int json_value(const char **p, const char *end, int depth);

static void json_blank(const char **p, const char *end)
{
	while (*p < end && (**p == ' ' || **p == '\n'))
		(*p)++;
}

static int json_str(const char **p, const char *end)
{
	if (*p == end || **p != '"')
		return -1;
	for ((*p)++; *p < end; (*p)++) {
		unsigned char c = (unsigned char)**p;

		if (c == '"') {
			(*p)++;
			return 0;
		}
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			if (++*p == end || !strchr("\"\\/bfnrtu", **p))
				return -1;
			if (**p == 'u') {
				for (int i = 0; i < 4; i++)
					if (++*p == end || !strchr("0123456789abcdefABCDEF", **p))
						return -1;
			}
		}
	}
	return -1;
}

static int json_list(const char **p, const char *end, int depth, char close, bool keys)
{
	(*p)++;
	json_blank(p, end);
	if (*p < end && **p == close) {
		(*p)++;
		return 0;
	}
	for (;;) {
		json_blank(p, end);
		if (keys) {
			if (json_str(p, end))
				return -1;
			json_blank(p, end);
			if (*p == end || *(*p)++ != ':')
				return -1;
		}
		if (json_value(p, end, depth + 1))
			return -1;
		json_blank(p, end);
		if (*p == end)
			return -1;
		if (**p == close) {
			(*p)++;
			return 0;
		}
		if (*(*p)++ != ',')
			return -1;
	}
}

static int json_value(const char **p, const char *end, int depth)
{
	json_blank(p, end);
	if (*p == end || depth > 100)
		return -1;
	switch (**p) {
	case '{':
		return json_list(p, end, depth, '}', true);
	case '[':
		return json_list(p, end, depth, ']', false);
	case '"':
		return json_str(p, end);
	}
	for (const char *w = "true\0false\0null\0"; *w; w += strlen(w) + 1)
		if ((size_t)(end - *p) >= strlen(w) && !memcmp(*p, w, strlen(w))) {
			*p += strlen(w);
			return 0;
		}
	const char *start = *p;

	if (*p < end && **p == '-')
		(*p)++;
	while (*p < end && ((**p >= '0' && **p <= '9') || strchr(".eE+-", **p)))
		(*p)++;
	return *p > start && (*p)[-1] >= '0' && (*p)[-1] <= '9' ? 0 : -1;
}

static void render_json(const ProtobufCMessage *m)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct json j;
	const char *p;

	FUZZ_ASSERT(f != NULL, "open_memstream");
	static bool pretty;

	pretty = !pretty; /* both layouts */
	json_init(&j, f, pretty);
	json_message(&j, NULL, m);
	fclose(f);
	p = buf;
	FUZZ_ASSERT(json_value(&p, buf + len, 0) == 0 && (json_blank(&p, buf + len), p == buf + len),
		    "malformed JSON at byte %zu of %zu", (size_t)(p - buf), len);
	free(buf);
}

/* The stack of fixed_mm() as stored pages, in a memfd: words that point
 * into the stack or the text, or anywhere, drawn from seed, for the
 * unwinder to follow. Returns the pagemap of it. */
static const Sc__Pagemap *stack_pages(uint64_t seed, int *fd)
{
	static const uint64_t lo = 0x7ffffffde000ULL, hi = SC_TASK_SIZE;
	static Sc__PagemapEntry e = SC__PAGEMAP_ENTRY__INIT, *ep[1] = { &e };
	static Sc__Pagemap pm = SC__PAGEMAP__INIT;
	static uint64_t words[(0x7ffffffff000ULL - 0x7ffffffde000ULL) / 8];

	if (*fd < 0) {
		*fd = memfd_create("fuzz-stack", MFD_CLOEXEC);
		e.vaddr = lo;
		e.nr_pages = (hi - lo) / SC_PAGE_SIZE;
		pm.entries = ep;
		pm.n_entries = 1;
		pm.pages_bytes = hi - lo;
	}
	seed |= 1;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		switch (seed % 3) {
		case 0:
			words[i] = lo + (seed >> 8) % (hi - lo) / 8 * 8;
			break;
		case 1:
			words[i] = 0x400000 + (seed >> 8) % 0x10000;
			break;
		default:
			words[i] = seed;
		}
	}
	FUZZ_ASSERT(*fd >= 0 && pwrite(*fd, words, sizeof(words), 0) == (ssize_t)sizeof(words),
		    "fuzz stack memfd");
	return &pm;
}

/* The runs resolved for p, pp being its parent's process: in order, each
 * within one of p's entries; its stored entries as they are, back to back
 * in its pages file; its in_parent ones as pp has them, a generation on. */
static void accepted_runs(const struct sc_proc_img *p, const struct sc_proc_img *pp)
{
	uint64_t prev_end = 0, off = 0;
	size_t e = 0;

	for (size_t i = 0; i < p->nruns; i++) {
		const struct sc_run *r = &p->runs[i];
		const Sc__PagemapEntry *pe;
		const struct sc_run *from;

		FUZZ_ASSERT(r->nr_pages > 0 && r->vaddr >= prev_end, "run %zu at %#llx", i,
			    (unsigned long long)r->vaddr);
		prev_end = r->vaddr + r->nr_pages * SC_PAGE_SIZE;
		while (e < p->pm->n_entries &&
		       p->pm->entries[e]->vaddr + p->pm->entries[e]->nr_pages * SC_PAGE_SIZE <=
			       r->vaddr)
			e++;
		FUZZ_ASSERT(e < p->pm->n_entries, "run %zu beyond the entries", i);
		pe = p->pm->entries[e];
		FUZZ_ASSERT(pe->vaddr <= r->vaddr &&
				    prev_end <= pe->vaddr + pe->nr_pages * SC_PAGE_SIZE,
			    "run %zu outside its entry", i);
		if (!pe->in_parent) {
			FUZZ_ASSERT(r->gen == 0 && r->vaddr == pe->vaddr &&
					    r->nr_pages == pe->nr_pages && r->off == off,
				    "stored run %zu is not its entry", i);
			off += r->nr_pages * SC_PAGE_SIZE;
			continue;
		}
		from = sc_run_at(pp, r->vaddr);
		FUZZ_ASSERT(from && r->gen == from->gen + 1 &&
				    r->off == from->off + (r->vaddr - from->vaddr) &&
				    prev_end <= from->vaddr + from->nr_pages * SC_PAGE_SIZE,
			    "run %zu in the parent is not the parent's", i);
	}
}

/* A process whose records are fixed but for the one being fuzzed, shown
 * as `crinfo show` shows it; its "pages file" is /dev/null. A fuzzed core
 * is also unwound, as `crinfo bt` does, through a made-up stack. */
static void render_show(const Sc__ProcCore *core, const Sc__SigActs *acts, const Sc__Mm *mm,
			const Sc__Pagemap *pm, const Sc__Fds *fds)
{
	static Sc__ProcCore fcore = SC__PROC_CORE__INIT;
	static Sc__ThreadCore th = SC__THREAD_CORE__INIT, *thp[1] = { &th };
	static Sc__GpRegs regs = SC__GP_REGS__INIT;
	static Sc__SigActs facts = SC__SIG_ACTS__INIT;
	static Sc__Pagemap fpm = SC__PAGEMAP__INIT;
	static Sc__Fds ffds = SC__FDS__INIT;
	static struct sc_image img = { .dirfd = -1 }, parent = { .dirfd = -1 };
	/* The parent's process: the pages it stores, the rest of the heap
	 * and all else zero. */
	static struct sc_run prun[] = { { 0x600000, 1, 0, 0 }, { 0x602000, 2, 0, SC_PAGE_SIZE } };
	static struct sc_proc_img pp = { .pid = 1, .pm = &fpm, .runs = prun, .nruns = 2 };
	static FILE *devnull;
	static int stack_fd = -1;
	struct sc_proc_img p = { .pid = 1, .pages_name = "null" };
	char err[SC_ERR_LEN];
	struct cr_syms *syms;
	struct cr_mem *mem;
	bool unwind = core && !mm && !pm;

	if (!devnull) {
		devnull = fopen("/dev/null", "we");
		img.dirfd = open("/dev", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		parent.dirfd = img.dirfd;
		parent.procs = &pp;
		parent.nprocs = 1;
		img.parent = &parent;
		regs.rip = 0x400100;
		regs.rsp = 0x7ffffffff000ULL;
		th.tid = 1;
		th.regs = &regs;
		th.name = "main";
		fcore.n_threads = 1;
		fcore.threads = thp;
		fcore.cwd = "/";
	}
	FUZZ_ASSERT(devnull && img.dirfd >= 0, "/dev/null");
	img.procs = &p;
	img.nprocs = 1;
	p.core = (Sc__ProcCore *)(core ? core : &fcore);
	p.acts = (Sc__SigActs *)(acts ? acts : &facts);
	p.mm = (Sc__Mm *)(mm ? mm : fixed_mm());
	p.pm = (Sc__Pagemap *)(pm ? pm : &fpm);
	p.fds = (Sc__Fds *)(fds ? fds : &ffds);
	if (unwind) {
		const Sc__GpRegs *r = core->threads[0]->regs;

		p.pm = (Sc__Pagemap *)stack_pages(r->rip ^ r->rsp ^ r->rbp, &stack_fd);
		snprintf(p.pages_name, sizeof(p.pages_name), "/proc/self/fd/%d", stack_fd);
	}
	FUZZ_ASSERT(sc_proc_resolve(&img, &p, err) == 0, "%s", err);
	accepted_runs(&p, &pp);
	syms = cr_syms_new(p.mm, NULL);
	mem = syms ? cr_mem_open(&img, &p, syms) : NULL;
	FUZZ_ASSERT(mem != NULL, "no memory for crinfo");
	crinfo_show_proc(&p, mem, syms, devnull);
	if (unwind)
		FUZZ_ASSERT(crinfo_bt_proc(&p, mem, syms, devnull) == 0, "no unwinding");
	cr_mem_close(mem);
	cr_syms_free(syms);
	free(p.runs);
}

/* ---- independent statements of what an accepted record guarantees ----- */

static void accepted_inventory(const Sc__Inventory *inv)
{
	fuzz_stat_accepted[SC_IMG_INVENTORY]++;
	FUZZ_ASSERT(inv->version == SC_IMAGE_VERSION, "version %u", inv->version);
	FUZZ_ASSERT(inv->n_procs > 0, "no process");
	for (size_t i = 0; i < inv->n_procs; i++)
		FUZZ_ASSERT(inv->procs[i]->pid > 0, "pid %d", inv->procs[i]->pid);
	FUZZ_ASSERT(!inv->parent == !inv->has_parent_inventory_xxh3,
		    "parent without its checksum or the reverse");
	for (size_t i = 0; i < inv->n_files; i++) {
		const char *n = inv->files[i]->name;

		FUZZ_ASSERT(n && n[0] && !strchr(n, '/') && strcmp(n, ".") && strcmp(n, ".."),
			    "file name \"%s\"", n ? n : "(null)");
	}
	if (inv->cpu) {
		struct sc_cpu was, now;
		char err[SC_CPU_ERR_LEN];

		FUZZ_ASSERT(strlen(inv->cpu->vendor) <= SC_CPU_VENDOR_LEN, "vendor %s",
			    inv->cpu->vendor);
		FUZZ_ASSERT(!inv->cpu->name || strlen(inv->cpu->name) <= SC_CPU_NAME_LEN, "name %s",
			    inv->cpu->name);
		/* crload's comparison, in each mode, fits its buffer. */
		sc_cpu_from_msg(inv->cpu, &was);
		sc_cpu_this(&now);
		for (int m = SC_CPU_CHECK_NONE; m <= SC_CPU_CHECK_MODEL; m++) {
			sc_cpu_compare(&was, &now, (enum sc_cpu_check)m, err, sizeof(err));
			FUZZ_ASSERT(strlen(err) < sizeof(err) - 1, "comparison cut: %s", err);
		}
	}
}

static void accepted_core(const Sc__ProcCore *c, int pid)
{
	fuzz_stat_accepted[SC_IMG_CORE]++;
	FUZZ_ASSERT(c->pid == pid, "pid %d", c->pid);
	FUZZ_ASSERT(c->n_threads > 0, "no thread");
	FUZZ_ASSERT(c->threads[0]->tid == pid, "main tid %d", c->threads[0]->tid);
	for (size_t i = 0; i < c->n_threads; i++) {
		const Sc__ThreadCore *t = c->threads[i];

		FUZZ_ASSERT(t->tid > 0, "tid %d", t->tid);
		for (size_t j = 0; j < i; j++)
			FUZZ_ASSERT(c->threads[j]->tid != t->tid, "tid %d twice", t->tid);
		FUZZ_ASSERT(t->regs != NULL, "no registers");
		FUZZ_ASSERT(t->xsave.len >= 512 && t->xsave.len <= SC_XSAVE_MAX, "xsave %zu",
			    t->xsave.len);
		FUZZ_ASSERT(t->regs->rip < SC_TASK_SIZE, "rip %#llx",
			    (unsigned long long)t->regs->rip);
		FUZZ_ASSERT(t->name && strlen(t->name) < 16, "thread name");
	}
	FUZZ_ASSERT(c->cwd && c->cwd[0] == '/', "cwd");
}

/* What the restorer arms: whole pages of private anonymous memory, in
 * address order, at a descriptor number. */
static void accepted_tracker(const Sc__Mm *mm)
{
	const Sc__Tracker *t = mm->tracker;
	uint64_t prev = 0;

	if (!t)
		return;
	FUZZ_ASSERT(t->fd >= 0 && t->n_ranges % 2 == 0 && t->n_ranges <= 2 * SC_TRACK_MAX_RANGES,
		    "tracker at %d with %zu bounds", t->fd, t->n_ranges);
	for (size_t i = 0; i < t->n_ranges; i += 2) {
		const Sc__Vma *in = NULL;

		for (size_t k = 0; k < mm->n_vmas; k++)
			if (mm->vmas[k]->start <= t->ranges[i] && t->ranges[i] < mm->vmas[k]->end)
				in = mm->vmas[k];
		FUZZ_ASSERT(t->ranges[i] % SC_PAGE_SIZE == 0 && t->ranges[i] >= prev && in &&
				    in->kind == SC__VMA_KIND__ANON_PRIVATE,
			    "tracked range at %#llx", (unsigned long long)t->ranges[i]);
		FUZZ_ASSERT(t->ranges[i + 1] % SC_PAGE_SIZE == 0 &&
				    t->ranges[i] < t->ranges[i + 1] && t->ranges[i + 1] <= in->end,
			    "tracked range to %#llx", (unsigned long long)t->ranges[i + 1]);
		prev = t->ranges[i + 1];
	}
}

static void accepted_mm(const Sc__Mm *mm)
{
	uint64_t prev = 0;

	fuzz_stat_accepted[SC_IMG_MM]++;
	FUZZ_ASSERT(mm->n_vmas > 0, "no VMA");
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const Sc__Vma *v = mm->vmas[i];

		FUZZ_ASSERT(v->start % SC_PAGE_SIZE == 0 && v->end % SC_PAGE_SIZE == 0 &&
				    v->start < v->end && v->end <= SC_TASK_SIZE && v->start >= prev,
			    "VMA %zu %#llx-%#llx", i, (unsigned long long)v->start,
			    (unsigned long long)v->end);
		FUZZ_ASSERT(v->kind >= SC__VMA_KIND__ANON_PRIVATE && v->kind <= SC__VMA_KIND__VDSO,
			    "kind %d", v->kind);
		if (v->kind == SC__VMA_KIND__FILE_PRIVATE || v->kind == SC__VMA_KIND__FILE_SHARED)
			FUZZ_ASSERT(v->path && v->path[0] == '/', "file VMA %zu without a path", i);
		prev = v->end;
	}
	FUZZ_ASSERT(mm->n_auxv % 2 == 0, "auxv %zu", mm->n_auxv);
	accepted_tracker(mm);
}

/* The bytes pm's frames take: the size of its pages file, compressed. */
static uint64_t frame_bytes(const Sc__Pagemap *pm)
{
	uint64_t n = 0;

	for (size_t i = 0; i < pm->n_frame_bytes; i++)
		n += pm->frame_bytes[i];
	return n;
}

static void accepted_pagemap(const Sc__Pagemap *pm, const Sc__Mm *mm, uint64_t pages_size,
			     bool incremental)
{
	uint64_t total = 0, frame_pages = 0;

	fuzz_stat_accepted[SC_IMG_PAGEMAP]++;
	for (size_t i = 0; i < pm->n_entries; i++) {
		const Sc__PagemapEntry *e = pm->entries[i];
		uint64_t end = e->vaddr + e->nr_pages * SC_PAGE_SIZE;
		int inside = 0;

		FUZZ_ASSERT(e->nr_pages > 0 && e->nr_pages <= SC_TASK_SIZE / SC_PAGE_SIZE,
			    "entry %zu: %llu pages", i, (unsigned long long)e->nr_pages);
		for (size_t j = 0; j < mm->n_vmas; j++)
			if (mm->vmas[j]->start <= e->vaddr && end <= mm->vmas[j]->end &&
			    sc_vma_stores_pages(mm->vmas[j]))
				inside = 1;
		FUZZ_ASSERT(inside, "entry %zu (%#llx, %llu pages) outside stored memory", i,
			    (unsigned long long)e->vaddr, (unsigned long long)e->nr_pages);
		FUZZ_ASSERT(incremental || !e->in_parent, "entry %zu in_parent without a parent",
			    i);
		if (!e->in_parent)
			total += e->nr_pages * SC_PAGE_SIZE;
	}
	FUZZ_ASSERT(total == pm->pages_bytes, "%llu bytes of pages, pages_bytes %llu",
		    (unsigned long long)total, (unsigned long long)pm->pages_bytes);
	/* chain.c's chunk index and buffer rely on these. */
	if (!pm->has_chunk_bytes)
		FUZZ_ASSERT(!pm->n_chunk_xxh3, "%zu chunk sums, no chunk size", pm->n_chunk_xxh3);
	else if (pm->codec == SC__PAGES_CODEC__PAGES_ZSTD)
		FUZZ_ASSERT(!pm->chunk_bytes && pm->n_chunk_xxh3 == pm->n_frame_pages,
			    "%zu chunk sums of %u bytes for %zu frames", pm->n_chunk_xxh3,
			    pm->chunk_bytes, pm->n_frame_pages);
	else
		FUZZ_ASSERT(pm->chunk_bytes >= SC_PAGE_SIZE &&
				    pm->chunk_bytes <= SC_PAGES_CHUNK_MAX &&
				    !(pm->chunk_bytes & (pm->chunk_bytes - 1)) &&
				    pm->n_chunk_xxh3 ==
					    (pages_size + pm->chunk_bytes - 1) / pm->chunk_bytes,
			    "%zu chunk sums of %u bytes for a %llu byte file", pm->n_chunk_xxh3,
			    pm->chunk_bytes, (unsigned long long)pages_size);
	if (pm->codec == SC__PAGES_CODEC__PAGES_RAW) {
		FUZZ_ASSERT(total == pages_size, "%llu bytes of pages for a %llu byte file",
			    (unsigned long long)total, (unsigned long long)pages_size);
		FUZZ_ASSERT(!pm->n_frame_pages && !pm->n_frame_bytes, "frames in a raw file");
		return;
	}
	/* chain.c's frame index and buffers rely on these. */
	FUZZ_ASSERT(pm->codec == SC__PAGES_CODEC__PAGES_ZSTD, "codec %d", (int)pm->codec);
	FUZZ_ASSERT(pm->n_frame_pages == pm->n_frame_bytes, "%zu frames, %zu sizes",
		    pm->n_frame_pages, pm->n_frame_bytes);
	for (size_t i = 0; i < pm->n_frame_pages; i++) {
		FUZZ_ASSERT(pm->frame_pages[i] >= 1 && pm->frame_pages[i] <= SC_ZFRAME_MAX_PAGES &&
				    pm->frame_bytes[i] >= 1 &&
				    pm->frame_bytes[i] <=
					    ZSTD_compressBound(pm->frame_pages[i] * SC_PAGE_SIZE),
			    "frame %zu: %u pages in %u bytes", i, pm->frame_pages[i],
			    pm->frame_bytes[i]);
		frame_pages += pm->frame_pages[i];
	}
	FUZZ_ASSERT(frame_pages * SC_PAGE_SIZE == total && frame_bytes(pm) == pages_size,
		    "frames of %llu pages in %llu bytes for %llu bytes in a %llu byte file",
		    (unsigned long long)frame_pages, (unsigned long long)frame_bytes(pm),
		    (unsigned long long)total, (unsigned long long)pages_size);
}

static void accepted_fds(const Sc__Fds *fds)
{
	fuzz_stat_accepted[SC_IMG_FDS]++;
	for (size_t i = 0; i < fds->n_fds; i++) {
		const Sc__Fd *f = fds->fds[i];

		FUZZ_ASSERT(f->fd >= 0, "fd %d", f->fd);
		for (size_t j = 0; j < i; j++)
			FUZZ_ASSERT(fds->fds[j]->fd != f->fd, "fd %d twice", f->fd);
		FUZZ_ASSERT(sc_fd_kind_name(f->kind) != NULL, "kind %d", f->kind);
		/* loader/fd_unix.c indexes its state names and reads its names. */
		FUZZ_ASSERT(f->kind != SC__FD_KIND__UNIX ||
				    (f->unix_sock && f->unix_sock->state >= 1 && f->unix_sock->state <= 3 &&
				     (!f->unix_sock->has_name || f->unix_sock->name.len - 1 < 108)),
			    "fd %d: unix socket", f->fd);
	}
}

/* ---- the target ------------------------------------------------------- */

/* Runs the check that belongs to a decoded record. */
static void check_decoded(const ProtobufCMessage *m, uint32_t type)
{
	char err[SC_ERR_LEN];
	err[0] = '\0';
	fuzz_stat_decoded[type]++;
	/* Whatever decodes, accepted or not, makes well-formed JSON. */
	render_json(m);
	switch (type) {
	case SC_IMG_INVENTORY:
		if (sc_check_inventory((const Sc__Inventory *)m, err) == 0)
			accepted_inventory((const Sc__Inventory *)m);
		else
			ck_err(err);
		break;
	case SC_IMG_CORE: {
		const Sc__ProcCore *c = (const Sc__ProcCore *)m;

		if (sc_check_core(c, c->pid, err) == 0) {
			accepted_core(c, c->pid);
			render_show(c, NULL, NULL, NULL, NULL);
		} else
			ck_err(err);
		/* And as the core of some other process. */
		err[0] = '\0';
		if (sc_check_core(c, 1, err) == 0)
			accepted_core(c, 1);
		else
			ck_err(err);
		break;
	}
	case SC_IMG_SIGACTS:
		if (sc_check_sigacts((const Sc__SigActs *)m, err)) {
			ck_err(err);
		} else {
			fuzz_stat_accepted[SC_IMG_SIGACTS]++;
			render_show(NULL, (const Sc__SigActs *)m, NULL, NULL, NULL);
		}
		break;
	case SC_IMG_MM:
		if (sc_check_mm((const Sc__Mm *)m, err) == 0) {
			accepted_mm((const Sc__Mm *)m);
			render_show(NULL, NULL, (const Sc__Mm *)m, NULL, NULL);
		} else
			ck_err(err);
		break;
	case SC_IMG_PAGEMAP: {
		const Sc__Pagemap *pm = (const Sc__Pagemap *)m;
		const uint64_t sizes[] = { pm->pages_bytes, pm->pages_bytes + SC_PAGE_SIZE, 0,
					   frame_bytes(pm) };

		/* Each size in a full image and an incremental one. */
		for (size_t i = 0; i < 2 * sizeof(sizes) / sizeof(sizes[0]); i++) {
			bool incr = i % 2;

			err[0] = '\0';
			if (sc_check_pagemap(pm, fixed_mm(), sizes[i / 2], incr, err) == 0) {
				accepted_pagemap(pm, fixed_mm(), sizes[i / 2], incr);
				render_show(NULL, NULL, NULL, pm, NULL);
			} else
				ck_err(err);
		}
		break;
	}
	case SC_IMG_FDS:
		if (sc_check_fds((const Sc__Fds *)m, err) == 0) {
			accepted_fds((const Sc__Fds *)m);
			render_show(NULL, NULL, NULL, NULL, (const Sc__Fds *)m);
		} else
			ck_err(err);
		break;
	}
}

static ProtobufCMessage *unpack(const void *buf, size_t len, uint32_t type)
{
	char err[SC_ERR_LEN];
	ProtobufCMessage *m;

	err[0] = '\0';
	m = sc_img_unpack(buf, len, type, err);
	if (!m)
		ck_err(err);
	return m;
}

/* A copy of payload behind a header with the right length and checksum. */
static uint8_t *wrap(const uint8_t *payload, size_t n, uint32_t type, size_t *len)
{
	struct sc_img_header h;
	uint8_t *buf = malloc(sizeof(h) + n);

	if (!buf)
		return NULL;
	h.magic = SC_IMG_MAGIC;
	h.type = type;
	h.version = SC_IMAGE_VERSION;
	h.len = (uint32_t)n;
	h.xxh3 = XXH3_64bits(payload, n);
	memcpy(buf, &h, sizeof(h));
	if (n)
		memcpy(buf + sizeof(h), payload, n);
	*len = sizeof(h) + n;
	return buf;
}

static void as_payload(const uint8_t *data, size_t size, uint32_t type)
{
	size_t len;
	uint8_t *buf = wrap(data, size, type, &len);
	ProtobufCMessage *m;

	if (!buf)
		return;
	m = unpack(buf, len, type);
	if (m) {
		check_decoded(m, type);
		protobuf_c_message_free_unpacked(m, NULL);
	}
	free(buf);
}

static void mm_and_pagemap(const uint8_t *data, size_t size)
{
	size_t mm_len, len;
	uint8_t *buf;
	Sc__Mm *mm;
	Sc__Pagemap *pm;
	char err[SC_ERR_LEN];

	if (size < 2)
		return;
	mm_len = (size_t)data[0] | (size_t)data[1] << 8;
	data += 2;
	size -= 2;
	if (mm_len > size)
		mm_len = size;
	buf = wrap(data, mm_len, SC_IMG_MM, &len);
	if (!buf)
		return;
	mm = (Sc__Mm *)unpack(buf, len, SC_IMG_MM);
	free(buf);
	if (!mm)
		return;
	err[0] = '\0';
	if (sc_check_mm(mm, err)) {
		ck_err(err);
		protobuf_c_message_free_unpacked(&mm->base, NULL);
		return;
	}
	accepted_mm(mm);
	buf = wrap(data + mm_len, size - mm_len, SC_IMG_PAGEMAP, &len);
	pm = buf ? (Sc__Pagemap *)unpack(buf, len, SC_IMG_PAGEMAP) : NULL;
	free(buf);
	if (pm) {
		const uint64_t sizes[] = { pm->pages_bytes, pm->pages_bytes - SC_PAGE_SIZE,
					   frame_bytes(pm) };

		for (size_t i = 0; i < 2 * sizeof(sizes) / sizeof(sizes[0]); i++) {
			bool incr = i % 2;

			err[0] = '\0';
			if (sc_check_pagemap(pm, mm, sizes[i / 2], incr, err) == 0) {
				accepted_pagemap(pm, mm, sizes[i / 2], incr);
				render_show(NULL, NULL, mm, pm, NULL);
			} else
				ck_err(err);
		}
		protobuf_c_message_free_unpacked(&pm->base, NULL);
	}
	protobuf_c_message_free_unpacked(&mm->base, NULL);
}

/* Frames read from a compressed pages file: at most this many, and so
 * many pages of data in all, so that one input stays fast. */
#define ZFUZZ_FRAMES 16
#define ZFUZZ_PAGES (SC_ZFRAME_MAX_PAGES + 64)

/* Reads all of run r through pg (through cur, in pieces of odd sizes
 * when cur is not NULL) into buf; 0, or -1 with err set. */
static int read_run(const struct sc_pages *pg, struct sc_pages_cur *cur, const struct sc_run *r,
		    uint8_t *buf, char *err)
{
	static const size_t pieces[] = { 1, SC_PAGE_SIZE - 1, 3 * SC_PAGE_SIZE + 5, SC_PAGE_SIZE };
	uint64_t len = r->nr_pages * SC_PAGE_SIZE;

	if (!cur)
		return sc_pages_get(pg, NULL, r, r->vaddr, buf, len, err);
	for (uint64_t done = 0, k = 0; done < len; k++) {
		size_t n = pieces[k % 4] < len - done ? pieces[k % 4] : (size_t)(len - done);

		if (sc_pages_get(pg, cur, r, r->vaddr + done, buf + done, n, err))
			return -1;
		done += n;
	}
	return 0;
}

/* A pages file the input makes, in a memfd, and what describes it: one
 * anonymous VMA of its pages at 0x10000000, one run storing them all. */
struct one_run {
	Sc__Vma v, *vp[1];
	Sc__Mm mm;
	Sc__PagemapEntry e, *ep[1];
	Sc__Pagemap pm;
};

/* o for a file of len bytes, which *fd (a memfd named name, made the
 * first time) holds then, of pages pages of data. */
static void one_run(struct one_run *o, int *fd, const char *name, const void *bytes, size_t len,
		    uint64_t pages)
{
	if (*fd < 0)
		*fd = memfd_create(name, MFD_CLOEXEC);
	FUZZ_ASSERT(*fd >= 0 && ftruncate(*fd, 0) == 0 &&
			    pwrite(*fd, bytes, len, 0) == (ssize_t)len,
		    "fuzz pages memfd");
	sc__vma__init(&o->v);
	o->v.start = 0x10000000;
	o->v.end = o->v.start + pages * SC_PAGE_SIZE;
	o->v.prot = PROT_READ | PROT_WRITE;
	o->v.flags = MAP_PRIVATE;
	o->v.kind = SC__VMA_KIND__ANON_PRIVATE;
	o->vp[0] = &o->v;
	sc__mm__init(&o->mm);
	o->mm.vmas = o->vp;
	o->mm.n_vmas = 1;
	sc__pagemap_entry__init(&o->e);
	o->e.vaddr = o->v.start;
	o->e.nr_pages = pages;
	o->ep[0] = &o->e;
	sc__pagemap__init(&o->pm);
	o->pm.entries = o->ep;
	o->pm.n_entries = 1;
	o->pm.pages_bytes = pages * SC_PAGE_SIZE;
}

/* The input as a compressed pages file: each zstd frame it begins with
 * indexed as a writer would (its pages from its content size, one where
 * that is no whole number of pages), the pagemap checked, and the file
 * read as crinfo verify and crload read it. Decompressing every frame
 * works exactly when reading the data whole does, and reading it in
 * pieces through a cursor gives the same bytes. */
static void zstd_pages(const uint8_t *data, size_t size)
{
	static struct one_run o;
	static uint32_t fpages[ZFUZZ_FRAMES], fbytes[ZFUZZ_FRAMES];
	static uint64_t fsums[ZFUZZ_FRAMES];
	static int fd = -1;
	struct sc_proc_img p = { .pid = 1, .mm = &o.mm, .pm = &o.pm };
	struct sc_image img = {
		.dir = "fuzz", .dirfd = -1, .procs = &p, .nprocs = 1, .pages_later = true
	};
	/* The frame whose sum is wrong, or none (ZFUZZ_FRAMES). */
	size_t bad_sum =
		size > 1 && data[size - 1] & 1 ? data[size - 2] % ZFUZZ_FRAMES : ZFUZZ_FRAMES;
	struct sc_run run;
	struct sc_pages pg;
	struct sc_pages_cur *cur;
	uint64_t pages = 0, off = 0;
	uint8_t *whole, *pieces;
	char err[SC_ERR_LEN];
	size_t n = 0;
	bool frames_ok, whole_ok;

	while (off < size && n < ZFUZZ_FRAMES) {
		size_t b = ZSTD_findFrameCompressedSize(data + off, size - off);
		unsigned long long c;

		if (ZSTD_isError(b) || b == 0 || b > UINT32_MAX)
			break;
		c = ZSTD_getFrameContentSize(data + off, b);
		fpages[n] = c % SC_PAGE_SIZE == 0 && c && c / SC_PAGE_SIZE <= SC_ZFRAME_MAX_PAGES
				    ? (uint32_t)(c / SC_PAGE_SIZE)
				    : 1;
		if (pages + fpages[n] > ZFUZZ_PAGES)
			break;
		fbytes[n] = (uint32_t)b;
		fsums[n] = XXH3_64bits(data + off, b) ^ (n == bad_sum);
		pages += fpages[n++];
		off += b;
	}
	if (!n)
		return;
	one_run(&o, &fd, "fuzz-zpages", data, off, pages);
	o.pm.has_codec = 1;
	o.pm.codec = SC__PAGES_CODEC__PAGES_ZSTD;
	o.pm.frame_pages = fpages;
	o.pm.frame_bytes = fbytes;
	o.pm.n_frame_pages = o.pm.n_frame_bytes = n;
	o.pm.has_chunk_bytes = 1;
	o.pm.chunk_bytes = 0;
	o.pm.chunk_xxh3 = fsums;
	o.pm.n_chunk_xxh3 = n;
	if (bad_sum >= n)
		bad_sum = ZFUZZ_FRAMES;
	err[0] = '\0';
	if (sc_check_pagemap(&o.pm, &o.mm, off, false, err)) {
		ck_err(err);
		return;
	}
	accepted_pagemap(&o.pm, &o.mm, off, false);
	frames_ok = sc_pages_check_frames(fd, &o.pm, err) == 0;
	if (!frames_ok)
		ck_err(err);
	err[0] = '\0';
	if (sc_pages_check_chunks(fd, &o.pm, off, err) == 0)
		FUZZ_ASSERT(bad_sum == ZFUZZ_FRAMES, "frame %zu's wrong sum passed", bad_sum);
	else
		FUZZ_ASSERT(bad_sum < ZFUZZ_FRAMES && strstr(err, "checksum mismatch"),
			    "sums in parts refused: %s", err);
	/* As the frames are read, their sums are checked first. */
	frames_ok &= bad_sum == ZFUZZ_FRAMES;
	snprintf(p.pages_name, sizeof(p.pages_name), "/proc/self/fd/%d", fd);
	run = (struct sc_run){ o.v.start, pages, 0, 0 };
	p.runs = &run;
	p.nruns = 1;
	FUZZ_ASSERT(sc_pages_open(&pg, &img, &p, err) == 0, "%s", err);
	cur = sc_pages_cur_new(&pg, err);
	whole = malloc(o.pm.pages_bytes);
	pieces = malloc(o.pm.pages_bytes);
	FUZZ_ASSERT(cur && whole && pieces, "out of memory");
	whole_ok = read_run(&pg, NULL, &run, whole, err) == 0;
	if (!whole_ok)
		ck_err(err);
	FUZZ_ASSERT(whole_ok == frames_ok, "the frames %s, the data read whole %s",
		    frames_ok ? "decompress" : "do not", whole_ok ? "does" : "does not");
	/* What was read whole is checked; a wrong sum is never passed. */
	err[0] = '\0';
	if (sc_pages_check_rest(&pg, err) == 0)
		FUZZ_ASSERT(bad_sum == ZFUZZ_FRAMES, "frame %zu's wrong sum passed", bad_sum);
	else
		ck_err(err);
	err[0] = '\0';
	if (read_run(&pg, cur, &run, pieces, err) == 0) {
		FUZZ_ASSERT(whole_ok && !memcmp(whole, pieces, o.pm.pages_bytes),
			    "read in pieces, the data differs");
	} else {
		ck_err(err);
		FUZZ_ASSERT(!whole_ok, "read whole, not in pieces: %s", err);
	}
	free(whole);
	free(pieces);
	sc_pages_cur_free(cur);
	sc_pages_close(&pg);
}

#define RFUZZ_PAGES 40

/* The input as a raw pages file with sums in parts (its first byte
 * gives the chunk size, a page to 16 of them; its last, a sum to make
 * wrong): read as crload's fill reads it, in batches cut where a chunk
 * ends, pieces of odd lengths that make up whole chunks only sometimes,
 * then the chunks not read whole checked; and checked as crinfo verify
 * checks it. Both refuse exactly a wrong sum, naming its chunk. */
static void raw_pages(const uint8_t *data, size_t size)
{
	static struct one_run o;
	static uint64_t sums[RFUZZ_PAGES];
	static uint8_t file[RFUZZ_PAGES * SC_PAGE_SIZE];
	static int fd = -1;
	struct sc_proc_img p = { .pid = 1, .mm = &o.mm, .pm = &o.pm };
	struct sc_image img = {
		.dir = "fuzz", .dirfd = -1, .procs = &p, .nprocs = 1, .pages_later = true
	};
	uint64_t pages, len, chunk, n_sums, bad, off = 0;
	struct sc_run run;
	struct sc_pages pg;
	char err[SC_ERR_LEN], want[64];
	int ret = 0;

	if (size < 2)
		return;
	pages = (size + SC_PAGE_SIZE - 1) / SC_PAGE_SIZE;
	pages = pages > RFUZZ_PAGES ? RFUZZ_PAGES : pages;
	len = pages * SC_PAGE_SIZE;
	memset(file, 0, len);
	memcpy(file, data, size < len ? size : len);
	chunk = SC_PAGE_SIZE << (data[0] % 5);
	n_sums = (len + chunk - 1) / chunk;
	bad = data[size - 1] & 1 ? data[size - 1] / 2 % n_sums : n_sums;
	for (uint64_t i = 0; i < n_sums; i++)
		sums[i] = XXH3_64bits(file + i * chunk,
				      len - i * chunk < chunk ? len - i * chunk : chunk) ^
			  (i == bad);
	one_run(&o, &fd, "fuzz-pages", file, len, pages);
	o.pm.has_chunk_bytes = 1;
	o.pm.chunk_bytes = (uint32_t)chunk;
	o.pm.chunk_xxh3 = sums;
	o.pm.n_chunk_xxh3 = n_sums;
	err[0] = '\0';
	FUZZ_ASSERT(sc_check_pagemap(&o.pm, &o.mm, len, false, err) == 0, "%s", err);
	accepted_pagemap(&o.pm, &o.mm, len, false);
	snprintf(want, sizeof(want), "chunk %llu (bytes", (unsigned long long)bad);
	if (sc_pages_check_chunks(fd, &o.pm, len, err) == 0)
		FUZZ_ASSERT(bad == n_sums, "chunk %llu's wrong sum passed",
			    (unsigned long long)bad);
	else
		FUZZ_ASSERT(bad < n_sums && strstr(err, want), "verify: %s", err);
	snprintf(p.pages_name, sizeof(p.pages_name), "/proc/self/fd/%d", fd);
	p.pages_size = len;
	run = (struct sc_run){ o.v.start, pages, 0, 0 };
	p.runs = &run;
	p.nruns = 1;
	FUZZ_ASSERT(sc_pages_open(&pg, &img, &p, err) == 0, "%s", err);
	/* Pieces of lengths from the input, a batch cut where a chunk ends. */
	for (size_t k = 1; off < len && !ret; k++) {
		uint64_t end = sc_pages_chunk_end(&pg, 0, off), piece;
		struct iovec iov = { file, 0 };

		piece = (uint64_t)(k < size ? data[k] % 4 : 0) * SC_PAGE_SIZE + SC_PAGE_SIZE;
		piece = off + piece < end ? piece : end - off;
		piece = off + piece < len ? piece : len - off;
		/* A batch from where the last one ended: a whole chunk only
		 * when it begins and ends with one. */
		iov.iov_base = file + off;
		iov.iov_len = piece;
		ret = sc_pages_check_read(&pg, 0, off, &iov, 1, err);
		off += piece;
	}
	if (!ret)
		ret = sc_pages_check_rest(&pg, err);
	if (!ret)
		FUZZ_ASSERT(bad == n_sums, "chunk %llu's wrong sum passed",
			    (unsigned long long)bad);
	else
		FUZZ_ASSERT(bad < n_sums && strstr(err, want), "crload: %s", err);
	sc_pages_close(&pg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		ProtobufCMessage *m = unpack(data, size, types[i]);

		if (m) {
			check_decoded(m, types[i]);
			protobuf_c_message_free_unpacked(m, NULL);
		}
	}
	/* Unknown record types are refused whatever the file says. */
	FUZZ_ASSERT(unpack(data, size, 0) == NULL, "record type 0 decoded");
	FUZZ_ASSERT(unpack(data, size, SC_IMG_FDS + 1) == NULL, "record type %d decoded",
		    SC_IMG_FDS + 1);

	if (size <= SC_IMG_MAX_MSG)
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			as_payload(data, size, types[i]);
	mm_and_pagemap(data, size);
	zstd_pages(data, size);
	raw_pages(data, size);
	return 0;
}

/* ---- structure-aware mutation ----------------------------------------- */

size_t fuzz_image_mutate(const uint8_t *in, size_t len, uint8_t *out, size_t cap, pbm_rand_fn rnd,
			 void *ctx)
{
	struct sc_img_header h;
	size_t n;

	/* A record file: mutate its payload, then make the header fit. */
	if (len >= sizeof(h)) {
		memcpy(&h, in, sizeof(h));
		if (h.magic == SC_IMG_MAGIC && sc_img_descriptor(h.type) && cap > sizeof(h)) {
			n = pbm_mutate(sc_img_descriptor(h.type), in + sizeof(h), len - sizeof(h),
				       out + sizeof(h), cap - sizeof(h), rnd, ctx);
			if (!n)
				return 0;
			h.len = (uint32_t)n;
			h.xxh3 = XXH3_64bits(out + sizeof(h), n);
			memcpy(out, &h, sizeof(h));
			return sizeof(h) + n;
		}
	}
	/* An mm + pagemap pair (the third use of an input): mutate one half. */
	if (len >= 2 && cap >= 2 && rnd(ctx) % 3 == 0) {
		size_t mm_len = (size_t)in[0] | (size_t)in[1] << 8, keep;

		if (mm_len > len - 2)
			mm_len = len - 2;
		if (rnd(ctx) % 2) {
			n = pbm_mutate(&sc__mm__descriptor, in + 2, mm_len, out + 2, cap - 2, rnd, ctx);
			keep = len - 2 - mm_len;
			if (n && n <= 0xffff && 2 + n + keep <= cap) {
				memcpy(out + 2 + n, in + 2 + mm_len, keep);
				out[0] = (uint8_t)n;
				out[1] = (uint8_t)(n >> 8);
				return 2 + n + keep;
			}
		} else if (2 + mm_len <= cap) {
			n = pbm_mutate(&sc__pagemap__descriptor, in + 2 + mm_len, len - 2 - mm_len,
				       out + 2 + mm_len, cap - 2 - mm_len, rnd, ctx);
			if (n) {
				memcpy(out, in, 2 + mm_len);
				return 2 + mm_len + n;
			}
		}
	}
	/* A bare payload: as the first record type, in a random rotation, it
	 * decodes as. */
	{
		size_t first = (size_t)(rnd(ctx) % (sizeof(types) / sizeof(types[0])));

		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
			uint32_t t = types[(first + i) % (sizeof(types) / sizeof(types[0]))];

			n = pbm_mutate(sc_img_descriptor(t), in, len, out, cap, rnd, ctx);
			if (n)
				return n;
		}
	}
	return 0;
}

#ifdef FUZZ_LIBFUZZER
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

static uint64_t lf_rand(void *ctx)
{
	uint64_t *s = ctx;

	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Half of the mutations are structure-aware, half libFuzzer's own. */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	uint64_t st = (uint64_t)seed * 0x9e3779b97f4a7c15ULL | 1;

	if (lf_rand(&st) % 2) {
		uint8_t *out = malloc(max_size);
		size_t n = out ? fuzz_image_mutate(data, size, out, max_size, lf_rand, &st) : 0;

		if (n)
			memcpy(data, out, n);
		free(out);
		if (n)
			return n;
	}
	return LLVMFuzzerMutate(data, size, max_size);
}
#endif
