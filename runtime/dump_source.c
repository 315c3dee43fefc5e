// SPDX-License-Identifier: MIT
/* Whose state the dump halves read (dump_source.h). */
#include "dump_source.h"
#include "rt.h"

void rt_src_self(struct rt_source *src, int pid, int own_timer)
{
	*src = (struct rt_source){ .pid = pid, .mem_fd = -1, .own_timer = own_timer };
	rt_stpcpy(src->proc, "/proc/self");
}

char *rt_src_path(const struct rt_source *src, char *buf, const char *rest)
{
	char *p = rt_stpcpy(buf, src->proc);

	*p++ = '/';
	rt_stpcpy(p, rest);
	return buf;
}
