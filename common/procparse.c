// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "procparse.h"
#include "selfckpt/kernel.h"

const char *pp_next_line(const char *buf, size_t len, size_t *pos, size_t *line_len)
{
	size_t start = *pos, end = start;

	if (start >= len)
		return NULL;
	while (end < len && buf[end] != '\n')
		end++;
	*line_len = end - start;
	*pos = end < len ? end + 1 : end;
	return buf + start;
}

static int hex_u64(const char **p, const char *end, uint64_t *v)
{
	uint64_t x = 0;
	int n = 0;

	while (*p < end) {
		char c = **p;
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			break;
		if (n == 16)
			return -ERANGE;
		x = x << 4 | d;
		n++;
		(*p)++;
	}
	*v = x;
	return n ? 0 : -EINVAL;
}

static int dec_u64(const char **p, const char *end, uint64_t *v)
{
	uint64_t x = 0;
	int n = 0;

	while (*p < end && **p >= '0' && **p <= '9') {
		unsigned d = (unsigned)(**p - '0');

		if (x > (UINT64_MAX - d) / 10)
			return -ERANGE;
		x = x * 10 + d;
		n++;
		(*p)++;
	}
	*v = x;
	return n ? 0 : -EINVAL;
}

static int expect(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return -EINVAL;
	(*p)++;
	return 0;
}

static void skip_spaces(const char **p, const char *end)
{
	while (*p < end && (**p == ' ' || **p == '\t'))
		(*p)++;
}

int pp_parse_maps_line(const char *line, size_t len, struct pp_map *m)
{
	const char *p = line, *end = line + len;
	static const char deleted[] = " (deleted)";
	uint64_t v;

	memset(m, 0, sizeof(*m));
	if (hex_u64(&p, end, &m->start) || expect(&p, end, '-') || hex_u64(&p, end, &m->end) ||
	    expect(&p, end, ' '))
		return -EINVAL;
	if (m->end <= m->start || end - p < 5)
		return -EINVAL;
	if ((p[0] != 'r' && p[0] != '-') || (p[1] != 'w' && p[1] != '-') ||
	    (p[2] != 'x' && p[2] != '-') || (p[3] != 's' && p[3] != 'p'))
		return -EINVAL;
	m->prot = (p[0] == 'r' ? PROT_READ : 0) | (p[1] == 'w' ? PROT_WRITE : 0) |
		  (p[2] == 'x' ? PROT_EXEC : 0);
	m->shared = p[3] == 's';
	p += 4;
	if (expect(&p, end, ' ') || hex_u64(&p, end, &m->pgoff) || expect(&p, end, ' ') ||
	    hex_u64(&p, end, &v) || expect(&p, end, ':'))
		return -EINVAL;
	m->dev_major = (uint32_t)v;
	if (hex_u64(&p, end, &v) || expect(&p, end, ' ') || dec_u64(&p, end, &m->ino))
		return -EINVAL;
	if (p < end && *p != ' ')
		return -EINVAL;
	m->dev_minor = (uint32_t)v;
	skip_spaces(&p, end);
	if (p < end) {
		m->path = p;
		m->path_len = (size_t)(end - p);
		if (m->path_len > sizeof(deleted) - 1 && m->path[0] == '/' &&
		    !memcmp(end - (sizeof(deleted) - 1), deleted, sizeof(deleted) - 1)) {
			m->deleted = true;
			m->path_len -= sizeof(deleted) - 1;
		}
	}
	return 0;
}

bool pp_smaps_is_header(const char *line, size_t len)
{
	/* Header lines start with a lowercase hex address, keys with a capital. */
	return len > 0 && ((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f'));
}

int pp_parse_vmflags(const char *line, size_t len, uint32_t *flags)
{
	static const struct {
		char code[3];
		uint32_t bit;
	} known[] = {
		{ "hg", PP_VM_HUGEPAGE }, { "nh", PP_VM_NOHUGEPAGE }, { "dc", PP_VM_DONTFORK },
		{ "dd", PP_VM_DONTDUMP }, { "wf", PP_VM_WIPEONFORK }, { "gd", PP_VM_GROWSDOWN },
	};
	const char *p = line + 8, *end = line + len;

	if (len < 8 || memcmp(line, "VmFlags:", 8))
		return -1;
	*flags = 0;
	while (p < end) {
		skip_spaces(&p, end);
		if (end - p < 2)
			break;
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (p[0] == known[i].code[0] && p[1] == known[i].code[1])
				*flags |= known[i].bit;
		p += 2;
		while (p < end && *p != ' ')
			p++;
	}
	return 0;
}

bool pp_smaps_missing_mode(const char *buf, size_t len)
{
	const char *line;
	size_t pos = 0, ll;

	while ((line = pp_next_line(buf, len, &pos, &ll))) {
		const char *end = line + ll;

		if (ll < 8 || memcmp(line, "VmFlags:", 8))
			continue;
		for (const char *p = line + 8; p + 3 <= end; p++)
			if (p[0] == ' ' && p[1] == 'u' && p[2] == 'm' &&
			    (p + 3 == end || p[3] == ' '))
				return true;
	}
	return false;
}

int pp_parse_stat(const char *buf, size_t len, struct pp_stat *st)
{
	const char *end = buf + len, *p = NULL;
	uint64_t f[53];
	int i;

	/* The command name may contain anything, ')' included: take the last. */
	for (const char *q = buf; q < end; q++)
		if (*q == ')')
			p = q;
	if (!p)
		return -EINVAL;
	p++;
	/* Field 3 is the state letter; numbers follow from field 4. */
	skip_spaces(&p, end);
	if (p >= end)
		return -EINVAL;
	st->state = *p++;
	memset(f, 0, sizeof(f));
	for (i = 4; i <= 52; i++) {
		int neg = 0;

		skip_spaces(&p, end);
		if (p < end && *p == '-') {
			neg = 1;
			p++;
		}
		if (dec_u64(&p, end, &f[i])) {
			if (i == 52) /* kernels before 3.5 stop at 51 */
				break;
			return -EINVAL;
		}
		if (neg)
			f[i] = (uint64_t)-(int64_t)f[i];
	}
	st->ppid = (int)f[4];
	st->pgrp = (int)f[5];
	st->session = (int)f[6];
	st->tty_nr = (int)f[7];
	st->tpgid = (int)f[8];
	st->start_code = f[26];
	st->end_code = f[27];
	st->start_stack = f[28];
	st->exit_signal = (int)f[38];
	st->start_data = f[45];
	st->end_data = f[46];
	st->start_brk = f[47];
	st->arg_start = f[48];
	st->arg_end = f[49];
	st->env_start = f[50];
	st->env_end = f[51];
	st->exit_code = (int)f[52];
	return 0;
}

int pp_parse_fdinfo(const char *buf, size_t len, struct pp_fdinfo *fi)
{
	size_t pos = 0, ll;
	const char *l;
	int have = 0;

	memset(fi, 0, sizeof(*fi));
	while ((l = pp_next_line(buf, len, &pos, &ll))) {
		const char *p, *end = l + ll;
		uint64_t v;

		if (ll > 4 && !memcmp(l, "pos:", 4)) {
			p = l + 4;
			skip_spaces(&p, end);
			if (dec_u64(&p, end, &v))
				return -EINVAL;
			fi->pos = v;
			have |= 1;
		} else if (ll > 6 && !memcmp(l, "flags:", 6)) {
			uint64_t x = 0;
			int digits = 0;

			p = l + 6;
			skip_spaces(&p, end);
			for (; p < end && *p >= '0' && *p <= '7'; p++, digits++) {
				x = x * 8 + (uint64_t)(*p - '0');
				if (x > UINT32_MAX)
					return -ERANGE;
			}
			skip_spaces(&p, end);
			if (!digits || p != end)
				return -EINVAL;
			fi->flags = (uint32_t)x;
			have |= 2;
		}
	}
	return have == 3 ? 0 : -EINVAL;
}

/* The value after "key" on the first line of buf that starts with it,
 * spaces skipped, as [*p, *end); false when no line does. */
static bool fdinfo_value(const char *buf, size_t len, const char *key, const char **p,
			 const char **end)
{
	size_t pos = 0, ll, klen = strlen(key);
	const char *l;

	while ((l = pp_next_line(buf, len, &pos, &ll))) {
		if (ll <= klen || memcmp(l, key, klen))
			continue;
		*p = l + klen;
		*end = l + ll;
		skip_spaces(p, *end);
		return true;
	}
	return false;
}

int pp_fdinfo_field(const char *buf, size_t len, const char *key, int base, uint64_t *val)
{
	const char *p, *end;

	if (!fdinfo_value(buf, len, key, &p, &end) ||
	    (base == 16 ? hex_u64(&p, end, val) : dec_u64(&p, end, val)))
		return -1;
	skip_spaces(&p, end);
	return p == end ? 0 : -1;
}

int pp_fdinfo_pair(const char *buf, size_t len, const char *key, uint64_t out[2])
{
	const char *p, *end;

	if (!fdinfo_value(buf, len, key, &p, &end) || expect(&p, end, '(') ||
	    dec_u64(&p, end, &out[0]) || expect(&p, end, ','))
		return -1;
	skip_spaces(&p, end);
	if (dec_u64(&p, end, &out[1]) || expect(&p, end, ')') || out[1] >= 1000000000ULL)
		return -1;
	return 0;
}

/* Skips spaces and the word w, which must end at a space or the end. */
static bool word(const char **p, const char *end, const char *w)
{
	size_t n = strlen(w);

	skip_spaces(p, end);
	if ((size_t)(end - *p) < n || memcmp(*p, w, n) || (*p + n < end && (*p)[n] != ' '))
		return false;
	*p += n;
	return true;
}

int pp_parse_epoll_target(const char *line, size_t len, struct pp_epoll_target *t)
{
	const char *p = line, *end = line + len;
	uint64_t v;

	if (!word(&p, end, "tfd:"))
		return -1;
	skip_spaces(&p, end);
	if (dec_u64(&p, end, &v) || v > INT32_MAX || !word(&p, end, "events:"))
		return -1;
	t->tfd = (int)v;
	skip_spaces(&p, end);
	if (hex_u64(&p, end, &v) || v > UINT32_MAX || !word(&p, end, "data:"))
		return -1;
	t->events = (uint32_t)v;
	skip_spaces(&p, end);
	if (hex_u64(&p, end, &t->data))
		return -1;
	return p == end || *p == ' ' ? 0 : -1;
}

/* Skips spaces and "key", then reads the hex number right after it, up
 * to max: "wd:3". */
static int hex_field(const char **p, const char *end, const char *key, uint64_t max, uint64_t *v)
{
	size_t n = strlen(key);

	skip_spaces(p, end);
	if ((size_t)(end - *p) < n || memcmp(*p, key, n))
		return -1;
	*p += n;
	return hex_u64(p, end, v) || *v > max ? -1 : 0;
}

int pp_parse_inotify_line(const char *line, size_t len, struct pp_inotify_watch *w)
{
	const char *p = line, *end = line + len;
	uint64_t wd, sdev, mask, ign, bytes, type;

	memset(w, 0, sizeof(*w));
	if (!word(&p, end, "inotify") || hex_field(&p, end, "wd:", INT32_MAX, &wd) ||
	    hex_field(&p, end, "ino:", UINT64_MAX, &w->ino) ||
	    hex_field(&p, end, "sdev:", UINT32_MAX, &sdev) ||
	    hex_field(&p, end, "mask:", UINT32_MAX, &mask) ||
	    hex_field(&p, end, "ignored_mask:", UINT32_MAX, &ign))
		return -1;
	w->wd = (int)wd;
	w->sdev_major = (unsigned)(sdev >> 20);
	w->sdev_minor = (unsigned)(sdev & 0xfffff);
	w->mask = (uint32_t)mask;
	skip_spaces(&p, end);
	if (p == end)
		return 0;
	if (hex_field(&p, end, "fhandle-bytes:", PP_MAX_HANDLE, &bytes) ||
	    hex_field(&p, end, "fhandle-type:", INT32_MAX, &type))
		return -1;
	skip_spaces(&p, end);
	if ((size_t)(end - p) < 9 + bytes * 2 || memcmp(p, "f_handle:", 9))
		return -1;
	p += 9;
	for (uint64_t i = 0; i < bytes; i++) {
		const char pair[2] = { p[0], p[1] };
		const char *q = pair;
		uint64_t b;

		if (hex_u64(&q, pair + 2, &b) || q != pair + 2)
			return -1;
		w->handle[i] = (uint8_t)b;
		p += 2;
	}
	skip_spaces(&p, end);
	if (p != end)
		return -1;
	w->handle_bytes = (unsigned)bytes;
	w->handle_type = (int)type;
	return 0;
}

/* The next space-separated field of a line. */
static size_t field(const char **p, const char *end, const char **start)
{
	skip_spaces(p, end);
	*start = *p;
	while (*p < end && **p != ' ')
		(*p)++;
	return (size_t)(*p - *start);
}

int pp_parse_mountinfo_line(const char *line, size_t len, struct pp_mount *m, char *mnt,
			    size_t cap)
{
	const char *p = line, *end = line + len, *f;
	uint64_t maj, min;
	size_t n, o = 0;

	field(&p, end, &f);
	field(&p, end, &f);
	skip_spaces(&p, end);
	if (dec_u64(&p, end, &maj) || expect(&p, end, ':') || dec_u64(&p, end, &min) ||
	    maj > 0xfff || min > 0xfffff)
		return -1;
	m->major = (unsigned)maj;
	m->minor = (unsigned)min;
	n = field(&p, end, &f);
	m->whole = n == 1 && f[0] == '/';
	n = field(&p, end, &f);
	if (!n || f[0] != '/')
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = f[i];

		/* The kernel escapes space, tab, newline and backslash as \ooo. */
		if (c == '\\' && i + 3 < n && f[i + 1] >= '0' && f[i + 1] <= '3' &&
		    f[i + 2] >= '0' && f[i + 2] <= '7' && f[i + 3] >= '0' && f[i + 3] <= '7') {
			c = (char)((f[i + 1] - '0') << 6 | (f[i + 2] - '0') << 3 | (f[i + 3] - '0'));
			i += 3;
		}
		if (o + 1 >= cap)
			return -1;
		mnt[o++] = c;
	}
	mnt[o] = '\0';
	return 0;
}

int pp_parse_lock_line(const char *line, size_t len, struct pp_lock *lk)
{
	const char *p = line, *end = line + len;
	uint64_t v;

	memset(lk, 0, sizeof(*lk));
	if (len < 5 || memcmp(p, "lock:", 5))
		return -1;
	p += 5;
	skip_spaces(&p, end);
	if (dec_u64(&p, end, &v) || expect(&p, end, ':'))
		return -1;
	if (word(&p, end, "POSIX"))
		lk->type = PP_LOCK_POSIX;
	else if (word(&p, end, "FLOCK"))
		lk->type = PP_LOCK_FLOCK;
	else if (word(&p, end, "OFDLCK"))
		lk->type = PP_LOCK_OFD;
	else
		return -1;
	if (!word(&p, end, "ADVISORY"))
		return -1;
	if (word(&p, end, "WRITE"))
		lk->write = true;
	else if (!word(&p, end, "READ"))
		return -1;
	/* pid (-1 for OFD locks), then major:minor:inode */
	skip_spaces(&p, end);
	if (p < end && *p == '-')
		p++;
	if (dec_u64(&p, end, &v))
		return -1;
	skip_spaces(&p, end);
	while (p < end && *p != ' ')
		p++;
	skip_spaces(&p, end);
	if (dec_u64(&p, end, &lk->start))
		return -1;
	if (word(&p, end, "EOF")) {
		lk->to_eof = true;
	} else {
		skip_spaces(&p, end);
		if (dec_u64(&p, end, &lk->end) || lk->end < lk->start)
			return -1;
	}
	skip_spaces(&p, end);
	return p == end ? 0 : -1;
}

int pp_parse_locks_owner(const char *line, size_t len, struct pp_lock_owner *o)
{
	const char *p = line, *end = line + len;
	uint64_t v;
	bool neg = false;

	if (dec_u64(&p, end, &v) || expect(&p, end, ':'))
		return -1;
	/* type, mode, access: three words ("->" marks a waiter) */
	for (int w = 0; w < 3; w++) {
		skip_spaces(&p, end);
		if (p < end && *p == '-')
			return -1;
		while (p < end && *p != ' ')
			p++;
	}
	skip_spaces(&p, end);
	if (p < end && *p == '-') {
		neg = true;
		p++;
	}
	if (dec_u64(&p, end, &v))
		return -1;
	o->pid = neg ? -(long)(v & 0xffffffff) : (long)(v & 0x7fffffff);
	skip_spaces(&p, end);
	if (hex_u64(&p, end, &v) || expect(&p, end, ':'))
		return -1;
	o->major = (unsigned)v;
	if (hex_u64(&p, end, &v) || expect(&p, end, ':'))
		return -1;
	o->minor = (unsigned)v;
	if (dec_u64(&p, end, &o->ino))
		return -1;
	return p < end && *p == ' ' ? 0 : -1;
}

/* A number in base 8 or 10 that fits max, after spaces. */
static int num_field(const char **p, const char *end, int base, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;
	int n = 0;

	skip_spaces(p, end);
	if (base == 10)
		return dec_u64(p, end, v) || *v > max ? -EINVAL : 0;
	while (*p < end && **p >= '0' && **p <= '7' && x <= max) {
		x = x * 8 + (uint64_t)(**p - '0');
		n++;
		(*p)++;
	}
	*v = x;
	return n && x <= max ? 0 : -EINVAL;
}

int pp_parse_sysv_shm_line(const char *line, size_t len, struct pp_sysv_shm *s)
{
	const char *p = line, *end = line + len;
	uint64_t key, id, mode, size, pid, nattch;
	bool neg;

	skip_spaces(&p, end);
	neg = p < end && *p == '-';
	p += neg;
	if (num_field(&p, end, 10, neg ? 1ULL << 31 : INT32_MAX, &key) ||
	    num_field(&p, end, 10, INT32_MAX, &id) || num_field(&p, end, 8, 07777, &mode) ||
	    num_field(&p, end, 10, UINT64_MAX, &size) || num_field(&p, end, 10, INT32_MAX, &pid) ||
	    num_field(&p, end, 10, INT32_MAX, &pid) || num_field(&p, end, 10, UINT32_MAX, &nattch))
		return -1;
	s->key = neg ? (int32_t)(0 - key) : (int32_t)key;
	s->id = (uint32_t)id;
	s->mode = (uint32_t)mode;
	s->size = size;
	s->nattch = (uint32_t)nattch;
	return 0;
}

int pp_parse_netlink_line(const char *line, size_t len, struct pp_netlink *n)
{
	const char *p = line, *end = line + len;
	uint64_t sk, proto, portid, groups, rmem, wmem, dump, locks, drops;

	skip_spaces(&p, end);
	if (hex_u64(&p, end, &sk) || num_field(&p, end, 10, UINT32_MAX, &proto) ||
	    num_field(&p, end, 10, UINT32_MAX, &portid))
		return -1;
	skip_spaces(&p, end);
	if (hex_u64(&p, end, &groups) || num_field(&p, end, 10, UINT64_MAX, &rmem) ||
	    num_field(&p, end, 10, UINT64_MAX, &wmem) || num_field(&p, end, 10, 1, &dump) ||
	    num_field(&p, end, 10, UINT64_MAX, &locks) ||
	    num_field(&p, end, 10, UINT64_MAX, &drops) ||
	    num_field(&p, end, 10, UINT64_MAX, &n->ino))
		return -1;
	n->protocol = (uint32_t)proto;
	n->portid = (uint32_t)portid;
	n->dumping = dump;
	return 0;
}

int pp_parse_syscall(const char *buf, size_t len, struct pp_syscall *sc)
{
	const char *p = buf, *end = buf + len;
	uint64_t v;
	int i;

	memset(sc, 0, sizeof(*sc));
	if (len >= 7 && !memcmp(buf, "running", 7)) {
		sc->nr = -2;
		return 0;
	}
	if (p < end && *p == '-') {
		/* Only "-1": blocked outside any syscall. */
		p++;
		if (dec_u64(&p, end, &v) || v != 1)
			return -EINVAL;
		sc->nr = -1;
		skip_spaces(&p, end);
		if (expect(&p, end, '0') || expect(&p, end, 'x') || hex_u64(&p, end, &sc->sp))
			return -EINVAL;
		skip_spaces(&p, end);
		if (expect(&p, end, '0') || expect(&p, end, 'x') || hex_u64(&p, end, &sc->pc))
			return -EINVAL;
		return 0;
	}
	if (dec_u64(&p, end, &v) || v > PP_MAX_SYSCALL_NR)
		return -EINVAL;
	sc->nr = (long)v;
	for (i = 0; i < 8; i++) {
		uint64_t *dst = i < 6 ? &sc->args[i] : i == 6 ? &sc->sp : &sc->pc;

		skip_spaces(&p, end);
		if (expect(&p, end, '0') || expect(&p, end, 'x') || hex_u64(&p, end, dst))
			return -EINVAL;
	}
	return 0;
}

/* "KEY: " at *p, on to the value. */
static bool key(const char **p, const char *end, const char *k)
{
	size_t n = strlen(k);

	if ((size_t)(end - *p) < n || memcmp(*p, k, n))
		return false;
	*p += n;
	skip_spaces(p, end);
	return true;
}

/* A decimal that may be negative and fits an int32. */
static int dec_i32(const char **p, const char *end, int *v)
{
	bool neg = *p < end && **p == '-';
	uint64_t x;

	*p += neg;
	if (dec_u64(p, end, &x) || x > (neg ? 1ULL << 31 : INT32_MAX))
		return -EINVAL;
	*v = neg ? (int)(0 - x) : (int)x;
	return 0;
}

int pp_next_timer(const char *buf, size_t len, size_t *pos, struct pp_timer *t)
{
	static const char *const kinds[] = { "signal/", "none/", "thread/" };
	const char *line, *p, *end;
	size_t ll;
	uint64_t v;
	int n;

	if (!(line = pp_next_line(buf, len, pos, &ll)))
		return 0;
	p = line, end = line + ll;
	if (!key(&p, end, "ID:") || dec_i32(&p, end, &t->id) || p != end || t->id < 0)
		return -1;
	if (!(line = pp_next_line(buf, len, pos, &ll)))
		return -1;
	p = line, end = line + ll;
	if (!key(&p, end, "signal:") || dec_u64(&p, end, &v) || v > 64 || expect(&p, end, '/') ||
	    hex_u64(&p, end, &t->sigev_value) || p != end)
		return -1;
	t->signo = (int)v;
	if (!(line = pp_next_line(buf, len, pos, &ll)))
		return -1;
	p = line, end = line + ll;
	if (!key(&p, end, "notify:"))
		return -1;
	for (n = 0; n < 3 && !key(&p, end, kinds[n]); n++)
		;
	if (n == 3)
		return -1;
	t->notify = (uint32_t)n; /* SIGEV_SIGNAL 0, SIGEV_NONE 1, SIGEV_THREAD 2 */
	if (key(&p, end, "tid."))
		t->notify |= SC_SIGEV_THREAD_ID;
	else if (!key(&p, end, "pid."))
		return -1;
	if (dec_i32(&p, end, &t->notify_pid) || p != end)
		return -1;
	if (!(line = pp_next_line(buf, len, pos, &ll)))
		return -1;
	p = line, end = line + ll;
	if (!key(&p, end, "ClockID:") || dec_i32(&p, end, &t->clock) || p != end)
		return -1;
	return 1;
}

/* "KEY:" followed by up to cap decimal ids that fit 32 bits, into ids
 * (may be NULL to count); their count, or -1. */
static long status_ids(const char *buf, size_t len, const char *key, uint32_t *ids, size_t cap)
{
	const char *p, *end;
	long n = 0;

	if (!fdinfo_value(buf, len, key, &p, &end))
		return -1;
	while (p < end) {
		uint64_t v;

		if (dec_u64(&p, end, &v) || v > UINT32_MAX || (size_t)n == cap)
			return -1;
		if (ids)
			ids[n] = (uint32_t)v;
		n++;
		skip_spaces(&p, end);
	}
	return n;
}

int pp_parse_status_creds(const char *buf, size_t len, struct pp_creds *c, uint32_t *groups,
			  size_t cap)
{
	static const char *const caps[PP_NR_CAPSETS] = { "CapInh:", "CapPrm:", "CapEff:",
							 "CapBnd:", "CapAmb:" };
	uint64_t nnp;
	long n;

	if (status_ids(buf, len, "Uid:", c->uid, 4) != 4 ||
	    status_ids(buf, len, "Gid:", c->gid, 4) != 4)
		return -1;
	n = status_ids(buf, len, "Groups:", groups, groups ? cap : SC_MAX_GROUPS);
	if (n < 0)
		return -1;
	c->n_groups = (size_t)n;
	for (int i = 0; i < PP_NR_CAPSETS; i++)
		if (pp_fdinfo_field(buf, len, caps[i], 16, &c->caps[i]))
			return -1;
	if (pp_fdinfo_field(buf, len, "NoNewPrivs:", 10, &nnp) || nnp > 1)
		return -1;
	c->no_new_privs = nnp;
	return 0;
}

int pp_kb_field(const char *buf, size_t len, const char *key, uint64_t *bytes)
{
	const char *p, *end;
	uint64_t kb;

	if (!fdinfo_value(buf, len, key, &p, &end) || dec_u64(&p, end, &kb))
		return -1;
	skip_spaces(&p, end);
	if (end - p == 2 && !memcmp(p, "kB", 2))
		p += 2;
	if (p != end || kb > UINT64_MAX / 1024)
		return -1;
	*bytes = kb * 1024;
	return 0;
}

/* Whether the controller list ctl (comma separated) names "memory". */
static bool names_memory(const char *ctl, size_t n)
{
	while (n) {
		size_t k = 0;

		while (k < n && ctl[k] != ',')
			k++;
		if (k == 6 && !memcmp(ctl, "memory", 6))
			return true;
		ctl += k;
		n -= k;
		if (n) {
			ctl++;
			n--;
		}
	}
	return false;
}

int pp_parse_memory_cgroup(const char *buf, size_t len, const char **path, size_t *path_len,
			   bool *v1)
{
	size_t pos = 0, ll;
	const char *l;
	int found = -1;

	/* A v1 memory controller wins: in a hybrid setup it is the one that
	 * limits, and the v2 hierarchy has none. */
	while ((l = pp_next_line(buf, len, &pos, &ll))) {
		const char *ctl = memchr(l, ':', ll), *cg;

		if (!ctl)
			continue;
		ctl++;
		cg = memchr(ctl, ':', ll - (size_t)(ctl - l));
		if (!cg || cg + 1 >= l + ll || cg[1] != '/')
			continue;
		if (cg == ctl && found < 0) {
			*v1 = false;
		} else if (names_memory(ctl, (size_t)(cg - ctl))) {
			*v1 = true;
		} else {
			continue;
		}
		*path = cg + 1;
		*path_len = ll - (size_t)(cg + 1 - l);
		found = 0;
		if (*v1)
			break;
	}
	return found;
}

int pp_memory_room(const char *meminfo, size_t mlen, const char *cg_max, size_t maxlen,
		   const char *cg_current, size_t curlen, uint64_t *room)
{
	uint64_t avail, max, cur;
	const char *p, *end;

	if (pp_kb_field(meminfo, mlen, "MemAvailable:", &avail))
		return -1;
	*room = avail;
	/* No cgroup files, or "max": the machine's is the only limit. */
	if (!cg_max || !cg_current)
		return 0;
	while (maxlen && (cg_max[maxlen - 1] == '\n' || cg_max[maxlen - 1] == ' '))
		maxlen--;
	if (maxlen == 3 && !memcmp(cg_max, "max", 3))
		return 0;
	p = cg_max;
	end = cg_max + maxlen;
	if (dec_u64(&p, end, &max) || p != end)
		return -1;
	p = cg_current;
	end = cg_current + curlen;
	if (dec_u64(&p, end, &cur))
		return -1;
	skip_spaces(&p, end);
	if (p != end && *p != '\n')
		return -1;
	if (cur >= max)
		*room = 0;
	else if (max - cur < *room)
		*room = max - cur;
	return 0;
}
