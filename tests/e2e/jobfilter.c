// SPDX-License-Identifier: MIT
/*
 * For shelljob.sh: the middle of a pipeline that is a shell job,
 * `seq 1 N | jobfilter PIDFILE [STATUS [LINES]] | cat`. It writes its process
 * group (the job's leader, seq) to PIDFILE, then passes on one line of
 * its input every 0.1 s as "tick LINE", so the numbers show that no line
 * was lost or repeated, and prints "echo: LINE" for every line typed on
 * its terminal (/dev/tty: its standard streams are the pipeline's). At
 * the end of its input, or after LINES lines, it exits with STATUS (0 by
 * default).
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long lines = argc > 3 ? atol(argv[3]) : -1;
	char line[256];
	FILE *f;
	int tty;

	if (argc < 2 || argc > 4 || !(f = fopen(argv[1], "w")))
		return 2;
	fprintf(f, "%d\n", (int)getpgrp());
	fclose(f);
	tty = open("/dev/tty", O_RDONLY);
	if (tty < 0)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (;;) {
		struct pollfd p = { .fd = tty, .events = POLLIN };

		if (poll(&p, 1, 100) > 0) {
			ssize_t k = read(tty, line, sizeof(line) - 1);

			if (k <= 0)
				return 2;
			line[k] = '\0';
			printf("echo: %s%s", line, line[k - 1] == '\n' ? "" : "\n");
		} else if (lines-- != 0 && fgets(line, sizeof(line), stdin)) {
			printf("tick %s", line);
		} else {
			return argc > 2 ? atoi(argv[2]) : 0;
		}
	}
}
