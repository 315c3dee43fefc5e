#!/usr/bin/env bash
# Checkpoints of a process tree (doc/trees.md): who is in the image, and
# how a tree that cannot be checkpointed whole fails. Restoring trees is
# tested by the *_tree.e2e and gzip_pipe.e2e programs; here each test
# checks the inventory, the log lines, and that every process runs on.
# Runs under tests/e2e/reaper.
set -u
suite=tree
. "$(dirname "$0")/suite.sh"
trap '[ $failed -eq 0 ] && rm -rf "$root"' EXIT
: "${CRINFO:?}"
prog=$(cd "$(dirname "$0")" && pwd)/tree.py
logged() { grep -q "$1" "$W/log" 2>/dev/null; }
pid_of() { cat "$W/$1.pid"; }

start() { # KIND, then env assignments
	local kind=$1
	shift
	(cd "$W" && exec env LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_LOG="$W/log" \
		SELFCKPT_DIR="$W/img" "$@" python3 "$prog" "$kind" "$E2E_BIN/static_sleep" \
		>"$W/out" 2>"$W/err" </dev/null) &
	APP=$!
	wait_for test -e "$W/ready" || { say "never ready"; cat "$W/err" >&2; return 1; }
	sleep 0.2
}

stop_all() {
	local r
	for r in child static root outside; do
		[ -e "$W/$r.pid" ] && kill -KILL "$(pid_of $r)" 2>/dev/null
	done
	wait 2>/dev/null
}

# Every process that counts still counts (within wait_for's 30 seconds:
# the machine may be busy).
runs_on() {
	local r a
	for r in "$@"; do
		a=$(cat "$W/count.$r")
		wait_for eval '[ "$(cat "$W/count.'"$r"'")" != "'"$a"'" ]' ||
			{ say "$r stopped counting at $a"; return 1; }
	done
}

tree_line() { # PID: its line in crinfo's process tree
	"$CRINFO" show "$W/img/latest" | sed -n '/^process tree:/,/^$/p' | grep -E "^ +$1 \("
}

# kill -USR2 to the root: the child and the zombie grandchild are in the
# image, listed with their parents, groups and sessions; the zombie with
# its wait status; everybody runs on.
t_whole() {
	start plain || return 1
	local r c z
	r=$(pid_of root) c=$(pid_of child) z=$(cat "$W/zombie.pid")
	kill -USR2 "$r"
	wait_for logged "^selfckpt\[$c\]: checkpoint .* (in the tree of pid $r)" ||
		{ say "the child did not take part"; cat "$W/log" >&2; return 1; }
	# The root's copy commits, and logs, after the members' copies wrote.
	wait_for logged "^selfckpt\[$r\]: checkpoint .* (3 processes, 1 of them a zombie):" ||
		{ say "the root's log line does not count the tree"; cat "$W/log" >&2; return 1; }
	"$CRINFO" verify "$W/img/latest" >"$W/verify" 2>&1
	grep -q "^ok .*every record valid" "$W/verify" || { say "crinfo verify:"; cat "$W/verify" >&2; return 1; }
	local sid pgid
	read -r pgid sid < <(ps -o pgid=,sid= -p "$r")
	tree_line "$r" | grep -q "ppid [0-9]*, pgid $pgid, sid $sid[,)]" &&
		tree_line "$c" | grep -q "ppid $r, pgid $pgid, sid $sid[,)]" &&
		tree_line "$z" | grep -q "ppid $c, .*zombie, wait status 0x700)" ||
		{ say "the inventory's tree is wrong:"; "$CRINFO" show "$W/img/latest" | sed -n '/^process tree:/,/^$/p' >&2; return 1; }
	ls "$W/img/latest" | grep -q "^core-$c.img$" || { say "no core-$c.img"; return 1; }
	ls "$W/img/latest" | grep -q -- "-$z.img$" && { say "files for the zombie"; return 1; }
	runs_on root child
}

# kill -USR2 to a member checkpoints its subtree only, and says so.
t_subtree() {
	start plain || return 1
	local r c z
	r=$(pid_of root) c=$(pid_of child) z=$(cat "$W/zombie.pid")
	kill -USR2 "$c"
	wait_for logged "^selfckpt\[$c\]: checkpoint .* (2 processes, 1 of them a zombie; only the subtree of pid $c, its parent $r is not in it):" ||
		{ say "no subtree log line"; cat "$W/log" >&2; return 1; }
	logged "^selfckpt\[$r\]: checkpoint" && { say "the root took part"; return 1; }
	tree_line "$c" | grep -q "ppid $r," && tree_line "$z" | grep -q "ppid $c," &&
		! tree_line "$r" >/dev/null ||
		{ say "the subtree's inventory is wrong"; "$CRINFO" show "$W/img/latest" >&2; return 1; }
	runs_on root child
}

# A descendant without the runtime (statically linked) fails the
# checkpoint, naming it; no image; the whole tree runs on.
t_static() {
	start static || return 1
	local s
	s=$(pid_of static)
	kill -USR2 "$(pid_of root)"
	wait_for logged "checkpoint failed (finding the process tree): pid $s (static_sleep) does not run the runtime" ||
		{ say "no failure naming pid $s"; cat "$W/log" >&2; return 1; }
	sleep 0.2
	ls -A "$W/img" 2>/dev/null | grep -q . && { say "left behind: $(ls -A "$W/img")"; return 1; }
	kill -0 "$s" || { say "the static program is gone"; return 1; }
	runs_on root child
}

# A member that cannot be checkpointed fails the whole tree's checkpoint,
# naming the member and why; no image; everybody runs on.
t_member_fails() {
	start device || return 1
	local c
	c=$(pid_of child)
	kill -USR2 "$(pid_of root)"
	wait_for logged "checkpoint failed (writing the tree): pid $c (python3) failed: descriptors: fd" ||
		{ say "no failure naming the member"; cat "$W/log" >&2; return 1; }
	wait_for logged "^selfckpt\[$c\]: checkpoint failed (descriptors)" ||
		{ say "the member did not log its own failure"; cat "$W/log" >&2; return 1; }
	sleep 0.2
	ls -A "$W/img" 2>/dev/null | grep -q . && { say "left behind: $(ls -A "$W/img")"; return 1; }
	runs_on root child
}

# outside_fails TEXT: a checkpoint of the root fails, logging
# "checkpoint failed (TEXT"; no image is left; everybody runs on.
outside_fails() {
	kill -USR2 "$(pid_of root)"
	wait_for logged "checkpoint failed ($1" || { say "no failure: $1"; cat "$W/log" >&2; return 1; }
	sleep 0.2
	ls -A "$W/img" 2>/dev/null | grep -q . && { say "left behind: $(ls -A "$W/img")"; return 1; }
	runs_on root child
}
# other_end WHAT PID FD KIND: the failure for KIND:[inode] at FD of PID
# (python3), whose other end is outside the tree.
other_end() { echo "$1): pid $2 (python3) fd $3: the other end of $4:\[[0-9]*\] is outside the tree"; }

# A pipe between the tree and a process outside it, at fd 3 (not a
# standard stream crload could hand over), fails the checkpoint naming
# the holder and the descriptor; no image; everybody runs on.
t_outside_pipe() {
	(cd "$W" && exec 3>&1 >"$W/out" 2>"$W/err" </dev/null && exec env LD_PRELOAD="$SELFCKPT_LIB" \
		SELFCKPT_LOG="$W/log" SELFCKPT_DIR="$W/img" python3 "$prog" plain none) |
		(echo "$BASHPID" >"$W/outside.pid" && exec sleep 600) &
	wait_for test -e "$W/ready" || { say "never ready"; return 1; }
	sleep 0.2
	outside_fails "$(other_end 'pipes between processes' '[0-9]*' 3 pipe)"
}

# Half of a socketpair whose other half is outside the tree fails the
# checkpoint naming the holder and the descriptor; no image; everybody
# runs on.
t_outside_pair() {
	start pair && outside_fails "$(other_end 'socketpairs between processes' "$(pid_of root)" '[0-9]*' socket)"
}

# A connection accepted on the root's listener whose client is outside
# the tree: the checkpoint fails naming the root's end; everybody runs on.
t_outside_conn() {
	start conn && outside_fails "$(other_end 'unix connections between processes' "$(pid_of root)" '[0-9]*' socket)"
}

# A SysV segment that a process outside the tree attaches too fails the
# checkpoint naming the segment and the process of the tree attaching it;
# no image; everybody runs on.
t_outside_sysv() {
	start sysv && outside_fails "SysV shared memory): pid $(pid_of root) (python3) attaches SysV shared memory segment [0-9]* (key 0), which a process outside the checkpoint attaches too"
}

# SELFCKPT_EXIT=1 on the root: the whole tree exits after the checkpoint.
t_exit_after() {
	start plain SELFCKPT_EXIT=1 || return 1
	local c
	c=$(pid_of child)
	kill -USR2 "$(pid_of root)"
	wait_for logged "^selfckpt\[$c\]: checkpoint .*; exiting" ||
		{ say "the child did not exit"; cat "$W/log" >&2; return 1; }
	wait $APP || { say "the root exited with $?"; return 1; }
	wait_for eval '! kill -0 '"$c"' 2>/dev/null || grep -q "^State:.*Z" /proc/'"$c"'/status' ||
		{ say "the child still runs"; return 1; }
	test -e "$W/img/latest/inventory.img" || { say "no image"; return 1; }
}

# A tree that execs all the time (bash running /bin/true in a loop):
# checkpoints keep succeeding, whatever the signal catches mid-exec or
# exiting, and no child dies of it.
t_exec_loop() {
	cat >"$W/loop.sh" <<'EOF'
end=$((SECONDS + 5))
while [ $SECONDS -lt $end ]; do
	/bin/true || { echo "a child failed: $?"; exit 1; }
done
echo ok
EOF
	(cd "$W" && exec env LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_LOG="$W/log" \
		SELFCKPT_DIR="$W/img" bash "$W/loop.sh" >"$W/out" 2>"$W/err" </dev/null) &
	APP=$!
	sleep 0.5
	local i
	for ((i = 0; i < 10; i++)); do
		kill -USR2 $APP
		sleep 0.3
	done
	wait $APP || { say "the loop ended with $?: $(cat "$W/out")"; return 1; }
	[ "$(cat "$W/out")" = ok ] || { say "the loop printed $(cat "$W/out")"; return 1; }
	! grep -q 'checkpoint failed' "$W/log" ||
		{ say "a checkpoint failed:"; grep 'checkpoint failed' "$W/log" >&2; return 1; }
	[ "$(grep -c "^selfckpt\[$APP\]: checkpoint /" "$W/log")" -ge 5 ] ||
		{ say "too few checkpoints of the root"; return 1; }
}

# mpirun passes the trigger on to its ranks once the tree's checkpoint is
# done (Open MPI forwards SIGUSR2 by default): the ranks take it as passed
# on, so there is one image, of the whole tree, and latest names it. Each
# rank used to take a checkpoint of its own after the tree's, and latest
# then named the image of one rank.
t_passed_on() {
	local n env
	if ! command -v mpirun >/dev/null || ! command -v mpicc >/dev/null; then
		echo "SKIP: $suite/passed_on: mpirun and mpicc are not installed"
		return 77
	fi
	env=$(cd "$(dirname "$0")" && pwd)/mpi_env.sh
	(cd "$W" && . "$env" && build_mpi_ring &&
		exec env LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_LOG="$W/log" SELFCKPT_DIR="$W/img" \
		mpirun "${mpirun_args[@]}" "$mpi_ring" result.txt >"$W/out" 2>"$W/err" </dev/null) &
	APP=$!
	wait_for test -s "$W/result.txt" || { say "the ranks never computed"; return 1; }
	kill -USR2 $APP
	wait $APP || { say "mpirun ended with $?: $(tail -3 "$W/err")"; return 1; }
	n=$(grep ': checkpoint' "$W/log" | grep -vc '(in the tree of pid')
	[ "$n" = 1 ] && [ "$(ls "$W/img")" = "$(printf 'ckpt-0001\nlatest')" ] ||
		{ say "more than the tree's image:"; cat "$W/log" >&2; ls "$W/img" >&2; return 1; }
	[ "$(grep -c 'passed on' "$W/log")" = 2 ] ||
		{ say "the ranks did not say they took the trigger as passed on"; return 1; }
	[ "$("$CRINFO" show "$W/img/latest" | grep -c '^process [0-9]')" = 3 ] ||
		{ say "latest is not the whole tree"; "$CRINFO" show "$W/img/latest" >&2; return 1; }
}

# ends_all CHECKS: runs CHECKS, then kills the tree started in APP,
# whatever they found: the loop below waits for every job.
ends_all() {
	local st=0 p
	"$1" || st=$?
	for p in $(descendants $APP) $APP; do kill -KILL "$p" 2>/dev/null; done
	wait $APP 2>/dev/null
	return $st
}

# SELFCKPT_INTERVAL in a tree of programs each started by an exec (a shell
# and its commands here; mpirun and its ranks in a batch job): every one
# runs the timer, and the periodic checkpoints are the tree's, each image
# holding every process. The commands' own ticks used to write images of
# one command each, which crrun then restored as the newest generation.
t_interval() {
	(cd "$W" && exec env LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_LOG="$W/log" SELFCKPT_DIR="$W/img" \
		SELFCKPT_INTERVAL=1 SELFCKPT_KEEP=100 bash -c 'sleep 600 & sleep 600 & wait' \
		>"$W/out" 2>"$W/err" </dev/null) &
	APP=$!
	ends_all interval_checks
}
interval_checks() {
	local p n
	wait_for eval '[ "$(pgrep -c -P $APP)" = 2 ]' || { say "no two commands"; return 1; }
	for p in $(pgrep -P $APP); do
		wait_for grep -qs '^signal: ' /proc/"$p"/timers ||
			{ say "command $p runs no interval timer: the test shows nothing"; return 1; }
	done
	wait_for eval '[ "$(cat "$W/log" 2>/dev/null | grep -c "^selfckpt\[$APP\]: checkpoint /")" -ge 4 ]' ||
		{ say "fewer than 4 periodic checkpoints:"; cat "$W/log" >&2; return 1; }
	n=$(grep ': checkpoint /' "$W/log" | grep -v '(in the tree of pid' | grep -vc '(3 processes)')
	[ "$n" = 0 ] || { say "checkpoints of part of the tree:"; cat "$W/log" >&2; return 1; }
	for p in "$W"/img/ckpt-*; do
		[ "$(ls "$p" | grep -c '^core-')" = 3 ] ||
			{ say "$p does not hold the whole tree: $(ls "$p")"; return 1; }
	done
}

# A process of the tree that runs another version of the runtime (its
# messages are of another length: helpers/other_version.c) fails the
# tree's checkpoint at once, named, rather than as one that did not join
# in time; no image is left, and the tree runs on.
t_other_version() {
	head -c 4096 /dev/zero >"$W/libselfckpt-other.so"
	(cd "$W" && exec env LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_LOG="$W/log" SELFCKPT_DIR="$W/img" \
		bash -c 'env -u LD_PRELOAD "$0" "$1" & wait' "$E2E_BIN/other_version" \
		"$W/libselfckpt-other.so" >"$W/out" 2>"$W/err" </dev/null) &
	APP=$!
	ends_all other_version_checks
}
other_version_checks() {
	local o
	wait_for test -s "$W/other.pid" || { say "other_version never ready"; cat "$W/err" >&2; return 1; }
	o=$(cat "$W/other.pid")
	kill -USR2 $APP
	wait_for logged "checkpoint failed (freezing the process tree): pid $o (other_version) runs another version of the runtime" ||
		{ say "no failure naming pid $o:"; cat "$W/log" "$W/err" >&2; return 1; }
	[ -e "$W/other.joined" ] || { say "other_version sent nothing: the test shows nothing"; return 1; }
	ls -A "$W/img" 2>/dev/null | grep -q . && { say "left behind: $(ls -A "$W/img")"; return 1; }
	kill -0 $APP && kill -0 "$o" || { say "the tree did not run on"; return 1; }
}

for t in whole subtree static member_fails outside_pipe outside_pair outside_conn outside_sysv \
	exit_after exec_loop passed_on interval other_version; do
	W=$root/$t
	mkdir -p "$W"
	APP=
	"t_$t"
	st=$?
	stop_all
	result "$t" $st
done
echo "tree: $passed passed, $failed failed"
[ $failed -eq 0 ]
