#!/usr/bin/env bash
# Incremental images the runtime writes (doc/incremental.md): the program
# (memory/tracked.c) changes its memory in every way a program can between
# checkpoints (MADV_DONTNEED, MADV_FREE, mremap, munmap and mmap again,
# mprotect, a sparse rewrite, its own userfaultfd, fork, exec), and must find
# exactly what it should: running on after its checkpoints, and restored
# from each image of the chain with plain crload, then checkpointed again.
# crdump --prev writes the same chains from outside, by comparing pages.
# A full image comes every SELFCKPT_FULL_EVERY checkpoints, and pruning
# merges the oldest image it keeps with the parents it needs, which go.
# Runs under tests/e2e/reaper.
set -u
suite=tracking
. "$(dirname "$0")/suite.sh"
trap '[ $failed -eq 0 ] && rm -rf "$root"' EXIT

start() { # ENV...: tracked under the runtime in $W, images in $W/img, its pid in APP and ORIG
	(cd "$W" && exec env LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_LOG="$W/log" SELFCKPT_DIR="$W/img" \
		"$@" "$E2E_BIN/tracked" >"$W/out" 2>"$W/err" </dev/null) &
	APP=$! ORIG=$!
	wait_for test -e "$W/ready" || { say "never ready"; return 1; }
}
# killed: the program killed (a restored one has its first pid, ORIG) and
# its crload, if any, waited for.
killed() {
	kill -KILL "$ORIG"
	wait $APP 2>/dev/null
	return 0
}
checkpoints() { cat "$W/log" 2>/dev/null | grep -c ': checkpoint /'; }
checkpoint() { # N: the Nth image of the log
	local pid=${2:-$APP}
	kill -USR2 "$pid"
	wait_for eval '[ "$(checkpoints)" -ge '"$1"' ]' || { say "no checkpoint $1"; return 1; }
	logged 'checkpoint failed' && { say "a checkpoint failed:"; cat "$W/log" >&2; return 1; }
	return 0
}
step() { # N: the program's step N, done
	touch "$W/step-$1"
	wait_for test -e "$W/done-$1" || { say "step $1 not done:"; cat "$W/err" >&2; return 1; }
}
name() { printf 'ckpt-%04d' "$1"; }
# builds_on N M: image N names image M as its parent; M empty: a full one.
builds_on() {
	local inv=$W/img/$(name "$1")/inventory.img
	if [ -z "$2" ]; then
		grep -q 'ckpt-' "$inv" && { say "$(name "$1") is not a full image"; return 1; }
		return 0
	fi
	grep -qa "\.\./$(name "$2")" "$inv" || { say "$(name "$1") does not build on $(name "$2")"; return 1; }
}
# shown_on N M: crinfo show says image N is incremental on image M, and
# records the tracker.
shown_on() {
	"$CRINFO" show "$W/img/$(name "$1")" >"$W/show" 2>&1 &&
		grep -q "incremental, parent \.\./$(name "$2") (inventory checksum verified)" "$W/show" &&
		grep -q "dirty-page tracker: [0-9]* ranges, .*, armed again at descriptor" "$W/show" ||
		{ say "crinfo show: $(name "$1") is not incremental on $(name "$2"):"; cat "$W/show" >&2
		  return 1; }
}
pages() { stat -c %s "$W"/img/"$(name "$1")"/pages-*.img; }
# zstd N: image N's pages are compressed (doc/compression.md).
zstd() {
	"$CRINFO" show "$W/img/$(name "$1")" | grep -q 'zstd level' ||
		{ say "$(name "$1") is not compressed:"; "$CRINFO" show "$W/img/$(name "$1")" >&2; return 1; }
}
finishes() { # PID: told to stop, it checks its memory and exits 0
	kill -USR1 "$1"
	wait "$1" || { say "pid $1 failed its checks:"; cat "$W/err" "$W/crload.err" 2>/dev/null >&2; return 1; }
}
# restored N [DIR]: image N ($W/img's, or DIR's) restored with plain
# crload, its crload's pid in APP.
restored() {
	local before
	before=$(grep -c 'restored from' "$W/log")
	"$CRLOAD" "${2:-$W/img}/$(name "$1")" >"$W/crload.out" 2>"$W/crload.err" &
	APP=$!
	wait_for eval '[ "$(grep -c "restored from" "$W/log")" -gt '"$before"' ]' ||
		{ say "$(name "$1") was not restored:"; cat "$W/crload.err" "$W/err" >&2; return 1; }
}

# Three checkpoints, the program's two steps between them: the first image
# full, the others incremental and small; the original runs on unchanged.
chain() {
	start SELFCKPT_FULL_EVERY=8 SELFCKPT_KEEP=8 || return 1
	checkpoint 1 && step 1 && checkpoint 2 && step 2 && checkpoint 3 || return 1
	builds_on 1 "" && builds_on 2 1 && builds_on 3 2 || return 1
	[ "$(pages 3)" -lt $(($(pages 1) / 4)) ] ||
		{ say "image 3 stores $(pages 3) bytes of pages, image 1 $(pages 1)"; return 1; }
}

t_leave() {
	chain || return 1
	finishes $APP
}

# restores_both: the program of chain() killed, then restored from the
# newest image, and from the one before (which checks itself at step 1,
# then takes step 2 again).
restores_both() {
	kill -KILL $APP
	wait $APP 2>/dev/null
	restored 3 && finishes $APP || return 1
	rm -f "$W"/step-2 "$W"/done-2
	restored 2 && step 2 && finishes $APP
}

t_kill() {
	chain && restores_both
}

# Restored from image 2, the program takes step 2 again and is
# checkpointed twice more: the restorer armed the tracker again, so the
# first image after the restore builds on image 2, and holds step 2's
# writes; restored from it, and from the next, the program finds its
# memory as an uninterrupted run has it.
t_twice() {
	chain && killed || return 1
	rm -f "$W"/step-2 "$W"/done-2
	# crload passes USR1 and USR2 on to the program, which has its pid.
	restored 2 && step 2 && checkpoint 4 && checkpoint 5 || return 1
	shown_on 4 2 && builds_on 5 4 || return 1
	[ "$(pages 4)" -lt $(($(pages 1) / 4)) ] ||
		{ say "image 4 stores $(pages 4) bytes of pages, image 1 $(pages 1)"; return 1; }
	killed && restored 4 && finishes $APP && restored 5 && finishes $APP
}

# wrote N: the writer thread (TRACKED_WRITER) wrote its region's version N.
wrote() {
	wait_for test -e "$W/wrote-$1" ||
		{ say "the writer never wrote version $1:"; cat "$W/err" >&2; return 1; }
}

# A thread that rewrites its region the moment it runs again after a
# restore (tracked.c's writer), before the runtime's checkpointing thread
# is back: the restorer armed the tracker before any thread ran, so the
# image after the restore, incremental on the one restored from, holds
# every page it wrote; restored from that image, the writer finds them.
t_restored_writer() {
	start SELFCKPT_FULL_EVERY=8 SELFCKPT_KEEP=8 TRACKED_WRITER=1 && wrote 1 && checkpoint 1 &&
		killed || return 1
	restored 1 && wrote 2 && checkpoint 2 && shown_on 2 1 || return 1
	killed && restored 2 && wrote 3 && finishes $APP
}

# SELFCKPT_FULL_EVERY=3 across restores: the image restored from counts
# as it did in the process that wrote it (1 full, 2 and 3 incremental, 4
# full), so that chains stay as short.
t_restored_full_every() {
	start SELFCKPT_FULL_EVERY=3 SELFCKPT_KEEP=8 && checkpoint 1 && step 1 && checkpoint 2 &&
		killed || return 1
	restored 2 && checkpoint 3 && builds_on 3 2 && killed || return 1
	restored 3 && step 2 && checkpoint 4 && builds_on 4 "" && killed || return 1
	restored 4 && finishes $APP
}

# The program holds descriptors up to the tracker's number, less one:
# crload's own, moved above the program's, would take that number in a
# restore; they keep off it, and the image after the restore builds on
# the one restored from.
t_restored_fds() {
	local fd
	start SELFCKPT_FULL_EVERY=8 SELFCKPT_KEEP=8 && checkpoint 1 || return 1
	fd=$(find /proc/$APP/fd -lname 'anon_inode:\[userfaultfd\]' -printf '%f\n')
	[ -n "$fd" ] || { say "no tracker in /proc/$APP/fd"; return 1; }
	echo "$fd" >"$W/hold"
	wait_for test -e "$W/held-$fd" || { say "no descriptors held:"; cat "$W/err" >&2; return 1; }
	checkpoint 2 && killed || return 1
	restored 2 && step 1 && checkpoint 3 && shown_on 3 2 || return 1
	killed && restored 3 && finishes $APP
}

# Restored from a copy of the chain outside SELFCKPT_DIR, which holds no
# image of its name: the next image has no parent to build on, and is
# full.
t_restored_copy() {
	chain && killed || return 1
	mv "$W/img" "$W/copy"
	restored 3 "$W/copy" && checkpoint 4 && builds_on 1 "" || return 1
	killed && restored 1 && finishes $APP
}

# Restored from a copy of image 3 while SELFCKPT_DIR holds another
# ckpt-0003, written since by a process restored from image 2: that one
# is not the image restored from, and the next image is full.
t_restored_other() {
	chain && killed || return 1
	cp -a "$W/img" "$W/copy"
	rm -rf "$W/img/$(name 3)" "$W"/step-2 "$W"/done-2
	restored 2 && step 2 && checkpoint 4 && builds_on 3 2 && killed || return 1
	restored 3 "$W/copy" && checkpoint 5 && builds_on 4 "" || return 1
	killed && restored 4 && finishes $APP
}

# A chain of compressed images: written, checked and restored from its
# newest image and from the one before, as t_kill does with raw ones.
t_compressed() {
	start SELFCKPT_FULL_EVERY=8 SELFCKPT_KEEP=8 SELFCKPT_COMPRESS=1 || return 1
	checkpoint 1 && step 1 && checkpoint 2 && step 2 && checkpoint 3 || return 1
	builds_on 2 1 && builds_on 3 2 && zstd 1 && zstd 2 && zstd 3 || return 1
	"$CRINFO" verify "$W/img/$(name 3)" >/dev/null || { say "the chain does not verify"; return 1; }
	restores_both
}

# memory/grow, its memory grown between images 1 and 2 (a heap, mappings
# beside tracked ones, tracked mappings grown in place with mremap, each
# new chunk written whole), then no more: image 2 leaves the grown
# mappings' old parts to image 1, and the tracker registers them whole
# again, so that image 3 stores none of their new parts (tracking only
# the part registered before, it stored 512 KiB more, four times as much).
# Restored from each, the program finds every page it wrote.
t_grown() {
	(cd "$W" && exec env LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_LOG="$W/log" SELFCKPT_DIR="$W/img" \
		SELFCKPT_FULL_EVERY=8 GROW_STEPS=8 GROW_WHOLE=1 "$E2E_BIN/grow" >"$W/out" 2>"$W/err" \
		</dev/null) &
	APP=$! ORIG=$!
	wait_for test -e "$W/ready" || { say "never ready"; return 1; }
	checkpoint 1 || return 1
	wait_for test -e "$W/grown" || { say "never grew:"; cat "$W/err" >&2; return 1; }
	checkpoint 2 && checkpoint 3 && builds_on 2 1 && builds_on 3 2 || return 1
	[ $(($(pages 3) * 4)) -lt "$(pages 2)" ] ||
		{ say "image 3 stores $(pages 3) bytes of pages, image 2 $(pages 2)"; return 1; }
	killed && restored 3 && finishes $APP && restored 2 && finishes $APP
}

# SELFCKPT_FULL_EVERY=2: every other image is full.
t_full_every() {
	start SELFCKPT_FULL_EVERY=2 SELFCKPT_KEEP=8 || return 1
	checkpoint 1 && step 1 && checkpoint 2 && step 2 && checkpoint 3 || return 1
	builds_on 1 "" && builds_on 2 1 && builds_on 3 "" || return 1
	finishes $APP
}

# gens LIST: the generations left in $W/img are LIST, once the pruner
# (in the copy, or after the log line) is done.
gens() {
	wait_for eval '[ "$(cd "$W/img" && echo ckpt-*)" = "'"$1"'" ]' ||
		{ say "generations left: $(cd "$W/img" && echo ckpt-*), expected $1"; return 1; }
}

# SELFCKPT_KEEP=1: the newest image, incremental, is merged with what it
# needs of its parents, which go: it is full, and restores.
t_keep_chain() {
	start SELFCKPT_FULL_EVERY=8 SELFCKPT_KEEP=1 "$@" || return 1
	checkpoint 1 && step 1 && checkpoint 2 && step 2 && checkpoint 3 || return 1
	gens ckpt-0003 && builds_on 3 "" || return 1
	logged 'not merged' && { say "a merge failed:"; cat "$W/log" >&2; return 1; }
	# Image 3 was incremental on image 2 as merged: the tracker took it.
	[ $# -gt 0 ] || awk '/checkpoint .*ckpt-0001:/ { a = $4 } /checkpoint .*ckpt-0003:/ { c = $4 }
		END { exit !(c * 4 < a) }' "$W/log" || { say "image 3 was full:"; cat "$W/log" >&2; return 1; }
	kill -KILL $APP
	wait $APP 2>/dev/null
	# The merged pages have sums in parts, as a writer's have: a byte
	# flipped, the whole file's sum made right again, stops crload
	# before the program runs, naming the chunk (doc/checksums.md).
	rm -rf "$W/bad" && cp -a "$W/img/$(name 3)" "$W/bad" &&
		"$E2E_BIN/pagesflip" "$W/bad" "$ORIG" 5000 &&
		stops "$W/bad" "pages-$ORIG\.img: chunk 0 (bytes" || return 1
	restored 3 && finishes $APP
}

# The same with compressed images: their pages are read back through
# zstd, and the merged image holds them raw.
t_keep_chain_zstd() {
	t_keep_chain SELFCKPT_COMPRESS=1
}

# SELFCKPT_KEEP=2 over four checkpoints: the older of the two left is
# merged, the newer still builds on it (through same_as); both restore.
t_keep_two() {
	start SELFCKPT_FULL_EVERY=8 SELFCKPT_KEEP=2 "$@" || return 1
	checkpoint 1 && step 1 && checkpoint 2 && step 2 && checkpoint 3 && checkpoint 4 || return 1
	gens "ckpt-0003 ckpt-0004" && builds_on 3 "" && builds_on 4 3 || return 1
	logged 'not merged' && { say "a merge failed:"; cat "$W/log" >&2; return 1; }
	"$CRINFO" verify "$W/img/$(name 4)" >/dev/null || { say "the chain does not verify"; return 1; }
	kill -KILL $APP
	wait $APP 2>/dev/null
	restored 4 && finishes $APP || return 1
	restored 3 && finishes $APP
}

# The same with the program held while its images are written: the
# trigger handler merges.
t_keep_two_held() {
	t_keep_two SELFCKPT_COW=0
}

# A generation a crload is restoring (stopped before it forks, a test
# aid) is neither merged nor removed, nor are its parents, and nothing is
# said: image 2 stays incremental on image 1 while image 3, then the
# oldest kept, is merged. Once crload has let go, the next checkpoint
# merges image 4 and removes the rest.
t_merge_held() {
	start SELFCKPT_FULL_EVERY=8 SELFCKPT_KEEP=2 || return 1
	checkpoint 1 && step 1 && checkpoint 2 || return 1
	SELFCKPT_TEST_STOP_AT=fork "$CRLOAD" "$W/img/$(name 2)" >"$W/crload.out" 2>"$W/crload.err" &
	PEER=$!
	wait_for grep -qs '^State:[[:space:]]*T' /proc/$PEER/status ||
		{ say "crload did not stop:"; cat "$W/crload.err" >&2; return 1; }
	step 2 && checkpoint 3 || return 1
	# The pruner ends before the next checkpoint starts.
	checkpoint 4 || return 1
	gens "ckpt-0001 ckpt-0002 ckpt-0003 ckpt-0004" && builds_on 2 1 || return 1
	logged 'not merged' && { say "a held generation was said:"; cat "$W/log" >&2; return 1; }
	kill -KILL $PEER
	wait $PEER 2>/dev/null
	# Image 3 was merged (it reads its parents, it does not change
	# them); they go once let go. Image 4 is small beside the merged 3:
	# merging it would write more than it frees.
	checkpoint 5 || return 1
	gens "ckpt-0003 ckpt-0004 ckpt-0005" && builds_on 3 "" && builds_on 4 3 && builds_on 5 4 &&
		finishes $APP
}

# A merge writes about a full image: under a large full image (64 MiB
# that never change) and small incremental ones it would write more than
# it frees, so the chain is kept whole, and nothing is said.
t_merge_not_worth() {
	start SELFCKPT_FULL_EVERY=8 SELFCKPT_KEEP=1 TRACKED_BALLAST_MB=64 || return 1
	checkpoint 1 && step 1 && checkpoint 2 && step 2 && checkpoint 3 || return 1
	sleep 0.5
	gens "ckpt-0001 ckpt-0002 ckpt-0003" && builds_on 2 1 && builds_on 3 2 || return 1
	logged 'not merged' && { say "a kept chain was said:"; cat "$W/log" >&2; return 1; }
	kill -KILL $APP
	wait $APP 2>/dev/null
	restored 3 && finishes $APP
}

# A chain of compressed images met by a pruner without libzstd (another
# program, checkpointing into the same directory without
# SELFCKPT_COMPRESS): not merged, kept whole, and the log says why.
t_merge_no_zstd() {
	start SELFCKPT_FULL_EVERY=8 SELFCKPT_KEEP=8 SELFCKPT_COMPRESS=1 || return 1
	# Two incremental images, as large together as the full one: a merge
	# of the second is due (retention.c).
	checkpoint 1 && step 1 && checkpoint 2 && step 2 && checkpoint 3 || return 1
	(cd "$W" && exec env LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_LOG="$W/log" SELFCKPT_DIR="$W/img" \
		SELFCKPT_KEEP=2 sleep 60 </dev/null >/dev/null 2>&1) &
	PEER=$!
	wait_for grep -qs '^State:[[:space:]]*S' /proc/$PEER/status || { say "sleep never slept"; return 1; }
	checkpoint 4 $PEER || return 1
	wait_for logged "img/ckpt-0003 was not merged, its chain is kept whole: its chain has compressed pages, and libzstd is loaded only with SELFCKPT_COMPRESS" ||
		{ say "not said why:"; cat "$W/log" >&2; return 1; }
	sleep 0.5
	gens "ckpt-0001 ckpt-0002 ckpt-0003 ckpt-0004" && builds_on 3 2 && finishes $APP
}

# What a merger killed half way leaves, its temporary directory beside
# the generation it merged, is removed by the next checkpoint.
t_merge_leftover() {
	local dead
	start SELFCKPT_FULL_EVERY=8 SELFCKPT_KEEP=8 || return 1
	checkpoint 1 && step 1 && checkpoint 2 || return 1
	sleep 0 &
	dead=$!
	wait $dead
	mkdir "$W/img/.ckpt-0002.tmp-$dead"
	cp "$W/img/$(name 2)"/*.img "$W/img/.ckpt-0002.tmp-$dead/"
	checkpoint 3 || return 1
	[ ! -e "$W/img/.ckpt-0002.tmp-$dead" ] || { say "the merge's leftover stayed"; return 1; }
	gens "ckpt-0001 ckpt-0002 ckpt-0003" && finishes $APP
}

# An exec between two checkpoints: the new program starts over, its first
# image full; restored, it finds its memory as it should be.
t_exec() {
	start SELFCKPT_FULL_EVERY=8 SELFCKPT_KEEP=8 || return 1
	checkpoint 1 || return 1
	touch "$W/exec"
	wait_for test -e "$W/ready" || { say "the exec'd program never became ready"; return 1; }
	step 1 && checkpoint 2 && step 2 && checkpoint 3 || return 1
	builds_on 2 "" && builds_on 3 2 || return 1
	kill -KILL $APP
	wait $APP 2>/dev/null
	restored 3 && finishes $APP
}

# Without userfaultfd (a seccomp filter, as a kernel without it): every
# image is full, the log says why once, and the program restores.
t_untracked() {
	(cd "$W" && exec "$E2E_BIN/nouffd" env LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_LOG="$W/log" \
		SELFCKPT_DIR="$W/img" SELFCKPT_FULL_EVERY=8 SELFCKPT_KEEP=8 "$E2E_BIN/tracked" \
		>"$W/out" 2>"$W/err" </dev/null) &
	APP=$!
	wait_for test -e "$W/ready" || { say "never ready"; return 1; }
	checkpoint 1 && step 1 && checkpoint 2 && checkpoint 3 || return 1
	builds_on 2 "" && builds_on 3 "" || return 1
	[ "$(grep -c 'no dirty-page tracking here (Function not implemented): every image is full' \
		"$W/log")" = 1 ] || { say "not said once why:"; cat "$W/log" >&2; return 1; }
	kill -KILL $APP
	wait $APP 2>/dev/null
	restored 3 && finishes $APP
}

# crdump_chain ARGS...: the program without the runtime, dumped three times
# by crdump, each image against the one before, ARGS given to the second;
# the third kills it. The chain must verify and restore.
crdump_chain() {
	(cd "$W" && exec "$E2E_BIN/tracked" >"$W/out" 2>"$W/err" </dev/null) &
	APP=$!
	wait_for test -e "$W/ready" || { say "never ready"; return 1; }
	mkdir -p "$W/img"
	dump() { "$CRDUMP" -t $APP -D "$W/img/$(name "$1")" "${@:2}" 2>>"$W/crdump.err" ||
		{ say "crdump $*:"; cat "$W/crdump.err" >&2; return 1; }; }
	dump 1 --leave-running && step 1 && dump 2 --leave-running "$@" --prev "$W/img/$(name 1)" &&
		step 2 && dump 3 --prev "$W/img/$(name 2)" || return 1
	wait $APP 2>/dev/null
	builds_on 1 "" && builds_on 2 1 && builds_on 3 2 || return 1
	"$CRINFO" verify "$W/img/$(name 3)" >/dev/null || { say "the chain does not verify"; return 1; }
	"$CRLOAD" "$W/img/$(name 3)" >"$W/crload.out" 2>"$W/crload.err" &
	APP=$!
	sleep 1
	finishes $APP
}

# crdump --prev, each image much smaller than the first.
t_crdump_prev() {
	crdump_chain || return 1
	[ "$(pages 3)" -lt $(($(pages 1) / 4)) ] ||
		{ say "image 3 stores $(pages 3) bytes of pages, image 1 $(pages 1)"; return 1; }
}

# crdump --prev over a chain that mixes raw and compressed images: the
# second compressed, the first and third raw, each compared with its
# parent through the frames.
t_crdump_prev_zstd() {
	crdump_chain --compress=3 && zstd 2
}

# --prev naming an image of another tree: one line, and no image.
t_crdump_prev_refused() {
	(cd "$W" && exec "$E2E_BIN/tracked" >"$W/out" 2>"$W/err" </dev/null) &
	APP=$!
	wait_for test -e "$W/ready" || { say "never ready"; return 1; }
	mkdir -p "$W/img"
	"$CRDUMP" -t $APP -D "$W/img/$(name 1)" --leave-running 2>"$W/crdump.err" || return 1
	(cd "$W" && exec sleep 60) &
	PEER=$!
	if "$CRDUMP" -t $PEER -D "$W/img/$(name 2)" --prev "$W/img/$(name 1)" 2>"$W/crdump.err"; then
		say "crdump took an image of another tree as the parent"
		return 1
	fi
	[ "$(wc -l <"$W/crdump.err")" = 1 ] && grep -q "is an image of the tree of pid $APP" "$W/crdump.err" ||
		{ say "not one line naming the other tree:"; cat "$W/crdump.err" >&2; return 1; }
	[ ! -e "$W/img/$(name 2)" ] || { say "an image was left"; return 1; }
	kill -0 $PEER || { say "the refused tree was touched"; return 1; }
	finishes $APP
}

run_cases leave kill twice restored_writer restored_full_every restored_fds restored_copy \
	restored_other compressed grown full_every keep_chain keep_chain_zstd keep_two \
	keep_two_held merge_held merge_not_worth merge_no_zstd merge_leftover exec untracked \
	crdump_prev crdump_prev_zstd crdump_prev_refused
