/* SPDX-License-Identifier: MIT */
/* Shell jobs (doc/shell-job.md): the runtime half. */
#ifndef SELFCKPT_RT_SHELL_JOB_H
#define SELFCKPT_RT_SHELL_JOB_H

#include "dump.h"

/* The process's controlling terminal and its foreground group, into core. */
int rt_dump_terminal(const struct rt_source *src, Sc__ProcCore *core);
/* Marks the inventory (its procs filled in) a shell job when it is one. */
void rt_dump_job(Sc__Inventory *inv);

#endif
