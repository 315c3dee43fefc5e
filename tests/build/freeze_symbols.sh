#!/usr/bin/env bash
# The freeze path is async-signal-safe (runtime/rt.h, doc/freeze.md): while
# the app's threads are frozen, one of them may hold any lock of libc's, so
# nothing the checkpoint runs may call into libc beyond what takes no lock
# and keeps no state. This fails when an object of the runtime's freeze
# path references a symbol from outside the runtime that is not in the
# allow-list beside this script, naming the object and the symbol.
set -u
top=${1:-.}
allow=$(dirname "$0")/freeze-path.allow
lib=$top/runtime/.libs/libselfckpt.so
[ -e "$lib" ] || { echo "SKIP: $lib is not built"; exit 77; }

# The runtime's files that run in the app's context, never while threads
# are frozen: the constructor and configuration, the interposers, the
# exec wrappers, signal names (read by the constructor), and the loading
# of libzstd (by the constructor).
app_context='init|config|interpose|follow_exec|signame|compress_load'

internal=$(nm --defined-only "$lib" | awk '{ print $3 }' | sort -u)
allowed=$(sed 's/#.*//; /^[[:space:]]*$/d' "$allow" | awk '{ print $1 }' | sort -u)
objects=$(find "$top" -path '*/.libs/*libselfckpt_la-*.o' | grep -Ev "libselfckpt_la-($app_context)\.o$")
[ -n "$objects" ] || { echo "FAIL: no object of the runtime found under $top"; exit 1; }
bad=0 checked=0
for o in $objects; do
	checked=$((checked + 1))
	for sym in $(nm -u "$o" | awk '{ print $2 }' | sort -u | comm -23 - <(echo "$internal") |
		comm -23 - <(echo "$allowed")); do
		echo "FAIL: ${o##*libselfckpt_la-} references $sym, which is neither the runtime's nor allowed on the freeze path ($allow)"
		bad=1
	done
done
[ $bad -eq 0 ] && echo "PASS: $checked objects of the freeze path reference only the runtime and $(echo "$allowed" | wc -l) allowed symbols"
exit $bad
