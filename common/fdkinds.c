// SPDX-License-Identifier: MIT
#include "fdkinds.h"

/* Each half is weak: a program links the halves it needs and sees NULL
 * for the others. */
#define FD_HALVES(x)                                                                               \
	bool x##_claims(const struct fd_live *l) __attribute__((weak));                            \
	int x##_dump(struct fd_dump_ctx *ctx, const struct fd_live *l, Sc__Fd *e)                  \
		__attribute__((weak));                                                             \
	int x##_restore(struct fd_restore_ctx *ctx, const Sc__Fd *e, char *err)                    \
		__attribute__((weak));                                                             \
	void x##_describe(const Sc__Fd *e, char *buf, size_t len) __attribute__((weak))

FD_HALVES(fd_inherit);
FD_HALVES(fd_path);
FD_HALVES(fd_pipe);
FD_HALVES(fd_eventfd);
FD_HALVES(fd_signalfd);
FD_HALVES(fd_timerfd);
FD_HALVES(fd_epoll);
FD_HALVES(fd_ghost);
FD_HALVES(fd_memfd);
FD_HALVES(fd_unix);
FD_HALVES(fd_fifo);
FD_HALVES(fd_inotify);
FD_HALVES(fd_tty);
FD_HALVES(fd_pty); /* fd_tty's restore and describe; fd_tty claims both */
FD_HALVES(fd_inet);

#define FD_KIND(k, nm, x)                                                                          \
	{                                                                                          \
		.kind = k, .name = nm, .claims = x##_claims, .dump = x##_dump,                     \
		.restore = x##_restore, .describe = x##_describe                                   \
	}

const struct fd_kind sc_fd_kinds[] = {
	/* Standard streams on a pipe or socket: before the others. */
	FD_KIND(SC__FD_KIND__INHERIT, "inherited", fd_inherit),
	/* Before devices: a terminal is one. */
	FD_KIND(SC__FD_KIND__TTY, "terminal", fd_tty),
	FD_KIND(SC__FD_KIND__PTY_MASTER, "pty master", fd_pty),
	FD_KIND(SC__FD_KIND__PTY_SLAVE, "pty slave", fd_pty),
	FD_KIND(SC__FD_KIND__REG, "file", fd_path),
	FD_KIND(SC__FD_KIND__DIR, "directory", fd_path),
	FD_KIND(SC__FD_KIND__CHR, "device", fd_path),
	FD_KIND(SC__FD_KIND__PIPE, "pipe", fd_pipe),
	FD_KIND(SC__FD_KIND__FIFO, "named pipe", fd_fifo),
	FD_KIND(SC__FD_KIND__EVENTFD, "eventfd", fd_eventfd),
	FD_KIND(SC__FD_KIND__SIGNALFD, "signalfd", fd_signalfd),
	FD_KIND(SC__FD_KIND__TIMERFD, "timerfd", fd_timerfd),
	FD_KIND(SC__FD_KIND__EPOLL, "epoll", fd_epoll),
	FD_KIND(SC__FD_KIND__MEMFD, "memfd", fd_memfd),
	/* After memfd: a memfd looks like an unlinked file too. */
	FD_KIND(SC__FD_KIND__GHOST, "unlinked file", fd_ghost),
	FD_KIND(SC__FD_KIND__UNIX, "unix socket", fd_unix),
	FD_KIND(SC__FD_KIND__INOTIFY, "inotify", fd_inotify),
	FD_KIND(SC__FD_KIND__INET, "TCP/UDP socket", fd_inet),
};

const size_t sc_nr_fd_kinds = sizeof(sc_fd_kinds) / sizeof(sc_fd_kinds[0]);

char *sc_unix_name_show(char *dst, const uint8_t *name, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		bool printable = name[i] >= 32 && name[i] < 127;

		*dst++ = i == 0 && !name[0] ? '@' : printable ? (char)name[i] : '?';
	}
	*dst = '\0';
	return dst;
}

const struct fd_kind *sc_fd_kind(Sc__FdKind kind)
{
	for (size_t i = 0; i < sc_nr_fd_kinds; i++)
		if (sc_fd_kinds[i].kind == kind)
			return &sc_fd_kinds[i];
	return NULL;
}
