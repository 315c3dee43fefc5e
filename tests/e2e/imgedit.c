// SPDX-License-Identifier: MIT
/*
 * imgedit DIR FILE FIELD=VALUE...: sets number or bool fields of one
 * message file of an image, e.g. `imgedit DIR core-123.img creds.ruid=0`
 * (FIELD a path of field names through nested messages), or drops an
 * optional message (`creds=-`: as an image that does not record it), and
 * writes the
 * file and the inventory's checksum of it back in place (their owner
 * stays), so that the image still verifies and a test sees what crload
 * makes of the content.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imgfile.h"

/* The number or bool field f, at at, set to value. */
static void set_number(const ProtobufCFieldDescriptor *f, char *at, unsigned long long value)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_BOOL:
		*(protobuf_c_boolean *)at = value != 0;
		break;
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_SINT32:
		*(uint32_t *)at = (uint32_t)value;
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_SINT64:
		*(uint64_t *)at = value;
		break;
	default:
		imgfile_die(f->name, "not a number or bool");
	}
}

/* Sets the scalar field at path (a.b.c) of m to value ("-": drops the
 * optional message there). */
static void set_field(ProtobufCMessage *m, char *path, const char *value)
{
	char *dot = strchr(path, '.');
	const ProtobufCFieldDescriptor *f;
	char *at;

	if (dot)
		*dot = '\0';
	f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, path);
	if (!f || f->label == PROTOBUF_C_LABEL_REPEATED)
		imgfile_die(path, "no such single field");
	at = (char *)m + f->offset;
	if (dot) {
		if (f->type != PROTOBUF_C_TYPE_MESSAGE || !*(ProtobufCMessage **)at)
			imgfile_die(path, "not a message present in the file");
		set_field(*(ProtobufCMessage **)at, dot + 1, value);
		return;
	}
	if (!strcmp(value, "-")) {
		if (f->type != PROTOBUF_C_TYPE_MESSAGE || f->label != PROTOBUF_C_LABEL_OPTIONAL)
			imgfile_die(path, "not an optional message");
		*(ProtobufCMessage **)at = NULL;
		return;
	}
	set_number(f, at, strtoull(value, NULL, 0));
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset)
		*(protobuf_c_boolean *)((char *)m + f->quantifier_offset) = 1;
}

int main(int argc, char **argv)
{
	ProtobufCMessage *m;
	Sc__Inventory *inv;
	uint64_t size, xxh3;
	uint32_t type;
	int dirfd;
	size_t i;

	if (argc < 4) {
		fprintf(stderr, "usage: imgedit DIR FILE FIELD=VALUE...\n");
		return 2;
	}
	dirfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		imgfile_die(argv[1], "not a directory");
	m = imgfile_read(dirfd, argv[2], &type);
	for (int a = 3; a < argc; a++) {
		char *eq = strchr(argv[a], '=');

		if (!eq)
			imgfile_die(argv[a], "not FIELD=VALUE");
		*eq = '\0';
		set_field(m, argv[a], eq + 1);
	}
	imgfile_write(dirfd, argv[2], type, m, &size, &xxh3);
	inv = (Sc__Inventory *)imgfile_read(dirfd, SC_INVENTORY_FILE, &type);
	for (i = 0; i < inv->n_files && strcmp(inv->files[i]->name, argv[2]); i++)
		;
	if (i == inv->n_files)
		imgfile_die(argv[2], "not in the inventory");
	inv->files[i]->size = size;
	inv->files[i]->xxh3 = xxh3;
	imgfile_write(dirfd, SC_INVENTORY_FILE, type, &inv->base, &size, &xxh3);
	return 0;
}
