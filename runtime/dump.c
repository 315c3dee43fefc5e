// SPDX-License-Identifier: MIT
/*
 * Writing one image directory, atomically: everything goes into
 * SELFCKPT_DIR/.ckpt-NNNN.tmp-PID, every file is fsynced, the directory is
 * renamed to ckpt-NNNN and only then does "latest" point at it. A failed
 * checkpoint removes its temporary directory; nothing incomplete is ever
 * named like an image. What a writer killed half way left is removed by
 * the next checkpoint (doc/faults.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>

#include "config.h"
#include "cpu.h"
#include "dump.h"
#include "fd_dump.h"
#include "shell_job.h"

/* An incremental image of at most this many bytes of pages is written
 * while the program is held, without a copy (doc/incremental.md). */
#define HOLD_BYTES (32ULL << 20)

static struct rt_image img;

/* mkdir -p, one component at a time. What it makes is its owner's only,
 * whatever the umask: a umask without the owner's write bit would lock
 * the checkpoints out. */
static int make_dirs(const char *path)
{
	char buf[RT_MAX_PATH];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		long r = sc_sys3(__NR_mkdirat, AT_FDCWD, buf, RT_IMAGE_DIR_MODE);
		if (!r)
			r = sc_sys3(__NR_fchmodat, AT_FDCWD, buf, RT_IMAGE_DIR_MODE);
		if (r && r != -EEXIST)
			return (int)r;
		buf[i] = path[i];
	}
	return 0;
}

/* One more than the highest generation present, leftovers included, and
 * than the highest the shared tier had (flush.c), which a lost local tier
 * no longer shows. Retention never removes the newest
 * (doc/retention.md): a number is never used twice, nor the name of a
 * leftover whose writer lives. */
static unsigned next_seq(int dirfd)
{
	unsigned max = rt_highest_generation(dirfd);

	return (max > rt_flush_floor() ? max : rt_flush_floor()) + 1;
}

/* The inventory, as far as it is known before the files are written. What
 * it points to lives in inv_parts, on the caller's stack. */
struct inv_parts {
	struct utsname uts;
	struct sc_cpu cpu;
	Sc__Cpu cpu_msg;
};

static int fill_inventory(const struct rt_config *cfg, const struct rt_freeze *frz,
			  Sc__Inventory *inv, struct inv_parts *parts)
{
	int n = rt_tree_procs(&inv->procs);

	if (n < 0)
		return n;
	inv->version = SC_IMAGE_VERSION;
	inv->writer = SC_WRITER_RUNTIME;
	inv->writer_version = PACKAGE_VERSION;
	inv->time_ns = rt_now_ns(CLOCK_REALTIME);
	inv->n_procs = (size_t)n;
	rt_dump_job(inv);
	inv->has_exit_after = true;
	inv->exit_after = cfg->exit_after;
	inv->has_freeze_ns = true;
	inv->freeze_ns = frz->frozen_at_ns - frz->stop_begin_ns;
	if (!sc_sys1(__NR_uname, &parts->uts)) {
		inv->kernel = parts->uts.release;
		inv->hostname = parts->uts.nodename;
	}
	inv->has_trigger_signal = inv->has_interval_sec = true;
	inv->trigger_signal = (uint32_t)cfg->trigger_sig;
	inv->interval_sec = cfg->interval_sec;
	sc_cpu_this(&parts->cpu);
	sc_cpu_to_msg(&parts->cpu, &parts->cpu_msg);
	inv->cpu = &parts->cpu_msg;
	return 0;
}

/* With the sums of every file written, the root's and the members'. */
static int write_inventory(struct rt_image *im, const struct rt_tree_files *tf,
			   Sc__Inventory *inv)
{
	Sc__FileSum **files = rt_alloc(sizeof(*files) * (im->nsums + tf->n));

	if (!files)
		return -ENOMEM;
	memcpy(files, im->sums, sizeof(*files) * im->nsums);
	memcpy(files + im->nsums, tf->sums, sizeof(*files) * tf->n);
	inv->n_files = im->nsums + tf->n;
	inv->files = files;
	return rt_image_write_msg(im, "inventory", SC_IMG_INVENTORY, &inv->base);
}

#define STEP(what_, call_)                                                                         \
	do {                                                                                       \
		res->what = what_;                                                                 \
		if ((err = (call_)))                                                               \
			return err;                                                                \
	} while (0)

/* The runtime's own descriptors: the tree's sockets, the tracker's. */
static bool runtime_owns(int fd)
{
	return rt_tree_fd(fd) || rt_track_fd(fd);
}

/* What is taken while the threads are parked, whoever writes the pages. */
static int capture_process(const struct rt_source *src, const struct rt_freeze *frz,
			   struct rt_image *im, struct rt_proc_files *f,
			   struct rt_dump_result *res)
{
	const struct rt_fd_tree tree = { rt_tree_active(), runtime_owns };
	int err;

	STEP("descriptors", rt_dump_fds(src, im, &f->fds, &tree, res->detail));
	STEP("memory", rt_dump_mm_layout(src, &f->mm));
	STEP("threads", rt_dump_core(src, frz, &f->core, res->detail));
	STEP("terminal", rt_dump_terminal(src, &f->core));
	STEP("signal handlers", rt_dump_sigacts(&f->acts));
	return 0;
}

/* The pages (from the copy's memory, when a copy writes them), then the
 * files that describe the process. */
static int write_process(const struct rt_source *src, struct rt_image *im, struct rt_proc_files *f,
			 const struct rt_written *written, struct rt_dump_result *res)
{
	int err;

	STEP("memory", rt_dump_mm_pages(src, im, &f->mm, &f->pm, written));
	return rt_image_write_proc(im, f, &res->what);
}
#undef STEP

#define PROC_FILES_INIT                                                                            \
	{ SC__FDS__INIT, SC__MM__INIT, SC__PAGEMAP__INIT, SC__PROC_CORE__INIT, SC__SIG_ACTS__INIT }

/* The image is complete once renamed; "latest" is a convenience. */
static int commit(struct rt_image *im, struct rt_dump_result *res)
{
	int err;

	res->what = "committing";
	err = rt_image_commit(im);
	if (err)
		return err;
	sc_sys3(__NR_unlinkat, im->dirfd, ".latest.tmp", 0);
	if (!sc_sys3(__NR_symlinkat, im->name, im->dirfd, ".latest.tmp"))
		sc_sys4(__NR_renameat, im->dirfd, ".latest.tmp", im->dirfd, "latest");
	sc_sys1(__NR_fsync, im->dirfd);
	return 0;
}

/*
 * The pages written since the last checkpoint, the last thing taken while
 * the threads are parked (track.c), as plan says: into w, and whether
 * this process's pages build on the parent into res. A member's tracking
 * is its root's to note (rt_track_committed), its own result goes to the
 * root with its files.
 */
static void track(const struct rt_config *cfg, const struct rt_track_plan *plan, Sc__Mm *mm,
		  struct rt_written *w, struct rt_dump_result *res)
{
	if (rt_track_scan(cfg, mm, (uint64_t)res, plan, w))
		w->incremental = false;
	else /* for crload, which arms it again in the restored process */
		mm->tracker = rt_track_record();
	res->incremental = w->incremental;
	if (!rt_tree_is_member())
		res->tracked = w->scanned;
}

/* A small incremental image is written sooner than a copy of the whole
 * process is made (47 ms per 2 GiB here): held, without a copy. */
static bool small_increment(const Sc__Mm *mm, const struct rt_written *w)
{
	return w->incremental && rt_written_bytes(mm, w) <= HOLD_BYTES;
}

/* The root's image names the parent when any of its processes builds on
 * it: false when it cannot say so. */
static bool name_parent(const struct rt_track_plan *plan, bool in_parent, Sc__Inventory *inv,
			struct rt_dump_result *res)
{
	char *parent;

	res->incremental = false;
	if (!in_parent)
		return true;
	parent = rt_alloc(strlen(plan->parent) + 4);
	if (!parent)
		return false;
	rt_stpcpy(rt_stpcpy(parent, "../"), plan->parent);
	inv->parent = parent;
	inv->has_parent_inventory_xxh3 = true;
	inv->parent_inventory_xxh3 = plan->parent_xxh3;
	res->incremental = true;
	return true;
}

/*
 * A member of a tree checkpoint writes its per-pid files into the root's
 * temporary directory; the root writes the inventory and commits. When the
 * root runs on, a copy of the member may write them (snapshot.c): the
 * member says it has one and waits for the root's word, and the copy
 * reports to the root once they are written.
 */
static void dump_member(const struct rt_config *cfg, const struct rt_source *src,
			const struct rt_freeze *frz, struct rt_image *im,
			struct rt_dump_result *res)
{
	int err;

	res->what = "opening the tree's image directory";
	err = im->fd = (int)sc_sys4(__NR_openat, AT_FDCWD, rt_tree_dir(),
				    O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (err >= 0) {
		struct rt_proc_files f = PROC_FILES_INIT;
		struct rt_source own = *src;

		struct rt_track_plan plan;
		struct rt_written written;

		err = capture_process(src, frz, im, &f, res);
		if (!err) {
			rt_tree_track_plan(&plan);
			track(cfg, &plan, &f.mm, &written, res);
			rt_snapshot_take(cfg, &f.mm, im,
					 rt_tree_copies() && !small_increment(&f.mm, &written),
					 res);
			if (res->snapshot == RT_SNAPSHOT_PROGRAM) {
				rt_image_hand_over(im);
				/* The saved context is taken already: wait here. */
				res->tree_action =
					rt_tree_captured() ? RT_TREE_FAILED : rt_tree_wait_done();
				return;
			}
			own.staged = res->snapshot == RT_SNAPSHOT_COPY;
			if (own.staged)
				im->cancelled = rt_tree_cancelled;
			err = write_process(&own, im, &f, &written, res);
			if (err == -ECANCELED)
				rt_stpcpy(res->detail,
					  "stopped, the tree's checkpoint failed elsewhere");
		}
		if (!err) {
			res->what = "committing";
			err = rt_image_sync(im);
		}
		if (err)
			rt_image_discard_own(im);
		sc_sys1(__NR_close, im->fd);
	}
	res->err = err < 0 ? err : 0;
	res->bytes = im->bytes;
	err = rt_tree_report(im, res);
	/* The copy is done once the root has its report; the program
	 * waits for the root's word here, its saved context taken. */
	if (res->snapshot == RT_SNAPSHOT_COPY && err && !res->err) {
		res->err = err;
		res->what = "reporting to the tree's root";
	} else if (res->snapshot != RT_SNAPSHOT_COPY) {
		res->tree_action = err ? RT_TREE_FAILED : rt_tree_wait_done();
	}
}

/* The checksum of the inventory just written: the next image's link. */
static uint64_t inventory_sum(const struct rt_image *im)
{
	for (size_t i = im->nsums; i--;)
		if (!strcmp(im->sums[i]->name, SC_INVENTORY_FILE))
			return im->sums[i]->xxh3;
	return 0;
}

/*
 * Hears from the members (rt_tree_collect), even after this process
 * failed with err: the directory can only be removed once nobody writes
 * into it. err, with what and why it failed, stays the checkpoint's.
 */
static int hear_members(struct rt_tree_files *tf, bool all, int err, struct rt_dump_result *res)
{
	const char *what = res->what;
	char detail[sizeof(res->detail)];
	int terr;

	rt_stpcpy(detail, res->detail);
	if (err && all)
		rt_tree_cancel();
	terr = rt_tree_collect(tf, all, res);
	if (!err)
		return terr;
	res->what = what;
	rt_stpcpy(res->detail, detail);
	return err;
}

/*
 * The root: its own files, then the members', then the inventory. A
 * process that may leave the pages to a copy of itself (snapshot.c)
 * returns once the copy has them: the rest is the copy's. In a tree the
 * copy is taken once every member has its own (or has written its files):
 * the whole tree is one instant, and may go on. The root's copy then hears
 * from the members' copies.
 */
static int dump_root(const struct rt_config *cfg, const struct rt_freeze *frz, bool runs_on,
		     const struct rt_source *src, struct rt_image *im, struct rt_dump_result *res)
{
	struct rt_proc_files f = PROC_FILES_INIT;
	Sc__Inventory inv = SC__INVENTORY__INIT;
	struct inv_parts parts;
	struct rt_written written;
	struct rt_track_plan plan;
	struct rt_tree_files tf = { 0 };
	bool copy_self;
	char path[RT_MAX_PATH + 64], *p = rt_stpcpy(path, cfg->dir);
	int err;

	*p++ = '/';
	rt_stpcpy(p, im->tmpname);
	rt_track_plan(cfg, &plan);
	err = rt_tree_start_writing(path, runs_on, &plan, &copy_self, res);
	if (err)
		return err;
	err = capture_process(src, frz, im, &f, res);
	if (!err) {
		res->what = "writing inventory";
		err = fill_inventory(cfg, frz, &inv, &parts);
	}
	err = hear_members(&tf, false, err, res);
	if (!err) {
		struct rt_source own = *src;

		track(cfg, &plan, &f.mm, &written, res);
		rt_snapshot_take(cfg, &f.mm, im, copy_self && !small_increment(&f.mm, &written),
				 res);
		if (res->snapshot == RT_SNAPSHOT_PROGRAM)
			return 0;
		own.staged = res->snapshot == RT_SNAPSHOT_COPY;
		err = write_process(&own, im, &f, &written, res);
	}
	/* The root held, its pages written, lets the members go on before it
	 * waits for their copies: a copy that dies is seen once nobody else
	 * holds its connection, and its program holds it until told. */
	if (runs_on && res->snapshot == RT_SNAPSHOT_NONE)
		rt_tree_release(err ? RT_TREE_FAILED : RT_TREE_RESUME);
	err = hear_members(&tf, true, err, res);
	if (err)
		return err;
	im->bytes += tf.bytes;
	res->what = "writing inventory";
	if (!name_parent(&plan, written.incremental || tf.in_parent, &inv, res))
		return -ENOMEM;
	return write_inventory(im, &tf, &inv);
}

void rt_dump_image(const struct rt_config *cfg, const struct rt_freeze *frz, bool runs_on,
		   struct rt_dump_result *res)
{
	struct rt_image *im = &img;
	struct rt_source src;
	unsigned seq;
	char *p;
	int err;

	memset(im, 0, sizeof(*im));
	im->fd = im->dirfd = -1;
	im->pid = (int)sc_sys0(__NR_getpid);
	im->compress = cfg->compress.level ? &cfg->compress : NULL;
	rt_src_self(&src, im->pid, rt_interval_timer());
	res->err = 0;
	res->detail[0] = '\0';
	if (rt_tree_is_member()) {
		dump_member(cfg, &src, frz, im, res);
		return;
	}
	res->what = "creating the image directory";
	rt_stpcpy(res->image, cfg->dir);

	err = make_dirs(cfg->dir);
	if (!err)
		err = im->dirfd = (int)sc_sys4(__NR_openat, AT_FDCWD, cfg->dir,
					       O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (err < 0)
		goto out;
	rt_image_remove_leftovers(im->dirfd);
	seq = next_seq(im->dirfd);
	rt_generation_name(im->name, seq);
	rt_image_tmpname(im->tmpname, im->name);
	p = rt_stpcpy(res->image, cfg->dir);
	*p++ = '/';
	rt_stpcpy(p, im->name);
	err = rt_image_make_tmp(im);
	if (err)
		goto out;
	err = dump_root(cfg, frz, runs_on, &src, im, res);
	if (!err && res->snapshot == RT_SNAPSHOT_PROGRAM) {
		rt_image_hand_over(im);
		goto out;
	}
	res->inventory_xxh3 = inventory_sum(im);
	if (!err)
		err = commit(im, res);
	if (err)
		rt_image_discard(im);
	sc_sys1(__NR_close, im->fd);
out:
	if (im->dirfd >= 0)
		sc_sys1(__NR_close, im->dirfd);
	res->err = err < 0 ? err : 0;
	res->bytes = im->bytes;
}
