// SPDX-License-Identifier: MIT
/* Whose state the dump halves read (dump_source.h). */
#include "dump_source.h"
#include "rt.h"

struct rt_source rt_src = { .proc = "/proc/self", .mem_fd = -1 };

void rt_src_self(int pid)
{
	rt_src = (struct rt_source){ .pid = pid, .mem_fd = -1 };
	rt_stpcpy(rt_src.proc, "/proc/self");
}

char *rt_src_path(char *buf, const char *rest)
{
	char *p = rt_stpcpy(buf, rt_src.proc);

	*p++ = '/';
	rt_stpcpy(p, rest);
	return buf;
}
