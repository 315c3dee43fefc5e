// SPDX-License-Identifier: MIT
/*
 * A program that scrubs its environment and execs another keeps the
 * runtime: scrubexec clears every variable (LD_PRELOAD and SELFCKPT_*
 * with them) and execs counter beside it with execl, which passes the
 * empty environ. The e2e driver then checkpoints and restores counter as
 * usual; without the runtime, its trigger signal would kill it.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	char self[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - sizeof("/counter"));

	if (n <= 0 || !(slash = memrchr(self, '/', (size_t)n)))
		return 1;
	strcpy(slash, "/counter");
	if (clearenv())
		return 1;
	execl(self, "counter", (char *)NULL);
	perror("scrubexec: execl");
	return 1;
}
