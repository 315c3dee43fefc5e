// SPDX-License-Identifier: MIT
/*
 * The CPU features user code can test, by name, and whether a program
 * that ran on one CPU can run on another (doc/cpu-check.md).
 *
 * Only the bits named here are compared: instructions and register state
 * a program or its libraries may have chosen code for. Bits that tell
 * about the system rather than what user code may execute (the APIC,
 * virtualization, the hypervisor bit, speculation controls) differ
 * between machines that run the same binaries alike and are left out, and
 * so are instructions that execute as NOPs where the CPU lacks them (MPX,
 * HLE's prefixes, the PREFETCHW and PREFETCHWT1 hints, CLDEMOTE).
 * Names are /proc/cpuinfo's where it has one.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cpu.h"

/* The names of XCR0's bits: state components, not instructions. */
#define STATE "xcr0:"

struct feature {
	enum sc_cpu_word word;
	unsigned bit;
	const char *name;
};

static const struct feature features[] = {
	{ SC_CPU_1_EDX, 0, "fpu" },
	{ SC_CPU_1_EDX, 4, "tsc" },
	{ SC_CPU_1_EDX, 8, "cx8" },
	{ SC_CPU_1_EDX, 15, "cmov" },
	{ SC_CPU_1_EDX, 19, "clflush" },
	{ SC_CPU_1_EDX, 23, "mmx" },
	{ SC_CPU_1_EDX, 24, "fxsr" },
	{ SC_CPU_1_EDX, 25, "sse" },
	{ SC_CPU_1_EDX, 26, "sse2" },
	{ SC_CPU_1_ECX, 0, "pni" },
	{ SC_CPU_1_ECX, 1, "pclmulqdq" },
	{ SC_CPU_1_ECX, 9, "ssse3" },
	{ SC_CPU_1_ECX, 12, "fma" },
	{ SC_CPU_1_ECX, 13, "cx16" },
	{ SC_CPU_1_ECX, 19, "sse4_1" },
	{ SC_CPU_1_ECX, 20, "sse4_2" },
	{ SC_CPU_1_ECX, 22, "movbe" },
	{ SC_CPU_1_ECX, 23, "popcnt" },
	{ SC_CPU_1_ECX, 25, "aes" },
	{ SC_CPU_1_ECX, 26, "xsave" },
	{ SC_CPU_1_ECX, 27, "osxsave" },
	{ SC_CPU_1_ECX, 28, "avx" },
	{ SC_CPU_1_ECX, 29, "f16c" },
	{ SC_CPU_1_ECX, 30, "rdrand" },
	{ SC_CPU_7_0_EBX, 0, "fsgsbase" },
	{ SC_CPU_7_0_EBX, 3, "bmi1" },
	{ SC_CPU_7_0_EBX, 5, "avx2" },
	{ SC_CPU_7_0_EBX, 8, "bmi2" },
	{ SC_CPU_7_0_EBX, 9, "erms" },
	{ SC_CPU_7_0_EBX, 11, "rtm" },
	{ SC_CPU_7_0_EBX, 16, "avx512f" },
	{ SC_CPU_7_0_EBX, 17, "avx512dq" },
	{ SC_CPU_7_0_EBX, 18, "rdseed" },
	{ SC_CPU_7_0_EBX, 19, "adx" },
	{ SC_CPU_7_0_EBX, 21, "avx512ifma" },
	{ SC_CPU_7_0_EBX, 23, "clflushopt" },
	{ SC_CPU_7_0_EBX, 24, "clwb" },
	{ SC_CPU_7_0_EBX, 26, "avx512pf" },
	{ SC_CPU_7_0_EBX, 27, "avx512er" },
	{ SC_CPU_7_0_EBX, 28, "avx512cd" },
	{ SC_CPU_7_0_EBX, 29, "sha_ni" },
	{ SC_CPU_7_0_EBX, 30, "avx512bw" },
	{ SC_CPU_7_0_EBX, 31, "avx512vl" },
	{ SC_CPU_7_0_ECX, 1, "avx512vbmi" },
	{ SC_CPU_7_0_ECX, 3, "pku" },
	{ SC_CPU_7_0_ECX, 4, "ospke" },
	{ SC_CPU_7_0_ECX, 5, "waitpkg" },
	{ SC_CPU_7_0_ECX, 6, "avx512_vbmi2" },
	{ SC_CPU_7_0_ECX, 8, "gfni" },
	{ SC_CPU_7_0_ECX, 9, "vaes" },
	{ SC_CPU_7_0_ECX, 10, "vpclmulqdq" },
	{ SC_CPU_7_0_ECX, 11, "avx512_vnni" },
	{ SC_CPU_7_0_ECX, 12, "avx512_bitalg" },
	{ SC_CPU_7_0_ECX, 14, "avx512_vpopcntdq" },
	{ SC_CPU_7_0_ECX, 22, "rdpid" },
	{ SC_CPU_7_0_ECX, 27, "movdiri" },
	{ SC_CPU_7_0_ECX, 28, "movdir64b" },
	{ SC_CPU_7_0_EDX, 2, "avx512_4vnniw" },
	{ SC_CPU_7_0_EDX, 3, "avx512_4fmaps" },
	{ SC_CPU_7_0_EDX, 4, "fsrm" },
	{ SC_CPU_7_0_EDX, 8, "avx512_vp2intersect" },
	{ SC_CPU_7_0_EDX, 14, "serialize" },
	{ SC_CPU_7_0_EDX, 16, "tsxldtrk" },
	{ SC_CPU_7_0_EDX, 22, "amx_bf16" },
	{ SC_CPU_7_0_EDX, 23, "avx512_fp16" },
	{ SC_CPU_7_0_EDX, 24, "amx_tile" },
	{ SC_CPU_7_0_EDX, 25, "amx_int8" },
	{ SC_CPU_7_1_EAX, 0, "sha512" },
	{ SC_CPU_7_1_EAX, 1, "sm3" },
	{ SC_CPU_7_1_EAX, 2, "sm4" },
	{ SC_CPU_7_1_EAX, 4, "avx_vnni" },
	{ SC_CPU_7_1_EAX, 5, "avx512_bf16" },
	{ SC_CPU_7_1_EAX, 7, "cmpccxadd" },
	{ SC_CPU_7_1_EAX, 10, "fzrm" },
	{ SC_CPU_7_1_EAX, 11, "fsrs" },
	{ SC_CPU_7_1_EAX, 12, "fsrc" },
	{ SC_CPU_7_1_EAX, 21, "amx_fp16" },
	{ SC_CPU_7_1_EAX, 23, "avx_ifma" },
	{ SC_CPU_D_1_EAX, 0, "xsaveopt" },
	{ SC_CPU_D_1_EAX, 1, "xsavec" },
	{ SC_CPU_D_1_EAX, 2, "xgetbv1" },
	{ SC_CPU_80000001_ECX, 0, "lahf_lm" },
	{ SC_CPU_80000001_ECX, 5, "abm" },
	{ SC_CPU_80000001_ECX, 6, "sse4a" },
	{ SC_CPU_80000001_ECX, 7, "misalignsse" },
	{ SC_CPU_80000001_ECX, 11, "xop" },
	{ SC_CPU_80000001_ECX, 16, "fma4" },
	{ SC_CPU_80000001_ECX, 21, "tbm" },
	{ SC_CPU_80000001_ECX, 29, "mwaitx" },
	{ SC_CPU_80000001_EDX, 11, "syscall" },
	{ SC_CPU_80000001_EDX, 22, "mmxext" },
	{ SC_CPU_80000001_EDX, 25, "fxsr_opt" },
	{ SC_CPU_80000001_EDX, 27, "rdtscp" },
	{ SC_CPU_80000001_EDX, 29, "lm" },
	{ SC_CPU_80000001_EDX, 30, "3dnowext" },
	{ SC_CPU_80000001_EDX, 31, "3dnow" },
	/* The state components the kernel enabled in XCR0: a program whose
	 * code uses the registers is lost where they are not enabled, even on
	 * a CPU that has the instructions. */
	{ SC_CPU_XCR0, 0, STATE "x87" },
	{ SC_CPU_XCR0, 1, STATE "sse" },
	{ SC_CPU_XCR0, 2, STATE "avx" },
	{ SC_CPU_XCR0, 5, STATE "opmask" },
	{ SC_CPU_XCR0, 6, STATE "zmm_hi256" },
	{ SC_CPU_XCR0, 7, STATE "hi16_zmm" },
	{ SC_CPU_XCR0, 9, STATE "pkru" },
	{ SC_CPU_XCR0, 17, STATE "xtilecfg" },
	{ SC_CPU_XCR0, 18, STATE "xtiledata" },
	{ SC_CPU_XCR0, 19, STATE "apx" },
};

#define NFEATURES (sizeof(features) / sizeof(features[0]))

/* The x86-64 psABI's microarchitecture levels, each adding to the one
 * before it: what compilers target with -march=x86-64-vN. */
static const char *const level_v2[] = { "cx16",	  "lahf_lm", "popcnt", "pni",
					"sse4_1", "sse4_2",  "ssse3",  NULL };
static const char *const level_v3[] = { "avx", "avx2", "bmi1",	"bmi2",	   "f16c",
					"fma", "abm",  "movbe", "osxsave", NULL };
static const char *const level_v4[] = { "avx512f",  "avx512bw", "avx512cd",
					"avx512dq", "avx512vl", NULL };

static bool has(const struct sc_cpu *c, const struct feature *f)
{
	return c->word[f->word] >> f->bit & 1;
}

int sc_cpu_feature_bit(const char *name, enum sc_cpu_word *word, unsigned *bit)
{
	for (size_t i = 0; i < NFEATURES; i++) {
		if (!strcmp(features[i].name, name)) {
			*word = features[i].word;
			*bit = features[i].bit;
			return 0;
		}
	}
	return -1;
}

static bool has_named(const struct sc_cpu *c, const char *name)
{
	enum sc_cpu_word w;
	unsigned bit;

	return !sc_cpu_feature_bit(name, &w, &bit) && c->word[w] >> bit & 1;
}

static bool has_all(const struct sc_cpu *c, const char *const *names)
{
	for (; *names; names++)
		if (!has_named(c, *names))
			return false;
	return true;
}

const char *sc_cpu_level(const struct sc_cpu *c)
{
	if (!has_all(c, level_v2))
		return "x86-64";
	if (!has_all(c, level_v3))
		return "x86-64-v2";
	return has_all(c, level_v4) ? "x86-64-v4" : "x86-64-v3";
}

unsigned sc_cpu_feature_count(const struct sc_cpu *c)
{
	unsigned n = 0;

	for (size_t i = 0; i < NFEATURES; i++)
		n += has(c, &features[i]);
	return n;
}

/* Appends to buf (len bytes, n of them used); truncates, never overflows. */
static size_t append(char *buf, size_t len, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static size_t append(char *buf, size_t len, size_t n, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (n >= len)
		return n;
	va_start(ap, fmt);
	r = vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
	return r < 0 ? n : n + (size_t)r;
}

/* Appends the names of the features c has and lacks does not (NULL:
 * none), sep between them. */
static size_t names_of(const struct sc_cpu *c, const struct sc_cpu *lacks, const char *sep,
		       char *buf, size_t len, size_t n)
{
	size_t first = n;

	for (size_t i = 0; i < NFEATURES; i++)
		if (has(c, &features[i]) && !(lacks && has(lacks, &features[i])))
			n = append(buf, len, n, "%s%s", n > first ? sep : "", features[i].name);
	return n;
}

void sc_cpu_feature_names(const struct sc_cpu *c, char *buf, size_t len)
{
	buf[0] = '\0';
	names_of(c, NULL, " ", buf, len, 0);
}

void sc_cpu_state_names(const struct sc_cpu *c, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NFEATURES; i++)
		if (features[i].word == SC_CPU_XCR0 && has(c, &features[i]))
			n = append(buf, len, n, "%s%s", n ? " " : "",
				   features[i].name + strlen(STATE));
}

int sc_cpu_check_parse(const char *s, enum sc_cpu_check *mode)
{
	static const char *const names[] = {
		[SC_CPU_CHECK_NONE] = "none",
		[SC_CPU_CHECK_FEATURES] = "features",
		[SC_CPU_CHECK_MODEL] = "model",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i])) {
			*mode = (enum sc_cpu_check)i;
			return 0;
		}
	}
	return -1;
}

/* "GenuineIntel family 6 model 85 (Intel(R) Xeon(R) Gold 6130)" */
static size_t describe(const struct sc_cpu *c, char *buf, size_t len, size_t n)
{
	n = append(buf, len, n, "%s family %u model %u", c->vendor, c->family, c->model);
	return c->name[0] ? append(buf, len, n, " (%s)", c->name) : n;
}

int sc_cpu_compare(const struct sc_cpu *was, const struct sc_cpu *now, enum sc_cpu_check mode,
		   char *err, size_t len)
{
	size_t n = 0;
	bool missing = false;

	err[0] = '\0';
	if (mode == SC_CPU_CHECK_NONE)
		return 0;
	for (size_t i = 0; i < NFEATURES; i++)
		missing |= has(was, &features[i]) && !has(now, &features[i]);
	if (missing) {
		n = append(err, len, n, "this CPU lacks ");
		n = names_of(was, now, ", ", err, len, n);
	} else if (mode == SC_CPU_CHECK_MODEL &&
		   (strcmp(was->vendor, now->vendor) || was->family != now->family ||
		    was->model != now->model)) {
		n = append(err, len, n, "another CPU model");
	} else {
		return 0;
	}
	n = append(err, len, n, ": the image was written on ");
	n = describe(was, err, len, n);
	n = append(err, len, n, ", this is ");
	describe(now, err, len, n);
	return -1;
}
