// SPDX-License-Identifier: MIT
/*
 * One consistent checkpoint of a process tree (doc/trees.md).
 *
 * The process the trigger reached is the root: it freezes its own threads,
 * finds its descendants through /proc/PID/task/TID/children and sends each
 * the trigger signal with rt_sigqueueinfo and a cookie (root pid and
 * checkpoint generation). A descendant seeing the cookie freezes its
 * threads and reports to the root over a SOCK_SEQPACKET socket in the
 * abstract namespace named after that cookie. The tree is looked at again
 * until a pass finds nobody new: a frozen process cannot fork. Then every
 * member writes its per-pid files into the root's temporary image
 * directory at once, sends back their sums, and waits; the root writes the
 * inventory of the tree, commits, and only then lets everybody go on.
 *
 * All of it runs in signal handlers with the app frozen: raw syscalls and
 * arena memory only.
 */
#include <dirent.h>
#include <errno.h>
#include <linux/kcmp.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include "dump.h"
#include "fd_dump.h"
#include "procparse.h"

#define TREE_MAX 4096
#define COOKIE_MAGIC 0x5c7eULL
#define JOIN_TIMEOUT_NS (10ULL * 1000000000ULL)
#define MSG_PIPES 128 /* pipes between processes on standard streams */
#define MSG_KEPT 256 /* pipes between processes whose bytes one of them stores */

enum { MSG_FROZEN = 1, MSG_WRITE, MSG_WRITTEN, MSG_DONE };

/* A pipe held by several processes of the tree: only pid stores its bytes. */
struct pipe_keeper {
	uint64_t id;
	int32_t pid, pad;
};

struct tree_msg {
	uint32_t type;
	int32_t pid;
	int32_t err; /* WRITTEN: 0 or -errno */
	uint32_t action; /* DONE */
	uint64_t bytes;
	uint32_t nsums;
	struct {
		char name[64];
		uint64_t size, xxh3;
	} sums[RT_MAX_FILES];
	uint32_t nstd;
	uint64_t std_pipes[MSG_PIPES]; /* WRITE: the tree's pipes on standard streams */
	uint32_t nkept;
	struct pipe_keeper kept[MSG_KEPT]; /* WRITE: who stores a shared pipe's bytes */
	char image[RT_MAX_PATH]; /* WRITE: the image's final path */
	char text[RT_MAX_PATH + 128]; /* WRITE: temporary directory; WRITTEN: why */
};

struct member {
	int pid, ppid, pgid, sid;
	int fd; /* connection; -1 until it joined */
	bool zombie;
	int exit_status;
	bool seen; /* in the latest pass over the tree */
	char comm[20];
};

/* A pipe end or a regular file some process of the tree holds. */
struct open_pipe {
	uint64_t id; /* pipes, sockets: the inode */
	int pid, fd;
	uint8_t ends;
	bool sock;
	const char *path; /* regular files */
};

/* Descriptor fd of pid is the same description as same_fd of same_pid. */
struct shared_desc {
	int pid, fd, same_pid, same_fd;
};

static struct {
	bool member; /* this process is a member, not the root */
	int root, gen; /* the cookie this checkpoint runs under */
	int listen_fd; /* root: where members report */
	int conn_fd; /* member: its connection to the root */
	struct member *m; /* root: everybody below it */
	int n, joined, zombies;
	int starting; /* root: runtime mapped, trigger handler not yet */
	struct tree_msg *msg;
	int parent_pid; /* root of a subtree: its parent runs the runtime too */
	/* Pipes on a standard stream with every end inside the tree: dumped
	 * as pipes, not as crload's own streams (fd_inherit.c). */
	uint64_t *std_pipes;
	int nstd;
	struct pipe_keeper *kept; /* pipes between processes: who stores the bytes */
	int nkept;
	struct shared_desc *descs; /* root: found with kcmp */
	int ndescs;
} tree = { .listen_fd = -1, .conn_fd = -1 };

static unsigned generation;

static void sock_name(struct sockaddr_un *a, socklen_t *len, int root, int gen)
{
	char *p;

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	p = rt_stpcpy(a->sun_path + 1, "selfckpt-tree-");
	p = rt_fmt_i64(p, root);
	*p++ = '-';
	p = rt_fmt_i64(p, gen);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)(p - a->sun_path));
}

bool rt_tree_request(const siginfo_t *si)
{
	uint64_t v;

	if (!si || si->si_code != SI_QUEUE)
		return false;
	v = (uint64_t)(uintptr_t)si->si_value.sival_ptr;
	return v >> 48 == COOKIE_MAGIC;
}

bool rt_tree_fd(int fd)
{
	if (fd < 0)
		return false;
	if (fd == tree.listen_fd || fd == tree.conn_fd)
		return true;
	for (int i = 0; i < tree.n; i++)
		if (tree.m[i].fd == fd)
			return true;
	return false;
}

static int send_msg(int fd, const struct tree_msg *m)
{
	long r;

	do
		r = sc_sys6(__NR_sendto, fd, m, sizeof(*m), MSG_NOSIGNAL, NULL, 0);
	while (r == -EINTR);
	return r == sizeof(*m) ? 0 : r < 0 ? (int)r : -EPIPE;
}

static int recv_msg(int fd, struct tree_msg *m)
{
	long r;

	do
		r = sc_sys6(__NR_recvfrom, fd, m, sizeof(*m), 0, NULL, NULL);
	while (r == -EINTR);
	return r == sizeof(*m) ? 0 : r < 0 ? (int)r : -EPIPE;
}

static void fail(const char *what, int pid, const char *comm, const char *why)
{
	char *p = rt_stpcpy(rt_dump_res.detail, "pid ");

	p = rt_fmt_i64(p, pid);
	if (comm && *comm) {
		p = rt_stpcpy(p, " (");
		p = rt_stpcpy(p, comm);
		p = rt_stpcpy(p, ")");
	}
	p = rt_stpcpy(p, " ");
	rt_stpcpy(p, why);
	rt_dump_res.what = what;
}

bool rt_tree_active(void)
{
	return tree.member || tree.joined > 0;
}

/* ---- member side ---- */

int rt_tree_join(const siginfo_t *si)
{
	uint64_t v = (uint64_t)(uintptr_t)si->si_value.sival_ptr;
	struct sockaddr_un a;
	socklen_t len;
	long fd;
	int err;

	tree.member = true;
	tree.n = 0;
	tree.root = (int)(uint32_t)v;
	tree.gen = (int)((v >> 32) & 0xffff);
	tree.msg = rt_alloc(sizeof(*tree.msg));
	if (!tree.msg)
		return -ENOMEM;
	sock_name(&a, &len, tree.root, tree.gen);
	fd = sc_sys3(__NR_socket, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return (int)fd;
	tree.conn_fd = (int)fd;
	err = (int)sc_sys3(__NR_connect, fd, &a, len);
	memset(tree.msg, 0, sizeof(*tree.msg));
	tree.msg->type = MSG_FROZEN;
	tree.msg->pid = (int)sc_sys0(__NR_getpid);
	if (!err)
		err = send_msg(tree.conn_fd, tree.msg);
	/* The root says where to write, or closes: the checkpoint failed. */
	if (!err)
		err = recv_msg(tree.conn_fd, tree.msg);
	if (!err && tree.msg->type == MSG_DONE) {
		err = -ECANCELED;
		rt_dump_res.what = "checkpoint of the tree";
		rt_stpcpy(rt_dump_res.detail, "failed in another process of it");
	} else if (!err && tree.msg->type != MSG_WRITE) {
		err = -EPROTO;
	}
	if (err) {
		if (!rt_dump_res.what)
			rt_dump_res.what = "joining the tree checkpoint";
		rt_tree_end();
		return err;
	}
	rt_stpcpy(rt_dump_res.image, tree.msg->image);
	tree.std_pipes = rt_alloc(sizeof(*tree.std_pipes) * MSG_PIPES);
	tree.kept = rt_alloc(sizeof(*tree.kept) * MSG_KEPT);
	if (!tree.std_pipes || !tree.kept)
		return -ENOMEM;
	for (uint32_t i = 0; i < tree.msg->nstd && i < MSG_PIPES; i++)
		tree.std_pipes[tree.nstd++] = tree.msg->std_pipes[i];
	for (uint32_t i = 0; i < tree.msg->nkept && i < MSG_KEPT; i++)
		tree.kept[tree.nkept++] = tree.msg->kept[i];
	return 0;
}

bool rt_tree_is_member(void)
{
	return tree.member;
}

const char *rt_tree_dir(void)
{
	return tree.member ? tree.msg->text : NULL;
}

int rt_tree_report(const struct rt_image *im)
{
	struct tree_msg *m = tree.msg;
	int err;

	memset(m, 0, sizeof(*m));
	m->type = MSG_WRITTEN;
	m->pid = im->pid;
	m->err = rt_dump_res.err;
	m->bytes = im->bytes;
	if (rt_dump_res.err) {
		char *p = rt_stpcpy(m->text, rt_dump_res.what ? rt_dump_res.what : "?");

		if (rt_dump_res.detail[0])
			rt_stpcpy(rt_stpcpy(p, ": "), rt_dump_res.detail);
	}
	for (size_t i = 0; i < im->nsums && !m->err; i++) {
		rt_stpcpy(m->sums[i].name, im->sums[i]->name);
		m->sums[i].size = im->sums[i]->size;
		m->sums[i].xxh3 = im->sums[i]->xxh3;
		m->nsums++;
	}
	err = send_msg(tree.conn_fd, m);
	if (!err)
		err = recv_msg(tree.conn_fd, m);
	if (err || m->type != MSG_DONE)
		return RT_TREE_FAILED;
	return (int)m->action;
}

/* ---- root side ---- */

static struct member *find(int pid)
{
	for (int i = 0; i < tree.n; i++)
		if (tree.m[i].pid == pid)
			return &tree.m[i];
	return NULL;
}

static bool read_stat(int pid, struct pp_stat *st, char *comm)
{
	char path[64], *buf, *p;
	size_t len;

	p = rt_fmt_i64(rt_stpcpy(path, "/proc/"), pid);
	rt_stpcpy(p, "/stat");
	buf = rt_read_file(path, &len);
	if (!buf || pp_parse_stat(buf, len, st))
		return false;
	if (comm) {
		char *s = strchr(buf, '('), *e = strrchr(buf, ')');
		size_t n = s && e > s ? (size_t)(e - s - 1) : 0;

		if (n > 16)
			n = 16;
		memcpy(comm, s ? s + 1 : "", n);
		comm[n] = '\0';
	}
	return true;
}

enum { NO_RUNTIME, RUNTIME_STARTING, RUNTIME_READY };

/* Whether pid has the runtime mapped, and if so whether its constructor
 * has installed the trigger handler yet (right after an exec it has not,
 * and the signal would kill it). A program still in its dynamic loader
 * counts as starting, and so does a process crload is still restoring
 * (a restored tree's parent may run before its children are whole). */
static int runtime_state(int pid, const char *comm)
{
	char path[64], *p = rt_fmt_i64(rt_stpcpy(path, "/proc/"), pid);
	const char *text, *cgt;
	uint64_t mask = 0;

	rt_stpcpy(p, "/maps");
	text = rt_read_file(path, NULL);
	if (!text) {
		/* Gone since its stat was read (a short-lived child reaped
		 * meanwhile): the next pass will not list it. */
		long fd = sc_sys4(__NR_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);

		if (fd >= 0)
			sc_sys1(__NR_close, fd);
		return fd == -ENOENT || fd == -ESRCH ? RUNTIME_STARTING : NO_RUNTIME;
	}
	/* No memory at all: in the middle of an exec, or exiting; either way
	 * it is worth another look. */
	if (!*text)
		return RUNTIME_STARTING;
	/* Right after an exec only the program and its dynamic loader are
	 * mapped: the loader maps preloaded libraries before any other, so
	 * without libc yet it is too early to tell. */
	if (!strstr(text, "/libselfckpt"))
		return (strstr(text, "/ld-linux") && !strstr(text, "/libc.so")) ||
				       !strcmp(comm, "crload")
			       ? RUNTIME_STARTING
			       : NO_RUNTIME;
	rt_stpcpy(p, "/status");
	text = rt_read_file(path, NULL);
	cgt = text ? strstr(text, "SigCgt:") : NULL;
	if (!cgt)
		return RUNTIME_STARTING;
	for (cgt += 7; *cgt == '\t' || *cgt == ' '; cgt++)
		;
	for (; (*cgt >= '0' && *cgt <= '9') || (*cgt >= 'a' && *cgt <= 'f'); cgt++)
		mask = mask << 4 | (uint64_t)(*cgt <= '9' ? *cgt - '0' : *cgt - 'a' + 10);
	return mask >> (rt_cfg.trigger_sig - 1) & 1 ? RUNTIME_READY : RUNTIME_STARTING;
}

/* Children of pid, from every thread's children file, onto list. */
static int add_children(int pid, int *list, int *n)
{
	char path[64], buf[4096], *p;
	int dfd;

	p = rt_fmt_i64(rt_stpcpy(path, "/proc/"), pid);
	rt_stpcpy(p, "/task");
	dfd = (int)sc_sys4(__NR_openat, AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (dfd < 0)
		return dfd == -ENOENT ? 0 : dfd;
	for (;;) {
		long r = sc_sys3(__NR_getdents64, dfd, buf, sizeof(buf));

		if (r <= 0)
			break;
		for (long off = 0; off < r;) {
			struct dirent64 *d = (void *)(buf + off);
			char cpath[64];
			const char *c;

			off += d->d_reclen;
			if (d->d_name[0] < '0' || d->d_name[0] > '9')
				continue;
			rt_stpcpy(rt_stpcpy(cpath, d->d_name), "/children");
			long fd = sc_sys4(__NR_openat, dfd, cpath, O_RDONLY | O_CLOEXEC, 0);
			char kids[4096];
			long k;

			if (fd < 0)
				continue;
			k = sc_sys3(__NR_read, fd, kids, sizeof(kids) - 1);
			sc_sys1(__NR_close, fd);
			kids[k > 0 ? k : 0] = '\0';
			for (c = kids; *c;) {
				int v = 0;

				while (*c == ' ')
					c++;
				if (!*c)
					break;
				while (*c >= '0' && *c <= '9')
					v = v * 10 + (*c++ - '0');
				if (*c && *c != ' ')
					break;
				if (*n == TREE_MAX) {
					sc_sys1(__NR_close, dfd);
					return -E2BIG;
				}
				list[(*n)++] = v;
			}
		}
	}
	sc_sys1(__NR_close, dfd);
	return 0;
}

/*
 * A vfork or posix_spawn child runs in its parent's memory until it
 * execs, with its handlers maybe reset to the default already (glibc's
 * posix_spawn does): it must neither take the signal nor checkpoint
 * there. It is looked at again once it has exec'ed.
 */
static bool shares_parent_vm(int pid, int ppid)
{
	return ppid > 0 && sc_sys5(__NR_kcmp, pid, ppid, KCMP_VM, 0, 0) == 0;
}

/*
 * One pass over the tree: new processes are signalled (or recorded as
 * zombies), known ones get their ppid/pgid/sid read again. Returns how
 * many were signalled, or -errno with the reason in rt_dump_res.
 */
static int scan(int self)
{
	int *list = rt_alloc(sizeof(int) * TREE_MAX), n = 0, signalled = 0, err;

	if (!list)
		return -ENOMEM;
	for (int i = 0; i < tree.n; i++)
		tree.m[i].seen = false;
	tree.starting = 0;
	if ((err = add_children(self, list, &n)))
		return err;
	for (int i = 0; i < n; i++) {
		struct member *m = find(list[i]);
		struct pp_stat st;
		char comm[20];
		int rs = RUNTIME_READY;

		if (!read_stat(list[i], &st, comm))
			continue; /* gone (reaped by a parent not frozen yet) */
		if (!m && st.state != 'Z' &&
		    (shares_parent_vm(list[i], st.ppid) ||
		     (rs = runtime_state(list[i], comm)) == RUNTIME_STARTING)) {
			tree.starting++; /* looked at again in the next pass */
			continue;
		}
		if (!m) {
			if (tree.n == TREE_MAX)
				return -E2BIG;
			m = &tree.m[tree.n++];
			memset(m, 0, sizeof(*m));
			m->pid = list[i];
			m->fd = -1;
			rt_stpcpy(m->comm, comm);
			if (st.state == 'Z') {
				m->zombie = true;
				tree.zombies++;
			} else if (rs == NO_RUNTIME) {
				fail("finding the process tree", m->pid, comm,
				     "does not run the runtime (statically linked, or started "
				     "without it): the tree cannot be checkpointed whole");
				return -EOPNOTSUPP;
			} else {
				siginfo_t si;

				memset(&si, 0, sizeof(si));
				si.si_signo = rt_cfg.trigger_sig;
				si.si_code = SI_QUEUE;
				si.si_pid = self;
				si.si_value.sival_ptr =
					(void *)(uintptr_t)(COOKIE_MAGIC << 48 |
							    (uint64_t)(tree.gen & 0xffff) << 32 |
							    (uint32_t)self);
				if (sc_sys3(__NR_rt_sigqueueinfo, m->pid, rt_cfg.trigger_sig,
					    &si)) {
					tree.n--;
					continue;
				}
				signalled++;
			}
		}
		m->seen = true;
		m->ppid = st.ppid;
		m->pgid = st.pgrp;
		m->sid = st.session;
		if (m->zombie)
			m->exit_status = st.exit_code;
		if (!m->zombie && add_children(m->pid, list, &n))
			return -E2BIG;
	}
	return signalled;
}

/* A member that has not joined yet may have exited meanwhile. */
static void check_pending(void)
{
	for (int i = 0; i < tree.n; i++) {
		struct member *m = &tree.m[i];
		struct pp_stat st;

		if (m->zombie || m->fd >= 0)
			continue;
		if (!read_stat(m->pid, &st, NULL)) {
			/* Reaped: no longer part of the tree. The order stays:
			 * parents before children. */
			memmove(m, m + 1, sizeof(*m) * (size_t)(tree.n - i - 1));
			tree.n--;
			i--;
		} else if (st.state == 'Z') {
			m->zombie = true;
			m->exit_status = st.exit_code;
			tree.zombies++;
		}
	}
}

static int pending(void)
{
	return tree.n - tree.joined - tree.zombies;
}

/* Accepts members until every signalled one has joined. */
static int wait_joined(uint64_t deadline)
{
	while (pending() > 0) {
		struct pollfd p = { .fd = tree.listen_fd, .events = POLLIN };
		struct timespec ts = { .tv_nsec = 50000000 };
		long fd;

		sc_sys5(__NR_ppoll, &p, 1, &ts, NULL, 8);
		while ((fd = sc_sys4(__NR_accept4, tree.listen_fd, NULL, NULL, SOCK_CLOEXEC)) >=
		       0) {
			struct member *m;

			if (recv_msg((int)fd, tree.msg) || tree.msg->type != MSG_FROZEN ||
			    !(m = find(tree.msg->pid)) || m->fd >= 0 || m->zombie) {
				sc_sys1(__NR_close, fd);
				continue;
			}
			m->fd = (int)fd;
			tree.joined++;
		}
		check_pending();
		if (pending() > 0 && rt_now_ns(CLOCK_MONOTONIC) > deadline) {
			for (int i = 0; i < tree.n; i++)
				if (!tree.m[i].zombie && tree.m[i].fd < 0) {
					fail("freezing the process tree", tree.m[i].pid,
					     tree.m[i].comm,
					     "did not join the checkpoint in time (its trigger "
					     "signal blocked, or busy with a checkpoint of its own)");
					break;
				}
			return -ETIMEDOUT;
		}
	}
	return 0;
}

int rt_tree_gather(void)
{
	int self = (int)sc_sys0(__NR_getpid), ppid = (int)sc_sys0(__NR_getppid);
	uint64_t deadline = rt_now_ns(CLOCK_MONOTONIC) + JOIN_TIMEOUT_NS;
	struct sockaddr_un a;
	socklen_t len;
	long fd;
	int r;

	memset(&tree, 0, sizeof(tree));
	tree.listen_fd = tree.conn_fd = -1;
	tree.root = self;
	tree.gen = (int)(++generation & 0xffff);
	tree.parent_pid = ppid > 1 && runtime_state(ppid, "") != NO_RUNTIME ? ppid : 0;
	tree.m = rt_alloc(sizeof(*tree.m) * TREE_MAX);
	tree.msg = rt_alloc(sizeof(*tree.msg));
	if (!tree.m || !tree.msg)
		return -ENOMEM;
	/* Most processes have no children: no socket for them. */
	int *kids = rt_alloc(sizeof(int) * TREE_MAX), nkids = 0;

	if (!kids || (r = add_children(self, kids, &nkids)))
		return kids ? r : -ENOMEM;
	if (!nkids)
		return 0;
	sock_name(&a, &len, self, tree.gen);
	fd = sc_sys3(__NR_socket, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return (int)fd;
	tree.listen_fd = (int)fd;
	if ((r = (int)sc_sys3(__NR_bind, fd, &a, len)) || (r = (int)sc_sys2(__NR_listen, fd, 128)))
		return r;
	/* Until a pass over the frozen tree finds nobody new. */
	for (;;) {
		r = scan(self);
		if (r < 0)
			return r;
		if (r == 0 && !tree.starting)
			return 0;
		if ((r = wait_joined(deadline)))
			return r;
		if (tree.starting) {
			struct timespec ts = { .tv_nsec = 5000000 };

			if (rt_now_ns(CLOCK_MONOTONIC) > deadline) {
				rt_dump_res.what = "freezing the process tree";
				rt_stpcpy(
					rt_dump_res.detail,
					"a process just exec'ed did not start the runtime in time");
				return -ETIMEDOUT;
			}
			sc_sys2(__NR_nanosleep, &ts, NULL);
		}
	}
}

int rt_tree_pipe_keeper(uint64_t id)
{
	for (int i = 0; i < tree.nkept; i++)
		if (tree.kept[i].id == id)
			return tree.kept[i].pid;
	return 0;
}

bool rt_tree_std_pipe(uint64_t id)
{
	for (int i = 0; i < tree.nstd; i++)
		if (tree.std_pipes[i] == id)
			return true;
	return false;
}

/* The pipe ends, sockets and regular files process pid holds, as seen
 * from outside it. */
static int scan_fds(int pid, struct open_pipe *v, int *n, int cap)
{
	char path[64], buf[4096], *p = rt_fmt_i64(rt_stpcpy(path, "/proc/"), pid);
	int dfd;

	rt_stpcpy(p, "/fd");
	dfd = (int)sc_sys4(__NR_openat, AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (dfd < 0)
		return dfd;
	for (long r; (r = sc_sys3(__NR_getdents64, dfd, buf, sizeof(buf))) > 0;) {
		for (long off = 0; off < r;) {
			struct dirent64 *d = (void *)(buf + off);
			char target[RT_MAX_PATH], ipath[96], *info;
			struct pp_fdinfo fi;
			struct open_pipe *h;
			struct stat st;
			long len;
			size_t ilen;
			const char *c;

			off += d->d_reclen;
			if (d->d_name[0] < '0' || d->d_name[0] > '9')
				continue;
			len = sc_sys4(__NR_readlinkat, dfd, d->d_name, target, sizeof(target) - 1);
			if (len <= 0)
				continue;
			target[len] = '\0';
			if (*n == cap) {
				sc_sys1(__NR_close, dfd);
				return -E2BIG;
			}
			h = &v[*n];
			memset(h, 0, sizeof(*h));
			h->pid = pid;
			for (c = d->d_name; *c; c++)
				h->fd = h->fd * 10 + (*c - '0');
			if (target[0] == '/') {
				if (sc_sys4(__NR_newfstatat, dfd, d->d_name, &st, 0) ||
				    !S_ISREG(st.st_mode) ||
				    !(h->path = rt_strdup(target, (size_t)len)))
					continue;
				(*n)++;
				continue;
			}
			h->sock = !strncmp(target, "socket:[", 8);
			if (strncmp(target, "pipe:[", 6) && !h->sock)
				continue;
			for (c = target + (h->sock ? 8 : 6); *c >= '0' && *c <= '9'; c++)
				h->id = h->id * 10 + (uint64_t)(*c - '0');
			if (h->sock) {
				(*n)++;
				continue;
			}
			rt_stpcpy(rt_stpcpy(rt_stpcpy(ipath, path), "info/"), d->d_name);
			info = rt_read_file(ipath, &ilen);
			if (!info || pp_parse_fdinfo(info, ilen, &fi))
				continue;
			h->ends = (uint8_t)(1U << (fi.flags & O_ACCMODE));
			(*n)++;
		}
	}
	sc_sys1(__NR_close, dfd);
	return 0;
}

/*
 * A regular file opened before a fork is one open description in parent
 * and child: one offset. kcmp tells; each later holder is recorded as the
 * same description as the first (doc/trees.md).
 */
static int find_shared_descs(const struct open_pipe *v, int n)
{
	tree.descs = rt_alloc(sizeof(*tree.descs) * (size_t)(n + 1));
	if (!tree.descs)
		return -ENOMEM;
	for (int j = 0; j < n; j++) {
		if (!v[j].path)
			continue;
		for (int i = 0; i < j; i++) {
			if (!v[i].path || v[i].pid == v[j].pid || strcmp(v[i].path, v[j].path) ||
			    sc_sys5(__NR_kcmp, v[i].pid, v[j].pid, 0 /* KCMP_FILE */, v[i].fd,
				    v[j].fd))
				continue;
			tree.descs[tree.ndescs++] =
				(struct shared_desc){ v[j].pid, v[j].fd, v[i].pid, v[i].fd };
			break;
		}
	}
	return 0;
}

/* Process pid of the tree has what cannot be checkpointed: it fails,
 * naming it. */
static int fail_pid(const char *what, int pid, const char *why)
{
	char comm[20];
	struct pp_stat st;

	if (!read_stat(pid, &st, comm))
		comm[0] = '\0';
	fail(what, pid, comm, why);
	return -EOPNOTSUPP;
}

/* Descriptor fd of pid is one end of something whose other end is
 * outside the tree. */
static int fail_fd(const char *what, int pid, int fd, const char *kind, uint64_t id)
{
	char why[128], *p = rt_stpcpy(why, "fd ");

	p = rt_fmt_i64(p, fd);
	p = rt_stpcpy(rt_stpcpy(p, ": the other end of "), kind);
	rt_stpcpy(rt_fmt_u64(rt_stpcpy(p, ":["), id), "] is outside the tree");
	return fail_pid(what, pid, why);
}

/*
 * A socketpair made before a fork may have one half in each process:
 * each member dumps its half as such (fd_unix.c), and only here is it
 * known whether the other half is in the tree.
 */
static int check_pairs(const struct open_pipe *v, int n)
{
	struct fd_dump_ctx dctx = { 0 };

	for (int i = 0; i < n; i++) {
		uint64_t peer;
		bool inside = false;

		if (!v[i].sock || !(peer = fd_unix_pair_peer(&dctx, v[i].id)))
			continue;
		for (int k = 0; k < n && !inside; k++)
			inside = v[k].sock && v[k].id == peer;
		if (!inside)
			return fail_fd("socketpairs between processes", v[i].pid, v[i].fd,
				       "socket", v[i].id);
	}
	return 0;
}

/*
 * A pipe whose every write end is closed reads EOF (make gives its jobs
 * such a pipe as stdin): the restore is the same, since crload closes its
 * scratch write end. Whether a writer is left anywhere, in the tree or
 * outside: a non-blocking read of an empty pipe returns EOF only when there
 * is none. Only an empty pipe is asked, since a read would take a byte.
 */
static bool no_writers(int pid, int fd)
{
	char path[64], c;
	int avail = 1;
	long pfd, r = -1;

	rt_fmt_i64(rt_stpcpy(rt_fmt_i64(rt_stpcpy(path, "/proc/"), pid), "/fd/"), fd);
	pfd = sc_sys4(__NR_openat, AT_FDCWD, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);
	if (pfd < 0)
		return false;
	if (!sc_sys3(__NR_ioctl, pfd, FIONREAD, &avail) && !avail)
		r = sc_sys3(__NR_read, pfd, &c, 1);
	sc_sys1(__NR_close, pfd);
	return r == 0;
}

/*
 * A pipe held by several processes has the same bytes in each (all are
 * frozen): the first holder seen (the root before the members) stores
 * them, the others point to it. Past MSG_KEPT pipes, each holder stores
 * them, as a process alone does.
 */
static void keep_pipes(const struct open_pipe *v, int n)
{
	for (int i = 0; i < n && tree.nkept < MSG_KEPT; i++) {
		bool first = !v[i].path && !v[i].sock, elsewhere = false;

		for (int k = 0; k < n && first; k++) {
			if (v[k].id != v[i].id || v[k].path || v[k].sock)
				continue;
			first = k >= i;
			elsewhere |= v[k].pid != v[i].pid;
		}
		if (first && elsewhere)
			tree.kept[tree.nkept++] = (struct pipe_keeper){ v[i].id, v[i].pid, 0 };
	}
}

/*
 * Every process dumps its own descriptors, so only the root, looking at
 * all of them while everybody is frozen, can tell whether a pipe has all
 * its ends in the tree. One with an end outside, held at a descriptor
 * above 2, cannot be restored: the checkpoint fails naming the holder. One
 * on a standard stream is crload's own to give when an end is outside (a
 * job piped into a logger) but the tree's when every end is inside (a
 * shell pipeline): the latter are sent to every member, which dumps them
 * as pipes (fd_inherit.c).
 */
static int check_pipes(void)
{
	const uint8_t both = 1U << O_RDONLY | 1U << O_WRONLY;
	struct open_pipe *v = rt_alloc(sizeof(*v) * TREE_MAX * 4);
	int n = 0, err;

	tree.std_pipes = rt_alloc(sizeof(*tree.std_pipes) * MSG_PIPES);
	tree.kept = rt_alloc(sizeof(*tree.kept) * MSG_KEPT);
	if (!v || !tree.std_pipes || !tree.kept)
		return -ENOMEM;
	err = scan_fds(tree.root, v, &n, TREE_MAX * 4);
	for (int i = 0; i < tree.n && !err; i++)
		if (tree.m[i].fd >= 0)
			err = scan_fds(tree.m[i].pid, v, &n, TREE_MAX * 4);
	if (!err)
		err = find_shared_descs(v, n);
	if (err) {
		rt_dump_res.what = "looking at the pipes between processes";
		return err;
	}
	for (int i = 0; i < n; i++) {
		uint8_t ends = 0;

		if (v[i].path || v[i].sock)
			continue;
		for (int k = 0; k < n; k++)
			if (v[k].id == v[i].id && !v[k].path && !v[k].sock)
				ends |= v[k].ends;
		if (ends == 1U << O_RDONLY && no_writers(v[i].pid, v[i].fd))
			ends = both;
		if ((ends & both) != both && v[i].fd > 2)
			return fail_fd("pipes between processes", v[i].pid, v[i].fd, "pipe",
				       v[i].id);
		if ((ends & both) != both || v[i].fd > 2 || rt_tree_std_pipe(v[i].id))
			continue;
		if (tree.nstd == MSG_PIPES) {
			rt_dump_res.what = "looking at the pipes between processes";
			return -E2BIG;
		}
		tree.std_pipes[tree.nstd++] = v[i].id;
	}
	keep_pipes(v, n);
	return check_pairs(v, n);
}

/* A SysV shared memory segment the checkpointed processes attach. */
struct sysv_use {
	uint64_t shmid;
	int pid; /* the first process attaching it */
	uint32_t vmas; /* its attachments in the checkpointed processes */
};

/* Counts pid's attachments of SysV segments ("/SYSVKEY" mappings of
 * the shm mount, whose inode is the shmid) into u. */
static int count_sysv(int pid, struct sysv_use *u, int *n, int cap)
{
	char path[64], *buf;
	size_t len, pos = 0, ll;
	const char *line;

	rt_stpcpy(rt_fmt_i64(rt_stpcpy(path, "/proc/"), pid), "/maps");
	if (!(buf = rt_read_file(path, &len)))
		return -EIO;
	while ((line = pp_next_line(buf, len, &pos, &ll))) {
		struct pp_map m;
		int i = 0;

		if (pp_parse_maps_line(line, ll, &m) || !m.path || m.path_len < 5 ||
		    memcmp(m.path, "/SYSV", 5))
			continue;
		while (i < *n && u[i].shmid != m.ino)
			i++;
		if (i == *n) {
			if (*n == cap)
				return -E2BIG;
			u[(*n)++] = (struct sysv_use){ m.ino, pid, 0 };
		}
		u[i].vmas++;
	}
	return 0;
}

/*
 * A SysV segment is restored as shared memory of the tree (doc/trees.md):
 * one that a process outside the checkpoint also attaches (its nattch,
 * one per mapping, counts more than the checkpointed processes' maps
 * show) would no longer be shared with it. The checkpoint fails instead.
 */
static int check_sysv(void)
{
	struct sysv_use *u = rt_alloc(sizeof(*u) * 1024);
	size_t len, pos = 0, ll;
	const char *line;
	char *buf;
	int n = 0, err;

	if (!u)
		return -ENOMEM;
	err = count_sysv((int)sc_sys0(__NR_getpid), u, &n, 1024);
	for (int i = 0; i < tree.n && !err; i++)
		if (tree.m[i].fd >= 0)
			err = count_sysv(tree.m[i].pid, u, &n, 1024);
	if (!err && n && !(buf = rt_read_file("/proc/sysvipc/shm", &len)))
		err = -EIO;
	if (err) {
		rt_dump_res.what = "looking at SysV shared memory";
		return err;
	}
	while (n && (line = pp_next_line(buf, len, &pos, &ll))) {
		struct pp_sysv_shm s;

		if (pp_parse_sysv_shm_line(line, ll, &s))
			continue; /* the header */
		for (int i = 0; i < n; i++) {
			char why[128], *w = rt_stpcpy(why, "attaches SysV shared memory segment ");

			if (u[i].shmid != s.id || s.nattch <= u[i].vmas)
				continue;
			w = rt_fmt_i64(rt_stpcpy(rt_fmt_i64(w, s.id), " (key "), s.key);
			rt_stpcpy(w, "), which a process outside the checkpoint attaches too");
			return fail_pid("SysV shared memory", u[i].pid, why);
		}
	}
	return 0;
}

int rt_tree_start_writing(const char *tmpdir)
{
	struct tree_msg *m = tree.msg;
	int err;

	if ((err = check_sysv()))
		return err;
	if (!tree.joined)
		return 0;
	if ((err = check_pipes()))
		return err;
	memset(m, 0, sizeof(*m));
	m->type = MSG_WRITE;
	for (int i = 0; i < tree.nstd; i++)
		m->std_pipes[m->nstd++] = tree.std_pipes[i];
	for (int i = 0; i < tree.nkept; i++)
		m->kept[m->nkept++] = tree.kept[i];
	rt_stpcpy(m->text, tmpdir);
	rt_stpcpy(m->image, rt_dump_res.image);
	for (int i = 0; i < tree.n; i++) {
		int err;

		if (tree.m[i].fd >= 0 && (err = send_msg(tree.m[i].fd, m))) {
			fail("starting the tree's writers", tree.m[i].pid, tree.m[i].comm,
			     "is gone");
			return err;
		}
	}
	return 0;
}

int rt_tree_collect(struct rt_tree_files *out)
{
	struct tree_msg *m = tree.msg;

	out->n = 0;
	out->bytes = 0;
	out->sums = rt_alloc(sizeof(*out->sums) * (size_t)(tree.joined * RT_MAX_FILES + 1));
	if (!out->sums)
		return -ENOMEM;
	for (int i = 0; i < tree.n; i++) {
		struct member *mb = &tree.m[i];

		if (mb->fd < 0)
			continue;
		if (recv_msg(mb->fd, m) || m->type != MSG_WRITTEN || m->pid != mb->pid) {
			fail("writing the tree", mb->pid, mb->comm, "died while writing");
			return -EPIPE;
		}
		if (m->err) {
			fail("writing the tree", mb->pid, mb->comm, "failed: ");
			rt_stpcpy(rt_dump_res.detail + strlen(rt_dump_res.detail), m->text);
			return m->err;
		}
		for (uint32_t k = 0; k < m->nsums && k < RT_MAX_FILES; k++) {
			Sc__FileSum *s = rt_alloc(sizeof(*s));

			if (!s)
				return -ENOMEM;
			sc__file_sum__init(s);
			s->name = rt_strdup(m->sums[k].name, strlen(m->sums[k].name));
			if (!s->name)
				return -ENOMEM;
			s->size = m->sums[k].size;
			s->xxh3 = m->sums[k].xxh3;
			out->sums[out->n++] = s;
		}
		out->bytes += m->bytes;
	}
	return 0;
}

static int attach_descs(Sc__ProcEntry *pe)
{
	for (int i = 0; i < tree.ndescs; i++) {
		Sc__SharedDesc *d;

		if (tree.descs[i].pid != pe->pid)
			continue;
		if (!pe->shared &&
		    !(pe->shared = rt_alloc(sizeof(*pe->shared) * (size_t)tree.ndescs)))
			return -ENOMEM;
		d = rt_alloc(sizeof(*d));
		if (!d)
			return -ENOMEM;
		sc__shared_desc__init(d);
		d->fd = tree.descs[i].fd;
		d->same_pid = tree.descs[i].same_pid;
		d->same_fd = tree.descs[i].same_fd;
		pe->shared[pe->n_shared++] = d;
	}
	return 0;
}

int rt_tree_procs(Sc__ProcEntry ***out)
{
	Sc__ProcEntry **v = rt_alloc(sizeof(*v) * (size_t)(tree.n + 1));
	int k = 0;

	if (!v)
		return -ENOMEM;
	for (int i = -1; i < tree.n; i++) {
		Sc__ProcEntry *pe = rt_alloc(sizeof(*pe));

		if (!pe)
			return -ENOMEM;
		sc__proc_entry__init(pe);
		if (i < 0) { /* the root first */
			pe->pid = (int)sc_sys0(__NR_getpid);
			pe->ppid = (int)sc_sys0(__NR_getppid);
			pe->pgid = (int)sc_sys1(__NR_getpgid, 0);
			pe->sid = (int)sc_sys1(__NR_getsid, 0);
		} else {
			pe->pid = tree.m[i].pid;
			pe->ppid = tree.m[i].ppid;
			pe->pgid = tree.m[i].pgid;
			pe->sid = tree.m[i].sid;
			pe->has_zombie = pe->zombie = tree.m[i].zombie;
			pe->has_exit_status = tree.m[i].zombie;
			pe->exit_status = tree.m[i].exit_status;
		}
		if (attach_descs(pe))
			return -ENOMEM;
		v[k++] = pe;
	}
	*out = v;
	return k;
}

void rt_tree_release(int action)
{
	struct tree_msg *m = tree.msg;

	if (tree.member || !m)
		return;
	memset(m, 0, sizeof(*m));
	m->type = MSG_DONE;
	m->action = (uint32_t)action;
	for (int i = 0; i < tree.n; i++)
		if (tree.m[i].fd >= 0)
			send_msg(tree.m[i].fd, m);
}

void rt_tree_describe(char *p)
{
	if (tree.member) {
		p = rt_stpcpy(p, " (in the tree of pid ");
		rt_stpcpy(rt_fmt_i64(p, tree.root), ")");
		return;
	}
	if (!tree.n && !tree.parent_pid)
		return;
	p = rt_stpcpy(p, " (");
	p = rt_fmt_i64(p, tree.n + 1);
	p = rt_stpcpy(p, tree.n ? " processes" : " process");
	if (tree.zombies) {
		p = rt_stpcpy(p, ", ");
		p = rt_fmt_i64(p, tree.zombies);
		p = rt_stpcpy(p, tree.zombies > 1 ? " of them zombies" : " of them a zombie");
	}
	if (tree.parent_pid) {
		p = rt_stpcpy(p, "; only the subtree of pid ");
		p = rt_fmt_i64(p, tree.root);
		p = rt_stpcpy(p, ", its parent ");
		p = rt_fmt_i64(p, tree.parent_pid);
		p = rt_stpcpy(p, " is not in it");
	}
	rt_stpcpy(p, ")");
}

/* Closes the sockets; what the checkpoint covered stays for the log. */
void rt_tree_end(void)
{
	if (tree.conn_fd >= 0)
		sc_sys1(__NR_close, tree.conn_fd);
	if (tree.listen_fd >= 0)
		sc_sys1(__NR_close, tree.listen_fd);
	tree.conn_fd = tree.listen_fd = -1;
	for (int i = 0; i < tree.n; i++) {
		if (tree.m[i].fd >= 0)
			sc_sys1(__NR_close, tree.m[i].fd);
		tree.m[i].fd = -1;
	}
}

void rt_tree_forget(void)
{
	memset(&tree, 0, sizeof(tree));
	tree.listen_fd = tree.conn_fd = -1;
}
