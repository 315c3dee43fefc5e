// SPDX-License-Identifier: MIT
/*
 * The checkpoint arena: one private reservation, bump allocated, dropped
 * after each checkpoint. It is how the freeze path gets memory without
 * touching the app's malloc. Its range is left out of the image.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>

#include "rt.h"

#define ARENA_SIZE (1UL << 30) /* reserved, not committed */

static char *arena_base;
static size_t arena_used;

int rt_arena_init(void)
{
	long p = sc_sys6(__NR_mmap, 0, ARENA_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (SC_IS_ERR(p))
		return (int)p;
	arena_base = (char *)p;
	arena_used = 0;
	return 0;
}

void rt_arena_drop(void)
{
	if (arena_base)
		sc_sys2(__NR_munmap, arena_base, ARENA_SIZE);
	arena_base = NULL;
	arena_used = 0;
}

/* A restored process never had the arena mapped: forget it, unmap nothing. */
void rt_arena_forget(void)
{
	arena_base = NULL;
	arena_used = 0;
}

bool rt_in_arena(uint64_t start, uint64_t end)
{
	uint64_t b = (uint64_t)arena_base;

	return arena_base && start < b + ARENA_SIZE && end > b;
}

void rt_arena_range(uint64_t *start, uint64_t *end)
{
	*start = (uint64_t)arena_base;
	*end = *start + ARENA_SIZE;
}

/* Returns NULL when the arena is exhausted; callers report -ENOMEM. */
void *rt_alloc(size_t size)
{
	size_t off = (arena_used + 63) & ~63UL;

	if (!arena_base || off + size > ARENA_SIZE)
		return NULL;
	arena_used = off + size;
	return arena_base + off;
}

char *rt_arena_mark(void)
{
	return arena_base + arena_used;
}

void rt_arena_populate_since(char *mark)
{
	uint64_t start = (uint64_t)mark & ~4095ULL;
	uint64_t end = ((uint64_t)(arena_base + arena_used) + 4095) & ~4095ULL;

	if (end > start)
		sc_sys3(__NR_madvise, start, end - start, MADV_POPULATE_WRITE);
}

char *rt_strdup(const char *s, size_t len)
{
	char *d = rt_alloc(len + 1);

	if (d) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

static char *read_file(int dirfd, const char *path, size_t *lenp, size_t chunk)
{
	int fd = (int)sc_sys4(__NR_openat, dirfd, path, O_RDONLY | O_CLOEXEC, 0);
	size_t off, len = 0;
	char *buf;

	if (fd < 0)
		return NULL;
	/* Read straight into the free tail of the arena, then claim it. */
	off = (arena_used + 63) & ~63UL;
	buf = arena_base + off;
	for (;;) {
		size_t room = ARENA_SIZE - off - len - 1;
		long r;

		if (room == 0)
			break;
		r = sc_sys3(__NR_read, fd, buf + len, room > chunk ? chunk : room);
		if (r == -EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	sc_sys1(__NR_close, fd);
	buf[len] = '\0';
	arena_used = off + len + 1;
	if (lenp)
		*lenp = len;
	return buf;
}

char *rt_read_file(const char *path, size_t *lenp)
{
	return read_file(AT_FDCWD, path, lenp, 1 << 20);
}

char *rt_read_file_at(int dirfd, const char *name, size_t *lenp)
{
	return read_file(dirfd, name, lenp, 1 << 20);
}

/*
 * A /proc file whose records cost to make (smaps walks a VMA's page
 * tables for its Rss): read in pieces smaller than a record. A read makes
 * records until its buffer (a page) overflows, and the record that did not
 * fit is made again by the next read: with large reads the 2 GiB VMA of
 * bench/memtouch was walked twice (its smaps took 35 ms, now 17 ms).
 */
char *rt_read_records(const char *path, size_t *lenp)
{
	return read_file(AT_FDCWD, path, lenp, 512);
}
