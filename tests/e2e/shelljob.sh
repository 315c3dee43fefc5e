#!/usr/bin/env bash
# crload --shell-job for real, in tmux (doc/shell-job.md). In one tmux
# window an interactive bash runs jobecho (ticks every 0.1 s, echoes the
# lines it reads) as a foreground job; it is checkpointed, and crload
# --shell-job in ANOTHER window makes it a job there: it goes on counting
# on that window, the keys typed there reach it, Ctrl-Z stops it and
# gives the shell back (fg resumes it), Ctrl-C ends it and the prompt
# comes back with status 130. Modes kill, leave (the original keeps
# working in its window beside the copy) and twice (the restored job
# checkpointed again and restored in a third window). A job started
# without the runtime, captured with crdump --shell-job (crdump case).
# Then the refusals:
# without --shell-job, without a terminal, and from the background, one
# line each and no process created. Then the same for a pipeline (the
# pipe_* cases). SHELLJOB_TESTS="kill pipe_kill ..." runs only those.
# Runs under tests/e2e/reaper.
set -u
suite=shelljob
. "$(dirname "$0")/suite.sh"

if ! command -v tmux >/dev/null; then
	echo "SKIP: shelljob: tmux is not installed (see .ci/setup)"
	exit 77
fi
TMUX_SOCK=selfckpt-shelljob-$$
tm() { tmux -L "$TMUX_SOCK" -f /dev/null "$@"; }
trap 'tm kill-server 2>/dev/null; rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$TMUX_SOCK"' EXIT
tm new-session -d -s sj -x 200 -y 50 -n idle 'exec sleep 100000' || { echo "FAIL: shelljob: tmux"; exit 1; }
tm set-option -g history-limit 100000

# window NAME: a new window with an interactive bash (job control on).
window() {
	tm new-window -d -n "$1" "env -u TMUX PS1='sj\$ ' bash --norc --noprofile -i"
	wait_for prompt "$1" || { say "no prompt in window $1"; return 1; }
}
type_in() { tm send-keys -t "sj:$1" -l -- "$2" && tm send-keys -t "sj:$1" Enter; } # NAME TEXT
screen() { tm capture-pane -p -J -S - -t "sj:$1"; }
shows() { screen "$1" | grep -qE -- "$2"; }
prompt() { [[ "$(screen "$1" | grep -v '^$' | tail -n 1)" =~ sj\$\ *$ ]]; }
# A tick may share its line with the echo of keys typed meanwhile
# ("typed in Btick 3"): it is the line's end that counts.
ticks() { screen "$1" | sed -n 's/^\(.*[^0-9]\)\{0,1\}tick \([0-9]*\)$/\2/p'; }
last_tick() { ticks "$1" | tail -n 1; }
# ticking NAME [SECONDS]: the job prints on NAME's window (a new tick
# within SECONDS, 5 by default); quiet NAME: no new tick for a second.
ticking() {
	local a b i
	a=$(last_tick "$1")
	for ((i = 0; i < ${2:-5} * 20; i++)); do
		sleep 0.05
		b=$(last_tick "$1")
		[ "${b:-0}" -gt "${a:-0}" ] && return 0
	done
	return 1
}
quiet() { ! ticking "$1" 1; }
# recorded AS: crinfo shows the image a job of a shell, AS in the terminal.
recorded() {
	local pgid
	pgid=$(sed 's/.*) //' "/proc/$APP/stat" | cut -d' ' -f3)
	"$CRINFO" show "$W/img/latest" | grep -q "a job of a shell (process group $pgid, $1)" ||
		{ say "crinfo does not show a job $1:"; "$CRINFO" show "$W/img/latest" >&2; return 1; }
}
logged() {
	local n
	n=$(grep -c "$1" "$W/log" 2>/dev/null)
	[ "${n:-0}" -ge "${2:-1}" ]
}

# start_job NAME [PREFIX [SUFFIX]]: jobecho in window NAME (in the
# foreground; PREFIX/SUFFIX may change that), its pid in $APP.
start_job() {
	window "$1" || return 1
	type_in "$1" "cd $W && ${2:-} env LD_PRELOAD=$SELFCKPT_LIB SELFCKPT_DIR=$W/img SELFCKPT_LOG=$W/log $E2E_BIN/jobecho $W/app.pid ${3:-}"
	wait_for test -s "$W/app.pid" && ticking "$1" || { say "jobecho does not run in $1"; return 1; }
	APP=$(cat "$W/app.pid")
}

checkpoint() { # PID N
	kill -USR2 "$1"
	wait_for logged ': checkpoint /\|checkpoint failed' "$2" || { say "no checkpoint #$2"; return 1; }
	! logged 'checkpoint failed' || { say "$(cat "$W/log")"; return 1; }
}

# restore_in NAME: crload --shell-job in a new window NAME; the job must
# go on counting there from where it was, not from the start.
restore_in() {
	local n first
	n=$(grep -c 'restored from' "$W/log")
	window "$1" || return 1
	type_in "$1" "$CRLOAD --shell-job $W/img/latest"
	wait_for logged 'restored from' $((n + 1)) || { say "not restored"; screen "$1" >&2; return 1; }
	ticking "$1" || { say "the job does not print in window $1"; screen "$1" >&2; return 1; }
	first=$(ticks "$1" | head -n 1)
	[ "$first" -gt 1 ] || { say "window $1 counts from $first: not the checkpointed job"; return 1; }
}

# echoes NAME TEXT: a line typed in NAME reaches the job there.
echoes() {
	type_in "$1" "$2"
	wait_for shows "$1" "^echo: $2\$" || { say "'$2' typed in $1 not echoed"; screen "$1" >&2; return 1; }
}

# interrupt NAME: Ctrl-C ends the job; the prompt is back, crload's status 130.
interrupt() {
	tm send-keys -t "sj:$1" C-c
	wait_for prompt "$1" || { say "no prompt after Ctrl-C in $1"; screen "$1" >&2; return 1; }
	quiet "$1" || { say "the job in $1 still prints after Ctrl-C"; return 1; }
	type_in "$1" 'echo "crload exit $?"'
	wait_for shows "$1" '^crload exit 130$' || { say "crload in $1 did not exit 130"; screen "$1" >&2; return 1; }
}

# suspend NAME: Ctrl-Z stops the job and gives the shell back; fg resumes.
suspend() {
	tm send-keys -t "sj:$1" C-z
	wait_for shows "$1" 'Stopped.*crload' || { say "Ctrl-Z: no stopped job in $1"; screen "$1" >&2; return 1; }
	wait_for prompt "$1" || { say "Ctrl-Z: no prompt in $1"; return 1; }
	quiet "$1" || { say "the job in $1 prints while stopped"; return 1; }
	type_in "$1" fg
	ticking "$1" || { say "fg: the job in $1 does not go on"; screen "$1" >&2; return 1; }
}

t_kill() {
	start_job A && checkpoint "$APP" 1 && recorded "in its terminal's foreground" || return 1
	kill -KILL "$APP"
	restore_in B && echoes B 'typed in B' && suspend B && echoes B 'after fg' || return 1
	! shows A '^echo:' || { say "window A got B's input"; return 1; }
	interrupt B
}

# both_on_their_own: the original goes on in window A beside the copy in
# B, and each job gets only its own window's input.
both_on_their_own() {
	ticking A || { say "the original stopped printing"; return 1; }
	# The copy runs in a new pid namespace: its init reports the stop.
	echoes A 'to the original' && suspend B && echoes B 'to the copy' || return 1
	! shows A '^echo: to the copy' && ! shows B '^echo: to the original' ||
		{ say "input went to the wrong job"; return 1; }
}

t_leave() {
	start_job A && checkpoint "$APP" 1 && restore_in B && both_on_their_own &&
		interrupt B && interrupt A
}

t_twice() {
	local crload
	start_job A && checkpoint "$APP" 1 || return 1
	kill -KILL "$APP"
	restore_in B && echoes B 'first copy' || return 1
	# crload forwards SIGUSR2 to the job it restored.
	crload=$(pgrep -P "$(tm display -p -t sj:B '#{pane_pid}')" crload)
	checkpoint "$crload" 2 && interrupt B || return 1
	restore_in C && echoes C 'second copy' && interrupt C
}

# A job that was in the background comes back in the background: it
# prints, and reading the terminal stops it (SIGTTIN); crload stops with
# it, and fg gives it the terminal (the line typed meanwhile went to bash).
t_background() {
	start_job A '' '&' && checkpoint "$APP" 1 && recorded 'in the background' || return 1
	kill -KILL "$APP"
	restore_in B || return 1
	type_in B true # read by the job: SIGTTIN; then by bash, as a command
	wait_for shows B 'Stopped.*crload' || { say "reading did not stop the job"; screen B >&2; return 1; }
	wait_for prompt B && quiet B || { say "no prompt or still printing"; return 1; }
	type_in B fg # the job reads on: what it waits for comes next
	echoes B 'in the foreground' && ticking B && interrupt B
}

# Not a shell job (it leads its own session, with no controlling
# terminal): --shell-job changes nothing, and Ctrl-C reaches crload, which
# passes it on.
t_not_a_job() {
	start_job A 'setsid -w' && checkpoint "$APP" 1 || return 1
	! "$CRINFO" show "$W/img/latest" | grep -q 'job of a shell' || { say "taken for a shell job"; return 1; }
	kill -KILL "$APP"
	restore_in B && echoes B 'read anyway' && interrupt B
}

# ---- a pipeline: seq | jobfilter | cat, every command with the runtime ----

# start_pipeline NAME [SEQ_END [REST]]: in window NAME, with the runtime
# exported by its shell, `seq 1 SEQ_END | REST` (by default
# `| jobfilter | cat`: ticks are the numbers seq wrote); $APP: the job's
# leader, seq.
start_pipeline() {
	window "$1" || return 1
	type_in "$1" "cd $W && export LD_PRELOAD=$SELFCKPT_LIB SELFCKPT_DIR=$W/img SELFCKPT_LOG=$W/log"
	type_in "$1" "seq 1 ${2:-100000000} | ${3:-$E2E_BIN/jobfilter $W/app.pid | cat}"
	wait_for test -s "$W/app.pid" && ticking "$1" || { say "the pipeline does not run in $1"; return 1; }
	APP=$(cat "$W/app.pid")
	[ "$(cat "/proc/$APP/comm")" = seq ] || { say "the job's leader $APP is not seq"; return 1; }
}

# checkpoint_job PID N: the Nth checkpoint of the whole job (3 processes).
checkpoint_job() {
	kill -USR2 "$1"
	wait_for logged ': checkpoint /[^ ]* (3 processes)' "$2" || { say "no checkpoint #$2 of the job"; cat "$W/log" >&2; return 1; }
	! logged 'checkpoint failed' || { say "$(cat "$W/log")"; return 1; }
}

# one_job NAME: the terminal of window NAME runs seq, jobfilter and cat,
# all in one process group, which is its foreground group.
one_job() {
	local tty ps
	tty=$(tm display -p -t "sj:$1" '#{pane_tty}')
	ps=$(ps -t "${tty#/dev/}" -o pgid=,tpgid=,comm= | awk '$3 == "seq" || $3 == "jobfilter" || $3 == "cat"')
	[ "$(echo "$ps" | wc -l)" -eq 3 ] && [ "$(echo "$ps" | awk '{print $1, $2}' | sort -u | wc -l)" -eq 1 ] &&
		echo "$ps" | awk '{exit !($1 == $2)}' ||
		{ say "window $1: not one foreground job of seq, jobfilter, cat:"; echo "$ps" >&2; return 1; }
}

# consecutive NAME: the ticks on window NAME count up by one, no line
# of seq's lost or repeated by the checkpoint.
consecutive() {
	ticks "$1" | awk 'NR > 1 && $1 != prev + 1 { bad = 1 } { prev = $1 } END { exit bad }' ||
		{ say "window $1: ticks not consecutive"; screen "$1" >&2; return 1; }
}

restore_pipeline_in() {
	local n
	n=$(grep -c 'restored from' "$W/log")
	restore_in "$1" && wait_for logged 'restored from' $((n + 3)) && one_job "$1"
}

t_pipe_kill() {
	start_pipeline A && checkpoint_job "$APP" 1 && recorded "in its terminal's foreground" || return 1
	kill -KILL -- "-$APP"
	restore_pipeline_in B && echoes B 'typed in B' && suspend B && echoes B 'after fg' || return 1
	! shows A '^echo:' || { say "window A got B's input"; return 1; }
	consecutive B && interrupt B
}

t_pipe_leave() {
	start_pipeline A && checkpoint_job "$APP" 1 && restore_pipeline_in B && both_on_their_own &&
		consecutive A && consecutive B && interrupt B && interrupt A
}

t_pipe_twice() {
	local crload
	start_pipeline A && checkpoint_job "$APP" 1 || return 1
	kill -KILL -- "-$APP"
	restore_pipeline_in B && echoes B 'first copy' || return 1
	# crload forwards SIGUSR2 to the job's leader, which takes the job.
	crload=$(pgrep -P "$(tm display -p -t sj:B '#{pane_pid}')" crload)
	checkpoint_job "$crload" 2 && interrupt B || return 1
	restore_pipeline_in C && echoes C 'second copy' && consecutive C && interrupt C
}

# A pipeline that was in the background comes back in the background:
# jobfilter reading the terminal stops the whole job, crload with it, and
# fg gives the job the terminal.
t_pipe_background() {
	start_pipeline A '' "$E2E_BIN/jobfilter $W/app.pid | cat &" && checkpoint_job "$APP" 1 &&
		recorded 'in the background' || return 1
	kill -KILL -- "-$APP"
	restore_in B || return 1
	type_in B true
	wait_for shows B 'Stopped.*crload' || { say "reading did not stop the job"; screen B >&2; return 1; }
	wait_for prompt B && quiet B || { say "no prompt or still printing"; return 1; }
	type_in B fg
	echoes B 'in the foreground' && ticking B && consecutive B && interrupt B
}

# The trigger sent to the whole group (bash's `kill -USR2 %1`) makes one
# checkpoint of the job; sent to a command other than the leader, it is
# passed on to the leader.
t_pipe_signals() {
	local filter
	start_pipeline A || return 1
	type_in A "" # the job ignores the empty line; bash's kill needs no job here
	kill -USR2 -- "-$APP"
	wait_for logged ': checkpoint /[^ ]* (3 processes)' 1 || { say "group signal: no checkpoint"; return 1; }
	sleep 1
	[ "$(grep -c ': checkpoint /[^ ]* (3 processes)' "$W/log")" -eq 1 ] && ! logged 'checkpoint failed' ||
		{ say "group signal: not exactly one checkpoint of the job:"; cat "$W/log" >&2; return 1; }
	filter=$(pgrep -g "$APP" jobfilter)
	kill -USR2 "$filter"
	wait_for logged "checkpoint asked of the job's leader, pid $APP" &&
		wait_for logged ': checkpoint /[^ ]* (3 processes)' 2 || { say "a member's signal: no checkpoint"; cat "$W/log" >&2; return 1; }
	kill -KILL -- "-$APP"
	restore_pipeline_in B && consecutive B && interrupt B
}

# A pipeline that ends by itself: crload exits with its last command's
# status (jobfilter exits 3 after 60 lines; seq and cat die of SIGPIPE).
t_pipe_status() {
	start_pipeline A '' "cat | $E2E_BIN/jobfilter $W/app.pid 3 60" && checkpoint_job "$APP" 1 || return 1
	kill -KILL -- "-$APP"
	restore_in B && consecutive B || return 1
	wait_for shows B '^tick 60$' && wait_for prompt B || { say "the pipeline did not end"; screen B >&2; return 1; }
	type_in B 'echo "crload exit $?"'
	wait_for shows B '^crload exit 3$' || { say "crload did not exit 3"; screen B >&2; return 1; }
}

# refused WINDOW COMMAND PATTERN: crload, its stderr to $W/crload.err,
# fails with one line matching PATTERN and creates no process.
refused() {
	local n
	n=$(grep -c 'restored from' "$W/log")
	type_in "$1" "$2; echo \"crload exit \$?\""
	wait_for shows "$1" '^crload exit' || return 1
	shows "$1" '^crload exit 1$' || { say "$2: not refused"; return 1; }
	[ "$(wc -l <"$W/crload.err")" -eq 1 ] && grep -q -- "$3" "$W/crload.err" ||
		{ say "$2: expected one line with '$3':"; cat "$W/crload.err" >&2; return 1; }
	sleep 0.3
	[ "$(grep -c 'restored from' "$W/log")" -eq "$n" ] || { say "$2 restored it"; return 1; }
}

t_refusals() {
	start_job A && checkpoint "$APP" 1 || return 1
	kill -KILL "$APP"
	window B || return 1
	refused B "$CRLOAD $W/img/latest 2>$W/crload.err" \
		"is a job of a shell on /dev/pts/.*restore it with --shell-job" &&
		refused B "$CRLOAD --shell-job $W/img/latest 2>$W/crload.err & wait \$!" \
			"is not in its terminal's foreground" || return 1
	local st=0
	setsid -w "$CRLOAD" --shell-job "$W/img/latest" </dev/null >/dev/null 2>"$W/crload.err" || st=$?
	[ $st -eq 1 ] && [ "$(wc -l <"$W/crload.err")" -eq 1 ] &&
		grep -q -- '--shell-job: crload has no controlling terminal' "$W/crload.err" ||
		{ say "no terminal: not refused clearly:"; cat "$W/crload.err" >&2; return 1; }
}

# crdump: a job that does not run the runtime. Without --shell-job crdump
# refuses it in one line and it runs on; with it, the image restores as
# a job of another window.
t_crdump() {
	window A || return 1
	type_in A "cd $W && $E2E_BIN/jobecho $W/app.pid"
	wait_for test -s "$W/app.pid" && ticking A || { say "jobecho does not run in A"; return 1; }
	APP=$(cat "$W/app.pid")
	local st=0
	"$CRDUMP" -t "$APP" -D "$W/img" 2>"$W/crdump.err" || st=$?
	[ $st -eq 1 ] && [ "$(wc -l <"$W/crdump.err")" -eq 1 ] && grep -q -- '--shell-job' "$W/crdump.err" ||
		{ say "crdump did not refuse the job clearly:"; cat "$W/crdump.err" >&2; return 1; }
	ticking A || { say "the job stopped after the refusal"; return 1; }
	"$CRDUMP" -t "$APP" -D "$W/img" --shell-job 2>"$W/crdump.err" ||
		{ cat "$W/crdump.err" >&2; return 1; }
	window B || return 1
	type_in B "$CRLOAD --shell-job $W/img"
	ticking B || { say "the job does not print in window B"; screen B >&2; return 1; }
	[ "$(ticks B | head -n 1)" -gt 1 ] || { say "window B counts from the start"; return 1; }
	echoes B 'typed in B' && suspend B && echoes B 'after fg' && interrupt B
}

for t in ${SHELLJOB_TESTS:-kill leave twice background not_a_job refusals pipe_kill pipe_leave \
	pipe_twice pipe_background pipe_signals pipe_status crdump}; do
	W=$root/$t
	mkdir -p "$W"
	APP=
	"t_$t"
	st=$?
	for w in A B C; do tm kill-window -t "sj:$w" 2>/dev/null; done
	[ -n "$APP" ] && kill -KILL "$APP" 2>/dev/null
	[ $st -eq 0 ] || { for f in log crload.err; do [ -e "$W/$f" ] && sed "s/^/    $f: /" "$W/$f" >&2; done; }
	result "$t" $st
done
[ $failed -eq 0 ] && rm -rf "$root"
echo "shelljob: $passed passed, $failed failed"
[ $failed -eq 0 ]
