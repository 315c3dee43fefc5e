# Sourced by the shell test suites (options.sh, tty.sh) after setting
# suite=NAME: a work root, clean descriptors, and the helpers to wait,
# say why, and count results.
: "${SELFCKPT_LIB:?}" "${CRLOAD:?}" "${E2E_BIN:?}" "${suite:?}"
root=$(mktemp -d "${TMPDIR:-/tmp}/selfckpt-$suite.XXXXXX")
passed=0 failed=0
. "$(dirname "${BASH_SOURCE[0]}")/../close-fds.sh"
close_extra_fds

result() { # NAME STATUS (77: skipped, the test said why)
	if [ "$2" -eq 77 ]; then
		return
	elif [ "$2" -eq 0 ]; then
		passed=$((passed + 1)); echo "PASS: $suite/$1"
	else
		failed=$((failed + 1)); echo "FAIL: $suite/$1 (work dir $root/$1)"
	fi
}
say() { printf '  %s\n' "$*" >&2; }
# Descriptors no kind handles, for tests/e2e/helpers/unsupported: KIND:what the
# failure must name (an ERE).
unsupported_kinds=(uring:'anon_inode:\[io_uring\]' perf:'anon_inode:\[perf_event\]'
	device:'/dev/loop-control\): a device whose state a reopen would lose')
# run_cases NAME...: runs each t_NAME in a work dir $W of its own, then
# kills what it left in $APP and $PEER, and counts the result.
run_cases() {
	local t st
	for t in "$@"; do
		W=$root/$t
		mkdir -p "$W"
		APP= PEER=
		"t_$t"
		st=$?
		[ -n "$APP" ] && kill -KILL "$APP" 2>/dev/null
		[ -n "${PEER:-}" ] && kill -KILL "$PEER" 2>/dev/null
		wait 2>/dev/null
		result "$t" $st
	done
	echo "$suite: $passed passed, $failed failed"
	[ $failed -eq 0 ]
}
wait_for() {
	local i
	for ((i = 0; i < 600; i++)); do "$@" && return 0; sleep 0.05; done
	return 1
}
# The tmpfs a suite mounted (mounts+=DIR), unmounted by end_suite.
mounts=()
# end_suite: what a suite with mounts runs on exit (trap end_suite EXIT):
# they are unmounted, and the work root removed unless a test failed.
end_suite() {
	local m
	for m in "${mounts[@]}"; do umount "$m" 2>/dev/null; done
	[ $failed -eq 0 ] && rm -rf "$root"
}
# logged TEXT: the runtime's log in $W says TEXT.
logged() { grep -q "$1" "$W/log" 2>/dev/null; }
# descendants PID: every process below PID.
descendants() {
	local c
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		echo "$c"
		descendants "$c"
	done
}
# stops IMAGE WORD: crload IMAGE fails in one line naming WORD, having
# made processes maybe (it checks the pages as it fills memory,
# doc/checksums.md), none of which ran on: the program's output ($W/out)
# is as it was, or shorter (crload cuts back files before it forks, and
# says so before its one line), and no process of the runtime's logged
# that it was restored.
stops() {
	local st=0 before restored
	before=$(stat -c %s "$W/out")
	restored=$(grep -cs 'restored from' "$W/log")
	timeout -s KILL 60 "$CRLOAD" "$1" >/dev/null 2>"$W/crload.all" </dev/null || st=$?
	grep -v ': cut back to the ' "$W/crload.all" >"$W/crload.err"
	if [ $st -eq 0 ]; then say "crload restored $1"; return 1; fi
	if [ "$(wc -l <"$W/crload.err")" -ne 1 ] || ! grep -q -- "$2" "$W/crload.err"; then
		say "expected one line naming '$2', got:"; sed 's/^/    /' "$W/crload.err" >&2
		return 1
	fi
	[ "$(stat -c %s "$W/out")" -le "$before" ] &&
		[ "$(grep -cs 'restored from' "$W/log")" = "$restored" ] ||
		{ say "the program ran again"; return 1; }
}
# crload refusing an image: non-zero, one line naming the problem, no fork.
# A command that runs crload (with options) may replace plain "$CRLOAD".
# A crload that restores instead waits for the program: the timeout ends it.
refuses() { # IMAGE WORD-EXPECTED-IN-MESSAGE [COMMAND...]
	local st=0 run=("${@:3}")
	[ ${#run[@]} -gt 0 ] || run=("$CRLOAD")
	timeout -s KILL 60 strace -f -qq -e trace=clone,clone3,fork,vfork -o "$W/trace" \
		"${run[@]}" "$1" >/dev/null 2>"$W/crload.err" || st=$?
	if [ $st -eq 0 ]; then say "crload accepted $1"; return 1; fi
	if [ "$(wc -l <"$W/crload.err")" -ne 1 ] || ! grep -q -- "$2" "$W/crload.err"; then
		say "expected one line naming '$2', got:"; sed 's/^/    /' "$W/crload.err" >&2
		return 1
	fi
	if grep -qE 'clone|fork' "$W/trace"; then say "crload created a process"; return 1; fi
}
# checkpointed PROGRAM [RUNNER...]: starts e2e PROGRAM under the runtime in
# $W (through RUNNER, e.g. setpriv, if given), checkpoints it and leaves it
# running, its pid in APP.
checkpointed() {
	local prog=$1
	shift
	(cd "$W" && exec "$@" env LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_LOG="$W/log" \
		SELFCKPT_DIR="$W/img" "$E2E_BIN/$prog" >"$W/out" 2>"$W/err" </dev/null) &
	APP=$!
	wait_for test -e "$W/ready" || { say "$prog never became ready"; return 1; }
	sleep 0.2
	kill -USR2 $APP
	wait_for logged ': checkpoint /' || { say "no checkpoint"; return 1; }
	if logged 'checkpoint failed'; then
		say "checkpoint failed:"
		cat "$W/log" >&2
		return 1
	fi
}
gen() { printf 'ckpt-%04d' "$1"; }
# checkpointed_times N [ENV...] PROGRAM: e2e PROGRAM under the runtime in
# $W, with ENV, checkpointed N times in a row while it runs on (ckpt-0001
# to N in $W/img), then killed; its pid in PID.
checkpointed_times() {
	local n=$1 i
	shift
	(cd "$W" && exec env LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_LOG="$W/log" \
		SELFCKPT_DIR="$W/img" "${@:1:$#-1}" "$E2E_BIN/${!#}" >"$W/out" 2>"$W/err" </dev/null) &
	APP=$!
	wait_for test -e "$W/ready" || { say "${!#} never became ready"; return 1; }
	for ((i = 1; i <= n; i++)); do
		kill -USR2 $APP
		wait_for logged ": checkpoint $W/img/$(gen $i):" || { say "no checkpoint $i"; return 1; }
	done
	if logged 'checkpoint failed'; then say "a checkpoint failed:"; cat "$W/log" >&2; return 1; fi
	kill -KILL $APP
	wait $APP 2>/dev/null
	PID=$APP APP=
}
# restored_finishes IMAGE: plain crload IMAGE restores the program, which
# then finishes right when told to (its own checks passed).
restored_finishes() {
	local loader
	rm -f "$W/pid"
	"$CRLOAD" --pidfile "$W/pid" "$1" >"$W/crload.out" 2>"$W/crload.err" &
	loader=$!
	if ! wait_for test -s "$W/pid"; then
		say "crload $1 did not restore:"; cat "$W/crload.err" >&2
		kill -KILL $loader 2>/dev/null; wait $loader 2>/dev/null
		return 1
	fi
	sleep 0.2
	kill -USR1 $loader
	wait $loader || { say "the program restored from $1 failed:"; cat "$W/err" "$W/crload.err" >&2; return 1; }
}
flip() { # FILE OFFSET: one byte of FILE changed
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $(((b ^ 0x5a) & 255)))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
