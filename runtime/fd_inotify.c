// SPDX-License-Identifier: MIT
/*
 * inotify: each watch's wd and mask come from fdinfo; its path, which the
 * kernel does not keep, from the path the app gave inotify_add_watch()
 * (recorded below, from interpose.c) when that path still leads to the
 * watched inode, else from the file handle fdinfo shows (open_by_handle_at,
 * which needs CAP_DAC_READ_SEARCH). See doc/inotify.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>

#include "fd_dump.h"
#include "procparse.h"

/*
 * Paths given to inotify_add_watch(), by wd: REC_SETS sets of REC_WAYS
 * entries, set = wd % REC_SETS. An entry is a tiny seqlock: odd while a
 * thread writes it, so the checkpoint (every thread frozen, perhaps one in
 * the middle of a write) skips it. Entries are never trusted: a path is
 * used only if it still leads to the watched inode.
 */
#define REC_SETS 128
#define REC_WAYS 4
#define REC_PATH 504

struct watch_rec {
	_Atomic uint32_t seq; /* 0: empty; odd: being written */
	int wd;
	char path[REC_PATH];
};

static struct watch_rec *_Atomic recs;
static _Atomic unsigned rec_victim;

static struct watch_rec *rec_table(void)
{
	struct watch_rec *t = atomic_load(&recs), *none = NULL;

	if (t)
		return t;
	t = mmap(NULL, sizeof(*t) * REC_SETS * REC_WAYS, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t == MAP_FAILED)
		return NULL;
	if (!atomic_compare_exchange_strong(&recs, &none, t)) {
		munmap(t, sizeof(*t) * REC_SETS * REC_WAYS);
		t = none;
	}
	return t;
}

void rt_inotify_record(int wd, const char *path)
{
	struct watch_rec *set = rec_table(), *r = NULL;
	char abs[REC_PATH];
	size_t n = 0, len = strlen(path);
	uint32_t seq;

	if (!set)
		return;
	if (path[0] != '/') {
		long c = sc_sys2(__NR_getcwd, abs, sizeof(abs));

		if (c <= 0)
			return;
		n = strlen(abs);
		abs[n++] = '/';
	}
	if (n + len >= sizeof(abs))
		return; /* too long to keep: the file handle will do */
	memcpy(abs + n, path, len + 1);
	set += (unsigned)wd % REC_SETS * REC_WAYS;
	/* Bounded: another thread may be rewriting that entry's path. */
	for (int i = 0; i < REC_WAYS && !r; i++)
		if (!atomic_load(&set[i].seq) ||
		    (set[i].wd == wd && !strncmp(set[i].path, abs, REC_PATH)))
			r = &set[i];
	if (!r)
		r = &set[atomic_fetch_add(&rec_victim, 1) % REC_WAYS];
	seq = atomic_load(&r->seq);
	/* Another thread writes this entry: leave it to that one. */
	if ((seq & 1) || !atomic_compare_exchange_strong(&r->seq, &seq, seq + 1))
		return;
	r->wd = wd;
	memcpy(r->path, abs, n + len + 1);
	atomic_store(&r->seq, seq + 2);
}

static bool fd_inotify_claims(const struct fd_live *l)
{
	return !strcmp(l->target, "anon_inode:inotify");
}

/* Does path lead to the watched inode, or (not followed) is it that symlink? */
static bool leads_to(const char *path, const struct pp_inotify_watch *w, bool *symlink)
{
	struct stat st;

	for (int nofollow = 0; nofollow < 2; nofollow++) {
		if (sc_sys4(__NR_newfstatat, AT_FDCWD, path, &st,
			    nofollow ? AT_SYMLINK_NOFOLLOW : 0) == 0 &&
		    st.st_ino == w->ino && major(st.st_dev) == w->sdev_major &&
		    minor(st.st_dev) == w->sdev_minor) {
			*symlink = nofollow && S_ISLNK(st.st_mode);
			return !nofollow || *symlink;
		}
	}
	return false;
}

static const char *recorded_path(const struct pp_inotify_watch *w, bool *symlink)
{
	struct watch_rec *set = atomic_load(&recs);

	if (!set)
		return NULL;
	set += (unsigned)w->wd % REC_SETS * REC_WAYS;
	for (int i = 0; i < REC_WAYS; i++) {
		uint32_t seq = atomic_load(&set[i].seq);

		if (seq && !(seq & 1) && set[i].wd == w->wd && leads_to(set[i].path, w, symlink))
			return set[i].path;
	}
	return NULL;
}

/* A descriptor on the filesystem of w, for open_by_handle_at (not O_PATH:
 * it refuses those). */
static int mount_fd(const struct pp_inotify_watch *w, const char *mountinfo, size_t len)
{
	char mnt[RT_MAX_PATH], best[RT_MAX_PATH] = "";
	size_t pos = 0, ll;
	const char *line;

	while ((line = pp_next_line(mountinfo, len, &pos, &ll))) {
		struct pp_mount m;

		if (pp_parse_mountinfo_line(line, ll, &m, mnt, sizeof(mnt)) ||
		    m.major != w->sdev_major || m.minor != w->sdev_minor)
			continue;
		if (!best[0] || m.whole)
			rt_stpcpy(best, mnt);
		if (m.whole)
			break;
	}
	if (!best[0])
		return -ENOENT;
	return (int)sc_sys4(__NR_openat, AT_FDCWD, best, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
}

/* The current path of the watched inode, from its file handle. */
static const char *handle_path(const struct pp_inotify_watch *w, const char *mountinfo,
			       size_t len, bool *symlink)
{
	static const char deleted[] = " (deleted)";
	struct file_handle *fh;
	char proc[64], *path;
	int mfd, fd;
	long n;

	if (!w->handle_bytes || !mountinfo)
		return NULL;
	fh = rt_alloc(sizeof(*fh) + w->handle_bytes);
	path = rt_alloc(RT_MAX_PATH);
	mfd = mount_fd(w, mountinfo, len);
	if (!fh || !path || mfd < 0)
		return NULL;
	fh->handle_bytes = w->handle_bytes;
	fh->handle_type = w->handle_type;
	memcpy(fh->f_handle, w->handle, w->handle_bytes);
	fd = (int)sc_sys5(__NR_open_by_handle_at, mfd, fh, O_PATH | O_CLOEXEC, 0, 0);
	sc_sys1(__NR_close, mfd);
	if (fd < 0)
		return NULL;
	rt_fmt_i64(rt_stpcpy(proc, "/proc/self/fd/"), fd);
	n = sc_sys4(__NR_readlinkat, AT_FDCWD, proc, path, RT_MAX_PATH - 1);
	sc_sys1(__NR_close, fd);
	if (n <= 0)
		return NULL;
	path[n] = '\0';
	if ((size_t)n > sizeof(deleted) - 1 && !strcmp(path + n - (sizeof(deleted) - 1), deleted))
		return NULL;
	return leads_to(path, w, symlink) ? path : NULL;
}

static int fd_inotify_dump(struct fd_dump_ctx *ctx, const struct fd_live *l, Sc__Fd *e)
{
	size_t pos = 0, ll, n = 0, mi_len = 0;
	char mi_path[RT_MAX_PATH];
	const char *line, *mountinfo = NULL;
	struct pp_inotify_watch w;

	e->kind = SC__FD_KIND__INOTIFY;
	for (size_t i = 0; i + 8 < l->fdinfo_len; i++)
		n += !memcmp(l->fdinfo + i, "inotify ", 8);
	if (!n)
		return 0;
	e->watches = rt_alloc(sizeof(*e->watches) * n);
	if (!e->watches)
		return -ENOMEM;
	while ((line = pp_next_line(l->fdinfo, l->fdinfo_len, &pos, &ll))) {
		Sc__InotifyWatch *iw;
		const char *path;
		bool symlink = false;
		size_t at;

		if (ll < 8 || memcmp(line, "inotify ", 8))
			continue;
		if (pp_parse_inotify_line(line, ll, &w) || e->n_watches == n)
			return -EIO;
		path = recorded_path(&w, &symlink);
		if (!path && !mountinfo)
			mountinfo = rt_read_file(rt_src_path(ctx->src, mi_path, "mountinfo"), &mi_len);
		if (!path)
			path = handle_path(&w, mountinfo, mi_len, &symlink);
		if (!path) {
			char *p = rt_stpcpy(fd_why(ctx, e), "the path of watch ");

			p = rt_stpcpy(rt_fmt_i64(p, w.wd), " (inode ");
			p = rt_stpcpy(rt_fmt_u64(p, w.ino), ") is unknown: it was not added through "
							 "inotify_add_watch(), or was moved or "
							 "deleted, and opening its file handle needs "
							 "CAP_DAC_READ_SEARCH");
			return -EOPNOTSUPP;
		}
		iw = rt_alloc(sizeof(*iw));
		if (!iw)
			return -ENOMEM;
		sc__inotify_watch__init(iw);
		iw->path = rt_strdup(path, strlen(path));
		if (!iw->path)
			return -ENOMEM;
		iw->wd = w.wd;
		iw->mask = w.mask;
		iw->has_dont_follow = symlink;
		iw->dont_follow = symlink;
		/* fdinfo lists the newest first; the image, by wd. */
		for (at = e->n_watches; at > 0 && e->watches[at - 1]->wd > w.wd; at--)
			e->watches[at] = e->watches[at - 1];
		e->watches[at] = iw;
		e->n_watches++;
	}
	return 0;
}

const struct fd_dump_half fd_inotify_dump_half = {
	.claims = fd_inotify_claims,
	.dump = fd_inotify_dump,
};
