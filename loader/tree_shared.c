// SPDX-License-Identifier: MIT
/*
 * Descriptions shared across a restored tree (doc/trees.md): pipes held by
 * more than one process, socketpairs and connected unix sockets whose ends
 * are in different processes, pty pairs split between processes, regular
 * files opened once and inherited. crload, the common ancestor of all,
 * makes each once before it forks (tree_make_shared,
 * tree_open_shared_descs); every process then finds its own among them by
 * number (tree_shared_desc) as it restores its descriptors.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd_restore.h"
#include "restore.h"
#include "tree_descs.h"
#include "unix_graph.h"

int tree_make_shared(struct restore_ctx *ctx, char *err)
{
	const struct sc_image *img = ctx->img;
	struct tree_descs t = { 0 };

	/* One process shares no pipe with another. */
	if (img->nprocs > 1 && sc_image_tree_descs(img, &t)) {
		sc_err(err, "out of memory");
		return -1;
	}
	for (size_t i = 0; img->nprocs > 1 && i < img->nprocs; i++) {
		const Sc__Fds *fds = img->procs[i].fds;

		for (size_t k = 0; k < fds->n_pipes; k++) {
			const Sc__Pipe *sp = tree_descs_pipe_bytes(&t, fds->pipes[k]);
			struct fd_restore_pipe *more;

			/* Made once, when its first holder's record is met. */
			if (tree_descs_find(&t, TREE_PIPE, sp->id, NULL)->owner != i ||
			    tree_descs_holders(&t, TREE_PIPE_END, sp->id) < 2)
				continue;
			more = realloc(ctx->shared, (ctx->nshared + 1) * sizeof(*more));
			if (!more) {
				sc_err(err, "pipe:[%llu]: out of memory",
				       (unsigned long long)sp->id);
				goto fail;
			}
			ctx->shared = more;
			more[ctx->nshared].id = sp->id;
			if (fd_pipe_make(sp, 0, more[ctx->nshared].ends, err))
				goto fail;
			ctx->nshared++;
		}
	}
	free(t.v);
	return 0;
fail:
	free(t.v);
	return -1;
}

static int add_desc(struct restore_ctx *ctx, int pid, int fd, int *holder)
{
	struct shared_desc *more = realloc(ctx->descs, (ctx->ndescs + 1) * sizeof(*more));

	if (!more)
		return -1;
	ctx->descs = more;
	ctx->descs[ctx->ndescs++] = (struct shared_desc){ pid, fd, holder };
	return 0;
}

/* A socketpair half whose other half is in the image (perhaps in
 * another process): the pair is made by crload. */
static bool is_pair_half(const Sc__Fd *f)
{
	return f->kind == SC__FD_KIND__UNIX && !f->has_dup_of && f->peer_ino && unix_fd_is_pair(f);
}

/* How many processes hold socketpair half ino (the image reader lets
 * none hold it twice); *rec: one's record of it. */
static size_t half_holders(const struct unix_graph *h, uint64_t ino, const Sc__Fd **rec)
{
	size_t count;
	const struct unix_node *n = unix_graph_find(h, ino, &count);

	if (count)
		*rec = n[count - 1].data;
	return count;
}

struct pair_half {
	uint64_t ino;
	int *holder;
};

/*
 * A socketpair whose halves are in different processes, or a half held by
 * more than one, is made once by crload and every holder takes a copy:
 * what one sends, the other receives.
 */
static int share_pairs(struct restore_ctx *ctx, struct pair_half *made, char *err)
{
	const struct sc_image *img = ctx->img;
	size_t nmade = 0;
	struct unix_graph h;
	int ret = -1;

	/* Every socketpair half of the image, by inode and process: looked
	 * up for each half, so scanning every descriptor each time made the
	 * restore of thousands quadratic (80 ms of 160 for 4000 halves). */
	if (sc_image_unix_graph(img, is_pair_half, &h)) {
		sc_err(err, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < img->nprocs; i++)
		for (size_t k = 0; k < img->procs[i].fds->n_fds; k++) {
			const Sc__Fd *f = img->procs[i].fds->fds[k], *me, *peer = NULL;
			int *holder = NULL;

			if (!is_pair_half(f) ||
			    (!f->peer_in_tree && half_holders(&h, f->sock_ino, &me) < 2 &&
			     half_holders(&h, f->peer_ino, &peer) < 2))
				continue;
			for (size_t j = 0; j < nmade && !holder; j++)
				if (made[j].ino == f->sock_ino)
					holder = made[j].holder;
			if (!holder) {
				int *sv = &ctx->desc_fds[ctx->ndesc_fds];

				if (!half_holders(&h, f->peer_ino, &peer) ||
				    fd_unix_make_pair(f, peer, sv, err))
					goto out;
				ctx->ndesc_fds += 2;
				made[nmade++] = (struct pair_half){ f->sock_ino, &sv[0] };
				made[nmade++] = (struct pair_half){ f->peer_ino, &sv[1] };
				holder = &sv[0];
			}
			if (add_desc(ctx, img->procs[i].pid, f->fd, holder)) {
				sc_err(err, "out of memory");
				goto out;
			}
		}
	ret = 0;
out:
	free(h.v);
	return ret;
}

/*
 * A pty whose master and slave are held by different processes of the
 * tree is made by crload: the master goes to its holder, and every
 * descriptor of any process on the pair's slave shares the one slave
 * description (doc/terminals.md). A descriptor of another process on the
 * slave is a terminal it got from the master's (mpirun gives each rank a
 * pty for its output).
 */
static int share_ptys(struct restore_ctx *ctx, char *err)
{
	const struct sc_image *img = ctx->img;
	struct tree_descs t;
	int ret = -1;

	/* One process shares no pty with another. */
	if (img->nprocs < 2)
		return 0;
	if (sc_image_tree_descs(img, &t))
		goto nomem;
	for (size_t i = 0; i < img->nprocs; i++)
		for (size_t k = 0; k < img->procs[i].fds->n_fds; k++) {
			const Sc__Fd *m = img->procs[i].fds->fds[k];
			const struct tree_desc *s, *slave;
			int *sv = &ctx->desc_fds[ctx->ndesc_fds];
			size_t count;

			if (m->kind != SC__FD_KIND__PTY_MASTER || m->has_dup_of ||
			    !(s = tree_descs_elsewhere(&t, TREE_PTY_SLAVE, m->pty_id, (uint32_t)i)))
				continue;
			if (fd_pty_make_tree_pair(m, s->data, sv, err))
				goto out;
			ctx->ndesc_fds += 2;
			if (add_desc(ctx, img->procs[i].pid, m->fd, &sv[0]))
				goto nomem;
			slave = tree_descs_find(&t, TREE_PTY_SLAVE, m->pty_id, &count);
			for (size_t j = 0; j < count; j++)
				if (!((const Sc__Fd *)slave[j].data)->has_dup_of &&
				    add_desc(ctx, slave[j].pid, slave[j].fd, &sv[1]))
					goto nomem;
		}
	ret = 0;
	goto out;
nomem:
	sc_err(err, "out of memory");
out:
	free(t.v);
	return ret;
}

/* A unix socket of the image other than a socketpair's half. */
struct named_sock {
	const struct unix_node *holders; /* its nodes, one per holder, the first first */
	size_t nholders;
	bool shared; /* made by crload */
};

/* c is a connection through listener l: its client, or accepted on it. */
static bool through(const Sc__Fd *l, const Sc__Fd *c)
{
	const Sc__UnixSocket *cu = c->unix_sock;
	const ProtobufCBinaryData *n = cu->accepted ? &cu->name : &cu->peer_name;
	bool has = cu->accepted ? cu->has_name : cu->has_peer_name;

	return cu->state == SC__UNIX_SOCKET__STATE__CONNECTED && has &&
	       unix_fd_listens_on(l, c->sock_type, n);
}

static bool joined(const Sc__Fd *a, const Sc__Fd *b)
{
	return (a->peer_ino && a->peer_ino == b->sock_ino) ||
	       (b->peer_ino && b->peer_ino == a->sock_ino) || through(a, b) || through(b, a);
}

/* A stream or seqpacket socket that is no socketpair's half. */
static bool named_stream(const Sc__Fd *f)
{
	return f->sock_type != SOCK_DGRAM && !is_pair_half(f);
}

/* The record of named socket s's first holder. */
static const Sc__Fd *first_rec(const struct named_sock *s)
{
	return s->holders->data;
}

/*
 * Stream and seqpacket unix sockets between processes (doc/trees.md): a
 * listener or connection held by more than one process, a connection
 * whose ends are in different processes, and with them every socket
 * joined to those (the listener a connection came through, the other
 * connections through it, their peers) are made by crload once, through
 * the same code as one process's (connections made again through their
 * listener), and every holder takes a copy.
 */
static int share_named(struct restore_ctx *ctx, char *err)
{
	const struct sc_image *img = ctx->img;
	struct unix_graph g = { 0 };
	struct named_sock *v = NULL, *first = NULL;
	const Sc__Fd **list = NULL;
	size_t n = 0, nshared = 0;
	bool more = true;
	int ret = -1, here = -1;

	if (sc_image_unix_graph(img, named_stream, &g) || !(v = malloc((g.n + 1) * sizeof(*v))) ||
	    !(list = calloc(g.n + 1, sizeof(*list))))
		goto nomem;
	for (size_t i = 0; i < g.n; i += v[n++].nholders) {
		v[n].holders = unix_graph_find(&g, g.v[i].ino, &v[n].nholders);
		v[n].shared = v[n].nholders > 1 || first_rec(&v[n])->peer_in_tree;
	}
	while (more) {
		more = false;
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < n && v[i].shared; j++)
				if (!v[j].shared && joined(first_rec(&v[i]), first_rec(&v[j])))
					more = v[j].shared = true;
	}

	Sc__Fds fds = SC__FDS__INIT;
	struct fd_restore_ctx rc = { .fds = &fds, .scratch_min = 3, .img = img };

	for (size_t i = 0; i < n; i++) {
		if (!v[i].shared)
			continue;
		list[nshared++] = first_rec(&v[i]);
		/* Relative names resolve from the directory of the first
		 * holder of the first socket, in the image's order. */
		if (!first || v[i].holders->owner < first->holders->owner ||
		    (v[i].holders->owner == first->holders->owner &&
		     first_rec(&v[i])->fd < first_rec(first)->fd))
			first = &v[i];
	}
	rc.cwd = first ? img->procs[first->holders->owner].core->cwd : NULL;
	fds.fds = (Sc__Fd **)list;
	fds.n_fds = nshared;
	here = nshared ? open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (nshared && here < 0) {
		sc_err(err, "crload's working directory: %s", strerror(errno));
		goto out;
	}
	for (size_t i = 0, s = 0; i < n; i++) {
		int *holder = &ctx->desc_fds[ctx->ndesc_fds];

		if (!v[i].shared)
			continue;
		*holder = fd_restore_owned(&rc, list[s++], err);
		if (*holder < 0)
			goto out;
		ctx->ndesc_fds++;
		for (size_t h = 0; h < v[i].nholders; h++) {
			const Sc__Fd *f = v[i].holders[h].data;

			if (add_desc(ctx, img->procs[v[i].holders[h].owner].pid, f->fd, holder)) {
				sc_err(err, "out of memory");
				goto out;
			}
		}
	}
	ret = 0;
out:
	fd_restore_release(&rc);
	if (here >= 0 && (fchdir(here) || close(here)) && !ret) {
		sc_err(err, "crload's working directory: %s", strerror(errno));
		ret = -1;
	}
	free(list);
	free(v);
	free(g.v);
	return ret;
nomem:
	free(list);
	free(v);
	free(g.v);
	sc_err(err, "out of memory");
	return -1;
}

/* Kinds whose description crload opens once for all its holders: files
 * reopened by path, and memfds and unlinked files made again from their
 * contents (so that their holders share one file, and its pages). */
static bool opened_once(const Sc__Fd *f)
{
	return !f->has_dup_of && (f->kind == SC__FD_KIND__REG || f->kind == SC__FD_KIND__MEMFD ||
				  f->kind == SC__FD_KIND__GHOST);
}

/*
 * Descriptors the image takes from crload's own (--inherit-fd): one copy
 * of each of crload's, shared by all its holders, as a batch job's
 * processes share the output file the batch system opened.
 */
static int share_inherited(struct restore_ctx *ctx, char *err)
{
	const struct fd_inherits *in = ctx->inherits;
	const struct sc_image *img = ctx->img;
	/* Per --inherit-fd, its copy once a descriptor takes it. */
	int **copy = in && in->n ? calloc(in->n, sizeof(*copy)) : NULL;
	int ret = 0;

	if (!copy)
		return 0;
	for (size_t i = 0; i < img->nprocs && !ret; i++) {
		for (size_t k = 0; k < img->procs[i].fds->n_fds && !ret; k++) {
			const Sc__Fd *f = img->procs[i].fds->fds[k];
			int which = fd_inherit_index(in, f);

			if (which < 0)
				continue;
			if (!copy[which]) {
				int fd = fcntl(in->v[which].fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);

				if (fd < 0) {
					sc_err(err, "--inherit-fd %d: %s", in->v[which].fd,
					       strerror(errno));
					ret = -1;
					break;
				}
				copy[which] = &ctx->desc_fds[ctx->ndesc_fds++];
				*copy[which] = fd;
			}
			if (add_desc(ctx, img->procs[i].pid, f->fd, copy[which])) {
				sc_err(err, "out of memory");
				ret = -1;
			}
		}
	}
	free(copy);
	return ret;
}

/*
 * Each group of holders of one description is opened once, from its first
 * holder's entry, and every holder takes a copy: the offset stays shared.
 * Other kinds stay per process.
 */
int tree_open_shared_descs(struct restore_ctx *ctx, char *err)
{
	const Sc__Inventory *inv = ctx->img->inv;
	size_t n = 0;

	/* Made in crload, where no other descriptor of the image exists. */
	Sc__Fds none = SC__FDS__INIT;
	struct fd_restore_ctx alone = { .fds = &none, .scratch_min = 3, .img = ctx->img };
	struct pair_half *made;
	int ret;

	for (size_t i = 0; i < inv->n_procs; i++)
		n += inv->procs[i]->n_shared;
	for (size_t i = 0; i < ctx->img->nprocs; i++)
		n += ctx->img->procs[i].fds->n_fds; /* socketpair halves, at most */
	if (ctx->inherits)
		n += ctx->inherits->n;
	ctx->desc_fds = calloc(n + 1, sizeof(int));
	if (!ctx->desc_fds)
		goto nomem;
	/* First: a description crload gives is never opened by path. */
	if (share_inherited(ctx, err))
		return -1;
	for (size_t i = 0; i < inv->n_procs; i++) {
		const Sc__ProcEntry *pe = inv->procs[i];

		for (size_t k = 0; k < pe->n_shared; k++) {
			const Sc__SharedDesc *d = pe->shared[k];
			const Sc__Fd *first = sc_image_fd(ctx->img, d->same_pid, d->same_fd);
			const Sc__Fd *mine = sc_image_fd(ctx->img, pe->pid, d->fd);
			int *holder = NULL;

			if (!opened_once(first) || !opened_once(mine))
				continue;
			for (size_t j = 0; j < ctx->ndescs; j++)
				if (ctx->descs[j].pid == d->same_pid &&
				    ctx->descs[j].fd == d->same_fd)
					holder = ctx->descs[j].holder;
			if (!holder) {
				holder = &ctx->desc_fds[ctx->ndesc_fds];
				*holder = fd_restore_owned(&alone, first, err);
				if (*holder < 0)
					return -1;
				ctx->ndesc_fds++;
				if (add_desc(ctx, d->same_pid, d->same_fd, holder))
					goto nomem;
			}
			if (add_desc(ctx, pe->pid, d->fd, holder))
				goto nomem;
		}
	}
	made = calloc(n + 1, sizeof(*made));
	if (!made)
		goto nomem;
	ret = share_pairs(ctx, made, err);
	free(made);
	if (!ret)
		ret = share_named(ctx, err);
	return ret ? ret : share_ptys(ctx, err);
nomem:
	sc_err(err, "out of memory");
	return -1;
}

int tree_shared_desc(const struct restore_ctx *ctx, int fd)
{
	for (size_t i = 0; i < ctx->ndescs; i++)
		if (ctx->descs[i].pid == ctx->p->pid && ctx->descs[i].fd == fd)
			return *ctx->descs[i].holder;
	return -1;
}
