// SPDX-License-Identifier: MIT
/*
 * crflush SRC SHARED: generations copied from the fast local tier to the
 * durable shared one (doc/tiers.md). SRC is a SELFCKPT_DIR, whose newest
 * generation is flushed, or one image. A generation is written into
 * SHARED/.ckpt-N.tmp-PID, every file and the directory fsynced, then
 * renamed to ckpt-N and SHARED fsynced: on the shared tier as on the
 * local one, a ckpt-N is complete once it has its name. An incremental
 * image's parents go first, so that a ckpt-N there always has its chain.
 * Every file is checked against the image's sums as it is written: a
 * generation whose bytes are not the image's is not named complete there.
 *
 * The runtime starts it after each commit with --detach: it forks, its
 * first process exits at once (the runtime reaps it), and the second,
 * nobody's child, copies at a low priority while the program runs on.
 * Flushes asked while one runs are coalesced: one waits, and flushes the
 * newest generation once the running one is done.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "image.h"
#include "tiers.h"

/* libxxhash's XXH3 for this CPU's widest vectors, as the image reader's
 * (doc/checksums.md); a state on the stack needs its layout. */
#define XXH_STATIC_LINKING_ONLY
#include <xxh_x86dispatch.h>

#define CHUNK (1 << 20) /* bytes copied at a time, between looks at the rate */
#define IOPRIO_BEST_EFFORT_LOWEST ((2 << 13) | 7)

struct flush {
	const char *src; /* a SELFCKPT_DIR, or the directory holding the image */
	const char *shared;
	int shared_fd;
	double rate; /* bytes a second, 0: as fast as it goes */
	bool detach; /* the runtime's flush: coalesced with others */
	unsigned long keep; /* --keep: generations kept on SHARED, 0: all */
	double t0, copied;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: crflush [--detach] [--rate=MIB] [--keep=N] SRC SHARED\n"
		   "Copies the newest generation of the SELFCKPT_DIR SRC (or the image SRC),\n"
		   "with the images it builds on, to SHARED, each made durable there before it\n"
		   "is named ckpt-N (doc/tiers.md).\n"
		   "  --detach     return at once; the copy goes on at a low priority\n"
		   "  --rate=MIB   copy at most MIB MiB a second\n"
		   "  --keep=N     then keep the N newest generations on SHARED, and the ones\n"
		   "               they build on; remove the others\n");
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleeps as long as the copy is ahead of its rate. */
static void keep_rate(struct flush *fl, size_t n)
{
	double ahead;

	fl->copied += (double)n;
	if (!fl->rate)
		return;
	ahead = fl->copied / fl->rate - (now_s() - fl->t0);
	if (ahead > 0) {
		struct timespec ts = { (time_t)ahead,
				       (long)((ahead - (double)(time_t)ahead) * 1e9) };

		nanosleep(&ts, NULL);
	}
}

/*
 * Direct I/O on fd where its filesystem takes it: the copy then goes from
 * the disk to the shared tier without passing through the page cache,
 * which would take fresh memory and memory bandwidth from the program
 * (doc/direct-io.md); the image was written with O_DIRECT too, so none of
 * it is cached. Where it is refused, the page cache.
 */
static bool direct(int fd, bool on)
{
	int flags = fcntl(fd, F_GETFL);

	return flags >= 0 && !fcntl(fd, F_SETFL, on ? flags | O_DIRECT : flags & ~O_DIRECT) && on;
}

/* n bytes of buf to out; a write O_DIRECT refuses (a tail that is not
 * whole blocks) goes through the page cache. */
static int write_all(int out, const char *buf, size_t n, bool *out_direct)
{
	for (ssize_t w; n; buf += w, n -= (size_t)w)
		if ((w = write(out, buf, n)) < 0) {
			if (errno != EINVAL || !*out_direct)
				return -1;
			*out_direct = direct(out, false);
			w = 0;
		}
	return 0;
}

/*
 * What a copy must be: the inventory's size and XXH3 of the file
 * (doc/checksums.md). The inventory lists every file but itself: its
 * XXH3 is the one its reader computed when crflush loaded the image (a
 * child names its parent by it), and its size is not checked apart.
 */
struct want {
	uint64_t xxh3, size;
	bool sized;
};

/*
 * The file name of from_dir copied into to_dir, fsynced, and the bytes
 * written summed as they are written: 0 if they are the bytes want
 * says, else -1 with why set. The bytes are hashed from the buffer each
 * write took, not read back from the shared tier: reading them back
 * would double the flush's traffic on the shared file system, which
 * checks its own transfers, and a restore from there checks every file
 * anyway (crload).
 */
static int copy_file(struct flush *fl, int from_dir, int to_dir, const char *name,
		     const struct want *want, char *why)
{
	static char buf[CHUNK] __attribute__((aligned(4096)));
	int in = openat(from_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), out = -1, rc = -1;
	bool in_direct, out_direct;
	uint64_t written = 0;
	XXH3_state_t st;
	ssize_t n = 0;

	if (in < 0)
		return sc_err(why, "%s: %s", name, strerror(errno));
	XXH3_64bits_reset(&st);
	out = openat(to_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	in_direct = direct(in, true);
	out_direct = out >= 0 && direct(out, true);
	while (out >= 0) {
		n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINVAL && in_direct) {
			in_direct = direct(in, false);
			continue;
		}
		if (n <= 0)
			break;
		if (n % 4096 && out_direct)
			out_direct = direct(out, false);
		if (write_all(out, buf, (size_t)n, &out_direct))
			break;
		XXH3_64bits_update(&st, buf, (size_t)n);
		written += (uint64_t)n;
		keep_rate(fl, (size_t)n);
	}
	if (out < 0 || n || fsync(out))
		sc_err(why, "%s: %s", name, strerror(errno));
	else if (want->sized && written != want->size)
		sc_err(why, "%s: %llu bytes copied, the inventory says %llu", name,
		       (unsigned long long)written, (unsigned long long)want->size);
	else if (XXH3_64bits_digest(&st) != want->xxh3)
		sc_err(why, "%s: " SC_CORRUPTED " (the bytes copied are not the image's)", name);
	else
		rc = 0;
	if (out >= 0)
		close(out);
	close(in);
	return rc;
}

/* Directory fd read from its start, on a descriptor of its own; NULL if
 * it cannot be. */
static DIR *read_dir(int fd)
{
	int own = dup(fd);
	DIR *d = own < 0 ? NULL : fdopendir(own);

	if (d)
		rewinddir(d); /* a dup shares the offset of a read before */
	else if (own >= 0)
		close(own);
	return d;
}

/* Removes the image files in dir's entry name and the directory. */
static void remove_dir(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			unlinkat(fd, e->d_name, 0);
	if (d)
		closedir(d);
	unlinkat(dirfd, name, AT_REMOVEDIR);
}

/* The inventory of img and every file it lists, from from_dir to to_dir,
 * each checked (copy_file); 0, or -1 with why set. */
static int copy_files(struct flush *fl, int from_dir, int to_dir, const struct sc_image *img,
		      char *why)
{
	const struct want inv = { .xxh3 = img->inv_xxh3 };

	for (size_t i = 0; i < img->inv->n_files; i++) {
		const Sc__FileSum *s = img->inv->files[i];
		const struct want file = { .xxh3 = s->xxh3, .size = s->size, .sized = true };

		if (copy_file(fl, from_dir, to_dir, s->name, &file, why))
			return -1;
	}
	return copy_file(fl, from_dir, to_dir, SC_INVENTORY_FILE, &inv, why);
}

/*
 * The generation name of SRC, the image img, copied to SHARED as a whole:
 * its inventory and every file it lists, each checked against the
 * image's sums as it is written and fsynced, then the directory, renamed
 * into place, SHARED fsynced. A file that is not what the image says
 * (damaged on the local tier, or as it was copied) leaves nothing on
 * SHARED: the generation is not complete there. Files the inventory does
 * not list are not part of the image, and stay.
 */
static int copy_generation(struct flush *fl, int gen_fd, const char *name,
			   const struct sc_image *img, char *why)
{
	char tmp[NAME_MAX + 32], what[SC_ERR_LEN];
	int to = -1, rc = -1;

	snprintf(tmp, sizeof(tmp), ".%s" SC_TMP_MARK "%d", name, (int)getpid());
	if (mkdirat(fl->shared_fd, tmp, 0700) ||
	    (to = openat(fl->shared_fd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(why, SC_ERR_LEN, "%s/%s: %s", fl->shared, tmp, strerror(errno));
		goto out;
	}
	if (copy_files(fl, gen_fd, to, img, what)) {
		sc_err(why, "%s/%s", name, what);
		goto out;
	}
	if (fsync(to) || renameat(fl->shared_fd, tmp, fl->shared_fd, name) ||
	    fsync(fl->shared_fd)) {
		snprintf(why, SC_ERR_LEN, "%s/%s: %s", fl->shared, name, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (rc && to >= 0)
		remove_dir(fl->shared_fd, tmp);
	if (to >= 0)
		close(to);
	return rc;
}

/*
 * dir/name made a symbolic link to target, anew and renamed over the old
 * one, so that a reader finds the old link or the new one, never none.
 * Several SELFCKPT_DIRs may flush to one shared tier: the temporary name
 * is this flush's alone. A failure is said; what the link is for goes
 * on without it.
 */
static int replace_link(const char *dir, const char *name, const char *target)
{
	char tmp[PATH_MAX], to[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp-%ld", dir, name + (name[0] == '.'), (long)getpid());
	snprintf(to, sizeof(to), "%s/%s", dir, name);
	if ((unlink(tmp) && errno != ENOENT) || symlink(target, tmp) || rename(tmp, to)) {
		fprintf(stderr, "crflush: %s: %s\n", to, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The image dir/name on SHARED, its parents first (the chain a ckpt-N
 * there needs: doc/incremental.md names parents "../ckpt-N"). One there
 * already is left as it is. Held against the local pruner while it is
 * copied (doc/retention.md). 0, or -1 with why set.
 */
static int flush_image(struct flush *fl, const char *dir, const char *name, unsigned depth,
		       char *why)
{
	char path[PATH_MAX], parent[PATH_MAX];
	struct sc_image img = { 0 };
	struct stat st;
	int fd, rc = -1;

	if (!fstatat(fl->shared_fd, name, &st, AT_SYMLINK_NOFOLLOW))
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (depth == SC_CHAIN_MAX)
		return sc_err(why, "%s: more than %d images in the chain", path, SC_CHAIN_MAX);
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return sc_err(why, "%s: %s", path, strerror(errno));
	while (flock(fd, LOCK_SH) && errno == EINTR)
		;
	if (sc_image_load_one(path, &img, true, why))
		goto out;
	if (img.inv->parent) {
		const char *p = img.inv->parent;

		if (strncmp(p, "../", 3) || strchr(p + 3, '/')) {
			sc_err(why, "%s: its parent %s is not beside it", path, p);
			goto out;
		}
		snprintf(parent, sizeof(parent), "%s", p + 3);
		if (flush_image(fl, dir, parent, depth + 1, why))
			goto out;
	}
	rc = copy_generation(fl, fd, name, &img, why);
out:
	sc_image_free(&img);
	close(fd);
	return rc;
}

/* The generation SHARED's ckpt-g builds on, 0 if none; -1 if unknown. */
static long parent_on_shared(struct flush *fl, unsigned long g)
{
	char path[PATH_MAX], why[SC_ERR_LEN];
	struct sc_image img = { 0 };
	long parent = -1;

	snprintf(path, sizeof(path), "%s/ckpt-%04lu", fl->shared, g);
	if (!sc_image_load_one(path, &img, true, why))
		parent = !img.inv->parent ? 0
			 : !strncmp(img.inv->parent, "../", 3)
				 ? (long)sc_tier_generation(img.inv->parent + 3)
				 : -1;
	sc_image_free(&img);
	return parent;
}

/*
 * SHARED keeps the fl->keep newest generations and every one their chains
 * build on (the shared tier is never merged: that would write a full
 * image over the network). The others go as the local pruner removes
 * them (doc/retention.md): skipped while a crload holds one, renamed
 * away first, that made durable, then emptied. A kept generation whose
 * parent cannot be told stops the pruning: nothing it may need goes.
 */
static void prune_shared(struct flush *fl)
{
	unsigned long gens[4096];
	bool needed[4096] = { false };
	size_t n = 0;
	DIR *d = read_dir(fl->shared_fd);
	struct dirent *e;

	while (d && (e = readdir(d)) && n < sizeof(gens) / sizeof(gens[0]))
		if ((gens[n] = sc_tier_generation(e->d_name)))
			n++;
	if (d)
		closedir(d);
	if (!fl->keep || n <= fl->keep)
		return;
	qsort(gens, n, sizeof(gens[0]), sc_tier_newest_first);
	for (size_t i = 0; i < fl->keep; i++)
		for (long g = (long)gens[i]; g > 0;) {
			size_t j = 0;

			while (j < n && gens[j] != (unsigned long)g)
				j++;
			if (j == n || needed[j])
				break; /* not there (crload says so), or followed already */
			needed[j] = true;
			if ((g = parent_on_shared(fl, (unsigned long)g)) < 0)
				return;
		}
	for (size_t i = fl->keep; i < n; i++) {
		char name[32], del[64];
		int fd;

		if (needed[i])
			continue;
		snprintf(name, sizeof(name), "ckpt-%04lu", gens[i]);
		snprintf(del, sizeof(del), ".%s" SC_DEL_MARK "%d", name, (int)getpid());
		fd = openat(fl->shared_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (!flock(fd, LOCK_EX | LOCK_NB) &&
		    !renameat(fl->shared_fd, name, fl->shared_fd, del) && !fsync(fl->shared_fd))
			remove_dir(fl->shared_fd, del);
		close(fd);
	}
}

/* The newest ckpt-N of dir into name; false if it has none. */
static bool newest_generation(const char *dir, char *name)
{
	unsigned long best = 0;
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		unsigned long g = sc_tier_generation(e->d_name);

		if (g > best) {
			best = g;
			snprintf(name, NAME_MAX + 1, "%s", e->d_name);
		}
	}
	if (d)
		closedir(d);
	return best > 0;
}

/* dir/name made a link to the absolute path of the tier target (a
 * SELFCKPT_DIR whose shared tier changed names the new one). */
static int link_tier(const char *dir, const char *name, const char *target)
{
	char real[PATH_MAX];

	if (!realpath(target, real)) {
		fprintf(stderr, "crflush: %s: %s\n", target, strerror(errno));
		return -1;
	}
	return replace_link(dir, name, real);
}

/* Leftovers of flushes and pruners killed half way: their pid is gone. */
static void remove_leftovers(struct flush *fl)
{
	DIR *d = read_dir(fl->shared_fd);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		long pid;

		if ((sc_tier_leftover(e->d_name, &pid) || sc_tier_removed(e->d_name, &pid)) &&
		    kill((pid_t)pid, 0) && errno == ESRCH)
			remove_dir(fl->shared_fd, e->d_name);
	}
	if (d)
		closedir(d);
}

/*
 * One flush runs per SELFCKPT_DIR and, when coalesce, one waits: a flush
 * asked while one waits is served by it, since the waiter looks for the
 * newest generation only once it runs. The waiter lets go of its place
 * before it looks, so a generation committed after that asks a flush of
 * its own. A flush that must be done when it returns (a final
 * checkpoint's) waits its turn whatever. false: not to run, another will.
 */
static bool take_turn(const char *src, bool coalesce)
{
	char path[PATH_MAX];
	int wait_fd = -1, run_fd;

	snprintf(path, sizeof(path), "%s/" SC_FLUSH_WAIT, src);
	if (coalesce && (wait_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) >= 0 &&
	    flock(wait_fd, LOCK_EX | LOCK_NB)) {
		close(wait_fd);
		return false;
	}
	snprintf(path, sizeof(path), "%s/" SC_FLUSH_RUN, src);
	if ((run_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) >= 0) {
		while (flock(run_fd, LOCK_EX) && errno == EINTR)
			;
		/* Who flushes, for whoever wants to stop it. */
		dprintf(run_fd, "%d\n", (int)getpid());
		if (ftruncate(run_fd, lseek(run_fd, 0, SEEK_CUR)))
			perror("crflush: " SC_FLUSH_RUN);
	}
	if (wait_fd >= 0)
		close(wait_fd); /* run_fd stays open, locked, until the end */
	return true;
}

static int flush(struct flush *fl)
{
	char name[NAME_MAX + 1], why[SC_ERR_LEN], dir[PATH_MAX], inv[PATH_MAX], *slash;
	struct stat st;

	if (mkdir(fl->shared, 0700) && errno != EEXIST)
		goto failed_dir;
	if ((fl->shared_fd = open(fl->shared, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		goto failed_dir;
	snprintf(dir, sizeof(dir), "%s", fl->src);
	snprintf(inv, sizeof(inv), "%s/%s", fl->src, SC_INVENTORY_FILE);
	if (!stat(inv, &st)) {
		/* One image: it goes as its own name, beside its parents. */
		while ((slash = strrchr(dir, '/')) && !slash[1] && slash > dir)
			*slash = '\0';
		slash = strrchr(dir, '/');
		if (strlen(slash ? slash + 1 : dir) > NAME_MAX)
			goto failed_dir;
		strcpy(name, slash ? slash + 1 : dir);
		if (slash)
			*slash = '\0';
		else
			snprintf(dir, sizeof(dir), ".");
	} else if (!take_turn(fl->src, fl->detach)) {
		return 0;
	} else if (!newest_generation(fl->src, name)) {
		return 0;
	} else {
		/* SRC/SC_FLUSH_TO names SHARED before the flush, for crinfo
		 * of the local generations, which the flush may never reach.
		 * Without it crinfo does not know the shared tier (crinfo
		 * --flush-dir does), so a failure is said and the flush goes
		 * on. */
		link_tier(fl->src, SC_FLUSH_TO, fl->shared);
	}
	remove_leftovers(fl);
	fl->t0 = now_s();
	if (flush_image(fl, dir, name, 0, why)) {
		fprintf(stderr, "crflush: %s/%s not flushed to %s: %s\n", dir, name, fl->shared,
			why);
		return 1;
	}
	/* And SHARED/SC_FLUSH_FROM names the local tier once a generation
	 * of it is there: crinfo of that copy finds the local one. */
	if (sc_tier_generation(name)) {
		/* "latest" names it, as on the local tier: a convenience. */
		replace_link(fl->shared, "latest", name);
		link_tier(fl->shared, SC_FLUSH_FROM, dir);
	}
	fprintf(stderr, "crflush[%d]: %s/%s flushed to %s (%.0f bytes copied in %.3f s)\n",
		(int)getpid(), dir, name, fl->shared, fl->copied, now_s() - fl->t0);
	prune_shared(fl);
	return 0;
failed_dir:
	fprintf(stderr, "crflush: %s: %s\n", fl->shared, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "detach", no_argument, NULL, 'd' },
		{ "rate", required_argument, NULL, 'r' },
		{ "keep", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct flush fl = { .shared_fd = -1 };
	const char *log = getenv("SELFCKPT_LOG");
	sigset_t none;
	char *end;
	int o;

	while ((o = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (o) {
		case 'd':
			fl.detach = true;
			break;
		case 'r':
			fl.rate = strtod(optarg, &end) * (1 << 20);
			if (*end || fl.rate <= 0) {
				fprintf(stderr, "crflush: --rate=%s: MiB a second, more than 0\n",
					optarg);
				return 2;
			}
			break;
		case 'k':
			fl.keep = strtoul(optarg, &end, 10);
			if (*end || !fl.keep) {
				fprintf(stderr,
					"crflush: --keep=%s: a number of generations, 1 or more\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 2) {
		usage(stderr);
		return 2;
	}
	fl.src = argv[optind];
	fl.shared = argv[optind + 1];
	/* Started by the runtime: signals blocked, the log where its is. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (log && *log && !freopen(log, "a", stderr))
		return 1;
	setvbuf(stderr, NULL, _IOLBF, 0);
	if (fl.detach) {
		pid_t pid = fork();

		if (pid)
			return pid < 0 ? 1 : 0;
		/* Behind the program: the CPU and the disk are its first. */
		if (setpriority(PRIO_PROCESS, 0, 19) ||
		    syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0,
			    IOPRIO_BEST_EFFORT_LOWEST))
			perror("crflush: low priority");
	}
	return flush(&fl);
}
