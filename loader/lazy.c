// SPDX-License-Identifier: MIT
/*
 * crload --lazy (doc/lazy-restore.md): the processes of a tree run again
 * before their private anonymous memory is filled. Each one's restorer
 * registers those ranges with a userfaultfd of its own and sends it here,
 * over a socket of its own; one page server, forked by crload, serves
 * what every process touches as it touches it and fills the rest in the
 * background, and a watchdog beside it holds the userfaultfds too and
 * kills the tree if the server dies before every page is in, so that no
 * untouched page ever reads as zero.
 *
 * What the server knows of each address space (each restored process's,
 * and every child one forks while pages are missing) is the list of its
 * pending spans: address ranges not filled yet, each with the address its
 * pages had in the image, whose pages files they come from. The kernel tells every change of the map (a range
 * dropped, unmapped, moved, or a fork) as an event, read before any fill
 * it could race with: a fill that could race fails with EAGAIN until
 * then.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "grow.h"
#include "lazy_server.h"
#include "procparse.h"
#include "restore.h"

/* After a fault the background goes on from there while it finds pages
 * pending this close ahead: a program that works through its memory in
 * order finds them in. */
#define LAZY_AHEAD (16UL << 20)
/* Served around a faulting page, aligned: the program's next touches are
 * likely near it. */
#define LAZY_AROUND (256UL << 10)
/* Handed to the second filler at once: it fills a batch at a time, and
 * the server reads the kernel's messages between batches. */
#define LAZY_JOB (8 * LAZY_BATCH)
/* What the restorer asks of the kernel, as the restorer does. */
#define LAZY_FEATURES                                                                              \
	(UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP | UFFD_FEATURE_EVENT_REMOVE |          \
	 UFFD_FEATURE_EVENT_UNMAP)
#define PAGE SC_PAGE_SIZE

bool lazy_vma(const struct sc_proc_img *p, const Sc__Vma *v)
{
	size_t i;

	/* Private anonymous only: what userfaultfd's missing mode serves.
	 * Wiped on fork, a child must read zeros there, not the image. */
	if (v->kind != SC__VMA_KIND__ANON_PRIVATE ||
	    (v->prot & (PROT_READ | PROT_WRITE)) != (PROT_READ | PROT_WRITE) ||
	    (v->has_madv &&
	     (v->madv & (SC__VMA_MADV__VMA_MADV_WIPEONFORK | SC__VMA_MADV__VMA_MADV_DONTFORK))))
		return false;
	i = sc_run_after(p, v->start);
	return i < p->nruns && p->runs[i].vaddr < v->end;
}

/* Without CAP_SYS_PTRACE a process gets a userfaultfd (if the sysctl
 * allows it at all) that tells it of no fork, whether made with
 * userfaultfd(2) or through /dev/userfaultfd: a child forked while pages
 * are missing would read zeros there. */
#define LAZY_NEEDS_PTRACE                                                                          \
	"the kernel tells a userfaultfd of forks only where the process has CAP_SYS_PTRACE, "      \
	"and a child forked while pages were missing would read zeros"

bool lazy_preflight(const struct sc_image *img, const struct pid_plan *plan, bool verbose)
{
	struct uffdio_api api = { .api = UFFD_API, .features = LAZY_FEATURES };
	const char *why = NULL;
	int fd = -1;

	/* A pid namespace alone (a pid is taken, crload is root) changes
	 * nothing here; a user namespace means crload is unprivileged, and
	 * the restored processes have no capability outside it. */
	if (plan->user_ns)
		why = "crload is unprivileged: " LAZY_NEEDS_PTRACE;
	else if ((fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK)) < 0)
		why = errno == EPERM ? "crload lacks CAP_SYS_PTRACE: " LAZY_NEEDS_PTRACE
				     : "this kernel has no userfaultfd";
	else if (ioctl(fd, UFFDIO_API, &api))
		why = errno == EPERM
			      ? LAZY_NEEDS_PTRACE
			      : "this kernel's userfaultfd cannot tell forks, moves and unmaps";
	if (fd >= 0)
		close(fd);
	if (why) {
		fprintf(stderr, "crload: %s: --lazy: %s: restored eagerly\n", img->dir, why);
		return false;
	}
	if (verbose)
		fprintf(stderr, "crload: --lazy: anonymous memory is served as it is touched\n");
	return true;
}

/*
 * One socket per process rather than one the tree shares: each end says
 * whose userfaultfd comes through it, and a restorer that has nothing
 * lazy, or a process that failed or is a zombie, is told by its end
 * closing, with no count of who is still to speak.
 */
int lazy_sockets(struct restore_ctx *ctx, char *err)
{
	size_t n = ctx->img->nprocs;

	ctx->lazy_fds = malloc(n * sizeof(int));
	ctx->lazy_rds = malloc(n * sizeof(int));
	if (!ctx->lazy_fds || !ctx->lazy_rds)
		return sc_err(err, "out of memory");
	for (size_t i = 0; i < n; i++) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
			return sc_err(err, "socketpair: %s", strerror(errno));
		ctx->lazy_fds[i] = sv[0];
		ctx->lazy_rds[i] = sv[1];
	}
	return 0;
}

/* A byte and up to two descriptors from sock: the byte count, the
 * descriptors in fds (-1 where none came). */
static ssize_t recv_fds(int sock, char *byte, int fds[2])
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} u;
	struct iovec iov = { byte, 1 };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm;
	ssize_t n;

	fds[0] = fds[1] = -1;
	while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	cm = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
		memcpy(fds, CMSG_DATA(cm),
		       cm->cmsg_len >= CMSG_LEN(2 * sizeof(int)) ? 2 * sizeof(int) : sizeof(int));
	return n;
}

/* A byte, and the descriptor fd unless it is -1. */
static int send_fd(int sock, char byte, int fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof(u.buf);
		CMSG_FIRSTHDR(&msg)->cmsg_level = SOL_SOCKET;
		CMSG_FIRSTHDR(&msg)->cmsg_type = SCM_RIGHTS;
		CMSG_FIRSTHDR(&msg)->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(CMSG_FIRSTHDR(&msg)), &fd, sizeof(fd));
	}
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

/* One userfaultfd: a restored process's, or a child's one forked. */
struct space {
	size_t src; /* whose image its pages come from */
	int fd; /* -1 once its process is gone */
	struct spans pend; /* its private memory's */
	struct spans views; /* where it maps shared objects */
	double enoent; /* since when a pending page has been unmapped, or 0 */
};

/* A fault waiting to be served: the space's index and the address. */
struct fault {
	size_t sp;
	uint64_t addr;
};

/* Where the background starts in space sp. */
struct hint {
	size_t sp;
	uint64_t start, end;
};

struct server {
	struct source *src; /* the restored processes, in the image's order */
	size_t nsrc;
	size_t cur; /* the source worked on last, named if it fails */
	struct space *sp; /* the first nsrc are the sources' own */
	size_t nsp;
	struct fault *f;
	size_t nf, fcap;
	struct hint *hint; /* in order */
	size_t nhint, hintcap, next_hint;
	/* Where the last fault's pages end, for the background to go on
	 * from: a space's index and an address; near_sp SIZE_MAX: none. */
	size_t near_sp;
	uint64_t near;
	int watch; /* the watchdog's socket */
	struct filler own; /* the server's own reading */
	/* The second filler, if it could be started, and the job handed to
	 * it: out of space job_sp's pending list until it is taken back. */
	struct helper *helper;
	struct fill_job job;
	size_t job_sp;
	bool job_out;
	struct shared_objs objs; /* anonymous shared memory, pending per object */
	uint64_t on_faults, in_background, shared; /* bytes placed, shared ones too */
	char err[SC_ERR_LEN];
};

/* [a, b) of space sp, pending and from source from's image at src,
 * placed by the server itself; what is in stops being pending. */
static enum placed fill_space(struct server *s, struct space *sp, size_t from, uint64_t a,
			      uint64_t b, uint64_t src)
{
	uint64_t done = 0;
	enum placed got;

	s->cur = from;
	got = fill(&s->own, sp->fd, &sp->enoent, &s->src[from], a, b, src, &done);
	if (done && span_cut(&sp->pend, a, a + done)) {
		sc_err(s->err, "out of memory");
		return FATAL;
	}
	return got;
}

/* The space gone with its process (exit, exec): nothing more for it. */
static void space_gone(struct space *sp)
{
	close(sp->fd);
	sp->fd = -1;
	sp->pend.n = 0;
	sp->views.n = 0;
}

/*
 * The second filler's job taken back, held, once it is filled, or at
 * once with withdraw: what it placed is in, the rest pending again in
 * its space, unless the space went meanwhile. 0, or -1 with s->err set.
 */
static int settle_job(struct server *s, bool withdraw)
{
	struct fill_job *j = &s->job;
	struct space *sp = &s->sp[s->job_sp];
	uint64_t rest;

	if (!s->job_out || !helper_take(s->helper, j, withdraw))
		return 0;
	s->job_out = false;
	close(j->fd);
	s->in_background += j->done;
	if (sp->fd < 0)
		return 0;
	sp->enoent = j->enoent;
	rest = j->a + j->done;
	switch (j->got) {
	case PLACED:
		return 0;
	case GONE:
		space_gone(sp);
		return 0;
	case FATAL:
		s->cur = sp->src;
		return sc_err(s->err, "%s", j->err);
	case RETRY:
		break;
	}
	/* Taken back with every batch filled, it has nothing left. */
	if (rest < j->b && span_insert(&sp->pend, span_after(&sp->pend, rest),
				       (struct span){ rest, j->b, j->src + j->done, sp->src }))
		return sc_err(s->err, "out of memory");
	return 0;
}

/* [a, b) of space k, pending from src of its image, handed to the
 * second filler, out of the pending list until it is taken back. */
static enum placed give_job(struct server *s, size_t k, uint64_t a, uint64_t b, uint64_t src)
{
	struct space *sp = &s->sp[k];
	int fd = fcntl(sp->fd, F_DUPFD_CLOEXEC, 0);

	/* Out of descriptors the server fills the range itself. */
	if (fd < 0)
		return fill_space(s, sp, sp->src, a, b, src);
	if (span_cut(&sp->pend, a, b)) {
		close(fd);
		sc_err(s->err, "out of memory");
		return FATAL;
	}
	s->job = (struct fill_job){
		.fd = fd, .so = &s->src[sp->src], .a = a, .b = b, .src = src, .enoent = sp->enoent
	};
	s->job_sp = k;
	s->job_out = true;
	helper_give(s->helper, &s->job);
	return PLACED;
}

/* Whether a fault at addr of space k falls in the second filler's job:
 * it waits until the job is taken back. */
static bool in_job(const struct server *s, size_t k, uint64_t addr)
{
	return s->job_out && s->job_sp == k && s->job.a <= addr && addr < s->job.b;
}

/* A pending piece of [a, b) in space k, at most LAZY_BATCH long, filled,
 * or handed to the second filler where give; false when none of it is
 * pending. */
static bool fill_within(struct server *s, size_t k, uint64_t a, uint64_t b, bool give,
			enum placed *got)
{
	struct space *sp = &s->sp[k];
	uint64_t from, to, src;
	size_t i = span_within(&sp->pend, a, b, give ? LAZY_JOB : LAZY_BATCH, &from, &to);

	if (i == SIZE_MAX)
		return false;
	src = sp->pend.s[i].src + (from - sp->pend.s[i].start);
	*got = give ? give_job(s, k, from, to, src) : fill_space(s, sp, sp->src, from, to, src);
	return true;
}

/* A piece of a shared object's pending pages placed through space sp;
 * once all are, they stop being pending in the object, for every process
 * that maps it. */
static enum placed fill_piece(struct server *s, struct space *sp, const struct shared_piece *pc)
{
	enum placed got = fill_space(s, sp, pc->who, pc->addr, pc->addr + pc->len, pc->src);

	if (got != PLACED)
		return got;
	if (span_cut(&s->objs.o[pc->obj].pend, pc->off, pc->off + pc->len)) {
		sc_err(s->err, "out of memory");
		return FATAL;
	}
	s->shared += pc->len;
	return PLACED;
}

/* A pending piece of the shared memory [a, b) of sp maps, at most
 * LAZY_BATCH long, filled; false when none of it is pending. */
static bool fill_shared(struct server *s, struct space *sp, uint64_t a, uint64_t b,
			enum placed *got)
{
	struct shared_piece pc;

	if (!shared_at(&s->objs, &sp->views, a, b, LAZY_BATCH, &pc))
		return false;
	*got = fill_piece(s, sp, &pc);
	return true;
}

/* Bytes pending in sp's private memory and in every shared object. */
static uint64_t pending(const struct server *s, const struct space *sp)
{
	return span_bytes(&sp->pend) + shared_pending(&s->objs);
}

/* A fault: the pending pages around it, or a zero page where nothing is
 * pending any more (dropped by the program), and the thread woken. */
static enum placed serve_fault(struct server *s, const struct fault *f)
{
	struct space *sp = &s->sp[f->sp];
	uint64_t page = f->addr & ~(uint64_t)(PAGE - 1), around = page & ~(LAZY_AROUND - 1);
	struct uffdio_range wake = { page, PAGE };
	uint64_t before = pending(s, sp);
	enum placed got = PLACED;

	if (sp->fd < 0)
		return PLACED;
	if (in_job(s, f->sp, page))
		return RETRY;
	if (fill_within(s, f->sp, page, page + PAGE, false, &got)) {
		if (got == PLACED)
			fill_within(s, f->sp, around, around + LAZY_AROUND, false, &got);
	} else if (fill_shared(s, sp, page, page + PAGE, &got)) {
		if (got == PLACED)
			fill_shared(s, sp, around, around + LAZY_AROUND, &got);
	} else {
		uint64_t done = 0;

		got = place(&s->own, sp->fd, &sp->enoent, page, NULL, PAGE, &done);
	}
	s->on_faults += before - pending(s, sp);
	s->near_sp = f->sp;
	s->near = around + LAZY_AROUND;
	if (got == GONE)
		space_gone(sp);
	else if (got != FATAL)
		ioctl(sp->fd, UFFDIO_WAKE, &wake);
	return got;
}

static int add_fault(struct server *s, size_t sp, uint64_t addr)
{
	if (sc_grow(&s->f, &s->fcap, s->nf, sizeof(*s->f), 64))
		return -1;
	s->f[s->nf++] = (struct fault){ sp, addr };
	return 0;
}

/* A restored process's userfaultfd (from SIZE_MAX: its pending pages
 * are planned next), or a forked child's: its pending pages are its
 * parent's now, served from the same image, and the watchdog holds it
 * too before any is served. */
static int add_space(struct server *s, int fd, size_t from, size_t src)
{
	struct space *ns = realloc(s->sp, (s->nsp + 1) * sizeof(*ns));
	const struct space *parent;
	struct space *sp;

	if (!ns)
		return -1;
	s->sp = ns;
	sp = &s->sp[s->nsp];
	parent = from < s->nsp ? &s->sp[from] : NULL;
	*sp = (struct space){ .src = src, .fd = fd };
	if (parent &&
	    (span_copy(&sp->pend, &parent->pend) || span_copy(&sp->views, &parent->views)))
		return -1;
	s->nsp++;
	return send_fd(s->watch, 'F', fd);
}

/*
 * Every message space k has for us, read and taken in: the changes of
 * the map at once, in order, the faults listed, to be served once every
 * change read so far is in (a fill placed after a change was read but
 * before the kernel made it would undo it). 0, or -1 with s->err set.
 */
static int take_messages(struct server *s, size_t k)
{
	struct uffd_msg m[64];
	ssize_t n;

	s->cur = s->sp[k].src;
	while (s->sp[k].fd >= 0 && (n = read(s->sp[k].fd, m, sizeof(m))) > 0) {
		for (size_t i = 0; i < (size_t)n / sizeof(*m); i++) {
			struct space *sp = &s->sp[k];
			int ret = 0;

			/* The second filler's job taken back before a change. */
			if (m[i].event != UFFD_EVENT_PAGEFAULT && settle_job(s, true))
				return -1;
			switch (m[i].event) {
			case UFFD_EVENT_PAGEFAULT:
				/* Served now, not once the job is done. */
				if (in_job(s, k, m[i].arg.pagefault.address) && settle_job(s, true))
					return -1;
				ret = add_fault(s, k, m[i].arg.pagefault.address);
				break;
			/* Shared memory keeps its contents on MADV_DONTNEED:
			 * its pages stay pending in its object. */
			case UFFD_EVENT_REMOVE:
				ret = span_cut(&sp->pend, m[i].arg.remove.start,
					       m[i].arg.remove.end);
				break;
			case UFFD_EVENT_UNMAP:
				ret = span_cut(&sp->pend, m[i].arg.remove.start,
					       m[i].arg.remove.end) ||
				      span_cut(&sp->views, m[i].arg.remove.start,
					       m[i].arg.remove.end);
				break;
			case UFFD_EVENT_REMAP:
				ret = span_move(&sp->pend, m[i].arg.remap.from, m[i].arg.remap.to,
						m[i].arg.remap.len) ||
				      span_move(&sp->views, m[i].arg.remap.from, m[i].arg.remap.to,
						m[i].arg.remap.len);
				break;
			case UFFD_EVENT_FORK:
				ret = add_space(s, (int)m[i].arg.fork.ufd, k, sp->src);
				break;
			}
			if (ret)
				return sc_err(s->err, "keeping track of the memory: %s",
					      strerror(ENOMEM));
		}
	}
	if (s->sp[k].fd >= 0 && n < 0 && errno != EAGAIN && errno != EINTR)
		return sc_err(s->err, "reading the userfaultfd: %s", strerror(errno));
	return 0;
}

/* The faults listed, served; those that must wait for a change of the
 * map kept. 0, or -1 with s->err set. */
static int serve_faults(struct server *s)
{
	size_t kept = 0;

	for (size_t i = 0; i < s->nf; i++) {
		enum placed got = serve_fault(s, &s->f[i]);

		if (got == FATAL)
			return -1;
		if (got == RETRY)
			s->f[kept++] = s->f[i];
	}
	s->nf = kept;
	return 0;
}

/* A pending piece of [a, b) of space k filled in the background, counted;
 * false when none of it is pending. */
static bool fill_background(struct server *s, size_t k, uint64_t a, uint64_t b, enum placed *got)
{
	struct space *sp = &s->sp[k];
	uint64_t before = pending(s, sp);
	bool give = s->helper && !s->job_out;

	if (sp->fd < 0 || !fill_within(s, k, a, b, give, got))
		return false;
	/* What the second filler places is counted when it is taken back. */
	if (!give || !s->job_out)
		s->in_background += before - pending(s, sp);
	if (*got == GONE)
		space_gone(sp);
	return true;
}

/*
 * A piece of the first shared object with pages pending, filled in the
 * background through a process that maps them; pages no process maps
 * any more are given up: nothing can reach them. Whether it placed
 * anything.
 */
static bool background_shared(struct server *s, enum placed *got)
{
	for (size_t j = 0; j < s->objs.n; j++) {
		struct shared_piece pc;

		for (size_t k = 0; k < s->nsp && s->objs.o[j].pend.n; k++) {
			struct space *sp = &s->sp[k];

			if (sp->fd < 0 || !shared_of(&s->objs, &sp->views, j, LAZY_BATCH, &pc))
				continue;
			*got = fill_piece(s, sp, &pc);
			if (*got == PLACED)
				s->in_background += pc.len;
			else if (*got == GONE)
				space_gone(sp);
			return *got == PLACED;
		}
		s->objs.o[j].pend.n = 0;
	}
	return false;
}

/* One step of the background: the hints first (stacks, the pages the
 * registers point to), then the shared objects (small, and wanted by
 * several processes), then on from the last fault, then the lowest
 * pending pages of each space in turn. Whether it placed anything. */
static bool background(struct server *s, size_t *turn, enum placed *got)
{
	for (; s->next_hint < s->nhint; s->next_hint++) {
		const struct hint *h = &s->hint[s->next_hint];

		if (fill_background(s, h->sp, h->start, h->end, got))
			return *got == PLACED;
	}
	if (background_shared(s, got) || *got != PLACED)
		return *got == PLACED;
	if (s->near_sp != SIZE_MAX) {
		struct space *sp = &s->sp[s->near_sp];
		const struct spans *l = &sp->pend;
		size_t i = span_after(l, s->near);

		if (sp->fd >= 0 && i < l->n && l->s[i].start < s->near + LAZY_AHEAD) {
			uint64_t a = l->s[i].start > s->near ? l->s[i].start : s->near;

			fill_background(s, s->near_sp, a, a + LAZY_JOB, got);
			if (*got == PLACED)
				s->near = a + LAZY_BATCH;
			return *got == PLACED;
		}
		s->near_sp = SIZE_MAX;
	}
	for (size_t k = 0; k < s->nsp; k++) {
		size_t i = (*turn + k) % s->nsp;
		struct space *sp = &s->sp[i];

		if (sp->fd < 0 || !sp->pend.n)
			continue;
		*turn = (i + 1) % s->nsp;
		fill_background(s, i, sp->pend.s[0].start, sp->pend.s[0].start + LAZY_JOB, got);
		return *got == PLACED;
	}
	return false;
}

static bool all_in(const struct server *s)
{
	for (size_t k = 0; k < s->nsp; k++)
		if (s->sp[k].fd >= 0 && s->sp[k].pend.n)
			return false;
	return s->nf == 0 && !s->job_out && !shared_pending(&s->objs);
}

/* A window around addr in space sp, from below it to above it, where the
 * background starts. */
static int add_hint(struct server *s, size_t sp, uint64_t addr, uint64_t below, uint64_t above)
{
	uint64_t a = (addr > below ? addr - below : 0) & ~(uint64_t)(PAGE - 1);

	if (sc_grow(&s->hint, &s->hintcap, s->nhint, sizeof(*s->hint), 64))
		return -1;
	s->hint[s->nhint++] =
		(struct hint){ sp, a, (addr + above + PAGE - 1) & ~(uint64_t)(PAGE - 1) };
	return 0;
}

/* The order the background fills the k-th restored process in: around
 * each thread's stack pointer, then around what its other registers point
 * to, then each stack whole, then the rest in address order. */
static int plan_hints(struct server *s, size_t k)
{
	const Sc__ProcCore *c = s->src[k].p->core;
	const Sc__Mm *mm = s->src[k].p->mm;
	int ret = 0;

	for (size_t i = 0; i < c->n_threads && !ret; i++)
		ret = add_hint(s, k, c->threads[i]->regs->rsp, 256 << 10, 64 << 10);
	for (size_t i = 0; i < c->n_threads && !ret; i++) {
		const Sc__GpRegs *r = c->threads[i]->regs;
		const uint64_t regs[] = { r->rip, r->rbp, r->rdi, r->rsi, r->rdx, r->rcx, r->rax,
					  r->rbx, r->r8,  r->r9,  r->r12, r->r13, r->r14, r->r15 };

		for (size_t j = 0; j < sizeof(regs) / sizeof(regs[0]) && !ret; j++)
			ret = add_hint(s, k, regs[j], 32 << 10, 32 << 10);
	}
	for (size_t i = 0; i < c->n_threads && !ret; i++)
		for (size_t v = 0; v < mm->n_vmas && !ret; v++) {
			uint64_t rsp = c->threads[i]->regs->rsp;

			if (mm->vmas[v]->start <= rsp && rsp < mm->vmas[v]->end)
				ret = add_hint(s, k, mm->vmas[v]->start, 0,
					       mm->vmas[v]->end - mm->vmas[v]->start);
		}
	return ret;
}

/* What crload took from the restored processes, in the image's order:
 * each one's image, userfaultfd and pidfd, and how messages name them. */
struct served {
	const struct sc_proc_img **p;
	int *uffd, *pidfd;
	size_t n;
	char who[64];
	const char *killed; /* what the watchdog or a failing server does */
	/* A pidfd of the init of the pid namespace the tree is in, where the
	 * server and the watchdog are outside it; -1 else. */
	int ns_init;
};

/* The lazy ranges of each restored process: its private ones all pending
 * in its space, its shared ones its views of their objects. */
static int plan_spaces(struct server *s, const struct sc_image *img, const struct served *sv)
{
	for (size_t k = 0; k < sv->n; k++) {
		const Sc__Mm *mm = sv->p[k]->mm;
		struct space *sp;

		if (add_space(s, sv->uffd[k], SIZE_MAX, k))
			return -1;
		sp = &s->sp[k];
		for (size_t i = 0; i < mm->n_vmas; i++) {
			const Sc__Vma *v = mm->vmas[i];

			if (lazy_vma(sv->p[k], v) &&
			    span_insert(&sp->pend, sp->pend.n,
					(struct span){ v->start, v->end, v->start, k }))
				return -1;
		}
		if (shared_plan(&s->objs, &sp->views, img, sv->p[k], k))
			return -1;
	}
	return 0;
}

/* Each restored process's image and pages files opened, room for their
 * largest chunk, and the order of its background planned. 0, or -1 with
 * s->err set. */
static int plan_sources(struct server *s, const struct sc_image *img, const struct served *sv)
{
	uint64_t chunk = 0;

	if (!(s->src = calloc(sv->n, sizeof(*s->src))))
		return sc_err(s->err, "out of memory");
	for (; s->nsrc < sv->n; s->nsrc++) {
		const struct sc_pages *pg = &s->src[s->nsrc].pg;

		s->cur = s->nsrc;
		s->src[s->nsrc].p = sv->p[s->nsrc];
		if (sc_pages_open(&s->src[s->nsrc].pg, img, sv->p[s->nsrc], s->err))
			return -1;
		for (uint32_t g = 0; g < pg->n; g++)
			chunk = pg->ck[g].bytes > chunk ? pg->ck[g].bytes : chunk;
	}
	if (filler_init(&s->own, chunk, s->err))
		return -1;
	/* Without a second filler the server fills alone. */
	s->helper = helper_new(chunk);
	if (plan_spaces(s, img, sv))
		return sc_err(s->err, "out of memory");
	for (size_t k = 0; k < sv->n; k++)
		if (plan_hints(s, k))
			return sc_err(s->err, "out of memory");
	return 0;
}

/* Until a fault or an event comes to any space, or timeout ms pass:
 * how many spaces have messages, or -1 with s->err set. */
static int wait_for_work(struct server *s, struct pollfd **pf, size_t *cap, int timeout)
{
	nfds_t n = 0;
	int ready;

	/* Forks may have added several spaces since the last wait. */
	while (*cap < s->nsp)
		if (sc_grow(pf, cap, *cap, sizeof(**pf), 64))
			return sc_err(s->err, "out of memory");
	for (size_t k = 0; k < s->nsp; k++)
		if (s->sp[k].fd >= 0)
			(*pf)[n++] = (struct pollfd){ .fd = s->sp[k].fd, .events = POLLIN };
	ready = poll(*pf, n, timeout);
	return ready > 0 ? ready : 0;
}

/*
 * The messages of every space taken in, and the second filler's job
 * taken back if it is filled. Both happen with the helper held, which
 * then places nothing: take_messages takes its job back, placed or not,
 * before any change of the map. Where nothing is waiting, the helper is
 * left to fill. 0, or -1 with s->err set.
 */
static int take_all(struct server *s, struct pollfd **pf, size_t *cap)
{
	int ready = wait_for_work(s, pf, cap, 0), ret;

	if (ready < 0)
		return -1;
	if (!ready && !(s->job_out && helper_ended(s->helper)))
		return 0;
	if (s->helper)
		helper_hold(s->helper);
	ret = settle_job(s, false);
	for (size_t k = 0; k < s->nsp && ready && !ret; k++)
		ret = take_messages(s, k);
	if (s->helper)
		helper_release(s->helper);
	return ret;
}

/* The page server: until every page of every space is in. Its exit
 * status says whether it got there (0) or not. */
static int __attribute__((noreturn))
serve(const struct restore_ctx *ctx, const struct crload_opts *opts, const struct served *sv,
      int watch, double t0)
{
	struct server s = { .watch = watch, .near_sp = SIZE_MAX };
	/* Test aid (doc/lazy-restore.md): the server stops itself once it
	 * has filled a batch, for a test to kill it mid-fill. */
	const char *stop = getenv("SELFCKPT_TEST_STOP_AT");
	bool stop_once = stop && !strcmp(stop, "serving");
	struct pollfd *pf = NULL;
	size_t turn = 0, pfcap = 0;

	if (plan_sources(&s, ctx->img, sv))
		goto fail;
	for (;;) {
		enum placed got = PLACED;
		bool progress;

		if (take_all(&s, &pf, &pfcap))
			goto fail;
		if (serve_faults(&s))
			goto fail;
		if (all_in(&s))
			break;
		progress = background(&s, &turn, &got);
		if (got == FATAL)
			goto fail;
		if (progress && stop_once) {
			stop_once = false;
			raise(SIGSTOP);
		}
		/* Else waiting for the kernel's events, or a fault. */
		if (!progress && wait_for_work(&s, &pf, &pfcap, 1) < 0)
			goto fail;
	}
	if (opts->verbose)
		fprintf(stderr,
			"crload: %s: every page in after %.1f ms (%.1f MiB on faults, %.1f "
			"MiB in the background, %.1f MiB of them shared)\n",
			sv->who, lazy_now_ms() - t0, (double)s.on_faults / (1 << 20),
			(double)s.in_background / (1 << 20), (double)s.shared / (1 << 20));
	send_fd(watch, 'D', -1);
	_exit(0);
fail:
	fprintf(stderr, "crload: %s: pid %d: serving its pages: %s: %s\n", opts->dir,
		sv->p[s.cur]->pid, s.err, sv->killed);
	_exit(1);
}

/* Whether pid is in tree[0..n). */
static bool holds(const pid_t *tree, size_t n, pid_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (tree[i] == pid)
			return true;
	return false;
}

/* pid's parent, from /proc; 0 when it is gone or unreadable. */
static pid_t parent_of(pid_t pid)
{
	char path[64], buf[1024];
	struct pp_stat st;
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	len = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (len <= 0 || pp_parse_stat(buf, (size_t)len, &st))
		return 0;
	return st.ppid;
}

/* Every descendant of the served processes killed, found in /proc by
 * their pids. */
static void kill_descendants(const struct served *sv)
{
	pid_t *tree = malloc(sv->n * sizeof(pid_t));
	size_t n = sv->n;
	bool grew = true;

	for (size_t k = 0; tree && k < sv->n; k++)
		tree[k] = sv->p[k]->pid;
	while (tree && grew) {
		DIR *d = opendir("/proc");
		struct dirent *e;

		grew = false;
		while (d && (e = readdir(d))) {
			pid_t child = atoi(e->d_name), ppid;
			pid_t *more;

			if (child <= 0 || holds(tree, n, child) || !(ppid = parent_of(child)) ||
			    !holds(tree, n, ppid) ||
			    !(more = realloc(tree, (n + 1) * sizeof(*tree))))
				continue;
			tree = more;
			tree[n++] = child;
			grew = true;
		}
		if (d)
			closedir(d);
	}
	for (size_t i = n; tree && i-- > sv->n;)
		kill(tree[i], SIGKILL);
	free(tree);
}

/* Every descendant of the served processes, then those, killed: the
 * userfaultfds of their children die with them. From outside the tree's
 * pid namespace, its pids are not the tree's (the original may still
 * hold them): the namespace's init is killed, and every member with it. */
static void kill_tree(const struct served *sv)
{
	if (sv->ns_init >= 0)
		syscall(SYS_pidfd_send_signal, sv->ns_init, SIGKILL, NULL, 0);
	else
		kill_descendants(sv);
	for (size_t k = 0; k < sv->n; k++)
		syscall(SYS_pidfd_send_signal, sv->pidfd[k], SIGKILL, NULL, 0);
}

/*
 * The watchdog: holds every restored process's userfaultfd, and each
 * child's the server sends, so that none is ever closed with pages
 * missing; when the server ends without saying every page is in, kills
 * the tree.
 */
static void __attribute__((noreturn)) watch(int sock, const struct served *sv)
{
	for (;;) {
		int fds[2];
		char b = 0;
		ssize_t n = recv_fds(sock, &b, fds);

		if (n == 1 && b == 'F')
			continue; /* held until the watchdog exits */
		if (n == 1 && b == 'D')
			_exit(0);
		break;
	}
	fprintf(stderr, "crload: %s: %s page server ended before every page was in: %s\n", sv->who,
		sv->n > 1 ? "their" : "its", sv->killed);
	kill_tree(sv);
	_exit(1);
}

/* Out of crload's way: no terminal's signals, nothing held of crload's
 * output but stderr. */
static void detach(void)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	struct sigaction sa = { .sa_handler = SIG_DFL };

	setsid();
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		close(null);
	}
}

/* The served processes' descriptors closed, and their lists freed. */
static void served_free(struct served *sv)
{
	if (sv->ns_init >= 0)
		close(sv->ns_init);
	for (size_t k = 0; k < sv->n; k++) {
		close(sv->uffd[k]);
		close(sv->pidfd[k]);
	}
	free(sv->p);
	free(sv->uffd);
	free(sv->pidfd);
}

/* Each restored process's userfaultfd and pidfd, taken from its socket in
 * the image's order: a socket that ends without them is a process with
 * nothing lazy, or one whose restore failed (its status says why).
 * Every socket read is closed. 0, or -1 with err set. */
static int take_served(struct restore_ctx *ctx, struct served *sv, char *err)
{
	size_t nprocs = ctx->img->nprocs;
	int ret = 0;

	sv->p = malloc(nprocs * sizeof(*sv->p));
	sv->uffd = malloc(nprocs * sizeof(int));
	sv->pidfd = malloc(nprocs * sizeof(int));
	if (!sv->p || !sv->uffd || !sv->pidfd)
		ret = sc_err(err, "out of memory");
	for (size_t i = 0; i < nprocs; i++) {
		int fds[2];
		char b;
		ssize_t n = ret ? 0 : recv_fds(ctx->lazy_rds[i], &b, fds);

		close(ctx->lazy_rds[i]);
		if (n == 1 && fds[0] >= 0 && fds[1] >= 0) {
			sv->p[sv->n] = &ctx->img->procs[i];
			sv->uffd[sv->n] = fds[0];
			sv->pidfd[sv->n++] = fds[1];
			continue;
		}
		for (int k = 0; n > 0 && k < 2; k++)
			if (fds[k] >= 0)
				close(fds[k]);
	}
	free(ctx->lazy_rds);
	ctx->lazy_rds = NULL;
	if (!sv->n)
		return ret;
	if (sv->n == 1) {
		snprintf(sv->who, sizeof(sv->who), "pid %d", sv->p[0]->pid);
		sv->killed = "the process is killed";
	} else {
		snprintf(sv->who, sizeof(sv->who), "the tree of pid %d (%zu processes)",
			 sv->p[0]->pid, sv->n);
		sv->killed = "the tree is killed";
	}
	return ret;
}

/*
 * The pid namespace crload's children are forked in made crload's own
 * again, from the new one it made for the tree (ns_init's): the server
 * and the watchdog are then no members of the tree's namespace, which
 * neither sees them nor ends them when it ends (they say so). sv->ns_init
 * is set then, for the way back (leave_own_ns) and for the watchdog.
 * Where the kernel refuses, they are forked in the tree's namespace, as
 * before.
 */
static void enter_own_ns(struct served *sv, pid_t ns_init)
{
	int self = (int)syscall(SYS_pidfd_open, getpid(), 0);
	int init = ns_init > 0 ? (int)syscall(SYS_pidfd_open, ns_init, 0) : -1;

	if (self >= 0 && init >= 0 && !setns(self, CLONE_NEWPID))
		sv->ns_init = init;
	else if (init >= 0)
		close(init);
	if (self >= 0)
		close(self);
}

/* Children forked in the tree's namespace again, as crload made it. */
static void leave_own_ns(const struct served *sv)
{
	if (sv->ns_init >= 0)
		setns(sv->ns_init, CLONE_NEWPID);
}

int lazy_serve(struct restore_ctx *ctx, const struct crload_opts *opts, double t0, pid_t ns_init,
	       char *err)
{
	struct served sv = { .ns_init = -1 };
	int wsv[2];
	pid_t watchdog, server;

	if (take_served(ctx, &sv, err))
		goto fail;
	if (!sv.n) {
		served_free(&sv);
		return 0; /* nothing lazy, or the restores failed and say why */
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, wsv)) {
		sc_err(err, "socketpair: %s", strerror(errno));
		goto fail;
	}
	fflush(NULL);
	enter_own_ns(&sv, ns_init);
	watchdog = fork();
	if (watchdog == 0) {
		close(wsv[1]);
		close(ctx->release_wr);
		detach();
		watch(wsv[0], &sv);
	}
	server = watchdog > 0 ? fork() : -1;
	if (server == 0) {
		close(wsv[0]);
		close(ctx->release_wr);
		for (size_t k = 0; k < sv.n; k++)
			close(sv.pidfd[k]);
		detach();
		serve(ctx, opts, &sv, wsv[1], t0);
	}
	leave_own_ns(&sv);
	close(wsv[0]);
	close(wsv[1]);
	if (server < 0) {
		sc_err(err, "fork: %s", strerror(errno));
		if (watchdog > 0)
			kill(watchdog, SIGKILL);
		goto fail;
	}
	if (opts->verbose)
		fprintf(stderr, "crload: %s: pages served by pid %d, watched by pid %d\n", sv.who,
			server, watchdog);
	served_free(&sv);
	return 0;
fail:
	served_free(&sv);
	return -1;
}
