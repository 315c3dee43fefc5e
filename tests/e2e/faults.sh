#!/usr/bin/env bash
# Faults (doc/faults.md): nothing complete is ever lost, nothing
# incomplete is ever used. Each case runs in both capture modes where it
# applies: "runtime" (LD_PRELOAD, kill -USR2, images in SELFCKPT_DIR) and
# "crdump" (crdump -D SELFCKPT_DIR/ckpt-NNNN, then "latest" moved by hand,
# as tests/e2e/run does).
# Runs under tests/e2e/reaper, as root (tmpfs mounts).
set -u
suite=faults
. "$(dirname "$0")/suite.sh"
: "${CRDUMP:?}" "${CRINFO:?}"
trap end_suite EXIT
trap 'exit 1' INT TERM

# start CAPTURE [ENV=VALUE...] PROGRAM ARGS...: in $W, images into $IMG,
# under the runtime in the runtime capture mode only; pid in APP.
start() {
	local preload=(LD_PRELOAD="$SELFCKPT_LIB")
	[ "$1" = crdump ] && preload=()
	shift
	(cd "$W" && exec env "${preload[@]}" SELFCKPT_LOG="$W/log" SELFCKPT_DIR="$IMG" "$@" \
		>"$W/out" 2>"$W/err" </dev/null) &
	APP=$!
	wait_for test -e "$W/ready" || { say "$* never became ready"; return 1; }
}

# checkpoint CAPTURE PID N: the Nth generation, $IMG/ckpt-000N, complete
# and named by "latest"; the process runs on.
checkpoint() {
	local name
	name=$(printf 'ckpt-%04d' "$3")
	if [ "$1" = crdump ]; then
		mkdir -p "$IMG"
		"$CRDUMP" --leave-running -t "$2" -D "$IMG/$name" >>"$W/crdump.out" \
			2>>"$W/crdump.err" || { say "crdump failed:"; cat "$W/crdump.err" >&2; return 1; }
		ln -sfn "$name" "$IMG/latest"
		return
	fi
	kill -USR2 "$2"
	wait_for grep -qs ": checkpoint $IMG/$name:" "$W/log" ||
		{ say "no $name:"; cat "$W/log" >&2; return 1; }
}

# restores DIR WANT [CRLOAD OPTIONS...]: crload DIR restores the image
# WANT and the restored program finishes right; crload's stderr in
# $W/crload.err.
restores() {
	local dir=$1 want=$2 loader
	shift 2
	# The last restore's words must not be taken for this one's.
	rm -f "$W/crload.err"
	"$CRLOAD" -v --allow-changed-files "$@" "$dir" >"$W/crload.out" 2>"$W/crload.err" &
	loader=$!
	if ! wait_for grep -qs "process running again" "$W/crload.err"; then
		say "crload $dir did not restore:"; cat "$W/crload.err" >&2
		kill -KILL $loader 2>/dev/null; wait $loader 2>/dev/null
		return 1
	fi
	grep -q "^crload: restoring $want\$" "$W/crload.err" || {
		say "crload $dir did not restore $want:"; cat "$W/crload.err" >&2
		kill -KILL $loader 2>/dev/null; wait $loader 2>/dev/null
		return 1
	}
	sleep 0.2
	kill -USR1 $loader
	wait $loader || { say "the program restored from $want failed:"; cat "$W/err" >&2; return 1; }
}

# Two generations, the newer damaged three ways: crload on the
# generations directory skips it with one line naming the file and
# restores the older; crload on the damaged one refuses, naming the file.
# A flipped byte of a pages file is found as memory is filled, after the
# fork: crload then starts again without that generation, and alone it
# stops before the program runs.
damaged_newest() { # CAPTURE
	local pid gens kind file
	IMG=$W/img
	start "$1" "$E2E_BIN/counter" || return 1
	pid=$APP
	checkpoint "$1" $pid 1 && checkpoint "$1" $pid 2 || return 1
	kill -KILL $pid; wait $pid 2>/dev/null
	for kind in flipped truncated missing; do
		gens=$W/gens.$kind
		cp -a "$IMG" "$gens"
		case $kind in
		flipped) file=pages-$pid.img; flip "$gens/ckpt-0002/$file" 5000 ;;
		truncated) file=pages-$pid.img; truncate -s -4096 "$gens/ckpt-0002/$file" ;;
		missing) file=core-$pid.img; rm "$gens/ckpt-0002/$file" ;;
		esac
		restores "$gens" "$gens/ckpt-0001" || return 1
		grep -q "^crload: $gens/ckpt-0002: skipped: $file: " "$W/crload.err" &&
			[ "$(grep -c 'skipped' "$W/crload.err")" = 1 ] ||
			{ say "$kind: the skipped generation is not named once with its file:"
			  cat "$W/crload.err" >&2; return 1; }
		if [ $kind = flipped ]; then
			stops "$gens/ckpt-0002" "$file" || return 1
		else
			refuses "$gens/ckpt-0002" "$file" || return 1
		fi
	done
	# Nothing verifies: one line each, and a refusal.
	gens=$W/gens.none
	cp -a "$IMG" "$gens"
	rm "$gens/ckpt-0001/mm-$pid.img" "$gens/ckpt-0002/mm-$pid.img"
	"$CRLOAD" "$gens" 2>"$W/crload.err" && { say "crload restored a damaged image"; return 1; }
	[ "$(grep -c "skipped: mm-$pid.img" "$W/crload.err")" = 2 ] &&
		grep -q "none of its 2 generations verifies" "$W/crload.err" ||
		{ say "no generation verifies, but crload says:"; cat "$W/crload.err" >&2; return 1; }
}
t_damaged_runtime() { damaged_newest runtime; }
t_damaged_crdump() { damaged_newest crdump; }

# flipped_chunk IMAGE PID OFFSET CHUNK: IMAGE with byte OFFSET of PID's
# pages flipped and the whole file's sum made right again (pagesflip):
# only the sums in parts tell. crload stops before the program runs, in
# one line naming the file and the chunk, and crinfo verify names them.
flipped_chunk() {
	local bad=$W/bad
	rm -rf "$bad"
	cp -a "$1" "$bad"
	"$E2E_BIN/pagesflip" "$bad" "$2" "$3" || return 1
	stops "$bad" "pages-$2\.img: chunk $4 (bytes [0-9]* to [0-9]*): checksum mismatch" ||
		return 1
	"$CRINFO" verify "$bad" >"$W/verify.out" 2>&1 && { say "crinfo verify passed it"; return 1; }
	grep -q "pages-$2\.img: chunk $4 (bytes" "$W/verify.out" ||
		{ say "crinfo verify $bad:"; cat "$W/verify.out" >&2; return 1; }
}

# A chunk of pages damaged in one process: one the fill reads whole (in
# bigmem's 32 MiB), and the first, which holds small mappings' pages and
# is checked once the fill is done.
damaged_chunk() { # CAPTURE
	local pid
	IMG=$W/img
	start "$1" E2E_BIGMEM_MB=32 "$E2E_BIN/bigmem" || return 1
	pid=$APP
	checkpoint "$1" $pid 1 || return 1
	kill -KILL $pid; wait $pid 2>/dev/null
	flipped_chunk "$IMG/ckpt-0001" $pid $((20 << 20 | 5)) 20 &&
		flipped_chunk "$IMG/ckpt-0001" $pid 5000 0
}
t_chunk_runtime() { damaged_chunk runtime; }
t_chunk_crdump() { damaged_chunk crdump; }

# The same in a tree, in the child's pages: no process of it runs on.
damaged_chunk_tree() { # CAPTURE
	local pid child
	IMG=$W/img
	start "$1" "$E2E_BIN/pipe_tree" || return 1
	pid=$APP
	child=$(pgrep -P $pid | head -n 1)
	[ -n "$child" ] || { say "pipe_tree has no child"; return 1; }
	if [ "$1" = runtime ]; then
		kill -USR2 $pid
		wait_for grep -qs ": checkpoint $IMG/ckpt-0001 (2 processes)" "$W/log" ||
			{ say "no ckpt-0001:"; cat "$W/log" >&2; return 1; }
	else
		checkpoint "$1" $pid 1 || return 1
	fi
	kill -KILL $child $pid; wait $pid 2>/dev/null
	flipped_chunk "$IMG/ckpt-0001" $child 5000 0
}
t_chunk_tree_runtime() { damaged_chunk_tree runtime; }
t_chunk_tree_crdump() { damaged_chunk_tree crdump; }

# finishes PID: the program ends right when told to (bigmem checks every
# page and its checksum).
finishes() {
	grep -q '^State:.*[tT]' /proc/"$1"/status && { say "pid $1 was left stopped"; return 1; }
	kill -USR1 "$1"
	wait "$1" || { say "pid $1 did not finish right:"; cat "$W/err" >&2; return 1; }
}

# intact IMAGE: every file of IMAGE is there with the size and checksum
# the inventory gives, every record valid (crinfo verify's first check:
# the others are about restoring it here, which a program that ran on
# since has made harder, by writing to its output).
intact() {
	"$CRINFO" verify "$1" >"$W/verify.out" 2>&1
	grep -q "^ok *$1: the inventory and [0-9]* files, sizes and checksums as it says" \
		"$W/verify.out" || { say "$1 is damaged:"; cat "$W/verify.out" >&2; return 1; }
}

# only_generations DIR N...: DIR holds exactly the complete generations
# ckpt-000N given, and "latest" names the last of them.
only_generations() {
	local dir=$1 want='' n
	shift
	for n in "$@"; do want+="$(printf 'ckpt-%04d' "$n") "; done
	want+=latest
	[ "$(cd "$dir" && ls -A | tr '\n' ' ')" = "$want " ] ||
		{ say "$dir holds '$(ls -A "$dir" | tr '\n' ' ')', not '$want'"; return 1; }
	[ "$(readlink "$dir/latest")" = "$(printf 'ckpt-%04d' "${!#}")" ] ||
		{ say "latest names $(readlink "$dir/latest")"; return 1; }
}

# A small tmpfs holds one generation of a 16 MiB program, not two.
small_fs() {
	mkdir -p "$W/small"
	mount -t tmpfs -o size=24m tmpfs "$W/small" || { say "mount -t tmpfs failed"; return 1; }
	mounts+=("$W/small")
}

# The disk fills up during the second checkpoint: it fails naming ENOSPC,
# the program runs on and computes its result, the first generation is
# untouched and restores, and nothing looks like a second one. With
# SELFCKPT_EXIT=1 the failed checkpoint does not end the program.
disk_full() { # CAPTURE
	local pid
	small_fs || return 1
	IMG=$W/small/img
	start "$1" E2E_BIGMEM_MB=16 "$E2E_BIN/bigmem" || return 1
	pid=$APP
	checkpoint "$1" $pid 1 || return 1
	if [ "$1" = crdump ]; then
		local st=0
		"$CRDUMP" --leave-running -t $pid -D "$IMG/ckpt-0002" >"$W/crdump.out" \
			2>"$W/crdump.err" || st=$?
		[ $st -ne 0 ] && [ "$(wc -l <"$W/crdump.err")" = 1 ] &&
			grep -q 'No space left on device' "$W/crdump.err" ||
			{ say "crdump on a full disk:"; cat "$W/crdump.err" >&2; return 1; }
	else
		kill -USR2 $pid
		wait_for grep -qs 'checkpoint failed' "$W/log" || { say "no failure logged"; return 1; }
		grep -q 'checkpoint failed (.*): No space left on device; the program keeps running' \
			"$W/log" || { say "the failure does not say why:"; cat "$W/log" >&2; return 1; }
	fi
	only_generations "$IMG" 1 || return 1
	finishes $pid || return 1
	intact "$IMG/latest" || return 1
	restores "$IMG" "$IMG/ckpt-0001" || return 1
	[ "$1" = runtime ] || return 0
	# The job keeps its chance to finish, or to be checkpointed again.
	rm -f "$W/ready" "$W/log"
	start "$1" E2E_BIGMEM_MB=16 SELFCKPT_EXIT=1 "$E2E_BIN/bigmem" || return 1
	kill -USR2 $APP
	wait_for grep -qs 'checkpoint failed' "$W/log" || { say "no failure logged"; return 1; }
	grep -q 'No space left on device; the program keeps running' "$W/log" ||
		{ say "SELFCKPT_EXIT=1: the log does not say it runs on:"; cat "$W/log" >&2; return 1; }
	only_generations "$IMG" 1 || return 1
	finishes $APP
}
t_disk_full_runtime() { disk_full runtime; }
t_disk_full_crdump() { disk_full crdump; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# newest DIR: the name of the newest complete generation in DIR.
newest() { (cd "$1" && ls -d ckpt-* 2>/dev/null | sort | tail -n 1); }
# next_gen DIR: the number of the generation after it.
next_gen() { local g; g=$(newest "$1"); echo $((10#${g#ckpt-} + 1)); }

# A 512 MiB program's checkpoint, its writer killed (the program itself
# and its copy in the runtime capture mode, crdump in the other) at ROUNDS random
# moments while it writes: each time "latest" and the newest generation
# verify, "latest" names a complete one, and what the killed writer left
# is gone after the next checkpoint that completes; once in the middle and
# at the end, the newest generation is restored and finishes right.
KILL_ROUNDS=20
killed_writer() { # CAPTURE
	local round t0 dur ms cut=0 name writer gen n
	mkdir -p "$W/big"
	mount -t tmpfs -o size=4g tmpfs "$W/big" || { say "mount -t tmpfs failed"; return 1; }
	mounts+=("$W/big")
	IMG=$W/big/img
	# One complete generation, and how long writing one takes.
	fresh_big "$1" || return 1
	t0=$(now_ms)
	checkpoint "$1" $APP 1 || return 1
	dur=$(($(now_ms) - t0))
	kill -KILL $APP; wait $APP 2>/dev/null
	for ((round = 1; round <= KILL_ROUNDS; round++)); do
		fresh_big "$1" || return 1
		ms=$((RANDOM % (dur + dur / 10 + 1)))
		name=$(printf 'ckpt-%04d' "$(next_gen "$IMG")")
		if [ "$1" = crdump ]; then
			# Never killed by crdump, the program is ours to kill
			# and wait for; no copy of it is made.
			"$CRDUMP" --leave-running --no-snapshot -t $APP -D "$IMG/$name" \
				>>"$W/crdump.out" 2>>"$W/crdump.err" &
			writer=$!
		else
			kill -USR2 $APP
			writer=$APP
		fi
		sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
		# The runtime's copy-on-write copy, which writes the image while
		# the program runs on (doc/cow-capture.md), dies with it, as on a
		# node that fails: stopped first, the program makes no new one.
		[ "$1" = runtime ] && kill -STOP $APP 2>/dev/null &&
			kill -KILL $(cat /proc/$APP/task/*/children 2>/dev/null) 2>/dev/null
		kill -KILL $writer 2>/dev/null
		wait $writer 2>/dev/null && [ "$1" = crdump ] && ln -sfn "$name" "$IMG/latest"
		kill -KILL $APP 2>/dev/null; wait $APP 2>/dev/null
		compgen -G "$IMG/.*.tmp-*" >/dev/null && cut=$((cut + 1))
		gen=$(newest "$IMG")
		[ "$(readlink "$IMG/latest")" = "$gen" ] ||
			{ say "round $round: latest names $(readlink "$IMG/latest"), not $gen"; return 1; }
		intact "$IMG/$gen" || return 1
		# The older generations are not what is under test: room for
		# the next ones.
		(cd "$IMG" && ls -d ckpt-* | head -n -1 | xargs -r rm -rf)
		if [ $round = $((KILL_ROUNDS / 2)) ]; then
			restores "$IMG" "$IMG/$gen" || return 1
		fi
	done
	[ $cut -gt 0 ] || { say "no checkpoint was cut short: the kills came too late"; return 1; }
	# The next checkpoint removes what the dead writers left.
	fresh_big "$1" || return 1
	n=$(next_gen "$IMG")
	checkpoint "$1" $APP $n || return 1
	kill -KILL $APP; wait $APP 2>/dev/null
	only_generations "$IMG" $((n - 1)) $n || return 1
	restores "$IMG" "$IMG/$(newest "$IMG")"
}
# fresh_big CAPTURE: a new 512 MiB program in APP.
fresh_big() {
	rm -f "$W/ready"
	start "$1" E2E_BIGMEM_MB=512 "$E2E_BIN/bigmem"
}
t_killed_runtime() { killed_writer runtime; }
t_killed_crdump() { killed_writer crdump; }

# What the next checkpoint removes of what looks left over: a dead
# writer's temporary directory, its image files only; never one whose
# writer lives (its pid, or its lock held), nor a file that is not an
# image.
leftovers() { # CAPTURE
	local dead holder d
	IMG=$W/img
	mkdir -p "$IMG"
	true &
	dead=$!
	wait $dead
	mkdir "$IMG/.ckpt-0007.tmp-$dead" "$IMG/.ckpt-0008.tmp-$dead" "$IMG/.ckpt-0009.tmp-$$" \
		"$IMG/.ckpt-0010.tmp-$dead" || return 1
	for d in "$IMG"/.ckpt-*; do touch "$d/pages-1.img"; done
	touch "$IMG/.ckpt-0008.tmp-$dead/notes"
	# flock(1) holds the lock once it has started sleep.
	flock "$IMG/.ckpt-0010.tmp-$dead" sleep 60 &
	holder=$!
	wait_for grep -qs . /proc/$holder/task/$holder/children ||
		{ say "flock never took the lock"; kill $holder; return 1; }
	# The runtime numbers past what is left (a living writer's name is
	# not taken again); crdump writes the directory it is given.
	local n=11
	[ "$1" = crdump ] && n=1
	start "$1" "$E2E_BIN/counter" || return 1
	checkpoint "$1" $APP $n
	local st=$?
	kill $holder; wait $holder 2>/dev/null
	[ $st = 0 ] || return 1
	local want=".ckpt-0008.tmp-$dead .ckpt-0009.tmp-$$ .ckpt-0010.tmp-$dead $(printf 'ckpt-%04d' $n) latest "
	[ "$(cd "$IMG" && ls -A | tr '\n' ' ')" = "$want" ] &&
		[ "$(ls -A "$IMG/.ckpt-0008.tmp-$dead")" = notes ] ||
		{ say "left: $(cd "$IMG" && ls -A .* | tr '\n' ' ')"; return 1; }
	finishes $APP
}
t_leftovers_runtime() { leftovers runtime; }
t_leftovers_crdump() { leftovers crdump; }

# killed_at STAGE: crload $IMG, stopped at STAGE (a test aid) and killed
# there; whatever it had started is gone soon after, never having run
# the program's code.
killed_at() {
	local loader left
	SELFCKPT_TEST_STOP_AT=$1 "$CRLOAD" -F "$IMG" >/dev/null 2>"$W/crload.err" &
	loader=$!
	wait_for grep -qs '^State:[[:space:]]*T' /proc/$loader/status ||
		{ say "crload did not stop at $1:"; cat "$W/crload.err" >&2; return 1; }
	left=$(descendants $loader)
	if [ $1 != fork ] && [ -z "$left" ]; then say "$1: crload started nothing"; return 1; fi
	kill -KILL $loader; wait $loader 2>/dev/null
	# shellcheck disable=SC2086 # a list of pids
	wait_for none_alive $left || { say "$1: crload's processes outlived it"; return 1; }
	! grep -qs ': restored from' "$W/log" ||
		{ say "$1: a restored process ran:"; cat "$W/log" >&2; return 1; }
}
none_alive() { # PID...
	local p
	for p in "$@"; do grep -qs '^State:[[:space:]]*[^Z]' /proc/"$p"/status && return 1; done
	return 0
}

# crload killed (SIGKILL) at each stage of a restore: before it forks,
# while the restored process fills its memory (a 256 MiB image), at the
# barrier where every process is restored and waits for crload's word;
# with the pid free, and taken (restored in a new pid namespace). No
# restored process runs on, and a second crload restores.
killed_loader() { # CAPTURE
	local stage loader
	IMG=$W/img
	start "$1" E2E_BIGMEM_MB=256 "$E2E_BIN/bigmem" || return 1
	checkpoint "$1" $APP 1 || return 1
	kill -KILL $APP; wait $APP 2>/dev/null
	for stage in fork memory barrier; do killed_at $stage || return 1; done
	# The pid taken by a copy restored meanwhile.
	"$CRLOAD" -v -F "$IMG" >/dev/null 2>"$W/crload.err" &
	loader=$!
	wait_for grep -qs "process running again" "$W/crload.err" || { say "no restore"; return 1; }
	[ ! -e "$W/log" ] || sed -i 's/: restored from/: was restored from/' "$W/log"
	for stage in memory barrier; do killed_at $stage || return 1; done
	kill -USR1 $loader
	wait $loader || { say "the restored program failed:"; cat "$W/err" >&2; return 1; }
}
t_killed_loader_runtime() { killed_loader runtime; }
t_killed_loader_crdump() { killed_loader crdump; }

# settled: the log has not changed for a second (no checkpoint under way).
settled() {
	local before
	before=$(wc -c <"$W/log")
	sleep 1
	[ "$(wc -c <"$W/log")" = "$before" ]
}

# as_logged: the generations in $IMG are exactly the checkpoints the log
# reports, none failed, and "latest" names the newest, which verifies.
as_logged() {
	local logged made
	logged=$(grep -c ": checkpoint $IMG/ckpt-" "$W/log")
	made=$(cd "$IMG" && ls -d ckpt-* | wc -l)
	[ "$logged" = "$made" ] || { say "the log reports $logged checkpoints, $made were made"; return 1; }
	! grep -q 'checkpoint failed' "$W/log" || { say "a checkpoint failed:"; cat "$W/log" >&2; return 1; }
	[ "$(readlink "$IMG/latest")" = "$(newest "$IMG")" ] || { say "latest is not the newest"; return 1; }
	intact "$IMG/latest"
}

burst() { # PID: 100 triggers at once
	local i
	for ((i = 0; i < 100; i++)); do kill -USR2 "$1"; done
}

# 100 triggers in a burst during a checkpoint, then triggers the restored
# process gets in its first instructions (sent at the barrier, forwarded
# by crload) and right after: no deadlock, every checkpoint made is
# logged and complete, and the program's result is unchanged. The
# runtime's own signal: crdump takes none. Every generation is kept, to
# be counted (doc/retention.md).
t_trigger_burst() {
	local loader n
	IMG=$W/img
	start runtime SELFCKPT_KEEP=1000 E2E_BIGMEM_MB=64 "$E2E_BIN/bigmem" || return 1
	kill -USR2 $APP
	burst $APP
	wait_for grep -qs ": checkpoint $IMG/ckpt-0001" "$W/log" || { say "no checkpoint"; return 1; }
	wait_for settled || { say "the checkpoints never end"; return 1; }
	as_logged || return 1
	finishes $APP || return 1
	n=$(grep -c ": checkpoint $IMG/ckpt-" "$W/log")
	SELFCKPT_TEST_STOP_AT=barrier "$CRLOAD" -F "$IMG" >/dev/null 2>"$W/crload.err" &
	loader=$!
	wait_for grep -qs '^State:[[:space:]]*T' /proc/$loader/status ||
		{ say "crload did not stop at the barrier:"; cat "$W/crload.err" >&2; return 1; }
	kill -USR2 $loader
	kill -CONT $loader
	wait_for grep -qs ": checkpoint $IMG/ckpt-$(printf %04d $((n + 1)))" "$W/log" ||
		{ say "no checkpoint right after the restore:"; cat "$W/log" >&2; return 1; }
	burst $loader
	wait_for settled || { say "the checkpoints never end"; return 1; }
	as_logged || return 1
	kill -USR1 $loader
	wait $loader || { say "the restored program failed:"; cat "$W/err" >&2; return 1; }
}

# in_order TRACE NAME [latest]: in strace's record (-y: descriptors with
# their paths) of writing generation NAME into $IMG, every file of it and
# its temporary directory are fsynced before the rename that names it, and
# $IMG is fsynced after; with "latest", that moves after the rename, and
# $IMG is fsynced after it moves. An image reported complete is on disk.
in_order() {
	local trace=$1 name=$2 f rn at line
	# first_line REGEX [AFTER]: the number of the first line of the trace
	# that matches REGEX (ERE), after line AFTER; empty if none.
	first_line() { awk -v re="$1" -v after="${2:-0}" 'NR > after && $0 ~ re { print NR; exit }' "$trace"; }
	local tmp="$IMG/\\.$name\\.tmp-[0-9]+"
	rn=$(first_line "renameat2?\\([0-9]+<$IMG>, \"\\.$name\\.tmp-[0-9]+\", [0-9]+<$IMG>, \"$name\"(, 0)?\\) = 0")
	[ -n "$rn" ] || { say "no rename to $name in the trace:"; cat "$trace" >&2; return 1; }
	for f in "$IMG/$name"/*; do
		f=${f##*/}
		line=$(first_line "fsync\\([0-9]+<$tmp/$f>\\) = 0")
		[ -n "$line" ] && [ "$line" -lt "$rn" ] ||
			{ say "$f is not fsynced before the rename to $name:"; cat "$trace" >&2; return 1; }
	done
	line=$(first_line "fsync\\([0-9]+<$tmp>\\) = 0")
	[ -n "$line" ] && [ "$line" -lt "$rn" ] ||
		{ say "the directory is not fsynced before the rename to $name:"; cat "$trace" >&2; return 1; }
	at=$rn
	if [ "${3:-}" = latest ]; then
		at=$(first_line "renameat2?\\([0-9]+<$IMG>, \"\\.latest\\.tmp\", [0-9]+<$IMG>, \"latest\"(, 0)?\\) = 0" "$rn")
		[ -n "$at" ] || { say "latest does not move after the rename to $name:"; cat "$trace" >&2; return 1; }
	fi
	[ -n "$(first_line "fsync\\([0-9]+<$IMG>\\) = 0" "$at")" ] ||
		{ say "$IMG is not fsynced after it changed:"; cat "$trace" >&2; return 1; }
}

SYNC_CALLS=fsync,fdatasync,rename,renameat,renameat2,symlink,symlinkat

# A checkpoint reported complete is durable: the order of fsyncs and
# renames, as strace records them, is the one that makes it so.
t_durable_runtime() {
	local tracer
	IMG=$W/img
	start runtime "$E2E_BIN/counter" || return 1
	strace -f -qq -y -e trace=$SYNC_CALLS -o "$W/trace" -p $APP 2>"$W/strace.err" &
	tracer=$!
	wait_for grep -qs "^TracerPid:[[:space:]]*$tracer\$" /proc/$APP/status ||
		{ say "strace did not attach"; return 1; }
	checkpoint runtime $APP 1 || return 1
	kill -INT $tracer; wait $tracer
	in_order "$W/trace" ckpt-0001 latest || return 1
	finishes $APP
}
t_durable_crdump() {
	IMG=$W/img
	mkdir -p "$IMG"
	start crdump "$E2E_BIN/counter" || return 1
	strace -f -qq -y -e trace=$SYNC_CALLS -o "$W/trace" "$CRDUMP" --leave-running -t $APP \
		-D "$IMG/ckpt-0001" 2>"$W/crdump.err" || { say "crdump failed:"; cat "$W/crdump.err" >&2; return 1; }
	in_order "$W/trace" ckpt-0001 || return 1
	finishes $APP
}

# crdump asked to stop (Ctrl-C, kill, a closed terminal) at random moments
# while it holds a 512 MiB program to dump and kill it: it stops at its
# next step with one line saying so, leaves no image, and the program runs
# on and finishes right (it used to die of SIGTRAP, registers changed).
# A signal after the image is complete lets crdump finish: image, and the
# program gone, as asked.
STOP_ROUNDS=6
t_stopped_crdump() {
	local round sig ms dur t0 st stopped=0 dir
	IMG=$W/img
	mkdir -p "$IMG"
	fresh_big crdump || return 1
	t0=$(now_ms)
	"$CRDUMP" -t $APP -D "$IMG/timed" 2>>"$W/crdump.err" || { say "crdump failed"; return 1; }
	dur=$(($(now_ms) - t0))
	wait $APP 2>/dev/null
	for ((round = 1; round <= STOP_ROUNDS; round++)); do
		sig=$(echo INT TERM HUP | cut -d' ' -f$((round % 3 + 1)))
		dir=$IMG/round-$round
		fresh_big crdump || return 1
		ms=$((RANDOM % (dur + 1)))
		"$CRDUMP" -t $APP -D "$dir" >>"$W/crdump.out" 2>"$W/crdump.err" &
		sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
		kill -$sig $!
		st=0
		wait $! || st=$?
		if [ $st = 0 ]; then
			# Too late to stop: a complete image, the program killed.
			intact "$dir" || return 1
			wait $APP 2>/dev/null
			continue
		fi
		stopped=$((stopped + 1))
		grep -q "^crdump: stopped by SIG$sig before the image was complete" "$W/crdump.err" ||
			{ say "round $round: crdump said:"; cat "$W/crdump.err" >&2; return 1; }
		[ ! -e "$dir" ] && ! compgen -G "$IMG/.*tmp*" >/dev/null ||
			{ say "round $round: something like an image is left:"; ls -A "$IMG" >&2; return 1; }
		finishes $APP || { say "round $round: the program did not run on"; return 1; }
	done
	[ $stopped -gt 0 ] || { say "crdump was never stopped in time: the signals came too late"; return 1; }
}

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: $suite: the tmpfs mounts and crdump's ptrace need root"
	exit 77
fi
run_cases damaged_runtime damaged_crdump chunk_runtime chunk_crdump chunk_tree_runtime \
	chunk_tree_crdump leftovers_runtime leftovers_crdump disk_full_runtime disk_full_crdump killed_runtime \
	killed_crdump killed_loader_runtime killed_loader_crdump trigger_burst durable_runtime \
	durable_crdump stopped_crdump
