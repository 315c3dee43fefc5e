// SPDX-License-Identifier: MIT
/*
 * A memfd made before a fork, held and mapped shared by parent and child:
 * the parent counts in a word of it and the child answers in the next,
 * so a restore that gave each its own file stalls them. Its other pages
 * hold a pattern written before the fork that neither touches again (in
 * the file once), its seals must be kept, and the descriptor's offset,
 * moved by the child, is the parent's too (one description). On stop the
 * parent checks all that and tells the child to check the pattern through
 * its own descriptor and exit.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zdtm.h"

#define SIZE (4 * 4096)
#define SEALS (F_SEAL_SHRINK | F_SEAL_GROW)
#define QUIT UINT64_MAX

static volatile uint64_t *mem;

static bool pattern_ok(int fd)
{
	uint64_t v;

	for (uint64_t i = 4096 / 8; i < SIZE / 8; i++)
		if (mem[i] != test_mix(i) || pread(fd, &v, 8, (off_t)(i * 8)) != 8 ||
		    v != test_mix(i))
			return false;
	return true;
}

static int child(int fd)
{
	char b[5];

	if (read(fd, b, 5) != 5) /* moves the shared offset */
		return 1;
	for (;;) {
		uint64_t v = mem[0];

		if (v == QUIT)
			return pattern_ok(fd) ? 0 : 2;
		mem[1] = v;
		usleep(500);
	}
}

/* The child answered v within 10 seconds. */
static bool answered(uint64_t v)
{
	for (int i = 0; i < 20000; i++) {
		if (mem[1] == v)
			return true;
		usleep(500);
	}
	return false;
}

int main(int argc, char **argv)
{
	uint64_t n = 0;
	int fd, status;
	pid_t pid;

	test_init(argc, argv);
	fd = memfd_create("tree-shared", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || ftruncate(fd, SIZE))
		test_fail("memfd");
	mem = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED)
		test_fail("mmap");
	for (uint64_t i = 4096 / 8; i < SIZE / 8; i++)
		mem[i] = test_mix(i);
	if (fcntl(fd, F_ADD_SEALS, SEALS))
		test_fail("seals");
	pid = fork();
	if (pid < 0)
		test_fail("fork");
	if (pid == 0)
		_exit(child(fd));
	if (!answered(0))
		test_fail("the child never answered");
	/* Only the count's page stays mapped: the pattern is in the file. */
	if (munmap((void *)((char *)mem + 4096), SIZE - 4096))
		test_fail("munmap");
	test_ready();
	while (!test_stopping()) {
		mem[0] = ++n;
		if (!answered(n))
			test_fail("the child did not answer %llu", (unsigned long long)n);
	}
	if (fcntl(fd, F_GET_SEALS) != SEALS || ftruncate(fd, SIZE / 2) == 0)
		test_fail("seals 0x%x, not 0x%x", fcntl(fd, F_GET_SEALS), SEALS);
	if (lseek(fd, 0, SEEK_CUR) != 5)
		test_fail("offset %lld, not the child's 5", (long long)lseek(fd, 0, SEEK_CUR));
	mem = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mem == MAP_FAILED || !pattern_ok(fd))
		test_fail("the pattern is gone");
	mem[0] = QUIT;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		test_fail("the child ended with status 0x%x", status);
	test_pass();
}
