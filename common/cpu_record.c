// SPDX-License-Identifier: MIT
/*
 * Reading the CPU through CPUID and XGETBV, and its record in the image.
 * No libc and no allocation: the runtime calls this while the program is
 * frozen (doc/freeze.md), crdump and crload from the libc world.
 */
#include <cpuid.h>

#include "cpu.h"

#define LEAF_FEATURES 1
#define LEAF_EXT_FEATURES 7
#define LEAF_XSAVE 0xd
#define LEAF_EXT_BASE 0x80000000U
/* Leaf 0x80000000 answers the highest extended leaf; a CPU without
 * extended leaves answers with whatever its highest basic leaf holds, which
 * lies outside this range. */
#define LEAF_EXT_LAST 0x8000ffffU
#define LEAF_EXT1 0x80000001U
#define LEAF_BRAND 0x80000002U /* and the two after it */
#define BRAND_LEAVES 3
#define OSXSAVE (1U << 27) /* leaf 1 ecx: XGETBV is enabled */
#define FAMILY_EXTENDED 0xf /* the base family that adds the extended family */
#define FAMILY_P6 0x6 /* which, like 0xf, adds the extended model */

enum { EAX, EBX, ECX, EDX };

static void cpuid_insn(uint32_t leaf, uint32_t subleaf, uint32_t r[4], const void *arg)
{
	(void)arg;
	__cpuid_count(leaf, subleaf, r[EAX], r[EBX], r[ECX], r[EDX]);
}

static void copy_regs(char *dst, const uint32_t *regs, size_t n)
{
	for (size_t i = 0; i < n * sizeof(*regs); i++)
		dst[i] = (char)(regs[i / sizeof(*regs)] >> (8 * (i % sizeof(*regs))));
}

/* The brand string, without the blanks some CPUs pad it with. */
static void brand(struct sc_cpu *c, sc_cpuid_fn fn, const void *arg)
{
	char raw[SC_CPU_NAME_LEN + 1];
	uint32_t r[4];
	size_t i = 0, n = 0, end = 0;

	for (uint32_t k = 0; k < BRAND_LEAVES; k++) {
		fn(LEAF_BRAND + k, 0, r, arg);
		copy_regs(raw + k * sizeof(r), r, 4);
	}
	raw[SC_CPU_NAME_LEN] = '\0';
	while (raw[i] == ' ')
		i++;
	for (size_t k = i; raw[k]; k++)
		if (raw[k] != ' ')
			end = k + 1;
	while (i < end)
		c->name[n++] = raw[i++];
	c->name[n] = '\0';
}

void sc_cpu_decode(struct sc_cpu *c, sc_cpuid_fn fn, const void *arg)
{
	uint32_t r[4], max, ext_max, base_family;

	*c = (struct sc_cpu){ 0 };
	fn(0, 0, r, arg);
	max = r[EAX];
	/* The vendor string is ebx, edx, ecx, in that order. */
	copy_regs(c->vendor, (const uint32_t[]){ r[EBX], r[EDX], r[ECX] }, 3);
	if (max >= LEAF_FEATURES) {
		fn(LEAF_FEATURES, 0, r, arg);
		/* eax: stepping, model, family, type, extended model and
		 * extended family, 4 bits each but the last, of 8. */
		c->stepping = r[EAX] & 0xf;
		c->model = (r[EAX] >> 4) & 0xf;
		base_family = c->family = (r[EAX] >> 8) & 0xf;
		if (base_family == FAMILY_EXTENDED)
			c->family += (r[EAX] >> 20) & 0xff;
		if (base_family == FAMILY_EXTENDED || base_family == FAMILY_P6)
			c->model |= ((r[EAX] >> 16) & 0xf) << 4;
		c->word[SC_CPU_1_ECX] = r[ECX];
		c->word[SC_CPU_1_EDX] = r[EDX];
	}
	if (max >= LEAF_EXT_FEATURES) {
		fn(LEAF_EXT_FEATURES, 0, r, arg);
		c->word[SC_CPU_7_0_EBX] = r[EBX];
		c->word[SC_CPU_7_0_ECX] = r[ECX];
		c->word[SC_CPU_7_0_EDX] = r[EDX];
		/* eax of subleaf 0: the highest subleaf. */
		if (r[EAX] >= 1) {
			fn(LEAF_EXT_FEATURES, 1, r, arg);
			c->word[SC_CPU_7_1_EAX] = r[EAX];
		}
	}
	if (max >= LEAF_XSAVE) {
		fn(LEAF_XSAVE, 1, r, arg);
		c->word[SC_CPU_D_1_EAX] = r[EAX];
	}
	fn(LEAF_EXT_BASE, 0, r, arg);
	ext_max = r[EAX];
	if (ext_max > LEAF_EXT_LAST)
		ext_max = 0;
	if (ext_max >= LEAF_EXT1) {
		fn(LEAF_EXT1, 0, r, arg);
		c->word[SC_CPU_80000001_ECX] = r[ECX];
		c->word[SC_CPU_80000001_EDX] = r[EDX];
	}
	if (ext_max >= LEAF_BRAND + BRAND_LEAVES - 1)
		brand(c, fn, arg);
}

uint64_t sc_cpu_xcr0(void)
{
	uint32_t r[4], lo, hi;

	cpuid_insn(LEAF_FEATURES, 0, r, NULL);
	if (!(r[ECX] & OSXSAVE))
		return 0;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (uint64_t)hi << 32 | lo;
}

void sc_cpu_this(struct sc_cpu *c)
{
	sc_cpu_decode(c, cpuid_insn, NULL);
	c->word[SC_CPU_XCR0] = sc_cpu_xcr0();
}

void sc_cpu_to_msg(const struct sc_cpu *c, Sc__Cpu *m)
{
	sc__cpu__init(m);
	m->vendor = (char *)c->vendor;
	m->family = c->family;
	m->model = c->model;
	m->stepping = c->stepping;
	m->name = c->name[0] ? (char *)c->name : NULL;
	m->leaf1_ecx = (uint32_t)c->word[SC_CPU_1_ECX];
	m->leaf1_edx = (uint32_t)c->word[SC_CPU_1_EDX];
	m->leaf7_ebx = (uint32_t)c->word[SC_CPU_7_0_EBX];
	m->leaf7_ecx = (uint32_t)c->word[SC_CPU_7_0_ECX];
	m->leaf7_edx = (uint32_t)c->word[SC_CPU_7_0_EDX];
	m->leaf7_1_eax = (uint32_t)c->word[SC_CPU_7_1_EAX];
	m->leafd_1_eax = (uint32_t)c->word[SC_CPU_D_1_EAX];
	m->ext1_ecx = (uint32_t)c->word[SC_CPU_80000001_ECX];
	m->ext1_edx = (uint32_t)c->word[SC_CPU_80000001_EDX];
	m->xcr0 = c->word[SC_CPU_XCR0];
}

static void copy_str(char *dst, const char *src, size_t max)
{
	size_t n = 0;

	for (; src && src[n] && n < max; n++)
		dst[n] = src[n];
	dst[n] = '\0';
}

void sc_cpu_from_msg(const Sc__Cpu *m, struct sc_cpu *c)
{
	*c = (struct sc_cpu){ 0 };
	copy_str(c->vendor, m->vendor, SC_CPU_VENDOR_LEN);
	copy_str(c->name, m->name, SC_CPU_NAME_LEN);
	c->family = m->family;
	c->model = m->model;
	c->stepping = m->stepping;
	c->word[SC_CPU_1_ECX] = m->leaf1_ecx;
	c->word[SC_CPU_1_EDX] = m->leaf1_edx;
	c->word[SC_CPU_7_0_EBX] = m->leaf7_ebx;
	c->word[SC_CPU_7_0_ECX] = m->leaf7_ecx;
	c->word[SC_CPU_7_0_EDX] = m->leaf7_edx;
	c->word[SC_CPU_7_1_EAX] = m->leaf7_1_eax;
	c->word[SC_CPU_D_1_EAX] = m->leafd_1_eax;
	c->word[SC_CPU_80000001_ECX] = m->ext1_ecx;
	c->word[SC_CPU_80000001_EDX] = m->ext1_edx;
	c->word[SC_CPU_XCR0] = m->xcr0;
}
