// SPDX-License-Identifier: MIT
/*
 * Which descriptors share one open file description (after dup, fork or
 * F_DUPFD)? Descriptors of one description agree on everything it holds:
 * file (dev, inode), status flags and offset. So kcmp(KCMP_FILE), which
 * both tests equality and orders descriptions, is asked only within a
 * group of alike descriptors, by binary search over the group's
 * descriptions kept in kcmp order. Most descriptors are alone in their
 * group and cost no kcmp at all; thousands on one inode (every eventfd,
 * timerfd... shares one anonymous inode) cost a logarithm each. An
 * eventfd's fdinfo names its description (eventfd-id, Linux 6.8): each is
 * alone in its group then.
 */
#include <errno.h>
#include <linux/kcmp.h>
#include <string.h>

#include "fd_dump.h"

struct desc_group {
	uint64_t dev, ino, pos, id;
	uint32_t flags;
	uint32_t n, cap;
	int *roots; /* one descriptor per description, in kcmp order */
};

struct desc_table {
	struct desc_group **slot;
	size_t mask, used;
};

static size_t group_hash(uint64_t dev, uint64_t ino, uint64_t pos, uint64_t id, uint32_t flags)
{
	uint64_t h = (ino * 0x9e3779b97f4a7c15ULL) ^ (dev << 17) ^
		     ((pos ^ id << 32) * 0xff51afd7ed558ccdULL) ^ flags;

	return (size_t)(h ^ (h >> 29));
}

static struct desc_group **find_slot(struct desc_table *t, const struct fd_live *l,
				     uint32_t flags)
{
	size_t i = group_hash(l->st.st_dev, l->st.st_ino, l->pos, l->id, flags) & t->mask;

	for (;; i = (i + 1) & t->mask) {
		struct desc_group *g = t->slot[i];

		if (!g || (g->ino == l->st.st_ino && g->dev == l->st.st_dev && g->pos == l->pos &&
			   g->id == l->id && g->flags == flags))
			return &t->slot[i];
	}
}

/* Keeps the table at most half full; the arena never frees, so the old
 * slots are simply left behind. */
static int grow(struct desc_table *t)
{
	size_t n = t->mask ? (t->mask + 1) * 2 : 1024;
	struct desc_group **old = t->slot;
	size_t old_n = t->mask ? t->mask + 1 : 0;

	t->slot = rt_alloc(n * sizeof(*t->slot));
	if (!t->slot)
		return -ENOMEM;
	memset(t->slot, 0, n * sizeof(*t->slot));
	t->mask = n - 1;
	for (size_t i = 0; i < old_n; i++) {
		struct desc_group *g = old[i];

		if (g) {
			size_t j = group_hash(g->dev, g->ino, g->pos, g->id, g->flags) & t->mask;

			while (t->slot[j])
				j = (j + 1) & t->mask;
			t->slot[j] = g;
		}
	}
	return 0;
}

static int add_root(struct desc_group *g, size_t at, int fd)
{
	if (g->n == g->cap) {
		uint32_t cap = g->cap ? g->cap * 2 : 4;
		int *roots = rt_alloc(cap * sizeof(*roots));

		if (!roots)
			return -ENOMEM;
		memcpy(roots, g->roots, g->n * sizeof(*roots));
		g->roots = roots;
		g->cap = cap;
	}
	memmove(&g->roots[at + 1], &g->roots[at], (g->n - at) * sizeof(*g->roots));
	g->roots[at] = fd;
	g->n++;
	return 0;
}

int fd_same_description(struct fd_dump_ctx *ctx, const struct fd_live *l, uint32_t flags,
			int *orig)
{
	struct desc_table *t = ctx->descs;
	struct desc_group **slot, *g;
	size_t lo = 0, hi;

	*orig = -1;
	if (!t) {
		if (!(t = ctx->descs = rt_alloc(sizeof(*t))))
			return -ENOMEM;
		memset(t, 0, sizeof(*t));
	}
	if ((t->used + 1) * 2 > t->mask + 1 && grow(t))
		return -ENOMEM;
	slot = find_slot(t, l, flags);
	if (!*slot) {
		if (!(g = *slot = rt_alloc(sizeof(*g))))
			return -ENOMEM;
		*g = (struct desc_group){ .dev = l->st.st_dev, .ino = l->st.st_ino,
					  .pos = l->pos, .id = l->id, .flags = flags };
		t->used++;
	}
	g = *slot;
	hi = g->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		long r = sc_sys5(__NR_kcmp, ctx->pid, ctx->pid, KCMP_FILE, l->num, g->roots[mid]);

		if (r == 0) {
			*orig = g->roots[mid];
			return 0;
		}
		if (r == 1)
			hi = mid;
		else if (r == 2)
			lo = mid + 1;
		else
			return 0; /* no kcmp: every descriptor its own */
	}
	return add_root(g, lo, l->num);
}
