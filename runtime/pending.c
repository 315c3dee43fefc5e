// SPDX-License-Identifier: MIT
/*
 * Signals queued and not yet delivered when the process froze.
 *
 * A tracer peeks at them (PTRACE_PEEKSIGINFO); a process cannot peek at
 * its own, only take them off the queue. So each parked thread takes its
 * own (rt_sigtimedwait, every signal blocked in the handler), the
 * checkpointing thread its own and then the process's; their siginfo goes
 * into the image, and a process that runs on queues them again, each
 * thread to itself, as the restorer does in a restored one (the kernel
 * lets only the thread itself claim any sender: doc/pending-signals.md).
 *
 * The queues are read from /proc/thread-self/status (SigPnd: the thread's
 * own, ShdPnd: the process's), and only when rt_sigpending says anything
 * waits: a freeze without pending signals pays one syscall per thread.
 * The runtime's own signals (the trigger, the suspend signal) stay queued.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "dump.h"
#include "procparse.h"

/* Whatever the kernel cannot hand over or the runtime keeps. */
#define UNTAKEN (1ULL << (SIGKILL - 1) | 1ULL << (SIGSTOP - 1))
/* The pool holds as many as RLIMIT_SIGPENDING lets be queued, up to this:
 * a process that runs on gets them back in their order even when there
 * are more than an image keeps. */
#define POOL_MAX (1U << 17)
#define NOBODY (-2) /* a slot claimed for a signal that was not there */

struct taken {
	int owner; /* the thread's slot in the freeze's threads, RT_SHARED or NOBODY */
	siginfo_t info;
};

static struct taken *pool;
static unsigned used, room;
/* What stays queued: UNTAKEN and the runtime's own signals. Kept with the
 * pool: parked threads take their signals in a handler of no arguments. */
static uint64_t untaken;

int rt_pending_init(const struct rt_config *cfg)
{
	struct rlimit lim;

	untaken = UNTAKEN | 1ULL << (cfg->trigger_sig - 1) | 1ULL << (cfg->suspend_sig - 1);
	__atomic_store_n(&used, 0, __ATOMIC_RELEASE);
	room = SC_MAX_PENDING + 1;
	if (!sc_sys4(__NR_prlimit64, 0, RLIMIT_SIGPENDING, NULL, &lim) && lim.rlim_cur > room)
		room = lim.rlim_cur < POOL_MAX ? (unsigned)lim.rlim_cur : POOL_MAX;
	/* Reserved in the arena, touched only for signals taken. */
	pool = rt_alloc(sizeof(*pool) * room);
	return pool ? 0 : -ENOMEM;
}

/* SigPnd (the calling thread's queue) or ShdPnd (the process's), without
 * the runtime's own; 0 when unreadable. */
static uint64_t queued(const char *key)
{
	char buf[2048];
	uint64_t set = 0;
	long fd, n;

	fd = sc_sys4(__NR_openat, AT_FDCWD, "/proc/thread-self/status", O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	n = sc_sys3(__NR_read, fd, buf, sizeof(buf));
	sc_sys1(__NR_close, fd);
	if (n <= 0 || pp_fdinfo_field(buf, (size_t)n, key, 16, &set))
		return 0;
	return set & ~untaken;
}

static bool anything_queued(void)
{
	uint64_t set = 0;

	return !sc_sys2(__NR_rt_sigpending, &set, 8) && (set & ~untaken);
}

/* Takes signal sig off the calling thread's queue (its own first, then the
 * process's) into the pool for owner; false when none was taken. A full
 * pool takes nothing, so what stays queued keeps its order. */
static bool take_one(int owner, int sig)
{
	uint64_t set = 1ULL << (sig - 1);
	struct timespec zero = { 0, 0 };
	unsigned i = __atomic_fetch_add(&used, 1, __ATOMIC_ACQ_REL);

	if (i >= room)
		return false;
	pool[i].owner = NOBODY;
	if (sc_sys4(__NR_rt_sigtimedwait, &set, &pool[i].info, &zero, 8) != sig)
		return false;
	pool[i].owner = owner;
	return true;
}

/* Takes every signal of the queue key names; the lowest first, as the
 * kernel delivers them, and each instance of a real-time one in order. */
static void take_queue(int owner, const char *key)
{
	for (;;) {
		uint64_t set = queued(key);

		if (!set || !take_one(owner, __builtin_ctzll(set) + 1))
			return;
	}
}

void rt_pending_take_own(int slot)
{
	if (anything_queued())
		take_queue(slot, "SigPnd:");
}

void rt_pending_take_all(void)
{
	if (!anything_queued())
		return;
	/* Its own first: rt_sigtimedwait takes from the thread's queue
	 * before the process's. */
	take_queue(0, "SigPnd:");
	take_queue(RT_SHARED, "ShdPnd:");
}

/* The pool lives in the arena of one checkpoint. */
void rt_pending_forget(void)
{
	pool = NULL;
	__atomic_store_n(&used, 0, __ATOMIC_RELEASE);
}

static unsigned taken_count(void)
{
	unsigned n = __atomic_load_n(&used, __ATOMIC_ACQUIRE);

	return n < room ? n : room;
}

/* Queues owner's signals again, in the order taken, to the calling thread,
 * or for RT_SHARED to the process (the main thread must send those: the
 * kernel compares the sender's tid with the pid). */
static void queue_again(int owner)
{
	long pid = sc_sys0(__NR_getpid), tid = rt_gettid();
	unsigned n = taken_count();

	for (unsigned i = 0; i < n; i++) {
		siginfo_t *si = &pool[i].info;

		if (pool[i].owner != owner)
			continue;
		if (owner == RT_SHARED && tid == pid)
			sc_sys3(__NR_rt_sigqueueinfo, pid, si->si_signo, si);
		else
			sc_sys4(__NR_rt_tgsigqueueinfo, pid, tid, si->si_signo, si);
	}
}

void rt_pending_requeue(int slot, bool shared)
{
	if (!pool)
		return;
	queue_again(slot);
	if (shared)
		queue_again(RT_SHARED);
}

int rt_pending_of(int owner, ProtobufCBinaryData **out, size_t *n)
{
	unsigned all = taken_count();
	size_t k = 0;

	*out = NULL;
	*n = 0;
	for (unsigned i = 0; i < all; i++)
		k += pool[i].owner == owner;
	if (k > SC_MAX_PENDING || __atomic_load_n(&used, __ATOMIC_ACQUIRE) > room)
		return -E2BIG;
	if (!k)
		return 0;
	if (!(*out = rt_alloc(sizeof(**out) * k)))
		return -ENOMEM;
	for (unsigned i = 0; i < all; i++) {
		if (pool[i].owner != owner)
			continue;
		(*out)[*n].len = SC_SIGINFO_SIZE;
		(*out)[(*n)++].data = (uint8_t *)&pool[i].info;
	}
	return 0;
}
