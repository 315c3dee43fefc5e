#!/usr/bin/env bash
# A tree restored in a new pid namespace dies with its root (doc/trees.md,
# "Restore"): tree_exit's root exits leaving a child that ignores the
# usual signals and never exits by itself. Restored beside its running
# original (its pids taken: a pid namespace) by root, and by an
# unprivileged user (user + pid namespaces), the root then exits with
# status 7, or is killed: crload must exit with 7, or 128+9, and no
# process of the restored tree may be left.
# Runs under tests/e2e/reaper; needs root.
set -u
suite=tree_ns_exit
. "$(dirname "$0")/suite.sh"
trap '[ $failed -eq 0 ] && rm -rf "$root"' EXIT
user=nobody group=nogroup
as=(setpriv --reuid="$user" --regid="$group" --clear-groups)
W=$root/tree

# t_ns WHO HOW(exit/kill): restores the copy, ends its root, checks.
t_ns() {
	local run=() loader st=0 all root_pid want left=
	[ "$1" = root ] || run=("${as[@]}")
	"${run[@]}" "$CRLOAD" -v "$W/img/latest" >"$W/crload.out" \
		2>"$W/crload.err" &
	loader=$!
	wait_for logged ': restored from' || { say "no 'restored from'"; cat "$W/crload.err" >&2; return 1; }
	sed -i 's/: restored from/: was restored from/' "$W/log"
	grep -q 'pid namespace' "$W/crload.err" || { say "not in a pid namespace"; return 1; }
	# crload, its init of the namespace, the root, the child.
	all=$(descendants $loader)
	if [ "$(echo $all | wc -w)" != 3 ]; then
		say "expected init, root and child below crload, got: $all"
		return 1
	fi
	root_pid=$(echo $all | cut -d' ' -f2)
	if [ "$2" = exit ]; then
		echo 7 >"$W/exit_code"
		want=7
		kill -USR1 $loader
	else
		want=137
		kill -KILL "$root_pid"
	fi
	wait $loader || st=$?
	rm -f "$W/exit_code"
	for p in $all; do [ -d /proc/$p ] && left="$left $p"; done
	if [ -n "$left" ]; then
		say "left behind:$left ($(cat /proc/${left# }/comm 2>/dev/null))"
		kill -KILL $left
		return 1
	fi
	[ "$st" = "$want" ] || { say "crload exited $st, expected $want"; return 1; }
}

if ! "${as[@]}" true 2>/dev/null ||
	! "${as[@]}" test -x "$CRLOAD" -a -r "$SELFCKPT_LIB" -a -x "$E2E_BIN/tree_exit"; then
	echo "SKIP: $suite: the build is not reachable by user $user"
	exit 77
fi
chmod 711 "$root"
mkdir -p "$W" && chmod 777 "$W"
touch "$W/out" "$W/err" && chmod 666 "$W/out" "$W/err"
# The original runs on meanwhile: its pids are taken.
if checkpointed tree_exit "${as[@]}"; then
	for who in root $user; do
		for how in exit kill; do
			t_ns $who $how
			result "$who-$how" $?
		done
	done
else
	result checkpoint 1
fi
kill -KILL $APP $(descendants $APP) 2>/dev/null
wait 2>/dev/null
echo "$suite: $passed passed, $failed failed"
[ $failed -eq 0 ]
