// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "history.h"
#include "selfckpt/history_field.h"
#include "selfckpt/launcher.h"

/* The longest line a writer makes: a path or a reason, and numbers. */
#define HISTORY_LINE_MAX (PATH_MAX * 4)

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Undoes selfckpt_history_put in place; -1 on a broken escape. */
static int decode(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (*s == '%') {
			int hi = hex_digit(s[1]), lo = hi < 0 ? -1 : hex_digit(s[2]);

			if (lo < 0)
				return -1;
			*d++ = (char)(hi << 4 | lo);
			s += 2;
		} else {
			*d++ = *s;
		}
	}
	*d = '\0';
	return 0;
}

int sc_history_parse(char *line, struct sc_history_event *ev)
{
	char *save, *tok, *end;

	memset(ev, 0, sizeof(*ev));
	tok = strtok_r(line, " ", &save);
	if (!tok)
		return -1;
	errno = 0;
	ev->time = strtod(tok, &end);
	if (*end || errno || ev->time < 0)
		return -1;
	if (!(ev->event = strtok_r(NULL, " ", &save)))
		return -1;
	while ((tok = strtok_r(NULL, " ", &save)) && ev->nfields < SC_HISTORY_MAX_FIELDS) {
		char *eq = strchr(tok, '=');

		if (!eq || eq == tok)
			return -1;
		*eq = '\0';
		if (decode(eq + 1))
			return -1;
		ev->fields[ev->nfields].key = tok;
		ev->fields[ev->nfields++].value = eq + 1;
	}
	return 0;
}

const char *sc_history_get(const struct sc_history_event *ev, const char *key)
{
	for (size_t i = 0; i < ev->nfields; i++)
		if (!strcmp(ev->fields[i].key, key))
			return ev->fields[i].value;
	return NULL;
}

static int open_history(const char *dir, int flags)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", dir, SELFCKPT_HISTORY_FILE) >=
	    (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return open(path, flags | O_CLOEXEC, S_IRUSR | S_IWUSR);
}

int sc_history_read(const char *dir, off_t from, off_t *next,
		    void (*fn)(void *arg, const struct sc_history_event *ev), void *arg)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int fd = open_history(dir, O_RDONLY);

	*next = from;
	if (fd < 0 || !(f = fdopen(fd, "r"))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (fseeko(f, from, SEEK_SET)) {
		fclose(f);
		return -1;
	}
	while ((n = getline(&line, &cap, f)) > 0 && line[n - 1] == '\n') {
		struct sc_history_event ev;

		*next += n;
		line[n - 1] = '\0';
		if (!sc_history_parse(line, &ev))
			fn(arg, &ev);
	}
	free(line);
	fclose(f);
	return 0;
}

int sc_history_append(const char *dir, const char *event, const char *const *pairs)
{
	char line[HISTORY_LINE_MAX], *p = line, *end = line + sizeof(line) - 2;
	struct timespec now;
	int fd, ret = 0;

	clock_gettime(CLOCK_REALTIME, &now);
	p += snprintf(p, (size_t)(end - p), "%lld.%03ld %s", (long long)now.tv_sec,
		      now.tv_nsec / 1000000, event);
	for (; pairs[0]; pairs += 2) {
		if (!pairs[1])
			continue;
		if (strlen(pairs[0]) + 2 > (size_t)(end - p))
			break;
		p += sprintf(p, " %s=", pairs[0]);
		p = selfckpt_history_put(p, pairs[1], (size_t)(end - p));
	}
	*p++ = '\n';
	fd = open_history(dir, O_WRONLY | O_APPEND | O_CREAT);
	if (fd < 0)
		return -1;
	/* One write: lines of several writers never interleave. */
	if (write(fd, line, (size_t)(p - line)) != p - line)
		ret = -1;
	if (close(fd))
		ret = -1;
	return ret;
}
