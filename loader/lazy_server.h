/* SPDX-License-Identifier: MIT */
/* The page server of crload --lazy (doc/lazy-restore.md): its lists of
 * pending pages. */
#ifndef SELFCKPT_LAZY_SERVER_H
#define SELFCKPT_LAZY_SERVER_H

#include <stddef.h>
#include <stdint.h>

/* lazy_spans.c: sorted lists of ranges that do not overlap. */

/* [start, end) whose contents are at src: in a space's pending list, an
 * address range and the address its pages had in the image. */
struct span {
	uint64_t start, end, src;
};

struct spans {
	struct span *s;
	size_t n, cap;
};

/* The first span of l that ends after a. */
size_t span_after(const struct spans *l, uint64_t a);
/* s inserted at index at. -1 when out of memory. */
int span_insert(struct spans *l, size_t at, struct span s);
/* [a, b) out of l. -1 when out of memory. */
int span_cut(struct spans *l, uint64_t a, uint64_t b);
/* mremap moved [from, from + len) to to: its spans go with it, and
 * whatever was at to is gone. -1 when out of memory. */
int span_move(struct spans *l, uint64_t from, uint64_t to, uint64_t len);
/* to, empty, made a copy of from. -1 when out of memory. */
int span_copy(struct spans *to, const struct spans *from);
/* Bytes l covers. */
uint64_t span_bytes(const struct spans *l);

#endif
