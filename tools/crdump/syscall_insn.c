// SPDX-License-Identifier: MIT
/*
 * Where a held process has a `syscall` instruction (0f 05) of its own, for
 * crdump to run syscalls inside it (ptrace.c). Its vDSO first: every
 * process has one, whatever its language and linking (a static Go binary
 * included), and it is an ELF image the kernel maps whole, so libelf finds
 * its code sections in a copy read from the process. A `syscall` is in
 * the vDSO's fallback paths. Without a vDSO (vdso=0), or without the
 * instruction there, every executable mapping is searched.
 */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "ptrace.h"

#define VDSO_MAX (64 << 10)

static ssize_t peek(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)addr, len };

	return process_vm_readv(pid, &local, 1, &remote, 1, 0);
}

/* Offset of the first 0f 05 in buf[0..len), or -1. */
static long find_insn(const unsigned char *buf, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++)
		if (buf[i] == 0x0f && buf[i + 1] == 0x05)
			return (long)i;
	return -1;
}

/* In the code sections of the vDSO mapped at [start, end). */
static int in_vdso(pid_t pid, uint64_t start, uint64_t end, uint64_t *addr)
{
	size_t len = end - start < VDSO_MAX ? end - start : VDSO_MAX;
	unsigned char *img = malloc(len);
	Elf_Scn *scn = NULL;
	int found = -1;
	Elf *elf;

	if (!img || peek(pid, start, img, len) != (ssize_t)len ||
	    elf_version(EV_CURRENT) == EV_NONE || !(elf = elf_memory((char *)img, len))) {
		free(img);
		return -1;
	}
	while (found && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		long at;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_EXECINSTR) || sh.sh_offset >= len ||
		    sh.sh_size > len - sh.sh_offset)
			continue;
		at = find_insn(img + sh.sh_offset, sh.sh_size);
		if (at >= 0) {
			*addr = start + sh.sh_offset + (uint64_t)at;
			found = 0;
		}
	}
	elf_end(elf);
	free(img);
	return found;
}

/* In any executable mapping, read a window at a time. */
static int in_code(pid_t pid, uint64_t start, uint64_t end, uint64_t *addr)
{
	static unsigned char buf[65536];

	for (uint64_t at = start; at < end; at += sizeof(buf) - 1) {
		size_t want = end - at < sizeof(buf) ? end - at : sizeof(buf);
		ssize_t n = peek(pid, at, buf, want);
		long i = n > 0 ? find_insn(buf, (size_t)n) : -1;

		if (i >= 0) {
			*addr = at + (uint64_t)i;
			return 0;
		}
		if (n <= 0)
			break;
	}
	return -1;
}

int pt_find_syscall_insn(pid_t pid, uint64_t *addr, char *err)
{
	char path[64], line[512];
	bool vdso_pass = true;
	FILE *maps;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
again:
	maps = fopen(path, "re");
	if (!maps) {
		snprintf(err, PT_ERR_LEN, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), maps)) {
		unsigned long start, end;
		char prot[5];
		bool vdso = strstr(line, "[vdso]");

		if (sscanf(line, "%lx-%lx %4s", &start, &end, prot) != 3 || prot[2] != 'x' ||
		    vdso != vdso_pass)
			continue;
		if (!(vdso ? in_vdso : in_code)(pid, start, end, addr)) {
			fclose(maps);
			return 0;
		}
	}
	fclose(maps);
	if (vdso_pass) {
		vdso_pass = false;
		goto again;
	}
	snprintf(err, PT_ERR_LEN, "process %d: no syscall instruction in its code", pid);
	return -1;
}
