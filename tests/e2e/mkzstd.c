// SPDX-License-Identifier: MIT
/*
 * mkzstd [-l LEVEL] [-f FRAME_PAGES] [-x FRAME] IMAGE_DIR: rewrites every
 * raw pages file of the image in place as zstd frames of FRAME_PAGES
 * pages (default SC_ZFRAME_PAGES, the last frame what is left), each with
 * its content size and checksum (doc/compression.md), for the tests of
 * the readers before the writers compress. The pagemaps get the codec,
 * the frames, their sums (doc/checksums.md) and the level, and the
 * inventory the new files' sums. The
 * image's parents are left as they are: only its own files change.
 *
 * -x FRAME then flips a byte in the middle of frame FRAME of each pages
 * file rewritten, and sums the file and the frame as they are then, so
 * that only zstd's checksum of that frame tells.
 *
 * Prints "mkzstd: DIR: pages-PID.img: N bytes of data in M bytes, F frames"
 * for each file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>
#include <zstd.h>

#include "imgfile.h"

static Sc__FileSum *sum_of(Sc__Inventory *inv, const char *name)
{
	for (size_t i = 0; i < inv->n_files; i++)
		if (!strcmp(inv->files[i]->name, name))
			return inv->files[i];
	imgfile_die(name, "not in the inventory");
}

/* p's raw pages file as frames of frame_pages pages in a new file that
 * replaces it; the frames into pm, the sum into s. */
static void compress_file(int dirfd, struct sc_proc_img *p, ZSTD_CCtx *cctx, uint32_t frame_pages,
			  long corrupt, Sc__FileSum *s)
{
	Sc__Pagemap *pm = p->pm;
	size_t raw_max = (size_t)frame_pages * SC_PAGE_SIZE, cap = ZSTD_compressBound(raw_max);
	size_t nframes = (pm->pages_bytes / SC_PAGE_SIZE + frame_pages - 1) / frame_pages;
	char tmp[80], *raw = malloc(raw_max), *out = malloc(cap);
	int in = openat(dirfd, p->pages_name, O_RDONLY | O_CLOEXEC), fd;
	uint64_t done = 0, stored = 0;
	XXH3_state_t st;

	snprintf(tmp, sizeof(tmp), "%s.new", p->pages_name);
	fd = openat(dirfd, tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (in < 0 || fd < 0)
		imgfile_die(p->pages_name, strerror(errno));
	pm->frame_pages = calloc(nframes + 1, sizeof(*pm->frame_pages));
	pm->frame_bytes = calloc(nframes + 1, sizeof(*pm->frame_bytes));
	pm->chunk_xxh3 = calloc(nframes + 1, sizeof(*pm->chunk_xxh3));
	if (!raw || !out || !pm->frame_pages || !pm->frame_bytes || !pm->chunk_xxh3)
		imgfile_die(p->pages_name, "out of memory");
	for (size_t i = 0; i < nframes; i++) {
		size_t len = pm->pages_bytes - done < raw_max ? pm->pages_bytes - done : raw_max;
		size_t n;

		if (pread(in, raw, len, (off_t)done) != (ssize_t)len)
			imgfile_die(p->pages_name, "short file");
		n = ZSTD_compress2(cctx, out, cap, raw, len);
		if (ZSTD_isError(n))
			imgfile_die(p->pages_name, ZSTD_getErrorName(n));
		if ((long)i == corrupt)
			out[n / 2] ^= 0x40;
		if (pwrite(fd, out, n, (off_t)stored) != (ssize_t)n)
			imgfile_die(tmp, strerror(errno));
		pm->frame_pages[i] = (uint32_t)(len / SC_PAGE_SIZE);
		pm->frame_bytes[i] = (uint32_t)n;
		pm->chunk_xxh3[i] = XXH3_64bits(out, n);
		done += len;
		stored += n;
	}
	if (corrupt >= (long)nframes)
		imgfile_die(p->pages_name, "no such frame to corrupt");
	pm->n_frame_pages = pm->n_frame_bytes = pm->n_chunk_xxh3 = nframes;
	pm->has_chunk_bytes = 1;
	pm->chunk_bytes = 0;
	/* The sum of the file as it is, flipped byte and all. */
	XXH3_64bits_reset(&st);
	for (uint64_t off = 0; off < stored;) {
		ssize_t n = pread(fd, out, cap, (off_t)off);

		if (n <= 0)
			imgfile_die(tmp, "cannot read back");
		XXH3_64bits_update(&st, out, (size_t)n);
		off += (uint64_t)n;
	}
	if (fsync(fd) || close(fd) || renameat(dirfd, tmp, dirfd, p->pages_name))
		imgfile_die(tmp, strerror(errno));
	close(in);
	s->size = stored;
	s->xxh3 = XXH3_64bits_digest(&st);
	free(raw);
	free(out);
}

int main(int argc, char **argv)
{
	long level = 1, frame_pages = SC_ZFRAME_PAGES, corrupt = -1;
	char err[SC_ERR_LEN], name[80];
	struct sc_image img;
	Sc__Inventory *inv;
	ZSTD_CCtx *cctx;
	uint64_t size, xxh3;
	uint32_t type;
	int opt;

	while ((opt = getopt(argc, argv, "l:f:x:")) != -1) {
		if (opt == 'l')
			level = strtol(optarg, NULL, 10);
		else if (opt == 'f')
			frame_pages = strtol(optarg, NULL, 10);
		else if (opt == 'x')
			corrupt = strtol(optarg, NULL, 10);
		else
			optind = argc + 1;
	}
	if (optind != argc - 1 || frame_pages < 1 || frame_pages > SC_ZFRAME_MAX_PAGES ||
	    level < 1 || level > ZSTD_maxCLevel()) {
		fprintf(stderr, "usage: mkzstd [-l LEVEL] [-f FRAME_PAGES] [-x FRAME] IMAGE_DIR\n");
		return 2;
	}
	if (sc_image_load(argv[optind], &img, err))
		imgfile_die(argv[optind], err);
	cctx = ZSTD_createCCtx();
	if (!cctx ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, (int)level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)))
		imgfile_die("zstd", "cannot set up compression");
	inv = (Sc__Inventory *)imgfile_read(img.dirfd, SC_INVENTORY_FILE, &type);
	for (size_t i = 0; i < img.nprocs; i++) {
		struct sc_proc_img *p = &img.procs[i];
		Sc__Pagemap *pm = p->pm;

		if (pm->codec != SC__PAGES_CODEC__PAGES_RAW)
			imgfile_die(p->pages_name, "compressed already");
		compress_file(img.dirfd, p, cctx, (uint32_t)frame_pages, corrupt,
			      sum_of(inv, p->pages_name));
		pm->has_codec = pm->has_level = 1;
		pm->codec = SC__PAGES_CODEC__PAGES_ZSTD;
		pm->level = (uint32_t)level;
		snprintf(name, sizeof(name), "%s-%d.img", SC_PAGEMAP_PREFIX, p->pid);
		imgfile_write(img.dirfd, name, SC_IMG_PAGEMAP, &pm->base, &size, &xxh3);
		sum_of(inv, name)->size = size;
		sum_of(inv, name)->xxh3 = xxh3;
		printf("mkzstd: %s: %s: %llu bytes of data in %llu bytes, %zu frames\n",
		       argv[optind], p->pages_name, (unsigned long long)pm->pages_bytes,
		       (unsigned long long)sum_of(inv, p->pages_name)->size, pm->n_frame_pages);
	}
	imgfile_write(img.dirfd, SC_INVENTORY_FILE, type, &inv->base, &size, &xxh3);
	ZSTD_freeCCtx(cctx);
	return 0;
}
