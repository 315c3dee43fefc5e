/* SPDX-License-Identifier: MIT */
/*
 * The two instruction sequences the restorer leaves a process through
 * when the process has no runtime tail (doc/restore.md).
 */
#ifndef SELFCKPT_GADGETS_H
#define SELFCKPT_GADGETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Addresses in the restored process; 0: not found yet. */
struct sc_gadgets {
	uint64_t syscall_ret; /* syscall; ret */
	uint64_t sigreturn; /* mov $15, %eax (or %rax); syscall */
};

/* Looks for the gadgets still missing in g in len bytes at mem, which the
 * restored process will execute at address final. True once g has both. */
bool sc_find_gadgets(const void *mem, size_t len, uint64_t final, struct sc_gadgets *g);

/* Writes both gadgets at the start of page, which will be at final. */
void sc_write_gadgets(void *page, uint64_t final, struct sc_gadgets *g);

#endif
