// SPDX-License-Identifier: MIT
/*
 * SELFCKPT_KEEP=N: once a checkpoint is durable, the process that wrote
 * it removes the generations older than the N newest (doc/retention.md),
 * but never one a kept incremental image builds on (doc/incremental.md):
 * the oldest kept is merged with what it needs of them first (merge.c).
 * It runs in the trigger handler once the threads run again, so like the
 * dump it makes raw system calls only and allocates from the arena.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"
#include "inventory.pb-c.h"

#define GEN_PREFIX "ckpt-"
#define GEN_DIGITS 4 /* at least: ckpt-0001 */
#define MAX_CHAIN 4096 /* parents followed, against a loop */

unsigned rt_generation_of(const char *name)
{
	unsigned v = 0;
	const char *c;

	if (strncmp(name, GEN_PREFIX, strlen(GEN_PREFIX)))
		return 0;
	for (c = name + strlen(GEN_PREFIX); *c >= '0' && *c <= '9'; c++) {
		if (v > (UINT_MAX - 9) / 10)
			return 0;
		v = v * 10 + (unsigned)(*c - '0');
	}
	return *c ? 0 : v;
}

char *rt_generation_name(char *buf, unsigned n)
{
	char num[16], *p = rt_stpcpy(buf, GEN_PREFIX);
	size_t len = (size_t)(rt_fmt_u64(num, n) - num);

	for (; len < GEN_DIGITS; len++)
		*p++ = '0';
	return rt_stpcpy(p, num);
}

/*
 * The generation of a name: "ckpt-N", or what is left of one being
 * written or removed (".ckpt-N" RT_TMP_MARK "PID", RT_DEL_MARK), which
 * stays while its writer lives: a tree's members' copies may still write
 * into the directory of a root's copy that was killed.
 */
static void note_highest(void *max, int dirfd, const char *name)
{
	char gen[32];
	const char *end = name[0] == '.' ? strchr(name + 1, '.') : NULL;
	unsigned g;

	(void)dirfd;
	if (end && (size_t)(end - name) <= sizeof(gen)) {
		memcpy(gen, name + 1, (size_t)(end - name - 1));
		gen[end - name - 1] = '\0';
		g = rt_generation_of(gen);
	} else {
		g = rt_generation_of(name);
	}
	if (g > *(unsigned *)max)
		*(unsigned *)max = g;
}

unsigned rt_highest_generation(int dirfd)
{
	unsigned max = 0;
	int fd = (int)sc_sys4(__NR_openat, dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);

	if (fd < 0)
		return 0;
	rt_dir_each(fd, note_highest, &max);
	sc_sys1(__NR_close, fd);
	return max;
}

/*
 * The generation generation g's image builds on, when that is one beside
 * it ("../ckpt-0003"): its number, or 0 for a full image (or one whose
 * inventory cannot be read: then nothing is known to need a parent).
 * *bytes: the size of g's files as its inventory lists them.
 */
static unsigned parent_of(int dirfd, unsigned g, uint64_t *bytes)
{
	Sc__Inventory *inv;
	char path[64], *p;

	*bytes = 0;
	p = rt_generation_name(path, g);
	rt_stpcpy(rt_stpcpy(p, "/"), SC_INVENTORY_FILE);
	inv = rt_read_msg(dirfd, path, SC_IMG_INVENTORY, &sc__inventory__descriptor, NULL);
	for (size_t i = 0; inv && i < inv->n_files; i++)
		*bytes += inv->files[i]->size;
	if (inv && inv->parent && !strncmp(inv->parent, "../", 3))
		return rt_generation_of(inv->parent + 3);
	return 0;
}

/* A chain of generations on disk: the bytes of its bottom, a full image,
 * and of the incremental ones above it up to the one it was followed from. */
struct chain_size {
	uint64_t bottom, above;
};

/* The oldest generation the image of g needs: itself if it is full. */
static unsigned chain_bottom(int dirfd, unsigned g, struct chain_size *size)
{
	struct chain_size none;

	size = size ? size : &none;
	size->above = 0;
	for (int i = 0; i < MAX_CHAIN; i++) {
		unsigned parent = parent_of(dirfd, g, &size->bottom);

		if (!parent || parent >= g)
			return g;
		size->above += size->bottom;
		g = parent;
	}
	return 0; /* a chain that long: keep everything */
}

/* The numbers of the newest generations seen, newest first. */
struct newest {
	const char *dir; /* SELFCKPT_DIR, for what is logged */
	unsigned *top; /* room for keep */
	unsigned keep, n, seen;
	unsigned needed; /* the oldest generation a kept one builds on */
};

static void note_generation(void *arg, int dirfd, const char *name)
{
	struct newest *w = arg;
	unsigned g = rt_generation_of(name), i;

	(void)dirfd;
	if (!g)
		return;
	w->seen++;
	if (w->n == w->keep && g <= w->top[w->n - 1])
		return;
	if (w->n < w->keep)
		w->n++;
	for (i = w->n - 1; i > 0 && w->top[i - 1] < g; i--)
		w->top[i] = w->top[i - 1];
	w->top[i] = g;
}

/* Each kind of trouble is logged once per process: a checkpoint every
 * few seconds must not repeat it every time. A copy that pruned for the
 * program hands back what it said (rt_retention_said). */
static unsigned said;

unsigned rt_retention_said(void)
{
	return said;
}

void rt_retention_note_said(unsigned what)
{
	said |= what;
}

static void say_once(unsigned what, const char *dir, const char *name, const char *why, int err)
{
	char msg[RT_MAX_PATH + 512], *p;

	if (said & what)
		return;
	said |= what;
	p = rt_stpcpy(rt_stpcpy(msg, dir), "/");
	p = rt_stpcpy(rt_stpcpy(p, name), why);
	if (err)
		rt_stpcpy(rt_stpcpy(p, ": "), strerrordesc_np(-err) ?: "unknown error");
	rt_log(msg);
}

/*
 * Out of the way under a name crload and the runtime ignore first, that
 * rename durable, then emptied: a pruner killed at any moment leaves a
 * whole generation or a leftover the next checkpoint removes, never a
 * half-emptied ckpt-N.
 */
static int remove_generation(int dirfd, const char *name, int fd)
{
	char del[RT_MAX_PATH];
	int err;

	rt_fmt_i64(rt_stpcpy(rt_stpcpy(rt_stpcpy(del, "."), name), RT_DEL_MARK),
		   sc_sys0(__NR_getpid));
	err = (int)sc_sys4(__NR_renameat, dirfd, name, dirfd, del);
	if (!err)
		err = (int)sc_sys1(__NR_fsync, dirfd);
	if (!err)
		err = (int)sc_sys3(__NR_lseek, fd, 0, SEEK_SET);
	return err < 0 ? err : rt_image_remove_dir(dirfd, del, fd);
}

/* A generation older than the ones kept goes unless a crload restoring
 * it holds its lock (a later checkpoint then removes it), or it holds
 * something besides image files (then it stays). */
static void prune_entry(void *arg, int dirfd, const char *name)
{
	const struct newest *w = arg;
	unsigned g = rt_generation_of(name);
	int fd, err;

	if (!g || g >= w->top[w->keep - 1] || g >= w->needed)
		return;
	fd = (int)sc_sys4(__NR_openat, dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
			  0);
	if (fd < 0)
		return;
	if (!rt_image_lock(fd)) {
		if (!rt_image_dir_only_images(fd))
			say_once(RT_SAID_KEPT, w->dir, name, " holds files other than images: kept",
				 0);
		else if ((err = remove_generation(dirfd, name, fd)))
			say_once(RT_SAID_FAILED, w->dir, name, " could not be removed", err);
	}
	sc_sys1(__NR_close, fd);
}

/*
 * The oldest generation kept, when its chain reaches below it, is merged
 * with what it needs of its parents (merge.c), so that they can go, once
 * that frees at least as many bytes as it writes: a merge writes about a
 * full image, and frees the incremental generations between the chain's
 * full image and this one (the full image's room goes to the merged
 * one). Until then the chain is kept whole, as it is when a merge cannot
 * be; the log says why once, and a crload holding it says nothing: it is
 * merged once that crload has let go.
 */
static void merge_oldest(const struct rt_config *cfg, int dirfd, unsigned g)
{
	struct chain_size size;
	char name[64], why[256];
	const char *what;
	int err;

	if (chain_bottom(dirfd, g, &size) >= g || size.above < size.bottom)
		return;
	rt_generation_name(name, g);
	err = rt_merge_generation(dirfd, name, &cfg->compress, &what);
	if (!err || err == -EBUSY)
		return;
	rt_stpcpy(rt_stpcpy(why, " was not merged, its chain is kept whole: "), what);
	if (err == -ENOPKG)
		say_once(RT_SAID_NO_ZSTD, cfg->dir, name, why, 0);
	else
		say_once(RT_SAID_NOT_MERGED, cfg->dir, name, why, err);
}

void rt_prune_generations(const struct rt_config *cfg, const struct rt_dump_result *res)
{
	struct newest w = { .dir = cfg->dir, .keep = cfg->keep };
	int fd;

	if (res->err || rt_tree_is_member())
		return;
	/* A KEEP beyond what the arena holds keeps everything. */
	w.top = rt_alloc(sizeof(*w.top) * w.keep);
	fd = (int)sc_sys4(__NR_openat, AT_FDCWD, cfg->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (!w.top || fd < 0)
		goto out;
	rt_dir_each(fd, note_generation, &w);
	if (w.seen > w.keep)
		merge_oldest(cfg, fd, w.top[w.n - 1]);
	w.needed = UINT_MAX;
	for (unsigned i = 0; i < w.n; i++) {
		unsigned bottom = chain_bottom(fd, w.top[i], NULL);

		if (bottom < w.needed)
			w.needed = bottom;
	}
	if (w.seen > w.keep && !sc_sys3(__NR_lseek, fd, 0, SEEK_SET))
		rt_dir_each(fd, prune_entry, &w);
out:
	if (fd >= 0)
		sc_sys1(__NR_close, fd);
}
