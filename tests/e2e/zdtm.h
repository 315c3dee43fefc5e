/* SPDX-License-Identifier: MIT */
/*
 * The e2e test protocol, ZDTM style. A test program:
 *   1. sets up its state, then calls test_ready() (creates ./ready);
 *   2. works until test_stopping() turns true (SIGUSR1 arrived);
 *      meanwhile tests/e2e/run checkpoints and restores it;
 *   3. verifies its state and ends with test_pass() or test_fail().
 * Its exit status is the verdict; crload passes it through.
 */
#ifndef SELFCKPT_ZDTM_H
#define SELFCKPT_ZDTM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void test_init(int argc, char **argv);
void test_ready(void);
bool test_stopping(void);
/* Sleeps until SIGUSR1, in short steps. */
void test_wait_stop(void);
void test_pass(void) __attribute__((noreturn));
void test_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* A byte pattern that depends on seed: fill memory with it before the
 * checkpoint, check it after. */
void test_fill(unsigned char *p, size_t len, unsigned seed);
bool test_filled(const unsigned char *p, size_t len, unsigned seed);

/*
 * Memory rewritten one generation at a time without a pause, to check that
 * a checkpoint taken while it changes holds one instant: word 0 of each
 * 4 KiB page holds its generation, word 1 a label of its index (first + i),
 * so that no page is a zero page and every page differs from the others.
 * test_gen_label sets generation 0; test_gen_sweep fails the test unless
 * every page holds gen - 1, and sets gen.
 */
#define TEST_GEN_PAGE 4096
void test_gen_label(uint64_t *mem, size_t pages, size_t first);
void test_gen_sweep(uint64_t *mem, size_t pages, size_t first, uint64_t gen);

/* A deterministic step function for "computes what an uninterrupted run
 * computes" checks. */
static inline uint64_t test_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x + 0x9e3779b97f4a7c15ULL;
}

#endif
