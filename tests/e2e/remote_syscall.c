// SPDX-License-Identifier: MIT
/*
 * crdump's ptrace core on a live process it did not start: a child sets a
 * signal handler and an alternate stack, then computes with short sleeps.
 * While it runs, every thread is seized and stopped (tools/crdump/
 * ptrace.c), syscalls run inside it (getpid, mmap of a scratch page,
 * rt_sigaction and sigaltstack reading into that page, munmap) must
 * answer what the child set, and after the release the child must finish
 * its computation with the same result as without the interruption.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../tools/crdump/ptrace.h"
#include "zdtm.h"

#define STEPS 400000

/* Is addr inside pid's [vdso] mapping? */
static bool in_vdso(pid_t pid, uint64_t addr)
{
	char path[64], line[512];
	bool in = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	while (f && !in && fgets(line, sizeof(line), f)) {
		unsigned long start, end;

		in = strstr(line, "[vdso]") && sscanf(line, "%lx-%lx", &start, &end) == 2 &&
		     addr >= start && addr < end;
	}
	if (f)
		fclose(f);
	return in;
}

struct child_info {
	uint64_t handler, altstack;
};

struct kernel_sigaction {
	uint64_t handler, flags, restorer, mask;
};

static void on_usr1(int sig)
{
}

static uint64_t compute(bool pause)
{
	uint64_t x = 1;

	for (int i = 0; i < STEPS; i++) {
		x = test_mix(x + (uint64_t)i);
		if (pause && i % 1000 == 0)
			usleep(1000);
	}
	return x;
}

static int child(int out)
{
	static char altstack[1 << 16];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
	struct child_info info = { (uint64_t)on_usr1, (uint64_t)altstack };

	if (sigaction(SIGUSR1, &sa, NULL) || sigaltstack(&ss, NULL) ||
	    write(out, &info, sizeof(info)) != sizeof(info))
		return 2;
	close(out);
	return compute(true) == compute(false) ? 0 : 3;
}

static long remote(struct pt_target *t, long nr, long a0, long a1, long a2, long a3)
{
	const long args[6] = { a0, a1, a2, a3, 0, 0 };
	char err[PT_ERR_LEN];
	bool ok;
	long r = pt_syscall(t, &t->threads[0], nr, args, &ok, err);

	if (!ok) {
		fprintf(stderr, "remote_syscall: %s\n", err);
		exit(1);
	}
	return r;
}

static void peek(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, there = { (void *)addr, len };

	if (process_vm_readv(pid, &local, 1, &there, 1, 0) != (ssize_t)len) {
		perror("remote_syscall: process_vm_readv");
		exit(1);
	}
}

int main(void)
{
	struct kernel_sigaction ka;
	struct child_info info;
	struct pt_target t;
	char err[PT_ERR_LEN];
	int p[2], st;
	stack_t ss;
	long page;
	pid_t pid;

	if (pipe(p) || (pid = fork()) < 0)
		return 1;
	if (pid == 0) {
		close(p[0]);
		_exit(child(p[1]));
	}
	close(p[1]);
	if (read(p[0], &info, sizeof(info)) != sizeof(info))
		return 1;
	usleep(20000);
	if (pt_seize(pid, &t, err)) {
		fprintf(stderr, "remote_syscall: %s\n", err);
		return 1;
	}
	/* Found with libelf in the vDSO, which the child has (it was forked
	 * from this process, which has one). */
	if (!in_vdso(pid, t.syscall_insn)) {
		fprintf(stderr, "remote_syscall: the syscall instruction %#llx is not in the vDSO\n",
			(unsigned long long)t.syscall_insn);
		return 1;
	}
	if (remote(&t, SYS_getpid, 0, 0, 0, 0) != pid) {
		fprintf(stderr, "remote_syscall: getpid in the child is not its pid\n");
		return 1;
	}
	page = remote(&t, SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	if (page < 0 && page > -4096) {
		fprintf(stderr, "remote_syscall: mmap in the child: %s\n", strerror((int)-page));
		return 1;
	}
	if (remote(&t, SYS_rt_sigaction, SIGUSR1, 0, page, 8) ||
	    remote(&t, SYS_sigaltstack, 0, page + 1024, 0, 0))
		return 1;
	peek(pid, (uint64_t)page, &ka, sizeof(ka));
	peek(pid, (uint64_t)page + 1024, &ss, sizeof(ss));
	if (remote(&t, SYS_munmap, page, 4096, 0, 0))
		return 1;
	pt_release(&t);
	if (ka.handler != info.handler || !(ka.flags & SA_RESTART)) {
		fprintf(stderr, "remote_syscall: handler %#llx flags %#llx, want %#llx\n",
			(unsigned long long)ka.handler, (unsigned long long)ka.flags,
			(unsigned long long)info.handler);
		return 1;
	}
	if ((uint64_t)ss.ss_sp != info.altstack) {
		fprintf(stderr, "remote_syscall: sigaltstack %p, want %#llx\n", ss.ss_sp,
			(unsigned long long)info.altstack);
		return 1;
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "remote_syscall: the child did not finish its computation (%#x)\n",
			st);
		return 1;
	}
	printf("PASS: remote_syscall\n");
	return 0;
}
