// SPDX-License-Identifier: MIT
/*
 * Room for copies (doc/cow-capture.md): what the machine and the memory
 * cgroups of this process have left, and the most a copy of a process can
 * come to hold, for snapshot.c's check of one copy and tree.c's of a
 * tree's copies taken together. Runs with the threads parked: raw system
 * calls and arena memory (rt_read_file).
 */
#include <errno.h>
#include <string.h>

#include "procparse.h"
#include "rt.h"

#define MIB (1ULL << 20)

/* The memory cgroup files of one level of the hierarchy. */
struct cgroup_files {
	const char *limit, *usage;
};
static const struct cgroup_files cgroup_v1 = { "memory.limit_in_bytes", "memory.usage_in_bytes" },
				 cgroup_v2 = { "memory.max", "memory.current" };

/* Room under the limit of the memory cgroup at path (len bytes) and of
 * each cgroup above it, into *room: a parent's limit holds its children
 * too. Levels without the files (the root) limit nothing. */
static void cgroup_room(const char *path, size_t len, bool v1, uint64_t *room, const char *meminfo,
			size_t mlen)
{
	const struct cgroup_files *names = v1 ? &cgroup_v1 : &cgroup_v2;
	char dir[RT_MAX_PATH], file[RT_MAX_PATH + 32], *p;

	p = rt_stpcpy(dir, v1 ? "/sys/fs/cgroup/memory" : "/sys/fs/cgroup");
	if (len >= sizeof(dir) - (size_t)(p - dir))
		return;
	memcpy(p, path, len);
	p[len] = '\0';
	for (;;) {
		size_t n = strlen(dir), maxlen, curlen;
		char *max, *cur;
		uint64_t level;

		rt_stpcpy(rt_stpcpy(rt_stpcpy(file, dir), "/"), names->limit);
		max = rt_read_file(file, &maxlen);
		rt_stpcpy(rt_stpcpy(rt_stpcpy(file, dir), "/"), names->usage);
		cur = rt_read_file(file, &curlen);
		if (max && cur &&
		    !pp_memory_room(meminfo, mlen, max, maxlen, cur, curlen, &level) &&
		    level < *room)
			*room = level;
		while (n && dir[n - 1] == '/')
			n--;
		while (n && dir[n - 1] != '/')
			n--;
		if (n <= strlen("/sys/fs/cgroup/"))
			return;
		dir[n - 1] = '\0';
	}
}

int rt_memory_left(uint64_t *room)
{
	size_t mlen, cglen, plen;
	char *meminfo = rt_read_file("/proc/meminfo", &mlen);
	char *cgroups = rt_read_file("/proc/self/cgroup", &cglen);
	const char *path;
	bool v1;

	if (!meminfo || pp_memory_room(meminfo, mlen, NULL, 0, NULL, 0, room))
		return -EIO;
	if (cgroups && !pp_parse_memory_cgroup(cgroups, cglen, &path, &plen, &v1))
		cgroup_room(path, plen, v1, room, meminfo, mlen);
	return 0;
}

int rt_private_bytes(int pid, bool shmem, uint64_t *bytes)
{
	char path[64];
	size_t len;
	const char *status;
	uint64_t anon, swapped, shared = 0;

	rt_stpcpy(rt_fmt_i64(rt_stpcpy(path, "/proc/"), pid), "/status");
	status = rt_read_file(path, &len);
	if (!status || pp_kb_field(status, len, "RssAnon:", &anon) ||
	    pp_kb_field(status, len, "VmSwap:", &swapped) ||
	    (shmem && pp_kb_field(status, len, "RssShmem:", &shared)))
		return -EIO;
	*bytes = anon + swapped + shared;
	return 0;
}

void rt_say_no_room(char *why, uint64_t need, uint64_t room)
{
	char *p = rt_stpcpy(why, "a copy of up to ");

	p = rt_fmt_u64(p, need / MIB);
	p = rt_stpcpy(p, " MiB would not fit in the ");
	p = rt_fmt_u64(p, room / MIB);
	rt_stpcpy(p, " MiB left");
}

int rt_copies_budget(const int *pids, int n, bool *copy, char (*why)[RT_HELD_WHY])
{
	uint64_t room, need, total = 0;
	int err = rt_memory_left(&room);

	for (int i = 0; i < n; i++) {
		copy[i] = true;
		why[i][0] = '\0';
		/* Unknown, each process's own check decides alone. */
		if (err || rt_private_bytes(pids[i], true, &need))
			continue;
		copy[i] = total + need <= room;
		if (copy[i]) {
			total += need;
			continue;
		}
		rt_say_no_room(why[i], need, room - total);
		if (total)
			rt_stpcpy(why[i] + strlen(why[i]), " beside the tree's other copies");
	}
	return err;
}
