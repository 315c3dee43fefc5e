// SPDX-License-Identifier: MIT
/* A pages file's checksums in parts, made as it is written (part_sums.h). */
#include <errno.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "part_sums.h"
#include "rt.h"
#include "selfckpt/image.h"

int rt_part_sums_start(struct rt_part_sums *s, bool frames, size_t max_parts)
{
	s->cap = max_parts < RT_MAX_PARTS ? max_parts : RT_MAX_PARTS;
	s->sums = rt_alloc(sizeof(*s->sums) * (s->cap + 1));
	s->hash = rt_alloc(sizeof(XXH3_state_t));
	s->n = 0;
	s->fill = 0;
	s->frames = frames;
	if (!s->sums || !s->hash)
		return -ENOMEM;
	XXH3_64bits_reset(s->hash);
	return 0;
}

static void add_sum(struct rt_part_sums *s, uint64_t sum)
{
	if (s->n < s->cap)
		s->sums[s->n] = sum;
	s->n++;
}

static void end_chunk(struct rt_part_sums *s)
{
	add_sum(s, XXH3_64bits_digest(s->hash));
	XXH3_64bits_reset(s->hash);
	s->fill = 0;
}

void rt_part_sums_add(struct rt_part_sums *s, const void *p, uint64_t len)
{
	const uint8_t *at = p;

	if (s->frames) {
		add_sum(s, XXH3_64bits(at, len));
		return;
	}
	while (len) {
		uint64_t n = SC_PAGES_CHUNK - s->fill < len ? SC_PAGES_CHUNK - s->fill : len;

		XXH3_64bits_update(s->hash, at, n);
		s->fill += n;
		at += n;
		len -= n;
		if (s->fill == SC_PAGES_CHUNK)
			end_chunk(s);
	}
}

void rt_part_sums_finish(struct rt_part_sums *s, Sc__Pagemap *pm)
{
	if (s->fill)
		end_chunk(s);
	if (s->n > s->cap)
		return;
	pm->has_chunk_bytes = true;
	pm->chunk_bytes = s->frames ? 0 : SC_PAGES_CHUNK;
	pm->chunk_xxh3 = s->sums;
	pm->n_chunk_xxh3 = s->n;
}
