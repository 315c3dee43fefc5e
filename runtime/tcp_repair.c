// SPDX-License-Identifier: MIT
/*
 * Established TCP connections, read with TCP_REPAIR while the app is
 * frozen (doc/tcp.md).
 *
 * Each connection is put in repair mode (this needs CAP_NET_ADMIN: the
 * checkpoint fails here, naming it, with nothing changed) and gets a
 * socket filter that drops every segment: the peer's data and
 * acknowledgements then wait in the network (the peer retransmits them)
 * instead of changing the queues we read, and nothing arriving after the
 * snapshot is acknowledged to the peer and lost to the restored copy.
 * Then repair mode gives the sequence numbers, both queues, the
 * negotiated options and the window.
 *
 * The connections stay so until the checkpoint is over: if the app goes
 * on, rt_tcp_release() leaves repair mode and removes the filter; if it
 * exits or stops (SELFCKPT_EXIT, SELFCKPT_STOP), they stay in repair mode
 * and closing them sends nothing to the peer.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "fd_dump.h"

struct held_conn {
	int fd;
	bool reuseaddr; /* leaving repair mode clears SO_REUSEADDR */
};

/* Connections in repair mode; in the arena, so per checkpoint. */
static struct held_conn *held;
static size_t nheld, held_cap;

static int hold(int fd, bool reuseaddr)
{
	if (nheld == held_cap) {
		size_t cap = held_cap ? held_cap * 2 : 16;
		struct held_conn *more = rt_alloc(sizeof(*more) * cap);

		if (!more)
			return -ENOMEM;
		if (nheld)
			memcpy(more, held, sizeof(*more) * nheld);
		held = more;
		held_cap = cap;
	}
	held[nheld].fd = fd;
	held[nheld++].reuseaddr = reuseaddr;
	return 0;
}

static void release_one(int fd, bool reuseaddr)
{
	int off = TCP_REPAIR_OFF_NO_WP, on = 1;

	/* Nothing changed for the peer: no window probe. */
	sc_sys5(__NR_setsockopt, fd, IPPROTO_TCP, TCP_REPAIR, &off, sizeof(off));
	sc_sys5(__NR_setsockopt, fd, SOL_SOCKET, SO_DETACH_FILTER, &on, sizeof(on));
	if (reuseaddr)
		sc_sys5(__NR_setsockopt, fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
}

size_t rt_tcp_held(int *fds, size_t max)
{
	size_t n = 0;

	for (; n < nheld && n < max; n++)
		fds[n] = held[n].fd;
	return n;
}

void rt_tcp_release(void)
{
	for (size_t i = 0; i < nheld; i++)
		release_one(held[i].fd, held[i].reuseaddr);
	rt_tcp_forget();
}

void rt_tcp_forget(void)
{
	held = NULL;
	nheld = held_cap = 0;
}

/* "1.2.3.4:80" or "[::1]:80" */
static char *fmt_addr(char *p, const ProtobufCBinaryData *a)
{
	static const char hex[] = "0123456789abcdef";
	const struct sockaddr_in *in = (const void *)a->data;
	const struct sockaddr_in6 *in6 = (const void *)a->data;
	const uint8_t *b;

	if (in->sin_family == AF_INET) {
		b = (const uint8_t *)&in->sin_addr;
		for (int i = 0; i < 4; i++) {
			p = rt_fmt_u64(p, b[i]);
			*p++ = i < 3 ? '.' : ':';
		}
		return rt_fmt_u64(p, ntohs(in->sin_port));
	}
	b = in6->sin6_addr.s6_addr;
	*p++ = '[';
	for (int i = 0; i < 16; i += 2) {
		uint16_t g = (uint16_t)(b[i] << 8 | b[i + 1]);
		bool lead = true;

		for (int sh = 12; sh >= 0; sh -= 4) {
			if (lead && sh && !((g >> sh) & 15))
				continue;
			lead = false;
			*p++ = hex[(g >> sh) & 15];
		}
		*p++ = i < 14 ? ':' : ']';
	}
	*p++ = ':';
	return rt_fmt_u64(p, ntohs(in6->sin6_port));
}

/* "fd N (socket:[I]): TCP connection A -> B: " */
static char *conn_why(struct fd_dump_ctx *ctx, const Sc__Fd *e)
{
	char *p = rt_stpcpy(fd_why(ctx, e), "TCP connection ");

	p = fmt_addr(p, &e->inet->local);
	p = rt_stpcpy(p, " -> ");
	p = fmt_addr(p, &e->inet->peer);
	return rt_stpcpy(p, ": ");
}

static int set_int(int fd, int level, int opt, int val)
{
	return (int)sc_sys5(__NR_setsockopt, fd, level, opt, &val, sizeof(val));
}

static int get_u32(int fd, int opt, uint32_t *val)
{
	socklen_t len = sizeof(*val);

	return (int)sc_sys5(__NR_getsockopt, fd, IPPROTO_TCP, opt, val, &len);
}

/*
 * One queue (TCP_SEND_QUEUE or TCP_RECV_QUEUE): the sequence number after
 * its last byte and its bytes, peeked in one call. Should a segment still
 * slip in (the filter was attached while it was being processed), the
 * sequence number moves and the peek is taken again.
 */
static int read_queue(int fd, int queue, uint32_t *seq, ProtobufCBinaryData *data)
{
	int ioc = queue == TCP_SEND_QUEUE ? SIOCOUTQ : SIOCINQ;

	if (set_int(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, queue))
		return -EIO;
	for (int tries = 0; tries < 8; tries++) {
		uint32_t after;
		int n = 0;
		long got = 0;

		if (get_u32(fd, TCP_QUEUE_SEQ, seq) || sc_sys3(__NR_ioctl, fd, ioc, &n) || n < 0)
			return -EIO;
		data->len = (size_t)n;
		data->data = rt_alloc(n ? (size_t)n : 1);
		if (!data->data)
			return -ENOMEM;
		if (n)
			got = sc_sys6(__NR_recvfrom, fd, data->data, (size_t)n, MSG_PEEK | MSG_DONTWAIT,
				      0, 0);
		if (get_u32(fd, TCP_QUEUE_SEQ, &after))
			return -EIO;
		if (got == n && after == *seq)
			return 0;
	}
	return -EAGAIN;
}

static int read_state(int fd, Sc__TcpConnection *t)
{
	struct tcp_repair_window w;
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	int err;

	if (sc_sys5(__NR_getsockopt, fd, IPPROTO_TCP, TCP_INFO, &ti, &len) ||
	    ti.tcpi_state != TCP_ESTABLISHED)
		return -EIO;
	t->sack = (ti.tcpi_options & TCPI_OPT_SACK) != 0;
	t->timestamps = (ti.tcpi_options & TCPI_OPT_TIMESTAMPS) != 0;
	if (ti.tcpi_options & TCPI_OPT_WSCALE) {
		t->has_snd_wscale = t->has_rcv_wscale = true;
		t->snd_wscale = ti.tcpi_snd_wscale;
		t->rcv_wscale = ti.tcpi_rcv_wscale;
	}
	/* In repair mode TCP_MAXSEG gives the MSS the peer announced. */
	if (get_u32(fd, TCP_MAXSEG, &t->mss) || get_u32(fd, TCP_TIMESTAMP, &t->timestamp))
		return -EIO;
	len = sizeof(w);
	if (sc_sys5(__NR_getsockopt, fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, &len))
		return -EIO;
	t->snd_wl1 = w.snd_wl1;
	t->snd_wnd = w.snd_wnd;
	t->max_window = w.max_window;
	t->rcv_wnd = w.rcv_wnd;
	t->rcv_wup = w.rcv_wup;
	t->has_send_queue = t->has_recv_queue = true;
	if ((err = read_queue(fd, TCP_SEND_QUEUE, &t->send_seq, &t->send_queue)) ||
	    (err = read_queue(fd, TCP_RECV_QUEUE, &t->recv_seq, &t->recv_queue)))
		return err;
	return set_int(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_NO_QUEUE) ? -EIO : 0;
}

int rt_tcp_dump(struct fd_dump_ctx *ctx, const struct fd_live *l, Sc__Fd *e)
{
	struct sock_filter drop = BPF_STMT(BPF_RET | BPF_K, 0);
	struct sock_fprog prog = { .len = 1, .filter = &drop };
	Sc__TcpConnection *t = rt_alloc(sizeof(*t));
	socklen_t flen = 0, flen_int = sizeof(int);
	int peek_off = -1, err;
	long r;

	if (!t)
		return -ENOMEM;
	sc__tcp_connection__init(t);
	e->inet->tcp = t;
	if (sc_sys5(__NR_getsockopt, l->fd, SOL_SOCKET, SO_GET_FILTER, NULL, &flen) || flen) {
		rt_stpcpy(conn_why(ctx, e), "a socket with a filter attached cannot be checkpointed");
		return -EOPNOTSUPP;
	}
	r = set_int(l->fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_ON);
	if (r) {
		rt_stpcpy(conn_why(ctx, e),
			  r == -EPERM ? "checkpointing an established connection needs "
					"CAP_NET_ADMIN (TCP_REPAIR); the connection is left as it was"
				      : "TCP_REPAIR is not available");
		return (int)r;
	}
	/* From here on, rt_tcp_release() undoes all this if the app goes on. */
	if ((err = hold(l->fd, e->inet->reuseaddr))) {
		release_one(l->fd, e->inet->reuseaddr);
		return err;
	}
	r = sc_sys5(__NR_setsockopt, l->fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
	if (r) {
		rt_stpcpy(conn_why(ctx, e), "cannot hold its incoming segments (SO_ATTACH_FILTER)");
		return (int)r;
	}
	/* The receive queue is peeked from its start. */
	sc_sys5(__NR_getsockopt, l->fd, SOL_SOCKET, SO_PEEK_OFF, &peek_off, &flen_int);
	if (peek_off >= 0)
		set_int(l->fd, SOL_SOCKET, SO_PEEK_OFF, -1);
	err = read_state(l->fd, t);
	if (peek_off >= 0)
		set_int(l->fd, SOL_SOCKET, SO_PEEK_OFF, peek_off);
	if (err)
		rt_stpcpy(conn_why(ctx, e), err == -EAGAIN ? "its queues kept changing"
							   : "its state cannot be read in repair mode");
	return err;
}
