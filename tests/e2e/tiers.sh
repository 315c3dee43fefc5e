#!/usr/bin/env bash
# Two tiers (doc/tiers.md): generations written to a local SELFCKPT_DIR and
# flushed in the background to a shared SELFCKPT_FLUSH_DIR. A node-local
# tier lost restores from the shared one, with crload and with crrun; a
# flush killed midway leaves the shared tier with only complete
# generations; the local copy is preferred when as new; incremental chains
# reach the shared tier whole, whatever the local pruner does, and the
# shared tier's pruning keeps them whole; a tree's root flushes its images;
# a generation damaged on the local tier is not flushed.
# Runs under tests/e2e/reaper. One case: tests/e2e/tiers.sh CASE...
set -u
suite=tiers
. "$(dirname "$0")/suite.sh"
: "${CRRUN:?}" "${CRINFO:?}" "${BATCH_BIN:?}"
CRFLUSH=$(dirname "$CRRUN")/crflush
trap '[ $failed -eq 0 ] && rm -rf "$root"' EXIT
trap 'exit 1' INT TERM

STEPS=40 MS=100
"$BATCH_BIN/batchjob" $STEPS "$root/ref" 10 >/dev/null || exit 1

# start [ENV=VALUE...]: batchjob under the runtime in $W, generations in
# $W/local flushed to $W/shared, log in $W/log; its pid in APP.
start() {
	(cd "$W" && exec env LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_LOG="$W/log" \
		SELFCKPT_DIR="$W/local" SELFCKPT_FLUSH_DIR="$W/shared" "$@" \
		"$BATCH_BIN/batchjob" $STEPS res $MS >"$W/out" 2>"$W/err" </dev/null) &
	APP=$!
	wait_for grep -qs '^step 2 ' "$W/res" || { say "batchjob never started"; return 1; }
}
gen() { printf 'ckpt-%04d' "$1"; }
# checkpoint N: the trigger, until the log says generation N was written.
checkpoint() {
	kill -USR2 "$APP"
	wait_for grep -qs ": checkpoint $W/local/$(gen "$1"):" "$W/log" ||
		{ say "no $(gen "$1"):"; cat "$W/log" >&2; return 1; }
}
# flushed N: crflush logged generation N on the shared tier.
flushed() {
	wait_for grep -qs "/$(gen "$1") flushed to $W/shared" "$W/log" ||
		{ say "$(gen "$1") never flushed:"; cat "$W/log" >&2; return 1; }
}
# node_fails: the program killed -9 and its local tier gone.
node_fails() {
	kill -KILL "$APP"
	wait "$APP" 2>/dev/null
	APP=
	rm -rf "$W/local"
}
same_result() {
	cmp -s "$W/res" "$root/ref" || { say "res differs from an uninterrupted run's:";
		diff "$W/res" "$root/ref" | head -5 >&2; return 1; }
}
# restores [CRLOAD OPTIONS...]: crload --flush-dir of the tiers, run to the
# program's end; its lines in $W/crload.err.
restores() {
	(cd "$W" && timeout -s KILL 120 "$CRLOAD" -v "$@" --flush-dir "$W/shared" "$W/local" \
		>/dev/null 2>"$W/crload.err" </dev/null) ||
		{ say "crload failed:"; cat "$W/crload.err" >&2; return 1; }
}
restored_from() {
	grep -q "crload: restoring $1\$" "$W/crload.err" ||
		{ say "not restored from $1:"; cat "$W/crload.err" >&2; return 1; }
}

# shared_holds N...: the shared tier holds exactly these generations,
# once its pruning is done.
shared_gens() { (cd "$W/shared" && ls -A | grep -E '^ckpt-[0-9]+$' | tr '\n' ' '); }
shared_holds() {
	local want n
	want=$(for n in "$@"; do printf '%s ' "$(gen "$n")"; done)
	wait_for eval '[ "$(shared_gens)" = "$want" ]' ||
		{ say "the shared tier holds $(shared_gens), not $want"; return 1; }
}

# The local tier lost: crload restores the shared tier's newest generation,
# an incremental one whose chain was flushed whole though the local
# pruner merged and removed its parents there (SELFCKPT_KEEP=1); the
# shared tier keeps it with its parent.
t_local_lost() {
	local n
	start SELFCKPT_FULL_EVERY=3 SELFCKPT_KEEP=1 || return 1
	for n in 1 2 3 4 5; do
		checkpoint $n && flushed $n || return 1
	done
	shared_holds 4 5 || return 1
	"$CRINFO" show "$W/shared/$(gen 5)" | grep -q "$(gen 4)" ||
		{ say "$(gen 5) on the shared tier is not incremental on $(gen 4)"; return 1; }
	"$CRINFO" verify "$W/shared/$(gen 5)" >"$W/verify" 2>&1 ||
		{ say "the shared chain does not verify:"; cat "$W/verify" >&2; return 1; }
	node_fails
	"$CRINFO" tiers "$W/local" "$W/shared" >"$W/tiers" ||
		{ say "crinfo tiers finds nothing complete:"; cat "$W/tiers" >&2; return 1; }
	restores && restored_from "$W/shared/$(gen 5)" || return 1
	same_result
}

# A tree (a shell and its batchjob): its root flushes each of its
# checkpoints once, incremental ones with their parents, and the tree
# comes back from the shared tier.
t_tree() {
	local n
	(cd "$W" && exec env LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_LOG="$W/log" \
		SELFCKPT_DIR="$W/local" SELFCKPT_FLUSH_DIR="$W/shared" SELFCKPT_FULL_EVERY=2 \
		sh -c "'$BATCH_BIN/batchjob' $STEPS res $MS & wait" >"$W/out" 2>"$W/err" </dev/null) &
	APP=$!
	wait_for grep -qs '^step 2 ' "$W/res" || { say "batchjob never started"; return 1; }
	for n in 1 2; do
		kill -USR2 "$APP"
		wait_for grep -qs ": checkpoint $W/local/$(gen $n) (2 processes):" "$W/log" &&
			flushed $n || { say "no tree checkpoint $n:"; cat "$W/log" >&2; return 1; }
	done
	[ "$(grep -c 'flushed to' "$W/log")" = 2 ] || { say "not one flush each:"; cat "$W/log" >&2; return 1; }
	kill -KILL "$APP" $(descendants "$APP") 2>/dev/null
	wait "$APP" 2>/dev/null
	APP=
	rm -rf "$W/local"
	restores && restored_from "$W/shared/$(gen 2)" || return 1
	same_result
}

# The program goes on after a restore from the shared tier into an empty
# local one: its next generations are numbered above the shared tier's.
t_numbers_go_on() {
	start || return 1
	checkpoint 1 && flushed 1 && checkpoint 2 && flushed 2 || return 1
	node_fails
	(cd "$W" && exec "$CRLOAD" -d --flush-dir "$W/shared" "$W/local" >"$W/pid" 2>"$W/crload.err")
	APP=$(cat "$W/pid")
	[ -n "$APP" ] || { say "no restored pid:"; cat "$W/crload.err" >&2; return 1; }
	checkpoint 3 && flushed 3 || return 1
	node_fails
	restores && restored_from "$W/shared/$(gen 3)" || return 1
	same_result
}

# crrun with both tiers: the node fails, the job runs again on another
# (its local tier empty), from the shared tier's newest generation, and its
# history, kept on the shared tier too, still has the first run.
t_crrun() {
	(cd "$W" && exec env SELFCKPT_INTERVAL=1 "$CRRUN" --flush-dir "$W/shared" "$W/local" -- \
		"$BATCH_BIN/batchjob" $STEPS res 200 >>"$W/job.out" 2>&1 </dev/null) &
	local cr=$!
	wait_for test -d "$W/shared/$(gen 2)" || { say "nothing flushed"; cat "$W/job.out" >&2; return 1; }
	kill -KILL $cr $(descendants $cr) 2>/dev/null
	wait $cr 2>/dev/null
	rm -rf "$W/local"
	(cd "$W" && exec env SELFCKPT_INTERVAL=1 "$CRRUN" --flush-dir "$W/shared" "$W/local" -- \
		"$BATCH_BIN/batchjob" $STEPS res 200 >>"$W/job.out" 2>&1 </dev/null) ||
		{ say "the job run again failed:"; cat "$W/job.out" >&2; return 1; }
	grep -q " resume " "$W/local/history" || { say "crrun did not restore"; return 1; }
	grep -q " start " "$W/local/history" && grep -q " checkpoint " "$W/local/history" ||
		{ say "the first run's history was lost:"; cat "$W/local/history" >&2; return 1; }
	cmp -s "$W/local/history" "$W/shared/history" ||
		{ say "the shared tier's history is not the local one"; return 1; }
	"$CRINFO" history "$W/local" | grep -q "^2 run(s), " ||
		{ say "crinfo history:"; "$CRINFO" history "$W/local" >&2; return 1; }
	same_result
}

# The shared tier keeps SELFCKPT_KEEP generations and every one their
# chains build on: no chain is cut there, whatever the local pruner did.
t_shared_pruned() {
	local n
	start SELFCKPT_FULL_EVERY=3 SELFCKPT_KEEP=2 || return 1
	for n in 1 2 3; do
		checkpoint $n && flushed $n || return 1
	done
	shared_holds 1 2 3 || return 1
	checkpoint 4 && flushed 4 && shared_holds 1 2 3 4 || return 1
	checkpoint 5 && flushed 5 && shared_holds 4 5 || return 1
	node_fails
	restores && restored_from "$W/shared/$(gen 5)" || return 1
	same_result
}

# A flush killed midway (SELFCKPT_FLUSH_RATE keeps it under way long
# enough): the shared tier holds a leftover, never a ckpt-N, crinfo tiers
# says so, crload takes the older generation, and the next flush removes
# the leftover and completes.
t_flush_killed() {
	local pid MS=300
	start SELFCKPT_FLUSH_RATE=0.05 || return 1
	checkpoint 1 && flushed 1 || return 1
	checkpoint 2 || return 1
	wait_for eval "ls -A '$W/shared' | grep -q '^\.$(gen 2)\.tmp-'" ||
		{ say "no flush of $(gen 2) under way"; return 1; }
	pid=$(cat "$W/local/.flush.run")
	[ -n "$pid" ] && kill -KILL "$pid" || { say "no flusher to kill"; return 1; }
	wait_for eval "! kill -0 $pid 2>/dev/null" || { say "the flusher lives on"; return 1; }
	[ ! -e "$W/shared/$(gen 2)" ] || { say "$(gen 2) is complete on the shared tier"; return 1; }
	"$CRINFO" tiers "$W/local" "$W/shared" >"$W/tiers"
	grep -A2 '^generation 2$' "$W/tiers" | grep -q 'shared  left half written' ||
		{ say "crinfo tiers:"; cat "$W/tiers" >&2; return 1; }
	! grep -q incomplete "$W/tiers" || { say "crinfo tiers:"; cat "$W/tiers" >&2; return 1; }
	node_fails
	restores && restored_from "$W/shared/$(gen 1)" || return 1
	same_result || return 1
	mkdir -p "$W/local" && cp -a "$W/shared/$(gen 1)" "$W/local/$(gen 3)"
	"$CRFLUSH" "$W/local" "$W/shared" 2>>"$W/log" || { say "crflush failed"; return 1; }
	ls -A "$W/shared" | grep -q '\.tmp-' && { say "leftover kept: $(ls -A "$W/shared")"; return 1; }
	[ -d "$W/shared/$(gen 3)" ] || { say "no $(gen 3) flushed"; return 1; }
}

# Both tiers hold the newest generation: the local copy is restored. The
# local one newer: local; the shared one newer (a generation the local
# tier lost): shared.
t_prefers_local() {
	start || return 1
	checkpoint 1 && flushed 1 && checkpoint 2 && flushed 2 || return 1
	kill -KILL "$APP"
	wait "$APP" 2>/dev/null
	APP=
	cp -a "$W/res" "$W/res.at_kill"
	restores && restored_from "$W/local/$(gen 2)" || return 1
	same_result || return 1
	rm -rf "$W/local/$(gen 2)"
	restores && restored_from "$W/shared/$(gen 2)" || return 1
	rm -rf "$W/shared/$(gen 2)"
	restores && restored_from "$W/local/$(gen 1)" || return 1
	same_result
}

# crflush checks what it copies against the image's sums: a generation
# damaged on the local tier before the runtime's flush reads it (a byte
# of its pages flipped; the flush held back meanwhile by its lock) is not
# flushed, the log says why in one line, the shared tier keeps the older
# generation only, and the lost node's job comes back from that one.
t_damaged_not_flushed() {
	start || return 1
	checkpoint 1 && flushed 1 || return 1
	exec {held}<>"$W/local/.flush.run"
	flock "$held" || { say "cannot hold the flush"; return 1; }
	checkpoint 2 || return 1
	flip "$(ls "$W/local/$(gen 2)"/pages-*.img)" 5000
	exec {held}>&-
	wait_for grep -qs "/$(gen 2) not flushed to $W/shared: $(gen 2)/pages-[0-9]*\.img: checksum mismatch" \
		"$W/log" || { say "no flush refused:"; cat "$W/log" >&2; return 1; }
	shared_holds 1 || return 1
	ls -A "$W/shared" | grep -q '\.tmp-' && { say "leftover: $(ls -A "$W/shared")"; return 1; }
	"$CRINFO" tiers "$W/local" "$W/shared" >"$W/tiers"
	grep -A2 '^generation 2$' "$W/tiers" | grep -q '^  shared  -$' ||
		{ say "crinfo tiers:"; cat "$W/tiers" >&2; return 1; }
	node_fails
	restores && restored_from "$W/shared/$(gen 1)" || return 1
	same_result
}

# crflush by hand on a chain whose parent is damaged locally: one line
# naming the file, a non-zero exit, and nothing of the chain complete on
# the shared tier (the child needs the parent); once the parent is whole
# again the chain flushes.
t_flush_checks() {
	local pages
	start SELFCKPT_FLUSH_DIR= SELFCKPT_FULL_EVERY=3 || return 1
	checkpoint 1 && checkpoint 2 || return 1
	kill -KILL "$APP"
	wait "$APP" 2>/dev/null
	APP=
	pages=$(ls "$W/local/$(gen 1)"/pages-*.img)
	cp "$pages" "$W/pages.whole"
	flip "$pages" 5000
	"$CRFLUSH" "$W/local" "$W/shared" 2>"$W/flush.err" &&
		{ say "a damaged chain was flushed"; return 1; }
	[ "$(wc -l <"$W/flush.err")" = 1 ] &&
		grep -q "not flushed to $W/shared: $(gen 1)/pages-[0-9]*\.img: checksum mismatch" \
			"$W/flush.err" || { say "crflush said:"; cat "$W/flush.err" >&2; return 1; }
	[ -z "$(ls -A "$W/shared")" ] || { say "the shared tier holds $(ls -A "$W/shared")"; return 1; }
	cp "$W/pages.whole" "$pages"
	"$CRFLUSH" "$W/local" "$W/shared" 2>>"$W/log" || { say "the whole chain was not flushed"; return 1; }
	shared_holds 1 2 || return 1
	"$CRINFO" verify "$W/shared/$(gen 2)" >"$W/verify" 2>&1 ||
		{ say "the shared chain does not verify:"; cat "$W/verify" >&2; return 1; }
}

# crinfo show, show --json and verify of a job's local directory say which
# tiers hold its generation complete, the shared tier found where crflush
# recorded it, or given with --flush-dir; a generation whose parent the
# shared tier lost is incomplete there.
t_crinfo_shows_tiers() {
	local w both
	start SELFCKPT_FULL_EVERY=3 || return 1
	checkpoint 1 && flushed 1 && checkpoint 2 && flushed 2 || return 1
	w=$(realpath "$W")
	both="generation 2: local complete ($w/local); shared complete ($w/shared)"
	"$CRINFO" show "$W/local" >"$W/show" && grep -qxF "  tiers: $both" "$W/show" ||
		{ say "crinfo show:"; head -15 "$W/show" >&2; return 1; }
	"$CRINFO" verify "$W/local" >"$W/verify" && grep -qxF "tiers    $both" "$W/verify" ||
		{ say "crinfo verify:"; cat "$W/verify" >&2; return 1; }
	# From the shared tier, crflush's link back names the local one.
	"$CRINFO" show "$W/shared/$(gen 2)" >"$W/show" && grep -qxF "  tiers: $both" "$W/show" ||
		{ say "crinfo show of the shared copy:"; head -15 "$W/show" >&2; return 1; }
	rm -rf "$W/shared/$(gen 1)"
	"$CRINFO" show --json "$W/local/$(gen 2)" | python3 -c '
import json, sys
t = json.load(sys.stdin)["tiers"]
assert t["generation"] == 2, t
assert t["local"] == {"dir": sys.argv[1] + "/local", "complete": True, "state": "complete"}, t
assert t["shared"]["dir"] == sys.argv[1] + "/shared" and not t["shared"]["complete"], t
assert t["shared"]["state"].startswith("incomplete: parent image"), t
' "$w" || { say "crinfo show --json says the wrong tiers"; return 1; }
	kill -KILL "$APP"
	wait "$APP" 2>/dev/null
	APP=
	rm "$W/local/.flush.to"
	"$CRINFO" show "$W/local" | grep -q '^  tiers:' && { say "tiers shown, none known"; return 1; }
	"$CRINFO" show --flush-dir "$W/shared" "$W/local/$(gen 1)" | grep -qxF \
		"  tiers: generation 1: local complete ($w/local); shared absent ($w/shared)" ||
		{ say "crinfo show --flush-dir says no tiers"; return 1; }
}

cases=(local_lost shared_pruned tree numbers_go_on crrun flush_killed prefers_local
	damaged_not_flushed flush_checks crinfo_shows_tiers)
[ $# -gt 0 ] && cases=("$@")
run_cases "${cases[@]}"
