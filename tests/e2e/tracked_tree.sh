#!/usr/bin/env bash
# A tree's incremental images (doc/incremental.md, "A tree"): every process
# tracks its own pages, and leaves to the parent image only what it did
# not write since its protection was set at the checkpoint that wrote that
# parent. A process whose last scan belongs to another checkpoint (one
# that failed, or one of its own) stores its pages whole, and the image
# restores the same instant: memory/cow_tree checks every page of every
# process once restored. A tree restored builds its next image on the one
# it came from. Needs root (a tmpfs to fill).
# Runs under tests/e2e/reaper.
set -u
suite=tracked_tree
. "$(dirname "$0")/suite.sh"
trap end_suite EXIT

# start ENV...: cow_tree rewriting one page in 16 under the runtime, with
# incremental images; its pid in APP and ROOT, its children in KIDS. It
# stops writing while $W/pause exists (pause, resume).
start() {
	(cd "$W" && exec env LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_LOG="$W/log" SELFCKPT_DIR="$W/img" \
		SELFCKPT_FULL_EVERY=8 E2E_TREE_EVERY=16 E2E_TREE_PAUSE="$W/pause" "$@" \
		"$E2E_BIN/cow_tree" >"$W/out" 2>"$W/err" </dev/null) &
	APP=$! ROOT=$!
	wait_for test -e "$W/ready" || { say "never ready"; return 1; }
	KIDS=$(echo $(cat /proc/$APP/task/*/children))
}
pause() { touch "$W/pause" && sleep 0.2; } # a sweep under way ends
resume() { rm -f "$W/pause"; }
name() { printf 'ckpt-%04d' "$1"; }
# tree_checkpoint N: the tree's checkpoint, written as image N.
tree_checkpoint() {
	kill -USR2 $APP
	wait_for logged ": checkpoint $W/img/$(name "$1") (3 processes): " ||
		{ say "no tree checkpoint $(name "$1"):"; cat "$W/log" >&2; return 1; }
}
# builds_on N M: image N is incremental on image M.
builds_on() {
	"$CRINFO" show "$W/img/$(name "$1")" | grep -q "incremental, parent \.\./$(name "$2") " ||
		{ say "$(name "$1") does not build on $(name "$2")"; return 1; }
}
pages() { stat -c %s "$W/img/$(name "$1")/pages-$2.img"; }
# whole N M PID: PID stores in image N at least what it stored in full
# image M; partial: less.
whole() {
	[ "$(pages "$1" "$3")" -ge "$(pages "$2" "$3")" ] ||
		{ say "pid $3 left pages to the parent in $(name "$1")"; return 1; }
}
partial() {
	[ "$(pages "$1" "$3")" -lt "$(pages "$2" "$3")" ] ||
		{ say "pid $3 stored all its pages in $(name "$1")"; return 1; }
}
# relaunch N: the tree killed, image N restored with plain crload, which
# runs on, its pid in APP (it passes the trigger on to the tree's root);
# the tree has its pids again.
relaunch() {
	local p
	# shellcheck disable=SC2086 # lists of pids
	kill -STOP $ROOT $KIDS && kill -KILL $ROOT $KIDS
	wait $APP 2>/dev/null
	for p in $ROOT $KIDS; do
		wait_for test ! -d /proc/$p || { say "pid $p still there"; return 1; }
	done
	"$CRLOAD" "$W/img/$(name "$1")" >"$W/crload.out" 2>"$W/crload.err" </dev/null &
	APP=$!
	wait_for logged "restored from $W/img/$(name "$1")" ||
		{ say "not restored:"; cat "$W/crload.err" >&2; return 1; }
}
# restores N: relaunched from image N, the tree writes again and, once
# stopped, every process of it checks that its memory is one instant.
restores() {
	relaunch "$1" || return 1
	resume
	sleep 0.3
	kill -USR1 $APP
	wait $APP || { say "the restored tree failed its checks:"; cat "$W/err" >&2; return 1; }
}

# A member checkpointed on its own between two of the tree's: its
# protection dates from its own image, so the tree's next one stores it
# whole; the root and the other member build on the tree's first image.
# Nothing is written after the member's image: had it left its pages to
# the tree's first image, those written before would be lost.
t_member_alone() {
	local alone
	start || return 1
	tree_checkpoint 1 || return 1
	alone=${KIDS%% *}
	sleep 0.3
	pause
	kill -USR2 "$alone"
	wait_for logged "\[$alone\]: checkpoint $W/img/$(name 2) " ||
		{ say "pid $alone took no image of its own:"; cat "$W/log" >&2; return 1; }
	tree_checkpoint 3 || return 1
	builds_on 3 1 && whole 3 1 "$alone" && partial 3 1 $ROOT && partial 3 1 "${KIDS##* }" &&
		restores 3
}

# A tree checkpoint that fails after the members took their pages (held,
# out of room) and before the root did: the members' protection dates from
# it, the root's from the image before. The next image builds on that one
# for the root, and stores the members whole. Nothing is written from the
# failed checkpoint on, as above.
t_failed_after_members() {
	mkdir -p "$W/img"
	mount -t tmpfs -o size=160m tmpfs "$W/img" || { say "cannot mount a tmpfs"; return 1; }
	mounts+=("$W/img")
	start SELFCKPT_COW=0 || return 1
	tree_checkpoint 1 || return 1
	dd if=/dev/zero of="$W/img/ballast" bs=1M 2>/dev/null
	sleep 0.3
	pause
	kill -USR2 $APP
	wait_for logged "checkpoint failed (writing the tree): pid [0-9]* (cow_tree) failed" ||
		{ say "no member failed to write:"; cat "$W/log" >&2; return 1; }
	rm "$W/img/ballast"
	tree_checkpoint 2 || return 1
	builds_on 2 1 && partial 2 1 $ROOT || return 1
	for p in $KIDS; do whole 2 1 "$p" || return 1; done
	restores 2
}

# A tree restored: each process takes up the tracker crload armed again
# (doc/incremental.md, "After a restore"), and the tree's next image
# builds on the one it came from, each process leaving to it what it did
# not write since.
t_restored() {
	start || return 1
	tree_checkpoint 1 || return 1
	relaunch 1 || return 1
	sleep 0.3
	tree_checkpoint 2 || return 1
	builds_on 2 1 && partial 2 1 "$ROOT" || return 1
	for p in $KIDS; do partial 2 1 "$p" || return 1; done
	restores 2
}

run_cases member_alone failed_after_members restored
