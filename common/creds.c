// SPDX-License-Identifier: MIT
/* Whose credentials crload may give a restored process (creds.h). */
#include <stdio.h>

#include "creds.h"
#include "image.h"

static const char *const uid_kinds[4] = { "uid", "effective uid", "saved uid", "filesystem uid" };
static const char *const gid_kinds[4] = { "gid", "effective gid", "saved gid", "filesystem gid" };

static bool owner_has_group(const struct sc_restorer *who, uint32_t gid)
{
	for (size_t i = 0; i < who->n_owner_gids; i++)
		if (who->owner_gids[i] == gid)
			return true;
	return false;
}

/* "uid 65534 (nobody)" */
static const char *owner_text(const struct sc_restorer *who, char *buf, size_t len)
{
	if (who->owner_name)
		snprintf(buf, len, "uid %u (%s)", who->owner, who->owner_name);
	else
		snprintf(buf, len, "uid %u", who->owner);
	return buf;
}

/*
 * A user who owns the image could have edited every byte of it: a process
 * of theirs gets no id that is not theirs, and no capability (a non-root
 * process may have had some from file capabilities, but nothing in the
 * image can prove it).
 */
static int owner_refuses(const Sc__Creds *cr, int pid, const struct sc_restorer *who, char *err)
{
	const uint32_t uids[4] = { cr->ruid, cr->euid, cr->suid, cr->fsuid };
	const uint32_t gids[4] = { cr->rgid, cr->egid, cr->sgid, cr->fsgid };
	char owner[96];

	for (int i = 0; i < 4; i++)
		if (uids[i] != who->owner)
			return sc_err(
				err, "pid %d: recorded %s %u but the image belongs to %s: refused",
				pid, uid_kinds[i], uids[i], owner_text(who, owner, sizeof(owner)));
	for (size_t i = 0; i < 4 + cr->n_groups; i++) {
		uint32_t gid = i < 4 ? gids[i] : cr->groups[i - 4];

		if (!owner_has_group(who, gid)) {
			snprintf(
				err, SC_ERR_LEN,
				"pid %d: recorded %s %u, not a group of the image's owner, %s: refused",
				pid, i < 4 ? gid_kinds[i] : "supplementary group", gid,
				owner_text(who, owner, sizeof(owner)));
			return -1;
		}
	}
	if (cr->cap_permitted | cr->cap_effective | cr->cap_inheritable | cr->cap_ambient) {
		snprintf(
			err, SC_ERR_LEN,
			"pid %d: recorded capabilities (permitted %#llx, inheritable %#llx) but the "
			"image belongs to %s, not root: refused",
			pid, (unsigned long long)cr->cap_permitted,
			(unsigned long long)cr->cap_inheritable,
			owner_text(who, owner, sizeof(owner)));
		return -1;
	}
	return 0;
}

/* Unprivileged, crload can only give a process its own ids, as ever. */
static int self_refuses(const Sc__Creds *cr, int pid, const struct sc_restorer *who, char *err)
{
	const uint32_t uids[4] = { cr->ruid, cr->euid, cr->suid, cr->fsuid };
	const uint32_t gids[4] = { cr->rgid, cr->egid, cr->sgid, cr->fsgid };

	for (int i = 0; i < 4; i++) {
		if (uids[i] != who->uid)
			return sc_err(
				err,
				"pid %d: recorded %s %u but crload runs as uid %u: refused (only "
				"root restores another user's process)",
				pid, uid_kinds[i], uids[i], who->uid);
		if (gids[i] != who->gid)
			return sc_err(err,
				      "pid %d: recorded %s %u but crload runs as gid %u: refused",
				      pid, gid_kinds[i], gids[i], who->gid);
	}
	return 0;
}

int sc_creds_refused(const Sc__Creds *cr, int pid, const struct sc_restorer *who, char *err)
{
	char owner[96];

	/* Written before images recorded credentials: the process runs as
	 * crload does, as it always did, only where that gives it nothing
	 * its owner did not have: crload is the owner, or root restores
	 * root's. */
	if (!cr && who->owner != (who->privileged ? 0 : who->uid)) {
		snprintf(
			err, SC_ERR_LEN,
			"pid %d: the image records no credentials (an older selfckpt wrote it) and "
			"belongs to %s: refused (only its owner may restore it)",
			pid, owner_text(who, owner, sizeof(owner)));
		return -1;
	}
	if (!cr)
		return 0;
	if (!who->privileged)
		return self_refuses(cr, pid, who, err);
	return who->owner ? owner_refuses(cr, pid, who, err) : 0;
}
