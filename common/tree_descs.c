// SPDX-License-Identifier: MIT
/* The descriptions a tree shares (tree_descs.h): the caller's nodes
 * sorted, and binary searches. */
#include "heap_sort.h"
#include "tree_descs.h"

static bool before(const struct tree_desc *a, const struct tree_desc *b)
{
	if (a->kind != b->kind)
		return a->kind < b->kind;
	if (a->id != b->id)
		return a->id < b->id;
	return a->owner != b->owner ? a->owner < b->owner : a->fd < b->fd;
}

SC_HEAP_SORT(sort_descs, struct tree_desc, before)

void tree_descs_index(struct tree_descs *t)
{
	sort_descs(t->v, t->n);
}

struct tree_desc *tree_descs_find(const struct tree_descs *t, uint8_t kind, uint64_t id,
				  size_t *count)
{
	size_t lo = 0, hi = t->n, end;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct tree_desc *m = &t->v[mid];

		if (m->kind < kind || (m->kind == kind && m->id < id))
			lo = mid + 1;
		else
			hi = mid;
	}
	for (end = lo; end < t->n && t->v[end].kind == kind && t->v[end].id == id; end++)
		;
	if (count)
		*count = end - lo;
	return end > lo ? &t->v[lo] : NULL;
}

size_t tree_descs_holders(const struct tree_descs *t, uint8_t kind, uint64_t id)
{
	size_t count, holders = 0;
	const struct tree_desc *d = tree_descs_find(t, kind, id, &count);

	for (size_t i = 0; i < count; i++)
		holders += !i || d[i].owner != d[i - 1].owner;
	return holders;
}

const struct tree_desc *tree_descs_of(const struct tree_descs *t, uint8_t kind, uint64_t id,
				      int pid)
{
	size_t count;
	const struct tree_desc *d = tree_descs_find(t, kind, id, &count);

	for (size_t i = 0; i < count; i++)
		if (d[i].pid == pid)
			return &d[i];
	return NULL;
}

const struct tree_desc *tree_descs_elsewhere(const struct tree_descs *t, uint8_t kind, uint64_t id,
					     uint32_t owner)
{
	size_t count, i = 0;
	const struct tree_desc *d = tree_descs_find(t, kind, id, &count);

	/* owner's nodes are together: the first node, or the first past them. */
	while (i < count && d[i].owner == owner)
		i++;
	return i < count ? &d[i] : NULL;
}

size_t tree_descs_of_fds(struct tree_desc *v, const Sc__Fds *fds, uint32_t owner, int pid)
{
	size_t n = 0;

	for (size_t k = 0; k < fds->n_fds; k++) {
		const Sc__Fd *f = fds->fds[k];
		struct tree_desc d = { .data = f, .owner = owner, .pid = pid, .fd = f->fd };

		if (f->kind == SC__FD_KIND__PIPE) {
			d.kind = TREE_PIPE_END;
			d.id = f->pipe_id;
		} else if (f->kind != SC__FD_KIND__PTY_MASTER && f->has_pty_id) {
			d.kind = TREE_PTY_SLAVE;
			d.id = f->pty_id;
		} else {
			continue;
		}
		v[n++] = d;
	}
	for (size_t k = 0; k < fds->n_pipes; k++)
		v[n++] = (struct tree_desc){ .kind = TREE_PIPE,
					     .id = fds->pipes[k]->id,
					     .data = fds->pipes[k],
					     .owner = owner,
					     .pid = pid,
					     .fd = -1 };
	return n;
}

const Sc__Pipe *tree_descs_pipe_bytes(const struct tree_descs *t, const Sc__Pipe *p)
{
	const struct tree_desc *k =
		p->has_data_pid ? tree_descs_of(t, TREE_PIPE, p->id, p->data_pid) : NULL;

	return k ? k->data : p;
}

bool tree_descs_keeps_pipe(const struct tree_descs *t, int pid, uint64_t id)
{
	const struct tree_desc *r = tree_descs_of(t, TREE_PIPE, id, pid);

	return tree_descs_of(t, TREE_PIPE_END, id, pid) && r &&
	       !((const Sc__Pipe *)r->data)->has_data_pid;
}
