/* SPDX-License-Identifier: MIT */
/*
 * Reading and writing back one message file of an image, for the test
 * tools that edit images (imgedit, cpu_edit): the file keeps a correct
 * header, so crload sees a sound image with other contents, not a
 * damaged one. They end the program with a line naming the file on error.
 */
#ifndef SELFCKPT_TESTS_IMGFILE_H
#define SELFCKPT_TESTS_IMGFILE_H

#include <stdint.h>

#include "image.h"

void __attribute__((noreturn)) imgfile_die(const char *what, const char *why);
/* The message in dirfd's file name; *type is its header's type. */
ProtobufCMessage *imgfile_read(int dirfd, const char *name, uint32_t *type);
/* Packs m behind a fresh header in place of name (owner and mode kept);
 * *size and *xxh3 are the new file's, as the inventory lists them. */
void imgfile_write(int dirfd, const char *name, uint32_t type, const ProtobufCMessage *m,
		   uint64_t *size, uint64_t *xxh3);

#endif
