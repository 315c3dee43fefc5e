#!/usr/bin/env bash
# crdump's failures and its cooperative path, beyond the per-program
# scenarios (which tests/e2e/run runs in the crdump capture mode): every
# failure is one line and a non-zero exit, leaves no image, and leaves
# the target running unharmed (it still computes its result).
# Runs under tests/e2e/reaper, as root.
set -u
suite=crdump
. "$(dirname "$0")/suite.sh"
: "${CRDUMP:?}"
trap '[ $failed -eq 0 ] && rm -rf "$root"' EXIT

start() { # [env...] program args: without the runtime, unless LD_PRELOAD is given
	(cd "$W" && exec env "$@" >"$W/out" 2>"$W/err" </dev/null) &
	APP=$!
	wait_for test -e "$W/ready" || { say "never ready"; return 1; }
	sleep 0.2
}

# refused WANT [RUNNER...] -- crdump args: one line naming WANT, non-zero,
# no image, and the target still computes its result afterwards.
refused() {
	local want=$1 st=0
	shift
	"$@" >"$W/crdump.out" 2>"$W/crdump.err" || st=$?
	if [ $st -eq 0 ]; then say "crdump succeeded"; return 1; fi
	if [ "$(wc -l <"$W/crdump.err")" -ne 1 ] || ! grep -qE -- "$want" "$W/crdump.err"; then
		say "expected one line naming '$want', got:"; sed 's/^/    /' "$W/crdump.err" >&2
		return 1
	fi
	if ls -A "$W" | grep -q '^img$\|\.tmp-'; then say "an image was left behind"; return 1; fi
}
survives() {
	grep -q '^State:.*[tT]' /proc/$APP/status && { say "the target was left stopped"; return 1; }
	kill -USR1 $APP
	wait $APP || { say "the target did not survive:"; cat "$W/err" >&2; return 1; }
}

t_no_process() {
	local pid=$((1 << 22 - 1))
	while kill -0 $pid 2>/dev/null; do pid=$((pid - 1)); done
	refused "process $pid: no such process" "$CRDUMP" -t $pid -D "$W/img"
}

t_usage() {
	refused "-t PID and -D DIR are needed" "$CRDUMP" -D "$W/img" || return 1
	refused "wants a process id" "$CRDUMP" -t abc -D "$W/img"
}

# A compression level or thread count out of range is one line, before
# anything is touched; so is --compress for a process that runs the
# runtime, which compresses as its own SELFCKPT_COMPRESS says.
t_compress_refused() {
	start "$E2E_BIN/counter" || return 1
	refused "--compress wants a zstd level of 1 to 19, not '20'" \
		"$CRDUMP" -t $APP -D "$W/img" --compress=20 || return 1
	refused "--compress-threads wants 1 to 8, not 'x'" \
		"$CRDUMP" -t $APP -D "$W/img" --compress --compress-threads x || return 1
	survives || return 1
	start LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_DIR=own SELFCKPT_LOG="$W/log" "$E2E_BIN/counter" ||
		return 1
	refused "runs the selfckpt runtime, which compresses as its SELFCKPT_COMPRESS says" \
		"$CRDUMP" -t $APP -D "$W/img" --compress || return 1
	[ ! -e "$W/own" ] || { say "the runtime was asked to checkpoint"; return 1; }
	survives
}

t_dir_not_empty() {
	start "$E2E_BIN/counter" || return 1
	mkdir "$W/full" && touch "$W/full/x"
	refused "is not empty" "$CRDUMP" -t $APP -D "$W/full" || return 1
	survives
}

# Another user may not trace root's process: one line, and it runs on.
t_not_permitted() {
	start "$E2E_BIN/counter" || return 1
	if ! setpriv --reuid=nobody --regid=nogroup --clear-groups test -x "$CRDUMP"; then
		echo "SKIP: crdump/not_permitted: the build is not reachable by user nobody"
		kill -KILL $APP
		return 77
	fi
	local out
	out=$(mktemp -d /tmp/crdump-nobody.XXXXXX) && chmod 777 "$out" || return 1
	refused "cannot trace thread $APP: Operation not permitted" \
		setpriv --reuid=nobody --regid=nogroup --clear-groups "$CRDUMP" -t $APP -D "$out/img" ||
		return 1
	[ -z "$(ls -A "$out")" ] || { say "left in $out: $(ls -A "$out")"; return 1; }
	rmdir "$out"
	survives
}

# A descriptor no kind handles: the failure names it; the target was
# stopped and let go.
t_unsupported() {
	local kind want
	for kind in "${unsupported_kinds[@]}"; do
		want=${kind#*:} kind=${kind%%:*}
		rm -rf "${W:?}"/*
		start "$E2E_BIN/unsupported" "$kind" || return 1
		refused "fd [0-9]+ \\($want" "$CRDUMP" -t $APP -D "$W/img" || return 1
		survives || return 1
	done
}

# More signals pending than an image keeps.
t_too_many_pending() {
	start "$E2E_BIN/pending_full" || return 1
	refused "more than 1024 signals pending" "$CRDUMP" -t $APP -D "$W/img" || return 1
	survives || return 1
}

# An established connection needs --tcp-established (TCP_REPAIR); without
# it the connection is left as it was and the conversation finishes.
t_tcp_needs_option() {
	(cd "$W" && exec "$E2E_BIN/tcp_peer" >"$W/peer.out" 2>"$W/peer.err" </dev/null) &
	PEER=$!
	wait_for test -e "$W/peer.port" || { say "tcp_peer never ready"; return 1; }
	start "$E2E_BIN/tcp_established" || return 1
	refused "established TCP connection: dump it with --tcp-established" \
		"$CRDUMP" -t $APP -D "$W/img" || return 1
	survives || return 1
	wait $PEER || { say "the peer saw a broken connection:"; cat "$W/peer.err" >&2; return 1; }
}

# The target killed in the middle of its dump (1.5 GiB to read): crdump
# fails in one line and leaves no image.
t_exits_during() {
	start E2E_BIGMEM_MB=1536 "$E2E_BIN/bigmem" || return 1
	"$CRDUMP" -t $APP -D "$W/img" >"$W/crdump.out" 2>"$W/crdump.err" &
	local dumper=$! st=0
	sleep 0.1
	kill -KILL $APP
	wait $dumper || st=$?
	wait $APP 2>/dev/null
	APP=
	[ $st -ne 0 ] || { say "crdump succeeded (it took less than 0.1 s?)"; return 1; }
	[ "$(wc -l <"$W/crdump.err")" -eq 1 ] && grep -q "process [0-9]*" "$W/crdump.err" ||
		{ say "expected one line naming the process:"; cat "$W/crdump.err" >&2; return 1; }
	if ls -A "$W" | grep -q '^img$\|\.tmp-'; then say "an image was left behind"; return 1; fi
}

# A process that runs the runtime checkpoints itself when crdump asks; the
# image lands in DIR and restores.
t_cooperative() {
	start LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_DIR=own SELFCKPT_LOG="$W/log" "$E2E_BIN/counter" ||
		return 1
	"$CRDUMP" -t $APP -D "$W/img" >"$W/crdump.out" 2>"$W/crdump.err" ||
		{ cat "$W/crdump.err" >&2; return 1; }
	grep -q "runs the selfckpt runtime: asking it" "$W/crdump.err" ||
		{ say "crdump did not say it used the runtime"; return 1; }
	[ -e "$W/img/inventory.img" ] || { say "no image in $W/img"; return 1; }
	wait $APP 2>/dev/null
	"$CRLOAD" "$W/img" >"$W/crload.out" 2>"$W/crload.err" &
	local loader=$!
	wait_for grep -q 'restored from' "$W/log" || { cat "$W/crload.err" >&2; return 1; }
	sleep 0.2
	kill -USR1 $loader
	wait $loader || { say "restored run failed"; cat "$W/err" >&2; return 1; }
}

# --leave-running reads private memory from a copy of the process
# (doc/crdump-snapshot.md): the copy is gone afterwards, reaped, and the
# process is neither traced nor stopped, and computes its result.
t_snapshot() {
	start "$E2E_BIN/counter" || return 1
	"$CRDUMP" -v -t $APP -D "$W/img" --leave-running >"$W/crdump.out" 2>"$W/crdump.err" ||
		{ cat "$W/crdump.err" >&2; return 1; }
	grep -q "process $APP: its pages are read from its copy" "$W/crdump.err" ||
		{ say "no copy was made:"; cat "$W/crdump.err" >&2; return 1; }
	local kids
	kids=$(cat /proc/$APP/task/*/children)
	[ -z "$kids" ] || { say "the process has children left: $kids"; return 1; }
	grep -q '^TracerPid:[[:space:]]*0$' /proc/$APP/status || { say "still traced"; return 1; }
	survives
}

# Shared memory would change under a copy: such a process is held until
# its pages are read, and says why with -v; so with --no-snapshot.
t_snapshot_refused() {
	start "$E2E_BIN/shmem" || return 1
	"$CRDUMP" -v -t $APP -D "$W/img" --leave-running >"$W/crdump.out" 2>"$W/crdump.err" ||
		{ cat "$W/crdump.err" >&2; return 1; }
	grep -q "process $APP: its pages are read while it is held: it has shared memory" \
		"$W/crdump.err" || { say "no reason given:"; cat "$W/crdump.err" >&2; return 1; }
	survives || return 1
	start "$E2E_BIN/counter" || return 1
	"$CRDUMP" -v -t $APP -D "$W/img2" --leave-running --no-snapshot >"$W/crdump.out" \
		2>"$W/crdump.err" || { cat "$W/crdump.err" >&2; return 1; }
	! grep -q "read from its copy" "$W/crdump.err" || { say "--no-snapshot made a copy"; return 1; }
	survives
}

run_cases no_process usage compress_refused dir_not_empty not_permitted unsupported too_many_pending \
	tcp_needs_option exits_during cooperative snapshot snapshot_refused
