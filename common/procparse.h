/* SPDX-License-Identifier: MIT */
/*
 * Parsers for /proc text formats. Pure functions on caller buffers (no
 * allocation, no I/O) so the runtime may call them while threads are
 * frozen and unit tests can feed them any input.
 */
#ifndef SELFCKPT_PROCPARSE_H
#define SELFCKPT_PROCPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pp_map {
	uint64_t start, end, pgoff, ino;
	uint32_t dev_major, dev_minor;
	int prot;	   /* PROT_* */
	bool shared;	   /* 's' in the flags column */
	const char *path;  /* not NUL terminated; NULL when anonymous */
	size_t path_len;
	bool deleted;	   /* path ends in " (deleted)", stripped from path_len */
};

/* Parses one line of /proc/PID/maps (without its newline). */
int pp_parse_maps_line(const char *line, size_t len, struct pp_map *m);

/* Returns the next line of buf starting at *pos, or NULL at the end. */
const char *pp_next_line(const char *buf, size_t len, size_t *pos, size_t *line_len);

/* Bits for the VmFlags this project re-applies (same values as VmaMadv). */
#define PP_VM_HUGEPAGE 1
#define PP_VM_NOHUGEPAGE 2
#define PP_VM_DONTFORK 4
#define PP_VM_DONTDUMP 8
#define PP_VM_WIPEONFORK 16
#define PP_VM_GROWSDOWN 32

/* True for a VMA header line of /proc/PID/smaps (a maps line). */
bool pp_smaps_is_header(const char *line, size_t len);
/* Parses a "VmFlags: ..." line into PP_VM_* bits; -1 if it is not one. */
int pp_parse_vmflags(const char *line, size_t len, uint32_t *flags);
/* Whether a VMA of the smaps in buf is registered with a userfaultfd in
 * missing mode ("um"): crload --lazy is still filling it. */
bool pp_smaps_missing_mode(const char *buf, size_t len);

struct pp_stat {
	char state;	/* field 3: R, S, Z... */
	int ppid, pgrp, session;
	int tty_nr, tpgid; /* controlling terminal (0: none), its foreground group (-1) */
	int exit_signal; /* field 38: what its parent gets when it ends (SIGCHLD, mostly) */
	int exit_code;	/* field 52: a zombie's wait status (0 before Linux 3.5) */
	uint64_t start_code, end_code, start_stack;
	uint64_t start_data, end_data, start_brk;
	uint64_t arg_start, arg_end, env_start, env_end;
};

int pp_parse_stat(const char *buf, size_t len, struct pp_stat *st);

struct pp_fdinfo {
	uint64_t pos;
	uint32_t flags;
};

int pp_parse_fdinfo(const char *buf, size_t len, struct pp_fdinfo *fi);

/* The number after "key" (e.g. "eventfd-count:") on a line of fdinfo, in
 * base 10 or 16; 0 or -1 when absent or malformed. */
int pp_fdinfo_field(const char *buf, size_t len, const char *key, int base, uint64_t *val);

#define PP_MAX_SYSCALL_NR 4095

/* "it_value: (SEC, NSEC)" of a timerfd's fdinfo. */
int pp_fdinfo_pair(const char *buf, size_t len, const char *key, uint64_t out[2]);

/* One "tfd: N events: X data: Y ..." line of an epoll's fdinfo. */
struct pp_epoll_target {
	int tfd;
	uint32_t events;
	uint64_t data;
};
int pp_parse_epoll_target(const char *line, size_t len, struct pp_epoll_target *t);

/* One "inotify wd:3 ino:a72131 sdev:fe00000 mask:2 ignored_mask:0
 * fhandle-bytes:8 fhandle-type:1 f_handle:3121a700aa639eb2" line of an
 * inotify's fdinfo (all numbers hex; sdev in the kernel's encoding,
 * major << 20 | minor). The handle part is optional. */
#define PP_MAX_HANDLE 128
struct pp_inotify_watch {
	int wd;
	uint64_t ino;
	unsigned sdev_major, sdev_minor;
	uint32_t mask;
	unsigned handle_bytes; /* 0: no handle */
	int handle_type;
	uint8_t handle[PP_MAX_HANDLE];
};
int pp_parse_inotify_line(const char *line, size_t len, struct pp_inotify_watch *w);

/* A line of /proc/PID/mountinfo ("36 35 98:0 /sub /mnt rw ..."): the
 * filesystem's device, whether the mount shows its root ("/"), and the
 * mount point with its octal escapes undone, in mnt (cap bytes). */
struct pp_mount {
	unsigned major, minor;
	bool whole;
};
int pp_parse_mountinfo_line(const char *line, size_t len, struct pp_mount *m, char *mnt,
			    size_t cap);

/* "lock:\t1: POSIX  ADVISORY  WRITE 123 fe:00:456 0 EOF" of an fdinfo. */
enum pp_lock_type { PP_LOCK_POSIX = 1, PP_LOCK_FLOCK = 2, PP_LOCK_OFD = 3 };
struct pp_lock {
	enum pp_lock_type type;
	bool write;
	uint64_t start, end; /* end: last byte */
	bool to_eof;
};
/* 0 for a lock line this project restores, -1 for anything else
 * (malformed, leases, delegations, mandatory locks). */
int pp_parse_lock_line(const char *line, size_t len, struct pp_lock *lk);

/* Who holds a lock of /proc/locks, and on what: "1: POSIX  ADVISORY
 * WRITE 123 fe:00:456 0 EOF" (pid -1 for OFD locks). Waiters ("->")
 * and malformed lines are -1. */
struct pp_lock_owner {
	long pid;
	unsigned major, minor;
	uint64_t ino;
};
int pp_parse_locks_owner(const char *line, size_t len, struct pp_lock_owner *o);

/* A line of /proc/sysvipc/shm: "key shmid perms size cpid lpid nattch
 * ..." (key signed decimal, perms octal: permission bits, SHM_DEST). The
 * header line and malformed lines are -1. */
struct pp_sysv_shm {
	int32_t key;
	uint32_t id, mode, nattch;
	uint64_t size;
};
int pp_parse_sysv_shm_line(const char *line, size_t len, struct pp_sysv_shm *s);

/* A line of /proc/PID/net/netlink: "sk Eth Pid Groups Rmem Wmem Dump
 * Locks Drops Inode" (sk and Groups hex). dumping: the kernel still has a
 * dump reply to send it. The header line and malformed lines are -1. */
struct pp_netlink {
	uint32_t protocol, portid;
	bool dumping;
	uint64_t ino;
};
int pp_parse_netlink_line(const char *line, size_t len, struct pp_netlink *n);

/* /proc/PID/task/TID/syscall: nr is -1 when not in a syscall, -2 when running. */
struct pp_syscall {
	long nr;
	uint64_t args[6];
	uint64_t sp, pc;
};

int pp_parse_syscall(const char *buf, size_t len, struct pp_syscall *sc);

/* One timer of /proc/PID/timers (timer_create(2)). */
struct pp_timer {
	int id, clock, signo;
	uint32_t notify; /* SIGEV_* as timer_create took it */
	int notify_pid;	 /* the process, or with SIGEV_THREAD_ID the thread, told */
	uint64_t sigev_value;
};
/* The next timer from *pos: 1, 0 at the end, -1 if it is not one. */
int pp_next_timer(const char *buf, size_t len, size_t *pos, struct pp_timer *t);

/* The credential lines of /proc/PID/status. */
enum pp_capset { PP_CAP_INH, PP_CAP_PRM, PP_CAP_EFF, PP_CAP_BND, PP_CAP_AMB, PP_NR_CAPSETS };
struct pp_creds {
	uint32_t uid[4], gid[4]; /* real, effective, saved, filesystem */
	size_t n_groups;
	uint64_t caps[PP_NR_CAPSETS];
	bool no_new_privs;
};
/* Uid, Gid, Groups (up to cap of them into groups; groups NULL: only
 * counted), CapInh to CapAmb and NoNewPrivs: 0, or -1 if one is missing or
 * malformed, or there are more groups than cap. */
int pp_parse_status_creds(const char *buf, size_t len, struct pp_creds *c, uint32_t *groups,
			  size_t cap);

/* The size on the line "key N kB" (meminfo, smaps_rollup), in bytes: 0, or
 * -1 when absent or malformed. */
int pp_kb_field(const char *buf, size_t len, const char *key, uint64_t *bytes);
/* The path ("/a/b", not NUL terminated) of the memory cgroup in
 * /proc/PID/cgroup: the v1 memory controller's (*v1 true), else the v2
 * hierarchy's. 0, or -1 when there is neither. */
int pp_parse_memory_cgroup(const char *buf, size_t len, const char **path, size_t *path_len,
			   bool *v1);
/*
 * How much more memory the process may take: /proc/meminfo's
 * MemAvailable, less if a memory cgroup's limit (cg_max: v2 memory.max,
 * v1 memory.limit_in_bytes) minus its use (cg_current: memory.current,
 * memory.usage_in_bytes) is less. cg_max or cg_current NULL: no cgroup
 * limit known. 0, or -1 if a text is malformed.
 */
int pp_memory_room(const char *meminfo, size_t mlen, const char *cg_max, size_t maxlen,
		   const char *cg_current, size_t curlen, uint64_t *room);

#endif
