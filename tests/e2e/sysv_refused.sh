#!/usr/bin/env bash
# A SysV segment id that is taken by another segment when the image is
# restored in place (root, pids free, doc/trees.md "SysV shared memory"):
# crload must refuse with one line naming the id, before any process
# exists, and leave no segment of its own behind.
# Runs under tests/e2e/reaper; needs root.
set -u
suite=sysv_refused
. "$(dirname "$0")/suite.sh"
trap '[ $failed -eq 0 ] && rm -rf "$root"' EXIT
W=$root/taken
mkdir -p "$W"

t_taken() {
	local id other st=0 before after
	checkpointed sysv_key || return 1
	# The tree goes; its segment stays (it has a key), then is replaced
	# by another one on the same id.
	kill -KILL $APP $(descendants $APP) 2>/dev/null
	wait $APP 2>/dev/null
	id=$(awk -v k=$((0x5c000000 | (APP & 0xffffff))) '$1 == k { print $2 }' /proc/sysvipc/shm)
	[ -n "$id" ] || { say "the killed program's segment is gone"; return 1; }
	ipcrm -m "$id"
	echo "$id" >/proc/sys/kernel/shm_next_id
	other=$(ipcmk -M 4096 | grep -o '[0-9]*$')
	if [ "$other" != "$id" ]; then
		say "could not put another segment on id $id (got $other)"
		ipcrm -m "$other"
		return 1
	fi
	before=$(wc -l </proc/sysvipc/shm)
	"$CRLOAD" "$W/img/latest" >"$W/crload.out" 2>"$W/crload.err" || st=$?
	after=$(wc -l </proc/sysvipc/shm)
	ipcrm -m "$id"
	if [ "$st" = 0 ] || logged ': restored from' || [ "$(wc -l <"$W/crload.err")" != 1 ] ||
		! grep -q "SysV shared memory id $id is taken" "$W/crload.err"; then
		say "crload did not refuse with one line naming id $id:"
		cat "$W/crload.err" >&2
		return 1
	fi
	[ "$before" = "$after" ] || { say "crload left a segment behind"; return 1; }
}

APP=
t_taken
result taken $?
[ -n "$APP" ] && kill -KILL $APP 2>/dev/null
wait 2>/dev/null
echo "$suite: $passed passed, $failed failed"
[ $failed -eq 0 ]
