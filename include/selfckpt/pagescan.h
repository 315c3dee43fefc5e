/* SPDX-License-Identifier: MIT */
/*
 * Dirty-page tracking's kernel interfaces, newer than Debian 12's headers
 * (Linux 6.1): userfaultfd's asynchronous write-protection and the
 * PAGEMAP_SCAN ioctl, from Linux 6.7's include/uapi/linux/userfaultfd.h
 * and include/uapi/linux/fs.h. The kernel says at run time whether it has
 * them. Shared by the runtime's tracker, crinfo check and the bench.
 */
#ifndef SELFCKPT_PAGESCAN_H
#define SELFCKPT_PAGESCAN_H

#include <linux/userfaultfd.h>
#include <stdint.h>
#include <sys/ioctl.h>

#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

#define SC_PAGEMAP_SCAN _IOWR('f', 16, struct sc_pm_scan_arg)
/* Page categories */
#define SC_PAGE_IS_WPALLOWED (1 << 0)
#define SC_PAGE_IS_WRITTEN (1 << 1)
#define SC_PAGE_IS_FILE (1 << 2)
#define SC_PAGE_IS_PRESENT (1 << 3)
#define SC_PAGE_IS_SWAPPED (1 << 4)
#define SC_PAGE_IS_PFNZERO (1 << 5)
/* Flags */
#define SC_PM_SCAN_WP_MATCHING (1 << 0)
#define SC_PM_SCAN_CHECK_WPASYNC (1 << 1)

struct sc_page_region {
	uint64_t start, end, categories;
};

struct sc_pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};

#endif
