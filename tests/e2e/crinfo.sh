#!/usr/bin/env bash
# crinfo on images of the runtime and of crdump: bt shows every thread's
# known call chain (for both capture paths), the JSON
# parses and says what the process was, show summarises it, verify passes
# a good image (which then restores) and names the file of a damaged one,
# check answers line by line, and hostile input never crashes a command.
set -u
suite=crinfo
. "$(dirname "$0")/suite.sh"
: "${CRINFO:?}" "${CRDUMP:?}"
trap '[ $failed -eq 0 ] && rm -rf "$root"' EXIT
logged() { grep -q "$1" "$W/log" 2>/dev/null; }

# One checkpoint of btchain, shared by the tests: $IMG, $PID, $TIDS.
prepare() {
	W=$root/image
	mkdir -p "$W"
	cp "$E2E_BIN/btchain" "$W/btchain"
	(cd "$W" && exec env LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_LOG="$W/log" \
		SELFCKPT_DIR="$W/img" "$W/btchain" >"$W/out" 2>"$W/err" </dev/null) &
	PID=$!
	wait_for test -e "$W/ready" || { say "btchain never ready"; return 1; }
	sleep 0.2
	TIDS=$(ls /proc/$PID/task | sort -n | tr '\n' ' ')
	kill -USR2 $PID
	wait_for logged ': checkpoint /' || { say "no checkpoint"; return 1; }
	IMG=$(readlink -f "$W/img/latest")
}

# Function names of one thread's frames, in order, from `crinfo bt`.
frames_of() { # BT-OUTPUT TID
	awk -v t="$2" '/^pid [0-9]+, thread / { cur = ($4 == t); next }
		cur && /^  #/ { n = $3; sub(/\+0x.*/, "", n); print n }' "$1"
}

check_bt() { # IMAGE PID TIDS
	local t chain app=0 IMG=$1 PID=$2 TIDS=$3
	"$CRINFO" bt "$IMG" >"$W/bt" 2>"$W/bt.err" || { say "crinfo bt failed"; cat "$W/bt.err" >&2; return 1; }
	for t in $TIDS; do
		grep -q "^pid $PID, thread $t \"" "$W/bt" || { say "thread $t missing"; return 1; }
		app=$((app + 1))
		chain=$(frames_of "$W/bt" "$t" | tr '\n' ' ')
		if [ "$t" = "$PID" ]; then
			[[ " $chain" == *" b a main "* ]] || { say "main thread: '$chain'"; return 1; }
		else
			[[ " $chain" == *" b a thread_main "* ]] || { say "thread $t: '$chain'"; return 1; }
		fi
	done
	[ $app -eq 4 ] || { say "$app threads, expected 4"; cat "$W/bt" >&2; return 1; }
}

t_bt() { check_bt "$IMG" "$PID" "$TIDS"; }

# The same program started plain and captured by crdump, left running:
# bt, and verify and show read crdump's image too.
t_bt_crdump() {
	local pid tids
	(cd "$W" && exec "$W/btchain" >"$W/out.plain" 2>"$W/err.plain" </dev/null) &
	pid=$!
	sleep 0.5
	tids=$(ls /proc/$pid/task | sort -n | tr '\n' ' ')
	"$CRDUMP" -t $pid -D "$W/crdump.img" --leave-running 2>"$W/crdump.err" ||
		{ cat "$W/crdump.err" >&2; kill -KILL $pid; return 1; }
	check_bt "$W/crdump.img" $pid "$tids" &&
		"$CRINFO" verify "$W/crdump.img" >"$W/cv.out" 2>&1 &&
		"$CRINFO" show "$W/crdump.img" | grep -q "written by the crdump" ||
		{ say "crinfo on crdump's image:"; cat "$W/cv.out" >&2; false; }
	local st=$?
	kill -KILL $pid
	wait $pid 2>/dev/null
	return $st
}

t_json() {
	"$CRINFO" show --json "$IMG" >"$W/json" 2>"$W/json.err" || { say "show --json failed"; return 1; }
	python3 -m json.tool "$W/json" >/dev/null || { say "not JSON"; return 1; }
	PID=$PID TIDS=$TIDS EXE="$W/btchain" IMG="$IMG" python3 - "$W/json" <<'PY' || return 1
import json, os, sys
j = json.load(open(sys.argv[1]))
inv, p = j["inventory"], j["processes"][0]
def need(ok, what):
    if not ok:
        print("  json: " + what, file=sys.stderr)
        sys.exit(1)
pid = int(os.environ["PID"])
need(inv["writer"] == "runtime", "writer %r" % inv["writer"])
need(inv["procs"][0]["pid"] == pid and p["pid"] == pid, "pid")
need(inv["trigger_signal"] == 12 and inv["kernel"] == os.uname().release, "options/kernel")
tids = sorted(t["tid"] for t in p["core"]["threads"])
need(tids == sorted(int(t) for t in os.environ["TIDS"].split()), "tids %s" % tids)
need(p["core"]["threads"][0]["tid"] == pid, "main thread first")
need(sum(t.get("runtime_thread", False) for t in p["core"]["threads"]) == 1, "runtime thread")
need(all(len(t["xsave"]) == 2 and t["xsave"]["xxh3"].startswith("0x")
         for t in p["core"]["threads"]), "xsave summarised as len and xxh3")
need(p["mm"]["exe"] == os.environ["EXE"], "exe %r" % p["mm"].get("exe"))
need(any(v.get("path") == os.environ["EXE"] and v["kind"] == "FILE_PRIVATE"
         for v in p["mm"]["vmas"]), "no VMA of the program")
stored = sum(r["nr_pages"] * 4096 for r in p["pages"]["runs"])
size = os.path.getsize(os.path.join(os.environ["IMG"], p["pages"]["file"]))
need(stored == p["pages"]["size"] == size == p["pagemap"]["pages_bytes"], "pages add up")
for f in inv["files"]:
    need(os.path.getsize(os.path.join(os.environ["IMG"], f["name"])) == f["size"], f["name"])
need(any(f["fd"] == 0 and f["kind"] == "CHR" for f in p["fds"]["fds"]), "fd 0 /dev/null")
PY
}

t_show() {
	"$CRINFO" show "$IMG" >"$W/show" 2>"$W/show.err" || { say "show failed"; return 1; }
	local t
	grep -q "written by the runtime .* (kernel $(uname -r))" "$W/show" &&
		grep -q "options: trigger SIGUSR2" "$W/show" &&
		grep -q "^  $PID (ppid" "$W/show" &&
		grep -q "^process $PID: cwd $W," "$W/show" &&
		grep -qE "^    fd 0 +device: /dev/null" "$W/show" &&
		grep -qE "in syscall clock_nanosleep +at clock_nanosleep\+0x[0-9a-f]+ \(/.*libc" "$W/show" &&
		grep -qE "r-xp FILE_PRIVATE +- $W/btchain\+0x" "$W/show" ||
		{ say "show lacks what it should say:"; cat "$W/show" >&2; return 1; }
	for t in $TIDS; do
		grep -qE "^    $t +" "$W/show" || { say "thread $t not shown"; return 1; }
	done
}

# show lists the timers: ptimer's four POSIX timers, as it made them.
t_show_timers() {
	local T=$root/timers app st=0
	mkdir -p "$T"
	(cd "$T" && exec env LD_PRELOAD="$SELFCKPT_LIB" SELFCKPT_LOG="$T/log" SELFCKPT_DIR="$T/img" \
		"$E2E_BIN/ptimer" >"$T/out" 2>"$T/err" </dev/null) &
	app=$!
	wait_for test -e "$T/ready" || { say "ptimer never ready"; kill -KILL $app; return 1; }
	kill -USR2 $app
	wait_for grep -q ': checkpoint /' "$T/log" || st=1
	kill -KILL $app
	wait $app 2>/dev/null
	[ $st -eq 0 ] || { say "no checkpoint of ptimer"; return 1; }
	"$CRINFO" show "$T/img/latest" >"$T/show" || { say "show failed"; return 1; }
	[ "$(grep -c '^    POSIX id ' "$T/show")" -eq 4 ] &&
		grep -qE '^    POSIX id [0-9]+ +clock 7, disarmed, SIGRTMIN\+1 signal$' "$T/show" &&
		grep -qE '^    POSIX id [0-9]+ +clock 1, in .*, every 0\.003 s, SIGRTMIN\+2 signal to thread [0-9]+$' \
			"$T/show" &&
		grep -qE '^    POSIX id [0-9]+ +clock -6, in 3[0-9]{3}\.[0-9]+ s, every 0\.000 s$' "$T/show" ||
		{ say "show lacks the timers:"; sed -n '/timers/,/memory/p' "$T/show" >&2; return 1; }
}

# verify FAILS on a copy of the image damaged by CMD, naming WHAT.
refused() { # NAME WHAT CMD...
	local bad=$root/verify/$1 st=0
	rm -rf "$bad"; cp -a "$IMG" "$bad"
	(cd "$bad" && "${@:3}") || return 1
	"$CRINFO" verify "$bad" >"$bad.out" 2>"$bad.err" || st=$?
	if [ $st -eq 0 ] || [ $st -ge 128 ] || ! grep -q "^crinfo: $bad: $2" "$bad.err"; then
		say "verify of $1 (status $st) did not name $2:"; cat "$bad.err" >&2; return 1
	fi
}

t_verify() {
	mkdir -p "$root/verify"
	"$CRINFO" verify "$IMG" >"$W/verify" 2>&1 ||
		{ say "verify refused a good image:"; cat "$W/verify" >&2; return 1; }
	tail -1 "$W/verify" | grep -q "can be restored" || return 1
	refused pagebyte "pages-$PID.img: checksum mismatch" flip "pages-$PID.img" 5000 || return 1
	refused corebyte "core-$PID.img: checksum mismatch" flip "core-$PID.img" 40 || return 1
	refused invbyte "inventory.img: checksum mismatch" flip inventory.img 30 || return 1
	refused missing "mm-$PID.img: No such file" rm "mm-$PID.img" || return 1
	# The image is good, but the program it maps is gone.
	mv "$W/btchain" "$W/btchain.moved"
	local st=0
	"$CRINFO" verify "$IMG" >/dev/null 2>"$W/verify.err" || st=$?
	mv "$W/btchain.moved" "$W/btchain"
	[ $st -eq 1 ] && grep -q "mm-$PID.img: mapped file $W/btchain is gone" "$W/verify.err" ||
		{ say "verify did not name the missing program:"; cat "$W/verify.err" >&2; return 1; }
	# What verify passes restores: the copy runs on and ends well.
	kill -KILL $PID; wait $PID 2>/dev/null
	"$CRLOAD" "$IMG" >"$W/crload.out" 2>"$W/crload.err" &
	local loader=$!
	wait_for logged 'restored from' || { cat "$W/crload.err" >&2; return 1; }
	sleep 0.2
	kill -USR1 $loader
	wait $loader || { say "the restored btchain failed"; cat "$W/out" >&2; return 1; }
}

t_check() {
	local st=0
	"$CRINFO" check >"$W/check" 2>&1 || st=$?
	[ $st -le 1 ] || { say "check: status $st"; return 1; }
	grep -vqE '^(ok|missing)  +[^:]+: .+' "$W/check" && { say "malformed:"; cat "$W/check" >&2; return 1; }
	local what
	for what in "clone3 set_tid" "user and pid namespaces" TCP_REPAIR PAGEMAP_SCAN zstd vDSO rseq \
		"POSIX timer ids"; do
		grep -q "$what" "$W/check" || { say "check says nothing of $what"; return 1; }
	done
	"$CRINFO" check "$IMG" >"$W/check.img" 2>&1 || { cat "$W/check.img" >&2; return 1; }
	grep -q "^ok  *vDSO: pid $PID: same layout" "$W/check.img" &&
		grep -q "^ok  *xsave features: pid $PID" "$W/check.img" &&
		grep -q "^ok  *pids:" "$W/check.img" || { cat "$W/check.img" >&2; return 1; }
}

# Damaged and hostile images: every command says so in one line and
# exits 1, never crashes.
t_bad_input() {
	local bad=$root/hostile cmd st
	mkdir -p "$bad/empty" "$bad/garbage"
	: >"$bad/empty/inventory.img"
	head -c 4096 /dev/urandom >"$bad/garbage/inventory.img"
	cp -a "$IMG" "$bad/cut"; truncate -s 100 "$bad/cut/mm-$PID.img"
	for img in "$bad/empty" "$bad/garbage" "$bad/cut" "$bad/none"; do
		for cmd in "show" "show --json" "bt" "verify" "check"; do
			st=0
			"$CRINFO" $cmd "$img" >/dev/null 2>"$bad/err" || st=$?
			if [ $st -ne 1 ] || ! grep -q "^crinfo: $img: " "$bad/err" ||
			    [ "$(grep -vc '^crinfo: .*cannot be restored' "$bad/err")" -ne 1 ]; then
				say "crinfo $cmd $img: status $st:"; cat "$bad/err" >&2; return 1
			fi
		done
	done
}

if prepare; then
	for t in bt bt_crdump json show show_timers check verify bad_input; do
		"t_$t"
		result "$t" $?
	done
else
	result prepare 1
fi
kill -KILL $PID 2>/dev/null
wait 2>/dev/null
echo "crinfo: $passed passed, $failed failed"
[ $failed -eq 0 ]
