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
 * When the root runs on after the checkpoint, every process leaves its
 * pages to a copy of itself instead (snapshot.c) and the tree goes on once
 * each has its copy: the members' copies send the sums to the root's copy,
 * which commits (doc/cow-capture.md, "A tree").
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

#include "dump.h"
#include "fd_dump.h"
#include "procparse.h"

#define TREE_MAX 4096
/*
 * The value the runtime's own requests between processes carry (sigqueue):
 * a magic number in the top 16 bits; below it, for a request to join a
 * tree's checkpoint, the checkpoint's generation (16 bits) and the root's
 * pid (32 bits); for a job member's request to its leader, when it asked,
 * in microseconds (48 bits). crrun's final request has a magic of its own
 * (selfckpt/launcher.h).
 */
#define COOKIE_MAGIC 0x5c7eULL
#define FORWARD_MAGIC 0x5c7fULL /* a job member asks its leader (doc/shell-job.md) */
#define COOKIE_MAGIC_SHIFT 48
#define COOKIE_PAYLOAD_MASK ((1ULL << COOKIE_MAGIC_SHIFT) - 1)
#define COOKIE_GEN_SHIFT 32
#define COOKIE_GEN_MASK 0xffffULL
#define JOIN_TIMEOUT_NS (10ULL * 1000000000ULL)
#define MSG_PIPES 128 /* pipes between processes on standard streams */
#define MSG_KEPT 256 /* pipes between processes whose bytes one of them stores */

enum { MSG_FROZEN = 1, MSG_WRITE, MSG_WRITTEN, MSG_DONE, MSG_CAPTURED };

/*
 * Every message says which version of them it is, beside its length: a
 * process of the tree that runs another version of the runtime (another
 * LD_PRELOAD in a job's step) is named at once, rather than taken for one
 * that never joined. MSG_VERSION goes up whenever struct tree_msg changes.
 */
#define MSG_MAGIC 0x5c7e0000U
#define MSG_VERSION 1U
#define MSG_PROTO (MSG_MAGIC | MSG_VERSION)
#define ANOTHER_VERSION                                                                            \
	"runs another version of the runtime, whose messages this one cannot read: "               \
	"a tree is checkpointed by one version"

struct tree_msg {
	uint32_t proto; /* MSG_PROTO */
	uint32_t type;
	int32_t pid;
	int32_t err; /* WRITTEN: 0 or -errno */
	uint32_t action; /* DONE */
	/* WRITE: the root runs on, a member may leave its pages to a copy;
	 * WRITTEN: a copy wrote them */
	uint32_t copies;
	uint32_t in_parent; /* WRITTEN: pages left to the parent image */
	uint64_t track_token, track_parent; /* WRITE: the root's tracking plan */
	uint64_t bytes;
	uint32_t nsums;
	struct {
		char name[64];
		uint64_t size, xxh3;
	} sums[RT_MAX_FILES];
	uint32_t nstd;
	uint64_t std_pipes[MSG_PIPES]; /* WRITE: the tree's pipes on standard streams */
	uint32_t nkept;
	struct rt_pipe_keeper kept[MSG_KEPT]; /* WRITE: who stores a shared pipe's bytes */
	char image[RT_MAX_PATH]; /* WRITE: the image's final path */
	char held[RT_HELD_WHY]; /* WRITE: why the member may not have a copy */
	char text[RT_MAX_PATH + 128]; /* WRITE: temporary directory; WRITTEN: why */
};

struct member {
	int pid, ppid, pgid, sid;
	int fd; /* connection; -1 until it joined */
	bool zombie;
	int exit_status;
	bool seen; /* in the latest pass over the tree */
	/* Root, once it is writing: heard from since (CAPTURED or WRITTEN),
	 * nothing more to hear (WRITTEN, or gone), a copy writes its files. */
	bool answered, written, copied;
	char comm[20];
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
	bool copies; /* the root runs on: members may leave their pages to copies */
	uint64_t track_token, track_parent; /* member: the root's tracking plan */
	bool released; /* root: the members were told how it ended */
	int job_parent; /* root leading its group: its parent, whose children in
			 * the group (a shell pipeline's other commands) are in it */
} tree = { .listen_fd = -1, .conn_fd = -1 };

static unsigned generation;
/* Root of a job: when its coordination socket began to listen (monotonic). */
static uint64_t job_open_ns;
/* Member: the cookie of the checkpoint it joined last. It joins a job's
 * checkpoint on a user's trigger too, and then the root's own signal for
 * the same checkpoint comes late. */
static uint64_t joined_cookie;
/* Member: when it went on after the last tree checkpoint it joined
 * (monotonic ns; 0: none since it started or was restored). */
static uint64_t joined_end_ns;
/* How long after that a trigger from the parent counts as the tree's own,
 * passed on: the parent's handler runs as soon as the tree goes on. */
#define PASSED_ON_WINDOW_NS (5 * 1000000000ULL)

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

/* The runtime's value a signal carries, 0 for any other signal. */
static uint64_t cookie_of(const siginfo_t *si)
{
	return si && si->si_code == SI_QUEUE ? (uint64_t)(uintptr_t)si->si_value.sival_ptr : 0;
}

static void *join_cookie(int gen, int root)
{
	return (void *)(uintptr_t)(COOKIE_MAGIC << COOKIE_MAGIC_SHIFT |
				   ((uint64_t)gen & COOKIE_GEN_MASK) << COOKIE_GEN_SHIFT |
				   (uint32_t)root);
}

static void *forward_cookie(uint64_t asked_us)
{
	return (void *)(uintptr_t)(FORWARD_MAGIC << COOKIE_MAGIC_SHIFT |
				   (asked_us & COOKIE_PAYLOAD_MASK));
}

bool rt_tree_request(const siginfo_t *si)
{
	return cookie_of(si) >> COOKIE_MAGIC_SHIFT == COOKIE_MAGIC;
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

static int send_msg(int fd, struct tree_msg *m)
{
	long r;

	m->proto = MSG_PROTO;
	do
		r = sc_sys6(__NR_sendto, fd, m, sizeof(*m), MSG_NOSIGNAL, NULL, 0);
	while (r == -EINTR);
	return r == sizeof(*m) ? 0 : r < 0 ? (int)r : -EPIPE;
}

/* 0, -EPROTO for another version's message, or why none came. */
static int recv_msg(int fd, struct tree_msg *m)
{
	long r;

	do
		r = sc_sys6(__NR_recvfrom, fd, m, sizeof(*m), MSG_TRUNC, NULL, NULL);
	while (r == -EINTR);
	if (r < 0)
		return (int)r;
	if (!r)
		return -EPIPE;
	return r == sizeof(*m) && m->proto == MSG_PROTO ? 0 : -EPROTO;
}

/* The pid of the process at the other end of connection fd, or 0. */
static int peer_pid(int fd)
{
	struct ucred cred = { 0 };
	socklen_t len = sizeof(cred);

	return sc_sys5(__NR_getsockopt, fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) ? 0 : cred.pid;
}

bool rt_tree_active(void)
{
	return tree.member || tree.joined > 0;
}

/* ---- member side ---- */

int rt_tree_join(const siginfo_t *si, struct rt_dump_result *res)
{
	uint64_t v = (uint64_t)(uintptr_t)si->si_value.sival_ptr;
	struct sockaddr_un a;
	socklen_t len;
	long fd;
	int err;

	tree.member = true;
	tree.n = 0;
	joined_cookie = v;
	tree.root = (int)(uint32_t)v;
	tree.gen = (int)(v >> COOKIE_GEN_SHIFT & COOKIE_GEN_MASK);
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
	if (err == -EPROTO) {
		res->what = "joining the tree checkpoint";
		rt_tree_fail(res, res->what, tree.root, "", "(the root) " ANOTHER_VERSION);
	} else if (!err && tree.msg->type == MSG_DONE) {
		err = -ECANCELED;
		res->what = "checkpoint of the tree";
		rt_stpcpy(res->detail, "failed in another process of it");
	} else if (!err && tree.msg->type != MSG_WRITE) {
		err = -EPROTO;
	}
	if (err) {
		if (!res->what)
			res->what = "joining the tree checkpoint";
		rt_tree_end();
		return err;
	}
	rt_stpcpy(res->image, tree.msg->image);
	rt_stpcpy(res->held_why, tree.msg->held);
	tree.copies = tree.msg->copies;
	tree.track_token = tree.msg->track_token;
	tree.track_parent = tree.msg->track_parent;
	if ((err = rt_tree_set_std_pipes(tree.msg->std_pipes, tree.msg->nstd < MSG_PIPES
								       ? (int)tree.msg->nstd
								       : MSG_PIPES)))
		return err;
	return rt_tree_set_kept_pipes(tree.msg->kept,
				      tree.msg->nkept < MSG_KEPT ? (int)tree.msg->nkept : MSG_KEPT);
}

bool rt_tree_is_member(void)
{
	return tree.member;
}

const char *rt_tree_dir(void)
{
	return tree.member ? tree.msg->text : NULL;
}

bool rt_tree_copies(void)
{
	return tree.copies;
}

void rt_tree_track_plan(struct rt_track_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	plan->token = tree.track_token;
	plan->parent_token = tree.track_parent;
}

int rt_tree_report(const struct rt_image *im, const struct rt_dump_result *res)
{
	struct tree_msg *m = tree.msg;

	memset(m, 0, sizeof(*m));
	m->type = MSG_WRITTEN;
	m->pid = im->pid;
	m->err = res->err;
	m->bytes = im->bytes;
	m->copies = res->snapshot == RT_SNAPSHOT_COPY;
	m->in_parent = res->incremental;
	if (res->err) {
		char *p = rt_stpcpy(m->text, res->what ? res->what : "?");

		if (res->detail[0])
			rt_stpcpy(rt_stpcpy(p, ": "), res->detail);
	}
	for (size_t i = 0; i < im->nsums && !m->err; i++) {
		rt_stpcpy(m->sums[i].name, im->sums[i]->name);
		m->sums[i].size = im->sums[i]->size;
		m->sums[i].xxh3 = im->sums[i]->xxh3;
		m->nsums++;
	}
	return send_msg(tree.conn_fd, m);
}

int rt_tree_captured(void)
{
	struct tree_msg *m = tree.msg;

	memset(m, 0, sizeof(*m));
	m->type = MSG_CAPTURED;
	m->pid = (int)sc_sys0(__NR_getpid);
	return send_msg(tree.conn_fd, m);
}

bool rt_tree_cancelled(void)
{
	char byte;

	/* The root's end closed for writing, nothing queued: a message (the
	 * root's word to the program, sharing the connection) is not it. */
	return tree.member && tree.conn_fd >= 0 &&
	       sc_sys6(__NR_recvfrom, tree.conn_fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT, NULL,
		       NULL) == 0;
}

int rt_tree_wait_done(void)
{
	struct tree_msg *m = tree.msg;

	if (recv_msg(tree.conn_fd, m) || m->type != MSG_DONE)
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

enum { NO_RUNTIME, RUNTIME_STARTING, RUNTIME_READY };

/* Whether pid has the runtime mapped, and if so whether its constructor
 * has installed the handler of trigger_sig yet (right after an exec it has not,
 * and the signal would kill it). A program still in its dynamic loader
 * counts as starting, and so does a process crload is still restoring
 * (a restored tree's parent may run before its children are whole). */
static int runtime_state(int pid, const char *comm, int trigger_sig)
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
	if (!strstr(text, "/libselfckpt")) {
		/* An exec maps the new stack, then the program, then its
		 * dynamic loader, and the vDSO last of all: without the vDSO
		 * the exec is still under way, whatever else is mapped. */
		if (!strstr(text, "[vdso]"))
			return RUNTIME_STARTING;
		/* Then only the program and its dynamic loader are mapped:
		 * the loader maps preloaded libraries before any other, so
		 * without libc yet it is too early to tell. */
		return (strstr(text, "/ld-linux") && !strstr(text, "/libc.so")) ||
				       !strcmp(comm, "crload")
			       ? RUNTIME_STARTING
			       : NO_RUNTIME;
	}
	rt_stpcpy(p, "/status");
	text = rt_read_file(path, NULL);
	cgt = text ? strstr(text, "SigCgt:") : NULL;
	if (!cgt)
		return RUNTIME_STARTING;
	for (cgt += 7; *cgt == '\t' || *cgt == ' '; cgt++)
		;
	for (; (*cgt >= '0' && *cgt <= '9') || (*cgt >= 'a' && *cgt <= 'f'); cgt++)
		mask = mask << 4 | (uint64_t)(*cgt <= '9' ? *cgt - '0' : *cgt - 'a' + 10);
	return mask >> (trigger_sig - 1) & 1 ? RUNTIME_READY : RUNTIME_STARTING;
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
 * A root that leads its process group is a job, maybe a shell pipeline:
 * the shell forked every command of it, into the root's group. Those
 * siblings (not zombies: their parent is not frozen) are in the tree.
 */
static int add_job_members(int self, int *list, int *n)
{
	int *sib, nsib = 0, err;

	if (!tree.job_parent)
		return 0;
	sib = rt_alloc(sizeof(int) * TREE_MAX);
	if (!sib)
		return -ENOMEM;
	if ((err = rt_tree_children(tree.job_parent, sib, &nsib, TREE_MAX)))
		return err;
	for (int i = 0; i < nsib; i++) {
		struct pp_stat st;

		if (sib[i] == self || !rt_tree_read_stat(sib[i], &st, NULL) || st.pgrp != self ||
		    st.state == 'Z')
			continue;
		if (*n == TREE_MAX)
			return -E2BIG;
		list[(*n)++] = sib[i];
	}
	return 0;
}

/* A root that leads its process group on a terminal is a job (a daemon
 * leads a group of its own, with no terminal): its parent, else 0. */
static int job_parent(int self, int ppid)
{
	struct pp_stat st;

	if (tree.parent_pid || ppid <= 0 || sc_sys1(__NR_getpgid, 0) != self)
		return 0;
	return rt_tree_read_stat(self, &st, NULL) && st.tty_nr ? ppid : 0;
}

/*
 * One pass over the tree: new processes are signalled (cfg's trigger
 * signal, a request to join) or recorded as zombies, known ones get their
 * ppid/pgid/sid read again. Returns how many were signalled, or -errno
 * with the reason in res.
 */
static int scan(int self, const struct rt_config *cfg, struct rt_dump_result *res)
{
	int *list = rt_alloc(sizeof(int) * TREE_MAX), n = 0, signalled = 0, err;

	if (!list)
		return -ENOMEM;
	for (int i = 0; i < tree.n; i++)
		tree.m[i].seen = false;
	tree.starting = 0;
	if ((err = rt_tree_children(self, list, &n, TREE_MAX)) ||
	    (err = add_job_members(self, list, &n)))
		return err;
	int nfirst = n; /* children and job members: the rest are found below them */

	for (int i = 0; i < n; i++) {
		struct member *m = find(list[i]);
		struct pp_stat st;
		char comm[20];
		int rs = RUNTIME_READY;

		if (!rt_tree_read_stat(list[i], &st, comm))
			continue; /* gone (reaped by a parent not frozen yet) */
		/* A copy still writing (or just done with) a member's part of
		 * the last checkpoint: the suspend signal is its exit signal
		 * (snapshot.c). Not a process of the program's. */
		if (!m && st.exit_signal == cfg->suspend_sig)
			continue;
		if (!m && st.state != 'Z' &&
		    (shares_parent_vm(list[i], st.ppid) ||
		     (rs = runtime_state(list[i], comm, cfg->trigger_sig)) == RUNTIME_STARTING)) {
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
			} else if (rs == NO_RUNTIME && i < nfirst && st.ppid != self) {
				/* A command of the pipeline started without the
				 * runtime (`app | tee log`) stays outside, as a
				 * process outside the tree. */
				tree.n--;
				continue;
			} else if (rs == NO_RUNTIME) {
				rt_tree_fail(
					res, "finding the process tree", m->pid, comm,
					"does not run the runtime (statically linked, or started "
					"without it): the tree cannot be checkpointed whole");
				return -EOPNOTSUPP;
			} else {
				siginfo_t si;

				memset(&si, 0, sizeof(si));
				si.si_signo = cfg->trigger_sig;
				si.si_code = SI_QUEUE;
				si.si_pid = self;
				si.si_value.sival_ptr = join_cookie(tree.gen, self);
				if (sc_sys3(__NR_rt_sigqueueinfo, m->pid, cfg->trigger_sig, &si)) {
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
		if (!m->zombie && rt_tree_children(m->pid, list, &n, TREE_MAX))
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
		if (!rt_tree_read_stat(m->pid, &st, NULL)) {
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
static int wait_joined(uint64_t deadline, struct rt_dump_result *res)
{
	while (pending() > 0) {
		struct pollfd p = { .fd = tree.listen_fd, .events = POLLIN };
		struct timespec ts = { .tv_nsec = 50000000 };
		long fd;

		sc_sys5(__NR_ppoll, &p, 1, &ts, NULL, 8);
		while ((fd = sc_sys4(__NR_accept4, tree.listen_fd, NULL, NULL, SOCK_CLOEXEC)) >=
		       0) {
			struct member *m;
			int r = recv_msg((int)fd, tree.msg), pid;

			if (r == -EPROTO) {
				pid = peer_pid((int)fd);
				m = find(pid);
				sc_sys1(__NR_close, fd);
				rt_tree_fail(res, "freezing the process tree", pid,
					     m ? m->comm : "", ANOTHER_VERSION);
				return r;
			}
			if (r || tree.msg->type != MSG_FROZEN || !(m = find(tree.msg->pid)) ||
			    m->fd >= 0 || m->zombie) {
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
					rt_tree_fail(
						res, "freezing the process tree", tree.m[i].pid,
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

int rt_tree_gather(const struct rt_config *cfg, struct rt_dump_result *res)
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
	tree.gen = (int)(++generation & COOKIE_GEN_MASK);
	tree.parent_pid =
		ppid > 1 && runtime_state(ppid, "", cfg->trigger_sig) != NO_RUNTIME ? ppid : 0;
	tree.job_parent = job_parent(self, ppid);
	tree.m = rt_alloc(sizeof(*tree.m) * TREE_MAX);
	tree.msg = rt_alloc(sizeof(*tree.msg));
	if (!tree.m || !tree.msg)
		return -ENOMEM;
	/* Most processes have no children: no socket for them. */
	int *kids = rt_alloc(sizeof(int) * TREE_MAX), nkids = 0;

	if (!kids || (r = rt_tree_children(self, kids, &nkids, TREE_MAX)) ||
	    (r = add_job_members(self, kids, &nkids)))
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
	job_open_ns = tree.job_parent ? rt_now_ns(CLOCK_MONOTONIC) : 0;
	/* Until a pass over the frozen tree finds nobody new. */
	for (;;) {
		r = scan(self, cfg, res);
		if (r < 0)
			return r;
		if (r == 0 && !tree.starting)
			return 0;
		if ((r = wait_joined(deadline, res)))
			return r;
		if (tree.starting) {
			struct timespec ts = { .tv_nsec = 5000000 };

			if (rt_now_ns(CLOCK_MONOTONIC) > deadline) {
				res->what = "freezing the process tree";
				rt_stpcpy(
					res->detail,
					"a process just exec'ed did not start the runtime in time");
				return -ETIMEDOUT;
			}
			sc_sys2(__NR_nanosleep, &ts, NULL);
		}
	}
}

int rt_tree_start_writing(const char *tmpdir, bool copies, const struct rt_track_plan *plan,
			  bool *copy_self, struct rt_dump_result *res)
{
	struct tree_msg *m = tree.msg;
	int *pids = rt_alloc(sizeof(*pids) * (size_t)(tree.n + 1)), n = 0, err;
	bool *copy = rt_alloc(sizeof(*copy) * (size_t)(tree.n + 1));
	char(*why)[RT_HELD_WHY] = rt_alloc(sizeof(*why) * (size_t)(tree.n + 1));
	const uint64_t *std;
	const struct rt_pipe_keeper *kept;

	*copy_self = copies;
	if (!pids || !copy || !why)
		return -ENOMEM;
	pids[n++] = tree.root;
	for (int i = 0; i < tree.n; i++)
		if (tree.m[i].fd >= 0)
			pids[n++] = tree.m[i].pid;
	if ((err = rt_tree_scan(pids, n, res)) || !tree.joined)
		return err;
	/* Each member checks its own copy alone, which copies taken together
	 * could overrun, and the OOM killer would then choose among the
	 * program's processes: they are taken while they fit together, the
	 * root's first (rt_copies_budget), and those that do not are held
	 * until written and say why. */
	if (copies) {
		rt_copies_budget(pids, n, copy, why);
		*copy_self = copy[0];
		rt_stpcpy(res->held_why, why[0]);
	}
	memset(m, 0, sizeof(*m));
	m->type = MSG_WRITE;
	tree.copies = copies;
	m->track_token = plan->token;
	m->track_parent = plan->parent_token;
	m->nstd = (uint32_t)rt_tree_std_pipes(&std);
	m->nkept = (uint32_t)rt_tree_kept_pipes(&kept);
	if (m->nstd > MSG_PIPES || m->nkept > MSG_KEPT) {
		res->what = "looking at the pipes between processes";
		return -E2BIG;
	}
	memcpy(m->std_pipes, std, sizeof(*std) * m->nstd);
	memcpy(m->kept, kept, sizeof(*kept) * m->nkept);
	rt_stpcpy(m->text, tmpdir);
	rt_stpcpy(m->image, res->image);
	for (int i = 0, k = 1; i < tree.n; i++) {
		int err;

		if (tree.m[i].fd < 0)
			continue;
		m->copies = copies && copy[k];
		rt_stpcpy(m->held, copies ? why[k] : "");
		k++;
		if ((err = send_msg(tree.m[i].fd, m))) {
			rt_tree_fail(res, "starting the tree's writers", tree.m[i].pid,
				     tree.m[i].comm, "is gone");
			return err;
		}
	}
	return 0;
}

/*
 * One message from member mb, which has answered nothing yet or has a copy
 * writing: its snapshot taken (CAPTURED), or its files written (WRITTEN,
 * their sums into out). 0, or -errno, said in res unless quiet (a failure
 * is said already).
 */
static int hear(struct member *mb, struct rt_tree_files *out, bool quiet,
		struct rt_dump_result *res)
{
	struct tree_msg *m = tree.msg;

	mb->answered = true;
	if (recv_msg(mb->fd, m) || m->pid != mb->pid ||
	    (m->type != MSG_CAPTURED && m->type != MSG_WRITTEN)) {
		mb->written = true;
		/* Once it has a copy, only the copy was still to write. */
		if (!quiet)
			rt_tree_fail(res, "writing the tree", mb->pid, mb->comm,
				     mb->copied ? "its copy died while writing"
						: "died while writing");
		return -EPIPE;
	}
	mb->copied |= m->type == MSG_CAPTURED || m->copies;
	if (m->type == MSG_CAPTURED)
		return 0;
	mb->written = true;
	if (m->err && !quiet) {
		rt_tree_fail(res, "writing the tree", mb->pid, mb->comm, "failed: ");
		rt_stpcpy(res->detail + strlen(res->detail), m->text);
	}
	if (m->err)
		return m->err;
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
	out->in_parent |= m->in_parent;
	return 0;
}

void rt_tree_cancel(void)
{
	for (int i = 0; i < tree.n; i++)
		if (tree.m[i].fd >= 0 && !tree.m[i].written)
			sc_sys2(__NR_shutdown, tree.m[i].fd, SHUT_WR);
}

int rt_tree_collect(struct rt_tree_files *out, bool all, struct rt_dump_result *res)
{
	struct pollfd *p = rt_alloc(sizeof(*p) * (size_t)(tree.n + 1));
	struct member **who = rt_alloc(sizeof(*who) * (size_t)(tree.n + 1));
	int err = 0;

	if (!out->sums)
		out->sums = rt_alloc(sizeof(*out->sums) * (size_t)(tree.joined * RT_MAX_FILES + 1));
	if (!out->sums || !p || !who)
		return -ENOMEM;
	/* Whoever answers first is heard first: a failure stops the others
	 * while they write. */
	for (;;) {
		long r;
		int n = 0;

		for (int i = 0; i < tree.n; i++) {
			struct member *mb = &tree.m[i];

			if (mb->fd >= 0 && !mb->written && (all || !mb->answered)) {
				p[n] = (struct pollfd){ .fd = mb->fd, .events = POLLIN };
				who[n++] = mb;
			}
		}
		if (!n)
			return err;
		r = sc_sys5(__NR_ppoll, p, n, NULL, NULL, 8);
		if (r == -EINTR)
			continue;
		if (r < 0)
			return err ? err : (int)r;
		for (int k = 0; k < n; k++) {
			if (!p[k].revents)
				continue;
			r = hear(who[k], out, err != 0, res);
			if (r && !err) {
				err = (int)r;
				if (all)
					rt_tree_cancel();
			}
		}
	}
}

void rt_tree_copied(int *copies, int *held)
{
	*copies = *held = 0;
	for (int i = 0; i < tree.n; i++) {
		*copies += tree.m[i].copied;
		*held += tree.copies && tree.m[i].answered && !tree.m[i].copied;
	}
}

int rt_tree_conns(int *fds)
{
	int n = 0;

	if (tree.conn_fd >= 0 && fds)
		fds[n] = tree.conn_fd;
	n += tree.conn_fd >= 0;
	for (int i = 0; i < tree.n; i++) {
		if (tree.m[i].fd >= 0 && fds)
			fds[n] = tree.m[i].fd;
		n += tree.m[i].fd >= 0;
	}
	return n;
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
		if (rt_tree_attach_descs(pe))
			return -ENOMEM;
		v[k++] = pe;
	}
	*out = v;
	return k;
}

void rt_tree_release(int action)
{
	struct tree_msg *m = tree.msg;

	if (tree.member || !m || tree.released)
		return;
	tree.released = true;
	memset(m, 0, sizeof(*m));
	m->type = MSG_DONE;
	m->action = (uint32_t)action;
	for (int i = 0; i < tree.n; i++)
		if (tree.m[i].fd >= 0)
			send_msg(tree.m[i].fd, m);
}

int rt_tree_size(void)
{
	return tree.member ? 0 : tree.n + 1;
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
	job_open_ns = 0;
	memset(&tree, 0, sizeof(tree));
	tree.listen_fd = tree.conn_fd = -1;
}

/* ---- jobs: a user's trigger to a command of a pipeline but its first ---- */

bool rt_tree_forwarded(const siginfo_t *si)
{
	return cookie_of(si) >> COOKIE_MAGIC_SHIFT == FORWARD_MAGIC;
}

bool rt_tree_served(const siginfo_t *si)
{
	uint64_t v = cookie_of(si);

	if (rt_tree_request(si))
		return v == joined_cookie;
	return rt_tree_forwarded(si) && job_open_ns &&
	       (v & COOKIE_PAYLOAD_MASK) * 1000 < job_open_ns;
}

void rt_tree_joined_end(void)
{
	joined_end_ns = rt_now_ns(CLOCK_MONOTONIC);
}

bool rt_tree_passed_on(const siginfo_t *si)
{
	/* The runtime's own requests carry a cookie (SI_QUEUE, above). */
	if (!si || !joined_end_ns || rt_tree_request(si) || rt_tree_forwarded(si) ||
	    (si->si_code != SI_USER && si->si_code != SI_TKILL && si->si_code != SI_QUEUE))
		return false;
	return si->si_pid == (int)sc_sys0(__NR_getppid) &&
	       rt_now_ns(CLOCK_MONOTONIC) - joined_end_ns < PASSED_ON_WINDOW_NS;
}

int rt_tree_job_leader(const struct rt_config *cfg)
{
	int self = (int)sc_sys0(__NR_getpid), ppid = (int)sc_sys0(__NR_getppid);
	int pgid = (int)sc_sys1(__NR_getpgid, 0);
	struct pp_stat st;
	char comm[20];

	/* Cheapest first: most processes lead their group or are a child. */
	if (pgid == self || ppid <= 0 || !rt_tree_read_stat(pgid, &st, comm) || st.ppid != ppid ||
	    st.pgrp != pgid || !st.tty_nr ||
	    runtime_state(ppid, "", cfg->trigger_sig) != NO_RUNTIME)
		return 0;
	return runtime_state(pgid, comm, cfg->trigger_sig) == RUNTIME_READY ? pgid : 0;
}

bool rt_tree_job_request(const struct rt_config *cfg, int leader, siginfo_t *si)
{
	/* Taken before looking: a checkpoint whose socket was not there yet
	 * began after the request, and serves it. */
	uint64_t asked_us = rt_now_ns(CLOCK_MONOTONIC) / 1000;
	char pat[64], *p = rt_fmt_i64(rt_stpcpy(pat, "@selfckpt-tree-"), leader);
	const char *text = rt_read_file("/proc/net/unix", NULL), *hit;
	uint64_t gen = 0;

	rt_stpcpy(p, "-");
	memset(si, 0, sizeof(*si));
	si->si_signo = cfg->trigger_sig;
	si->si_code = SI_QUEUE;
	si->si_pid = (int)sc_sys0(__NR_getpid);
	hit = text ? strstr(text, pat) : NULL;
	if (hit) {
		/* The leader is checkpointing its job: join it, as if its
		 * signal had come (it may have, merged with the user's). */
		for (hit += strlen(pat); *hit >= '0' && *hit <= '9'; hit++)
			gen = gen * 10 + (uint64_t)(*hit - '0');
		si->si_value.sival_ptr = join_cookie((int)gen, leader);
		return true;
	}
	si->si_value.sival_ptr = forward_cookie(asked_us);
	sc_sys3(__NR_rt_sigqueueinfo, leader, cfg->trigger_sig, si);
	return false;
}
