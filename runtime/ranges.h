/* SPDX-License-Identifier: MIT */
/* Address ranges the tracker registered, and where a VMA meets them. */
#ifndef SELFCKPT_RT_RANGES_H
#define SELFCKPT_RT_RANGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rt_range {
	uint64_t start, end;
};

/*
 * The next part of [*from, end) that lies in the ranges r[0..n), which are
 * in address order and do not overlap: ranges that touch make one part.
 * False when none is left; else *part is that part and *from its end.
 * *at is a cursor into r, 0 at first: asked for increasing addresses (the
 * VMAs of an image in turn), the calls go through r once.
 */
bool rt_next_overlap(const struct rt_range *r, size_t n, size_t *at, uint64_t *from, uint64_t end,
		     struct rt_range *part);

#endif
