/* SPDX-License-Identifier: MIT */
/*
 * Structure-aware mutation of protobuf-c messages, for the image fuzzers.
 *
 * Byte-level mutations of a packed message mostly break its framing (a
 * length prefix, a varint), so few of them reach the checks behind the
 * decoder. pbm_mutate() decodes a payload, changes a few fields through the
 * message descriptors (edge values for numbers, hostile strings, resized
 * byte fields, reordered or shortened repeated fields) and packs it again,
 * so the result always decodes and probes what sc_check_* must refuse.
 */
#ifndef SELFCKPT_PBMUTATE_H
#define SELFCKPT_PBMUTATE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* Returns the next pseudo-random number of a caller's generator. */
typedef uint64_t (*pbm_rand_fn)(void *ctx);

/* Decodes in as a message of type d, applies 1 to 4 mutations and packs
 * the result into out. Returns its length, or 0 when in does not decode or
 * the result does not fit in cap bytes. */
size_t pbm_mutate(const ProtobufCMessageDescriptor *d, const uint8_t *in, size_t in_len,
		  uint8_t *out, size_t cap, pbm_rand_fn rnd, void *ctx);

#endif
