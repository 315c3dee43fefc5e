#!/usr/bin/env bash
# The bytes of a pipe several processes of a tree hold are stored once
# (doc/trees.md, "Pipes between processes"): pipe_once's four processes
# hold a pipe with 48 KiB in it; all their fds files together must be
# well under twice that, and the image must restore and check out.
# Runs under tests/e2e/reaper.
set -u
suite=pipe_once_image
. "$(dirname "$0")/suite.sh"
trap '[ $failed -eq 0 ] && rm -rf "$root"' EXIT
W=$root/once
mkdir -p "$W"

t_once() {
	local total loader
	checkpointed pipe_once || return 1
	total=$(cat "$W"/img/latest/fds-*.img | wc -c)
	if [ "$total" -ge $((48 * 1024 + 16 * 1024)) ]; then
		say "fds files of $total bytes: the pipe's 48 KiB are stored more than once"
		return 1
	fi
	kill -KILL $APP $(descendants $APP) 2>/dev/null
	wait $APP 2>/dev/null
	"$CRLOAD" "$W/img/latest" >"$W/crload.out" 2>"$W/crload.err" &
	loader=$!
	wait_for logged ': restored from' || { say "not restored"; cat "$W/crload.err" >&2; return 1; }
	sleep 0.2
	kill -USR1 $loader
	wait $loader || { say "the restored tree failed"; tail -3 "$W/err" >&2; return 1; }
}

APP=
t_once
result once $?
[ -n "$APP" ] && kill -KILL $APP $(descendants $APP) 2>/dev/null
wait 2>/dev/null
echo "$suite: $passed passed, $failed failed"
[ $failed -eq 0 ]
