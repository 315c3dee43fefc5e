// SPDX-License-Identifier: MIT
/*
 * Signal-frame XSAVE areas against CPUs (common/xstate.c): frame sizes,
 * what crdump keeps of a thread's area, which threads the restorer makes
 * use AMX before they enter their frames, and which areas crload refuses,
 * each from CPUID leaf 0xD tables of CPUs with and without AVX-512 and
 * AMX, so that every machine tests all of them; and this machine's own
 * signal frames against its live table.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include "selfckpt/kernel.h"
#include "testutil.h"
#include "xstate.h"

#define COMP(i, sz, off) [i] = { .size = sz, .offset = off }

/* Intel Skylake client: AVX and MPX, no AVX-512. */
static const struct sc_xstate_cpu skylake_client = {
	.xsave = true,
	.features = 0x1f,
	.comp = { COMP(2, 256, 576), COMP(3, 64, 960), COMP(4, 64, 1024) },
};

/* Intel Skylake-SP: AVX-512 and PKRU at Intel's offsets, MPX, no AMX. */
static const struct sc_xstate_cpu skylake_sp = {
	.xsave = true,
	.features = 0x2ff,
	.comp = { COMP(2, 256, 576), COMP(3, 64, 960), COMP(4, 64, 1024), COMP(5, 64, 1088),
		  COMP(6, 512, 1152), COMP(7, 1024, 1664), COMP(9, 8, 2688) },
};

/* AMD EPYC with AVX-512 under Firecracker (the machine these tests were
 * written on, read with CPUID): AVX-512 packed right after AVX. */
static const struct sc_xstate_cpu epyc_vm = {
	.xsave = true,
	.features = 0xe7,
	.comp = { COMP(2, 256, 576), COMP(5, 64, 832), COMP(6, 512, 896), COMP(7, 1024, 1408) },
};

/* Intel Sapphire Rapids: AVX-512, PKRU and AMX, no MPX. */
static const struct sc_xstate_cpu sapphire_rapids = {
	.xsave = true,
	.features = 0x602e7,
	.comp = { COMP(2, 256, 576), COMP(5, 64, 1088), COMP(6, 512, 1152), COMP(7, 1024, 1664),
		  COMP(9, 8, 2688), COMP(17, 64, 2752), COMP(18, 8192, 2816) },
};

/* A CPU or kernel without XSAVE: signal frames hold FXSAVE only. */
static const struct sc_xstate_cpu fxsave_only = { .xsave = false, .features = 0x3 };

#define SPR_FULL 0x602e7ULL /* what ptrace reports on Sapphire Rapids */
#define SPR_NO_TILES 0x202e7ULL /* a signal frame of a thread that never used AMX */
#define SPR_FULL_SIZE 11008 /* 2816 + 8192 */
#define SPR_NO_TILES_SIZE 2816 /* XTILECFG ends there */
#define AVX512_BV 0xe7ULL /* x87, SSE, AVX and AVX-512 live */

START_TEST(frame_sizes)
{
	ck_assert_uint_eq(sc_xstate_size(&skylake_client, 0x3), 576);
	ck_assert_uint_eq(sc_xstate_size(&skylake_client, 0x7), 832);
	ck_assert_uint_eq(sc_xstate_size(&skylake_client, 0x1f), 1088);
	ck_assert_uint_eq(sc_xstate_size(&skylake_sp, 0x2ff), 2696);
	ck_assert_uint_eq(sc_xstate_size(&epyc_vm, 0xe7), 2432);
	ck_assert_uint_eq(sc_xstate_size(&epyc_vm, 0x7), 832);
	ck_assert_uint_eq(sc_xstate_size(&sapphire_rapids, SPR_NO_TILES), SPR_NO_TILES_SIZE);
	ck_assert_uint_eq(sc_xstate_size(&sapphire_rapids, SPR_FULL), SPR_FULL_SIZE);
	ck_assert_uint_eq(sc_xstate_size(&sapphire_rapids, 0xe7), 2688);
	ck_assert_uint_eq(sc_xstate_size(&fxsave_only, 0x3), 512);
}
END_TEST

/* An XSAVE area as crdump builds it from PTRACE_GETREGSET, or a signal
 * frame: software bytes and XSTATE_BV. */
static uint8_t *make_area(size_t len, uint64_t xfeatures, uint64_t xstate_bv)
{
	uint8_t *a = calloc(1, SC_XSAVE_MAX);
	struct sc_fpx_sw_bytes sw = { .magic1 = SC_FP_XSTATE_MAGIC1,
				      .extended_size = (uint32_t)len + SC_FP_XSTATE_MAGIC2_SIZE,
				      .xfeatures = xfeatures,
				      .xstate_size = (uint32_t)len };

	ck_assert_ptr_nonnull(a);
	memcpy(a + SC_FPX_SW_OFFSET, &sw, sizeof(sw));
	memcpy(a + SC_XSAVE_HEADER_OFFSET, &xstate_bv, sizeof(xstate_bv));
	return a;
}

static struct sc_fpx_sw_bytes sw_of(const uint8_t *a)
{
	struct sc_fpx_sw_bytes sw;

	memcpy(&sw, a + SC_FPX_SW_OFFSET, sizeof(sw));
	return sw;
}

/* The avx test on Sapphire Rapids: AVX-512 live, tiles never used. The
 * area ptrace gives is cut to a signal frame's, which any thread takes. */
START_TEST(crdump_cuts_unused_tile_data)
{
	uint8_t *a = make_area(SPR_FULL_SIZE, SPR_FULL, AVX512_BV);
	uint64_t features = SPR_FULL;
	size_t len = sc_xstate_fit_frame(&sapphire_rapids, a, SPR_FULL_SIZE, &features);
	struct sc_fpx_sw_bytes sw = sw_of(a);
	char why[512];

	ck_assert_uint_eq(len, SPR_NO_TILES_SIZE);
	ck_assert_uint_eq(features, SPR_NO_TILES);
	ck_assert_uint_eq(sw.magic1, SC_FP_XSTATE_MAGIC1);
	ck_assert_uint_eq(sw.xstate_size, SPR_NO_TILES_SIZE);
	ck_assert_uint_eq(sw.extended_size, SPR_NO_TILES_SIZE + SC_FP_XSTATE_MAGIC2_SIZE);
	ck_assert_uint_eq(sw.xfeatures, SPR_NO_TILES);
	ck_assert(!sc_xstate_needs_enlarging(features));
	ck_assert_int_eq(sc_xstate_check(&sapphire_rapids, features, len, why, sizeof(why)), 0);
	free(a);
}
END_TEST

/* Live tile data stays, and the restorer must let the thread use AMX
 * first; so must a runtime image of a thread that used AMX. */
START_TEST(live_tile_data_kept)
{
	uint64_t bv = AVX512_BV | 1ULL << SC_XFEATURE_XTILEDATA;
	uint8_t *a = make_area(SPR_FULL_SIZE, SPR_FULL, bv);
	uint64_t features = SPR_FULL;
	size_t len = sc_xstate_fit_frame(&sapphire_rapids, a, SPR_FULL_SIZE, &features);
	char why[512];

	ck_assert_uint_eq(len, SPR_FULL_SIZE);
	ck_assert_uint_eq(features, SPR_FULL);
	ck_assert_uint_eq(sw_of(a).xstate_size, SPR_FULL_SIZE);
	ck_assert(sc_xstate_needs_enlarging(features));
	ck_assert_int_eq(sc_xstate_check(&sapphire_rapids, features, len, why, sizeof(why)), 0);
	free(a);
}
END_TEST

/* Frames of CPUs without dynamic components are left as they are. */
START_TEST(no_amx_unchanged)
{
	const struct {
		const struct sc_xstate_cpu *cpu;
		uint64_t features;
	} cases[] = { { &skylake_client, 0x1f }, { &skylake_sp, 0x2ff }, { &epyc_vm, 0xe7 } };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint32_t size = sc_xstate_size(cases[i].cpu, cases[i].features);
		uint8_t *a = make_area(size, cases[i].features, 0x3);
		uint64_t features = cases[i].features;

		ck_assert_uint_eq(sc_xstate_fit_frame(cases[i].cpu, a, size, &features), size);
		ck_assert_uint_eq(features, cases[i].features);
		ck_assert(!sc_xstate_needs_enlarging(features));
		free(a);
	}
	/* Components the CPU does not know: never cut by guess. */
	uint8_t *spr = make_area(SPR_FULL_SIZE, SPR_FULL, AVX512_BV);
	uint64_t spr_features = SPR_FULL;

	ck_assert_uint_eq(sc_xstate_fit_frame(&epyc_vm, spr, SPR_FULL_SIZE, &spr_features),
			  SPR_FULL_SIZE);
	ck_assert_uint_eq(spr_features, SPR_FULL);
	free(spr);
	/* FXSAVE only: nothing to cut. */
	uint8_t *a = make_area(512, 0x3, 0);
	uint64_t features = 0x3;

	ck_assert_uint_eq(sc_xstate_fit_frame(&fxsave_only, a, 512, &features), 512);
	free(a);
}
END_TEST

static void refused(const struct sc_xstate_cpu *cpu, uint64_t xfeatures, size_t len,
		    const char *want1, const char *want2)
{
	char why[512] = "";

	ck_assert_msg(sc_xstate_check(cpu, xfeatures, len, why, sizeof(why)) != 0,
		      "accepted xfeatures %#llx in %zu bytes", (unsigned long long)xfeatures, len);
	ck_assert_msg(strstr(why, want1) && (!want2 || strstr(why, want2)),
		      "\"%s\" does not name %s%s%s", why, want1, want2 ? " and " : "",
		      want2 ? want2 : "");
}

START_TEST(refuses_what_cannot_load)
{
	/* Components this CPU lacks, each named. */
	refused(&skylake_client, 0xe7, 2688, "AVX-512 state (xfeatures 5-7)", NULL);
	refused(&epyc_vm, SPR_NO_TILES, SPR_NO_TILES_SIZE,
		"PKRU (protection keys) state (xfeature 9)",
		"AMX tile configuration (XTILECFG) state (xfeature 17)");
	refused(&sapphire_rapids, 0x2ff, 2696, "MPX state (xfeatures 3-4)", NULL);
	refused(&fxsave_only, 0x7, 832, "AVX state (xfeature 2)", NULL);
	/* Tile data on a kernel that does not let processes use AMX. */
	struct sc_xstate_cpu no_perm = sapphire_rapids;

	no_perm.features &= ~SC_XFEATURES_DYNAMIC;
	refused(&no_perm, SPR_FULL, SPR_FULL_SIZE, "AMX tile data (XTILEDATA) state (xfeature 18)",
		NULL);
	/* The same components at other offsets: AMD's AVX-512 layout on Intel
	 * and back. */
	refused(&sapphire_rapids, 0xe7, 2432, "does not match this CPU's layout", "2688 bytes");
	refused(&epyc_vm, 0xe7, 2688, "does not match this CPU's layout", "2432 bytes");
	/* Sizes that cannot be a signal frame of these components. */
	refused(&sapphire_rapids, SPR_NO_TILES, SPR_FULL_SIZE, "does not match", NULL);
	refused(&sapphire_rapids, SPR_FULL, SPR_NO_TILES_SIZE, "does not match", NULL);
}
END_TEST

START_TEST(accepts_what_loads)
{
	const struct {
		const struct sc_xstate_cpu *cpu;
		uint64_t xfeatures;
		size_t len;
	} ok[] = {
		{ &sapphire_rapids, 0x7, 832 }, /* an AVX2 machine's image */
		{ &sapphire_rapids, SPR_NO_TILES, SPR_NO_TILES_SIZE },
		{ &sapphire_rapids, SPR_FULL, SPR_FULL_SIZE },
		{ &skylake_sp, 0x7, 832 },
		{ &skylake_sp, 0xe7, 2688 }, /* no PKRU in use */
		{ &epyc_vm, 0xe7, 2432 },
		{ &epyc_vm, 0x3, 576 },
		{ &fxsave_only, 0x3, 512 },
		{ &skylake_client, 0x3, 512 }, /* FXSAVE only loads anywhere */
	};
	char why[512];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		ck_assert_msg(sc_xstate_check(ok[i].cpu, ok[i].xfeatures, ok[i].len, why,
					      sizeof(why)) == 0,
			      "case %zu: %s", i, why);
}
END_TEST

/* crload and crinfo check every thread of a process, naming the first
 * that cannot be loaded. */
START_TEST(process_names_thread)
{
	Sc__ThreadCore th[2];
	Sc__ThreadCore *list[2] = { &th[0], &th[1] };
	Sc__ProcCore core;
	char err[512] = "";

	sc__proc_core__init(&core);
	core.threads = list;
	core.n_threads = 2;
	for (int i = 0; i < 2; i++) {
		sc__thread_core__init(&th[i]);
		th[i].tid = 100 + i;
		th[i].xfeatures = 0x7;
		th[i].xsave.len = 832;
	}
	ck_assert_int_eq(sc_xstate_check_core(&skylake_sp, &core, err, sizeof(err)), 0);
	th[1].xfeatures = 0xe7;
	th[1].xsave.len = 2688;
	ck_assert_int_eq(sc_xstate_check_core(&skylake_sp, &core, err, sizeof(err)), 0);
	ck_assert_int_ne(sc_xstate_check_core(&skylake_client, &core, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, "thread 101: its AVX-512 state (xfeatures 5-7) cannot be loaded"),
		      "%s", err);
	/* A process that was allowed AMX gets it again only where the
	 * kernel offers it. */
	core.pid = 100;
	core.has_xcomp_perm = 1;
	core.xcomp_perm = SC_XFEATURES_DYNAMIC;
	ck_assert_int_eq(sc_xstate_check_core(&sapphire_rapids, &core, err, sizeof(err)), 0);
	ck_assert_int_ne(sc_xstate_check_core(&skylake_sp, &core, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, "process 100 was allowed to use AMX tile data (XTILEDATA) state "
				  "(xfeature 18), which this kernel does not offer"),
		      "%s", err);
}
END_TEST

static struct sc_fpx_sw_bytes frame_sw;

static void grab_frame(int sig, siginfo_t *si, void *ctx)
{
	const ucontext_t *uc = ctx;

	memcpy(&frame_sw, (const uint8_t *)uc->uc_mcontext.fpregs + SC_FPX_SW_OFFSET,
	       sizeof(frame_sw));
}

/* This machine's own signal frames are what its table says they are,
 * and are accepted. */
START_TEST(live_signal_frame)
{
	const struct sc_xstate_cpu *cpu = sc_xstate_this_cpu();
	struct sigaction sa;
	char why[512];

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = grab_frame;
	sa.sa_flags = SA_SIGINFO;
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	ck_assert_int_eq(raise(SIGUSR1), 0);
	if (!cpu->xsave) {
		ck_assert_uint_ne(frame_sw.magic1, SC_FP_XSTATE_MAGIC1);
		return;
	}
	ck_assert_uint_eq(frame_sw.magic1, SC_FP_XSTATE_MAGIC1);
	ck_assert_uint_eq(frame_sw.xfeatures & ~cpu->features, 0);
	ck_assert_uint_eq(frame_sw.xstate_size, sc_xstate_size(cpu, frame_sw.xfeatures));
	ck_assert_msg(sc_xstate_check(cpu, frame_sw.xfeatures, frame_sw.xstate_size, why,
				      sizeof(why)) == 0,
		      "%s", why);
}
END_TEST

static Suite *xstate_suite(void)
{
	Suite *s = suite_create("xstate");
	TCase *tc = tcase_create("tables");

	tcase_add_test(tc, frame_sizes);
	tcase_add_test(tc, crdump_cuts_unused_tile_data);
	tcase_add_test(tc, live_tile_data_kept);
	tcase_add_test(tc, no_amx_unchanged);
	tcase_add_test(tc, refuses_what_cannot_load);
	tcase_add_test(tc, accepts_what_loads);
	tcase_add_test(tc, process_names_thread);
	suite_add_tcase(s, tc);
	tc = tcase_create("live");
	tcase_add_test(tc, live_signal_frame);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(xstate_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
