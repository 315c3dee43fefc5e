/* SPDX-License-Identifier: MIT */
/* The byte streams tcp_established and tcp_peer exchange, checkable at
 * any offset. */
#ifndef SELFCKPT_TCP_STREAM_H
#define SELFCKPT_TCP_STREAM_H

#include <stddef.h>
#include <stdint.h>

#define TO_PEER_BYTES (512 << 10) /* more than the peer's window and our send buffer */
#define TO_APP_BYTES 30000	  /* waits unread in our receive queue */

/* Byte `off` of the stream `seed` (one per direction and connection). */
static inline uint8_t stream_byte(unsigned seed, size_t off)
{
	return (uint8_t)((off * 7 + seed * 13 + off / 251) % 251);
}

static inline void stream_fill(unsigned seed, size_t off, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = stream_byte(seed, off + i);
}

/* The offset of the first wrong byte of buf, or len. */
static inline size_t stream_check(unsigned seed, size_t off, const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != stream_byte(seed, off + i))
			return i;
	return len;
}

#endif
