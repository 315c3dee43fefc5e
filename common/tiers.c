// SPDX-License-Identifier: MIT
/* The generations of a tier, as the tools read them (doc/tiers.md). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "tiers.h"

#define GEN_PREFIX "ckpt-"

unsigned long sc_tier_generation(const char *name)
{
	const char *num = name + strlen(GEN_PREFIX);
	unsigned long n;
	char *end;

	if (strncmp(name, GEN_PREFIX, strlen(GEN_PREFIX)) || *num < '0' || *num > '9')
		return 0;
	errno = 0;
	n = strtoul(num, &end, 10);
	return *end || errno ? 0 : n;
}

/* N of ".ckpt-N" MARK "PID", and its *pid; or 0. */
static unsigned long marked(const char *name, const char *mark_str, long *pid)
{
	const char *mark = strstr(name, mark_str);
	char gen[NAME_MAX + 1], *end;

	if (name[0] != '.' || !mark || (size_t)(mark - name) > sizeof(gen))
		return 0;
	memcpy(gen, name + 1, (size_t)(mark - name - 1));
	gen[mark - name - 1] = '\0';
	errno = 0;
	*pid = strtol(mark + strlen(mark_str), &end, 10);
	return *end || errno || *pid <= 0 ? 0 : sc_tier_generation(gen);
}

unsigned long sc_tier_leftover(const char *name, long *pid)
{
	return marked(name, SC_TMP_MARK, pid);
}

unsigned long sc_tier_removed(const char *name, long *pid)
{
	return marked(name, SC_DEL_MARK, pid);
}

int sc_tier_newest_first(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}
