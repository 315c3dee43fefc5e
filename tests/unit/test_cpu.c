// SPDX-License-Identifier: MIT
/*
 * Check suite for common/cpu.[ch] and common/cpu_record.c: CPUID answers
 * of real CPUs decoded (vendor, family, model, features), and the
 * restore-time comparison between them, on any machine.
 *
 * The tables hold what CPUID returns on each CPU for the leaves selfckpt
 * reads (a few registers as later microcode or a hypervisor leaves them);
 * a leaf a table does not list answers garbage, as leaves past the
 * highest one do on real CPUs, so reading one fails the test.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cpu.h"
#include "testutil.h"

#define GARBAGE 0xdeadbeefU
#define VENDOR_INTEL 0x756e6547, 0x6c65746e, 0x49656e69 /* ebx ecx edx: "GenuineIntel" */
#define VENDOR_AMD 0x68747541, 0x444d4163, 0x69746e65 /* "AuthenticAMD" */

struct leaf {
	uint32_t leaf, subleaf, eax, ebx, ecx, edx;
};

struct table {
	const char *what;
	uint64_t xcr0;
	const char *brand; /* leaves 0x80000002-4, where the table has them */
	struct leaf leaves[8];
};

/* Core i7-4770 (Haswell, 06_3C): AVX2 and FMA, no AVX-512; TSX off by
 * microcode. */
static const struct table haswell = {
	"Haswell",
	0x7,
	"       Intel(R) Core(TM) i7-4770 CPU @ 3.40GHz",
	{ { 0, 0, 0xd, VENDOR_INTEL },
	  { 1, 0, 0x000306c3, 0x02100800, 0x7ffafbff, 0xbfebfbff },
	  { 7, 0, 0, 0x000027ab, 0, 0x9c000000 },
	  { 0xd, 1, 0x1, 0, 0, 0 },
	  { 0x80000000, 0, 0x80000008, 0, 0, 0 },
	  { 0x80000001, 0, 0, 0, 0x00000021, 0x2c100800 } },
};

/* Xeon Gold 6130 (Skylake-SP, 06_55): AVX-512 F/DQ/CD/BW/VL, TSX. */
static const struct table skylake_sp = {
	"Skylake-SP",
	0x2e7,
	"Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz",
	{ { 0, 0, 0x16, VENDOR_INTEL },
	  { 1, 0, 0x00050654, 0x00400800, 0x7ffefbff, 0xbfebfbff },
	  { 7, 0, 0, 0xd19ffffb, 0x0000000c, 0x9c000000 },
	  { 0xd, 1, 0xf, 0, 0, 0 },
	  { 0x80000000, 0, 0x80000008, 0, 0, 0 },
	  { 0x80000001, 0, 0, 0, 0x00000121, 0x2c100800 } },
};

/* Xeon Platinum 8480+ (Sapphire Rapids, 06_8F): AMX, AVX-512 FP16. */
static const struct table sapphire_rapids = {
	"Sapphire Rapids",
	0x602e7,
	"Intel(R) Xeon(R) Platinum 8480+",
	{ { 0, 0, 0x20, VENDOR_INTEL },
	  { 1, 0, 0x000806f8, 0x00800800, 0x7ffefbff, 0xbfebfbff },
	  { 7, 0, 2, 0xf3bfbfff, 0xfb417ffe, 0xffdd4430 },
	  { 7, 1, 0x00401c30, 0, 0, 0 },
	  { 0xd, 1, 0x1f, 0, 0, 0 },
	  { 0x80000000, 0, 0x80000008, 0, 0, 0 },
	  { 0x80000001, 0, 0, 0, 0x00000121, 0x2c100800 } },
};

/* EPYC 9654 (Zen 4, family 0x19 model 0x11): AVX-512 with BF16, no TSX. */
static const struct table zen4 = {
	"Zen 4",
	0x2e7,
	"AMD EPYC 9654 96-Core Processor                 ",
	{ { 0, 0, 0x10, VENDOR_AMD },
	  { 1, 0, 0x00a10f11, 0x00800800, 0x7ef8320b, 0x178bfbff },
	  { 7, 0, 1, 0xf1bf97a9, 0x00405fce, 0x00000010 },
	  { 7, 1, 0x00000020, 0, 0, 0 },
	  { 0xd, 1, 0xf, 0, 0, 0 },
	  { 0x80000000, 0, 0x80000028, 0, 0, 0 },
	  { 0x80000001, 0, 0x00a10f11, 0, 0x75c237ff, 0x2fd3fbff } },
};

/* An old CPU whose highest leaf is 5: leaf 7 and 0xd must not be read,
 * and neither the extended leaves past 0x80000001. */
static const struct table core2 = {
	"Core 2",
	0x3,
	NULL,
	{ { 0, 0, 0x5, VENDOR_INTEL },
	  { 1, 0, 0x000006f6, 0x00020800, 0x0000e3bd, 0xbfebfbff },
	  { 0x80000000, 0, 0x80000001, 0, 0, 0 },
	  { 0x80000001, 0, 0, 0, 0x00000001, 0x20100800 } },
};

#define BRAND_LEAF 0x80000002U
#define BRAND_LEAVES 3

static void from_table(uint32_t leaf, uint32_t subleaf, uint32_t r[4], const void *arg)
{
	const struct table *t = arg;

	if (t->brand && leaf >= BRAND_LEAF && leaf < BRAND_LEAF + BRAND_LEAVES) {
		char s[BRAND_LEAVES * 16 + 1] = { 0 };

		memcpy(s, t->brand, strnlen(t->brand, sizeof(s) - 1));
		memcpy(r, s + (leaf - BRAND_LEAF) * 16, 16);
		return;
	}

	for (size_t i = 0; i < sizeof(t->leaves) / sizeof(t->leaves[0]); i++) {
		const struct leaf *l = &t->leaves[i];

		/* Unused slots of the table are all zero. */
		if (l->leaf == leaf && l->subleaf == subleaf &&
		    (l->eax | l->ebx | l->ecx | l->edx)) {
			r[0] = l->eax, r[1] = l->ebx, r[2] = l->ecx, r[3] = l->edx;
			return;
		}
	}
	r[0] = r[1] = r[2] = r[3] = GARBAGE;
}

static struct sc_cpu cpu_of(const struct table *t)
{
	struct sc_cpu c;

	sc_cpu_decode(&c, from_table, t);
	c.word[SC_CPU_XCR0] = t->xcr0;
	return c;
}

static bool has(const struct sc_cpu *c, const char *name)
{
	char names[SC_CPU_ERR_LEN], *save;

	sc_cpu_feature_names(c, names, sizeof(names));
	for (char *w = strtok_r(names, " ", &save); w; w = strtok_r(NULL, " ", &save))
		if (!strcmp(w, name))
			return true;
	return false;
}

/* Whether err lists name among the missing features: "lacks a, b, c: ". */
static bool names_missing(const char *err, const char *name)
{
	const char *list = strstr(err, "lacks "), *end = strstr(err, ": the image");
	size_t n = strlen(name);

	if (!list || !end)
		return false;
	for (const char *p = list + strlen("lacks "); p < end; p += strcspn(p, ",") + 2)
		if (!strncmp(p, name, n) && (p[n] == ',' || p + n == end))
			return true;
	return false;
}

START_TEST(test_decode_identity)
{
	struct sc_cpu h = cpu_of(&haswell), s = cpu_of(&sapphire_rapids), z = cpu_of(&zen4);

	ck_assert_str_eq(h.vendor, "GenuineIntel");
	ck_assert_uint_eq(h.family, 6);
	ck_assert_uint_eq(h.model, 0x3c);
	ck_assert_uint_eq(h.stepping, 3);
	/* The leading blanks of the brand string go. */
	ck_assert_str_eq(h.name, "Intel(R) Core(TM) i7-4770 CPU @ 3.40GHz");
	ck_assert_uint_eq(s.model, 0x8f);
	ck_assert_uint_eq(s.stepping, 8);
	ck_assert_str_eq(z.vendor, "AuthenticAMD");
	/* Family 0xf plus the extended family 0xa; the extended model too. */
	ck_assert_uint_eq(z.family, 0x19);
	ck_assert_uint_eq(z.model, 0x11);
	/* And the trailing ones. */
	ck_assert_str_eq(z.name, "AMD EPYC 9654 96-Core Processor");
}
END_TEST

START_TEST(test_decode_features)
{
	struct sc_cpu h = cpu_of(&haswell), k = cpu_of(&skylake_sp), s = cpu_of(&sapphire_rapids),
		      z = cpu_of(&zen4);

	ck_assert(has(&h, "avx2") && has(&h, "fma") && has(&h, "bmi2") && has(&h, "erms"));
	ck_assert(!has(&h, "avx512f") && !has(&h, "rtm") && !has(&h, "xcr0:opmask"));
	ck_assert(has(&k, "avx512f") && has(&k, "avx512vl") && has(&k, "rtm"));
	ck_assert(!has(&k, "amx_tile") && !has(&k, "sha_ni"));
	ck_assert(has(&s, "amx_tile") && has(&s, "amx_int8") && has(&s, "avx512_fp16"));
	ck_assert(has(&s, "avx_vnni") && has(&s, "xcr0:xtiledata") && has(&s, "movdir64b"));
	ck_assert(has(&z, "avx512_bf16") && has(&z, "sha_ni") && has(&z, "sse4a"));
	ck_assert(!has(&z, "rtm") && !has(&z, "amx_tile"));
	/* Hints that run as NOPs where absent are not features. */
	ck_assert(!has(&k, "mpx") && !has(&k, "hle"));
	ck_assert_str_eq(sc_cpu_level(&h), "x86-64-v3");
	ck_assert_str_eq(sc_cpu_level(&k), "x86-64-v4");
	ck_assert_str_eq(sc_cpu_level(&z), "x86-64-v4");
}
END_TEST

/* Leaves past the highest one are never read: their garbage would claim
 * every feature. */
START_TEST(test_decode_old_cpu)
{
	struct sc_cpu c = cpu_of(&core2);

	ck_assert_uint_eq(c.word[SC_CPU_7_0_EBX], 0);
	ck_assert_uint_eq(c.word[SC_CPU_7_1_EAX], 0);
	ck_assert_uint_eq(c.word[SC_CPU_D_1_EAX], 0);
	ck_assert_str_eq(c.name, "");
	ck_assert(has(&c, "ssse3") && has(&c, "lahf_lm") && !has(&c, "sse4_1"));
	ck_assert_str_eq(sc_cpu_level(&c), "x86-64");
	/* The Skylake-SP's highest subleaf of leaf 7 is 0. */
	c = cpu_of(&skylake_sp);
	ck_assert_uint_eq(c.word[SC_CPU_7_1_EAX], 0);
}
END_TEST

/* An image from a newer CPU is refused on an older one, naming every
 * feature it lacks, and only those. */
START_TEST(test_newer_refused)
{
	static const char *const avx512[] = { "avx512f",	"avx512dq",	 "avx512cd",
					      "avx512bw",	"avx512vl",	 "xcr0:opmask",
					      "xcr0:zmm_hi256", "xcr0:hi16_zmm", "rtm",
					      "xsavec",		"xgetbv1" };
	struct sc_cpu h = cpu_of(&haswell), k = cpu_of(&skylake_sp), s = cpu_of(&sapphire_rapids);
	char err[SC_CPU_ERR_LEN];

	ck_assert_int_eq(sc_cpu_compare(&k, &h, SC_CPU_CHECK_FEATURES, err, sizeof(err)), -1);
	for (size_t i = 0; i < sizeof(avx512) / sizeof(avx512[0]); i++)
		ck_assert_msg(names_missing(err, avx512[i]), "%s not named in: %s", avx512[i], err);
	ck_assert_msg(!names_missing(err, "avx2") && !names_missing(err, "fma"), "%s", err);
	ck_assert_ptr_nonnull(strstr(err, "written on GenuineIntel family 6 model 85 (Intel(R) "
					  "Xeon(R) Gold 6130 CPU @ 2.10GHz), this is GenuineIntel "
					  "family 6 model 60"));
	ck_assert_ptr_null(strchr(err, '\n'));

	ck_assert_int_eq(sc_cpu_compare(&s, &k, SC_CPU_CHECK_FEATURES, err, sizeof(err)), -1);
	ck_assert(names_missing(err, "amx_tile") && names_missing(err, "amx_bf16") &&
		  names_missing(err, "amx_int8") && names_missing(err, "avx512_fp16") &&
		  names_missing(err, "xcr0:xtilecfg") && names_missing(err, "xcr0:xtiledata"));
	ck_assert_msg(!names_missing(err, "avx512f"), "%s", err);

	/* Every missing name fits: Sapphire Rapids to Haswell is the most. */
	ck_assert_int_eq(sc_cpu_compare(&s, &h, SC_CPU_CHECK_FEATURES, err, sizeof(err)), -1);
	ck_assert(names_missing(err, "amx_tile") && names_missing(err, "avx512f") &&
		  names_missing(err, "sha_ni") && names_missing(err, "avx_vnni"));
	ck_assert_ptr_nonnull(strstr(err, "this is GenuineIntel family 6 model 60 (Intel"));
}
END_TEST

START_TEST(test_same_or_newer_accepted)
{
	struct sc_cpu h = cpu_of(&haswell), k = cpu_of(&skylake_sp), s = cpu_of(&sapphire_rapids),
		      z = cpu_of(&zen4);
	char err[SC_CPU_ERR_LEN];

	ck_assert_int_eq(sc_cpu_compare(&h, &h, SC_CPU_CHECK_FEATURES, err, sizeof(err)), 0);
	ck_assert_int_eq(sc_cpu_compare(&h, &k, SC_CPU_CHECK_FEATURES, err, sizeof(err)), 0);
	ck_assert_int_eq(sc_cpu_compare(&k, &s, SC_CPU_CHECK_FEATURES, err, sizeof(err)), 0);
	/* Another vendor is fine if it has the features... */
	ck_assert_int_eq(sc_cpu_compare(&h, &z, SC_CPU_CHECK_FEATURES, err, sizeof(err)), 0);
	/* ...and refused if not: Zen 4 has no TSX. */
	ck_assert_int_eq(sc_cpu_compare(&k, &z, SC_CPU_CHECK_FEATURES, err, sizeof(err)), -1);
	ck_assert_msg(names_missing(err, "rtm") && !names_missing(err, "avx512f"), "%s", err);
	/* And the other way, AMD's own features. */
	ck_assert_int_eq(sc_cpu_compare(&z, &s, SC_CPU_CHECK_FEATURES, err, sizeof(err)), -1);
	ck_assert_msg(names_missing(err, "sse4a") && !names_missing(err, "avx512_bf16"), "%s", err);
	/* --cpu-check=none: anything goes. */
	ck_assert_int_eq(sc_cpu_compare(&s, &h, SC_CPU_CHECK_NONE, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
}
END_TEST

/* model: the same vendor, family and model, on top of the features. */
START_TEST(test_model_mode)
{
	struct sc_cpu h = cpu_of(&haswell), other = h, k = cpu_of(&skylake_sp);
	char err[SC_CPU_ERR_LEN];

	ck_assert_int_eq(sc_cpu_compare(&h, &h, SC_CPU_CHECK_MODEL, err, sizeof(err)), 0);
	other.stepping = 4; /* another stepping is the same model */
	ck_assert_int_eq(sc_cpu_compare(&h, &other, SC_CPU_CHECK_MODEL, err, sizeof(err)), 0);
	other.model = 0x3f; /* Haswell-EP */
	ck_assert_int_eq(sc_cpu_compare(&h, &other, SC_CPU_CHECK_FEATURES, err, sizeof(err)), 0);
	ck_assert_int_eq(sc_cpu_compare(&h, &other, SC_CPU_CHECK_MODEL, err, sizeof(err)), -1);
	ck_assert_msg(!strncmp(err, "another CPU model: ", strlen("another CPU model: ")), "%s",
		      err);
	ck_assert_ptr_nonnull(strstr(err, "this is GenuineIntel family 6 model 63"));
	/* A newer model that has every feature is still another model. */
	ck_assert_int_eq(sc_cpu_compare(&h, &k, SC_CPU_CHECK_MODEL, err, sizeof(err)), -1);
	memcpy(other.vendor, "AuthenticAMD", sizeof(other.vendor));
	other.model = h.model;
	ck_assert_int_eq(sc_cpu_compare(&h, &other, SC_CPU_CHECK_MODEL, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_parse)
{
	enum sc_cpu_check m = SC_CPU_CHECK_FEATURES;

	ck_assert_int_eq(sc_cpu_check_parse("none", &m), 0);
	ck_assert_int_eq(m, SC_CPU_CHECK_NONE);
	ck_assert_int_eq(sc_cpu_check_parse("model", &m), 0);
	ck_assert_int_eq(m, SC_CPU_CHECK_MODEL);
	ck_assert_int_eq(sc_cpu_check_parse("features", &m), 0);
	ck_assert_int_eq(m, SC_CPU_CHECK_FEATURES);
	ck_assert_int_eq(sc_cpu_check_parse("fpu", &m), -1);
	ck_assert_int_eq(sc_cpu_check_parse("", &m), -1);
	ck_assert_int_eq(m, SC_CPU_CHECK_FEATURES);
}
END_TEST

/* The image's record gives back the same CPU. */
START_TEST(test_record_round_trip)
{
	const struct table *t[] = { &haswell, &skylake_sp, &sapphire_rapids, &zen4, &core2 };

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct sc_cpu c = cpu_of(t[i]), back;
		Sc__Cpu m;
		uint8_t buf[512];
		size_t n;
		Sc__Cpu *u;

		sc_cpu_to_msg(&c, &m);
		n = sc__cpu__get_packed_size(&m);
		ck_assert_uint_le(n, sizeof(buf));
		sc__cpu__pack(&m, buf);
		u = sc__cpu__unpack(NULL, n, buf);
		ck_assert_ptr_nonnull(u);
		sc_cpu_from_msg(u, &back);
		ck_assert_str_eq(back.vendor, c.vendor);
		ck_assert_str_eq(back.name, c.name);
		ck_assert(back.family == c.family && back.model == c.model &&
			  back.stepping == c.stepping);
		ck_assert_msg(!memcmp(back.word, c.word, sizeof(c.word)), "%s", t[i]->what);
		sc__cpu__free_unpacked(u, NULL);
	}
}
END_TEST

/* This machine's CPU reads back as itself and can run what it wrote. */
START_TEST(test_this_cpu)
{
	struct sc_cpu a, b;
	char err[SC_CPU_ERR_LEN];

	sc_cpu_this(&a);
	sc_cpu_this(&b);
	ck_assert(a.vendor[0]);
	ck_assert(has(&a, "sse2") && has(&a, "lm"));
	ck_assert_int_eq(sc_cpu_compare(&a, &b, SC_CPU_CHECK_MODEL, err, sizeof(err)), 0);
}
END_TEST

static Suite *cpu_suite(void)
{
	Suite *s = suite_create("cpu");
	TCase *tc = tcase_create("cpu");

	tcase_add_test(tc, test_decode_identity);
	tcase_add_test(tc, test_decode_features);
	tcase_add_test(tc, test_decode_old_cpu);
	tcase_add_test(tc, test_newer_refused);
	tcase_add_test(tc, test_same_or_newer_accepted);
	tcase_add_test(tc, test_model_mode);
	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_record_round_trip);
	tcase_add_test(tc, test_this_cpu);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(cpu_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
