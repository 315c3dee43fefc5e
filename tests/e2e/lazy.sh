#!/usr/bin/env bash
# crload --lazy (doc/lazy-restore.md): the program runs again before its
# private memory is in, and computes what an uninterrupted run computes;
# a damaged chunk or a dead page server kills it rather than let it read
# wrong pages. tests/e2e/helpers/lazymem.c checks its memory after a
# madvise, an mremap, a read() and a fork of pages not filled yet;
# tests/e2e/helpers/lazytree.c is a tree whose processes each check theirs;
# tests/e2e/helpers/lazyshm.c a tree that shares anonymous memory.
# Runs under tests/e2e/reaper, as root (the process keeps its pid).
set -u
suite=lazy
. "$(dirname "$0")/suite.sh"
here=$(cd "$(dirname "$0")" && pwd)
: "${CRDUMP:?}"
trap end_suite EXIT
trap 'exit 1' INT TERM

# start [ENV=VALUE...]: lazymem in $W, under the runtime with those
# variables (none: no runtime, for crdump); pid in APP.
start() {
	local preload=()
	[ $# -gt 0 ] && preload=(LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_LOG="$W/log"
		SELFCKPT_DIR="$W/img" "$@")
	(cd "$W" && exec env "${preload[@]}" "$E2E_BIN/lazymem" 256 >"$W/out" 2>"$W/err" \
		</dev/null) &
	APP=$!
	wait_for test -e "$W/ready" || { say "lazymem never became ready"; return 1; }
}

# checkpoint N: the runtime's Nth image (of the program, or the tree it is
# the root of), the program running on.
checkpoint() {
	kill -USR2 "$APP"
	wait_for grep -qs "\[$APP\]: checkpoint $W/img/ckpt-000$1[: ]" "$W/log" ||
		{ say "no image $1:"; cat "$W/log" >&2; return 1; }
}

# ended: the original killed and gone, and ./go there for the restored one.
ended() {
	kill -KILL "$APP" 2>/dev/null
	wait "$APP" 2>/dev/null
	touch "$W/go"
}

# lazy IMAGE: crload --lazy IMAGE restores the program, which checks its
# memory and ends well; every page was served by the page server.
lazy() {
	"$CRLOAD" -v --lazy "$1" >"$W/crload.out" 2>"$W/crload.err" </dev/null ||
		{ say "crload --lazy $1 failed:"; cat "$W/crload.err" "$W/out" >&2; return 1; }
	grep -q '^ok' "$W/out" || { say "the program says:"; cat "$W/out" >&2; return 1; }
	grep -q 'pages served by pid' "$W/crload.err" &&
		grep -q 'every page in after' "$W/crload.err" ||
		{ say "no page server:"; cat "$W/crload.err" >&2; return 1; }
}

t_crdump() {
	start || return 1
	"$CRDUMP" -t "$APP" -D "$W/img" >/dev/null 2>"$W/crdump.err" ||
		{ say "crdump:"; cat "$W/crdump.err" >&2; return 1; }
	ended
	lazy "$W/img"
}

# The runtime knows it was restored lazily (its first checkpoint waits for
# every page); an eager restore of the same image does not say so.
t_runtime() {
	start SELFCKPT_FULL_EVERY=1 && checkpoint 1 || return 1
	ended
	lazy "$W/img/latest" || return 1
	grep -q ": restored from $W/img/ckpt-0001, its memory served lazily$" "$W/log" ||
		{ say "the runtime did not know it was restored lazily:"; cat "$W/log" >&2; return 1; }
	"$CRLOAD" "$W/img/latest" >/dev/null 2>"$W/crload.err" </dev/null ||
		{ say "crload $W/img/latest failed:"; cat "$W/crload.err" >&2; return 1; }
	[ "$(grep -c ': restored from' "$W/log")" = 2 ] &&
		[ "$(grep -c 'served lazily' "$W/log")" = 1 ] ||
		{ say "the eager restore is taken for a lazy one:"; cat "$W/log" >&2; return 1; }
}

# An incremental image: the first eighth written again between the two
# checkpoints comes from the newer, the rest from its parent.
t_incremental() {
	start SELFCKPT_FULL_EVERY=4 && checkpoint 1 || return 1
	touch "$W/mutate"
	wait_for test -e "$W/mutated" && checkpoint 2 || return 1
	grep -q '"parent"\|parent' <("$CRINFO" show "$W/img/ckpt-0002" 2>&1) ||
		{ say "ckpt-0002 is not incremental"; return 1; }
	ended
	lazy "$W/img/latest"
}

t_compressed() {
	start SELFCKPT_COMPRESS=1 && checkpoint 1 || return 1
	ended
	lazy "$W/img/latest"
}

# Detached: crload returns at once, the server and the watchdog serve on
# without it until every page is in.
t_detached() {
	local pid
	start || return 1
	"$CRDUMP" -t "$APP" -D "$W/img" >/dev/null 2>"$W/crdump.err" || return 1
	ended
	pid=$("$CRLOAD" -v --lazy --restore-detached "$W/img" 2>"$W/crload.err" </dev/null) ||
		{ say "crload -d --lazy failed:"; cat "$W/crload.err" >&2; return 1; }
	[ "$pid" = "$APP" ] || { say "crload -d printed '$pid', not $APP"; return 1; }
	wait_for grep -qs 'every page in after' "$W/crload.err" &&
		wait_for grep -qs '^ok' "$W/out" ||
		{ say "the detached restore did not finish:"; cat "$W/crload.err" "$W/out" >&2
		  return 1; }
}

# Changes of the map racing both fillers of the page server
# (tests/e2e/helpers/lazyrace.c): pages dropped, moved away and back, read,
# and a fork, at random places of 512 MiB while it is still being filled.
# racing [ENV=VALUE...]: captured by the runtime with those variables, or
# by crdump.
racing() {
	(cd "$W" && exec env ${1:+LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_LOG="$W/log" \
		SELFCKPT_DIR="$W/img" "$@"} "$E2E_BIN/lazyrace" 512 >"$W/out" 2>"$W/err" \
		</dev/null) &
	APP=$!
	wait_for test -e "$W/ready" || { say "lazyrace never became ready"; return 1; }
	if [ $# -gt 0 ]; then
		checkpoint 1 || return 1
		ended
		lazy "$W/img/latest" || return 1
	else
		"$CRDUMP" -t "$APP" -D "$W/img" >/dev/null 2>"$W/crdump.err" ||
			{ say "crdump:"; cat "$W/crdump.err" >&2; return 1; }
		ended
		lazy "$W/img" || return 1
	fi
	grep -q '^ok ([1-9][0-9]* of' "$W/out" ||
		{ say "no change raced the server:"; cat "$W/out" >&2; return 1; }
}
t_racing() { racing; }
t_racing_runtime() { racing SELFCKPT_FULL_EVERY=1; }

# The tree the tree cases run, and its arguments: lazytree (a parent and
# three children, tests/e2e/helpers/lazytree.c) unless a case says
# otherwise.
TREE=(lazytree 64 3)

# tree_start [ENV=VALUE...]: $TREE in $W, under the runtime with those
# variables (none: no runtime, for crdump); root's pid in APP, every pid
# in $W/pid-*.
tree_start() {
	local preload=()
	[ $# -gt 0 ] && preload=(LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_LOG="$W/log"
		SELFCKPT_DIR="$W/img" "$@")
	(cd "$W" && exec env "${preload[@]}" "$E2E_BIN/${TREE[0]}" "${TREE[@]:1}" >"$W/out" \
		2>"$W/err" </dev/null) &
	APP=$!
	wait_for test -e "$W/ready" || { say "${TREE[0]} never became ready"; return 1; }
}

# signal_tree SIG: SIG to $APP and every process below it.
signal_tree() {
	# shellcheck disable=SC2046 # pids, a word each
	kill "-$1" "$APP" $(descendants "$APP") 2>/dev/null
}

# tree_gone WHY: every process of the tree ($W/pid-*) gone, or one said to
# be WHY.
tree_gone() {
	local pid
	for pid in $(cat "$W"/pid-*); do
		wait_for eval "! kill -0 $pid 2>/dev/null" || { say "pid $pid $1"; return 1; }
	done
}

# tree_ended: the original tree killed and every process of it gone (the
# restore takes their pids), and ./go there for the restored one.
tree_ended() {
	signal_tree KILL
	wait "$APP" 2>/dev/null
	tree_gone "did not end" && touch "$W/go"
}

# tree_lazy IMAGE [ns]: crload --lazy IMAGE restores the tree, one page
# server serves the four processes, and each computes what an
# uninterrupted run of $TREE computes (its out-RANK files). With ns, in
# a new pid namespace, whose end ends the server too: it may not live to
# say every page was in.
tree_lazy() {
	local ref=$W/ref
	mkdir -p "$ref" && touch "$ref/go"
	(cd "$ref" && exec "$E2E_BIN/${TREE[0]}" "${TREE[@]:1}" >"$ref/out" 2>&1 </dev/null) ||
		{ say "${TREE[0]} failed on its own:"; cat "$ref/out" "$ref"/out-* >&2; return 1; }
	"$CRLOAD" -v --lazy "$1" >"$W/crload.out" 2>"$W/crload.err" </dev/null ||
		{ say "crload --lazy $1 failed:"; cat "$W/crload.err" "$W/out" >&2; return 1; }
	grep -q '^ok' "$W/out" || { say "the tree says:"; cat "$W/out" "$W"/out-* >&2; return 1; }
	diff <(cd "$ref" && cat out-*) <(cd "$W" && cat out-*) >&2 ||
		{ say "the restored tree computed otherwise"; return 1; }
	grep -q "the tree of pid $APP (4 processes): pages served by pid" "$W/crload.err" &&
		grep -q "the tree of pid $APP (4 processes): every page in after" "$W/crload.err" ||
		{ say "no page server for the tree:"; cat "$W/crload.err" >&2; return 1; }
}

# A tree from crdump: parent and children each with private memory.
t_tree() {
	tree_start || return 1
	"$CRDUMP" -t "$APP" -D "$W/img" >/dev/null 2>"$W/crdump.err" ||
		{ say "crdump:"; cat "$W/crdump.err" >&2; return 1; }
	tree_ended || return 1
	tree_lazy "$W/img"
}

# The runtime's image of the tree, its pages compressed.
t_tree_compressed() {
	tree_start SELFCKPT_COMPRESS=1 && checkpoint 1 || return 1
	tree_ended || return 1
	tree_lazy "$W/img/latest"
}

# tree_damaged RANK CHUNK: $TREE from crdump's image, a byte of chunk
# CHUNK of the pages of its process RANK damaged: the page server names
# the process and its chunk, and the whole tree is killed, none running
# on.
tree_damaged() {
	local child st=0
	tree_start || return 1
	"$CRDUMP" -t "$APP" -D "$W/img" >/dev/null 2>"$W/crdump.err" || return 1
	tree_ended || return 1
	child=$(cat "$W/pid-$1")
	"$E2E_BIN/pagesflip" "$W/img" "$child" $(($2 << 20 | 5)) || return 1
	timeout -s KILL 120 "$CRLOAD" -v --lazy "$W/img" >"$W/crload.out" 2>"$W/crload.err" \
		</dev/null || st=$?
	[ $st -ne 0 ] && ! grep -q '^ok' "$W/out" && ! grep -qs "^rank $1" "$W/out-$1" ||
		{ say "the tree ran on with a damaged chunk (status $st):"; cat "$W/out" >&2
		  return 1; }
	tree_gone "lived on" || return 1
	grep -q "pid $child: serving its pages: .*pages-$child\.img: chunk $2 (bytes [0-9]* to [0-9]*): checksum mismatch.*: the tree is killed" \
		"$W/crload.err" || { say "crload did not name the chunk:"; cat "$W/crload.err" >&2
		return 1; }
}

# A byte of a child's pages damaged.
t_tree_damaged() {
	tree_damaged 2 20
}

# served_shared MIB: the page server of the tree placed at least MIB MiB
# of shared memory: crload left it empty.
served_shared() {
	local got
	got=$(sed -n 's/.*every page in after .*, \([0-9.]*\) MiB of them shared).*/\1/p' \
		"$W/crload.err")
	[ -n "$got" ] && awk -v got="$got" -v want="$1" 'BEGIN { exit !(got >= want) }' ||
		{ say "not $1 MiB of shared memory served lazily:"; cat "$W/crload.err" >&2
		  return 1; }
}

# A tree sharing anonymous memory (tests/e2e/helpers/lazyshm.c), from
# crdump's image: its 48 MiB of stored shared pages are served lazily,
# once for all the processes, and what they compute after dropping,
# moving and unmapping views of it before any is in, and a fork, is what
# an uninterrupted run computes. 64 MiB, so that the MiB the parent drops
# is still pending when it does: a server that forgot a shared page on
# MADV_DONTNEED would make it read zeros.
t_tree_shared() {
	local TREE=(lazyshm 64)
	tree_start || return 1
	"$CRDUMP" -t "$APP" -D "$W/img" >/dev/null 2>"$W/crdump.err" ||
		{ say "crdump:"; cat "$W/crdump.err" >&2; return 1; }
	tree_ended && tree_lazy "$W/img" && served_shared 48
}

# The same from the runtime's images, the second incremental and its pages
# compressed.
t_tree_shared_incremental() {
	local TREE=(lazyshm 64)
	tree_start SELFCKPT_COMPRESS=1 SELFCKPT_FULL_EVERY=4 && checkpoint 1 && checkpoint 2 ||
		return 1
	tree_ended && tree_lazy "$W/img/latest" && served_shared 48
}

# A byte of the shared memory's pages damaged: each process's image holds
# the pages of its view, and the last process's (child 3's) are those
# restored, as an eager restore does.
t_tree_shared_damaged() {
	local TREE=(lazyshm 64)
	tree_damaged 3 8
}

# killed_mid_fill IMAGE: crload -v --lazy IMAGE, its page server killed by
# pid once it stopped itself mid-fill (doc/lazy-restore.md, "Test aid");
# crload's status in ST. A crload left waiting on a hung process is
# killed: the test fails.
killed_mid_fill() {
	local loader server start=$SECONDS
	ST=0
	SELFCKPT_TEST_STOP_AT=serving timeout -s KILL 120 "$CRLOAD" -v --lazy "$1" \
		>"$W/crload.out" 2>"$W/crload.err" </dev/null &
	loader=$!
	wait_for grep -qs 'pages served by pid' "$W/crload.err" ||
		{ say "no page server:"; cat "$W/crload.err" >&2; return 1; }
	server=$(sed -n 's/.*pages served by pid \([0-9]*\),.*/\1/p' "$W/crload.err")
	wait_for grep -qs '^State:.*T' "/proc/$server/status" ||
		{ say "the server never stopped"; return 1; }
	SERVER_NS=$(readlink "/proc/$server/ns/pid")
	kill -KILL "$server"
	wait $loader || ST=$?
	# Its status is the killed process's, 137, either way: the time tells.
	[ $((SECONDS - start)) -lt 120 ] || { say "crload hung, killed by timeout"; return 1; }
}

# ns_start: the tree's image taken by crdump with the tree left running,
# then the tree stopped: its pids stay taken, so crload restores in a new
# pid namespace.
ns_start() {
	tree_start || return 1
	"$CRDUMP" --leave-running -t "$APP" -D "$W/img" >/dev/null 2>"$W/crdump.err" ||
		{ say "crdump:"; cat "$W/crdump.err" >&2; return 1; }
	signal_tree STOP
	rm -f "$W"/out-* && touch "$W/go"
}

# A tree whose pids are taken, restored lazily in a new pid namespace: it
# computes the same, the original is left as it was, and the page server,
# outside the namespace, outlives the tree to say every page was in.
t_tree_ns() {
	ns_start && tree_lazy "$W/img" ns || return 1
	grep -q 'in a new pid namespace' "$W/crload.err" ||
		{ say "not restored in a new pid namespace:"; cat "$W/crload.err" >&2; return 1; }
	kill -0 "$APP" || { say "the original tree is gone"; return 1; }
	signal_tree KILL
}

# The page server killed mid-fill in a new pid namespace: the restored
# tree is killed, and the original, which holds the same pids outside the
# namespace where the server and the watchdog are, lives on.
t_tree_ns_server_killed() {
	local pid
	ns_start && killed_mid_fill "$W/img" || return 1
	[ "$SERVER_NS" = "$(readlink /proc/self/ns/pid)" ] ||
		{ say "the page server was in $SERVER_NS, not crload's pid namespace"; return 1; }
	[ "$ST" -ne 0 ] && ! grep -qs '^rank' "$W"/out-* ||
		{ say "the tree lived on (crload status $ST):"; cat "$W/out" "$W"/out-* >&2
		  return 1; }
	grep -q "the tree of pid $APP (4 processes): their page server ended before every page was in: the tree is killed" \
		"$W/crload.err" || { say "crload says:"; cat "$W/crload.err" >&2; return 1; }
	for pid in $(cat "$W"/pid-*); do
		grep -qs '^State:.*T' "/proc/$pid/status" ||
			{ say "original pid $pid was not left stopped"; return 1; }
	done
	signal_tree KILL
}

# The page server of a tree killed mid-fill: every process of it is
# killed, none left hung on a fault, none running with pages missing.
t_tree_server_killed() {
	tree_start || return 1
	"$CRDUMP" -t "$APP" -D "$W/img" >/dev/null 2>"$W/crdump.err" || return 1
	tree_ended && killed_mid_fill "$W/img" || return 1
	[ "$ST" -ne 0 ] && ! grep -q '^ok' "$W/out" ||
		{ say "the tree lived on (crload status $ST):"; cat "$W/out" >&2; return 1; }
	tree_gone "lived on" || return 1
	grep -q "the tree of pid $APP (4 processes): their page server ended before every page was in: the tree is killed" \
		"$W/crload.err" || { say "crload says:"; cat "$W/crload.err" >&2; return 1; }
}

# An unprivileged crload asked for --lazy restores eagerly and says why:
# without CAP_SYS_PTRACE the kernel tells a userfaultfd of no fork
# (doc/lazy-restore.md). The program computes the same.
t_unprivileged() {
	local as=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
	"${as[@]}" test -x "$CRLOAD" -a -r "$SELFCKPT_LIB" -a -x "$E2E_BIN/lazymem" || {
		echo "SKIP: lazy/unprivileged: the build is not reachable by user nobody"
		return 77
	}
	chmod 711 "$root" && chmod 777 "$W" || return 1
	# The restored process reopens its output as nobody.
	install -m 666 /dev/null "$W/out" && install -m 666 /dev/null "$W/err" || return 1
	(cd "$W" && exec "${as[@]}" env LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_LOG="$W/log" \
		SELFCKPT_DIR="$W/img" "$E2E_BIN/lazymem" 256 >"$W/out" 2>"$W/err" </dev/null) &
	APP=$!
	wait_for test -e "$W/ready" || { say "lazymem never became ready"; return 1; }
	checkpoint 1 || return 1
	ended
	"${as[@]}" "$CRLOAD" -v --lazy "$W/img/latest" >"$W/crload.out" 2>"$W/crload.err" \
		</dev/null || { say "crload --lazy failed:"; cat "$W/crload.err" "$W/out" >&2; return 1; }
	grep -q '^ok' "$W/out" || { say "the program says:"; cat "$W/out" >&2; return 1; }
	grep -q -- '--lazy: crload is unprivileged: the kernel tells a userfaultfd of forks only where the process has CAP_SYS_PTRACE.*: restored eagerly$' \
		"$W/crload.err" && ! grep -q 'pages served by' "$W/crload.err" ||
		{ say "crload says:"; cat "$W/crload.err" >&2; return 1; }
}

# A Python multiprocessing.Pool (tests/e2e/programs/pool.py: forked
# workers, pipes, semaphores in shared memory, threads), restored lazily
# from crdump's image mid-computation: its sum equals an uninterrupted
# run's.
t_pool() {
	local pool=$here/programs/pool.py want
	command -v python3 >/dev/null || { echo "SKIP: lazy/pool: no python3"; return 77; }
	want=$(python3 -u "$pool" | tail -1)
	(cd "$W" && exec python3 -u "$pool" >"$W/out" 2>"$W/err" </dev/null) &
	APP=$!
	wait_for grep -qs '^start' "$W/out" || { say "the pool never started"; return 1; }
	"$CRDUMP" -t "$APP" -D "$W/img" >/dev/null 2>"$W/crdump.err" ||
		{ say "crdump:"; cat "$W/crdump.err" >&2; return 1; }
	signal_tree KILL
	wait "$APP" 2>/dev/null
	"$CRLOAD" -v --lazy "$W/img" >"$W/crload.out" 2>"$W/crload.err" </dev/null ||
		{ say "crload --lazy failed:"; cat "$W/crload.err" "$W/out" "$W/err" >&2; return 1; }
	[ "$(tail -1 "$W/out")" = "$want" ] ||
		{ say "the pool says '$(tail -1 "$W/out")', not '$want'"; return 1; }
	grep -q "the tree of pid $APP ([0-9]* processes): every page in after" "$W/crload.err" ||
		{ say "no page server for the tree:"; cat "$W/crload.err" >&2; return 1; }
}

# A byte of the big region's pages damaged (the whole file's sum made
# right again): the page server finds the chunk as it reads it and the
# process is killed before it could read it.
t_damaged() {
	local st=0
	start || return 1
	"$CRDUMP" -t "$APP" -D "$W/img" >/dev/null 2>"$W/crdump.err" || return 1
	ended
	"$E2E_BIN/pagesflip" "$W/img" "$APP" $((150 << 20 | 5)) || return 1
	"$CRLOAD" -v --lazy "$W/img" >"$W/crload.out" 2>"$W/crload.err" </dev/null || st=$?
	[ $st -ne 0 ] && ! grep -q '^ok' "$W/out" ||
		{ say "the program ran on with a damaged chunk (status $st):"; cat "$W/out" >&2
		  return 1; }
	grep -q "serving its pages: .*pages-$APP\.img: chunk 150 (bytes [0-9]* to [0-9]*): checksum mismatch" \
		"$W/crload.err" ||
		{ say "crload did not name the chunk:"; cat "$W/crload.err" >&2; return 1; }
}

# The page server killed mid-fill: the process is killed too, never left
# hung, never running with pages missing.
t_server_killed() {
	start || return 1
	"$CRDUMP" -t "$APP" -D "$W/img" >/dev/null 2>"$W/crdump.err" || return 1
	ended
	killed_mid_fill "$W/img" || return 1
	[ "$ST" -ne 0 ] && ! grep -q '^ok' "$W/out" && ! kill -0 "$APP" 2>/dev/null ||
		{ say "the process lived on (crload status $ST):"; cat "$W/out" >&2; return 1; }
	grep -q 'its page server ended before every page was in: the process is killed' \
		"$W/crload.err" || { say "crload says:"; cat "$W/crload.err" >&2; return 1; }
}

run_cases crdump runtime incremental compressed detached racing racing_runtime tree tree_compressed tree_ns \
	tree_ns_server_killed tree_damaged tree_server_killed tree_shared tree_shared_incremental \
	tree_shared_damaged unprivileged pool damaged server_killed
