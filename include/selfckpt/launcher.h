/* SPDX-License-Identifier: MIT */
/*
 * What crrun, the launcher for batch jobs, and the runtime of the program
 * it starts agree on (doc/batch.md).
 */
#ifndef SELFCKPT_LAUNCHER_H
#define SELFCKPT_LAUNCHER_H

/*
 * The signals the batch system sends to end a job (its warning signal,
 * SIGTERM, SIGINT), as a list of names or numbers: crrun sets it, and the
 * runtime of every process it starts ignores them, whatever the program
 * asks, so that the program never sees them and crrun alone decides.
 */
#define SELFCKPT_BATCH_SIGNALS_ENV "SELFCKPT_BATCH_SIGNALS"

/*
 * A final checkpoint: the trigger signal sent with sigqueue and this
 * value. The process (and its whole tree) exits once the image is
 * durable; after a failed checkpoint it runs on. The top 16 bits differ
 * from those of the runtime's own requests between processes of a tree.
 */
#define SELFCKPT_FINAL_REQUEST 0x5c80000000000001ULL

/*
 * SELFCKPT_DIR/history: one line per event, appended with one write each
 * by crrun and by the runtime of the program it started, read by crinfo
 * history and by crrun:
 *
 *   SECONDS.MILLISECONDS EVENT KEY=VALUE...
 *
 * in wall-clock time since the epoch; a value has no blank, '%' and
 * bytes outside printable ASCII written as %XX.
 */
#define SELFCKPT_HISTORY_FILE "history"

/* Written by the runtime. */
#define SELFCKPT_EV_CHECKPOINT "checkpoint" /* image= procs= bytes= stopped_ms= then= */
#define SELFCKPT_EV_CHECKPOINT_FAILED "checkpoint-failed" /* why= */
#define SELFCKPT_EV_RESTORED "restored" /* image= */
/* Written by crrun. */
#define SELFCKPT_EV_START "start" /* pid= job= host= stdin= stdout= stderr= */
#define SELFCKPT_EV_RESUME "resume" /* pid= job= host= stdin= stdout= stderr= */
#define SELFCKPT_EV_WARNING "warning" /* signal= */
#define SELFCKPT_EV_REQUEUE "requeue" /* job= status= */
#define SELFCKPT_EV_EXIT "exit" /* status= [checkpointed=IMAGE] */

#endif
