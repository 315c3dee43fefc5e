/* SPDX-License-Identifier: MIT */
/*
 * What the runtime, crflush, crload, crrun and crinfo agree on about the
 * two tiers of a job's generations (doc/tiers.md): a fast local
 * SELFCKPT_DIR and a durable shared SELFCKPT_FLUSH_DIR.
 */
#ifndef SELFCKPT_TIERS_H
#define SELFCKPT_TIERS_H

/* The shared tier, for the runtime and for crrun's program. */
#define SELFCKPT_FLUSH_DIR_ENV "SELFCKPT_FLUSH_DIR"

/*
 * An image, or a copy of one on the shared tier, is written into
 * ".NAME" SC_TMP_MARK "PID" beside its final NAME, which it gets once
 * durable: readers ignore such names, and the next writer removes them
 * once PID is dead.
 */
#define SC_TMP_MARK ".tmp-"
/* A generation being removed is renamed ".NAME" SC_DEL_MARK "PID" first
 * (doc/retention.md). */
#define SC_DEL_MARK ".del-"

/*
 * crflush's locks in the local SELFCKPT_DIR: the flush that runs holds
 * SC_FLUSH_RUN (which holds its pid), the one waiting SC_FLUSH_WAIT.
 */
#define SC_FLUSH_RUN ".flush.run"
#define SC_FLUSH_WAIT ".flush.wait"
/*
 * And the shared tier it flushes to, for crinfo: a symbolic link to its
 * absolute path, made before each flush, so that the local generations'
 * readers know where their copies go.
 */
#define SC_FLUSH_TO ".flush.to"
/* In the shared tier, the same the other way: a link to the SELFCKPT_DIR
 * flushed to it last, so that crinfo of an image there finds the local
 * copy (on the node that made it). */
#define SC_FLUSH_FROM ".flush.from"

#endif
