// SPDX-License-Identifier: MIT
/*
 * A parent and its child counting in turns through shared anonymous
 * memory (MAP_SHARED | MAP_ANONYMOUS, inherited across fork): each waits
 * for its turn, checks the count is the one it expects, adds one and
 * hands over. After the restore the memory must still be one memory: on
 * stop the parent checks that the count still moves, then tells the child
 * to end, and reaps it. Built with SYSV_SHM (sysv_tree), the memory is a
 * SysV segment attached before the fork instead, removed at once (gone
 * with its last detach); with SYSV_KEY too (sysv_key), it has a key and
 * stays. Either way, after the restore it is the same segment again: its
 * id found again by its key, its size and mode, both attached, and shmdt
 * works on it.
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

#ifdef SYSV_SHM
#define SEG_SIZE (3 * 4096 + 100) /* not whole pages: the size is kept */
static int seg_id;

static key_t seg_key(void)
{
#ifdef SYSV_KEY
	return (key_t)(0x5c000000 | (getpid() & 0xffffff)); /* the same after restore */
#else
	return IPC_PRIVATE;
#endif
}

/* The segment is itself again: found by its key, same size and mode, and
 * attached by both processes. */
static void check_segment(void)
{
	struct shmid_ds ds;

	if (seg_key() != IPC_PRIVATE && shmget(seg_key(), 0, 0) != seg_id)
		test_fail("key %#x finds id %d, not %d", (unsigned)seg_key(),
			  shmget(seg_key(), 0, 0), seg_id);
	if (shmctl(seg_id, IPC_STAT, &ds))
		test_fail("shmctl(%d, IPC_STAT): %m", seg_id);
	if ((ds.shm_perm.mode & 0777) != 0640 || ds.shm_segsz != SEG_SIZE ||
	    ds.shm_perm.__key != seg_key() || ds.shm_nattch != 2 ||
	    !(ds.shm_perm.mode & SHM_DEST) != (seg_key() != IPC_PRIVATE))
		test_fail("segment %d: mode %o, %zu bytes, key %#x, %lu attached", seg_id,
			  ds.shm_perm.mode, (size_t)ds.shm_segsz, (unsigned)ds.shm_perm.__key,
			  (unsigned long)ds.shm_nattch);
}

/* Detaching works; then the segment goes (removed, or by the test). */
static void drop_segment(void *s)
{
	struct shmid_ds ds;

	if (shmdt(s))
		test_fail("shmdt: %m");
	if (seg_key() != IPC_PRIVATE && shmctl(seg_id, IPC_RMID, NULL))
		test_fail("shmctl(%d, IPC_RMID): %m", seg_id);
	if (shmctl(seg_id, IPC_STAT, &ds) == 0)
		test_fail("segment %d still there after its last detach", seg_id);
}
#endif

static void *shared_page(void)
{
#ifdef SYSV_SHM
	void *p;

	seg_id = shmget(seg_key(), SEG_SIZE, IPC_CREAT | IPC_EXCL | 0640);
	p = seg_id < 0 ? (void *)-1 : shmat(seg_id, NULL, 0);
	if (seg_id >= 0 && seg_key() == IPC_PRIVATE)
		shmctl(seg_id, IPC_RMID, NULL); /* gone once nobody is attached */
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
#ifdef SYSV_SHM
	check_segment();
#endif
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
#ifdef SYSV_SHM
	drop_segment(s);
#endif
	test_pass();
}
