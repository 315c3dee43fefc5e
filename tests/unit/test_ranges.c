// SPDX-License-Identifier: MIT
/* Where a VMA meets the ranges the tracker registered at the last
 * checkpoint (runtime/ranges.c): its parts tracked since, which an
 * incremental image may leave to the parent, and nothing else. */
#include <stdlib.h>

#include "ranges.h"
#include "testutil.h"

#define MAX 4

/* Ranges registered, the VMAs of the next checkpoint asked about in turn
 * with one cursor (as track.c and dump_mm.c ask), and the parts each
 * must get. */
struct overlap_case {
	const char *what;
	struct rt_range ranges[MAX];
	size_t nranges;
	struct rt_range vmas[MAX];
	size_t nvmas;
	struct rt_range parts[MAX][MAX];
	size_t nparts[MAX];
};

static const struct overlap_case cases[] = {
	{ "nothing registered: no part", {}, 0, { { 0x1000, 0x5000 } }, 1, { {} }, { 0 } },
	{ "the same bounds: all of it",
	  { { 0x1000, 0x5000 } },
	  1,
	  { { 0x1000, 0x5000 } },
	  1,
	  { { { 0x1000, 0x5000 } } },
	  { 1 } },
	{ "neighbours merged by registering them: one part",
	  { { 0x1000, 0x3000 }, { 0x3000, 0x4000 }, { 0x4000, 0x9000 } },
	  3,
	  { { 0x1000, 0x9000 } },
	  1,
	  { { { 0x1000, 0x9000 } } },
	  { 1 } },
	{ "grown up in place (mremap): the old part only",
	  { { 0x10000, 0x20000 } },
	  1,
	  { { 0x10000, 0x28000 } },
	  1,
	  { { { 0x10000, 0x20000 } } },
	  { 1 } },
	{ "grown down (a stack): the old part only",
	  { { 0x10000, 0x20000 } },
	  1,
	  { { 0x8000, 0x20000 } },
	  1,
	  { { { 0x10000, 0x20000 } } },
	  { 1 } },
	{ "a gap between two ranges is no part",
	  { { 0x1000, 0x3000 }, { 0x5000, 0x8000 } },
	  2,
	  { { 0x0, 0x9000 } },
	  1,
	  { { { 0x1000, 0x3000 }, { 0x5000, 0x8000 } } },
	  { 2 } },
	{ "a range split since, in two VMAs",
	  { { 0x1000, 0x9000 }, { 0xa000, 0xb000 } },
	  2,
	  { { 0x1000, 0x4000 }, { 0x6000, 0xa800 } },
	  2,
	  { { { 0x1000, 0x4000 } }, { { 0x6000, 0x9000 }, { 0xa000, 0xa800 } } },
	  { 1, 2 } },
	{ "touching ranges cut where VMAs end",
	  { { 0x1000, 0x3000 }, { 0x3000, 0x6000 } },
	  2,
	  { { 0x1000, 0x2000 }, { 0x2000, 0x4000 }, { 0x4000, 0x7000 } },
	  3,
	  { { { 0x1000, 0x2000 } }, { { 0x2000, 0x4000 } }, { { 0x4000, 0x6000 } } },
	  { 1, 1, 1 } },
	{ "a new VMA between registered ones meets none and skips none",
	  { { 0x1000, 0x2000 }, { 0x8000, 0x9000 } },
	  2,
	  { { 0x1000, 0x2000 }, { 0x2000, 0x8000 }, { 0x8000, 0x9000 } },
	  3,
	  { { { 0x1000, 0x2000 } }, {}, { { 0x8000, 0x9000 } } },
	  { 1, 0, 1 } },
};

START_TEST(parts_of_each_vma)
{
	const struct overlap_case *c = &cases[_i];
	size_t at = 0;

	for (size_t v = 0; v < c->nvmas; v++) {
		uint64_t from = c->vmas[v].start;
		struct rt_range part;
		size_t n = 0;

		while (rt_next_overlap(c->ranges, c->nranges, &at, &from, c->vmas[v].end, &part)) {
			ck_assert_msg(n < c->nparts[v], "%s: VMA %zu has a part too many", c->what,
				      v);
			ck_assert_msg(part.start == c->parts[v][n].start &&
					      part.end == c->parts[v][n].end,
				      "%s: VMA %zu part %zu is %#llx-%#llx", c->what, v, n,
				      (unsigned long long)part.start, (unsigned long long)part.end);
			n++;
		}
		ck_assert_msg(n == c->nparts[v], "%s: VMA %zu has %zu parts", c->what, v, n);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ranges");
	TCase *tc = tcase_create("overlap");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, parts_of_each_vma, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
