// SPDX-License-Identifier: MIT
/*
 * libselfckpt: preloaded into an app, it checkpoints the app on a signal.
 *
 * The constructor reads the configuration (config.c) and installs the
 * trigger handler (checkpoint.c). This file runs in the app's context
 * only, never while threads are frozen: libc is fine here.
 */
#include <signal.h>
#include <string.h>

#include "dump.h"

__attribute__((constructor)) static void selfckpt_init(void)
{
	struct sigaction sa;

	rt_config_load();
	rt_follow_exec_init();
	if (rt_freeze_init(&rt_cfg)) {
		rt_log("cannot install the suspend handler; checkpoints are off");
		return;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = rt_trigger_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	if (rt_real_sigaction(rt_cfg.trigger_sig, &sa, NULL)) {
		rt_log("cannot install the trigger handler; checkpoints are off");
		return;
	}
	/* Blocked across the exec that started us (follow_exec.c): a trigger
	 * that came meanwhile is taken now. */
	uint64_t trigger = 1ULL << (rt_cfg.trigger_sig - 1);

	sc_sys4(__NR_rt_sigprocmask, SIG_UNBLOCK, &trigger, NULL, 8);
	rt_ignore_batch_signals();
	rt_start_interval(&rt_cfg);
}
