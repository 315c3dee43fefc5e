// SPDX-License-Identifier: MIT
/*
 * Vector registers live at the moment of the checkpoint.
 *
 * From before test_ready() until the stop request the main thread never
 * leaves one inline-asm loop that keeps 31 distinct values in zmm0..zmm30
 * (8 distinct lanes each), zmm31 and the opmasks k1..k7, and an iteration
 * count in r8. Each pass it checks:
 *   - zmm31 still holds what the previous pass left in it;
 *   - zmm0 == start0 + r8 in every lane (so the GPR and the vectors agree);
 *   - zmm[i] - zmm[i-1] == start[i] - start[i-1] for i = 1..30;
 *   - k[i] == kstart[i] + r8 for i = 1..7;
 * then adds 1 to everything. The checkpoint signal, the freeze and the
 * restore all happen inside this loop, so any register the restore gets
 * wrong (or any xsave component it drops) fails the check on the next pass.
 *
 * Without AVX-512 (or with E2E_AVX=avx2) the same runs on ymm0..ymm15.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zdtm.h"

/* Offsets below are hard-coded in the asm: keep them in sync. */
struct table {
	uint64_t start[32][8];	/* 0:    initial register values */
	uint64_t delta[32][8];	/* 2048: start[i] - start[i-1] */
	uint64_t ones[8];	/* 4096 */
	uint64_t allones[8];	/* 4160 */
	uint64_t kstart[8];	/* 4224: initial opmask values */
} __attribute__((aligned(64)));

_Static_assert(__builtin_offsetof(struct table, delta) == 2048, "delta");
_Static_assert(__builtin_offsetof(struct table, ones) == 4096, "ones");
_Static_assert(__builtin_offsetof(struct table, allones) == 4160, "allones");
_Static_assert(__builtin_offsetof(struct table, kstart) == 4224, "kstart");

static struct table tbl;
static volatile int stop_flag;

static void on_stop(int sig)
{
	stop_flag = 1;
}

/* ---- AVX-512 ---------------------------------------------------------- */

#define Z_LOAD(i) "vmovdqu64 " #i "*64(%[t]), %%zmm" #i "\n\t"
#define Z_INC(i) "vpaddq 4096(%[t])%{1to8%}, %%zmm" #i ", %%zmm" #i "\n\t"
/* zmm[a] - zmm[b] must equal delta[a]; id a. */
#define Z_PAIR(a, b)                                                  \
	"vpsubq %%zmm" #b ", %%zmm" #a ", %%zmm31\n\t"                \
	"vpcmpneqq 2048+" #a "*64(%[t]), %%zmm31, %%k0\n\t"           \
	"mov $" #a ", %%ecx\n\t"                                      \
	"kortestw %%k0, %%k0\n\t"                                     \
	"jnz 9f\n\t"
#define K_LOAD(i) "mov 4224+" #i "*8(%[t]), %%rax\n\tkmovq %%rax, %%k" #i "\n\t"
/* k[i] must equal kstart[i] + r8; id 100 + i. Then k[i] += 1. */
#define K_STEP(i)                                   \
	"kmovq %%k" #i ", %%rax\n\t"                \
	"mov 4224+" #i "*8(%[t]), %%rdx\n\t"        \
	"add %%r8, %%rdx\n\t"                       \
	"mov $10" #i ", %%ecx\n\t"                  \
	"cmp %%rdx, %%rax\n\t"                      \
	"jne 9f\n\t"                                \
	"inc %%rax\n\t"                             \
	"kmovq %%rax, %%k" #i "\n\t"

#define Z_ALL(M)                                                                          \
	M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13) M(14) \
	M(15) M(16) M(17) M(18) M(19) M(20) M(21) M(22) M(23) M(24) M(25) M(26) M(27)  \
	M(28) M(29) M(30)
#define K_ALL(M) M(1) M(2) M(3) M(4) M(5) M(6) M(7)

__attribute__((target("avx512f,avx512bw"), noinline)) static int
loop_avx512(uint64_t *iters)
{
	int fail;
	uint64_t n;

	__asm__ volatile(
		"xor %%r8, %%r8\n\t"
		Z_ALL(Z_LOAD)
		"vmovdqu64 2048+30*64(%[t]), %%zmm31\n\t"
		K_ALL(K_LOAD)
		"1:\n\t"
		"cmpl $0, %[stop]\n\t"
		"jne 8f\n\t"
		/* zmm31 still holds delta[30]; id 31 */
		"vpcmpneqq 2048+30*64(%[t]), %%zmm31, %%k0\n\t"
		"mov $31, %%ecx\n\t"
		"kortestw %%k0, %%k0\n\t"
		"jnz 9f\n\t"
		/* zmm0 == start[0] + r8; id 0 */
		"vpbroadcastq %%r8, %%zmm31\n\t"
		"vpaddq 0(%[t]), %%zmm31, %%zmm31\n\t"
		"vpcmpneqq %%zmm0, %%zmm31, %%k0\n\t"
		"mov $0, %%ecx\n\t"
		"kortestw %%k0, %%k0\n\t"
		"jnz 9f\n\t"
		Z_PAIR(1, 0) Z_PAIR(2, 1) Z_PAIR(3, 2) Z_PAIR(4, 3) Z_PAIR(5, 4)
		Z_PAIR(6, 5) Z_PAIR(7, 6) Z_PAIR(8, 7) Z_PAIR(9, 8) Z_PAIR(10, 9)
		Z_PAIR(11, 10) Z_PAIR(12, 11) Z_PAIR(13, 12) Z_PAIR(14, 13)
		Z_PAIR(15, 14) Z_PAIR(16, 15) Z_PAIR(17, 16) Z_PAIR(18, 17)
		Z_PAIR(19, 18) Z_PAIR(20, 19) Z_PAIR(21, 20) Z_PAIR(22, 21)
		Z_PAIR(23, 22) Z_PAIR(24, 23) Z_PAIR(25, 24) Z_PAIR(26, 25)
		Z_PAIR(27, 26) Z_PAIR(28, 27) Z_PAIR(29, 28) Z_PAIR(30, 29)
		K_ALL(K_STEP)
		Z_ALL(Z_INC)
		"inc %%r8\n\t"
		"jmp 1b\n\t"
		"8:\n\t"
		"mov $-1, %%ecx\n\t"
		"9:\n\t"
		"mov %%r8, %[n]\n\t"
		"mov %%ecx, %[fail]\n\t"
		"vzeroupper\n\t"
		: [n] "=m"(n), [fail] "=m"(fail)
		: [t] "r"(&tbl), [stop] "m"(stop_flag)
		: "rax", "rcx", "rdx", "r8", "cc", "memory",
		  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
		  "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
		  "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23",
		  "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31",
		  "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7");
	*iters = n;
	return fail;
}

/* ---- AVX2 ------------------------------------------------------------- */

#define Y_LOAD(i) "vmovdqu " #i "*64(%[t]), %%ymm" #i "\n\t"
#define Y_INC(i) "vpaddq 4096(%[t]), %%ymm" #i ", %%ymm" #i "\n\t"
/* ymm[a] - ymm[b] must equal delta[a]; id a. Leaves ymm15 all ones. */
#define Y_PAIR(a, b)                                           \
	"vpsubq %%ymm" #b ", %%ymm" #a ", %%ymm15\n\t"         \
	"vpcmpeqq 2048+" #a "*64(%[t]), %%ymm15, %%ymm15\n\t"  \
	"vpmovmskb %%ymm15, %%eax\n\t"                         \
	"mov $" #a ", %%ecx\n\t"                               \
	"cmp $-1, %%eax\n\t"                                   \
	"jne 9f\n\t"
#define Y_ALL(M) \
	M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13) M(14)

__attribute__((target("avx2"), noinline)) static int loop_avx2(uint64_t *iters)
{
	int fail;
	uint64_t n;

	__asm__ volatile(
		"xor %%r8, %%r8\n\t"
		Y_ALL(Y_LOAD)
		"vmovdqu 4160(%[t]), %%ymm15\n\t"
		"1:\n\t"
		"cmpl $0, %[stop]\n\t"
		"jne 8f\n\t"
		/* ymm15 still all ones; id 15 */
		"vpcmpeqq 4160(%[t]), %%ymm15, %%ymm15\n\t"
		"vpmovmskb %%ymm15, %%eax\n\t"
		"mov $15, %%ecx\n\t"
		"cmp $-1, %%eax\n\t"
		"jne 9f\n\t"
		/* ymm0 == start[0] + r8; id 0 */
		"vmovq %%r8, %%xmm15\n\t"
		"vpbroadcastq %%xmm15, %%ymm15\n\t"
		"vpaddq 0(%[t]), %%ymm15, %%ymm15\n\t"
		"vpcmpeqq %%ymm0, %%ymm15, %%ymm15\n\t"
		"vpmovmskb %%ymm15, %%eax\n\t"
		"mov $0, %%ecx\n\t"
		"cmp $-1, %%eax\n\t"
		"jne 9f\n\t"
		Y_PAIR(1, 0) Y_PAIR(2, 1) Y_PAIR(3, 2) Y_PAIR(4, 3) Y_PAIR(5, 4)
		Y_PAIR(6, 5) Y_PAIR(7, 6) Y_PAIR(8, 7) Y_PAIR(9, 8) Y_PAIR(10, 9)
		Y_PAIR(11, 10) Y_PAIR(12, 11) Y_PAIR(13, 12) Y_PAIR(14, 13)
		Y_ALL(Y_INC)
		"inc %%r8\n\t"
		"jmp 1b\n\t"
		"8:\n\t"
		"mov $-1, %%ecx\n\t"
		"9:\n\t"
		"mov %%r8, %[n]\n\t"
		"mov %%ecx, %[fail]\n\t"
		"vzeroupper\n\t"
		: [n] "=m"(n), [fail] "=m"(fail)
		: [t] "r"(&tbl), [stop] "m"(stop_flag)
		: "rax", "rcx", "rdx", "r8", "cc", "memory",
		  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
		  "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
	*iters = n;
	return fail;
}

int main(int argc, char **argv)
{
	const char *force = getenv("E2E_AVX");
	bool avx512;
	struct sigaction sa;
	uint64_t iters = 0;
	int fail;
	char reg[16];

	test_init(argc, argv);
	__builtin_cpu_init();
	avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
	if (force && !strcmp(force, "avx2"))
		avx512 = false;
	if (!avx512 && !__builtin_cpu_supports("avx2"))
		test_fail("neither AVX-512 nor AVX2 on this CPU");

	for (int i = 0; i < 32; i++)
		for (int j = 0; j < 8; j++)
			tbl.start[i][j] = test_mix((uint64_t)(i * 8 + j)) >> 2;
	for (int i = 1; i < 32; i++)
		for (int j = 0; j < 8; j++)
			tbl.delta[i][j] = tbl.start[i][j] - tbl.start[i - 1][j];
	for (int j = 0; j < 8; j++) {
		tbl.ones[j] = 1;
		tbl.allones[j] = ~0ULL;
		tbl.kstart[j] = test_mix(1000 + j) >> 1;
	}

	/* The stop request only raises a flag the asm loop polls. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);

	printf("avx: using %s\n", avx512 ? "AVX-512 (zmm0-31, k1-7)" : "AVX2 (ymm0-15)");
	test_ready();
	fail = avx512 ? loop_avx512(&iters) : loop_avx2(&iters);
	if (fail >= 0) {
		if (avx512)
			snprintf(reg, sizeof(reg), fail > 100 ? "k%d" : "zmm%d",
				 fail > 100 ? fail - 100 : fail);
		else
			snprintf(reg, sizeof(reg), "ymm%d", fail);
		test_fail("%s is wrong at iteration %llu (%s)", reg,
			  (unsigned long long)iters, avx512 ? "AVX-512" : "AVX2");
	}
	if (iters < 1000)
		test_fail("only %llu iterations", (unsigned long long)iters);
	printf("avx: %llu iterations, registers intact\n", (unsigned long long)iters);
	test_pass();
}
