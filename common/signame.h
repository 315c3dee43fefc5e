/* SPDX-License-Identifier: MIT */
/* Signals by name, as users write them: "USR2", "SIGTERM", "10"; and
 * what a signal makes of an exit status. */
#ifndef SELFCKPT_SIGNAME_H
#define SELFCKPT_SIGNAME_H

/* The signal s names (with or without "SIG", any case, or a number), or
 * -1 if none or one that cannot be caught (KILL, STOP). No allocation:
 * the runtime's constructor calls it too. */
int sc_signal_parse(const char *s);
/* "USR2" for SIGUSR2; NULL for a signal without a name here. */
const char *sc_signal_name(int sig);

/* A wait status the shell's way: the exit status, or 128+N for a process
 * killed by signal N (1 for anything else). */
int sc_shell_status(int status);

#endif
