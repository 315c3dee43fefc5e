/* SPDX-License-Identifier: MIT */
/*
 * On-disk layout of an image directory (see doc/image-format.md).
 *
 * Every *.img file but pages-PID.img is one protobuf-c message behind a
 * fixed header; pages-PID.img is raw page data, page aligned.
 */
#ifndef SELFCKPT_IMAGE_H
#define SELFCKPT_IMAGE_H

#include <stdint.h>

#define SC_IMAGE_VERSION 1
#define SC_IMG_MAGIC 0x4b434353U /* "SCCK" */
#define SC_IMG_MAX_MSG (256U << 20)
#define SC_PAGE_SIZE 4096UL

enum sc_img_type {
	SC_IMG_INVENTORY = 1,
	SC_IMG_CORE = 2,
	SC_IMG_SIGACTS = 3,
	SC_IMG_MM = 4,
	SC_IMG_PAGEMAP = 5,
	SC_IMG_FDS = 6,
};

struct sc_img_header {
	uint32_t magic;
	uint32_t type;
	uint32_t version;
	uint32_t len;  /* bytes of packed message that follow */
	uint64_t xxh3; /* XXH3-64 of those bytes: every file checks itself */
};

#define SC_INVENTORY_FILE "inventory.img"
/* Per-process files are "<prefix>-<pid>.img". */
#define SC_CORE_PREFIX "core"
#define SC_SIGACTS_PREFIX "sigacts"
#define SC_MM_PREFIX "mm"
#define SC_PAGEMAP_PREFIX "pagemap"
#define SC_PAGES_PREFIX "pages"
#define SC_FDS_PREFIX "fds"

/*
 * A compressed pages file is zstd frames of whole pages each
 * (doc/compression.md): writers cut one every SC_ZFRAME_PAGES pages, so
 * one page is found by decompressing 256 KiB at most; readers take
 * frames of up to SC_ZFRAME_MAX_PAGES.
 */
#define SC_ZFRAME_PAGES 64
#define SC_ZFRAME_MAX_PAGES 1024

/* The most ranges an image's Mm.tracker lists: what the runtime's tracker
 * registers at most (runtime/track.c), and what readers take. */
#define SC_TRACK_MAX_RANGES 8192

/*
 * A raw pages file's checksums in parts (Pagemap.chunk_xxh3,
 * doc/checksums.md): writers sum every SC_PAGES_CHUNK bytes, small enough
 * that crload hashes a chunk it has just read while it is in the cache;
 * readers take any power of two from a page to SC_PAGES_CHUNK_MAX.
 */
#define SC_PAGES_CHUNK (1U << 20)
#define SC_PAGES_CHUNK_MAX (1U << 30)

#define SC_WRITER_RUNTIME "runtime"
#define SC_WRITER_CRDUMP "crdump"

#endif
