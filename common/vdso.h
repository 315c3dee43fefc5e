/* SPDX-License-Identifier: MIT */
/*
 * The kernel's vDSO family ([vvar], [vvar_vclock], [vdso]) of this process
 * and whether an image's can be moved onto it: crload before restoring,
 * crinfo when asked whether an image can be restored here (libc world).
 */
#ifndef SELFCKPT_VDSO_H
#define SELFCKPT_VDSO_H

#include <stdbool.h>
#include <stdint.h>

#include "mm.pb-c.h"

struct sc_range {
	uint64_t start, end;
};

struct sc_vdso_layout {
	struct sc_range part[3]; /* vvar, vvar_vclock, vdso; empty if absent */
};

static inline bool sc_is_vdso_kind(const Sc__Vma *v)
{
	return v->kind == SC__VMA_KIND__VVAR || v->kind == SC__VMA_KIND__VVAR_VCLOCK ||
	       v->kind == SC__VMA_KIND__VDSO;
}

/* Reads /proc/self/maps: where this process's vDSO family is, and each
 * user-space mapping passed to each() (may be NULL; a non-zero return
 * stops with -1). 0, or -1 with errno set. */
int sc_own_maps(struct sc_vdso_layout *vd, int (*each)(void *arg, uint64_t start, uint64_t end),
		void *arg);

/* 0 when the image's vDSO family has this kernel's sizes and layout;
 * -1 with err set (SC_ERR_LEN bytes) otherwise. */
int sc_check_vdso(const Sc__Mm *mm, char *err);

#endif
