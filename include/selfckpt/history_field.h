/* SPDX-License-Identifier: MIT */
/*
 * One value of a history line (selfckpt/launcher.h), written the same way
 * by the runtime, which may not call libc there, and by crrun.
 */
#ifndef SELFCKPT_HISTORY_FIELD_H
#define SELFCKPT_HISTORY_FIELD_H

#include <stddef.h>

/* Keeps a line one word per field: blanks, '%' and bytes outside
 * printable ASCII become %XX. */
static inline int selfckpt_history_escaped(unsigned char c)
{
	return c <= ' ' || c >= 0x7f || c == '%';
}

/*
 * Writes s escaped at d, at most room bytes and a NUL (a value cut short
 * never ends inside an escape); returns the end of what it wrote.
 */
static inline char *selfckpt_history_put(char *d, const char *s, size_t room)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		size_t need = selfckpt_history_escaped(c) ? 3 : 1;

		if (need > room)
			break;
		if (need == 3) {
			*d++ = '%';
			*d++ = hex[c >> 4];
			*d++ = hex[c & 15];
		} else {
			*d++ = (char)c;
		}
		room -= need;
	}
	*d = '\0';
	return d;
}

#endif
