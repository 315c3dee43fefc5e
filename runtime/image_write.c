// SPDX-License-Identifier: MIT
/*
 * The files of one image directory, shared by the runtime and crdump:
 * each file is written whole, its size and checksum recorded for the
 * inventory, and kept open until commit fsyncs them all. Nothing here
 * needs libc: the runtime writes from a signal handler.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/file.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "dump.h"

static char *file_name(char *buf, const char *prefix, int pid)
{
	char *p = rt_stpcpy(buf, prefix);

	if (strcmp(prefix, "inventory")) {
		*p++ = '-';
		p = rt_fmt_i64(p, pid);
	}
	rt_stpcpy(p, RT_IMG_SUFFIX);
	return buf;
}

/* Image files hold the program's memory (keys, tokens): their owner's
 * only, whatever the umask (doc/credentials.md). */
int rt_image_create(struct rt_image *im, const char *prefix)
{
	char name[64];
	int fd = (int)sc_sys4(__NR_openat, im->fd, file_name(name, prefix, im->pid),
			      O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, RT_IMAGE_FILE_MODE);

	if (fd >= 0)
		sc_sys2(__NR_fchmod, fd, RT_IMAGE_FILE_MODE);
	return fd;
}

int rt_image_finish(struct rt_image *im, int fd, const char *prefix, uint64_t size, uint64_t xxh3)
{
	Sc__FileSum *s;

	/* Kept open: all files are fsynced together at commit time, so the
	 * filesystem commits its journal once rather than once per file. */
	if (im->nsums == RT_MAX_FILES) {
		sc_sys1(__NR_close, fd);
		return -E2BIG;
	}
	im->fds[im->nsums] = fd;
	s = rt_alloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	sc__file_sum__init(s);
	s->name = rt_alloc(64);
	if (!s->name)
		return -ENOMEM;
	file_name(s->name, prefix, im->pid);
	s->size = size;
	s->xxh3 = xxh3;
	im->sums[im->nsums++] = s;
	im->bytes += size;
	return 0;
}

int rt_image_write_msg(struct rt_image *im, const char *prefix, uint32_t type,
		       const ProtobufCMessage *msg)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	struct sc_img_header *h;
	uint8_t *buf;
	int fd, err;

	if (len > SC_IMG_MAX_MSG)
		return -EFBIG;
	buf = rt_alloc(sizeof(*h) + len);
	if (!buf)
		return -ENOMEM;
	h = (struct sc_img_header *)buf;
	protobuf_c_message_pack(msg, buf + sizeof(*h));
	h->magic = SC_IMG_MAGIC;
	h->type = type;
	h->version = SC_IMAGE_VERSION;
	h->len = (uint32_t)len;
	h->xxh3 = XXH3_64bits(buf + sizeof(*h), len);

	fd = rt_image_create(im, prefix);
	if (fd < 0)
		return fd;
	err = rt_write_all(fd, buf, sizeof(*h) + len);
	if (err) {
		sc_sys1(__NR_close, fd);
		return err;
	}
	return rt_image_finish(im, fd, prefix, sizeof(*h) + len,
			       XXH3_64bits(buf, sizeof(*h) + len));
}

int rt_image_write_proc(struct rt_image *im, struct rt_proc_files *f, const char **what)
{
	static const struct {
		const char *what, *prefix;
		uint32_t type;
		size_t off;
	} files[] = {
		{ "writing fds", SC_FDS_PREFIX, SC_IMG_FDS, offsetof(struct rt_proc_files, fds) },
		{ "writing mm", SC_MM_PREFIX, SC_IMG_MM, offsetof(struct rt_proc_files, mm) },
		{ "writing pagemap", SC_PAGEMAP_PREFIX, SC_IMG_PAGEMAP,
		  offsetof(struct rt_proc_files, pm) },
		{ "writing core", SC_CORE_PREFIX, SC_IMG_CORE,
		  offsetof(struct rt_proc_files, core) },
		{ "writing sigacts", SC_SIGACTS_PREFIX, SC_IMG_SIGACTS,
		  offsetof(struct rt_proc_files, acts) },
	};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		int err;

		*what = files[i].what;
		err = rt_image_write_msg(im, files[i].prefix, files[i].type,
					 (const ProtobufCMessage *)((char *)f + files[i].off));
		if (err)
			return err;
	}
	return 0;
}

static void close_files(struct rt_image *im)
{
	for (size_t i = 0; i < im->nsums; i++) {
		if (im->fds[i] >= 0)
			sc_sys1(__NR_close, im->fds[i]);
		im->fds[i] = -1;
	}
}

int rt_image_sync(struct rt_image *im)
{
	int err = 0;

	for (size_t i = 0; i < im->nsums && !err; i++)
		err = (int)sc_sys1(__NR_fsync, im->fds[i]);
	close_files(im);
	return err;
}

int rt_image_commit(struct rt_image *im)
{
	int err = rt_image_sync(im);

	if (err || (err = (int)sc_sys1(__NR_fsync, im->fd)))
		return err;
	err = (int)sc_sys4(__NR_renameat, im->dirfd, im->tmpname, im->dirfd, im->name);
	if (!err)
		sc_sys1(__NR_fsync, im->dirfd);
	return err;
}

void rt_image_hand_over(struct rt_image *im)
{
	close_files(im);
	sc_sys1(__NR_close, im->fd);
	im->fd = -1;
}

/* This process's files only: a member of a tree leaves the directory to
 * the root. */
void rt_image_discard_own(struct rt_image *im)
{
	close_files(im);
	for (size_t i = 0; i < im->nsums; i++)
		sc_sys3(__NR_unlinkat, im->fd, im->sums[i]->name, 0);
	/* Files that failed half way were never summed: try every name. */
	static const char *const prefixes[] = { SC_PAGES_PREFIX,   SC_MM_PREFIX,
						SC_PAGEMAP_PREFIX, SC_CORE_PREFIX,
						SC_SIGACTS_PREFIX, SC_FDS_PREFIX,
						"inventory" };
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		char name[64];

		sc_sys3(__NR_unlinkat, im->fd, file_name(name, prefixes[i], im->pid), 0);
	}
}

void rt_dir_each(int fd, void (*fn)(void *, int, const char *), void *arg)
{
	char buf[4096];
	long n;

	while ((n = sc_sys3(__NR_getdents64, fd, buf, sizeof(buf))) > 0)
		for (long off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(buf + off);

			off += d->d_reclen;
			fn(arg, fd, d->d_name);
		}
}

static void note_only_images(void *only, int fd, const char *name)
{
	size_t n = strlen(name), k = strlen(RT_IMG_SUFFIX);

	(void)fd;
	if (strcmp(name, ".") && strcmp(name, "..") &&
	    (n <= k || strcmp(name + n - k, RT_IMG_SUFFIX)))
		*(bool *)only = false;
}

bool rt_image_dir_only_images(int fd)
{
	bool only = true;

	if (sc_sys3(__NR_lseek, fd, 0, SEEK_SET))
		return false;
	rt_dir_each(fd, note_only_images, &only);
	return only && !sc_sys3(__NR_lseek, fd, 0, SEEK_SET);
}

/* Unlinks name if it ends in suffix ("": any name). */
static void unlink_entry(void *suffix, int fd, const char *name)
{
	size_t n = strlen(name), k = strlen(suffix);

	if (n > k && !strcmp(name + n - k, suffix))
		sc_sys3(__NR_unlinkat, fd, name, 0);
}

/* Everything in the temporary directory (the tree's members' files too,
 * who have all finished writing), and the directory. */
void rt_image_discard(struct rt_image *im)
{
	rt_image_discard_own(im);
	rt_dir_each(im->fd, unlink_entry, "");
	sc_sys3(__NR_unlinkat, im->dirfd, im->tmpname, AT_REMOVEDIR);
}

/* The pid in a name ".NAME" MARK "PID", or 0. */
static int owner(const char *name, const char *what)
{
	const char *mark = NULL;
	int pid = 0;

	if (name[0] != '.')
		return 0;
	for (const char *p = name; (p = strstr(p, what)); p++)
		mark = p;
	if (!mark)
		return 0;
	for (const char *p = mark + strlen(what); *p; p++) {
		if (*p < '0' || *p > '9' || pid > INT_MAX / 10)
			return 0;
		pid = pid * 10 + (*p - '0');
	}
	return pid;
}

char *rt_image_tmpname(char *buf, const char *name)
{
	char *p = rt_stpcpy(buf, ".");

	p = rt_stpcpy(rt_stpcpy(p, name), RT_TMP_MARK);
	return rt_fmt_i64(p, sc_sys0(__NR_getpid));
}

int rt_image_lock(int fd)
{
	return (int)sc_sys2(__NR_flock, fd, LOCK_EX | LOCK_NB);
}

int rt_image_make_tmp(struct rt_image *im)
{
	int err = (int)sc_sys3(__NR_mkdirat, im->dirfd, im->tmpname, RT_IMAGE_DIR_MODE);

	if (err)
		return err;
	err = im->fd = (int)sc_sys4(__NR_openat, im->dirfd, im->tmpname,
				    O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	/* The lock first: it tells a new directory from a leftover. */
	if (err >= 0 && !(err = rt_image_lock(im->fd)))
		err = (int)sc_sys2(__NR_fchmod, im->fd, RT_IMAGE_DIR_MODE);
	if (err < 0) {
		if (im->fd >= 0)
			sc_sys1(__NR_close, im->fd);
		im->fd = -1;
		sc_sys3(__NR_unlinkat, im->dirfd, im->tmpname, AT_REMOVEDIR);
	}
	return err < 0 ? err : 0;
}

int rt_image_remove_dir(int dirfd, const char *name, int fd)
{
	rt_dir_each(fd, unlink_entry, RT_IMG_SUFFIX);
	return (int)sc_sys3(__NR_unlinkat, dirfd, name, AT_REMOVEDIR);
}

/* A temporary directory, or a generation a pruner was removing. */
static void remove_leftover(void *unused, int dirfd, const char *name)
{
	int pid = owner(name, RT_TMP_MARK) ?: owner(name, RT_DEL_MARK), fd;

	(void)unused;
	/* Its writer is gone: no process has its pid, and nobody holds the
	 * lock a writer takes right after mkdir. The lock alone would leave
	 * that moment open; the pid alone would be fooled by a writer in
	 * another pid namespace. */
	if (pid <= 0 || sc_sys2(__NR_kill, pid, 0) != -ESRCH)
		return;
	fd = (int)sc_sys4(__NR_openat, dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
			  0);
	if (fd < 0)
		return;
	/* Image files only: a directory holding anything else stays. */
	if (!rt_image_lock(fd))
		rt_image_remove_dir(dirfd, name, fd);
	sc_sys1(__NR_close, fd);
}

void rt_image_remove_leftovers(int dirfd)
{
	int fd = (int)sc_sys4(__NR_openat, dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);

	if (fd < 0)
		return;
	rt_dir_each(fd, remove_leftover, NULL);
	sc_sys1(__NR_close, fd);
}
