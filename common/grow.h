/* SPDX-License-Identifier: MIT */
/* Arrays that grow by doubling, for the readers and crload (libc). */
#ifndef SELFCKPT_GROW_H
#define SELFCKPT_GROW_H

#include <stddef.h>
#include <stdlib.h>

/*
 * Room for one more element in the array *arr of n elements of size
 * elem, *cap of them allocated: doubled when full, first when empty.
 * 0, or -1 with the array as it was (out of memory).
 */
static inline int sc_grow(void *arr, size_t *cap, size_t n, size_t elem, size_t first)
{
	void **p = arr, *more;
	size_t want;

	if (n < *cap)
		return 0;
	want = *cap ? *cap * 2 : first;
	more = realloc(*p, want * elem);
	if (!more)
		return -1;
	*p = more;
	*cap = want;
	return 0;
}

#endif
