/* SPDX-License-Identifier: MIT */
/*
 * Between crdump killing a tree and crload restoring it, its established
 * TCP connections are held open, in repair mode behind a filter that
 * drops every segment, by a small process crdump leaves (doc/tcp.md): the
 * peer's packets meanwhile are lost and sent again, never answered with a
 * reset. crload takes each one over by connecting to the abstract unix
 * name below, made from the connection's two addresses; the holder closes
 * its socket (silently, in repair mode) and answers one byte.
 */
#ifndef SELFCKPT_TCP_HOLD_H
#define SELFCKPT_TCP_HOLD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#define SC_TCP_HOLD_PREFIX "selfckpt-tcp-hold-"

/* The name of the connection from local to peer (sockaddrs as
 * getsockname and getpeername give them). */
static inline socklen_t sc_tcp_hold_name(struct sockaddr_un *sa, const void *local, size_t llen,
					 const void *peer, size_t plen)
{
	XXH3_state_t st;
	uint64_t h;
	char *p = sa->sun_path + 1;

	XXH3_64bits_reset(&st);
	XXH3_64bits_update(&st, local, llen);
	XXH3_64bits_update(&st, peer, plen);
	h = XXH3_64bits_digest(&st);
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(p, SC_TCP_HOLD_PREFIX, sizeof(SC_TCP_HOLD_PREFIX) - 1);
	p += sizeof(SC_TCP_HOLD_PREFIX) - 1;
	for (int i = 60; i >= 0; i -= 4)
		*p++ = "0123456789abcdef"[(h >> i) & 15];
	return (socklen_t)(p - (char *)sa);
}

#endif
