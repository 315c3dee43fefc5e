#!/usr/bin/env bash
# The runtime's copy-on-write checkpoint (doc/cow-capture.md), beyond what
# every program's scenarios and memory/cow check: the copy holds nothing of
# the program's but the image, is reaped by the runtime and never seen by
# the program; a program that execs meanwhile waits for it; without room
# for the copy's memory (a memory cgroup's limit) the program is held until
# its pages are written, and says why; SELFCKPT_COW=0 turns the copy off;
# a copy that fails tells crdump why at once; a copy killed is reported by
# the program. A tree's processes each leave their pages to a copy: the
# log says so, a member's copy killed fails that checkpoint only, and a
# member without room writes held while the others have copies. Needs
# root (mounts, cgroups).
# Runs under tests/e2e/reaper.
set -u
suite=cow
. "$(dirname "$0")/suite.sh"
cgroups=()
cleanup() {
	end_suite
	for c in "${cgroups[@]}"; do rmdir "$c" 2>/dev/null; done
}
trap cleanup EXIT

# start [RUNNER...] -- ENV... PROGRAM ARGS...: the program under the runtime
# in $W, images in $W/img, its pid in APP; RUNNER runs in the subshell
# before the exec (e.g. to enter a cgroup).
start() {
	local pre=()
	while [ "$1" != -- ]; do pre+=("$1"); shift; done
	shift
	(cd "$W" && "${pre[@]:-true}" && exec env LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_LOG="$W/log" \
		SELFCKPT_DIR="$W/img" "$@" >"$W/out" 2>"$W/err" </dev/null) &
	APP=$!
	wait_for test -e "$W/ready" || { say "never ready"; return 1; }
}
children() { echo $(cat /proc/"$1"/task/*/children 2>/dev/null); }
has_child() { [ -n "$(children "$APP")" ]; }
written() { wait_for logged ': checkpoint /.*written by a copy' || { say "no copy wrote it:"; cat "$W/log" >&2; return 1; }; }
verifies() { "$CRINFO" verify "$W/img/latest" >/dev/null || { say "the image does not verify"; return 1; }; }

# The copy exists while the image is written: it holds the image's files
# and nothing else of the program's (its stdout, stderr, the log), its exit
# signal is not SIGCHLD, and once done it is gone, reaped by the runtime.
t_copy_fds() {
	local copy fd target bad= good=0 pipes=0 sig
	start -- E2E_BIGMEM_MB=512 "$E2E_BIN/bigmem" || return 1
	kill -USR2 $APP
	wait_for has_child || { say "no copy seen"; return 1; }
	copy=$(children $APP)
	sig=$(awk '{print $38}' /proc/"$copy"/stat)
	for fd in /proc/"$copy"/fd/*; do
		target=$(readlink "$fd") || continue # closed meanwhile
		# The image's directories and files, its own pagemap, and one
		# pipe: its report to the program.
		case $target in
		"$W"/img | "$W"/img/* | /proc/"$copy"/pagemap) good=$((good + 1)) ;;
		pipe:*) pipes=$((pipes + 1)) ;;
		*) bad+=" $target" ;;
		esac
	done
	[ $good -gt 0 ] || { say "the copy was gone before its descriptors were seen"; return 1; }
	[ -z "$bad" ] && [ $pipes -le 1 ] || { say "the copy holds more than the image:$bad ($pipes pipes)"; return 1; }
	[ "$sig" = "$(kill -l RTMAX)" ] || { say "the copy's exit signal is $sig, not SIGRTMAX"; return 1; }
	written || return 1
	wait_for eval '! has_child' || { say "the copy was not reaped: $(children $APP)"; return 1; }
	verifies || return 1
	kill -USR1 $APP
	wait $APP || { say "the program failed after its checkpoint"; return 1; }
}

# A program that execs while its copy writes: the exec waits for the copy,
# which would otherwise become a child of the new program (a zombie no one
# waits for, here).
t_exec_during() {
	local prog='
import os, signal, time
mem = bytearray(b"\x01") * (384 << 20)
signal.signal(signal.SIGUSR1, lambda *a: os.execv("/bin/sleep", ["sleep", "600"]))
open("ready", "w").close()
while True:
    time.sleep(1)
'
	start -- python3 -c "$prog" || return 1
	kill -USR2 $APP
	wait_for has_child || { say "no copy seen"; return 1; }
	kill -USR1 $APP
	wait_for eval '[ "$(readlink /proc/$APP/exe)" = "$(readlink -f /bin/sleep)" ]' ||
		{ say "the program did not exec"; return 1; }
	logged ': checkpoint /.*written by a copy' ||
		{ say "exec'd before the copy had written the image"; cat "$W/log" >&2; return 1; }
	has_child && { say "the exec'd program has a child: $(children $APP)"; return 1; }
	verifies
}

# make_cgroup LIMIT-BYTES: a memory cgroup of the machine's hierarchy (v2,
# or v1's memory controller) into CG, the name of its limit file into
# CG_LIMIT; 77 when there is none to make.
make_cgroup() {
	local base
	if grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; then
		base=/sys/fs/cgroup CG_LIMIT=memory.max
		grep -qw memory "$base/cgroup.subtree_control" ||
			echo +memory >"$base/cgroup.subtree_control" 2>/dev/null
	elif [ -d /sys/fs/cgroup/memory ]; then
		base=/sys/fs/cgroup/memory CG_LIMIT=memory.limit_in_bytes
	else
		say "skipped: no memory cgroup controller on this machine"
		return 77
	fi
	CG=$base/selfckpt-cow-$$-${#cgroups[@]}
	mkdir "$CG" || return 1
	cgroups+=("$CG")
	echo "$1" >"$CG/$CG_LIMIT" || { say "cannot limit $CG"; return 1; }
}
enter_cgroup() { echo "$BASHPID" >"$CG/cgroup.procs"; }

# 256 MiB of private memory in a cgroup limited to 400 MiB: a copy could
# need 256 more. The program is held until its pages are written, the log
# says why, and the image is whole.
t_no_room() {
	local st=0
	make_cgroup $((400 << 20)) || return $?
	start enter_cgroup -- E2E_BIGMEM_MB=256 "$E2E_BIN/bigmem" || return 1
	kill -USR2 $APP
	wait_for logged ': checkpoint /' || { say "no checkpoint"; return 1; }
	logged 'held until written, no copy: a copy of up to 2[0-9][0-9] MiB would not fit' ||
		{ say "the log does not say why it held the program:"; cat "$W/log" >&2; return 1; }
	has_child && { say "a copy was made"; return 1; }
	verifies || return 1
	kill -USR1 $APP
	wait $APP || st=$?
	[ $st -eq 0 ] || { say "the program failed after its checkpoint ($st)"; return 1; }
}

# SELFCKPT_COW=0: the program is held until its pages are written.
t_off() {
	start -- SELFCKPT_COW=0 E2E_BIGMEM_MB=64 "$E2E_BIN/bigmem" || return 1
	kill -USR2 $APP
	wait_for logged ': checkpoint /' || { say "no checkpoint"; return 1; }
	logged 'written by a copy' && { say "a copy wrote it"; return 1; }
	verifies
}

# The copy runs out of disk: the log says so, no image is left, the program
# runs on, and crdump, which asked for the image, fails at once with the
# reason instead of waiting for an image that will not come.
t_copy_fails() {
	local t0 st=0
	mkdir -p "$W/small"
	mount -t tmpfs -o size=64m tmpfs "$W/small" || return 1
	mounts+=("$W/small")
	(cd "$W" && exec env LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_LOG="$W/log" \
		SELFCKPT_DIR="$W/small/img" E2E_BIGMEM_MB=256 "$E2E_BIN/bigmem" \
		>"$W/out" 2>"$W/err" </dev/null) &
	APP=$!
	wait_for test -e "$W/ready" || { say "never ready"; return 1; }
	t0=$SECONDS
	timeout 120 "$CRDUMP" -t $APP -D "$W/crdumped" --leave-running 2>"$W/crdump.err" && st=0 || st=$?
	[ $st -ne 0 ] || { say "crdump succeeded on a full disk"; return 1; }
	[ $((SECONDS - t0)) -lt 60 ] || { say "crdump took $((SECONDS - t0)) s to fail"; return 1; }
	grep -q 'No space left on device' "$W/crdump.err" ||
		{ say "crdump does not say why:"; cat "$W/crdump.err" >&2; return 1; }
	logged 'checkpoint failed (memory): No space left on device' ||
		{ say "the log does not say why:"; cat "$W/log" >&2; return 1; }
	[ -z "$(ls -A "$W/small/img")" ] || { say "left in the image directory: $(ls -A "$W/small/img")"; return 1; }
	kill -USR1 $APP
	wait $APP || { say "the program did not survive"; return 1; }
}

# The copy killed while it writes: the program says so (the copy cannot),
# removes what the copy left, runs on, and its next checkpoint is whole
# (under the number the unfinished one would have had).
t_copy_killed() {
	local copy
	start -- E2E_BIGMEM_MB=512 "$E2E_BIN/bigmem" || return 1
	kill -USR2 $APP
	wait_for has_child || { say "no copy seen"; return 1; }
	copy=$(children $APP)
	kill -KILL $copy
	wait_for logged 'checkpoint failed (written by a copy): the copy was killed; the program keeps running' ||
		{ say "the program did not say the copy was killed:"; cat "$W/log" >&2; return 1; }
	wait_for eval '! has_child' || { say "the killed copy was not reaped"; return 1; }
	kill -USR2 $APP
	written || return 1
	[ "$(cd "$W/img" && ls -A)" = "$(printf 'ckpt-0001\nlatest')" ] ||
		{ say "the image directory holds: $(ls -A "$W/img")"; return 1; }
	verifies || return 1
	kill -USR1 $APP
	wait $APP || { say "the program failed after its checkpoints"; return 1; }
}

# copy_of PID: the copy of process PID still there, a child whose exit
# signal is the suspend signal.
copy_of() {
	local c
	for c in $(children "$1"); do
		[ "$(awk '{print $38}' /proc/"$c"/stat 2>/dev/null)" = "$(kill -l RTMAX)" ] && echo "$c"
	done
}
# The copies of the tree's members (the root's is the root's child).
member_copies() {
	local m
	for m in $(children "$APP"); do copy_of "$m"; done
}
tree_written() {
	wait_for logged ": checkpoint $W/img/$1 (3 processes): .*written by copies" ||
		{ say "no tree checkpoint $1 written by copies:"; cat "$W/log" >&2; return 1; }
}
# Once the program is stopped: it checked that no process saw a child it
# did not make, and that each one's memory was one instant.
tree_passes() {
	kill -USR1 $APP
	wait $APP || { say "the tree failed after its checkpoints:"; cat "$W/err" >&2; return 1; }
}

# A tree checkpointed while it runs on: every process's pages are written
# by a copy of it (the members' lines and the root's say so), none is left
# once written, the image verifies, and the program saw nothing of them.
t_tree() {
	start -- E2E_TREE_MB="32 64 64" "$E2E_BIN/cow_tree" || return 1
	kill -USR2 $APP
	tree_written ckpt-0001 || return 1
	[ "$(grep -c "(in the tree of pid $APP): .*, copied after .* ms, written by a copy in" "$W/log")" -eq 2 ] ||
		{ say "the members' copies did not both write:"; cat "$W/log" >&2; return 1; }
	wait_for eval '[ -z "$(member_copies)" ]' || { say "members' copies not reaped: $(member_copies)"; return 1; }
	verifies || return 1
	kill -USR2 $APP
	tree_written ckpt-0002 || return 1
	verifies || return 1
	tree_passes
}

# kill_copy_of PID: the copy of member PID killed while it writes; the
# root says so.
kill_copy_of() {
	local member=$1
	wait_for eval '[ -n "$(copy_of "$member")" ]' || { say "no copy of pid $1 seen"; return 1; }
	kill -KILL "$(copy_of "$1")"
	wait_for logged "checkpoint failed (writing the tree): pid $1 (cow_tree) its copy died while writing" ||
		{ say "the root did not say the copy died:"; cat "$W/log" >&2; return 1; }
}
# whole_next_time: no image was left, and the next checkpoint is whole.
whole_next_time() {
	[ -z "$(ls -A "$W/img")" ] || { say "left in the image directory: $(ls -A "$W/img")"; return 1; }
	kill -USR2 $APP
	tree_written ckpt-0001 || return 1
	verifies || return 1
	tree_passes
}

# A member's copy killed while it writes: the root's copy says so, no image
# is left, the tree ran on meanwhile, and the next checkpoint is whole.
t_tree_copy_killed() {
	local big
	start -- E2E_TREE_MB="16 16 512" "$E2E_BIN/cow_tree" || return 1
	kill -USR2 $APP
	# The big member's copy, which writes longest.
	big=$(for m in $(children "$APP"); do
		echo "$(awk '/^VmSize:/ {print $2}' /proc/"$m"/status) $m"
	done | sort -n | tail -1 | cut -d' ' -f2)
	kill_copy_of "$big" && whole_next_time
}

# Two big members: one's copy killed while both write. The other's copy
# stops at once rather than write its 512 MiB for nothing, and says why.
t_tree_copy_killed_stops_others() {
	local kids
	start -- E2E_TREE_MB="16 512 512" "$E2E_BIN/cow_tree" || return 1
	kill -USR2 $APP
	kids=$(children "$APP")
	kill_copy_of "${kids%% *}" || return 1
	logged "\[${kids##* }\]: checkpoint failed (memory): stopped, the tree's checkpoint failed elsewhere" ||
		{ say "pid ${kids##* }'s copy did not stop:"; cat "$W/log" >&2; return 1; }
	whole_next_time
}

# tree_in LIMIT "ROOT CHILD1 CHILD2" WHO COUNT WHY: the tree (MiB of each
# process) checkpointed in a memory cgroup of LIMIT MiB; WHO (root, or
# member) says it was held for want of room (WHY, a pattern), and COUNT
# members' copies wrote. The image verifies, and the program saw nothing
# of the copies.
tree_in() {
	local who
	make_cgroup $(($1 << 20)) || return $?
	start enter_cgroup -- E2E_TREE_MB="$2" "$E2E_BIN/cow_tree" || return 1
	kill -USR2 $APP
	wait_for logged ": checkpoint $W/img/ckpt-0001 (3 processes): " ||
		{ say "no checkpoint:"; cat "$W/log" >&2; return 1; }
	who="(in the tree of pid $APP)"
	[ "$3" = root ] && who="(3 processes)"
	logged "$who: .*(held until written, no copy: $5" ||
		{ say "$3 does not say it was held:"; cat "$W/log" >&2; return 1; }
	[ "$(grep -c "(in the tree of pid $APP): .*written by a copy" "$W/log")" -eq "$4" ] ||
		{ say "not $4 members' copies wrote:"; cat "$W/log" >&2; return 1; }
	verifies || return 1
	tree_passes
}
alone_no_room='a copy of up to 2[0-9][0-9] MiB would not fit in the [0-9]* MiB left'

# One member too big for a copy: it writes its pages held, and says why;
# the other has a copy, and the root's line counts the one held.
t_tree_no_room() {
	tree_in 400 "8 8 256" member 1 "$alone_no_room" || return 1
	logged "(3 processes): .*written by copies .*(1 of 3 processes held until written, no copy)" ||
		{ say "the root's line does not count the member held:"; cat "$W/log" >&2; return 1; }
}

# The root too big for a copy, its members not: it writes its pages held,
# lets the members go on, and commits once their copies have written.
t_tree_root_no_room() {
	tree_in 400 "256 8 8" root 2 "$alone_no_room"
}

# Each member's copy would fit alone, not both: the second is held, and
# says so. Both copies could come to 200 MiB at worst (the tree rewriting
# all its memory before they have written it), in a cgroup with some
# 140 MiB left, where the OOM killer would end one of the program's
# processes.
t_tree_copies_together() {
	tree_in 360 "8 100 100" member 1 \
		"a copy of up to 1[0-9][0-9] MiB would not fit in the [0-9]* MiB left beside the tree's other copies"
}

run_cases copy_fds exec_during no_room off copy_fails copy_killed tree tree_copy_killed tree_no_room \
	tree_root_no_room tree_copies_together tree_copy_killed_stops_others
