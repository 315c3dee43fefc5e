// SPDX-License-Identifier: MIT
/*
 * Many threads across a checkpoint, and what glibc caches about them.
 *
 * Sixteen workers (eight producers, eight consumers) pass numbered items
 * through a bounded queue guarded by a mutex and two condition variables;
 * one more thread sleeps in nanosleep() loops and one waits on a condition
 * variable the whole time. The main thread holds a recursive mutex (locked
 * three times) and an error-checking one across the checkpoint.
 *
 * After the stop request:
 *   - the queue is drained and the totals must match a recomputation;
 *   - the recursive mutex unlocks exactly three times, an error-checking
 *     relock says EDEADLK (both compare the owner with the cached tid),
 *     and a worker can take the recursive mutex afterwards;
 *   - pthread_kill() (which signals glibc's cached tid) reaches every
 *     thread: its handler must run in that very thread;
 *   - no call returned an error it should not have (a thread parked inside
 *     nanosleep() must not see a spurious EINTR);
 *   - every thread joins.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zdtm.h"

#define NPROD 8
#define NCONS 8
#define NWORK (NPROD + NCONS)
#define SLEEPER NWORK
#define WAITER (NWORK + 1)
#define NTHREADS (NWORK + 2)
#define QCAP 32

struct thr {
	pthread_t th;
	int idx;
	pid_t tid_start; /* gettid() when the thread started */
	pid_t tid_now;	 /* gettid() after the stop request */
	volatile pid_t handler_tid;
	volatile int handler_runs;
	uint64_t count, sum; /* items produced or consumed */
	uint64_t loops;
	char err[160];
};

static struct thr thr[NTHREADS];
static __thread struct thr *self;
static int test_sig;

/* The queue. */
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static uint64_t queue[QCAP];
static unsigned qhead, qlen;
static bool prod_stop, cons_stop;

/* Phases after the stop request, all under plock. */
static pthread_mutex_t plock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pcond = PTHREAD_COND_INITIALIZER;
static int finished;	  /* threads done with their work loop */
static bool in_phase2[NTHREADS];
static bool go_lock;	  /* worker 0: take the recursive mutex now */
static int lock_result = -1;
static bool go_exit;

/* The waiter's condition variable, waited on across the checkpoint. */
static pthread_mutex_t wlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wcond = PTHREAD_COND_INITIALIZER;
static bool wflag;

static volatile bool sleeper_stop;

static pthread_mutex_t rmutex; /* recursive, held by main */
static pthread_mutex_t emutex; /* error-checking, held by main */

static uint64_t item(int producer, uint64_t seq)
{
	return test_mix(((uint64_t)producer << 40) ^ seq);
}

static void failf(struct thr *t, const char *what, int err)
{
	if (!t->err[0])
		snprintf(t->err, sizeof(t->err), "%s: %s", what, strerror(err));
}

#define CHECK(t, call)                                   \
	do {                                             \
		int r_ = (call);                         \
		if (r_)                                  \
			failf((t), #call, r_);           \
	} while (0)

static void on_test_sig(int sig)
{
	if (self) {
		self->handler_tid = gettid();
		self->handler_runs++;
	}
}

static void *producer(struct thr *t)
{
	uint64_t seq = 0;

	for (;;) {
		uint64_t v = item(t->idx, seq);

		CHECK(t, pthread_mutex_lock(&qlock));
		while (qlen == QCAP && !prod_stop)
			CHECK(t, pthread_cond_wait(&not_full, &qlock));
		if (prod_stop) {
			CHECK(t, pthread_mutex_unlock(&qlock));
			break;
		}
		queue[(qhead + qlen) % QCAP] = v;
		qlen++;
		CHECK(t, pthread_cond_signal(&not_empty));
		CHECK(t, pthread_mutex_unlock(&qlock));
		t->count++;
		t->sum += v;
		seq++;
		if (seq % 16 == 0)
			usleep(1000); /* interruptions are fine here */
	}
	return NULL;
}

static void *consumer(struct thr *t)
{
	for (;;) {
		uint64_t v;

		CHECK(t, pthread_mutex_lock(&qlock));
		while (qlen == 0 && !cons_stop)
			CHECK(t, pthread_cond_wait(&not_empty, &qlock));
		if (qlen == 0) { /* cons_stop and drained */
			CHECK(t, pthread_mutex_unlock(&qlock));
			break;
		}
		v = queue[qhead];
		qhead = (qhead + 1) % QCAP;
		qlen--;
		CHECK(t, pthread_cond_signal(&not_full));
		CHECK(t, pthread_mutex_unlock(&qlock));
		t->count++;
		t->sum += v;
	}
	return NULL;
}

static void sleeper(struct thr *t)
{
	while (!sleeper_stop) {
		struct timespec ts = { .tv_nsec = 100 * 1000 * 1000 };

		if (nanosleep(&ts, NULL))
			failf(t, "nanosleep", errno);
		t->loops++;
	}
}

static void waiter(struct thr *t)
{
	CHECK(t, pthread_mutex_lock(&wlock));
	while (!wflag) {
		CHECK(t, pthread_cond_wait(&wcond, &wlock));
		t->loops++; /* wakeups; spurious ones are allowed */
	}
	CHECK(t, pthread_mutex_unlock(&wlock));
}

static void *thread_main(void *arg)
{
	struct thr *t = arg;

	self = t;
	t->tid_start = gettid();
	if (t->idx < NPROD)
		producer(t);
	else if (t->idx < NWORK)
		consumer(t);
	else if (t->idx == SLEEPER)
		sleeper(t);
	else
		waiter(t);

	/* Phase 2: wait for pthread_kill() and, for worker 0, for the
	 * recursive mutex to be released. */
	t->tid_now = gettid();
	CHECK(t, pthread_mutex_lock(&plock));
	finished++;
	in_phase2[t->idx] = true;
	CHECK(t, pthread_cond_broadcast(&pcond));
	while (!go_exit) {
		if (t->idx == 0 && go_lock && lock_result < 0) {
			int r = pthread_mutex_lock(&rmutex);

			if (!r)
				r = pthread_mutex_trylock(&rmutex); /* depth 2 */
			if (!r)
				r = pthread_mutex_unlock(&rmutex);
			if (!r)
				r = pthread_mutex_unlock(&rmutex);
			lock_result = r;
			CHECK(t, pthread_cond_broadcast(&pcond));
			continue;
		}
		CHECK(t, pthread_cond_wait(&pcond, &plock));
	}
	CHECK(t, pthread_mutex_unlock(&plock));
	return t;
}

/* Waits under plock until cond() holds, for at most 10 s. */
static bool wait_phase(bool (*cond)(void))
{
	struct timespec dl;
	bool ok = true;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 10;
	pthread_mutex_lock(&plock);
	while (!cond()) {
		if (pthread_cond_timedwait(&pcond, &plock, &dl) == ETIMEDOUT) {
			ok = cond();
			break;
		}
	}
	pthread_mutex_unlock(&plock);
	return ok;
}

static bool producers_done(void) { return finished >= NPROD; }
static bool workers_done(void) { return finished >= NWORK; }
static bool all_done(void) { return finished >= NTHREADS; }
static bool lock_done(void) { return lock_result >= 0; }

static void init_mutexes(void)
{
	pthread_mutexattr_t a;

	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	if (pthread_mutex_init(&rmutex, &a))
		test_fail("recursive mutex init");
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	if (pthread_mutex_init(&emutex, &a))
		test_fail("error-checking mutex init");
	pthread_mutexattr_destroy(&a);
	for (int i = 0; i < 3; i++)
		if (pthread_mutex_lock(&rmutex))
			test_fail("recursive lock #%d", i + 1);
	if (pthread_mutex_lock(&emutex))
		test_fail("error-checking lock");
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	sigset_t usr1, old;
	uint64_t pcount = 0, psum = 0, ccount = 0, csum = 0;
	pid_t main_tid;
	int r;

	test_init(argc, argv);
	test_sig = SIGRTMIN + 2;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_test_sig;
	if (sigaction(test_sig, &sa, NULL))
		test_fail("sigaction: %m");
	init_mutexes();
	main_tid = gettid();

	/* The stop request is for the main thread only. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, &old);
	for (int i = 0; i < NTHREADS; i++) {
		thr[i].idx = i;
		if ((r = pthread_create(&thr[i].th, NULL, thread_main, &thr[i])))
			test_fail("pthread_create: %s", strerror(r));
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	usleep(50000); /* let every thread get going */
	test_ready();
	test_wait_stop();

	/* The held mutexes: the owner check compares with the cached tid. */
	if (gettid() != main_tid)
		test_fail("main tid changed from %d to %d", main_tid, gettid());
	if ((r = pthread_mutex_trylock(&emutex)) != EBUSY)
		test_fail("trylock of the held error-checking mutex: %s (want EBUSY)",
			  strerror(r));
	if ((r = pthread_mutex_lock(&emutex)) != EDEADLK)
		test_fail("relock of the held error-checking mutex: %s (want EDEADLK)",
			  strerror(r));
	if ((r = pthread_mutex_unlock(&emutex)))
		test_fail("unlock of the error-checking mutex: %s", strerror(r));
	for (int i = 0; i < 3; i++)
		if ((r = pthread_mutex_unlock(&rmutex)))
			test_fail("recursive unlock #%d: %s", i + 1, strerror(r));
	if ((r = pthread_mutex_unlock(&rmutex)) != EPERM)
		test_fail("fourth recursive unlock: %s (want EPERM)", strerror(r));

	/* Producers stop; consumers drain the queue, then stop. */
	pthread_mutex_lock(&qlock);
	prod_stop = true;
	pthread_cond_broadcast(&not_full);
	pthread_mutex_unlock(&qlock);
	if (!wait_phase(producers_done))
		test_fail("producers did not stop (%d of %d)", finished, NPROD);
	pthread_mutex_lock(&qlock);
	cons_stop = true;
	pthread_cond_broadcast(&not_empty);
	pthread_mutex_unlock(&qlock);
	if (!wait_phase(workers_done))
		test_fail("consumers did not stop (%d of %d finished)", finished, NWORK);
	sleeper_stop = true;
	pthread_mutex_lock(&wlock);
	wflag = true;
	pthread_cond_signal(&wcond);
	pthread_mutex_unlock(&wlock);
	if (!wait_phase(all_done))
		test_fail("sleeper/waiter did not stop (%d of %d finished)", finished,
			  NTHREADS);

	/* The deterministic totals. */
	for (int i = 0; i < NPROD; i++) {
		uint64_t s = 0;

		for (uint64_t k = 0; k < thr[i].count; k++)
			s += item(i, k);
		if (s != thr[i].sum)
			test_fail("producer %d: sum of %llu items is wrong", i,
				  (unsigned long long)thr[i].count);
		pcount += thr[i].count;
		psum += thr[i].sum;
	}
	for (int i = NPROD; i < NWORK; i++) {
		ccount += thr[i].count;
		csum += thr[i].sum;
	}
	if (qlen)
		test_fail("%u items left in the queue", qlen);
	if (pcount != ccount || psum != csum)
		test_fail("produced %llu items (sum %llx), consumed %llu (sum %llx)",
			  (unsigned long long)pcount, (unsigned long long)psum,
			  (unsigned long long)ccount, (unsigned long long)csum);
	if (pcount < 1000)
		test_fail("only %llu items went through", (unsigned long long)pcount);
	if (thr[SLEEPER].loops < 2)
		test_fail("the sleeper slept only %llu times",
			  (unsigned long long)thr[SLEEPER].loops);

	/* A worker takes the recursive mutex main released. */
	pthread_mutex_lock(&plock);
	go_lock = true;
	pthread_cond_broadcast(&pcond);
	pthread_mutex_unlock(&plock);
	if (!wait_phase(lock_done))
		test_fail("worker 0 never took the recursive mutex");
	if (lock_result)
		test_fail("worker 0 locking the recursive mutex: %s", strerror(lock_result));

	/* pthread_kill() uses the cached tid: the handler must run in the
	 * thread it was aimed at. */
	for (int i = 0; i < NTHREADS; i++) {
		struct thr *t = &thr[i];

		if ((r = pthread_kill(t->th, test_sig)))
			test_fail("pthread_kill(thread %d): %s", i, strerror(r));
		for (int w = 0; w < 1000 && !t->handler_runs; w++)
			usleep(10000);
		if (t->handler_runs != 1)
			test_fail("thread %d (tid %d): handler ran %d times", i, t->tid_now,
				  t->handler_runs);
		if (t->handler_tid != t->tid_now)
			test_fail("thread %d (tid %d): signal handled by tid %d", i, t->tid_now,
				  t->handler_tid);
		if (t->tid_now != t->tid_start)
			test_fail("thread %d: tid changed from %d to %d", i, t->tid_start,
				  t->tid_now);
	}

	pthread_mutex_lock(&plock);
	go_exit = true;
	pthread_cond_broadcast(&pcond);
	pthread_mutex_unlock(&plock);
	for (int i = 0; i < NTHREADS; i++) {
		void *ret = NULL;

		if ((r = pthread_join(thr[i].th, &ret)))
			test_fail("pthread_join(thread %d): %s", i, strerror(r));
		if (ret != &thr[i])
			test_fail("thread %d returned %p", i, ret);
		if (thr[i].err[0])
			test_fail("thread %d: %s", i, thr[i].err);
	}
	printf("%llu items through the queue, %llu sleeps\n", (unsigned long long)pcount,
	       (unsigned long long)thr[SLEEPER].loops);
	test_pass();
}
