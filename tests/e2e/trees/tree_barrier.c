// SPDX-License-Identifier: MIT
/*
 * No process of a restored tree runs before every process of it is
 * restored (doc/trees.md, "Restore"). The parent has little memory and
 * restores fast; its children each have 64 MiB to fill and restore
 * slowly. The parent looks at its children every millisecond: each must
 * be itself (its memory in place: a token it wrote after the fork, read
 * with process_vm_readv) whenever the parent runs, and answer a ping
 * through a pipe. On stop the children check their memory, the parent
 * reaps them.
 */
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtm.h"

#define KIDS 3
#define BIG (64UL << 20)
#define TOKEN 0x7b5e7b5e00000000ULL /* + the child's index */

static volatile uint64_t token;

static int child(int in, int out, unsigned i)
{
	unsigned char *mem =
		mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char c;

	if (mem == MAP_FAILED)
		return 2;
	test_fill(mem, BIG, 77 + i);
	token = TOKEN + i;
	if (write(out, "r", 1) != 1)
		return 3;
	/* Every ping gets its answer; EOF ends the child. */
	while (read(in, &c, 1) == 1)
		if (write(out, &c, 1) != 1)
			return 4;
	return test_filled(mem, BIG, 77 + i) ? 0 : 5;
}

/*
 * What pid has in its token now (fork kept the address), or 0 when it
 * cannot be read: a process still in crload's restore has other memory
 * there, or none. Read without a descriptor: one open on a /proc file
 * when the checkpoint comes would be in the image, and not be found again.
 */
static uint64_t token_of(pid_t pid)
{
	uint64_t v = 0;
	struct iovec here = { &v, sizeof(v) }, there = { (void *)&token, sizeof(v) };

	if (process_vm_readv(pid, &here, 1, &there, 1, 0) != sizeof(v))
		return 0;
	return v;
}

int main(int argc, char **argv)
{
	int down[KIDS], up[KIDS], st;
	pid_t kids[KIDS];
	unsigned long rounds = 0;
	char c;

	test_init(argc, argv);
	for (int i = 0; i < KIDS; i++) {
		int d[2], u[2];

		if (pipe(d) || pipe(u))
			test_fail("pipe");
		kids[i] = fork();
		if (kids[i] < 0)
			test_fail("fork");
		if (kids[i] == 0) {
			/* Only its parent may hold its pipes' other ends. */
			for (int j = 0; j < i; j++) {
				close(down[j]);
				close(up[j]);
			}
			close(d[1]);
			close(u[0]);
			_exit(child(d[0], u[1], (unsigned)i));
		}
		close(d[0]);
		close(u[1]);
		down[i] = d[1];
		up[i] = u[0];
		if (read(up[i], &c, 1) != 1 || c != 'r')
			test_fail("child %d never became ready", kids[i]);
	}
	test_ready();
	while (!test_stopping()) {
		for (int i = 0; i < KIDS; i++) {
			uint64_t t = token_of(kids[i]);

			if (t != TOKEN + (unsigned)i)
				test_fail("after %lu rounds, child %d is not itself (token %#llx) "
					  "while its parent runs",
					  rounds, kids[i], (unsigned long long)t);
			c = (char)rounds;
			if (write(down[i], &c, 1) != 1 || read(up[i], &c, 1) != 1 ||
			    c != (char)rounds)
				test_fail("child %d does not answer after %lu rounds", kids[i],
					  rounds);
		}
		rounds++;
		usleep(1000);
	}
	for (int i = 0; i < KIDS; i++) {
		close(down[i]);
		if (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st) || WEXITSTATUS(st))
			test_fail("child %d ended with status 0x%x", kids[i], st);
	}
	test_pass();
}
