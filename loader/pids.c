// SPDX-License-Identifier: MIT
/*
 * Giving the restored process its old pid and tids (glibc caches them).
 *
 * Privileged and with every pid free: clone3 with set_tid in this pid
 * namespace. Otherwise: a new pid namespace (with a user namespace that
 * maps the caller to itself when unprivileged) in which crload's helper
 * is init and set_tid is allowed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "restore.h"

static bool pid_in_use(int pid)
{
	char path[32];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d", pid);
	return stat(path, &st) == 0;
}

static bool have_checkpoint_restore_cap(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return false;
	/* CAP_CHECKPOINT_RESTORE (40) or CAP_SYS_ADMIN (21). */
	return (d[1].effective & (1U << (40 - 32))) || (d[0].effective & (1U << 21));
}

int plan_pids(struct sc_image *img, struct pid_plan *plan, char *err)
{
	bool all_free = true;

	memset(plan, 0, sizeof(*plan));
	for (size_t i = 0; i < img->nprocs; i++) {
		const Sc__ProcCore *c = img->procs[i].core;

		if (img->procs[i].pid == 1) {
			sc_err(err, "pid 1 cannot be restored");
			return -1;
		}
		for (size_t t = 0; t < c->n_threads; t++)
			if (pid_in_use(c->threads[t]->tid))
				all_free = false;
	}
	/* Zombies are made again too, with their pids. */
	for (size_t i = 0; i < img->inv->n_procs; i++)
		if (img->inv->procs[i]->zombie && pid_in_use(img->inv->procs[i]->pid))
			all_free = false;
	if (all_free && have_checkpoint_restore_cap())
		return 0;
	plan->new_ns = true;
	plan->user_ns = !have_checkpoint_restore_cap();
	return 0;
}

long fork_with_pid(int pid, char *err)
{
	pid_t tid = pid;
	struct sc_clone_args ca = {
		.exit_signal = SIGCHLD,
		.set_tid = (uint64_t)&tid,
		.set_tid_size = 1,
	};
	long r;

	/* A pid freed by a process that just died can be held a moment longer
	 * (see the restorer): retry EEXIST for up to two seconds. */
	for (int tries = 0; (r = syscall(SYS_clone3, &ca, sizeof(ca))) < 0 && errno == EEXIST &&
			    tries < 2000;
	     tries++)
		usleep(1000);
	if (r < 0) {
		if (errno == EEXIST)
			sc_err(err, "pid %d is in use", pid);
		else
			sc_err(err, "cannot create pid %d: %s", pid, strerror(errno));
		return -1;
	}
	return r;
}

static int write_file(const char *path, const char *text, char *err)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n = -1;

	if (fd >= 0) {
		n = write(fd, text, strlen(text));
		close(fd);
	}
	if (n != (ssize_t)strlen(text)) {
		sc_err(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* After this the next child forked is init of a new pid namespace. No exec
 * may follow: an unprivileged caller would lose its namespace caps. */
int enter_namespaces(const struct pid_plan *plan, char *err)
{
	if (plan->user_ns) {
		uid_t uid = getuid();
		gid_t gid = getgid();
		char map[64];

		if (unshare(CLONE_NEWUSER))
			return sc_err(
				err,
				"the image's pids are taken and no user namespace can be made "
				"(%s); free the pids or run as root",
				strerror(errno));
		snprintf(map, sizeof(map), "%u %u 1\n", uid, uid);
		if (write_file("/proc/self/uid_map", map, err) ||
		    write_file("/proc/self/setgroups", "deny", err))
			return -1;
		snprintf(map, sizeof(map), "%u %u 1\n", gid, gid);
		if (write_file("/proc/self/gid_map", map, err))
			return -1;
	}
	if (unshare(CLONE_NEWPID | CLONE_NEWNS | (plan->ipc_ns ? CLONE_NEWIPC : 0))) {
		sc_err(err, "cannot create a pid namespace: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* The namespace's own /proc, so the restored process sees its own pids. */
int mount_proc_in_ns(char *err)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) {
		sc_err(err, "cannot mount /proc for the new pid namespace: %s", strerror(errno));
		return -1;
	}
	return 0;
}

const Sc__ProcEntry *proc_entry(const struct sc_image *img, int pid)
{
	for (size_t i = 0; i < img->inv->n_procs; i++)
		if (img->inv->procs[i]->pid == pid)
			return img->inv->procs[i];
	return NULL;
}

/*
 * What each process must do about its session and group, checked before
 * any process exists: a session or group is inherited from the parent, or
 * made by the process itself, or joined when its leader is a process of
 * the tree restored before it.
 */
int tree_preflight(const struct sc_image *img, char *err)
{
	const Sc__Inventory *inv = img->inv;

	for (size_t i = 1; i < inv->n_procs; i++) {
		const Sc__ProcEntry *pe = inv->procs[i], *parent = proc_entry(img, pe->ppid);
		bool leader_before = false;

		if (pe->zombie || sc_top_level(inv, i))
			continue;
		if (pe->sid != parent->sid && pe->sid != pe->pid)
			return sc_err(
				err,
				"pid %d is in session %d, whose leader is neither it nor in its "
				"parent's session: not restorable",
				pe->pid, pe->sid);
		if (pe->pgid == parent->pgid || pe->pgid == pe->pid)
			continue;
		for (size_t j = 0; j < i; j++)
			if (inv->procs[j]->pid == pe->pgid && !inv->procs[j]->zombie &&
			    inv->procs[j]->sid == pe->sid)
				leader_before = true;
		if (!leader_before)
			return sc_err(
				err,
				"pid %d is in process group %d, whose leader is not a process of "
				"the tree restored before it: not restorable",
				pe->pid, pe->pgid);
	}
	return 0;
}
