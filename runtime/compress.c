// SPDX-License-Identifier: MIT
/*
 * Pages compressed with zstd on several threads, on the freeze path
 * (doc/compression.md). A batch of pages is cut into frames of
 * SC_ZFRAME_PAGES pages. The calling thread and its workers take frames
 * in turn; each gathers its frame's pages into a buffer of its own (or
 * reads them in place when they lie together) and compresses them with a
 * static context of its own, into the frame's own part of the output.
 *
 * The workers are raw threads (clone, no libc): the freeze path may not
 * call pthread_create, whose lock a frozen thread may hold. They share
 * the caller's TLS and never touch it (zstd keeps no thread-local state),
 * block every signal, and live as long as one pages file is written.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <string.h>

#include "compress.h"
#include "rt.h"
#include "selfckpt/image.h"

#define FRAME_BYTES (SC_ZFRAME_PAGES * SC_PAGE_SIZE)
#define FRAME_BOUND ZSTD_COMPRESSBOUND(FRAME_BYTES)
#define WORKER_STACK (256UL << 10) /* zstd's compression needs a few KiB */
#define WORKER_FLAGS                                                                               \
	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |        \
	 CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID)

/* rt_zclone (rt.h). */
__asm__(".text\n"
	".globl rt_zclone\n"
	".hidden rt_zclone\n"
	".type rt_zclone, @function\n"
	"rt_zclone:\n"
	"	and $-16, %rsi\n"
	"	sub $16, %rsi\n"
	"	mov %rcx, (%rsi)\n" /* fn and arg, for the child to pop */
	"	mov %r8, 8(%rsi)\n"
	"	mov %rdx, %r10\n" /* child_tid, and parent_tid in rdx */
	"	xor %r8d, %r8d\n" /* tls: unchanged */
	"	mov $56, %eax\n" /* __NR_clone */
	"	syscall\n"
	"	test %rax, %rax\n"
	"	jnz 1f\n"
	"	xor %ebp, %ebp\n"
	"	pop %rax\n"
	"	pop %rdi\n"
	"	call *%rax\n"
	"	mov $60, %eax\n" /* __NR_exit: this thread only */
	"	xor %edi, %edi\n"
	"	syscall\n"
	"	ud2\n"
	"1:	ret\n"
	".size rt_zclone, .-rt_zclone\n");

/* What one thread compresses with. */
struct zctx {
	ZSTD_CCtx *cctx;
	uint8_t *in; /* a frame's pages gathered */
};

/* Where frame i's pages start: iov[iov] at off. */
struct zframe {
	int iov;
	size_t off;
	uint32_t pages;
};

struct zworker {
	struct rt_zpool *pool;
	int i;
};

struct rt_zpool {
	const struct rt_zstd_calls *z;
	int nthreads; /* ctx[0] is the caller's */
	struct zctx ctx[RT_ZSTD_THREADS_MAX];
	struct zworker workers[RT_ZSTD_THREADS_MAX];
	int tids[RT_ZSTD_THREADS_MAX];
	/* The batch: its frames, and where they go. */
	const struct iovec *iov;
	struct zframe *frames;
	int nframes, max_frames;
	uint8_t *out;
	struct iovec *out_iov;
	int next; /* the next frame to take */
	int err; /* the first failure, -errno */
	unsigned gen; /* one more for each batch, and for the end */
	unsigned busy; /* workers not done with the batch */
	bool quit;
};

static void futex_wait(unsigned *addr, unsigned val, int op)
{
	sc_sys4(__NR_futex, addr, op, val, NULL);
}

static void futex_wake(unsigned *addr)
{
	sc_sys3(__NR_futex, addr, FUTEX_WAKE_PRIVATE, INT_MAX);
}

/* Frame f's pages as one piece: in place when they lie together. */
static const uint8_t *frame_input(struct rt_zpool *p, struct zctx *c, const struct zframe *f)
{
	const struct iovec *v = &p->iov[f->iov];
	size_t left = (size_t)f->pages * SC_PAGE_SIZE, off = f->off, at = 0;

	if (v->iov_len - off >= left)
		return (const uint8_t *)v->iov_base + off;
	while (left) {
		size_t n = v->iov_len - off < left ? v->iov_len - off : left;

		memcpy(c->in + at, (const uint8_t *)v->iov_base + off, n);
		at += n;
		left -= n;
		v++;
		off = 0;
	}
	return c->in;
}

static void run_frames(struct rt_zpool *p, struct zctx *c)
{
	for (;;) {
		int i = __atomic_fetch_add(&p->next, 1, __ATOMIC_ACQ_REL);
		const struct zframe *f;
		uint8_t *dst;
		size_t n;

		if (i >= p->nframes)
			return;
		f = &p->frames[i];
		dst = p->out + (size_t)i * FRAME_BOUND;
		n = p->z->compress2(c->cctx, dst, FRAME_BOUND, frame_input(p, c, f),
				    (size_t)f->pages * SC_PAGE_SIZE);
		if (p->z->is_error(n)) {
			int none = 0;

			__atomic_compare_exchange_n(&p->err, &none, -EIO, false, __ATOMIC_ACQ_REL,
						    __ATOMIC_ACQUIRE);
			n = 0;
		}
		p->out_iov[i].iov_base = dst;
		p->out_iov[i].iov_len = n;
	}
}

static void worker(void *arg)
{
	struct zworker *w = arg;
	struct rt_zpool *p = w->pool;
	unsigned seen = 0;

	for (;;) {
		unsigned gen;

		while ((gen = __atomic_load_n(&p->gen, __ATOMIC_ACQUIRE)) == seen)
			futex_wait(&p->gen, seen, FUTEX_WAIT_PRIVATE);
		seen = gen;
		if (__atomic_load_n(&p->quit, __ATOMIC_ACQUIRE))
			return;
		run_frames(p, &p->ctx[w->i]);
		if (!__atomic_sub_fetch(&p->busy, 1, __ATOMIC_ACQ_REL))
			futex_wake(&p->busy);
	}
}

static int ctx_init(const struct rt_compress *c, struct zctx *ctx)
{
	const struct rt_zstd_calls *z = &c->zstd;
	size_t size = z->estimate(z->get_cparams(c->level, FRAME_BYTES, 0));
	void *ws = rt_alloc(size);

	ctx->in = rt_alloc(FRAME_BYTES);
	ctx->cctx = ws ? z->init_static(ws, size) : NULL;
	if (!ctx->in || !ctx->cctx)
		return -ENOMEM;
	/* A static context starts with every parameter zero, the content
	 * size flag too (a created one has it set): each one we rely on is
	 * set here. Readers want the size in every frame's header. */
	if (z->is_error(z->set_parameter(ctx->cctx, ZSTD_c_compressionLevel, c->level)) ||
	    z->is_error(z->set_parameter(ctx->cctx, ZSTD_c_contentSizeFlag, 1)) ||
	    z->is_error(z->set_parameter(ctx->cctx, ZSTD_c_checksumFlag, 1)))
		return -EINVAL;
	return 0;
}

struct rt_zpool *rt_zpool_start(const struct rt_compress *c, uint64_t max_batch)
{
	struct rt_zpool *p = rt_alloc(sizeof(*p));
	uint64_t all = ~0ULL, old;

	if (!p)
		return NULL;
	memset(p, 0, sizeof(*p));
	p->z = &c->zstd;
	p->max_frames = (int)((max_batch + FRAME_BYTES - 1) / FRAME_BYTES);
	p->frames = rt_alloc(sizeof(*p->frames) * (size_t)p->max_frames);
	if (!p->frames || ctx_init(c, &p->ctx[0]))
		return NULL;
	p->nthreads = 1;
	/* The workers start with every signal blocked: none is theirs. */
	sc_sys4(__NR_rt_sigprocmask, SIG_SETMASK, &all, &old, sizeof(all));
	while (p->nthreads < c->threads && p->nthreads < RT_ZSTD_THREADS_MAX) {
		int i = p->nthreads;
		uint8_t *stack = rt_alloc(WORKER_STACK);

		if (!stack || ctx_init(c, &p->ctx[i]))
			break;
		p->workers[i] = (struct zworker){ p, i };
		if (rt_zclone(WORKER_FLAGS, stack + WORKER_STACK, &p->tids[i], worker,
			      &p->workers[i]) <= 0)
			break; /* fewer threads, then (a seccomp filter, a limit) */
		p->nthreads++;
	}
	sc_sys4(__NR_rt_sigprocmask, SIG_SETMASK, &old, NULL, sizeof(old));
	return p;
}

size_t rt_zpool_bound(uint64_t len)
{
	return (size_t)((len + FRAME_BYTES - 1) / FRAME_BYTES) * FRAME_BOUND;
}

/* Cuts the batch into frames: a new one every SC_ZFRAME_PAGES pages. */
static int cut_frames(struct rt_zpool *p, const struct iovec *iov, int n)
{
	uint32_t room = 0;

	p->nframes = 0;
	for (int i = 0; i < n; i++) {
		for (size_t off = 0; off < iov[i].iov_len;) {
			uint32_t pages = (uint32_t)((iov[i].iov_len - off) / SC_PAGE_SIZE);

			if (!room) {
				if (p->nframes == p->max_frames)
					return -E2BIG;
				p->frames[p->nframes++] = (struct zframe){ i, off, 0 };
				room = SC_ZFRAME_PAGES;
			}
			if (pages > room)
				pages = room;
			p->frames[p->nframes - 1].pages += pages;
			room -= pages;
			off += (size_t)pages * SC_PAGE_SIZE;
		}
	}
	return 0;
}

int rt_zpool_compress(struct rt_zpool *p, const struct iovec *iov, int n, uint8_t *out,
		      struct iovec *out_iov, uint32_t *pages)
{
	int err = cut_frames(p, iov, n);
	unsigned busy;

	if (err)
		return err;
	p->iov = iov;
	p->out = out;
	p->out_iov = out_iov;
	p->next = 0;
	p->err = 0;
	p->busy = (unsigned)p->nthreads - 1;
	__atomic_add_fetch(&p->gen, 1, __ATOMIC_ACQ_REL);
	if (p->nthreads > 1)
		futex_wake(&p->gen);
	run_frames(p, &p->ctx[0]);
	while ((busy = __atomic_load_n(&p->busy, __ATOMIC_ACQUIRE)))
		futex_wait(&p->busy, busy, FUTEX_WAIT_PRIVATE);
	for (int i = 0; i < p->nframes; i++)
		pages[i] = p->frames[i].pages;
	return p->err ? p->err : p->nframes;
}

void rt_zpool_stop(struct rt_zpool *p)
{
	if (!p)
		return;
	__atomic_store_n(&p->quit, true, __ATOMIC_RELEASE);
	__atomic_add_fetch(&p->gen, 1, __ATOMIC_ACQ_REL);
	futex_wake(&p->gen);
	/* The kernel clears each tid at the thread's exit and wakes it as a
	 * shared futex: waited for without FUTEX_PRIVATE_FLAG. */
	for (int i = 1; i < p->nthreads; i++) {
		int tid;

		while ((tid = __atomic_load_n(&p->tids[i], __ATOMIC_ACQUIRE)))
			futex_wait((unsigned *)&p->tids[i], (unsigned)tid, FUTEX_WAIT);
	}
}
