/* SPDX-License-Identifier: MIT */
/*
 * Whose credentials crload may give a restored process (doc/credentials.md):
 * a pure function of the image's owner, crload's own ids and what the
 * image records, so that tests can try every case.
 */
#ifndef SELFCKPT_CREDS_H
#define SELFCKPT_CREDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.pb-c.h"
#include "procparse.h"

/* Who restores, and whose image it is. */
struct sc_restorer {
	bool privileged; /* crload may set any ids (it runs as root) */
	uint32_t uid, gid; /* crload's own real ids, when it is not */
	uint32_t owner; /* owner of the image directory */
	const char *owner_name; /* the owner's user name, or NULL */
	const uint32_t *owner_gids; /* the owner's groups, as the group database has them */
	size_t n_owner_gids;
};

/*
 * 0 if crload may give process pid the credentials cr (NULL: the image
 * records none, and the process is to run as crload does); else -1 with err (SC_ERR_LEN bytes) set to the reason, as
 * "pid 123: recorded uid 0 but the image belongs to uid 65534 (nobody):
 * refused".
 */
int sc_creds_refused(const Sc__Creds *cr, int pid, const struct sc_restorer *who, char *err);

/* The record of what /proc/PID/status says (securebits and dumpable, which
 * it does not show, left to the caller); cr->groups already filled. */
static inline void sc_creds_from_status(Sc__Creds *cr, const struct pp_creds *pc)
{
	cr->n_groups = pc->n_groups;
	cr->ruid = pc->uid[0], cr->euid = pc->uid[1], cr->suid = pc->uid[2], cr->fsuid = pc->uid[3];
	cr->rgid = pc->gid[0], cr->egid = pc->gid[1], cr->sgid = pc->gid[2], cr->fsgid = pc->gid[3];
	cr->cap_inheritable = pc->caps[PP_CAP_INH];
	cr->cap_permitted = pc->caps[PP_CAP_PRM];
	cr->cap_effective = pc->caps[PP_CAP_EFF];
	cr->cap_bounding = pc->caps[PP_CAP_BND];
	cr->cap_ambient = pc->caps[PP_CAP_AMB];
	cr->no_new_privs = pc->no_new_privs;
}

#endif
