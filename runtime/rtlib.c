// SPDX-License-Identifier: MIT
/*
 * Async-signal-safe helpers for the freeze path: number formatting,
 * whole writes, the log line. The pure string functions of libc (memcpy,
 * strlen, ...) touch no shared state and are used freely.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <string.h>
#include <time.h>

#include "rt.h"

char *rt_stpcpy(char *d, const char *s)
{
	size_t n = strlen(s);

	memcpy(d, s, n + 1);
	return d + n;
}

static char *fmt_base(char *d, uint64_t v, unsigned base)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n)
		*d++ = tmp[--n];
	*d = '\0';
	return d;
}

char *rt_fmt_u64(char *d, uint64_t v)
{
	return fmt_base(d, v, 10);
}

char *rt_fmt_hex(char *d, uint64_t v)
{
	return fmt_base(d, v, 16);
}

char *rt_fmt_i64(char *d, int64_t v)
{
	if (v < 0) {
		*d++ = '-';
		return rt_fmt_u64(d, (uint64_t)-v);
	}
	return rt_fmt_u64(d, (uint64_t)v);
}

/* v/div printed with a fixed number of decimals (no floating point). */
char *rt_fmt_fixed(char *d, uint64_t v, unsigned div, unsigned decimals)
{
	uint64_t scale = 1;

	for (unsigned i = 0; i < decimals; i++)
		scale *= 10;
	uint64_t scaled = (v * scale + div / 2) / div;
	d = rt_fmt_u64(d, scaled / scale);
	if (decimals) {
		char frac[24];
		uint64_t f = scaled % scale;

		*d++ = '.';
		for (int i = (int)decimals - 1; i >= 0; i--) {
			frac[i] = (char)('0' + f % 10);
			f /= 10;
		}
		memcpy(d, frac, decimals);
		d += decimals;
		*d = '\0';
	}
	return d;
}

int rt_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		long r = sc_sys3(__NR_write, fd, p, len);

		if (r == -EINTR)
			continue;
		if (r < 0)
			return (int)r;
		if (r == 0)
			return -EIO;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

uint64_t rt_now_ns(int clock)
{
	struct timespec ts;

	/* vDSO clock_gettime is async-signal-safe. */
	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int rt_gettid(void)
{
	return (int)sc_sys0(__NR_gettid);
}

/* SELFCKPT_LOG; empty: stderr. Rarely set, so the page stays untouched. */
static char log_path[RT_MAX_PATH];
/* A checkpoint's copy logs as the program: its pid, else 0. */
static int speaker;

void rt_speak_for(int pid)
{
	speaker = pid;
}

int rt_speaker(void)
{
	return speaker ? speaker : (int)sc_sys0(__NR_getpid);
}

bool rt_log_to_stderr(void)
{
	return !log_path[0];
}

const char *rt_log_path(void)
{
	return log_path;
}

void rt_log_to(const char *path)
{
	if (strlen(path) < sizeof(log_path))
		rt_stpcpy(log_path, path);
}

/* One line, "selfckpt[pid]: msg", to SELFCKPT_LOG or stderr. */
void rt_log(const char *msg)
{
	char line[RT_MAX_PATH + 256];
	char *p = rt_stpcpy(line, "selfckpt[");
	size_t room;
	int fd = 2;

	p = rt_fmt_i64(p, rt_speaker());
	p = rt_stpcpy(p, "]: ");
	room = sizeof(line) - (size_t)(p - line) - 2;
	size_t n = strlen(msg);
	if (n > room)
		n = room;
	memcpy(p, msg, n);
	p += n;
	*p++ = '\n';

	if (log_path[0]) {
		fd = (int)sc_sys4(__NR_openat, AT_FDCWD, log_path,
				  O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			fd = 2;
	}
	rt_write_all(fd, line, (size_t)(p - line));
	if (fd != 2)
		sc_sys1(__NR_close, fd);
}

/* Above the descriptor numbers programs count on (the lowest free). */
#define KEPT_FD_MIN 512

void rt_keep_fd(struct rt_kept_fd *k, int fd)
{
	int high = (int)sc_sys3(__NR_fcntl, fd, F_DUPFD_CLOEXEC, KEPT_FD_MIN);
	struct stat st;

	if (high >= 0) {
		sc_sys1(__NR_close, fd);
		fd = high;
	}
	k->fd = fd;
	k->ino = sc_sys2(__NR_fstat, fd, &st) ? 0 : st.st_ino;
}

bool rt_kept_fd_ours(const struct rt_kept_fd *k)
{
	struct stat st;

	return k->fd >= 0 && !sc_sys2(__NR_fstat, k->fd, &st) && st.st_ino == k->ino;
}

void rt_kept_fd_close(struct rt_kept_fd *k)
{
	if (rt_kept_fd_ours(k))
		sc_sys1(__NR_close, k->fd);
	k->fd = -1;
}
