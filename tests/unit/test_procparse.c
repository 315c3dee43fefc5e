// SPDX-License-Identifier: MIT
/*
 * Check suite for common/procparse.[ch]: the /proc text parsers.
 *
 * Every input is handed to the parser in a buffer that ends right before a
 * guard page (testutil.h), so reading past the given length crashes the
 * test instead of passing silently.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procparse.h"
#include "testutil.h"

/* ---- helpers ----------------------------------------------------------- */

static int maps(const char *line, struct pp_map *m)
{
	struct gbuf g = gbuf_str(line);
	int r = pp_parse_maps_line(g.data, g.len, m);

	/* The path points into the buffer: keep a copy the caller can read. */
	if (r == 0 && m->path) {
		static char keep[4096];

		ck_assert_uint_lt(m->path_len, sizeof(keep));
		ck_assert(m->path >= g.data && m->path + m->path_len <= g.data + g.len);
		memcpy(keep, m->path, m->path_len);
		keep[m->path_len] = '\0';
		m->path = keep;
	}
	gbuf_free(&g);
	return r;
}

static int stat_(const char *s, struct pp_stat *st)
{
	struct gbuf g = gbuf_str(s);
	int r = pp_parse_stat(g.data, g.len, st);

	gbuf_free(&g);
	return r;
}

static int fdinfo(const char *s, struct pp_fdinfo *fi)
{
	struct gbuf g = gbuf_str(s);
	int r = pp_parse_fdinfo(g.data, g.len, fi);

	gbuf_free(&g);
	return r;
}

static int sysc(const char *s, struct pp_syscall *sc)
{
	struct gbuf g = gbuf_str(s);
	int r = pp_parse_syscall(g.data, g.len, sc);

	gbuf_free(&g);
	return r;
}

static void ck_path(const struct pp_map *m, const char *want)
{
	ck_assert_ptr_nonnull(m->path);
	ck_assert_uint_eq(m->path_len, strlen(want));
	ck_assert_msg(!memcmp(m->path, want, m->path_len), "path \"%.*s\", want \"%s\"",
		      (int)m->path_len, m->path, want);
}

/* ---- pp_next_line ------------------------------------------------------ */

START_TEST(next_line_split)
{
	const char text[] = "one\ntwo\n\nlast";
	struct gbuf g = gbuf_new(text, sizeof(text) - 1);
	size_t pos = 0, ll = 99;
	const char *l;

	l = pp_next_line(g.data, g.len, &pos, &ll);
	ck_assert_ptr_eq(l, g.data);
	ck_assert_uint_eq(ll, 3);
	l = pp_next_line(g.data, g.len, &pos, &ll);
	ck_assert_uint_eq(ll, 3);
	ck_assert(!memcmp(l, "two", 3));
	l = pp_next_line(g.data, g.len, &pos, &ll);
	ck_assert_ptr_nonnull(l);
	ck_assert_uint_eq(ll, 0);
	l = pp_next_line(g.data, g.len, &pos, &ll);
	ck_assert_uint_eq(ll, 4);
	ck_assert(!memcmp(l, "last", 4));
	ck_assert_ptr_null(pp_next_line(g.data, g.len, &pos, &ll));
	ck_assert_ptr_null(pp_next_line(g.data, g.len, &pos, &ll));
	gbuf_free(&g);
}
END_TEST

START_TEST(next_line_empty_and_trailing_newline)
{
	struct gbuf g = gbuf_str("a\n");
	size_t pos = 0, ll;

	ck_assert_ptr_null(pp_next_line(g.data, 0, &pos, &ll));
	ck_assert_ptr_nonnull(pp_next_line(g.data, g.len, &pos, &ll));
	ck_assert_uint_eq(ll, 1);
	ck_assert_uint_eq(pos, 2);
	ck_assert_ptr_null(pp_next_line(g.data, g.len, &pos, &ll));
	gbuf_free(&g);
}
END_TEST

/* ---- maps -------------------------------------------------------------- */

START_TEST(maps_anonymous)
{
	struct pp_map m;

	/* The kernel ends the header with a space even when no name follows. */
	ck_assert_int_eq(maps("7f0000001000-7f0000005000 rw-p 00000000 00:00 0 ", &m), 0);
	ck_assert_uint_eq(m.start, 0x7f0000001000ULL);
	ck_assert_uint_eq(m.end, 0x7f0000005000ULL);
	ck_assert_int_eq(m.prot, PROT_READ | PROT_WRITE);
	ck_assert(!m.shared);
	ck_assert_uint_eq(m.pgoff, 0);
	ck_assert_uint_eq(m.dev_major, 0);
	ck_assert_uint_eq(m.dev_minor, 0);
	ck_assert_uint_eq(m.ino, 0);
	ck_assert_ptr_null(m.path);
	ck_assert_uint_eq(m.path_len, 0);
	ck_assert(!m.deleted);

	ck_assert_int_eq(maps("00400000-00401000 ---p 00000000 00:00 0", &m), 0);
	ck_assert_int_eq(m.prot, 0);
	ck_assert_ptr_null(m.path);
}
END_TEST

START_TEST(maps_file_backed)
{
	struct pp_map m;

	ck_assert_int_eq(maps("555555554000-555555556000 r-xp 00002000 fd:01 1311838"
			      "                    /usr/bin/cat",
			      &m),
			 0);
	ck_assert_uint_eq(m.start, 0x555555554000ULL);
	ck_assert_uint_eq(m.end, 0x555555556000ULL);
	ck_assert_int_eq(m.prot, PROT_READ | PROT_EXEC);
	ck_assert_uint_eq(m.pgoff, 0x2000);
	ck_assert_uint_eq(m.dev_major, 0xfd);
	ck_assert_uint_eq(m.dev_minor, 0x01);
	ck_assert_uint_eq(m.ino, 1311838);
	ck_path(&m, "/usr/bin/cat");
	ck_assert(!m.deleted);
}
END_TEST

START_TEST(maps_path_with_spaces)
{
	struct pp_map m;

	ck_assert_int_eq(maps("7f0000000000-7f0000002000 r--p 00000000 08:11 42"
			      "                         /home/u/my data/a  b.bin",
			      &m),
			 0);
	ck_path(&m, "/home/u/my data/a  b.bin");
	ck_assert(!m.deleted);
	/* Trailing spaces are part of the name. */
	ck_assert_int_eq(maps("7f0000000000-7f0000002000 r--p 00000000 08:11 42 /tmp/x ", &m), 0);
	ck_path(&m, "/tmp/x ");
}
END_TEST

START_TEST(maps_deleted)
{
	struct pp_map m;

	ck_assert_int_eq(maps("7f0000000000-7f0000001000 rw-s 00000000 00:01 77"
			      "                         /tmp/my file (deleted)",
			      &m),
			 0);
	ck_assert(m.deleted);
	ck_assert(m.shared);
	ck_path(&m, "/tmp/my file");

	ck_assert_int_eq(maps("7f0000000000-7f0000001000 rw-s 00000000 00:01 1025 /memfd:buf (deleted)",
			      &m),
			 0);
	ck_assert(m.deleted);
	ck_path(&m, "/memfd:buf");

	/* Only a trailing " (deleted)" counts, and only on a path. */
	ck_assert_int_eq(maps("7f0000000000-7f0000001000 r--p 00000000 08:01 5 /a (deleted)/b", &m), 0);
	ck_assert(!m.deleted);
	ck_path(&m, "/a (deleted)/b");
	ck_assert_int_eq(maps("7f0000000000-7f0000001000 r--p 00000000 08:01 5 /x(deleted)", &m), 0);
	ck_assert(!m.deleted);
	ck_assert_int_eq(maps("7f0000000000-7f0000001000 rw-p 00000000 00:00 0 [anon:x (deleted)", &m),
			 0);
	ck_assert(!m.deleted);
	/* The suffix alone is not a deleted file. */
	ck_assert_int_eq(maps("7f0000000000-7f0000001000 r--p 00000000 08:01 5  (deleted)", &m), 0);
	ck_assert(!m.deleted);
}
END_TEST

START_TEST(maps_special)
{
	static const char *const names[] = {"[vdso]", "[vvar]", "[vvar_vclock]", "[heap]",
					    "[stack]", "[anon:jemalloc]"};
	struct pp_map m;
	char line[256];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(line, sizeof(line),
			 "7ffff7fc1000-7ffff7fc3000 r-xp 00000000 00:00 0                          %s",
			 names[i]);
		ck_assert_int_eq(maps(line, &m), 0);
		ck_path(&m, names[i]);
		ck_assert(!m.deleted);
		ck_assert_uint_eq(m.ino, 0);
	}
	ck_assert_int_eq(maps("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]", &m),
			 0);
	ck_assert_uint_eq(m.start, 0xffffffffff600000ULL);
	ck_assert_uint_eq(m.end, 0xffffffffff601000ULL);
	ck_assert_int_eq(m.prot, PROT_EXEC);
}
END_TEST

START_TEST(maps_shared)
{
	struct pp_map m;

	ck_assert_int_eq(maps("7f0000000000-7f0000004000 rwxs 00001000 00:05 9 /dev/zero (deleted)", &m),
			 0);
	ck_assert(m.shared);
	ck_assert_int_eq(m.prot, PROT_READ | PROT_WRITE | PROT_EXEC);
	ck_assert_uint_eq(m.pgoff, 0x1000);
	ck_assert(m.deleted);
	ck_path(&m, "/dev/zero");
	ck_assert_int_eq(maps("7f0000000000-7f0000004000 -w-s 00000000 00:01 3 /SYSV00000000", &m), 0);
	ck_assert(m.shared);
	ck_assert_int_eq(m.prot, PROT_WRITE);
}
END_TEST

START_TEST(maps_big_numbers)
{
	struct pp_map m;

	ck_assert_int_eq(maps("fffffffffffff000-ffffffffffffffff r--p ffffffffffffffff fff:fffff "
			      "18446744073709551615 /x",
			      &m),
			 0);
	ck_assert_uint_eq(m.end, UINT64_MAX);
	ck_assert_uint_eq(m.pgoff, UINT64_MAX);
	ck_assert_uint_eq(m.dev_major, 0xfff);
	ck_assert_uint_eq(m.dev_minor, 0xfffff);
	ck_assert_uint_eq(m.ino, UINT64_MAX);
	/* Upper-case hex is accepted too. */
	ck_assert_int_eq(maps("7F0000000000-7F0000001000 r--p 0000ABCD 0A:0B 1 /y", &m), 0);
	ck_assert_uint_eq(m.start, 0x7f0000000000ULL);
	ck_assert_uint_eq(m.pgoff, 0xabcd);
}
END_TEST

/* Each of these must be refused (and, thanks to the guard page, must not be
 * read past its end). */
static const char *const bad_maps[] = {
	"",
	" ",
	"\n",
	"-",
	"7f0000000000",
	"7f0000000000-",
	"7f0000000000-7f0000001000",
	"7f0000000000-7f0000001000 ",
	"7f0000000000-7f0000001000 r",
	"7f0000000000-7f0000001000 rw-",
	"7f0000000000-7f0000001000 rw-p",
	"7f0000000000-7f0000001000 rw-p ",
	"7f0000000000-7f0000001000 rw-p 00000000",
	"7f0000000000-7f0000001000 rw-p 00000000 ",
	"7f0000000000-7f0000001000 rw-p 00000000 08",
	"7f0000000000-7f0000001000 rw-p 00000000 08:",
	"7f0000000000-7f0000001000 rw-p 00000000 08:01",
	"7f0000000000-7f0000001000 rw-p 00000000 08:01 ",
	"7f0000000000-7f0000001000 rw-x 00000000 08:01 1 /x",	    /* 4th must be p or s */
	"7f0000000000-7f0000001000 rw-P 00000000 08:01 1 /x",
	"7f0000000000-7f0000001000 rw- 00000000 08:01 1 /x",
	"7f0000000000-7f0000001000  rw-p 00000000 08:01 1 /x",	    /* two spaces */
	"7f0000000000_7f0000001000 rw-p 00000000 08:01 1 /x",	    /* separator */
	"7f0000000000 7f0000001000 rw-p 00000000 08:01 1 /x",
	"g00000000000-7f0000001000 rw-p 00000000 08:01 1 /x",	    /* not hex */
	"-7f0000001000 rw-p 00000000 08:01 1 /x",		    /* no start */
	"7f0000000000--7f0000001000 rw-p 00000000 08:01 1 /x",
	"0x7f0000000-7f0000001000 rw-p 00000000 08:01 1 /x",	    /* 0x prefix */
	"7f0000001000-7f0000000000 rw-p 00000000 08:01 1 /x",	    /* end < start */
	"7f0000001000-7f0000001000 rw-p 00000000 08:01 1 /x",	    /* empty */
	"10000000000000000-7f0000001000 rw-p 00000000 08:01 1 /x", /* 17 digits */
	"7f0000000000-1ffffffffffffffff rw-p 00000000 08:01 1 /x", /* 17 digits */
	"7f0000000000-7f0000001000 rw-p 10000000000000000 08:01 1 /x",
	"7f0000000000-7f0000001000 rw-p zz 08:01 1 /x",
	"7f0000000000-7f0000001000 rw-p 00000000 0801 1 /x",	    /* no colon */
	"7f0000000000-7f0000001000 rw-p 00000000 :01 1 /x",
	"7f0000000000-7f0000001000 rw-p 00000000 08: 1 /x",
	"7f0000000000-7f0000001000 rw-p 00000000 08:01 /x",	    /* no inode */
	"7f0000000000-7f0000001000 rw-p 00000000 08:01 -1 /x",
	"7f0000000000-7f0000001000 rw-p 00000000 08:01 18446744073709551616 /x", /* > u64 */
	"7f0000000000-7f0000001000 rw-p 00000000 08:01  1 /x",
	"7f0000000000-7f0000001000\trw-p 00000000 08:01 1 /x",
	"garbage",
	"(deleted)",
};

START_TEST(maps_malformed)
{
	const char *line = bad_maps[_i];
	struct pp_map m;

	ck_assert_msg(maps(line, &m) != 0, "accepted malformed maps line \"%s\"", line);
}
END_TEST

/* Every proper prefix of a valid line that stops before the inode is
 * incomplete, and no prefix may be read past its end. */
START_TEST(maps_every_prefix)
{
	const char *line = "7f0000000000-7f0000001000 rw-p 00001000 08:01 123456 /some/file (deleted)";
	size_t ino_at = (size_t)(strstr(line, "123456") - line);
	struct pp_map m;

	for (size_t n = 0; n <= strlen(line); n++) {
		struct gbuf g = gbuf_new(line, n);
		int r = pp_parse_maps_line(g.data, g.len, &m);

		if (n <= ino_at)
			ck_assert_msg(r != 0, "accepted prefix of %zu bytes", n);
		else
			ck_assert_msg(r == 0, "refused prefix of %zu bytes", n);
		gbuf_free(&g);
	}
}
END_TEST

/* Garbage in the permission column is not a mapping with no permissions,
 * and an inode glued to more text is not an inode followed by a path. */
static const char *const bad_maps_strict[] = {
	"7f0000000000-7f0000001000 abcp 00000000 08:01 1 /x",
	"7f0000000000-7f0000001000 wr-p 00000000 08:01 1 /x",
	"7f0000000000-7f0000001000 r?-p 00000000 08:01 1 /x",
	"7f0000000000-7f0000001000 rw-p 00000000 08:01 123abc",
	"7f0000000000-7f0000001000 rw-p 00000000 08:01 12/x",
};

START_TEST(maps_malformed_columns)
{
	const char *line = bad_maps_strict[_i];
	struct pp_map m;

	ck_assert_msg(maps(line, &m) != 0, "accepted malformed maps line \"%s\"", line);
}
END_TEST

/* Every line of our own maps parses, and what we know of our own address
 * space is found in it. */
START_TEST(maps_live_self)
{
	static char buf[1 << 20];
	uintptr_t code = (uintptr_t)&maps, stack = (uintptr_t)&code;
	bool found_code = false, found_stack = false;
	size_t len = 0, pos = 0, ll;
	const char *l;
	ssize_t r;
	int fd = open("/proc/self/maps", O_RDONLY);

	ck_assert_int_ge(fd, 0);
	while ((r = read(fd, buf + len, sizeof(buf) - len)) > 0)
		len += (size_t)r;
	close(fd);
	ck_assert_uint_gt(len, 0);
	while ((l = pp_next_line(buf, len, &pos, &ll))) {
		struct pp_map m;
		struct gbuf g = gbuf_new(l, ll);

		ck_assert_msg(pp_parse_maps_line(g.data, g.len, &m) == 0, "refused \"%.*s\"", (int)ll,
			      l);
		if (code >= m.start && code < m.end) {
			found_code = true;
			ck_assert(m.prot & PROT_EXEC);
			ck_assert_ptr_nonnull(m.path);
			ck_assert_int_eq(m.path[0], '/');
		}
		if (stack >= m.start && stack < m.end) {
			found_stack = true;
			ck_assert(m.prot & PROT_WRITE);
		}
		gbuf_free(&g);
	}
	ck_assert(found_code);
	ck_assert(found_stack);
}
END_TEST

/* ---- stat -------------------------------------------------------------- */

/* A /proc/PID/stat line with the given comm where field i (4..52) is
 * 1000 + i, except ppid/pgrp/session which are given. */
static void make_stat(char *buf, size_t size, const char *comm, int ppid, int pgrp, int sid)
{
	int n = snprintf(buf, size, "4242 (%s) S %d %d %d", comm, ppid, pgrp, sid);

	for (int i = 7; i <= 52; i++)
		n += snprintf(buf + n, size - (size_t)n, " %d", 1000 + i);
	snprintf(buf + n, size - (size_t)n, "\n");
}

static void ck_stat_fields(const struct pp_stat *st)
{
	ck_assert_uint_eq(st->start_code, 1026);
	ck_assert_uint_eq(st->end_code, 1027);
	ck_assert_uint_eq(st->start_stack, 1028);
	ck_assert_int_eq(st->exit_signal, 1038);
	ck_assert_uint_eq(st->start_data, 1045);
	ck_assert_uint_eq(st->end_data, 1046);
	ck_assert_uint_eq(st->start_brk, 1047);
	ck_assert_uint_eq(st->arg_start, 1048);
	ck_assert_uint_eq(st->arg_end, 1049);
	ck_assert_uint_eq(st->env_start, 1050);
	ck_assert_uint_eq(st->env_end, 1051);
}

START_TEST(stat_basic)
{
	char line[1024];
	struct pp_stat st;

	make_stat(line, sizeof(line), "cat", 1, 4242, 17);
	ck_assert_int_eq(stat_(line, &st), 0);
	ck_assert_int_eq(st.ppid, 1);
	ck_assert_int_eq(st.pgrp, 4242);
	ck_assert_int_eq(st.session, 17);
	ck_assert_int_eq(st.tty_nr, 1007);
	ck_assert_int_eq(st.tpgid, 1008);
	ck_stat_fields(&st);
}
END_TEST

START_TEST(stat_comm_spaces_and_parens)
{
	static const char *const comms[] = {
		"a b",	    "my (weird) proc", ") S 1 2 3", "x)", ")", "((", "a) R 9 9 9 9 (b", "",
		"       ", "tab\there",
	};
	char line[1024];
	struct pp_stat st;

	for (size_t i = 0; i < sizeof(comms) / sizeof(comms[0]); i++) {
		make_stat(line, sizeof(line), comms[i], 77, 78, 79);
		ck_assert_msg(stat_(line, &st) == 0, "refused comm \"%s\"", comms[i]);
		ck_assert_int_eq(st.ppid, 77);
		ck_assert_int_eq(st.pgrp, 78);
		ck_assert_int_eq(st.session, 79);
		ck_stat_fields(&st);
	}
}
END_TEST

START_TEST(stat_negative_fields)
{
	/* tty_pgrp is -1 without a terminal, priority/nice may be negative. */
	char line[1024];
	struct pp_stat st;
	int n = snprintf(line, sizeof(line), "1 (init) S 0 1 1 0 -1 4194560");

	for (int i = 10; i <= 52; i++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " %d", i == 18 ? -20 : 1000 + i);
	ck_assert_int_eq(stat_(line, &st), 0);
	ck_assert_int_eq(st.ppid, 0);
	ck_assert_int_eq(st.tty_nr, 0);
	ck_assert_int_eq(st.tpgid, -1);
	ck_stat_fields(&st);
}
END_TEST

/* A zombie's state letter and its wait status (field 52); kernels before
 * 3.5 end at field 51, which still parses, with no status. */
START_TEST(stat_zombie_status)
{
	char line[1024];
	struct pp_stat st;
	int n = snprintf(line, sizeof(line), "9 (gone) Z 1 9 9");

	for (int i = 7; i <= 51; i++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " 0");
	ck_assert_int_eq(stat_(line, &st), 0);
	ck_assert_int_eq(st.state, 'Z');
	ck_assert_int_eq(st.exit_code, 0);
	snprintf(line + n, sizeof(line) - (size_t)n, " 1792\n");
	ck_assert_int_eq(stat_(line, &st), 0);
	ck_assert_int_eq(st.exit_code, 7 << 8);
}
END_TEST

START_TEST(stat_live_self)
{
	char buf[4096];
	struct pp_stat st;
	ssize_t r;
	int fd = open("/proc/self/stat", O_RDONLY);

	ck_assert_int_ge(fd, 0);
	r = read(fd, buf, sizeof(buf));
	close(fd);
	ck_assert_int_gt(r, 0);
	{
		struct gbuf g = gbuf_new(buf, (size_t)r);

		ck_assert_int_eq(pp_parse_stat(g.data, g.len, &st), 0);
		gbuf_free(&g);
	}
	ck_assert_int_eq(st.ppid, getppid());
	ck_assert_int_eq(st.pgrp, getpgrp());
	ck_assert_int_eq(st.session, getsid(0));
	ck_assert_int_eq(st.exit_signal, SIGCHLD);
	ck_assert_uint_le(st.start_code, (uint64_t)(uintptr_t)&stat_);
	ck_assert_uint_gt(st.end_code, (uint64_t)(uintptr_t)&stat_);
	ck_assert_uint_le(st.arg_start, st.arg_end);
	ck_assert_uint_le(st.env_start, st.env_end);
}
END_TEST

START_TEST(stat_malformed)
{
	char line[1024], *cut;
	struct pp_stat st;
	int n;

	ck_assert_int_ne(stat_("", &st), 0);
	ck_assert_int_ne(stat_("1", &st), 0);
	ck_assert_int_ne(stat_("1 (cat", &st), 0);		/* no ')' */
	ck_assert_int_ne(stat_("1 (cat)", &st), 0);		/* nothing after it */
	ck_assert_int_ne(stat_("1 (cat) ", &st), 0);		/* no state */
	ck_assert_int_ne(stat_("1 (cat) S", &st), 0);		/* no numbers */
	ck_assert_int_ne(stat_("1 (cat) S 1 2 3", &st), 0); /* too few */

	/* Fields up to env_end (51) are needed: cut after 50. */
	make_stat(line, sizeof(line), "cat", 1, 2, 3);
	cut = strstr(line, " 1051");
	ck_assert_ptr_nonnull(cut);
	*cut = '\0';
	ck_assert_int_ne(stat_(line, &st), 0);

	/* A non-number in the middle. */
	make_stat(line, sizeof(line), "cat", 1, 2, 3);
	cut = strstr(line, " 1030");
	ck_assert_ptr_nonnull(cut);
	cut[1] = 'x';
	ck_assert_int_ne(stat_(line, &st), 0);

	/* A bare minus sign, and a number too large for 64 bits. */
	n = snprintf(line, sizeof(line), "1 (c) S 1 2 3 -");
	for (int i = 8; i <= 52; i++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " 1");
	ck_assert_int_ne(stat_(line, &st), 0);
	n = snprintf(line, sizeof(line), "1 (c) S 1 2 3 99999999999999999999999");
	for (int i = 8; i <= 52; i++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, " 1");
	ck_assert_int_ne(stat_(line, &st), 0);
}
END_TEST

START_TEST(stat_every_prefix)
{
	char line[1024];
	struct pp_stat st;
	size_t need;

	make_stat(line, sizeof(line), "a) b", 5, 6, 7);
	need = (size_t)(strstr(line, " 1051") - line) + 2; /* up to the first digit of field 51 */
	for (size_t n = 0; n <= strlen(line); n++) {
		struct gbuf g = gbuf_new(line, n);
		int r = pp_parse_stat(g.data, g.len, &st);

		if (n < need)
			ck_assert_msg(r != 0, "accepted a stat line cut at %zu bytes", n);
		gbuf_free(&g);
	}
}
END_TEST

/* ---- fdinfo ------------------------------------------------------------ */

START_TEST(fdinfo_basic)
{
	struct pp_fdinfo fi;

	ck_assert_int_eq(fdinfo("pos:\t4096\nflags:\t0100002\nmnt_id:\t29\nino:\t1234\n", &fi), 0);
	ck_assert_uint_eq(fi.pos, 4096);
	ck_assert_uint_eq(fi.flags, 0100002); /* the kernel's O_LARGEFILE | O_RDWR */

	/* Order does not matter, no final newline, extra lines ignored. */
	ck_assert_int_eq(fdinfo("mnt_id:\t1\nflags:\t02004000\neventfd-count:    0\npos:\t0", &fi), 0);
	ck_assert_uint_eq(fi.pos, 0);
	ck_assert_uint_eq(fi.flags, 02004000);
	ck_assert_uint_eq(fi.flags, O_NONBLOCK | O_CLOEXEC);

	/* Spaces instead of tabs, and the largest values. */
	ck_assert_int_eq(fdinfo("pos: 18446744073709551615\nflags: 37777777777\n", &fi), 0);
	ck_assert_uint_eq(fi.pos, UINT64_MAX);
	ck_assert_uint_eq(fi.flags, 0xffffffffU);
}
END_TEST

START_TEST(fdinfo_live)
{
	char path[64], buf[4096];
	struct pp_fdinfo fi;
	int fd = open("/proc/self/stat", O_RDONLY | O_NONBLOCK | O_CLOEXEC), in;
	ssize_t r;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_gt(read(fd, buf, 10), 0);
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	in = open(path, O_RDONLY);
	ck_assert_int_ge(in, 0);
	r = read(in, buf, sizeof(buf));
	close(in);
	ck_assert_int_gt(r, 0);
	{
		struct gbuf g = gbuf_new(buf, (size_t)r);

		ck_assert_int_eq(pp_parse_fdinfo(g.data, g.len, &fi), 0);
		gbuf_free(&g);
	}
	ck_assert_uint_eq(fi.pos, 10);
	ck_assert_uint_eq(fi.flags & (O_ACCMODE | O_NONBLOCK | O_CLOEXEC),
			  O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	close(fd);
}
END_TEST

START_TEST(fdinfo_missing_fields)
{
	struct pp_fdinfo fi;

	ck_assert_int_ne(fdinfo("", &fi), 0);
	ck_assert_int_ne(fdinfo("\n\n", &fi), 0);
	ck_assert_int_ne(fdinfo("pos:\t12\n", &fi), 0);
	ck_assert_int_ne(fdinfo("flags:\t02\n", &fi), 0);
	ck_assert_int_ne(fdinfo("mnt_id:\t29\nino:\t1\n", &fi), 0);
	ck_assert_int_ne(fdinfo("pos:\nflags:\t02\n", &fi), 0);    /* empty pos */
	ck_assert_int_ne(fdinfo("pos:\t1\nflags:\n", &fi), 0);     /* empty flags */
	ck_assert_int_ne(fdinfo("pos:\t1\nflags:\t  \n", &fi), 0); /* blank flags */
	ck_assert_int_ne(fdinfo("pos:\t1\nflags:\t", &fi), 0);
	ck_assert_int_ne(fdinfo("pos:\tx\nflags:\t02\n", &fi), 0);
	ck_assert_int_ne(fdinfo("pos:\t18446744073709551616\nflags:\t02\n", &fi), 0);
	/* Keys must start the line. */
	ck_assert_int_ne(fdinfo(" pos:\t1\n flags:\t02\n", &fi), 0);
	ck_assert_int_ne(fdinfo("xpos:\t1\nflags:\t02\n", &fi), 0);
}
END_TEST

/* flags are octal: a value with no octal digit, or a hex/decimal one, is
 * not "no flags". */
static const char *const bad_fdinfo_flags[] = {
	"pos:\t0\nflags:\tzz\n",
	"pos:\t0\nflags:\t0x8002\n",
	"pos:\t0\nflags:\t0100009\n",
	"pos:\t0\nflags:\t-1\n",
	"pos:\t0\nflags:\t7777777777777777777777777\n", /* overflows even 64 bits */
};

START_TEST(fdinfo_bad_flags)
{
	const char *s = bad_fdinfo_flags[_i];
	struct pp_fdinfo fi;

	ck_assert_msg(fdinfo(s, &fi) != 0, "accepted \"%s\" as flags %#o", s, fi.flags);
}
END_TEST

START_TEST(fdinfo_every_prefix)
{
	const char *text = "pos:\t123\nflags:\t0100002\nmnt_id:\t29\n";
	struct pp_fdinfo fi;

	for (size_t n = 0; n <= strlen(text); n++) {
		struct gbuf g = gbuf_new(text, n);
		int r = pp_parse_fdinfo(g.data, g.len, &fi);

		if (n < strlen("pos:\t123\nflags:\t0"))
			ck_assert_msg(r != 0, "accepted fdinfo cut at %zu bytes", n);
		else
			ck_assert_msg(r == 0, "refused fdinfo cut at %zu bytes", n);
		gbuf_free(&g);
	}
}
END_TEST

/* ---- syscall ----------------------------------------------------------- */

START_TEST(syscall_running)
{
	struct pp_syscall sc;

	ck_assert_int_eq(sysc("running\n", &sc), 0);
	ck_assert_int_eq(sc.nr, -2);
	ck_assert_int_eq(sysc("running", &sc), 0);
	ck_assert_int_eq(sc.nr, -2);
}
END_TEST

START_TEST(syscall_not_in_syscall)
{
	struct pp_syscall sc;

	ck_assert_int_eq(sysc("-1 0x7ffd3c1a2b40 0x7f12aa0c3d1e\n", &sc), 0);
	ck_assert_int_eq(sc.nr, -1);
	ck_assert_uint_eq(sc.sp, 0x7ffd3c1a2b40ULL);
	ck_assert_uint_eq(sc.pc, 0x7f12aa0c3d1eULL);
	for (int i = 0; i < 6; i++)
		ck_assert_uint_eq(sc.args[i], 0);
}
END_TEST

START_TEST(syscall_full)
{
	struct pp_syscall sc;

	ck_assert_int_eq(sysc("202 0x55d0c0ffee00 0x80 0x0 0x0 0x0 0xffffffffffffffff "
			      "0x7ffd3c1a2b40 0x7f12aa0c3d1e\n",
			      &sc),
			 0);
	ck_assert_int_eq(sc.nr, 202);
	ck_assert_uint_eq(sc.args[0], 0x55d0c0ffee00ULL);
	ck_assert_uint_eq(sc.args[1], 0x80);
	ck_assert_uint_eq(sc.args[2], 0);
	ck_assert_uint_eq(sc.args[5], UINT64_MAX);
	ck_assert_uint_eq(sc.sp, 0x7ffd3c1a2b40ULL);
	ck_assert_uint_eq(sc.pc, 0x7f12aa0c3d1eULL);

	ck_assert_int_eq(sysc("0 0x3 0x7ffc00001000 0x10 0x0 0x0 0x0 0x7ffc00000f00 0x401000", &sc), 0);
	ck_assert_int_eq(sc.nr, 0);
	ck_assert_uint_eq(sc.args[0], 3);
	ck_assert_uint_eq(sc.pc, 0x401000);
	/* Upper-case digits. */
	ck_assert_int_eq(sysc("35 0xABC 0x0 0x0 0x0 0x0 0x0 0x1 0x2", &sc), 0);
	ck_assert_uint_eq(sc.args[0], 0xabc);
}
END_TEST

/* A child blocked in read(): its syscall file names read and the pipe. */
START_TEST(syscall_live_child)
{
	int p[2];
	pid_t pid;
	char path[64], buf[512];
	struct pp_syscall sc = {.nr = -2};

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char c;

		close(p[1]);
		_exit(read(p[0], &c, 1) == 1 ? 0 : 1);
	}
	close(p[0]);
	snprintf(path, sizeof(path), "/proc/%d/syscall", pid);
	for (int tries = 0; tries < 500; tries++) {
		int fd = open(path, O_RDONLY);
		ssize_t r;

		if (fd < 0)
			break; /* no CONFIG_HAVE_ARCH_TRACEHOOK or no access: nothing to check */
		r = read(fd, buf, sizeof(buf));
		close(fd);
		if (r <= 0)
			break;
		{
			struct gbuf g = gbuf_new(buf, (size_t)r);

			ck_assert_msg(pp_parse_syscall(g.data, g.len, &sc) == 0, "refused \"%.*s\"",
				      (int)r, buf);
			gbuf_free(&g);
		}
		if (sc.nr == SYS_read)
			break;
		usleep(2000);
	}
	if (sc.nr != -2) {
		ck_assert_int_eq(sc.nr, SYS_read);
		ck_assert_uint_eq(sc.args[0], (uint64_t)p[0]);
		ck_assert_uint_eq(sc.args[2], 1);
		ck_assert_uint_ne(sc.sp, 0);
		ck_assert_uint_ne(sc.pc, 0);
	}
	ck_assert_int_eq(write(p[1], "x", 1), 1);
	close(p[1]);
	{
		int st;

		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
}
END_TEST

static const char *const bad_syscall[] = {
	"",
	"\n",
	" ",
	"run",
	"-",
	"-1",
	"-1 ",
	"-1 0x1",
	"-1 0x1 ",
	"-1 0x1 0x",
	"-1 1 0x2",
	"-1 0x1 2",
	"-1 x1 0x2",
	"-x 0x1 0x2",
	"202",
	"202 0x1 0x2 0x3 0x4 0x5 0x6 0x7",	  /* pc missing */
	"202 0x1 0x2 0x3 0x4 0x5 0x6 0x7 ",
	"202 0x1 0x2 0x3 0x4 0x5 0x6 0x7 0x",
	"202 0x1 0x2 0x3 0x4 0x5 0x6 0x7 8",
	"202 1 0x2 0x3 0x4 0x5 0x6 0x7 0x8",
	"202 0xg 0x2 0x3 0x4 0x5 0x6 0x7 0x8",
	"202 0x11111111111111111 0x2 0x3 0x4 0x5 0x6 0x7 0x8", /* 17 digits */
	"x202 0x1 0x2 0x3 0x4 0x5 0x6 0x7 0x8",
	"0x1 0x2 0x3 0x4 0x5 0x6 0x7 0x8 0x9",
	"99999999999999999999 0x1 0x2 0x3 0x4 0x5 0x6 0x7 0x8", /* > u64 */
};

START_TEST(syscall_malformed)
{
	const char *s = bad_syscall[_i];
	struct pp_syscall sc;

	ck_assert_msg(sysc(s, &sc) != 0, "accepted syscall line \"%s\" (nr %ld)", s, sc.nr);
}
END_TEST

/* A number that is no syscall must not come back as one of the sentinels:
 * nr -2 means "running" and -1 "not in a syscall". */
static const char *const bad_syscall_nr[] = {
	"18446744073709551614 0x0 0x0 0x0 0x0 0x0 0x0 0x7ffd0000 0x401000", /* 2^64-2 -> -2 */
	"18446744073709551615 0x0 0x0 0x0 0x0 0x0 0x0 0x7ffd0000 0x401000", /* 2^64-1 -> -1 */
	"9223372036854775808 0x0 0x0 0x0 0x0 0x0 0x0 0x7ffd0000 0x401000",  /* 2^63 */
	"-9223372036854775808 0x7ffd0000 0x401000", /* -(long)2^63 overflows */
	"-18446744073709551615 0x7ffd0000 0x401000",
	"-2 0x7ffd0000 0x401000",
};

START_TEST(syscall_bad_numbers)
{
	const char *s = bad_syscall_nr[_i];
	struct pp_syscall sc;

	ck_assert_msg(sysc(s, &sc) != 0, "accepted syscall line \"%s\" as nr %ld", s, sc.nr);
}
END_TEST

START_TEST(syscall_every_prefix)
{
	const char *full = "202 0x1 0x2 0x3 0x4 0x5 0x6 0x7ffd0000 0x401000";
	const char *neg = "-1 0x7ffd0000 0x401000";
	struct pp_syscall sc;

	for (size_t n = 0; n < strlen(full) - strlen("401000"); n++) {
		struct gbuf g = gbuf_new(full, n);

		ck_assert_msg(pp_parse_syscall(g.data, g.len, &sc) != 0, "accepted %zu bytes", n);
		gbuf_free(&g);
	}
	for (size_t n = 0; n < strlen(neg) - strlen("401000"); n++) {
		struct gbuf g = gbuf_new(neg, n);

		ck_assert_msg(pp_parse_syscall(g.data, g.len, &sc) != 0, "accepted %zu bytes", n);
		gbuf_free(&g);
	}
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- smaps: header lines and VmFlags ------------------------------------ */

START_TEST(smaps_header_or_key)
{
	static const char hdr[] = "7f0000000000-7f0000001000 rw-p 00000000 00:00 0";

	ck_assert(pp_smaps_is_header(hdr, strlen(hdr)));
	ck_assert(!pp_smaps_is_header("Rss:                   4 kB", 27));
	ck_assert(!pp_smaps_is_header("VmFlags: rd wr mr mw me ac", 26));
	ck_assert(!pp_smaps_is_header("", 0));
}
END_TEST

START_TEST(vmflags_known_bits)
{
	static const char line[] = "VmFlags: rd wr mr mw me gd ac hg dc dd wf";
	uint32_t flags = 0;

	ck_assert_int_eq(pp_parse_vmflags(line, strlen(line), &flags), 0);
	ck_assert_uint_eq(flags, PP_VM_GROWSDOWN | PP_VM_HUGEPAGE | PP_VM_DONTFORK |
					 PP_VM_DONTDUMP | PP_VM_WIPEONFORK);
	static const char nh[] = "VmFlags: rd wr nh";
	ck_assert_int_eq(pp_parse_vmflags(nh, strlen(nh), &flags), 0);
	ck_assert_uint_eq(flags, PP_VM_NOHUGEPAGE);
	static const char none[] = "VmFlags: rd ex mr mw me";
	ck_assert_int_eq(pp_parse_vmflags(none, strlen(none), &flags), 0);
	ck_assert_uint_eq(flags, 0);
}
END_TEST

START_TEST(vmflags_not_a_flags_line)
{
	uint32_t flags = 77;

	ck_assert_int_eq(pp_parse_vmflags("Rss: 4 kB", 9, &flags), -1);
	ck_assert_int_eq(pp_parse_vmflags("VmFlag", 6, &flags), -1);
	ck_assert_uint_eq(flags, 77);
	/* A code cut in half is not a flag. */
	ck_assert_int_eq(pp_parse_vmflags("VmFlags: h", 10, &flags), 0);
	ck_assert_uint_eq(flags, 0);
}
END_TEST

/* crload --lazy's ranges show "um" in smaps; "uw" (the tracker's) and a
 * name that ends in "um" are not it. */
START_TEST(smaps_missing_mode)
{
	static const char lazy[] = "7f00-7f10 rw-p 00000000 00:00 0\n"
				   "Rss: 4 kB\n"
				   "VmFlags: rd wr mr mw me ac um\n";
	static const char last[] = "VmFlags: rd wr um";
	static const char tracked[] = "7f00-7f10 rw-p 00000000 00:00 0 /tmp/um\n"
				      "VmFlags: rd wr uw umx\n";

	ck_assert(pp_smaps_missing_mode(lazy, strlen(lazy)));
	ck_assert(pp_smaps_missing_mode(last, strlen(last)));
	ck_assert(!pp_smaps_missing_mode(tracked, strlen(tracked)));
	ck_assert(!pp_smaps_missing_mode("", 0));
}
END_TEST

/* Live: a MADV_HUGEPAGE mapping of this process shows "hg" in smaps. */
START_TEST(vmflags_live_self)
{
	size_t len = 4 << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char want[32], line[1024];
	FILE *f;
	bool in = false, seen = false;

	ck_assert_ptr_ne(p, MAP_FAILED);
	ck_assert_int_eq(madvise(p, len, MADV_HUGEPAGE), 0);
	snprintf(want, sizeof(want), "%lx-", (unsigned long)p);
	f = fopen("/proc/self/smaps", "re");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f)) {
		size_t n = strcspn(line, "\n");
		uint32_t flags;

		if (pp_smaps_is_header(line, n))
			in = !strncmp(line, want, strlen(want));
		else if (in && pp_parse_vmflags(line, n, &flags) == 0) {
			ck_assert(flags & PP_VM_HUGEPAGE);
			seen = true;
		}
	}
	fclose(f);
	munmap(p, len);
	ck_assert(seen);
}
END_TEST

/* ---- fdinfo fields of eventfd, timerfd, signalfd, epoll ---------------- */

START_TEST(fdinfo_fields)
{
	static const char ev[] = "pos:\t0\nflags:\t04002\neventfd-count:               1f\n"
				 "eventfd-id: 1\neventfd-semaphore: 1\n";
	static const char tf[] = "clockid: 1\nticks: 3\nsettime flags: 00\n"
				 "it_value: (0, 499999990)\nit_interval: (12, 0)\n";
	uint64_t v, pair[2];

	ck_assert_int_eq(pp_fdinfo_field(ev, strlen(ev), "eventfd-count:", 16, &v), 0);
	ck_assert_uint_eq(v, 0x1f);
	ck_assert_int_eq(pp_fdinfo_field(ev, strlen(ev), "eventfd-semaphore:", 10, &v), 0);
	ck_assert_uint_eq(v, 1);
	ck_assert_int_eq(pp_fdinfo_field(ev, strlen(ev), "sigmask:", 16, &v), -1);
	ck_assert_int_eq(pp_fdinfo_field(tf, strlen(tf), "ticks:", 10, &v), 0);
	ck_assert_uint_eq(v, 3);
	ck_assert_int_eq(pp_fdinfo_pair(tf, strlen(tf), "it_value:", pair), 0);
	ck_assert_uint_eq(pair[0], 0);
	ck_assert_uint_eq(pair[1], 499999990);
	ck_assert_int_eq(pp_fdinfo_pair(tf, strlen(tf), "it_interval:", pair), 0);
	ck_assert_uint_eq(pair[0], 12);
	/* Malformed values are errors, not zeros. */
	ck_assert_int_eq(pp_fdinfo_field("ticks: 3x\n", 10, "ticks:", 10, &v), -1);
	ck_assert_int_eq(pp_fdinfo_field("ticks:\n", 7, "ticks:", 10, &v), -1);
	ck_assert_int_eq(pp_fdinfo_pair("it_value: (1 2)\n", 16, "it_value:", pair), -1);
	ck_assert_int_eq(pp_fdinfo_pair("it_value: (1, 1000000000)\n", 26, "it_value:", pair), -1);
}
END_TEST

START_TEST(epoll_target_lines)
{
	static const char good[] = "tfd:        3 events: 80000019 data:                3  pos:0 ino:67a0a sdev:f";
	struct pp_epoll_target t;

	ck_assert_int_eq(pp_parse_epoll_target(good, strlen(good), &t), 0);
	ck_assert_int_eq(t.tfd, 3);
	ck_assert_uint_eq(t.events, 0x80000019);
	ck_assert_uint_eq(t.data, 3);
	static const char max[] = "tfd: 3 events: 1 data: ffffffffffffffff";
	ck_assert_int_eq(pp_parse_epoll_target(max, strlen(max), &t), 0);
	ck_assert_uint_eq(t.data, UINT64_MAX);
	ck_assert_int_eq(pp_parse_epoll_target("tfd: 3 events: 1", 16, &t), -1);
	ck_assert_int_eq(pp_parse_epoll_target("tfd: x events: 1 data: 1", 24, &t), -1);
	ck_assert_int_eq(pp_parse_epoll_target("tfd: 3 events: 100000000 data: 1", 32, &t), -1);
	ck_assert_int_eq(pp_parse_epoll_target("tfd: 3 events: 1 data: 1z", 25, &t), -1);
	ck_assert_int_eq(pp_parse_epoll_target("pos: 0", 6, &t), -1);
}
END_TEST

START_TEST(inotify_lines)
{
	static const char full[] = "inotify wd:1f ino:a72141 sdev:fe00005 mask:84000100 "
				   "ignored_mask:0 fhandle-bytes:8 fhandle-type:1 "
				   "f_handle:4121a700a57e49b2";
	static const char bare[] = "inotify wd:2 ino:141642 sdev:f mask:fff ignored_mask:0";
	struct pp_inotify_watch w;

	ck_assert_int_eq(pp_parse_inotify_line(full, strlen(full), &w), 0);
	ck_assert_int_eq(w.wd, 0x1f);
	ck_assert_uint_eq(w.ino, 0xa72141);
	ck_assert_uint_eq(w.sdev_major, 0xfe);
	ck_assert_uint_eq(w.sdev_minor, 5);
	ck_assert_uint_eq(w.mask, 0x84000100);
	ck_assert_uint_eq(w.handle_bytes, 8);
	ck_assert_int_eq(w.handle_type, 1);
	ck_assert_uint_eq(w.handle[0], 0x41);
	ck_assert_uint_eq(w.handle[7], 0xb2);
	ck_assert_int_eq(pp_parse_inotify_line(bare, strlen(bare), &w), 0);
	ck_assert_uint_eq(w.handle_bytes, 0);
	static const char *const bad[] = {
		"inotify wd:80000000 ino:1 sdev:1 mask:1 ignored_mask:0",
		"inotify wd:1 ino:1 sdev:1 mask:100000000 ignored_mask:0",
		"inotify wd:1 ino:1 sdev:1 mask:1",
		"inotify wd:1 ino:1 sdev:1 mask:1 ignored_mask:0 fhandle-bytes:8 "
		"fhandle-type:1 f_handle:4121a7",
		"inotify wd:1 ino:1 sdev:1 mask:1 ignored_mask:0 fhandle-bytes:81 "
		"fhandle-type:1 f_handle:41",
		"inotify wd:1 ino:1 sdev:1 mask:1 ignored_mask:0 fhandle-bytes:1 "
		"fhandle-type:1 f_handle:4x",
		"inotify wd:1 ino:1 sdev:1 mask:1 ignored_mask:0 junk",
		"fanotify flags:0 event-flags:0",
		"pos:\t0",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(pp_parse_inotify_line(bad[i], strlen(bad[i]), &w) == -1, "%s", bad[i]);
}
END_TEST

START_TEST(mountinfo_lines)
{
	static const char root[] = "24 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw";
	static const char bind[] = "40 24 0:45 /sub /mnt/a\\040b\\134 rw - tmpfs tmpfs rw";
	struct pp_mount m;
	char mnt[32];

	ck_assert_int_eq(pp_parse_mountinfo_line(root, strlen(root), &m, mnt, sizeof(mnt)), 0);
	ck_assert(m.major == 254 && m.minor == 0 && m.whole);
	ck_assert_str_eq(mnt, "/");
	ck_assert_int_eq(pp_parse_mountinfo_line(bind, strlen(bind), &m, mnt, sizeof(mnt)), 0);
	ck_assert(m.major == 0 && m.minor == 45 && !m.whole);
	ck_assert_str_eq(mnt, "/mnt/a b\\");
	ck_assert_int_eq(pp_parse_mountinfo_line(bind, strlen(bind), &m, mnt, 8), -1);
	ck_assert_int_eq(pp_parse_mountinfo_line("24 1 254 / /", 12, &m, mnt, sizeof(mnt)), -1);
	ck_assert_int_eq(pp_parse_mountinfo_line("24 1 1:2 / x", 12, &m, mnt, sizeof(mnt)), -1);
}
END_TEST

START_TEST(lock_lines)
{
	static const char posix[] = "lock:\t1: POSIX  ADVISORY  WRITE 23806 fe:00:10956418 5 14";
	static const char flk[] = "lock:\t2: FLOCK  ADVISORY  READ 23806 fe:00:10956433 0 EOF";
	static const char ofd[] = "lock:\t3: OFDLCK ADVISORY  READ -1 00:1d:42 0 EOF";
	struct pp_lock lk;

	ck_assert_int_eq(pp_parse_lock_line(posix, strlen(posix), &lk), 0);
	ck_assert_int_eq(lk.type, PP_LOCK_POSIX);
	ck_assert(lk.write && !lk.to_eof);
	ck_assert_uint_eq(lk.start, 5);
	ck_assert_uint_eq(lk.end, 14);
	ck_assert_int_eq(pp_parse_lock_line(flk, strlen(flk), &lk), 0);
	ck_assert(lk.type == PP_LOCK_FLOCK && !lk.write && lk.to_eof);
	ck_assert_int_eq(pp_parse_lock_line(ofd, strlen(ofd), &lk), 0);
	ck_assert_int_eq(lk.type, PP_LOCK_OFD);
	/* What cannot be restored is refused: leases, mandatory, garbage. */
	static const char *const bad[] = {
		"lock:\t1: LEASE  ACTIVE    READ 1 fe:00:1 0 EOF",
		"lock:\t1: POSIX  MANDATORY WRITE 1 fe:00:1 0 EOF",
		"lock:\t1: POSIX  ADVISORY  WRITE 1 fe:00:1 9 5",
		"lock:\t1: POSIX  ADVISORY  WRITEX 1 fe:00:1 0 EOF",
		"lock:\t1: POSIX  ADVISORY  WRITE 1 fe:00:1 0",
		"lock: POSIX ADVISORY WRITE 1 fe:00:1 0 EOF",
		"pos:\t0",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(pp_parse_lock_line(bad[i], strlen(bad[i]), &lk) == -1, "accepted %s",
			      bad[i]);
}
END_TEST

START_TEST(locks_owner_lines)
{
	static const char posix[] = "1: POSIX  ADVISORY  WRITE 23806 fe:00:10956418 5 14";
	static const char ofd[] = "3: OFDLCK ADVISORY  READ -1 00:1d:42 0 EOF";
	static const char waiter[] = "1: -> POSIX  ADVISORY  WRITE 99 fe:00:7 0 EOF";
	struct pp_lock_owner o;

	ck_assert_int_eq(pp_parse_locks_owner(posix, strlen(posix), &o), 0);
	ck_assert_int_eq(o.pid, 23806);
	ck_assert_uint_eq(o.major, 0xfe);
	ck_assert_uint_eq(o.minor, 0);
	ck_assert_uint_eq(o.ino, 10956418);
	ck_assert_int_eq(pp_parse_locks_owner(ofd, strlen(ofd), &o), 0);
	ck_assert_int_eq(o.pid, -1);
	ck_assert_uint_eq(o.minor, 0x1d);
	ck_assert_int_eq(pp_parse_locks_owner(waiter, strlen(waiter), &o), -1);
	ck_assert_int_eq(pp_parse_locks_owner("1: POSIX ADVISORY WRITE", 23, &o), -1);
	ck_assert_int_eq(pp_parse_locks_owner("garbage", 7, &o), -1);
}
END_TEST

/* /proc/PID/net/netlink, as Linux 6.18 writes it (trailing spaces too). */
START_TEST(netlink_lines)
{
	static const char head[] =
		"sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode";
	static const char idle[] =
		"000000002bcdbb5b 0   0          00000000 0        0        0     2        0        4       ";
	static const char busy[] =
		"00000000741b27b9 0   31789      00000011 4352     0        1     2        0        8343050 ";
	static const char *const bad[] = {
		"00000000741b27b9 0   31789      00000011 4352     0        2     2        0        8",
		"00000000741b27b9 0   31789      00000011 4352     0        1     2        0",
		"00000000741b27b9 x   31789      00000011 4352     0        1     2        0        8",
	};
	struct pp_netlink n;

	ck_assert_int_eq(pp_parse_netlink_line(head, strlen(head), &n), -1);
	ck_assert_int_eq(pp_parse_netlink_line(idle, strlen(idle), &n), 0);
	ck_assert(!n.dumping);
	ck_assert_uint_eq(n.ino, 4);
	ck_assert_int_eq(pp_parse_netlink_line(busy, strlen(busy), &n), 0);
	ck_assert(n.dumping);
	ck_assert_uint_eq(n.protocol, 0);
	ck_assert_uint_eq(n.portid, 31789);
	ck_assert_uint_eq(n.ino, 8343050);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(pp_parse_netlink_line(bad[i], strlen(bad[i]), &n) == -1,
			      "accepted %s", bad[i]);
}
END_TEST

START_TEST(sysv_shm_lines)
{
	static const char head[] = "       key      shmid perms                  size  cpid  lpid "
				   "nattch   uid   gid  cuid  cgid      atime      dtime      ctime"
				   "                   rss                  swap";
	static const char line[] = "1543503872          5  1640                 12388  4242  4243 "
				   "     2     0     0     0     0 1700000000          0 1700000000"
				   "                  8192                     0";
	static const char neg[] = "-559038737      32769   600 4096 1 1 0 0 0 0 0 0 0 0 0 0";
	struct pp_sysv_shm sh;

	ck_assert_int_eq(pp_parse_sysv_shm_line(head, strlen(head), &sh), -1);
	ck_assert_int_eq(pp_parse_sysv_shm_line(line, strlen(line), &sh), 0);
	ck_assert_int_eq(sh.key, 0x5c000000);
	ck_assert_uint_eq(sh.id, 5);
	ck_assert_uint_eq(sh.mode, 01640);
	ck_assert_uint_eq(sh.size, 12388);
	ck_assert_uint_eq(sh.nattch, 2);
	ck_assert_int_eq(pp_parse_sysv_shm_line(neg, strlen(neg), &sh), 0);
	ck_assert_int_eq(sh.key, (int32_t)0xdeadbeef);
	ck_assert_uint_eq(sh.id, 32769);
	ck_assert_int_eq(pp_parse_sysv_shm_line("1 2 999 4096 1 1 0", 18, &sh), -1);
	ck_assert_int_eq(pp_parse_sysv_shm_line("1 2 600 4096 1 1", 16, &sh), -1);
	ck_assert_int_eq(pp_parse_sysv_shm_line("3000000000 2 600 1 1 1 0", 25, &sh), -1);
	for (size_t n = 0; n < 40; n++)
		ck_assert_int_eq(pp_parse_sysv_shm_line(line, n, &sh), -1);
}
END_TEST

START_TEST(timer_records)
{
	static const char two[] = "ID: 3\nsignal: 35/0000000000000007\nnotify: signal/pid.4242\n"
				  "ClockID: 1\nID: 4\nsignal: 36/00007f0000001000\n"
				  "notify: signal/tid.4243\nClockID: -6\n";
	static const char none[] = "ID: 0\nsignal: 0/0000000000000000\nnotify: none/pid.9\n"
				   "ClockID: 7\n";
	struct pp_timer t;
	size_t pos = 0;

	ck_assert_int_eq(pp_next_timer(two, strlen(two), &pos, &t), 1);
	ck_assert_int_eq(t.id, 3);
	ck_assert_int_eq(t.signo, 35);
	ck_assert_uint_eq(t.sigev_value, 7);
	ck_assert_uint_eq(t.notify, 0);
	ck_assert_int_eq(t.notify_pid, 4242);
	ck_assert_int_eq(t.clock, 1);
	ck_assert_int_eq(pp_next_timer(two, strlen(two), &pos, &t), 1);
	ck_assert_int_eq(t.id, 4);
	ck_assert_uint_eq(t.sigev_value, 0x7f0000001000ULL);
	ck_assert_uint_eq(t.notify, 4); /* SIGEV_SIGNAL | SIGEV_THREAD_ID */
	ck_assert_int_eq(t.notify_pid, 4243);
	ck_assert_int_eq(t.clock, -6);
	ck_assert_int_eq(pp_next_timer(two, strlen(two), &pos, &t), 0);
	pos = 0;
	ck_assert_int_eq(pp_next_timer(none, strlen(none), &pos, &t), 1);
	ck_assert_uint_eq(t.notify, 1);
	/* Cut anywhere inside a record, or garbled: not a timer. */
	for (size_t n = 1; n < strlen(none) - 1; n++) {
		pos = 0;
		ck_assert_int_eq(pp_next_timer(none, n, &pos, &t), -1);
	}
	pos = 0;
	ck_assert_int_eq(pp_next_timer("ID: -1\n", 7, &pos, &t), -1);
	pos = 0;
	ck_assert_int_eq(pp_next_timer("ID: 1\nsignal: 65/0\n", 20, &pos, &t), -1);
}
END_TEST

/* The credential lines of a status file, with what surrounds them. */
static const char status_creds[] = "Name:\tsleep\nUmask:\t0022\nTgid:\t7\n"
				   "Uid:\t1000\t1001\t1002\t1003\nGid:\t100\t101\t102\t103\n"
				   "FDSize:\t64\nGroups:\t4 27 4294967294 \nNSpid:\t7\n"
				   "CapInh:\t0000000000002000\nCapPrm:\t0000000002002001\n"
				   "CapEff:\t0000000000002000\nCapBnd:\t000001ffffffffff\n"
				   "CapAmb:\t0000000000002000\nNoNewPrivs:\t1\nSeccomp:\t0\n";

START_TEST(status_creds_lines)
{
	struct gbuf g = gbuf_str(status_creds);
	struct pp_creds c;
	uint32_t groups[3];

	ck_assert_int_eq(pp_parse_status_creds(g.data, g.len, &c, NULL, 0), 0);
	ck_assert_uint_eq(c.n_groups, 3);
	ck_assert_int_eq(pp_parse_status_creds(g.data, g.len, &c, groups, 2), -1);
	ck_assert_int_eq(pp_parse_status_creds(g.data, g.len, &c, groups, 3), 0);
	ck_assert_uint_eq(c.uid[0], 1000);
	ck_assert_uint_eq(c.uid[3], 1003);
	ck_assert_uint_eq(c.gid[1], 101);
	ck_assert_uint_eq(groups[0], 4);
	ck_assert_uint_eq(groups[2], 4294967294U);
	ck_assert_uint_eq(c.caps[PP_CAP_INH], 0x2000);
	ck_assert_uint_eq(c.caps[PP_CAP_PRM], 0x2002001);
	ck_assert_uint_eq(c.caps[PP_CAP_BND], 0x1ffffffffffULL);
	ck_assert_uint_eq(c.caps[PP_CAP_AMB], 0x2000);
	ck_assert(c.no_new_privs);
	gbuf_free(&g);
}
END_TEST

/* A line missing or malformed: refused, never half read. */
START_TEST(status_creds_malformed)
{
	static const char *const bad[] = {
		"Uid:\t1 2 3\nGid:\t1 2 3 4\nGroups:\t\nCapInh:\t0\nCapPrm:\t0\nCapEff:\t0\n"
		"CapBnd:\t0\nCapAmb:\t0\nNoNewPrivs:\t0\n",
		"Uid:\t1 2 3 4\nGid:\t1 2 3 4\nGroups:\tx\nCapInh:\t0\nCapPrm:\t0\nCapEff:\t0\n"
		"CapBnd:\t0\nCapAmb:\t0\nNoNewPrivs:\t0\n",
		"Uid:\t1 2 3 4294967296\nGid:\t1 2 3 4\nGroups:\t\nCapInh:\t0\nCapPrm:\t0\n"
		"CapEff:\t0\nCapBnd:\t0\nCapAmb:\t0\nNoNewPrivs:\t0\n",
		"Uid:\t1 2 3 4\nGid:\t1 2 3 4\nGroups:\t\nCapInh:\t0\nCapPrm:\t0\nCapEff:\t0\n"
		"CapBnd:\t0\nNoNewPrivs:\t0\n",
		"Uid:\t1 2 3 4\nGid:\t1 2 3 4\nGroups:\t\nCapInh:\t0\nCapPrm:\t0\nCapEff:\t0\n"
		"CapBnd:\t0\nCapAmb:\t0\nNoNewPrivs:\t2\n",
	};
	struct pp_creds c;

	for (size_t i = 0; i < N(bad); i++)
		ck_assert_int_eq(pp_parse_status_creds(bad[i], strlen(bad[i]), &c, NULL, 0), -1);
	for (size_t n = 0; n < sizeof(status_creds) - 1; n++) {
		struct gbuf g = gbuf_new(status_creds, n);

		/* Every prefix that ends before NoNewPrivs' value lacks a line. */
		if (n < strlen(status_creds) - strlen("1\nSeccomp:\t0\n"))
			ck_assert_int_eq(pp_parse_status_creds(g.data, g.len, &c, NULL, 0), -1);
		gbuf_free(&g);
	}
}
END_TEST

/* This process's own status file, against getresuid(2) and friends. */
START_TEST(status_creds_live_self)
{
	char buf[8192];
	FILE *f = fopen("/proc/self/status", "r");
	size_t len = fread(buf, 1, sizeof(buf), f);
	uid_t ru, eu, su;
	struct pp_creds c;

	fclose(f);
	ck_assert_int_eq(pp_parse_status_creds(buf, len, &c, NULL, 0), 0);
	getresuid(&ru, &eu, &su);
	ck_assert_uint_eq(c.uid[0], ru);
	ck_assert_uint_eq(c.uid[1], eu);
	ck_assert_uint_eq(c.uid[2], su);
	ck_assert_uint_eq(c.n_groups, (size_t)getgroups(0, NULL));
}
END_TEST

/* Room for a snapshot's copies on machines and cgroups of several kinds. */
START_TEST(memory_room_table)
{
	static const char meminfo[] = "MemTotal:       16000000 kB\n"
				      "MemFree:          500000 kB\n"
				      "MemAvailable:    8000000 kB\n"
				      "Buffers:           1000 kB\n";
	static const struct {
		const char *max, *current;
		int ret;
		uint64_t room;
	} cases[] = {
		{ NULL, NULL, 0, 8000000ULL * 1024 }, /* no cgroup known */
		{ "max\n", "123456\n", 0, 8000000ULL * 1024 }, /* unlimited */
		{ "1073741824\n", "268435456\n", 0, 805306368 }, /* 1 GiB, 256 MiB used */
		{ "1073741824\n", "1073741824\n", 0, 0 }, /* at its limit */
		{ "1073741824\n", "2147483648\n", 0, 0 }, /* over it (lowered since) */
		{ "99999999999999\n", "1\n", 0, 8000000ULL * 1024 }, /* the machine's is less */
		{ "9223372036854771712\n", "4096\n", 0, 8000000ULL * 1024 }, /* v1 unlimited */
		{ "lots\n", "1\n", -1, 0 },
		{ "1024\n", "x\n", -1, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t room = 12345;
		const char *mx = cases[i].max, *cur = cases[i].current;
		int r = pp_memory_room(meminfo, sizeof(meminfo) - 1, mx, mx ? strlen(mx) : 0, cur,
				       cur ? strlen(cur) : 0, &room);

		ck_assert_msg(r == cases[i].ret, "case %zu: %d", i, r);
		if (!r)
			ck_assert_msg(room == cases[i].room, "case %zu: room %llu", i,
				      (unsigned long long)room);
	}
	/* A kernel without MemAvailable (before 3.14): nothing to go by. */
	ck_assert_int_eq(pp_memory_room("MemTotal: 1 kB\n", 15, NULL, 0, NULL, 0, &(uint64_t){ 0 }),
			 -1);
}
END_TEST

START_TEST(kb_fields)
{
	static const char rollup[] = "55d0c0000000-7ffd00000000 ---p 00000000 00:00 0   [rollup]\n"
				     "Rss:               10240 kB\n"
				     "Anonymous:          2048 kB\n"
				     "AnonHugePages:         0 kB\n";
	uint64_t v;

	ck_assert_int_eq(pp_kb_field(rollup, sizeof(rollup) - 1, "Anonymous:", &v), 0);
	ck_assert_uint_eq(v, 2048 * 1024);
	ck_assert_int_eq(pp_kb_field(rollup, sizeof(rollup) - 1, "Swap:", &v), -1);
	ck_assert_int_eq(pp_kb_field("Anonymous: 12 MB\n", 17, "Anonymous:", &v), -1);
	ck_assert_int_eq(pp_kb_field("Anonymous: 7\n", 13, "Anonymous:", &v), 0);
	ck_assert_uint_eq(v, 7 * 1024);
}
END_TEST

START_TEST(memory_cgroup_paths)
{
	static const struct {
		const char *text, *path;
		bool v1;
	} cases[] = {
		{ "0::/user.slice/user-0.slice/session-3.scope\n",
		  "/user.slice/user-0.slice/session-3.scope", false },
		/* hybrid: the v1 memory controller limits */
		{ "9:name=systemd:/\n4:memory:/process_api/5a88\n3:cpuset:/\n0::/\n",
		  "/process_api/5a88", true },
		{ "0::/job_42/step_0\n12:cpu,cpuacct:/x\n", "/job_42/step_0", false },
		{ "5:blkio,memory:/slurm/uid_0/job_1\n", "/slurm/uid_0/job_1", true },
		{ "4:memoryless:/a\n", NULL, false },
		{ "3:cpuset:/\n", NULL, false },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *p;
		size_t n;
		bool v1 = !cases[i].v1;
		int r = pp_parse_memory_cgroup(cases[i].text, strlen(cases[i].text), &p, &n, &v1);

		if (!cases[i].path) {
			ck_assert_msg(r == -1, "case %zu", i);
			continue;
		}
		ck_assert_msg(r == 0, "case %zu", i);
		ck_assert_msg(n == strlen(cases[i].path) && !memcmp(p, cases[i].path, n),
			      "case %zu: %.*s", i, (int)n, p);
		ck_assert_msg(v1 == cases[i].v1, "case %zu: v1 %d", i, v1);
	}
}
END_TEST

static Suite *procparse_suite(void)
{
	Suite *s = suite_create("procparse");
	TCase *tc;

	tc = tcase_create("next_line");
	tcase_add_test(tc, next_line_split);
	tcase_add_test(tc, next_line_empty_and_trailing_newline);
	suite_add_tcase(s, tc);

	tc = tcase_create("maps");
	tcase_add_test(tc, maps_anonymous);
	tcase_add_test(tc, maps_file_backed);
	tcase_add_test(tc, maps_path_with_spaces);
	tcase_add_test(tc, maps_deleted);
	tcase_add_test(tc, maps_special);
	tcase_add_test(tc, maps_shared);
	tcase_add_test(tc, maps_big_numbers);
	tcase_add_loop_test(tc, maps_malformed, 0, N(bad_maps));
	tcase_add_test(tc, maps_every_prefix);
	tcase_add_loop_test(tc, maps_malformed_columns, 0, N(bad_maps_strict));
	tcase_add_test(tc, maps_live_self);
	suite_add_tcase(s, tc);

	tc = tcase_create("stat");
	tcase_add_test(tc, stat_basic);
	tcase_add_test(tc, stat_comm_spaces_and_parens);
	tcase_add_test(tc, stat_negative_fields);
	tcase_add_test(tc, stat_zombie_status);
	tcase_add_test(tc, stat_live_self);
	tcase_add_test(tc, stat_malformed);
	tcase_add_test(tc, stat_every_prefix);
	suite_add_tcase(s, tc);

	tc = tcase_create("fdinfo");
	tcase_add_test(tc, fdinfo_basic);
	tcase_add_test(tc, fdinfo_live);
	tcase_add_test(tc, fdinfo_missing_fields);
	tcase_add_loop_test(tc, fdinfo_bad_flags, 0, N(bad_fdinfo_flags));
	tcase_add_test(tc, fdinfo_every_prefix);
	suite_add_tcase(s, tc);

	tc = tcase_create("syscall");
	tcase_add_test(tc, syscall_running);
	tcase_add_test(tc, syscall_not_in_syscall);
	tcase_add_test(tc, syscall_full);
	tcase_add_test(tc, syscall_live_child);
	tcase_add_loop_test(tc, syscall_malformed, 0, N(bad_syscall));
	tcase_add_loop_test(tc, syscall_bad_numbers, 0, N(bad_syscall_nr));
	tcase_add_test(tc, syscall_every_prefix);
	suite_add_tcase(s, tc);

	tc = tcase_create("fdinfo_kinds");
	tcase_add_test(tc, fdinfo_fields);
	tcase_add_test(tc, epoll_target_lines);
	tcase_add_test(tc, lock_lines);
	tcase_add_test(tc, inotify_lines);
	tcase_add_test(tc, mountinfo_lines);
	tcase_add_test(tc, locks_owner_lines);
	tcase_add_test(tc, sysv_shm_lines);
	tcase_add_test(tc, netlink_lines);
	tcase_add_test(tc, timer_records);
	suite_add_tcase(s, tc);

	tc = tcase_create("status");
	tcase_add_test(tc, status_creds_lines);
	tcase_add_test(tc, status_creds_malformed);
	tcase_add_test(tc, status_creds_live_self);
	suite_add_tcase(s, tc);

	tc = tcase_create("smaps");
	tcase_add_test(tc, smaps_header_or_key);
	tcase_add_test(tc, vmflags_known_bits);
	tcase_add_test(tc, vmflags_not_a_flags_line);
	tcase_add_test(tc, smaps_missing_mode);
	tcase_add_test(tc, vmflags_live_self);
	suite_add_tcase(s, tc);

	tc = tcase_create("memory");
	tcase_add_test(tc, memory_room_table);
	tcase_add_test(tc, kb_fields);
	tcase_add_test(tc, memory_cgroup_paths);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(procparse_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
