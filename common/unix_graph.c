// SPDX-License-Identifier: MIT
/* The unix-socket graph (unix_graph.h): the caller's nodes sorted, and
 * binary searches. */
#include <string.h>
#include <sys/socket.h>

#include "heap_sort.h"
#include "unix_graph.h"

void unix_node_of_fd(struct unix_node *n, const Sc__Fd *f, uint32_t owner)
{
	const Sc__UnixSocket *u = f->unix_sock;

	*n = (struct unix_node){ .ino = f->sock_ino,
				 .peer = f->peer_ino,
				 .queue = u->pending,
				 .nqueue = u->n_pending,
				 .data = f,
				 .owner = owner,
				 .type = (uint8_t)f->sock_type,
				 .named = u->has_name,
				 .listening = u->state == SC__UNIX_SOCKET__STATE__LISTEN };
}

static bool before(const struct unix_node *a, const struct unix_node *b)
{
	return a->ino != b->ino ? a->ino < b->ino : a->owner < b->owner;
}

SC_HEAP_SORT(sort_nodes, struct unix_node, before)

void unix_graph_index(struct unix_graph *g)
{
	struct unix_node *v = g->v;

	sort_nodes(v, g->n);
	for (size_t i = 0; i < g->n; i++)
		v[i].listener = 0;
	for (size_t i = 0; i < g->n; i++)
		for (size_t j = 0; j < v[i].nqueue; j++) {
			size_t count;
			struct unix_node *c = unix_graph_find(g, v[i].queue[j], &count);

			for (size_t k = 0; k < count; k++)
				c[k].listener = v[i].ino;
		}
}

struct unix_node *unix_graph_find(const struct unix_graph *g, uint64_t ino, size_t *count)
{
	size_t lo = 0, hi = g->n, end;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (g->v[mid].ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < g->n && g->v[end].ino == ino; end++)
		;
	if (count)
		*count = end - lo;
	return end > lo ? &g->v[lo] : NULL;
}

const struct unix_node *unix_graph_repeated(const struct unix_graph *g)
{
	for (size_t i = 1; i < g->n; i++)
		if (g->v[i].ino == g->v[i - 1].ino && g->v[i].owner == g->v[i - 1].owner)
			return &g->v[i];
	return NULL;
}

uint64_t unix_graph_pair_peer(const struct unix_graph *g, uint64_t ino)
{
	const struct unix_node *t = unix_graph_find(g, ino, NULL);
	const struct unix_node *p = t && t->peer ? unix_graph_find(g, t->peer, NULL) : NULL;

	return p && !t->named && !p->named && p->peer == t->ino ? t->peer : 0;
}

size_t unix_graph_links(const struct unix_graph *g, uint64_t ino, uint64_t *out, size_t max)
{
	const struct unix_node *t = unix_graph_find(g, ino, NULL);
	size_t n = 0;

	if (!t || t->type == SOCK_DGRAM)
		return 0;
	if (t->peer && n < max)
		out[n++] = t->peer;
	if (t->listener && n < max)
		out[n++] = t->listener;
	for (size_t i = 0; t->listening && i < t->nqueue && n < max; i++)
		out[n++] = t->queue[i];
	return n;
}

bool unix_fd_is_pair(const Sc__Fd *e)
{
	const Sc__UnixSocket *u = e->unix_sock;

	return u->state == SC__UNIX_SOCKET__STATE__CONNECTED && !u->has_name && !u->has_peer_name;
}

bool unix_fd_queueable(const Sc__Fd *l, const Sc__Fd *c)
{
	return c->sock_type == l->sock_type &&
	       c->unix_sock->state == SC__UNIX_SOCKET__STATE__CONNECTED &&
	       c->unix_sock->has_peer_name && !c->unix_sock->accepted;
}

bool unix_fd_listens_on(const Sc__Fd *l, uint32_t type, const ProtobufCBinaryData *name)
{
	const Sc__UnixSocket *u = l->unix_sock;

	return u->state == SC__UNIX_SOCKET__STATE__LISTEN && l->sock_type == type && u->has_name &&
	       u->name.len == name->len && !memcmp(u->name.data, name->data, name->len);
}
