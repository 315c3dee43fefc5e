/* SPDX-License-Identifier: MIT */
/* The one way the libc world reports an error. */
#ifndef SELFCKPT_ERR_H
#define SELFCKPT_ERR_H

#define SC_ERR_LEN 512

/*
 * How everything in the libc world (common/, loader/, tools/) says what
 * went wrong: one line into err (SC_ERR_LEN bytes) for the caller to
 * print with its own prefix. Returns -1, so that "return sc_err(...)"
 * fails a step.
 */
int sc_err(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
