/* SPDX-License-Identifier: MIT */
/* The image fuzz target (fuzz_image.c), shared by its two drivers. */
#ifndef SELFCKPT_FUZZ_IMAGE_H
#define SELFCKPT_FUZZ_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "pbmutate.h"
#include "selfckpt/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A structure-aware mutation of in (a record file, an mm + pagemap pair or a
 * bare payload) into out; 0 when none applies. */
size_t fuzz_image_mutate(const uint8_t *in, size_t len, uint8_t *out, size_t cap, pbm_rand_fn rnd,
			 void *ctx);

/* Per record type: inputs that decoded, and that then passed their check
 * (the standalone driver reports them, to show how far the pass gets). */
extern unsigned long fuzz_stat_decoded[SC_IMG_FDS + 1], fuzz_stat_accepted[SC_IMG_FDS + 1];

#endif
