// SPDX-License-Identifier: MIT
/*
 * Files the process writes that grew since the checkpoint are cut back to
 * their size at the checkpoint: the restored process writes those bytes
 * again, so its output is an uninterrupted run's. What is cut is kept
 * first, in IMAGE.cut-N beside the image directory (doc/restore.md), and
 * nothing is cut unless all of it could be kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd_restore.h"

/* sendfile moves at most this much per call; the kernel streams it, so
 * the bytes kept cost disk space only. */
#define COPY_CHUNK (1U << 30)

/* Directories tried beside one image: enough for any number of restores
 * a person would run by hand. */
#define MAX_KEEP_DIRS 10000

static const char no_cut[] = "--allow-changed-files restores without cutting";

/* One file being cut: its descriptor, and where its bytes are kept. */
struct kept {
	int fd, out;
	uint64_t end; /* the file's bytes up to here are kept */
	char path[PATH_MAX];
};

/*
 * Root restoring a user's job keeps the bytes for their owner (the
 * image's, the file's), who can then read and remove them; unprivileged,
 * giving them away fails with EPERM and they stay the restoring user's.
 */
static int give(int fd, const char *path, const struct stat *owner)
{
	if (!fchownat(fd, path, owner->st_uid, owner->st_gid, path[0] ? 0 : AT_EMPTY_PATH) ||
	    errno == EPERM)
		return 0;
	return -1;
}

/* A new directory IMAGE.cut-N beside the image directory, in dir. */
static int keep_dir(const char *image_dir, char *dir, size_t len, char *err)
{
	char real[PATH_MAX];
	struct stat owner;

	if (!realpath(image_dir, real) || stat(real, &owner)) {
		sc_err(err, "%.256s: %s", image_dir, strerror(errno));
		return -1;
	}
	for (unsigned n = 1; n <= MAX_KEEP_DIRS; n++) {
		if ((size_t)snprintf(dir, len, "%s.cut-%u", real, n) >= len) {
			sc_err(err, "%.256s: path too long", real);
			return -1;
		}
		if (!mkdir(dir, S_IRWXU)) {
			if (!give(AT_FDCWD, dir, &owner))
				return 0;
			rmdir(dir);
			break;
		}
		if (errno != EEXIST)
			break;
	}
	sc_err(err, "cannot keep the bytes to cut beside the image: %.256s: %s; %s", dir,
	       strerror(errno), no_cut);
	return -1;
}

/* Appends what fd holds past k->end to k->out. */
static int copy_tail(struct kept *k)
{
	off_t off = (off_t)k->end;

	for (;;) {
		ssize_t n = sendfile(k->out, k->fd, &off, COPY_CHUNK);

		if (n == 0)
			break;
		if (n < 0 && errno != EINTR)
			return -1;
	}
	k->end = (uint64_t)off;
	return fsync(k->out);
}

/* Opens c's file, still the one the preflight checked, and keeps what
 * it holds past its checkpointed size in the n-th file kept in dir. */
static int keep(const struct file_cut *c, size_t n, const char *dir, struct kept *k, char *err)
{
	const char *base = strrchr(c->path, '/') + 1;
	struct stat st;

	k->fd = open(c->path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (k->fd < 0) {
		sc_err(err, "%.256s: cannot open it to cut it back: %s; %s", c->path,
		       strerror(errno), no_cut);
		return -1;
	}
	if (fstat(k->fd, &st) || st.st_dev != c->dev || st.st_ino != c->ino ||
	    (uint64_t)st.st_size < c->size) {
		sc_err(err, "%.256s changed while crload checked it; try again", c->path);
		return -1;
	}
	if ((size_t)snprintf(k->path, sizeof(k->path), "%s/%zu-%s", dir, n + 1, base) >=
	    sizeof(k->path)) {
		sc_err(err, "%.256s: path too long to keep its bytes in %.200s", c->path, dir);
		return -1;
	}
	k->out = open(k->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, S_IRUSR | S_IWUSR);
	k->end = c->size;
	if (k->out < 0 || give(k->out, "", &st) || copy_tail(k)) {
		sc_err(err, "keeping the bytes cut from %.160s in %.160s: %s; %s", c->path, k->path,
		       strerror(errno), no_cut);
		return -1;
	}
	return 0;
}

/* Bytes a writer still running added since they were kept are kept
 * too, then the file is cut back. */
static int cut(const struct file_cut *c, struct kept *k, char *err)
{
	struct stat st;

	if (fstat(k->fd, &st) || ((uint64_t)st.st_size > k->end && copy_tail(k)) ||
	    ftruncate(k->fd, (off_t)c->size)) {
		sc_err(err, "%.256s: cutting it back to %llu bytes: %s", c->path,
		       (unsigned long long)c->size, strerror(errno));
		return -1;
	}
	fprintf(stderr,
		"crload: %s: cut back to the %llu bytes it had at the checkpoint; the %llu bytes "
		"written since are kept in %s\n",
		c->path, (unsigned long long)c->size, (unsigned long long)(k->end - c->size),
		k->path);
	return 0;
}

static void release(struct kept *k, size_t n, bool remove)
{
	for (size_t i = 0; i < n; i++) {
		if (k[i].fd >= 0)
			close(k[i].fd);
		if (k[i].out >= 0)
			close(k[i].out);
		if (remove && k[i].out >= 0)
			unlink(k[i].path);
	}
	free(k);
}

int file_cuts_apply(const struct file_cuts *cuts, const char *image_dir, char *err)
{
	char dir[PATH_MAX];
	struct kept *k;
	size_t grown = 0;
	int dfd, ret = 0;

	for (size_t i = 0; i < cuts->n; i++)
		grown += file_cut_grew(&cuts->v[i]);
	if (!grown)
		return 0;
	k = calloc(cuts->n, sizeof(*k));
	if (!k) {
		sc_err(err, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < cuts->n; i++)
		k[i].fd = k[i].out = -1;
	if (keep_dir(image_dir, dir, sizeof(dir), err)) {
		free(k);
		return -1;
	}
	for (size_t i = 0, nth = 0; i < cuts->n; i++)
		if (file_cut_grew(&cuts->v[i]) && keep(&cuts->v[i], nth++, dir, &k[i], err)) {
			release(k, i + 1, true);
			rmdir(dir);
			return -1;
		}
	/* The kept files' names are on disk before any byte is cut. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	for (size_t i = 0; i < cuts->n && !ret; i++)
		if (file_cut_grew(&cuts->v[i]))
			ret = cut(&cuts->v[i], &k[i], err);
	release(k, cuts->n, false);
	return ret;
}
