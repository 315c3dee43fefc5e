// SPDX-License-Identifier: MIT
/*
 * The descriptor table: each descriptor of /proc/self/fd is read back
 * (fstat, readlink, fdinfo) and handed to the first kind in sc_fd_kinds
 * that claims it. A descriptor no kind claims fails the checkpoint with
 * the fd named: an image must never restore a descriptor wrongly.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "dump.h"
#include "fd_dump.h"
#include "procparse.h"

char *fd_why(struct fd_dump_ctx *ctx, const Sc__Fd *e)
{
	char *p = rt_stpcpy(ctx->why, "fd ");

	p = rt_fmt_i64(p, e->fd);
	p = rt_stpcpy(p, " (");
	p = rt_stpcpy(p, e->path);
	return rt_stpcpy(p, "): ");
}

static const char *type_name(const struct fd_live *l)
{
	if (S_ISREG(l->st.st_mode))
		return "an unlinked file";
	if (S_ISFIFO(l->st.st_mode))
		return "a named FIFO";
	if (S_ISSOCK(l->st.st_mode))
		return "a socket";
	if (!strncmp(l->target, "anon_inode:", 11))
		return "this kind of descriptor";
	return "this kind of file";
}

/*
 * The lowest descriptor on the same open file description as fd, or -1.
 * kcmp(KCMP_FILE) both tests equality and orders descriptions, so one
 * descriptor per description is kept sorted in ctx->roots and each new
 * one costs a binary search: thousands of descriptors on one inode (or
 * on the one anonymous inode all eventfds share) stay cheap.
 */
static int same_description(struct fd_dump_ctx *ctx, int fd)
{
	int pid = ctx->pid;
	size_t lo = 0, hi = ctx->nroots;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		long r = sc_sys5(__NR_kcmp, pid, pid, KCMP_FILE, fd, ctx->roots[mid]);

		if (r == 0)
			return ctx->roots[mid];
		if (r == 1)
			hi = mid;
		else if (r == 2)
			lo = mid + 1;
		else
			return -1; /* no kcmp: every descriptor its own */
	}
	memmove(&ctx->roots[lo + 1], &ctx->roots[lo], (ctx->nroots - lo) * sizeof(*ctx->roots));
	ctx->roots[lo] = fd;
	ctx->nroots++;
	return -1;
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

/* Inodes on which this process may hold a lock, from one read of
 * /proc/locks: only their descriptors need their fdinfo for locks. */
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
	if (!strncmp(l->target, "anon_inode:", 11) || !ctx->locked)
		return true;
	for (size_t i = 0; i < ctx->nlocked; i++)
		if (ctx->locked[i].ino == l->st.st_ino &&
		    ctx->locked[i].major == major(l->st.st_dev) &&
		    ctx->locked[i].minor == minor(l->st.st_dev))
			return true;
	return false;
}

static int dump_one(struct fd_dump_ctx *ctx, int fd, Sc__Fd *e)
{
	char path[64], link[RT_MAX_PATH], *target;
	struct fd_live l = { .fd = fd };
	struct pp_fdinfo fi;
	long n;

	sc__fd__init(e);
	e->fd = fd;
	rt_fmt_i64(rt_stpcpy(path, "/proc/self/fd/"), fd);
	n = sc_sys4(__NR_readlinkat, AT_FDCWD, path, link, sizeof(link) - 1);
	if (n < 0)
		return (int)n;
	target = rt_strdup(link, (size_t)n);
	if (!target)
		return -ENOMEM;
	l.target = e->path = target;
	if (sc_sys2(__NR_fstat, fd, &l.st))
		return -EBADF;
	if (!ctx->locks_loaded && (n = load_locked_inodes(ctx)))
		return (int)n;
	if (needs_fdinfo(ctx, &l)) {
		rt_fmt_i64(rt_stpcpy(path, "/proc/self/fdinfo/"), fd);
		l.fdinfo = rt_read_file(path, &l.fdinfo_len);
		if (!l.fdinfo || pp_parse_fdinfo(l.fdinfo, l.fdinfo_len, &fi))
			return -EIO;
		l.pos = fi.pos;
		e->flags = fi.flags & ~(uint32_t)O_CLOEXEC;
	} else {
		long off = sc_sys3(__NR_lseek, fd, 0, SEEK_CUR);

		l.fdinfo = "";
		l.pos = off < 0 ? 0 : (uint64_t)off;
		e->flags = (uint32_t)sc_sys2(__NR_fcntl, fd, F_GETFL) & ~(uint32_t)O_CLOEXEC;
	}
	e->cloexec = (sc_sys2(__NR_fcntl, fd, F_GETFD) & FD_CLOEXEC) != 0;
	e->has_mode = true;
	e->mode = l.st.st_mode;

	int orig = same_description(ctx, fd);
	for (size_t i = 0; i < sc_nr_fd_kinds; i++) {
		if (!sc_fd_kinds[i].claims || !sc_fd_kinds[i].claims(&l))
			continue;
		/* The kind still describes it (crinfo, checks); the restore
		 * only dups the descriptor it shares everything with. */
		if (orig >= 0) {
			e->has_dup_of = true;
			e->dup_of = orig;
		}
		int err = sc_fd_kinds[i].dump(ctx, &l, e);
		/* A dup shows its description's locks too: taken once. */
		return err || orig >= 0 ? err : dump_locks(ctx, &l, e);
	}
	rt_stpcpy(rt_stpcpy(fd_why(ctx, e), type_name(&l)),
		  " cannot be checkpointed by this version");
	return -EOPNOTSUPP;
}

int rt_dump_fds(struct rt_image *img, Sc__Fds *fds)
{
	struct fd_dump_ctx ctx = { .fds = fds, .why = rt_dump_res.detail, .pid = img->pid };
	size_t max_fds = 1 << 20;
	char buf[4096];
	size_t cap = 256;
	int dfd = (int)sc_sys4(__NR_openat, AT_FDCWD, "/proc/self/fd",
			       O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	int err = 0;

	if (dfd < 0)
		return dfd;
	fds->fds = rt_alloc(sizeof(*fds->fds) * cap);
	ctx.roots = rt_alloc(sizeof(*ctx.roots) * max_fds);
	while (!err && fds->fds && ctx.roots) {
		long n = sc_sys3(__NR_getdents64, dfd, buf, sizeof(buf));

		if (n <= 0) {
			err = (int)n;
			break;
		}
		for (long off = 0; off < n && !err;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
			Sc__Fd *e;
			int fd = 0;

			off += d->d_reclen;
			if (d->d_name[0] < '0' || d->d_name[0] > '9')
				continue;
			for (const char *c = d->d_name; *c; c++)
				fd = fd * 10 + (*c - '0');
			/* The runtime's own descriptors are not the app's. */
			if (fd == dfd || fd == img->dirfd || fd == img->fd)
				continue;
			if (fds->n_fds == cap) {
				Sc__Fd **bigger = rt_alloc(sizeof(*bigger) * cap * 2);

				if (!bigger) {
					err = -ENOMEM;
					break;
				}
				memcpy(bigger, fds->fds, sizeof(*bigger) * cap);
				fds->fds = bigger;
				cap *= 2;
			}
			e = rt_alloc(sizeof(*e));
			if (!e) {
				err = -ENOMEM;
				break;
			}
			err = dump_one(&ctx, fd, e);
			fds->fds[fds->n_fds++] = e;
		}
	}
	sc_sys1(__NR_close, dfd);
	if (!fds->fds || !ctx.roots)
		return -ENOMEM;
	if (!err)
		err = fd_pipe_check_ends(&ctx);
	if (!err)
		err = fd_tty_check_pairs(&ctx);
	return err ? err : fd_unix_check_peers(&ctx);
}
