// SPDX-License-Identifier: MIT
/*
 * crinfo tiers LOCAL SHARED: which tiers hold each generation of a job
 * complete (doc/tiers.md). A generation is complete on a tier when its
 * ckpt-N there loads with its whole chain on that tier, every file but
 * the pages checked against its checksum (the pages' sizes only: crinfo
 * verify reads them all). What a writer or a flush left half way, under
 * its temporary name, is listed too: never complete.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crinfo.h"
#include "image.h"
#include "tiers.h"

#define MAX_GENS 4096
#define WHAT_LEN CR_TIER_WHAT_LEN

const char *const cr_tier_names[CR_TIERS] = { "local", "shared" };

/* Each generation seen on any tier, by number, and what each tier has. */
struct seen {
	unsigned long n[MAX_GENS];
	size_t count;
};

static void note(struct seen *s, unsigned long g)
{
	for (size_t i = 0; i < s->count; i++)
		if (s->n[i] == g)
			return;
	if (s->count < MAX_GENS)
		s->n[s->count++] = g;
}

static void scan(const char *dir, struct seen *s)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	long pid;

	while (d && (e = readdir(d))) {
		unsigned long g = sc_tier_generation(e->d_name);

		if (g || (g = sc_tier_leftover(e->d_name, &pid)))
			note(s, g);
	}
	if (d)
		closedir(d);
}

/* What dir holds of generation g, in a few words into what (WHAT_LEN),
 * "" if nothing: true if complete. */
static bool state_on(const char *dir, unsigned long g, char *what)
{
	char path[PATH_MAX], why[SC_ERR_LEN];
	struct sc_image img = { 0 };
	struct dirent *e;
	bool whole = false;
	long pid;
	DIR *d;

	what[0] = '\0';
	if (!dir || !(d = opendir(dir)))
		return false;
	while ((e = readdir(d)))
		if (sc_tier_generation(e->d_name) == g) {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			whole = !sc_image_load_to_fill(path, &img, why);
			sc_image_free(&img);
			snprintf(what, WHAT_LEN, "%s%s", whole ? "complete" : "incomplete: ",
				 whole ? "" : why);
			break;
		} else if (sc_tier_leftover(e->d_name, &pid) == g) {
			snprintf(what, WHAT_LEN, "%s (%s)",
				 kill((pid_t)pid, 0) && errno == ESRCH ? "left half written"
								       : "being written",
				 e->d_name);
		}
	closedir(d);
	return whole;
}

int crinfo_tiers(const char *const tiers[CR_TIERS], FILE *out)
{
	struct seen *s = calloc(1, sizeof(*s));
	char what[WHAT_LEN];
	size_t complete = 0;

	if (!s)
		return 1;
	for (unsigned t = 0; t < CR_TIERS; t++)
		scan(tiers[t], s);
	qsort(s->n, s->count, sizeof(s->n[0]), sc_tier_newest_first);
	for (size_t i = 0; i < s->count; i++) {
		bool any = false;

		fprintf(out, "generation %lu\n", s->n[i]);
		for (unsigned t = 0; t < CR_TIERS; t++) {
			any |= state_on(tiers[t], s->n[i], what);
			fprintf(out, "  %-7s %s\n", cr_tier_names[t], what[0] ? what : "-");
		}
		complete += any;
	}
	fprintf(out, "%zu generation(s), %zu complete on a tier at least\n", s->count, complete);
	free(s);
	return complete ? 0 : 1;
}

/* The tier dir/name links to, as crflush recorded it, into tier
 * (PATH_MAX): false if it did not. */
static bool recorded_tier(const char *dir, const char *name, char *tier)
{
	char link[PATH_MAX + NAME_MAX + 2];
	ssize_t n;

	snprintf(link, sizeof(link), "%s/%s", dir, name);
	if ((n = readlink(link, tier, PATH_MAX - 1)) <= 0)
		return false;
	tier[n] = '\0';
	return true;
}

void cr_image_tiers(const char *dir, const char *flush_dir, struct cr_tiers *t)
{
	char real[PATH_MAX], local[PATH_MAX] = "", shared[PATH_MAX], *slash;
	unsigned long g;

	memset(t, 0, sizeof(*t));
	if (!realpath(dir, real) || !(slash = strrchr(real, '/')) ||
	    !(g = sc_tier_generation(slash + 1)))
		return;
	slash[slash == real] = '\0'; /* its SELFCKPT_DIR, "/" kept */
	/* The shared tier: given, or named by the image's SELFCKPT_DIR, or
	 * that directory itself when it names the tier flushed to it. */
	if (flush_dir ? !realpath(flush_dir, shared)
		      : !recorded_tier(real, SC_FLUSH_TO, shared) &&
				!recorded_tier(real, SC_FLUSH_FROM, local))
		return;
	if (local[0])
		snprintf(shared, sizeof(shared), "%s", real);
	t->gen = g;
	/* An image of the shared tier itself: its local tier is the one
	 * flushed to it last, if known (it may be another node's). */
	if (strcmp(real, shared))
		snprintf(local, sizeof(local), "%s", real);
	else if (!local[0])
		recorded_tier(shared, SC_FLUSH_FROM, local);
	snprintf(t->dir[0], PATH_MAX, "%s", local);
	snprintf(t->dir[1], PATH_MAX, "%s", shared);
	for (unsigned i = 0; i < CR_TIERS; i++)
		if (t->dir[i][0])
			t->complete[i] = state_on(t->dir[i], g, t->what[i]);
}

const char *cr_tier_state(const struct cr_tiers *t, unsigned tier)
{
	return t->what[tier][0] ? t->what[tier] : "absent";
}

const char *cr_tiers_summary(const struct cr_tiers *t, char *buf, size_t len)
{
	size_t n = (size_t)snprintf(buf, len, "generation %lu", t->gen);
	const char *sep = ": ";

	for (unsigned i = 0; i < CR_TIERS && n < len; i++)
		if (t->dir[i][0]) {
			n += (size_t)snprintf(buf + n, len - n, "%s%s %s (%s)", sep,
					      cr_tier_names[i], cr_tier_state(t, i), t->dir[i]);
			sep = "; ";
		}
	return buf;
}
