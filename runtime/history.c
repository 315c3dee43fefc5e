// SPDX-License-Identifier: MIT
/*
 * The runtime's lines in SELFCKPT_DIR/history: each checkpoint's outcome
 * and each restore, so that crrun learns when a final checkpoint is
 * durable and crinfo history can tell a job's story across requeues
 * (selfckpt/launcher.h). Written from the trigger handler: raw syscalls,
 * one append each, so that lines of several writers never interleave.
 *
 * Only under crrun (it set SELFCKPT_BATCH_SIGNALS): elsewhere a failed
 * checkpoint leaves SELFCKPT_DIR as it found it.
 */
#include <fcntl.h>
#include <string.h>
#include <time.h>

#include "dump.h"
#include "selfckpt/history_field.h"
#include "selfckpt/launcher.h"

/* A history line holds at most this: a path or a reason, and numbers. */
#define LINE_MAX_LEN (RT_MAX_PATH + 512)
#define NS_PER_MS 1000000

/* crrun started this program: it set the batch signals. */
static bool recording(const struct rt_config *cfg)
{
	return cfg->batch_sigs != 0;
}

static char *start_line(char *line, const char *event)
{
	uint64_t ms = rt_now_ns(CLOCK_REALTIME) / NS_PER_MS;
	char *p = rt_fmt_fixed(line, ms, 1000, 3);

	*p++ = ' ';
	p = rt_stpcpy(p, event);
	p = rt_stpcpy(p, " pid=");
	return rt_fmt_i64(p, rt_speaker());
}

static char *put_field(char *p, char *end, const char *key, const char *value)
{
	size_t room;

	p = rt_stpcpy(p, " ");
	p = rt_stpcpy(p, key);
	p = rt_stpcpy(p, "=");
	room = (size_t)(end - p);
	return selfckpt_history_put(p, value, room);
}

static void append(const struct rt_config *cfg, char *line, char *p)
{
	char path[RT_MAX_PATH + sizeof(SELFCKPT_HISTORY_FILE) + 1];
	int fd;

	*p++ = '\n';
	rt_stpcpy(rt_stpcpy(rt_stpcpy(path, cfg->dir), "/"), SELFCKPT_HISTORY_FILE);
	fd = (int)sc_sys4(__NR_openat, AT_FDCWD, path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
			  RT_IMAGE_FILE_MODE);
	if (fd < 0)
		return; /* no directory, no history: the checkpoint said why */
	rt_write_all(fd, line, (size_t)(p - line));
	sc_sys1(__NR_close, fd);
}

/* The image's name within SELFCKPT_DIR: its last component. */
static const char *image_name(const struct rt_dump_result *res)
{
	const char *slash = strrchr(res->image, '/');

	return slash ? slash + 1 : res->image;
}

void rt_history_checkpoint(const struct rt_config *cfg, const struct rt_dump_result *res, int procs,
			   int action, uint64_t stopped_ns)
{
	char line[LINE_MAX_LEN], *end = line + sizeof(line) - 2, *p;
	char num[32];

	if (!recording(cfg))
		return;
	p = start_line(line, SELFCKPT_EV_CHECKPOINT);
	p = put_field(p, end, "image", image_name(res));
	rt_fmt_i64(num, procs);
	p = put_field(p, end, "procs", num);
	rt_fmt_u64(num, res->bytes);
	p = put_field(p, end, "bytes", num);
	rt_fmt_fixed(num, stopped_ns, NS_PER_MS, 1);
	p = put_field(p, end, "stopped_ms", num);
	p = put_field(p, end, "then",
		      action == RT_TREE_EXIT   ? "exit"
		      : action == RT_TREE_STOP ? "stop"
					       : "run");
	append(cfg, line, p);
}

void rt_history_failed(const struct rt_config *cfg, const char *why)
{
	char line[LINE_MAX_LEN], *end = line + sizeof(line) - 2, *p;

	if (!recording(cfg))
		return;
	p = start_line(line, SELFCKPT_EV_CHECKPOINT_FAILED);
	p = put_field(p, end, "why", why);
	append(cfg, line, p);
}

void rt_history_restored(const struct rt_config *cfg, const struct rt_dump_result *res)
{
	char line[LINE_MAX_LEN], *end = line + sizeof(line) - 2, *p;

	if (!recording(cfg))
		return;
	p = start_line(line, SELFCKPT_EV_RESTORED);
	p = put_field(p, end, "image", image_name(res));
	append(cfg, line, p);
}
