#!/usr/bin/env bash
# Retention (doc/retention.md): SELFCKPT_KEEP=N keeps the N newest
# generations of a SELFCKPT_DIR, never one a crload is restoring, never
# one holding anything but image files; a removal cut short is finished
# by the next checkpoint; numbers never go back.
# Runs under tests/e2e/reaper.
set -u
suite=keep
. "$(dirname "$0")/suite.sh"
trap '[ $failed -eq 0 ] && rm -rf "$root"' EXIT
trap 'exit 1' INT TERM

# start [ENV=VALUE...]: the counter under the runtime in $W, images into
# $IMG, log in $W/log, output in $W/out.K for the Kth program; pid in APP.
runs=0
start() {
	runs=$((runs + 1))
	rm -f "$W/ready"
	(cd "$W" && exec env LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_LOG="$W/log" SELFCKPT_DIR="$IMG" \
		"$@" "$E2E_BIN/counter" >"$W/out.$runs" 2>"$W/err.$runs" </dev/null) &
	APP=$!
	wait_for test -e "$W/ready" || { say "the counter never became ready"; return 1; }
}

# checkpoint PID N: the trigger to PID, until the log reports ckpt-000N.
checkpoint() {
	local name
	name=$(printf 'ckpt-%04d' "$2")
	kill -USR2 "$1"
	wait_for grep -qs ": checkpoint $IMG/$name:" "$W/log" ||
		{ say "no $name:"; cat "$W/log" >&2; return 1; }
}

checkpoints() { cat "$W/log" 2>/dev/null | grep -c ": checkpoint $IMG/ckpt-"; }
at_least() { [ "$(checkpoints)" -ge "$1" ]; }
# gens: what $IMG holds, hidden names too, on one line; generations: the
# generations and latest only (not what crload cut off files it restored,
# in ckpt-000N.cut-M).
gens() { (cd "$IMG" && ls -A | tr '\n' ' '); }
generations() { (cd "$IMG" && ls -A | grep -E '^(ckpt-[0-9]+|latest)$' | tr '\n' ' '); }
generations_are() { [ "$(generations)" = "$1" ]; }
# names N...: the generations ckpt-000N and latest, as gens prints them.
names() {
	local n
	for n in "$@"; do printf 'ckpt-%04d ' "$n"; done
	printf 'latest '
}
# holds N...: $IMG holds exactly these generations and latest, which
# names the newest; a pruning under way may take until then.
holds() {
	local want
	want=$(names "$@")
	wait_for generations_are "$want" ||
		{ say "$IMG holds $(generations), not $want"; return 1; }
	[ "$(readlink "$IMG/latest")" = "$(printf 'ckpt-%04d' "${@: -1}")" ] ||
		{ say "latest names $(readlink "$IMG/latest")"; return 1; }
}

# finishes PID: the program ends right when told to (the counter checks
# its value against a recomputation of every step).
finishes() {
	kill -USR1 "$1"
	wait "$1" || { say "pid $1 did not finish right:"; cat "$W"/err.* >&2; return 1; }
}

# restoring DIR WANT: plain crload DIR restores generation WANT (it is
# left running, waiting for the program, its pid in LOADER and PEER).
restoring() {
	"$CRLOAD" -v "$1" >"$W/crload.out" 2>"$W/crload.err" &
	LOADER=$! PEER=$!
	wait_for grep -qs "process running again" "$W/crload.err" &&
		grep -q "^crload: restoring $1/$2\$" "$W/crload.err" ||
		{ say "crload $1 did not restore $2:"; cat "$W/crload.err" >&2; return 1; }
}

# Periodic checkpoints for several seconds: the KEEP newest remain, the
# newest restores and the program computes what it would have without.
periodic() { # KEEP (empty: unset, 2)
	local keep=${1:-2} n
	IMG=$W/img
	start SELFCKPT_INTERVAL=1 ${1:+SELFCKPT_KEEP=$1} || return 1
	wait_for at_least $((keep + 2)) ||
		{ say "only $(checkpoints) checkpoints:"; cat "$W/log" >&2; return 1; }
	finishes $APP || return 1
	n=$(checkpoints)
	holds $(seq $((n - keep + 1)) $n) || return 1
	! grep -q 'checkpoint failed\|SELFCKPT_KEEP' "$W/log" || { cat "$W/log" >&2; return 1; }
	restoring "$IMG" "$(printf 'ckpt-%04d' $n)" || return 1
	finishes $LOADER
}
t_default() { periodic ''; }
t_keep3() { periodic 3; }
t_keep1() { periodic 1; }

# A value that is not a number of generations of 1 or more: said once,
# and the default kept.
t_garbage() {
	local v base=$W
	for v in 0 2x -3; do
		W=$base/$v IMG=$base/$v/img
		mkdir -p "$W"
		start SELFCKPT_KEEP=$v || return 1
		checkpoint $APP 1 && checkpoint $APP 2 && checkpoint $APP 3 || return 1
		holds 2 3 || return 1
		[ "$(grep -c 'SELFCKPT_KEEP is not a number of generations of 1 or more; keeping 2' \
			"$W/log")" = 1 ] || { say "SELFCKPT_KEEP=$v:"; cat "$W/log" >&2; return 1; }
		finishes $APP || return 1
	done
}

# With SELFCKPT_EXIT=1 the old generations are gone once the program has
# exited.
t_exit() {
	IMG=$W/img
	start || return 1
	checkpoint $APP 1 && checkpoint $APP 2 || return 1
	finishes $APP || return 1
	start SELFCKPT_EXIT=1 || return 1
	kill -USR2 $APP
	wait $APP || { say "SELFCKPT_EXIT=1: the program did not exit with 0:"; cat "$W/log" >&2; return 1; }
	[ "$(generations)" = "$(names 2 3)" ] || { say "$IMG holds $(generations)"; return 1; }
}

# The generation a crload is restoring (stopped at the barrier, a test
# aid) stays while a program checkpoints into the directory; once the
# restored tree runs, the restored program's next checkpoint removes it,
# with crload still there waiting for the program. With the pid free
# crload restores it as it was ("own"), another program checkpointing
# meanwhile; with the pid taken, in a new pid namespace whose init is
# crload's child ("ns"), the first program going on meanwhile.
held() { # own|ns
	local loader first
	IMG=$W/img
	start || return 1
	first=$APP
	checkpoint $APP 1 && checkpoint $APP 2 || return 1
	[ "$1" = ns ] || { kill -KILL $APP; wait $APP 2>/dev/null; }
	SELFCKPT_TEST_STOP_AT=barrier "$CRLOAD" -v "$IMG" >"$W/crload.out" 2>"$W/crload.err" &
	loader=$! PEER=$!
	wait_for grep -qs '^State:[[:space:]]*T' /proc/$loader/status ||
		{ say "crload did not stop at the barrier:"; cat "$W/crload.err" >&2; return 1; }
	if [ "$1" = own ]; then start || return 1; fi
	checkpoint $APP 3 && checkpoint $APP 4 && checkpoint $APP 5 || return 1
	holds 2 4 5 || return 1
	finishes $APP || return 1
	kill -CONT $loader
	wait_for grep -qs "process running again" "$W/crload.err" ||
		{ say "no restore:"; cat "$W/crload.err" >&2; return 1; }
	grep -q "^crload: restoring $IMG/ckpt-0002\$" "$W/crload.err" ||
		{ cat "$W/crload.err" >&2; return 1; }
	if [ "$1" = ns ]; then
		APP=
		grep -q "in a new pid namespace" "$W/crload.err" ||
			{ say "not restored in a namespace:"; cat "$W/crload.err" >&2; return 1; }
	else
		APP=$first
	fi
	checkpoint $loader 6 || return 1
	holds 5 6 || return 1
	finishes $loader
}
t_held() { held own; }
t_held_ns() { held ns; }

# A generation holding a file that is not an image is kept whole, and
# said once however many checkpoints find it.
t_foreign() {
	local files
	IMG=$W/img
	start || return 1
	checkpoint $APP 1 || return 1
	touch "$IMG/ckpt-0001/notes"
	files=$(ls "$IMG/ckpt-0001")
	checkpoint $APP 2 && checkpoint $APP 3 && checkpoint $APP 4 && checkpoint $APP 5 || return 1
	holds 1 4 5 || return 1
	[ "$(ls "$IMG/ckpt-0001")" = "$files" ] || { say "ckpt-0001 lost files"; return 1; }
	[ "$(grep -c "$IMG/ckpt-0001 holds files other than images: kept" "$W/log")" = 1 ] ||
		{ say "not said once:"; cat "$W/log" >&2; return 1; }
	finishes $APP
}

# A pruner killed half way leaves its generation renamed and half
# emptied: the next checkpoint removes it once its pid is dead, never
# while it lives; crload never takes it for a generation.
t_crash() {
	local dead
	IMG=$W/img
	true &
	dead=$!
	wait $dead
	start || return 1
	checkpoint $APP 1 && checkpoint $APP 2 || return 1
	mv "$IMG/ckpt-0001" "$IMG/.ckpt-0001.del-$dead"
	rm "$IMG/.ckpt-0001.del-$dead/inventory.img"
	mkdir "$IMG/.ckpt-0000.del-$$"
	touch "$IMG/.ckpt-0000.del-$$/pages-1.img"
	checkpoint $APP 3 || return 1
	[ "$(gens)" = ".ckpt-0000.del-$$ $(names 2 3)" ] || { say "left: $(gens)"; return 1; }
	finishes $APP || return 1
	restoring "$IMG" ckpt-0003 || return 1
	finishes $LOADER
}

# A damaged newest generation: crload goes back to the one before, which
# retention kept, and the restored program's next checkpoint takes the
# next number, never one used before (doc/retention.md: a generation is
# complete once committed, damaged or not since).
t_damaged() {
	IMG=$W/img
	start || return 1
	checkpoint $APP 1 && checkpoint $APP 2 && checkpoint $APP 3 || return 1
	holds 2 3 || return 1
	finishes $APP || return 1
	flip "$IMG/ckpt-0003/pages-$APP.img" 5000
	restoring "$IMG" ckpt-0002 || return 1
	grep -q "^crload: $IMG/ckpt-0003: skipped: pages-$APP.img: " "$W/crload.err" ||
		{ cat "$W/crload.err" >&2; return 1; }
	checkpoint $LOADER 4 || return 1
	holds 3 4 || return 1
	finishes $LOADER
}

run_cases default keep3 keep1 garbage exit held held_ns foreign crash damaged
