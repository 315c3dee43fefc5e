/* SPDX-License-Identifier: MIT */
/* crdump: one process of the tree being dumped. */
#ifndef SELFCKPT_CRDUMP_H
#define SELFCKPT_CRDUMP_H

#include <limits.h>

#include "dump.h"
#include "fd_dump.h"
#include "image.h"
#include "ptrace.h"

#define CD_ERR_LEN PT_ERR_LEN

struct cd_proc {
	pid_t pid;
	struct pt_target pt; /* every thread, seized and stopped */
	int mem_fd; /* /proc/PID/mem, read and write */
	int pidfd;
	int *local_fds; /* ours for each of its descriptors (-1: none) */
	int n_local;
	uint64_t brk;
	uint32_t securebits, dumpable; /* prctl(2), asked inside it */
	struct itimerval itimers[3];
	uint64_t xcomp_perm; /* ARCH_GET_XCOMP_PERM */
	int ppid, pgid, sid;
	bool zombie; /* exited, not reaped: only its wait status is kept */
	struct rt_image img; /* its files, open until fsynced */
	int exit_status;
	struct rt_proc_files files; /* read while held; written at the end */
	/* --leave-running: the copy its pages are read from once the tree
	 * runs again (doc/crdump-snapshot.md), 0 if none. */
	pid_t snap, snap_nspid;
};

/* cooperative.c: does pid run the runtime? Then it checkpoints itself:
 * its own image, moved to dst. */
bool cd_runs_runtime(pid_t pid);
int cd_cooperative(pid_t pid, const char *dst, bool leave_running, char *err);

/* prev.c: --prev DIR, an incremental image against an earlier one */
struct cd_prev {
	struct sc_image img; /* with its chain */
	char path[PATH_MAX]; /* as the new image's inventory names it */
};
struct cd_prev_proc;
/* Loads DIR, an image of the tree of root, as the parent of the image
 * dst; 0, or -1 with err set. */
int cd_prev_load(const char *dir, const char *dst, pid_t root, struct cd_prev *prev, char *err);
/* What the parent has of process pid (NULL: nothing, or err says why). */
struct cd_prev_proc *cd_prev_proc(struct cd_prev *prev, pid_t pid, char *err);
void cd_prev_proc_free(struct cd_prev_proc *pp);
/* rt_source's same_in_parent for it. */
bool cd_prev_same(void *pp, uint64_t vaddr, const uint8_t *data);

/* tcp_hold.c: the killed tree's connections stay open until crload */
int cd_tcp_hold(char *err);

/* core.c */
/* timer_gettime(2) asked inside proc (a struct cd_proc), as struct
 * rt_source's timer_gettime. */
int cd_timer_gettime(void *proc, int id, struct itimerspec *its);
/* getitimer(2) of each timer, asked inside the process. */
int cd_itimers(struct cd_proc *p, struct itimerval v[3], char *err);
/* The XSAVE components the process was allowed, asked inside it; 0
 * where this kernel has no dynamic ones. */
int cd_xcomp_perm(struct cd_proc *p, uint64_t *perm, char *err);
int cd_dump_threads(struct cd_proc *p, Sc__ProcCore *core, char *err);
int cd_dump_sigacts(struct cd_proc *p, Sc__SigActs *acts, char *err);

#endif
