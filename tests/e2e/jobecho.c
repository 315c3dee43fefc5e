// SPDX-License-Identifier: MIT
/*
 * For shelljob.sh: an interactive job on its terminal. It writes its pid
 * to the file named by its argument, then prints "tick N" (N counting up)
 * every 0.1 s and "echo: LINE" for every line it reads from stdin. At end
 * of input it exits 0.
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	unsigned long n = 0;
	char buf[256];
	FILE *f;

	if (argc != 2 || !(f = fopen(argv[1], "w")))
		return 2;
	fprintf(f, "%d\n", getpid());
	fclose(f);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (;;) {
		struct pollfd p = { .fd = 0, .events = POLLIN };

		if (poll(&p, 1, 100) > 0) {
			ssize_t k = read(0, buf, sizeof(buf) - 1);

			if (k <= 0)
				return 0;
			buf[k] = '\0';
			printf("echo: %s%s", buf, buf[k - 1] == '\n' ? "" : "\n");
		} else {
			printf("tick %lu\n", ++n);
		}
	}
}
