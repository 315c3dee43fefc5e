// SPDX-License-Identifier: MIT
/*
 * AMX tiles live at the moment of the checkpoint.
 *
 * Before test_ready() the program loads a tile configuration, zeroes the
 * accumulator tile tmm0 and loads two int8 matrices into tmm1 and tmm2.
 * Until the stop request it then adds tmm1 x tmm2 to tmm0 (tdpbssd), and
 * after every step stores all three tiles and the configuration back and
 * checks them: tmm0 must hold n times the product after n steps, tmm1,
 * tmm2 and the configuration what was loaded. The checkpoint and the
 * restore fall between two steps, so a tile or a configuration the restore
 * loses or the kernel drops (an XSAVE frame it silently takes as FXSAVE
 * only, doc/xsave.md) fails the next check.
 *
 * With --probe it only says whether this machine can run it: exit 77 with
 * the reason where the CPU or the kernel has no AMX (tests/e2e/run skips
 * the test then).
 */
#include <cpuid.h>
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtm.h"

#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILECFG 17
#define XFEATURE_XTILEDATA 18
#define CPUID_EXT_FEATURES 7
#define AMX_TILE_EDX_BIT 24
#define AMX_INT8_EDX_BIT 25
#define SKIP_STATUS 77 /* automake's "skipped" */
#define ROWS 16 /* M rows of A and C, K/4 rows of B */
#define ROW_BYTES 64 /* K int8 of A, N groups of 4 int8 of B, N int32 of C */
#define N_COLS (ROW_BYTES / 4)
#define MIN_STEPS 1000
#define PALETTE 1

/* The 64-byte operand of ldtilecfg and sttilecfg. */
struct tilecfg {
	uint8_t palette, start_row;
	uint8_t reserved[14];
	uint16_t colsb[16];
	uint8_t rows[16];
};

_Static_assert(sizeof(struct tilecfg) == 64, "tile configuration is 64 bytes");

static struct tilecfg cfg;
static int8_t a[ROWS][ROW_BYTES], b[ROWS][ROW_BYTES];
static int32_t product[ROWS][N_COLS]; /* a x b, as tdpbssd computes it */

/* Why AMX cannot be used here, or NULL. Also asks the kernel for the
 * permission, which a process needs before its first tile instruction. */
static const char *amx_missing(void)
{
	unsigned int eax, ebx, ecx, edx;
	uint32_t lo, hi;
	uint64_t xcr0, tiles = 1ULL << XFEATURE_XTILECFG | 1ULL << XFEATURE_XTILEDATA;

	if (!__get_cpuid_count(CPUID_EXT_FEATURES, 0, &eax, &ebx, &ecx, &edx) ||
	    !(edx >> AMX_TILE_EDX_BIT & 1) || !(edx >> AMX_INT8_EDX_BIT & 1))
		return "this CPU has no AMX (amx-tile, amx-int8)";
	if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & bit_OSXSAVE))
		return "the kernel does not enable XSAVE";
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	xcr0 = (uint64_t)hi << 32 | lo;
	if ((xcr0 & tiles) != tiles)
		return "the kernel does not enable AMX state (XCR0)";
	if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA))
		return "the kernel does not let this process use AMX (ARCH_REQ_XCOMP_PERM)";
	return NULL;
}

__attribute__((target("amx-tile,amx-int8"), noinline)) static void tiles_load(void)
{
	_tile_loadconfig(&cfg);
	_tile_zero(0);
	_tile_loadd(1, a, ROW_BYTES);
	_tile_loadd(2, b, ROW_BYTES);
}

__attribute__((target("amx-tile,amx-int8"), noinline)) static void tiles_step(void)
{
	_tile_dpbssd(0, 1, 2);
}

__attribute__((target("amx-tile,amx-int8"), noinline)) static void
tiles_store(int32_t (*c)[N_COLS], int8_t (*ta)[ROW_BYTES], int8_t (*tb)[ROW_BYTES],
	    struct tilecfg *tc)
{
	_tile_stored(0, c, ROW_BYTES);
	_tile_stored(1, ta, ROW_BYTES);
	_tile_stored(2, tb, ROW_BYTES);
	_tile_storeconfig(tc);
}

/* Every tile and the configuration as they must be after steps steps. */
static void check(uint64_t steps)
{
	static int32_t c[ROWS][N_COLS];
	static int8_t ta[ROWS][ROW_BYTES], tb[ROWS][ROW_BYTES];
	struct tilecfg tc;

	tiles_store(c, ta, tb, &tc);
	if (memcmp(&tc, &cfg, sizeof(cfg)))
		test_fail("the tile configuration is wrong after step %llu",
			  (unsigned long long)steps);
	if (memcmp(ta, a, sizeof(a)) || memcmp(tb, b, sizeof(b)))
		test_fail("tile %d is wrong after step %llu", memcmp(ta, a, sizeof(a)) ? 1 : 2,
			  (unsigned long long)steps);
	for (int m = 0; m < ROWS; m++)
		for (int n = 0; n < N_COLS; n++) {
			/* int32 accumulation wraps, as unsigned arithmetic does. */
			uint32_t want = (uint32_t)steps * (uint32_t)product[m][n];

			if ((uint32_t)c[m][n] != want)
				test_fail(
					"tile 0 is wrong after step %llu at row %d column %d: %d, "
					"want %d",
					(unsigned long long)steps, m, n, c[m][n], (int32_t)want);
		}
}

/* -4 to 4: products of 64 of them stay small. */
static int8_t small(uint64_t x)
{
	return (int8_t)((int)(x % 9) - 4);
}

static void setup(void)
{
	cfg.palette = PALETTE;
	for (int t = 0; t < 3; t++) {
		cfg.colsb[t] = ROW_BYTES;
		cfg.rows[t] = ROWS;
	}
	for (int m = 0; m < ROWS; m++)
		for (int k = 0; k < ROW_BYTES; k++) {
			a[m][k] = small(test_mix((uint64_t)(m * ROW_BYTES + k)));
			b[m][k] = small(test_mix((uint64_t)(ROWS * ROW_BYTES + m * ROW_BYTES + k)));
		}
	/* C[m][n] += sum over k, i of A[m][4k+i] * B[k][4n+i]. */
	for (int m = 0; m < ROWS; m++)
		for (int n = 0; n < N_COLS; n++) {
			int32_t sum = 0;

			for (int k = 0; k < ROWS; k++)
				for (int i = 0; i < 4; i++)
					sum += a[m][4 * k + i] * b[k][4 * n + i];
			product[m][n] = sum;
		}
}

int main(int argc, char **argv)
{
	const char *missing = amx_missing();
	uint64_t steps = 0;

	if (argc > 1 && !strcmp(argv[1], "--probe")) {
		if (!missing)
			return 0;
		printf("SKIP: amx: %s\n", missing);
		return SKIP_STATUS;
	}
	test_init(argc, argv);
	if (missing)
		test_fail("%s", missing);
	setup();
	tiles_load();
	check(steps);
	printf("amx: tiles loaded, %d x %d int8 products accumulating\n", ROWS, ROW_BYTES);
	test_ready();
	while (!test_stopping()) {
		tiles_step();
		check(++steps);
	}
	if (steps < MIN_STEPS)
		test_fail("only %llu steps", (unsigned long long)steps);
	printf("amx: %llu steps, tiles intact\n", (unsigned long long)steps);
	test_pass();
}
