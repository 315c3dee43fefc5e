// SPDX-License-Identifier: MIT
/* One thread counting: after restore it carries on from where it was and
 * its running value equals a fresh recomputation of the same steps. */
#include <unistd.h>

#include "zdtm.h"

int main(int argc, char **argv)
{
	volatile uint64_t value = 1;
	uint64_t steps = 0, check = 1;

	test_init(argc, argv);
	test_ready();
	while (!test_stopping()) {
		for (int i = 0; i < 1000; i++, steps++)
			value = test_mix(value);
		usleep(1000);
	}
	for (uint64_t i = 0; i < steps; i++)
		check = test_mix(check);
	if (check != value)
		test_fail("value after %llu steps is wrong", (unsigned long long)steps);
	if (steps < 1000)
		test_fail("only %llu steps", (unsigned long long)steps);
	test_pass();
}
