#!/usr/bin/env bash
# Compressed pages files (doc/compression.md), read by crload and crinfo,
# before the writers compress: images of the runtime and of crdump are
# rewritten by tests/e2e/mkzstd as zstd frames, of the default size and
# of odd ones (1 page, 1000 pages), and restored with plain crload.
# - Programs through tests/e2e/run, mkzstd as its E2E_BEFORE_RESTORE:
#   python (its output after restore equals an uninterrupted run's),
#   bigmem (filled by two threads, big frames), the trees sharing memory
#   (anonymous shared memory and a SysV segment, filled by crload).
# - A chain whose full and newest images are compressed and whose middle
#   one is not (mkzstd, mkincr, mkzstd) restores, shows and verifies.
# - crinfo bt and show --json read a compressed copy of an image as the
#   image itself.
# - A frame with one byte flipped and the inventory's checksum made right
#   again, so that only zstd's checksum of the frame tells: crload stops
#   with one line naming the file and the frame before the program runs
#   again, and crinfo verify names them too.
# Runs under tests/e2e/reaper.
set -u
suite=zread
here=$(cd "$(dirname "$0")" && pwd)
. "$here/suite.sh"
trap '[ $failed -eq 0 ] && rm -rf "$root"' EXIT

# through_run CAPTURES FRAME_PAGES SPEC...: each spec in every scenario of
# tests/e2e/run, its images compressed in frames of FRAME_PAGES pages.
through_run() {
	local captures=$1 frames=$2 spec st=0
	shift 2
	for spec in "$@"; do
		E2E_CAPTURES=$captures E2E_BEFORE_RESTORE="$E2E_BIN/mkzstd -f $frames" \
			"$here/run" "$here/$spec" >"$W/run.out" 2>&1 || st=1
		grep -E '^(PASS|FAIL|SKIP|  )' "$W/run.out" | sed 's/^/  /'
	done
	return $st
}
t_python() { through_run "runtime crdump" 64 programs/python.e2e; }
t_bigmem() { E2E_BIGMEM_MB=96 through_run runtime 1000 memory/bigmem.e2e; }
t_shared() { through_run "runtime crdump" 1 trees/shm_tree.e2e trees/sysv_tree.e2e; }

# shows IMAGE PATTERN: crinfo show IMAGE has a line matching PATTERN.
shows() {
	"$CRINFO" show "$1" >"$W/show" && grep -q -- "$2" "$W/show" ||
		{ say "crinfo show $1 has no line '$2':"; grep 'pages' "$W/show" >&2; return 1; }
}

# Three generations of bigmem: the full one compressed in frames of 1000
# pages, the next incremental on it and raw, the newest incremental on
# that and compressed in frames of one page. mkzstd rewrites an
# inventory, so each is compressed before a child names it.
t_chain() {
	local img=$W/img
	checkpointed_times 3 SELFCKPT_KEEP=3 E2E_BIGMEM_MB=32 bigmem || return 1
	"$E2E_BIN/mkzstd" -f 1000 "$img/$(gen 1)" >"$W/mk.out" &&
		"$E2E_BIN/mkincr" "$img/$(gen 1)" "$img/$(gen 2)" >>"$W/mk.out" &&
		"$E2E_BIN/mkincr" "$img/$(gen 2)" "$img/$(gen 3)" >>"$W/mk.out" &&
		"$E2E_BIN/mkzstd" -l 3 -f 1 "$img/$(gen 3)" >>"$W/mk.out" ||
		{ say "making the chain failed:"; cat "$W/mk.out" >&2; return 1; }
	sed 's/^/  /' "$W/mk.out" >&2
	shows "$img/$(gen 3)" "^  pages: .* of data in .* (zstd level 3, ratio [0-9.]*)$" &&
		shows "$img/$(gen 2)" "^  pages: .* of data, uncompressed$" &&
		shows "$img/$(gen 1)" "^  pages: .* of data in .* (zstd level 1, ratio [0-9.]*)$" || return 1
	"$CRINFO" verify "$img/$(gen 3)" >"$W/verify.out" 2>&1 &&
		[ "$(grep -c '^ok .*: [0-9]* zstd frames decompress to their pages' "$W/verify.out")" = 2 ] ||
		{ say "crinfo verify $(gen 3):"; cat "$W/verify.out" >&2; return 1; }
	"$CRINFO" show --json "$img/$(gen 3)" >"$W/json" &&
		python3 - "$W/json" <<'EOF' || { say "crinfo show --json: no pages of zstd level 3"; return 1; }
import json, sys
d = json.load(open(sys.argv[1]))
p = d["processes"][0]
ok = d["pages"]["codec"] == "zstd" and d["pages"]["level"] == 3 and \
    p["pages"]["data_bytes"] == p["pagemap"]["pages_bytes"] and \
    p["pages"]["stored_bytes"] == p["pages"]["size"] == sum(p["pagemap"]["frame_bytes"])
sys.exit(0 if ok else 1)
EOF
	restored_finishes "$img/$(gen 3)"
}

# runs_of JSON: each run's place and XXH3 from crinfo show --json.
runs_of() {
	python3 -c 'import json, sys
for p in json.load(open(sys.argv[1]))["processes"]:
    for r in p["pages"]["runs"]:
        print(p["pid"], r["vaddr"], r["nr_pages"], r["offset"], r["xxh3"])' "$1"
}

# crinfo reads a compressed copy of an image as the image itself: bt
# unwinds every thread of btchain the same way, and show --json gives
# every run the same bytes, for frames of 1 and of 1000 pages.
t_crinfo() {
	local img z
	checkpointed btchain || return 1
	img=$(readlink -f "$W/img/latest")
	"$CRINFO" bt "$img" >"$W/bt" && "$CRINFO" show --json "$img" >"$W/json" &&
		runs_of "$W/json" >"$W/runs" || { say "crinfo on the raw image failed"; return 1; }
	for z in 1 1000; do
		cp -a "$img" "$W/z$z"
		"$E2E_BIN/mkzstd" -l 5 -f $z "$W/z$z" >/dev/null || return 1
		"$CRINFO" bt "$W/z$z" >"$W/bt.z$z" && cmp -s "$W/bt" "$W/bt.z$z" ||
			{ say "crinfo bt differs with frames of $z pages:"; diff "$W/bt" "$W/bt.z$z" >&2; return 1; }
		"$CRINFO" show --json "$W/z$z" >"$W/json.z$z" && runs_of "$W/json.z$z" >"$W/runs.z$z" &&
			cmp -s "$W/runs" "$W/runs.z$z" ||
			{ say "the runs differ with frames of $z pages:"; diff "$W/runs" "$W/runs.z$z" >&2; return 1; }
	done
	[ "$(grep -c "^  #" "$W/bt")" -gt 8 ] || { say "no backtraces:"; cat "$W/bt" >&2; return 1; }
}

# A byte flipped in frame 2 of the pages file, its checksum in the
# inventory made right again (mkzstd -x). crload forks before it fills
# memory, so it cannot refuse before any process exists; it must stop
# before any restored process runs on: the program never logs its
# restore nor writes again.
t_corrupt() {
	local img=$W/img/$(gen 1) st=0
	checkpointed_times 1 E2E_BIGMEM_MB=32 bigmem || return 1
	"$E2E_BIN/mkzstd" -x 2 "$img" >"$W/mk.out" || { cat "$W/mk.out" >&2; return 1; }
	cp "$W/out" "$W/out.before"
	timeout -s KILL 60 "$CRLOAD" "$img" >/dev/null 2>"$W/crload.err" </dev/null || st=$?
	if [ $st -eq 0 ]; then say "crload restored a corrupted frame"; return 1; fi
	if [ "$(wc -l <"$W/crload.err")" -ne 1 ] ||
		! grep -q "^crload: .*/pages-$PID\.img: frame 2 (at byte [0-9]*): zstd: .*checksum" \
			"$W/crload.err"; then
		say "expected one line naming frame 2 of pages-$PID.img, got:"
		sed 's/^/    /' "$W/crload.err" >&2
		return 1
	fi
	if grep -q ': restored from' "$W/log" || ! cmp -s "$W/out" "$W/out.before"; then
		say "the program ran again"; return 1
	fi
	"$CRINFO" verify "$img" >"$W/verify.out" 2>&1 &&
		{ say "crinfo verify passed a corrupted frame"; return 1; }
	grep -q "^crinfo: $img: pages-$PID\.img: frame 2 (at byte [0-9]*): zstd: .*checksum" \
		"$W/verify.out" || { say "crinfo verify $img:"; cat "$W/verify.out" >&2; return 1; }
}

run_cases python bigmem shared chain crinfo corrupt
