/* SPDX-License-Identifier: MIT */
/*
 * Whose state the dump halves read, passed to each of them. In the
 * runtime it is the process itself, frozen by its own handler. crdump
 * links the same halves and points them at a process it holds with
 * ptrace: its /proc directory,
 * its memory through process_vm_readv, and for every descriptor number
 * one of crdump's own on the same open file description (pidfd_getfd),
 * so that fstat, ioctl and getsockopt work on it unchanged.
 */
#ifndef SELFCKPT_RT_DUMP_SOURCE_H
#define SELFCKPT_RT_DUMP_SOURCE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/time.h>
#include <time.h>

struct rt_source {
	int pid; /* the process being dumped */
	char proc[24]; /* its /proc directory: "/proc/self" in the runtime */
	bool remote; /* crdump: another process, held with ptrace */
	int mem_fd; /* remote: /proc/PID/mem, for what it cannot read directly */
	/* remote: pages through mem_fd only. process_vm_readv pins them,
	 * which makes a fork's copy take its own copy of each. */
	bool copy_on_write;
	/* The runtime's copy-on-write copy (snapshot.c) writing its own
	 * pages: through a buffer, since O_DIRECT pins what it writes and
	 * pinning a page shared copy-on-write copies it, and each page given
	 * back once copied where that is safe. */
	bool staged;
	/* crdump --prev: whether the page at vaddr holds what the parent image
	 * has there, its non-zero bytes data; NULL: no parent. Such pages are
	 * left to the parent (doc/incremental.md). */
	bool (*same_in_parent)(void *parent, uint64_t vaddr, const uint8_t *data);
	void *parent;
	int *local_fds; /* remote: local_fds[n] is ours for its fd n, or -1 */
	int n_local;
	uint64_t brk; /* remote: its program break, asked for inside it */
	struct itimerval itimers[3]; /* remote: getitimer(2) of each, asked inside it */
	uint64_t xcomp_perm; /* remote: ARCH_GET_XCOMP_PERM, asked inside it */
	uint32_t securebits, dumpable; /* remote: prctl(2)'s GET of each, asked inside it */
	bool refuse_tcp; /* crdump without --tcp-established */
	/* POSIX timer id's time left and interval, asked inside the process
	 * timer_proc (crdump); NULL: the calling process's own (timer_gettime). */
	int (*timer_gettime)(void *timer_proc, int id, struct itimerspec *its);
	void *timer_proc;
	int own_timer; /* the dumper's own timer, not the app's; -1: none */
};

/* The calling process as a source; own_timer as above. */
void rt_src_self(struct rt_source *src, int pid, int own_timer);
/* "<proc>/<rest>" into buf (RT_MAX_PATH bytes); returns buf. */
char *rt_src_path(const struct rt_source *src, char *buf, const char *rest);
/* The descriptor that stands for the dumped process's fd n here. */
static inline int rt_src_fd(const struct rt_source *src, int n)
{
	if (!src->remote)
		return n;
	return n >= 0 && n < src->n_local ? src->local_fds[n] : -1;
}

#endif
