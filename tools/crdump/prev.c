// SPDX-License-Identifier: MIT
/*
 * crdump --prev DIR: an incremental image against an earlier image of the
 * same tree, crdump's or the runtime's (doc/incremental.md). crdump has no
 * dirty tracking of its own (this kernel has no soft-dirty bits, and the
 * process is not its to arm): it reads every page as always, and leaves
 * to the parent each page whose bytes the parent holds at that address,
 * read through the parent's own chain. What it saves is the writing and
 * the room, not the reading.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdump.h"

/* The parent's bytes are read this much of a run at a time. */
#define WINDOW (1UL << 20)

struct cd_prev_proc {
	const struct sc_proc_img *p;
	struct sc_pages pg;
	uint8_t *win;
	uint64_t win_start, win_len;
};

/* The path of dir as a parent of the image dst: "../NAME" beside it, else
 * absolute. */
static int relative_parent(const char *dir, const char *dst, char *out, size_t len, char *err)
{
	char real[PATH_MAX], dst_parent[PATH_MAX], *copy = strdup(dst), *name;
	size_t n;

	if (!copy)
		return snprintf(err, CD_ERR_LEN, "out of memory"), -1;
	if (!realpath(dir, real) || !realpath(dirname(copy), dst_parent)) {
		snprintf(err, CD_ERR_LEN, "%s: %s", dir, strerror(errno));
		free(copy);
		return -1;
	}
	free(copy);
	name = strrchr(real, '/');
	if (name && (size_t)(name - real) == strlen(dst_parent) &&
	    !strncmp(real, dst_parent, (size_t)(name - real)))
		n = (size_t)snprintf(out, len, "..%s", name);
	else
		n = (size_t)snprintf(out, len, "%s", real);
	if (n >= len)
		return snprintf(err, CD_ERR_LEN, "%s: the path is too long", dir), -1;
	return 0;
}

int cd_prev_load(const char *dir, const char *dst, pid_t root, struct cd_prev *prev, char *err)
{
	char why[SC_ERR_LEN];

	err[0] = '\0';
	if (sc_image_load(dir, &prev->img, why))
		return snprintf(err, CD_ERR_LEN, "--prev %s: %.400s", dir, why), -1;
	if (prev->img.inv->n_procs == 0 || prev->img.inv->procs[0]->pid != root)
		return snprintf(err, CD_ERR_LEN,
				"--prev %s is an image of the tree of pid %d, not of %d", dir,
				prev->img.inv->n_procs ? prev->img.inv->procs[0]->pid : 0, root),
		       -1;
	return relative_parent(dir, dst, prev->path, sizeof(prev->path), err);
}

struct cd_prev_proc *cd_prev_proc(struct cd_prev *prev, pid_t pid, char *err)
{
	struct cd_prev_proc *pp;
	char why[SC_ERR_LEN];
	const struct sc_proc_img *p = sc_image_proc(&prev->img, pid);

	if (!p)
		return NULL; /* new since: all its pages are stored */
	pp = calloc(1, sizeof(*pp));
	if (!pp || !(pp->win = malloc(WINDOW))) {
		free(pp);
		snprintf(err, CD_ERR_LEN, "out of memory");
		return NULL;
	}
	pp->p = p;
	if (sc_pages_open(&pp->pg, &prev->img, p, why)) {
		snprintf(err, CD_ERR_LEN, "--prev: %.400s", why);
		cd_prev_proc_free(pp);
		return NULL;
	}
	return pp;
}

void cd_prev_proc_free(struct cd_prev_proc *pp)
{
	if (!pp)
		return;
	if (pp->pg.fds)
		sc_pages_close(&pp->pg);
	free(pp->win);
	free(pp);
}

bool cd_prev_same(void *arg, uint64_t vaddr, const uint8_t *data)
{
	struct cd_prev_proc *pp = arg;
	const struct sc_run *r;

	if (vaddr < pp->win_start || vaddr + SC_PAGE_SIZE > pp->win_start + pp->win_len) {
		uint64_t run_end;

		/* Where the parent stores nothing its page is zero, and a page
		 * crdump asks about is not. */
		r = sc_run_at(pp->p, vaddr);
		if (!r)
			return false;
		run_end = r->vaddr + r->nr_pages * SC_PAGE_SIZE;
		pp->win_start = vaddr;
		pp->win_len = run_end - vaddr < WINDOW ? run_end - vaddr : WINDOW;
		if (sc_pages_read(&pp->pg, r, vaddr, pp->win, pp->win_len)) {
			pp->win_len = 0;
			return false; /* unreadable: stored here instead */
		}
	}
	return !memcmp(pp->win + (vaddr - pp->win_start), data, SC_PAGE_SIZE);
}
