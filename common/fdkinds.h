/* SPDX-License-Identifier: MIT */
/*
 * Every kind of descriptor selfckpt can checkpoint, in one list.
 *
 * A kind is four files: its fields in images/fd.proto, its row here, its
 * dump half in runtime/fd_KIND.c (claims and dump, run while the app is
 * frozen, so async-signal-safe; the runtime and crdump link it) and its
 * restore half in loader/fd_KIND.c (its image check, restore and
 * describe, libc; in the image library, since the image reader runs the
 * check). The build finds the halves' files (common/kind-sources.sh).
 * SC_FD_KINDS names each kind with the prefix of each half: the dump half
 * of prefix p is the struct p_dump_half, the restore half p_restore_half,
 * and each may add passes over all of a process's descriptors
 * (runtime/fd_dump.h, loader/fd_restore.h); and with its check function.
 * The runtime's table (runtime/fd_kinds.c) and the loader's
 * (loader/fd_kinds.c) are expanded from it and name every half and check,
 * so that one missing or misspelt fails the build. fd_none is no half:
 * the pty kinds are claimed and dumped through the terminal's.
 */
#ifndef SELFCKPT_FDKINDS_H
#define SELFCKPT_FDKINDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "fd.pb-c.h"

/* A live descriptor as the runtime sees it. */
struct fd_live {
	int num;	    /* its number in the process being dumped */
	int fd;		    /* one here on the same open file (dump_source.h) */
	struct stat st;
	const char *target; /* readlink of /proc/PID/fd/N */
	const char *fdinfo; /* /proc/PID/fdinfo/N */
	size_t fdinfo_len;
	uint64_t pos;	    /* from fdinfo */
	uint64_t id;	    /* the description's own id where fdinfo has one (eventfd-id), or 0 */
};

struct fd_dump_ctx;	/* runtime/fd_dump.h */
struct fd_restore_ctx;	/* loader/fd_restore.h */

/* X(KIND, name for people, dump half, restore half, check), in the order
 * the runtime asks the kinds whether they claim a descriptor. */
#define SC_FD_KINDS(X)                                                                             \
	/* Standard streams on a pipe or socket: before the others. */                             \
	X(SC__FD_KIND__INHERIT, "inherited", fd_inherit, fd_inherit, fd_check_nothing)             \
	/* Before devices: a terminal is one. */                                                   \
	X(SC__FD_KIND__TTY, "terminal", fd_tty, fd_tty, fd_check_nothing)                          \
	X(SC__FD_KIND__PTY_MASTER, "pty master", fd_none, fd_pty, fd_check_pty)                    \
	X(SC__FD_KIND__PTY_SLAVE, "pty slave", fd_none, fd_pty, fd_check_pty)                      \
	X(SC__FD_KIND__REG, "file", fd_path, fd_path, fd_check_file)                               \
	X(SC__FD_KIND__DIR, "directory", fd_path, fd_path, fd_check_path)                          \
	X(SC__FD_KIND__CHR, "device", fd_path, fd_path, fd_check_path)                             \
	X(SC__FD_KIND__PIPE, "pipe", fd_pipe, fd_pipe, fd_check_pipe)                              \
	X(SC__FD_KIND__FIFO, "named pipe", fd_fifo, fd_fifo, fd_check_fifo)                        \
	X(SC__FD_KIND__EVENTFD, "eventfd", fd_eventfd, fd_eventfd, fd_check_eventfd)               \
	X(SC__FD_KIND__SIGNALFD, "signalfd", fd_signalfd, fd_signalfd, fd_check_nothing)           \
	X(SC__FD_KIND__TIMERFD, "timerfd", fd_timerfd, fd_timerfd, fd_check_timerfd)               \
	X(SC__FD_KIND__EPOLL, "epoll", fd_epoll, fd_epoll, fd_check_nothing)                       \
	X(SC__FD_KIND__MEMFD, "memfd", fd_memfd, fd_memfd, fd_check_contents)                      \
	/* After memfd: a memfd looks like an unlinked file too. */                                \
	X(SC__FD_KIND__GHOST, "unlinked file", fd_ghost, fd_ghost, fd_check_contents)              \
	X(SC__FD_KIND__UNIX, "unix socket", fd_unix, fd_unix, fd_check_unix)                       \
	X(SC__FD_KIND__INOTIFY, "inotify", fd_inotify, fd_inotify, fd_check_inotify)               \
	X(SC__FD_KIND__INET, "TCP/UDP socket", fd_inet, fd_inet, fd_check_inet)                    \
	X(SC__FD_KIND__PIDFD, "pidfd", fd_pidfd, fd_pidfd, fd_check_pidfd)                         \
	X(SC__FD_KIND__NETLINK, "netlink socket", fd_netlink, fd_netlink, fd_check_netlink)

/* The kind's name for people, or NULL for a kind this version lacks. */
const char *sc_fd_kind_name(Sc__FdKind kind);

/* A unix socket name (as UnixSocket stores it) for people: '@' for an
 * abstract name's leading NUL, '?' for other unprintable bytes. Writes at
 * most len + 1 bytes to dst and returns the end; safe in a signal handler. */
char *sc_unix_name_show(char *dst, const uint8_t *name, size_t len);

#endif
