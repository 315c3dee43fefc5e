#!/usr/bin/env bash
# Restores from a cold page cache (doc/direct-io.md), as after a requeue
# onto another node. Programs go through tests/e2e/run, every capture and
# scenario; before each restore the image's files are written back and
# dropped from the page cache (E2E_BEFORE_RESTORE: cold.sh evict), so
# that crload reads the pages files with O_DIRECT straight into the
# restored memory; after it (E2E_AFTER_RESTORE: cold.sh check) every
# pages file of 1 MiB or more must still be mostly out of the page cache,
# which a read through it would have filled. bigmem (96 MiB, filled by
# the cold fill's eight threads, every page checked by the program) and
# mappings (private, shared, PROT_NONE and file-backed memory).
# Runs under tests/e2e/reaper.
set -u
here=$(cd "$(dirname "$0")" && pwd)

# resident FILE: the bytes of FILE in the page cache.
resident() { fincore --bytes --noheadings --output RES "$1"; }

# The pages files of an image (a directory) or of the image a work
# directory of tests/e2e/run restored, of 1 MiB or more.
big_pages() { find "$1" -name 'pages-*.img' -size +1M; }

case ${1:-} in
evict) # DIR: its files dropped from the page cache, which is checked
	sync
	for f in "$2"/*; do
		[ -f "$f" ] && dd if="$f" iflag=nocache count=0 status=none
	done
	for f in $(big_pages "$2"); do
		[ "$(resident "$f")" -lt $(($(stat -c %s "$f") / 2)) ] ||
			{ echo "cold.sh: $f stays in the page cache"; exit 1; }
	done
	exit 0 ;;
check) # WORKDIR LOADER: the image's pages files read around the cache
	for f in $(big_pages "$2/img/latest/"); do
		[ "$(resident "$f")" -lt $(($(stat -c %s "$f") / 2)) ] ||
			{ echo "crload read $f through the page cache:" \
				"$(resident "$f") of its $(stat -c %s "$f") bytes are in it" >&2
			  exit 1; }
	done
	exit 0 ;;
esac

suite=cold
. "$here/suite.sh"
trap '[ $failed -eq 0 ] && rm -rf "$root"' EXIT

if ! command -v fincore >/dev/null; then
	echo "SKIP: $suite: fincore (util-linux) is missing: the page cache cannot be looked at"
	exit 77
fi

# through_run SPEC: the spec in every scenario of tests/e2e/run, each
# restore from a cold page cache.
through_run() {
	E2E_BEFORE_RESTORE="bash $here/cold.sh evict" E2E_AFTER_RESTORE="bash $here/cold.sh check" \
		"$here/run" "$here/$1" >"$W/run.out" 2>&1
	local st=$?
	grep -E '^(PASS|FAIL|SKIP|  )' "$W/run.out" | sed 's/^/  /'
	return $st
}
t_bigmem() { E2E_BIGMEM_MB=96 through_run memory/bigmem.e2e; }
t_mappings() { through_run memory/mappings.e2e; }

run_cases bigmem mappings
