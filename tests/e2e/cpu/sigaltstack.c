// SPDX-License-Identifier: MIT
/*
 * Signal state across a checkpoint: the alternate signal stack, handlers
 * with SA_SIGINFO, SA_ONSTACK, SA_NODEFER and their sa_mask, an ignored
 * signal, and the app's own handler for SIGUSR2, the checkpoint trigger
 * (the runtime must chain to it).
 *
 * While it waits, the main thread keeps raising SIGWINCH, whose handler
 * runs on the alternate stack for a little while, so a checkpoint may
 * well catch the thread there. After the stop request:
 *   - sigaltstack() reports the stack that was set, not in use;
 *   - SIGWINCH runs on the alternate stack, SIGHUP does not, and each runs
 *     with its sa_mask blocked (SIGHUP with itself unblocked: SA_NODEFER);
 *   - a sigqueue()d real-time signal arrives with its value;
 *   - sigaction() returns the app's handler, flags and mask for each;
 *   - the app's SIGUSR2 handler ran at least once (the checkpoint trigger;
 *     in the twice scenario it is sent once more). Not under crdump
 *     (E2E_CAPTURE=crdump), which sends no signal.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "zdtm.h"

#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000
#endif
#define ALT_SIZE (64 * 1024)

struct expect {
	int sig;
	void (*fn)(int, siginfo_t *, void *); /* NULL: SIG_IGN */
	int flags;
	int mask[4]; /* 0-terminated */
	struct sigaction before;
};

static char *alt;

/* What the last handler run saw. */
static volatile sig_atomic_t winch_runs, hup_runs, rt_runs, usr2_runs, usr2_signo;
static volatile uintptr_t winch_sp, hup_sp;
static volatile int winch_ss_flags, hup_ss_flags, winch_code, rt_code, rt_value;
static volatile pid_t winch_pid;
static sigset_t winch_mask, hup_mask, rt_mask;
static int rt_sig;

static void spin_us(long us)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while ((b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000 < us);
}

static int ss_flags_now(void)
{
	stack_t cur;

	if (sigaltstack(NULL, &cur))
		return -1;
	return cur.ss_flags;
}

static void on_winch(int sig, siginfo_t *si, void *uc)
{
	volatile char here;

	winch_sp = (uintptr_t)&here;
	winch_ss_flags = ss_flags_now();
	winch_code = si->si_code;
	winch_pid = si->si_pid;
	pthread_sigmask(SIG_BLOCK, NULL, &winch_mask);
	spin_us(50); /* let a checkpoint catch us here now and then */
	winch_runs++;
}

static void on_hup(int sig, siginfo_t *si, void *uc)
{
	volatile char here;

	hup_sp = (uintptr_t)&here;
	hup_ss_flags = ss_flags_now();
	pthread_sigmask(SIG_BLOCK, NULL, &hup_mask);
	hup_runs++;
}

static void on_rt(int sig, siginfo_t *si, void *uc)
{
	rt_code = si->si_code;
	rt_value = si->si_value.sival_int;
	pthread_sigmask(SIG_BLOCK, NULL, &rt_mask);
	rt_runs++;
}

static void on_usr2(int sig, siginfo_t *si, void *uc)
{
	usr2_signo = si ? si->si_signo : -1;
	usr2_runs++;
}

static bool on_alt(uintptr_t sp)
{
	return sp >= (uintptr_t)alt && sp < (uintptr_t)alt + ALT_SIZE;
}

static void install(struct expect *e)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	if (e->fn)
		sa.sa_sigaction = e->fn;
	else
		sa.sa_handler = SIG_IGN;
	sa.sa_flags = e->flags;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; e->mask[i]; i++)
		sigaddset(&sa.sa_mask, e->mask[i]);
	if (sigaction(e->sig, &sa, NULL))
		test_fail("sigaction(%d): %m", e->sig);
	memset(&e->before, 0, sizeof(e->before));
	if (sigaction(e->sig, NULL, &e->before))
		test_fail("sigaction(%d) readback: %m", e->sig);
}

static void check_action(const struct expect *e)
{
	struct sigaction now;

	memset(&now, 0, sizeof(now));
	if (sigaction(e->sig, NULL, &now))
		test_fail("sigaction(%d): %m", e->sig);
	if (e->fn ? now.sa_sigaction != e->fn : now.sa_handler != SIG_IGN)
		test_fail("signal %d: handler %p, expected %p", e->sig, (void *)now.sa_sigaction,
			  e->fn ? (void *)e->fn : (void *)SIG_IGN);
	if ((now.sa_flags & ~SA_RESTORER) != e->flags)
		test_fail("signal %d: sa_flags %#x, expected %#x", e->sig,
			  now.sa_flags & ~SA_RESTORER, e->flags);
	if (now.sa_flags != e->before.sa_flags)
		test_fail("signal %d: sa_flags %#x, %#x before the checkpoint", e->sig,
			  now.sa_flags, e->before.sa_flags);
	for (int s = 1; s < NSIG; s++) {
		bool want = false;

		if (s == 32 || s == 33) /* glibc's own; sigismember says no */
			continue;
		for (int i = 0; e->mask[i]; i++)
			want |= e->mask[i] == s;
		if (sigismember(&now.sa_mask, s) != want ||
		    sigismember(&e->before.sa_mask, s) != want)
			test_fail("signal %d: signal %d is %sin sa_mask", e->sig, s,
				  want ? "not " : "");
	}
}

static void check_mask(const char *who, const sigset_t *m, const int *want, int self,
		       bool self_blocked)
{
	for (int i = 0; want[i]; i++)
		if (sigismember(m, want[i]) != 1)
			test_fail("%s handler: signal %d not blocked", who, want[i]);
	if (sigismember(m, self) != self_blocked)
		test_fail("%s handler: its own signal is %sblocked", who,
			  self_blocked ? "not " : "");
}

int main(int argc, char **argv)
{
	struct expect acts[] = {
		{ .sig = SIGWINCH, .fn = on_winch, .flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART,
		  .mask = { SIGINT, SIGTTIN } },
		{ .sig = SIGHUP, .fn = on_hup, .flags = SA_SIGINFO | SA_NODEFER,
		  .mask = { SIGQUIT, SIGALRM, 0 /* SIGRTMIN + 4 */ } },
		{ .sig = 0 /* SIGRTMIN + 3 */, .fn = on_rt, .flags = SA_SIGINFO | SA_RESTART,
		  .mask = { SIGPROF } },
		{ .sig = SIGPIPE, .fn = NULL /* SIG_IGN */ },
		{ .sig = SIGUSR2, .fn = on_usr2, .flags = SA_SIGINFO | SA_RESTART,
		  .mask = { SIGTERM, SIGXCPU } },
	};
	const int nacts = sizeof(acts) / sizeof(acts[0]);
	stack_t ss = { .ss_size = ALT_SIZE }, now;
	unsigned long loops = 0, loop_errors = 0;
	union sigval val = { .sival_int = 424242 };
	int before;

	test_init(argc, argv);
	rt_sig = SIGRTMIN + 3;
	acts[1].mask[2] = SIGRTMIN + 4;
	acts[2].sig = rt_sig;

	alt = mmap(NULL, ALT_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (alt == MAP_FAILED)
		test_fail("mmap: %m");
	ss.ss_sp = alt;
	if (sigaltstack(&ss, NULL))
		test_fail("sigaltstack: %m");
	for (int i = 0; i < nacts; i++)
		install(&acts[i]);

	/* The setup works as intended before any checkpoint. */
	raise(SIGWINCH);
	if (winch_runs != 1 || !on_alt(winch_sp))
		test_fail("SIGWINCH did not run on the alternate stack even before a checkpoint");

	test_ready();
	while (!test_stopping()) {
		before = winch_runs;
		raise(SIGWINCH);
		loops++;
		if (winch_runs != before + 1 || !on_alt(winch_sp) ||
		    !(winch_ss_flags & SS_ONSTACK))
			loop_errors++;
		usleep(1000);
	}
	if (loop_errors)
		test_fail("%lu of %lu SIGWINCHs did not run on the alternate stack",
			  loop_errors, loops);

	/* The alternate stack itself. */
	memset(&now, 0, sizeof(now));
	if (sigaltstack(NULL, &now))
		test_fail("sigaltstack: %m");
	if (now.ss_sp != alt || now.ss_size != ALT_SIZE || now.ss_flags != 0)
		test_fail("sigaltstack is {%p, %zu, %#x}, expected {%p, %d, 0}", now.ss_sp,
			  now.ss_size, now.ss_flags, (void *)alt, ALT_SIZE);

	/* Handlers still do what they were installed to do. */
	before = winch_runs;
	if (raise(SIGWINCH))
		test_fail("raise(SIGWINCH): %m");
	if (winch_runs != before + 1)
		test_fail("the SIGWINCH handler did not run");
	if (!on_alt(winch_sp))
		test_fail("SIGWINCH handler ran at %#lx, outside the alternate stack %p..+%d",
			  (unsigned long)winch_sp, (void *)alt, ALT_SIZE);
	if (!(winch_ss_flags & SS_ONSTACK))
		test_fail("in the SIGWINCH handler sigaltstack says ss_flags %#x",
			  winch_ss_flags);
	if (winch_code != SI_TKILL || winch_pid != getpid())
		test_fail("SIGWINCH siginfo: code %d pid %d, expected %d and %d", winch_code,
			  winch_pid, SI_TKILL, getpid());
	check_mask("SIGWINCH", &winch_mask, acts[0].mask, SIGWINCH, true);

	if (raise(SIGHUP))
		test_fail("raise(SIGHUP): %m");
	if (hup_runs != 1)
		test_fail("the SIGHUP handler ran %d times", hup_runs);
	if (on_alt(hup_sp) || (hup_ss_flags & SS_ONSTACK))
		test_fail("SIGHUP (no SA_ONSTACK) ran on the alternate stack");
	check_mask("SIGHUP", &hup_mask, acts[1].mask, SIGHUP, false);

	if (sigqueue(getpid(), rt_sig, val))
		test_fail("sigqueue: %m");
	for (int i = 0; i < 1000 && !rt_runs; i++)
		usleep(1000);
	if (rt_runs != 1)
		test_fail("the SIGRTMIN+3 handler ran %d times", rt_runs);
	if (rt_code != SI_QUEUE || rt_value != val.sival_int)
		test_fail("SIGRTMIN+3 siginfo: code %d value %d, expected %d and %d", rt_code,
			  rt_value, SI_QUEUE, val.sival_int);
	check_mask("SIGRTMIN+3", &rt_mask, acts[2].mask, rt_sig, true);

	/* What sigaction() says. */
	for (int i = 0; i < nacts; i++)
		check_action(&acts[i]);

	/* The checkpoint trigger reached the app's own handler too. */
	const char *capture = getenv("E2E_CAPTURE");

	if (usr2_runs < 1 && !(capture && !strcmp(capture, "crdump")))
		test_fail("the app's SIGUSR2 handler never ran");
	if (usr2_runs && usr2_signo != SIGUSR2)
		test_fail("the app's SIGUSR2 handler got si_signo %d", usr2_signo);
	printf("%lu SIGWINCHs on the alternate stack, %d SIGUSR2s\n", loops, usr2_runs);
	test_pass();
}
