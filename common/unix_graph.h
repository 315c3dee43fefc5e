/* SPDX-License-Identifier: MIT */
/*
 * The unix-socket graph: sockets by inode, each connected to its peer,
 * waiting in a listener's accept queue or holding such a queue. One model
 * for all who ask: the runtime over what sock_diag says of every socket
 * of the system (runtime/fd_unix.c, tree_scan.c), crload and the image
 * reader over an image's records (loader/fd_unix.c, tree_shared.c,
 * common/fd_checks.c, image.c).
 *
 * The runtime asks it in its signal handler: every function here is pure,
 * on arrays the caller provides, allocates nothing and calls no libc but
 * memory functions (tests/build/freeze_symbols.sh).
 */
#ifndef SELFCKPT_UNIX_GRAPH_H
#define SELFCKPT_UNIX_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fd.pb-c.h"

/* One unix socket, as one process holds it. */
struct unix_node {
	uint64_t ino;
	uint64_t peer; /* the socket it is connected to; 0: none */
	uint64_t listener; /* the listener whose queue it waits in; 0: none */
	const uint64_t *queue; /* a listener's clients waiting, oldest first */
	size_t nqueue;
	const void *data; /* the caller's: its record */
	uint32_t owner; /* the caller's: which process holds it */
	uint8_t type; /* SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET */
	bool named; /* bound to a name */
	bool listening;
};

/* The caller's nodes; unix_graph_index sorts them by inode, then owner. */
struct unix_graph {
	struct unix_node *v;
	size_t n;
};

/* n as record f says, held by process owner (listener: not yet known). */
void unix_node_of_fd(struct unix_node *n, const Sc__Fd *f, uint32_t owner);

/* Sorts g's nodes and links each client to the listener whose queue
 * holds it; before any other question. */
void unix_graph_index(struct unix_graph *g);

/* The first node of socket ino (the lowest owner), or NULL; *count (if
 * asked) how many nodes it has, one after another from there. */
struct unix_node *unix_graph_find(const struct unix_graph *g, uint64_t ino, size_t *count);

/* A socket one owner holds twice, or NULL. */
const struct unix_node *unix_graph_repeated(const struct unix_graph *g);

/* The other half of socket ino when the two are a socketpair (connected
 * to each other, neither named), else 0. */
uint64_t unix_graph_pair_peer(const struct unix_graph *g, uint64_t ino);

/* The sockets a stream or seqpacket socket is joined to: its peer, the
 * listener it waits in, a listener's waiting clients; how many were put
 * in out (at most max). */
size_t unix_graph_links(const struct unix_graph *g, uint64_t ino, uint64_t *out, size_t max);

/* What a record alone tells. */

/* e is connected and both ends unnamed: a socketpair's half (or one whose
 * other end is gone). */
bool unix_fd_is_pair(const Sc__Fd *e);

/* Connection c can wait in listener l's queue. */
bool unix_fd_queueable(const Sc__Fd *l, const Sc__Fd *c);

/* l listens on name for sockets of type. */
bool unix_fd_listens_on(const Sc__Fd *l, uint32_t type, const ProtobufCBinaryData *name);

#endif
