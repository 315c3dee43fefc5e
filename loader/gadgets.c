// SPDX-License-Identifier: MIT
/*
 * Finding the restorer's way out in the restored process's own code.
 * Any byte offset will do: the CPU decodes from where it jumps to.
 */
#include <string.h>

#include "gadgets.h"

struct seq {
	const char *bytes;
	size_t len;
};

static const struct seq syscall_ret = { "\x0f\x05\xc3", 3 };
/* glibc's __restore_rt and Go's sigreturn are one of these. */
static const struct seq sigreturn[] = {
	{ "\xb8\x0f\x00\x00\x00\x0f\x05", 7 }, /* mov $15, %eax; syscall */
	{ "\x48\xc7\xc0\x0f\x00\x00\x00\x0f\x05", 9 }, /* mov $15, %rax; syscall */
};

static uint64_t find(const void *mem, size_t len, uint64_t final, const struct seq *s)
{
	const char *p = memmem(mem, len, s->bytes, s->len);

	return p ? final + (uint64_t)(p - (const char *)mem) : 0;
}

bool sc_find_gadgets(const void *mem, size_t len, uint64_t final, struct sc_gadgets *g)
{
	if (!g->syscall_ret)
		g->syscall_ret = find(mem, len, final, &syscall_ret);
	for (size_t i = 0; !g->sigreturn && i < sizeof(sigreturn) / sizeof(sigreturn[0]); i++)
		g->sigreturn = find(mem, len, final, &sigreturn[i]);
	return g->syscall_ret && g->sigreturn;
}

void sc_write_gadgets(void *page, uint64_t final, struct sc_gadgets *g)
{
	memcpy(page, syscall_ret.bytes, syscall_ret.len);
	memcpy((char *)page + syscall_ret.len, sigreturn[0].bytes, sigreturn[0].len);
	*g = (struct sc_gadgets){ 0 };
	sc_find_gadgets(page, syscall_ret.len + sigreturn[0].len, final, g);
}
