#!/usr/bin/env bash
# No dependency circles between the files of the runtime and of crload
# with the image library it links (doc/hacking.md): a file uses what lower
# files define, never the other way round. The loader keeps one circle,
# inherent to a tree: restore.c restores a process, tree.c forks its
# children, each restored by restore.c.
set -u
top=${1:-.}
here=$(dirname "$0")
st=0
runtime=$(find "$top/runtime/.libs" -name 'libselfckpt_la-*.o' 2>/dev/null)
# crload's own objects, and the image library's: common/ and the descriptor
# kinds' restore halves (loader/.libs/common_libscimage_la-*.o).
loader=$(find "$top/loader" -maxdepth 1 -name '*.o' ! -name 'tests_*' ! -name 'restorer_blob.o' \
	! -name 'crinfo*' 2>/dev/null)
image=$(find "$top/common/.libs" "$top/loader/.libs" -name '*libscimage_la-*.o' 2>/dev/null)
[ -n "$runtime" ] && [ -n "$loader" ] && [ -n "$image" ] || { echo "SKIP: the runtime and crload are not built"; exit 77; }
# shellcheck disable=SC2086 # lists of objects
python3 "$here/file_circles.py" runtime - $runtime || st=1
# shellcheck disable=SC2086
python3 "$here/file_circles.py" loader loader/restore,loader/tree $loader $image || st=1
exit $st
