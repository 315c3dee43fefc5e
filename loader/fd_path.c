// SPDX-License-Identifier: MIT
/* Files, directories and devices, reopened by path and seeked. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fd_restore.h"

/* The files an inotify instance watched are still there. */
static int watches_preflight(const Sc__Fd *e, char *err)
{
	for (size_t i = 0; i < e->n_watches; i++) {
		const Sc__InotifyWatch *w = e->watches[i];
		struct stat st;

		if (fstatat(AT_FDCWD, w->path, &st, w->dont_follow ? AT_SYMLINK_NOFOLLOW : 0)) {
			sc_err(err, "fd %d: inotify watch %d: %.256s: %s", e->fd, w->wd, w->path,
			       strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Whether descriptor f is on a file in memory that a process of img maps
 * (doc/shm-files.md): the image holds the file's contents, and crload
 * makes the file again when it is gone. */
static bool on_file_in_memory(const struct sc_image *img, const Sc__Fd *f)
{
	if (!img || f->kind != SC__FD_KIND__REG || !f->has_ino)
		return false;
	for (size_t i = 0; i < img->nprocs; i++) {
		const Sc__Mm *mm = img->procs[i].mm;

		for (size_t k = 0; k < mm->n_vmas; k++)
			if (sc_vma_is_file_in_memory(mm->vmas[k]) && mm->vmas[k]->ino == f->ino &&
			    mm->vmas[k]->dev == f->dev)
				return true;
	}
	return false;
}

/*
 * A path into the process's own /proc directory: a descriptor it opened
 * as /proc/self/status is recorded as /proc/PID/status. That file exists
 * only once the process does, and under the pid the restore gives it (a
 * new one in new namespaces): it is not looked for before the fork, and
 * opened through /proc/self by the process itself. NULL for any other
 * path, and for descriptors crload opens for the tree (pid 0).
 */
static const char *own_proc_path(const char *path, int pid, char *buf, size_t len)
{
	char prefix[32];
	int n = snprintf(prefix, sizeof(prefix), "/proc/%d", pid);

	if (pid <= 0 || strncmp(path, prefix, (size_t)n) || (path[n] != '/' && path[n] != '\0'))
		return NULL;
	if ((size_t)snprintf(buf, len, "/proc/self%s", path + n) >= len)
		return NULL;
	return buf;
}

/* The file's device as the image records it (as in /proc/PID/maps). */
static uint64_t dev_of(const struct stat *st)
{
	return (uint64_t)major(st->st_dev) << 32 | minor(st->st_dev);
}

/*
 * The path leads to another file than the one the process had open: its
 * inode differs, or its device does. Anonymous devices (major 0: NFS,
 * Lustre, tmpfs, btrfs, overlayfs) are numbered at mount time and differ
 * between machines and mounts of the same filesystem, so there the inode
 * alone decides; a block device's number is the disk's.
 */
static bool replaced(const Sc__Fd *e, const struct stat *st)
{
	if (!e->has_ino)
		return false;
	return st->st_ino != e->ino || ((e->dev >> 32) != 0 && dev_of(st) != e->dev);
}

/* Lists file (dev, ino), written through e; a file already listed keeps
 * the largest size any descriptor recorded (one file, one cut). */
static int add_cut(struct file_cuts *cuts, const Sc__Fd *e, const struct stat *st, char *err)
{
	struct file_cut *c;

	for (size_t i = 0; i < cuts->n; i++) {
		c = &cuts->v[i];
		if (c->dev == st->st_dev && c->ino == st->st_ino) {
			if (e->size > c->size)
				c->size = e->size;
			return 0;
		}
	}
	c = realloc(cuts->v, (cuts->n + 1) * sizeof(*c));
	if (!c) {
		sc_err(err, "out of memory");
		return -1;
	}
	cuts->v = c;
	cuts->v[cuts->n++] = (struct file_cut){ e->path, st->st_dev, st->st_ino, e->size,
						(uint64_t)st->st_size };
	return 0;
}

void file_cuts_free(struct file_cuts *cuts)
{
	free(cuts->v);
	cuts->v = NULL;
	cuts->n = 0;
}

/*
 * A regular file as the process will find it: refused (-1, err) if the
 * process could not redo what changed: the path leads to another file, a
 * file it writes is shorter than at the checkpoint, or any file is
 * shorter than its offset and than it was. A file it writes is listed in
 * cuts.
 */
static int reg_preflight(const Sc__Fd *e, const struct stat *st, struct file_cuts *cuts, char *err)
{
	static const char anyway[] = "--allow-changed-files restores anyway";
	bool writer = (e->flags & O_ACCMODE) != O_RDONLY;
	uint64_t now = (uint64_t)st->st_size;

	if (replaced(e, st))
		return sc_err(err,
			      "fd %d: %.256s was replaced by another file since the checkpoint "
			      "(inode %llu, was %llu); %s",
			      e->fd, e->path, (unsigned long long)st->st_ino,
			      (unsigned long long)e->ino, anyway);
	if (writer && now < e->size) {
		snprintf(
			err, SC_ERR_LEN,
			"fd %d: %.256s is shorter than at the checkpoint (%llu bytes, was %llu); %s",
			e->fd, e->path, (unsigned long long)now, (unsigned long long)e->size,
			anyway);
		return -1;
	}
	/* A process may have seeked past the end: only what it could read
	 * at the checkpoint must still be there. */
	if (now < e->pos && now < e->size)
		return sc_err(
			err,
			"fd %d: %.256s is shorter than the process's offset in it (%llu bytes, "
			"offset %llu); %s",
			e->fd, e->path, (unsigned long long)now, (unsigned long long)e->pos,
			anyway);
	return writer ? add_cut(cuts, e, st, err) : 0;
}

/*
 * Before any process exists: every file reopened by path (or watched by
 * inotify) is still there, and every regular file is one the process can
 * go on with (reg_preflight); allow_changed skips the latter and lists no
 * cuts. Files crload gives from its own descriptors (inherits) are not
 * reopened, and not checked; nor are files in memory the image holds the
 * contents of, which crload makes again when they are gone.
 */
int fd_path_preflight(const struct sc_image *img, int pid, const Sc__Fds *fds,
		      const struct fd_inherits *inherits, bool allow_changed,
		      struct file_cuts *cuts, char *err)
{
	for (size_t i = 0; i < fds->n_fds; i++) {
		const Sc__Fd *e = fds->fds[i];
		char own[PATH_MAX];
		struct stat st;

		if (!e->has_dup_of && e->kind == SC__FD_KIND__INOTIFY && watches_preflight(e, err))
			return -1;
		if (e->has_dup_of ||
		    (e->kind != SC__FD_KIND__REG && e->kind != SC__FD_KIND__DIR &&
		     e->kind != SC__FD_KIND__CHR) ||
		    fd_inherit_index(inherits, e) >= 0 || on_file_in_memory(img, e) ||
		    own_proc_path(e->path, pid, own, sizeof(own)))
			continue;
		if (stat(e->path, &st)) {
			sc_err(err, "fd %d: %.256s: %s", e->fd, e->path, strerror(errno));
			return -1;
		}
		if (e->kind == SC__FD_KIND__REG && e->has_size && !allow_changed &&
		    reg_preflight(e, &st, cuts, err))
			return -1;
	}
	return 0;
}

int fd_reopen_flags(const Sc__Fd *e, bool through_proc)
{
	int flags = (int)e->flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY);

	if ((flags & O_TMPFILE) == O_TMPFILE)
		flags &= ~O_TMPFILE;
	if (through_proc)
		flags &= ~O_NOFOLLOW;
	return flags | O_CLOEXEC;
}

static int fd_path_restore(struct fd_restore_ctx *ctx, const Sc__Fd *e, char *err)
{
	int flags = fd_reopen_flags(e, false);
	char own[PATH_MAX];
	const char *path = own_proc_path(e->path, ctx->pid, own, sizeof(own)) ?: e->path;
	int fd;

	/* Its contents come with the memory that maps it (premap.c). */
	if (on_file_in_memory(ctx->img, e))
		flags |= O_CREAT;
	fd = open(path, flags, SC_FILE_IN_MEMORY_MODE);

	if (fd < 0) {
		sc_err(err, "fd %d: %s: %s", e->fd, e->path, strerror(errno));
		return -1;
	}
	/* An O_PATH descriptor has no offset to set (EBADF). */
	if (e->has_pos && !(flags & O_PATH) && lseek(fd, (off_t)e->pos, SEEK_SET) < 0) {
		sc_err(err, "fd %d: %s: cannot seek to %llu", e->fd, e->path,
		       (unsigned long long)e->pos);
		close(fd);
		return -1;
	}
	return fd;
}

static void fd_path_describe(const Sc__Fd *e, char *buf, size_t len)
{
	if (e->has_pos)
		snprintf(buf, len, "%s at offset %llu", e->path, (unsigned long long)e->pos);
	else
		snprintf(buf, len, "%s", e->path);
}

/* DIR, CHR: a path to open again. */
int fd_check_path(const struct fd_check_ctx *ctx, const Sc__Fd *f, char *err)
{
	(void)ctx;
	if (!f->path || f->path[0] != '/')
		return sc_err(err, "fd %d has no path", f->fd);
	return 0;
}

/* REG: a path; crload compares its identity with the file and cuts it
 * back to size. */
int fd_check_file(const struct fd_check_ctx *ctx, const Sc__Fd *f, char *err)
{
	if (fd_check_path(ctx, f, err))
		return -1;
	if (f->has_dev != f->has_ino || (f->has_size && f->size > INT64_MAX) ||
	    (f->has_pos && f->pos > INT64_MAX))
		return sc_err(err, "fd %d: file identity, size or offset malformed", f->fd);
	return 0;
}

const struct fd_restore_half fd_path_restore_half = {
	.restore = fd_path_restore,
	.describe = fd_path_describe,
};
