// SPDX-License-Identifier: MIT
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zdtm.h"

static volatile sig_atomic_t stopping;
static const char *test_name = "test";

static void on_stop(int sig)
{
	stopping = 1;
}

void test_init(int argc, char **argv)
{
	struct sigaction sa;

	test_name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
}

void test_ready(void)
{
	int fd = open("ready", O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		test_fail("cannot create ./ready");
	close(fd);
}

bool test_stopping(void)
{
	return stopping;
}

void test_wait_stop(void)
{
	while (!stopping)
		usleep(10000);
}

void test_pass(void)
{
	printf("%s: PASS\n", test_name);
	exit(0);
}

void test_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: FAIL: ", test_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void test_fill(unsigned char *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(i * 7 + seed);
}

bool test_filled(const unsigned char *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (unsigned char)(i * 7 + seed))
			return false;
	return true;
}

#define GEN_WORDS (TEST_GEN_PAGE / sizeof(uint64_t))

void test_gen_label(uint64_t *mem, size_t pages, size_t first)
{
	for (size_t i = 0; i < pages; i++)
		mem[i * GEN_WORDS + 1] = test_mix(first + i);
}

void test_gen_sweep(uint64_t *mem, size_t pages, size_t first, uint64_t gen)
{
	for (size_t i = 0; i < pages; i++) {
		uint64_t *page = &mem[i * GEN_WORDS];

		if (page[0] != gen - 1 || page[1] != test_mix(first + i))
			test_fail("page %zu holds generation %llu in sweep %llu", first + i,
				  (unsigned long long)page[0], (unsigned long long)gen);
		page[0] = gen;
	}
}
