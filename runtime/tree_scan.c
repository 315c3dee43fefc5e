// SPDX-License-Identifier: MIT
/*
 * What only a look at the whole frozen tree tells, from outside its
 * processes through /proc and kcmp: which pipes and socketpairs have
 * every end inside it, which regular files share one open description
 * across processes, and whether a SysV segment is attached from outside.
 * The runtime's root asks it of its members (tree.c); crdump of the tree
 * it holds.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>

#include "dump.h"
#include "fd_dump.h"
#include "procparse.h"
#include "tree_descs.h"
#include "unix_graph.h"

#define TREE_MAX 4096
#define STD_PIPES_MAX 128
#define KEPT_MAX 256 /* past it, every holder stores a shared pipe's bytes */

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
	/* Pipes on a standard stream with every end inside the tree: dumped
	 * as pipes, not as crload's own streams (fd_inherit.c). */
	uint64_t *std_pipes;
	int nstd;
	struct rt_pipe_keeper *kept; /* pipes between processes: who stores the bytes */
	int nkept;
	struct shared_desc *descs; /* found with kcmp */
	int ndescs;
} scan;

void rt_tree_fail(struct rt_dump_result *res, const char *what, int pid, const char *comm,
		  const char *why)
{
	char *p = rt_stpcpy(res->detail, "pid ");

	p = rt_fmt_i64(p, pid);
	if (comm && *comm) {
		p = rt_stpcpy(p, " (");
		p = rt_stpcpy(p, comm);
		p = rt_stpcpy(p, ")");
	}
	p = rt_stpcpy(p, " ");
	rt_stpcpy(p, why);
	res->what = what;
}

int rt_tree_children(int pid, int *list, int *n, int cap)
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
				if (*n == cap) {
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

bool rt_tree_read_stat(int pid, struct pp_stat *st, char *comm)
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

bool rt_tree_std_pipe(uint64_t id)
{
	for (int i = 0; i < scan.nstd; i++)
		if (scan.std_pipes[i] == id)
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
	scan.descs = rt_alloc(sizeof(*scan.descs) * (size_t)(n + 1));
	if (!scan.descs)
		return -ENOMEM;
	for (int j = 0; j < n; j++) {
		if (!v[j].path)
			continue;
		for (int i = 0; i < j; i++) {
			if (!v[i].path || v[i].pid == v[j].pid || strcmp(v[i].path, v[j].path) ||
			    sc_sys5(__NR_kcmp, v[i].pid, v[j].pid, 0 /* KCMP_FILE */, v[i].fd,
				    v[j].fd))
				continue;
			scan.descs[scan.ndescs++] =
				(struct shared_desc){ v[j].pid, v[j].fd, v[i].pid, v[i].fd };
			break;
		}
	}
	return 0;
}

/* Process pid of the tree has what cannot be checkpointed: it fails,
 * naming it. */
static int fail_pid(struct rt_dump_result *res, const char *what, int pid, const char *why)
{
	char comm[20];
	struct pp_stat st;

	if (!rt_tree_read_stat(pid, &st, comm))
		comm[0] = '\0';
	rt_tree_fail(res, what, pid, comm, why);
	return -EOPNOTSUPP;
}

/* Descriptor fd of pid is one end of something whose other end is
 * outside the tree. */
static int fail_fd(struct rt_dump_result *res, const char *what, int pid, int fd, const char *kind,
		   uint64_t id)
{
	char why[128], *p = rt_stpcpy(why, "fd ");

	p = rt_fmt_i64(p, fd);
	p = rt_stpcpy(rt_stpcpy(p, ": the other end of "), kind);
	rt_stpcpy(rt_fmt_u64(rt_stpcpy(p, ":["), id), "] is outside the tree");
	return fail_pid(res, what, pid, why);
}

/*
 * A connection through a named listener between two processes of the
 * tree: each member dumps its end as such (fd_unix.c), and only here is
 * it known whether the other end, or the listener a connection waits in,
 * is in the tree.
 */
static int check_connections(struct fd_dump_ctx *dctx, const struct open_pipe *v, int n,
			     const struct unix_graph *tree, struct rt_dump_result *res)
{
	uint64_t *links = rt_alloc(sizeof(*links) * 1024);

	if (!links)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		int nl = v[i].sock ? fd_unix_tree_links(dctx, v[i].id, links, 1024) : 0;

		for (int j = 0; j < nl; j++)
			if (!unix_graph_find(tree, links[j], NULL))
				return fail_fd(res, "unix connections between processes", v[i].pid,
					       v[i].fd, "socket", v[i].id);
	}
	return 0;
}

/*
 * A socketpair made before a fork may have one half in each process:
 * each member dumps its half as such (fd_unix.c), and only here is it
 * known whether the other half is in the tree.
 */
static int check_pairs(const struct open_pipe *v, int n, struct rt_dump_result *res)
{
	struct fd_dump_ctx dctx = { 0 };
	/* The tree's sockets, by inode. */
	struct unix_graph tree = { rt_alloc(sizeof(*tree.v) * (size_t)(n + 1)), 0 };

	if (!tree.v)
		return -ENOMEM;
	for (int i = 0; i < n; i++)
		if (v[i].sock)
			tree.v[tree.n++] = (struct unix_node){ .ino = v[i].id };
	unix_graph_index(&tree);
	for (int i = 0; i < n; i++) {
		uint64_t peer;

		if (v[i].sock && (peer = fd_unix_pair_peer(&dctx, v[i].id)) &&
		    !unix_graph_find(&tree, peer, NULL))
			return fail_fd(res, "socketpairs between processes", v[i].pid, v[i].fd,
				       "socket", v[i].id);
	}
	return check_connections(&dctx, v, n, &tree, res);
}

/*
 * A pipe whose every write end is closed reads its bytes, then EOF (make
 * gives its jobs such a pipe as stdin; gcc -pipe's cc1 may exit before as
 * has read all it wrote): the restore is the same, since crload closes its
 * scratch write end once it has put the bytes back. Whether a writer is
 * left anywhere, in the tree or outside: poll says POLLHUP only when there
 * is none, with or without bytes in the pipe, and takes none of them. A
 * pipe opened through /proc is opened anew, but an anonymous pipe's new
 * reader sees the hang-up of writers gone before it (fifo_open).
 */
static bool no_writers(int pid, int fd)
{
	char path[64];
	struct pollfd pfd = { .events = POLLIN };
	long r;

	rt_fmt_i64(rt_stpcpy(rt_fmt_i64(rt_stpcpy(path, "/proc/"), pid), "/fd/"), fd);
	pfd.fd = (int)sc_sys4(__NR_openat, AT_FDCWD, path, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);
	if (pfd.fd < 0)
		return false;
	r = sc_sys3(__NR_poll, &pfd, 1, 0);
	sc_sys1(__NR_close, pfd.fd);
	return r == 1 && (pfd.revents & POLLHUP);
}

/*
 * The tree's pipe ends by pipe, each process numbered in the order it was
 * scanned (v holds each process's descriptors together, in ascending
 * order): a pipe's first holder is the first of its nodes.
 */
static int index_pipes(const struct open_pipe *v, int n, struct tree_descs *t)
{
	uint32_t owner = 0;

	t->n = 0;
	t->v = rt_alloc(sizeof(*t->v) * (size_t)(n + 1));
	if (!t->v)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		owner += i && v[i].pid != v[i - 1].pid;
		if (!v[i].path && !v[i].sock)
			t->v[t->n++] = (struct tree_desc){ .kind = TREE_PIPE_END,
							   .id = v[i].id,
							   .data = &v[i],
							   .owner = owner,
							   .pid = v[i].pid,
							   .fd = v[i].fd };
	}
	tree_descs_index(t);
	return 0;
}

/*
 * A pipe held by several processes has the same bytes in each (all are
 * frozen): the first holder seen (the root before the members) stores
 * them, the others point to it. Past KEPT_MAX pipes, each holder stores
 * them, as a process alone does.
 */
static void keep_pipes(const struct open_pipe *v, int n, const struct tree_descs *t)
{
	for (int i = 0; i < n && scan.nkept < KEPT_MAX; i++)
		if (!v[i].path && !v[i].sock &&
		    tree_descs_find(t, TREE_PIPE_END, v[i].id, NULL)->data == &v[i] &&
		    tree_descs_holders(t, TREE_PIPE_END, v[i].id) > 1)
			scan.kept[scan.nkept++] = (struct rt_pipe_keeper){ v[i].id, v[i].pid, 0 };
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
static int check_pipes(const int *pids, int npids, struct rt_dump_result *res)
{
	const uint8_t both = 1U << O_RDONLY | 1U << O_WRONLY;
	struct open_pipe *v = rt_alloc(sizeof(*v) * TREE_MAX * 4);
	struct tree_descs t;
	int n = 0, err = 0;

	scan.nstd = scan.nkept = 0;
	scan.std_pipes = rt_alloc(sizeof(*scan.std_pipes) * STD_PIPES_MAX);
	scan.kept = rt_alloc(sizeof(*scan.kept) * KEPT_MAX);
	if (!v || !scan.std_pipes || !scan.kept)
		return -ENOMEM;
	for (int i = 0; i < npids && !err; i++)
		err = scan_fds(pids[i], v, &n, TREE_MAX * 4);
	if (!err)
		err = find_shared_descs(v, n);
	if (!err)
		err = index_pipes(v, n, &t);
	if (err) {
		res->what = "looking at the pipes between processes";
		return err;
	}
	for (int i = 0; i < n; i++) {
		const struct tree_desc *d;
		uint8_t ends = 0;
		size_t count;

		if (v[i].path || v[i].sock)
			continue;
		d = tree_descs_find(&t, TREE_PIPE_END, v[i].id, &count);
		for (size_t k = 0; k < count; k++)
			ends |= ((const struct open_pipe *)d[k].data)->ends;
		if (ends == 1U << O_RDONLY && no_writers(v[i].pid, v[i].fd))
			ends = both;
		if ((ends & both) != both && v[i].fd > 2)
			return fail_fd(res, "pipes between processes", v[i].pid, v[i].fd, "pipe",
				       v[i].id);
		if ((ends & both) != both || v[i].fd > 2 || rt_tree_std_pipe(v[i].id))
			continue;
		if (scan.nstd == STD_PIPES_MAX) {
			res->what = "looking at the pipes between processes";
			return -E2BIG;
		}
		scan.std_pipes[scan.nstd++] = v[i].id;
	}
	keep_pipes(v, n, &t);
	return check_pairs(v, n, res);
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
static int check_sysv(const int *pids, int npids, struct rt_dump_result *res)
{
	struct sysv_use *u = rt_alloc(sizeof(*u) * 1024);
	size_t len, pos = 0, ll;
	const char *line;
	char *buf;
	int n = 0, err = 0;

	if (!u)
		return -ENOMEM;
	for (int i = 0; i < npids && !err; i++)
		err = count_sysv(pids[i], u, &n, 1024);
	if (!err && n && !(buf = rt_read_file("/proc/sysvipc/shm", &len)))
		err = -EIO;
	if (err) {
		res->what = "looking at SysV shared memory";
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
			return fail_pid(res, "SysV shared memory", u[i].pid, why);
		}
	}
	return 0;
}

int rt_tree_scan(const int *pids, int npids, struct rt_dump_result *res)
{
	int err = check_sysv(pids, npids, res);

	scan.nstd = scan.nkept = scan.ndescs = 0;
	/* One process alone: its pipes are fd_pipe.c's to check. */
	return err || npids < 2 ? err : check_pipes(pids, npids, res);
}

int rt_tree_std_pipes(const uint64_t **ids)
{
	*ids = scan.std_pipes;
	return scan.nstd;
}

int rt_tree_kept_pipes(const struct rt_pipe_keeper **kept)
{
	*kept = scan.kept;
	return scan.nkept;
}

int rt_tree_set_kept_pipes(const struct rt_pipe_keeper *kept, int n)
{
	scan.kept = rt_alloc(sizeof(*scan.kept) * (size_t)(n + 1));
	if (!scan.kept)
		return -ENOMEM;
	memcpy(scan.kept, kept, sizeof(*kept) * (size_t)n);
	scan.nkept = n;
	return 0;
}

int rt_tree_pipe_keeper(uint64_t id)
{
	for (int i = 0; i < scan.nkept; i++)
		if (scan.kept[i].id == id)
			return scan.kept[i].pid;
	return 0;
}

int rt_tree_set_std_pipes(const uint64_t *ids, int n)
{
	scan.std_pipes = rt_alloc(sizeof(*scan.std_pipes) * (size_t)(n + 1));
	if (!scan.std_pipes)
		return -ENOMEM;
	memcpy(scan.std_pipes, ids, sizeof(*ids) * (size_t)n);
	scan.nstd = n;
	return 0;
}

int rt_tree_attach_descs(Sc__ProcEntry *pe)
{
	for (int i = 0; i < scan.ndescs; i++) {
		Sc__SharedDesc *d;

		if (scan.descs[i].pid != pe->pid)
			continue;
		if (!pe->shared &&
		    !(pe->shared = rt_alloc(sizeof(*pe->shared) * (size_t)scan.ndescs)))
			return -ENOMEM;
		d = rt_alloc(sizeof(*d));
		if (!d)
			return -ENOMEM;
		sc__shared_desc__init(d);
		d->fd = scan.descs[i].fd;
		d->same_pid = scan.descs[i].same_pid;
		d->same_fd = scan.descs[i].same_fd;
		pe->shared[pe->n_shared++] = d;
	}
	return 0;
}
