// SPDX-License-Identifier: MIT
/* The generations of a tier, as the tools read them (doc/tiers.md). */
#include <errno.h>
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
