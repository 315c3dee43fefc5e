// SPDX-License-Identifier: MIT
/*
 * Images the runtime reads back after it wrote them: the tracker checks
 * that the image it builds on is still there, the pruner follows chains
 * and merges them (retention.c, merge.c). It runs in the trigger handler
 * or in a checkpoint's copy, so it reads with raw system calls into the
 * arena and unpacks with an allocator of the arena.
 */
#include <errno.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "dump.h"

static void *arena_alloc(void *data, size_t size)
{
	(void)data;
	return rt_alloc(size);
}

static void arena_free(void *data, void *p)
{
	(void)data;
	(void)p;
}

void *rt_read_msg(int dirfd, const char *path, uint32_t type,
		  const ProtobufCMessageDescriptor *desc, uint64_t *file_xxh3)
{
	ProtobufCAllocator alloc = { arena_alloc, arena_free, NULL };
	const struct sc_img_header *h;
	size_t len;
	char *p = rt_read_file_at(dirfd, path, &len);

	h = (const void *)p;
	if (!p || len < sizeof(*h) || h->magic != SC_IMG_MAGIC || h->type != type ||
	    h->len != len - sizeof(*h) || XXH3_64bits(h + 1, h->len) != h->xxh3)
		return NULL;
	if (file_xxh3)
		*file_xxh3 = XXH3_64bits(p, len);
	return protobuf_c_message_unpack(desc, &alloc, h->len, (const uint8_t *)(h + 1));
}

bool rt_inventory_is(const Sc__Inventory *inv, uint64_t file_xxh3, uint64_t named)
{
	if (file_xxh3 == named)
		return true;
	for (size_t i = 0; i < inv->n_same_as; i++)
		if (inv->same_as[i] == named)
			return true;
	return false;
}
