// SPDX-License-Identifier: MIT
#include "fdkinds.h"

#define NAME_OF(k, name, dump, restore, check) [k] = name,
static const char *const kind_names[] = { SC_FD_KINDS(NAME_OF) };
#undef NAME_OF

const char *sc_fd_kind_name(Sc__FdKind kind)
{
	if ((unsigned)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
		return NULL;
	return kind_names[kind];
}

char *sc_unix_name_show(char *dst, const uint8_t *name, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		bool printable = name[i] >= 32 && name[i] < 127;

		*dst++ = i == 0 && !name[0] ? '@' : printable ? (char)name[i] : '?';
	}
	*dst = '\0';
	return dst;
}
