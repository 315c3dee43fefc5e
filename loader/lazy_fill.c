// SPDX-License-Identifier: MIT
/*
 * Placing pages in a restored address space for the page server of
 * crload --lazy (doc/lazy-restore.md): a range read from the image,
 * checked, and copied in with UFFDIO_COPY, or zero pages where the image
 * stores none; and the server's second filler, a thread that does the
 * same for ranges the server hands it, so that both CPUs place pages.
 *
 * The thread never decides what to fill: the server cuts a range out of
 * its pending list before it hands it over, and takes back what was not
 * placed. What makes this safe is the helper's lock. The thread places a
 * job's pages only while it holds the lock, and the server holds it
 * whenever it reads the kernel's messages; before it takes in a change
 * of the map (a range dropped, unmapped, moved, or a fork), it takes the
 * job back, placed or not. So no page the thread places can follow a
 * change that the range it was given did not know of: a copy that races
 * with a change the server has not read yet fails with EAGAIN, and one
 * made after it is read cannot happen.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "lazy_server.h"

#define PAGE SC_PAGE_SIZE

double lazy_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int filler_init(struct filler *f, uint64_t chunk, char *err)
{
	*f = (struct filler){ .err = err };
	if (!(f->buf = malloc(LAZY_BATCH)) || (chunk && !(f->chunk = malloc(chunk))))
		return sc_err(err, "out of memory");
	return 0;
}

/* Chunk idx of generation gen of pg in f->chunk, read and checked unless
 * it is the one read last. 0, or -1 with f->err set. */
static int chunk_get(struct filler *f, const struct sc_pages *pg, uint32_t gen, size_t idx)
{
	if (f->cpg == pg && f->cgen == gen && f->cidx == idx)
		return 0;
	f->cpg = NULL;
	if (sc_pages_read_chunk(pg, gen, idx, f->chunk, f->err))
		return -1;
	f->cpg = pg;
	f->cgen = gen;
	f->cidx = idx;
	return 0;
}

/*
 * The image's pages at src, which run r holds, at most *len bytes of
 * them (*len cut to what is returned): a raw pages file with sums in
 * parts is read a whole chunk at a time, checked as it is read
 * (doc/checksums.md); a compressed one is read frame by frame into
 * f->buf, each frame checked by sc_pages_get. NULL with f->err set.
 */
static const char *pages_at(struct filler *f, struct source *so, const struct sc_run *r,
			    uint64_t src, uint64_t *len)
{
	const struct sc_chunks *c = &so->pg.ck[r->gen];
	uint64_t off = r->off + (src - r->vaddr), start, clen;
	size_t i;

	if (!c->n || !c->bytes)
		return sc_pages_get(&so->pg, NULL, r, src, f->buf, *len, f->err) ? NULL : f->buf;
	i = off / c->bytes;
	start = i * c->bytes;
	clen = c->size - start < c->bytes ? c->size - start : c->bytes;
	if (start + clen - off < *len)
		*len = start + clen - off;
	if (chunk_get(f, &so->pg, r->gen, i))
		return NULL;
	return f->chunk + (off - start);
}

enum placed place(struct filler *f, int fd, double *enoent, uint64_t dst, const char *buf,
		  uint64_t len, uint64_t *done)
{
	while (len) {
		int64_t got;
		int e = 0;

		if (buf) {
			struct uffdio_copy c = { .dst = dst, .src = (uint64_t)buf, .len = len };

			e = ioctl(fd, UFFDIO_COPY, &c) ? errno : 0;
			got = c.copy;
		} else {
			struct uffdio_zeropage z = { .range = { dst, len } };

			e = ioctl(fd, UFFDIO_ZEROPAGE, &z) ? errno : 0;
			got = z.zeropage;
		}
		if (got <= 0 && e == EEXIST)
			got = PAGE;
		if (got <= 0 && e == ENOENT) {
			double now = lazy_now_ms();

			if (!*enoent)
				*enoent = now;
			if (now - *enoent < LAZY_ENOENT_MS)
				return RETRY;
			got = PAGE; /* unmapped for good */
		} else if (got > 0) {
			*enoent = 0;
		}
		if (got > 0) {
			*done += (uint64_t)got;
			dst += (uint64_t)got;
			buf = buf ? buf + got : NULL;
			len -= (uint64_t)got;
			continue;
		}
		if (e == EAGAIN)
			return RETRY;
		if (e == ESRCH)
			return GONE;
		sc_err(f->err, "placing pages at %#llx: %s", (unsigned long long)dst, strerror(e));
		return FATAL;
	}
	return PLACED;
}

enum placed fill(struct filler *f, int fd, double *enoent, struct source *so, uint64_t a,
		 uint64_t b, uint64_t src, uint64_t *done)
{
	const struct sc_proc_img *p = so->p;

	while (a < b) {
		size_t i = sc_run_after(p, src);
		const struct sc_run *r = i < p->nruns ? &p->runs[i] : NULL;
		uint64_t n = b - a, run_end;
		enum placed got;

		if (r && r->vaddr <= src) {
			const char *data;

			run_end = r->vaddr + r->nr_pages * PAGE;
			n = run_end - src < n ? run_end - src : n;
			if (!(data = pages_at(f, so, r, src, &n)))
				return FATAL;
			got = place(f, fd, enoent, a, data, n, done);
		} else {
			n = r && r->vaddr - src < n ? r->vaddr - src : n;
			got = place(f, fd, enoent, a, NULL, n, done);
		}
		if (got != PLACED)
			return got;
		a += n;
		src += n;
	}
	return PLACED;
}

/* Where the helper's job is: none, handed over (maybe being filled), or
 * filled and not yet taken back. */
enum job_state { JOB_NONE, JOB_GIVEN, JOB_ENDED };

struct helper {
	struct filler f;
	char err[SC_ERR_LEN];
	struct fill_job job;
	unsigned long seq; /* jobs handed over */
	int state; /* an enum job_state, read without the lock by helper_ended */
	bool held; /* the server wants the lock or holds it */
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

/*
 * The thread: each job filled a batch at a time while it holds the lock,
 * which it lets the server have between batches. A job withdrawn
 * meanwhile is left where it got to.
 */
static void *helper_run(void *arg)
{
	struct helper *h = arg;
	struct fill_job *j = &h->job;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		unsigned long seq;

		while (h->state != JOB_GIVEN)
			pthread_cond_wait(&h->cond, &h->lock);
		seq = h->seq;
		j->got = PLACED;
		while (j->got == PLACED && j->a + j->done < j->b) {
			uint64_t at = j->a + j->done;
			uint64_t end = j->b - at > LAZY_BATCH ? at + LAZY_BATCH : j->b;

			j->got = fill(&h->f, j->fd, &j->enoent, j->so, at, end, j->src + j->done,
				      &j->done);
			if (j->got == FATAL)
				strcpy(j->err, h->err);
			while (__atomic_load_n(&h->held, __ATOMIC_RELAXED))
				pthread_cond_wait(&h->cond, &h->lock);
			if (h->seq != seq || h->state != JOB_GIVEN)
				break;
		}
		if (h->seq != seq || h->state != JOB_GIVEN)
			continue;
		__atomic_store_n(&h->state, JOB_ENDED, __ATOMIC_RELEASE);
	}
	return NULL;
}

struct helper *helper_new(uint64_t chunk)
{
	struct helper *h = calloc(1, sizeof(*h));
	pthread_t t;

	if (!h)
		return NULL;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	/* The server exits when it is done, and the thread with it. */
	if (filler_init(&h->f, chunk, h->err) || pthread_create(&t, NULL, helper_run, h)) {
		free(h->f.buf);
		free(h->f.chunk);
		free(h);
		return NULL;
	}
	pthread_detach(t);
	return h;
}

/* held is set before the lock is asked for: the thread, between two
 * batches, sees it and lets go. */
void helper_hold(struct helper *h)
{
	__atomic_store_n(&h->held, true, __ATOMIC_RELAXED);
	pthread_mutex_lock(&h->lock);
}

void helper_release(struct helper *h)
{
	__atomic_store_n(&h->held, false, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

void helper_give(struct helper *h, const struct fill_job *j)
{
	pthread_mutex_lock(&h->lock);
	h->job = *j;
	h->job.done = 0;
	h->seq++;
	h->state = JOB_GIVEN;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

bool helper_ended(struct helper *h)
{
	return __atomic_load_n(&h->state, __ATOMIC_ACQUIRE) == JOB_ENDED;
}

bool helper_take(struct helper *h, struct fill_job *j, bool withdraw)
{
	if (h->state == JOB_GIVEN && !withdraw)
		return false;
	*j = h->job;
	/* Taken back between two batches: the rest is the server's again. */
	if (h->state == JOB_GIVEN && j->got == PLACED)
		j->got = RETRY;
	h->state = JOB_NONE;
	return true;
}
