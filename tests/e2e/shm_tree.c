// SPDX-License-Identifier: MIT
/*
 * A parent and its child counting in turns through shared anonymous
 * memory (MAP_SHARED | MAP_ANONYMOUS, inherited across fork): each waits
 * for its turn, checks the count is the one it expects, adds one and
 * hands over. After the restore the memory must still be one memory: on
 * stop the parent checks that the count still moves, then tells the child
 * to end, and reaps it. Built with SYSV_SHM (sysv_tree), the memory is a
 * SysV segment attached before the fork instead.
 */
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zdtm.h"

struct shared {
	uint64_t count; /* even: the parent's turn, odd: the child's */
	uint32_t stop;
	uint32_t bad;
};

/* Waits for count to have parity mine; false once stop is set or after
 * about limit_ms. */
static bool my_turn(struct shared *s, uint64_t mine, unsigned limit_ms)
{
	for (unsigned waited = 0; (__atomic_load_n(&s->count, __ATOMIC_ACQUIRE) & 1) != mine;
	     waited++) {
		if (__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE) || waited / 20 > limit_ms)
			return false;
		usleep(50);
	}
	return true;
}

static int child(struct shared *s)
{
	uint64_t seen = 0;

	while (my_turn(s, 1, ~0U)) {
		uint64_t c = __atomic_load_n(&s->count, __ATOMIC_ACQUIRE);

		if (seen && c != seen + 2)
			__atomic_store_n(&s->bad, 1, __ATOMIC_RELEASE);
		seen = c;
		__atomic_store_n(&s->count, c + 1, __ATOMIC_RELEASE);
	}
	return seen > 100 ? 0 : 1;
}

static void *shared_page(void)
{
#ifdef SYSV_SHM
	int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	void *p = id < 0 ? (void *)-1 : shmat(id, NULL, 0);

	if (id >= 0)
		shmctl(id, IPC_RMID, NULL); /* gone once nobody is attached */
	return p == (void *)-1 ? MAP_FAILED : p;
#else
	return mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
#endif
}

int main(int argc, char **argv)
{
	struct shared *s = shared_page();
	uint64_t last = 0, before;
	pid_t pid;
	int st;

	test_init(argc, argv);
	if (s == MAP_FAILED)
		test_fail("mmap");
	pid = fork();
	if (pid == 0)
		_exit(child(s));
	if (pid < 0)
		test_fail("fork");
	test_ready();
	while (!test_stopping()) {
		uint64_t c;

		if (!my_turn(s, 0, 100))
			continue; /* the stop signal may be in */
		c = __atomic_load_n(&s->count, __ATOMIC_ACQUIRE);
		if (last && c != last + 2)
			test_fail("count %llu after %llu", (unsigned long long)c,
				  (unsigned long long)last);
		last = c;
		__atomic_store_n(&s->count, c + 1, __ATOMIC_RELEASE);
	}
	/* The child still answers through the same memory. */
	before = __atomic_load_n(&s->count, __ATOMIC_ACQUIRE);
	for (int i = 0; i < 200; i++) {
		uint64_t c;

		if (!my_turn(s, 0, 5000))
			test_fail("the child no longer answers through the shared memory");
		c = __atomic_load_n(&s->count, __ATOMIC_ACQUIRE);
		__atomic_store_n(&s->count, c + 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		test_fail("the child ended with 0x%x", st);
	if (s->bad)
		test_fail("the child saw a count out of turn");
	if (s->count < before + 399)
		test_fail("the count stopped moving");
	test_pass();
}
