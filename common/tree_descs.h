/* SPDX-License-Identifier: MIT */
/*
 * The descriptions the processes of a tree share, by what names them
 * across processes: a pipe by its id (the ends each process holds, each
 * process's record of it, and whose record keeps its bytes), and a pty by
 * its id (the descriptors on its slave side, in whichever process). One
 * model for all who ask: the runtime over the pipe ends it sees in the
 * tree's /proc/PID/fd (runtime/tree_scan.c), crload and the image reader
 * over an image's records (loader/tree_shared.c, common/image.c).
 *
 * The runtime asks it in its signal handler: every function here is pure,
 * on arrays the caller provides, allocates nothing and calls no libc but
 * memory functions (tests/build/freeze_symbols.sh).
 */
#ifndef SELFCKPT_TREE_DESCS_H
#define SELFCKPT_TREE_DESCS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fd.pb-c.h"

/* What a node's id names. */
enum tree_desc_kind {
	TREE_PIPE_END, /* a descriptor on pipe id (kind PIPE) */
	TREE_PIPE, /* a process's record of pipe id (an Sc__Pipe); fd -1 */
	TREE_PTY_SLAVE, /* a descriptor on the slave of pty id (any kind but a master) */
};

/* One descriptor, or record, of one process. */
struct tree_desc {
	uint64_t id;
	const void *data; /* the caller's: its record */
	uint32_t owner; /* the caller's number of the process: holders are in its order */
	int pid, fd;
	uint8_t kind; /* enum tree_desc_kind */
};

/* The caller's nodes; tree_descs_index sorts them by kind, id, owner,
 * then fd. */
struct tree_descs {
	struct tree_desc *v;
	size_t n;
};

/* Sorts t's nodes; before any question. */
void tree_descs_index(struct tree_descs *t);

/* The first node of id of kind (the lowest owner, its lowest fd), or
 * NULL; *count (if asked) how many it has, one after another from there. */
struct tree_desc *tree_descs_find(const struct tree_descs *t, uint8_t kind, uint64_t id,
				  size_t *count);

/* How many processes hold a node of id of kind. */
size_t tree_descs_holders(const struct tree_descs *t, uint8_t kind, uint64_t id);

/* The first node of id of kind that process pid holds, or NULL. */
const struct tree_desc *tree_descs_of(const struct tree_descs *t, uint8_t kind, uint64_t id,
				      int pid);

/* The first node of id of kind that a process other than owner holds,
 * or NULL. */
const struct tree_desc *tree_descs_elsewhere(const struct tree_descs *t, uint8_t kind, uint64_t id,
					     uint32_t owner);

/* What an image's records tell. */

/* The nodes of process owner (pid) whose descriptors and pipes fds
 * lists, into v (room for fds->n_fds + fds->n_pipes); how many. */
size_t tree_descs_of_fds(struct tree_desc *v, const Sc__Fds *fds, uint32_t owner, int pid);

/* The record of pipe p that holds its bytes: p, or the record of the
 * process its data_pid names, when that process has one. */
const Sc__Pipe *tree_descs_pipe_bytes(const struct tree_descs *t, const Sc__Pipe *p);

/* Process pid holds an end of pipe id and stores its bytes itself. */
bool tree_descs_keeps_pipe(const struct tree_descs *t, int pid, uint64_t id);

#endif
