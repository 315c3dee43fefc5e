#!/usr/bin/env bash
# Images on filesystems other than the disk's (doc/direct-io.md): the
# pages file is written with O_DIRECT where the filesystem takes it, and
# through the page cache where it does not. mappings and shmem (private,
# shared, PROT_NONE and file-backed memory) are checkpointed and restored
# by the e2e driver, every capture and mode, with their work directories
# (and so the images) on ramfs, which refuses O_DIRECT, and on tmpfs,
# which takes it. Needs root (mount).
# Runs under tests/e2e/reaper.
set -u
suite=image_fs
. "$(dirname "$0")/suite.sh"
trap 'for m in "$root"/*/mnt; do umount "$m" 2>/dev/null; done
	[ $failed -eq 0 ] && rm -rf "$root"' EXIT
here=$(cd "$(dirname "$0")" && pwd)

on_fs() { # FSTYPE: the two programs with TMPDIR on a fresh FSTYPE mount
	local mnt=$W/mnt t
	mkdir -p "$mnt"
	mount -t "$1" none "$mnt" || { say "mount -t $1: failed"; return 1; }
	if [ "$1" = ramfs ] && dd if=/dev/zero of="$mnt/probe" bs=4096 count=1 oflag=direct \
		2>/dev/null; then
		say "ramfs took O_DIRECT: this test no longer covers the page cache path"
		return 1
	fi
	rm -f "$mnt/probe"
	for t in mappings shmem; do
		TMPDIR=$mnt "$here/run" "$here"/*/"$t.e2e" >"$W/$t.out" 2>&1 ||
			{ say "$t with images on $1:"; tail -n 20 "$W/$t.out" >&2; return 1; }
		grep -q ' 0 failed' "$W/$t.out" || { say "$t: no summary"; return 1; }
	done
	umount "$mnt"
}

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: $suite: mounting ramfs and tmpfs needs root"
	exit 77
fi
t_ramfs() { on_fs ramfs; }
t_tmpfs() { on_fs tmpfs; }
run_cases ramfs tmpfs
