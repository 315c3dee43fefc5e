// SPDX-License-Identifier: MIT
/*
 * crrun's history on the shared tier (doc/batch.md, doc/tiers.md): with
 * --flush-dir, SHARED/history is a copy of DIR/history, made again
 * whenever crrun writes a line or reads the runtime's new ones, so that a
 * job whose node-local DIR was lost still has the story of its earlier
 * runs; and a crrun that finds DIR's history missing, or shorter than
 * SHARED's (a local tier left over from an earlier run on this node),
 * starts from SHARED's.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crrun.h"
#include "selfckpt/launcher.h"

/* The bytes of dir's history, 0 if it has none. */
static off_t history_size(const char *dir)
{
	char path[PATH_MAX + sizeof(SELFCKPT_HISTORY_FILE)];
	struct stat st;

	snprintf(path, sizeof(path), "%s/" SELFCKPT_HISTORY_FILE, dir);
	return stat(path, &st) ? 0 : st.st_size;
}

/*
 * from/history copied over to/history as a whole: written beside it,
 * fsynced, renamed into place and the directory fsynced, so that a reader
 * of to never sees half of it, nor a crash leaves less than there was.
 * 0, or -1 with errno set.
 */
static int copy_history(const char *from, const char *to)
{
	char src[PATH_MAX + sizeof(SELFCKPT_HISTORY_FILE)],
		dst[PATH_MAX + sizeof(SELFCKPT_HISTORY_FILE)], tmp[PATH_MAX + 64], buf[1 << 16];
	int in, out = -1, dir = -1, e = 0;
	ssize_t n = 0, w;

	snprintf(src, sizeof(src), "%s/" SELFCKPT_HISTORY_FILE, from);
	snprintf(dst, sizeof(dst), "%s/" SELFCKPT_HISTORY_FILE, to);
	snprintf(tmp, sizeof(tmp), "%s/." SELFCKPT_HISTORY_FILE ".tmp-%d", to, (int)getpid());
	if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if ((out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, S_IRUSR | S_IWUSR)) < 0)
		e = errno;
	while (!e && (n = read(in, buf, sizeof(buf))) > 0)
		if ((w = write(out, buf, (size_t)n)) != n)
			e = w < 0 ? errno : EIO; /* a short write: the disk is full */
	if (!e && n < 0)
		e = errno;
	if (!e && (fsync(out) || rename(tmp, dst) ||
		   (dir = open(to, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(dir)))
		e = errno;
	if (e && out >= 0)
		unlink(tmp);
	if (dir >= 0)
		close(dir);
	if (out >= 0)
		close(out);
	close(in);
	errno = e;
	return e ? -1 : 0;
}

void crrun_history_from_shared(const struct crrun *r)
{
	/* Without it the job goes on, its history the local one. */
	if (r->flush_dir && history_size(r->flush_dir) > history_size(r->dir) &&
	    copy_history(r->flush_dir, r->dir))
		fprintf(stderr, "crrun: %s/%s: cannot be copied to %s: %s\n", r->flush_dir,
			SELFCKPT_HISTORY_FILE, r->dir, strerror(errno));
}

void crrun_history_to_shared(const struct crrun *r)
{
	static bool said;

	if (r->flush_dir && copy_history(r->dir, r->flush_dir) && !said) {
		fprintf(stderr, "crrun: %s/%s: %s\n", r->flush_dir, SELFCKPT_HISTORY_FILE,
			strerror(errno));
		said = true;
	}
}
