#!/usr/bin/env bash
# The CPU check (doc/cpu-check.md) on real images of both capture modes,
# their recorded CPU edited by tests/e2e/cpu_edit: an image whose CPU had a
# feature this one lacks is refused in one line naming it, before any
# process exists; --cpu-check=none restores it; --cpu-check=model refuses
# another model, which the default accepts; an image without the record
# restores with a note; a malformed record is refused by the validator;
# crinfo shows the CPU and check names what is missing.
set -u
suite=cpu
. "$(dirname "$0")/suite.sh"
: "${CRDUMP:?}" "${CRINFO:?}"
trap '[ $failed -eq 0 ] && rm -rf "$root"' EXIT
edit=$E2E_BIN/cpu_edit

# Features of the table, rarest first: the first this CPU lacks is added
# to the edited images.
candidates=(amx_fp16 amx_tile amx_int8 avx512_fp16 avx512_vp2intersect avx512_4fmaps avx_ifma
	cmpccxadd sha512 avx512f rtm fma4 xop sse4a tbm)

# image CAPTURE DIR: a checkpoint of counter in DIR, taken by the runtime
# (SIGUSR2) or by crdump; the program is gone afterwards. Its output goes
# to /dev/null: every test restores the same image, and a file it wrote
# would have changed since the checkpoint.
image() {
	local I=$2 app st=0
	mkdir -p "$I"
	if [ "$1" = runtime ]; then
		(cd "$I" && exec env LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_LOG="$I/log" \
			SELFCKPT_DIR="$I/ckpt" "$E2E_BIN/counter" >/dev/null 2>&1 </dev/null) &
		app=$!
		wait_for test -e "$I/ready" || { say "counter never ready"; kill -KILL $app; return 1; }
		kill -USR2 $app
		wait_for grep -qs ': checkpoint /' "$I/log" || st=1
		cp -a "$(readlink -f "$I/ckpt/latest")" "$I/img" || st=1
	else
		(cd "$I" && exec "$E2E_BIN/counter" >/dev/null 2>&1 </dev/null) &
		app=$!
		wait_for test -e "$I/ready" || { say "counter never ready"; kill -KILL $app; return 1; }
		"$CRDUMP" -t $app -D "$I/img" >"$I/crdump.out" 2>"$I/crdump.err" ||
			{ cat "$I/crdump.err" >&2; st=1; }
	fi
	kill -KILL $app 2>/dev/null
	wait $app 2>/dev/null
	[ $st -eq 0 ] || say "no $1 image of counter"
	return $st
}

# A copy of the good image of the capture being tested, as $W/img.
copy() { rm -rf "$W/img"; cp -a "$IMG" "$W/img"; }

# crload restores: counter runs on, and passes (its exit status, which
# crload passes through) when told to stop.
restores() { # IMAGE [CRLOAD-OPTIONS...]
	local loader st=0
	"$CRLOAD" -v "${@:2}" "$1" >"$W/crload.out" 2>"$W/crload.err" &
	loader=$!
	wait_for grep -q 'process running again' "$W/crload.err" ||
		{ say "not restored:"; cat "$W/crload.err" >&2; kill -KILL $loader; return 1; }
	sleep 0.2
	kill -USR1 $loader
	wait $loader || st=$?
	[ $st -eq 0 ] || { say "restored counter failed ($st):"; cat "$W/crload.err" >&2; return 1; }
}

# The image's CPU had a feature this one lacks.
t_refused() {
	copy && "$edit" "$W/img" feature "$MISSING" || return 1
	refuses "$W/img" "^crload: $W/img: this CPU lacks $MISSING: the image was written on .*; --cpu-check=none restores anyway$"
}

t_anyway() {
	copy && "$edit" "$W/img" feature "$MISSING" || return 1
	restores "$W/img" --cpu-check=none
}

# Another model: the default restores it, --cpu-check=model does not.
t_model() {
	local model
	model=$(awk '/^  CPU: / { print ($6 + 1) % 256; exit }' "$ROOTW/show.$CAPTURE")
	copy && "$edit" "$W/img" model "$model" || return 1
	refuses "$W/img" "^crload: $W/img: another CPU model: the image was written on .* model $model" \
		"$CRLOAD" --cpu-check=model || return 1
	restores "$W/img"
}

# The same CPU: --cpu-check=model restores.
t_same_model() { copy && restores "$W/img" --cpu-check=model; }

# Images written before the CPU check: a note, and the restore.
t_no_record() {
	copy && "$edit" "$W/img" drop || return 1
	restores "$W/img" || return 1
	grep -q "^crload: note: $W/img does not record its CPU" "$W/crload.err" ||
		{ say "no note:"; cat "$W/crload.err" >&2; return 1; }
	"$CRINFO" show "$W/img" | grep -q '^  CPU: not recorded' ||
		{ say "crinfo show does not say the CPU is not recorded"; return 1; }
}

# A record no CPU gives is a damaged image, refused by the validator.
t_bad_record() {
	copy && "$edit" "$W/img" vendor "GenuineIntelGenuineIntel" || return 1
	refuses "$W/img" "inventory.img: CPU vendor or name is not what CPUID gives"
}

t_crinfo() {
	local st=0
	grep -qE '^  CPU: [A-Za-z]+ family [0-9]+ model [0-9]+ stepping [0-9]+' "$ROOTW/show.$CAPTURE" &&
		grep -qE '^    x86-64(-v[234])?, [0-9]+ features checked at restore; register state x87 sse' \
			"$ROOTW/show.$CAPTURE" ||
		{ say "crinfo show lacks the CPU:"; head -5 "$ROOTW/show.$CAPTURE" >&2; return 1; }
	"$CRINFO" check "$IMG" >"$W/check.good" || true
	grep -q '^ok       CPU: this one has every feature of the image' "$W/check.good" ||
		{ say "crinfo check on the good image:"; cat "$W/check.good" >&2; return 1; }
	copy && "$edit" "$W/img" feature "$MISSING" || return 1
	"$CRINFO" check "$W/img" >"$W/check.bad" || st=$?
	[ $st -eq 1 ] && grep -q "^missing  CPU: this CPU lacks $MISSING: " "$W/check.bad" ||
		{ say "crinfo check ($st) on the edited image:"; cat "$W/check.bad" >&2; return 1; }
	"$CRINFO" show --json "$W/img" >"$W/json" || return 1
	MISSING=$MISSING python3 - "$W/json" <<'PY' || { say "JSON lacks the CPU"; return 1; }
import json, os, sys
j = json.load(open(sys.argv[1]))
cpu = j["inventory"]["cpu"]
assert cpu["vendor"] and "family" in cpu and "xcr0" in cpu, cpu
assert os.environ["MISSING"] in j["cpu_features"], j["cpu_features"]
PY
}

ROOTW=$root
IMG=
for CAPTURE in runtime crdump; do
	if ! image $CAPTURE "$root/image.$CAPTURE"; then
		result "image/$CAPTURE" 1
		continue
	fi
	IMG=$root/image.$CAPTURE/img
	"$CRINFO" show "$IMG" >"$root/show.$CAPTURE" || { result "show/$CAPTURE" 1; continue; }
	"$CRINFO" show --json "$IMG" >"$root/json.$CAPTURE" || { result "json/$CAPTURE" 1; continue; }
	have=" $(python3 -c 'import json, sys; print(" ".join(json.load(sys.stdin)["cpu_features"]))' \
		<"$root/json.$CAPTURE") "
	MISSING=
	for f in "${candidates[@]}"; do
		[[ "$have" == *" $f "* ]] || { MISSING=$f; break; }
	done
	if [ -z "$MISSING" ]; then
		echo "SKIP: cpu/$CAPTURE: this CPU has every feature the test could add"
		continue
	fi
	echo "$CAPTURE image: this CPU lacks $MISSING"
	for t in refused anyway model same_model no_record bad_record crinfo; do
		W=$root/$t.$CAPTURE
		mkdir -p "$W"
		"t_$t"
		result "$t/$CAPTURE" $?
	done
done
echo "$suite: $passed passed, $failed failed"
[ $failed -eq 0 ]
