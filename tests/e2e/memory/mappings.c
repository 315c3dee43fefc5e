// SPDX-License-Identifier: MIT
/*
 * Every kind of mapping comes back with its contents and behaviour:
 * a private file mapping with modified pages, a shared file mapping whose
 * writes reach the file, shared anonymous memory, memory made PROT_NONE
 * after it was written, a MADV_HUGEPAGE region, and rseq still registered.
 */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "zdtm.h"

#define PAGE 4096
#define NPAGES 16

static int smaps_has_flag(void *addr, const char *flag)
{
	char line[512], want[32];
	FILE *f = fopen("/proc/self/smaps", "re");
	int in = 0, found = 0;

	snprintf(want, sizeof(want), "%lx-", (unsigned long)addr);
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, want, strlen(want)))
			in = 1;
		else if (in && !strncmp(line, "VmFlags:", 8)) {
			found = strstr(line, flag) != NULL;
			break;
		}
	}
	if (f)
		fclose(f);
	return found;
}

int main(int argc, char **argv)
{
	size_t len = NPAGES * PAGE, huge_len = 8 << 20;
	unsigned char *priv, *shared, *anon_shared, *hidden, *huge;
	unsigned char buf[PAGE];
	int fd;

	test_init(argc, argv);
	fd = open("mapped.dat", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)len))
		test_fail("mapped.dat: %m");
	test_fill(buf, PAGE, 1);
	for (int i = 0; i < NPAGES; i++)
		if (pwrite(fd, buf, PAGE, (off_t)i * PAGE) != PAGE)
			test_fail("pwrite: %m");

	priv = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	shared = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	anon_shared = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	hidden = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	huge = mmap(NULL, huge_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (priv == MAP_FAILED || shared == MAP_FAILED || anon_shared == MAP_FAILED ||
	    hidden == MAP_FAILED || huge == MAP_FAILED)
		test_fail("mmap: %m");
	close(fd);
	/* Private: the first half modified (copy-on-write pages). */
	test_fill(priv, len / 2, 2);
	test_fill(anon_shared, len, 3);
	test_fill(hidden, len, 4);
	if (mprotect(hidden, len, PROT_NONE))
		test_fail("mprotect: %m");
	if (madvise(huge, huge_len, MADV_HUGEPAGE))
		test_fail("madvise: %m");
	test_fill(huge, huge_len, 5);

	test_ready();
	test_wait_stop();

	if (!test_filled(priv, len / 2, 2) || !test_filled(priv + len / 2, PAGE, 1))
		test_fail("private file mapping lost its modified or file pages");
	if (!test_filled(anon_shared, len, 3))
		test_fail("shared anonymous memory changed");
	if (mprotect(hidden, len, PROT_READ) || !test_filled(hidden, len, 4))
		test_fail("memory behind PROT_NONE changed");
	if (!test_filled(huge, huge_len, 5))
		test_fail("MADV_HUGEPAGE memory changed");
	if (!smaps_has_flag(huge, " hg"))
		test_fail("MADV_HUGEPAGE was not restored");
	/* A write through the shared mapping reaches the file. */
	shared[5] = 0xab;
	if (msync(shared, len, MS_SYNC))
		test_fail("msync: %m");
	fd = open("mapped.dat", O_RDONLY);
	if (fd < 0 || pread(fd, buf, 8, 0) != 8 || buf[5] != 0xab)
		test_fail("shared file mapping is not shared with the file");
	close(fd);
	/* Private anonymous memory stays anonymous: MADV_DONTNEED zeroes. */
	if (madvise(huge, PAGE, MADV_DONTNEED) || huge[0] != 0)
		test_fail("MADV_DONTNEED did not give a zero page");
	/* rseq is registered again (glibc's sched_getcpu relies on it). */
	if (__rseq_size > 0) {
		struct rseq *rs = (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
		unsigned cpu;

		if ((int)rs->cpu_id < 0)
			test_fail("rseq is not registered after restore");
		if (syscall(SYS_getcpu, &cpu, NULL, NULL) || (int)cpu < 0)
			test_fail("getcpu: %m");
	}
	test_pass();
}
