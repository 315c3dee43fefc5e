// SPDX-License-Identifier: MIT
/*
 * Whose credentials crload may give a restored process (common/creds.c):
 * root restores what the image's owner could have had, or anything from
 * an image of root's; unprivileged, crload restores only its own ids.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "creds.h"
#include "image.h"

#define NOBODY 65534
#define NOGROUP 65534

/* A process of nobody's, as runuser starts it. */
static Sc__Creds nobody_creds(void)
{
	static uint32_t groups[] = { NOGROUP };
	Sc__Creds c = SC__CREDS__INIT;

	c.ruid = c.euid = c.suid = c.fsuid = NOBODY;
	c.rgid = c.egid = c.sgid = c.fsgid = NOGROUP;
	c.groups = groups;
	c.n_groups = 1;
	c.cap_bounding = 0x1ffffffffffULL;
	c.dumpable = 1;
	return c;
}

static const uint32_t nobody_gids[] = { NOGROUP, 100 };
static const struct sc_restorer root_for_nobody = {
	.privileged = true,
	.owner = NOBODY,
	.owner_name = "nobody",
	.owner_gids = nobody_gids,
	.n_owner_gids = 2,
};

static void refused_saying(const Sc__Creds *c, const struct sc_restorer *who, const char *want)
{
	char err[SC_ERR_LEN] = "";

	ck_assert_int_eq(sc_creds_refused(c, 123, who, err), -1);
	ck_assert_str_eq(err, want);
}

START_TEST(root_restores_owners_own)
{
	Sc__Creds c = nobody_creds();
	char err[SC_ERR_LEN];
	uint32_t more[] = { NOGROUP, 100 };

	ck_assert_int_eq(sc_creds_refused(&c, 123, &root_for_nobody, err), 0);
	/* Any of the owner's groups, and a bounding set that only takes. */
	c.groups = more;
	c.n_groups = 2;
	c.egid = 100;
	c.cap_bounding = 0;
	ck_assert_int_eq(sc_creds_refused(&c, 123, &root_for_nobody, err), 0);
}
END_TEST

START_TEST(root_refuses_other_uids)
{
	Sc__Creds c = nobody_creds();

	c.ruid = 0;
	refused_saying(
		&c, &root_for_nobody,
		"pid 123: recorded uid 0 but the image belongs to uid 65534 (nobody): refused");
	c = nobody_creds();
	c.suid = 0;
	refused_saying(&c, &root_for_nobody,
		       "pid 123: recorded saved uid 0 but the image belongs to uid 65534 (nobody): "
		       "refused");
	c = nobody_creds();
	c.fsuid = 1000;
	refused_saying(&c, &root_for_nobody,
		       "pid 123: recorded filesystem uid 1000 but the image belongs to uid 65534 "
		       "(nobody): refused");
}
END_TEST

START_TEST(root_refuses_other_groups)
{
	Sc__Creds c = nobody_creds();
	uint32_t wheel[] = { NOGROUP, 0 };

	c.egid = 0;
	refused_saying(&c, &root_for_nobody,
		       "pid 123: recorded effective gid 0, not a group of the image's owner, uid "
		       "65534 (nobody): refused");
	c = nobody_creds();
	c.groups = wheel;
	c.n_groups = 2;
	refused_saying(&c, &root_for_nobody,
		       "pid 123: recorded supplementary group 0, not a group of the image's owner, "
		       "uid 65534 (nobody): refused");
}
END_TEST

/* Nothing in an image can prove a user's process had capabilities. */
START_TEST(root_refuses_capabilities)
{
	static const char want[] = "pid 123: recorded capabilities (permitted %#llx, inheritable "
				   "%#llx) but the image belongs to uid 65534 (nobody), not root: "
				   "refused";
	char text[SC_ERR_LEN];
	Sc__Creds c = nobody_creds();
	uint64_t *sets[] = { &c.cap_permitted, &c.cap_effective, &c.cap_inheritable,
			     &c.cap_ambient };

	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		c = nobody_creds();
		*sets[i] = 1ULL << 13; /* CAP_NET_RAW */
		snprintf(text, sizeof(text), want, (unsigned long long)c.cap_permitted,
			 (unsigned long long)c.cap_inheritable);
		refused_saying(&c, &root_for_nobody, text);
	}
}
END_TEST

/* root's image: root wrote it, root may give it anything. */
START_TEST(root_restores_roots_image)
{
	struct sc_restorer who = { .privileged = true, .owner = 0, .owner_name = "root" };
	Sc__Creds c = nobody_creds();
	char err[SC_ERR_LEN];

	c.ruid = 0;
	c.cap_permitted = c.cap_effective = ~0ULL;
	ck_assert_int_eq(sc_creds_refused(&c, 123, &who, err), 0);
}
END_TEST

/* An owner without a user name has no groups to allow. */
START_TEST(root_refuses_unknown_owners_gids)
{
	struct sc_restorer who = { .privileged = true, .owner = 4242 };
	Sc__Creds c = nobody_creds();

	c.ruid = c.euid = c.suid = c.fsuid = 4242;
	refused_saying(&c, &who,
		       "pid 123: recorded gid 65534, not a group of the image's owner, uid 4242: "
		       "refused");
}
END_TEST

START_TEST(user_restores_only_own_ids)
{
	struct sc_restorer who = { .uid = NOBODY, .gid = NOGROUP, .owner = NOBODY };
	Sc__Creds c = nobody_creds();
	uint32_t wheel[] = { 0 };
	char err[SC_ERR_LEN];

	/* Its groups are crload's anyway: it cannot set them. */
	c.groups = wheel;
	ck_assert_int_eq(sc_creds_refused(&c, 123, &who, err), 0);
	c.euid = 0;
	refused_saying(&c, &who,
		       "pid 123: recorded effective uid 0 but crload runs as uid 65534: refused "
		       "(only root restores another user's process)");
	c = nobody_creds();
	c.rgid = 0;
	refused_saying(&c, &who, "pid 123: recorded gid 0 but crload runs as gid 65534: refused");
}
END_TEST

/* An image written before credentials were recorded: its process runs as
 * crload, only when crload is its owner or root restores root's. */
START_TEST(no_creds_recorded)
{
	const struct sc_restorer root_for_root = { .privileged = true, .owner = 0 };
	const struct sc_restorer nobody_for_nobody = { .uid = NOBODY,
						       .gid = NOGROUP,
						       .owner = NOBODY };
	const struct sc_restorer alice_for_nobody = { .uid = 1000, .gid = 1000, .owner = NOBODY };
	char err[SC_ERR_LEN];

	refused_saying(NULL, &root_for_nobody,
		       "pid 123: the image records no credentials (an older selfckpt wrote it) "
		       "and belongs to uid 65534 (nobody): refused (only its owner may restore "
		       "it)");
	refused_saying(NULL, &alice_for_nobody,
		       "pid 123: the image records no credentials (an older selfckpt wrote it) "
		       "and belongs to uid 65534: refused (only its owner may restore it)");
	ck_assert_int_eq(sc_creds_refused(NULL, 123, &root_for_root, err), 0);
	ck_assert_int_eq(sc_creds_refused(NULL, 123, &nobody_for_nobody, err), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("creds");
	TCase *tc = tcase_create("policy");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, root_restores_owners_own);
	tcase_add_test(tc, root_refuses_other_uids);
	tcase_add_test(tc, root_refuses_other_groups);
	tcase_add_test(tc, root_refuses_capabilities);
	tcase_add_test(tc, root_restores_roots_image);
	tcase_add_test(tc, root_refuses_unknown_owners_gids);
	tcase_add_test(tc, user_restores_only_own_ids);
	tcase_add_test(tc, no_creds_recorded);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
