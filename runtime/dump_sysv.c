// SPDX-License-Identifier: MIT
/*
 * The SysV shared memory segments a process attaches (doc/trees.md,
 * "SysV shared memory"): their "/SYSVKEY (deleted)" VMAs are dumped as
 * shared memory, and each segment's id, key, size and mode, from
 * /proc/sysvipc/shm, go with them so that crload makes the segment
 * again. Runs with every thread frozen: raw syscalls and arena memory.
 */
#include <errno.h>

#include "dump.h"
#include "procparse.h"
#include "vmakind.h"

int rt_dump_sysv(Sc__Mm *mm)
{
	size_t n = 0, len, pos = 0, ll;
	const char *line;
	char *buf;

	for (size_t i = 0; i < mm->n_vmas; i++)
		n += sc_vma_is_sysv(mm->vmas[i]);
	if (!n)
		return 0;
	mm->sysv_shm = rt_alloc(sizeof(*mm->sysv_shm) * n);
	buf = rt_read_file("/proc/sysvipc/shm", &len);
	if (!mm->sysv_shm || !buf)
		return buf ? -ENOMEM : -EIO;
	while ((line = pp_next_line(buf, len, &pos, &ll))) {
		struct pp_sysv_shm s;
		bool mine = false;
		Sc__SysvShm *e;

		if (pp_parse_sysv_shm_line(line, ll, &s))
			continue; /* the header */
		for (size_t i = 0; i < mm->n_vmas; i++)
			mine |= sc_vma_is_sysv(mm->vmas[i]) && mm->vmas[i]->ino == s.id;
		if (!mine || !(e = rt_alloc(sizeof(*e))))
			continue;
		sc__sysv_shm__init(e);
		e->id = s.id;
		e->key = s.key;
		e->size = s.size;
		e->mode = s.mode;
		mm->sysv_shm[mm->n_sysv_shm++] = e;
	}
	return 0;
}
