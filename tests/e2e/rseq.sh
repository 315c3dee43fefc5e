#!/usr/bin/env bash
# rseq across the freeze (runtime/freeze.c, rseq_pause): the kernel
# rewrites a thread's rseq area whenever the thread comes back to user
# space on another CPU, so a thread parked for a checkpoint, or the one
# writing it, must not have its area registered, or the page holding it
# can change between its checksum and its write (an image that does not
# verify, seen under load). Each image of a many-threaded program must
# hold every area as unregistered, and the program restored from them
# (the restorer registers the areas again) must run on correctly, twice.
# The runtime capture mode only: crdump's threads are stopped by ptrace,
# which does not let them back into user space while the image is written.
# Runs under tests/e2e/reaper.
set -u
suite=rseq
. "$(dirname "$0")/suite.sh"
trap '[ $failed -eq 0 ] && rm -rf "$root"' EXIT
ckpts() { cat "$W/log" 2>/dev/null | grep -c ': checkpoint /'; }

# images_unregistered N: generation N's areas all read as unregistered.
images_unregistered() {
	local out
	out=$("$E2E_BIN/rseq_image" "$(printf '%s/img/ckpt-%04d' "$W" "$1")") || return 1
	case $out in
	0\ *) say "glibc registered no rseq area: nothing to check"; return 77 ;;
	esac
}

t_threads() {
	local n st
	(cd "$W" && exec env LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_LOG="$W/log" \
		SELFCKPT_DIR="$W/img" SELFCKPT_KEEP=10 "$E2E_BIN/threads" >"$W/out" 2>"$W/err" \
		</dev/null) &
	APP=$!
	wait_for test -e "$W/ready" || { say "never ready"; return 1; }
	for n in 1 2 3; do
		kill -USR2 $APP
		wait_for eval '[ "$(ckpts)" -ge $n ]' || { say "no checkpoint #$n"; return 1; }
		images_unregistered $n || return
	done
	kill -KILL $APP
	wait $APP 2>/dev/null
	(exec "$CRLOAD" "$W/img/latest" >"$W/crload.out" 2>"$W/crload.err" </dev/null) &
	LOADER=$!
	restored_runs || { st=$?; kill -KILL $(descendants $LOADER) $LOADER 2>/dev/null; return $st; }
	kill -USR1 $LOADER
	st=0
	wait $LOADER || st=$?
	[ $st -eq 0 ] || { say "the restored program failed ($st):"; tail -3 "$W/crload.err" "$W/err" >&2; return 1; }
}

# The restored program (under crload, which forwards the trigger) is
# checkpointed once more, with the same result.
restored_runs() {
	wait_for grep -q ': restored from' "$W/log" || { say "not restored"; return 1; }
	kill -USR2 $LOADER
	wait_for eval '[ "$(ckpts)" -ge 4 ]' || { say "no checkpoint of the restored program"; return 1; }
	images_unregistered 4 || return
	sleep 0.2
}

run_cases threads
echo "rseq: $passed passed, $failed failed"
[ $failed -eq 0 ]
