#!/usr/bin/env bash
# A process tree restored as root and as an unprivileged user: the same
# image of a tree started by user nobody is restored by root (the same
# pids, clone3 set_tid) and by nobody (a new user + pid namespace, crload
# as its init), and each copy must check out as an uninterrupted run
# (each program verifies itself on SIGUSR1; doc/trees.md).
# Runs under tests/e2e/reaper; needs root.
set -u
suite=tree_users
. "$(dirname "$0")/suite.sh"
trap '[ $failed -eq 0 ] && rm -rf "$root"' EXIT
user=nobody group=nogroup
as=(setpriv --reuid="$user" --regid="$group" --clear-groups)

# restore_as WHO PROGRAM USERNS(yes/no): restores the image, lets it
# finish, checks its verdict.
restore_as() {
	local run=() loader ns
	[ "$1" = root ] || run=("${as[@]}")
	# The first copy wrote its verdict to the files the second reopens:
	# crload cuts them back to their size at the checkpoint.
	"${run[@]}" "$CRLOAD" -v "$W/img/latest" >"$W/crload.out" 2>"$W/crload.err" &
	loader=$!
	wait_for logged ': restored from' || { say "$1: no 'restored from'"; cat "$W/crload.err" >&2; return 1; }
	sed -i 's/: restored from/: was restored from/' "$W/log"
	# root gets the same pids; the user, a namespace of its own.
	ns=no
	grep -q 'user and pid namespaces' "$W/crload.err" && ns=yes
	# ... and root restores in place.
	[ "$ns" = no ] && ! grep -q 'with its own pid' "$W/crload.err" && ns=pid
	if [ "$ns" != "$3" ]; then
		say "$1: new namespaces: $ns (no, pid, or yes: user and pid), expected $3"
		cat "$W/crload.err" >&2
		kill -KILL $loader; wait $loader 2>/dev/null
		return 1
	fi
	sleep 0.3
	kill -USR1 $loader
	wait $loader || { say "$1: $2 restored failed"; tail -3 "$W/err" >&2; return 1; }
}

gone() { # PID...: none of them exists
	local p
	for p in "$@"; do [ -d /proc/$p ] && return 1; done
	return 0
}

t_tree() { # PROGRAM
	local all
	chmod 777 "$W"
	touch "$W/out" "$W/err" && chmod 666 "$W/out" "$W/err"
	checkpointed "$1" "${as[@]}" || return 1
	# The whole tree goes, stopped first so that nobody forks meanwhile.
	all=$(descendants $APP)
	# shellcheck disable=SC2086 # a list of pids
	kill -STOP $APP $all 2>/dev/null && kill -KILL $APP $all $(descendants $APP) 2>/dev/null
	wait $APP 2>/dev/null
	# Reaped by now, so that root restores with the same pids in place
	# (sysv_key then takes over the segment its original left).
	wait_for gone $all || { say "the killed tree is still there"; return 1; }
	restore_as root "$1" no || return 1
	restore_as $user "$1" yes
}

if ! "${as[@]}" true 2>/dev/null ||
	! "${as[@]}" test -x "$CRLOAD" -a -r "$SELFCKPT_LIB" -a -x "$E2E_BIN/pipe_tree"; then
	echo "SKIP: $suite: the build is not reachable by user $user"
	exit 77
fi
chmod 711 "$root"
for t in pipe_tree zombie_tree shm_tree session_tree sysv_key; do
	W=$root/$t
	mkdir -p "$W"
	APP=
	t_tree $t
	result $t $?
	[ -n "$APP" ] && kill -KILL $APP 2>/dev/null
	wait 2>/dev/null
done
echo "$suite: $passed passed, $failed failed"
[ $failed -eq 0 ]
