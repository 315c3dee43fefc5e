/* SPDX-License-Identifier: MIT */
/*
 * selfckpt_beacon: what crdump reads from outside a process that runs the
 * runtime, to ask it for an image instead of capturing it with ptrace
 * (doc/crdump.md). A dynamic symbol of libselfckpt.so, so that it is
 * found even in a stripped library; the pointers are the process's own.
 */
#ifndef SELFCKPT_BEACON_H
#define SELFCKPT_BEACON_H

#include <stdint.h>

#define SELFCKPT_BEACON_SYMBOL "selfckpt_beacon"
#define SELFCKPT_BEACON_VERSION 1

struct selfckpt_beacon {
	uint32_t version;
	const int *trigger_sig;	/* the signal that asks for a checkpoint */
	const char *dir;	/* where images go: dir/ckpt-NNNN, dir/latest */
};

#endif
