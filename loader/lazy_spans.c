// SPDX-License-Identifier: MIT
/*
 * Sorted lists of ranges that do not overlap, each with where its
 * contents are: what the page server of crload --lazy keeps pending, and
 * where shared objects are mapped (lazy_server.h). A range cut or moved
 * keeps its contents' place: src follows its start.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grow.h"
#include "lazy_server.h"

size_t span_after(const struct spans *l, uint64_t a)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->s[mid].end <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t span_within(const struct spans *l, uint64_t a, uint64_t b, uint64_t max, uint64_t *from,
		   uint64_t *to)
{
	size_t i = span_after(l, a);

	if (i == l->n || l->s[i].start >= b)
		return SIZE_MAX;
	*from = l->s[i].start > a ? l->s[i].start : a;
	*to = l->s[i].end < b ? l->s[i].end : b;
	if (*to - *from > max)
		*to = *from + max;
	return i;
}

int span_insert(struct spans *l, size_t at, struct span s)
{
	if (sc_grow(&l->s, &l->cap, l->n, sizeof(*l->s), 64))
		return -1;
	memmove(&l->s[at + 1], &l->s[at], (l->n - at) * sizeof(*l->s));
	l->s[at] = s;
	l->n++;
	return 0;
}

int span_cut(struct spans *l, uint64_t a, uint64_t b)
{
	size_t i = span_after(l, a), j;

	if (i < l->n && l->s[i].start < a && l->s[i].end > b) {
		struct span right = l->s[i];

		right.start = b;
		right.src += b - l->s[i].start;
		l->s[i].end = a;
		return span_insert(l, i + 1, right);
	}
	if (i < l->n && l->s[i].start < a)
		l->s[i++].end = a;
	for (j = i; j < l->n && l->s[j].end <= b; j++)
		;
	if (j < l->n && l->s[j].start < b) {
		l->s[j].src += b - l->s[j].start;
		l->s[j].start = b;
	}
	memmove(&l->s[i], &l->s[j], (l->n - j) * sizeof(*l->s));
	l->n -= j - i;
	return 0;
}

int span_move(struct spans *l, uint64_t from, uint64_t to, uint64_t len)
{
	size_t i = span_after(l, from), n = 0;
	struct span *moved = NULL;
	int ret = 0;

	for (size_t j = i; j < l->n && l->s[j].start < from + len; j++)
		n++;
	if (n && !(moved = malloc(n * sizeof(*moved))))
		return -1;
	for (size_t k = 0; k < n; k++) {
		struct span s = l->s[i + k];

		if (s.start < from) {
			s.src += from - s.start;
			s.start = from;
		}
		if (s.end > from + len)
			s.end = from + len;
		moved[k] = s;
		moved[k].start = s.start - from + to;
		moved[k].end = s.end - from + to;
	}
	if (span_cut(l, from, from + len) || span_cut(l, to, to + len))
		ret = -1;
	for (size_t k = 0; k < n && !ret; k++)
		ret = span_insert(l, span_after(l, moved[k].start), moved[k]);
	free(moved);
	return ret;
}

uint64_t span_bytes(const struct spans *l)
{
	uint64_t bytes = 0;

	for (size_t i = 0; i < l->n; i++)
		bytes += l->s[i].end - l->s[i].start;
	return bytes;
}

int span_copy(struct spans *to, const struct spans *from)
{
	if (!from->n)
		return 0;
	if (!(to->s = malloc(from->n * sizeof(*to->s))))
		return -1;
	memcpy(to->s, from->s, from->n * sizeof(*to->s));
	to->n = to->cap = from->n;
	return 0;
}
