// SPDX-License-Identifier: MIT
/*
 * Where a VMA meets the ranges the tracker registered at the last
 * checkpoint (track.c): a VMA may have grown in place since (mremap, a
 * stack growing down) or be made of several of them (registering
 * neighbours merges them), and only its parts that were registered are
 * tracked since. Pure, for the unit tests and the freeze path alike.
 */
#include "ranges.h"

bool rt_next_overlap(const struct rt_range *r, size_t n, size_t *at, uint64_t *from, uint64_t end,
		     struct rt_range *part)
{
	size_t i;

	while (*at < n && r[*at].end <= *from)
		(*at)++;
	if (*at == n || r[*at].start >= end || *from >= end)
		return false;
	part->start = r[*at].start > *from ? r[*at].start : *from;
	/* The last range of the part may reach into the next VMA: the
	 * cursor stays on it. */
	for (i = *at; i + 1 < n && r[i].end < end && r[i + 1].start == r[i].end; i++)
		;
	*at = i;
	part->end = r[i].end < end ? r[i].end : end;
	*from = part->end;
	return true;
}
