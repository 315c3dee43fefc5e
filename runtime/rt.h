/* SPDX-License-Identifier: MIT */
/*
 * libselfckpt internals.
 *
 * Everything reachable from the freeze path is async-signal-safe: raw
 * syscalls, no malloc, no stdio, no locks, because an app thread may have
 * been frozen holding any of them. That is every file here but those that
 * run in the app's context only (the constructor in init.c, the
 * configuration in config.c, the interposers in interpose.c,
 * follow_exec.c, signal names in common/signame.c); make check
 * fails when an object of the freeze path references anything of libc's
 * outside tests/build/freeze-path.allow (tests/build/freeze_symbols.sh).
 */
#ifndef SELFCKPT_RT_H
#define SELFCKPT_RT_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "compress.h"
#include "selfckpt/kernel.h"
#include "selfckpt/syscall.h"

#define RT_MAX_PATH 4096
/* Room for why a checkpoint holds a process instead of taking a copy. */
#define RT_HELD_WHY 160

/* The small fields first: the constructor writes them and the start of
 * dir, one page for every program started. */
struct rt_config {
	int trigger_sig;	    /* SELFCKPT_SIGNAL, default SIGUSR2 */
	int suspend_sig;	    /* parks threads; SIGRTMAX */
	bool exit_after;	    /* SELFCKPT_EXIT=1 */
	bool stop_after;	    /* SELFCKPT_STOP=1 */
	bool copy_on_write;	    /* SELFCKPT_COW, default 1 (snapshot.c) */
	unsigned full_every;	    /* SELFCKPT_FULL_EVERY: 1 full image each N (track.c) */
	unsigned interval_sec;	    /* SELFCKPT_INTERVAL, 0: off */
	unsigned keep;		    /* SELFCKPT_KEEP: generations kept, >= 1 */
	uint64_t batch_sigs;	    /* SELFCKPT_BATCH_SIGNALS, bit sig-1 */
	struct rt_compress compress; /* SELFCKPT_COMPRESS, _THREADS; level 0: off */
	char dir[RT_MAX_PATH]; /* SELFCKPT_DIR, made absolute */
	char flush_dir[RT_MAX_PATH]; /* SELFCKPT_FLUSH_DIR, absolute; empty: none */
	char flush_tool[RT_MAX_PATH]; /* crflush, found at start (config.c) */
	char flush_rate[32]; /* SELFCKPT_FLUSH_RATE: crflush's --rate=, or empty */
};

/* config.c: set once, by the constructor, before anything runs. Read
 * only where a call of ours starts (the constructor, signal handlers,
 * the interposers), which pass it down to what needs it. */
extern struct rt_config rt_cfg;
void rt_config_load(void);

/* ---- rtlib.c: async-signal-safe helpers ---- */
char *rt_stpcpy(char *d, const char *s);
char *rt_fmt_u64(char *d, uint64_t v);
char *rt_fmt_hex(char *d, uint64_t v); /* lower case, no 0x */
char *rt_fmt_i64(char *d, int64_t v);
char *rt_fmt_fixed(char *d, uint64_t v, unsigned div, unsigned decimals);
int rt_write_all(int fd, const void *buf, size_t len);
uint64_t rt_now_ns(int clock);
/* One line to the log: SELFCKPT_LOG, given to rt_log_to, or stderr. */
void rt_log(const char *msg);
void rt_log_to(const char *path);
/* Whether rt_log writes to stderr (no SELFCKPT_LOG). */
bool rt_log_to_stderr(void);
/* SELFCKPT_LOG, empty for stderr. */
const char *rt_log_path(void);
/* The pid log and history lines name: a checkpoint's copy (snapshot.c)
 * speaks for the program it was cloned from. */
void rt_speak_for(int pid);
int rt_speaker(void);
int rt_gettid(void);
/*
 * A descriptor of the runtime's that outlives a checkpoint (the tracker's
 * userfaultfd, a copy's report pipe): moved above the numbers programs
 * count on, and known by its inode, since the program may have closed the
 * number or put something else there meanwhile.
 */
struct rt_kept_fd {
	int fd; /* -1: none */
	uint64_t ino;
};
/* Keeps fd (the descriptor may be renumbered) in k. */
void rt_keep_fd(struct rt_kept_fd *k, int fd);
/* k's descriptor is still the one kept. */
bool rt_kept_fd_ours(const struct rt_kept_fd *k);
/* Closes it if it still is; k holds none after. */
void rt_kept_fd_close(struct rt_kept_fd *k);

/*
 * The thread the trigger reached was not sampled before the signal: a
 * blocking call the signal cut short with EINTR is found from glibc's
 * stub (the call number loaded right before the syscall instruction) and
 * rewound, if it is one that can be issued again as it was.
 */
struct ucontext_t;
void rt_restart_trigger_interrupted(struct ucontext_t *uc);

/* ---- fd_inotify.c: the path the app gave inotify_add_watch() for wd,
 * kept for the checkpoint; called by the interposer in interpose.c ---- */
void rt_inotify_record(int wd, const char *path);

/* ---- interpose.c ---- */
/* Under crrun: the batch system's signals ignored, the app's own
 * actions for them recorded but never installed. */
void rt_ignore_batch_signals(void);

/* ---- history.c: SELFCKPT_DIR/history (selfckpt/launcher.h) ---- */
struct rt_dump_result; /* below: the image and its size */
void rt_history_checkpoint(const struct rt_config *cfg, const struct rt_dump_result *res, int procs,
			   int action, uint64_t stopped_ns);
void rt_history_failed(const struct rt_config *cfg, const char *why);
void rt_history_restored(const struct rt_config *cfg, const struct rt_dump_result *res);

/* ---- outcome.c: how the checkpoints ended, for crdump ---- */
/* A checkpoint ended with err (0 or -errno) and message msg. */
void rt_note_outcome(int err, const char *msg);
/* The last message noted. */
const char *rt_outcome_why(void);

/* ---- checkpoint.c: the trigger's handler, where checkpoints run ---- */
void rt_trigger_handler(int sig, siginfo_t *si, void *uc);

/* ---- follow_exec.c: exec'ed programs keep the runtime ---- */
void rt_follow_exec_init(void);

/* ---- rt_asm.S ---- */
/* Calls fn(arg) with rsp at stack_top, back on the caller's stack after. */
void rt_call_on_stack(void (*fn)(void *), void *stack_top, void *arg);

/* ---- compress.c ---- */
/*
 * long rt_zclone(flags, stack_top, tid, fn, arg): a thread (or, without
 * CLONE_THREAD, a process) that runs fn(arg) on stack_top and exits.
 * With CLONE_PARENT_SETTID and CLONE_CHILD_CLEARTID, *tid holds its id
 * until it has exited, so it can be waited for.
 */
long rt_zclone(unsigned long flags, void *stack_top, int *tid, void (*fn)(void *), void *arg)
	__attribute__((visibility("hidden")));

/* ---- arena.c: private memory for one checkpoint ---- */
int rt_arena_init(void);
void rt_arena_drop(void);
void rt_arena_forget(void);
void *rt_alloc(size_t size);
char *rt_strdup(const char *s, size_t len);
/* The arena's current end, and faulting in everything allocated since a
 * mark in one call: what signal handlers will write must not fault there
 * one page at a time. */
char *rt_arena_mark(void);
void rt_arena_populate_since(char *mark);
bool rt_in_arena(uint64_t start, uint64_t end);
void rt_arena_range(uint64_t *start, uint64_t *end);
/* Read a whole /proc file into the arena, NUL terminated. */
char *rt_read_file(const char *path, size_t *len);
/* The same for name in directory dirfd: thousands of /proc/PID/fdinfo/N
 * cost a walk of the whole path each. */
char *rt_read_file_at(int dirfd, const char *name, size_t *len);
/* The same for a file of costly records (smaps): none is made twice. */
char *rt_read_records(const char *path, size_t *len);

/* ---- freeze.c ---- */
struct rt_thread {
	int tid;
	bool parked;
	bool runtime_thread;
	struct sc_sigcontext regs;
	uint64_t sigmask;
	uint64_t fs_base, gs_base;
	stack_t altstack;
	uint64_t robust_head, robust_len, clear_tid;
	uint64_t rseq_ptr;
	uint32_t rseq_len;
	char name[16];
	uint8_t *xsave;
	uint32_t xsave_size;
	char *park_stack;	/* in the arena: parked threads wait on it */
	uint64_t xfeatures;
	/* /proc/self/task/TID/syscall sampled before the thread was
	 * signalled; lets a restartable sleep be re-issued after restore. */
	long sys_nr;
	uint64_t sys_pc;
};

/* The threads one freeze parked: freeze.c's own, handed to the dump. */
struct rt_freeze {
	struct rt_thread *threads; /* threads[0]: the checkpointing one */
	int nr;
	uint64_t started_ns;	/* looking for threads began */
	uint64_t stop_begin_ns;	/* first suspend signal sent */
	uint64_t frozen_at_ns;	/* last thread parked */
};

/* ---- pending.c: signals queued and not delivered ---- */
#define RT_SHARED (-1) /* the process's queue, not one thread's */
/* The runtime's own signals (cfg's) stay queued. */
int rt_pending_init(const struct rt_config *cfg);
/* The calling thread's own queue into the image, as thread slot; _all: the
 * checkpointing thread's (slot 0) and the process's. */
void rt_pending_take_own(int slot);
void rt_pending_take_all(void);
/* A process that runs on: slot's signals queued again by the thread
 * itself, and with shared the process's (sent by the main thread). */
void rt_pending_requeue(int slot, bool shared);
void rt_pending_forget(void);

int rt_freeze_init(const struct rt_config *cfg);
/* Parks every other thread with cfg's suspend signal; *frz: the threads
 * parked, for the dump. */
int rt_freeze_all(const struct rt_config *cfg, const struct rt_freeze **frz);
void rt_resume_all(void);
/* Ask the calling (checkpoint) thread's own context to be saved and
 * dump(arg) to be run from the signal handler, which writes the image;
 * returns 1 in a restored process. */
long rt_capture_self_and_dump(void (*dump)(void *), void *arg);
void rt_freeze_reset_after_restore(void);
void rt_rseq_pause(void);
void rt_rseq_resume(void);

/* ---- dump.c ---- */
/*
 * The outcome of one checkpoint. The checkpoint that runs owns it
 * (checkpoint.c, on the checkpoint stack) and passes it to what fills
 * it in: the dump, the tree code, and what reads it after.
 */
/* Who writes the pages: the process itself (NONE), or its copy (snapshot.c). */
enum rt_snapshot_role { RT_SNAPSHOT_NONE, RT_SNAPSHOT_PROGRAM, RT_SNAPSHOT_COPY };
struct rt_dump_result {
	int err;		/* 0 or -errno */
	const char *what;	/* step that failed */
	char detail[RT_MAX_PATH + 128]; /* why, when more than an errno */
	char image[RT_MAX_PATH];
	uint64_t bytes;
	int tree_action;	/* a member of a tree: what the root decided */
	enum rt_snapshot_role snapshot; /* this process's part in the checkpoint */
	uint64_t released_ns;	/* the copy: when it let the program go on */
	char held_why[RT_HELD_WHY]; /* why there is no copy, when there could be */
	/* Dirty tracking scanned for this image (track.c), which is then
	 * what the next one builds on; it is incremental itself. */
	bool tracked, incremental;
	uint64_t inventory_xxh3;	/* the image's, once written */
};
/* Writes the image into cfg's directory, the threads frz parked among what
 * it holds, res saying how it went; run by rt_capture_self_and_dump.
 * runs_on: the program goes on after it (a copy may write the pages). */
void rt_dump_image(const struct rt_config *cfg, const struct rt_freeze *frz, bool runs_on,
		   struct rt_dump_result *res);

/* ---- room.c: room for copies (doc/cow-capture.md) ---- */
/* What the machine and the memory cgroups of this process have left, into
 * *room: 0, or -EIO when it cannot be read. */
int rt_memory_left(uint64_t *room);
/* Process pid's private pages, in memory or swapped (they come back into
 * a copy as it reads them), from the counters of its status, not
 * smaps_rollup's walk of every page table while the program is parked;
 * plus, with shmem, the shared pages it maps. 0, or -EIO. */
int rt_private_bytes(int pid, bool shmem, uint64_t *bytes);
/* "a copy of up to NEED MiB would not fit in the ROOM MiB left" */
void rt_say_no_room(char *why, uint64_t need, uint64_t room);
/* A tree's copies taken together must fit in the memory left, as one
 * process's must (snapshot.c checks that): copy[i] says whether pids[i]'s
 * copy may be taken, in order while the copies so far fit, and why[i] why
 * not. 0, or -EIO when the memory left cannot be read (every copy[i]
 * true then: each checks its own). */
int rt_copies_budget(const int *pids, int n, bool *copy, char (*why)[RT_HELD_WHY]);

/* ---- snapshot.c: copy-on-write capture (doc/cow-capture.md) ---- */
struct Sc__Mm;
struct rt_image;
/* With everything but the pages captured, clones the process if it runs
 * on afterwards and cfg and the memory left allow: res->snapshot then
 * tells the program from its copy, which goes on to write the image;
 * otherwise res->held_why may say why the program waits for its pages to
 * be written. */
void rt_snapshot_take(const struct rt_config *cfg, const struct Sc__Mm *mm,
		      const struct rt_image *im, bool runs_on, struct rt_dump_result *res);
/* How the copy ended, as it reports it before exiting. */
struct rt_copy_report {
	int err;		/* 0: committed; -errno */
	unsigned said;		/* the pruner's RT_SAID_* (dump.h) */
	char why[512];		/* the failure, as the log says it */
	/* The image, for the tracker (track.c): whether it scanned, and the
	 * image it may build on next. */
	bool tracked, incremental;
	char image[64];
	uint64_t inventory_xxh3;
};
/* The copy's report at its end. */
void rt_snapshot_report(const struct rt_copy_report *rep);
/* Reaps the last checkpoint's copy once it has ended (wait: waiting for
 * that), and notes its report: true if it did. */
bool rt_snapshot_reap(bool wait);
/* A copy of this process's is writing an image. */
bool rt_snapshot_writing(void);
/* si is a copy's exit signal (the suspend signal with a CLD_* code). */
bool rt_snapshot_exit_signal(const siginfo_t *si);

/* ---- interval.c ---- */
/* SELFCKPT_INTERVAL: a timer of this process (a forked child has none). */
void rt_start_interval(const struct rt_config *cfg);
/* Its id, -1 if there is none. */
int rt_interval_timer(void);
/* Whether si is one of its ticks. */
bool rt_interval_tick(const siginfo_t *si);
/* Whether process pid runs a SELFCKPT_INTERVAL timer of the runtime's. */
bool rt_interval_ticks_in(int pid);

/* ---- tree.c (more in dump.h) ---- */
/* This checkpoint covers more processes than this one: the root checks
 * the pipes between them. */
bool rt_tree_active(void);
/* Pipe id is on a standard stream and every end of it is in the tree. */
bool rt_tree_std_pipe(uint64_t id);
/* The process of the tree that stores pipe id's bytes, or 0: this one. */
int rt_tree_pipe_keeper(uint64_t id);

/* ---- tcp_repair.c ---- */
/* The app goes on: its TCP connections leave repair mode. */
void rt_tcp_release(void);
/* A restored process holds no connection in repair mode. */
void rt_tcp_forget(void);
/* The descriptors of the connections in repair mode, at most max. */
size_t rt_tcp_held(int *fds, size_t max);

/* ---- fd_inotify.c: the path the app gave inotify_add_watch() for wd,
 * kept for the checkpoint; called by the interposer in interpose.c ---- */
void rt_inotify_record(int wd, const char *path);

/* ---- interpose.c ---- */
int rt_real_sigaction(int sig, const struct sigaction *act, struct sigaction *old);
int rt_real_sigmask(int how, const sigset_t *set, sigset_t *old);
/* The app's own disposition of the trigger signal, called after ours. */
extern struct sigaction rt_app_trigger_action;

/* Address of the gadget in rt_asm.S. */
extern char selfckpt_restore_tail[];
/* Set by that tail (rt_asm.S) when crload --lazy restored the process:
 * its page server may still be filling the memory (checkpoint.c). */
extern __attribute__((visibility("hidden"))) bool rt_restored_lazily;

#endif
