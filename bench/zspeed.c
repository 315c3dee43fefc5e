// SPDX-License-Identifier: MIT
/*
 * bench: zstd on the pages of a real image, one thread, the way the
 * writers cut them (frames of SC_ZFRAME_PAGES pages, doc/compression.md).
 *   zspeed LEVEL FILE...   FILE: raw pages files (pages-PID.img)
 * Prints "raw_bytes compressed_bytes compress_MBps decompress_MBps", the
 * speeds per thread in MB/s (10^6 bytes) of data, the best of 3 passes,
 * from memory (the files are read first).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "selfckpt/image.h"

#define FRAME (SC_ZFRAME_PAGES * SC_PAGE_SIZE)
#define PASSES 3

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Every file's bytes back to back. */
static char *read_all(char **files, int n, size_t *len)
{
	char *buf = NULL;

	*len = 0;
	for (int i = 0; i < n; i++) {
		int fd = open(files[i], O_RDONLY);
		struct stat st;

		if (fd < 0 || fstat(fd, &st) || !(buf = realloc(buf, *len + (size_t)st.st_size)) ||
		    read(fd, buf + *len, (size_t)st.st_size) != st.st_size) {
			perror(files[i]);
			exit(1);
		}
		*len += (size_t)st.st_size;
		close(fd);
	}
	return buf;
}

int main(int argc, char **argv)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	ZSTD_DCtx *d = ZSTD_createDCtx();
	size_t len, nframes, zlen = 0, bound = ZSTD_compressBound(FRAME);
	double best_c = 1e9, best_d = 1e9;
	size_t *sizes;
	char *in, *out, *back;

	if (argc < 3) {
		fputs("usage: zspeed LEVEL PAGES_FILE...\n", stderr);
		return 2;
	}
	in = read_all(argv + 2, argc - 2, &len);
	nframes = (len + FRAME - 1) / FRAME;
	out = malloc(nframes * bound);
	back = malloc(FRAME);
	sizes = calloc(nframes, sizeof(*sizes));
	if (!c || !d || !out || !back || !sizes || !len)
		return 1;
	ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, atoi(argv[1]));
	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	for (int p = 0; p < PASSES; p++) {
		double t0 = now(), t1, t2;

		zlen = 0;
		for (size_t f = 0; f < nframes; f++) {
			size_t n = len - f * FRAME < FRAME ? len - f * FRAME : FRAME;

			sizes[f] = ZSTD_compress2(c, out + f * bound, bound, in + f * FRAME, n);
			if (ZSTD_isError(sizes[f]))
				return 1;
			zlen += sizes[f];
		}
		t1 = now();
		for (size_t f = 0; f < nframes; f++) {
			size_t n = len - f * FRAME < FRAME ? len - f * FRAME : FRAME;
			size_t r = ZSTD_decompressDCtx(d, back, FRAME, out + f * bound, sizes[f]);

			/* Checked once, out of the timed passes that count. */
			if (r != n || (!p && memcmp(back, in + f * FRAME, n))) {
				fputs("zspeed: a frame does not decompress to its pages\n", stderr);
				return 1;
			}
		}
		t2 = now();
		best_c = t1 - t0 < best_c ? t1 - t0 : best_c;
		best_d = t2 - t1 < best_d ? t2 - t1 : best_d;
	}
	printf("%zu %zu %.0f %.0f\n", len, zlen, (double)len / best_c / 1e6,
	       (double)len / best_d / 1e6);
	return 0;
}
