// SPDX-License-Identifier: MIT
/*
 * The descriptor table, read back from /proc/self/fd and fdinfo.
 *
 * Kinds this version restores: regular files, directories, character
 * devices reopened by path, and terminals, pipes or sockets on the
 * standard streams (the restored process takes crload's). Anything else
 * fails the checkpoint with the fd named: an image must never restore a
 * descriptor wrongly.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "dump.h"
#include "procparse.h"

static const char *unsupported_kind(mode_t mode, const char *target)
{
	if (S_ISFIFO(mode))
		return "pipe";
	if (S_ISSOCK(mode))
		return "socket";
	if (!strncmp(target, "anon_inode:", 11))
		return target + 11;
	return "special file";
}

/* Terminals: /dev/tty*, /dev/console, ptys (majors 4, 5, 136-143). */
static bool is_terminal(const struct stat *st)
{
	unsigned major = (unsigned)(st->st_rdev >> 8) & 0xfff;

	return S_ISCHR(st->st_mode) && (major == 4 || major == 5 || (major >= 136 && major <= 143));
}

static int dump_one(int fd, Sc__Fd *e)
{
	char path[64], *p, *target, *info;
	struct stat st;
	struct pp_fdinfo fi;
	size_t len;
	long n;

	sc__fd__init(e);
	e->fd = fd;
	p = rt_stpcpy(path, "/proc/self/fd/");
	rt_fmt_i64(p, fd);
	target = rt_alloc(RT_MAX_PATH);
	if (!target)
		return -ENOMEM;
	n = sc_sys4(__NR_readlinkat, AT_FDCWD, path, target, RT_MAX_PATH - 1);
	if (n < 0)
		return (int)n;
	target[n] = '\0';
	if (sc_sys2(__NR_fstat, fd, &st))
		return -EBADF;

	p = rt_stpcpy(path, "/proc/self/fdinfo/");
	rt_fmt_i64(p, fd);
	info = rt_read_file(path, &len);
	if (!info || pp_parse_fdinfo(info, len, &fi))
		return -EIO;
	e->flags = fi.flags & ~(uint32_t)O_CLOEXEC;
	e->cloexec = (sc_sys2(__NR_fcntl, fd, F_GETFD) & FD_CLOEXEC) != 0;
	e->has_mode = true;
	e->mode = st.st_mode;
	e->path = target;

	if (S_ISREG(st.st_mode)) {
		static const char deleted[] = " (deleted)";

		if ((size_t)n > sizeof(deleted) && !strcmp(target + n - sizeof(deleted) + 1, deleted))
			goto unsupported;
		e->kind = SC__FD_KIND__REG;
		e->has_pos = e->has_size = true;
		e->pos = fi.pos;
		e->size = (uint64_t)st.st_size;
	} else if (S_ISDIR(st.st_mode)) {
		e->kind = SC__FD_KIND__DIR;
		e->has_pos = true;
		e->pos = fi.pos;
	} else if (fd <= 2 && (is_terminal(&st) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
		e->kind = SC__FD_KIND__INHERIT;
	} else if (S_ISCHR(st.st_mode) && target[0] == '/') {
		e->kind = SC__FD_KIND__CHR;
	} else {
		goto unsupported;
	}
	return 0;

unsupported:
	p = rt_stpcpy(rt_dump_res.detail, "fd ");
	p = rt_fmt_i64(p, fd);
	p = rt_stpcpy(p, " (");
	p = rt_stpcpy(p, target);
	p = rt_stpcpy(p, "): ");
	p = rt_stpcpy(p, S_ISREG(st.st_mode) ? "unlinked file" : unsupported_kind(st.st_mode, target));
	rt_stpcpy(p, " cannot be checkpointed by this version");
	return -EOPNOTSUPP;
}

int rt_dump_fds(struct rt_image *img, Sc__Fds *fds)
{
	char buf[4096];
	size_t cap = 256;
	int dfd = (int)sc_sys4(__NR_openat, AT_FDCWD, "/proc/self/fd",
			       O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	int err = 0;

	if (dfd < 0)
		return dfd;
	fds->fds = rt_alloc(sizeof(*fds->fds) * cap);
	while (!err && fds->fds) {
		long n = sc_sys3(__NR_getdents64, dfd, buf, sizeof(buf));

		if (n <= 0) {
			err = (int)n;
			break;
		}
		for (long off = 0; off < n && !err;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);
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
			Sc__Fd *e = rt_alloc(sizeof(*e));
			if (!e) {
				err = -ENOMEM;
				break;
			}
			err = dump_one(fd, e);
			fds->fds[fds->n_fds++] = e;
		}
	}
	sc_sys1(__NR_close, dfd);
	return fds->fds ? err : -ENOMEM;
}
