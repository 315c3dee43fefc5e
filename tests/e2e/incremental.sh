#!/usr/bin/env bash
# Incremental images (doc/incremental.md), read by crload and crinfo: a
# program checkpointed twice while it runs, the second image made
# incremental on the first by tests/e2e/mkincr (until the runtime writes
# such images itself). The incremental image restores with plain crload,
# and the program computes what an uninterrupted one does; crinfo shows
# the chain and verifies it. A damaged chain (the parent's inventory
# rewritten, the parent gone) is refused with one line, no process made,
# and does not verify; crload on the generations directory then passes
# over it to the full image. crload holds the whole chain against pruning
# while it restores. Runs under tests/e2e/reaper.
set -u
suite=incremental
. "$(dirname "$0")/suite.sh"
trap '[ $failed -eq 0 ] && rm -rf "$root"' EXIT

# checkpoints N [ENV...] PROGRAM: PROGRAM under the runtime, checkpointed
# N times in a row while it runs on (ckpt-0001 to N in $W/img), then
# killed; each image after the first made incremental on the one before.
checkpoints() {
	local n=$1 i
	checkpointed_times "$@" || return 1
	for ((i = 2; i <= n; i++)); do
		"$E2E_BIN/mkincr" "$W/img/$(gen $((i - 1)))" "$W/img/$(gen $i)" >>"$W/mkincr.out" ||
			{ say "mkincr failed"; return 1; }
	done
	sed "s/^/  /" "$W/mkincr.out" >&2
}

# chain_shown N MIN: crinfo show on ckpt-000N names the N generations,
# and the full one holds at least MIN percent of the pages restored:
# mkincr moved them there.
chain_shown() {
	local share
	"$CRINFO" show "$W/img/$(gen $1)" >"$W/show" || { say "crinfo show failed"; return 1; }
	share=$(grep -A1 "^    $(($1 - 1)) /.*/ckpt-0001\$" "$W/show" |
		sed -n 's/^      full, stores .*, restores .* (\([0-9.]*\)%)$/\1/p')
	grep -q "^  incremental, a chain of $1 images" "$W/show" &&
		grep -A1 "^    0 $W/img/$(gen $1)\$" "$W/show" |
		grep -q "^      incremental, parent \.\./$(gen $(($1 - 1))) (inventory checksum verified), stores" &&
		[ -n "$share" ] && awk -v s="$share" -v m="$2" 'BEGIN { exit !(s >= m && s > 0) }' ||
		{ say "crinfo show does not show the chain with $2% of the pages in the full image:"
		  sed 's/^/    /' "$W/show" >&2; return 1; }
}

# verifies N: crinfo verify passes on ckpt-000N, each of its N - 1 links
# to a parent checked.
verifies() {
	"$CRINFO" verify "$W/img/$(gen $1)" >"$W/verify.out" 2>&1 &&
		[ "$(grep -c '^ok .*: its parent \.\./ckpt-[0-9]* has the inventory it was written against' \
			"$W/verify.out")" = $(($1 - 1)) ] ||
		{ say "crinfo verify $(gen $1):"; cat "$W/verify.out" >&2; return 1; }
}

# restores_incremental N MIN [ENV...] PROGRAM: the whole story for one
# program, a chain of N images, at least MIN percent of its pages in the
# full one.
restores_incremental() {
	local n=$1 min=$2
	shift 2
	checkpoints "$n" "$@" && chain_shown "$n" "$min" && verifies "$n" &&
		restored_finishes "$W/img/$(gen "$n")"
}
# bigmem rewrites 1 MiB every 2 ms: much of 256 MiB is left as it was
# between two checkpoints in a row; counter's memory hardly changes, its
# third image's pages mostly in the first (three kept: the runtime prunes
# beyond two); sweep's all the time.
t_bigmem() { restores_incremental 2 10 E2E_BIGMEM_MB=256 bigmem; }
t_counter() { restores_incremental 2 50 counter; }
t_counter3() { restores_incremental 3 30 SELFCKPT_KEEP=3 counter; }
t_sweep() { restores_incremental 2 0 sweep; }

# does_not_verify IMAGE WORD: crinfo verify fails, saying WORD.
does_not_verify() {
	"$CRINFO" verify "$1" >"$W/verify.out" 2>&1 &&
		{ say "crinfo verify passed a damaged chain"; return 1; }
	grep -q -- "$2" "$W/verify.out" || { say "crinfo verify $1:"; cat "$W/verify.out" >&2; return 1; }
}

# The parent's inventory rewritten (its CPU record dropped, a sound image
# still), then the parent gone: refused, naming it, and not verified.
# crload on the generations directory passes over the incremental image
# to the full one, as long as that one is there.
t_damaged_chain() {
	local gens=$W/gens
	checkpoints 2 E2E_BIGMEM_MB=16 bigmem || return 1
	cp -a "$W/img" "$gens"
	"$E2E_BIN/cpu_edit" "$gens/ckpt-0001" drop || return 1
	refuses "$gens/ckpt-0002" "^crload: $gens/ckpt-0002: parent image /.*/gens/ckpt-0001: inventory.img has checksum .*: it was replaced or rewritten since$" ||
		return 1
	does_not_verify "$gens/ckpt-0002" "replaced or rewritten since" || return 1
	restored_finishes "$gens" || return 1
	grep -q "^crload: $gens/ckpt-0002: skipped: parent image .*ckpt-0001: inventory.img has checksum" \
		"$W/crload.err" || { say "crload DIR did not skip the damaged chain:"; cat "$W/crload.err" >&2; return 1; }
	rm -rf "$gens/ckpt-0001"
	refuses "$gens/ckpt-0002" "^crload: $gens/ckpt-0002: parent image $gens/ckpt-0002/\.\./ckpt-0001: $gens/ckpt-0002/\.\./ckpt-0001: No such file or directory$" ||
		return 1
	does_not_verify "$gens/ckpt-0002" "parent image .*No such file" || return 1
	# The good chain, as it was, still verifies and restores.
	verifies 2 && restored_finishes "$W/img"
}

# crload holds the incremental image it restores and its parent against
# pruning (doc/retention.md) until the restored program runs: stopped at
# the barrier (a test aid), both directories are locked, and neither is
# once the program runs.
t_held_chain() {
	local loader d
	checkpoints 2 counter || return 1
	SELFCKPT_TEST_STOP_AT=barrier "$CRLOAD" -v "$W/img" >"$W/crload.out" 2>"$W/crload.err" &
	loader=$!
	wait_for grep -qs '^State:[[:space:]]*T' /proc/$loader/status ||
		{ say "crload did not stop at the barrier:"; cat "$W/crload.err" >&2; return 1; }
	for d in ckpt-0002 ckpt-0001; do
		flock -n -x "$W/img/$d" true && { say "$d is not held"; kill -KILL $loader; return 1; }
	done
	kill -CONT $loader
	wait_for grep -qs "process running again" "$W/crload.err" ||
		{ say "no restore:"; cat "$W/crload.err" >&2; return 1; }
	for d in ckpt-0002 ckpt-0001; do
		flock -n -x "$W/img/$d" true || { say "$d is still held"; kill -KILL $loader; return 1; }
	done
	kill -USR1 $loader
	wait $loader || { say "the program failed:"; cat "$W/err" >&2; return 1; }
}

run_cases bigmem counter counter3 sweep damaged_chain held_chain
