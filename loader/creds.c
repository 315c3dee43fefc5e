// SPDX-License-Identifier: MIT
/*
 * Credentials of the restored processes (doc/credentials.md). In crload,
 * before any process exists: the image's files are its owner's, and every
 * process's recorded credentials are ones the owner could have had
 * (common/creds.c). In each restored process: what its threads take in
 * the restorer, and which steps that needs.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "creds.h"
#include "procparse.h"
#include "restore.h"

/* Every file of the image is a regular file of the directory's owner:
 * nobody else could have put one in for the owner's processes to take. */
static int files_owned(const struct sc_image *img, uid_t owner, char *err)
{
	const Sc__Inventory *inv = img->inv;

	for (size_t i = 0; i <= inv->n_files; i++) {
		const char *name = i < inv->n_files ? inv->files[i]->name : SC_INVENTORY_FILE;
		struct stat st;

		if (fstatat(img->dirfd, name, &st, AT_SYMLINK_NOFOLLOW)) {
			sc_err(err, "%s: %s", name, strerror(errno));
			return -1;
		}
		if (!S_ISREG(st.st_mode)) {
			sc_err(err, "%s is not a regular file: refused", name);
			return -1;
		}
		if (st.st_uid != owner)
			return sc_err(
				err, "%s belongs to uid %u, the image directory to uid %u: refused",
				name, (unsigned)st.st_uid, (unsigned)owner);
	}
	return 0;
}

/* The owner's groups, as the group database has them; NULL and none for
 * a uid without a user name. */
static gid_t *owner_groups(const struct passwd *pw, int *n)
{
	gid_t *g = NULL;

	*n = 0;
	if (!pw)
		return NULL;
	for (int cap = 64;; cap *= 2) {
		gid_t *more = realloc(g, sizeof(*g) * (size_t)cap);

		if (!more) {
			free(g);
			return NULL;
		}
		g = more;
		*n = cap;
		if (getgrouplist(pw->pw_name, pw->pw_gid, g, n) >= 0)
			return g;
	}
}

/* Unprivileged, the processes keep crload's groups: the kernel lets it
 * set no others. Said when they differ from the recorded ones. */
static void note_groups(const struct sc_proc_img *p)
{
	const Sc__Creds *cr = p->core->creds;
	gid_t mine[SC_MAX_GROUPS];
	int n = getgroups(SC_MAX_GROUPS, mine);

	if (n == (int)cr->n_groups && !memcmp(mine, cr->groups, (size_t)n * sizeof(*mine)))
		return;
	fprintf(stderr,
		"crload: pid %d: takes crload's supplementary groups, not the %zu recorded: only "
		"root sets them\n",
		p->pid, cr->n_groups);
}

/*
 * Run as root for a user's image, crload opens the files, sockets and cwd
 * the image names, and the processes keep what it opened: with the
 * owner's file access, not root's. Only the filesystem ids and the groups
 * change; what needs root (set_tid, namespaces) still has it.
 */
static int take_owners_access(const struct passwd *pw, const gid_t *gids, int n, char *err)
{
	if (setgroups((size_t)n, gids)) {
		sc_err(err, "taking the groups of uid %u (%s): %s", (unsigned)pw->pw_uid,
		       pw->pw_name, strerror(errno));
		return -1;
	}
	setfsgid(pw->pw_gid);
	setfsuid(pw->pw_uid);
	/* Each returns the id it had; the new one shows on a second call. */
	if ((gid_t)setfsgid((gid_t)-1) != pw->pw_gid || (uid_t)setfsuid((uid_t)-1) != pw->pw_uid) {
		sc_err(err, "taking the file access of uid %u (%s)", (unsigned)pw->pw_uid,
		       pw->pw_name);
		return -1;
	}
	return 0;
}

/*
 * The owner of the image directory and its groups, and whether crload, as
 * it runs, may give every process its recorded credentials: nothing is
 * changed. *pw and *gids (free it) are the owner's, NULL for a uid
 * without a user name.
 */
static int creds_policy(const struct sc_image *img, struct sc_restorer *who, struct passwd **pw,
			gid_t **gids, int *n, char *err)
{
	struct stat st;

	*who = (struct sc_restorer){ .privileged = geteuid() == 0,
				     .uid = getuid(),
				     .gid = getgid() };
	*pw = NULL;
	*gids = NULL;
	*n = 0;
	if (fstat(img->dirfd, &st)) {
		sc_err(err, "%s", strerror(errno));
		return -1;
	}
	if (files_owned(img, st.st_uid, err))
		return -1;
	who->owner = st.st_uid;
	*pw = getpwuid(st.st_uid);
	who->owner_name = *pw ? (*pw)->pw_name : NULL;
	*gids = owner_groups(*pw, n);
	who->owner_gids = *gids;
	who->n_owner_gids = *gids ? (size_t)*n : 0;
	for (size_t i = 0; i < img->nprocs; i++)
		if (sc_creds_refused(img->procs[i].core->creds, img->procs[i].pid, who, err))
			return -1;
	return 0;
}

int creds_check(const struct sc_image *img, char *err)
{
	struct sc_restorer who;
	struct passwd *pw;
	gid_t *gids;
	int n, r = creds_policy(img, &who, &pw, &gids, &n, err);

	free(gids);
	return r;
}

/*
 * The credentials crload runs with, as a record of the image's, for a
 * process whose image has none (an older selfckpt wrote it): it runs as
 * crload does, as such a process always did.
 */
static Sc__Creds *own_creds(char *err)
{
	static char status[16384];
	Sc__Creds *cr = malloc(sizeof(*cr));
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t len = fd < 0 ? -1 : read(fd, status, sizeof(status));
	struct pp_creds pc;

	if (fd >= 0)
		close(fd);
	if (!cr || len <= 0 || pp_parse_status_creds(status, (size_t)len, &pc, NULL, 0)) {
		free(cr);
		sc_err(err, "reading crload's own credentials");
		return NULL;
	}
	sc__creds__init(cr);
	cr->groups = malloc(sizeof(*cr->groups) * (pc.n_groups ? pc.n_groups : 1));
	if (!cr->groups ||
	    pp_parse_status_creds(status, (size_t)len, &pc, cr->groups, pc.n_groups)) {
		free(cr->groups);
		free(cr);
		sc_err(err, "reading crload's own credentials");
		return NULL;
	}
	sc_creds_from_status(cr, &pc);
	cr->securebits = (uint32_t)prctl(PR_GET_SECUREBITS);
	cr->dumpable = (uint32_t)prctl(PR_GET_DUMPABLE);
	return cr;
}

/* Processes whose image records no credentials take crload's, said once. */
static int fill_unrecorded(struct sc_image *img, char *err)
{
	bool said = false;

	for (size_t i = 0; i < img->nprocs; i++) {
		Sc__ProcCore *core = img->procs[i].core;

		if (core->creds)
			continue;
		if (!(core->creds = own_creds(err)))
			return -1;
		if (!said)
			fprintf(stderr,
				"crload: the image records no credentials (an older selfckpt "
				"wrote it): its processes run as crload does\n");
		said = true;
	}
	return 0;
}

int creds_preflight(struct sc_image *img, char *err)
{
	struct sc_restorer who;
	struct passwd *pw;
	gid_t *gids;
	int n, r = creds_policy(img, &who, &pw, &gids, &n, err);

	if (!r)
		r = fill_unrecorded(img, err);

	for (size_t i = 0; !r && !who.privileged && i < img->nprocs; i++)
		note_groups(&img->procs[i]);
	/* The policy let only an owner with a user name have processes. */
	if (!r && who.privileged && who.owner && pw)
		r = take_owners_access(pw, gids, n, err);
	free(gids);
	return r;
}

/* The highest capability number this kernel has. */
static uint32_t last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	unsigned v = CAP_LAST_CAP;

	if (f) {
		if (fscanf(f, "%u", &v) != 1)
			v = CAP_LAST_CAP;
		fclose(f);
	}
	return v;
}

/* Whether the calling thread's ids differ from cr's. */
static bool ids_differ(const Sc__Creds *cr)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	getresuid(&ru, &eu, &su);
	getresgid(&rg, &eg, &sg);
	return ru != cr->ruid || eu != cr->euid || su != cr->suid ||
	       (uint32_t)setfsuid((uid_t)-1) != cr->fsuid || rg != cr->rgid || eg != cr->egid ||
	       sg != cr->sgid || (uint32_t)setfsgid((gid_t)-1) != cr->fsgid;
}

void creds_fill(struct rst_creds *rc, const Sc__Creds *cr, uint64_t groups_at)
{
	gid_t mine[SC_MAX_GROUPS];
	int n = getgroups(SC_MAX_GROUPS, mine);

	memset(rc, 0, sizeof(*rc));
	rc->uid[0] = cr->ruid, rc->uid[1] = cr->euid, rc->uid[2] = cr->suid, rc->uid[3] = cr->fsuid;
	rc->gid[0] = cr->rgid, rc->gid[1] = cr->egid, rc->gid[2] = cr->sgid, rc->gid[3] = cr->fsgid;
	memcpy((void *)groups_at, cr->groups, cr->n_groups * sizeof(*cr->groups));
	rc->groups = groups_at;
	rc->n_groups = (uint32_t)cr->n_groups;
	/* Only root sets groups (see note_groups). */
	if (geteuid() == 0 &&
	    (n != (int)cr->n_groups || memcmp(mine, cr->groups, (size_t)n * sizeof(*mine))))
		rc->flags |= RST_CREDS_GROUPS;
	if (ids_differ(cr))
		rc->flags |= RST_CREDS_IDS;
	rc->cap_inheritable = cr->cap_inheritable;
	rc->cap_permitted = cr->cap_permitted;
	rc->cap_effective = cr->cap_effective;
	rc->cap_bounding = cr->cap_bounding;
	rc->cap_ambient = cr->cap_ambient;
	rc->securebits = cr->securebits;
	rc->no_new_privs = cr->no_new_privs;
	/* The kernel lets nobody ask for SUID_DUMP_ROOT: the stricter 0. */
	rc->dumpable = cr->dumpable == SC_SUID_DUMP_USER;
	rc->last_cap = last_cap();
}
