// SPDX-License-Identifier: MIT
/*
 * The descriptor table: each descriptor of the process (dump_source.h) is
 * read back (fstat, readlink, fdinfo) and handed to the first kind that
 * claims it (fd_dump_half_of). A descriptor no kind claims fails the
 * checkpoint with the fd named: an image must never restore a descriptor
 * wrongly.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "dump.h"
#include "fd_dump.h"
#include "procparse.h"

static const char *type_name(const struct fd_live *l)
{
	if (S_ISREG(l->st.st_mode))
		return "an unlinked file";
	if (S_ISFIFO(l->st.st_mode))
		return "a named FIFO";
	if (S_ISSOCK(l->st.st_mode))
		return "a socket";
	if (S_ISCHR(l->st.st_mode) || S_ISBLK(l->st.st_mode))
		return "a device whose state a reopen would lose";
	if (!strncmp(l->target, "anon_inode:", 11))
		return "this kind of descriptor";
	return "this kind of file";
}

/* The locks held through this descriptor, from its fdinfo. */
static int dump_locks(struct fd_dump_ctx *ctx, const struct fd_live *l, Sc__Fd *e)
{
	size_t pos = 0, ll, n = 0;
	const char *line;

	for (size_t i = 0; i + 5 < l->fdinfo_len; i++)
		n += !memcmp(l->fdinfo + i, "lock:", 5);
	if (!n)
		return 0;
	e->locks = rt_alloc(sizeof(*e->locks) * n);
	if (!e->locks)
		return -ENOMEM;
	while ((line = pp_next_line(l->fdinfo, l->fdinfo_len, &pos, &ll))) {
		struct pp_lock lk;
		Sc__FileLock *fl;

		if (ll < 5 || memcmp(line, "lock:", 5))
			continue;
		if (pp_parse_lock_line(line, ll, &lk) || e->n_locks == n) {
			rt_stpcpy(fd_why(ctx, e), "holds a lease or a lock that cannot be restored");
			return -EOPNOTSUPP;
		}
		fl = rt_alloc(sizeof(*fl));
		if (!fl)
			return -ENOMEM;
		sc__file_lock__init(fl);
		fl->type = (Sc__FileLock__Type)lk.type;
		fl->write = lk.write;
		fl->start = lk.start;
		fl->has_end = !lk.to_eof;
		fl->end = lk.end;
		e->locks[e->n_locks++] = fl;
	}
	return 0;
}

/*
 * Inodes on which this process may hold a lock, from one read of
 * /proc/locks: only their descriptors need their fdinfo for locks. Worth
 * it for many descriptors only: reading /proc/locks takes a lock that
 * waits for an RCU grace period (8-12 ms here), far more than the fdinfo
 * of a few dozen. crdump reads every fdinfo anyway (close-on-exec).
 */
#define LOCKS_AFTER 64 /* descriptors read through fdinfo before */

struct lock_inode {
	unsigned major, minor;
	uint64_t ino;
};

static int load_locked_inodes(struct fd_dump_ctx *ctx)
{
	size_t len, pos = 0, ll, n = 0;
	char *buf = rt_read_file("/proc/locks", &len);
	long pid = ctx->pid;
	const char *line;

	ctx->locks_loaded = true;
	if (!buf)
		return 0; /* no /proc/locks: read every fdinfo instead */
	for (size_t i = 0; i < len; i++)
		n += buf[i] == '\n';
	ctx->locked = rt_alloc(sizeof(*ctx->locked) * (n + 1));
	if (!ctx->locked)
		return -ENOMEM;
	while ((line = pp_next_line(buf, len, &pos, &ll))) {
		struct pp_lock_owner o;

		/* Ours, or an OFD lock (pid -1) that might be. */
		if (pp_parse_locks_owner(line, ll, &o) == 0 && (o.pid == pid || o.pid == -1)) {
			struct lock_inode *li = &ctx->locked[ctx->nlocked++];

			li->major = o.major;
			li->minor = o.minor;
			li->ino = o.ino;
		}
	}
	return 0;
}

/* Does this descriptor's fdinfo hold anything /proc/self/fd, fstat,
 * fcntl and lseek do not? Anonymous inodes (their state) and files we may
 * have locked. Reading fdinfo for every descriptor dominated the cost of
 * checkpointing thousands. */
static bool needs_fdinfo(struct fd_dump_ctx *ctx, const struct fd_live *l)
{
	/* Another process's close-on-exec flag is only in its fdinfo. */
	if (ctx->src->remote || !strncmp(l->target, "anon_inode:", 11) || !ctx->locked)
		return true;
	for (size_t i = 0; i < ctx->nlocked; i++)
		if (ctx->locked[i].ino == l->st.st_ino &&
		    ctx->locked[i].major == major(l->st.st_dev) &&
		    ctx->locked[i].minor == minor(l->st.st_dev))
			return true;
	return false;
}

/*
 * What readlink of /proc/self/fd/N would say, where fstat tells it
 * already: "socket:[INODE]", and "pipe:[INODE]" for pipes (a named FIFO
 * lives on another filesystem than pipefs). Returns its length, or 0 to
 * ask readlink. A path walk per descriptor is much of the cost of
 * thousands.
 */
static long synthetic_target(struct fd_dump_ctx *ctx, const struct stat *st, char *buf)
{
	const char *kind;

	if (S_ISSOCK(st->st_mode))
		kind = "socket:[";
	else if (S_ISFIFO(st->st_mode) && ctx->pipefs_known && st->st_dev == ctx->pipefs_dev)
		kind = "pipe:[";
	else
		return 0;
	return rt_stpcpy(rt_fmt_u64(rt_stpcpy(buf, kind), st->st_ino), "]") - buf;
}

static int dump_one(struct fd_dump_ctx *ctx, int num, const struct stat *st, Sc__Fd *e)
{
	char name[24], link[RT_MAX_PATH], *target;
	struct fd_live l = { .num = num, .fd = rt_src_fd(ctx->src, num) };
	struct pp_fdinfo fi;
	long n;

	sc__fd__init(e);
	e->fd = num;
	l.st = *st;
	/* Ours, which is the same file as the process's. */
	rt_fmt_i64(name, l.fd);
	n = synthetic_target(ctx, &l.st, link);
	if (!n)
		n = sc_sys4(__NR_readlinkat, ctx->link_dir, name, link, sizeof(link) - 1);
	if (n < 0)
		return (int)n;
	target = rt_strdup(link, (size_t)n);
	if (!target)
		return -ENOMEM;
	l.target = e->path = target;
	if (S_ISFIFO(l.st.st_mode) && !strncmp(target, "pipe:[", 6)) {
		ctx->pipefs_dev = l.st.st_dev;
		ctx->pipefs_known = true;
	}
	if (!ctx->src->remote && !ctx->locks_loaded && ++ctx->dumped > LOCKS_AFTER &&
	    (n = load_locked_inodes(ctx)))
		return (int)n;
	if (needs_fdinfo(ctx, &l)) {
		rt_fmt_i64(name, num);
		l.fdinfo = rt_read_file_at(ctx->info_dir, name, &l.fdinfo_len);
		if (!l.fdinfo || pp_parse_fdinfo(l.fdinfo, l.fdinfo_len, &fi))
			return -EIO;
		l.pos = fi.pos;
		if (pp_fdinfo_field(l.fdinfo, l.fdinfo_len, "eventfd-id:", 10, &l.id))
			l.id = 0;
		e->flags = fi.flags & ~(uint32_t)O_CLOEXEC;
		e->cloexec = (fi.flags & O_CLOEXEC) != 0;
	} else {
		long off = sc_sys3(__NR_lseek, l.fd, 0, SEEK_CUR);

		l.fdinfo = "";
		l.pos = off < 0 ? 0 : (uint64_t)off;
		e->flags = (uint32_t)sc_sys2(__NR_fcntl, l.fd, F_GETFL) & ~(uint32_t)O_CLOEXEC;
		e->cloexec = (sc_sys2(__NR_fcntl, l.fd, F_GETFD) & FD_CLOEXEC) != 0;
	}
	e->has_mode = true;
	e->mode = l.st.st_mode;

	int orig;

	if ((n = fd_same_description(ctx, &l, e->flags, &orig)))
		return (int)n;
	const struct fd_dump_half *half = fd_dump_half_of(&l);

	if (!half) {
		rt_stpcpy(rt_stpcpy(fd_why(ctx, e), type_name(&l)),
			  " cannot be checkpointed by this version");
		return -EOPNOTSUPP;
	}
	/* The kind still describes it (crinfo, checks); the restore only dups
	 * the descriptor it shares everything with. */
	if (orig >= 0) {
		e->has_dup_of = true;
		e->dup_of = orig;
	}
	int err = half->dump(ctx, &l, e);
	/* A dup shows its description's locks too: taken once. */
	return err || orig >= 0 ? err : dump_locks(ctx, &l, e);
}

static bool own_fd(const struct fd_dump_ctx *ctx, int fd)
{
	for (int i = 0; i < ctx->n_own; i++)
		if (ctx->own_fds[i] == fd)
			return true;
	return false;
}

/* Descriptors the runtime holds during the checkpoint: not the app's. */
static bool runtime_fd(const struct fd_dump_ctx *ctx, const struct rt_image *img, int fd)
{
	return fd == img->dirfd || fd == img->fd || (ctx->tree->owns && ctx->tree->owns(fd)) ||
	       fd == ctx->info_dir || fd == ctx->link_dir || own_fd(ctx, fd);
}

static int add_fd(struct fd_dump_ctx *ctx, int fd, const struct stat *st, size_t *cap)
{
	Sc__Fds *fds = ctx->fds;
	Sc__Fd *e;

	if (fds->n_fds == *cap) {
		Sc__Fd **bigger = rt_alloc(sizeof(*bigger) * *cap * 2);

		if (!bigger)
			return -ENOMEM;
		memcpy(bigger, fds->fds, sizeof(*bigger) * *cap);
		fds->fds = bigger;
		*cap *= 2;
	}
	e = rt_alloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	fds->fds[fds->n_fds++] = e;
	return dump_one(ctx, fd, st, e);
}

/* The size of the descriptor table (FDSize): every descriptor is below. */
static long fd_table_size(void)
{
	size_t len;
	const char *s = rt_read_file("/proc/self/status", &len), *p;
	long n = 0;

	if (!s || !(p = strstr(s, "\nFDSize:")))
		return -1;
	for (p += 8; *p == ' ' || *p == '\t'; p++)
		;
	for (; *p >= '0' && *p <= '9'; p++)
		n = n * 10 + (*p - '0');
	return n;
}

/*
 * Up to this table size every number is tried with fstat, which also
 * gives the stat the descriptor needs: listing /proc/self/fd instead
 * makes the kernel build an inode per entry. Sparse tables are listed.
 */
#define PROBE_MAX 65536

static int dump_listed(struct fd_dump_ctx *ctx, struct rt_image *img, size_t *cap)
{
	char buf[4096];
	int dfd = (int)sc_sys4(__NR_openat, AT_FDCWD, "/proc/self/fd",
			       O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	int err = 0;

	if (dfd < 0)
		return dfd;
	while (!err) {
		long n = sc_sys3(__NR_getdents64, dfd, buf, sizeof(buf));

		if (n <= 0) {
			err = (int)n;
			break;
		}
		for (long off = 0; off < n && !err;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			struct stat st;
			int fd = 0;

			off += d->d_reclen;
			if (d->d_name[0] < '0' || d->d_name[0] > '9')
				continue;
			for (const char *c = d->d_name; *c; c++)
				fd = fd * 10 + (*c - '0');
			if (fd == dfd || runtime_fd(ctx, img, fd))
				continue;
			err = sc_sys2(__NR_fstat, fd, &st) ? -EBADF : add_fd(ctx, fd, &st, cap);
		}
	}
	sc_sys1(__NR_close, dfd);
	return err;
}

int rt_dump_fds(const struct rt_source *src, struct rt_image *img, Sc__Fds *fds,
		const struct rt_fd_tree *tree, char *why)
{
	struct fd_dump_ctx ctx = { .src = src, .fds = fds, .why = why, .pid = img->pid, .tree = tree };
	size_t cap = 256;
	long size = src->remote ? 0 : fd_table_size();
	char path[RT_MAX_PATH];
	int err = 0;

	fds->fds = rt_alloc(sizeof(*fds->fds) * cap);
	if (!fds->fds)
		return -ENOMEM;
	ctx.info_dir = (int)sc_sys4(__NR_openat, AT_FDCWD, rt_src_path(src, path, "fdinfo"),
				    O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	ctx.link_dir = (int)sc_sys4(__NR_openat, AT_FDCWD, "/proc/self/fd",
				    O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (ctx.info_dir < 0 || ctx.link_dir < 0) {
		err = ctx.info_dir < 0 ? ctx.info_dir : ctx.link_dir;
		goto out;
	}
	if (src->remote) {
		/* crdump holds one of its own for each of them already. */
		for (int n = 0; n < src->n_local && !err; n++) {
			struct stat st;

			if (src->local_fds[n] >= 0 && !sc_sys2(__NR_fstat, src->local_fds[n], &st))
				err = add_fd(&ctx, n, &st, &cap);
		}
	} else if (size < 0 || size > PROBE_MAX) {
		err = dump_listed(&ctx, img, &cap);
	} else {
		for (int fd = 0; fd < size && !err; fd++) {
			struct stat st;

			if (!runtime_fd(&ctx, img, fd) && !sc_sys2(__NR_fstat, fd, &st))
				err = add_fd(&ctx, fd, &st, &cap);
		}
	}
	for (int i = 0; i < ctx.n_own; i++)
		sc_sys1(__NR_close, ctx.own_fds[i]);
out:
	if (ctx.info_dir >= 0)
		sc_sys1(__NR_close, ctx.info_dir);
	if (ctx.link_dir >= 0)
		sc_sys1(__NR_close, ctx.link_dir);
	return err ? err : fd_dump_after_all(&ctx);
}
