// SPDX-License-Identifier: MIT
/* The restorer's gadgets (loader/gadgets.c): found at any offset, at their
 * final addresses, never past the memory given, and written as found. */
#include <stdlib.h>

#include "gadgets.h"
#include "testutil.h"

#define FINAL 0x7f0000001000ULL

static struct sc_gadgets scan(const char *mem, size_t len)
{
	struct gbuf b = gbuf_new(mem, len);
	struct sc_gadgets g = { 0 };

	sc_find_gadgets(b.data, b.len, FINAL, &g);
	gbuf_free(&b);
	return g;
}

START_TEST(both_found_at_final_addresses)
{
	/* getpid-like code, then glibc's __restore_rt. */
	static const char code[] = "\x90\xb8\x27\x00\x00\x00\x0f\x05\xc3"
				   "\x90\xb8\x0f\x00\x00\x00\x0f\x05";
	struct sc_gadgets g = scan(code, sizeof(code) - 1);

	ck_assert_uint_eq(g.syscall_ret, FINAL + 6);
	ck_assert_uint_eq(g.sigreturn, FINAL + 10);
}
END_TEST

START_TEST(rax_form_of_sigreturn)
{
	static const char code[] = "\x48\xc7\xc0\x0f\x00\x00\x00\x0f\x05\xcc\x0f\x05\xc3";
	struct sc_gadgets g = scan(code, sizeof(code) - 1);

	ck_assert_uint_eq(g.sigreturn, FINAL);
	ck_assert_uint_eq(g.syscall_ret, FINAL + 10);
}
END_TEST

START_TEST(partial_sequences_are_not_gadgets)
{
	/* syscall without ret, mov $15 without syscall, a cut-off end. */
	static const char code[] =
		"\x0f\x05\x90\xb8\x0f\x00\x00\x00\x90\x0f\x05\xc3\xb8\x0f\x00\x00"
		"\x00\x0f";
	struct sc_gadgets g = scan(code, sizeof(code) - 1);

	ck_assert_uint_eq(g.syscall_ret, FINAL + 9);
	ck_assert_uint_eq(g.sigreturn, 0);
}
END_TEST

START_TEST(found_across_several_regions)
{
	struct sc_gadgets g = { 0 };

	ck_assert(!sc_find_gadgets("\x0f\x05\xc3", 3, 0x1000, &g));
	ck_assert(!sc_find_gadgets("\x0f\x05\xc3", 3, 0x2000, &g));
	ck_assert(sc_find_gadgets("\xb8\x0f\x00\x00\x00\x0f\x05", 7, 0x3000, &g));
	ck_assert_uint_eq(g.syscall_ret, 0x1000); /* the first one stays */
	ck_assert_uint_eq(g.sigreturn, 0x3000);
}
END_TEST

START_TEST(written_page_holds_both)
{
	char page[4096] = { 0 };
	struct sc_gadgets g = { 1, 1 }, again = { 0 };

	sc_write_gadgets(page, FINAL, &g);
	ck_assert_uint_eq(g.syscall_ret, FINAL);
	ck_assert(g.sigreturn > FINAL && g.sigreturn < FINAL + 16);
	ck_assert(sc_find_gadgets(page, sizeof(page), FINAL, &again));
	ck_assert_uint_eq(again.sigreturn, g.sigreturn);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gadgets");
	TCase *tc = tcase_create("scan");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, both_found_at_final_addresses);
	tcase_add_test(tc, rax_form_of_sigreturn);
	tcase_add_test(tc, partial_sequences_are_not_gadgets);
	tcase_add_test(tc, found_across_several_regions);
	tcase_add_test(tc, written_page_holds_both);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
