// SPDX-License-Identifier: MIT
/* One message file of an image, read and written back (imgfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "imgfile.h"

void imgfile_die(const char *what, const char *why)
{
	fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what, why);
	exit(1);
}

ProtobufCMessage *imgfile_read(int dirfd, const char *name, uint32_t *type)
{
	char err[SC_ERR_LEN];
	struct sc_img_header h;
	struct stat st;
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	char *buf;
	ProtobufCMessage *m;

	if (fd < 0 || fstat(fd, &st) || (size_t)st.st_size < sizeof(h))
		imgfile_die(name, "cannot open, or no header");
	buf = malloc((size_t)st.st_size);
	if (!buf || read(fd, buf, (size_t)st.st_size) != st.st_size)
		imgfile_die(name, "cannot read");
	close(fd);
	memcpy(&h, buf, sizeof(h));
	*type = h.type;
	m = sc_img_unpack(buf, (size_t)st.st_size, h.type, err);
	if (!m)
		imgfile_die(name, err);
	free(buf);
	return m;
}

void imgfile_write(int dirfd, const char *name, uint32_t type, const ProtobufCMessage *m,
		   uint64_t *size, uint64_t *xxh3)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	struct sc_img_header h = { SC_IMG_MAGIC, type, SC_IMAGE_VERSION, (uint32_t)len, 0 };
	char *buf = malloc(sizeof(h) + len);
	int fd = openat(dirfd, name, O_WRONLY | O_TRUNC | O_CLOEXEC);

	if (!buf || fd < 0)
		imgfile_die(name, "cannot write");
	protobuf_c_message_pack(m, (uint8_t *)buf + sizeof(h));
	h.xxh3 = XXH3_64bits(buf + sizeof(h), len);
	memcpy(buf, &h, sizeof(h));
	*size = sizeof(h) + len;
	*xxh3 = XXH3_64bits(buf, *size);
	if (write(fd, buf, *size) != (ssize_t)*size || close(fd))
		imgfile_die(name, "cannot write");
	free(buf);
}
