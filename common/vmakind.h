/* SPDX-License-Identifier: MIT */
/* Facts about VMA kinds shared by the runtime (writer) and the readers. */
#ifndef SELFCKPT_VMAKIND_H
#define SELFCKPT_VMAKIND_H

#include <stdbool.h>
#include <string.h>

#include "mm.pb-c.h"

/* Kinds whose contents (some of them) live in pages-PID.img. */
static inline bool sc_vma_stores_pages(const Sc__Vma *v)
{
	return v->kind == SC__VMA_KIND__ANON_PRIVATE || v->kind == SC__VMA_KIND__ANON_SHARED ||
	       v->kind == SC__VMA_KIND__FILE_PRIVATE;
}

/* An attachment of a SysV shm segment: "/SYSVKEY (deleted)" on the shm
 * mount, whose inode is the segment's id. */
static inline bool sc_vma_is_sysv(const Sc__Vma *v)
{
	return v->kind == SC__VMA_KIND__ANON_SHARED && v->path && !strncmp(v->path, "/SYSV", 5) &&
	       v->has_ino;
}

#endif
