// SPDX-License-Identifier: MIT
/*
 * Terminals. Three cases (see doc/terminals.md):
 * - the process's own terminal (its standard streams' or its controlling
 *   terminal, /dev/tty included): restored onto crload's terminal, as a
 *   job restarted from a shell would be; on fds 0-2 as INHERIT;
 * - a pty pair the process created (posix_openpt): its master keeps the
 *   pair's settings (termios, window size, packet mode, lock) and the
 *   bytes waiting in it; its slaves point at it;
 * - any other terminal (a serial port, someone else's pty): refused.
 * Which case a slave is becomes known once every descriptor is seen:
 * fd_tty_check_pairs() settles it.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <asm/ioctls.h>
#include <asm/termbits.h>

#include "fd_dump.h"
#include "tty_inq.h"

#define PTMX_MAJOR 5
#define PTMX_MINOR 2
#define TTY_MINOR 0 /* /dev/tty: 5:0 */

static bool fd_tty_claims(const struct fd_live *l)
{
	struct termios t;
	long r;

	if (!S_ISCHR(l->st.st_mode))
		return false;
	/* What isatty() asks: any driver that answers TCGETS is a terminal;
	 * a terminal hung up answers EIO (and must not be reopened by path). */
	r = sc_sys3(__NR_ioctl, l->fd, TCGETS, &t);
	return r == 0 || r == -EIO;
}

/* Names a terminal by its devpts (or devtmpfs) device and its own device. */
static uint64_t tty_id(const struct stat *st)
{
	return (uint64_t)st->st_dev << 32 | (uint32_t)st->st_rdev;
}

static int get_termios(int fd, Sc__Termios *st)
{
	struct termios t;

	if (sc_sys3(__NR_ioctl, fd, TCGETS, &t))
		return -EIO;
	sc__termios__init(st);
	st->iflag = t.c_iflag;
	st->oflag = t.c_oflag;
	st->cflag = t.c_cflag;
	st->lflag = t.c_lflag;
	st->line = t.c_line;
	st->cc.len = sizeof(t.c_cc);
	st->cc.data = rt_alloc(sizeof(t.c_cc));
	if (!st->cc.data)
		return -ENOMEM;
	memcpy(st->cc.data, t.c_cc, sizeof(t.c_cc));
	return 0;
}

/*
 * Takes what waits to be read on from (TIOCINQ bytes) and puts it back by
 * writing it on the other end, with the flags that would add, change or
 * echo anything (iclear, oclear, lclear) off for that write, then on
 * again. tios_fd is the slave, whose termios rules both directions.
 */
static int take_and_put_back(int from, int to, int tios_fd, const tcflag_t clear[3],
			     ProtobufCBinaryData *out)
{
	struct termios saved, t;
	int count = 0;
	long n;

	if (sc_sys3(__NR_ioctl, from, TIOCINQ, &count) || count <= 0)
		return 0;
	out->data = rt_alloc((size_t)count);
	if (!out->data || sc_sys3(__NR_ioctl, tios_fd, TCGETS, &saved))
		return -ENOMEM;
	n = sc_sys3(__NR_read, from, out->data, (size_t)count);
	if (n <= 0)
		return 0;
	out->len = (size_t)n;
	t = saved;
	t.c_iflag &= ~clear[0];
	t.c_oflag &= ~clear[1];
	t.c_lflag &= ~clear[2];
	sc_sys3(__NR_ioctl, tios_fd, TCSETS, &t);
	n = sc_sys3(__NR_write, to, out->data, out->len);
	if (to != tios_fd)
		sc_tty_wait_inq(tios_fd, (int)out->len);
	sc_sys3(__NR_ioctl, tios_fd, TCSETS, &saved);
	return n == (long)out->len ? 0 : -EIO;
}

/*
 * The bytes waiting in the pair, read while the app is frozen and written
 * back at once (tty buffers cannot be peeked). Only when the process holds
 * a slave too: the slave opened here and closed again would otherwise be
 * its last, and the master would read EIO from then on. Towards the slave
 * only in non-canonical mode: a partial line of canonical mode cannot be
 * read. Packet mode is off while the master is read (a pending status is
 * lost).
 */
static int dump_queues(int master, Sc__Pty *pty)
{
	static const tcflag_t raw_out[3] = { 0, OPOST, 0 };
	static const tcflag_t raw_in[3] = { ~0U, 0, ECHO | ECHONL | ISIG | IEXTEN | ICANON };
	int slave = (int)sc_sys3(__NR_ioctl, master, TIOCGPTPEER,
				 O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	int off = 0, on = 1, fl = (int)sc_sys2(__NR_fcntl, master, F_GETFL), err;

	if (slave < 0)
		return 0; /* locked: nothing can have been written */
	sc_sys3(__NR_fcntl, master, F_SETFL, fl | O_NONBLOCK);
	if (pty->packet)
		sc_sys3(__NR_ioctl, master, TIOCPKT, &off);
	err = take_and_put_back(master, slave, slave, raw_out, &pty->to_master);
	pty->has_to_master = pty->to_master.len > 0;
	if (pty->packet)
		sc_sys3(__NR_ioctl, master, TIOCPKT, &on);
	sc_sys3(__NR_fcntl, master, F_SETFL, fl);
	if (!err && !(pty->termios->lflag & ICANON)) {
		err = take_and_put_back(slave, master, slave, raw_in, &pty->to_slave);
		pty->has_to_slave = pty->to_slave.len > 0;
	}
	sc_sys1(__NR_close, slave);
	return err;
}

static int dump_master(struct fd_dump_ctx *ctx, const struct fd_live *l, Sc__Fd *e)
{
	unsigned index = 0, locked = 0;
	unsigned short ws[4] = { 0 };
	int packet = 0, slave;
	Sc__Pty *pty = rt_alloc(sizeof(*pty));
	Sc__Termios *tios = rt_alloc(sizeof(*tios));
	struct stat st;

	if (!pty || !tios)
		return -ENOMEM;
	sc__pty__init(pty);
	e->kind = SC__FD_KIND__PTY_MASTER;
	slave = (int)sc_sys3(__NR_ioctl, l->fd, TIOCGPTPEER, O_PATH | O_NOCTTY | O_CLOEXEC);
	if (slave < 0 || sc_sys2(__NR_fstat, slave, &st) ||
	    sc_sys3(__NR_ioctl, l->fd, TIOCGPTN, &index) ||
	    sc_sys3(__NR_ioctl, l->fd, TIOCGWINSZ, ws) || get_termios(l->fd, tios)) {
		if (slave >= 0)
			sc_sys1(__NR_close, slave);
		rt_stpcpy(fd_why(ctx, e), "a pty master whose slave cannot be found");
		return -EOPNOTSUPP;
	}
	sc_sys1(__NR_close, slave);
	sc_sys3(__NR_ioctl, l->fd, TIOCGPKT, &packet);
	sc_sys3(__NR_ioctl, l->fd, TIOCGPTLCK, &locked);
	pty->index = index;
	pty->termios = tios;
	pty->rows = ws[0];
	pty->cols = ws[1];
	pty->xpixel = ws[2];
	pty->ypixel = ws[3];
	pty->packet = packet != 0;
	pty->locked = locked != 0;
	e->pty = pty;
	e->has_pty_id = true;
	e->pty_id = tty_id(&st);
	return 0;
}

static int fd_tty_dump(struct fd_dump_ctx *ctx, const struct fd_live *l, Sc__Fd *e)
{
	unsigned maj = major(l->st.st_rdev), min = minor(l->st.st_rdev);
	int sid;

	if (maj == PTMX_MAJOR && min == PTMX_MINOR)
		return dump_master(ctx, l, e);
	if (maj == PTMX_MAJOR && min == TTY_MINOR) {
		e->kind = SC__FD_KIND__TTY;
		e->has_ctty = e->ctty = true;
		return 0;
	}
	/* Settled by fd_tty_check_pairs: a slave of one of our masters, else
	 * our terminal (a standard stream's, or the controlling one), else
	 * refused. Until then PTY_SLAVE means "not known to be ours". */
	e->has_pty_id = true;
	e->pty_id = tty_id(&l->st);
	if (l->num <= 2)
		e->kind = SC__FD_KIND__INHERIT;
	else if (sc_sys3(__NR_ioctl, l->fd, TIOCGSID, &sid) == 0)
		e->kind = SC__FD_KIND__TTY;
	else
		e->kind = SC__FD_KIND__PTY_SLAVE;
	return 0;
}

static const Sc__Fd *find_tty(const Sc__Fds *fds, Sc__FdKind kind, uint64_t id, int max_fd)
{
	for (size_t i = 0; i < fds->n_fds; i++) {
		const Sc__Fd *f = fds->fds[i];

		if (f->kind == kind && f->has_pty_id && f->pty_id == id && f->fd <= max_fd)
			return f;
	}
	return NULL;
}

/*
 * Every terminal descriptor keeps its pty id, the process's own terminal's
 * too: should its master be held by another process of the tree (mpirun
 * gives each rank a pty for its output), crload makes the pair for both.
 */
static int fd_tty_check_pairs(struct fd_dump_ctx *ctx)
{
	const Sc__Fds *fds = ctx->fds;
	int err = 0;

	for (size_t i = 0; i < fds->n_fds; i++) {
		Sc__Fd *e = fds->fds[i];

		if (!e->has_pty_id || e->kind == SC__FD_KIND__PTY_MASTER)
			continue;
		if (find_tty(fds, SC__FD_KIND__PTY_MASTER, e->pty_id, 1 << 30)) {
			e->kind = SC__FD_KIND__PTY_SLAVE;
			continue;
		}
		if (e->kind == SC__FD_KIND__PTY_SLAVE) {
			if (!find_tty(fds, SC__FD_KIND__INHERIT, e->pty_id, 2)) {
				rt_stpcpy(fd_why(ctx, e),
					  "a terminal that is neither the process's own (its "
					  "standard streams' or controlling terminal) nor a pty it "
					  "created cannot be checkpointed");
				return -EOPNOTSUPP;
			}
			e->kind = SC__FD_KIND__TTY;
		}
	}
	for (size_t i = 0; i < fds->n_fds && !err; i++) {
		Sc__Fd *e = fds->fds[i];

		/* A dup shares the pair: its bytes are taken once. */
		if (e->kind == SC__FD_KIND__PTY_MASTER && !e->has_dup_of &&
		    find_tty(fds, SC__FD_KIND__PTY_SLAVE, e->pty_id, 1 << 30) &&
		    (err = dump_queues(rt_src_fd(ctx->src, e->fd), e->pty)))
			rt_stpcpy(fd_why(ctx, e), "the bytes waiting in this pty could not be put back");
	}
	return err ? -EIO : 0;
}

const struct fd_dump_half fd_tty_dump_half = {
	.claims = fd_tty_claims,
	.dump = fd_tty_dump,
	.after_all = fd_tty_check_pairs,
};
