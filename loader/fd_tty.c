// SPDX-License-Identifier: MIT
/*
 * Terminals: the process's own terminal becomes crload's; a pty pair it
 * created becomes a new pair (its number may differ) with the same
 * settings and the bytes that were waiting in it. See doc/terminals.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <asm/termbits.h>

#include "fd_restore.h"
#include "tty_inq.h"

static const Sc__Fd *entry_at(const Sc__Fds *fds, int fd)
{
	for (size_t i = 0; i < fds->n_fds; i++)
		if (fds->fds[i]->fd == fd)
			return fds->fds[i];
	return NULL;
}

/* The process's terminal: crload's, from its standard streams the image
 * left to it, else its controlling terminal. */
static int crload_terminal(struct fd_restore_ctx *ctx, const Sc__Fd *e, char *err)
{
	int flags = fd_reopen_flags(e, true) | O_NOCTTY;
	char path[32];
	int fd;

	for (int i = 0; i <= 2 && !e->ctty; i++) {
		const Sc__Fd *s = entry_at(ctx->fds, i);

		if (!s || (s->kind != SC__FD_KIND__INHERIT && s->kind != SC__FD_KIND__TTY) ||
		    !isatty(i))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", i);
		fd = open(path, flags);
		if (fd >= 0)
			return fd;
	}
	fd = open("/dev/tty", flags);
	if (fd >= 0)
		return fd;
	if (e->ctty)
		return sc_err(
			err,
			"fd %d: /dev/tty: crload has no controlling terminal to give (%s); run "
			"it from a terminal",
			e->fd, strerror(errno));
	return sc_err(err,
		      "fd %d: was on the terminal %.64s: crload has none to give (no terminal "
		      "on its standard streams, no controlling terminal)",
		      e->fd, e->path ? e->path : "?");
}

static void to_kernel(const Sc__Termios *s, struct termios *t)
{
	memset(t, 0, sizeof(*t));
	t->c_iflag = s->iflag;
	t->c_oflag = s->oflag;
	t->c_cflag = s->cflag;
	t->c_lflag = s->lflag;
	t->c_line = (cc_t)s->line;
	memcpy(t->c_cc, s->cc.data, sizeof(t->c_cc));
}

static const Sc__Fd *master_of(const Sc__Fds *fds, uint64_t id)
{
	for (size_t i = 0; i < fds->n_fds; i++) {
		const Sc__Fd *f = fds->fds[i];

		if (f->kind == SC__FD_KIND__PTY_MASTER && !f->has_dup_of && f->pty_id == id)
			return f;
	}
	return NULL;
}

static bool has_slaves(const Sc__Fds *fds, uint64_t id)
{
	for (size_t i = 0; i < fds->n_fds; i++)
		if (fds->fds[i]->kind == SC__FD_KIND__PTY_SLAVE && fds->fds[i]->pty_id == id)
			return true;
	return false;
}

/*
 * The bytes that waited in the pair go back the way they came, with the
 * flags that would change or echo them off meanwhile: towards the master
 * written on the slave s without output processing, towards the slave
 * written on the master without input processing. Then the saved
 * settings (TCSETS on a master sets its slave's). s is -1 when the image
 * holds no slave, and then no bytes either.
 */
static int set_up_pair(int m, int s, const Sc__Pty *p)
{
	struct winsize ws = { .ws_row = (unsigned short)p->rows, .ws_col = (unsigned short)p->cols,
			      .ws_xpixel = (unsigned short)p->xpixel,
			      .ws_ypixel = (unsigned short)p->ypixel };
	struct termios t, raw;
	int on = 1;

	to_kernel(p->termios, &t);
	raw = t;
	raw.c_iflag = 0;
	raw.c_oflag &= ~(tcflag_t)OPOST;
	raw.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ISIG | IEXTEN | ICANON);
	if (ioctl(m, TCSETS, &raw))
		return -1;
	if (p->has_to_master &&
	    write(s, p->to_master.data, p->to_master.len) != (ssize_t)p->to_master.len)
		return -1;
	if (p->has_to_slave) {
		if (write(m, p->to_slave.data, p->to_slave.len) != (ssize_t)p->to_slave.len)
			return -1;
		sc_tty_wait_inq(s, (int)p->to_slave.len);
	}
	if (ioctl(m, TCSETS, &t) || ioctl(m, TIOCSWINSZ, &ws))
		return -1;
	return p->packet ? ioctl(m, TIOCPKT, &on) : 0;
}

/* A pty pair made for the image: slaves are opened from its master. */
struct fd_restore_pty {
	uint64_t id;
	int master; /* the scratch master, then the master's own number */
};

/* The pairs made so far for this process. */
struct pty_restore {
	struct fd_restore_pty *v;
	size_t n;
};

/* A new pair for the master entry of id, kept at a scratch number. */
static struct fd_restore_pty *make_pair(struct fd_restore_ctx *ctx, uint64_t id, const Sc__Fd *e,
					char *err)
{
	const Sc__Fd *me = master_of(ctx->fds, id);
	struct pty_restore *ps = fd_restore_state(ctx, FD_RESTORE_SC__FD_KIND__PTY_MASTER,
						  sizeof(*ps));
	struct fd_restore_pty *more = NULL;
	int m, s = -1, unlock = 0, lock = 1, ok;

	for (size_t i = 0; ps && i < ps->n; i++)
		if (ps->v[i].id == id)
			return &ps->v[i];
	if (ps)
		more = realloc(ps->v, (ps->n + 1) * sizeof(*more));
	if (!more || !me) {
		sc_err(err, "fd %d: %s", e->fd,
		       more ? "its pty master is missing" : "out of memory");
		return NULL;
	}
	ps->v = more;
	/* Without a slave in the image, none is opened: closing it would
	 * leave the master reading EIO. A locked pair has none. */
	m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	ok = m >= 0 && !ioctl(m, TIOCSPTLCK, &unlock);
	if (ok && has_slaves(ctx->fds, id)) {
		s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
		ok = s >= 0;
	}
	if (!ok || set_up_pair(m, s, me->pty) ||
	    (me->pty->locked && s < 0 && ioctl(m, TIOCSPTLCK, &lock))) {
		sc_err(err, "fd %d: a new pty for the one of fd %d: %s", e->fd, me->fd,
		       strerror(errno));
		if (s >= 0)
			close(s);
		if (m >= 0)
			close(m);
		return NULL;
	}
	if (s >= 0)
		close(s);
	more = &ps->v[ps->n++];
	more->id = id;
	more->master = fd_scratch_dup(ctx, m, me, err);
	close(m);
	return more->master < 0 ? NULL : more;
}

int fd_pty_make_tree_pair(const Sc__Fd *m, const Sc__Fd *s, int fds[2], char *err)
{
	int unlock = 0;

	fds[0] = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	fds[1] = -1;
	if (fds[0] >= 0 && !ioctl(fds[0], TIOCSPTLCK, &unlock))
		fds[1] = ioctl(fds[0], TIOCGPTPEER,
			       ((int)s->flags & (O_ACCMODE | O_NONBLOCK | O_APPEND)) | O_NOCTTY |
				       O_CLOEXEC);
	if (fds[1] >= 0 && !set_up_pair(fds[0], fds[1], m->pty))
		return 0;
	sc_err(err, "fd %d: a new pty for the one of fd %d of another process: %s", s->fd, m->fd,
	       strerror(errno));
	if (fds[1] >= 0)
		close(fds[1]);
	if (fds[0] >= 0)
		close(fds[0]);
	return -1;
}

static int fd_tty_restore(struct fd_restore_ctx *ctx, const Sc__Fd *e, char *err)
{
	struct fd_restore_pty *p;
	int fd;

	if (e->kind == SC__FD_KIND__TTY)
		return crload_terminal(ctx, e, err);
	p = make_pair(ctx, e->pty_id, e, err);
	if (!p)
		return -1;
	if (e->kind == SC__FD_KIND__PTY_MASTER) {
		/* Handed over: restore_fds moves it to e->fd. */
		fd = p->master;
		p->master = e->fd;
		return fd;
	}
	fd = ioctl(p->master, TIOCGPTPEER,
		   ((int)e->flags & (O_ACCMODE | O_NONBLOCK | O_APPEND)) | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		sc_err(err, "fd %d: opening the slave of a new pty: %s", e->fd, strerror(errno));
	return fd;
}

/* The pty rows of the kinds: claimed through the terminal row. */
static int fd_pty_restore(struct fd_restore_ctx *ctx, const Sc__Fd *e, char *err)
	__attribute__((alias("fd_tty_restore")));

static void fd_tty_describe(const Sc__Fd *e, char *buf, size_t len)
{
	const Sc__Pty *p = e->pty;

	if (e->kind == SC__FD_KIND__TTY)
		snprintf(buf, len, "crload's %s (was %s)",
			 e->ctty ? "controlling terminal" : "terminal", e->path ? e->path : "?");
	else if (e->kind == SC__FD_KIND__PTY_SLAVE)
		snprintf(buf, len, "slave of a new pty (was %s)", e->path ? e->path : "?");
	else if (p)
		snprintf(buf, len,
			 "master of a new pty (was /dev/pts/%u), %ux%u%s%s, %zu bytes to the "
			 "master and %zu to the slave waiting",
			 p->index, p->cols, p->rows, p->packet ? ", packet mode" : "",
			 p->locked ? ", locked" : "", p->has_to_master ? p->to_master.len : 0,
			 p->has_to_slave ? p->to_slave.len : 0);
	else
		snprintf(buf, len, "master of a new pty (a dup)");
}

static void fd_pty_describe(const Sc__Fd *e, char *buf, size_t len)
	__attribute__((alias("fd_tty_describe")));

/* PTY_MASTER: one per pair, its settings whole; PTY_SLAVE: its master
 * in the image. */
int fd_check_pty(const struct fd_check_ctx *ctx, const Sc__Fd *f, char *err)
{
	const Sc__Pty *p = f->pty;
	bool master = false;

	if (!f->has_pty_id)
		return sc_err(err, "fd %d: a pty without its pair", f->fd);
	for (size_t j = 0; j < ctx->fds->n_fds; j++) {
		const Sc__Fd *o = ctx->fds->fds[j];

		if (o != f && o->kind == SC__FD_KIND__PTY_MASTER && !o->has_dup_of &&
		    o->has_pty_id && o->pty_id == f->pty_id) {
			if (f->kind == SC__FD_KIND__PTY_MASTER && !f->has_dup_of)
				return sc_err(err, "fd %d: two pty masters of one pair", f->fd);
			master = true;
		}
	}
	if (f->kind == SC__FD_KIND__PTY_SLAVE && !master)
		return sc_err(err, "fd %d: a pty slave without its master", f->fd);
	if (f->kind == SC__FD_KIND__PTY_SLAVE || f->has_dup_of)
		return 0;
	if (!p || p->termios->cc.len != 19 || p->rows > 0xffff || p->cols > 0xffff ||
	    p->xpixel > 0xffff || p->ypixel > 0xffff ||
	    (p->has_to_master && p->to_master.len > 65536) ||
	    (p->has_to_slave && p->to_slave.len > 65536))
		return sc_err(err, "fd %d: pty settings missing or malformed", f->fd);
	return 0;
}

const struct fd_restore_half fd_tty_restore_half = {
	.restore = fd_tty_restore,
	.describe = fd_tty_describe,
};

const struct fd_restore_half fd_pty_restore_half = {
	.restore = fd_pty_restore,
	.describe = fd_pty_describe,
};
