// SPDX-License-Identifier: MIT
/* A statically linked program that stays alive until killed: a member of a
 * tree that cannot run the runtime (tree.sh). */
#include <unistd.h>

int main(void)
{
	for (;;)
		pause();
}
