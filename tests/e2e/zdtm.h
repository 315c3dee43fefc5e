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
