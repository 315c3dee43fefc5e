/* SPDX-License-Identifier: MIT */
/*
 * The XSAVE area of a signal frame, as this CPU and kernel lay it out and
 * take it back on rt_sigreturn (doc/xsave.md): its size for a set of
 * state components (xfeatures), what crdump stores for a thread, which
 * threads the restorer must first let use AMX, and which saved areas
 * cannot be loaded here at all. Everything but sc_xstate_this_cpu works
 * on a table of CPUID leaf 0xD, so that the unit tests run it for CPUs
 * other than the one they run on.
 */
#ifndef SELFCKPT_XSTATE_H
#define SELFCKPT_XSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.pb-c.h"

#define SC_XFEATURE_X87 0
#define SC_XFEATURE_SSE 1
#define SC_XFEATURE_XTILEDATA 18
#define SC_XFEATURES_MAX 64 /* bits of XCR0 */
/* x87 and SSE: the legacy FXSAVE region, which every x86-64 CPU has. */
#define SC_XFEATURES_LEGACY ((1ULL << SC_XFEATURE_X87) | (1ULL << SC_XFEATURE_SSE))
/*
 * Components the kernel arms Extended Feature Disable (XFD) for: a task's
 * signal frames leave them out until the task has used them once (the
 * #NM the first use raises makes the kernel enlarge its fpstate).
 */
#define SC_XFEATURES_DYNAMIC (1ULL << SC_XFEATURE_XTILEDATA)
/* arch_prctl: the dynamic components the kernel offers, and those the
 * calling process was allowed. */
#define SC_ARCH_GET_XCOMP_SUPP 0x1021
#define SC_ARCH_GET_XCOMP_PERM 0x1022
#define SC_FXSAVE_SIZE 512
#define SC_XSAVE_HEADER_SIZE 64
#define SC_XSAVE_HEADER_OFFSET SC_FXSAVE_SIZE /* XSTATE_BV is its first word */

/* One state component in the standard (uncompacted) format of signal
 * frames: CPUID leaf 0xD, sub-leaf i, eax and ebx. */
struct sc_xstate_comp {
	uint32_t size, offset;
};

/* What a CPU and kernel offer a restored thread. */
struct sc_xstate_cpu {
	bool xsave; /* OSXSAVE: signal frames hold an XSAVE area */
	uint64_t features; /* user components enabled (XCR0) and permitted */
	struct sc_xstate_comp comp[SC_XFEATURES_MAX]; /* used for i >= 2 */
};

/* This CPU and kernel, read once: CPUID leaf 0xD, XGETBV and
 * ARCH_GET_XCOMP_SUPP. */
const struct sc_xstate_cpu *sc_xstate_this_cpu(void);

/* Bytes of a signal frame's XSAVE area holding the components in
 * features: where the last of them ends, at least the legacy region and
 * the XSAVE header (the FXSAVE region alone without XSAVE). */
uint32_t sc_xstate_size(const struct sc_xstate_cpu *cpu, uint64_t features);

/*
 * The components a signal frame of the thread would hold: those of
 * xfeatures, without a dynamic one that is in its initial state
 * (XSTATE_BV, the header's first word, has its bit clear). Such a frame
 * is entered with rt_sigreturn by any thread, one that never used AMX
 * included; a frame with a dynamic component only by a thread whose
 * fpstate the kernel has enlarged (sc_xstate_needs_enlarging).
 */
uint64_t sc_xstate_frame_features(uint64_t xfeatures, uint64_t xstate_bv);

/* Whether a thread must use its dynamic components (AMX) once before it
 * enters a frame holding features. */
static inline bool sc_xstate_needs_enlarging(uint64_t features)
{
	return (features & SC_XFEATURES_DYNAMIC) != 0;
}

/*
 * Cuts the XSAVE area of len bytes at area (a signal frame's, software
 * bytes at offset 464 consistent) down to what a signal frame of the
 * thread holds (sc_xstate_frame_features) on cpu, rewriting the software
 * bytes to say so. Returns its new length; *xfeatures is updated.
 */
size_t sc_xstate_fit_frame(const struct sc_xstate_cpu *cpu, uint8_t *area, size_t len,
			   uint64_t *xfeatures);

/*
 * Whether an XSAVE area of len bytes with the components xfeatures can be
 * loaded as it is on cpu: 0, or -1 with why ("its AVX-512 state
 * (xfeatures 5-7) cannot be loaded on this CPU ...", to follow a "thread
 * N: ").
 */
int sc_xstate_check(const struct sc_xstate_cpu *cpu, uint64_t xfeatures, size_t len, char *why,
		    size_t why_len);

/* The same for every thread of a process, and whether the kernel offers
 * the dynamic components the process was allowed: 0, or -1 with err
 * ("thread N: its ..."). */
int sc_xstate_check_core(const struct sc_xstate_cpu *cpu, const Sc__ProcCore *core, char *err,
			 size_t err_len);

#endif
