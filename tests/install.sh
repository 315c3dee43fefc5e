#!/usr/bin/env bash
# make install from this build tree into a staging directory (DESTDIR):
# exactly the commands, the runtime and the manual pages land where a user,
# an environment module or Spack looks for them (doc/install.md), every
# page renders without a warning, and the installed commands run.
# Runs in the top build directory, as `make check` runs it.
set -u
suite=install
. "$(dirname "$0")/e2e/suite.sh"
trap '[ $failed -eq 0 ] && rm -rf "$root"' EXIT
D=$root/dest

# make as this build's user would run it, not as a child of make check:
# its jobserver descriptors are closed, and its command line (make distcheck
# passes TESTS) is not this one's.
build_make() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory "$@"; }

# The installation directories this build was configured with, as make
# expands them.
dirs=$(build_make -s -f Makefile -f - print-install-dirs <<'EOF'
print-install-dirs: ; @echo '$(prefix)' '$(bindir)' '$(libdir)' '$(mandir)'
EOF
) || { echo "install: cannot read the installation directories from ./Makefile" >&2; exit 1; }
read -r prefix bindir libdir mandir <<<"$dirs"
commands="crdump crflush crinfo crload crrun"

t_files() {
	build_make install DESTDIR="$D" >"$W/make.out" 2>&1 ||
		{ say "make install failed:"; tail -20 "$W/make.out" >&2; return 1; }
	local want=() c p
	for c in $commands; do want+=("$bindir/$c"); done
	want+=("$libdir/libselfckpt.so")
	for p in crdump.1 crflush.1 crinfo.1 crload.1 crrun.1; do want+=("$mandir/man1/$p"); done
	want+=("$mandir/man7/selfckpt.7")
	printf '%s\n' "${want[@]}" | sort >"$W/want"
	(cd "$D" && find . ! -type d | sed 's/^\.//' | sort) >"$W/got"
	diff -u "$W/want" "$W/got" >"$W/diff" ||
		{ say "installed files differ (- missing, + not wanted):"; cat "$W/diff" >&2; return 1; }
	for c in $commands; do
		[ -x "$D$bindir/$c" ] || { say "$bindir/$c is not executable"; return 1; }
	done
}

# Each page renders without a warning, and man finds it by name in the
# installed tree, as MANPATH=$mandir (a module's) makes it.
t_man() {
	local page name out
	for page in "$D$mandir"/man[17]/*; do
		out=$(groff -ww -z -man "$page" 2>&1)
		[ -z "$out" ] || { say "$page:"; say "$out"; return 1; }
		out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$page" 2>&1 >/dev/null)
		[ -z "$out" ] || { say "man -l $page:"; say "$out"; return 1; }
		name=$(basename "$page")
		out=$(MANPATH="$D$mandir" man -w "${name%.*}" 2>&1)
		[ "$out" = "$page" ] || { say "man -w ${name%.*}: '$out', not $page"; return 1; }
	done
}

# The installed commands run where they are and say which version they are.
t_run() {
	local c out version
	version=$(sed -n "s/^PACKAGE_VERSION = //p" Makefile)
	for c in crload crinfo crrun; do
		out=$("$D$bindir/$c" --version 2>&1)
		[ "$out" = "$c $version" ] || { say "$c --version: '$out'"; return 1; }
	done
	"$D$bindir/crdump" --help >/dev/null || { say "crdump --help failed"; return 1; }
	readelf -d "$D$libdir/libselfckpt.so" "$D$bindir"/* | grep -E 'RPATH|RUNPATH' >"$W/rpath"
	[ ! -s "$W/rpath" ] || { say "installed files point into the build tree:"; cat "$W/rpath" >&2; return 1; }
}

# "${as_installed[@]}" COMMAND...: runs COMMAND in a mount namespace of its
# own where the staged prefix is mounted over the configured one, so that
# the directories crrun has compiled in (SC_BINDIR, SC_LIBDIR) are the
# staged ones. unshare and bash exec: started with exec in a subshell,
# COMMAND keeps the pid $! names.
as_installed=(unshare --mount --propagation private bash -c
	'mount --bind "$1" "$2" && shift 2 && exec "$@"' _ "$D$prefix" "$prefix")

# The installed crrun preloads the installed runtime, and, run again on a
# checkpoint, restores it with the installed crload.
# crload_child PID: sets child to a child of PID that runs crload.
crload_child() {
	local c
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		[ "$(cat /proc/"$c"/comm 2>/dev/null)" = crload ] && { child=$c; return 0; }
	done
	return 1
}

crrun_case() {
	local d st child
	for d in "$bindir" "$libdir"; do
		[[ $d == "$prefix"/* ]] ||
			{ echo "SKIP: install/crrun: $d is not under the prefix $prefix"; return 77; }
	done
	[ -d "$prefix" ] ||
		{ echo "SKIP: install/crrun: no $prefix to mount the staged one over"; return 77; }
	unshare --mount true 2>/dev/null ||
		{ echo "SKIP: install/crrun: no mount namespace for us (needs root)"; return 77; }
	"${as_installed[@]}" "$bindir/crrun" "$W/maps" -- /bin/sh -c 'cat /proc/$$/maps' \
		>"$W/maps.out" 2>"$W/maps.err" ||
		{ say "crrun of sh failed:"; cat "$W/maps.err" >&2; return 1; }
	grep -qF " $libdir/libselfckpt.so" "$W/maps.out" ||
		{ say "the program crrun started has no $libdir/libselfckpt.so mapped"; return 1; }

	(cd "$W" && exec </dev/null >"$W/job.out" 2>"$W/job.err" \
		"${as_installed[@]}" "$bindir/crrun" "$W/job" -- "$E2E_BIN/counter") &
	APP=$!
	wait_for test -e "$W/ready" || { say "counter never ready under crrun"; return 1; }
	kill -TERM $APP
	st=0
	wait $APP || st=$?
	[ $st -eq 75 ] || { say "crrun on SIGTERM: status $st, not 75"; cat "$W/job.err" >&2; return 1; }
	[ -e "$W/job/latest" ] || { say "crrun exited 75 with no checkpoint in $W/job"; return 1; }

	(cd "$W" && exec </dev/null >"$W/again.out" 2>"$W/again.err" \
		"${as_installed[@]}" "$bindir/crrun" "$W/job" -- "$E2E_BIN/counter") &
	APP=$!
	# The first child seen may be the mount of as_installed, gone at once.
	wait_for crload_child $APP || {
		say "crrun run again on a checkpoint runs no crload:" \
			"$(cat /proc/$APP/task/*/children 2>/dev/null)"
		cat "$W/again.err" >&2
		return 1
	}
	sleep 0.5
	kill -USR1 "$child" # crload passes it on: the counter checks its state and ends
	st=0
	wait $APP || st=$?
	[ $st -eq 0 ] || { say "restored counter: status $st"; cat "$W/again.err" >&2; return 1; }
}

t_crrun() {
	local st=0 p
	crrun_case || st=$?
	# A case that failed half way leaves what crrun started, by pid.
	[ -n "$APP" ] && for p in $(descendants "$APP"); do kill -KILL "$p" 2>/dev/null; done
	return $st
}

run_cases files man run crrun
