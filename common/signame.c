// SPDX-License-Identifier: MIT
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>

#include "signame.h"

/* The signals a batch system or a user would pick to ask for something. */
static const struct {
	const char *name;
	int sig;
} sig_names[] = {
	{ "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "HUP", SIGHUP },	 { "INT", SIGINT },
	{ "TERM", SIGTERM }, { "QUIT", SIGQUIT }, { "ALRM", SIGALRM },	 { "XCPU", SIGXCPU },
	{ "URG", SIGURG },   { "PWR", SIGPWR },	  { "WINCH", SIGWINCH }, { "CONT", SIGCONT },
};

int sc_signal_parse(const char *s)
{
	char *end;
	long v;

	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < sizeof(sig_names) / sizeof(sig_names[0]); i++)
		if (!strcasecmp(s, sig_names[i].name))
			return sig_names[i].sig;
	v = strtol(s, &end, 10);
	if (end == s || *end || v <= 0 || v >= SIGRTMAX || v == SIGKILL || v == SIGSTOP)
		return -1;
	return (int)v;
}

const char *sc_signal_name(int sig)
{
	for (size_t i = 0; i < sizeof(sig_names) / sizeof(sig_names[0]); i++)
		if (sig_names[i].sig == sig)
			return sig_names[i].name;
	return NULL;
}

int sc_shell_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}
