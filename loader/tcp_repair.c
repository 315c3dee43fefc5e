// SPDX-License-Identifier: MIT
/*
 * An established TCP connection rebuilt in repair mode (doc/tcp.md): in
 * repair mode bind() may take a port still held, connect() sends no SYN
 * and just enters ESTABLISHED with the sequence numbers set beforehand,
 * and data written goes straight into a queue, unsent. Leaving repair
 * mode sends a window probe; the peer answers and the conversation goes
 * on where the checkpoint left it.
 *
 * Connections leave repair mode only once every process of the tree is
 * restored, in the restorer (tcp_repair_list): should anything fail
 * before, the child exits and closing a socket still in repair mode sends
 * nothing, so the peer is undisturbed and the restore can be tried again;
 * and the window probe leaving sends finds its peer's socket in place when
 * both ends are in the tree (mpirun and its ranks), where it would
 * otherwise be answered with a reset.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd_restore.h"
#include "selfckpt/tcp_hold.h"

#define HOLDER_WAIT_MS 5000

/*
 * A connection crdump's holder keeps open (selfckpt/tcp_hold.h) is let go
 * by it first: neither its two addresses nor its port can be taken while
 * it is held. No holder, nothing to do.
 */
int inet_set_int(int s, int level, int opt, int val)
{
	return setsockopt(s, level, opt, &val, sizeof(val));
}

static void take_over(const Sc__InetSocket *in)
{
	struct sockaddr_un sa;
	socklen_t len = sc_tcp_hold_name(&sa, in->local.data, in->local.len, in->peer.data,
					 in->peer.len);
	int c = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	struct pollfd p = { .fd = c, .events = POLLIN };
	char ack;

	if (c < 0)
		return;
	if (!connect(c, (struct sockaddr *)&sa, len) && poll(&p, 1, HOLDER_WAIT_MS) == 1) {
		/* Its answer, or the end of a holder that died: let go either way. */
		ssize_t n = read(c, &ack, 1);

		(void)n;
	}
	close(c);
}

/* Writes a queue's bytes in repair mode, in pieces the buffers take. */
static int refill(int s, int queue, const ProtobufCBinaryData *q)
{
	int buf_opt = queue == TCP_SEND_QUEUE ? SO_SNDBUFFORCE : SO_RCVBUFFORCE;
	int cur = 0;
	socklen_t len = sizeof(cur);
	size_t off = 0;

	if (inet_set_int(s, IPPROTO_TCP, TCP_REPAIR_QUEUE, queue))
		return -1;
	/* Room for the whole queue with its overhead: the original's buffer
	 * had grown to hold it. */
	getsockopt(s, SOL_SOCKET, buf_opt == SO_SNDBUFFORCE ? SO_SNDBUF : SO_RCVBUF, &cur, &len);
	if (q->len && (size_t)cur < q->len * 4 && q->len < (1U << 28))
		inet_set_int(s, SOL_SOCKET, buf_opt, (int)(q->len * 2));
	while (off < q->len) {
		size_t chunk = q->len - off < 65536 ? q->len - off : 65536;
		ssize_t n = send(s, q->data + off, chunk, MSG_DONTWAIT);

		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

static int set_seq(int s, int queue, uint32_t seq)
{
	return inet_set_int(s, IPPROTO_TCP, TCP_REPAIR_QUEUE, queue) ||
	       inet_set_int(s, IPPROTO_TCP, TCP_QUEUE_SEQ, (int)seq);
}

void tcp_take_over_held(const Sc__Fds *fds)
{
	for (size_t i = 0; i < fds->n_fds; i++) {
		const Sc__Fd *e = fds->fds[i];

		if (e->kind == SC__FD_KIND__INET && e->inet && e->inet->tcp && !e->has_dup_of)
			take_over(e->inet);
	}
}

/* Connects s in repair mode. The same connection of the original may wait
 * out TIME_WAIT (tcp_timewait.c): it goes, and connect is tried once more. */
static int connect_back(int s, const Sc__InetSocket *in)
{
	const struct sockaddr *peer = (const struct sockaddr *)in->peer.data;

	if (!connect(s, peer, (socklen_t)in->peer.len))
		return 0;
	if (errno != EADDRNOTAVAIL)
		return -1;
	if (tcp_timewait_clear(&in->local, &in->peer) <= 0) {
		errno = EADDRNOTAVAIL;
		return -1;
	}
	return connect(s, peer, (socklen_t)in->peer.len);
}

int tcp_repair_restore(int s, const Sc__InetSocket *in, char *err)
{
	const Sc__TcpConnection *t = in->tcp;
	struct tcp_repair_opt opts[4];
	struct tcp_repair_window w = {
		.snd_wl1 = t->snd_wl1, .snd_wnd = t->snd_wnd, .max_window = t->max_window,
		.rcv_wnd = t->rcv_wnd, .rcv_wup = t->rcv_wup,
	};
	unsigned nopts = 0;
	const char *step = "TCP_REPAIR";

	if (inet_set_int(s, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_ON)) {
		sc_err(err, "%s",
		       errno == EPERM ? "restoring it needs CAP_NET_ADMIN (TCP_REPAIR) in the "
					"network namespace"
				      : strerror(errno));
		return -1;
	}
	step = "bind";
	if (bind(s, (const struct sockaddr *)in->local.data, (socklen_t)in->local.len))
		goto fail;
	/* The queues are refilled below: their sequence numbers start where
	 * the saved bytes begin. */
	step = "setting the sequence numbers";
	if (set_seq(s, TCP_RECV_QUEUE, t->recv_seq - (uint32_t)t->recv_queue.len) ||
	    set_seq(s, TCP_SEND_QUEUE, t->send_seq - (uint32_t)t->send_queue.len))
		goto fail;
	step = "connect";
	if (connect_back(s, in))
		goto fail;
	opts[nopts++] = (struct tcp_repair_opt){ TCPOPT_MAXSEG, t->mss };
	if (t->has_snd_wscale)
		opts[nopts++] = (struct tcp_repair_opt){ TCPOPT_WINDOW,
							 t->snd_wscale | t->rcv_wscale << 16 };
	if (t->sack)
		opts[nopts++] = (struct tcp_repair_opt){ TCPOPT_SACK_PERMITTED, 0 };
	if (t->timestamps)
		opts[nopts++] = (struct tcp_repair_opt){ TCPOPT_TIMESTAMP, 0 };
	step = "setting TCP options";
	if (setsockopt(s, IPPROTO_TCP, TCP_REPAIR_OPTIONS, opts, nopts * sizeof(opts[0])) ||
	    (t->timestamps && inet_set_int(s, IPPROTO_TCP, TCP_TIMESTAMP, (int)t->timestamp)))
		goto fail;
	step = "refilling the receive queue";
	if (refill(s, TCP_RECV_QUEUE, &t->recv_queue))
		goto fail;
	step = "refilling the send queue";
	if (refill(s, TCP_SEND_QUEUE, &t->send_queue))
		goto fail;
	step = "setting the window";
	if (setsockopt(s, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, sizeof(w)) ||
	    inet_set_int(s, IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_NO_QUEUE))
		goto fail;
	return 0;
fail:
	sc_err(err, "%s: %s", step, strerror(errno));
	return -1;
}

size_t tcp_repair_list(const Sc__Fds *fds, struct rst_tcp *out)
{
	size_t n = 0;

	for (size_t i = 0; i < fds->n_fds; i++) {
		const Sc__Fd *e = fds->fds[i];

		if (e->kind != SC__FD_KIND__INET || !e->inet->tcp || e->has_dup_of)
			continue;
		if (out)
			out[n] = (struct rst_tcp){ .fd = e->fd, .reuseaddr = e->inet->reuseaddr };
		n++;
	}
	return n;
}
