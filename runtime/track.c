// SPDX-License-Identifier: MIT
/*
 * Which pages the program wrote since its last checkpoint, for an
 * incremental image (doc/incremental.md). The process tracks itself, no
 * ptrace: its private anonymous memory is registered with a userfaultfd
 * of its own in asynchronous write-protect mode (UFFD_FEATURE_WP_ASYNC),
 * and write-protected. A write to a protected page is then resolved by the
 * kernel alone, which takes the protection off; no thread waits for it.
 * At the next checkpoint, while the threads are parked, one PAGEMAP_SCAN
 * per part of a VMA registered then lists the pages without protection,
 * written since, and protects them again in the same call
 * (PM_SCAN_WP_MATCHING).
 *
 * Whatever the program does to its memory, a page is only ever taken as
 * unchanged when it still carries the protection of the last scan:
 * - MADV_DONTNEED and MADV_FREE drop the page and its protection (anonymous
 *   memory keeps no marker without UFFD_FEATURE_WP_UNPOPULATED, which is
 *   not asked for): it is gone (zero) or, touched again, written;
 * - mremap moves a VMA out of the registration, and munmap then mmap gives
 *   a VMA without one: PM_SCAN_CHECK_WPASYNC refuses to scan it, and all
 *   of it goes in the image, then it is registered anew; a VMA grown in
 *   place (mremap, a stack) keeps the registration, and only its part
 *   registered then is tracked: the rest goes in as a full image has it;
 * - a fork's child has none (no UFFD_FEATURE_EVENT_FORK); the program's
 *   own userfaultfd cannot register what this one has (EBUSY): the
 *   program takes such memory first, and this one leaves what the program
 *   registered (its VMAs always go in whole).
 *
 * Like the rest of the checkpoint this runs with the threads parked: raw
 * system calls, arena memory for what one checkpoint needs, and the
 * registered ranges in this file's own static memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>

#include "dump.h"
#include "selfckpt/pagescan.h"
#include "vmakind.h"

#define MAX_RANGES 8192 /* registered VMAs; more and images stay full */
#define SCAN_REGIONS 4096 /* written runs one PAGEMAP_SCAN call returns */

/* The tracker of this process; a forked child or a restored process has
 * none (owner differs, or forgotten). */
static struct {
	int owner; /* the pid that registered, 0: not tracking */
	struct rt_kept_fd uffd; /* its userfaultfd */
	struct rt_range ranges[MAX_RANGES]; /* registered at the last checkpoint */
	int nranges;
	/* The checkpoint whose instant the protection dates from (its
	 * token, rt_track_plan), 0: none whole. */
	uint64_t scan_token;
	/* The image that checkpoint committed: the parent of the next
	 * checkpoint's image, if parent_token (0: none). */
	char parent[64];
	uint64_t parent_xxh3;
	uint64_t parent_token;
	unsigned incremental_since_full;
} trk = { .uffd = { .fd = -1 } };

/* Tracking is this process's own and still in place. */
static bool tracking(void)
{
	return trk.owner && trk.owner == (int)sc_sys0(__NR_getpid) && rt_kept_fd_ours(&trk.uffd);
}

bool rt_track_fd(int fd)
{
	return fd >= 0 && fd == trk.uffd.fd && tracking();
}

void rt_track_forget(void)
{
	trk.owner = 0;
	trk.uffd.fd = -1;
	trk.nranges = 0;
	trk.scan_token = trk.parent_token = 0;
	trk.incremental_since_full = 0;
}

/* Starts over: what a fork inherited (the descriptor, if still the one it
 * was) is closed; a new userfaultfd, moved up. 0, or -errno. */
static int start_tracking(void)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_WP_ASYNC };
	int fd;

	rt_kept_fd_close(&trk.uffd);
	rt_track_forget();
	fd = (int)sc_sys1(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (fd < 0)
		return fd;
	if (sc_sys3(__NR_ioctl, fd, UFFDIO_API, &api)) {
		sc_sys1(__NR_close, fd);
		return -EOPNOTSUPP;
	}
	rt_keep_fd(&trk.uffd, fd);
	trk.owner = (int)sc_sys0(__NR_getpid);
	return 0;
}

/* A kernel without what the tracking needs (Linux 6.7's WP_ASYNC), or a
 * seccomp filter in the way: every image is full, and the log says so
 * once in the process's life. */
static void say_untracked(int err)
{
	static bool said;
	char msg[256];

	if (said)
		return;
	said = true;
	rt_stpcpy(rt_stpcpy(rt_stpcpy(msg, "SELFCKPT_FULL_EVERY: no dirty-page tracking here ("),
			    err == -EOPNOTSUPP ? "no userfaultfd write-protect in async mode"
						: strerrordesc_np(-err) ?: "unknown error"),
		  "): every image is full");
	rt_log(msg);
}

/*
 * The VMAs worth tracking: the program's private anonymous memory. Not the
 * runtime's own (its .bss, the checkpoint stack): it writes them during
 * every checkpoint, after the scan; they go in whole, and are small.
 */
static bool holds(const Sc__Vma *v, uint64_t addr)
{
	return addr >= v->start && addr < v->end;
}

static bool trackable(const Sc__Vma *v, uint64_t own)
{
	return v->kind == SC__VMA_KIND__ANON_PRIVATE && (v->prot & PROT_WRITE) && !holds(v, own) &&
	       !holds(v, (uint64_t)&trk);
}

/* Appends the pages of part (of one VMA) written since the last scan to w,
 * protecting them again: 0, or -errno (-EPERM: the VMA is not under this
 * registration). */
static int scan_written(int pmfd, struct rt_range part, struct rt_written *w,
			struct sc_page_region *vec)
{
	struct sc_pm_scan_arg arg = {
		.size = sizeof(arg),
		.flags = SC_PM_SCAN_WP_MATCHING | SC_PM_SCAN_CHECK_WPASYNC,
		.start = part.start,
		.end = part.end,
		.vec = (uint64_t)vec,
		.vec_len = SCAN_REGIONS,
		.category_mask = SC_PAGE_IS_WRITTEN,
		.return_mask = SC_PAGE_IS_WRITTEN,
	};

	/* A full vector ends the walk early: go on from where it stopped. */
	while (arg.start < arg.end) {
		long n = sc_sys3(__NR_ioctl, pmfd, SC_PAGEMAP_SCAN, &arg);

		if (n < 0)
			return (int)n;
		for (long i = 0; i < n; i++) {
			if (w->n == w->cap)
				return -ENOMEM;
			w->runs[w->n].start = vec[i].start;
			w->runs[w->n++].end = vec[i].end;
		}
		if (arg.walk_end <= arg.start)
			return -EIO;
		arg.start = arg.walk_end;
	}
	return 0;
}

/* Registers [start, end) and protects all of it: 0, or -errno (-EBUSY:
 * the program's own userfaultfd has it). Registering again what this
 * userfaultfd has already changes nothing. */
static int arm(uint64_t start, uint64_t end)
{
	struct uffdio_register reg = { .range = { start, end - start },
				       .mode = UFFDIO_REGISTER_MODE_WP };
	struct uffdio_writeprotect wp = { .range = { start, end - start },
					  .mode = UFFDIO_WRITEPROTECT_MODE_WP };
	long r = sc_sys3(__NR_ioctl, trk.uffd.fd, UFFDIO_REGISTER, &reg);

	if (!r)
		r = sc_sys3(__NR_ioctl, trk.uffd.fd, UFFDIO_WRITEPROTECT, &wp);
	return (int)r;
}

/* The parent is still there, as it was written: not pruned, not replaced;
 * merged by a pruner (retention.c) it is the same image still. */
static bool parent_still_there(const struct rt_config *cfg)
{
	char path[RT_MAX_PATH + 128], *p;
	const Sc__Inventory *inv;
	uint64_t sum;

	if (strlen(cfg->dir) + strlen(trk.parent) + 32 > sizeof(path))
		return false;
	p = rt_stpcpy(rt_stpcpy(path, cfg->dir), "/");
	rt_stpcpy(rt_stpcpy(rt_stpcpy(p, trk.parent), "/"), SC_INVENTORY_FILE);
	inv = rt_read_msg(AT_FDCWD, path, SC_IMG_INVENTORY, &sc__inventory__descriptor, &sum);
	return inv && rt_inventory_is(inv, sum, trk.parent_xxh3);
}

static bool incremental_due(const struct rt_config *cfg)
{
	return trk.parent_token && trk.incremental_since_full + 1 < cfg->full_every &&
	       parent_still_there(cfg);
}

/* A checkpoint's token: unique among the checkpoints a tree's processes
 * may have scanned in, whichever process took them, restored or not. */
static uint64_t new_token(void)
{
	uint64_t t = 0;

	if (sc_sys3(__NR_getrandom, &t, sizeof(t), GRND_NONBLOCK) != sizeof(t) || !t)
		t = (rt_now_ns(CLOCK_MONOTONIC) ^ (uint64_t)sc_sys0(__NR_getpid) << 40) | 1;
	return t;
}

void rt_track_plan(const struct rt_config *cfg, struct rt_track_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	if (cfg->full_every < 2)
		return;
	plan->token = new_token();
	if (!tracking() || !incremental_due(cfg))
		return;
	plan->parent_token = trk.parent_token;
	rt_stpcpy(plan->parent, trk.parent);
	plan->parent_xxh3 = trk.parent_xxh3;
}

/*
 * One trackable VMA at a checkpoint: its parts registered at the last one
 * are scanned, which protects them again, and noted in w as tracked when
 * the image is incremental; the rest, new since (a VMA of its own, or one
 * grown in place: mremap, a stack growing down), is armed, and goes in as
 * a full image has it. A VMA no longer under the registration (mremap
 * moved it, munmap and mmap replaced it) is armed whole. *at: a cursor
 * into the n ranges registered before, for VMAs in address order.
 * 0, or -errno.
 */
static int track_vma(int pmfd, const Sc__Vma *v, const struct rt_range *before, size_t n,
		     size_t *at, bool incremental, struct rt_written *w, struct sc_page_region *vec)
{
	size_t found = w->n, ntracked = w->ntracked, first = *at;
	uint64_t from = v->start, armed = v->start;
	struct rt_range part;
	int r = 0;

	while (!r && rt_next_overlap(before, n, at, &from, v->end, &part)) {
		r = scan_written(pmfd, part, w, vec);
		if (!r && incremental)
			w->tracked[w->ntracked++] = part;
	}
	/* The new parts once every scan is done: registering a part of a
	 * VMA that is not ours would split it. */
	from = v->start;
	*at = first;
	while (!r && rt_next_overlap(before, n, at, &from, v->end, &part)) {
		if (part.start > armed)
			r = arm(armed, part.start);
		armed = part.end;
	}
	if (!r && armed < v->end)
		r = arm(armed, v->end);
	if (r) {
		w->n = found;
		w->ntracked = ntracked;
	}
	return r == -EPERM ? arm(v->start, v->end) : r;
}

int rt_track_scan(const struct rt_config *cfg, const Sc__Mm *mm, uint64_t own,
		  const struct rt_track_plan *plan, struct rt_written *w)
{
	struct sc_page_region *vec;
	struct rt_range *registered;
	bool incremental;
	size_t nbefore, at = 0;
	int pmfd, err = 0;

	memset(w, 0, sizeof(*w));
	if (cfg->full_every < 2 || !plan->token)
		return 0;
	w->scanned = true;
	/* Pages left unwritten since this process's last scan are the
	 * parent's only if that scan was the parent's checkpoint. */
	incremental = plan->parent_token && tracking() && trk.scan_token == plan->parent_token;
	trk.scan_token = 0;
	if (!tracking() && (err = start_tracking())) {
		say_untracked(err);
		return err;
	}
	/* What was registered, kept aside while the list is made anew. */
	nbefore = (size_t)trk.nranges;
	registered = rt_alloc(sizeof(*registered) * (nbefore + 1));
	if (registered)
		memcpy(registered, trk.ranges, sizeof(*registered) * nbefore);
	vec = rt_alloc(sizeof(*vec) * SCAN_REGIONS);
	w->cap = 1 << 20;
	w->runs = rt_alloc(sizeof(*w->runs) * w->cap);
	/* A range split since (mprotect) is in two VMAs' parts. */
	w->tracked = rt_alloc(sizeof(*w->tracked) * (mm->n_vmas + nbefore));
	if (!registered || !vec || !w->runs || !w->tracked)
		return -ENOMEM;
	pmfd = (int)sc_sys4(__NR_openat, AT_FDCWD, "/proc/self/pagemap", O_RDONLY | O_CLOEXEC, 0);
	if (pmfd < 0)
		return pmfd;
	/* Every trackable VMA is scanned or armed, whether this image is
	 * incremental or not: the next one builds on this instant. */
	trk.nranges = 0;
	for (size_t i = 0; i < mm->n_vmas && !err; i++) {
		const Sc__Vma *v = mm->vmas[i];
		int r;

		if (!trackable(v, own))
			continue;
		r = track_vma(pmfd, v, registered, nbefore, &at, incremental, w, vec);
		if (r == -EBUSY || r == -EINVAL)
			continue; /* the program's own, or not for us to track */
		err = r;
		if (!err && trk.nranges < MAX_RANGES)
			trk.ranges[trk.nranges++] = (struct rt_range){ v->start, v->end };
	}
	sc_sys1(__NR_close, pmfd);
	if (err || trk.nranges == MAX_RANGES) {
		/* Half armed is not armed: with no token of this scan, the next
		 * image is full. */
		memset(w, 0, sizeof(*w));
		return err ? err : -E2BIG;
	}
	trk.scan_token = plan->token;
	w->incremental = incremental;
	return 0;
}

void rt_track_committed(bool incremental, const char *name, uint64_t inventory_xxh3)
{
	if (!tracking())
		return;
	rt_stpcpy(trk.parent, name);
	trk.parent_xxh3 = inventory_xxh3;
	trk.parent_token = trk.scan_token;
	trk.incremental_since_full = incremental ? trk.incremental_since_full + 1 : 0;
}

uint64_t rt_written_bytes(const Sc__Mm *mm, const struct rt_written *w)
{
	uint64_t bytes = 0;
	size_t t = 0;

	for (size_t i = 0; i < w->n; i++)
		bytes += w->runs[i].end - w->runs[i].start;
	/* What is not tracked goes in whole: at most its size. Both lists
	 * are in address order. */
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const Sc__Vma *v = mm->vmas[i];
		uint64_t from = v->start;
		struct rt_range part;

		if (!sc_vma_stores_pages(v))
			continue;
		bytes += v->end - v->start;
		while (rt_next_overlap(w->tracked, w->ntracked, &t, &from, v->end, &part))
			bytes -= part.end - part.start;
	}
	return bytes;
}

void rt_track_yield(uint64_t start, uint64_t len)
{
	struct uffdio_range range = { start, len };
	int n = 0;

	if (!tracking())
		return;
	sc_sys3(__NR_ioctl, trk.uffd.fd, UFFDIO_UNREGISTER, &range);
	/* What overlaps is no longer known to be tracked since the parent:
	 * it goes in whole next time, and what is still free is armed again. */
	for (int i = 0; i < trk.nranges; i++)
		if (trk.ranges[i].end <= start || trk.ranges[i].start >= start + len)
			trk.ranges[n++] = trk.ranges[i];
	trk.nranges = n;
}

void rt_track_failed(void)
{
	trk.parent_token = 0;
}

/*
 * After a restore (doc/incremental.md): the image records the tracker, and
 * crload's restorer arms the same again before any thread runs the
 * program's code; the restored process takes it up here, and its next
 * image builds on the one it was restored from.
 */
_Static_assert(MAX_RANGES <= SC_TRACK_MAX_RANGES, "crload takes every range the tracker has");

Sc__Tracker *rt_track_record(void)
{
	Sc__Tracker *t;
	uint64_t *r;

	if (!tracking())
		return NULL;
	t = rt_alloc(sizeof(*t));
	r = rt_alloc(sizeof(*r) * 2 * (size_t)trk.nranges + 1);
	if (!t || !r)
		return NULL;
	sc__tracker__init(t);
	t->fd = trk.uffd.fd;
	for (int i = 0; i < trk.nranges; i++) {
		r[2 * i] = trk.ranges[i].start;
		r[2 * i + 1] = trk.ranges[i].end;
	}
	t->ranges = r;
	t->n_ranges = 2 * (size_t)trk.nranges;
	/* The scan's token, also in the memory of a process restored from
	 * this image: it tells the image it came from. */
	t->capture = trk.scan_token;
	return t;
}

/* What the restorer left at the tracker's number: a userfaultfd. */
static bool is_userfaultfd(int fd)
{
	static const char uffd[] = "anon_inode:[userfaultfd]";
	char path[64], link[sizeof(uffd)];
	long n;

	rt_fmt_i64(rt_stpcpy(path, "/proc/self/fd/"), fd);
	n = sc_sys4(__NR_readlinkat, AT_FDCWD, path, link, sizeof(link));
	return n == sizeof(uffd) - 1 && !memcmp(link, uffd, (size_t)n);
}

/*
 * The image at path is the one this process was restored from: its mm
 * file bears the token of this process's last scan, which the restored
 * memory holds (a copy restored from elsewhere may have left another
 * image of that name there, or none). *inv: its inventory, *sum: the
 * inventory's checksum.
 */
static bool restored_from(const char *path, const Sc__Inventory **inv, uint64_t *sum)
{
	char file[RT_MAX_PATH + 128], *p;
	const Sc__Mm *mm;

	if (!trk.scan_token || strlen(path) + 64 > sizeof(file))
		return false;
	p = rt_stpcpy(file, path);
	rt_stpcpy(p, "/" SC_INVENTORY_FILE);
	*inv = rt_read_msg(AT_FDCWD, file, SC_IMG_INVENTORY, &sc__inventory__descriptor, sum);
	rt_stpcpy(rt_fmt_i64(rt_stpcpy(p, "/" SC_MM_PREFIX "-"), trk.owner), RT_IMG_SUFFIX);
	mm = rt_read_msg(AT_FDCWD, file, SC_IMG_MM, &sc__mm__descriptor, NULL);
	return *inv && mm && mm->tracker && mm->tracker->capture == trk.scan_token;
}

void rt_track_restored(const struct rt_dump_result *res, bool member, bool adopt)
{
	const char *name = strrchr(res->image, '/');
	int fd = trk.uffd.fd;
	bool armed = fd >= 0 && is_userfaultfd(fd);
	const Sc__Inventory *inv;
	uint64_t sum;

	/* trk is as the capture left it: its ranges are those the restorer
	 * registered again, its token that of the image's checkpoint, and
	 * its count of incremental images that of the chain below the
	 * image, which committing it adds. A tree's member keeps its token
	 * for its root's next plan; only the root commits. */
	if (adopt && armed && name && restored_from(res->image, &inv, &sum)) {
		rt_keep_fd(&trk.uffd, fd);
		trk.owner = (int)sc_sys0(__NR_getpid);
		if (!member)
			rt_track_committed(inv->parent != NULL, name + 1, sum);
		return;
	}
	if (armed)
		sc_sys1(__NR_close, fd);
	rt_track_forget();
}
