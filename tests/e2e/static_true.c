// SPDX-License-Identifier: MIT
/* Linked statically (tests/Makefile.inc): a program the runtime cannot
 * follow into, for options.sh. */
int main(void)
{
	return 0;
}
