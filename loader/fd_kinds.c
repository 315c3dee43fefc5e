// SPDX-License-Identifier: MIT
/* The loader's table of descriptor kinds: the restore halves, expanded
 * from the one list (common/fdkinds.h) so that each must exist to link. */
#include "fd_restore.h"

#define RESTORE_ROW(k, name, dump, restore) [k] = { name, restore##_restore, restore##_describe },
static const struct fd_restore_kind kinds[] = { SC_FD_KINDS(RESTORE_ROW) };
#undef RESTORE_ROW

const struct fd_restore_kind *fd_restore_kind(Sc__FdKind kind)
{
	if ((unsigned)kind >= sizeof(kinds) / sizeof(kinds[0]) || !kinds[kind].restore)
		return NULL;
	return &kinds[kind];
}
