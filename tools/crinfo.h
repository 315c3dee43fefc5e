/* SPDX-License-Identifier: MIT */
/* crinfo internals: reading images for people and scripts (libc world). */
#ifndef SELFCKPT_CRINFO_H
#define SELFCKPT_CRINFO_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "image.h"

/* ---- bt.c: a process's memory as the image holds it, and symbols ---- */

/* Read access to one process's memory: stored pages from pages-PID.img,
 * file mappings' other pages from their files, zeros for anonymous
 * memory that was not stored (all-zero pages never are), the vDSO from
 * this process's when it is the same (see cr_syms_new). */
struct cr_mem;
struct cr_syms;
/* Files are read through syms, which caches them. */
struct cr_mem *cr_mem_open(const struct sc_image *img, const struct sc_proc_img *p,
			   struct cr_syms *syms);
void cr_mem_close(struct cr_mem *m);
/* 0, or -1 when some byte of [addr, addr+len) cannot be known. */
int cr_mem_read(struct cr_mem *m, uint64_t addr, void *buf, size_t len);

/* Where an address is: the symbol around it in the ELF file mapped
 * there (.symtab, else .dynsym), else the file and offset. */
struct cr_sym {
	const char *name; /* NULL: no symbol covers it */
	uint64_t off; /* from the symbol's start */
	const char *path; /* NULL: no file is mapped there */
	uint64_t file_off; /* offset in path */
};
struct cr_syms;
/* kernel: the release of the kernel that wrote the image (NULL: not
 * known); when it is this one's, this process's vDSO stands in for the
 * image's, which is not stored. */
struct cr_syms *cr_syms_new(const Sc__Mm *mm, const char *kernel);
void cr_syms_free(struct cr_syms *s);
void cr_symbolize(struct cr_syms *s, uint64_t addr, struct cr_sym *out);
/* "b+0x1c (/path/prog)", "/path/lib.so+0x1234" or "0x7f..." into buf. */
const char *cr_sym_format(const struct cr_sym *sym, uint64_t addr, char *buf, size_t len);

/* Per-thread backtraces from the saved registers (libunwind remote). */
int crinfo_bt(const struct sc_image *img, FILE *out);
/* One process's; 0, or -1 when libunwind has no address space for it. */
int crinfo_bt_proc(const struct sc_proc_img *p, struct cr_mem *mem, struct cr_syms *syms,
		   FILE *out);

/* ---- show.c / json.c ---- */
/* Per generation of an image's chain (0: the image): the bytes of pages
 * its pages files store, and how many of them a restore of the image
 * reads. */
struct cr_gen_bytes {
	uint64_t stored, restored;
};
/* gens: sc_image_ngens(img) of them; NULL when out of memory. */
struct cr_gen_bytes *cr_chain_bytes(const struct sc_image *img);
/* How pages files hold their pages (doc/compression.md): the bytes of
 * data and of the files, how many files are compressed, and at which
 * zstd level (unless they differ). */
struct cr_pages_stored {
	uint64_t data, size;
	size_t files, compressed;
	uint32_t level;
	bool levels_differ;
};
/* Adds p's pages file to s (zeroed first by the caller). */
void cr_pages_stored_add(struct cr_pages_stored *s, const struct sc_proc_img *p);
struct cr_tiers;
/* tiers: the image's tiers (tiers.c), or NULL. */
int crinfo_show(const struct sc_image *img, const struct cr_tiers *tiers, FILE *out);
/* One process's part of the summary, the rest of the image aside. */
void crinfo_show_proc(const struct sc_proc_img *p, struct cr_mem *mem, struct cr_syms *syms,
		      FILE *out);
int crinfo_json(const struct sc_image *img, const struct cr_tiers *tiers, FILE *out, char *err);

/* "running", or "in syscall NAME" for a thread frozen in (or at) one. */
const char *cr_thread_state(struct cr_mem *mem, const Sc__ThreadCore *t, char *buf, size_t len);
/* The name of an x86_64 syscall a thread may block in, or NULL. */
const char *cr_syscall_name(uint64_t nr);

/* ---- verify.c / check.c ---- */
/* flush_dir: the shared tier, as cr_image_tiers takes it. */
int crinfo_verify(const char *dir, const char *flush_dir, FILE *out);
int crinfo_check(FILE *out);
/* Can img be restored on this machine, by this user? Prints one line per
 * check; 0 when every one passes. */
int crinfo_check_image(const struct sc_image *img, FILE *out);

/* ---- history.c: crinfo history DIR (a job crrun ran) ---- */
int crinfo_history(const char *dir, FILE *out);
/* ---- tiers.c: a job's two tiers (doc/tiers.md) ---- */
#define CR_TIERS 2 /* local, shared */
extern const char *const cr_tier_names[CR_TIERS];
/* Each generation of the tiers (local, shared), and which hold it
 * complete; 0 if any does. */
int crinfo_tiers(const char *const tiers[CR_TIERS], FILE *out);
/* What a tier holds of a generation, in a few words. */
#define CR_TIER_WHAT_LEN (SC_ERR_LEN + 32)
/*
 * The tiers of an image that is a generation ckpt-N of a SELFCKPT_DIR
 * with a shared tier, and what each holds of it: gen 0 when it is not
 * one, or its shared tier is not known. dir[i] is "" for a tier not
 * known (the local one of an image on the shared tier).
 */
struct cr_tiers {
	unsigned long gen;
	char dir[CR_TIERS][PATH_MAX];
	bool complete[CR_TIERS];
	char what[CR_TIERS][CR_TIER_WHAT_LEN]; /* "" for absent */
};
/* The tiers of the image in dir: the shared one flush_dir, else the one
 * crflush recorded in its SELFCKPT_DIR (SC_FLUSH_TO). */
void cr_image_tiers(const char *dir, const char *flush_dir, struct cr_tiers *t);
/* "complete", "absent", "incomplete: why", "being written (NAME)"... */
const char *cr_tier_state(const struct cr_tiers *t, unsigned tier);
/* "generation N: local complete (DIR); shared absent (DIR)" into buf,
 * of CR_TIERS_SUMMARY_LEN bytes. */
#define CR_TIERS_SUMMARY_LEN (CR_TIERS * (PATH_MAX + CR_TIER_WHAT_LEN + 16) + 32)
const char *cr_tiers_summary(const struct cr_tiers *t, char *buf, size_t len);

#endif
