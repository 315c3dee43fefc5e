// SPDX-License-Identifier: MIT
/*
 * Check suite for common/image.[ch]: the image file codec
 * (sc_img_unpack), the structural checks of every record (sc_check_*),
 * and sc_image_load() on image directories this test writes itself.
 *
 * Messages are built with the generated protobuf-c types and packed behind
 * struct sc_img_header exactly as the writers do, so the test does not
 * depend on the runtime or crdump.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>
#include <zstd.h>

#include "cpu.h"
#include "image.h"
#include "testutil.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define HDR sizeof(struct sc_img_header)
#define PG SC_PAGE_SIZE

/* ---- fixtures: one valid process image, every record ------------------- */

#define XSAVE_LEN 832 /* legacy 512 + XSAVE header 64 + AVX 256 */
#define XFEATURES 0x7ULL /* x87 | SSE | AVX */

struct fx {
	int pid;

	Sc__ProcCore core;
	Sc__ThreadCore th[4], *thp[4];
	Sc__GpRegs regs[4];
	uint8_t xsave[4][SC_XSAVE_MAX + 64];
	Sc__Rlimit rl, *rlp[1];

	Sc__SigActs acts;
	Sc__SigAction act, *actp[1];

	Sc__Mm mm;
	Sc__Vma vma[8], *vmap[8];
	uint64_t auxv[4];

	Sc__Pagemap pm;
	Sc__PagemapEntry pme[8], *pmep[8];
	/* write_proc compresses the pages file in nz frames of zpages[i]
	 * pages when nz > 0 (zbytes: their sizes, set there). */
	uint32_t zpages[8], zbytes[8];
	size_t nz;
	/* write_proc gives the pagemap sums in parts when chunks is set:
	 * one for each pm.chunk_bytes of a raw file, or each frame. */
	bool chunks;
	uint64_t chunk_sum[16];

	Sc__Fds fds;
	Sc__Fd fd[8], *fdp[8];

	Sc__Inventory inv;
	Sc__ProcEntry pe[4], *pep[4];
	Sc__FileSum fs[32], *fsp[32];
	char fsname[32][64];
};

/* A signal-frame style XSAVE area: FXSAVE legacy part, the software bytes
 * the kernel writes at offset 464, and the XSAVE header at 512. */
static void set_xsave(Sc__ThreadCore *t, uint8_t *buf, size_t len, uint64_t xfeatures)
{
	uint32_t mxcsr = 0x1f80;

	memset(buf, 0, len);
	if (len >= 2) {
		buf[0] = 0x7f; /* fcw 0x037f */
		buf[1] = 0x03;
	}
	if (len >= 28)
		memcpy(buf + 24, &mxcsr, sizeof(mxcsr));
	if (len > 512) {
		struct sc_fpx_sw_bytes sw;

		memset(&sw, 0, sizeof(sw));
		sw.magic1 = SC_FP_XSTATE_MAGIC1;
		sw.extended_size = (uint32_t)len + SC_FP_XSTATE_MAGIC2_SIZE;
		sw.xfeatures = xfeatures;
		sw.xstate_size = (uint32_t)len;
		memcpy(buf + SC_FPX_SW_OFFSET, &sw, sizeof(sw));
	}
	if (len >= 520)
		memcpy(buf + 512, &xfeatures, sizeof(xfeatures)); /* xstate_bv */
	t->xsave.data = buf;
	t->xsave.len = len;
	t->xfeatures = xfeatures;
}

static struct sc_fpx_sw_bytes *sw_of(struct fx *f, int i)
{
	return (struct sc_fpx_sw_bytes *)(f->xsave[i] + SC_FPX_SW_OFFSET);
}

static void fx_set_threads(struct fx *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		Sc__ThreadCore *t = &f->th[i];

		sc__thread_core__init(t);
		sc__gp_regs__init(&f->regs[i]);
		f->regs[i].rip = 0x401000 + 16 * i;
		f->regs[i].rsp = 0x7fffffffe000ULL - 0x100 * i;
		f->regs[i].eflags = 0x246;
		t->tid = f->pid + (int)i;
		t->regs = &f->regs[i];
		set_xsave(t, f->xsave[i], XSAVE_LEN, XFEATURES);
		t->fs_base = 0x7ffff7d80740ULL;
		t->rseq_ptr = 0x7ffff7d80e00ULL;
		t->rseq_len = 32;
		t->rseq_sig = 0x53053053;
		t->name = i ? "worker" : "prog";
		f->thp[i] = t;
	}
	f->core.threads = f->thp;
	f->core.n_threads = n;
}

static void fx_init(struct fx *f, int pid)
{
	memset(f, 0, sizeof(*f));
	f->pid = pid;

	/* core */
	sc__proc_core__init(&f->core);
	f->core.pid = pid;
	fx_set_threads(f, 2);
	sc__rlimit__init(&f->rl);
	f->rl.resource = RLIMIT_NOFILE;
	f->rl.cur = 1024;
	f->rl.max = 4096;
	f->rlp[0] = &f->rl;
	f->core.rlimits = f->rlp;
	f->core.n_rlimits = 1;
	f->core.cwd = "/tmp";
	f->core.umask = 022;
	f->core.uid = 1000;
	f->core.gid = 1000;

	/* sigacts */
	sc__sig_acts__init(&f->acts);
	sc__sig_action__init(&f->act);
	f->act.sig = 10;
	f->act.handler = 0x401200;
	f->act.flags = 0x04000000;
	f->act.restorer = 0x401300;
	f->actp[0] = &f->act;
	f->acts.acts = f->actp;
	f->acts.n_acts = 1;

	/* mm: a file text, heap, a shared file, vvar + vdso, stack */
	sc__mm__init(&f->mm);
	for (int i = 0; i < 6; i++) {
		sc__vma__init(&f->vma[i]);
		f->vmap[i] = &f->vma[i];
	}
	f->vma[0].start = 0x400000;
	f->vma[0].end = 0x402000;
	f->vma[0].prot = PROT_READ | PROT_EXEC;
	f->vma[0].flags = MAP_PRIVATE;
	f->vma[0].kind = SC__VMA_KIND__FILE_PRIVATE;
	f->vma[0].path = "/usr/bin/prog";
	f->vma[0].has_pgoff = 1;
	f->vma[0].pgoff = 0;
	f->vma[1].start = 0x600000;
	f->vma[1].end = 0x604000;
	f->vma[1].prot = PROT_READ | PROT_WRITE;
	f->vma[1].flags = MAP_PRIVATE;
	f->vma[1].kind = SC__VMA_KIND__ANON_PRIVATE;
	f->vma[1].name = "[heap]";
	f->vma[2].start = 0x7f0000000000ULL;
	f->vma[2].end = 0x7f0000002000ULL;
	f->vma[2].prot = PROT_READ | PROT_WRITE;
	f->vma[2].flags = MAP_SHARED;
	f->vma[2].kind = SC__VMA_KIND__FILE_SHARED;
	f->vma[2].path = "/dev/shm/my region";
	f->vma[2].has_pgoff = 1;
	f->vma[2].pgoff = 0x1000;
	f->vma[3].start = 0x7ffff7fc0000ULL;
	f->vma[3].end = 0x7ffff7fc4000ULL;
	f->vma[3].prot = PROT_READ;
	f->vma[3].flags = MAP_PRIVATE;
	f->vma[3].kind = SC__VMA_KIND__VVAR;
	f->vma[3].name = "[vvar]";
	f->vma[4].start = 0x7ffff7fc4000ULL;
	f->vma[4].end = 0x7ffff7fc6000ULL;
	f->vma[4].prot = PROT_READ | PROT_EXEC;
	f->vma[4].flags = MAP_PRIVATE;
	f->vma[4].kind = SC__VMA_KIND__VDSO;
	f->vma[4].name = "[vdso]";
	f->vma[5].start = 0x7ffffffde000ULL;
	f->vma[5].end = SC_TASK_SIZE;
	f->vma[5].prot = PROT_READ | PROT_WRITE;
	f->vma[5].flags = MAP_PRIVATE | MAP_GROWSDOWN;
	f->vma[5].kind = SC__VMA_KIND__ANON_PRIVATE;
	f->vma[5].name = "[stack]";
	f->mm.vmas = f->vmap;
	f->mm.n_vmas = 6;
	f->mm.start_code = 0x400000;
	f->mm.end_code = 0x402000;
	f->mm.start_brk = 0x600000;
	f->mm.brk = 0x604000;
	f->mm.start_stack = 0x7fffffffe000ULL;
	f->auxv[0] = 6; /* AT_PAGESZ */
	f->auxv[1] = 4096;
	f->mm.auxv = f->auxv;
	f->mm.n_auxv = 4; /* ... AT_NULL */
	f->mm.exe = "/usr/bin/prog";

	/* pagemap: a dirty text page, two heap pages, two stack pages */
	sc__pagemap__init(&f->pm);
	for (int i = 0; i < 3; i++) {
		sc__pagemap_entry__init(&f->pme[i]);
		f->pmep[i] = &f->pme[i];
	}
	f->pme[0].vaddr = 0x401000;
	f->pme[0].nr_pages = 1;
	f->pme[1].vaddr = 0x600000;
	f->pme[1].nr_pages = 2;
	f->pme[2].vaddr = SC_TASK_SIZE - 2 * PG;
	f->pme[2].nr_pages = 2;
	f->pm.entries = f->pmep;
	f->pm.n_entries = 3;
	f->pm.pages_bytes = 5 * PG;

	/* fds */
	sc__fds__init(&f->fds);
	for (int i = 0; i < 5; i++) {
		sc__fd__init(&f->fd[i]);
		f->fdp[i] = &f->fd[i];
	}
	f->fd[0].fd = 0;
	f->fd[0].kind = SC__FD_KIND__INHERIT;
	f->fd[1].fd = 1;
	f->fd[1].kind = SC__FD_KIND__INHERIT;
	f->fd[2].fd = 2;
	f->fd[2].kind = SC__FD_KIND__INHERIT;
	f->fd[3].fd = 3;
	f->fd[3].kind = SC__FD_KIND__REG;
	f->fd[3].flags = O_RDWR;
	f->fd[3].path = "/tmp/data file";
	f->fd[3].has_pos = 1;
	f->fd[3].pos = 12;
	f->fd[4].fd = 7;
	f->fd[4].kind = SC__FD_KIND__CHR;
	f->fd[4].path = "/dev/null";
	f->fd[4].cloexec = 1;
	f->fds.fds = f->fdp;
	f->fds.n_fds = 5;

	/* inventory: files are filled in by whoever writes a directory */
	sc__inventory__init(&f->inv);
	f->inv.version = SC_IMAGE_VERSION;
	f->inv.writer = SC_WRITER_RUNTIME;
	f->inv.writer_version = "0.1.0";
	f->inv.time_ns = 1700000000000000000ULL;
	sc__proc_entry__init(&f->pe[0]);
	f->pe[0].pid = pid;
	f->pe[0].ppid = 1;
	f->pe[0].pgid = pid;
	f->pe[0].sid = pid;
	f->pep[0] = &f->pe[0];
	f->inv.procs = f->pep;
	f->inv.n_procs = 1;
	f->inv.files = f->fsp;
	f->inv.n_files = 0;
}

static struct fx *fx_new(int pid)
{
	struct fx *f = malloc(sizeof(*f));

	ck_assert_ptr_nonnull(f);
	fx_init(f, pid);
	return f;
}

static void fx_add_file(struct fx *f, const char *name, uint64_t size, uint64_t xxh3)
{
	size_t i = f->inv.n_files++;

	ck_assert_uint_lt(i, 32);
	sc__file_sum__init(&f->fs[i]);
	snprintf(f->fsname[i], sizeof(f->fsname[i]), "%s", name);
	f->fs[i].name = f->fsname[i];
	f->fs[i].size = size;
	f->fs[i].xxh3 = xxh3;
	f->fsp[i] = &f->fs[i];
}

/* ---- packing ----------------------------------------------------------- */

/* Message behind a header, as on disk; *len gets the file size. */
static uint8_t *pack_file(const void *msg, uint32_t type, size_t *len)
{
	const ProtobufCMessage *m = msg;
	size_t n = protobuf_c_message_get_packed_size(m);
	struct sc_img_header h;
	uint8_t *buf = malloc(HDR + n + 1);

	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(protobuf_c_message_pack(m, buf + HDR), n);
	h.magic = SC_IMG_MAGIC;
	h.type = type;
	h.version = SC_IMAGE_VERSION;
	h.len = (uint32_t)n;
	h.xxh3 = XXH3_64bits(buf + HDR, n);
	memcpy(buf, &h, HDR);
	*len = HDR + n;
	return buf;
}

/* Arbitrary payload behind a header with a correct length and checksum. */
static uint8_t *wrap_payload(const void *payload, size_t n, uint32_t type, size_t *len)
{
	struct sc_img_header h = {SC_IMG_MAGIC, type, SC_IMAGE_VERSION, (uint32_t)n,
				  XXH3_64bits(payload, n)};
	uint8_t *buf = malloc(HDR + n + 1);

	ck_assert_ptr_nonnull(buf);
	memcpy(buf, &h, HDR);
	if (n)
		memcpy(buf + HDR, payload, n);
	*len = HDR + n;
	return buf;
}

/* sc_img_unpack() on a guard-page copy of buf; err is checked to be set
 * exactly when it fails. */
static ProtobufCMessage *unpack(const void *buf, size_t len, uint32_t type, char *err)
{
	struct gbuf g = gbuf_new(buf, len);
	ProtobufCMessage *m;

	err[0] = '\0';
	m = sc_img_unpack(g.data, g.len, type, err);
	gbuf_free(&g);
	if (!m)
		ck_assert_msg(err[0] != '\0', "sc_img_unpack failed without an error message");
	return m;
}

static void ck_unpack_fails(const void *buf, size_t len, uint32_t type, const char *why)
{
	char err[SC_ERR_LEN];
	ProtobufCMessage *m = unpack(buf, len, type, err);

	if (m)
		protobuf_c_message_free_unpacked(m, NULL);
	ck_assert_msg(!m, "accepted a record file with %s", why);
	ck_assert_uint_lt(strlen(err), SC_ERR_LEN);
}

static void ck_err_has(const char *err, const char *what)
{
	ck_assert_msg(strstr(err, what) != NULL, "error \"%s\" does not mention \"%s\"", err, what);
}

static struct {
	uint32_t type;
	const char *name;
} const types[] = {
	{SC_IMG_INVENTORY, "inventory"}, {SC_IMG_CORE, "core"}, {SC_IMG_SIGACTS, "sigacts"},
	{SC_IMG_MM, "mm"},		 {SC_IMG_PAGEMAP, "pagemap"}, {SC_IMG_FDS, "fds"},
};

static const void *fx_msg(struct fx *f, uint32_t type)
{
	switch (type) {
	case SC_IMG_INVENTORY:
		return &f->inv;
	case SC_IMG_CORE:
		return &f->core;
	case SC_IMG_SIGACTS:
		return &f->acts;
	case SC_IMG_MM:
		return &f->mm;
	case SC_IMG_PAGEMAP:
		return &f->pm;
	case SC_IMG_FDS:
		return &f->fds;
	}
	ck_abort_msg("no type %u", type);
	return NULL;
}

/* Runs the check that belongs to a decoded record; returns its result. */
static int check_any(const ProtobufCMessage *m, uint32_t type, const Sc__Mm *mm, char *err)
{
	switch (type) {
	case SC_IMG_INVENTORY:
		return sc_check_inventory((const Sc__Inventory *)m, err);
	case SC_IMG_CORE:
		return sc_check_core((const Sc__ProcCore *)m, ((const Sc__ProcCore *)m)->pid, err);
	case SC_IMG_SIGACTS:
		return sc_check_sigacts((const Sc__SigActs *)m, err);
	case SC_IMG_MM:
		return sc_check_mm((const Sc__Mm *)m, err);
	case SC_IMG_PAGEMAP:
		return sc_check_pagemap((const Sc__Pagemap *)m, mm,
					((const Sc__Pagemap *)m)->pages_bytes, false, err);
	case SC_IMG_FDS:
		return sc_check_fds((const Sc__Fds *)m, err);
	}
	return -1;
}

/* ---- sc_img_unpack ----------------------------------------------------- */

START_TEST(unpack_good_roundtrip)
{
	struct fx *f = fx_new(1234);
	uint32_t type = types[_i].type;
	char err[SC_ERR_LEN];
	ProtobufCMessage *m;
	size_t len;
	uint8_t *buf;
	int r = -1;

	fx_add_file(f, "core-1234.img", 100, 0x1234);
	buf = pack_file(fx_msg(f, type), type, &len);
	m = unpack(buf, len, type, err);
	ck_assert_msg(m != NULL, "%s: %s", types[_i].name, err);
	/* What comes back is what went in, and passes its check. */
	switch (type) {
	case SC_IMG_INVENTORY: {
		Sc__Inventory *inv = (Sc__Inventory *)m;

		ck_assert_uint_eq(inv->version, SC_IMAGE_VERSION);
		ck_assert_str_eq(inv->writer, SC_WRITER_RUNTIME);
		ck_assert_uint_eq(inv->n_procs, 1);
		ck_assert_int_eq(inv->procs[0]->pid, 1234);
		ck_assert_uint_eq(inv->n_files, 1);
		ck_assert_str_eq(inv->files[0]->name, "core-1234.img");
		ck_assert_uint_eq(inv->files[0]->xxh3, 0x1234);
		r = sc_check_inventory(inv, err);
		break;
	}
	case SC_IMG_CORE: {
		Sc__ProcCore *c = (Sc__ProcCore *)m;

		ck_assert_int_eq(c->pid, 1234);
		ck_assert_uint_eq(c->n_threads, 2);
		ck_assert_int_eq(c->threads[1]->tid, 1235);
		ck_assert_uint_eq(c->threads[0]->regs->rip, 0x401000);
		ck_assert_uint_eq(c->threads[0]->xsave.len, XSAVE_LEN);
		ck_assert(!memcmp(c->threads[0]->xsave.data, f->xsave[0], XSAVE_LEN));
		ck_assert_str_eq(c->threads[1]->name, "worker");
		ck_assert_str_eq(c->cwd, "/tmp");
		r = sc_check_core(c, 1234, err);
		break;
	}
	case SC_IMG_SIGACTS: {
		Sc__SigActs *a = (Sc__SigActs *)m;

		ck_assert_uint_eq(a->n_acts, 1);
		ck_assert_uint_eq(a->acts[0]->handler, 0x401200);
		r = sc_check_sigacts(a, err);
		break;
	}
	case SC_IMG_MM: {
		Sc__Mm *mm = (Sc__Mm *)m;

		ck_assert_uint_eq(mm->n_vmas, 6);
		ck_assert_str_eq(mm->vmas[2]->path, "/dev/shm/my region");
		ck_assert_ptr_null(mm->vmas[1]->path);
		ck_assert_uint_eq(mm->vmas[5]->end, SC_TASK_SIZE);
		ck_assert_uint_eq(mm->n_auxv, 4);
		r = sc_check_mm(mm, err);
		break;
	}
	case SC_IMG_PAGEMAP: {
		Sc__Pagemap *pm = (Sc__Pagemap *)m;

		ck_assert_uint_eq(pm->n_entries, 3);
		ck_assert_uint_eq(pm->entries[1]->nr_pages, 2);
		r = sc_check_pagemap(pm, &f->mm, 5 * PG, false, err);
		break;
	}
	case SC_IMG_FDS: {
		Sc__Fds *fds = (Sc__Fds *)m;

		ck_assert_uint_eq(fds->n_fds, 5);
		ck_assert_str_eq(fds->fds[3]->path, "/tmp/data file");
		ck_assert_uint_eq(fds->fds[3]->pos, 12);
		r = sc_check_fds(fds, err);
		break;
	}
	}
	ck_assert_msg(r == 0, "%s: decoded record fails its check: %s", types[_i].name, err);
	protobuf_c_message_free_unpacked(m, NULL);
	free(buf);
	free(f);
}
END_TEST

START_TEST(unpack_bad_header)
{
	struct fx *f = fx_new(77);
	uint32_t type = types[_i].type;
	struct sc_img_header h;
	char err[SC_ERR_LEN];
	size_t len;
	uint8_t *buf = pack_file(fx_msg(f, type), type, &len);
	ProtobufCMessage *m;

	memcpy(&h, buf, HDR);

	h.magic = 0x4b434354; /* one bit off */
	memcpy(buf, &h, HDR);
	ck_assert_ptr_null(unpack(buf, len, type, err));
	ck_err_has(err, "magic");
	h.magic = __builtin_bswap32(SC_IMG_MAGIC);
	memcpy(buf, &h, HDR);
	ck_unpack_fails(buf, len, type, "a byte-swapped magic");
	h.magic = SC_IMG_MAGIC;

	for (uint32_t v = 0; v < 4; v++) {
		if (v == SC_IMAGE_VERSION)
			continue;
		h.version = v;
		memcpy(buf, &h, HDR);
		ck_assert_ptr_null(unpack(buf, len, type, err));
		ck_err_has(err, "version");
	}
	h.version = UINT32_MAX;
	memcpy(buf, &h, HDR);
	ck_unpack_fails(buf, len, type, "version 0xffffffff");
	h.version = SC_IMAGE_VERSION;

	/* Asked for another type than the file holds. */
	memcpy(buf, &h, HDR);
	for (size_t j = 0; j < (size_t)N(types); j++)
		if (types[j].type != type)
			ck_unpack_fails(buf, len, types[j].type, "another record type");
	/* Types that do not exist, even when file and caller agree. */
	for (uint32_t t = 0; t < 16; t++) {
		if (t >= SC_IMG_INVENTORY && t <= SC_IMG_FDS)
			continue;
		h.type = t;
		memcpy(buf, &h, HDR);
		ck_unpack_fails(buf, len, t, "an unknown record type");
	}
	h.type = type;

	/* The file as written is fine. */
	memcpy(buf, &h, HDR);
	m = unpack(buf, len, type, err);
	ck_assert_msg(m != NULL, "%s", err);
	protobuf_c_message_free_unpacked(m, NULL);
	free(buf);
	free(f);
}
END_TEST

START_TEST(unpack_truncated_and_padded)
{
	struct fx *f = fx_new(77);
	uint32_t type = types[_i].type;
	char err[SC_ERR_LEN];
	size_t len;
	uint8_t *buf = pack_file(fx_msg(f, type), type, &len);
	struct sc_img_header h;

	for (size_t n = 0; n < len; n++)
		ck_unpack_fails(buf, n, type, "a truncated file");
	ck_assert_ptr_null(unpack(buf, len - 1, type, err));
	ck_err_has(err, "truncated");

	buf[len] = 0;
	ck_unpack_fails(buf, len + 1, type, "an extra byte");

	/* The header lies about the length, in both directions. */
	memcpy(&h, buf, HDR);
	h.len++;
	memcpy(buf, &h, HDR);
	ck_unpack_fails(buf, len, type, "a header length one too large");
	h.len -= 2;
	memcpy(buf, &h, HDR);
	ck_unpack_fails(buf, len, type, "a header length one too small");
	h.len = UINT32_MAX;
	memcpy(buf, &h, HDR);
	ck_unpack_fails(buf, len, type, "a 4 GiB header length");
	free(buf);
	free(f);
}
END_TEST

START_TEST(unpack_flipped_payload_byte)
{
	struct fx *f = fx_new(77);
	uint32_t type = types[_i].type;
	char err[SC_ERR_LEN];
	size_t len;
	uint8_t *buf = pack_file(fx_msg(f, type), type, &len);
	struct sc_img_header h;

	for (size_t i = HDR; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			buf[i] ^= (uint8_t)(1u << bit);
			ck_assert_ptr_null(unpack(buf, len, type, err));
			ck_err_has(err, "checksum");
			buf[i] ^= (uint8_t)(1u << bit);
		}
	}
	/* A wrong checksum over a good payload. */
	memcpy(&h, buf, HDR);
	h.xxh3 ^= 1;
	memcpy(buf, &h, HDR);
	ck_unpack_fails(buf, len, type, "a wrong checksum");
	free(buf);
	free(f);
}
END_TEST

START_TEST(unpack_garbage_with_good_checksum)
{
	uint32_t type = types[_i].type;
	struct fx *f = fx_new(77);
	char err[SC_ERR_LEN];
	uint8_t junk[256];
	size_t len, mlen;
	uint8_t *buf, *other;

	/* 0xff...: a varint that never ends, wire type 7. */
	memset(junk, 0xff, sizeof(junk));
	buf = wrap_payload(junk, sizeof(junk), type, &len);
	ck_assert_ptr_null(unpack(buf, len, type, err));
	ck_err_has(err, "decode");
	free(buf);

	/* A field header whose length runs past the end. */
	junk[0] = 0x0a; /* field 1, length delimited */
	junk[1] = 0x7f; /* 127 bytes of 3 */
	junk[2] = 0x08;
	buf = wrap_payload(junk, 3, type, &len);
	ck_unpack_fails(buf, len, type, "a field longer than the payload");
	free(buf);

	/* Pseudo-random bytes. */
	for (uint32_t seed = 1; seed < 200; seed++) {
		uint32_t x = seed * 2654435761u;
		ProtobufCMessage *m;

		for (size_t i = 0; i < sizeof(junk); i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			junk[i] = (uint8_t)x;
		}
		buf = wrap_payload(junk, 1 + seed % sizeof(junk), type, &len);
		m = unpack(buf, len, type, err);
		/* Decoding random bytes may succeed by chance (then a check
		 * must not crash); it must not crash either way. */
		if (m) {
			check_any(m, type, &f->mm, err);
			protobuf_c_message_free_unpacked(m, NULL);
		}
		free(buf);
	}

	/* Another record's payload, properly checksummed. Protobuf skips
	 * unknown fields, so some of these decode (an mm payload reads as a
	 * pagemap): then the record's check must still not crash. */
	for (size_t j = 0; j < (size_t)N(types); j++) {
		ProtobufCMessage *m;

		if (types[j].type == type)
			continue;
		other = pack_file(fx_msg(f, types[j].type), types[j].type, &mlen);
		buf = wrap_payload(other + HDR, mlen - HDR, type, &len);
		m = unpack(buf, len, type, err);
		if (m) {
			check_any(m, type, &f->mm, err);
			protobuf_c_message_free_unpacked(m, NULL);
		}
		free(buf);
		free(other);
	}
	/* ... but a required field missing is always refused: a pagemap
	 * payload read as an mm has VMAs without prot, flags and kind. */
	if (type == SC_IMG_MM) {
		other = pack_file(&f->pm, SC_IMG_PAGEMAP, &mlen);
		buf = wrap_payload(other + HDR, mlen - HDR, type, &len);
		ck_unpack_fails(buf, len, type, "VMAs missing required fields");
		free(buf);
		free(other);
	}

	/* An empty payload: fine where nothing is required. */
	buf = wrap_payload(NULL, 0, type, &len);
	if (type == SC_IMG_SIGACTS || type == SC_IMG_FDS) {
		ProtobufCMessage *m = unpack(buf, len, type, err);

		ck_assert_msg(m != NULL, "%s", err);
		protobuf_c_message_free_unpacked(m, NULL);
	} else {
		ck_unpack_fails(buf, len, type, "an empty payload");
	}
	free(buf);
	free(f);
}
END_TEST

/* A thread record missing its required registers is refused by the decoder,
 * so sc_check_core never sees t->regs == NULL. */
START_TEST(unpack_missing_nested_required)
{
	struct fx *f = fx_new(50);
	char err[SC_ERR_LEN];
	size_t len;
	uint8_t *buf;

	f->th[1].regs = NULL;
	buf = pack_file(&f->core, SC_IMG_CORE, &len);
	ck_unpack_fails(buf, len, SC_IMG_CORE, "a thread without registers");
	free(buf);

	fx_init(f, 50);
	f->th[0].name = NULL; /* packs as absent */
	buf = pack_file(&f->core, SC_IMG_CORE, &len);
	{
		ProtobufCMessage *m = unpack(buf, len, SC_IMG_CORE, err);

		if (m) {
			/* protobuf-c packs a NULL required string as "": then it
			 * must read back as a string, never NULL. */
			Sc__ProcCore *c = (Sc__ProcCore *)m;

			ck_assert_ptr_nonnull(c->threads[0]->name);
			ck_assert_int_eq(sc_check_core(c, 50, err), 0);
			protobuf_c_message_free_unpacked(m, NULL);
		}
	}
	free(buf);
	free(f);
}
END_TEST

/* Runs an sc_check_* call with err cleared: a failure must say why. */
static int checked_result(int r, const char *err, const char *call)
{
	if (r)
		ck_assert_msg(err[0], "%s failed without a message", call);
	return r;
}
#define CHECKED(call, err) checked_result(((err)[0] = '\0', (call)), (err), #call)

/* ---- sc_check_mm ------------------------------------------------------- */

static int check_mm(struct fx *f, char *err)
{
	return CHECKED(sc_check_mm(&f->mm, err), err);
}

START_TEST(mm_good)
{
	struct fx *f = fx_new(10);
	char err[SC_ERR_LEN];

	ck_assert_msg(check_mm(f, err) == 0, "%s", err);
	/* Touching VMAs are fine, and so is a single one. */
	f->vma[4].start = 0x7ffff7fc4000ULL;
	ck_assert_int_eq(check_mm(f, err), 0);
	f->mm.n_vmas = 1;
	ck_assert_int_eq(check_mm(f, err), 0);
	/* No auxv, no brk area. */
	fx_init(f, 10);
	f->mm.n_auxv = 0;
	f->mm.start_brk = f->mm.brk = 0;
	ck_assert_msg(check_mm(f, err) == 0, "%s", err);
	/* Every known kind with what it needs. */
	for (int k = SC__VMA_KIND__ANON_PRIVATE; k <= SC__VMA_KIND__VDSO; k++) {
		fx_init(f, 10);
		f->vma[1].kind = (Sc__VmaKind)k;
		f->vma[1].path = "/some/file";
		f->vma[1].has_pgoff = 1;
		ck_assert_msg(check_mm(f, err) == 0, "kind %d: %s", k, err);
	}
	free(f);
}
END_TEST

START_TEST(mm_misplaced_vmas)
{
	struct fx *f = fx_new(10);
	char err[SC_ERR_LEN];

	f->mm.n_vmas = 0;
	ck_assert_int_ne(check_mm(f, err), 0);

	fx_init(f, 10);
	f->vma[1].start = 0x401000; /* overlaps vma 0 */
	ck_assert_int_ne(check_mm(f, err), 0);
	ck_err_has(err, "VMA 1");

	fx_init(f, 10);
	f->vmap[0] = &f->vma[1]; /* out of order */
	f->vmap[1] = &f->vma[0];
	ck_assert_int_ne(check_mm(f, err), 0);

	fx_init(f, 10);
	f->vmap[2] = &f->vma[1]; /* the same VMA twice */
	ck_assert_int_ne(check_mm(f, err), 0);

	fx_init(f, 10);
	f->vma[1].start += 1; /* unaligned start */
	ck_assert_int_ne(check_mm(f, err), 0);

	fx_init(f, 10);
	f->vma[1].end -= 0x800; /* unaligned end */
	ck_assert_int_ne(check_mm(f, err), 0);

	fx_init(f, 10);
	f->vma[1].end = f->vma[1].start; /* empty */
	ck_assert_int_ne(check_mm(f, err), 0);

	fx_init(f, 10);
	f->vma[1].end = 0x500000; /* end before start */
	ck_assert_int_ne(check_mm(f, err), 0);

	fx_init(f, 10);
	f->vma[5].end = SC_TASK_SIZE + PG; /* past user space */
	ck_assert_int_ne(check_mm(f, err), 0);

	fx_init(f, 10);
	f->vma[5].start = 0xffffffffff600000ULL; /* [vsyscall] is not user memory */
	f->vma[5].end = 0xffffffffff601000ULL;
	ck_assert_int_ne(check_mm(f, err), 0);

	fx_init(f, 10);
	f->vma[5].start = 0xfffffffffffff000ULL; /* end wraps */
	f->vma[5].end = 0;
	ck_assert_int_ne(check_mm(f, err), 0);
	free(f);
}
END_TEST

START_TEST(mm_sysv_segments)
{
	struct fx *f = fx_new(10);
	Sc__SysvShm sh = SC__SYSV_SHM__INIT, sh2, *shp[2] = { &sh, &sh2 };
	char err[SC_ERR_LEN];

	/* vma 1 attaches segment 7, of 3 pages and a bit. */
	sh.id = 7;
	sh.key = 0x1234;
	sh.size = 3 * PG + 100;
	sh.mode = 01640;
	f->mm.sysv_shm = shp;
	f->mm.n_sysv_shm = 1;
	f->vma[1].kind = SC__VMA_KIND__ANON_SHARED;
	f->vma[1].path = "/SYSV00001234";
	f->vma[1].has_ino = f->vma[1].has_pgoff = 1;
	f->vma[1].ino = 7;
	f->vma[1].pgoff = 0;
	f->vma[1].end = f->vma[1].start + PG;
	ck_assert_msg(check_mm(f, err) == 0, "%s", err);
	ck_assert_ptr_eq(sc_sysv_of(&f->mm, &f->vma[1]), &sh);
	ck_assert_ptr_null(sc_sysv_of(&f->mm, &f->vma[2]));
	f->vma[1].pgoff = 3 * PG; /* the partial last page */
	ck_assert_msg(check_mm(f, err) == 0, "%s", err);
	f->vma[1].pgoff = 4 * PG; /* past the segment */
	ck_assert_int_ne(check_mm(f, err), 0);
	ck_err_has(err, "outside SysV segment 7");
	f->vma[1].pgoff = PG / 2;
	ck_assert_int_ne(check_mm(f, err), 0);
	f->vma[1].pgoff = 0;
	sh.mode = 010000;
	ck_assert_int_ne(check_mm(f, err), 0);
	sh.mode = 0600;
	sh.size = 0;
	ck_assert_int_ne(check_mm(f, err), 0);
	sh.size = PG;
	sh2 = sh;
	f->mm.n_sysv_shm = 2;
	ck_assert_int_ne(check_mm(f, err), 0);
	ck_err_has(err, "twice");
	free(f);
}
END_TEST

START_TEST(mm_bad_attributes)
{
	struct fx *f = fx_new(10);
	char err[SC_ERR_LEN];

	static const int bad_kinds[] = {0, 8, 99, -1, 0x7fffffff};
	for (int i = 0; i < N(bad_kinds); i++) {
		fx_init(f, 10);
		f->vma[1].kind = (Sc__VmaKind)bad_kinds[i];
		ck_assert_msg(check_mm(f, err) != 0, "accepted VMA kind %d", bad_kinds[i]);
		ck_err_has(err, "kind");
	}

	fx_init(f, 10);
	f->vma[1].prot = 0x10; /* PROT_SEM or junk */
	ck_assert_int_ne(check_mm(f, err), 0);
	fx_init(f, 10);
	f->vma[1].prot = PROT_GROWSDOWN;
	ck_assert_int_ne(check_mm(f, err), 0);

	fx_init(f, 10);
	f->vma[1].flags = 0; /* neither shared nor private */
	ck_assert_int_ne(check_mm(f, err), 0);
	fx_init(f, 10);
	f->vma[1].flags = MAP_PRIVATE | MAP_FIXED;
	ck_assert_int_ne(check_mm(f, err), 0);
	fx_init(f, 10);
	f->vma[1].flags = MAP_PRIVATE | MAP_ANONYMOUS;
	ck_assert_int_ne(check_mm(f, err), 0);

	fx_init(f, 10);
	f->mm.n_auxv = 3; /* auxv comes in pairs */
	ck_assert_int_ne(check_mm(f, err), 0);
	fx_init(f, 10);
	f->mm.n_auxv = 514;
	ck_assert_int_ne(check_mm(f, err), 0);

	fx_init(f, 10);
	f->mm.brk = f->mm.start_brk - PG;
	ck_assert_int_ne(check_mm(f, err), 0);
	fx_init(f, 10);
	f->mm.brk = f->mm.start_brk = SC_TASK_SIZE;
	ck_assert_int_ne(check_mm(f, err), 0);
	free(f);
}
END_TEST

START_TEST(mm_file_vma_without_path)
{
	struct fx *f = fx_new(10);
	char err[SC_ERR_LEN];
	const int file_vmas[] = {0, 2}; /* FILE_PRIVATE, FILE_SHARED */

	for (int i = 0; i < N(file_vmas); i++) {
		Sc__Vma *v = &f->vma[file_vmas[i]];

		fx_init(f, 10);
		v->path = NULL;
		ck_assert_int_ne(check_mm(f, err), 0);
		ck_err_has(err, "path");
		fx_init(f, 10);
		v->path = "";
		ck_assert_int_ne(check_mm(f, err), 0);
		fx_init(f, 10);
		v->path = "relative/file";
		ck_assert_int_ne(check_mm(f, err), 0);
		fx_init(f, 10);
		v->has_pgoff = 0;
		ck_assert_int_ne(check_mm(f, err), 0);
		fx_init(f, 10);
		v->pgoff = 0x1001;
		ck_assert_int_ne(check_mm(f, err), 0);
	}
	/* Anonymous memory needs no path. */
	fx_init(f, 10);
	f->vma[1].path = NULL;
	ck_assert_int_eq(check_mm(f, err), 0);
	free(f);
}
END_TEST

/* ---- sc_check_pagemap -------------------------------------------------- */

static int check_pm(struct fx *f, uint64_t pages_size, char *err)
{
	return CHECKED(sc_check_pagemap(&f->pm, &f->mm, pages_size, false, err), err);
}

/* The same in an incremental image, whose runs may be in_parent. */
static int check_pm_incr(struct fx *f, uint64_t pages_size, char *err)
{
	return CHECKED(sc_check_pagemap(&f->pm, &f->mm, pages_size, true, err), err);
}

static void set_in_parent(Sc__PagemapEntry *e)
{
	e->has_in_parent = e->in_parent = 1;
}

/* in_parent runs: no data in the pages file, only in an incremental
 * image, and otherwise the rules of every run. */
START_TEST(pagemap_in_parent)
{
	struct fx *f = fx_new(10);
	char err[SC_ERR_LEN];

	/* The heap's two pages in the parent: three stored. */
	set_in_parent(&f->pme[1]);
	f->pm.pages_bytes = 3 * PG;
	ck_assert_msg(check_pm_incr(f, 3 * PG, err) == 0, "%s", err);
	/* Counted as stored, they are missing from the pages file. */
	f->pm.pages_bytes = 5 * PG;
	ck_assert_int_ne(check_pm_incr(f, 3 * PG, err), 0);
	ck_err_has(err, "the pages file has 12288");
	/* Not in a full image. */
	f->pm.pages_bytes = 3 * PG;
	ck_assert_int_ne(check_pm(f, 3 * PG, err), 0);
	ck_err_has(err, "entry 1 (0x600000) is in_parent in an image without a parent");
	/* Everything in the parent: nothing stored. */
	set_in_parent(&f->pme[0]);
	set_in_parent(&f->pme[2]);
	f->pm.pages_bytes = 0;
	ck_assert_msg(check_pm_incr(f, 0, err) == 0, "%s", err);

	/* Outside the VMAs, in one that stores no pages, across two, out of
	 * order: refused like a stored run. */
	fx_init(f, 10);
	set_in_parent(&f->pme[1]);
	f->pm.pages_bytes = 3 * PG;
	f->pme[1].vaddr = 0x700000;
	ck_assert_int_ne(check_pm_incr(f, 3 * PG, err), 0);
	ck_err_has(err, "entry 1 (0x700000, 2 pages) lies outside stored memory");
	f->pme[1].vaddr = 0x7f0000000000ULL;
	ck_assert_int_ne(check_pm_incr(f, 3 * PG, err), 0);
	ck_err_has(err, "outside stored memory");
	f->pme[1].vaddr = 0x603000;
	ck_assert_int_ne(check_pm_incr(f, 3 * PG, err), 0);
	ck_err_has(err, "outside stored memory");
	f->pme[1].vaddr = 0x400000;
	ck_assert_int_ne(check_pm_incr(f, 3 * PG, err), 0);
	ck_err_has(err, "out of order");
	free(f);
}
END_TEST

/* A compressed pages file: frames of 1 to SC_ZFRAME_MAX_PAGES pages,
 * adding up to the runs' data and to the file, each no larger than zstd
 * could make it; a raw one has none, and other codecs are unknown. */
START_TEST(pagemap_frames)
{
	static uint32_t pages[3] = { 3, 2 }, bytes[3] = { 100, 50 };
	struct fx *f = fx_new(10);
	char err[SC_ERR_LEN];

	f->pm.has_codec = 1;
	f->pm.codec = SC__PAGES_CODEC__PAGES_ZSTD;
	f->pm.frame_pages = pages;
	f->pm.frame_bytes = bytes;
	f->pm.n_frame_pages = f->pm.n_frame_bytes = 2;
	ck_assert_msg(check_pm(f, 150, err) == 0, "%s", err);
	/* The file's size is the frames', not the data's. */
	ck_assert_int_ne(check_pm(f, 5 * PG, err), 0);
	ck_err_has(err, "frames take 150 bytes, the pages file has 20480");
	ck_assert_int_ne(check_pm(f, 151, err), 0);
	ck_err_has(err, "frames take 150 bytes, the pages file has 151");
	/* Frames of the data the runs do not hold. */
	pages[1] = 3;
	ck_assert_int_ne(check_pm(f, 150, err), 0);
	ck_err_has(err, "frames hold 24576 bytes of pages, the runs 20480");
	pages[1] = 2;
	f->pm.pages_bytes = 6 * PG;
	ck_assert_int_ne(check_pm(f, 150, err), 0);
	ck_err_has(err, "describes 20480 bytes of pages, pages_bytes says 24576");
	f->pm.pages_bytes = 5 * PG;
	/* Empty frames, frames too large, sizes zstd never makes. */
	pages[0] = 0;
	ck_assert_int_ne(check_pm(f, 150, err), 0);
	ck_err_has(err, "frame 0 holds 0 pages (1 to 1024)");
	pages[0] = SC_ZFRAME_MAX_PAGES + 1;
	ck_assert_int_ne(check_pm(f, 150, err), 0);
	ck_err_has(err, "frame 0 holds 1025 pages");
	pages[0] = 3;
	bytes[1] = 0;
	ck_assert_int_ne(check_pm(f, 100, err), 0);
	ck_err_has(err, "frame 1 of 2 pages takes 0 bytes");
	bytes[1] = (uint32_t)ZSTD_compressBound(2 * PG) + 1;
	ck_assert_int_ne(check_pm(f, 100 + bytes[1], err), 0);
	ck_err_has(err, "frame 1 of 2 pages takes");
	bytes[1] = (uint32_t)ZSTD_compressBound(2 * PG);
	ck_assert_msg(check_pm(f, 100 + bytes[1], err) == 0, "%s", err);
	bytes[1] = 50;
	/* Sizes for some frames only. */
	f->pm.n_frame_bytes = 1;
	ck_assert_int_ne(check_pm(f, 100, err), 0);
	ck_err_has(err, "1 frame sizes for 2 frames");
	f->pm.n_frame_bytes = 2;
	/* Frames of one page each; none at all for no data. */
	for (int i = 0; i < 3; i++)
		pages[i] = 1, bytes[i] = 10;
	f->pme[1].nr_pages = 1;
	f->pme[2].nr_pages = 1;
	f->pm.pages_bytes = 3 * PG;
	f->pm.n_frame_pages = f->pm.n_frame_bytes = 3;
	ck_assert_msg(check_pm(f, 30, err) == 0, "%s", err);
	f->pm.n_entries = 0;
	f->pm.pages_bytes = 0;
	f->pm.n_frame_pages = f->pm.n_frame_bytes = 0;
	ck_assert_msg(check_pm(f, 0, err) == 0, "%s", err);
	/* A raw file has no frames. */
	fx_init(f, 10);
	f->pm.frame_pages = pages;
	f->pm.n_frame_pages = 1;
	ck_assert_int_ne(check_pm(f, 5 * PG, err), 0);
	ck_err_has(err, "frames in an uncompressed pages file");
	f->pm.n_frame_pages = 0;
	f->pm.frame_bytes = bytes;
	f->pm.n_frame_bytes = 1;
	ck_assert_int_ne(check_pm(f, 5 * PG, err), 0);
	ck_err_has(err, "frames in an uncompressed pages file");
	/* A codec this reader does not know. */
	fx_init(f, 10);
	f->pm.has_codec = 1;
	f->pm.codec = 7;
	ck_assert_int_ne(check_pm(f, 5 * PG, err), 0);
	ck_err_has(err, "unknown pages codec 7");
	free(f);
}
END_TEST

/* Sums in parts (doc/checksums.md): raw, chunks of a power of two from
 * a page to SC_PAGES_CHUNK_MAX and one sum for each, the last one short;
 * compressed, one sum for each frame and no chunk size; none at all
 * without a chunk size. */
START_TEST(pagemap_chunks)
{
	static uint64_t sums[4];
	static uint32_t pages[2] = { 3, 2 }, bytes[2] = { 100, 50 };
	struct fx *f = fx_new(10);
	char err[SC_ERR_LEN];

	f->pm.chunk_xxh3 = sums;
	f->pm.has_chunk_bytes = 1;
	f->pm.chunk_bytes = 2 * PG;
	f->pm.n_chunk_xxh3 = 3;
	ck_assert_msg(check_pm(f, 5 * PG, err) == 0, "%s", err);
	f->pm.n_chunk_xxh3 = 2;
	ck_assert_int_ne(check_pm(f, 5 * PG, err), 0);
	ck_err_has(err, "2 chunk checksums for 20480 bytes in chunks of 8192");
	f->pm.chunk_bytes = SC_PAGES_CHUNK_MAX;
	f->pm.n_chunk_xxh3 = 1;
	ck_assert_msg(check_pm(f, 5 * PG, err) == 0, "%s", err);
	f->pm.chunk_bytes = 3 * PG;
	ck_assert_int_ne(check_pm(f, 5 * PG, err), 0);
	ck_err_has(err, "chunks of 12288 bytes (a power of two from 4096 to 1073741824)");
	f->pm.chunk_bytes = PG / 2;
	ck_assert_int_ne(check_pm(f, 5 * PG, err), 0);
	ck_err_has(err, "chunks of 2048 bytes");
	f->pm.chunk_bytes = 2U * SC_PAGES_CHUNK_MAX;
	ck_assert_int_ne(check_pm(f, 5 * PG, err), 0);
	ck_err_has(err, "chunks of 2147483648 bytes");
	f->pm.chunk_bytes = 0;
	ck_assert_int_ne(check_pm(f, 5 * PG, err), 0);
	ck_err_has(err, "chunks of 0 bytes");
	f->pm.has_chunk_bytes = 0;
	ck_assert_int_ne(check_pm(f, 5 * PG, err), 0);
	ck_err_has(err, "1 chunk checksums and no chunk size");
	f->pm.n_chunk_xxh3 = 0;
	ck_assert_msg(check_pm(f, 5 * PG, err) == 0, "%s", err);
	/* No data, no chunks. */
	f->pm.has_chunk_bytes = 1;
	f->pm.chunk_bytes = PG;
	f->pm.n_entries = 0;
	f->pm.pages_bytes = 0;
	ck_assert_msg(check_pm(f, 0, err) == 0, "%s", err);
	f->pm.n_chunk_xxh3 = 1;
	ck_assert_int_ne(check_pm(f, 0, err), 0);
	ck_err_has(err, "1 chunk checksums for 0 bytes");
	/* Compressed: one for each frame. */
	fx_init(f, 10);
	f->pm.has_codec = 1;
	f->pm.codec = SC__PAGES_CODEC__PAGES_ZSTD;
	f->pm.frame_pages = pages;
	f->pm.frame_bytes = bytes;
	f->pm.n_frame_pages = f->pm.n_frame_bytes = 2;
	f->pm.chunk_xxh3 = sums;
	f->pm.has_chunk_bytes = 1;
	f->pm.n_chunk_xxh3 = 2;
	ck_assert_msg(check_pm(f, 150, err) == 0, "%s", err);
	f->pm.n_chunk_xxh3 = 1;
	ck_assert_int_ne(check_pm(f, 150, err), 0);
	ck_err_has(err, "1 chunk checksums for 2 frames");
	f->pm.n_chunk_xxh3 = 2;
	f->pm.chunk_bytes = PG;
	ck_assert_int_ne(check_pm(f, 150, err), 0);
	ck_err_has(err, "chunks of 4096 bytes in a compressed pages file");
	free(f);
}
END_TEST

START_TEST(pagemap_good)
{
	struct fx *f = fx_new(10);
	char err[SC_ERR_LEN];

	ck_assert_msg(check_pm(f, 5 * PG, err) == 0, "%s", err);
	/* Nothing stored at all. */
	f->pm.n_entries = 0;
	f->pm.pages_bytes = 0;
	ck_assert_msg(check_pm(f, 0, err) == 0, "%s", err);
	/* A whole VMA, to its last page. */
	fx_init(f, 10);
	f->pme[2].vaddr = f->vma[5].start;
	f->pme[2].nr_pages = (f->vma[5].end - f->vma[5].start) / PG;
	f->pm.pages_bytes = (3 + f->pme[2].nr_pages) * PG;
	ck_assert_msg(check_pm(f, f->pm.pages_bytes, err) == 0, "%s", err);
	/* Two runs in one VMA, touching. */
	fx_init(f, 10);
	f->pme[1].nr_pages = 1;
	sc__pagemap_entry__init(&f->pme[3]);
	f->pme[3].vaddr = 0x601000;
	f->pme[3].nr_pages = 1;
	f->pmep[2] = &f->pme[3];
	f->pmep[3] = &f->pme[2];
	f->pm.n_entries = 4;
	ck_assert_msg(check_pm(f, 5 * PG, err) == 0, "%s", err);
	free(f);
}
END_TEST

START_TEST(pagemap_outside_stored_vmas)
{
	struct fx *f = fx_new(10);
	char err[SC_ERR_LEN];

	/* In the gap between the heap and the shared file. */
	f->pme[1].vaddr = 0x700000;
	ck_assert_int_ne(check_pm(f, 5 * PG, err), 0);
	ck_err_has(err, "outside");

	/* Before the first VMA. */
	fx_init(f, 10);
	f->pme[0].vaddr = 0x3ff000;
	ck_assert_int_ne(check_pm(f, 5 * PG, err), 0);

	/* Runs past the end of its VMA. */
	fx_init(f, 10);
	f->pme[1].vaddr = 0x603000;
	ck_assert_int_ne(check_pm(f, 5 * PG, err), 0);

	/* In a VMA whose pages live elsewhere: shared file, vvar, vdso. */
	const uint64_t unstored[] = {0x7f0000000000ULL, 0x7ffff7fc0000ULL, 0x7ffff7fc4000ULL};
	for (int i = 0; i < N(unstored); i++) {
		fx_init(f, 10);
		f->pme[1].vaddr = unstored[i];
		f->pme[1].nr_pages = 1;
		f->pm.pages_bytes = 4 * PG;
		ck_assert_msg(check_pm(f, 4 * PG, err) != 0, "accepted pages at %#llx",
			      (unsigned long long)unstored[i]);
	}

	/* Past the last VMA, and past user space. */
	fx_init(f, 10);
	f->pme[2].vaddr = SC_TASK_SIZE;
	ck_assert_int_ne(check_pm(f, 5 * PG, err), 0);
	fx_init(f, 10);
	f->pme[2].vaddr = 0xffffffffff600000ULL;
	ck_assert_int_ne(check_pm(f, 5 * PG, err), 0);

	/* An mm with no VMA at all. */
	fx_init(f, 10);
	f->mm.n_vmas = 0;
	ck_assert_int_ne(check_pm(f, 5 * PG, err), 0);
	free(f);
}
END_TEST

START_TEST(pagemap_size_mismatch)
{
	struct fx *f = fx_new(10);
	char err[SC_ERR_LEN];

	/* The pages file is not what the entries describe. */
	ck_assert_int_ne(check_pm(f, 4 * PG, err), 0);
	ck_err_has(err, "pages");
	ck_assert_int_ne(check_pm(f, 6 * PG, err), 0);
	ck_assert_int_ne(check_pm(f, 5 * PG + 1, err), 0);
	ck_assert_int_ne(check_pm(f, 0, err), 0);
	/* pages_bytes disagrees with the entries, or with the file. */
	f->pm.pages_bytes = 6 * PG;
	ck_assert_int_ne(check_pm(f, 5 * PG, err), 0);
	ck_assert_int_ne(check_pm(f, 6 * PG, err), 0);
	/* Entries but no pages. */
	fx_init(f, 10);
	f->pm.pages_bytes = 0;
	ck_assert_int_ne(check_pm(f, 0, err), 0);
	free(f);
}
END_TEST

START_TEST(pagemap_unordered)
{
	struct fx *f = fx_new(10);
	char err[SC_ERR_LEN];

	f->pmep[0] = &f->pme[1];
	f->pmep[1] = &f->pme[0];
	ck_assert_int_ne(check_pm(f, 5 * PG, err), 0);

	fx_init(f, 10);
	f->pmep[1] = &f->pme[2];
	f->pmep[2] = &f->pme[1];
	ck_assert_int_ne(check_pm(f, 5 * PG, err), 0);

	/* Overlapping runs, and the same run twice. */
	fx_init(f, 10);
	sc__pagemap_entry__init(&f->pme[3]);
	f->pme[3].vaddr = 0x601000;
	f->pme[3].nr_pages = 1;
	f->pmep[3] = f->pmep[2];
	f->pmep[2] = &f->pme[3];
	f->pm.n_entries = 4;
	f->pm.pages_bytes = 6 * PG;
	ck_assert_int_ne(check_pm(f, 6 * PG, err), 0);
	fx_init(f, 10);
	f->pmep[2] = &f->pme[1];
	f->pm.pages_bytes = 5 * PG;
	ck_assert_int_ne(check_pm(f, 5 * PG, err), 0);
	free(f);
}
END_TEST

START_TEST(pagemap_malformed_entries)
{
	struct fx *f = fx_new(10);
	char err[SC_ERR_LEN];
	/* nr_pages values whose byte length overflows or wraps to something
	 * small: 2^52 pages is 0 bytes in 64 bits, 2^52 + 2 pages is 8 KiB. */
	static const uint64_t bad_nr[] = {
		0,
		UINT64_MAX,
		UINT64_MAX / PG + 1,
		1ULL << 52,
		(1ULL << 52) + 2,
		(1ULL << 63) + 2,
		SC_TASK_SIZE / PG + 1,
	};

	for (int i = 0; i < N(bad_nr); i++) {
		fx_init(f, 10);
		f->pme[1].nr_pages = bad_nr[i];
		ck_assert_msg(check_pm(f, 5 * PG, err) != 0, "accepted nr_pages %#llx",
			      (unsigned long long)bad_nr[i]);
		/* Even with pages_bytes computed with the same wrap-around. */
		f->pm.pages_bytes = 3 * PG + bad_nr[i] * PG;
		ck_assert_msg(check_pm(f, f->pm.pages_bytes, err) != 0,
			      "accepted nr_pages %#llx (wrapped size)", (unsigned long long)bad_nr[i]);
	}

	/* The largest possible run, in a VMA too small for it. */
	fx_init(f, 10);
	f->pme[1].nr_pages = SC_TASK_SIZE / PG;
	ck_assert_int_ne(check_pm(f, 5 * PG, err), 0);

	/* Unaligned vaddr, and a vaddr whose end wraps around. */
	fx_init(f, 10);
	f->pme[1].vaddr += 8;
	ck_assert_int_ne(check_pm(f, 5 * PG, err), 0);
	fx_init(f, 10);
	f->pme[2].vaddr = 0xfffffffffffff000ULL;
	f->pme[2].nr_pages = 2;
	ck_assert_int_ne(check_pm(f, 5 * PG, err), 0);
	free(f);
}
END_TEST

/* ---- sc_check_core ----------------------------------------------------- */

static int check_core(struct fx *f, char *err)
{
	return CHECKED(sc_check_core(&f->core, f->pid, err), err);
}

START_TEST(core_good)
{
	struct fx *f = fx_new(4000);
	char err[SC_ERR_LEN];

	ck_assert_msg(check_core(f, err) == 0, "%s", err);
	/* Legacy FXSAVE only (no XSAVE support): the software bytes are not
	 * looked at. */
	set_xsave(&f->th[0], f->xsave[0], 512, 3);
	memset(f->xsave[0] + SC_FPX_SW_OFFSET, 0xa5, 48);
	ck_assert_msg(check_core(f, err) == 0, "%s", err);
	/* The largest area allowed (AMX). */
	set_xsave(&f->th[1], f->xsave[1], SC_XSAVE_MAX, 0x602e7);
	ck_assert_msg(check_core(f, err) == 0, "%s", err);
	/* No rseq, one thread, no rlimits, name of 15 characters. */
	fx_init(f, 4000);
	f->th[0].rseq_ptr = 0;
	f->th[0].rseq_len = 0;
	f->core.n_threads = 1;
	f->core.n_rlimits = 0;
	f->th[0].name = "123456789012345";
	f->core.cwd = "/";
	f->core.umask = 0777;
	ck_assert_msg(check_core(f, err) == 0, "%s", err);
	/* The highest pid and rip/rsp just inside user space. */
	fx_init(f, (1 << 22) - 1);
	f->core.n_threads = 1;
	f->regs[0].rip = SC_TASK_SIZE - 1;
	f->regs[0].rsp = SC_TASK_SIZE - 8;
	ck_assert_msg(check_core(f, err) == 0, "%s", err);
	free(f);
}
END_TEST

START_TEST(core_bad_tids)
{
	struct fx *f = fx_new(4000);
	char err[SC_ERR_LEN];

	ck_assert_int_ne(sc_check_core(&f->core, 4001, err), 0); /* someone else's */
	ck_err_has(err, "4001");

	static const int bad[] = {0, -1, -4000, 1 << 22, (1 << 22) + 1, 0x7fffffff, (int)0x80000000};
	for (int i = 0; i < N(bad); i++) {
		fx_init(f, 4000);
		f->th[1].tid = bad[i];
		ck_assert_msg(check_core(f, err) != 0, "accepted tid %d", bad[i]);
	}

	fx_init(f, 4000);
	f->th[1].tid = 4000; /* twice */
	ck_assert_int_ne(check_core(f, err), 0);
	ck_err_has(err, "twice");

	fx_init(f, 4000);
	f->th[0].tid = 4001; /* main thread is not first */
	f->th[1].tid = 4000;
	ck_assert_int_ne(check_core(f, err), 0);

	fx_init(f, 4000);
	f->core.n_threads = 0;
	ck_assert_int_ne(check_core(f, err), 0);

	fx_init(f, 0);
	ck_assert_int_ne(check_core(f, err), 0);
	fx_init(f, -5);
	ck_assert_int_ne(check_core(f, err), 0);
	free(f);
}
END_TEST

START_TEST(core_bad_xsave_size)
{
	struct fx *f = fx_new(4000);
	char err[SC_ERR_LEN];
	static const size_t bad[] = {0, 1, 64, 511, SC_XSAVE_MAX + 1, SC_XSAVE_MAX + 64};

	for (int i = 0; i < N(bad); i++) {
		fx_init(f, 4000);
		set_xsave(&f->th[1], f->xsave[1], bad[i], XFEATURES);
		ck_assert_msg(check_core(f, err) != 0, "accepted an XSAVE area of %zu bytes", bad[i]);
		ck_err_has(err, "XSAVE");
	}
	free(f);
}
END_TEST

START_TEST(core_inconsistent_xsave_sw_bytes)
{
	struct fx *f = fx_new(4000);
	char err[SC_ERR_LEN];

	sw_of(f, 1)->magic1 ^= 1;
	ck_assert_int_ne(check_core(f, err), 0);
	ck_err_has(err, "XSAVE");

	fx_init(f, 4000);
	sw_of(f, 1)->xstate_size = XSAVE_LEN - 64; /* says smaller than stored */
	ck_assert_int_ne(check_core(f, err), 0);
	fx_init(f, 4000);
	sw_of(f, 1)->xstate_size = XSAVE_LEN + 64; /* says larger than stored */
	sw_of(f, 1)->extended_size = XSAVE_LEN + 64 + SC_FP_XSTATE_MAGIC2_SIZE;
	ck_assert_int_ne(check_core(f, err), 0);

	fx_init(f, 4000);
	sw_of(f, 1)->extended_size = XSAVE_LEN; /* no room for magic2 */
	ck_assert_int_ne(check_core(f, err), 0);
	fx_init(f, 4000);
	sw_of(f, 1)->extended_size = 0xffffffff;
	ck_assert_int_ne(check_core(f, err), 0);

	/* All software bytes zero, on an area that claims to be XSAVE. */
	fx_init(f, 4000);
	memset(sw_of(f, 0), 0, sizeof(struct sc_fpx_sw_bytes));
	ck_assert_int_ne(check_core(f, err), 0);
	free(f);
}
END_TEST

/* What the kernel requires of the XSAVE area it is handed back on
 * rt_sigreturn: at least the legacy area plus the 64-byte XSAVE header
 * (smaller and it silently restores x87/SSE only), a feature set in the
 * software bytes that is the one the record declares (crload decides
 * whether the CPU can take the image from t->xfeatures), and no component
 * in the header's XSTATE_BV outside it (XRSTOR faults, the restored thread
 * dies with SIGSEGV). */
START_TEST(core_xsave_header_semantics)
{
	struct fx *f = fx_new(4000);
	char err[SC_ERR_LEN];

	switch (_i) {
	case 0:
		/* Consistent software bytes, but no room for the XSAVE header. */
		set_xsave(&f->th[1], f->xsave[1], 520, XFEATURES);
		ck_assert_msg(check_core(f, err) != 0,
			      "accepted a 520-byte XSAVE area (legacy 512 + header 64 is the "
			      "minimum)");
		break;
	case 1:
		/* The software bytes declare AVX-512 state the record does not. */
		sw_of(f, 1)->xfeatures = 0xe7;
		ck_assert_msg(check_core(f, err) != 0,
			      "accepted software bytes with xfeatures %#x while the thread "
			      "declares %#llx",
			      0xe7, (unsigned long long)XFEATURES);
		break;
	case 2: {
		/* XSTATE_BV has a component outside the declared features. */
		uint64_t bv = XFEATURES | (1ULL << 17); /* AMX TILEDATA */

		memcpy(f->xsave[1] + 512, &bv, sizeof(bv));
		ck_assert_msg(check_core(f, err) != 0,
			      "accepted an XSAVE header whose XSTATE_BV %#llx has bits outside "
			      "xfeatures %#llx",
			      (unsigned long long)bv, (unsigned long long)XFEATURES);
		break;
	}
	}
	free(f);
}
END_TEST

START_TEST(core_bad_registers_and_fields)
{
	struct fx *f = fx_new(4000);
	char err[SC_ERR_LEN];
	static const uint64_t bad_rip[] = {SC_TASK_SIZE, SC_TASK_SIZE + 0x1000,
					   0x800000000000ULL, 0xffffffffff600000ULL,
					   0xffffffff81000000ULL, UINT64_MAX};

	for (int i = 0; i < N(bad_rip); i++) {
		fx_init(f, 4000);
		f->regs[1].rip = bad_rip[i];
		ck_assert_msg(check_core(f, err) != 0, "accepted rip %#llx",
			      (unsigned long long)bad_rip[i]);
		ck_err_has(err, "rip");
	}
	static const uint64_t bad_rsp[] = {0, 8, 4095, SC_TASK_SIZE, UINT64_MAX};
	for (int i = 0; i < N(bad_rsp); i++) {
		fx_init(f, 4000);
		f->regs[0].rsp = bad_rsp[i];
		ck_assert_msg(check_core(f, err) != 0, "accepted rsp %#llx",
			      (unsigned long long)bad_rsp[i]);
	}

	fx_init(f, 4000);
	f->th[1].rseq_ptr += 8; /* misaligned */
	ck_assert_int_ne(check_core(f, err), 0);
	ck_err_has(err, "rseq");
	fx_init(f, 4000);
	f->th[1].rseq_len = 16;
	ck_assert_int_ne(check_core(f, err), 0);
	fx_init(f, 4000);
	f->th[1].rseq_len = 8192;
	ck_assert_int_ne(check_core(f, err), 0);

	fx_init(f, 4000);
	f->th[1].name = "1234567890123456";
	ck_assert_int_ne(check_core(f, err), 0);

	fx_init(f, 4000);
	f->core.cwd = "tmp";
	ck_assert_int_ne(check_core(f, err), 0);
	fx_init(f, 4000);
	f->core.cwd = "";
	ck_assert_int_ne(check_core(f, err), 0);

	fx_init(f, 4000);
	f->core.umask = 01000;
	ck_assert_int_ne(check_core(f, err), 0);

	fx_init(f, 4000);
	f->rl.resource = 16; /* RLIM_NLIMITS */
	ck_assert_int_ne(check_core(f, err), 0);
	free(f);
}
END_TEST

/* ---- sc_check_sigacts -------------------------------------------------- */

START_TEST(sigacts_checks)
{
	struct fx *f = fx_new(1);
	char err[SC_ERR_LEN];
	static const unsigned bad[] = {0, 9, 19, 65, 1000, 0xffffffff};

	ck_assert_int_eq(sc_check_sigacts(&f->acts, err), 0);
	for (unsigned s = 1; s <= 64; s++) {
		f->act.sig = s;
		ck_assert_int_eq(sc_check_sigacts(&f->acts, err), s == 9 || s == 19 ? -1 : 0);
	}
	for (int i = 0; i < N(bad); i++) {
		f->act.sig = bad[i];
		ck_assert_msg(sc_check_sigacts(&f->acts, err) != 0, "accepted a handler for %u", bad[i]);
	}
	f->acts.n_acts = 0;
	ck_assert_int_eq(sc_check_sigacts(&f->acts, err), 0);
	free(f);
}
END_TEST

/* ---- sc_check_fds ------------------------------------------------------ */

static int check_fds(struct fx *f, char *err)
{
	return CHECKED(sc_check_fds(&f->fds, err), err);
}

START_TEST(fds_checks)
{
	struct fx *f = fx_new(1);
	char err[SC_ERR_LEN];

	ck_assert_msg(check_fds(f, err) == 0, "%s", err);
	f->fds.n_fds = 0;
	ck_assert_int_eq(check_fds(f, err), 0);

	fx_init(f, 1);
	f->fd[4].fd = 3; /* dup */
	ck_assert_int_ne(check_fds(f, err), 0);
	ck_err_has(err, "twice");
	fx_init(f, 1);
	f->fd[1].fd = 0;
	ck_assert_int_ne(check_fds(f, err), 0);
	fx_init(f, 1);
	f->fd[3].fd = 8; /* above fd 7, listed after it: out of order */
	ck_assert_int_ne(check_fds(f, err), 0);
	ck_err_has(err, "order");

	static const int bad_fd[] = {-1, -100, (int)0x80000000, 1 << 20, 0x7fffffff};
	for (int i = 0; i < N(bad_fd); i++) {
		fx_init(f, 1);
		f->fd[3].fd = bad_fd[i];
		ck_assert_msg(check_fds(f, err) != 0, "accepted fd %d", bad_fd[i]);
	}
	fx_init(f, 1);
	f->fd[4].fd = (1 << 20) - 1;
	ck_assert_int_eq(check_fds(f, err), 0);

	static const int bad_kind[] = {0, 1000, 99, -1};
	for (int i = 0; i < N(bad_kind); i++) {
		fx_init(f, 1);
		f->fd[3].kind = (Sc__FdKind)bad_kind[i];
		ck_assert_msg(check_fds(f, err) != 0, "accepted fd kind %d", bad_kind[i]);
		ck_err_has(err, "kind");
	}

	/* Everything but an inherited fd is reopened by path. */
	static const Sc__FdKind pathful[] = {SC__FD_KIND__REG, SC__FD_KIND__DIR,
					     SC__FD_KIND__CHR};
	for (int i = 0; i < N(pathful); i++) {
		fx_init(f, 1);
		f->fd[3].kind = pathful[i];
		f->fd[3].path = NULL;
		ck_assert_int_ne(check_fds(f, err), 0);
		ck_err_has(err, "path");
		f->fd[3].path = "";
		ck_assert_int_ne(check_fds(f, err), 0);
		f->fd[3].path = "data";
		ck_assert_int_ne(check_fds(f, err), 0);
	}
	fx_init(f, 1);
	f->fd[0].path = "/dev/pts/0";
	ck_assert_int_eq(check_fds(f, err), 0);

	/* A regular file: crload compares its device and inode (both or
	 * neither) and cuts it back to its size, an off_t like its offset. */
	fx_init(f, 1);
	f->fd[3].has_dev = f->fd[3].has_ino = true;
	f->fd[3].has_size = f->fd[3].has_pos = true;
	f->fd[3].size = f->fd[3].pos = INT64_MAX;
	ck_assert_msg(check_fds(f, err) == 0, "%s", err);
	f->fd[3].has_dev = false;
	ck_assert_int_ne(check_fds(f, err), 0);
	ck_err_has(err, "identity");
	f->fd[3].has_dev = true;
	f->fd[3].size = (uint64_t)INT64_MAX + 1;
	ck_assert_int_ne(check_fds(f, err), 0);
	f->fd[3].size = 0;
	f->fd[3].pos = UINT64_MAX;
	ck_assert_int_ne(check_fds(f, err), 0);

	/* Pipes: an end needs its pipe record; data must fit the pipe. */
	fx_init(f, 1);
	Sc__Pipe pipe = SC__PIPE__INIT, *pipes[1] = { &pipe };
	f->fd[3].kind = SC__FD_KIND__PIPE;
	f->fd[3].has_pipe_id = true;
	f->fd[3].pipe_id = 42;
	ck_assert_int_ne(check_fds(f, err), 0);
	ck_err_has(err, "pipe");
	pipe.id = 42;
	pipe.size = 65536;
	f->fds.n_pipes = 1;
	f->fds.pipes = pipes;
	ck_assert_msg(check_fds(f, err) == 0, "%s", err);
	pipe.has_data = true;
	pipe.data.len = 65537;
	ck_assert_int_ne(check_fds(f, err), 0);
	pipe.data.len = 10;
	pipe.size = 100;
	ck_assert_int_ne(check_fds(f, err), 0);
	f->fds.n_pipes = 0;
	f->fds.pipes = NULL;

	/* A dup must name a lower, non-dup descriptor listed before it. */
	fx_init(f, 1);
	f->fd[4].has_dup_of = true;
	f->fd[4].dup_of = f->fd[3].fd;
	ck_assert_msg(check_fds(f, err) == 0, "%s", err);
	f->fd[3].has_dup_of = true;
	f->fd[3].dup_of = f->fd[4].fd;
	ck_assert_int_ne(check_fds(f, err), 0);
	ck_err_has(err, "dup");
	f->fd[3].has_dup_of = false;
	f->fd[4].dup_of = 999;
	ck_assert_int_ne(check_fds(f, err), 0);
	f->fd[4].dup_of = f->fd[4].fd;
	ck_assert_int_ne(check_fds(f, err), 0);
	free(f);
}
END_TEST

/* pidfd: the pid of a process to open one of again. */
START_TEST(fds_pidfd_checks)
{
	struct fx *f = fx_new(1);
	char err[SC_ERR_LEN];
	static const int bad_pid[] = { 0, -1, (int)0x80000000 };

	f->fd[3].kind = SC__FD_KIND__PIDFD;
	ck_assert_int_ne(check_fds(f, err), 0);
	ck_err_has(err, "pidfd without its process");
	f->fd[3].has_target_pid = true;
	f->fd[3].target_pid = 1234;
	ck_assert_msg(check_fds(f, err) == 0, "%s", err);
	for (int i = 0; i < N(bad_pid); i++) {
		f->fd[3].target_pid = bad_pid[i];
		ck_assert_msg(check_fds(f, err) != 0, "accepted pid %d", bad_pid[i]);
	}
	free(f);
}
END_TEST

/* netlink: a family and type a socket can have, groups ascending. */
START_TEST(fds_netlink_checks)
{
	struct fx *f = fx_new(1);
	char err[SC_ERR_LEN];
	Sc__NetlinkSocket n = SC__NETLINK_SOCKET__INIT;
	uint32_t groups[] = { 1, 5, 9 };

	f->fd[3].kind = SC__FD_KIND__NETLINK;
	ck_assert_int_ne(check_fds(f, err), 0);
	ck_err_has(err, "netlink socket without");
	f->fd[3].netlink = &n;
	f->fd[3].has_sock_type = true;
	f->fd[3].sock_type = SOCK_RAW;
	n.groups = groups;
	n.n_groups = N(groups);
	ck_assert_msg(check_fds(f, err) == 0, "%s", err);
	n.protocol = 32;
	ck_assert_int_ne(check_fds(f, err), 0);
	n.protocol = 0;
	f->fd[3].sock_type = SOCK_STREAM;
	ck_assert_int_ne(check_fds(f, err), 0);
	f->fd[3].sock_type = SOCK_DGRAM;
	n.has_peer_portid = true;
	ck_assert_int_ne(check_fds(f, err), 0);
	n.has_peer_groups = true;
	ck_assert_msg(check_fds(f, err) == 0, "%s", err);
	groups[1] = 1;
	ck_assert_int_ne(check_fds(f, err), 0);
	ck_err_has(err, "netlink group 1");
	groups[1] = 0;
	ck_assert_int_ne(check_fds(f, err), 0);
	groups[1] = 5;
	groups[2] = 1025;
	ck_assert_int_ne(check_fds(f, err), 0);
	free(f);
}
END_TEST

/* inotify: watches by ascending wd, on absolute paths, with real masks. */
START_TEST(fds_inotify_checks)
{
	struct fx *f = fx_new(1);
	char err[SC_ERR_LEN];
	Sc__InotifyWatch w1 = SC__INOTIFY_WATCH__INIT, w2 = SC__INOTIFY_WATCH__INIT;
	Sc__InotifyWatch *ws[] = { &w1, &w2 };
	static const uint32_t bad_mask[] = { 0, IN_ONESHOT, IN_MODIFY | IN_ISDIR,
					     IN_MODIFY | IN_DONT_FOLLOW, IN_IGNORED };

	f->fd[3].kind = SC__FD_KIND__INOTIFY;
	f->fd[3].n_watches = 2;
	f->fd[3].watches = ws;
	w1.wd = 2;
	w1.mask = IN_MODIFY;
	w1.path = "/a";
	w2.wd = 5;
	w2.mask = IN_CREATE | IN_ONESHOT | IN_EXCL_UNLINK;
	w2.path = "/b";
	ck_assert_msg(check_fds(f, err) == 0, "%s", err);
	w2.wd = 2;
	ck_assert_int_ne(check_fds(f, err), 0);
	ck_err_has(err, "inotify");
	w2.wd = 1;
	ck_assert_int_ne(check_fds(f, err), 0);
	w2.wd = 5;
	w1.wd = 0;
	ck_assert_int_ne(check_fds(f, err), 0);
	w1.wd = -3;
	ck_assert_int_ne(check_fds(f, err), 0);
	w1.wd = 2;
	w2.path = "b";
	ck_assert_int_ne(check_fds(f, err), 0);
	w2.path = NULL;
	ck_assert_int_ne(check_fds(f, err), 0);
	w2.path = "/b";
	for (int i = 0; i < N(bad_mask); i++) {
		w2.mask = bad_mask[i];
		ck_assert_msg(check_fds(f, err) != 0, "accepted mask %#x", bad_mask[i]);
	}
	free(f);
}
END_TEST

/* Ptys: a slave needs its master; the master, one per pair, whole settings. */
START_TEST(fds_pty_checks)
{
	struct fx *f = fx_new(1);
	char err[SC_ERR_LEN];
	uint8_t cc[19] = { 0 };
	Sc__Termios tios = SC__TERMIOS__INIT;
	Sc__Pty pty = SC__PTY__INIT;

	tios.cc.len = sizeof(cc);
	tios.cc.data = cc;
	pty.termios = &tios;
	pty.rows = 24;
	pty.cols = 80;
	f->fd[3].kind = SC__FD_KIND__PTY_MASTER;
	f->fd[3].has_pty_id = true;
	f->fd[3].pty_id = 7;
	f->fd[3].pty = &pty;
	f->fd[4].kind = SC__FD_KIND__PTY_SLAVE;
	f->fd[4].has_pty_id = true;
	f->fd[4].pty_id = 7;
	ck_assert_msg(check_fds(f, err) == 0, "%s", err);
	f->fd[4].pty_id = 8;
	ck_assert_int_ne(check_fds(f, err), 0);
	ck_err_has(err, "master");
	f->fd[4].pty_id = 7;
	f->fd[4].has_pty_id = false;
	ck_assert_int_ne(check_fds(f, err), 0);
	f->fd[4].has_pty_id = true;
	/* A second master of the same pair, unless it is a dup. */
	f->fd[4].kind = SC__FD_KIND__PTY_MASTER;
	f->fd[4].pty = &pty;
	ck_assert_int_ne(check_fds(f, err), 0);
	f->fd[4].has_dup_of = true;
	f->fd[4].dup_of = f->fd[3].fd;
	ck_assert_msg(check_fds(f, err) == 0, "%s", err);
	f->fd[4].kind = SC__FD_KIND__PTY_SLAVE;
	tios.cc.len = 18;
	ck_assert_int_ne(check_fds(f, err), 0);
	ck_err_has(err, "pty");
	tios.cc.len = sizeof(cc);
	pty.cols = 70000;
	ck_assert_int_ne(check_fds(f, err), 0);
	pty.cols = 80;
	pty.has_to_master = true;
	pty.to_master.len = 70000;
	ck_assert_int_ne(check_fds(f, err), 0);
	pty.has_to_master = false;
	f->fd[3].pty = NULL;
	ck_assert_int_ne(check_fds(f, err), 0);
	free(f);
}
END_TEST

/* An INET descriptor: a TCP connection 127.0.0.1:1000 -> 127.0.0.1:2000. */
START_TEST(fds_inet_checks)
{
	struct fx *f = fx_new(1);
	char err[SC_ERR_LEN];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(1000),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in b = a;
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons(1) };
	Sc__InetSocket in = SC__INET_SOCKET__INIT;
	Sc__TcpConnection t = SC__TCP_CONNECTION__INIT;

	b.sin_port = htons(2000);
	f->fd[3].kind = SC__FD_KIND__INET;
	ck_assert_int_ne(check_fds(f, err), 0); /* no inet fields */
	ck_err_has(err, "without its fields");
	f->fd[3].inet = &in;
	in.family = AF_INET;
	in.type = SOCK_STREAM;
	ck_assert_msg(check_fds(f, err) == 0, "%s", err); /* unbound TCP */
	in.has_local = true;
	in.local = (ProtobufCBinaryData){ sizeof(a), (uint8_t *)&a };
	in.has_backlog = true;
	in.backlog = 128;
	ck_assert_msg(check_fds(f, err) == 0, "%s", err); /* listening */
	in.family = AF_INET6; /* address of another family */
	ck_assert_int_ne(check_fds(f, err), 0);
	in.local = (ProtobufCBinaryData){ sizeof(a6), (uint8_t *)&a6 };
	ck_assert_msg(check_fds(f, err) == 0, "%s", err);
	in.local.len = sizeof(a6) - 1;
	ck_assert_int_ne(check_fds(f, err), 0);
	ck_err_has(err, "address");
	in.family = 99;
	ck_assert_int_ne(check_fds(f, err), 0);

	in.family = AF_INET;
	in.type = SOCK_DGRAM; /* a listening UDP socket */
	in.local = (ProtobufCBinaryData){ sizeof(a), (uint8_t *)&a };
	ck_assert_int_ne(check_fds(f, err), 0);
	in.has_backlog = false;
	ck_assert_msg(check_fds(f, err) == 0, "%s", err);
	in.has_nodelay = true; /* a TCP option on UDP */
	ck_assert_int_ne(check_fds(f, err), 0);
	in.has_nodelay = false;
	in.has_v6only = true;
	ck_assert_int_ne(check_fds(f, err), 0);
	in.has_v6only = false;
	in.has_rcvbuf = true;
	in.rcvbuf = 0x80000000u;
	ck_assert_int_ne(check_fds(f, err), 0);
	in.has_rcvbuf = false;
	in.has_keepidle = true; /* TCP keepalive on UDP */
	in.keepidle = 60;
	ck_assert_int_ne(check_fds(f, err), 0);
	in.has_keepidle = false;

	/* An established connection needs both addresses and sane options. */
	in.type = SOCK_STREAM;
	in.tcp = &t;
	t.mss = 65483;
	ck_assert_int_ne(check_fds(f, err), 0);
	ck_err_has(err, "both addresses");
	in.has_peer = true;
	in.peer = (ProtobufCBinaryData){ sizeof(b), (uint8_t *)&b };
	ck_assert_msg(check_fds(f, err) == 0, "%s", err);
	t.mss = 0;
	ck_assert_int_ne(check_fds(f, err), 0);
	t.mss = 1460;
	t.has_snd_wscale = true; /* one side only */
	ck_assert_int_ne(check_fds(f, err), 0);
	t.has_rcv_wscale = true;
	t.snd_wscale = 15;
	ck_assert_int_ne(check_fds(f, err), 0);
	t.snd_wscale = 7;
	ck_assert_msg(check_fds(f, err) == 0, "%s", err);
	t.has_recv_queue = true;
	t.recv_queue.len = (size_t)SC_TCP_QUEUE_MAX + 1;
	ck_assert_int_ne(check_fds(f, err), 0);
	ck_err_has(err, "queues");
	t.recv_queue.len = 0;
	in.has_keepcnt = true;
	in.keepcnt = 128;
	ck_assert_int_ne(check_fds(f, err), 0);
	in.keepcnt = 9;
	in.has_linger = true;
	in.linger = 5;
	ck_assert_msg(check_fds(f, err) == 0, "%s", err);
	in.has_backlog = true; /* listening and connected */
	ck_assert_int_ne(check_fds(f, err), 0);
	free(f);
}
END_TEST

/* Unix sockets: states, names, and the sockets a connection needs. */
START_TEST(fds_unix_checks)
{
	struct fx *f = fx_new(1);
	char err[SC_ERR_LEN];
	Sc__UnixSocket u3 = SC__UNIX_SOCKET__INIT, u4 = SC__UNIX_SOCKET__INIT;
	uint8_t path[] = "srv.sock", abstract[] = "\0srv", nul_in_path[] = "a\0b";
	uint64_t pending[1] = { 20 };

	/* Retired UNIX_PAIR. */
	f->fd[3].kind = (Sc__FdKind)12;
	ck_assert_int_ne(check_fds(f, err), 0);
	ck_err_has(err, "kind");

	/* fd 3 listens on srv.sock; fd 7 (f->fd[4]) is a client of it. */
	fx_init(f, 1);
	for (int i = 3; i < 5; i++) {
		f->fd[i].kind = SC__FD_KIND__UNIX;
		f->fd[i].path = NULL;
		f->fd[i].has_sock_type = f->fd[i].has_sock_ino = f->fd[i].has_peer_ino = true;
		f->fd[i].sock_type = SOCK_STREAM;
		f->fd[i].sock_ino = (uint64_t)i * 5;
	}
	ck_assert_int_ne(check_fds(f, err), 0); /* no UnixSocket */
	f->fd[3].unix_sock = &u3;
	f->fd[4].unix_sock = &u4;
	u3.state = SC__UNIX_SOCKET__STATE__LISTEN;
	u3.has_name = true;
	u3.name = (ProtobufCBinaryData){ sizeof(path) - 1, path };
	ck_assert_int_ne(check_fds(f, err), 0); /* no backlog */
	ck_err_has(err, "backlog");
	u3.has_backlog = true;
	u3.backlog = 5;
	u4.state = SC__UNIX_SOCKET__STATE__CONNECTED;
	u4.has_peer_name = true;
	u4.peer_name = u3.name;
	ck_assert_msg(check_fds(f, err) == 0, "%s", err);
	u3.n_pending = 1;
	u3.pending = pending;
	ck_assert_msg(check_fds(f, err) == 0, "%s", err);
	pending[0] = 15; /* itself */
	ck_assert_int_ne(check_fds(f, err), 0);
	/* A client of another process: the image's tree check finds it. */
	pending[0] = 77;
	ck_assert_msg(check_fds(f, err) == 0, "%s", err);
	u3.n_pending = 0;

	/* Names: an abstract one, not a path with a NUL or an empty one. */
	u3.name = (ProtobufCBinaryData){ sizeof(abstract) - 1, abstract };
	ck_assert_msg(check_fds(f, err) == 0, "%s", err);
	u3.name = (ProtobufCBinaryData){ sizeof(nul_in_path) - 1, nul_in_path };
	ck_assert_int_ne(check_fds(f, err), 0);
	u3.name = (ProtobufCBinaryData){ 0, path };
	ck_assert_int_ne(check_fds(f, err), 0);
	u3.name = (ProtobufCBinaryData){ 109, path };
	ck_assert_int_ne(check_fds(f, err), 0);
	u3.name = (ProtobufCBinaryData){ sizeof(path) - 1, path };
	/* One sender per queued message, for datagrams only. */
	ProtobufCBinaryData senders[2] = { { 0, path }, { sizeof(path) - 1, path } }, queue[2];
	u4.senders = senders;
	u4.n_senders = 2;
	f->fd[4].queue = queue;
	f->fd[4].n_queue = 2;
	ck_assert_int_ne(check_fds(f, err), 0); /* a stream socket */
	ck_err_has(err, "senders");
	f->fd[4].sock_type = SOCK_DGRAM;
	u4.state = SC__UNIX_SOCKET__STATE__UNCONNECTED;
	ck_assert_msg(check_fds(f, err) == 0, "%s", err);
	f->fd[4].n_queue = 1;
	ck_assert_int_ne(check_fds(f, err), 0);
	f->fd[4].n_queue = 2;
	senders[1].len = 200;
	ck_assert_int_ne(check_fds(f, err), 0);
	u4.n_senders = 0;
	f->fd[4].n_queue = 0;
	f->fd[4].sock_type = SOCK_STREAM;
	u3.state = (Sc__UnixSocket__State)7;
	ck_assert_int_ne(check_fds(f, err), 0);
	ck_err_has(err, "state");

	/* A connection within the process: the peer must be there. */
	u3 = (Sc__UnixSocket)SC__UNIX_SOCKET__INIT;
	u3.state = SC__UNIX_SOCKET__STATE__CONNECTED;
	u4 = u3;
	f->fd[3].peer_ino = 99;
	ck_assert_int_ne(check_fds(f, err), 0);
	ck_err_has(err, "peer");
	f->fd[3].peer_ino = 20;
	f->fd[4].peer_ino = 15;
	ck_assert_msg(check_fds(f, err) == 0, "%s", err); /* a socketpair */
	f->fd[4].sock_ino = 15;
	ck_assert_int_ne(check_fds(f, err), 0);
	ck_err_has(err, "twice");
	f->fd[4].sock_ino = 20;
	f->fd[4].sock_type = SOCK_DGRAM;
	ck_assert_int_ne(check_fds(f, err), 0);
	f->fd[4].sock_type = SOCK_STREAM;
	u3.has_accepted = u3.accepted = true; /* but unnamed, and so is its client */
	ck_assert_int_ne(check_fds(f, err), 0);
	u3.has_accepted = u3.accepted = false;
	/* Half of a socketpair whose other half is another process's: not
	 * here, and neither half named. */
	f->fd[3].has_peer_in_tree = f->fd[3].peer_in_tree = true;
	ck_assert_int_ne(check_fds(f, err), 0);
	ck_err_has(err, "socketpair");
	f->fd[3].peer_ino = 99;
	f->fd[4].peer_ino = 0;
	u4.state = SC__UNIX_SOCKET__STATE__UNCONNECTED;
	ck_assert_msg(check_fds(f, err) == 0, "%s", err);
	/* A named one is an end of a connection through a listener, which
	 * the image's tree check looks for elsewhere; not for a datagram. */
	u3.has_name = true;
	u3.name = (ProtobufCBinaryData){ sizeof(abstract) - 1, abstract };
	ck_assert_msg(check_fds(f, err) == 0, "%s", err);
	f->fd[3].sock_type = SOCK_DGRAM;
	ck_assert_int_ne(check_fds(f, err), 0);
	ck_err_has(err, "between processes");
	f->fd[3].sock_type = SOCK_STREAM;
	/* Its peer is here after all: not between processes. */
	f->fd[3].peer_ino = 20;
	ck_assert_int_ne(check_fds(f, err), 0);
	free(f);
}
END_TEST

/* ---- shell jobs: inventory and core fields ----------------------------- */

START_TEST(inventory_shell_job_checks)
{
	struct fx *f = fx_new(100);
	char err[SC_ERR_LEN];

	/* A job of a shell (session 90, outside the image), in the foreground. */
	f->pe[0].pgid = 100;
	f->pe[0].sid = 90;
	f->inv.has_shell_job = f->inv.has_job_pgid = f->inv.has_job_foreground = 1;
	f->inv.shell_job = f->inv.job_foreground = 1;
	f->inv.job_pgid = 100;
	ck_assert_msg(sc_check_inventory(&f->inv, err) == 0, "%s", err);
	/* Restored in a pid namespace, the session leader is invisible: 0. */
	f->pe[0].sid = 0;
	ck_assert_msg(sc_check_inventory(&f->inv, err) == 0, "%s", err);
	/* Its session leader is in the image: not a shell job. */
	f->pe[0].sid = 100;
	ck_assert_int_ne(sc_check_inventory(&f->inv, err), 0);
	ck_err_has(err, "session leader 100");
	/* The job's group is none of the image's. */
	f->pe[0].sid = 90;
	f->inv.job_pgid = 101;
	ck_assert_int_ne(sc_check_inventory(&f->inv, err), 0);
	ck_err_has(err, "process group");
	f->inv.job_pgid = 0;
	f->pe[0].pgid = 0;
	ck_assert_int_ne(sc_check_inventory(&f->inv, err), 0);
	f->inv.has_job_pgid = 0;
	ck_assert_int_ne(sc_check_inventory(&f->inv, err), 0);
	/* A pipeline: the other commands are the root's siblings in its
	 * group, their parent (the shell, 80) outside the image. */
	f->inv.has_job_pgid = 1;
	f->inv.job_pgid = f->pe[0].pgid = 100;
	f->pe[0].ppid = 80;
	for (int i = 1; i < 3; i++) {
		sc__proc_entry__init(&f->pe[i]);
		f->pe[i].pid = 100 + i;
		f->pe[i].ppid = 80;
		f->pe[i].pgid = 100;
		f->pe[i].sid = 90;
		f->pep[i] = &f->pe[i];
	}
	f->inv.n_procs = 3;
	ck_assert_msg(sc_check_inventory(&f->inv, err) == 0, "%s", err);
	ck_assert(sc_top_level(&f->inv, 2));
	/* A sibling in another group, a zombie one, a root that does not
	 * lead its group: their parent is missing. */
	f->pe[2].pgid = 102;
	ck_assert_int_ne(sc_check_inventory(&f->inv, err), 0);
	ck_err_has(err, "parent 80 of process 102");
	f->pe[2].pgid = 100;
	f->pe[2].has_zombie = f->pe[2].zombie = f->pe[2].has_exit_status = 1;
	ck_assert_int_ne(sc_check_inventory(&f->inv, err), 0);
	f->pe[2].has_zombie = f->pe[2].zombie = f->pe[2].has_exit_status = 0;
	f->pe[0].pgid = f->pe[1].pgid = f->pe[2].pgid = f->inv.job_pgid = 101;
	ck_assert_int_ne(sc_check_inventory(&f->inv, err), 0);
	ck_err_has(err, "parent 80 of process 101");
	/* Job fields without a shell job. */
	fx_init(f, 100);
	f->inv.has_job_foreground = f->inv.job_foreground = 1;
	ck_assert_int_ne(sc_check_inventory(&f->inv, err), 0);
	ck_err_has(err, "not a shell job");
	fx_init(f, 100);
	f->inv.has_job_pgid = 1;
	f->inv.job_pgid = 100;
	ck_assert_int_ne(sc_check_inventory(&f->inv, err), 0);
	free(f);
}
END_TEST

START_TEST(core_terminal_checks)
{
	struct fx *f = fx_new(4000);
	char err[SC_ERR_LEN];
	static const int good[] = { -1, 0, 4000, (1 << 22) - 1 };
	static const int bad[] = { -2, 1 << 22, 0x7fffffff, (int)0x80000000 };

	f->core.has_tty_nr = f->core.has_tpgid = 1;
	f->core.tty_nr = 0x8803; /* /dev/pts/3 */
	for (int i = 0; i < N(good); i++) {
		f->core.tpgid = good[i];
		ck_assert_msg(sc_check_core(&f->core, 4000, err) == 0, "tpgid %d: %s", good[i], err);
	}
	for (int i = 0; i < N(bad); i++) {
		f->core.tpgid = bad[i];
		ck_assert_msg(sc_check_core(&f->core, 4000, err) != 0, "accepted tpgid %d", bad[i]);
	}
	free(f);
}
END_TEST

/* The AMX permission the process had: tile data (bit 18) or nothing. */
START_TEST(core_xcomp_perm_checks)
{
	struct fx *f = fx_new(4000);
	char err[SC_ERR_LEN];
	static const uint64_t good[] = { 0, 1ULL << 18 };
	static const uint64_t bad[] = { 1ULL << 17, 0x602e7, 1ULL << 19, 1ULL << 63 };

	f->core.has_xcomp_perm = 1;
	for (int i = 0; i < N(good); i++) {
		f->core.xcomp_perm = good[i];
		ck_assert_msg(sc_check_core(&f->core, 4000, err) == 0, "xcomp_perm %#llx: %s",
			      (unsigned long long)good[i], err);
	}
	for (int i = 0; i < N(bad); i++) {
		f->core.xcomp_perm = bad[i];
		ck_assert_msg(sc_check_core(&f->core, 4000, err) != 0, "accepted xcomp_perm %#llx",
			      (unsigned long long)bad[i]);
		ck_err_has(err, "xcomp_perm");
	}
	free(f);
}
END_TEST

/* Credentials the kernel could have given, or a clear refusal. */
START_TEST(core_creds_checks)
{
	struct fx *f = fx_new(4000);
	Sc__Creds cr = SC__CREDS__INIT;
	char err[SC_ERR_LEN];

	cr.ruid = cr.euid = cr.suid = cr.fsuid = 1000;
	cr.rgid = cr.egid = cr.sgid = cr.fsgid = 1000;
	cr.cap_permitted = cr.cap_inheritable = cr.cap_effective = cr.cap_ambient = 1 << 13;
	cr.dumpable = SC_SUID_DUMP_ROOT;
	f->core.creds = &cr;
	ck_assert_msg(sc_check_core(&f->core, 4000, err) == 0, "%s", err);
	cr.ruid = 0;
	ck_assert_int_ne(sc_check_core(&f->core, 4000, err), 0);
	cr.ruid = 1000;
	cr.cap_effective = 1 << 21;
	ck_assert_int_ne(sc_check_core(&f->core, 4000, err), 0);
	cr.cap_effective = 0;
	cr.cap_inheritable = 0;
	ck_assert_int_ne(sc_check_core(&f->core, 4000, err), 0);
	cr.cap_inheritable = 1 << 13;
	cr.securebits = 1 << 20;
	ck_assert_int_ne(sc_check_core(&f->core, 4000, err), 0);
	cr.securebits = 0;
	cr.dumpable = 3;
	ck_assert_int_ne(sc_check_core(&f->core, 4000, err), 0);
	cr.dumpable = 0;
	cr.n_groups = SC_MAX_GROUPS + 1;
	ck_assert_int_ne(sc_check_core(&f->core, 4000, err), 0);
	free(f);
}
END_TEST

START_TEST(core_posix_timer_checks)
{
	struct fx *f = fx_new(4000);
	char err[SC_ERR_LEN];
	Sc__PosixTimer t = SC__POSIX_TIMER__INIT, u = SC__POSIX_TIMER__INIT;
	Sc__PosixTimer *list[] = { &t, &u };
	struct {
		int clock;
		uint32_t notify, signo;
		bool has_tid;
		int tid;
		uint64_t value_ns;
		bool ok;
	} cases[] = {
		{ 1, 0, 35, false, 0, 1000, true },	   /* MONOTONIC, to the process */
		{ -6, 1, 0, false, 0, 0, true },	   /* own CPU clock, SIGEV_NONE */
		{ 0, 4, 36, true, 4000, 5, true },	   /* to the main thread */
		{ 11, 2, 10, false, 0, 0, true },	   /* TAI, SIGEV_THREAD */
		{ 3, 0, 35, false, 0, 0, false },	   /* a thread's CPU clock */
		{ -14, 0, 35, false, 0, 0, false },	   /* another process's */
		{ 1, 4, 36, true, 4321, 0, false },	   /* not one of its threads */
		{ 1, 4, 36, false, 0, 0, false },	   /* SIGEV_THREAD_ID without one */
		{ 1, 0, 36, true, 4000, 0, false },	   /* a thread without SIGEV_THREAD_ID */
		{ 1, 5, 36, true, 4000, 0, false },	   /* NONE | THREAD_ID */
		{ 1, 0, 0, false, 0, 0, false },	   /* no signal */
		{ 1, 0, 9, false, 0, 0, false },	   /* SIGKILL */
		{ 1, 0, 65, false, 0, 0, false },
		{ 1, 0, 35, false, 0, SC_TIMER_MAX_NS + 1, false },
	};

	f->core.posix_timers = list;
	f->core.n_posix_timers = 1;
	for (int i = 0; i < N(cases); i++) {
		t.id = 2;
		t.clock = cases[i].clock;
		t.notify = cases[i].notify;
		t.signo = cases[i].signo;
		t.has_tid = cases[i].has_tid;
		t.tid = cases[i].tid;
		t.value_ns = cases[i].value_ns;
		ck_assert_msg((sc_check_core(&f->core, 4000, err) == 0) == cases[i].ok,
			      "case %d: %s", i, cases[i].ok ? err : "accepted");
	}
	t = (Sc__PosixTimer)SC__POSIX_TIMER__INIT;
	t.signo = u.signo = 14;
	t.clock = u.clock = 1;
	f->core.n_posix_timers = 2;
	u.id = 1;
	ck_assert_msg(sc_check_core(&f->core, 4000, err) == 0, "%s", err);
	u.id = 0;
	ck_assert_msg(sc_check_core(&f->core, 4000, err) != 0, "accepted an id twice");
	t.id = -1;
	ck_assert_msg(sc_check_core(&f->core, 4000, err) != 0, "accepted id -1");
	f->core.n_posix_timers = 0;
	free(f);
}
END_TEST

/* ---- sc_check_inventory ------------------------------------------------ */

static int check_inv(struct fx *f, char *err)
{
	return CHECKED(sc_check_inventory(&f->inv, err), err);
}

/* An incremental image's parent comes with its inventory checksum. */
START_TEST(inventory_parent_checks)
{
	struct fx *f = fx_new(100);
	char err[SC_ERR_LEN];

	f->inv.parent = "../ckpt-1";
	f->inv.has_parent_inventory_xxh3 = 1;
	f->inv.parent_inventory_xxh3 = 0x1234;
	ck_assert_msg(check_inv(f, err) == 0, "%s", err);
	f->inv.has_parent_inventory_xxh3 = 0;
	ck_assert_int_ne(check_inv(f, err), 0);
	ck_err_has(err, "parent \"../ckpt-1\" without its inventory checksum");
	f->inv.has_parent_inventory_xxh3 = 1;
	f->inv.parent = "";
	ck_assert_int_ne(check_inv(f, err), 0);
	f->inv.parent = NULL;
	ck_assert_int_ne(check_inv(f, err), 0);
	ck_err_has(err, "checksum without a parent");
	free(f);
}
END_TEST

START_TEST(inventory_checks)
{
	struct fx *f = fx_new(100);
	char err[SC_ERR_LEN];

	fx_add_file(f, "core-100.img", 10, 1);
	ck_assert_msg(check_inv(f, err) == 0, "%s", err);
	f->inv.writer = SC_WRITER_CRDUMP;
	ck_assert_msg(check_inv(f, err) == 0, "%s", err);
	/* A tree of processes, ppid 0 and a hidden parent are fine. */
	for (int i = 1; i < 4; i++) {
		sc__proc_entry__init(&f->pe[i]);
		f->pe[i].pid = 100 + i;
		f->pe[i].ppid = 100;
		f->pe[i].pgid = 100;
		f->pe[i].sid = 100;
		f->pep[i] = &f->pe[i];
	}
	f->pe[0].ppid = 0;
	f->inv.n_procs = 4;
	ck_assert_msg(check_inv(f, err) == 0, "%s", err);
	/* A grandchild after its parent; a zombie with its wait status. */
	f->pe[3].ppid = 102;
	f->pe[3].has_zombie = f->pe[3].zombie = 1;
	f->pe[3].has_exit_status = 1;
	f->pe[3].exit_status = 7 << 8;
	ck_assert_msg(check_inv(f, err) == 0, "%s", err);
	/* A zombie without a status, a live process with one, a zombie
	 * parent, a parent listed after its child or not at all. */
	f->pe[3].has_exit_status = 0;
	ck_assert_int_ne(check_inv(f, err), 0);
	ck_err_has(err, "zombie 103");
	f->pe[3].has_exit_status = 1;
	f->pe[2].has_exit_status = 1;
	ck_assert_int_ne(check_inv(f, err), 0);
	ck_err_has(err, "alive");
	f->pe[2].has_exit_status = 0;
	f->pe[2].zombie = 1;
	f->pe[2].has_exit_status = 1;
	ck_assert_int_ne(check_inv(f, err), 0);
	ck_err_has(err, "parent 102");
	f->pe[2].zombie = 0;
	f->pe[2].has_exit_status = 0;
	f->pe[1].ppid = 102;
	ck_assert_int_ne(check_inv(f, err), 0);
	ck_err_has(err, "parent 102 of process 101");
	f->pe[1].ppid = 99;
	ck_assert_int_ne(check_inv(f, err), 0);
	f->pe[1].ppid = 100;
	/* A description shared with a process listed before, or not. */
	Sc__SharedDesc sd = SC__SHARED_DESC__INIT, *sdp = &sd;
	sd.fd = 4;
	sd.same_pid = 100;
	sd.same_fd = 3;
	f->pe[2].n_shared = 1;
	f->pe[2].shared = &sdp;
	ck_assert_msg(check_inv(f, err) == 0, "%s", err);
	sd.same_pid = 103;
	ck_assert_int_ne(check_inv(f, err), 0);
	ck_err_has(err, "shares fd 4");
	sd.same_pid = 100;
	sd.same_fd = -1;
	ck_assert_int_ne(check_inv(f, err), 0);
	f->pe[2].n_shared = 0;

	fx_init(f, 100);
	f->inv.version = SC_IMAGE_VERSION + 1;
	ck_assert_int_ne(check_inv(f, err), 0);
	ck_err_has(err, "version");
	fx_init(f, 100);
	f->inv.version = 0;
	ck_assert_int_ne(check_inv(f, err), 0);

	static const char *const bad_writers[] = {"", "criu", "Runtime", "runtime ", "crdump2"};
	for (int i = 0; i < N(bad_writers); i++) {
		fx_init(f, 100);
		f->inv.writer = (char *)bad_writers[i];
		ck_assert_msg(check_inv(f, err) != 0, "accepted writer \"%s\"", bad_writers[i]);
	}

	/* Where and how it was taken: bounded as uname gives them. */
	char long_name[66];
	memset(long_name, 'k', 65);
	long_name[65] = '\0';
	fx_init(f, 100);
	f->inv.kernel = "6.18.44";
	f->inv.hostname = "node1";
	f->inv.has_trigger_signal = f->inv.has_interval_sec = 1;
	f->inv.trigger_signal = 12;
	f->inv.interval_sec = 600;
	ck_assert_msg(check_inv(f, err) == 0, "%s", err);
	f->inv.kernel = long_name;
	ck_assert_int_ne(check_inv(f, err), 0);
	f->inv.kernel = NULL;
	f->inv.hostname = long_name;
	ck_assert_int_ne(check_inv(f, err), 0);
	f->inv.hostname = NULL;
	f->inv.trigger_signal = 0;
	ck_assert_int_ne(check_inv(f, err), 0);
	ck_err_has(err, "trigger signal");
	f->inv.trigger_signal = 65;
	ck_assert_int_ne(check_inv(f, err), 0);

	fx_init(f, 100);
	f->inv.n_procs = 0;
	ck_assert_int_ne(check_inv(f, err), 0);

	static const int bad_pids[] = {0, -1, 1 << 22, (1 << 22) + 1, 0x7fffffff, (int)0x80000000};
	for (int i = 0; i < N(bad_pids); i++) {
		fx_init(f, 100);
		f->pe[0].pid = bad_pids[i];
		ck_assert_msg(check_inv(f, err) != 0, "accepted pid %d", bad_pids[i]);
	}
	fx_init(f, 100);
	f->pe[0].ppid = -1;
	ck_assert_int_ne(check_inv(f, err), 0);
	fx_init(f, 100);
	f->pe[0].pgid = -1;
	ck_assert_int_ne(check_inv(f, err), 0);
	fx_init(f, 100);
	f->pe[0].sid = -1;
	ck_assert_int_ne(check_inv(f, err), 0);

	fx_init(f, 100);
	f->pep[1] = &f->pe[0]; /* listed twice */
	f->inv.n_procs = 2;
	ck_assert_int_ne(check_inv(f, err), 0);
	ck_err_has(err, "twice");

	/* File names are plain names inside the image directory. */
	static const char *const bad_names[] = {"", ".", "..", "../etc/passwd", "/etc/passwd",
						"a/b", "core-100.img/"};
	for (int i = 0; i < N(bad_names); i++) {
		fx_init(f, 100);
		fx_add_file(f, "core-100.img", 10, 1);
		fx_add_file(f, bad_names[i], 10, 1);
		ck_assert_msg(check_inv(f, err) != 0, "accepted file name \"%s\"", bad_names[i]);
	}
	free(f);
}
END_TEST

/* The CPU the image was written on (doc/cpu-check.md): strings as CPUID
 * gives them, family, model and stepping in their ranges, XCR0 with x87. */
START_TEST(inventory_cpu_checks)
{
	struct fx *f = fx_new(100);
	Sc__Cpu cpu = SC__CPU__INIT;
	char err[SC_ERR_LEN], long_vendor[] = "GenuineIntelX", long_name[50];

	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	cpu.vendor = "AuthenticAMD";
	cpu.family = 0x19;
	cpu.model = 0x11;
	cpu.stepping = 1;
	cpu.name = "AMD EPYC 9654 96-Core Processor";
	cpu.xcr0 = 0x2e7;
	f->inv.cpu = &cpu;
	ck_assert_msg(check_inv(f, err) == 0, "%s", err);
	cpu.name = NULL;
	cpu.xcr0 = 0; /* no OSXSAVE */
	ck_assert_msg(check_inv(f, err) == 0, "%s", err);
	cpu.vendor = long_vendor;
	ck_assert_int_ne(check_inv(f, err), 0);
	ck_err_has(err, "CPU vendor");
	cpu.vendor = "Genuine\tntel";
	ck_assert_int_ne(check_inv(f, err), 0);
	cpu.vendor = "GenuineIntel";
	long_name[SC_CPU_NAME_LEN] = '\0';
	cpu.name = long_name;
	ck_assert_msg(check_inv(f, err) == 0, "%s", err);
	long_name[SC_CPU_NAME_LEN] = 'n';
	ck_assert_int_ne(check_inv(f, err), 0);
	cpu.name = "Xeon\x80";
	ck_assert_int_ne(check_inv(f, err), 0);
	cpu.name = NULL;
	cpu.family = 0xf + 0xff + 1;
	ck_assert_int_ne(check_inv(f, err), 0);
	ck_err_has(err, "CPU family");
	cpu.family = 6;
	cpu.model = 0x100;
	ck_assert_int_ne(check_inv(f, err), 0);
	cpu.model = 0x8f;
	cpu.stepping = 0x10;
	ck_assert_int_ne(check_inv(f, err), 0);
	cpu.stepping = 8;
	cpu.xcr0 = 0x602e6;
	ck_assert_int_ne(check_inv(f, err), 0);
	ck_err_has(err, "XCR0");
	cpu.xcr0 = 0x602e7;
	ck_assert_msg(check_inv(f, err) == 0, "%s", err);
	free(f);
}
END_TEST

/* ---- sc_image_load: image directories written by the test -------------- */

static char tmp_root[256];

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void tmp_setup(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmp_root, sizeof(tmp_root), "%s/sc-test-image.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmp_root)) {
		perror("mkdtemp");
		abort();
	}
}

static void tmp_teardown(void)
{
	nftw(tmp_root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void new_dir(char *dir, size_t size, const char *name)
{
	snprintf(dir, size, "%s/%s", tmp_root, name);
	ck_assert_msg(mkdir(dir, 0700) == 0, "mkdir %s: %s", dir, strerror(errno));
}

static void write_file(const char *dir, const char *name, const void *buf, size_t len)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static uint8_t *read_file(const char *dir, const char *name, size_t *len)
{
	char path[512];
	struct stat st;
	uint8_t *buf;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	ck_assert_int_eq(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

static const char *const prefixes[] = {SC_CORE_PREFIX, SC_SIGACTS_PREFIX, SC_MM_PREFIX,
				       SC_PAGEMAP_PREFIX, SC_PAGES_PREFIX, SC_FDS_PREFIX};

static void write_msg(const char *dir, const char *prefix, int pid, const void *msg, uint32_t type)
{
	char name[64];
	size_t len;
	uint8_t *buf = pack_file(msg, type, &len);

	snprintf(name, sizeof(name), "%s-%d.img", prefix, pid);
	write_file(dir, name, buf, len);
	free(buf);
}

/* f's pages, n bytes, as zstd frames of f->zpages[i] pages (with their
 * checksums, as the writers make them) into out; their sizes into
 * f->zbytes and the pagemap. The compressed length. */
static size_t compress_pages(struct fx *f, const uint8_t *pages, size_t n, uint8_t *out, size_t cap)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	size_t done = 0, len = 0;

	ck_assert_ptr_nonnull(c);
	ck_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)));
	for (size_t i = 0; i < f->nz; i++) {
		size_t raw = f->zpages[i] * PG, z;

		ck_assert_uint_le(done + raw, n);
		z = ZSTD_compress2(c, out + len, cap - len, pages + done, raw);
		ck_assert_msg(!ZSTD_isError(z), "%s", ZSTD_getErrorName(z));
		f->zbytes[i] = (uint32_t)z;
		done += raw;
		len += z;
	}
	ZSTD_freeCCtx(c);
	f->pm.has_codec = 1;
	f->pm.codec = SC__PAGES_CODEC__PAGES_ZSTD;
	f->pm.frame_pages = f->zpages;
	f->pm.frame_bytes = f->zbytes;
	f->pm.n_frame_pages = f->pm.n_frame_bytes = f->nz;
	return len;
}

/* Every per-process file of f (pages filled with a pattern, compressed
 * when f->nz says so). */
static void write_proc(const char *dir, struct fx *f)
{
	char name[64];
	size_t n = f->pm.pages_bytes, cap = ZSTD_compressBound(n) + f->nz * 64, len = n;
	uint8_t *pages = malloc(n + 1), *z = f->nz ? malloc(cap) : NULL;

	for (size_t i = 0; i < n; i++)
		pages[i] = (uint8_t)(i * 7 + (size_t)f->pid);
	if (f->nz) {
		len = compress_pages(f, pages, n, z, cap);
	} else {
		f->pm.has_codec = 0;
		f->pm.codec = SC__PAGES_CODEC__PAGES_RAW;
		f->pm.n_frame_pages = f->pm.n_frame_bytes = 0;
	}
	if (f->chunks) {
		const uint8_t *file = z ? z : pages;
		size_t n_sums = 0;

		for (size_t off = 0, i = 0; off < len; i++, n_sums++) {
			size_t part = z				      ? f->zbytes[i]
				      : len - off < f->pm.chunk_bytes ? len - off
								      : f->pm.chunk_bytes;

			ck_assert_uint_lt(n_sums, N(f->chunk_sum));
			f->chunk_sum[n_sums] = XXH3_64bits(file + off, part);
			off += part;
		}
		f->pm.has_chunk_bytes = 1;
		if (z)
			f->pm.chunk_bytes = 0;
		f->pm.chunk_xxh3 = f->chunk_sum;
		f->pm.n_chunk_xxh3 = n_sums;
	}
	write_msg(dir, SC_CORE_PREFIX, f->pid, &f->core, SC_IMG_CORE);
	write_msg(dir, SC_SIGACTS_PREFIX, f->pid, &f->acts, SC_IMG_SIGACTS);
	write_msg(dir, SC_MM_PREFIX, f->pid, &f->mm, SC_IMG_MM);
	write_msg(dir, SC_PAGEMAP_PREFIX, f->pid, &f->pm, SC_IMG_PAGEMAP);
	write_msg(dir, SC_FDS_PREFIX, f->pid, &f->fds, SC_IMG_FDS);
	snprintf(name, sizeof(name), "%s-%d.img", SC_PAGES_PREFIX, f->pid);
	write_file(dir, name, z ? z : pages, len);
	free(pages);
	free(z);
}

/* inventory.img listing, with their current size and XXH3, every file of
 * every process in inv that exists now. */
static void write_inventory(const char *dir, struct fx *inv, struct fx *const *procs, size_t n)
{
	inv->inv.n_files = 0;
	for (size_t p = 0; p < n; p++) {
		for (int i = 0; i < N(prefixes); i++) {
			char name[64], path[512];
			struct stat st;
			size_t len;
			uint8_t *buf;

			snprintf(name, sizeof(name), "%s-%d.img", prefixes[i], procs[p]->pid);
			snprintf(path, sizeof(path), "%s/%s", dir, name);
			if (stat(path, &st))
				continue;
			buf = read_file(dir, name, &len);
			fx_add_file(inv, name, len, XXH3_64bits(buf, len));
			free(buf);
		}
	}
	{
		size_t len;
		uint8_t *buf = pack_file(&inv->inv, SC_IMG_INVENTORY, &len);

		write_file(dir, SC_INVENTORY_FILE, buf, len);
		free(buf);
	}
}

/* A complete one-process image of pid 321 in tmp_root/name. */
static struct fx *make_image(char *dir, size_t size, const char *name)
{
	struct fx *f = fx_new(321);

	new_dir(dir, size, name);
	write_proc(dir, f);
	write_inventory(dir, f, &f, 1);
	return f;
}

static void ck_load_fails(const char *dir, const char *names_file, const char *what)
{
	struct sc_image img;
	char err[SC_ERR_LEN];
	int r;

	err[0] = '\0';
	r = sc_image_load(dir, &img, err);
	sc_image_free(&img);
	ck_assert_msg(r != 0, "loaded an image with %s", what);
	ck_assert_msg(err[0], "failed without a message (%s)", what);
	ck_assert_msg(strstr(err, names_file), "error \"%s\" (%s) does not name %s", err, what,
		      names_file);
}

/* Byte off of dir's pages-321.img flipped; with the inventory's sums
 * written again when fix_sum. */
static void flip_pages(const char *dir, struct fx *f, uint64_t off, bool fix_sum)
{
	size_t len;
	uint8_t *buf = read_file(dir, "pages-321.img", &len);

	ck_assert_uint_lt(off, len);
	buf[off] ^= 0x40;
	write_file(dir, "pages-321.img", buf, len);
	free(buf);
	if (fix_sum)
		write_inventory(dir, f, &f, 1);
}

/* The image in dir loaded to fill, its pages opened: 0, or -1 with err. */
static int open_to_fill(const char *dir, struct sc_image *img, struct sc_pages *pg, char *err)
{
	int r = sc_image_load_to_fill(dir, img, err);

	if (!r)
		r = sc_pages_open(pg, img, &img->procs[0], err);
	return r;
}

/*
 * A raw pages file with sums in parts (doc/checksums.md), in chunks of
 * two pages, damaged where only they tell: sc_image_load_to_fill checks
 * its size only; a chunk read whole is checked as it is read, the others
 * by sc_pages_check_rest, which names the damaged one, as crinfo's
 * sc_pages_check_chunks does. Damage the whole file's sum tells too is
 * found the same way, and the loader finds it in a file without sums.
 */
START_TEST(load_to_fill_raw)
{
	char dir[512], err[SC_ERR_LEN];
	struct fx *f = fx_new(321);
	struct sc_image img;
	struct sc_pages pg;
	uint8_t chunk[2 * PG];
	struct iovec iov[2] = { { chunk, PG }, { chunk + PG, PG } };
	int fd;

	f->chunks = true;
	f->pm.chunk_bytes = 2 * PG;
	new_dir(dir, sizeof(dir), "fill");
	write_proc(dir, f);
	write_inventory(dir, f, &f, 1);
	ck_assert_msg(open_to_fill(dir, &img, &pg, err) == 0, "%s", err);
	ck_assert(img.pages_later);
	ck_assert_uint_eq(pg.ck[0].n, 3);
	ck_assert_msg(sc_pages_check_rest(&pg, err) == 0, "%s", err);
	sc_pages_close(&pg);
	sc_image_free(&img);

	flip_pages(dir, f, 2 * PG + 10, true);
	ck_assert_msg(sc_image_load(dir, &img, err) == 0, "%s", err);
	sc_image_free(&img);
	ck_assert_msg(open_to_fill(dir, &img, &pg, err) == 0, "%s", err);
	/* Chunk 0 read whole: checked, and done. */
	ck_assert_int_eq(pread(pg.fds[0], chunk, sizeof(chunk), 0), (ssize_t)sizeof(chunk));
	ck_assert_msg(sc_pages_check_read(&pg, 0, 0, iov, 2, err) == 0, "%s", err);
	ck_assert_int_eq(pg.ck[0].done[0], 1);
	ck_assert_uint_eq(sc_pages_chunk_end(&pg, 0, PG + 5), 2 * PG);
	/* Chunk 1 in part: left for later; whole, refused. */
	ck_assert_int_eq(pread(pg.fds[0], chunk, sizeof(chunk), 2 * PG), (ssize_t)sizeof(chunk));
	ck_assert_msg(sc_pages_check_read(&pg, 0, 3 * PG, iov, 1, err) == 0, "%s", err);
	ck_assert_msg(sc_pages_check_read(&pg, 0, 2 * PG, iov, 1, err) == 0, "%s", err);
	ck_assert_int_ne(sc_pages_check_read(&pg, 0, 2 * PG, iov, 2, err), 0);
	ck_err_has(err, "/fill/pages-321.img: chunk 1 (bytes 8192 to 16384): checksum mismatch");
	err[0] = '\0';
	ck_assert_int_ne(sc_pages_check_rest(&pg, err), 0);
	ck_err_has(err, "/fill/pages-321.img: chunk 1 (bytes 8192 to 16384): checksum mismatch");
	sc_pages_close(&pg);
	fd = openat(img.dirfd, "pages-321.img", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ne(sc_pages_check_chunks(fd, img.procs[0].pm, 5 * PG, err), 0);
	ck_err_has(err, "chunk 1 (bytes 8192 to 16384): checksum mismatch");
	close(fd);
	sc_image_free(&img);

	/* The last chunk, one page, with the whole file's sum wrong too. */
	flip_pages(dir, f, 2 * PG + 10, true);
	flip_pages(dir, f, 4 * PG + 1, false);
	ck_assert_int_ne(sc_image_load(dir, &img, err), 0);
	ck_err_has(err, "pages-321.img: checksum mismatch");
	sc_image_free(&img);
	ck_assert_msg(open_to_fill(dir, &img, &pg, err) == 0, "%s", err);
	ck_assert_int_ne(sc_pages_check_rest(&pg, err), 0);
	ck_err_has(err, "pages-321.img: chunk 2 (bytes 16384 to 20480): checksum mismatch");
	sc_pages_close(&pg);
	sc_image_free(&img);

	/* Without sums in parts, the loader checks the whole file. */
	f->chunks = false;
	f->pm.has_chunk_bytes = 0;
	f->pm.n_chunk_xxh3 = 0;
	write_proc(dir, f);
	write_inventory(dir, f, &f, 1);
	flip_pages(dir, f, 3, false);
	ck_assert_int_ne(sc_image_load_to_fill(dir, &img, err), 0);
	ck_err_has(err, "pages-321.img: checksum mismatch");
	sc_image_free(&img);
	free(f);
}
END_TEST

/* A compressed one, with a sum for each frame: a damaged frame is named
 * as it is read, before zstd sees it, and by sc_pages_check_rest. */
START_TEST(load_to_fill_compressed)
{
	char dir[512], err[SC_ERR_LEN];
	struct fx *f = fx_new(321);
	struct sc_pages_cur *cur;
	struct sc_image img;
	struct sc_pages pg;
	uint8_t buf[5 * PG];
	int bad = 0;

	f->chunks = true;
	f->zpages[0] = 3;
	f->zpages[1] = 2;
	f->nz = 2;
	new_dir(dir, sizeof(dir), "zfill");
	write_proc(dir, f);
	write_inventory(dir, f, &f, 1);
	ck_assert_msg(open_to_fill(dir, &img, &pg, err) == 0, "%s", err);
	ck_assert_uint_eq(pg.ck[0].n, 2);
	ck_assert_uint_eq(sc_pages_chunk_end(&pg, 0, 0), UINT64_MAX);
	ck_assert_msg(sc_pages_check_rest(&pg, err) == 0, "%s", err);
	sc_pages_close(&pg);
	sc_image_free(&img);

	flip_pages(dir, f, f->zbytes[0] + f->zbytes[1] / 2, true);
	ck_assert_msg(open_to_fill(dir, &img, &pg, err) == 0, "%s", err);
	cur = sc_pages_cur_new(&pg, err);
	ck_assert_ptr_nonnull(cur);
	for (size_t i = 0; i < img.procs[0].nruns && !bad; i++) {
		const struct sc_run *r = &img.procs[0].runs[i];

		bad = sc_pages_get(&pg, cur, r, r->vaddr, buf, r->nr_pages * PG, err);
	}
	ck_assert_int_ne(bad, 0);
	ck_err_has(err, "/zfill/pages-321.img: frame 1 (at byte");
	ck_err_has(err, "): checksum mismatch: the file is corrupted");
	ck_assert_int_eq(pg.ck[0].done[0], 1);
	err[0] = '\0';
	ck_assert_int_ne(sc_pages_check_rest(&pg, err), 0);
	ck_err_has(err, "frame 1 (at byte");
	sc_pages_cur_free(cur);
	sc_pages_close(&pg);
	sc_image_free(&img);
	free(f);
}
END_TEST

START_TEST(load_good_image)
{
	char dir[512], err[SC_ERR_LEN];
	struct fx *f = make_image(dir, sizeof(dir), "good");
	struct sc_image img;
	int r = sc_image_load(dir, &img, err);

	ck_assert_msg(r == 0, "%s", err);
	ck_assert_ptr_nonnull(img.inv);
	ck_assert_uint_eq(img.nprocs, 1);
	ck_assert_int_eq(img.procs[0].pid, 321);
	ck_assert_uint_eq(img.procs[0].pages_size, 5 * PG);
	ck_assert_str_eq(img.procs[0].pages_name, "pages-321.img");
	ck_assert_uint_eq(img.procs[0].core->n_threads, 2);
	ck_assert_int_eq(img.procs[0].core->threads[1]->tid, 322);
	ck_assert_uint_eq(img.procs[0].mm->n_vmas, 6);
	ck_assert_uint_eq(img.procs[0].pm->n_entries, 3);
	ck_assert_uint_eq(img.procs[0].fds->n_fds, 5);
	ck_assert_uint_eq(img.procs[0].acts->n_acts, 1);
	ck_assert_int_ge(img.dirfd, 0);
	sc_image_free(&img);
	ck_assert_ptr_null(img.inv);
	ck_assert_int_eq(img.dirfd, -1);
	sc_image_free(&img); /* twice is harmless */
	free(f);
}
END_TEST

/* A shell job's process has its terminal (core tty_nr). */
START_TEST(load_shell_job)
{
	char dir[512], err[SC_ERR_LEN];
	struct fx *f = fx_new(321);
	struct sc_image img;

	f->pe[0].sid = 300;
	f->inv.has_shell_job = f->inv.has_job_pgid = 1;
	f->inv.shell_job = 1;
	f->inv.job_pgid = 321;
	f->core.has_tty_nr = f->core.has_tpgid = 1;
	f->core.tty_nr = 0x8803;
	f->core.tpgid = 321;
	new_dir(dir, sizeof(dir), "job");
	write_proc(dir, f);
	write_inventory(dir, f, &f, 1);
	ck_assert_msg(sc_image_load(dir, &img, err) == 0, "%s", err);
	ck_assert(img.inv->shell_job);
	sc_image_free(&img);

	f->core.tty_nr = 0;
	new_dir(dir, sizeof(dir), "job-no-tty");
	write_proc(dir, f);
	write_inventory(dir, f, &f, 1);
	ck_assert_int_ne(sc_image_load(dir, &img, err), 0);
	ck_err_has(err, "pid 321 of the shell job has no terminal");
	sc_image_free(&img);
	free(f);
}
END_TEST

/* f written as image tmp_root/name loads, with why NULL; else it is
 * refused for why, the error naming file. */
static void ck_loads(struct fx *f, const char *name, const char *file, const char *why)
{
	char dir[512], err[SC_ERR_LEN];
	struct sc_image img;

	new_dir(dir, sizeof(dir), name);
	write_proc(dir, f);
	write_inventory(dir, f, &f, 1);
	if (!why) {
		ck_assert_msg(sc_image_load(dir, &img, err) == 0, "%s", err);
	} else {
		ck_assert_int_ne(sc_image_load(dir, &img, err), 0);
		ck_err_has(err, file);
		ck_err_has(err, why);
	}
	sc_image_free(&img);
}

/* restore_tail: absent (crdump), or code of the process. */
START_TEST(load_restore_tail)
{
	static const struct {
		uint64_t tail;
		const char *why; /* NULL: loads */
	} cases[] = {
		{ 0, NULL },
		{ 0x400010, NULL },
		{ 0x600010, "restore tail 0x600010 is not in executable memory" },
		{ 0x500000, "restore tail 0x500000 is not in the process's memory" },
	};
	char name[32];
	struct fx *f = fx_new(321);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f->core.has_restore_tail = 1;
		f->core.restore_tail = cases[i].tail;
		snprintf(name, sizeof(name), "tail-%zu", i);
		ck_loads(f, name, "core-321.img", cases[i].why);
	}
	free(f);
}
END_TEST

/* The runtime's tracker: at a number no descriptor has, over ranges of
 * private anonymous memory, in order (the heap 0x600000-0x604000 and the
 * stack's last two pages here). */
START_TEST(load_tracker)
{
	static const struct {
		int32_t fd;
		uint64_t r[4];
		size_t n;
		const char *why; /* NULL: loads */
	} cases[] = {
		{ 512, { 0x600000, 0x604000, SC_TASK_SIZE - 2 * PG, SC_TASK_SIZE }, 4, NULL },
		{ 512, { 0 }, 0, NULL },
		{ 7, { 0x600000, 0x604000 }, 2, "the tracker's descriptor 7 is taken" },
		{ -1, { 0x600000, 0x604000 }, 2, "the tracker's descriptor -1 is out of range" },
		{ 512, { 0x600000, 0x604000, 0x601000 }, 3, "the tracker has 3 range bounds" },
		{ 512, { 0x600000, 0x605000 }, 2, "tracked range 0x600000-0x605000 is not" },
		{ 512, { 0x400000, 0x401000 }, 2, "tracked range 0x400000-0x401000 is not" },
		{ 512, { 0x601000, 0x601000 }, 2, "tracked range 0x601000-0x601000 is not" },
		{ 512, { 0x600800, 0x601000 }, 2, "tracked range 0x600800-0x601000 is not" },
		{ 512, { 0x602000, 0x604000, 0x600000, 0x601000 }, 4, "0x600000-0x601000 is" },
	};
	char name[32];
	struct fx *f = fx_new(321);
	Sc__Tracker t;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sc__tracker__init(&t);
		t.fd = cases[i].fd;
		t.ranges = (uint64_t *)cases[i].r;
		t.n_ranges = cases[i].n;
		t.capture = 42;
		f->mm.tracker = &t;
		snprintf(name, sizeof(name), "tracker-%zu", i);
		ck_loads(f, name, "mm-321.img", cases[i].why);
	}
	free(f);
}
END_TEST

START_TEST(load_two_processes)
{
	char dir[512], err[SC_ERR_LEN];
	struct fx *a = fx_new(500), *b = fx_new(777);
	struct fx *both[2] = {a, b};
	struct sc_image img;

	new_dir(dir, sizeof(dir), "two");
	b->pm.n_entries = 0; /* a process with no stored pages */
	b->pm.pages_bytes = 0;
	b->core.n_threads = 1;
	write_proc(dir, a);
	write_proc(dir, b);
	sc__proc_entry__init(&a->pe[1]);
	a->pe[1].pid = 777;
	a->pe[1].ppid = 500;
	a->pe[1].pgid = 500;
	a->pe[1].sid = 500;
	a->pep[1] = &a->pe[1];
	a->inv.n_procs = 2;
	write_inventory(dir, a, both, 2);
	ck_assert_msg(sc_image_load(dir, &img, err) == 0, "%s", err);
	ck_assert_uint_eq(img.nprocs, 2);
	ck_assert_int_eq(img.procs[1].pid, 777);
	ck_assert_uint_eq(img.procs[1].pages_size, 0);
	ck_assert_uint_eq(img.procs[1].core->n_threads, 1);
	sc_image_free(&img);

	/* The second process's mm is damaged: the error names its file. */
	{
		size_t len;
		uint8_t *buf = read_file(dir, "mm-777.img", &len);

		write_file(dir, "mm-777.img", buf, len - 3);
		free(buf);
	}
	ck_load_fails(dir, "mm-777.img", "a truncated mm of the second process");
	free(a);
	free(b);
}
END_TEST

/* fd 3 and fd 7 of f: unix stream sockets of inodes ino3 and ino7. */
static void two_unix(struct fx *f, Sc__UnixSocket *u, uint64_t ino3, uint64_t ino7)
{
	for (int i = 3; i < 5; i++) {
		sc__unix_socket__init(&u[i - 3]);
		f->fd[i].kind = SC__FD_KIND__UNIX;
		f->fd[i].path = NULL;
		f->fd[i].has_sock_type = f->fd[i].has_sock_ino = f->fd[i].has_peer_ino = true;
		f->fd[i].sock_type = SOCK_STREAM;
		f->fd[i].sock_ino = i == 3 ? ino3 : ino7;
		f->fd[i].unix_sock = &u[i - 3];
		u[i - 3].state = SC__UNIX_SOCKET__STATE__CONNECTED;
	}
}

/* Process 500 listens on srv.sock and accepted a connection from 777,
 * which has another one waiting in the queue (doc/trees.md). */
START_TEST(load_unix_between_processes)
{
	char dir[512], err[SC_ERR_LEN];
	struct fx *a = fx_new(500), *b = fx_new(777);
	struct fx *both[2] = { a, b };
	Sc__UnixSocket ua[2], ub[2];
	uint8_t name[] = "srv.sock";
	ProtobufCBinaryData n = { sizeof(name) - 1, name };
	uint64_t pending[1] = { 61 };
	struct sc_image img;

	new_dir(dir, sizeof(dir), "unix_tree");
	two_unix(a, ua, 40, 41);
	two_unix(b, ub, 60, 61);
	ua[0].state = SC__UNIX_SOCKET__STATE__LISTEN;
	ua[0].has_name = ua[0].has_backlog = true;
	ua[0].name = n;
	ua[0].backlog = 8;
	ua[0].n_pending = 1;
	ua[0].pending = pending;
	ua[1].has_name = ua[1].has_accepted = ua[1].accepted = true;
	ua[1].name = n;
	a->fd[4].peer_ino = 60;
	for (int i = 0; i < 2; i++) {
		ub[i].has_peer_name = ub[i].has_accepted = true;
		ub[i].peer_name = n;
	}
	b->fd[3].peer_ino = 41;
	a->fd[4].has_peer_in_tree = a->fd[4].peer_in_tree = true;
	b->fd[3].has_peer_in_tree = b->fd[3].peer_in_tree = true;
	b->fd[4].has_peer_in_tree = b->fd[4].peer_in_tree = true;
	sc__proc_entry__init(&a->pe[1]);
	a->pe[1].pid = 777;
	a->pe[1].ppid = a->pe[1].pgid = a->pe[1].sid = 500;
	a->pep[1] = &a->pe[1];
	a->inv.n_procs = 2;
	write_proc(dir, a);
	write_proc(dir, b);
	write_inventory(dir, a, both, 2);
	ck_assert_msg(sc_image_load(dir, &img, err) == 0, "%s", err);
	sc_image_free(&img);

	/* Both ends accepted; the waiting one unknown; a client waiting
	 * in no queue. */
	ub[0].accepted = true;
	write_proc(dir, b);
	write_inventory(dir, a, both, 2);
	ck_load_fails(dir, "pid 500 fd 7: its connection's other end is gone", "two accepted ends");
	ub[0].accepted = false;
	pending[0] = 62;
	write_proc(dir, a);
	write_proc(dir, b);
	write_inventory(dir, a, both, 2);
	ck_load_fails(dir, "pid 500 fd 3: connection 0 of its queue", "a lost waiting client");
	ua[0].n_pending = 0;
	write_proc(dir, a);
	write_inventory(dir, a, both, 2);
	ck_load_fails(dir, "pid 777 fd 7: its connection's other end is gone",
		      "a client in no queue");
	free(a);
	free(b);
}
END_TEST

/* Two processes hold a pipe; the second points to the first for its
 * bytes: only a process that holds the pipe and stores them may be named. */
static int load_keeper(const char *name, int a_data_pid, int b_data_pid, char *err)
{
	char dir[512];
	struct fx *a = fx_new(500), *b = fx_new(777);
	struct fx *both[2] = {a, b};
	Sc__Pipe pa = SC__PIPE__INIT, pb = SC__PIPE__INIT, *ppa[1] = { &pa }, *ppb[1] = { &pb };
	struct sc_image img;
	int r;

	new_dir(dir, sizeof(dir), name);
	b->core.n_threads = 1;
	for (int i = 0; i < 2; i++) {
		struct fx *f = both[i];
		Sc__Pipe *p = i ? &pb : &pa;

		f->fd[3].kind = SC__FD_KIND__PIPE;
		f->fd[3].flags = i ? O_RDONLY : O_WRONLY;
		f->fd[3].path = NULL;
		f->fd[3].has_pipe_id = true;
		f->fd[3].pipe_id = 42;
		p->id = 42;
		p->size = 65536;
		f->fds.n_pipes = 1;
		f->fds.pipes = i ? ppb : ppa;
	}
	pa.has_data = true;
	pa.data.data = (uint8_t *)"bytes";
	pa.data.len = 5;
	pa.has_data_pid = a_data_pid != 0;
	pa.data_pid = a_data_pid;
	pb.has_data_pid = b_data_pid != 0;
	pb.data_pid = b_data_pid;
	write_proc(dir, a);
	write_proc(dir, b);
	sc__proc_entry__init(&a->pe[1]);
	a->pe[1].pid = 777;
	a->pe[1].ppid = a->pe[1].pgid = a->pe[1].sid = 500;
	a->pep[1] = &a->pe[1];
	a->inv.n_procs = 2;
	write_inventory(dir, a, both, 2);
	err[0] = '\0';
	r = sc_image_load(dir, &img, err);
	sc_image_free(&img);
	free(a);
	free(b);
	return r;
}

START_TEST(load_pipe_keeper)
{
	char err[SC_ERR_LEN];

	ck_assert_msg(load_keeper("kept", 0, 500, err) == 0, "%s", err);
	ck_assert_int_ne(load_keeper("self", 0, 777, err), 0);
	ck_err_has(err, "pipe:[42]");
	ck_assert_int_ne(load_keeper("nobody", 0, 999, err), 0);
	/* The one named does not store them either. */
	ck_assert_int_ne(load_keeper("neither", 777, 500, err), 0);
}
END_TEST

START_TEST(load_missing_files)
{
	char dir[512], path[600];
	struct fx *f = make_image(dir, sizeof(dir), "missing");
	static const char *const names[] = {"core-321.img",    "sigacts-321.img", "mm-321.img",
					    "pagemap-321.img", "pages-321.img",	  "fds-321.img"};

	for (int i = 0; i < N(names); i++) {
		uint8_t *buf;
		size_t len;

		buf = read_file(dir, names[i], &len);
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		ck_assert_int_eq(unlink(path), 0);
		ck_load_fails(dir, names[i], "a missing file");
		write_file(dir, names[i], buf, len);
		free(buf);
	}

	/* Listed nowhere in the inventory. */
	for (int i = 0; i < N(names); i++) {
		uint8_t *buf;
		size_t len;

		buf = read_file(dir, names[i], &len);
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		ck_assert_int_eq(unlink(path), 0);
		write_inventory(dir, f, &f, 1);
		write_file(dir, names[i], buf, len);
		ck_load_fails(dir, names[i], "a file the inventory does not list");
		free(buf);
	}

	snprintf(path, sizeof(path), "%s/%s", dir, SC_INVENTORY_FILE);
	ck_assert_int_eq(unlink(path), 0);
	ck_load_fails(dir, SC_INVENTORY_FILE, "no inventory");

	snprintf(path, sizeof(path), "%s/no-such-image", tmp_root);
	ck_load_fails(path, "no-such-image", "no directory");
	free(f);
}
END_TEST

START_TEST(load_flipped_page_byte)
{
	char dir[512];
	struct fx *f = make_image(dir, sizeof(dir), "flip");
	size_t len;
	uint8_t *buf = read_file(dir, "pages-321.img", &len);
	struct sc_image img;
	char err[SC_ERR_LEN];

	buf[len / 2] ^= 0x10;
	write_file(dir, "pages-321.img", buf, len);
	ck_load_fails(dir, "pages-321.img", "a flipped byte in the pages");
	ck_assert_int_ne(sc_image_load(dir, &img, err), 0);
	ck_err_has(err, "checksum");
	sc_image_free(&img);

	/* The last byte, and the first. */
	buf[len / 2] ^= 0x10;
	buf[len - 1] ^= 1;
	write_file(dir, "pages-321.img", buf, len);
	ck_load_fails(dir, "pages-321.img", "a flipped last byte in the pages");
	buf[len - 1] ^= 1;
	buf[0] ^= 0x80;
	write_file(dir, "pages-321.img", buf, len);
	ck_load_fails(dir, "pages-321.img", "a flipped first byte in the pages");

	/* Pages one page short or long. */
	write_file(dir, "pages-321.img", buf, len - PG);
	ck_load_fails(dir, "pages-321.img", "a short pages file");
	free(buf);
	buf = calloc(1, len + PG);
	write_file(dir, "pages-321.img", buf, len + PG);
	ck_load_fails(dir, "pages-321.img", "a long pages file");
	free(buf);
	free(f);
}
END_TEST

START_TEST(load_damaged_message_files)
{
	char dir[512];
	struct fx *f = make_image(dir, sizeof(dir), "damaged");
	static const char *const names[] = {"core-321.img",    "sigacts-321.img", "mm-321.img",
					    "pagemap-321.img", "fds-321.img"};

	for (int i = 0; i < N(names); i++) {
		size_t len;
		uint8_t *buf = read_file(dir, names[i], &len);

		/* Truncated: the inventory's size catches it. */
		write_file(dir, names[i], buf, len / 2);
		ck_load_fails(dir, names[i], "a truncated file");
		/* Truncated and re-summed: the file's own header catches it. */
		write_inventory(dir, f, &f, 1);
		ck_load_fails(dir, names[i], "a truncated file the inventory agrees with");
		/* One flipped byte in the payload, re-summed. */
		buf[len - 1] ^= 0x01;
		write_file(dir, names[i], buf, len);
		write_inventory(dir, f, &f, 1);
		ck_load_fails(dir, names[i], "a flipped payload byte");
		/* Same size, one flipped byte: the inventory's checksum. */
		buf[len - 1] ^= 0x01;
		write_file(dir, names[i], buf, len);
		write_inventory(dir, f, &f, 1);
		buf[HDR] ^= 0x40;
		write_file(dir, names[i], buf, len);
		ck_load_fails(dir, names[i], "a byte changed after the inventory was written");
		buf[HDR] ^= 0x40;
		write_file(dir, names[i], buf, len);
		write_inventory(dir, f, &f, 1);
		free(buf);
	}

	/* A valid record of the same size swapped in behind the inventory's
	 * back: only the inventory's checksum tells. */
	{
		size_t len, len2;
		uint8_t *buf = read_file(dir, "core-321.img", &len), *buf2;
		struct sc_image img;
		char err[SC_ERR_LEN];

		f->regs[0].rip ^= 1;
		buf2 = pack_file(&f->core, SC_IMG_CORE, &len2);
		ck_assert_uint_eq(len, len2);
		write_file(dir, "core-321.img", buf2, len2);
		ck_load_fails(dir, "core-321.img", "a record that is not the one summed");
		ck_assert_int_ne(sc_image_load(dir, &img, err), 0);
		ck_err_has(err, "checksum");
		sc_image_free(&img);
		f->regs[0].rip ^= 1;
		write_file(dir, "core-321.img", buf, len);
		free(buf);
		free(buf2);
	}

	/* The mm record holds a core record (correctly summed). */
	write_msg(dir, SC_MM_PREFIX, 321, &f->core, SC_IMG_CORE);
	write_inventory(dir, f, &f, 1);
	ck_load_fails(dir, "mm-321.img", "a core record in the mm file");
	free(f);
}
END_TEST

START_TEST(load_bad_contents)
{
	char dir[512];
	struct fx *f = make_image(dir, sizeof(dir), "contents");

	/* Records that decode but fail their check: the error names the file. */
	f->vma[1].start = 0x401000;
	write_proc(dir, f);
	write_inventory(dir, f, &f, 1);
	ck_load_fails(dir, "mm-321.img", "overlapping VMAs");

	fx_init(f, 321);
	f->pm.pages_bytes = 6 * PG; /* pages file is written with 6 pages */
	write_proc(dir, f);
	write_inventory(dir, f, &f, 1);
	ck_load_fails(dir, "pagemap-321.img", "a pagemap that does not cover the pages");

	fx_init(f, 321);
	f->th[1].tid = 321;
	write_proc(dir, f);
	write_inventory(dir, f, &f, 1);
	ck_load_fails(dir, "core-321.img", "a duplicate tid");

	fx_init(f, 321);
	f->fd[4].fd = 3;
	write_proc(dir, f);
	write_inventory(dir, f, &f, 1);
	ck_load_fails(dir, "fds-321.img", "a duplicate fd");

	fx_init(f, 321);
	f->act.sig = 9;
	write_proc(dir, f);
	write_inventory(dir, f, &f, 1);
	ck_load_fails(dir, "sigacts-321.img", "a SIGKILL handler");

	fx_init(f, 321);
	f->core.pid = 322;
	write_proc(dir, f);
	write_inventory(dir, f, &f, 1);
	ck_load_fails(dir, "core-321.img", "another process's core");

	/* A bad inventory. */
	fx_init(f, 321);
	write_proc(dir, f);
	f->inv.writer = "criu";
	write_inventory(dir, f, &f, 1);
	ck_load_fails(dir, SC_INVENTORY_FILE, "an unknown writer");
	fx_init(f, 321);
	write_inventory(dir, f, &f, 1);
	fx_add_file(f, "../../etc/passwd", 10, 0);
	{
		size_t len;
		uint8_t *buf = pack_file(&f->inv, SC_IMG_INVENTORY, &len);

		write_file(dir, SC_INVENTORY_FILE, buf, len);
		free(buf);
	}
	ck_load_fails(dir, SC_INVENTORY_FILE, "a file outside the image");
	{
		size_t len;
		uint8_t *buf = read_file(dir, SC_INVENTORY_FILE, &len);

		buf[len - 1] ^= 2;
		write_file(dir, SC_INVENTORY_FILE, buf, len);
		free(buf);
	}
	ck_load_fails(dir, SC_INVENTORY_FILE, "a flipped inventory byte");
	write_file(dir, SC_INVENTORY_FILE, "", 0);
	ck_load_fails(dir, SC_INVENTORY_FILE, "an empty inventory");
	free(f);
}
END_TEST

/* ---- chains of incremental images -------------------------------------- */

/* Image tmp_root/name of f (one process), incremental on tmp_root/parent
 * when parent is not NULL: named "../parent", with the checksum of its
 * inventory as it is now. */
static void write_gen(char *dir, size_t size, const char *name, struct fx *f, const char *parent)
{
	char rel[64];

	new_dir(dir, size, name);
	f->inv.parent = NULL;
	f->inv.has_parent_inventory_xxh3 = 0;
	if (parent) {
		char pdir[512];
		size_t len;
		uint8_t *buf;

		snprintf(pdir, sizeof(pdir), "%s/%s", tmp_root, parent);
		buf = read_file(pdir, SC_INVENTORY_FILE, &len);
		snprintf(rel, sizeof(rel), "../%s", parent);
		f->inv.parent = rel;
		f->inv.has_parent_inventory_xxh3 = 1;
		f->inv.parent_inventory_xxh3 = XXH3_64bits(buf, len);
		free(buf);
	}
	write_proc(dir, f);
	write_inventory(dir, f, &f, 1);
	f->inv.parent = NULL;
	f->inv.has_parent_inventory_xxh3 = 0;
}

static void ck_run(const struct sc_proc_img *p, size_t i, uint64_t vaddr, uint64_t nr_pages,
		   uint32_t gen, uint64_t off)
{
	ck_assert_uint_gt(p->nruns, i);
	ck_assert_msg(p->runs[i].vaddr == vaddr && p->runs[i].nr_pages == nr_pages &&
			      p->runs[i].gen == gen && p->runs[i].off == off,
		      "run %zu: %#llx %llu pages in generation %u at %llu, expected %#llx %llu "
		      "in %u at %llu",
		      i, (unsigned long long)p->runs[i].vaddr,
		      (unsigned long long)p->runs[i].nr_pages, p->runs[i].gen,
		      (unsigned long long)p->runs[i].off, (unsigned long long)vaddr,
		      (unsigned long long)nr_pages, gen, (unsigned long long)off);
}

/*
 * Three generations. c1, full: text page, two heap pages, two stack pages.
 * c2: text and stack in c1, the heap stored. c3: text stored, three heap
 * pages in c2 (which stores two of them: the third was zero), the stack
 * in c2, which has it in c1.
 */
static struct fx *make_chain(char *dir, size_t size, const char *prefix)
{
	struct fx *f = fx_new(321);
	char name[3][64];

	for (int i = 0; i < 3; i++)
		snprintf(name[i], sizeof(name[i]), "%s%d", prefix, i + 1);
	write_gen(dir, size, name[0], f, NULL);
	set_in_parent(&f->pme[0]);
	set_in_parent(&f->pme[2]);
	f->pm.pages_bytes = 2 * PG;
	write_gen(dir, size, name[1], f, name[0]);
	f->pme[0].in_parent = 0;
	set_in_parent(&f->pme[1]);
	f->pme[1].nr_pages = 3;
	f->pm.pages_bytes = PG;
	write_gen(dir, size, name[2], f, name[1]);
	return f;
}

START_TEST(chain_resolves)
{
	char dir[512], err[SC_ERR_LEN];
	struct fx *f = make_chain(dir, sizeof(dir), "c");
	const struct sc_proc_img *p;
	struct sc_pages pg;
	struct sc_image img;
	uint8_t byte;

	/* Three generations. */
	ck_assert_msg(sc_image_load(dir, &img, err) == 0, "%s", err);
	ck_assert_uint_eq(sc_image_ngens(&img), 3);
	/* Named by their real paths. */
	ck_assert_str_eq(sc_image_gen(&img, 2)->dir + strlen(sc_image_gen(&img, 2)->dir) - 3,
			 "/c1");
	ck_assert_ptr_null(sc_image_gen(&img, 3));
	p = &img.procs[0];
	ck_assert_uint_eq(p->pages_size, PG);
	ck_assert_uint_eq(p->nruns, 3);
	ck_run(p, 0, 0x401000, 1, 0, 0);
	ck_run(p, 1, 0x600000, 2, 1, 0);
	ck_run(p, 2, SC_TASK_SIZE - 2 * PG, 2, 2, 3 * PG);
	ck_assert_ptr_null(sc_run_at(p, 0x602000)); /* stored nowhere: zero */
	ck_assert_ptr_eq(sc_run_at(p, 0x601fff), &p->runs[1]);
	/* Reading goes to the generation's pages file: write_proc fills
	 * byte i of each with i * 7 + pid. */
	ck_assert_msg(sc_pages_open(&pg, &img, p, err) == 0, "%s", err);
	ck_assert_int_eq(sc_pages_read(&pg, &p->runs[2], SC_TASK_SIZE - PG + 5, &byte, 1), 0);
	ck_assert_uint_eq(byte, (uint8_t)((3 * PG + PG + 5) * 7 + 321));
	sc_pages_close(&pg);
	sc_image_free(&img);

	/* Two: the middle one and its parent. */
	snprintf(dir, sizeof(dir), "%s/c2", tmp_root);
	ck_assert_msg(sc_image_load(dir, &img, err) == 0, "%s", err);
	ck_assert_uint_eq(sc_image_ngens(&img), 2);
	p = &img.procs[0];
	ck_assert_uint_eq(p->nruns, 3);
	ck_run(p, 0, 0x401000, 1, 1, 0);
	ck_run(p, 1, 0x600000, 2, 0, 0);
	ck_run(p, 2, SC_TASK_SIZE - 2 * PG, 2, 1, 3 * PG);
	sc_image_free(&img);

	/* A full image: its stored runs, back to back. */
	snprintf(dir, sizeof(dir), "%s/c1", tmp_root);
	ck_assert_msg(sc_image_load(dir, &img, err) == 0, "%s", err);
	ck_assert_uint_eq(sc_image_ngens(&img), 1);
	ck_run(&img.procs[0], 1, 0x600000, 2, 0, PG);
	sc_image_free(&img);
	free(f);
}
END_TEST

/* Byte off of the data of process pid's pages (write_proc's pattern). */
static uint8_t pattern(int pid, uint64_t off)
{
	return (uint8_t)(off * 7 + (uint64_t)pid);
}

/* [addr, addr+len) of run r read through pg (cur NULL: sc_pages_read)
 * holds the pattern of the data from off on. */
static void ck_read(const struct sc_pages *pg, struct sc_pages_cur *cur, const struct sc_run *r,
		    uint64_t addr, size_t len, uint64_t off)
{
	char err[SC_ERR_LEN];
	uint8_t *buf = malloc(len);

	if (cur)
		ck_assert_msg(sc_pages_get(pg, cur, r, addr, buf, len, err) == 0, "%s", err);
	else
		ck_assert_msg(sc_pages_read(pg, r, addr, buf, len) == 0, "%s", strerror(errno));
	for (size_t i = 0; i < len; i++)
		ck_assert_msg(buf[i] == pattern(321, off + i), "byte %zu of %#llx+%zu", i,
			      (unsigned long long)addr, len);
	free(buf);
}

/*
 * make_chain's three generations, z1 and z3 compressed and z2 raw. z1's
 * frames are of 4 pages and 1, so the stack's run there (its pages 3 and
 * 4) spans two frames; z3's of one page.
 */
static struct fx *make_zchain(char *dir, size_t size)
{
	struct fx *f = fx_new(321);

	f->nz = 2;
	f->zpages[0] = 4;
	f->zpages[1] = 1;
	write_gen(dir, size, "z1", f, NULL);
	set_in_parent(&f->pme[0]);
	set_in_parent(&f->pme[2]);
	f->pm.pages_bytes = 2 * PG;
	f->nz = 0;
	write_gen(dir, size, "z2", f, "z1");
	f->pme[0].in_parent = 0;
	set_in_parent(&f->pme[1]);
	f->pme[1].nr_pages = 3;
	f->pm.pages_bytes = PG;
	f->nz = 1;
	f->zpages[0] = 1;
	write_gen(dir, size, "z3", f, "z2");
	return f;
}

struct reader {
	const struct sc_pages *pg;
	const struct sc_run *r;
	uint64_t from; /* the offset of the first read */
};

/* Reads all over the stack's run, a page from a shifting offset at a
 * time, through the pages' own reader. */
static void *read_around(void *arg)
{
	const struct reader *rd = arg;

	for (uint64_t i = 0; i < 300; i++) {
		uint64_t at = (rd->from + i * 997) % PG;

		ck_read(rd->pg, NULL, rd->r, rd->r->vaddr + at, PG, rd->r->off + at);
	}
	return NULL;
}

/* A chain of compressed and raw generations reads the same as a raw one:
 * within a frame, across two, a frame whole, through the pages' own
 * reader (from two threads at once) and a cursor of the caller's. */
START_TEST(chain_compressed)
{
	char dir[512], err[SC_ERR_LEN], two[2];
	struct fx *f = make_zchain(dir, sizeof(dir));
	struct reader rd[2];
	const struct sc_proc_img *p;
	struct sc_pages_cur *cur;
	struct sc_pages pg;
	struct sc_image img;
	pthread_t t;

	ck_assert_msg(sc_image_load(dir, &img, err) == 0, "%s", err);
	p = &img.procs[0];
	ck_assert_uint_eq(p->nruns, 3);
	ck_run(p, 0, 0x401000, 1, 0, 0);
	ck_run(p, 1, 0x600000, 2, 1, 0);
	ck_run(p, 2, SC_TASK_SIZE - 2 * PG, 2, 2, 3 * PG);
	ck_assert_msg(sc_pages_open(&pg, &img, p, err) == 0, "%s", err);
	ck_assert(sc_pages_compressed(&pg));
	ck_assert_uint_eq(pg.z[0].n, 1);
	ck_assert_uint_eq(pg.z[1].n, 0);
	ck_assert_uint_eq(pg.z[2].n, 2);
	ck_assert_uint_eq(pg.z[2].data[1], 4 * PG);
	ck_assert_uint_eq(pg.out_max, 4 * PG);

	/* z3's one frame whole, z2's raw pages, z1's frames. */
	ck_read(&pg, NULL, &p->runs[0], 0x401000, PG, 0);
	ck_read(&pg, NULL, &p->runs[1], 0x600000, 2 * PG, 0);
	ck_read(&pg, NULL, &p->runs[2], SC_TASK_SIZE - 2 * PG, 2 * PG, 3 * PG);
	ck_read(&pg, NULL, &p->runs[2], SC_TASK_SIZE - PG - 3, 6, 4 * PG - 3);
	ck_read(&pg, NULL, &p->runs[2], SC_TASK_SIZE - PG, PG, 4 * PG);
	ck_read(&pg, NULL, &p->runs[2], SC_TASK_SIZE - 1, 1, 5 * PG - 1);
	/* Beyond its run, a read is refused, not wrapped. */
	ck_assert_int_ne(sc_pages_get(&pg, NULL, &p->runs[2], SC_TASK_SIZE - 1, two, 2, err), 0);
	ck_err_has(err, "/z1/pages-321.img: past the end of the data");

	/* A cursor of the caller's, byte by byte across the boundary. */
	cur = sc_pages_cur_new(&pg, err);
	ck_assert_msg(cur != NULL, "%s", err);
	for (uint64_t a = SC_TASK_SIZE - PG - 40; a < SC_TASK_SIZE - PG + 40; a++)
		ck_read(&pg, cur, &p->runs[2], a, 1, 3 * PG + (a - p->runs[2].vaddr));
	ck_read(&pg, cur, &p->runs[0], 0x401010, 100, 0x10);
	sc_pages_cur_free(cur);

	/* Two threads at once through the pages' own reader. */
	rd[0] = (struct reader){ &pg, &p->runs[2], 1 };
	rd[1] = (struct reader){ &pg, &p->runs[2], 2000 };
	ck_assert_int_eq(pthread_create(&t, NULL, read_around, &rd[1]), 0);
	read_around(&rd[0]);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	sc_pages_close(&pg);
	sc_image_free(&img);
	free(f);
}
END_TEST

/* One byte of a frame changed and the file's checksum made right again:
 * the frame is refused, named, whichever way it is read; the others read
 * on. A file whose frames do not add up is refused at load. */
START_TEST(compressed_refused)
{
	char dir[512], err[SC_ERR_LEN], path[600];
	struct fx *f = fx_new(321);
	struct sc_pages pg;
	struct sc_image img;
	uint8_t byte, *buf;
	size_t len;
	int fd;

	f->nz = 2;
	f->zpages[0] = 3;
	f->zpages[1] = 2;
	write_gen(dir, sizeof(dir), "zbad", f, NULL);
	buf = read_file(dir, "pages-321.img", &len);
	ck_assert_uint_eq(len, f->zbytes[0] + f->zbytes[1]);
	buf[f->zbytes[0] + f->zbytes[1] / 2] ^= 0x10;
	write_file(dir, "pages-321.img", buf, len);
	free(buf);
	write_inventory(dir, f, &f, 1);

	ck_assert_msg(sc_image_load(dir, &img, err) == 0, "%s", err);
	ck_assert_msg(sc_pages_open(&pg, &img, &img.procs[0], err) == 0, "%s", err);
	/* Frame 0: the text page and the heap's first two. */
	ck_read(&pg, NULL, &img.procs[0].runs[1], 0x601000, PG, 2 * PG);
	errno = 0;
	ck_assert_int_ne(sc_pages_read(&pg, &img.procs[0].runs[2], SC_TASK_SIZE - PG, &byte, 1), 0);
	ck_assert_int_eq(errno, EBADMSG);
	ck_assert_int_ne(sc_pages_get(&pg, NULL, &img.procs[0].runs[2], SC_TASK_SIZE - 2 * PG,
				      &byte, 1, err),
			 0);
	ck_err_has(err, "/zbad/pages-321.img: frame 1 (at byte ");
	ck_err_has(err, "zstd: ");
	snprintf(path, sizeof(path), "%s/pages-321.img", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ne(sc_pages_check_frames(fd, img.procs[0].pm, err), 0);
	ck_err_has(err, "frame 1 (at byte ");
	close(fd);
	sc_pages_close(&pg);
	sc_image_free(&img);

	/* Not a frame of zstd's at all. */
	f->nz = 1;
	f->zpages[0] = 5;
	write_gen(dir, sizeof(dir), "znot", f, NULL);
	buf = calloc(1, f->zbytes[0]);
	write_file(dir, "pages-321.img", buf, f->zbytes[0]);
	write_inventory(dir, f, &f, 1);
	ck_assert_msg(sc_image_load(dir, &img, err) == 0, "%s", err);
	ck_assert_msg(sc_pages_open(&pg, &img, &img.procs[0], err) == 0, "%s", err);
	ck_assert_int_ne(sc_pages_get(&pg, NULL, &img.procs[0].runs[0], 0x401000, &byte, 1, err),
			 0);
	ck_err_has(err, "/znot/pages-321.img: frame 0 (at byte 0): not one zstd frame");
	sc_pages_close(&pg);
	sc_image_free(&img);
	free(buf);

	/* One byte more than the frames: the inventory agrees, the pagemap
	 * does not. */
	write_gen(dir, sizeof(dir), "zlong", f, NULL);
	buf = read_file(dir, "pages-321.img", &len);
	buf[len] = 0;
	write_file(dir, "pages-321.img", buf, len + 1);
	free(buf);
	write_inventory(dir, f, &f, 1);
	ck_load_fails(dir, "pagemap-321.img: frames take", "a byte after the frames");
	free(f);
}
END_TEST

/* A damaged chain is refused with one line naming the image at fault. */
START_TEST(chain_refused)
{
	char dir[512], other[512];
	struct fx *f = make_chain(dir, sizeof(dir), "d"), *g;
	size_t len;
	uint8_t *buf;

	/* The oldest parent rewritten since (a checkpoint into its name). */
	snprintf(other, sizeof(other), "%s/d1", tmp_root);
	f->inv.time_ns++;
	write_inventory(other, f, &f, 1);
	ck_load_fails(dir, "/d1: inventory.img has checksum", "a replaced parent");
	ck_load_fails(dir, "replaced or rewritten since", "a replaced parent");

	/* The parent gone. */
	snprintf(other, sizeof(other), "%s/d2/%s", tmp_root, SC_INVENTORY_FILE);
	ck_assert_int_eq(unlink(other), 0);
	ck_load_fails(dir, "parent image ", "a missing parent");
	ck_load_fails(dir, "/d2: inventory.img: No such file", "a missing parent");
	snprintf(other, sizeof(other), "%s/d2", tmp_root);
	nftw(other, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	ck_load_fails(dir, "/d3/../d2: No such file", "a removed parent");

	/* in_parent without a parent. */
	fx_init(f, 321);
	set_in_parent(&f->pme[1]);
	f->pm.pages_bytes = 3 * PG;
	write_gen(dir, sizeof(dir), "lone", f, NULL);
	ck_load_fails(dir, "pagemap-321.img: entry 1 (0x600000) is in_parent", "no parent");

	/* A process with pages in a parent that does not have it. */
	g = fx_new(654);
	write_gen(other, sizeof(other), "pid654", g, NULL);
	write_gen(dir, sizeof(dir), "pid321", f, "pid654");
	ck_load_fails(dir, "pagemap-321.img: pages in the parent image, where pid 321 is not",
		      "a process missing from the parent");

	/* A loop: e1's parent is e2, whose parent is e1. */
	fx_init(g, 321);
	write_gen(other, sizeof(other), "e1", g, NULL);
	write_gen(dir, sizeof(dir), "e2", f, "e1");
	g->inv.parent = "../e2";
	g->inv.has_parent_inventory_xxh3 = 1;
	buf = read_file(dir, SC_INVENTORY_FILE, &len);
	g->inv.parent_inventory_xxh3 = XXH3_64bits(buf, len);
	free(buf);
	write_inventory(other, g, &g, 1);
	ck_load_fails(dir, "the chain of parents loops back to it", "a loop");
	free(f);
	free(g);
}
END_TEST

/*
 * A parent rewritten by a pruner's merge (doc/retention.md): its
 * inventory has another checksum now, and lists the one it had in
 * same_as. A child naming any of them builds on it; one naming neither
 * is refused.
 */
START_TEST(chain_same_as)
{
	char dir[512], parent[512], err[SC_ERR_LEN];
	struct fx *f = fx_new(321);
	uint64_t same_as[2];
	struct sc_image img;
	size_t len;
	uint8_t *buf;

	write_gen(parent, sizeof(parent), "m1", f, NULL);
	set_in_parent(&f->pme[1]);
	f->pm.pages_bytes = 3 * PG;
	write_gen(dir, sizeof(dir), "m2", f, "m1");
	buf = read_file(parent, SC_INVENTORY_FILE, &len);
	same_as[1] = XXH3_64bits(buf, len);
	free(buf);

	/* Merged: another inventory, the old checksum second in same_as. */
	fx_init(f, 321);
	f->inv.time_ns++;
	same_as[0] = 0x5a5a;
	f->inv.same_as = same_as;
	f->inv.n_same_as = 2;
	write_inventory(parent, f, &f, 1);
	ck_assert_msg(sc_image_load(dir, &img, err) == 0, "%s", err);
	ck_assert_uint_eq(sc_image_ngens(&img), 2);
	ck_run(&img.procs[0], 1, 0x600000, 2, 1, PG);
	sc_image_free(&img);

	/* Rewritten again, the child's checksum in none of its forms. */
	f->inv.time_ns++;
	f->inv.n_same_as = 1;
	write_inventory(parent, f, &f, 1);
	ck_load_fails(dir, "/m1: inventory.img has checksum", "a parent not merged from it");
	ck_load_fails(dir, "replaced or rewritten since", "a parent not merged from it");
	f->inv.n_same_as = 0;
	f->inv.same_as = NULL;
	free(f);
}
END_TEST

/* A chain of SC_CHAIN_MAX images loads; one more does not. */
START_TEST(chain_too_long)
{
	char dir[512], name[16], parent[16], err[SC_ERR_LEN];
	struct fx *f = fx_new(321);
	struct sc_image img;

	for (int i = 0; i <= SC_CHAIN_MAX; i++) {
		snprintf(name, sizeof(name), "g%d", i);
		write_gen(dir, sizeof(dir), name, f, i ? parent : NULL);
		memcpy(parent, name, sizeof(name));
		if (i == SC_CHAIN_MAX - 1) {
			ck_assert_msg(sc_image_load(dir, &img, err) == 0, "%s", err);
			ck_assert_uint_eq(sc_image_ngens(&img), SC_CHAIN_MAX);
			sc_image_free(&img);
		}
	}
	ck_load_fails(dir, "/g0: more than 64 images in the chain", "a chain too long");
	free(f);
}
END_TEST

static Suite *image_suite(void)
{
	Suite *s = suite_create("image");
	TCase *tc;

	tc = tcase_create("unpack");
	tcase_add_loop_test(tc, unpack_good_roundtrip, 0, N(types));
	tcase_add_loop_test(tc, unpack_bad_header, 0, N(types));
	tcase_add_loop_test(tc, unpack_truncated_and_padded, 0, N(types));
	tcase_add_loop_test(tc, unpack_flipped_payload_byte, 0, N(types));
	tcase_add_loop_test(tc, unpack_garbage_with_good_checksum, 0, N(types));
	tcase_add_test(tc, unpack_missing_nested_required);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("check_mm");
	tcase_add_test(tc, mm_good);
	tcase_add_test(tc, mm_misplaced_vmas);
	tcase_add_test(tc, mm_sysv_segments);
	tcase_add_test(tc, mm_bad_attributes);
	tcase_add_test(tc, mm_file_vma_without_path);
	suite_add_tcase(s, tc);

	tc = tcase_create("check_pagemap");
	tcase_add_test(tc, pagemap_good);
	tcase_add_test(tc, pagemap_frames);
	tcase_add_test(tc, pagemap_chunks);
	tcase_add_test(tc, pagemap_outside_stored_vmas);
	tcase_add_test(tc, pagemap_in_parent);
	tcase_add_test(tc, pagemap_size_mismatch);
	tcase_add_test(tc, pagemap_unordered);
	tcase_add_test(tc, pagemap_malformed_entries);
	suite_add_tcase(s, tc);

	tc = tcase_create("check_core");
	tcase_add_test(tc, core_good);
	tcase_add_test(tc, core_bad_tids);
	tcase_add_test(tc, core_bad_xsave_size);
	tcase_add_test(tc, core_inconsistent_xsave_sw_bytes);
	tcase_add_loop_test(tc, core_xsave_header_semantics, 0, 3);
	tcase_add_test(tc, core_bad_registers_and_fields);
	suite_add_tcase(s, tc);

	tc = tcase_create("check_other");
	tcase_add_test(tc, sigacts_checks);
	tcase_add_test(tc, fds_checks);
	tcase_add_test(tc, fds_inotify_checks);
	tcase_add_test(tc, fds_pidfd_checks);
	tcase_add_test(tc, fds_netlink_checks);
	tcase_add_test(tc, fds_pty_checks);
	tcase_add_test(tc, fds_inet_checks);
	tcase_add_test(tc, fds_unix_checks);
	tcase_add_test(tc, inventory_checks);
	tcase_add_test(tc, inventory_parent_checks);
	tcase_add_test(tc, inventory_cpu_checks);
	tcase_add_test(tc, inventory_shell_job_checks);
	tcase_add_test(tc, core_terminal_checks);
	tcase_add_test(tc, core_posix_timer_checks);
	tcase_add_test(tc, core_xcomp_perm_checks);
	tcase_add_test(tc, core_creds_checks);
	suite_add_tcase(s, tc);

	tc = tcase_create("load");
	tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, load_good_image);
	tcase_add_test(tc, load_to_fill_raw);
	tcase_add_test(tc, load_to_fill_compressed);
	tcase_add_test(tc, chain_resolves);
	tcase_add_test(tc, chain_compressed);
	tcase_add_test(tc, compressed_refused);
	tcase_add_test(tc, chain_refused);
	tcase_add_test(tc, chain_same_as);
	tcase_add_test(tc, chain_too_long);
	tcase_add_test(tc, load_two_processes);
	tcase_add_test(tc, load_pipe_keeper);
	tcase_add_test(tc, load_shell_job);
	tcase_add_test(tc, load_restore_tail);
	tcase_add_test(tc, load_tracker);
	tcase_add_test(tc, load_unix_between_processes);
	tcase_add_test(tc, load_missing_files);
	tcase_add_test(tc, load_flipped_page_byte);
	tcase_add_test(tc, load_damaged_message_files);
	tcase_add_test(tc, load_bad_contents);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(image_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
