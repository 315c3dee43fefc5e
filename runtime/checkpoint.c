// SPDX-License-Identifier: MIT
/*
 * The checkpoint: it runs in the trigger signal's handler, in whichever
 * thread the signal reached; it parks all other threads, writes the image
 * and resumes them (or exits, with SELFCKPT_EXIT=1). There is no thread of
 * the runtime's own, so a process stays as single-threaded as the app made
 * it (fork stays as cheap as without the runtime) and a forked child can
 * be checkpointed like its parent (doc/freeze.md). All of this is the
 * freeze path: raw system calls, the arena, nothing of libc's that locks
 * (tests/build/freeze_symbols.sh).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "dump.h"
#include "procparse.h"
#include "selfckpt/launcher.h"

/*
 * One checkpoint at a time. A trigger that reaches another thread while
 * one runs (it can only once the threads are resumed: parked threads block
 * every signal) asks for one more, taken right after it: several such
 * triggers make one checkpoint, which exits if any of them was crrun's
 * final request.
 */
static bool checkpointing;
enum { DEFERRED_TRIGGER = 1, DEFERRED_FINAL = 2 };
static unsigned deferred;

/* The checkpoint's own stack: in the image (a thread is captured on it),
 * and deep enough for the dump whatever stack the signal interrupted. */
static char ckpt_stack[256 << 10] __attribute__((aligned(64)));

/* frz: the threads parked, if the freeze got that far. */
static void log_result(const struct rt_config *cfg, const struct rt_freeze *frz,
		       const struct rt_dump_result *res, uint64_t started, uint64_t ended,
		       int action)
{
	char msg[RT_MAX_PATH + 256], *p;
	int copies, held;

	if (res->err) {
		p = rt_stpcpy(msg, "checkpoint failed (");
		p = rt_stpcpy(p, res->what ? res->what : "?");
		p = rt_stpcpy(p, "): ");
		if (res->detail[0])
			p = rt_stpcpy(p, res->detail);
		else
			/* Not strerror: it may take gettext's lock, which a
			 * parked thread may hold. */
			p = rt_stpcpy(p, strerrordesc_np(-res->err) ?: "unknown error");
		rt_stpcpy(p, "; the program keeps running");
		rt_log(msg);
		rt_note_outcome(res->err, msg);
		if (!rt_tree_is_member())
			rt_history_failed(cfg, msg + strlen("checkpoint failed "));
		return;
	}
	rt_tree_copied(&copies, &held);
	p = rt_stpcpy(msg, "checkpoint ");
	p = rt_stpcpy(p, res->image);
	rt_tree_describe(p);
	p = rt_stpcpy(p + strlen(p), ": ");
	p = rt_fmt_fixed(p, res->bytes, 1 << 20, 1);
	p = rt_stpcpy(p, " MiB, threads parked in ");
	p = rt_fmt_fixed(p, frz->frozen_at_ns - frz->stop_begin_ns, 1000000, 3);
	if (res->snapshot == RT_SNAPSHOT_COPY) {
		/* The program went on once its copy was made; a member of a
		 * tree, once its root said so: at most the root's stop. */
		p = rt_stpcpy(p, rt_tree_is_member() ? " ms, copied after " : " ms, stopped ");
		p = rt_fmt_fixed(p, res->released_ns - started, 1000000, 1);
		/* A tree's root: the members' copies wrote theirs. */
		p = rt_stpcpy(p,
			      copies ? " ms, written by copies in " : " ms, written by a copy in ");
		p = rt_fmt_fixed(p, ended - res->released_ns, 1000000, 1);
	} else {
		p = rt_fmt_fixed(rt_stpcpy(p, " ms, stopped "), ended - started, 1000000, 1);
	}
	p = rt_stpcpy(p, action == RT_TREE_EXIT   ? " ms; exiting"
			 : action == RT_TREE_STOP ? " ms; stopped until killed"
						  : " ms");
	/* The members a root's copy did without: a root held says its own
	 * reason, if it has one (SELFCKPT_COW=0 holds them all). */
	if (res->snapshot == RT_SNAPSHOT_COPY && held) {
		p = rt_fmt_i64(rt_stpcpy(p, " ("), held);
		p = rt_fmt_i64(rt_stpcpy(p, " of "), rt_tree_size());
		p = rt_stpcpy(p, " processes held until written, no copy)");
	}
	if (res->held_why[0])
		rt_stpcpy(rt_stpcpy(rt_stpcpy(p, " (held until written, no copy: "), res->held_why),
			  ")");
	rt_log(msg);
	rt_note_outcome(0, msg);
	if (!rt_tree_is_member())
		rt_history_checkpoint(cfg, res, rt_tree_size(), action, ended - started);
}

/* The last checkpoint's copy ended, rep saying how: crdump learns it here
 * (the copy logged it already). */
/* One checkpoint's image at a time: the previous one's copy first. */
static void wait_for_copy(void)
{
	if (rt_snapshot_reap(false) || !rt_snapshot_writing())
		return;
	rt_log("waiting for the previous checkpoint's copy to finish writing it");
	rt_snapshot_reap(true);
}

/* The name of res's image in its directory: "ckpt-0003". */
static const char *image_name(const struct rt_dump_result *res)
{
	const char *slash = strrchr(res->image, '/');

	return slash ? slash + 1 : res->image;
}

/* What the next checkpoint may build on, when this process wrote the image
 * (a copy's report tells its program: snapshot.c). */
static void note_tracked(const struct rt_dump_result *res)
{
	if (!res->tracked)
		return;
	if (res->err)
		rt_track_failed();
	else
		rt_track_committed(res->incremental, image_name(res), res->inventory_xxh3);
}

/* Once a checkpoint is committed and the program runs on (or is about to
 * exit: final), its directory is pruned and the generation flushed to the
 * shared tier (doc/tiers.md), a final one before the program exits. */
static void after_commit(const struct rt_config *cfg, const struct rt_dump_result *res, bool final)
{
	rt_prune_generations(cfg, res);
	if (!rt_tree_is_member())
		rt_flush_start(cfg, res, final);
}

/* The copy, once it has committed the image or failed: it logs, prunes,
 * reports to the program and exits, its status the error. */
static __attribute__((noreturn)) void copy_exits(const struct rt_config *cfg,
						 const struct rt_freeze *frz,
						 const struct rt_dump_result *res, uint64_t started)
{
	struct rt_copy_report rep = { .err = res->err,
				      .tracked = res->tracked,
				      .incremental = res->incremental,
				      .inventory_xxh3 = res->inventory_xxh3 };

	log_result(cfg, frz, res, started, rt_now_ns(CLOCK_MONOTONIC),
		   res->err ? RT_TREE_FAILED : RT_TREE_RESUME);
	after_commit(cfg, res, false);
	rep.said = rt_retention_said();
	if (res->err)
		rt_stpcpy(rep.why, rt_outcome_why());
	rt_stpcpy(rep.image, image_name(res));
	rt_snapshot_report(&rep);
	for (;;)
		sc_sys1(__NR_exit_group, -res->err);
}

/* Restored by crload --lazy since its last checkpoint: the page server
 * may still be filling the memory (wait_for_lazy_pages). */
static bool lazy_pages_pending;

static void after_restore(const struct rt_config *cfg, const struct rt_dump_result *res,
			  bool member)
{
	char msg[RT_MAX_PATH + 64], *end;

	/* What was asked of the process it was is not asked of it: a trigger
	 * deferred while its image was taken was served by that image. */
	__atomic_store_n(&deferred, 0, __ATOMIC_RELEASE);
	rt_arena_forget();
	rt_tcp_forget();
	rt_tree_forget();
	/* The tracker crload armed is taken up, reading the image it builds
	 * on into an arena of its own. */
	rt_track_restored(res, member, !rt_arena_init());
	rt_arena_drop();
	rt_freeze_reset_after_restore();
	rt_rseq_resume();
	/* Taken off at once: an image taken later must not say so. */
	lazy_pages_pending = __atomic_exchange_n(&rt_restored_lazily, false, __ATOMIC_RELAXED);
	end = rt_stpcpy(rt_stpcpy(msg, "restored from "), res->image);
	if (lazy_pages_pending)
		rt_stpcpy(end, ", its memory served lazily");
	rt_log(msg);
	if (!member)
		rt_history_restored(cfg, res);
	/* Restored from the shared tier, maybe to an empty local one. */
	rt_flush_note_floor(cfg);
	/* Timers are not part of the image. */
	rt_start_interval(cfg);
}

/* What this process does once the image is written: a member of a tree
 * does what its root decided. */
static int decide(const struct rt_config *cfg, struct rt_dump_result *res, bool member, bool final)
{
	if (member) {
		if (res->tree_action == RT_TREE_FAILED && !res->err) {
			res->err = -ECANCELED;
			res->what = "checkpoint of the tree";
			rt_stpcpy(res->detail, "failed in another process of it");
		}
		return res->tree_action;
	}
	if (res->err)
		return RT_TREE_FAILED;
	return cfg->exit_after || final ? RT_TREE_EXIT
	       : cfg->stop_after	? RT_TREE_STOP
					: RT_TREE_RESUME;
}

/* crrun's request for a last checkpoint before the job ends. */
static bool final_request(const siginfo_t *si)
{
	return si && si->si_code == SI_QUEUE &&
	       (uint64_t)(uintptr_t)si->si_value.sival_ptr == SELFCKPT_FINAL_REQUEST;
}

/* A parent that forwards the trigger to its children (mpirun) makes them
 * take it once more, right after the tree's checkpoint they were in. */
static bool taken_as_passed_on(const siginfo_t *si)
{
	if (!rt_tree_passed_on(si))
		return false;
	rt_log("trigger from the parent right after the tree's checkpoint: taken as passed on, "
	       "no checkpoint of this process's own");
	return true;
}

/* What the dump is given, through the freeze: the checkpoint's
 * configuration, the threads parked, whether the program goes on after
 * it, and its result. */
struct dump_args {
	const struct rt_config *cfg;
	const struct rt_freeze *frz;
	bool runs_on;
	struct rt_dump_result *res;
};

/* The dump, as the freeze runs it. */
static void dump_image(void *arg)
{
	const struct dump_args *a = arg;

	rt_dump_image(a->cfg, a->frz, a->runs_on, a->res);
}

static void checkpoint_once(const siginfo_t *si)
{
	/* Read here once, and passed to everything below that needs it. */
	const struct rt_config *cfg = &rt_cfg;
	uint64_t started = rt_now_ns(CLOCK_MONOTONIC);
	int err = rt_arena_init(), action;
	bool member = rt_tree_request(si), final = final_request(si);
	/* This checkpoint's outcome. On the checkpoint stack, which the image
	 * holds: a restored process finds in it the image it came from. */
	struct rt_dump_result res = { 0 };
	const struct rt_freeze *frz = NULL;
	struct dump_args dump = { .cfg = cfg, .res = &res };
	siginfo_t job_si;
	int leader;

	/* Periodic checkpoints are the tree's: a process whose parent ticks
	 * too is in the tree its parent's ticks checkpoint, and its own
	 * would write images of part of the tree only (one rank of an MPI
	 * job), which a restore of the newest generation would take for the
	 * whole job. An orphan is adopted by a process without them. */
	if (!err && rt_interval_tick(si) && rt_interval_ticks_in((int)sc_sys0(__NR_getppid))) {
		rt_arena_drop();
		return;
	}
	wait_for_copy();
	/* Triggers that came meanwhile (while the copy was waited for) are
	 * served by this checkpoint, taken after them: left deferred, they
	 * would be in its image, and a restored process would take one more
	 * (crrun's final request: exit again at once). */
	if (__atomic_exchange_n(&deferred, 0, __ATOMIC_ACQ_REL) & DEFERRED_FINAL)
		final = true;
	if (!err && rt_tree_served(si)) {
		rt_arena_drop();
		return;
	}
	if (!err && taken_as_passed_on(si)) {
		rt_arena_drop();
		return;
	}
	/* A pipeline is checkpointed whole, by its first command. */
	if (!err && !member && (leader = rt_tree_job_leader(cfg)) > 0) {
		if (!rt_tree_job_request(cfg, leader, &job_si)) {
			char msg[96];

			rt_fmt_i64(rt_stpcpy(msg, "checkpoint asked of the job's leader, pid "),
				   leader);
			rt_log(msg);
			rt_arena_drop();
			return;
		}
		si = &job_si;
		member = true;
	}
	rt_tree_forget();
	rt_rseq_pause();
	if (!err)
		err = rt_freeze_all(cfg, &frz);
	if (err)
		res.what = "stopping threads";
	else
		err = member ? rt_tree_join(si, &res) : rt_tree_gather(cfg, &res);
	if (err) {
		/* Members waiting on the root see it close and go on. */
		rt_tree_end();
		rt_resume_all();
		rt_rseq_resume();
		rt_arena_drop();
		res.err = err;
		log_result(cfg, frz, &res, started, started, RT_TREE_FAILED);
		return;
	}
	dump.frz = frz; /* known now: the threads parked */
	/* Known by a lone process or a tree's root only: a member does what
	 * its root says once the image is written. */
	dump.runs_on = !cfg->exit_after && !cfg->stop_after && !final && !member;
	if (rt_capture_self_and_dump(dump_image, &dump) == 1) {
		after_restore(cfg, &res, member);
		if (member)
			rt_tree_joined_end();
		return;
	}
	if (res.snapshot == RT_SNAPSHOT_COPY)
		copy_exits(cfg, frz, &res, started);
	if (res.snapshot == RT_SNAPSHOT_NONE)
		note_tracked(&res);
	action = decide(cfg, &res, member, final);
	/* Nobody goes on before the whole tree is written. */
	rt_tree_release(action);
	rt_tree_end();
	if (member)
		rt_tree_joined_end();
	if (action == RT_TREE_EXIT) {
		log_result(cfg, frz, &res, started, rt_now_ns(CLOCK_MONOTONIC), action);
		after_commit(cfg, &res, true);
		sc_sys1(__NR_exit_group, 0);
	}
	if (action == RT_TREE_STOP) {
		log_result(cfg, frz, &res, started, rt_now_ns(CLOCK_MONOTONIC), action);
		after_commit(cfg, &res, true);
		for (;;) /* every other thread stays parked */
			sc_sys0(__NR_pause);
	}
	rt_tcp_release();
	rt_resume_all();
	rt_rseq_resume();
	/* A copy writing the image logs and prunes once it has; a member's
	 * program says the tree failed, its copy only what it wrote. */
	if (res.snapshot != RT_SNAPSHOT_PROGRAM || res.err) {
		log_result(cfg, frz, &res, started, rt_now_ns(CLOCK_MONOTONIC), action);
		/* Once the threads run again: it adds nothing to their stop. */
		after_commit(cfg, &res, false);
	}
	rt_arena_drop();
}

/* Tries of wait_for_lazy_pages, 10 ms apart. */
#define LAZY_WAIT_TRIES 6000

/*
 * A process crload --lazy restored runs while crload's page server fills
 * its private memory (doc/lazy-restore.md): a page not in yet would be
 * taken for a zero page by the dump. Its first checkpoint waits until the
 * server has unregistered every range; others, and those of a process
 * restored eagerly, never look (smaps walks the page tables, and a range
 * of the program's own userfaultfd would hold them). A minute of waiting
 * in vain means the program registered a range itself meanwhile: the
 * checkpoint goes on.
 */
static void wait_for_lazy_pages(void)
{
	struct timespec pause = { 0, 10 * 1000 * 1000 };

	for (int i = 0; lazy_pages_pending; i++) {
		size_t len;
		char *smaps;
		bool lazy;

		if (rt_arena_init())
			return;
		smaps = rt_read_records("/proc/self/smaps", &len);
		lazy = smaps && pp_smaps_missing_mode(smaps, len);
		rt_arena_drop();
		lazy_pages_pending = lazy && i < LAZY_WAIT_TRIES;
		if (lazy_pages_pending)
			sc_sys2(__NR_nanosleep, &pause, 0);
	}
}

static void checkpoint_on_own_stack(void *si)
{
	wait_for_lazy_pages();
	checkpoint_once(si);
}

/* Whether a trigger taken during a checkpoint asks for another one. The
 * runtime's own requests of a tree and timer ticks do not: the tree's
 * checkpoint is the one running, the next tick comes anyway. */
static bool asks_another(const siginfo_t *si)
{
	if (rt_interval_tick(si))
		return false;
	if (rt_tree_request(si) || rt_tree_served(si))
		return false;
	return !taken_as_passed_on(si);
}

/* The deferred triggers, taken as one: a trigger of the user's own, or
 * crrun's final request if one of them was. NULL if there were none. */
static const siginfo_t *take_deferred(siginfo_t *si)
{
	unsigned d = __atomic_exchange_n(&deferred, 0, __ATOMIC_ACQ_REL);

	if (!d)
		return NULL;
	memset(si, 0, sizeof(*si));
	si->si_signo = rt_cfg.trigger_sig;
	si->si_code = SI_USER;
	si->si_pid = (int)sc_sys0(__NR_getpid);
	if (d & DEFERRED_FINAL) {
		si->si_code = SI_QUEUE;
		si->si_value.sival_ptr = (void *)(uintptr_t)SELFCKPT_FINAL_REQUEST;
	}
	return si;
}

/*
 * Runs the checkpoint si asks for (none if NULL), then the deferred ones,
 * with every signal but the suspend signal blocked (an app handler must
 * not run while the other threads are frozen). The caller has set
 * checkpointing; it is cleared before looking a last time, so that a
 * trigger deferred just then is taken either here or by its own thread.
 */
static void serve_triggers(const siginfo_t *si)
{
	uint64_t all = ~(1ULL << (rt_cfg.suspend_sig - 1)), old;
	siginfo_t replay;

	sc_sys4(__NR_rt_sigprocmask, SIG_SETMASK, &all, &old, 8);
	for (;;) {
		if (si)
			rt_call_on_stack(checkpoint_on_own_stack, ckpt_stack + sizeof(ckpt_stack),
					 (void *)si);
		si = take_deferred(&replay);
		if (si)
			continue;
		__atomic_store_n(&checkpointing, false, __ATOMIC_RELEASE);
		if (!__atomic_load_n(&deferred, __ATOMIC_ACQUIRE) ||
		    __atomic_exchange_n(&checkpointing, true, __ATOMIC_ACQ_REL))
			break;
	}
	sc_sys4(__NR_rt_sigprocmask, SIG_SETMASK, &old, NULL, 8);
}

/*
 * The trigger: the checkpoint runs right here, on the checkpoint stack
 * (serve_triggers). A restored process resumes in here too, and returns
 * to where the signal interrupted this thread.
 */
void rt_trigger_handler(int sig, siginfo_t *si, void *uc)
{
	int saved_errno = errno;
	struct sigaction *app = &rt_app_trigger_action;
	bool app_handler = (app->sa_flags & SA_SIGINFO)
				   ? app->sa_sigaction != NULL
				   : app->sa_handler != SIG_DFL && app->sa_handler != SIG_IGN;
	siginfo_t replay;

	/* Without a handler of its own, the app must not see this signal,
	 * not even as an EINTR. */
	if (!app_handler)
		rt_restart_trigger_interrupted(uc);
	if (!__atomic_exchange_n(&checkpointing, true, __ATOMIC_ACQ_REL)) {
		serve_triggers(si);
	} else if (asks_another(si)) {
		__atomic_fetch_or(&deferred,
				  DEFERRED_TRIGGER | (final_request(si) ? DEFERRED_FINAL : 0),
				  __ATOMIC_ACQ_REL);
		/* The checkpoint may have ended since: then it is ours. */
		if (!__atomic_exchange_n(&checkpointing, true, __ATOMIC_ACQ_REL))
			serve_triggers(take_deferred(&replay));
	}
	errno = saved_errno;
	if (rt_interval_tick(si))
		return;
	if (rt_tree_request(si) || rt_tree_forwarded(si) || final_request(si) || !app_handler)
		return;

	/* The app asked for this signal too: give it what it asked for. */
	if (app->sa_flags & SA_SIGINFO)
		app->sa_sigaction(sig, si, uc);
	else
		app->sa_handler(sig);
}
