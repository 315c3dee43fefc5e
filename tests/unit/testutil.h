/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the Check suites in tests/unit/.
 *
 * gbuf_*(): copies bytes so they end exactly at a page boundary followed by
 * an inaccessible guard page. A parser that reads even one byte past the
 * length it was given faults, and Check (in fork mode) reports the test as
 * an error instead of the overread going unnoticed.
 */
#ifndef SELFCKPT_TESTUTIL_H
#define SELFCKPT_TESTUTIL_H

#include <check.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct gbuf {
	void *map;
	size_t map_len;
	char *data; /* len bytes, the last one right before the guard page */
	size_t len;
};

static inline struct gbuf gbuf_new(const void *src, size_t len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	size_t body = (len + pg - 1) / pg * pg;
	struct gbuf g;

	if (body == 0)
		body = pg;
	g.map_len = body + pg;
	g.map = mmap(NULL, g.map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(g.map, MAP_FAILED);
	ck_assert_int_eq(mprotect((char *)g.map + body, pg, PROT_NONE), 0);
	g.data = (char *)g.map + body - len;
	g.len = len;
	if (len)
		memcpy(g.data, src, len);
	return g;
}

static inline struct gbuf gbuf_str(const char *s)
{
	return gbuf_new(s, strlen(s));
}

static inline void gbuf_free(struct gbuf *g)
{
	munmap(g->map, g->map_len);
	g->map = NULL;
}

#endif
