/* SPDX-License-Identifier: MIT */
/* Walking protobuf-c messages through their descriptors (crinfo's JSON,
 * the fuzz target's mutator). */
#ifndef SELFCKPT_PBFIELD_H
#define SELFCKPT_PBFIELD_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

/* Bytes per element of a repeated field of type t, as protobuf-c lays
 * out its arrays. */
static inline size_t sc_pb_elem_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	default:
		return 4;
	}
}

#endif
