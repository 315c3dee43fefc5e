/* SPDX-License-Identifier: MIT */
/*
 * crdump's hold on a process it did not start: every thread seized and
 * stopped, and syscalls run inside it. The only ptrace in selfckpt.
 */
#ifndef SELFCKPT_CRDUMP_PTRACE_H
#define SELFCKPT_CRDUMP_PTRACE_H

#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#define PT_ERR_LEN 512

struct pt_thread {
	pid_t tid;
	struct user_regs_struct regs; /* as stopped: put back at release */
	int held_sig; /* a signal that arrived while held: sent again at release */
	siginfo_t held_info;
	unsigned long cloned; /* the child a clone run inside it made */
};

struct pt_target {
	pid_t pid;
	struct pt_thread *threads;
	size_t nthreads, cap;
	uint64_t syscall_insn; /* address of a `syscall` instruction of its own */
};

/*
 * Seizes and stops every thread of pid, threads created meanwhile
 * included; on failure nothing stays seized. 0, or -1 with err set.
 */
int pt_seize(pid_t pid, struct pt_target *t, char *err);

/* Puts every register back and lets every thread run on as before. */
void pt_release(struct pt_target *t);

/*
 * Runs syscall nr with up to six arguments in the stopped thread th of t,
 * at a syscall instruction of the target's own code, then puts its
 * registers back. Returns the syscall's result (-errno on its failure);
 * *ok is false if it could not be run at all (err set).
 */
long pt_syscall(struct pt_target *t, struct pt_thread *th, long nr, const long args[6], bool *ok,
		char *err);

/* syscall_insn.c: a `syscall` instruction in pid's own code (its vDSO's,
 * found with libelf, else any); 0, or -1 with err set. */
int pt_find_syscall_insn(pid_t pid, uint64_t *addr, char *err);

/*
 * A copy-on-write copy of t's memory as it is now (doc/crdump-snapshot.md):
 * a child made by clone inside t's first thread, held stopped before it
 * runs an instruction. Its pid (its pid inside t's namespace in *nspid),
 * or -1 with err set.
 */
pid_t pt_snapshot(struct pt_target *t, pid_t *nspid, char *err);

/*
 * Kills the copy and has its parent pid, running by now, wait for it (one
 * thread held for that call). 0, or -1 with err set.
 */
int pt_snapshot_end(pid_t pid, pid_t child, pid_t nspid, char *err);

#endif
