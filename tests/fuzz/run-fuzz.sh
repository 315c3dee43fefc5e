#!/bin/sh
# Bounded fuzz pass over the image reader (tests/fuzz/fuzz_image.c), run by
# `make check` from the top build directory (automake exports $srcdir).
#
# 1. tests/fuzz/fuzz_main writes valid records of every type as the seed
#    corpus (nothing binary is committed).
# 2. If the libFuzzer binary tests/fuzz/fuzz_image can be built (clang with
#    -fsanitize=fuzzer,address,undefined; `make tests/fuzz/fuzz_image`),
#    it runs for FUZZ_TIME seconds on that corpus. Otherwise the standalone
#    driver runs FUZZ_ITERATIONS mutations of the seeds.
# Either way, a crash or a broken invariant fails the test and the input is
# kept in tests/fuzz/artifacts/ of the build directory.
#
# Environment:
#   FUZZ_TIME=30          seconds of libFuzzer
#   FUZZ_ITERATIONS=1000000 mutated inputs for the standalone driver
#   FUZZ_SEED=N           driver seed (default: time based, printed)
#   FUZZ_LIBFUZZER=auto   auto | yes (fail if it cannot be built) | no
#   FUZZ_CORPUS=DIR       extra inputs (e.g. a saved corpus or crash files)
#   CLANG=clang           compiler for the libFuzzer binary
#   MAKE=make
set -u

builddir=${FUZZ_BUILDDIR:-.}
: "${srcdir:=$(dirname "$0")/../..}"
fuzz_time=${FUZZ_TIME:-30}
iterations=${FUZZ_ITERATIONS:-1000000}
seed=${FUZZ_SEED:-$(date +%s)}
mode=${FUZZ_LIBFUZZER:-auto}
driver=$builddir/tests/fuzz/fuzz_main
libfuzzer=$builddir/tests/fuzz/fuzz_image
artifacts=$builddir/tests/fuzz/artifacts

if [ ! -x "$driver" ]; then
	echo "run-fuzz.sh: $driver not built (run from the build directory, after make check's build)" >&2
	exit 99
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/selfckpt-fuzz.XXXXXX") || exit 99
trap 'rm -rf "$work"; rmdir "$artifacts" 2>/dev/null' EXIT INT TERM
mkdir -p "$work/corpus" "$artifacts" || exit 99

"$driver" -w "$work/seeds" || { echo "run-fuzz.sh: cannot write seeds" >&2; exit 99; }
extra=
if [ -n "${FUZZ_CORPUS:-}" ]; then
	extra=$FUZZ_CORPUS
elif [ -d "$srcdir/tests/fuzz/corpus" ]; then
	extra=$srcdir/tests/fuzz/corpus
fi

# Can the libFuzzer binary be built? (It is not part of `all`: it needs
# clang and its sanitizer runtimes.)
have_libfuzzer=no
# With clang present the libFuzzer binary must build: a failure there is a
# bug, not a reason to fall back quietly.
if [ "$mode" = auto ] && command -v "${CLANG:-clang}" >/dev/null; then
	mode=yes
fi
if [ "$mode" != no ]; then
	# A make of our own: not the jobserver or flags of the make running us.
	if (cd "$builddir" && MAKEFLAGS= MFLAGS= ${MAKE:-make} tests/fuzz/fuzz_image) \
		>"$work/build.log" 2>&1 && [ -x "$libfuzzer" ]; then
		have_libfuzzer=yes
	elif [ "$mode" = yes ]; then
		cat "$work/build.log" >&2
		echo "run-fuzz.sh: FUZZ_LIBFUZZER=yes but tests/fuzz/fuzz_image cannot be built" >&2
		exit 1
	else
		echo "run-fuzz.sh: no libFuzzer binary (build log below), using the standalone driver"
		sed 's/^/  | /' "$work/build.log" | tail -n 20
	fi
fi

if [ "$have_libfuzzer" = yes ]; then
	echo "run-fuzz.sh: libFuzzer, ${fuzz_time}s on $(ls "$work/seeds" | wc -l) seeds${extra:+ and $extra}"
	run_libfuzzer() {
		ASAN_OPTIONS=$1 \
		UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
		"$libfuzzer" -max_total_time="$fuzz_time" -rss_limit_mb=2048 -timeout=10 \
			-max_len=65536 -print_final_stats=1 -artifact_prefix="$artifacts/" \
			"$work/corpus" "$work/seeds" ${extra:+"$extra"} >"$work/fuzz.log" 2>&1
	}
	run_libfuzzer "${ASAN_OPTIONS:-detect_leaks=1}"
	rc=$?
	# LeakSanitizer needs ptrace-like access that some containers deny:
	# then fuzz without it rather than fail for the wrong reason.
	if [ $rc -ne 0 ] && grep -q 'LeakSanitizer has encountered a fatal error' "$work/fuzz.log"; then
		echo "run-fuzz.sh: LeakSanitizer unusable here, fuzzing without leak detection"
		run_libfuzzer "${ASAN_OPTIONS:-detect_leaks=0}"
		rc=$?
	fi
	grep -E '^(INFO: Seed|INFO: Loaded|#[0-9]+ *DONE|Done [0-9]+ runs|stat::number_of_executed_units|stat::new_units_added)' \
		"$work/fuzz.log"
	if [ $rc -ne 0 ]; then
		cat "$work/fuzz.log" | tail -n 60
		echo "FAIL: libFuzzer exited with $rc; crash input in $artifacts/" >&2
		echo "replay: $libfuzzer $artifacts/<file>   or   $driver -n 0 $artifacts/<file>" >&2
		exit 1
	fi
	# Also run the driver over what libFuzzer found: the same target built
	# by the normal toolchain must agree.
	"$driver" -n 0 -o "$artifacts" "$work/corpus" || {
		echo "FAIL: standalone driver crashed on the libFuzzer corpus" >&2
		exit 1
	}
else
	echo "run-fuzz.sh: standalone driver, $iterations mutations, seed $seed"
	"$driver" -n "$iterations" -s "$seed" -o "$artifacts" ${extra:+"$extra"}
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "FAIL: fuzz_main exited with $rc (seed $seed); crash input in $artifacts/" >&2
		echo "replay: FUZZ_SEED=$seed FUZZ_LIBFUZZER=no $0, or $driver -n 0 $artifacts/<file>" >&2
		exit 1
	fi
fi
rmdir "$artifacts" 2>/dev/null
exit 0
