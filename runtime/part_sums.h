/* SPDX-License-Identifier: MIT */
/*
 * A pages file's checksums in parts (Pagemap.chunk_xxh3, doc/checksums.md),
 * made as the file is written: a raw file has one XXH3-64 for every
 * SC_PAGES_CHUNK bytes, the last one for what is left; a compressed file
 * one for each frame. crload checks them as it fills memory, instead of
 * reading the file a second time. Shared by the dump halves (dump_mm.c)
 * and the pruner's merge (merge.c); async-signal-safe, arena memory.
 */
#ifndef SELFCKPT_RT_PART_SUMS_H
#define SELFCKPT_RT_PART_SUMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mm.pb-c.h"

/* Sums kept at most: a larger file (1 TiB raw, 256 GiB of pages in
 * frames) has none, and crload checks it whole before it forks, as an
 * older image. */
#define RT_MAX_PARTS (1UL << 20)

struct rt_part_sums {
	uint64_t *sums;
	size_t cap; /* sums kept at most */
	size_t n; /* parts summed, past cap too */
	void *hash; /* the XXH3 state of the raw chunk being summed */
	uint64_t fill; /* its bytes so far */
	bool frames; /* one part a frame, not a chunk */
};

/* Ready to sum a file, raw or in frames, of at most max_parts parts (at
 * most RT_MAX_PARTS kept): 0, or -ENOMEM. */
int rt_part_sums_start(struct rt_part_sums *s, bool frames, size_t max_parts);
/* The next len bytes of the file, at p: a whole frame when in frames. */
void rt_part_sums_add(struct rt_part_sums *s, const void *p, uint64_t len);
/* The file is whole: its sums go into pm, when there are not too many. */
void rt_part_sums_finish(struct rt_part_sums *s, Sc__Pagemap *pm);

#endif
