/* SPDX-License-Identifier: MIT */
/*
 * zstd for pages files (doc/compression.md), shared by the runtime and
 * crdump. libzstd is loaded only when a user asks to compress
 * (compress_load.c, in the app's context), and then used on the freeze
 * path only through static contexts in the arena (compress.c): with one,
 * zstd's compression allocates nothing and takes no lock.
 */
#ifndef SELFCKPT_RT_COMPRESS_H
#define SELFCKPT_RT_COMPRESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define ZSTD_STATIC_LINKING_ONLY /* static contexts: see above */
#include <zstd.h>

#define RT_ZSTD_LEVEL_MAX 19 /* zstd's levels past 19 need far more memory */
#define RT_ZSTD_THREADS_MAX 8 /* what a checkpoint of one process uses at most */
#define RT_ZSTD_LEVEL_DEFAULT 1 /* the fastest, and most of the gain on heap pages */

/* The calls of libzstd's that the writers use, found by dlsym; and those
 * the runtime's pruner reads compressed images with when it merges them
 * (merge.c), with a static context too. */
struct rt_zstd_calls {
	__typeof__(&ZSTD_getCParams) get_cparams;
	__typeof__(&ZSTD_estimateCStreamSize_usingCParams) estimate;
	__typeof__(&ZSTD_initStaticCCtx) init_static;
	__typeof__(&ZSTD_CCtx_setParameter) set_parameter;
	__typeof__(&ZSTD_compress2) compress2;
	__typeof__(&ZSTD_isError) is_error;
	__typeof__(&ZSTD_estimateDCtxSize) estimate_dctx;
	__typeof__(&ZSTD_initStaticDCtx) init_static_dctx;
	__typeof__(&ZSTD_decompressDCtx) decompress;
};

/* What the user asked for, and libzstd once loaded. */
struct rt_compress {
	int level; /* 0: pages files are raw */
	int threads; /* >= 1 */
	struct rt_zstd_calls zstd;
};

/* App context: the number in s, lo to hi, into *v (a level, a number of
 * threads); -1 when s is not one. */
int rt_compress_parse(const char *s, int lo, int hi, int *v);
/* App context: the default number of threads, the CPUs this process may
 * run on, at most RT_ZSTD_THREADS_MAX. */
int rt_compress_default_threads(void);
/* App context: loads libzstd for c (c->level > 0). 0, or -1 with why
 * (at least 128 bytes) saying what is missing. */
int rt_compress_load(struct rt_compress *c, char *why, size_t len);

/* Freeze path: compresses one batch of a pages file at a time. */
struct rt_zpool;
/* The workers and their contexts for batches of up to max_batch bytes,
 * from the arena; NULL when out of it. */
struct rt_zpool *rt_zpool_start(const struct rt_compress *c, uint64_t max_batch);
/* The most bytes a batch of len bytes of data can take compressed. */
size_t rt_zpool_bound(uint64_t len);
/*
 * Compresses the data iov[0..n) holds (whole pages) into frames of at
 * most SC_ZFRAME_PAGES pages, into out (rt_zpool_bound of it): frame i
 * is at out_iov[i], of pages[i] pages of data. The number of frames, or
 * -errno.
 */
int rt_zpool_compress(struct rt_zpool *pool, const struct iovec *iov, int n, uint8_t *out,
		      struct iovec *out_iov, uint32_t *pages);
/* Ends the workers. */
void rt_zpool_stop(struct rt_zpool *pool);

#endif
