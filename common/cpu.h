/* SPDX-License-Identifier: MIT */
/*
 * The CPU a program ran on, and whether it can run on this one
 * (doc/cpu-check.md).
 *
 * glibc, libm, BLAS libraries and JITs choose their code from CPUID once,
 * at start-up: a process restored on a CPU without a feature it chose
 * code for dies of SIGILL long after a restore that looked fine. The
 * image therefore records the CPUID words user code tests and XCR0, and
 * crload compares them with this CPU before it creates any process.
 *
 * cpu_record.c reads CPUID and converts to and from the image's record:
 * no libc, so the runtime calls it while the program is frozen. cpu.c
 * names the features and compares two CPUs (libc world).
 */
#ifndef SELFCKPT_CPU_H
#define SELFCKPT_CPU_H

#include <stddef.h>
#include <stdint.h>

#include "inventory.pb-c.h"

/* The feature words recorded: CPUID leaf (and subleaf) and register. */
enum sc_cpu_word {
	SC_CPU_1_ECX, /* leaf 1 */
	SC_CPU_1_EDX,
	SC_CPU_7_0_EBX, /* leaf 7 subleaf 0 */
	SC_CPU_7_0_ECX,
	SC_CPU_7_0_EDX,
	SC_CPU_7_1_EAX, /* leaf 7 subleaf 1 */
	SC_CPU_D_1_EAX, /* leaf 0xd subleaf 1: XSAVE instructions */
	SC_CPU_80000001_ECX, /* the extended leaf 0x80000001 */
	SC_CPU_80000001_EDX,
	SC_CPU_XCR0, /* XGETBV(0): the register state the kernel enabled */
	SC_CPU_WORDS
};

#define SC_CPU_VENDOR_LEN 12 /* three registers of leaf 0 */
#define SC_CPU_NAME_LEN 48 /* three leaves of four registers: 0x80000002-4 */

struct sc_cpu {
	char vendor[SC_CPU_VENDOR_LEN + 1];
	char name[SC_CPU_NAME_LEN + 1]; /* the brand string, "" if the CPU has none */
	uint32_t family, model, stepping; /* as /proc/cpuinfo shows them */
	uint64_t word[SC_CPU_WORDS];
};

/* One CPUID query: eax, ebx, ecx, edx of leaf and subleaf into r. */
typedef void (*sc_cpuid_fn)(uint32_t leaf, uint32_t subleaf, uint32_t r[4], const void *arg);

/* ---- cpu_record.c: async-signal-safe, no libc ---- */

/* Fills c from CPUID as fn answers it; word[SC_CPU_XCR0] is left 0. */
void sc_cpu_decode(struct sc_cpu *c, sc_cpuid_fn fn, const void *arg);
/* XGETBV(0): the state components the kernel enabled; 0 where the
 * kernel does not enable XSAVE (OSXSAVE clear). */
uint64_t sc_cpu_xcr0(void);
/* This CPU, XCR0 included. */
void sc_cpu_this(struct sc_cpu *c);
/* The image's record of c: m's strings point into c. */
void sc_cpu_to_msg(const struct sc_cpu *c, Sc__Cpu *m);
/* Back from a record that sc_check_cpu accepted. */
void sc_cpu_from_msg(const Sc__Cpu *m, struct sc_cpu *c);

/* ---- cpu.c ---- */

/* What crload demands of this CPU (--cpu-check). */
enum sc_cpu_check {
	SC_CPU_CHECK_NONE, /* nothing: restore anyway */
	SC_CPU_CHECK_FEATURES, /* every feature the image's CPU had (the default) */
	SC_CPU_CHECK_MODEL, /* those, and the same vendor, family and model */
};

/* Room for every feature name of the table in one message. */
#define SC_CPU_ERR_LEN 2048

/* "none", "features" or "model"; 0, or -1 for anything else. */
int sc_cpu_check_parse(const char *s, enum sc_cpu_check *mode);
/* Whether a program that ran on was can run on now: 0, or -1 with err
 * (len bytes) naming every feature now lacks, or the other model. */
int sc_cpu_compare(const struct sc_cpu *was, const struct sc_cpu *now, enum sc_cpu_check mode,
		   char *err, size_t len);
/* The names of c's features, space separated, XCR0's state components
 * ("xcr0:avx") last. */
void sc_cpu_feature_names(const struct sc_cpu *c, char *buf, size_t len);
/* The names of the register state components XCR0 enables, without the
 * prefix: "x87 sse avx". */
void sc_cpu_state_names(const struct sc_cpu *c, char *buf, size_t len);
/* "x86-64-v3": the highest level of the x86-64 psABI c meets ("x86-64"
 * for the baseline). */
const char *sc_cpu_level(const struct sc_cpu *c);
/* Where the feature of that name is: 0, or -1 if no feature has it. */
int sc_cpu_feature_bit(const char *name, enum sc_cpu_word *word, unsigned *bit);
/* How many named features c has. */
unsigned sc_cpu_feature_count(const struct sc_cpu *c);

#endif
