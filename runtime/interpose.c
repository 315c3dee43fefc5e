// SPDX-License-Identifier: MIT
/*
 * The app must neither see nor disturb the runtime's signals: a handler it
 * installs for the trigger signal is recorded and chained after ours, the
 * suspend signal is the runtime's alone, and neither can be blocked.
 *
 * Under crrun, the batch system's signals (SELFCKPT_BATCH_SIGNALS) are
 * crrun's to act on: they stay ignored in the app, and what it installs
 * for them is recorded and reported back, never installed (doc/batch.md).
 *
 * Other calls are watched for what the runtime keeps about the app:
 * inotify watches' paths, and the memory the app's own userfaultfd takes.
 */
#include <dlfcn.h>
#include <errno.h>
#include <linux/userfaultfd.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>

#include "dump.h"

struct sigaction rt_app_trigger_action; /* zero: SIG_DFL */

static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);
static int (*real_sigprocmask)(int, const sigset_t *, sigset_t *);
static int (*real_pthread_sigmask)(int, const sigset_t *, sigset_t *);

static void resolve(void)
{
	if (!real_sigaction)
		real_sigaction = dlsym(RTLD_NEXT, "sigaction");
	if (!real_sigprocmask)
		real_sigprocmask = dlsym(RTLD_NEXT, "sigprocmask");
	if (!real_pthread_sigmask)
		real_pthread_sigmask = dlsym(RTLD_NEXT, "pthread_sigmask");
}

static bool ours(int sig)
{
	return sig > 0 && (sig == rt_cfg.trigger_sig || sig == rt_cfg.suspend_sig);
}

/* Indexed by signal number - 1, as the mask's bits. */
static struct sigaction app_batch_actions[64];

static bool batch(int sig)
{
	return sig > 0 && sig <= 64 && (rt_cfg.batch_sigs >> (sig - 1) & 1) && !ours(sig);
}

void rt_ignore_batch_signals(void)
{
	struct sigaction ign = { .sa_handler = SIG_IGN };
	sigset_t set;

	if (!rt_cfg.batch_sigs)
		return;
	sigemptyset(&set);
	for (int sig = 1; sig <= 64; sig++)
		if (batch(sig) && !rt_real_sigaction(sig, &ign, NULL))
			sigaddset(&set, sig);
	/* crrun blocked them across the exec, until they were ignored. */
	rt_real_sigmask(SIG_UNBLOCK, &set, NULL);
}

static void strip_ours(sigset_t *set)
{
	if (rt_cfg.trigger_sig)
		sigdelset(set, rt_cfg.trigger_sig);
	if (rt_cfg.suspend_sig)
		sigdelset(set, rt_cfg.suspend_sig);
}

int rt_real_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	resolve();
	return real_sigaction(sig, act, old);
}

int rt_real_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	resolve();
	return real_pthread_sigmask(how, set, old);
}

/* The library is built with hidden visibility: interposers say otherwise. */
#define INTERPOSE __attribute__((visibility("default")))

INTERPOSE int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	struct sigaction copy;

	resolve();
	if (ours(sig)) {
		if (old)
			*old = sig == rt_cfg.trigger_sig ? rt_app_trigger_action
							  : (struct sigaction){ 0 };
		if (act && sig == rt_cfg.trigger_sig)
			rt_app_trigger_action = *act;
		else if (act && sig == rt_cfg.suspend_sig) {
			errno = EINVAL;
			return -1;
		}
		return 0;
	}
	if (batch(sig)) {
		if (old)
			*old = app_batch_actions[sig - 1];
		if (act)
			app_batch_actions[sig - 1] = *act;
		return 0;
	}
	if (act) {
		copy = *act;
		strip_ours(&copy.sa_mask);
		act = &copy;
	}
	return real_sigaction(sig, act, old);
}

INTERPOSE sighandler_t signal(int sig, sighandler_t handler)
{
	struct sigaction sa, old;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, sig);
	if (sigaction(sig, &sa, &old))
		return SIG_ERR;
	return old.sa_handler;
}

static const sigset_t *filtered(int how, const sigset_t *set, sigset_t *copy)
{
	if (!set || how == SIG_UNBLOCK)
		return set;
	*copy = *set;
	strip_ours(copy);
	return copy;
}

INTERPOSE int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	sigset_t copy;

	resolve();
	return real_sigprocmask(how, filtered(how, set, &copy), old);
}

INTERPOSE int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	sigset_t copy;

	resolve();
	return real_pthread_sigmask(how, filtered(how, set, &copy), old);
}

/* inotify keeps no path: what the app asked for is recorded for the
 * checkpoint (fd_inotify.c). */
INTERPOSE int inotify_add_watch(int fd, const char *path, uint32_t mask)
{
	static int (*real)(int, const char *, uint32_t);
	int wd;

	if (!real)
		real = (int (*)(int, const char *, uint32_t))dlsym(RTLD_NEXT, "inotify_add_watch");
	wd = real(fd, path, mask);
	if (wd > 0 && path)
		rt_inotify_record(wd, path);
	return wd;
}

/* The program's own userfaultfd takes memory the runtime tracks
 * (track.c): the runtime lets go of it first, or the program would get
 * EBUSY. */
INTERPOSE int ioctl(int fd, unsigned long request, ...)
{
	static int (*real)(int, unsigned long, ...);
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!real)
		real = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
	if (request == UFFDIO_REGISTER && arg && !rt_track_fd(fd)) {
		const struct uffdio_register *reg = arg;

		rt_track_yield(reg->range.start, reg->range.len);
	}
	return real(fd, request, arg);
}
