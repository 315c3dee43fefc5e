/* SPDX-License-Identifier: MIT */
/*
 * Every kind of descriptor selfckpt can checkpoint, in one table.
 *
 * A kind has a runtime half (runtime/fd_KIND.c: claims and dump, run while
 * the app is frozen, so async-signal-safe) and a loader half
 * (loader/fd_KIND.c: restore and describe, libc). Both link the same table
 * (common/fdkinds.c); the half a program does not link is NULL in it.
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

struct fd_kind {
	Sc__FdKind kind;
	const char *name;
	/* runtime: this kind handles that descriptor */
	bool (*claims)(const struct fd_live *l);
	/* runtime: kind-specific fields of e; 0 or -errno (with ctx->why) */
	int (*dump)(struct fd_dump_ctx *ctx, const struct fd_live *l, Sc__Fd *e);
	/* crload: a descriptor like e, at any number; -1 with err set */
	int (*restore)(struct fd_restore_ctx *ctx, const Sc__Fd *e, char *err);
	/* a few words for people: "pipe:[123] read end, 5 bytes buffered" */
	void (*describe)(const Sc__Fd *e, char *buf, size_t len);
};

/* In the order claims() is asked. */
extern const struct fd_kind sc_fd_kinds[];
extern const size_t sc_nr_fd_kinds;

const struct fd_kind *sc_fd_kind(Sc__FdKind kind);

/* A unix socket name (as UnixSocket stores it) for people: '@' for an
 * abstract name's leading NUL, '?' for other unprintable bytes. Writes at
 * most len + 1 bytes to dst and returns the end; safe in a signal handler. */
char *sc_unix_name_show(char *dst, const uint8_t *name, size_t len);

#endif
