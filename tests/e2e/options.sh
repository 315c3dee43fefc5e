#!/usr/bin/env bash
# Runtime options and failure handling, beyond the per-program scenarios:
# SELFCKPT_EXIT, SELFCKPT_SIGNAL, --restore-detached, a checkpoint that
# fails (disk full, read-only directory) leaving the app running and no
# image, and crload refusing damaged images before creating any process
# (or, for damaged pages, found as memory is filled, before any runs).
# Runs under tests/e2e/reaper; needs root for the tmpfs mounts.
set -u
suite=options
. "$(dirname "$0")/suite.sh"
trap end_suite EXIT
logged() { grep -q "$1" "$W/log" 2>/dev/null; }
logged_times() { [ "$(grep -c "$1" "$W/log" 2>/dev/null)" = "$2" ]; } # TEXT N

start() { # env assignments..., then the program and its args
	(cd "$W" && exec env LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_LOG="$W/log" "$@" \
		>"$W/out" 2>"$W/err" </dev/null) &
	APP=$!
	wait_for test -e "$W/ready" || { say "never ready"; return 1; }
	sleep 0.2
}

no_image_left() { # DIR: nothing that looks like an image, complete or not
	local left
	left=$(ls -A "$1" 2>/dev/null)
	[ -z "$left" ] || { say "left behind in $1: $left"; return 1; }
}

t_exit_after() {
	start SELFCKPT_DIR="$W/img" SELFCKPT_EXIT=1 "$E2E_BIN/counter" || return 1
	kill -USR2 $APP
	local st=0
	wait $APP || st=$?
	[ $st -eq 0 ] || { say "SELFCKPT_EXIT=1: exit status $st"; return 1; }
	logged 'exiting' || { say "no 'exiting' in the log"; return 1; }
	"$CRLOAD" "$W/img/latest" >"$W/crload.out" 2>"$W/crload.err" &
	local loader=$!
	wait_for logged 'restored from' || return 1
	sleep 0.2
	kill -USR1 $loader
	wait $loader || { say "restored run failed"; return 1; }
}

# A child a program forks inherits the trigger's handler, which takes the
# checkpoint itself: the child alone is checkpointed, killed, restored, and
# finishes with the same result as an uninterrupted run.
t_forked_child() {
	local prog='
import os, sys, time
def run(pause):
    s = 1
    for i in range(40):
        s = (s * 31 + i) % 1000003
        time.sleep(pause)
    return s
if sys.argv[1:] == ["plain"]:
    print(run(0))
    sys.exit(0)
pid = os.fork()
if pid:
    os.waitpid(pid, 0)
    sys.exit(0)
with open("child.pid", "w") as f:
    f.write(str(os.getpid()))
open("ready", "w").close()
print(run(0.05), flush=True)
'
	local want child
	want=$(python3 -c "$prog" plain)
	start SELFCKPT_DIR="$W/img" python3 -c "$prog" || return 1
	child=$(cat "$W/child.pid")
	sleep 0.3
	kill -USR2 "$child"
	wait_for logged ': checkpoint /' || { say "the child wrote no image"; return 1; }
	kill -KILL "$child"
	wait $APP
	"$CRLOAD" "$W/img/latest" >"$W/crload.out" 2>"$W/crload.err" ||
		{ say "the restored child failed"; cat "$W/crload.err" >&2; return 1; }
	[ "$(cat "$W/out")" = "$want" ] ||
		{ say "the restored child printed '$(cat "$W/out")', not $want"; return 1; }
}

# A statically linked program cannot load the runtime: each exec of one
# says so on stderr, naming it; the program itself runs as it would.
t_static_exec() {
	(cd "$W" && exec env LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_LOG="$W/log" \
		bash -c "'$E2E_BIN/static_true' && exec '$E2E_BIN/static_true'" \
		>"$W/out" 2>"$W/err" </dev/null) || { say "the static program failed"; return 1; }
	[ "$(grep -c "static_true is statically linked" "$W/err")" = 2 ] ||
		{ say "expected a warning naming it per exec, got:"; cat "$W/err" >&2; return 1; }
}

# compress_case ENV... -- SAID SHOWN: the counter started with ENV says SAID
# once in its log, and its checkpoint's crinfo show says SHOWN.
compress_case() {
	local env=()
	while [ "$1" != -- ]; do env+=("$1"); shift; done
	: >"$W/log"
	start SELFCKPT_DIR="$W/img" "${env[@]}" "$E2E_BIN/counter" || return 1
	logged_times "$2" 1 || { say "not said once: $2"; cat "$W/log" >&2; return 1; }
	kill -USR2 $APP
	wait_for logged ': checkpoint /' || { say "no checkpoint"; cat "$W/log" >&2; return 1; }
	"$CRINFO" show "$W/img/latest" | grep -q "$3" ||
		{ say "crinfo show says no '$3':"; "$CRINFO" show "$W/img/latest" >&2; return 1; }
	kill -USR1 $APP
	wait $APP || { say "the app did not survive its checkpoint"; return 1; }
}

# SELFCKPT_COMPRESS that is no zstd level, or a thread count out of range:
# said once each at start; the images are raw, or compressed with the
# default number of threads, and the program runs on.
t_compress_bad_values() {
	compress_case SELFCKPT_COMPRESS=fast SELFCKPT_COMPRESS_THREADS=0 -- \
		'SELFCKPT_COMPRESS is not a zstd level of 0 to 19; images are not compressed' \
		'uncompressed' || return 1
	rm -rf "$W/img"
	compress_case SELFCKPT_COMPRESS=1 SELFCKPT_COMPRESS_THREADS=9 -- \
		'SELFCKPT_COMPRESS_THREADS is not a number of 1 to 8' 'zstd level 1'
}

t_signal() {
	start SELFCKPT_DIR="$W/img" SELFCKPT_SIGNAL=HUP "$E2E_BIN/counter" || return 1
	kill -HUP $APP
	wait_for logged ': checkpoint /' || { say "SIGHUP did not checkpoint"; return 1; }
	kill -USR1 $APP
	wait $APP || { say "the app did not survive its trigger"; return 1; }
}

# A trigger sent while a checkpoint is being written reaches another
# thread of the program: it is not dropped, one more checkpoint follows.
t_trigger_during_checkpoint() {
	local busy
	busy=$(cd "$(dirname "$0")" && pwd)/busy.py
	start SELFCKPT_DIR="$W/img" python3 "$busy" 100000 out.txt 512 || return 1
	kill -USR2 $APP
	wait_for eval 'ls -d "$W"/img/.ckpt-0001.tmp-* >/dev/null 2>&1' ||
		{ say "no checkpoint began"; return 1; }
	kill -USR2 $APP
	wait_for eval '[ "$(cat "$W/log" 2>/dev/null | grep -c ": checkpoint /")" -ge 2 ]' ||
		{ say "the trigger sent during the checkpoint was dropped:"; cat "$W/log" >&2; return 1; }
	[ "$(ls "$W/img")" = "$(printf 'ckpt-0001\nckpt-0002\nlatest')" ] ||
		{ say "not two generations:"; ls "$W/img" >&2; return 1; }
	"$CRINFO" verify "$W/img/latest" >/dev/null || { say "the second image does not verify"; return 1; }
}

t_detached() {
	start SELFCKPT_DIR="$W/img" "$E2E_BIN/counter" || return 1
	kill -USR2 $APP
	wait_for logged ': checkpoint /' || return 1
	kill -KILL $APP; wait $APP 2>/dev/null
	local pid
	pid=$("$CRLOAD" --restore-detached "$W/img/latest" 2>"$W/crload.err") || {
		say "crload -d failed: $(cat "$W/crload.err")"; return 1; }
	[ "$pid" = "$APP" ] || { say "printed pid '$pid', expected $APP"; return 1; }
	kill -0 "$pid" || { say "restored process is not running"; return 1; }
	kill -KILL "$pid"
}

# crload run with more than a thousand descriptors open (a shell's, a
# batch system's): none of them reaches the restored process.
t_many_fds() {
	start SELFCKPT_DIR="$W/img" "$E2E_BIN/counter" || return 1
	local before pid
	before=$(ls /proc/$APP/fd | wc -l)
	kill -USR2 $APP
	wait_for logged ': checkpoint /' || return 1
	kill -KILL $APP; wait $APP 2>/dev/null
	pid=$(ulimit -n 4096 && for ((i = 0; i < 1500; i++)); do exec {fd}</dev/null; done &&
		"$CRLOAD" --restore-detached "$W/img/latest" 2>"$W/crload.err") ||
		{ say "crload -d failed: $(cat "$W/crload.err")"; return 1; }
	[ "$(ls /proc/"$pid"/fd | wc -l)" -eq "$before" ] ||
		{ say "restored with $(ls /proc/"$pid"/fd | wc -l) descriptors, had $before"; kill -KILL "$pid"; return 1; }
	kill -KILL "$pid"
}

# The pid is taken (the original runs on), so the copy is restored in a
# new pid namespace: the printed pid is still one the caller can signal,
# the restored process as seen from here, and killing it ends the tree.
t_detached_ns() {
	start SELFCKPT_DIR="$W/img" "$E2E_BIN/counter" || return 1
	kill -USR2 $APP
	wait_for logged ': checkpoint /' || return 1
	local pid init
	pid=$("$CRLOAD" --restore-detached "$W/img/latest" \
		2>"$W/crload.err") || { say "crload -d failed: $(cat "$W/crload.err")"; return 1; }
	[ "$pid" != "$APP" ] && grep -q "^NSpid:.*[[:space:]]$APP\$" /proc/"$pid"/status ||
		{ say "printed pid '$pid' is not the restored $APP seen from here"; return 1; }
	init=$(awk '/^PPid:/ { print $2 }' /proc/"$pid"/status)
	kill -KILL "$pid"
	wait_for gone "$init" || { say "the namespace's init $init outlived its root"; return 1; }
}
gone() { ! grep -qs '^State:[[:space:]]*[^Z]' /proc/"$1"/status; }

# Triggers a checkpoint of $APP that must fail once, leave nothing in DIR
# and leave the app running unharmed.
fails_and_survives() { # DIR
	kill -USR2 $APP
	wait_for logged 'checkpoint failed' || { say "no failure reported"; return 1; }
	[ "$(grep -c 'checkpoint failed' "$W/log")" -eq 1 ] || return 1
	no_image_left "$1" || return 1
	kill -USR1 $APP
	wait $APP || { say "the app did not survive a failed checkpoint"; return 1; }
}

fails_into() { # DIR
	start SELFCKPT_DIR="$1" E2E_BIGMEM_MB=32 "$E2E_BIN/bigmem" || return 1
	fails_and_survives "$1"
}

# A descriptor no kind handles: the failure names it.
t_unsupported() {
	local kind want
	for kind in "${unsupported_kinds[@]}"; do
		want=${kind#*:} kind=${kind%%:*}
		rm -rf "${W:?}"/*
		start SELFCKPT_DIR="$W/img" "$E2E_BIN/unsupported" "$kind" || return 1
		fails_and_survives "$W/img" || return 1
		grep -qE "fd [0-9]+ \($want.*cannot be checkpointed" "$W/log" ||
			{ say "the failure does not name the $kind descriptor:"; cat "$W/log" >&2; return 1; }
	done
}

# More signals pending than an image keeps: the failure says so, and the
# program still receives every one of them, in order.
t_too_many_pending() {
	start SELFCKPT_DIR="$W/img" "$E2E_BIN/pending_full" || return 1
	fails_and_survives "$W/img" || return 1
	grep -q "checkpoint failed (threads): more signals pending than an image keeps: 1024" \
		"$W/log" || { say "the failure does not say why:"; cat "$W/log" >&2; return 1; }
}

# A batch job's stderr is a file, and the runtime's report of the
# checkpoint (no SELFCKPT_LOG) goes there after the image is written:
# plain crload cuts it back, keeps the report beside the image and says
# where, and the restored run's stderr is what it would have been.
t_report_on_stderr() {
	(cd "$W" && exec env LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_DIR="$W/img" \
		"$E2E_BIN/counter" >"$W/out" 2>"$W/err" </dev/null) &
	APP=$!
	wait_for test -e "$W/ready" || { say "never ready"; return 1; }
	kill -USR2 $APP
	wait_for grep -q ': checkpoint /' "$W/err" || { say "no report on stderr"; return 1; }
	kill -KILL $APP; wait $APP 2>/dev/null
	cp "$W/err" "$W/report"
	"$CRINFO" verify "$W/img/latest" 2>&1 | grep -q "^note .*$W/err grew by .*crload cuts it back" ||
		{ say "crinfo verify does not note the grown stderr"; return 1; }
	"$CRLOAD" "$W/img/latest" >"$W/crload.out" 2>"$W/crload.err" &
	local loader=$! kept="$W/img/ckpt-0001.cut-1/1-err"
	wait_for grep -q ': restored from' "$W/err" || { cat "$W/crload.err" >&2; return 1; }
	kill -USR1 $loader
	wait $loader || { say "restored run failed"; cat "$W/err" >&2; return 1; }
	grep -Fqx "crload: $W/err: cut back to the 0 bytes it had at the checkpoint; the $(stat -c %s "$W/report") bytes written since are kept in $kept" \
		"$W/crload.err" || { say "crload does not name the kept bytes:"; cat "$W/crload.err" >&2; return 1; }
	cmp -s "$W/report" "$kept" || { say "$kept is not the report"; return 1; }
	[ "$(grep -vc ': restored from' "$W/err")" = 0 ] ||
		{ say "stderr holds more than the restored run's line:"; cat "$W/err" >&2; return 1; }
}

# append_image CAPTURE: append checkpointed in that capture mode, then it
# runs on for a moment and is killed: seq.txt (fd 17) and log.txt (fd 23,
# O_APPEND) grew since the checkpoint.
append_image() {
	if [ "$1" = runtime ]; then
		start SELFCKPT_DIR="$W/img" "$E2E_BIN/append" || return 1
		kill -USR2 $APP
		wait_for logged ': checkpoint /' || return 1
	else
		(cd "$W" && exec "$E2E_BIN/append" >"$W/out" 2>"$W/err" </dev/null) &
		APP=$!
		wait_for test -e "$W/ready" || { say "never ready"; return 1; }
		mkdir -p "$W/img"
		"$CRDUMP" -t $APP -D "$W/img/ckpt-0001" --leave-running >"$W/crdump.out" \
			2>"$W/crdump.err" || { say "crdump failed"; cat "$W/crdump.err" >&2; return 1; }
		ln -s ckpt-0001 "$W/img/latest"
	fi
	sleep 0.3
	kill -KILL $APP; wait $APP 2>/dev/null
	return 0
}

# The restored append runs on and, stopped, checks its files hold exactly
# the lines it wrote (as an uninterrupted run's). crload's own lines
# (stderr) go to $W/crload.err.
restored_runs() {
	"$CRLOAD" -v "$W/img/latest" >"$W/crload.out" 2>"$W/crload.err" &
	local loader=$!
	wait_for grep -qs 'process running again' "$W/crload.err" ||
		{ say "not restored:"; cat "$W/crload.err" >&2; return 1; }
	sleep 1
	kill -USR1 $loader
	wait $loader || { say "restored run failed"; cat "$W/err" >&2; return 1; }
}

# The files of $W as they are, and any bytes kept (from a cut).
files_state() { md5sum "$W"/seq.txt "$W"/log.txt "$W"/out "$W"/err; find "$W" -name '*.cut-*'; }

# kept_as FILE N: crload said it cut FILE, keeping the bytes it had past
# its checkpointed size (in $W/FILE.was) in ckpt-0001.cut-N.
kept_as() {
	local line kept size
	line=$(grep "^crload: $W/$1: cut back to the [0-9]* bytes it had at the checkpoint" \
		"$W/crload.err") || { say "crload does not say it cut $1:"; cat "$W/crload.err" >&2; return 1; }
	kept=${line##* kept in }
	size=${line#*cut back to the }
	size=${size%% *}
	[[ $kept == "$W/img/ckpt-0001.cut-$2/"*"-$1" ]] || { say "$1 kept in $kept"; return 1; }
	tail -c +$((size + 1)) "$W/$1.was" | cmp -s - "$kept" ||
		{ say "$kept is not what $1 held past its $size bytes"; return 1; }
}

# A file the process writes grew after the checkpoint (it ran on): crload
# cuts it back and keeps the bytes cut, naming where; the restored run's
# files equal an uninterrupted run's. Restored twice in a row, the second
# time cuts again and keeps the bytes apart from the first time's.
grown_files() { # CAPTURE
	append_image "$1" || return 1
	local round
	for round in 1 2; do
		cp "$W/seq.txt" "$W/seq.txt.was" && cp "$W/log.txt" "$W/log.txt.was" || return 1
		restored_runs || return 1
		kept_as seq.txt $round && kept_as log.txt $round || return 1
	done
}
t_grown_files_runtime() { grown_files runtime; }
t_grown_files_crdump() { grown_files crdump; }

# What the process cannot redo is refused, in one line naming the file,
# before any process exists, and leaves every file as it was (seq.txt,
# fd 17, grew and would be cut): log.txt (fd 23) shorter than at the
# checkpoint, or replaced by another file. --allow-changed-files restores
# anyway, cutting nothing (append then finds its lines twice in log.txt:
# its verdict is not what this tests).
changed_files() { # CAPTURE
	local before
	append_image "$1" || return 1
	cp "$W/log.txt" "$W/log.txt.was"
	truncate -s 16 "$W/log.txt"
	before=$(files_state)
	refuses "$W/img/latest" "fd 23: $W/log.txt is shorter than at the checkpoint" || return 1
	[ "$(files_state)" = "$before" ] || { say "a refused restore changed files"; return 1; }
	cp "$W/log.txt.was" "$W/log.txt.new" && mv "$W/log.txt.new" "$W/log.txt"
	before=$(files_state)
	refuses "$W/img/latest" "fd 23: $W/log.txt was replaced by another file" || return 1
	[ "$(files_state)" = "$before" ] || { say "a refused restore changed files"; return 1; }
	"$CRLOAD" -v --allow-changed-files "$W/img/latest" >"$W/crload.out" 2>"$W/crload.err" &
	local loader=$!
	wait_for grep -qs 'process running again' "$W/crload.err" ||
		{ say "not restored:"; cat "$W/crload.err" >&2; return 1; }
	kill -KILL $loader; wait $loader 2>/dev/null
	! grep -q 'cut back' "$W/crload.err" && [ -z "$(ls -d "$W"/img/*.cut-* 2>/dev/null)" ] &&
		[ "$(stat -c %s "$W/log.txt")" -ge "$(stat -c %s "$W/log.txt.was")" ] ||
		{ say "--allow-changed-files cut files"; return 1; }
}
# Nothing is cut that cannot be kept: the image on a filesystem now
# read-only, crload refuses in one line saying why, and every file is
# left as it was.
t_cut_unkept() {
	local before
	mkdir -p "$W/small"
	mount -t tmpfs -o size=4m tmpfs "$W/small" || return 1
	mounts+=("$W/small")
	start SELFCKPT_DIR="$W/small/img" "$E2E_BIN/append" || return 1
	kill -USR2 $APP
	wait_for logged ': checkpoint /' || return 1
	sleep 0.3
	kill -KILL $APP; wait $APP 2>/dev/null
	mount -o remount,ro "$W/small" || return 1
	before=$(files_state)
	refuses "$W/small/img/latest" "cannot keep the bytes to cut beside the image: .*Read-only file system" ||
		return 1
	[ "$(files_state)" = "$before" ] || { say "a refused restore changed files"; return 1; }
}

t_changed_files_runtime() { changed_files runtime; }
t_changed_files_crdump() { changed_files crdump; }

t_disk_full() {
	mkdir -p "$W/small"
	mount -t tmpfs -o size=4m tmpfs "$W/small" || return 1
	mounts+=("$W/small")
	mkdir "$W/small/img"
	fails_into "$W/small/img"
}

t_read_only() {
	mkdir -p "$W/ro"
	mount -t tmpfs -o ro,size=4m tmpfs "$W/ro" || return 1
	mounts+=("$W/ro")
	fails_into "$W/ro/img"
}

# The restored address space is the original's, VMA for VMA: nothing of
# crload or the restorer is left, anonymous memory is still anonymous.
t_same_maps() {
	start SELFCKPT_DIR="$W/img" "$E2E_BIN/counter" || return 1
	cat /proc/$APP/maps >"$W/maps.before"
	kill -USR2 $APP
	wait_for logged ': checkpoint /' || return 1
	kill -KILL $APP; wait $APP 2>/dev/null
	"$CRLOAD" "$W/img/latest" >"$W/crload.out" 2>"$W/crload.err" &
	local loader=$!
	wait_for logged 'restored from' || return 1
	# The restorer's last thread unmaps it a moment after another thread
	# may have logged: the maps must become equal.
	same_maps() {
		cat /proc/$APP/maps >"$W/maps.after"
		diff "$W/maps.before" "$W/maps.after" >"$W/maps.diff"
	}
	if ! wait_for same_maps; then
		say "address space differs after restore:"; head -20 "$W/maps.diff" >&2
		return 1
	fi
	kill -USR1 $loader
	wait $loader || { say "restored run failed"; return 1; }
}

# An unprivileged user restores into new user and pid namespaces, with
# getuid() unchanged (counter checks its own state).
t_unprivileged() {
	local user=nobody
	if ! setpriv --reuid=$user --regid=nogroup --clear-groups true 2>/dev/null ||
	    ! setpriv --reuid=$user --regid=nogroup --clear-groups test -x "$CRLOAD" -a \
		-r "$SELFCKPT_LIB" -a -x "$E2E_BIN/counter"; then
		echo "SKIP: options/unprivileged: the build is not reachable by user $user"
		return 77
	fi
	chmod 711 "$root"
	chmod 777 "$W"
	# The restored process reopens its stdout/stderr files as that user.
	touch "$W/out" "$W/err" && chmod 666 "$W/out" "$W/err"
	local as=(setpriv --reuid=$user --regid=nogroup --clear-groups)
	(cd "$W" && exec "${as[@]}" env LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_LOG="$W/log" \
		SELFCKPT_DIR="$W/img" "$E2E_BIN/counter" >"$W/out" 2>"$W/err" </dev/null) &
	APP=$!
	wait_for test -e "$W/ready" || { say "never ready"; return 1; }
	kill -USR2 $APP
	wait_for logged ': checkpoint /' || return 1
	kill -KILL $APP; wait $APP 2>/dev/null
	"${as[@]}" "$CRLOAD" -v "$W/img/latest" >"$W/crload.out" 2>"$W/crload.err" &
	local loader=$!
	wait_for logged 'restored from' || { cat "$W/crload.err" >&2; return 1; }
	grep -q 'user and pid namespaces' "$W/crload.err" ||
		{ say "not restored through a user namespace:"; cat "$W/crload.err" >&2; return 1; }
	sleep 0.2
	kill -USR1 $loader
	wait $loader || { say "restored run failed"; cat "$W/err" >&2; return 1; }
}

t_bad_images() {
	start SELFCKPT_DIR="$W/img" "$E2E_BIN/counter" || return 1
	kill -USR2 $APP
	wait_for logged ': checkpoint /' || return 1
	kill -KILL $APP; wait $APP 2>/dev/null
	local good="$W/img/latest" pid=$APP bad
	copy() { bad="$W/bad.$1"; rm -rf "$bad"; cp -a "$(readlink -f "$good")" "$bad"; }
	copy missing; rm "$bad/mm-$pid.img"; refuses "$bad" "mm-$pid.img" || return 1
	copy truncated; truncate -s -4096 "$bad/pages-$pid.img"; refuses "$bad" "pages-$pid.img" || return 1
	# Found as memory is filled, once the process exists: it never runs.
	copy pagebyte; flip "$bad/pages-$pid.img" 5000; stops "$bad" "pages-$pid.img" || return 1
	copy corebyte; flip "$bad/core-$pid.img" 40; refuses "$bad" "core-$pid.img" || return 1
	copy version; flip "$bad/inventory.img" 8; refuses "$bad" "version" || return 1
	copy invbyte; flip "$bad/inventory.img" 30; refuses "$bad" "inventory.img" || return 1
	copy empty; : >"$bad/inventory.img"; refuses "$bad" "inventory.img" || return 1
	refuses "$W/no-such-image" "no-such-image" || return 1
}

# A file an inotify instance watched is gone: crload refuses, naming it.
t_inotify_gone() {
	start SELFCKPT_DIR="$W/img" "$E2E_BIN/inotify" || return 1
	kill -USR2 $APP
	wait_for logged ': checkpoint /' || return 1
	kill -KILL $APP; wait $APP 2>/dev/null
	rmdir "$W/watched.d" || return 1
	refuses "$W/img/latest" "inotify watch 3: $W/watched.d: No such file" || return 1
}

# Unprivileged, a watch added with the raw syscall (never recorded) has
# no known path, and its file handle cannot be opened without
# CAP_DAC_READ_SEARCH: the checkpoint fails naming the fd and the wd.
t_inotify_unknown() {
	local as=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
	if ! "${as[@]}" test -x "$E2E_BIN/inotify" -a -r "$SELFCKPT_LIB" 2>/dev/null; then
		echo "SKIP: options/inotify_unknown: the build is not reachable by user nobody"
		return 77
	fi
	chmod 711 "$root"
	chmod 777 "$W"
	(cd "$W" && exec "${as[@]}" env LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_LOG="$W/log" \
		SELFCKPT_DIR="$W/img" "$E2E_BIN/inotify" >"$W/out" 2>"$W/err" </dev/null) &
	APP=$!
	wait_for test -e "$W/ready" || { say "never ready"; return 1; }
	fails_and_survives "$W/img" || return 1
	grep -q 'fd 3 (anon_inode:inotify): the path of watch 5 .*CAP_DAC_READ_SEARCH' "$W/log" ||
		{ say "the failure does not name the watch:"; cat "$W/log" >&2; return 1; }
}

# tcp_established's peer (not checkpointed): must end satisfied.
start_peer() {
	(cd "$W" && exec "$E2E_BIN/tcp_peer" >"$W/peer.out" 2>"$W/peer.err" </dev/null) &
	PEER=$!
	wait_for test -e "$W/peer.port" || { say "tcp_peer never ready"; return 1; }
}
peer_done() {
	wait $PEER || { say "the peer saw a broken connection:"; cat "$W/peer.err" >&2; return 1; }
}

# Without CAP_NET_ADMIN an established connection cannot be put in repair
# mode: the checkpoint fails naming the fd, the connection and the
# privilege, and the program finishes its conversation on it.
t_tcp_no_privilege() {
	start_peer || return 1
	start SELFCKPT_DIR="$W/img" setpriv --bounding-set=-net_admin --inh-caps=-net_admin \
		"$E2E_BIN/tcp_established" || return 1
	fails_and_survives "$W/img" || return 1
	grep -qE 'fd 3 \(socket:\[[0-9]+\]\): TCP connection 127\.0\.0\.1:[0-9]+ -> 127\.0\.0\.1:[0-9]+: .*needs CAP_NET_ADMIN' \
		"$W/log" || { say "the failure does not name the connection:"; cat "$W/log" >&2; return 1; }
	peer_done
}

# An image with established connections, restored without
# --tcp-established, or by a crload without CAP_NET_ADMIN: one line
# naming what is missing, before any process; then restored, the
# conversation goes on.
t_tcp_needs_option() {
	start_peer || return 1
	start SELFCKPT_DIR="$W/img" SELFCKPT_EXIT=1 "$E2E_BIN/tcp_established" || return 1
	kill -USR2 $APP
	wait $APP || { say "SELFCKPT_EXIT=1 did not exit cleanly"; return 1; }
	refuses "$W/img/latest" "established TCP connection .* --tcp-established" || return 1
	refuses "$W/img/latest" "established TCP connection .* needs CAP_NET_ADMIN" \
		setpriv --bounding-set=-net_admin --inh-caps=-net_admin "$CRLOAD" --tcp-established ||
		return 1
	"$CRLOAD" --tcp-established "$W/img/latest" >"$W/crload.out" 2>"$W/crload.err" &
	local loader=$!
	wait_for logged 'restored from' || { cat "$W/crload.err" >&2; return 1; }
	kill -USR1 $loader
	wait $loader || { say "restored run failed"; cat "$W/err" >&2; return 1; }
	peer_done
}

# A unix stream socket connected to a listener outside the process: its
# peer cannot come back, so the checkpoint fails naming the fd and peer.
t_unix_outside() {
	python3 -c 'import socket, time
s = socket.socket(socket.AF_UNIX)
s.bind("'"$W"'/outside.sock")
s.listen(1)
time.sleep(60)' &
	local peer=$!
	wait_for test -S "$W/outside.sock" || { kill $peer; return 1; }
	start SELFCKPT_DIR="$W/img" E2E_UNIX_CONNECT="$W/outside.sock" "$E2E_BIN/unixsock" ||
		{ kill $peer; return 1; }
	fails_and_survives "$W/img"
	local st=$?
	kill $peer; wait $peer 2>/dev/null
	[ $st -eq 0 ] || return 1
	grep -qE 'fd [0-9]+ \(socket:\[[0-9]+\]\): a unix stream socket connected to .*/outside.sock outside the process' "$W/log" ||
		{ say "the failure does not name the fd and its peer:"; cat "$W/log" >&2; return 1; }
}

# A client waiting in the accept queue has sent data, which only accept()
# could read; a waiting datagram's named sender outside the process would
# be lost.
t_unix_refused() {
	local what
	for what in queued:'has data the process has not read' \
		sender:'outside-sender.sock, outside the process, would lose its sender'; do
		rm -rf "$W"/*
		start SELFCKPT_DIR="$W/img" E2E_UNIX_REFUSE="${what%%:*}" "$E2E_BIN/unixsock" || return 1
		if [ "${what%%:*}" = sender ]; then
			(cd "$W" && python3 -c 'import socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("outside-sender.sock")
s.sendto(b"hello", "refused.sock")') || return 1
		fi
		fails_and_survives "$W/img" || return 1
		grep -qE "fd [0-9]+ \(socket:\[[0-9]+\]\): .*${what#*:}" "$W/log" ||
			{ say "the failure does not say why:"; cat "$W/log" >&2; return 1; }
	done
}

# A netlink socket the kernel still sends a dump to: the checkpoint, by
# crdump with ptrace, by crdump through the runtime and by the runtime,
# fails saying so, and the program then reads the whole reply.
t_netlink_dump() {
	local plain
	(cd "$W" && exec "$E2E_BIN/netlink_dump" >"$W/plain.out" 2>&1 </dev/null) &
	plain=$!
	PEER=$plain
	wait_for test -e "$W/ready" || { say "never ready"; return 1; }
	"$CRDUMP" --leave-running -t $plain -D "$W/crdump" >"$W/crdump.out" 2>"$W/crdump.err" &&
		{ say "crdump took a socket in the middle of a dump"; return 1; }
	grep -q "a netlink socket in the middle of a dump" "$W/crdump.err" ||
		{ say "crdump does not say why:"; cat "$W/crdump.err" >&2; return 1; }
	[ ! -e "$W/crdump" ] || { say "crdump left $W/crdump"; return 1; }
	kill -USR1 $plain
	wait $plain || { say "the program did not survive crdump:"; cat "$W/plain.out" >&2; return 1; }
	rm -f "$W/ready"
	start SELFCKPT_DIR="$W/img" "$E2E_BIN/netlink_dump" || return 1
	# crdump asks the runtime, which refuses: crdump says why at once.
	timeout 60 "$CRDUMP" --leave-running -t $APP -D "$W/crdump" >"$W/crdump.out" \
		2>"$W/crdump.err" && { say "crdump through the runtime took it"; return 1; }
	grep -q "process $APP: checkpoint failed (descriptors): .*in the middle of a dump" \
		"$W/crdump.err" || { say "crdump through the runtime:"; cat "$W/crdump.err" >&2; return 1; }
	kill -USR2 $APP
	wait_for logged_times 'checkpoint failed' 2 ||
		{ say "no second failure:"; cat "$W/log" >&2; return 1; }
	grep -qE "fd [0-9]+ \(socket:\[[0-9]+\]\): a netlink socket in the middle of a dump" \
		"$W/log" || { say "the failure does not say why:"; cat "$W/log" >&2; return 1; }
	no_image_left "$W/img" || return 1
	[ ! -e "$W/crdump" ] || { say "crdump left $W/crdump"; return 1; }
	kill -USR1 $APP
	wait $APP || { say "the program did not survive:"; cat "$W/out" >&2; return 1; }
}

# A copy restored while the original still holds its socket names: crload
# refuses, naming one of them (which one comes first depends on the
# sockets' inodes), and the original runs on.
t_unix_live_name() {
	start SELFCKPT_DIR="$W/img" "$E2E_BIN/unixsock" || return 1
	kill -USR2 $APP
	wait_for logged ': checkpoint /' || return 1
	local st=0
	"$CRLOAD" "$W/img/latest" >"$W/crload.out" 2>"$W/crload.err" || st=$?
	[ $st -ne 0 ] || { say "crload restored beside the original"; return 1; }
	grep -q 'is bound by a live socket (is the checkpointed process still running' "$W/crload.err" ||
		{ say "crload does not say why:"; cat "$W/crload.err" >&2; return 1; }
	kill -USR1 $APP
	wait $APP || { say "the original did not survive"; cat "$W/err" >&2; return 1; }
}

run_cases exit_after forked_child static_exec compress_bad_values signal trigger_during_checkpoint detached many_fds detached_ns same_maps unprivileged unsupported \
	too_many_pending report_on_stderr grown_files_runtime grown_files_crdump \
	changed_files_runtime changed_files_crdump cut_unkept disk_full read_only bad_images inotify_gone inotify_unknown tcp_no_privilege \
	tcp_needs_option unix_outside unix_refused unix_live_name netlink_dump
