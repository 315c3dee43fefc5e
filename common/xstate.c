// SPDX-License-Identifier: MIT
/*
 * Signal-frame XSAVE areas against a CPU's layout (xstate.h, doc/xsave.md).
 *
 * rt_sigreturn takes a frame's extended state only if its size (the
 * software bytes at offset 464) is at most what the task's own signal
 * frames hold, and loads each component from this CPU's offset for it:
 * anything else is silently loaded as FXSAVE only, every AVX and AVX-512
 * upper half lost. So a saved area is loaded only if it is exactly what a
 * signal frame of this CPU holds for its components, and it is cut to
 * what a task that never used AMX holds whenever its tile data is unused.
 */
#include <cpuid.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cpu.h"
#include "selfckpt/kernel.h"
#include "xstate.h"

#define CPUID_XSTATE_LEAF 0xd
#define FIRST_EXTENDED 2 /* components below live in the FXSAVE region */

/* Names of the user state components, by the XCR0 bits they take. */
static const struct xfeature_group {
	uint8_t first, last;
	const char *name;
} groups[] = {
	{ 0, 0, "x87" },
	{ 1, 1, "SSE" },
	{ 2, 2, "AVX" },
	{ 3, 4, "MPX" },
	{ 5, 7, "AVX-512" },
	{ 9, 9, "PKRU (protection keys)" },
	{ 17, 17, "AMX tile configuration (XTILECFG)" },
	{ 18, 18, "AMX tile data (XTILEDATA)" },
	{ 19, 19, "APX" },
};

static void read_cpu(struct sc_xstate_cpu *cpu)
{
	unsigned int a, b, c, d;
	uint64_t supported, xcr0 = sc_cpu_xcr0();

	memset(cpu, 0, sizeof(*cpu));
	cpu->features = SC_XFEATURES_LEGACY;
	if (!xcr0)
		return;
	cpu->xsave = true;
	cpu->features = xcr0;
	/* A kernel without it (before 5.16) lets no task use AMX. */
	if (syscall(SYS_arch_prctl, SC_ARCH_GET_XCOMP_SUPP, &supported) == 0)
		cpu->features &= supported;
	else
		cpu->features &= ~SC_XFEATURES_DYNAMIC;
	for (int i = FIRST_EXTENDED; i < SC_XFEATURES_MAX; i++) {
		if (!(cpu->features >> i & 1))
			continue;
		__cpuid_count(CPUID_XSTATE_LEAF, i, a, b, c, d);
		cpu->comp[i] = (struct sc_xstate_comp){ .size = a, .offset = b };
	}
}

const struct sc_xstate_cpu *sc_xstate_this_cpu(void)
{
	static struct sc_xstate_cpu cpu;
	static bool have;

	if (!have) {
		read_cpu(&cpu);
		have = true;
	}
	return &cpu;
}

uint32_t sc_xstate_size(const struct sc_xstate_cpu *cpu, uint64_t features)
{
	uint64_t end = SC_FXSAVE_SIZE + SC_XSAVE_HEADER_SIZE;

	if (!cpu->xsave)
		return SC_FXSAVE_SIZE;
	/* The last component by position, not by number: APX (19) sits
	 * where MPX would. */
	for (int i = FIRST_EXTENDED; i < SC_XFEATURES_MAX; i++) {
		const struct sc_xstate_comp *c = &cpu->comp[i];

		if (features >> i & 1 && (uint64_t)c->offset + c->size > end)
			end = (uint64_t)c->offset + c->size;
	}
	return end > UINT32_MAX ? UINT32_MAX : (uint32_t)end;
}

uint64_t sc_xstate_frame_features(uint64_t xfeatures, uint64_t xstate_bv)
{
	return xfeatures & ~(SC_XFEATURES_DYNAMIC & ~xstate_bv);
}

size_t sc_xstate_fit_frame(const struct sc_xstate_cpu *cpu, uint8_t *area, size_t len,
			   uint64_t *xfeatures)
{
	struct sc_fpx_sw_bytes sw;
	uint64_t xstate_bv, keep;
	uint32_t size;

	if (len < SC_FXSAVE_SIZE + SC_XSAVE_HEADER_SIZE)
		return len; /* FXSAVE only */
	memcpy(&xstate_bv, area + SC_XSAVE_HEADER_OFFSET, sizeof(xstate_bv));
	keep = sc_xstate_frame_features(*xfeatures, xstate_bv);
	size = sc_xstate_size(cpu, keep);
	/* Nothing to cut, or components this CPU cannot size: as it is. */
	if (keep == *xfeatures || (keep & ~cpu->features) || size > len)
		return len;
	memcpy(&sw, area + SC_FPX_SW_OFFSET, sizeof(sw));
	sw.xfeatures = keep;
	sw.xstate_size = size;
	sw.extended_size = size + SC_FP_XSTATE_MAGIC2_SIZE;
	memcpy(area + SC_FPX_SW_OFFSET, &sw, sizeof(sw));
	*xfeatures = keep;
	return size;
}

/* "AVX-512 state (xfeatures 5-7), PKRU ... state (xfeature 9)" for bits. */
static void describe(uint64_t bits, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i < SC_XFEATURES_MAX && n < len; i++) {
		const struct xfeature_group *g = NULL;
		const char *sep = n ? ", " : "";

		if (!(bits >> i & 1))
			continue;
		for (size_t k = 0; k < sizeof(groups) / sizeof(groups[0]); k++)
			if (i >= groups[k].first && i <= groups[k].last)
				g = &groups[k];
		if (!g)
			n += (size_t)snprintf(buf + n, len - n, "%sxfeature %d", sep, i);
		else if (g->first == g->last)
			n += (size_t)snprintf(buf + n, len - n, "%s%s state (xfeature %d)", sep,
					      g->name, i);
		else
			n += (size_t)snprintf(buf + n, len - n, "%s%s state (xfeatures %d-%d)", sep,
					      g->name, g->first, g->last);
		if (g)
			i = g->last;
	}
}

int sc_xstate_check(const struct sc_xstate_cpu *cpu, uint64_t xfeatures, size_t len, char *why,
		    size_t why_len)
{
	uint64_t missing = xfeatures & ~cpu->features;
	uint32_t size;
	char names[256];

	/* FXSAVE only: every x86-64 CPU loads it, and the kernel takes it
	 * as such. */
	if (len == SC_FXSAVE_SIZE)
		return 0;
	if (missing) {
		describe(missing, names, sizeof(names));
		snprintf(why, why_len,
			 "its %s cannot be loaded on this CPU, whose kernel enables xfeatures "
			 "%#" PRIx64,
			 names, cpu->features);
		return -1;
	}
	size = sc_xstate_size(cpu, xfeatures);
	if (len != size) {
		snprintf(why, why_len,
			 "its XSAVE area of %zu bytes (xfeatures %#" PRIx64 ") does not match this "
			 "CPU's layout, where they take %u bytes: it was saved on a CPU of another "
			 "kind",
			 len, xfeatures, size);
		return -1;
	}
	return 0;
}

int sc_xstate_check_core(const struct sc_xstate_cpu *cpu, const Sc__ProcCore *core, char *err,
			 size_t err_len)
{
	char why[512];

	if (core->xcomp_perm & ~cpu->features) {
		describe(core->xcomp_perm & ~cpu->features, why, sizeof(why));
		snprintf(err, err_len,
			 "process %d was allowed to use %s, which this kernel does not offer",
			 core->pid, why);
		return -1;
	}
	for (size_t i = 0; i < core->n_threads; i++) {
		const Sc__ThreadCore *t = core->threads[i];

		if (sc_xstate_check(cpu, t->xfeatures, t->xsave.len, why, sizeof(why))) {
			snprintf(err, err_len, "thread %d: %s", t->tid, why);
			return -1;
		}
	}
	return 0;
}
