#!/usr/bin/env bash
# A program on a terminal keeps writing to the terminal it is restored in.
# ttyout runs on a pty (util-linux `script`), holding its terminal as
# stdin/stdout/stderr, /dev/tty, the /dev/pts/N path and a dup; crload
# runs on ANOTHER pty, and the lines the restored program writes through
# each must show up there (kill, leave and twice, like tests/e2e/run).
# The program is a job of that shell (shelljob.sh tests --shell-job
# itself), so crload runs with --shell-job. Then the failures: crload
# without a controlling terminal refuses clearly, and a checkpoint refuses a terminal that is not the
# program's (someone else's pty, a serial port) naming the fd.
# Runs under tests/e2e/reaper.
set -u
suite=tty
. "$(dirname "$0")/suite.sh"
gone() { ! kill -0 "$1" 2>/dev/null; }
logged() {
	local n
	n=$(grep -c "$1" "$W/log" 2>/dev/null)
	[ "${n:-0}" -ge "${2:-1}" ]
}

# on_pty NAME COMMAND...: runs COMMAND in bash on a new pty in the
# background; what it writes to its terminal goes to $W/NAME.term.
on_pty() {
	local name=$1
	shift
	printf '%q ' "$@" >"$W/$name.cmd"
	script -qfec "bash $W/$name.cmd" /dev/null >"$W/$name.term" 2>&1 </dev/null &
	PTYS+=($!)
}

# The app (not a session leader: a job of the shell on the pty), its pid
# in $W/app.pid, stdin too on the terminal.
start_app() {
	cat >"$W/app.sh" <<EOF
cd "$W"
LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_DIR="$W/img" SELFCKPT_LOG="$W/log" "$E2E_BIN/ttyout" <"\$(tty)" &
echo \$! >"$W/app.pid"
wait
EOF
	on_pty A bash "$W/app.sh"
	wait_for test -e "$W/ready" || { say "ttyout never became ready"; return 1; }
	APP=$(cat "$W/app.pid")
	sleep 0.2
}

checkpoint() { # PID N
	kill -USR2 "$1"
	wait_for logged ': checkpoint /\|checkpoint failed' "$2" || { say "no checkpoint #$2"; return 1; }
	logged 'checkpoint failed' && { say "$(cat "$W/log")"; return 1; }
	return 0
}

# restore_on NAME: crload on a new pty; its pid in $W/NAME.pid.
restore_on() {
	cat >"$W/$1.sh" <<EOF
"$CRLOAD" --shell-job "$W/img/latest" <"\$(tty)" &
echo \$! >"$W/$1.pid"
wait \$!
echo "crload exit \$?"
EOF
	local n
	n=$(grep -c 'restored from' "$W/log")
	on_pty "$1" bash "$W/$1.sh"
	wait_for logged 'restored from' $((n + 1)) || { say "not restored"; cat "$W/$1.term" >&2; return 1; }
	sleep 0.3
}

# The restored program's lines, through every descriptor, are on NAME's
# terminal (and its exit status with them).
wrote_on() {
	local f="$W/$1.term" line
	wait_for grep -q 'crload exit' "$f"
	for line in 'after: stdout' 'after: /dev/tty' 'after: the pts path' 'after: a dup' \
		'ttyout: PASS' 'crload exit 0'; do
		grep -q "$line" "$f" || { say "'$line' not on terminal $1:"; sed 's/^/    /' "$f" >&2; return 1; }
	done
}
silent_on() { ! grep -q 'after:' "$W/$1.term" || { say "terminal $1 was written to"; return 1; }; }

t_kill() {
	start_app && checkpoint "$APP" 1 || return 1
	kill -KILL "$APP"; wait_for gone "$APP"
	restore_on B || return 1
	kill -USR1 "$(cat "$W/B.pid")"
	wrote_on B && silent_on A
}

t_leave() {
	start_app && checkpoint "$APP" 1 || return 1
	restore_on B || return 1
	kill -USR1 "$APP"
	kill -USR1 "$(cat "$W/B.pid")"
	wrote_on B && wait_for grep -q 'ttyout: PASS' "$W/A.term"
}

t_twice() {
	start_app && checkpoint "$APP" 1 || return 1
	kill -KILL "$APP"; wait_for gone "$APP"
	restore_on B || return 1
	checkpoint "$(cat "$W/B.pid")" 2 || return 1
	kill -KILL "$APP" 2>/dev/null || kill -KILL "$(cat "$W/B.pid")"
	wait_for grep -q 'crload exit' "$W/B.term"
	restore_on C || return 1
	kill -USR1 "$(cat "$W/C.pid")"
	wrote_on C && silent_on B
}

# crload with no controlling terminal: one clear line, no process left.
t_no_ctty() {
	start_app && checkpoint "$APP" 1 || return 1
	kill -KILL "$APP"; wait_for gone "$APP"
	local st=0
	setsid -w "$CRLOAD" --shell-job "$W/img/latest" </dev/null >/dev/null 2>"$W/crload.err" || st=$?
	[ $st -ne 0 ] || { say "crload restored /dev/tty without a terminal"; return 1; }
	grep -q -- '--shell-job: crload has no controlling terminal' "$W/crload.err" ||
		{ say "unclear error:"; cat "$W/crload.err" >&2; return 1; }
}

# The same for a program that leads its session (so it is no shell job):
# crload, without a terminal, cannot reopen its /dev/tty and says so.
t_no_ctty_leader() {
	cat >"$W/leader.sh" <<EOF
cd "$W"
echo \$\$ >"$W/app.pid"
LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_DIR="$W/img" SELFCKPT_LOG="$W/log" exec "$E2E_BIN/ttyout"
EOF
	script -qfec "exec sh $W/leader.sh" /dev/null >"$W/A.term" 2>&1 </dev/null &
	PTYS+=($!)
	wait_for test -e "$W/ready" || { say "ttyout never became ready"; return 1; }
	APP=$(cat "$W/app.pid")
	[ "$(sed 's/.*) //' "/proc/$APP/stat" | cut -d' ' -f4)" = "$APP" ] || { say "not a session leader"; return 1; }
	checkpoint "$APP" 1 || return 1
	kill -KILL "$APP"; wait_for gone "$APP"
	local st=0
	setsid -w "$CRLOAD" "$W/img/latest" </dev/null >/dev/null 2>"$W/crload.err" || st=$?
	[ $st -ne 0 ] || { say "crload restored /dev/tty without a terminal"; return 1; }
	grep -q 'fd [0-9]*: /dev/tty: crload has no controlling terminal' "$W/crload.err" ||
		{ say "unclear error:"; cat "$W/crload.err" >&2; return 1; }
}

# ttyout holding PATH (not its terminal): the checkpoint fails naming it,
# leaves no image, and the program runs on.
refused() { # PATH
	(cd "$W" && exec env LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_DIR="$W/img" SELFCKPT_LOG="$W/log" \
		"$E2E_BIN/ttyout" "$1" >"$W/out" 2>"$W/err" </dev/null) &
	APP=$!
	wait_for test -e "$W/ready" || { say "never ready"; cat "$W/err" >&2; return 1; }
	kill -USR2 $APP
	wait_for logged 'checkpoint failed' || { say "the checkpoint did not fail"; return 1; }
	grep -q "fd [0-9]* ($1): a terminal that is neither" "$W/log" ||
		{ say "the failure does not name $1:"; cat "$W/log" >&2; return 1; }
	[ -z "$(ls -A "$W/img" 2>/dev/null)" ] || { say "an image was left"; return 1; }
	kill -USR1 $APP
	wait $APP || { say "the program did not survive"; return 1; }
}

t_foreign_pty() {
	on_pty other bash -c "tty >$W/other; exec sleep 60"
	wait_for test -s "$W/other" || return 1
	refused "$(cat "$W/other")"
}

t_serial() {
	if ! [ -c /dev/ttyS0 ] || ! python3 -c 'import os; os.open("/dev/ttyS0", os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)' 2>/dev/null; then
		echo "SKIP: tty/serial: no /dev/ttyS0 to open here"
		return 77
	fi
	refused /dev/ttyS0
}

for t in kill leave twice no_ctty no_ctty_leader foreign_pty serial; do
	W=$root/$t
	mkdir -p "$W"
	APP= PTYS=()
	"t_$t"
	st=$?
	for p in $APP "${PTYS[@]}" $(cat "$W"/*.pid 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	result "$t" $st
done
[ $failed -eq 0 ] && rm -rf "$root"
echo "tty: $passed passed, $failed failed"
[ $failed -eq 0 ]
