/* SPDX-License-Identifier: MIT */
/*
 * A sort for what the runtime's signal handler sorts (common/unix_graph.c,
 * common/tree_descs.c): qsort may allocate, a heap sort allocates nothing
 * and calls no libc (tests/build/freeze_symbols.sh). Made for each type, a
 * macro rather than a function of element size and comparison, which
 * sorted half as fast.
 */
#ifndef SELFCKPT_HEAP_SORT_H
#define SELFCKPT_HEAP_SORT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Defines static void name(type *v, size_t n), which sorts the n elements
 * at v so that none is before one ahead of it (not stable), with
 * bool before(const type *a, const type *b).
 */
#define SC_HEAP_SORT(name, type, before)                                                           \
	static void name##_swap(type *a, type *b)                                                  \
	{                                                                                          \
		type t = *a;                                                                       \
                                                                                                   \
		*a = *b;                                                                           \
		*b = t;                                                                            \
	}                                                                                          \
                                                                                                   \
	static void name##_sift_down(type *v, size_t root, size_t n)                               \
	{                                                                                          \
		for (size_t child; (child = 2 * root + 1) < n; root = child) {                     \
			if (child + 1 < n && before(&v[child], &v[child + 1]))                     \
				child++;                                                           \
			if (!before(&v[root], &v[child]))                                          \
				return;                                                            \
			name##_swap(&v[root], &v[child]);                                          \
		}                                                                                  \
	}                                                                                          \
                                                                                                   \
	static void name(type *v, size_t n)                                                        \
	{                                                                                          \
		for (size_t i = n / 2; i-- > 0;)                                                   \
			name##_sift_down(v, i, n);                                                 \
		for (size_t i = n; i-- > 1;) {                                                     \
			name##_swap(&v[0], &v[i]);                                                 \
			name##_sift_down(v, 0, i);                                                 \
		}                                                                                  \
	}

#endif
