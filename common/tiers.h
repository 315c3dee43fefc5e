/* SPDX-License-Identifier: MIT */
/* The generations of a tier, as the tools read them (doc/tiers.md). */
#ifndef SC_TIERS_H
#define SC_TIERS_H

#include "selfckpt/tiers.h"

/* N of a name "ckpt-N", or 0 for any other name. */
unsigned long sc_tier_generation(const char *name);
/* N of what a writer left, ".ckpt-N" SC_TMP_MARK "PID", and its *pid; or
 * 0 for any other name. */
unsigned long sc_tier_leftover(const char *name, long *pid);
/* The same of a generation being removed, ".ckpt-N" SC_DEL_MARK "PID". */
unsigned long sc_tier_removed(const char *name, long *pid);
/* qsort's order of generation numbers (unsigned long), newest first. */
int sc_tier_newest_first(const void *a, const void *b);

#endif
