/* SPDX-License-Identifier: MIT */
/*
 * SELFCKPT_DIR/history, read by crinfo and crrun and appended to by crrun
 * (the runtime appends its own lines: runtime/history.c). The format is in
 * selfckpt/launcher.h.
 */
#ifndef SELFCKPT_HISTORY_H
#define SELFCKPT_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SC_HISTORY_MAX_FIELDS 16

struct sc_history_event {
	double time; /* seconds since the epoch */
	const char *event;
	size_t nfields;
	struct {
		const char *key, *value; /* decoded */
	} fields[SC_HISTORY_MAX_FIELDS];
};

/* Parses line (no newline) in place: 0, or -1 if it is not a history line. */
int sc_history_parse(char *line, struct sc_history_event *ev);
/* The value of key in ev, or NULL. */
const char *sc_history_get(const struct sc_history_event *ev, const char *key);

/*
 * Calls fn for every whole line of the history in dir from byte offset
 * from on (a line still being written is left for the next call) and
 * stores where the next call starts in *next. Lines that do not parse are
 * skipped. 0, or -1 with errno (ENOENT: no history yet).
 */
int sc_history_read(const char *dir, off_t from, off_t *next,
		    void (*fn)(void *arg, const struct sc_history_event *ev), void *arg);

/* Appends one line: event and the pairs key, value (a NULL value leaves
 * the pair out) up to a NULL key. 0, or -1 with errno. */
int sc_history_append(const char *dir, const char *event, const char *const *pairs);

#endif
