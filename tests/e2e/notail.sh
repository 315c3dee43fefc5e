# Restores through the restorer's way out for images without the
# runtime's tail (crdump's; doc/restore.md): crload's test aid
# SELFCKPT_TEST_NO_TAIL=1 makes it ignore the image's tail and leave
# through "syscall; ret" and rt_sigreturn gadgets found in the process;
# =page makes it ignore those too and use its fallback tail page. Core e2e
# programs run in every scenario of tests/e2e/run and check their own
# state. After each restore this script (as E2E_AFTER_RESTORE) checks the
# restored process's maps: nothing where the restorer was, the gadgets in
# its executable memory (libc's code; with =page, the tail page).
set -u
here=$(cd "$(dirname "$0")" && pwd)

# restored_pid LOADER PID: the process that has pid PID in its own pid
# namespace: crload's child, or, in a new namespace, the child of its init.
restored_pid() {
	local c d
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		for d in $c $(cat /proc/"$c"/task/*/children 2>/dev/null); do
			if [ "$(awk '/^NSpid:/ {print $NF}' /proc/"$d"/status 2>/dev/null)" = "$2" ]; then
				echo "$d"
				return 0
			fi
		done
	done
	return 1
}

notices() {
	sed -n 's/^crload: test aid SELFCKPT_TEST_NO_TAIL: pid \([0-9]*\): restorer at \(0x[0-9a-f]*\)-\(0x[0-9a-f]*\), leaving through \(0x[0-9a-f]*\) and \(0x[0-9a-f]*\)$/\1 \2 \3 \4 \5/p' "$1/crload.err"
}

# check_maps MODE PID FROM TO SYSCALL SIGRETURN: nothing where the
# restorer was; the gadgets in one executable mapping: libc's in these
# programs, or crload's tail page (one page, at the gadgets' address).
check_maps() {
	local mode=$1 p=$2 from=$(($3)) to=$(($4)) sys=$(($5)) sigret=$(($6))
	local range perms path s e holder=
	while read -r range perms _ _ _ path; do
		s=$((16#${range%-*})) e=$((16#${range#*-}))
		if ((s < to && e > from)); then
			echo "pid $p: $range $path lies where the restorer was ($3-$4)"
			return 1
		fi
		if ((s <= sys && sys + 3 <= e && s <= sigret && sigret + 7 <= e)) &&
			[[ $perms == ??x? ]]; then
			holder="$range $path"
			if [ "$mode" = page ] && ((s != sys || e != s + 4096)); then
				echo "pid $p: the gadgets are in $range, not in a tail page"
				return 1
			fi
			if [ "$mode" != page ] && [[ $path != /* ]]; then
				echo "pid $p: the gadgets are in $range $path, not in a file's code"
				return 1
			fi
		fi
	done <"/proc/$p/maps"
	if [ -z "$holder" ]; then
		echo "pid $p: no executable mapping holds the gadgets at $5 and $6"
		return 1
	fi
}

# check MODE WORKDIR LOADER: run by tests/e2e/run after each restore.
check() {
	local mode=$1 w=$2 loader=$3 want i pid from to sys sigret p
	# One notice per restore so far; crload prints it once the restorer
	# reported, which may be after the process logged its restore.
	want=$(grep -c 'was restored from' "$w/log")
	for ((i = 0; i < 100; i++)); do
		[ "$(notices "$w" | wc -l)" -ge "$want" ] && break
		sleep 0.05
	done
	if [ "$(notices "$w" | wc -l)" -lt "$want" ]; then
		echo "notail: crload did not say it left through gadgets" >&2
		return 1
	fi
	if [ "$mode" = page ] && ! grep -q 'restorer code stays mapped at' "$w/crload.err"; then
		echo "notail: crload did not say it left a tail page" >&2
		return 1
	fi
	if [ "$mode" != page ] && grep -q 'restorer code stays mapped at' "$w/crload.err"; then
		echo "notail: crload left a tail page though the process has gadgets" >&2
		return 1
	fi
	# The latest restore (an earlier one's process is gone, and its tail
	# page is part of the image now).
	read -r pid from to sys sigret < <(notices "$w" | tail -1)
	if ! p=$(restored_pid "$loader" "$pid"); then
		echo "notail: restored pid $pid not found below crload $loader" >&2
		return 1
	fi
	check_maps "$mode" "$p" "$from" "$to" "$sys" "$sigret" >&2
}

if [ "${1:-}" = check ]; then
	shift
	check "$@"
	exit
fi

suite=notail
. "$here/suite.sh"
# Every core program through the gadgets; the fallback page with one and
# with many threads. Runtime images only: crdump's have no tail and go
# this way in every test of the crdump capture mode.
for run in 1:counter 1:threads 1:avx 1:sigaltstack 1:bigmem 1:python page:counter page:threads; do
	mode=${run%%:*} t=${run#*:}
	E2E_CAPTURES=runtime SELFCKPT_TEST_NO_TAIL=$mode \
		E2E_AFTER_RESTORE="bash $here/notail.sh check $mode" \
		"$here/run" "$here"/*/"$t.e2e" >"$root/$mode-$t.out" 2>&1
	st=$?
	grep -E '^(PASS|FAIL|  )' "$root/$mode-$t.out" | sed 's/^/  /'
	result "$mode/$t" $st
done
[ $failed -eq 0 ] && rm -rf "$root"
echo "notail: $passed passed, $failed failed"
[ $failed -eq 0 ]
