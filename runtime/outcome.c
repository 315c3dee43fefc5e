// SPDX-License-Identifier: MIT
/*
 * How the checkpoints ended, for crdump to tell a failure from a slow
 * checkpoint: crdump reads it from outside the process through the beacon
 * (selfckpt/beacon.h). The checkpoint notes it when the program is held
 * until its image is written; the program notes it for a copy that wrote
 * the image (snapshot.c), from the copy's report.
 */
#include <string.h>

#include "rt.h"
#include "selfckpt/beacon.h"

static struct selfckpt_outcome outcome;
__attribute__((visibility("default")))
const struct selfckpt_beacon selfckpt_beacon = { SELFCKPT_BEACON_VERSION, &rt_cfg.trigger_sig,
						 rt_cfg.dir, &outcome };

_Static_assert(sizeof(((struct rt_copy_report *)0)->why) == sizeof(outcome.why),
	       "a copy's report carries the outcome's reason whole");

/* ended is written last, so that a reader who sees it change reads the
 * rest of this checkpoint's. */
void rt_note_outcome(int err, const char *msg)
{
	size_t n = strlen(msg);

	if (n >= sizeof(outcome.why))
		n = sizeof(outcome.why) - 1;
	memcpy(outcome.why, msg, n);
	outcome.why[n] = '\0';
	outcome.err = err;
	__atomic_store_n(&outcome.ended, outcome.ended + 1, __ATOMIC_RELEASE);
}

const char *rt_outcome_why(void)
{
	return outcome.why;
}
