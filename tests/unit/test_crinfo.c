// SPDX-License-Identifier: MIT
/*
 * Check suite for crinfo's pure parts: the JSON writer (escaping, every
 * kind of protobuf field through the descriptors, layout) and the
 * symbolizer (.symtab of this test program, .dynsym of libc, file and
 * offset where no symbol covers an address), run against this very
 * process's own mappings; memory read through a chain of images; which
 * tiers an image is of.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "crinfo.h"
#include "json.h"
#include "procparse.h"
#include "selfckpt/tiers.h"
#include "testutil.h"

/* ---- JSON ----------------------------------------------------------- */

struct out {
	char *buf;
	size_t len;
	FILE *f;
	struct json j;
};

static void out_open(struct out *o, bool pretty)
{
	o->f = open_memstream(&o->buf, &o->len);
	ck_assert_ptr_nonnull(o->f);
	json_init(&o->j, o->f, pretty);
}

static const char *out_close(struct out *o)
{
	fclose(o->f);
	return o->buf;
}

static const char *string_json(const char *s, size_t len)
{
	static struct out o;

	free(o.buf);
	out_open(&o, false);
	json_string(&o.j, NULL, s, len);
	return out_close(&o);
}

#define STR(lit) string_json(lit, sizeof(lit) - 1)

START_TEST(json_escapes)
{
	ck_assert_str_eq(STR("plain /path"), "\"plain /path\"");
	ck_assert_str_eq(STR("q\"b\\n\nt\t"), "\"q\\\"b\\\\n\\nt\\t\"");
	ck_assert_str_eq(STR("\x01\x1f\x7f"), "\"\\u0001\\u001f\\u007f\"");
	ck_assert_str_eq(STR("nul\0x"), "\"nul\\u0000x\"");
	/* Well-formed UTF-8 passes through, 2 to 4 bytes. */
	ck_assert_str_eq(STR("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"),
			 "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
	/* Anything else is U+FFFD per byte: a stray continuation, an
	 * overlong form, a surrogate, past U+10FFFF, a cut sequence. */
	ck_assert_str_eq(STR("\x80"), "\"\\ufffd\"");
	ck_assert_str_eq(STR("\xc0\xaf"), "\"\\ufffd\\ufffd\"");
	ck_assert_str_eq(STR("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");
	ck_assert_str_eq(STR("\xf4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	ck_assert_str_eq(STR("a\xe2\x82"), "\"a\\ufffd\\ufffd\"");
}
END_TEST

START_TEST(json_string_guarded)
{
	/* A sequence cut at the very end of the buffer: no read past it. */
	struct gbuf g = gbuf_new("ok\xf0\x9f\x98", 5);

	ck_assert_str_eq(string_json(g.data, g.len), "\"ok\\ufffd\\ufffd\\ufffd\"");
	gbuf_free(&g);
}
END_TEST

static char *message_json(const ProtobufCMessage *m, bool pretty)
{
	struct out o;

	out_open(&o, pretty);
	json_message(&o.j, NULL, m);
	out_close(&o);
	return o.buf;
}

START_TEST(json_fields)
{
	Sc__Fd fd = SC__FD__INIT;
	Sc__FileLock lock = SC__FILE_LOCK__INIT, *locks[1] = { &lock };
	ProtobufCBinaryData q[2] = { { 2, (uint8_t *)"ab" }, { 0, NULL } };
	char want[1024], *got;

	fd.fd = -3; /* int32: negative stays negative */
	fd.kind = SC__FD_KIND__PIPE;
	fd.flags = 0x802;
	fd.path = "/tmp/\"x\"";
	fd.has_pos = 1;
	fd.pos = UINT64_MAX; /* uint64: exact */
	fd.cloexec = 1;
	fd.has_size = 0; /* absent optionals are left out */
	fd.size = 99;
	fd.n_queue = 2;
	fd.queue = q;
	fd.n_locks = 1;
	fd.locks = locks;
	lock.type = SC__FILE_LOCK__TYPE__OFD;
	lock.write = 1;
	lock.start = 7;
	got = message_json(&fd.base, false);
	snprintf(
		want, sizeof(want),
		"{\"fd\":-3,\"kind\":\"PIPE\",\"flags\":2050,\"path\":\"/tmp/\\\"x\\\"\","
		"\"pos\":18446744073709551615,\"cloexec\":true,\"epoll\":[],"
		"\"queue\":[{\"len\":2,\"xxh3\":\"0x%016llx\"},{\"len\":0,\"xxh3\":\"0x%016llx\"}],"
		"\"locks\":[{\"type\":\"OFD\",\"write\":true,\"start\":7}],\"watches\":[]}",
		(unsigned long long)XXH3_64bits("ab", 2), (unsigned long long)XXH3_64bits("", 0));
	ck_assert_str_eq(got, want);
	free(got);

	/* A kind this reader does not know (a newer writer): its number. */
	fd.kind = 77;
	fd.n_queue = fd.n_locks = 0;
	fd.path = NULL;
	fd.has_pos = 0;
	got = message_json(&fd.base, false);
	ck_assert_str_eq(got, "{\"fd\":-3,\"kind\":77,\"flags\":2050,\"cloexec\":true,\"epoll\":[],"
			      "\"queue\":[],\"locks\":[],\"watches\":[]}");
	free(got);
}
END_TEST

START_TEST(json_layout)
{
	Sc__Pagemap pm = SC__PAGEMAP__INIT;
	Sc__PagemapEntry e = SC__PAGEMAP_ENTRY__INIT, *ep[1] = { &e };
	char *got;

	e.vaddr = 4096;
	e.nr_pages = 2;
	pm.entries = ep;
	pm.n_entries = 1;
	pm.pages_bytes = 8192;
	got = message_json(&pm.base, true);
	ck_assert_str_eq(got, "{\n"
			      "  \"entries\": [\n"
			      "    {\n"
			      "      \"vaddr\": 4096,\n"
			      "      \"nr_pages\": 2\n"
			      "    }\n"
			      "  ],\n"
			      "  \"pages_bytes\": 8192,\n"
			      "  \"frame_pages\": [],\n"
			      "  \"frame_bytes\": [],\n"
			      "  \"chunk_xxh3\": []\n"
			      "}\n");
	free(got);
}
END_TEST

/* ---- symbolizer -------------------------------------------------------- */

__attribute__((noinline)) int crinfo_test_known_function(int x)
{
	__asm__ volatile("" ::: "memory");
	return x * 3 + 1;
}

/* This process's own memory map as an image would record it. */
struct own_mm {
	Sc__Mm mm;
	Sc__Vma vma[512], *vp[512];
	char path[512][256];
};

static struct own_mm *own_mm(void)
{
	struct own_mm *o = calloc(1, sizeof(*o));
	FILE *f = fopen("/proc/self/maps", "re");
	char line[1024];

	ck_assert_ptr_nonnull(o);
	ck_assert_ptr_nonnull(f);
	sc__mm__init(&o->mm);
	while (fgets(line, sizeof(line), f) && o->mm.n_vmas < 512) {
		size_t i = o->mm.n_vmas;
		Sc__Vma *v = &o->vma[i];
		struct pp_map m;

		if (pp_parse_maps_line(line, strcspn(line, "\n"), &m) || m.start >= SC_TASK_SIZE)
			continue;
		sc__vma__init(v);
		v->start = m.start;
		v->end = m.end;
		v->kind = SC__VMA_KIND__ANON_PRIVATE;
		if (m.path && m.path[0] == '[') {
			static const char *const kinds[] = { "[vvar]", "[vvar_vclock]", "[vdso]" };

			for (int k = 0; k < 3; k++)
				if (m.path_len == strlen(kinds[k]) &&
				    !memcmp(m.path, kinds[k], m.path_len))
					v->kind = SC__VMA_KIND__VVAR + k;
		} else if (m.path && m.path[0] == '/') {
			snprintf(o->path[i], sizeof(o->path[i]), "%.*s", (int)m.path_len, m.path);
			v->path = o->path[i];
			v->kind = SC__VMA_KIND__FILE_PRIVATE;
			v->has_pgoff = v->has_ino = 1;
			v->pgoff = m.pgoff;
			v->ino = m.ino;
		}
		o->vp[i] = v;
		o->mm.n_vmas++;
	}
	fclose(f);
	o->mm.vmas = o->vp;
	return o;
}

START_TEST(symbolize_symtab)
{
	struct own_mm *o = own_mm();
	struct cr_syms *s = cr_syms_new(&o->mm, NULL);
	uint64_t fn = (uint64_t)(uintptr_t)crinfo_test_known_function;
	char exe[256], buf[512];
	struct cr_sym sym;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	ck_assert_int_gt(n, 0);
	exe[n] = '\0';
	cr_symbolize(s, fn, &sym);
	ck_assert_str_eq(sym.name, "crinfo_test_known_function");
	ck_assert_uint_eq(sym.off, 0);
	ck_assert_str_eq(sym.path, exe);
	/* Inside it (it is a few bytes long: the offset stays small). */
	cr_symbolize(s, fn + 1, &sym);
	ck_assert_str_eq(sym.name, "crinfo_test_known_function");
	ck_assert_uint_eq(sym.off, 1);
	snprintf(exe + strlen(exe), sizeof(exe) - strlen(exe), ")");
	cr_sym_format(&sym, fn + 1, buf, sizeof(buf));
	ck_assert_msg(!strncmp(buf, "crinfo_test_known_function+0x1 (", 32) &&
			      !strcmp(buf + 32, exe),
		      "formatted as %s", buf);
	cr_syms_free(s);
	free(o);
}
END_TEST

START_TEST(symbolize_dynsym)
{
	struct own_mm *o = own_mm();
	struct cr_syms *s = cr_syms_new(&o->mm, NULL);
	struct cr_sym sym;

	/* libc is stripped of .symtab on Debian; getpid is exported. */
	cr_symbolize(s, (uint64_t)(uintptr_t)getpid, &sym);
	ck_assert_ptr_nonnull(sym.name);
	ck_assert_msg(strstr(sym.name, "getpid"), "getpid named %s", sym.name);
	ck_assert_uint_eq(sym.off, 0);
	ck_assert_ptr_nonnull(strstr(sym.path, "libc"));
	cr_syms_free(s);
	free(o);
}
END_TEST

START_TEST(symbolize_no_symbol)
{
	struct own_mm *o = own_mm();
	struct cr_syms *s = cr_syms_new(&o->mm, NULL);
	const Sc__Vma *first = NULL;
	void *heap = malloc(64);
	char buf[512];
	struct cr_sym sym;

	/* The ELF header of the program: mapped, but no function there. */
	for (size_t i = 0; i < o->mm.n_vmas && !first; i++)
		if (o->vp[i]->path && o->vp[i]->pgoff == 0)
			first = o->vp[i];
	ck_assert_ptr_nonnull(first);
	cr_symbolize(s, first->start + 0x10, &sym);
	ck_assert_ptr_null(sym.name);
	ck_assert_str_eq(sym.path, first->path);
	ck_assert_uint_eq(sym.file_off, 0x10);
	cr_sym_format(&sym, first->start + 0x10, buf, sizeof(buf));
	ck_assert_msg(!strcmp(buf + strlen(first->path), "+0x10"), "formatted as %s", buf);

	/* Anonymous memory: only the address. */
	cr_symbolize(s, (uint64_t)(uintptr_t)heap, &sym);
	ck_assert_ptr_null(sym.path);
	ck_assert_ptr_null(sym.name);
	cr_sym_format(&sym, 0x1234, buf, sizeof(buf));
	ck_assert_str_eq(buf, "0x1234");
	free(heap);
	cr_syms_free(s);
	free(o);
}
END_TEST

START_TEST(symbolize_replaced_file)
{
	struct own_mm *o = own_mm();
	uint64_t fn = (uint64_t)(uintptr_t)crinfo_test_known_function;
	struct cr_syms *s;
	struct cr_sym sym;

	/* The image says another inode was mapped: no symbols from this one. */
	for (size_t i = 0; i < o->mm.n_vmas; i++)
		o->vp[i]->ino ^= 1;
	s = cr_syms_new(&o->mm, NULL);
	cr_symbolize(s, fn, &sym);
	ck_assert_ptr_null(sym.name);
	ck_assert_ptr_nonnull(sym.path);
	cr_syms_free(s);
	free(o);
}
END_TEST

/* The vDSO is never in an image: this kernel's stands in for it when
 * the image was written under this very kernel. */
START_TEST(symbolize_vdso)
{
	struct own_mm *o = own_mm();
	const Sc__Vma *vdso = NULL;
	struct utsname uts;
	struct cr_syms *s;
	struct cr_sym sym;
	bool found = false;

	ck_assert_int_eq(uname(&uts), 0);
	for (size_t i = 0; i < o->mm.n_vmas; i++)
		if (o->vp[i]->kind == SC__VMA_KIND__VDSO)
			vdso = o->vp[i];
	ck_assert_ptr_nonnull(vdso);
	s = cr_syms_new(&o->mm, uts.release);
	for (uint64_t a = vdso->start; a < vdso->end && !found; a++) {
		cr_symbolize(s, a, &sym);
		ck_assert_str_eq(sym.path, "[vdso]");
		found = sym.name && strstr(sym.name, "clock_gettime");
	}
	ck_assert_msg(found, "no clock_gettime in the vDSO");
	cr_syms_free(s);

	/* Written under another kernel: nothing known there. */
	s = cr_syms_new(&o->mm, "0.0.0-other");
	cr_symbolize(s, vdso->start + 0x10, &sym);
	ck_assert_ptr_null(sym.path);
	cr_syms_free(s);
	free(o);
}
END_TEST

/* ---- chains of images ------------------------------------------------ */

/* A directory holding pages-7.img of n pages, page i filled with fill[i];
 * its descriptor. */
static int pages_dir(char *dir, const char *fill, size_t n)
{
	char path[300], page[4096];
	FILE *f;
	int fd;

	strcpy(dir, "/tmp/sc-test-crinfo.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/pages-7.img", dir);
	f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	for (size_t i = 0; i < n; i++) {
		memset(page, fill[i], sizeof(page));
		ck_assert_uint_eq(fwrite(page, sizeof(page), 1, f), 1);
	}
	fclose(f);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	return fd;
}

/* Memory read through a chain of two images: each page from the
 * generation its run names, zero where none stores it; and each
 * generation's bytes stored and its share of those restored. */
START_TEST(chain_memory)
{
	static Sc__Vma heap = SC__VMA__INIT, *vp[1] = { &heap };
	static Sc__Mm mm = SC__MM__INIT;
	static Sc__Pagemap pm = SC__PAGEMAP__INIT; /* raw */
	struct sc_run runs[] = { { 0x600000, 1, 0, 0 }, { 0x601000, 1, 1, 4096 } };
	struct sc_proc_img child = { .pid = 7, .pages_name = "pages-7.img", .pages_size = 4096 };
	struct sc_proc_img parent = child;
	struct sc_image img = { .procs = &child, .nprocs = 1 };
	struct sc_image pimg = { .procs = &parent, .nprocs = 1 };
	char dir[2][64], path[300], buf[3];
	struct cr_gen_bytes *gens;
	struct cr_syms *syms;
	struct cr_mem *mem;

	heap.start = 0x600000;
	heap.end = 0x604000;
	heap.prot = PROT_READ | PROT_WRITE;
	heap.flags = MAP_PRIVATE;
	heap.kind = SC__VMA_KIND__ANON_PRIVATE;
	mm.vmas = vp;
	mm.n_vmas = 1;
	child.mm = parent.mm = &mm;
	child.pm = parent.pm = &pm;
	child.runs = runs;
	child.nruns = 2;
	parent.pages_size = 2 * 4096;
	img.dirfd = pages_dir(dir[0], "c", 1);
	pimg.dirfd = pages_dir(dir[1], "ab", 2);
	img.parent = &pimg;

	syms = cr_syms_new(&mm, NULL);
	mem = cr_mem_open(&img, &child, syms);
	ck_assert_ptr_nonnull(mem);
	ck_assert_int_eq(cr_mem_read(mem, 0x600ffe, buf, 3), 0); /* across two runs */
	ck_assert_mem_eq(buf, "ccb", 3);
	ck_assert_int_eq(cr_mem_read(mem, 0x601fff, buf, 2), 0); /* then nowhere: zero */
	ck_assert_mem_eq(buf, "b\0", 2);
	cr_mem_close(mem);
	cr_syms_free(syms);

	gens = cr_chain_bytes(&img);
	ck_assert_ptr_nonnull(gens);
	ck_assert_uint_eq(gens[0].stored, 4096);
	ck_assert_uint_eq(gens[0].restored, 4096);
	ck_assert_uint_eq(gens[1].stored, 2 * 4096);
	ck_assert_uint_eq(gens[1].restored, 4096);
	free(gens);
	close(img.dirfd);
	close(pimg.dirfd);
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/pages-7.img", dir[i]);
		unlink(path);
		rmdir(dir[i]);
	}
}
END_TEST

/* ---- tiers ---------------------------------------------------------- */

/* dir/name made, a directory. */
static void make_dir(char *path, size_t len, const char *dir, const char *name)
{
	snprintf(path, len, "%s/%s", dir, name);
	ck_assert_int_eq(mkdir(path, 0700), 0);
}

/*
 * Which tiers an image is of: a generation ckpt-N of a SELFCKPT_DIR whose
 * crflush recorded the shared tier (.flush.to), or --flush-dir named it;
 * one of the shared tier itself has no local tier known; any other image
 * has no tiers. A generation a tier lacks is absent there, one without
 * its inventory incomplete.
 */
START_TEST(tiers_of_image)
{
	char top[] = "/tmp/test_crinfo_tiers.XXXXXX", local[PATH_MAX], shared[PATH_MAX],
	     gen[PATH_MAX + 16], other[PATH_MAX + 16], link[PATH_MAX + 16], sgen[PATH_MAX + 16],
	     from[PATH_MAX + 16];
	char line[CR_TIERS_SUMMARY_LEN], want[CR_TIERS_SUMMARY_LEN];
	struct cr_tiers t;

	ck_assert_ptr_nonnull(mkdtemp(top));
	make_dir(local, sizeof(local), top, "local");
	make_dir(shared, sizeof(shared), top, "shared");
	make_dir(gen, sizeof(gen), local, "ckpt-0007");
	make_dir(other, sizeof(other), local, "img");
	make_dir(sgen, sizeof(sgen), shared, "ckpt-0007");

	cr_image_tiers(gen, NULL, &t);
	ck_assert_uint_eq(t.gen, 0); /* no shared tier known */
	snprintf(link, sizeof(link), "%s/" SC_FLUSH_TO, local);
	ck_assert_int_eq(symlink(shared, link), 0);
	cr_image_tiers(other, NULL, &t);
	ck_assert_uint_eq(t.gen, 0); /* not a generation */

	cr_image_tiers(gen, NULL, &t);
	ck_assert_uint_eq(t.gen, 7);
	ck_assert_str_eq(t.dir[0], local);
	ck_assert_str_eq(t.dir[1], shared);
	ck_assert(!t.complete[0] && !t.complete[1]);
	ck_assert_str_eq(
		cr_tier_state(&t, 0),
		"incomplete: inventory.img: No such file or directory (not a complete image)");
	rmdir(sgen);
	cr_image_tiers(gen, shared, &t);
	ck_assert_str_eq(cr_tier_state(&t, 1), "absent");
	snprintf(want, sizeof(want), "generation 7: local %s (%s); shared absent (%s)",
		 cr_tier_state(&t, 0), local, shared);
	ck_assert_str_eq(cr_tiers_summary(&t, line, sizeof(line)), want);

	make_dir(sgen, sizeof(sgen), shared, "ckpt-0007");
	cr_image_tiers(sgen, shared, &t);
	ck_assert_uint_eq(t.gen, 7);
	ck_assert_str_eq(t.dir[0], "");
	snprintf(want, sizeof(want), "generation 7: shared %s (%s)", cr_tier_state(&t, 1), shared);
	ck_assert_str_eq(cr_tiers_summary(&t, line, sizeof(line)), want);

	/* The shared tier names the SELFCKPT_DIR flushed to it last: an
	 * image there finds its local copy, with or without --flush-dir. */
	snprintf(from, sizeof(from), "%s/" SC_FLUSH_FROM, shared);
	ck_assert_int_eq(symlink(local, from), 0);
	for (int given = 0; given < 2; given++) {
		cr_image_tiers(sgen, given ? shared : NULL, &t);
		ck_assert_uint_eq(t.gen, 7);
		ck_assert_str_eq(t.dir[0], local);
		ck_assert_str_eq(t.dir[1], shared);
	}
	/* That directory on another node: absent here. */
	rmdir(gen);
	cr_image_tiers(sgen, NULL, &t);
	ck_assert_str_eq(cr_tier_state(&t, 0), "absent");

	unlink(from);
	unlink(link);
	rmdir(sgen);
	rmdir(other);
	rmdir(local);
	rmdir(shared);
	rmdir(top);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("crinfo");
	TCase *tj = tcase_create("json"), *ts = tcase_create("symbolizer"),
	      *tc = tcase_create("chain"), *tt = tcase_create("tiers");
	SRunner *sr;
	int failed;

	tcase_add_test(tj, json_escapes);
	tcase_add_test(tj, json_string_guarded);
	tcase_add_test(tj, json_fields);
	tcase_add_test(tj, json_layout);
	tcase_add_test(ts, symbolize_symtab);
	tcase_add_test(ts, symbolize_dynsym);
	tcase_add_test(ts, symbolize_no_symbol);
	tcase_add_test(ts, symbolize_replaced_file);
	tcase_add_test(ts, symbolize_vdso);
	tcase_add_test(tc, chain_memory);
	tcase_add_test(tt, tiers_of_image);
	suite_add_tcase(su, tj);
	suite_add_tcase(su, ts);
	suite_add_tcase(su, tc);
	suite_add_tcase(su, tt);
	sr = srunner_create(su);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
