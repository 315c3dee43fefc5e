// SPDX-License-Identifier: MIT
/*
 * crload DIR on a generations directory (a SELFCKPT_DIR: ckpt-N images
 * and "latest"), and on the shared tier it is flushed to (--flush-dir,
 * doc/tiers.md), the local copy first when as new: the newest image that
 * loads, every file checked against
 * its checksum (an incremental one's whole chain too), is the one restored. A damaged newer one is skipped with
 * one line saying which file and why, so that a checkpoint cut short by a
 * crash or a bad disk costs one generation, never the job
 * (doc/faults.md).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "restore.h"
#include "tiers.h"

struct generation {
	unsigned long n;
	unsigned tier; /* 0: the local one, first when as new */
	char *path;
};

static int newest_first(const void *a, const void *b)
{
	const struct generation *x = a, *y = b;

	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return x->tier > y->tier ? 1 : x->tier < y->tier ? -1 : 0;
}

/* The generations in the tiers' directories (NULL for none), newest
 * first, the local copy before the shared one of the same generation:
 * how many (0 also when none can be read: the local one is then read as
 * an image, which says why not). */
static size_t list_generations(const char *const tiers[SC_TIERS], struct generation **out)
{
	struct generation *gens = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;

	for (unsigned t = 0; t < SC_TIERS; t++) {
		DIR *d = tiers[t] ? opendir(tiers[t]) : NULL;

		while (d && (e = readdir(d))) {
			unsigned long g = sc_tier_generation(e->d_name);

			if (!g)
				continue;
			if (n == cap) {
				struct generation *more;

				cap = cap * 2 + 8;
				more = realloc(gens, cap * sizeof(*gens));
				if (!more)
					break;
				gens = more;
			}
			gens[n].n = g;
			gens[n].tier = t;
			if (asprintf(&gens[n].path, "%s/%s", tiers[t], e->d_name) < 0)
				break;
			n++;
		}
		if (d)
			closedir(d);
	}
	qsort(gens, n, sizeof(*gens), newest_first);
	*out = gens;
	return n;
}

static void free_generations(struct generation *gens, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(gens[i].path);
	free(gens);
}

/*
 * The generation being restored is held against a checkpoint pruning old
 * ones (doc/retention.md): a shared flock on its directory, taken as it is
 * opened, which the pruner's LOCK_EX|LOCK_NB respects. The pruner renames
 * a generation away only while it holds the lock, so a name that still
 * leads to the locked directory is safe until release_generation(). An
 * incremental image's parents are held the same way, once its chain has
 * loaded.
 */
static int held[SC_CHAIN_MAX];
static size_t nheld;

static int hold(const char *dir, char *why)
{
	struct stat locked, named;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(why, SC_ERR_LEN, "%s", strerror(errno));
		return -1;
	}
	while (flock(fd, LOCK_SH) && errno == EINTR)
		;
	if (fstat(fd, &locked) || stat(dir, &named) || locked.st_dev != named.st_dev ||
	    locked.st_ino != named.st_ino || nheld == SC_CHAIN_MAX) {
		snprintf(why, SC_ERR_LEN, "removed by a checkpoint meanwhile");
		close(fd);
		return -1;
	}
	held[nheld++] = fd;
	return 0;
}

/* The parents of img's chain, held: 0, or -1 with why set. */
static int hold_parents(const struct sc_image *img, char *why)
{
	char which[SC_ERR_LEN];

	for (const struct sc_image *gi = img->parent; gi; gi = gi->parent)
		if (hold(gi->dir, which))
			return sc_err(why, "parent image %s: %s", gi->dir, which);
	return 0;
}

void release_generation(void)
{
	while (nheld)
		close(held[--nheld]);
}

static bool is_image(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, SC_INVENTORY_FILE);
	return !access(path, F_OK);
}

/* Whether path is one of the generations a crload before found damaged. */
static bool found_damaged(const char *path)
{
	const char *list = getenv(DAMAGED_ENV);
	size_t len = strlen(path);

	for (const char *at = list; at && *at; at = strchr(at, ':') ? strchr(at, ':') + 1 : "")
		if (!strncmp(at, path, len) && (at[len] == ':' || !at[len]))
			return true;
	return false;
}

bool has_generations(const char *const tiers[SC_TIERS])
{
	struct generation *gens = NULL;
	size_t n = list_generations(tiers, &gens);

	free_generations(gens, n);
	return n > 0;
}

/* How a generation is loaded: its pages checked as crload fills memory
 * (sc_image_load_to_fill), or whole first (sc_image_load). */
typedef int (*image_loader)(const char *dir, struct sc_image *img, char *err);

static int load_with(image_loader load, const char *const tiers[SC_TIERS], struct sc_image *img,
		     char *chosen, char *err, bool quiet)
{
	const char *dir = tiers[0];
	struct generation *gens = NULL;
	char why[SC_ERR_LEN];
	size_t n = 0, i;
	int rc = -1;

	snprintf(chosen, PATH_MAX, "%s", dir);
	if (is_image(dir) || !(n = list_generations(tiers, &gens))) {
		free(gens);
		/* Held too. Failing that, it is gone (loading it says so), or
		 * it is "latest", moved on meanwhile to the newest generation,
		 * which is pruned only once SELFCKPT_KEEP newer ones exist. */
		hold(dir, why);
		return load(dir, img, err) || hold_parents(img, err) ? -1 : 0;
	}
	for (i = 0; i < n && rc; i++) {
		if (found_damaged(gens[i].path))
			continue;
		snprintf(chosen, PATH_MAX, "%s", gens[i].path);
		rc = hold(chosen, why);
		if (!rc && (rc = load(chosen, img, why) || hold_parents(img, why)))
			sc_image_free(img);
		if (rc) {
			if (!quiet)
				fprintf(stderr, "crload: %s: skipped: %s\n", chosen, why);
			release_generation();
		}
	}
	if (rc) {
		snprintf(chosen, PATH_MAX, "%s", dir);
		sc_err(err, "none of its %zu generations verifies", n);
	}
	free_generations(gens, n);
	return rc;
}

int load_image(const char *const tiers[SC_TIERS], struct sc_image *img, char *chosen, char *err,
	       bool quiet)
{
	return load_with(sc_image_load_to_fill, tiers, img, chosen, err, quiet);
}

int load_image_whole(const char *const tiers[SC_TIERS], struct sc_image *img, char *chosen,
		     char *err, bool quiet)
{
	return load_with(sc_image_load, tiers, img, chosen, err, quiet);
}
