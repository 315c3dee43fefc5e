// SPDX-License-Identifier: MIT
/*
 * Shell jobs (doc/shell-job.md). A job started from an interactive shell
 * is a process group in the shell's session, with the shell's terminal
 * as its controlling terminal. The image records the terminal and its
 * foreground group per process (what /proc/self/stat says while the app
 * is frozen), and in the inventory that the image is such a job: the
 * session's leader is not in it, so crload cannot recreate the session
 * and needs --shell-job to make the job one of its own session instead.
 */
#include <errno.h>

#include "procparse.h"
#include "shell_job.h"

/* This process's terminal, for the inventory written after the core. */
static struct {
	int tty_nr, tpgid;
} rt_tty;

int rt_dump_terminal(const struct rt_source *src, Sc__ProcCore *core)
{
	struct pp_stat st;
	size_t len;
	char path[RT_MAX_PATH], *buf = rt_read_file(rt_src_path(src, path, "stat"), &len);

	if (!buf || pp_parse_stat(buf, len, &st))
		return -EIO;
	rt_tty.tty_nr = st.tty_nr;
	rt_tty.tpgid = st.tty_nr ? st.tpgid : -1;
	core->has_tty_nr = core->has_tpgid = true;
	core->tty_nr = (uint32_t)rt_tty.tty_nr;
	core->tpgid = rt_tty.tpgid;
	return 0;
}

static bool in_image(const Sc__Inventory *inv, int pid)
{
	for (size_t i = 0; i < inv->n_procs; i++)
		if (inv->procs[i]->pid == pid)
			return true;
	return false;
}

void rt_dump_job(Sc__Inventory *inv)
{
	const Sc__ProcEntry *root = inv->procs[0];

	if (!rt_tty.tty_nr || in_image(inv, root->sid))
		return;
	inv->has_shell_job = inv->has_job_pgid = inv->has_job_foreground = true;
	inv->shell_job = true;
	inv->job_pgid = root->pgid;
	inv->job_foreground = rt_tty.tpgid == root->pgid;
}
