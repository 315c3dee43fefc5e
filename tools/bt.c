// SPDX-License-Identifier: MIT
/*
 * Where each thread was frozen, offline: a process's memory rebuilt from
 * the image (stored pages, and the mapped files for what was not stored),
 * libunwind's remote interface unwinding through it from the saved
 * registers with the .eh_frame_hdr tables of the mapped ELF files, and
 * symbols from those files with libelf.
 *
 * The image is untrusted: files named in it are opened only if they are
 * regular files (never a FIFO or a device that could block), every read
 * is bounded, and an unwind stops after MAX_FRAMES.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libunwind.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "crinfo.h"
#include "vdso.h"

#define MAX_FRAMES 128
#define EH_HDR_ENC_OK(p, c, t) ((p) == 0x1b && (c) == 0x03 && (t) == 0x3b)

/* Exported by libunwind (libunwind-ptrace uses it) but not declared. */
int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip, unw_dyn_info_t *di,
				       unw_proc_info_t *pi, int need_unwind_info, void *arg);

struct fsym {
	uint64_t start, size;
	const char *name;
};

/* One file mapped by the process, opened once. */
struct mfile {
	char *path;
	int fd; /* -1: unusable (missing, not a regular file, replaced) */
	bool elf_tried;
	Elf *elf;
	GElf_Phdr *ph;
	size_t nph;
	struct fsym *syms;
	size_t nsyms;
	uint64_t lo, hi; /* PT_LOAD address range, unrelocated */
	uint64_t hdr_vaddr, nfde; /* .eh_frame_hdr; nfde 0: none usable */
};

struct cr_syms {
	const Sc__Mm *mm;
	bool own_vdso; /* this kernel's vDSO is the image's */
	struct mfile *files;
	size_t nfiles;
};

struct cr_mem {
	const Sc__Mm *mm;
	const struct sc_proc_img *p;
	struct sc_pages pg; /* its pages files through the chain */
	struct cr_syms *syms;
};

static const Sc__Vma *vma_at(const Sc__Mm *mm, uint64_t addr)
{
	size_t lo = 0, hi = mm->n_vmas;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mm->vmas[mid]->end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < mm->n_vmas && mm->vmas[lo]->start <= addr ? mm->vmas[lo] : NULL;
}

/* The file a VMA maps, by name: its path, or [vdso] when this kernel's
 * vDSO stands in for the image's (see cr_syms_new); NULL if none. */
static const char *file_name(const struct cr_syms *s, const Sc__Vma *v)
{
	if (v->kind == SC__VMA_KIND__VDSO)
		return s->own_vdso ? "[vdso]" : NULL;
	return v->path && v->path[0] == '/' && !sc_is_vdso_kind(v) ? v->path : NULL;
}

/* This process's vDSO as a file: a memfd holding a copy of its bytes, if
 * it is as long as the image's. */
static int copy_own_vdso(const Sc__Vma *v)
{
	struct sc_vdso_layout vd;
	uint64_t len;
	int fd;

	if (sc_own_maps(&vd, NULL, NULL))
		return -1;
	len = vd.part[2].end - vd.part[2].start;
	if (!len || len != v->end - v->start || (fd = memfd_create("vdso", MFD_CLOEXEC)) < 0)
		return -1;
	if (write(fd, (const void *)(uintptr_t)vd.part[2].start, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Opens path only if it is a regular file, the one mapped when v->ino
 * is known. */
static int open_mapped(const Sc__Vma *v)
{
	int fd = open(v->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (v->has_ino && st.st_ino != v->ino)) {
		close(fd);
		return -1;
	}
	return fd;
}

static struct mfile *file_of(struct cr_syms *s, const Sc__Vma *v)
{
	const char *name = file_name(s, v);
	struct mfile *f;

	if (!name)
		return NULL;
	for (size_t i = 0; i < s->nfiles; i++)
		if (!strcmp(s->files[i].path, name))
			return &s->files[i];
	f = realloc(s->files, (s->nfiles + 1) * sizeof(*f));
	if (!f)
		return NULL;
	s->files = f;
	f = &s->files[s->nfiles];
	memset(f, 0, sizeof(*f));
	f->path = strdup(name);
	if (!f->path)
		return NULL;
	f->fd = v->kind == SC__VMA_KIND__VDSO ? copy_own_vdso(v) : open_mapped(v);
	s->nfiles++;
	return f;
}

static int cmp_fsym(const void *a, const void *b)
{
	const struct fsym *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Function symbols of one table (SHT_SYMTAB or SHT_DYNSYM); 0 if none. */
static size_t load_syms(struct mfile *f, Elf_Scn *scn, const GElf_Shdr *sh)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t n = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;

	if (!d || !n || n > (1U << 24))
		return 0;
	f->syms = calloc(n, sizeof(*f->syms));
	if (!f->syms)
		return 0;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym sym;
		const char *name;
		int type;

		if (!gelf_getsym(d, (int)i, &sym))
			break;
		type = GELF_ST_TYPE(sym.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || !sym.st_value ||
		    sym.st_shndx == SHN_UNDEF || !sym.st_size)
			continue;
		name = elf_strptr(f->elf, sh->sh_link, sym.st_name);
		if (!name || !*name)
			continue;
		f->syms[f->nsyms++] = (struct fsym){ sym.st_value, sym.st_size, name };
	}
	qsort(f->syms, f->nsyms, sizeof(*f->syms), cmp_fsym);
	return f->nsyms;
}

/* The .eh_frame_hdr search table, in the one layout every linker writes. */
static void load_eh_hdr(struct mfile *f, const GElf_Phdr *ph)
{
	uint8_t h[12];
	uint32_t n;

	if (pread(f->fd, h, sizeof(h), (off_t)ph->p_offset) != (ssize_t)sizeof(h) || h[0] != 1 ||
	    !EH_HDR_ENC_OK(h[1], h[2], h[3]))
		return;
	memcpy(&n, h + 8, sizeof(n));
	if ((uint64_t)n * 8 + sizeof(h) > ph->p_filesz)
		return;
	f->hdr_vaddr = ph->p_vaddr;
	f->nfde = n;
}

static void load_elf(struct mfile *f)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	f->elf_tried = true;
	if (f->fd < 0 || elf_version(EV_CURRENT) == EV_NONE)
		return;
	f->elf = elf_begin(f->fd, ELF_C_READ, NULL);
	if (!f->elf || elf_kind(f->elf) != ELF_K_ELF || elf_getphdrnum(f->elf, &f->nph) ||
	    f->nph > 4096 || !(f->ph = calloc(f->nph + 1, sizeof(*f->ph)))) {
		f->nph = 0;
		return;
	}
	f->lo = UINT64_MAX;
	for (size_t i = 0; i < f->nph; i++) {
		GElf_Phdr *p = &f->ph[i];

		if (!gelf_getphdr(f->elf, (int)i, p)) {
			p->p_type = PT_NULL;
			continue;
		}
		if (p->p_type == PT_LOAD) {
			if (p->p_vaddr < f->lo)
				f->lo = p->p_vaddr;
			if (p->p_vaddr + p->p_memsz > f->hi)
				f->hi = p->p_vaddr + p->p_memsz;
		} else if (p->p_type == PT_GNU_EH_FRAME) {
			load_eh_hdr(f, p);
		}
	}
	/* .symtab when not stripped, else the exported .dynsym. */
	for (int pass = 0; pass < 2 && !f->nsyms; pass++) {
		free(f->syms);
		f->syms = NULL;
		while ((scn = elf_nextscn(f->elf, scn)))
			if (gelf_getshdr(scn, &sh) &&
			    sh.sh_type == (pass ? SHT_DYNSYM : SHT_SYMTAB) &&
			    load_syms(f, scn, &sh))
				break;
		scn = NULL;
	}
}

/* The file mapped at addr and the load bias of its ELF image there. */
static struct mfile *locate(struct cr_syms *s, uint64_t addr, const Sc__Vma **vp, uint64_t *bias)
{
	const Sc__Vma *v = vma_at(s->mm, addr);
	uint64_t pgoff;
	struct mfile *f;

	*vp = v;
	if (!v || !(f = file_of(s, v)))
		return NULL;
	if (!f->elf_tried)
		load_elf(f);
	pgoff = v->has_pgoff ? v->pgoff : 0;
	for (size_t i = 0; i < f->nph; i++) {
		const GElf_Phdr *p = &f->ph[i];

		/* The segment whose pages hold the mapping's file offset. */
		if (p->p_type == PT_LOAD && pgoff >= (p->p_offset & ~(SC_PAGE_SIZE - 1)) &&
		    pgoff < p->p_offset + p->p_filesz) {
			*bias = v->start - p->p_vaddr - pgoff + p->p_offset;
			return f;
		}
	}
	return NULL;
}

struct cr_syms *cr_syms_new(const Sc__Mm *mm, const char *kernel)
{
	struct cr_syms *s = calloc(1, sizeof(*s));
	char err[SC_ERR_LEN];
	struct utsname uts;

	if (!s)
		return NULL;
	s->mm = mm;
	/* The same kernel release with the same vDSO layout: the same vDSO. */
	s->own_vdso =
		kernel && !uname(&uts) && !strcmp(uts.release, kernel) && !sc_check_vdso(mm, err);
	return s;
}

void cr_syms_free(struct cr_syms *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nfiles; i++) {
		struct mfile *f = &s->files[i];

		free(f->syms);
		free(f->ph);
		if (f->elf)
			elf_end(f->elf);
		if (f->fd >= 0)
			close(f->fd);
		free(f->path);
	}
	free(s->files);
	free(s);
}

void cr_symbolize(struct cr_syms *s, uint64_t addr, struct cr_sym *out)
{
	const Sc__Vma *v;
	uint64_t bias = 0;
	struct mfile *f = locate(s, addr, &v, &bias);

	memset(out, 0, sizeof(*out));
	if (!v || !(out->path = file_name(s, v)))
		return;
	out->file_off = addr - v->start + (v->has_pgoff ? v->pgoff : 0);
	if (!f || !f->nsyms)
		return;
	uint64_t a = addr - bias;
	size_t lo = 0, hi = f->nsyms;

	/* The last symbol starting at or before a. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->syms[mid].start <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Symbols may nest or share a start: look back for one covering a. */
	for (size_t i = lo; i > 0 && lo - i < 16; i--) {
		const struct fsym *y = &f->syms[i - 1];

		if (a - y->start < y->size) {
			out->name = y->name;
			out->off = a - y->start;
			return;
		}
	}
}

const char *cr_sym_format(const struct cr_sym *sym, uint64_t addr, char *buf, size_t len)
{
	if (sym->name)
		snprintf(buf, len, "%s+%#" PRIx64 " (%s)", sym->name, sym->off, sym->path);
	else if (sym->path)
		snprintf(buf, len, "%s+%#" PRIx64, sym->path, sym->file_off);
	else
		snprintf(buf, len, "%#" PRIx64, addr);
	return buf;
}

/* ---- memory ---------------------------------------------------------- */

struct cr_mem *cr_mem_open(const struct sc_image *img, const struct sc_proc_img *p,
			   struct cr_syms *syms)
{
	struct cr_mem *m = calloc(1, sizeof(*m));
	char err[SC_ERR_LEN];

	if (!m)
		return NULL;
	m->mm = p->mm;
	m->p = p;
	m->syms = syms;
	if (sc_pages_open(&m->pg, img, p, err)) {
		free(m);
		return NULL;
	}
	return m;
}

void cr_mem_close(struct cr_mem *m)
{
	if (!m)
		return;
	sc_pages_close(&m->pg);
	free(m);
}

/* Reads [addr, addr+len) within one page. */
static int read_page_part(struct cr_mem *m, uint64_t addr, void *buf, size_t len)
{
	const Sc__Vma *v = vma_at(m->mm, addr);
	const struct sc_run *r;
	struct mfile *f;

	if (!v || v->kind == SC__VMA_KIND__VVAR || v->kind == SC__VMA_KIND__VVAR_VCLOCK)
		return -1;
	if ((r = sc_run_at(m->p, addr)))
		return sc_pages_read(&m->pg, r, addr, buf, len);
	if (v->kind == SC__VMA_KIND__FILE_PRIVATE || v->kind == SC__VMA_KIND__FILE_SHARED ||
	    v->kind == SC__VMA_KIND__VDSO) {
		f = file_of(m->syms, v);
		if (!f || f->fd < 0)
			return -1;
		return pread(f->fd, buf, len,
			     (off_t)(addr - v->start + (v->has_pgoff ? v->pgoff : 0))) ==
				       (ssize_t)len
			       ? 0
			       : -1;
	}
	/* Anonymous memory not stored was all zeros. */
	memset(buf, 0, len);
	return 0;
}

int cr_mem_read(struct cr_mem *m, uint64_t addr, void *buf, size_t len)
{
	char *out = buf;

	if (addr >= SC_TASK_SIZE || len > SC_TASK_SIZE - addr)
		return -1;
	while (len) {
		size_t n = SC_PAGE_SIZE - addr % SC_PAGE_SIZE;

		if (n > len)
			n = len;
		if (read_page_part(m, addr, out, n))
			return -1;
		addr += n;
		out += n;
		len -= n;
	}
	return 0;
}

/* ---- libunwind accessors ------------------------------------------------ */

struct unw_arg {
	struct cr_mem *mem;
	struct cr_syms *syms;
	const Sc__GpRegs *regs;
};

static int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi, int need,
			  void *arg)
{
	struct unw_arg *u = arg;
	unw_dyn_info_t di;
	const Sc__Vma *v;
	uint64_t bias;
	struct mfile *f = locate(u->syms, ip, &v, &bias);

	if (!f || !f->nfde)
		return -UNW_ENOINFO;
	memset(&di, 0, sizeof(di));
	di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
	di.start_ip = bias + f->lo;
	di.end_ip = bias + f->hi;
	di.u.rti.segbase = bias + f->hdr_vaddr;
	di.u.rti.table_data = bias + f->hdr_vaddr + 12;
	di.u.rti.table_len = f->nfde * 8 / sizeof(unw_word_t);
	return _Ux86_64_dwarf_search_unwind_table(as, ip, &di, pi, need, arg);
}

static void put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg)
{
	/* libunwind frees the tables it made from ours itself. */
}

static int get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *addr, void *arg)
{
	return -UNW_ENOINFO;
}

static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write, void *arg)
{
	struct unw_arg *u = arg;

	if (write)
		return -UNW_EREADONLYREG;
	return cr_mem_read(u->mem, addr, val, sizeof(*val)) ? -UNW_EINVAL : 0;
}

static int access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *val, int write, void *arg)
{
	const Sc__GpRegs *r = ((struct unw_arg *)arg)->regs;
	const uint64_t regs[] = {
		[UNW_X86_64_RAX] = r->rax, [UNW_X86_64_RDX] = r->rdx, [UNW_X86_64_RCX] = r->rcx,
		[UNW_X86_64_RBX] = r->rbx, [UNW_X86_64_RSI] = r->rsi, [UNW_X86_64_RDI] = r->rdi,
		[UNW_X86_64_RBP] = r->rbp, [UNW_X86_64_RSP] = r->rsp, [UNW_X86_64_R8] = r->r8,
		[UNW_X86_64_R9] = r->r9,   [UNW_X86_64_R10] = r->r10, [UNW_X86_64_R11] = r->r11,
		[UNW_X86_64_R12] = r->r12, [UNW_X86_64_R13] = r->r13, [UNW_X86_64_R14] = r->r14,
		[UNW_X86_64_R15] = r->r15, [UNW_X86_64_RIP] = r->rip,
	};

	if (write)
		return -UNW_EREADONLYREG;
	if (reg < 0 || (size_t)reg >= sizeof(regs) / sizeof(regs[0]))
		return -UNW_EBADREG;
	*val = regs[reg];
	return 0;
}

static int access_fpreg(unw_addr_space_t as, unw_regnum_t reg, unw_fpreg_t *val, int write,
			void *arg)
{
	return -UNW_EBADREG;
}

static int resume(unw_addr_space_t as, unw_cursor_t *c, void *arg)
{
	return -UNW_EINVAL;
}

static int get_proc_name(unw_addr_space_t as, unw_word_t addr, char *buf, size_t len,
			 unw_word_t *off, void *arg)
{
	struct cr_sym sym;

	cr_symbolize(((struct unw_arg *)arg)->syms, addr, &sym);
	if (!sym.name)
		return -UNW_ENOINFO;
	snprintf(buf, len, "%s", sym.name);
	*off = sym.off;
	return 0;
}

static unw_accessors_t accessors = {
	.find_proc_info = find_proc_info,
	.put_unwind_info = put_unwind_info,
	.get_dyn_info_list_addr = get_dyn_info_list_addr,
	.access_mem = access_mem,
	.access_reg = access_reg,
	.access_fpreg = access_fpreg,
	.resume = resume,
	.get_proc_name = get_proc_name,
};

static void thread_bt(unw_addr_space_t as, struct unw_arg *u, FILE *out)
{
	unw_cursor_t c;
	uint64_t prev_sp = 0;

	if (unw_init_remote(&c, as, u) < 0) {
		fprintf(out, "  (cannot start unwinding)\n");
		return;
	}
	for (int n = 0; n < MAX_FRAMES; n++) {
		unw_word_t ip, sp;
		struct cr_sym sym;
		char what[4200];
		int r;

		if (unw_get_reg(&c, UNW_REG_IP, &ip) || unw_get_reg(&c, UNW_REG_SP, &sp) || !ip)
			return;
		/* A return address points after its call: look up the call. */
		cr_symbolize(u->syms, n ? ip - 1 : ip, &sym);
		if (sym.name && n)
			sym.off++;
		fprintf(out, "  #%-2d 0x%016" PRIx64 " %s\n", n, (uint64_t)ip,
			cr_sym_format(&sym, ip, what, sizeof(what)));
		/* A frame that does not move up the stack would loop. */
		if (n && sp <= prev_sp)
			return;
		prev_sp = sp;
		r = unw_step(&c);
		if (r <= 0) {
			if (r < 0)
				fprintf(out, "  (unwinding stopped: %s)\n", unw_strerror(r));
			return;
		}
	}
	fprintf(out, "  (more than %d frames)\n", MAX_FRAMES);
}

/* "in syscall NAME" when the thread stopped at a syscall instruction:
 * blocked in one (the kernel, or the runtime, rewound it to restart). */
const char *cr_thread_state(struct cr_mem *mem, const Sc__ThreadCore *t, char *buf, size_t len)
{
	uint8_t insn[2];
	const char *name;

	if (cr_mem_read(mem, t->regs->rip, insn, 2) || insn[0] != 0x0f || insn[1] != 0x05)
		return "running";
	name = cr_syscall_name(t->regs->rax);
	if (name)
		snprintf(buf, len, "in syscall %s", name);
	else
		snprintf(buf, len, "in syscall %" PRIu64, t->regs->rax);
	return buf;
}

int crinfo_bt_proc(const struct sc_proc_img *p, struct cr_mem *mem, struct cr_syms *syms, FILE *out)
{
	unw_addr_space_t as = unw_create_addr_space(&accessors, 0);

	if (!as)
		return -1;
	unw_set_caching_policy(as, UNW_CACHE_NONE);
	for (size_t t = 0; t < p->core->n_threads; t++) {
		const Sc__ThreadCore *th = p->core->threads[t];
		struct unw_arg u = { mem, syms, th->regs };
		char state[64];

		fprintf(out, "%spid %d, thread %d \"%s\"%s, %s\n", t ? "\n" : "", p->pid, th->tid,
			th->name, th->runtime_thread ? " (took the checkpoint)" : "",
			cr_thread_state(mem, th, state, sizeof(state)));
		thread_bt(as, &u, out);
	}
	unw_destroy_addr_space(as);
	return 0;
}

int crinfo_bt(const struct sc_image *img, FILE *out)
{
	int ret = 0;

	for (size_t i = 0; i < img->nprocs; i++) {
		const struct sc_proc_img *p = &img->procs[i];
		struct cr_syms *syms = cr_syms_new(p->mm, img->inv->kernel);
		struct cr_mem *mem = syms ? cr_mem_open(img, p, syms) : NULL;

		if (!mem || crinfo_bt_proc(p, mem, syms, out)) {
			fprintf(stderr, "crinfo: %s: cannot read the memory of pid %d\n", img->dir,
				p->pid);
			ret = -1;
		}
		cr_mem_close(mem);
		cr_syms_free(syms);
	}
	return ret;
}
