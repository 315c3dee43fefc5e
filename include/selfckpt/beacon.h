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
/* 2 added outcome; a version 1 beacon ends before it. */
#define SELFCKPT_BEACON_VERSION 2
#define SELFCKPT_WHY_LEN 512

/* How the checkpoints the process took ended, the last one's reason. */
struct selfckpt_outcome {
	uint32_t ended; /* checkpoints ended so far, either way: written last */
	int32_t err; /* the last one's: 0, or -errno when it failed */
	char why[SELFCKPT_WHY_LEN]; /* the last failure, as the log says it */
};

struct selfckpt_beacon {
	uint32_t version;
	const int *trigger_sig;	/* the signal that asks for a checkpoint */
	const char *dir;	/* where images go: dir/ckpt-NNNN, dir/latest */
	const struct selfckpt_outcome *outcome; /* since version 2 */
};

#endif
