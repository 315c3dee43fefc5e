/* SPDX-License-Identifier: MIT */
/* Facts about VMA kinds shared by the runtime (writer) and the readers. */
#ifndef SELFCKPT_VMAKIND_H
#define SELFCKPT_VMAKIND_H

#include <stdbool.h>
#include <string.h>

#include "mm.pb-c.h"

/* A shared mapping of a file in memory, whose pages the image holds. */
static inline bool sc_vma_is_file_in_memory(const Sc__Vma *v)
{
	return v->kind == SC__VMA_KIND__FILE_SHARED && v->has_file_in_memory && v->file_in_memory;
}

/* The mode crload makes a file in memory with when it is gone: for the
 * user alone, as the programs that make them ask (Open MPI's segments,
 * Python's SharedMemory). */
#define SC_FILE_IN_MEMORY_MODE 0600

/* Shared memory whose pages the image holds: what the program writes
 * there shows in every other mapping of it, in this process or another. */
static inline bool sc_vma_is_stored_shared(const Sc__Vma *v)
{
	return v->kind == SC__VMA_KIND__ANON_SHARED || sc_vma_is_file_in_memory(v);
}

/* VMAs whose contents (some of them) live in pages-PID.img. */
static inline bool sc_vma_stores_pages(const Sc__Vma *v)
{
	return v->kind == SC__VMA_KIND__ANON_PRIVATE || v->kind == SC__VMA_KIND__FILE_PRIVATE ||
	       sc_vma_is_stored_shared(v);
}

/* An attachment of a SysV shm segment: "/SYSVKEY (deleted)" on the shm
 * mount, whose inode is the segment's id. */
static inline bool sc_vma_is_sysv(const Sc__Vma *v)
{
	return v->kind == SC__VMA_KIND__ANON_SHARED && v->path && !strncmp(v->path, "/SYSV", 5) &&
	       v->has_ino;
}

#endif
