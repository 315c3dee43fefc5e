# Sourced by the shell test suites (options.sh, tty.sh) after setting
# suite=NAME: a work root, clean descriptors, and the helpers to wait,
# say why, and count results.
: "${SELFCKPT_LIB:?}" "${CRLOAD:?}" "${E2E_BIN:?}" "${suite:?}"
root=$(mktemp -d "${TMPDIR:-/tmp}/selfckpt-$suite.XXXXXX")
passed=0 failed=0
. "$(dirname "${BASH_SOURCE[0]}")/../close-fds.sh"
close_extra_fds

result() { # NAME STATUS (77: skipped, the test said why)
	if [ "$2" -eq 77 ]; then
		return
	elif [ "$2" -eq 0 ]; then
		passed=$((passed + 1)); echo "PASS: $suite/$1"
	else
		failed=$((failed + 1)); echo "FAIL: $suite/$1 (work dir $root/$1)"
	fi
}
say() { printf '  %s\n' "$*" >&2; }
wait_for() {
	local i
	for ((i = 0; i < 600; i++)); do "$@" && return 0; sleep 0.05; done
	return 1
}
# descendants PID: every process below PID.
descendants() {
	local c
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		echo "$c"
		descendants "$c"
	done
}
