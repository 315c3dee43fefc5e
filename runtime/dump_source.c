// SPDX-License-Identifier: MIT
/* Whose state the dump halves read (dump_source.h). */
#include "dump_source.h"
#include "rt.h"

struct rt_source rt_src = { .proc = "/proc/self", .mem_fd = -1, .own_timer = -1 };

void rt_src_self(int pid, int own_timer)
{
	rt_src = (struct rt_source){ .pid = pid, .mem_fd = -1, .own_timer = own_timer };
	rt_stpcpy(rt_src.proc, "/proc/self");
}

char *rt_src_path(char *buf, const char *rest)
{
	char *p = rt_stpcpy(buf, rt_src.proc);

	*p++ = '/';
	rt_stpcpy(p, rest);
	return buf;
}
